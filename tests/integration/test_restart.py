"""`make run` stopped and started again on the same data dir, as every user does.

The embedded broker keeps its log in memory while the RocksDB table under the
data dir survives, so the second start meets local state the broker's fresh
changelog does not back (Faust's ConsistencyError). The worker must discard it,
say so, and go on; stop signals at any moment end the process within 10 s, 0.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx

from sandboxes.testkit.service import Service, service_env

STOP_BOUND_S = 10.0


def sandbox_urls(data_dir: Path) -> dict[str, str]:
    urls = json.loads((data_dir / "sandboxes.json").read_text())
    return {"shopify": f"{urls['shopify']}/_sandbox",
            "peoplevox": urls["peoplevox"].split("/resources/")[0].rsplit("/", 1)[0] + "/_sandbox"}


def take_an_order_to_peoplevox(data_dir: Path) -> None:
    urls = sandbox_urls(data_dir)
    variants = httpx.get(f"{urls['shopify']}/state", timeout=10).json()["variants"]
    order = httpx.post(f"{urls['shopify']}/scenario/create_order", timeout=10,
                       json={"items": [[variants["TEE-M"]["id"], 2]]}).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sales_orders = httpx.get(f"{urls['peoplevox']}/state", timeout=10).json()["sales_orders"]
        if any(so["reference"] == str(order["id"]) for so in sales_orders.values()):
            return
        time.sleep(0.5)
    raise AssertionError(f"order {order['name']} never reached Peoplevox")


def stop_within_bound(service: Service, signum: int) -> None:
    started = time.monotonic()
    service.process.send_signal(signum)
    code = service.process.wait(STOP_BOUND_S + 5)
    took = time.monotonic() - started
    assert code == 0, f"exit {code} after {signum!r}:\n{service.log()}"
    assert took < STOP_BOUND_S, f"took {took:.1f} s to stop"


def test_stop_and_start_again_on_the_same_data_dir(tmp_path, started):
    env = service_env(tmp_path)
    data_dir = Path(env["EDITSYNC_DATA_DIR"])

    first = started(env, "first.log")
    first.wait_ready()
    take_an_order_to_peoplevox(data_dir)
    stop_within_bound(first, signal.SIGINT)

    second = started(env, "second.log")
    second.wait_ready()
    take_an_order_to_peoplevox(data_dir)
    log = second.whole_log()
    assert "ConsistencyError" not in log
    assert "discarded it" in log, "the stale local state must be reported in one line"

    # A second `make run` in the same directory is refused before it starts a broker of its own, whose
    # emptiness would have made it discard the running worker's table stores.
    again = started(env, "again.log")
    assert again.process.wait(30) == 2, again.log()
    assert "is in use by another editsync run" in again.whole_log()
    assert "embedded Kafka" not in again.whole_log()
    take_an_order_to_peoplevox(data_dir)
    stop_within_bound(second, signal.SIGTERM)

    # Stopped during start-up: once the broker is up (sandboxes, topics, local state check to come),
    # and once the sandboxes are up (the worker starting and joining its group).
    for stage, line in (("broker", "embedded Kafka (Tansu) at"), ("sandboxes", "editsync: sandboxes:")):
        during = started(env, f"start-{stage}.log")
        wait_for_line(during, line)
        stop_within_bound(during, signal.SIGTERM)


def wait_for_line(service: Service, line: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in service.whole_log():
        assert service.process.poll() is None, service.log()
        assert time.monotonic() < deadline, f"no {line!r} in {timeout_s} s:\n{service.log()}"
        time.sleep(0.05)
