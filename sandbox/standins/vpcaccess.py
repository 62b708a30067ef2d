"""Serverless VPC Access v1 stand-in over real HTTP/JSON (the connector patch has no gRPC method).

Serves, on 127.0.0.1, the three REST calls Runwarden makes, with the v1 camelCase shapes:

    GET   /v1/projects/P/locations/L/connectors/C                 -> GetConnector
    PATCH /v1/projects/P/locations/L/connectors/C?updateMask=...  -> PatchConnector (an Operation)
    GET   /v1/projects/P/locations/L/operations/OP                -> GetOperation

It enforces the update constraints of gcloud's `connectors update`: allowed
machine types, instance ranges, min and max given together, scale-up only, throughput not
updatable. Errors use Google's JSON error body and HTTP codes. A patch on an UPDATING connector
answers 409 ABORTED by default: the canonical code for a concurrency conflict. Which code the
real API uses is not documented (docs/api-contracts.md, open questions), so `busy_code` switches
it to FAILED_PRECONDITION (HTTP 400) and tests run the adapter under both.
"""
from __future__ import annotations

import copy
import json
import re
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import grpc

from sandbox.standins.base import Call, StandIn, quota_details, serve_http, stop_http
from sandbox.standins.faults import Faults, QuotaRefusal
from sandbox.standins.run import project_number

MACHINE_TYPES = ("e2-micro", "f1-micro", "e2-standard-4")
STATES = ("READY", "CREATING", "DELETING", "ERROR", "UPDATING")
MIN_INSTANCES = (2, 9)
MAX_INSTANCES = (3, 10)

CONNECTOR_TYPE = "type.googleapis.com/google.cloud.vpcaccess.v1.Connector"
METADATA_TYPE = "type.googleapis.com/google.cloud.vpcaccess.v1.OperationMetadata"
# Same form as the documented ...Connectors.CreateConnector; the patch's exact value is unconfirmed.
PATCH_METHOD = "google.cloud.vpcaccess.v1.Connectors.PatchConnector"
# The other reading of the audit methodName: the gRPC service's name (google.cloud.vpcaccess.v1.
# VpcAccessService, vpc_access.proto). Which one the audit log carries is UNCONFIRMED.
PATCH_METHOD_GRPC = "google.cloud.vpcaccess.v1.VpcAccessService.PatchConnector"
AUDIT_LOG_ID = "cloudaudit.googleapis.com/activity"

_CONNECTOR_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/connectors/[a-z][-a-z0-9]{0,23}[a-z0-9]$")
_CONNECTOR_PATH = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/connectors/[^/]+)$")
_OPERATION_PATH = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/operations/[^/]+)$")

_UPDATABLE = ("minInstances", "maxInstances", "machineType")
_NOT_UPDATABLE = frozenset({"minThroughput", "maxThroughput", "network", "ipCidrRange", "subnet"})
_OUTPUT_ONLY = frozenset({"name", "state", "connectedProjects"})
_FIELDS = frozenset(_UPDATABLE) | _NOT_UPDATABLE | _OUTPUT_ONLY
# How Compute Engine words the two limits a connector's scale-up can meet (its instances are VMs in the
# connector's range or subnet): an address range with no free IP ("IP_SPACE_EXHAUSTED", Compute Engine's
# operation error code) and a regional quota ("Quota 'CPUS' exceeded. Limit: 24.0 in region us-central1.",
# Compute Engine's QUOTA_EXCEEDED message). Whether VPC Access passes either on in these words is UNCONFIRMED:
# the product reads the status and its details, never the message.
NO_FREE_IP = "IP space of '{range}' is exhausted: no free IP address for another connector instance."
QUOTA_LIMIT = "Quota 'CPUS' exceeded. Limit: 24.0 in region {region}."
_PERMISSIONS = {"GetConnector": "vpcaccess.connectors.get", "PatchConnector": "vpcaccess.connectors.update",
                "GetOperation": "vpcaccess.operations.get"}

# google.rpc.Code -> HTTP status, as Google's REST front end maps them.
_HTTP_FOR_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401, grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ABORTED: 409, grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.DATA_LOSS: 500, grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
_CODE_FOR_HTTP = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
                  403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND,
                  409: grpc.StatusCode.ABORTED, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
                  500: grpc.StatusCode.INTERNAL, 501: grpc.StatusCode.UNIMPLEMENTED,
                  503: grpc.StatusCode.UNAVAILABLE, 504: grpc.StatusCode.DEADLINE_EXCEEDED}


class HttpError(Exception):
    """Raised by a handler to answer with Google's JSON error body: google.rpc.Status as the REST
    front end writes it, `{"error": {"code": HTTP status, "message", "status": the google.rpc.Code
    name, "details": [Any, ...]}}` (AIP-193 / cloud.google.com/apis/design/errors, "HTTP mapping";
    Status in the v1 discovery document). `details` is left out when empty, as Google's answers do."""

    def __init__(self, code: grpc.StatusCode, message: str, details: tuple[dict[str, Any], ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return _HTTP_FOR_CODE.get(self.code, 500)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.http_status, "message": self.message, "status": self.code.name}
        if self.details:
            error["details"] = [copy.deepcopy(d) for d in self.details]
        return {"error": error}


BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


def _invalid(message: str, field: str = "") -> HttpError:
    """INVALID_ARGUMENT; with `field`, a google.rpc.BadRequest naming it (FieldViolation.field: "A
    path that leads to a field in the request body", google/rpc/error_details.proto), as Google's
    front end answers a bad field ("Invalid JSON payload received. Unknown name ... at 'connector'")."""
    details = ({"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": field, "description": message}]},) \
        if field else ()
    return HttpError(grpc.StatusCode.INVALID_ARGUMENT, message, details)


def permission_denied(permission: str, resource: str) -> HttpError:
    """IAM's refusal as Google's APIs answer it: the message names the permission and the resource
    "(or it may not exist)", and an ErrorInfo carries reason IAM_PERMISSION_DENIED with the
    permission and resource in its metadata (google/rpc/error_details.proto ErrorInfo; the shape of
    real 403 answers quoted in public reports, e.g. terraform's "Error 403: Permission
    'logging.buckets.create' denied on resource (or it may not exist)" with that ErrorInfo)."""
    return HttpError(grpc.StatusCode.PERMISSION_DENIED,
                     f"Permission '{permission}' denied on resource '//vpcaccess.googleapis.com/{resource}' "
                     "(or it may not exist).",
                     ({"@type": ERROR_INFO_TYPE, "reason": "IAM_PERMISSION_DENIED", "domain": "iam.googleapis.com",
                       "metadata": {"permission": permission, "resource": resource}},))


def quota_exceeded(quota: QuotaRefusal) -> HttpError:
    """A quota refusal in the JSON error body: 429 RESOURCE_EXHAUSTED with the details the gRPC stand-ins put in
    the status trailer (base.quota_details, one builder for both: the ErrorInfo with the refusal's own reason, the
    QuotaFailure and, when set, the RetryInfo and the Help link), each an Any in proto3 JSON with its `@type`
    (json_format: a Duration written as seconds with an "s" suffix), as a REST answer's google.rpc.Status writes its
    `details[]`: "An object containing fields of an arbitrary type. An additional field "@type" contains a URI
    identifying the type" (the Status type's JSON representation, Google Cloud REST references, e.g. "Status" of
    cloud.google.com/bigquery/docs/reference/datatransfer/rest/v1/Status). Built apart, the REST refusal had lost the
    refusal's reason (RESOURCE_QUOTA_EXCEEDED read as a rate quota) and its Help link."""
    from google.protobuf import any_pb2, json_format

    details = []
    for detail in quota_details(quota):
        packed = any_pb2.Any()
        packed.Pack(detail)
        details.append(json_format.MessageToDict(packed))
    return HttpError(grpc.StatusCode.RESOURCE_EXHAUSTED, quota.message, tuple(details))


class HttpFaults(Faults):
    """`Faults` whose `fail_next` also takes an HTTP status (503, 429, ...) for the REST stand-in."""

    def fail_next(self, n: int, code: grpc.StatusCode | int = grpc.StatusCode.UNAVAILABLE,
                  method: str | None = None) -> None:
        if isinstance(code, int):
            if code not in _CODE_FOR_HTTP:
                raise ValueError(f"cannot inject HTTP {code}; use one of {sorted(_CODE_FOR_HTTP)}")
            code = _CODE_FOR_HTTP[code]
        super().fail_next(n, code, method)


@dataclass(frozen=True)
class RestRequest:
    """What the stand-in received, as the call log records it."""

    verb: str                       # GET | PATCH | ...
    path: str                       # without the query string
    params: dict[str, str]          # query parameters (repeated ones joined with ",")
    body: Any                       # decoded JSON, or None

    @property
    def update_mask(self) -> str:
        return self.params.get("updateMask", "")


@dataclass
class _Operation:
    name: str
    target: str
    create_time: str
    polls_left: int
    changes: dict[str, Any]         # camelCase field -> new value, applied when the operation ends
    error: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None   # the values before, when shown at once (updating_shows_new_values)
    end_time: str = ""
    done: bool = False


UNPARSEABLE: Any = object()  # RestRequest.body when the request body was not JSON


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class VpcAccessStandIn(StandIn):
    """In-memory VPC Access: connectors and their update operations, served over HTTP."""

    def __init__(self, lro_polls_before_done: int = 2) -> None:
        super().__init__()
        self.faults: HttpFaults = HttpFaults()
        self.lro_polls_before_done = lro_polls_before_done
        # The answer to a PATCH on an UPDATING connector (UNCONFIRMED which one the API gives).
        self.busy_code: grpc.StatusCode = grpc.StatusCode.ABORTED
        # How a PATCH without updateMask is read ("all modifiable fields are updated"): the fields
        # the body sets (False) or every updatable field, absent ones reset (True). See _changes.
        self.empty_mask_updates_all = False
        # What a GET of an UPDATING connector shows: the values before the running update (False) or its
        # new values at once (True). Not documented either way (Connector: state UPDATING, "Connector is
        # being updated"); the product must be right under both.
        self.updating_shows_new_values = False
        # What a patch whose operation ends with an `error` leaves on the connector. Not documented: the
        # Operation says only that `error` is "the error result of the operation in case of failure"
        # (google/longrunning/operations.proto), and a failed create is left behind ("Operation failed: ...
        # Please delete the connector manually", hashicorp/terraform-provider-google#16690), so an update
        # need not be undone either. "before" (the default): the values before, READY; "changes": the
        # update's values, READY (it took, then a later step failed); "error": the values before, in state
        # ERROR ("Connector is in a bad state, manual deletion recommended", Connector.State). The product
        # must be right under all three (tests/integration/test_scale_connector_action.py).
        self.failed_update_leaves: str = "before"
        # A Retry-After header sent with every 429 and 503 answer, as written ("5", or an HTTP-date), or none
        # (None, the default). HTTP lets a server send one with a 503 or a 429 (RFC 9110 section 10.2.3,
        # "Retry-After = HTTP-date / delay-seconds"; RFC 6585 section 4 for 429); whether Google's REST front end
        # ever does for VPC Access is UNCONFIRMED (its documented hint is a RetryInfo in the body), so the
        # product must honour either.
        self.retry_after: str | None = None
        self._connectors: dict[str, dict[str, Any]] = {}
        self._operations: dict[str, _Operation] = {}
        self._failing_operations: list[tuple[grpc.StatusCode, str]] = []
        # While set (`exhaust_room`), a patch that asks for more room (a higher min or max, a machine type) is
        # refused 429 RESOURCE_EXHAUSTED with this message and no details: a fixed limit, not a rate quota.
        self._no_room: str | None = None
        self._http: _Server | None = None
        self._thread: threading.Thread | None = None
        self._audit: _AuditSink | None = None

    # --- lifecycle (HTTP instead of the base class's gRPC server) -----------------------------

    def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 (port 0 = a free one); returns "127.0.0.1:PORT"."""
        if self._http is not None:
            raise RuntimeError(f"VpcAccessStandIn already started at {self.address}")
        server = _Server(("127.0.0.1", port), _handler_for(self))
        self._http = server
        self._thread, self.address = serve_http(server, "vpcaccess-standin")
        return self.address

    def stop(self, grace: float | None = 0) -> None:
        stop_http(self._http, self._thread)
        if self._http is not None:
            self._http.drop_connections()
        self._http, self._thread = None, None

    # --- seeding and inspection (direct, no HTTP) ----------------------------------------------

    def add_connector(self, name: str, *, machine_type: str = "e2-micro", min_instances: int = 2,
                      max_instances: int = 10, state: str = "READY", network: str = "default",
                      ip_cidr_range: str = "10.8.0.0/28", min_throughput: int | None = None,
                      max_throughput: int | None = None) -> dict[str, Any]:
        """A connector as the API would show it; values must be ones the API could hold."""
        if not _CONNECTOR_NAME.match(name):
            raise ValueError(f"connector name must be projects/P/locations/L/connectors/C "
                             f"(C: 1-25 of a-z, 0-9, '-'), got {name!r}")
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        try:
            _check_values({"minInstances": min_instances, "maxInstances": max_instances, "machineType": machine_type})
        except HttpError as err:
            raise ValueError(err.message) from None
        connector: dict[str, Any] = {
            "name": name, "network": network, "ipCidrRange": ip_cidr_range, "state": state,
            "minInstances": min_instances, "maxInstances": max_instances, "machineType": machine_type}
        if min_throughput is not None:
            connector["minThroughput"] = min_throughput
        if max_throughput is not None:
            connector["maxThroughput"] = max_throughput
        with self.lock:
            if name in self._connectors:
                raise ValueError(f"connector {name} already exists")
            self._connectors[name] = connector
            return copy.deepcopy(connector)

    def connector(self, name: str) -> dict[str, Any]:
        """The stored connector (camelCase, as GET returns it, without @type)."""
        with self.lock:
            if name not in self._connectors:
                raise KeyError(name)
            return copy.deepcopy(self._connectors[name])

    def set_connector(self, name: str, **fields: Any) -> dict[str, Any]:
        """An out-of-band update that has already ended (a person's `gcloud compute networks
        vpc-access connectors update`, its operation done): the stored connector takes `fields`
        (camelCase, e.g. maxInstances=4) at once, with no operation of this stand-in's and no call
        logged. The v1 Connector has no etag, so nothing else marks the change."""
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise ValueError(f"not Connector fields: {sorted(unknown)}")
        with self.lock:
            self._connectors[name].update(fields)
            return copy.deepcopy(self._connectors[name])

    def delete_connector(self, name: str) -> None:
        """An out-of-band delete that has already ended (a person's `gcloud compute networks vpc-access
        connectors delete`, its operation done): the connector is gone, and GET answers NOT_FOUND, as for
        any name the API does not hold."""
        with self.lock:
            del self._connectors[name]

    def set_state(self, name: str, state: str) -> None:
        """An out-of-band state change (e.g. someone else's update starts or ends)."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        with self.lock:
            self._connectors[name]["state"] = state

    def fail_next_operation(self, code: grpc.StatusCode = grpc.StatusCode.INTERNAL,
                            message: str = "connector update failed (injected by the stand-in)") -> None:
        """The next accepted patch ends with `error` set; the connector is then left as
        `failed_update_leaves` says (by default unchanged, READY)."""
        with self.lock:
            self._failing_operations.append((code, message))

    def exhaust_room(self, message: str = "") -> None:
        """Until `make_room`, every patch that asks for more room is refused at the call: 429 RESOURCE_EXHAUSTED
        carrying `message` (NO_FREE_IP for the connector's range by default) and no ErrorInfo, RetryInfo or
        QuotaFailure, as a fixed limit would answer (google.rpc.Code RESOURCE_EXHAUSTED: "Some resource has been
        exhausted, perhaps a per-user quota, or perhaps the entire file system is out of space"). Which shape
        VPC Access really gives is UNCONFIRMED. A rate quota is `faults.rate_limit`; an accepted patch whose
        operation then ends with code 8 is `fail_next_operation(grpc.StatusCode.RESOURCE_EXHAUSTED, ...)`."""
        with self.lock:
            self._no_room = message or ""

    def make_room(self) -> None:
        with self.lock:
            self._no_room = None

    def audit_into(self, logging: Any, principal: str, *, clock: Callable[[], datetime] | None = None,
                   method: str = PATCH_METHOD) -> None:
        """Every accepted PATCH writes its Admin Activity audit entries into `logging` (a
        LoggingStandIn), as the real API writes them to `cloudaudit.googleapis.com/activity`: a
        long-running operation's first entry when it starts (operation.first, the caller's
        principalEmail, the request) and its last when it ends (operation.last, the status).
        Operations "usually generate two audit log entries: one when the operation starts and
        another when it ends" (Cloud Run audit logging page; for VPC Access UNCONFIRMED, and so
        is whether the last entry names the principal: it does not here, readers merge the two).

        The stand-in authenticates nobody, so every call is `principal`'s: give the identity
        the calling code runs as. `clock` stamps the entries (the test's clock, when it pins one);
        `method` is the methodName, PATCH_METHOD or PATCH_METHOD_GRPC (UNCONFIRMED which)."""
        self._audit = _AuditSink(logging, principal, clock or (lambda: datetime.now(timezone.utc)), method)

    # --- routing -------------------------------------------------------------------------------

    def route(self, verb: str, path: str) -> tuple[str, Callable[[RestRequest, str], dict[str, Any]], str] | None:
        """(method name, handler, resource name) for a request, or None for an unknown URL."""
        if match := _CONNECTOR_PATH.match(path):
            handlers = {"GET": ("GetConnector", self._get_connector),
                        "PATCH": ("PatchConnector", self._patch_connector)}
        elif match := _OPERATION_PATH.match(path):
            handlers = {"GET": ("GetOperation", self._get_operation)}
        else:
            return None
        if verb not in handlers:
            raise HttpError(grpc.StatusCode.UNIMPLEMENTED, f"the stand-in does not implement {verb} {path}")
        method, handler = handlers[verb]
        return method, handler, match.group(1)

    def handle(self, request: RestRequest) -> tuple[int, dict[str, Any]]:
        """Routes, records, applies faults and runs the handler: (HTTP status, JSON body)."""
        with self.in_flight():
            return self._handle(request)

    def _handle(self, request: RestRequest) -> tuple[int, dict[str, Any]]:
        try:
            routed = self.route(request.verb, request.path)
            if routed is None:
                raise HttpError(grpc.StatusCode.NOT_FOUND, f"The requested URL {request.path} was not found")
            method, handler, name = routed
            with self._calls_lock:
                self._calls.append(Call(method, request))
            self._raise_injected_fault(method, name)
            with self.lock:
                body = handler(request, name)
            lost = self.faults.after_call(method)
            if lost is not None:  # handled, but the answer never reaches the client
                raise HttpError(lost.code, lost.message)
            return 200, body
        except HttpError as err:
            return err.http_status, err.body()
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must say what it was
            err = HttpError(grpc.StatusCode.INTERNAL, f"stand-in error: {exc!r}")
            return err.http_status, err.body()

    def headers(self, status: int) -> dict[str, str]:
        """The headers an answer of `status` carries beside its JSON body: a Retry-After with a 429 or a 503 while
        `retry_after` is set. One rule for the HTTP server and the fast tier's in-process transport
        (sandbox/inprocess.py InProcessVpcAccess), so a refusal carries the same wait in both."""
        return {"Retry-After": self.retry_after} if status in (429, 503) and self.retry_after is not None else {}

    def _raise_injected_fault(self, method: str, name: str) -> None:
        fault = self.faults.before_call(method)
        if fault is None:
            return
        if fault.code == grpc.StatusCode.PERMISSION_DENIED and not fault.generic:  # worded like IAM's refusal
            raise permission_denied(_PERMISSIONS[method], name)
        if fault.quota is not None:
            raise quota_exceeded(fault.quota)
        raise HttpError(fault.code, fault.message)

    # --- connectors ------------------------------------------------------------------------------

    def _get_connector(self, request: RestRequest, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._require_connector(self._by_id(name)))

    def _by_id(self, name: str) -> str:
        """`name` with its project, when written by number, as the id of the project the stand-ins number so
        (run.project_number), if a connector is stored under it. A Google resource name may give the project by
        id or number ("{project} can be project id or number", VpcAccess.connector, google/cloud/run/v2/
        vendor_settings.proto, which names a connector to Cloud Run); that GetConnector itself resolves a number,
        and which form its Connector.name then answers with, the VPC Access reference does not say (projects.
        locations.connectors.get: "name=projects/*/locations/*/connectors/*"): UNCONFIRMED. Here it resolves,
        and answers with the name as stored (by id)."""
        parts = name.split("/")
        if name in self._connectors or len(parts) != 6 or not parts[1].isdigit():
            return name
        with_id = [stored for stored in self._connectors
                   if stored.split("/")[2:] == parts[2:] and str(project_number(stored.split("/")[1])) == parts[1]]
        return with_id[0] if len(with_id) == 1 else name

    def _patch_connector(self, request: RestRequest, name: str) -> dict[str, Any]:
        stored = self._require_connector(name)
        body = _connector_body(request.body, name)
        changes = _changes(body, _parse_mask(request.update_mask), stored, self.empty_mask_updates_all)
        _check_values(changes, stored)
        _check_state(stored, self.busy_code)
        _check_scale_up(changes, stored)
        self._check_room(changes, stored, name)
        stored["state"] = "UPDATING"
        answer = self._start_operation(name, changes)
        if self.updating_shows_new_values:
            self._operations[answer["name"]].previous = {field: stored.get(field) for field in changes}
            stored.update(changes)
        if self._audit is not None:
            self._audit.started(self._operations[answer["name"]], request.body)
        return answer

    def _check_room(self, changes: dict[str, Any], stored: dict[str, Any], name: str) -> None:
        """More room: more instances (min or max raised; lowered is refused before, `_check_scale_up`) or another
        machine type (its instances are new VMs, each needing an address while the old ones drain: UNCONFIRMED,
        the docs say nothing of a change of type's addresses; any change of type is taken to need room)."""
        grows = (any(changes.get(field, stored.get(field)) > stored.get(field) for field in ("minInstances",
                                                                                         "maxInstances"))
                 or changes.get("machineType", stored.get("machineType")) != stored.get("machineType"))
        if self._no_room is not None and grows:
            where = stored.get("ipCidrRange") or (stored.get("subnet") or {}).get("name") or name
            raise HttpError(grpc.StatusCode.RESOURCE_EXHAUSTED, self._no_room or NO_FREE_IP.format(range=where))

    # --- operations ------------------------------------------------------------------------------

    def _start_operation(self, target: str, changes: dict[str, Any]) -> dict[str, Any]:
        location = target.split("/connectors/")[0]
        operation = _Operation(name=f"{location}/operations/{uuid.uuid4()}", target=target,
                               create_time=_timestamp(), polls_left=self.lro_polls_before_done, changes=changes)
        if self._failing_operations:
            code, message = self._failing_operations.pop(0)
            operation.error = {"code": code.value[0], "message": message}
        self._operations[operation.name] = operation
        return self._operation_json(operation)

    def _get_operation(self, request: RestRequest, name: str) -> dict[str, Any]:
        operation = self._operations.get(name)
        if operation is None:
            raise HttpError(grpc.StatusCode.NOT_FOUND, f"Operation {name} not found")
        if not operation.done:
            if operation.polls_left > 0:
                operation.polls_left -= 1
            else:
                self._finish(operation)
        return self._operation_json(operation)

    def _finish(self, operation: _Operation) -> None:
        connector = self._connectors[operation.target]
        if operation.error is None or self.failed_update_leaves == "changes":
            connector.update(operation.changes)
        elif operation.previous is not None:   # shown at once, and the update failed: back as it was
            connector.update(operation.previous)
        failed_in_error = operation.error is not None and self.failed_update_leaves == "error"
        connector["state"] = "ERROR" if failed_in_error else "READY"
        operation.done, operation.end_time = True, _timestamp()
        if self._audit is not None:
            self._audit.ended(operation)

    def _operation_json(self, operation: _Operation) -> dict[str, Any]:
        metadata = {"@type": METADATA_TYPE, "method": PATCH_METHOD, "createTime": operation.create_time,
                    "target": operation.target}
        if operation.end_time:
            metadata["endTime"] = operation.end_time
        body: dict[str, Any] = {"name": operation.name, "metadata": metadata}
        if operation.done:   # proto3 JSON leaves a field at its default (false) out of the answer
            body["done"] = True
        if operation.done and operation.error is not None:
            body["error"] = dict(operation.error)
        elif operation.done:
            body["response"] = {"@type": CONNECTOR_TYPE, **copy.deepcopy(self._connectors[operation.target])}
        return body

    def _require_connector(self, name: str) -> dict[str, Any]:
        connector = self._connectors.get(name)
        if connector is None:
            raise HttpError(grpc.StatusCode.NOT_FOUND, f"Connector {name} not found")
        return connector


# --- patch validation (module functions: pure, each one rule) ----------------------------------


def _connector_body(body: Any, name: str) -> dict[str, Any]:
    if body is UNPARSEABLE:
        raise _invalid("Invalid JSON payload received. The body is not valid JSON.")
    if not isinstance(body, dict):
        raise _invalid("Invalid JSON payload received. The request body must be a Connector object.")
    for key in body:
        if key not in _FIELDS:
            raise _invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at 'connector': Cannot find field.",
                           "connector")
    if body.get("name") not in (None, "", name):
        raise _invalid(f"connector.name {body['name']!r} does not match the resource in the URL ({name})",
                       "connector.name")
    return body


def _parse_mask(mask: str) -> list[str]:
    """updateMask paths in camelCase (snake_case accepted, as FieldMask's JSON mapping does)."""
    paths = [_camel(p.strip()) for p in mask.split(",") if p.strip()]
    for path in paths:
        if path in _NOT_UPDATABLE:
            raise _invalid(f"updateMask: field '{path}' cannot be updated; only minInstances, maxInstances "
                           f"and machineType can (throughput is not updatable)", "updateMask")
        if path in _OUTPUT_ONLY:
            raise _invalid(f"updateMask: field '{path}' is output only or immutable", "updateMask")
        if path not in _UPDATABLE:
            raise _invalid(f"updateMask: unknown field '{path}' in Connector", "updateMask")
    return paths


def _camel(path: str) -> str:
    head, *rest = path.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _changes(body: dict[str, Any], mask: list[str], stored: dict[str, Any],
             empty_mask_updates_all: bool = False) -> dict[str, Any]:
    """The new values the patch asks for. A masked field absent from the body means its default
    (0 or ""), as with any FieldMask. An empty mask: "If absent or empty, all modifiable fields are
    updated" (connectors.patch updateMask, v1 discovery document). Read as AIP-134 reads a missing
    mask (the fields the body sets), or, with `empty_mask_updates_all`, literally: every updatable
    field takes the body's value or its default (machineType "Default is e2-micro", Connector)."""
    if mask:
        return {path: body.get(path, "" if path == "machineType" else 0) for path in mask}
    if empty_mask_updates_all:
        return {field: body.get(field, "e2-micro" if field == "machineType" else 0) for field in _UPDATABLE}
    for field in _NOT_UPDATABLE:  # an echoed GET is fine; a different value is a change we refuse
        if field in body and body[field] != stored.get(field):
            raise _invalid(f"connector.{field} cannot be updated; only minInstances, maxInstances "
                           f"and machineType can (throughput is not updatable)", f"connector.{field}")
    changes = {field: body[field] for field in _UPDATABLE if field in body}
    if not changes:
        raise _invalid("nothing to update: give minInstances and maxInstances, or machineType")
    return changes


def _as_int(field: str, value: Any) -> int:
    # proto3 JSON accepts an int32 as a number or a decimal string.
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
        raise _invalid(f"Invalid value at 'connector.{field}' (TYPE_INT32), {json.dumps(value)}", f"connector.{field}")
    return int(value)


def _check_values(changes: dict[str, Any], stored: dict[str, Any] | None = None) -> None:
    """Absolute rules: machine type, ranges, min < max, min and max given together."""
    if "machineType" in changes and changes["machineType"] not in MACHINE_TYPES:
        raise _invalid(f"connector.machineType {changes['machineType']!r} is not supported; "
                       f"use one of {', '.join(MACHINE_TYPES)}", "connector.machineType")
    has_min, has_max = "minInstances" in changes, "maxInstances" in changes
    if has_min != has_max:
        given, missing = ("minInstances", "maxInstances") if has_min else ("maxInstances", "minInstances")
        raise _invalid(f"{missing} must be updated together with {given}", f"connector.{missing}")
    if not has_min:
        return
    low, high = _as_int("minInstances", changes["minInstances"]), _as_int("maxInstances", changes["maxInstances"])
    changes["minInstances"], changes["maxInstances"] = low, high
    if not MIN_INSTANCES[0] <= low <= MIN_INSTANCES[1]:
        raise _invalid(f"connector.minInstances must be between {MIN_INSTANCES[0]} and {MIN_INSTANCES[1]}, got {low}",
                       "connector.minInstances")
    if not MAX_INSTANCES[0] <= high <= MAX_INSTANCES[1]:
        raise _invalid(f"connector.maxInstances must be between {MAX_INSTANCES[0]} and {MAX_INSTANCES[1]}, got {high}",
                       "connector.maxInstances")
    if low >= high:
        raise _invalid(f"connector.minInstances ({low}) must be lower than connector.maxInstances ({high})",
                       "connector.minInstances")


def _check_state(stored: dict[str, Any], busy_code: grpc.StatusCode = grpc.StatusCode.ABORTED) -> None:
    state = stored["state"]
    if state == "UPDATING":
        raise HttpError(busy_code,
                        f"Connector {stored['name']} is being updated by another operation; retry when it is READY")
    if state != "READY":
        raise HttpError(grpc.StatusCode.FAILED_PRECONDITION,
                        f"Connector {stored['name']} is in state {state}; only a READY connector can be updated")


def _check_scale_up(changes: dict[str, Any], stored: dict[str, Any]) -> None:
    """Relative rule: instances can only be raised (gcloud: "≥ the currently set" min and max)."""
    for field in ("minInstances", "maxInstances"):
        if field in changes and changes[field] < stored[field]:
            raise _invalid(f"connector.{field} can only be increased: requested {changes[field]}, "
                           f"currently {stored[field]}", f"connector.{field}")


# --- HTTP plumbing ------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Tracks open connections so that stop() also ends keep-alive ones: a stopped stand-in
    must refuse the next request, as a crashed API would, not keep serving on an old socket."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer


def _handler_for(standin: VpcAccessStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a requests.Session expects
        disable_nagle_algorithm = True  # headers and body are two writes: avoid the 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the call log is the record

        def _serve(self) -> None:
            status, body = self._answer()
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            for name, value in standin.headers(status).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _answer(self) -> tuple[int, dict[str, Any]]:
            url = urlsplit(self.path)
            params = {k: ",".join(v) for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = UNPARSEABLE  # refused by the handler, after the call is recorded
            return standin.handle(RestRequest(self.command, url.path, params, body))

    return Handler


@dataclass
class _AuditSink:
    """Where and as whom a connector's Admin Activity audit entries are written (audit_into)."""

    logging: Any
    principal: str
    clock: Callable[[], datetime]
    method: str

    def started(self, operation: _Operation, request: Any) -> None:
        self._write(operation, first=True)(principal_email=self.principal,
                                           request=request if isinstance(request, dict) else None)

    def ended(self, operation: _Operation) -> None:
        code = int(operation.error["code"]) if operation.error else 0
        self._write(operation, first=False)(status_code=code)

    def _write(self, operation: _Operation, *, first: bool) -> Callable[..., None]:
        from sandbox.standins.logging import AuditSeed, EntrySeed, OperationSeed, log_name_for

        project = operation.target.split("/")[1]
        service = "vpcaccess.googleapis.com"

        def write(**audit: Any) -> None:
            # audited_resource is Logging's generic monitored resource type; which one VPC Access
            # entries carry is UNCONFIRMED (as in sandbox/scenario_logs.py).
            self.logging.add_entry(EntrySeed(
                log_name=log_name_for(project, AUDIT_LOG_ID), timestamp=self.clock(), severity="NOTICE",
                resource_type="audited_resource",
                resource_labels={"project_id": project, "service": service, "method": self.method},
                audit=AuditSeed(method_name=self.method, resource_name=operation.target, service_name=service,
                                **audit),
                operation=OperationSeed(operation.name, service, first=first, last=not first)))

        return write
