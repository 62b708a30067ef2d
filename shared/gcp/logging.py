"""Cloud Logging v2 adapter: implements shared.ports.LoggingPort.

One ListLogEntries query, newest first, read page by page only until `max_entries`: the
caller's filter carries its own timestamp bounds, and the read is never unbounded. The read is
retried on transient faults from the page the fault cut, with the same page token (a fault on page
two asks page two again, the entries of page one kept), and its pages share the call's total
(`endpoints.PageCursor`), so a read ends within the call policy's total however many pages it follows.
Google libraries are imported on first use, to keep cold starts short.
"""
from __future__ import annotations

import functools
import itertools
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.errors import IncompleteReadError, PermanentError, TransientError
from shared.diagnosis.evidence import (GRPC_CODE_KEY, READ_KEYS, LogRecord, LogResult, decoded, payload_severity,
                                       payload_text)
from shared.diagnosis.log_signals import SQL_USER_WRITES, bytes_hold_a_needle, holds_a_needle, read_signals
from shared.gcp.endpoints import CallPolicy, PageCursor, call_with_retry, connect, logging_client
from shared.redaction import redacted
from shared.gcp.run_logs import log_id_of

MAX_PAGE_SIZE = 1000     # ListLogEntries rejects larger pages
# How many pages list_payloads follows a token through before it calls the search unfinished.
MAX_SEARCH_PAGES = 10
AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"


def quote(value: str) -> str:
    """`value` as a double-quoted filter string, backslashes and double quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _LoggingClient:
    """Holds one Logging client, built on first use under a lock (evidence reads run on several
    threads), and closes it."""

    def __init__(self, *, policy: CallPolicy = CallPolicy()) -> None:
        self._policy = policy
        self._client: Any = None
        self._wire: Any = None      # LoggingWire over the client's channel (shared/gcp/logging_wire.py)
        self._lock = threading.Lock()

    def _logging(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = logging_client()
            return self._client

    def _calls(self) -> Any:
        """ListLogEntries on plain protobuf, on this client's channel."""
        client = self._logging()
        with self._lock:
            if self._wire is None:
                from shared.gcp.logging_wire import LoggingWire

                self._wire = LoggingWire(client)
            return self._wire

    def warm(self) -> None:
        """Builds the client and its call and opens the connection now (no call is made);
        idempotent and thread-safe."""
        self._calls()
        connect(self._logging().transport)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.transport.close()
                self._client = self._wire = None


class CloudLoggingAdapter(_LoggingClient):
    """LoggingPort over Cloud Logging v2 (or its stand-in, via LOGGING_EMULATOR_HOST)."""

    # ListLogEntries; Admin Activity audit logs need nothing more, Data Access logs would need
    # logging.privateLogEntries.list (Cloud Logging access control guide; docs/deploy.md, "Each call
    # and the permission Google checks", cites the entries.list reference).
    iam_permissions = {"list_entries": ("logging.logEntries.list",), "list_payloads": ("logging.logEntries.list",)}

    def list_entries(self, project: str, filter: str, max_entries: int) -> LogResult:
        if max_entries < 1:
            raise PermanentError(f"max_entries must be at least 1, got {max_entries}", code="INVALID_ARGUMENT")
        cursor = PageCursor.for_call(self._policy)
        records: list[LogRecord] = []      # kept across attempts: a retry resumes at the cursor's page
        try:
            truncated = call_with_retry(lambda timeout: self._read(project, filter, max_entries, cursor, records),
                                        what=f"ListLogEntries projects/{project}", policy=self._policy,
                                        needs=self.iam_permissions["list_entries"])
        except TransientError as exc:
            if not cursor.cut_short(exc):
                raise
            raise unfinished_search(project, cursor, [r.timestamp for r in records]) from exc
        return LogResult(query=filter, entries=tuple(records), truncated=truncated)

    def list_payloads(self, project: str, filter: str, max_entries: int) -> list[tuple[datetime, dict[str, Any]]]:
        """(timestamp, jsonPayload as a dict) of the newest matching entries, at most `max_entries`;
        entries without a JSON payload are left out. For structured lines such as Runwarden's own
        timeline.

        Pages are read until `max_entries` entries have come or no token is left: a page may hold
        fewer entries than asked, even none, with a token to go on ("the search found no log
        entries so far but it did not have time to search all the possible log entries",
        ListLogEntriesResponse.next_page_token, google/logging/v2/logging.proto). So an empty
        first page is not "nothing matched". After MAX_SEARCH_PAGES pages with a token still
        given and fewer entries found, the search is reported unfinished (SEARCH_INCOMPLETE),
        never as a short answer. The pages share the call's total and a retry resumes at the page a fault
        cut (`endpoints.PageCursor`): a search still paging when the total runs out (`PageCursor.cut_short`)
        is an IncompleteReadError naming how far it got (`unfinished_search`), as list_entries' is. Before
        it was a transient DeadlineExceeded: redelivered or retried, the search began again at
        its first page with the same 30 s, and ran out again; live mode said "could not read the project"."""
        from google.protobuf.json_format import MessageToDict

        if not 1 <= max_entries <= MAX_PAGE_SIZE:
            raise PermanentError(f"max_entries must be 1..{MAX_PAGE_SIZE}, got {max_entries}", code="INVALID_ARGUMENT")

        # Kept across attempts: a retry resumes at the cursor's page, the same request asked again.
        cursor = PageCursor.for_call(self._policy)
        found: list[tuple[datetime, dict[str, Any]]] = []
        entries = 0

        def read(timeout: float) -> list[tuple[datetime, dict[str, Any]]]:
            nonlocal entries
            calls = self._calls()
            request = calls.Request(resource_names=[f"projects/{project}"], filter=filter,
                                    order_by="timestamp desc", page_size=max_entries)
            for page in calls.pages(request, cursor=cursor):
                pages = cursor.pages + 1
                for raw in itertools.islice(page.entries, max_entries - entries):
                    entries += 1
                    if raw.WhichOneof("payload") == "json_payload":
                        found.append((raw.timestamp.ToDatetime(tzinfo=timezone.utc), MessageToDict(raw.json_payload)))
                if entries >= max_entries or not page.next_page_token:
                    return found
                if pages >= MAX_SEARCH_PAGES:
                    raise PermanentError(
                        f"ListLogEntries projects/{project}: {entries} of up to {max_entries} entries after "
                        f"{pages} pages and the search has not finished (the API still gives a page token); "
                        "narrow the time range", code="SEARCH_INCOMPLETE")
            return found

        try:
            return call_with_retry(read, what=f"ListLogEntries projects/{project}", policy=self._policy,
                                   needs=self.iam_permissions["list_payloads"])
        except TransientError as exc:
            if not cursor.cut_short(exc):
                raise
            raise unfinished_search(project, cursor, [at for at, _ in found]) from exc

    def _read(self, project: str, filter: str, max_entries: int, cursor: PageCursor,
              records: list[LogRecord]) -> bool:
        """Reads on from `cursor` into `records` (both kept across the call's attempts); whether the read
        stopped with more entries possibly left (truncated)."""
        calls = self._calls()
        request = calls.Request(resource_names=[f"projects/{project}"], filter=filter, order_by="timestamp desc",
                                page_size=min(max_entries, MAX_PAGE_SIZE))
        # Plain protobuf pages (shared/gcp/logging_wire.py): the next is fetched only when the loop
        # asks for it, and a proto-plus wrapper per entry would cost more than its decoding.
        for page in calls.pages(request, cursor=cursor):
            for entry in page.entries:
                if len(records) == max_entries:
                    return True
                records.append(record_from_entry(entry))
            if len(records) == max_entries:
                # A token says more entries *may* exist (the real API can end on an empty page).
                return bool(page.next_page_token)
        return False


def unfinished_search(project: str, cursor: PageCursor, taken: list[datetime]) -> IncompleteReadError:
    """A search still paging when its read's deadline ran out (`PageCursor.cut_short`), named with how far it
    got: the pages and entries read, newest first, and back to which entry's time (`taken`: the times of the
    entries taken, newest first). The entries themselves are not handed on: the ones not read are older than the
    last one read (order_by "timestamp desc"), and may be the very lines a rule needs (a refusal, a deploy's
    audit entry, the incident's `received` line), so none of it stands for the whole."""
    back_to = (f"back to {taken[-1].astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S}Z" if taken
               else "none found yet")
    return IncompleteReadError(
        f"ListLogEntries projects/{project}: the search had not finished when the read's {cursor.deadline.seconds:g} s "
        f"ran out: {cursor.pages} page(s) read, {len(taken)} entries taken (newest first, {back_to}), and Logging "
        "still gave a next_page_token (\"If a value for next_page_token appears and the entries field is empty, it "
        "means that the search found no log entries so far but it did not have time to search all the possible log "
        "entries\": ListLogEntriesResponse.next_page_token, google/logging/v2/logging.proto); the answer is "
        "incomplete and not used as evidence")


# --- conversion ------------------------------------------------------------------------------------


_RECORD_FIELDS = set(LogRecord.model_fields)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def record_from_entry(entry: Any) -> LogRecord:
    """A LogRecord from a proto-plus (or raw protobuf) LogEntry.

    Read once per entry of every log read (1,000 in a large one), so each field is read once, the
    strings every entry repeats (log name, severity) are decoded once per distinct value, and the
    record is built without validating again what was typed here (`evidence.decoded`)."""
    raw = entry if isinstance(entry, _PROTOBUF_MESSAGE) else _unwrapped(entry)
    payload = raw.WhichOneof("payload")
    audit = _audit(raw) if payload == "proto_payload" else None
    known = _payload_keys(raw.json_payload.fields) if payload == "json_payload" else None
    http = raw.http_request if raw.HasField("http_request") else None
    status, latency = _http(http) if http is not None else (None, None)
    operation = raw.operation if raw.HasField("operation") else None
    stamp = raw.timestamp
    resource = raw.resource
    return decoded(LogRecord, {
        # Timestamp.ToDatetime(tzinfo=utc)'s value, without its cost: whole microseconds (nanos rounded
        # toward zero, as ToDatetime does) times a timedelta, exact integer arithmetic as the keyword
        # form timedelta(seconds=, microseconds=) is, at a fraction of its cost (evidence.at_micros).
        "timestamp": _EPOCH + _MICROSECOND * (stamp.seconds * 1_000_000 + _micros_of(stamp.nanos)),
        "log_id": _cached_log_id(raw.log_name),
        "severity": _severity_of(raw, known),
        "resource_type": resource.type,
        "resource_labels": _resource_labels(resource),
        "text": _text(raw, payload, known, audit),
        "http_status": status,
        "http_latency_seconds": latency,
        "user_agent": (http.user_agent or None) if http is not None else None,
        # HttpRequest.request_url (google/logging/type/http_request.proto): a request log line's path tells a
        # gRPC or gRPC-Web call (shared/diagnosis/grpc_calls.py); its protocol does not, and is not read.
        "request_url": (http.request_url or None) if http is not None else None,
        "method_name": (audit.method_name or None) if audit is not None else None,
        "resource_name": (audit.resource_name or None) if audit is not None else None,
        "principal": (audit.authentication_info.principal_email or None) if audit is not None else None,
        "principal_subject": (audit.authentication_info.principal_subject or None) if audit is not None else None,
        "delegates": _delegates(audit) if audit is not None else (),
        "insert_id": raw.insert_id,
        "operation_id": operation.id if operation is not None else "",
        "operation_producer": operation.producer if operation is not None else "",
        "operation_first": operation.first if operation is not None else False,
        "operation_last": operation.last if operation is not None else False,
        "operation_ended_at": None,   # a merged record's (merge_operation_entries)
        "status_code": (audit.status.code if audit.HasField("status") else None) if audit is not None else None,
        "traffic": _requested_split(audit) if audit is not None and audit.HasField("request") else None,
        "sql_user": _changed_user(audit) if audit is not None and audit.method_name in SQL_USER_WRITES else None,
        "sql_user_host": _changed_host(audit) if audit is not None and audit.method_name in SQL_USER_WRITES else None,
        # Only a plain line (textPayload) can be one line of a split stack trace: a JSON line is one
        # whole entry, so the label is read of text entries alone (split_lines.py).
        "instance": raw.labels.get("instanceId", "") if payload == "text_payload" else "",
        "grpc_code": _grpc_code(known) if known else "",
    }, _RECORD_FIELDS)


# google.protobuf's Message once an entry has come (the module is imported on first use): a raw entry
# is told by isinstance. Asking its class for proto-plus's `pb` instead cost about 1.5 us an entry: an
# attribute a upb message class lacks is looked for through its metaclass and an AttributeError.
_PROTOBUF_MESSAGE: tuple[type, ...] = ()


def _unwrapped(entry: Any) -> Any:
    """The raw protobuf of a proto-plus LogEntry (its class's `pb`), or `entry` itself."""
    global _PROTOBUF_MESSAGE
    from google.protobuf.message import Message

    _PROTOBUF_MESSAGE = (Message,)
    if isinstance(entry, Message):
        return entry
    return type(entry).pb(entry) if hasattr(type(entry), "pb") else entry


def _delegates(audit: Any) -> tuple[str, ...]:
    """Who acted through the service account an audit entry names: AuthenticationInfo.
    service_account_delegation_info ("Identity delegation history of an authenticated service account that
    makes the request", google/cloud/audit/audit_log.proto), each a FirstPartyPrincipal's principal_email, else
    the delegation's principal_subject ("A string representing the principal_subject associated with the identity
    ... such as third party principals", ServiceAccountDelegationInfo.principal_subject, same proto: a workload
    identity pool's `principal://iam.googleapis.com/...` impersonating the account), else what kind it was (a
    ThirdPartyPrincipal's claims are not kept), in their order."""
    return tuple((d.first_party_principal.principal_email if d.WhichOneof("Authority") == "first_party_principal"
                  else "") or d.principal_subject
                 or ("a first party principal" if d.WhichOneof("Authority") == "first_party_principal"
                     else "a third party principal")
                 for d in audit.authentication_info.service_account_delegation_info)


def _requested_split(audit: Any) -> tuple[tuple[str, int], ...] | None:
    """The split an audited Cloud Run write asked for (LogRecord.traffic), read off AuditLog.request, a Struct in
    proto3 JSON's names: v2's UpdateServiceRequest {service: {traffic: [{type, revision, percent}]}}
    (google/cloud/run/v2/service.proto, traffic_target.proto) or v1's ReplaceService {spec: {traffic:
    [{revisionName, latestRevision, percent}]}} (Knative serving's TrafficTarget, Cloud Run Admin API v1 reference);
    a request that names the service at its top is read too. None: no split in it."""
    request = audit.request.fields
    service = request["service"].struct_value.fields if "service" in request else request
    spec = service["spec"].struct_value.fields if "spec" in service else service
    if "traffic" not in spec:
        return None
    split = []
    for value in spec["traffic"].list_value.values:
        target = value.struct_value.fields
        revision = (target["revision"].string_value if "revision" in target
                    else target["revisionName"].string_value if "revisionName" in target else "")
        latest = (target["type"].string_value.endswith("LATEST") if "type" in target
                  else target["latestRevision"].bool_value if "latestRevision" in target else not revision)
        split.append(("" if latest else revision, int(target["percent"].number_value) if "percent" in target else 0))
    return tuple(split)


def _changed_user(audit: Any) -> str | None:
    """The database user a Cloud SQL users.update or users.delete entry changed (LogRecord.sql_user): its request's
    `name` (the query parameter "Name of the user in the instance", in both methods' REST reference), else its
    `body`'s or `user`'s `name` (the User resource the request body holds: Cloud SQL Admin API REST reference,
    users.update), else the end of a resourceName `projects/P/instances/I/users/NAME`; None when none names one. Which of these the entry carries is UNCONFIRMED
    (Cloud SQL docs, "Cloud SQL audit logging", show no users.update entry): each is read, none assumed."""
    named = _user_request_field(audit, "name")
    if named:
        return named
    resource = audit.resource_name or ""
    return (resource.rpartition("/users/")[2] or None) if "/users/" in resource else None


def _changed_host(audit: Any) -> str | None:
    """The host of the MySQL account a users.update or users.delete entry changed (LogRecord.sql_user_host): its
    request's `host` (the query parameter "Host of the user in the instance", users.delete and users.update; the
    User resource's `host`, "The host from which the user can connect. For insert operations, host defaults to an
    empty string. For update operations, host is specified as part of the request URL. The host name cannot be
    updated after insertion. For a MySQL instance, it's required; for a PostgreSQL or SQL Server instance, it's
    optional": Cloud SQL Admin API REST reference, users.delete, Resource: User), else its `body`'s or `user`'s
    `host`; None when none names one (a PostgreSQL role has no host). As for the name, which field Cloud SQL's
    entry carries is UNCONFIRMED: each is read, and a change naming no host is read as any host's."""
    return _user_request_field(audit, "host")


def _user_request_field(audit: Any, field: str) -> str | None:
    """A users.update or users.delete request's query parameter `field`, else its `body`'s or `user`'s (the User
    resource's), the first non-empty; None for none."""
    request = audit.request.fields if audit.HasField("request") else {}
    if field in request and request[field].string_value:
        return request[field].string_value
    for key in ("body", "user"):
        if key in request:
            inner = request[key].struct_value.fields
            if field in inner and inner[field].string_value:
                return inner[field].string_value
    return None


def merge_operation_entries(result: LogResult) -> LogResult:
    """One record per long-running operation. Cloud Run operations "usually generate two audit log
    entries: one when the operation starts and another when it ends" (Cloud Run audit logging,
    cloud.google.com/run/docs/audit-logging); LogEntry.operation {id, first, last} ties them
    (LogEntry reference). The merged record is the first entry (when, who, what was asked), with
    what only the last may hold: its status, when it was written (`operation_ended_at`: a deploy's operation
    ends when its revision is ready, which may be minutes after it was asked), and a principal or method the
    first lacked. Whether
    the last entry names the principal is UNCONFIRMED, so neither entry is trusted alone.
    An operation is its id with its producer (`LogRecord.operation_key`: "The combination of id and producer
    must be globally unique", LogEntryOperation.producer, google/logging/v2/log_entry.proto): the audit read
    holds Cloud Run's and VPC Access's operations, and by the id alone one producer's operation under
    another's id would be merged into it (as the timeline keys them: shared/timeline/classify.py).
    An entry without an operation id stays as it is. Order (newest first) is kept."""
    groups: dict[tuple[str, str], list[LogRecord]] = {}
    for record in result.entries:
        operation = record.operation_key
        if operation is not None:
            groups.setdefault(operation, []).append(record)
    merged: list[LogRecord] = []
    for record in result.entries:
        operation = record.operation_key
        if operation is None:
            merged.append(record)
            continue
        group = groups.pop(operation, None)
        if group is not None:
            merged.append(_merge(group))
    return result.model_copy(update={"entries": tuple(merged)})


def _merge(group: list[LogRecord]) -> LogRecord:
    ordered = sorted(group, key=lambda r: (not r.operation_first, r.timestamp))
    first, last = ordered[0], next((r for r in group if r.operation_last), ordered[-1])
    principal = next((r.principal for r in ordered if r.principal), None)
    subject = next((r.principal_subject for r in ordered if r.principal_subject), None)
    method = next((r.method_name for r in ordered if r.method_name), None)
    delegates = tuple(dict.fromkeys(d for r in ordered for d in r.delegates))
    traffic = next((r.traffic for r in ordered if r.traffic is not None), None)
    sql_user = next((r.sql_user for r in ordered if r.sql_user), None)
    sql_user_host = next((r.sql_user_host for r in ordered if r.sql_user_host), None)
    return first.model_copy(update={"traffic": traffic, "sql_user": sql_user, "sql_user_host": sql_user_host,
        "principal": principal, "principal_subject": subject, "method_name": method, "delegates": delegates, "operation_first": any(r.operation_first for r in group),
        "operation_last": any(r.operation_last for r in group),
        "operation_ended_at": last.timestamp if last.operation_last else None,
        "status_code": last.status_code if last.operation_last else first.status_code})


def _severity_name(value: int) -> str:
    from google.logging.type import log_severity_pb2

    try:
        return log_severity_pb2.LogSeverity.Name(value)
    except ValueError:   # a level between the named ones (the API allows any int)
        return str(value)


def _text(raw: Any, payload: str | None, known: dict[str, Any] | None, audit: Any) -> str:
    """The entry's text, its credentials redacted (shared/redaction.py): the diagnosis quotes log lines as
    evidence (a database error naming its DSN, `postgresql://app:password@host` in a stack trace), cut to
    160 characters, in summaries that reach the outcome and the timeline. Redacted here, whole, once: a
    quote cut inside a password would no longer hold the `@` that tells it is one. What the signatures
    read (the words, the host, the user) is kept, and so is a driver's message after a secret's name that holds one
    of the diagnosis's signals (`password: server refused TLS connection`: redaction's `reads`)."""
    if payload == "text_payload":
        return redacted(raw.text_payload, reads=read_signals)
    if known is not None:
        return redacted(payload_text(known.get, _own_strings(raw.json_payload, len(known))), reads=read_signals)
    return audit.method_name if audit is not None else ""


def _severity_of(raw: Any, known: dict[str, Any] | None) -> str:
    """The entry's severity; for a JSON line Logging left at DEFAULT (no `severity` key), the level
    its logger wrote in a key of its own, when that says one thing (evidence.payload_severity)."""
    if raw.severity == 0 and known is not None:
        own = payload_severity(known.get)
        if own is not None:
            return own
    return _cached_severity(raw.severity)


def _payload_keys(fields: Any) -> dict[str, Any]:
    """The keys of a JSON payload that payload_text and payload_severity read (evidence.PAYLOAD_KEYS), and
    its `grpc.code` (evidence.READ_KEYS), each value as _value gives it. The struct's keys are walked once,
    in C, by the set intersection: asking the map for each of the 19 keys read cost about a fifth more per entry."""
    return {key: _value(fields[key]) for key in READ_KEYS.intersection(fields)}


def _grpc_code(known: dict[str, Any]) -> str:
    """A JSON line's `grpc.code` when a string ("Unavailable", "OK"), else "" (evidence.GRPC_CODE_KEY)."""
    code = known.get(GRPC_CODE_KEY)
    return code if isinstance(code, str) else ""


def _own_strings(payload: Any, known: int) -> tuple[str, ...]:
    """The strings of a JSON payload's other top-level keys (not READ_KEYS) that hold a text the
    service log query asks for (log_signals.holds_a_needle), in key order: an application's own error
    key (`dbError`, `cause`), for which that query's global restriction returned the entry. Any other
    string (a path, a host name, a setting) is left out of the entry's text. `known`: how many of its
    keys are READ_KEYS; when all are, there is no other key to read.

    Most payloads hold no needle anywhere: their serialised bytes, searched once, say so (a string's
    UTF-8 bytes stand whole in a Struct's serialisation), and their keys are not walked one by one.
    That search is nearly all of this function's cost (about 20 thousand instructions for a 330-byte
    payload: docs/performance.md, "One log entry's decoding"); walking the keys after a hit costs
    about what finding the hit's own key in the bytes by its offset did (measured, not kept)."""
    fields = payload.fields
    if known == len(fields):
        return ()
    if not bytes_hold_a_needle(payload.SerializeToString()):
        return ()
    own = []
    for key in sorted(fields):
        if key not in READ_KEYS:
            value = fields[key]
            if value.WhichOneof("kind") == "string_value" and holds_a_needle(value.string_value):
                own.append(value.string_value)
    return tuple(own)


def _value(value: Any) -> Any:
    """A protobuf Value as payload_text reads it: a string or a number as Python's, an object as a
    `get` over its own fields (pino's `err` object), else None."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        return value.number_value
    return _scalars(value.struct_value.fields) if kind == "struct_value" else None


def _scalars(fields: Any) -> Any:
    """`get(key)` over a protobuf Struct's fields (_value of each). Most keys asked are absent: the
    map's own `in` answers those without building a Value."""
    def get(key: str) -> Any:
        return _value(fields[key]) if key in fields else None
    return get


# Entries of one service repeat a handful of monitored resources. Reading a protobuf map into a
# dict goes key by key through Python (about 3 us for Cloud Run's five labels); the resource's
# bytes name its labels exactly, so each distinct resource is read once and copied per entry.
_LABELS: dict[bytes, dict[str, str]] = {}
_MAX_LABELS = 1024


def _resource_labels(resource: Any) -> dict[str, str]:
    key = resource.SerializeToString()
    known = _LABELS.get(key)
    if known is None:
        if len(_LABELS) >= _MAX_LABELS:
            _LABELS.clear()
        known = _LABELS[key] = dict(resource.labels)
    return dict(known)   # each record its own dict, as before


def _micros_of(nanos: int) -> int:
    """Whole microseconds of `nanos`, rounded toward zero as google.protobuf's ToDatetime and ToTimedelta do."""
    return nanos // 1000 if nanos >= 0 else -(-nanos // 1000)


def _http(request: Any) -> tuple[int | None, float | None]:
    """(status or None, latency in seconds or None) of an entry's httpRequest."""
    latency = None
    if request.HasField("latency"):
        # Duration.ToTimedelta().total_seconds(), exactly: whole microseconds (nanos rounded toward
        # zero, as ToTimedelta does), divided once.
        duration = request.latency
        latency = (duration.seconds * 1_000_000 + _micros_of(duration.nanos)) / 1_000_000
    return (request.status or None), latency


def _audit(raw: Any) -> Any:
    """The AuditLog inside protoPayload, or None for any other payload type."""
    if raw.proto_payload.type_url != AUDIT_LOG_TYPE:
        return None
    from google.cloud.audit import audit_log_pb2

    audit = audit_log_pb2.AuditLog()
    raw.proto_payload.Unpack(audit)
    return audit


# --- the incident timeline's reads: one page per call ------------------------------------------------


class CloudLogPagesAdapter(_LoggingClient):
    """LogPagesPort over Cloud Logging v2 (or its stand-in, via LOGGING_EMULATOR_HOST).

    Each call is one ListLogEntries RPC, retried on its own on transient faults (a page token
    stays valid for a retry of the same request). The caller decides how many pages to read.
    """

    iam_permissions = {"read_page": ("logging.logEntries.list",)}

    def read_page(self, project: str, filter: str, *, page_size: int, page_token: str = "",
                  order_by: str = "timestamp asc") -> Any:
        from shared.timeline.entries import EntryPage

        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise PermanentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}",
                                 code="INVALID_ARGUMENT")
        entries, token = call_with_retry(lambda timeout: self._list(project, filter, page_size, page_token, order_by,
                                                                    timeout),
                                         what=f"ListLogEntries projects/{project}", policy=self._policy,
                                         needs=self.iam_permissions["read_page"])
        return EntryPage(entries=tuple(logged_entry(e) for e in entries), next_page_token=token)

    def _list(self, project: str, filter: str, page_size: int, page_token: str,
              order_by: str, timeout: float) -> tuple[list[Any], str]:
        from google.cloud.logging_v2.types import ListLogEntriesRequest, ListLogEntriesResponse

        request = ListLogEntriesRequest(resource_names=[f"projects/{project}"], filter=filter, order_by=order_by,
                                        page_size=page_size, page_token=page_token)
        pager = self._logging().list_log_entries(request=request, retry=None, timeout=timeout)
        # The pager has made exactly one RPC; the first item of its `pages` is that response (the
        # next RPC happens only when `pages` is advanced again, which the caller decides on). Its
        # raw protobuf spares a proto-plus wrapper per entry.
        response = ListLogEntriesResponse.pb(next(iter(pager.pages)))
        return list(response.entries), response.next_page_token


def logged_entry(raw: Any) -> Any:
    """A timeline LoggedEntry from a raw LogEntry protobuf."""
    from google.protobuf import json_format

    from shared.timeline.entries import LoggedEntry, OperationInfo

    payload = raw.WhichOneof("payload")
    json_payload = json_format.MessageToDict(raw.json_payload) if payload == "json_payload" else None
    audit = _audit(raw) if payload == "proto_payload" else None
    text = raw.text_payload if payload == "text_payload" else ""
    if json_payload is not None and isinstance(json_payload.get("message"), str):
        text = json_payload["message"]
    operation = None
    if raw.HasField("operation"):
        operation = OperationInfo(id=raw.operation.id, producer=raw.operation.producer, first=raw.operation.first,
                                  last=raw.operation.last)
    received = raw.receive_timestamp.ToDatetime(tzinfo=timezone.utc) if raw.HasField("receive_timestamp") else None
    # An entry with no `timestamp` is dated when Logging received it: Logging assigns the time it receives an
    # entry written without one ("If this field is omitted in a new log entry, then Logging assigns it the
    # current time", LogEntry.timestamp, google/logging/v2/log_entry.proto), so an answer should always carry
    # one (UNCONFIRMED); read as it was, the empty Timestamp dated it 1970-01-01.
    at = raw.timestamp.ToDatetime(tzinfo=timezone.utc) if raw.HasField("timestamp") or received is None else received
    # model_construct: every field is typed right here, from the protobuf; validating it again
    # would double the cost of a 20,000-entry read.
    return LoggedEntry.model_construct(
        insert_id=raw.insert_id, timestamp=at, receive_timestamp=received,
        log_id=_cached_log_id(raw.log_name), log_project=_cached_log_project(raw.log_name),
        severity=_cached_severity(raw.severity), resource_type=raw.resource.type,
        resource_labels=dict(raw.resource.labels), labels=dict(raw.labels), json_payload=json_payload, text=text,
        http_status=(raw.http_request.status or None) if raw.HasField("http_request") else None,
        audit=_audit_info(audit) if audit is not None else None, operation=operation)


@functools.lru_cache(maxsize=256)
def _cached_log_id(name: str) -> str:
    return log_id_of(name)


@functools.lru_cache(maxsize=256)
def _cached_log_project(name: str) -> str:
    """The project of a logName, `projects/P/logs/...` ("" for a folder's, an organization's or a billing
    account's: LogEntry.log_name, google/logging/v2/log_entry.proto)."""
    kind, _, rest = name.partition("/")
    return rest.partition("/")[0] if kind == "projects" else ""


@functools.lru_cache(maxsize=64)
def _cached_severity(value: int) -> str:
    return _severity_name(value)


def _audit_info(audit: Any) -> Any:
    from google.protobuf import json_format

    from shared.timeline.entries import AuditInfo

    return AuditInfo(service_name=audit.service_name, method_name=audit.method_name,
                     resource_name=audit.resource_name, principal=audit.authentication_info.principal_email,
                     request=json_format.MessageToDict(audit.request) if audit.HasField("request") else None,
                     status_code=audit.status.code, status_message=audit.status.message)
