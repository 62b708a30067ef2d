"""Gathering evidence from live state. All the I/O of a diagnosis happens here, and only here.

Cost of one collection: 1 GetService + 1 ListRevisions + at most 2 ListTimeSeries.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.config import DiagnosisSettings
from shared.diagnosis import EvidenceBundle, newest_serving_revision
from shared.ports import MonitoringPort, RunPort

# Monitoring rejects windows shorter than one alignment period of 60 s.
_MIN_WINDOW = timedelta(seconds=60)


def collect(
    service_name: str,
    incident_started_at: datetime,
    run: RunPort,
    monitoring: MonitoringPort,
    settings: DiagnosisSettings,
    now: datetime,
) -> EvidenceBundle:
    service = run.get_service(service_name)
    revisions = tuple(run.list_revisions(service_name))
    suspect = newest_serving_revision(service, revisions)

    now = now.replace(microsecond=0)  # whole seconds: Monitoring aligns on them
    lookback = timedelta(seconds=settings.lookback_seconds)
    # Since the suspect went live (if within the lookback): its errors and the others' are
    # then compared over the same minutes.
    start = incident_started_at - lookback
    if suspect is not None and suspect.create_time > start:
        start = suspect.create_time
    incident_window = _query(monitoring, service_name, start, min(now, incident_started_at + lookback))
    baseline_window = None
    if suspect is not None:
        deployed = suspect.create_time
        baseline_window = _query(monitoring, service_name,
                                 deployed - timedelta(seconds=settings.baseline_seconds), min(now, deployed))
    return EvidenceBundle(
        incident_started_at=incident_started_at,
        service=service,
        revisions=revisions,
        incident_window=incident_window,
        baseline_window=baseline_window,
        suspect=suspect.short_name if suspect else None,
    )


def _query(monitoring: MonitoringPort, service_name: str, start: datetime, end: datetime):
    if end - start < _MIN_WINDOW:
        return None  # nothing sensible to ask yet; diagnosis treats it as missing data
    return monitoring.request_counts(service_name, start, end)


def epoch_to_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
