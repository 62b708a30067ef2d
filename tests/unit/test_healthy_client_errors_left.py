"""The 4xx share `healthy` reads, on both paths, where it had two counts and a gap.

- One count: the alert path (client_errors.client_errors_risen) and the verification sweep
  (judging.client_errors_rose) read the same `client_errors`/`client_share`: 4xx less 429 (a refusal
  already), clamped at 0, and answers of a class no HTTP status has (a client gone before its answer, if
  Cloud Run records it so: UNCONFIRMED, client_errors.py). Before, the sweep's own count left that class
  out, and a rollback whose 500s became a third of answers with no status was `verified`.
- A quiet service (fewer than `min_requests` requests in the lookback before the incident) had no 4xx
  comparison at all: a latency alert whose requests now fail fast as 401/403 read `healthy`. Its few
  requests are now weighed with a conservative background share (client_errors.usual_share), and the same
  rise and chance are asked of it; a steady share of 404s and a quiet service answering 200 stay healthy.
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.client_errors import PRIOR_SHARE, client_errors, client_share, usual_share
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Requests
from shared.diagnosis.signatures import Signature
from shared.remediation.judging import HealthKind, StepKind
from tests.unit.builders import Evidence, healthy_or_held
from tests.unit.test_healthy_fast_refusals import LATENCY, RATIO
from tests.unit.test_verification_judging import NEW, OLD, rollback, served
from tests.unit.test_verification_worlds import RATIO_5XX, judged

S = DiagnosisSettings()


COUNTS = [
    # name, by_class, by_code, client errors, share
    ("404s", {"2xx": 90, "4xx": 10}, {"200": 90, "404": 10}, 10, 0.1),
    ("429 apart: a refusal already", {"2xx": 90, "4xx": 10}, {"200": 90, "404": 4, "429": 6}, 4, 0.04),
    ("a status 0, a class no HTTP status has", {"2xx": 80, "0xx": 20}, {"200": 80, "0": 20}, 20, 0.2),
    ("both", {"2xx": 70, "4xx": 10, "0xx": 20}, {"200": 70, "401": 10, "0": 20}, 30, 0.3),
    # A series with neither label (facts.code_class): not served (0 before: tests/unit/test_healthy_unlabelled_requests.py).
    ("a series with no class nor code label is counted as not served", {"2xx": 90, "unknown": 10},
     {"200": 90, "unknown": 10}, 10, 0.1),
    ("a 429 counted under another class than 4xx: clamped at 0", {"2xx": 95, "4xx": 0, "5xx": 5},
     {"200": 95, "429": 5}, 0, 0.0),
    ("no requests", {}, {}, 0, 0.0),
]


@pytest.mark.parametrize("name,by_class,by_code,count,share", COUNTS, ids=[c[0] for c in COUNTS])
def test_one_count_of_client_errors(name, by_class, by_code, count, share):
    requests = Requests(by_class, by_code)
    assert client_errors(requests) == count
    assert client_share(requests) == pytest.approx(share)


@pytest.mark.parametrize("failed,total,usual", [
    (0, 0, PRIOR_SHARE),                  # nothing read before: the background alone
    (0, 15, 4 / 35),                      # a quiet service with no 4xx: pulled down, not to 0
    (8, 10, 12 / 30),                     # 8 404s of 10: a high share, held as such
    (1, 1, 5 / 21),                       # one 404 of one request is not a share of 100 %
    (0, 20, 1 / 22),                      # min_requests read: its own share, as before
    (3, 30, 4 / 32),
])
def test_the_usual_share_with_few_requests_before_is_weighed_with_a_background(failed, total, usual):
    assert usual_share(failed, total, S.min_requests) == pytest.approx(usual)


def _quiet(before: float, refused_since: float, since: float, *, code: str = "401", usual: float = 0) -> Evidence:
    """A quiet service at `before` requests a minute for an hour (`usual` of them `code`), hanging from -12
    (p99 7 s) until the incident; from 0 on fast, `since` requests a minute (the morning's callers, their
    retries), `refused_since` of them answered `code`."""
    e = Evidence(now=5)
    e.revision(OLD, -1800).traffic(**{OLD: 100}).instances(OLD, -60, 5, 1)
    if before - usual:
        e.requests(OLD, -60, 0, before - usual)
    if usual:
        e.requests(OLD, -60, 0, usual, code=code)
    e.latency(OLD, -60, -12, 0.1).latency(OLD, -12, 0, 7.0).latency(OLD, 0, 5, 0.25)
    if refused_since:
        e.requests(OLD, 0, 5, refused_since, code=code)
    if since - refused_since:
        e.requests(OLD, 0, 5, since - refused_since)
    return e


QUIET = [
    # name, evidence, alert, healthy, words in the summary (every row healthy on main unless said)
    ("1 a minute before (15 requests), 403s two thirds of 6 a minute since: not healthy",
     _quiet(1, 4, 6, code="403"), LATENCY, False, "weighed with a usual background of 20%"),
    ("the same at half a request a minute before: not healthy", _quiet(0.5, 6, 8), LATENCY, False, "0 of 8 requests"),
    ("no request before at all (a service begun since): not healthy", _quiet(0, 6, 8), LATENCY, False,
     "0 of 0 requests"),
    # On main inconclusive already, for too few clean requests at the alert's 5 % (said now for the 403s).
    ("the same on the 5xx ratio alert: not healthy", _quiet(1, 4, 6, code="403"), RATIO, False, "20 403"),
    ("the same with no alert: not healthy", _quiet(1, 4, 6, code="403"), None, False, "as 11.4%"),
    ("status 0 (clients gone, if recorded so: UNCONFIRMED), half of 8 a minute since: not healthy",
     _quiet(1, 4, 8, code="0"), LATENCY, False, "20 0"),
    # Controls: healthy before the change and after.
    ("a steady sixth of 404s before as since: healthy", _quiet(1.2, 1, 6, code="404", usual=0.2), LATENCY, True, ""),
    ("a quiet service answering 200: healthy", _quiet(1, 0, 6), LATENCY, True, ""),
    ("no request before, a tenth 404 since: healthy", _quiet(0, 0.6, 6, code="404"), LATENCY, True, ""),
    ("a quiet service whose usual share is high (half its few requests 404 before, as since): healthy",
     _quiet(1, 3, 6, code="404", usual=0.5), LATENCY, True, ""),
    ("401s at a fifth since, no request before: within the background taken, healthy (the rule's limit)",
     _quiet(0, 1.2, 6), LATENCY, True, ""),
]


@pytest.mark.parametrize("name,evidence,alert,healthy,words", QUIET, ids=[q[0] for q in QUIET])
def test_a_quiet_service_whose_requests_fail_fast_as_4xx_is_not_healthy(name, evidence, alert, healthy, words):
    d = healthy_or_held(evidence, alert, S, healthy)
    if not healthy:
        assert words in d.summary, d.summary


def test_the_sweep_still_judges_the_4xx_against_its_own_action():
    """The sweep's diagnosis (`traffic_judged` False) leaves the 4xx to judging.client_errors_rose."""
    d = diagnose(_quiet(1, 4, 6, code="403").bundle(), S, traffic_judged=False)
    assert d.signature is Signature.HEALTHY, d.summary


SWEEP = [
    # name, evidence, health, step, words (the first was `verified` on main)
    ("500s became answers with no status, a third since, none before: not verified",
     served(6, ok=40).requests(OLD, -5, 6, 20, "0"), HealthKind.UNCLEAR, StepKind.WAIT, "no-status answers in"),
    ("the same at the deadline: escalated, kept",
     served(11, ok=40).requests(OLD, -5, 11, 20, "0"), HealthKind.UNCLEAR, StepKind.ESCALATE, "not undone"),
    ("no-status answers at the usual share (10 % before, 10 % since): verified",
     served(6, ok=40).requests(OLD, -5, 6, 4.5, "0").requests(NEW, -30, -5, 5, "0"), HealthKind.HEALTHY,
     StepKind.VERIFY, ""),
    ("404s and no-status answers together, a third since: not verified",
     served(6, ok=40).requests(OLD, -5, 6, 10, "0").requests(OLD, -5, 6, 10, "404"), HealthKind.UNCLEAR,
     StepKind.WAIT, "mix of answers changed"),
]


@pytest.mark.parametrize("name,evidence,health,step,words", SWEEP, ids=[s[0] for s in SWEEP])
def test_the_sweep_counts_client_errors_as_the_alert_path_does(name, evidence, health, step, words):
    record = rollback().model_copy(update={"alert": RATIO_5XX})
    health_, step_ = judged(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in step_.why, step_.why
