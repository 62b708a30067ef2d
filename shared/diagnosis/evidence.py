"""Typed snapshots of live state, as the adapters read them and diagnosis consumes them.

These models are plain data: no Google types leak past the adapters. Revision names in
traffic are short names (`backend-00002-xyz`), as the Cloud Run API uses them there.
"""
from __future__ import annotations

import operator
from datetime import datetime, timedelta, timezone
from enum import Enum
from itertools import accumulate, chain, compress, repeat
from typing import Any, Iterable, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


def decoded(model: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """A model from values its adapter has just decoded and typed itself, every field given in
    declaration order: what pydantic's `model_construct` builds, without its per-field default
    filling. Validating them again cost more than decoding them (about 5 us per log entry, 1,000
    entries a read). `fields_set` is the model's field names (shared: a copy is made on model_copy).
    tests/unit/test_evidence_decoded.py checks the result equals the validated model."""
    if len(values) != len(fields_set):
        raise TypeError(f"{model.__name__}: every field must be given ({sorted(fields_set - values.keys())} missing)")
    built = model.__new__(model)
    _set(built, "__dict__", values)
    _set(built, "__pydantic_fields_set__", fields_set)
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_private__", None)
    return built


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """Microseconds since the Unix epoch (exact integer arithmetic; `at` must be timezone-aware)."""
    return (at - _EPOCH) // _MICROSECOND


def at_micros(us: int) -> datetime:
    """The UTC datetime `us` microseconds after the Unix epoch (the inverse of `micros`). A
    timedelta times an int is exact integer arithmetic, as `timedelta(microseconds=us)` is, at a
    sixth of its cost (about 0.25 against 1.5 us here: the keyword form goes through Python-level
    number objects); a diagnosis turns some 130 minutes back into datetimes."""
    return _EPOCH + _MICROSECOND * us


def ascending(end_us: tuple[int, ...] | list[int]) -> bool:
    """Each end time at or after the one before (a sort in C: about 10 us for a day of minutes)."""
    return type(end_us) is OldestFirst or list(end_us) == sorted(end_us)


def all_floats(values: tuple | list) -> bool:
    """Every value an exact float (not an int, a bool, a str or a float subclass): a C-level pass."""
    return all(map(operator.is_, map(type, values), repeat(float)))


def short_name(resource_name: str) -> str:
    """`projects/p/locations/l/services/s/revisions/r` -> `r`; a short name stays as it is."""
    return resource_name.rsplit("/", 1)[-1] if resource_name else resource_name


# --- Cloud Run ---------------------------------------------------------------------------


class Condition(_Model):
    type: str                       # "Ready", "ContainerHealthy", ...
    state: str                      # CONDITION_SUCCEEDED | CONDITION_FAILED | CONDITION_RECONCILING | CONDITION_PENDING
    reason: str = ""                # e.g. SECRETS_ACCESS_CHECK_FAILED (reason or revision_reason)
    message: str = ""
    # Condition.last_transition_time ("Last time the condition transitioned from one status to another",
    # google/cloud/run/v2/condition.proto; google-cloud-run's run_v2.types.Condition docstring). None: not read.
    last_transition_time: datetime | None = None


class SecretRef(_Model):
    """One Secret Manager secret a revision's containers read (google/cloud/run/v2/k8s_min.proto): an env
    var's EnvVarSource.secret_key_ref (SecretKeySelector: `secret`, `version`), or a secret volume's
    SecretVolumeSource (`secret`, and each item's VersionToPath.version). Names and versions only: a
    secret's value is never read (Runwarden reads a rollback target's versions' state alone: TargetSecretRead)."""
    env: str = ""                   # the env var's name (EnvVar.name); "" for a volume
    volume: str = ""                # the volume's name (Volume.name); "" for an env var
    secret: str                     # a secret id, or projects/P/secrets/S in another project
    # "latest", a version number or an alias ("Can be 'latest' for the latest version, an integer for a
    # specific version, or a version alias", SecretKeySelector.version). "" when unset: read as latest
    # (what Cloud Run resolves then is not documented, UNCONFIRMED), never as a pinned version.
    version: str = ""
    # A volume item's file, relative to the mount (VersionToPath.path: "The relative path of the secret in
    # the container"; google/cloud/run/v2/k8s_min.proto). A volume gives one ref per item, each with its
    # own version ("If specified, the key will be used as the version to fetch from Cloud Secret Manager
    # and the path will be the name of the file exposed in the volume", SecretVolumeSource.items), so the
    # path tells a volume's items apart. "" for an env var, and for a volume with no items ("the volume
    # will expose a file whose name is the secret").
    path: str = ""
    # The container that reads an env var (Container.name, "Name of the container specified as a DNS_LABEL",
    # revision.proto Revision.containers), set only when the revision sets that env var's name in more than one
    # container (a sidecar and the ingress container): each is then a place of its own, so a change in one is
    # named with its container and a swap between them is seen. "" otherwise: a sidecar added that does not
    # set the name changes no place.
    container: str = ""
    # A volume file's mode as the container sees it (run.py: the item's VersionToPath.mode, else the volume's
    # SecretVolumeSource.default_mode, "defaulting to 0444", each "If 0 or not set" the next; "Internally, a
    # umask of 0222 will be applied to any non-zero value", google/cloud/run/v2/k8s_min.proto): 0o444 for a
    # volume with neither set. 0 for an env var, or not read.
    mode: int = 0

    @property
    def pinned(self) -> bool:
        """Whether the version is fixed: not "latest" nor unset. An env var is "resolved at instance
        startup time" (Cloud Run, "Configure secrets": Google recommends pinning "instead of using latest
        as the version"), and a volume is read from Secret Manager whenever it is read: at "latest",
        whatever Secret Manager holds then is what a new instance gets."""
        return self.version.strip().lower() not in ("", "latest")


class Revision(_Model):
    name: str                       # full resource name
    service: str                    # full resource name of the owning service
    create_time: datetime
    conditions: tuple[Condition, ...] = ()
    vpc_connector: str | None = None  # the revision's vpc_access.connector (collection: by full name, by id)
    vpc_egress: str | None = None     # ALL_TRAFFIC | PRIVATE_RANGES_ONLY
    # Direct VPC egress: vpc_access.network_interfaces as "network/subnetwork" (never with a connector:
    # "one and only one of connector and network_interfaces must be set", googleapis/google-cloud-node#4731).
    vpc_network_interfaces: tuple[str, ...] = ()
    service_account: str = ""
    cloudsql_instances: tuple[str, ...] = ()   # volumes[].cloud_sql_instance.instances ("project:region:instance")
    max_instance_count: int | None = None      # scaling.max_instance_count (None: unset)
    # RevisionScaling.min_instance_count ("Minimum number of serving instances that this resource should
    # have", google/cloud/run/v2/vendor_settings.proto): instances kept warm, so none cold-start for the
    # first requests. 0 is unset, Cloud Run's default of none kept ("Set minimum instances").
    min_instance_count: int = 0
    timeout_seconds: float | None = None       # the request timeout
    container_concurrency: int | None = None   # max_instance_request_concurrency
    # The ingress container's resources (Container.resources, ResourceRequirements): its memory
    # limit in MiB and CPU limit in cores (limits["memory"], limits["cpu"]), and whether CPU is
    # allocated only during requests (cpu_idle). None: not set on the revision as read.
    memory_mib: float | None = None
    cpu_limit: float | None = None
    cpu_idle: bool | None = None
    # ResourceRequirements.startup_cpu_boost ("Determines whether CPU should be boosted on startup of a
    # new container instance above the requested CPU threshold, this can help reduce cold-start
    # latency", k8s.min.proto); a bool with no presence: False when unset.
    startup_cpu_boost: bool = False
    # Revision.session_affinity ("Enable session affinity", revision.proto): a client's requests go to
    # the same instance where Cloud Run can ("Set session affinity", best effort).
    session_affinity: bool = False
    # Revision.execution_environment (ExecutionEnvironment, vendor_settings.proto): "GEN1", "GEN2", or
    # "" when EXECUTION_ENVIRONMENT_UNSPECIFIED (what Cloud Run then runs is its own choice: UNCONFIRMED).
    execution_environment: str = ""
    # Every container's plain env values (Container.env[].value, google/cloud/run/v2/k8s_min.proto
    # EnvVar: "value" or "value_source"; a secret_key_ref's value is never in the revision). Only
    # compared (shared/diagnosis/env_hosts.py), never printed: a value may hold a password. Left out
    # of dumps and reprs. (): none read.
    env_values: tuple[str, ...] = Field(default=(), exclude=True, repr=False)
    # The same plain env vars with their names, (EnvVar.name, EnvVar.value): which credential a deploy
    # changed is told by name (secret_refs.plain_credentials_changed), never by value. Left out of dumps
    # and reprs as env_values is. (): none read.
    plain_env: tuple[tuple[str, str], ...] = Field(default=(), exclude=True, repr=False)
    # The secrets its containers read, as env vars and volumes (SecretRef: names and versions, no
    # value). (): none, or none read.
    secrets: tuple[SecretRef, ...] = ()
    # Every container's image, in order (Container.image, "Name of the container image in Dockerhub, Google
    # Artifact Registry, or Google Container Registry", google/cloud/run/v2/k8s_min.proto): a tag or a
    # `@sha256:` digest, as the revision names it. (): none read.
    images: tuple[str, ...] = ()
    # The ingress container's port name (Container.ports[].name; ContainerPort.name: "If specified, used
    # to specify which protocol to use. Allowed values are \"http1\" and \"h2c\"", google/cloud/run_v2/
    # types/k8s_min.py): "h2c" is end-to-end HTTP/2, which a gRPC server needs (shared/diagnosis/grpc_calls.py).
    # "": no port named, or none read.
    port_name: str = ""
    # Revision.creator ("Email address of the authenticated creator", output only, google/cloud/run/v2/
    # revision.proto): whose credentials deployed it, a pipeline's service account or a person. "": not read.
    creator: str = ""

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    @property
    def ready(self) -> bool:
        """Whether its Ready condition (`ready_condition`, the one source of its readiness) succeeded: a
        revision with none yet, or one reconciling or failed, is not Ready."""
        ready = self.ready_condition
        return ready is not None and ready.state == "CONDITION_SUCCEEDED"

    @property
    def ready_condition(self) -> Condition | None:
        """Its Ready condition, the first of `conditions` of type "Ready" (Revision.conditions, "The Condition
        of this Revision, containing its readiness status", google/cloud/run/v2/revision.proto), or None when
        it shows none yet (a revision just created)."""
        return next((c for c in self.conditions if c.type == "Ready"), None)

    @property
    def settled_at(self) -> datetime | None:
        """When its Ready condition last changed (Condition.last_transition_time): when the revision became ready,
        or failed to, and the deploy that made it ended. A slow start shows here minutes after create_time. None:
        no Ready condition, or none dated, read."""
        ready = self.ready_condition
        return ready.last_transition_time if ready is not None else None


class TrafficType(str, Enum):
    LATEST = "LATEST"
    REVISION = "REVISION"


class TrafficTarget(_Model):
    type: TrafficType
    revision: str | None = None     # short name; None for LATEST
    percent: int = Field(ge=0, le=100)
    tag: str = ""
    # A traffic status's own URL (TrafficTargetStatus.uri, "Displays the target URI", google/cloud/run/
    # v2/traffic_target.proto): a tagged target's https://TAG---… host. Output only, so never part of a
    # snapshot or a written split.
    uri: str = Field(default="", exclude=True)


def split_text(targets: Iterable[TrafficTarget]) -> str:
    """A traffic split as a person reads it: each target that carries traffic, `REVISION N%` (LATEST for
    the latest Ready revision), with its tag if it has one. Targets at 0% (kept only for a tag's own
    URL) carry none and are left out."""
    return ", ".join(f"{t.revision or 'LATEST'} {t.percent}%" + (f" (tag {t.tag})" if t.tag else "")
                     for t in targets if t.percent)


def update_traffic_command(service: str, change: str) -> str:
    """The `gcloud run services update-traffic` line that makes `change` (its flags: --to-latest,
    --to-revisions R=P,..., --update-tags TAG=REVISION) to `service`."""
    return services_command("update-traffic", service, change)


def update_tags_flag(kept: Iterable[TrafficTarget]) -> str:
    """` --update-tags=TAG=REVISION,...` naming each tag of `kept` on a named revision, "" for none: added to a
    `--to-revisions` line so that a tag-only target (percent 0 with a tag, a revision's own URL) stays. gcloud's
    reference (https://cloud.google.com/sdk/gcloud/reference/run/services/update-traffic: --update-tags in a group of
    its own beside --to-revisions) does not say whether --to-revisions alone keeps such a target (UNCONFIRMED); --update-tags sets each tag on the revision it already names, no change where it was kept, so
    the line keeps it under either reading. A tag on LATEST is left as it is (--update-tags takes TAG=REVISION)."""
    pairs = [f"{t.tag}={t.revision}" for t in kept if t.tag and t.type is TrafficType.REVISION and t.revision]
    return f" --update-tags={','.join(pairs)}" if pairs else ""


def describe_command(service: str) -> str:
    """The `gcloud run services describe` line that shows `service`'s desired split (`spec.traffic`) beside what
    serves (`status.traffic`) and its Ready condition."""
    return services_command("describe", service)


def services_command(verb: str, service: str, flags: str = "") -> str:
    """`gcloud run services VERB` on `service` (projects/P/locations/L/services/S, or a bare name, then with
    PROJECT and REGION to fill in), `flags` after its name."""
    parts = service.split("/")
    project, region, name = (parts[1], parts[3], parts[5]) if len(parts) == 6 else ("PROJECT", "REGION", service)
    return f"gcloud run services {verb} {name}{' ' + flags if flags else ''} --region={region} --project={project}"


class Service(_Model):
    name: str                       # projects/P/locations/L/services/S
    generation: int
    etag: str = ""
    traffic: tuple[TrafficTarget, ...] = ()
    traffic_statuses: tuple[TrafficTarget, ...] = ()  # resolved: LATEST shows the revision it points at
    latest_ready_revision: str | None = None          # short name
    latest_created_revision: str | None = None        # short name
    labels: dict[str, str] = Field(default_factory=dict)
    # Service.uri ("The main URI in which this Service is serving traffic"), then Service.urls ("All
    # URLs serving traffic for this Service"), both output only (google/cloud/run/v2/service.proto).
    urls: tuple[str, ...] = ()
    # Service-level max instances (Service.scaling.max_instance_count; None: unset): the total for
    # the revisions with traffic, divided among them by their percent (ServiceScaling docstring). It
    # applies at once, with no new revision (Cloud Run docs, "Set maximum instances for services":
    # service-level versus revision-level).
    max_instance_count: int | None = None
    # ServiceScaling.scaling_mode ("AUTOMATIC": "Scale based on traffic between min and max instances";
    # "MANUAL": "Scale to exactly min instances and ignore max instances"; unset "defaults to AUTOMATIC",
    # google/cloud/run/v2/vendor_settings.proto): "" for SCALING_MODE_UNSPECIFIED. And ServiceScaling.
    # manual_instance_count ("total instance count for the service in manual scaling mode. This number of
    # instances is divided among all revisions with specified traffic based on the percent of traffic they
    # are receiving", an `optional int32`): None when not set. A rollback gives its target 100%, so all of
    # it (rules/target_capacity.py).
    scaling_mode: str = ""
    manual_instance_count: int | None = None
    # The connector the service's template names (Service.template, RevisionTemplate.vpc_access, VpcAccess.
    # connector in google/cloud/run/v2/vendor_settings.proto), as written (a bare id or a full name): the
    # revision the next deploy makes. None if it names none. What serves is the revisions' own (Revision).
    template_connector: str | None = None
    # Whether the answer carried the template at all (Service.template is REQUIRED, service.proto, so a
    # GetService answer always does). A ListServices entry may not: whether a listed Service is whole is not
    # documented (UNCONFIRMED; shared/remediation/bystanders.py). Without it, `template_connector` says nothing.
    template_known: bool = True
    # Service.last_modifier ("Email address of the last authenticated modifier") and Service.update_time ("The
    # last-modified time"), both output only (google/cloud/run/v2/service.proto): who changed the service last
    # and when, traffic moves included (the service keeps no history of its splits). "" and None: not read.
    last_modifier: str = ""
    update_time: datetime | None = None
    # The service-level settings: the Service fields outside `template` and `traffic` that apply to every
    # revision at once, with no new revision (SERVICE_SETTINGS, shared/gcp/run.py), as their JSON (only those
    # set). None: not read (a model built without them). What a rollback's record keeps, so that a generation
    # moved since by a deploy that takes no traffic is told from a setting a person changed
    # (judging.unexplained_generations). Not part of a dump: no snapshot or written split carries it.
    settings: dict[str, Any] | None = Field(default=None, exclude=True)
    # The revision template's fields that change how a revision made from it serves, each as a digest
    # (shared/gcp/run.py template_settings: env, secrets, scaling, VPC access, ..., not the image a deploy
    # brings). None: not read. What a rollback's record keeps beside `settings`, so that a person's change of the
    # template made with a deploy is told from a pipeline's deploy of new code (generations.template_changed).
    template_settings: dict[str, str] | None = Field(default=None, exclude=True)

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    def reaches(self, status: TrafficTarget) -> str | None:
        """The revision a traffic status sends its share to: the one it names, else, for LATEST, the latest ready
        revision (TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST: "Allocates instances to the Service's latest ready
        Revision", google/cloud/run/v2/traffic_target.proto), as shared/gcp/run.py `_resolved` reads it. None:
        neither read (a LATEST status naming none, with no latest ready revision read)."""
        if status.revision:
            return status.revision
        return self.latest_ready_revision or None if status.type is TrafficType.LATEST else None

    def serving_percent(self, revision: str) -> int:
        """Percent of traffic the revision actually receives, per traffic_statuses."""
        return sum(t.percent for t in self.traffic_statuses if t.revision == revision)

    def project_number(self) -> str | None:
        """The number of the service's own project, read off its deterministic run.app URL,
        https://SERVICE-PROJECT_NUMBER.REGION.run.app (cloud.google.com/run/docs/triggering/https-request:
        assigned "if the service name length allows it", and the default URLs may be disabled), or
        None when the service has none. Only a URL naming this very service and region counts."""
        parts = self.name.split("/")   # projects/P/locations/L/services/S
        if len(parts) != 6:
            return None
        prefix, suffix = f"https://{parts[5]}-", f".{parts[3]}.run.app"
        numbers = {url.rstrip("/")[len(prefix):-len(suffix)] for url in self.urls
                   if url.rstrip("/").startswith(prefix) and url.rstrip("/").endswith(suffix)}
        numbers = {n for n in numbers if n.isdigit()}
        return numbers.pop() if len(numbers) == 1 else None

    def connector_by_id(self, connector: str | None) -> str | None:
        """The revision's connector as projects/ID/locations/L/connectors/C. A bare connector id is one
        in the service's own project and region: `gcloud run deploy --vpc-connector CONNECTOR_NAME`
        takes it so (Cloud Run docs, "Connect to a VPC network": the full name only for another
        project's connector, "Connect to a Shared VPC network"), and the Run API may return that
        form (a service Terraform set by full name read back as the bare id: GoogleCloudPlatform/
        magic-modules #10332; whether it always keeps the form it was given is UNCONFIRMED). A name by
        project number is written by id when the number is this project's (own_project_form)."""
        if connector and "/" not in connector:
            parts = self.name.split("/")   # projects/P/locations/L/services/S
            if len(parts) == 6:
                return f"projects/{parts[1]}/locations/{parts[3]}/connectors/{connector}"
            return connector
        return self.own_project_form(connector)

    def own_project_form(self, resource: str | None) -> str | None:
        """`resource` (projects/P/...) with P written as this service's project id, when P is the
        number of that very project (`project_number`); otherwise as it is. A revision may name its
        connector by project id or number ("where {project} can be project id or number",
        VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto), while alerts, the VPC
        Access connector's policy in the config and Runwarden's records name it by id: the same
        connector in either form is matched only when the number is known to be this project's."""
        if not resource:
            return resource
        parts, project = resource.split("/"), self.name.split("/")[1]
        if len(parts) < 2 or parts[0] != "projects" or not parts[1].isdigit() or project.isdigit():
            return resource
        if parts[1] != self.project_number():
            return resource
        return "/".join(["projects", project, *parts[2:]])


# --- What a decision cites ------------------------------------------------------------------


EvidenceRole = Literal["supports", "refutes", "context"]


class EvidenceItem(_Model):
    """One fact a decision rests on, in words a person can check.

    `role` says what the fact does to the claim named in `about` (a signature, or "stand_down"):
    it supports it, refutes it, or is context. A bare pass/fail read backwards on checks whose
    condition is the absence of something (a database that stayed up refutes "database down").
    """

    source: Literal["metric", "log", "api"]
    query: str                      # what was asked, and of which API
    observed: str                   # what came back
    threshold: str = ""             # what it was compared with ("" when it is context, not a test)
    passed: bool | None = None      # did the observation meet the check's condition (None: context)
    role: EvidenceRole = "context"  # supports / refutes / context, for the claim in `about`
    about: str = ""                 # the claim the role refers to: a signature value or "stand_down"

    @model_validator(mode="before")
    @classmethod
    def _role_from_passed(cls, data: Any) -> Any:
        # Without an explicit role, a check that passed supports its claim and one that failed refutes it.
        if isinstance(data, dict) and "role" not in data:
            passed = data.get("passed")
            data = {**data, "role": "context" if passed is None else ("supports" if passed else "refutes")}
        return data


_ITEM_FIELDS = {"source", "query", "observed", "threshold", "passed", "role", "about"}
_SOURCES = frozenset({"metric", "log", "api"})
_ROLES = frozenset({"supports", "refutes", "context"})


def cited(source: str, query: str, observed: str, threshold: str = "", passed: bool | None = None,
          role: EvidenceRole | None = None, about: str = "") -> EvidenceItem:
    """EvidenceItem(source=..., ..., about=...) (with `role` only when given), built without
    validating values that are already exactly what validation would keep: plain strings, a source
    and a role of the allowed ones, `passed` True, False or None. The role is the one
    `_role_from_passed` gives. Anything else is validated as usual (and refused as usual). A rule
    cites some twenty checks per diagnosis; validating each cost about 3 us.
    tests/unit/test_diagnosis_models.py checks the result equals the validated item."""
    if (type(source) is str and source in _SOURCES and type(query) is str and type(observed) is str
            and type(threshold) is str and (passed is None or passed is True or passed is False)
            and type(about) is str and (role is None or (type(role) is str and role in _ROLES))):
        if role is None:
            role = "context" if passed is None else ("supports" if passed else "refutes")
        return decoded(EvidenceItem, {"source": source, "query": query, "observed": observed, "threshold": threshold,
                                      "passed": passed, "role": role, "about": about}, _ITEM_FIELDS)
    fields = {"role": role} if role is not None else {}
    return EvidenceItem(source=source, query=query, observed=observed, threshold=threshold, passed=passed,
                        about=about, **fields)


# --- Generic metric queries (one ListTimeSeries call each) ------------------------------------


class MetricQuery(_Model):
    """One ListTimeSeries question. Monitoring wants exactly one metric type per call."""

    project: str
    metric_type: str                      # e.g. run.googleapis.com/request_latencies
    # e.g. cloud_run_revision; None: whatever resource type the metric is written against (the filter names none:
    # "The filter must specify a single metric type, and can additionally specify metric labels and other
    # information", ListTimeSeriesRequest.filter, google/monitoring/v3/metric_service.proto). Required all the same:
    # a query reads every resource type only when it says so.
    resource_type: str | None
    # Extra equality clauses, e.g. {"resource.labels.service_name": "backend"}.
    labels: dict[str, str] = Field(default_factory=dict)
    start: datetime
    end: datetime
    alignment_seconds: int = Field(default=60, ge=60)
    aligner: str = "ALIGN_DELTA"          # ALIGN_DELTA | ALIGN_RATE | ALIGN_MAX | ALIGN_MIN | ALIGN_MEAN
                                          # | ALIGN_PERCENTILE_99 | ALIGN_PERCENTILE_95 | ALIGN_PERCENTILE_50
                                          # | ALIGN_NEXT_OLDER | ALIGN_SUM | ALIGN_NONE
    reducer: str = "REDUCE_NONE"          # REDUCE_NONE | REDUCE_SUM | REDUCE_MAX | REDUCE_MIN | REDUCE_MEAN
                                          # | REDUCE_PERCENTILE_99 | REDUCE_PERCENTILE_95 | REDUCE_PERCENTILE_50
    group_by: tuple[str, ...] = ()        # e.g. ("resource.labels.revision_name", "metric.labels.response_code_class")


class MetricPoint(_Model):
    end: datetime                         # the end of the aligned period
    value: float | str | bool


_POINT_FIELDS = {"end", "value"}


class OldestFirst(tuple):
    """A series' end times known to be in ascending order (each at or after the one before): the
    Monitoring adapter puts them so (it reverses or sorts the answer's points), and a validated
    MetricSeries is checked once when it is built. Diagnosis then cuts windows by bisection without
    checking the order again for every diagnosis (shared/diagnosis/facts.py: Points). A plain tuple
    is a tuple: equal, hashed, printed and serialized as one."""

    __slots__ = ()


class Floats(tuple):
    """A series' values known to be exact floats (`type(v) is float` for each): the Monitoring
    adapter's numeric columns are (it reads a series' int64 or double values as one column and
    converts them with `float`), and a validated MetricSeries is checked once when it is built.
    Diagnosis then adds a window's values as they are: `float(v)` of an exact float is `v` itself,
    so `sum(values)` adds the very objects `sum(map(float, values))` adds, to the same bit, without
    a call per point. A plain tuple is converted point by point, as before (a str value is read by
    `float`). Equal, hashed, printed and serialized as a tuple."""

    __slots__ = ()


class MetricSeries(_Model):
    """One time series. Its points are held as two columns, oldest first: each point's end time in
    microseconds since the Unix epoch (UTC) and its value. A day of per-minute points is 1,440 per
    series: as columns they are two tuples, not 1,440 models and datetimes, and a window is cut from
    them by bisection (shared/diagnosis/facts.py). `points=` (MetricPoint models or their dicts) is
    accepted and stored as the columns; the `points` property gives them back as models."""

    metric_labels: dict[str, str] = Field(default_factory=dict)
    resource_labels: dict[str, str] = Field(default_factory=dict)
    end_us: tuple[int, ...] = ()                 # each point's end time, microseconds since the epoch
    values: tuple[float | str | bool, ...] = ()  # each point's value, in the same order

    @model_validator(mode="before")
    @classmethod
    def _from_points(cls, data: Any) -> Any:
        if isinstance(data, dict) and "points" in data:
            data = dict(data)
            points = [p if isinstance(p, MetricPoint) else MetricPoint.model_validate(p) for p in data.pop("points")]
            data["end_us"] = tuple(micros(p.end) for p in points)
            data["values"] = tuple(p.value for p in points)
        return data

    @field_validator("end_us", mode="after")
    @classmethod
    def _known_order(cls, end_us: tuple[int, ...]) -> tuple[int, ...]:
        return OldestFirst(end_us) if ascending(end_us) else end_us

    @field_validator("values", mode="after")
    @classmethod
    def _known_floats(cls, values: tuple[float | str | bool, ...]) -> tuple[float | str | bool, ...]:
        return Floats(values) if all_floats(values) else values

    @model_validator(mode="after")
    def _columns_agree(self) -> "MetricSeries":
        if len(self.end_us) != len(self.values):
            raise ValueError(f"{len(self.end_us)} end times for {len(self.values)} values")
        return self

    @property
    def points(self) -> tuple[MetricPoint, ...]:
        """The points as models, oldest first (built on each call from the columns, which are typed
        already: diagnosis reads the columns themselves)."""
        return tuple(decoded(MetricPoint, {"end": at_micros(us), "value": v}, _POINT_FIELDS)
                     for us, v in zip(self.end_us, self.values))

    def label(self, key: str) -> str:
        """A label by its group-by path ("resource.labels.x" / "metric.labels.x") or bare name."""
        if key.startswith("resource.labels."):
            return self.resource_labels.get(key.removeprefix("resource.labels."), "")
        if key.startswith("metric.labels."):
            return self.metric_labels.get(key.removeprefix("metric.labels."), "")
        return self.metric_labels.get(key) or self.resource_labels.get(key, "")


class MetricResult(_Model):
    query: str                            # the request as sent, readable and re-runnable
    series: tuple[MetricSeries, ...] = ()

    @property
    def latest(self) -> datetime | None:
        """The newest point in any series: how fresh the data is (Monitoring lags minutes)."""
        newest = max((max(s.end_us) for s in self.series if s.end_us), default=None)
        return at_micros(newest) if newest is not None else None


class Histogram(tuple):
    """One distribution point's histogram as Monitoring gives it (google/api/distribution.proto,
    Distribution.bucket_options and bucket_counts): `(bounds, running)`. `bounds` are the finite
    bucket boundaries b[0] < ... < b[N]: bucket 0 is the underflow (-inf, b[0]), bucket i is
    [b[i-1], b[i]), bucket N+1 the overflow [b[N], +inf) (BucketOptions' Linear, Exponential and
    Explicit upper and lower bounds). `running[i]` is the number of samples in buckets 0 to i, the
    buckets numbered so: the running sums are what a percentile is read from (a bisection for its
    rank), taken once when the point is decoded. "If you supply fewer than N values, the remaining
    values are assumed to be 0" (Distribution.bucket_counts): past its end the sum stays at its last.
    A plain pair: a day of minutes is 1,440 of them per series, so no model per point."""

    __slots__ = ()

    def __new__(cls, bounds: tuple[float, ...], running: tuple[int, ...]) -> "Histogram":
        return super().__new__(cls, (bounds, running))

    @classmethod
    def of(cls, bounds: tuple[float, ...], counts: Iterable[int]) -> "Histogram":
        """From the counts per bucket, as Distribution.bucket_counts gives them."""
        return cls(bounds, tuple(accumulate(counts)))

    @property
    def bounds(self) -> tuple[float, ...]:
        return self[0]

    @property
    def running(self) -> tuple[int, ...]:
        return self[1]


class HistogramSeries(_Model):
    """One distribution-valued time series, its points as two columns oldest first: each point's end
    time (microseconds since the epoch) and its histogram (a point whose distribution has no samples
    or no histogram is left out)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    metric_labels: dict[str, str] = Field(default_factory=dict)
    resource_labels: dict[str, str] = Field(default_factory=dict)
    end_us: tuple[int, ...] = ()
    histograms: tuple[Histogram, ...] = ()

    def label(self, key: str) -> str:
        """A label by its group-by path ("resource.labels.x" / "metric.labels.x")."""
        if key.startswith("resource.labels."):
            return self.resource_labels.get(key.removeprefix("resource.labels."), "")
        return self.metric_labels.get(key.removeprefix("metric.labels."), "")


class HistogramResult(_Model):
    """A ListTimeSeries answer whose points are distributions kept as they are (ALIGN_DELTA, REDUCE_SUM:
    "The value_type of the aligned result is the same as the value_type of the input", Aggregation.Aligner
    and Reducer, google/monitoring/v3/common.proto), for percentiles computed here
    (shared/diagnosis/percentiles.py)."""

    query: str                            # the request as sent, readable and re-runnable
    series: tuple[HistogramSeries, ...] = ()


# --- Cloud Logging --------------------------------------------------------------------------


# How a container's JSON line is read: Cloud Run's logging agent takes a JSON line's `severity` and
# `message` as the entry's own ("special JSON fields": Cloud Logging's "Structured logging" page; the
# agent "attempts to match a variety of common severity strings"); every other key stays in
# jsonPayload as written, and a line with no `severity` is DEFAULT (LogEntry.severity: "The default
# value is LogSeverity.DEFAULT"). Loggers that name the text or the level otherwise keep them there:
# pino's, bunyan's, zap's, logrus's and Go slog's `msg`, the .NET JSON console formatter's `Message`;
# zap's and logrus's error in `error` (zap.Error, logrus.WithError), slog's as the caller names it,
# most often `err` or `error` (its JSONHandler writes an error as its Error() text). Other loggers put
# the error's own words apart from a generic message ("request failed"), as a string or an object:
# - pino's and bunyan's `err` object: pino-std-serializers' err serializer writes {type, message,
#   stack, ...} (pino's `errorKey`, default "err"), bunyan's stdSerializers.err {message, name, stack,
#   code, signal}; the Elastic Common Schema loggers' `error` object {type, message, stack_trace}
#   (ECS error fields; ecs-logging-nodejs and -python nest it);
# - an exception's text in a key of its own: Serilog's compact JSON (CLEF) `@x` ("@x: an exception",
#   Serilog.Formatting.Compact README), logstash-logback-encoder's `stack_trace` (its README, "Standard
#   Fields"), the .NET JSON console formatter's `Exception` (JsonConsoleFormatter writes
#   exception.ToString()), structlog's `exception` (processors.format_exc_info), python-json-logger's
#   `exc_info` (JsonFormatter.add_fields: the formatted traceback), Winston's `stack`
#   (format.errors({stack: true})); Cloud Error Reporting reads a JSON entry's stack trace from
#   `message`, `stack_trace` or `exception` ("Format errors in logs");
# - a message in another key: CLEF's rendered `@m` or its template `@mt` (README), structlog's
#   `event` (its JSONRenderer keeps the event dict's key).
# - the ECS error fields and level as dotted top-level keys, one key each: the ECS logging spec writes
#   `log.level` so in every ECS logger, and ecs-logging-java's EcsJsonSerializer writes the exception as
#   "error.type", "error.message" and "error.stack_trace" (elastic/ecs-logging-java
#   ecs-logging-core/src/main/java/co/elastic/logging/EcsJsonSerializer.java, and its formatter tests'
#   expected lines, jboss-logmanager-ecs-formatter/src/test/java/co/elastic/logging/jboss/logmanager/
#   EcsFormatterTest.java); Cloud Run's agent keeps such a key as written.
#   A nested `error` object (ecs-logging-nodejs, -python) is the OBJECT_KEYS case above.
# zap's `errorVerbose` (the error's %+v, beside its `error`) repeats `error` with a stack, and zap's
# `stacktrace` is the logging call's own stack, not the error's: neither is read.
# An entry's text is the first of textPayload and TEXT_KEYS that is a string, then each string of
# DETAIL_KEYS, and of each OBJECT_MEMBERS member of an OBJECT_KEYS object, that it does not already
# hold, each on a line of its own (docs/signatures.md, "How a line reaches the diagnosis").
TEXT_KEYS = ("message", "msg", "Message", "@m", "@mt", "event")
DETAIL_KEYS = ("error", "err", "@x", "stack_trace", "Exception", "exception", "exc_info", "stack", "error.message",
               "error.stack_trace")
OBJECT_KEYS = ("err", "error")
# An error object's `type` or `name` is not read apart: its stack begins with it (V8's Error.prototype.
# stack, "Name: message"; Java's Throwable.toString, "class: message", first in printStackTrace).
OBJECT_MEMBERS = ("message", "stack", "stack_trace")
# A level a logger writes in its own key, read only where Logging gave the entry none (DEFAULT) and
# the value says one thing: pino's and bunyan's numbers (10 trace, 20 debug, 30 info, 40 warn, 50
# error, 60 fatal: pino's `levels.values`, bunyan's level constants), only beside their `msg`; the
# level words of zap (debug, info, warn, error, dpanic, panic, fatal), logrus (warning, ...), slog
# (DEBUG, INFO, WARN, ERROR), structlog (add_log_level: the method's name), .NET's LogLevel (Trace,
# Debug, Information, Warning, Error, Critical), CLEF's `@l` (Verbose, Debug, Warning, Error, Fatal;
# absent for Information: Serilog.Formatting.Compact README) and python-json-logger's `levelname`
# (logging's DEBUG, INFO, WARNING, ERROR, CRITICAL, when its format names the field) and the ECS
# loggers' dotted `log.level` (ecs-logging-java writes Java's words, ERROR, WARN, INFO; -python and
# -nodejs the lower-case ones). Anything else (a custom level, slog's "ERROR+2") leaves the entry at DEFAULT.
LEVEL_KEYS = ("level", "LogLevel", "@l", "levelname", "log.level")
# Every top-level key payload_text and payload_severity read: an adapter may hand them only these.
PAYLOAD_KEYS = frozenset(TEXT_KEYS + DETAIL_KEYS + LEVEL_KEYS)
# A gRPC logging interceptor's status key, as go-grpc-middleware's zap, logrus and v2 loggers write it
# (`zap.String("grpc.code", code.String())`, grpc-ecosystem/go-grpc-middleware logging/zap/
# client_interceptors.go; `logger.With("grpc.code", code.String())` in v2's reporter): read into
# LogRecord.grpc_code, not into the text (a bare "Unavailable" there would say nothing).
GRPC_CODE_KEY = "grpc.code"
# Every top-level key an adapter hands on of a JSON payload: PAYLOAD_KEYS and GRPC_CODE_KEY.
READ_KEYS = PAYLOAD_KEYS | {GRPC_CODE_KEY}
_NUMBERED_LEVELS = {10: "DEBUG", 20: "DEBUG", 30: "INFO", 40: "WARNING", 50: "ERROR", 60: "CRITICAL"}
LEVEL_WORDS = {"trace": "DEBUG", "verbose": "DEBUG", "debug": "DEBUG", "info": "INFO", "information": "INFO",
                "warn": "WARNING", "warning": "WARNING", "error": "ERROR", "dpanic": "CRITICAL", "panic": "CRITICAL",
                "fatal": "CRITICAL", "critical": "CRITICAL"}


def payload_text(get: Any, own: Iterable[str] = ()) -> str:
    """The text of a JSON payload, `get(key)` giving each top-level key's value (None when absent): a
    string or a number as itself, an object as a mapping with `.get` or as a getter like `get`.
    `own`: strings of the payload's other top-level keys the caller chose to read, after the rest (an
    application's own error key, `dbError`, `cause`: the adapter reads those holding a text the service
    log query asks for, docs/signatures.md "How a line reaches the diagnosis")."""
    text = next((v for v in map(get, TEXT_KEYS) if isinstance(v, str) and v), "")
    for detail in chain(_details(get), own):
        if detail and detail not in text:
            text = f"{text}\n{detail}" if text else detail
    return text


def _details(get: Any) -> Iterable[Any]:
    for key in DETAIL_KEYS:
        value = get(key)
        if isinstance(value, str):
            yield value
        elif key in OBJECT_KEYS and value is not None and not isinstance(value, (int, float)):
            member = value.get if hasattr(value, "get") else value
            if callable(member):
                yield from (v for v in map(member, OBJECT_MEMBERS) if isinstance(v, str))


def payload_severity(get: Any) -> str | None:
    """The severity a JSON payload's own level key says, when it says one thing (LEVEL_KEYS); None otherwise."""
    for key in LEVEL_KEYS:
        level = get(key)
        if isinstance(level, str):
            return LEVEL_WORDS.get(level.lower())
        if isinstance(level, (int, float)) and not isinstance(level, bool):
            return _NUMBERED_LEVELS.get(int(level)) if level == int(level) and get("msg") is not None else None
    return None


class LogRecord(_Model):
    """One log entry, reduced to what diagnosis reads."""

    timestamp: datetime
    log_id: str                           # decoded log id, e.g. "run.googleapis.com/requests"
    severity: str = "DEFAULT"             # DEFAULT | DEBUG | INFO | NOTICE | WARNING | ERROR | CRITICAL | ALERT | EMERGENCY
    resource_type: str = ""
    resource_labels: dict[str, str] = Field(default_factory=dict)
    text: str = ""                        # textPayload, or a JSON payload's (payload_text), or the audit methodName
    http_status: int | None = None        # httpRequest.status
    http_latency_seconds: float | None = None  # httpRequest.latency
    user_agent: str | None = None         # httpRequest.userAgent (a request log's caller)
    # httpRequest.requestUrl ("The scheme (http, https), the host name, the path and the query portion of
    # the URL that was requested", google/logging/type/http_request.proto): a request log line's, whose path
    # tells a gRPC or gRPC-Web call (/package.Service/Method: shared/diagnosis/grpc_calls.py). None: no
    # httpRequest, or the field empty. httpRequest.protocol is not kept: gRPC-Web is HTTP/1.1 as often as
    # HTTP/2, so it tells nothing the path does not (and its read cost every request line's decoding).
    request_url: str | None = None
    # Audit logs (protoPayload of type google.cloud.audit.AuditLog):
    method_name: str | None = None
    resource_name: str | None = None
    principal: str | None = None          # authenticationInfo.principalEmail
    # authenticationInfo.principalSubject: "String representation of identity of requesting party. Populated for
    # both first and third party identities" (AuthenticationInfo.principal_subject, google/cloud/audit/
    # audit_log.proto), e.g. a workload identity pool's `principal://iam.googleapis.com/...`, which has no email.
    principal_subject: str | None = None
    # authenticationInfo.serviceAccountDelegationInfo: who acted through the service account `principal` names
    # (each first-party principal's email, else the delegation's principal_subject, else "a third party
    # principal"), in their order.
    # Empty when no one delegated on it (diagnosis/principals.py).
    delegates: tuple[str, ...] = ()
    insert_id: str = ""
    # LogEntry.operation: a long-running operation logs a first and a last entry under one id. The id is
    # unique only with its producer ("The combination of id and producer must be globally unique",
    # LogEntryOperation.producer, google/logging/v2/log_entry.proto): `operation_key` is the pair.
    operation_id: str = ""
    operation_producer: str = ""          # LogEntryOperation.producer, e.g. "run.googleapis.com"
    operation_first: bool = False
    operation_last: bool = False
    # When the operation's last entry was written (a merged record's: shared/gcp/logging.merge_operation_entries
    # keeps the first entry's `timestamp`, when it was asked for). Cloud Run's operation "usually generate[s] two
    # audit log entries: one when the operation starts and another when it ends" (Cloud Run audit logging); a
    # deploy's ends when its revision serves, which may be minutes later (UNCONFIRMED: that the
    # last entry is dated when the operation is done is the page's reading, not its words). None: no last entry read.
    operation_ended_at: datetime | None = None
    status_code: int | None = None        # AuditLog.status.code (google.rpc.Code; 0 = OK)
    # The split a Cloud Run write's request asked for (AuditLog.request: "The operation request. This may not
    # include all request parameters, such as those that are too large, privacy-sensitive, or duplicated elsewhere
    # in the log record", google/cloud/audit/audit_log.proto): each target's revision ("" for the latest ready
    # revision: TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, google/cloud/run/v2/traffic_target.proto) and percent, from
    # v2's UpdateServiceRequest.service.traffic or v1's ReplaceService service.spec.traffic (revisionName,
    # latestRevision). None: the request holds no split (not a traffic write, or trimmed: whether Cloud Run's entry
    # always carries it is UNCONFIRMED, and a change whose split is not read is never read as a rollout's step).
    traffic: tuple[tuple[str, int], ...] | None = None
    # The database user a Cloud SQL users.update call changed: its `name` ("Name of the user in the instance", a query
    # parameter, or the request body's User.name; Cloud SQL Admin API REST reference, users.update, v1 and v1beta4),
    # read off AuditLog.request, or a resourceName ending `/users/NAME`. Whether Cloud SQL's audit entry (Cloud SQL
    # docs, "Cloud SQL audit logging") carries the request's name, and in which field, is UNCONFIRMED: None where it
    # names none, and a change naming no user is read as before (any user).
    sql_user: str | None = None
    # The host of the MySQL account that change names (the request's `host`, "Host of the user in the instance",
    # Cloud SQL Admin API REST reference, users.delete): a MySQL account is its name and host ('app'@'localhost' is
    # another account than 'app'@'%'). None where the entry names none (a PostgreSQL role has none): any host.
    sql_user_host: str | None = None
    # LogEntry.labels.instanceId of a textPayload entry: the container instance that wrote the line
    # (Cloud Run "Logging and viewing logs"), so the lines of one stack trace split over several
    # entries are joined within one instance only (shared/diagnosis/split_lines.py).
    instance: str = ""
    # A JSON line's `grpc.code` key (GRPC_CODE_KEY), the call's status as a gRPC logging interceptor writes it
    # ("Unavailable", "OK": grpc-go's codes.Code.String()); not part of `text`. "": none.
    grpc_code: str = ""

    @property
    def sql_account(self) -> str:
        """The database user a change names, with its MySQL host when the entry gives one ('app'@'localhost')."""
        return f"'{self.sql_user}'@'{self.sql_user_host}'" if self.sql_user_host else (self.sql_user or "")

    @property
    def operation_key(self) -> tuple[str, str] | None:
        """The long-running operation the entry belongs to, (producer, id); None for none. The audit read holds
        Cloud Run's and Serverless VPC Access's operations, whose ids are each unique within their producer only."""
        return (self.operation_producer, self.operation_id) if self.operation_id else None



def logged_by(entries: Iterable[LogRecord], revision: str) -> list[LogRecord]:
    """The entries `revision` (a short name) logged, in their order. The name is a value read once: a rule
    that asks `suspect.short_name` inside its comprehension splits the revision's resource name again for
    every line (a cold LARGE diagnosis asked it 97 times for one check). Each line's name is read and
    compared in C (`operator.eq`: a line with no revision label, None, is no revision's)."""
    lines = entries if isinstance(entries, (list, tuple)) else list(entries)
    return list(compress(lines, map(operator.eq, map(_REVISION_NAME, map(_LABELS, lines)), repeat(revision))))


def all_logged_by(entries: Iterable[LogRecord], revision: str) -> bool:
    """Whether every one of `entries` was logged by `revision` (a short name; true for none), the name read
    once and each line's compared in C, stopping at the first other."""
    return all(map(operator.eq, map(_REVISION_NAME, map(_LABELS, entries)), repeat(revision)))


_LABELS = operator.attrgetter("resource_labels")
_REVISION_NAME = operator.methodcaller("get", "revision_name")

class Entries(tuple):
    """A read's log entries, with each entry's text and severity read once, in order, when the read
    is built (`texts`, `severities`). Diagnosis passes over every entry's text and severity; done on
    evidence just decoded, that first pass chased each record and its field dict through memory the
    decoding after it (13,000 points) had pushed out of the CPU's caches, about 0.4-0.6 ms of the
    LARGE case's 1,000 entries; the columns are read where the records are still in cache, and
    diagnosis reads the strings alone. The entries are frozen models in a tuple, so the columns
    cannot go stale; a read built without them (`model_construct`, a `model_copy` update: a plain
    tuple) is read entry by entry, as before (shared/diagnosis/facts.py: LogIndex). Equal, hashed,
    printed and serialized as a tuple."""

    texts: tuple[str, ...]
    severities: tuple[str, ...]

    def __new__(cls, entries: Any = ()) -> "Entries":
        built = super().__new__(cls, entries)
        built.texts = tuple(map(_TEXT, built))
        built.severities = tuple(map(_SEVERITY, built))
        return built

    def __reduce__(self) -> tuple[Any, ...]:
        return Entries, (tuple(self),)   # pickled as its entries: the columns are read again


_TEXT = operator.attrgetter("text")
_SEVERITY = operator.attrgetter("severity")


class LogResult(_Model):
    query: str                            # the filter as sent
    entries: tuple[LogRecord, ...] = ()   # newest first; Entries once validated
    truncated: bool = False               # more matched than max_entries

    @field_validator("entries", mode="after")
    @classmethod
    def _with_columns(cls, entries: tuple[LogRecord, ...]) -> tuple[LogRecord, ...]:
        return Entries(entries)

    def page_ended_after(self, start: datetime) -> datetime | None:
        """The oldest entry when the newest-first page came back full (`truncated`) and ended after `start`:
        the lines logged from `start` to it are not all read. None when the read holds every line from `start`."""
        if not self.truncated or not self.entries:
            return None
        oldest = min(self.entries[0].timestamp, self.entries[-1].timestamp)   # newest first
        return oldest if oldest > start else None


class StartupRead(_Model):
    """The second, narrow Logging read: the startup failures of a rollback's candidate targets alone
    (log_signals.target_startup_filter), made when the service read's page was full and the newest
    serving revision is a deploy suspect (collection.startup_candidates). On the full page the failing
    revision's own lines may have crowded the target's out; here they cannot."""

    revisions: tuple[str, ...]            # the candidate targets asked for, newest first
    result: LogResult | None = None       # None: the read failed (`failure` says why)
    failure: str = ""


# --- Serverless VPC Access --------------------------------------------------------------------


class Connector(_Model):
    name: str                             # projects/P/locations/L/connectors/C
    state: str                            # READY | CREATING | DELETING | ERROR | UPDATING
    machine_type: str = "e2-micro"
    min_instances: int = 2
    max_instances: int = 10
    min_throughput: int | None = None
    max_throughput: int | None = None
    network: str = ""
    ip_cidr_range: str = ""

    @property
    def short_name(self) -> str:
        return short_name(self.name)


class TargetConnectorRead(_Model):
    """The VPC connector a rollback's candidate target names, read apart when it is not the connector the
    serving revisions route through (collection.target_connector_name): a deploy that moved the service to
    another connector, or to Direct VPC egress, left the revision before naming the old one
    (Revision.vpc_access.connector, google/cloud/run/v2/revision.proto), which may have been deleted since
    (the migration the deploy was made for). Cloud Run serves a revision's traffic only from instances it
    can start; whether an instance of a revision whose connector is gone starts is not documented
    (UNCONFIRMED): under either reading its requests would have no path to the VPC."""

    name: str                             # projects/P/locations/L/connectors/C, as the candidate names it
    revisions: tuple[str, ...] = ()       # the candidates that name it (short names), newest first
    connector: Connector | None = None    # as read; None when the read was refused (`refusal`)
    # The read's permanent refusal, by its canonical code ("NOT_FOUND": the connector does not exist,
    # AIP-131 "Standard methods: Get"; "PERMISSION_DENIED", ...); "" when it was read.
    refusal: str = ""
    # How full it is (collection._TARGET_FULLNESS): connector/instances (max per minute), connector/cpu/utilizations
    # (p99 per minute) and its two byte counters (rate per minute, summed): the path's connector's reads; None when
    # not read or refused.
    instances: MetricResult | None = None
    cpu: MetricResult | None = None
    received_bytes: MetricResult | None = None
    sent_bytes: MetricResult | None = None
    # Any of those four reads' failure, by its canonical code ("PERMISSION_DENIED": no monitoring.timeSeries.list
    # on the connector's project, a Shared VPC host's; "UNAVAILABLE", ...); "" when both answered, with points or
    # none. Kept apart from None so that a fullness not known is never read as a connector with room.
    fullness_refusal: str = ""


class SecretVersionState(_Model):
    """A Secret Manager secret version's metadata as GetSecretVersion answers it (SecretVersion,
    google/cloud/secretmanager/v1/resources.proto): its name and `state`, never its payload (that is
    AccessSecretVersion, which Runwarden never calls)."""

    name: str          # projects/P/secrets/S/versions/V, as the API names it
    # SecretVersion.State: ENABLED "may be accessed"; DISABLED "may not be accessed, but the secret data is
    # still available and can be placed back into the ENABLED state"; DESTROYED "the secret data is no
    # longer stored. A version may not leave this state once entered"; STATE_UNSPECIFIED "unused and invalid".
    state: str


class TargetSecretRead(_Model):
    """One secret version a rollback's candidate target reads, read apart (collection.target_secret_reads).
    Cloud Run resolves an env var's secret "at instance startup time" and a volume's when it is read (Cloud
    Run docs, "Configure secrets for services"): a version disabled or destroyed since the target served
    leaves its new instances without it (rules/target_secrets.py)."""

    revision: str                          # the candidate's short name
    where: str                             # "env DB_PASSWORD" / "volume config" (secret_refs.where_read)
    secret: str                            # as the revision names it: an id, or projects/P/secrets/S
    # The version as the revision names it: a number ("4"), an alias, or "latest" (also for an unset version)
    version: str
    name: str                              # the version read: projects/P/secrets/S/versions/V
    state: str = ""                        # SecretVersionState.state; "" when not read (`refusal`)
    # The number "latest" or an alias resolved to (the answer's SecretVersion.name); "" for a version read by
    # its number, or not read.
    resolved: str = ""
    # The read's permanent refusal, by its canonical code ("NOT_FOUND": no such version or secret, AIP-131
    # "Standard methods: Get"; "PERMISSION_DENIED": Runwarden's account lacks secretmanager.versions.get).
    refusal: str = ""


# --- The alert that started it ------------------------------------------------------------------


# AlertContext.condition_kind of a notification that carried no `condition`.
CONDITION_UNSTATED = "unstated"


class AlertContext(_Model):
    """What the alert itself says, as far as diagnosis may use it: its threshold and comparison
    (a 504 ratio above 2 % is a different bar from 10 %), and a log-match condition's filter,
    whose entries are read with the service's own logs so their text can name a cause."""

    policy: str = ""
    # The policy's resource name, "projects/P/alertPolicies/ID" (Incident.policy_resource; "" when the
    # notification names none): `policy` is its display name, which a person may edit.
    policy_resource: str = ""
    metric_type: str = ""
    resource_type: str = ""
    comparison: str = ""              # COMPARISON_GT | COMPARISON_LT | ...
    threshold: float | None = None
    # The value the notification says its condition measured (`observed_value` as a plain finite number; None for
    # none, prose, a unit): what shared/diagnosis/alert_unseen.py holds the minutes read to.
    observed: float | None = None
    ratio: bool = False               # a ratio policy (numerator / denominator filters)
    log_filter: str = ""              # a log-match condition's filter ("" otherwise)
    documentation: str = ""
    # The labels of the series that violated the condition, and the condition's filter or query:
    # what the alert counted (e.g. response_code_class "4xx"), for shared/diagnosis/health_bar.py.
    metric_labels: dict[str, str] = Field(default_factory=dict)
    condition_filter: str = ""
    # A ratio condition's denominatorFilter ("" otherwise): what the share is of (health_bar.py).
    denominator_filter: str = ""
    # "threshold", "absent", "log_match", "other" (an MQL, PromQL or SQL query); "unstated" when the
    # notification carried no `condition` at all (its comparison, aggregation and filter unknown:
    # shared/diagnosis/health_bar.py); "" when no notification said (a table, an older record).
    condition_kind: str = ""
    forecast: bool = False            # a forecast condition (MetricThreshold.forecast_options): about the future
    # The condition's aggregation, its steps chained (shared/alerts/incidents._chained: per_series_aligner,
    # cross_series_reducer; "" when the notification carries none): a latency policy's value is a
    # percentile, a mean or a sum by them.
    aligner: str = ""
    reducer: str = ""
    # The condition's alignment period in seconds (None when not stated: a table, an older record): a count of
    # 5xx per period (ALIGN_DELTA, ALIGN_SUM) is a count over that many seconds (health_bar.py).
    alignment_seconds: float | None = None
    # The fields its cross-series reducer keeps (groupByFields of its reducing step; () when none): a
    # condition grouped by revision_name compares each revision's own series with its threshold. A list, as
    # the action's record keeps it (Firestore gives an array back as one).
    group_by: list[str] = Field(default_factory=list)
    # Its trigger in words when it fires on more than one series ("50 % of its series (trigger.percent 50)";
    # "" for the default, any one series: shared/alerts/incidents._Trigger).
    trigger: str = ""
    # A ratio condition's denominatorAggregations, chained (shared/alerts/incidents._chained): aligner, reducer
    # and the fields the reducer keeps (a list, as Firestore gives it back); `denominator_aggregated` False when
    # the notification carries none, or when no notification said (a table, an older record). Whether the
    # ratio is the share of the service's requests depends on them (health_bar.denominator_doubt).
    denominator_aligner: str = ""
    denominator_reducer: str = ""
    denominator_group_by: list[str] = Field(default_factory=list)
    denominator_aggregated: bool = False
    # Its evaluationMissingData by name ("" when it carries none): EVALUATION_MISSING_DATA_ACTIVE holds the
    # condition met while its data is missing (health_bar.py).
    evaluation_missing_data: str = ""
    # The revision the alert names (resource.labels.revision_name), when its policy keeps the revision
    # (Runwarden's own group by it, infra/alerts.tf): its condition is that revision's, not the service's.
    revision: str = ""
    # Where a log match names that revision when its resource does not: the label its condition extracts the matched
    # entry's own revision_name into (shared/alerts/extracted_labels.py), "" otherwise.
    revision_where: str = ""
    # An uptime check's alert on its URL: the notification's resource labels `host` and `project_id` (resource
    # uptime_url), where the check's own results are read when the notification names no check id.
    uptime_host: str = ""
    uptime_project: str = ""
    # Why the notification's parts may be different conditions of a policy of several ("" when they
    # agree: shared/alerts/incidents.Incident.condition_doubt): its condition is then not judged.
    condition_doubt: str = ""

    @field_validator("metric_labels", mode="after")
    @classmethod
    def _keepable_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        """The labels as an action record can keep them: the context is stored with the action (its
        keys become field names of a Firestore map), and Firestore refuses a field name that matches
        `__.*__` ("field name '__name__' is reserved", the emulator's answer), an empty one, or one over
        1,500 bytes. A PromQL condition's series may carry `__name__` (Prometheus's label for the
        metric's name; whether Monitoring's notification keeps it is UNCONFIRMED); refused, the record
        of a rollback already made was never written. Such a key is kept as `label:KEY` (a long one
        cut); no key the health check reads (shared/diagnosis/health_bar.py) is one of them."""
        if all(_keepable_key(key) for key in labels):
            return labels
        return {(key if _keepable_key(key) else _kept_key(key)): value for key, value in labels.items()}


# Firestore's limit for a field name (shared/gcp/firestore.py, MAX_FIELD_NAME_BYTES), kept apart: the
# domain does not import an adapter.
_MAX_LABEL_KEY_BYTES = 1500


def _keepable_key(key: str) -> bool:
    return bool(key) and not (key[:2] == "__" and key[-2:] == "__" and len(key) >= 4) and (
        len(key) <= _MAX_LABEL_KEY_BYTES // 4 or len(key.encode("utf-8", "surrogatepass")) <= _MAX_LABEL_KEY_BYTES)


def _kept_key(key: str) -> str:
    kept = f"label:{key}"
    if len(kept.encode("utf-8", "surrogatepass")) <= _MAX_LABEL_KEY_BYTES:
        return kept
    return kept.encode("utf-8", "surrogatepass")[:_MAX_LABEL_KEY_BYTES - 3].decode("utf-8", "ignore") + "..."


# --- Everything one diagnosis may look at ---------------------------------------------------


class EvidenceBundle(_Model):
    """Live state as collected for one incident. Every source may be missing (None), and
    `gaps` says why; diagnosis treats a missing source as unknown, never as healthy."""

    incident_started_at: datetime
    collected_at: datetime
    # How far the clock `collected_at` was read on may be ahead of real time (clock.ahead_of_server: the
    # sweep's message's publish time shows it), so that minutes read as whole (facts.whole_until) are.
    clock_ahead: timedelta = timedelta(0)
    service: Service
    revisions: tuple[Revision, ...]                  # oldest first
    requests: MetricResult | None = None             # request_count per minute by revision, class, code
    latencies: MetricResult | None = None            # request_latencies p99 (ms) per minute by revision
    # request_latencies p50 (ms) per minute by revision, from the same read as `latencies` (percentiles.py)
    latencies_p50: MetricResult | None = None
    instances: MetricResult | None = None            # container/instance_count (max) per minute by revision
    connector: Connector | None = None
    # The connector whose read answered NOT_FOUND (vpcaccess.connectors.get: deleted, or never in that
    # project and region), by its full name; None when it was found, not read, or the read failed otherwise.
    connector_not_found: str | None = None
    connector_instances: MetricResult | None = None  # connector/instances (max) per minute
    connector_cpu: MetricResult | None = None        # connector/cpu/utilizations p99 per minute
    connector_bytes: MetricResult | None = None      # connector/received_bytes_count, bytes/s per minute
    connector_sent_bytes: MetricResult | None = None # connector/sent_bytes_count, bytes/s per minute
    sql_instances: tuple[str, ...] = ()              # "project:region:instance"
    sql_up: MetricResult | None = None               # cloudsql database/up (min) per minute by database_id
    sql_cpu: MetricResult | None = None              # cloudsql database/cpu/utilization (max) per minute by database_id
    # cloudsql database/postgresql/num_backends (max, summed over its databases) per minute by database_id: read
    # only with a deploy the suspect and room in the budget (collection._sql_connections_wanted); None otherwise.
    sql_connections: MetricResult | None = None
    logs: LogResult | None = None                    # the service's stderr, warnings and system log
    audit: LogResult | None = None                   # Admin Activity audit entries for the service
    connector_audit: LogResult | None = None         # Admin Activity audit entries for its connector
    # Admin Activity entries of a database user changed on a Cloud SQL instance the revisions name
    # (log_signals.sql_user_changes_clause: cloudsql.users.update, .delete), from the same read as `audit`.
    sql_audit: LogResult | None = None
    # The service's request log (every line, of any caller) over the minutes judged: read by the verification
    # sweep (shared/remediation/callers.py), and on the alert path when `healthy` may depend on who sent the
    # requests (`callers_asked`; shared/diagnosis/request_callers.py); None when not read.
    request_lines: LogResult | None = None
    # The alert path asked for the request log for `healthy` (collection.callers_may_decide): None above
    # is then a read refused (its gap says why), never a read not needed.
    callers_asked: bool = False
    # An uptime check's alert: the check's own results (uptime_check/check_passed, raw points per checker
    # location, shared/diagnosis/check_results.py) over the minutes read; None when not read (its gap says why).
    check_passed: MetricResult | None = None
    # The rollback's candidate targets' own startup failures, read apart when the service read's page was
    # full (`logs.truncated`) and a deploy is the suspect; None when no such read was needed.
    target_startup: StartupRead | None = None
    # The application's failure lines alone (log_signals.failure_lines_filter: ERROR or worse, or a failure
    # text), read apart when the service read's page was full before it reached its window's start: INFO
    # lines on stderr take no room here unless they hold a stdout needle's failure text; the page itself can
    # still come back full, a read cut short (failure_lines.failure_read_failed, Facts.page_cut). None when not needed,
    # or when the read failed (its gap, "logging: the application's failure lines", says why).
    failure_logs: LogResult | None = None
    # The connector a rollback's candidate target names when the serving revisions route elsewhere, as
    # read (TargetConnectorRead); None when no candidate names another connector, or it was not read.
    target_connector: TargetConnectorRead | None = None
    # The secret versions the rollback's candidate targets read, as read (TargetSecretRead, newest candidate
    # first; "latest" and aliases resolved by the read); () when none was read.
    target_secrets: tuple[TargetSecretRead, ...] = ()
    alert: AlertContext | None = None                # what the alert said
    gaps: tuple[str, ...] = ()
    # Those of `gaps` that are reads answered in part (shared.errors.IncompleteReadError: a search still paging
    # when its deadline ran out, an answer with execution errors), each as its gap says it. What was read of them
    # is not in the bundle; a diagnosis beside one is never acted on nor `healthy` (diagnose._held_for_incomplete).
    incomplete_reads: tuple[str, ...] = ()
    # For each of `incomplete_reads`, in its order, where a person reads it by hand over the minutes it asked
    # for (collection.by_hand: a Logs Explorer query, a Metrics Explorer filter, a gcloud command); "" when not
    # known. The escalation's recommendation quotes it (diagnose._held_for_incomplete).
    by_hand: tuple[str, ...] = ()
    api_calls: int = 0
    # Where the evidence of the current state starts being judged: the incident's start, or, for an
    # incident open longer than max_incident_window_seconds, that long before collection (None: the start).
    judged_from: datetime | None = None

    @property
    def judged_since(self) -> datetime:
        return self.judged_from or self.incident_started_at
