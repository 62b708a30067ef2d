"""Cloud Logging v2 stand-in: LoggingServiceV2 WriteLogEntries and ListLogEntries over real gRPC.

Entries are stored as LogEntry protos. ListLogEntries answers through a real parser for a
documented subset of the Logging query language (docs/scenarios.md, "Logging stand-in");
anything outside the subset is INVALID_ARGUMENT naming the part, never answered approximately.

A rule of the real API that surprises people, kept here on purpose: precedence is Cloud
Logging's, not SQL's: NOT binds tightest, then OR, then AND, so `a AND b OR c` means
`a AND (b OR c)` (Logging query language page).

Two behaviours the documentation leaves open, each a switch so that tests can run both readings:
- `search_budget`: ListLogEntriesResponse.next_page_token says the API may stop "before it has
  found anything" and hand back a token ("If a value for next_page_token appears and the entries
  field is empty, it means that the search found no log entries so far but it did not have time
  to search all the possible log entries", google/logging/v2/logging.proto; ListLogEntriesRequest.
  page_size: "The presence of next_page_token in the response indicates that more results might
  be available"). When and how often it does is not documented. With a budget, one call examines
  at most that many stored entries and answers with what it matched so far (possibly nothing) and
  a token to go on. None (the default): every call searches to the end.
- `default_window`: a filter without `timestamp` searches all retained entries by default. The
  24-hour default people know is added by the client libraries, not the server: python
  google-cloud-logging `_helpers._add_defaults_to_filter` ("By default, requests should only
  return logs in the last 24 hours", applied by Client/Logger.list_entries, not by the GAPIC
  LoggingServiceV2Client), googleapis/google-cloud-go #3120 and googleapis/java-logging #304
  ("previously if the user called listLogEntries API with no parameters, the query would try to
  retrieve all log entries"). `default_window=timedelta(hours=24)` plays the other reading.
- `page_overlap`: whether a paged answer ever returns an entry again on a later page. The API removes
  duplicates "in a single query result" (LogEntry.insert_id, google/logging/v2/log_entry.proto) and says
  nothing of pages; a search resumed from a token could start a little before where the page ended
  (UNCONFIRMED either way). With `page_overlap=N`, every page after the first begins with the last N
  entries of the page before (at most page_size - 1 of them, so that a read still moves on), as such a
  resumed search would. 0 (the default): no entry is answered twice. Not applied under `search_budget`.
- `route(source, into)`: entries of project `source` stored in a log bucket of project `into` too, as a
  sink whose destination is that bucket stores them (LogSink.destination
  "logging.googleapis.com/projects/[PROJECT_ID]/locations/[LOCATION_ID]/buckets/[BUCKET_ID]",
  google/logging/v2/logging_config.proto; a central logging project). They keep their own logName
  (projects/SOURCE/logs/...). Whether ListLogEntries with `resource_names` projects/INTO answers them (the
  project's buckets) or only the entries written in INTO (the project's own logs) is UNCONFIRMED: with a
  route, the stand-in answers them; without, it does not.

One documented failure, off by default: `read_quota`, ListLogEntries calls answered per minute
(of `clock`); beyond it a call is RESOURCE_EXHAUSTED, as the per-minute read quota answers (the
Cloud Logging quotas page counts entries.list requests per minute and project; its figure, 60, is
UNCONFIRMED as current, and the error's wording here is the usual quota error's, UNCONFIRMED for
Logging). Every call counts, a refused one and a retry included, as every request does against a
quota.
"""
from __future__ import annotations

import base64
import hashlib
import json
import operator
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from itertools import chain
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote, unquote

import grpc
from google.cloud.audit import audit_log_pb2
from google.cloud.logging_v2.types import (ListLogEntriesRequest, ListLogEntriesResponse, LogEntry,
                                           WriteLogEntriesRequest, WriteLogEntriesResponse)
from google.logging.type import log_severity_pb2
from google.protobuf import json_format

from sandbox.standins.base import ApiError, Rpc, StandIn, invalid
from sandbox.standins.faults import QuotaRefusal

LOGGING_SERVICE = "google.logging.v2.LoggingServiceV2"

_EntryPb = LogEntry.pb()
_ListResponsePb = ListLogEntriesResponse.pb()
_WriteResponsePb = WriteLogEntriesResponse.pb()
_Severity = log_severity_pb2.LogSeverity

_LOG_NAME = re.compile(r"^projects/(?P<project>[^/]+)/logs/(?P<log_id>[^/]+)$")
_LOG_ID_CHARS = re.compile(r"^[A-Za-z0-9/_.\-]+$")   # what the real API allows, once decoded
_PROJECT = re.compile(r"^projects/(?P<project>[^/]+)$")
_ORDERS = {"": False, "timestamp asc": False, "timestamp desc": True}   # value: newest first?
_DEFAULT_PAGE_SIZE = 50        # the real API's default
_MAX_PAGE_SIZE = 1000          # the real API rejects more
_MAX_FILTER_CHARS = 20_000


def log_name_for(project: str, log_id: str) -> str:
    """projects/P/logs/URL-ENCODED-LOG-ID, as the real API stores it ("/" becomes %2F)."""
    return f"projects/{project}/logs/{quote(log_id, safe='')}"


# --- seeds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditSeed:
    """protoPayload of type google.cloud.audit.AuditLog (Admin Activity audit log)."""

    method_name: str                      # e.g. google.cloud.run.v2.Services.UpdateService
    resource_name: str                    # e.g. projects/P/locations/L/services/S
    principal_email: str = ""
    # authenticationInfo.serviceAccountDelegationInfo: who acted through it, in order: a first-party principal's
    # email, or a federated identity's `principal://...` (the delegation's principal_subject, beside a
    # ThirdPartyPrincipal: google/cloud/audit/audit_log.proto).
    delegated_by: tuple[str, ...] = ()
    service_name: str = "run.googleapis.com"
    status_code: int | None = None        # AuditLog.status.code; set on an operation's last entry
    request: Mapping[str, Any] | None = None   # AuditLog.request (a Struct), as the service logged it


@dataclass(frozen=True)
class OperationSeed:
    """LogEntry.operation (LogEntryOperation): the long-running operation an entry belongs to.
    Audit logs of an LRO come in two entries, `first` and `last`, sharing `id` (Cloud Run audit logging)."""

    id: str
    producer: str = "run.googleapis.com"
    first: bool = False
    last: bool = False


@dataclass(frozen=True)
class EntrySeed:
    """A log entry in plain terms; at most one of text / json / audit is the payload."""

    log_name: str                         # full name, see log_name_for()
    timestamp: datetime                   # timezone-aware
    resource_type: str = "global"
    resource_labels: Mapping[str, str] = field(default_factory=dict)
    severity: str = "DEFAULT"             # a LogSeverity name
    text: str | None = None               # textPayload
    json: Mapping[str, Any] | None = None  # jsonPayload
    audit: AuditSeed | None = None        # protoPayload
    http_status: int | None = None        # httpRequest.status
    http_latency: timedelta | None = None  # httpRequest.latency
    http_user_agent: str | None = None    # httpRequest.userAgent
    http_protocol: str | None = None      # httpRequest.protocol ("HTTP/1.1", "HTTP/2")
    http_request_url: str | None = None   # httpRequest.requestUrl
    labels: Mapping[str, str] = field(default_factory=dict)
    insert_id: str = ""                   # assigned when empty
    operation: OperationSeed | None = None


def entry_from_seed(seed: EntrySeed) -> Any:
    """The LogEntry protobuf (raw, not proto-plus) a seed describes."""
    if sum(p is not None for p in (seed.text, seed.json, seed.audit)) > 1:
        raise ValueError(f"entry {seed.log_name} at {seed.timestamp}: give at most one of text, json, audit")
    if seed.timestamp.tzinfo is None:
        raise ValueError("EntrySeed.timestamp must be timezone-aware")
    entry = _EntryPb(log_name=seed.log_name, severity=_severity_value(seed.severity), insert_id=seed.insert_id,
                     labels=dict(seed.labels))
    entry.resource.type = seed.resource_type
    entry.resource.labels.update(dict(seed.resource_labels))
    entry.timestamp.FromDatetime(seed.timestamp.astimezone(timezone.utc))
    if seed.text is not None:
        entry.text_payload = seed.text
    elif seed.json is not None:
        entry.json_payload.update(dict(seed.json))
    elif seed.audit is not None:
        entry.proto_payload.Pack(_audit_log(seed.audit))
    if seed.operation is not None:
        entry.operation.id, entry.operation.producer = seed.operation.id, seed.operation.producer
        entry.operation.first, entry.operation.last = seed.operation.first, seed.operation.last
    if (seed.http_status is not None or seed.http_latency is not None or seed.http_user_agent or seed.http_protocol
            or seed.http_request_url):
        entry.http_request.status = seed.http_status or 0
        if seed.http_protocol:
            entry.http_request.protocol = seed.http_protocol
        if seed.http_request_url:
            entry.http_request.request_url = seed.http_request_url
        if seed.http_user_agent:
            entry.http_request.user_agent = seed.http_user_agent
        if seed.http_latency is not None:
            entry.http_request.latency.FromTimedelta(seed.http_latency)
    return entry


def _audit_log(seed: AuditSeed) -> Any:
    audit = audit_log_pb2.AuditLog(service_name=seed.service_name, method_name=seed.method_name,
                                   resource_name=seed.resource_name)
    if seed.principal_email:
        audit.authentication_info.principal_email = seed.principal_email
    for who in seed.delegated_by:
        delegation = audit.authentication_info.service_account_delegation_info.add()
        if who.startswith("principal://"):
            delegation.principal_subject = who
            delegation.third_party_principal.SetInParent()
        else:
            delegation.first_party_principal.principal_email = who
    if seed.status_code is not None:
        audit.status.code = seed.status_code
    if seed.request is not None:
        audit.request.update(dict(seed.request))
    return audit


def _severity_value(name: str) -> int:
    try:
        return _Severity.Value(name.upper())
    except ValueError:
        raise ValueError(f"unknown severity {name!r}; use one of {', '.join(_Severity.keys())}") from None


# --- stored entries, flattened for filtering -------------------------------------------------------

_MISSING = object()


@dataclass
class _Stored:
    """One entry plus the values the filter reads, extracted once at write time; the JSON payload's
    dict only when a filter first reads it (most entries a function writes are never filtered on
    their payload, and converting a Struct is most of a write's cost)."""

    entry: Any                             # LogEntry protobuf
    project: str
    timestamp: datetime
    values: dict[tuple[str, ...], Any]     # ("severity",) -> int, ("labels", "k") -> str, ...
    _json: Any = _MISSING                  # the payload as a dict once converted; None without one
    _folded: Any = _MISSING                # every string the entry holds, letter case folded, once asked

    @property
    def folded(self) -> str:
        """Every string field of the entry and every string in its payload, letter case folded, joined by
        NUL (which no quoted filter value holds, so no match spans two strings): what a global restriction
        searches, built once per entry however many restrictions a filter ORs (the log queries' some 400
        needles searched each field anew, folding it each time)."""
        if self._folded is _MISSING:
            fields = (v for v in self.values.values() if isinstance(v, str))
            self._folded = "\0".join(value.casefold() for value in chain(fields, _strings(self.json)))
        return self._folded

    @property
    def json(self) -> dict[str, Any] | None:
        if self._json is _MISSING:
            payload = self.entry.WhichOneof("payload") == "json_payload"
            self._json = json_format.MessageToDict(self.entry.json_payload) if payload else None
        return self._json

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return self.timestamp, self.entry.insert_id

    def read(self, path: tuple[str, ...]) -> Any:
        if path[0] == "jsonPayload":
            return _json_lookup(self.json, path[1:])
        return self.values.get(path, _MISSING)


def _json_lookup(payload: dict[str, Any] | None, keys: tuple[str, ...]) -> Any:
    node: Any = payload
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _flatten(entry: Any, project: str) -> _Stored:
    timestamp = entry.timestamp.ToDatetime(tzinfo=timezone.utc)
    values: dict[tuple[str, ...], Any] = {
        ("logName",): entry.log_name, ("resource", "type"): entry.resource.type,
        ("severity",): entry.severity, ("timestamp",): timestamp, ("insertId",): entry.insert_id,
    }
    values.update({("resource", "labels", k): v for k, v in entry.resource.labels.items()})
    values.update({("labels", k): v for k, v in entry.labels.items()})
    payload = entry.WhichOneof("payload")
    if payload == "text_payload":
        values[("textPayload",)] = entry.text_payload
    if entry.HasField("operation"):   # LogEntry.operation: booleans read as "true"/"false", as the language writes them
        values[("operation", "id")] = entry.operation.id
        values[("operation", "producer")] = entry.operation.producer
        values[("operation", "first")] = "true" if entry.operation.first else "false"
        values[("operation", "last")] = "true" if entry.operation.last else "false"
    if entry.HasField("http_request"):
        if entry.http_request.status:
            values[("httpRequest", "status")] = entry.http_request.status
        if entry.http_request.HasField("latency"):
            values[("httpRequest", "latency")] = entry.http_request.latency.ToTimedelta().total_seconds()
        if entry.http_request.user_agent:
            values[("httpRequest", "userAgent")] = entry.http_request.user_agent
    if payload == "proto_payload" and entry.proto_payload.Is(audit_log_pb2.AuditLog.DESCRIPTOR):
        audit = audit_log_pb2.AuditLog()
        entry.proto_payload.Unpack(audit)
        values.update(_audit_values(audit))
    return _Stored(entry, project, timestamp, values)


def _audit_values(audit: Any) -> dict[tuple[str, ...], str]:
    found = {("protoPayload", "methodName"): audit.method_name, ("protoPayload", "serviceName"): audit.service_name,
             ("protoPayload", "resourceName"): audit.resource_name,
             ("protoPayload", "authenticationInfo", "principalEmail"): audit.authentication_info.principal_email}
    return {path: value for path, value in found.items() if value}


# --- the query language subset ---------------------------------------------------------------------
#
# query      := and_expr
# and_expr   := or_expr { ["AND"] or_expr }        (juxtaposition and newlines are AND)
# or_expr    := unary { "OR" unary }
# unary      := "NOT" unary | "(" and_expr ")" | "log_id" "(" string ")" | string | comparison
# comparison := field op values
# values     := value | "(" value { ("OR" | "AND" | juxtaposition) value } ")"
#
# So OR binds tighter than AND, as in Cloud Logging. A comment runs from `--` to the end of its line
# (Logging query language page, "Comments"; troubleshoot-lql writes `insertId = "ABC-1" OR "ABC-2"
# -- ERROR!?`): wherever whitespace may stand, never inside a quoted string.

# Field kinds: how a field's values are parsed and compared.
_STRING, _SEVERITY, _TIMESTAMP = "string", "severity", "timestamp"
_NUMBER, _DURATION, _JSON = "number", "duration", "json"

_FIXED_FIELDS: dict[tuple[str, ...], str] = {
    ("logName",): _STRING, ("resource", "type"): _STRING, ("insertId",): _STRING, ("textPayload",): _STRING,
    ("severity",): _SEVERITY, ("timestamp",): _TIMESTAMP,
    ("httpRequest", "status"): _NUMBER, ("httpRequest", "latency"): _DURATION, ("httpRequest", "userAgent"): _STRING,
    ("protoPayload", "methodName"): _STRING, ("protoPayload", "serviceName"): _STRING,
    ("protoPayload", "resourceName"): _STRING, ("protoPayload", "authenticationInfo", "principalEmail"): _STRING,
    ("operation", "id"): _STRING, ("operation", "producer"): _STRING, ("operation", "first"): _STRING,
    ("operation", "last"): _STRING,
}
_MAP_FIELDS = {("resource", "labels"), ("labels",)}     # followed by exactly one key
_OPERATORS = ("=~", "!~", "!=", ">=", "<=", "=", ">", "<", ":")   # longest first
_KEYWORDS = {"AND", "OR", "NOT"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s$")
_ANY = object()            # the `*` of `field:*` (presence test)
_SEGMENT = re.compile(r"[A-Za-z_@][\w@\-/]*")
_BARE_VALUE = re.compile(r'[^\s()"]+')
# A parenthesized group kept when at least this long (`_Parser._group`), under its first this-many characters:
# shorter ones parse in less than a look-up costs. Bounded: the groups seen number a few dozen.
_KEPT_GROUP_CHARS = 256
_KEPT_GROUPS_MAX = 256
_KEPT_GROUPS: dict[str, tuple[tuple[str, Any], ...]] = {}
_PLAIN = re.compile(r'[^"\\]*')        # a quoted string's characters up to its next quote or backslash
_ESCAPES = {"n": "\n", "t": "\t"}


@dataclass(frozen=True)
class _Comparison:
    path: tuple[str, ...]
    kind: str
    op: str
    value: Any                          # parsed for the field's kind; _ANY for `:*`
    text: str                           # the value as written (string semantics)
    regex: re.Pattern[str] | None = None

    def matches(self, stored: _Stored) -> bool:
        actual = stored.read(self.path)
        # A comparison on a field the entry lacks is false, `!=` included; NOT of it is true.
        if actual is _MISSING:
            return False
        if self.value is _ANY:
            return True
        if isinstance(actual, (dict, list)):
            # Only a scalar compares, with every operator: what Logging does with a regex or a `:` on
            # a JSON object or list (its serialised form? any value inside it?) is UNCONFIRMED, and the
            # product never asks it; Python's repr of one would be no answer Logging gives.
            return False
        if self.regex is not None:
            return (self.regex.search(_as_text(actual)) is not None) == (self.op == "=~")
        if self.op == ":":
            return self.text.casefold() in _as_text(actual).casefold()
        if self.kind == _JSON:
            return _compare_json(actual, self.op, self.text)
        if self.kind == _STRING:   # the language is case-insensitive except for regular expressions
            return _COMPARE[self.op](actual.casefold(), self.value.casefold())
        return _COMPARE[self.op](actual, self.value)

    def mentions_timestamp(self) -> bool:
        return self.path == ("timestamp",)


@dataclass(frozen=True)
class _Not:
    inner: Any

    def matches(self, stored: _Stored) -> bool:
        return not self.inner.matches(stored)

    def mentions_timestamp(self) -> bool:
        return self.inner.mentions_timestamp()


@dataclass(frozen=True)
class _All:
    parts: tuple[Any, ...]

    def matches(self, stored: _Stored) -> bool:
        return all(p.matches(stored) for p in self.parts)

    def mentions_timestamp(self) -> bool:
        return any(p.mentions_timestamp() for p in self.parts)


@dataclass(frozen=True)
class _Any:
    parts: tuple[Any, ...]

    def matches(self, stored: _Stored) -> bool:
        return any(p.matches(stored) for p in self.parts)

    def mentions_timestamp(self) -> bool:
        return any(p.mentions_timestamp() for p in self.parts)


@dataclass(frozen=True)
class _Global:
    """A quoted value standing alone, a global restriction: "Logging uses the has (:) operator to
    determine if any field in a log entry, or if its payload, contains the global restriction"
    (Logging query language page, "Global restrictions"; "they are all substring searches", "Finding
    log entries quickly"). So a substring of any string field, letter case ignored as `:` ignores it:
    the entry's own string fields the stand-in keeps (logName, resource, labels, textPayload, ...) and
    every string in its jsonPayload, at any depth, list members included. How deep Logging reaches into
    a payload, and whether it searches a number's digits, are not documented (UNCONFIRMED): the
    stand-in reaches every depth and searches strings only, the has operator being "applicable to
    string and bytes". An unquoted bare word (also a global restriction to Logging) stays refused: the
    product always quotes, and a lower-case `and` read as a search term hides a mistake."""

    text: str

    def matches(self, stored: _Stored) -> bool:
        return self.text.casefold() in stored.folded

    def mentions_timestamp(self) -> bool:
        return False


def _strings(node: Any) -> Iterator[str]:
    """Every string in a JSON value, at any depth."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


@dataclass(frozen=True)
class _LogId:
    """`log_id("LOG_ID")`: the entries whose logName ends in that log id, decoded ("The log_id
    function returns log entries that match the given [LOG_ID] argument from the logName field",
    Logging query language page, "Functions"; Google's own _Default sink filter writes it
    `LOG_ID(...)`). Compared without case, as the language compares strings: UNCONFIRMED for
    log_id itself."""

    log_id: str

    def matches(self, stored: _Stored) -> bool:
        match = _LOG_NAME.match(stored.entry.log_name)
        return match is not None and unquote(match.group("log_id")).casefold() == self.log_id.casefold()

    def mentions_timestamp(self) -> bool:
        return False


_MATCH_ALL = _All(())


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))     # JSON numbers arrive as floats: 503.0 reads as "503"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _compare_json(actual: Any, op: str, text: str) -> bool:
    if isinstance(actual, (dict, list)) or actual is None:
        return False               # only scalars compare
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return _COMPARE[op](float(actual), float(text))
        except ValueError:
            pass
    return _COMPARE[op](_as_text(actual).casefold(), text.casefold())


class _Parser:
    """Recursive descent over the characters (values like timestamps contain ':').

    A long parenthesized group's tree is kept with its text (`kept`, `_KEPT_GROUPS` unless told): the
    service log query's ~10,000-character group of signals is the same in every request, and only the
    timestamps around it change with the window, so each new window's text was parsed whole again
    (`_parsed` keeps whole texts only). A group's tree is a function of the characters its parse read:
    they run from its '(' to its ')' and no further (every step looks at most at the ')' that ends
    it), and a group is kept only once it parsed without error. So wherever a text goes on with a kept
    group's characters, parsing them again would give that tree and end at the same place."""

    def __init__(self, text: str, kept: dict[str, Any] | None = None) -> None:
        self.text = text
        self.pos = 0
        self._kept = _KEPT_GROUPS if kept is None else kept

    def parse(self) -> Any:
        self._skip_space()
        if self.pos >= len(self.text):   # empty, or comments only
            return _MATCH_ALL
        node = self._and()
        self._skip_space()
        if self.pos < len(self.text):
            raise self._error(f"unexpected {self.text[self.pos]!r}")
        return node

    # --- structure ---

    def _and(self) -> Any:
        parts = [self._or()]
        while True:
            self._skip_space()
            if self.pos >= len(self.text) or self.text[self.pos] == ")":
                break
            self._keyword("AND")     # optional: juxtaposition is AND too
            parts.append(self._or())
        return parts[0] if len(parts) == 1 else _All(tuple(parts))

    def _or(self) -> Any:
        parts = [self._unary()]
        while self._keyword("OR"):
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else _Any(tuple(parts))

    def _unary(self) -> Any:
        self._skip_space()
        if self._keyword("NOT"):
            return _Not(self._unary())
        if self._peek("("):
            return self._group()
        if self.pos >= len(self.text):
            raise self._error("expected a comparison, found the end of the filter")
        for word in ("AND", "OR"):
            if self._at_keyword(word):
                raise self._error(f"{word} needs a comparison on each side")
        if self._peek("-"):
            raise self._error("unary '-' is not supported by the stand-in; write NOT")
        return self._comparison()

    def _group(self) -> Any:
        """`( ... )`: a kept group's tree when the text goes on with that group's characters, else the
        group parsed (and kept, when long)."""
        start = self.pos
        for text, node in self._kept.get(self.text[start:start + _KEPT_GROUP_CHARS], ()):
            if self.text.startswith(text, start):
                self.pos = start + len(text)
                return node
        self.pos += 1
        node = self._and()
        self._skip_space()
        if not self._peek(")"):
            raise self._error("missing ')'")
        self.pos += 1
        if self.pos - start >= _KEPT_GROUP_CHARS:
            self._keep(self.text[start:self.pos], node)
        return node

    def _keep(self, text: str, node: Any) -> None:
        """The group's tree kept under its first characters (a tuple replaced whole: readers on other
        threads see the old or the new one)."""
        if len(self._kept) >= _KEPT_GROUPS_MAX:
            self._kept.clear()
        prefix = text[:_KEPT_GROUP_CHARS]
        self._kept[prefix] = (*self._kept.get(prefix, ())[-3:], (text, node))

    def _comparison(self) -> Any:
        start = self.pos
        path = self._path()
        name = self.text[start:self.pos]
        if self._peek("("):
            if name.casefold() == "log_id":
                return self._log_id()
            raise self._error(f"function {name}(...) is not supported by the stand-in")
        self._skip_space()
        op = next((o for o in _OPERATORS if self.text.startswith(o, self.pos)), None)
        if op is None and self.text[start] == '"' and len(path) == 1:
            return _Global(path[0])
        if op is None:
            raise self._error(f"bare term {name!r} (an unquoted global search) is not supported by the stand-in; "
                              "quote it, or write FIELD OPERATOR VALUE (logical operators must be uppercase)")
        kind = _field_kind(path, name)
        self.pos += len(op)
        self._skip_space()
        if self._peek("("):
            return self._values(path, kind, op, name)
        quoted, text = self._value(op)
        return _comparison(path, kind, op, text, quoted, name)

    def _log_id(self) -> Any:
        self.pos += 1     # the opening parenthesis
        self._skip_space()
        if not self._peek('"'):
            raise self._error("log_id(...) takes one quoted log id, like log_id(\"run.googleapis.com/stderr\")")
        log_id = self._quoted()
        self._skip_space()
        if not self._peek(")"):
            raise self._error("log_id(...) takes one quoted log id; missing ')'")
        self.pos += 1
        return _LogId(log_id)

    def _values(self, path: tuple[str, ...], kind: str, op: str, name: str) -> Any:
        """`FIELD OP (v1 OR v2 ...)`: the comparison made with each value, joined as written
        ("resource.type = (\"k8s_cluster\" OR \"gce_instance\")", Logging query language page,
        Overview). OR binds tighter than AND here too; NOT and nested lists are not supported."""
        self.pos += 1     # the opening parenthesis
        ands: list[Any] = []
        while True:
            ors = [self._listed(path, kind, op, name)]
            while self._keyword("OR"):
                ors.append(self._listed(path, kind, op, name))
            ands.append(ors[0] if len(ors) == 1 else _Any(tuple(ors)))
            self._skip_space()
            if self._peek(")"):
                self.pos += 1
                return ands[0] if len(ands) == 1 else _All(tuple(ands))
            if self.pos >= len(self.text):
                raise self._error("missing ')' after the value list")
            self._keyword("AND")

    def _listed(self, path: tuple[str, ...], kind: str, op: str, name: str) -> Any:
        self._skip_space()
        if self._peek("(") or self._at_keyword("NOT"):
            raise self._error(f"a nested list or NOT inside the value list after {op!r} is not supported by the stand-in")
        quoted, text = self._value(op)
        return _comparison(path, kind, op, text, quoted, name)

    # --- lexical pieces ---

    def _path(self) -> tuple[str, ...]:
        segments = []
        while True:
            if self._peek('"'):
                segments.append(self._quoted())
            else:
                match = _SEGMENT.match(self.text, self.pos)
                if not match:
                    raise self._error("expected a field name")
                segments.append(match.group())
                self.pos = match.end()
            if not self._peek("."):
                return tuple(segments)
            self.pos += 1

    def _value(self, op: str) -> tuple[bool, str]:
        self._skip_space()
        if self._peek('"'):
            return True, self._quoted()
        match = _BARE_VALUE.match(self.text, self.pos)
        if not match or match.group() in _KEYWORDS:
            raise self._error(f"missing value after {op!r}")
        self.pos = match.end()
        return False, match.group()

    def _quoted(self) -> str:
        """The string from the opening quote at `pos` to its closing quote: `\\n` and `\\t` are a
        newline and a tab, a backslash before any other character stands for that character. The
        runs between quotes and backslashes are taken whole (`_PLAIN`): the service log query's
        strings run to thousands of characters, and a step per character was most of its parse."""
        text, end = self.text, len(self.text)
        self.pos += 1     # the opening quote
        out = []
        while self.pos < end:
            run = _PLAIN.match(text, self.pos).end()
            if run > self.pos:
                out.append(text[self.pos:run])
                self.pos = run
                continue
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if self.pos + 1 < end:   # a backslash with a character after it
                self.pos += 1
                char = _ESCAPES.get(text[self.pos], text[self.pos])
            out.append(char)
            self.pos += 1
        raise self._error("unterminated string")

    def _skip_space(self) -> None:
        """Whitespace and comments (`--` to the end of the line)."""
        while self.pos < len(self.text):
            if self.text[self.pos].isspace():
                self.pos += 1
            elif self.text.startswith("--", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end + 1
            else:
                return

    def _peek(self, char: str) -> bool:
        return self.text.startswith(char, self.pos)

    def _at_keyword(self, word: str) -> bool:
        end = self.pos + len(word)
        return self.text.startswith(word, self.pos) and (end == len(self.text) or not _word_char(self.text[end]))

    def _keyword(self, word: str) -> bool:
        self._skip_space()
        if self._at_keyword(word):
            self.pos += len(word)
            return True
        return False

    def _error(self, message: str) -> ApiError:
        # The filter around the position, not the whole of it: a status message travels in gRPC
        # metadata (grpc-message), and a client refuses metadata past its limit (8 KiB by default).
        near = self.text[max(0, self.pos - 60):self.pos + 60]
        return invalid(f"filter: {message} (at character {self.pos + 1} of {len(self.text)}, near {near!r})")


def _word_char(char: str) -> bool:
    return char.isalnum() or char in "_.@-/"


def _field_kind(path: tuple[str, ...], name: str) -> str:
    if path in _FIXED_FIELDS:
        return _FIXED_FIELDS[path]
    if len(path) == 3 and path[:2] in _MAP_FIELDS or len(path) == 2 and path[:1] in _MAP_FIELDS:
        return _STRING
    if path[0] == "jsonPayload" and len(path) > 1:
        return _JSON
    raise invalid(f"filter: unsupported field {name!r}; the stand-in supports logName, resource.type, "
                  "resource.labels.KEY, severity, timestamp, textPayload, jsonPayload.KEY[.KEY], httpRequest.status, "
                  "httpRequest.latency, httpRequest.userAgent, labels.KEY, insertId, protoPayload.methodName, protoPayload.serviceName, "
                  "protoPayload.resourceName, protoPayload.authenticationInfo.principalEmail, operation.id, "
                  "operation.producer, operation.first, operation.last")


def _comparison(path: tuple[str, ...], kind: str, op: str, text: str, quoted: bool, name: str) -> _Comparison:
    if op == ":" and text == "*" and not quoted:
        return _Comparison(path, kind, op, _ANY, text)
    if op in ("=~", "!~"):
        if kind not in (_STRING, _JSON):
            raise invalid(f"filter: operator {op!r} on {name} is not supported by the stand-in (string fields only)")
        try:
            return _Comparison(path, kind, op, text, text, re.compile(text))
        except re.error as exc:
            raise invalid(f"filter: invalid regular expression {text!r} for {name}: {exc}") from None
    if op == ":" and kind not in (_STRING, _JSON):
        raise invalid(f"filter: operator ':' on {name} is not supported by the stand-in (use = or a comparison)")
    return _Comparison(path, kind, op, _typed_value(kind, text, name), text)


def _typed_value(kind: str, text: str, name: str) -> Any:
    try:
        if kind == _SEVERITY:
            return int(text) if text.isdigit() else _Severity.Value(text.upper())
        if kind == _TIMESTAMP:
            return _parse_timestamp(text)
        if kind == _NUMBER:
            return float(text)
        if kind == _DURATION:
            match = _SECONDS.match(text)
            if not match:
                raise ValueError("expected seconds like 1s or 30.5s")
            return float(match.group(1))
    except ValueError as exc:
        raise invalid(f"filter: invalid value {text!r} for {name}: {exc}") from None
    return text


def _parse_timestamp(text: str) -> datetime:
    match = _RFC3339.match(text)
    if not match:
        raise ValueError("expected an RFC 3339 timestamp with a zone, like 2026-01-01T00:00:00Z")
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or ".0")[:7]          # Python keeps microseconds
    zone = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{day}T{clock}{fraction}{zone}")


def parse_filter(text: str) -> Any:
    """The filter's syntax tree (an object with `matches(stored)`), or ApiError INVALID_ARGUMENT."""
    if len(text) > _MAX_FILTER_CHARS:
        raise invalid(f"filter is longer than {_MAX_FILTER_CHARS} characters")
    return _parsed(text)


@lru_cache(maxsize=512)
def _parsed(text: str) -> Any:
    """`_Parser(text).parse()`, kept per filter text: the tree is a pure function of the text and never
    changes (frozen nodes, compiled patterns), so every request with the same filter, a page token's
    included, shares one. The service log query runs to some 10,000 characters and 130 comparisons; parsed
    per request it was about a tenth of a soak program's CPU. A refused filter is not kept (an exception
    leaves the cache as it was) and is refused again, with the same message, each time it is sent."""
    return _Parser(text).parse()


# --- paging ---------------------------------------------------------------------------------------


def _query_fingerprint(request: ListLogEntriesRequest) -> str:
    text = json.dumps([list(request.resource_names), request.filter, request.order_by])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _page_token(after: tuple[datetime, str], fingerprint: str) -> str:
    raw = json.dumps({"t": after[0].isoformat(), "i": after[1], "q": fingerprint})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_token(token: str, fingerprint: str) -> tuple[datetime, str]:
    """The sort key the previous page ended at. Keyset paging: entries written between pages
    neither repeat nor shift the next page."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = (datetime.fromisoformat(data["t"]), str(data["i"]))
        issued_for = data["q"]
    except (ValueError, KeyError, TypeError):
        raise invalid(f"page_token {token!r} was not issued by this server") from None
    if issued_for != fingerprint:
        raise invalid("page_token belongs to another query: resource_names, filter and order_by must be "
                      "identical to the previous call")
    return after


# --- the stand-in ----------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LoggingStandIn(StandIn):
    """In-memory log store answering WriteLogEntries and ListLogEntries."""

    # entries.list and entries.write references (Cloud Logging access control guide).
    permissions = {"ListLogEntries": "logging.logEntries.list", "WriteLogEntries": "logging.logEntries.create"}

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__()
        self.clock = clock            # "now" for missing timestamps (and default_window)
        # The documentation's open readings (module docstring): None = search every retained
        # entry, and to the end of the store on every call.
        self.default_window: timedelta | None = None
        self.search_budget: int | None = None
        self.page_overlap = 0                         # entries of a page answered again on the next (docstring)
        self._routed: dict[str, set[str]] = {}        # a project -> the projects whose entries it holds (route)
        self.read_quota: int | None = None            # ListLogEntries calls a minute (module docstring)
        # Whether read_quota's refusal carries a RetryInfo (until the minute ends): not documented
        # for Logging (UNCONFIRMED), so both readings are tested.
        self.read_quota_retry_info = False
        self._reads_by_minute: dict[datetime, int] = {}
        self._entries: list[_Stored] = []
        self._keys: set[tuple[str, datetime, str]] = set()   # (project, timestamp, insert_id) of each stored entry
        self._next_insert_id = 0
        # Matched-and-sorted results of recent queries, so that reading page N of a query does not
        # filter every stored entry again (the answers are the same; only the cost differs).
        # Keyed by the query and the store's generation, which every write or clear moves on.
        self._generation = 0
        self._matched: dict[tuple[str, datetime | None, int], list[_Stored]] = {}

    def rpcs(self) -> list[Rpc]:
        return [
            Rpc(LOGGING_SERVICE, "WriteLogEntries", self._write_log_entries, WriteLogEntriesRequest.deserialize,
                lambda message: message.SerializeToString()),
            Rpc(LOGGING_SERVICE, "ListLogEntries", self._list_log_entries, ListLogEntriesRequest.deserialize,
                lambda message: message.SerializeToString()),
        ]

    # --- seeding and inspection ---

    def add_entry(self, entry: EntrySeed | LogEntry | Any) -> str:
        """Stores one entry (a seed, a proto-plus LogEntry or a raw LogEntry protobuf), validated
        like a write; returns its insert_id. Raises ValueError on an invalid entry."""
        return self.add_entries([entry])[0]

    def add_entries(self, entries: Iterable[EntrySeed | LogEntry | Any]) -> list[str]:
        protos = [_raw_entry(e) for e in entries]
        with self.lock:
            try:
                prepared = [self._prepare(p, f"entries[{i}]", seeded=True) for i, p in enumerate(protos)]
            except ApiError as err:
                raise ValueError(err.message) from None
            return [self._store(p) for p in prepared]

    def entries(self, project: str | None = None) -> list[LogEntry]:
        """Stored entries (oldest first) as proto-plus LogEntry, optionally of one project."""
        with self.lock:
            stored = sorted((s for s in self._entries if project in (None, s.project)), key=lambda s: s.sort_key)
            return [LogEntry.wrap(_copy(s.entry)) for s in stored]

    def route(self, source: str, into: str) -> None:
        """Project `source`'s entries read under `into` too (module docstring)."""
        with self.lock:
            self._routed.setdefault(into, set()).add(source)
            self._generation += 1

    def clear(self) -> None:
        with self.lock:
            self._entries.clear()
            self._keys.clear()
            self._generation += 1

    # --- WriteLogEntries ---

    def _write_log_entries(self, request: WriteLogEntriesRequest) -> Any:
        raw = WriteLogEntriesRequest.pb(request)
        if not raw.entries:
            raise invalid("entries must not be empty")
        prepared, errors = [], []
        for i, entry in enumerate(raw.entries):
            try:
                prepared.append(self._prepare(_with_request_defaults(entry, raw), f"entries[{i}]"))
            except ApiError as err:
                errors.append(err.message)
        if errors and not raw.partial_success:
            raise invalid("; ".join(errors))
        if not raw.dry_run:
            for entry in prepared:
                self._store(entry)
        if errors:   # partial_success: the valid entries were written, the rest are reported
            raise invalid("some entries were not written: " + "; ".join(errors))
        return _WriteResponsePb()

    def _prepare(self, entry: Any, where: str, seeded: bool = False) -> Any:
        """A validated copy with the server-set fields filled in (timestamp, insert_id, receive time).
        `seeded`: an entry a test puts in as already received (add_entries) keeps the receive time it
        carries, if any; a write's is always the server's own ("Output only", LogEntry.receive_timestamp)."""
        entry = _copy(entry)
        match = _LOG_NAME.match(entry.log_name)
        if not match:
            raise invalid(f"{where}.log_name {entry.log_name!r} must be projects/PROJECT/logs/LOG_ID with "
                          "LOG_ID URL-encoded ('/' written %2F)")
        log_id = unquote(match["log_id"])
        if len(log_id) > 512 or not _LOG_ID_CHARS.match(log_id):
            raise invalid(f"{where}.log_name: log id {log_id!r} must be under 512 characters of A-Z a-z 0-9 / _ - .")
        if not entry.resource.type:
            raise invalid(f"{where}.resource is required (on the entry or the request)")
        if entry.WhichOneof("payload") == "proto_payload" and not entry.proto_payload.type_url:
            raise invalid(f"{where}.proto_payload has no type_url")
        now = self.clock()
        if not entry.HasField("timestamp"):
            entry.timestamp.FromDatetime(now)
        if not (seeded and entry.HasField("receive_timestamp")):
            entry.receive_timestamp.FromDatetime(now)
        return entry

    def _store(self, entry: Any) -> str:
        if not entry.insert_id:
            self._next_insert_id += 1
            entry.insert_id = f"standin{self._next_insert_id:012d}"
        project = _LOG_NAME.match(entry.log_name)["project"]
        stored = _flatten(entry, project)
        # "Logging considers other log entries in the same project, with the same timestamp, and
        # with the same insert_id to be duplicates which are removed in a single query result"
        # (LogEntry.insert_id, google/logging/v2/log_entry.proto): a write sent twice (a retry
        # after a lost answer) reads as one entry. Kept once, the first as written.
        key = (project, stored.timestamp, entry.insert_id)
        if key in self._keys:
            return entry.insert_id
        self._keys.add(key)
        self._entries.append(stored)
        self._generation += 1
        return entry.insert_id

    # --- ListLogEntries ---

    def _list_log_entries(self, request: ListLogEntriesRequest) -> Any:
        self._count_read()
        asked = _projects(request.resource_names)
        projects = asked.union(*(self._routed.get(project, set()) for project in asked))
        newest_first = _order(request.order_by)
        page_size = _page_size(request.page_size)
        query = parse_filter(request.filter)
        fingerprint = _query_fingerprint(request)
        since = None
        if self.default_window is not None and not query.mentions_timestamp():
            since = self.clock() - self.default_window
        after = _read_token(request.page_token, fingerprint) if request.page_token else None
        response = _ListResponsePb()
        if self.search_budget is not None:
            page, resume = self._search(projects, since, query, newest_first, after, page_size)
        else:
            matched = self._matching(fingerprint, since, lambda s: s.project in projects and (
                since is None or s.timestamp >= since) and query.matches(s), newest_first)
            again: list[_Stored] = []
            if after is not None:
                rest = _after(matched, after, newest_first)
                read = len(matched) - len(rest)
                again = matched[max(0, read - min(self.page_overlap, page_size - 1)):read]
                matched = rest
            page = again + matched[:page_size - len(again)]
            # A token only when more matching entries exist.
            resume = page[-1].sort_key if len(matched) > page_size - len(again) else None
        response.entries.extend(s.entry for s in page)
        if resume is not None:
            response.next_page_token = _page_token(resume, fingerprint)
        return response

    def _count_read(self) -> None:
        if self.read_quota is None:
            return
        minute = self.clock().replace(second=0, microsecond=0)
        used = self._reads_by_minute[minute] = self._reads_by_minute.get(minute, 0) + 1
        if used > self.read_quota:
            # With the details of a rate-quota refusal (QuotaRefusal: ErrorInfo RATE_LIMIT_EXCEEDED,
            # QuotaFailure) and, under `read_quota_retry_info`, a RetryInfo for the rest of the minute.
            left = (minute + timedelta(minutes=1) - self.clock()).total_seconds()
            quota = QuotaRefusal("logging.googleapis.com", "logging.googleapis.com/read_requests",
                                 "ReadRequestsPerMinutePerProject",
                                 left if self.read_quota_retry_info else None)
            raise ApiError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                           f"{quota.message} ({self.read_quota} a minute)", quota=quota)

    def _search(self, projects: set[str], since: datetime | None, query: Any, newest_first: bool,
                after: tuple[datetime, str] | None, page_size: int) -> tuple[list[_Stored], tuple[datetime, str] | None]:
        """One call's search under `search_budget`: the entries of the named projects are examined
        in the requested order from where the token left off, at most `search_budget` of them.
        Returns the matches (at most page_size, possibly none) and where the next call resumes:
        the last entry examined, or None when the search reached the end."""
        budget = max(1, self.search_budget or 0)
        scope = f"scope:{newest_first}:{','.join(sorted(projects))}"
        candidates = self._matching(scope, since, lambda s: s.project in projects and (
            since is None or s.timestamp >= since), newest_first)
        if after is not None:
            candidates = _after(candidates, after, newest_first)
        found: list[_Stored] = []
        examined = 0
        for stored in candidates:
            if examined == budget or len(found) == page_size:
                break
            examined += 1
            if query.matches(stored):
                found.append(stored)
        more = examined < len(candidates)
        return found, (candidates[examined - 1].sort_key if more and examined else None)

    def _matching(self, fingerprint: str, since: datetime | None, keep: Callable[[_Stored], bool],
                  newest_first: bool) -> list[_Stored]:
        with self.lock:
            key = (fingerprint, since, self._generation)
            if key not in self._matched:
                if len(self._matched) >= 8:
                    self._matched.pop(next(iter(self._matched)))
                found = [s for s in self._entries if keep(s)]
                found.sort(key=lambda s: s.sort_key, reverse=newest_first)
                self._matched[key] = found
            return self._matched[key]


def _after(entries: list[_Stored], after: tuple[datetime, str], newest_first: bool) -> list[_Stored]:
    """The entries past a page token's position, in the listing's order (keyset paging)."""
    return [s for s in entries if (s.sort_key < after if newest_first else s.sort_key > after)]


def _projects(resource_names: Sequence[str]) -> set[str]:
    if not resource_names:
        raise invalid("resource_names is required (projects/PROJECT)")
    if len(resource_names) > 100:
        raise invalid("at most 100 resource_names")
    projects = set()
    for name in resource_names:
        match = _PROJECT.match(name)
        if not match:
            raise invalid(f"resource_names: {name!r} is not supported by the stand-in; use projects/PROJECT")
        projects.add(match["project"])
    return projects


def _order(order_by: str) -> bool:
    if order_by not in _ORDERS:
        raise invalid(f"order_by {order_by!r} is not valid; use \"timestamp asc\" or \"timestamp desc\"")
    return _ORDERS[order_by]


def _page_size(page_size: int) -> int:
    if page_size < 0 or page_size > _MAX_PAGE_SIZE:
        raise invalid(f"page_size must be between 0 and {_MAX_PAGE_SIZE}, got {page_size}")
    return page_size or _DEFAULT_PAGE_SIZE


def _with_request_defaults(entry: Any, request: Any) -> Any:
    """The entry with the request-level log_name, resource and labels applied where it has none."""
    merged = _copy(entry)
    if not merged.log_name:
        merged.log_name = request.log_name
    if not merged.resource.type and request.HasField("resource"):
        merged.resource.CopyFrom(request.resource)
    for key, value in request.labels.items():
        if key not in merged.labels:
            merged.labels[key] = value
    return merged


def _raw_entry(entry: EntrySeed | LogEntry | Any) -> Any:
    if isinstance(entry, EntrySeed):
        return entry_from_seed(entry)
    if isinstance(entry, LogEntry):
        return LogEntry.pb(entry)
    if isinstance(entry, _EntryPb):
        return entry
    raise TypeError(f"expected EntrySeed or LogEntry, got {type(entry).__name__}")


def _copy(message: Any) -> Any:
    copied = type(message)()
    copied.CopyFrom(message)
    return copied
