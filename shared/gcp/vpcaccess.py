"""Serverless VPC Access v1 adapter: implements shared.ports.VpcAccessPort over REST.

The client library has no update method, so the patch goes through google-auth's
AuthorizedSession (see endpoints.vpcaccess_session). Reads retry briefly on transient faults.
The patch is not idempotent while the connector is UPDATING (a second one is refused), so it
is re-sent only when the failure proves it was never applied (connection never made, 503, and
429 once, after the wait it asks for when that fits: endpoints.quota_wait); a timeout, another 5xx (DATA_LOSS included) or a 499 CANCELLED after sending leaves the outcome unknown and raises
OutcomeUnknownError, so the gate keeps its claim and records the action for the sweep. A read-back
after an error-free operation that does not show the patch is an unknown outcome too
(NotShownAfterWriteError, `read_back`), never a permanent failure. A 429 RESOURCE_EXHAUSTED still refusing
after the call's retries is a rate quota (QuotaRefusedError, transient) only when the answer says it passes
(endpoints.passes_in_time, the one reading Cloud Run's write shares); otherwise a fixed limit (LimitReachedError,
permanent: reported once, never retried): endpoints.refused_for_quota.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from shared.errors import (UNPROVEN_WRITE_CODES, NotShownAfterWriteError, OperationEndedInError, OutcomeUnknownError,
                           PermanentError, StaleEvidenceError, TransientError)
from shared.diagnosis.evidence import Connector
from shared.gcp.endpoints import (CallPolicy, WaitDeadline, call_with_retry, refused_for_quota, retry_after_seconds,
                                  vpcaccess_session)

# Answers that prove the patch was rejected before it was processed: safe to send again within the call. A
# RESOURCE_EXHAUSTED is sent again by the quota's own rule, not the backoff: once, after the wait the answer asks
# for, when it fits in what is left of the call (endpoints.quota_wait, the rule Cloud Run's write shares); one
# still refused is then told apart: endpoints.refused_for_quota.
PATCH_RETRY_CODES = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED"})
# A PATCH while the connector is UPDATING is refused; which code says so is not documented
# (409 ABORTED, the canonical concurrency conflict, or 400 FAILED_PRECONDITION, "the system is
# not in a state required": google.rpc.Code). Both are handled the same way (docs/api-contracts.md).
BUSY_CODES = frozenset({"ABORTED", "FAILED_PRECONDITION"})

# Google's status name when an error body carries none (e.g. a proxy's HTML page). A 502 is
# UNKNOWN, not UNAVAILABLE: the request may have reached the API.
_STATUS_FOR_HTTP = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                    409: "ABORTED", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                    500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNKNOWN", 503: "UNAVAILABLE",
                    504: "DEADLINE_EXCEEDED"}
# google.rpc.Code numbers, as an operation's `error.code` carries them.
_RPC_CODE_NAMES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                   "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
                   "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")


def _settle_environment(session: Any, base_url: str) -> None:
    """Reads once what requests would read from the environment on every request, and stops it
    reading it again. With `trust_env` (the default) each request scans os.environ for proxies
    (`Session.merge_environment_settings` -> `utils.get_environ_proxies`, which honours NO_PROXY
    for the URL's host), takes a CA bundle from REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, and looks for a
    ~/.netrc (`Session.prepare_request`): about 0.25 ms of CPU a call here, on every read, patch
    and poll. Every URL this session calls is under `base_url` (one host), and a function's
    environment is fixed when the instance starts, so the same settings are set on the session
    once (requests 2.x, requests/sessions.py). A ~/.netrc entry is no longer read; the request's
    Authorization header is the credentials' own either way (AuthorizedSession.request)."""
    import os

    from requests.utils import get_environ_proxies

    for scheme, proxy in get_environ_proxies(base_url).items():
        session.proxies.setdefault(scheme, proxy)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


class _Status:
    """Quacks like grpc.StatusCode (`.name`), so shared.errors.classify and status_code read it."""

    def __init__(self, name: str) -> None:
        self.name = name


class ApiStatusError(Exception):
    """A non-2xx answer from the API, with Google's status name ("INVALID_ARGUMENT")."""

    def __init__(self, http_status: int, status: str, message: str, details: tuple[Any, ...] = (),
                 retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {http_status} {status}: {message}")
        self.http_status = http_status
        self.grpc_status_code = _Status(status)
        # The error body's `details` (google.rpc.Status.details as JSON: ErrorInfo, QuotaFailure,
        # RetryInfo ...), read as google-api-core exposes a gRPC error's (`details`).
        self.details = details
        # The answer's Retry-After header, in seconds from now (endpoints.retry_after_seconds), or None:
        # read by endpoints.retry_delay beside a RetryInfo.
        self.retry_after = retry_after


class RequestNotSent(ConnectionError):
    """The connection was never made, so the server cannot have acted on the request."""

    grpc_status_code = _Status("UNAVAILABLE")


class OutcomeUnknown(Exception):
    """The request may have reached the server, but no answer came back (timeout, reset)."""

    grpc_status_code = _Status("UNKNOWN")


class CredentialsRefused(Exception):
    """The credentials' token could not be obtained, and retrying will not get one (google-auth's
    RefreshError not `retryable`: a revoked grant, a deleted service account). The request was never
    sent. Read as UNAUTHENTICATED ("The request does not have valid authentication credentials for the
    operation", google.rpc.Code), permanent."""

    grpc_status_code = _Status("UNAUTHENTICATED")


def _credentials_failed(verb: str, resource: str, exc: BaseException) -> Exception:
    """A google-auth error raised before the request was sent. The token endpoint or metadata server
    unreachable (TransportError: "an error occurred during an HTTP request") or answering a retryable
    error (GoogleAuthError.retryable, set by google-auth for a 5xx or a temporarily unavailable token
    endpoint) is a fault that may pass: RequestNotSent, transient, and a PATCH so refused is known not
    to have been applied. Anything else: CredentialsRefused."""
    from google.auth.exceptions import TransportError

    if isinstance(exc, TransportError) or getattr(exc, "retryable", False):
        return RequestNotSent(f"{verb} {resource}: not sent, the credentials' token could not be refreshed "
                              f"({type(exc).__name__}: {exc})")
    return CredentialsRefused(f"{verb} {resource}: not sent, the credentials were refused when refreshing "
                              f"their token ({type(exc).__name__}: {exc})")


class ConnectorOperationFailed(OperationEndedInError):
    """The patch's operation finished with an error: a definite answer, unlike a poll that failed. What it
    left on the connector is not documented (OperationEndedInError): scale_connector reads it again."""


class ConnectorBusyError(TransientError):
    """A patch refused because another update of the connector is running: nothing applied."""


class VpcAccessReader:
    """The read half of VpcAccessPort: GET only. Its transport refuses any other verb, so an
    object of this class cannot change a connector (the read-only live mode is built on it)."""

    _VERBS: frozenset[str] = frozenset({"GET"})

    # The IAM permission each method's calls need (roles/vpcaccess.admin's permissions: GET
    # connector, PATCH connector, GET operation while waiting, then GET connector again).
    iam_permissions = {
        "get_connector": ("vpcaccess.connectors.get",),
        "update_connector": ("vpcaccess.connectors.get", "vpcaccess.connectors.update", "vpcaccess.operations.get"),
    }
    # update_connector's polls of its operation alone, named when a poll is refused; taken from its row, as
    # CloudRunAdapter.poll_permissions is, so the name cannot drift from the table the roles come from.
    poll_permissions = tuple(p for p in iam_permissions["update_connector"] if p.startswith("vpcaccess.operations."))

    def __init__(self, *, policy: CallPolicy = CallPolicy(), operation_timeout: float = 300.0,
                 poll_initial_delay: float = 2.0, poll_max_delay: float = 15.0) -> None:
        self._policy = policy
        self._operation_timeout = operation_timeout
        self._poll_initial_delay = poll_initial_delay
        self._poll_max_delay = poll_max_delay
        self._session: Any = None
        self._base_url = ""
        self._lock = threading.Lock()   # the instance warm-up may build the session on its own thread

    def get_connector(self, name: str) -> Connector:
        return connector_from_json(self._read(name, what=f"GetConnector {name}",
                                                    needs=self.iam_permissions["get_connector"]))

    def warm(self) -> None:
        """Opens the session now (no request is sent); idempotent and thread-safe."""
        self._connection()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _read(self, resource: str, *, what: str, needs: tuple[str, ...],
              policy: CallPolicy | None = None) -> dict[str, Any]:
        """One GET with its retries; `policy` (default the adapter's) also sets each request's timeout."""
        policy = policy or self._policy
        return call_with_retry(lambda timeout: self._send("GET", resource, timeout=timeout), what=what,
                               policy=policy, needs=needs)

    def _send(self, verb: str, resource: str, *, timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        """One HTTP call (`timeout`: the policy's call_timeout unless given); every failure leaves as an
        exception that classify() understands."""
        import requests

        if verb not in self._VERBS:
            raise PermanentError(f"{type(self).__name__} does not send {verb} (read-only)", code="READ_ONLY")
        from google.auth.exceptions import GoogleAuthError

        session, base_url = self._connection()
        try:
            response = session.request(verb, base_url + resource,
                                       timeout=self._policy.call_timeout if timeout is None else timeout, **kwargs)
        except GoogleAuthError as exc:
            # Raised by the session's credentials refreshing the token before the request is sent
            # (AuthorizedSession.request calls credentials.before_request first): nothing was sent.
            raise _credentials_failed(verb, resource, exc) from exc
        except requests.RequestException as exc:
            if _never_sent(exc):
                raise RequestNotSent(f"{verb} {resource}: connection not made ({exc})") from exc
            raise OutcomeUnknown(f"{verb} {resource}: no answer ({type(exc).__name__}: {exc}); "
                                 f"the outcome is unknown") from exc
        if not response.ok:
            raise _api_error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise OutcomeUnknown(f"{verb} {resource}: HTTP {response.status_code} with a body that is "
                                 f"not JSON") from exc

    def _connection(self) -> tuple[Any, str]:
        with self._lock:
            if self._session is None:
                session, base_url = vpcaccess_session()
                _settle_environment(session, base_url)
                self._session, self._base_url = session, base_url
            return self._session, self._base_url


class VpcAccessAdapter(VpcAccessReader):
    """VpcAccessPort over the VPC Access v1 REST API (or its stand-in, via VPCACCESS_EMULATOR_HOST)."""

    _VERBS = frozenset({"GET", "PATCH"})

    def update_connector(self, name: str, *, min_instances: int, max_instances: int,
                         machine_type: str | None = None) -> Connector:
        body, mask = patch_request(name, min_instances=min_instances, max_instances=max_instances,
                                   machine_type=machine_type)
        sent = 0

        def send(timeout: float) -> dict[str, Any]:
            nonlocal sent
            sent += 1
            return self._send("PATCH", name, timeout=timeout, params={"updateMask": mask}, json=body)

        try:
            operation = call_with_retry(send, what=f"PatchConnector {name}", policy=self._policy,
                                        retry_codes=PATCH_RETRY_CODES, quota_retry=True)
        except TransientError as exc:
            if isinstance(exc.__cause__, OutcomeUnknown):  # sent, no answer: it may have been applied
                raise OutcomeUnknownError(str(exc)) from exc
            if _code_of(exc) in BUSY_CODES:
                return self._when_busy(name, exc, min_instances, max_instances, machine_type, resent=sent > 1)
            if _code_of(exc) == "RESOURCE_EXHAUSTED":
                raise refused_for_quota(exc, "the patch") from exc.__cause__
            if _code_of(exc) not in PATCH_RETRY_CODES:
                # A 504, 500 or unnamed 5xx answer to a sent PATCH: the server may have applied it
                # ("For operations that change the state of the system, this error may be returned
                # even if the operation has completed successfully", DEADLINE_EXCEEDED in
                # google.rpc.Code). Re-sending, or letting a redelivery re-plan, could scale twice.
                raise OutcomeUnknownError(f"{exc}; the patch may have been applied") from exc
            raise
        except PermanentError as exc:
            if exc.code in BUSY_CODES:
                return self._when_busy(name, exc, min_instances, max_instances, machine_type, resent=sent > 1)
            if exc.code in UNPROVEN_WRITE_CODES:
                # Not a refusal (shared.errors UNPROVEN_WRITE_CODES: a 499 CANCELLED, a 500 DATA_LOSS): the
                # patch may have been applied, as after a 500 INTERNAL.
                raise OutcomeUnknownError(f"{exc}; the patch may have been applied") from exc
            raise
        try:
            self._wait(operation, name)
            connector = self.get_connector(name)
        except OutcomeUnknownError:
            raise
        except ConnectorOperationFailed:
            raise
        except (TransientError, PermanentError) as exc:  # accepted; following it failed (a denied poll too)
            raise OutcomeUnknownError(f"PatchConnector {name}: accepted, but could not be followed: {exc}") from exc
        return read_back(connector, min_instances, max_instances, machine_type)

    # --- helpers ---------------------------------------------------------------------------------

    def _when_busy(self, name: str, refusal: Exception, min_instances: int, max_instances: int,
                   machine_type: str | None, *, resent: bool = False) -> Connector:
        """The patch was refused (ABORTED or FAILED_PRECONDITION: the same handling for either), so this
        request changed nothing. A connector that already has what was asked was changed by another hand:
        a person's `gcloud ... connectors update` (or Terraform) that started after the caller's read and
        is running or over (its values shown during UPDATING or once READY: which, is not documented).
        That is not this write: StaleEvidenceError (TARGET_CHANGED), so the gate escalates with nothing
        held instead of answering `applied` and recording another's change as its own. Only when this
        call `resent` the patch (after an answer taken to prove the earlier send was not applied: 503,
        429) may the change be that earlier send's, landed after all: then it is returned as done.
        Otherwise, if it is UPDATING, another change is running: ConnectorBusyError, transient, so the
        event comes back when that change is over (and is diagnosed afresh); READY, that change ended
        between the refusal and this read: busy all the same. In any other state (ERROR, CREATING,
        DELETING) the refusal is permanent. Never re-sent here."""
        connector = self.get_connector(name)
        if not short_of(connector, min_instances, max_instances, machine_type):
            if resent:
                return connector
            raise StaleEvidenceError(
                f"PatchConnector {name}: refused ({_code_of(refusal) or getattr(refusal, 'code', '')}) while "
                f"another update ran, and the connector now shows min {connector.min_instances}, max "
                f"{connector.max_instances}, {connector.machine_type} ({connector.state}): another hand made that "
                "change after it was read; nothing was changed by this request", code="TARGET_CHANGED") from refusal
        message = (f"PatchConnector {name}: refused while the connector is {connector.state} ({refusal}); "
                   "nothing was changed by this request")
        if connector.state == "UPDATING":
            raise ConnectorBusyError(message) from refusal
        if connector.state == "READY":
            # Refused as busy, READY when read again: the update that refused it ended in between, leaving the
            # connector short of what was asked. Nothing was applied, and the connector may have changed: busy
            # (transient), so the event comes back and is judged afresh (the gate's read before the patch finds
            # what that update changed). Answered `failed`, the refusal read as the patch's own fault.
            raise ConnectorBusyError(
                f"PatchConnector {name}: refused ({refusal}) while another update ran, which has ended since "
                f"(now min {connector.min_instances}, max {connector.max_instances}, {connector.machine_type}, READY); "
                "nothing was changed by this request") from refusal
        raise PermanentError(message, code=getattr(refusal, "code", "") or _code_of(refusal) or "FAILED_PRECONDITION") \
            from refusal

    def _wait(self, operation: dict[str, Any], target: str) -> None:
        """Polls the operation until done, with a growing delay, for at most operation_timeout in all:
        each poll (one GET with its retries) is cut to what is left of the wait (WaitDeadline.poll_policy),
        and each sleep ends early enough to leave one poll its whole call_timeout inside the wait
        (WaitDeadline.sleep_before_poll), so an operation done during the last sleep is read as done.
        Before, a poll started just before the end ran its whole CallPolicy (past the 300 s infra/locals.tf
        counts); then the last sleep ran to the end and no poll followed it (the patch, done, was reported
        of unknown outcome)."""
        name = operation.get("name", "")
        deadline = WaitDeadline.starting(self._operation_timeout)
        delay = self._poll_initial_delay
        # Kept for the poll after each sleep: one whole call (and room for a retry of a fast failure), or
        # half the wait if the wait is shorter than two calls (test policies), so some poll is always made.
        reserve = min(self._policy.call_timeout, self._operation_timeout / 2)
        while not operation.get("done"):
            sleep = deadline.sleep_before_poll(delay, reserve)
            if sleep is None:  # the patch was accepted; only waiting for it ran out
                raise TransientError(f"PatchConnector {target}: operation {name} not done after "
                                     f"{self._operation_timeout:g}s")
            time.sleep(sleep)
            delay = min(delay * 2, self._poll_max_delay)
            operation = self._read(name, what=f"GetOperation {name} (PatchConnector {target})",
                                   needs=self.poll_permissions, policy=deadline.poll_policy(self._policy))
        _raise_operation_error(operation, target)

# --- request and response shapes ---------------------------------------------------------------


def patch_request(name: str, *, min_instances: int, max_instances: int,
                  machine_type: str | None = None) -> tuple[dict[str, Any], str]:
    """(Connector body, updateMask): min and max always together, as the API requires."""
    body: dict[str, Any] = {"name": name, "minInstances": min_instances, "maxInstances": max_instances}
    mask = ["minInstances", "maxInstances"]
    if machine_type is not None:
        body["machineType"] = machine_type
        mask.append("machineType")
    return body, ",".join(mask)


def connector_from_json(data: dict[str, Any]) -> Connector:
    """A v1 Connector (camelCase JSON) as the model; absent fields take the model's defaults
    (machineType: "Default is e2-micro")."""
    fields: dict[str, Any] = {"name": data["name"], "state": data.get("state", "STATE_UNSPECIFIED"),
                              "machine_type": data.get("machineType") or "e2-micro",
                              "network": data.get("network", ""), "ip_cidr_range": data.get("ipCidrRange", "")}
    for key, field in (("minInstances", "min_instances"), ("maxInstances", "max_instances"),
                       ("minThroughput", "min_throughput"), ("maxThroughput", "max_throughput")):
        if data.get(key) is not None:
            fields[field] = int(data[key])  # int32 may arrive as a number or a string
    # A connector created with --min/--max-throughput only: its instance range is its throughput
    # in e2-micro instances of 100 Mbps (Connector.maxThroughput "Refers to the expected throughput
    # when using an e2-micro machine type", a multiple of 100 from 300 through 1000; minThroughput
    # "Default and min is 200"; v1beta1: min a multiple of 100 from 200 through 900), never the
    # model's 2-10, which would put its limit where it is not.
    # Whether the API leaves the instance fields out for such a connector is UNCONFIRMED.
    for field, throughput in (("min_instances", "min_throughput"), ("max_instances", "max_throughput")):
        if field not in fields and fields.get(throughput):
            fields[field] = fields[throughput] // THROUGHPUT_PER_INSTANCE
    return Connector(**fields)


# Mbps of throughput per instance in the API's throughput fields (e2-micro; see connector_from_json).
THROUGHPUT_PER_INSTANCE = 100


def _api_error(response: Any) -> ApiStatusError:
    """Google's JSON error body `{"error": {"code", "message", "status", "details"}}`, or the bare HTTP status."""
    error: dict[str, Any] = {}
    try:
        payload = response.json()
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
    except ValueError:
        pass
    status = error.get("status") or _STATUS_FOR_HTTP.get(response.status_code, "UNKNOWN")
    message = error.get("message") or (response.text[:200] if response.text else response.reason)
    details = error.get("details")
    return ApiStatusError(response.status_code, status, message,
                          tuple(d for d in details if isinstance(d, dict)) if isinstance(details, list) else (),
                          retry_after_seconds(response.headers.get("Retry-After")))


def _raise_operation_error(operation: dict[str, Any], target: str) -> None:
    error = operation.get("error")
    if not error:
        return
    code = error.get("code", 2)
    name = _RPC_CODE_NAMES[code] if isinstance(code, int) and 0 <= code < len(_RPC_CODE_NAMES) else "UNKNOWN"
    # The operation has ended: it failed, and sending the same patch again is the caller's decision.
    raise ConnectorOperationFailed(f"PatchConnector {target}: operation {operation.get('name', '')} failed: "
                         f"{error.get('message', '')}", code=name)


def short_of(connector: Connector, min_instances: int, max_instances: int, machine_type: str | None) -> bool:
    """Whether `connector` lacks what a patch asked. "At least" for instances: someone scaling it
    further meanwhile still satisfies the request; the machine type only when the patch named one."""
    return (connector.min_instances < min_instances or connector.max_instances < max_instances
            or (machine_type is not None and connector.machine_type != machine_type))


def read_back(connector: Connector, min_instances: int, max_instances: int, machine_type: str | None) -> Connector:
    """The connector read right after the patch's operation finished without an error: returned if it
    has what was asked, else NotShownAfterWriteError, never a permanent failure.

    An operation that is `done` with no `error` has its "normal, successful response"
    (google.longrunning.Operation: "If true, the operation is completed, and either error or response
    is available"), so the patch took, unless the API finished it without applying it (not seen, not
    ruled out). What the read-back shows instead can be another hand's change landing as the operation
    ended: a person's `gcloud ... connectors update` (refused while the connector is UPDATING, so the
    end of Runwarden's operation is the first moment it can land), Terraform putting the machine type
    back, the connector recreated. The v1 Connector keeps no generation, etag or update time (its
    fields, VPC Access v1 REST reference, projects.locations.connectors: name, network, ipCidrRange,
    state, min/maxThroughput, connectedProjects, subnet, machineType, min/maxInstances; v1beta1 adds
    createTime and lastRestartTime, neither moved by an update), so nothing read tells the two apart. Answered as a permanent failure (UPDATE_NOT_APPLIED, as it once was), the gate gave
    the claim and the intent back and answered `failed`: a write that took, on no record. As an
    unknown outcome it is recorded, closed `escalated`, and a person is told what the connector shows
    (shared/remediation/guardrails.py, `_unknown`; docs/behaviour.md, "A write someone changed since")."""
    if not short_of(connector, min_instances, max_instances, machine_type):
        return connector
    asked = f"min {min_instances}, max {max_instances}" + (f", {machine_type}" if machine_type else "")
    raise NotShownAfterWriteError(
        f"PatchConnector {connector.name}: its operation finished without an error, but the connector read back "
        f"right after shows min {connector.min_instances}, max {connector.max_instances}, {connector.machine_type} "
        f"({connector.state}), not the {asked} asked: another hand (a person, Terraform) may have changed it as the "
        "operation ended, or the patch did not take; the connector keeps no record that tells which")


def _code_of(exc: BaseException) -> str:
    cause = exc.__cause__
    status = getattr(cause, "grpc_status_code", None)
    return getattr(status, "name", "") or ""


def _never_sent(exc: BaseException) -> bool:
    """True when the connection was never established (refused, DNS, connect timeout)."""
    from requests.exceptions import ConnectTimeout
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, ConnectTimeout):
        return True
    seen: BaseException | None = exc
    for _ in range(6):  # requests wraps urllib3's MaxRetryError, whose `reason` is the real cause
        if seen is None:
            return False
        if isinstance(seen, NewConnectionError):
            return True
        seen = _cause(seen)
    return False


def _cause(exc: BaseException) -> BaseException | None:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    first = exc.args[0] if exc.args else None
    if isinstance(first, BaseException):
        return first
    return exc.__cause__ or exc.__context__
