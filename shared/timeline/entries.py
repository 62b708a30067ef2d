"""Log entries as the timeline reads them: every field it needs, no Google type.

`shared/diagnosis/evidence.LogRecord` keeps what diagnosis needs (the text, the HTTP status);
the timeline needs more of an entry: its labels, its whole jsonPayload (Runwarden's own step
lines), the audit log's principal and request, and the long-running operation it belongs to.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuditInfo(_Model):
    """protoPayload of type google.cloud.audit.AuditLog (google/cloud/audit/audit_log.proto)."""

    service_name: str = ""               # e.g. run.googleapis.com
    method_name: str = ""                # e.g. google.cloud.run.v2.Services.UpdateService
    resource_name: str = ""              # e.g. projects/P/locations/L/services/S
    principal: str = ""                  # authenticationInfo.principalEmail
    request: dict[str, Any] | None = None  # the request, as a JSON object, when the service logs it
    status_code: int = 0                 # google.rpc.Status code of the call (0: OK)
    status_message: str = ""


class OperationInfo(_Model):
    """LogEntry.operation: the long-running operation an entry belongs to (LogEntryOperation)."""

    id: str = ""
    producer: str = ""
    first: bool = False
    last: bool = False


class LoggedEntry(_Model):
    """One LogEntry, as the timeline reads it."""

    insert_id: str = ""
    timestamp: datetime
    # When Cloud Logging received it, on Logging's own clock ("Output only. The time the log entry was
    # received by Logging", LogEntry.receive_timestamp, google/logging/v2/log_entry.proto); `timestamp`
    # is the writer's clock. None when the answer carries none.
    receive_timestamp: datetime | None = None
    log_id: str                           # decoded, e.g. run.googleapis.com/stdout
    # The project of its logName (projects/P/logs/...): the project whose log it was written to, which a
    # sink routing it into another project's bucket keeps. "" when not known.
    log_project: str = ""
    severity: str = "DEFAULT"
    resource_type: str = ""
    resource_labels: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    json_payload: dict[str, Any] | None = None
    text: str = ""                        # textPayload, or jsonPayload.message
    http_status: int | None = None
    audit: AuditInfo | None = None
    operation: OperationInfo | None = None


class EntryPage(_Model):
    """One ListLogEntries response. An empty page with a token is normal: the API may stop
    searching before it has found anything and hand back a token to go on (LogEntry's
    ListLogEntriesResponse.next_page_token docs)."""

    entries: tuple[LoggedEntry, ...] = ()
    next_page_token: str = ""
