"""Gaps in the gate's two writes, on in-process parts (the fast tier's harness)."""
from __future__ import annotations

from tests.property.fast import fast_run
from tests.property.harness import CONNECTOR, OPERATOR, Fault, Open, PublishFault, Renotify, StoreFault, Sweep
from tests.property.invariants import check_all, explain
from tests.property.test_fast_tier import ONE_WAY


def test_a_write_of_unknown_outcome_escalated_by_the_sweep_is_not_made_again_by_a_renotification() -> None:
    """The first attempt's patch took and its record failed; by the sweep the connector cannot be read,
    so the plan is escalated to a person (a write of unknown outcome). The incident is notified again
    past the claim's lease: a new message, no action record, no open plan, so it patched the connector
    a second time for one incident. Now the escalation holds the incident's claim until the plan
    expires (Gate.hold_escalated), and a later notification is a duplicate of it."""
    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        run.execute([StoreFault("write", 1, method="record_all"), Open(0, 0), Fault("vpcaccess", "GetConnector", 0),
                     Sweep(25), Fault("vpcaccess", "", clear=True), Renotify(0, 20), Renotify(0, 20)])
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()
        assert not check_all(run), explain(run, check_all(run))
        assert [o.status.value for o in run.trace[3].outcomes] == ["escalated"], run.describe()
        for renotified in run.trace[5:7]:
            [outcome] = renotified.outcomes
            assert outcome.status.value == "skipped" and outcome.reason.startswith("duplicate"), outcome.reason


REFUSING = {"guardrails": {"cooldown_seconds": 1800}, "operators": [OPERATOR],
            "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


def test_a_refused_write_is_reported_once_then_tried_again_after_the_cooldown() -> None:
    """PERMISSION_DENIED on the patch: `failed` once, with the API's reason. Each re-notification of the
    incident tried the patch again and answered `failed` again; now they are duplicates of that answer
    until the cooldown has passed, when (the permission fixed) the incident acts."""
    with fast_run("connector_saturation", "enforce", sustain=120, **REFUSING) as run:
        run.execute([Fault("vpcaccess", "PatchConnector", 0), Open(0, 0), Renotify(0, 10), Renotify(0, 10),
                     Fault("vpcaccess", "", clear=True), Renotify(0, 20)])
        assert not check_all(run), explain(run, check_all(run))
        statuses = [[o.status.value for o in run.trace[i].outcomes] for i in (1, 2, 3, 5)]
        assert statuses == [["failed"], ["skipped"], ["skipped"], ["applied"]], run.describe()
        assert "PERMISSION_DENIED" in run.trace[2].outcomes[0].reason
        assert run.standins.vpcaccess.count("PatchConnector") == 2, run.describe()   # the refused one, the later one


def test_the_redelivery_of_a_refused_write_whose_answer_was_lost_answers_failed_and_records_nothing() -> None:
    """The patch was refused (PERMISSION_DENIED), its plan given back (`void`), and the `failed` answer's
    publish failed, so the message came again. The redelivery judged the void plan by the target: the
    connector showing the state before again after a machine-type plan read as "may have been written",
    and a write the API had refused was recorded as this incident's action and reported `escalated`.
    Now a void plan is nothing to recover, and the redelivery answers the refusal again, `failed`."""
    from shared.remediation.records import ACTIONS

    with fast_run("connector_saturation", "enforce", sustain=120, **REFUSING) as run:
        run.execute([Fault("vpcaccess", "PatchConnector", 0), PublishFault(1), Open(0, 0),
                     Fault("vpcaccess", "", clear=True)])
        assert not check_all(run), explain(run, check_all(run))
        [answer] = [o for obs in run.trace for o in obs.outcomes]
        assert answer.status.value == "failed" and "PERMISSION_DENIED" in answer.reason, answer.reason
        assert run.world.state.find_records(ACTIONS, "incident_id", answer.incident_id) == []
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()


def _evidence_reads(run) -> int:
    """Every call the API stand-ins answered: what reading the evidence (and any write) cost."""
    parts = (run.standins.run, run.standins.monitoring, run.standins.logging, run.standins.vpcaccess)
    return sum(len(part.calls) for part in parts)


def test_a_refusal_held_on_the_connector_answers_later_notifications_before_any_evidence_is_read() -> None:
    """The refusal is kept on the connector's claim (a service's alert scales its connector): the alert path's
    one read covered only the service's own claims and the recorded actions' targets, so each later
    notification read all the evidence (about 14 calls) before the gate answered the same duplicate. The
    claim's SETTLED entry, written with its completion, answers it from that read."""
    with fast_run("connector_saturation", "enforce", sustain=120, **REFUSING) as run:
        for step in (Fault("vpcaccess", "PatchConnector", 0), Open(0, 0)):
            run.step(step)
        reads = _evidence_reads(run)
        for step in (Renotify(0, 10), Renotify(0, 10)):
            run.step(step)
        assert _evidence_reads(run) == reads, run.describe()
        run.finish()
        assert not check_all(run), explain(run, check_all(run))
        for renotified in run.trace[2:4]:
            [outcome] = renotified.outcomes
            assert outcome.status.value == "skipped" and outcome.reason.startswith("duplicate"), outcome.reason
            assert "PERMISSION_DENIED" in outcome.reason and outcome.target == CONNECTOR, outcome.reason


def test_an_escalated_plan_held_on_the_connector_answers_later_notifications_before_any_evidence_is_read() -> None:
    """The sweep escalated a plan of unknown outcome and held its claim (Gate.hold_escalated); the claim is
    the connector's, so later notifications of the service's alert found it only at the gate."""
    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        for step in (StoreFault("write", 1, method="record_all"), Open(0, 0), Fault("vpcaccess", "GetConnector", 0),
                     Sweep(25), Fault("vpcaccess", "", clear=True)):
            run.step(step)
        reads = _evidence_reads(run)
        for step in (Renotify(0, 20), Renotify(0, 20)):
            run.step(step)
        assert _evidence_reads(run) == reads, run.describe()
        run.finish()
        assert not check_all(run), explain(run, check_all(run))
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()
        for renotified in run.trace[5:7]:
            [outcome] = renotified.outcomes
            assert outcome.status.value == "skipped" and outcome.reason.startswith("duplicate"), outcome.reason
