"""Integration fixtures: one real Tansu broker per session, an editsync worker per module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafka.broker import EmbeddedBroker, free_port
from tests.support import wait_until_serving

PARTITIONS = 4
SECRET = "integration-secret"
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("tansu") / "tansu.log") as running:
        yield running


def service_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITSYNC_")}
    env.update({
        "EDITSYNC_WEB_PORT": str(free_port()),
        "EDITSYNC_SHOPIFY_WEBHOOK_SECRET": SECRET,
        "EDITSYNC_TOPIC_PARTITIONS": str(PARTITIONS),
        "EDITSYNC_KAFKA_SESSION_TIMEOUT_S": "6",
        "EDITSYNC_DATA_DIR": str(tmp_path / "data"),
        "EDITSYNC_WEBHOOK_MAX_BODY_BYTES": "65536",
    })
    env.update(overrides)
    return env


class Service:
    """``editsync run`` in a subprocess, as an operator starts it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['EDITSYNC_WEB_PORT']}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "streams.wiring.entry", "run"], cwd=ROOT, env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        wait_until_serving("editsync", self.process, f"{self.url}/readyz", timeout_s, self.log)

    def log(self) -> str:
        """The log's last lines, for failure messages."""
        return self.whole_log()[-5000:]

    def whole_log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@pytest.fixture
def started(tmp_path):
    """Start ``editsync run`` processes; any still running when the test ends is stopped, pass or fail."""
    running: list[Service] = []

    def start(env: dict[str, str], log_name: str) -> Service:
        running.append(Service(env, tmp_path / log_name))
        return running[-1]

    yield start
    for service in running:
        service.stop()


@pytest.fixture(scope="module")
def service(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service")
    running = Service(service_env(tmp, EDITSYNC_KAFKA_BOOTSTRAP=broker.bootstrap), tmp / "editsync.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
