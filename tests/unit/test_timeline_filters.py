"""The audit filters' packing (shared/timeline/queries.py audit_filters): every name once, in order,
each filter within Logging's length limit, and the work linear in the names."""
from __future__ import annotations

import re
import sys
from datetime import datetime, timezone

import pytest

from shared.timeline.queries import MAX_FILTER_CHARS, audit_filter, audit_filters, near_ids

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def secrets(n: int) -> set[str]:
    return {f"db-password-{i:05d}" for i in range(n)}


def joins_of_or(call) -> int:
    """How many times `call` joins strings with " OR " (str.join's calls, seen by the profiler)."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "c_call" and getattr(arg, "__name__", "") == "join" and getattr(arg, "__self__", None) == " OR ":
            count += 1

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("limit", [MAX_FILTER_CHARS, None])
def test_each_group_and_filter_is_joined_once_never_once_per_name(limit):
    """Each name used to be joined again with every name before it in its group (the trial group), and
    each filter's groups again to measure it: quadratic. 16,000 names in one filter (`audit_filter`,
    no limit) took 8.5 s; with the limit, every filter's names were still re-read per name. The
    lengths are now kept as running counts: joins grow with the groups and filters, not the names."""
    names = secrets(2_000)
    filters = audit_filters("my-project", T0, T0, "backend", secrets=names, limit=limit)
    joins = joins_of_or(lambda: audit_filters("my-project", T0, T0, "backend", secrets=names, limit=limit))
    assert joins <= 2 * len(filters) + 2, (joins, len(filters))


@pytest.mark.parametrize("limit", [MAX_FILTER_CHARS, 1_500, 800])
def test_every_name_is_in_exactly_one_filter_in_order_and_each_filter_is_within_the_limit(limit):
    names = secrets(500)
    filters = audit_filters("my-project", T0, T0, "backend", connectors={"conn-a", "conn-b"},
                            sql_instances={"db-main"}, secrets=names, limit=limit)
    assert all(len(f) <= limit for f in filters), [len(f) for f in filters]
    found = [n for f in filters for n in re.findall(r'secrets/(db-password-\d{5})', f)]
    assert found == sorted(names)
    assert 'services/backend' in filters[0]        # the service's own group first
    assert audit_filter("my-project", T0, T0, "backend", secrets=names).count("db-password-") == len(names)


@pytest.mark.parametrize("wanted, known, near", [
    ("0.nrwotmyokd9m", ["0.nrwotmyokd9n", "0.abcdefghijk"], ["0.nrwotmyokd9n"]),   # one character wrong
    ("0.nrwotmyok9n", ["0.nrwotmyokd9n"], ["0.nrwotmyokd9n"]),                      # one dropped
    ("0.NRWOTMYOKD9N", ["0.nrwotmyokd9n"], ["0.nrwotmyokd9n"]),                     # case alone
    ("0.nrwotmyokd9n", ["0.nrwotmyokd9n"], []),                                     # the id itself: no advice
    ("0.zzzzzzzzzzzz", ["0.nrwotmyokd9n"], []),                                     # nothing near
    # nearest first, the newer first at one distance, at most 3
    ("0.aaa", ["0.abb", "0.aab", "0.bbb", "0.aaa1"], ["0.aab", "0.aaa1", "0.abb"]),
    # a label any log writer can set, not of an incident id's shape, is never offered as a command to run
    ("0.nrwotmyokd9n", ["0.nrwotmyokd9n;w"], []),
    ("0.nrwotmyokd9n", ["0.nrwotmyokd9`w"], []),
    ("0.nrwotmyokd9n", ["0.nrwotmyokd9 w"], []),
    ("0.nrwotmyokd9n", ["0.nrwotmyokd9\x1b", "0.nrwotmyokd9m"], ["0.nrwotmyokd9m"]),
    ("0.nrwotmyokd9n", ["0.nrwotmyokd9n\u202e"], []),
])
def test_near_ids_are_within_two_edits_ignoring_case(wanted, known, near):
    assert near_ids(wanted, known) == near
