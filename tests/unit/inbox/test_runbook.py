"""The runbook has a section for every exception type editsync raises, each saying the five things people need."""

from __future__ import annotations

import re
from pathlib import Path

from streams.core.details import ExceptionType
from streams.inbox.api import runbook_link
from streams.inbox.pages import RUNBOOK, render_runbook

TEXT = RUNBOOK.read_text()
PARTS = ("What happened.", "Who owns it.", "What to check.", "How to fix.", "How to retry.")
TYPES = set(ExceptionType)


def sections() -> dict[str, str]:
    parts = re.split(r"^## ", TEXT, flags=re.M)[1:]
    return {part.split(":", 1)[0].strip(): part for part in parts}


def test_every_exception_type_has_a_section_with_the_five_parts():
    found = sections()
    assert TYPES <= set(found), TYPES - set(found)
    for kind, body in found.items():
        assert [p for p in PARTS if p not in body] == [], kind


def test_every_type_the_core_names_is_in_the_runbook_even_new_ones():
    core = Path(__file__).resolve().parents[3] / "streams" / "core"
    source = "\n".join(path.read_text() for path in core.glob("*.py"))
    raised = set(re.findall(r'"([A-Z]+(?:_[A-Z]+)+)"', source))
    raised -= {"REJECTED_CUTOFF", "ORDER_CREATED"}  # a command outcome and an event type: the only others
    assert raised and raised <= set(sections()), raised - set(sections())


def test_each_exception_page_links_to_an_anchor_the_rendered_runbook_has():
    html = render_runbook(TEXT)
    for kind in TYPES:
        anchor = runbook_link(kind).split("#", 1)[1]
        assert f'id="{anchor}"' in html, kind
