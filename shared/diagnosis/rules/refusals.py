"""The database's own refusals in the service's logs, by what it said: read by database_unreachable
(which names them) and connector_saturation (an answer proves the path through the connector works)."""
from __future__ import annotations

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, refusals_of


def refusals(facts: Facts) -> dict[str, list[LogRecord]]:
    """The database's refusals in the logs, by what it said (Refusal), most said first, when there
    are at least db_error_logs_min of them logged while requests failed (Facts.database_lines: a
    refusal that stopped before the failures began explains none of them; Facts.logged_enough: in a
    log page cut short, fewer stand for more; a refusal holds a connector move back, so a crowded
    page must not hide it); else empty. Only the distinct texts the one pass marked DB_REFUSED are named
    (refusals_of), not the whole read; found once per diagnosis (two rules ask)."""
    if facts.db_refusals is not None:
        return facts.db_refusals
    entries = facts.database_lines(LogSignal.DB_REFUSED)
    by_kind: dict[str, list[LogRecord]] = {}
    if facts.logged_enough(len(entries)):
        named = refusals_of(e.text for e in entries)
        for entry in entries:
            by_kind.setdefault(named[entry.text], []).append(entry)
    facts.db_refusals = dict(sorted(by_kind.items(), key=lambda item: -len(item[1])))
    return facts.db_refusals


def refused_observed(facts: Facts) -> str:
    """The refusals as evidence: how many lines said each, the most said first."""
    return "; ".join(f"{len(entries)}x {kind}" for kind, entries in refusals(facts).items())
