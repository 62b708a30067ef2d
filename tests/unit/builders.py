"""Small builders for evidence, so unit tests read as the situation they describe."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.diagnosis import EvidenceBundle
from shared.evidence import (Condition, RequestCounts, RequestCountWindow, Revision, Service, TrafficTarget,
                             TrafficType)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SERVICE = "projects/demo/locations/us-central1/services/backend"
READY = (Condition(type="Ready", state="CONDITION_SUCCEEDED"),)
FAILED = (Condition(type="Ready", state="CONDITION_FAILED", reason="HEALTH_CHECK_CONTAINER_ERROR"),)


def revision(name: str, created_min: float, ready: bool = True) -> Revision:
    return Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE,
                    create_time=T0 + timedelta(minutes=created_min), conditions=READY if ready else FAILED)


def service(split: dict[str, int], etag: str = "etag-1") -> Service:
    targets = tuple(TrafficTarget(type=TrafficType.REVISION, revision=r, percent=p) for r, p in split.items())
    return Service(name=SERVICE, generation=3, etag=etag, traffic=targets, traffic_statuses=targets)


def window(counts: dict[str, tuple[int, int]], start_min: float = -15, end_min: float = 2) -> RequestCountWindow:
    """counts: revision -> (2xx, 5xx)."""
    return RequestCountWindow(
        query=f"request_count {start_min}m..{end_min}m", start=T0 + timedelta(minutes=start_min),
        end=T0 + timedelta(minutes=end_min),
        revisions=tuple(RequestCounts(revision=r, by_class={"2xx": ok, "5xx": bad}) for r, (ok, bad) in counts.items()))


def bundle(revisions, split, incident, baseline, started_at=T0) -> EvidenceBundle:
    return EvidenceBundle(incident_started_at=started_at, service=service(split), revisions=tuple(revisions),
                          incident_window=incident, baseline_window=baseline)
