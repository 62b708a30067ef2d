"""shared/gcp/logging_wire.py sends what the GAPIC client sends: the same method, request bytes,
metadata and deadline, page after page, and only as many pages as the caller reads.

Both go through one channel whose interceptor records each call and answers it there (no server,
no connection: a gRPC channel connects on its first RPC, and none reaches the wire)."""
from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.services.logging_service_v2.transports import LoggingServiceV2GrpcTransport
from google.cloud.logging_v2.types import ListLogEntriesRequest, ListLogEntriesResponse

from shared.gcp.logging_wire import LoggingWire
from tests.unit.grpc_calls import Recorder

FILTER = 'resource.type = "cloud_run_revision" AND severity >= WARNING AND timestamp >= "2026-11-26T11:00:00Z"'


def _page(token: str, *texts: str) -> Any:
    page = ListLogEntriesResponse.pb()(next_page_token=token)
    for text in texts:
        page.entries.add(text_payload=text, log_name="projects/demo-project/logs/run.googleapis.com%2Fstderr")
    return page


def _client(recorder: Recorder) -> tuple[Any, Any]:
    channel = grpc.intercept_channel(grpc.insecure_channel("127.0.0.1:9"), recorder)
    return LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel)), channel


def _fields() -> dict[str, Any]:
    return dict(resource_names=["projects/demo-project"], filter=FILTER, order_by="timestamp desc", page_size=1000)


def test_the_request_metadata_and_pages_are_the_gapic_method_s() -> None:
    recorder = Recorder(ListLogEntriesResponse, [_page("t1", "a", "b"), _page("", "c")])
    client, channel = _client(recorder)
    try:
        gapic = [ListLogEntriesResponse.pb(page) for page in client.list_log_entries(
            request=ListLogEntriesRequest(**_fields()), retry=None, timeout=7.0).pages]
        wire = LoggingWire(client)
        request = wire.Request(**_fields())
        before = request.SerializeToString(deterministic=True)
        pages = list(wire.pages(request, 7.0))
    finally:
        channel.close()
    assert len(recorder.calls) == 4
    (g1, g2), (w1, w2) = recorder.calls[:2], recorder.calls[2:]
    for g, w in ((g1, w1), (g2, w2)):
        assert w[0] == g[0] == "/google.logging.v2.LoggingServiceV2/ListLogEntries"
        assert w[1] == g[1] and [key for key, _ in w[1]] == ["x-goog-api-client"]
        assert w[2] == g[2]
        assert w[3] == pytest.approx(g[3], abs=0.05) and 6.5 < w[3] <= 7.0
    assert ListLogEntriesRequest.pb().FromString(w2[2]).page_token == "t1"
    assert pages == gapic
    assert request.SerializeToString(deterministic=True) == before   # the caller's request is left as it was


def test_a_page_is_asked_for_only_when_the_caller_reads_on() -> None:
    recorder = Recorder(ListLogEntriesResponse, [_page("t1", "a"), _page("", "b")])
    client, channel = _client(recorder)
    try:
        pages = LoggingWire(client).pages(LoggingWire(client).Request(**_fields()), 5.0)
        assert [e.text_payload for e in next(pages).entries] == ["a"]
        assert len(recorder.calls) == 1
    finally:
        channel.close()
