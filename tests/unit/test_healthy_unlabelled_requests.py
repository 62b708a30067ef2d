"""A request_count series without its response_code_class label is never a clean request to `healthy`.

request_count carries response_code and response_code_class (cloud.google.com/monitoring/api/metrics_gcp,
run); Runwarden reads it grouped by both (collection._run_metrics), so an alert's own grouping never reaches
these series. A point Cloud Run writes with a label left empty is UNCONFIRMED. Before, such a series was read
as the class "unknown", which neither the 5xx path (Requests.refused) nor the 4xx path (client_errors)
counted, while the total they divide by did: a third of requests answered 503 with no class label beside clean
200s read `healthy` on a latency alert. Now a series with a code but no class takes its code's class
(facts.code_class: "503" is a 5xx), and one with neither is counted as not served
(client_errors._STATUS_CLASSES), against the same count before the incident.
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan
from tests.unit.builders import Evidence
from tests.unit.test_healthy_fast_refusals import LATENCY, RATIO
from tests.unit.test_verification_judging import OLD

S = DiagnosisSettings()
# The series the rows strip: 503s of their class label; a code no other series has ("999") of both labels.
NO_CLASS, NO_LABELS = "503", "999"


def _world(*, bare_before: float = 0, bare_since: float = 0, code: str = NO_CLASS, since: float = 40) -> Evidence:
    """A service at 40 requests a minute for an hour (`bare_before` of them in the series stripped of labels),
    hanging from -12 (p99 7 s) until the incident; from 0 on fast, `since` a minute, `bare_since` of them in
    the stripped series."""
    e = Evidence(now=5)
    e.revision(OLD, -1800).traffic(**{OLD: 100}).instances(OLD, -60, 5, 2)
    e.requests(OLD, -60, 0, 40 - bare_before)
    e.latency(OLD, -60, -12, 0.1).latency(OLD, -12, 0, 7.0).latency(OLD, 0, 5, 0.25)
    e.requests(OLD, 0, 5, since - bare_since)
    if bare_before:
        e.requests(OLD, -60, 0, bare_before, code=code)
    if bare_since:
        e.requests(OLD, 0, 5, bare_since, code=code)
    return e


def _stripped(e: Evidence, code: str) -> EvidenceBundle:
    """The bundle with the series of `code` written without response_code_class, or, for NO_LABELS, without
    either label."""
    bundle = e.bundle()
    keep = {} if code == NO_LABELS else {"response_code": code}
    series = tuple(s.model_copy(update={"metric_labels": keep}) if s.metric_labels.get("response_code") == code
                   else s for s in bundle.requests.series)
    return bundle.model_copy(update={"requests": bundle.requests.model_copy(update={"series": series})})


ROWS = [
    # name, evidence, code stripped, alert, healthy (the first three `healthy` on main)
    ("503s with no class label, a third since: the 5xx path counts them, not healthy",
     _world(bare_since=13), NO_CLASS, LATENCY, False),
    ("the same on the 5xx ratio alert: not healthy", _world(bare_since=13), NO_CLASS, RATIO, False),
    ("a series with neither label, a third since, none before: not served, not healthy",
     _world(bare_since=13, code=NO_LABELS), NO_LABELS, LATENCY, False),
    # Controls.
    ("a series with neither label at the same share before as since: no rise, healthy",
     _world(bare_before=4, bare_since=4, code=NO_LABELS), NO_LABELS, LATENCY, True),
    ("200s with no class label: 2xx, healthy", _world(bare_since=20, code="200"), "200", LATENCY, True),
]


@pytest.mark.parametrize("name,evidence,code,alert,healthy", ROWS, ids=[r[0] for r in ROWS])
def test_requests_without_a_class_label_never_make_healthy(name, evidence, code, alert, healthy):
    bundle = _stripped(evidence, code).model_copy(update={"alert": alert})
    d = diagnose(bundle, S)
    assert (d.signature is Signature.HEALTHY) is healthy, d.summary
    if not healthy:
        assert plan(d, bundle, S).action is None, d.summary
