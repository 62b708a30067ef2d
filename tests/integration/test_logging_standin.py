"""The Logging stand-in through the real GAPIC client (google.cloud.logging_v2) over real gRPC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import grpc
import pytest
from google.api_core import exceptions
from google.cloud.logging_v2.types import LogEntry
from google.logging.type import log_severity_pb2

from sandbox.standins.logging import AuditSeed, EntrySeed, LoggingStandIn, log_name_for
from shared.gcp.endpoints import logging_client

PROJECT = "demo-project"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
REQUESTS = log_name_for(PROJECT, "run.googleapis.com/requests")
STDERR = log_name_for(PROJECT, "run.googleapis.com/stderr")
ACTIVITY = log_name_for(PROJECT, "cloudaudit.googleapis.com/activity")
BACKEND = {"project_id": PROJECT, "service_name": "backend", "revision_name": "backend-00002-xyz",
           "location": "us-central1", "configuration_name": "backend"}
FRONTEND = {**BACKEND, "service_name": "frontend", "revision_name": "frontend-00001-aaa",
            "configuration_name": "frontend"}


@pytest.fixture
def logging_standin() -> Iterator[LoggingStandIn]:
    standin = LoggingStandIn(clock=lambda: NOW)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def client(logging_standin: LoggingStandIn, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOGGING_EMULATOR_HOST", logging_standin.address)
    gapic = logging_client()
    yield gapic
    gapic.transport.close()


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def request_entry(minutes: float, status: int, *, resource: dict = BACKEND, latency: float = 0.1,
                  text: str | None = None, insert_id: str = "") -> EntrySeed:
    severity = "ERROR" if status >= 500 else "INFO"
    return EntrySeed(REQUESTS, at(minutes), "cloud_run_revision", resource, severity, text=text,
                     http_status=status, http_latency=timedelta(seconds=latency), insert_id=insert_id)


@pytest.fixture
def seeded(logging_standin: LoggingStandIn) -> LoggingStandIn:
    logging_standin.add_entries([
        request_entry(-5, 200, insert_id="ok-1"),
        request_entry(-4, 503, latency=30.2, insert_id="e503",
                      text="The request failed because either the HTTP response was malformed or connection "
                           "to the instance had an error."),
        request_entry(-3, 504, latency=300, insert_id="e504",
                      text="The request has been terminated because it has reached the maximum request timeout."),
        request_entry(-2, 200, resource=FRONTEND, insert_id="front-ok"),
        EntrySeed(STDERR, at(-3.5), "cloud_run_revision", BACKEND, "ERROR", insert_id="stderr-pool",
                  text="sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"),
        EntrySeed(log_name_for(PROJECT, "run.googleapis.com/stdout"), at(-1), "cloud_run_revision", BACKEND,
                  "WARNING", json={"message": "slow query", "db": {"ms": 1234, "table": "orders"}},
                  labels={"instanceId": "abc"}, insert_id="json-1"),
        EntrySeed(ACTIVITY, at(-8), "cloud_run_revision", {**BACKEND, "revision_name": ""}, "NOTICE",
                  audit=AuditSeed("google.cloud.run.v2.Services.UpdateService",
                                  f"projects/{PROJECT}/locations/us-central1/services/backend", "alice@example.com"),
                  insert_id="audit-v2"),
        EntrySeed(ACTIVITY, at(-30), "cloud_run_revision", {**BACKEND, "revision_name": ""}, "NOTICE",
                  audit=AuditSeed("google.cloud.run.v1.Services.ReplaceService",
                                  f"namespaces/{PROJECT}/services/backend", "bob@example.com"),
                  insert_id="audit-v1"),
        EntrySeed(ACTIVITY, at(-20), "cloud_run_revision", {**BACKEND, "revision_name": ""}, "NOTICE",
                  audit=AuditSeed("google.cloud.run.v2.Services.GetService",
                                  f"projects/{PROJECT}/locations/us-central1/services/backend", "carol@example.com"),
                  insert_id="audit-get"),
    ])
    return logging_standin


def listing(client, *, retry=None, **fields):
    """list_log_entries with any request field (the flattened call has no page_size / page_token)."""
    request = {"resource_names": [f"projects/{PROJECT}"], **fields}
    return client.list_log_entries(request=request, retry=retry)


def ids(client, filter: str, **fields) -> list[str]:
    fields.setdefault("order_by", "timestamp asc")
    return [e.insert_id for e in listing(client, filter=filter, **fields)]


def invalid_argument(client, filter: str) -> str:
    with pytest.raises(exceptions.InvalidArgument) as info:
        ids(client, filter)
    return info.value.message


# --- write, then list ------------------------------------------------------------------------------


def test_written_entries_come_back_with_server_fields(client, logging_standin):
    client.write_log_entries(
        log_name=log_name_for(PROJECT, "runwarden/timeline"), resource={"type": "global"}, labels={"incident": "0.x"},
        entries=[LogEntry(text_payload="diagnosed bad_revision", severity=log_severity_pb2.NOTICE,
                          timestamp=at(-1)),
                 LogEntry(json_payload={"message": "rollback applied", "to": "backend-00001-abc"},
                          labels={"incident": "0.y"})])

    entries = list(client.list_log_entries(resource_names=[f"projects/{PROJECT}"], filter=""))

    assert [e.log_name for e in entries] == [f"projects/{PROJECT}/logs/runwarden%2Ftimeline"] * 2
    first, second = entries
    assert first.text_payload == "diagnosed bad_revision"
    assert log_severity_pb2.LogSeverity.Name(first.severity) == "NOTICE"   # severity arrives as an int
    assert first.timestamp == at(-1)
    assert first.labels["incident"] == "0.x"           # request labels fill in
    assert second.labels["incident"] == "0.y"          # entry labels win
    assert second.json_payload["message"] == "rollback applied"
    assert second.timestamp == NOW                     # missing timestamp: the server's now
    assert first.insert_id and second.insert_id and first.insert_id != second.insert_id
    assert first.resource.type == "global"


def test_write_rejects_unencoded_log_name_and_missing_resource(client, logging_standin):
    with pytest.raises(exceptions.InvalidArgument, match="URL-encoded"):
        client.write_log_entries(log_name=f"projects/{PROJECT}/logs/run.googleapis.com/requests",
                                 resource={"type": "global"}, entries=[LogEntry(text_payload="x")])
    with pytest.raises(exceptions.InvalidArgument, match="resource is required"):
        client.write_log_entries(log_name=log_name_for(PROJECT, "x"), entries=[LogEntry(text_payload="x")])
    assert logging_standin.entries() == []


def test_audit_entry_round_trips_as_audit_log(client, seeded):
    from google.cloud.audit import audit_log_pb2

    [entry] = client.list_log_entries(resource_names=[f"projects/{PROJECT}"], filter='insertId="audit-v2"')
    audit = audit_log_pb2.AuditLog()
    assert entry.proto_payload.Unpack(audit)
    assert audit.method_name == "google.cloud.run.v2.Services.UpdateService"
    assert audit.authentication_info.principal_email == "alice@example.com"


# --- filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("filter", "expected"), [
    ("severity>=ERROR", ["e503", "stderr-pool", "e504"]),
    ("severity >= error", ["e503", "stderr-pool", "e504"]),     # names are case-insensitive
    ("severity=WARNING", ["json-1"]),
    ("severity<NOTICE", ["ok-1", "front-ok"]),
    (f'logName="{STDERR}"', ["stderr-pool"]),
    ('logName:"requests"', ["ok-1", "e503", "e504", "front-ok"]),
    ('resource.labels.service_name="frontend"', ["front-ok"]),
    ('resource.type="cloud_run_revision" resource.labels.revision_name=""',
     ["audit-v1", "audit-get", "audit-v2"]),
    ('timestamp>="2026-11-26T11:55:00Z" AND timestamp<"2026-11-26T11:58:00Z"', ["ok-1", "e503", "stderr-pool", "e504"]),
    ('timestamp>"2026-11-26T12:56:30+01:00"', ["e504", "front-ok", "json-1"]),   # zones compare as instants
    ("httpRequest.status>=500", ["e503", "e504"]),
    ("httpRequest.status=200", ["ok-1", "front-ok"]),
    ("httpRequest.latency>30s", ["e503", "e504"]),
    ("httpRequest.latency>=30.5s", ["e504"]),
    ('textPayload:"MAXIMUM REQUEST TIMEOUT"', ["e504"]),        # has: case-insensitive substring
    ("textPayload:QueuePool", ["stderr-pool"]),
    ('textPayload=~"HTTP response (was|is) malformed"', ["e503"]),
    ('textPayload=~"http response"', []),                        # regular expressions are case-sensitive
    ('protoPayload.methodName=~"Services\\.(ReplaceService|UpdateService)"', ["audit-v1", "audit-v2"]),
    ('protoPayload.methodName!~"Get"', ["audit-v1", "audit-v2"]),   # only entries that have the field
    ('protoPayload.serviceName="run.googleapis.com"', ["audit-v1", "audit-get", "audit-v2"]),
    ('protoPayload.resourceName:"namespaces/"', ["audit-v1"]),
    ('protoPayload.authenticationInfo.principalEmail="ALICE@example.com"', ["audit-v2"]),
    ('jsonPayload.message="slow query"', ["json-1"]),
    ("jsonPayload.db.ms>1000", ["json-1"]),
    ("jsonPayload.db.ms<1000", []),
    ("jsonPayload.db.table:ord", ["json-1"]),
    ("jsonPayload.db:*", ["json-1"]),
    ('labels.instanceId="abc"', ["json-1"]),
    ("labels.instanceId:*", ["json-1"]),
    ('insertId="e503"', ["e503"]),
    ('insertId!="e503" httpRequest.status>=500', ["e504"]),
    ("NOT httpRequest.status=200 AND logName:requests", ["e503", "e504"]),
    ("NOT textPayload:*", ["audit-v1", "audit-get", "audit-v2", "ok-1", "front-ok", "json-1"]),
    ('NOT (severity>=ERROR OR resource.labels.service_name="frontend") logName:requests', ["ok-1"]),
    ("(httpRequest.status=503 OR httpRequest.status=504)\nseverity=ERROR", ["e503", "e504"]),
    # log_id(): the log named by its id, decoded; any case of the function's name (Google's _Default
    # sink writes LOG_ID)
    ('log_id("run.googleapis.com/stderr")', ["stderr-pool"]),
    ('LOG_ID("cloudaudit.googleapis.com/activity") AND protoPayload.methodName:"UpdateService"', ["audit-v2"]),
    ('log_id("run.googleapis.com/requests") httpRequest.status>=500', ["e503", "e504"]),
    ('NOT log_id("run.googleapis.com/requests") AND severity>=ERROR', ["stderr-pool"]),
    ('log_id("run.googleapis.com%2Fstderr")', []),      # the id as written, not URL-encoded
    # comments: from `--` to the end of the line, wherever whitespace may stand, not inside strings
    ("-- 5xx only\nhttpRequest.status>=500", ["e503", "e504"]),
    ("httpRequest.status>=500 -- the platform's failures", ["e503", "e504"]),
    ("(httpRequest.status=503 -- the first\nOR httpRequest.status=504 -- the second\n)", ["e503", "e504"]),
    ('textPayload:"--"', []),
    ("-- nothing but a comment", ["audit-v1", "audit-get", "audit-v2", "ok-1", "e503", "stderr-pool", "e504",
                                  "front-ok", "json-1"]),
    # value lists: FIELD OP (v1 OR v2 ...)
    ("httpRequest.status=(503 OR 504)", ["e503", "e504"]),
    ('severity=(WARNING OR "ERROR") logName:stdout', ["json-1"]),
    ('textPayload:("malformed" AND "instance")', ["e503"]),
])
def test_filter(client, seeded, filter, expected):
    assert ids(client, filter) == expected


@pytest.mark.parametrize(("filter", "expected"), [
    # A key that is not an identifier, quoted ("@x": Serilog's compact JSON), tested for presence.
    ('jsonPayload."@x":*', ["clef"]),
    # A member of an object; a string at that key has no members.
    ("jsonPayload.err.message:*", ["pino-err"]),
    ('jsonPayload.err.message:"too many clients"', ["pino-err"]),
    # `=` compares a JSON number as a number, and a word without case, against each value of a list.
    ("jsonPayload.level=(40 OR 50 OR 60)", ["pino-err"]),
    ('jsonPayload.level=("warn" OR "error")', ["zap-err"]),
    ('jsonPayload."@l"=("Error" OR "Fatal")', ["clef"]),
    ('jsonPayload."@l"="error"', ["clef"]),
    # ECS's dotted keys, one key each (ecs-logging-java): asked for quoted. The stand-in reads an
    # unquoted dotted path as nested members only (whether Logging also finds such a key so is not
    # documented), so the product sends both clauses.
    ('jsonPayload."error.message":*', ["ecs"]),
    ('jsonPayload."error.stack_trace":*', ["ecs"]),
    ('jsonPayload."log.level"=("warn" OR "error")', ["ecs"]),
    ("jsonPayload.error.message:*", []),
])
def test_filter_on_error_objects_and_logger_levels(client, logging_standin, filter, expected):
    """What stdout_error_filter asks of the entries structured loggers write (docs/signatures.md,
    "How a line reaches the diagnosis")."""
    stdout = log_name_for(PROJECT, "run.googleapis.com/stdout")
    logging_standin.add_entries([
        EntrySeed(stdout, at(-3), resource_type="cloud_run_revision", resource_labels=BACKEND, insert_id="pino-err",
                  json={"level": 50, "msg": "request failed", "err": {"type": "Error",
                                                                      "message": "sorry, too many clients already"}}),
        EntrySeed(stdout, at(-2), resource_type="cloud_run_revision", resource_labels=BACKEND, insert_id="zap-err",
                  json={"level": "ERROR", "msg": "db connect", "err": "dial tcp 10.40.0.3:5432: i/o timeout"}),
        EntrySeed(stdout, at(-1), resource_type="cloud_run_revision", resource_labels=BACKEND, insert_id="clef",
                  json={"@mt": "Request {Path} failed", "@l": "Error", "@x": "Npgsql.NpgsqlException: x"}),
        EntrySeed(stdout, at(0), resource_type="cloud_run_revision", resource_labels=BACKEND, insert_id="info",
                  json={"level": 30, "msg": "request completed"}),
        EntrySeed(stdout, at(-4), resource_type="cloud_run_revision", resource_labels=BACKEND, insert_id="ecs",
                  json={"log.level": "ERROR", "message": "Request failed", "error.type": "java.sql.SQLException",
                        "error.message": "Too many connections", "error.stack_trace": "java.sql.SQLException: x"}),
    ])
    assert ids(client, filter) == expected


@pytest.mark.parametrize("filter, expected", [
    ('"TOO MANY CLIENTS"', ["plain", "own-key", "nested"]),            # any field, without case
    ('("too many clients" OR "i/o timeout")', ["plain", "own-key", "nested", "list"]),
    ('"many clients" AND "orders"', ["own-key"]),                     # each restriction on any field
    ('"backend-00002"', ["plain", "own-key", "nested", "list", "info"]),   # the entry's own fields too
    ('"30"', []),                                                     # strings only: a number's digits are not searched
    ('NOT "too many clients"', ["list", "info"]),
])
def test_a_quoted_value_alone_is_a_global_restriction(client, logging_standin, filter, expected):
    """"Logging uses the has (:) operator to determine if any field in a log entry, or if its payload,
    contains the global restriction" (Logging query language page, "Global restrictions"): a substring
    of any string field, letter case ignored, in any key of the payload at any depth."""
    stdout = log_name_for(PROJECT, "run.googleapis.com/stdout")
    entry = lambda minutes, key, **kw: EntrySeed(stdout, at(minutes), resource_type="cloud_run_revision",
                                                  resource_labels=BACKEND, insert_id=key, **kw)
    logging_standin.add_entries([
        entry(-5, "plain", text="FATAL: sorry, too many clients already"),
        entry(-4, "own-key", json={"level": "info", "msg": "query failed", "table": "orders",
                                   "dbError": "sorry, too many clients already"}),
        entry(-3, "nested", json={"level": 30, "msg": "retrying", "cause": {"detail": {"text": "too many clients"}}}),
        entry(-2, "list", json={"msg": "retrying", "attempts": ["dial tcp 10.0.0.3:5432: i/o timeout"]}),
        entry(-1, "info", json={"level": 30, "msg": "request completed", "responseTime": 30}),
    ])
    assert ids(client, filter) == expected


def test_or_binds_tighter_than_and(client, seeded):
    # Cloud Logging: a AND b OR c == a AND (b OR c), unlike SQL's (a AND b) OR c.
    filter = 'resource.labels.service_name="frontend" AND httpRequest.status=503 OR httpRequest.status=200'
    assert ids(client, filter) == ["front-ok"]
    sql_reading = ('(resource.labels.service_name="frontend" AND httpRequest.status=503) '
                   "OR httpRequest.status=200")
    assert ids(client, sql_reading) == ["ok-1", "front-ok"]


def test_not_binds_tightest(client, seeded):
    assert ids(client, "NOT severity>=ERROR OR insertId=e503 AND logName:requests") == ["ok-1", "e503", "front-ok"]


def test_without_timestamp_every_entry_and_24_hours_under_the_other_reading(client, logging_standin):
    """The server applies no default window (the 24 hours are the client libraries' default:
    sandbox/standins/logging.py); `default_window` plays the reading that it does."""
    logging_standin.add_entries([request_entry(-25 * 60, 500, insert_id="old"), request_entry(-23 * 60, 500,
                                                                                             insert_id="recent")])
    assert ids(client, "severity>=ERROR") == ["old", "recent"]
    logging_standin.default_window = timedelta(hours=24)
    assert ids(client, "severity>=ERROR") == ["recent"]
    assert ids(client, 'severity>=ERROR timestamp>="2026-11-24T00:00:00Z"') == ["old", "recent"]
    assert ids(client, 'NOT timestamp<"2000-01-01T00:00:00Z"') == ["old", "recent"]   # any mention lifts it


def test_only_the_named_project(client, logging_standin):
    logging_standin.add_entry(EntrySeed(log_name_for("other-project", "x"), at(-1), text="elsewhere"))
    logging_standin.add_entry(EntrySeed(log_name_for(PROJECT, "x"), at(-1), text="here"))
    assert [e.text_payload for e in client.list_log_entries(resource_names=[f"projects/{PROJECT}"])] == ["here"]


@pytest.mark.parametrize(("filter", "named"), [
    ('trace="projects/p/traces/1"', "unsupported field 'trace'"),
    ('resource.labels="x"', "unsupported field 'resource.labels'"),
    ("severity:ERROR", "operator ':' on severity"),
    ('httpRequest.status=~"5.."', "operator '=~' on httpRequest.status"),
    ('sample(insertId, 0.1)', "function sample(...)"),
    ("timeout", "bare term 'timeout' (an unquoted global search)"),
    ("severity>=ERROR and httpRequest.status=503", "bare term 'and'"),
    ('-severity=ERROR', "unary '-'"),
    ('resource.type=("a" OR ("b" OR "c"))', "nested list"),
    ('resource.type=("a" OR "b"', "missing ')' after the value list"),
    ('SEARCH("timeout")', "function SEARCH(...)"),
    ("log_id(run.googleapis.com/stderr)", "one quoted log id"),
    ('log_id("a", "b")', "missing ')'"),
    ("-- a comment ends at its line\nseverity>=ERROR OR", "found the end of the filter"),
    ('(textPayload:"x" -- a comment takes the closing parenthesis on its line)', "missing ')'"),
    ("severity>=LOUD", "invalid value 'LOUD' for severity"),
    ('timestamp>="yesterday"', "invalid value 'yesterday' for timestamp"),
    ('timestamp>="2026-11-26T11:00:00"', "with a zone"),
    ("httpRequest.latency>1m", "invalid value '1m' for httpRequest.latency"),
    ('textPayload=~"("', "invalid regular expression"),
    ("severity>=ERROR OR", "found the end of the filter"),
    ("(severity>=ERROR", "missing ')'"),
    ("severity>=ERROR)", "unexpected ')'"),
    ('textPayload="unterminated', "unterminated string"),
    ("severity=", "missing value after '='"),
])
def test_unsupported_or_malformed_filter_is_invalid_argument(client, seeded, filter, named):
    assert named in invalid_argument(client, filter)


def test_request_shape_is_checked(client, seeded):
    with pytest.raises(exceptions.InvalidArgument, match="resource_names is required"):
        list(client.list_log_entries(resource_names=[]))
    with pytest.raises(exceptions.InvalidArgument, match="organizations/1"):
        list(client.list_log_entries(resource_names=["organizations/1"]))
    with pytest.raises(exceptions.InvalidArgument, match="order_by"):
        list(client.list_log_entries(resource_names=[f"projects/{PROJECT}"], order_by="severity desc"))
    with pytest.raises(exceptions.InvalidArgument, match="page_size"):
        list(listing(client, page_size=1001))


# --- order and paging ------------------------------------------------------------------------------


def test_default_order_is_ascending_and_desc_reverses(client, seeded):
    ascending = [e.insert_id for e in client.list_log_entries(resource_names=[f"projects/{PROJECT}"])]
    descending = ids(client, "", order_by="timestamp desc")
    assert ascending[0] == "audit-v1" and ascending[-1] == "json-1"
    assert descending == list(reversed(ascending))


def test_paging_is_honest(client, logging_standin):
    logging_standin.add_entries([request_entry(-60 + i, 503) for i in range(7)])
    pager = listing(client, order_by="timestamp desc", page_size=3)
    pages = [[e.timestamp for e in page.entries] for page in pager.pages]

    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [t for page in pages for t in page]
    assert flat == sorted(flat, reverse=True) and len(set(flat)) == 7
    [*_, last] = logging_standin.requests("ListLogEntries")
    assert last.page_token and last.page_size == 3


def test_exact_page_has_no_token_and_default_page_is_50(client, logging_standin):
    logging_standin.add_entries([request_entry(-60 + i * 0.1, 200) for i in range(60)])
    first = next(iter(listing(client).pages))
    assert len(first.entries) == 50 and first.next_page_token
    exact = next(iter(listing(client, page_size=60).pages))
    assert len(exact.entries) == 60 and not exact.next_page_token


def test_entries_written_between_pages_do_not_shift_the_next_page(client, logging_standin):
    logging_standin.add_entries([request_entry(-10 + i, 500, insert_id=f"e{i}") for i in range(4)])
    pages = listing(client, order_by="timestamp desc", page_size=2).pages
    first = [e.insert_id for e in next(pages).entries]
    logging_standin.add_entry(request_entry(-0.5, 500, insert_id="newest"))
    second = [e.insert_id for e in next(pages).entries]
    assert first == ["e3", "e2"] and second == ["e1", "e0"]


def test_page_token_is_bound_to_its_query(client, seeded):
    first = next(iter(listing(client, page_size=2).pages))
    with pytest.raises(exceptions.InvalidArgument, match="another query"):
        list(listing(client, filter="severity>=ERROR", page_size=2, page_token=first.next_page_token))
    with pytest.raises(exceptions.InvalidArgument, match="not issued"):
        list(listing(client, page_token="o:2"))


# --- faults ----------------------------------------------------------------------------------------


def test_injected_faults(client, seeded):
    seeded.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="ListLogEntries")
    with pytest.raises(exceptions.ServiceUnavailable):
        ids(client, "")
    assert ids(client, 'insertId="e503"') == ["e503"]

    seeded.faults.deny("WriteLogEntries")
    with pytest.raises(exceptions.PermissionDenied):
        client.write_log_entries(log_name=log_name_for(PROJECT, "x"), resource={"type": "global"},
                                 entries=[LogEntry(text_payload="x")])
    assert ids(client, 'insertId="e503"') == ["e503"]   # only the denied method fails
    assert seeded.count("WriteLogEntries") == 1 and seeded.count("ListLogEntries") == 3


def test_seeding_validates_like_a_write(logging_standin):
    with pytest.raises(ValueError, match="URL-encoded"):
        logging_standin.add_entry(EntrySeed(f"projects/{PROJECT}/logs/a/b", NOW))
    with pytest.raises(ValueError, match="at most one of text, json, audit"):
        logging_standin.add_entry(EntrySeed(log_name_for(PROJECT, "x"), NOW, text="a", json={"b": 1}))
    with pytest.raises(ValueError, match="unknown severity"):
        logging_standin.add_entry(EntrySeed(log_name_for(PROJECT, "x"), NOW, severity="LOUD"))
