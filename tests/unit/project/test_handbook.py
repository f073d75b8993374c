"""The handbook has a page section for every exception type, under each team the core gives it to, saying
whether it heals by itself as the core does; and its daily checks name only commands and filters that exist."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from streams.core.commands import AddTags, Command
from streams.core.details import ExceptionType
from streams.core.exceptions import FAILURE_EXCEPTION, RULE_EXCEPTIONS, failure_exception
from streams.core.holds import HOLD_EXCEPTIONS
from streams.core.inputs import ResultIn
from streams.core.model import Owner, Target
from streams.core.state import OrderState
from streams.inbox import cli as inbox_cli
from streams.inbox.api import exception_query

ROOT = Path(__file__).resolve().parents[3]
HANDBOOK = ROOT / "docs" / "handbook"
CORE = ROOT / "streams" / "core"
PAGES = {Owner.FINANCE: "finance.md", Owner.OPS: "operations.md", Owner.CX: "customer-service.md"}
HEALS = {"yes": "**Heals by itself: yes.**", "answering": "**Heals by itself: when the system only did not answer.**",
         "no": "**Heals by itself: no.**"}


def sections(owner: Owner) -> dict[str, str]:
    text = (HANDBOOK / "exceptions" / PAGES[owner]).read_text()
    return {part.split("\n", 1)[0].strip(): part for part in re.split(r"^## ", text, flags=re.M)[1:]}


def failed(target: Target, kind: str, detail: dict[str, str] | None = None,
           payload: AddTags | None = None) -> tuple[str, Owner]:
    command = Command(command_id="c1", order_id="1", order_version=1, target=target, kind=kind, idempotency_key="k",
                      payload=payload)
    raised = failure_exception(OrderState(order_id="1"), ResultIn(command=command, outcome="FAILED",
                                                                   detail=detail or {}), now=0)
    return raised.type, raised.owner


def owners_in_core() -> dict[str, set[Owner]]:
    """Who the core gives each type to: the rules' ``want(...)`` and the holds' records, read from the source,
    and the failures as ``failure_exception`` raises them."""
    owners: dict[str, set[Owner]] = {}
    source = "\n".join(path.read_text() for path in CORE.glob("*.py"))
    for kind, given in re.findall(r'want\(ExceptionType\.([A-Z_]+), (Owner\.\w+(?: if \w+ else Owner\.\w+)?)', source):
        owners.setdefault(kind, set()).update(Owner[name] for name in re.findall(r"Owner\.(\w+)", given))
    owners.setdefault(ExceptionType.SHOPIFY_ACCESS_DENIED, set()).update(
        Owner[name] for name in re.findall(r"type=ExceptionType.SHOPIFY_ACCESS_DENIED,\s+owner=Owner\.(\w+)", source))
    held_by = {Owner[name] for name in re.findall(r"type=kind, owner=Owner\.(\w+)", (CORE / "holds.py").read_text())}
    for kind in HOLD_EXCEPTIONS:
        owners.setdefault(kind, set()).update(held_by)
    for target, kind in [*((t, "update_sales_order") for t in FAILURE_EXCEPTION), (Target.ERP, "create_credit_memo")]:
        raised, owner = failed(target, kind)
        owners.setdefault(raised, set()).add(owner)
    raised, owner = failed(Target.INVENTORY, "add_tags", payload=AddTags(tags=("editsync-locked",)))
    owners.setdefault(raised, set()).add(owner)
    raised, owner = failed(Target.INVENTORY, "adjust_inventory", {"required_access": "write_inventory"})
    owners[raised].add(owner)
    # A cancel-and-replace that left nothing is a Peoplevox failure, owned as those are.
    owners[ExceptionType.PVX_NO_LIVE_SALES_ORDER] = set(owners[FAILURE_EXCEPTION[Target.PEOPLEVOX]])
    return owners


def heals_in_core(kind: str) -> str:
    if kind in RULE_EXCEPTIONS | HOLD_EXCEPTIONS:
        return "yes"
    return "no" if kind == ExceptionType.SHOPIFY_ACCESS_DENIED else "answering"


def test_the_core_owners_cover_every_exception_type():
    named = set(ExceptionType)
    owners = owners_in_core()
    assert named <= set(owners) and all(owners.values()), (named - set(owners), owners)


@pytest.mark.parametrize("kind", sorted(owners_in_core()))
def test_every_type_has_a_section_under_each_team_that_owns_it_and_only_there(kind):
    owners = owners_in_core()[kind]
    listed = {owner for owner in PAGES if kind in sections(owner)}
    assert listed == owners, (kind, listed, owners)


@pytest.mark.parametrize("kind", sorted(owners_in_core()))
def test_each_section_says_whether_it_heals_by_itself_as_the_core_does(kind):
    for owner in owners_in_core()[kind]:
        body = sections(owner)[kind]
        said = [name for name, words in HEALS.items() if words in body]
        assert said == [heals_in_core(kind)], (kind, owner, said)


def named_commands() -> list[str]:
    text = "\n".join(path.read_text() for path in HANDBOOK.rglob("*.md"))
    return re.findall(r"`(editsync [^`]+)`", text)


def test_the_pages_name_commands():
    assert len(named_commands()) > 5


@pytest.mark.parametrize("line", sorted(set(named_commands())))
def test_every_command_the_handbook_names_parses(line):
    """The inbox's commands as ``editsync`` registers them (streams/wiring/cli.py); a placeholder is an id."""
    top = argparse.ArgumentParser(prog="editsync")
    inbox_cli.add_parsers(top.add_subparsers(dest="command", required=True))
    words = shlex.split(re.sub(r"<[^>]+>", "5000000042", line))[1:]
    try:
        top.parse_args(words)
    except SystemExit:
        pytest.fail(f"editsync does not take: {line}")


def test_every_inbox_url_the_handbook_names_is_a_filter_the_inbox_takes():
    text = "\n".join(path.read_text() for path in HANDBOOK.rglob("*.md"))
    urls = re.findall(r"`/inbox\?([^`]+)`", text)
    assert urls
    for query in urls:
        params = dict(pair.split("=", 1) for pair in query.split("&"))
        assert set(params) <= {"owner", "type", "state", "older_than"}, query
        exception_query(params, now=10**12)  # refuses an unknown owner or state, or a bad duration
