"""A pause of a service holds back every write made for it, not only writes whose target it is.

The gate held back a write when its target was paused: a service's own alert (or an alert on the
connector behind it) could still scale the connector while the service was paused for maintenance.
The pauses that hold a write back are now the target's and those of the services it is made for
(`held_by`), read in the same batched read as the kill switch."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.remediation.guardrails import Gate, MaybeBehind, held_by, pause_key
from shared.outcomes import OutcomeStatus

from tests.unit.builders import CONNECTOR, SERVICE, T0
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import ACTION, bad_revision_plan, config

OTHER = SERVICE.replace("/backend", "/billing")


def pause(state: MemoryStateStore, target: str, engaged: bool = True) -> None:
    state.put_record("flags", pause_key(target), {"kind": "pause", "target": target, "engaged": engaged,
                                                 "by": "alice", "reason": "maintenance"})


@pytest.mark.parametrize("paused, target, on_behalf, held", [
    # a connector scaled for a paused service's alert: held back
    ([SERVICE], CONNECTOR, [SERVICE], SERVICE),
    # a connector alert with two services behind the connector, one of them paused: held back
    ([OTHER], CONNECTOR, [SERVICE, OTHER], OTHER),
    # the connector itself paused: its own pause is named first, the service's after it (both hold it)
    ([CONNECTOR, SERVICE], CONNECTOR, [SERVICE], CONNECTOR),
    # the service paused, the write its own
    ([SERVICE], SERVICE, [SERVICE], SERVICE),
    # an operator's scale of the connector (made for nobody's alert): the service's pause does not cover it
    ([SERVICE], CONNECTOR, [], None),
    # another service paused, the write made for this one
    ([OTHER], CONNECTOR, [SERVICE], None),
    # nothing paused
    ([], CONNECTOR, [SERVICE, OTHER], None),
])
def test_whose_pause_holds_a_write_back(paused, target, on_behalf, held):
    state = MemoryStateStore()
    for name in paused:
        pause(state, name)
    gate = Gate(config(), state, FixedClock(T0), owner="attempt-1")
    reason = gate.kill_switch(target, on_behalf=on_behalf)
    if held is None:
        assert reason == ""
    else:
        holds = [name for name in paused if name in (target, *on_behalf)]
        first = reason.split(": (1) ", 1)[-1].split("; (2) ")[0] if len(holds) > 1 else reason
        assert reason.startswith(f"{len(holds)} pauses hold this write: (1) " if len(holds) > 1 else held), reason
        assert first.startswith(f"{held} paused by alice: maintenance"), reason
        assert (f"the write to {target} is made for its alert" in first) is (held != target), reason
        assert all(f"runwarden resume --target {name} --reason" in reason for name in holds), reason


def test_a_pause_of_a_service_only_maybe_behind_the_connector_says_so():
    """During a connector alert, a managed service that could not be read may be behind the connector
    (collection.Users.maybe): its pause holds the write back, and the answer says it may be behind it,
    not that the write is made for its alert."""
    state = MemoryStateStore()
    pause(state, OTHER)
    gate = Gate(config(), state, FixedClock(T0), owner="attempt-1")
    reason = gate.kill_switch(CONNECTOR, on_behalf=[SERVICE, MaybeBehind(OTHER)])
    assert reason.startswith(f"{OTHER} paused by alice: maintenance"), reason
    assert "is made for its alert" not in reason, reason
    assert f"{OTHER} could not be read during the alert, so it may be behind {CONNECTOR}" in reason, reason
    # One both read behind it and listed as maybe: it is behind it.
    pause(state, SERVICE)
    reason = gate.kill_switch(CONNECTOR, on_behalf=[SERVICE, MaybeBehind(SERVICE)])
    assert f"the write to {CONNECTOR} is made for its alert" in reason and "may be behind" not in reason, reason


# Which read left the paused service unknown, and when: the alert's (no `read`), or an approve's own, at its time.
@pytest.mark.parametrize("read, said, not_said", [
    ("", f"{OTHER} could not be read during the alert, so it may be behind {CONNECTOR}", "approve"),
    ("this approve (its own read of Cloud Run at 2026-11-26 12:40:00 UTC: PERMISSION_DENIED: denied)",
     f"{OTHER} could not be read by this approve (its own read of Cloud Run at 2026-11-26 12:40:00 UTC: "
     f"PERMISSION_DENIED: denied), so it may be behind {CONNECTOR}", "during the alert"),
    ("this approve (its own read of Cloud Run at 2026-11-26 09:05:30 UTC: not read, beyond the 50 managed "
     "services a read covers)", "by this approve (its own read of Cloud Run at 2026-11-26 09:05:30 UTC: not read, "
     "beyond the 50", "during the alert"),
])
def test_a_pause_of_a_service_maybe_behind_names_the_read_that_left_it_unknown(read, said, not_said):
    state = MemoryStateStore()
    pause(state, OTHER)
    gate = Gate(config(), state, FixedClock(T0), owner="attempt-1")
    reason = gate.kill_switch(CONNECTOR, on_behalf=[SERVICE, MaybeBehind(OTHER, read)])
    assert reason.startswith(f"{OTHER} paused by alice: maintenance") and said in reason, reason
    assert not_said not in reason, reason
    if read:
        assert "once it can be read, approve again" in reason and f"runwarden resume --target {OTHER}" \
            in reason, reason


def test_a_released_pause_of_the_service_holds_nothing_back():
    state = MemoryStateStore()
    pause(state, SERVICE, engaged=False)
    assert Gate(config(), state, FixedClock(T0), owner="a").kill_switch(CONNECTOR, on_behalf=[SERVICE]) == ""


def test_the_target_comes_first_and_each_name_once():
    assert held_by(CONNECTOR, [SERVICE, OTHER, SERVICE]) == (CONNECTOR, SERVICE, OTHER)
    assert held_by(SERVICE, [SERVICE]) == (SERVICE,)
    assert held_by(None) == ()


def test_the_pauses_are_read_with_the_switches_cooldown_and_budgets():
    """One batched read: the pause documents join the gate's reads, no read of their own."""
    gate = Gate(config(), MemoryStateStore(), FixedClock(T0), owner="a")
    reads = gate.gate_reads(CONNECTOR, T0, [SERVICE, OTHER])
    assert [r for r in reads if r[0] == "flags"] == [("flags", "kill_switch"), ("flags", pause_key(CONNECTOR)),
                                                    ("flags", pause_key(SERVICE)), ("flags", pause_key(OTHER))]
    assert ("cooldowns", CONNECTOR) in reads


def test_reads_ahead_that_did_not_read_a_services_pause_are_not_used():
    """Reads made ahead for the target alone leave out the pause of another service the write is made for:
    the gate reads again rather than miss it."""
    proposal, b = bad_revision_plan()
    state, run = MemoryStateStore(), RecordingRun(b.service)
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    ahead = gate.read_ahead(SERVICE, T0 + timedelta(minutes=2))
    pause(state, OTHER)
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), service=SERVICE,
                          reads=ahead, on_behalf=[SERVICE, OTHER])
    assert result.status is OutcomeStatus.SKIPPED and f"{OTHER} paused by alice" in result.reason, result.reason
    assert run.writes == []


def test_the_check_right_before_the_write_reads_the_services_pause_too():
    """A pause of the service that lands after the gate's first read, before the write: the check made
    right before it holds the write back (here the read ahead is taken, then the service paused)."""
    proposal, b = bad_revision_plan()
    state, run = MemoryStateStore(), RecordingRun(b.service)
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    ahead = gate.read_ahead(SERVICE, T0 + timedelta(minutes=2), [OTHER])
    pause(state, OTHER)
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), service=SERVICE,
                          reads=ahead, on_behalf=[SERVICE, OTHER])
    assert result.status is OutcomeStatus.SKIPPED and f"{OTHER} paused by alice" in result.reason, result.reason
    assert run.writes == []


def test_the_gate_says_a_service_only_maybe_behind_it_may_be_behind_it_before_and_right_before_the_write():
    proposal, b = bad_revision_plan()
    for late in (False, True):
        state, run = MemoryStateStore(), RecordingRun(b.service)
        gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
        if not late:
            pause(state, OTHER)
        ahead = gate.read_ahead(SERVICE, T0 + timedelta(minutes=2), [MaybeBehind(OTHER)])
        if late:
            pause(state, OTHER)
        result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), service=SERVICE,
                              reads=ahead, on_behalf=[SERVICE, MaybeBehind(OTHER)])
        assert result.status is OutcomeStatus.SKIPPED and f"{OTHER} paused by alice" in result.reason, result.reason
        assert "may be behind" in result.reason and "is made for its alert" not in result.reason, result.reason
        assert run.writes == []
