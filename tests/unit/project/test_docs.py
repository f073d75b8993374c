"""The documentation states facts of the code: where each fact lives, it must stay true.

The README is the front door; the facts moved to the site's pages (docs/): the configuration page
(generated from the settings), the architecture page (the code layout, the topics) and the SRE pages
(docs/operating/: every alert and dashboard).
"""

import json
import re
import runpy
from pathlib import Path

from streams.kafka.topics import TOPICS
from streams.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
CONFIGURATION = (DOCS / "configuration.md").read_text()
ARCHITECTURE = (DOCS / "architecture.md").read_text()


def test_every_setting_is_documented():
    documented = set(re.findall(r"^\| `(EDITSYNC_[A-Z0-9_]+)` \|", CONFIGURATION, flags=re.M))
    expected = {f"EDITSYNC_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_the_configuration_page_is_what_the_settings_say():
    generator = runpy.run_path(str(DOCS / "gen_configuration.py"))
    assert CONFIGURATION == generator["render"](), "docs/configuration.md is stale: run `make docs`"


def test_every_setting_says_what_it_means():
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_every_topic_is_documented():
    for spec in TOPICS:
        assert f"`{spec.name}`" in ARCHITECTURE and spec.schema in ARCHITECTURE


def test_readme_leads_with_the_two_commands():
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block


def test_the_readme_leads_on_to_pages_that_exist():
    """The front door sends each audience to the site; mkdocs checks the links between pages, not these."""
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    assert any(link.startswith("docs/") for link in links)
    assert [link for link in links if "://" not in link and not (ROOT / link).is_file()] == []


def test_the_code_layout_names_every_package_and_module_of_streams():
    layout = ARCHITECTURE.split("\n## Code layout\n", 1)[1].split("```", 2)[1]
    streams = ROOT / "streams"
    for package in sorted(p for p in streams.iterdir() if (p / "__init__.py").exists()):
        assert f"  {package.name}/" in layout
        for module in package.glob("*.py"):
            if module.stem != "__init__":
                assert re.search(rf"\b{module.stem}\b", layout), f"{package.name}/{module.name} is not in the layout"


def test_the_code_layout_names_every_module_of_connectors():
    layout = ARCHITECTURE.split("\n## Code layout\n", 1)[1].split("```", 2)[1]
    for module in (ROOT / "connectors").glob("*.py"):
        if module.stem != "__init__":
            assert re.search(rf"\b{module.stem}\b", layout), f"connectors/{module.name} is not in the layout"


def test_the_sre_pages_name_every_alert_and_dashboard():
    import yaml

    overview = (DOCS / "operating" / "index.md").read_text()  # the alerts at a glance, each linked to what to do
    dashboards = (DOCS / "operating" / "dashboards.md").read_text()
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for rule in (r for group in rules["groups"] for r in group["rules"]):
        assert f"| `{rule['alert']}` |" in overview and f"(alerts.md#{rule['alert'].lower()})" in overview
    for dashboard in (ROOT / "grafana" / "dashboards").glob("*.json"):
        title = json.loads(dashboard.read_text())["title"].split("— ", 1)[1]
        assert title in dashboards, dashboard.name


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
    schemas = ROOT / "schemas"
    for name in ("order_event.avsc", "order_exception.avsc"):
        undocumented = [path for path, field in _fields(json.loads((schemas / name).read_text()))
                        if not field.get("doc")]
        assert undocumented == [], f"{name}: {undocumented}"


def test_the_exception_schema_names_every_exception_type():
    from streams.inbox.words import TITLES

    schema = json.loads((ROOT / "schemas" / "order_exception.avsc").read_text())
    (type_doc,) = [field["doc"] for field in schema["fields"] if field["name"] == "type"]
    assert [kind for kind in TITLES if kind not in type_doc] == []


def test_the_topics_page_names_each_exception_details_fields():
    from streams.core import details

    section = (DOCS / "reference" / "topics.md").read_text().split("## What an exception's detail carries")[1]
    rows = [row.split("|")[1:3] for row in section.split("\n## ")[0].splitlines() if row.startswith("| `")]
    documented = {}
    for types, fields in rows:
        model = (details.ReadDeniedDetail if "of a read" in types else details.FailureDetail if "of a write" in types
                 else details.DETAIL_OF_TYPE[re.findall(r"`(\w+)`", types)[0]])
        top_level = re.sub(r"\([^)]*\)", "", fields)  # a nested detail's fields are in brackets
        documented[model] = set(re.findall(r"`(\w+)`", top_level))
    models = {*details.DETAIL_OF_TYPE.values(), details.FailureDetail, details.ReadDeniedDetail}
    assert {model: set(model.model_fields) for model in models} == documented
