"""Cloud Run's service writes as the Admin Activity audit log names them: one name for each fact, read by the diagnosis (a deploy, a promotion), the audit query, the gate's own-change check
(shared/remediation/own_changes.py) and the timeline (shared/timeline/).

Method names: the Cloud Run audit logging page (cloud.google.com/run/docs/audit-logging) records a service's
writes under `protoPayload.methodName` as `google.cloud.run.v1.Services.<Method>` for the v1 API (gcloud's
historical path: ReplaceService, CreateService, DeleteService) and `google.cloud.run.v2.Services.<Method>`
for the v2 API (UpdateService, CreateService, DeleteService), with `protoPayload.serviceName`
"run.googleapis.com". The exact strings are as third-party audit-log consumers match them (UNCONFIRMED
against Google's text beyond that page's list); Runwarden's own traffic write is v2's UpdateService
(shared/gcp/run.py, `/google.cloud.run.v2.Services/UpdateService` in shared/gcp/run_wire.py).

Each caller keeps its own set: a creation is a deploy to the audit query but never a promotion nor one of
Runwarden's writes; a deletion is a change to the timeline only.
"""
from __future__ import annotations

from typing import Iterable

# Runwarden's own write of a service's traffic, as the audit log names it.
UPDATE_SERVICE = "google.cloud.run.v2.Services.UpdateService"
# The writes that set an existing service's spec or traffic: v1's ReplaceService, v2's UpdateService.
TRAFFIC_WRITES = ("ReplaceService", "UpdateService")
# ... and the service's creation: every write that leaves a service serving a new spec (a deploy).
SERVICE_WRITES = TRAFFIC_WRITES + ("CreateService",)
# ... and its deletion: every change of a service.
SERVICE_CHANGES = SERVICE_WRITES + ("DeleteService",)


def service_methods(methods: Iterable[str], *, to_the_end: bool = True) -> str:
    """A regular expression (Python `re` and Logging's RE2 alike) for a method name naming one of Cloud Run's
    `Services` `methods`, under either API version; `to_the_end` anchors it at the name's end. `[.]`, not a
    backslash-escaped dot: a bracket means a literal dot whatever a query language does with backslashes in a
    quoted string (Logging query language, "Regular expressions": RE2 syntax)."""
    return rf"Services[.]({'|'.join(methods)})" + ("$" if to_the_end else "")
