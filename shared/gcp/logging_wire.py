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
    endpoints.call_with_retry); one deliberate difference: the read's pages share the attempt's deadline
    (`timeout`), each page given what is left of it (`WaitDeadline.page_timeout`), where the pager gives
    every page the whole `timeout` (pagers.py `ListLogEntriesPager.pages`), so N slow pages ran N deadlines;
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

from shared.gcp.endpoints import WaitDeadline
from shared.gcp.wire import unary

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

    def pages(self, request: Any, timeout: float | None) -> Iterator[Any]:
        """Each page's ListLogEntriesResponse (plain protobuf), the next one asked for only when the
        caller advances. `request` is left as it is: later pages are asked on a copy. The pages share
        `timeout`, counted from the first page's call: a later page is given what is left of it, and
        none is asked once it is spent (DeadlineExceeded, `WaitDeadline.page_timeout`)."""
        deadline = WaitDeadline.starting(timeout) if timeout is not None else None
        page = unary(self._stub, request, timeout, self.metadata)
        yield page
        if page.next_page_token:
            following = self.Request()
            following.CopyFrom(request)
            pages = 1
            while page.next_page_token:
                following.page_token = page.next_page_token
                page = unary(self._stub, following, deadline.page_timeout(pages) if deadline else None, self.metadata)
                pages += 1
                yield page
