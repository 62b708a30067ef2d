"""A connector alert whose one user shows the connector saturated while another user behind the same connector
served cleanly in the same minutes (busy, few 5xx, no hang): a saturated connector delays or drops the packets of
every service crossing it alike, so the clean one is evidence against it. Before, the connector was scaled on the
failing user's verdict; now the alert is escalated naming both (connector_peers). A peer that is idle, failing too,
hanging, whose latency was not read, or on another connector is no such evidence: the connector is scaled as before.
"""
from __future__ import annotations

import pytest

from shared.alerts.incidents import AlertTarget, TargetKind
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.scope import ServiceResult, combine
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, SQL, Evidence

S = DiagnosisSettings()
OLD = "backend-00001-abc"
PEER = "reports-00003-kiv"
BACKEND = "projects/demo-project/locations/us-central1/services/backend"
REPORTS = "projects/demo-project/locations/us-central1/services/reports"
OTHER = "projects/demo-project/locations/us-central1/connectors/other-conn"
GO_DIAL = "failed to connect to `host=10.20.0.5 user=app database=shop`: dial tcp 10.20.0.5:5432: i/o timeout"


def saturated() -> Evidence:
    """backend: from -6m a fifth of its requests 503 with the p99 at 31 s and its dials timing out; the connector at
    its max with CPU 90% from -8m; Cloud SQL up."""
    return (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
            .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, 31.0)
            .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
            .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
            .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6).log(-5, GO_DIAL, OLD, count=20))


def peer(per_minute: float = 120, bad: float = 0, p99: float | None = 0.08, connector: str = CONNECTOR) -> Evidence:
    """reports, behind `connector`: `per_minute` requests a minute for 90 minutes, `bad` of them 503 from -6m on,
    its p99 `p99` s throughout (None: its latency not read)."""
    e = (Evidence().revision(PEER, -300, connector=connector).traffic(**{PEER: 100})
         .requests(PEER, -90, 5, per_minute - bad).connector(max_instances=3)
         .connector_metric("instances", -90, 5, 3).connector_metric("cpu", -90, 5, 0.9))
    if bad:
        e = e.requests(PEER, -6, 5, bad, code="503")
    return e.latency(PEER, -90, 5, p99) if p99 is not None else e


def combined(reports: Evidence):
    failing, clean = saturated().bundle(), reports.bundle()
    results = [ServiceResult(BACKEND, failing, diagnose(failing, S)), ServiceResult(REPORTS, clean, diagnose(clean, S))]
    return combine(AlertTarget(kind=TargetKind.CONNECTOR, name=CONNECTOR), results, 4, "", S)


# the other user behind the connector -> whether the connector is scaled
CASES = {
    "busy and clean in the same minutes: escalated, both named": (peer(), False),
    "busy, a few 503s under the healthy bar: escalated": (peer(per_minute=200, bad=1), False),
    "busy, its p99 a few seconds: escalated": (peer(p99=4.0), False),
    "idle (a request a minute): scaled as before": (peer(per_minute=1), True),
    "failing too (half its requests 503): scaled as before": (peer(bad=60), True),
    "hanging too (p99 at 31 s): scaled as before": (peer(p99=31.0), True),
    "its latency not read: scaled as before": (peer(p99=None), True),
    "on another connector: scaled as before": (peer(connector=OTHER), True),
}


@pytest.mark.parametrize("reports, scaled", CASES.values(), ids=CASES.keys())
def test_a_busy_clean_user_of_the_same_connector_holds_its_scale_back(reports, scaled):
    diagnosis, primary = combined(reports)

    if scaled:
        assert diagnosis.signature is Signature.CONNECTOR_SATURATION, diagnosis.summary
        assert primary is not None and plan(diagnosis, primary.bundle, S).action == "scale_connector"
        return
    assert diagnosis.signature is Signature.INCONCLUSIVE and primary is None, diagnosis.summary
    assert diagnosis.competing == ("connector_saturation",), diagnosis.competing
    assert "reports served" in diagnosis.summary and "the minutes backend failed" in diagnosis.summary, \
        diagnosis.summary
    refuting = [item for item in diagnosis.evidence if item.role == "refutes" and "reports served" in item.observed]
    assert refuting and "while backend failed" in refuting[0].observed, diagnosis.evidence
    assert diagnosis.recommendation.startswith("compare what the failing service does"), diagnosis.recommendation


def test_without_the_settings_no_user_is_weighed():
    """combine's callers that pass no settings (a verdict built from verdicts alone) keep the verdict as before."""
    failing, clean = saturated().bundle(), peer().bundle()
    results = [ServiceResult(BACKEND, failing, diagnose(failing, S)), ServiceResult(REPORTS, clean, diagnose(clean, S))]

    diagnosis, primary = combine(AlertTarget(kind=TargetKind.CONNECTOR, name=CONNECTOR), results)

    assert diagnosis.signature is Signature.CONNECTOR_SATURATION and primary is not None
