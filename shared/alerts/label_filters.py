"""Which resources a condition's filter selects by a resource label, as tests a label's value passes or fails. Pure.

Read only to tell whether the resource a notification names is one its condition selects (incidents.Incident.
condition_doubt): a resource the condition does not select means the notification's parts may be different
conditions' (an OR policy of one condition per service, the notification carrying another's), so its bar, its
value, and whether it states a present failure at all are not lent to that resource. Never read to name a resource:
the notification's `resource` does that (schema 1.2, `incident.resource`).

Sources:
- Cloud Monitoring, "Monitoring filters" (cloud.google.com/monitoring/api/v3/filters): a label compared with `=` to a
  quoted string, or to a function of one: `resource.labels.zone = starts_with("europe-")` and
  `metric.labels.instance_name = monitoring.regex.full_match("gke-(hipster|nginx).*")` (its examples), `one_of("a",
  "b")` ("matches any of the given strings"). `has_substring` (as in `metric.type = has_substring("my-resource")`)
  and `ends_with` are read as their names say: UNCONFIRMED (no stored copy of the page's filter-syntax table names
  them; a third-party metrics tool's documentation shows `has_substring` in that form). `!=` is the negated comparison.
- Cloud Logging, "Logging query language" (a log-match condition's filter): `=` compares, `=~` and `!~` match a
  regular expression anywhere in the value (RE2; the partial match is UNCONFIRMED here: no stored copy of the page;
  read so, a value passes more often, never less).
- A quoted string may hold a quote escaped by a backslash (`"a\\"b"`, both languages' string literals): read whole.
- Negation: both languages negate an expression with `NOT` (Monitoring filters' syntax, `NOT <expression>`; Logging
  query language, "Boolean operators": `NOT`, and a unary `-` for it), over one comparison (`NOT L = "v"` is
  `L != "v"`) or a parenthesised group. A group whose comparisons are joined by `OR` alone (or that holds one) is read
  by De Morgan's law, each comparison negated (`NOT (L = "a" OR L = "b")` excludes both a and b); one joined by `AND`
  (or implicitly, Logging's adjacency), or holding another group or negation, is not read, nor any comparison in
  it: `NOT (L = "a" AND M = "b")` excludes neither a nor b alone. That `-` negates a Monitoring filter's group as it
  does Logging's is UNCONFIRMED (read so: it raises doubt, never acts).
- `:` (has): Logging's "has" operator, `resource.labels.service_name:"back"`, matches "a substring" of the field's
  value (Logging query language, "Comparisons"), read here as a case-insensitive substring (its case-insensitivity
  is UNCONFIRMED: no stored copy of the page; Cloud Run service and connector names are lowercase, so the two
  readings differ on no such name). Monitoring's filter syntax lists `:` too (`<operator>`, "has"); that it is the
  same substring test there is UNCONFIRMED.
Not read (selects nothing here, so no doubt is raised by them): a comparison in a negated group of the forms above
that is not read, an unquoted value (Logging's `L=backend`), `:*` (the label present), numeric comparisons, a regular
expression Python's `re` does not compile, and one whose matching could run long (`_bounded`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_STRING = r'"(?:[^"\\]|\\.)*"'
_FUNCTIONS = ("one_of", "starts_with", "ends_with", "has_substring", "monitoring.regex.full_match")
# `resource.labels.L OP "v"` or `resource.labels.L OP function("v", ...)`; the key may be quoted
# (`resource.label."service_name"`, as gcloud and Terraform print it) and `label` singular.
_COMPARISON = re.compile(
    r'(\bNOT\s+|(?<![\w.])-\s*)?\bresource\.labels?\."?(\w+)"?\s*(!=|=~|!~|=|:)\s*'
    rf'(?:({_STRING})|({"|".join(re.escape(f) for f in _FUNCTIONS)})\s*\(\s*((?:{_STRING}|[^()"])*)\))')
_ARGUMENT = re.compile(_STRING)
# Where a negated group opens: `NOT (` or `-(` (see the module's docstring), and the joining words a group of
# alternatives may hold besides its comparisons and parentheses.
_NEGATED_GROUP = re.compile(r"(?:\bNOT\s*|(?<![\w.])-\s*)\(")
_ALTERNATIVES_ONLY = re.compile(r"[\s()]*(?:\bOR\b[\s()]*)*")
# Any other comparison a group of alternatives may hold (`metric.labels.response_code_class = "5xx"`): negated with the
# rest, it leaves each resource-label comparison's negation true on its own (NOT (x OR y) is NOT x AND NOT y).
_OTHER_COMPARISON = re.compile(
    rf'(?<![\w.])[A-Za-z_][\w.]*(?:\."[^"]*")?\s*(?:!=|=~|!~|>=|<=|=|:|<|>)\s*'
    rf'(?:{_STRING}|[\w.]+\s*\((?:{_STRING}|[^()"])*\)|[\w.-]+)')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)

# A regular expression is matched only when its matching is short: no quantified group (`(a+)+`, the catastrophic
# form) and at most three unbounded repeats (`.*.*.*` backtracks in cubic time over a label value of 253 characters).
_QUANTIFIED_GROUP = re.compile(r"\)[*+?{]")
_UNBOUNDED = re.compile(r"(?<!\\)[*+]|\{\d*,\}")
_MAX_PATTERN = 200
_MAX_VALUE = 253


def _said(text: str) -> str:
    """A value as an answer quotes it, cut to 60 characters (incidents.quoted's form)."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _unquoted(literal: str) -> str:
    return _ESCAPE.sub(r"\1", literal[1:-1])


@dataclass(frozen=True)
class LabelTest:
    """One comparison a filter makes of a resource label: `how` (equals, one of the _FUNCTIONS, regex) over `values`,
    `negated` for `!=` and `!~`."""

    label: str
    how: str
    values: tuple[str, ...]
    negated: bool = False

    def passes(self, value: str) -> bool | None:
        """Whether a resource whose label is `value` passes this comparison, or None when that is not read."""
        matched = self._matches(value)
        return None if matched is None else matched != self.negated

    def _matches(self, value: str) -> bool | None:
        if self.how in ("equals", "one_of"):
            return value in self.values
        if self.how == "has":
            return any(v.lower() in value.lower() for v in self.values)
        if self.how == "starts_with":
            return any(value.startswith(v) for v in self.values)
        if self.how == "ends_with":
            return any(value.endswith(v) for v in self.values)
        if self.how == "has_substring":
            return any(v in value for v in self.values)
        if len(value) > _MAX_VALUE or not self.values or not _bounded(self.values[0]):
            return None
        try:
            pattern = re.compile(self.values[0])
        except (re.error, RecursionError, OverflowError):
            return None
        found = pattern.fullmatch(value) if self.how == "monitoring.regex.full_match" else pattern.search(value)
        return found is not None

    @property
    def shown(self) -> str:
        """The comparison as a person reads it: 'backend', starts_with('front'), != 'backend'."""
        if self.how in ("equals", "one_of"):
            said = " or ".join(_said(v) for v in self.values)
        elif self.how == "regex":
            said = f"=~ {_said(self.values[0])}" if self.values else "=~"
        else:
            said = f"{self.how}({', '.join(_said(v) for v in self.values)})"
        return f"anything but {said}" if self.negated else said


def shown(tests: list[LabelTest]) -> str:
    """Comparisons as alternatives a person reads: the values compared by equality or `one_of` in one sorted list
    ('backend' or 'cart'), then each other comparison."""
    equal = sorted({v for t in tests if t.how in ("equals", "one_of") and not t.negated for v in t.values})
    said = [_said(v) for v in equal]
    said += [t.shown for t in tests if t.how not in ("equals", "one_of") or t.negated]
    return " or ".join(said)


def _bounded(pattern: str) -> bool:
    return (len(pattern) <= _MAX_PATTERN and not _QUANTIFIED_GROUP.search(pattern)
            and len(_UNBOUNDED.findall(pattern)) <= 3)


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _ARGUMENT.finditer(text)]


def _closing(text: str, opened: int, quoted: list[tuple[int, int]]) -> int | None:
    """The index of the parenthesis closing the one at `opened`, skipping quoted strings, or None."""
    depth, i = 0, opened
    while i < len(text):
        inside = next((end for start, end in quoted if start == i), None)
        if inside is not None:
            i = inside
            continue
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
        i += 1
    return None


def _negated_groups(text: str) -> list[tuple[int, int, bool]]:
    """Each `NOT (...)` group of `text` outside quotes: its span, and whether it is read (alternatives only)."""
    quoted, groups = _quoted_spans(text), []
    for found in _NEGATED_GROUP.finditer(text):
        if any(start <= found.start() < end for start, end in quoted):
            continue
        closing = _closing(text, found.end() - 1, quoted)
        if closing is None:
            continue
        inner = text[found.end():closing]
        residue = _OTHER_COMPARISON.sub("", _COMPARISON.sub(lambda m: "" if m.group(1) is None else "NOT", inner))
        read = "NOT" not in residue and _ALTERNATIVES_ONLY.fullmatch(residue) is not None
        groups.append((found.start(), closing, read))
    return groups


def label_tests(text: str) -> list[LabelTest]:
    """The resource-label comparisons `text` makes that are read (see the module's docstring), in order."""
    tests, groups = [], _negated_groups(text)
    for found in _COMPARISON.finditer(text):
        prefix, label, op, literal, function, arguments = found.groups()
        around = [read for start, end, read in groups if start <= found.start() <= end]
        if not all(around) or (op == ":" and literal is None):
            continue        # inside a negated group not read; a `:` with no quoted value (`:*`)
        values = (_unquoted(literal),) if literal is not None else tuple(
            _unquoted(a) for a in _ARGUMENT.findall(arguments or ""))
        if not values:
            continue
        how = function or {"=~": "regex", "!~": "regex", ":": "has"}.get(op, "equals")
        negated = (op in ("!=", "!~")) ^ bool(prefix) ^ bool(around)   # each NOT flips it
        tests.append(LabelTest(label, how, values, negated=negated))
    return tests


def unselected(tests: list[LabelTest], value: str) -> list[LabelTest] | None:
    """The comparisons of one label that say a resource whose label is `value` is not selected, or None when it may
    be: one that excludes it (`!=`), or, when every selecting comparison is read, all of them (a filter's selections
    of one label are read as alternatives, `= "a" OR = starts_with("b")`)."""
    excluding = [t for t in tests if t.negated and t.passes(value) is False]
    if excluding:
        return excluding
    selecting = [t for t in tests if not t.negated]
    if selecting and all(t.passes(value) is False for t in selecting):
        return selecting
    return None
