"""The Logging stand-in keeps a long parenthesized group's tree by its text (`_Parser._group`).

The service log query (`app_log_filter`) is one group of some 10,000 characters between the window's
two timestamps: every new window is a new text, so keeping whole texts (`_parsed`) parsed the group
again for each one. A group's tree is a function of the characters its parse read (from its '(' to
its ')'), so it is taken again wherever a text goes on with exactly those characters: here, trees
taken from what was kept are the fresh parse's, and the refusals and their messages are unchanged."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sandbox.standins.base import ApiError
from sandbox.standins.logging import _Parser
from shared.diagnosis.log_signals import app_log_filter

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SIGNALS = "(" + " OR ".join(f'textPayload:"signal {n} (x) \\" --"' for n in range(20)) + ")"


def _window(minutes: int) -> str:
    return app_log_filter("p", "orders", "us-central1", NOW - timedelta(minutes=30 + minutes), NOW + timedelta(minutes=minutes))


def _fresh(text: str):
    return _Parser(text, kept={}).parse()


def _outermost_group(tree):
    """The service query's largest group: its signals, the one part every window shares."""
    return max(tree.parts, key=lambda part: len(repr(part)))


def test_the_service_query_s_group_is_parsed_once_across_windows():
    kept: dict = {}
    first, second = (_Parser(_window(n), kept=kept).parse() for n in (0, 1))
    assert first != second                                   # the windows differ
    assert _outermost_group(first) is _outermost_group(second)   # the signals' tree taken again, not parsed


@pytest.mark.parametrize("text", [
    _window(0), _window(7),
    f'severity>="ERROR" AND {SIGNALS} AND timestamp>="2026-11-26T12:00:00Z"',
    f'NOT {SIGNALS} textPayload:"y"',
    f'({SIGNALS}) OR {SIGNALS}',
    f'-- a comment with a ( and a "\n{SIGNALS} AND textPayload:"a)b"',
    f'{SIGNALS[:-1]} AND (textPayload:"z" OR textPayload:"w"))',
])
def test_a_kept_group_gives_the_fresh_parse(text):
    kept: dict = {}
    for _ in range(2):   # the first parse keeps the groups, the second takes them
        assert _Parser(text, kept=kept).parse() == _fresh(text)


@pytest.mark.parametrize("text", [
    f'{SIGNALS} AND (textPayload:"x"',           # an unclosed group after a kept one
    f'{SIGNALS[:-1]}',                           # the kept group's text without its ')'
    f'{SIGNALS} AND textPayload',                # a bare term after it
    f'({SIGNALS}',                               # a kept group inside an unclosed one
])
def test_a_refusal_is_unchanged_by_what_is_kept(text):
    kept: dict = {}
    _Parser(SIGNALS, kept=kept).parse()
    with pytest.raises(ApiError) as fresh:
        _fresh(text)
    with pytest.raises(ApiError) as with_kept:
        _Parser(text, kept=kept).parse()
    assert with_kept.value.message == fresh.value.message


def test_a_kept_group_is_taken_only_for_its_very_characters():
    kept: dict = {}
    _Parser(SIGNALS, kept=kept).parse()
    (prefix, [(text, tree)]), = kept.items()
    assert text == SIGNALS
    longer = SIGNALS[:-1] + ' OR textPayload:"one more")'   # the same first characters, another group
    assert _Parser(longer, kept=kept).parse() == _fresh(longer) != tree
    assert _Parser(f"{SIGNALS} AND {longer}", kept=kept).parse().parts[0] is tree
