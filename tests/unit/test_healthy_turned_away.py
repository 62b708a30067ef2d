"""The alert path's `healthy` while Cloud Run turns callers away at max instances. Whether request_count
counts the 429s (and 500s) Cloud Run answers itself for want of an instance is unconfirmed
(docs/signatures.md, "Are Cloud Run's own 429s in `request_count`?"); under the reading where it leaves
them out, the requests it counts are clean while a third of the callers are refused. Before, the alert
path said `healthy` (outcome `skipped`, nothing reaches a person) where the sweep's verdict already said
`unclear` (its own copy of the check): the diagnosis's `healthy` now asks shared/diagnosis/uncounted.py."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence

S = DiagnosisSettings()
REV = "backend-00001-abc"
NO_INSTANCE = "The request was aborted because there was no available instance."


def _serving(*, instances: float | None = 4, max_instances: int | None = 10, refused_per_minute: int = 0,
             service_max: int | None = None) -> Evidence:
    """A long-running revision, 40 clean requests a minute as request_count counts them, and
    `refused_per_minute` "no available instance" lines in the request log since -3."""
    e = Evidence(now=4)
    e.revision(REV, -300, max_instances=max_instances).traffic(**{REV.replace("-", "_"): 100})
    e.requests(REV, -90, 4, 40).latency(REV, -90, 4, 0.2)
    if instances is None:
        e.missing("instances")
    else:
        e.instances(REV, -90, 4, instances)
    for minute in range(-2, 5):
        if refused_per_minute:
            e.log(minute - 0.5, NO_INSTANCE, REV, count=refused_per_minute, log_id="run.googleapis.com/requests",
                  severity="WARNING")
    e.service_max = service_max
    return e


def _diagnosed(e: Evidence):
    bundle = e.bundle()
    if e.service_max:
        bundle = bundle.model_copy(update={"service": bundle.service.model_copy(
            update={"max_instance_count": e.service_max})})
    return diagnose(bundle, S)


CASES = [
    # name, evidence, healthy, words cited
    ("well under its max instances, nobody turned away: healthy", _serving(), True, ""),
    ("at its max instances, 20 callers a minute turned away (logged), 40 counted: not healthy",
     _serving(instances=10, refused_per_minute=20), False, "turned callers away for want of an instance"),
    ("under its max, a burst refused (its 500 no available instance): not healthy",
     _serving(refused_per_minute=20), False, "turned callers away"),
    ("at its max instances, the request log excluded: not healthy", _serving(instances=10), False,
     "ran at its max instances"),
    ("at Cloud Run's default max of 100: not healthy", _serving(instances=100, max_instances=None), False,
     "100 active of 100, the default"),
    ("the serving revisions at the service-level max: not healthy", _serving(instances=5, service_max=5), False,
     "service-level max instances"),
    ("the instance count not read: not healthy", _serving(instances=None), False,
     "instance count (container/instance_count) was not read"),
    ("one refusal in the window against 280 counted (0.4 %, under the 1 % bar): healthy",
     _serving().log(2.5, NO_INSTANCE, REV, log_id="run.googleapis.com/requests", severity="WARNING"), True, ""),
    ("one refusal a minute against 40 counted (2.4 %): not healthy", _serving(refused_per_minute=1), False,
     "turned callers away"),
]


@pytest.mark.parametrize("name,evidence,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_clean_requests_while_callers_are_turned_away_at_max_instances_are_not_healthy(name, evidence, healthy,
                                                                                        words):
    result = _diagnosed(evidence)
    assert (result.signature is Signature.HEALTHY) is healthy, result.summary
    if not healthy:
        cited = [i for i in result.evidence if i.about == "healthy" and i.passed is False]
        assert cited and words in cited[0].observed, [i.observed for i in result.evidence]
