"""The fast tier in CI: the same programs and invariants as test_invariants.py, on in-process parts.

`make soak` runs 10^5 of these programs (tests/property/soak.py); CI runs a few hundred
(RUNWARDEN_FAST_EXAMPLES), derandomized under CI=true like the real-parts tier. No emulator is
needed. The in-process parts are described in tests/property/fast.py and docs/testing.md.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.remediation.judging import HealthKind, StepKind, judge, next_step
from shared.remediation.records import PROPOSALS
from shared.remediation.refusals import Held
from tests.property.fast import fast_run, run_sample
from tests.property.harness import (CONNECTOR, LATE_REVISION, OPERATOR, SERVICE, ApprovalTry, Approve, Close,
                                    Concurrent, Fault, LateDeploy, Observation, Open, OperatorRestore, OperatorRollback, OperatorScale, Pause,
                                    OtherShape, PersonConnector, PublishFault, QuotaFault, Renotify, Respelled, RESPELLINGS, Skewed,
                                    StoreFault, Sweep)
from tests.property.invariants import (approvals_hold_their_world, check_all, explain, late_deploys_never_overwritten,
                                       once_per_claim,
                                       outcomes_agree, paused_targets_untouched, quota_refusals_sent_again_once,
                                       undo_escalated_not_written_again)
from tests.property.programs import HELD_PREFIX, WRITES, scenario_programs

CI = os.environ.get("CI", "").strip().lower() == "true"
EXAMPLES = int(os.environ.get("RUNWARDEN_FAST_EXAMPLES", "300"))
POLICY = {"guardrails": {"cooldown_seconds": 1800}, "operators": [OPERATOR],
          "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=CI, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.timeout(max(300, EXAMPLES * 2))
@_settings(EXAMPLES)
@given(sample=scenario_programs())
def test_every_invariant_on_in_process_parts(sample: tuple[str, dict, list]) -> None:
    run, problems = run_sample(sample)
    assert not problems, explain(run, problems)


@pytest.mark.timeout(300)
@_settings(max(1, EXAMPLES // 3))
@given(scenario=st.sampled_from(["bad_revision", "connector_saturation"]), data=st.data())
def test_duplicates_and_concurrent_deliveries_act_once(scenario: str, data: st.DataObject) -> None:
    """Only deliveries of one open incident (redeliveries, new message ids, 2-4 threads at once, an
    instance with a skewed clock), in enforce mode: exactly one write lands."""
    deliveries = st.one_of(st.builds(Open, st.just(0), st.integers(0, 2)),
                           st.builds(Concurrent, st.just(0), st.integers(0, 2), st.integers(2, 4), st.booleans()),
                           # Ahead only: an instance 2 min behind, at T0 + 2 min, sees no incident yet.
                           st.builds(Skewed, st.just(0), st.integers(0, 2), st.sampled_from([60, 120])))
    program = data.draw(st.lists(deliveries, min_size=1, max_size=5))
    with fast_run(scenario, "enforce", **POLICY) as run:
        run.execute(program)
        problems = check_all(run)
        writes = sum(o.run_writes + o.vpc_writes for o in run.trace)
        if writes != 1:
            problems.append(f"{writes} writes took effect for one open incident; exactly one expected")
        assert not problems, explain(run, problems)


# --- the fixed regressions of test_regressions.py, on in-process parts ----------------------------


def test_an_accepted_connector_patch_whose_wait_failed_acts_once_and_is_recorded() -> None:
    with fast_run("connector_saturation", "enforce", **POLICY) as run:
        run.execute([Fault("vpcaccess", "GetOperation", 3), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 1


def test_an_accepted_rollback_whose_wait_failed_is_recorded() -> None:
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Fault("run", "GetOperation", 10_000), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.run.count("UpdateService") == 1


# --- the parts act as the real ones on the paths the invariants rely on -----------------------------


def test_an_open_incident_is_rolled_back_once_and_published() -> None:
    """The fast tier reaches the write: a tier where every alert escalated would keep every invariant."""
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Open(0, 0), Open(0, 0), Open(0, 1)])
        assert not check_all(run)
        assert [o.status.value for o in run.returned_outcomes()] == ["applied", "skipped", "skipped"]
        assert run.standins.run.count("UpdateService") == 1
        assert len(run.world.published()) == 3


def test_the_run_standin_dates_a_rollback_by_the_worlds_clock() -> None:
    """A service's update_time is stamped by the world's pinned clock, as World's stand-ins stamp it: on wall
    time, an answer naming when the service last changed differed between two runs of one program."""
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Open(0, 0)])
        assert run.standins.run.count("UpdateService") == 1
        service = run.standins.run._services[SERVICE]
        assert service.update_time == run.world.clock.now()


def _audited_principals(run) -> list[str]:
    """The principals of the service's changes, as the product's own audit query reads them through the world's
    Logging adapter (the answers kept by request, where the world still shares them)."""
    from shared.diagnosis.log_signals import audit_filter
    from shared.gcp.logging import merge_operation_entries

    query = audit_filter("demo-project", "backend", "us-central1", run.world.anchor,
                         run.world.anchor + timedelta(minutes=60))
    entries = merge_operation_entries(run.world.adapters.logging.list_entries("demo-project", query, 100)).entries
    return sorted(e.principal for e in entries)


def test_the_worlds_writes_are_audited_into_its_own_logging_and_read_afresh() -> None:
    """A person's split move and Runwarden's own rollback write their Admin Activity entries into the world's
    Logging, as World's stand-ins do (`audit_into`), and the sweep's and alert path's audit reads see them: read
    before the writes, the same query then answers with them (Logging's answers are no longer shared by request
    once a write landed). Another world of the same seeded scenario sees none of them. Before, the fast tier's Run
    stand-in had no audit sink: its worlds never saw an audit entry."""
    from sandbox.standins.run import RUNWARDEN_CALLER, TrafficSeed

    with fast_run("bad_revision", "enforce", **POLICY) as run:
        before = _audited_principals(run)
        run.execute([Open(0, 0)])
        run.standins.run.set_traffic(SERVICE, [TrafficSeed(50, "backend-00001-abc"),
                                               TrafficSeed(50, "backend-00002-xyz")], by="alice@example.com")
        after = _audited_principals(run)
    with fast_run("bad_revision", "enforce", **POLICY) as other:
        untouched = _audited_principals(other)
    assert sorted([*before, "alice@example.com", RUNWARDEN_CALLER]) == after
    assert untouched == before


def test_a_paused_service_is_not_written_and_an_operator_rollback_acts_once() -> None:
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Pause("service", True), Open(0, 0), Pause("service", False),
                     OperatorRollback(0, named=True), OperatorRollback(0, named=True)])
        assert not check_all(run)
        statuses = [o.status.value for obs in run.trace for o in obs.outcomes]
        assert statuses[:3] == ["applied", "skipped", "applied"], statuses   # pause, the alert held back, resume
        assert run.standins.run.count("UpdateService") == 1


def test_a_paused_services_alert_does_not_scale_its_connector_and_an_operators_scale_does() -> None:
    """A pause of the service holds back every write made for its alerts: the connector scale its alert
    asks for is skipped. An operator's own scale_connector command is made for no alert: it writes. The
    invariant sees a connector write by the service's alert while it is paused."""
    with fast_run("connector_saturation", "enforce", **POLICY) as run:
        run.execute([Pause("service", True), Open(0, 0), OperatorScale(0, 4)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        statuses = [o.status.value for obs in run.trace for o in obs.outcomes]
        assert statuses == ["applied", "skipped", "applied"], statuses
        assert run.standins.vpcaccess.count("PatchConnector") == 1
        _observation(run, 1, patch_calls=1, vpc_writes=1)   # as if the paused service's alert had scaled it
        assert paused_targets_untouched(run) == [f"step #1 {run.trace[1].step}: 1 PatchConnector call(s) for the "
                                                 "service's alerts while the service was paused"]


def test_an_operators_scale_resent_after_a_fault_while_the_service_is_paused_is_the_operators_own() -> None:
    """The soak's counterexample (seed 1773847833): an operator's scale_connector met a state-store fault
    and was resent by the platform after the service was paused. The resend is the operator's own command,
    made for no alert, so the service's pause does not hold it back (only the connector's would); the
    invariant had taken the resend for a write made for the service's alert."""
    proposing = {"guardrails": {"cooldown_seconds": 0}, "operators": [OPERATOR],   # the alert only proposes
                 "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": False, "max_instances_ceiling": 4}]}}
    with fast_run("connector_saturation", "enforce", **proposing) as run:
        run.execute([StoreFault("read", 1), OperatorScale(0, 4), Open(0, 0), Pause("service", True)])
        run.finish()
        problems = check_all(run)
        assert not problems, explain(run, problems)
        resent = [obs for obs in run.trace if str(obs.step).startswith("resend(scale_connector")]
        assert [obs.patch_calls for obs in resent] == [1], run.describe()
        assert run.standins.vpcaccess.count("PatchConnector") == 1


def test_an_operators_restore_releases_the_pin_once_and_is_counted_per_claim() -> None:
    """restore_traffic in the soak's mix: an operator's to_latest after the rollback releases the pin
    (one UpdateService), its resend is a duplicate, and a restore naming a rollback no incident made is
    rejected. Its answer does not say the sweep verifies it: a corrective write keeps no action record. The
    invariants count its write on its own claim, and see a second one."""
    from shared.remediation.records import PINS

    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Open(0, 0), OperatorRestore(0, True), OperatorRestore(0, True), OperatorRestore(1, False, 1),
                     Sweep(16)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        statuses = [o.status.value for obs in run.trace[:4] for o in obs.outcomes]
        assert statuses == ["applied", "applied", "skipped", "rejected"], statuses
        restored = run.trace[1].outcomes[0]
        assert "verifies" not in restored.reason and "not verified later" in restored.reason, restored.reason
        assert run.standins.run.count("UpdateService") == 2
        assert run.world.state.get_record(PINS, SERVICE)["pinned"] is False
        _observation(run, 2, run_writes=1)   # as if the resend had written again
        assert once_per_claim(run) == [f"command:op-restore-0|{SERVICE}|restore_traffic acted 2 times"]


# The soak's worlds (tests/property/programs.py) run with cooldown 0: the alert's rollback may land between
# a restore and its resend.
NO_COOLDOWN = {**POLICY, "guardrails": {"cooldown_seconds": 0}}


# The faults name the writes they hit in the soak's programs (the gate's commit, the command's own record and,
# with a pin, the restore's note on it): since the restore stores its own note first (records.RestoreNote), a
# fault of "the next writes" would hit that note instead, before anything is written.
@pytest.mark.parametrize("program", [
    # batch seed 3604066801: the very same command sent again
    [StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"),
     OperatorRestore(0, True), OperatorRestore(0, True), Open(0, 0)],
    # batch seed 1576518323: another restore under the same command_id
    [Concurrent(1, 0, 2, True), StoreFault("write", 1, method="update_record"),
     StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"),
     OperatorRestore(0, True), OperatorRestore(0, False, 1)],
], ids=["same-body", "other-body"])
def test_a_restore_whose_records_failed_is_never_written_again_after_the_service_changed(program) -> None:
    """The soak's counterexample (docs/testing.md): the restore wrote, the commit recording it failed and so
    did the command's own record (answered `escalated`, "could not be recorded"); a second send under the
    same command_id waited on the first's claim, an alert rolled the service back meanwhile, and the resend
    past the claim's lease restored again: two writes under one command_id. A restore keeps no intent, so
    nothing told the resend the first attempt had written; the rollback made the restore look undone. Now
    the gate claim the first attempt left unfinished holds it back: `escalated`, nothing written."""
    with fast_run("bad_revision", "enforce", **NO_COOLDOWN) as run:
        run.execute(program)
        run.finish()
        problems = check_all(run)
        assert not problems, explain(run, problems)
        restores = [obs for obs in run.trace if "restore" in str(obs.step)]
        assert sum(obs.run_writes for obs in restores) == 1, run.describe()
        answered = [o for obs in restores for o in obs.outcomes]
        assert [o.status.value for o in answered] == ["escalated"] * 3, run.describe()
        assert "never finished it" in answered[1].reason and "nothing written again" in answered[1].reason, \
            answered[1].reason


def test_a_restore_whose_command_record_failed_is_a_duplicate_after_the_service_changed() -> None:
    """The same with the gate's claim completed (the restore recorded as done) and only the command's own
    record lost: the resend past its claim's lease is a duplicate of the gate's `applied`, not a second
    restore over the alert's rollback made since."""
    with fast_run("bad_revision", "enforce", **NO_COOLDOWN) as run:
        run.execute([StoreFault("write", 1, method="complete"), OperatorRestore(0, True), OperatorRestore(0, True),
                     Open(0, 0)])
        run.finish()
        problems = check_all(run)
        assert not problems, explain(run, problems)
        restores = [obs for obs in run.trace if "restore" in str(obs.step)]
        assert sum(obs.run_writes for obs in restores) == 1, run.describe()
        answered = [o for obs in restores for o in obs.outcomes]
        assert [o.status.value for o in answered] == ["applied", "skipped", "skipped"], run.describe()
        assert "already made its change" in answered[1].reason and "applied at" in answered[1].reason, \
            answered[1].reason


# The soak's world of batch seed 677711083: no cooldown, one action per target per hour and per day.
ONE_A_DAY = {**POLICY, "guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1,
                                      "max_actions_per_target_per_day": 1}}


def test_a_sweeps_undo_whose_record_failed_is_never_written_again_by_a_later_sweep() -> None:
    """The soak's counterexample (batch seed 677711083, docs/testing.md): the sweep undid a rollback that did
    not help, the commit recording the undo failed twice (UNAVAILABLE) and the sweep raised; the next sweep,
    past the undo's claim's lease, found the record still `undoing` and wrote the same restore again. Now the
    gate's claim the first undo left unfinished holds it back: `escalated`, naming the write, nothing written."""
    with fast_run("bad_revision", "enforce", 90, **ONE_A_DAY) as run:
        run.execute([Open(0, 0), StoreFault("write", 2, method="record_all"), Sweep(16), Sweep(30)])
        run.finish()
        problems = check_all(run) + undo_escalated_not_written_again(run)
        assert not problems, explain(run, problems)


# --- the invariants can fail ------------------------------------------------------------------------


def _observation(run, index: int, **changes) -> None:
    obs: Observation = run.trace[index]
    for name, value in changes.items():
        setattr(obs, name, value)


def test_the_invariants_see_a_write_to_a_paused_target_a_second_action_and_a_second_answer() -> None:
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Pause("service", True), Open(0, 0), Open(0, 1)])
        assert not check_all(run)
        _observation(run, 1, update_calls=1, run_writes=1)   # as if the paused service had been written
        _observation(run, 2, run_writes=1, outcomes=run.trace[2].outcomes * 2)
        assert paused_targets_untouched(run) == [f"step #1 {run.trace[1].step}: 1 UpdateService call(s) while "
                                                 "the service was paused"]
        assert once_per_claim(run) == [f"0.alpha|{SERVICE}|rollback_traffic acted 2 times"]
        assert any("2 outcome(s) for 1 answered deliveries" in p for p in outcomes_agree(run))


# --- Runwarden's own dependencies failing: the state store and the outcome publish ------------------

CONNECTOR_AT_ONE = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1},
                    "operators": [OPERATOR],
                    "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 3,
                                               "max_instances_step": 1}]}}


@pytest.mark.parametrize("fault", [StoreFault("read", 3), StoreFault("claim", 1),
                                   StoreFault("claim", 1, "DEADLINE_EXCEEDED", lost=True)],
                         ids=str)
def test_a_state_store_fault_before_the_write_is_redelivered_and_acts_once(fault: StoreFault) -> None:
    """Fail closed: the delivery raises (no write), the redelivery acts once and says so."""
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([fault, Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.trace[1].transient == 1 and run.trace[1].store_faults >= 1, run.describe()
        assert run.standins.run.count("UpdateService") == 1
        assert [o.status.value for o in run.returned_outcomes()] == ["applied"], run.describe()


def test_an_outcome_publish_that_fails_is_redelivered_without_a_second_write() -> None:
    """The handler raises so that Pub/Sub redelivers; the redelivery does not write again, and its
    outcome (the only one published) says the action was already applied, and what it changed."""
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([PublishFault(1), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.trace[1].transient == 1 and run.standins.run.count("UpdateService") == 1
        [published] = run.world.published()
        assert published["status"] == "skipped" and "already completed (applied)" in published["reason"], published
        assert published["action"]["after"], published


def test_a_state_store_fault_after_the_write_is_escalated_at_once() -> None:
    """docs/behaviour.md, Faults, "Firestore, after the write": the change could not be recorded, so
    the outcome is escalated at once, naming the action (the invariants accept no other unrecorded write)."""
    with fast_run("connector_saturation", "enforce", **CONNECTOR_AT_ONE) as run:
        run.execute([StoreFault("write", 1, method="record_all"), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        [outcome] = run.returned_outcomes()
        assert outcome.status.value == "escalated" and "could not be recorded" in outcome.reason, outcome.reason


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
def test_an_unrecorded_change_whose_escalation_could_not_be_published_is_still_reported(scenario: str) -> None:
    """Found by `make soak`: the write took, completing its claim failed (so no action record), the
    escalated outcome's publish failed, the handler raised; the redelivery re-diagnosed the changed
    connector and escalated "saturated at the policy's ceiling", naming no change (or, for a
    rollback, waited on the claim the dead attempt held). Fixed by the intent stored before the
    write (shared/remediation/intents.py): the redelivery finds the planned change in place,
    records it for the sweep and reports it, writing nothing again."""
    policy = CONNECTOR_AT_ONE if scenario == "connector_saturation" else POLICY
    with fast_run(scenario, "enforce", **policy) as run:
        run.execute([PublishFault(1), StoreFault("write", 1, method="record_all"), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.trace[2].transient == 1, run.describe()
        [outcome] = run.trace[-1].outcomes
        assert outcome.status.value == "escalated" and "was applied by that earlier attempt" in outcome.reason, \
            outcome.reason
        assert run.standins.run.count("UpdateService") + run.standins.vpcaccess.count("PatchConnector") == 1
        [record] = run.action_records()
        assert record["state"] == "pending", record


@pytest.mark.parametrize("command", [OperatorRollback(0, named=False), OperatorScale(0, 4)], ids=str)
def test_an_operator_command_whose_records_failed_is_still_reported(command) -> None:
    """Found by `make soak` (fixed in shared/commands/__init__.py `_run`): the command's write took,
    completing the gate's claim failed (so its result was the escalation "could not be recorded"),
    then completing the command's own claim failed too. handle_command raised, so that escalation
    was never published, and the resend only waited on the command claim the first attempt still
    held: a change nobody recorded or heard of. Now the answer is published, noting the missing record."""
    scenario = "bad_revision" if isinstance(command, OperatorRollback) else "connector_saturation"
    with fast_run(scenario, "enforce", **POLICY) as run:
        run.execute([StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"), command])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        [outcome] = run.trace[2].outcomes
        assert outcome.status.value == "escalated" and "could not be recorded" in outcome.reason, outcome.reason
        assert any("record could not be completed" in note for note in outcome.notes), outcome.notes
        assert run.standins.run.count("UpdateService") + run.standins.vpcaccess.count("PatchConnector") == 1


def test_an_operator_can_pause_a_connector_that_has_no_written_policy() -> None:
    """Found by `make soak`: with no policy in bounds.connectors, the alert proposed a change to the
    connector under the default policy, the operator's pause of that connector was rejected ("not in
    the inventory: bounds.connectors has no policy for it"), and the approval then patched it: a
    target Runwarden writes to that no one could put the brakes on. Fixed in
    shared/commands/inventory.py: pause and resume accept any connector."""
    with fast_run("connector_saturation", "enforce", operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), Pause("connector", True), Approve(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert [o.status.value for o in run.trace[1].outcomes] == ["applied"], run.describe()
        assert [o.status.value for o in run.trace[2].outcomes] == ["skipped"], run.describe()
        assert run.standins.vpcaccess.count("PatchConnector") == 0


@pytest.mark.parametrize("faults", [(StoreFault("write", 1),), (StoreFault("write", 1, method="record_all"),),
                                    (StoreFault("write", 1, method="record_all"),
                                     StoreFault("write", 1, method="complete"))], ids=lambda f: "; ".join(map(str, f)))
@pytest.mark.parametrize("command", [OperatorRollback(0, named=False), OperatorScale(0, 4)], ids=str)
def test_a_command_whose_change_was_not_recorded_and_whose_answer_was_lost_is_still_reported(command, faults) -> None:
    """Found by `make soak`: `publish_fault(×1); store_fault(write ×1); <command>`: the command's write
    took, completing the gate's claim failed (the answer: escalated, "could not be recorded"), the
    command's own record completed, and the answer's publish failed, so the handler raised. The
    resend found the command completed and answered `skipped`, quoting the first answer: the change
    had no action record, so the sweep never judged it, and no `escalated` outcome reached a person.

    Fixed (shared/commands/recovery.py): the gate stores a command's intent before its write, as an
    alert's; the resend finds it with no action record, sees the planned change in place, records it
    for the sweep and answers `escalated`, naming the change, writing nothing again. Three faults:
    - `write ×1` now fails the intent itself: no write, the resend acts once;
    - `write record_all ×1`: the gate's one commit after the write (the claim's completion with the
      action record) fails, the command's record completes (the resend is a duplicate whose intent
      is recovered);
    - and `write complete ×1` besides: the command's record fails too, so the resend waits out the
      first attempt's claim (CommandInProgress, then its lease lapses) and takes it over."""
    scenario = "bad_revision" if isinstance(command, OperatorRollback) else "connector_saturation"
    with fast_run(scenario, "enforce", **POLICY) as run:
        run.execute([PublishFault(1), *faults, command])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.trace[1 + len(faults)].transient == 1, run.describe()
        assert run.standins.run.count("UpdateService") + run.standins.vpcaccess.count("PatchConnector") == 1
        [record] = run.action_records()
        command_id = f"op-{'rollback' if isinstance(command, OperatorRollback) else 'scale'}-0"
        assert record["state"] == "pending" and record["command_id"] == command_id, record
        [answer] = run.trace[-1].outcomes
        if faults[0].method:     # the change was made by the first attempt, recorded by the resend
            assert answer.status.value == "escalated" and "applied by an earlier attempt" in answer.reason, \
                run.describe()
            assert answer.action is not None and answer.action.action_id == record["key"], answer
        else:                # the first attempt wrote nothing: the resend acts, once
            assert answer.status.value == "applied", run.describe()


# --- approvals: exactly the approved action, only while its world holds, once -------------------------

PROPOSING = {"guardrails": {"cooldown_seconds": 1800}, "operators": [OPERATOR],
             "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": False, "max_instances_ceiling": 6,
                                        "max_instances_step": 3}]}}


@pytest.mark.parametrize("change", [0, 1])   # PERSON_CONNECTOR_CHANGES: one more max instance, e2-standard-4
def test_an_approval_whose_connector_a_person_changed_after_its_check_is_superseded(change: int) -> None:
    """Found by `make soak` once approvals were drawn with a person's change just after the gate's
    claim: the approval's check had read the connector as proposed, the gate then patched it with
    the proposal's values over the person's change. Max 3 -> 4 by hand: the patch asked max 3 again,
    the API refused it (400 "can only be increased"), and the approval answered `failed` with the
    API's words, not that the world changed; e2-standard-4 by hand: the patch was sent and the
    approval `applied` on a connector nobody had approved a change of.

    Fixed (scale_connector's apply): the connector is read right before the patch (the v1 Connector
    has no etag) and a change since the plan is StaleEvidenceError: nothing is sent, the gate
    escalates, and the approval closes the proposal superseded, saying what to do."""
    with fast_run("connector_saturation", "enforce", **PROPOSING) as run:
        run.execute([Open(0, 0), PersonConnector(change, at_claim=True), Approve(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 0, run.describe()
        [approval] = run.trace[2].approvals
        [answer] = approval.outcomes
        assert answer.status.value == "escalated" and "TARGET_CHANGED" in answer.reason, run.describe()
        assert any("closed as superseded" in note for note in answer.notes), answer.notes
        [proposal] = run.world.state.find_records(PROPOSALS, "incident_id", "0.alpha")
        assert proposal["state"] == "superseded", proposal


def test_an_alert_whose_connector_a_person_changed_before_the_write_writes_nothing() -> None:
    """The same class on the alert's path (one-way allowed): the evidence read, a person's change
    landing at the gate's claim, no patch on the changed connector; escalated to a person."""
    with fast_run("connector_saturation", "enforce", **POLICY) as run:
        run.execute([PersonConnector(0, at_claim=True), Open(0, 0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 0, run.describe()
        [answer] = run.trace[1].outcomes
        assert answer.status.value == "escalated" and "TARGET_CHANGED" in answer.reason, run.describe()


def test_the_approval_invariants_see_a_write_after_expiry_and_an_approval_without_an_answer() -> None:
    """approvals_hold_their_world can fail: a trace whose approval wrote after its proposal expired,
    and another approval that got no answer."""
    with fast_run("connector_saturation", "enforce", **PROPOSING) as run:
        run.execute([Open(0, 0), Approve(0, 0)])
        [approval] = run.trace[1].approvals
        assert approval.outcomes[0].status.value == "applied", run.describe()
        approval.proposal = dict(approval.proposal, expires_at=approval.at)
        run.trace[1].approvals.append(ApprovalTry("approve-9", "0.alpha", False, approval.at, None))
        problems = approvals_hold_their_world(run)
        assert any("after its proposal expired" in p for p in problems), problems
        assert any("approve approve-9 got 0 answers" in p for p in problems), problems


def test_a_refused_approval_whose_answer_was_lost_says_why() -> None:
    """Found by `make soak` (batch seed 8206): the incident closed, the approval's check refused it,
    recording the refusal landed and its answer was lost, so the attempt raised and the platform
    resent the command. The resend found the proposal `refused` and answered only "p-... is already
    refused by oncall@example.com": nobody heard why nothing was applied. Fixed (approval.py): a
    proposal this very command refused (or closed superseded) is answered again with the reason
    (tests/integration/test_commands.py covers both on Firestore). Since the refusal is written in the
    commit that completes the command's record and keeps its answer (soak batch seed 1127799585),
    that commit's lost answer is answered at once, with the reason, and nothing later says otherwise."""
    with fast_run("connector_saturation", "enforce", **PROPOSING) as run:
        run.execute([Open(0, 0), Close(0, 0), StoreFault("write", 1, lost=True), Approve(0, 0), Sweep(70)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        answers = [o for o in run.returned_outcomes() if o.command_id == "approve-0"]
        assert answers and len({o.outcome_id for o in answers}) == 1, explain(run, [o.reason for o in answers])
        for answer in answers:
            assert answer.status.value == "skipped" and "the world changed since the proposal" in answer.reason, answer
            assert "incident 0.alpha closed" in answer.reason, answer.reason
        assert run.standins.vpcaccess.count("PatchConnector") == 0


@pytest.mark.parametrize("change", [0, 1])   # PERSON_CONNECTOR_CHANGES: one more max instance, e2-standard-4
def test_a_plan_whose_store_lost_its_answer_is_voided_when_the_attempt_gives_back(change: int) -> None:
    """Found by `make soak` (batch seed 20261211): the approval's intent was stored before its write
    and the answer lost (its create_record, DEADLINE_EXCEEDED after the commit landed), so the attempt gave
    back and raised, writing nothing, but left its plan open: it believed the plan unstored. A
    person's change landed meanwhile. The resend found the open plan and no action record and
    judged the connector by it: e2-standard-4 (the planned change, made by the person) was
    "applied by an earlier attempt at this command", recorded as Runwarden's write and the proposal
    ended `applied`; one more instance (neither state) was escalated as a write that "may have been
    written". Nothing had been written. Fixed (guardrails.py): a give-back voids the plan whenever its
    store was attempted, answered or not (the void is guarded on this attempt's own open plan)."""
    with fast_run("connector_saturation", "enforce", **PROPOSING) as run:
        run.execute([Open(0, 0), StoreFault("write", 2, lost=True, method="create_record"),
                     Approve(0, 0, person=change)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        assert run.standins.vpcaccess.count("PatchConnector") == 0, run.describe()
        assert run.action_records() == [], run.action_records()
        [resent] = run.trace[-1].approvals
        [answer] = resent.outcomes
        assert answer.status.value == "skipped" and "the world changed since the proposal" in answer.reason, answer


def test_a_superseded_approval_whose_publish_failed_is_heard_whole_from_the_resend() -> None:
    """Found by `make soak` (batch seed 424258): the approval was superseded (a person's change at the
    gate's claim), its command record completed, and its answer's publish failed, so the attempt
    raised. The resend's duplicate answer quoted the first reason but dropped its notes: that the
    proposal is closed as superseded, cannot be approved again, and how to go on. A command's record
    now keeps its answer's notes, and a duplicate of it carries them; and the answer itself is kept
    until published (shared/commands/answers.py), so the resend publishes that very answer."""
    from tests.property.harness import _Resend

    with fast_run("connector_saturation", "enforce", **PROPOSING) as run:
        run.execute([Open(0, 0), PublishFault(1), Approve(0, 0, person=0)])
        problems = check_all(run)
        assert not problems, explain(run, problems)
        [answer] = run.trace[-1].outcomes
        assert answer.status.value == "escalated" and not answer.reason.startswith("duplicate:"), answer
        assert any("is closed as superseded" in note for note in answer.notes), answer.notes
        # Sent once more, after its answer was published: a duplicate, which quotes it whole.
        again = run.step(_Resend({"command": "approve", "command_id": "approve-0", "requested_by": OPERATOR,
                                  "reason": "generated program", "params": answer_params(run)}))
        [duplicate] = again.outcomes
        assert duplicate.status.value == "escalated" and duplicate.reason.startswith("duplicate:"), duplicate
        assert any("is closed as superseded" in note for note in duplicate.notes), duplicate.notes
        assert run.standins.vpcaccess.count("PatchConnector") == 0


def answer_params(run) -> dict:
    """The params of the approve the harness sent for incident 0 (its proposal's id)."""
    from shared.remediation.guardrails import claim_key, proposal_id_for
    from tests.property.harness import INCIDENTS

    return {"proposal_id": proposal_id_for(claim_key(INCIDENTS[0], CONNECTOR, "scale_connector"))}


ONE_WAY = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 2,
                          "max_actions_per_target_per_day": 2, "claim_retention_seconds": 600},
           "operators": [OPERATOR],
           "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 4,
                                      "max_instances_step": 1,
                                      "allowed_machine_types": ["e2-micro", "e2-standard-4"]}]}}


def test_a_renotification_does_not_change_a_connector_again_while_an_earlier_change_is_unrecorded() -> None:
    """Found by `make soak` (batch seed 3057685956): the first attempt's patch took and its record
    failed (`escalated`, "could not be recorded"), its plan left open for the sweep. Before any
    sweep, the incident is notified again past the claim's 600 s: a new message, an intent key of its
    own, no action record, so it changed the connector a second time. Fixed (guardrails.py,
    `_unjudged_plan`): taking over an expired claim, the gate looks for another message's plan for
    that claim still open, and escalates instead of writing on top of it."""
    with fast_run("connector_saturation", "enforce", sustain=90, **ONE_WAY) as run:
        run.execute([StoreFault("write", 1, method="record_all"), Open(0, 0), Renotify(0, 20)])
        assert run.standins.vpcaccess.count("PatchConnector") == 1, run.describe()
        assert not check_all(run), explain(run, check_all(run))
        renotified = run.trace[2].outcomes
        assert [o.status.value for o in renotified] == ["escalated"], run.describe()
        assert "never recorded" in renotified[0].reason, renotified[0].reason


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
def test_two_incidents_alerting_at_once_never_write_one_target_together(scenario: str) -> None:
    """Both incidents' alerts delivered at once from four threads, under a cooldown of 0, where only the
    target's write claim keeps their writes apart: no two writes to the target are in flight together, and
    every alert held back by the other's write is answered once it has ended (writes_never_overlap,
    held_alerts_answered). With the write claim taken per claim key instead of per target, the two
    incidents' writes (two rollbacks of the service, two scales of the connector) were in flight at once."""
    from tests.property.harness import Crossing

    policy = {**POLICY, "guardrails": {"cooldown_seconds": 0}}
    with fast_run(scenario, "enforce", **policy) as run:
        run.execute([Crossing(0, 0, 4, False), Sweep(8)])
        problems = check_all(run)
    # Whether the second alert meets the first's write in flight (held back, then answered) or reaches the
    # gate after it has ended (and decides on the target as it left it) is the threads' timing: either way
    # no two writes overlap and every held alert is answered.
    assert not problems, explain(run, problems)


# --- the clock-skew rule for two of Runwarden's own writes (judging.later_own_writes) --------------
#
# Each record's `applied_at` is its writing instance's clock, and two instances' clocks may differ by up to
# CLOCK_SKEW_ALLOWANCE (shared/clock.py): a write made after this one on an instance whose clock runs behind
# is dated before it. Pure: the sweep's judgement (judge, next_step) of one action record, against the other
# records as the sweep reads them (Sweep._applied_since), on fixed evidence that verifies or undoes it alone.

_ALLOWANCE = int(CLOCK_SKEW_ALLOWANCE.total_seconds())


@st.composite
def _own_writes(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, int, int]]]:
    """(the judged action, its evidence, others): each other write as (action, seconds it was made after the
    judged one in real time, seconds its date lies after the judged one's date): 1-3 others, each on an
    instance whose clock is off the judged one's by up to ±allowance, made from 20 min before the judged
    write to 15 min after it (before the sweep's read)."""
    # The bounds drawn often: the rule's edge is a write made at once on a clock the whole allowance behind.
    skews = st.one_of(st.sampled_from([-_ALLOWANCE, _ALLOWANCE]), st.integers(-_ALLOWANCE, _ALLOWANCE))
    judged = draw(st.sampled_from(["rollback_traffic", "scale_connector"]))
    evidence = draw(st.sampled_from(["healthy", "failing"]))
    others = []
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["rollback_traffic", "scale_connector", "rollback_elsewhere"]))
        made = draw(st.one_of(st.sampled_from([0, 1, -1]), st.integers(-1200, 900)))
        others.append((action, made, made + draw(skews)))
    return judged, evidence, others


def _skew_judged(judged: str, evidence: str, others: list[tuple[str, int, int]]):
    from tests.unit.test_verification_judging import rollback, scale_up, served, sweep_at, swept, SETTINGS, TIMES
    from tests.unit.builders import CONNECTOR as CONN, SERVICE as SVC
    from tests.unit.test_verification_overlap import OTHER_SERVICE, later

    record = rollback() if judged == "rollback_traffic" else scale_up()
    seen = served(11) if evidence == "healthy" else served(11, ok=20, errors=20)
    if judged == "scale_connector":
        seen = seen.connector("e2-standard-4", 2, 4)
    target = {"rollback_traffic": SVC, "scale_connector": CONN, "rollback_elsewhere": OTHER_SERVICE}
    records = [later("rollback_traffic" if a == "rollback_elsewhere" else a, target[a], -5 + dated / 60,
                     incident=f"j{n}").model_copy(update={"key": f"j{n}|{target[a]}|{a}"})
               for n, (a, _, dated) in enumerate(others)]
    bundle = swept(seen).model_copy(update={"incident_started_at": record.settle_at})

    def step(among):
        health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio, "", among)
        return health, next_step(record, health, sweep_at(seen), TIMES)

    return step(records), step(()), records


@pytest.mark.timeout(300)
@_settings(max(1, EXAMPLES // 3))
@given(case=_own_writes())
def test_a_write_is_never_verified_or_undone_on_minutes_another_own_write_may_have_shaped(case) -> None:
    """Of the judged write and the others on its path (its service, its connector): one made after it in real
    time, whatever the clocks, or dated within the allowance of it (which came first cannot be told), leaves it
    neither verified nor undone (unclear, escalated at the deadline, kept); with every one dated more than the
    allowance before it (surely earlier, its change in this one's `before`), or off its path, it is judged
    as if alone: verified when healthy, undone when a rollback fails. Fails with the rule's bound strict
    (`>` for `>=`: a write made later on a clock the full allowance behind goes unseen, and the judged one is
    verified or undone on minutes it shaped) or without the allowance."""
    judged, evidence, others = case
    (health, step), (alone, alone_step), records = _skew_judged(judged, evidence, others)
    on_path = [(a, made, dated) for a, made, dated in others if a != "rollback_elsewhere"]
    shaped = [o for o in on_path if o[1] >= 0 or abs(o[2]) <= _ALLOWANCE]
    said = f"{judged} on {evidence} evidence, others (action, made s, dated s): {others}: {step.kind.value}: {health.why}"
    assert alone_step.kind in (StepKind.VERIFY, StepKind.UNDO, StepKind.ESCALATE), said
    if shaped:
        assert step.kind not in (StepKind.VERIFY, StepKind.UNDO), said
        assert health.kind in (HealthKind.UNCLEAR, HealthKind.CHANGED), said
        assert step.kind is StepKind.ESCALATE, said      # at the deadline: kept, a person told
    elif all(dated < -_ALLOWANCE for _, _, dated in on_path):
        assert (health.kind, step.kind) == (alone.kind, alone_step.kind), said


# --- duplicates' hold, a field in two spellings, quota refusals (the steps the generator draws) ----------------


RETENTION = {"guardrails": {"cooldown_seconds": 0, "claim_retention_seconds": 600}}


@pytest.mark.parametrize("program", [
    # Monitoring's re-notification past the completed claim's retention: answered from the action record.
    [Open(0, 0), Renotify(0, 20), Open(0, 1)],
    # The write's answer lost to a publish fault, the sweep's verdict before the redelivery (after_verdict).
    [PublishFault(1), Open(0, 0), Sweep(16), Sweep(30)],
], ids=["past the claim's retention", "after the sweep's verdict"])
def test_every_duplicate_of_an_incident_names_the_claim_that_held_it(program) -> None:
    with fast_run("bad_revision", "enforce", **RETENTION) as run:
        run.execute(program)
        duplicates = [o for o in run.returned_outcomes() if o.reason.startswith("duplicate")]
        assert duplicates, [o.reason for o in run.returned_outcomes()]
        assert {o.held for o in duplicates} == {Held.CLAIM_HELD}, [(o.held, o.reason) for o in duplicates]
        problems = check_all(run)
        assert not problems, explain(run, problems)


def test_a_duplicate_of_a_plan_the_sweep_escalated_names_the_claim_that_held_it() -> None:
    """programs.HELD_PREFIX: a patch whose record failed, escalated by the sweep past the lease; the message again."""
    with fast_run("connector_saturation", "enforce", **POLICY) as run:
        run.execute([*HELD_PREFIX, Open(0, 0)])
        [again] = run.trace[-3].outcomes if run.trace[-3].outcomes else [None]
        assert again is not None and again.reason.startswith("duplicate"), explain(run, [])
        assert again.held is Held.CLAIM_HELD, again
        problems = check_all(run)
        assert not problems, explain(run, problems)


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
@pytest.mark.parametrize("kind", range(len(RESPELLINGS)), ids=[f"{f} and {o} ({v})" for f, o, v in RESPELLINGS])
def test_a_notification_giving_a_field_twice_is_refused_unless_both_say_one_thing(scenario: str, kind: int) -> None:
    with fast_run(scenario, "enforce", **POLICY) as run:
        run.execute([Respelled(0, kind), Respelled(0, kind), Respelled(1, kind)])
        step = run.trace[0]
        if Respelled(0, kind).differs:
            assert [o.status.value for o in step.outcomes] == ["rejected"], explain(run, [])
            # Another incident's notification respelled alike is another message: refused in its own right, never
            # answered as one told already.
            assert [o.status.value for o in run.trace[2].outcomes] == ["rejected"], explain(run, [])
            assert step.write_calls == 0 and not any(o.run_writes + o.vpc_writes for o in run.trace)
        else:
            assert step.outcomes and step.outcomes[0].status.value != "rejected", explain(run, [])
            assert step.run_writes + step.vpc_writes == 1, explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


# A respelled notification's rejection whose page claim landed with its answer lost: the (shrunk) counterexample
# hypothesis found, on bad_revision with the incident opened and acted on first, and the same with no publish fault.
LOST_PAGE_CLAIM = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1,
                                  "max_actions_per_target_per_day": 1, "claim_retention_seconds": 600,
                                  "proposal_ttl_seconds": 300}, "operators": [OPERATOR]}
DIFFERING = [kind for kind in range(len(RESPELLINGS)) if Respelled(0, kind).differs]


@pytest.mark.parametrize("kind", DIFFERING, ids=[f"{RESPELLINGS[k][0]} and {RESPELLINGS[k][1]}" for k in DIFFERING])
def test_a_rejection_whose_page_claim_landed_unanswered_and_whose_publish_failed_is_sent_by_the_redelivery(
        kind: int) -> None:
    """Before the fix: the page claim's commit landed, its answer lost; the rejection was sent unchecked, its
    publish failed, and the claim (this attempt's, never known to be) was kept. The redelivery found it `sending`
    and answered `skipped` ("another delivery of it is sending"): nobody was ever told of the refused message."""
    with fast_run("bad_revision", "enforce", **LOST_PAGE_CLAIM) as run:
        run.execute([Open(0, 0), StoreFault("claim", 1, lost=True), PublishFault(1), Respelled(0, kind)])
        assert run.trace[3].transient == 1, explain(run, [])
        assert [o.status.value for o in run.trace[-1].outcomes] == ["rejected"], explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


@pytest.mark.parametrize("lost", [False, True], ids=["its claim taken", "its claim landed, its answer lost"])
@pytest.mark.parametrize("kind", DIFFERING, ids=[f"{RESPELLINGS[k][0]} and {RESPELLINGS[k][1]}" for k in DIFFERING])
def test_a_rejection_whose_publish_and_give_back_failed_is_never_skipped_by_its_redelivery(kind: int,
                                                                                              lost: bool) -> None:
    """Before the fix: the rejection's publish failed and so did the give-back of its page claim; the redelivery
    found the claim `sending` and answered `skipped`, and the refusal reached nobody. A claim not completed is no
    word that a person was told: the redelivery waits it out (`in_progress`, raised) until it lapses."""
    with fast_run("bad_revision", "enforce", **LOST_PAGE_CLAIM) as run:
        prefix = [StoreFault("claim", 1, lost=True)] if lost else []
        run.execute([*prefix, StoreFault("write", 1, method="release"), PublishFault(1), Respelled(0, kind)])
        # The delivery whose publish failed raised (redelivered), and the redelivery's answer is the one
        # rejection: a redelivery that raised for ever, or answered `skipped`, never told anyone.
        assert run.trace[len(prefix) + 2].transient == 1, explain(run, [])
        assert [o.status.value for o in run.trace[-1].outcomes] == ["rejected"], explain(run, [])
        assert [o.status.value for o in run.returned_outcomes()] == ["rejected"], explain(run, [])
        assert not any(o.status.value == "skipped" for o in run.returned_outcomes()), explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


@pytest.mark.parametrize("kind", DIFFERING, ids=[f"{RESPELLINGS[k][0]} and {RESPELLINGS[k][1]}" for k in DIFFERING])
def test_a_rejection_sent_unchecked_under_a_page_claim_that_landed_is_recorded_as_told(kind: int) -> None:
    """The page claim's commit landed, its answer lost, and the unchecked rejection was published: the claim is
    completed as an acquired one is, so the next delivery says a person was told (naming the outcome), rather than
    that another delivery "is sending" it, and past the claim's lease does not page again."""
    with fast_run("bad_revision", "enforce", **LOST_PAGE_CLAIM) as run:
        run.execute([StoreFault("claim", 1, lost=True), Respelled(0, kind), Respelled(0, kind)])
        [first], [again] = run.trace[1].outcomes, run.trace[2].outcomes
        assert first.status.value == "rejected", explain(run, [])
        assert again.status.value == "skipped" and "a person was told" in again.reason, explain(run, [])
        assert first.outcome_id in again.reason, explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
@pytest.mark.parametrize("refusals, delay, within", [(1, 0.05, True), (2, 0.05, False), (1, None, False)],
                         ids=["once, a short RetryInfo", "twice, a short RetryInfo", "once, the limit's minute"])
def test_a_write_refused_for_quota_is_sent_again_once_within_its_call_or_left_to_the_redelivery(
        scenario: str, refusals: int, delay: float | None, within: bool) -> None:
    """In process as over gRPC: the refusal's details (ErrorInfo RATE_LIMIT_EXCEEDED, a RetryInfo) reach the
    adapter, so a short wait is waited out within the call (one more send), a second refusal or a minute's
    wait is left to the redelivery; the write takes effect once either way."""
    [(standin, method)] = WRITES[scenario]
    with fast_run(scenario, "enforce", **POLICY) as run:
        run.execute([QuotaFault(standin, method, refusals, delay), Open(0, 0)])
        first = run.trace[1]
        assert getattr(run.standins, standin).faults.quota_refused[method] == refusals
        assert first.write_calls == (2 if within or refusals == 2 else 1), explain(run, [])
        assert (first.transient == 0) is within, explain(run, [])
        assert sum(o.run_writes + o.vpc_writes for o in run.trace) == 1, explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


def test_the_quota_invariant_sees_a_write_sent_again_past_its_one_retry(monkeypatch) -> None:
    """quota_refusals_sent_again_once fails where a write's call is refused three times: the quota rule's "once"
    dropped (endpoints.quota_wait sending a write again after any refusal whose wait fits)."""
    from shared.gcp import endpoints

    original = endpoints.quota_wait
    monkeypatch.setattr(endpoints, "quota_wait", lambda error, left, useful, longest, *, spent="": original(
        error, left, useful, longest))
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([QuotaFault("run", "UpdateService", 3, 0.05), Open(0, 0)])
        assert any("sent again more than once" in p for p in quota_refusals_sent_again_once(run)), explain(run, [])


@pytest.mark.parametrize("command", ["pause", "resume", "rollback_traffic", "scale_connector"])
def test_an_array_of_commands_is_refused_once_under_each_id_and_runs_nothing(command: str) -> None:
    with fast_run("connector_saturation", "enforce", **POLICY) as run:
        run.execute([OtherShape("array", command, 0), OtherShape("array", command, 0), Open(0, 0)])
        for step in run.trace[:2]:
            assert sorted((o.command_id, o.status.value) for o in step.outcomes) == [
                ("array-0-a", "rejected"), ("array-0-b", "rejected")], explain(run, [])
            assert step.write_calls == 0, explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


def test_an_array_of_commands_sent_again_after_a_failed_publish_is_refused_once_under_each_id() -> None:
    """The soak's counterexample (seed 5005): the array's first attempt raised (its answer's publish failed) and
    the platform's resend was judged as one command; it is the array again, answered under each id."""
    with fast_run("bad_revision", "enforce", **POLICY) as run:
        run.execute([Open(0, 0), PublishFault(1), OtherShape("array", "resume", 0)])
        resent = run.trace[-1]
        assert sorted((o.command_id, o.status.value) for o in resent.outcomes) == [
            ("array-0-a", "rejected"), ("array-0-b", "rejected")], explain(run, [])
        problems = check_all(run)
        assert not problems, explain(run, problems)


# --- a person's deploy made after the incident began --------------------------------------------------------


@pytest.mark.parametrize("share", [100, 50, 10])
def test_a_deploy_made_after_the_incident_began_is_never_written_over_by_an_alert(share: int) -> None:
    """The generator's LateDeploy: a revision created after the incidents' start serves `share` % of the traffic.
    Every delivery of the incident stands down (escalated, naming the change made since), nothing is written;
    an operator's rollback still may."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([LateDeploy(share), Open(0, 0), Concurrent(0, 1, 2, False), Sweep(16), Renotify(0, 20)])
        assert not check_all(run), explain(run, check_all(run))
        assert run.standins.run.count("UpdateService") == 0, run.describe()
        assert [o.status.value for o in run.trace[1].outcomes] == ["escalated"], run.describe()
        # The person's move is in the audit log (the Run stand-in audits it into the world's Logging): the stand-down
        # names it, by whom, as the real tier's does.
        reason = run.trace[1].outcomes[0].reason
        assert "recent human change" in reason and "person@example.com" in reason and "backend-00009-late" in reason
        assert all(obs.late_serving for obs in run.trace[1:]), run.describe()


def test_the_late_deploy_invariant_sees_a_rollback_over_it_and_not_an_operators() -> None:
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([LateDeploy(100), Open(0, 0), OperatorRollback(0, named=False)])
        assert not late_deploys_never_overwritten(run), run.describe()
        _observation(run, 2, update_calls=1)   # as if the operator's command had written: allowed
        assert not late_deploys_never_overwritten(run), run.describe()
        _observation(run, 1, update_calls=1)   # as if the alert had rolled back over the late deploy
        assert late_deploys_never_overwritten(run) == [
            f"step #1 {run.trace[1].step}: 1 UpdateService call(s) while {LATE_REVISION}, deployed after the incident "
            "began, served"]


def test_a_sweeps_undo_to_a_split_holding_a_persons_late_deploy_is_a_split_of_existing_revisions() -> None:
    """A shrunk program hypothesis found (random seeds): a person's deploy after T0 takes all the traffic, an
    operator rolls back, and the sweep's undo restores the recorded before-state, which holds the person's
    revision. The invariant read the scenario's seeded revisions only, and called that split one of revisions that
    do not exist; the undo of a rollback restoring what was recorded is right."""
    guardrails = {"kill_switch": False, "cooldown_seconds": 0, "max_actions_per_target_per_hour": 4,
                  "max_actions_per_target_per_day": 4, "claim_retention_seconds": 600, "proposal_ttl_seconds": 300}
    program = [Close(0, 0), Open(0, 0), LateDeploy(share=100, minutes=1), OperatorRollback(command=0, named=True),
               Sweep(16), Sweep(30)]
    with fast_run("bad_revision", "enforce", 90, guardrails=guardrails, operators=[OPERATOR]) as run:
        run.execute(program)
        broken = check_all(run)
        assert broken == [], explain(run, broken)
        assert any(LATE_REVISION in str(request.service.traffic)
                   for request in run.standins.run.requests("UpdateService"))
