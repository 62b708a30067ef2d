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


def _command(run, body: dict, message_id: str):
    import json

    from shared.commands import handle_command
    from tests.integration.world import event

    [outcome] = handle_command(event(json.dumps(body).encode(), message_id), run.world.config, run.world.adapters)
    return outcome


def test_an_escalated_plans_hold_is_released_by_the_command_its_answer_names_and_by_nothing_else() -> None:
    """The hold of an escalated plan (its write may have landed) lasts until the plan expires: a later change
    of the target shows someone took it over, not that the write never landed. A person who checked releases
    it with the command the escalation names; the incident's next notification is then diagnosed afresh."""
    from shared.remediation.records import INTENTS

    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        for step in (StoreFault("write", 1, method="record_all"), Open(0, 0), Fault("vpcaccess", "GetConnector", 0),
                     Sweep(25), Fault("vpcaccess", "", clear=True), Renotify(0, 20)):
            run.step(step)
        [escalation] = run.trace[3].outcomes
        [plan] = [p for p in run.world.state.find_records(INTENTS, "claim_key", escalation.action.action_id)
                  if p.get("state") == "escalated"] or [None]
        key = f"{plan['incident_id']}|{plan['message_id']}"
        command = f"runwarden command release --target {CONNECTOR} --param 'intent={key}'"
        assert command in escalation.reason, escalation.reason
        body = {"command": "release", "command_id": "rel-1", "target": CONNECTOR, "params": {"intent": key},
                "requested_by": "someone@example.com", "reason": "checked: the patch never landed"}
        refused = _command(run, body, "c-0")
        assert refused.status.value == "rejected" and "operators" in refused.reason, refused.reason
        # Another plan of the claim escalated too, of another change: each release named the other as holding
        # the claim and refused, so neither could ever be released. The named one is released; the claim
        # stays held for the other until it is released in turn.
        other_key = f"{plan['incident_id']}|m-other"
        other = {**plan, "message_id": "m-other", "owner": "m-other:1", "params": {**plan["params"], "x": 1}}
        run.world.state.put_record(INTENTS, other_key, other)
        first = _command(run, {**body, "command_id": "rel-0", "requested_by": OPERATOR}, "c-00")
        assert first.status.value == "applied" and "stay held by" in first.reason and "m-other" in first.reason, \
            first.reason
        assert run.world.state.get_record(INTENTS, key)["state"] == "released"
        run.step(Renotify(0, 5))
        [still] = run.trace[-1].outcomes
        assert still.status.value == "skipped" and still.reason.startswith("duplicate"), still.reason
        # A twin (the same change, another message's plan, escalated with it) is released with it.
        run.world.state.update_record(INTENTS, key, {"state": "escalated"})
        twin_key = f"{plan['incident_id']}|m-twin"
        run.world.state.put_record(INTENTS, twin_key, {**plan, "message_id": "m-twin", "owner": "m-twin:1"})
        other_body = {**body, "params": {"intent": other_key}, "requested_by": OPERATOR}
        assert _command(run, {**other_body, "command_id": "rel-4"}, "c-01").status.value == "applied"
        released = _command(run, {**body, "command_id": "rel-2", "requested_by": OPERATOR}, "c-1")
        assert released.status.value == "applied" and "m-twin" in released.reason, released.reason
        assert {run.world.state.get_record(INTENTS, k)["state"] for k in (key, twin_key, other_key)} == {"released"}
        again = _command(run, {**body, "command_id": "rel-3", "requested_by": OPERATOR}, "c-2")
        assert again.status.value == "rejected" and "not escalated" in again.reason, again.reason
        run.step(Renotify(0, 5))
        [after] = run.trace[-1].outcomes
        assert after.status.value == "applied", after.reason
        assert run.standins.vpcaccess.count("PatchConnector") == 2, run.describe()


def test_a_takeover_escalated_for_another_messages_open_plan_keeps_the_claim_until_that_plan_is_judged() -> None:
    """The first attempt patched the connector and could not record it; past its lease a re-notification
    took the claim over, found that plan open (unjudged: the sweep had not come yet) and escalated, giving
    the claim back. The next notification then claimed afresh, and a fresh claim is no takeover, so no plan
    was read: with no cooldown in the way, it patched the connector a second time for one incident. Now
    the takeover keeps the claim, completed as its escalation, for a lease: the plan's judge comes first."""
    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        run.execute([StoreFault("write", 1, method="record_all"), Open(0, 0), Renotify(0, 16), Renotify(0, 1),
                     Sweep(10), Renotify(0, 1)])
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()
        assert not check_all(run), explain(run, check_all(run))
        [held] = run.trace[2].outcomes
        assert held.status.value == "escalated" and "never recorded" in held.reason, held.reason
        [later] = run.trace[3].outcomes
        assert later.status.value == "skipped" and later.reason.startswith("duplicate"), later.reason


def test_a_release_where_the_claims_write_was_recorded_says_what_still_answers_the_incident() -> None:
    """The escalated plan's claim has an action record (its write was recorded, under another plan of the
    claim): the release closed the plan and answered that the next notification "is diagnosed afresh and
    may write", while the record (and the claim) kept answering every notification as a duplicate. The
    answer says what still answers it."""
    from datetime import timedelta

    from shared.remediation.records import ACTIONS, INTENTS, ActionRecord

    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        for step in (StoreFault("write", 1, method="record_all"), Open(0, 0), Fault("vpcaccess", "GetConnector", 0),
                     Sweep(25), Fault("vpcaccess", "", clear=True)):
            run.step(step)
        [escalation] = run.trace[3].outcomes
        claim = escalation.action.action_id
        [plan] = [p for p in run.world.state.find_records(INTENTS, "claim_key", claim) if p.get("state") == "escalated"]
        record = ActionRecord(key=claim, incident_id=plan["incident_id"], target=plan["target"],
                              service=plan["service"], action=plan["action"], params=plan["params"], signature=plan.get("signature") or "connector_saturation",
                              before=plan["before"], after=plan["after"], reversible=False,
                              applied_at=plan["noted_at"], settle_at=plan["noted_at"] + timedelta(minutes=5),
                              deadline_at=plan["noted_at"] + timedelta(minutes=30))
        run.world.state.put_record(ACTIONS, claim, record.model_dump(mode="python"))
        key = f"{plan['incident_id']}|{plan['message_id']}"
        body = {"command": "release", "command_id": "rel-1", "target": CONNECTOR, "params": {"intent": key},
                "requested_by": OPERATOR, "reason": "checked"}
        released = _command(run, body, "c-1")
        assert released.status.value == "applied", released.reason
        assert "stay duplicates of action" in released.reason and "afresh" not in released.reason, released.reason
        run.step(Renotify(0, 5))
        [after] = run.trace[-1].outcomes
        assert after.status.value == "skipped" and after.reason.startswith("duplicate"), after.reason
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()


def test_the_generated_release_lifts_an_escalated_hold_and_the_invariants_count_the_incident_afresh() -> None:
    """The soak's `Release` step (programs.steps): the operator releases the incident's escalated plan found in
    state, as its answer names it. Before it, the re-notification is the hold's duplicate; after it, the
    incident's next notification is diagnosed afresh and patches again, which `once_per_claim` counts afresh
    (a person checked the connector), while a release that finds no plan is rejected and lifts nothing."""
    from tests.property.harness import Release
    from tests.property.invariants import once_per_claim

    with fast_run("connector_saturation", "enforce", sustain=180, **ONE_WAY) as run:
        for step in (Release(1, 1), StoreFault("write", 1, method="record_all"), Open(0, 0),
                     Fault("vpcaccess", "GetConnector", 0), Sweep(25), Fault("vpcaccess", "", clear=True),
                     Renotify(0, 20), Release(0, 0), Release(0, 0), Renotify(0, 20)):
            run.step(step)
        run.finish()
        problems = check_all(run)
        assert not problems, explain(run, problems)
        statuses = [[o.status.value for o in obs.outcomes] for obs in run.trace]
        assert statuses[0] == ["rejected"] and statuses[6] == ["skipped"], run.describe()
        assert statuses[7] == ["applied"] and statuses[8] == ["skipped"], run.describe()   # the resend: a duplicate
        assert run.trace[9].vpc_writes == 1 and run.standins.vpcaccess.count("PatchConnector") == 2, run.describe()
        run.trace[7].step = run.trace[6].step   # as if no release had come between: a second patch of the incident
        assert once_per_claim(run) == [f"{run.trace[2].incident}|{CONNECTOR}|scale_connector acted 2 times"]


def test_a_released_escalation_keeps_its_write_known_after_the_sweep() -> None:
    """The soak's counterexample (batch seed 20261214, dead-lettered): the patch took and its record failed,
    the sweep escalated the plan (the connector unreadable), and an operator released the hold. The release
    closed the plan `void` ("nothing was written"), so after the sweep past every lease the patch that took
    effect was known to no record: no action record, no escalated plan (`every_write_known`). Now the plan is
    closed `released`, with the person's name and reason: it holds nothing, and it keeps the write known; the
    budget slots and cooldown taken before the write are not given back."""
    from shared.remediation.guardrails import BUDGETS, COOLDOWNS, bound_key
    from shared.remediation.records import ACTIONS, INTENTS
    from tests.property.harness import Release
    from tests.property.invariants import every_write_known
    from tests.property.programs import HELD_PREFIX

    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        for step in (*HELD_PREFIX, Open(0, 0), Release(0, 0)):
            run.step(step)
        run.dead_letter()
        assert not check_all(run) + every_write_known(run), explain(run, check_all(run) + every_write_known(run))
        [released] = run.trace[len(HELD_PREFIX) + 1].outcomes
        assert released.status.value == "applied" and "not as unwritten" in released.reason, released.reason
        state = run.world.state
        [plan] = state.find_records(INTENTS, "incident_id", run.trace[1].incident)
        assert (plan["state"], plan["closed_by"]) == ("released", OPERATOR), plan
        assert state.find_records(ACTIONS, "incident_id", plan["incident_id"]) == [], run.describe()
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()
        # What the claim took before the write stays taken (only the claim is given back).
        assert state.get(COOLDOWNS, bound_key(CONNECTOR)) is not None or not run.world.config.guardrails.cooldown_seconds
        assert any(state.get(BUDGETS, k) is not None for k in _slot_keys(run)), run.describe()


def _slot_keys(run) -> list[str]:
    """Every budget slot key the connector's writes could take now (guardrails.budget_buckets, slot_keys)."""
    from shared.remediation.guardrails import budget_buckets, slot_keys

    now = run.world.adapters.clock.now()
    return [k for scope, bucket, capacity in budget_buckets(run.world.config, CONNECTOR, now)
            for k in slot_keys(f"{scope}|{bucket}", capacity)]
