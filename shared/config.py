"""Runwarden's configuration: one YAML file, validated at load, named by RUNWARDEN_CONFIG.

Every bound a human sets lives here. Defaults are the safe ones: dry-run, one step back,
short windows. A bad field fails the load with an error that names it.
"""
from __future__ import annotations

import os
import re
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.gcp.identifiers import is_connection_name

CONFIG_ENV = "RUNWARDEN_CONFIG"

_SERVICE_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/services/[^/]+$")
_CONNECTOR_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/connectors/[^/]+$")
_TOPIC_NAME = re.compile(r"^projects/[^/]+/topics/[A-Za-z][\w.~+%-]{2,254}$")



# The actions a config may name. The config keeps its own list, so that it needs no import of the
# action registry (which imports this module); tests/unit/test_config.py keeps the two equal.
ACTION_NAMES = frozenset({"rollback_traffic", "restore_traffic", "scale_connector"})

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
        return v

    @field_validator("name")
    @classmethod
    def _full_name(cls, v: str) -> str:
        if not _SERVICE_NAME.match(v):
            raise ValueError("must be a full name: projects/PROJECT/locations/REGION/services/SERVICE")
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
        if not _CONNECTOR_NAME.match(v):
            raise ValueError("must be a full name: projects/PROJECT/locations/REGION/connectors/CONNECTOR")
        return v

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

    def connector(self, name: str) -> ConnectorPolicy:
        # The default policy for a connector nobody wrote one for (validated names only in config).
        return next((c for c in self.connectors if c.name == name), ConnectorPolicy.model_construct(name=name))


class Guardrails(_Section):
    kill_switch: bool = False                   # also a Firestore flag, set by the kill_switch command
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
    # It must outlive the function's own timeout (540 s, infra/locals.tf function_timeout_seconds;
    # 9 minutes is the most an event-driven function may have, Cloud Functions "Function timeout"), even on an instance
    # whose clock runs the whole skew allowance ahead: otherwise a redelivery could take over the
    # claim of an attempt still running and write a second time.
    claim_ttl_seconds: int = Field(default=600, ge=540, le=3600)
    # A completed claim is kept this long, so redeliveries within Pub/Sub's retry window stay no-ops.
    # After it, the incident's action record (kept 30 days) still answers a re-notification.
    claim_retention_seconds: int = Field(default=86400, ge=600, le=30 * 86400)
    # A proposed action may be approved this long after it was proposed; later it is expired.
    proposal_ttl_seconds: int = Field(default=4 * 3600, ge=300, le=7 * 86400)


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
    # gone, or gone elsewhere. 0 turns the check off. docs/behaviour.md, "Judging an action".
    min_traffic_ratio: float = Field(default=0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _deadline_after_settle(self) -> "VerificationSettings":
        if self.deadline_seconds <= self.settle_seconds:
            raise ValueError("deadline_seconds must be longer than settle_seconds")
        return self


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
    # Share of requests answered with one telling status (503, 504, 429) for it to be the symptom.
    status_ratio: float = Field(default=0.1, gt=0, le=1)
    # p99 latency at or above this, but short of the request timeout, is a hang at a client timeout.
    hang_latency_seconds: float = Field(default=25.0, gt=0, le=3600)
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

    @model_validator(mode="after")
    def _ratios_ordered(self) -> "DiagnosisSettings":
        if self.healthy_error_ratio >= self.bad_error_ratio:
            raise ValueError("healthy_error_ratio must be below bad_error_ratio")
        return self


class StateSettings(_Section):
    collection_prefix: str = Field(default="runwarden", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    database: str = "(default)"


class DeliverySettings(_Section):
    # Deliveries of one message before on_alert stops asking for a redelivery and publishes one
    # `failed` outcome saying why. Set it to the push subscription's dead-letter
    # max_delivery_attempts (infra: var.max_delivery_attempts, default 10), so the function gives
    # up, and says so, on the last attempt before Pub/Sub would dead-letter the message.
    max_attempts: int = Field(default=10, ge=1, le=100)


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

    @field_validator("outcomes_topic")
    @classmethod
    def _topic_name(cls, v: str) -> str:
        if not _TOPIC_NAME.match(v):
            raise ValueError("must be a full topic name: projects/PROJECT/topics/TOPIC")
        return v

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

    def manages(self, service_name: str) -> bool:
        return self.service(service_name) is not None

    def service(self, service_name: str) -> ManagedService | None:
        return next((s for s in self.services if s.name == service_name), None)


def parse_config(data: object, source: str = "config") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{source}: {field}: {first['msg']}") from None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load and validate the config named by `path`, or by RUNWARDEN_CONFIG."""
    import yaml

    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(f"{CONFIG_ENV} is not set: point it at Runwarden's YAML config")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, source=str(path))


def config_errors(path: str | os.PathLike) -> list[str]:
    """Every problem in a config file at once, each as `FILE:LINE: field: message` ([] when valid).

    `load_config` stops at the first problem, which is what a function needs; a person fixing a
    file wants all of them, each with the line it is on.
    """
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror}"]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        return [f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]
    if not isinstance(data, dict):
        return [f"{path}:1: the top level must be a mapping"]
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        found = sorted((_line_of(root, err["loc"]), ".".join(str(p) for p in err["loc"]) or "(top level)", err["msg"])
                       for err in exc.errors())
        return [f"{path}:{line}: {field}: {msg}" for line, field, msg in found]
    return []


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
