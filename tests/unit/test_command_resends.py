"""Resends of an operator's command long after it was answered, or after its records were partly
lost: nothing acts twice, an unrecorded change is found and recorded, an approve's proposal ends as
a completed approve ends it, and a resend's reads are one batch (shared/commands/__init__.py,
shared/commands/recovery.py). In-process parts: the memory store and the stand-ins' own handlers
(tests/property/fast.py); tests/integration/test_commands.py repeats the store-bound ones on the
Firestore emulator."""
from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import grpc
import pytest

from sandbox.standins.run import TrafficSeed
from shared.commands import CommandInProgress
from shared.errors import TransientError
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import CLAIMS, claim_key, command_incident
from shared.remediation.records import ACTIONS, COMMANDS, INTENTS, PINS, PROPOSALS, command_intent_key
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR
from tests.integration.world import SERVICE

OLD, NEW, NEWER = "backend-00001-abc", "backend-00002-xyz", "backend-00003-new"
OPERATOR = "alice@example.com"
# The gate's claims and the command's claim lapse 10 minutes after the answer; no cooldown holds a
# second write back: only the command's own record can.
SHORT = {"guardrails": {"claim_retention_seconds": 600, "cooldown_seconds": 0}}
_messages = itertools.count(1)


def world(scenario: str = "bad_revision", **config: Any) -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR, operators=[OPERATOR], **{**SHORT, **config})


def send(w: FastWorld, name: str, command_id: str, **fields: Any):
    body = {"command": name, "command_id": command_id, "requested_by": OPERATOR, "reason": "r", **fields}
    [outcome] = w.command(body, message_id=f"m-{next(_messages)}")   # a resend comes in a new message
    return outcome


def rollback(w: FastWorld, command_id: str):
    return send(w, "rollback_traffic", command_id, target=SERVICE, params={"revision": OLD})


def deploy_newer(w: FastWorld, minutes: float) -> None:
    """Someone deploys a newer revision, which takes all the traffic: a rollback has work again."""
    w.standins.run.add_revision(SERVICE, NEWER, w.anchor + timedelta(minutes=minutes))
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEWER)])


def updates(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService")


def gate_key(command_id: str) -> str:
    return claim_key(command_incident(command_id), SERVICE, "rollback_traffic")


def test_a_resend_after_every_claim_lapsed_is_a_duplicate_of_the_first_answer_not_a_second_write():
    """The command's record outlives the gate's claims (records.COMMAND_RETENTION): once those have
    lapsed (Firestore's TTL deletes them), a resend of the same command_id still finds the first
    answer, and the world having moved on does not make it act again."""
    w = world()
    first = rollback(w, "late-1")
    assert first.status is OutcomeStatus.APPLIED, first.reason
    deploy_newer(w, 10)
    w.at(2 + 60)                       # the gate's claim and cooldown long lapsed
    assert w.state.get(CLAIMS, gate_key("late-1")).expired(w.clock.now())

    again = rollback(w, "late-1")
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate: command late-1"), again.reason
    assert "applied" in again.reason and updates(w) == 1
    assert w.state.get(COMMANDS, "late-1").expires_at >= w.anchor + timedelta(days=30)


def test_a_resend_whose_command_record_was_lost_is_a_duplicate_of_the_recorded_action():
    """The write was recorded, but completing the command's own claim failed: once that claim's
    lease lapses a resend takes it over, finds the action record through the intent and answers a
    duplicate naming it, rather than running the command again on a target that changed since."""
    w = world()
    w.adapters.state.fail_next("write", 1, method="complete")   # the command's completion, after the gate's commit
    first = rollback(w, "lost-1")
    assert first.status is OutcomeStatus.APPLIED and "could not be completed" in " ".join(first.notes)
    deploy_newer(w, 10)
    w.at(2 + 20)                       # the command's claim lease (10 min + 5 min skew) has lapsed

    again = rollback(w, "lost-1")
    assert again.status is OutcomeStatus.SKIPPED and "already made its change" in again.reason, again.reason
    assert again.action.action_id == gate_key("lost-1") and updates(w) == 1
    # The answer is the command's record from now on.
    assert w.state.get(COMMANDS, "lost-1").result["status"] == "skipped"


def test_an_unrecorded_write_is_recorded_by_a_resend_even_after_its_gate_claim_is_gone():
    """Completing the gate's claim and writing the action record failed (one commit); the claim is
    then deleted by Firestore's TTL. A resend must not take the missing claim for a give-back: the
    target shows the planned change, so the change is recorded for the sweep and escalated."""
    w = world()
    w.adapters.state.fail_next("write", 1, method="record_all")
    first = rollback(w, "gone-1")
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    w.state.records.pop((CLAIMS, gate_key("gone-1")))            # Firestore's TTL deleted the lapsed claim
    w.at(2 + 20)

    again = rollback(w, "gone-1")
    assert again.status is OutcomeStatus.ESCALATED and "applied by an earlier attempt" in again.reason, again.reason
    assert w.state.get_record(ACTIONS, gate_key("gone-1"))["command_id"] == "gone-1"
    assert w.state.get_record(INTENTS, command_intent_key("gone-1"))["state"] == "recorded"
    assert updates(w) == 1


def test_a_command_valid_for_longer_than_its_record_is_kept_is_rejected():
    w = world()
    too_far = (w.clock.now() + timedelta(days=31)).isoformat()
    outcome = rollback_with(w, "far-1", expires_at=too_far)
    assert outcome.status is OutcomeStatus.REJECTED and outcome.reason.startswith("expires_at:"), outcome.reason
    assert "30 days" in outcome.reason and updates(w) == 0
    within = (w.clock.now() + timedelta(days=29)).isoformat()
    assert rollback_with(w, "far-2", expires_at=within).status is OutcomeStatus.APPLIED


def rollback_with(w: FastWorld, command_id: str, **fields: Any):
    return send(w, "rollback_traffic", command_id, target=SERVICE, params={"revision": OLD}, **fields)


# --- approve ----------------------------------------------------------------------------------------


def proposed(**config: Any) -> tuple[FastWorld, str]:
    w = world("connector_saturation", bounds={"connectors": [{"name": CONNECTOR}]}, **config)
    outcome = w.handle(w.alert("connector_saturation"))
    assert outcome.status is OutcomeStatus.PROPOSED and outcome.action.proposal_id, outcome.reason
    return w, outcome.action.proposal_id


def unrecorded_approve(w: FastWorld, proposal_id: str, command_id: str):
    w.adapters.state.fail_next("write", 1, method="record_all")   # the gate's commit after the write
    first = send(w, "approve", command_id, params={"proposal_id": proposal_id})
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "in_doubt"
    return first


def test_an_approve_recovered_on_its_resend_ends_its_proposal_applied():
    w, proposal_id = proposed()
    unrecorded_approve(w, proposal_id, "appr-1")

    again = send(w, "approve", "appr-1", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.ESCALATED and "applied by an earlier attempt" in again.reason, again.reason
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "applied" and proposal["command_id"] == "appr-1"
    assert w.standins.vpcaccess.count("PatchConnector") == 1


def test_an_approve_recovered_by_the_sweep_ends_its_proposal_applied():
    w, proposal_id = proposed()
    unrecorded_approve(w, proposal_id, "appr-2")
    w.at(2 + 30)                       # the lease and the sweep's margin have passed
    swept = w.command({"command": "sweep"}, message_id="sweep-1")
    assert any(o.status is OutcomeStatus.ESCALATED and o.command_id == "appr-2" for o in swept), swept
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"

    # Had the sweep's ending of the proposal failed (it is best effort), a resend ends it.
    w.state.update_record(PROPOSALS, proposal_id, {"state": "approved"})
    again = send(w, "approve", "appr-2", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.ESCALATED and again.reason.startswith("duplicate"), again.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    assert w.standins.vpcaccess.count("PatchConnector") == 1


def test_an_approve_whose_earlier_attempt_approved_and_wrote_nothing_carries_on():
    """An earlier attempt at this very approve marked the proposal approved and died before its
    write: the resend applies it, rather than rejecting its own command as "already approved". Any
    other command still finds it decided."""
    w, proposal_id = proposed()
    w.state.update_record(PROPOSALS, proposal_id, {"state": "approved", "decided_by": OPERATOR,
                                                   "command_id": "appr-3"})
    other = send(w, "approve", "appr-4", params={"proposal_id": proposal_id})
    assert other.status is OutcomeStatus.REJECTED and "already approved" in other.reason, other.reason

    again = send(w, "approve", "appr-3", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.APPLIED, again.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    assert w.standins.vpcaccess.count("PatchConnector") == 1


# --- the resend's reads ---------------------------------------------------------------------------------


class CountingStore:
    """The world's store, counting the round trips of reads."""

    READS = ("get", "get_record", "get_many", "get_many_deferred", "find_records", "find_before")

    def __init__(self, inner: Any) -> None:
        self.inner, self.reads = inner, []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in self.READS:
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.reads.append((name, args))
            return method(*args, **kwargs)
        return counted


def counted_resend(w: FastWorld, name: str, command_id: str, **fields: Any):
    import dataclasses

    store = CountingStore(w.adapters.state)
    w.adapters = dataclasses.replace(w.adapters, state=store)
    outcome = send(w, name, command_id, **fields)
    return outcome, [name for name, _ in store.reads]


def test_a_resend_of_a_rollback_reads_its_intent_record_and_claim_in_one_batch():
    w = world()
    rollback(w, "reads-1")
    again, reads = counted_resend(w, "rollback_traffic", "reads-1", target=SERVICE, params={"revision": OLD})
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate"), again.reason
    assert reads == ["get_many"]


def test_a_resend_of_an_approve_reads_its_intent_then_its_record_and_claim():
    """An approve's claim key is its proposal's incident's, known only from the intent."""
    w, proposal_id = proposed()
    send(w, "approve", "reads-2", params={"proposal_id": proposal_id})
    again, reads = counted_resend(w, "approve", "reads-2", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate"), again.reason
    assert reads == ["get_many", "get_many"]


def test_an_action_record_someone_else_wrote_at_an_approves_claim_key_is_not_taken_for_its_write():
    """An approve's gate claim is its proposal's incident's: an alert's attempt may have written and
    recorded the same action there, the approve's own gate answering a duplicate (its intent left
    open). A later attempt at the approve must not answer that it "already made its change"."""
    from datetime import timedelta as td

    from shared.remediation.records import IntentRecord, IntentState, ProposalRecord

    w, proposal_id = proposed()
    proposal = ProposalRecord.model_validate(w.state.get_record(PROPOSALS, proposal_id))
    now = w.clock.now()
    w.state.claim(CLAIMS, proposal.key, "alert-msg:1", td(minutes=15), now)
    w.state.complete(CLAIMS, proposal.key, "alert-msg:1", td(days=1), now, {"status": "applied"})
    w.state.put_record(ACTIONS, proposal.key, {
        "key": proposal.key, "incident_id": proposal.incident_id, "target": proposal.target,
        "service": proposal.service, "action": proposal.action, "signature": proposal.signature,
        "reversible": False, "applied_at": now, "settle_at": now, "deadline_at": now, "after": {"x": 1}})
    intent = IntentRecord(incident_id=proposal.incident_id, message_id="command:appr-9", owner="command:appr-9:m.1",
                          claim_key=proposal.key, action=proposal.action, target=proposal.target,
                          service=proposal.service, params=proposal.params, before=proposal.before, noted_at=now,
                          command_id="appr-9", requested_by=OPERATOR, proposal_id=proposal_id,
                          state=IntentState.OPEN)
    w.state.put_record(INTENTS, intent.key, intent.model_dump(mode="python"))

    outcome = send(w, "approve", "appr-9", params={"proposal_id": proposal_id})
    assert "already made its change" not in outcome.reason, outcome.reason
    assert outcome.status is OutcomeStatus.SKIPPED and outcome.reason.startswith("duplicate: scale_connector"), \
        outcome.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def another_record_of(w, key: str) -> dict:
    """Another incident's action record of the very change intent `key` planned (intents.owned_elsewhere);
    the intent, as read."""
    intent = w.state.get_record(INTENTS, key)
    now = w.clock.now()
    w.state.put_record(ACTIONS, "other-incident|key", {
        "key": "other-incident|key", "incident_id": "other-incident", "target": intent["target"],
        "service": intent["service"], "action": intent["action"], "signature": intent["signature"],
        "params": intent["params"], "reversible": False, "applied_at": now, "settle_at": now, "deadline_at": now,
        "after": intent["after"]})
    return intent


def test_an_approve_whose_change_another_record_owns_leaves_its_proposal_in_doubt():
    """The resend finds the planned change in place, but another action record made the very same
    change (intents.owned_elsewhere): it is escalated, not recorded as this approve's write, so the
    proposal is not ended `applied` either: nothing shows that this approve applied it. It stays
    `in_doubt`, as its first attempt's answer (escalated, "could not be recorded") left it."""
    w, proposal_id = proposed()
    unrecorded_approve(w, proposal_id, "appr-5")
    intent = another_record_of(w, command_intent_key("appr-5"))

    again = send(w, "approve", "appr-5", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.ESCALATED and "not known to be this plan's write" in again.reason, \
        again.reason
    assert w.state.get_record(ACTIONS, intent["claim_key"]) is None
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "in_doubt"
    assert w.standins.vpcaccess.count("PatchConnector") == 1


def test_a_resend_after_its_record_and_intent_are_gone_is_a_duplicate_of_the_kept_action_record():
    """The command's record was lost (its completion failed) and, 7 days on, Firestore's TTL deleted its
    intent (records.INTENT_RETENTION); the action record is kept 30 days, at a key that follows from the
    command alone, and the resend's one batch reads it: a duplicate of it, not a second write."""
    w = world()
    w.adapters.state.fail_next("write", 1, method="complete")   # the command's completion, after the gate's commit
    first = rollback(w, "old-1")
    assert first.status is OutcomeStatus.APPLIED and "could not be completed" in " ".join(first.notes)
    w.state.documents.pop((INTENTS, command_intent_key("old-1")))     # Firestore's TTL deleted the intent
    w.state.records.pop((COMMANDS, "old-1"), None)                    # and the lapsed claim of the command
    deploy_newer(w, 10)
    w.at(8 * 24 * 60)

    again = rollback(w, "old-1")
    assert again.status is OutcomeStatus.SKIPPED and "already made its change" in again.reason, again.reason
    assert updates(w) == 1


def test_a_cooldown_an_earlier_attempt_at_the_same_command_took_never_disowns_its_write():
    """An attempt at the command took the target's cooldown and died before writing; a later attempt at
    the same command (with override_limits: the cooldown held is skipped) wrote and could not record.
    The cooldown is the same command's, not another owner's: the resend records the write."""
    from shared.remediation.guardrails import COOLDOWNS

    w = world()
    w.state.claim(COOLDOWNS, SERVICE, "command:ovr-1:m-0.deadbeef0000", timedelta(minutes=35),
                  w.clock.now() - timedelta(minutes=1))
    w.adapters.state.fail_next("write", 1, method="record_all")
    first = rollback_with(w, "ovr-1", override_limits=True)
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    w.at(2 + 20)

    again = rollback_with(w, "ovr-1", override_limits=True)
    assert again.status is OutcomeStatus.ESCALATED and "applied by an earlier attempt" in again.reason, again.reason
    assert w.state.get_record(ACTIONS, gate_key("ovr-1"))["command_id"] == "ovr-1" and updates(w) == 1


def test_an_approve_whose_write_is_in_doubt_leaves_its_proposal_in_doubt_and_status_says_so():
    """The approved patch lands and its answer is lost (504: it may have been applied): the approve is
    escalated and its write recorded for the sweep. The proposal said `approved` until it expired, as if
    the write were still under way, and `status` listed nothing about it. Now it is `in_doubt`, with the
    gate's reason; status lists it; another approve is told why it cannot approve it; the sweep's
    judgement still ends it."""
    import grpc

    from shared.remediation.records import ActionState

    w, proposal_id = proposed()
    w.standins.vpcaccess.faults.lose_response(1, grpc.StatusCode.DEADLINE_EXCEEDED, method="PatchConnector")
    first = send(w, "approve", "doubt-1", params={"proposal_id": proposal_id})
    assert first.status is OutcomeStatus.ESCALATED, first.reason
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "in_doubt" and proposal["note"] == first.reason, proposal

    status = send(w, "status", "doubt-status")
    [listed] = status.snapshot["proposals_in_doubt"]
    assert listed["proposal_id"] == proposal_id and listed["decided_by"] == OPERATOR, listed
    other = send(w, "approve", "doubt-2", params={"proposal_id": proposal_id})
    assert other.status is OutcomeStatus.REJECTED and "in doubt" in other.reason, other.reason
    resent = send(w, "approve", "doubt-1", params={"proposal_id": proposal_id})
    assert resent.status is OutcomeStatus.ESCALATED and resent.reason.startswith("duplicate"), resent.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "in_doubt"
    assert w.standins.vpcaccess.count("PatchConnector") == 1

    w.at(2 + 18)        # past the deadline: the sweep judges the write and ends the proposal with it
    w.command({"command": "sweep"}, message_id="s-doubt")
    [record] = w.state.find_records(ACTIONS, "incident_id", w.state.get_record(PROPOSALS, proposal_id)["incident_id"])
    assert record["state"] != ActionState.PENDING.value
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == record["state"]


def test_a_command_id_reused_for_another_body_after_its_record_is_lost_is_rejected_not_run():
    """The command's own record is lost (its completion failed, its lease lapsed): a different command
    sent under the same command_id (another revision) finds the first one's intent and action record,
    whose digest differs. It is rejected as a reused id, as the live path rejects it, not run."""
    w = world()
    w.adapters.state.fail_next("write", 1, method="complete")   # the command's completion, after the gate's commit
    first = rollback(w, "reused-1")
    assert first.status is OutcomeStatus.APPLIED and "could not be completed" in " ".join(first.notes)
    deploy_newer(w, 10)
    w.at(2 + 20)                       # the command's claim lease has lapsed

    other = send(w, "rollback_traffic", "reused-1", target=SERVICE, params={"revision": NEW})
    assert other.status is OutcomeStatus.REJECTED and "already used" in other.reason, other.reason
    assert "different command" in other.reason and "nothing written" in other.reason
    assert updates(w) == 1
    # The same body again is still a duplicate of the first write.
    again = rollback(w, "reused-1")
    assert again.status is OutcomeStatus.SKIPPED and "already made its change" in again.reason, again.reason


def test_a_command_id_reused_after_its_record_and_intent_are_gone_is_rejected_on_the_kept_action_record():
    w = world()
    w.adapters.state.fail_next("write", 1, method="complete")
    first = rollback(w, "reused-2")
    assert first.status is OutcomeStatus.APPLIED
    w.state.documents.pop((INTENTS, command_intent_key("reused-2")))
    w.state.records.pop((COMMANDS, "reused-2"), None)
    deploy_newer(w, 10)
    w.at(8 * 24 * 60)

    body = {"command": "rollback_traffic", "command_id": "reused-2", "requested_by": "bob@example.com",
            "reason": "r", "target": SERVICE, "params": {"revision": OLD}}
    [other] = w.command(body, message_id=f"m-{next(_messages)}")
    assert other.status is OutcomeStatus.REJECTED and "different command" in other.reason, other.reason
    assert updates(w) == 1


def test_an_approve_id_reused_for_another_proposal_is_rejected_on_an_intent_stored_without_a_digest():
    """An approve's intent stored by an earlier version carries no digest (its gate's Manual was built without
    one): read as any command's under the id, it let an approve of another proposal under that id, once the
    first approve's record was lost, be answered from the first one's write. The proposal the intent names
    tells them apart; the same approve again is still recovered from it."""
    w, proposal_id = proposed()
    w.adapters.state.fail_next("write", 2, method="record_all")   # the gate's commit, then the command's own
    first = send(w, "approve", "appr-old", params={"proposal_id": proposal_id})
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    w.state.update_record(INTENTS, command_intent_key("appr-old"), {"command_digest": ""})   # as stored before
    w.at(2 + 20)                       # the first attempt's claim on the command id has lapsed

    other = send(w, "approve", "appr-old", params={"proposal_id": "p-0123456789ab"})
    assert other.status is OutcomeStatus.REJECTED and "different command" in other.reason, other.reason
    again = send(w, "approve", "appr-old", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.ESCALATED and "applied by an earlier attempt" in again.reason, again.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 1


class RejectedMeanwhile:
    """The world's store, where another command decides the proposal (rejects it, by default) just before
    the commit that would write this command's decision."""

    def __init__(self, inner: Any, proposal_id: str, state: str = "rejected", command_id: str = "rej-1") -> None:
        self.inner, self.proposal_id, self.decided = inner, proposal_id, {"state": state, "command_id": command_id}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def record_all(self, writes: Any, completing: Any = None) -> bool:
        if any(w.kind == PROPOSALS for w in writes):
            self.inner.update_record(PROPOSALS, self.proposal_id, self.decided)
        return self.inner.record_all(writes, completing)


def test_a_refusal_written_with_the_answer_says_so_when_another_command_decided_the_proposal_meanwhile():
    """The approve's refusal (the world changed) is written by the commit that completes its record and
    keeps its answer (answers.complete); a reject that lands between its read and that commit keeps its
    decision, and the approve's answer, recorded all the same, says its refusal is not recorded."""
    import dataclasses

    w, proposal_id = proposed()
    w.adapters.vpcaccess.update_connector(CONNECTOR, min_instances=2, max_instances=6)   # someone ran gcloud
    w.adapters = dataclasses.replace(w.adapters, state=RejectedMeanwhile(w.adapters.state, proposal_id))
    refused = send(w, "approve", "appr-5", params={"proposal_id": proposal_id})
    assert refused.status is OutcomeStatus.SKIPPED and "world changed" in refused.reason, refused.reason
    assert any("decided by another command meanwhile" in n for n in refused.notes), refused.notes
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "rejected" and proposal["command_id"] == "rej-1", proposal
    assert w.state.get(COMMANDS, "appr-5").result["notes"] == refused.notes


# --- a reject's and an approve's decision, written with the answer ------------------------------------


def test_a_reject_another_command_overtook_closes_nothing_and_says_so():
    """The reject's decision is written by the commit that completes its record and keeps its answer
    (answers.complete). An approve that lands between the reject's read and that commit keeps its
    decision; the reject is answered `skipped`, closing nothing, not `applied` ("closed"), and that
    is the answer its record keeps."""
    import dataclasses

    w, proposal_id = proposed()
    w.adapters = dataclasses.replace(w.adapters, state=RejectedMeanwhile(w.adapters.state, proposal_id,
                                                                         "approved", "appr-9"))
    answer = send(w, "reject", "rej-2", params={"proposal_id": proposal_id})
    assert answer.status is OutcomeStatus.SKIPPED and "decided by someone else meanwhile" in answer.reason, answer
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "approved" and proposal["command_id"] == "appr-9", proposal
    assert w.state.get(COMMANDS, "rej-2").result["outcome_id"] == answer.outcome_id


def lost_publish(w: FastWorld, name: str, command_id: str, **fields: Any) -> None:
    """The command is handled, and its answer's publish fails: the handler raises (Pub/Sub would send it
    again) and nothing is published."""
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        send(w, name, command_id, **fields)


def test_a_rejects_resend_after_its_answer_was_lost_publishes_that_very_answer():
    """The rejection and the answer are one commit; the publish failed. The resend (same command_id)
    publishes the answer kept with the record, the same outcome_id, rather than deciding again or
    answering a duplicate of an answer no one received."""
    w, proposal_id = proposed()
    lost_publish(w, "reject", "rej-3", params={"proposal_id": proposal_id})
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "rejected"
    kept = w.state.get(COMMANDS, "rej-3").result

    again = send(w, "reject", "rej-3", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.APPLIED and "without applying it" in again.reason, again.reason
    assert again.outcome_id == kept["outcome_id"]
    assert [o["outcome_id"] for o in w.published() if o.get("command_id") == "rej-3"] == [kept["outcome_id"]]


def approve_superseded(w: FastWorld, proposal_id: str, command_id: str):
    """An approve whose gate finds the connector changed under the decision (a person's change landing at
    the gate's claim, after the approve's own check): escalated, nothing written, `superseded`."""
    w.adapters.state.after_next_claim(
        lambda: w.adapters.vpcaccess.update_connector(CONNECTOR, min_instances=2, max_instances=6))
    return send(w, "approve", command_id, params={"proposal_id": proposal_id})


def test_a_superseded_approves_resend_after_its_answer_was_lost_publishes_that_very_answer():
    """The proposal's close (`superseded`) and the answer are one commit; the publish failed. The resend
    publishes the answer kept, the same outcome_id; nothing is written."""
    w, proposal_id = proposed()
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        approve_superseded(w, proposal_id, "appr-10")
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "superseded"
    kept = w.state.get(COMMANDS, "appr-10").result

    again = send(w, "approve", "appr-10", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == kept["outcome_id"], again.reason
    assert any("closed as superseded" in n for n in again.notes), again.notes
    # The connector's policy lacks allow_one_way: the scale it advises is an operator's command.
    assert any(f"scale_connector --target {CONNECTOR} --param ... --reason '...' sent by a principal in operators, "
               "as its requested_by" in n for n in again.notes), again.notes
    assert w.standins.vpcaccess.count("PatchConnector") == 1     # the person's change alone


def test_a_superseded_approve_whose_commit_failed_leaves_its_proposal_approved_and_nothing_acts():
    """The commit that would close the proposal `superseded` with the answer fails outright: the answer
    is published saying its record is missing, and the proposal stays `approved` by this command, the
    gate's claim and intent given back and voided as before. The resend, once the command's claim
    lapses, carries the approval on and re-checks: the connector changed, so it refuses, and writes
    nothing."""
    w, proposal_id = proposed()
    w.adapters.state.fail_next("write", 1, method="complete")   # the command's commit, with its decision
    first = approve_superseded(w, proposal_id, "appr-11")
    assert first.status is OutcomeStatus.ESCALATED and "could not be completed" in " ".join(first.notes), first
    proposal = w.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "approved" and proposal["command_id"] == "appr-11", proposal
    assert w.state.get_record(INTENTS, command_intent_key("appr-11"))["state"] == "void"
    w.at(2 + 20)                       # the command's claim lease (10 min + 5 min skew) has lapsed

    again = send(w, "approve", "appr-11", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.SKIPPED and "world changed" in again.reason, again.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "refused"
    assert w.standins.vpcaccess.count("PatchConnector") == 1     # the person's change alone


def test_a_reject_whose_commit_failed_is_not_answered_closed_and_is_decided_by_its_redelivery():
    """The commit that would close the proposal with the reject's answer fails outright: answered
    "closed" (with a note that its record is missing), the proposal would still be open, and an
    approve could apply what the person rejected. So the handler raises instead, answering nothing;
    once the command's claim lapses, its redelivery rejects the proposal and answers that."""
    w, proposal_id = proposed()
    w.adapters.state.fail_next("write", 1, method="complete")   # the command's commit, with its decision
    with pytest.raises(TransientError):
        send(w, "reject", "rej-4", params={"proposal_id": proposal_id})
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "open"
    assert not [o for o in w.published() if o.get("command_id") == "rej-4"]
    w.at(2 + 20)                       # the command's claim lease (10 min + 5 min skew) has lapsed

    again = send(w, "reject", "rej-4", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.APPLIED and "without applying it" in again.reason, again.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "rejected"


def test_a_restore_whose_pin_release_failed_is_answered_not_raised():
    """restore_traffic wrote (the gate's corrective write), then recording the pin's release failed. It
    raised, after the write: a command never delivered again was never answered, and a resend found the
    gate's claim completed (a duplicate) and recorded nothing more either. Now it is answered `applied`,
    kept with its record, saying the pin's release is not recorded."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    # The restore's note on the pin (tolerated: the restore goes on), the settling of its own note (best
    # effort), then the pin's release.
    w.adapters.state.fail_next("write", 3, method="update_record")
    restored = send(w, "restore_traffic", "rest-1", target=SERVICE, params={"to_latest": True})
    assert restored.status is OutcomeStatus.APPLIED, restored.reason
    assert any("pin's release could not be recorded" in n for n in restored.notes), restored.notes
    assert w.state.get(COMMANDS, "rest-1").result["outcome_id"] == restored.outcome_id
    assert updates(w) == 2


def test_a_restores_note_on_the_pin_is_kept_while_it_may_have_written_and_taken_back_when_nothing_was():
    """A restore notes itself on the pin before its write (the command, its sender, the split), so the
    sweep can tell its write from a person's if its record fails. Held back by a pause, nothing was
    written: the note is taken back, or a person later sending the same split would be taken for it."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    assert send(w, "pause", "p-1", target=SERVICE).status is OutcomeStatus.APPLIED
    held = send(w, "restore_traffic", "rest-1", target=SERVICE, params={"to_latest": True})
    assert held.status is OutcomeStatus.SKIPPED, held.reason
    assert w.state.get_record(PINS, SERVICE).get("restoring") is None
    assert send(w, "resume", "r-1", target=SERVICE).status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("write", 1, method="record_all")      # the restore's commit
    restored = send(w, "restore_traffic", "rest-2", target=SERVICE, params={"to_latest": True})
    assert restored.status is OutcomeStatus.ESCALATED, restored.reason
    pin = w.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is True and pin["restoring"]["command_id"] == "rest-2", pin
    assert pin["restoring"]["traffic"] == [{"type": "LATEST", "revision": None, "percent": 100, "tag": ""}], pin


@pytest.mark.parametrize("case", ["override by a non-operator", "shadow mode"])
def test_a_restore_that_can_write_nothing_leaves_no_note_on_the_pin(case):
    """Refused before the gate (an override from someone not in `operators`) or run as a dry run by
    the config (the action's shadow mode): no write can follow, so no note is stored. Left behind, a
    person's later change to exactly that split would be taken by the sweep for this restore."""
    shadow = {"actions": {"restore_traffic": {"mode": "dry_run"}}} if case == "shadow mode" else {}
    w = world(**shadow)
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    fields = ({"requested_by": "mallory@example.com", "override_limits": True} if case != "shadow mode" else {})
    outcome = send(w, "restore_traffic", "rest-1", target=SERVICE, params={"to_latest": True}, **fields)
    assert outcome.status in (OutcomeStatus.REJECTED, OutcomeStatus.DRY_RUN), outcome.reason
    assert w.state.get_record(PINS, SERVICE).get("restoring") is None
    assert updates(w) == 1


def test_a_pauses_resend_after_its_flag_landed_unanswered_does_not_say_it_already_was():
    """The pause's flag is written before the command's answer is kept (the brake first, docs/behaviour.md);
    its write landed with its answer lost, so the handler raised. The resend writes it again and answered
    "(it already was)", as if someone else had paused it. Now it says the flag is this command's own."""
    w = world()
    w.adapters.state.fail_next("write", 1, lost=True, method="put_record")
    with pytest.raises(TransientError):
        send(w, "pause", "pause-1", target=SERVICE)
    again = send(w, "pause", "pause-1", target=SERVICE)
    assert again.status is OutcomeStatus.APPLIED and "already was" not in again.reason, again.reason
    assert "earlier attempt at this command" in again.reason


# --- a resend after the command's expires_at -----------------------------------------------------------


def test_a_resend_after_expires_at_of_a_command_that_ran_quotes_its_first_answer_not_nothing_done():
    """`expires_at` holds back a command that arrives late, never one that already ran: the same message
    sent again after its expiry (a resend to hear a lost answer, as docs/commands.md says to do) is the
    duplicate of what the first delivery did, not `rejected ... nothing done` beside a write it made."""
    w = world()
    expires = (w.clock.now() + timedelta(minutes=10)).isoformat()
    first = rollback_with(w, "exp-1", expires_at=expires)
    assert first.status is OutcomeStatus.APPLIED, first.reason
    w.at(2 + 30)                       # past expires_at
    again = rollback_with(w, "exp-1", expires_at=expires)
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate: command exp-1"), again.reason
    assert "applied" in again.reason and "nothing done" not in again.reason and updates(w) == 1


def test_a_redelivery_after_expires_at_of_a_command_whose_answer_was_lost_publishes_that_answer():
    """The rollback wrote and its answer's publish failed; Pub/Sub delivers the message again after its
    expires_at. That delivery publishes the answer kept (`applied`, the same outcome_id), never a second
    answer saying the command expired and nothing was done."""
    w = world()
    expires = (w.clock.now() + timedelta(minutes=10)).isoformat()
    lost_publish(w, "rollback_traffic", "exp-2", target=SERVICE, params={"revision": OLD}, expires_at=expires)
    kept = w.state.get(COMMANDS, "exp-2").result
    w.at(2 + 30)
    again = rollback_with(w, "exp-2", expires_at=expires)
    assert again.status is OutcomeStatus.APPLIED and again.outcome_id == kept["outcome_id"], again.reason
    assert [o["status"] for o in w.published() if o.get("command_id") == "exp-2"] == ["applied"]
    assert updates(w) == 1


def test_an_expired_command_is_still_rejected_and_its_resend_repeats_that():
    w = world()
    expires = (w.clock.now() - timedelta(minutes=1)).isoformat()
    first = rollback_with(w, "exp-3", expires_at=expires)
    assert first.status is OutcomeStatus.REJECTED and first.reason.startswith("expires_at:"), first.reason
    again = rollback_with(w, "exp-3", expires_at=expires)
    assert again.status in (OutcomeStatus.REJECTED, OutcomeStatus.SKIPPED) and "expire" in again.reason, again.reason
    assert updates(w) == 0


def test_a_restore_by_action_id_of_a_split_already_serving_writes_nothing():
    """The sweep undid the rollback (or a person put the split back) before the operator's restore
    of it arrived: the service already serves the split recorded before the rollback. Before, the
    restore wrote it again (a second UpdateService of the same undo); now it is `skipped`, as
    `to_latest` is when nothing is pinned, and nothing is written."""
    w = world()
    rolled = rollback(w, "pin-1")
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    first = send(w, "restore_traffic", "rest-1", target=SERVICE, params={"action_id": rolled.action.action_id})
    assert first.status is OutcomeStatus.APPLIED and updates(w) == 2, first.reason

    again = send(w, "restore_traffic", "rest-2", target=SERVICE, params={"action_id": rolled.action.action_id})

    # Undone by the first restore, which is named (who, its command): not a bare "nothing to do".
    said = (f"{rolled.action.action_id} was already undone", "command rest-1", "still serves the split recorded before",
            "nothing written")
    assert again.status is OutcomeStatus.SKIPPED and [s for s in said if s not in again.reason] == [], again.reason
    assert updates(w) == 2


def test_a_restore_of_a_split_desired_but_not_yet_serving_is_written_not_refused(monkeypatch):
    """A person sent the split recorded before the rollback back with gcloud, and Cloud Run is still
    reconciling it (Service.traffic is the desired split, traffic_statuses what serves: still the
    rollback's revision) when the operator's restore arrives. The restore action verifies what serves,
    so the refusal reads what serves too: nothing serves that split yet, so the restore is written (the
    same split again, an absolute write) and verified, not `skipped` as "already serves"."""
    from sandbox.standins import run as run_standin

    w = world()
    rolled = rollback(w, "pin-2")
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    recorded = [TrafficSeed(t["percent"], t.get("revision"), t.get("tag") or "")
                for t in rolled.action.before["traffic"]]
    reconcile = run_standin.RunStandIn._reconcile
    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", lambda self, name: None)   # accepted, still reconciling
    w.standins.run.set_traffic(SERVICE, recorded)
    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", reconcile)
    service = w.standins.run.service(SERVICE)
    assert service.reconciling and [s.revision for s in service.traffic_statuses if s.percent] == [OLD]

    restored = send(w, "restore_traffic", "rest-3", target=SERVICE, params={"action_id": rolled.action.action_id})

    assert restored.status is OutcomeStatus.APPLIED and updates(w) == 2, restored.reason


def test_a_rollback_to_the_revision_serving_while_the_service_is_moving_off_it_is_written(monkeypatch):
    """OLD serves 100% (traffic_statuses), but a person's gcloud has just sent the service to NEW and
    Cloud Run is still reconciling it (Service.traffic, the desired split: NEW 100%). The operator's
    rollback to OLD was answered `skipped`, "OLD already serves 100%: nothing to do", from what serves
    alone, and a moment later NEW served everything. The desired split must be OLD's too for "nothing
    to do": here the pin is written, and the service stays on OLD."""
    from sandbox.standins import run as run_standin

    w = world()
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD)])          # a person's pin, reconciled
    reconcile = run_standin.RunStandIn._reconcile
    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", lambda self, name: None)
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])          # then sent to NEW, still reconciling
    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", reconcile)
    service = w.standins.run.service(SERVICE)
    assert [s.revision for s in service.traffic_statuses if s.percent] == [OLD]
    assert [t.revision for t in service.traffic if t.percent] == [NEW]

    pinned = rollback(w, "rb-moving")

    assert pinned.status is OutcomeStatus.APPLIED and updates(w) == 1, pinned.reason
    service = w.standins.run.service(SERVICE)
    assert [t.revision for t in service.traffic if t.percent] == [OLD]
    # Once the desired split is OLD's too, the same rollback again is nothing to do.
    again = rollback(w, "rb-again")
    assert again.status is OutcomeStatus.SKIPPED and "already serves 100%" in again.reason and updates(w) == 1, \
        again.reason


def test_a_rollback_to_the_majority_of_a_split_records_the_revision_it_takes_out():
    """OLD 60%, NEW 40% (a canary going wrong): the rollback to OLD takes NEW out of service. It was
    recorded `from_revision` OLD, the revision serving most, which is the one traffic goes to, and its
    outcome never said NEW no longer serves."""
    w = world()
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(60, OLD), TrafficSeed(40, NEW)])

    rolled = rollback(w, "rb-canary")

    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    assert rolled.action.params["from_revision"] == NEW and rolled.action.params["to_revision"] == OLD
    assert f"Traffic moved: {NEW} no longer serves; {OLD} serves 100%." in rolled.notes, rolled.notes
    [record] = w.state.find_records(ACTIONS, "service", SERVICE)
    assert record["params"]["from_revision"] == NEW


def held_restore_claim(w: FastWorld, command_id: str) -> None:
    """The gate's claim of `command_id`'s restore, left held by an earlier attempt at it (its give-back
    failed): the next attempt's gate raises AttemptInProgress until the claim's lease lapses."""
    from shared.commands.context import command_owner
    key = claim_key(command_incident(command_id), SERVICE, "restore_traffic")
    w.state.claim(CLAIMS, key, command_owner(command_id, "m-earlier"), timedelta(minutes=10), w.clock.now())


def test_a_restore_whose_gate_met_an_earlier_attempts_claim_takes_back_the_note_it_stored():
    """The earlier attempt wrote nothing and took its note back; its claim is still held. This attempt
    noted itself on the pin, then the gate raised AttemptInProgress: it cannot write, so its note was
    kept, and the command dead-lettered left it for good; a person later sending exactly that split
    was taken by the sweep for this restore. Now a note this attempt stored is taken back."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    held_restore_claim(w, "rest-1")
    with pytest.raises(TransientError):
        send(w, "restore_traffic", "rest-1", target=SERVICE, params={"to_latest": True})
    assert w.state.get_record(PINS, SERVICE).get("restoring") is None
    assert updates(w) == 1


def test_a_restore_whose_gate_met_an_earlier_attempts_claim_keeps_that_attempts_note():
    """The earlier attempt's note is there (its write may have taken and its record failed): this
    attempt neither replaces it (its unmark, guarded on its own note, would then miss it) nor takes
    it back."""
    from shared.remediation.records import RestoreMark
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    earlier = RestoreMark(command_id="rest-1", requested_by=OPERATOR, at=w.clock.now() - timedelta(seconds=30),
                          traffic=[{"type": "LATEST", "revision": None, "percent": 100, "tag": ""}]).stored()
    assert w.state.update_record(PINS, SERVICE, {"restoring": earlier})
    held_restore_claim(w, "rest-1")
    with pytest.raises(TransientError):
        send(w, "restore_traffic", "rest-1", target=SERVICE, params={"to_latest": True})
    assert w.state.get_record(PINS, SERVICE)["restoring"] == earlier


def restore(w: FastWorld, command_id: str):
    return send(w, "restore_traffic", command_id, target=SERVICE, params={"to_latest": True})


def test_a_restore_whose_first_attempt_may_have_written_is_never_written_again_whatever_the_service_shows():
    """The restore wrote; the commit recording it and the command's own record both failed, so its gate
    claim and the command's claim stay held, unfinished. A restore keeps no intent, and the service, pinned
    again by a rollback meanwhile, looks as if it had never been restored: the resend past the lease must
    answer from the gate claim the first attempt left, not restore a second time."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("write", 1, method="record_all")   # the restore's commit
    w.adapters.state.fail_next("write", 1, method="complete")     # the command's own record
    first = restore(w, "rest-9")
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    with pytest.raises(CommandInProgress):
        restore(w, "rest-9")                        # the first attempt's claim still holds it off
    assert rollback(w, "pin-2").status is OutcomeStatus.APPLIED   # pinned again since
    written = updates(w)
    w.at(2 + 20)                                    # every claim's lease (10 min + 5 min skew) has lapsed

    again = restore(w, "rest-9")
    assert again.status is OutcomeStatus.ESCALATED and "never finished it" in again.reason, again.reason
    assert "nothing written again" in again.reason and updates(w) == written
    later = restore(w, "rest-9")                    # the escalation is the command's first answer now
    assert later.status is OutcomeStatus.ESCALATED and later.reason.startswith("duplicate: command rest-9")
    assert updates(w) == written


def test_a_restore_whose_write_failed_before_it_took_is_retried_and_written_once():
    """A transient fault of the write itself gives everything back (the gate's claim too): the redelivery is
    no resend of a write that may have taken, and restores, once."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    w.standins.run.faults.fail_next(10, grpc.StatusCode.UNAVAILABLE, method="UpdateService")
    with pytest.raises(TransientError):
        restore(w, "rest-8")
    assert w.state.get(CLAIMS, claim_key(command_incident("rest-8"), SERVICE, "restore_traffic")) is None
    w.standins.run.faults.clear()

    again = restore(w, "rest-8")
    assert again.status is OutcomeStatus.APPLIED, again.reason
    assert w.state.get_record(PINS, SERVICE)["pinned"] is False


def restore_key(command_id: str) -> str:
    return claim_key(command_incident(command_id), SERVICE, "restore_traffic")


@pytest.mark.parametrize("note_settled", [True, False], ids=["note-written", "note-left-sending"])
def test_a_restore_resent_after_the_ttl_deleted_every_claim_of_its_unrecorded_write_writes_nothing_again(note_settled):
    """The restore wrote, then the gate's commit recording it failed (its claim left unfinished) and so did
    the command's own record (its claim left unfinished too). Both are claims, and Firestore's TTL deletes a
    lapsed claim some time after its lease: a send of the same command_id after that found nothing and ran
    as a new command, over the rollback made since: two writes under one command_id. The restore's note,
    kept as long as a command's record (records.RestoreNote), holds it back: `escalated`, nothing written,
    whether the note was settled with the gate's answer or left `sending` (its update failed too, or the
    attempt died: its write may have taken)."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("write", 1, method="record_all")    # the gate's commit after the restore's write
    w.adapters.state.fail_next("write", 1, method="complete")      # the command's own record
    if not note_settled:
        # The note on the pin (tolerated), then the settling of the restore's own note.
        w.adapters.state.fail_next("write", 2, method="update_record")
    first = send(w, "restore_traffic", "rest-9", target=SERVICE, params={"to_latest": True})
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    assert updates(w) == 2
    w.at(2 + 60 * 24)                                                # a day on: both leases long lapsed
    w.state.records.pop((CLAIMS, restore_key("rest-9")))          # Firestore's TTL deleted both claims
    w.state.records.pop((COMMANDS, "rest-9"))
    deploy_newer(w, 60 * 24)
    assert rollback(w, "pin-2").status is OutcomeStatus.APPLIED       # the service pinned again since
    assert updates(w) == 3

    again = send(w, "restore_traffic", "rest-9", target=SERVICE, params={"to_latest": True})
    assert again.status is OutcomeStatus.ESCALATED, again.reason
    said = ("already made its change" if note_settled else "may have taken") + ", nothing written"
    assert said.split(",")[0] in again.reason and "nothing written" in again.reason, again.reason
    assert updates(w) == 3


def test_a_restore_resent_after_its_claims_are_gone_is_a_duplicate_when_its_note_says_it_was_written():
    """The gate recorded the restore (its claim completed, kept `claim_retention_seconds`) and only the
    command's record failed: past both claims' life, the note kept with the gate's answer makes the resend a
    duplicate of it. A restore that wrote nothing (held back by a pause) leaves its note `void`: the command
    runs on its resend."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("write", 1, method="complete")
    first = send(w, "restore_traffic", "rest-8", target=SERVICE, params={"to_latest": True})
    assert first.status is OutcomeStatus.APPLIED, first.reason
    w.at(2 + 60 * 24)
    w.state.records.pop((CLAIMS, restore_key("rest-8")), None)
    w.state.records.pop((COMMANDS, "rest-8"))
    deploy_newer(w, 60 * 24)
    assert rollback(w, "pin-2").status is OutcomeStatus.APPLIED
    again = send(w, "restore_traffic", "rest-8", target=SERVICE, params={"to_latest": True})
    assert again.status is OutcomeStatus.SKIPPED and "already made its change" in again.reason, again.reason
    assert updates(w) == 3

    assert send(w, "pause", "p-8", target=SERVICE).status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("write", 1, method="complete")
    held = send(w, "restore_traffic", "rest-7", target=SERVICE, params={"to_latest": True})
    assert held.status is OutcomeStatus.SKIPPED and updates(w) == 3, held.reason
    assert send(w, "resume", "r-8", target=SERVICE).status is OutcomeStatus.APPLIED
    w.at(2 + 60 * 24 + 30)
    w.state.records.pop((CLAIMS, restore_key("rest-7")), None)
    w.state.records.pop((COMMANDS, "rest-7"))
    ran = send(w, "restore_traffic", "rest-7", target=SERVICE, params={"to_latest": True})
    assert ran.status is OutcomeStatus.APPLIED and updates(w) == 4, ran.reason


def test_a_pause_names_a_to_latest_restore_under_way_of_a_service_with_no_pin():
    """A person pinned the service by hand (no pin of Runwarden's), and an operator's `to_latest` restore is
    being written when another operator's pause lands. The restore left its note only on a pin, so the
    pause answered as if nothing were under way; its note kept by the command now names it."""
    w = world()
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD)])
    paused = []
    transport = w.adapters.run._transport
    call = transport.call

    def pause_as_it_is_sent(method, request, answer, **kwargs):   # the pause lands as Cloud Run takes the write
        if method == "UpdateService" and not paused:
            paused.append(send(w, "pause", "p-9", target=SERVICE))
        return call(method, request, answer, **kwargs)

    transport.call = pause_as_it_is_sent
    restored = send(w, "restore_traffic", "rest-6", target=SERVICE, params={"to_latest": True})
    assert restored.status is OutcomeStatus.APPLIED, restored.reason
    [pause] = paused
    assert "1 write(s) may already be under way" in pause.reason and "command rest-6 by" in pause.reason, pause.reason


def test_a_restore_whose_notes_create_lost_its_answer_runs_on_its_redelivery():
    """The note's create landed and its answer was lost: the restore raised before the gate (nothing
    written) and Pub/Sub delivers it again. The note is taken back before raising, or the redelivery would
    find it `sending` with no gate claim and answer "its write may have taken" for a restore never sent."""
    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("write", 1, lost=True, method="create_record")
    body = {"command": "restore_traffic", "command_id": "rest-5", "requested_by": OPERATOR, "reason": "r",
            "target": SERVICE, "params": {"to_latest": True}}
    with pytest.raises(TransientError):
        w.command(body, message_id="m-rest-5")
    assert updates(w) == 1
    [again] = w.command(body, message_id="m-rest-5")
    assert again.status is OutcomeStatus.APPLIED and updates(w) == 2, again.reason


class _Killed(BaseException):
    """The instance stopped mid-attempt (no handler of Runwarden's runs: not an Exception)."""


@pytest.mark.parametrize("meanwhile", ["nothing", "a deploy"])
def test_a_restore_whose_attempt_died_between_its_note_and_the_gate_runs_on_its_resend_if_nothing_was_written(
        monkeypatch, meanwhile):
    """The attempt stored its note `sending` and died before the gate's claim: nothing was written, yet every
    resend was escalated, "its write may have taken". The note keeps the service's generation as read before
    it; Cloud Run raises it with every change of the desired state, so the resend that finds no gate claim
    and the same generation knows no write landed, voids the note and runs the restore, once. A generation
    moved since (a deploy, or the restore's own write) is escalated as before, nothing written."""
    from shared.remediation import guardrails
    from shared.remediation.records import RESTORES

    w = world()
    assert rollback(w, "pin-1").status is OutcomeStatus.APPLIED
    real = guardrails.Gate.execute

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise _Killed()

    monkeypatch.setattr(guardrails.Gate, "execute", killed)
    with pytest.raises(_Killed):
        send(w, "restore_traffic", "rest-d", target=SERVICE, params={"to_latest": True})
    monkeypatch.setattr(guardrails.Gate, "execute", real)
    key = claim_key(command_incident("rest-d"), SERVICE, "restore_traffic")
    assert w.state.get_record(RESTORES, key)["state"] == "sending" and w.state.get(CLAIMS, key) is None
    assert updates(w) == 1
    if meanwhile == "a deploy":
        deploy_newer(w, 20)
    w.at(30)                       # the dead attempt's lease on the command has lapsed

    again = send(w, "restore_traffic", "rest-d", target=SERVICE, params={"to_latest": True})
    if meanwhile == "nothing":
        assert again.status is OutcomeStatus.APPLIED, again.reason
        assert updates(w) == 2 and w.state.get_record(RESTORES, key)["state"] == "written"
        assert send(w, "restore_traffic", "rest-d", target=SERVICE, params={"to_latest": True}).status \
            is OutcomeStatus.SKIPPED and updates(w) == 2
    else:
        assert again.status is OutcomeStatus.ESCALATED and "may have taken" in again.reason, again.reason
        assert updates(w) == 1 and [(t.revision, t.percent) for t in w.standins.run.service(SERVICE).traffic] \
            == [(NEWER, 100)]      # the deploy stands: nothing of the restore's written
