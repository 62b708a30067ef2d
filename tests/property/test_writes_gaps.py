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
