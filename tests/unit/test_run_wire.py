"""shared/gcp/run_wire.py sends what the GAPIC client sends: the same method, request and metadata.

Both go through one channel whose interceptor records each call and stops it there (no server, no
connection: a gRPC channel connects on its first RPC, and none reaches the wire)."""
from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.cloud import run_v2
from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport
from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.gcp.run import traffic_update_request
from shared.gcp.run_wire import RunWire
from tests.unit.grpc_calls import refusing_channel

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
OPERATION = "projects/demo-project/locations/us-central1/operations/op-1"


class Stopped(Exception):
    """Raised by the recorder instead of sending the call."""


class Recorder(grpc.UnaryUnaryClientInterceptor):
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]], Any]] = []

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.calls.append((details.method, list(details.metadata or ()), request))
        raise Stopped(details.method)


@pytest.fixture
def clients():
    recorder = Recorder()
    channel = grpc.intercept_channel(grpc.insecure_channel("127.0.0.1:9"), recorder)
    services = run_v2.ServicesClient(transport=ServicesGrpcTransport(channel=channel))
    revisions = run_v2.RevisionsClient(transport=RevisionsGrpcTransport(channel=channel))
    yield services, revisions, RunWire(services, revisions), recorder
    channel.close()


def _same(recorder: Recorder, gapic: Any, wire: Any) -> None:
    for call in (gapic, wire):
        with pytest.raises(Stopped):
            call()
    (g_method, g_metadata, g_request), (w_method, w_metadata, w_request) = recorder.calls
    assert w_method == g_method
    assert w_metadata == g_metadata
    as_pb = getattr(g_request, "_pb", g_request)
    assert type(w_request) is type(as_pb) and w_request == as_pb


def test_get_service(clients):
    services, _, wire, recorder = clients
    _same(recorder, lambda: services.get_service(name=SERVICE, retry=None, timeout=5),
          lambda: wire.get_service(SERVICE, 5))


def test_list_revisions_first_page(clients):
    _, revisions, wire, recorder = clients
    _same(recorder, lambda: list(revisions.list_revisions(parent=SERVICE, retry=None, timeout=5)),
          lambda: wire.list_revisions(SERVICE, 5))


@pytest.mark.parametrize("token", ["", "o:200"], ids=["first-page", "next-page"])
def test_list_services_one_page(clients, token):
    services, _, wire, recorder = clients
    location = SERVICE.split("/services/")[0]
    request = {"parent": location, "page_size": 200, **({"page_token": token} if token else {})}
    _same(recorder, lambda: services.list_services(request=request, retry=None, timeout=5).pages.__next__(),
          lambda: wire.list_services(location, 200, 5, token))


def test_update_service(clients):
    services, _, wire, recorder = clients
    read = run_v2.Service(name=SERVICE, etag='"e1"', generation=3, traffic=[run_v2.TrafficTarget(
        type_=run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent=100)],
        template=run_v2.RevisionTemplate(revision="backend-00002-xyz",
                                         containers=[run_v2.Container(image="gcr.io/x/y")]))
    request = traffic_update_request(read, [TrafficTarget(type=TrafficType.REVISION, revision="backend-00001-abc",
                                                          percent=100)])
    _same(recorder, lambda: services.update_service(request=run_v2.UpdateServiceRequest.wrap(request), retry=None,
                                                    timeout=5),
          lambda: wire.update_service(request, 5))
    sent = recorder.calls[1][2]
    assert sent.service.etag == '"e1"' and sent.service.template.revision == ""
    assert not sent.service.generation and list(sent.update_mask.paths) == ["traffic"]


def test_get_operation(clients):
    services, _, wire, recorder = clients
    _same(recorder, lambda: services.transport.operations_client.get_operation(OPERATION, timeout=5),
          lambda: wire.get_operation(OPERATION, 5))


def test_errors_are_mapped_as_gapic_maps_them():
    from google.api_core import exceptions

    from shared.errors import PermanentError, classify

    channel = refusing_channel(grpc.StatusCode.PERMISSION_DENIED, "no")
    services = run_v2.ServicesClient(transport=ServicesGrpcTransport(channel=channel))
    wire = RunWire(services, run_v2.RevisionsClient(transport=RevisionsGrpcTransport(channel=channel)))
    try:
        with pytest.raises(exceptions.PermissionDenied) as caught:
            wire.get_service(SERVICE, 5)
        error = classify(caught.value)
        assert isinstance(error, PermanentError) and error.code == "PERMISSION_DENIED"
    finally:
        channel.close()
