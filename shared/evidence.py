"""Typed snapshots of live state, as the adapters read them and diagnosis consumes them.

These models are plain data: no Google types leak past the adapters. Revision names in
traffic are short names (`backend-00002-xyz`), as the Cloud Run API uses them there.
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def short_name(resource_name: str) -> str:
    """`projects/p/locations/l/services/s/revisions/r` -> `r`; a short name stays as it is."""
    return resource_name.rsplit("/", 1)[-1] if resource_name else resource_name


# --- Cloud Run ---------------------------------------------------------------------------


class Condition(_Model):
    type: str                       # "Ready", "ContainerHealthy", ...
    state: str                      # CONDITION_SUCCEEDED | CONDITION_FAILED | CONDITION_RECONCILING | CONDITION_PENDING
    reason: str = ""                # e.g. SECRETS_ACCESS_CHECK_FAILED (reason or revision_reason)
    message: str = ""


class Revision(_Model):
    name: str                       # full resource name
    service: str                    # full resource name of the owning service
    create_time: datetime
    conditions: tuple[Condition, ...] = ()
    vpc_connector: str | None = None  # full connector name from the revision's vpc_access
    vpc_egress: str | None = None     # ALL_TRAFFIC | PRIVATE_RANGES_ONLY

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    @property
    def ready(self) -> bool:
        return any(c.type == "Ready" and c.state == "CONDITION_SUCCEEDED" for c in self.conditions)


class TrafficType(str, Enum):
    LATEST = "LATEST"
    REVISION = "REVISION"


class TrafficTarget(_Model):
    type: TrafficType
    revision: str | None = None     # short name; None for LATEST
    percent: int = Field(ge=0, le=100)
    tag: str = ""


class Service(_Model):
    name: str                       # projects/P/locations/L/services/S
    generation: int
    etag: str = ""
    traffic: tuple[TrafficTarget, ...] = ()
    traffic_statuses: tuple[TrafficTarget, ...] = ()  # resolved: LATEST shows the revision it points at
    latest_ready_revision: str | None = None          # short name
    latest_created_revision: str | None = None        # short name
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    def serving_percent(self, revision: str) -> int:
        """Percent of traffic the revision actually receives, per traffic_statuses."""
        return sum(t.percent for t in self.traffic_statuses if t.revision == revision)


# --- Monitoring ---------------------------------------------------------------------------


class RequestCounts(_Model):
    """Requests one revision served in a window, by response code class ("2xx", "5xx", ...)."""

    revision: str                   # short name
    by_class: dict[str, int] = Field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_class.values())

    @property
    def errors_5xx(self) -> int:
        return self.by_class.get("5xx", 0)

    @property
    def error_ratio(self) -> float:
        return self.errors_5xx / self.total if self.total else 0.0


class RequestCountWindow(_Model):
    """The answer to one batched request_count query: every revision of one service, one window."""

    query: str                      # the Monitoring filter and aggregation, as sent
    start: datetime
    end: datetime
    revisions: tuple[RequestCounts, ...] = ()

    def for_revision(self, revision: str) -> RequestCounts | None:
        return next((r for r in self.revisions if r.revision == revision), None)


# --- What a decision cites ------------------------------------------------------------------


class EvidenceItem(_Model):
    """One fact a decision rests on, in words a person can check."""

    source: Literal["metric", "log", "api"]
    query: str                      # what was asked, and of which API
    observed: str                   # what came back
    threshold: str = ""             # what it was compared with ("" when it is context, not a test)
    passed: bool | None = None      # did the observation meet the rule's condition (None: context)
