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
  backticks; line comments that start with #): `promql_syntax` empties them first.
"""
from __future__ import annotations

import re

from shared.alerts.label_filters import closing_paren

# What of a PromQL query is no syntax: its quoted strings and its comments, read left to right so that a quote inside a
# comment, or a `#` inside a quote, is the other's text.
_PROMQL_TEXT = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`|#[^\n]*')


def promql_syntax(query: str) -> str:
    """`query` with its quoted strings emptied and its comments removed (`_PROMQL_TEXT`). A quote left open is kept as
    it is, so what follows it is still read, never hidden."""
    return _PROMQL_TEXT.sub(lambda m: "" if m.group(0).startswith("#") else m.group(0)[0] * 2, query)


# An MQL query (Cloud Monitoring, "Alerting policies with MQL": "All MQL queries start with ... A fetch operation"; a
# query in strict form may open a `{ fetch ...; fetch ... }` join), told from a PromQL one where the condition's kind
# does not say which it is.
MQL_QUERY = re.compile(r"^[\s({]*fetch\b")
_AGGREGATION = re.compile(
    r"(?<![\w.:])(sum|min|max|avg|group|stddev|stdvar|count|count_values|quantile)\s*(?=\(|\b(?:by|without)\b)",
    re.IGNORECASE)
_CLAUSE = re.compile(r"\s*\b(by|without)\s*\(([^()]*)\)", re.IGNORECASE)
_MQL_GROUP_BY = re.compile(r"\bgroup_by\s*\[([^\]]*)\]")
_MQL_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _names(listed: str) -> set[str]:
    return {name.strip().strip("\"'") for name in listed.split(",") if name.strip()}


def promql_drops(query: str, kept: frozenset[str]) -> str:
    """The first aggregation of a PromQL `query` whose result keeps none of the labels `kept` (a `by` naming none of
    them, a `without` naming all of them, or neither clause: every label aggregated away), as written, or ""."""
    text = promql_syntax(query)
    for found in _AGGREGATION.finditer(text):
        clause = _CLAUSE.match(text, found.end())
        if clause is None:
            opened = text.find("(", found.end())
            closed = closing_paren(text, opened) if opened >= 0 else None
            clause = _CLAUSE.match(text, closed + 1) if closed is not None else None
        operator = found.group(1)
        if clause is None:
            return f"{operator}(...) with no by"
        how, names = clause.group(1).lower(), _names(clause.group(2))
        if (how == "by" and not names & kept) or (how == "without" and kept <= names):
            return f"{operator} {how} ({', '.join(sorted(names))})"
    return ""


def mql_drops(query: str, kept: frozenset[str]) -> str:
    """The first `group_by [...]` of an MQL `query` that keeps none of the resource labels `kept`
    (`resource.service_name`, or the bare column), as written, or ""."""
    text = _MQL_QUOTED.sub("''", query)
    for found in _MQL_GROUP_BY.finditer(text):
        names = {name.removeprefix("resource.") for name in _names(found.group(1))}
        if not names & kept:
            return f"group_by [{found.group(1).strip()}]"
    return ""
