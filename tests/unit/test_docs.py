"""The README's configuration table and the code must not drift apart."""

import json
import re
from pathlib import Path

from streams.kafka.topics import TOPICS
from streams.runtime.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented():
    documented = set(re.findall(r"^\| `(EDITSYNC_[A-Z0-9_]+)` \|", README, flags=re.M))
    expected = {f"EDITSYNC_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_every_topic_is_documented():
    for spec in TOPICS:
        assert f"`{spec.name}`" in README and spec.schema in README


def test_readme_leads_with_the_two_commands():
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block


def test_the_code_layout_names_every_package_and_module_of_streams():
    layout = README.split("### Code layout", 1)[1].split("```", 2)[1]
    streams = Path(__file__).resolve().parents[2] / "streams"
    for package in sorted(p for p in streams.iterdir() if (p / "__init__.py").exists()):
        assert f"  {package.name}/" in layout
        for module in package.glob("*.py"):
            if module.stem != "__init__":
                assert re.search(rf"\b{module.stem}\b", layout), f"{package.name}/{module.name} is not in the layout"


def test_the_sre_section_names_every_alert_and_dashboard():
    import yaml

    root = Path(__file__).resolve().parents[2]
    section = README.split("## Operating editsync (SREs)", 1)[1].split("\n## ", 1)[0]
    rules = yaml.safe_load((root / "deploy" / "prometheus" / "alerts.yml").read_text())
    for rule in (r for group in rules["groups"] for r in group["rules"]):
        assert f"| `{rule['alert']}` |" in section and f"(docs/alerts.md#{rule['alert'].lower()})" in section
    for dashboard in (root / "grafana" / "dashboards").glob("*.json"):
        title = json.loads(dashboard.read_text())["title"].split("— ", 1)[1]
        assert title in section, dashboard.name


def _fields(record: dict, prefix: str = "") -> list[tuple[str, dict]]:
    found = []
    for field in record["fields"]:
        found.append((prefix + field["name"], field))
        for branch in field["type"] if isinstance(field["type"], list) else [field["type"]]:
            branch = branch["items"] if isinstance(branch, dict) and branch.get("type") == "array" else branch
            if isinstance(branch, dict) and branch.get("type") == "record":
                found += _fields(branch, f"{prefix}{field['name']}.")
    return found


def test_the_topics_other_services_read_document_every_field():
    """A consumer of orders.events.v1 or exceptions.v1 reads the schema, not editsync's code."""
    schemas = Path(__file__).resolve().parents[2] / "schemas"
    for name in ("order_event.avsc", "order_exception.avsc"):
        undocumented = [path for path, field in _fields(json.loads((schemas / name).read_text()))
                        if not field.get("doc")]
        assert undocumented == [], f"{name}: {undocumented}"


def test_the_exception_schema_names_every_exception_type():
    from streams.inbox.words import TITLES

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "order_exception.avsc").read_text())
    (type_doc,) = [field["doc"] for field in schema["fields"] if field["name"] == "type"]
    assert [kind for kind in TITLES if kind not in type_doc] == []
