"""A revision created after the incident started (a person's fix, a revert the pipeline released, an unrelated
release, a canary) is the newest serving one when the evidence is read, but not the incident's deploy. The
revision deployed shortly before the incident that served in its minutes is judged on its own requests instead:
named as the cause when they fail and the others' do not, with no rollback target (sending traffic back would
write over the change since); when its evidence does not separate it, the change since is said and a person
judges. Never a rollback from, or to, the revision created since."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
GOOD, BAD, FIX = "backend-00002-abc", "backend-00003-xyz", "backend-00004-fix"
OLDEST = "backend-00001-old"


def _fixed_after(fix_created: float, split: dict[str, int], *, bad_fails: bool = True, fix_fails: bool = False,
                 bad_created: float = -10) -> Evidence:
    """GOOD served 40 a minute until BAD's deploy at `bad_created`; BAD fails 60% since (or serves cleanly:
    `bad_fails`, while GOOD, kept at its share, fails half its requests); FIX, created at `fix_created` (after
    T0), serves from then (failing half its requests with `fix_fails`) with the `split` read at the end."""
    e = (Evidence().revision(OLDEST, -600, sql=(SQL,)).revision(GOOD, -180, sql=(SQL,))
         .revision(BAD, bad_created, sql=(SQL,)).revision(FIX, fix_created, sql=(SQL,))
         .traffic(**split).requests(GOOD, -90, bad_created, 40).latency(GOOD, -90, bad_created, 0.2))
    bad_until = 5 if split.get(BAD) else fix_created
    e = e.requests(BAD, bad_created, bad_until, 16).latency(BAD, bad_created, bad_until, 0.2)
    e = e.requests(BAD, bad_created, bad_until, 24, code="500" if bad_fails else "200")
    if not bad_fails:
        e = e.requests(GOOD, -10, 5, 20).requests(GOOD, -10, 5, 20, code="500")
    fix_rate = 4 if split.get(BAD, 0) > 50 else 40
    if fix_fails:
        e = e.requests(FIX, fix_created, 5, fix_rate, code="500")
    return quiet_connector(e.requests(FIX, fix_created, 5, fix_rate).latency(FIX, fix_created, 5, 0.2))


def _no_deploy_before(split: dict[str, int]) -> Evidence:
    """GOOD, created hours before, fails 60% from -10m with no deploy; FIX, created at +1m, serves from then."""
    e = (Evidence().revision(GOOD, -180, sql=(SQL,)).revision(FIX, 1, sql=(SQL,)).traffic(**split)
         .requests(GOOD, -90, 5, 40).requests(GOOD, -10, 5, 60, code="500").latency(GOOD, -90, 5, 0.2))
    return quiet_connector(e.requests(FIX, 1, 5, 4).latency(FIX, 1, 5, 0.2))


PREVIEW = "backend-00004-pre"


def _with_preview(e: Evidence) -> Evidence:
    """A `--no-traffic --tag` preview deployed 5 minutes before the incident, no share, 10 clean requests a minute
    through its tag URL since."""
    return e.revision(PREVIEW, -5, sql=(SQL,)).requests(PREVIEW, -5, 5, 10).latency(PREVIEW, -5, 5, 0.2)


# (case, evidence, the suspect named or None, words in the summary)
CASES = [
    ("a tag-only preview deployed after the failing deploy is not judged in its place (a share first)",
     _with_preview(_fixed_after(1, {BAD: 90, FIX: 10}, bad_created=-20)), BAD, [f"{BAD} fails since its deploy"]),
    ("nothing holding a share: the deploy that served the incident's requests, not the newer preview",
     _with_preview(_fixed_after(1, {FIX: 100}, bad_created=-20)), BAD, [f"{BAD} fails since its deploy"]),
    ("a fix deployed a minute after the incident started takes all the traffic: the deploy before it is named",
     _fixed_after(1, {FIX: 100}), BAD,
     [f"{BAD} fails since its deploy", "there is no rollback target", f"{FIX}, created 1 min 00 s after the "
      "incident started, now serves 100%"]),
    ("a fix given a tenth of the traffic two minutes after, the failing deploy still serving the rest",
     _fixed_after(2, {BAD: 90, FIX: 10}), BAD,
     [f"{BAD} fails since its deploy", f"{FIX}, created 2 min 00 s after the incident started, now serves 10%"]),
    ("an unrelated release at half the traffic three minutes after, serving cleanly beside the failing deploy",
     _fixed_after(3, {BAD: 50, FIX: 50}), BAD, [f"{BAD} fails since its deploy", "now serves 50%"]),
    ("the deploy 25 minutes before the incident, inside the deploy window, then a fix",
     _fixed_after(1, {BAD: 90, FIX: 10}, bad_created=-25), BAD, [f"{BAD} fails since its deploy"]),
    ("the change since fails as much: the per-revision evidence does not separate them",
     _fixed_after(1, {BAD: 50, FIX: 50}, fix_fails=True), None,
     [f"{FIX} was created 1 min 00 s after the incident started", f"{BAD}, deployed before it:",
      "not concentrated"]),
    ("the deploy before the change since served cleanly, the revision before it failing at its share: not the cause",
     _fixed_after(1, {GOOD: 40, BAD: 50, FIX: 10}, bad_fails=False), None,
     [f"{FIX} was created 1 min 00 s after the incident started", f"{BAD}, deployed before it:"]),
    ("no revision deployed in the window before the incident: the change since is said, nothing judged",
     _no_deploy_before({GOOD: 90, FIX: 10}), None,
     [f"{FIX} was created 1 min 00 s after the incident started", f"serving beside it: {GOOD} at 90%"]),
    ("the failing deploy 40 minutes before the incident, outside the deploy window: not looked for",
     _fixed_after(1, {BAD: 90, FIX: 10}, bad_created=-40), None,
     [f"{FIX} was created 1 min 00 s after the incident started"]),
]


@pytest.mark.parametrize("case,evidence,suspect,words", CASES, ids=[c[0] for c in CASES])
def test_the_deploy_before_a_change_since_the_incident_is_judged_never_rolled_back(case, evidence, suspect, words):
    bundle = evidence.bundle()

    result = diagnose(bundle, S)
    planned = plan(result, bundle, S)

    if suspect is None:
        assert result.signature is not Signature.BAD_REVISION, result.summary
    else:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert result.suspect_revision == suspect
        assert result.known_good_revision is None, result.known_good_revision
    assert result.signature is not Signature.HEALTHY, result.summary
    for said in words:
        assert said in result.summary, result.summary
    assert planned.action is None, planned


def test_a_no_traffic_revision_since_the_incident_leaves_the_deploy_its_rollback():
    # The control: a revision created since with no share (`--no-traffic --tag`) is not the newest serving one;
    # the failing deploy is, and its rollback goes to the revision that served before it, never to the new one.
    bundle = _fixed_after(1, {GOOD: 0, BAD: 100}).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).params.to_revision == GOOD
