"""The alert path's `healthy` and Cloud Monitoring's uptime checks (shared/diagnosis/request_callers.py):
request_count does not say who sent a request, so an uptime check's clean answers beside a few failing
callers read as a clean share of 5xx. Where the share is the bar, `healthy` needs the request log to show
the callers' own share under it; a log that does not show it (sampled, excluded, not kept, not readable)
leaves the alert to a person, with the evidence."""
from __future__ import annotations

from typing import Callable

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import callers_may_decide
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext, EvidenceBundle
from shared.diagnosis.facts import Window
from shared.diagnosis.request_callers import callers_share_bound
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
RUN, COUNT = "cloud_run_revision", "run.googleapis.com/request_count"
RATIO = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=0.05,
                     metric_labels={"response_code_class": "5xx"}, ratio=True, policy="backend 5xx ratio")
FIVE_XX_COUNT = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=5,
                             metric_labels={"response_code_class": "5xx"}, policy="backend 5xx count")
GAP = "logging: request log (its callers and uptime checks): PERMISSION_DENIED: logging.logEntries.list"


def _internal_api(callers: float = 6, checks: float = 24, caller_500: bool | None = True) -> Evidence:
    """A quiet internal API after its incident's burst of 500s: `callers` requests a minute from its callers
    and `checks` from four uptime checks (six checker locations each, every minute), all clean, and, in the
    sixth minute since the incident began, one caller's 500 (`caller_500` False: an uptime check's; None:
    none). Collected at +9: the minutes judged are the newest five whole ones (Facts.whole_line), (+1, +6]."""
    e = Evidence(now=8, read_after=1)
    e.revision(OLD, -300).traffic(**{OLD: 100}).latency(OLD, -90, 8, 0.2)
    e.requests(OLD, -90, 8, callers).uptime(OLD, -90, 8, checks)
    if caller_500 is None:
        return e
    return e.requests(OLD, 5, 6, 1, code="500") if caller_500 else e.uptime(OLD, 5, 6, 1, code="500")


def _busy() -> Evidence:
    """A busy service after its incident: 3,000 callers' requests a minute, 6 of them 500 (0.2 %, its usual
    background), and one uptime check's 6: the request log's newest 1,000 lines span the last 20 seconds."""
    e = _internal_api(callers=3000, checks=6, caller_500=None)
    return e.requests(OLD, -90, 8, 6, code="500")


def _asked(e: Evidence, alert: AlertContext | None, read: Callable[[Evidence], object], gaps=()) -> EvidenceBundle:
    """The bundle the alert path collects: the request log read (or refused) beside the metrics."""
    return e.bundle().model_copy(update={"alert": alert, "request_lines": read(e), "callers_asked": True,
                                         "gaps": tuple(gaps)})


WHOLE = lambda e: e.request_log(0)                                   # noqa: E731 - a line per request
SAMPLED = lambda e: e.request_log(0, callers_kept=0.1)               # noqa: E731 - an exclusion's sample(0.9)
NOT_KEPT = lambda e: e.request_log(0, callers_kept=0, uptime_kept=0)  # noqa: E731 - every line excluded
NO_CHECKS = lambda e: e.request_log(0, uptime_kept=0)                # noqa: E731 - health checks excluded
REFUSED = lambda e: None                                             # noqa: E731 - the read refused for good

CASES = {
    # 1 500 in 151 requests (0.7 %): clean by request_count, but 1 in 31 of the callers' own (3.2 %).
    "a caller still failing beside clean uptime checks, whole log": (_internal_api(), RATIO, WHOLE, (), False,
                                                                     "its callers' own requests still fail"),
    "the callers' lines sampled": (_internal_api(), RATIO, SAMPLED, (), False, "not shown under the bar"),
    "the request log not kept": (_internal_api(), RATIO, NOT_KEPT, (), False, "not shown under the bar"),
    "the request log not readable": (_internal_api(), RATIO, REFUSED, (GAP,), False, "PERMISSION_DENIED"),
    # The 500 was an uptime check's own, and the log shows it: the callers' share is 0.
    "an uptime check's own 500, callers clean": (_internal_api(caller_500=False), RATIO, WHOLE, (), True, ""),
    # 1 of 151 callers' requests (0.7 %): the callers' own share is under the bar with no check's line.
    "uptime checks excluded, callers' lines whole and clean": (_internal_api(callers=30, checks=6), RATIO,
                                                                NO_CHECKS, (), True, ""),
    # The read cut at its page: the callers' lines over the seconds they cover, scaled to the window (as the
    # sweep counts a cut read), show their own 0.2 %; taken as 1,000 callers against 30 refusals, 3 %.
    "a busy service, the read cut at its page": (_busy(), RATIO, WHOLE, (), True, ""),
    "a busy service, the read cut, its callers' lines sampled": (_busy(), RATIO, SAMPLED, (), False,
                                                                   "not shown under the bar"),
    # No 5xx or 429 counted: no caller's share is above 0, whoever sent the requests.
    "nothing failing, the log not kept": (_internal_api(caller_500=None), RATIO, NOT_KEPT, (), True, ""),
    # A count of 5xx is the same whoever else was answered.
    "a 5xx count alert, the log not kept": (_internal_api(), FIVE_XX_COUNT, NOT_KEPT, (), True, ""),
}


@pytest.mark.parametrize("name", CASES)
def test_healthy_needs_the_callers_own_share_where_uptime_checks_could_dilute_it(name):
    e, alert, read, gaps, healthy, said = CASES[name]
    result = diagnose(_asked(e, alert, read, gaps), S)

    assert (result.signature is Signature.HEALTHY) == healthy, result.summary
    if not healthy:
        assert result.signature is Signature.INCONCLUSIVE, result.summary
        assert plan(result, e.bundle(), S).action is None
        cited = [i for i in result.evidence if i.about == "healthy" and i.passed is False]
        assert cited and said in cited[0].threshold, [i.threshold for i in cited]
        assert "not judged healthy" in result.summary, result.summary


def test_the_sweeps_bundle_is_judged_as_before_its_own_callers_check_reads_the_log():
    """The verification sweep collects with no alert (callers_asked False) and judges the callers itself
    (shared/remediation/callers.py): the diagnosis leaves its bundle's request log alone."""
    e = _internal_api()
    sweep = e.bundle().model_copy(update={"alert": RATIO, "request_lines": NOT_KEPT(e)})
    assert diagnose(sweep, S).signature is Signature.HEALTHY


@pytest.mark.parametrize("alert,asked", [
    (RATIO, True),                 # a share: uptime checks' answers dilute it
    (None, False),                 # the sweep: it reads the log itself
    (FIVE_XX_COUNT, False),        # a count of 5xx: the same whoever else was answered
    (AlertContext(resource_type=RUN, metric_type="run.googleapis.com/container/memory/utilizations",
                  comparison="COMPARISON_GT", threshold=0.9), False),   # never healthy: not judged
    (AlertContext(resource_type="uptime_url", policy="backend uptime"), True),
])
def test_the_alert_path_reads_the_request_log_only_where_healthy_may_depend_on_it(alert, asked):
    assert (alert is not None and callers_may_decide(alert, S)) is asked


@pytest.mark.parametrize("caller_500,callers_kept,uptime_kept,refused,bound", [
    (True, 1.0, 1.0, 1, 1 / 31),      # whole: the callers' own share (1 failing line of 31)
    (True, 1.0, 0.0, 1, 1 / 31),      # the checks' lines excluded: the callers' lines still show it
    (True, 0.0, 1.0, 1, 1.0),         # no caller's line: the one 500 may be the whole of the callers' requests
    (True, 0.5, 1.0, 1, 1 / 16),      # half the callers' lines, the 500's not among them: 15 + 1 at worst
    (False, 1.0, 1.0, 1, 0.0),        # the one 500 is an uptime check's own, and its line shows it
    (False, 1.0, 0.0, 1, 1 / 31),     # ... its line excluded: it may be a caller's
    (None, 1.0, 1.0, 0, 0.0),         # nothing refused
])
def test_the_callers_share_is_bounded_by_the_lines_read(caller_500, callers_kept, uptime_kept, refused, bound):
    e = _internal_api(caller_500=caller_500)
    found, _, _ = callers_share_bound(e.request_log(0, callers_kept=callers_kept, uptime_kept=uptime_kept),
                                   Window(at(3), at(8)), refused)
    assert found == pytest.approx(bound)
