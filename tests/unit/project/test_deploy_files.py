"""docker-compose, the Dockerfile and Grafana files parse and name only real things."""

import json
import re
from pathlib import Path

import yaml
from jsonschema.validators import validator_for
from sqlalchemy.engine import make_url

from streams.runtime.settings import Settings
from streams.supervision.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "summary": ("_sum", "_count")}


def exported_metric_names() -> set[str]:
    """Names as Prometheus will see them, whether or not a labelled series exists yet."""
    return {family.name + suffix for family in Metrics().registry.collect() for suffix in SUFFIXES[family.type]}


def test_compose_has_the_whole_stack_and_only_known_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"kafka", "editsync", "prometheus", "grafana"} <= set(compose["services"])
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    known = {f"EDITSYNC_{name.upper()}" for name in Settings.model_fields}
    env = compose["services"]["editsync"]["environment"]
    assert set(env) <= known
    assert env["EDITSYNC_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (ROOT / source).exists() if source.startswith(".") else source in compose["volumes"], volume


def test_compose_follows_the_compose_specification():
    schema = json.loads((ROOT / "tests" / "schemas" / "compose-spec.json").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    validator = validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_compose_runs_what_production_needs():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "schema-registry" in services
    editsync = services["editsync"]
    assert editsync["environment"]["EDITSYNC_SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert editsync["depends_on"]["schema-registry"]["condition"] == "service_healthy"
    assert editsync["restart"] == "unless-stopped"  # an agent crash exits the worker
    mounts = dict(volume.split(":")[:2] for volume in services["prometheus"]["volumes"])
    assert mounts["./deploy/prometheus/alerts.yml"] in yaml.safe_load(
        (ROOT / "grafana" / "prometheus.yml").read_text())["rule_files"]
    assert mounts["./grafana/prometheus.yml"] == "/etc/prometheus/prometheus.yml"



def compose_defaults(value: str) -> str:
    """A compose value as it runs when the variables it names are unset: ``${NAME:-default}`` is the default."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def test_compose_points_every_worker_at_its_postgresql_as_the_store_reads_it():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    postgres = {k: compose_defaults(v) for k, v in services["postgres"]["environment"].items()}
    editsync = services["editsync"]
    url = make_url(Settings(database_url=compose_defaults(editsync["environment"]["EDITSYNC_DATABASE_URL"]),
                            _env_file=None).store_url())
    assert url.drivername == "postgresql+psycopg"  # the driver pyproject.toml installs
    assert (url.host, url.port or 5432) == ("postgres", 5432)
    assert (url.username, url.password, url.database) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"],
                                                          postgres["POSTGRES_DB"])
    assert editsync["depends_on"]["postgres"]["condition"] == "service_healthy"

def test_dockerfile_copies_every_package_and_the_schemas():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for directory in ("streams", "connectors", "sandboxes", "schemas"):
        assert f"COPY {directory} ./{directory}" in dockerfile


def test_prometheus_scrapes_the_service_port():
    config = yaml.safe_load((ROOT / "grafana" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"editsync:{Settings().web_port}"]


def test_every_dashboard_query_names_an_exported_metric():
    exported = exported_metric_names()
    dashboards = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                names = set(re.findall(r"\b(editsync_[a-z0-9_]+)", target["expr"]))
                assert names and names <= exported, (path.name, panel["title"], names - exported)
