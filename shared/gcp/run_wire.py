"""Cloud Run's calls (GetService, ListRevisions, ListServices, UpdateService, and GetOperation while waiting on
it) on plain protobuf messages, sent over the GAPIC clients' own gRPC channels.

Why: the GAPIC methods build every request as a proto-plus message, wrap each call in retry,
timeout, error-mapping and (since google-cloud-run 0.16) a logging interceptor, and hand back
proto-plus wrappers whose every field access goes through proto-plus's marshal; the LRO poll did
the same for each GetOperation, and unpacked each answer's Service into a proto-plus wrapper. A
warm alert made four to six such calls before and after its write. Here the requests are the raw
protobuf classes proto-plus wraps (`Message.pb()`, proto-plus docs, "Wrapping and unwrapping")
and the answers are read as such (shared/gcp/run.py).

What is kept, so that the server sees the same call:
  - the channel: the transport's `grpc_channel`, built as before (endpoints.run_services_client /
    run_revisions_client), with its credentials;
  - the metadata GAPIC adds: its `x-goog-api-client` header (the transports' DEFAULT_CLIENT_INFO;
    api_core's for the operations client) and the routing header, `location` for the Run methods
    (the regex in run_v2/services/*/client.py) and `name` for GetOperation
    (api_core operations_v1.OperationsClient.get_operation);
  - errors mapped as GAPIC maps them (`google.api_core.exceptions.from_grpc_error`, what
    `grpc_helpers._wrap_unary_errors` raises), so shared.errors.classify reads them as before;
  - every page of ListRevisions, as iterating the GAPIC pager does (`next_page_token`), except that each
    page is given at most the call's per-RPC deadline, cut to what is left of the call's total, and a retry
    resumes at the page a fault cut (`endpoints.PageCursor`), where the pager gives every page the whole
    timeout (pagers.py `ListRevisionsPager.pages`).
The client's universe-domain check runs once, when the calls are built. The logging interceptor
only logs when Google's client debug logging is switched on (GOOGLE_SDK_PYTHON_LOGGING_SCOPE);
these calls do not log. tests/unit/test_run_wire.py checks each request and its metadata against
what the GAPIC client sends.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from shared.gcp.endpoints import PageCursor
from shared.gcp.wire import unary

_LOCATION = re.compile(r"^projects/[^/]+/locations/(?P<location>[^/]+)(?:/.*)?$")


class RunWire:
    """The four calls, built once per pair of clients."""

    def __init__(self, services_client: Any, revisions_client: Any) -> None:
        from google.api_core import gapic_v1
        from google.cloud import run_v2
        from google.cloud.run_v2.services.revisions.transports.base import DEFAULT_CLIENT_INFO as REVISIONS_INFO
        from google.cloud.run_v2.services.services.transports.base import DEFAULT_CLIENT_INFO as SERVICES_INFO
        from google.longrunning import operations_pb2

        for client in (services_client, revisions_client):
            client._validate_universe_domain()
        self.Service = run_v2.Service.pb()
        self.GetServiceRequest = run_v2.GetServiceRequest.pb()
        self.ListRevisionsRequest = run_v2.ListRevisionsRequest.pb()
        self.ListServicesRequest = run_v2.ListServicesRequest.pb()
        self.UpdateServiceRequest = run_v2.UpdateServiceRequest.pb()
        self.Operation = operations_pb2.Operation
        self.GetOperationRequest = operations_pb2.GetOperationRequest
        services = services_client.transport.grpc_channel
        revisions = revisions_client.transport.grpc_channel
        self._get_service = services.unary_unary(
            "/google.cloud.run.v2.Services/GetService", request_serializer=self.GetServiceRequest.SerializeToString,
            response_deserializer=self.Service.FromString)
        self._update_service = services.unary_unary(
            "/google.cloud.run.v2.Services/UpdateService",
            request_serializer=self.UpdateServiceRequest.SerializeToString,
            response_deserializer=self.Operation.FromString)
        # The Run transport's operations client speaks on the same channel (ServicesGrpcTransport.operations_client).
        self._get_operation = services.unary_unary(
            "/google.longrunning.Operations/GetOperation",
            request_serializer=self.GetOperationRequest.SerializeToString,
            response_deserializer=self.Operation.FromString)
        list_response = run_v2.ListRevisionsResponse.pb()
        self._list_revisions = revisions.unary_unary(
            "/google.cloud.run.v2.Revisions/ListRevisions",
            request_serializer=self.ListRevisionsRequest.SerializeToString,
            response_deserializer=list_response.FromString)
        self._list_services = services.unary_unary(
            "/google.cloud.run.v2.Services/ListServices",
            request_serializer=self.ListServicesRequest.SerializeToString,
            response_deserializer=run_v2.ListServicesResponse.pb().FromString)
        self._services_info = SERVICES_INFO.to_grpc_metadata()
        self._revisions_info = REVISIONS_INFO.to_grpc_metadata()
        self._operations_info = gapic_v1.client_info.DEFAULT_CLIENT_INFO.to_grpc_metadata()
        self._routing = gapic_v1.routing_header.to_grpc_metadata

    def get_service(self, name: str, timeout: float) -> Any:
        return unary(self._get_service, self.GetServiceRequest(name=name), timeout,
                     self._metadata(self._services_info, name))

    def list_revisions(self, parent: str, timeout: float | None = None, cursor: PageCursor | None = None,
                       into: list[Any] | None = None) -> list[Any]:
        """Every revision of `parent`, page after page. `cursor` and `into`: where the read stands across its
        call's retries (`PageCursor`) and the revisions taken so far (appended to, and returned): the first page
        asked is the cursor's token's, each page given its `timeout()`. Without a cursor, the pages share
        `timeout` (`PageCursor.within`): a later page is given what is left of it, none asked once it is spent."""
        metadata = self._metadata(self._revisions_info, parent)
        cursor = cursor if cursor is not None else PageCursor.within(timeout)
        revisions: list[Any] = [] if into is None else into
        while True:
            page = unary(self._list_revisions, self.ListRevisionsRequest(parent=parent, page_token=cursor.token),
                         cursor.timeout(), metadata)
            revisions.extend(page.revisions)
            cursor.took(page.next_page_token)
            if not cursor.token:
                return revisions

    def list_services(self, parent: str, page_size: int, timeout: float, page_token: str = "") -> tuple[list[Any], str]:
        """One page of the services of `parent` (projects/P/locations/L), and the next page's token ("" at the
        last)."""
        page = unary(self._list_services, self.ListServicesRequest(parent=parent, page_size=page_size,
                                                                   page_token=page_token), timeout,
                     self._metadata(self._services_info, parent))
        return list(page.services), page.next_page_token

    def update_service(self, request: Any, timeout: float) -> Any:
        return unary(self._update_service, request, timeout, self._metadata(self._services_info, request.service.name))

    def get_operation(self, name: str, timeout: float | None, retry: Callable[[Any], Any] | None = None) -> Any:
        """`retry`: an api_core Retry (it wraps the call), as the LRO poll passes one."""
        metadata = (self._operations_info, self._routing({"name": name}))
        request = self.GetOperationRequest(name=name)

        def call() -> Any:
            return unary(self._get_operation, request, timeout, metadata)

        return retry(call)() if retry is not None else call()

    def _metadata(self, info: tuple[str, str], name: str) -> tuple[tuple[str, str], ...]:
        found = _LOCATION.match(name)
        if found and found.group("location"):
            return info, self._routing({"location": found.group("location")})
        return (info,)
