"""Citation, the kit a check cites what it read with, below the facts and the rules: the rules cite with
it (rules/base.py re-exports it), and so do the readings Facts keeps with the checks that found them
(Facts.connector_news, connector_news.py), which could not import it from the rules package (the rules
import Facts). `query_of` names the query a check cites (facts.py re-exports it)."""
from __future__ import annotations

from shared.diagnosis.evidence import EvidenceItem, EvidenceRole, MetricResult, cited
from shared.diagnosis.signatures import Finding, Signature


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

    def doubt(self, why: str, recommendation: str, ended: frozenset[str] = frozenset()) -> Finding:
        """Not matched, but not ruled out: it competes with whatever cause matched (diagnose._verdict). `ended`:
        what ended the requests the recommendation already covers (Finding.ended)."""
        return Finding(signature=self.signature, matched=False, summary=why, evidence=tuple(self.items),
                       recommendation=recommendation, not_ruled_out=True, ended=ended)

    def beside(self, why: str) -> Finding:
        """Ruled out, but in the failures' minutes: named beside the cause that stands (diagnose._verdict)."""
        return Finding(signature=self.signature, matched=False, summary=why, evidence=tuple(self.items), beside=True)

    def yes(self, confidence: float, summary: str, **details) -> Finding:
        return Finding(signature=self.signature, matched=True, confidence=round(confidence, 2), summary=summary,
                       evidence=tuple(self.items), **details)


def pct(ratio: float) -> str:
    return f"{ratio:.1%}"


def either(met: bool) -> str:
    """One of several alternative signs: met, it supports the claim; unmet, it refutes nothing."""
    return "supports" if met else "context"


def query_of(result: MetricResult | None, name: str) -> str:
    """The query behind a source, for evidence; a source that was not read says so."""
    return result.query if result else f"{name} (not collected)"
