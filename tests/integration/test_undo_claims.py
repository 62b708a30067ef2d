"""A sweep's retry of an undo reads what the gate's claim on it and the record's own attempt say, on the
Firestore emulator and the stand-ins: a claim another sweep holds (it is undoing it now) is left to that
sweep, never answered as the undo done; an attempt recorded on the action record whose claim is gone (lapsed
and deleted by Firestore's TTL policy, which deletes an expired document at no guaranteed time) is
escalated, never written again."""
from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from typing import Any

from shared.remediation.guardrails import CLAIMS
from shared.remediation.records import ACTIONS, PINS, claim_key
from tests.integration.test_remediation import NEW, OLD, rolled_back, still_failing, world  # noqa: F401
from tests.integration.world import SERVICE, World, concurrently
from tests.unit.fakes import FaultyStateStore


def record(world: World) -> dict[str, Any]:
    [found] = world.state.find_records(ACTIONS, "service", SERVICE)
    return found


def unfinished(world: World) -> dict[str, Any]:
    """The failing rollback moved to `undoing` at +17m by a sweep that died before its undo reached the gate."""
    still_failing(world)
    key = record(world)["key"]
    world.state.update_record(ACTIONS, key, {"state": "undoing", "resolved_at": world.anchor.replace(minute=17)})
    return record(world)


class _HeldInItsWrite:
    """The Run port of a sweep whose undo is in its write: UpdateService waits until the test lets it go."""

    def __init__(self, run: Any) -> None:
        self.run, self.writing, self.go = run, threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)

    def set_traffic(self, *args: Any, **kwargs: Any) -> Any:
        self.writing.set()
        assert self.go.wait(60), "the test never let the write go"
        return self.run.set_traffic(*args, **kwargs)


def test_a_sweep_leaves_an_undo_another_sweep_is_writing_to_that_sweep(rolled_back):
    """Two sweeps retry one unfinished undo at once: the first holds the gate's claim and is in its write
    when the second reads it. Before, the second took the gate's `duplicate` for the undo done: it answered
    `undone` and released the pin while the first's write was still in flight (and would have failed
    silently, its own verdict refused). Now the second writes nothing and answers nothing; the first settles
    the record."""
    rec = unfinished(rolled_back)
    rolled_back.at(40)
    held = _HeldInItsWrite(rolled_back.adapters.run)
    plain = rolled_back.adapters
    first_sweep = dataclasses.replace(plain, run=held)
    outcomes: dict[str, list[Any]] = {}

    def first() -> None:
        rolled_back.adapters = first_sweep
        outcomes["first"] = rolled_back.command({"command": "sweep"}, message_id="s1")

    thread = threading.Thread(target=first)
    thread.start()
    assert held.writing.wait(60)
    rolled_back.adapters = plain
    outcomes["second"] = rolled_back.command({"command": "sweep"}, message_id="s2")
    state_meanwhile, pin_meanwhile = record(rolled_back)["state"], rolled_back.state.get_record(PINS, SERVICE)
    held.go.set()
    thread.join(60)

    assert outcomes["second"] == [], [(o.status.value, o.reason) for o in outcomes["second"]]
    assert state_meanwhile == "undoing" and pin_meanwhile["pinned"] is True
    [done] = outcomes["first"]
    assert done.status.value == "undone", done.reason
    assert record(rolled_back)["state"] == "undone" and rolled_back.serving() == {NEW: 100}
    assert rolled_back.standins.run.count("UpdateService") == 2     # the rollback, and one undo
    assert rec["key"] == record(rolled_back)["key"]


def test_a_claim_another_sweep_holds_is_left_to_it_and_escalated_once_its_lease_lapses(rolled_back):
    """The other sweep holds the claim and never finishes (it died in its write): the record is left alone
    while its lease runs, then escalated, nothing written."""
    rec = unfinished(rolled_back)
    rolled_back.at(40)
    key = claim_key(rec["incident_id"], rec["target"], "restore_traffic")
    rolled_back.state.claim(CLAIMS, key, "sweep:another", timedelta(minutes=15), rolled_back.clock.now())

    assert rolled_back.command({"command": "sweep"}, message_id="s1") == []
    assert record(rolled_back)["state"] == "undoing"
    assert rolled_back.state.get_record(PINS, SERVICE)["pinned"] is True

    rolled_back.at(60)
    [outcome] = rolled_back.command({"command": "sweep"}, message_id="s2")
    assert outcome.status.value == "escalated" and "never finished" in outcome.reason, outcome.reason
    assert rolled_back.standins.run.count("UpdateService") == 1     # the rollback alone
    assert rolled_back.serving() == {OLD: 100}


def test_an_undo_written_whose_claim_firestores_ttl_deleted_is_never_written_again(rolled_back):
    """The sweep's undo is written, and the commit recording it fails (Firestore unavailable): the record
    stays `undoing`, the gate's claim held. Its lease lapses, and Firestore's TTL policy deletes the claim
    (at any time after `expires_at`; "typically within 24 hours", not guaranteed). Before, the next sweep
    found no claim and wrote the restore again. Now the record's own attempt (by whom, when) says an undo
    went to the gate and no end of it was recorded: escalated, nothing written again."""
    still_failing(rolled_back)
    rolled_back.at(18)
    plain = rolled_back.adapters
    faulty = FaultyStateStore(rolled_back.state)
    faulty.fail_next("write", 3, method="record_all")     # the gate's commit after the write, and its retry
    rolled_back.adapters = dataclasses.replace(plain, state=faulty)
    rolled_back.command({"command": "sweep"}, message_id="s1")
    rolled_back.adapters = plain
    rec = record(rolled_back)
    assert rec["state"] == "undoing" and rolled_back.serving() == {NEW: 100}
    writes = rolled_back.standins.run.count("UpdateService")
    rolled_back.at(50)
    key = claim_key(rec["incident_id"], rec["target"], "restore_traffic")
    claim = rolled_back.state.get(CLAIMS, key)
    assert claim is not None and claim.expired(rolled_back.clock.now())
    rolled_back.state.release(CLAIMS, key, claim.owner)     # deleted by the TTL policy

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="s2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "TTL" in outcome.reason and "nothing written again" in outcome.reason, outcome.reason
    assert rolled_back.standins.run.count("UpdateService") == writes
    assert record(rolled_back)["state"] == "escalated"


def test_an_undo_whose_attempt_wrote_nothing_is_retried_and_done(rolled_back):
    """The control: the first attempt met a transient fault before any write (the gate gave its claim back),
    so the retry writes it, once."""
    still_failing(rolled_back)
    rolled_back.at(18)
    plain = rolled_back.adapters
    faulty = FaultyStateStore(rolled_back.state)
    faulty.fail_next("claim", 1)
    rolled_back.adapters = dataclasses.replace(plain, state=faulty)
    assert rolled_back.command({"command": "sweep"}, message_id="s1") == []
    rolled_back.adapters = plain
    assert record(rolled_back)["state"] == "undoing"
    rolled_back.at(50)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="s2")

    assert outcome.status.value == "undone", outcome.reason
    assert rolled_back.serving() == {NEW: 100}
    assert rolled_back.standins.run.count("UpdateService") == 2


def test_an_undo_whose_earlier_attempt_ended_unconfirmed_is_never_called_undone(rolled_back):
    """The undo's restore reached Cloud Run and its operation failed with the split left desired (the stand-in's
    `failed_update_keeps_spec` reading): the gate completed its claim `escalated`, written and not confirmed,
    while the rollback's revision still serves. The sweep's own verdict after it is lost (it died, or its commit
    failed): the record is put back to `undoing` here, its attempt noted, as that sweep left it. Before, the next
    sweep found the claim completed and took the gate's duplicate for the undo done: `undone`, "the recorded
    split is restored", the pin released. Now only a claim completed `applied` is an undo done; any other end is
    escalated, the pin kept, nothing written again."""
    still_failing(rolled_back)
    rolled_back.at(18)
    rolled_back.standins.run.failed_update_keeps_spec = True
    rolled_back.standins.run.fail_next_operation()
    [first] = rolled_back.command({"command": "sweep"}, message_id="s1")
    assert first.status.value == "escalated", first.reason
    assert rolled_back.serving() == {OLD: 100}
    rec = record(rolled_back)
    assert rec["undo_sent_at"] is not None, rec
    rolled_back.state.update_record(ACTIONS, rec["key"], {"state": "undoing"})
    writes = rolled_back.standins.run.count("UpdateService")
    rolled_back.at(50)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="s2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "not claimed as undone" in outcome.reason, outcome.reason
    # What its failed operation left, named: the undo's split asked for, the rollback's serving.
    assert f"asks for {NEW} 100%" in outcome.reason and f"serves {OLD} 100%" in outcome.reason, outcome.reason
    assert rolled_back.standins.run.count("UpdateService") == writes
    assert rolled_back.state.get_record(PINS, SERVICE)["pinned"] is True
    assert record(rolled_back)["state"] == "escalated"
