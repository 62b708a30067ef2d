"""Errors of reaching the database that never left the service's own instance, by why (log_signals.
NeverLeft: a refused connection to loopback, a Unix socket missing, no file descriptor left): read by
connector_saturation (nothing of theirs crossed the connector) and database_unreachable (neither the
database nor the path to it is shown at fault). Neither rule imports the other."""
from __future__ import annotations

from collections import Counter
from operator import attrgetter

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, NeverLeft, never_left

# What a person checks for each kind.
NEVER_LEFT_ADVICE = {
    NeverLeft.LOOPBACK: ("look at the proxy sidecar in the same instances (its own log lines: did it start, exit or "
                         "restart; its port against the one the application dials; whether the application's "
                         "container waits for it, Cloud Run's container dependencies)"),
    NeverLeft.SOCKET: ("compare the socket path the application opens with the revision's Cloud SQL connection "
                       "(the instance connection name the /cloudsql volume mounts, set on this revision or not) "
                       "or the proxy sidecar that should serve it"),
    NeverLeft.FILES: ("look for a leak of files or connections in the application (a client, response or file "
                      "never closed; a pool per request), which a restart of its instances only postpones"),
}
# The sentence both rules end a finding with: what cannot help.
NOTHING_TO_SCALE = ("no connector or database setting changes this, and sending traffic back helps only if the "
                    "revision serving it brought it")


def only_never_left(facts: Facts) -> dict[str, list[LogRecord]]:
    """The errors of reaching the database (Facts.database_lines of db_connection, less the database's
    own refusals) whose text shows the connection failed inside the instance, by NeverLeft kind, most
    said first, when they are the story: at least db_error_logs_min of them (Facts.logged_enough: in a
    page cut short, fewer stand for more), and fewer than db_error_logs_min others that may have left
    the instance (the other errors of reaching it, waits for a pooled connection); else empty. Found
    once per diagnosis (two rules ask). Each distinct text is read once, the most repeated first, and
    the reading stops as soon as the others reach db_error_logs_min: in a read where the database's
    path is at fault too, only a few texts are ever asked."""
    if facts.db_never_left is None:
        facts.db_never_left = _found(facts)
    return facts.db_never_left


def _found(facts: Facts) -> dict[str, list[LogRecord]]:
    least = facts.s.db_error_logs_min
    # Each refusal is an error of reaching the database too (its pattern is in both signals), and a text
    # is one or the other whatever entry says it: the texts are compared, in C, never the entries.
    refused = set(map(_TEXT, facts.database_lines(LogSignal.DB_REFUSED)))
    lines = facts.database_lines(LogSignal.DB_CONNECTION)
    counts = Counter(map(_TEXT, lines))
    others = len(facts.database_lines(LogSignal.DB_POOL_WAIT))
    kinds: dict[str, str] = {}
    # Most said first, a tie in first appearance's order, as `most_common()` orders them, without its
    # (text, count) tuple for each of the hundreds of texts (objects the garbage collector counts:
    # bench/diagnosis_objects.py) to ask a few of them.
    for text in sorted(counts, key=counts.__getitem__, reverse=True):
        if text in refused:
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
    if sum(map(len, by_kind.values())) < least or not facts.logged_enough(sum(map(len, by_kind.values()))):
        return {}
    return dict(sorted(by_kind.items(), key=lambda item: -len(item[1])))


_TEXT = attrgetter("text")


def never_left_observed(found: dict[str, list[LogRecord]]) -> str:
    """The errors as evidence and in a summary: how many lines said each kind, with one quoted."""
    return "; ".join(f"{len(entries)}x {kind}, e.g. {entries[0].text[:160]!r}" for kind, entries in found.items())


def never_left_advice(found: dict[str, list[LogRecord]]) -> str:
    """What a person checks, for each kind found."""
    return "; ".join(NEVER_LEFT_ADVICE[kind] for kind in found)
