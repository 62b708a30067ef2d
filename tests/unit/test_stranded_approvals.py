"""A proposal left `approved` by an approve whose attempt ended (shared/remediation/approvals.py): the
sweep's decision, table by table (pure), then the sweep and `status` on in-process parts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.approvals import Ending, decide
from shared.remediation.intents import SWEEP_MARGIN
from shared.remediation.records import (ANSWERS, COMMANDS, INTENTS, PROPOSALS, ActionRecord, ActionState,
                                        IntentRecord, IntentState, command_intent_key)
from tests.unit.test_command_resends import OPERATOR, proposed, send

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=15)
APPROVED_AT = NOW - timedelta(hours=1)
COMMAND = "appr-1"
KEY = "0.alpha|projects/p/locations/l/connectors/c|scale_connector"


def _claim(status: ClaimStatus, expires_in: timedelta) -> ClaimRecord:
    return ClaimRecord(key=COMMAND, owner=f"command:{COMMAND}:m.1", status=status, claimed_at=NOW - timedelta(hours=1),
                       expires_at=NOW + expires_in)


def _record(state: ActionState, after: bool = True, command_id: str = COMMAND) -> ActionRecord:
    return ActionRecord(key=KEY, incident_id="0.alpha", target="c", service="c", action="scale_connector",
                        signature="connector_saturation", after={"max_instances": 4} if after else {},
                        reversible=False, applied_at=NOW - timedelta(minutes=30), settle_at=NOW, deadline_at=NOW,
                        state=state, command_id=command_id)


def _intent(state: IntentState | None) -> IntentRecord:
    return IntentRecord(incident_id="0.alpha", message_id="", owner=f"command:{COMMAND}:m.1", claim_key=KEY,
                        action="scale_connector", target="c", service="c", noted_at=NOW - timedelta(minutes=40),
                        command_id=COMMAND, proposal_id="p-1", state=state)


LAPSED = _claim(ClaimStatus.CLAIMED, -SWEEP_MARGIN)
# (the command's record, the action record at the proposal's key, the command's intent) -> what the sweep does
# [, when it was approved: an hour ago unless given]
CASES: dict[str, tuple[Any, ...]] = {
    "record held, unexpired": (_claim(ClaimStatus.CLAIMED, timedelta(minutes=5)), None, None, Ending.WAIT),
    "lapsed, within the margin": (_claim(ClaimStatus.CLAIMED, -SWEEP_MARGIN / 2), None, None, Ending.WAIT),
    # Given back by an attempt that raised, for the redelivery: it carries the approval on.
    "gone, approved within a lease": (None, None, None, Ending.WAIT, NOW - LEASE),
    "lapsed, approved within a lease and the margin": (LAPSED, None, None, Ending.WAIT, NOW - LEASE - SWEEP_MARGIN / 2),
    "gone, approved a lease and the margin ago": (None, None, None, Ending.ABANDONED, NOW - LEASE - SWEEP_MARGIN),
    "held, its write recorded": (_claim(ClaimStatus.CLAIMED, timedelta(minutes=5)), _record(ActionState.PENDING),
                                 None, Ending.WAIT),
    # Answered (a permanent error escaped the gate: `failed`) and left `approved`: settled from the records at once.
    "answered": (_claim(ClaimStatus.COMPLETED, timedelta(days=30)), None, None, Ending.ANSWERED),
    "answered, intent void": (_claim(ClaimStatus.COMPLETED, timedelta(days=30)), None, _intent(IntentState.VOID),
                              Ending.ANSWERED),
    "answered, intent open": (_claim(ClaimStatus.COMPLETED, timedelta(days=30)), None, _intent(IntentState.OPEN),
                              Ending.INTENT),
    "answered, recorded, pending": (_claim(ClaimStatus.COMPLETED, timedelta(days=30)), _record(ActionState.PENDING),
                                    _intent(IntentState.RECORDED), Ending.APPLIED),
    "answered, intent escalated": (_claim(ClaimStatus.COMPLETED, timedelta(days=30)), None,
                                   _intent(IntentState.ESCALATED), Ending.IN_DOUBT),
    "answered within a lease of the approval": (_claim(ClaimStatus.COMPLETED, timedelta(days=30)), None, None,
                                                Ending.ANSWERED, NOW - LEASE / 2),
    # Under a reused command id, the intent stored there may be another approval's: not this proposal's write.
    "lapsed, another proposal's intent open": (LAPSED, None, _intent(IntentState.OPEN).model_copy(
        update={"proposal_id": "p-2"}), Ending.ABANDONED),
    "answered long ago, record expired": (_claim(ClaimStatus.COMPLETED, -SWEEP_MARGIN), None, None, Ending.ABANDONED),
    "lapsed, no intent": (LAPSED, None, None, Ending.ABANDONED),
    "gone, no intent": (None, None, None, Ending.ABANDONED),
    "lapsed, intent void": (LAPSED, None, _intent(IntentState.VOID), Ending.ABANDONED),
    "lapsed, intent open": (LAPSED, None, _intent(IntentState.OPEN), Ending.INTENT),
    "lapsed, intent stored without a state": (LAPSED, None, _intent(None), Ending.INTENT),
    "lapsed, intent escalated": (LAPSED, None, _intent(IntentState.ESCALATED), Ending.IN_DOUBT),
    "lapsed, intent recorded, no record": (LAPSED, None, _intent(IntentState.RECORDED), Ending.IN_DOUBT),
    "lapsed, recorded, pending": (LAPSED, _record(ActionState.PENDING), _intent(IntentState.RECORDED), Ending.APPLIED),
    "lapsed, recorded, undoing": (LAPSED, _record(ActionState.UNDOING), None, Ending.APPLIED),
    "lapsed, recorded with no after-state": (LAPSED, _record(ActionState.PENDING, after=False),
                                             _intent(IntentState.RECORDED), Ending.IN_DOUBT),
    "lapsed, recorded and verified": (LAPSED, _record(ActionState.VERIFIED), None, Ending.JUDGED),
    "lapsed, recorded and escalated (superseded)": (LAPSED, _record(ActionState.ESCALATED),
                                                    _intent(IntentState.RECORDED), Ending.JUDGED),
    "lapsed, another's record, intent void": (LAPSED, _record(ActionState.PENDING, command_id="other"),
                                              _intent(IntentState.VOID), Ending.ABANDONED),
    "lapsed, another's record, intent open": (LAPSED, _record(ActionState.PENDING, command_id="other"),
                                              _intent(IntentState.OPEN), Ending.INTENT),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_the_sweep_does_with_a_proposal_left_approved(case: str) -> None:
    claim, record, intent, expected, *approved_at = CASES[case]
    assert decide(claim, record, intent, COMMAND, (approved_at or [APPROVED_AT])[0], LEASE, NOW, "p-1") is expected


def _stranded(w: Any, proposal_id: str, command_id: str) -> None:
    """The approve's move to `approved` lands and its answer is lost: it raises before the gate (the
    platform would send it again; here nothing does)."""
    from shared.errors import TransientError

    w.adapters.state.fail_next("write", 1, lost=True, method="update_record")
    with pytest.raises(TransientError):
        send(w, "approve", command_id, params={"proposal_id": proposal_id})
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "approved" and proposal["command_id"] == command_id, proposal


def test_status_lists_an_approved_proposal_and_the_sweep_closes_it_once_its_command_lapsed() -> None:
    """Before, `status` listed nothing about a proposal left `approved` and nothing ever ended it. Now
    status lists it with when the sweep settles it; a sweep within the command's lease leaves it; the
    sweep past it closes it `abandoned` and answers the command, with the answer kept with the command's
    record; a later approve is told it is decided, and nothing is written."""
    w, proposal_id = proposed()
    _stranded(w, proposal_id, "strand-1")
    status = send(w, "status", "strand-status")
    [listed] = status.snapshot["approved_proposals"]
    assert listed["proposal_id"] == proposal_id and listed["command_id"] == "strand-1", listed
    after = datetime.fromisoformat(listed["settled_by_sweep_after"])
    assert listed["decided_by"] == OPERATOR and after == w.clock.now() + timedelta(minutes=15) + SWEEP_MARGIN, listed
    assert "1 approved and not yet applied" in status.reason, status.reason

    assert not [o for o in w.command({"command": "sweep"}, message_id="s-early") if o.command_id == "strand-1"]
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "approved"

    w.at(2 + 17)       # a lease and the sweep's margin past the approval
    [answer] = [o for o in w.command({"command": "sweep"}, message_id="s-late") if o.command_id == "strand-1"]
    assert answer.status is OutcomeStatus.ESCALATED and "nothing was applied" in answer.reason, answer.reason
    assert answer.action.proposal_id == proposal_id and answer.requested_by == OPERATOR
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "abandoned" and proposal["note"] == answer.reason[:1500], proposal
    record = w.state.get(COMMANDS, "strand-1")
    assert record.status is ClaimStatus.COMPLETED and record.result["outcome_id"] == answer.outcome_id
    assert w.state.get_record(ANSWERS, "strand-1")["report_state"] == "sent"
    assert not send(w, "status", "strand-status-2").snapshot["approved_proposals"]

    other = send(w, "approve", "strand-2", params={"proposal_id": proposal_id})
    assert other.status is OutcomeStatus.REJECTED and "already abandoned" in other.reason, other.reason
    resent = send(w, "approve", "strand-1", params={"proposal_id": proposal_id})
    assert resent.status is OutcomeStatus.ESCALATED and resent.reason.startswith("duplicate"), resent.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def test_the_platforms_redelivery_carries_the_approval_on_and_the_sweep_before_it_leaves_it() -> None:
    """The attempt that raised gave the command's record back at once, for the redelivery: a sweep before
    that redelivery, within a lease of the approval, leaves the proposal; the redelivery applies it; the
    sweep after it finds nothing to do."""
    w, proposal_id = proposed(verification={"settle_seconds": 1800, "deadline_seconds": 3600})
    _stranded(w, proposal_id, "strand-3")
    w.at(2 + 1)
    assert not [o for o in w.command({"command": "sweep"}, message_id="s-3") if o.command_id == "strand-3"]
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "approved"
    again = send(w, "approve", "strand-3", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.APPLIED, again.reason
    w.at(2 + 20)
    assert not [o for o in w.command({"command": "sweep"}, message_id="s-3b") if o.command_id == "strand-3"]
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    assert w.standins.vpcaccess.count("PatchConnector") == 1


def test_an_applied_approve_whose_final_commit_failed_is_settled_applied_not_closed() -> None:
    """The write took and was recorded; the commit that ends the proposal and completes the command's
    record failed outright. Past the lease the sweep settles the proposal `applied` (as that commit would
    have), never `abandoned`, and answers nothing more: the sweep's verdict on the write ends it later."""
    w, proposal_id = proposed(verification={"settle_seconds": 1800, "deadline_seconds": 3600})
    w.adapters.state.fail_next("write", 1, method="complete")
    first = send(w, "approve", "strand-4", params={"proposal_id": proposal_id})
    assert first.status is OutcomeStatus.APPLIED and "could not be completed" in " ".join(first.notes), first
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "approved"
    w.at(2 + 17)       # past the lease and the margin, before the write's settle time
    assert not [o for o in w.command({"command": "sweep"}, message_id="s-4") if o.command_id == "strand-4"]
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "applied" and "strand-4" in proposal["note"], proposal["note"]
    assert w.standins.vpcaccess.count("PatchConnector") == 1


def test_an_approve_whose_write_is_escalated_from_its_intent_is_left_in_doubt_not_closed() -> None:
    """The approve's attempt stored its intent and ended without recording anything, and a person changed
    the connector since: the intents backstop escalates it (the target shows neither the state before nor
    the plan). The write may have happened, so the proposal is `in_doubt`, never closed as unwritten."""
    w, proposal_id = proposed()
    _stranded(w, proposal_id, "strand-5")
    # As its attempt left it had it died right after storing its plan (an open intent, no record), and as
    # the connector reads now: neither the state the plan was made on nor the plan.
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    plan = _intent(IntentState.OPEN).model_copy(update={
        "command_id": "strand-5", "proposal_id": proposal_id, "claim_key": proposal["key"], "target": proposal["target"],
        "noted_at": w.clock.now(), "params": proposal["params"],
        "before": {"connector": {"machine_type": "e2-micro", "min_instances": 2, "max_instances": 7}},
        "after": {"connector": {"machine_type": "e2-micro", "min_instances": 2, "max_instances": 8}}})
    w.state.put_record(INTENTS, command_intent_key("strand-5"), plan.model_dump(mode="python"))
    w.at(2 + 30)
    swept = w.command({"command": "sweep"}, message_id="s-5")
    assert [o.status for o in swept if o.command_id == "strand-5"] == [OutcomeStatus.ESCALATED], swept
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "in_doubt" and "strand-5" in proposal["note"], proposal
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def test_an_intent_this_version_cannot_read_leaves_the_proposal_approved_and_the_sweep_goes_on() -> None:
    """The command's intent does not fit this version's model: whether its write happened is not known, so
    the proposal is left `approved` (said at ERROR), the command's record given back, and the sweep's
    other outcomes are still made."""
    w, proposal_id = proposed()
    _stranded(w, proposal_id, "strand-6")
    w.state.put_record(INTENTS, command_intent_key("strand-6"), {"command_id": "strand-6", "state": "open"})
    w.at(2 + 17)
    w.command({"command": "sweep"}, message_id="s-6")
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "approved"
    assert w.state.get(COMMANDS, "strand-6") is None


class _RefusesOnce:
    """The world's state store, whose next `method` call raises a permanent error (Firestore's
    PERMISSION_DENIED: a role removed while the approve runs), before anything is written."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner, self.method, self.fired = inner, method, False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.method or self.fired:
            return attr

        def refused(*args: Any, **kwargs: Any) -> Any:
            from shared.errors import PermanentError

            self.fired = True
            raise PermanentError(f"403 {name}: the caller does not have permission", code="PERMISSION_DENIED")
        return refused


def test_an_approve_answered_failed_by_a_permanent_error_escaping_the_gate_ends_its_proposal_failed() -> None:
    """The gate's one commit (claim, cooldown, budget slots) is refused for good: the error escapes the gate,
    the approve's handler answers `failed`, and that answer completes the command's record. The proposal was
    left `approved`: `status` listed it as "approved and not yet applied", and the sweep left it ("its answer
    said why") until the command's record lapsed, 30 days later. Now the sweep reads where the records show
    it: nothing written (the gate voided its intent), so it ends `failed`, as the answer said, with no second
    answer; a resend is still the first answer's duplicate. Fails on the code before (still `approved`)."""
    import dataclasses

    w, proposal_id = proposed()
    refusing = _RefusesOnce(w.adapters.state, "claim_all")
    w.adapters = dataclasses.replace(w.adapters, state=refusing)
    first = send(w, "approve", "perm-1", params={"proposal_id": proposal_id})
    assert refusing.fired and first.status is OutcomeStatus.FAILED and "PERMISSION_DENIED" in first.reason, first
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "approved"
    assert w.state.get(COMMANDS, "perm-1").status is ClaimStatus.COMPLETED
    listed = send(w, "status", "perm-status").snapshot["approved_proposals"]
    assert [p["proposal_id"] for p in listed] == [proposal_id]
    assert datetime.fromisoformat(listed[0]["settled_by_sweep_after"]) <= w.clock.now(), listed

    swept = w.command({"command": "sweep"}, message_id="s-perm")
    assert not [o for o in swept if o.command_id == "perm-1"], swept   # answered once, by the approve
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "failed" and "perm-1" in proposal["note"] and "PERMISSION_DENIED" in proposal["note"]
    assert not send(w, "status", "perm-status-2").snapshot["approved_proposals"]
    resent = send(w, "approve", "perm-1", params={"proposal_id": proposal_id})
    assert resent.status is OutcomeStatus.SKIPPED and resent.reason.startswith("duplicate"), resent.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def test_an_approval_whose_command_id_another_command_answered_is_left_for_that_record_to_lapse() -> None:
    """The proposal's approve raised before the gate (its move to `approved` landed, its answer lost), and
    another command then ran under the same command_id (a reject of the proposal, refused: it is not open)
    and completed that id's record. That record is not the approval's answer (its digest differs), so the
    sweep neither ends the proposal by it nor answers for it."""
    w, proposal_id = proposed()
    _stranded(w, proposal_id, "strand-7")
    other = send(w, "reject", "strand-7", params={"proposal_id": proposal_id})
    assert other.status is OutcomeStatus.REJECTED, other.reason
    assert w.state.get(COMMANDS, "strand-7").status is ClaimStatus.COMPLETED
    w.at(2 + 17)
    assert not [o for o in w.command({"command": "sweep"}, message_id="s-7") if o.command_id == "strand-7"]
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "approved"
