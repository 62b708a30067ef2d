"""A deploy that left the same load fewer instances ready: fewer min instances kept warm
(RevisionScaling.min_instance_count) or its startup CPU boost turned off (ResourceRequirements.
startup_cpu_boost). Under an unchanged load, Cloud Run's "no available instance" refusals while it starts
the instances it no longer keeps warm, or starts them slower, are the deploy's, and traffic goes back to
the revision that had the setting. Under a burst, with the setting unchanged or raised, or too little
traffic before the deploy to compare the load, they stay in doubt, and the escalation names what the
deploy changed, before and after."""
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

# old, new: each revision's (min instances, startup CPU boost); load: the rate since the deploy against
# before it; said: the words the verdict's summary holds.
CASES = {
    "min instances 5 to 0, same load: rolled back": dict(
        old=(5, False), new=(0, False), load=1, signature=Signature.BAD_REVISION, action="rollback_traffic",
        said="min instances from 5 to 0"),
    "min instances 4 to 1, a third more load: rolled back": dict(
        old=(4, True), new=(1, True), load=1.3, signature=Signature.BAD_REVISION, action="rollback_traffic",
        said="min instances from 4 to 1"),
    "startup CPU boost turned off, same load: rolled back": dict(
        old=(0, True), new=(0, False), load=1, signature=Signature.BAD_REVISION, action="rollback_traffic",
        said="startup CPU boost from on to off"),
    "min instances 5 to 0 under a fourfold burst: in doubt, named": dict(
        old=(5, False), new=(0, False), load=4, signature=Signature.INCONCLUSIVE, action=None,
        said="its deploy changed the min instances from 5 to 0"),
    "min instances 5 to 0, too quiet before the deploy to compare: in doubt, named": dict(
        old=(5, False), new=(0, False), load=1, before=2, signature=Signature.INCONCLUSIVE, action=None,
        said="its deploy changed the min instances from 5 to 0"),
    "min instances unchanged, same load: in doubt": dict(
        old=(3, True), new=(3, True), load=1, signature=Signature.INCONCLUSIVE, action=None, said="no available"),
    "min instances raised 0 to 5, same load: in doubt, named": dict(
        old=(0, False), new=(5, False), load=1, signature=Signature.INCONCLUSIVE, action=None,
        said="min instances from 0 to 5"),
    "startup CPU boost turned on, same load: in doubt, named": dict(
        old=(0, False), new=(0, True), load=1, signature=Signature.INCONCLUSIVE, action=None,
        said="startup CPU boost from off to on"),
}


def _settings(pair: tuple[int, bool]) -> dict:
    return {"min_instance_count": pair[0], "startup_cpu_boost": pair[1]}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_refusals_for_want_of_instances_are_the_deploys_when_it_kept_fewer_ready(case):
    before = case.get("before", 300)
    after = 300 * case["load"]
    e = (Evidence().revision(OLD, -3000).revision(NEW, -11)
         .traffic(**{NEW: 100}).requests(OLD, -120, -11, before).latency(OLD, -120, -11, 0.2)
         .requests(NEW, -11, 5, after * 0.75).requests(NEW, -11, 5, after * 0.25, code="500")
         .latency(NEW, -11, 5, 9)
         .log(-6, NO_INSTANCE, NEW, count=20, log_id="run.googleapis.com/requests"))
    e = quiet_connector(e)
    e.revs = [r.model_copy(update=_settings(case["old"] if r.short_name == OLD else case["new"])) for r in e.revs]

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    assert case["said"] in result.summary, result.summary
    if case["action"]:
        assert result.known_good_revision == OLD
