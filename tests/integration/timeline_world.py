"""A seeded incident for the timeline tests: Runwarden's step lines (written by the real writer and
shipped the way Cloud Run's logging agent ships them), audit entries, request logs, and noise."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.log_agent import FunctionResource, entry_for_line
from sandbox.standins.logging import AuditSeed, EntrySeed, LoggingStandIn, OperationSeed, log_name_for
from shared.remediation.records import claim_key
from shared.timeline.writer import Timeline

PROJECT, REGION, SERVICE = "demo-project", "us-central1", "backend"
INCIDENT = "0.nrwotmyokd9n"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)     # the alert's started_at
NOW = T0 + timedelta(minutes=30)
SERVICE_NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"
ROLLBACK_KEY = claim_key(INCIDENT, SERVICE_NAME, "rollback_traffic")   # the record the seeded rollback makes
RUNWARDEN_SA = "runwarden@demo-project.iam.gserviceaccount.com"
ON_ALERT = FunctionResource(PROJECT, REGION, "runwarden-on-alert")
ON_COMMAND = FunctionResource(PROJECT, REGION, "runwarden-on-command")
AUDIT_LOG = log_name_for(PROJECT, "cloudaudit.googleapis.com/activity")
REQUESTS_LOG = log_name_for(PROJECT, "run.googleapis.com/requests")


def step(standin: LoggingStandIn, at: datetime, name: str, message: str, *, incident: str = INCIDENT,
         trigger: str = "alert", function: FunctionResource = ON_ALERT, severity: str = "INFO",
         writer: str = "", received: datetime | None = None, **details: Any) -> None:
    """One step line as the writer prints it, with its `time` set to `at`, through the agent, and
    received by Logging at `received` (by default as written). `writer`: another process's id (an
    instance whose clock may differ) instead of this one's."""
    out = io.StringIO()
    Timeline(incident, trigger, stream=out).step(name, message, severity=severity, **details)
    line = json.loads(out.getvalue())
    line["time"] = at.isoformat()
    if writer:
        line["runwarden"]["writer"] = writer
    entry = entry_for_line(json.dumps(line), function, lambda: at)
    entry.receive_timestamp.FromDatetime(received or at)
    standin.add_entry(entry)


def audit(standin: LoggingStandIn, at: datetime, method: str, resource: str, principal: str, *,
          service: str = "run.googleapis.com", request: dict | None = None, operation: str = "") -> None:
    seeds = [(at, True, False)] if not operation else [(at, True, False), (at + timedelta(seconds=20), False, True)]
    for when, first, last in seeds:
        standin.add_entry(EntrySeed(
            log_name=AUDIT_LOG, timestamp=when, resource_type="audited_resource", severity="NOTICE",
            audit=AuditSeed(method_name=method, resource_name=resource, principal_email=principal,
                            service_name=service, request=request),
            operation=OperationSeed(id=operation, producer=service, first=first, last=last) if operation else None))


def request_errors(standin: LoggingStandIn, start: datetime, minutes: int, per_minute: int,
                   service: str = SERVICE, status: int = 503) -> None:
    seeds = []
    for m in range(minutes):
        for i in range(per_minute):
            seeds.append(EntrySeed(
                log_name=REQUESTS_LOG, timestamp=start + timedelta(minutes=m, seconds=i * 60 / per_minute),
                resource_type="cloud_run_revision", severity="ERROR",
                resource_labels={"project_id": PROJECT, "location": REGION, "service_name": service,
                                 "revision_name": f"{service}-00002-xyz", "configuration_name": service},
                http_status=status))
    standin.add_entries(seeds)


def seed_incident(standin: LoggingStandIn, t0: datetime = T0) -> None:
    """A bad deploy by alice, errors, bob's traffic change, the alert, Runwarden's rollback
    (its steps written twice by a redelivery), carol's command, the sweep's verification, the close."""
    s = lambda minutes: t0 + timedelta(minutes=minutes)   # noqa: E731
    # alice deploys the bad revision through gcloud (v1 ReplaceService: an LRO, two audit entries)
    audit(standin, s(-4), "google.cloud.run.v1.Services.ReplaceService", f"namespaces/{PROJECT}/services/{SERVICE}",
          "alice@example.com", operation="op-deploy-1",
          request={"service": {"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/demo/backend:v2"}]}},
                                        "traffic": [{"latestRevision": True, "percent": 100}]}}})
    request_errors(standin, s(-3), 6, 20)           # 12:57 .. 13:02, then the rollback works
    request_errors(standin, s(-3), 3, 5, service="frontend")   # another service's errors: not ours
    # bob moves traffic by hand before Runwarden has decided (v2 UpdateService, traffic only)
    audit(standin, s(-1), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME, "bob@example.com",
          request={"service": {"name": SERVICE_NAME, "traffic": [{"revision": "backend-00002-xyz", "percent": 50},
                                                                  {"revision": "backend-00001-abc", "percent": 50}]},
                   "updateMask": "traffic"})
    resource = {"project_id": PROJECT, "location": REGION, "service_name": SERVICE}
    for delivery in range(2):       # the same Pub/Sub message, delivered twice
        at = s(1) + timedelta(seconds=delivery * 30)
        step(standin, at, "received", f"alert {INCIDENT} (open) from policy 'backend 5xx ratio'", message_id="17",
             policy="backend 5xx ratio", condition="5xx ratio above 5%", resource=resource, state="open",
             started_at=int(t0.timestamp()), ended_at=None)
    for delivery in range(2):       # ... and each delivery diagnoses again
        step(standin, s(1.1) + timedelta(seconds=delivery * 30), "diagnosed",
             "bad_revision (confidence 0.90): backend-00002-xyz fails 60% of requests", signature="bad_revision",
             evidence=[{"source": "metric", "query": "ListTimeSeries request_count",
                        "observed": "324 of 540 requests 5xx (60.0%)", "threshold": ">= 20 requests and 5xx >= 20%",
                        "passed": True}])
    step(standin, s(1.2), "planned", "roll back to backend-00001-abc", action="rollback_traffic",
         params={"target": SERVICE_NAME, "to_revision": "backend-00001-abc", "from_revision": "backend-00002-xyz"})
    step(standin, s(1.25), "claimed", f"claimed {INCIDENT}/{SERVICE_NAME}/rollback_traffic")
    # gina changes the service while Runwarden holds its claim: still a person's change
    audit(standin, s(1.3), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME, "gina@example.com")
    step(standin, s(1.5), "applied", "rollback_traffic applied and verified", status="applied")
    audit(standin, s(1.45), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME, RUNWARDEN_SA,
          request={"service": {"traffic": [{"revision": "backend-00001-abc", "percent": 100}]}})
    step(standin, s(1.6), "outcome_published", "outcome applied published", status="applied")
    step(standin, s(1.7), "skipped", "duplicate: rollback_traffic already applied", status="skipped")
    step(standin, s(4), "kill_switch", "kill switch engaged by carol", trigger="command", function=ON_COMMAND,
         command_id="cmd-7", by="carol@example.com", override=True)
    # the sweep's verdict names the action record the rollback made (its claim key), as the sweep writes it
    step(standin, s(8), "verified", "rollback_traffic verified: healthy", trigger="command", function=ON_COMMAND,
         action="rollback_traffic", key=ROLLBACK_KEY)
    step(standin, s(9), "received", f"alert {INCIDENT} (closed) from policy 'backend 5xx ratio'", message_id="31",
         policy="backend 5xx ratio", resource=resource, state="closed", started_at=int(t0.timestamp()),
         ended_at=int((t0 + timedelta(minutes=7)).timestamp()))
    # noise that must not appear
    step(standin, s(2), "received", "alert 0.other (open) from policy 'x'", incident="0.other", message_id="40")
    audit(standin, s(0), "google.cloud.run.v2.Services.UpdateService",
          f"projects/{PROJECT}/locations/{REGION}/services/frontend", "dave@example.com")
    audit(standin, s(0), "google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion",
          f"projects/{PROJECT}/secrets/unrelated", "erin@example.com", service="secretmanager.googleapis.com")
    audit(standin, s(0.5), "cloudsql.instances.connect", "instances/main-db", "backend@demo.iam.gserviceaccount.com",
          service="cloudsql.googleapis.com")
    audit(standin, s(0.5), "cloudsql.instances.restart", "instances/main-db", "frank@example.com",
          service="cloudsql.googleapis.com")
