"""`healthy` only where the minutes read show the failure the alert fired on (shared/diagnosis/alert_unseen.py).
An OPEN incident says its condition held; clean minutes say it no longer does only if some minute read before
them showed it holding. A 5xx share of 60 %, a p99 of 45 s or 4 5xx a second that no minute read shows is the
alert and the evidence disagreeing (another project's series under the same name, a condition selecting what
the read does not, a re-notified incident whose fault lies before the minutes read), and was `healthy` and
skipped. Held to the value the notification states over its bar: one stating none is judged as before.
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence, healthy_or_held
from tests.unit.test_condition_units import ALL, notification, threshold

S = DiagnosisSettings()
OLD, NEW = "cart-00092-wab", "cart-00093-tuz"


def _alert(metric: str, threshold: float, observed: float | None, *, revision: str = "", ratio: bool = False,
           aligner: str = "") -> AlertContext:
    """A policy over `threshold` on `metric`, its notification stating `observed` (None: no value stated)."""
    return AlertContext(resource_type="cloud_run_revision", metric_type=f"run.googleapis.com/{metric}",
                        comparison="COMPARISON_GT", threshold=threshold, observed=observed, ratio=ratio,
                        revision=revision,
                        metric_labels={"response_code_class": "5xx"} if metric == "request_count" else {},
                        aligner=aligner, reducer="REDUCE_SUM" if aligner else "", alignment_seconds=60,
                        policy="cart policy")


RATIO = _alert("request_count", 0.05, 0.6, ratio=True)
LATENCY_30S = _alert("request_latencies", 30000, 45000)
RATE_1S = _alert("request_count", 1, 4.2, aligner="ALIGN_RATE")


def _clean(*, failing: float = 0, code: str = "503", slow: float = 0.2) -> Evidence:
    """cart on one revision at 300 requests a minute for an hour, fast and answered 200, but for `failing` of
    them answered `code` and a p99 of `slow` s from -8 to the incident; clean and fast from then on."""
    e = Evidence(now=5)
    e.revision(NEW, -1800).traffic(**{NEW: 100}).instances(NEW, -60, 5, 3)
    e.requests(NEW, -60, -8, 300).requests(NEW, -8, 0, 300 - failing).requests(NEW, 0, 5, 300)
    if failing:
        e.requests(NEW, -8, 0, failing, code=code)
    return e.latency(NEW, -60, -8, 0.2).latency(NEW, -8, 0, slow).latency(NEW, 0, 5, 0.2)


def _split(*, old_failing: float = 0, new_failing: float = 0) -> Evidence:
    """cart split 90/10 between OLD (270 a minute) and NEW (30 a minute), each with `*_failing` of its requests
    a minute answered 503 from -8 to the incident; clean from then on."""
    e = Evidence(now=5)
    e.revision(OLD, -1800).revision(NEW, -600).traffic(**{OLD: 90, NEW: 10})
    e.instances(OLD, -60, 5, 3).instances(NEW, -10, 5, 1)
    e.requests(OLD, -60, 5, 270).requests(NEW, -10, 5, 30)
    if old_failing:
        e.requests(OLD, -8, 0, old_failing, code="503")
    if new_failing:
        e.requests(NEW, -8, 0, new_failing, code="503")
    return e.latency(OLD, -60, 5, 0.2).latency(NEW, -10, 5, 0.2)


ROWS = [
    # name, evidence, alert, healthy
    ("a 5xx share alert, no 5xx in any minute read: not healthy", _clean(), RATIO, False),
    ("a 5xx share alert, 20 % 503 before the incident, clean since: healthy", _clean(failing=60), RATIO, True),
    ("a 5xx share alert, 2 % 503 before (under the bar): not healthy", _clean(failing=6), RATIO, False),
    ("a p99 alert at 30 s, 0.2 s in every minute read: not healthy", _clean(), LATENCY_30S, False),
    ("a p99 alert at 30 s, 31 s before the incident, fast since: healthy", _clean(slow=31.0), LATENCY_30S, True),
    ("a p99 alert at 30 s, 503s before but never slow: not healthy (its own signal unseen)",
     _clean(failing=60), LATENCY_30S, False),
    ("a 5xx rate alert at 1 a second, no 5xx in any minute read: not healthy", _clean(), RATE_1S, False),
    ("a 5xx rate alert at 1 a second, 90 503s a minute before (1.5 a second): healthy",
     _clean(failing=90), RATE_1S, True),
    ("a revision the service does not list, no 5xx in any minute read: not healthy",
     _clean(), _alert("request_count", 0.05, 0.4, ratio=True, revision="cart-00071-old"), False),
    ("a revision the service does not list, the service's own 503s before: healthy (all there is to read)",
     _clean(failing=60), _alert("request_count", 0.05, 0.4, ratio=True, revision="cart-00071-old"), True),
    ("the named canary never failed, the other revision's 503s before: not healthy (another revision's failure)",
     _split(old_failing=60), _alert("request_count", 0.05, 0.4, ratio=True, revision=NEW), False),
    ("the named canary failed a third, 1 % of the service (under the bar): healthy (its own share shows it)",
     _split(new_failing=10), _alert("request_count", 0.05, 0.4, ratio=True, revision=NEW), True),
    ("no alert (a table, the CLI): the settings' bars, no failure needed", _clean(), None, True),
    ("a notification stating no value: no figure to hold the minutes to, judged as before",
     _clean(), _alert("request_count", 0.05, None, ratio=True), True),
    ("a value stated under its own bar (another evaluation's): judged as before",
     _clean(), _alert("request_count", 0.05, 0.03, ratio=True), True),
]


@pytest.mark.parametrize("name,evidence,alert,healthy", ROWS, ids=[r[0] for r in ROWS])
def test_healthy_needs_the_alerts_failure_in_the_minutes_read(name, evidence, alert, healthy):
    healthy_or_held(evidence, alert, S, healthy)


def test_the_disagreement_is_named():
    d = healthy_or_held(_clean(), LATENCY_30S, S, False)
    assert "the alert and the evidence disagree" in d.summary, d.summary
    assert "measured 45000, threshold 30000" in d.summary and "p99 at or over" in d.summary, d.summary
    assert "compare the alert's own chart" in d.recommendation, d.recommendation


# Kinds of alert the rule does not read: each must decide exactly what it decided with no value stated.
# name: (evidence, alert)
AS_BEFORE = {
    "a value stated under its own bar": (_clean(), _alert("request_count", 0.05, 0.03, ratio=True)),
    "a value stated at its own bar (not over it)": (_clean(), _alert("request_count", 0.05, 0.05, ratio=True)),
    "a count falling below its bar (COMPARISON_LT)": (
        _clean(), _alert("request_count", 10, 2, aligner="ALIGN_RATE").model_copy(
            update={"comparison": "COMPARISON_LT"})),
    "memory utilization over its bar, a metric the rule does not read": (
        _clean(), _alert("container/memory/utilizations", 0.8, 0.95, aligner="ALIGN_PERCENTILE_99")),
    "a log-match condition": (
        _clean(), _alert("request_count", 0, 3).model_copy(
            update={"metric_type": "", "log_filter": 'severity>=ERROR', "comparison": ""})),
    "a metric-absence condition": (
        _clean(), _alert("request_count", 0, 1).model_copy(
            update={"condition_kind": "conditionAbsent", "comparison": ""})),
    "a 5xx share alert over a failure the minutes show, cleared": (_clean(failing=60), RATIO),
}


@pytest.mark.parametrize("name", AS_BEFORE)
def test_an_alert_the_rule_does_not_read_is_judged_as_with_no_value_stated(name):
    evidence, alert = AS_BEFORE[name]
    unstated = alert.model_copy(update={"observed": None})

    stated, before = (diagnose(evidence.bundle().model_copy(update={"alert": a}), S) for a in (alert, unstated))

    assert (stated.signature, stated.summary) == (before.signature, before.summary), stated.summary


@pytest.mark.parametrize("shown,read", [
    ("0.60", 0.6), ("45000.000", 45000.0), ("1e-3", 0.001), ("4.2", 4.2),
    ("NaN", None), ("nan", None), ("Infinity", None), ("-inf", None), ("45 s", None), ("83.5%", None), ("", None),
    (None, None)])
def test_the_observed_value_is_read_only_as_a_plain_finite_number(shown, read):
    """`observed_value` is a string in the notification (Cloud Monitoring, "Notification channels: webhook
    schema", version 1.2); only a plain finite number is a figure the minutes read may be held to."""
    document = notification(threshold("ALIGN_RATE", ALL, bar=0.02))
    document["incident"]["observed_value"] = shown
    if shown is None:
        del document["incident"]["observed_value"]

    assert parse_notification(document).observed_number == read
    assert alert_context(parse_notification(document)).observed == read


MS = {
    "a p99 threshold of 30 (ms, meant as seconds), 45 stated, 2 s before the incident: over its own bar, seen":
        (_clean(slow=2.0), _alert("request_latencies", 30, 45), True),
    "a p99 threshold of 30000 ms, 45000 stated, 2 s before the incident: never at 30 s, unseen":
        (_clean(slow=2.0), LATENCY_30S, False),
}


@pytest.mark.parametrize("name", MS)
def test_a_latency_threshold_is_compared_in_the_alerts_own_unit(name):
    """request_latencies is in milliseconds (UNCONFIRMED for the payload, which states no unit): a threshold
    written as seconds (30) only lowers the bar a minute must reach, so its failure is seen on any slow minute."""
    evidence, alert, seen = MS[name]

    d = diagnose(evidence.bundle().model_copy(update={"alert": alert}), S)

    assert ("the alert and the evidence disagree" in d.summary) is (not seen), d.summary
    assert d.signature is not Signature.HEALTHY, d.summary
