"""CloudLoggingAdapter against the Logging stand-in: real client, real gRPC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import grpc
import pytest

from sandbox.scenario_logs import AuditLogSpec, LogSpec, seed_logs
from sandbox.standins.logging import EntrySeed, LoggingStandIn, log_name_for
from shared.errors import PermanentError, TransientError
from shared.gcp.endpoints import CallPolicy
from shared.diagnosis.log_signals import audit_filter, request_log_filter
from shared.remediation.callers import is_uptime_check
from shared.gcp.logging import CloudLoggingAdapter, merge_operation_entries, quote
from shared.gcp.run_logs import log_name

PROJECT, REGION = "demo-project", "us-central1"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
WINDOW = f'timestamp>="{(T0 - timedelta(hours=1)).isoformat()}" AND timestamp<="{T0.isoformat()}"'
NEW = "backend-00002-xyz"


@pytest.fixture
def logging_standin() -> Iterator[LoggingStandIn]:
    standin = LoggingStandIn(clock=lambda: T0)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def adapter(logging_standin: LoggingStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudLoggingAdapter]:
    monkeypatch.setenv("LOGGING_EMULATOR_HOST", logging_standin.address)
    logging = CloudLoggingAdapter(policy=QUICK)
    yield logging
    logging.close()


def seed(standin: LoggingStandIn, logs: list[dict], audit_logs: list[dict] = ()) -> None:
    seed_logs(standin, PROJECT, REGION, [LogSpec.model_validate(x) for x in logs],
              [AuditLogSpec.model_validate(x) for x in audit_logs], T0)


def test_requests_entry_becomes_a_record(adapter, logging_standin):
    seed(logging_standin, [{"at": "-2m", "log": "requests", "service": "backend", "revision": NEW,
                            "status": 503, "latency": "30.2s"}])

    result = adapter.list_entries(PROJECT, f"{WINDOW} AND httpRequest.status>=500", 10)

    [record] = result.entries
    assert record.log_id == "run.googleapis.com/requests"
    assert record.timestamp == T0 - timedelta(minutes=2)
    assert record.severity == "ERROR"
    assert record.http_status == 503 and record.http_latency_seconds == pytest.approx(30.2)
    assert record.text.startswith("The request failed because either the HTTP response was malformed")
    assert record.resource_type == "cloud_run_revision"
    assert record.resource_labels == {"project_id": PROJECT, "service_name": "backend", "revision_name": NEW,
                                      "location": REGION, "configuration_name": "backend"}
    assert record.method_name is record.resource_name is record.principal is None
    assert record.insert_id
    assert result.query == f"{WINDOW} AND httpRequest.status>=500" and not result.truncated


def test_the_request_logs_user_agent_is_read_and_filtered_on(adapter, logging_standin):
    """The verification sweep reads the request log of the serving revisions (request_log_filter) and
    tells Cloud Monitoring's uptime checker from callers by httpRequest.userAgent."""
    seed(logging_standin, [
        {"at": {"from": "-5m", "to": "0m", "every": "1m"}, "log": "requests", "service": "backend",
         "revision": NEW, "count": 6, "user_agent": "uptime"},
        {"at": {"from": "-5m", "to": "0m", "every": "1m"}, "log": "requests", "service": "backend",
         "revision": NEW, "count": 2, "user_agent": "curl/8.5.0"},
        {"at": "-1m", "log": "requests", "service": "backend", "revision": "backend-00001-abc", "count": 3}])

    read = adapter.list_entries(PROJECT, request_log_filter(PROJECT, "backend", REGION, [NEW], T0 - timedelta(
        minutes=10), T0), 1000)
    checker = adapter.list_entries(PROJECT, f'{WINDOW} AND httpRequest.userAgent:"GoogleStackdriverMonitoring"', 100)

    assert len(read.entries) == 40 and not read.truncated          # the serving revision's only, every agent
    assert sum(is_uptime_check(e) for e in read.entries) == 30
    assert {e.user_agent for e in read.entries if not is_uptime_check(e)} == {"curl/8.5.0"}
    assert len(checker.entries) == 30 and all(e.user_agent.startswith("GoogleStackdriverMonitoring-UptimeChecks(")
                                              for e in checker.entries)


def test_a_grpc_calls_request_line_and_its_json_grpc_code_are_read(adapter, logging_standin):
    """A request log line's httpRequest.requestUrl and userAgent (google/logging/type/http_request.proto) and a
    JSON line's `grpc.code` (go-grpc-middleware's key) come through the real client into the record, which
    tells a gRPC call and its status (shared/diagnosis/grpc_calls.py); a line without them has none. The
    line's protocol (here HTTP/1.1, a gRPC-Web call's) is not kept: it tells nothing the path does not."""
    url = "https://backend-7x2kq4-uc.a.run.app/inventory.v1.Inventory/GetItem"
    seed(logging_standin, [
        {"at": "-3m", "log": "requests", "service": "backend", "revision": NEW, "protocol": "HTTP/1.1", "url": url,
         "user_agent": "grpc-go/1.60.0"},
        {"at": "-2m", "log": "requests", "service": "backend", "revision": NEW, "status": 503},
        {"at": "-1m", "log": "stderr", "service": "backend", "revision": NEW,
         "line": '{"level":"WARN","msg":"finished call","grpc.service":"inventory.v1.Inventory",'
                 '"grpc.method":"GetItem","grpc.code":"Unavailable"}'}])

    call, failed = adapter.list_entries(PROJECT, f'{WINDOW} AND logName="{log_name(PROJECT, "run.googleapis.com/requests")}"',
                                        10).entries[::-1]
    [logged] = adapter.list_entries(PROJECT, f'{WINDOW} AND jsonPayload."grpc.code"="Unavailable"', 10).entries

    assert (call.request_url, call.user_agent, call.http_status) == (url, "grpc-go/1.60.0", 200)
    assert (failed.request_url, failed.user_agent, failed.grpc_code) == (None, None, "")
    assert (logged.grpc_code, logged.text, logged.severity) == ("Unavailable", "finished call", "WARNING")


def test_stderr_json_and_system_entries(adapter, logging_standin):
    seed(logging_standin, [
        {"at": "-3m", "log": "stderr", "service": "backend", "revision": NEW, "severity": "ERROR",
         "text": "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"},
        {"at": "-2m", "log": "stdout", "service": "backend", "revision": NEW, "severity": "WARNING",
         "json": {"message": "slow query", "ms": 1234}},
        {"at": "-1m", "log": "varlog/system", "service": "backend", "revision": NEW, "severity": "ERROR",
         "text": 'Default STARTUP TCP probe failed 1 time consecutively for container "app" on port 8080. '
                 "The instance was not started."},
    ])

    records = adapter.list_entries(PROJECT, WINDOW, 10).entries

    assert [(r.log_id, r.severity) for r in records] == [      # newest first
        ("run.googleapis.com/varlog/system", "ERROR"), ("run.googleapis.com/stdout", "WARNING"),
        ("run.googleapis.com/stderr", "ERROR")]
    system, stdout, stderr = records
    assert system.text.startswith("Default STARTUP TCP probe failed")
    assert stdout.text == "slow query"           # jsonPayload.message
    assert "QueuePool limit" in stderr.text
    assert all(r.http_status is None and r.http_latency_seconds is None for r in records)


def test_a_text_entrys_instance_is_read_and_a_json_entrys_is_not(adapter, logging_standin):
    # labels.instanceId: the container instance that wrote the line (Cloud Run "Logging and viewing
    # logs"); read of textPayload entries only, the lines a split stack trace is made of (split_lines.py).
    seed(logging_standin, [
        {"at": "-2m", "log": "stdout", "service": "backend", "revision": NEW, "labels": {"instanceId": "00ab12"},
         "line": "Caused by: java.net.SocketTimeoutException: Read timed out"},
        {"at": "-1m", "log": "stdout", "service": "backend", "revision": NEW, "labels": {"instanceId": "00cd34"},
         "line": '{"severity": "ERROR", "message": "slow query"}'},
    ])

    json_line, text_line = adapter.list_entries(PROJECT, WINDOW, 10).entries

    assert (text_line.text, text_line.instance) == ("Caused by: java.net.SocketTimeoutException: Read timed out", "00ab12")
    assert (json_line.text, json_line.instance) == ("slow query", "")


def test_audit_entry_becomes_a_record(adapter, logging_standin):
    seed(logging_standin, [], [{"at": "-8m", "service": "backend", "principal": "alice@example.com",
                                "kind": "traffic"}])

    start, end = adapter.list_entries(PROJECT, _audit("backend"), 10).entries[::-1]   # oldest first

    for record in (start, end):
        assert record.log_id == "cloudaudit.googleapis.com/activity"
        assert record.severity == "NOTICE"
        assert record.method_name == record.text == "google.cloud.run.v2.Services.UpdateService"
        assert record.resource_name == f"projects/{PROJECT}/locations/{REGION}/services/backend"
        assert record.resource_labels["service_name"] == "backend"
    assert start.principal == "alice@example.com" and start.operation_first and not start.operation_last
    assert end.principal is None and end.operation_last and end.status_code == 0
    assert start.operation_id == end.operation_id != ""
    assert start.operation_key == end.operation_key == ("run.googleapis.com", start.operation_id)   # its producer


def test_both_entries_of_an_operation_merge_into_one_change(adapter, logging_standin):
    seed(logging_standin, [], [{"at": "-8m", "service": "backend", "principal": "alice@example.com"},
                               {"at": "-3m", "service": "backend", "principal": "bob@example.com"}])

    merged = merge_operation_entries(adapter.list_entries(PROJECT, _audit("backend"), 10))

    assert [(r.principal, r.operation_first, r.operation_last, r.status_code) for r in merged.entries] == [
        ("bob@example.com", True, True, 0), ("alice@example.com", True, True, 0)]   # newest first, as read
    assert merged.entries[1].timestamp == T0 - timedelta(minutes=8)                   # when it was asked


def test_audit_filter_matches_the_service_exactly(adapter, logging_standin):
    """Not `backend-api` beside `backend`, nor a `backend` in another region."""
    seed(logging_standin, [], [{"at": "-8m", "service": "backend", "principal": "a@example.com"},
                               {"at": "-7m", "service": "backend-api", "principal": "b@example.com"},
                               {"at": "-6m", "service": "backend", "principal": "c@example.com",
                                "method": "google.cloud.run.v1.Services.ReplaceService"}])
    seed_logs(logging_standin, PROJECT, "europe-west1", [],
              [AuditLogSpec.model_validate({"at": "-5m", "service": "backend", "principal": "d@example.com"})], T0)

    found = merge_operation_entries(adapter.list_entries(PROJECT, _audit("backend"), 20)).entries

    assert sorted(r.principal for r in found) == ["a@example.com", "c@example.com"]


def _audit(service: str) -> str:
    return audit_filter(PROJECT, service, REGION, T0 - timedelta(hours=1), T0)


def test_one_call_newest_first_page_size_capped(adapter, logging_standin):
    seed(logging_standin, [{"at": {"from": "-50m", "to": "0"}, "count": 5, "log": "requests",
                            "service": "backend", "revision": NEW}])

    result = adapter.list_entries(PROJECT, WINDOW, 5000)

    [request] = logging_standin.requests("ListLogEntries")
    assert list(request.resource_names) == [f"projects/{PROJECT}"]
    assert request.order_by == "timestamp desc" and request.page_size == 1000 and request.filter == WINDOW
    stamps = [r.timestamp for r in result.entries]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 5 and not result.truncated


def test_max_entries_truncates_and_reads_no_further(adapter, logging_standin):
    seed(logging_standin, [{"at": {"from": "-50m", "to": "0", "every": "1m"}, "log": "requests",
                            "service": "backend", "revision": NEW, "status": 500}])

    result = adapter.list_entries(PROJECT, WINDOW, 7)

    assert len(result.entries) == 7 and result.truncated
    assert result.entries[0].timestamp == T0
    assert logging_standin.count("ListLogEntries") == 1
    assert logging_standin.requests("ListLogEntries")[0].page_size == 7


def test_exactly_max_entries_is_not_truncated(adapter, logging_standin):
    seed(logging_standin, [{"at": "-1m", "count": 3, "log": "stderr", "service": "backend", "revision": NEW,
                            "text": "boom"}])
    result = adapter.list_entries(PROJECT, WINDOW, 3)
    assert len(result.entries) == 3 and not result.truncated


def test_pages_are_followed_up_to_max_entries(adapter, logging_standin, monkeypatch):
    import shared.gcp.logging as module

    monkeypatch.setattr(module, "MAX_PAGE_SIZE", 4)    # pages of 4, to exercise paging cheaply
    seed(logging_standin, [{"at": {"from": "-50m", "to": "0", "every": "5m"}, "log": "requests",
                            "service": "backend", "revision": NEW}])

    result = adapter.list_entries(PROJECT, WINDOW, 9)

    assert len(result.entries) == 9 and result.truncated
    assert len({r.insert_id for r in result.entries}) == 9
    assert logging_standin.count("ListLogEntries") == 3


def test_unavailable_then_ok_is_retried(adapter, logging_standin):
    seed(logging_standin, [{"at": "-1m", "log": "requests", "service": "backend", "revision": NEW}])
    logging_standin.faults.fail_next(2, grpc.StatusCode.UNAVAILABLE, method="ListLogEntries")

    result = adapter.list_entries(PROJECT, WINDOW, 10)

    assert len(result.entries) == 1
    assert logging_standin.count("ListLogEntries") == 3


def test_unavailable_throughout_is_transient(adapter, logging_standin):
    logging_standin.faults.fail_next(5, grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(TransientError, match="ListLogEntries projects/demo-project"):
        adapter.list_entries(PROJECT, WINDOW, 10)
    assert logging_standin.count("ListLogEntries") == QUICK.attempts


def test_permission_denied_is_permanent_and_not_retried(adapter, logging_standin):
    logging_standin.faults.deny("ListLogEntries")
    with pytest.raises(PermanentError) as info:
        adapter.list_entries(PROJECT, WINDOW, 10)
    assert info.value.code == "PERMISSION_DENIED"
    assert logging_standin.count("ListLogEntries") == 1


def test_bad_filter_is_permanent_invalid_argument(adapter, logging_standin):
    with pytest.raises(PermanentError) as info:
        adapter.list_entries(PROJECT, 'trace="x"', 10)
    assert info.value.code == "INVALID_ARGUMENT" and "unsupported field 'trace'" in str(info.value)


def test_max_entries_must_be_positive(adapter):
    with pytest.raises(PermanentError, match="max_entries"):
        adapter.list_entries(PROJECT, WINDOW, 0)


def test_log_name_and_quote_helpers(logging_standin):
    assert log_name("p", "run.googleapis.com/varlog/system") == "projects/p/logs/run.googleapis.com%2Fvarlog%2Fsystem"
    assert log_name("p", "run.googleapis.com/requests") == log_name_for("p", "run.googleapis.com/requests")
    assert quote('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'


def test_quoted_value_round_trips_through_the_filter(adapter, logging_standin):
    text = 'path C:\\tmp said "no"'
    logging_standin.add_entry(EntrySeed(log_name_for(PROJECT, "x"), T0, text=text))
    [record] = adapter.list_entries(PROJECT, f"{WINDOW} AND textPayload={quote(text)}", 5).entries
    assert record.text == text


def test_operation_fields_filter_like_the_logging_query_language(adapter, logging_standin):
    seed(logging_standin, [], [{"at": "-8m", "service": "backend", "principal": "alice@example.com"}])
    [first] = adapter.list_entries(PROJECT, f"{_audit('backend')} AND operation.first=true", 10).entries
    [last] = adapter.list_entries(PROJECT, f"{_audit('backend')} AND operation.last=true", 10).entries
    assert first.principal == "alice@example.com" and last.operation_last
    assert adapter.list_entries(PROJECT, f'operation.id="{first.operation_id}" AND {WINDOW}', 10).entries


# A rate quota used up: RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMIT_EXCEEDED and QuotaFailure, and
# sometimes a RetryInfo (google/rpc/error_details.proto: "Clients should wait until `retry_delay`
# amount of time has passed since receiving the error response before retrying").
WAITS = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=1.0, total_timeout=5)


def test_a_quota_refusal_is_retried_after_the_delay_it_asks_for(logging_standin, monkeypatch):
    """Before, the retry came on the exponential backoff (10 ms, then 20 ms): every attempt fell inside
    the refused window and the read failed, each refusal one more call counted against the quota."""
    seed(logging_standin, [{"at": "-1m", "log": "requests", "service": "backend", "revision": NEW}])
    monkeypatch.setenv("LOGGING_EMULATOR_HOST", logging_standin.address)
    adapter = CloudLoggingAdapter(policy=WAITS)
    try:
        adapter.list_entries(PROJECT, WINDOW, 10)  # the channel connected, so the window below is the quota's
        logging_standin.reset_calls()
        logging_standin.faults.rate_limit(0.3, "ListLogEntries", service="logging.googleapis.com", retry_delay=0.5)
        result = adapter.list_entries(PROJECT, WINDOW, 10)
    finally:
        adapter.close()

    assert len(result.entries) == 1
    assert logging_standin.count("ListLogEntries") == 2


def test_a_quota_refusal_asking_for_longer_than_the_retries_wait_is_not_retried(logging_standin, monkeypatch):
    """A retry sooner than the delay is refused again and spends the quota: the read ends at once,
    transient (the alert is redelivered later), saying what the API asked."""
    monkeypatch.setenv("LOGGING_EMULATOR_HOST", logging_standin.address)
    adapter = CloudLoggingAdapter(policy=WAITS)
    logging_standin.faults.rate_limit(60, "ListLogEntries", service="logging.googleapis.com", retry_delay=30)
    try:
        with pytest.raises(TransientError, match=r"asks for no retry before 30s") as caught:
            adapter.list_entries(PROJECT, WINDOW, 10)
    finally:
        adapter.close()

    assert "Quota exceeded for quota metric 'logging.googleapis.com/read_requests'" in str(caught.value)
    assert logging_standin.count("ListLogEntries") == 1


def test_a_quota_refusal_without_a_retry_info_is_retried_on_the_backoff(adapter, logging_standin):
    logging_standin.faults.rate_limit(60, "ListLogEntries", service="logging.googleapis.com")
    with pytest.raises(TransientError, match="RESOURCE_EXHAUSTED|ResourceExhausted"):
        adapter.list_entries(PROJECT, WINDOW, 10)
    assert logging_standin.count("ListLogEntries") == QUICK.attempts


UPSTREAM = "POST https://inventory-7f3kq2-uc.a.run.app/reserve: 503 Server Error: Service Unavailable"


def test_the_failure_lines_read_takes_the_failures_alone_whatever_their_level(logging_standin, adapter):
    """log_signals.failure_lines_filter through the real client: of a service's stderr and stdout it takes the
    lines at ERROR or worse, a plain line (no level) holding a failure text, a JSON line whose logger wrote its
    own level `error` or 50, a plain line holding a needle of the lines the rules read (a downstream's 5xx);
    not the INFO and plain lines of its ordinary work, however many, nor its INFO access lines naming the
    `.run.app` URL it called (a needle's text, at INFO: `severity=DEFAULT OR severity>=WARNING`), nor a retry
    loop's INFO lines on either log naming a database needle (`dial tcp`, `i/o timeout`: the same rule), nor
    another service's failures; a WARNING line holding such a needle is taken. The page stays the caller's: more failures than `max_entries` come back truncated."""
    from shared.diagnosis.log_signals import failure_lines_filter

    def line(log: str, count: int, **fields) -> dict:
        return {"at": {"from": "-10m", "to": "-1m", "every": "1m"}, "log": log, "service": "backend",
                "revision": NEW, "count": count, **fields}
    refused = 'psycopg2.OperationalError: connection to server at "10.8.0.3", port 5432 failed: Connection refused'
    seed(logging_standin, [
        line("stderr", 50, text="INFO:orders:GET /api/orders 200 in 12 ms"),
        line("stderr", 50, severity="INFO", text="", json={"message": "cache refreshed"}),
        line("stdout", 50, text="GET /healthz 200"),
        line("stderr", 50, severity="INFO", text="INFO:orders:POST https://inventory-7f3kq2-uc.a.run.app/reserve 200"),
        line("stdout", 50, severity="INFO", text="", json={"message": "retrying: dial tcp 10.8.0.3:5432: i/o timeout"}),
        line("stderr", 50, severity="INFO", text="pool: dial tcp 10.8.0.3:5432: i/o timeout, retrying in 1s"),
        line("stdout", 1, severity="WARNING", text="", json={"message": "gave up: dial tcp 10.8.0.3:5432: i/o timeout"}),
        line("stderr", 1, text=UPSTREAM),
        line("stderr", 1, severity="ERROR", text="GET /api/orders failed: served cached fallback"),
        line("stderr", 1, text=refused),
        line("stdout", 1, text="", json={"level": "error", "msg": "payment call failed"}),
        line("stdout", 1, text="", json={"level": 50, "msg": "tax call failed"}),
        line("stderr", 1, severity="ERROR", text="other service's failure") | {"service": "frontend",
                                                                               "revision": "frontend-00001-aaa"},
    ])
    query = failure_lines_filter(PROJECT, "backend", REGION, T0 - timedelta(hours=1), T0)

    read = adapter.list_entries(PROJECT, query, 300)
    texts = {e.text for e in read.entries}

    assert not read.truncated and len(read.entries) == 6 * 9, texts
    assert texts == {"GET /api/orders failed: served cached fallback", refused, "payment call failed",
                     "tax call failed", UPSTREAM, "gave up: dial tcp 10.8.0.3:5432: i/o timeout"}
    assert adapter.list_entries(PROJECT, query, 20).truncated
