"""Runwarden's own recent changes from the audit log, and when they hold an action back: the pure
decision (shared/remediation/own_changes.py), then the gate around it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.clock import CLOCK_SKEW_ALLOWANCE, FixedClock
from shared.diagnosis.evidence import LogRecord
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.guardrails import COOLDOWNS, Gate
from shared.remediation.own_changes import OwnChange, own_changes, unrecorded_own_change
from tests.unit.builders import SERVICE, T0
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import ACTION, bad_revision_plan, config

NOW = datetime(2026, 11, 26, 12, 30, tzinfo=timezone.utc)
ME = "runwarden@demo.iam.gserviceaccount.com"
CONNECTOR = "projects/demo/locations/us-central1/connectors/backend-conn"
CONNECTORS_FORM = "google.cloud.vpcaccess.v1.Connectors.PatchConnector"
GRPC_FORM = "google.cloud.vpcaccess.v1.VpcAccessService.PatchConnector"


def entry(method=CONNECTORS_FORM, resource=CONNECTOR, principal=ME, minutes_ago=3.0, status=None) -> LogRecord:
    return LogRecord(timestamp=NOW - timedelta(minutes=minutes_ago), log_id="cloudaudit.googleapis.com/activity",
                     method_name=method, resource_name=resource, principal=principal, status_code=status)


@pytest.mark.parametrize("record,target,counts", [
    # both readings of the VPC Access methodName (UNCONFIRMED which one the API writes)
    (entry(), CONNECTOR, True),
    (entry(method=GRPC_FORM), CONNECTOR, True),
    (entry(method="google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector"), CONNECTOR, True),
    (entry(status=0), CONNECTOR, True),                                      # the operation's OK end
    # Cloud Run: the v2 name, and v1's namespaces/P/services/S naming the same service
    (entry(method="google.cloud.run.v2.Services.UpdateService", resource=SERVICE), SERVICE, True),
    (entry(method="google.cloud.run.v1.Services.ReplaceService", resource="namespaces/demo/services/backend"),
     SERVICE, True),
    # not a change by Runwarden of this target
    (entry(principal="alice@example.com"), CONNECTOR, False),                 # a person: diagnosis stands down
    (entry(principal=""), CONNECTOR, False),                                  # unknown caller
    (entry(method="google.cloud.vpcaccess.v1.VpcAccessService.GetConnector"), CONNECTOR, False),   # a read
    (entry(method="google.cloud.vpcaccess.v1.Connectors.ListConnectors"), CONNECTOR, False),
    (entry(status=9), CONNECTOR, False),                                      # failed: changed nothing
    (entry(resource=CONNECTOR + "-2"), CONNECTOR, False),                     # backend-conn-2 is another one
    (entry(resource="projects/demo/locations/us-central1/connectors/conn"), CONNECTOR, False),
    (entry(method="google.cloud.run.v2.Services.UpdateService", resource=SERVICE), CONNECTOR, False),
])
def test_which_audit_entries_are_runwardens_own_changes_of_the_target(record, target, counts):
    found = own_changes([record], target, [ME.upper(), "other@x.iam.gserviceaccount.com"])
    assert bool(found) is counts
    if counts:
        assert found[0] == OwnChange(at=record.timestamp, method=record.method_name, principal=ME,
                                     resource=record.resource_name)


def test_own_changes_are_newest_first():
    found = own_changes([entry(minutes_ago=20), entry(minutes_ago=2), entry(minutes_ago=9)], CONNECTOR, [ME])
    assert [NOW - c.at for c in found] == [timedelta(minutes=m) for m in (2, 9, 20)]


WINDOW = timedelta(minutes=35)     # a 30-minute cooldown plus the clock-skew allowance


def cooldown(minutes_ago: float) -> ClaimRecord:
    at = NOW - timedelta(minutes=minutes_ago)
    return ClaimRecord(key=CONNECTOR, owner="m:1", status=ClaimStatus.CLAIMED, claimed_at=at, expires_at=at + WINDOW)


def change(minutes_ago: float) -> OwnChange:
    return OwnChange(at=NOW - timedelta(minutes=minutes_ago), method=CONNECTORS_FORM, principal=ME, resource=CONNECTOR)


@pytest.mark.parametrize("changes,held,window,expected", [
    ([change(3)], None, WINDOW, 3),                     # state lost: held back, naming the change
    ([change(3)], cooldown(3), WINDOW, None),           # state intact: the cooldown answers
    ([change(40)], cooldown(40), WINDOW, None),         # an expired cooldown still there: state intact
    ([change(34)], None, WINDOW, 34),                   # still within the lease
    ([change(36)], None, WINDOW, None),                 # older than the lease: it may act again
    ([change(-2)], None, WINDOW, -2),                   # Google's clock ahead of the instance's
    ([change(-(CLOCK_SKEW_ALLOWANCE.total_seconds() / 60 + 1))], None, WINDOW, None),   # beyond any skew
    ([change(30), change(4), change(12)], None, WINDOW, 4),   # the newest is named
    ([change(3)], None, timedelta(0), None),            # no cooldown configured: nothing to compare
    ([], None, WINDOW, None),
])
def test_when_an_own_change_holds_an_action_back(changes, held, window, expected):
    found = unrecorded_own_change(changes, held, NOW, window)
    assert (None if found is None else (NOW - found.at) / timedelta(minutes=1)) == expected


# --- the gate ------------------------------------------------------------------------------------


def gate_with(changes, state=None, **cfg):
    proposal, b = bad_revision_plan()
    state = state if state is not None else MemoryStateStore()
    run = RecordingRun(b.service)
    gate = Gate(config(**cfg), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    result = gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), own_changes=changes)
    return result, run, state


def own(minutes_before: float) -> OwnChange:
    return OwnChange(at=T0 + timedelta(minutes=2 - minutes_before), method="google.cloud.run.v2.Services.UpdateService",
                     principal=ME, resource=SERVICE)


def test_the_gate_escalates_an_own_change_its_state_has_no_record_of_and_takes_nothing():
    result, run, state = gate_with((own(4),))
    assert result.status is OutcomeStatus.ESCALATED
    assert "Runwarden itself changed" in result.reason and "no record of that change" in result.reason
    assert ME in result.reason and "4 min 00 s ago" in result.reason
    assert run.writes == []
    assert state.get(COOLDOWNS, SERVICE) is None     # nothing taken


def test_the_gate_acts_when_the_own_change_is_older_than_the_cooldown():
    result, run, _ = gate_with((own(60),), guardrails__cooldown_seconds=1800)
    assert result.status is OutcomeStatus.APPLIED
    assert len(run.writes) == 1


def test_with_the_cooldown_in_state_the_gate_skips_on_it_as_before():
    _, _, state = gate_with(())
    proposal, b = bad_revision_plan()
    again = Gate(config(), state, FixedClock(T0 + timedelta(minutes=5)), owner="attempt-2").execute(
        ACTION, proposal.params, proposal.before, "inc-2", Adapters(RecordingRun(b.service)), own_changes=(own(3),))
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("cooldown"), again.reason


# --- the planner: which plans carry own changes --------------------------------------------------


def test_a_connector_plan_carries_runwardens_own_changes_of_that_connector_only():
    from shared.config import Bounds, ConnectorPolicy
    from shared.diagnosis.diagnose import diagnose
    from shared.diagnosis.evidence import LogResult
    from shared.remediation.planning import plan
    from tests.unit.builders import CONNECTOR as BUILT, at
    from tests.unit.test_scale_connector import saturated

    mine = LogRecord(timestamp=at(-3), log_id="cloudaudit.googleapis.com/activity", method_name=GRPC_FORM,
                     resource_name=BUILT, principal=ME)
    others = [mine.model_copy(update={"status_code": 9, "timestamp": at(-40)}),     # failed: no change
              mine.model_copy(update={"resource_name": BUILT + "-2"})]              # another connector
    b = saturated().bundle()
    b = b.model_copy(update={"connector_audit": LogResult(query="audit", entries=(mine, *others))})
    settings = config(diagnosis__self_principals=[ME]).diagnosis
    bounds = Bounds(connectors=(ConnectorPolicy(name=BUILT),))

    chosen = plan(diagnose(b, settings), b, settings, bounds)

    assert chosen.action == "scale_connector"
    assert [c.at for c in chosen.own_changes] == [mine.timestamp]


def test_a_rollback_plan_carries_none_its_record_is_the_live_traffic():
    """An operator's restore_traffic runs under Runwarden's identity and takes no cooldown, so an
    own UpdateService with no cooldown is no sign of lost state on a service."""
    from shared.diagnosis.diagnose import diagnose
    from shared.remediation.planning import plan
    from tests.unit.builders import Evidence

    b = (Evidence().revision("backend-00001-abc", -180).revision("backend-00002-xyz", -10)
         .traffic(**{"backend-00002-xyz": 100}).requests("backend-00001-abc", -70, -10, 40)
         .requests("backend-00002-xyz", -10, 2, 10).requests("backend-00002-xyz", -10, 2, 30, code="500")
         .latency("backend-00002-xyz", -10, 2, 0.3).audit(-40, ME)).bundle()
    settings = config(diagnosis__self_principals=[ME]).diagnosis

    chosen = plan(diagnose(b, settings), b, settings)

    assert chosen.action == "rollback_traffic"
    assert chosen.own_changes == ()
