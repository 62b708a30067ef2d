"""Client factories and the call policy shared by the Google adapters.

With `RUN_EMULATOR_HOST` / `MONITORING_EMULATOR_HOST` set (host:port), a client talks
plaintext gRPC to that address (a local stand-in); otherwise it is the default client with
Application Default Credentials. Google libraries are imported inside the functions, to
keep cold starts short.
"""
from __future__ import annotations

import importlib
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from shared.errors import (LimitReachedError, PermanentError, QuotaRefusedError, RunwardenError, TransientError,
                           classify)
from shared.remediation.refusals import read_permission_advice
from shared.status_text import field as _field   # a detail's field, protobuf or proto3 JSON (either spelling)

if TYPE_CHECKING:
    from google.auth.transport.requests import AuthorizedSession

RUN_EMULATOR_ENV = "RUN_EMULATOR_HOST"

# What the adapters in shared/gcp import on first use: the client factories here and in
# firestore.py and pubsub.py, and what their calls and answers need (errors, retries, the LRO
# poll, the audit log and severity protos). Importing these is most of a cold start, so the
# instance warm-up imports them ahead, in the background (functions/runtime.py).
# tests/integration/test_cold_start.py holds this list to the code: once these are imported,
# handling an alert imports no other Google or gRPC module.
#
# In two parts. FIRST_WRITE_LIBRARIES: what an alert needs before its first write (the state,
# the evidence and the write itself). OUTCOME_LIBRARIES: Pub/Sub, needed only to publish the
# outcome, after the write (shared/pipeline.py publishes once, at the end of every path). A
# scale-from-zero instance imports the second part after the first (functions/runtime.py,
# "the deferred part"), so the first write does not wait for it.
FIRST_WRITE_LIBRARIES = (
    "grpc", "requests", "google.auth", "google.auth.credentials", "google.auth.exceptions",
    "google.auth.transport.requests", "google.api_core.exceptions", "google.api_core.retry",
    "google.api_core.future.polling", "google.protobuf.field_mask_pb2", "google.protobuf.json_format",
    "google.rpc.code_pb2", "google.cloud.run_v2", "google.cloud.run_v2.services.services.transports",
    "google.cloud.run_v2.services.revisions.transports", "google.cloud.monitoring_v3",
    "google.cloud.monitoring_v3.services.metric_service.transports",
    "google.cloud.logging_v2.services.logging_service_v2",
    "google.cloud.logging_v2.services.logging_service_v2.transports", "google.cloud.logging_v2.types",
    "google.cloud.audit.audit_log_pb2", "google.logging.type.log_severity_pb2", "google.cloud.firestore",
    "google.cloud.firestore_v1.field_path", "google.cloud.secretmanager_v1",
    "google.cloud.secretmanager_v1.services.secret_manager_service.transports",
)
OUTCOME_LIBRARIES = ("google.cloud.pubsub_v1", "google.cloud.pubsub_v1.publisher.exceptions")
CLIENT_LIBRARIES = FIRST_WRITE_LIBRARIES + OUTCOME_LIBRARIES


def import_client_libraries(names: tuple[str, ...] = CLIENT_LIBRARIES) -> None:
    """Imports `names` (no client is built, no channel opened: safe before a fork)."""
    for name in names:
        importlib.import_module(name)


MONITORING_EMULATOR_ENV = "MONITORING_EMULATOR_HOST"

T = TypeVar("T")


def _insecure_channel(host: str) -> Any:
    # client_options with an api_endpoint alone would open TLS and hang on a plaintext server.
    # A local server can stop and another start on the same port (a restarted stand-in or
    # emulator). gRPC shares subchannels process-wide by target, so a new channel could inherit
    # the old connection's reconnect backoff and fail with "Connection refused" although the new
    # server is up; a local subchannel pool per channel avoids that ("grpc.use_local_subchannel_pool",
    # GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL in gRPC core's grpc_types.h).
    import grpc

    return grpc.insecure_channel(host, options=[("grpc.use_local_subchannel_pool", 1)])


def run_services_client() -> Any:
    from google.cloud import run_v2

    host = os.environ.get(RUN_EMULATOR_ENV)
    if host:
        from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

        return run_v2.ServicesClient(transport=ServicesGrpcTransport(channel=_insecure_channel(host)))
    return run_v2.ServicesClient()


def run_revisions_client() -> Any:
    from google.cloud import run_v2

    host = os.environ.get(RUN_EMULATOR_ENV)
    if host:
        from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport

        return run_v2.RevisionsClient(transport=RevisionsGrpcTransport(channel=_insecure_channel(host)))
    return run_v2.RevisionsClient()


def metric_service_client() -> Any:
    from google.cloud import monitoring_v3

    host = os.environ.get(MONITORING_EMULATOR_ENV)
    if host:
        from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

        return monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=_insecure_channel(host)))
    return monitoring_v3.MetricServiceClient()


LOGGING_EMULATOR_ENV = "LOGGING_EMULATOR_HOST"


def logging_client() -> Any:
    """The Cloud Logging v2 GAPIC client (LOGGING_EMULATOR_HOST: plaintext gRPC to the stand-in)."""
    from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client

    host = os.environ.get(LOGGING_EMULATOR_ENV)
    if host:
        from google.cloud.logging_v2.services.logging_service_v2.transports import LoggingServiceV2GrpcTransport

        return LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=_insecure_channel(host)))
    return LoggingServiceV2Client()


SECRET_MANAGER_EMULATOR_ENV = "SECRET_MANAGER_EMULATOR_HOST"


def secret_manager_regional_endpoint(location: str) -> str:
    """Secret Manager's regional endpoint for `location` (Secret Manager docs, "Secret Manager locations",
    "Regional endpoints for Secret Manager"; shared/gcp/secretmanager.py quotes them)."""
    return f"secretmanager.{location}.rep.googleapis.com"


def secret_manager_client(location: str = "") -> Any:
    """The Secret Manager v1 GAPIC client (SECRET_MANAGER_EMULATOR_HOST: plaintext gRPC to the stand-in,
    sandbox/standins/secretmanager.py, which serves every location). Only GetSecretVersion is called on it
    (metadata: the version's state), never AccessSecretVersion (its payload). `location`: the client of that
    location's regional endpoint, secretmanager.LOCATION.rep.googleapis.com (shared/gcp/secretmanager.py
    cites it), for its regional secrets; "" the global endpoint."""
    from google.cloud.secretmanager_v1 import SecretManagerServiceClient

    host = os.environ.get(SECRET_MANAGER_EMULATOR_ENV)
    if host:
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
            SecretManagerServiceGrpcTransport)

        return SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=_insecure_channel(host)))
    if location:
        return SecretManagerServiceClient(client_options={"api_endpoint": secret_manager_regional_endpoint(location)})
    return SecretManagerServiceClient()


def connect(transport: Any, timeout: float = 2.0) -> None:
    """Opens a GAPIC gRPC transport's connection now, ahead of its first call, and waits for it
    at most `timeout` seconds. A channel connects lazily, on its first RPC; `grpc.channel_ready_future`
    asks it to connect and resolves once it is READY ("Creates a Future that tracks when a Channel
    is ready", grpc Python reference). If it does not get there in time, nothing changes: the
    first call connects, or fails, as it always did."""
    connect_channel(transport.grpc_channel, timeout)


def connect_channel(channel: Any, timeout: float = 2.0) -> None:
    """`connect`, for a gRPC channel itself."""
    import grpc

    ready = grpc.channel_ready_future(channel)
    try:
        ready.result(timeout=timeout)
    except grpc.FutureTimeoutError:
        ready.cancel()


# --- Serverless VPC Access (REST: the connector patch has no gRPC method) ---------------------

VPCACCESS_EMULATOR_ENV = "VPCACCESS_EMULATOR_HOST"
VPCACCESS_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def vpcaccess_session() -> tuple[AuthorizedSession, str]:
    """(session, base URL ending in "/v1/"). With VPCACCESS_EMULATOR_HOST: plain http to the
    stand-in, anonymous credentials; otherwise the real endpoint with Application Default Credentials."""
    from google.auth.transport.requests import AuthorizedSession

    host = os.environ.get(VPCACCESS_EMULATOR_ENV)
    if host:
        from google.auth.credentials import AnonymousCredentials

        return AuthorizedSession(AnonymousCredentials()), f"http://{host}/v1/"
    import google.auth

    credentials, _ = google.auth.default(scopes=list(VPCACCESS_SCOPES))
    return AuthorizedSession(credentials), "https://vpcaccess.googleapis.com/v1/"


# --- call policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallPolicy:
    """How an adapter calls an API: a per-call deadline and a short, bounded retry.

    The GAPIC clients' own retries are switched off (retry=None) so this is the only one.
    `total_timeout` bounds the whole call, its retries, their sleeps and every attempt's own deadline
    included (`call_with_retry`): so a call with its retries is counted at `longest_run` seconds.
    """

    call_timeout: float = 10.0      # seconds, per RPC (cut to what is left of total_timeout)
    attempts: int = 3               # total tries, the first included
    initial_backoff: float = 0.2    # seconds, doubled after each failure
    max_backoff: float = 2.0
    total_timeout: float = 30.0     # the whole call ends within this many seconds, its retries included
    # A retry starts only if more than this (or call_timeout, if shorter) is left of total_timeout after its
    # sleep: an attempt cut to a sliver would only time out. A choice, not a Google figure: a GET or a write
    # that returns an operation normally answers well within it (UNCONFIRMED as a latency bound).
    min_attempt: float = 2.0
    # The longest wait before a write refused by a rate quota is sent again within its call (`quota_wait`); a
    # longer one is left to the message's redelivery. The gate reads the kill switch and a pause before the
    # write only: a wait within the call is a window in which one engaged is not read (as the backoff's
    # `max_backoff` is), so it is kept as short. A choice, not a Google figure.
    longest_quota_wait: float = 2.0

    def __post_init__(self) -> None:
        if not (self.call_timeout > 0 and self.total_timeout > 0):
            raise ValueError(f"CallPolicy: call_timeout ({self.call_timeout}) and total_timeout "
                             f"({self.total_timeout}) must be positive: they are deadlines")

    @property
    def useful_attempt(self) -> float:
        """The least time a retry must have left to be started (`min_attempt`, at most one call_timeout)."""
        return min(self.min_attempt, self.call_timeout)

    @property
    def longest_run(self) -> float:
        """The longest one call_with_retry of single-RPC attempts may run under this policy: every sleep
        and every attempt's deadline is cut to what is left of total_timeout, and no more than `attempts`
        attempts of call_timeout each, with the longest backoff between them, are made. The budgets count
        this (sweep_budget.py, tests/infra/test_settings.py), so a change to the policy moves them;
        tests/unit/test_call_retry.py drives the loop to it. A read that follows page tokens (ListLogEntries,
        ListTimeSeries, ListRevisions) is bounded by it too: its pages, and its retries, share the call's
        total_timeout (`PageCursor`)."""
        return min(self.total_timeout, self.attempts * self.call_timeout + (self.attempts - 1) * self.max_backoff)


@dataclass(frozen=True)
class WaitDeadline:
    """The end of one wait on the monotonic clock, so every poll or attempt in it, and every retry of
    a poll, is given only what is left of it.

    Why: a wait counted as `seconds` in the function's budget (infra/locals.tf, sweep_budget.py) is only
    that long if its last poll cannot run past the end. Given its own full timeout, a poll that hangs
    near the end stretched the wait by that timeout (Cloud Run's: up to 120 s more; a VPC Access poll,
    one call with its retries, 42 s more). call_with_retry's own budget (total_timeout) is one too.
    Pure: `now` is a time.monotonic() reading, passed by tests."""

    until: float       # time.monotonic() when the wait is over
    seconds: float     # the wait's whole length, for messages

    @classmethod
    def starting(cls, seconds: float, now: float | None = None) -> "WaitDeadline":
        start = time.monotonic() if now is None else now
        return cls(until=start + seconds, seconds=seconds)

    def left(self, now: float | None = None) -> float:
        """Seconds left of the wait, never below 0."""
        return max(0.0, self.until - (time.monotonic() if now is None else now))

    def expired(self, now: float | None = None) -> bool:
        return self.left(now) <= 0.0

    def poll_timeout(self, cap: float, now: float | None = None) -> float:
        """One poll's RPC deadline: at most `cap`, and never past the wait's end."""
        return min(cap, self.left(now))

    def poll_policy(self, policy: CallPolicy, now: float | None = None) -> CallPolicy:
        """`policy` for one poll made through call_with_retry, cut so that the poll ends within the wait:
        call_with_retry ends within its total_timeout (each attempt's deadline and each sleep cut to what
        is left of it), so its total_timeout, and its first attempt's call_timeout, become at most what is
        left. Call it only with time left (a policy's deadlines are positive): `sleep_before_poll` keeps
        some for the last poll."""
        left = self.left(now)
        return replace(policy, call_timeout=min(policy.call_timeout, left),
                       total_timeout=min(policy.total_timeout, left))

    def page_timeout(self, pages_read: int, now: float | None = None) -> float:
        """The RPC deadline of the next page of a read whose pages share this deadline (`PageCursor`'s, the
        call's total): what is left of it. With nothing left, raises google-api-core's
        DeadlineExceeded, the error a page cut at its own RPC deadline raises too (from_grpc_error maps
        DEADLINE_EXCEEDED to it), so either way the read is a transient fault: retried within the call's
        total, then redelivered; its `pages_read` pages are never handed on as the whole answer.

        Why: the GAPIC pagers give every page the same float timeout, each page a fresh deadline
        (pagers.py `ListLogEntriesPager.pages` / `ListTimeSeriesPager.pages` / `ListRevisionsPager.pages`
        pass `self._timeout` to each call; gapic_v1/method.py `_prepare_call` makes a float a new
        `TimeToDeadlineTimeout` per call), and the wire modules copied that: a read of N pages ran up to N
        attempt deadlines, past `CallPolicy.longest_run`, which the budgets count it at."""
        left = self.left(now)
        if left <= 0.0:
            from google.api_core.exceptions import DeadlineExceeded

            raise DeadlineExceeded(f"the read's {self.seconds:g}s deadline ran out after {pages_read} page(s), "
                                   "with more to read (a next_page_token): the answer is incomplete and not used")
        return left

    def sleep_before_poll(self, delay: float, reserve: float, now: float | None = None) -> float | None:
        """How long to sleep before the next poll: `delay`, cut so that at least `reserve` seconds (one
        bounded poll) are left after it; None when no more than `reserve` is left now, so no poll fits.
        Why: a sleep that ended at the wait's end left no time to read an operation that finished during
        it, and an accepted write that was done was then reported as of unknown outcome."""
        room = self.left(now) - reserve
        if room <= 0.0:
            return None
        return min(delay, room)


# The bound a thread's calls are held to while `bounded` is in force: a read made only for a person's words (the
# services not in the config behind a connector, shared/diagnosis/scope.py) must end by its bound, its RPCs with it.
_BOUND = threading.local()


@contextmanager
def bounded(seconds: float) -> Iterator[WaitDeadline]:
    """Every call_with_retry made on this thread while in force ends within `seconds` of now (or of an outer bound,
    if tighter): each attempt's RPC deadline, each page's (PageCursor.for_call) and each sleep is cut to what is left,
    and a call begun with nothing left is a DEADLINE_EXCEEDED at once, never sent.

    Why: a wait on another thread's answer (Future.result(timeout)) stops the waiting, not the read: the read went on
    with each of its RPCs given the policy's own deadline (30 s with its retries), holding the one thread of its pool,
    so the next delivery's read queued behind it and was cut too. The deadline given to the RPC is the bound gRPC
    itself enforces: "deadlines allow gRPC clients to specify how long they are willing to wait for an RPC to
    complete before the RPC is terminated with the error DEADLINE_EXCEEDED" (grpc.io/docs/guides/deadlines)."""
    deadline = WaitDeadline.starting(seconds)
    outer = getattr(_BOUND, "deadline", None)
    _BOUND.deadline = deadline if outer is None or deadline.until < outer.until else outer
    try:
        yield _BOUND.deadline
    finally:
        _BOUND.deadline = outer


def call_deadline(policy: CallPolicy, now: float | None = None) -> WaitDeadline:
    """One call's deadline: the policy's total_timeout from now, or this thread's bound (`bounded`) when sooner."""
    own = WaitDeadline.starting(policy.total_timeout, now)
    bound: WaitDeadline | None = getattr(_BOUND, "deadline", None)
    return bound if bound is not None and bound.until < own.until else own


@dataclass
class PageCursor:
    """Where a read that follows next_page_token stands, kept across `call_with_retry`'s attempts: the token
    of the next page to ask and how many pages were taken, and the read's deadline, the call's total.

    Why: the pages shared one attempt's deadline (call_timeout, 10 s), and a retry began again at page one.
    A Logging search that needs more than 10 s across its pages then failed every attempt the same way, and the
    alert was redelivered until its dead-letter policy, no diagnosis reaching anyone: ListLogEntries hands back
    pages, even empty ones, with a token while its search goes on ("If a value for next_page_token appears and
    the entries field is empty, it means that the search found no log entries so far but it did not have time
    to search all the possible log entries. Retry the method with this value for page_token to continue the
    search", ListLogEntriesResponse.next_page_token, google/logging/v2/logging.proto), and such searches are
    seen to take minutes (googleapis/java-logging#264, googleapis/google-cloud-dotnet#524,
    GoogleCloudPlatform/runtimes-common#313). Now each page is one RPC of at most call_timeout, as GAPIC gives
    each page (pagers.py), cut to what is left of the call's total, so the pages of one read share the 30 s
    its budgets count (`CallPolicy.longest_run`); and a retry after a fault resumes at the page that failed,
    asked with the same token on the same request, which the APIs allow: "page_token must be the value of
    next_page_token from the previous response. The values of other method parameters should be identical to
    those in the previous call" (ListLogEntriesRequest.page_token, google/logging/v2/logging.proto); "All other
    parameters must match" (ListRevisionsRequest.page_token, google/cloud/run/v2/revision.proto);
    ListTimeSeriesRequest.page_token "If this field is not empty then it must contain the nextPageToken value
    returned by a previous call to this method" (google/monitoring/v3/metric_service.proto). How long a token
    stays valid is not documented for these APIs (UNCONFIRMED); a retry reuses it within the call's 30 s.
    A read still paging when the total is spent is a DeadlineExceeded (`cut_short`): never a partial answer
    used as the whole; the evidence adapters (Logging, Monitoring) report it as an incomplete read
    (shared.errors.IncompleteReadError), a gap that holds any action and `healthy` back.

    The deadline starts when the cursor is made, just before call_with_retry starts its own, so it is the
    tighter of the two. Not thread-safe: one read, one thread."""

    call_timeout: float         # one page's RPC deadline at most (CallPolicy.call_timeout)
    deadline: WaitDeadline      # the whole read's, its retries included
    token: str = ""             # the next page's page_token ("" for the first page)
    pages: int = 0              # pages taken so far

    @classmethod
    def for_call(cls, policy: CallPolicy, now: float | None = None) -> "PageCursor":
        """The cursor of one call_with_retry under `policy`: pages of call_timeout within its total."""
        return cls(policy.call_timeout, call_deadline(policy, now))

    @classmethod
    def within(cls, timeout: float, now: float | None = None) -> "PageCursor":
        """Pages that share one `timeout` (each given what is left of it): a wire read called on its own."""
        return cls(timeout, WaitDeadline.starting(timeout, now))

    def timeout(self, now: float | None = None) -> float:
        """The next page's RPC deadline: call_timeout, cut to what is left of the read's deadline; with none
        left, DeadlineExceeded (`WaitDeadline.page_timeout`)."""
        return min(self.call_timeout, self.deadline.page_timeout(self.pages, now))

    def took(self, next_page_token: str) -> None:
        """A page was taken by the caller: the next one to ask is `next_page_token`'s ("" after the last)."""
        self.token = next_page_token
        self.pages += 1

    def cut_short(self, exc: BaseException) -> bool:
        """Whether `exc`, the read's last failure (call_with_retry's, or its cause), is its deadline running out
        while it was still paging: a page taken, a next_page_token left to ask, and a DEADLINE_EXCEEDED (this
        cursor's own, `WaitDeadline.page_timeout`, or a page's RPC cut to what was left of it). The read is then
        incomplete, not failed: the API was answering, page after page, and the adapter says how far it got
        (shared.errors.IncompleteReadError). A first page that never came, or a fault the retries did not get
        past (UNAVAILABLE), is a failed read as before: transient, redelivered."""
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return self.pages > 0 and bool(self.token) and status_code(cause) == "DEADLINE_EXCEEDED"

    def restart(self) -> None:
        """The next attempt reads from the first page again (an answer found wanting as a whole, such as a
        ListTimeSeries page with execution errors); the deadline is not restarted: still the call's."""
        self.token, self.pages = "", 0


def call_with_retry(fn: Callable[[float], T], *, what: str, policy: CallPolicy,
                    retry_codes: frozenset[str] | None = None, needs: tuple[str, ...] = (),
                    quota_retry: bool = False) -> T:
    """Runs `fn(timeout)`, retrying transient faults (or only `retry_codes`, gRPC status names), within
    `policy.total_timeout` in all: `timeout` is the attempt's own deadline in seconds, for `fn` to give
    its RPC (`call_timeout`, cut to what is left of the total), and no sleep runs past the total.

    `needs`: the IAM permissions a read declares (its adapter's `iam_permissions`); a PERMISSION_DENIED
    error then names them when the API's own error does not (shared/remediation/refusals.py). Writes pass
    none: the gate names a refused write's permissions from the action's declaration.

    Raises TransientError or PermanentError (with the gRPC code), never a Google exception.
    The loop is what tenacity's `Retrying(stop=stop_after_attempt(attempts) |
    stop_before_delay(total_timeout - useful_attempt), wait=wait_exponential(multiplier=initial_backoff,
    max=max_backoff), retry=retry_if_exception(retryable), reraise=True)` does, written out (every read and
    write goes through here, and tenacity's machinery cost about 20 us per call even when the first attempt
    answers), plus each attempt's deadline cut to what is left (`WaitDeadline`). Before, the stop was
    `stop_after_delay(total_timeout)`: checked before the backoff sleep, so a last attempt could start after
    a sleep that ended past the total and run its whole call_timeout (up to 30 + 2 + 10 = 42 s; 34 s at the
    default 3 attempts of one RPC each), while the budgets counted a hand-written 40 s. google-api-core's Retry
    checks its deadline before sleeping, as this loop now does:
    "if deadline is not None and time.monotonic() + next_sleep > deadline: ... raise" (_retry_error_helper,
    google/api_core/retry/retry_base.py, called by retry_target in retry_unary.py, google-api-core 2.44).
    Where it differs, deliberately: it raises a RetryError after sleeping nothing, this loop the last error
    (its code decides the outcome: shared/errors.py); it starts a retry with any time left, this loop only
    with more than `useful_attempt`; it has no attempt limit, and it does not cut an attempt's own timeout.

    `quota_retry` (the writes: Cloud Run's UpdateService, VPC Access's PATCH): a RESOURCE_EXHAUSTED answer is
    not retried by the backoff above, whatever `retry_codes` says, but by `quota_wait`'s rule: sent again once,
    the same request, after the wait the answer asks for (its RetryInfo, or its rate quota's window), when that
    wait and one useful attempt fit in what is left of this call's total; otherwise raised at once, for the
    message's redelivery (see `quota_wait`).
    """
    deadline = call_deadline(policy)
    if deadline.expired():   # a thread's bound already spent (`bounded`): nothing is sent
        from google.api_core.exceptions import DeadlineExceeded

        raise describe_error(DeadlineExceeded(f"the {deadline.seconds:g}s bound on this read ran out before {what} "
                                              "was sent"), what)
    attempt, quota_waited = 1, False
    while True:
        try:
            return fn(deadline.poll_timeout(policy.call_timeout))
        except Exception as exc:  # noqa: BLE001 - every failure leaves as a Runwarden error
            if quota_retry and status_code(exc) == "RESOURCE_EXHAUSTED":
                spent = ("refused again after its one retry within the call" if quota_waited else
                         "refused at the call's last attempt" if attempt >= policy.attempts else "")
                plan = quota_wait(exc, deadline.left(), policy.useful_attempt, policy.longest_quota_wait,
                                  spent=spent)
                if plan.seconds is None:
                    raise describe_error(exc, f"{what}{plan.words()}") from exc
                wait, quota_waited = plan.seconds, True
            else:
                wait = _backoff_wait(exc, attempt, what, policy, deadline, retry_codes, needs)
        time.sleep(wait)
        attempt += 1


def _backoff_wait(exc: Exception, attempt: int, what: str, policy: CallPolicy, deadline: WaitDeadline,
                  retry_codes: frozenset[str] | None, needs: tuple[str, ...]) -> float:
    """The sleep before call_with_retry's next attempt after `exc`, or `exc` raised as a Runwarden error: not
    retryable, the last attempt, a RetryInfo longer than the backoff waits (`next_wait`), or no room left."""
    if not _retryable(exc, retry_codes) or attempt >= policy.attempts:
        raise describe_error(exc, what, needs) from exc
    wait = next_wait(attempt, policy, retry_delay(exc))
    if wait is None:
        raise describe_error(exc, f"{what} (the API asks for no retry before "
                                  f"{retry_delay(exc):g}s, past this call's retries)") from exc
    if deadline.left() - wait <= policy.useful_attempt:   # the retry would not fit in the total
        raise describe_error(exc, what, needs) from exc
    return wait


def next_wait(attempt: int, policy: CallPolicy, asked: float | None) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None: no retry within this call.

    `asked` is the API's RetryInfo.retry_delay: "Clients should wait until `retry_delay` amount of
    time has passed since receiving the error response before retrying" (google/rpc/error_details.proto,
    RetryInfo); a quota refusal (ErrorInfo reason RATE_LIMIT_EXCEEDED: "The request is denied because
    there is not enough rate quota", google/api/error_reason.proto) may carry one. Retrying sooner is
    refused again, and every refused retry counts against the same per-minute quota (the Cloud
    Logging and Monitoring quota pages count requests, not successes; UNCONFIRMED that refused ones
    count). So a delay within the policy's longest wait (`max_backoff`) is waited out; a longer one
    ends the call's retries at once, and the caller's own retry (Pub/Sub's redelivery of the alert,
    with its backoff) is the later attempt. Without a RetryInfo: the exponential backoff."""
    if asked is None:
        return backoff(attempt, policy)
    if asked > policy.max_backoff:
        return None
    return max(asked, backoff(attempt, policy))


@dataclass(frozen=True)
class QuotaWait:
    """Whether a write refused RESOURCE_EXHAUSTED is sent again within its call (`quota_wait`): after `seconds`,
    or not (None), and why not (`why`, "" when it is)."""

    seconds: float | None
    why: str = ""

    def words(self) -> str:
        """" (not sent again within the call: ...)", what the refusal's text adds; "" when it is sent again."""
        return f" (not sent again within the call: {self.why})" if self.why else ""


def quota_wait(error: BaseException, left: float, useful: float, longest: float, *, spent: str = "") -> QuotaWait:
    """Whether a write refused RESOURCE_EXHAUSTED (`error`, the API's answer) is sent again within its call, and
    after how long. Pure: `left` is what is left of the call's total (seconds), `useful` the least a retry must
    have after its wait (`CallPolicy.useful_attempt`), `longest` the longest wait within a call
    (`CallPolicy.longest_quota_wait`: the kill switch and a pause are not read during it), `spent` why the call
    makes no more attempts ("" while it may: its one quota retry made, or its last attempt).

    Google's guidance leaves RESOURCE_EXHAUSTED to the answer: AIP-194 (google.aip.dev/194, "Automatic retry
    configuration") lists it among the "generally non-retryable codes" ("This code may be a signal that quota is
    exhausted. Retries therefore may not be expected to work for several hours; meanwhile the retries may have
    billing implications"). google-api-core's default predicate does retry it, blindly: retry_base.
    if_transient_error lists TooManyRequests, which ResourceExhausted subclasses (google/api_core/exceptions.py,
    google-api-core 2.44), and its exponential sleeps read no RetryInfo; this product switches GAPIC retries off
    (CallPolicy) and follows the answer instead. google.rpc.RetryInfo says when a retry may pass: "Clients should wait until `retry_delay` amount of time has
    passed since receiving the error response before retrying" (google/rpc/error_details.proto). So only an
    answer that says it passes (`exhausted_answer`: a rate quota, or a wait asked for) is sent again, once: after
    its RetryInfo delay (or Retry-After, `retry_delay`), else after its rate quota's whole window ("per minute":
    60 s, `_window_seconds`), the earliest the quota can have room again; a rate quota naming no window is not
    (how long is unsaid). Once only: a second refusal says the quota is still spent, and more sends count against
    it (the quota pages count requests; UNCONFIRMED that refused ones count). And only when the wait and one
    useful attempt fit in `left`: the call's total is the write's share of the handler's time (infra/locals.tf
    counts "the PATCH with its retries" at CallPolicy.longest_run, and Cloud Run's write the same,
    remediation/sweep_budget.py ONE_CALL_SECONDS), so the in-call retry never lengthens an alert or a sweep past
    its budget; and only when the wait is at most `longest` (2 s by default): the gate read the kill switch and
    a pause before the write, and a longer wait would send it again with either unread, where the redelivery is
    gated again. Otherwise the write is left to the message's redelivery, as before (QuotaRefusedError,
    `refused_for_quota`). The same request is sent (the same etag, the same desired state), under the gate's
    claim the write already holds: the retry is the write's own, never a second claim."""
    answer = exhausted_answer(error)
    if not answer.passes:
        return QuotaWait(None)    # a fixed limit: `refused_for_quota` says so
    if spent:
        return QuotaWait(None, spent)
    delay = retry_delay(error)
    wait = delay if delay is not None else _window_seconds(f"{answer.limit} {error}")
    if wait is None:
        return QuotaWait(None, "a rate quota whose window the answer does not name")
    if left - wait <= useful:
        return QuotaWait(None, f"a wait of {wait:g}s does not fit the {max(0.0, left):.1f}s left of it")
    if wait > longest:
        return QuotaWait(None, f"a wait of {wait:g}s is longer than the {longest:g}s a write waits within its call, "
                               "the kill switch and a pause unread")
    return QuotaWait(wait)


def retry_delay(exc: BaseException) -> float | None:
    """How long the API asks to wait before a retry, in seconds, or None: the longer of a RetryInfo in the
    error's details and, on a REST answer, its Retry-After header (`retry_after`, the adapter's reading of
    it: shared/gcp/vpcaccess.py, the one REST adapter). Waiting out the longer of two asks honours both.

    gRPC: google-api-core parses the `grpc-status-details-bin` trailer into the exception's `details`
    (exceptions.from_grpc_error, `_parse_grpc_error_details`: RetryInfo is one of the types it
    unpacks). REST: the `details` of the JSON error body, `{"@type": ".../google.rpc.RetryInfo",
    "retryDelay": "30s"}` (Duration in proto3 JSON: seconds with an "s" suffix). google-api-core's own
    retry (google/api_core/retry/: exponential_sleep_generator) reads neither, which is why this loop does."""
    asked = [d for d in (_retry_info(exc), getattr(exc, "retry_after", None)) if d is not None]
    return max(asked) if asked else None


# ErrorInfo.reason of a rate quota: "The request is denied because there is not enough rate quota for the consumer"
# (RATE_LIMIT_EXCEEDED, google/api/error_reason.proto), unlike RESOURCE_QUOTA_EXCEEDED, "The request is denied because
# there is not enough resource quota for the consumer" (a quota on how much a project holds, "VMsPerProject" in its
# example), which no wait clears.
RATE_LIMIT_REASON = "RATE_LIMIT_EXCEEDED"


@dataclass(frozen=True)
class ExhaustedAnswer:
    """What a RESOURCE_EXHAUSTED answer says of itself, read from its google.rpc details (`exhausted_answer`).
    `passes`: it says it passes with time; `sign`: which detail said so ("" when none did); `limit`: the quota or
    limit it names (ErrorInfo's quota_metric and quota_limit, else a QuotaFailure violation's description), or ""."""

    passes: bool
    sign: str = ""
    limit: str = ""

    def words(self, quoted: str = "") -> str:
        """" (a rate quota: ErrorInfo RATE_LIMIT_EXCEEDED; quota ...)", what a reason adds after the refusal; the
        quota left out when the refusal's text (`quoted`) already names it (its details in words, errors.classify)."""
        named = self.limit and not all(part in quoted for part in self.limit.split(", "))
        said = [s for s in (self.sign, f"quota {self.limit}" if named else "") if s]
        return f" ({'; '.join(said)})" if said else ""


def exhausted_answer(error: BaseException | None) -> ExhaustedAnswer:
    """Whether a RESOURCE_EXHAUSTED answer says it passes with time, and what it names, from the google.rpc details
    the answer carries (google/rpc/error_details.proto): a REST error body's `details` as JSON objects with an
    "@type" (shared/gcp/vpcaccess.py `ApiStatusError.details`), or a gRPC answer's `grpc-status-details-bin` trailer,
    which google-api-core unpacks into the exception's `details` as protobuf messages (exceptions.from_grpc_error,
    `_parse_grpc_error_details`: ErrorInfo, QuotaFailure, RetryInfo and Help among the types it unpacks).

    It passes when an ErrorInfo names a rate quota (RATE_LIMIT_EXCEEDED), or when the answer asks for a wait (a
    RetryInfo, "Clients should wait until `retry_delay` amount of time has passed", or a REST Retry-After header:
    `retry_delay`). google.rpc.Code leaves RESOURCE_EXHAUSTED open ("Some resource has been exhausted, perhaps a
    per-user quota, or perhaps the entire file system is out of space", google/rpc/code.proto), and Google's API
    design guide ("Errors", "Retrying errors") has a client retry it only "at the higher level with minimum 30s
    delay"; google-api-core's generic predicate retries it blindly, as TooManyRequests, which ResourceExhausted
    subclasses (retry_base.if_transient_error; google/api_core/exceptions.py), reading no RetryInfo. An answer
    with neither sign whose ErrorInfo names another reason (RESOURCE_QUOTA_EXCEEDED) is a fixed limit; one with no
    ErrorInfo reason passes when its limit's name or its message gives the limit a window of a minute or less
    ("per minute", `_rate_window`), and is otherwise (a QuotaFailure alone, no details) read as a fixed limit: sending
    it again meets the same limit until a person changes something. A QuotaFailure ("Describes how a quota check
    failed", error_details.proto) says which quota, not whether it passes: read for its words only. What Cloud Run
    and VPC Access send for a fixed limit (status, details, wording) is not documented (UNCONFIRMED); Cloud Run's
    rate-quota refusal is seen in the field as "Quota exceeded for quota metric 'Read requests' and limit 'Read
    requests per minute per region' of service 'run.googleapis.com' ... To request a quota increase, see
    https://cloud.google.com/run/quotas" (googleapis/repo-automation-bots#4469), a Logging one with an ErrorInfo
    RATE_LIMIT_EXCEEDED whose metadata names quota_metric and quota_limit (DefangLabs/defang#1268)."""
    if error is None:
        return ExhaustedAnswer(False)
    details = tuple(getattr(error, "details", None) or ())
    infos = [d for d in details if _detail_type(d) == "google.rpc.ErrorInfo"]
    limit = next((named for named in map(_quota_named, infos) if named), "") or next(
        (named for d in details if _detail_type(d) == "google.rpc.QuotaFailure" for named in _violations(d) if named),
        "")
    if any(_field(info, "reason") == RATE_LIMIT_REASON for info in infos):
        return ExhaustedAnswer(True, f"a rate quota: ErrorInfo {RATE_LIMIT_REASON}", limit)
    delay = retry_delay(error)
    if delay is not None:
        return ExhaustedAnswer(True, f"asked to wait {delay:g}s", limit)
    reason = next((str(_field(info, "reason")) for info in infos if _field(info, "reason")), "")
    if reason:
        return ExhaustedAnswer(False, f"ErrorInfo {reason}", limit)
    window = _rate_window(f"{limit} {error}")
    if window:
        return ExhaustedAnswer(True, f"a rate quota: its limit is {window}", limit)
    return ExhaustedAnswer(False, "", limit)


# A quota's limit named by its window, as Google's quota refusals word it ("limit 'Read requests per minute per
# region'", googleapis/repo-automation-bots#4469; ErrorInfo metadata "WriteRequestsPerMinutePerProjectRegion", as
# google/api/error_reason.proto's quota_limit examples spell a limit): a window of a minute or less has passed before
# the alert's next delivery. A day's window does not pass in time and is not read as one.
_RATE_WINDOW = re.compile(r"\bper[ _]?(?:100[ _]?)?(?:second|minute)s?\b|Per(?:100)?(?:Second|Minute)s?(?=[A-Z]|\b)")


def _rate_window(words: str) -> str:
    """The window a refusal's words give its limit ("per minute"), or "" when they name none of a minute or less.
    Read only when the answer carries no ErrorInfo reason: a reason says which kind of quota it is, the words only
    what the limit is called (UNCONFIRMED that every rate quota's words name its window)."""
    found = _RATE_WINDOW.search(words)
    if not found:
        return ""
    return re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Z])", " ", found.group(0)).lower().replace("_", " ")


def _window_seconds(words: str) -> float | None:
    """The length in seconds of the window a refusal's words give its limit (`_rate_window`): a second 1, a minute
    60, 100 seconds 100; None when they name none of a minute or less."""
    window = _rate_window(words)
    if not window:
        return None
    unit = 1.0 if "second" in window else 60.0
    return unit * (100.0 if "100" in window else 1.0)


def passes_in_time(error: BaseException | None) -> bool:
    """Whether a RESOURCE_EXHAUSTED answer says it passes with time (`exhausted_answer`)."""
    return exhausted_answer(error).passes


def refused_for_quota(exc: TransientError, what: str) -> QuotaRefusedError | LimitReachedError:
    """A write still refused RESOURCE_EXHAUSTED after its call's retries (`exc`, raised from the API's error): a
    refusal, so nothing was applied. Transient when the answer says it passes (QuotaRefusedError: given back and
    redelivered), permanent otherwise (LimitReachedError: reported once). `what` names the write. One reading for
    both writes (Cloud Run's UpdateService, VPC Access's PATCH)."""
    answer = exhausted_answer(exc.__cause__)
    text = str(exc).rstrip(".")
    if answer.passes:
        return QuotaRefusedError(f"{text}{answer.words(text)}: {what} refused before it was applied")
    return LimitReachedError(f"{text}{answer.words(text)}: {what} refused before it was applied")


def _detail_type(detail: Any) -> str:
    """A detail's full message name ("google.rpc.ErrorInfo"): a REST detail's "@type" after its last "/", a
    protobuf message's descriptor."""
    if isinstance(detail, dict):
        return str(detail.get("@type", "")).rsplit("/", 1)[-1]
    descriptor = getattr(detail, "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", "") or ""


def _quota_named(info: Any) -> str:
    """The quota an ErrorInfo names in its metadata ("run.googleapis.com/write_requests, WriteRequestsPerMinute"),
    as google/api/error_reason.proto's examples carry it (quota_metric, quota_limit), or ""."""
    metadata = _field(info, "metadata") or {}
    named = [str(metadata.get(key)) for key in ("quota_metric", "quota_limit") if metadata.get(key)]
    return ", ".join(named)


def _violations(failure: Any) -> list[str]:
    """A QuotaFailure's violations, each as its description (or its quota_metric when it has none)."""
    out = []
    for violation in _field(failure, "violations") or ():
        said = _field(violation, "description") or _field(violation, "quota_metric")   # either JSON spelling
        if said:
            out.append(str(said))
    return out


def _retry_info(exc: BaseException) -> float | None:
    """RetryInfo.retry_delay, in seconds, in a Google error's details, or None."""
    for detail in getattr(exc, "details", None) or ():
        if isinstance(detail, dict):
            if str(detail.get("@type", "")).endswith("/google.rpc.RetryInfo"):
                return _json_duration(detail.get("retryDelay"))
        elif type(detail).__name__ == "RetryInfo":
            delay = detail.retry_delay
            return max(0.0, delay.seconds + delay.nanos / 1e9)
    return None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header's wait, in seconds from `now` (epoch seconds; the clock's time when None), or None
    when absent or not one of its two forms: "Retry-After = HTTP-date / delay-seconds", delay-seconds being
    "1*DIGIT", "a non-negative decimal integer, representing time in seconds" (RFC 9110 section 10.2.3); an
    HTTP-date in the past asks for no wait (0). HTTP lets a server send it with a 503 ("how long the service
    is expected to be unavailable", ibid.) and a 429 (RFC 6585 section 4, "how long to wait before making a
    new request"); the Google REST answers' documented hint is a RetryInfo in the body (AIP-193), and whether
    their front end also sends this header is UNCONFIRMED: both are read."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None     # an HTTP-date is always GMT (IMF-fixdate); a date without a zone is not one
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _json_duration(value: Any) -> float | None:
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        return max(0.0, float(value[:-1]))
    except ValueError:
        return None


def _retryable(exc: BaseException, retry_codes: frozenset[str] | None) -> bool:
    if retry_codes is None:
        return isinstance(classify(exc), TransientError)
    return status_code(exc) in retry_codes


def backoff(attempt: int, policy: CallPolicy) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): initial_backoff doubled
    per attempt, at most max_backoff (tenacity's wait_exponential, exp_base 2, min 0)."""
    return max(0.0, min(policy.initial_backoff * 2.0 ** min(attempt - 1, 64), policy.max_backoff))


def describe_error(exc: BaseException, what: str, needs: tuple[str, ...] = ()) -> RunwardenError:
    """The Runwarden error for `exc`, its message saying which call failed (and, refused PERMISSION_DENIED,
    which permission it needs: `needs`, see `call_with_retry`)."""
    if isinstance(exc, RunwardenError):
        return exc
    err = classify(exc)
    if isinstance(err, PermanentError):
        advice = read_permission_advice(needs, exc) if err.code == "PERMISSION_DENIED" else ""
        return PermanentError(f"{what}: {err}{advice}", code=err.code)
    return TransientError(f"{what}: {err}")


def status_code(exc: BaseException) -> str:
    """The gRPC status name of a Google or grpc error ("UNAVAILABLE"), or ""."""
    code = getattr(exc, "grpc_status_code", None)
    if code is None and callable(getattr(exc, "code", None)):
        try:
            code = exc.code()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a broken error object has no code
            code = None
    return getattr(code, "name", "") or ""
