"""What a person needs to fix a write (or a read) refused PERMISSION_DENIED: the permission, named; and the gate's
words for a write its brakes held back (`braked`), with the hold they say typed (`Held`, `Refused`), set by the
gate where it decides and read by every answer that tells one hold from another (`held_by_brake`,
`held_by_limit`); the words are read only for a record kept before the hold was (`held_of_words`).

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
from dataclasses import dataclass
from datetime import datetime
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

class Held(str, Enum):
    """Why the gate held a write back (or wrote nothing of its own), set where the gate decides (GateResult.held)
    and kept beside its words wherever they are kept (a held message's record: held_messages.py). Every answer that
    tells one hold from another reads this, never the words: a refusal reworded keeps its behaviour (what the sweep
    tells as undoable by hand, what an operator is reminded of, which message is kept held)."""

    KILL_SWITCH = "kill_switch"          # the config's guardrails.kill_switch: released by editing the config
    PAUSED = "paused"                    # the kill switch engaged by command, or a pause: released by a resume
    DRY_RUN = "dry_run"                  # the command's dry_run, the config's mode or the action's shadow mode
    COOLDOWN = "cooldown"                # the target's cooldown (Gate._cooldown)
    BUDGET = "budget"                    # a spent budget (Gate._budgets)
    BLAST_RADIUS = "blast_radius"        # the plan touches more targets than allowed (plan_refusal)
    BOUNDS = "bounds"                    # the plan is outside the action's bounds (plan_refusal)
    APPROVAL = "approval"                # a person's approval is required (plan_refusal)
    CLAIM_HELD = "claim_held"            # another attempt holds or completed the claim (duplicate_result)
    WRITE_IN_FLIGHT = "write_in_flight"  # another write to the target is being sent (Gate._take_writing)
    CLOSED = "closed"                    # the incident closed before the write (closed_before_write)
    CHANGED = "changed"                  # the target changed since the evidence was read (StaleEvidenceError)


_BRAKES = frozenset({Held.KILL_SWITCH, Held.PAUSED})
_LIMITS = frozenset({Held.COOLDOWN, Held.BUDGET})


@dataclass(frozen=True)
class Limit:
    """What a cooldown or a spent budget said in data, beside its words (Refused.limit, GateResult.limit): when the
    hold passes by itself, read by every answer that tells a person so (undo_by_hand), never parsed back out of the
    words, which are said to people and may be reworded."""

    until: datetime | None = None   # a cooldown: its lease's expires_at (Gate._cooldown)
    since: datetime | None = None   # a cooldown: its lease's claimed_at, when the write holding it took it
    scope: str = ""                 # a budget: whose it is, "target|<target>" or "global" (budget_buckets)
    bucket: str = ""                # a budget: the UTC hour (%Y-%m-%dT%H) or day (%Y-%m-%d) whose slots are spent
    capacity: int = 0               # a budget: its slots in that bucket, all taken


class Refused(str):
    """The gate's words for a write it held back, with the hold they say (`held`) and, for a cooldown or a budget,
    what it said in data (`limit`), so that what decided travels with the words from the check that made it to the
    result (GateResult.held, GateResult.limit)."""

    held: Held
    limit: Limit | None
    holder: str
    pauses: tuple[str, ...]
    by_command: bool

    def __new__(cls, words: str, held: Held, limit: Limit | None = None, holder: str = "",
                pauses: tuple[str, ...] = (), by_command: bool = False) -> "Refused":
        made = super().__new__(cls, words)
        made.held = held
        made.limit = limit
        # A cooldown's: the attempt that took it (its lease's owner), whose claim names the write that holds this
        # one back when its plan and record cannot be read yet (Gate._taken_with).
        made.holder = holder
        # A brake's: the brakes that hold the write beside the one `held` names (Switch.pauses, Switch.by_command),
        # each to lift before the write is sent again (`lifted_when`).
        made.pauses = pauses
        made.by_command = by_command
        return made


# The gate's words for a write the kill switch or a pause held back (Gate._claimed's early check and
# Gate._stop_before_write). Said to people; told apart by `Held`, never by these words, but for a record kept
# before the hold was kept beside them (`held_of_words`).
BRAKE = "kill switch engaged"
SET_IN_CONFIG = "set in config"
# The same for a write held back by one target's pause (of the target, or of a service it is made for), the kill
# switch not engaged: named as the brake it is, so that the operator lifts that pause and not the kill switch.
PAUSE_HEAD = "held by a pause"


class Switch(str):
    """Why writes are off (Gate.kill_switch), and which brake holds them: `paused`, the name whose pause does, the
    first where several do ("" for the kill switch, the config's or a command's); `pauses`, every name whose
    resume the answer says to send (the write stays held until each is lifted). Told by them, never by its words."""

    paused: str
    pauses: tuple[str, ...]
    by_command: bool

    def __new__(cls, words: str, paused: str = "", pauses: tuple[str, ...] = (), by_command: bool = False
                ) -> "Switch":
        made = super().__new__(cls, words)
        made.paused = paused
        made.pauses = pauses
        made.by_command = by_command   # the kill switch engaged by command holds the write (a resume releases it)
        return made


def brake_named(switch: str) -> str:
    """The brake `switch` stands for, as said at the head of an answer: the kill switch, or a pause."""
    return PAUSE_HEAD if getattr(switch, "paused", "") else BRAKE


def engaged_named(switch: str) -> str:
    """The brake `switch` stands for, as said of one that engaged: the kill switch, or a pause."""
    return "a pause engaged" if getattr(switch, "paused", "") else BRAKE


def braked(switch: str, held: Held) -> Refused:
    """The gate's refusal of a write held back by `switch` (the config's kill switch, or a pause's words), with
    every brake the switch says holds it."""
    return Refused(f"{brake_named(switch)}: no writes ({switch})", held, pauses=getattr(switch, "pauses", ()),
                   by_command=getattr(switch, "by_command", False))


def lifted_when(refusal: str, held: Held) -> str:
    """When a write a brake held back can be sent again, naming every brake `refusal` says holds it (`braked`):
    the config's kill switch changed alone, or the kill switch released alone, left it held by the others, and
    an answer naming them then saying "once the config is changed, send it again" told two things at once. ""
    when one resume is all it takes (one pause, or the kill switch by command alone): the caller says so."""
    pauses = tuple(getattr(refusal, "pauses", ()))
    by_command = bool(getattr(refusal, "by_command", False))
    lifts = ["guardrails.kill_switch is false in the config again"] if held is Held.KILL_SWITCH else []
    if by_command and (lifts or pauses):
        lifts.append("the kill switch engaged by command is released (runwarden resume)")
    if pauses and lifts:
        resumes = ", ".join(f"runwarden resume --target {name}" for name in pauses)
        lifts.append(f"{'the pause' if len(pauses) == 1 else 'each pause'} named is resumed ({resumes})")
    return "once " + " and ".join(lifts) if lifts else ""


def held_by_brake(held: Held | None) -> bool:
    """Whether the gate held the write back for the kill switch or a pause (and for nothing else)."""
    return held in _BRAKES


# The gate's words for a write held back by the target's cooldown (Gate._cooldown) or a spent budget
# (Gate._budgets): each gives the claim back, as a brake does, and an alert's message held back by one is kept
# by its message (shared/remediation/held_messages.py).
COOLDOWN = "cooldown:"
BUDGET = "budget exhausted:"


def held_by_limit(held: Held | None) -> bool:
    """Whether the gate held the write back for the target's cooldown or a spent budget."""
    return held in _LIMITS


def held_of_words(refusal: str) -> Held | None:
    """The hold a refusal's words name, read only for a record kept with words alone (a held message's record
    written before the hold was kept beside them: they stay in Firestore for claim_retention_seconds). The words
    the gate said then; anything else is None (told as no hold: a refusal reworded since is never guessed at)."""
    if refusal.startswith(BRAKE):
        # the config's switch, alone or with the other brakes beside it named after it (Gate._set_in_config)
        return Held.KILL_SWITCH if refusal.startswith(f"{BRAKE}: no writes ({SET_IN_CONFIG}") else Held.PAUSED
    if refusal.startswith(PAUSE_HEAD):
        return Held.PAUSED
    if refusal.startswith(COOLDOWN):
        return Held.COOLDOWN
    if refusal.startswith(BUDGET):
        return Held.BUDGET
    return None


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
