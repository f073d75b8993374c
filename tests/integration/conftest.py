"""Integration fixtures: one real Tansu broker per session, an editsync worker per module."""

from __future__ import annotations

import pytest

from sandboxes.testkit.service import Service, service_env
from streams.kafka.broker import EmbeddedBroker


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("tansu") / "tansu.log") as running:
        yield running


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
