"""A connector whose metrics hold no point in the incident window (created minutes ago, or its
metrics not yet ingested) is unknown, exactly as one whose metrics were not read: never "no
saturation", and never a healthy path under the database's errors. Nothing is written either way."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import MetricResult, MetricSeries, MetricPoint
from shared.diagnosis.rules import connector_saturation, database_unreachable
from shared.diagnosis.facts import Facts
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
DIAL = "failed to connect to `host=10.40.0.3 user=app database=orders`: dial error (dial tcp 10.40.0.3:5432: i/o timeout)"
METRICS = ("connector_instances", "connector_cpu", "connector_bytes", "connector_sent_bytes")


def _failing(e: Evidence) -> Evidence:
    """Since -10m a third of the requests answer 503 after a 30 s hang; pgx's dials time out."""
    return (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .requests(OLD, -10, 5, 20, code="503").latency(OLD, -90, -10, 0.2).latency(OLD, -10, 5, 30.1)
            .connector(max_instances=3).sql_up(-90, 5, 1).log(-5, DIAL, OLD, count=20))


def _answered(points_at: tuple[float, ...]):
    """Every connector metric read, with points only at these minutes (none: an empty answer)."""
    def update(bundle):
        series = (MetricSeries(points=tuple(MetricPoint(end=at(m), value=2.0) for m in points_at)),) if points_at else ()
        return bundle.model_copy(update={name: MetricResult(query=name, series=series) for name in METRICS})
    return update


CASES = {
    "a new connector: every metric read, not one point": dict(
        bundle=_answered(()), unknown=True),
    "metrics stopped 40 minutes before the window (ingestion behind)": dict(
        bundle=_answered((-60, -59, -58)), unknown=True),
    "control: the connector reported, idle": dict(
        bundle=lambda b: b, build=lambda e: e.connector_metric("instances", -90, 5, 2).connector_metric(
            "cpu", -90, 5, 0.1).connector_metric("bytes", -90, 5, 1e6), unknown=False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_connector_with_no_point_in_the_window_is_unknown(case):
    e = _failing(Evidence())
    bundle = case["bundle"](case.get("build", lambda x: x)(e).bundle())
    facts = Facts(bundle, S)

    connector = connector_saturation.evaluate(facts)
    database = database_unreachable.evaluate(Facts(bundle, S))
    result = diagnose(bundle, S)

    assert not connector.matched
    assert plan(result, bundle, S).action is None
    if case["unknown"]:
        assert "unknown" in connector.summary and "no saturation" not in connector.summary, connector.summary
        assert database.matched and database.confidence < S.act_min_confidence
        assert "looks healthy" not in database.summary and "unknown" in database.summary, database.summary
    else:
        assert "shows no saturation" in connector.summary, connector.summary
        assert "is READY and shows no saturation" in database.summary, database.summary
