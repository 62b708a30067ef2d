"""Errors of reaching the database that never left the service's own instance, by why (log_signals.
NeverLeft: a refused connection to loopback, a Unix socket missing, no file descriptor left): read by
connector_saturation (nothing of theirs crossed the connector) and database_unreachable (neither the
database nor the path to it is shown at fault). Neither rule imports the other."""
from __future__ import annotations

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, NeverLeft, never_left, per_text

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


def never_left_errors(facts: Facts) -> dict[str, list[LogRecord]]:
    """The errors of reaching the database (Facts.database_lines of db_connection, less the database's
    own refusals) whose text shows the connection failed inside the instance, by NeverLeft kind, most
    said first; found once per diagnosis (two rules ask). Only the distinct texts of those lines are
    read (per_text), never the whole log."""
    if facts.db_never_left is not None:
        return facts.db_never_left
    answered = {id(e) for e in facts.database_lines(LogSignal.DB_REFUSED)}
    errors = [e for e in facts.database_lines(LogSignal.DB_CONNECTION) if id(e) not in answered]
    kinds = per_text(never_left, errors)
    by_kind: dict[str, list[LogRecord]] = {}
    for entry in errors:
        kind = kinds[entry.text]
        if kind:
            by_kind.setdefault(kind, []).append(entry)
    facts.db_never_left = dict(sorted(by_kind.items(), key=lambda item: -len(item[1])))
    return facts.db_never_left


def only_never_left(facts: Facts, others: int) -> dict[str, list[LogRecord]]:
    """`never_left_errors` when they are the story: at least db_error_logs_min of them (Facts.
    logged_enough: in a page cut short, fewer stand for more), and fewer than db_error_logs_min
    of the `others`, the errors of reaching the database that may have left the instance (a dial
    timed out, a connection reset, a pool wait); else empty."""
    found = never_left_errors(facts)
    count = sum(map(len, found.values()))
    if not found or not facts.logged_enough(count) or others >= facts.s.db_error_logs_min:
        return {}
    return found


def never_left_observed(found: dict[str, list[LogRecord]]) -> str:
    """The errors as evidence and in a summary: how many lines said each kind, with one quoted."""
    return "; ".join(f"{len(entries)}x {kind}, e.g. {entries[0].text[:160]!r}" for kind, entries in found.items())


def never_left_advice(found: dict[str, list[LogRecord]]) -> str:
    """What a person checks, for each kind found."""
    return "; ".join(NEVER_LEFT_ADVICE[kind] for kind in found)
