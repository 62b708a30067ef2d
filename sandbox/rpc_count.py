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
from shared.gcp.run import CloudRunAdapter


class RpcCounter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                 grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: list[str] = []   # the name of the thread that sent each call
        self.resources: list[str] = []  # the resource each unary call named (its request's name or parent)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.threads.clear()
            self.resources.clear()

    def by_method(self) -> Counter[str]:
        """{'BatchGetDocuments': 2, ...}: the short method names and how often each was called."""
        with self._lock:
            return Counter(call.rsplit("/", 1)[-1] for call in self.calls)

    def by_thread(self, prefix: str) -> Counter[str]:
        """`by_method`, counting only the calls sent from threads whose name starts with `prefix`."""
        with self._lock:
            return Counter(call.rsplit("/", 1)[-1] for call, thread in zip(self.calls, self.threads)
                           if thread.startswith(prefix))

    def on(self, resource: str) -> Counter[str]:
        """`by_method`, counting only the calls whose request named `resource` (its `name` or `parent`)."""
        with self._lock:
            return Counter(call.rsplit("/", 1)[-1] for call, named in zip(self.calls, self.resources)
                           if named == resource)

    def _seen(self, details: grpc.ClientCallDetails, request: Any = None) -> None:
        named = getattr(request, "name", "") or getattr(request, "parent", "") if request is not None else ""
        with self._lock:
            self.calls.append(details.method)
            self.threads.append(threading.current_thread().name)
            self.resources.append(named if isinstance(named, str) else "")

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        self._seen(details, request)
        return continuation(details, request)

    def intercept_unary_stream(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        self._seen(details, request)
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


class CountingRunAdapter(CloudRunAdapter):
    """The real CloudRunAdapter whose clients' stand-in channels are wrapped by `counter`: Cloud Run's
    round trips (GetService, ListRevisions, ListServices, ...) as the server sees them."""

    def __init__(self, counter: RpcCounter, **options: Any) -> None:
        super().__init__(**options)
        self.counter = counter

    def _services_client(self) -> Any:
        with self._lock:
            if self._services is None:
                from google.cloud import run_v2
                from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

                self._services = run_v2.ServicesClient(transport=ServicesGrpcTransport(channel=self._channel()))
            return self._services

    def _revisions_client(self) -> Any:
        with self._lock:
            if self._revisions is None:
                from google.cloud import run_v2
                from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport

                self._revisions = run_v2.RevisionsClient(transport=RevisionsGrpcTransport(channel=self._channel()))
            return self._revisions

    def _channel(self) -> Any:
        import os

        from shared.gcp.endpoints import RUN_EMULATOR_ENV, _insecure_channel

        return grpc.intercept_channel(_insecure_channel(os.environ[RUN_EMULATOR_ENV]), self.counter)
