"""A saturated connector beside a Cloud SQL instance whose database/up has no point in the window
judged (a stopped instance may report nothing; a series Monitoring did not return) is
connector_saturation at low confidence, no action (unchanged). The summary says why a person must
look: which instance, which metric, which window, rather than leaving "Cloud SQL unknown" unsaid."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import MetricResult
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD = "backend-00001-abc"
DATA = "data-proj:us-central1:catalog-db"
ORDERS = SQL.rsplit(":", 1)[0] + ":orders-db"


def db_id(connection: str) -> str:
    project, _, instance = connection.split(":")
    return f"{project}:{instance}"


def saturated(sql: tuple[str, ...], *, since: float = -12, machine: str = "e2-micro", cpu: float = 0.95) -> Evidence:
    """One revision using `sql`; from `since` a third of its requests 503 after 31 s, its connector newly
    at max instances and CPU-bound. No database/up point unless a row adds one."""
    e = (Evidence().revision(OLD, -300, sql=sql).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .latency(OLD, -90, since, 0.2).requests(OLD, since, 5, 20, code="503").latency(OLD, since, 5, 31))
    return (e.connector(machine_type=machine, max_instances=3).connector_metric("instances", -40, since, 2)
            .connector_metric("instances", since, 5, 3).connector_metric("cpu", -40, since, 0.3)
            .connector_metric("cpu", since, 5, cpu).connector_metric("bytes", -40, 5, 2e6))


def read_empty(bundle):
    """database/up read, and Monitoring answered no series at all (a stopped instance)."""
    return bundle.model_copy(update={"sql_up": MetricResult(query="cloudsql database/up", series=())})


CASES = {
    "a stopped instance, no database/up series at all": dict(
        build=lambda: saturated((SQL,)), bundle=read_empty, silent=[SQL], up=[]),
    "the same on an e2-standard-4 connector, failing since -7m": dict(
        build=lambda: saturated((ORDERS,), since=-7, machine="e2-standard-4", cpu=0.9), bundle=read_empty,
        silent=[ORDERS], up=[]),
    "two instances, one up and one in another project unread: the unread one is named": dict(
        build=lambda: saturated((SQL, DATA)).sql_up(-40, 5, 1), bundle=lambda b: b, silent=[DATA], up=[SQL]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_summary_names_the_instance_with_no_database_up_point(case):
    bundle = case["bundle"](case["build"]().bundle())
    result = diagnose(bundle, S)

    assert result.signature is Signature.CONNECTOR_SATURATION, result.summary
    assert result.confidence < S.act_min_confidence and plan(result, bundle, S).action is None   # unchanged
    assert "database/up had no point" in result.summary, result.summary
    for db in case["silent"]:
        assert db_id(db) in result.summary, (db, result.summary)
    for db in case["up"]:
        assert db_id(db) not in result.summary, (db, result.summary)
    assert "look at the instance" in result.summary, result.summary


def test_an_instance_up_throughout_is_not_said_to_have_no_point():
    result = diagnose(saturated((SQL,)).sql_up(-40, 5, 1).bundle(), S)

    assert result.signature is Signature.CONNECTOR_SATURATION and "no point" not in result.summary, result.summary
