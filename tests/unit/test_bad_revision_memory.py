"""A deploy that lowered the memory limit, whose instances Cloud Run then ends over that limit: the
"no available instance" refusals that follow are the revision's own, and traffic goes back to the
revision that had the memory. Memory kills under an unchanged limit (a burst, a leak) leave the
refusals in doubt: a person decides."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
KILLED = ("Memory limit of 256 MiB exceeded with 263 MiB used. Consider increasing the memory limit, see "
          "https://cloud.google.com/run/docs/configuring/memory-limits")
# The same line in Cloud Run's older wording, its units written "M" (googleapis/repo-automation-bots
# issues #2418 and #3105).
KILLED_M = ("Memory limit of 256M exceeded with 263M used. Consider increasing the memory limit, see "
            "https://cloud.google.com/run/docs/configuring/memory-limits")
NO_INSTANCE = "The request was aborted because there was no available instance."

CASES = {
    "memory lowered, instances killed, Cloud Run's refusals follow: rolled back": dict(
        old=1024, new=256, killed=20, refused=20, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "memory lowered, instances killed, no refusals: rolled back as before": dict(
        old=1024, new=256, killed=20, refused=0, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "memory unchanged, instances killed, refusals: in doubt": dict(
        old=256, new=256, killed=20, refused=20, signature=Signature.INCONCLUSIVE, action=None),
    "memory lowered, instances killed (the older wording, 256M), refusals follow: rolled back": dict(
        old=1024, new=256, killed=20, refused=20, text=KILLED_M, signature=Signature.BAD_REVISION,
        action="rollback_traffic"),
    "memory lowered, refusals but no instance killed: in doubt": dict(
        old=1024, new=256, killed=0, refused=20, signature=Signature.INCONCLUSIVE, action=None),
    "requests per instance raised 80 to 250, memory unchanged: rolled back": dict(
        old=256, new=256, old_conc=80, new_conc=250, killed=20, refused=20, signature=Signature.BAD_REVISION,
        action="rollback_traffic", said="requests per instance from 80 to 250"),
    "requests per instance raised with memory raised too: in doubt": dict(
        old=256, new=1024, old_conc=80, new_conc=250, killed=20, refused=20, signature=Signature.INCONCLUSIVE,
        action=None),
    "memory limits unread, instances killed, refusals: in doubt": dict(
        old=None, new=None, killed=20, refused=20, signature=Signature.INCONCLUSIVE, action=None),
    # A `--no-traffic` preview with 2 GiB between them never ran the load: the deploy replaced OLD's
    # 256 MiB with 256 MiB, and traffic sent back would not bring more memory.
    "memory unchanged against the revision that served, a larger preview in between: in doubt": dict(
        old=256, new=256, preview=2048, killed=20, refused=20, signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_refusals_after_memory_kills_are_the_deploys_when_it_lowered_the_limit(case):
    e = (Evidence().revision(OLD, -3000, memory_mib=case["old"], concurrency=case.get("old_conc"))
         .revision(NEW, -11, memory_mib=case["new"], concurrency=case.get("new_conc"))
         .traffic(**{NEW: 100}).requests(OLD, -120, -11, 300).latency(OLD, -120, -11, 0.2)
         .requests(NEW, -11, 5, 200).requests(NEW, -11, 5, 60, code="503").requests(NEW, -11, 5, 20, code="500")
         .latency(NEW, -11, 5, 2))
    if case.get("preview"):
        e.revision("backend-00000-pre", -60, memory_mib=case["preview"])
    if case["killed"]:
        e.log(-6, case.get("text", KILLED), NEW, count=case["killed"], log_id="run.googleapis.com/varlog/system")
    if case["refused"]:
        e.log(-6, NO_INSTANCE, NEW, count=case["refused"], log_id="run.googleapis.com/requests")
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    if case["action"]:
        assert result.known_good_revision == OLD
        said = case.get("said", "memory limit from 1024 MiB to 256 MiB")
        assert said in result.summary, result.summary

