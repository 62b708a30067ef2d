"""The Logging stand-in's quoted filter values: escapes, and where a string ends.

The parser takes the runs between quotes and backslashes whole; these hold it to the reading of a
string one character at a time (`_one_at_a_time`), on a table and on generated strings."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.standins.base import ApiError
from sandbox.standins.logging import _Parser


def _one_at_a_time(text: str) -> tuple[str, int] | None:
    """(the value, the position after its closing quote) of the string opening at 0, or None if it never closes."""
    pos, out = 1, []
    while pos < len(text):
        char = text[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(text):
            pos += 1
            char = {"n": "\n", "t": "\t"}.get(text[pos], text[pos])
        out.append(char)
        pos += 1
    return None


def _read(text: str) -> tuple[str, int] | None:
    parser = _Parser(text)
    try:
        return parser._quoted(), parser.pos
    except ApiError:
        return None


@pytest.mark.parametrize("text, expected", [
    ('"plain" AND x', ("plain", 7)),
    ('""', ("", 2)),
    ('"say \\"hi\\"" x', ('say "hi"', 12)),
    ('"a\\nb\\tc"', ("a\nb\tc", 9)),
    ('"back\\\\slash"', ("back\\slash", 13)),
    ('"\\q"', ("q", 4)),                         # any other escaped character stands for itself
    ('"unterminated', None),
    ('"ends in a backslash\\', None),
    ('"escaped quote last\\"', None),
], ids=["plain", "empty", "escaped quotes", "newline and tab", "backslash", "other escape", "unterminated",
        "trailing backslash", "escaped closing quote"])
def test_quoted_values(text: str, expected: tuple[str, int] | None) -> None:
    assert _read(text) == expected == _one_at_a_time(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab "\\nt', max_size=30))
def test_quoted_reads_as_one_character_at_a_time(body: str) -> None:
    text = '"' + body
    assert _read(text) == _one_at_a_time(text)
