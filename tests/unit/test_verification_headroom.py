"""A connector change is verified only where the connector as scaled has room left (shared/remediation/headroom.py):
its services' clean requests while it runs at its throughput ceiling, or at max instances with its CPU saturated,
show only that it carries that load. Pure, no I/O; times as tests/unit/test_verification_judging.py's (settled at
0, deadline at +10)."""
from __future__ import annotations

import pytest

from shared.remediation.judging import HealthKind, StepKind
from tests.unit.test_verification_judging import rollback, scale_up, served, verdict

# e2-standard-4 at max_instances 4: a ceiling of 4 x 1600 = 6400 Mbps (facts.CONNECTOR_MBPS_PER_INSTANCE).
CEILING_BYTES = 6400e6 / 8


def scaled(*metrics: tuple[str, float, float, float], ok: float = 60):
    """Clean requests at a load above the one before, the connector as scaled, its metrics as given."""
    e = served(11, ok=ok).connector("e2-standard-4", 2, 4)
    for which, start, end, value in metrics:
        e.connector_metric(which, start, end, value)
    return e


CASES = [
    # name, record, evidence, health, step, words in the reason
    ("throughput at 90 % of the ceiling as scaled", scale_up(), scaled(("bytes", -30, 11, 0.9 * CEILING_BYTES)),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "5760 Mbps against its ceiling of 6400 Mbps"),
    ("sent bytes at the ceiling, received low", scale_up(),
     scaled(("bytes", -30, 11, 0.1 * CEILING_BYTES), ("sent_bytes", -30, 11, 0.85 * CEILING_BYTES)),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "still at its limit"),
    ("CPU 97 % at max instances", scale_up(), scaled(("cpu", -30, 11, 0.97), ("instances", -30, 11, 4)),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "CPU p99 peak 97% (bar 80% at max_instances 4)"),
    ("at the limit in 3 of the 5 minutes judged", scale_up(),
     scaled(("cpu", -30, 11, 0.4), ("cpu", 8, 11, 0.95), ("instances", -30, 11, 4)),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "3 of the 5 minute(s)"),
    ("CPU 97 % below max instances: it may still add one", scale_up(),
     scaled(("cpu", -30, 11, 0.97), ("instances", -30, 11, 3)), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("CPU 97 % with no instance count read", scale_up(), scaled(("cpu", -30, 11, 0.97)),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("one hot minute of five: a burst it carried", scale_up(),
     scaled(("cpu", -30, 11, 0.4), ("cpu", 10, 11, 0.95), ("instances", -30, 11, 4)),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("one minute read, at the limit: a burst, whatever else is unread", scale_up(),
     scaled(("cpu", 10, 11, 0.95), ("instances", 10, 11, 4)), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("two minutes read, both at the limit", scale_up(),
     scaled(("cpu", 9, 11, 0.95), ("instances", 9, 11, 4)), HealthKind.UNCLEAR, StepKind.ESCALATE,
     "2 of the 2 minute(s)"),
    ("room left: half the ceiling, CPU 50 % at max", scale_up(),
     scaled(("bytes", -30, 11, 0.5 * CEILING_BYTES), ("cpu", -30, 11, 0.5), ("instances", -30, 11, 4)),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("no connector metric read: the requests decide, as before", scale_up(), scaled(),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("a rollback is not judged on its connector", rollback(), scaled(("bytes", -30, 11, 0.9 * CEILING_BYTES)),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
]


@pytest.mark.parametrize("name,record,evidence,kind,step,words", CASES, ids=[c[0] for c in CASES])
def test_a_connector_change_is_verified_only_with_room_left(name, record, evidence, kind, step, words):
    health, next_ = verdict(record, evidence)
    assert health.kind is kind, health.why
    assert next_.kind is step
    assert words in health.why


def test_the_verdict_names_the_evidence_the_bar_and_the_rule():
    health, _ = verdict(scale_up(), scaled(("cpu", -30, 11, 0.97), ("instances", -30, 11, 4),
                                           ("bytes", -30, 11, 0.2 * CEILING_BYTES)))
    assert "clean since the action settled" in health.why            # the requests it would have been verified on
    assert "max_instances 4" in health.why and "bar 80%" in health.why
    assert "not that it will carry the next rise" in health.why
