"""A revision created after the incident started (a person's fix, a revert the pipeline released) is the newest
serving one when the evidence is read, but not the incident's deploy: bad_revision says so, names the revisions
serving beside it, and never plans a rollback from it (which would undo the fix)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
GOOD, BAD, FIX = "backend-00001-abc", "backend-00002-xyz", "backend-00003-fix"


def _fixed_after(fix_created: float, split: dict[str, int]) -> Evidence:
    """GOOD served 40 a minute until BAD's deploy at -10m; BAD fails 60% since; FIX, created at `fix_created`
    (after T0), serves cleanly from then with the `split` read at the end."""
    e = (Evidence().revision(GOOD, -180, sql=(SQL,)).revision(BAD, -10, sql=(SQL,)).revision(FIX, fix_created, sql=(SQL,))
         .traffic(**split).requests(GOOD, -90, -10, 40).latency(GOOD, -90, -10, 0.2))
    bad_until = 5 if split.get(BAD) else fix_created
    e = e.requests(BAD, -10, bad_until, 16).requests(BAD, -10, bad_until, 24, code="500").latency(BAD, -10, bad_until, 0.2)
    return quiet_connector(e.requests(FIX, fix_created, 5, 4 if split.get(BAD) else 40).latency(FIX, fix_created, 5, 0.2))


# (case, evidence, words in the summary)
CASES = [
    ("a fix deployed a minute after the incident started takes all the traffic",
     _fixed_after(1, {FIX: 100}), ["backend-00003-fix was created 1 min 00 s after the incident started",
                                   "nothing to send traffic back from"]),
    ("a fix given a tenth of the traffic two minutes after, the failing deploy still serving the rest",
     _fixed_after(2, {BAD: 90, FIX: 10}), ["backend-00003-fix was created 2 min 00 s after the incident started",
                                          "serving beside it: backend-00002-xyz at 90%"]),
]


@pytest.mark.parametrize("case,evidence,words", CASES, ids=[c[0] for c in CASES])
def test_a_revision_deployed_after_the_incident_started_is_not_its_deploy(case, evidence, words):
    bundle = evidence.bundle()

    result = diagnose(bundle, S)

    assert result.signature is not Signature.BAD_REVISION, result.summary
    assert result.signature is not Signature.HEALTHY, result.summary
    for said in words:
        assert said in result.summary, result.summary
    assert plan(result, bundle, S).action is None
