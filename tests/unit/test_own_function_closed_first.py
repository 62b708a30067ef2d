"""Pub/Sub does not order messages: the CLOSED of an incident about Runwarden's own function may arrive before its
OPEN. Its CLOSED is worded from what was recorded (an OPEN seen and told, or none yet), and the late OPEN is skipped
as closed, as a managed service's is (docs/behaviour.md), never paged for an incident already over. Before, the
CLOSED said "its OPEN was told to a person" with no OPEN seen, and the late OPEN paged "an alert about Runwarden's own
function" because the own-function check came before the closed incident's."""
from __future__ import annotations

from tests.integration.world import SERVICE
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR


def _world() -> FastWorld:
    return FastWorld(seeded_copy("bad_revision", None), ANCHOR, services=(), own_services=[SERVICE])


def test_a_closed_before_its_open_says_no_open_was_seen_and_the_late_open_is_skipped():
    world = _world()
    closed = world.handle(world.alert(message_id="3", state="closed", ended_at=ANCHOR))
    late_open = world.handle(world.alert(message_id="1"))

    assert closed.status.value == "escalated" and closed.target == SERVICE, closed.reason
    assert "its OPEN was told to a person" not in closed.reason, closed.reason
    assert "no OPEN of it has reached Runwarden" in closed.reason, closed.reason
    assert late_open.status.value == "skipped", late_open.reason
    assert "already closed" in late_open.reason, late_open.reason
    assert world.writes() == 0


def test_a_closed_after_its_open_says_the_open_was_told():
    world = _world()
    opened = world.handle(world.alert(message_id="1"))
    closed = world.handle(world.alert(message_id="3", state="closed", ended_at=ANCHOR))

    assert opened.status.value == "escalated" and "own function" in opened.reason, opened.reason
    assert closed.status.value == "escalated", closed.reason
    assert "its OPEN was told to a person, so is its closing" in closed.reason, closed.reason
    assert world.writes() == 0
