"""The database's own refusals in the service's logs, by what it said: read by database_unreachable
(which names them) and connector_saturation (an answer proves the path through the connector works)."""
from __future__ import annotations

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts


def refusals(facts: Facts) -> dict[str, list[LogRecord]]:
    """The database's refusals in the logs, by what it said, most said first, when enough were logged
    while requests failed; else empty: Facts.db_refusals, found once per diagnosis (two rules ask)."""
    return facts.db_refusals


def refused_observed(facts: Facts) -> str:
    """The refusals as evidence: how many lines said each, the most said first."""
    return "; ".join(f"{len(entries)}x {kind}" for kind, entries in refusals(facts).items())
