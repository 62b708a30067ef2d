"""Whether a query condition's result keeps the label naming one resource, or aggregates several resources into one
series. Pure. Read only to tell whether a notification naming one service can carry that service's value
(incidents.Incident._aggregation_doubt): never to name a resource.

Sources:
- Prometheus, "Operators", "Aggregation operators": `sum`, `min`, `max`, `avg`, `group`, `stddev`, `stdvar`,
  `count`, `count_values`, `quantile` "aggregate over all label dimensions or preserve distinct dimensions by
  including a `without` or `by` clause", written before the expression or after it (`sum by (l) (x)`, `sum(x) by
  (l)`); "`by` drops labels that are not listed in the by clause, even if their label values are identical between all
  elements of the vector". `topk`, `bottomk` (and Prometheus 3's `limitk`, `limit_ratio`) return a subset of the input
  series with their labels: no aggregation across them. PromQL at Cloud Monitoring's parity is Prometheus 2.44's
  ("PromQL compatibility", Managed Service for Prometheus).
- Monitoring Query Language reference, `group_by`: "`group_by [resource.zone]`"-style lists of the columns kept, the
  others aggregated away; a `group_by` of a window alone (`group_by sliding(1h)`, `group_by 1h`) aggregates in time,
  not across series. Whether an unqualified column (`[service_name]`) names the resource's label is UNCONFIRMED: it is
  read as keeping it (a query that fails to parse fires nothing), so only a list naming neither spelling drops it.
- PromQL's quoted strings and comments are no syntax ("Querying basics": strings in double quotes, single quotes or
  backticks; line comments that start with #): `promql_syntax` empties them first; `uncommented_query` removes the
  comments alone, for the readers of a query's label values (code_filters, query_names).
- Prometheus, "Operators", "Vector matching": `on(<label list>)` "allows reducing the set of considered labels to a
  provided list", `ignoring(<label list>)` "allows ignoring certain labels when matching"; a one-to-one operation's
  result carries the labels matched on (`on`) or all but those ignored (Prometheus's engine, `resultMetric`: `Keep`
  the `on` labels, `Del` the ignored ones); with `group_left`/`group_right` the result keeps "the higher cardinality"
  side's labels, and "the grouping modifier can take a label list that will be included from the one side" (a label
  copied onto each series, over its own value). The set operators `and`, `or`, `unless` take series whole. Whether
  a comparison without `bool` keeps its left side's labels whole or its `on` labels alone is not settled by the page:
  read as `on` alone, which holds back more, never less.
- Prometheus, "Query functions": `label_replace(v, dst_label, replacement, src_label, regex)` sets `dst_label` "in the
  returned timeseries" to the replacement; `label_join(v, dst_label, separator, src_label_1, ...)` returns "the
  timeseries with the label dst_label containing the joined value". A query writing a label that names a resource
  names whatever it wrote, not the series' resource.
- PromQL subqueries (`<instant_query>[<range>:<resolution>]`, "Querying basics") select a range of the inner query's
  results and keep their labels: the aggregations inside are read as any other.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared.alerts.label_filters import closing_paren

# What of a PromQL query is no syntax: its quoted strings and its comments, read left to right so that a quote inside a
# comment, or a `#` inside a quote, is the other's text.
_PROMQL_TEXT = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`|#[^\n]*')


def promql_syntax(query: str, *, keep_strings: bool = False, same_length: bool = False) -> str:
    """`query` with its comments removed and, unless `keep_strings`, its quoted strings emptied (`_PROMQL_TEXT`), or with
    `same_length` blanked between their quotes, so that what is left keeps its positions. A quote left open is kept as
    it is, so what follows it is still read, never hidden. With `keep_strings`, what a reader of label values reads: a
    matcher written in a comment (`# was severity="ERROR"`) is no matcher."""
    def rewritten(text: re.Match[str]) -> str:
        written = text.group(0)
        if written.startswith("#"):
            return " " * len(written) if same_length else ""
        if keep_strings:
            return written
        return written[0] + " " * (len(written) - 2) + written[-1] if same_length else written[0] * 2
    return _PROMQL_TEXT.sub(rewritten, query)


def uncommented_query(query: str) -> str:
    """A PromQL or MQL query without its comments, its strings kept (`promql_syntax`): "PromQL supports line comments
    that start with #" (Prometheus, "Querying basics", "Comments"), and a matcher, a `/`, a `-` or a `<` written in one
    is no part of what the query counts. Before, `... severity="INFO"}[5m]) > 20 # was severity="ERROR"` was read as
    counting ERROR too and acted, and `# 4xx / all - see runbook` hid a 4xx query's selection. Whether MQL reads `#`
    as a comment is UNCONFIRMED (the MQL pages read name no comment syntax): removed there too, since a query that
    does not parse fires nothing, so only the reading where it is a comment can reach Runwarden."""
    return promql_syntax(query, keep_strings=True)


_OPEN, _CLOSE = "({[", ")}]"


def top_level(text: str) -> str | None:
    """`text` with every character inside brackets or quotes blanked, brackets kept: what is left is the expression's
    top level, at the same positions. None when brackets or quotes do not balance (a query that does not parse fires
    nothing)."""
    out, stack, quote = [], [], ""
    for i, char in enumerate(text):
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = ""
            out.append(" ")
        elif char in "\"'`":
            quote = char
            out.append(" " if stack else char)
        elif char in _OPEN:
            out.append(char if not stack else " ")
            stack.append(_CLOSE[_OPEN.index(char)])
        elif char in _CLOSE:
            if not stack or stack.pop() != char:
                return None
            out.append(char if not stack else " ")
        else:
            out.append(" " if stack else char)
    return None if stack or quote else "".join(out)


def mql_short_table(resource_type: str = r"[A-Za-z_]\w*") -> str:
    """The pattern of a table written short, `resource_type` (a pattern) captured before its `::`, spaces around it
    allowed (`MQL_QUERY`)."""
    return rf"(?<![\w.:])({resource_type})\s*::\s*"


# An MQL query (Cloud Monitoring, "Alerting policies with MQL": "All MQL queries start with ... A fetch operation"; a
# query in strict form may open a `{ fetch ...; fetch ... }` join), told from a PromQL one where the condition's kind
# does not say which it is. A table operation may be written short, `fetch` left out: "About the MQL language", "Shortcuts
# for table operations": `gce_instance::compute.googleapis.com/instance/cpu/utilization` "is equivalent to" its `fetch`
# form. A metric type has a `/`, which no PromQL name has. Whether the grammar allows spaces around `::` is UNCONFIRMED
# (the MQL reference and "About the MQL language" write it without): each form read here allows them (`mql_short_table`),
# so a table is never taken for anything else; where the grammar refuses them the query fires nothing.
MQL_QUERY = re.compile(rf"^[\s({{]*(?:fetch\b|{mql_short_table()}[\w.]+/)")
# The resource type of each table an MQL query reads: after `fetch`, or before `::` in the short form.
_MQL_TABLE = re.compile(r"\bfetch\s+([A-Za-z_][\w.]*)|" + mql_short_table())


def mql_text(query: str) -> str:
    """An MQL `query` as its syntax reads, at the same positions: its comments (`uncommented_query`) and its quoted
    strings, single or double quoted with their escapes, blanked (`promql_syntax`). A `fetch` or a `::` inside a label
    value (`metric.route != 'Orders :: create'`) is no table of the query's."""
    return promql_syntax(query, same_length=True)


def is_mql(query: str) -> bool:
    """Whether a condition's `query` is MQL (`MQL_QUERY`), read past its comments: the one recogniser of every reader
    of a query (code_filters, query_names, incidents, present_failure)."""
    return bool(MQL_QUERY.match(mql_text(query)))


def mql_tables(query: str) -> list[str]:
    """The resource types of the tables an MQL `query` reads, in order, each once (`_MQL_TABLE`, on `mql_text`)."""
    return list(dict.fromkeys(fetched or short for fetched, short in _MQL_TABLE.findall(mql_text(query))))
_AGGREGATION = re.compile(
    r"(?<![\w.:])(sum|min|max|avg|group|stddev|stdvar|count|count_values|quantile)\s*(?=\(|\b(?:by|without)\b)",
    re.IGNORECASE)
_CLAUSE = re.compile(r"\s*\b(by|without)\s*\(([^()]*)\)", re.IGNORECASE)
_MQL_GROUP_BY = re.compile(r"\bgroup_by\s*\[([^\]]*)\]")


def _names(listed: str) -> set[str]:
    return {name.strip().strip("\"'") for name in listed.split(",") if name.strip()}


@dataclass(frozen=True)
class Unkept:
    """How a query's result does not keep a resource's label apart: the part of the query as written (`how`), why it
    loses it (`why`), and whether it aggregates series (an aggregation, a grouping) or rewrites labels (a matching, a
    label written)."""

    how: str
    why: str
    aggregated: bool = True


_AGGREGATED_AWAY = "labels it does not keep are aggregated away"


def promql_drops(query: str, kept: frozenset[str]) -> Unkept | None:
    """The first part of a PromQL `query` whose result keeps none of the labels `kept`, or writes one: an aggregation
    (a `by` naming none of them, a `without` naming all of them, or neither clause: every label aggregated away), a
    vector matching (`_matching_drops`), a label written (`_label_written`); None when every part keeps them."""
    text = promql_syntax(query)
    return _aggregation_drops(text, kept) or _matching_drops(text, kept) or _label_written(query, text, kept)


def _aggregation_drops(text: str, kept: frozenset[str]) -> Unkept | None:
    for found in _AGGREGATION.finditer(text):
        clause = _CLAUSE.match(text, found.end())
        if clause is None:
            opened = text.find("(", found.end())
            closed = closing_paren(text, opened) if opened >= 0 else None
            clause = _CLAUSE.match(text, closed + 1) if closed is not None else None
        operator = found.group(1)
        if clause is None:
            return Unkept(f"{operator}(...) with no by", _AGGREGATED_AWAY)
        how, names = clause.group(1).lower(), _names(clause.group(2))
        if (how == "by" and not names & kept) or (how == "without" and kept <= names):
            return Unkept(f"{operator} {how} ({', '.join(sorted(names))})", _AGGREGATED_AWAY)
    return None


# A vector matching: `on(...)` or `ignoring(...)`, then perhaps a group modifier and the labels it copies. Keywords are
# read in any case, as Prometheus's lexer reads them.
_MATCHING = re.compile(r"(?<![\w.:])(on|ignoring)\s*\(([^()]*)\)(?:\s*(group_left|group_right)\b(?:\s*\(([^()]*)\))?)?",
                       re.IGNORECASE)
_SET_OPERATOR = re.compile(r"(?<![\w.:])(?:and|or|unless)\s*$", re.IGNORECASE)


def _matching_drops(text: str, kept: frozenset[str]) -> Unkept | None:
    """The first vector matching of `text` whose result keeps none of `kept` (a one-to-one `on` naming none of them),
    drops one (a one-to-one `ignoring` naming one: the result may then name no single resource), or copies one from the
    other side (a group modifier's list naming one); a set operator's matching is passed over (it keeps series
    whole)."""
    for found in _MATCHING.finditer(text):
        if _SET_OPERATOR.search(text, 0, found.start()):
            continue
        matching, names = found.group(1).lower(), _names(found.group(2))
        group, copied = (found.group(3) or "").lower(), _names(found.group(4) or "")
        if group:
            if copied & kept:
                return Unkept(f"{group} ({', '.join(sorted(copied))})", "the labels listed are copied from the other "
                              "side's series, so the result names what that side names", aggregated=False)
            continue
        if (matching == "on" and not names & kept) or (matching == "ignoring" and names & kept):
            return Unkept(f"{matching} ({', '.join(sorted(names))})", "a one-to-one match keeps the labels it is on, "
                          "or drops those it ignores", aggregated=False)
    return None


# The functions that write a label, and their text emptied by `promql_syntax` (the n-th emptied string is the query's
# n-th string).
_LABEL_WRITER = re.compile(r"(?<![\w.:])(label_replace|label_join)\s*\(")
_EMPTIED = re.compile(r'""|\'\'|``')


def _label_written(query: str, text: str, kept: frozenset[str]) -> Unkept | None:
    """The first `label_replace`/`label_join` of `text` (`query` with its strings emptied) whose destination label is
    one of `kept`, or that names its destination in a form not read (no plain string)."""
    strings = [m.group(0)[1:-1] for m in _PROMQL_TEXT.finditer(query) if not m.group(0).startswith("#")]
    for found in _LABEL_WRITER.finditer(text):
        arguments = _arguments(text, found.end() - 1)
        destination = arguments[1] if arguments is not None and len(arguments) > 1 else None
        label = None
        if destination is not None:
            written = text[destination[0]:destination[1]]
            if _EMPTIED.fullmatch(written.strip()):
                index = len(_EMPTIED.findall(text, 0, destination[1] - len(written.lstrip())))
                label = strings[index] if index < len(strings) else None
        function = found.group(1)
        if label is None:
            return Unkept(f"{function} writes a label not read", "which label it writes is not read", aggregated=False)
        if label in kept:
            return Unkept(f"{function} writes {label}", "the series then names what the query wrote, not its "
                          "resource", aggregated=False)
    return None


def _arguments(text: str, opened: int) -> list[tuple[int, int]] | None:
    """The spans of the top-level arguments of the call whose parenthesis opens at `opened`, or None when it is not
    closed. `text` has its strings emptied, so a comma is always syntax."""
    closed = closing_paren(text, opened)
    if closed is None:
        return None
    spans, depth, start = [], 0, opened + 1
    for i in range(opened + 1, closed):
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(text[i], 0)
        if text[i] == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
    return spans + [(start, closed)]


def mql_drops(query: str, kept: frozenset[str]) -> Unkept | None:
    """The first `group_by [...]` of an MQL `query` that keeps none of the resource labels `kept`
    (`resource.service_name`, or the bare column), or None."""
    text = mql_text(query)
    for found in _MQL_GROUP_BY.finditer(text):
        names = {name.removeprefix("resource.") for name in _names(found.group(1))}
        if not names & kept:
            return Unkept(f"group_by [{found.group(1).strip()}]", _AGGREGATED_AWAY)
    return None
