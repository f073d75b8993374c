"""``editsync run`` as an operator starts it, for the broker tests, the probe and the benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sandboxes.testkit.support import wait_until_serving
from streams.kafka.broker import free_port

PARTITIONS = 4
SECRET = "integration-secret"
ROOT = Path(__file__).resolve().parents[2]


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
