"""Server plumbing shared by every stand-in: one gRPC server per stand-in, a call log,
fault injection, and honest status errors.

A stand-in subclass declares its RPCs with `rpc(...)` entries and raises `ApiError` to
answer with a gRPC status, as the real API would.
"""
from __future__ import annotations

import contextlib
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import grpc

from sandbox.standins.faults import Faults, QuotaRefusal


class ApiError(Exception):
    """Raised by a handler to answer with a gRPC status and message."""

    def __init__(self, code: grpc.StatusCode, message: str, *, quota: QuotaRefusal | None = None,
                 permission: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.quota = quota   # a quota refusal's details (quota_status), sent in the status trailer
        # An IAM refusal of one resource (PERMISSION_DENIED): the permission, sent as iam_denial sends it.
        self.permission = permission


def denied(permission: str, resource: str) -> ApiError:
    """PERMISSION_DENIED for want of `permission` on `resource` alone (a grant per resource), as IAM refuses."""
    return ApiError(grpc.StatusCode.PERMISSION_DENIED, denial_text(permission, resource), permission=permission)


def not_found(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.NOT_FOUND, message)


def invalid(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, message)


def unimplemented(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.UNIMPLEMENTED, message)


@dataclass(frozen=True)
class Call:
    """One request the stand-in received (recorded even when a fault rejected it)."""

    method: str            # short RPC name, e.g. "UpdateService"
    request: Any           # the deserialized request message
    # Seconds the client's deadline left the call when it arrived (grpc.ServicerContext.time_remaining(),
    # None without a deadline), so a test can see what deadline a client gave each call.
    deadline: float | None = None


@dataclass(frozen=True)
class Rpc:
    """One unary RPC: the gRPC service it belongs to, its name, handler and wire codecs."""

    service: str                              # e.g. "google.cloud.run.v2.Services"
    method: str                               # e.g. "GetService"
    handler: Callable[[Any], Any]
    deserialize: Callable[[bytes], Any]
    serialize: Callable[[Any], bytes]


def paginate(items: Sequence[Any], page_size: int, page_token: str, *, default_size: int = 100) -> tuple[list[Any], str]:
    """Offset paging with opaque-looking tokens; a token we did not issue is rejected."""
    offset = 0
    if page_token:
        if not page_token.startswith("o:") or not page_token[2:].isdigit():
            raise invalid(f"page_token {page_token!r} was not issued by this server")
        offset = int(page_token[2:])
    if page_size < 0:
        raise invalid("page_size must not be negative")
    size = page_size or default_size
    page = list(items[offset:offset + size])
    next_offset = offset + size
    return page, (f"o:{next_offset}" if next_offset < len(items) else "")


def resource_of(request: Any) -> str:
    """The resource a request names (`name`, `parent`, an UpdateService's `service.name`, the first
    of `resource_names`), for an IAM refusal's text."""
    for field in ("name", "parent"):
        value = getattr(request, field, "")
        if isinstance(value, str) and value:
            return value
    service = getattr(request, "service", None)
    if service is not None and getattr(service, "name", ""):
        return service.name
    names = list(getattr(request, "resource_names", ()) or ())
    return names[0] if names else ""


def denial_text(permission: str, resource: str) -> str:
    where = f" '{resource}'" if resource else ""
    return f"Permission '{permission}' denied on resource{where} (or it may not exist)."


def iam_denial(permission: str, resource: str) -> grpc.Status:
    """PERMISSION_DENIED as Google's APIs send it over gRPC: the message names the permission and
    the resource "(or it may not exist)", and the status details (grpc-status-details-bin) carry a
    google.rpc.ErrorInfo with reason IAM_PERMISSION_DENIED, domain iam.googleapis.com and the
    permission and resource in its metadata (google/rpc/error_details.proto ErrorInfo; the shape of
    real refusals quoted in public reports, e.g. "Permission 'logging.buckets.create' denied on
    resource (or it may not exist)" with that ErrorInfo). google-api-core reads it into the
    exception's `reason`, `domain` and `metadata` (exceptions.from_grpc_error)."""
    from google.rpc import code_pb2, error_details_pb2, status_pb2

    status = status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=denial_text(permission, resource))
    status.details.add().Pack(error_details_pb2.ErrorInfo(
        reason="IAM_PERMISSION_DENIED", domain="iam.googleapis.com",
        metadata={"permission": permission, **({"resource": resource} if resource else {})}))
    # The google.rpc.Status travels whole in the `grpc-status-details-bin` trailer (what
    # grpcio-status's rpc_status.to_status builds; written out here, not a dependency).
    return _RichStatus(grpc.StatusCode.PERMISSION_DENIED, status.message,
                       (("grpc-status-details-bin", status.SerializeToString()),))


def quota_details(quota: QuotaRefusal) -> list[Any]:
    """The google.rpc details a quota refusal carries (see QuotaRefusal), as messages: ErrorInfo (RATE_LIMIT_EXCEEDED
    unless the refusal names another reason), QuotaFailure and, when set, RetryInfo and Help. Packed into the gRPC
    trailer by `quota_status`; handed as they are to the exception the in-process transport raises
    (sandbox/inprocess.py), as google-api-core unpacks them from the trailer (exceptions.from_grpc_error,
    `_parse_grpc_error_details`)."""
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2

    details: list[Any] = [
        error_details_pb2.ErrorInfo(
            reason=quota.reason, domain="googleapis.com",
            metadata={"service": quota.service, "quota_metric": quota.quota_metric, "quota_limit": quota.quota_limit,
                      "consumer": "projects/0"}),
        error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
            subject="project:0", description=quota.message)])]
    if quota.retry_delay is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(quota.retry_delay * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    if quota.help_url:
        details.append(error_details_pb2.Help(links=[error_details_pb2.Help.Link(
            description="Request a higher quota limit.", url=quota.help_url)]))
    return details


def quota_status(quota: QuotaRefusal) -> grpc.Status:
    """RESOURCE_EXHAUSTED with its details (`quota_details`) in the `grpc-status-details-bin` trailer."""
    from google.rpc import code_pb2, status_pb2

    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=quota.message)
    for detail in quota_details(quota):
        status.details.add().Pack(detail)
    return _RichStatus(grpc.StatusCode.RESOURCE_EXHAUSTED, status.message,
                       (("grpc-status-details-bin", status.SerializeToString()),))


def error_info_status(code: grpc.StatusCode, message: str, reason: str) -> grpc.Status:
    """`code` and `message` with a google.rpc.ErrorInfo (`reason`, domain googleapis.com) in the
    `grpc-status-details-bin` trailer, the shape AIP-193 gives an error's details (google.aip.dev/193;
    google/rpc/error_details.proto ErrorInfo). google-api-core unpacks it into the exception's `details`
    (exceptions.from_grpc_error), whose text then spreads over several lines (GoogleAPICallError.__str__)."""
    from google.rpc import status_pb2

    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(error_info(reason))
    return _RichStatus(code, message, (("grpc-status-details-bin", status.SerializeToString()),))


def error_info(reason: str) -> Any:
    """The google.rpc.ErrorInfo a fault with a `reason` carries (domain googleapis.com): packed into the trailer by
    `error_info_status`, handed as it is to the exception the in-process transport raises (sandbox/inprocess.py), so
    both tiers refuse with the same details."""
    from google.rpc import error_details_pb2

    return error_details_pb2.ErrorInfo(reason=reason, domain="googleapis.com")


def serve_http(server: Any, name: str) -> tuple[threading.Thread, str]:
    """An HTTP stand-in's server served on a thread of its own: the thread and "127.0.0.1:PORT". A short poll
    interval: shutdown() waits up to one interval for the loop to notice."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True)
    thread.start()
    return thread, f"127.0.0.1:{server.server_address[1]}"


def stop_http(server: Any, thread: threading.Thread | None) -> None:
    """What `serve_http` started, stopped: the loop shut down, the socket closed, the thread joined."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)


@dataclass(frozen=True)
class _RichStatus(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, bytes], ...]


class StandIn:
    """Base class: owns the gRPC server, the call log and the fault rules."""

    # The IAM permission each RPC needs (short RPC name -> permission): an injected
    # PERMISSION_DENIED names it, as IAM's real refusal does.
    permissions: dict[str, str] = {}

    def __init__(self) -> None:
        self.faults = Faults()
        self._calls: list[Call] = []
        self._calls_lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.address = ""
        # Handlers mutate state from several server threads: one lock serialises them.
        self.lock = threading.RLock()
        # Calls received and not yet answered. A client that gave up at its deadline has not stopped the server:
        # gRPC's "Deadlines" guide (grpc.io) leaves it to a server to check the deadline and give up, so a write
        # already under way may land after the client's DEADLINE_EXCEEDED (whether a Google API ever applies one
        # so is UNCONFIRMED; the product treats such a write as possibly applied either way). grpcio's server
        # runs the handler to its end. A drill waits on this count for a late write, not on a guessed sleep.
        self._in_flight = 0
        self._idle = threading.Condition(threading.Lock())

    # --- what subclasses provide ---------------------------------------------------------

    def rpcs(self) -> list[Rpc]:
        raise NotImplementedError

    # --- call log ------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._calls_lock:
            return list(self._calls)

    def count(self, method: str) -> int:
        with self._calls_lock:
            return sum(1 for call in self._calls if call.method == method)

    def requests(self, method: str) -> list[Any]:
        with self._calls_lock:
            return [call.request for call in self._calls if call.method == method]

    def deadlines(self, method: str) -> list[float | None]:
        """The deadline each `method` call arrived with (Call.deadline), in order."""
        with self._calls_lock:
            return [call.deadline for call in self._calls if call.method == method]

    def reset_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """One call from its arrival to its answer (or abort), counted for `wait_until_answered`."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def wait_until_answered(self, timeout: float) -> bool:
        """Waits until every call received has been handled, a late one's write applied; False if one is still
        in flight after `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 (port 0 = a free one); returns "127.0.0.1:PORT"."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started at {self.address}")
        # Google's APIs serve a client's concurrent calls concurrently: with 8 workers the ninth
        # Monitoring read of one evidence round (up to MAX_API_CALLS in flight, shared/diagnosis/
        # collection.py) waited here for a worker, a wait the real API does not impose.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        server.add_generic_rpc_handlers(self._generic_handlers())
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
        if bound == 0:
            raise RuntimeError(f"cannot bind 127.0.0.1:{port}")
        server.start()
        self._server = server
        self.address = f"127.0.0.1:{bound}"
        return self.address

    def stop(self, grace: float | None = 0) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def _generic_handlers(self) -> list[grpc.GenericRpcHandler]:
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for rpc in self.rpcs():
            by_service.setdefault(rpc.service, {})[rpc.method] = grpc.unary_unary_rpc_method_handler(
                self._wrap(rpc), request_deserializer=rpc.deserialize, response_serializer=rpc.serialize)
        return [grpc.method_handlers_generic_handler(service, methods) for service, methods in by_service.items()]

    def _wrap(self, rpc: Rpc) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            with self.in_flight():
                return answer(request, context)

        def answer(request: Any, context: grpc.ServicerContext) -> Any:
            with self._calls_lock:
                self._calls.append(Call(rpc.method, request, context.time_remaining()))
            fault = self.faults.before_call(rpc.method, request)
            if fault is not None:
                if fault.code == grpc.StatusCode.PERMISSION_DENIED and rpc.method in self.permissions \
                        and not fault.generic:
                    context.abort_with_status(iam_denial(self.permissions[rpc.method], resource_of(request)))
                if fault.quota is not None:
                    context.abort_with_status(quota_status(fault.quota))
                if fault.reason is not None:
                    context.abort_with_status(error_info_status(fault.code, fault.message, fault.reason))
                context.abort(fault.code, fault.message)
            try:
                with self.lock:
                    response = rpc.handler(request)
            except ApiError as err:
                if err.quota is not None:
                    context.abort_with_status(quota_status(err.quota))
                if err.permission:
                    context.abort_with_status(iam_denial(err.permission, resource_of(request)))
                context.abort(err.code, err.message)
            except Exception as exc:  # noqa: BLE001 - a stand-in bug must say what it was
                context.abort(grpc.StatusCode.INTERNAL, f"stand-in error in {rpc.method}: {exc!r}")
            lost = self.faults.after_call(rpc.method)
            if lost is not None:  # handled, but the answer never reaches the client
                context.abort(lost.code, lost.message)
            return response

        return handle
