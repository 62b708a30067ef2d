"""The revision the incident followed (Facts.followed) is the newest serving one, unless that one was created after
the incident started (a person's fix at a share, a revert, a canary): then the deploy that change followed, or the
revision that served the incident. Every rule that judges a revision's settings (its request timeout, its max
instances or concurrency, its VPC path) judges that one, not the fix: a fix restoring the old settings hid the
deploy that changed them. The safety properties of a change made since hold: no rollback, no target that is the fix
or created after the suspect."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature
from shared.gcp.run_logs import REQUEST_LOG
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
OLDEST, GOOD, BAD, FIX = "backend-00001-old", "backend-00002-abc", "backend-00003-xyz", "backend-00004-fix"


def _split(split: dict[str, int], *, bad_created: float | None = -10, fix_created: float = 1,
           good_until: float = 5) -> Evidence:
    """GOOD served 60 a minute until BAD's deploy at `bad_created` (with no BAD, on at its share); BAD serves 60 a
    minute from then, FIX 6 from `fix_created`, each at the shares of `split`."""
    e = Evidence().revision(OLDEST, -3000).revision(GOOD, -2000).revision(FIX, fix_created).traffic(**split)
    good_until = good_until if bad_created is None else bad_created
    e = e.requests(GOOD, -180, good_until, 60).latency(GOOD, -180, good_until, 0.2)
    if bad_created is not None:
        bad_until = 5 if split.get(BAD) else fix_created
        e = e.revision(BAD, bad_created).requests(BAD, bad_created, bad_until, 60).latency(BAD, bad_created,
                                                                                          bad_until, 0.2)
    return quiet_connector(e.requests(FIX, fix_created, 5, 6).latency(FIX, fix_created, 5, 0.2))


# (case, evidence, the revision the incident followed, whether it is a deploy in the window: Facts.recent_deploy)
FOLLOWED = [
    ("nothing created since the incident began: the newest serving revision",
     _split({BAD: 90, FIX: 10}, fix_created=-20), BAD, True),
    ("a fix at a tenth since, the deploy before still at the rest: the deploy", _split({BAD: 90, FIX: 10}), BAD, True),
    ("a fix that took all the traffic: the deploy that served the incident's requests", _split({FIX: 100}), BAD,
     True),
    ("a fix beside a revision deployed hours before, no deploy in the window: the revision that served",
     _split({GOOD: 90, FIX: 10}, bad_created=None), GOOD, False),
    ("a fix that took all the traffic at once, nothing before it served the incident: the fix, never dated as a "
     "deploy", _split({FIX: 100}, bad_created=None, fix_created=0.5, good_until=0), FIX, False),
]


@pytest.mark.parametrize("case, evidence, followed, dated", FOLLOWED, ids=[row[0] for row in FOLLOWED])
def test_the_revision_the_incident_followed(case, evidence, followed, dated):
    facts = Facts(evidence.bundle(), S)

    deploy = facts.recent_deploy()
    assert (deploy[0].short_name if deploy else None) == (followed if dated else None)
    assert facts.followed is not None and facts.followed.short_name == followed


def _timeout_cut(split: dict[str, int]) -> Evidence:
    """BAD, deployed 10 minutes before, cuts at 10 s the third of its requests that took 18 s under GOOD's 300 s;
    FIX, a minute after the incident began, has 300 s again."""
    e = (Evidence().revision(GOOD, -3000, timeout=300).revision(BAD, -10, timeout=10).revision(FIX, 1, timeout=300)
         .traffic(**split).requests(GOOD, -180, -10, 60).latency(GOOD, -180, -10, 18)
         .requests(BAD, -10, 5, 40).requests(BAD, -10, 5, 20, code="504").latency(BAD, -10, 5, 10)
         .requests(FIX, 1, 5, 6).latency(FIX, 1, 5, 18))
    for minute in range(-9, 5):
        e = e.log(minute, TIMED_OUT, revision=BAD, count=3, log_id=REQUEST_LOG, status=504)
    return quiet_connector(e)


# Cloud Run's text for a request cut at the request timeout (as deploy_lowered_request_timeout quotes it).
TIMED_OUT = ("The request has been terminated because it has reached the maximum request timeout. To change this "
             "limit, see https://cloud.google.com/run/docs/configuring/request-timeout")


def _refused(split: dict[str, int]) -> Evidence:
    """BAD, deployed 12 minutes before, lowered max instances from 20 to 2 and sits at 2, a third of its requests
    429; FIX, a minute after the incident began, has 20 again and runs on one instance."""
    e = (Evidence().revision(GOOD, -3000, max_instances=20).revision(BAD, -12, max_instances=2)
         .revision(FIX, 1, max_instances=20).traffic(**split)
         .requests(GOOD, -180, -12, 60).instances(GOOD, -180, -12, 6)
         .requests(BAD, -12, 5, 40).requests(BAD, -12, 5, 20, code="429").latency(BAD, -12, 5, 0.2)
         .instances(BAD, -12, 5, 2).requests(FIX, 1, 5, 6).latency(FIX, 1, 5, 0.2).instances(FIX, 1, 5, 1))
    return quiet_connector(e)


# (case, evidence, signature, words in the summary, words the recommendation starts with)
SETTINGS = [
    ("a deploy lowered the timeout under usual requests, a fix at a tenth since: the deploy's, not a slow app",
     _timeout_cut({BAD: 90, FIX: 10}), Signature.BAD_REVISION,
     [f"{BAD} fails since its deploy", f"its deploy changed the request timeout from 300 s to 10 s (against {GOOD})"],
     f"see whether {FIX}'s change holds"),
    ("a deploy lowered max instances, a fix at a tenth since: capacity on the deploy, its change named",
     _refused({BAD: 90, FIX: 10}), Signature.CAPACITY,
     [f"{BAD} is at its 2 max instances", f"lowered max instances from 20 to 2 (against {GOOD})"],
     f"see whether {FIX}'s change, made since the incident began, holds"),
]


@pytest.mark.parametrize("case, evidence, signature, said, advice", SETTINGS, ids=[row[0] for row in SETTINGS])
def test_settings_are_judged_on_the_deploy_not_the_fix_made_since(case, evidence, signature, said, advice):
    result = diagnose(evidence.bundle(), S)

    assert result.signature is signature, result.summary
    for words in said:
        assert words in result.summary, result.summary
    assert result.recommendation.startswith(advice), result.recommendation
    # A change made since stands in the way of any write: no rollback, and never to the fix or past the suspect.
    assert plan(result, evidence.bundle(), S).action is None
    assert result.known_good_revision is None
    assert result.subject == BAD
