"""Counts the RPCs a real Google client sends, at its gRPC channel: round trips, as the server
sees them, with nothing about the client's behaviour replaced.

A gRPC client interceptor (grpc.intercept_channel, the grpcio API for wrapping a channel)
records the full method name of every call before passing it on unchanged. Streaming calls
(Firestore's BatchGetDocuments and RunQuery) count once each: one request, one round trip.

    counter = RpcCounter()
    store = counting_state_store(counter, project)
    ...
    counter.calls  # ['/google.firestore.v1.Firestore/BatchGetDocuments', ...]
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import grpc

from shared.gcp.firestore import FirestoreStateStore


class RpcCounter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                 grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: list[str] = []   # the name of the thread that sent each call
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.threads.clear()

    def by_method(self) -> Counter[str]:
        """{'BatchGetDocuments': 2, ...}: the short method names and how often each was called."""
        with self._lock:
            return Counter(call.rsplit("/", 1)[-1] for call in self.calls)

    def by_thread(self, prefix: str) -> Counter[str]:
        """`by_method`, counting only the calls sent from threads whose name starts with `prefix`."""
        with self._lock:
            return Counter(call.rsplit("/", 1)[-1] for call, thread in zip(self.calls, self.threads)
                           if thread.startswith(prefix))

    def _seen(self, details: grpc.ClientCallDetails) -> None:
        with self._lock:
            self.calls.append(details.method)
            self.threads.append(threading.current_thread().name)

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        self._seen(details)
        return continuation(details, request)

    def intercept_unary_stream(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        self._seen(details)
        return continuation(details, request)

    def intercept_stream_unary(self, continuation: Any, details: grpc.ClientCallDetails, requests: Any) -> Any:
        self._seen(details)
        return continuation(details, requests)

    def intercept_stream_stream(self, continuation: Any, details: grpc.ClientCallDetails, requests: Any) -> Any:
        self._seen(details)
        return continuation(details, requests)


class CountingStateStore(FirestoreStateStore):
    """The real FirestoreStateStore whose client's emulator channel is wrapped by `counter`."""

    def __init__(self, counter: RpcCounter, project: str, **options: Any) -> None:
        super().__init__(project, **options)
        self.counter = counter

    def _new_client(self) -> Any:
        from google.cloud import firestore

        counter = self.counter

        class _CountedClient(firestore.Client):
            # The client builds its emulator channel here (google-cloud-firestore
            # BaseClient._emulator_channel); everything it sends passes through the wrapper.
            def _emulator_channel(self, transport: Any) -> Any:
                return grpc.intercept_channel(super()._emulator_channel(transport), counter)

        return _CountedClient(project=self.project, database=self.database)

    def _new_channel(self, client: Any) -> Any:
        # The channel the adapter's own calls go on (shared/gcp/firestore_wire.py), wrapped too.
        return grpc.intercept_channel(super()._new_channel(client), self.counter)
