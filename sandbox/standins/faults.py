"""Fault injection for the stand-ins: fail, slow down or deny chosen methods.

One `Faults` object belongs to one stand-in. The server plumbing calls `before_call`
ahead of every handler, so each stand-in (Run, Monitoring, later Logging and VPC Access)
gets the same behaviour without code of its own.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc


@dataclass
class _Failure:
    remaining: int
    code: grpc.StatusCode
    method: str | None
    message: str | None = None   # the status's message; None: "<method>: injected <CODE>"
    skip: int = 0                # matching calls let through before the failures begin
    about: str | None = None     # only calls whose request mentions it (`mentions`); None: any
    reason: str | None = None    # an ErrorInfo reason sent in the status details (`fail_next`); None: none


@dataclass
class _LostResponse:
    remaining: int
    code: grpc.StatusCode
    method: str | None


@dataclass
class _Meeting:
    """Calls that wait for each other (`Faults.meet`): the first `barrier.parties` matching calls."""

    barrier: threading.Barrier
    method: str
    about: tuple[str, ...]       # the request names one of them (`mentions`)
    mentioning: str | None       # and this too (a metric type beside a service), None: nothing more
    left: int                    # matching calls still to join

    def takes(self, method: str, request: Any) -> bool:
        return (self.left > 0 and self.method == method and mentions(request, self.about)
                and mentions(request, self.mentioning))


@dataclass(frozen=True)
class _Latency:
    seconds: float
    method: str | None


@dataclass(frozen=True)
class QuotaRefusal:
    """A rate-quota refusal as Google's front end answers it: RESOURCE_EXHAUSTED whose status details
    carry an ErrorInfo with reason RATE_LIMIT_EXCEEDED, domain googleapis.com and the service, quota
    metric and limit in its metadata (the examples of RATE_LIMIT_EXCEEDED in
    google/api/error_reason.proto), a QuotaFailure violation naming the same limit
    (google/rpc/error_details.proto: "Also see RetryInfo and Help types for other details about
    handling a quota failure"), and, when `retry_delay` is set, a RetryInfo. Whether a given API's
    quota refusal carries a RetryInfo is not documented per API (UNCONFIRMED): the stand-ins send it
    only when asked, and the product is tested with and without."""

    service: str
    quota_metric: str
    quota_limit: str
    retry_delay: float | None = None
    # ErrorInfo.reason: RATE_LIMIT_EXCEEDED, or RESOURCE_QUOTA_EXCEEDED for a quota on what a project holds ("not
    # enough resource quota for the consumer", google/api/error_reason.proto), which no wait clears.
    reason: str = "RATE_LIMIT_EXCEEDED"
    # The status message's own words, when given (an API's wording, "Quota exceeded for quota metric 'Write
    # requests' and limit ..."), else built from the metric and limit ids.
    text: str = ""
    # A google.rpc.Help link sent beside (the "Request a higher quota limit." link of the refusals quoted in
    # DefangLabs/defang#1268 and GoogleCloudPlatform/marketing-analytics-jumpstart#163), "" for none.
    help_url: str = ""

    @property
    def message(self) -> str:
        return self.text or (f"Quota exceeded for quota metric '{self.quota_metric}' and limit '{self.quota_limit}' "
                             f"of service '{self.service}' for consumer 'project_number:0'.")


@dataclass
class _RateLimit:
    until: float                # time.monotonic() until which matching calls are refused
    method: str | None
    quota: QuotaRefusal
    remaining: int | None = None    # how many more calls it refuses within the window; None: every one


@dataclass(frozen=True)
class InjectedFault:
    """What a call must fail with."""

    code: grpc.StatusCode
    message: str
    quota: QuotaRefusal | None = None   # set for a quota refusal: the details it carries
    generic: bool = False               # a PERMISSION_DENIED that names no permission (Faults.deny)
    reason: str | None = None           # an ErrorInfo reason to send in the status details (base.error_info_status)


GENERIC_DENIAL = "The caller does not have permission"


def _applies(rule_method: str | None, method: str) -> bool:
    return rule_method is None or rule_method == method


def mentions(request: Any, about: str | tuple[str, ...] | None) -> bool:
    """Whether `request` names `about` (one of them, for a tuple) in its resource (`name`, `parent`) or its
    filter: a rule aimed at one service's reads (its GetService and ListRevisions name it; its ListTimeSeries
    filter names its service_name), whichever order concurrent reads arrive in. None: any request."""
    if about is None:
        return True
    texts = [value for value in (getattr(request, field, "") for field in ("name", "parent", "filter"))
             if isinstance(value, str)]
    return any(one in text for one in ((about,) if isinstance(about, str) else about) for text in texts)


class Faults:
    """Thread-safe fault rules; `method` is the short RPC name ("UpdateService"), None = all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._latencies: list[_Latency] = []
        # Simulated seconds per page of a paged read (`slow_pages`): only the in-process transport reads them.
        self._page_latencies: list[_Latency] = []
        self._denied: set[str | None] = set()
        self._lost: list[_LostResponse] = []
        self._rate_limits: list[_RateLimit] = []
        self._unnamed: set[str | None] = set()
        self._meetings: list[_Meeting] = []
        # Calls refused RESOURCE_EXHAUSTED by a rate limit (`rate_limit`), by method: how often a write refused for
        # quota was sent again is read from it (tests/property/invariants.py, quota_refusals_sent_again_once).
        self.quota_refused: dict[str, int] = {}

    def fail_next(self, n: int, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
                  method: str | None = None, message: str | None = None, after: int = 0,
                  about: str | None = None, reason: str | None = None) -> None:
        """The next `n` matching calls fail with `code`; later calls succeed again. `message`: the status's
        message, as an API words its refusal (which may quote what it was sent: a field's value, a URL).
        `after`: that many matching calls are answered first (a fault on a read's third page: after=2).
        `about`: only calls whose request names it (`mentions`: one service's reads, say), so that a fault
        meant for one of several reads made at once finds it whatever order they arrive in.
        `reason`: the status also carries a google.rpc.ErrorInfo with this reason in its details
        (base.error_info_status), as AIP-193 asks of an error ("Any extra information should be provided in the
        details field", google.aip.dev/193); which reason an API sends with which code is UNCONFIRMED per API."""
        if n < 1 or after < 0:
            raise ValueError("fail_next needs n >= 1 and after >= 0")
        with self._lock:
            self._failures.append(_Failure(n, code, method, message, skip=after, about=about, reason=reason))

    def meet(self, method: str, about: tuple[str, ...], *, mentioning: str | None = None,
             wait: float = 10.0) -> None:
        """The next len(`about`) calls of `method` naming one of `about` (`mentioning`: naming it too) are
        each held until all of them have arrived: reads made at once meet and go on; reads made one after
        another never meet, and each fails FAILED_PRECONDITION after at most `wait` seconds, saying so. A test of
        overlap with no clock in its assertions: whether reads were in flight together, not how long they took."""
        if len(about) < 2:
            raise ValueError("meet needs at least two parties")
        with self._lock:
            self._meetings.append(_Meeting(threading.Barrier(len(about), timeout=wait), method, about, mentioning,
                                           len(about)))

    def lose_response(self, n: int, code: grpc.StatusCode = grpc.StatusCode.DEADLINE_EXCEEDED,
                      method: str | None = None) -> None:
        """The next `n` matching calls are handled (a write is applied) but answered with `code`.

        What a client sees when the server did the work and the answer was lost or came too late.
        google.rpc.Code (googleapis google/rpc/code.proto) says of DEADLINE_EXCEEDED: "For
        operations that change the state of the system, this error may be returned even if the
        operation has completed successfully. For example, a successful response from a server
        could have been delayed long enough for the deadline to expire." UNAVAILABLE and INTERNAL
        after the server acted are the same case seen through a dropped connection or a proxy.
        """
        if n < 1:
            raise ValueError("lose_response needs n >= 1")
        with self._lock:
            self._lost.append(_LostResponse(n, code, method))

    def rate_limit(self, seconds: float, method: str | None = None, *, service: str,
                   quota_metric: str = "", quota_limit: str = "ReadRequestsPerMinutePerProject",
                   retry_delay: float | None = None, times: int | None = None,
                   refusal: QuotaRefusal | None = None) -> None:
        """Matching calls are refused RESOURCE_EXHAUSTED (a QuotaRefusal, its details included) for
        the next `seconds` of wall time, as a per-minute quota refuses every call until its window
        passes, retries included; with `retry_delay`, the refusal carries that RetryInfo. `times`: only
        that many calls within the window are refused (the window's room back after them, whenever they
        arrive: a test of one refusal then a pass does not hang on how fast the first call comes).
        `refusal`: the refusal itself (its reason, words, Help link), when given; `service` and the rest unread."""
        quota = refusal or QuotaRefusal(service, quota_metric or f"{service}/read_requests", quota_limit, retry_delay)
        with self._lock:
            self._rate_limits.append(_RateLimit(time.monotonic() + seconds, method, quota, times))

    def add_latency(self, seconds: float, method: str | None = None) -> None:
        """Every matching call sleeps `seconds` before it is handled (until clear())."""
        with self._lock:
            self._latencies.append(_Latency(seconds, method))

    def slow_pages(self, seconds: float, method: str | None = None) -> None:
        """Every page of a matching paged read takes `seconds` of simulated network time (until clear()).
        Nothing sleeps: the in-process transport (sandbox/inprocess.py `Transport.call`, given the read's
        PageCursor) spends them from the read's shared deadline, so the deadline path of a read whose pages
        share the call's total (`endpoints.WaitDeadline.page_timeout`) is taken in process, where no network
        time passes. The gRPC servers do not read it (a real wait there is `add_latency`)."""
        if seconds <= 0:
            raise ValueError("slow_pages needs seconds > 0")
        with self._lock:
            self._page_latencies.append(_Latency(seconds, method))

    def page_seconds(self, method: str) -> float:
        """The simulated seconds one page of `method` takes (`slow_pages`): 0 when none is set."""
        with self._lock:
            if not self._page_latencies:
                return 0.0
            return sum(rule.seconds for rule in self._page_latencies if _applies(rule.method, method))

    def deny(self, method: str | None = None, *, named: bool = True) -> None:
        """Matching calls fail with PERMISSION_DENIED until clear(). `named`: as IAM's usual refusal,
        naming the permission in its message and an ErrorInfo; otherwise the bare "The caller does not
        have permission", no details (another shape Google's APIs answer with; UNCONFIRMED for a
        given API, google.rpc.Code fixes no wording)."""
        with self._lock:
            self._denied.add(method)
            if not named:
                self._unnamed.add(method)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._latencies.clear()
            self._page_latencies.clear()
            self._denied.clear()
            self._unnamed.clear()
            self._lost.clear()
            self._rate_limits.clear()
            self._meetings.clear()

    def before_call(self, method: str, request: Any = None) -> InjectedFault | None:
        """Sleeps for any latency, waits for the calls it is to meet, then returns the fault this call must
        raise, if any. `request`: the call's request, for the rules aimed at what it names (`about`)."""
        delay = self._take_latency(method)
        if delay:
            time.sleep(delay)
        return self._meet(method, request) or self._take_fault(method, request)

    def _meet(self, method: str, request: Any) -> InjectedFault | None:
        with self._lock:
            meeting = next((m for m in self._meetings if m.takes(method, request)), None)
            if meeting is None:
                return None
            meeting.left -= 1
        try:
            meeting.barrier.wait()
        except threading.BrokenBarrierError:
            return InjectedFault(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"{method}: fewer than {meeting.barrier.parties} calls were in flight at once")
        return None

    def _take_latency(self, method: str) -> float:
        with self._lock:
            if not self._latencies:   # as almost always: no generator to build
                return 0.0
            return sum(rule.seconds for rule in self._latencies if _applies(rule.method, method))

    def _take_fault(self, method: str, request: Any = None) -> InjectedFault | None:
        with self._lock:
            if None in self._denied or method in self._denied:
                if None in self._unnamed or method in self._unnamed:
                    return InjectedFault(grpc.StatusCode.PERMISSION_DENIED, GENERIC_DENIAL, generic=True)
                return InjectedFault(grpc.StatusCode.PERMISSION_DENIED,
                                     f"Permission denied on {method} (injected by the stand-in)")
            now = time.monotonic()
            for limit in self._rate_limits:
                if now < limit.until and _applies(limit.method, method) and limit.remaining != 0:
                    if limit.remaining is not None:
                        limit.remaining -= 1
                    self.quota_refused[method] = self.quota_refused.get(method, 0) + 1
                    return InjectedFault(grpc.StatusCode.RESOURCE_EXHAUSTED, limit.quota.message, limit.quota)
            for failure in self._failures:
                if failure.remaining > 0 and _applies(failure.method, method) and mentions(request, failure.about):
                    if failure.skip > 0:
                        failure.skip -= 1
                        continue
                    failure.remaining -= 1
                    return InjectedFault(failure.code, failure.message or f"{method}: injected {failure.code.name}",
                                         reason=failure.reason)
            return None

    def after_call(self, method: str) -> InjectedFault | None:
        """The fault a handled call must be answered with instead of its result (see lose_response)."""
        with self._lock:
            for lost in self._lost:
                if lost.remaining > 0 and _applies(lost.method, method):
                    lost.remaining -= 1
                    return InjectedFault(lost.code, f"{method}: injected {lost.code.name} after the call was handled")
            return None
