"""The small kit every rule uses to cite what it checked."""
from __future__ import annotations

from typing import TYPE_CHECKING

# Citation and pct live below the facts (shared/diagnosis/citation.py), so Facts can cite its own readings.
from shared.diagnosis.citation import Citation, pct
# A duration has one wording in the project (latency_words.duration): a rule cites it as the timeline words it.
from shared.diagnosis.latency_words import duration

__all__ = ["UNREAD_LOGS_CONFIDENCE", "Citation", "duration", "pct", "unread_rule_outs"]

if TYPE_CHECKING:
    from shared.diagnosis.facts import Facts

# A finding whose log-based rule-out checks never ran (the service's log read failed: Facts.logs_unread)
# scores this, below act_min_confidence's default 0.8 as Cloud SQL's unknown state does: escalated.
UNREAD_LOGS_CONFIDENCE = 0.6


def unread_rule_outs(facts: "Facts", c: Citation, checks: tuple[str, ...]) -> str:
    """When the service's log read failed (Facts.logs_unread), or its page was cut before the incident
    window began and the read of the failure lines alone failed (Facts.page_cut: the lines of the first
    minutes not known), the rule's `checks` that read it to hold the finding back, cited as not run (a
    line's absence from what was read rules nothing out), as a clause for the summary; "" when the logs
    were read over the window."""
    why = facts.logs_unread or facts.page_cut
    if not why:
        return ""
    c.cite("log", "logging.entries.list: the service's application and system log", why,
           "read: " + "; ".join(checks) + " ruled out", False, role="context")
    return f"; but {why}, so these were not ruled out: {'; '.join(checks)} (confidence at most {UNREAD_LOGS_CONFIDENCE})"
