"""The gate: bounds, kill switch, claims, cooldown, dry-run, in that order, around one write."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.remediation.actions import get_action
from shared.clock import CLOCK_SKEW_ALLOWANCE, FixedClock
from shared.config import parse_config
from shared.errors import PermanentError, TransientError
from shared.remediation.guardrails import CLAIMS, COOLDOWNS, Gate, claim_key
from shared.outcomes import OutcomeStatus
from shared.remediation.planning import plan
from shared.diagnosis.diagnose import diagnose

from tests.unit.builders import SERVICE, T0, Evidence
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun

ACTION = get_action("rollback_traffic")


def config(**overrides):
    data = {"project": "demo", "outcomes_topic": "projects/demo/topics/runwarden-outcomes",
            "mode": "enforce", "services": [{"name": SERVICE}]}
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[key] = value
    return parse_config(data)


def bad_revision_plan():
    """backend-00002-xyz, deployed 10 minutes before the incident, fails; backend-00001-abc was clean."""
    b = (Evidence().revision("backend-00001-abc", -180).revision("backend-00002-xyz", -10)
         .traffic(**{"backend-00002-xyz": 100}).requests("backend-00001-abc", -70, -10, 40)
         .requests("backend-00002-xyz", -10, 2, 10).requests("backend-00002-xyz", -10, 2, 30, code="500")
         .latency("backend-00002-xyz", -10, 2, 0.3)).bundle()
    settings = config().diagnosis
    return plan(diagnose(b, settings), b, settings), b


def run_gate(cfg, state=None, run=None, incident="inc-1", clock=None, owner="attempt-1"):
    proposal, b = bad_revision_plan()
    state = state if state is not None else MemoryStateStore()
    run = run or RecordingRun(b.service)
    gate = Gate(cfg, state, clock or FixedClock(T0 + timedelta(minutes=2)), owner=owner)
    return gate.execute(ACTION, proposal.params, proposal.before, incident, Adapters(run)), state, run


def test_enforce_applies_once_and_records_after_state():
    result, state, run = run_gate(config())
    assert result.status is OutcomeStatus.APPLIED
    assert len(run.writes) == 1 and run.writes[0][0].revision == "backend-00001-abc"
    assert result.after["traffic_statuses"][0]["revision"] == "backend-00001-abc"
    assert state.get(CLAIMS, claim_key("inc-1", SERVICE, "rollback_traffic")).status.value == "completed"


def test_same_incident_again_is_a_duplicate_with_no_write():
    _, state, run = run_gate(config())
    again, _, run2 = run_gate(config(), state=state, owner="attempt-2")
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate")
    assert run2.writes == []


def test_another_incident_within_cooldown_is_skipped():
    _, state, _ = run_gate(config())
    other, _, run = run_gate(config(), state=state, incident="inc-2", owner="attempt-2")
    assert other.status is OutcomeStatus.SKIPPED and other.reason.startswith("cooldown")
    assert run.writes == []
    # the refused incident's claim is released, so it may act once the cooldown ends
    assert state.get(CLAIMS, claim_key("inc-2", SERVICE, "rollback_traffic")) is None


def test_after_cooldown_another_incident_may_act():
    _, state, _ = run_gate(config(guardrails__cooldown_seconds=600))
    # The cooldown lasts its 10 minutes plus the clock-skew allowance (shared/clock.py).
    acted = T0 + timedelta(minutes=2)   # run_gate's clock
    within = FixedClock(acted + timedelta(minutes=10) + CLOCK_SKEW_ALLOWANCE - timedelta(seconds=1))
    held, _, run = run_gate(config(guardrails__cooldown_seconds=600), state=state, incident="inc-2", clock=within)
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("cooldown") and run.writes == []
    later = FixedClock(acted + timedelta(minutes=10) + CLOCK_SKEW_ALLOWANCE)
    result, _, run = run_gate(config(guardrails__cooldown_seconds=600), state=state, incident="inc-2", clock=later)
    assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1


def test_dry_run_writes_nothing_and_reports_the_planned_after_state():
    result, state, run = run_gate(config(mode="dry_run"))
    assert result.status is OutcomeStatus.DRY_RUN
    assert run.writes == []
    assert result.after["traffic"][0] == {"type": "REVISION", "revision": "backend-00001-abc", "percent": 100, "tag": ""}
    assert state.get(COOLDOWNS, SERVICE) is None  # a dry run does not hold the target's cooldown


def test_kill_switch_blocks_the_write():
    result, _, run = run_gate(config(guardrails__kill_switch=True))
    assert result.status is OutcomeStatus.SKIPPED and "kill switch" in result.reason
    assert run.writes == []


@pytest.mark.parametrize("age_limit, expect", [(3600, OutcomeStatus.APPLIED), (300, OutcomeStatus.ESCALATED)])
def test_revision_age_bound(age_limit, expect):
    result, _, run = run_gate(config(bounds={"rollback": {"max_revision_age_seconds": age_limit}}))
    assert result.status is expect
    assert len(run.writes) == (1 if expect is OutcomeStatus.APPLIED else 0)


def test_unmanaged_target_is_outside_bounds():
    result, _, run = run_gate(config(services=[]))
    assert result.status is OutcomeStatus.ESCALATED and "not a managed service" in result.reason
    assert run.writes == []


def test_more_than_one_step_back_is_escalated():
    proposal, b = bad_revision_plan()
    params = proposal.params.model_copy(update={"steps_back": 2})
    gate = Gate(config(), MemoryStateStore(), FixedClock(T0), owner="a")
    run = RecordingRun(b.service)
    result = gate.execute(ACTION, params, proposal.before, "inc-1", Adapters(run))
    assert result.status is OutcomeStatus.ESCALATED and "at most 1" in result.reason
    assert run.writes == []


def test_a_permanent_refusal_is_reported_once_and_held_for_the_cooldown_not_tried_per_notification():
    """PERMISSION_DENIED on the write gave the claim back, so every notification of the incident tried
    the write again and answered `failed` again. Now the claim is kept `failed` for the cooldown: later
    notifications are duplicates naming the refusal; once it lapses (the permission fixed meanwhile),
    the incident acts. Nothing was written, so the cooldown and the budget slots are given back."""
    proposal, b = bad_revision_plan()
    cfg = config(guardrails__cooldown_seconds=600)
    run = RecordingRun(b.service, fail_with=PermanentError("denied", code="PERMISSION_DENIED"))
    result, state, _ = run_gate(cfg, run=run)
    assert result.status is OutcomeStatus.FAILED and "PERMISSION_DENIED" in result.reason
    assert "Not tried again for this incident before" in result.reason
    held = state.get(CLAIMS, claim_key("inc-1", SERVICE, "rollback_traffic"))
    assert held.status.value == "completed" and held.result["status"] == "failed"
    assert state.get(COOLDOWNS, SERVICE) is None
    assert not any(kind == "budgets" for kind, _ in state.records)
    acted = T0 + timedelta(minutes=2)
    within = FixedClock(acted + timedelta(minutes=10) + CLOCK_SKEW_ALLOWANCE - timedelta(seconds=1))
    again, _, run = run_gate(cfg, state=state, clock=within, owner="attempt-2",
                             run=RecordingRun(b.service, fail_with=PermanentError("denied", code="PERMISSION_DENIED")))
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate"), again.reason
    assert "PERMISSION_DENIED" in again.reason and run.writes == []
    fixed = FixedClock(acted + timedelta(minutes=10) + CLOCK_SKEW_ALLOWANCE)
    later, _, run = run_gate(cfg, state=state, clock=fixed, owner="attempt-3")
    assert later.status is OutcomeStatus.APPLIED and len(run.writes) == 1, later.reason


def _refused(code="PERMISSION_DENIED"):
    return PermanentError("denied" if code == "PERMISSION_DENIED" else "no room", code=code)


@pytest.mark.parametrize("code", ["PERMISSION_DENIED", "RESOURCE_EXHAUSTED"])
def test_the_same_refusal_met_again_after_its_hold_is_a_reminder_not_a_new_failure(code):
    """The incident notified again after the refusal's hold lapsed is tried again (a cause fixed meanwhile lets it);
    refused the same way, its `failed` says "still refused", since when, and that it is no new failure, and the hold is
    kept again. Before, the same `failed` was published again, reading as a second fault."""
    _, b = bad_revision_plan()
    cfg = config(guardrails__cooldown_seconds=300)
    hold = timedelta(minutes=5) + CLOCK_SKEW_ALLOWANCE
    first, state, _ = run_gate(cfg, run=RecordingRun(b.service, fail_with=_refused(code)))
    acted = T0 + timedelta(minutes=2)
    lapsed = FixedClock(acted + hold)
    again, _, run = run_gate(cfg, state=state, clock=lapsed, owner="attempt-2",
                             run=RecordingRun(b.service, fail_with=_refused(code)))
    assert len(run.writes) == 1   # tried again, and refused again: nothing written
    assert first.status is OutcomeStatus.FAILED and "still refused" not in first.reason
    assert again.status is OutcomeStatus.FAILED, again.reason
    assert again.reason.startswith(f"rollback_traffic still refused [{code}], as when first refused at "
                                   f"{acted:%Y-%m-%d %H:%M:%S} UTC"), again.reason
    assert "no new failure" in again.reason and "Not tried again for this incident before" in again.reason
    assert any("not a new failure" in note for note in again.notes)
    # The third notification, after the second hold: still dated from the first refusal.
    third, _, _ = run_gate(cfg, state=state, owner="attempt-3",
                           clock=FixedClock(lapsed.now() + hold),
                           run=RecordingRun(b.service, fail_with=_refused(code)))
    assert f"as when first refused at {acted:%Y-%m-%d %H:%M:%S} UTC" in third.reason, third.reason
    # Refused for another reason once that hold lapses too: a failure of its own, not a reminder.
    other = "RESOURCE_EXHAUSTED" if code == "PERMISSION_DENIED" else "PERMISSION_DENIED"
    fourth, _, _ = run_gate(cfg, state=state, owner="attempt-4",
                            clock=FixedClock(lapsed.now() + 2 * hold),
                            run=RecordingRun(b.service, fail_with=_refused(other)))
    assert fourth.status is OutcomeStatus.FAILED and "still refused" not in fourth.reason, fourth.reason


def test_another_incident_is_not_held_by_a_refusal():
    _, b = bad_revision_plan()
    _, state, _ = run_gate(config(), run=RecordingRun(b.service, fail_with=PermanentError("denied",
                                                                                       code="PERMISSION_DENIED")))
    other, _, run = run_gate(config(), state=state, incident="inc-2", owner="attempt-2")
    assert other.status is OutcomeStatus.APPLIED and len(run.writes) == 1, other.reason


def test_transient_failure_raises_for_a_retry_and_frees_the_claim():
    proposal, b = bad_revision_plan()
    state = MemoryStateStore()
    with pytest.raises(TransientError):
        run_gate(config(), state=state, run=RecordingRun(b.service, fail_with=TransientError("unavailable")))
    assert state.records == {}
    retry, _, run = run_gate(config(), state=state)
    assert retry.status is OutcomeStatus.APPLIED and len(run.writes) == 1


def test_an_expired_in_progress_claim_is_taken_over():
    state = MemoryStateStore()
    stale = FixedClock(T0)
    state.claim(CLAIMS, claim_key("inc-1", SERVICE, "rollback_traffic"), "crashed", timedelta(seconds=600), stale.now())
    result, _, run = run_gate(config(), state=state, clock=FixedClock(T0 + timedelta(minutes=11)))
    assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1


# --- reads made ahead, and the check right before the write ---------------------------------------

def _stale_reads_then(change):
    """The gate's reads made ahead (as the pipeline does while diagnosing), then `change` to state,
    then the gate: what it took must all be given back if the check before the write says stop."""
    proposal, b = bad_revision_plan()
    state, run = MemoryStateStore(), RecordingRun(b.service)
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    reads = gate.read_ahead(SERVICE, T0 + timedelta(minutes=2))
    change(state)
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), reads=reads)
    return result, state, run


def _nothing_held(state):
    from shared.remediation.guardrails import BUDGETS

    return not state.records or all(kind == BUDGETS and record.owner != "attempt-1"
                                    for (kind, _), record in state.records.items())


def test_a_switch_engaged_after_the_reads_ahead_still_stops_the_write():
    from shared.remediation.records import FLAGS, KILL_SWITCH

    result, state, run = _stale_reads_then(
        lambda s: s.put_record(FLAGS, KILL_SWITCH, {"engaged": True, "by": "alice", "reason": "drill"}))

    assert result.status is OutcomeStatus.SKIPPED and result.reason.startswith("kill switch engaged"), result.reason
    assert "alice" in result.reason and run.writes == []
    assert _nothing_held(state), state.records   # the claim, the cooldown and the slots are given back


@pytest.mark.parametrize("recovery, status", [
    ("", OutcomeStatus.ESCALATED),   # a snooze, data that stopped, a close by hand: a person hears the fix was held
    ("Monitoring closed it with a value of 0.01, below the condition's bar of 0.05 (COMPARISON_GT)",
     OutcomeStatus.SKIPPED),
], ids=["no recovery shown", "recovery shown"])
def test_an_incident_closed_after_the_reads_ahead_stops_the_write(recovery, status):
    from shared.remediation.records import INCIDENTS

    result, state, run = _stale_reads_then(
        lambda s: s.put_record(INCIDENTS, "inc-1", {"incident_id": "inc-1", "state": "closed", "recovery": recovery,
                                                    "closed_at": T0, "closed_by": "notification", "opened_at": T0}))

    assert result.status is status and "closed (notification)" in result.reason, result.reason
    assert run.writes == [] and _nothing_held(state), state.records


def test_a_cooldown_taken_after_the_reads_ahead_is_found_one_at_a_time():
    result, state, run = _stale_reads_then(
        lambda s: s.claim(COOLDOWNS, SERVICE, "another-instance", timedelta(minutes=30), T0))

    assert result.status is OutcomeStatus.SKIPPED and result.reason.startswith("cooldown:"), result.reason
    assert run.writes == [] and state.get(CLAIMS, claim_key("inc-1", SERVICE, "rollback_traffic")) is None


def test_reads_ahead_for_another_target_or_hour_are_not_used():
    proposal, b = bad_revision_plan()
    state, run = MemoryStateStore(), RecordingRun(b.service)
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    stale = gate.read_ahead(SERVICE, T0 - timedelta(hours=1))   # last hour's buckets
    state.put_record("flags", "kill_switch", {"engaged": True, "by": "bob", "reason": "r"})
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), reads=stale)
    assert result.status is OutcomeStatus.SKIPPED and "bob" in result.reason and run.writes == []


def test_only_an_unfinished_claim_of_another_attempt_at_the_same_message_is_in_progress():
    from shared.ports import ClaimRecord, ClaimStatus
    from shared.remediation.guardrails import _own_message_in_progress

    def held(owner, status=ClaimStatus.CLAIMED):
        return ClaimRecord(key="k", owner=owner, status=status, claimed_at=T0, expires_at=T0 + timedelta(minutes=15))

    assert _own_message_in_progress(held("42:aaaa"), "42:bbbb", "42")
    assert not _own_message_in_progress(held("42:aaaa", ClaimStatus.COMPLETED), "42:bbbb", "42")   # a duplicate
    assert not _own_message_in_progress(held("41:aaaa"), "42:bbbb", "42")        # another message
    assert not _own_message_in_progress(held("42:bbbb"), "42:bbbb", "42")        # this very attempt
    assert not _own_message_in_progress(held("sweep:aaaa"), "sweep:bbbb", None)  # sweeps and commands: never
    assert not _own_message_in_progress(held("command:7:aaaa"), "command:7:bbbb", None)


# --- after the write: one commit completes the claim and writes the records -----------------------------


def test_the_claim_the_action_record_the_pin_and_the_settled_entry_are_one_commit():
    from shared.remediation.records import ACTIONS, PINS, SETTLED, SettledEntry, settled_field

    calls = []

    class Recording(MemoryStateStore):   # the calls made (not the methods looked up: the gate checks them all)
        def complete(self, *args, **kwargs):
            calls.append("complete")
            return super().complete(*args, **kwargs)

        def put_record(self, *args, **kwargs):
            calls.append("put_record")
            return super().put_record(*args, **kwargs)

        def record_all(self, *args, **kwargs):
            calls.append("record_all")
            return super().record_all(*args, **kwargs)

    result, state, _ = run_gate(config(), state=Recording())

    key = claim_key("inc-1", SERVICE, "rollback_traffic")
    assert result.status is OutcomeStatus.APPLIED and calls == ["record_all"]
    claim = state.get(CLAIMS, key)
    entry = SettledEntry.model_validate(state.get_record(SETTLED, "inc-1")[settled_field(key)])
    assert claim.status.value == "completed" and entry.claim == claim.model_dump(mode="python") | {"status": "completed"}
    assert entry.recorded and state.get_record(ACTIONS, key)["state"] == "pending"
    assert state.get_record(PINS, SERVICE)["action_id"] == key


def test_a_claim_taken_over_during_the_write_is_left_alone_and_the_write_still_recorded():
    """The claim expired while the write ran and another attempt took it over: completing it would
    complete someone else's claim, so it is left as it is (as `complete` leaves a claim it does not
    own), and the write, which happened, is recorded for the sweep."""
    from shared.remediation.records import ACTIONS, SETTLED, SettledEntry, settled_field

    proposal, b = bad_revision_plan()
    state = MemoryStateStore()
    key = claim_key("inc-1", SERVICE, "rollback_traffic")

    class SlowRun(RecordingRun):
        def set_traffic(self, service_name, traffic, etag):
            later = T0 + timedelta(hours=2)
            assert state.claim(CLAIMS, key, "attempt-2", timedelta(minutes=10), later).took_over
            return super().set_traffic(service_name, traffic, etag)

    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(SlowRun(b.service)))

    assert result.status is OutcomeStatus.APPLIED
    held = state.get(CLAIMS, key)
    assert held.owner == "attempt-2" and held.status.value == "claimed"
    assert state.get_record(ACTIONS, key)["state"] == "pending"
    entry = SettledEntry.model_validate(state.get_record(SETTLED, "inc-1")[settled_field(key)])
    assert entry.recorded and entry.claim is None   # recorded, but no completed claim to answer with


@pytest.mark.parametrize("fault, status, written", [
    (None, OutcomeStatus.APPLIED, True),
    ("stale", OutcomeStatus.ESCALATED, False),       # the target changed under the decision: nothing written
    ("unknown", OutcomeStatus.ESCALATED, True),      # sent, its answer lost: it may have taken
    ("denied", OutcomeStatus.FAILED, False),
])
def test_the_gate_says_whether_its_write_may_have_taken(fault, status, written):
    """`GateResult.written` tells an escalation that wrote nothing (an approve then closes its
    proposal `superseded`, shared/commands/approval.py) from one whose write may have landed."""
    from shared.errors import OutcomeUnknownError
    from shared.gcp.run import ConcurrentModificationError

    proposal, b = bad_revision_plan()
    errors = {"stale": ConcurrentModificationError("the service changed after it was read", code="ABORTED"),
              "unknown": OutcomeUnknownError("no answer"), "denied": PermanentError("denied", code="PERMISSION_DENIED")}

    class Faulty(RecordingRun):
        def set_traffic(self, service_name, traffic, etag):
            if fault:
                raise errors[fault]
            return super().set_traffic(service_name, traffic, etag)

    gate = Gate(config(), MemoryStateStore(), FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(Faulty(b.service)))

    assert (result.status, result.written) == (status, written), result.reason


class _NotServing(RecordingRun):
    """UpdateService's answer as a port that does not check what serves would give it: the desired split is
    the write's, what serves is still the bad revision."""

    def set_traffic(self, service_name, traffic, etag):
        before = self.service.traffic_statuses
        written = super().set_traffic(service_name, traffic, etag)
        self.service = written.model_copy(update={"traffic_statuses": before})
        return self.service


def test_a_rollback_the_service_does_not_serve_after_its_write_is_recorded_in_doubt_not_failed():
    """The write was answered, and the service it returned does not serve the rollback's revision: the
    action's own check (VERIFICATION_FAILED) was a permanent failure, so the gate answered `failed` and gave
    the claim, the cooldown and the intent back, with the split the write set left desired on no record.
    Now an unknown outcome: recorded, escalated, never sent again."""
    from shared.remediation.records import ACTIONS

    proposal, b = bad_revision_plan()
    result, state, run = run_gate(config(), run=_NotServing(b.service))
    assert result.status is OutcomeStatus.ESCALATED and "backend-00001-abc serves 0%" in result.reason, result.reason
    assert len(run.writes) == 1
    assert state.get(CLAIMS, claim_key("inc-1", SERVICE, "rollback_traffic")).status.value == "completed"
    assert state.get_record(ACTIONS, claim_key("inc-1", SERVICE, "rollback_traffic")) is not None


def test_a_refused_undo_gives_its_claim_back():
    """The sweep's undo (restore_traffic, a corrective write) refused for good: its claim is given back,
    never kept `failed`. The sweep reads a `duplicate` answer to its undo as the undo done: kept, a retry
    of the undo (its action record still `undoing`) would have been told the rollback was undone."""
    from shared.remediation.actions.restore_traffic import RestoreTrafficParams
    from shared.diagnosis.evidence import TrafficTarget, TrafficType

    _, b = bad_revision_plan()
    params = RestoreTrafficParams(target=SERVICE, traffic=(TrafficTarget(type=TrafficType.REVISION, percent=100,
                                                                         revision="backend-00002-xyz"),),
                                  undoes="inc-1|x|rollback_traffic")
    state = MemoryStateStore()
    run = RecordingRun(b.service, fail_with=PermanentError("denied", code="PERMISSION_DENIED"))
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=40)), owner="sweep-1")
    result = gate.execute(get_action("restore_traffic"), params, {}, "inc-1", Adapters(run))
    assert result.status is OutcomeStatus.FAILED, result.reason
    assert state.get(CLAIMS, claim_key("inc-1", SERVICE, "restore_traffic")) is None
    again = Gate(config(), state, FixedClock(T0 + timedelta(minutes=45)), owner="sweep-2").execute(
        get_action("restore_traffic"), params, {}, "inc-1", Adapters(RecordingRun(b.service)))
    assert not again.reason.startswith("duplicate"), again.reason


def test_a_refusal_whose_hold_cannot_be_stored_still_holds_the_incident_until_the_claims_lease():
    """The state store failed completing the refused write's claim (its hold, with its SETTLED entry): the
    claim was given back, and another notification arriving meanwhile tried the refused write again and
    answered `failed` again (`make soak`: three notifications at once, one store fault). Now the claim is
    left claimed: the incident is held until its lease, a shorter hold than the cooldown but a hold."""
    from tests.unit.fakes import FaultyStateStore

    proposal, b = bad_revision_plan()
    cfg = config(guardrails__cooldown_seconds=600)
    state = FaultyStateStore(MemoryStateStore())
    state.fail_next("write", 1, method="record_all")
    denied = PermanentError("denied", code="PERMISSION_DENIED")
    first, _, run = run_gate(cfg, state=state, run=RecordingRun(b.service, fail_with=denied))
    assert first.status is OutcomeStatus.FAILED and len(run.writes) == 1, first.reason
    again, _, run = run_gate(cfg, state=state, owner="attempt-2", run=RecordingRun(b.service, fail_with=denied))
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate"), again.reason
    assert run.writes == []
