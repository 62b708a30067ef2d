"""Scenario sections for Cloud Logging: `logs` (Cloud Run request and container logs) and
`audit_logs` (Admin Activity audit entries), and their seeding into the Logging stand-in.

The models are meant to hang off `Scenario` as `logs: tuple[LogSpec, ...] = ()` and
`audit_logs: tuple[AuditLogSpec, ...] = ()`; `seed_logs` then loads them. Offsets use the
scenario syntax (`-2m`, `+30s`, `-1.5h`; see docs/scenarios.md).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Iterable, Literal, Mapping

from pydantic import BeforeValidator, Field, field_validator, model_validator

from sandbox.scenario_fields import Duration, Offset, Spec, parse_offset
from sandbox.standins.logging import AuditSeed, EntrySeed, OperationSeed, log_name_for
from shared.gcp.run_logs import REQUEST_LOG, STDERR, STDOUT, SYSTEM_LOG

if TYPE_CHECKING:
    from sandbox.standins.logging import LoggingStandIn

# A scenario's shorthand for each of Cloud Run's logs, and the log id it stands for.
LOG_SHORTHANDS = {"requests": REQUEST_LOG, "stderr": STDERR, "stdout": STDOUT, "varlog/system": SYSTEM_LOG}
# The User-Agent Cloud Monitoring's uptime checks send, as a Cloud Run request log shows it in
# httpRequest.userAgent (Cloud Monitoring, "List uptime-check server IP addresses": how to identify the
# uptime-check servers' traffic in your logs; the exact string is UNCONFIRMED in the text retrieved).
UPTIME_AGENT = "GoogleStackdriverMonitoring-UptimeChecks(https://cloud.google.com/monitoring)"
AUDIT_LOG_ID = "cloudaudit.googleapis.com/activity"

# Cloud Run's own words on platform-generated failures (Cloud Run's troubleshooting page).
# An app that answers 500 or 503 itself gets no textPayload, so there is no default for 500.
REQUEST_TEXT = {
    503: ("The request failed because either the HTTP response was malformed or connection to the instance "
          "had an error."),
    504: "The request has been terminated because it has reached the maximum request timeout.",
    429: "The request was aborted because there was no available instance.",
}

_SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")


class SpanSpec(Spec):
    """`{from, to, every}`: with `every`, `count` entries at each step from+every … to (as the
    timeseries generator steps); without it, `count` entries spread evenly, the last one at `to`."""

    from_: Offset = Field(alias="from")
    to: Offset
    every: Duration | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SpanSpec:
        if self.from_ >= self.to:
            raise ValueError("a span needs `from` earlier than `to`")
        return self

    def instants(self, count: int) -> list[timedelta]:
        if self.every is None:
            step = (self.to - self.from_) / count
            return [self.from_ + step * (i + 1) for i in range(count)]
        steps, at = [], self.from_ + self.every
        while at <= self.to:
            steps.append(at)
            at += self.every
        return [at for at in steps for _ in range(count)]


def _at(value: Any) -> Any:
    return SpanSpec.model_validate(value) if isinstance(value, Mapping) else parse_offset(value)


class LogSpec(Spec):
    """Entries of one Cloud Run log of one revision (`count` of them)."""

    at: Annotated[timedelta | SpanSpec, BeforeValidator(_at)]
    log: str                                 # requests | stderr | stdout | varlog/system, or a full log id
    service: str
    revision: str
    severity: str | None = None              # default: from status for requests, DEFAULT otherwise
    text: str | None = None                  # textPayload; "" for none (requests default from status)
    json_: dict[str, Any] | None = Field(default=None, alias="json")   # jsonPayload
    # The line as the container writes it to stdout or stderr, stored as Cloud Run's agent stores it
    # (`agent_entry`): a JSON object becomes jsonPayload, its `severity` the entry's; anything else is
    # textPayload at DEFAULT. How pino, zap, slog or a plain console logger write their lines.
    line: str | None = None
    status: int | None = Field(default=None, ge=100, le=599)           # requests only; default 200
    latency: Duration | None = None          # requests only, e.g. 30.2s
    # requests only: the caller's httpRequest.userAgent; `uptime` is Cloud Monitoring's uptime checker's
    # (UPTIME_AGENT), a request sent by an uptime check rather than by one of the service's callers.
    user_agent: str | None = None
    # requests only: httpRequest.protocol ("HTTP/1.1", "HTTP/2") and httpRequest.requestUrl (google/logging/type/
    # http_request.proto); a gRPC call is HTTP/2 to /package.Service/Method (shared/diagnosis/grpc_calls.py).
    protocol: str | None = None
    url: str | None = None
    count: int = Field(default=1, ge=1, le=100_000)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in _SEVERITIES:
            raise ValueError(f"severity {value!r} is not one of {', '.join(_SEVERITIES)}")
        return value.upper() if value else value

    @model_validator(mode="after")
    def _check(self) -> LogSpec:
        if "/" not in self.log and self.log not in LOG_SHORTHANDS:
            raise ValueError(f"log {self.log!r}: use {', '.join(sorted(LOG_SHORTHANDS))} or a full log id like "
                             f"{REQUEST_LOG}")
        if not self.revision.startswith(f"{self.service}-"):
            raise ValueError(f"revision {self.revision!r} must start with '{self.service}-'")
        if self.text and self.json_ is not None:
            raise ValueError("give `text` or `json`, not both (an entry has one payload)")
        if self.line is not None:
            if self.text is not None or self.json_ is not None or self.severity is not None:
                raise ValueError("`line` is the whole line as written: give no `text`, `json` or `severity` with it "
                                 "(Cloud Run's agent sets them from the line)")
            if self.log not in ("stdout", "stderr"):
                raise ValueError("`line` is written to stdout or stderr")
            agent_entry(self.line)   # a JSON line's severity must be one Logging knows
        if not self.is_requests and (self.status is not None or self.latency is not None
                                     or self.user_agent is not None or self.protocol is not None
                                     or self.url is not None):
            raise ValueError("`status`, `latency`, `user_agent`, `protocol` and `url` belong to the requests log")
        return self

    @property
    def log_id(self) -> str:
        return LOG_SHORTHANDS.get(self.log, self.log)

    @property
    def is_requests(self) -> bool:
        return self.log_id == REQUEST_LOG

    def offsets(self) -> list[timedelta]:
        if isinstance(self.at, SpanSpec):
            return self.at.instants(self.count)
        return [self.at] * self.count


# Per API: the audit log's serviceName, the default methodName, and how a short resource id becomes
# the resource name. Cloud Run's come from its audit logging page; the VPC Access method name is
# UNCONFIRMED (Runwarden matches any methodName naming a Connector), as are the monitored-resource
# types of the VPC Access and Secret Manager entries (audited_resource is Logging's generic type).
AUDIT_APIS: dict[str, tuple[str, str]] = {
    "run": ("run.googleapis.com", "google.cloud.run.v2.Services.UpdateService"),
    "vpcaccess": ("vpcaccess.googleapis.com", "google.cloud.vpcaccess.v1.Connectors.PatchConnector"),
    "cloudsql": ("cloudsql.googleapis.com", "cloudsql.instances.update"),
    "secretmanager": ("secretmanager.googleapis.com",
                      "google.cloud.secretmanager.v1.SecretManagerService.DisableSecretVersion"),
}


class AuditLogSpec(Spec):
    """One Admin Activity audit entry, or the two a long-running operation writes (`done`: the
    first entry at `at`, operation.first=true; the last at `done`, operation.last=true).

    `api: run` (the default) names a scenario service; other APIs name their resource: a connector
    id, a Cloud SQL connection name, or a secret id (short forms are completed from the scenario's
    project and region). `request` is the call's request body, e.g. a traffic split."""

    at: Offset
    principal: str                           # authenticationInfo.principalEmail
    # authenticationInfo.serviceAccountDelegationInfo: who acted through `principal` (a service account), e.g. a
    # person's `gcloud --impersonate-service-account`.
    delegated_by: tuple[str, ...] = ()
    api: Literal["run", "vpcaccess", "cloudsql", "secretmanager"] = "run"
    service: str | None = None               # api run: the scenario service changed
    resource: str | None = None              # other APIs: the resource changed
    method: str | None = None                # default per API (AUDIT_APIS)
    request: dict[str, Any] | None = None
    done: Offset | None = None               # a long-running operation: when its last entry is written
    kind: Literal["traffic", "deploy"] | None = None   # documentation only: what the change was
    # The write was made (the service's last_modifier and update_time show it: sandbox.scenarios.last_write) but its
    # entries reach Logging after Runwarden reads, so no read finds them. How late an Admin Activity entry may be
    # readable is not documented (UNCONFIRMED): the audit-absent reading, on the stand-ins.
    late: bool = False

    @model_validator(mode="after")
    def _check(self) -> AuditLogSpec:
        if "@" not in self.principal:
            raise ValueError(f"principal {self.principal!r} must be an email address")
        if self.api == "run" and not self.service:
            raise ValueError("a run audit entry names the scenario `service` it changed")
        if self.api != "run" and not self.resource:
            raise ValueError(f"a {self.api} audit entry names the `resource` it changed")
        if self.done is not None and self.done <= self.at:
            raise ValueError("`done` must be after `at`")
        return self

    @property
    def method_name(self) -> str:
        return self.method or AUDIT_APIS[self.api][1]


# --- materialising -------------------------------------------------------------------------------


def check_log_specs(logs: Iterable[LogSpec], audit_logs: Iterable[AuditLogSpec],
                    revisions: Mapping[str, Iterable[str]]) -> None:
    """Raises ValueError naming the entry whose service or revision the scenario lacks.
    `revisions` maps each scenario service to its revision names."""
    known = {service: set(names) for service, names in revisions.items()}
    for i, spec in enumerate(logs):
        if spec.service not in known:
            raise ValueError(f"logs[{i}].service {spec.service!r} is not a scenario service")
        if spec.revision not in known[spec.service]:
            raise ValueError(f"logs[{i}].revision {spec.revision!r} is not a revision of {spec.service}")
    for i, audit in enumerate(audit_logs):
        if audit.api == "run" and audit.service not in known:
            raise ValueError(f"audit_logs[{i}].service {audit.service!r} is not a scenario service")


def materialize_logs(project: str, region: str, logs: Iterable[LogSpec], audit_logs: Iterable[AuditLogSpec],
                     anchor: datetime) -> tuple[EntrySeed, ...]:
    """Entry seeds with absolute times (T0 = anchor, timezone-aware), oldest first."""
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware (UTC)")
    seeds = [seed for spec in logs for seed in _log_seeds(project, region, spec, anchor)]
    seeds += [seed for spec in audit_logs if not spec.late for seed in _audit_seeds(project, region, spec, anchor)]
    return tuple(sorted(seeds, key=lambda s: s.timestamp))


def seed_logs(logging_standin: LoggingStandIn, project: str, region: str, logs: Iterable[LogSpec],
              audit_logs: Iterable[AuditLogSpec], anchor: datetime) -> tuple[EntrySeed, ...]:
    """Loads the scenario's log and audit entries into the Logging stand-in; returns the seeds."""
    seeds = materialize_logs(project, region, logs, audit_logs, anchor)
    logging_standin.add_entries(seeds)
    return seeds


def _revision_resource(project: str, region: str, service: str, revision: str) -> dict[str, str]:
    # configuration_name is the service name for Cloud Run services.
    return {"project_id": project, "service_name": service, "revision_name": revision, "location": region,
            "configuration_name": service}


def agent_entry(line: str) -> tuple[str, str | None, dict[str, Any] | None]:
    """(severity, textPayload, jsonPayload) of a line a container writes, as Cloud Run's agent stores
    it. A JSON object is a structured log: its `severity` becomes the entry's ("special JSON fields",
    Cloud Logging's "Structured logging" page; the agent "attempts to match a variety of common
    severity strings": only LogSeverity's own names are taken here, any other is refused as
    UNCONFIRMED) and every other key stays in jsonPayload as written, `message` included (whether
    Cloud Run makes a lone `message` the textPayload is UNCONFIRMED; readers take either). Any other
    line is textPayload with no severity: "Logs written directly to stdout or stderr ... do not have
    an associated log level" (Cloud Run functions' "View and write logs" page)."""
    text = line[:-1] if line.endswith("\n") else line
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return "DEFAULT", text, None
    severity = parsed.pop("severity", "DEFAULT")
    if not isinstance(severity, str) or severity.upper() not in _SEVERITIES:
        raise ValueError(f"line's severity {severity!r} is not a LogSeverity name (which others Cloud Run's agent "
                         "reads is unconfirmed)")
    return severity.upper(), None, parsed


def _log_seeds(project: str, region: str, spec: LogSpec, anchor: datetime) -> list[EntrySeed]:
    resource = _revision_resource(project, region, spec.service, spec.revision)
    status = (spec.status or 200) if spec.is_requests else None
    severity = spec.severity or (_request_severity(status) if status is not None else "DEFAULT")
    text, payload = _request_text(spec, status), spec.json_
    if spec.line is not None:
        severity, text, payload = agent_entry(spec.line)
    return [EntrySeed(log_name=log_name_for(project, spec.log_id), timestamp=anchor + offset,
                      resource_type="cloud_run_revision", resource_labels=resource, severity=severity,
                      text=text, json=payload, http_status=status, http_latency=spec.latency,
                      http_user_agent=UPTIME_AGENT if spec.user_agent == "uptime" else spec.user_agent,
                      http_protocol=spec.protocol, http_request_url=spec.url,
                      labels=dict(spec.labels))
            for offset in spec.offsets()]


def _request_severity(status: int) -> str:
    # As Cloud Run logs them: 429 (max instances reached) is a WARNING, 5xx an ERROR.
    if status >= 500:
        return "ERROR"
    return "WARNING" if status >= 400 else "INFO"


def _request_text(spec: LogSpec, status: int | None) -> str | None:
    if spec.text is not None:
        return spec.text or None           # "" means: no textPayload
    if spec.json_ is not None or status is None:
        return None
    return REQUEST_TEXT.get(status)


# How long a Cloud Run change's operation runs between its two audit entries, unless `done` says.
OPERATION_TAKES = timedelta(seconds=15)


def _audit_seeds(project: str, region: str, spec: AuditLogSpec, anchor: datetime) -> list[EntrySeed]:
    """The entry of an audited change, or both entries of its long-running operation: operations
    "usually generate two audit log entries: one when the operation starts and another when it
    ends" (Cloud Run audit logging page). A Cloud Run change is written as such an operation even
    when the scenario gives no `done` (for the v1 ReplaceService path this is UNCONFIRMED; readers
    merge the two entries, so one entry or two read the same). The end entry names no principal and carries the status: whether the
    real one names the principal is UNCONFIRMED, so readers must not depend on it."""
    service_name, _ = AUDIT_APIS[spec.api]
    resource_type, labels, resource_name = _audited(project, region, spec)
    audit = AuditSeed(method_name=spec.method_name, resource_name=resource_name, principal_email=spec.principal,
                      delegated_by=spec.delegated_by, service_name=service_name, request=spec.request)
    base = dict(log_name=log_name_for(project, AUDIT_LOG_ID), resource_type=resource_type, resource_labels=labels,
                severity="NOTICE")
    done = spec.done
    if done is None and spec.api == "run":
        done = spec.at + OPERATION_TAKES
    if done is None:
        return [EntrySeed(timestamp=anchor + spec.at, audit=audit, **base)]
    digest = hashlib.sha256(f"{resource_name}|{spec.at.total_seconds()}".encode()).hexdigest()[:12]
    op = f"operations/{digest}"
    end = AuditSeed(method_name=spec.method_name, resource_name=resource_name, service_name=service_name,
                    status_code=0)
    return [EntrySeed(timestamp=anchor + spec.at, operation=OperationSeed(op, service_name, first=True),
                      audit=audit, **base),
            EntrySeed(timestamp=anchor + done, operation=OperationSeed(op, service_name, last=True),
                      audit=end, **base)]


def _audited(project: str, region: str, spec: AuditLogSpec) -> tuple[str, dict[str, str], str]:
    """(monitored resource type, its labels, protoPayload.resourceName) for the audited change."""
    if spec.api == "run":
        # Real Run admin-activity entries name the service on a cloud_run_revision resource, with
        # revision_name and configuration_name empty.
        labels = {**_revision_resource(project, region, spec.service, ""), "configuration_name": ""}
        # v1 (gcloud's historical path) names the service by namespace; v2 by project and location.
        name = (f"namespaces/{project}/services/{spec.service}" if ".v1." in spec.method_name
                else f"projects/{project}/locations/{region}/services/{spec.service}")
        return "cloud_run_revision", labels, name
    resource = spec.resource
    if spec.api == "vpcaccess":
        name = resource if "/" in resource else f"projects/{project}/locations/{region}/connectors/{resource}"
        return "audited_resource", {"project_id": project, "service": "vpcaccess.googleapis.com",
                                    "method": spec.method_name}, name
    if spec.api == "cloudsql":
        instance = resource.rsplit(":", 1)[-1]
        return "cloudsql_database", {"project_id": project, "database_id": f"{project}:{instance}",
                                     "region": region}, f"projects/{project}/instances/{instance}"
    name = resource if "/" in resource else f"projects/{project}/secrets/{resource}"
    return "audited_resource", {"project_id": project, "service": "secretmanager.googleapis.com",
                                "method": spec.method_name}, name
