"""A filter read again, and read with other options, gives the answers a first reading gives.

The parse of a filter (its double negations blanked, its negated groups found) is worked out once per text
and shared by every reading of it (shared/alerts/label_filters.py, `_read`). What a reading adds on top (whether an
unquoted value is read, whether case is folded) must still follow the caller's options, and an answer a caller
changes must not change the next caller's. Each row is read in every order of its options, twice.
"""
from __future__ import annotations

import itertools

import pytest

from shared.alerts.label_filters import LabelTest, excluding_groups, label_tests, metadata_tests, unread_groups

_SVC = "resource.labels.service_name"

# (filter, unquoted, fold_case) -> label_tests' answer
LABEL_TESTS = [
    (f'{_SVC} = backend', True, False, [LabelTest("service_name", "equals", ("backend",))]),
    (f'{_SVC} = backend', False, False, []),
    (f'{_SVC} = "backend"', True, True, [LabelTest("service_name", "equals", ("backend",), fold_case=True)]),
    (f'{_SVC} = "backend"', True, False, [LabelTest("service_name", "equals", ("backend",))]),
    (f'NOT (NOT ({_SVC} = "a" OR {_SVC} = "b"))', True, False,
     [LabelTest("service_name", "equals", ("a",)), LabelTest("service_name", "equals", ("b",))]),
    (f'NOT ({_SVC} = "a" OR {_SVC} = "b")', True, True,
     [LabelTest("service_name", "equals", ("a",), negated=True, fold_case=True),
      LabelTest("service_name", "equals", ("b",), negated=True, fold_case=True)]),
]


@pytest.mark.parametrize("text,unquoted,fold_case,expected", LABEL_TESTS)
def test_label_tests_follow_the_options_of_each_reading(text: str, unquoted: bool, fold_case: bool,
                                                        expected: list[LabelTest]) -> None:
    others = [(u, f) for u, f in itertools.product((True, False), repeat=2) if (u, f) != (unquoted, fold_case)]
    for before in others:   # the same text read first with other options
        label_tests(text, *before)
    assert label_tests(text, unquoted, fold_case) == expected
    assert label_tests(text, unquoted, fold_case) == expected


READINGS = [
    lambda text: label_tests(text),
    lambda text: excluding_groups(text),
    lambda text: unread_groups(text),
    lambda text: metadata_tests(text),
]
FILTERS = [
    f'{_SVC} = "a" AND NOT ({_SVC} = "b" AND resource.labels.location = "x")',
    f'NOT ({_SVC} = "a" OR NOT {_SVC} = "b")',
    f'metadata.user_labels."team" = "payments" AND {_SVC} = "a"',
    f'NOT (NOT (NOT ({_SVC} = "a" AND {_SVC} = "b")))',
]


@pytest.mark.parametrize("text", FILTERS)
@pytest.mark.parametrize("reading", range(len(READINGS)))
def test_an_answer_changed_by_its_caller_changes_no_later_answer(text: str, reading: int) -> None:
    read = READINGS[reading]
    first = read(text)
    kept = list(first) if first is not None else None
    if isinstance(first, list):
        first.append("changed by the caller")   # type: ignore[arg-type]
        first.reverse()
    assert read(text) == kept
