"""A silence in request_count since an action settled, told apart where the evidence tells it: the serving
revision scaled to zero (Cloud Run's container/instance_count, active, at 0 since the write: no request
reached it) from Monitoring's ingestion delay (active instances since the write, their requests not yet
visible), and request_count points present at zero from points absent. Never `verified` on no traffic
either way. Pure, no I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10."""
from __future__ import annotations

import pytest

from shared.remediation.judging import HealthKind, StepKind
from tests.unit.test_verification_judging import NEW, OLD, rollback, scale_up, served, verdict

# name, record, evidence, words the reason holds, words it must not hold
ROWS = [
    ("rollback, old revision scaled to zero since", rollback(),
     served(11, until=-3).instances(OLD, -10, -3, 2).instances(OLD, -2, 11, 0),
     "scaled to zero", "are late"),
    ("rollback, zero instances, another wording of the minutes (until -1)", rollback(),
     served(12, until=-1).instances(OLD, -10, -1, 3).instances(OLD, 0, 12, 0),
     "scaled to zero", "are late"),
    ("rollback, instances active since, no request_count point: Monitoring is late", rollback(),
     served(11, until=-3).instances(OLD, -10, 11, 2),
     "active instance", "scaled to zero"),
    ("connector change, its service's revision at zero instances", scale_up(),
     served(11, until=-3).connector("e2-standard-4", 2, 4).instances(OLD, -2, 11, 0),
     "scaled to zero", "are late"),
    ("connector change, 5 active instances, no point since", scale_up(),
     served(11, until=-3).connector("e2-standard-4", 2, 4).instances(OLD, -10, 11, 5),
     "active instance", "scaled to zero"),
    ("no instance_count point since either: cannot be told, said so", rollback(),
     served(11, until=-3).instances(OLD, -10, -3, 2),
     "cannot tell which", "scaled to zero"),
]


@pytest.mark.parametrize("name,record,evidence,said,unsaid", ROWS, ids=[r[0] for r in ROWS])
def test_a_silence_since_the_action_says_whether_the_service_scaled_to_zero_or_metrics_are_late(
        name, record, evidence, said, unsaid):
    health, step = verdict(record, evidence)
    assert health.kind is HealthKind.UNCLEAR, health.why
    assert step.kind is not StepKind.VERIFY
    assert said in health.why, health.why
    assert unsaid not in health.why, health.why


def test_scaled_to_zero_is_never_read_as_metrics_late():
    health, _ = verdict(rollback(), served(11, until=-3).instances(OLD, -2, 11, 0))
    assert "metrics are late, or" not in health.why, health.why


@pytest.mark.parametrize("per_minute", [0, 0.0])
def test_request_count_points_at_zero_are_no_requests_not_late_metrics(per_minute):
    """Points present, each 0: Monitoring has the minutes, and nobody was answered in them."""
    evidence = served(11, ok=0, until=-3).requests(OLD, -2, 11, per_minute)
    health, step = verdict(rollback(), evidence)
    assert health.kind is HealthKind.UNCLEAR, health.why
    assert step.kind is not StepKind.VERIFY
    assert "every one 0" in health.why, health.why


def test_a_revision_at_zero_that_is_not_the_serving_one_says_nothing_of_the_silence():
    """The revision rolled back from at zero instances while the rolled-back-to one shows none: not told."""
    health, _ = verdict(rollback(), served(11, until=-3).instances(NEW, -2, 11, 0))
    assert "scaled to zero" not in health.why, health.why
