"""The timeline read from Google Cloud (or the local stand-ins, through *_EMULATOR_HOST): the
real adapters wired to the builder, for the HTTP function and the CLI."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.timeline.builder import Dependencies, Limits, build_timeline
from shared.timeline.model import IncidentTimeline


# The timeline's reads beside its log pages (ListRevisions for what the service depends on, at most
# Limits.max_metric_reads ListTimeSeries for its requests per minute) end within this many seconds each, their
# retries and pages included (CallPolicy.total_timeout; PageCursor shares it between a read's pages). Each is a
# part of the page it can do without (a note says what is missing), so it gets one call deadline, not the 30 s
# a diagnosis's read gets: counted at 30 s, the 50 log pages and 4 such reads were 310 s against the function's
# 300 s (infra/locals.tf timeline_timeout_seconds; tests/infra/test_settings.py counts them at this).
SIDE_READ_SECONDS = 10.0


def side_read_policy() -> Any:
    """The call policy of the timeline's ListRevisions and ListTimeSeries (`SIDE_READ_SECONDS` in all)."""
    from shared.gcp.endpoints import CallPolicy

    return CallPolicy(call_timeout=SIDE_READ_SECONDS, total_timeout=SIDE_READ_SECONDS)


@functools.cache
def _adapters() -> tuple[Any, Any, Any]:
    # One set per instance: the gRPC channels are reused across requests.
    from shared.gcp.logging import CloudLogPagesAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run_references import CloudRunReferences

    side = side_read_policy()
    return CloudLogPagesAdapter(), CloudMonitoringAdapter(policy=side), CloudRunReferences(policy=side)


def dependencies(service: str, config: Any, run: Any) -> Dependencies:
    """The connectors, Cloud SQL instances and secrets the service's revisions reference (one
    ListRevisions call), and the Cloud SQL instances its config names."""
    from shared.errors import RunwardenError

    deps = Dependencies()
    managed = config.service(service) if config is not None and service else None
    if managed is not None:
        deps.sql_instances |= set(managed.cloudsql_instances)
    if not service.startswith("projects/"):
        return deps
    try:
        found = run.references(service)
    except RunwardenError as exc:
        deps.notes.append(f"the service's revisions could not be read, so changes to its connector, Cloud SQL "
                          f"instances and secrets may be missing: {exc}")
        return deps
    deps.connectors |= found.connectors
    deps.sql_instances |= found.sql_instances
    deps.secrets |= found.secrets
    return deps


def read_timeline(incident_id: str, project: str, config: Any = None, *, now: datetime | None = None,
                  limits: Limits = Limits()) -> IncidentTimeline:
    """Builds the timeline with the real clients. What the service depends on comes from its
    revisions in Cloud Run and, when `config` (a shared.config.Config) is given, its config."""
    logs, monitoring, run = _adapters()
    return build_timeline(incident_id, project, logs, now or datetime.now(timezone.utc), monitoring=monitoring,
                          depends_on=lambda service: dependencies(service, config, run), limits=limits)


@dataclass(frozen=True)
class LoggingFailure:
    """How to answer a Cloud Logging failure: the HTTP status, the words, the seconds to wait."""

    status: int
    message: str
    retry_after: int | None = None


def logging_failure(exc: Exception) -> LoggingFailure:
    """The answer to a Cloud Logging failure (TransientError or PermanentError), the same for the
    HTTP function and the CLI. ListLogEntries' quota is counted per minute (Cloud Logging quotas
    and limits page), so RESOURCE_EXHAUSTED is worth a minute's wait; a search that did not finish
    is not a refusal and not an unknown incident."""
    from shared.errors import PermanentError
    from shared.gcp.endpoints import status_code
    from shared.timeline.builder import SEARCH_INCOMPLETE

    if isinstance(exc, PermanentError):
        if exc.code == SEARCH_INCOMPLETE:
            return LoggingFailure(504, str(exc), 10)
        return LoggingFailure(502, f"Cloud Logging refused the read ({exc.code or 'error'}): {exc}")
    cause = exc.__cause__
    if cause is not None and status_code(cause) == "RESOURCE_EXHAUSTED":
        return LoggingFailure(503, f"Cloud Logging's read quota (ListLogEntries per minute) is used up, try again "
                                   f"in a minute: {exc}", 60)
    return LoggingFailure(503, f"Cloud Logging is unavailable, try again: {exc}", 10)


def close() -> None:
    if _adapters.cache_info().currsize:
        for adapter in _adapters():
            adapter.close()
        _adapters.cache_clear()
