"""A write the gate held back is told by its hold (GateResult.held, set where the gate decides), never by the
refusal's words (shared/remediation/refusals.py, Held). The gate's words reworded here (as a later version may
word them) keep every behaviour that reads the hold, on in-process parts (tests/property/fast.py):
- an alert's message held back by a pause, a cooldown or a budget is kept held: delivered again once the hold has
  cleared, it is held again and writes nothing (held_messages.py);
- an operator's rollback held back by a pause says it wrote nothing and how to send it again (commands/held.py);
- the sweep's undo held back by a pause is escalated with the command that performs it by hand (undo_by_hand.py).
A held message's record kept before the hold was kept beside the words (its `refusal` alone: such records stay in
Firestore until their TTL) is still read, by the words the gate said then."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.commands import held as command_held
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation import guardrails
from shared.remediation.held_messages import held_again, held_key, held_record, keeps, kept_hold
from shared.remediation.refusals import Held, held_of_words
from tests.integration.test_remediation import NEW, OLD, still_failing
from tests.integration.world import SERVICE
from tests.property.fast import FastWorld
from tests.unit.test_held_redeliveries import WRITES, _cooldown, _global_hour_spent
from tests.unit.test_switch_in_flight import _handle, _send, _world, _writes

SKIPPED, APPLIED, ESCALATED = OutcomeStatus.SKIPPED, OutcomeStatus.APPLIED, OutcomeStatus.ESCALATED
NOW = datetime(2026, 12, 3, 10, 2, tzinfo=timezone.utc)


def _reworded_brake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's words for a brake reworded: "writes are stopped (…)" where it said "kill switch engaged: …"."""
    said = guardrails.braked

    def braked(switch: str, *held: Any) -> Any:
        words = said(switch, *held)
        reworded = f"writes are stopped ({switch})"
        return type(words)(reworded, *held) if held else reworded

    monkeypatch.setattr(guardrails, "braked", braked)


def _reworded_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's words for a cooldown and a spent budget reworded."""
    monkeypatch.setattr(guardrails, "COOLDOWN", "cooling down,")
    monkeypatch.setattr(guardrails, "BUDGET", "out of budget,")


def _pause(w: FastWorld, target: str) -> None:
    assert _send(w, "pz-1", "pause", target=target).status is APPLIED


def _kill_switch(w: FastWorld, target: str) -> None:
    assert _send(w, "pz-1", "pause").status is APPLIED


def _resume(w: FastWorld, target: str) -> None:
    for command_id, fields in (("rs-1", {}), ("rs-2", {"target": target})):
        _send(w, command_id, "resume", **fields)


# (scenario, what holds the write back, the rewording, what clears the hold, the hold said again)
HOLDS = {
    "a rollback held by a pause": ("bad_revision", _pause, _reworded_brake, _resume, "a resume does not release it"),
    "a connector scale held by the kill switch": ("connector_saturation", _kill_switch, _reworded_brake, _resume,
                                                  "a resume does not release it"),
    "a rollback held by the target's cooldown": ("bad_revision", _cooldown, _reworded_limits, None,
                                                 "the cooldown's end does not release it"),
    "a connector scale held by the global budget": ("connector_saturation", _global_hour_spent, _reworded_limits,
                                                    None, "a budget's slot coming free does not release it"),
}


def held_at_two_minutes(monkeypatch, scenario: str, hold, reworded):
    """The scenario's world under `reworded` refusals, `hold` set on its write at +1m, and its alert at +2m."""
    reworded(monkeypatch)
    w = _world(scenario)
    w.at(1)
    hold(w, WRITES[scenario][1])
    w.at(2)
    return w, w.alert(scenario, message_id="m-held")


@pytest.mark.parametrize("scenario, hold, reworded, cleared, said", HOLDS.values(), ids=HOLDS.keys())
def test_a_message_held_under_reworded_refusals_is_still_kept_held(monkeypatch, scenario, hold, reworded, cleared,
                                                                    said):
    w, alert = held_at_two_minutes(monkeypatch, scenario, hold, reworded)
    held = _handle(w, alert)
    assert held.status is SKIPPED and "kill switch engaged" not in held.reason and "cooldown:" not in held.reason, \
        held.reason
    w.at(5)
    if cleared is not None:
        cleared(w, WRITES[scenario][1])
    w.at(6)   # the hold has cleared
    again = _handle(w, alert)
    assert again.status is SKIPPED and said in again.reason and "nothing was diagnosed or written" in again.reason, \
        again.reason
    assert _writes(w) == 0


def test_an_operators_rollback_held_under_a_reworded_brake_still_says_it_wrote_nothing(monkeypatch):
    _reworded_brake(monkeypatch)
    w = _world("bad_revision")
    _pause(w, SERVICE)
    held = _send(w, "rb-1", "rollback_traffic", target=SERVICE, params={"revision": OLD})
    assert held.status is SKIPPED and held.reason.startswith("writes are stopped"), held.reason
    assert "this rollback_traffic wrote nothing: once resumed, send it again with a new command_id" in held.reason, \
        held.reason
    assert _writes(w) == 0


def test_the_sweeps_undo_held_under_a_reworded_brake_still_gives_the_command_that_does_it(monkeypatch):
    _reworded_brake(monkeypatch)
    w = _world("bad_revision")
    assert _handle(w, w.alert()).status is APPLIED
    w.own_monitoring()   # the later minutes below stay in this world's copy, not in the scenario's shared one
    still_failing(w)
    w.at(17)
    _pause(w, SERVICE)
    w.at(18)   # past the verification deadline: the rollback is to be undone, and the pause holds the undo back
    [held] = w.command({"command": "sweep"})
    assert held.status is ESCALATED and "the undo did not happen: writes are stopped" in held.reason, held.reason
    by_hand = f"runwarden command restore_traffic --target {SERVICE} --param 'action_id={held.action.action_id}'"
    assert "Runwarden will not retry this undo" in held.reason and "once a resume allows writes again" in held.reason \
        and by_hand in held.reason and f"{NEW} 100%" in held.reason, held.reason
    assert held.notes and held.notes[0].startswith(by_hand), held.notes
    assert _writes(w) == 1   # the rollback's alone


# A held message's record as kept before the hold was kept beside the words: (its refusal, the hold it is read as,
# what its delivery again says does not release it)
OLD_RECORDS = {
    "the config's kill switch": ("kill switch engaged: no writes (set in config)", Held.KILL_SWITCH,
                                 "setting guardrails.kill_switch false in the config does not release it"),
    "a pause": ("kill switch engaged: no writes (backend paused by alice@example.com at 12:01:00 UTC: migration)",
                Held.PAUSED, "a resume does not release it"),
    "a cooldown": ("cooldown: backend was acted on at 2026-12-03T10:00:00+00:00; next action after "
                   "2026-12-03T10:05:00+00:00", Held.COOLDOWN, "the cooldown's end does not release it"),
    "a budget": ("budget exhausted: 20 actions for global in 2026-12-03", Held.BUDGET,
                 "a budget's slot coming free does not release it"),
}


def _record(result: dict[str, Any]) -> ClaimRecord:
    return ClaimRecord(key=held_key("m-1"), owner="m-1:1", status=ClaimStatus.COMPLETED, claimed_at=NOW,
                       expires_at=NOW + timedelta(days=1), result=result)


@pytest.mark.parametrize("refusal, hold, said", OLD_RECORDS.values(), ids=OLD_RECORDS.keys())
def test_an_old_record_with_only_words_is_read_by_its_words(refusal, hold, said):
    record = _record({"refusal": refusal, "target": SERVICE, "service": SERVICE})
    assert kept_hold(record) is hold and held_of_words(refusal) is hold and keeps(hold)
    assert said in held_again(record, "m-1") and refusal in held_again(record, "m-1")


@pytest.mark.parametrize("refusal, hold, said", OLD_RECORDS.values(), ids=OLD_RECORDS.keys())
def test_a_record_kept_now_is_read_by_its_hold_whatever_its_words(refusal, hold, said):
    kept = held_record(held_key("m-1"), "m-1:1", NOW, timedelta(days=1), "held back, in other words", hold, SERVICE,
                       SERVICE)
    record = ClaimRecord.model_validate(kept)
    assert record.result["held"] == hold.value and kept_hold(record) is hold
    assert said in held_again(record, "m-1"), held_again(record, "m-1")


@pytest.mark.parametrize("result", [
    {"refusal": "held back, in other words"},                        # words this version never said: no hold
    {"refusal": "writes are stopped (set in config)"},
    {"refusal": "a pause of backend is recorded (kill switch engaged earlier)"},
    {"refusal": "held back", "held": "a hold a later version knows"},   # unknown: read by the words, none here
])
def test_a_record_whose_hold_cannot_be_told_is_read_as_no_known_hold(result):
    assert kept_hold(_record(result)) is None


@pytest.mark.parametrize("hold", list(Held))
def test_only_a_brake_a_cooldown_or_a_budget_keeps_a_message_and_only_a_brake_reminds_to_resend(hold):
    brakes, limits = {Held.KILL_SWITCH, Held.PAUSED}, {Held.COOLDOWN, Held.BUDGET}
    assert keeps(hold) is (hold in brakes | limits)
    said = command_held.kill_switch_said("held back, in other words", hold, "rollback_traffic", "rb-1")
    assert ("wrote nothing" in said) is (hold in brakes), said
    assert ("guardrails.kill_switch is false in the config" in said) is (hold is Held.KILL_SWITCH), said


def test_the_gates_words_for_a_brake_with_no_hold_remind_nothing():
    words = "kill switch engaged: no writes (set in config)"
    assert command_held.kill_switch_said(words, None, "rollback_traffic", "rb-1") == words
    assert not keeps(None)
