"""The settings that shape the engine's decisions reach it (streams/wiring/app.py ``decision_policy``)."""

from __future__ import annotations

from sandboxes.testkit.core_builders import order
from streams.core.peoplevox import CutOff
from streams.core.recreate import referenced_order
from streams.runtime.settings import Settings
from streams.wiring.app import decision_policy
from tests.unit.core.test_core_scenarios import created, harness, recreate


def test_an_editing_apps_own_marker_set_in_the_settings_links_the_orders():
    """EDITSYNC_RECREATE_MARKERS reaches the engine: with the app's tag configured, only the new order ships;
    with the defaults, the same tag means nothing and both would."""
    tagged = {"tags": ("OrderEditor:Orig-1001",)}
    settings = Settings(recreate_markers={"tag_prefixes": ["ordereditor:orig-"]})
    configured = harness(policy=decision_policy(settings, CutOff()))
    created(configured)
    recreate(configured, tagged)
    assert [so["lines"] for so in configured.warehouse.live()] == [[("TEE-L", 1)]]
    assert configured.state("1001").successor_id == "2002"
    assert referenced_order(order(**tagged), decision_policy(Settings(), CutOff()).recreate) is None


def test_hold_bound_and_debounce_are_the_operators():
    policy = decision_policy(Settings(hold_bound_s=90, debounce_ms=500), CutOff("Packed"))
    assert (policy.hold_bound_ms, policy.debounce_ms, policy.cutoff.status) == (90_000, 500, "Packed")
