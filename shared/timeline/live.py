"""The timeline read from Google Cloud (or the local stand-ins, through *_EMULATOR_HOST): the
real adapters wired to the builder, for the HTTP function and the CLI."""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

from shared.timeline.builder import Dependencies, Limits, build_timeline
from shared.timeline.model import IncidentTimeline


@functools.cache
def _adapters() -> tuple[Any, Any]:
    # One pair per instance: the gRPC channels are reused across requests.
    from shared.gcp.logging import CloudLogPagesAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter

    return CloudLogPagesAdapter(), CloudMonitoringAdapter()


def read_timeline(incident_id: str, project: str, config: Any = None, *, now: datetime | None = None,
                  limits: Limits = Limits()) -> IncidentTimeline:
    """Builds the timeline with the real clients. `config` (a shared.config.Config), when given,
    names the Cloud SQL instances a managed service uses."""
    logs, monitoring = _adapters()

    def depends_on(service: str) -> Dependencies:
        managed = config.service(service) if config is not None and service else None
        return Dependencies(sql_instances=set(managed.cloudsql_instances) if managed else set())

    return build_timeline(incident_id, project, logs, now or datetime.now(timezone.utc), monitoring=monitoring,
                          depends_on=depends_on, limits=limits)


def close() -> None:
    if _adapters.cache_info().currsize:
        for adapter in _adapters():
            adapter.close()
        _adapters.cache_clear()
