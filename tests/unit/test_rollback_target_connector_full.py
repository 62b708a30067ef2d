"""A rollback target whose own connector exists but is full: at its max instances with its CPU hot, filled by
another service's load since the deploy moved this one off it (shared/diagnosis/rules/target_deps.py,
connector_full). Sending the target the traffic sends it to a connector that cannot grow: no target, a person
decides. Instances at the max alone are no sign (connectors don't scale in: an old burst's), nor a hot CPU below
the max (a connector still adding instances). Pure: the bundle built in memory, no I/O.
"""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Connector, MetricPoint, MetricResult, MetricSeries, TargetConnectorRead
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, at
from tests.unit.test_rollback_target_deps import NEW, NO_TARGET, OLD, OLD_CONN, ROLLBACK, deployed

S = DiagnosisSettings()


def _minutes(before: float, since: float) -> MetricResult:
    """A gauge at `before` from -40 to -6 (the deploy) and at `since` from -6 to +5, per minute."""
    points = tuple(MetricPoint(end=at(m), value=before if m <= -6 else since) for m in range(-39, 6))
    return MetricResult(query="connector metric", series=(MetricSeries(points=points),))


def full(instances: tuple[float, float] | None, cpu: tuple[float, float] | None, *, max_instances: int = 3,
         state: str = "READY") -> TargetConnectorRead:
    """OLD's connector read READY with max_instances, and its instances and CPU p99 (before, since the deploy)."""
    return TargetConnectorRead(
        name=OLD_CONN, revisions=(OLD,), connector=Connector(name=OLD_CONN, state=state, max_instances=max_instances),
        instances=_minutes(*instances) if instances else None, cpu=_minutes(*cpu) if cpu else None)


# OLD's connector's read -> (known-good revision, action)
CASES = {
    "at its 3 max instances, CPU p99 96 % since: full, no target": (full((2, 3), (0.3, 0.96)), NO_TARGET),
    "at its 10 max (the API's ceiling), CPU p99 97 %: no target": (
        full((4, 10), (0.4, 0.97), max_instances=10), NO_TARGET),
    "at its max since a burst, CPU p99 6 % (connectors don't scale in): rolled back": (
        full((3, 3), (0.06, 0.06)), ROLLBACK),
    "CPU p99 95 % with 2 of 3 instances (room to grow): rolled back": (full((2, 2), (0.3, 0.95)), ROLLBACK),
    "2 of 3 instances, CPU p99 12 %: rolled back": (full((2, 2), (0.12, 0.12)), ROLLBACK),
    "its metrics not read (refused): judged on its state alone, rolled back": (full(None, None), ROLLBACK),
    "its CPU not read: judged on its state alone, rolled back": (full((2, 3), None), ROLLBACK),
}


@pytest.mark.parametrize("target_read, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_target_whose_own_connector_is_full_is_no_target(target_read, expected):
    bundle = deployed(old_connector=OLD_CONN, new_connector=CONNECTOR).bundle().model_copy(
        update={"target_connector": target_read})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert (result.known_good_revision, plan(result, bundle, S).action) == expected, result.summary
    if expected == NO_TARGET:
        assert "old-conn" in result.summary and "cannot grow" in result.summary, result.summary


def test_the_same_connector_as_the_suspects_is_never_judged_apart():
    """A target on the suspect's own connector: the path's read judges it (connector_saturation), not this."""
    read = TargetConnectorRead(name=CONNECTOR, revisions=(OLD,), connector=Connector(name=CONNECTOR, state="READY"),
                               instances=_minutes(2, 3), cpu=_minutes(0.3, 0.96))
    bundle = deployed().bundle().model_copy(update={"target_connector": read})
    result = diagnose(bundle, S)
    assert "cannot grow" not in result.summary, result.summary
