"""Directed programs of the fast tier for the event kinds the generator draws since re-notifications,
a person's traffic changes, unreadable evidence and dry-run approvals (tests/property/programs.py):
each is the shortest program on which its invariant fails when the product behaviour it guards is
taken out (docs/testing.md, "Event kinds and the invariants they need"). In-process parts only: a
few milliseconds each.
"""
from __future__ import annotations

import pytest

from shared.remediation.records import ACTIONS, PINS
from tests.property.fast import fast_run
from tests.property.harness import (CONNECTOR, INCIDENTS, OPERATOR, SERVICE, Approve, ApproveRace, Close, Fault,
                                    Jump, Open, OperatorRestore, OperatorRollback, OperatorScale, PersonConnector,
                                    PersonTraffic, PublishFault, Reject, Renotify, StoreFault, Sweep, Unreadable,
                                    _Resend)
from tests.property.invariants import (_UNREADABLE, check_all, every_command_answered, every_write_known, explain,
                                       one_judgement_per_action, one_write_per_incident, proposal_written_once,
                                       undo_keeps_person_change)

ONE_WAY = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 10,
                                      "max_instances_step": 1}]}}


def _checked(run) -> None:
    problems = check_all(run)
    assert not problems, explain(run, problems)


@pytest.mark.parametrize("minutes", [20, 90])
def test_a_renotification_past_the_claims_retention_is_not_a_second_write(minutes: int) -> None:
    """The incident goes on (sustained to +90 min), the connector could be scaled again, and the
    completed claim (kept 600 s) has lapsed: only the incident's action record answers. Fails if
    the pipeline's `acted_before` finds nothing (scaled 3 -> 4, then 4 -> 5)."""
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **ONE_WAY,
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        run.execute([Open(0, 0), Renotify(0, minutes)])
        assert not one_write_per_incident(run), explain(run, one_write_per_incident(run))
        _checked(run)
        assert [o.status.value for o in run.trace[1].outcomes] == ["skipped"]


@pytest.mark.parametrize("after_reads", [0, 1, 2])
def test_a_persons_traffic_change_after_the_rollback_is_never_undone_over(after_reads: int) -> None:
    """A person splits the traffic by hand after the rollback: at once, or landing after the sweep's
    first or second read of the service (the second: between the undo's check and its
    write). The sweep never writes over it. Fails (after read 2) if the undo is not written on the
    etag it checked."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), PersonTraffic(1, after_reads), Sweep(16)])
        assert sum(o.person_writes for o in run.trace) == 1
        assert not undo_keeps_person_change(run), explain(run, undo_keeps_person_change(run))
        _checked(run)
        assert [o.status.value for o in run.trace[2].outcomes] == ["escalated"]


@pytest.mark.parametrize("after_reads", [1, 2])
def test_a_persons_change_back_to_the_recorded_split_is_not_written_over_by_the_first_undo(after_reads: int) -> None:
    """The split before the rollback was a person's (50/50); after it, the person puts that very split
    back, landing after the sweep's read of the evidence (so the rollback is judged failing) and before
    the undo's own read. The first undo then finds the recorded split already serving: no undo of
    Runwarden's has been sent, so it is the person's change, and it stands (escalated, nothing
    written; after read 2 the change lands between the undo's read and its write, and the etag is
    refused). Fails (after read 1) if the undo takes "serves as the undo would restore it" for its own earlier write
    on a first attempt (it wrote the split again, on the person's etag)."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        _split_before_the_incident(run, 1)
        run.execute([Open(0, 0), PersonTraffic(1, after_reads), Sweep(16)])
        assert sum(o.person_writes for o in run.trace) == 1
        assert not undo_keeps_person_change(run), explain(run, undo_keeps_person_change(run))
        _checked(run)
        assert [o.status.value for o in run.trace[2].outcomes] == ["escalated"]
        assert run.trace[2].final_generation == run.trace[2].person_generation   # the person's change is what serves


def _split_before_the_incident(run, split: int) -> None:
    """A person's split (PERSON_SPLITS_BACK[split]) made an hour before the incident, as the state the program
    starts in: its audit entry is older than the stand-down window, so the alert acts and records that split as
    the one before. (Made within the window, as a PersonTraffic step at the alert's minute is, it stands the alert
    down: the person is at work.)"""
    from datetime import timedelta

    from sandbox.standins.run import TrafficSeed
    from tests.property.harness import ANCHOR, PERSON_SPLITS_BACK, _person_revisions

    good, newest = PERSON_SPLITS_BACK[split]
    known_good, latest = _person_revisions(run.scenario)
    run.standins.run.set_traffic(SERVICE, [TrafficSeed(good, known_good), TrafficSeed(newest, latest)],
                                 by="alice@example.com", at=ANCHOR - timedelta(hours=1))


def test_evidence_unreadable_past_the_deadline_is_escalated_exactly_once_then_judged() -> None:
    """An hour of sweeps (every 10 min) that cannot read Monitoring: one escalation, not one a
    sweep; the sweep after the outage judges it and says it follows that escalation. Fails if the
    escalation is not guarded on `unread_escalated_at`."""
    with fast_run("bad_revision", "enforce", None, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), Unreadable(60), Sweep(10)])
        escalations = [o for o in run.trace[1].outcomes if _UNREADABLE in o.reason]
        assert len(escalations) == 1, explain(run, [o.reason for o in run.trace[1].outcomes])
        assert not one_judgement_per_action(run), explain(run, one_judgement_per_action(run))
        _checked(run)
        later = [o for o in run.trace[2].outcomes if o.action is not None]
        assert all("follows the escalation" in o.reason for o in later)


def test_dry_run_approves_under_new_command_ids_then_the_approve_write_once() -> None:
    """Two dry-run approves of one proposal under their own command ids, then the real approve and a
    second approve under another id: dry_run, dry_run, applied, rejected (already applied); one write.
    Fails if a dry-run approve is sent to the gate as a real one."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), Approve(0, 0, True), Approve(0, 1, True), Approve(0, 0), Approve(0, 1)])
        assert not proposal_written_once(run), explain(run, proposal_written_once(run))
        _checked(run)
        statuses = [o.status.value for obs in run.trace[1:5] for o in obs.outcomes]
        assert statuses[:3] == ["dry_run", "dry_run", "applied"], statuses
        assert run.standins.vpcaccess.count("PatchConnector") == 1


def test_an_approved_write_whose_record_and_answer_failed_is_heard_from_the_resend() -> None:
    """Found by the soak: the approve's write took, its record failed, its escalation's publish
    failed; a sweep past the lease failed to record it too (the second store fault). The resend's
    `duplicate` answer quotes the escalation ('could not be recorded'), so a person hears it and a
    later sweep records it from its intent: not a change nobody will verify (before_states_recorded
    counted only the first answer)."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        # (The approve's own record is completed by a record_all too since commands' answers are kept with it:
        # the second fault is set after the approve, for the sweep.)
        run.execute([Open(0, 0), StoreFault("write", 1, "DEADLINE_EXCEEDED", False, "record_all"), PublishFault(1),
                     Approve(0, 0), StoreFault("write", 1, "DEADLINE_EXCEEDED", False, "record_all"), Sweep(30)])
        _checked(run)
        [resent] = [obs for obs in run.trace if isinstance(obs.step, _Resend)]
        assert "could not be recorded" in resent.outcomes[0].reason, run.describe()
        # The ending's sweep past the failed sweep's claim (`Run.finish`) records it from its intent, and says so.
        assert "Recorded now" in run.trace[-1].outcomes[0].reason, run.describe()


# A command's answer whose publish failed, with nothing delivered again (found by `make soak`, batch seeds
# 3057685961, 3057686007, 3057686052, 3057686090: the refused approve); the same for any command that decides.
_LOST_ANSWERS = {
    "refused approve": ([Open(0, 0), Close(0, 0), PublishFault(1), Approve(0, 0)], "approve-0", "skipped",
                        "the world changed since the proposal", {}),
    "reject": ([Open(0, 0), PublishFault(1), Reject(0, 0)], "reject-0", "applied", "without applying it", {}),
    "operator scale": ([PublishFault(1), OperatorScale(0, 4)], "op-scale-0", "applied", "scale_connector", ONE_WAY),
}


@pytest.mark.parametrize("case", sorted(_LOST_ANSWERS))
def test_a_commands_answer_whose_publish_failed_is_published_by_the_sweep_when_nothing_is_sent_again(
        case: str) -> None:
    """The command is decided (and its record completed), its answer's publish fails, the handler raises
    for Pub/Sub to deliver it again, and it is dead-lettered. The answer was kept with the command's
    record: the sweep past the lease publishes it, as it was, once. Fails on the code before: the
    proposal showed `refused` (the connector scaled, the proposal closed) and no outcome ever said so."""
    program, command_id, status, words, policy = _LOST_ANSWERS[case]
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR], **policy,
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600,
                              "proposal_ttl_seconds": 300}) as run:
        for step in program:
            run.step(step)
        assert run.trace[-1].transient == 1 and not run.trace[-1].outcomes
        run.dead_letter()
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        answers = [o for o in run.returned_outcomes() if o.command_id == command_id]
        assert [o.status.value for o in answers] == [status], explain(run, [o.reason for o in answers])
        assert words in answers[0].reason
        later = run.step(Sweep(10))
        assert not [o for o in later.outcomes if o.command_id == command_id]


def test_a_resend_after_a_lost_answer_publishes_the_first_answer_and_the_sweep_nothing_more() -> None:
    """The refused approve's answer was lost (its publish failed); the resend publishes that very answer
    (the same outcome_id as the command's record names), not a duplicate of it, and the sweep after it
    publishes nothing more: one answer reaches a person, once."""
    from shared.remediation.records import COMMANDS

    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), Close(0, 0), PublishFault(1), Approve(0, 0)]:
            run.step(step)
        run.finish()           # the resend
        run.step(Sweep(70))    # past every hold
        _checked(run)
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        first = run.world.state.get(COMMANDS, "approve-0").result
        assert [o.outcome_id for o in answers] == [first["outcome_id"]], explain(run, [o.reason for o in answers])
        assert answers[0].status.value == "skipped" and "the world changed since the proposal" in answers[0].reason


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
def test_an_unrecorded_rollback_a_person_changed_since_is_recorded_closed_and_said_taken_over(ending: str) -> None:
    """Found by `make soak` (batch seed 3057685962): the rollback took, its record failed, its escalation's
    publish failed, and a person then split the traffic 90/10 by hand. The judge past the lease (the
    redelivery, or with none the sweep) found neither the state before nor the plan, escalated, and
    recorded nothing: Runwarden's own write was on no record. Now the service's generation (two updates
    since the plan's read: the rollback, then the person's) has it recorded, closed `escalated` (never
    verified or undone: the person's change wins) and reported as taken over; a later sweep leaves it
    be. Fails on the code before (no action record)."""
    from shared.remediation.records import ACTIONS, PINS

    with fast_run("bad_revision", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        program = [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0), PersonTraffic(0, 0)]
        for step in program:
            run.step(step)
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        later = run.step(Sweep(30))
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and "superseded" in record["note"], record
        assert run.world.state.get_record(PINS, record["service"]) is None
        reports = [o for o in run.returned_outcomes() if o.action is not None and "taken the target over" in o.reason]
        assert [o.status.value for o in reports] == ["escalated"], explain(run, [o.reason for o in reports])
        assert not [o for o in later.outcomes if o.action is not None and o.action.action_id == record["key"]]
        assert sum(o.run_writes for o in run.trace) == 1 and sum(o.person_writes for o in run.trace) == 1
        assert run.world.state.get_record(ACTIONS, record["key"])["after"]


def test_a_persons_traffic_change_within_an_approval_and_a_named_rollback_after_it() -> None:
    """A person's traffic change within an approval (at its gate claim; drawn by the approvals mix since
    it was added) leaves the approved connector change alone: applied once. An operator's rollback
    naming the one revision, after the person's 90/10 split between it and LATEST (the same revision),
    is written as asked: a pin the operator asked for, which splits_are_whole now accepts (found by the
    soak, seed 4242, as soon as the mix drew it; the product was right, the invariant too narrow)."""
    from tests.property.harness import OperatorRollback

    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0}) as run:
        run.execute([Open(0, 0), Approve(0, 0, False, "", 2), OperatorRollback(0, True)])
        _checked(run)
        assert [o.status.value for o in run.trace[1].outcomes] == ["applied"], run.describe()
        assert run.trace[1].person_writes == 1 and run.standins.vpcaccess.count("PatchConnector") == 1
        assert run.standins.run.count("UpdateService") == 1, run.describe()    # the pin, as the operator asked


def test_an_operators_connector_change_is_judged_on_the_services_behind_it_not_read_as_a_service() -> None:
    """An operator's scale_connector records the connector as its `service` (a command names no service).
    The sweep read that name as a Cloud Run service: GetService answered NotFound, so every such change
    was escalated "cannot read the evidence", never verified, whatever the services behind the connector
    showed. Now only the managed services that use the connector are judged (shared/remediation/
    verification.py, `_health`)."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR], **ONE_WAY,
                  guardrails={"cooldown_seconds": 0}) as run:
        run.execute([OperatorScale(0, 4), Sweep(16), Sweep(30)])
        _checked(run)
        verdicts = [o for obs in run.trace[1:] for o in obs.outcomes if o.action is not None]
        assert verdicts, run.describe()
        # Judged on backend's own requests (here none since it settled: not verifiable, escalated as such).
        assert not any("cannot read the evidence" in o.reason for o in verdicts), [o.reason for o in verdicts]
        assert all("request_count" in o.reason for o in verdicts), [o.reason for o in verdicts]


def test_a_command_id_reused_for_another_body_never_gets_the_first_commands_kept_answer() -> None:
    """The refused approve's answer was lost (its publish failed) and kept; then a different command
    arrives under the same command_id (here a reject of that proposal). It is rejected as a reused id,
    and the first command's answer is left for the sweep: published as this command's answer, it
    read as if this one had been run. Fails on the code before: the reject was answered with the
    approve's kept answer."""
    from tests.property.harness import _Resend

    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), Close(0, 0), PublishFault(1), Approve(0, 0)]:
            run.step(step)
        (first,) = run.failed_commands
        run.failed_commands = []
        other = {key: value for key, value in first.items() if not key.startswith("_")}
        other["command"] = "reject"
        answered = run.step(_Resend(other)).outcomes
        assert [o.status.value for o in answered] == ["rejected"], explain(run, [o.reason for o in answered])
        assert "different command" in answered[0].reason
        later = run.step(Sweep(70)).outcomes   # past every hold: the approve's kept answer, once
        kept = [o for o in later if o.command_id == "approve-0"]
        assert [o.status.value for o in kept] == ["skipped"], explain(run, [o.reason for o in later])
        assert "the world changed since the proposal" in kept[0].reason


def _person_change_after(run, method: str) -> list[int]:
    """Lands a person's 90/10 split right after the first `method` call to the Run stand-in is
    answered (in-process transport): between the rollback's UpdateService and its answer read back,
    as a person's change did when another delivery's read was answered in between (the soak's
    `concurrent×3(0.alpha, same msg 0)` after `person_traffic(90/10, after read 3)`)."""
    transport = run.world.adapters.run._transport
    call, fired = transport.call, []

    def hooked(name, request, answer, cursor=None):
        result = call(name, request, answer, cursor=cursor)
        if name == method and not fired:
            fired.append(1)
            run._person_change(PersonTraffic(0, 0), run._current)
        return result

    transport.call = hooked
    return fired


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
@pytest.mark.parametrize("method", ["UpdateService", "GetOperation"])
def test_a_rollback_a_person_changed_right_after_its_write_is_recorded_not_failed(method: str, ending: str) -> None:
    """The rollback's UpdateService takes, and a person splits the traffic before the write's answer is
    read back: the operation finished without an error, so the write took; the split read back is
    the person's (generation two past the plan's read). Recorded and escalated as a write with
    another change around it, and the sweep escalates it without undoing over the person. Fails if
    the read-back mismatch is judged first (`failed`, the claim given back, no action record)."""
    with fast_run("bad_revision", "enforce", None, operators=[OPERATOR]) as run:
        fired = _person_change_after(run, method)
        run.step(Open(0, 0))
        run.step(Sweep(16))
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        assert fired and run.trace[0].run_writes == 1
        assert [o.status.value for o in run.trace[0].outcomes] == ["escalated"], explain(run, [])
        assert "another change around it" in run.trace[0].outcomes[0].reason
        assert [r["action"] for r in run.action_records()] == ["rollback_traffic"]
        assert not undo_keeps_person_change(run), explain(run, undo_keeps_person_change(run))
        _checked(run)


@pytest.mark.parametrize("publish_fails", [False, True])
def test_a_refusal_whose_commit_lost_its_answer_is_heard_when_nothing_is_sent_again(publish_fails: bool) -> None:
    """Found by `make soak` (batch seed 1127799585): the approve of a proposal whose incident closed refused
    it, and that write landed with its answer lost; the handler raised before the command's record was
    completed and its answer kept, and the command was dead-lettered: the proposal showed `refused` and
    no outcome ever said so. Now the refusal is written by the very commit that completes the command's
    record and keeps its answer (answers.complete): the answer is published, or kept and published by
    the sweep. Fails on the code before (the refusal written on its own, before the answer)."""
    from shared.remediation.records import PROPOSALS

    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600,
                              "proposal_ttl_seconds": 300}) as run:
        program = [Open(0, 0), Close(0, 0), StoreFault("write", 1, "UNAVAILABLE", True),
                   *([PublishFault(1)] if publish_fails else []), Approve(0, 0)]
        for step in program:
            run.step(step)
        run.dead_letter()
        run.step(Sweep(70))
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[0])
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        assert proposal["state"] == "refused" and [o.status.value for o in answers] == ["skipped"], \
            explain(run, [o.reason for o in answers])
        assert "the world changed since the proposal" in answers[0].reason


@pytest.mark.parametrize("publish_fails", [False, True])
@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
def test_a_rejection_whose_commit_lost_its_answer_is_heard_once(ending: str, publish_fails: bool) -> None:
    """A reject's decision (the proposal closed `rejected`) was written on its own, before the command's
    answer was kept: landing with its answer lost, the handler raised, and a command never delivered again
    (dead-lettered) left the proposal rejected with no one told. Now it is a write of the commit that
    completes the command's record and keeps its answer (answers.complete); that commit's answer lost, the
    handler raises without answering "closed" (the commit may not have landed), and the answer kept is
    published once: by the resend (the same outcome), or by the sweep. Fails on the code before
    (dead-lettered)."""
    from shared.remediation.records import PROPOSALS

    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600,
                              "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), StoreFault("write", 1, "UNAVAILABLE", True),
                     *([PublishFault(1)] if publish_fails else []), Reject(0, 0)]:
            run.step(step)
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        run.step(Sweep(70))
        problems = check_all(run) + every_command_answered(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[0])
        answers = [o for o in run.returned_outcomes() if o.command_id == "reject-0"]
        assert proposal["state"] == "rejected" and len({o.outcome_id for o in answers}) == 1, \
            explain(run, [o.reason for o in answers])
        assert {o.status.value for o in answers} == {"applied"} and "without applying it" in answers[0].reason


# How an approve's gate answer ends the proposal without an outcome of the sweep's to tell of it: a person
# changes the connector at the gate's claim (the target changed under the decision: escalated, nothing
# written, `superseded`), or the patch is denied (`failed`).
_GATE_ENDS = {"superseded": (Approve(0, 0, person=0), "escalated", "closed as superseded"),
              "failed": (Approve(0, 0), "failed", "PERMISSION_DENIED")}


@pytest.mark.parametrize("publish_fails", [False, True])
@pytest.mark.parametrize("end", sorted(_GATE_ENDS))
def test_a_proposal_the_gate_closed_whose_commit_lost_its_answer_is_heard_when_nothing_is_sent_again(
        end: str, publish_fails: bool) -> None:
    """An approve whose gate answered without a write to verify (escalated, nothing written: the target
    changed under the decision; or failed) closed its proposal (`superseded`, `failed`) by an update of
    its own, after the gate answered and before the answer was kept: landing with its answer lost, the
    handler raised, and dead-lettered, the proposal showed closed with no one told. Now that move is a
    write of the commit that keeps the answer (the gate's claim and intent were given back and voided
    before, as they still are): the answer is published, or kept and published by the sweep; nothing is
    written. Fails on the code before."""
    import dataclasses

    from shared.remediation.records import PROPOSALS
    from tests.property.harness import Fault
    from tests.unit.fakes import LosesProposalMove

    approve, status, words = _GATE_ENDS[end]
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600,
                              "proposal_ttl_seconds": 300}) as run:
        run.step(Open(0, 0))
        lost = LosesProposalMove(run.world.adapters.state, end)
        run.world.adapters = dataclasses.replace(run.world.adapters, state=lost)
        for step in [*([Fault("vpcaccess", "PatchConnector")] if end == "failed" else []),
                     *([PublishFault(1)] if publish_fails else []), approve]:
            run.step(step)
        run.dead_letter()
        run.step(Sweep(70))
        assert lost.fired
        problems = check_all(run) + every_command_answered(run) + every_write_known(run) + proposal_written_once(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[0])
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        assert proposal["state"] == end and [o.status.value for o in answers] == [status], \
            explain(run, [o.reason for o in answers])
        assert words in " ".join([answers[0].reason, *answers[0].notes]), answers[0]
        assert not run.action_records()



# An approve whose attempt ended between its proposal's move to `approved` and the commit that settles it, and
# which nothing delivered again: the move landed with its answer lost (the handler raised before the gate), or
# the gate refused the write (PERMISSION_DENIED: nothing written) and the commit that completes the command's
# record failed outright (with the answer's publish failing too, or not).
_STRANDED = {
    "approved, answer lost": ([StoreFault("write", 1, "UNAVAILABLE", True)], 1),
    "final commit failed": ([Fault("vpcaccess", "PatchConnector"), StoreFault("write", 1, method="complete")], 0),
    "final commit and publish failed": ([Fault("vpcaccess", "PatchConnector"),
                                         StoreFault("write", 1, method="complete"), PublishFault(1)], 1),
}


@pytest.mark.parametrize("case", sorted(_STRANDED))
def test_an_approval_whose_attempt_ended_without_writing_is_closed_and_answered_by_the_sweep(case: str) -> None:
    """The proposal was left `approved` by a command that was never delivered again: nothing expired it,
    `status` did not list it, and no outcome said that nothing was applied. The sweep past the command's
    lease finds no write of it (no action record, its intent void or never stored) and closes it
    `abandoned`, answering the command `escalated` once; a later sweep says nothing more, and a late resend
    of the command writes nothing. Fails on the code before (the proposal stays `approved`)."""
    from shared.remediation.records import PROPOSALS
    from tests.property.harness import _Resend

    faults, raised = _STRANDED[case]
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        for step in [Open(0, 0), *faults, Approve(0, 0)]:
            run.step(step)
        assert run.trace[-1].transient == raised, run.describe()
        (body,) = run.failed_commands or [None]
        [before] = run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[0])
        assert before["state"] == "approved", before
        run.dead_letter()
        problems = check_all(run) + every_write_known(run) + every_command_answered(run) + proposal_written_once(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[0])
        assert proposal["state"] == "abandoned" and "approve-0" in proposal["note"], proposal
        [answer] = [o for o in run.trace[-1].outcomes if o.command_id == "approve-0"]
        assert answer.status.value == "escalated" and "nothing was applied" in answer.reason, answer.reason
        assert any("runwarden command scale_connector" in n for n in answer.notes), answer.notes
        later = run.step(Sweep(10))
        assert not [o for o in later.outcomes if o.command_id == "approve-0"], run.describe()
        if body is not None:    # the command, delivered after all: a duplicate of that answer, nothing written
            resent = run.step(_Resend(body)).outcomes
            assert [o.status.value for o in resent] == ["escalated"], explain(run, [o.reason for o in resent])
        assert not run.action_records() and not sum(o.vpc_writes for o in run.trace), run.describe()
        _checked(run)


# One-way changes allowed, one machine type: the alert's plan raises max instances only (2-3 -> 2-4).
MAX_ONLY = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 10,
                                       "max_instances_step": 1, "allowed_machine_types": ["e2-micro"]}]}}
# The same connector, proposed for a person to approve.
MAX_ONLY_PROPOSED = {"bounds": {"connectors": [{**MAX_ONLY["bounds"]["connectors"][0], "allow_one_way": False}]}}


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
@pytest.mark.parametrize("writer", ["alert", "approve", "command"])
def test_a_connector_scale_a_person_changed_right_after_its_operation_is_recorded_not_failed(writer: str,
                                                                                             ending: str) -> None:
    """The patch raising max instances (2-3 -> 2-4) takes, its operation ends without an error, and a
    person moves the connector to e2-standard-4 before the read-back. The connector keeps no
    generation, so nothing tells that change from a patch that did not take: the outcome is unknown.
    Recorded as this incident's action, closed `escalated` at once (never verified, never written
    again), and the answer says what the connector shows and that a person may have changed it.
    Fails if the read-back mismatch is a permanent failure (`failed` [VERIFICATION_FAILED], the claim
    and the intent given back, no action record: `before_states_recorded`). The writer: the alert (one-way
    allowed), an approve of its proposal, or an operator's scale command after the proposal (the soak's
    shrunk `open; person_connector(machine, right after a patch's operation); scale_command(#0, max 4)`,
    batch seed 7003 on the code before)."""
    policy = MAX_ONLY if writer == "alert" else MAX_ONLY_PROPOSED
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR], **policy) as run:
        program = [PersonConnector(1, False, after_patch=True), Open(0, 0)]
        program += {"approve": [Approve(0, 0)], "command": [OperatorScale(0, 4)]}.get(writer, [])
        for step in program:
            run.step(step)
        run.step(Sweep(16))
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        wrote = run.trace[len(program) - 1]
        assert wrote.vpc_writes == 1 and wrote.person_connector == 1, run.describe()
        outcomes = [o for o in wrote.outcomes if o.action is not None]
        assert [o.status.value for o in outcomes] == ["escalated"], explain(run, [o.reason for o in wrote.outcomes])
        assert "e2-standard-4" in outcomes[0].reason and "a person" in outcomes[0].reason, outcomes[0].reason
        [record] = run.action_records()
        assert record["state"] == "escalated" and record["action"] == "scale_connector", record
        assert sum(o.vpc_writes for o in run.trace) == 1
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
@pytest.mark.parametrize("change", [0, 1])   # PERSON_CONNECTOR_CHANGES: one more max instance, e2-standard-4
def test_an_unrecorded_connector_scale_a_person_changed_since_is_recorded_closed(change: int, ending: str) -> None:
    """The connector's counterpart of the rollback above: the patch (2-3 -> 2-4) took, its record failed, its
    escalation's publish failed, and a person then changed the connector by hand. The judge past the lease
    (the redelivery, or with none the sweep) found neither the state before nor the plan and escalated,
    recording nothing: a write that took, on no record (`before_states_recorded`). A connector keeps no
    generation to prove the write, but its instances only go up: at the planned sizes or more, the write
    may have landed before the person's change. Recorded, closed `escalated` (the outcome unknown; never
    verified, never written again), and a person told. Fails on the code before (no action record)."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR], **MAX_ONLY,
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        program = [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0), PersonConnector(change, False)]
        for step in program:
            run.step(step)
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        later = run.step(Sweep(30))
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and record["note"].startswith("outcome unknown"), record
        assert not record["after"]   # what the write left is not known
        reports = [o for o in run.returned_outcomes() if o.action is not None and "may have been written" in o.reason]
        assert [o.status.value for o in reports] == ["escalated"], explain(run, [o.reason for o in reports])
        assert not [o for o in later.outcomes if o.action is not None and o.action.action_id == record["key"]]
        assert sum(o.vpc_writes for o in run.trace) == 1 and sum(o.person_connector for o in run.trace) == 1


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
@pytest.mark.parametrize("publish_fails", [False, True])
def test_a_connector_scale_whose_read_back_and_record_both_failed_is_recorded_by_the_judge_past_the_lease(
        publish_fails: bool, ending: str) -> None:
    """Both cases at once: a person's e2-standard-4 lands as the patch's operation ends (an unknown
    outcome), and the commit that would record it fails (and, with `publish_fails`, the answer saying
    so). The gate answers that it could not be recorded; the judge past the lease (the redelivery, or
    the sweep) finds the connector at the planned sizes with another machine type and records it
    closed `escalated`. No write on no record, none written twice."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR], **MAX_ONLY) as run:
        program = [StoreFault("write", 1, method="record_all"), *([PublishFault(1)] if publish_fails else []),
                   PersonConnector(1, False, after_patch=True), Open(0, 0)]
        for step in program:
            run.step(step)
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        run.step(Sweep(30))
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and record["note"].startswith("outcome unknown"), record
        assert sum(o.vpc_writes for o in run.trace) == 1


def test_a_commands_kept_answer_published_by_the_sweep_is_not_counted_as_its_verdict() -> None:
    """Found by a 10-minute `make soak` (batch seed 2253124704): an approve's patch accepted and not
    followed (outcome unknown) answers `escalated`; that answer's publish fails and nothing is
    delivered again. The sweep publishes the kept answer as it was (the command's message) and then
    its one verdict on the action: two escalated outcomes, one judgement. Fails if
    `one_judgement_per_action` takes the kept answer for a second verdict."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR]) as run:
        run.step(Open(0, 0))
        run.step(Fault("vpcaccess", "GetOperation", 3))
        run.step(PublishFault(1))
        run.step(Approve(0, 0))
        run.dead_letter()
        swept = [o for obs in run.trace if isinstance(obs.step, Sweep) for o in obs.outcomes if o.action is not None]
        assert [o.status.value for o in swept] == ["escalated", "escalated"], explain(run, [])
        assert [o.message_id is not None for o in swept] == [True, False], explain(run, [])   # the answer, the verdict
        assert not one_judgement_per_action(run), explain(run, one_judgement_per_action(run))
        _checked(run)


# An approve's patch took and its record failed (its intent left open), then an approve of the other incident's
# proposal under the same pooled command id: alone, or in a race of approvals beside that incident's alert (the
# program `make soak` found, batch seed 2253124683). With the approve's own record failing too (`record_all` ×2:
# the gate's commit, then the command's), the reuse waits out the first attempt's claim and is answered on its
# resend, once the command's record is lost: there only the intent's digest tells the two apart.
_REUSED_AFTER_OPEN_INTENT = {
    "alone": (1, [Open(1, 0), Approve(1, 0)]),
    "race": (1, [ApproveRace(1, 2, False, True)]),
    "alone, its record lost too": (2, [Open(1, 0), Approve(1, 0)]),
    "race, its record lost too": (2, [ApproveRace(1, 2, False, True)]),
}


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
@pytest.mark.parametrize("case", sorted(_REUSED_AFTER_OPEN_INTENT))
def test_a_command_id_reused_after_its_write_went_unrecorded_is_not_answered_from_that_write(case: str,
                                                                                           ending: str) -> None:
    """Found by `make soak` (batch seed 2253124683): `approve-0` approved 0.alpha's proposal, its patch took
    and the commit recording it failed (`escalated`, its intent open). `approve-0` again, now carrying
    0.bravo's proposal id (another command: `command_digest` differs), was answered from the first one's
    intent: the write recorded as its own, "applied by an earlier attempt at this command, which could not
    record it", naming 0.alpha. A reused id with another body is told apart before anything an earlier
    attempt left is read: answered as a reused id, nothing recorded or written for it; the first approve's
    write is left to its own resend or the sweep. With the first approve's record lost too, the intent is
    all that tells them apart, and an approve's intent carried no digest. Fails on the code before."""
    faults, steps = _REUSED_AFTER_OPEN_INTENT[case]
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600,
                              "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), StoreFault("write", faults, method="record_all"), Approve(0, 0), *steps]:
            run.step(step)
        assert [o.status.value for o in run.trace[2].outcomes] == ["escalated"], run.describe()
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        reused = [o for obs in run.trace for a in obs.approvals if a.command_id == "approve-0"
                  and a.incident == INCIDENTS[1] for o in a.outcomes]
        assert not [o for o in reused if "earlier attempt" in o.reason or o.action is not None], \
            explain(run, [o.reason for o in reused])
        answered = faults == 1 or ending == "redelivered"   # else dead-lettered while the first attempt held the id
        assert len(reused) == answered and all("for a different command" in o.reason for o in reused), \
            explain(run, [o.reason for o in reused])
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)
        # The first approve's write, and a write of the race's other approval only where it applied: when
        # 0.bravo's alert lands before it, its proposal exists, and it is approved within bounds (cooldown 0
        # here); most orders of the race reject it ("no proposal"). The reused id itself writes nothing.
        others = sum(o.status.value == "applied" for obs in run.trace for a in obs.approvals
                     if a.command_id != "approve-0" for o in a.outcomes)
        assert sum(o.vpc_writes for o in run.trace) == 1 + others, run.describe()


_RESTORE_UNRECORDED = [StoreFault("write", 1, "DEADLINE_EXCEEDED", False, "record_all")]


@pytest.mark.parametrize("to_latest", [True, False], ids=["to latest", "by action_id"])
def test_an_operators_restore_whose_record_failed_settles_the_rollback_not_blamed_on_a_person(to_latest: bool) -> None:
    """The operator's restore_traffic wrote, and its commit failed: answered `escalated`, the pin left
    `pinned`, the rollback `pending`. The sweep found its traffic moved and escalated it as changed "by
    someone else" (and reminded of the pin later), although the change was Runwarden's own restore. Its
    mark on the pin (the command and the split it wrote) settles it: the rollback `undone`, the pin
    released, no escalation blaming a person. Fails without the sweep's `_own_restore`."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), *_RESTORE_UNRECORDED, OperatorRestore(0, to_latest, 0), Sweep(16), Sweep(40)])
        _checked(run)
        assert [o.status.value for o in run.trace[2].outcomes] == ["escalated"]     # the restore's own answer
        assert [o for t in run.trace[3:] for o in t.outcomes] == [], explain(run, [])
        state = run.world.adapters.state
        [action] = state.find_records(ACTIONS, "service", SERVICE)
        assert action["state"] == "undone" and "op-restore-0" in action["note"], action
        # The command is kept typed (ActionRecord.undone_by_command): a resend of it is told by that, not the note.
        assert action["undone_by_command"] == "op-restore-0", action
        pin = state.get_record(PINS, SERVICE)
        assert pin["pinned"] is False and pin["released_by"] == OPERATOR, pin


def test_a_persons_change_after_an_unrecorded_restore_is_still_theirs() -> None:
    """The same restore, and then a person splits the traffic by hand: the service no longer serves the
    restore's split, so the change is the person's, escalated as before; nothing is settled on their behalf."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), *_RESTORE_UNRECORDED, OperatorRestore(0, True), PersonTraffic(1, 0), Sweep(16)])
        _checked(run)
        [outcome] = run.trace[4].outcomes
        assert outcome.status.value == "escalated" and "by someone else" in outcome.reason, outcome.reason
        assert run.world.adapters.state.get_record(PINS, SERVICE)["pinned"] is True


# The connector as bad_revision and connector_saturation seed it moves from e2-micro to e2-standard-4.
MACHINE = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 3,
                                      "max_instances_step": 1, "allowed_machine_types": ["e2-micro", "e2-standard-4"]}]}}


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
def test_an_unrecorded_rollback_a_person_put_back_is_recorded_closed_not_written_again(ending: str) -> None:
    """The rollback took, its record failed, its escalation's publish failed, and a person then put the
    traffic back to the split before it (100% to the newest revision) by hand. The judge past the lease
    found the state before and read it as "the write never took": the intent voided, the write on no
    record (`before_states_recorded`), and a redelivery free to act on the incident again, over the
    person's change. The service is two generations past the plan's read (the rollback, sent on that
    read's etag, then the person's change back), as when a person changes it to anything else: recorded,
    closed `escalated`, never written again."""
    with fast_run("bad_revision", "enforce", None, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        program = [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0), PersonTraffic(2, 0)]
        for step in program:
            run.step(step)
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        later = run.step(Sweep(30))
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and "superseded" in record["note"], record
        assert run.world.state.get_record(PINS, record["service"]) is None
        reports = [o for o in run.returned_outcomes() if o.action is not None and "state before again" in o.reason]
        assert [o.status.value for o in reports] == ["escalated"], explain(run, [o.reason for o in run.returned_outcomes()])
        assert not [o for o in later.outcomes if o.action is not None and o.action.action_id == record["key"]]
        assert sum(o.run_writes for o in run.trace) == 1 and sum(o.person_writes for o in run.trace) == 1


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
def test_an_unrecorded_machine_type_change_a_person_put_back_is_recorded_closed_not_written_again(ending: str) -> None:
    """The connector's counterpart, left open before: the patch (e2-micro -> e2-standard-4 at 2-3, at the
    policy's ceiling) took, its record and its escalation's publish failed, and the machine type was then
    put back to e2-micro (by hand, or by Terraform applying its own). The connector shows the state before;
    it keeps no record of the patch, and a machine type can be set either way, so that state does not rule
    the write out (instance counts only go up, so a plan that raised them is ruled out by the counts).
    It was read as "never took": the write on no record, and the incident free to be acted on again. Now
    recorded, closed `escalated` (the outcome unknown; never verified, never written again)."""
    with fast_run("connector_saturation", "enforce", None, operators=[OPERATOR], **MACHINE,
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        program = [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0), PersonConnector(2, False)]
        for step in program:
            run.step(step)
        assert run.trace[2].vpc_writes == 1, run.describe()
        assert run.standins.vpcaccess.connector(CONNECTOR)["machineType"] == "e2-micro", run.describe()
        run.dead_letter() if ending == "dead_lettered" else run.finish()
        later = run.step(Sweep(30))
        problems = check_all(run) + (every_write_known(run) if ending == "dead_lettered" else [])
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and record["note"].startswith("outcome unknown"), record
        reports = [o for o in run.returned_outcomes() if o.action is not None and "may have been written" in o.reason]
        assert [o.status.value for o in reports] == ["escalated"], explain(run, [o.reason for o in run.returned_outcomes()])
        assert not [o for o in later.outcomes if o.action is not None and o.action.action_id == record["key"]]
        assert sum(o.vpc_writes for o in run.trace) == 1 and sum(o.person_connector for o in run.trace) == 1


def test_a_rollback_onto_a_revision_that_fails_as_well_is_undone_on_its_own_requests() -> None:
    """The sustained world answers the rollback's traffic from the revision it went back to, failing as
    the one rolled back from does (harness `_follow_rollback`): the sweep's undo path runs on the
    revision's own requests. Fails if the world keeps that revision silent after the rollback (the
    revision rolled back from alone failing is no rollback failing: judging.others_failing), or if the
    undo is judged on the service's requests alone."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), Sweep(4), Sweep(16)])
        _checked(run)
        assert run.rolled_back_from is not None
        [undone] = run.trace[2].outcomes
        assert undone.status.value == "undone" and "still failing" in undone.reason, undone.reason


@pytest.mark.parametrize("void", ["lands", "fails too"])
def test_deliveries_that_lose_the_claim_race_with_their_intents_answers_lost_are_judged_once(void: str) -> None:
    """Found by `make soak` (batch seed 13, on the threads of `concurrent×3(0.alpha, distinct msgs)` under
    `store_fault(write ×3, answer lost)`): each losing delivery stored its intent ahead of its one commit,
    the store landed with its answer lost, and another delivery's commit took the incident's claim
    between the loser's read and its commit. The losers answered `skipped` (a duplicate) and wrote
    nothing, but left their intents open; the winner gave everything back, and an operator's rollback
    made the very change they had planned. Past the lease, the sweep judged each loser's intent and
    escalated each ("not known to be this plan's write"): two verdicts on 0.alpha's rollback
    (`one_judgement_per_action`). Here the race is directed, with no threads: the winner's claim lands
    right before each loser's commit. Each loser now voids its plan; if that void fails too, the two
    plans are twins (one claim, one change, one state before) and are escalated once, together. Fails
    (void lands) if a loser voids its intent only when its store answered; (void fails too) if each twin
    plan is escalated on its own."""
    from datetime import timedelta

    from shared.remediation.guardrails import CLAIMS, claim_key
    from shared.remediation.records import INTENTS

    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR],
                  guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
        store, port = run.world.state, run.world.adapters.state
        key, winner = claim_key(INCIDENTS[0], SERVICE, "rollback_traffic"), f"{INCIDENTS[0]}-open-9:winner"
        commit = port.claim_all

        def claimed_meanwhile(*args, **kwargs):
            store.claim(CLAIMS, key, winner, timedelta(minutes=15), run.world.clock.now())
            return commit(*args, **kwargs)

        port.claim_all = claimed_meanwhile
        for message in (1, 2):
            run.step(StoreFault("write", 1, lost=True, method="create_record"))
            if void == "fails too":
                run.step(StoreFault("write", 1, method="update_record"))
            run.step(Open(0, message))
            store.release(CLAIMS, key, winner)   # the winner wrote nothing and gave everything back
        del port.claim_all
        assert [o.status.value for obs in run.trace for o in obs.outcomes] == ["skipped", "skipped"], explain(run, [])
        run.step(OperatorRollback(0, True))
        swept = run.step(Sweep(30))
        assert not one_judgement_per_action(run), explain(run, one_judgement_per_action(run))
        _checked(run)
        plans = store.find_records(INTENTS, "claim_key", key)
        ours = [o for o in swept.outcomes if o.incident_id == INCIDENTS[0]]
        if void == "lands":
            assert [plan["state"] for plan in plans] == ["void", "void"] and ours == [], plans
        else:
            assert [plan["state"] for plan in plans] == ["escalated", "escalated"], plans
            assert [o.status.value for o in ours] == ["escalated"], explain(run, [])


def test_worlds_that_follow_one_rollback_share_monitorings_answers_byte_for_byte() -> None:
    """The fast tier keeps what Monitoring holds once a rollback's series were added, and its answers by
    request, per seeded state and group (`FastWorld.add_series_group`): every world that rolls back at
    the same minute shares them. Each answer kept must be the bytes a stand-in given the same series one
    by one gives, and a world that shares them must answer the program as one that shares nothing. Fails
    if the answers after the rollback are kept with the seeded state's (those before it), or not kept."""
    from sandbox.standins.monitoring import MonitoringStandIn
    from tests.property import fast
    from tests.property.harness import _oldest_revision, rolled_back_series

    program = [Open(0, 0), Sweep(4), Sweep(16)]

    def answered(run) -> list[tuple[str, str]]:
        return [(o.status.value, o.reason) for o in run.returned_outcomes()]

    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.world.seeded_as = None   # shares nothing: the group's series are added one by one
        run.execute(program)
        alone = answered(run)
        since = run.rolled_back_from
    assert since is not None
    for _ in range(2):
        with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
            run.execute(program)
            assert answered(run) == alone
            state = run.world.seeded_as
    assert state[:2] == ("bad_revision", 90) and state[2][3] == since, state
    fresh = fast.seeded_copy("bad_revision", 90).monitoring
    fresh._series = list(fresh._series)
    for series in rolled_back_series("bad_revision", _oldest_revision("bad_revision"), since, 90):
        MonitoringStandIn.add_series(fresh, series)
    [rpc] = [rpc for rpc in fresh.rpcs() if rpc.method == "ListTimeSeries"]
    kept = {key[1]: answer for key, answer in fast._MEMOS[state].items()
            if isinstance(key, tuple) and key[0] == "ListTimeSeries"}
    assert kept
    for request, answer in kept.items():
        assert rpc.serialize(rpc.handler(rpc.deserialize(request))) == answer


def test_a_rollback_after_the_clock_stepped_back_before_t0_is_followed() -> None:
    """The clock steps back 4 minutes before T0, then an operator rolls back: the world follows the rollback
    from a minute before T0 (a signed offset, "-3m"). Fails if the followed series are built with "+-3m",
    which the scenario format rejects, so the run crashes instead of being judged (the soak then lost the
    worker: the soak's crash report found it)."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Jump(1), Jump(3), Open(0, 0), OperatorRollback(0, False)])
        _checked(run)
