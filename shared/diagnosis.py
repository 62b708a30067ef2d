"""Diagnosis: a pure function from evidence to a signature. No I/O, no clock.

Precision beats recall: each rule must pass on data that is present and sufficient;
anything missing, thin or contradictory makes the diagnosis `inconclusive`.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.config import DiagnosisSettings
from shared.evidence import EvidenceItem, RequestCounts, RequestCountWindow, Revision, Service
from shared.signatures import Diagnosis, Signature


class EvidenceBundle(BaseModel):
    """Everything one diagnosis may look at, as collected from live state."""

    model_config = ConfigDict(frozen=True)

    incident_started_at: datetime
    service: Service
    revisions: tuple[Revision, ...]              # oldest first
    incident_window: RequestCountWindow | None   # around the incident start
    baseline_window: RequestCountWindow | None   # before the suspect revision was created
    suspect: str | None = None                   # newest revision serving traffic (short name)


def newest_serving_revision(service: Service, revisions: tuple[Revision, ...] | list[Revision]) -> Revision | None:
    """The most recently created revision that receives any traffic."""
    serving = [r for r in revisions if service.serving_percent(r.short_name) > 0]
    return max(serving, key=lambda r: r.create_time, default=None)


def diagnose(bundle: EvidenceBundle, settings: DiagnosisSettings) -> Diagnosis:
    return _BadRevisionRule(bundle, settings).evaluate()


class _BadRevisionRule:
    """bad_revision: every check must pass; the first that fails says why not."""

    NAME = "bad_revision: newest revision deployed shortly before the incident fails, the one before served cleanly"

    def __init__(self, bundle: EvidenceBundle, settings: DiagnosisSettings) -> None:
        self.b = bundle
        self.s = settings
        self.evidence: list[EvidenceItem] = []

    def evaluate(self) -> Diagnosis:
        suspect = self._suspect()
        if suspect is None:
            return self._inconclusive("no revision of the service is receiving traffic")
        if not self._deployed_shortly_before(suspect):
            return self._inconclusive(f"{suspect.short_name} was not deployed shortly before the incident")
        counts = self._incident_counts(suspect)
        if counts is None:
            return self._inconclusive(
                f"no request_count data for {suspect.short_name} in the incident window "
                "(Cloud Monitoring can lag by ~3 minutes)"
            )
        if counts.total < self.s.min_requests:
            return self._inconclusive(f"too little traffic on {suspect.short_name} to judge ({counts.total} requests)")
        if counts.error_ratio < self.s.bad_error_ratio:
            return self._inconclusive(f"{suspect.short_name} is not failing enough to blame it")
        if not self._errors_concentrated(suspect):
            return self._inconclusive("5xx are not concentrated on the newest revision")
        good, steps = self._known_good(suspect)
        if good is None:
            return self._inconclusive(f"no earlier revision is known to have served cleanly before {suspect.short_name}")
        return Diagnosis(
            signature=Signature.BAD_REVISION,
            confidence=self._confidence(counts),
            rule=self.NAME,
            summary=(
                f"{suspect.short_name} answers {counts.error_ratio:.0%} 5xx since its deploy; "
                f"{good.short_name} served cleanly before it"
            ),
            evidence=tuple(self.evidence),
            suspect_revision=suspect.short_name,
            known_good_revision=good.short_name,
            steps_back=steps,
        )

    # --- the checks, each recording what it saw -------------------------------------------

    def _suspect(self) -> Revision | None:
        suspect = newest_serving_revision(self.b.service, self.b.revisions)
        split = ", ".join(f"{t.revision}={t.percent}%" for t in self.b.service.traffic_statuses) or "none"
        self._cite("api", f"run.services.get {self.b.service.name}: traffic_statuses", split,
                   "newest revision with traffic > 0%", suspect is not None)
        return suspect

    def _deployed_shortly_before(self, suspect: Revision) -> bool:
        lead = (self.b.incident_started_at - suspect.create_time).total_seconds()
        ok = 0 <= lead <= self.s.deploy_window_seconds
        self._cite("api", f"run.revisions.get {suspect.short_name}: create_time",
                   f"created {_duration(lead)} before the incident started",
                   f"0 s to {self.s.deploy_window_seconds} s before the incident", ok)
        return ok

    def _incident_counts(self, suspect: Revision) -> RequestCounts | None:
        window = self.b.incident_window
        counts = window.for_revision(suspect.short_name) if window else None
        if window is None or counts is None:
            self._cite("metric", window.query if window else "request_count (not collected)",
                       "no data points", f">= {self.s.min_requests} requests", False)
            return None
        ok = counts.total >= self.s.min_requests and counts.error_ratio >= self.s.bad_error_ratio
        self._cite("metric", window.query,
                   f"{suspect.short_name}: {counts.errors_5xx} of {counts.total} requests 5xx ({counts.error_ratio:.1%})",
                   f">= {self.s.min_requests} requests and 5xx >= {self.s.bad_error_ratio:.0%}", ok)
        return counts

    def _errors_concentrated(self, suspect: Revision) -> bool:
        others = [c for c in self.b.incident_window.revisions
                  if c.revision != suspect.short_name and c.total >= self.s.min_requests]
        failing = [c for c in others if c.error_ratio > self.s.healthy_error_ratio]
        if others:
            self._cite("metric", self.b.incident_window.query,
                       "; ".join(f"{c.revision}: {c.error_ratio:.1%} 5xx of {c.total}" for c in others),
                       f"other serving revisions <= {self.s.healthy_error_ratio:.0%} 5xx", not failing)
        return not failing

    def _known_good(self, suspect: Revision) -> tuple[Revision | None, int]:
        """Newest ready revision older than the suspect that served cleanly in the baseline."""
        older = [r for r in self.b.revisions if r.create_time < suspect.create_time and r.ready]
        steps = 0
        for candidate in sorted(older, key=lambda r: r.create_time, reverse=True):
            steps += 1
            if self._served_cleanly(candidate):
                return candidate, steps
        if not older:
            self._cite("api", f"run.revisions.list {self.b.service.name}",
                       f"no Ready revision older than {suspect.short_name}", "Ready=CONDITION_SUCCEEDED", False)
        return None, steps

    def _served_cleanly(self, revision: Revision) -> bool:
        window = self.b.baseline_window
        counts = window.for_revision(revision.short_name) if window else None
        query = window.query if window else "request_count baseline (not collected)"
        if counts is None or counts.total < self.s.min_requests:
            seen = f"{counts.total} requests" if counts else "no data points"
            self._cite("metric", query, f"{revision.short_name} before the deploy: {seen}",
                       f">= {self.s.min_requests} requests", False)
            return False
        ok = counts.error_ratio <= self.s.healthy_error_ratio
        self._cite("metric", query,
                   f"{revision.short_name} before the deploy: {counts.errors_5xx} of {counts.total} requests 5xx "
                   f"({counts.error_ratio:.1%})", f"<= {self.s.healthy_error_ratio:.0%} 5xx", ok)
        return ok

    # --- helpers ------------------------------------------------------------------------------

    def _confidence(self, counts: RequestCounts) -> float:
        # Every check passed; more traffic behind the ratio means less chance of a fluke.
        return 0.9 if counts.total >= 3 * self.s.min_requests else 0.75

    def _inconclusive(self, why: str) -> Diagnosis:
        return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=self.NAME,
                         summary=why, evidence=tuple(self.evidence))

    def _cite(self, source: str, query: str, observed: str, threshold: str, passed: bool | None) -> None:
        self.evidence.append(EvidenceItem(source=source, query=query, observed=observed,
                                          threshold=threshold, passed=passed))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds >= 3600:
        return f"{sign}{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{sign}{seconds // 60}m{seconds % 60:02d}s"
    return f"{sign}{seconds}s"
