"""The small kit every rule uses to cite what it checked."""
from __future__ import annotations

from typing import TYPE_CHECKING

from shared.diagnosis.evidence import EvidenceItem, EvidenceRole, cited
from shared.diagnosis.signatures import Finding, Signature

if TYPE_CHECKING:
    from shared.diagnosis.facts import Facts

# A finding whose log-based rule-out checks never ran (the service's log read failed: Facts.logs_unread)
# scores this, below act_min_confidence's default 0.8 as Cloud SQL's unknown state does: escalated.
UNREAD_LOGS_CONFIDENCE = 0.6


class Citation:
    """Collects a rule's evidence items in the order it checked them."""

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self.about = signature.value
        self.items: list[EvidenceItem] = []

    def cite(self, source: str, query: str, observed: str, threshold: str = "", passed: bool | None = None,
             *, role: EvidenceRole | None = None) -> bool:
        """Records one check. `passed` means the check's condition held; unless `role` says
        otherwise, a condition that held supports this rule's signature and one that failed refutes it."""
        self.items.append(cited(source, query, observed, threshold, passed, role, self.about))
        return bool(passed)

    def no(self, why: str) -> Finding:
        return Finding(signature=self.signature, matched=False, summary=why, evidence=tuple(self.items))

    def doubt(self, why: str, recommendation: str) -> Finding:
        """Not matched, but not ruled out: it competes with whatever cause matched (diagnose._verdict)."""
        return Finding(signature=self.signature, matched=False, summary=why, evidence=tuple(self.items),
                       recommendation=recommendation, not_ruled_out=True)

    def yes(self, confidence: float, summary: str, **details) -> Finding:
        return Finding(signature=self.signature, matched=True, confidence=round(confidence, 2), summary=summary,
                       evidence=tuple(self.items), **details)


def pct(ratio: float) -> str:
    return f"{ratio:.1%}"


def duration(seconds: float) -> str:
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds >= 3600:
        return f"{sign}{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{sign}{seconds // 60}m{seconds % 60:02d}s"
    return f"{sign}{seconds}s"


def unread_rule_outs(facts: "Facts", c: Citation, checks: tuple[str, ...]) -> str:
    """When the service's log read failed (Facts.logs_unread), the rule's `checks` that read it to
    hold the finding back, cited as not run, as a clause for the summary; "" when the logs were read."""
    why = facts.logs_unread
    if not why:
        return ""
    c.cite("log", "logging.entries.list: the service's application and system log", why,
           "read: " + "; ".join(checks) + " ruled out", False, role="context")
    return f"; but {why}, so these were not ruled out: {'; '.join(checks)} (confidence at most {UNREAD_LOGS_CONFIDENCE})"
