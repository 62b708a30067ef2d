"""Cloud Run Admin API v2 stand-in: Services (Get, List, Update), Revisions (Get, List) and
google.longrunning.Operations/GetOperation, over real gRPC.

It enforces the rules the product relies on, like the real API, and fails as it does:
- unknown names are NOT_FOUND; anything but a traffic update is refused as UNIMPLEMENTED rather
  than silently ignored;
- an UpdateService whose Service carries an etag other than the current one is refused and
  nothing is applied: ABORTED (HTTP 409), as AIP-154 requires ("If a user sends back an etag which
  does not match the current etag value, the service must send an ABORTED error response",
  google.aip.dev/154; Service.etag: "May be used to detect modification conflict during updates",
  google-cloud-run 0.16.2). Cloud Run's own reference names no code, and AIP-154 said
  FAILED_PRECONDITION (HTTP 400) before 2021-03, so `stale_etag_code` switches to that reading and
  the tests run both. An empty etag is accepted ("If the user does not send an etag value at all,
  the service should permit the request");
- a template that names an existing revision but differs from that revision's configuration is
  409 ALREADY_EXISTS "Revision named '...' with different configuration already exists", checked
  whatever the update_mask says (googleapis/google-cloud-python #11870 and #14259; #14259 sent an
  update_mask and still got it). The trigger is the reported one; Google has not confirmed it;
- the split's shape is checked at once (INVALID_ARGUMENT: sum 100, LATEST/REVISION shape, each
  tag a DNS-1035 label naming one target, as Knative Serving checks it; see `_check_tag`), but
  whether its revisions can serve is only found out while reconciling: the update is accepted
  (generation bumped, `traffic` holds the desired split, `reconciling` true), then the operation
  fails, `traffic_statuses` / `observed_generation` keep the last serving state and
  `terminal_condition` says why (Service.reconciling docstring, google-cloud-run 0.16.2). Whether a
  failed operation leaves the desired spec as sent is not documented: `failed_update_keeps_spec`
  switches to the reading where it is put back, and `fail_next_operation` fails an update whose
  revisions could serve (a reconciliation that fails for a reason no read foretells);
- UpdateService answers with an Operation that is done after N polls.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence

import grpc
from google.cloud import run_v2
from google.longrunning import operations_pb2
from google.protobuf import any_pb2

from sandbox.standins.base import ApiError, Rpc, StandIn, invalid, not_found, paginate, unimplemented
from sandbox.standins.faults import QuotaRefusal

SERVICES = "google.cloud.run.v2.Services"
REVISIONS = "google.cloud.run.v2.Revisions"
OPERATIONS = "google.longrunning.Operations"

_SERVICE_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/services/[^/]+$")
_LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
_REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
_SUCCEEDED = run_v2.Condition.State.CONDITION_SUCCEEDED
# project:region:instance; a domain-scoped project ("example.com:proj") adds one more part.
_CLOUDSQL_INSTANCE = re.compile(r"^(?:[^:\s/]+:)?[^:\s/]+:[^:\s/]+:[^:\s/]+$")

# Fields the server owns: a client echoing them back from a GET is not changing anything.
_OUTPUT_ONLY = frozenset({
    "uid", "generation", "create_time", "update_time", "delete_time", "expire_time", "creator",
    "last_modifier", "observed_generation", "terminal_condition", "conditions", "latest_ready_revision",
    "latest_created_revision", "traffic_statuses", "uri", "urls", "satisfies_pzs", "reconciling", "etag",
})
_PLACEHOLDER_IMAGE = "us-docker.pkg.dev/cloudrun/container/hello"
# A revision seeded with no max instances is answered with 100, as Google's server fills it:
# RevisionScaling.max_instance_count, "When unspecified, the field is set to the server default value of 100"
# (google/cloud/run/v2/vendor_settings.proto, google-cloud-run 0.16.2's docstring; RevisionTemplate.scaling is
# the same message, revision_template.proto). Terraform's provider marks template.scaling.maxInstanceCount
# default_from_api for the same reason: the API returns a value where the config set none
# (GoogleCloudPlatform/magic-modules#18394, #18526). That value may be one computed from the region's quota
# and the instance size rather than 100 (the provider's docs; UNCONFIRMED for a revision): the stand-in
# answers the docstring's 100. The product reads 0 or absent (the other reading) as Cloud Run's default of 100
# too, never as "0 instances" (shared/gcp/run.py; deploy_changes.DEFAULT_MAX_INSTANCES).
SERVER_DEFAULT_MAX_INSTANCES = 100
# A revision seeded with no request timeout or concurrency is answered with Cloud Run's defaults, as the server fills
# them (the reading `RunStandIn.fills_revision_defaults` switches off):
# - concurrency: RevisionTemplate.max_instance_request_concurrency, "If not specified or 0, concurrency defaults to 80
#   when requested CPU >= 1 and defaults to 1 when requested CPU < 1" (google/cloud/run/v2/revision_template.proto,
#   google-cloud-run 0.16.2's docstring); a CPU limit not given is Cloud Run's default of 1 CPU (Cloud Run docs,
#   "Configure CPU limits"; the page's wording was not re-read here: UNCONFIRMED), so 80;
# - timeout: Revision.timeout and RevisionTemplate.timeout say only "Max allowed time for an instance to respond to a
#   request" (revision.proto, revision_template.proto); the default of 5 minutes is Cloud Run's docs' ("Set request
#   timeout": "The default timeout is 5 minutes", cloud.google.com/run/docs/configuring/request-timeout).
# That the server writes either default into the Revision it answers (rather than leaving the field unset and applying
# the default) is UNCONFIRMED: no docstring says "set to the server default" as RevisionScaling.max_instance_count's
# does. The product reads unset (0, absent) and the filled default alike (shared/diagnosis/rules/deploy_changes.py
# `requests_per_instance`, `timeout_seconds`, `max_instances`), and its tests run both readings.
SERVER_DEFAULT_TIMEOUT = timedelta(seconds=300)
SERVER_DEFAULT_CONCURRENCY = 80
SERVER_DEFAULT_CONCURRENCY_UNDER_ONE_CPU = 1
# Who changed a service: Service.creator, "Email address of the authenticated creator", and Service.last_modifier,
# "Email address of the last authenticated modifier", both output only, with update_time, "The last-modified time"
# (google/cloud/run/v2/service.proto; google-cloud-run 0.16.2's run_v2.types.Service docstring). The server sets
# them from the caller's credentials, which the stand-in does not check: an RPC's caller is `RunStandIn.caller`
# (Runwarden's own service account by default), a seeded change names its own (a person who deployed by default).
# That a traffic-only UpdateService moves last_modifier and update_time as any update does is UNCONFIRMED (the
# docstrings say "last", for any modification); the product reads them to name another tool's rollout
# (shared/remediation/release_pipeline.rollout_mover) and to hold a write back for a person's change no audit entry
# read accounts for (shared/diagnosis/unaudited_change.py); under the other reading the audit entry alone decides.
# A scenario's seeded service names the principal of its last write (`sandbox.scenarios.last_write`).
RUNWARDEN_CALLER = "runwarden@demo-project.iam.gserviceaccount.com"
SEEDED_BY = "deployer@example.com"
# The Admin Activity audit entries of every write: an out-of-band one (`deploy`, `set_service_max_instances`: a
# pipeline's or a person's) and every UpdateService RPC (Runwarden's own, by `RunStandIn.caller`: "Cloud Run audit
# logging" lists google.cloud.run.v2.Services.UpdateService among the Admin Activity methods, and an audited
# operation's first entry names its principal and its resource), written into the Logging stand-in once
# `audit_into` names it, as Cloud Run writes them to
# cloudaudit.googleapis.com/activity ("Cloud Run audit logging"; the payload a google.cloud.audit.AuditLog,
# google/cloud/audit/audit_log.proto: method_name, resource_name, authentication_info.principal_email, request,
# status). The methodName: v2's UpdateService (the default), or gcloud's historical v1 path, ReplaceService, which
# names the service by namespace (the audit logging page's examples; which one a given pipeline's gcloud uses is
# UNCONFIRMED, so the product reads both). On a cloud_run_revision resource with the service's labels, as
# sandbox/scenario_logs.py seeds a Run change. An operation's two entries, "one when the operation starts and another
# when it ends" (the same page): the first with the principal and the request, the last with the status.
AUDIT_LOG_ID = "cloudaudit.googleapis.com/activity"
UPDATE_METHOD = "google.cloud.run.v2.Services.UpdateService"
REPLACE_METHOD_V1 = "google.cloud.run.v1.Services.ReplaceService"
# How long before the revision it creates a deploy's request (its operation's first entry) is dated, and how long its
# operation runs. Neither is documented (UNCONFIRMED): a deploy's request comes before its revision exists, and the
# product reads an entry dated after its revision as someone else's (never a wrong `verified`).
DEPLOY_ASKED_BEFORE = timedelta(seconds=5)
OPERATION_TAKES = timedelta(seconds=15)

# The shapes of `RunStandIn.exhaust_quota`'s refusal.
RATE, LIMIT, BARE = "rate", "limit", "bare"
RUN_QUOTAS_PAGE = "https://cloud.google.com/run/quotas"
_WRITE_QUOTA = QuotaRefusal(
    "run.googleapis.com", "run.googleapis.com/write_regional", "WritePerMinutePerProjectRegion",
    text="Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per region' of "
         "service 'run.googleapis.com' for consumer 'project_number:0'. To request a quota increase, see "
         f"{RUN_QUOTAS_PAGE}.", help_url=RUN_QUOTAS_PAGE)
_SERVING_LIMIT = QuotaRefusal(
    "run.googleapis.com", "run.googleapis.com/serving_revisions", "ServingRevisionsPerProjectRegion",
    reason="RESOURCE_QUOTA_EXCEEDED",
    text="Quota exceeded for quota metric 'Revisions serving traffic' and limit 'Revisions serving traffic per "
         "project per region' of service 'run.googleapis.com' for consumer 'project_number:0'. To request a quota "
         f"increase, see {RUN_QUOTAS_PAGE}.", help_url=RUN_QUOTAS_PAGE)


def _quota_refusal(shape: str, retry_delay: float | None) -> ApiError:
    """The error `RunStandIn.exhaust_quota` answers UpdateService with, in `shape`."""
    exhausted = grpc.StatusCode.RESOURCE_EXHAUSTED
    if shape == RATE:
        quota = replace(_WRITE_QUOTA, retry_delay=retry_delay)
        return ApiError(exhausted, quota.message, quota=quota)
    if shape == LIMIT:
        return ApiError(exhausted, _SERVING_LIMIT.message, quota=_SERVING_LIMIT)
    return ApiError(exhausted, _SERVING_LIMIT.message)


def server_default_concurrency(cpu: str | None) -> int:
    """The concurrency Cloud Run gives a revision that sets none, by its CPU limit (a quantity: "1", "2", "500m",
    "0.5"; unset is 1 CPU): 1 under one CPU, else 80 (RevisionTemplate.max_instance_request_concurrency)."""
    # Parsed here, not with the product's reader, so a fault in one is not mirrored by the other.
    quantity = (cpu or "").strip()
    try:
        limit = float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity) if quantity else 1.0
    except ValueError:
        raise ValueError(f"cpu must be a quantity such as 1, 2, 500m or 0.5, got {cpu!r}") from None
    return SERVER_DEFAULT_CONCURRENCY_UNDER_ONE_CPU if limit < 1 else SERVER_DEFAULT_CONCURRENCY


def project_number(project_id: str) -> int:
    """The number the stand-ins give a project: Google gives every project a number beside its id,
    and the sandbox derives a stable one from the id (the scenarios' notifications carry the same,
    as `scoping_project_number`)."""
    return int(hashlib.sha256(project_id.encode()).hexdigest(), 16) % 10**12


def run_app_urls(service: str) -> list[str]:
    """The service's run.app URLs as Service.urls lists them, the main one (Service.uri) first:
    the deterministic https://SERVICE-PROJECT_NUMBER.REGION.run.app, "given priority when
    displayed", assigned "if the service name length allows it" (cloud.google.com/run/docs/triggering/
    https-request; here: a host label of at most 63 characters), and the hash-based one every
    service has."""
    _, project, _, region, _, service_id = service.split("/")
    label = f"{service_id}-{project_number(project)}"
    hashed = hashed_run_app_url(service)
    return [f"https://{label}.{region}.run.app", hashed] if len(label) <= 63 else [hashed]


def hashed_run_app_url(service: str) -> str:
    """The older https://SERVICE-HASH-REGIONCODE.a.run.app: a 10-character hash of the project, and a
    region code (Google assigns the codes; real ones read like the initials here: `uc` us-central1,
    `ew` europe-west1, `an` asia-northeast1)."""
    _, project, _, region, _, service_id = service.split("/")
    digest = hashlib.sha256(project.encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    hashed = "".join(alphabet[int(digest[i:i + 2], 16) % 36] for i in range(0, 20, 2))
    code = "".join(part[0] for part in region.split("-")[:2])
    return f"https://{service_id}-{hashed}-{code}.a.run.app"


def tag_url(service: run_v2.Service, tag: str) -> str:
    """A revision tag's URL, as its traffic status lists it (TrafficTargetStatus.uri): TAG--- before
    the service's older host (https://canary---my-service-xxxxx-uc.a.run.app, gcloud's output in
    google-github-actions/deploy-cloudrun #589). Which of the service's URLs the API prefixes in the
    status is UNCONFIRMED; none when the host label would pass DNS's 63 characters."""
    hashed = [u for u in service.urls if u.endswith(".a.run.app")] or list(service.urls[-1:])
    if not hashed:
        return ""
    label, _, rest = hashed[0].removeprefix("https://").partition(".")
    return f"https://{tag}---{label}.{rest}" if len(f"{tag}---{label}") <= 63 else ""


@dataclass(frozen=True)
class ConditionSeed:
    """A revision condition; `reason` is a CommonReason or RevisionReason enum name."""

    type: str
    state: str = "CONDITION_SUCCEEDED"
    reason: str = ""
    message: str = ""


READY = (ConditionSeed("Ready"),)


@dataclass(frozen=True)
class TrafficSeed:
    """A traffic target: `revision=None` means LATEST."""

    percent: int
    revision: str | None = None
    tag: str = ""


# A traffic target naming a revision that is gone: the code and text users report for this
# failure on create (terraform-google-modules/terraform-docs-samples #269, "Error code 13").
# The same on update is UNCONFIRMED.
MISSING_REVISION_CODE = 13     # google.rpc.Code INTERNAL
# A target naming a revision that exists but is not Ready: the code and text are UNCONFIRMED
# (no published sample); only the shape (operation fails, serving unchanged) is documented.
NOT_READY_CODE = 9             # google.rpc.Code FAILED_PRECONDITION


@dataclass
class _PendingOperation:
    polls_left: int
    service_name: str
    previous: run_v2.Service                    # the service before the update (put back on failure, when asked)
    outcome: run_v2.Service | None = None      # the service once reconciled
    error: tuple[int, str] | None = None       # (google.rpc.Code, message) when it failed
    injected: tuple[int, str] | None = None    # a failure `fail_next_operation` asked of this update
    audited: str | None = None                 # the id its audit entries share (RunStandIn._audit_rpc)


def _copy(message: Any) -> Any:
    return type(message).deserialize(type(message).serialize(message))


def _pack(service: run_v2.Service) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(run_v2.Service.pb(service))
    return packed


def _summary(service: run_v2.Service) -> run_v2.Service:
    """A listed Service under the reading where a list answers less than a GET (RunStandIn.list_services_whole)."""
    return run_v2.Service(name=service.name, uid=service.uid, generation=service.generation,
                          labels=dict(service.labels), create_time=service.create_time,
                          update_time=service.update_time, uri=service.uri, urls=list(service.urls))


def _split_request(traffic: Sequence[run_v2.TrafficTarget]) -> list[dict[str, Any]]:
    """A split as an audited request carries it (Service.traffic, TrafficTarget in proto3 JSON's names)."""
    return [{"type": run_v2.TrafficTargetAllocationType(t.type_).name, "revision": t.revision,
             "percent": t.percent, **({"tag": t.tag} if t.tag else {})} for t in traffic]


def _audited_resource(service: str, method: str) -> str:
    """An audit entry's resourceName: the service's v2 name, or v1's namespaces/PROJECT/services/NAME."""
    _, project, _, _, _, short = service.split("/")
    return f"namespaces/{project}/services/{short}" if ".v1." in method else service


def _new_etag() -> str:
    return f'"{uuid.uuid4().hex[:20]}"'


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _conditions(seeds: Sequence[ConditionSeed], created: datetime, ready_after: timedelta) -> list[run_v2.Condition]:
    """A revision's conditions, dated at its creation, but its Ready condition `ready_after` it (a slow start)."""
    return [_condition(c, created + ready_after if c.type == "Ready" else created) for c in seeds]


def _condition(seed: ConditionSeed, at: datetime) -> run_v2.Condition:
    try:
        state = run_v2.Condition.State[seed.state]
    except KeyError:
        raise ValueError(f"unknown condition state {seed.state!r}") from None
    condition = run_v2.Condition(type_=seed.type, state=state, message=seed.message, last_transition_time=at)
    if seed.reason in run_v2.Condition.CommonReason.__members__:
        condition.reason = run_v2.Condition.CommonReason[seed.reason]
    elif seed.reason in run_v2.Condition.RevisionReason.__members__:
        condition.revision_reason = run_v2.Condition.RevisionReason[seed.reason]
    elif seed.reason:
        raise ValueError(f"unknown condition reason {seed.reason!r} (not a CommonReason or RevisionReason)")
    return condition


class RunStandIn(StandIn):
    """In-memory Cloud Run: services, their revisions, and update operations."""

    # Cloud Run IAM permissions (cloud.google.com/run/docs/reference/iam/permissions).
    permissions = {"GetService": "run.services.get", "ListServices": "run.services.list",
                   "UpdateService": "run.services.update", "GetRevision": "run.revisions.get",
                   "ListRevisions": "run.revisions.list", "GetOperation": "run.operations.get"}

    def __init__(self, lro_polls_before_done: int = 2) -> None:
        super().__init__()
        self.lro_polls_before_done = lro_polls_before_done
        # How a stale etag is refused: ABORTED (AIP-154) or FAILED_PRECONDITION (its earlier text).
        # None: a third reading, an etag the server ignores (Service.etag is "Optional" in
        # google-cloud-run 0.16.2 but "Output only" in the REST discovery clients,
        # google-apis-run_v2 GoogleCloudRunV2Service#etag, and AIP-203 has a service ignore
        # output-only fields sent in a request).
        self.stale_etag_code: grpc.StatusCode | None = grpc.StatusCode.ABORTED
        self._services: dict[str, run_v2.Service] = {}
        self._revisions: dict[str, run_v2.Revision] = {}
        # The template each revision was created from: its "configuration" (revision names are immutable).
        self._templates: dict[str, run_v2.RevisionTemplate] = {}
        # What is really serving: the last split that reconciled (traffic_statuses come from it).
        self._serving: dict[str, list[run_v2.TrafficTarget]] = {}
        self._operations: dict[str, _PendingOperation] = {}
        # Whether a LATEST entry of traffic_statuses names the revision it resolves to is not
        # documented (TrafficTargetStatus.revision: "Revision to which this traffic is sent"):
        # True names it, False leaves it empty (type and percent only).
        self.latest_status_names_revision = True
        # Whether a ListServices entry is the whole Service, as GetService answers it, is not documented
        # (ListServicesResponse.services: "The resulting list of Services", google/cloud/run/v2/service.proto;
        # ListServicesRequest has no `view` and no field mask, google-cloud-run 0.16.2).
        # True: each entry is whole (template, status, etag). False: each is a summary, its identity and
        # metadata only (name, uid, generation, labels, times, URLs), with no template, status or etag.
        self.list_services_whole = True
        # Whether a revision seeded with no request timeout or concurrency is answered with Cloud Run's defaults
        # (300 s; 80, or 1 under one CPU) or with the fields unset (0, absent): SERVER_DEFAULT_TIMEOUT. Read when
        # a revision is added.
        self.fills_revision_defaults = True
        # The page size of a ListRevisions asked with none (Runwarden asks with none). Cloud Run's own default is
        # not documented (ListRevisionsRequest.page_size: "Maximum number of revisions to return in this call",
        # google/cloud/run/v2/revision.proto; UNCONFIRMED); tests lower it to page a few revisions.
        self.revisions_page_size = 100
        # Whether a target at 0% (a tag's own URL) must name a revision that exists and is Ready for the split to
        # reconcile. Cloud Run's v2 reference does not say (TrafficTarget.tag: "Indicates a string to be part of
        # the URI to exclusively reference this target", google/cloud/run/v2/traffic_target.proto; UNCONFIRMED).
        # False: only a target with a share is checked. True: every named target is, as Knative Serving, whose
        # Service API Cloud Run's follows, builds a route (pkg/reconciler/route/traffic: a missing or unready
        # revision fails the whole route, whatever its percent).
        self.zero_percent_targets_checked = False
        # Whether an update whose operation ends with an error leaves its spec desired (generation moved on,
        # `traffic` as sent, `traffic_statuses` as before) or is put back as it was before the update. The
        # v2 reference documents the first shape for a failed reconciliation ("Once reconciliation is over
        # ... or there was an error, and reconciliation failed. This state can be found in
        # terminal_condition.state", Service.reconciling, google/cloud/run/v2/service.proto) but never says
        # what the spec is after the operation (google.longrunning.Operation.error: "The error result of the
        # operation in case of failure or cancellation"); UNCONFIRMED which, so the product is tested under both.
        self.failed_update_keeps_spec = True
        # Which time Service.update_time ("The last-modified time", output only, google/cloud/run/v2/service.proto)
        # keeps for a deploy: False, when it was asked for (DEPLOY_ASKED_BEFORE its revision's create_time); True,
        # when it reconciled, its revision's Ready condition's last transition (a slow start's minutes later).
        # Neither is documented (UNCONFIRMED); the product is tested under both (unaudited_change.deploys_own).
        self.update_time_when_ready = False
        # The services whose last write is still the one seeding made (`add_service`): their last_modifier and
        # update_time follow their newest revision's deploy, as a real project's service shows.
        self._seeded_writes: set[str] = set()
        # The principal an RPC's credentials name (Service.last_modifier of an UpdateService it makes).
        self.caller = RUNWARDEN_CALLER
        self._failing_operations: list[tuple[int, str]] = []
        # While set (`exhaust_quota`), every UpdateService is refused RESOURCE_EXHAUSTED before anything is applied.
        self._quota_refusal: ApiError | None = None
        self._quota_refusals_left: int | None = None     # how many more it refuses (None: every one)
        # Where every write's audit entries go (`audit_into`): a LoggingStandIn and the methodName. None: nowhere.
        self._audit: tuple[Any, str] | None = None
        # The stand-in's one clock (an aware datetime): what dates a write made with no time of its own, its audit
        # entries, a service's update_time and a condition's last transition, as Google's one clock dates them all.
        # Wall time unless `audit_into` (or `use_clock`) is given the test's or the scenario's clock; before, the
        # audit entries followed that clock while update_time stayed on wall time, and a record's update_time
        # (judging.server_time_read) was compared with entries on another clock.
        self.clock: Callable[[], datetime] = _now

    def rpcs(self) -> list[Rpc]:
        return [
            Rpc(SERVICES, "GetService", self._get_service, run_v2.GetServiceRequest.deserialize, run_v2.Service.serialize),
            Rpc(SERVICES, "ListServices", self._list_services, run_v2.ListServicesRequest.deserialize,
                run_v2.ListServicesResponse.serialize),
            Rpc(SERVICES, "UpdateService", self._update_service, run_v2.UpdateServiceRequest.deserialize,
                operations_pb2.Operation.SerializeToString),
            Rpc(REVISIONS, "GetRevision", self._get_revision, run_v2.GetRevisionRequest.deserialize,
                run_v2.Revision.serialize),
            Rpc(REVISIONS, "ListRevisions", self._list_revisions, run_v2.ListRevisionsRequest.deserialize,
                run_v2.ListRevisionsResponse.serialize),
            Rpc(OPERATIONS, "GetOperation", self._get_operation, operations_pb2.GetOperationRequest.FromString,
                operations_pb2.Operation.SerializeToString),
        ]

    # --- seeding (direct, no RPC) ------------------------------------------------------------

    def add_service(self, name: str, labels: dict[str, str] | None = None,
                    urls: Sequence[str] = (), max_instance_count: int | None = None,
                    scaling_mode: str | None = None, manual_instance_count: int | None = None,
                    by: str = SEEDED_BY) -> run_v2.Service:
        """A service with 100% LATEST traffic; add revisions, then `set_traffic` to pin it. `urls`
        are the URLs Cloud Run lists for it (`uri` is the first; the API fills both itself, from the
        project's number and the region: https://SERVICE-PROJECT_NUMBER.REGION.run.app); by default
        `run_app_urls`. `max_instance_count` is the service-level max instances
        (Service.scaling.max_instance_count); `scaling_mode` ("AUTOMATIC" or "MANUAL") and
        `manual_instance_count` are ServiceScaling's own (google/cloud/run/v2/vendor_settings.proto),
        stored as given: an unset mode is SCALING_MODE_UNSPECIFIED, an unset count absent (`optional`). `by`: who
        created it (Service.creator, and last_modifier until a revision is added). A service is created by its
        first deploy, and each seeded revision's deploy is its last write until another is made: add_revision
        dates last_modifier and update_time by its newest revision's (`_deployed_last`), never the moment the
        world is built."""
        if manual_instance_count is not None and manual_instance_count < 0:
            raise ValueError(f"manual_instance_count must be at least 0, got {manual_instance_count}")
        if not _SERVICE_NAME.match(name):
            raise ValueError(f"service name must be projects/P/locations/L/services/S, got {name!r}")
        if max_instance_count is not None and max_instance_count < 1:
            raise ValueError(f"max_instance_count must be at least 1, got {max_instance_count}")
        if not _SERVICE_NAME.match(name):
            raise ValueError(f"service name must be projects/P/locations/L/services/S, got {name!r}")
        with self.lock:
            if name in self._services:
                raise ValueError(f"service {name} already exists")
            now = self.clock()
            urls = list(urls) or run_app_urls(name)
            uri = urls[0]
            self._services[name] = run_v2.Service(
                name=name, uid=str(uuid.uuid4()), generation=1, observed_generation=1, labels=labels or {},
                create_time=now, update_time=now, etag=_new_etag(), creator=by, last_modifier=by,
                uri=uri, urls=list(urls),
                template=run_v2.RevisionTemplate(containers=[run_v2.Container(image=_PLACEHOLDER_IMAGE)]),
                traffic=[run_v2.TrafficTarget(type_=_LATEST, percent=100)],
                terminal_condition=_ready_condition(now))
            if max_instance_count or scaling_mode or manual_instance_count is not None:
                self._services[name].scaling = run_v2.ServiceScaling(
                    max_instance_count=max_instance_count or 0,
                    scaling_mode=run_v2.ServiceScaling.ScalingMode[scaling_mode or "SCALING_MODE_UNSPECIFIED"],
                    manual_instance_count=manual_instance_count)
            self._serving[name] = [run_v2.TrafficTarget(type_=_LATEST, percent=100)]
            self._seeded_writes.add(name)
            self._refresh_status(name)
            return _copy(self._services[name])

    def add_revision(self, service: str, revision: str, create_time: datetime,
                     conditions: Sequence[ConditionSeed] = READY, vpc_connector: str | None = None,
                     vpc_egress: str | None = None, *, cloudsql_instances: Sequence[str] = (),
                     max_instance_count: int | None = None, timeout: timedelta | None = None,
                     concurrency: int | None = None, network_interfaces: Sequence[tuple[str, str]] = (),
                     service_account: str = "", env: Sequence[tuple[str, str]] = (),
                     secret_env: Sequence[tuple[str, str, str]] = (),
                     secret_volumes: Sequence[tuple[str, str, str, Sequence[tuple[str, str]]]] = (),
                     memory: str | None = None,
                     cpu: str | None = None, cpu_idle: bool | None = None,
                     sidecars: Sequence[tuple[str, str | None]] = (), min_instance_count: int | None = None,
                     startup_cpu_boost: bool | None = None, session_affinity: bool = False,
                     execution_environment: str | None = None, image: str | None = None,
                     port_name: str | None = None, creator: str = SEEDED_BY,
                     ready_after: timedelta = timedelta(0)) -> run_v2.Revision:
        """A revision (short name) of an existing service; updates latest_ready/created.

        Cloud SQL instances go where the API keeps them: a `cloudsql` volume with
        cloud_sql_instance.instances, mounted at /cloudsql in the container. Unset limits are
        answered with the server's defaults: max instances 100 (SERVER_DEFAULT_MAX_INSTANCES), and,
        unless `fills_revision_defaults` is off, request timeout 300 s and concurrency 80, or 1
        under one CPU (SERVER_DEFAULT_TIMEOUT). `image` is the ingress container's (Container.image, a tag or
        a `@sha256:` digest); unset, a placeholder every such revision shares. `creator`: whose credentials
        deployed it (Revision.creator, "Email address of the authenticated creator", revision.proto). `ready_after`:
        how long after create_time its Ready condition last transitioned (Condition.last_transition_time, "Last time
        the condition transitioned from one status to another", google/cloud/run/v2/condition.proto): a slow start."""
        bad = [i for i in cloudsql_instances if not _CLOUDSQL_INSTANCE.match(i)]
        if bad:
            raise ValueError(f"Cloud SQL instances must be project:region:instance, got {bad}")
        if max_instance_count is not None and max_instance_count < 1:
            raise ValueError(f"max_instance_count must be at least 1, got {max_instance_count}")
        if concurrency is not None and not 1 <= concurrency <= 1000:
            raise ValueError(f"concurrency must be 1..1000, got {concurrency}")
        if timeout is not None and not timedelta(seconds=1) <= timeout <= timedelta(hours=1):
            raise ValueError(f"timeout must be between 1s and 3600s, got {timeout}")
        with self.lock:
            self._require_service(service)
            name = f"{service}/revisions/{revision}"
            if name in self._revisions:
                raise ValueError(f"revision {name} already exists")
            if vpc_connector and network_interfaces:
                # The API's own refusal (googleapis/google-cloud-node issue #4731).
                raise ValueError("one and only one of connector and network_interfaces must be set")
            vpc_access = run_v2.VpcAccess(connector=vpc_connector or "", network_interfaces=[
                run_v2.VpcAccess.NetworkInterface(network=network, subnetwork=subnetwork)
                for network, subnetwork in network_interfaces])
            if vpc_egress:
                vpc_access.egress = run_v2.VpcAccess.VpcEgress[vpc_egress]
            # Env and secrets where the API keeps them: env[].value / env[].value_source.secret_key_ref
            # (k8s.min.proto; `secret` is a secret id, or projects/P/secrets/S in another project).
            container = run_v2.Container(image=image or _PLACEHOLDER_IMAGE, env=[
                *(run_v2.EnvVar(name=k, value=v) for k, v in env),
                *(run_v2.EnvVar(name=k, value_source=run_v2.EnvVarSource(secret_key_ref=run_v2.SecretKeySelector(
                    secret=secret, version=version))) for k, secret, version in secret_env)])
            if memory or cpu or cpu_idle is not None or startup_cpu_boost is not None:
                # Container.resources: limits ("memory", "cpu"), cpu_idle and startup_cpu_boost, as the API
                # keeps them (ResourceRequirements, google/cloud/run/v2/k8s.min.proto). cpu_idle unsaid is
                # its documented default, CPU only during requests ("true by default").
                container.resources = run_v2.ResourceRequirements(
                    limits={k: v for k, v in (("memory", memory), ("cpu", cpu)) if v},
                    cpu_idle=True if cpu_idle is None else cpu_idle, startup_cpu_boost=bool(startup_cpu_boost))
            # Sidecars (name, memory limit): more containers in the instance. Only one container may
            # take requests, the one that lists a port (Container.ports; Cloud Run docs, "Deploying
            # multiple containers to a service (sidecars)"), so the ingress container gets 8080.
            extra = []
            if port_name:
                # ContainerPort.name: "Allowed values are \"http1\" and \"h2c\"" (google/cloud/run_v2/types/
                # k8s_min.py); h2c is end-to-end HTTP/2, as a gRPC service is deployed (`--use-http2`).
                container.ports = [run_v2.ContainerPort(name=port_name, container_port=8080)]
            if sidecars:
                container.name = "ingress"
                container.ports = container.ports or [run_v2.ContainerPort(name="http1", container_port=8080)]
                for sidecar, sidecar_memory in sidecars:
                    extra.append(run_v2.Container(name=sidecar, image=_PLACEHOLDER_IMAGE, resources=(
                        run_v2.ResourceRequirements(limits={"memory": sidecar_memory}, cpu_idle=True)
                        if sidecar_memory else None)))
            volumes = []
            if cloudsql_instances:
                volumes.append(run_v2.Volume(name="cloudsql", cloud_sql_instance=run_v2.CloudSqlInstance(
                    instances=list(cloudsql_instances))))
                container.volume_mounts = [run_v2.VolumeMount(name="cloudsql", mount_path="/cloudsql")]
            # Secrets mounted as files (volume name, secret, mount path, (path, version) items): a Volume
            # with SecretVolumeSource (`secret`; `items` of VersionToPath `path`, `version`; none: "a file
            # whose name is the secret"), mounted by a VolumeMount (k8s.min.proto).
            for volume, secret, mount_path, items in secret_volumes:
                volumes.append(run_v2.Volume(name=volume, secret=run_v2.SecretVolumeSource(
                    secret=secret, items=[run_v2.VersionToPath(path=path, version=version) for path, version in items])))
                container.volume_mounts.append(run_v2.VolumeMount(name=volume, mount_path=mount_path))
            proto = run_v2.Revision(
                name=name, uid=str(uuid.uuid4()), generation=1, observed_generation=1, service=service,
                create_time=create_time, update_time=create_time, vpc_access=vpc_access,
                service_account=service_account,
                conditions=_conditions(conditions, create_time, ready_after), etag=_new_etag(),
                containers=[container, *extra], volumes=volumes,
                scaling=run_v2.RevisionScaling(max_instance_count=max_instance_count or SERVER_DEFAULT_MAX_INSTANCES,
                                               min_instance_count=min_instance_count or 0),
                max_instance_request_concurrency=concurrency or 0, session_affinity=session_affinity,
                creator=creator)
            if self.fills_revision_defaults:
                proto.max_instance_request_concurrency = concurrency or server_default_concurrency(cpu)
                timeout = timeout or SERVER_DEFAULT_TIMEOUT
            if execution_environment:
                # Revision.execution_environment (ExecutionEnvironment: EXECUTION_ENVIRONMENT_GEN1, _GEN2).
                proto.execution_environment = run_v2.ExecutionEnvironment[
                    f"EXECUTION_ENVIRONMENT_{execution_environment}"]
            if timeout is not None:
                proto.timeout = timeout
            self._revisions[name] = proto
            # As gcloud and the console deploy: the service's template names the new revision.
            template = _template_of(proto)
            self._templates[name] = template
            self._services[service].template = _copy(template)
            self._deployed_last(service)
            self._refresh_status(service)
            return _copy(self._revisions[name])

    def _deployed_last(self, service: str) -> None:
        """A seeded service's last write is its newest revision's deploy, by its creator (Service.last_modifier,
        update_time), dated as `deploy` dates one (`_deploy_stamp`)."""
        if service not in self._seeded_writes:
            return
        newest = max((r for r in self._revisions.values() if r.service == service), key=lambda r: r.create_time)
        stored = self._services[service]
        stored.last_modifier = newest.creator or stored.last_modifier
        stored.update_time = self._deploy_stamp(newest)

    def _deploy_stamp(self, revision: run_v2.Revision) -> datetime:
        """The service's update_time a deploy of `revision` leaves (`update_time_when_ready`)."""
        if not self.update_time_when_ready:
            return revision.create_time - DEPLOY_ASKED_BEFORE
        ready = next((c for c in revision.conditions if c.type_ == "Ready"), None)
        return ready.last_transition_time if ready is not None else revision.create_time

    def delete_service(self, name: str) -> None:
        """An out-of-band delete that has already ended (a person's `gcloud run services delete`): the service
        and every revision of it are gone ("Deletes a Service. This will cause the Service to stop serving
        traffic and will delete all revisions": Cloud Run Admin API v2, projects.locations.services.delete),
        and GET answers NOT_FOUND, as for any name the API does not hold."""
        with self.lock:
            self._require_service(name)
            del self._services[name]
            self._serving.pop(name, None)
            for revision in [r for r in self._revisions if r.startswith(f"{name}/revisions/")]:
                del self._revisions[revision]
                self._templates.pop(revision, None)

    def delete_revision(self, service: str, revision: str) -> None:
        """Deletes a revision (as DeleteRevision or the 1,000-revision limit would): it is no longer
        listed. One that the traffic split names, by share or by tag, cannot be deleted (UNCONFIRMED:
        the v2 reference names no error; Cloud Run's console and gcloud refuse to delete a
        revision that serves)."""
        with self.lock:
            name = f"{service}/revisions/{revision}"
            self._require_revision(name)
            if any(t.revision == revision for t in self._require_service(service).traffic):
                raise ValueError(f"revision {revision} is named in the traffic split and cannot be deleted")
            del self._revisions[name]
            self._templates.pop(name, None)
            self._refresh_status(service)

    def expire_revision(self, service: str, revision: str) -> None:
        """A revision deleted by Cloud Run's revision limit ("There is a maximum of 1000 revisions per service: If
        you exceed that limit, older revisions are automatically deleted", Cloud Run docs, "Manage revisions"):
        no longer listed, even while the desired split (Service.traffic) still names it, as long as it does not
        serve. Whether that automatic deletion spares a revision the split names is not documented (UNCONFIRMED):
        `delete_revision` refuses it, this deletes it, and the product is correct under both (a pin asked for is
        released either way once its revision is not listed: late_rollback.revision_gone)."""
        with self.lock:
            name = f"{service}/revisions/{revision}"
            self._require_revision(name)
            if any(t.revision == revision and t.percent for t in self._serving.get(service, [])):
                raise ValueError(f"revision {revision} serves traffic and is not deleted by the limit")
            del self._revisions[name]
            self._templates.pop(name, None)
            self._refresh_status(service)

    def set_traffic(self, service: str, traffic: Sequence[TrafficSeed], by: str | None = None,
                    at: datetime | None = None, *, audited: bool = True) -> run_v2.Service:
        """An out-of-band change (as if someone ran `gcloud run services update-traffic`): validated, bumps generation
        and etag. `by`: whose credentials made it (Service.last_modifier: a person, or a CI job's service account
        stepping a rollout); `at`: when (Service.update_time and its audit entries; the stand-in's clock's now by
        default). Audited as every other write is (`audit_into`): an UpdateService by `by` whose request carries the
        split ("Cloud Run audit logging" lists UpdateService among the Admin Activity methods; a split move is one).
        `audited=False` only for a split that is the state a scenario starts in, not a write within it (`seed`): then,
        unless `by` is given, no one's write, and the service's last_modifier and update_time are kept (what made the
        state is `seeded_last_write`'s); `by` given, a write whose audit entry is not read."""
        targets = [run_v2.TrafficTarget(type_=_LATEST if t.revision is None else _REVISION,
                                        revision=t.revision or "", percent=t.percent, tag=t.tag) for t in traffic]
        when = at or self.clock()
        written = audited or by is not None
        by = by or SEEDED_BY
        with self.lock:
            self._require_service(service)
            answer = self._apply_traffic(service, self._validated_traffic(service, targets), by, when, written)
        if audited:
            self._audited(service, by, when, {"service": {"name": service, "traffic": _split_request(targets)}})
        return answer

    def audit_into(self, logging: Any, *, clock: Callable[[], datetime] | None = None,
                   method: str = UPDATE_METHOD) -> None:
        """Every write (an out-of-band `deploy` or `set_service_max_instances`, and every UpdateService RPC, as
        `caller`) writes its Admin Activity audit entries into `logging` (a LoggingStandIn), as Cloud Run does for
        every change (AUDIT_LOG_ID above). `clock` (a callable giving an aware datetime) becomes the stand-in's one
        clock (`use_clock`); `method`: UPDATE_METHOD or REPLACE_METHOD_V1 for the out-of-band writes (an RPC is
        UpdateService, the method it is)."""
        self._audit = (logging, method)
        if clock is not None:
            self.use_clock(clock)

    def use_clock(self, clock: Callable[[], datetime]) -> None:
        """Dates everything the stand-in stamps by `clock` (the test's or the scenario's), as one clock."""
        self.clock = clock

    def _audited(self, service: str, principal: str, at: datetime, request: dict[str, Any],
                 ended: datetime | None = None) -> None:
        """An out-of-band write's two audit entries (its operation's start at `at`, its end OPERATION_TAKES later, or
        at `ended` if later: a deploy's when its revision is ready), if any."""
        if self._audit is None:
            return
        operation = self._audit_started(service, principal, at, request, self._audit[1])
        self._audit_ended(service, operation, max(at + OPERATION_TAKES, ended or at), 0, self._audit[1])

    def _audit_started(self, service: str, principal: str, at: datetime, request: dict[str, Any],
                       method: str) -> str:
        """The first entry of a write's operation (its principal and its request); the operation's id."""
        from sandbox.standins.logging import AuditSeed

        operation = f"operations/{uuid.uuid4().hex[:12]}"
        self._audit_entry(service, operation, at, method, first=True, audit=AuditSeed(
            method_name=method, resource_name=_audited_resource(service, method), principal_email=principal,
            request={"@type": f"type.googleapis.com/{method.rsplit('.', 2)[0]}."
                              f"{method.rsplit('.', 1)[1]}Request", **request}))
        return operation

    def _audit_ended(self, service: str, operation: str, at: datetime, code: int, method: str) -> None:
        """The last entry of a write's operation: its status (google.rpc.Code; 0 when it succeeded)."""
        from sandbox.standins.logging import AuditSeed

        self._audit_entry(service, operation, at, method, first=False, audit=AuditSeed(
            method_name=method, resource_name=_audited_resource(service, method), status_code=code))

    def _audit_entry(self, service: str, operation: str, at: datetime, method: str, *, first: bool,
                     audit: Any) -> None:
        from sandbox.standins.logging import EntrySeed, OperationSeed, log_name_for

        if self._audit is None:
            return
        _, project, _, location, _, short = service.split("/")
        self._audit[0].add_entry(EntrySeed(
            log_name=log_name_for(project, AUDIT_LOG_ID), resource_type="cloud_run_revision", severity="NOTICE",
            resource_labels={"project_id": project, "service_name": short, "revision_name": "",
                             "configuration_name": "", "location": location},
            timestamp=at, operation=OperationSeed(operation, "run.googleapis.com", first=first, last=not first),
            audit=audit))

    def deploy(self, service: str, revision: str, create_time: datetime, *, image: str | None = None,
               env: Sequence[tuple[str, str]] = (), by: str = SEEDED_BY,
               ready_after: timedelta = timedelta(0)) -> run_v2.Service:
        """An out-of-band deploy (as `gcloud run deploy --image`, a pipeline's, or `gcloud run services update
        --update-env-vars`, a person's): a change of the service's template ("The template used to create revisions
        for this Service", Service docstring, google-cloud-run), so a new revision, and the desired state changed:
        generation and etag move on. `by`: whose credentials (a pipeline's account, a person), named by its audit
        entries (`audit_into`), dated DEPLOY_ASKED_BEFORE its revision. The new revision is the service's newest
        one's configuration with only what is given changed: the ingress container's image, and each `env` variable set (others kept), as gcloud sends the
        template it read with its flags applied (settings not given are kept from the service's template: gcloud's
        `run deploy` reference, UNCONFIRMED in so many words). The desired split is kept, as `--no-traffic` keeps it:
        while it names revisions (a rollback's pin), the new one takes no traffic. `ready_after`: a slow start, its
        revision's Ready transition that long after its creation, when its operation ends (its last audit entry)."""
        with self.lock:
            stored = self._require_service(service)
            newest = self._revisions.get(stored.latest_created_revision)
            if newest is None:
                raise ValueError(f"{service} has no revision to deploy over")
            name = f"{service}/revisions/{revision}"
            if name in self._revisions:
                raise ValueError(f"revision {name} already exists")
            proto = _copy(newest)
            proto.name, proto.uid, proto.etag = name, str(uuid.uuid4()), _new_etag()
            proto.create_time = proto.update_time = create_time
            proto.creator = by      # Revision.creator: the deploy's caller
            proto.conditions = _conditions(READY, create_time, ready_after)
            ingress = proto.containers[0]
            if image:
                ingress.image = image
            for key, value in env:
                kept = [e for e in ingress.env if e.name != key]
                ingress.env = [*kept, run_v2.EnvVar(name=key, value=value)]
            self._revisions[name] = proto
            template = _template_of(proto)
            self._templates[name] = template
            stored.template = _copy(template)
            self._refresh_status(service)
            stored.generation += 1
            stored.observed_generation = stored.generation
            stored.etag = _new_etag()
            # The last-modified time (Service.update_time) is the deploy's own, on the stand-in's one clock: when
            # it was asked for, as its first audit entry dates it, or when it reconciled (`_deploy_stamp`), not the
            # wall time of the test that seeds it.
            stored.update_time = self._deploy_stamp(proto)
            self._seeded_writes.discard(service)
            # ... by its caller: Service.last_modifier, "Email address of the last authenticated modifier"
            # (google/cloud/run/v2/service.proto), for a template's change as for a split's.
            stored.last_modifier = by
            answer = _copy(stored)
        containers = [{"image": c.image, "env": [{"name": e.name, "value": e.value} for e in c.env]}
                      for c in proto.containers]
        self._audited(service, by, create_time - DEPLOY_ASKED_BEFORE,
                      {"service": {"name": service, "template": {"revision": revision, "containers": containers}}},
                      ended=create_time + ready_after)
        return answer

    def seeded_last_write(self, service: str, by: str, at: datetime) -> run_v2.Service:
        """Who made the write a seeded service was last changed by, and when (Service.last_modifier, update_time:
        "Email address of the last authenticated modifier", "The last-modified time", output only,
        google/cloud/run/v2/service.proto), as Cloud Run keeps them for the writes that made the state a scenario
        starts in: its revisions' deploys and the changes its audit entries record (`sandbox.scenarios.seed`). Not a
        write of its own: generation, etag and split are kept, and nothing is audited."""
        with self.lock:
            stored = self._require_service(service)
            stored.last_modifier, stored.update_time = by, at
            self._seeded_writes.discard(service)
            return _copy(stored)

    def set_service_max_instances(self, service: str, max_instance_count: int, *, by: str = SEEDED_BY,
                                  at: datetime | None = None) -> run_v2.Service:
        """An out-of-band change of the service-level max instances (Service.scaling.max_instance_count),
        as a person's update would make it: the desired state changes without a new revision or a
        traffic change, so generation and etag move on ("generation ... monotonically increases every
        time the user modifies the desired state", Service docstring, google-cloud-run), reconciled at
        once. `by`: whose credentials; `at`: when its audit entries (`audit_into`) date it (the audit clock's now
        by default)."""
        if max_instance_count < 1:
            raise ValueError(f"max_instance_count must be at least 1, got {max_instance_count}")
        when = at or self.clock()
        with self.lock:
            stored = self._require_service(service)
            stored.scaling.max_instance_count = max_instance_count   # the mode and manual count kept
            stored.generation += 1
            stored.observed_generation = stored.generation
            stored.etag = _new_etag()
            stored.update_time = when
            self._seeded_writes.discard(service)
            answer = _copy(stored)
        self._audited(service, by, when,
                      {"service": {"name": service, "scaling": {"maxInstanceCount": max_instance_count}}})
        return answer

    def touch_status(self, service: str) -> None:
        """A change to the service's status alone, with the etag moved and the generation kept: the
        reading under which a status change (reconciliation finishing) moves the etag. Whether it
        does is not documented (Service.etag: "A system-generated fingerprint for this version of
        the resource"; `generation` moves only "every time the user modifies the desired state",
        Service docstring, google-cloud-run 0.16.2), so the stand-in's own reconciliation keeps
        the etag, and the tests call this for the other reading."""
        with self.lock:
            stored = self._require_service(service)
            stored.etag = _new_etag()
            stored.update_time = self.clock()

    def reconcile(self, service: str) -> run_v2.Service:
        """The service's desired split reconciled again, nobody's update (the desired state, its generation,
        etag and last modifier kept): what serves becomes what `traffic` asks for, as after a failed
        update whose split was left desired (`failed_update_keeps_spec`) once whatever reconciles the service
        next (an instance restart, Cloud Run trying again) serves it. Whether Cloud Run retries a failed
        reconciliation on its own, and whether the etag then moves, is not documented (UNCONFIRMED:
        Service.reconciling, terminal_condition, google/cloud/run/v2/service.proto); `touch_status` gives the
        moved-etag reading. A split that cannot serve fails again, as an update's would."""
        with self.lock:
            self._require_service(service)
            self._reconcile(service)
            return _copy(self._services[service])

    def set_conditions(self, revision_name: str, conditions: Sequence[ConditionSeed]) -> None:
        """Changes a revision's conditions (e.g. it stops being Ready)."""
        with self.lock:
            revision = self._require_revision(revision_name)
            at = self.clock()
            revision.conditions = [_condition(c, at) for c in conditions]
            self._refresh_status(revision.service)

    def fail_next_operation(self, code: int = 9, message: str = "Revision failed to become ready: the "
                            "requested minimum instances could not be started in this region.") -> None:
        """The next accepted update's operation ends with `error` (google.rpc.Code `code`, FAILED_PRECONDITION by
        default) and terminal_condition CONDITION_FAILED, whatever its revisions: a reconciliation that fails
        for a reason no read before the write shows (instances that cannot start, a zonal outage). What the
        spec is afterwards is `failed_update_keeps_spec`'s reading."""
        with self.lock:
            self._failing_operations.append((code, message))

    def exhaust_quota(self, shape: str = RATE, retry_delay: float | None = None, times: int | None = None) -> None:
        """Until `restore_quota`, every UpdateService is refused RESOURCE_EXHAUSTED and nothing is applied, its
        google.rpc.Status details in the `grpc-status-details-bin` trailer (base.quota_status), in one of the
        shapes a refusal may take (`shape`):
        - RATE: the project's write requests per minute in the region used up: ErrorInfo RATE_LIMIT_EXCEEDED,
          QuotaFailure, Help to Cloud Run's quotas page and, with `retry_delay`, RetryInfo. Worded as Cloud Run's
          refusal of its read quota is seen ("Quota exceeded for quota metric 'Read requests' and limit 'Read
          requests per minute per region' of service 'run.googleapis.com' ... To request a quota increase, see
          https://cloud.google.com/run/quotas", googleapis/repo-automation-bots#4469), with writes for reads: the
          write quota's names and ids are UNCONFIRMED;
        - LIMIT: a fixed limit of the project and region (Cloud Run's quotas page: "Maximum number of revisions
          serving traffic", 4000 per project and region): ErrorInfo RESOURCE_QUOTA_EXCEEDED, QuotaFailure, Help;
          whether Cloud Run refuses a traffic update for it, and in these words, is UNCONFIRMED;
        - BARE: the same words with no details at all (google.rpc.Code fixes none).
        The product is tested under every shape. A rate quota that lasts only a while is `faults.rate_limit`.
        `times`: only the next `times` UpdateServices are refused (a quota that has room again after them, as a
        rate quota's window passing gives it), every one until `restore_quota` when None."""
        if shape not in (RATE, LIMIT, BARE):
            raise ValueError(f"exhaust_quota: shape is {RATE}, {LIMIT} or {BARE}, not {shape!r}")
        if times is not None and times < 1:
            raise ValueError(f"exhaust_quota: times is at least 1, or None for every call, not {times}")
        with self.lock:
            self._quota_refusal = _quota_refusal(shape, retry_delay)
            self._quota_refusals_left = times

    def restore_quota(self) -> None:
        with self.lock:
            self._quota_refusal, self._quota_refusals_left = None, None

    def service(self, name: str) -> run_v2.Service:
        with self.lock:
            return _copy(self._require_service(name))

    # --- Services ----------------------------------------------------------------------------

    def _get_service(self, request: run_v2.GetServiceRequest) -> run_v2.Service:
        return _copy(self._require_service(request.name))

    def _list_services(self, request: run_v2.ListServicesRequest) -> run_v2.ListServicesResponse:
        prefix = f"{request.parent}/services/"
        matching = [_copy(s) if self.list_services_whole else _summary(s)
                    for name, s in self._services.items() if name.startswith(prefix)]
        page, token = paginate(matching, request.page_size, request.page_token)
        return run_v2.ListServicesResponse(services=page, next_page_token=token)

    def _update_service(self, request: run_v2.UpdateServiceRequest) -> operations_pb2.Operation:
        if request.allow_missing:
            raise unimplemented("stand-in does not support allow_missing (service creation)")
        if request.validate_only:
            raise unimplemented("stand-in does not support validate_only")
        if self._quota_refusal is not None:   # a quota is checked before the request is served: nothing applied
            refusal = self._quota_refusal
            if self._quota_refusals_left is not None:
                self._quota_refusals_left -= 1
                if self._quota_refusals_left <= 0:
                    self._quota_refusal, self._quota_refusals_left = None, None
            raise refusal
        _check_mask_paths(list(request.update_mask.paths) if request.update_mask else [])
        incoming = request.service
        stored = self._require_service(incoming.name)
        self._check_named_template(incoming)
        self._check_traffic_only(request, stored)
        if incoming.etag and incoming.etag != stored.etag and self.stale_etag_code is not None:
            raise ApiError(self.stale_etag_code,
                           f"etag mismatch for {incoming.name}: sent {incoming.etag}, current is {stored.etag}")
        traffic = self._validated_shape(list(incoming.traffic))
        previous = _copy(stored)
        self._accept_traffic(incoming.name, traffic, self.caller)
        return self._start_operation(incoming.name, previous, self._audit_rpc(incoming.name, traffic))

    def _audit_rpc(self, service: str, traffic: list[run_v2.TrafficTarget]) -> str | None:
        """An accepted UpdateService's first audit entry, by `caller` (whose credentials made it), dated now on the
        stand-in's clock; its operation's id for the last entry (`_finish`), None when nothing is audited. Cloud
        Run writes the entry for every UpdateService, Runwarden's own among them ("Cloud Run audit logging":
        methodName google.cloud.run.v2.Services.UpdateService, authenticationInfo.principalEmail, resourceName the
        service). Before, an RPC wrote none, so a sweep never read Runwarden's own entry beside a person's."""
        if self._audit is None:
            return None
        return self._audit_started(service, self.caller, self.clock(),
                                   {"service": {"name": service, "traffic": _split_request(traffic)}}, UPDATE_METHOD)

    def _check_named_template(self, incoming: run_v2.Service) -> None:
        """A revision's name is bound to its configuration for good: a template naming an existing
        revision must be that revision's configuration exactly (pipe-cd/pipecd #2480)."""
        name = incoming.template.revision
        if not name:
            return
        existing = self._templates.get(f"{incoming.name}/revisions/{name}")
        if existing is not None and _without_name(incoming.template) != _without_name(existing):
            raise ApiError(grpc.StatusCode.ALREADY_EXISTS,
                           f"Revision named '{name}' with different configuration already exists.")

    def _check_traffic_only(self, request: run_v2.UpdateServiceRequest, stored: run_v2.Service) -> None:
        paths = list(request.update_mask.paths) if request.update_mask else []
        if paths:
            others = [p for p in paths if p != "traffic"]
            if others:
                raise unimplemented(f"stand-in supports traffic updates only; update_mask names {others}")
            return  # AIP-134: fields outside the mask are not applied
        changed = _changed_fields(request.service, stored)
        if changed:
            raise unimplemented(f"stand-in supports traffic updates only; the request changes {changed}")

    def _validated_shape(self, targets: list[run_v2.TrafficTarget]) -> list[run_v2.TrafficTarget]:
        """What the API can check at once; whether the revisions can serve is found out later."""
        if not targets:  # the API's default: everything to the latest ready revision
            return [run_v2.TrafficTarget(type_=_LATEST, percent=100)]
        total = 0
        tagged: dict[str, int] = {}
        for i, target in enumerate(targets):
            _check_shape(f"service.traffic[{i}]", target)
            total += target.percent
            if target.tag:
                _check_tag(f"service.traffic[{i}].tag", target.tag)
                if target.tag in tagged:
                    raise invalid(f'service.traffic[{i}].tag: more than one target has tag "{target.tag}" '
                                  f"(service.traffic[{tagged[target.tag]}])")
                tagged[target.tag] = i
        if total != 100:
            raise invalid(f"service.traffic: percents must sum to 100, got {total}")
        return [_copy(t) for t in targets]

    def _validated_traffic(self, service: str, targets: list[run_v2.TrafficTarget]) -> list[run_v2.TrafficTarget]:
        """Seeding only: the shape, and every named revision must exist in this service."""
        for i, target in enumerate(targets):
            if target.type_ == _REVISION and f"{service}/revisions/{target.revision}" not in self._revisions:
                raise invalid(f"service.traffic[{i}]: revision {target.revision!r} does not exist in service {service}")
        return self._validated_shape(targets)

    def _apply_traffic(self, name: str, traffic: list[run_v2.TrafficTarget], by: str,
                       at: datetime | None, written: bool = True) -> run_v2.Service:
        """Out-of-band change: reconciled at once. Not `written`: the state the world starts in, its last modifier
        and update_time kept."""
        kept = self._services[name]
        kept = (kept.last_modifier, kept.update_time, name in self._seeded_writes)
        service = self._accept_traffic(name, traffic, by, at)
        if not written:
            service.last_modifier, service.update_time, seeded = kept
            if seeded:
                self._seeded_writes.add(name)
        failure = self._reconcile(name)
        if failure is not None:
            raise invalid(failure[1])
        return _copy(service)

    def _accept_traffic(self, name: str, traffic: list[run_v2.TrafficTarget], by: str,
                        at: datetime | None = None) -> run_v2.Service:
        """The desired split is stored, generation and etag move on, `by` is the last modifier (the creator
        kept); reconciliation follows."""
        service = self._services[name]
        service.traffic = traffic
        service.generation += 1
        service.etag = _new_etag()
        service.update_time = at or self.clock()
        service.last_modifier = by
        self._seeded_writes.discard(name)
        service.reconciling = True
        return service

    def _reconcile(self, name: str) -> tuple[int, str] | None:
        """Brings serving state to the desired split, or fails leaving it as it was."""
        service = self._services[name]
        failure = self._unservable(name, list(service.traffic))
        if failure is not None:
            return self._failed(name, failure)
        service.reconciling = False
        self._serving[name] = [_copy(t) for t in service.traffic]
        service.observed_generation = service.generation
        service.terminal_condition = _ready_condition(self.clock())
        self._refresh_status(name)
        return None

    def _failed(self, name: str, failure: tuple[int, str]) -> tuple[int, str]:
        """Reconciliation over and failed: serving left as it was, terminal_condition saying why."""
        service = self._services[name]
        service.reconciling = False
        service.terminal_condition = run_v2.Condition(
            type_="Ready", state=run_v2.Condition.State.CONDITION_FAILED, message=failure[1],
            last_transition_time=self.clock(), reason=run_v2.Condition.CommonReason.REVISION_FAILED)
        self._refresh_status(name)
        return failure

    def _unservable(self, name: str, traffic: list[run_v2.TrafficTarget]) -> tuple[int, str] | None:
        for target in traffic:
            if target.type_ != _REVISION or (target.percent == 0 and not self.zero_percent_targets_checked):
                continue
            revision = self._revisions.get(f"{name}/revisions/{target.revision}")
            if revision is None:
                return MISSING_REVISION_CODE, (f"Revision '{target.revision}' does not exist or is deleted. "
                                               "Update all traffic to route to currently available revisions.")
            if not _is_ready(revision):
                return NOT_READY_CODE, (f"Revision '{target.revision}' is not ready and cannot serve traffic. "
                                        "Route traffic only to revisions that are Ready.")
        if any(t.type_ == _LATEST and t.percent for t in traffic) and not self._latest_ready(name):
            return NOT_READY_CODE, "Traffic is routed to the latest ready revision, but there is none."
        return None

    def _refresh_status(self, name: str) -> None:
        """Recomputes latest_* and traffic_statuses, resolving LATEST to the latest ready revision."""
        service = self._services[name]
        revisions = sorted((r for r in self._revisions.values() if r.service == name),
                           key=lambda r: (r.create_time, r.name))
        ready = [r for r in revisions if _is_ready(r)]
        service.latest_created_revision = revisions[-1].name if revisions else ""
        service.latest_ready_revision = ready[-1].name if ready else ""
        latest_short = service.latest_ready_revision.rsplit("/", 1)[-1] if ready else ""
        if not self.latest_status_names_revision:
            latest_short = ""
        service.traffic_statuses = [
            run_v2.TrafficTargetStatus(type_=t.type_, revision=latest_short if t.type_ == _LATEST else t.revision,
                                       percent=t.percent, tag=t.tag, uri=tag_url(service, t.tag) if t.tag else "")
            for t in self._serving.get(name, [])]

    def _latest_ready(self, name: str) -> str:
        ready = [r for r in self._revisions.values() if r.service == name and _is_ready(r)]
        return max(ready, key=lambda r: (r.create_time, r.name)).name if ready else ""

    # --- Operations --------------------------------------------------------------------------

    def _start_operation(self, service_name: str, previous: run_v2.Service,
                         audited: str | None = None) -> operations_pb2.Operation:
        location = service_name.split("/services/")[0]
        op_name = f"{location}/operations/{uuid.uuid4()}"
        injected = self._failing_operations.pop(0) if self._failing_operations else None
        self._operations[op_name] = _PendingOperation(self.lro_polls_before_done, service_name, injected=injected,
                                                      previous=previous, audited=audited)
        if self.lro_polls_before_done <= 0:
            self._finish(op_name)
        return self._operation_message(op_name)

    def _get_operation(self, request: operations_pb2.GetOperationRequest) -> operations_pb2.Operation:
        pending = self._operations.get(request.name)
        if pending is None:
            raise not_found(f"operation {request.name} not found")
        if pending.polls_left > 0:
            pending.polls_left -= 1
        elif pending.outcome is None:
            self._finish(request.name)
        return self._operation_message(request.name)

    def _finish(self, op_name: str) -> None:
        pending = self._operations[op_name]
        name = pending.service_name
        pending.error = self._failed(name, pending.injected) if pending.injected else self._reconcile(name)
        if pending.error is not None and not self.failed_update_keeps_spec:
            self._put_back(name, pending.previous)
        pending.outcome = _copy(self._services[name])
        if pending.audited is not None:     # the operation's last entry: its status
            self._audit_ended(name, pending.audited, self.clock(), pending.error[0] if pending.error else 0,
                              UPDATE_METHOD)

    def _put_back(self, name: str, previous: run_v2.Service) -> None:
        """The reading where a failed update leaves nothing desired: the spec (traffic, generation, etag) as
        before the update; the failure stays in terminal_condition."""
        service = self._services[name]
        service.traffic = list(previous.traffic)
        service.generation, service.etag = previous.generation, previous.etag

    def _operation_message(self, name: str) -> operations_pb2.Operation:
        pending = self._operations[name]
        done = pending.outcome is not None
        service = pending.outcome if done else self._services[pending.service_name]
        operation = operations_pb2.Operation(name=name, done=done, metadata=_pack(service))
        if pending.error is not None:
            operation.error.code, operation.error.message = pending.error
        elif done:
            operation.response.CopyFrom(_pack(service))
        return operation

    # --- Revisions ---------------------------------------------------------------------------

    def _get_revision(self, request: run_v2.GetRevisionRequest) -> run_v2.Revision:
        return _copy(self._require_revision(request.name))

    def _list_revisions(self, request: run_v2.ListRevisionsRequest) -> run_v2.ListRevisionsResponse:
        self._require_service(request.parent)
        mine = [r for r in self._revisions.values() if r.service == request.parent]
        # Newest first: the API promises no order, and a client that forgets to sort gets caught.
        mine.sort(key=lambda r: (r.create_time, r.name), reverse=True)
        page, token = paginate([_copy(r) for r in mine], request.page_size, request.page_token,
                               default_size=self.revisions_page_size)
        return run_v2.ListRevisionsResponse(revisions=page, next_page_token=token)

    # --- lookups -----------------------------------------------------------------------------

    def _require_service(self, name: str) -> run_v2.Service:
        service = self._services.get(name)
        if service is None:
            raise not_found(f"Resource '{name}' of kind 'SERVICE' was not found")
        return service

    def _require_revision(self, name: str) -> run_v2.Revision:
        revision = self._revisions.get(name)
        if revision is None:
            raise not_found(f"Resource '{name}' of kind 'REVISION' was not found")
        return revision


_SERVICE_FIELDS = frozenset(field.name for field in run_v2.Service.pb().DESCRIPTOR.fields)


def _check_mask_paths(paths: list[str]) -> None:
    """A path naming no field of Service, or given twice, is INVALID_ARGUMENT: "The implementation
    of any API method which has a FieldMask type field in the request should verify the included
    field paths, and return an INVALID_ARGUMENT error if any path is duplicated or unmappable"
    (google/protobuf/field_mask.proto). Only the first segment is checked here; a lowerCamel one is
    read as its snake_case field (a user sent `scaling.minInstanceCount` and was answered on
    the merits, googleapis/google-cloud-python #14259)."""
    seen: set[str] = set()
    for path in paths:
        head = re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), path.split(".", 1)[0])
        if head not in _SERVICE_FIELDS:
            raise invalid(f"update_mask: path {path!r} does not name a field of Service")
        if path in seen:
            raise invalid(f"update_mask: path {path!r} is given more than once")
        seen.add(path)


def _check_shape(field: str, target: run_v2.TrafficTarget) -> None:
    if target.type_ == _REVISION:
        if not target.revision:
            raise invalid(f"{field}.revision is required for a REVISION target")
        if "/" in target.revision:
            raise invalid(f"{field}.revision must be a short revision name, got {target.revision!r}")
    elif target.type_ == _LATEST:
        if target.revision:
            raise invalid(f"{field}: a LATEST target must not name a revision (got {target.revision!r})")
    else:
        raise invalid(f"{field}.type must be TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST or _REVISION")
    if not 0 <= target.percent <= 100:
        raise invalid(f"{field}.percent must be between 0 and 100, got {target.percent}")


# A traffic tag names its own URL (TrafficTarget.tag: "a string to be part of the URI to exclusively
# reference this target", google/cloud/run/v2/traffic_target.proto), so it must be a DNS label, and
# one tag names one target. Cloud Run's v2 reference states neither rule; Knative Serving, whose API
# Cloud Run's v1 API is, refuses both in its route validation ("not a DNS 1035 label", "Multiple
# definitions for %q"; knative/serving pkg/apis/serving/v1/route_validation.go). Taken as Cloud
# Run's behaviour on v2 too: UNCONFIRMED.
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def _check_tag(field: str, tag: str) -> None:
    if not _DNS_1035_LABEL.match(tag):
        raise invalid(f"{field}: {tag!r} is not a DNS-1035 label (lowercase letters, digits and '-', starting with "
                      "a letter, ending with a letter or digit, at most 63 characters)")


def _ready_condition(at: datetime) -> run_v2.Condition:
    return run_v2.Condition(type_="Ready", state=_SUCCEEDED, last_transition_time=at)


def _template_of(revision: run_v2.Revision) -> run_v2.RevisionTemplate:
    """The template a revision was deployed from, named after it (as gcloud deploy sends it)."""
    template = run_v2.RevisionTemplate(
        revision=revision.name.rsplit("/", 1)[-1], vpc_access=_copy(revision.vpc_access),
        containers=[_copy(c) for c in revision.containers], volumes=[_copy(v) for v in revision.volumes],
        max_instance_request_concurrency=revision.max_instance_request_concurrency,
        session_affinity=revision.session_affinity, execution_environment=revision.execution_environment)
    if revision.scaling.max_instance_count or revision.scaling.min_instance_count:
        # RevisionTemplate.scaling is the same RevisionScaling the revision keeps (revision_template.proto).
        template.scaling = run_v2.RevisionScaling(max_instance_count=revision.scaling.max_instance_count,
                                                  min_instance_count=revision.scaling.min_instance_count)
    if run_v2.Revision.pb(revision).HasField("timeout"):
        template.timeout = revision.timeout
    return template


def _without_name(template: run_v2.RevisionTemplate) -> bytes:
    unnamed = _copy(template)
    unnamed.revision = ""
    return run_v2.RevisionTemplate.serialize(unnamed)


def _is_ready(revision: run_v2.Revision) -> bool:
    return any(c.type_ == "Ready" and c.state == _SUCCEEDED for c in revision.conditions)


def _changed_fields(incoming: run_v2.Service, stored: run_v2.Service) -> list[str]:
    """Client-settable fields (other than traffic) whose value differs from the stored service."""
    if not incoming.template.revision and stored.template.revision:
        incoming = _copy(incoming)
        incoming.template.revision = stored.template.revision   # omitted: the API names it itself
    mine = {fd.name: value for fd, value in run_v2.Service.pb(incoming).ListFields()}
    theirs = {fd.name: value for fd, value in run_v2.Service.pb(stored).ListFields()}
    names = (mine.keys() | theirs.keys()) - _OUTPUT_ONLY - {"traffic", "name"}
    return sorted(n for n in names if mine.get(n) != theirs.get(n))
