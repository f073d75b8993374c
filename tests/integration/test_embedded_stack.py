"""`editsync run` with no broker configured: it brings its own, and takes it down again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandboxes.testkit.service import ROOT, SECRET, Service, service_env
from sandboxes.testkit.support import payload, webhook_headers


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(is_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if is_alive(p)]


def start_embedded(tmp_path: Path, started) -> tuple[Service, int]:
    service = started(service_env(tmp_path), "editsync.log")
    service.wait_ready()
    (broker_pid,) = children(service.process.pid)
    assert "tansu" in Path(f"/proc/{broker_pid}/cmdline").read_text()
    return service, broker_pid


def test_readme_walkthrough_then_ctrl_c_stops_worker_and_embedded_broker(tmp_path, started):
    service, broker_pid = start_embedded(tmp_path, started)
    assert "embedded Kafka (Tansu)" in service.whole_log()
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "alive"}

    body = json.dumps(payload("orders_create")).encode()
    headers = webhook_headers("orders/create", body, SECRET.encode(), **{"X-Shopify-Event-Id": "demo-1"})
    assert httpx.post(f"{service.url}/webhooks/shopify", content=body, headers=headers).status_code == 200

    def tail(topic: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "streams.wiring.cli", "tail", topic, "--from-beginning",
                               "-n", "1", "--idle-timeout", "20"], cwd=ROOT, env=service.env,
                              capture_output=True, text=True, timeout=60)

    tailed = tail("orders.events.v1")
    record = json.loads(tailed.stdout)
    assert record["key"] == "820982911946154508"
    assert record["value"]["event_id"] == "demo-1" and record["value"]["order"]["name"] == "#1001"
    internal = tail("editsync.order-inputs")  # JSON, not Avro: the order-state agent's inputs
    assert internal.returncode == 0 and json.loads(internal.stdout)["key"] == "820982911946154508", internal.stderr
    misspelt = tail("orders.event.v1")
    assert misspelt.returncode == 2 and "no topic 'orders.event.v1'" in misspelt.stderr, misspelt

    service.process.send_signal(signal.SIGINT)
    assert service.process.wait(30) == 0
    assert wait_gone([broker_pid], 15) == []


def test_broker_does_not_outlive_a_killed_editsync(tmp_path, started):
    service, broker_pid = start_embedded(tmp_path, started)
    os.kill(service.process.pid, signal.SIGKILL)
    service.process.wait(10)
    assert wait_gone([broker_pid], 15) == [], "the embedded broker was orphaned"


def test_missing_webhook_secret_is_a_clear_start_up_error(tmp_path, started):
    env = service_env(tmp_path)
    del env["EDITSYNC_SHOPIFY_WEBHOOK_SECRET"]
    service = started(env, "editsync.log")
    assert service.process.wait(30) == 2
    assert "EDITSYNC_SHOPIFY_WEBHOOK_SECRET is required" in service.log()
    assert "embedded Kafka" not in service.log(), "it must refuse before starting a broker"
