"""The database's refusals and the errors of reaching it in the service's logs, sorted by kind: pure
functions over log lines, no I/O. Facts reads each once per diagnosis with them (Facts.db_refusals,
db_never_left, db_unreached_lines, db_closed, db_refused_dials), and the rules (connector_saturation, database_unreachable,
rules/refusals.py, rules/never_left.py) only read what Facts kept: they live here, below both, because
the rules import Facts."""
from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import compress

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.log_signals import bare_link_failure, closed_connection, never_left, per_text, refusals_of, refused_dial

_TEXT = operator.attrgetter("text")


def refusals_by_kind(entries: Sequence[LogRecord], enough: bool) -> dict[str, list[LogRecord]]:
    """The refusals `entries` hold by what the database said (Refusal), most said first, when `enough`
    of them were logged; else empty. Only the distinct texts are named (refusals_of)."""
    by_kind: dict[str, list[LogRecord]] = {}
    if enough:
        named = refusals_of(e.text for e in entries)
        for entry in entries:
            by_kind.setdefault(named[entry.text], []).append(entry)
    return dict(sorted(by_kind.items(), key=lambda item: -len(item[1])))


def never_left_by_kind(refused: Sequence[LogRecord], lines: Sequence[LogRecord], pool_waits: int, least: int,
                       logged_enough: Callable[[Sequence[LogRecord]], bool]) -> dict[str, list[LogRecord]]:
    """The errors of reaching the database (`lines`, less the texts of the database's own refusals,
    `refused`) whose text shows the connection failed inside the instance, by NeverLeft kind, most said
    first, when they are the story: at least `least` of them (`logged_enough` of them, asked
    last), and fewer than `least` others that may have left the instance (the other errors, and the
    `pool_waits`); else empty. Each distinct text is read once, the most repeated first, and the
    reading stops as soon as the others reach `least`."""
    # Each refusal is an error of reaching the database too (its pattern is in both signals), and a text
    # is one or the other whatever entry says it: the texts are compared, in C, never the entries.
    refused_texts = set(map(_TEXT, refused))
    counts = Counter(map(_TEXT, lines))
    others = pool_waits
    kinds: dict[str, str] = {}
    # Most said first, a tie in first appearance's order, as `most_common()` orders them, without its
    # (text, count) tuple for each of the hundreds of texts (objects the garbage collector counts:
    # bench/diagnosis_objects.py) to ask a few of them.
    for text in sorted(counts, key=counts.__getitem__, reverse=True):
        if text in refused_texts:
            continue
        kinds[text] = kind = never_left(text)
        others += 0 if kind else counts[text]
        if others >= least:
            return {}
    by_kind: dict[str, list[LogRecord]] = {}
    for entry in lines:
        kind = kinds.get(entry.text)
        if kind:
            by_kind.setdefault(kind, []).append(entry)
    found = [entry for entries in by_kind.values() for entry in entries]
    if len(found) < least or not logged_enough(found):
        return {}
    return dict(sorted(by_kind.items(), key=lambda item: -len(item[1])))


def lines_but(lines: Sequence[LogRecord], left_out: Iterable[LogRecord]) -> list[LogRecord]:
    """`lines` without the entries in `left_out` (the same records, told by identity), in order."""
    # Each line's id looked up once, in C.
    ids = set(map(id, left_out))
    return list(compress(lines, map(operator.not_, map(ids.__contains__, map(id, lines)))))


def closed_count(lines: Sequence[LogRecord]) -> int:
    """How many of `lines` say only that an open connection was found closed or broken
    (log_signals.closed_connection), each distinct text asked once."""
    return _count_saying(closed_connection, lines)


def refused_dial_count(lines: Sequence[LogRecord]) -> int:
    """How many of `lines` say only that a dial to an address other than loopback was refused at once
    (log_signals.refused_dial), each distinct text asked once."""
    return _count_saying(refused_dial, lines)


def bare_link_lines(lines: Sequence[LogRecord]) -> list[LogRecord]:
    """The `lines` that are Connector/J's link failure with no cause said (log_signals.bare_link_failure),
    each distinct text asked once."""
    return _lines_saying(bare_link_failure, lines)


def _count_saying(read: Callable[[str], bool], lines: Sequence[LogRecord]) -> int:
    return len(_lines_saying(read, lines))


def _lines_saying(read: Callable[[str], bool], lines: Sequence[LogRecord]) -> list[LogRecord]:
    said = per_text(read, lines)
    return [e for e in lines if said[e.text]]
