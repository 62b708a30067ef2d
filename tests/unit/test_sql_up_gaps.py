"""A Cloud SQL instance whose database/up skipped minutes inside the window is not shown up there: a
maintenance restart, an out-of-memory restart or a stop and start may leave no point at all rather
than a 0 (Facts.sql_gaps). The minutes it was silent are read as Facts.sql_down reads a series that
stopped: not up, never up by default. One minute without a point (a sample that slipped into the
next minute) is not a gap; more than SQL_GAP_SECONDS between two points is."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_database_own_failures import REPLICA_PGX, REPLICA_PY
from tests.unit.test_database_refusals import SQL_UP_ALERT, clean_user
from tests.unit.test_diagnosis import OLD, deployed

S = DiagnosisSettings()
REPLICA = "demo:us-central1:main-db-replica"   # a read replica's own connection name


def _deploy(at: float) -> Evidence:
    """NEW, deployed at `at`, fails since (60% 500s); a quiet connector."""
    e = deployed(Evidence(), new_at=at)
    return (e.connector(max_instances=3).connector_metric("instances", -20, 5, 2)
            .connector_metric("cpu", -20, 5, 0.3).connector_metric("bytes", -20, 5, 2e6))


def _busy_connector(cpu: float, sql: tuple[str, ...] = (SQL,)) -> Evidence:
    """One revision (naming the instances `sql`) for hours; from -8m a fifth of its requests 503 with
    p99 at 31 s (over the hang bar: held, not a timeout of its own); the connector newly at max from -9m
    with CPU at `cpu`."""
    return (Evidence().revision(OLD, -300, sql=sql).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
            .requests(OLD, -8, 5, 50, code="503").latency(OLD, -90, -8, 0.09).latency(OLD, -8, 5, 31)
            .connector(max_instances=3).connector_metric("instances", -90, -9, 2)
            .connector_metric("instances", -9, 5, 3).connector_metric("cpu", -90, -9, 0.2)
            .connector_metric("cpu", -9, 5, cpu).connector_metric("bytes", -90, -9, 4e6)
            .connector_metric("bytes", -9, 5, 5e6))


# (build, expected signature, expected action, competing set or None). Points are one a minute, at
# the minutes (start, end] of each sql_up call; the gap is the minutes between two calls.
CASES = {
    "deploy at -6 into a maintenance restart silent -7..-3 (4 minutes): competes, no rollback": dict(
        build=lambda: _deploy(-6).sql_up(-90, -7, 1).sql_up(-3, 5, 1),
        expect=Signature.INCONCLUSIVE, action=None, competing={"bad_revision", "database_unreachable"}),
    # Failing from its deploy six minutes before the silence, and still since database/up came back: the silence
    # explains neither end of the failures (database_signs.outage_inside_failures), and is named beside the deploy.
    "deploy at -12, database/up silent -6..-1 (5 minutes) inside its failures: rolled back, the silence beside": dict(
        build=lambda: _deploy(-12).sql_up(-90, -6, 1).sql_up(-1, 5, 1),
        expect=Signature.BAD_REVISION, action="rollback_traffic", competing=None,
        beside="database_unreachable ruled out: the database was down inside the failures"),
    "deploy at -12, one minute without a point (a slipped sample): the deploy alone, rolled back": dict(
        build=lambda: _deploy(-12).sql_up(-90, -6, 1).sql_up(-5, 5, 1),
        expect=Signature.BAD_REVISION, action="rollback_traffic", competing=None),
    "deploy at -12, database/up a point every minute: the deploy alone, rolled back": dict(
        build=lambda: _deploy(-12).sql_up(-90, 5, 1),
        expect=Signature.BAD_REVISION, action="rollback_traffic", competing=None),
    "busy connector (CPU 95%), database/up silent -6..-2 (an OOM restart): not the connector's": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, -6, 1).sql_up(-2, 5, 1),
        expect=Signature.DATABASE_UNREACHABLE, action=None, competing=None),
    "busy connector (CPU 91%), database/up silent -5..-1 (a failover's minutes): not the connector's": dict(
        build=lambda: _busy_connector(0.91).sql_up(-90, -5, 1).sql_up(-2, 5, 1),
        expect=Signature.DATABASE_UNREACHABLE, action=None, competing=None, inside=True),
    "busy connector, database/up every minute: the connector scaled": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, 5, 1),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector", competing=None),
    "busy connector, one minute without a point: the connector scaled": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, -4, 1).sql_up(-3, 5, 1),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector", competing=None),
}


# A service that reads from a lagging read replica. Lag itself fails no request: a hot standby cancels
# the reads that hold its replay back, and those cancellations are logged (replica.py); the replica's
# own lag metric (database/replication/replica_lag) is not read, and need not be, for any of these.
REPLICA_CASES = {
    "busy connector, the replica cancels reads (psycopg2): no scale-up": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, 5, 1).log(-6, REPLICA_PY, OLD, count=20),
        expect=Signature.INCONCLUSIVE, action=None, competing=None),
    "busy connector, the replica cancels reads (pgx): no scale-up": dict(
        build=lambda: _busy_connector(0.91).sql_up(-90, 5, 1).log(-6, REPLICA_PGX, OLD, count=12),
        expect=Signature.INCONCLUSIVE, action=None, competing=None),
    "busy connector, the named replica promoted (its database/up silent -5..-1): not the connector's": dict(
        build=lambda: _busy_connector(0.95, (SQL, REPLICA)).sql_up(-90, 5, 1).sql_up(-90, -5, 1, db=REPLICA)
        .sql_up(-2, 5, 1, db=REPLICA),
        expect=Signature.DATABASE_UNREACHABLE, action=None, competing=None, inside=True),
}
CASES.update(REPLICA_CASES)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_minutes_database_up_skipped_are_not_up(case):
    bundle = case["build"]().bundle()

    result = diagnose(bundle, S)

    assert result.signature is case["expect"], result.summary
    assert plan(result, bundle, S).action == case["action"], result.summary
    if case["competing"]:
        assert set(result.competing) == case["competing"], result.summary
    if case["expect"] is Signature.DATABASE_UNREACHABLE or case["competing"]:
        assert "no point from" in result.summary, result.summary
    if case.get("beside"):
        assert case["beside"] in result.summary, result.summary
    if case.get("inside"):
        # Failing more than two minutes before the silence, and since: nothing else explained those minutes, so the
        # outage stands for its own minutes and says the rest is left unexplained.
        assert "explains the failures in its own minutes only" in result.summary, result.summary
        assert "database_unreachable ruled out" not in result.summary, result.summary


# An alert on database/up itself, the instance's users serving cleanly throughout: `healthy` needs
# database/up at 1 over the minutes judged ((12:00, 12:05] here), every one of them reported.
ALERT = {
    "every minute at 1: healthy": dict(up=((-40, 8),), healthy=True),
    "one minute without a point: healthy": dict(up=((-40, 2), (3, 8)), healthy=True),
    "silent 12:01..12:05 (4 minutes), then 1 again: not healthy": dict(up=((-40, 1), (5, 8)), healthy=False),
    "silent 11:59..12:03 across the incident's start: not healthy": dict(up=((-40, -1), (3, 8)), healthy=False),
    "silent 12:02..12:05, a restart's 3 minutes: not healthy": dict(up=((-40, 2), (5, 8)), healthy=False),
}


@pytest.mark.parametrize("case", ALERT.values(), ids=ALERT.keys())
def test_a_database_up_alert_is_not_cleared_over_minutes_it_skipped(case):
    e = clean_user(Evidence(now=8))
    e.sql.clear()   # clean_user's database/up at 1 every minute, replaced by the case's
    for start, end in case["up"]:
        e = e.sql_up(start, end, 1)
    bundle = e.bundle().model_copy(update={"alert": SQL_UP_ALERT})

    result = diagnose(bundle, S)

    assert (result.signature is Signature.HEALTHY) == case["healthy"], result.summary
    assert plan(result, bundle, S).action is None
