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

A filter is read across all its terms (code_filters.py): its comparisons of the code or class by equality, `one_of`,
`starts_with`, `ends_with`, `has_substring`, `monitoring.regex.full_match`, `!=`, `NOT`, an ordered comparison, joined
by AND and OR, each read exactly over the codes 100-599 (before, any form but an equality was taken for every
response, so `response_code = monitoring.regex.full_match("4..")` rolled back on the live 5xx). Held: no code it may
let through is one a write answers. Held too, in its own words: a comparison of the code not read (an undocumented
function, a pattern RE2 reads otherwise than Python) where only it could let a server failure in: it plainly narrows
the codes, and is not taken for all of them. A log match's `httpRequest.status` comparisons are read the same way,
OR as the union; a disjunct selecting by something else (`OR severity>=ERROR`) may let any status through, so
nothing is held for it: which statuses its entries had is not known.

A PromQL or MQL query's selection is read only where its arithmetic is understood exactly (code_filters.query_selection:
a plain selector, or a plain ratio of plain selectors, compared upward, read from its numerator). A subtraction, another
operator, a set operator, a vector match, `absent`, or an MQL `map`/`value`/`join` stage is not read, and never held on:
`1 - sum(rate(...{response_code_class="2xx"}[5m])) / sum(rate(...[5m])) > 0.05`, the usual error-budget alert, counts
every response but 2xx (before, it was held as a 2xx alert).

Not held here: a selection that may let a 5xx class or code, or 429, through (the writes answer them), none at all
(every response), and a condition compared downward (a success share falling is the failures' share rising, so the
complement of a 5xx share, `!= "5xx"` below a bar, is a 5xx alert: health_bar._complement; a floor on a count is
present_failure's activity floor). `!= "5xx"` above a bar is the share of every other response: held. A threshold or
a query read so (code_filters.downward_selection) counting failures (5xx, 429, 4xx) and no 2xx compared downward fires
when they are few, and is held (`_failures_below`): `5xx / all < 0.05`, a success policy copied with its class changed
and not its comparison; an errors share, `one_of("4xx", "5xx")` or `!= "2xx"` below a bar, the same.
"""
from __future__ import annotations

import re

from shared.alerts.code_filters import (Selection, code_words, downward_selection, exact_metric_codes, log_selection,
                                        metric_code_readings, metric_selection, query_selection)
from shared.alerts.incidents import Incident, quoted
from shared.alerts.query_grouping import uncommented_query

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
# A response counted as a failure by a share compared downward: a server's or a caller's (4xx), a class or a code.
_FAILURE_CLASS = re.compile(r"[45]xx|[45]\d\d", re.IGNORECASE)
# What a latency's selection may name and still be answered by the writes: the server's failures, and the
# successful responses, whose slowness is the latency a rollback (a revision's) or a connector change (a saturated
# path's) answers: a latency alert on 2xx is the usual way to write one. A 3xx's or a 4xx's latency is not.
_ANSWERED_LATENCY = re.compile(r"5xx|5\d\d|429|2xx|2\d\d", re.IGNORECASE)
_BELOW = frozenset({"COMPARISON_LT", "COMPARISON_LE"})
# What every held answer says after where the alert's selection is read: the metric's and the log match's alike.
_DISAGREE = (": the change below answers the service's live 5xx and latency, which this alert did not select, so the "
             "alert and the live evidence disagree on what is failing; it was diagnosed, and nothing was written: a "
             "person must decide on the change below")
_SERVER_CODES = frozenset([429, *range(500, 600)])
_ANSWERED_CODES = _SERVER_CODES | frozenset(range(200, 300))     # a latency's: _ANSWERED_LATENCY as codes
_4XX = frozenset(range(400, 500))
_2XX = frozenset(range(200, 300))


def compared_codes(condition_filter: str) -> frozenset[str] | None:
    """The response classes and codes a filter selects ("5xx", "503", ...; lower case; a whole class as its class),
    read exactly by code_filters.exact_metric_codes, as health_bar.numerator_codes reads them: empty when it names
    none; None when it is not read exactly (a regular expression, `:`, a function but `one_of`; an OR with a
    comparison of something else, which changes the codes; no code at all). Before, only equalities were read, and
    their AND, OR and NOT were not: `NOT (response_code_class = "5xx")` read as the 5xx class."""
    codes = exact_metric_codes(condition_filter)
    return None if codes is None else frozenset(code_words(codes))


def selected_responses(incident: Incident) -> tuple[frozenset[str], str] | None:
    """The responses the alert is about and where it says so: the violating series' `metric.labels` when they name
    a class or code (the series that crossed), else what its filter selects, read exactly (`compared_codes`); None when
    neither names one, or the filter's selection is not read exactly."""
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
    "" when it selects one, or every response."""
    if incident.condition_kind == "log_match":
        return _unselected_in_log_match(incident)
    query = incident.condition_kind == "other"
    if not query and incident.metric_type not in REQUEST_METRICS:
        return ""
    if query and (falling := downward_selection(incident.condition_filter)) is not None:
        return _failures_below(incident, falling)
    if incident.comparison in _BELOW:
        return "" if query else _failures_below(incident, metric_selection(incident.condition_filter))
    latency = _latency(incident)
    if any(str(incident.metric_labels.get(key, "")).strip() for key in CODE_LABELS):
        return _unselected_by_series(incident, latency)
    selection = (query_selection if query else metric_selection)(incident.condition_filter)
    if selection is None or selection.codes is None:
        return ""
    answered = _ANSWERED_CODES if latency else _SERVER_CODES
    what = "the latency of " if latency else ""
    where = f"its condition's {'query' if query else 'filter'} ({quoted(incident.condition_filter, 160)})"
    if not _answers(selection.codes.most, answered):
        return (f"policy {quoted(incident.policy_name)} alerted on {what}{_classes(selection.codes.most)} responses, "
                f"as {where} says, not on 5xx{_named_for_5xx(incident)}{_DISAGREE}")
    if selection.codes.unread and not _answers(selection.read_most, answered):
        return _unread_selection(incident, selection.codes.unread, where)
    return ""


def _latency(incident: Incident) -> bool:
    """Whether the condition measures Cloud Run's request latencies: its metric, or its query as written, but for its
    comments (query_grouping.uncommented_query: `# not request_latencies` names no metric)."""
    if incident.condition_kind == "other":
        return "request_latencies" in uncommented_query(incident.condition_filter)
    return incident.metric_type.endswith("request_latencies")


def _failures_below(incident: Incident, selection: Selection) -> str:
    """A count or share of failures counting no 2xx (5xx, 429, 4xx: `_counts_failures`) compared downward (a
    threshold's `comparison`, a query's own `<`): it fires when they are few, so no failure is stated (a success share
    falling is another matter: its selection holds 2xx, and is not held here). A latency below a bar is not read here.
    Before, `5xx / all < 0.05` (a success policy copied, its class changed and not its comparison) rolled back on the
    live 5xx while its own value said 2 % failed; so did an errors share, `one_of("4xx", "5xx")` or `!= "2xx"` below a
    bar. `selection`: the filter's, or the query's counted part (code_filters.downward_selection)."""
    query = incident.condition_kind == "other"
    if _latency(incident):
        return ""
    selected = None if query else selected_responses(incident)
    if selected is not None and selected[0] and all(_FAILURE_CLASS.fullmatch(code) for code in selected[0]):
        codes, where = ", ".join(sorted(selected[0])), selected[1]
    else:
        read = _server_failures_alone(incident, selection, query)
        if read is None:
            return ""
        codes, where = read
    bar = "" if query else f"{incident.comparison} {incident.threshold_value or 'unstated'}"
    value = f"its value {incident.observed_value}" if incident.observed_value else ""
    said = f" ({', '.join(part for part in (bar, value) if part)})" if bar or value else ""
    return (f"policy {quoted(incident.policy_name)} fires when its {codes} responses fall below its bar{said}, "
            f"read from {where}: few "
            f"failures is no failure, so the alert and the live evidence disagree on what is failing; it was "
            f"diagnosed, and nothing was written: a person must decide on the change below")


def _server_failures_alone(incident: Incident, selection: Selection, query: bool) -> tuple[str, str] | None:
    """The failures a downward condition's filter or query counts with no 2xx (`_counts_failures`), and where that is
    read, or None. Every code it may let through one; or, a threshold's filter not read exactly, some reading of its
    other comparisons (each selecting every request or none: code_filters.metric_code_readings) leaving server
    failures alone counted (`response_code_class = "5xx" OR resource.labels.service_name = "a"` counts 5xx alone where
    `a` adds nothing): held on the safe side, as the equalities' reading held it before. Where the exact reading shows
    other codes counted (`NOT (response_code_class = "5xx")`, a success share), it is not held: the share falling is
    the failures' rising."""
    where = f"its condition's {'query' if query else 'filter'} ({quoted(incident.condition_filter, 160)})"
    codes = selection.codes
    if codes is not None and not codes.unread and _counts_failures(codes.most):
        return _classes(codes.most), where
    readings = None if query else metric_code_readings(incident.condition_filter)
    if readings is None or readings.exact is not None:
        return None
    alone = sorted((r for r in readings.each if _counts_failures(r)), key=sorted)
    if not alone:
        return None
    return _classes(alone[0]), f"{where}, read with its other comparisons adding no request"


def _counts_failures(codes: frozenset[int]) -> bool:
    """Whether a selection counts failures (a 4xx or 5xx, 429 among them) and no 2xx: its share falling is failures
    falling, never a success share's fall (which is the failures' rise, and acts)."""
    return bool(codes & (_4XX | _SERVER_CODES)) and not codes & _2XX


def _unselected_by_series(incident: Incident, latency: bool) -> str:
    """The violating series' own code or class (the series that crossed) decides over the filter."""
    selected = selected_responses(incident)
    answered = _ANSWERED_LATENCY if latency else SERVER_FAILURE
    if selected is None or any(answered.fullmatch(code) for code in selected[0]):
        return ""
    codes, where = selected
    what = "the latency of " if latency else ""
    return (f"policy {quoted(incident.policy_name)} alerted on {what}{', '.join(sorted(codes))} responses, as "
            f"{where} say, not on 5xx{_named_for_5xx(incident)}{_DISAGREE}")


def _answers(codes: frozenset[int], answered: frozenset[int]) -> bool:
    """Whether the codes hold one the writes answer. The whole 4xx class holds 429 as the class "4xx" does in a
    metric's label, which is held: 429 counts only where the selection names it apart from the class."""
    return bool(codes & answered - {429}) or (429 in codes and 429 in answered and not _4XX <= codes)


def _unread_selection(incident: Incident, unread: tuple[str, ...], where: str) -> str:
    """A selection of responses only a comparison not read could have opened to a server failure: held, naming it
    in the condition's own words (before, `= regex("4..")` or a function not read was taken for every response)."""
    said = ", ".join(quoted(words, 80) for words in unread)
    return (f"policy {quoted(incident.policy_name)} selects responses by {said} in {where}, which Runwarden does not "
            f"read: only that comparison could let a 5xx in, so whether this alert counted any is not known"
            f"{_named_for_5xx(incident)}: the change below answers the service's live 5xx and latency, which this "
            f"alert may not have selected; it was diagnosed, and nothing was written: a person must decide on the "
            f"change below")


def _classes(codes: frozenset[int]) -> str:
    """Codes as a person reads them: whole classes as `4xx`, the rest listed or as a range."""
    whole = [f"{n}xx" for n in range(1, 6) if set(range(n * 100, n * 100 + 100)) <= codes]
    rest = frozenset(c for c in codes if f"{c // 100}xx" not in whole)
    return ", ".join(whole + ([_shown(rest)] if rest else [])) or "no"


def _named_for_5xx(incident: Incident) -> str:
    """A note when the policy's or condition's name says 5xx while its selection does not: a copied policy whose
    filter or grouping was changed, or a name that was never true."""
    names = [n for n in (incident.policy_name, incident.condition_name) if re.search(r"\b5xx\b|\b5\d\d\b", n or "")]
    return f" (though {quoted(names[0])} is named for 5xx)" if names else ""


def logged_statuses(log_filter: str) -> frozenset[int] | None:
    """The response statuses a log-match condition's filter may let through by its `httpRequest.status` comparisons
    joined by AND, OR and NOT (code_filters.log_selection: a comparison of anything else lets any status through);
    None when it compares none."""
    selection = log_selection(log_filter)
    return None if selection.codes is None else selection.codes.most


def _unselected_in_log_match(incident: Incident) -> str:
    """A log-match alert whose filter lets through no server failure (`httpRequest.status=404`, `>=400 AND <500`):
    held as a metric alert selecting 4xx is. Before, a 4xx log match rolled back on the live 5xx."""
    statuses = logged_statuses(incident.condition_filter)
    if statuses is None or _answers(statuses, _SERVER_CODES):
        return ""
    return (f"policy {quoted(incident.policy_name)} matched log entries of {_shown(statuses)} responses, as its "
            f"condition's filter ({quoted(incident.condition_filter, 160)}) says, not 5xx{_named_for_5xx(incident)}{_DISAGREE}")


def _shown(codes: frozenset[int]) -> str:
    """Codes as runs, an unbroken run of three or more as a range (`400-428`), the first six runs and how many more."""
    runs: list[list[int]] = []
    for code in sorted(codes):
        if runs and code == runs[-1][-1] + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    said = [f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(str(c) for c in r) for r in runs[:6]]
    more = f" and {len(runs) - 6} more" if len(runs) > 6 else ""
    return ", ".join(said) + more if said else "no"
