"""Errors of reaching the database that never left the service's own instance, by why (log_signals.
NeverLeft: a refused connection to loopback, a Unix socket missing, no file descriptor left): read by
connector_saturation (nothing of theirs crossed the connector) and database_unreachable (neither the
database nor the path to it is shown at fault). Neither rule imports the other."""
from __future__ import annotations

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import NeverLeft

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
    """The errors of reaching the database whose text shows the connection failed inside the instance,
    by NeverLeft kind, most said first, when they are the story: at least db_error_logs_min of them
    (Facts.logged_enough: in a page cut short, fewer stand for more), and fewer than db_error_logs_min
    others that may have left the instance; else empty. Facts.db_never_left, found once per diagnosis
    (two rules ask; database_errors.never_left_by_kind reads the texts)."""
    return facts.db_never_left


def never_left_observed(found: dict[str, list[LogRecord]]) -> str:
    """The errors as evidence and in a summary: how many lines said each kind, with one quoted."""
    return "; ".join(f"{len(entries)}x {kind}, e.g. {excerpt(entries[0].text)!r}" for kind, entries in found.items())


def never_left_advice(found: dict[str, list[LogRecord]]) -> str:
    """What a person checks, for each kind found."""
    return "; ".join(NEVER_LEFT_ADVICE[kind] for kind in found)
