"""Which responses a notification's own condition selects, and whether Runwarden's writes answer them. Pure: no I/O.

Cloud Run's request metrics carry the response's code and class as metric labels: `run.googleapis.com/request_count`
"response_code", "response_code_class" (Cloud Monitoring, "Google Cloud metrics", run section), and request_latencies the same two (UNCONFIRMED: a third-party copy,
dynatrace-gcp-monitor cloud_run_revision.yml; shared/diagnosis/health_bar.latency_codes). A condition selects them
in its filter ("Monitoring filters": `metric.label.response_code_class = "4xx"`, `= one_of("500", "503")`), and a
notification names the violating series' labels in `metric.labels` ("Notification content", schema 1.2: "metric":
{"type", "displayName", "labels"}; a policy grouped by class sends the class that crossed, as the documented
example's `{"instance_name": ...}` names its series).

Runwarden's two writes answer a server's failures: a rollback answers a revision's 5xx (and its latency), a
connector change the 5xx and latency of a saturated path (docs/signatures.md). The diagnosis reads the service's
live 5xx share and p99 whatever the alert counted. So when the alert's own selection names only other responses
(the 4xx class, a 4xx code other than 429, 2xx, 3xx: a 4xx policy, or one named for 5xx whose series or filter
say 4xx), a write planned from the live 5xx answers a failure the alert did not report: the alert and the live evidence disagree
on what is failing, and which one the policy's owner meant is unknown. Precision first: the write is held and
escalated with the diagnosis and the change it would have made (`unselected_responses`), naming both. Before,
`response_code_class: 4xx` under "backend 5xx ratio" rolled back on the live 5xx with no word of it.

Not held here: a selection that names a 5xx class or code, or 429 (the writes answer them), none at all (every
response), a comparison not read as an equality (`!=`, a regular expression, a negation: the complement of a 5xx
share, `!= "5xx"` below a bar, is a 5xx alert: health_bar._complement), and a condition compared downward (a success
share falling is the failures' share rising; a floor on a count is present_failure's activity floor).
"""
from __future__ import annotations

import operator
import re

from shared.alerts.incidents import Incident, quoted

# One comparison of a response-code label in a Monitoring filter ("Monitoring filters":
# `metric.labels.response_code_class = "5xx"`, `metric.label.response_code = one_of("500", "503")`, a
# `NOT` or `-` before a term negating it; the key quoted, `metric.label."response_code_class"`, as some
# writers print it), with its operator and value. An operator other than `=`
# (`!=`, `:` "has", `>`, a regular expression) or a negated term is not read.
CODE_TERM = re.compile(
    r"""(?P<neg>\bNOT\s+|-\s*)?(?:\b[\w.]*\.)?"?\b(?P<label>response_code(?:_class)?)\b"?\s*(?P<op>!=|=~|!~|==|=|:|>=|<=|>|<)?"""
    r"""\s*(?P<value>one_of\s*\([^)]*\)|"[^"]*"|'[^']*'|[\w.]+)?""", re.IGNORECASE)
QUOTED = re.compile(r"""["']([^"']*)["']""")
CODE_LABELS = ("response_code_class", "response_code")
REQUEST_METRICS = frozenset({"run.googleapis.com/request_count", "run.googleapis.com/request_latencies"})
# What the writes answer: the 5xx class or one 5xx code, and 429, Cloud Run's refusal when no instance is
# available (the health check reads it with the 5xx: health_bar._SERVER_CODE), which a connector's saturation
# causes too (requests hung on it fill the instances). The 4xx class is not: most of it is the callers' own.
SERVER_FAILURE = re.compile(r"5xx|5\d\d|429", re.IGNORECASE)
# What a latency's selection may name and still be answered by the writes: the server's failures, and the
# successful responses, whose slowness is the latency a rollback (a revision's) or a connector change (a saturated
# path's) answers: a latency alert on 2xx is the usual way to write one. A 3xx's or a 4xx's latency is not.
_ANSWERED_LATENCY = re.compile(r"5xx|5\d\d|429|2xx|2\d\d", re.IGNORECASE)
_BELOW = frozenset({"COMPARISON_LT", "COMPARISON_LE"})
# A log-match condition's comparison of the request log's status ("Logging query language": comparisons
# `=`, `!=`, `<`, `<=`, `>`, `>=` on a field; LogEntry.httpRequest.status, "The response code indicating the
# status of response", google/logging/type/http_request.proto), with a 3-digit value.
_STATUS_TERM = re.compile(r"(?P<neg>\bNOT\s+|-\s*)?\bhttpRequest\.status\s*(?P<op>!=|=|<=|>=|<|>|:)\s*\"?(?P<code>\d{3})\"?",
                          re.IGNORECASE)
_CODES = range(100, 600)
_COMPARED = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
             ">=": operator.ge}
# What every held answer says after where the alert's selection is read: the metric's and the log match's alike.
_DISAGREE = (": the change below answers the service's live 5xx and latency, which this alert did not select, so the "
             "alert and the live evidence disagree on what is failing; it was diagnosed, and nothing was written: a "
             "person must decide on the change below")
_SERVER_CODES = frozenset([429, *range(500, 600)])
_4XX = frozenset(range(400, 500))


def compared_codes(condition_filter: str) -> frozenset[str] | None:
    """The response classes and codes a filter compares by equality ("5xx", "503", ...; lower case), empty when it
    names none; None when a comparison is not read (negated, not an equality, a value of another form). Its terms'
    AND or OR is not read: callers ask of every value."""
    values: set[str] = set()
    for term in CODE_TERM.finditer(condition_filter):
        op, value = term.group("op"), term.group("value") or ""
        if term.group("neg") or op not in ("=", "==") or not value:
            return None
        # A filter function's name, not a value: `= monitoring.regex.full_match("5..")`, `= starts_with("5")`
        # ("Monitoring filters": the documented forms of a label's value): not read.
        if re.match(r"\s*\(", condition_filter[term.end():]) and not value.lower().startswith("one_of"):
            return None
        found = QUOTED.findall(value) if value.lower().startswith("one_of") else [value.strip("\"'")]
        if not found:
            return None
        values.update(v.lower() for v in found)
    return frozenset(values)


def selected_responses(incident: Incident) -> tuple[frozenset[str], str] | None:
    """The responses the alert is about and where it says so: the violating series' `metric.labels` when they name
    a class or code (the series that crossed), else its filter's equalities; None when neither names one, or the
    filter compares one in a way not read."""
    labels = incident.metric_labels
    fired = {key: labels[key].strip().lower() for key in CODE_LABELS if str(labels.get(key, "")).strip()}
    if fired:
        return (frozenset(fired.values()),
                "its series' metric.labels (" + ", ".join(f"{k} {v!r}" for k, v in fired.items()) + ")")
    codes = compared_codes(incident.condition_filter)
    if not codes:
        return None
    return codes, f"its condition's filter ({quoted(incident.condition_filter, 160)})"


def unselected_responses(incident: Incident) -> str:
    """Why a write the diagnosis plans is held because the alert selects no server failure (module docstring), or
    "" when it selects one, every response, or a selection not read."""
    if incident.condition_kind == "log_match":
        return _unselected_in_log_match(incident)
    if incident.metric_type not in REQUEST_METRICS or incident.comparison in _BELOW:
        return ""
    selected = selected_responses(incident)
    answered = _ANSWERED_LATENCY if incident.metric_type.endswith("request_latencies") else SERVER_FAILURE
    if selected is None or any(answered.fullmatch(code) for code in selected[0]):
        return ""
    codes, where = selected
    what = "the latency of " if incident.metric_type.endswith("request_latencies") else ""
    return (f"policy {quoted(incident.policy_name)} alerted on {what}{', '.join(sorted(codes))} responses, as "
            f"{where} say, not on 5xx{_named_for_5xx(incident)}{_DISAGREE}")


def _named_for_5xx(incident: Incident) -> str:
    """A note when the policy's or condition's name says 5xx while its selection does not: a copied policy whose
    filter or grouping was changed, or a name that was never true."""
    names = [n for n in (incident.policy_name, incident.condition_name) if re.search(r"\b5xx\b|\b5\d\d\b", n or "")]
    return f" (though {quoted(names[0])} is named for 5xx)" if names else ""


def logged_statuses(log_filter: str) -> frozenset[int] | None:
    """The response statuses a log-match condition's filter lets through by its `httpRequest.status` comparisons,
    read as joined by AND (each narrows the codes 100-599); None when it compares none, or in a way not read (a
    negation, `:`, or an OR anywhere in the filter, whose grouping is not read)."""
    terms = list(_STATUS_TERM.finditer(log_filter))
    if not terms or re.search(r"\bOR\b", log_filter):
        return None
    allowed = set(_CODES)
    for term in terms:
        op, code = term.group("op"), int(term.group("code"))
        if term.group("neg") or op == ":":
            return None
        allowed &= {c for c in _CODES if _COMPARED[op](c, code)}
    return frozenset(allowed)


def _unselected_in_log_match(incident: Incident) -> str:
    """A log-match alert whose filter lets through no server failure (`httpRequest.status=404`, `>=400 AND <500`):
    held as a metric alert selecting 4xx is. Before, a 4xx log match rolled back on the live 5xx."""
    statuses = logged_statuses(incident.condition_filter)
    # The whole 4xx class holds 429 as the class "4xx" does in a metric's label, which is held: 429 counts only
    # where the selection names it apart from the class.
    if statuses is None or statuses & _SERVER_CODES - {429} or (429 in statuses and not _4XX <= statuses):
        return ""
    ordered = sorted(statuses)
    shown = (", ".join(str(c) for c in ordered[:5]) if len(ordered) < 3 or ordered[-1] - ordered[0] + 1 != len(ordered)
             else f"{ordered[0]}-{ordered[-1]}") or "no"
    return (f"policy {quoted(incident.policy_name)} matched log entries of {shown} responses, as its condition's "
            f"filter ({quoted(incident.condition_filter, 160)}) says, not 5xx{_named_for_5xx(incident)}{_DISAGREE}")
