"""Whether a query condition (PromQL, MQL) is the share of a service's requests that failed. Pure.

A query condition's threshold is a share of requests only when its query divides the 5xx (or one 5xx
code) of the request count by ALL of the same requests: the same metric, the same selection apart from
the response code, the same function and window, the same grouping, compared upward with a plain
number. Any other quotient (4xx over all, one service's 5xx over another's, a service's 5xx over the
project's, a recording rule whose body is not in the query, a `bool` comparison whose value is 0 or 1,
a percentage `* 100`) is not read as a share: its bar is unknown, so it never makes a service
`healthy` nor lowers a rule's share bar. A form this module does not recognise is not a share either.

Sources:
- Cloud Monitoring, "Mapping Cloud Monitoring metrics to PromQL": replace the metric type's first `/`
  with `:` and every other special character with `_`, so `run.googleapis.com/request_count` is
  `run_googleapis_com:request_count`. The UTF-8 spelling `{__name__="run.googleapis.com/request_count"}`
  (the type itself as the name) is UNCONFIRMED for Cloud Monitoring; both spellings are read, and the
  selection must name the metric once.
- Prometheus, "Querying basics" (instant vector selectors: `{__name__="..."}` matches the metric
  name; matchers `=`, `!=`, `=~`, `!~`) and "Operators" (vector matching: `on`, `ignoring`,
  `group_left`, `group_right`; comparison operators filter unless followed by `bool`, which returns
  0 or 1 instead; aggregation `sum by (...)` / `sum(...) by (...)`, `without`).
- Prometheus, "Query functions": `rate` is the per-second average and `increase` the increase over
  the range; either divided by the same over the same range is the share.
- Monitoring Query Language reference: `ratio` ("Computes the ratio of value columns of two aligned
  input tables"), `filter_ratio_by` (a ratio of two aggregated sums of the input: the filtered part
  over all of it), `div` (a function: the first value divided by the second, usable as a table
  operation after `join`), `condition` (`| condition val() > 0.02 '1'`; a unit after the bar, `'%'`
  makes 2 a percentage, so only no unit or `'1'` is read).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared.alerts.query_grouping import top_level, uncommented_query

_METRIC_NAMES = frozenset({"run_googleapis_com:request_count", "run.googleapis.com/request_count"})
_CODE_LABELS = frozenset({"response_code_class", "response_code"})
# The numerator's one response-code matcher: the 5xx class, or one 5xx code (a 504 share is at most
# the 5xx share, so a service under a bar on 5xx is under it on the code too).
_FAILED = re.compile(r"response_code_class\x00(=|=~)\x005xx|response_code\x00=\x005\d\d|response_code\x00=~\x005\.\.")

def _unwrap(text: str) -> str:
    """`text` without parentheses around the whole of it."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        masked = top_level(text)
        if masked is None or masked.strip() != "(" + " " * (len(text) - 2) + ")":
            break
        text = text[1:-1].strip()
    return text


# --- PromQL ---------------------------------------------------------------------------------

_COMPARISON = re.compile(r"(?s)^(.*?)(>=?)\s*(bool\b\s*)?([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")
_OTHER_OPERATOR = re.compile(r"[*+\-%^<>=!]|\b(?:and|or|unless|atan2|offset)\b")
_MODIFIER = re.compile(r"(?s)^\s*(?:(on|ignoring)\s*\(([^)]*)\))?\s*(?:(group_left|group_right)\s*(?:\(([^)]*)\))?)?(.*)$")
_SUM = re.compile(r"(?s)^sum\s*(?:by\s*\(([^)]*)\))?\s*\((.*)\)$")
_SUM_BY_AFTER = re.compile(r"(?s)^sum\s*\((.*)\)\s*by\s*\(([^)]*)\)$")
_FUNCTION = re.compile(r"(?s)^(rate|increase)\s*\((.*)\[\s*(\w+)\s*\]\s*\)$")
_SELECTOR = re.compile(r"(?s)^([A-Za-z_:][\w:]*)?\s*(?:\{(.*)\})?$")
_MATCHER = re.compile(r'\s*(?:([A-Za-z_]\w*)\s*(=~|!=|!~|=)\s*)?"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass(frozen=True)
class _Part:
    """One side of a PromQL quotient: sum by (grouping) (function(selector[window]))."""

    grouping: frozenset[str]
    function: str
    window: str
    codes: frozenset[str]     # its response-code matchers, "label\0op\0value"
    others: frozenset[str]    # every other matcher: the selection of requests


def _labels(text: str | None) -> frozenset[str]:
    return frozenset(label.strip() for label in (text or "").split(",") if label.strip())


def _matchers(name: str, body: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """The response-code and other matchers of a request_count selector, or None when it selects
    another metric, names it twice or not at all, or is not read."""
    names, codes, others = [name] if name else [], set(), set()
    position = 0
    while position < len(body.rstrip()):
        found = _MATCHER.match(body, position)
        if not found or found.end() == position:
            return None
        label, op, value = found.group(1) or "__name__", found.group(2) or "=", found.group(3)
        position = found.end()
        if label == "__name__":
            if op != "=":
                return None
            names.append(value)
        else:
            (codes if label in _CODE_LABELS else others).add(f"{label}\x00{op}\x00{value}")
    if len(names) != 1 or names[0] not in _METRIC_NAMES:
        return None
    return frozenset(codes), frozenset(others)


def _part(text: str) -> _Part | None:
    """`text` as `sum [by (L)] (rate|increase(request_count{...}[W])) [by (L)]`, else None."""
    text = _unwrap(text)
    after = _SUM_BY_AFTER.match(text)
    summed = _SUM.match(text)
    if after:
        grouping, inner = after.group(2), after.group(1)
    elif summed:
        grouping, inner = summed.group(1), summed.group(2)
    else:
        return None
    if top_level(inner) is None:
        return None
    function = _FUNCTION.match(_unwrap(inner))
    selector = _SELECTOR.match(function.group(2).strip()) if function else None
    if not function or not selector:
        return None
    matchers = _matchers(selector.group(1) or "", selector.group(2) or "")
    if matchers is None:
        return None
    return _Part(_labels(grouping), function.group(1), function.group(3), *matchers)


def _matching_keeps_services_apart(on: str | None, labels: str | None, grouping: frozenset[str]) -> bool:
    """Whether the division's vector matching pairs each group's 5xx with its own requests: `on` the
    grouping itself, or `ignoring` labels the grouping does not keep (`on()` under a grouping by
    service divides each service's 5xx by every service's requests)."""
    if on is None:
        return True
    return _labels(labels) == grouping if on == "on" else not (_labels(labels) & grouping)


def promql_ratio(query: str) -> bool:
    """Whether a PromQL query is the 5xx share of requests compared upward with a plain number."""
    return bool(_promql_failed(query))


def _promql_failed(query: str) -> str:
    """The numerator's response-code matcher (label, operator and value, as `_Part.codes`) when the PromQL query is the 5xx
    share of requests compared upward with a plain number, else ""."""
    text = uncommented_query(query)
    masked = top_level(text)
    compared = _COMPARISON.match(masked) if masked is not None else None
    if not compared or compared.group(3):
        return ""
    expression = _unwrap(text[:compared.end(1)])
    top = top_level(expression) or ""
    if top.count("/") != 1:
        return ""
    cut = top.index("/")
    if _OTHER_OPERATOR.search(top[:cut]) or _OTHER_OPERATOR.search(top[cut + 1:]):
        return ""
    modifier = _MODIFIER.match(expression[cut + 1:])
    numerator, denominator = _part(expression[:cut]), _part(modifier.group(5)) if modifier else None
    if numerator is None or denominator is None or len(numerator.codes) != 1:
        return ""
    code = next(iter(numerator.codes))
    share = (bool(_FAILED.fullmatch(code)) and not denominator.codes
             and numerator.others == denominator.others and numerator.grouping == denominator.grouping
             and (numerator.function, numerator.window) == (denominator.function, denominator.window)
             and _matching_keeps_services_apart(modifier.group(1), modifier.group(2), numerator.grouping))
    return code if share else ""


# --- MQL ------------------------------------------------------------------------------------

_MQL_CONDITION = re.compile(r"\|\s*condition\s+val\(\)\s*>=?\s*[0-9]*\.?[0-9]+(?:\s*'1')?\s*$")
_MQL_METRIC = re.compile(r"::\s*([\w./]+)|\bmetric\s+['\"]([^'\"]+)['\"]")
_MQL_FAILED = r"metric\.response_code_class\s*==\s*['\"]5xx['\"]|metric\.response_code\s*==\s*['\"]?5\d\d['\"]?"
_MQL_FAILED_FILTER = re.compile(rf"^\s*(?:\w+\s*:)?\s*(.*?)\|?\s*filter\s+(?:{_MQL_FAILED})\s*(\|.*)?$", re.DOTALL)
_MQL_FILTER_RATIO = re.compile(rf"\|\s*filter_ratio_by\s*\[[^\]]*\]\s*,\s*(?:{_MQL_FAILED})\s*\|")
_MQL_QUOTIENT = re.compile(r"\}\s*(?:\|[^|{}]*)*?\|\s*(?:ratio|join\s*\|\s*div)\s*\|")


def _words(text: str) -> str:
    return " ".join(text.replace("|", " | ").split())


def _mql_arms(query: str) -> tuple[str, str] | None:
    """The two arms of the query's `{ ... ; ... }`, or None when it has not exactly one such block
    of two arms."""
    masked = top_level(query)
    if masked is None or masked.count("{") != 1:
        return None
    start = masked.index("{")
    end = masked.index("}", start)
    inner = query[start + 1:end]
    inner_top = top_level(inner) or ""
    if inner_top.count(";") != 1:
        return None
    cut = inner_top.index(";")
    return inner[:cut], inner[cut + 1:]


def _arms_are_5xx_over_all(numerator: str, denominator: str) -> bool:
    """The numerator arm is the denominator arm with a 5xx filter added; the denominator arm
    (`ident`: the input itself) selects by no response code."""
    failed = _MQL_FAILED_FILTER.match(numerator)
    if not failed:
        return False
    rest = _words(re.sub(r"^\s*\w+\s*:", "", failed.group(1) + (failed.group(2) or "")))
    whole = _words(re.sub(r"^\s*\w+\s*:", "", denominator))
    rest, whole = ("" if rest == "ident" else rest.strip("| ")), ("" if whole == "ident" else whole.strip("| "))
    return rest == whole and "response_code" not in whole


def mql_ratio(query: str) -> bool:
    """Whether an MQL query is the 5xx share of request_count compared upward by its last `condition`, its comments
    no part of it (`uncommented_query`, as for the numerator's readers: a `#` after the `condition` or in the
    denominator's arm is no stage). Before, a comment in either arm or after the bar made the share unread."""
    text = uncommented_query(query).strip()
    if not _MQL_CONDITION.search(text):
        return False
    metrics = {a or b for a, b in _MQL_METRIC.findall(text)}
    if metrics != {"run.googleapis.com/request_count"}:
        return False
    if _MQL_FILTER_RATIO.search(text):
        return "{" not in text and text.count("response_code") == 1
    arms = _mql_arms(text)
    if arms is None or not _MQL_QUOTIENT.search(text):
        return False
    outside = text[:text.index("{")] + text[text.index("}") + 1:]
    return "response_code" not in outside and _arms_are_5xx_over_all(*arms)


def ratio_query_covers_504(query: str) -> bool:
    """Whether a query read as a share (`ratio_query`) counts every 504 in its numerator: the 5xx
    class (`response_code_class="5xx"`, `response_code=~"5.."`) or the one code 504. A share of 503s
    alone at 2 % says nothing of what share of 504s matters (a 504 share of 5 % leaves it at 0)."""
    failed = _promql_failed(query)
    if failed:
        value = failed.split("\x00")[2]
        return value in ("5xx", "5..", "504")
    if not mql_ratio(query):
        return False
    codes = re.findall(r"metric\.response_code(_class)?\s*==\s*['\"]?(\w+)", uncommented_query(query))
    return bool(codes) and all(value in ("5xx", "504") for _, value in codes)


def ratio_query(query: str) -> bool:
    """Whether a query condition's text is the share of a service's requests that failed, in a form
    read here (`promql_ratio`, `mql_ratio`), so its threshold is a share of requests."""
    return promql_ratio(query) or mql_ratio(query)
