"""What a person needs to fix a write (or a read) refused PERMISSION_DENIED: the permission, named; and the gate's
words for a write its brakes held back (`braked`, `held_by_brake`), written here once for the gate that
says them and the answers that read them back.

Pure: reads the error Runwarden raised (and the Google error it was raised from), imports nothing
from Google.

Google's APIs usually name the permission: the message reads "Permission 'run.services.update' denied
on resource ... (or it may not exist)", and the status details carry a google.rpc.ErrorInfo with reason
IAM_PERMISSION_DENIED and the permission in its metadata (google/rpc/error_details.proto ErrorInfo;
google-api-core reads a gRPC error's ErrorInfo into the exception's `metadata`,
exceptions.from_grpc_error; a REST error carries it in the body's `details`). Not every refusal does:
"The caller does not have permission", with no ErrorInfo, is another shape Google's APIs answer with
(UNCONFIRMED for Cloud Run and VPC Access; google.rpc.Code PERMISSION_DENIED fixes no wording). Then
the outcome names what the action declares it needs (`Action.iam_permissions`, from which the
deployment's roles are derived: functions/permissions.py), so a person is never left with a bare
"permission denied".
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Any, Sequence


class DryRunBy(str, Enum):
    """Which brake made a write a dry run, as the gate's result says it (GateResult.dry_run_by)."""

    ASKED = "asked"     # the operator's command asked it (`dry_run: true`)
    MODE = "mode"       # the config's mode is dry_run
    SHADOW = "shadow"   # the action's own mode is dry_run (shadow mode), the config's not


def dry_run_by(*, asked: bool, config_dry_run: bool) -> DryRunBy:
    """The brake that holds a write back as a dry run, the command's own first (Gate._claimed's order)."""
    return DryRunBy.ASKED if asked else DryRunBy.MODE if config_dry_run else DryRunBy.SHADOW

# The gate's words for a write the kill switch or a pause held back (Gate._claimed's early check and
# Gate._stop_before_write): the operator's answer (shared/commands/held.py) and the sweep's held undo
# (shared/remediation/undo_by_hand.py) recognise the refusal by them.
BRAKE = "kill switch engaged"
SET_IN_CONFIG = "set in config"


def braked(switch: str) -> str:
    """The gate's refusal of a write held back by `switch` (the config's kill switch, or a pause's words)."""
    return f"{BRAKE}: no writes ({switch})"


def held_by_brake(refusal: str) -> bool:
    """Whether the gate held the write back for the kill switch or a pause (and for nothing else)."""
    return refusal.startswith(BRAKE)


# The gate's words for a write held back by the target's cooldown (Gate._cooldown) or a spent budget
# (Gate._budgets): each gives the claim back, as a brake does, and an alert's message held back by one is kept
# by its message (shared/remediation/held_messages.py).
COOLDOWN = "cooldown:"
BUDGET = "budget exhausted:"


def held_by_limit(refusal: str) -> bool:
    """Whether the gate held the write back for the target's cooldown or a spent budget."""
    return refusal.startswith((COOLDOWN, BUDGET))


_NAMED = re.compile(r"Permission '([a-z][A-Za-z0-9_.]*)' denied")
# Granted on the managed services' runtime service accounts, not on the project
# (functions/permissions.py, ON_RUNTIME_SERVICE_ACCOUNTS).
_ON_SERVICE_ACCOUNTS = frozenset({"iam.serviceAccounts.actAs"})


def denied_permission(exc: BaseException) -> str:
    """The permission a refusal names ("" when it names none): its ErrorInfo's `permission`
    (a gRPC error's, as google-api-core exposes it; a REST body's `details`), else the message's
    "Permission '...' denied", searched along the error's causes."""
    seen: BaseException | None = exc
    while seen is not None:
        named = _from_error_info(seen)
        if named:
            return named
        seen = seen.__cause__
    match = _NAMED.search(_messages(exc))
    return match.group(1) if match else ""


def permission_advice(action: str, declared: Sequence[str], named: str) -> str:
    """The sentence a PERMISSION_DENIED write's outcome ends with."""
    if named:
        where = " (on the service's runtime service account)" if named in _ON_SERVICE_ACCOUNTS else ""
        return f"; Runwarden's service account needs {named}{where}"
    places = ("iam.serviceAccounts.actAs on the service's runtime service account, the others on the "
              "target's project" if _ON_SERVICE_ACCOUNTS & set(declared) else "on the target's project")
    return (f"; the API did not name the permission: Runwarden's service account needs every permission {action} "
            f"declares: {', '.join(declared)} ({places})")


def read_permission_advice(needs: Sequence[str], exc: BaseException) -> str:
    """The words a PERMISSION_DENIED read's error ends with ("" when there is nothing to add). A read refused
    with no details ("The caller does not have permission", no ErrorInfo: see the module docstring) names
    `needs`, the permissions the adapter declares for the call (its `iam_permissions`, the same map the
    deployment's roles are derived from: functions/permissions.py); a refusal whose ErrorInfo names the
    permission is quoted; one whose message already names it needs nothing more."""
    if not needs or _NAMED.search(_messages(exc)):
        return ""
    named = denied_permission(exc)
    if named:
        return f"; Runwarden's service account needs {named}"
    return (f"; the API did not name the permission: Runwarden's service account needs {', '.join(needs)} "
            "in the project read")


def _from_error_info(error: BaseException) -> str:
    metadata = getattr(error, "metadata", None)   # a protobuf map (ErrorInfo.metadata), or None
    permission = metadata.get("permission") if callable(getattr(metadata, "get", None)) else None
    if isinstance(permission, str) and permission:
        return permission
    details: Any = getattr(error, "details", None)
    if isinstance(details, (list, tuple)):
        for detail in details:
            if isinstance(detail, dict) and detail.get("reason") == "IAM_PERMISSION_DENIED":
                permission = (detail.get("metadata") or {}).get("permission")
                if isinstance(permission, str) and permission:
                    return permission
    return ""


def _messages(exc: BaseException) -> str:
    parts, seen = [], exc
    while seen is not None:
        parts.append(str(seen))
        seen = seen.__cause__
    return " ".join(parts)
