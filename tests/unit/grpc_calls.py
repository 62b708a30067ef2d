"""Calls answered on the client's own channel, for the tests that compare a plain-protobuf call
with the GAPIC method's: an interceptor records what each client sends (method, metadata, the
request's bytes, its deadline) and answers it there, so no server is needed and no call reaches
the wire (a gRPC channel connects on its first RPC)."""
from __future__ import annotations

from typing import Any

import grpc


class Answered(grpc.Call, grpc.Future):
    """What a unary call returns through an interceptor: its response."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def result(self, timeout: Any = None) -> Any: return self._response
    def exception(self, timeout: Any = None) -> Any: return None
    def traceback(self, timeout: Any = None) -> Any: return None
    def add_done_callback(self, fn: Any) -> None: fn(self)
    def cancel(self) -> bool: return False
    def cancelled(self) -> bool: return False
    def running(self) -> bool: return False
    def done(self) -> bool: return True
    def is_active(self) -> bool: return False
    def time_remaining(self) -> Any: return None
    def add_callback(self, callback: Any) -> bool: return False
    def initial_metadata(self) -> Any: return ()
    def trailing_metadata(self) -> Any: return ()
    def code(self) -> Any: return grpc.StatusCode.OK
    def details(self) -> Any: return ""


class Recorder(grpc.UnaryUnaryClientInterceptor):
    """Records each call (method, metadata, the request's bytes, its deadline) and answers it with
    the next of `pages` (plain protobuf responses), over and over: wrapped in `response_type` (the
    proto-plus type) for a proto-plus request, as the GAPIC stub's deserializer would give it, and
    as it is for a plain one."""

    def __init__(self, response_type: Any, pages: list[Any]) -> None:
        self.response_type, self.pages, self.calls = response_type, pages, []

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        raw = getattr(request, "_pb", request)
        self.calls.append((details.method, list(details.metadata or ()), raw.SerializeToString(deterministic=True),
                           details.timeout))
        page = self.pages[(len(self.calls) - 1) % len(self.pages)]
        return Answered(self.response_type.wrap(page) if raw is not request else page)


def failed_call(code: grpc.StatusCode, details: str, trailing: tuple = ()) -> grpc.RpcError:
    """The error a unary call raises when the server answers with `code` (and `trailing`, its trailing metadata:
    a google.rpc.Status's `grpc-status-details-bin`, as grpc_status.rpc_status.to_status puts it there)."""

    class Failed(grpc.RpcError, grpc.Call):
        def code(self): return code
        def details(self): return details
        def initial_metadata(self): return ()
        def trailing_metadata(self): return trailing
        def is_active(self): return False
        def time_remaining(self): return None
        def cancel(self): return False
        def add_callback(self, callback): return False

    return Failed()


def refusing_channel(code: grpc.StatusCode, details: str) -> grpc.Channel:
    """A channel on which every unary call fails with `code`."""

    class Refusing(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, call_details, request):
            raise failed_call(code, details)

    return grpc.intercept_channel(grpc.insecure_channel("127.0.0.1:9"), Refusing())
