"""The alert rules are valid Prometheus rules and behave as their promtool unit tests say.

promtool comes from Debian's prometheus package (`make test` installs it).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: `make test` installs Debian's prometheus package")
    return subprocess.run([tool, *args], cwd=RULES, capture_output=True, text=True, timeout=120)


def test_rules_are_valid():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 19 rules found" in checked.stdout


def test_rules_fire_and_stay_quiet_as_their_unit_tests_say():
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test_and_a_runbook_section():
    import yaml

    alerts = [rule for group in yaml.safe_load((RULES / "alerts.yml").read_text())["groups"] for rule in group["rules"]]
    tests = (RULES / "alerts.test.yml").read_text()
    runbook = (RULES.parents[1] / "docs" / "operating" / "alerts.md").read_text()
    for rule in alerts:
        name = rule["alert"]
        assert f"alertname: {name}\n" in tests, f"{name} has no promtool test"
        assert rule["annotations"]["runbook_url"] == f"docs/operating/alerts.md#{name.lower()}"
        assert f"\n## {name}\n" in runbook, f"docs/operating/alerts.md has no section for {name}"
