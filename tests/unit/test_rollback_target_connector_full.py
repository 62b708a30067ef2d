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
    "its metrics answered no points: judged on its state alone, rolled back": (full(None, None), ROLLBACK),
    "its CPU answered no points: judged on its state alone, rolled back": (full((2, 3), None), ROLLBACK),
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


def _per_minute(values: dict[int, float]) -> MetricResult:
    return MetricResult(query="connector metric", series=(MetricSeries(points=tuple(
        MetricPoint(end=at(m), value=v) for m, v in sorted(values.items()))),))


def _judged(target_read: TargetConnectorRead, evidence=None):
    evidence = evidence or deployed(old_connector=OLD_CONN, new_connector=CONNECTOR)
    bundle = evidence.bundle().model_copy(update={"target_connector": target_read})
    result = diagnose(bundle, S)
    return result, plan(result, bundle, S).action


def _read(instances: MetricResult | None, cpu: MetricResult | None, refusal: str = "") -> TargetConnectorRead:
    return TargetConnectorRead(name=OLD_CONN, revisions=(OLD,),
                               connector=Connector(name=OLD_CONN, state="READY", max_instances=3),
                               instances=instances, cpu=cpu, fullness_refusal=refusal)


def test_the_ceiling_is_read_minute_by_minute_not_as_two_shares():
    """Hot while still at 2 of 3 instances (scaling out), then at its max with its CPU cool: at its max in half the
    minutes, hot in three quarters, but at its ceiling (both in the same minute) in two of eight: room."""
    minutes = range(-6, 6)
    read = _read(_per_minute({m: (2.0 if m < -1 else 3.0) for m in minutes}),
                 _per_minute({m: (0.95 if m < 1 else 0.30) for m in minutes}))
    result, action = _judged(read)
    assert (result.known_good_revision, action) == ROLLBACK, result.summary


@pytest.mark.parametrize("points", [(0, 1), (-3,), (4, 5)], ids=["two points", "one point", "the newest two"])
def test_a_few_points_in_the_minutes_since_the_deploy_are_not_a_full_connector(points):
    """A minute with no point is not a minute at the ceiling: two points of twelve minutes are not "all of them"."""
    read = _read(_per_minute({m: 3.0 for m in points}), _per_minute({m: 0.97 for m in points}))
    result, action = _judged(read)
    assert (result.known_good_revision, action) == ROLLBACK, result.summary


def test_the_same_connector_as_the_suspects_is_never_judged_apart():
    """A target on the suspect's own connector: the path's read judges it (connector_saturation), not this. Its max
    is the 3 its series reach, so only the same-connector guard keeps it out."""
    read = TargetConnectorRead(name=CONNECTOR, revisions=(OLD,),
                               connector=Connector(name=CONNECTOR, state="READY", max_instances=3),
                               instances=_minutes(2, 3), cpu=_minutes(0.3, 0.96))
    result, _ = _judged(read, deployed())
    assert "cannot grow" not in result.summary, result.summary


@pytest.mark.parametrize("code", ["PERMISSION_DENIED", "UNAVAILABLE"])
def test_a_fullness_that_could_not_be_read_holds_the_rollback(code):
    """Monitoring refused (a Shared VPC host project without monitoring.timeSeries.list) or failed: how full the
    connector is is not known, and a rollback onto it is not shown to restore the service."""
    result, action = _judged(_read(None, None, refusal=code))
    assert (result.known_good_revision, action) == NO_TARGET, result.summary
    assert code in result.summary and "monitoring.timeSeries.list" in result.summary, result.summary


def _canary(stable: int) -> "object":
    """NEW a canary at 100 - `stable` %, OLD still serving `stable` % cleanly over old-conn since the deploy."""
    return (deployed(old_connector=OLD_CONN, new_connector=CONNECTOR)
            .traffic(**{NEW: 100 - stable, OLD: stable}).requests(OLD, -6, 5, 60))


@pytest.mark.parametrize("stable, expected", [(90, ROLLBACK), (50, ROLLBACK), (10, NO_TARGET)],
                         ids=["stable at 90 %: carries more than it gains", "50/50: carries what it gains",
                              "stable at 10 %: would gain nine times what it carries"])
def test_a_target_that_carries_its_traffic_cleanly_over_the_full_connector_has_room(stable, expected):
    """The connector read as full carries the target's own traffic in those same minutes, cleanly: a target that
    carries at least what a rollback adds has room on it. One that carries a small share shows little."""
    result, action = _judged(full((2, 3), (0.3, 0.96)), _canary(stable))
    assert (result.known_good_revision, action) == expected, result.summary
    assert "moved off" not in result.summary, result.summary


def _full_in(minutes: range, *, instances: float = 3.0) -> TargetConnectorRead:
    """OLD's connector (max 3) with a point in each of `minutes` only: `instances` and CPU p99 96 %."""
    return _read(_per_minute({m: instances for m in minutes}), _per_minute({m: 0.96 for m in minutes}))


# The minutes a connector's series holds no point for yet, or too few of them: how full it is is not known.
LAG = {
    # The request data is whole up to +2 (Facts.complete_until); the connector's series, ingested on its own, holds
    # no point after -3 yet. At its ceiling in every minute read: full, not 3 of 8.
    "at its ceiling in every minute read, its newest minutes not ingested yet: no target": (
        _full_in(range(-5, -2)), NO_TARGET),
    # One whole minute since the deploy, at 2 of 3 instances: too few minutes to read room on (MIN_FULL_MINUTES).
    "one minute read since the deploy, below its max: too few to judge, held": (
        _full_in(range(-5, -4), instances=2.0), NO_TARGET),
    "at its ceiling in none of the eight whole minutes: rolled back": (
        _full_in(range(-5, 3), instances=2.0), ROLLBACK),
}


@pytest.mark.parametrize("target_read, expected", LAG.values(), ids=LAG.keys())
def test_only_the_whole_minutes_since_the_deploy_count_as_room(target_read, expected):
    result, action = _judged(target_read)
    assert (result.known_good_revision, action) == expected, result.summary


def test_a_target_carrying_its_traffic_cleanly_has_room_though_monitoring_refused_its_fullness():
    """The clean serving evidence is weighed before a refused fullness read: no hold on what is already shown."""
    result, action = _judged(_read(None, None, refusal="PERMISSION_DENIED"), _canary(90))
    assert (result.known_good_revision, action) == ROLLBACK, result.summary


def _stable_90() -> "object":
    return deployed(old_connector=OLD_CONN, new_connector=CONNECTOR).traffic(**{NEW: 10, OLD: 90})


# A stable revision at 90 % over the full connector, and what it carried: (evidence, expected).
CARRIED = {
    "11 requests since the deploy (fewer than min_requests): held": (
        lambda: _stable_90().requests(OLD, -6, 5, 1), NO_TARGET),
    "7.7 % of its requests 5xx (over healthy_error_ratio): held": (
        lambda: _stable_90().requests(OLD, -6, 5, 60).requests(OLD, -6, 5, 5, code="500"), NO_TARGET),
    "clean before the connector filled, 4.8 % 5xx in the minutes it was full: held": (
        lambda: _stable_90().requests(OLD, -6, -2, 600).requests(OLD, -2, 5, 60)
        .requests(OLD, -2, 5, 3, code="500"), NO_TARGET),
    "600 a minute, clean, in the minutes it was full: rolled back": (
        lambda: _stable_90().requests(OLD, -6, 5, 600), ROLLBACK),
}


@pytest.mark.parametrize("evidence, expected", CARRIED.values(), ids=CARRIED.keys())
def test_a_target_shows_room_only_by_carrying_cleanly_in_the_minutes_read_full(evidence, expected):
    """Connector full from -2 on (4 of the 8 whole minutes): the stable revision's requests in those minutes judge."""
    result, action = _judged(_full_in(range(-1, 3)), evidence())
    assert (result.known_good_revision, action) == expected, result.summary


def _bytes(mbps: float) -> MetricResult:
    """A byte counter's rate (ALIGN_RATE: bytes a second) at `mbps` in every minute from -39 to +5."""
    return _minutes(mbps * 1e6 / 8, mbps * 1e6 / 8)


# OLD's connector (3 of 3 e2-micro instances: a 300 Mbps ceiling) with its CPU p99 at 60 %, and its throughput.
THROUGHPUT = {
    "293 of 300 Mbps received: full by throughput, no target": (_bytes(293), None, NO_TARGET),
    "293 of 300 Mbps sent (the other counter): no target": (None, _bytes(293), NO_TARGET),
    "120 of 300 Mbps: room, rolled back": (_bytes(120), _bytes(40), ROLLBACK),
}


@pytest.mark.parametrize("received, sent, expected", THROUGHPUT.values(), ids=THROUGHPUT.keys())
def test_a_target_connector_full_by_throughput_is_read_as_the_paths_is(received, sent, expected):
    read = full((2, 3), (0.6, 0.6)).model_copy(update={"received_bytes": received, "sent_bytes": sent})
    result, action = _judged(read)
    assert (result.known_good_revision, action) == expected, result.summary
