"""Facts: plain numbers and lists derived from an evidence bundle. Pure, no I/O.

Every signature rule reads these instead of raw metric series, so the arithmetic (windows,
ratios, percent of minutes) is written once and tested once.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import EvidenceBundle, LogRecord, MetricResult, Revision
from shared.diagnosis.log_signals import LogSignal, signals_in

# Cloud Run's request timeout when a revision does not say (the API's default).
DEFAULT_REQUEST_TIMEOUT_SECONDS = 300.0

# Connector throughput per instance, in Mbps (docs table: f1-micro 100-500, e2-micro 200-1000,
# e2-standard-4 3200-16000 across 2..10 instances). UNCONFIRMED against the current page.
CONNECTOR_MBPS_PER_INSTANCE = {"f1-micro": 50, "e2-micro": 100, "e2-standard-4": 1600}


@dataclass(frozen=True)
class Window:
    start: datetime   # exclusive, as Monitoring selects points by their end time
    end: datetime     # inclusive

    def holds(self, at: datetime) -> bool:
        return self.start < at <= self.end

    def __str__(self) -> str:
        return f"({self.start:%H:%M:%S}, {self.end:%H:%M:%S}]"


@dataclass(frozen=True)
class Requests:
    """Requests in one window: by class ("5xx") and by code ("503")."""

    by_class: dict[str, float]
    by_code: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.by_class.values())

    def share(self, *, code: str | None = None, code_class: str | None = None) -> float:
        if not self.total:
            return 0.0
        count = self.by_code.get(code, 0) if code else self.by_class.get(code_class, 0)
        return count / self.total

    @property
    def error_ratio(self) -> float:
        return self.share(code_class="5xx")

    @property
    def refused_ratio(self) -> float:
        """5xx and 429: every answer that is the service failing its caller."""
        return self.error_ratio + self.share(code="429")


def query_of(result: MetricResult | None, name: str) -> str:
    """The query behind a source, for evidence; a source that was not read says so."""
    return result.query if result else f"{name} (not collected)"


class Facts:
    def __init__(self, bundle: EvidenceBundle, settings: DiagnosisSettings) -> None:
        self.b = bundle
        self.s = settings
        self.memo: dict[object, object] = {}   # derived values the narrative reads more than once

    @property
    def requests_query(self) -> str:
        return query_of(self.b.requests, "request_count")

    @property
    def latencies_query(self) -> str:
        return query_of(self.b.latencies, "request_latencies")

    # --- time -------------------------------------------------------------------------------

    @cached_property
    def data_until(self) -> datetime | None:
        """The newest request_count point: Monitoring's lag shows here."""
        return self.b.requests.latest if self.b.requests else None

    @property
    def data_delay(self) -> timedelta | None:
        return self.b.collected_at - self.data_until if self.data_until else None

    @cached_property
    def incident(self) -> Window:
        return Window(self.b.incident_started_at - timedelta(seconds=self.s.lookback_seconds),
                      self.data_until or self.b.collected_at)

    @cached_property
    def recent(self) -> Window:
        end = self.data_until or self.b.collected_at
        return Window(end - timedelta(seconds=self.s.recent_seconds), end)

    @cached_property
    def recent_since_incident(self) -> Window:
        """The recent window, cut at the incident's start: what `healthy` may be judged on."""
        recent = self.recent
        return Window(max(recent.start, self.b.incident_started_at), recent.end)

    def minutes_with_requests(self, window: Window) -> int:
        return len({p.end for s in (self.b.requests.series if self.b.requests else ()) for p in s.points
                    if window.holds(p.end)})

    # --- Cloud Run --------------------------------------------------------------------------

    @cached_property
    def serving(self) -> tuple[Revision, ...]:
        return tuple(r for r in self.b.revisions if self.b.service.serving_percent(r.short_name) > 0)

    @cached_property
    def newest_serving(self) -> Revision | None:
        return max(self.serving, key=lambda r: r.create_time, default=None)

    @property
    def request_timeout_seconds(self) -> float:
        """The newest serving revision's request timeout: where a 504 cuts a request off."""
        revision = self.newest_serving
        return revision.timeout_seconds if revision and revision.timeout_seconds else DEFAULT_REQUEST_TIMEOUT_SECONDS

    def since_deploy(self, revision: Revision) -> Window:
        return Window(max(revision.create_time, self.incident.start), self.incident.end)

    def baseline(self, revision: Revision) -> Window:
        return Window(revision.create_time - timedelta(seconds=self.s.baseline_seconds), revision.create_time)

    def requests(self, window: Window, revision: str | None = None) -> Requests:
        by_class: Counter[str] = Counter()
        by_code: Counter[str] = Counter()
        for series in self.b.requests.series if self.b.requests else ():
            if revision is not None and series.label("resource.labels.revision_name") != revision:
                continue
            count = sum(float(p.value) for p in series.points if window.holds(p.end))
            by_class[series.label("metric.labels.response_code_class") or "unknown"] += count
            by_code[series.label("metric.labels.response_code") or "unknown"] += count
        return Requests(dict(by_class), dict(by_code))

    def per_minute(self, window: Window, code: str) -> list[tuple[datetime, float, float]]:
        """(minute end, all requests, requests answered `code`) per minute of the window, oldest first."""
        total: Counter[datetime] = Counter()
        coded: Counter[datetime] = Counter()
        for series in self.b.requests.series if self.b.requests else ():
            is_code = series.label("metric.labels.response_code") == code
            for p in series.points:
                if window.holds(p.end):
                    total[p.end] += float(p.value)
                    if is_code:
                        coded[p.end] += float(p.value)
        return [(at, total[at], coded[at]) for at in sorted(total)]

    def episode(self, code: str, ratio: float) -> Window | None:
        """From the first minute whose share of `code` reaches `ratio` to the end of the data: the
        episode a symptom is judged over, so minutes before it began do not dilute it."""
        for at, total, coded in self.per_minute(self.incident, code):
            if total and coded / total >= ratio:
                return Window(at - timedelta(seconds=60), self.incident.end)
        return None

    def revision_names_with_requests(self, window: Window) -> list[str]:
        names = {s.label("resource.labels.revision_name") for s in (self.b.requests.series if self.b.requests else ())
                 if any(window.holds(p.end) for p in s.points)}
        return sorted(n for n in names if n)

    # --- latency ----------------------------------------------------------------------------

    def p99_seconds(self, window: Window) -> list[float]:
        """The service's p99 latency per minute in the window (max over revisions), in seconds."""
        per_minute: dict[datetime, float] = {}
        for series in self.b.latencies.series if self.b.latencies else ():
            for p in series.points:
                if window.holds(p.end):
                    per_minute[p.end] = max(per_minute.get(p.end, 0.0), float(p.value) / 1000.0)
        return [per_minute[k] for k in sorted(per_minute)]

    # --- instances --------------------------------------------------------------------------

    def max_instances_seen(self, window: Window, revision: str) -> float | None:
        values = [float(p.value) for s in (self.b.instances.series if self.b.instances else ())
                  if s.label("resource.labels.revision_name") == revision for p in s.points if window.holds(p.end)]
        return max(values, default=None)

    # --- VPC connector ----------------------------------------------------------------------

    def connector_values(self, result: MetricResult | None, window: Window) -> list[float]:
        return [float(p.value) for s in (result.series if result else ()) for p in s.points if window.holds(p.end)]

    def connector_cpu(self, window: Window) -> list[float]:
        """Connector CPU utilisation p99 per minute, as a fraction. A percentile interpolated inside
        the bucket that holds 1.0 can land above it; utilisation cannot, so it is capped at 1."""
        return [min(max(v, 0.0), 1.0) for v in self.connector_values(self.b.connector_cpu, window)]

    def connector_ceiling_mbps(self) -> float | None:
        c = self.b.connector
        per_instance = CONNECTOR_MBPS_PER_INSTANCE.get(c.machine_type) if c else None
        return per_instance * c.max_instances if per_instance else None

    # --- Cloud SQL --------------------------------------------------------------------------

    def sql_up_values(self, window: Window) -> dict[str, list[float]]:
        """database/up per minute, per database_id; empty when unknown."""
        values: dict[str, list[float]] = {}
        for s in self.b.sql_up.series if self.b.sql_up else ():
            values.setdefault(s.label("resource.labels.database_id"), []).extend(
                float(p.value) for p in s.points if window.holds(p.end))
        return values

    def sql_down(self, window: Window) -> tuple[list[str], str] | None:
        """(instances whose database/up dropped below 1, what was seen), or None when unknown."""
        values = {db: vals for db, vals in self.sql_up_values(window).items() if vals}
        if not values:
            return None
        down = sorted(db for db, vals in values.items() if min(vals) < 1)
        return down, "; ".join(f"{db}: min {min(vals):.0f}" for db, vals in values.items())

    # --- logs -------------------------------------------------------------------------------

    @cached_property
    def _signals(self) -> list[tuple[LogRecord, set[LogSignal]]]:
        return [(e, signals_in(e)) for e in (self.b.logs.entries if self.b.logs else ())]

    def log_matches(self, signal: LogSignal, revision: str | None = None) -> list[LogRecord]:
        return [e for e, found in self._signals if signal in found
                and (revision is None or e.resource_labels.get("revision_name") == revision)]
