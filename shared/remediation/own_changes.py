"""Runwarden's own recent changes of a target, as the platform recorded them: what stops a second
action when Runwarden's state is gone.

Runwarden's claims, cooldowns and action records live in Firestore. If they are lost (the
database deleted, restored to an earlier point, or the config naming another one), a re-notified
or redelivered alert is judged afresh on live state, and a connector's metrics still show the
saturation that Runwarden has just addressed (they lag the change): it would scale again. The
platform keeps its own record of every change: the Admin Activity audit log
(`cloudaudit.googleapis.com/activity`), which names the caller
(`protoPayload.authenticationInfo.principalEmail`). Admin Activity logs "are enabled for all
services and cannot be configured" (as the CIS Google Cloud Platform benchmark v3.0.0 words the
Cloud Audit Logs overview, cloud.google.com/logging/docs/audit; Google's own sentence was not
retrieved). That vpcaccess.googleapis.com writes them for a connector PATCH is UNCONFIRMED in
retrieved text (docs/api-contracts.md); where it does not, this guard sees nothing and the
behaviour is the unguarded one. Diagnosis already reads the connector's and the service's
entries with the evidence (shared/diagnosis/collection.py, `audit_filter`), so this guard costs
no extra read.

Why not a label written on the resource with the action: the VPC Access v1 `Connector` has no
labels or annotations. Its JSON representation is name, network, ipCidrRange, state,
minThroughput, maxThroughput, connectedProjects, subnet, machineType, minInstances, maxInstances
(REST reference, Resource: projects.locations.connectors, vpcaccess v1), and a PATCH may only
change minInstances, maxInstances and machineType.

Only connector plans carry own changes (shared/remediation/planning.py says why a rollback does
not); the decision itself is the same for any target.

Which method names mean a change: the VPC Access audit `methodName` form is UNCONFIRMED
(docs/api-contracts.md). Both readings are accepted: the gRPC service's
`google.cloud.vpcaccess.v1.VpcAccessService.<Method>` and the `OperationMetadata.method` form
`google.cloud.vpcaccess.v1.Connectors.<Method>`; any method naming a Connector other than a read
(Get, List: Admin Activity logs record writes only, but a read is never a change). Cloud Run's are
`google.cloud.run.v1.Services.ReplaceService` and `google.cloud.run.v2.Services.UpdateService`
(Cloud Run audit logging page).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.run_audit import TRAFFIC_WRITES, service_methods
from shared.ports import ClaimRecord

# A change of a connector (either reading of the method name) or of a Cloud Run service's spec or traffic
# (run_audit.TRAFFIC_WRITES; a creation is never a change of a target Runwarden acted on).
_CHANGES = re.compile(rf"(Connector|{service_methods(TRAFFIC_WRITES, to_the_end=False)})")
_READS = re.compile(r"[.](Get|List)[A-Za-z]*$")


@dataclass(frozen=True)
class OwnChange:
    """One change of the target by one of Runwarden's own principals, from the audit log."""

    at: datetime
    method: str
    principal: str
    resource: str

    def describe(self) -> str:
        return f"{self.method} by {self.principal} at {self.at:%Y-%m-%d %H:%M:%S} UTC on {self.resource}"


def _names_target(resource: str, target: str) -> bool:
    """The audit entry's resourceName names `target`: the same full name, or (Cloud Run's v1
    path, `namespaces/P/services/S`) the same kind and id; the audit query already bounds
    the entries to the target's project and location."""
    if resource == target:
        return True
    kind_and_id = "/".join(target.rsplit("/", 2)[-2:])     # "connectors/C" or "services/S"
    return resource.endswith("/" + kind_and_id)


def own_changes(entries: Iterable[LogRecord], target: str, self_principals: Iterable[str]) -> tuple[OwnChange, ...]:
    """The audit entries that record a change of `target` by one of `self_principals`, newest
    first. An entry whose status is an error changed nothing and is left out (an operation's
    merged record carries its last entry's status, shared.gcp.logging.merge_operation_entries)."""
    principals = {p.strip().lower() for p in self_principals if p.strip()}
    found = []
    for entry in entries:
        method, resource, principal = entry.method_name or "", entry.resource_name or "", entry.principal or ""
        if principal.lower() not in principals or not _CHANGES.search(method) or _READS.search(method):
            continue
        if entry.status_code not in (None, 0) or not _names_target(resource, target):
            continue
        found.append(OwnChange(at=entry.timestamp, method=method, principal=principal, resource=resource))
    return tuple(sorted(found, key=lambda c: c.at, reverse=True))


def unrecorded_own_change(changes: Iterable[OwnChange], cooldown: ClaimRecord | None, now: datetime,
                          window: timedelta) -> OwnChange | None:
    """The newest of Runwarden's own changes made within `window` (the target's cooldown lease)
    before `now`, if Runwarden's state holds no cooldown record of the target at all; else None.

    Every automatic action takes the target's cooldown in the same commit as its claim, and an
    operator's manual action takes it too when it is free; a cooldown record stays until the
    TTL policy deletes it after it expires. So an own change younger than the lease with no
    record means the state that would have held the action back is gone. A cooldown that exists
    is left to the gate's cooldown check (live: skipped; expired: the change is older than the
    lease). With no cooldown configured (window zero) there is nothing to compare with: None."""
    if cooldown is not None or not window:
        return None
    # An audit entry is stamped by Google's clock, `now` by the instance's: a change a moment "in
    # the future" is still recent (CLOCK_SKEW_ALLOWANCE bounds the difference, shared/clock.py).
    recent = [c for c in changes if -CLOCK_SKEW_ALLOWANCE <= now - c.at <= window]
    return max(recent, key=lambda c: c.at, default=None)

