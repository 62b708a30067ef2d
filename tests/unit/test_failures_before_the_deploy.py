"""Failures that began on the revision a deploy replaced, minutes before the deploy (a partner's 503s passed on,
then a hotfix shipped into the incident), are not the deploy's: an SRE dates the cause to the onset. Before,
bad_revision named the hotfix the cause with no rollback target, and said the revision before was "failing too"
at its hour's average (4.7 % 5xx) where it had failed 40 % of the incident's minutes. Now the deploy is a doubt
(not ruled out, never the cause alone) and a revision stepped past as failing too is said over the incident's
minutes beside its hour."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
ANCIENT, OLD, NEW = "fx-00089-anc", "fx-00090-bep", "fx-00091-raw"
OWN = "KeyError: 'quote_currency'"   # the new revision's own failure
PARTNER = "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'https://api.rates.example/v2/quotes'"


def _hotfix(onset: float = -15, background: float = 0.0, new_words: str = PARTNER + " (after 3 retries)",
            old_created: float = -1440) -> Evidence:
    """OLD (created at `old_created`) at 100% until NEW's deploy at -8m, 50 requests a minute, `background` of them
    502 from -90m and 40% of them 502 from `onset` (the partner's 503s passed on); NEW from -8m at 50 a minute, 40%
    502, logging `new_words`. With OLD created in the hour, ANCIENT (a day old) served before it, cleanly."""
    e = Evidence().revision(OLD, old_created).revision(NEW, -8).traffic(**{NEW: 100})
    if old_created > -90:
        e = e.revision(ANCIENT, -1440).requests(ANCIENT, -90, old_created, 50).latency(ANCIENT, -90, old_created, 0.2)
    start = max(-90, old_created)
    e = e.requests(OLD, start, onset, 50 * (1 - background)).latency(OLD, start, -8, 0.2)
    if background:
        e = e.requests(OLD, start, onset, 50 * background, code="502")
    if onset < -8:
        e = e.requests(OLD, onset, -8, 30).requests(OLD, onset, -8, 20, code="502").log(onset, PARTNER, OLD, count=20)
    e = e.requests(NEW, -8, 5, 30).latency(NEW, -8, 5, 0.2).requests(NEW, -8, 5, 20, code="502")
    return quiet_connector(e.log(-7, new_words, NEW, count=20))


def _blip() -> Evidence:
    """OLD at 100% and 50 requests a minute, 40% of them 502 from -12m to -10m only, clean again to NEW's deploy at
    -8m; NEW fails 40% on its own KeyErrors."""
    e = (Evidence().revision(OLD, -1440).revision(NEW, -8).traffic(**{NEW: 100})
         .requests(OLD, -90, -12, 50).requests(OLD, -12, -10, 30).requests(OLD, -12, -10, 20, code="502")
         .requests(OLD, -10, -8, 50).latency(OLD, -90, -8, 0.2).log(-12, PARTNER, OLD, count=20)
         .requests(NEW, -8, 5, 30).latency(NEW, -8, 5, 0.2).requests(NEW, -8, 5, 20, code="502"))
    return quiet_connector(e.log(-7, OWN, NEW, count=20))


def _draining() -> Evidence:
    """OLD at 50 requests a minute, 40% of them 502 from -15m to -9m, then 3 clean requests in its last minute before
    NEW's deploy at -8m (its traffic draining as the deploy lands); NEW fails 40% on the partner's words."""
    e = (Evidence().revision(OLD, -1440).revision(NEW, -8).traffic(**{NEW: 100})
         .requests(OLD, -90, -15, 50).requests(OLD, -15, -9, 30).requests(OLD, -15, -9, 20, code="502")
         .requests(OLD, -9, -8, 3).latency(OLD, -90, -8, 0.2).log(-15, PARTNER, OLD, count=20)
         .requests(NEW, -8, 5, 30).latency(NEW, -8, 5, 0.2).requests(NEW, -8, 5, 20, code="502"))
    return quiet_connector(e.log(-7, PARTNER + " (after 3 retries)", NEW, count=20))


def _diagnosed(evidence: Evidence):
    bundle = evidence.bundle().model_copy(update={"alert": FIVE_XX_RATIO})
    return diagnose(bundle, S), bundle


# (case, evidence) -> the signature, the rollback target, words in the summary
CASES = {
    "the partner's 503s seven minutes before the hotfix: the deploy is not named": (
        _hotfix(), Signature.INCONCLUSIVE, None, f"the failures began at 11:45:00 on {OLD}, 7 min 00 s before {NEW}'s "
                                                  "deploy"),
    "three minutes before it: the same": (
        _hotfix(onset=-11), Signature.INCONCLUSIVE, None, f"the failures began at 11:49:00 on {OLD}"),
    "its traffic draining in the minute before the deploy (3 clean requests): the failures still came first": (
        _draining(), Signature.INCONCLUSIVE, None, f"on {OLD}"),
    # controls: unchanged
    "a blip on the revision before that stopped two minutes before the deploy: its own KeyErrors, named": (
        _blip(), Signature.BAD_REVISION, None, f"{NEW} fails since its deploy"),
    "clean until the deploy, its own KeyErrors: rolled back": (
        _hotfix(onset=-8, new_words=OWN), Signature.BAD_REVISION, OLD, f"{OLD} served cleanly"),
    "the revision before failing since its own deploy at -18m: stepped past, rolled back further": (
        _hotfix(onset=-18, old_created=-18, new_words=OWN), Signature.BAD_REVISION, ANCIENT, f"{OLD} was failing too"),
}


@pytest.mark.parametrize("evidence, signature, target, words", CASES.values(), ids=CASES.keys())
def test_failures_that_came_before_the_deploy_are_not_its_own(evidence, signature, target, words):
    result, bundle = _diagnosed(evidence)

    assert result.signature is signature, result.summary
    assert result.known_good_revision == target, result.summary
    assert words in result.summary, result.summary
    if signature is not Signature.BAD_REVISION:
        assert plan(result, bundle, S).action is None


def test_a_revision_failing_too_is_said_over_the_incidents_minutes():
    # OLD at a steady 2% background (not clean enough to date an onset after), then 40% from -15m: stepped past as
    # failing too, its share said over the failing minutes (40.0%), not only its hour's (about 11%).
    result, _ = _diagnosed(_hotfix(background=0.02))

    assert result.signature is Signature.BAD_REVISION and result.known_good_revision is None, result.summary
    assert "40.0% 5xx of 350" in result.no_target_reason and "from the first failing minute" in result.no_target_reason, \
        result.no_target_reason
