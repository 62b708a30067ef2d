"""bench/diagnosis_instructions.py's per-function report wraps a function wherever diagnosis holds a reference to
it: a module's name for it, and the tables that list it (the rules' tuple, database_unreachable's `_DEPLOYS_OWN`, a
tuple of (function, query, threshold) read at import). Patched by name alone, the checks in such a table ran
unwrapped and were reported at 0.00 instructions. Pure: wraps and unwraps in memory, no valgrind."""
from __future__ import annotations

import pytest

from bench.diagnosis_instructions import _swapped, patch_references
from shared.diagnosis.rules import database_unreachable as unreachable


def _marker(fn):
    def wrapped(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapped


@pytest.mark.parametrize("table, expected", [
    ((1, (2, "q")), (1, ("R", "q"))),
    ([2, "x"], ["R", "x"]),
    ({"k": (2,)}, {"k": ("R",)}),
    ((1, "q"), (1, "q")),
], ids=["a tuple of tuples", "a list", "a dict's values", "nothing to swap"])
def test_a_reference_is_swapped_wherever_a_table_nests_it(table, expected):
    assert _swapped(table, 2, "R") == expected


def test_a_table_with_nothing_to_swap_is_kept_as_is():
    table = (1, ("q",))
    assert _swapped(table, 2, "R") is table


def test_the_checks_a_rule_lists_in_a_table_are_wrapped_and_given_back():
    original = unreachable._identity_changed
    replacement = _marker(original)
    assert patch_references(original, replacement) >= 1
    try:
        assert unreachable._DEPLOYS_OWN[0][0] is replacement
    finally:
        patch_references(replacement, original)
    assert unreachable._DEPLOYS_OWN[0][0] is original
