"""Log entries as the timeline reads them (shared/gcp/logging.logged_entry), from raw LogEntry protobufs as
ListLogEntries answers them. Pure: no I/O."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from google.cloud.logging_v2.types import LogEntry

from shared.gcp.logging import logged_entry

RECEIVED = datetime(2026, 11, 26, 12, 0, 5, tzinfo=timezone.utc)
WRITTEN = datetime(2026, 11, 26, 12, 0, 1, tzinfo=timezone.utc)


def _raw(*, written: datetime | None, received: datetime | None):
    raw = LogEntry.pb()(log_name="projects/p/logs/run.googleapis.com%2Fstdout", insert_id="a1", text_payload="x")
    if written is not None:
        raw.timestamp.FromDatetime(written)
    if received is not None:
        raw.receive_timestamp.FromDatetime(received)
    return raw


@pytest.mark.parametrize("written, received, at", [
    (WRITTEN, RECEIVED, WRITTEN),             # the writer's time, as always
    # No `timestamp`: Logging's own time instead. Logging assigns one to an entry written without ("If this field
    # is omitted in a new log entry, then Logging assigns it the current time", LogEntry.timestamp,
    # google/logging/v2/log_entry.proto), so an answer should always carry one (UNCONFIRMED that every answer
    # does); read as it was, such an entry was dated 1970-01-01, the protobuf's empty Timestamp, and framed or
    # counted there.
    (None, RECEIVED, RECEIVED),
])
def test_an_entry_is_dated_by_its_timestamp_else_when_logging_received_it(written, received, at):
    entry = logged_entry(_raw(written=written, received=received))

    assert entry.timestamp == at and entry.receive_timestamp == received
