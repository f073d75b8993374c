"""One vocabulary: the glossary names what the code knows, and the names people read come from the code."""

from __future__ import annotations

import re
from pathlib import Path

from streams.core.details import ExceptionState, Outcome, Severity
from streams.core.health import PAIR_OF_EXCEPTION
from streams.core.holds import HOLD_EXCEPTIONS
from streams.core.model import Owner, System, Target
from streams.inbox import words

ROOT = Path(__file__).resolve().parents[3]
GLOSSARY = (ROOT / "docs" / "glossary.md").read_text()


def test_the_glossary_names_every_target_system_team_and_exception_type():
    types = set(PAIR_OF_EXCEPTION) | set(HOLD_EXCEPTIONS) | set(words.TITLES)
    values = [*Target, *System, *Owner, *Severity, *ExceptionState, *Outcome]
    for name in [*(v.value for v in values), *types]:
        assert f"`{name}`" in GLOSSARY, f"{name} is not in docs/glossary.md"


def test_the_glossarys_targets_and_systems_are_the_codes():
    section = GLOSSARY.split("### Targets and systems", 1)[1].split("\n## ", 1)[0]
    rows = [tuple(cell.strip().strip("`") for cell in line.strip("|").split("|"))
            for line in section.splitlines() if line.startswith("| `")]
    assert rows == [(t.value, t.system.value, t.display) for t in Target]


def test_people_read_each_target_by_the_codes_one_name():
    for target in Target:
        assert words.target_words(target.value) == target.display
    assert words.target_words("SOMEWHERE", "the system") == "the system"


def test_no_second_table_of_system_names_comes_back():
    """Names of targets and systems live on Target and System; a literal map of them elsewhere is a copy."""
    table = re.compile(r"""["'](PEOPLEVOX|INVENTORY|ERP)["']\s*:\s*["'][^"']*["']""")
    copies = [f"{path.relative_to(ROOT)}:{number}"
              for folder in ("streams", "connectors")
              for path in sorted((ROOT / folder).rglob("*.py"))
              for number, line in enumerate(path.read_text().splitlines(), 1) if table.search(line)]
    assert copies == []
