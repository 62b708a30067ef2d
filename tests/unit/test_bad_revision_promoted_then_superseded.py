"""Two releases minutes apart, the incident following the first: the first a revision created long before and
promoted in the deploy window (`gcloud run deploy --no-traffic`, then `update-traffic`; or an older revision sent
the traffic back), the second created since the incident began and serving now. The promotion is the deploy the
incident followed (Facts.deploy_before_change, Facts.followed): judged on its own requests, dated from its
promotion, named with no rollback target (sending traffic back would write over the release since), never a
rollback to the release since."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
OLD, PROMOTED, SINCE = "backend-00001-old", "backend-00002-pro", "backend-00003-new"


def _promoted_then_superseded(*, promoted_at: float = -12, fails: bool = True, since_at: float = 2,
                              split: dict[str, int] | None = None) -> Evidence:
    """OLD, hours old, served 40 a minute until PROMOTED (created 3 h before, `--no-traffic`) took every request
    at `promoted_at`, 24 of its 40 a minute 500 (or none: `fails`); SINCE, created at `since_at`, serves from
    then (the `split` read at the end: SINCE 100% unless said)."""
    e = (Evidence().revision(OLD, -600, sql=(SQL,)).revision(PROMOTED, -180, sql=(SQL,))
         .revision(SINCE, since_at, sql=(SQL,)).traffic(**(split or {SINCE: 100}))
         .requests(OLD, -90, promoted_at, 40).latency(OLD, -90, promoted_at, 0.2))
    until = 5 if (split or {}).get(PROMOTED) else since_at
    e = e.requests(PROMOTED, promoted_at, until, 16).latency(PROMOTED, promoted_at, until, 0.2)
    e = e.requests(PROMOTED, promoted_at, until, 24, code="500" if fails else "200")
    rate = 4 if (split or {}).get(PROMOTED, 0) > 50 else 40
    return quiet_connector(e.requests(SINCE, since_at, 5, rate).latency(SINCE, since_at, 5, 0.2))


# (case, evidence, the suspect named or None, words in the summary)
CASES = [
    ("promoted 12 minutes before the incident, a release two minutes after it takes all the traffic",
     _promoted_then_superseded(), PROMOTED, [f"{PROMOTED} fails since it was promoted at", "no rollback target",
                                             f"{SINCE}, created 2 min 00 s after the incident started"]),
    ("promoted, then a fix at a tenth beside it", _promoted_then_superseded(split={PROMOTED: 90, SINCE: 10}),
     PROMOTED, [f"{PROMOTED} fails since it was promoted at", "now serves 10%"]),
    ("the promotion served cleanly: nothing named (the service is healthy)",
     _promoted_then_superseded(fails=False), None, []),
    ("promoted 40 minutes before the incident, outside the deploy window: not looked for",
     _promoted_then_superseded(promoted_at=-40), None,
     [f"{SINCE} was created 2 min 00 s after the incident started"]),
]


@pytest.mark.parametrize("case,evidence,suspect,words", CASES, ids=[c[0] for c in CASES])
def test_a_promotion_superseded_after_the_incident_began_is_judged_never_rolled_back(case, evidence, suspect, words):
    bundle = evidence.bundle()

    result = diagnose(bundle, S)

    if suspect is None:
        assert result.signature is not Signature.BAD_REVISION, result.summary
    else:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert result.suspect_revision == suspect
        assert result.known_good_revision is None, result.known_good_revision
        assert result.signature is not Signature.HEALTHY, result.summary
    for said in words:
        assert said in result.summary, result.summary
    assert plan(result, bundle, S).action is None


def test_the_revision_the_incident_followed_is_the_promotion_not_the_release_since():
    facts = Facts(_promoted_then_superseded().bundle(), S)

    assert facts.followed is not None and facts.followed.short_name == PROMOTED
    deploy = facts.recent_deploy()
    assert deploy is not None and deploy[0].short_name == PROMOTED and deploy[1].short_name == OLD


CANARY = "backend-00004-can"


@pytest.mark.parametrize("canary_at", [-25, -20], ids=[
    "a clean canary created 25 minutes before, before the promotion (before: judged in its place, by create_time)",
    "a clean canary created 20 minutes before"])
def test_the_deploy_before_the_change_is_the_latest_promoted_not_the_latest_created(canary_at):
    # PROMOTED, created 3 h before, promoted at -12 to 80 % and failing 60 %; CANARY, created within the window
    # and serving 10 % cleanly; SINCE, a release at +2 at 10 %. The incident followed the promotion: which revision
    # served it is ordered by when each took its traffic (Facts.deployed), a promotion by its promotion.
    e = (Evidence().revision(OLD, -600, sql=(SQL,)).revision(PROMOTED, -180, sql=(SQL,))
         .revision(CANARY, canary_at, sql=(SQL,)).revision(SINCE, 2, sql=(SQL,))
         .traffic(**{PROMOTED: 80, CANARY: 10, SINCE: 10})
         .requests(OLD, -90, -12, 36).latency(OLD, -90, -12, 0.2)
         .requests(CANARY, canary_at, 5, 4).latency(CANARY, canary_at, 5, 0.2)
         .requests(PROMOTED, -12, 5, 13).requests(PROMOTED, -12, 5, 19, code="500").latency(PROMOTED, -12, 5, 0.2)
         .requests(SINCE, 2, 5, 4).latency(SINCE, 2, 5, 0.2))
    bundle = quiet_connector(e).bundle()
    facts = Facts(bundle, S)

    assert facts.deploy_before_change is not None and facts.deploy_before_change.short_name == PROMOTED
    assert facts.followed is not None and facts.followed.short_name == PROMOTED
    result = diagnose(bundle, S)   # before: inconclusive, the clean canary judged "not failing"
    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == PROMOTED, result.summary
    assert result.known_good_revision is None and plan(result, bundle, S).action is None
