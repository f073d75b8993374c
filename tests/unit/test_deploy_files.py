"""docker-compose, the Dockerfile and Grafana files parse and name only real things."""

import json
import re
from pathlib import Path

import yaml

from streams.service.config import Settings
from streams.service.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]


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
            assert (ROOT / volume.split(":")[0]).exists(), volume


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
