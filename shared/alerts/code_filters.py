"""Which response codes a condition's filter can let through, read from the whole filter: its comparisons of a
response's code joined by AND, OR and NOT, each read as exactly as its form allows. Pure: no I/O.

Read by response_selection.py to tell an alert that cannot have counted a server failure (held) from one that may
have. The answer is an upper bound (`Codes.most`): every code 100-599 the filter may let through, so a hold is made
only where no reading of the filter lets a 5xx through.

Sources:
- Monitoring filters ("Monitoring filters", cloud.google.com/monitoring/api/v3/filters): a label compared with `=` to a
  quoted string or to a function of one, `one_of("a", "b")`, `starts_with("5")`, `monitoring.regex.full_match("5..")`
  (its examples); `ends_with` and `has_substring` read as their names say, `:` as "has" (UNCONFIRMED, as in
  label_filters.py, whose `LabelTest` reads each of them here); `!=` and `NOT` negate; `AND`, `OR` join.
  Their precedence is UNCONFIRMED (the page does not say which binds tighter): a filter mixing them unparenthesised is
  read both ways and the wider answer kept. `=~` and `!~` are not on that page: read as a regular expression matched
  whole and anywhere, and kept only where both readings agree (UNCONFIRMED either way). `<`, `<=`, `>`, `>=` compare a
  label's text (UNCONFIRMED whether as text or as a number): for a 3-character value (`"500"`, `"4xx"`), both orders
  agree on Cloud Run's codes and classes, so only such a value is read. Case: whether Monitoring folds it is
  UNCONFIRMED; read folded (`"5XX"` is the 5xx class), since the other reading selects no series at all, and an
  alert that fired selected one.
- Logging query language (a log-match condition's filter, "Logging query language", "Boolean operators" and
  "Comparisons"): `httpRequest.status` compared by `=`, `!=`, `<`, `<=`, `>`, `>=` (LogEntry.httpRequest.status, "The
  response code indicating the status of response", google/logging/type/http_request.proto); `NOT` and a unary `-`
  negate; `NOT` binds tightest, then `OR`, then `AND` (its example: `"a" OR NOT "b" AND NOT "c" OR "d"` is
  `("a" OR (NOT "b")) AND ((NOT "c") OR "d")`); terms side by side are joined by AND.
- Cloud Run's request metrics label a response's code (`response_code`, "200") and class (`response_code_class`,
  "2xx") ("Google Cloud metrics", run section).

A comparison of anything else (`resource.type`, `severity`, `log_id(...)`, a text search) says nothing of the code:
it lets any code through, negated or not (`OTHER`), so `status=404 OR severity>=ERROR` may let any code through (the
product cannot tell which codes the matched entries had). A comparison of the code in a form not read (`:` on a
status, a regular expression Python does not read as RE2 does, a function not documented) is `unread`: any code,
and response_selection.py holds a metric alert where only such a comparison could have let a server failure in.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

from shared.alerts.label_filters import LabelTest, closing_paren
from shared.alerts.query_grouping import is_mql, mql_short_table, uncommented_query

ALL = frozenset(range(100, 600))
_NONE: frozenset[int] = frozenset()
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_FUNCTIONS = ("one_of", "starts_with", "ends_with", "has_substring", "monitoring.regex.full_match")
_OPS = r"!=|=~|!~|==|>=|<=|=|:|>|<"
# A Monitoring filter's comparison of a response's code or class (the key quoted or not, `label` singular or plural).
_CODE_FIELD = re.compile(r'(?<![\w."])(?:metric\.(?:labels?\.)?)?"?(response_code(?:_class)?)"?(?![\w"])', re.IGNORECASE)
_AN_OPERATOR = re.compile(rf"\s*(?:{'!=|=~|!~|==|>=|<=|=|:|>|<'})")
_STATUS_FIELD = re.compile(r"(?<![\w.])httpRequest\.status(?![\w.])", re.IGNORECASE)
_COMPARED = re.compile(
    rf'\s*({_OPS})\s*(?:({_STRING})|((?:{"|".join(re.escape(f) for f in _FUNCTIONS)})\s*\((?:{_STRING}|[^()"\'])*\))'
    rf'|(\d+)(?![\w.]))', re.IGNORECASE)
_STRINGS = re.compile(_STRING)   # a quoted string, double or single: a function's argument, a query's literal
# Anything else a filter holds between its joining words and parentheses: a comparison whose value may be a string
# or a call, a string, or a word. A call's name is a word, its parentheses a group (`log_id("...")`, PromQL's
# `rate(selector[5m])`): what it holds is read, a selector's code matchers among it.
_OTHER = re.compile(
    rf'[^\s()"\',{{}}\[\]|;]+\s*(?:{_OPS})\s*(?:{_STRING}|[\w.]+\s*\((?:{_STRING}|[^()"\'])*\)|[^\s()"\',{{}}\[\]|;]+)'
    rf'|{_STRING}|[^\s()"\',{{}}\[\]|;]+')
# A query's punctuation between terms (PromQL's `{a="x",b="y"}` and `[5m]`, MQL's `|` stages and `{ A ; B }`):
# side by side, so AND; a Monitoring or Logging filter holds none outside its strings.
_SEPARATORS = ",{}[]|;"
_UNREAD_REST = re.compile(rf'\s*(?:{_OPS})?\s*(?:{_STRING}|[\w.]+\s*\((?:{_STRING}|[^()"\'])*\)|[^\s()"\']+)?')
_WORD = re.compile(r"(AND|OR|NOT)(?![\w.])")
_ORDERED = {">": str.__gt__, ">=": str.__ge__, "<": str.__lt__, "<=": str.__le__}


@dataclass(frozen=True)
class Codes:
    """What a filter (or a part of one) lets through: at least `least`, at most `most` of the codes 100-599, and the
    comparisons of the code it did not read (`unread`, as written)."""

    least: frozenset[int]
    most: frozenset[int]
    unread: tuple[str, ...] = field(default=())

    def __and__(self, other: Codes) -> Codes:
        return Codes(self.least & other.least, self.most & other.most, self.unread + other.unread)

    def __or__(self, other: Codes) -> Codes:
        return Codes(self.least | other.least, self.most | other.most, self.unread + other.unread)

    def __invert__(self) -> Codes:
        return Codes(ALL - self.most, ALL - self.least, self.unread)


OTHER = Codes(_NONE, ALL)


@dataclass(frozen=True)
class Selection:
    """A filter's reading: `codes` (None when it compares no code at all); `read_most`, the most it lets through were
    each comparison not read to let nothing through (what the comparisons read allow on their own); the words of each
    comparison of the code, as written."""

    codes: Codes | None
    read_most: frozenset[int] = ALL
    terms: tuple[str, ...] = ()


def metric_selection(text: str) -> Selection:
    """What a Monitoring filter's `response_code` and `response_code_class` comparisons let through."""
    return _selection(text, _CODE_FIELD, _metric_codes, ("OR", "AND"))


# How many comparisons of something else `exact_metric_codes` reads a filter's code selection across (each read as
# selecting every request and as none, every combination): a longer filter is not read exactly.
_OTHERS_READ = 8


def exact_metric_codes(text: str) -> frozenset[int] | None:
    """The codes a Monitoring filter's `response_code` / `response_code_class` comparisons select, where that is read
    exactly: empty when it compares none; None when it compares one in a form not read exactly (a regular expression,
    `:`, a function but `one_of`, an ordered comparison of a value not of 3 characters, a value of another form), when
    the two orders of AND and OR disagree, when it selects no code at all, or when a comparison of something else
    changes which codes it selects (`response_code_class="5xx" OR resource.labels.service_name="a"` counts every code
    of `a`). Each comparison of something else is read as selecting every request and as selecting none, in every
    combination (up to _OTHERS_READ of them): the codes are exact when every combination that selects anything
    selects the same codes (an AND, or an AND NOT, with the code's comparisons; an OR changes them). `=`, `!=`, `<`,
    `<=`, `>`, `>=`, `one_of` and NOT are read as `metric_selection` reads them (the module docstring's sources).
    The one reader of a filter's codes: health_bar.numerator_codes and response_selection.compared_codes ask it."""
    return metric_code_readings(text).exact


@dataclass(frozen=True)
class CodeReadings:
    """A Monitoring filter's code selection under each reading `exact_metric_codes` makes: `exact` (its answer) and
    `each`, every non-empty selection of codes some reading gives (each comparison of something else selecting every
    request or none, each order of AND and OR); `each` is empty where a comparison of the code is not read exactly."""

    exact: frozenset[int] | None
    each: frozenset[frozenset[int]] = frozenset()


@lru_cache(maxsize=256)
def metric_code_readings(text: str) -> CodeReadings:
    """`exact_metric_codes`'s readings of `text` (CodeReadings). Past _OTHERS_READ comparisons of something else, not
    exact, and only the two readings that take them all alike (every request, none) are in `each`."""
    if not _CODE_FIELD.search(text):
        return CodeReadings(frozenset())
    tokens, terms = _tokens(text, _CODE_FIELD, _metric_codes)
    if not terms:
        return CodeReadings(frozenset())
    if not all(_plainly_compared(term) for term in terms) or any(isinstance(t, Codes) and t.unread for t in tokens):
        return CodeReadings(None)
    others = [i for i, t in enumerate(tokens) if t is OTHER]
    exact = len(others) <= _OTHERS_READ
    alike = [(_exact(set(ALL)),) * len(others), (_exact(set()),) * len(others)]
    selected: set[frozenset[int]] = set()
    for chosen in product((_exact(set(ALL)), _exact(set())), repeat=len(others)) if exact else alike:
        fixed = list(tokens)
        for i, rest in zip(others, chosen):
            fixed[i] = rest
        readings = [_Parser(fixed, first).parse() for first in ("OR", "AND")]
        if any(r is None for r in readings):
            return CodeReadings(None)
        exact = exact and readings[0].most == readings[1].most
        selected.update(r.most for r in readings if r.most)
    return CodeReadings(next(iter(selected)) if exact and len(selected) == 1 else None, frozenset(selected))


def code_words(codes: frozenset[int]) -> list[str]:
    """Codes as Cloud Run's metrics label them: a whole class as its `response_code_class` ("5xx"), the rest as
    `response_code`s ("503")."""
    words: list[str] = []
    for first in range(100, 600, 100):
        whole = frozenset(range(first, first + 100))
        words += [f"{first // 100}xx"] if whole <= codes else [str(c) for c in sorted(codes & whole)]
    return words


def _plainly_compared(term: str) -> bool:
    """Whether one comparison of the code is of a form read exactly: `=`, `==`, `!=` or an ordered comparison with a
    value, or `=`/`!=` with `one_of(...)` (a regular expression, `:` and the other functions are left unread)."""
    named = _CODE_FIELD.match(term)
    compared = _COMPARED.match(term, named.end()) if named else None
    if compared is None:
        return False
    op, _, function, _ = compared.groups()
    if op in ("=~", "!~", ":"):
        return False
    return function is None or function.lower().startswith("one_of")


def log_selection(text: str) -> Selection:
    """What a Logging filter's `httpRequest.status` comparisons let through (NOT, then OR, then AND)."""
    return _selection(text, _STATUS_FIELD, _status_codes, ("OR",))


def audited_only(text: str) -> tuple[str, ...]:
    """The terms by which a Logging filter selects records of changes, when every entry it may let through is one (a
    log-match condition on the Admin Activity or System Event audit log, or on the method of a write: a deploy, an IAM
    change, a revision's readiness, not a line about the service's requests); () otherwise.

    Read with the parser that reads `httpRequest.status` (NOT, then OR, then AND), over kinds of entry (`_CHANGE`,
    `_READ`, `_DENIED`, every other entry): a term naming a kind lets at most those through; a comparison of anything
    else, or a negated one, any entry. So `protoPayload.methodName="...ReplaceService" OR severity>=ERROR` may let the
    service's own errors through: (). Not a change, so (): an entry of the Data Access log (reads of configuration or
    data) or of the Policy Denied log (VPC Service Controls' denials, a failure of the caller), an entry selected by
    its call's error status (`protoPayload.status.code=7`: a failed call changed nothing) or by a severity of ERROR or
    above, or by a field every audit log has (`principalEmail`, the AuditLog's `@type`) with no log of changes named.
    `log_id("X")` is read as `logName:"X"` ("Logging query language", "Functions": log_id matches the log named
    `projects/P/logs/X` URL-encoded, the same log a logName comparison names)."""
    written = {f"logName:{m.group(1)}": m.group(0) for m in _LOG_ID.finditer(text)}
    read = _BARE.sub(_quoted, _LOG_ID.sub(lambda m: f"logName:{m.group(1)}", text))
    selection = _selection(read, _AUDIT_FIELD, _audit_entries, ("OR",))
    if selection.codes is None or _CHANGE - selection.codes.most or not selection.codes.most <= _CHANGE:
        return ()
    # A term on a failure held here is negated (`NOT severity>=ERROR`): it names no change, so it is not said.
    return tuple(written.get(term, term) for term in selection.terms if not _FAILURE_TERM.match(term))


# Audit log entries, read apart from every other entry: `protoPayload` holds "type.googleapis.com/google.cloud.audit.
# AuditLog" or App Engine's RequestLog ("The following protocol buffer types are supported", LogEntry.proto_payload,
# google/logging/v2/log_entry.proto). The fields only an AuditLog has (google/cloud/audit/audit_log.proto: method_name,
# service_name, resource_name, authentication_info, authorization_info, request_metadata, request, response, metadata,
# policy_violation_info, resource_location, resource_original_state, num_response_items, and its `status`, a
# google.rpc.Status, read by a field of it: RequestLog's status is a number) name an audit entry.
# Of which log ("Cloud Audit Logs overview", "Types of audit logs"; "Understand audit logs": the logName "contains the
# resource ID and audit log type"): `cloudaudit.googleapis.com/activity`, Admin Activity, "API calls or other actions
# that modify the configuration or metadata of resources"; `/system_event`, System Event, Google Cloud's own actions
# that modify the configuration of resources, not driven by a user (Cloud Run's audit logging page lists no System
# Event operation; Cloud Run writes one when a revision's Ready condition changes, "Ready condition status changed to
# False for Revision R with message: ...", as public logs print it, diagnosis/narrative.py; an instance's crash or its
# memory limit exceeded is written to the service's own logs, not there, UNCONFIRMED beyond those pages). Such an
# entry selected by its error (`severity=ERROR`, `protoPayload.status.message:...`) is a failed rollout: not held;
# `/data_access`, Data Access, calls that read configuration or metadata (ADMIN_READ) or read or write user-provided
# data (DATA_READ, DATA_WRITE: Cloud Run's Jobs.RunJob); `/policy`, Policy Denied, a call refused because it violated
# a security policy (VPC Service Controls): a failure of the caller. Only the first two record changes (`_CHANGE`).
# A method's log follows its permission's type (Cloud Run audit logging, "Methods by permission type": ADMIN_WRITE
# methods write Admin Activity entries; ADMIN_READ, DATA_READ, DATA_WRITE ones Data Access entries): a method named
# by a verb of reading (Services.GetService, ListServices, GetIamPolicy, Jobs.RunJob) is `_READ`, by a verb of writing
# (ReplaceService, UpdateService, SetIamPolicy, DeleteRevision) `_CHANGE`, by neither (or both) either. A write refused
# by VPC Service Controls is also logged under its method in the Policy Denied log: a refused deploy of the service,
# not its requests failing, so read with the changes.
# A call's error status (AuditLog.status, "The status of the overall operation", google.rpc.Status) names a failed
# call, whichever log holds it; severity: an audit entry's severity for a failed call is UNCONFIRMED (no page read says
# it), so a severity that may be ERROR or above is read as possibly selecting failed calls, and either way not as a
# change (LogSeverity, google/logging/type/log_severity.proto: ERROR is 500).
# The parser's lattice of codes is reused: one value per kind of audit entry, every other value any other entry.
_CHANGE = frozenset({100})
_READ = frozenset({101})
_DENIED = frozenset({102})
_ANY_AUDIT = _CHANGE | _READ | _DENIED
_LOG_ID = re.compile(rf"\blog_id\s*\(\s*({_STRING})\s*\)", re.IGNORECASE)
# Outside a string: a severity compared to a bare name (`severity>=ERROR`), and `field:*` ("has a value", "Logging query
# language"), each read as a comparison to a string.
_BARE = re.compile(rf'({_STRING})|(?<![\w."@])severity\s*(>=|<=|!=|=|:|>|<)\s*([A-Za-z]+)\b|:\s*\*(?![\w"*])',
                   re.IGNORECASE)
_AUDIT_FIELD = re.compile(
    r'(?<![\w."@])(logName|severity|protoPayload\.(?:"?@type"?|methodName|serviceName|resourceName|'
    r'authenticationInfo|authorizationInfo|requestMetadata|request|response|metadata|policyViolationInfo|'
    r'resourceLocation|resourceOriginalState|numResponseItems|status\.[\w.]+)(?:\.[\w@]+)*)(?![\w"@])', re.IGNORECASE)
_FAILURE_TERM = re.compile(r"severity|protoPayload\.(?:status\.|policyViolationInfo)", re.IGNORECASE)
_AUDIT_LOG = re.compile(r"cloudaudit\.googleapis\.com", re.IGNORECASE)
_AUDIT_LOGS = {"activity": _CHANGE, "system_event": _CHANGE, "data_access": _READ, "policy": _DENIED}
_AUDIT_LOG_TYPE = re.compile(r"(?:%2F|[/(|])(activity|system_event|data_access|policy)(?![a-z_])", re.IGNORECASE)
_AUDIT_TYPE = re.compile(r"google\.cloud\.audit\.AuditLog", re.IGNORECASE)
_READ_VERB = re.compile(r"(?:^|[^A-Za-z0-9])(?:Get|List|AggregatedList|Search|Lookup|Read|Query|Watch|Test|RunJob)"
                        r"(?!(?-i:[a-z]))", re.IGNORECASE)
_WRITE_VERB = re.compile(r"(?:^|[^A-Za-z0-9])(?:Create|Replace|Update|Delete|Set|Patch|Insert|Remove|Add|Undelete|"
                         r"Cancel|Move|Enable|Disable|Deploy|Rollback|Migrate)(?!(?-i:[a-z]))", re.IGNORECASE)
_LEVELS = {"DEFAULT": 0, "DEBUG": 100, "INFO": 200, "NOTICE": 300, "WARNING": 400, "ERROR": 500, "CRITICAL": 600,
           "ALERT": 700, "EMERGENCY": 800}
_COMPARE = {"=": int.__eq__, ":": int.__eq__, "==": int.__eq__, "!=": int.__ne__, ">": int.__gt__, ">=": int.__ge__,
            "<": int.__lt__, "<=": int.__le__}


def _quoted(found: re.Match[str]) -> str:
    if found.group(1):
        return found.group(1)
    return f'severity{found.group(2)}"{found.group(3)}"' if found.group(2) else ':"*"'


def _audit_entries(label: str, compared: re.Match[str]) -> Codes:
    """One comparison of a log's name, a severity or an audit entry's field: the kinds of entry it may let through (a
    negated comparison, or a value of another form, any entry)."""
    op, string, _, number = compared.groups()
    value = number if string is None else (string or "")[1:-1]
    field_name = label.lower()
    if field_name == "severity" or field_name.startswith(("protopayload.status.", "protopayload.policyviolationinfo")):
        return _failures(field_name, op, value)
    if op in ("!=", "!~") or (string is None and number is None):
        return OTHER
    if field_name == "logname":
        if _AUDIT_LOG.search(value):
            return Codes(_NONE, _named_logs(value))
        return Codes(_NONE, ALL - _ANY_AUDIT) if op in ("=", "==") else OTHER
    if "type" in field_name and not _AUDIT_TYPE.search(value):
        return OTHER
    if field_name == "protopayload.methodname":
        return Codes(_NONE, _method_kinds(value))
    return Codes(_NONE, _ANY_AUDIT)


def _failures(field_name: str, op: str, value: str) -> Codes:
    """A call's status or policy violation compared (a call that failed or was refused: AuditLog.policy_violation_info,
    google/cloud/audit/audit_log.proto, names the policy a call violated; that it is set only on refused calls is
    UNCONFIRMED), or a severity that may be ERROR or above: any entry but a change recorded, so never held on."""
    if field_name == "severity":
        level = _LEVELS.get(value.upper(), int(value) if value.isdigit() else None)
        if level is not None and op in _COMPARE and not any(_COMPARE[op](at, level) for at in range(500, 900, 100)):
            return OTHER
    return Codes(_NONE, ALL - _CHANGE)


def _named_logs(value: str) -> frozenset[int]:
    """The kinds of entry a name of a `cloudaudit.googleapis.com` log holds: every audit kind where no type is named."""
    named = [_AUDIT_LOGS[m.group(1).lower()] for m in _AUDIT_LOG_TYPE.finditer(value[_AUDIT_LOG.search(value).end():])]
    return frozenset().union(*named) if named else _ANY_AUDIT


def _method_kinds(value: str) -> frozenset[int]:
    """The kinds of entry a method named (or part of one) is logged in: by its verb, either where none is read."""
    reads, writes = bool(_READ_VERB.search(value)), bool(_WRITE_VERB.search(value))
    if writes and not reads:
        return _CHANGE
    return _READ if reads and not writes else _CHANGE | _READ


def quiet_only(text: str) -> tuple[str, ...]:
    """The severity comparisons by which a Logging filter positively selects the service's ordinary work, as written
    (a negation with its term: `-severity>=WARNING`); () otherwise. Such a log-match condition counts entries that are
    no failure (`severity=INFO AND jsonPayload.event="cache_warmed"`, `severity=DEBUG`).

    The burden is on the filter: held only when (1) its severity comparisons, read as `audited_only` reads a filter
    (NOT, then OR, then AND) over the levels of LogSeverity, let through only DEBUG, INFO or NOTICE entries, never
    DEFAULT (what a line written to stdout or stderr with no structure carries: a traceback, a driver's error) nor
    WARNING or above; and (2) every other term reads as not about a failure (`_ordinary_terms`). Anything else, a
    severity compared in a form not read among it, takes the usual path: the live evidence decides, as before the
    hold existed."""
    selection = _severities(text)
    if selection.codes is None or selection.codes.unread:
        return ()
    levels = selection.codes.most & _LEVEL_VALUES
    if not levels or not levels <= _QUIET_LEVELS or not _ordinary_terms(text):
        return ()
    written = {_quoted(m): m.group(0) for m in _BARE.finditer(text) if m.group(2)}
    return tuple(dict.fromkeys(_with_negation(text, written.get(term, term)) for term in selection.terms))


def quiet_levels(text: str) -> str:
    """The levels a filter `quiet_only` holds lets through, by name (`INFO`; `DEBUG, INFO, NOTICE`)."""
    selection = _severities(text)
    levels = selection.codes.most if selection.codes is not None else _QUIET_LEVELS
    return ", ".join(name for name, at in _LEVELS.items() if 100 + at // 100 in levels & _QUIET_LEVELS)


def metric_quiet_levels(text: str) -> str:
    """The levels, by name (`INFO`; `INFO, NOTICE`), a Monitoring filter's comparisons of the `severity` metric label let
    through when they let through only DEBUG, INFO or NOTICE entries (never DEFAULT, plain stdout and stderr, nor
    WARNING or above: `_QUIET_LEVELS`); "" otherwise: no severity compared, a comparison not read, another level.

    Cloud Logging's system metrics of the entries a resource writes, `logging.googleapis.com/log_entry_count` and
    `byte_count`, carry the entry's level as the metric label `severity` (Cloud Monitoring, "Google Cloud metrics",
    logging section; UNCONFIRMED against a copy of the page: public policies and dashboards filter it as
    `metric.labels.severity="ERROR"`). Read as `metric_selection` reads a code (both orders of AND and OR, the wider
    kept; a comparison of anything else lets any entry through, so an OR with one holds nothing). A label's value is a
    text: `=`, `!=` and the filter functions are read over the level names (case folded, as codes are: the other
    reading selects no series, and an alert that fired selected one); an ordered comparison (`>=`) compares text, not
    levels, and is not read."""
    return _quiet_names(_selection(text, _METRIC_SEVERITY_FIELD, _metric_severity_levels, ("OR", "AND")))


def query_quiet_levels(query: str) -> str:
    """`metric_quiet_levels` for a PromQL or MQL condition on Cloud Logging's count of entries written
    (`logging_googleapis_com:log_entry_count`, `fetch ... logging.googleapis.com/log_entry_count`: "Mapping Cloud
    Monitoring metrics to PromQL"), compared upward and read only where its arithmetic is (`_arithmetic_read`), from
    its numerator, as `query_selection` reads a code: a PromQL matcher `severity="INFO"`, an MQL `filter
    metric.severity == 'INFO'` (`&&`, `||`, `!` as AND, OR, NOT), its comments no part of it (`uncommented_query`); ""
    otherwise."""
    query = uncommented_query(query)
    if _DOWNWARD.search(query) or not _LOG_COUNT_QUERY.search(query) or not _arithmetic_read(query):
        return ""
    counted = _numerator(query)
    for written, word in _QUERY_WORDS:
        counted = written.sub(word, counted)
    if not is_mql(query):      # "Regex matches are fully anchored" (Prometheus, "Querying basics")
        counted = _PROMQL_REGEX.sub(lambda m: f'{"!=" if m[1] == "!~" else "="} monitoring.regex.full_match({m[2]})',
                                    counted)
    return _quiet_names(_selection(counted, _QUERY_SEVERITY_FIELD, _metric_severity_levels, ("OR", "AND")))


def _quiet_names(selection: Selection) -> str:
    """The level names a severity selection lets through when they are all quiet (`_QUIET_LEVELS`), else ""."""
    if selection.codes is None or selection.codes.unread:
        return ""
    levels = selection.codes.most & _LEVEL_VALUES
    if not levels or not levels <= _QUIET_LEVELS:
        return ""
    return ", ".join(name for name, at in _LEVELS.items() if 100 + at // 100 in levels)


def _metric_severity_levels(label: str, compared: re.Match[str]) -> Codes:
    """One comparison of the `severity` metric label: the levels whose names it lets through; unread when it is an
    ordered comparison, a number, or a form `_label_tests` does not read, or its readings disagree."""
    op, string, function, number = compared.groups()
    words = "metric.labels.severity " + compared.string[compared.start():compared.end()].strip()
    tests = None if op in _ORDERED or number is not None else _label_tests(label, op, string, function)
    if tests is None:
        return Codes(_NONE, ALL, (words,))
    passed = [{name for name in _LEVELS if t.passes(name)} if all(t.passes(n) is not None for n in _LEVELS) else None
              for t in tests]
    if any(p is None for p in passed) or any(p != passed[0] for p in passed):
        return Codes(_NONE, ALL, (words,))
    return _exact({100 + _LEVELS[name] // 100 for name in passed[0]})


def _severities(text: str) -> Selection:
    """What a Logging filter's severity comparisons let through, over the levels (`_LEVEL_VALUES`)."""
    return _selection(_BARE.sub(_quoted, text), _SEVERITY_FIELD, _severity_levels, ("OR",))


def _with_negation(text: str, term: str) -> str:
    """A term as the filter writes it, with the `NOT` or `-` directly before it (the level it names is excluded), or
    the negated group it stands in, whole (`NOT (severity=DEFAULT OR severity>=WARNING)`, `-(...)`)."""
    at = text.find(term)
    for group in _NOT_GROUP.finditer(text):
        end = _group_end(text, group.end() - 1)
        if end is not None and group.end() <= at < end:
            return text[group.start():end + 1]
    if at > 0 and text[at - 1] == "-":
        return "-" + term
    return f"NOT {term}" if at > 0 and _NOT_BEFORE.search(text, 0, at) else term


def _ordinary_terms(text: str) -> bool:
    """Whether every term of a Logging filter but its severity comparisons reads as not about a failure: a field
    compared by `=` or `:` to a text (`_ordinary_comparison`), a text searched for (`"cache warmed"`), `log_id(...)`,
    none naming a failure (`_FAILURE_WORDS`). Not so: a negated term or group (`NOT jsonPayload.event="a"` selects every
    other entry, failures among them), `!=`, an ordered comparison, a regular expression, a number, a function but
    `log_id`, anything the scan does not read. A negated group of severity comparisons alone (`NOT (severity=DEFAULT
    OR severity>=WARNING)`) is read apart with them: it excludes levels, and `_severities` reads its NOT."""
    i, negated = 0, False
    while i < len(text):
        if text[i].isspace() or text[i] in ")":
            i += 1
            continue
        if text[i] == "(":
            if negated:
                end = _group_end(text, i)
                if end is None or not _severities_alone(text[i + 1:end]):
                    return False
                negated, i = False, end + 1
                continue
            i += 1
            continue
        word = _WORD.match(text, i)
        if word and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "._")):
            negated = word.group(1) == "NOT"
            i = word.end()
            continue
        if text[i] == "-" and i + 1 < len(text) and not text[i + 1].isspace():
            negated, i = True, i + 1
            continue
        if term := _LOG_TERM.match(text, i):
            field_name, op, value = term.group("field", "op", "value")
            read_apart = _SEVERITY_FIELD.fullmatch(field_name)      # its levels: `_severities`
            if not read_apart and (negated or not _ordinary_comparison(field_name, op, value)):
                return False
        elif term := _SEARCHED.match(text, i):
            called = text[term.end():].lstrip().startswith("(")
            if negated or _FAILURE_WORDS.search(term.group(0)) or (called and term.group(0).lower() != "log_id"):
                return False
        else:
            return False
        negated, i = False, term.end()
    return True


def _group_end(text: str, start: int) -> int | None:
    """The index of the `)` closing the group opened at `start`, quoted texts skipped; None when it is not closed."""
    return closing_paren(text, start, [m.span() for m in _STRINGS.finditer(text)])


def _severities_alone(group: str) -> bool:
    """Whether a group holds severity comparisons joined by AND, OR and NOT, and nothing else."""
    rest = _WORD.sub(" ", group.replace("(", " ").replace(")", " "))
    terms = list(_LOG_TERM.finditer(rest))
    return bool(terms) and all(_SEVERITY_FIELD.fullmatch(term.group("field")) for term in terms) and not \
        _LOG_TERM.sub(" ", rest).replace("-", " ").strip()


def _ordinary_comparison(field_name: str, op: str, value: str) -> bool:
    """One comparison of a field other than `severity` that reads as not about a failure: `=` or `:` to a text or a
    has-value test, the field naming no level, status, code, latency or failure (a payload's own level only when it
    names one below WARNING: `jsonPayload.level="info"`), the value naming no failure."""
    if op not in ("=", "==", ":") or _NUMBER.fullmatch(value):
        return False
    bare = value[1:-1] if value[:1] in "\"'" else value
    if _LEVEL_FIELD.search(field_name):
        return bare.lower() in _QUIET_PAYLOAD_LEVELS
    return not (_FAILURE_FIELD.search(field_name) or _FAILURE_WORDS.search(field_name) or _FAILURE_WORDS.search(bare))


# LogSeverity (google/logging/type/log_severity.proto): DEFAULT 0 ("The log entry has no assigned severity level"),
# DEBUG 100, INFO 200, NOTICE 300 ("Normal but significant events, such as start up, shut down, or a configuration
# change"), WARNING 400 ("Warning events might cause problems"), ERROR 500, CRITICAL 600, ALERT 700, EMERGENCY 800;
# "Logging query language", "Comparisons": severity compared by name or number, in that order. Each level is a value
# of the parser's lattice of its own, 100 + level / 100 (a severity between two levels is compared as written).
_LEVEL_VALUES = frozenset(100 + at // 100 for at in _LEVELS.values())
# Levels a filter may let through and still count the service's ordinary work: DEBUG, INFO, NOTICE. Not DEFAULT
# ("The log entry has no assigned severity level"): Cloud Run, "Logging and viewing logs": "Logs written directly to
# stdout or stderr do not have an associated log level", so a traceback, a driver's error or a crash printed as plain
# text is DEFAULT.
_QUIET_LEVELS = frozenset(100 + at // 100 for at in range(100, 400, 100))
_SEVERITY_FIELD = re.compile(r'(?<![\w."@])(severity)(?![\w"@])', re.IGNORECASE)
# A Monitoring filter's comparison of the `severity` metric label (the key quoted or not, `label` singular or plural).
_METRIC_SEVERITY_FIELD = re.compile(r'(?<![\w."])metric\.labels?\."?(severity)"?(?![\w"])', re.IGNORECASE)
# The same label in a query: a PromQL matcher's (`severity="INFO"`), an MQL filter's (`metric.severity`).
_QUERY_SEVERITY_FIELD = re.compile(r'(?<![\w."])(?:metric\.(?:labels?\.)?)?"?(severity)"?(?![\w"])', re.IGNORECASE)
# Cloud Logging's counts of entries written, as a PromQL or an MQL query names them.
_LOG_COUNT_QUERY = re.compile(r"logging[._]googleapis[._]com[:/](?:log_entry_count|byte_count)\b")
_NOT_BEFORE = re.compile(r"(?:^|[\s(])NOT\s*\Z")
_NOT_GROUP = re.compile(r"(?<![\w.])(?:NOT\s*|-)\(")   # a negated group: `NOT (...)`, `-(...)`
# One comparison of a Logging filter ("Logging query language", "Comparisons"): a field path (`jsonPayload.a.b`,
# `labels."k8s-pod/app"`), an operator, a value (a quoted text, or a bare word or number). A text searched for alone,
# or a function's name (`log_id`, `sample`): `_SEARCHED`.
_LOG_TERM = re.compile(rf'(?P<field>[A-Za-z_@][\w.@/%-]*(?:\."[^"]*"[\w.@/%-]*)*)\s*(?P<op>{_OPS})\s*'
                       rf'(?P<value>{_STRING}|[^\s()"\']+)')
_SEARCHED = re.compile(rf'{_STRING}|[^\s()"\']+')
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
# A field whose comparison is about a failure whatever its value reads as: a level (a logger's own, `level`,
# `levelname`: pino writes 50 for error, 60 for fatal), a status or code (`httpStatus`, gRPC's `grpc_code`, 13
# INTERNAL, 14 UNAVAILABLE; an audit entry's `protoPayload.status.code`), a latency or duration (Cloud Run's request
# log writes a slow 2xx at INFO), an exit or a signal.
_FAILURE_FIELD = re.compile(r"status|code|latency|duration|elapsed|exit|signal", re.IGNORECASE)
_LEVEL_FIELD = re.compile(r"level|severity", re.IGNORECASE)
_QUIET_PAYLOAD_LEVELS = frozenset({"debug", "trace", "verbose", "info", "information", "notice"})
# Words a filter names a failure by, in any case and inside a longer name (`connectionRefused`, `db_error`,
# `jsonPayload.error:*`), read broadly: an error or exception, a failure, a refusal or denial, a timeout or deadline,
# a crash, a signal or fault, a panic, a process killed or out of memory, a connection lost, closed, broken or not
# made, a deadlock, a limit reached, something unavailable, unreachable or unknown, a level above WARNING in words,
# plain stderr, a 4xx or 5xx as a number or a class. A term naming one of them is read as being about a failure (the
# usual path: the live evidence decides), never held as quiet work. Missing a word here holds nothing by itself: the
# severity selection must also exclude DEFAULT and WARNING up, and the field and operator be read (`quiet_only`).
_FAILURE_WORDS = re.compile(
    r"error|\berr\b|exception|fail|fatal|panic|crash|abort|refus|reject|denied|forbidden|unauthori[sz]ed|unavailable|"
    r"unreachable|unhealthy|timeout|timed[\s_-]?out|deadline|exceeded|exhausted|killed|(?<![a-z])oom|"
    r"out[\s_-]?of[\s_-]?memory|traceback|stack[\s_-]?trace|broken[\s_-]?pipe|reset\b|terminat|critical|emerg|"
    r"alert|severe|warn|could[\s_-]?not|couldn|cannot|can'?t\b|unable|lost|closed|disconnect|deadlock|too[\s_-]?many|"
    r"\bsig[a-z]{2,4}\b|segmentation|fault|core[\s_-]?dump|internal|unknown|invalid|\bbad\b|stderr|retr(?:y|ies)|"
    r"slow|throttl|quota|limit|overload|busy|restart|shut[\s_-]?down|\bdead\b|\bdown\b|violat|corrupt|"
    r"(?<!\d)(?:[45]\d\d)(?!\d)|\b[45]xx\b", re.IGNORECASE)


def _severity_levels(_: str, compared: re.Match[str]) -> Codes:
    """One comparison of an entry's severity: the levels it lets through (`:` read as `=`, as _COMPARE does); a
    function, a regular expression or a value that is no level, unread."""
    op, string, function, number = compared.groups()
    value = number if number is not None else (string or "")[1:-1]
    level = _LEVELS.get(value.upper(), int(value) if value.isdigit() else None)
    words = "severity" + compared.string[compared.start():compared.end()].strip()
    if function is not None or level is None or op not in _COMPARE:
        return Codes(_NONE, ALL, (words,))
    return _exact({100 + at // 100 for at in _LEVELS.values() if _COMPARE[op](at, level)})


def query_selection(query: str) -> Selection | None:
    """What a PromQL or MQL condition's counted requests select of the codes, read only where the query's arithmetic
    is understood exactly (`_arithmetic_read`): a plain selector, or a plain ratio of plain selectors, compared upward.
    Its numerator where it divides (the text before its `/`, or an MQL ratio's first table), each selector's matchers
    and each `filter`'s comparisons read as a filter's are (PromQL's `,` between matchers and MQL's stages as AND; MQL's
    `&&`, `||` and `!` as AND, OR and NOT; Prometheus, "Querying basics"; Monitoring Query Language reference,
    `filter`). None where that is not read: a subtraction (`1 - ok / total`, `(total - ok) / total`: an error share
    written as the complement of the 2xx share counts every response but 2xx), another operator, a set operator, a
    vector match, `absent`, an MQL `map` or `value` stage, a comparison downward (`< 0.99`: a share falling), or no
    request metric named. A comment is no part of the query (`uncommented_query`)."""
    query = uncommented_query(query)
    if _DOWNWARD.search(query):
        return None
    return _counted_selection(query)


def downward_selection(query: str) -> Selection | None:
    """What a PromQL or MQL condition compared downward (`... / ... < 0.05`, `condition v < 0.5`) counts of the codes,
    read as query_selection reads one compared upward; None when it is not compared downward or not read."""
    query = uncommented_query(query)
    return _counted_selection(query) if _DOWNWARD.search(query) else None


def _counted_selection(query: str) -> Selection | None:
    if not _REQUEST_QUERY.search(query) or not _arithmetic_read(query):
        return None
    counted = _numerator(query)
    for written, word in _QUERY_WORDS:
        counted = written.sub(word, counted)
    if _PROMQL.search(query):      # "Regex matches are fully anchored" (Prometheus, "Querying basics")
        counted = _PROMQL_REGEX.sub(lambda m: f'{"!=" if m[1] == "!~" else "="} monitoring.regex.full_match({m[2]})',
                                    counted)
    return metric_selection(counted)


def _arithmetic_read(query: str) -> bool:
    """Whether what the query computes from its selectors is understood exactly, so that its numerator's selection is
    what it counts: PromQL's functions and aggregations over selectors, at most one `/`, a product by a number
    (`* 100`), compared to a number; MQL's stages of `_MQL_STAGES` alone. Anything else may turn the counted part into
    its complement or its union with another (`1 - 2xx / all` counts the non-2xx; `unless`, `or`, `and`, `on (...)`
    combine series; `absent(...)` counts none; MQL's `map [r: 1 - val()]` and `value` rewrite the value): not read,
    so never held on it (the live evidence decides, as before any query was read)."""
    bare = _NUMBERS.sub("0", _BRACKETS.sub(" ", _STRINGS.sub('""', query)))
    if is_mql(query):
        bare = _NAME_SLASH.sub("", _MQL_SHORT_TABLE.sub("fetch ", bare))
        heads = _MQL_HEAD.findall(bare.replace("||", " "))
        return all(head in _MQL_STAGES for head in heads) and not _MQL_ARITHMETIC.search(bare)
    bare = _BRACES.sub(" ", bare)
    return (bare.count("/") <= 1 and not _PROMQL_ARITHMETIC.search(_NUMBER_PRODUCT.sub(" ", bare))
            and len(_PROMQL_COMPARISON.findall(bare)) <= 1 and not _PROMQL_COMBINING.search(bare))


# What `_arithmetic_read` reads. Strings, a range's brackets (`[5m:1m]`, an MQL `[val: ...]`), numbers (`5e-2`) and a
# PromQL selector's braces first, so nothing in them is taken for an operator (`{response_code!="2xx"}`, `'1/s'`);
# an MQL metric's name written bare (`cloud_run_revision::run.googleapis.com/request_count`) is no division either.
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_BRACES = re.compile(r"\{[^{}]*\}")
_NUMBERS = re.compile(r"(?<![\w.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])")
_NAME_SLASH = re.compile(r"(?<=[\w.])/(?=[\w.])")
# A table written short (`type::metric`, `query_grouping.MQL_QUERY`) is a `fetch` stage: read as one.
_MQL_SHORT_TABLE = re.compile(mql_short_table())
# The head of each MQL stage (after `|`, or opening a table operation's `{ A ; B }`), and the stages whose effect on
# which requests are counted is understood ("Monitoring Query Language reference"): choosing the data (`fetch`,
# `metric`, `filter`, `within`), aligning and grouping it (`align`, `every`, `window`, `group_by`), `ident`, `ratio`
# (its first table over its second), and `condition` over the value. `map`, `value`, `join`, `union`, `sub`,
# `filter_ratio`, ... are not read.
_MQL_HEAD = re.compile(r"(?:^|[|{;])\s*([a-z_]+)")
_MQL_STAGES = frozenset({"fetch", "metric", "filter", "within", "align", "every", "window", "group_by", "ident",
                         "ratio", "condition"})
_MQL_ARITHMETIC = re.compile(r"-|\+|\*|/|\b(?:absent_for|add|sub|mul|div|neg)\b")
# PromQL's arithmetic but one `/` and a product by a number, its vector matching and its set operators
# (Prometheus, "Operators": "Binary operators", "Vector matching", "Logical/set binary operators"), and `absent`.
_NUMBER_PRODUCT = re.compile(r"\*\s*0(?![\w.])|(?<![\w.])0\s*\*")
_PROMQL_ARITHMETIC = re.compile(r"-|\+|\*|%|\^")
_PROMQL_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")
_PROMQL_COMBINING = re.compile(r"\b(?:and|or|unless|on|ignoring|group_left|group_right|absent|absent_over_time|"
                               r"atan2)\b", re.IGNORECASE)


# The request metrics as PromQL ("Mapping Cloud Monitoring metrics to PromQL": `run_googleapis_com:request_count`)
# and MQL (`metric 'run.googleapis.com/request_count'`) name them, and a query compared downward.
_PROMQL = re.compile(r"run_googleapis_com:request_")
_PROMQL_REGEX = re.compile(rf"(=~|!~)\s*({_STRING})")
_REQUEST_QUERY = re.compile(r"run[._]googleapis[._]com[:/]request_(?:count|latencies)")
_DOWNWARD = re.compile(r"(?<![<>=!-])<=?\s*(?:bool\s+)?[\d.]|\bcondition\b[^|]*?(?<![<>=!-])<(?!-)")
_QUERY_WORDS = ((re.compile(r"&&"), " AND "), (re.compile(r"\|\|"), " OR "), (re.compile(r"!(?![=~])"), " NOT "))


_NAME_CHAR = re.compile(r"[\w.]")


def _numerator(query: str) -> str:
    """The part of a query that counts: before the outermost `/` outside strings, or an MQL `{ A ; B }`'s A."""
    depth, best, at = 0, None, None
    quoted = False
    for i, ch in enumerate(query):
        if ch in "\"'":
            quoted = not quoted
        if quoted:
            continue
        depth += {"(": 1, "{": 1, "[": 1, ")": -1, "}": -1, "]": -1}.get(ch, 0)
        within_a_name = 0 < i < len(query) - 1 and _NAME_CHAR.match(query[i - 1]) and _NAME_CHAR.match(query[i + 1])
        if ch == "/" and not within_a_name and (best is None or depth < best):     # MQL's `::run.googleapis.com/...`
            best, at = depth, i
        if ch == ";" and at is None:
            return query[:i]
    counted = query if at is None else query[:at]
    return counted + ")" * max(0, counted.count("(") - counted.count(")"))     # `(A / B)`: A's group closed


def _selection(text: str, field_name: re.Pattern[str], read: Callable[[str, re.Match[str]], Codes],
               tighter: tuple[str, ...]) -> Selection:
    if not field_name.search(text):
        return Selection(None)
    tokens, terms = _tokens(text, field_name, read)
    if not terms:
        return Selection(None)
    codes = _widest(tokens, tighter)
    if codes is None:       # parentheses that do not pair: nothing of it read
        return Selection(Codes(_NONE, ALL, tuple(terms)), ALL, tuple(terms))
    unread_none = [_exact(set()) if isinstance(t, Codes) and t.unread else t for t in tokens]
    read_alone = _widest(unread_none, tighter)
    return Selection(codes, read_alone.most if read_alone else ALL, tuple(terms))


def _widest(tokens: list[str | Codes], tighter: tuple[str, ...]) -> Codes | None:
    """The tokens read under each order of the joining words in `tighter`, the widest answer kept."""
    readings = [_Parser(tokens, first).parse() for first in tighter]
    if any(r is None for r in readings):
        return None
    codes = readings[0]
    for other in readings[1:]:
        codes = Codes(codes.least & other.least, codes.most | other.most, codes.unread)
    return codes


def _tokens(text: str, field_name: re.Pattern[str], read: Callable[[str, re.Match[str]], Codes]):
    tokens: list[str | Codes] = []
    terms: list[str] = []
    i = 0
    while i < len(text):
        if text[i].isspace() or text[i] in _SEPARATORS:
            i += 1
            continue
        if text[i] in "()":
            tokens.append(text[i])
            i += 1
            continue
        if (word := _WORD.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "._")):
            tokens.append(word.group(1))
            i = word.end()
            continue
        if text[i] == "-" and i + 1 < len(text) and not text[i + 1].isspace() and not text[i + 1].isdigit():
            tokens.append("NOT")
            i += 1
            continue
        if (named := field_name.match(text, i)) and _AN_OPERATOR.match(text, named.end()):
            compared = _COMPARED.match(text, named.end())
            end = compared.end() if compared else _UNREAD_REST.match(text, named.end()).end()
            terms.append(text[i:end])
            label = named.group(1) if named.groups() else ""
            tokens.append(read(label, compared) if compared else Codes(_NONE, ALL, (text[i:end],)))
            i = end
            continue
        other = _OTHER.match(text, i)
        tokens.append(OTHER)
        i = other.end() if other else i + 1
    return tokens, terms


def _metric_codes(label: str, compared: re.Match[str]) -> Codes:
    """One comparison of `response_code` or `response_code_class`, read over the codes 100-599."""
    op, string, function, number = compared.groups()
    words = compared.string[compared.start():compared.end()].strip()
    of = (lambda c: str(c)) if label.lower() == "response_code" else (lambda c: f"{c // 100}xx")
    if number is not None:
        string = f'"{number}"'
    if op in _ORDERED:
        value = string[1:-1].lower() if string else ""
        if len(value) != 3:
            return Codes(_NONE, ALL, (label + " " + words,))
        return _exact({c for c in ALL if _ORDERED[op](of(c), value)})
    tests = _label_tests(label, op, string, function)
    if tests is None:
        return Codes(_NONE, ALL, (label + " " + words,))
    values = {of(c) for c in ALL}     # 5 classes or 500 codes: each value tested once
    passed = [{v for v in values if t.passes(v)} if all(t.passes(v) is not None for v in values) else None
              for t in tests]
    if any(p is None for p in passed) or any(p != passed[0] for p in passed):
        return Codes(_NONE, ALL, (label + " " + words,))
    return _exact({c for c in ALL if of(c) in passed[0]})


def _label_tests(label: str, op: str, string: str | None, function: str | None) -> list[LabelTest] | None:
    """The comparison as label_filters' tests (two where the readings differ: `=~` matched whole and anywhere)."""
    negated = op in ("!=", "!~")
    if function is not None:
        if op not in ("=", "==", "!="):
            return None
        name = function[:function.index("(")].strip().lower()
        values = tuple(a[1:-1] for a in _STRINGS.findall(function[function.index("("):]))
        return [LabelTest(label, name, values, negated=negated, fold_case=True)] if values else None
    value = (string or "")[1:-1]
    if op in ("=~", "!~"):
        return [LabelTest(label, "regex", (value,), negated=negated),
                LabelTest(label, "monitoring.regex.full_match", (value,), negated=negated)]
    how = "has" if op == ":" else "equals"
    return [LabelTest(label, how, (value,), negated=negated, fold_case=True)]


def _status_codes(_: str, compared: re.Match[str]) -> Codes:
    """One comparison of `httpRequest.status`, a number: `:` ("has") and a value of another form are not read."""
    op, string, function, number = compared.groups()
    value = number if number is not None else (string or "")[1:-1]
    words = "httpRequest.status" + compared.string[compared.start():compared.end()].strip()
    if function is not None or not value.isdigit() or op in (":", "=~", "!~"):
        return Codes(_NONE, ALL, (words,))
    code = int(value)
    compare = {"=": int.__eq__, "==": int.__eq__, "!=": int.__ne__, "<": int.__lt__, "<=": int.__le__,
               ">": int.__gt__, ">=": int.__ge__}[op]
    return _exact({c for c in ALL if compare(c, code)})


def _exact(codes: set[int]) -> Codes:
    frozen = frozenset(codes)
    return Codes(frozen, frozen)


class _Parser:
    """A filter's tokens as an expression: `tighter` is the joining word that binds tighter ("OR": Logging's order;
    "AND": the other reading of a Monitoring filter); side by side is AND. None when its parentheses do not pair."""

    def __init__(self, tokens: list[str | Codes], tighter: str):
        self.tokens, self.at = tokens, 0
        self.inner, self.outer = tighter, "AND" if tighter == "OR" else "OR"

    def parse(self) -> Codes | None:
        try:
            found = self._joined(self.outer)
        except ValueError:
            return None
        return found if self.at == len(self.tokens) else None

    def _peek(self) -> str | Codes | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _joined(self, word: str) -> Codes:
        part = self._joined(self.inner) if word == self.outer else self._unary()
        while (ahead := self._peek()) is not None and ahead != ")":
            if ahead == word:
                self.at += 1
            elif word != "AND" or ahead == "OR":
                break       # side by side is AND: only an AND level reads two terms so
            following = self._joined(self.inner) if word == self.outer else self._unary()
            part = part & following if word == "AND" else part | following
        return part

    def _unary(self) -> Codes:
        token = self._peek()
        if token is None or token in (")", "AND", "OR"):
            raise ValueError("a term was expected")
        self.at += 1
        if token == "NOT":
            return ~self._unary()
        if token == "(" and self._peek() == ")":     # a call of no arguments: `val()`
            self.at += 1
            return OTHER
        if token == "(":
            inside = self._joined(self.outer)
            if self._peek() != ")":
                raise ValueError("an unclosed parenthesis")
            self.at += 1
            return inside
        assert isinstance(token, Codes)
        return token
