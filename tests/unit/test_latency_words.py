"""Latencies as the outcome and its timeline word them: milliseconds below a second, minutes from one up.

Worded at a tenth of a second, a 35 ms p99 read "p99 max 0.0 s" in a `healthy`, a verdict and a summary
(shared/diagnosis/latency_words.py). Pure: evidence built in memory, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.latency_words import latency
from shared.remediation.judging import HealthKind, judge
from tests.unit.builders import Evidence
from tests.unit.test_verification_judging import rollback, served, swept

S = DiagnosisSettings()
REV = "backend-00012-zuk"

WORDS = [
    (0.035, "35 ms"), (0.0004, "0 ms"), (0.12, "120 ms"), (0.9994, "999 ms"), (0.9996, "1.0 s"), (1.0, "1.0 s"),
    (2.44, "2.4 s"), (30.0, "30.0 s"), (59.94, "59.9 s"), (59.96, "1 min 00 s"), (90.0, "1 min 30 s"),
    (1799.6, "30 min 00 s"), (3600.0, "1 h 00 min"), (3725.0, "1 h 02 min"),
]


@pytest.mark.parametrize("seconds,words", WORDS, ids=[w for _, w in WORDS])
def test_a_latency_is_worded_in_milliseconds_below_a_second(seconds, words):
    assert latency(seconds) == words


def _fast(p99: float) -> Evidence:
    """A service that hung from -8 to 0 and answers 100 clean requests a minute at `p99` since."""
    e = Evidence(now=5).revision(REV, -1800).traffic(**{REV.replace("-", "_"): 100}).instances(REV, -60, 5, 3)
    e.requests(REV, -60, -8, 100).latency(REV, -60, -8, 0.2).requests(REV, -8, 0, 100).latency(REV, -8, 0, 30.0)
    return e.requests(REV, 0, 5, 100).latency(REV, 0, 5, p99)


SAID = [
    # name, diagnosis or verdict text, words, words never
    ("healthy at 35 ms: the p99 evidence", lambda: " ".join(e.observed for e in diagnose(_fast(0.035).bundle(), S)
                                                            .evidence), "p99 max 35 ms", "0.0 s"),
    ("healthy at 2.4 s: seconds as before", lambda: " ".join(e.observed for e in diagnose(_fast(2.44).bundle(), S)
                                                             .evidence), "p99 max 2.4 s", "ms"),
    ("a rollback verified at 120 ms", lambda: judge(rollback(), swept(served(6)).model_copy(
        update={"incident_started_at": rollback().settle_at}), S, None,
        VerificationSettings().min_traffic_ratio).why, "p99 max 120 ms", "0.1 s"),
]


@pytest.mark.parametrize("name,said,words,never", SAID, ids=[s[0] for s in SAID])
def test_the_outcome_words_a_fast_p99_in_milliseconds(name, said, words, never):
    text = said()
    assert words in text and never not in text, text


def test_the_verdict_in_the_control_is_still_healthy():
    health = judge(rollback(), swept(served(6)).model_copy(update={"incident_started_at": rollback().settle_at}), S,
                   None, VerificationSettings().min_traffic_ratio)
    assert health.kind is HealthKind.HEALTHY, health.why


# A duration, signed, as every part of the project words it: whole seconds below a minute, `minutes` from one up.
# rules/base.duration worded "1m30s" and "1h02m" in a diagnosis (a revision "created 12m00s before the incident
# started") while its timeline and the gate wrote "12 min 00 s".
DURATIONS = [
    (0.0, "0 s"), (0.4, "0 s"), (45.0, "45 s"), (59.6, "1 min 00 s"), (90.0, "1 min 30 s"), (720.0, "12 min 00 s"),
    (3725.0, "1 h 02 min"), (-90.0, "-1 min 30 s"), (-45.0, "-45 s"),
]


@pytest.mark.parametrize("seconds,words", DURATIONS, ids=[w for _, w in DURATIONS])
def test_a_duration_has_one_wording_in_the_diagnosis_and_the_timeline(seconds, words):
    from shared.diagnosis.rules.base import duration as diagnosis_duration
    from shared.timeline.words import duration as timeline_duration
    assert diagnosis_duration(seconds) == words
    if seconds >= 0:
        assert timeline_duration(seconds) == words


def test_a_deploys_lead_is_worded_in_minutes_in_the_diagnosis():
    e = Evidence(now=5).revision("backend-00011-abc", -1440).revision(REV, -12)   # minutes
    e.traffic(backend_00012_zuk=100).instances(REV, -60, 5, 3)
    e.requests("backend-00011-abc", -60, -12, 100).latency("backend-00011-abc", -60, -12, 0.2)
    e.requests(REV, -12, 5, 100, code="500").latency(REV, -12, 5, 0.2)
    text = " ".join(f"{x.observed} {x.threshold}" for x in diagnose(e.bundle(), S).evidence)
    assert "12 min 00 s before the incident started" in text and "12m00s" not in text, text
