"""Runwarden's API adapters over the stand-ins' own state, in this process, without a socket.

The fast tier of the property tests (`make soak`, tests/property/test_fast_tier.py) runs 10^5
generated programs. Over the real client libraries each Google call costs about 1 ms, most of it
in the client library itself, not in the socket (docs/testing.md has the measurements), which is
too slow for that many programs. So this module provides the adapters one level down:

- each class here IS the product adapter (CloudRunAdapter, VpcAccessAdapter, ...), subclassed, with
  only its transport replaced: the method that would hand a request to the Google client (or to the
  HTTP session) hands the same request message to the stand-in's handler instead. Every other line
  of the adapter runs as deployed: retries (`call_with_retry`), the etag check, the operation
  handling, the check that the write took, the proto -> model conversions;
- the request crosses as bytes (serialized, then parsed by the stand-in's own deserializer), and so
  does the answer, as on the wire;
- the stand-in records the call and applies its fault rules exactly as its gRPC server does
  (`StandIn._wrap`, `VpcAccessStandIn.handle`), and a fault or an API error leaves as the exception
  class google-api-core raises for that status (`google.api_core.exceptions.from_grpc_status`), so
  the adapter's error handling sees what it sees in production.

No Google client object is built, replaced or mocked: the real clients run in the real-parts tier
(tests/property/test_invariants.py) and in tests/integration. Only tests use this module; `shared/`
never imports `sandbox/`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Callable

import grpc

from shared.gcp.endpoints import CallPolicy, PageCursor
from shared.gcp.logging import MAX_PAGE_SIZE, CloudLoggingAdapter, record_from_entry
from shared.gcp.monitoring import (DISTRIBUTION_ALIGNERS, DISTRIBUTION_REDUCERS, CloudMonitoringAdapter,
                                   IncompleteAnswerError, check_complete, describe_query, histograms_from_series,
                                   list_time_series_request, missing_evidence, result_from_series, unfinished_answer, validate_query)
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter, _api_error
from shared.diagnosis.evidence import HistogramResult, LogRecord, MetricQuery, MetricResult
from shared.errors import PermanentError, TransientError
from shared.outcomes import MAX_ATTRIBUTE_KEY_BYTES, MAX_ATTRIBUTE_VALUE_BYTES, MAX_ATTRIBUTES
from sandbox.standins.base import (ApiError, Call, Rpc, StandIn, error_info_status, iam_denial, quota_status,
                                   resource_of)
from sandbox.standins.server import StandIns
from sandbox.standins.vpcaccess import RestRequest, VpcAccessStandIn

# No backoff: nothing here waits on a network, and a soak run must not sleep. Attempts as deployed.
IN_PROCESS_POLICY = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0, max_backoff=0, total_timeout=30)
# The deployed operation wait retries an UNAVAILABLE poll until its total timeout (google-api-core
# polling with a Retry on ServiceUnavailable); without sleeping, a count of polls stands for that time.
POLL_RETRIES = 50
MAX_POLLS = 1000


def api_exception(code: Any, message: str) -> Exception:
    """The exception a google-api-core client raises for this gRPC status."""
    from google.api_core import exceptions

    return exceptions.from_grpc_status(code, message)


def _exceptions() -> Any:
    from google.api_core import exceptions

    return exceptions


def status_exception(status: Any) -> Exception:
    """The exception a google-api-core client raises for `status`, a grpc.Status the gRPC stand-ins abort with
    (base.quota_status, iam_denial, error_info_status): the google.rpc.Status in its `grpc-status-details-bin`
    trailer unpacked into `details`, its ErrorInfo into `error_info`, as exceptions.from_grpc_error does
    (`_parse_grpc_error_details`, google/api_core/exceptions.py, which unpacks each Any into the
    google/rpc/error_details.proto message its type names). One reading of the very status the server sends, so
    both tiers refuse with the same details, whatever a refusal carries."""
    from google.rpc import error_details_pb2, status_pb2

    raw = dict(status.trailing_metadata or ()).get("grpc-status-details-bin")
    details: list[Any] = []
    for packed in status_pb2.Status.FromString(raw).details if raw else ():
        kind = getattr(error_details_pb2, packed.TypeName().rsplit(".", 1)[-1], None)
        if kind is not None and packed.Unpack(detail := kind()):
            details.append(detail)
    info = next((d for d in details if isinstance(d, error_details_pb2.ErrorInfo)), None)
    return _exceptions().from_grpc_status(status.code, status.details, details=details, error_info=info)


# Answers' models by the answers' bytes (Run's answers change with every write, so it is bounded).
_CONVERTED: dict[tuple[str, Any], Any] = {}
MAX_CONVERTED = 4096


def _converted(key: tuple[str, Any], convert: Callable[[], Any]) -> Any:
    """`convert()`, a pure function of the answer in `key` (method, bytes) whose result is immutable,
    computed once per answer."""
    found = _CONVERTED.get(key)
    if found is None:
        if len(_CONVERTED) >= MAX_CONVERTED:
            _CONVERTED.clear()
        found = _CONVERTED[key] = convert()
    return found


class Transport:
    """Hands serialized requests to one gRPC stand-in's handlers, as its server would. In process, a call
    has no network to hang on, so the attempt deadline call_with_retry gives (`_timeout`) is not used."""

    def __init__(self, standin: StandIn, memo: dict[tuple[str, bytes], bytes] | None = None) -> None:
        self.standin = standin
        self._rpcs = {rpc.method: rpc for rpc in standin.rpcs()}
        # For a stand-in whose state no call changes (Monitoring, Logging: Runwarden only reads
        # them), the answer is a function of the request: `memo` keeps answers by request bytes,
        # shared by every copy of the same seeded state. The call is still logged and faults apply.
        self._memo = memo
        # Paged reads given no page because their shared deadline was spent (`page_deadline`), or whose page
        # after the first was cut at its own RPC deadline (`page_time`): read by the property harness after each
        # step (invariants.cut_reads_answered_once and the others on cut reads).
        self.deadline_spent = 0
        self._cut_lock = threading.Lock()

    def call(self, method: str, request: Any, answer: Callable[[bytes], Any], cursor: PageCursor | None = None) -> Any:
        """`request` is a proto-plus or protobuf message, or its bytes; `answer` parses the response bytes.
        `cursor`: the page of a paged read this call is (`page_deadline`)."""
        timeout = self.page_deadline(cursor)
        response = self._call(method, request, answer)
        if cursor is not None:
            self.page_time(method, cursor, timeout)
        return response

    def page_deadline(self, cursor: PageCursor | None) -> float:
        """The RPC deadline of a paged read's next page, as the deployed page loops ask it before each page
        (`PageCursor.timeout`): with the read's shared deadline spent, google-api-core's DeadlineExceeded, raised
        before any call is made (counted in `deadline_spent`). None: not a page."""
        if cursor is None:
            return 0.0
        try:
            return cursor.timeout()
        except Exception:
            with self._cut_lock:
                self.deadline_spent += 1
            raise

    def page_time(self, method: str, cursor: PageCursor, timeout: float) -> None:
        """The simulated network time of one page (`Faults.slow_pages`), spent from the read's deadline: in
        process no time passes, so the deadline is brought that much nearer (the cursor's `deadline`, a
        WaitDeadline on the monotonic clock). A page slower than its RPC deadline (`timeout`) is cut at it, as
        gRPC cuts an RPC at its deadline: DeadlineExceeded, the answer lost (from_grpc_error maps
        DEADLINE_EXCEEDED to it; google/api_core/exceptions.py). Only the read's deadline moves, not the
        retry loop's own (`call_with_retry`, on the real clock): that loop stops at its attempts instead,
        with the same error and so the same outcome (a transient fault)."""
        seconds = self.standin.faults.page_seconds(method)
        if not seconds:
            return
        spent = min(seconds, timeout)
        cursor.deadline = replace(cursor.deadline, until=cursor.deadline.until - spent)
        if seconds > timeout:
            if cursor.pages:   # cut while paging (a page taken, more to ask): counted as a spent deadline is
                with self._cut_lock:
                    self.deadline_spent += 1
            raise api_exception(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"{method}: the page took {seconds:g}s, past its {timeout:g}s deadline (simulated)")

    def _call(self, method: str, request: Any, answer: Callable[[bytes], Any]) -> Any:
        rpc = self._rpcs[method]
        if isinstance(request, bytes):
            data = request
        else:
            data = type(request).serialize(request) if hasattr(type(request), "serialize") else request.SerializeToString()
        parsed = self._parsed(rpc, method, data)
        standin = self.standin
        with standin._calls_lock:   # the call log and the faults, as StandIn._wrap does
            standin._calls.append(Call(method, parsed))
        fault = standin.faults.before_call(method, parsed)
        if fault is not None:
            # Each as StandIn._wrap aborts with it, its trailer's details read back (`status_exception`).
            if fault.code == grpc.StatusCode.PERMISSION_DENIED and method in standin.permissions \
                    and not fault.generic:
                raise status_exception(iam_denial(standin.permissions[method], resource_of(parsed)))
            if fault.quota is not None:
                raise status_exception(quota_status(fault.quota))
            if fault.reason is not None:
                raise status_exception(error_info_status(fault.code, fault.message, fault.reason))
            raise api_exception(fault.code, fault.message)
        key = (method, data)
        if self._memo is not None and key in self._memo:
            return answer(self._memo[key])
        try:
            with standin.lock:
                response = rpc.serialize(rpc.handler(parsed))
        except ApiError as err:
            # As StandIn._wrap answers it: a quota refusal's details (Run's exhaust_quota) and an IAM refusal's
            # ErrorInfo in the trailer. Before, both were dropped here: a rate quota read as a bare refusal.
            if err.quota is not None:
                raise status_exception(quota_status(err.quota)) from None
            if err.permission:
                raise status_exception(iam_denial(err.permission, resource_of(parsed))) from None
            raise api_exception(err.code, err.message) from None
        if self._memo is not None:
            self._memo[key] = response
        return answer(response)


    def forget_answers(self) -> None:
        """No more answers from, or into, the memo (shared with other copies of the same seeded state)."""
        self._memo = None

    def _parsed(self, rpc: Rpc, method: str, data: bytes) -> Any:
        """The request as the server hands it to the handler (and its call log). With a memo the
        parse is kept too: one message per distinct request, never changed by the handler or by
        whoever reads the call log."""
        if self._memo is None:
            return rpc.deserialize(data)
        key = ("parsed", method, data)
        parsed = self._memo.get(key)
        if parsed is None:
            parsed = self._memo[key] = rpc.deserialize(data)
        return parsed


class InProcessRun(CloudRunAdapter):
    """CloudRunAdapter whose GetService, ListRevisions, UpdateService and GetOperation go to the
    Run stand-in's handlers. The write path above them (etag check, retry only on UNAVAILABLE,
    the re-read, the reconciling check, `_verify_traffic`) is the adapter's own."""

    def __init__(self, standin: StandIn, *, policy: CallPolicy = IN_PROCESS_POLICY) -> None:
        super().__init__(policy=policy, poll_initial_delay=0, poll_max_delay=0)
        self._transport = Transport(standin)

    def close(self) -> None:
        pass

    def get_service(self, name: str) -> Any:
        """CloudRunAdapter.get_service, with `service_from_proto` applied once per distinct answer
        (a pure function of the answer's bytes, and a frozen model)."""
        from google.cloud import run_v2

        from shared.gcp.endpoints import call_with_retry
        from shared.gcp.run import service_from_proto

        request = run_v2.GetServiceRequest.pb()(name=name)   # plain protobuf: the same bytes, no proto-plus wrapper
        data = call_with_retry(lambda _timeout: self._transport.call("GetService", request, bytes),
                               what=f"GetService {name}", policy=self._policy)
        self._keep(name, run_v2.Service.pb().FromString(data))   # the write's body, as the adapter keeps it
        return _converted(("GetService", data), lambda: service_from_proto(run_v2.Service.deserialize(data)))

    def _read_service(self, name: str) -> Any:
        from google.cloud import run_v2

        from shared.gcp.endpoints import call_with_retry

        request = run_v2.GetServiceRequest.pb()(name=name)
        return self._keep(name, call_with_retry(
            lambda _timeout: self._transport.call("GetService", request, run_v2.Service.deserialize),
            what=f"GetService {name}", policy=self._policy))

    def list_revisions(self, service_name: str) -> list:
        from google.cloud import run_v2

        from shared.gcp.endpoints import PageCursor, call_with_retry
        from shared.gcp.run import revision_from_proto

        # As CloudRunAdapter.list_revisions reads them (shared/gcp/run_wire.py `list_revisions`): the pages share
        # the call's total across its retries (`PageCursor`, kept across attempts: a retry resumes at the page that
        # failed), each asked with the cursor's `timeout()`, so a slow page (Faults.slow_pages) spends that total
        # and a read still paging when it is spent is cut (DeadlineExceeded), as on the wire.
        cursor, taken = PageCursor.for_call(self._policy), []

        def fetch(_timeout: float) -> tuple[bytes, ...]:
            while True:   # every page, as iterating the client's pager does
                data = self._transport.call("ListRevisions", run_v2.ListRevisionsRequest.pb()(
                    parent=service_name, page_token=cursor.token), bytes, cursor=cursor)
                taken.append(data)
                cursor.took(run_v2.ListRevisionsResponse.pb().FromString(data).next_page_token)
                if not cursor.token:
                    return tuple(taken)

        def convert() -> tuple[Any, ...]:
            protos = [p for page in pages for p in run_v2.ListRevisionsResponse.deserialize(page).revisions]
            return tuple(sorted((revision_from_proto(p) for p in protos), key=lambda r: (r.create_time, r.name)))

        pages = call_with_retry(fetch, what=f"ListRevisions {service_name}", policy=self._policy)
        return list(_converted(("ListRevisions", pages), convert))

    def list_services(self, parent: str, page_size: int, page_token: str = "") -> tuple[list, str]:
        """CloudRunAdapter.list_services: one page, and the next page's token the stand-in gave."""
        from google.cloud import run_v2

        from shared.gcp.endpoints import call_with_retry
        from shared.gcp.run import service_from_proto

        request = run_v2.ListServicesRequest.pb()(parent=parent, page_size=page_size, page_token=page_token)
        page = call_with_retry(lambda _timeout: self._transport.call("ListServices", request,
                                                                     run_v2.ListServicesResponse.deserialize),
                               what=f"ListServices {parent}", policy=self._policy)
        return [service_from_proto(s) for s in page.services], page.next_page_token

    def _update_and_wait(self, request: Any, _timeout: float) -> Any:
        """As the deployed method: send the update, poll the operation (an UNAVAILABLE poll is
        retried); a finished operation with an error is `_operation_failed`; an accepted update
        that cannot be followed is OutcomeUnknownError; anything else is raised as it came."""
        from google.api_core import exceptions
        from google.cloud import run_v2
        from google.longrunning import operations_pb2

        from shared.errors import OutcomeUnknownError

        name = request.service.name
        operation = self._transport.call("UpdateService", request, operations_pb2.Operation.FromString)
        failures = polls = 0
        while not operation.done:
            polls += 1
            if polls > MAX_POLLS:
                raise OutcomeUnknownError(f"UpdateService {name}: operation {operation.name} not done")
            try:
                operation = self._transport.call("GetOperation", operations_pb2.GetOperationRequest(
                    name=operation.name), operations_pb2.Operation.FromString)
            except exceptions.ServiceUnavailable as exc:
                failures += 1
                if failures > POLL_RETRIES:
                    raise OutcomeUnknownError(f"UpdateService {name}: accepted, but operation {operation.name} "
                                              f"could not be followed: {exc}") from exc
            except exceptions.GoogleAPICallError as exc:
                from shared.errors import TransientError, classify

                if isinstance(classify(exc), TransientError):
                    raise OutcomeUnknownError(f"UpdateService {name}: accepted, but operation {operation.name} "
                                              f"could not be followed: {exc}") from exc
                raise
        if operation.HasField("error"):
            raise self._operation_failed(name, operation)
        service = run_v2.Service.pb()()
        operation.response.Unpack(service)
        return run_v2.Service.wrap(service)


class InProcessMonitoring(CloudMonitoringAdapter):
    """CloudMonitoringAdapter whose ListTimeSeries goes to the Monitoring stand-in's handler."""

    def __init__(self, standin: StandIn, *, policy: CallPolicy = IN_PROCESS_POLICY,
                 memo: dict[tuple[str, bytes], bytes] | None = None) -> None:
        super().__init__(policy=policy)
        self._transport = Transport(standin, memo)
        # Pure functions of their input, kept with the memo: a query's request bytes, an answer's models.
        shared = memo if memo is not None else {}
        self._requests: dict[str, tuple[bytes, str]] = shared.setdefault("requests", {})
        self._converted: dict[tuple[bytes, ...], tuple[Any, ...]] = shared.setdefault("series", {})

    def close(self) -> None:
        pass

    def forget_answers(self) -> None:
        """Answers are no longer kept by request (the stand-in's series changed, so an answer is no longer
        a function of the request alone); the call log and faults apply as before."""
        self._transport.forget_answers()

    def use_answers(self, memo: dict[tuple[str, bytes], bytes]) -> None:
        """Answers kept in `memo` from now on, instead of the one given at construction: the stand-in's
        series changed to a state other copies share, whose answers `memo` keeps (a function of the
        request again)."""
        self._transport._memo = memo
        self._requests = memo.setdefault("requests", {})
        self._converted = memo.setdefault("series", {})

    def query(self, query: MetricQuery) -> MetricResult:
        """CloudMonitoringAdapter.query, with `result_from_series` applied once per distinct answer
        (a pure function of the answer's bytes; proto-plus makes it the dearest step here)."""
        request, description = self._request(query)
        series = self._converted_series(query, request, (),
                                        lambda protos: result_from_series(description, protos).series)
        return MetricResult(query=description, series=series)

    def histograms(self, query: MetricQuery) -> HistogramResult:
        """CloudMonitoringAdapter.histograms, with `histograms_from_series` applied once per distinct
        answer (as `query` keeps its series)."""
        if query.aligner not in DISTRIBUTION_ALIGNERS or query.reducer not in DISTRIBUTION_REDUCERS:
            return super().histograms(query)   # refused there, with its reason
        request, description = self._request(query)
        series = self._converted_series(query, request, ("histograms",),
                                        lambda protos: histograms_from_series(description, protos).series)
        return HistogramResult(query=description, series=series)

    def _converted_series(self, query: MetricQuery, request: Any, kind: tuple[str, ...],
                          convert: Callable[[list[Any]], tuple[Any, ...]]) -> tuple[Any, ...]:
        """The answer's series, converted once per distinct answer (kept under `kind` and its pages) and
        retried as the adapter's _list is; an answer cut short is missing evidence, as there."""
        from shared.gcp.endpoints import call_with_retry

        # Kept across attempts, as the adapter's `_series` keeps its cursor and pages: a retry resumes at the page
        # a fault cut, within the call's total (`PageCursor`).
        cursor, taken = PageCursor.for_call(self._policy), []

        def read(_timeout: float) -> tuple[Any, ...]:
            answer = self._pages(request, cursor, taken)
            series = self._converted.get((*kind, *answer))
            if series is None:
                from google.cloud import monitoring_v3

                pages = [monitoring_v3.ListTimeSeriesResponse.pb().FromString(page) for page in answer]
                try:
                    check_complete(pages, query)   # as the adapter's _list: asked again whole
                except IncompleteAnswerError:
                    cursor.restart()
                    taken.clear()
                    raise
                # The adapter's conversion (a series cut across pages joined).
                series = self._converted[(*kind, *answer)] = convert([p for page in pages for p in page.time_series])
            return series

        try:
            return call_with_retry(read, what=f"ListTimeSeries {query.metric_type}", policy=self._policy)
        except IncompleteAnswerError as exc:
            raise missing_evidence(exc) from exc
        except TransientError as exc:   # as the adapter's `_series`: a read still paging at its deadline
            if not cursor.cut_short(exc):
                raise
            from google.cloud import monitoring_v3

            parsed = [monitoring_v3.ListTimeSeriesResponse.pb().FromString(page) for page in taken]
            raise unfinished_answer(query, cursor, parsed) from exc

    def _list(self, query: MetricQuery, _cursor: Any = None, _taken: Any = None) -> list[Any]:
        """The adapter's _list (its cursor and pages taken unused: in process, no page is cut)."""
        from google.cloud import monitoring_v3

        return [p for page in self._list_bytes(query)
                for p in monitoring_v3.ListTimeSeriesResponse.deserialize(page).time_series]

    def _list_bytes(self, query: MetricQuery) -> tuple[bytes, ...]:
        return self._pages(self._request(query)[0], PageCursor.for_call(self._policy), [])

    def _request(self, query: MetricQuery) -> tuple[bytes, str]:
        """The query's request bytes and its description, once validate_query has passed it: all three
        pure functions of the query, kept by its JSON (building the request costs more than answering it)."""
        key = query.model_dump_json()
        known = self._requests.get(key)
        if known is None:
            validate_query(query)
            known = self._requests[key] = (list_time_series_request(query).SerializeToString(), describe_query(query))
        return known

    def _pages(self, request: bytes, cursor: PageCursor, pages: list[bytes]) -> tuple[bytes, ...]:
        """Every page from the cursor's on, into `pages` (kept across the call's attempts), each asked within the
        read's deadline as the wire module asks it (`Transport.call` with the cursor)."""
        from google.cloud import monitoring_v3

        while True:   # every page, as list(pager) does
            if cursor.token:
                message = monitoring_v3.ListTimeSeriesRequest.pb().FromString(request)
                message.page_token = cursor.token
                asked = message.SerializeToString()
            else:
                asked = request
            data = self._transport.call("ListTimeSeries", asked, bytes, cursor)
            pages.append(data)
            cursor.took(monitoring_v3.ListTimeSeriesResponse.pb().FromString(data).next_page_token)
            if not cursor.token:
                return tuple(pages)


class InProcessLogging(CloudLoggingAdapter):
    """CloudLoggingAdapter whose ListLogEntries goes to the Logging stand-in's handler."""

    def __init__(self, standin: StandIn, *, policy: CallPolicy = IN_PROCESS_POLICY,
                 memo: dict[tuple[str, bytes], bytes] | None = None) -> None:
        super().__init__(policy=policy)
        self._transport = Transport(standin, memo)
        # A page's records (and its next page token) are a pure function of its bytes:
        # `record_from_entry` runs once per page; a request's bytes are kept by what it asks.
        shared = memo if memo is not None else {}
        self._pages: dict[bytes, tuple[tuple[LogRecord, ...], str]] = shared.setdefault("pages", {})
        self._requests: dict[tuple[str, str, int], bytes] = shared.setdefault("log_requests", {})

    def close(self) -> None:
        pass

    def _read(self, project: str, filter: str, max_entries: int, cursor: PageCursor,
              records: list[LogRecord]) -> bool:
        from google.cloud.logging_v2.types import ListLogEntriesRequest, ListLogEntriesResponse

        # The request and the page loop of CloudLoggingAdapter._read, resumed at the cursor's page as there.
        key = (project, filter, max_entries)
        request = self._requests.get(key)
        if request is None:   # building the request costs more than answering it
            request = self._requests[key] = ListLogEntriesRequest.serialize(ListLogEntriesRequest(
                resource_names=[f"projects/{project}"], filter=filter, order_by="timestamp desc",
                page_size=min(max_entries, MAX_PAGE_SIZE)))
        if cursor.token:
            message = ListLogEntriesRequest.pb().FromString(request)
            message.page_token = cursor.token
            request = message.SerializeToString()
        while True:
            data = self._transport.call("ListLogEntries", request, bytes, cursor)
            converted = self._pages.get(data)
            if converted is None:
                page = ListLogEntriesResponse.pb().FromString(data)
                converted = self._pages[data] = (tuple(record_from_entry(entry) for entry in page.entries),
                                                 page.next_page_token)
            entries, token = converted
            for record in entries:
                if len(records) == max_entries:
                    return True
                records.append(record)
            if len(records) == max_entries:
                return bool(token)
            cursor.took(token)
            if not token:
                return False
            message = ListLogEntriesRequest.pb().FromString(request)
            message.page_token = token
            request = message.SerializeToString()


class InProcessVpcAccess(VpcAccessAdapter):
    """VpcAccessAdapter whose HTTP requests go to the VPC Access stand-in's `handle`, the method
    its HTTP server calls for every request (routing, call log, faults, handler)."""

    def __init__(self, standin: VpcAccessStandIn, *, policy: CallPolicy = IN_PROCESS_POLICY) -> None:
        super().__init__(policy=policy, poll_initial_delay=0, poll_max_delay=0)
        self._standin = standin

    def close(self) -> None:
        pass

    def _send(self, verb: str, resource: str, **kwargs: Any) -> dict[str, Any]:
        import json

        from shared.errors import PermanentError

        if verb not in self._VERBS:
            raise PermanentError(f"{type(self).__name__} does not send {verb} (read-only)", code="READ_ONLY")
        body = kwargs.get("json")
        body = json.loads(json.dumps(body)) if body is not None else None   # as bytes on the wire
        status, answer = self._standin.handle(RestRequest(verb, "/v1/" + resource, dict(kwargs.get("params") or {}),
                                                          body))
        answer = json.loads(json.dumps(answer))
        if not 200 <= status < 300:
            # Read by the adapter's own reader of an error answer (`_api_error`), from the status, the body and the
            # headers the HTTP server would send (`VpcAccessStandIn.headers`): a quota refusal's details (ErrorInfo,
            # QuotaFailure, RetryInfo, Help) and its Retry-After reach the product as they do over HTTP. Handed over
            # apart, the Retry-After was lost here, and a refusal asking for a wait was sent again at once.
            raise _api_error(_Answer(status, answer, self._standin.headers(status)))
        return answer


@dataclass(frozen=True)
class _Answer:
    """A stand-in's HTTP answer as `vpcaccess._api_error` reads a requests.Response: its status, JSON body and
    headers (a dict keyed as the stand-in writes them: the one read, Retry-After, is written so)."""

    status_code: int
    body: Any
    headers: dict[str, str]

    reason = ""

    def json(self) -> Any:
        return self.body

    @property
    def text(self) -> str:
        import json

        return json.dumps(self.body)


class InProcessPublisher:
    """PublisherPort that keeps every message (topic, data, attributes) in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, dict[str, str]]] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        refused = over_limits(data, attributes)
        if refused:   # as Pub/Sub refuses it (the emulator checks none of these)
            raise PermanentError(refused, code="INVALID_ARGUMENT")
        with self._lock:
            self.messages.append((topic, bytes(data), dict(attributes)))
            return str(len(self.messages))


# Pub/Sub's "Message size (the data field): 10MB" (Pub/Sub, "Quotas and limits",
# cloud.google.com/pubsub/quotas#resource_limits; UNCONFIRMED: not checked against the page's text); the
# attribute limits are shared/outcomes.py's.
MAX_MESSAGE_BYTES = 10 * 1000 * 1000


def over_limits(data: bytes, attributes: dict[str, str]) -> str:
    """Why Pub/Sub refuses a message of `data` and `attributes` ("" when it takes it)."""
    if len(data) > MAX_MESSAGE_BYTES:
        return f"message data of {len(data)} bytes is over Pub/Sub's {MAX_MESSAGE_BYTES}-byte limit"
    if len(attributes) > MAX_ATTRIBUTES:
        return f"{len(attributes)} attributes, over Pub/Sub's {MAX_ATTRIBUTES}"
    for key, value in attributes.items():
        if len(key.encode()) > MAX_ATTRIBUTE_KEY_BYTES:
            return f"attribute key {key[:40]!r}... is over Pub/Sub's {MAX_ATTRIBUTE_KEY_BYTES}-byte limit"
        if len(value.encode()) > MAX_ATTRIBUTE_VALUE_BYTES:
            return (f"attribute {key!r}: a value of {len(value.encode())} bytes is over Pub/Sub's "
                    f"{MAX_ATTRIBUTE_VALUE_BYTES}-byte limit")
    return ""


def unstarted_standins(*, lro_polls_before_done: int = 2) -> StandIns:
    """Fresh stand-ins that serve no port: only their state, handlers, call logs and faults."""
    from sandbox.standins.logging import LoggingStandIn
    from sandbox.standins.monitoring import MonitoringStandIn
    from sandbox.standins.run import RunStandIn

    return StandIns(RunStandIn(lro_polls_before_done), MonitoringStandIn(),
                    vpcaccess=VpcAccessStandIn(lro_polls_before_done), logging=LoggingStandIn())
