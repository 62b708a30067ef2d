"""Cloud Monitoring's ListTimeSeries on plain protobuf messages, sent over the GAPIC client's own
gRPC channel (as shared/gcp/run_wire.py does for Cloud Run, firestore_wire.py for Firestore).

Why: `MetricServiceClient.list_time_series` builds its request as a proto-plus message (each
timestamp and duration through proto-plus's marshal), wraps every page's call in retry, timeout
and error-mapping closures and a logging interceptor, deserializes each page into a proto-plus
ListTimeSeriesResponse, and copies the request again for its pager. An alert makes about seven
such reads. Here the request is the raw protobuf class proto-plus wraps (`Message.pb()`,
proto-plus docs, "Wrapping and unwrapping") and each page is read as such: the adapter decodes
plain protobuf messages already (shared/gcp/monitoring.py, "proto -> model").

What is kept, so that the server sees the same call (google-cloud-monitoring 2.32.0,
`services/metric_service/`):
  - the method and channel: `/google.monitoring.v3.MetricService/ListTimeSeries`, unary, on the
    transport's `grpc_channel` (transports/grpc.py `list_time_series`), built as before
    (endpoints.metric_service_client) with its credentials;
  - the metadata: the wrapped method's `x-goog-api-client` (transports/base.py
    `DEFAULT_CLIENT_INFO`, added by `gapic_v1.method.wrap_method` ahead of the caller's
    metadata) and the routing header `x-goog-request-params: name=projects/...`
    (client.py `list_time_series`: `routing_header.to_grpc_metadata((("name", request.name),))`);
  - the universe-domain check (`_validate_universe_domain`), made once, when the call is built;
  - no retry of its own, as the adapter asked GAPIC (`retry=None`; the adapter retries the whole
    query, endpoints.call_with_retry); one deliberate difference: each page is given at most the call's
    per-RPC deadline, cut to what is left of the call's total, and a retry resumes at the page a fault cut
    (`endpoints.PageCursor`), where the pager gives every page the whole `timeout` (pagers.py `ListTimeSeriesPager.pages`; a float becomes a
    new `TimeToDeadlineTimeout` per call, gapic_v1/method.py `_prepare_call`), so N slow pages ran N
    deadlines, past the call's total;
  - errors mapped as GAPIC maps them (`google.api_core.exceptions.from_grpc_error`, shared/gcp/wire.py);
  - every page, as `ListTimeSeriesPager.pages` reads them: the same request again with
    `page_token` set to the last answer's `next_page_token` while that is not empty ("If there
    are more results than have been returned, then this field is set to a non-empty value. To see
    the additional results, use that value as page_token in the next call to this method",
    ListTimeSeriesResponse.next_page_token, google/monitoring/v3/metric_service.proto).
The logging interceptor only logs when Google's client debug logging is switched on
(GOOGLE_SDK_PYTHON_LOGGING_SCOPE); this call does not log. tests/unit/test_monitoring_wire.py
checks the request's bytes, its metadata and its pages against what the GAPIC client sends.
"""
from __future__ import annotations

from typing import Any

from shared.gcp.endpoints import PageCursor
from shared.gcp.wire import pages

METHOD = "/google.monitoring.v3.MetricService/ListTimeSeries"


class MonitoringWire:
    """ListTimeSeries, built once per client."""

    def __init__(self, client: Any) -> None:
        from google.cloud.monitoring_v3.services.metric_service.transports.base import DEFAULT_CLIENT_INFO
        from google.cloud.monitoring_v3.types import metric_service

        client._validate_universe_domain()
        request = metric_service.ListTimeSeriesRequest.pb()
        self._stub = client.transport.grpc_channel.unary_unary(
            METHOD, request_serializer=request.SerializeToString,
            response_deserializer=metric_service.ListTimeSeriesResponse.pb().FromString)
        self._client_info = DEFAULT_CLIENT_INFO.to_grpc_metadata()
        self._metadata: dict[str, tuple[tuple[str, str], ...]] = {}

    def metadata(self, name: str) -> tuple[tuple[str, str], ...]:
        """What the GAPIC method sends with a request for `name` (the project): its api-client
        header, then the routing header."""
        found = self._metadata.get(name)
        if found is None:
            from google.api_core.gapic_v1 import routing_header

            found = self._metadata[name] = (self._client_info, routing_header.to_grpc_metadata((("name", name),)))
        return found

    def pages(self, request: Any, timeout: float | None = None, cursor: PageCursor | None = None,
              into: list[Any] | None = None) -> list[Any]:
        """Every page's ListTimeSeriesResponse (plain protobuf), in order. `request` is a plain
        ListTimeSeriesRequest, left as it is: later pages are asked on a copy (as the pager does).

        `cursor` and `into`: where the read stands across its call's retries (`PageCursor`) and the pages
        taken so far (appended to, and returned): the first page asked is the cursor's token's, each page
        given its `timeout()`. Without a cursor, the pages share `timeout`, counted from the first page's
        call (`PageCursor.within`)."""
        metadata = self.metadata(request.name)
        if cursor is None and timeout is not None:
            cursor = PageCursor.within(timeout)
        taken = [] if into is None else into
        for page in pages(self._stub, request, cursor, metadata):
            taken.append(page)
        return taken

    def time_series(self, request: Any, timeout: float | None) -> list[Any]:
        """Every page's TimeSeries, in order (as iterating the GAPIC pager yields them)."""
        return [series for page in self.pages(request, timeout) for series in page.time_series]
