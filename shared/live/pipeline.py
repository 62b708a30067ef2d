"""The read-only pipeline: evidence -> diagnosis -> the plan Runwarden would follow. Nothing else.

`read_only_pipeline()` builds it from the Google readers, each of which has no write method:
CloudRunReader (GetService, ListRevisions), CloudMonitoringAdapter (ListTimeSeries),
CloudLoggingAdapter (ListLogEntries) and VpcAccessReader (GET only, its transport refuses any
other verb). There is no gate, state store or publisher to reach, so trialling Runwarden on a
real project cannot change it. Like every adapter, each reader finds a local server through its
*_EMULATOR_HOST variable and otherwise uses Google Cloud with Application Default Credentials,
so the tests run this same path against the stand-ins with only the endpoints changed.

For a trial, grant the identity read-only roles too (docs/api-contracts.md, "Live mode"):
then not even the client libraries' own write calls could succeed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.clock import Clock, SystemClock
from shared.config import Bounds, DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle
from shared.diagnosis.signatures import Diagnosis
from shared.errors import INCOMPLETE_ANSWER, PermanentError
from shared.remediation.planning import Plan, plan

SERVICE_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/services/(?P<service>[^/]+)$")
# A service named without an incident is diagnosed as if its trouble began this long ago.
SERVICE_LOOKBACK = timedelta(minutes=5)
# How far back an incident id is looked for in Runwarden's timeline.
INCIDENT_SEARCH = timedelta(days=30)


class TargetError(PermanentError):
    """The thing to diagnose could not be found or is not a Cloud Run service."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="INVALID_TARGET")


@dataclass(frozen=True)
class LiveTarget:
    service: str                      # projects/P/locations/L/services/S
    started_at: datetime              # when the incident began (or the lookback's start)
    incident_id: str | None = None
    source: str = "service"           # "alert file" | "incident" | "service"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveReport:
    target: LiveTarget
    diagnosed_at: datetime
    bundle: EvidenceBundle
    diagnosis: Diagnosis
    plan: Plan

    def to_dict(self) -> dict[str, Any]:
        params = self.plan.params.model_dump(mode="json") if self.plan.params else None
        return {"mode": "live (read-only)", "incident_id": self.target.incident_id, "service": self.target.service,
                "source": self.target.source, "started_at": self.target.started_at.isoformat(),
                "diagnosed_at": self.diagnosed_at.isoformat(), "notes": list(self.target.notes),
                "diagnosis": self.diagnosis.model_dump(mode="json")
                | ({"recommendation": self.plan.advice} if self.plan.advice else {}),   # the policy's refusal
                "would": {"action": self.plan.action, "reason": self.plan.reason, "params": params},
                "wrote": "nothing"}


@dataclass(frozen=True)
class ReadOnlyPipeline:
    """collect -> diagnose -> plan over readers. It holds nothing that can write."""

    readers: Readers
    clock: Clock = field(default_factory=SystemClock)
    settings: DiagnosisSettings = field(default_factory=DiagnosisSettings)
    bounds: Bounds | None = None
    sql_instances: dict[str, tuple[str, ...]] = field(default_factory=dict)   # per service, from config

    def run(self, target: LiveTarget) -> LiveReport:
        now = self.clock.now()
        bundle = collect(target.service, target.started_at, self.readers, self.settings, now,
                         sql_instances=self.sql_instances.get(target.service, ()))
        diagnosis = diagnose(bundle, self.settings)
        return LiveReport(target, now, bundle, diagnosis, plan(diagnosis, bundle, self.settings, self.bounds))

    def find_incident(self, project: str, incident_id: str) -> LiveTarget:
        """The service and start of an incident Runwarden has seen, from its own timeline in
        Cloud Logging (the `received` step; labels.runwarden_incident, shared/timeline/writer.py)."""
        from shared.gcp.logging import quote

        reader = self.readers.logging
        if not hasattr(reader, "list_payloads"):   # CloudLoggingAdapter has it; LoggingPort does not require it
            raise TargetError("finding an incident needs a Cloud Logging reader that returns JSON payloads")
        now = self.clock.now()
        since = (now - INCIDENT_SEARCH).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = (f"labels.runwarden_incident={quote(incident_id)} AND labels.runwarden_step=\"received\" "
                 f"AND timestamp>=\"{since}\"")
        try:
            found = reader.list_payloads(project, query, 1)  # type: ignore[union-attr]
        except PermanentError as exc:
            if exc.code not in (INCOMPLETE_ANSWER, "SEARCH_INCOMPLETE"):
                raise
            # A search Logging had not finished (its 30 s spent still paging, or its pages): nothing of it shows
            # the incident unknown, and searching again from its first page takes as long. A person is told how
            # far it got and what needs no search (before, a transient fault: "could not read the
            # project", as if Logging were down).
            raise TargetError(f"incident {incident_id!r}: the search of Runwarden's timeline in project {project} "
                              f"for it did not finish ({exc}); give the alert JSON or the service name "
                              "(projects/P/locations/L/services/S), or try again") from exc
        if not found:
            raise TargetError(f"incident {incident_id!r} is not in Runwarden's timeline in project {project} "
                              f"(last {INCIDENT_SEARCH.days} days); give the alert JSON or the service name")
        received_at, payload = found[0]
        step = payload.get("runwarden") if isinstance(payload.get("runwarden"), dict) else {}
        resource = step.get("resource") if isinstance(step.get("resource"), dict) else {}
        missing = [k for k in ("project_id", "location", "service_name") if not resource.get(k)]
        if missing:
            raise TargetError(f"incident {incident_id!r}: its alert resource lacks {missing}; not a Cloud Run "
                              "service Runwarden can name")
        service = f"projects/{resource['project_id']}/locations/{resource['location']}/services/{resource['service_name']}"
        started, notes = _started_at(step.get("started_at"), received_at)
        return LiveTarget(service, started, incident_id, "incident", notes)


def service_target(name: str, now: datetime) -> LiveTarget:
    from shared.gcp.identifiers import LocationalName

    try:
        kind = LocationalName.parse(name).kind
    except ValueError:
        kind = ""
    if kind != "services":
        raise TargetError(f"{name!r} is not a Cloud Run service name (projects/P/locations/L/services/S)")
    return LiveTarget(name, now - SERVICE_LOOKBACK, None, "service",
                      (f"no incident given: diagnosed as if trouble began {SERVICE_LOOKBACK} ago",))


def read_only_pipeline(*, settings: DiagnosisSettings | None = None, bounds: Bounds | None = None,
                       sql_instances: dict[str, tuple[str, ...]] | None = None,
                       clock: Clock | None = None) -> ReadOnlyPipeline:
    """The pipeline over Google's APIs (or the stand-ins, through *_EMULATOR_HOST): readers only."""
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunReader
    from shared.gcp.secretmanager import SecretManagerAdapter
    from shared.gcp.vpcaccess import VpcAccessReader

    readers = Readers(run=CloudRunReader(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessReader(), secretmanager=SecretManagerAdapter())   # GetSecretVersion: a read
    return ReadOnlyPipeline(readers, clock or SystemClock(), settings or DiagnosisSettings(), bounds,
                            sql_instances or {})


def _started_at(value: Any, received_at: datetime) -> tuple[datetime, tuple[str, ...]]:
    if isinstance(value, (int, float)):
        from shared.diagnosis.collection import epoch_to_datetime

        return epoch_to_datetime(int(value)), ()
    return received_at, ("the incident's start is taken as when Runwarden received the alert",)
