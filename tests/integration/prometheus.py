"""A real Prometheus server (Debian's package, as `make test` installs it) on a free loopback port.

It scrapes the given targets every second and evaluates the given rule files every second;
tests read it only through its HTTP API, as Grafana and Alertmanager would.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from sandboxes.testkit.support import wait_for, wait_until_serving
from streams.kafka.broker import free_port


class Prometheus:
    def __init__(self, tmp: Path, targets: list[str], rules: dict[str, Any] | None = None) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise AssertionError("prometheus is missing: `make test` installs Debian's prometheus package")
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "editsync", "static_configs": [{"targets": targets}]}],
        }
        if rules is not None:
            (tmp / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
            config["rule_files"] = [str(tmp / "rules.yml")]
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self._log = open(tmp / "prometheus.log", "wb")
        self.log_path = tmp / "prometheus.log"
        self.process = subprocess.Popen(
            [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address={self.url.removeprefix('http://')}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._http = httpx.Client(base_url=self.url, timeout=10)
        wait_until_serving("prometheus", self.process, f"{self.url}/-/ready", 30.0, self.log)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query now; the result vector (empty when the query has no data)."""
        answer = self._http.get("/api/v1/query", params={"query": expr}).json()
        if answer["status"] != "success":
            raise AssertionError(f"{expr}: {answer.get('error')}")
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def firing(self, alertname: str) -> list[dict[str, str]]:
        alerts = self._http.get("/api/v1/alerts").json()["data"]["alerts"]
        return [a["labels"] for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"]

    def wait_for(self, what: str, condition: Callable[[], Any], timeout_s: float = 30.0) -> Any:
        return wait_for(what, condition, timeout_s, detail=self.log)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._http.close()
        self._log.close()
