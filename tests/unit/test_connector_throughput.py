"""Connector throughput is judged on the larger of its two byte counters, minute by minute.

Google's metric list names connector/received_bytes_count and connector/sent_bytes_count without
saying which direction each counts (cloud.google.com/monitoring/api/metrics_gcp, vpcaccess:
UNCONFIRMED). A connector carrying large answers back from the database is busy in one direction
only, so reading one counter alone misses its throughput limit under one of the two readings.
Table-driven: the busy direction on either counter gives the same verdict and the same plan."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts, Window
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
BUSY, QUIET = 35e6, 1e6          # bytes/s: 280 Mbps against an e2-micro x 3 ceiling of 300 Mbps; 8 Mbps


def _bandwidth_bound(busy: str, quiet: str | None) -> Evidence:
    """503s since -15 min, waiting 10 s on the saturated path (a dial timeout), on a connector at its
    max of 3 instances since then, CPU p99 at 40 %, one byte counter carrying BUSY since -15 min
    (QUIET before), the other QUIET throughout (or not read)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .requests(OLD, -15, 5, 20, code="503").latency(OLD, -90, -15, 0.3).latency(OLD, -15, 5, 10.0)
         .log(-14, "dial tcp 10.20.0.3:5432: i/o timeout", OLD, count=6).sql_up(-90, 5, 1)
         .connector(max_instances=3).connector_metric("instances", -90, -15, 2).connector_metric("instances", -15, 5, 3)
         .connector_metric("cpu", -90, 5, 0.4)
         .connector_metric(busy, -90, -15, QUIET).connector_metric(busy, -15, 5, BUSY))
    return e.connector_metric(quiet, -90, 5, QUIET) if quiet else e


@pytest.mark.parametrize("busy, quiet", [("bytes", "sent_bytes"), ("sent_bytes", "bytes"),
                                         ("bytes", None), ("sent_bytes", None)],
                         ids=["received busy", "sent busy", "received only", "sent only"])
def test_the_throughput_sign_holds_whichever_counter_carries_the_load(busy, quiet):
    e = _bandwidth_bound(busy, quiet)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.CONNECTOR_SATURATION, result.summary
    assert "throughput 280 of 300 Mbps" in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "Mbps on" in i.observed]
    counter = "received" if busy == "bytes" else "sent"
    assert cited and cited[0].passed and f"{counter}_bytes_count" in cited[0].observed, cited
    assert cited[0].query == f"connector/{busy}"     # the counter that carried it, re-runnable
    reference = plan(diagnose(_bandwidth_bound("bytes", "sent_bytes").bundle(), S),
                     _bandwidth_bound("bytes", "sent_bytes").bundle(), S)
    planned = plan(result, e.bundle(), S)
    assert (planned.action, planned.params) == (reference.action, reference.params)


def test_per_minute_the_larger_counter_counts():
    e = (Evidence().revision(OLD, -300).traffic(**{OLD: 100}).connector()
         .connector_metric("bytes", -3, 0, 5.0).connector_metric("sent_bytes", -3, -1, 9.0)
         .connector_metric("sent_bytes", -1, 0, 1.0))
    facts = Facts(e.bundle(), S)

    # minutes -2, -1, 0: received 5 each; sent 9, 9, then 1
    assert facts.connector_bytes(Window(at(-3), at(0))) == [9.0, 9.0, 5.0]
    assert facts.connector_bytes(Window(at(-90), at(-60))) == []


def test_neither_counter_read_is_no_throughput_not_zero():
    e = _bandwidth_bound("bytes", None)
    bundle = e.bundle().model_copy(update={"connector_bytes": None, "connector_sent_bytes": None})

    result = diagnose(bundle, S)

    cited = [i for i in result.evidence if i.about == "connector_saturation" and "bytes_count" in i.query]
    assert cited and cited[0].observed == "no data" and not cited[0].passed
