"""A failing rollback whose undo is escalated instead of done says what its evidence shows, as an undo
done does: the revision serving before the deploy fails too, so the deploy was not the cause
(judging.deploy_not_the_cause). Each way the undo is escalated (a person's change of traffic since the
check, a recorded revision that can no longer serve, the gate refusing it, a write whose effect is in
doubt), on real parts: stand-ins and emulators, no mocks."""
from __future__ import annotations

import sys
from typing import Any, Callable

import grpc
import pytest

from sandbox.standins.run import ConditionSeed, TrafficSeed
from shared.remediation.records import ACTIONS
from tests.integration.test_remediation import (NEW, OLD, action_state, rolled_back, still_failing,  # noqa: F401
                                                world)
from tests.integration.test_stale_evidence import ChangedMeanwhile
from tests.integration.world import SERVICE, World

HALF = [TrafficSeed(50, OLD), TrafficSeed(50, NEW)]


class _MovedBeforeTheUndosRead:
    """The Run port, a person's split landing after the sweep judged the rollback and before its undo reads
    the service to check it (`_undo`, named by its caller's frame): the undo finds it overtaken."""

    def __init__(self, world: World) -> None:
        self.world, self.run, self.moved = world, world.adapters.run, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)

    def get_service(self, *args: Any, **kwargs: Any) -> Any:
        if not self.moved and sys._getframe(1).f_code.co_name == "_undo":
            self.moved = True
            self.world.standins.run.set_traffic(SERVICE, HALF)
        return self.run.get_service(*args, **kwargs)


def _overtaken(world: World) -> None:
    world.adapters.run = _MovedBeforeTheUndosRead(world)


def _deleted(world: World) -> None:
    world.standins.run.delete_revision(SERVICE, NEW)


def _not_ready(world: World) -> None:
    world.standins.run.set_conditions(f"{SERVICE}/revisions/{NEW}",
                                      [ConditionSeed("Ready", "CONDITION_FAILED", "CONTAINER_MISSING", "image gone")])


def _paused(world: World) -> None:
    world.command({"command": "pause", "command_id": "p1", "requested_by": "alice", "reason": "maintenance"})


def _changed_around(code: grpc.StatusCode | None) -> Callable[[World], None]:
    def change(world: World) -> None:
        world.standins.run.stale_etag_code = code
        world.adapters.run = ChangedMeanwhile(world.adapters.run, lambda: world.standins.run.set_traffic(SERVICE, HALF))
    return change


# (why the undo is escalated, the world's change, 5xx of 40 a minute on OLD since the rollback, words of that way)
ESCALATED_UNDOS = [
    ("traffic moved since the check", _overtaken, 20, "serves neither as the rollback left it"),
    ("recorded revision deleted", _deleted, 30, f"{NEW} no longer exists"),
    ("recorded revision not Ready", _not_ready, 36, f"{NEW} is not Ready"),
    ("kill switch", _paused, 24, "kill switch"),
    ("a change refused by its etag (ABORTED)", _changed_around(grpc.StatusCode.ABORTED), 20,
     "changed after it was read"),
    ("a change refused by its etag (FAILED_PRECONDITION)", _changed_around(grpc.StatusCode.FAILED_PRECONDITION), 32,
     "changed after it was read"),
    ("written, its effect in doubt (etag not enforced)", _changed_around(None), 28, "another change around it"),
]


@pytest.mark.parametrize("name,change,errors,words", ESCALATED_UNDOS, ids=[c[0] for c in ESCALATED_UNDOS])
def test_an_escalated_undo_of_a_failing_rollback_says_the_deploy_was_not_the_cause(rolled_back, name, change, errors,
                                                                                    words):
    still_failing(rolled_back, errors=errors)
    change(rolled_back)
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and words in outcome.reason, outcome.reason
    assert action_state(rolled_back) == "escalated"
    # OLD's own 5xx since the rollback (5 whole minutes of 40 requests), as the evidence holds them.
    shown = f"fails too since the rollback ({errors * 5} of 200 requests 5xx or 429 ({errors / 40:.1%})"
    [published] = [p for p in rolled_back.published() if p["status"] == "escalated"]
    for reason in (outcome.reason, published["reason"]):
        assert "the deploy was not the cause" in reason and "look elsewhere" in reason, reason
        assert f"{OLD}, the revision serving before it, {shown}" in reason, reason
        assert f"as did {NEW}, the revision rolled back from" in reason, reason
        # Nothing says the traffic was put back: the undo was not done.
        assert "the undo puts the traffic back" not in reason, reason


def test_an_unfinished_undo_is_not_finished_over_a_later_rollback_to_the_same_revision(rolled_back):
    """A sweep moved the failing rollback A to `undoing` at +17m and died before the write. Meanwhile a person
    sent the traffic back to NEW by hand (100%), it failed again, and an operator rolled it back
    (rollback B, a command) to the same OLD. The service serves exactly what A left, so before, the next
    sweep finished A's undo: it wrote NEW 100% back, silently undoing B, whose record stayed `pending`.
    Now nothing is written; A is escalated naming B and how to go back one step at a time."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])
    rolled_back.at(38)      # past the rollback's cooldown (35 min)
    [b] = rolled_back.command({"command": "rollback_traffic", "command_id": "rb-2", "requested_by": "alice@example.com",
                               "target": SERVICE, "params": {"revision": OLD}, "reason": "failing again"}, "m-2")
    assert b.status.value == "applied", b.reason
    assert rolled_back.serving() == {OLD: 100}
    writes = rolled_back.standins.run.count("UpdateService")
    rolled_back.published()
    rolled_back.at(41)      # before B settles (5 min): the sweep judges A's unfinished undo alone

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == writes
    assert outcome.action.action_id == record["key"], outcome
    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert b.action.action_id in outcome.reason and "command rb-2 by alice@example.com" in outcome.reason, \
        outcome.reason
    assert f"restore_traffic with action_id {b.action.action_id}" in outcome.reason, outcome.reason
    states = {r["key"]: r["state"] for r in rolled_back.state.find_records(ACTIONS, "service", SERVICE)}
    assert states == {record["key"]: "escalated", b.action.action_id: "pending"}, states
    [published] = [p for p in rolled_back.published() if p["status"] == "escalated"]
    assert b.action.action_id in published["reason"], published


def test_an_unfinished_undo_is_not_finished_over_a_tag_added_since(rolled_back):
    """A sweep moved the failing rollback to `undoing` and died before the write; meanwhile a person put a
    `candidate` tag at 0% on the fix's revision to test it by its own URL. The shares read as the rollback
    left them, so before, the next sweep finished the undo and wrote the recorded split over the tag."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD), TrafficSeed(0, NEW, tag="candidate")])
    rolled_back.at(40)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "no longer serves as the rollback left it" in outcome.reason, \
        outcome.reason
    assert "candidate" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100, NEW: 0} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_an_unfinished_undo_is_not_finished_over_a_later_rollback_whose_record_cannot_be_read(rolled_back):
    """As above, with rollback B's record damaged (a state this version does not know): the sweep's read of the
    service's later rollbacks passed over a record it could not read, found none, and finished A's undo over B.
    Now a record that cannot be read holds the undo back (fail closed), named in the escalation."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])
    rolled_back.at(38)
    [b] = rolled_back.command({"command": "rollback_traffic", "command_id": "rb-2", "requested_by": "alice@example.com",
                               "target": SERVICE, "params": {"revision": OLD}, "reason": "failing again"}, "m-2")
    assert b.status.value == "applied", b.reason
    rolled_back.state.update_record(ACTIONS, b.action.action_id, {"state": "reverted-by-hand"})
    writes = rolled_back.standins.run.count("UpdateService")
    rolled_back.published()
    rolled_back.at(41)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == writes
    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert f"'{b.action.action_id}'" in outcome.reason and "could not all be read" in outcome.reason, outcome.reason


def test_a_finished_undo_keeps_a_tag_put_on_since(rolled_back):
    """A sweep moved the failing rollback to `undoing`, wrote the recorded split (NEW 100%), and died before
    recording it; meanwhile a person put a `candidate` tag at 0% on OLD to test it by its own URL. The next
    sweep finishes the undo (its earlier write landed: the split serves as recorded) and writes the split
    again, with the tags read now kept at 0%, as an operator's restore keeps them (commands/traffic.restore).
    Before, the sweep's undo sent no `keep_tags`: the tag was dropped by a write no one asked for."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW), TrafficSeed(0, OLD, tag="candidate")])
    rolled_back.at(40)      # the lease of the sweep that began the undo long lapsed, as above

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "undone", outcome.reason
    tags = {t.tag: (t.revision, t.percent) for t in rolled_back.standins.run.service(SERVICE).traffic if t.tag}
    assert tags == {"candidate": (OLD, 0)}, rolled_back.standins.run.service(SERVICE).traffic
    assert rolled_back.serving() == {NEW: 100, OLD: 0}
    assert action_state(rolled_back) == "undone"
