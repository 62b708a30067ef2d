"""What the plain-protobuf calls share (firestore_wire.py, run_wire.py, the outcome's Publish in
pubsub.py): a call on a channel's stub with its errors mapped as GAPIC maps them, and a call
retried within one overall timeout as a GAPIC call given both a retry and a timeout."""
from __future__ import annotations

import datetime
import time
from typing import Any, Callable, Iterator


def unary(stub: Any, request: Any, timeout: float | None, metadata: Any) -> Any:
    """One unary call. A gRPC error leaves as the google.api_core exception GAPIC raises for it
    (`google.api_core.exceptions.from_grpc_error`, what `grpc_helpers._wrap_unary_errors` raises),
    so shared.errors.classify reads it as it reads a GAPIC call's."""
    try:
        return stub(request, timeout=timeout, metadata=metadata)
    except Exception as exc:  # noqa: BLE001 - only gRPC's errors are mapped; the rest leave as they are
        mapped = _mapped(exc)
        if mapped is None:
            raise
        raise mapped from exc


def pages(stub: Any, request: Any, cursor: Any, metadata: Any) -> Iterator[Any]:
    """Each page of a read that follows next_page_token (ListLogEntries, ListTimeSeries), the next one
    asked only when the caller advances: the same request again with `page_token` set to the last
    answer's `next_page_token` while that is not empty (logging_wire.py and monitoring_wire.py cite
    each API's words). `request` is left as it is: later pages are asked on a copy. `cursor` is the
    read's `endpoints.PageCursor`, or None for no deadline: the first page asked is its token's, each
    page is given its `timeout()`, and a page counts as taken (`took`) once the caller asks for the next."""
    token = cursor.token if cursor is not None else ""
    following = None
    while True:
        asked = request
        if token:
            if following is None:
                following = type(request)()
                following.CopyFrom(request)
            following.page_token = token
            asked = following
        page = unary(stub, asked, cursor.timeout() if cursor is not None else None, metadata)
        yield page
        token = page.next_page_token
        if cursor is not None:
            cursor.took(token)
        if not token:
            return


def streamed(stub: Any, request: Any, timeout: float | None, metadata: Any) -> list[Any]:
    """Every answer of one server-streaming call, errors mapped as in `unary` (GAPIC's
    `_wrap_stream_errors`)."""
    try:
        return list(stub(request, timeout=timeout, metadata=metadata))
    except Exception as exc:  # noqa: BLE001 - as in `unary`
        mapped = _mapped(exc)
        if mapped is None:
            raise
        raise mapped from exc


def _mapped(exc: Exception) -> Exception | None:
    """The google.api_core exception GAPIC raises for a gRPC error; None for any other error (it
    leaves as it is). Imported here, on the error path: the import statements cost more on every
    call than the rest of `unary` around the stub."""
    import grpc

    if not isinstance(exc, grpc.RpcError):
        return None
    from google.api_core.exceptions import from_grpc_error

    return from_grpc_error(exc)


def within(send: Callable[..., Any], timeout: float | None, retry: Any) -> Any:
    """`send(timeout=...)` retried by `retry` (a google.api_core Retry, or None) within `timeout`
    overall: each attempt's deadline is what is left of it (`google.api_core.timeout.
    TimeToDeadlineTimeout`, as GAPIC's wrapped methods apply a timeout), and errors are mapped
    before the retry sees them.

    The first attempt is made directly, with the whole `timeout`: what TimeToDeadlineTimeout gives a
    first attempt (it counts the time since it was applied, and rounds anything under 1 ms to none,
    "to have round timeout numbers for first attempt (in most cases the only attempt made for an
    RPC)": google-api-core `timeout.py`). The library's wrappers are built only when that attempt
    fails (`_retried`), not for every call: building them (two `functools.wraps`, a partial, a
    sleep generator) cost more CPU than the rest of an outcome's publish around its RPC."""
    started = time.monotonic()
    try:
        return send(timeout=timeout) if timeout is not None else send()
    except Exception as exc:  # noqa: BLE001 - the retry judges it, as it judged a first attempt
        failed = exc
    return _retried(send, timeout, retry, failed, started)


def _retried(send: Callable[..., Any], timeout: float | None, retry: Any, failed: Exception, started: float) -> Any:
    """The rest of `within` after a first attempt that raised `failed`, as
    `retry(TimeToDeadlineTimeout(timeout)(send))()` goes on from there: the same attempts, each
    attempt's timeout, the same sleeps and the same final error.

    - `failed` is the retry's first error (`retry_target` judges it by the retry's predicate; one it
      does not accept is raised as it is, as before; with no retry it is raised at once);
    - the deadline wrapper's clock (its own, `datetime_helpers.utcnow`) first reads the moment of
      the first attempt, so each later attempt gets what is left of `timeout`;
    - the retry's deadline counts from that moment too (`retry_target` starts counting when it is
      called: it is given what is left of the retry's timeout), and its error when that runs out
      names the timeout itself, as `build_retry_error` names it.
    The Retry's settings are read as `Retry.__call__` and `Retry.with_timeout` read them."""
    if retry is None:
        raise failed
    from google.api_core import datetime_helpers
    from google.api_core.retry import build_retry_error, exponential_sleep_generator, retry_target
    from google.api_core.timeout import TimeToDeadlineTimeout

    elapsed = time.monotonic() - started
    readings = [datetime_helpers.utcnow() - datetime.timedelta(seconds=elapsed)]
    pending = [failed]

    def attempt(**kwargs: Any) -> Any:
        if pending:
            raise pending.pop()
        return send(**kwargs)

    clock = lambda: readings.pop() if readings else datetime_helpers.utcnow()   # noqa: E731
    limit = retry._timeout
    return retry_target(
        TimeToDeadlineTimeout(timeout=timeout, clock=clock)(attempt), retry._predicate,
        exponential_sleep_generator(retry._initial, retry._maximum, multiplier=retry._multiplier),
        timeout=None if limit is None else limit - elapsed, on_error=retry._on_error,
        exception_factory=lambda errors, reason, _left: build_retry_error(errors, reason, limit))
