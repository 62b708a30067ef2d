"""Two of Runwarden's own actions on one service's path while the first is pending verification, from
tables (shared/remediation/judging.later_own_writes). Pure, no I/O.

The gate keeps writes to one target a cooldown apart, but a cooldown shorter than the deadline lets a
second action on the target while the first is pending, and a service's rollback and its connector's
scale-up are two targets. The minutes after the later write are both changes' doing: they neither verify
the earlier action nor show it failing (an undo would be a write judged on minutes the later change
shaped). Times are minutes from the first action's settle time (T0): applied at -5, settled at 0,
deadline at +10, as in tests/unit/test_verification_judging.py."""
from __future__ import annotations

import pytest

from shared.remediation.judging import HealthKind, StepKind, judge, next_step
from shared.remediation.records import ActionRecord, ActionState
from tests.unit.builders import CONNECTOR, SERVICE, at
from tests.unit.test_verification_judging import (NEW, OLD, SETTINGS, TIMES, rollback, scale_up, served, sweep_at,
                                                  swept)

OTHER_SERVICE = SERVICE.rsplit("/", 1)[0] + "/frontend"
OTHER_CONNECTOR = CONNECTOR + "-2"


def later(action: str, target: str, applied: float, state: ActionState = ActionState.PENDING,
          incident: str = "j") -> ActionRecord:
    """Another action record of Runwarden's, applied at `applied` (minutes from T0)."""
    reversible = action == "rollback_traffic"
    return ActionRecord(key=f"{incident}|{target}|{action}", incident_id=incident, target=target, service=SERVICE,
                        action=action, signature="connector_saturation" if not reversible else "bad_revision",
                        reversible=reversible, state=state, applied_at=at(applied), settle_at=at(applied + 5),
                        deadline_at=at(applied + 15))


def judged(record, evidence, others=()):
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio, "", others)
    return health, next_step(record, health, sweep_at(evidence), TIMES)


CASES = [
    # name, record, evidence, others, health, step, words in the reason
    ("a rollback whose service recovered after Runwarden scaled its connector: not verified", rollback(),
     served(6), [later("scale_connector", CONNECTOR, -3)], HealthKind.UNCLEAR, StepKind.WAIT,
     "scale_connector on backend-conn at"),
    ("... by the deadline: escalated, kept", rollback(), served(11), [later("scale_connector", CONNECTOR, -3)],
     HealthKind.UNCLEAR, StepKind.ESCALATE, "both changes' doing"),
    ("a rollback still failing at the deadline after a later connector scale-up: not undone", rollback(),
     served(11, ok=20, errors=20), [later("scale_connector", CONNECTOR, 2)], HealthKind.UNCLEAR,
     StepKind.ESCALATE, "neither verify this action nor show it failing"),
    ("a scale-up whose connector Runwarden scaled again (a cooldown shorter than the deadline)", scale_up(),
     served(11), [later("scale_connector", CONNECTOR, 1, ActionState.VERIFIED)], HealthKind.UNCLEAR,
     StepKind.ESCALATE, "verified)"),
    ("a scale-up whose service Runwarden rolled back since", scale_up(), served(11),
     [later("rollback_traffic", SERVICE, 0)], HealthKind.UNCLEAR, StepKind.ESCALATE, "rollback_traffic on backend"),
    # Controls: writes elsewhere, or before this one, change nothing.
    ("control: a later rollback of another service", rollback(), served(6),
     [later("rollback_traffic", OTHER_SERVICE, -3)], HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("control: a later scale-up of a connector the service does not use", rollback(), served(6),
     [later("scale_connector", OTHER_CONNECTOR, -3)], HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("control: an earlier action on the same connector", rollback(), served(6),
     [later("scale_connector", CONNECTOR, -30, ActionState.VERIFIED)], HealthKind.HEALTHY, StepKind.VERIFY,
     "healthy"),
    ("control: still failing at the deadline, no later write: undone", rollback(), served(11, ok=20, errors=20),
     [later("rollback_traffic", OTHER_SERVICE, 2)], HealthKind.FAILING, StepKind.UNDO, "still failing"),
]


# Each `applied_at` is its writing instance's own clock, and two instances' clocks may differ by up to
# CLOCK_SKEW_ALLOWANCE (5 min): a later write made on an instance whose clock ran behind is dated before
# this one. The first action is applied at -5, so anything dated from -10 on may be the later write.
SKEWED = [
    ("a rollback whose service recovered, Runwarden's scale-up of its connector dated 2 min before it (its "
     "instance's clock behind): not verified", rollback(), served(11), [later("scale_connector", CONNECTOR, -7)],
     HealthKind.UNCLEAR, StepKind.ESCALATE, "the clocks cannot tell which write came first"),
    ("a rollback still failing at the deadline, a scale-up dated 4 min before it: not undone", rollback(),
     served(11, ok=20, errors=20), [later("scale_connector", CONNECTOR, -9)], HealthKind.UNCLEAR, StepKind.ESCALATE,
     "neither verify this action nor show it failing"),
    ("a scale-up whose service Runwarden rolled back, dated exactly the allowance before it", scale_up(),
     served(11), [later("rollback_traffic", SERVICE, -10)], HealthKind.UNCLEAR, StepKind.ESCALATE,
     "within the 5-minute clock-skew allowance of this scale_connector on backend-conn at"),
    ("a second rollback of the service dated in the same second", rollback(), served(11),
     [later("rollback_traffic", SERVICE, -5)], HealthKind.UNCLEAR, StepKind.ESCALATE, "or may have"),
    # Controls: a write dated more than the allowance before is earlier, whatever the clocks: its change is
    # in this action's `before`.
    ("control: a scale-up dated just over the allowance before the rollback", rollback(), served(11),
     [later("scale_connector", CONNECTOR, -10.05, ActionState.VERIFIED)], HealthKind.HEALTHY, StepKind.VERIFY,
     "healthy"),
    ("control: still failing at the deadline, the scale-up dated 6 min before: undone", rollback(),
     served(11, ok=20, errors=20), [later("scale_connector", CONNECTOR, -11, ActionState.VERIFIED)],
     HealthKind.FAILING, StepKind.UNDO, "still failing"),
]


@pytest.mark.parametrize("name, record, evidence, others, health, step, words", CASES + SKEWED,
                         ids=[c[0] for c in CASES + SKEWED])
def test_a_later_own_write_on_the_path_makes_the_verdict_unclear(name, record, evidence, others, health, step,
                                                                 words):
    got, next_ = judged(record, evidence, others)
    assert (got.kind, next_.kind) == (health, step), got.why
    assert words in got.why, got.why


def test_traffic_moved_by_runwardens_own_later_rollback_names_it():
    """A second rollback of the same service (a cooldown shorter than the deadline) moved the traffic off the
    first's revision: still escalated at once, and the reason says whose write it was."""
    record = rollback()
    evidence = served(6, split={NEW: 100})
    got, _ = judged(record, evidence, [later("rollback_traffic", SERVICE, 1)])
    assert got.kind is HealthKind.CHANGED and "Runwarden's own later action(s)" in got.why, got.why


def test_a_later_write_dated_well_after_is_named_as_later_without_the_clock_caveat():
    """A write dated more than the allowance after this one is later whatever the clocks: the reason says
    so plainly, with no word of an order the clocks cannot tell."""
    got, _ = judged(rollback(), served(11), [later("scale_connector", CONNECTOR, 1)])
    assert got.kind is HealthKind.UNCLEAR, got.why
    assert "after it: scale_connector" in got.why and "cannot tell" not in got.why, got.why


@pytest.mark.parametrize("apart", [0, 1, 4, 5])
def test_both_writes_of_a_close_pair_are_escalated_each_naming_the_other(apart):
    """A rollback and a scale-up of its connector dated `apart` minutes from each other, on two instances
    whose clocks may differ by the allowance: which came first cannot be told, so which change the clean
    minutes since answer to cannot be told either. Each is unclear for the other and escalated at its
    deadline, naming the other write, its time and this one's; neither is verified or undone."""
    first = rollback()
    second = scale_up().model_copy(update={"applied_at": at(-5 + apart), "settle_at": at(apart),
                                           "deadline_at": at(10 + apart)})
    evidence = served(11 + apart)
    for record, other in ((first, second), (second, first)):
        got, next_ = judged(record, evidence, [other])
        assert (got.kind, next_.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), got.why
        assert f"{other.action} on" in got.why and f"this {record.action} on" in got.why, got.why
