"""Minimal failing examples the property search found, kept as fixed regressions.

Each runs the same harness and the same invariant checks as test_invariants.py, on the shrunk
program hypothesis reported.
"""
from __future__ import annotations

import pytest

from shared.remediation.refusals import Held
from tests.property.harness import (CONNECTOR, OPERATOR, Approve, Close, Fault, Open, OperatorRollback, PersonConnector,
                                    PersonTraffic, PublishFault, QuotaFault, Renotify, Respelled, StoreFault, Sweep,
                                    fresh_run)
from tests.property.invariants import check_all, every_write_known, explain

pytestmark = pytest.mark.emulator

POLICY = {"guardrails": {"cooldown_seconds": 1800},
          "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


def test_an_accepted_connector_patch_whose_wait_failed_acts_once_and_is_recorded(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by test_connector_scaling_keeps_every_invariant. Before the fix: the patch was accepted,
    polling its operation failed (TransientError), the gate gave back the claim and the cooldown and
    recorded nothing; once the operation ended, the redelivery re-planned from the changed connector
    (e2-standard-4, then max 3 -> 5): a second one-way change for the same incident, inside the
    cooldown, and the first change had no action record."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   **POLICY) as run:
        # Polling the accepted patch's operation fails 3 times (the adapter's attempts).
        # finish(): the outage ends, Google completes the operation, the platform redelivers.
        run.execute([Fault("vpcaccess", "GetOperation", 3), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 1


def test_an_accepted_rollback_whose_wait_failed_is_recorded(firestore_emulator, pubsub_emulator, project_id):
    """Before the fix: UpdateService was accepted, its operation could not be followed
    (TransientError), and the traffic stayed moved with no action record: nothing would verify or
    undo the rollback, and the redelivery escalated 'inconclusive'."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", **POLICY) as run:
        # GetOperation stays UNAVAILABLE past the adapter's polling retry (total_timeout 5 s in World's policy).
        run.execute([Fault("run", "GetOperation", 10_000), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.run.count("UpdateService") == 1


def test_an_operator_rollback_whose_records_failed_is_still_reported(firestore_emulator, pubsub_emulator, project_id):
    """Found by `make soak` (fast tier), here on the Firestore and Pub/Sub emulators: the rollback
    took, completing the gate's claim failed, then completing the command's own claim failed too
    (FaultyStateStore around FirestoreStateStore). Before the fix handle_command raised and the
    escalation "could not be recorded" was never published: nobody recorded or heard of the change."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce",
                   operators=[OPERATOR], **POLICY) as run:
        run.execute([StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"),
                     OperatorRollback(0, named=False)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        [outcome] = run.trace[2].outcomes
        assert outcome.status.value == "escalated" and "could not be recorded" in outcome.reason, outcome.reason
        assert run.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("faults", [(StoreFault("write", 1, method="record_all"),),
                                    (StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"))],
                         ids=lambda f: "; ".join(map(str, f)))
def test_a_command_whose_change_was_not_recorded_and_whose_answer_was_lost_is_still_reported(
        firestore_emulator, pubsub_emulator, project_id, faults):
    """Found by `make soak` (fast tier), here on the Firestore and Pub/Sub emulators: the operator's
    rollback took, completing the gate's claim failed (escalated, "could not be recorded"), and the
    answer's publish failed, so the handler raised. Before the fix the resend answered `skipped`,
    quoting that answer: no action record, and no `escalated` outcome published. Now the command's
    intent (stored before the write) lets the resend record the change and answer `escalated`
    (shared/commands/recovery.py); with the command's own record failing too, the resend waits out
    the first attempt's claim and then does the same."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce",
                   operators=[OPERATOR], **POLICY) as run:
        run.execute([PublishFault(1), *faults, OperatorRollback(0, named=False)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.run.count("UpdateService") == 1
        [record] = run.action_records()
        assert record["state"] == "pending" and record["command_id"] == "op-rollback-0", record
        [answer] = run.trace[-1].outcomes
        assert answer.status.value == "escalated" and "applied by an earlier attempt" in answer.reason, run.describe()


def test_a_renotification_does_not_change_a_connector_again_while_an_earlier_change_is_unrecorded(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by `make soak` (fast tier, batch seed 3057685956), here on the Firestore emulator (the
    gate finds the other message's open plan by a query on `claim_key`): the first patch took and its
    record failed; the re-notification past the claim's lease, a new message, changed the connector
    again before the fix."""
    config = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 2,
                             "max_actions_per_target_per_day": 2, "claim_retention_seconds": 600},
              "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 4,
                                         "max_instances_step": 1,
                                         "allowed_machine_types": ["e2-micro", "e2-standard-4"]}]}}
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   sustain=90, **config) as run:
        run.execute([StoreFault("write", 1, method="record_all"), Open(0, 0), Renotify(0, 20)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 1
        assert [o.status.value for o in run.trace[2].outcomes] == ["escalated"]


def test_a_refused_approves_answer_whose_publish_failed_is_published_by_the_sweep_when_nothing_is_sent_again(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by `make soak` (fast tier, batch seeds 3057685961, 3057686007, 3057686052, 3057686090), here on
    the Firestore and Pub/Sub emulators: the approve refused the proposal of a closed incident (the
    proposal closed `refused` for good), its answer's publish failed, the handler raised for Pub/Sub to
    deliver it again, and it was dead-lettered. Before the fix no outcome ever said it. Now the answer is
    kept with the command's record (one Firestore commit) until published, and the sweep publishes it:
    the same outcome_id as the record names, once."""
    from shared.remediation.records import COMMANDS

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), Close(0, 0), PublishFault(1), Approve(0, 0)]:
            run.step(step)
        assert run.trace[-1].transient == 1 and not run.trace[-1].outcomes
        run.dead_letter()
        run.step(Sweep(10))    # a later sweep: nothing more
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        first = run.world.state.get(COMMANDS, "approve-0").result
        assert [o.outcome_id for o in answers] == [first["outcome_id"]], run.describe()
        assert answers[0].status.value == "skipped" and "the world changed since the proposal" in answers[0].reason


def test_a_refusal_whose_commit_lost_its_answer_is_heard_when_nothing_is_sent_again(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by `make soak` (fast tier, batch seed 1127799585), here on the Firestore and Pub/Sub
    emulators: the approve's refusal of a closed incident's proposal landed with its answer lost, the
    handler raised before the command's answer was kept, and it was dead-lettered. Now the refusal is
    one of the writes of the Firestore commit that completes the command's record and keeps its answer:
    refused and answered, or neither."""
    from shared.remediation.records import PROPOSALS

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), Close(0, 0), StoreFault("write", 1, "UNAVAILABLE", True), PublishFault(1),
                     Approve(0, 0)]:
            run.step(step)
        run.dead_letter()
        run.step(Sweep(70))
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", "0.alpha")
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        assert proposal["state"] == "refused" and [o.status.value for o in answers] == ["skipped"], run.describe()
        assert "the world changed since the proposal" in answers[0].reason


def test_an_unrecorded_rollback_a_person_changed_since_is_recorded_closed_and_said_taken_over(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by `make soak` (fast tier, batch seed 3057685962), here on the Firestore and Pub/Sub
    emulators with nothing delivered again: the rollback took, its record and its escalation's publish
    failed, and a person then split the traffic by hand. Before the fix the sweep past the lease
    escalated and recorded nothing; now the service's generation (two updates since the plan) has it
    recorded, closed escalated, never verified or undone, and reported as taken over, once."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0}) as run:
        for step in [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0), PersonTraffic(0, 0)]:
            run.step(step)
        run.dead_letter()
        later = run.step(Sweep(30))
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and "superseded" in record["note"], record
        reports = [o for o in run.returned_outcomes() if o.action is not None and "taken the target over" in o.reason]
        assert len(reports) == 1 and not [o for o in later.outcomes if o.action is not None], run.describe()


def test_a_rejection_whose_commit_lost_its_answer_is_heard_when_nothing_is_sent_again(
        firestore_emulator, pubsub_emulator, project_id):
    """The reject's decision was written on its own before its answer was kept: landing with its answer
    lost, the handler raised, and dead-lettered, the proposal showed `rejected` with no one told. Here on
    the Firestore and Pub/Sub emulators: the rejection is one of the writes of the Firestore commit that
    completes the command's record and keeps its answer (rejected and answered, or neither)."""
    from shared.remediation.records import PROPOSALS
    from tests.property.harness import Reject
    from tests.property.invariants import every_command_answered

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), StoreFault("write", 1, "UNAVAILABLE", True), PublishFault(1), Reject(0, 0)]:
            run.step(step)
        run.dead_letter()
        run.step(Sweep(70))
        problems = check_all(run) + every_write_known(run) + every_command_answered(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", "0.alpha")
        answers = [o for o in run.returned_outcomes() if o.command_id == "reject-0"]
        assert proposal["state"] == "rejected" and [o.status.value for o in answers] == ["applied"], run.describe()
        assert "without applying it" in answers[0].reason


def test_a_superseded_proposal_whose_commit_lost_its_answer_is_heard_when_nothing_is_sent_again(
        firestore_emulator, pubsub_emulator, project_id):
    """The approve's gate found the connector changed under the decision (a person's change at its claim)
    and wrote nothing; the approve then closed the proposal `superseded` by an update of its own, after
    the gate answered and before its answer was kept. Landing with its answer lost, dead-lettered, it was
    told to no one. Here on the emulators: the move is a write of the commit that keeps the answer, and
    the gate's claim and intent are given back and voided before it, as ever."""
    import dataclasses

    from shared.remediation.records import PROPOSALS
    from tests.property.invariants import every_command_answered, proposal_written_once
    from tests.unit.fakes import LosesProposalMove

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        run.step(Open(0, 0))
        lost = LosesProposalMove(run.world.adapters.state, "superseded")
        run.world.adapters = dataclasses.replace(run.world.adapters, state=lost)
        for step in [PublishFault(1), Approve(0, 0, person=0)]:
            run.step(step)
        run.dead_letter()
        run.step(Sweep(70))
        assert lost.fired
        problems = check_all(run) + every_write_known(run) + every_command_answered(run) + proposal_written_once(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", "0.alpha")
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        assert proposal["state"] == "superseded" and [o.status.value for o in answers] == ["escalated"], \
            run.describe()
        assert any("closed as superseded" in n for n in answers[0].notes)
        assert run.standins.vpcaccess.count("PatchConnector") == 0      # (the person's change is not a patch call)


def test_an_approval_whose_attempt_ended_without_writing_is_closed_and_answered_by_the_sweep(
        firestore_emulator, pubsub_emulator, project_id):
    """The approve's move of its proposal to `approved` landed with its answer lost: the handler raised
    before the gate, and the command was dead-lettered. Before the fix nothing ever settled the proposal:
    it stayed `approved` for good, and no outcome said that nothing was applied. Here on the Firestore and
    Pub/Sub emulators: the sweep past the command's lease takes its record, finds no write planned (no
    intent, no action record) and, in one commit, closes the proposal `abandoned`, completes the command's
    record and keeps its `escalated` answer, published once."""
    from shared.remediation.records import COMMANDS, PROPOSALS
    from tests.property.invariants import every_command_answered, proposal_written_once

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), StoreFault("write", 1, "UNAVAILABLE", True), Approve(0, 0)]:
            run.step(step)
        assert run.trace[-1].transient == 1 and not run.trace[-1].outcomes, run.describe()
        run.dead_letter()
        later = run.step(Sweep(10))
        problems = check_all(run) + every_write_known(run) + every_command_answered(run) + proposal_written_once(run)
        assert not problems, explain(run, problems)
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", "0.alpha")
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        assert proposal["state"] == "abandoned" and [o.status.value for o in answers] == ["escalated"], run.describe()
        assert "nothing was applied" in answers[0].reason
        assert run.world.state.get(COMMANDS, "approve-0").result["outcome_id"] == answers[0].outcome_id
        assert not [o for o in later.outcomes if o.command_id == "approve-0"]
        assert run.standins.vpcaccess.count("PatchConnector") == 0


# One-way changes allowed, one machine type: the alert's plan raises max instances only (2-3 -> 2-4).
MAX_ONLY = {"operators": [OPERATOR], "guardrails": {"cooldown_seconds": 0},
            "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 10,
                                       "max_instances_step": 1, "allowed_machine_types": ["e2-micro"]}]}}


def test_a_connector_scale_a_person_changed_right_after_its_operation_is_recorded_not_failed(
        firestore_emulator, pubsub_emulator, project_id):
    """The connector's neighbour of the rollback a person changed right after its write, on the emulators
    and the VPC Access stand-in over HTTP: the patch's operation ended without an error and a person's
    e2-standard-4 landed before the read-back. Before the fix: `failed` [VERIFICATION_FAILED], the claim
    and intent given back, no action record. Now recorded, closed escalated, the answer naming what the
    connector shows; a redelivery of the message is a duplicate."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   **MAX_ONLY) as run:
        run.execute([PersonConnector(1, False, after_patch=True), Open(0, 0), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert [o.status.value for o in run.trace[1].outcomes] == ["escalated"], run.describe()
        assert "may be a person's change" in run.trace[1].outcomes[0].reason
        assert [o.status.value for o in run.trace[2].outcomes] == ["skipped"], run.describe()
        [record] = run.action_records()
        assert record["state"] == "escalated" and record["note"].startswith("outcome unknown"), record
        assert run.standins.vpcaccess.count("PatchConnector") == 1


def test_an_unrecorded_connector_scale_a_person_changed_since_is_recorded_closed(
        firestore_emulator, pubsub_emulator, project_id):
    """The connector's counterpart of the test above it, nothing delivered again: the patch took, its
    record and its escalation's publish failed, and a person then raised max instances by hand. Before
    the fix the sweep past the lease escalated and recorded nothing; now the connector, at the planned
    sizes or more, may have had the write: recorded closed escalated, reported once."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   **MAX_ONLY) as run:
        for step in [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0),
                     PersonConnector(0, False)]:
            run.step(step)
        run.dead_letter()
        later = run.step(Sweep(30))
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated" and record["note"].startswith("outcome unknown"), record
        reports = [o for o in run.returned_outcomes() if o.action is not None and "may have been written" in o.reason]
        assert len(reports) == 1 and not [o for o in later.outcomes if o.action is not None], run.describe()


MACHINE = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 3,
                                      "max_instances_step": 1, "allowed_machine_types": ["e2-micro", "e2-standard-4"]}]}}


@pytest.mark.parametrize("target", ["rollback", "machine type"])
def test_an_unrecorded_write_a_person_put_back_is_recorded_closed(firestore_emulator, pubsub_emulator, project_id,
                                                                  target):
    """On the emulators, nothing delivered again: the write took (a rollback; a connector's e2-micro ->
    e2-standard-4 at its ceiling), its record and its escalation's publish failed, and a person then put the
    target back to the state before. Before the fix the sweep past the lease read the state before as "the
    write never took", closed the intent void and recorded nothing; now it is recorded closed escalated,
    reported once (superseded, by the service's generation; the outcome unknown, for the connector)."""
    scenario, person, config = (("bad_revision", PersonTraffic(2, 0), {"guardrails": {"cooldown_seconds": 0}})
                                if target == "rollback" else
                                ("connector_saturation", PersonConnector(2, False), MACHINE))
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, scenario, "enforce", operators=[OPERATOR],
                   **config) as run:
        for step in [StoreFault("write", 1, method="record_all"), PublishFault(1), Open(0, 0), person]:
            run.step(step)
        run.dead_letter()
        later = run.step(Sweep(30))
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        [record] = run.action_records()
        assert record["state"] == "escalated", record
        assert ("superseded" in record["note"] if target == "rollback" else record["note"].startswith("outcome unknown"))
        reports = [o for o in run.returned_outcomes() if o.action is not None and o.status.value == "escalated"
                   and ("state before again" in o.reason)]
        assert len(reports) == 1 and not [o for o in later.outcomes if o.action is not None], run.describe()


@pytest.mark.parametrize("faults", [1, 2], ids=["its write unrecorded", "its command's record lost too"])
def test_a_command_id_reused_after_its_write_went_unrecorded_is_not_answered_from_that_write(
        firestore_emulator, pubsub_emulator, project_id, faults):
    """Found by `make soak` (batch seed 2253124683), here on the Firestore and Pub/Sub emulators: `approve-0`
    approved 0.alpha's proposal, its patch took and the commit recording it failed (its intent open); then
    `approve-0` again, carrying 0.bravo's proposal id (another command). Before the fix it was answered from
    the first command's intent, "applied by an earlier attempt at this command", naming 0.alpha. Now it is
    answered as a reused command id, and the first approve's write is left to the sweep, which records it.
    With the first approve's own record lost too (the second fault), the reuse is answered on its resend once
    that attempt's claim lapsed, by the digest its intent now keeps."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600,
                                                     "proposal_ttl_seconds": 300}) as run:
        for step in [Open(0, 0), StoreFault("write", faults, method="record_all"), Approve(0, 0), Open(1, 0),
                     Approve(1, 0)]:
            run.step(step)
        run.finish()
        reused = [o for obs in run.trace for a in obs.approvals if a.command_id == "approve-0"
                  and a.incident == "0.bravo" for o in a.outcomes]
        assert len(reused) == 1, run.describe()
        assert "for a different command" in reused[0].reason and "earlier attempt" not in reused[0].reason, \
            reused[0].reason
        run.step(Sweep(70))
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 1


@pytest.mark.parametrize("void", ["lands", "fails too"])
def test_deliveries_that_lose_the_claim_race_with_their_intents_answers_lost_are_judged_once(
        firestore_emulator, pubsub_emulator, project_id, void):
    """Found by `make soak` (batch seed 13), here on the Firestore and Pub/Sub emulators, the race directed
    as in test_later_events.py: two deliveries of 0.alpha each store their intent (landed, its answer lost)
    and lose their one commit to a claim taken right before it; the claim's holder gives it back, and an
    operator's rollback makes the change they planned. Before the fix each loser's plan stayed open and
    the sweep escalated each: 0.alpha's rollback judged twice. Now each loser voids its plan; with that
    void failing too, the twin plans are escalated once, in one commit guarded on both."""
    from datetime import timedelta

    from shared.remediation.guardrails import CLAIMS, claim_key
    from shared.remediation.records import INTENTS
    from tests.property.harness import INCIDENTS, SERVICE

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", 90,
                   operators=[OPERATOR], guardrails={"cooldown_seconds": 0, "claim_retention_seconds": 600}) as run:
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
            store.release(CLAIMS, key, winner)
        del port.claim_all
        run.step(OperatorRollback(0, True))
        swept = run.step(Sweep(30))
        problems = check_all(run)   # one_judgement_per_action among them
        assert not problems, explain(run, problems)
        states = sorted(plan["state"] for plan in store.find_records(INTENTS, "claim_key", key))
        ours = [o.status.value for o in swept.outcomes if o.incident_id == INCIDENTS[0]]
        expected = (["void", "void"], []) if void == "lands" else (["escalated", "escalated"], ["escalated"])
        assert (states, ours) == expected, explain(run, [])


ONE_WAY_NO_COOLDOWN = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 2,
                                      "max_actions_per_target_per_day": 2, "claim_retention_seconds": 600},
                       "operators": [OPERATOR],
                       "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 4,
                                                  "max_instances_step": 1,
                                                  "allowed_machine_types": ["e2-micro", "e2-standard-4"]}]}}


def test_the_notification_after_a_takeover_held_for_an_open_plan_does_not_write_again(
        firestore_emulator, pubsub_emulator, project_id):
    """On the Firestore emulator (tests/property/test_writes_gaps.py has the fast tier's): the takeover found
    another message's plan open and gave the claim back; the next notification claimed afresh, read no plan
    and, with no cooldown, patched the connector a second time."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   sustain=90, **ONE_WAY_NO_COOLDOWN) as run:
        run.execute([StoreFault("write", 1, method="record_all"), Open(0, 0), Renotify(0, 16), Renotify(0, 1)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()
        assert [o.status.value for o in run.trace[3].outcomes] == ["skipped"], run.describe()


def test_release_lifts_an_escalated_plans_hold_on_the_firestore_emulator(firestore_emulator, pubsub_emulator,
                                                                          project_id):
    """The hold of a plan escalated as of unknown outcome lasts until it expires; the operator's `release` the
    escalation names gives its claim back and voids the plan (guarded, in the commit that keeps its answer),
    and the incident's next notification acts."""
    import json

    from shared.commands import handle_command
    from shared.remediation.records import INTENTS
    from tests.integration.world import event

    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", "enforce",
                   sustain=90, **ONE_WAY_NO_COOLDOWN) as run:
        for step in (StoreFault("write", 1, method="record_all"), Open(0, 0), Fault("vpcaccess", "GetConnector", 0),
                     Sweep(25), Fault("vpcaccess", "", clear=True), Renotify(0, 20)):
            run.step(step)
        assert [o.status.value for o in run.trace[-1].outcomes] == ["skipped"], run.describe()
        [plan] = [p for p in run.world.state.find_records(INTENTS, "target", CONNECTOR) if p.get("state") == "escalated"]
        key = f"{plan['incident_id']}|{plan['message_id']}"
        body = {"command": "release", "command_id": "rel-1", "target": CONNECTOR, "params": {"intent": key},
                "requested_by": OPERATOR, "reason": "checked: the patch never landed"}
        [released] = handle_command(event(json.dumps(body).encode(), "c-1"), run.world.config, run.world.adapters)
        assert released.status.value == "applied", released.reason
        # Closed `released`, not `void` ("nothing was written"): its patch may have landed (here it had).
        released_plan = run.world.state.get_record(INTENTS, key)
        assert (released_plan["state"], released_plan["closed_by"]) == ("released", OPERATOR), released_plan
        assert "not as unwritten" in released.reason, released.reason
        run.step(Renotify(0, 5))
        assert [o.status.value for o in run.trace[-1].outcomes] == ["applied"], run.describe()
        assert run.standins.vpcaccess.count("PatchConnector") == 2


@pytest.mark.parametrize("scenario, standin, method", [("bad_revision", "run", "UpdateService"),
                                                       ("connector_saturation", "vpcaccess", "PatchConnector")])
def test_a_write_refused_once_for_quota_is_sent_again_within_its_call_on_real_clients(
        firestore_emulator, pubsub_emulator, project_id, scenario, standin, method):
    """The real clients read the refusal's RetryInfo as the in-process parts do (test_fast_tier.py): one refusal, one
    send again within the call, one write; and a duplicate of the incident named by the claim that held it."""
    policy = {"guardrails": {"cooldown_seconds": 1800}, "operators": [OPERATOR],
              "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, scenario, "enforce", **policy) as run:
        run.execute([QuotaFault(standin, method, 1, 0.05), Open(0, 0), Open(0, 1), Respelled(0, 0)])
        first = run.trace[1]
        assert first.write_calls == 2 and first.transient == 0, explain(run, [])
        assert first.run_writes + first.vpc_writes == 1, explain(run, [])
        assert run.trace[2].outcomes[0].held is Held.CLAIM_HELD, explain(run, [])
        assert [o.status.value for o in run.trace[3].outcomes] == ["rejected"], explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


@pytest.mark.parametrize("lost", [False, True], ids=["its commit failed", "its commit landed, its answer lost"])
def test_a_write_whose_adoption_by_a_sweep_failed_is_recorded_and_told_by_the_sweep_past_that_sweeps_claim(
        firestore_emulator, pubsub_emulator, project_id, lost):
    """Found by `make soak` (fast tier, batch seed 5002), here on the Firestore and Pub/Sub emulators: the
    rollback took, its record failed and its `escalated` was not published (the delivery raised); the sweep past
    the lease took over the incident's claim to record the write from its intent, and that commit failed too,
    which the sweep defers to the next one without raising. The redelivery within that sweep's claim answered a
    duplicate of it, and the program ended there with no action record. The scheduler's sweeps go on: the first
    past the claim the failed sweep took records the write and tells a person once (the ending now runs it:
    harness `Run.finish`). With the commit landed and its answer lost, the report kept in the intent is
    published by the next delivery or sweep, once."""
    config = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1,
                             "max_actions_per_target_per_day": 1, "claim_retention_seconds": 600}}
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", **config) as run:
        run.execute([StoreFault("write", 1, "DEADLINE_EXCEEDED", method="record_all"), PublishFault(1), Open(0, 0),
                     Sweep(16), StoreFault("write", 1, "DEADLINE_EXCEEDED", lost=lost, method="record_all"),
                     Sweep(30)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.run.count("UpdateService") == 1, run.describe()
        [record] = run.action_records()
        assert record["action"] == "rollback_traffic", record
        told = [o for o in run.returned_outcomes() if o.status.value == "escalated" and "Recorded now" in o.reason]
        assert len(told) == 1, run.describe()


def test_a_respelled_notification_whose_rejection_was_not_sent_is_rejected_by_its_redelivery_after_a_lost_claim(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by test_every_invariant_on_in_process_parts (not derandomized), here on the Firestore and Pub/Sub
    emulators. Before the fix: the rejection's page claim landed with its answer lost, the rejection was sent
    unchecked and its publish failed; the claim, this attempt's but never known to be, was kept, and the
    redelivery answered `skipped` ("another delivery of it is sending"): the refusal reached nobody."""
    config = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1,
                             "max_actions_per_target_per_day": 1, "claim_retention_seconds": 600,
                             "proposal_ttl_seconds": 300}, "operators": [OPERATOR]}
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", **config) as run:
        run.execute([Open(0, 0), StoreFault("claim", 1, lost=True), PublishFault(1), Respelled(0, 0)])
        assert [o.status.value for o in run.trace[-1].outcomes] == ["rejected"], explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)
