"""What the plain-protobuf calls share (firestore_wire.py, run_wire.py, the outcome's Publish in
pubsub.py): a call on a channel's stub with its errors mapped as GAPIC maps them, and a call
retried within one overall timeout as a GAPIC call given both a retry and a timeout."""
from __future__ import annotations

from typing import Any, Callable


def unary(stub: Any, request: Any, timeout: float | None, metadata: Any) -> Any:
    """One unary call. A gRPC error leaves as the google.api_core exception GAPIC raises for it
    (`google.api_core.exceptions.from_grpc_error`, what `grpc_helpers._wrap_unary_errors` raises),
    so shared.errors.classify reads it as it reads a GAPIC call's."""
    import grpc
    from google.api_core.exceptions import from_grpc_error

    try:
        return stub(request, timeout=timeout, metadata=metadata)
    except grpc.RpcError as exc:
        raise from_grpc_error(exc) from exc


def streamed(stub: Any, request: Any, timeout: float | None, metadata: Any) -> list[Any]:
    """Every answer of one server-streaming call, errors mapped as in `unary` (GAPIC's
    `_wrap_stream_errors`)."""
    import grpc
    from google.api_core.exceptions import from_grpc_error

    try:
        return list(stub(request, timeout=timeout, metadata=metadata))
    except grpc.RpcError as exc:
        raise from_grpc_error(exc) from exc


def within(send: Callable[..., Any], timeout: float | None, retry: Any) -> Any:
    """`send(timeout=...)` retried by `retry` (a google.api_core Retry, or None) within `timeout`
    overall: each attempt's deadline is what is left of it (`google.api_core.timeout.
    TimeToDeadlineTimeout`, as GAPIC's wrapped methods apply a timeout), and errors are mapped
    before the retry sees them."""
    from google.api_core.timeout import TimeToDeadlineTimeout

    attempt = TimeToDeadlineTimeout(timeout=timeout)(send)
    return (retry(attempt) if retry is not None else attempt)()
