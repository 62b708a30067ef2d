"""A deploy that lowered the requests each instance takes, under an unchanged load: Cloud Run's
"no available instance" refusals while it starts the many more instances the same load now needs
are the deploy's, and traffic goes back to the revision that had the concurrency. Under a burst,
with the concurrency unchanged or raised, or with too little traffic before the deploy to compare
the load, the refusals stay in doubt: a person decides."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
NO_INSTANCE = "The request was aborted because there was no available instance."

CASES = {
    "requests per instance 80 to 1, same load: rolled back": dict(
        old_conc=80, new_conc=1, load=1, signature=Signature.BAD_REVISION, action="rollback_traffic",
        said="requests per instance from 80 to 1"),
    "requests per instance unset (80) to 4, same load: rolled back": dict(
        old_conc=None, new_conc=4, load=1, signature=Signature.BAD_REVISION, action="rollback_traffic",
        said="requests per instance from 80 to 4"),
    "requests per instance 80 to 1, load a third higher: rolled back": dict(
        old_conc=80, new_conc=1, load=1.3, signature=Signature.BAD_REVISION, action="rollback_traffic",
        said="requests per instance from 80 to 1"),
    "requests per instance 80 to 1 under a fourfold burst: in doubt": dict(
        old_conc=80, new_conc=1, load=4, signature=Signature.INCONCLUSIVE, action=None),
    "requests per instance unchanged, same load: in doubt": dict(
        old_conc=80, new_conc=80, load=1, signature=Signature.INCONCLUSIVE, action=None),
    "requests per instance raised 10 to 80, same load: in doubt": dict(
        old_conc=10, new_conc=80, load=1, signature=Signature.INCONCLUSIVE, action=None),
    "requests per instance 80 to 1, too quiet before the deploy to compare: in doubt": dict(
        old_conc=80, new_conc=1, load=1, before=2, signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_refusals_for_want_of_instances_are_the_deploys_when_it_lowered_concurrency(case):
    before = case.get("before", 300)
    after = 300 * case["load"]
    e = (Evidence().revision(OLD, -3000, concurrency=case["old_conc"])
         .revision(NEW, -11, concurrency=case["new_conc"])
         .traffic(**{NEW: 100}).requests(OLD, -120, -11, before).latency(OLD, -120, -11, 0.2)
         .requests(NEW, -11, 5, after * 0.75).requests(NEW, -11, 5, after * 0.25, code="500")
         .latency(NEW, -11, 5, 9)
         .log(-6, NO_INSTANCE, NEW, count=20, log_id="run.googleapis.com/requests"))
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    if case["action"]:
        assert result.known_good_revision == OLD
        assert case["said"] in result.summary, result.summary
