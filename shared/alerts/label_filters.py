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
  value (Logging query language, "Comparisons"). Monitoring's filter syntax lists `:` too (`<operator>`, "has"); that
  it is the same substring test there is UNCONFIRMED.
- Case: Logging compares text without case ("String comparisons are not case sensitive", "Logging query language",
  read in its ja and ko copies), so a log-match filter's `=`, `!=`, `:` and functions fold case (`fold_case`); a
  regular expression does not ("with the exception of regular expressions", same page). Whether Monitoring filters
  fold case is UNCONFIRMED: a value differing from the resource's only in case is not read there, and raises doubt.
  Cloud Run service names are lowercase, so `= "Backend"` in a Monitoring filter selects no service under a
  case-sensitive reading, backend under the other: neither is guessed.
- Field names: a comparison is the resource's when its field's name starts with `resource.` or `metadata.` (PromQL:
  `metadata_user_`, `metadata_system_`), not after a name or a dot: `jsonPayload.resource.labels.x` and
  `metric.labels.metadata_user_id` are an entry's or a series' own fields, and select no resource.
- Double negation: `NOT (NOT (a AND b))` is `(a AND b)` (`_without_double_negations`); a deeper nesting is not read.
- Metadata labels (`metadata.system_labels."state"`, PromQL's `metadata_user_team`): `metadata_selections`,
  `metadata_tests`, judged against the notification's metadata by incidents.Incident._metadata_doubt.
Not read, and raising doubt (`unselected`: it may not select the resource): an unquoted value holding another
character than letters, digits and `_`, a regular expression Python's `re` does not compile, one of RE2's own syntax
(`_RE2_ONLY`), one whose matching could run long (`_bounded`), a value differing only in case where case is not folded
(before, each but the first was taken to select the resource). Not read, and selecting nothing here (no
doubt): a negated group comparing no field of the resource (it excludes of every resource alike), `:*` (the label
present) outside a negated group, numeric comparisons.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_STRING = r'"(?:[^"\\]|\\.)*"'
_FUNCTIONS = ("one_of", "starts_with", "ends_with", "has_substring", "monitoring.regex.full_match")
# `resource.labels.L OP "v"` or `resource.labels.L OP function("v", ...)`; the key may be quoted
# (`resource.label."service_name"`, as gcloud and Terraform print it) and `label` singular.
# `resource.type` is compared as a field of the resource too (its key kept whole, RESOURCE_TYPE): in a negated group
# `NOT (resource.type = "cloud_run_revision" AND resource.labels.service_name = "backend")` excludes backend's revisions
# (before, the type was read as another field's comparison, the group not read and no doubt raised).
# The field is the entry's or series' own: `resource.` not following a name or a dot, so a log entry's payload field
# `jsonPayload.resource.labels.service_name` (a structured log naming another service) is no resource comparison
# (before, it was read as one, and a log-match condition selecting backend's logs was doubted as selecting
# another service).
RESOURCE_TYPE = "resource.type"
_COMPARISON = re.compile(
    r'(\bNOT\s+|(?<![\w.])-\s*)?(?<![\w.])resource\.(labels?\."?\w+"?|type\b)\s*(!=|=~|!~|=|:)\s*'
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
# RE2's own syntax, which Python's `re` refuses or reads otherwise (RE2 syntax, github.com/google/re2/wiki/Syntax:
# POSIX classes `[[:alpha:]]`, Unicode classes `\pN`, `\PN`, literal text `\Q...\E`, `\C` any byte, `\z` end of text,
# `\x{41}`): Python reads `[[:alpha:]]` as a set holding `[`, `:` and letters (a "Possible nested set"), so a value RE2
# does not match may pass. Such a pattern is not read.
_RE2_ONLY = re.compile(r"\[:\^?[a-z]+:\]|\\[pPQECz]|\\x\{")
_MAX_VALUE = 253


def _text_matches(how: str, value: str, values: tuple[str, ...]) -> bool:
    """Whether `value` passes a text comparison `how` of `values`, as written (no case folded here)."""
    if how in ("equals", "one_of"):
        return value in values
    if how in ("has", "has_substring"):
        return any(v in value for v in values)
    if how == "starts_with":
        return any(value.startswith(v) for v in values)
    return any(value.endswith(v) for v in values)        # ends_with


def _said(text: str) -> str:
    """A value as an answer quotes it, cut to 60 characters (incidents.quoted's form)."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _unquoted(literal: str) -> str:
    return _ESCAPE.sub(r"\1", literal[1:-1])


@dataclass(frozen=True)
class LabelTest:
    """One comparison a filter makes of a resource label: `how` (equals, one of the _FUNCTIONS, regex) over `values`,
    `negated` for `!=` and `!~`; `fold_case` where the language compares text without case (Logging: `_matches`)."""

    label: str
    how: str
    values: tuple[str, ...]
    negated: bool = False
    fold_case: bool = False

    def passes(self, value: str) -> bool | None:
        """Whether a resource whose label is `value` passes this comparison, or None when that is not read."""
        matched = self._matches(value)
        return None if matched is None else matched != self.negated

    def _matches(self, value: str) -> bool | None:
        """Whether `value` matches, or None when that is not read. Text compared by `=`, `:` and the functions: as
        written, or, failing that, without case. Logging compares text without case ("String comparisons are not case
        sensitive"; "The Logging query language is case-insensitive, with the exception of regular expressions and
        logical operators", Cloud Logging, "Logging query language", read in its ja and ko copies): `fold_case`, and
        a value differing only in case matches. Whether Monitoring filters compare without case is UNCONFIRMED (no
        stored copy of "Monitoring filters" says): a value differing only in case is not read there (None), so it
        raises doubt either way (before, `!= "Backend"` in a log-match filter was read as selecting
        backend, which Logging excludes, and its bar was lent to backend)."""
        if self.how == UNREAD:
            return None
        if self.how in ("regex", "monitoring.regex.full_match"):
            return self._regex_matches(value)
        if _text_matches(self.how, value, self.values):
            return True
        folded = _text_matches(self.how, value.lower(), tuple(v.lower() for v in self.values))
        return folded if self.fold_case else (None if folded else False)

    def _regex_matches(self, value: str) -> bool | None:
        """A regular expression (RE2: "Monitoring filters", "Logging query language") read by Python's `re` only where
        the two read it alike: a pattern of RE2's own syntax (`_RE2_ONLY`), one Python does not compile, or one whose
        matching could run long is not read (None), and raises doubt (`unselected`)."""
        if len(value) > _MAX_VALUE or not self.values or not _bounded(self.values[0]) \
                or _RE2_ONLY.search(self.values[0]):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")      # "Possible nested set" and the like: read otherwise than RE2 may
                pattern = re.compile(self.values[0])
        except (re.error, RecursionError, OverflowError, FutureWarning, DeprecationWarning):
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


def closing_paren(text: str, opened: int, quoted: Sequence[tuple[int, int]] = ()) -> int | None:
    """The index of the parenthesis closing the one at `opened`, skipping the `quoted` spans, or None."""
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
        closing = closing_paren(text, found.end() - 1, quoted)
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


# A negation outside quotes: `NOT` or a unary `-` (not one inside a value, `us-central1`).
_NEGATION = re.compile(r"\bNOT\b|(?<![\w.])-")
_LEADING_NEGATION = re.compile(r"\s*(?:\bNOT\b\s*|-\s*)")


def _without_double_negations(text: str) -> str:
    """`text` with each outermost double negation blanked, `NOT (NOT (a AND b))` read as `((a AND b))` and `NOT (NOT
    a)` as `(a)` (a negated negation is what it negates: both languages' `NOT`, "Monitoring filters", "Logging query
    language"; before, such a group was not read and raised doubt for nothing). Blanked with spaces, so
    every other position is kept. Only a pair inside no other negated group and negating no further negation is
    read: a deeper nesting (`NOT (NOT (NOT (a AND b)))`, `NOT (a OR NOT (b AND c))`) stays a group not read, which
    raises doubt (`unread_groups`)."""
    quoted, blanked = _quoted_spans(text), list(text)
    spans = [(found, closing_paren(text, found.end() - 1, quoted)) for found in _NEGATED_GROUP.finditer(text)
             if not any(start <= found.start() < end for start, end in quoted)]
    spans = [(found, closing) for found, closing in spans if closing is not None]
    for found, closing in spans:
        if any(o.start() < found.start() and closing <= c for o, c in spans if o is not found):
            continue
        inner_start = found.end()
        negation = _LEADING_NEGATION.match(text, inner_start)
        if negation is None:
            continue
        body = _negated_body(text, negation, closing, quoted)
        if body is None or _NEGATION.search(_ARGUMENT.sub('""', text[body[0]:body[1]])):
            continue
        for i in list(range(found.start(), found.end() - 1)) + list(range(negation.start(), body[0])):
            blanked[i] = " "
    return "".join(blanked)


def _negated_body(text: str, negation: re.Match[str], closing: int, quoted: list[tuple[int, int]]) \
        -> tuple[int, int] | None:
    """Where what the inner negation `negation` negates starts and ends, when it is all the outer group holds (its
    closing parenthesis at `closing`): a parenthesised group, or one comparison; else None."""
    if text.startswith("(", negation.end()):
        opened = negation.end()
        inner_close = closing_paren(text, opened, quoted)
        if inner_close is None or text[inner_close + 1:closing].strip():
            return None
        return opened, inner_close + 1
    comparison = _COMPARISON.match(text, negation.end())
    if comparison is None or comparison.group(1) or text[comparison.end():closing].strip():
        return None
    return negation.end(), comparison.end()


# Filters read at once: a deployment's policies hold a few, each read several times per notification.
_READ_FILTERS = 512


@lru_cache(maxsize=_READ_FILTERS)
def _read(text: str) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """`text` with its double negations blanked (`_without_double_negations`) and its negated groups
    (`_negated_groups`): a pure function of the text, worked out once per filter and shared by every reading of it
    (`label_tests`, `excluding_groups`, `unread_groups`, `metadata_tests`). `Incident.condition_doubt` reads its
    filter three times, and a notification's handling asks for it two to three times; a policy's notifications all
    carry the same filter. Profiled in `make soak`, this parse was about 30 % of `condition_doubt`'s CPU
    (docs/performance.md). Both parts are immutable (a string, tuples), so no caller can change what another
    reads."""
    read = _without_double_negations(text)
    return read, tuple(_negated_groups(read))


def _outermost(groups: tuple[tuple[int, int, str], ...]) -> list[tuple[int, int, str]]:
    """The groups inside no other negated group: a group inside one is negated again by it, so it is read only as
    part of the group around it (a nested negation leaves that one not read: `unread_groups`)."""
    return [g for g in groups if not any(o[0] < g[0] and g[1] <= o[1] for o in groups if o != g)]


def unread_groups(text: str, unquoted: bool = True) -> list[str]:
    """The text of each negated group of `text` that compares a resource's field (a label, `resource.type`) and is
    not read: a nested negation (`NOT (a OR NOT b)`), AND mixed with OR (Logging binds OR tighter than AND, "Logging
    query language", "Boolean operators": `"a" OR NOT "b" AND NOT "c" OR "d"` is `("a" OR (NOT "b")) AND ((NOT "c")
    OR "d")`; Monitoring filters' precedence is UNCONFIRMED), a resource's comparison joined by AND to `metric.type`
    or `project`. What such a group excludes is not read, so it may exclude the notification's resource: a doubt is
    raised (escalated), its bar never lent (before, no doubt was raised)."""
    unread, (text, groups) = [], _read(text)
    for start, end, form in _outermost(groups):
        inner = [_test(m, unquoted) for m in _COMPARISON.finditer(text) if start <= m.start() <= end]
        if inner and (form == "" or form == "conjunction" and None in inner):
            unread.append(text[start:end + 1])   # a conjunction's `:*` compares nothing read (`_test`)
    return unread


def _test(found: re.Match[str], unquoted: bool = True, fold_case: bool = False) -> LabelTest | None:
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
            return LabelTest(label, UNREAD, (bare,), negated=negated, fold_case=fold_case)
        literal = f'"{bare}"'
    values = (_unquoted(literal),) if literal is not None else tuple(
        _unquoted(a) for a in _ARGUMENT.findall(arguments or ""))
    if not values:
        return None
    how = function or {"=~": "regex", "!~": "regex", ":": "has"}.get(op, "equals")
    return LabelTest(label, how, values, negated=negated, fold_case=fold_case)


def label_tests(text: str, unquoted: bool = True, fold_case: bool = False) -> list[LabelTest]:
    """The resource-label comparisons `text` makes that are read (see the module's docstring), in order; with
    `unquoted` False (a query's text), none of an unquoted value; with `fold_case` (Logging), text compared without
    case (`LabelTest._matches`)."""
    tests, (text, groups) = [], _read(text)
    for found in _COMPARISON.finditer(text):
        around = [form for start, end, form in groups if start <= found.start() <= end]
        test = _test(found, unquoted, fold_case)
        if test is None or any(form != "alternatives" for form in around):
            continue        # nothing compared; inside a negated group not read as alternatives (`excluding_groups`)
        if around:          # each NOT flips it
            test = LabelTest(test.label, test.how, test.values, negated=not test.negated, fold_case=fold_case)
        tests.append(test)
    return tests


def excluding_groups(text: str, unquoted: bool = True, fold_case: bool = False) -> list[tuple[LabelTest, ...]]:
    """The comparisons of each `NOT (a AND b ...)` group of `text` whose every comparison is of a resource label (none
    nested, negated or of another field): the group excludes a resource that passes every one of them, and no other
    (`NOT (L = "a" AND M = "b")` is `L != "a" OR M != "b"`: it selects a elsewhere than b). A group holding another
    field's comparison (`metric.labels.response_code`) selects any resource for some of its series, and is not here."""
    found_groups, (text, groups) = [], _read(text)
    for start, end, form in _outermost(groups):
        if form != "conjunction":
            continue
        inner = [_test(m, unquoted, fold_case) for m in _COMPARISON.finditer(text) if start <= m.start() <= end]
        if inner and all(t is not None for t in inner):
            found_groups.append(tuple(t for t in inner if t is not None))
    return found_groups


# A comparison of a resource's metadata label: in a Monitoring filter `metadata.user_labels."team" = "payments"` or
# `metadata.system_labels.region = "us-central1"` (as filter objects: UNCONFIRMED, the stored copies of "Monitoring
# filters" read here stop before its "Filter syntax" table; TimeSeries.metadata, monitoring v3 REST reference: "metadata
# labels that are explicitly named in the reduction"; MonitoredResourceMetadata, google/api/monitored_resource.proto:
# system labels "extracted by Google", user labels "user-defined"), in an MQL query the same dotted names (UNCONFIRMED:
# no stored copy of the MQL reference names them), in PromQL a matcher on `metadata_user_<key>` or
# `metadata_system_<key>` (Cloud Monitoring, "PromQL in Cloud Monitoring": "metadata_system_version",
# "metadata_user_version"). A grouping by one (`by (metadata_system_region)`) selects nothing.
# Top-level only (not following a name or a dot): a payload's own `jsonPayload.metadata.user.id` or a metric label
# `metric.labels.metadata_user_id` is no metadata label of the resource (before, each was read as one, and
# every alert whose filter named such a field was escalated as selecting "by metadata label" another resource).
_METADATA_FIELD = re.compile(r'(?<![\w.])metadata\.(?:user_labels|system_labels|user|system)\.(?:"[^"]*"|\w+)')
_METADATA_MATCHER = re.compile(r"(?<![\w.])metadata_(?:user|system)_\w+\s*(?:=~|!~|!=|=)")
_ANY_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')


def metadata_selections(text: str) -> list[str]:
    """The metadata labels `text` compares, as written (`metadata.user_labels."team"`, `metadata_user_team`), outside
    quotes. Which resources they select is not read: the notification's `metadata` is `{system_labels: {}, user_labels:
    {}}` in every stored sample, a Compute Engine instance's too (a resource whose system labels Google extracts:
    "name" and the like), so an empty map says nothing of the resource's labels, and Runwarden reads none of it. A
    condition selecting by one may not select the notification's resource (before, it was not read and no
    doubt was raised)."""
    quoted = [m.span() for m in _ANY_QUOTED.finditer(text)]
    found = [m for pattern in (_METADATA_FIELD, _METADATA_MATCHER) for m in pattern.finditer(text)]
    outside = [m for m in found if not any(start <= m.start() < end for start, end in quoted)]
    return [m.group(0).rstrip("=~!").strip() for m in sorted(outside, key=lambda m: m.start())]


# A Monitoring filter's comparison of a metadata label, in `_COMPARISON`'s form (`metadata.system_labels."state" =
# "ACTIVE"`, as Cloud Monitoring's own example notification's condition writes it: "Notification options", its
# schema 1.2 example, tests/fixtures/samples/monitoring_docs_example_closed_gce__via_goalert.json).
_METADATA_COMPARISON = re.compile(_COMPARISON.pattern.replace(
    r'(?<![\w.])resource\.(labels?\."?\w+"?|type\b)', r'(?<![\w.])metadata\.((?:system|user)_labels\."?[\w-]+"?)'))


def metadata_tests(text: str, fold_case: bool = False) -> list[LabelTest] | None:
    """The metadata-label comparisons of a Monitoring filter `text`, each labelled `system_labels.<key>` or
    `user_labels.<key>`, or None when one is made in a form not read (inside a negated group, a function of no quoted
    value, an MQL or PromQL query's: `metadata_selections` finds more than are read here)."""
    (text, groups), tests = _read(text), []
    for found in _METADATA_COMPARISON.finditer(text):
        kind, key = found.group(2).split(".", 1)
        test = None if any(start <= found.start() <= end for start, end, _ in groups) else \
            _test(found, True, fold_case)
        if test is None:
            return None
        tests.append(LabelTest(f"{kind}.{key.strip(chr(34))}", test.how, test.values, test.negated, fold_case))
    return tests if len(tests) == len(metadata_selections(text)) else None


def excluded(group: tuple[LabelTest, ...], labels: dict[str, str]) -> bool | None:
    """Whether a `NOT (a AND b ...)` group (`excluding_groups`) excludes a resource of `labels`: True when it passes
    every comparison, False when it fails one, None when that is not known (a label it lacks, a value not read)."""
    results = [t.passes(labels[t.label]) if labels.get(t.label) else None for t in group]
    if any(r is False for r in results):
        return False
    return True if all(r is True for r in results) else None


def unselected(tests: list[LabelTest], value: str) -> list[LabelTest] | None:
    """The comparisons of one label that say a resource whose label is `value` is not selected, or that it may not be,
    or None when it is: one that excludes it (`!=`), or a negated one not read for it (what it excludes is unknown);
    else, when no selecting comparison passes it, the ones not read for it (it may be selected or not: a person
    decides), or, when every one is read, all of them (a filter's selections of one label are read as alternatives,
    `= "a" OR = starts_with("b")`). Not read: an unquoted value (UNREAD), a regular expression not read (`_RE2_ONLY`,
    `_bounded`, one Python does not compile), a value differing only in case where case is not known to be folded.
    Before, only UNREAD counted: a regular expression not read was taken to select the resource, so
    `monitoring.regex.full_match("(checkout)+-.*")` lent its bar to backend."""
    results = [(t, t.passes(value)) for t in tests]
    excluding = [t for t, passed in results if t.negated and passed is not True]
    if excluding:
        return excluding
    selecting = [(t, passed) for t, passed in results if not t.negated]
    if not selecting or any(passed for _, passed in selecting):
        return None
    unread = [t for t, passed in selecting if passed is None]
    return unread or [t for t, _ in selecting]


def selected_revision(text: str) -> str:
    """The one Cloud Run revision a condition's filter selects by `resource.labels.revision_name` (an equality or a
    `one_of` of one value, not negated), or "": a condition so written holds on that revision's series whether or not
    its notification keeps the label (one grouped by service drops it: Aggregation.group_by_fields, "Fields not
    specified in groupByFields are aggregated away", google/monitoring/v3/common.proto)."""
    return selected_value(text, "revision_name")


def selected_value(text: str, label: str) -> str:
    """The one value a condition's filter selects resource label `label` by (an equality or a `one_of` of one value,
    not negated), or ""."""
    tests = [t for t in label_tests(text) if t.label == label]
    if len(tests) != 1 or tests[0].how not in ("equals", "one_of") or tests[0].negated or len(tests[0].values) != 1:
        return ""
    return tests[0].values[0]
