"""A quoted part of a log line, cut between words: what a summary shows of a line too long to quote whole.

A cut inside a word reads as another word ("operat" for "operation", "Error 4" for "Error 409"): the reader of a
summary cannot tell a cut from the line's own words. Each cut here falls between words and is marked "...";
only a single word longer than the room left is cut inside itself (a URL, a token), and marked too."""
from __future__ import annotations

import re

ELLIPSIS = "..."
_SPACE = re.compile(r"\s")


def excerpt(text: str, start: int = 0, limit: int = 160, latest: int | None = None) -> str:
    """At most `limit` characters of `text` from `start`, cut only between words: a `start` inside a word moves
    on to the next word's start (no later than `latest`, which the caller keeps in the quote: the words it
    quotes the line for), an end inside a word moves back to the end of the word before it. "..." marks each
    cut: before, when the quote does not start at the line's start; after, when it ends before the line's end."""
    begin = _word_start(text, min(max(start, 0), len(text)), start + limit if latest is None else latest)
    stop = begin + limit
    if stop >= len(text):
        return (ELLIPSIS if begin else "") + text[begin:]
    return (ELLIPSIS if begin else "") + _words_before(text, begin, stop) + ELLIPSIS


def _word_start(text: str, start: int, latest: int) -> int:
    """`start`, or the start of the next word when `start` falls inside one (no later than `latest`)."""
    if start == 0 or start == len(text):
        return start
    if not text[start - 1].isspace() and not text[start].isspace():
        space = _SPACE.search(text, start, max(start, latest))
        if space is None:
            return min(max(start, latest), len(text))
        start = space.start()
    while start < len(text) and text[start].isspace():
        start += 1
    return start


def _words_before(text: str, begin: int, stop: int) -> str:
    """text[begin:stop] less a word `stop` cuts into, and the spaces before the cut; the cut as it is when
    the room holds a single word."""
    if text[stop].isspace() or text[stop - 1].isspace():
        return text[begin:stop].rstrip()
    end = stop - 1
    while end > begin and not text[end].isspace():
        end -= 1
    return text[begin:end].rstrip() if end > begin else text[begin:stop]
