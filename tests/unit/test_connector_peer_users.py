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


def scaled_or_held(reports: Evidence, scaled: bool):
    """The connector alert's verdict with `reports` beside the failing backend: scaled (the plan scales the
    connector) or held (inconclusive, nothing planned), as `scaled` says; the diagnosis."""
    diagnosis, primary = combined(reports)
    if scaled:
        assert diagnosis.signature is Signature.CONNECTOR_SATURATION, diagnosis.summary
        assert primary is not None and plan(diagnosis, primary.bundle, S).action == "scale_connector"
    else:
        assert diagnosis.signature is Signature.INCONCLUSIVE and primary is None, diagnosis.summary
    return diagnosis


@pytest.mark.parametrize("reports, scaled", CASES.values(), ids=CASES.keys())
def test_a_busy_clean_user_of_the_same_connector_holds_its_scale_back(reports, scaled):
    diagnosis = scaled_or_held(reports, scaled)
    if scaled:
        return
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


# A peer's traffic through the connector is that of its serving revisions naming it: their requests and their p99,
# per revision. Another revision's latency (one on no connector, an old one no longer routed) says nothing of it.
BESIDE = "reports-00002-old"


def split_peer(through_p99: float | None, beside_p99: float | None, beside_connector: str | None = None,
               beside_share: int = 50) -> Evidence:
    """reports: PEER through the connector and BESIDE (on `beside_connector`, none by default) each serving 60
    requests a minute, BESIDE at `beside_share` % of the split (0: no longer routed, still serving its last
    requests); each revision's p99 as given (None: not read)."""
    e = (Evidence().revision(BESIDE, -400, connector=beside_connector).revision(PEER, -300)
         .traffic(**{PEER: 100 - beside_share, BESIDE: beside_share}).requests(PEER, -90, 5, 60)
         .requests(BESIDE, -90, 5, 60).connector(max_instances=3).connector_metric("cpu", -90, 5, 0.9))
    e = e.latency(PEER, -90, 5, through_p99) if through_p99 is not None else e
    return e.latency(BESIDE, -90, 5, beside_p99) if beside_p99 is not None else e


# the peer's revisions -> whether the connector is scaled
PER_REVISION = {
    "clean through the connector, its revision on no connector hanging: escalated": (split_peer(0.08, 31.0), False),
    "clean through the connector, an unrouted old revision hanging: escalated": (
        split_peer(0.08, 31.0, beside_connector=CONNECTOR, beside_share=0), False),
    "hanging through the connector, its revision on no connector fast: scaled": (split_peer(31.0, 0.08), True),
    "its revision through the connector's p99 not read, the other's fast: scaled": (split_peer(None, 0.08), True),
    "both through the connector, one hanging: scaled": (
        split_peer(0.08, 31.0, beside_connector=CONNECTOR), True),
    "both through the connector, both clean: escalated": (split_peer(0.08, 0.2, beside_connector=CONNECTOR), False),
}


@pytest.mark.parametrize("reports, scaled", PER_REVISION.values(), ids=PER_REVISION.keys())
def test_a_peer_is_judged_on_its_serving_revisions_through_the_connector_alone(reports, scaled):
    diagnosis = scaled_or_held(reports, scaled)
    if scaled:
        return
    # The p99 named is that of the revisions through the connector: never the hanging one beside them.
    assert "reports served" in diagnosis.summary and "p99 max" in diagnosis.summary, diagnosis.summary
    assert "p99 max 31" not in diagnosis.summary, diagnosis.summary
