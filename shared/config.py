"""Runwarden's configuration: one YAML file, validated at load, named by RUNWARDEN_CONFIG.

Every bound a human sets lives here. Defaults are the safe ones: dry-run, one step back,
short windows. A bad field fails the load with an error that names it.
"""
from __future__ import annotations

import os
import re
from enum import Enum
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.gcp.identifiers import is_connection_name, location_or_id_problem, region_problem

CONFIG_ENV = "RUNWARDEN_CONFIG"

_TOPIC_NAME = re.compile(r"^projects/[^/]+/topics/[A-Za-z][\w.~+%-]{2,254}$")
# A config names a resource exactly as Google's alerts and APIs name it, or never matches it: the
# alert's resource labels (project_id, location, service_name: monitored resource cloud_run_revision) are
# lowercase ids, so a project number, a capital letter, a zone or a stray space would leave the resource
# silently unmanaged (or, for a connector, under the default policy instead of the one written).
_NAME_PARTS = re.compile(r"^projects/(?P<project>[^/]*)/locations/(?P<location>[^/]*)/(?P<kind>[^/]*)/(?P<id>[^/]*)$")
# Project ids: lowercase letters, digits and hyphens, starting with a letter, possibly after
# "domain:" (Resource Manager, "Creating and managing projects"; shared/gcp/identifiers.py).
_PROJECT_ID = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]*$")
# Firestore: "4-63 characters. Valid characters are /[a-z][0-9]-/ with first character a letter
# and the last a letter or a number ... '(default)' database ID is also valid" (REST
# projects.databases.create, databaseId).
_DATABASE_ID = re.compile(r"^(?:\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$")
# A host name as an uptime check's `host` label carries it: no scheme, port, path or spaces.
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\.?$",
                   re.IGNORECASE)
# An email as commands' requested_by and audit logs' principalEmail carry it, with no IAM prefix.
_EMAIL = re.compile(r"^[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+$")
_IAM_PREFIX = re.compile(r"^(user|serviceAccount|group|domain|principal|principalSet|deleted):", re.IGNORECASE)


def _full_resource_name(value: str, kind: str, example: str) -> str:
    """`value`, if it is a full resource name of `kind`; else a ValueError saying what to write."""
    problem = _name_problem(value, kind, example)
    if problem:
        raise ValueError(problem)
    return value


def _name_problem(value: str, kind: str, example: str) -> str | None:
    """Why `value` is not a full `projects/P/locations/REGION/{kind}/ID` name as Google writes it."""
    full = f"projects/PROJECT/locations/REGION/{kind}/{example}"
    if value != value.strip():
        return f"has spaces around it: write {value.strip()!r}"
    match = _NAME_PARTS.match(value)
    if not match or match["kind"] != kind:
        short = value.rstrip("/").rsplit("/", 1)[-1]
        hint = f" (for example projects/PROJECT/locations/REGION/{kind}/{short})" if short and "/" not in short \
            and ":" not in short and "." not in short else ""
        return f"must be a full name: {full}{hint}"
    project, location, id_ = match["project"], match["location"], match["id"]
    if project.isdigit():
        return (f"names project {project} by its number: write its project id, which alerts and APIs use "
                f"(resource label project_id)")
    if not _PROJECT_ID.match(project):
        return f"project {project!r} is not a project id: lowercase letters, digits and hyphens, starting with a letter"
    problem = location_or_id_problem(location, id_, kind)
    if problem is None and (region := region_problem(location)) is not None:
        # The rule the alerts path refuses a notification's location by (identifiers.resource_label_problem): every
        # Cloud Run service, connector and Cloud SQL instance is in one region, so a name in `global`, `us` or `l`
        # matched no alert and the resource went unmanaged, said only when the first alert was refused.
        problem = f"location {location!r} {region}"
    return problem


def _email_problem(value: str, what: str) -> str | None:
    prefix = _IAM_PREFIX.match(value.strip())
    if prefix and prefix.group(1).lower() in ("group", "domain", "principalset"):
        return f"{value!r} is a {prefix.group(1)}: {what} are matched one email at a time; list each member's email"
    if prefix:
        return f"{value!r} carries an IAM prefix: write the email alone, {value.strip()[prefix.end():]!r}"
    if not _EMAIL.match(value):
        return f"{value!r} is not an email: write it as {what} carry it (alice@example.com)"
    return None



# The actions a config may name. The config keeps its own list, so that it needs no import of the
# action registry (which imports this module); tests/unit/test_config.py keeps the two equal.
ACTION_NAMES = frozenset({"rollback_traffic", "restore_traffic", "scale_connector"})


def _once(names: list[str], what: str, fix: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name} is listed more than once: {fix}")
        seen.add(name)


def own_and_managed(own: Sequence[str], managed: Sequence[str]) -> str:
    """Why a config whose services list one of Runwarden's own functions (`own`) cannot be used, or "". A watchdog
    that rolls back or scales itself can take down the one thing that would tell a person it failed: whatever else
    the config says, its own service is never managed (refused at load; the functions add the service they run as
    at start, shared/gcp/identity.py `with_own_services`)."""
    both = sorted(set(own) & set(managed))
    if not both:
        return ""
    return (f"{', '.join(both)} is Runwarden's own function (own_services) and also listed under services: Runwarden "
            "never acts on its own service; remove it from services (alerts about it are told to a person, "
            "docs/behaviour.md)")


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid. The message names the field."""


class Mode(str, Enum):
    ENFORCE = "enforce"
    DRY_RUN = "dry_run"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManagedService(_Section):
    name: str  # projects/P/locations/L/services/S
    # Cloud SQL instances ("project:region:instance") the service uses, when its revisions do not
    # name them (a private-IP connection through the connector has no Cloud SQL volume).
    cloudsql_instances: tuple[str, ...] = ()
    # Custom domains mapped to the service: an uptime check on one of these hosts is about it.
    domains: tuple[str, ...] = ()

    @field_validator("cloudsql_instances")
    @classmethod
    def _connection_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not is_connection_name(name):
                raise ValueError(f"{name!r} must be a connection name: [domain:]project:region:instance")
            region = name.rsplit(":", 2)[-2]
            if (problem := region_problem(region)) is not None:   # as a cloudsql_database label's is refused
                raise ValueError(f"{name!r} names location {region!r}, which {problem}")
        # A repeat changes nothing read, and is most often another instance mistyped as one already listed.
        _once(list(v), "Cloud SQL instance", "list each instance the service uses once")
        return v

    @field_validator("name")
    @classmethod
    def _full_name(cls, v: str) -> str:
        return _full_resource_name(v, "services", "SERVICE")

    @field_validator("domains")
    @classmethod
    def _host_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for host in v:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} must be a host name as the uptime check's host label carries it, "
                                 f"such as api.example.com: no scheme, port, path or spaces")
        return v


class RollbackBounds(_Section):
    # Only roll back a revision this young (seconds since it was created, at the time of acting).
    max_revision_age_seconds: int = Field(default=3600, gt=0, le=7 * 86400)


MACHINE_TYPES = ("f1-micro", "e2-micro", "e2-standard-4")  # what the VPC Access API accepts


class ConnectorPolicy(_Section):
    """What automation may do to one connector. A connector only scales up, so every change is
    one-way: without allow_one_way it is proposed to a person, never applied."""

    name: str                                   # projects/P/locations/L/connectors/C
    allow_one_way: bool = False
    max_instances_ceiling: int = Field(default=10, ge=3, le=10)   # the API's own ceiling is 10
    max_instances_step: int = Field(default=2, ge=1, le=7)
    allowed_machine_types: tuple[str, ...] = ("e2-micro", "e2-standard-4")

    @field_validator("name")
    @classmethod
    def _full_name(cls, v: str) -> str:
        return _full_resource_name(v, "connectors", "CONNECTOR")

    @field_validator("allowed_machine_types")
    @classmethod
    def _known_types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in v if t not in MACHINE_TYPES]
        if unknown:
            raise ValueError(f"unknown machine type(s) {unknown}; the API accepts {list(MACHINE_TYPES)}")
        return v


class Bounds(_Section):
    rollback: RollbackBounds = RollbackBounds()
    # Connectors without a policy here get the defaults: proposed only, ceiling 10.
    connectors: tuple[ConnectorPolicy, ...] = ()
    # A plan that touches more targets than this is refused before anything is written.
    max_targets_per_plan: int = Field(default=1, ge=1, le=10)

    @field_validator("connectors")
    @classmethod
    def _one_policy_each(cls, v: tuple[ConnectorPolicy, ...]) -> tuple[ConnectorPolicy, ...]:
        # connector() takes the first: a second policy for one connector would be silently ignored.
        _once([c.name for c in v], "connector", "give each connector one policy")
        return v

    def connector(self, name: str) -> ConnectorPolicy:
        # The default policy for a connector nobody wrote one for (validated names only in config).
        return next((c for c in self.connectors if c.name == name), ConnectorPolicy.model_construct(name=name))


class Guardrails(_Section):
    # Also a Firestore flag, which the `pause` command with no target engages and `resume` with no target
    # releases (docs/commands.md); no command releases this config setting.
    kill_switch: bool = False
    # A service is managed only if the config lists it; with this, it must also carry the label.
    require_label: bool = False                 # runwarden=enabled on the Cloud Run service
    # Budgets: actions applied per target per hour and per day, and across all targets per hour.
    max_actions_per_target_per_hour: int = Field(default=2, ge=1, le=100)
    max_actions_per_target_per_day: int = Field(default=4, ge=1, le=1000)
    max_actions_per_hour: int = Field(default=10, ge=1, le=1000)
    # One action per target per cooldown, whatever the incident (plus shared.clock.CLOCK_SKEW_ALLOWANCE).
    cooldown_seconds: int = Field(default=1800, ge=0, le=7 * 86400)
    # An in-progress claim expires after this (plus shared.clock.CLOCK_SKEW_ALLOWANCE), so a crashed
    # run does not block recovery.
    # It must outlive the function's own timeout (570 s, infra/locals.tf function_timeout_seconds: an
    # HTTP function pushed to by Pub/Sub, below the push's 600 s ack deadline), even on an instance
    # whose clock runs the whole skew allowance ahead: otherwise a redelivery could take over the
    # claim of an attempt still running and write a second time.
    claim_ttl_seconds: int = Field(default=600, ge=570, le=3600)
    # A completed claim is kept this long, so redeliveries within Pub/Sub's retry window stay no-ops.
    # After it, the incident's action record (kept 30 days) still answers a re-notification.
    claim_retention_seconds: int = Field(default=86400, ge=600, le=30 * 86400)
    # A proposed action may be approved this long after it was proposed; later it is expired.
    proposal_ttl_seconds: int = Field(default=4 * 3600, ge=300, le=7 * 86400)
    # A command that writes, or lets writes happen again (a resume, a release), arriving longer than this
    # after Pub/Sub took it (its publish_time) and carrying no expires_at of its own, is rejected: the world
    # it was sent for may have changed since (shared/commands `_too_old`, docs/commands.md).
    command_max_age_seconds: int = Field(default=3600, ge=300, le=30 * 86400)

    @model_validator(mode="after")
    def _day_covers_hour(self) -> "Guardrails":
        # 0 is refused by each budget's bound (ge=1): a budget is never "unlimited", and "never act"
        # is written `kill_switch: true` or `mode: dry_run`. A day smaller than an hour is a swap.
        if self.max_actions_per_target_per_day < self.max_actions_per_target_per_hour:
            raise ValueError(f"max_actions_per_target_per_day ({self.max_actions_per_target_per_day}) is below "
                             f"max_actions_per_target_per_hour ({self.max_actions_per_target_per_hour}): "
                             f"were they swapped? A day's budget must be at least an hour's")
        return self


class ActionMode(_Section):
    """Per-action mode: dry_run here runs the action in shadow even when the global mode enforces."""

    mode: Mode = Mode.ENFORCE


class VerificationSettings(_Section):
    # Wait this long after an action before judging it (metrics lag ~3 minutes).
    settle_seconds: int = Field(default=300, ge=60, le=3600)
    # Not healthy by this long after the action: undo (if reversible) and escalate.
    deadline_seconds: int = Field(default=900, ge=120, le=6 * 3600)
    # The signature coming back this soon after a verified fix is escalated, never acted on again.
    recurrence_window_seconds: int = Field(default=6 * 3600, ge=0, le=7 * 86400)
    # Log-based alerts never send CLOSED: Runwarden closes them after verification or this long.
    log_incident_timeout_seconds: int = Field(default=3600, ge=300, le=7 * 86400)
    # A service pinned to a revision longer than this while a newer Ready revision exists gets a
    # `reminder` outcome from the sweep (again every as long, until the pin is released).
    pin_reminder_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 86400)
    # A service healthy since the action settled at under this share of its own request rate in the
    # lookback before the action is not called recovered (judging.traffic_lost): its callers may have
    # gone, or gone elsewhere; a `verified` needs half, or this share if higher (judging.verified_kept).
    # 0 turns the check off. docs/behaviour.md, "Judging an action".
    min_traffic_ratio: float = Field(default=0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _deadline_after_settle(self) -> "VerificationSettings":
        if self.deadline_seconds <= self.settle_seconds:
            raise ValueError("deadline_seconds must be longer than settle_seconds")
        least = least_deadline_seconds(self.settle_seconds)
        if self.deadline_seconds < least:
            raise ValueError(
                f"deadline_seconds ({self.deadline_seconds}) leaves no time for a verdict after settle_seconds "
                f"({self.settle_seconds}): an action is judged on minutes from {judged_after_seconds(self.settle_seconds)} s "
                f"after its write at the earliest (settle_seconds, or the {_SKEW_SECONDS} s clock-skew allowance "
                f"if longer), and needs {VERDICT_MINUTES} whole minutes of requests there, visible up to "
                f"{METRIC_VISIBLE_SECONDS} s after each minute: every action would end unclear and be escalated. "
                f"Write deadline_seconds: {least} or more" + _shorter_settle(self.settle_seconds, self.deadline_seconds))
        return self


# What the judge needs before any verdict, for `least_deadline_seconds`. Held equal to the judge's own
# constants by tests/unit/test_config_verification.py (this module cannot import them: they import it).
# - The minutes judging an action start no earlier than the write plus the clock-skew allowance
#   (shared/remediation/judging.after_write), or its settle time if later.
# - A verdict, healthy or failing, needs at least 2 whole minutes of requests there (judging._MIN_MINUTES).
# - Cloud Run's request_count is "Sampled every 60 seconds. After sampling, data is not visible for up
#   to 180 seconds" (Cloud Monitoring, "Google Cloud metrics", run.googleapis.com/request_count):
#   a minute is read as whole only that long after its end (facts.INGEST_LAG).
_SKEW_SECONDS = int(CLOCK_SKEW_ALLOWANCE.total_seconds())
VERDICT_MINUTES = 2
METRIC_VISIBLE_SECONDS = 180


def _shorter_settle(settle_seconds: int, deadline_seconds: int) -> str:
    """The other way out, where a shorter settle time alone would leave room for a verdict."""
    room = deadline_seconds - VERDICT_MINUTES * 60 - METRIC_VISIBLE_SECONDS
    return f", or settle_seconds: {room} or less" if _SKEW_SECONDS <= room < settle_seconds else ""


def judged_after_seconds(settle_seconds: int) -> int:
    """Seconds after the write from which its minutes are judged, at the earliest (judging.after_write)."""
    return max(settle_seconds, _SKEW_SECONDS)


def least_deadline_seconds(settle_seconds: int) -> int:
    """The shortest deadline under which an action can be verified or found failing at all: the judged
    minutes' start, the minutes a verdict needs (each point stands for the minute ending at its end time,
    and the window holds every point ending after its start, so the second whole minute ends within
    VERDICT_MINUTES minutes of the start), and their ingest delay. A shorter one makes every action
    `unclear` at its deadline (judging.next_step escalates it), whatever the service does."""
    return judged_after_seconds(settle_seconds) + VERDICT_MINUTES * 60 + METRIC_VISIBLE_SECONDS


# The DiagnosisSettings durations that are the length of a window read per minute: whole minutes only.
# (Durations that are compared with a time, not read as a window of points, take any whole second:
# max_data_delay_seconds, deploy_window_seconds, manual_change_window_seconds.)
PER_MINUTE_WINDOWS = ("lookback_seconds", "baseline_seconds", "max_incident_window_seconds", "recent_seconds")


class DiagnosisSettings(_Section):
    """Thresholds of the signature rules. docs/signatures.md justifies each default."""

    # Incident window: this long before the incident start (or since the suspect deploy), to now.
    lookback_seconds: int = Field(default=900, ge=60, le=6 * 3600)
    # Baseline window: this long before the suspect revision was created.
    baseline_seconds: int = Field(default=3600, ge=300, le=24 * 3600)
    # An incident open longer than this (a re-notification hours later, a late redelivery) is judged on
    # its last this-many seconds, not from its start: evidence of the current state never reaches
    # back further. Its start still decides "what changed at the start" (a deploy suspect, the audit
    # log, a person's change after it began). docs/behaviour.md, "Re-notified, hours later".
    max_incident_window_seconds: int = Field(default=1800, ge=300, le=24 * 3600)
    # Recent window: the last minutes of data, where "healthy" is judged.
    recent_seconds: int = Field(default=300, ge=120, le=3600)
    # Monitoring lags ~3-4 minutes; data older than this at diagnosis time is too late to judge.
    max_data_delay_seconds: int = Field(default=420, ge=60, le=3600)
    # A revision deployed at most this long before the incident start is a deploy suspect.
    deploy_window_seconds: int = Field(default=1800, ge=60, le=24 * 3600)
    # Fewer requests than this in a window is too little traffic to judge.
    min_requests: int = Field(default=20, ge=1)
    # 5xx share at or above which a revision is failing.
    bad_error_ratio: float = Field(default=0.2, gt=0, le=1)
    # 5xx share at or below which a revision served cleanly.
    healthy_error_ratio: float = Field(default=0.01, ge=0, lt=1)
    # The most 5xx a rollback target may have answered before the deploy as a steady background (a flaky
    # endpoint, clients' aborted requests) and still be known good, under the alert's own bar too
    # (shared/diagnosis/background.py). 3 %: production services carry a percent or two; beyond a few
    # percent a "background" is a failure of its own. At or below healthy_error_ratio: no background.
    background_error_ratio: float = Field(default=0.03, ge=0, lt=1)
    # Share of requests answered with one telling status (503, 504, 429) for it to be the symptom.
    status_ratio: float = Field(default=0.1, gt=0, le=1)
    # p99 latency at or above this, but short of the request timeout, is a hang at a client timeout.
    hang_latency_seconds: float = Field(default=25.0, gt=0, le=3600)
    # A request timeout at or below this cuts a hang at a client timeout short: the hang shows as
    # 504s at the request timeout, not in the hang band below it.
    hang_ceiling_seconds: float = Field(default=40.0, gt=0, le=3600)
    # Share of the window's minutes whose p99 must be in the hang band.
    hang_minutes_ratio: float = Field(default=0.5, gt=0, le=1)
    # Connector CPU p99 at or above this is saturated (public policies alert at 0.7 for 5 min).
    connector_cpu_saturation: float = Field(default=0.8, gt=0, le=1)
    # Connector throughput at or above this share of its ceiling is near the ceiling.
    connector_throughput_ratio: float = Field(default=0.8, gt=0, le=1)
    # Database connection errors in the application's logs needed to blame the database.
    db_error_logs_min: int = Field(default=5, ge=1)
    # Startup failures in the logs needed to blame a revision's startup.
    startup_failure_logs_min: int = Field(default=3, ge=1)
    # A traffic change by someone else this long before the incident (or any change after its
    # start) makes automation stand down.
    manual_change_window_seconds: int = Field(default=1800, ge=0, le=24 * 3600)
    # Runwarden's own identities in audit logs: its changes are not a person's.
    self_principals: tuple[str, ...] = ()
    # Below this confidence, a matched signature is escalated, not acted on.
    act_min_confidence: float = Field(default=0.8, gt=0, le=1)
    # Log entries read per query (the newest first).
    max_log_entries: int = Field(default=300, ge=10, le=1000)

    @field_validator("self_principals")
    @classmethod
    def _principal_emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for principal in v:
            problem = _email_problem(principal, "audit logs (principalEmail)")
            if problem is None and principal != principal.lower():
                problem = f"{principal!r}: write it in lowercase, as audit logs carry a service account's email"
            if problem:
                raise ValueError(problem)
        _once(list(v), "principal", "list each of Runwarden's own identities once")
        return v

    @field_validator(*PER_MINUTE_WINDOWS)
    @classmethod
    def _whole_minutes(cls, v: int, info: ValidationInfo) -> int:
        # Each of these is the length of a window of Cloud Run's request metrics, read per minute (collection
        # `_Scope.metric` asks alignment_seconds=60; "The value must be at least 60 seconds",
        # Aggregation.alignment_period, google/monitoring/v3/common.proto), and a window holds the points
        # ending inside it (Facts.ends_in): 900 s always holds 15, but 90 s holds one or two, depending on
        # where the minute falls, so the same setting judged on a different number of minutes each time.
        if v % 60:
            low, high = 60 * (v // 60), 60 * (v // 60 + 1)
            field = DiagnosisSettings.model_fields[str(info.field_name)].metadata
            least = next((m.ge for m in field if getattr(m, "ge", None) is not None), 60)
            most = next((m.le for m in field if getattr(m, "le", None) is not None), high)
            nearest = " or ".join(str(n) for n in (low, high) if least <= n <= most)
            raise ValueError(f"{v} is not a whole number of minutes: {info.field_name} is the length of a window of "
                             "Cloud Run's request metrics, which are read per minute (a point a minute), so a part of a "
                             f"minute is judged on one minute more or less depending on where the minute falls: "
                             f"write {nearest}")
        return v

    @field_validator("max_data_delay_seconds")
    @classmethod
    def _room_for_on_time_data(cls, v: int) -> int:
        # A point is read once visible, up to METRIC_VISIBLE_SECONDS after its minute ends, and the next
        # minute is not over yet: with metrics on time, the newest point can be that plus a minute old.
        least = METRIC_VISIBLE_SECONDS + 60
        if v < least:
            raise ValueError(
                f"{v} s would call Cloud Run's request data late while it is on time: request_count is visible "
                f"up to {METRIC_VISIBLE_SECONDS} s after each minute ends, so the newest point can be "
                f"{least - 1} s old at a read; diagnoses and verdicts would be refused as having no fresh data. "
                f"Write max_data_delay_seconds: {least} or more (the default, 420, leaves margin)")
        return v

    @model_validator(mode="after")
    def _ratios_ordered(self) -> "DiagnosisSettings":
        if self.healthy_error_ratio >= self.bad_error_ratio:
            raise ValueError("healthy_error_ratio must be below bad_error_ratio")
        if self.background_error_ratio >= self.bad_error_ratio:
            raise ValueError("background_error_ratio must be below bad_error_ratio")
        return self


class StateSettings(_Section):
    collection_prefix: str = Field(default="runwarden", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    database: str = Field(default="(default)", pattern=_DATABASE_ID.pattern)


# Pub/Sub's dead-letter policy: "The value must be between 5 and 100" (DeadLetterPolicy.
# max_delivery_attempts, google/pubsub/v1/pubsub.proto, as google-cloud-pubsub's pubsub_v1.types
# documents it). infra/variables.tf holds var.max_delivery_attempts to the same range.
DEAD_LETTER_ATTEMPTS = (5, 100)


class DeliverySettings(_Section):
    # Deliveries of one message before on_alert stops asking for a redelivery and publishes one
    # `failed` outcome saying why. Set it to the push subscription's dead-letter
    # max_delivery_attempts (infra: var.max_delivery_attempts, default 10), so the function gives
    # up, and says so, on the last attempt before Pub/Sub would dead-letter the message. So it has
    # that field's range: a value Pub/Sub refuses could never equal what the subscription has.
    max_attempts: int = 10

    @field_validator("max_attempts")
    @classmethod
    def _dead_letter_range(cls, v: int) -> int:
        low, high = DEAD_LETTER_ATTEMPTS
        if not low <= v <= high:
            raise ValueError(
                f"{v} is outside {low}-{high}: it must equal the push subscriptions' dead-letter "
                f"max_delivery_attempts (infra variable max_delivery_attempts, default 10), and Pub/Sub "
                f"allows only {low} to {high} there (DeadLetterPolicy); write a value from {low} to {high}")
        return v


class Config(_Section):
    project: str = Field(min_length=1)          # where Runwarden's own state lives
    mode: Mode = Mode.DRY_RUN                   # acting for real is a decision someone writes down
    outcomes_topic: str
    services: tuple[ManagedService, ...] = ()
    bounds: Bounds = Bounds()
    guardrails: Guardrails = Guardrails()
    diagnosis: DiagnosisSettings = DiagnosisSettings()
    verification: VerificationSettings = VerificationSettings()
    actions: dict[str, ActionMode] = {}         # per-action shadow mode, e.g. {scale_connector: {mode: dry_run}}
    commands_topic: str | None = None           # where sweeps and operators' commands arrive (documentation)
    state: StateSettings = StateSettings()
    delivery: DeliverySettings = DeliverySettings()
    # Principals (as commands give them in requested_by) who may approve or reject proposals and
    # override cooldown and budgets. Authentication is IAM on the commands topic (docs/commands.md).
    operators: tuple[str, ...] = ()
    # Runwarden's own functions as Cloud Run services (projects/P/locations/L/services/S): a Cloud Run functions
    # (2nd gen) function runs as the Cloud Run service of its name ("Cloud Run functions ... deployed as a service on
    # Cloud Run": Google Cloud, "Compare Cloud Run functions"; infra/watchdog.tf reads their logs
    # under resource.labels.service_name so). An alert about one is told to a person and never acted on; the one
    # an instance runs as is added at start from the container contract (shared/gcp/identity.py, own_services).
    own_services: tuple[str, ...] = ()

    @field_validator("outcomes_topic", "commands_topic")
    @classmethod
    def _topic_name(cls, v: str | None) -> str | None:
        if v is not None and not _TOPIC_NAME.match(v):
            raise ValueError("must be a full topic name: projects/PROJECT/topics/TOPIC")
        return v

    @field_validator("services")
    @classmethod
    def _each_service_once(cls, v: tuple[ManagedService, ...]) -> tuple[ManagedService, ...]:
        # service() takes the first: a second entry's settings would be silently ignored.
        _once([s.name for s in v], "service", "list each service once, with all its settings")
        _once([d.lower().rstrip(".") for s in v for d in s.domains], "domain",
              "a custom domain maps to one service")
        return v

    @field_validator("bounds")
    @classmethod
    def _connectors_where_services_run(cls, v: Bounds, info: ValidationInfo) -> Bounds:
        # A connector serves only services in its own region: "A Cloud Function and a Serverless
        # VPC Access connector must be located in the same region" (the API's BadRequest,
        # serverless/serverless-google-cloudfunctions#277), and Cloud Run refuses a deployment
        # whose region is not the connector's (firebase-tools#10467). A policy for a connector in a
        # region where no managed service runs can never apply, while the connector the services
        # do use is left under the default policy: most likely a typo in the region.
        regions = {s.name.split("/")[3] for s in info.data.get("services", ())}
        for policy in v.connectors if regions else ():
            region = policy.name.split("/")[3]
            if region not in regions:
                raise ValueError(f"connector {policy.name} is in {region}, where no managed service runs "
                                 f"(they run in {', '.join(sorted(regions))}): a connector serves only its own "
                                 f"region, so this policy would never apply; check the connector's region")
        return v

    @field_validator("operators")
    @classmethod
    def _operator_emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for operator in v:
            problem = _email_problem(operator, "commands' requested_by")
            if problem:
                raise ValueError(problem)
        # As is_operator compares them: a repeat in another case is the same person, most often written where
        # another operator was meant, who then may not approve.
        _once([o.strip().lower() for o in v], "operator", "list each operator once")
        return v

    @field_validator("own_services")
    @classmethod
    def _never_managed(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        names = tuple(_full_resource_name(name, "services", "SERVICE") for name in v)
        _once(list(names), "own service", "list each of Runwarden's own functions once")
        problem = own_and_managed(names, [s.name for s in info.data.get("services", ())])
        if problem:
            raise ValueError(problem)
        return names

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, v: dict[str, ActionMode]) -> dict[str, ActionMode]:
        unknown = sorted(set(v) - ACTION_NAMES)
        if unknown:
            raise ValueError(f"unknown action(s) {unknown}; known: {sorted(ACTION_NAMES)}")
        return v

    @property
    def dry_run(self) -> bool:
        return self.mode is Mode.DRY_RUN

    def action_dry_run(self, action: str) -> bool:
        """Dry-run globally, or in shadow for this action alone."""
        return self.dry_run or (action in self.actions and self.actions[action].mode is Mode.DRY_RUN)

    def is_operator(self, principal: str) -> bool:
        return principal.strip().lower() in {o.strip().lower() for o in self.operators}

    def operator_in_member_form(self, principal: str) -> str | None:
        """The operator `principal` names in IAM's member form ("user:alice@example.com", "serviceAccount:…",
        IAM docs "Principal identifiers"), whose email alone is in operators; None otherwise. Never taken for
        that operator: the refusal names it, so the sender learns what to write (the check stays one rule)."""
        prefix = _IAM_PREFIX.match(principal.strip())
        if prefix is None or prefix.group(1).lower() not in ("user", "serviceaccount"):
            return None
        email = principal.strip()[prefix.end():]
        return email if self.is_operator(email) else None

    def manages(self, service_name: str) -> bool:
        return self.service(service_name) is not None

    def owns(self, service_name: str) -> bool:
        """Whether `service_name` (projects/P/locations/L/services/S) is one of Runwarden's own functions: the
        same project, region and name, exactly (a service id is unique only within its project and region:
        google/cloud/run/v2/service.proto, Service.name), so a service of the same name elsewhere is not."""
        return service_name in self.own_services

    def service(self, service_name: str) -> ManagedService | None:
        return next((s for s in self.services if s.name == service_name), None)


def parse_config(data: object, source: str = "config") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {_not_a_mapping(data)}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: {_field(first)}: {_describe(first)}") from None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load and validate the config named by `path`, or by RUNWARDEN_CONFIG. Every problem, from
    the environment variable to the last field, is a ConfigError (functions/runtime.py logs it as
    the CRITICAL `config_error` step the watchdog pages on)."""
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(f"{CONFIG_ENV} is not set: point it at Runwarden's YAML config")
    root, data = _read(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: {_not_a_mapping(data)}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{path}:{_line_of(root, first['loc'])}: {_field(first)}: {_describe(first)}") from None


def config_errors(path: str | os.PathLike) -> list[str]:
    """Every problem in a config file at once, each as `FILE:LINE: field: message` ([] when valid).

    `load_config` stops at the first problem, which is what a function needs; a person fixing a
    file wants all of them, each with the line it is on. Both read the file the same way (`_read`).
    """
    try:
        root, data = _read(path)
    except ConfigError as exc:
        return [str(exc)]
    if not isinstance(data, dict):
        return [f"{path}:1: {_not_a_mapping(data)}"]
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        found = sorted((_line_of(root, err["loc"]), _field(err), _describe(err)) for err in exc.errors())
        return [f"{path}:{line}: {field}: {msg}" for line, field, msg in found]
    return []


# --- reading the file ------------------------------------------------------------------------------
#
# PyYAML reads YAML 1.1, where some plain scalars are not what a person means by them, and where a
# key given twice silently keeps the last value. The config sets the bounds automation acts within,
# so these are refused, naming the line, rather than read one way here and another by whoever
# reads the file next (Terraform's yamldecode reads YAML 1.2: infra/config_check):
# - a key given twice: a second `guardrails:` section would drop a `kill_switch: true` above it;
# - base-60 numbers: `cooldown_seconds: 1:30` is 90 in YAML 1.1 (a string in YAML 1.2);
# - a leading zero, 0x or 0b: `0600` is octal 384 in YAML 1.1 (600 in YAML 1.2).


def _read(path: str | os.PathLike) -> tuple[Any, Any]:
    """(root node, data) of the YAML file at `path`; ConfigError naming the file (and line)."""
    import yaml

    where = Path(path)
    shown = str(path) if where.is_absolute() else f"{path} (relative to the working directory {Path.cwd()})"
    try:
        raw = where.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        # Read at every cold start, before the first alert: PyYAML takes seconds over megabytes.
        raise ConfigError(f"{path}: {len(raw):,} bytes, more than a config's {MAX_CONFIG_BYTES:,}: is it the right "
                          f"file? (the example with every field is about 6 KB)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}): save the file as UTF-8")
    loader = strict_yaml_loader()(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        # Our own refusals (a key given twice, a YAML 1.1 number) are valid YAML, refused for what they mean.
        what = "" if isinstance(exc, yaml.constructor.ConstructorError) else "not valid YAML: "
        raise ConfigError(f"{at}: {what}{getattr(exc, 'problem', None) or exc}") from None
    finally:
        loader.dispose()
    return root, data


_LOADER: Any = None
MAX_CONFIG_BYTES = 1 << 20


def strict_yaml_loader() -> Any:
    """yaml.SafeLoader, refusing duplicate keys and YAML 1.1's surprising numbers (see above)."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml
    from yaml.constructor import ConstructorError

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue   # `<<: *anchor` merges defaults that keys beside it may override
                if key_node.value in seen:
                    raise ConstructorError(
                        None, None, f"{key_node.value!r} is given twice (first on line "
                        f"{seen[key_node.value].line + 1}): YAML would silently keep the last; keep one",
                        key_node.start_mark)
                seen[key_node.value] = key_node.start_mark
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node: Any) -> Any:
            _plain_decimal(node, ConstructorError)
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node: Any) -> Any:
            _plain_decimal(node, ConstructorError)
            return super().construct_yaml_float(node)

    StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
    StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
    _LOADER = StrictLoader
    return _LOADER


_SURPRISING_NUMBER = re.compile(r"^[-+]?(?:0[0-9_]+|0[xXbB].*|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$")


def _plain_decimal(node: Any, error: type) -> None:
    value = str(node.value)
    if _SURPRISING_NUMBER.match(value):
        digits = value.lstrip("+-").lower()
        kind = "base 60" if ":" in value else "hex or binary" if digits[:2] in ("0x", "0b") else "octal"
        raise error(None, None, f"{value} is a YAML 1.1 {kind} number, not what it looks like: write a plain "
                                f"decimal number (durations in whole seconds: 5400 for 1 h 30 min)", node.start_mark)


# --- messages --------------------------------------------------------------------------------------

_FRACTIONS = ("ratio", "confidence", "saturation")


def _not_a_mapping(data: object) -> str:
    if data is None:
        return "the file is empty: it must be a mapping with at least project and outcomes_topic"
    return f"the top level must be a mapping (field: value lines), not a {type(data).__name__}"


def _field(err: Any) -> str:
    return ".".join(str(p) for p in err["loc"]) or "(top level)"


def _describe(err: Any) -> str:
    """Pydantic's message, with what to write instead where the mistake is a common one."""
    msg, kind, value = err["msg"], err["type"], err.get("input")
    name = str(err["loc"][-1]) if err["loc"] else ""
    msg = msg.removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"unknown field{_nearest(err['loc'])}: a misspelt field is refused, never ignored"
    if value is None and kind in ("model_type", "tuple_type", "dict_type", "bool_type", "int_type", "float_type",
                                  "string_type"):
        return "is empty (null): give it a value, or remove the line to take the default"
    if kind == "tuple_type" and isinstance(value, (str, int, float)):
        return f"must be a list: write [{value}]"
    if kind == "tuple_type" and isinstance(value, dict):
        return "must be a list of entries, each starting with '- ' (- name: ...), not a mapping"
    if kind == "model_type" and isinstance(value, (str, int, float, bool, list)):
        return f"must be a mapping of its fields (field: value lines under it), not {value!r}"
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"must be text, not the number {value}" + (": write the project id, not its number"
                                                          if name == "project" else "")
    if any(f in name for f in _FRACTIONS) and kind in ("less_than_equal", "less_than") and \
            isinstance(value, (int, float)) and value > 1:
        return f"{msg}: it is a fraction of 1, so {value}% is {value / 100:g}"
    if name.endswith("_seconds") and kind == "int_parsing" and isinstance(value, str):
        return f"{msg}: write whole seconds as a number ({_seconds_hint(value)})"
    if kind == "enum" and isinstance(value, str) and value.strip().lower().replace("-", "_") in ("enforce", "dry_run"):
        return f"{msg}: write {value.strip().lower().replace('-', '_')} (lowercase, with an underscore)"
    return msg


def _seconds_hint(value: str) -> str:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value)
    if not match:
        return "1800 for 30 minutes"
    n = int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return f"{value.strip()} is {n}"


def _nearest(loc: tuple[Any, ...]) -> str:
    import difflib

    model: Any = Config
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(str(part))
        if field is None:
            if isinstance(part, int):
                continue
            return ""
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return ""
    if model is Config:
        home = next((section for section, field in Config.model_fields.items()
                     if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
                     and str(loc[-1]) in field.annotation.model_fields), None)
        if home:
            return f" at the top level (it belongs under {home})"
    close = difflib.get_close_matches(str(loc[-1]), list(getattr(model, "model_fields", {})), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (known here: {', '.join(getattr(model, 'model_fields', {}))})"


def _line_of(node: object, loc: tuple[object, ...]) -> int:
    """The 1-based line of the YAML node at `loc`, or of its deepest existing parent."""
    import yaml

    line = node.start_mark.line + 1  # type: ignore[attr-defined]
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
