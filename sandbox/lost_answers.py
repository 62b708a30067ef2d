"""A Firestore write that lands while its answer is lost: the real request reaches the real
emulator, the emulator applies it and answers, and the client is told UNAVAILABLE or
DEADLINE_EXCEEDED instead.

google.rpc.Code says of DEADLINE_EXCEEDED: "For operations that change the state of the system,
this error may be returned even if the operation has completed successfully" (googleapis
google/rpc/code.proto); a connection dropped after the server committed but before its answer
arrived is UNAVAILABLE to the client. The Firestore emulator cannot be told to do either, so the
fault sits at the real client's gRPC channel (grpc.intercept_channel, the grpcio API for wrapping
a channel, as sandbox/rpc_count.py counts calls): the call is passed on unchanged, the
interceptor waits for the emulator's real answer (so the commit has certainly been applied),
drops it, and raises the status as a failed call would. Nothing of the Google client is replaced,
and the choice of which commit loses its answer is made on the request itself (its method and the
documents it writes), so it is deterministic.

Why not a TCP proxy that cuts the connection between the request and the response
(tests/integration/cuttable_proxy.py): HPACK encodes the `:path` header (after the first call,
as an index into the connection's dynamic table), so the proxy cannot tell a Commit from a
BatchGetDocuments without decoding HTTP/2 and HPACK state; and a cut made when the request has been
forwarded does not tell whether the emulator has applied it yet, so the drill would sometimes
test a commit that never landed.

    faults = LostAnswers()
    store = state_store_losing_answers(faults, project)
    faults.lose(grpc.StatusCode.DEADLINE_EXCEEDED, when=writes_to("runwarden_claims"))
    ...
    faults.lost  # [LostAnswer(method='/google.firestore.v1.Firestore/Commit', code=..., documents=(...))]
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import grpc

from shared.gcp.firestore import FirestoreStateStore

COMMIT = "/google.firestore.v1.Firestore/Commit"


@dataclass(frozen=True)
class LostAnswer:
    """One call the server answered and the client never heard from."""

    method: str
    code: grpc.StatusCode
    documents: tuple[str, ...]   # every document the commit wrote, by path under .../documents/


class _LostAnswerError(grpc.RpcError, grpc.Call, grpc.Future):
    """What the client sees: a failed call with `code`, raised as grpcio raises a failed call's
    error (an RpcError that is also the call, as `continuation` returns one)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> tuple:
        return ()

    def trailing_metadata(self) -> tuple:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return False

    def running(self) -> bool:
        return False

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Any:
        raise self

    def exception(self, timeout: float | None = None) -> BaseException:
        return self

    def traceback(self, timeout: float | None = None) -> None:
        return None

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        fn(self)


@dataclass
class _Rule:
    code: grpc.StatusCode
    method: str
    when: Callable[[Any], bool]
    times: int


def _pb(request: Any) -> Any:
    """The raw protobuf of a request (GAPIC clients hand the channel proto-plus messages)."""
    return type(request).pb(request) if hasattr(type(request), "pb") else request


def request_pb(request: Any) -> Any:
    """The raw protobuf of a request, whether the client sent a proto-plus or a raw message."""
    return _pb(request)


def documents_of(request: Any) -> tuple[str, ...]:
    """The document paths (after `/documents/`) a CommitRequest writes (update or delete)."""
    paths = []
    for write in getattr(_pb(request), "writes", ()):
        name = write.update.name if write.HasField("update") else write.delete
        paths.append(name.partition("/documents/")[2] or name)
    return tuple(paths)


def writes_to(collection: str, *, creating: bool | None = None) -> Callable[[Any], bool]:
    """A request predicate: a commit that writes a document of `collection` (e.g.
    "runwarden_claims"); `creating=True` only if that write is a create (precondition
    exists=false), False only if it is not."""

    def matches(request: Any) -> bool:
        for write, path in zip(getattr(_pb(request), "writes", ()), documents_of(request)):
            if path.split("/", 1)[0] != collection:
                continue
            is_create = write.HasField("current_document") and write.current_document.HasField("exists") \
                and not write.current_document.exists
            if creating is None or creating == is_create:
                return True
        return False

    return matches


class LostAnswers(grpc.UnaryUnaryClientInterceptor):
    """Loses the answers of chosen unary calls after the server has handled them."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self.lost: list[LostAnswer] = []
        self._lock = threading.Lock()

    def lose(self, code: grpc.StatusCode, *, method: str = COMMIT, when: Callable[[Any], bool] = lambda _: True,
             times: int = 1) -> None:
        """The next `times` calls of `method` whose request satisfies `when` are handled by the
        server, then answered to the client with `code`."""
        with self._lock:
            self._rules.append(_Rule(code, method, when, times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _rule_for(self, method: str, request: Any) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.times > 0 and rule.method == method and rule.when(request):
                    rule.times -= 1
                    return rule
        return None

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        rule = self._rule_for(details.method, request)
        outcome = continuation(details, request)
        if rule is None:
            return outcome
        if isinstance(outcome, grpc.RpcError) or outcome.exception() is not None:
            return outcome   # the server refused it: a real answer, passed on unchanged
        outcome.result()     # the server's answer has arrived: the write was applied
        with self._lock:
            self.lost.append(LostAnswer(details.method, rule.code, documents_of(request)))
        return _LostAnswerError(rule.code, f"answer lost after the server handled {details.method}")


class LosingStateStore(FirestoreStateStore):
    """The real FirestoreStateStore whose client's emulator channel passes through `faults`."""

    def __init__(self, faults: LostAnswers, project: str, **options: Any) -> None:
        super().__init__(project, **options)
        self.faults = faults

    def _new_client(self) -> Any:
        from google.cloud import firestore

        faults = self.faults

        class _Client(firestore.Client):
            # The client builds its emulator channel here (google-cloud-firestore
            # BaseClient._emulator_channel); every call it sends passes through the wrapper.
            def _emulator_channel(self, transport: Any) -> Any:
                return grpc.intercept_channel(super()._emulator_channel(transport), faults)

        return _Client(project=self.project, database=self.database)

    def _new_channel(self, client: Any) -> Any:
        # The channel the adapter's own calls go on (shared/gcp/firestore_wire.py), wrapped too.
        return grpc.intercept_channel(super()._new_channel(client), self.faults)


def state_store_losing_answers(faults: LostAnswers, project: str, **options: Any) -> LosingStateStore:
    return LosingStateStore(faults, project, **options)
