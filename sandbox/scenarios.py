"""Scenarios: YAML descriptions of an incident's world, loaded into the stand-ins.

A scenario lists what each API should hold (one top-level key per API: `services` for
Cloud Run, `timeseries` for Monitoring; later `connectors`, `sql_instances`, `logs`,
`audit_logs`), the alert that opens the incident, and what Runwarden should conclude.
Times are offsets from the incident start T0 (`-10m`, `+2m`), made absolute by
`materialize(anchor)`. The format is documented in docs/scenarios.md.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence, Union

import yaml
from pydantic import BeforeValidator, Field, ValidationError, model_validator

from sandbox.scenario_connectors import ConnectorSection, seed_connectors
from sandbox.scenario_fields import Duration, Offset, Spec
from sandbox.scenario_logs import AuditLogSpec, LogSpec, check_log_specs, seed_logs
from sandbox.scenario_secrets import SecretVersionSpec, seed_secrets
from sandbox.standins.metric_catalogue import descriptor as metric_descriptor
from sandbox.standins.metric_catalogue import series_problems
from sandbox.standins.monitoring import Distribution, PointSeed, SeriesSeed, distribution_from_samples
from sandbox.standins.run import (DEPLOY_ASKED_BEFORE, SEEDED_BY, ConditionSeed, TrafficSeed, hashed_run_app_url,
                                  project_number)
from sandbox.standins.server import StandIns, start_standins
from shared.config import strict_yaml_loader
from shared.diagnosis.run_audit import SERVICE_WRITES, service_methods
from shared.gcp.identifiers import SqlInstance, is_connection_name

SCENARIO_DIR = Path(__file__).parent / "scenarios"

_SERVICE_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# A connector by its full name, or by its bare id: `gcloud run deploy --vpc-connector CONNECTOR_NAME`
# takes the bare id for a connector in the service's own project and region (Cloud Run docs,
# "Connect to a VPC network" with a connector), and the Run API may keep that form: a service
# Terraform set to the full name read back as the bare id (GoogleCloudPlatform/magic-modules #10332).
# Whether Cloud Run always returns the form it was given is UNCONFIRMED.
_CONNECTOR = re.compile(r"^(projects/[^/]+/locations/[^/]+/connectors/[^/]+|[a-z][-a-z0-9]{0,23}[a-z0-9])$")
_CLOUDSQL_INSTANCE = re.compile(r"^(?:[^:\s/]+:)?[^:\s/]+:[^:\s/]+:[^:\s/]+$")


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not validate; the message names the field."""


# --- field types -------------------------------------------------------------------------------


def _as_text(value: Any) -> Any:
    # YAML reads 0.62 as a float; notifications carry these values as strings.
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_as_text)]


_Spec = Spec


# --- Cloud Run ---------------------------------------------------------------------------------


class ConditionSpec(_Spec):
    type: str
    state: Literal["CONDITION_SUCCEEDED", "CONDITION_FAILED", "CONDITION_RECONCILING", "CONDITION_PENDING"] = (
        "CONDITION_SUCCEEDED")
    reason: str = ""        # a Cloud Run CommonReason or RevisionReason name, e.g. SECRETS_ACCESS_CHECK_FAILED
    message: str = ""

    @model_validator(mode="after")
    def _known_reason(self) -> ConditionSpec:
        from google.cloud import run_v2

        known = run_v2.Condition.CommonReason.__members__.keys() | run_v2.Condition.RevisionReason.__members__.keys()
        if self.reason and self.reason not in known:
            raise ValueError(f"reason {self.reason!r} is not a Cloud Run CommonReason or RevisionReason")
        return self


class NetworkInterfaceSpec(_Spec):
    network: str = ""
    subnetwork: str = ""

    @model_validator(mode="after")
    def _one(self) -> NetworkInterfaceSpec:
        if not (self.network or self.subnetwork):
            raise ValueError("a network interface needs a network or a subnetwork")
        return self


class SecretRefSpec(_Spec):
    secret: str                             # a secret id, or projects/P/secrets/S
    version: str = "latest"


class SecretFileSpec(_Spec):
    path: str                               # the file's name under the mount path
    version: str = "latest"


class SecretVolumeSpec(_Spec):
    secret: str                             # a secret id, or projects/P/secrets/S
    mount_path: str = Field(pattern=r"^/")
    items: tuple[SecretFileSpec, ...] = ()  # none: one file named after the secret, its latest value


class SidecarSpec(_Spec):
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
    memory: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?(Ki|Mi|Gi|k|M|G)?$")


class RevisionSpec(_Spec):
    name: str                               # short name, e.g. backend-00002-xyz
    created: Offset
    ready: bool | None = None               # shorthand; default true when no conditions are given
    conditions: tuple[ConditionSpec, ...] = ()
    vpc_connector: str | None = None
    vpc_egress: Literal["ALL_TRAFFIC", "PRIVATE_RANGES_ONLY"] | None = None
    # Direct VPC egress: vpc_access.network_interfaces, e.g. [{network: default, subnetwork: run-egress}].
    network_interfaces: tuple[NetworkInterfaceSpec, ...] = ()
    service_account: str = ""               # the revision's runtime service account (an email)
    env: dict[str, str] = Field(default_factory=dict)          # plain environment variables
    secret_env: dict[str, SecretRefSpec] = Field(default_factory=dict)  # NAME: {secret, version}
    # Secrets mounted as files: VOLUME: {secret, mount_path, items: [{path, version}]} (volumes[].secret).
    secret_volumes: dict[str, SecretVolumeSpec] = Field(default_factory=dict)
    cloudsql_instances: tuple[str, ...] = ()  # "project:region:instance", volumes[].cloud_sql_instance
    max_instances: int | None = Field(default=None, ge=1)        # scaling.max_instance_count
    timeout: Duration | None = None                              # the request timeout, e.g. 300s
    concurrency: int | None = Field(default=None, ge=1, le=1000)  # max_instance_request_concurrency
    # The container's resources: limits["memory"] (e.g. 512Mi, 1Gi), limits["cpu"] (e.g. 1, 2, 1000m)
    # and cpu_idle (CPU only during requests), as Container.resources keeps them.
    memory: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?(Ki|Mi|Gi|k|M|G)?$")
    cpu: str | None = Field(default=None, pattern=r"^(\d+(\.\d+)?|\d+m)$")
    cpu_idle: bool | None = None
    # Scaling and instance settings, where the API keeps them: scaling.min_instance_count (instances kept
    # warm), containers[].resources.startup_cpu_boost, session_affinity and execution_environment.
    min_instances: int | None = Field(default=None, ge=0, le=1000)
    startup_cpu_boost: bool | None = None
    session_affinity: bool = False
    execution_environment: Literal["GEN1", "GEN2"] | None = None
    # The ingress container's image (containers[].image): a tag, or REPOSITORY@sha256:<64 hex>. Unset: a
    # placeholder image every revision that leaves it unset shares, under a tag (never the same digest).
    image: str | None = Field(default=None, pattern=r"^[a-z0-9][^\s@]*(@sha256:[0-9a-f]{64})?$")
    # The ingress container's port name (containers[].ports[].name, ContainerPort: "Allowed values are
    # \"http1\" and \"h2c\"", google/cloud/run_v2/types/k8s_min.py): h2c is end-to-end HTTP/2, what a
    # gRPC server takes. Unset: no port listed (Cloud Run's default, HTTP/1).
    port_name: Literal["http1", "h2c"] | None = None
    # Sidecar containers beside the ingress one: [{name, memory}] (the ingress container then lists
    # port 8080, as only it takes requests).
    sidecars: tuple[SidecarSpec, ...] = ()
    # Deleted since: not listed by the Run API, while Monitoring keeps its series.
    deleted: bool = False
    # A slow start: its Ready condition's last transition this long after `created` (Condition.last_transition_time,
    # google/cloud/run/v2/condition.proto), when its deploy ended. Unset: at `created`.
    ready_after: Duration | None = None

    @model_validator(mode="after")
    def _check(self) -> RevisionSpec:
        if self.ready is not None and self.conditions:
            raise ValueError("give either `ready` or `conditions`, not both")
        if self.vpc_connector and self.network_interfaces:
            raise ValueError("one and only one of vpc_connector and network_interfaces may be set (as the API says)")
        if self.service_account and "@" not in self.service_account:
            raise ValueError(f"service_account {self.service_account!r} must be an email address")
        if self.vpc_connector and not _CONNECTOR.match(self.vpc_connector):
            raise ValueError("vpc_connector must be projects/P/locations/L/connectors/C, or a bare connector id")
        for instance in self.cloudsql_instances:
            if not _CLOUDSQL_INSTANCE.match(instance):
                raise ValueError(f"cloudsql_instances: {instance!r} is not project:region:instance")
        if self.timeout is not None and self.timeout > timedelta(hours=1):
            raise ValueError(f"timeout {self.timeout} is over Cloud Run's maximum of 3600s")
        return self

    def condition_seeds(self) -> tuple[ConditionSeed, ...]:
        if self.conditions:
            return tuple(ConditionSeed(c.type, c.state, c.reason, c.message) for c in self.conditions)
        if self.ready is False:
            return (ConditionSeed("Ready", "CONDITION_FAILED", "REVISION_FAILED", "revision is not ready"),)
        return (ConditionSeed("Ready"),)


class TrafficSpec(_Spec):
    revision: str | None = None
    latest: bool = False
    percent: int = Field(ge=0, le=100)
    tag: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> TrafficSpec:
        if (self.revision is None) == (not self.latest):
            raise ValueError("a traffic target needs exactly one of `revision: NAME` or `latest: true`")
        return self


class ServiceSpec(_Spec):
    name: str                               # short service id, e.g. backend
    labels: dict[str, str] = Field(default_factory=dict)
    revisions: tuple[RevisionSpec, ...] = Field(min_length=1)
    traffic: tuple[TrafficSpec, ...] = ()   # empty: 100% to the latest ready revision
    domains: tuple[str, ...] = ()           # custom domains mapped to the service (config services[].domains)
    managed: bool = True                    # false: a service Runwarden does not manage (not in the config)
    # Service-level max instances (Service.scaling.max_instance_count), beside each revision's own.
    max_instances: int | None = Field(default=None, ge=1)
    # ServiceScaling.scaling_mode and manual_instance_count (google/cloud/run/v2/vendor_settings.proto):
    # a service scaled by hand to a fixed total of instances, divided among the revisions with traffic.
    scaling_mode: Literal["AUTOMATIC", "MANUAL"] | None = None
    manual_instances: int | None = Field(default=None, ge=0)
    # Which time Service.update_time keeps for its newest revision's deploy: when it was asked for, or when it
    # reconciled, that revision's Ready transition (`ready_after`). Neither is documented (UNCONFIRMED:
    # RunStandIn.update_time_when_ready).
    deploy_stamped: Literal["asked", "ready"] = "asked"

    @model_validator(mode="after")
    def _check(self) -> ServiceSpec:
        if not _SERVICE_ID.match(self.name):
            raise ValueError(f"name {self.name!r} is not a valid Cloud Run service id")
        names = [r.name for r in self.revisions]
        if len(set(names)) != len(names):
            raise ValueError(f"revision names repeat in service {self.name}: {names}")
        for i, name in enumerate(names):
            if not name.startswith(f"{self.name}-"):
                raise ValueError(f"revisions[{i}].name {name!r} must start with '{self.name}-'")
        deleted = {r.name for r in self.revisions if r.deleted}
        for i, target in enumerate(self.traffic):
            if target.revision is not None and target.revision not in names:
                raise ValueError(f"traffic[{i}].revision {target.revision!r} is not a revision of {self.name}")
            if target.revision in deleted:
                raise ValueError(f"traffic[{i}].revision {target.revision!r} is deleted: a revision in the "
                                 "traffic split cannot be deleted")
        if self.traffic and sum(t.percent for t in self.traffic) != 100:
            raise ValueError(f"traffic percents must sum to 100, got {sum(t.percent for t in self.traffic)}")
        return self


# --- Monitoring --------------------------------------------------------------------------------


class ResourceSpec(_Spec):
    type: str
    labels: dict[str, str] = Field(default_factory=dict)


class SamplesSpec(_Spec):
    """A DISTRIBUTION value: `samples: [[VALUE, COUNT], ...]` = COUNT samples at VALUE (metric units).

    It becomes a google.api.Distribution with the stand-in's DEFAULT_BUCKET_OPTIONS
    (exponential, scale 0.001, growth factor 1.05, 500 finite buckets): exact count, mean and
    sum_of_squared_deviation, bucket counts as the samples fall."""

    samples: tuple[tuple[float, int], ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> SamplesSpec:
        for value, count in self.samples:
            if not math.isfinite(value):
                raise ValueError(f"sample value {value} is not a finite number")
            if count <= 0:
                raise ValueError(f"sample count must be a positive integer, got {count}")
        return self

    def distribution(self) -> Distribution:
        return distribution_from_samples(self.samples)


PointValue = Union[bool, int, float, str, SamplesSpec]


class PointSpec(_Spec):
    """One point (`at`) or a generator (`from`, `to`, `every`): one point per step."""

    value: PointValue
    at: Offset | None = None
    from_: Offset | None = Field(default=None, alias="from")
    to: Offset | None = None
    every: Duration = timedelta(seconds=60)

    @model_validator(mode="after")
    def _shape(self) -> PointSpec:
        generator = self.from_ is not None or self.to is not None
        if (self.at is not None) == generator:
            raise ValueError("a point needs either `at`, or `from` and `to` (with optional `every`)")
        if generator and (self.from_ is None or self.to is None):
            raise ValueError("a generator needs both `from` and `to`")
        if generator and self.from_ >= self.to:
            raise ValueError("a generator needs `from` earlier than `to`")
        return self

    def relative(self, kind: str) -> list[tuple[timedelta | None, timedelta, PointValue]]:
        """(start, end, value) offsets; DELTA points cover [end - every, end], GAUGE points have no start."""
        if self.at is not None:
            ends = [self.at]
        else:
            ends, at = [], self.from_ + self.every
            while at <= self.to:
                ends.append(at)
                at += self.every
        return [(end - self.every if kind == "DELTA" else None, end, self.value) for end in ends]


def _point_type(value: PointValue) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, SamplesSpec):
        return "DISTRIBUTION"
    return "INT64" if isinstance(value, int) else "DOUBLE"


ValueTypeName = Literal["INT64", "DOUBLE", "BOOL", "STRING", "DISTRIBUTION"]


class SeriesSpec(_Spec):
    metric: str                             # metric type, e.g. run.googleapis.com/request_count
    kind: Literal["DELTA", "GAUGE"] = "DELTA"
    # Default: DISTRIBUTION / BOOL / STRING when the values are samples / booleans / strings;
    # numbers are INT64 for DELTA (DOUBLE if any value has a fraction) and DOUBLE for GAUGE.
    value_type: ValueTypeName | None = None
    resource: ResourceSpec
    labels: dict[str, str] = Field(default_factory=dict)   # metric labels
    points: tuple[PointSpec, ...] = Field(min_length=1)
    project: str | None = None              # default: the scenario's project

    @model_validator(mode="after")
    def _check_values(self) -> SeriesSpec:
        resolved = self.resolved_value_type
        for i, point in enumerate(self.points):
            got = _point_type(point.value)
            numeric_ok = resolved == "DOUBLE" and got == "INT64"
            if got != resolved and not numeric_ok:
                raise ValueError(f"points[{i}].value {point.value!r} does not fit value_type {resolved}"
                                 + (" (give a whole number)" if resolved == "INT64" and got == "DOUBLE" else ""))
        if resolved in ("BOOL", "STRING") and self.kind != "GAUGE":
            raise ValueError(f"{resolved} metrics must be kind GAUGE (the API has no DELTA {resolved} metrics)")
        return self

    @property
    def resolved_value_type(self) -> str:
        if self.value_type is not None:
            return self.value_type
        known = metric_descriptor(self.metric)
        if known is not None:  # a Google metric: its descriptor says
            return known.value_type
        found = {_point_type(p.value) for p in self.points}
        if found <= {"INT64", "DOUBLE"}:
            return "INT64" if self.kind == "DELTA" and found == {"INT64"} else "DOUBLE"
        if len(found) == 1:
            return found.pop()
        raise ValueError(f"points mix value types {sorted(found)}; give value_type")

    @model_validator(mode="after")
    def _no_overlap(self) -> SeriesSpec:
        if self.kind != "DELTA":
            return self
        spans = sorted((start, end) for p in self.points for start, end, _ in p.relative(self.kind))
        for (_, prev_end), (start, end) in zip(spans, spans[1:]):
            if start < prev_end:
                raise ValueError(f"DELTA points overlap: one ends at {prev_end}, the next covers [{start}, {end}]")
        return self

    def stored_value(self, value: PointValue) -> Any:
        """The value as the stand-in stores it: a Distribution for samples, a float for DOUBLE."""
        if isinstance(value, SamplesSpec):
            return value.distribution()
        if self.resolved_value_type == "DOUBLE":
            return float(value)
        return value


# --- the alert and the expectation -------------------------------------------------------------


class SqlInstanceSpec(_Spec):
    """A Cloud SQL instance as Monitoring sees it: `up` becomes cloudsql.googleapis.com/database/up."""

    name: str                               # connection name, project:region:instance
    up: tuple[PointSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _connection_name(self) -> SqlInstanceSpec:
        if not is_connection_name(self.name):
            raise ValueError(f"name {self.name!r} must be a connection name: [domain:]project:region:instance")
        return self

    def series(self) -> SeriesSpec:
        sql = SqlInstance.parse(self.name)
        project, region = sql.project, sql.region
        return SeriesSpec(metric="cloudsql.googleapis.com/database/up", kind="GAUGE", value_type="INT64",
                          resource=ResourceSpec(type="cloudsql_database", labels={
                              "project_id": project, "database_id": sql.database_id, "region": region}),
                          points=self.up, project=project)


class AlertSpec(_Spec):
    """The alert that opens the incident. A metric threshold (the default), a ratio policy
    (`denominator_filter`), a "less than" comparison (`comparison: below`, as uptime checks and
    database/up use), an MQL condition (`mql: QUERY`), or a log-match condition (`log_match: FILTER`:
    no metric, no values, the summary is Monitoring's boilerplate). Any monitored-resource type may be
    named."""

    policy_name: str
    condition_name: str
    resource: ResourceSpec
    metric_type: str = ""
    observed_value: Text | None = None
    threshold_value: Text | None = None
    metric_labels: dict[str, str] = Field(default_factory=dict)
    severity: str = "Error"
    filter: str | None = None               # default: built from metric_type and the resource
    denominator_filter: str | None = None   # a ratio policy's denominator
    comparison: Literal["above", "below"] = "above"
    # The condition's aggregation (perSeriesAligner, crossSeriesReducer). Default: ALIGN_PERCENTILE_99
    # on request_latencies (a distribution: ALIGN_PERCENTILE_* applies, Aggregation.Aligner,
    # google/monitoring/v3/common.proto), ALIGN_RATE otherwise.
    aligner: str | None = None
    reducer: str | None = None
    # The condition's retest window, alignment period and trigger count (AlertPolicy.Condition.MetricThreshold
    # `duration`, Aggregation `alignmentPeriod`, `trigger.count`, google/monitoring/v3/alert.proto and common.proto;
    # ProtoJSON Durations such as "300s"). Defaults: the values every bundled scenario was written with.
    duration: str = Field(default="0s", pattern=r"^\d+s$")
    alignment_period: str = Field(default="60s", pattern=r"^\d+s$")
    trigger_count: int = Field(default=1, ge=1)
    log_match: str | None = None            # a log-match condition's filter
    # An MQL condition's query (conditionMonitoringQueryLanguage: "your query must end with" an alerting operation,
    # `condition` for a threshold; Cloud Monitoring, "Alerting policies with MQL"), carried instead of a
    # conditionThreshold; the metric, resource and values are as for a threshold.
    mql: str | None = None
    documentation: str = ""
    # A metric-absence condition (conditionAbsent: "in violation when a time series for the specified metric of a
    # monitored resource does not include any data in the specified duration", AlertPolicy.Condition.MetricAbsence,
    # google/monitoring/v3/alert.proto): its `duration`, as a ProtoJSON Duration ("300s"), carried instead of a
    # conditionThreshold. No value crossed, so observed_value and threshold_value may be left out (sent as null:
    # which values Monitoring sends for an absence is UNCONFIRMED, no sample).
    absent: str | None = Field(default=None, pattern=r"^\d+s$")
    # The policy's other conditions, by displayName, listed with the carried one in a `conditions` list
    # (AlertPolicy.conditions, one to six, combined by AND, OR or AND_WITH_MATCHING_RESOURCE): no sample from
    # Monitoring carries the list, a relay that embeds the policy may (Incident.listed_conditions).
    other_conditions: list[str] = Field(default_factory=list)
    # The policy's user labels (`policy_user_labels`, as in Cloud Monitoring's schema-1.2 example); sent only
    # when given, as the real Pub/Sub sample carries none.
    policy_user_labels: dict[str, str] = Field(default_factory=dict)
    # How a relay between Monitoring and the alerts topic republished the notification: its push body
    # (`{"message": {"data": "<base64>"}, "subscription": ...}`), its message's `{"data": "<base64>"}`, or the
    # notification's text encoded twice (a JSON string, base64 text). UNCONFIRMED forms, no documented relay;
    # none: the notification's JSON itself, as Monitoring's Pub/Sub channel publishes it.
    relayed_as: Literal["push_body", "data", "json_string", "base64"] | None = None

    @model_validator(mode="after")
    def _shape(self) -> AlertSpec:
        if self.log_match is not None:
            if self.metric_type or self.observed_value is not None or self.threshold_value is not None:
                raise ValueError("a log_match alert has no metric_type, observed_value or threshold_value "
                                 "(Monitoring sends none for log-match conditions)")
            return self
        if not self.metric_type:
            raise ValueError("metric_type is required (or give log_match for a log-match condition)")
        if self.absent is not None:
            if (self.observed_value is None) != (self.threshold_value is None):
                raise ValueError("an absent alert gives both observed_value and threshold_value, or neither")
            if self.threshold_value is None:
                return self
        if self.threshold_value is None or self.observed_value is None:
            raise ValueError("a metric alert needs observed_value and threshold_value")
        try:
            float(self.threshold_value)
        except ValueError:
            raise ValueError(f"threshold_value must be a number, got {self.threshold_value!r}") from None
        return self


class ExpectSpec(_Spec):
    signature: str                          # a Signature value, or "none" when no diagnosis is made (e.g. rejected)
    status: str                             # the outcome status Runwarden should publish (enforce mode)
    action: str | None = None               # the registered action it plans, or null for none
    to_revision: str | None = None
    target: str | None = None               # the resource the action writes to (full name), if it matters
    competing: tuple[str, ...] = ()         # signatures expected to compete (diagnosis inconclusive)
    stand_down: bool = False                # expected to stand down for a recent human change
    notes: str = ""

    @model_validator(mode="after")
    def _rollback_names_its_revision(self) -> ExpectSpec:
        # An applied rollback is checked against the revision it must leave serving; without one the
        # end-to-end check compares the split to {None: 100} and fails only on the emulators.
        if self.action == "rollback_traffic" and self.status == "applied" and not self.to_revision:
            raise ValueError("an applied rollback_traffic expectation needs to_revision: the revision left serving")
        return self


# --- the scenario ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionSeed:
    service: str                            # full service name
    name: str                               # short revision name
    create_time: datetime
    conditions: tuple[ConditionSeed, ...]
    vpc_connector: str | None
    vpc_egress: str | None
    cloudsql_instances: tuple[str, ...] = ()
    max_instances: int | None = None
    timeout: timedelta | None = None
    concurrency: int | None = None
    network_interfaces: tuple[tuple[str, str], ...] = ()
    service_account: str = ""
    env: tuple[tuple[str, str], ...] = ()
    secret_env: tuple[tuple[str, str, str], ...] = ()
    deleted: bool = False
    memory: str | None = None
    cpu: str | None = None
    cpu_idle: bool | None = None
    sidecars: tuple[tuple[str, str | None], ...] = ()
    secret_volumes: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = ()
    min_instances: int | None = None
    startup_cpu_boost: bool | None = None
    session_affinity: bool = False
    execution_environment: str | None = None
    image: str | None = None
    port_name: str | None = None
    ready_after: timedelta = timedelta(0)


@dataclass(frozen=True)
class ServiceSeed:
    name: str                               # full service name
    labels: dict[str, str]
    revisions: tuple[RevisionSeed, ...]
    traffic: tuple[TrafficSeed, ...]
    max_instances: int | None = None        # service-level (Service.scaling.max_instance_count)
    scaling_mode: str | None = None         # Service.scaling.scaling_mode: AUTOMATIC, MANUAL
    manual_instances: int | None = None     # Service.scaling.manual_instance_count
    deploy_stamped: str = "asked"           # ServiceSpec.deploy_stamped


@dataclass(frozen=True)
class Materialized:
    """A scenario with absolute times, as the stand-ins take it."""

    anchor: datetime
    services: tuple[ServiceSeed, ...]
    series: tuple[SeriesSeed, ...]


# The default "now" of a diagnosis on a scenario: T0 + two minutes (Scenario.delivered).
DELIVERED = timedelta(minutes=2)


class Scenario(_Spec):
    name: str
    description: str = ""
    project: str
    region: str
    # The project's number: in the notification's scoping_project_number and in each service's
    # run.app URL (https://SERVICE-PROJECT_NUMBER.REGION.run.app). Default: derived from `project`.
    project_number: int | None = Field(default=None, ge=1, lt=10**13)
    services: tuple[ServiceSpec, ...] = ()
    timeseries: tuple[SeriesSpec, ...] = ()
    connectors: ConnectorSection = ()
    sql_instances: tuple[SqlInstanceSpec, ...] = ()
    logs: tuple[LogSpec, ...] = ()
    audit_logs: tuple[AuditLogSpec, ...] = ()
    # Secret Manager versions by state (sandbox/scenario_secrets.py); pinned ones not listed are ENABLED.
    secret_versions: tuple[SecretVersionSpec, ...] = ()
    alert: AlertSpec | None = None
    expect: ExpectSpec | None = None
    # Runwarden config overrides for this scenario (merged over the generated config), e.g.
    # {bounds: {connectors: [...]}} or {diagnosis: {self_principals: [...]}}.
    config: dict[str, Any] = Field(default_factory=dict)
    # When Runwarden reads the evidence and diagnoses: T0 + this. Two minutes, as an alert delivered
    # at once meets data Monitoring has ingested; later for a delivery that came late (a redelivery
    # after a transient fault waits up to 600 s between attempts, Pub/Sub's backoff).
    delivered: Offset = DELIVERED

    @model_validator(mode="after")
    def _check_delivered(self) -> Scenario:
        if not timedelta(0) < self.delivered <= timedelta(hours=1):
            raise ValueError(f"delivered must be after T0 and at most +1h, got {self.delivered}")
        return self

    def config_data(self, outcomes_topic: str, mode: str = "enforce", project: str | None = None) -> dict[str, Any]:
        """The Runwarden config this scenario is meant to run under: its managed services (with their
        custom domains) and the scenario's own overrides."""
        data: dict[str, Any] = {
            "project": project or self.project, "mode": mode, "outcomes_topic": outcomes_topic,
            "services": [{"name": self.service_name(s.name), **({"domains": list(s.domains)} if s.domains else {})}
                         for s in self.services if s.managed]}
        for key, value in self.config.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        return data

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"service names repeat: {names}")
        revisions = {s.name: {r.name for r in s.revisions} for s in self.services}
        for i, series in enumerate(self.timeseries):
            labels = series.resource.labels
            if series.resource.type == "cloud_run_revision" and labels.get("service_name") in revisions:
                if labels.get("revision_name") not in revisions[labels["service_name"]]:
                    raise ValueError(f"timeseries[{i}].resource.labels.revision_name {labels.get('revision_name')!r} "
                                     f"is not a revision of service {labels['service_name']}")
        check_log_specs(self.logs, self.audit_logs, revisions)
        self._check_catalogue()
        return self

    def _check_catalogue(self) -> None:
        """Each series as the real API would have it: kind, value type and labels per the metric's
        descriptor, the resource type the metric is written against (sandbox/standins/metric_catalogue.py)."""
        for where, spec in [*((f"timeseries[{i}]", s) for i, s in enumerate(self.timeseries)),
                            *((f"sql_instances[{i}]", sql.series()) for i, sql in enumerate(self.sql_instances))]:
            problems = series_problems(spec.metric, spec.resource.type, spec.kind, spec.resolved_value_type,
                                       spec.labels, self.resource_labels(spec.resource))
            if problems:
                raise ValueError(f"{where} ({spec.metric}): " + "; ".join(problems))

    def service_name(self, service: str) -> str:
        return f"projects/{self.project}/locations/{self.region}/services/{service}"

    def materialize(self, anchor: datetime) -> Materialized:
        """Absolute times with T0 = anchor (the incident's started_at; must be timezone-aware)."""
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware (UTC)")
        series = (*self.timeseries, *self.byte_counterparts(), *(sql.series() for sql in self.sql_instances))
        return Materialized(anchor, tuple(self._service_seed(s, anchor) for s in self.services),
                            tuple(self._series_seed(s, anchor) for s in series))

    def byte_counterparts(self) -> tuple[SeriesSpec, ...]:
        """A connector's other byte counter, for each connector series of received_bytes_count or
        sent_bytes_count whose counterpart the scenario leaves out: the same volume on the other. A
        connector is a proxy, forwarding what it takes in on one side out on the other, and Cloud
        Monitoring writes both counters for a connector that carries traffic; which direction each
        counts is not said (cloud.google.com/monitoring/api/metrics_gcp, vpcaccess: UNCONFIRMED). A
        scenario where the two differ (large answers coming back from the database) names both."""
        pairs = {_RECEIVED_BYTES: _SENT_BYTES, _SENT_BYTES: _RECEIVED_BYTES}
        given = {(s.metric, tuple(sorted(self.resource_labels(s.resource).items())), s.project)
                 for s in self.timeseries}
        return tuple(s.model_copy(update={"metric": pairs[s.metric]}) for s in self.timeseries
                     if s.metric in pairs and (pairs[s.metric], tuple(sorted(self.resource_labels(s.resource).items())),
                                               s.project) not in given)

    def _service_seed(self, spec: ServiceSpec, anchor: datetime) -> ServiceSeed:
        full = self.service_name(spec.name)
        revisions = tuple(RevisionSeed(full, r.name, anchor + r.created, r.condition_seeds(), r.vpc_connector,
                                       r.vpc_egress, r.cloudsql_instances, r.max_instances, r.timeout,
                                       r.concurrency, tuple((n.network, n.subnetwork) for n in r.network_interfaces),
                                       r.service_account, tuple(r.env.items()),
                                       tuple((k, v.secret, v.version) for k, v in r.secret_env.items()), r.deleted,
                                       r.memory, r.cpu, r.cpu_idle, tuple((c.name, c.memory) for c in r.sidecars),
                                       tuple((k, v.secret, v.mount_path, tuple((i.path, i.version) for i in v.items))
                                             for k, v in r.secret_volumes.items()),
                                       r.min_instances, r.startup_cpu_boost, r.session_affinity,
                                       r.execution_environment, r.image, r.port_name,
                                       r.ready_after or timedelta(0))
                          for r in spec.revisions)
        traffic = tuple(TrafficSeed(t.percent, None if t.latest else t.revision, t.tag) for t in spec.traffic)
        return ServiceSeed(full, dict(spec.labels), revisions, traffic, spec.max_instances, spec.scaling_mode,
                           spec.manual_instances, spec.deploy_stamped)

    def _series_seed(self, spec: SeriesSpec, anchor: datetime) -> SeriesSeed:
        stored = {id(p): spec.stored_value(p.value) for p in spec.points}  # one Distribution per spec point
        points = tuple(PointSeed(anchor + end, stored[id(p)], None if start is None else anchor + start)
                       for p in spec.points for start, end, _ in p.relative(spec.kind))
        return SeriesSeed(metric_type=spec.metric, resource_type=spec.resource.type,
                          resource_labels=self.resource_labels(spec.resource), metric_labels=dict(spec.labels),
                          kind=spec.kind, points=points, project=spec.project or self.project,
                          value_type=spec.resolved_value_type)

    @property
    def number(self) -> int:
        """The project's number (`project_number`, or the stand-ins' own for the project id)."""
        return self.project_number if self.project_number is not None else project_number(self.project)

    def run_app_url(self, service: str) -> str:
        """A service's deterministic URL, as Cloud Run lists it (cloud.google.com/run/docs/triggering/
        https-request: https://SERVICE-PROJECT_NUMBER.REGION.run.app)."""
        short = service.rsplit("/", 1)[-1]
        return f"https://{short}-{self.number}.{self.region}.run.app"

    def resource_labels(self, resource: ResourceSpec) -> dict[str, str]:
        """The resource's labels, with project_id (and location for regional resources) defaulted."""
        defaults = {"project_id": self.project}
        if resource.type in _REGIONAL_RESOURCES:
            defaults["location"] = self.region
        if resource.type == "cloudsql_database":
            defaults["region"] = self.region
        return {**defaults, **resource.labels}

    def notification(self, anchor: datetime, incident_id: str | None = None, *,
                     state: Literal["open", "closed"] = "open", ended_at: datetime | None = None,
                     closed_value: str | None = None) -> dict:
        """A schema-1.2 Monitoring notification for the scenario's alert, started at `anchor`.

        A CLOSED says "returned to normal with a value of X", as the documented closed notification
        does (tests/fixtures/samples); X is `closed_value`, the value Monitoring measured when the
        condition stopped holding, or, without one, the value the alert fired at: a closing that shows
        no recovery (a snooze on the policy, data that stopped arriving, a close by hand; which value
        such a CLOSED carries is unconfirmed)."""
        if self.alert is None:
            raise ValueError(f"scenario {self.name} has no `alert` section")
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware (UTC)")
        incident_id = incident_id or _incident_id(self.name, anchor)
        incident = _incident(self, self.alert, anchor, incident_id, state, ended_at, closed_value)
        return {"incident": incident, "version": "1.2"}

    def message_data(self, anchor: datetime, **notification_args: Any) -> bytes:
        """The alert's Pub/Sub message data: the notification's JSON, wrapped as the scenario's relay wraps it."""
        if self.alert is None:
            raise ValueError(f"scenario {self.name} has no `alert` section")
        return _relayed(json.dumps(self.notification(anchor, **notification_args)).encode(), self.alert.relayed_as)


def _relayed(body: bytes, relayed_as: str | None) -> bytes:
    encoded = base64.b64encode(body).decode()
    wrapped: dict[str | None, Any] = {
        None: body,
        "push_body": {"message": {"data": encoded, "messageId": "relayed-1"},
                      "subscription": "projects/relay-project/subscriptions/alerts-relay"},
        "data": {"data": encoded},
        "json_string": body.decode(),
        "base64": encoded.encode(),
    }
    form = wrapped[relayed_as]
    return form if isinstance(form, bytes) else json.dumps(form).encode()


_REGIONAL_RESOURCES = frozenset({"cloud_run_revision", "vpc_access_connector"})
_RECEIVED_BYTES = "vpcaccess.googleapis.com/connector/received_bytes_count"
_SENT_BYTES = "vpcaccess.googleapis.com/connector/sent_bytes_count"


# --- the notification -------------------------------------------------------------------------

_METRIC_DISPLAY = {"run.googleapis.com/request_count": "Request Count",
                   "run.googleapis.com/request_latencies": "Request Latencies"}
_RESOURCE_DISPLAY = {"cloud_run_revision": "Cloud Run Revision", "vpc_access_connector": "VPC Access Connector",
                     "cloudsql_database": "Cloud SQL Database", "uptime_url": "Uptime Check URL"}
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def _incident_id(name: str, anchor: datetime) -> str:
    """Deterministic per scenario and anchor, shaped like a real one ("0.nrwotmyokd9n")."""
    n, chars = _digest(f"{name}|{int(anchor.timestamp())}"), []
    for _ in range(12):
        n, i = divmod(n, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[i])
    return "0." + "".join(chars)


def _label_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def _incident(scenario: Scenario, alert: AlertSpec, anchor: datetime, incident_id: str,
              state: str, ended_at: datetime | None, closed_value: str | None = None) -> dict:
    project = scenario.project
    labels = scenario.resource_labels(alert.resource)
    resource_display = _RESOURCE_DISPLAY.get(alert.resource.type, alert.resource.type)
    policy_id, condition_id = _digest(alert.policy_name) % 10**19, _digest(alert.condition_name) % 10**19
    incident = {
        "incident_id": incident_id,
        "scoping_project_id": project,
        "scoping_project_number": scenario.number,
        "url": (f"https://console.cloud.google.com/monitoring/alerting/alerts/{incident_id}"
                f"?channelType=cloud-pubsub&project={project}"),
        "state": state,
        "started_at": int(anchor.timestamp()),
        "ended_at": int(ended_at.timestamp()) if ended_at else None,
        "resource": {"type": alert.resource.type, "labels": labels},
        "resource_type_display_name": resource_display,
        "resource_id": "",
        "resource_display_name": (labels.get("service_name") or labels.get("connector_name")
                                  or labels.get("database_id") or labels.get("host") or ""),
        "resource_name": f"{project} {resource_display} labels {_label_text(labels)}",
        "metadata": {"system_labels": {}, "user_labels": {}},
        "policy_name": alert.policy_name,
        "condition_name": alert.condition_name,
        "documentation": {
            "content": alert.documentation or f"Scenario {scenario.name}: {scenario.description}".strip(),
            "mime_type": "text/markdown",
            "subject": f"[ALERT - {alert.severity}] {alert.policy_name} on {resource_display} {_label_text(labels)}",
            "links": [],
        },
        "severity": alert.severity,
        **({"policy_user_labels": dict(alert.policy_user_labels)} if alert.policy_user_labels else {}),
    }
    condition = {"name": f"projects/{project}/alertPolicies/{policy_id}/conditions/{condition_id}",
                 "displayName": alert.condition_name}
    if alert.log_match is not None:
        # Log-match notifications: empty metric, no values, boilerplate summary (see the log-match sample).
        return {**incident, "metric": {"type": "", "displayName": "", "labels": {}},
                "summary": f"Log match condition fired for {resource_display} with {_label_text(labels)}.",
                "condition": {**condition, "conditionMatchedLog": {
                    "filter": alert.log_match, "resourceContainers": [f"projects/{project}"]}}}
    metric_display = _METRIC_DISPLAY.get(alert.metric_type, alert.metric_type.rsplit("/", 1)[-1])
    threshold_filter = alert.filter or (f'metric.type="{alert.metric_type}" AND resource.type="{alert.resource.type}"'
                                        + "".join(f' AND resource.labels.{k}="{v}"'
                                                  for k, v in sorted(alert.resource.labels.items())))
    aggregation = {"alignmentPeriod": alert.alignment_period, "perSeriesAligner": alert.aligner or (
        "ALIGN_PERCENTILE_99" if alert.metric_type == "run.googleapis.com/request_latencies" else "ALIGN_RATE")}
    if alert.reducer:
        aggregation["crossSeriesReducer"] = alert.reducer
    body = {"filter": threshold_filter,
            "aggregations": [aggregation],
            "comparison": "COMPARISON_LT" if alert.comparison == "below" else "COMPARISON_GT",
            "thresholdValue": float(alert.threshold_value or 0), "duration": alert.duration,
            "trigger": {"count": alert.trigger_count}}
    if alert.denominator_filter:
        body["denominatorFilter"] = alert.denominator_filter
        body["denominatorAggregations"] = body["aggregations"]
    word = "below" if alert.comparison == "below" else "above"
    value = closed_value if state == "closed" and closed_value is not None else alert.observed_value
    # Monitoring's summary templates (the real open sample; the documented closed one).
    said = (f"returned to normal with a value of {value}." if state == "closed" else
            f"is {word} the threshold of {alert.threshold_value} with a value of {value}.")
    kind = ({"conditionMonitoringQueryLanguage": {"query": alert.mql, "duration": alert.duration,
                                                 "trigger": {"count": alert.trigger_count}}}
            if alert.mql is not None else {"conditionThreshold": body})
    if alert.absent is not None:
        kind = {"conditionAbsent": {"filter": threshold_filter, "aggregations": [aggregation],
                                    "duration": alert.absent, "trigger": {"count": alert.trigger_count}}}
        # The wording of an absence's summary is UNCONFIRMED (no sample): Monitoring's words are shown, never parsed.
        said = "returned to normal." if state == "closed" else f"is absent for {alert.absent}."
    listed = ({"conditions": [{"name": f"{condition['name'].rsplit('/', 1)[0]}/{_digest(other) % 10**19}",
                               "displayName": other} for other in alert.other_conditions] + [condition]}
              if alert.other_conditions else {})
    return {**incident, **listed,
            "summary": (f"{metric_display} for {project} {resource_display} labels {_label_text(labels)} with metric "
                        f"labels {_label_text(alert.metric_labels)} {said}"),
            "metric": {"type": alert.metric_type, "displayName": metric_display, "labels": dict(alert.metric_labels)},
            "condition": {**condition, **kind},
            "observed_value": value, "threshold_value": alert.threshold_value}


# --- loading and seeding -----------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        # The config's loader: a key given twice (a second `notes:`, a second `logs:`) is refused,
        # where plain YAML keeps the last and drops the first unseen.
        data = yaml.load(path.read_text(), Loader=strict_yaml_loader())  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a YAML mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(f"{path}: invalid scenario\n{_describe(err)}") from err


def _describe(err: ValidationError) -> str:
    errors = [(".".join(str(part) for part in e["loc"]), e) for e in err.errors()]
    lines = []
    for where, error in errors:
        # A list whose only item failed is also reported "too short": the item's error says it all.
        if error["type"] == "too_short" and any(w.startswith(f"{where}.") for w, _ in errors):
            continue
        lines.append(f"  {where or '(top level)'}: {error['msg']}")
    return "\n".join(lines)


def list_bundled_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def bundled_scenario_path(name: str) -> Path:
    path = SCENARIO_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no bundled scenario {name!r}; available: {', '.join(list_bundled_scenarios())}")
    return path


def resolve_scenario(ref: Scenario | str | Path) -> Scenario:
    """A Scenario as is, a bundled scenario's name, or a YAML file's path."""
    if isinstance(ref, Scenario):
        return ref
    if isinstance(ref, str) and ref in list_bundled_scenarios():
        return load_scenario(bundled_scenario_path(ref))
    return load_scenario(ref)


def seed(standins: StandIns, scenario: Scenario, anchor: datetime) -> Materialized:
    """Loads every section into its stand-in: services, revisions and traffic into Run, series and
    Cloud SQL instances into Monitoring, connectors into VPC Access, logs into Logging."""
    world = scenario.materialize(anchor)
    for service in world.services:
        urls = [scenario.run_app_url(service.name), hashed_run_app_url(service.name)]
        standins.run.add_service(service.name, service.labels, urls=urls, max_instance_count=service.max_instances,
                                 scaling_mode=service.scaling_mode, manual_instance_count=service.manual_instances)
        for rev in service.revisions:
            standins.run.add_revision(service.name, rev.name, rev.create_time, rev.conditions,
                                      rev.vpc_connector, rev.vpc_egress, cloudsql_instances=rev.cloudsql_instances,
                                      max_instance_count=rev.max_instances, timeout=rev.timeout,
                                      concurrency=rev.concurrency, network_interfaces=rev.network_interfaces,
                                      service_account=rev.service_account, env=rev.env, secret_env=rev.secret_env,
                                      secret_volumes=rev.secret_volumes, memory=rev.memory, cpu=rev.cpu, cpu_idle=rev.cpu_idle, sidecars=rev.sidecars,
                                      min_instance_count=rev.min_instances, startup_cpu_boost=rev.startup_cpu_boost,
                                      session_affinity=rev.session_affinity,
                                      execution_environment=rev.execution_environment, image=rev.image,
                                      port_name=rev.port_name, ready_after=rev.ready_after)
        if service.traffic:
            # The split the scenario starts in, not a write within it: the writes that made it are the ones its
            # `audit_logs` record (a deploy, a person's or a pipeline's split move, each with its own request).
            # Audited here too, it would read as a change by SEEDED_BY at the moment of seeding.
            standins.run.set_traffic(service.name, service.traffic, audited=False)
        written = last_write(service, scenario.audit_logs, anchor)
        if written is not None:
            standins.run.seeded_last_write(service.name, *written)
        for rev in service.revisions:
            if rev.deleted:
                standins.run.delete_revision(service.name, rev.name)
    for series in world.series:
        standins.monitoring.add_series(series)
    seed_connectors(standins.vpcaccess, scenario.project, scenario.region, scenario.connectors)
    seed_logs(standins.logging, scenario.project, scenario.region, scenario.logs, scenario.audit_logs, anchor)
    seed_secrets(standins.secretmanager, scenario.project, scenario.secret_versions, pinned_versions(scenario))
    return world


# The writes that change a Service resource (Service.last_modifier and update_time move with them): v2's
# UpdateService and CreateService, v1's ReplaceService (shared/diagnosis/run_audit.SERVICE_WRITES). An IAM policy's
# change (SetIamPolicy) is a change of the policy, not of the Service, and leaves them as they were (UNCONFIRMED:
# service.proto says only "last authenticated modifier").
_SERVICE_WRITE = re.compile(service_methods(SERVICE_WRITES))
# A deploy's audit entry and its revision's create_time are this close at most (diagnose._DEPLOY_MATCH): the entry
# then names the deploy's caller, whom a seeded revision (no caller of its own) does not.
_DEPLOY_MATCH = timedelta(seconds=120)


def last_write(service: ServiceSeed, audits: Sequence[AuditLogSpec], anchor: datetime) -> tuple[str, datetime] | None:
    """The principal and time of the last write of `service` (Service.last_modifier, update_time), as Cloud Run
    would keep them for the state a scenario starts in: the latest of its audited writes (`audit_logs` of api run
    naming it, by a method that writes the Service) and its newest revision's deploy. A deploy with no audited
    entry within _DEPLOY_MATCH of its revision's creation was made by SEEDED_BY, DEPLOY_ASKED_BEFORE its revision
    (`RunStandIn.deploy` dates it so). A service whose deploys are stamped when ready (`deploy_stamped`) dates that
    deploy at its revision's Ready transition instead. None: no revision and no audited write (the creation stays)."""
    short = service.name.rsplit("/", 1)[-1]
    writes = [(anchor + a.at, a.principal) for a in audits
              if a.api == "run" and a.service == short and _SERVICE_WRITE.search(a.method_name)]
    newest = max(service.revisions, key=lambda r: r.create_time, default=None)
    if newest is not None:
        deploy = min(((at, by) for at, by in writes if abs(at - newest.create_time) <= _DEPLOY_MATCH),
                     key=lambda w: abs(w[0] - newest.create_time), default=None)
        if deploy is None:
            deploy = (newest.create_time - DEPLOY_ASKED_BEFORE, SEEDED_BY)
            writes.append(deploy)
        if service.deploy_stamped == "ready":
            writes[writes.index(deploy)] = (newest.create_time + newest.ready_after, deploy[1])
    if not writes:
        return None
    at, by = max(writes)
    return by, at


def pinned_versions(scenario: Scenario) -> list[tuple[str, str]]:
    """(secret, version) of every secret a scenario revision reads: its env vars' and its volumes' items."""
    found: list[tuple[str, str]] = []
    for rev in (rev for service in scenario.services for rev in service.revisions):
        found += [(ref.secret, ref.version) for ref in rev.secret_env.values()]
        found += [(vol.secret, item.version) for vol in rev.secret_volumes.values() for item in vol.items]
    return found


def with_copies(scenario: Scenario, of: str, names: Sequence[str]) -> Scenario:
    """`scenario` with service `of` copied under each of `names`: its revisions and traffic (each revision's name
    with `of` replaced, on the same connector), and every series whose resource names it. Several managed services
    that look alike behind one connector, for tests and benchmarks of reads made per service."""
    service = next(s for s in scenario.services if s.name == of)
    series = [s for s in scenario.timeseries if s.resource.labels.get("service_name") == of]
    services, timeseries = list(scenario.services), list(scenario.timeseries)
    for name in names:
        services.append(service.model_copy(update={
            "name": name, "revisions": tuple(r.model_copy(update={"name": r.name.replace(of, name)})
                                             for r in service.revisions),
            "traffic": tuple(t.model_copy(update={"revision": t.revision.replace(of, name) if t.revision else None})
                             for t in service.traffic)}))
        timeseries += [s.model_copy(update={"resource": s.resource.model_copy(update={"labels": {
            key: value.replace(of, name) for key, value in s.resource.labels.items()}})}) for s in series]
    return scenario.model_copy(update={"services": tuple(services), "timeseries": tuple(timeseries)})


def start_seeded(scenario: Scenario | str | Path | None, anchor: datetime | None = None, *,
                 lro_polls_before_done: int = 2) -> StandIns:
    """Starts fresh stand-ins and, given a scenario (object, bundled name or YAML path), seeds them,
    offsets anchored at `anchor` (required then: it is the incident's started_at)."""
    standins = start_standins(lro_polls_before_done=lro_polls_before_done)
    if scenario is None:
        return standins
    try:
        if anchor is None:
            raise ValueError("seeding a scenario needs the anchor (T0) its offsets are relative to")
        seed(standins, resolve_scenario(scenario), anchor)
    except BaseException:
        standins.stop()
        raise
    return standins
