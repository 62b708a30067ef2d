"""Cloud Logging's ListLogEntries on plain protobuf messages, sent over the GAPIC client's own gRPC
channel (as monitoring_wire.py does for ListTimeSeries).

Why: `LoggingServiceV2Client.list_log_entries` builds its request as a proto-plus message, wraps
every page's call in retry, timeout and error-mapping closures and a logging interceptor, and
deserializes each page into a proto-plus ListLogEntriesResponse; an alert reads two such queries.
The adapter reads each page's entries as plain protobuf already (shared/gcp/logging.py).

What is kept, so that the server sees the same call (google-cloud-logging 3.17.0,
`logging_v2/services/logging_service_v2/`):
  - the method and channel: `/google.logging.v2.LoggingServiceV2/ListLogEntries`, unary, on the
    transport's `grpc_channel` (transports/grpc.py `list_log_entries`), built as before
    (endpoints.logging_client);
  - the metadata: the wrapped method's `x-goog-api-client` (transports/base.py
    `DEFAULT_CLIENT_INFO`, added by `gapic_v1.method.wrap_method`); the method adds no routing
    header (client.py `list_log_entries` passes the caller's metadata as it is);
  - the universe-domain check (`_validate_universe_domain`), made once, when the call is built;
  - no retry of its own, as the adapter asked GAPIC (`retry=None`: the adapter retries the whole read,
    endpoints.call_with_retry); one deliberate difference: each page is given at most the call's per-RPC
    deadline, cut to what is left of the call's total, and a retry resumes at the page a fault cut
    (`endpoints.PageCursor`), where the pager gives every page the whole `timeout` (pagers.py
    `ListLogEntriesPager.pages`), so N slow pages ran N deadlines;
  - errors mapped as GAPIC maps them (`google.api_core.exceptions.from_grpc_error`, shared/gcp/wire.py);
  - the pages, as `ListLogEntriesPager.pages` reads them, and only as far as the caller asks: the
    same request again with `page_token` set to the last answer's `next_page_token` while that is
    not empty ("If there might be more results than those appearing in this response, then
    nextPageToken is included. To get the next set of results, call this method again using the
    value of nextPageToken as pageToken", ListLogEntriesResponse.next_page_token,
    google/logging/v2/logging.proto).
tests/unit/test_logging_wire.py checks the request's bytes, its metadata and its pages against
what the GAPIC client sends.
"""
from __future__ import annotations

from typing import Any, Iterator

from shared.gcp.endpoints import PageCursor
from shared.gcp.wire import pages

METHOD = "/google.logging.v2.LoggingServiceV2/ListLogEntries"


class LoggingWire:
    """ListLogEntries, built once per client."""

    def __init__(self, client: Any) -> None:
        from google.cloud.logging_v2.services.logging_service_v2.transports.base import DEFAULT_CLIENT_INFO
        from google.cloud.logging_v2.types import ListLogEntriesRequest, ListLogEntriesResponse

        client._validate_universe_domain()
        self.Request = ListLogEntriesRequest.pb()
        self._stub = client.transport.grpc_channel.unary_unary(
            METHOD, request_serializer=self.Request.SerializeToString,
            response_deserializer=ListLogEntriesResponse.pb().FromString)
        self.metadata = (DEFAULT_CLIENT_INFO.to_grpc_metadata(),)

    def pages(self, request: Any, timeout: float | None = None, cursor: PageCursor | None = None) -> Iterator[Any]:
        """Each page's ListLogEntriesResponse (plain protobuf), the next one asked for only when the
        caller advances. `request` is left as it is: later pages are asked on a copy.

        `cursor`: where the read stands across its call's retries (`PageCursor`): the first page asked is
        its token's (the page a fault cut, asked again on the same request, as page_token requires), each
        page is given its `timeout()`, and a page counts as taken (`took`) once the caller asks for the next.
        Without one, the pages share `timeout`, counted from the first page's call (`PageCursor.within`)."""
        if cursor is None and timeout is not None:
            cursor = PageCursor.within(timeout)
        yield from pages(self._stub, request, cursor, self.metadata)
