"""Failures that stopped before the diagnosis are not acted on: an alert delivered late (a
redelivery after a transient fault), or kept open by a long alignment period after the service
recovered, still holds failing minutes since the incident started, so it is not `healthy`, and the
rules match on those minutes; but a rollback or a connector scale-up for failures no longer
happening is a wrong action. When the newest minutes (as many as `healthy` needs) are clean and
fast at the alert's bar, for the service and for the revision the finding names, the verdict is
`inconclusive`, with the finding and the clean minutes as evidence, and nothing is written."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.scenarios import ScenarioError, load_scenario
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()


def deploy_failing_until(until: float, now: float = 6, canary: bool = False) -> Evidence:
    """NEW deployed at -20m, 60% 500 from -19m until `until`, clean after; data until `now`."""
    e = Evidence(now=now).revision(OLD, -180, sql=(SQL,)).revision(NEW, -20, sql=(SQL,))
    if canary:
        # NEW takes a small share: the service's count stays under 1 % while NEW fails 40 %.
        e = (e.traffic(**{OLD: 97, NEW: 3}).requests(OLD, -90, now, 400).requests(NEW, -20, now, 6)
             .requests(NEW, -19, until, 4, code="500").latency(OLD, -90, now, 0.2))
    else:
        e = e.traffic(**{NEW: 100}).requests(OLD, -90, -20, 40).requests(NEW, -20, now, 40)
        e = e.requests(NEW, -19, until, 60, code="500").latency(OLD, -90, -20, 0.2)
    return quiet_connector(e.latency(NEW, -20, now, 0.3))


def burst_until(until: float, now: float = 6, ok: float = 40, refused: float = 20) -> Evidence:
    """A connector saturated from -13m (at max, CPU 95%), `refused` 503s a minute (beside `ok` 200s) at
    ~31 s until `until`, calm after."""
    e = (Evidence(now=now).revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, now, ok)
         .requests(OLD, -12, until, refused, code="503").latency(OLD, -90, -12, 0.2).latency(OLD, -12, until, 31)
         .latency(OLD, until, now, 0.2).connector(max_instances=3)
         .connector_metric("instances", -90, -13, 2).connector_metric("instances", -13, now, 3)
         .connector_metric("cpu", -90, -13, 0.3).connector_metric("cpu", -13, until, 0.95)
         .connector_metric("cpu", until, now, 0.3).connector_metric("bytes", -90, now, 2e6).sql_up(-90, now, 1))
    return e


# situation -> the verdict, and the action planned
CASES = {
    "a deploy's failures stopped 3 minutes before the data ends: no rollback": (
        lambda: deploy_failing_until(3), Signature.INCONCLUSIVE, None),
    "a connector burst that ended 3 minutes before the data ends: no scale-up": (
        lambda: burst_until(3), Signature.INCONCLUSIVE, None),
    "a deploy still failing in its newest minutes: rolled back (unchanged)": (
        lambda: deploy_failing_until(6), Signature.BAD_REVISION, "rollback_traffic"),
    "a deploy clean for only its newest minute: rolled back (unchanged)": (
        lambda: deploy_failing_until(5), Signature.BAD_REVISION, "rollback_traffic"),
    "a connector still saturated in its newest minutes: scaled (unchanged)": (
        lambda: burst_until(6), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "a canary still failing at 3 % of the traffic, the service clean by its count: rolled back": (
        lambda: deploy_failing_until(6, canary=True), Signature.BAD_REVISION, "rollback_traffic"),
    "a canary whose failures stopped 3 minutes before the data ends: no rollback": (
        lambda: deploy_failing_until(3, canary=True), Signature.INCONCLUSIVE, None),
}

# A 5xx ratio policy grouped by revision, firing on the canary (the alert names it).
ON_THE_CANARY = AlertContext(policy="5xx ratio by revision", metric_type="run.googleapis.com/request_count",
                             resource_type="cloud_run_revision", threshold=0.05, ratio=True,
                             metric_labels={"response_code_class": "5xx"}, revision=NEW)


@pytest.mark.parametrize("build, signature, action", CASES.values(), ids=CASES.keys())
def test_failures_that_stopped_are_not_acted_on(build, signature, action):
    bundle = build().bundle()
    # The alert names a revision of its world: the connector's has OLD alone (an alert naming a revision that
    # serves nothing plans no scale: planning._named_revision_elsewhere).
    named = NEW if any(r.short_name == NEW for r in bundle.revisions) else OLD
    bundle = bundle.model_copy(update={"alert": ON_THE_CANARY.model_copy(update={"revision": named})})

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "they stopped" in result.summary, result.summary
        assert "if the failures come back" in result.recommendation, result.recommendation


MINIMAL = """
name: tiny
project: p
region: us-central1
services:
  - name: api
    revisions:
      - {name: api-00001-aaa, created: -1h}
"""


@pytest.mark.parametrize("delivered, ok", [(None, True), ("+7m", True), ("0", False), ("-1m", False),
                                           ("+2h", False)])
def test_a_scenario_says_when_it_is_delivered(tmp_path: Path, delivered, ok):
    path = tmp_path / "scenario.yaml"
    path.write_text(MINIMAL + (f"delivered: {delivered!r}\n" if delivered else ""))
    if not ok:
        with pytest.raises(ScenarioError, match="delivered"):
            load_scenario(path)
        return
    expected = {None: 2, "+7m": 7}[delivered]
    assert load_scenario(path).delivered.total_seconds() == expected * 60


@pytest.mark.parametrize("read_after, stopped", [
    (0, False),     # read as the data ends: the 500 series' newest point (+3) may be late, not stopped
    (3, True),      # read 3 minutes later (facts.INGEST_LAG): a point at +4 would be visible, so it stopped
])
def test_failures_are_said_to_have_stopped_only_on_whole_minutes(read_after, stopped):
    """A deploy failing 60 % until +3, its 200s and its p99 visible up to +6, its 500s up to +3: each
    series is ingested on its own, up to ~180 s after its minute, so read at +6 the 500s of +4..+6 may
    not be visible yet. The newest minutes, read as they stood, were clean, and the diagnosis said "they
    stopped: the service has served cleanly in its newest 2 minutes" of failures that may still be going
    on. Read on whole minutes (Facts.complete_until) that is not known: nothing is done (the failures may
    have stopped), and the summary says so. Read once the minutes are whole, they stopped."""
    e = deploy_failing_until(3)
    e.read_after = 0    # `read_after` below counts from the newest point
    bundle = e.bundle()
    bundle = bundle.model_copy(update={"alert": ON_THE_CANARY,
                                       "collected_at": bundle.collected_at + timedelta(minutes=read_after)})

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE and plan(result, bundle, S).action is None, result.summary
    assert ("the service has served cleanly in its newest 2 minutes" in result.summary) is stopped, result.summary
    assert ("they may have stopped" in result.summary) is not stopped, result.summary
    assert ("not whole yet" in result.summary) is not stopped, result.summary


def quiet_canary(until: float, now: float = 6) -> Evidence:
    """A quiet service: OLD 10 requests a minute, NEW (a 10 % canary) 1 a minute clean and 1 a minute 500
    from -19m until `until`, then 2 clean a minute; data until `now`."""
    e = Evidence(now=now).revision(OLD, -180, sql=(SQL,)).revision(NEW, -20, sql=(SQL,))
    e = (e.traffic(**{OLD: 90, NEW: 10}).requests(OLD, -90, now, 10).requests(NEW, -20, now, 1)
         .requests(NEW, -19, until, 1, code="500").requests(NEW, until, now, 1).latency(OLD, -90, now, 0.2))
    return quiet_connector(e.latency(NEW, -20, now, 0.3))


# situation -> whether the clean newest minutes show the failures stopped (never acted on either way)
QUIET = {
    "a quiet connector burst (1 503 in 11 a minute): 30 clean requests come 6 % of the time had it gone on": (
        lambda: burst_until(3, ok=10, refused=1), False),
    "a busy connector burst (20 503s in 60 a minute): its clean minutes rule it out": (lambda: burst_until(3), True),
    "a quiet canary failing half its 2 requests a minute: 4 clean ones come 6 % of the time": (
        lambda: quiet_canary(3), False),
    "a busy canary (6 requests a minute, 4 failing): its 12 clean ones rule it out": (
        lambda: deploy_failing_until(3, canary=True), True),
}


@pytest.mark.parametrize("build, shown", QUIET.values(), ids=QUIET.keys())
def test_failures_are_said_to_have_stopped_only_when_the_clean_requests_rule_them_out(build, shown):
    """`_stopped_since` said "they stopped" on 2 clean minutes with 20 requests whatever the failure
    before them: a quiet service failing 9 % answers 30 requests with none failing 6 % of the time.
    It never acts either way; now its words say what the numbers show (the binomial check of
    still_failing.py, as the `healthy` check and the sweep use it), for the service and for the
    revision the finding names."""
    bundle = build().bundle()
    bundle = bundle.model_copy(update={"alert": ON_THE_CANARY, "collected_at": bundle.collected_at + timedelta(minutes=3)})

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE and plan(result, bundle, S).action is None, result.summary
    assert ("the service has served cleanly in its newest 2 minutes" in result.summary) is shown, result.summary
    assert ("too few requests to tell recovery from the failure" in result.summary) is not shown, result.summary
