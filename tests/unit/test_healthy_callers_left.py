"""The alert path's `healthy` on clean requests after most of the service's callers stopped sending.

A share of 5xx and 429 is a share of the requests that reached the service: a client's circuit breaker
open on the route that failed leaves the rest's requests, clean, while every request of the callers that
stopped would still fail. 150 clean requests a minute after 600 a minute before (the other 450 all 500)
were `healthy` and skipped. Now a service serving under half its rate before the incident
(shared/diagnosis/callers_left.py) is `inconclusive`, with the figures; the sweep judges its own writes
against its demand before the action (judging.traffic_lost) and asks the diagnosis without this check."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.callers_left import callers_left
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature

from tests.unit.builders import FIVE_XX_RATIO, Evidence, healthy_or_escalated

S = DiagnosisSettings()
OLD, NEW = "payments-00041-ket", "payments-00042-vob"


def _breaker(kept: float, *, now: float = 4, opened: float = 0) -> Evidence:
    """payments at 600 a minute for an hour; a deploy at -16 whose 450 /charge a minute all 500 from -14
    on, its 150 /status a minute clean; from `opened` on the callers' breaker sends `kept` of the /charge
    calls, answered clean (a fix of their own, or the breaker's calls, as `kept` says)."""
    e = Evidence(now=now)
    e.revision(OLD, -1800).revision(NEW, -16).traffic(**{NEW.replace("-", "_"): 100})
    e.requests(OLD, -60, -16, 600).latency(OLD, -60, -16, 0.1)
    e.requests(NEW, -16, now, 150).latency(NEW, -16, now, 0.05).instances(NEW, -16, now, 3)
    e.requests(NEW, -16, -14, 450).requests(NEW, -14, opened, 450, "500")
    if kept:
        e.requests(NEW, opened, now, 450 * kept)
    return e


def _bursts(*, since: float) -> Evidence:
    """A cron's service: 60 requests in each of two minutes every 10 minutes, clean, and `since` a minute
    in the newest minutes."""
    e = Evidence(now=5)
    e.revision(OLD, -1800).traffic(**{OLD.replace("-", "_"): 100}).instances(OLD, -60, 5, 1)
    for start in (-60, -50, -40, -30, -20, -10):
        e.requests(OLD, start + 1, start + 3, 60).latency(OLD, start + 1, start + 3, 0.2)
    return e.requests(OLD, 0, 5, since).latency(OLD, 0, 5, 0.2)


CASES = [
    # name, evidence, alert, healthy, words in the summary
    ("the breaker open on /charge: 150 clean a minute after 600 (25 %), not healthy",
     _breaker(0), FIVE_XX_RATIO, False, "its traffic fell to 25% of what it served before the incident"),
    ("the same with no alert (the settings' bar): not healthy either",
     _breaker(0), None, False, "150 requests a minute"),
    ("a third of /charge back, clean: 300 a minute (50 %), kept, healthy",
     _breaker(1 / 3), FIVE_XX_RATIO, True, ""),
    ("all of /charge back, clean: healthy as before",
     _breaker(1), FIVE_XX_RATIO, True, ""),
    ("a cron's bursts, one of 2 x 60 since in 5 minutes: 24 a minute against 16 a minute before, healthy",
     _bursts(since=0).requests(OLD, 1, 3, 60), None, True, ""),
    ("a cron's bursts, 2 minutes of 12 since: 4.8 a minute against 16 a minute before (30 %), not healthy",
     _bursts(since=0).requests(OLD, 1, 3, 12), None, False, "its traffic fell to 30%"),
]


@pytest.mark.parametrize("name,evidence,alert,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_clean_requests_after_the_callers_stopped_are_not_healthy(name, evidence, alert, healthy, words):
    d = healthy_or_escalated(evidence, alert, S, healthy, words, "callers may have stopped sending")
    if not healthy:
        assert any(e.about == Signature.HEALTHY.value and e.passed is False and words in e.threshold
                   for e in d.evidence)


def test_no_requests_before_the_incident_is_nothing_to_compare_with():
    """A service created within the incident's lookback (or a query that holds nothing before it): no demand
    to compare with, no traffic called fallen."""
    e = Evidence(now=4)
    e.revision(NEW, -16).traffic(**{NEW.replace("-", "_"): 100}).instances(NEW, -16, 4, 1)
    e.requests(NEW, -14, 0, 100, "500").requests(NEW, 0, 4, 150).latency(NEW, -14, 4, 0.05)
    facts = Facts(e.bundle(), S)
    assert callers_left(facts, facts.recent_since_incident) == ""
    assert diagnose(e.bundle(), S).signature is Signature.HEALTHY


def test_the_sweep_judges_the_traffic_it_kept_itself():
    """The verification sweep asks the diagnosis without this check (judging.traffic_lost measures it against
    the demand before the action, with its own bar): the diagnosis it reads is `healthy` as before."""
    d = diagnose(_breaker(0).bundle().model_copy(update={"alert": FIVE_XX_RATIO}), S, traffic_judged=False)
    assert d.signature is Signature.HEALTHY, d.summary


def test_failures_that_stopped_on_a_fraction_of_the_traffic_are_not_said_to_have_stopped():
    """The breaker opens 2 minutes after the incident's start: the rules find the deploy's failures and the
    newest minutes are clean, but on a quarter of the traffic. Nothing is done either way; the summary no
    longer says the failures stopped."""
    d = diagnose(_breaker(0, now=5, opened=2).bundle().model_copy(update={"alert": FIVE_XX_RATIO}), S)
    assert d.signature is Signature.INCONCLUSIVE, d.summary
    assert "they stopped:" not in d.summary, d.summary
    assert "whether they stopped is not known" in d.summary and "its traffic fell to 25%" in d.summary, d.summary
