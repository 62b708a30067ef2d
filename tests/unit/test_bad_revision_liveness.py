"""A deploy whose instances Cloud Run shuts down after their liveness probe fails (a probe on a path the
new image no longer serves, a handler that blocks the event loop): Cloud Run's "no available instance"
refusals that follow are the revision's own, as after its startup failures, and traffic goes back to the
revision whose instances stayed up. Refusals with no shutdown of the new revision's own (a burst on a
service that scales from zero), or shutdowns logged by the revision before, leave them in doubt."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_connector_liveness_and_http_reads import LIVENESS, OTHER_PROBE
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
SYSTEM = "run.googleapis.com/varlog/system"
NO_INSTANCE = "The request was aborted because there was no available instance."

CASES = {
    **{f"the new revision's instances shut down ({name}), refusals follow: rolled back": dict(
        shutdowns=((NEW, text, 6),), signature=Signature.BAD_REVISION, action="rollback_traffic")
       for name, text in LIVENESS.items()},
    "3 shutdowns, the fewest read as a cause: rolled back": dict(
        shutdowns=((NEW, LIVENESS["HTTP, 3 failures"], 3),), signature=Signature.BAD_REVISION,
        action="rollback_traffic"),
    "2 shutdowns, fewer than startup_failure_logs_min: in doubt (unchanged)": dict(
        shutdowns=((NEW, LIVENESS["HTTP, 3 failures"], 2),), signature=Signature.INCONCLUSIVE, action=None),
    "refusals, no shutdown: in doubt (unchanged)": dict(shutdowns=(), signature=Signature.INCONCLUSIVE, action=None),
    "another program's probe words on the new revision: in doubt (unchanged)": dict(
        shutdowns=((NEW, OTHER_PROBE, 6),), signature=Signature.INCONCLUSIVE, action=None),
    "shutdowns on the revision before only: in doubt (unchanged)": dict(
        shutdowns=((OLD, LIVENESS["HTTP, 3 failures"], 6),), signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_refusals_after_liveness_shutdowns_of_the_new_revision_are_the_deploys(case):
    e = (Evidence().revision(OLD, -3000).revision(NEW, -11).traffic(**{NEW: 100})
         .requests(OLD, -120, -11, 300).latency(OLD, -120, -11, 0.2)
         .requests(NEW, -11, 5, 200).requests(NEW, -10, 5, 120, code="503").requests(NEW, -10, 5, 30, code="429")
         .latency(NEW, -11, 5, 2))
    for revision, text, count in case["shutdowns"]:
        e.log(-6, text, revision, count=count, log_id=SYSTEM)
    e.log(-6, NO_INSTANCE, NEW, count=20, log_id="run.googleapis.com/requests", severity="WARNING", status=429)
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"], result.summary
    if case["action"]:
        assert result.known_good_revision == OLD
        assert any("liveness probe" in item.observed for item in result.evidence), result.evidence
