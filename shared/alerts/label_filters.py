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
  by De Morgan's law, each comparison negated (`NOT (L = "a" OR L = "b")` excludes both a and b). One joined by `AND`
  (or implicitly, Logging's adjacency: before, `NOT (a b)` was read as alternatives) excludes neither a nor b alone:
  `NOT (L = "a" AND M = "b")` excludes a resource passing both, which `excluding_groups` and `excluded` judge against
  the notification's labels (and its type: `resource.type` is compared as a field of the resource, RESOURCE_TYPE)
  when every comparison in it is the resource's (one joined by AND to a field that differs between one resource's
  series, `metric.labels.*`, `severity`, selects any resource for some series). Any other negated group comparing the
  resource (a nested negation, AND mixed with OR, a resource's comparison joined by AND to `metric.type` or
  `project`) is not read, and raises doubt (`unread_groups`): it may exclude the resource. Logging binds `NOT`
  tightest, then `OR`, then `AND` ("Logging query language", "Boolean operators": `"a" OR NOT "b" AND NOT "c" OR "d"`
  is `("a" OR (NOT "b")) AND ((NOT "c") OR "d")`); Monitoring filters' precedence is UNCONFIRMED, so a group mixing
  them is not read. That `-` negates a Monitoring filter's group as it does Logging's is UNCONFIRMED (read so: it
  raises doubt, never acts).
- An unquoted value (`resource.labels.service_name=backend`): Logging's example `NOT textPayload:robot` ("Logging
  query language") and "Unquoted text must not contain any special characters. When in doubt, add double quotation
  marks" ("Troubleshoot Logging query language", whose example `insertId = abc:def` is "ILLEGAL!"). Read when it holds
  letters, digits and `_` alone; any other character (`us-central1`, `checkout-api`) leaves it UNREAD: where a `-`
  ends an unquoted value (a unary `-` negating what follows, or part of it) is UNCONFIRMED, and no resource is
  selected under both readings, so an UNREAD comparison raises doubt (`unselected`): escalated, never a guess that
  acts. Whether Monitoring filters take unquoted values at all is UNCONFIRMED ("Monitoring filters" quotes every
  value in its examples): read the same way, it only raises doubt or reads the value a quote would. A query
  language's text (PromQL, MQL, SQL: `label_tests(text, unquoted=False)`) has no unquoted values: a bare word there is
  a name.
- `:` (has): Logging's "has" operator, `resource.labels.service_name:"back"`, matches "a substring" of the field's
  value (Logging query language, "Comparisons"), read here as a case-insensitive substring (its case-insensitivity
  is UNCONFIRMED: no stored copy of the page; Cloud Run service and connector names are lowercase, so the two
  readings differ on no such name). Monitoring's filter syntax lists `:` too (`<operator>`, "has"); that it is the
  same substring test there is UNCONFIRMED.
Not read (selects nothing here, so no doubt is raised by them): a negated group comparing no field of the resource
(it excludes of every resource alike), `:*` (the label present) outside a negated group, numeric comparisons, a regular expression Python's `re` does not compile,
and one whose matching could run long (`_bounded`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_STRING = r'"(?:[^"\\]|\\.)*"'
_FUNCTIONS = ("one_of", "starts_with", "ends_with", "has_substring", "monitoring.regex.full_match")
# `resource.labels.L OP "v"` or `resource.labels.L OP function("v", ...)`; the key may be quoted
# (`resource.label."service_name"`, as gcloud and Terraform print it) and `label` singular.
# `resource.type` is compared as a field of the resource too (its key kept whole, RESOURCE_TYPE): in a negated group
# `NOT (resource.type = "cloud_run_revision" AND resource.labels.service_name = "backend")` excludes backend's revisions
# (before, leftovers3, the type was read as another field's comparison, the group not read and no doubt raised).
RESOURCE_TYPE = "resource.type"
_COMPARISON = re.compile(
    r'(\bNOT\s+|(?<![\w.])-\s*)?\bresource\.(labels?\."?\w+"?|type\b)\s*(!=|=~|!~|=|:)\s*'
    rf'(?:({_STRING})|({"|".join(re.escape(f) for f in _FUNCTIONS)})\s*\(\s*((?:{_STRING}|[^()"])*)\)|([^\s()"]+))')
# An unquoted value read as written: letters, digits and `_` only, ended by a space, a parenthesis or the filter's end
# ("Unquoted text must not contain any special characters", Cloud Logging, "Troubleshoot Logging query language"; the
# Logging query language page's own example `NOT textPayload:robot`). Any other character in it (`us-central1`,
# `my-api`: whether `-` ends the value there, negating what follows as a unary `-` does, or is part of it, is
# UNCONFIRMED) leaves it not read (UNREAD), and a comparison not read raises doubt (`unselected`), never a guess.
_BARE_VALUE = re.compile(r"\w+")
UNREAD = "unread"
_ARGUMENT = re.compile(_STRING)
# Where a negated group opens: `NOT (` or `-(` (see the module's docstring), and the joining words a group of
# alternatives may hold besides its comparisons and parentheses.
_NEGATED_GROUP = re.compile(r"(?:\bNOT\s*|(?<![\w.])-\s*)\(")
# A group's comparisons stood in for by a mark (\x01 a resource label's, \x02 any other's): alternatives when `OR`
# joins each to the next; a conjunction when `AND` or nothing (Logging's implicit AND, "Logging query language",
# "Boolean operators") joins each to the next. Before, adjacency was read as alternatives (each comparison negated),
# which `NOT (a b)` is not.
_ALTERNATIVES_ONLY = re.compile(r"[\s()]*[\x01-\x03](?:[\s()]*\bOR\b[\s()]*[\x01-\x03])*[\s()]*")
_CONJUNCTION_ONLY = re.compile(r"[\s()]*\x01(?:[\s()]*(?:\bAND\b)?[\s()]*\x01)+[\s()]*")
# A conjunction holding a comparison of a field that differs between one resource's series or entries (\x02:
# `metric.labels.response_code`, `severity`): it excludes some series of a resource, never all of them, so it selects
# every resource for some series. A field the same for all of a resource's series (\x03: `metric.type`, `project`,
# `metadata.*`, a resource's own fields) is no such comparison: a group joining it to a resource's is not read.
_SERIES_CONJUNCTION = re.compile(r"[\s()]*[\x01\x02](?:[\s()]*(?:\bAND\b)?[\s()]*[\x01\x02])+[\s()]*")
_CONSTANT_FIELD = re.compile(r"(?:metric\.type|metric_type|project|metadata\.|resource\.)")
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
        if self.how == UNREAD:
            return None
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
        elif self.how == UNREAD:
            said = f"an unquoted value, {self.values[0][:60]}, not read (quote it)"
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


def _negated_groups(text: str) -> list[tuple[int, int, str]]:
    """Each `NOT (...)` group of `text` outside quotes: its span, and how it is read: "alternatives" (read by De
    Morgan's law), "conjunction" (resource comparisons alone joined by AND: `excluding_groups`), "series" (joined by
    AND to another field's comparison: it selects every resource for some series), "" (not read: `unread_groups`)."""
    quoted, groups = _quoted_spans(text), []
    for found in _NEGATED_GROUP.finditer(text):
        if any(start <= found.start() < end for start, end in quoted):
            continue
        closing = _closing(text, found.end() - 1, quoted)
        if closing is None:
            continue
        inner = text[found.end():closing]
        marks = _OTHER_COMPARISON.sub(
            lambda m: "\x03" if _CONSTANT_FIELD.match(m.group(0)) else "\x02",
            _COMPARISON.sub(lambda m: "\x01" if m.group(1) is None else "NOT", inner))
        form = "" if "NOT" in marks else ("alternatives" if _ALTERNATIVES_ONLY.fullmatch(marks)
                                          else "conjunction" if _CONJUNCTION_ONLY.fullmatch(marks)
                                          else "series" if _SERIES_CONJUNCTION.fullmatch(marks) else "")
        groups.append((found.start(), closing, form))
    return groups


def _outermost(groups: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The groups inside no other negated group: a group inside one is negated again by it, so it is read only as
    part of the group around it (a nested negation leaves that one not read: `unread_groups`)."""
    return [g for g in groups if not any(o[0] < g[0] and g[1] <= o[1] for o in groups if o != g)]


def unread_groups(text: str, unquoted: bool = True) -> list[str]:
    """The text of each negated group of `text` that compares a resource's field (a label, `resource.type`) and is
    not read: a nested negation (`NOT (a OR NOT b)`), AND mixed with OR (Logging binds OR tighter than AND, "Logging
    query language", "Boolean operators": `"a" OR NOT "b" AND NOT "c" OR "d"` is `("a" OR (NOT "b")) AND ((NOT "c")
    OR "d")`; Monitoring filters' precedence is UNCONFIRMED), a resource's comparison joined by AND to `metric.type`
    or `project`. What such a group excludes is not read, so it may exclude the notification's resource: a doubt is
    raised (escalated), its bar never lent (before, leftovers3, no doubt was raised)."""
    unread = []
    for start, end, form in _outermost(_negated_groups(text)):
        inner = [_test(m, unquoted) for m in _COMPARISON.finditer(text) if start <= m.start() <= end]
        if inner and (form == "" or form == "conjunction" and None in inner):
            unread.append(text[start:end + 1])   # a conjunction's `:*` compares nothing read (`_test`)
    return unread


def _test(found: re.Match[str], unquoted: bool = True) -> LabelTest | None:
    """The comparison `found` as a test (not negated by any group around it), or None when it compares nothing read
    as a value: `:*` (the label present), a function of no quoted argument, an unquoted value where `unquoted` is
    False (a query language's text, where a bare word is a name, not a value)."""
    prefix, key, op, literal, function, arguments, bare = found.groups()
    label = RESOURCE_TYPE if key == "type" else key.split(".", 1)[1].strip('"')
    negated = (op in ("!=", "!~")) ^ bool(prefix)
    if bare is not None:
        if not unquoted or op == ":" and bare == "*":
            return None
        after = found.string[found.end():found.end() + 1]
        if _BARE_VALUE.fullmatch(bare) is None or after not in ("", ")") and not after.isspace():
            return LabelTest(label, UNREAD, (bare,), negated=negated)
        literal = f'"{bare}"'
    values = (_unquoted(literal),) if literal is not None else tuple(
        _unquoted(a) for a in _ARGUMENT.findall(arguments or ""))
    if not values:
        return None
    how = function or {"=~": "regex", "!~": "regex", ":": "has"}.get(op, "equals")
    return LabelTest(label, how, values, negated=negated)


def label_tests(text: str, unquoted: bool = True) -> list[LabelTest]:
    """The resource-label comparisons `text` makes that are read (see the module's docstring), in order; with
    `unquoted` False (a query's text), none of an unquoted value."""
    tests, groups = [], _negated_groups(text)
    for found in _COMPARISON.finditer(text):
        around = [form for start, end, form in groups if start <= found.start() <= end]
        test = _test(found, unquoted)
        if test is None or any(form != "alternatives" for form in around):
            continue        # nothing compared; inside a negated group not read as alternatives (`excluding_groups`)
        if around:          # each NOT flips it
            test = LabelTest(test.label, test.how, test.values, negated=not test.negated)
        tests.append(test)
    return tests


def excluding_groups(text: str, unquoted: bool = True) -> list[tuple[LabelTest, ...]]:
    """The comparisons of each `NOT (a AND b ...)` group of `text` whose every comparison is of a resource label (none
    nested, negated or of another field): the group excludes a resource that passes every one of them, and no other
    (`NOT (L = "a" AND M = "b")` is `L != "a" OR M != "b"`: it selects a elsewhere than b). A group holding another
    field's comparison (`metric.labels.response_code`) selects any resource for some of its series, and is not here."""
    found_groups = []
    for start, end, form in _outermost(_negated_groups(text)):
        if form != "conjunction":
            continue
        inner = [_test(m, unquoted) for m in _COMPARISON.finditer(text) if start <= m.start() <= end]
        if inner and all(t is not None for t in inner):
            found_groups.append(tuple(t for t in inner if t is not None))
    return found_groups


def excluded(group: tuple[LabelTest, ...], labels: dict[str, str]) -> bool | None:
    """Whether a `NOT (a AND b ...)` group (`excluding_groups`) excludes a resource of `labels`: True when it passes
    every comparison, False when it fails one, None when that is not known (a label it lacks, a value not read)."""
    results = [t.passes(labels[t.label]) if labels.get(t.label) else None for t in group]
    if any(r is False for r in results):
        return False
    return True if all(r is True for r in results) else None


def unselected(tests: list[LabelTest], value: str) -> list[LabelTest] | None:
    """The comparisons of one label that say a resource whose label is `value` is not selected, or that it may not be,
    or None when it is or may be: one that excludes it (`!=`), or a negated one not read (UNREAD: what it excludes is
    unknown); else, when no selecting comparison passes it, the ones not read (it may be selected or not: a person
    decides), or, when every one is read, all of them (a filter's selections of one label are read as alternatives,
    `= "a" OR = starts_with("b")`)."""
    excluding = [t for t in tests if t.negated and (t.passes(value) is False or t.how == UNREAD)]
    if excluding:
        return excluding
    selecting = [t for t in tests if not t.negated]
    if not selecting or any(t.passes(value) for t in selecting):
        return None
    unread = [t for t in selecting if t.how == UNREAD]
    if unread:
        return unread
    return selecting if all(t.passes(value) is False for t in selecting) else None
