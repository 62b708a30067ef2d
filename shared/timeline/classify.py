"""Log entries -> timeline rows: Runwarden's step lines, the alert's notifications, audit entries.

Pure: no I/O. Each function takes one LoggedEntry and returns what the timeline makes of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.diagnosis.run_audit import SERVICE_CHANGES, service_methods
from shared.diagnosis.secret_refs import one_secret
from shared.diagnosis.windows import clock_on
from shared.remediation.records import JUDGED_STATES, claim_key
from shared.remediation.refusals import Held
from shared.timeline.entries import LoggedEntry
from shared.timeline.model import Actor, ActorKind, Source, TimelineEntry
from shared.timeline.queries import entry_link
from shared.timeline.writer import INCIDENT_LABEL, STEP_LABEL

MONITORING = Actor(kind=ActorKind.MONITORING, name="Cloud Monitoring")

# Steps after which Runwarden has decided (the pipeline's outcome steps, docs/messages.md).
DECISION_STEPS = frozenset({"applied", "dry_run", "skipped", "failed", "escalated", "proposed", "rejected"})
# Steps in which Runwarden wrote to Google Cloud (the gate's `applied`; the sweep's `undone`), or recorded
# a write an attempt made and could not record (the gate's `adopted`, Gate.adopt_write).
WRITE_STEPS = frozenset({"applied", "undone", "adopted"})
# The gate's words on an adopted write (shared/remediation/guardrails.py `adopt_write`): "recorded KEY,
# written by OWNER: ...". A line of an earlier version names its record only there.
_ADOPTED = re.compile(r"^recorded (\S+), written by ")
# The sweep's steps that may be its verdict on a write (verification.step_on_record).
VERDICT_STEPS = frozenset({"verified", "undone", "escalated"})
_ALERT_STATE = re.compile(r"^alert \S+ \((open|closed)\)")


@dataclass(frozen=True)
class Step:
    """One of Runwarden's step lines, read back."""

    at: datetime
    step: str
    trigger: str
    message: str
    severity: str
    details: dict[str, Any]
    function: str
    insert_id: str
    writer: str = ""                       # the process that wrote it (writer.WRITER); "" before it was written
    principal: str = ""                    # the account its process acted as (writer.set_principal); "" unknown
    received_at: datetime | None = None    # Cloud Logging's receipt time (LogEntry.receive_timestamp)
    # How much later than `at` it may really have been written: its writer's lines all reached Logging
    # this late, which a late delivery and a clock behind explain alike (builder._on_loggings_clock).
    may_be_later: timedelta = timedelta(0)

    @property
    def status(self) -> str:
        return str(self.details.get("status") or "")

    @property
    def alert_state(self) -> str | None:
        """`open` or `closed` for a received alert notification; None for anything else."""
        if self.step != "received" or self.trigger != "alert":
            return None
        state = self.details.get("state")
        if isinstance(state, str) and state.lower() in ("open", "closed"):
            return state.lower()
        match = _ALERT_STATE.match(self.message)
        return match.group(1) if match else None


def step_of(entry: LoggedEntry, incident_id: str) -> Step | None:
    """A Runwarden step line of this incident, or None for any other entry."""
    payload = entry.json_payload or {}
    details = payload.get("runwarden")
    if not isinstance(details, dict) or entry.labels.get(INCIDENT_LABEL) != incident_id:
        return None
    step = str(details.get("step") or entry.labels.get(STEP_LABEL) or "")
    if not step:
        return None
    function = entry.resource_labels.get("service_name") or entry.resource_labels.get("function_name") or ""
    return Step(at=entry.timestamp, step=step, trigger=entry.labels.get("runwarden_trigger", ""),
                message=entry.text or str(payload.get("message", "")), severity=entry.severity,
                details={k: v for k, v in details.items() if k not in ("step", "incident_id", "writer", "principal")},
                function=function, insert_id=entry.insert_id, writer=str(details.get("writer") or ""),
                principal=str(details.get("principal") or ""),
                received_at=entry.receive_timestamp)


def runwarden_actor(step: Step) -> Actor:
    by = step.details.get("by")
    if step.details.get("command_id") and isinstance(by, str) and by:
        return Actor(kind=ActorKind.PERSON, name=by)    # an operator's command, carried out by Runwarden
    return Actor(kind=ActorKind.RUNWARDEN, name=f"Runwarden ({step.function})" if step.function else "Runwarden")


def row_of_step(step: Step, project: str) -> TimelineEntry:
    kind = "command" if step.details.get("command_id") and step.step == "received" else step.step
    if step.details.get("override") is True:
        kind = f"override:{step.step}"
    marker = "action" if step.step in WRITE_STEPS and step.status in ("", "applied", "undone") else ""
    return TimelineEntry(at=step.at, source=Source.RUNWARDEN, actor=runwarden_actor(step), kind=kind,
                         summary=_one_line(step.message), link=entry_link(project, step.insert_id, step.at),
                         severity=step.severity, target=str(step.details.get("target") or ""), marker=marker,
                         verdict_on=verdict_on(step), action_key=written_on(step), held=held_on(step))


def held_on(step: Step) -> Held | None:
    """The hold a decision line names (`held`, shared/outcomes.held_detail), None for a line that names none or
    names one this version does not know (a line a later version wrote)."""
    try:
        return Held(step.details.get("held"))
    except ValueError:
        return None


def written_on(step: Step) -> str:
    """The action record a write of Runwarden's made (its claim key), as its `applied` line names it
    (`key`, shared/outcomes.applied_record: the alert path's write, an operator's command's, an approved
    proposal's alike), or as the gate's `adopted` line does for a write an attempt made and could not
    record (`key`, Gate.adopt_write; a line of an earlier version names it in its words only). "" when it
    names none (an `applied` line of an earlier version: the builder then reads it from the attempt's
    `planned` line, `write_key`)."""
    key = step.details.get("key")
    if step.step == "adopted":
        found = _ADOPTED.match(step.message)
        return key if isinstance(key, str) and key else found.group(1) if found else ""
    return key if step.step == "applied" and isinstance(key, str) else ""


def recorded_again(first: TimelineEntry, then: TimelineEntry) -> TimelineEntry | None:
    """Of two write rows naming one action record with no verdict on it between them, the one that only
    recorded the other's write: an `adopted` row (the gate recorded a write an attempt made, Gate.adopt_write)
    beside the writer's own `applied` line (its write outlived its claim, and the sweep recorded it
    meanwhile), or the later of two adoptions. The write is the writer's line: the one written when it was
    made. None when neither is an adoption (the record made again by another write, as before)."""
    if then.kind == "adopted":
        return then
    return first if first.kind == "adopted" else None


def verdict_on(step: Step) -> str:
    """The action record a line of the sweep judges (its `key`), when the line is a verdict: it leaves the
    record verified, undone or escalated (`record_state`, verification.step_on_record). An escalation that
    keeps the record pending or undoing (its evidence unreadable past its deadline, an undo unfinished) is a
    notice, not a verdict: the sweep still judges the write later. A line of an earlier version names no
    state: its `verified` and `undone` are verdicts (only a verdict writes them), its `escalated` is not
    taken as one (either may be; not taking it leaves a later write uncredited, never one credited wrongly)."""
    key = step.details.get("key")
    if step.step not in VERDICT_STEPS or not isinstance(key, str) or not key:
        return ""
    state = step.details.get("record_state")
    if state is None:
        return key if step.step != "escalated" else ""
    return key if state in JUDGED_STATES else ""


def write_key(incident_id: str, planned: Step | None) -> str:
    """The key of the action record a write makes (its claim key), from the `planned` line of its attempt:
    the action and its target (shared/pipeline.py writes both on it). "" with no such line."""
    if planned is None:
        return ""
    params = planned.details.get("params")
    target = str(params.get("target") or "") if isinstance(params, dict) else ""
    action = str(planned.details.get("action") or "")
    return claim_key(incident_id, target, action) if target and action else ""


def step_key(step: Step) -> tuple:
    """The row a step line goes in. Each line is an event of its own: two deliveries escalated with the same
    reason, two commands in the same words, are two rows (duplicates of one entry are dropped as they are
    read: `line_identity`). Only a line that counts its delivery (`attempt`: the pipeline's `deferred`,
    `error` and `gave_up` lines say "delivery N of at most L") shares a row with the other deliveries of its
    message: a storm of redeliveries is one row with a count, not a row per delivery."""
    if not is_attempt(step):
        return ("runwarden", "line", step.writer, step.at, step.insert_id)
    message = _DELIVERY.sub("delivery # of", step.message)
    return ("runwarden", step.step, _one_line(message), str(step.details.get("message_id") or ""))


def line_identity(entry: LoggedEntry, step: Step) -> tuple[tuple, ...]:
    """The keys under which a line read twice is the same line. Logging's own: "Logging considers other log
    entries in the same project, with the same `timestamp`, and with the same `insert_id` to be duplicates
    which are removed in a single query result. However, there are no guarantees of de-duplication in the
    export of logs" (LogEntry.insert_id, google/logging/v2/log_entry.proto): an entry the oldest-first and
    the newest-first reads both reach, or one repeated across pages, is one. The writer's: one process
    never writes two lines at one `time` (writer.line_time), so a line of one writer at one time and step,
    in the same words, is the same line, whatever id it was stored under. Lines of earlier versions (no
    writer) have Logging's key alone."""
    keys: tuple[tuple, ...] = (("entry", entry.timestamp, entry.insert_id),)
    if step.writer:
        keys += (("line", step.writer, entry.timestamp, step.step, step.message),)
    return keys


_DELIVERY = re.compile(r"\bdelivery \d+ of")


def is_attempt(step: Step) -> bool:
    # A number, read back from jsonPayload (a protobuf Struct: every number is a double).
    attempt = step.details.get("attempt")
    return isinstance(attempt, (int, float)) and not isinstance(attempt, bool)


def alert_row(step: Step, project: str) -> TimelineEntry:
    """The alert opening or closing, as the notification Runwarden received tells it."""
    state = step.alert_state
    opened = state == "open"
    at = _epoch(step.details.get("started_at" if opened else "ended_at")) or step.at
    policy = step.details.get("policy") or "?"
    summary = (f"alert {'opened' if opened else 'closed'}: policy {policy!r}"
               # On the row's own day as a time of day, else dated: an alert opened at 23:58 whose notification
               # came at 00:01 read "received 00:01:00Z" on a row of the day before.
               f" (notification received {clock_on(step.at, at)}Z)")
    return TimelineEntry(at=at, source=Source.ALERT, actor=MONITORING,
                         kind="alert_opened" if opened else "alert_closed",
                         summary=summary, link=entry_link(project, step.insert_id, step.at), severity=step.severity,
                         marker="alert_open" if opened else "alert_close")


def alert_key(step: Step, row: TimelineEntry) -> tuple:
    # Redeliveries and re-notifications of one state of one incident are one event.
    return ("alert", row.kind, row.at)


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def one_line(text: str, limit: int = 240) -> str:
    """A row's summary: one line, at most `limit` characters."""
    return _one_line(text, limit)


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- audit entries ------------------------------------------------------------------------------
#
# Method names as each service's "audit logging" page lists them (cloud.google.com/run/docs/audit-logging,
# /vpc/docs/serverless-vpc-access-audit-logging, /sql/docs/audit-logging,
# /secret-manager/docs/audit-logging). Cloud Run's v1 API (gcloud's) writes ReplaceService, the
# v2 API UpdateService.

_RUN = re.compile(rf"^google\.cloud\.run\.v[12]\.{service_methods(SERVICE_CHANGES)}")
# VPC Access: the "Serverless VPC Access audit logging" page lists VpcAccessService.CreateConnector,
# UpdateConnector and DeleteConnector (v1, v1beta1). The connector PATCH (projects.locations.connectors.
# patch) has also been read as `Connectors.PatchConnector` (the form of OperationMetadata.method,
# vpc_access.proto) or `VpcAccessService.PatchConnector`: which one a real entry carries is UNCONFIRMED
# in Google's words beyond that list (the stand-in writes either), so every form is a change.
_VPC = re.compile(r"^google\.cloud\.vpcaccess\.v1(?:beta1)?\.(?:VpcAccessService|Connectors)\."
                  r"(CreateConnector|UpdateConnector|PatchConnector|DeleteConnector)$")
# The connector's update, under each of those names (Runwarden's own scale is one).
CONNECTOR_UPDATE = re.compile(r"^google\.cloud\.vpcaccess\.v1\.(?:VpcAccessService|Connectors)\."
                              r"(?:UpdateConnector|PatchConnector)$")
# cloudsql.instances.connect and generateEphemeralCert are ADMIN_WRITE too, but every connection
# writes them: they are not changes.
_SQL = re.compile(r"^cloudsql\.instances\.(update|patch|restart|failover|restoreBackup|promoteReplica|demoteMaster|"
                  r"delete|create|clone|stopReplica|startReplica|import|export|truncateLog|reencrypt|"
                  r"resetSslConfig|rotateServerCa|addServerCa|migrate)$")
_SECRET = re.compile(r"^google\.cloud\.secretmanager\.v1\.SecretManagerService\.(AddSecretVersion|"
                     r"EnableSecretVersion|DisableSecretVersion|DestroySecretVersion)$")


@dataclass
class Related:
    """What the incident's service depends on, whose changes belong in its timeline."""

    project: str
    service: str = ""                      # short name
    location: str = ""
    connectors: set[str] = field(default_factory=set)      # short names
    sql_instances: set[str] = field(default_factory=set)   # instance names (the part after the last ':')
    # Full secret names, projects/P/secrets/S (run_references), or a bare id whose project is not known.
    secrets: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Change:
    """An audit entry the timeline keeps."""

    at: datetime
    family: str              # run | connector | sql | secret
    # deploy | traffic_change | service_change | connector_change | sql_operation | secret_version
    kind: str
    method: str
    resource: str
    principal: str
    summary: str
    insert_id: str
    # The long-running operation the entry belongs to, "" for none: its id with its producer, as
    # LogEntryOperation.producer says "The combination of id and producer must be globally unique"
    # (google/logging/v2/log_entry.proto). By the id alone, another service's operation under the same
    # id (ids are "arbitrary", LogEntryOperation.id) read as this one's end.
    operation: str
    on_service: bool         # the incident's service itself (not something it depends on)


def change_of(entry: LoggedEntry, related: Related, read_in: str = "") -> Change | None:
    """The change `entry` records to the service or what it depends on, or None. `read_in`: the project whose
    audit log it was read from (the service's, `related.project`, by default)."""
    audit = entry.audit
    if audit is None or audit.status_code not in (0,):
        return None          # a refused call changed nothing
    method, resource = audit.method_name, audit.resource_name
    short = method.rsplit(".", 1)[-1]
    last = resource.rstrip("/").rsplit("/", 1)[-1]
    if _RUN.match(method) and related.service and _is_service(resource, related):
        kind, what = _run_kind(short, audit.request)
        return _change(entry, "run", kind, f"{what} of service {related.service} ({short})", True)
    if _VPC.match(method) and "/connectors/" in resource and last in related.connectors:
        return _change(entry, "connector", "connector_change", f"connector {last}: {short}", False)
    if _SQL.match(method) and last.rsplit(":", 1)[-1] in related.sql_instances:
        return _change(entry, "sql", "sql_operation", f"Cloud SQL instance {last}: {method.rsplit('.', 1)[-1]}", False)
    if _SECRET.match(method):
        secret = _secret_name(resource, read_in or related.project)
        if secret and any(one_secret(secret, ours) for ours in related.secrets):
            return _change(entry, "secret", "secret_version", f"secret {secret.rsplit('/', 1)[-1]}: {short}", False)
    return None


def _change(entry: LoggedEntry, family: str, kind: str, summary: str, on_service: bool) -> Change:
    audit = entry.audit
    operation = f"{entry.operation.producer} {entry.operation.id}" if entry.operation and entry.operation.id else ""
    return Change(at=entry.timestamp, family=family, kind=kind, method=audit.method_name,
                  resource=audit.resource_name, principal=audit.principal or "unknown principal", summary=summary,
                  insert_id=entry.insert_id, operation=operation, on_service=on_service)


def _is_service(resource: str, related: Related) -> bool:
    # v2: projects/P/locations/L/services/S; v1: namespaces/P/services/S (P an id or a number).
    parts = resource.split("/")
    if len(parts) >= 2 and parts[-2] == "services" and parts[-1] == related.service:
        return not (related.location and "locations" in parts
                    and parts[parts.index("locations") + 1] != related.location)
    return False


def _secret_name(resource: str, read_in: str) -> str:
    """The secret an audit entry's resource names, in full (projects/P/secrets/S), "" for none. A revision
    names its own project's secret by id and another project's in full (SecretKeySelector.secret,
    google/cloud/run/v2/k8s_min.proto), so by the id alone a change to the service project's db-pass was
    taken for one to the other project's db-pass the service reads. An Admin Activity entry is written in
    the project that holds the resource ("Cloud Audit Logs ... are stored in the resource container", Cloud
    Audit Logs overview, cloud.google.com/logging/docs/audit; which spelling of the project a Secret Manager
    entry's resourceName carries, id or number, is UNCONFIRMED): a project by number is read as `read_in`,
    the project whose log it was read from, so it is compared by id with the revision's names."""
    parts = resource.split("/")
    if "secrets" not in parts[:-1]:
        return ""
    secret = parts[parts.index("secrets") + 1]
    project = parts[1] if len(parts) > 1 and parts[0] == "projects" and not parts[1].isdigit() else read_in
    return f"projects/{project}/secrets/{secret}" if project else secret


def _run_kind(method: str, request: dict[str, Any] | None) -> tuple[str, str]:
    """A deploy (a new template), a traffic change (traffic only), or another change. Read from
    the audit entry's `request` when the service logged it: v2 UpdateService carries the Service
    (with `template`, `traffic`) and may carry `updateMask`; v1 ReplaceService carries the Knative
    Service (`spec.template`, `spec.traffic`). Without the request, it is a change."""
    if method == "CreateService":
        return "deploy", "creation"
    if method == "DeleteService":
        return "service_change", "deletion"
    service = (request or {}).get("service") or {}
    spec = service.get("spec") if isinstance(service.get("spec"), dict) else service
    mask = str((request or {}).get("updateMask") or (request or {}).get("update_mask") or "")
    traffic = _traffic_text(spec.get("traffic"))
    if mask and set(mask.replace(" ", "").split(",")) <= {"traffic"}:
        return "traffic_change", f"traffic change to {traffic or 'a new split'}"
    image = _image(spec.get("template"))
    if image and traffic and method == "ReplaceService":
        # v1 ReplaceService replaces the whole Service ("Replace a service", namespaces.services.replaceService,
        # Cloud Run Admin API v1: the request body is the Service), so gcloud's `run deploy` and its
        # `run services update-traffic` (the project's docs/timeline.md) both send a template and a traffic
        # block. Which one moved is not in the entry: said as either. Read as a deploy, a person's
        # `update-traffic --to-latest` after Runwarden's rollback left "traffic is pinned" standing.
        return "service_change", (f"deploy of {image} or traffic change to {traffic} (a v1 ReplaceService sends "
                                  "the whole service: which of the two it was is not in the audit entry)")
    if image:
        return "deploy", f"deploy of {image}" + (f" with traffic {traffic}" if traffic else "")
    if traffic:
        return "traffic_change", f"traffic change to {traffic}"
    return "service_change", "change"


def _traffic_text(traffic: Any) -> str:
    if not isinstance(traffic, list):
        return ""
    parts = []
    for target in traffic:
        if not isinstance(target, dict):
            continue
        name = target.get("revision") or target.get("revisionName") or (
            "latest" if target.get("latestRevision") or "LATEST" in str(target.get("type", "")) else "?")
        percent = target.get("percent", 0)
        parts.append(f"{name} {int(percent) if isinstance(percent, (int, float)) else percent}%")
    return ", ".join(parts)


def _image(template: Any) -> str:
    if not isinstance(template, dict):
        return ""
    containers = template.get("containers") or (template.get("spec") or {}).get("containers") or []
    images = [c.get("image") for c in containers if isinstance(c, dict) and c.get("image")]
    return ", ".join(images)
