"""database/up at the edges of the window judged (Facts.sql_edges). An instance that stopped, is
restarting or was deleted may leave no point at all at the window's start (no point before the
first one in it) or at its end (the newest point minutes before the window's end):

- at the start: minutes before the first point, with no point before them, were not reported: not
  up (as a gap between two points, Facts.sql_gaps).
- at the end: database/up is "Sampled every 60 seconds. After sampling, data is not visible for up to
  165 seconds" (Cloud SQL metrics reference); a third-party config says up to 210 s. A newest point
  older than that delay and a sample more (SQL_GAP_SECONDS) at the read has stopped: the minutes after
  it are not up. A newer one may merely lag: the minutes after it are unknown, neither up nor down.

Times are minutes from T0; the read is at `read` (the request metrics end at the builder's `now`)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_database_refusals import SQL_UP_ALERT, clean_user
from tests.unit.test_sql_up_gaps import _busy_connector, _deploy

S = DiagnosisSettings()
ANY = None   # a signature not pinned: only that it is not the one named in `not_signature`

# (build, read (minutes; None: at the builder's now), expected signature or ANY, signature it must
# not be, expected action). The connector is busy from -9m and a fifth of the requests 503 from -8m
# (_busy_connector); the deploy fails from -12m (_deploy). Requests are visible up to +2m.
CASES = {
    # The end of the window: stopped (overdue past the delay) or lagging (within it).
    "busy connector, last point -2m, read +5m: overdue 7 min after, stopped: not the connector's": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, -2, 1), read=5,
        expect=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector (91%), last point -3m, read +6m: stopped: not the connector's": dict(
        build=lambda: _busy_connector(0.91).sql_up(-90, -3, 1), read=6,
        expect=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector, last point -1m, read +2m: within the delay, unknown: no scale-up, not down": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, -1, 1), read=None,
        expect=ANY, not_signature=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector, last point -2m, read +2m (4 min): within the delay and a sample, unknown": dict(
        build=lambda: _busy_connector(0.93).sql_up(-90, -2, 1), read=None,
        expect=ANY, not_signature=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector, last point 0m, read +5m: two minutes to the window's end, a slipped sample: scaled": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, 0, 1), read=5,
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "busy connector, a point every minute to +2m, read +5m: scaled": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, 2, 1), read=5,
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "deploy -12m, last point -3m, read +5m: stopped while it fails: competes, no rollback": dict(
        build=lambda: _deploy(-12).sql_up(-90, -3, 1), read=5,
        expect=Signature.INCONCLUSIVE, action=None),
    "deploy -12m, last point -1m, read +2m: lagging, the deploy alone: rolled back": dict(
        build=lambda: _deploy(-12).sql_up(-90, -1, 1), read=None,
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # The start of the window: stopped before it, or restarting since before it.
    "busy connector, last point -13m (before the failing minutes), read +2m: stopped: not the connector's": dict(
        build=lambda: _busy_connector(0.95).sql_up(-90, -13, 1), read=None,
        expect=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector, last point an hour old (-60m), read +2m: stopped long before: not the connector's": dict(
        build=lambda: _busy_connector(0.95).sql_up(-70, -60, 1), read=None,
        expect=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector, first point -4m (none before: restarting): not the connector's": dict(
        build=lambda: _busy_connector(0.95).sql_up(-4, 5, 1), read=None,
        expect=Signature.DATABASE_UNREACHABLE, action=None),
    "busy connector (92%), first point -6m (none before): not the connector's": dict(
        build=lambda: _busy_connector(0.92).sql_up(-6, 5, 1), read=None,
        expect=Signature.DATABASE_UNREACHABLE, action=None),
    "deploy -12m, first point -5m (none before): competes, no rollback": dict(
        build=lambda: _deploy(-12).sql_up(-5, 5, 1), read=None,
        expect=Signature.INCONCLUSIVE, action=None),
    "deploy -12m, a point every minute from -20m: the deploy alone, rolled back": dict(
        build=lambda: _deploy(-12).sql_up(-20, 5, 1), read=None,
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_database_up_at_the_window_edges(case):
    built = case["build"]()
    built.read_after = 0    # read as the data ends (or at `read`): these cases are about database/up's own edges
    bundle = built.bundle()
    if case["read"] is not None:
        bundle = bundle.model_copy(update={"collected_at": at(case["read"])})

    result = diagnose(bundle, S)

    if case["expect"] is not ANY:
        assert result.signature is case["expect"], result.summary
    if case.get("not_signature"):
        assert result.signature is not case["not_signature"], result.summary
    assert plan(result, bundle, S).action == case["action"], result.summary


# An alert on database/up itself, its users clean: `healthy` needs every minute judged ((12:00,
# 12:05] here: the requests end at 12:05) reported at 1, the first of them and the last too.
ALERT = {
    "every minute to the read: healthy": dict(up=((-40, 8),), read=None, healthy=True),
    "first point 12:03, none before (restarting since before): not healthy": dict(up=((2, 8),), read=None,
                                                                                 healthy=False),
    "first point 12:04, none before: not healthy": dict(up=((3, 8),), read=None, healthy=False),
    "first point 12:02, none before (a sample late): healthy": dict(up=((1, 8),), read=None, healthy=True),
    "newest point 12:02, read 12:08 (stopped): not healthy": dict(up=((-40, 2),), read=None, healthy=False),
    "newest point 12:02, read 12:12 (stopped): not healthy": dict(up=((-40, 2),), read=12, healthy=False),
    # Read at 12:06 the requests are judged up to 12:03 only (Facts.whole_line: 180 s before the read), and
    # database/up's 12:02 is a sample behind them, as 12:03 is behind 12:05 read at 12:08 below.
    "newest point 12:02, read 12:06 (within the delay, a sample behind the whole minutes): healthy": dict(
        up=((-40, 2),), read=6, healthy=True),
    "newest point 12:01, read 12:06 (within the delay, two samples behind the whole minutes): not healthy yet": dict(
        up=((-40, 1),), read=6, healthy=False),
    "newest point 12:03, read 12:08 (a sample behind the requests): healthy": dict(up=((-40, 3),), read=None,
                                                                                  healthy=True),
}


@pytest.mark.parametrize("case", ALERT.values(), ids=ALERT.keys())
def test_a_database_up_alert_is_not_cleared_over_unreported_edges(case):
    e = clean_user(Evidence(now=8, read_after=0))
    e.sql.clear()
    for start, end in case["up"]:
        e = e.sql_up(start, end, 1)
    bundle = e.bundle().model_copy(update={"alert": SQL_UP_ALERT})
    if case["read"] is not None:
        bundle = bundle.model_copy(update={"collected_at": at(case["read"])})

    result = diagnose(bundle, S)

    assert (result.signature is Signature.HEALTHY) == case["healthy"], result.summary
    assert plan(result, bundle, S).action is None
