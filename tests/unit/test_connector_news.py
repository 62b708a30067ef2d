"""connector_saturation counts only stress that is news: a sign that already held in the minutes
before the incident window, while the service served cleanly, does not explain failures that
began later (a connector at its max instances every evening is busy, not the cause)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_database_refusals import TOO_MANY
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()


# The Cloud SQL Go connector's dial timeout (docs/signatures.md, the table of database errors): a request
# that fails to cross a saturated connector.
DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
        '"demo:us-central1:main-db"): dial tcp 10.40.0.3:3307: i/o timeout')


def _failing_503(e: Evidence, since: float = -15, dials: int = 0) -> Evidence:
    """A long-running revision on the connector: 40 requests a minute, 20 more answering 503 since
    `since`; `dials` of its dials to the database time out."""
    e = (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .requests(OLD, since, 5, 20, code="503").latency(OLD, -90, 5, 0.3)
         .connector(max_instances=3).connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))
    return e.log(-5, DIAL, OLD, count=dials) if dials else e


def test_a_connector_at_max_long_before_the_failures_while_requests_were_clean_is_not_their_cause():
    e = _failing_503(Evidence()).connector_metric("instances", -90, 5, 3).connector_metric("cpu", -90, 5, 0.4)

    result = diagnose(e.bundle(), S)

    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert plan(result, e.bundle(), S).action is None
    chronic = [i for i in result.evidence if i.about == "connector_saturation" and "already in" in i.observed]
    assert chronic and chronic[0].role == "context" and "15 of 15" in chronic[0].observed


def test_a_connector_that_reached_its_max_with_the_failures_is_still_saturated():
    e = (_failing_503(Evidence(), dials=10).connector_metric("instances", -90, -15, 2)
         .connector_metric("instances", -15, 5, 3)
         .connector_metric("cpu", -90, 5, 0.4))

    assert diagnose(e.bundle(), S).signature is Signature.CONNECTOR_SATURATION


def test_new_cpu_saturation_counts_while_the_chronic_max_is_left_out():
    e = (_failing_503(Evidence(), dials=10).connector_metric("instances", -90, 5, 3)
         .connector_metric("cpu", -90, -15, 0.4).connector_metric("cpu", -15, 5, 0.95))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.CONNECTOR_SATURATION, result.summary
    assert "CPU p99 95%" in result.summary and "at max instances" not in result.summary


def test_a_sign_that_held_while_the_service_was_already_failing_still_counts():
    e = (_failing_503(Evidence(), since=-60, dials=10).connector_metric("instances", -90, 5, 3)
         .connector_metric("cpu", -90, 5, 0.4))

    assert diagnose(e.bundle(), S).signature is Signature.CONNECTOR_SATURATION


PSYCOPG = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: Connection refused. '
           "Is the server running on that host and accepting TCP/IP connections?")


def _db_errors(e: Evidence) -> Evidence:
    """500s since -10 with the database's connection errors in stderr; Cloud SQL's state unknown."""
    e = (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .requests(OLD, -10, 5, 20, code="500").latency(OLD, -90, 5, 0.3).log(-5, PSYCOPG, OLD, count=10)
         .connector(max_instances=3).connector_metric("bytes", -90, 5, 2e6).connector_metric("cpu", -90, 5, 0.4))
    e.sql.clear()
    return e


def test_database_errors_beside_a_connector_at_max_as_usual_blame_the_database():
    e = _db_errors(Evidence()).connector_metric("instances", -90, 5, 3)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary


def test_database_errors_beside_a_connector_that_reached_its_max_with_them_do_not():
    e = _db_errors(Evidence()).connector_metric("instances", -90, -10, 2).connector_metric("instances", -10, 5, 3)

    assert diagnose(e.bundle(), S).signature is not Signature.DATABASE_UNREACHABLE


def test_a_cpu_as_hot_before_the_failures_does_not_make_the_plan_a_machine_move():
    e = (_failing_503(Evidence(), dials=10).connector_metric("instances", -90, -15, 2)
         .connector_metric("instances", -15, 5, 3)
         .connector_metric("cpu", -90, 5, 0.95))

    result = diagnose(e.bundle(), S)
    proposal = plan(result, e.bundle(), S)

    said, _, also = result.summary.partition(" Also found: ")
    assert result.signature is Signature.CONNECTOR_SATURATION and "CPU" not in said
    # Named for the person weighing the scale, as no cause (notable.py).
    assert "CPU p99 max 95% (bar 80%; not counted as a cause: so before the failures too" in also, result.summary
    assert proposal.action == "scale_connector"
    assert proposal.params.machine_type == "e2-micro" and proposal.params.max_instances == 5, proposal.reason


def _after_a_burst(e: Evidence) -> Evidence:
    """503s since -15 on a connector that scaled out to its max in a burst at -25..-20 (CPU 95%,
    240 Mbps) and stayed there, as connectors do ("Connectors don't scale in",
    cloud.google.com/vpc/docs/serverless-vpc-access#scaling), with CPU 10% and 8 Mbps since."""
    return (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .requests(OLD, -15, 5, 20, code="503").latency(OLD, -90, 5, 0.3).sql_up(-90, 5, 1)
            .connector(max_instances=3).connector_metric("instances", -90, -25, 2)
            .connector_metric("instances", -25, 5, 3)
            .connector_metric("cpu", -90, 5, 0.1).connector_metric("cpu", -25, -20, 0.95)
            .connector_metric("bytes", -90, 5, 1e6).connector_metric("bytes", -25, -20, 30e6))


def test_a_connector_left_at_its_max_by_a_burst_that_ended_is_not_saturated():
    e = _after_a_burst(Evidence())

    result = diagnose(e.bundle(), S)

    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert plan(result, e.bundle(), S).action is None
    stale = [i for i in result.evidence if i.about == "connector_saturation" and "don't scale in" in i.observed]
    assert stale and stale[0].role == "context", [i.observed for i in result.evidence]


def test_a_connector_still_as_busy_as_when_it_reached_its_max_is_still_saturated():
    e = (_after_a_burst(Evidence()).connector_metric("cpu", -20, 5, 0.6).connector_metric("bytes", -20, 5, 20e6)
         .log(-5, DIAL, OLD, count=10))

    assert diagnose(e.bundle(), S).signature is Signature.CONNECTOR_SATURATION


def test_a_connector_whose_metrics_were_not_read_is_a_gap_not_no_saturation():
    # A Shared VPC connector's metrics are in its host project; a reader denied there reads none.
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .requests(OLD, -15, 5, 20, code="503").latency(OLD, -90, 5, 0.3).sql_up(-90, 5, 1).connector()
         .missing("connector_instances", "connector_cpu", "connector_bytes"))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE
    assert "shows no saturation" not in result.summary
    assert "were not read in project demo: whether it is saturated is unknown" in result.summary, result.summary


def _cut_at(timeout: float) -> Evidence:
    """504s since -15 with p99 at the request timeout; the connector's CPU newly at 95%."""
    return (Evidence().revision(OLD, -300, sql=(SQL,), timeout=timeout).traffic(**{OLD: 100})
            .requests(OLD, -90, 5, 40).requests(OLD, -15, 5, 20, code="504")
            .latency(OLD, -90, -15, 0.3).latency(OLD, -15, 5, timeout).sql_up(-90, 5, 1).connector(max_instances=3)
            .connector_metric("instances", -90, 5, 2).connector_metric("cpu", -90, -15, 0.3)
            .connector_metric("cpu", -15, 5, 0.95).connector_metric("bytes", -90, 5, 1e6))


def test_a_hang_cut_into_504s_by_a_30_s_request_timeout_names_the_saturated_connector():
    result = diagnose(_cut_at(30).bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"connector_saturation", "request_timeout"}, result.summary
    assert plan(result, _cut_at(30).bundle(), S).action is None


def test_504s_at_a_long_request_timeout_are_not_a_connector_hang():
    result = diagnose(_cut_at(300).bundle(), S)

    assert result.signature is Signature.REQUEST_TIMEOUT, result.summary


def test_requests_hanging_at_a_client_timeout_keep_the_max_after_a_burst():
    # A shared-core connector that spent its CPU credits in the burst shows less CPU and traffic
    # too, and its requests hang: the hang, the connector's own symptom, keeps the sign.
    e = _after_a_burst(Evidence()).latency(OLD, -15, 5, 31)

    assert diagnose(e.bundle(), S).signature is Signature.CONNECTOR_SATURATION


# --- a hang beside a connector whose only sign is its instance count ---------------------------

NAT_DIAL = 'quote failed: Post "https://api.partner.example/v2/rates": dial tcp 198.51.100.20:443: i/o timeout'


def _hanging(e: Evidence, code: str = "502") -> Evidence:
    """A long-running revision whose failing requests hang ~30 s at a client timeout since -12 (an
    internet host behind Cloud NAT dropping its dials); the connector reached its max with them."""
    return (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .requests(OLD, -12, 5, 20, code=code).latency(OLD, -90, -12, 0.3).latency(OLD, -12, 5, 30)
            .log(-5, NAT_DIAL, OLD, count=20).connector(max_instances=3).sql_up(-90, 5, 1)
            .connector_metric("instances", -90, -12, 2).connector_metric("instances", -12, 5, 3))


HIGH_WATER = {
    "CPU and throughput read and low: not enough to act": dict(
        e=lambda: _hanging(Evidence()).connector_metric("cpu", -90, 5, 0.45).connector_metric("bytes", -90, 5, 8e6),
        saturated=False),
    "CPU hot as well: saturated": dict(
        e=lambda: _hanging(Evidence()).connector_metric("cpu", -90, 5, 0.45).connector_metric("cpu", -12, 5, 0.95)
        .connector_metric("bytes", -90, 5, 8e6), saturated=True),
    "503s as well: saturated, as before": dict(
        e=lambda: _hanging(Evidence(), code="503").connector_metric("cpu", -90, 5, 0.45)
        .connector_metric("bytes", -90, 5, 8e6), saturated=True),
    "CPU unread: the count still counts (unknown is not low)": dict(
        e=lambda: _hanging(Evidence()).connector_metric("bytes", -90, 5, 8e6), saturated=True),
}


@pytest.mark.parametrize("case", HIGH_WATER.values(), ids=HIGH_WATER.keys())
def test_a_hang_beside_a_connector_showing_only_its_instance_count_is_not_acted_on(case):
    e = case["e"]()

    result = diagnose(e.bundle(), S)

    if case["saturated"]:
        assert result.signature is Signature.CONNECTOR_SATURATION, result.summary
        return
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert plan(result, e.bundle(), S).action is None
    assert "high-water mark" in result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "only sign" in i.observed]
    assert cited and cited[0].role == "context" and "45%" in cited[0].observed


# --- fast 503s beside a connector whose only sign is its instance count -------------------------

def _own_503s(dials: int = 0) -> Evidence:
    """503s answered in 50 ms since -15 (the application's readiness handler) while traffic doubled
    and the connector reached its max with it; its CPU and throughput stay low."""
    return (_failing_503(Evidence(), dials=dials).latency(OLD, -90, 5, 0.05)
            .connector_metric("instances", -90, -15, 2).connector_metric("instances", -15, 5, 3)
            .connector_metric("cpu", -90, 5, 0.25))


def test_fast_503s_with_nothing_failing_to_cross_a_connector_at_its_count_are_not_acted_on():
    e = _own_503s()

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert plan(result, e.bundle(), S).action is None
    assert "nothing shows a request failing to cross it" in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "only sign" in i.observed]
    assert cited and cited[0].role == "context" and "0 errors of reaching the database" in cited[0].observed


def test_the_same_503s_with_dials_to_the_database_timing_out_are_the_connector():
    assert diagnose(_own_503s(dials=10).bundle(), S).signature is Signature.CONNECTOR_SATURATION


# --- a p99 the service always has (WebSockets, streaming, long polling) is not a hang ---------

def _long_requests(since: float) -> Evidence:
    """p99 at 1,800 s (WebSocket connections, counted as requests as long as the connection) from
    `since`, no failure at all, on a 3,600 s request timeout; the connector's CPU newly at 90% as
    traffic doubles, at its max with it."""
    return (Evidence().revision(OLD, -300, sql=(SQL,), timeout=3600).traffic(**{OLD: 100})
            .requests(OLD, -90, 5, 40).requests(OLD, -15, 5, 40).latency(OLD, -90, since, 0.2)
            .latency(OLD, since, 5, 1800).sql_up(-90, 5, 1).connector(max_instances=3)
            .connector_metric("instances", -90, -15, 2).connector_metric("instances", -15, 5, 3)
            .connector_metric("cpu", -90, -15, 0.3).connector_metric("cpu", -15, 5, 0.9)
            .connector_metric("bytes", -90, 5, 2e6))


def test_a_p99_as_long_before_the_failures_while_requests_were_clean_is_not_a_hang():
    e = _long_requests(since=-90)

    result = diagnose(e.bundle(), S)

    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert plan(result, e.bundle(), S).action is None
    usual = [i for i in result.evidence if i.about == "connector_saturation" and "already in" in i.observed
             and "p99" in i.observed]
    assert usual and usual[0].role == "context", [i.observed for i in result.evidence]


def test_a_p99_that_rose_into_the_band_with_the_load_is_still_a_hang():
    assert diagnose(_long_requests(since=-15).bundle(), S).signature is Signature.CONNECTOR_SATURATION


def test_fast_503s_beside_the_databases_refusals_leave_the_connector_ruled_out_not_in_doubt():
    # The database answers "too many clients": the path through the connector works, which rules
    # it out (database_unreachable alone), rather than leaving it in doubt beside the database.
    e = _own_503s().log(-5, TOO_MANY, OLD, count=10)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, e.bundle(), S).action is None


def test_the_instance_count_doubt_reads_throughput_on_either_byte_counter():
    """The doubt reads throughput as the saturation signs do (Facts.connector_bytes: the larger of
    received_bytes_count and sent_bytes_count): a connector whose traffic shows on the sent counter
    alone is judged, and cited, on that counter."""
    e = _own_503s()
    e.conn_series["bytes"].clear()
    e = e.connector_metric("sent_bytes", -90, 5, 5e6)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert plan(result, e.bundle(), S).action is None
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "only sign" in i.observed]
    assert cited and "40 of" in cited[0].observed, cited


# --- a CPU p99 point with no value (NaN) --------------------------------------------------------------------------
# An empty percentile may come as NaN or its minute be left out (facts.finite: which, UNCONFIRMED). Under both
# readings the diagnosis is the one of the minutes that hold a number: the same words, signs, confidence and plan
# as with those minutes not read, and never a "nan%".

def _cpu_bundle(cpu_before: float | None, cpu_after: float = 0.9):
    from tests.unit.test_connector_peer_users import GO_DIAL
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, 31.0)
         .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
         .connector_metric("instances", -90, -8, 2).connector_metric("instances", -8, 5, 3)
         .connector_metric("cpu", -8, 5, cpu_after).connector_metric("bytes", -90, 5, 4e6).log(-5, GO_DIAL, OLD, count=20))
    if cpu_before is not None:
        e.connector_metric("cpu", -90, -8, cpu_before)
    return e.bundle()


@pytest.mark.parametrize("after", [0.9, 0.2], ids=["CPU hot in the incident", "CPU cool in the incident"])
def test_a_nan_cpu_point_reads_as_a_minute_not_read(after):
    import math
    strict = S.model_copy(update={"act_min_confidence": 0.85})
    nan, absent = _cpu_bundle(math.nan, after), _cpu_bundle(None, after)
    d, unread = diagnose(nan, S), diagnose(absent, S)
    assert "nan" not in d.summary, d.summary
    assert (d.summary, d.confidence) == (unread.summary, unread.confidence)
    assert [(i.observed, i.passed) for i in d.evidence] == [(i.observed, i.passed) for i in unread.evidence]
    assert plan(d, nan, strict).action == plan(unread, absent, strict).action
