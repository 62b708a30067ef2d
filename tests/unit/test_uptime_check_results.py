"""An uptime check's alert judged on the check's own results (uptime_check/check_passed), not on the service's
request log alone.

Before, check_passed was never read: a check still failing from 3 of its 6 checker locations (the probes that
failed never reached the service, or reached it and were answered after the checker gave up elsewhere) was
`healthy` on the service's clean requests and the probes that did arrive, and a request log holding no probe at
all (health checks excluded from it) read as probes not failing. Now any result false in the minutes judged holds
`healthy` and `verified`; neither a result nor a probe's line is "not known", never healthy; every location
passing may count as recovered with the rest of the evidence. Pure, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.check_results import alert_check_id
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext, MetricResult, MetricSeries
from shared.diagnosis.signatures import Signature
from shared.remediation.judging import HealthKind, judge
from tests.unit.builders import Evidence, at
from tests.unit.test_healthy_uptime_probes import PASSED, REV, RUN_LATENCY, _burst
from tests.unit.test_verification_judging import OLD, rollback, served, swept

S = DiagnosisSettings()
LOCATIONS = ("apac-singapore", "eur-belgium", "sa-brazil-sao_paulo", "usa-iowa", "usa-oregon", "usa-virginia")
CHECK = "backend-uptime-4f2a"
REFUSED = "monitoring: uptime_check/check_passed: PERMISSION_DENIED: monitoring.timeSeries.list"


def results(by_location: dict[str, dict[float, bool]], check: str = CHECK) -> MetricResult:
    """check_passed as Monitoring answers it raw: one series per checker location, a point per result."""
    return MetricResult(query="check_passed", series=tuple(
        MetricSeries(metric_labels={"check_id": check, "checker_location": where},
                     resource_labels={"host": "backend-418273645012.us-central1.run.app"},
                     points=[{"end": at(m), "value": v} for m, v in sorted(points.items())])
        for where, points in by_location.items()))


def every(minutes: tuple[float, ...] = (-7, -2, 3), failing: tuple[str, ...] = (),
          failing_at: tuple[float, ...] | None = None) -> dict[str, dict[float, bool]]:
    """Each location's results at `minutes` (every 5 minutes): passed, but at the `failing` locations at
    `failing_at` (every one of `minutes` when None)."""
    return {where: {m: not (where in failing and (failing_at is None or m in failing_at)) for m in minutes}
            for where in LOCATIONS}


def bundle(e: Evidence, alert: AlertContext = PASSED, check: MetricResult | None = None, *, uptime_kept: float = 1.0,
           log_refused: bool = False, check_refused: bool = False):
    """The alert path's bundle: the request log as read (its checker's lines kept by `uptime_kept`), and the
    check's results (`check`), or either read refused."""
    b = e.bundle().model_copy(update={"alert": alert, "callers_asked": True,
                                      "request_lines": e.request_log(-10, uptime_kept=uptime_kept),
                                      "check_passed": check})
    gaps = (("logging: request log (its callers and uptime checks): PERMISSION_DENIED",) if log_refused else ()) \
        + ((REFUSED,) if check_refused else ())
    return b.model_copy(update={"gaps": b.gaps + gaps, **({"request_lines": None} if log_refused else {})})


def _quiet() -> Evidence:
    """backend serving 400 clean requests a minute throughout, the probes answered 200: the service never showed
    the check's failure (a certificate, DNS, a domain mapping outside it)."""
    e = Evidence(now=5).revision(REV, -1800).traffic(**{REV.replace("-", "_"): 100}).instances(REV, -60, 5, 3)
    e.requests(REV, -60, 5, 400).latency(REV, -60, 5, 0.035)
    return e.uptime(REV, -8, 5, 1.2)


TWO_CHECKS = MetricResult(query="check_passed", series=results(every()).series
                          + results(every(), "backend-uptime-api-9c1e").series)

CASES = [
    # name, bundle, healthy, words in the summary
    ("3 of 6 locations still failing, the probes that arrived answered 200: not healthy",
     bundle(_burst(), check=results(every(failing=LOCATIONS[:3]))), False, "false from 3 of 6"),
    ("no probe's line in the request log (health checks excluded) and no result: not known, not healthy",
     bundle(_burst(), uptime_kept=0.0), False, "not known"),
    ("no probe's line, one location failing: not healthy",
     bundle(_burst(), check=results(every(failing=LOCATIONS[4:5])), uptime_kept=0.0), False,
     "false from 1 of 6"),
    ("no probe's line, the results' read refused: not healthy, the refusal named",
     bundle(_burst(), uptime_kept=0.0, check_refused=True), False, "PERMISSION_DENIED"),
    ("a location failing at its newest result after a pass in the window: not healthy",
     bundle(_burst(), check=results({**every(), "usa-iowa": {-2: False, 1: True, 4: False}})), False,
     "usa-iowa"),
    ("the request log refused, every location passing since: healthy",
     bundle(_burst(), check=results(every((-2, 3), LOCATIONS, (-2,))),
            log_refused=True), True, ""),
    ("the service never showed the failure, every location passing since: recovered, healthy",
     bundle(_quiet(), check=results(every((-2, 3), LOCATIONS, (-2,)))), True, ""),
    ("control: the request log refused and no result: not healthy (as before)",
     bundle(_burst(), log_refused=True), False, "not known"),
    ("control: the service never showed the failure, no result: not healthy (as before)",
     bundle(_quiet()), False, "not judged healthy"),
    ("control: the service never showed the failure, a location failing before and silent since: not healthy",
     bundle(_quiet(), check=results({**every((-2, 3)), "usa-oregon": {-2: False}})), False,
     "not judged healthy"),
    ("control: the service never showed the failure, two checks on the host passing: not one check, not healthy",
     bundle(_quiet(), check=TWO_CHECKS), False, "not judged healthy"),
    ("control: no probe's line, every location passing: healthy",
     bundle(_burst(), check=results(every()), uptime_kept=0.0), True, ""),
    ("control: the probes' lines clean, no result: healthy (as before)",
     bundle(_burst()), True, ""),
    ("control: failing before the window, every location passing in it: healthy",
     bundle(_burst(), check=results(every(failing=LOCATIONS, failing_at=(-7, -2)))), True,
     ""),
    ("control: a Cloud Run latency alert, no probe's line, no result: healthy (as before)",
     bundle(_burst(), RUN_LATENCY, uptime_kept=0.0), True, ""),
]


@pytest.mark.parametrize("name,b,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_an_uptime_checks_alert_is_judged_on_its_own_results(name, b, healthy, words):
    d = diagnose(b, S)
    assert (d.signature is Signature.HEALTHY) is healthy, d.summary
    assert words in d.summary, d.summary


def _swept(check: MetricResult | None, uptime_kept: float = 0.0):
    record = rollback().model_copy(update={"alert": PASSED})
    e = served(6, ok=400).uptime(OLD, -5, 6, 1.2)
    b = swept(e, uptime_kept=uptime_kept).model_copy(update={"incident_started_at": record.settle_at,
                                                             "check_passed": check})
    return judge(record, b, S, None, VerificationSettings().min_traffic_ratio)


SWEEPS = [
    ("no probe's line since the rollback, no result: not verified", None, 0.0, HealthKind.UNCLEAR, "not known"),
    ("no probe's line, 2 locations failing since: not verified", results(every((3, 6), LOCATIONS[:2])),
     0.0, HealthKind.UNCLEAR, "false from 2 of 6"),
    ("the probes' lines clean, a location failing since: not verified", results(every((3, 6), LOCATIONS[:1])), 1.0, HealthKind.UNCLEAR, "false from 1 of 6"),
    ("control: no probe's line, every location passing since: verified", results(every((3, 6))),
     0.0, HealthKind.HEALTHY, ""),
]


@pytest.mark.parametrize("name,check,kept,kind,words", SWEEPS, ids=[c[0] for c in SWEEPS])
def test_a_rollback_after_an_uptime_alert_is_verified_only_with_its_check_passing(name, check, kept, kind, words):
    health = _swept(check, kept)
    assert health.kind is kind and words in health.why, health.why


FILTERS = [
    # name, metric labels, condition filter, check id read
    ("the violating series' label", {"check_id": "docs-a1"}, "", "docs-a1"),
    ("the console's filter", {}, 'metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND '
     'metric.label.check_id="docs-a1" AND resource.type="uptime_url"', "docs-a1"),
    ("`labels` and spaces", {}, 'metric.labels.check_id = "docs-a1"', "docs-a1"),
    ("a negation names no check", {}, 'NOT metric.label.check_id="docs-a1"', ""),
    ("!= names no check", {}, 'metric.label.check_id!="docs-a1"', ""),
    ("one_of names no single check", {}, 'metric.label.check_id=one_of("docs-a1","docs-b2")', ""),
    ("two checks OR-ed name no single check", {}, 'metric.label.check_id="a" OR metric.label.check_id="b"', ""),
    ("a payload field named like it is not the label", {}, 'jsonPayload.metric.label.check_id="x"', ""),
    ("no filter, no label", {}, "", ""),
]


@pytest.mark.parametrize("name,labels,text,expected", FILTERS, ids=[c[0] for c in FILTERS])
def test_the_alerts_check_is_read_from_its_label_or_one_equality(name, labels, text, expected):
    assert alert_check_id(AlertContext(metric_labels=labels, condition_filter=text)) == expected
