"""The single gate every write to Google Cloud passes through.

In order:
  1. blast radius: a request touching more targets than allowed is refused;
  2. bounds: the action's own limits (ceilings, age, steps) -> escalated;
  3. approval: a one-way action the policy does not allow alone -> proposed, with the exact change
     and a proposal record (id, expiry) that an operator's `approve` or `reject` names;
  4. kill switch (config, the Firestore flag, a pause of this target, or of a service the write is
     made for: `held_by`) -> skipped;
  5. idempotency claim on incident + target + action (atomic create) -> duplicate; an operator's
     command claims on its command_id instead of an incident; an expired claim taken over whose
     incident has another message's plan open or escalated -> escalated (`_unjudged_plan`);
  6. per-target cooldown, then budgets (per target per hour and day, global per hour) -> skipped,
     unless an operator's command carries override_limits (named in the result and the timeline);
     then the target's write claim (WRITING), which every write takes, cooldown or none, override or
     none, corrective or not: another write to the target in flight -> an operator's command is
     skipped naming it, an alert or the sweep's undo raises WriteInFlight (delivered again later);
  7. dry-run (global, shadow for this action, or the command's dry_run) -> everything but the write;
     its claim is of its own kind (DRY_RUN_CLAIMS), and an operator's dry run claims on its own
     command_id (an approve's too), so no dry run ever holds back a real write;
  8. right before the write: the kill switch again, and the incident must still be open;
  9. the write; on success the action is recorded for verification; on a transient failure every
     claim, cooldown and budget slot it took is released so a retry can proceed; on a permanent
     refusal the cooldown and slots are released and an alert's claim is kept `failed` for the
     cooldown (`_refused`: one report, not one per notification). The target's write claim is given
     back once the write has ended (kept until its lease when its outcome is unknown).
Nothing else in Runwarden calls an action's `apply`.
"""
from __future__ import annotations

import hashlib
import re
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from shared.remediation.actions import Action, all_actions
from shared.clock import CLOCK_SKEW_ALLOWANCE, Clock, skew_safe_lease
from shared.config import Config
from shared.diagnosis.connector_names import by_another_form
from shared.diagnosis.evidence import AlertContext, short_name
from shared.diagnosis.facts import clock_on
from shared.diagnosis.signatures import TargetBackground
from shared.errors import (AttemptInProgress, ChangedAroundWriteError, DamagedRecord, NotShownAfterWriteError,
                           OutcomeUnknownError, PermanentError, RunwardenError, StaleEvidenceError, TransientError, WriteInFlight)
from shared.outcomes import OutcomeStatus
from shared.ports import (ClaimRecord, ClaimResult, ClaimStatus, Completion, RecordWrite, StateStore,
                          require_state_store)
from shared.remediation import in_flight
from shared.remediation.history import closed_incident
from shared.remediation.own_changes import OwnChange, unrecorded_own_change
from shared.remediation.plans import (guard, held_as, held_for, held_write_said, of_claim, release_hint, siblings,
                                      unjudged)
from shared.remediation.pins import PinState, left_asked
from shared.remediation.refusals import (BUDGET, COOLDOWN, SET_IN_CONFIG, DryRunBy, Held, Limit, Refused, Switch,
                                         braked, denied_permission, dry_run_by, engaged_named, permission_advice)
from shared.remediation.records import (ACTIONS, FLAGS, INCIDENTS, INTENT_RETENTION, INTENTS, JUDGED_STATES,
                                        KILL_SWITCH, PINS, PROPOSALS, SETTLED, ActionRecord, ActionState,
                                        IncidentRecord, IntentRecord, IntentState, ProposalRecord, SettledEntry,
                                        SettledVerdict, claim_key, read_record, settled_field, stored_time,
                                        switch_time, verdict_field)
from shared.timeline.words import duration
from shared.timeline.writer import Timeline
from shared.workers import Workers

CLAIMS = "claims"
# How a verification sweep's owner begins (verification.Sweep: `sweep:<id>`). A sweep holds an alert's claim only to
# record an attempt's unrecorded write (adopt_write) or to hold an escalated plan (hold_escalated): a duplicate
# meeting such a claim unfinished reads what it holds (`Gate.held_plan`); one meeting a delivery's claim does not.
SWEEP_OWNER = "sweep:"
DRY_RUN_CLAIMS = "dry_run_claims"  # dry-run dedups too, without blocking a later real run
COOLDOWNS = "cooldowns"
# One write to a target at a time: a claim keyed by the target, taken by every write (in the commit of
# its claim on the alert path: no round trip of its own) and given back when the write has ended, so
# that two writes never go out at once on one state, with a cooldown of 0 too (where COOLDOWNS takes
# nothing). The APIs cannot refuse the second: a VPC Access connector carries no etag (the Connector
# message of google/cloud/vpcaccess/v1/vpc_access.proto has none, and its REST patch,
# `PATCH v1/{name}?updateMask=…`, takes no precondition: the vpcaccess.v1 discovery document), and
# whether Cloud Run enforces the etag sent on UpdateService is UNCONFIRMED (docs/behaviour.md).
WRITING = "writing"
BUDGETS = "budgets"
_SLOT_RETENTION = timedelta(days=2)   # a budget slot outlives any bucket it counts
# The check right before the write, made while the gate commits (`_take_all_and_check`), on threads
# kept for the instance's life (shared/workers.py).
_GATE_CHECK = Workers("gate-check", 4)
# The claims one attempt may hold at once, read to name the write whose cooldown or write claim holds another
# back (Gate._taken_with): its incident's, and an operator's command's over several targets.
_HOLDER_CLAIMS = 10
# The intent stored while the gate commits (shared/remediation/intents.py), likewise.
_GATE_INTENT = Workers("gate-intent", 4)
# The query of engaged pauses a connector's write reads with its switches (`Gate.paused_otherwise`), sent beside
# the batched read of the switches rather than after it (`Gate._pauses_ahead`), likewise: independent reads, so
# one round trip on the way to the write where there were two, each time the switches are read for a connector.
_PAUSE_QUERY = Workers("pause-query", 4)
# A plan's create refused, then not found when read (deleted meanwhile): created again at most so often.
_INTENT_ATTEMPTS = 3


@dataclass
class GateResult:
    status: OutcomeStatus
    reason: str
    after: dict[str, Any] | None = None
    claim_key: str | None = None
    notes: list[str] = field(default_factory=list)
    proposal: ProposalRecord | None = None
    overrides: list[str] = field(default_factory=list)
    # The write reached the API and may have taken (applied; sent with its answer lost; applied and
    # not recorded). False for every answer that wrote nothing, an `escalated` one included: a
    # bound that refuses the plan, or a target that changed under the decision (StaleEvidenceError).
    written: bool = False
    # Answered from a claim another attempt holds or completed (`duplicate_result`; an adopted write another
    # delivery recorded or escalated, `Gate._adopted_elsewhere`, `Gate._reported_with_twin`): this attempt wrote
    # nothing of its own, and the claim's kept result says how the first one ended. Told here, never by the
    # reason's words (the sweep's undo reads it: verification.Sweep._undo).
    duplicate: bool = False
    # A `dry_run` answer: which brake made it one (the command's own dry_run, the config's mode, the action's
    # shadow mode). None for every other answer. Told here, never by the reason's words (shared/commands/held.py).
    dry_run_by: DryRunBy | None = None
    # What held the write back (or why this attempt wrote nothing of its own): the kill switch, a pause, a dry run,
    # a cooldown, a budget, the plan's bounds, an approval required, a claim held... Set where the gate decides,
    # None for a write sent and for a failure of the API. Told here, never by the reason's words, which are said
    # to people and may be reworded (shared/remediation/refusals.py, Held).
    held: Held | None = None
    # A cooldown's or a spent budget's hold in data (when it passes by itself: refusals.Limit), None for any other
    # answer. Read where a person is told when the hold passes (undo_by_hand), never parsed out of the reason.
    limit: Limit | None = None


@dataclass(frozen=True)
class Manual:
    """An operator's command behind a write. The caller has already checked that override_limits
    comes from a principal in `operators`."""

    command_id: str
    requested_by: str
    override_limits: bool = False
    dry_run: bool = False
    approved: str = ""      # the proposal an operator approved: the approval step is satisfied
    digest: str = ""        # what the command asked (alerts.commands.command_digest), kept in its records


def pause_key(target: str) -> str:
    """The FLAGS record that pauses writes to one target."""
    return f"pause|{target}"


def bound_key(target: str) -> str:
    """The key a target's cooldown, write claim and budgets are kept under: for a connector, its location and
    connector id alone (locations/L/connectors/C), which both names of it share ("{project} can be project id or
    number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto): a write by one name is bounded by a
    write by the other, as by a second write by the same name, where keyed by the exact name one connector had two
    cooldowns and two budgets. Two connectors of two projects with the same location and id share them too, which
    only holds a write back (docs/behaviour.md). Any other target (a service) is its own key, as before."""
    parts = target.split("/")
    if len(parts) == 6 and (parts[0], parts[2], parts[4]) == ("projects", "locations", "connectors"):
        return "/".join(parts[2:])
    return target


def bound_keys(target: str) -> tuple[str, ...]:
    """`bound_key`, then the exact name where it differs: a cooldown, write claim or budget slot stored under
    the exact name before bounds were keyed by `bound_key` still holds a write back until it lapses."""
    key = bound_key(target)
    return (key,) if key == target else (key, target)


def legacy_slot(slot: str, target: str) -> str | None:
    """The slot a write to `target` took before budgets were keyed by `bound_key` (its exact name) at the place
    of `slot`, one of its target's budget slots now; None for a global slot or a target keyed as before. Slot i
    is taken when either is, so a bucket written across the change still counts each write once: never N + 1."""
    key, prefix = bound_key(target), f"target|{bound_key(target)}|"
    if key == target or not slot.startswith(prefix):
        return None
    return f"target|{target}|{slot[len(prefix):]}"


@dataclass(frozen=True)
class ExactNameLeases:
    """The cooldown and write claim a version before `bound_key` stored under a connector's exact name
    (`bound_keys`), as the gate's one batched read before the claim found them (`gate_reads` reads both): the
    one-at-a-time path judges them from here, not by a read of its own per key (`Gate._legacy_held`), as the
    one-commit path always has (`_legacy_live`). This version never writes these keys: a lease stored before the
    read holds until it lapses, judged at the time asked; one an instance of the earlier version stores after it
    (during an upgrade) is not seen, on either path, and the read again narrowed that by milliseconds only: the
    upgrade's kill switch closes it (docs/behaviour.md, "During an upgrade").
    `read`: the kinds the batch read (COOLDOWNS, WRITING), each with its record as read, None where absent."""

    target: str
    read: Mapping[str, dict[str, Any] | None]

    @classmethod
    def of(cls, target: str, found: Mapping[tuple[str, str], dict[str, Any] | None] | None
           ) -> "ExactNameLeases | None":
        """Those of `target` in the batched answer `found`; None when there is none, or the target is keyed as
        before (a service: nothing to judge), so the gate reads them itself."""
        if found is None or bound_key(target) == target:
            return None
        return cls(target, {kind: found[(kind, target)] for kind in (COOLDOWNS, WRITING) if (kind, target) in found})

    def answers(self, kind: str, target: str) -> bool:
        return self.target == target and kind in self.read

    def held(self, kind: str, now: datetime) -> ClaimRecord | None:
        """The lease under `kind` while it has not lapsed at `now`; one this version cannot read raises
        DamagedRecord naming it, as the store's own read of it does (firestore._record)."""
        data = self.read[kind]
        lease = None if data is None else read_record(ClaimRecord, data, kind, self.target)
        return lease if lease is not None and not lease.expired(now) else None


def command_incident(command_id: str) -> str:
    """The incident id a manual command's claim and records carry: its command_id."""
    return f"command:{command_id}"


def proposal_id_for(key: str) -> str:
    return "p-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def budget_buckets(config: Config, target: str, now: datetime) -> list[tuple[str, str, int]]:
    """(scope, bucket, capacity) of every budget an action on `target` at `now` takes a slot of."""
    g = config.guardrails
    scope = f"target|{bound_key(target)}"
    return [(scope, f"{now:%Y-%m-%dT%H}", g.max_actions_per_target_per_hour),
            (scope, f"{now:%Y-%m-%d}", g.max_actions_per_target_per_day),
            ("global", f"{now:%Y-%m-%dT%H}", g.max_actions_per_hour)]


def slot_keys(bucket: str, capacity: int) -> list[str]:
    """The BUDGETS claim keys of a bucket's slots."""
    return [f"{bucket}#{i}" for i in range(capacity)]


def _stored(note: Future) -> bool:
    """A finished intent's store that succeeded."""
    return note.done() and not note.cancelled() and note.exception() is None


def runs_dry(config: Config, action: str, manual: Manual | None = None) -> bool:
    """Whether the gate runs `action` as a dry run, writing nothing to the target: the config's mode,
    the action's shadow mode, or the command's own `dry_run`."""
    return config.action_dry_run(action) or bool(manual and manual.dry_run)


class MaybeBehind(str):
    """A service the write may be made for, not one it is: during an alert on a connector or a Cloud
    SQL instance, a managed service that could not be read (or was beyond the services read), so it
    may be behind the resource (collection.Users.maybe). Its pause holds the write back all the same
    (precision), and the answer says it only may be behind it.

    `read`: which read left it unknown, when it was not the alert's: an approve's own read at its time, with
    the refusal ("this approve (its own read of Cloud Run at ...: ...)"). The answer names that read, and what
    the operator can do; without it, the alert's read ("could not be read during the alert")."""

    read: str

    def __new__(cls, name: str, read: str = "") -> "MaybeBehind":
        made = super().__new__(cls, name)
        made.read = read
        return made


def held_by(target: str | None, on_behalf: Sequence[str] = ()) -> tuple[str, ...]:
    """Whose pause holds back a write to `target`: the target's own, then that of each service the
    write is made for (whose alert or diagnosis led to it: a connector scaled for a service's alert,
    or for a connector alert, every managed service behind the connector, the write being made on
    their behalf). An operator who pauses a service expects nothing done because of its alerts."""
    return tuple(dict.fromkeys(name for name in (target, *on_behalf) if name))


def _switch_reads(paused: Sequence[str]) -> list[tuple[str, str]]:
    return [(FLAGS, KILL_SWITCH), *((FLAGS, pause_key(name)) for name in paused)]


def _flag_by(flag: Mapping[str, Any]) -> str:
    """Who engaged a switch, and when: "since when" is what a person held back checks first (a pause left on
    since yesterday, or one sent a minute ago for this incident); the time as every answer says it
    (records.switch_time)."""
    by = str(flag.get("by") or "an operator")
    at = switch_time(flag)
    return f"{by} at {at}" if at else by


class PauseHold(NamedTuple):
    """One engaged pause that holds a write back: the name it was paused by, what is said of it (who, when, why,
    and why it holds this write), and whether `runwarden resume --target {name}` lifts it (`lifted`: False for
    pauses past those read, which no one name lifts, and for an approve's own read, whose words say what to do)."""

    name: str
    words: str
    lifted: bool = True


def _switch_reason(paused: Sequence[str], found: Mapping[tuple[str, str], dict[str, Any] | None],
                   otherwise: Callable[[list[PauseHold]], Sequence[PauseHold]] = lambda keyed: ()) -> str:
    """Why the switches read in `found` hold the write back, or "". `paused`: `held_by(...)`, the
    write's target first; `otherwise`: the pauses of the target under another spelling (`Gate._pauses_answer`),
    given the pauses read by key.
    The kill switch, when engaged, is named first (its resume is the one to send first), then every pause that
    holds the write beside it: named alone, it was released and the operator stayed held by a pause no answer
    had named. Without it, every pause that holds the write, as one resume lifts one pause and the write stays
    held while any other holds it."""
    flag = found.get((FLAGS, KILL_SWITCH))
    keyed = _keyed_holds(paused, found)
    if flag and flag.get("engaged"):
        holds = [*keyed, *_also_otherwise(otherwise, keyed)]
        said = f"set by {_flag_by(flag)}: {flag.get('reason') or 'no reason given'}"
        return Switch(said + _beside_kill_switch(holds), by_command=True,
                      pauses=tuple(dict.fromkeys(hold.name for hold in holds if hold.lifted)))
    return held_by_pauses([*keyed, *otherwise(keyed)])


def _also_otherwise(otherwise: Callable[[list[PauseHold]], Sequence[PauseHold]], keyed: list[PauseHold]
                    ) -> Sequence[PauseHold]:
    """The pauses of the target under another spelling, read beside an engaged kill switch: the write is held by
    the kill switch whatever the read answers, so its fault, transient or refused for good (a query Firestore
    refuses, FAILED_PRECONDITION), is said as a pause not read, never raised: raised, a held write was `failed`."""
    try:
        return otherwise(keyed)
    except (TransientError, PermanentError) as exc:
        return [PauseHold("?", f"whether another pause holds this write too was not read ({exc})", lifted=False)]


def _beside_kill_switch(holds: Sequence[PauseHold]) -> str:
    """The pauses that hold a write beside the engaged kill switch, said with how each is lifted, or "": released
    alone, the kill switch leaves the write held by each of them (a resume without a target lifts no pause)."""
    if not holds:
        return ""
    shown = holds[:HOLDS_NAMED]
    more = f"; and {len(holds) - len(shown)} more (runwarden status lists them)" if len(holds) > len(shown) else ""
    said = "; ".join(f"({n}) {hold.words}" for n, hold in enumerate(shown, 1))
    lifts = ", ".join(f"runwarden resume --target {hold.name} --reason '...'" for hold in shown if hold.lifted)
    counted = f"{len(holds)} pauses hold" if len(holds) > 1 else "1 pause holds"
    return (f"; and beside the kill switch, {counted} this write too, so releasing the kill switch alone leaves it "
            f"held: {said}{more}"
            + (f" (lifted by {lifts}{', and each other one' if more else ''})" if lifts else ""))


def _keyed_holds(paused: Sequence[str], found: Mapping[tuple[str, str], dict[str, Any] | None]) -> list[PauseHold]:
    """The engaged pauses among those read by key in `found`: the target's own, and each service's it is made for."""
    holds = []
    for name in paused:
        flag = found.get((FLAGS, pause_key(name)))
        if flag and flag.get("engaged"):
            why = f"{name} paused by {_flag_by(flag)}: {flag.get('reason') or 'no reason given'}"
            if isinstance(name, MaybeBehind):
                why += _maybe_behind(name, paused[0])
            elif name != paused[0]:
                why += (f"; the write to {paused[0]} is made for its alert, and a pause of a service holds back "
                        "every write made for it")
            # an approve's own read of a service maybe behind says what to do, its resume among it
            holds.append(PauseHold(str(name), why, lifted=not (isinstance(name, MaybeBehind) and name.read)))
    return holds


# The pauses named one by one where several hold one write; past these, their count ("and 2 more").
HOLDS_NAMED = 3


def held_by_pauses(holds: Sequence[PauseHold]) -> Switch | str:
    """The pauses in `holds` said as the brake on a write, or "". One is said with how it is lifted; several are
    each named (at most HOLDS_NAMED, then how many more), and the answer says that the write stays held until
    every one is lifted: told "lift this pause" of one of two, an operator resumed it and stayed held."""
    if not holds:
        return ""
    names = tuple(dict.fromkeys(hold.name for hold in holds if hold.lifted))
    if len(holds) == 1:
        [hold] = holds
        return Switch(hold.words + (_lifted_by(hold.name) if hold.lifted else ""), paused=hold.name, pauses=names)
    shown = holds[:HOLDS_NAMED]
    more = f"; and {len(holds) - len(shown)} more (runwarden status lists them)" if len(holds) > len(shown) else ""
    said = "; ".join(f"({n}) {hold.words}" for n, hold in enumerate(shown, 1))
    lifts = ", then ".join(f"runwarden resume --target {name} --reason '...'" for name in names[:HOLDS_NAMED])
    return Switch(f"{len(holds)} pauses hold this write: {said}{more}; the kill switch is not engaged, and the "
                  f"write stays held until every one of them is lifted"
                  + (f" ({lifts}{', and each other one' if more else ''})" if lifts else ""),
                  paused=holds[0].name, pauses=names)


def _lifted_by(name: str) -> str:
    """How the pause of `name` is lifted, said where it alone holds a write back: the kill switch is another flag,
    and an operator told "kill switch engaged" released it (engaged by no one) and stayed held."""
    return f"; the kill switch is not engaged: lift this pause with runwarden resume --target {name} --reason '...'"


# Engaged pauses read when a write's target is a connector, to find one that names it by another form of its
# project (`paused_otherwise`); past this many, which of them do is not known, and the write is held.
SPELLINGS_READ = 100


def paused_otherwise(target: str, pauses: Sequence[Mapping[str, Any]], more: bool) -> str:
    """Why the engaged pauses of the same connector under another spelling hold back a write to `target`, or "":
    `other_spellings` said as the brake (`held_by_pauses`)."""
    return held_by_pauses(other_spellings(target, pauses, more))


def other_spellings(target: str, pauses: Sequence[Mapping[str, Any]], more: bool) -> list[PauseHold]:
    """The engaged pauses of the same connector under another spelling, each of which holds back a write to
    `target`. A pause is keyed by the name as the person wrote it (`pause_key`), and a connector has two: "{project}
    can be project id or number" (VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto). A pause by id
    does not match a write to the name by number (a revision's spelling, under the default policy, which an
    approve applies), nor the other way, though they may be one connector; what the names alone cannot tell is
    held (fail closed: connector_names.by_another_form). `pauses`: engaged pause flags; `more`: some were not read."""
    if "/connectors/" not in target:
        return []
    holds = [PauseHold(named, f"{named} paused by {_flag_by(flag)}: {flag.get('reason') or 'no reason given'}; "
                              f"{target} may be the same connector, its project named by the other form (number or "
                              f"id, which the names alone cannot tell), so the pause holds it back too")
             for flag in pauses
             if (named := str(flag.get("target") or "")) != target and by_another_form(target, named)]
    if more:
        holds.append(PauseHold(target, f"more than {SPELLINGS_READ} pauses are engaged, and whether one names "
                                       f"{target} by the other form of its project (number or id) was not read: "
                                       "held, as such a pause would hold it", lifted=False))
    return holds


def _maybe_behind(name: MaybeBehind, target: str) -> str:
    """Why the pause of a service only maybe behind `target` holds its write back: which read left it unknown
    (the alert's, or an approve's own, now), and, for an approve, what the operator can do."""
    if not name.read:
        return (f"; {name} could not be read during the alert, so it may be behind {target} (or may not): the write "
                f"to {target} may be made for its alert, and a pause of a service holds back every write that may "
                "be made for it")
    return (f"; {name} could not be read by {name.read}, so it may be behind {target} (or may not): the write to "
            f"{target} may be made for it, and a pause of a service holds back every write that may be made for it; "
            "once it can be read, approve again (the approve reads it again: not behind the connector, its pause "
            "holds nothing back; behind it, the approval is refused for a person to decide afresh); or, if its "
            f"pause is no longer wanted, runwarden resume --target {name} --reason '...'")


def duplicate_result(action: str, target: str, key: str, held: ClaimRecord, policy: str = "",
                     message_id: str | None = None, started_at: int | None = None,
                     plan: IntentRecord | None = None) -> GateResult:
    """The gate's answer when `held` already claims this action on this target for the incident.
    (An unfinished claim of an earlier attempt at the same message is not a duplicate: InProgress.)

    The first result's status is named: when the first attempt's own outcome could not be
    published (it raised, and this is the redelivery), this outcome is the one that reports it.

    `policy`: the alert policy (its resource name, Incident.policy_resource) of the notification
    answered now. A claim completed for another policy's notification under the same incident id is
    no duplicate of it: see `other_policy`. `started_at`: the incident's start as this notification
    says it; a claim completed for a notification that said another start is no duplicate of it either:
    see `other_start`.

    `plan`: the write an unfinished claim holds (`Gate.held_plan`), named with who holds it and until when
    (plans.held_write_said): a write made and not recorded, held by a sweep that took the claim over to record it
    and whose record failed, was answered "already claimed" alone, and a person heard of it only from the sweep
    past the claim's lease. Said for a claim not completed only."""
    other = other_policy(action, target, held, policy) or other_start(action, target, held, started_at)
    if other is not None:
        return other
    first = held.result.get("status")
    reason = (f"duplicate: {action} on {target} for this incident is already {held.status.value}"
              + (f" ({first})" if first else "") + f" (since {held.claimed_at.isoformat()})")
    if plan is not None and held.status is not ClaimStatus.COMPLETED:
        reason += held_write_said(held.owner, held.claimed_at, held.expires_at, plan)
    if first == OutcomeStatus.ESCALATED.value and held.result.get("reason") and message_id \
            and _message_of(held.owner) == message_id:
        # The hold of an escalated plan, answered by the very message redelivered (Gate._held_for_escalated):
        # its attempt raised after completing the claim (its answer's publish failed), so this answer is
        # the one that reaches a person. A `skipped` duplicate here lost the escalation.
        return GateResult(OutcomeStatus.ESCALATED, str(held.result["reason"]), claim_key=key)
    if first == OutcomeStatus.FAILED.value and held.result.get("reason"):
        # A refusal kept for the cooldown (Gate._refused): what it said, and until when it holds.
        if message_id and _message_of(held.owner) == message_id:
            # The very message redelivered: its attempt raised after the refusal (its answer's publish
            # failed), so this answer is the one that reaches a person, `failed` as it was.
            return GateResult(OutcomeStatus.FAILED, str(held.result["reason"]), claim_key=key)
        reason += f"; it was answered: {held.result['reason']}"
    return GateResult(OutcomeStatus.SKIPPED, reason, after=held.result.get("after"), claim_key=key, duplicate=True,
                      held=Held.CLAIM_HELD)


def other_policy(action: str, target: str, held: ClaimRecord, policy: str) -> GateResult | None:
    """`escalated` when `held` was completed for a notification of another alert policy than `policy`
    under the same incident id, else None. Monitoring gives each incident its own id, and an incident
    belongs to one policy (its notifications carry the policy's condition); two policies under one id
    came through something that reuses ids (a relay, a hand-written payload). Answered as a duplicate,
    the second policy's alert, perhaps on another resource, was dropped where nobody hears of it; it is
    not diagnosed either (its id's records are the first policy's), so a person is told. A claim that
    names no policy (completed before claims kept it, or for a notification without a condition name)
    is taken as the same policy's."""
    first = held.result.get("policy")
    if not policy or not isinstance(first, str) or not first or first == policy:
        return None
    return GateResult(OutcomeStatus.ESCALATED, (
        f"this incident id was already acted on for alert policy {first} ({action} on {target}, "
        f"{held.result.get('status') or held.status.value} since {held.claimed_at.isoformat()}), and this "
        f"notification is from alert policy {policy}: two policies under one incident id are not one incident (a "
        "relay that reuses ids?); nothing was diagnosed or written for it: a person must look"),
        after=held.result.get("after"), claim_key=held.key)


def other_start(action: str, target: str, held: ClaimRecord, started_at: int | None) -> GateResult | None:
    """`escalated` when `held` was completed for a notification of this incident id that said it started
    at another time than `started_at`, else None (either unknown: a claim completed before claims kept
    the start, an operator's command). See `restarted`."""
    first = _whole_seconds(held.result.get("started_at"))
    if started_at is None or first is None or first == started_at:
        return None
    return GateResult(OutcomeStatus.ESCALATED, restarted(
        f"{action} on {target}, {held.result.get('status') or held.status.value} since {held.claimed_at.isoformat()}",
        first, started_at), after=held.result.get("after"), claim_key=held.key)


def _whole_seconds(recorded: object) -> int | None:
    """A start as a claim recorded it, when it is a whole number of seconds (a JSON integer), else None (not
    recorded, or something else: a bool, though Python counts it an int, is no time)."""
    return recorded if type(recorded) is int else None


def restarted(acted: str, first: int, started_at: int) -> str:
    """Why an OPEN whose incident id was already acted on, but whose `started_at` is not the one it was
    acted on for, is escalated, not answered as a duplicate. Monitoring opens an incident "when the
    condition of an alerting policy is met", and a new one, with its own id, when it is met again
    (Cloud Monitoring, "Incidents for metric-based alerting policies"); every re-notification of an open
    incident (renotifyInterval) and every redelivery repeats its start (the same `incident_id` in
    an incident's open and closed notifications: Cloud Monitoring's schema 1.2 example, every sample). Whether
    Monitoring ever restates an incident's start under its id is UNCONFIRMED: no doc nor sample says so. Under
    either reading nothing is written again (one incident is acted on once); but if the id was reused (a
    relay, a payload written by hand) or the CLOSED between two episodes was lost, this OPEN is a new failure
    after the first one's fix, and a `skipped` duplicate dropped it where nobody hears of it. So a person
    is told, with both starts."""
    return (f"this incident id was already answered ({acted}) for a notification saying it started at {first} "
            f"({_utc(first)}), and this notification says it started at {started_at} ({_utc(started_at)}): "
            "Monitoring repeats an incident's start in every notification of it, so this may be a new episode "
            "under a reused id, or one whose closing was lost; nothing was diagnosed or written for it (one "
            "incident is acted on once): a person must look whether the service is failing again")


def _utc(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


def message_of(owner: str) -> str:
    """The message part of an attempt's owner ("MESSAGE_ID:ATTEMPT")."""
    return owner.rpartition(":")[0]


_message_of = message_of


class InProgress(AttemptInProgress):
    """An earlier attempt at this very message holds the claim and has not finished.

    Pub/Sub delivers a message again only when its push was not acknowledged: the first attempt
    crashed, timed out, or is still running past the ack deadline. Acknowledging this delivery
    as a duplicate would lose the incident if that attempt died; raising lets Pub/Sub deliver
    it again, by when the claim is completed (a duplicate) or has expired (taken over)."""


def _own_message_in_progress(held: ClaimRecord, owner: str, message_id: str | None) -> bool:
    """True if `held` is an unfinished claim of another attempt at message `message_id` (an
    alert attempt's owner is `{message_id}:{attempt}`, shared.pipeline)."""
    return (bool(message_id) and held.status is ClaimStatus.CLAIMED and held.owner != owner
            and _message_of(held.owner) == message_id)


@dataclass
class _Held:
    """What one attempt took, so that a failure can give all of it back."""

    claim: tuple[str, str] | None = None
    cooldown: str | None = None
    writing: str | None = None            # the target whose write claim (WRITING) this attempt holds
    writing_until: datetime | None = None  # and when that claim lapses (its lease), said if it cannot be given back
    writing_kept: bool = False             # kept past the write (its outcome unknown): named in its action record
    slots: list[str] = field(default_factory=list)
    record: ClaimRecord | None = None   # the claim as taken: its completion is guarded by it (`_settle`)
    intent: IntentRecord | None = None  # the plan stored before the write: closed with the record, or given back
    report: dict[str, Any] | None = None  # merged into the intent as it is closed (adopt_write: the sweep's report)
    guards: list[RecordWrite] = field(default_factory=list)  # adopt_write: other plans that must still be open
    # The rollback target's steady background the plan was made with (Plan.target_background): kept in the
    # action record, so that the sweep judges the rollback at it.
    background: TargetBackground | None = None
    # The exact-name cooldown and write claim as the gate's batched read found them (a connector's, read before
    # the claim): the one-at-a-time path judges them from here, with no read of its own (`Gate._legacy_held`).
    legacy: ExactNameLeases | None = None


# What a person is told of a write its attempt could not record: whether the sweep's backstop
# (shared/remediation/intents.py) will record it for the verification sweep, which needs its intent.
_UNTIL_SWEPT = {
    True: ("The verification sweep does not judge it yet: once this attempt's claim lapses, the sweep records it "
           "from its intent if it is still unrecorded, and says so"),
    False: "The verification sweep will not judge it",
}


def plan_refusal(config: Config, action: Action, params: Any, before: dict[str, Any], targets: list[str],
                 now: datetime, manual: Manual | None = None) -> GateResult | None:
    """Blast radius, bounds and approval: what refuses a plan before anything is read. Pure: the
    plan and the config alone decide it (`runwarden eval` uses it to tell `applied` from `proposed`
    and `escalated` without a state store)."""
    limit = config.bounds.max_targets_per_plan
    if len(targets) > limit:
        return GateResult(OutcomeStatus.ESCALATED,
                          f"blast radius: the plan touches {len(targets)} targets, more than {limit}",
                          held=Held.BLAST_RADIUS)
    violations = action.bounds_violations(params, config, now)
    if violations:
        return GateResult(OutcomeStatus.ESCALATED, "outside bounds: " + "; ".join(violations), held=Held.BOUNDS)
    # An operator's command is itself the person's decision; an approval satisfies it too.
    approval = "" if manual else action.needs_approval(params, config)
    if approval:
        return GateResult(OutcomeStatus.PROPOSED, f"proposed, not applied: {approval}",
                          after=action.preview(params, before), notes=action.notes(params), held=Held.APPROVAL)
    return None


@dataclass(frozen=True)
class GateReads:
    """What the gate reads before it takes anything, for one target at one time: the kill switch,
    the pauses that hold a write to it back (`held_by`: its own, and those of the services it is
    made for), its cooldown, its write claim, and every slot of its budgets. One batched read, which
    the pipeline makes while the evidence is being read (`Gate.read_ahead`).

    Reading early is safe because nothing here is trusted for the write: the switches are read
    again right before it, and every claim, cooldown and slot is taken by an atomic create that
    fails if the document appeared since (then the gate takes them one at a time, as before)."""

    target: str
    buckets: tuple[tuple[str, str, int], ...]        # budget_buckets(...) when read
    found: Mapping[tuple[str, str], dict[str, Any] | None]
    paused: tuple[str, ...] = ()                     # held_by(...): whose pauses were read
    # A connector's query of the engaged pauses (`Gate.paused_otherwise`), sent beside the batched read
    # (`Gate._pauses_ahead`): the switches' other half, as fresh as they are. None: not sent (the gate makes it).
    pauses: Future | None = field(default=None, compare=False)

    def serves(self, target: str, buckets: list[tuple[str, str, int]], paused: Sequence[str] = ()) -> bool:
        return self.target == target and list(self.buckets) == buckets and set(paused) <= set(self.paused)

    def braked(self) -> bool:
        """Whether a switch read here was engaged: the kill switch, or a pause of a name in `paused`. A write made
        for those names is then held back by the switches alone, whatever a connector's pause query would say."""
        return bool(_switch_reason(self.paused, self.found))


class Unrecovered(str):
    """A reason to stop right before the write that a person must hear of: the write is held back
    (`escalated`, not `skipped`) because the incident closed with nothing showing it recovered."""


def closed_before_write(closed: IncidentRecord, policy: str = "") -> str:
    """Why a write is not sent because its incident closed since the diagnosis. Closed with Monitoring's
    own measurement on the clear side of the bar (IncidentRecord.recovery), the failure is over: nothing
    to tell. Closed with nothing that shows recovery (a snooze on the policy: "When you apply a snooze to
    a metric-based ... alerting policy, Monitoring also closes all alerts related to the alerting policy",
    Cloud Monitoring, "Snoozes"; data that stopped, AlertStrategy.auto_close; a close by hand; the policy
    edited), the failure Runwarden diagnosed and was about to fix may still be going on, and a snooze
    silences Monitoring's own notifications of it: skipped, nobody heard that the fix was held back. So it
    is escalated (Unrecovered), naming the closing; a person decides. Nothing is written either way."""
    when = f"{closed.closed_at:%Y-%m-%d %H:%M:%S} UTC" if closed.closed_at else "an unknown time"
    if policy and closed.policy and closed.policy != policy:
        # Another policy's CLOSED under the same incident id (`other_policy`): not this incident's closing.
        return Unrecovered(
            f"incident {closed.incident_id} was closed at {when}, before the write, by a notification of alert policy "
            f"{closed.policy}, and this alert is from alert policy {policy}: two policies under one incident id are "
            "not one incident (a relay that reuses ids?); the fix was not sent; a person must look")
    if closed.recovery:
        return (f"incident {closed.incident_id} closed ({closed.closed_by}) at {when}, before the write, showing "
                f"recovery ({closed.recovery}); nothing written")
    return Unrecovered(
        f"incident {closed.incident_id} closed ({closed.closed_by}) at {when}, before the write, with nothing that "
        "shows it recovered (a snooze on the policy, data that stopped arriving, a close by hand or an edit of the "
        "policy close an incident too): the fix was not sent, and the failure diagnosed may still be going on; a "
        "person must look")


class Gate:
    def __init__(self, config: Config, state: StateStore, clock: Clock, owner: str,
                 timeline: Timeline | None = None, message_id: str | None = None,
                 alert: AlertContext | Callable[[], AlertContext] | None = None, policy: str = "",
                 started_at: int | None = None) -> None:
        self.config = config
        self.state = require_state_store(state)   # every method of the port: no path for a store without one
        self.clock = clock
        self.owner = owner  # who holds a claim: this attempt at handling a message
        self.timeline = timeline
        # The alert message this attempt handles: a claim held unfinished by another attempt at
        # the same message is not a duplicate but that message in progress (InProgress).
        self.message_id = message_id
        # The alert this attempt handles, kept in the action record: the sweep verifies at its bar.
        # Given as a function, it is built when first read: only a write's record reads it, and a
        # duplicate, answered before any write, never does (docs/performance.md).
        self._alert = alert
        # Its alert policy's resource name (Incident.policy_resource), kept in the claims it completes:
        # another policy's notification under the same incident id is no duplicate (`other_policy`).
        self.policy = policy
        # Its incident's start (Incident.started_at), kept in the claims it completes and in its action
        # record: an OPEN of the same id that says another start is no duplicate (`other_start`).
        self.started_at = started_at
        # When the diagnosis this attempt's write is decided on read its evidence (set once it has, by the
        # alert's pipeline or an approve): kept in the action record and the proposal (ActionRecord.
        # evidence_read_at); None for an operator's own command.
        self.evidence_read_at: datetime | None = None

    @property
    def alert(self) -> AlertContext | None:
        if callable(self._alert):
            self._alert = self._alert()
        return self._alert

    def _completion(self, status: OutcomeStatus, after: Any) -> dict[str, Any]:
        """What a completed claim keeps: the result, and the alert policy and start it was taken for."""
        return {"status": status.value, "after": after, **({"policy": self.policy} if self.policy else {}),
                **({"started_at": self.started_at} if self.started_at is not None else {})}

    # --- the one way to write -------------------------------------------------------------------

    def execute(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any, *,
                service: str | None = None, signature: str = "", targets: list[str] | None = None,
                manual: Manual | None = None, reads: GateReads | None = None,
                own_changes: tuple[OwnChange, ...] = (), on_behalf: Sequence[str] | None = None,
                users_of: str = "", background: TargetBackground | None = None) -> GateResult:
        """`reads`: the gate's reads made ahead (`read_ahead`). Used when they are for this target
        and this hour's buckets; otherwise the gate makes them itself, in one batched read.
        `on_behalf`: the services the write is made for (`held_by`); `service` when not given.
        `own_changes`: Runwarden's own changes of the target in the platform's audit log (the
        plan's); one its state has no record of holds the action back (`_unrecorded_change`).
        `users_of`: the connector whose managed users the write is made for (a connector alert's), kept
        in a proposal so that its approve re-reads who is behind it (ProposalRecord.users_of).
        `background`: a rollback target's steady background of 5xx (Plan.target_background), kept in the plan
        stored before the write and in the action record: the sweep judges the rollback at it."""
        now = self.clock.now()
        targets = targets if targets is not None else [params.target]
        dry_run = runs_dry(self.config, action.name, manual)
        at_once = self._at_once(action, dry_run, manual)
        paused = held_by(params.target, on_behalf if on_behalf is not None else [service] if service else [])
        refusal, found = self._refusal(action, params, before, targets, now, manual, at_once, reads, paused)
        if refusal is not None:
            if refusal.status is OutcomeStatus.PROPOSED:
                refusal.proposal = self._propose(action, params, before, refusal, incident_id, service, signature, now,
                                                 paused, users_of, background)
                p = refusal.proposal
                if p.state != "open":
                    return GateResult(OutcomeStatus.SKIPPED, f"proposal {p.proposal_id} for this "
                                      f"incident is already {p.state}", proposal=p)
                refusal.notes = [*refusal.notes, f"Proposal {p.proposal_id}, open until "
                                 f"{p.expires_at:%Y-%m-%d %H:%M:%S} UTC. Apply it: runwarden approve "
                                 f"{p.proposal_id} --reason '...'; or close it: runwarden command reject "
                                 f"--param proposal_id={p.proposal_id} --reason '...'"]
                beside = self._proposed_beside(p, now)
                refusal.notes = [*refusal.notes, beside] if beside else refusal.notes
            return refusal
        if own_changes and not action.corrective:
            unrecorded = self._unrecorded_change(action, params.target, own_changes, now, found)
            if unrecorded is not None:
                return unrecorded

        key = claim_key(incident_id, params.target, action.name)
        kind = DRY_RUN_CLAIMS if dry_run else CLAIMS
        if dry_run and manual is not None and manual.command_id:
            # An operator's dry run (an approve's too, which otherwise claims on its proposal's
            # incident) is deduplicated on its own command: a new dry run of the same thing answers
            # again what would be done, and nothing it claims is on the path of a real write.
            key = claim_key(command_incident(manual.command_id), params.target, action.name)
        intent = None if dry_run else self._intent(action, params, before, key, incident_id, service, signature,
                                                   manual, now, background)
        noted = sent = False
        if found is not None:
            held, stop, noted, sent = self._take_all_and_check(action, params.target, key, incident_id, now, found,
                                                               intent, paused)
            if held is not None:
                held.intent = intent if noted else None
                held.background = background
                self._log("claimed", f"claimed {key}" + (", its cooldown" if held.cooldown else "")
                          + ", the target's write claim and a slot of each budget, in one commit")
                return self._write(action, params, before, incident_id, adapters, held,
                                   GateResult(OutcomeStatus.SKIPPED, "", claim_key=key), service, signature, manual,
                                   stop=stop, intent=None if noted else intent, paused=paused)
            # Something to take already exists: one at a time, which says exactly what and why.
        guard = self.config.guardrails
        # The TTL holds in real time for instances whose clocks disagree (shared/clock.py).
        try:
            claim = self._claim(kind, key, skew_safe_lease(guard.claim_ttl_seconds), now)
        except TransientError:
            if sent:
                self._void_intent(intent)   # stored (maybe) beside the one commit that failed; nothing written
            raise
        if not claim.acquired:
            if sent:
                # Another message (or an earlier attempt at this one) claimed the incident between this
                # attempt's read and its one commit, which stored this attempt's intent ahead: nothing
                # will be written by it. Left open, the sweep would report it as a write that may have
                # happened, once per such attempt. Voided whether or not its store answered: one that
                # raised may have landed with its answer lost (the void is guarded on this attempt's own
                # open plan, so a plan that never landed, or another attempt's, is left as it is).
                self._void_intent(intent)
            self._raise_if_own_message_in_progress(key, claim.record)
            return duplicate_result(action.name, params.target, key, claim.record, self.policy, self.message_id,
                                    self.started_at, plan=self.held_plan(key, claim.record) if kind == CLAIMS else None)
        # An intent the one commit stored ahead (or sent, its answer lost) is this attempt's now: held back
        # (cooldown, budget) or stopped, it is voided with the rest, or the sweep would judge a target
        # someone else changed. One whose store raised is stored again before the write (`_write`).
        held = _Held(claim=(kind, key), record=claim.record, intent=intent if sent else None,
                     legacy=ExactNameLeases.of(params.target, found), background=background)
        self._log("claimed", f"claimed {key}" + (" (took over an expired claim)" if claim.took_over else ""))
        unjudged = self._unjudged_plan(key, intent) if claim.took_over and not dry_run else None
        if unjudged is not None:
            return self._held_for_escalated(action.name, key, held, unjudged)
        try:
            return self._claimed(action, params, before, incident_id, adapters, held, key, now, dry_run, service,
                                 signature, manual, intent, paused)
        except TransientError:
            # The state store failed between the claim and the write (the write itself gives back
            # on its own faults). A claim left behind would make every redelivery a "duplicate"
            # of an attempt that did nothing: give it all back, then let Pub/Sub redeliver.
            self._give_back_quietly(held)
            raise

    def _claimed(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any,
                 held: _Held, key: str, now: datetime, dry_run: bool, service: str | None, signature: str,
                 manual: Manual | None, intent: IntentRecord | None = None, paused: tuple[str, ...] = ()
                 ) -> GateResult:
        kind = held.claim[0]
        result = GateResult(OutcomeStatus.SKIPPED, "", claim_key=key)

        if not action.corrective:
            if manual and manual.override_limits:
                self._override(params.target, now, dry_run, held, manual, result)
            else:
                hold_back = (self._cooldown(params.target, now, dry_run, held)
                             or self._budgets(params.target, now, dry_run, held))
                if hold_back is not None:
                    self._give_back(held)
                    result.held, result.limit = hold_back.held, hold_back.limit
                    result.reason = hold_back + self._held_for(params.target, key, hold_back, manual)
                    return result

        if dry_run:
            result.status = OutcomeStatus.DRY_RUN
            result.held = Held.DRY_RUN
            result.dry_run_by = dry_run_by(asked=bool(manual and manual.dry_run), config_dry_run=self.config.dry_run)
            result.reason = ("dry-run: everything but the write" if result.dry_run_by is not DryRunBy.SHADOW
                             else f"shadow mode for {action.name}: everything but the write")
            result.after = action.preview(params, before)
            self._complete(kind, key, result)
            return result
        return self._write(action, params, before, incident_id, adapters, held, result, service, signature, manual,
                           intent=intent, paused=paused)

    def _refusal(self, action: Action, params: Any, before: dict[str, Any], targets: list[str], now: datetime,
                 manual: Manual | None, at_once: bool, reads: GateReads | None, paused: tuple[str, ...]
                 ) -> tuple[GateResult | None, Mapping[tuple[str, str], dict[str, Any] | None] | None]:
        """Why not to go on, if anything; else, for an all-at-once action, the gate's reads (`reads`
        if they serve this target and hour, or read here). The plan's own limits come first, so a
        refused plan reads nothing; then the kill switch."""
        refusal = plan_refusal(self.config, action, params, before, targets, now, manual)
        if refusal is not None:
            return refusal, None
        found, pauses = None, None
        if at_once and not self.config.guardrails.kill_switch:
            fresh = reads is None or not reads.serves(params.target, budget_buckets(self.config, params.target, now),
                                                      paused)
            if fresh:
                pauses = self._pauses_ahead(params.target)   # beside the batched read, not after it
            found = self.read_ahead(params.target, now, paused).found if fresh else reads.found
            pauses = pauses if fresh else reads.pauses       # sent with the reads ahead, if it was
        switch = self.kill_switch(params.target, found, paused, pauses)
        if switch:
            brake = braked(switch, Held.KILL_SWITCH if self.config.guardrails.kill_switch else Held.PAUSED)
            return GateResult(OutcomeStatus.SKIPPED, brake, held=brake.held), None
        return None, found

    def _unrecorded_change(self, action: Action, target: str, changes: tuple[OwnChange, ...], now: datetime,
                           found: Mapping[tuple[str, str], dict[str, Any] | None] | None) -> GateResult | None:
        """Escalated, with the audit entry, if Runwarden itself changed `target` within its cooldown
        and its state holds no cooldown of it: the state that would have held this action back is
        gone (deleted, restored, another database), and acting again could act twice. The cooldown
        is the one the gate read (`found`), or one read here: only a plan with own changes pays it."""
        reads = [(COOLDOWNS, name) for name in bound_keys(target)]
        if found is None or any(read not in found for read in reads):
            found = dict(zip(reads, self.state.get_many(reads)))
        held = [read_record(ClaimRecord, found[read], *read) for read in reads if found[read] is not None]
        cooldown = max(held, key=lambda c: c.claimed_at, default=None)
        window = skew_safe_lease(self.config.guardrails.cooldown_seconds)
        change = unrecorded_own_change(changes, cooldown, now, window)
        if change is None:
            return None
        reason = (f"{action.name} held back: Runwarden itself changed {target} {duration(max(0.0, (now - change.at).total_seconds()))} ago "
                  f"({change.describe()}, Admin Activity audit log), within its cooldown of "
                  f"{int(window.total_seconds())} s, but its state holds no record of that change (no cooldown "
                  "for the target): its state may have been lost or restored. Acting again could act twice; a "
                  "person must check the target")
        self._log("unrecorded_own_change", reason)
        return GateResult(OutcomeStatus.ESCALATED, reason)

    def _at_once(self, action: Action, dry_run: bool, manual: Manual | None) -> bool:
        """Whether the claim, the cooldown and the budget slots are taken in one commit: for a real
        (not dry-run) action under the limits (every store has `claim_all`: StateStore, checked when the
        gate is built)."""
        return not dry_run and not action.corrective and not (manual and manual.override_limits)

    def _take_all_and_check(self, action: Action, target: str, key: str, incident_id: str, now: datetime,
                            found: Mapping[tuple[str, str], dict[str, Any] | None],
                            intent: IntentRecord | None = None, paused: tuple[str, ...] = ()
                            ) -> tuple[_Held | None, str, bool, bool]:
        """`_take_all`, with the check right before the write (switches, incident still open) read
        at the same time, on a thread of its own: both finish before the write is sent, so the
        check is as close to the write as when it followed the commit, one round trip sooner. If
        the check fails, what was taken is given back; if nothing was taken, the check is made
        again on the one-at-a-time path.

        `intent` (the plan, intents.py) is stored at the same time, on a thread of its own:
        the write waits for it, but for no extra round trip: one commit beside the claim's (created
        only if there is none at its key, read only if there is: `_note_intent`). The third value
        says it was stored; the fourth that its store was sent: stored, or maybe stored with its
        answer lost (it raised), which an attempt that writes nothing must void all the same."""
        check: Future = _GATE_CHECK.submit(self._stop_before_write, incident_id, paused or (target,))
        notes: list[Future] = []
        try:
            held = self._take_all(action, target, key, now, found, intent, notes)
        except BaseException:
            wait([check, *notes])   # nothing was taken; their answers are not needed
            if notes:
                self._void_intent(intent)   # nothing will be written: the plan stored ahead (maybe) is void
            raise
        note = notes[0] if notes else None
        try:
            stop = check.result()
            if note is not None and held is not None:
                note.result()           # no write without its intent stored
        except BaseException:
            if held is not None:
                if note is not None:
                    wait([note])        # stored after the give-back, it would stay open
                    # Voided whether or not its store answered: a store that raised may have landed
                    # with its answer lost, and a plan left open reads as a write that may have been
                    # made (a resend or the sweep would judge the target by it). The void is
                    # guarded on this attempt's own open plan: a missing one, or another's, is left.
                    held.intent = intent
                self._give_back(held)   # no write without the check
            raise
        if note is not None and held is None:
            wait([note])                # the one-at-a-time path stores it again if this failed
        return held, stop, note is not None and note.done() and note.exception() is None, note is not None

    def _take_all(self, action: Action, target: str, key: str, now: datetime,
                  found: Mapping[tuple[str, str], dict[str, Any] | None], intent: IntentRecord | None = None,
                  notes: list[Future] | None = None) -> _Held | None:
        """The claim, the target's cooldown and the first slot of each budget that `found` saw
        free, all created in one commit; or None, with nothing taken, if one of them exists (a
        duplicate, an active or expired cooldown, a slot taken since the read) or a budget has no
        free slot. Each is still an atomic create, so concurrent instances can never take N + 1
        slots of a budget of N: a slot document is created once, by one of them."""
        guard = self.config.guardrails
        # Leases hold in real time for instances whose clocks disagree (shared/clock.py).
        lease = skew_safe_lease(guard.claim_ttl_seconds)
        if found.get((WRITING, bound_key(target))) is not None or _legacy_live(found, WRITING, target, now):
            return None   # another write's claim, or one left to lapse: taken (or refused) one at a time
        wanted = [(CLAIMS, key, lease), (WRITING, bound_key(target), lease)]
        cooldown = skew_safe_lease(guard.cooldown_seconds)
        if cooldown:
            if found.get((COOLDOWNS, bound_key(target))) is not None or _legacy_live(found, COOLDOWNS, target, now):
                return None
            wanted.append((COOLDOWNS, bound_key(target), cooldown))
        slots = []
        for scope, bucket, capacity in budget_buckets(self.config, target, now):
            slot = next((k for k in slot_keys(f"{scope}|{bucket}", capacity)
                         if (BUDGETS, k) in found and found[(BUDGETS, k)] is None
                         and _legacy_free(found, legacy_slot(k, target), now)), None)
            if slot is None:
                return None
            slots.append(slot)
        wanted += [(BUDGETS, slot, _SLOT_RETENTION) for slot in slots]
        held = _Held(claim=(CLAIMS, key), cooldown=target if cooldown else None, writing=target, slots=slots)
        note = self._note_ahead(intent)   # stored while the commit is made (`_take_all_and_check`)
        if note is not None and notes is not None:
            notes.append(note)
        try:
            taken = self.state.claim_all(wanted, self.owner, now)
        except TransientError:
            # The commit may have landed with its answer lost. Left held, it would make every
            # redelivery a "duplicate" of an attempt that did nothing: give back what this attempt
            # owns (a release is owner-checked, so nobody else's record is touched), then retry.
            self._give_back_quietly(held)
            raise
        if taken is None:
            return None
        held.record = taken[0]   # claim_all answers in the order asked: the claim first
        held.writing_until = taken[1].expires_at
        return held

    def _write(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any,
               held: _Held, result: GateResult, service: str | None, signature: str,
               manual: Manual | None = None, stop: str | None = None,
               intent: IntentRecord | None = None, paused: tuple[str, ...] = ()) -> GateResult:
        """`stop`: the check right before the write, if already made (see `_take_all_and_check`).
        `intent`: the plan still to be stored before the write (the one-at-a-time path).
        `paused`: whose pauses hold the write back (`held_by`); the target's alone when not given."""
        if held.writing is None:
            busy = self._take_writing(params.target, held, manual)
            if busy:
                result.reason, result.held = busy, Held.WRITE_IN_FLIGHT
                return result
        stop = self._stop_before_write(incident_id, paused or (params.target,)) if stop is None else stop
        if stop:
            self._give_back(held)
            result.reason = stop
            result.held = stop.held if isinstance(stop, Refused) else Held.CLOSED
            if isinstance(stop, Unrecovered):
                result.status = OutcomeStatus.ESCALATED
            return result
        if intent is not None:
            try:
                self._note_intent(intent)
            except TransientError:
                held.intent = intent            # stored with its answer lost, maybe: voided with the rest
                self._give_back_quietly(held)   # no write without its intent; the retry is free to act
                raise
            held.intent = intent
        try:
            result.after = action.apply(params, adapters)
            result.written = True
        except OutcomeUnknownError as exc:
            return self._unknown(action, params, before, incident_id, held, result, service, signature, exc, manual)
        except TransientError:
            self._give_back(held)  # the retry must be free to act
            raise
        except StaleEvidenceError as exc:
            # The target changed after the evidence was read, and the API refused the write: the
            # decision rests on a state that is gone, and someone is changing the target now.
            self._give_back(held)
            result.status, result.held = OutcomeStatus.ESCALATED, Held.CHANGED
            result.reason = (f"{action.name} not written: {exc} [{exc.code}]. The decision was made on evidence "
                             f"read before that change, so it does not stand; a person must check {params.target}")
            return result
        except PermanentError as exc:
            result.status = OutcomeStatus.FAILED
            result.reason = f"{action.name} failed: {exc}" + (f" [{exc.code}]" if exc.code else "")
            if exc.code == "PERMISSION_DENIED":   # the permission to grant, named (shared/remediation/refusals.py)
                result.reason += permission_advice(action.name, action.iam_permissions, denied_permission(exc))
            return self._refused(action, held, result, manual, params.target, incident_id, exc.code)
        result.status = OutcomeStatus.APPLIED
        # "verified" is the sweep's word (the service healthy after the settle time); at write time the API
        # has only confirmed the change took. A corrective action (an undo, a pin's release) keeps no action
        # record (`_settle`): nothing verifies it later, and its answer must not say so.
        result.reason = f"{action.name} applied: the API confirmed the change; " + (
            "it undoes a change of Runwarden's and is not verified later" if action.corrective
            else "the sweep verifies its effect")
        # The write has ended: its target's write claim is given back beside the commit that records it, and
        # the switches are read again beside it (`_landed_meanwhile`), for no round trip of their own.
        given_back = _GATE_CHECK.submit(self._end_writing, held)
        meanwhile = _GATE_CHECK.submit(self._landed_meanwhile, params.target, paused, action.corrective)
        try:
            self._settle(action, params, before, result, incident_id, service or params.target, signature, held,
                         manual)
        except (TransientError, PermanentError) as exc:
            # A permanent refusal of the commit (PERMISSION_DENIED, INVALID_ARGUMENT) leaves the write as
            # unrecorded as a transient one: escaping the gate, it was answered `failed` for a change that took.
            return self._unrecorded(action, params, result, exc, held.intent is not None)
        finally:
            wait([given_back, meanwhile])
        result.reason += meanwhile.result()
        return result

    def _landed_meanwhile(self, target: str, paused: tuple[str, ...], corrective: bool) -> str:
        """What the answer of a write applied adds when a brake engaged while it was under way ("" when none):
        the kill switch or a pause landed after the gate's last check, which it passed, so the write was sent
        and is not undone by it (docs/commands.md, "The kill switch and writes in flight"). The person who
        engaged it learns this one went through, and when it was engaged. A read that fails says nothing: the
        write's answer is what matters, and the pause's own answer names the writes it found under way."""
        try:
            switch = self.kill_switch(target, on_behalf=paused)
        except (TransientError, PermanentError):
            return ""
        if not switch:
            return ""
        return (f"; {engaged_named(switch)} while it was under way ({switch}): it landed when this write was already past the "
                "gate's last check, so the write was sent and is not undone by it" + (
                    "" if corrective else "; the sweep still verifies it, and an undo the sweep decides is held back "
                    "while it stays engaged"))

    def _refused(self, action: Action, held: _Held, result: GateResult, manual: Manual | None, target: str,
                 incident_id: str, code: str = "") -> GateResult:
        """The API refused the write for good (PERMISSION_DENIED, INVALID_ARGUMENT...): nothing was
        written, so the cooldown, the budget slots and the plan are given back. An alert's claim is
        not: it is completed `failed`, with the API's reason, and kept for the target's cooldown (the
        claim's lease when there is none), so that the incident's later notifications, which would be
        refused the same way, are duplicates of this one `failed` instead of a `failed` each. Once it
        lapses, the incident acts again (a permission fixed since then lets it), and an operator's
        command, claimed on its own command_id, can act at once. An operator's own command gives its
        claim back as before: its resend is answered from the command's record; so does a corrective
        action (the sweep's undo): the sweep reads a `duplicate` of its undo as the undo done, and it
        moves the action record on with the refusal anyway, so it never tries per notification. If the
        claim cannot be completed, it is left claimed until its lease (a hold all the same). Its SETTLED entry is written with the
        completion (`_complete_held`), so a later notification is answered before any evidence is read.

        Once the hold lapses, a notification of the incident tries the write again (a cause fixed meanwhile lets it).
        Refused again with the same code (`code`), for the same start of the incident, the answer is `failed` again but
        says so first (`_still_refused`): "still refused", since when, and that it is no new failure, so the person
        who got the first `failed` reads a reminder, not a second fault; the hold is kept again as before."""
        if manual is not None or action.corrective or held.claim is None or held.claim[0] != CLAIMS:
            self._give_back(held)
            return result
        self._give_back_quietly(replace(held, claim=None))   # what cannot be released expires with its TTL
        guard = self.config.guardrails
        hold = skew_safe_lease(guard.cooldown_seconds or guard.claim_ttl_seconds)
        until = self.clock.now() + hold
        first = self._refused_before(held.claim[1], incident_id, code)
        if first is not None:
            result.reason = _still_refused(action.name, code, first) + result.reason
            when = f"{first:%Y-%m-%d %H:%M:%S} UTC"
            result.notes = [*result.notes, f"The same refusal as this incident's `failed` answer of {when}, met again "
                                           "when the incident was notified again after its hold lapsed: a reminder "
                                           "that the cause is still there, not a new failure."]
        result.reason += (f". Not tried again for this incident before {until:%Y-%m-%d %H:%M:%S} UTC (its later "
                          "notifications are duplicates of this answer); a person must fix the cause, and may act "
                          "at once by command")
        try:
            self._complete_held(held.claim[1], held.record, target, action.name, incident_id,
                                {**self._completion(result.status, None), "reason": result.reason,
                                 **({"code": code} if code else {}),
                                 **({"refused_first_at": first} if first is not None else {})}, hold)
        except RunwardenError as exc:
            # Left claimed, not given back: it holds the incident until its lease (a shorter hold than the
            # cooldown, but a hold), where a claim given back let every other notification arriving
            # meanwhile try the refused write again and answer `failed` again. This message's redelivery
            # waits it out (InProgress) and then decides afresh.
            self._log("refusal_unheld", f"could not keep {held.claim[1]} for the refusal ({exc}); it stays "
                                        "claimed until its lease")
        return result

    def _refused_before(self, key: str, incident_id: str, code: str) -> datetime | None:
        """When this incident's write (claim `key`) was first refused with `code`, if it was and that refusal's hold has
        lapsed: its SETTLED entry (`held`), which outlives the claim (`_settled`: kept `settled_horizon`), keeps the claim
        as completed `failed`, its code (its reason's last "[CODE]" for an entry written before the code was kept) and
        the start it was for, which must be this notification's. None otherwise, and when the record cannot be read:
        the words of the answer are all that hang on it, never whether to write."""
        try:
            record = self.state.get_record(SETTLED, incident_id)
        except (RunwardenError, ValueError):
            return None
        entry = (record or {}).get(settled_field(key))
        claim = entry.get("claim") if isinstance(entry, Mapping) else None
        kept = claim.get("result") if isinstance(claim, Mapping) else None
        if not code or not isinstance(kept, Mapping) or kept.get("status") != OutcomeStatus.FAILED.value:
            return None
        said = kept.get("code") or _last_code(str(kept.get("reason") or ""))
        started = kept.get("started_at")
        if said != code or (started is not None and self.started_at is not None and started != self.started_at):
            return None
        return stored_time(kept.get("refused_first_at")) or stored_time(claim.get("claimed_at"))

    @staticmethod
    def _unrecorded(action: Action, params: Any, result: GateResult, exc: TransientError | PermanentError,
                    noted: bool = False) -> GateResult:
        """The write took, but the state store failed before it was recorded. Raising would have
        Pub/Sub redeliver into a claim still held, and a person would never hear of the change;
        so the result is escalated now, with what was done. The claim stays held until its TTL,
        so nothing acts on this incident and target again before then. `noted`: its intent is
        stored, so the sweep's backstop records it once the claim lapses (and says so)."""
        result.status = OutcomeStatus.ESCALATED
        result.reason = (f"{action.name} on {params.target} applied (the API confirmed the change), but it could "
                         f"not be recorded: {exc}. " + _UNTIL_SWEPT[noted] + ": a person must check the target and "
                         "undo it if needed")
        result.notes = [*result.notes, *action.notes(params)]
        return result

    def _unknown(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, held: _Held,
                 result: GateResult, service: str | None, signature: str, exc: Exception,
                 manual: Manual | None = None) -> GateResult:
        """The API may have applied the write. Acting again could act twice, so nothing is given
        back: the claim completes, the cooldown and budget (and, while it may still be landing, the
        target's write claim) stay taken, and the action is recorded
        so the sweep verifies it (or undoes or escalates it) like any other. A write whose target,
        read back after an error-free operation, does not show it (NotShownAfterWriteError: a
        connector, which keeps no record to tell another hand's change from a write that did not
        take) is recorded closed `escalated` at once: nothing is verified or undone over a person."""
        result.status = OutcomeStatus.ESCALATED
        result.written = True   # it may have taken: recorded as a write
        if isinstance(exc, (ChangedAroundWriteError, NotShownAfterWriteError)):
            # Its operation finished (only what it left is in doubt): the write has ended. Any other unknown
            # outcome may still be landing, and keeps the target's write claim until its lease.
            self._end_writing(held)
        # Still held (the write may be landing, or its release failed): the action record names it, so that
        # the sweep's verdict on the write gives it back (verification.Sweep._move), not its lease alone.
        held.writing_kept = held.writing is not None
        # A corrective action (an undo, a pin's release) has no action record: nothing verifies it later.
        kept = ("Not written again (it puts back Runwarden's own change: no record for the verification sweep)"
                if action.corrective else "Recorded for the verification sweep, not written again")
        closed = ""
        if isinstance(exc, NotShownAfterWriteError):
            result.notes = [*result.notes, *exc.notes]
        if isinstance(exc, NotShownAfterWriteError) and not action.corrective:
            closed = f"outcome unknown: {exc}; never verified or undone"
            result.reason = (f"{action.name} was sent and may have taken: {exc}. Recorded as this incident's action "
                             f"and closed as escalated: the verification sweep will not verify it, and it is not "
                             f"written again. A person must check {params.target}: what it shows now may be a "
                             "person's change")
        elif isinstance(exc, ChangedAroundWriteError):
            result.reason = (f"{action.name} applied, with another change around it: {exc}. {kept}; a person must "
                             f"check {params.target} and make the other change again if it was lost")
        else:
            result.reason = (f"{action.name} was sent but its completion could not be confirmed ({exc}); "
                             f"{kept[0].lower() + kept[1:]}, and a person should check the target")
        # What the target was read to ask for right after, when the error knows it (a failed operation's split
        # left desired): the record says what it is, never an empty `after` that reads as nothing written.
        result.after = exc.after if isinstance(exc, NotShownAfterWriteError) else None
        if closed and left_asked(result.after, str(getattr(params, "to_revision", "") or "")):
            # Pinned asked for (`_records`): the sweep reads it every sweep (verification.Sweep._judge_late).
            result.reason += ("; if the service serves it later, the sweep tells so and verifies the rollback from "
                              "then, as any rollback")
        try:
            self._settle(action, params, before, result, incident_id, service or params.target, signature, held,
                         manual, superseded=closed)
        except TransientError as stored:
            result.reason = (f"{action.name} was sent but its completion could not be confirmed ({exc}), and it "
                             f"could not be recorded: {stored}. {_UNTIL_SWEPT[held.intent is not None]}: a person "
                             "must check the target")
        return result

    # --- checks ---------------------------------------------------------------------------------

    def kill_switch(self, target: str | None = None,
                    found: Mapping[tuple[str, str], dict[str, Any] | None] | None = None,
                    on_behalf: Sequence[str] = (), pauses: Future | None = None) -> str:
        """Why writes are off ("" when they are not): the config's switch, the operator's flag, or
        (given a target) a pause of that target or of a service the write is made for (`held_by`).
        One batched read, unless `found` already holds the flags; for a connector, the engaged pauses'
        query beside it (`pauses`: that query already sent, `_pauses_ahead`)."""
        if self.config.guardrails.kill_switch:
            return self._set_in_config(target, found, on_behalf, pauses)
        paused = held_by(target, on_behalf)
        if found is None:
            pauses = pauses if pauses is not None else self._pauses_ahead(target)
            reads = _switch_reads(paused)
            found = dict(zip(reads, self.state.get_many(reads)))
        return _switch_reason(paused, found, lambda keyed: self._pauses_answer(target, pauses, keyed))

    def _set_in_config(self, target: str | None, found: Mapping[tuple[str, str], dict[str, Any] | None] | None,
                       on_behalf: Sequence[str], pauses: Future | None) -> Switch:
        """The config's kill switch, and every other brake that holds the write beside it: the kill switch engaged
        by command, and the pauses (`_beside_kill_switch`). Named alone, the config was changed and the write was
        still held by a brake no answer had named. The config's switch holds the write whatever these reads
        answer, so a read that fails is said, never raised."""
        if not target:
            return Switch(SET_IN_CONFIG)
        paused = held_by(target, on_behalf)
        try:
            if found is None:
                reads = _switch_reads(paused)
                found = dict(zip(reads, self.state.get_many(reads)))
            keyed = _keyed_holds(paused, found)
            holds = [*keyed, *_also_otherwise(lambda read: self._pauses_answer(target, pauses, read), keyed)]
        except (TransientError, PermanentError) as exc:
            return Switch(f"{SET_IN_CONFIG}; whether a pause holds this write too was not read ({exc})")
        flag = found.get((FLAGS, KILL_SWITCH))
        by_command = (f"; and the kill switch engaged by command too (set by {_flag_by(flag)}: "
                      f"{flag.get('reason') or 'no reason given'}; runwarden resume without a target releases it)"
                      if flag and flag.get("engaged") else "")
        return Switch(SET_IN_CONFIG + by_command + _beside_kill_switch(holds), by_command=bool(by_command),
                      pauses=tuple(dict.fromkeys(hold.name for hold in holds if hold.lifted)))

    def _pauses_ahead(self, target: str | None) -> Future | None:
        """`paused_otherwise(target)` sent now on a thread of its own, to be read beside the batched read of the
        switches (the two are independent: one round trip on the way to the write, not two); None for a target
        that is no connector (nothing to query). Sent beside the read of the keyed pauses rather than after it,
        it is as fresh as they are: a pause that lands after either is `_landed_meanwhile`'s to name."""
        if not target or "/connectors/" not in target:
            return None
        return _PAUSE_QUERY.submit(self.paused_otherwise, target)

    def _pauses_answer(self, target: str | None, pauses: Future | None, keyed: Sequence[PauseHold] = ()
                       ) -> list[PauseHold]:
        """The answer of the query sent ahead, or the query made now when none was sent. Its fault is raised here,
        as the query's own would be, unless a pause read by key (`keyed`) holds the write already: it is held
        then all the same, and the answer says that whether another spelling's pause holds it too was not read."""
        try:
            return pauses.result() if pauses is not None else self.paused_otherwise(target)
        except (TransientError, PermanentError) as exc:
            if not keyed:
                raise
            return [PauseHold(str(target), f"whether a pause names {target} by the other form of its project "
                                           f"(number or id) was not read ({exc})", lifted=False)]

    def paused_otherwise(self, target: str | None) -> list[PauseHold]:
        """`other_spellings` for a write to `target`, a connector: the engaged pauses read by one equality
        query on `engaged` (the one pause commands.pause.engaged_pauses reads), only when the target is one."""
        if not target or "/connectors/" not in target:
            return []
        found = self.state.find_records(FLAGS, "engaged", True, SPELLINGS_READ + 2)
        pauses = [f for f in found if f.get("kind") == "pause"]
        return other_spellings(target, pauses[:SPELLINGS_READ], len(pauses) > SPELLINGS_READ)

    def gate_reads(self, target: str, now: datetime, on_behalf: Sequence[str] = ()) -> list[tuple[str, str]]:
        """Everything the gate reads before taking a claim on `target` at `now`: the switches (the
        pauses of the target and of each service in `on_behalf` among them), the target's cooldown,
        its write claim and every slot of its budgets."""
        slots = [(BUDGETS, key) for scope, bucket, capacity in budget_buckets(self.config, target, now)
                 for key in slot_keys(f"{scope}|{bucket}", capacity)]
        slots += [(BUDGETS, old) for _, key in slots if (old := legacy_slot(key, target))]
        return [*_switch_reads(held_by(target, on_behalf)), *((COOLDOWNS, key) for key in bound_keys(target)),
                *((WRITING, key) for key in bound_keys(target)), *slots]

    def read_ahead(self, target: str, now: datetime, on_behalf: Sequence[str] = (), pauses: bool = False
                   ) -> GateReads:
        """`gate_reads` in one batched read, to hand to `execute` later (see GateReads). `pauses`: a connector's
        query of the engaged pauses sent beside it (`_pauses_ahead`), handed on with it (GateReads.pauses)."""
        query = self._pauses_ahead(target) if pauses else None
        reads = self.gate_reads(target, now, on_behalf)
        return GateReads(target, tuple(budget_buckets(self.config, target, now)),
                         dict(zip(reads, self.state.get_many(reads))), held_by(target, on_behalf), query)

    def _stop_before_write(self, incident_id: str, paused: Sequence[str] = ()) -> str:
        """Checked immediately before the write: the kill switch and the pauses (`held_by`), and
        whether the incident closed. All in one batched read, so the check adds one round trip to
        the write, not three; for a connector, the engaged pauses' query beside it (`_pauses_ahead`)."""
        if self.config.guardrails.kill_switch:
            return braked(SET_IN_CONFIG, Held.KILL_SWITCH)
        target = paused[0] if paused else None
        pauses = self._pauses_ahead(target)   # beside the batched read, not after it
        reads = [*_switch_reads(paused), (INCIDENTS, incident_id)]
        found = dict(zip(reads, self.state.get_many(reads)))
        switch = _switch_reason(paused, found, lambda keyed: self._pauses_answer(target, pauses, keyed))
        if switch:
            return braked(switch, Held.PAUSED)
        closed = closed_incident(found[(INCIDENTS, incident_id)])
        if closed is not None:
            return closed_before_write(closed, self.policy)
        return ""

    def _legacy_held(self, kind: str, target: str, now: datetime, read: ExactNameLeases | None = None
                     ) -> ClaimRecord | None:
        """The cooldown or write claim (`kind`) of `target` stored under its exact name before it was kept under
        `bound_key`, while it has not lapsed: it holds the write back as before. None for a target keyed as
        before (a service): nothing more is read. `read`: the gate's batched answer, which answers it where it
        read it (no read here); otherwise one read of the key."""
        if bound_key(target) == target:
            return None
        if read is not None and read.answers(kind, target):
            return read.held(kind, now)
        lease = self.state.get(kind, target)
        return lease if lease is not None and not lease.expired(now) else None

    def _cooldown(self, target: str, now: datetime, dry_run: bool, held: _Held) -> Refused | None:
        """A reason to hold off, or None (and, for real runs, the target's cooldown is now taken)."""
        ttl = skew_safe_lease(self.config.guardrails.cooldown_seconds)   # zero: no cooldown
        if not ttl:
            return None
        lease = self._legacy_held(COOLDOWNS, target, now, held.legacy)
        if lease is not None:
            active = True
        elif dry_run:
            lease = self.state.get(COOLDOWNS, bound_key(target))
            active = lease is not None and not lease.expired(now)
        else:
            taken = self._claim(COOLDOWNS, bound_key(target), ttl, now)
            active, lease = not taken.acquired, taken.record
            if taken.acquired:
                held.cooldown = target
        if active:
            return Refused(f"{COOLDOWN} {target} was acted on at {lease.claimed_at.isoformat()}; "
                           f"next action after {lease.expires_at.isoformat()}", Held.COOLDOWN,
                           Limit(until=lease.expires_at, since=lease.claimed_at), holder=lease.owner)
        return None

    def _budgets(self, target: str, now: datetime, dry_run: bool, held: _Held) -> Refused | None:
        """Takes one slot of each budget, or gives back what it took and says which ran out.

        Each budget is N slot records per bucket (UTC hour or day); taking one is an atomic create,
        so concurrent instances can never take N + 1. Every bucket's slots are read in one batched
        read, so the cost is one read and one create per budget however many slots are taken.
        """
        if dry_run:
            return None
        buckets = [(f"{scope}|{bucket}", capacity) for scope, bucket, capacity in budget_buckets(self.config, target, now)]
        reads = [(BUDGETS, key) for bucket, capacity in buckets for key in slot_keys(bucket, capacity)]
        reads += [(BUDGETS, old) for _, key in reads if (old := legacy_slot(key, target))]
        found = dict(zip(reads, self.state.get_many(reads)))
        for (scope, bucket, capacity), (name, _) in zip(budget_buckets(self.config, target, now), buckets):
            slot = self._take_slot(name, capacity, now, found, target)
            if slot is None:
                return Refused(f"{BUDGET} {capacity} actions for {scope} in {bucket}", Held.BUDGET,
                               Limit(scope=scope, bucket=bucket, capacity=capacity))
            held.slots.append(slot)
        return None

    def _take_slot(self, bucket: str, capacity: int, now: datetime,
                   found: Mapping[tuple[str, str], dict[str, Any] | None] | None = None, target: str = ""
                   ) -> str | None:
        """An atomic create of a slot the read (`found`, or one batched read here) saw free, and whose
        `legacy_slot` of `target` is free too. A racer that creates the same slot first sends this claim on
        to the next free slot seen; if none is left, the budget is spent."""
        retain = _SLOT_RETENTION
        keys = slot_keys(bucket, capacity)
        if found is None:
            reads = [(BUDGETS, key) for key in keys]
            reads += [(BUDGETS, old) for _, key in reads if (old := legacy_slot(key, target))]
            found = dict(zip(reads, self.state.get_many(reads)))
        for key in keys:
            data = found.get((BUDGETS, key))
            if data is not None and not _slot_free(data, now):
                continue
            if not _legacy_free(found, legacy_slot(key, target), now):
                continue
            if self._claim(BUDGETS, key, retain, now).acquired:
                return key
        return None

    # --- bookkeeping ----------------------------------------------------------------------------

    def claim_reads(self, incident_id: str, target: str) -> list[tuple[str, str]]:
        """The (kind, key) of every claim an action on `target` for this incident would hold: not
        those no action can hold there (`Action.can_claim`: a connector's scaling on a service)."""
        actions = all_actions()
        return [self._claim_read(incident_id, target, name) for name in sorted(actions)
                if actions[name].can_claim(target)]

    def _claim_read(self, incident_id: str, target: str, name: str) -> tuple[str, str]:
        kind = DRY_RUN_CLAIMS if self.config.action_dry_run(name) else CLAIMS
        return kind, claim_key(incident_id, target, name)

    def already_handled(self, incident_id: str, target: str,
                        found: Mapping[tuple[str, str], dict[str, Any] | None] | None = None
                        ) -> tuple[str, GateResult] | None:
        """(action name, skipped result) if an action for this incident and target is claimed or done.

        Checked before diagnosing: once traffic has moved, live state no longer shows the
        signature, and a redelivered alert must be a no-op rather than a fresh escalation.
        `found` holds the claim documents already read (by `claim_reads`); without it they are
        read here, in one batched read.
        """
        held = self.held_claim(incident_id, target, found)
        if held is None:
            return None
        name, kind, key, record = held
        return name, duplicate_result(name, target, key, record, self.policy, self.message_id, self.started_at,
                                      plan=self.held_plan(key, record) if kind == CLAIMS else None)

    def held_claim(self, incident_id: str, target: str,
                   found: Mapping[tuple[str, str], dict[str, Any] | None] | None = None
                   ) -> tuple[str, str, str, ClaimRecord] | None:
        """(action name, kind, key, record) of the live claim an action for this incident holds on
        `target` (claimed or completed, not expired), as `already_handled` finds it."""
        if found is None:
            reads = self.claim_reads(incident_id, target)
            found = dict(zip(reads, self.state.get_many(reads)))
        now = self.clock.now()
        for name in sorted(all_actions()):
            kind, key = self._claim_read(incident_id, target, name)
            data = found.get((kind, key))
            record = read_record(ClaimRecord, data, kind, key) if data is not None else None
            if record is not None and not record.expired(now):
                self._raise_if_own_message_in_progress(key, record)
                return name, kind, key, record
        return None

    def held_plan(self, key: str, claim: ClaimRecord, own: IntentRecord | None = None) -> IntentRecord | None:
        """The write the unfinished claim `claim` (CLAIMS `key`) holds, for its duplicate to name (`duplicate_result`):
        the earliest of its plans still open (plans.held_for). None for a completed claim, which is read no further
        (the duplicate of a claim completed, the common one, costs nothing more). `own`: this message's plan as the
        alert path read it, taken when it is this claim's and open (its redelivery: no query); else, for a claim a
        sweep holds (`SWEEP_OWNER`: taken over to record a write), one equality query of the claim's plans
        (plans.of_claim). A claim another delivery holds is not read further: its write is most likely under way and
        its own answer names it; one whose record failed answered `escalated` naming it (`_unrecorded`). Best effort:
        a plan that cannot be read leaves the duplicate as it was, "already claimed" (nothing is written either way),
        and the timeline says so."""
        if claim.status is ClaimStatus.COMPLETED:
            return None
        if own is not None and own.claim_key == key and own.state in (IntentState.OPEN, None):
            return own
        if not claim.owner.startswith(SWEEP_OWNER):
            # A delivery's claim in flight: most likely its write under way, whose own answer names it; the
            # duplicates of a storm meet these, and read nothing more (one batched read, as before).
            return None
        try:
            return held_for(of_claim(self.state, key))
        except (RunwardenError, DamagedRecord) as exc:
            self._log("held_plan_unread", f"{key} is held unfinished by {claim.owner}; its plans could not be read "
                                          f"({exc}), so its duplicate names no write", severity="WARNING")
            return None

    def _raise_if_own_message_in_progress(self, key: str, held: ClaimRecord) -> None:
        if _own_message_in_progress(held, self.owner, self.message_id):
            self._log("in_progress", f"{key} is held by an earlier attempt at this message ({held.owner}, since "
                      f"{held.claimed_at.isoformat()}); not acknowledged, so that Pub/Sub delivers it again")
            raise InProgress(f"{key}: an earlier attempt at this message is in progress since "
                             f"{held.claimed_at.isoformat()}")

    def claim_kind(self, action: str) -> str:
        """The kind of claim an action takes under the current config (dry-run claims are apart)."""
        return self._claim_read("", "", action)[0]

    def _settle(self, action: Action, params: Any, before: dict[str, Any], result: GateResult, incident_id: str,
                service: str, signature: str, held: _Held, manual: Manual | None = None,
                adopted: bool = False, superseded: str = "") -> bool:
        """After a write: the claim completed, the action recorded for the sweep (and the pin of a
        rollback), and what settled the incident (SETTLED, shared/remediation/settled.py), all in
        one commit (`StateStore.record_all`): so an action is recorded exactly when its claim is
        completed, and a lost answer is recognised as before. The completion is guarded by the
        claim as this attempt took it; if it is no longer that (it expired mid-write and was taken
        over), the claim is left alone, as `complete` leaves a claim it does not own, and the
        records are written without it: the write happened, the sweep must judge it.

        The plan stored before the write (`held.intent`, shared/remediation/intents.py) is closed
        in the same commit, so the sweep of unrecorded intents never finds a recorded one open.
        `adopted` (adopt_write): the action record is created only if there is none yet, so that of
        a redelivery and the sweep adopting the same write, exactly one records (and reports) it.
        `superseded` (adopt_write, a write the target shows changed again since): the record is closed
        `escalated` with that note, and no pin is written (`_records`).
        True if this call wrote the records; False if an adopted write's action record already
        existed (nothing written)."""
        now = self.clock.now()
        kind, key = held.claim
        retain = timedelta(seconds=self.config.guardrails.claim_retention_seconds)
        outcome = self._completion(result.status, result.after)
        records = [] if action.corrective else self._records(action, params, before, result, incident_id, service,
                                                             signature, manual, now, superseded,
                                                             self.owner if held.writing_kept else "", held.background)
        if records and held.intent is not None:
            # An adopted intent is closed only if still open and owned as read: a judge that escalated
            # it meanwhile (it read the target a moment apart and found neither) is its one report.
            records.append(self._closing(held.intent, IntentState.RECORDED, now, guarded=adopted, extra=held.report))
        if adopted:
            records = [replace(write, create=True) if write.kind == ACTIONS else write for write in records]
            records += held.guards if records else []
        record_all = self.state.record_all
        # The action record keeps its verdict in SETTLED (settled.write_verdict), written with its entry here, so
        # an entry without a verdict there means the sweep has not judged it yet (SettledState.keeps_verdicts).
        records, verdict = _keeping_verdicts(records)
        entry = SettledEntry(key=key, kind=kind, target=params.target, action=action.name, recorded=bool(records),
                             verdicts=bool(records))
        if held.record is not None:
            completing = Completion(kind, key, held.record, retain, now, outcome)
            done = completing.done()
            if record_all([*records, self._settled(incident_id, entry.model_copy(
                    update={"claim": done.model_dump(mode="python")}), done.expires_at, verdict)], completing):
                self._log_asked(records)
                return True
            self._log("not_completed", f"{key} is no longer the claim this attempt took (it expired during the "
                                       "write and was taken over)" + (", or its action record exists" if adopted
                                                                      else "") + ": recorded without completing it")
        if records:
            written = record_all([*records, self._settled(incident_id, entry, now + retain, verdict)])
            if written:
                self._log_asked(records)
            return written
        return True

    def _log_asked(self, records: list[RecordWrite]) -> None:
        """The timeline's `asked` line when these records pinned a rollback asked for and not serving: the
        incident's timeline then shows its revision asked for (shared/timeline/derive.py `_pinned_revision`),
        until a sweep's `pin_serving` or `released` line."""
        for write in records:
            if write.kind == PINS and write.data.get("state") == PinState.ASKED.value:
                self._log("asked", f"{short_name(str(write.data['service']))} asks for {write.data['revision']} at "
                                   "100% and does not serve it: the rollback's UpdateService operation failed with "
                                   "its split left desired; pinned as asked for", service=write.data["service"],
                          revision=write.data["revision"], action_id=write.data["action_id"])

    def _closing(self, intent: IntentRecord, state: IntentState, now: datetime, guarded: bool = False,
                 extra: dict[str, Any] | None = None) -> RecordWrite:
        """The intent closed: its state fields merged into the record, the plan kept as stored. The
        record exists: no write is made without it stored first (`_write`), and an adopted one was
        just read; its TTL is days away (INTENT_RETENTION). Only the few fields, as encoding the
        whole plan again cost about 0.2 ms of CPU per action. `guarded`: only while the intent is
        still as read (`IntentRecord.unchanged`), checked in the commit (`RecordWrite.expect`).
        `extra`: more fields in the same write (the sweep's pending report, intents.pending_report)."""
        return RecordWrite(INTENTS, intent.key, {"state": state.value, "closed_at": now, "closed_by": self.owner,
                                                 "expires_at": intent.expires_at, **(extra or {})}, merge=True,
                           expect=intent.unchanged() if guarded else None)

    def _settled(self, incident_id: str, entry: SettledEntry, expires_at: datetime,
                 verdict: SettledVerdict | None = None) -> RecordWrite:
        """A merge into the incident's SETTLED record: this entry, beside any others. The record has one
        `expires_at` (the TTL policy's field, infra/firestore.tf) and a merge replaces it, so it is never
        set to the entry's own expiry alone: a later, shorter-lived entry (a refusal kept for the cooldown,
        a claim kept for `claim_retention_seconds`) merged after an escalated plan's 7-day `held` entry
        would have let the TTL delete that entry with the record, and with it the only thing that held the
        incident's writes on another target than the alert's own (shared.pipeline `_AlertRun.prior`). It is
        set at least `settled_horizon` ahead, which no entry's claim outlives; each entry is still used only
        while its own claim copy has not expired (settled.py), so the longer life costs only storage.
        `verdict`: the action record's, when it is written judged already (`superseded`), beside its entry."""
        horizon = self.clock.now() + settled_horizon(self.config.guardrails.claim_retention_seconds)
        judged = {verdict_field(verdict.key): verdict.model_dump(mode="python")} if verdict else {}
        return RecordWrite(SETTLED, incident_id, {settled_field(entry.key): entry.model_dump(mode="python"),
                                                  **judged, "incident_id": incident_id,
                                                  "expires_at": max(expires_at, horizon)}, merge=True)

    def _records(self, action: Action, params: Any, before: dict[str, Any], result: GateResult, incident_id: str,
                 service: str, signature: str, manual: Manual | None, now: datetime,
                 superseded: str = "", write_claim: str = "",
                 background: TargetBackground | None = None) -> list[RecordWrite]:
        """The action record for the sweep, and the pin of a rollback to a named revision. `superseded`: the
        write was made and the target changed again since (adopt_write): the record is closed `escalated`
        at once with that note (the sweep never verifies or undoes it: the later change wins), and no pin
        is written (the traffic no longer shows the rollback). `write_claim`: the holder of the target's
        write claim this write left held (its outcome unknown), given back by the sweep's verdict. `background`:
        the rollback target's steady background, which the sweep judges the rollback at."""
        v = self.config.verification
        record = ActionRecord(key=result.claim_key, incident_id=incident_id, target=params.target, service=service,
                              action=action.name, signature=signature, params=params.model_dump(mode="json"),
                              before=before, after=result.after or {}, reversible=action.reversible, applied_at=now,
                              settle_at=now + timedelta(seconds=v.settle_seconds),
                              deadline_at=now + timedelta(seconds=v.deadline_seconds),
                              command_id=manual.command_id if manual else "",
                              requested_by=manual.requested_by if manual else "",
                              command_digest=manual.digest if manual else "", write_claim=write_claim,
                              incident_started_at=None if manual else self.started_at,
                              evidence_read_at=self.evidence_read_at,
                              # Its bar is all the sweep reads: not the documentation (up to 8 KB).
                              alert=self.alert.model_copy(update={"documentation": ""}) if self.alert else None,
                              target_background=background)
        if superseded:
            record = record.model_copy(update={"state": ActionState.ESCALATED, "resolved_at": now, "note": superseded})
        writes = [RecordWrite(ACTIONS, record.key, record.model_dump(mode="python") | {"state": record.state.value})]
        pinned_to = getattr(params, "to_revision", None)
        if action.name != "rollback_traffic" or not pinned_to:
            return writes
        # Traffic now names a revision: new deploys get none until someone releases the pin. A write closed at
        # once (`superseded`) is pinned only when it left its revision asked for and not serving (its operation
        # failed with its split left desired: pins.left_asked): whatever reconciles the service next serves it,
        # so the sweep, `status` and the next incident must know of it as of any pin.
        state = PinState.ASKED if left_asked(result.after, pinned_to) else PinState.SERVING
        if superseded and state is not PinState.ASKED:
            return writes
        writes.append(RecordWrite(PINS, record.service, {"service": record.service, "revision": pinned_to,
                                                         "action_id": record.key, "pinned_at": now,
                                                         "pinned": True, "state": state.value, "reminded_at": None,
                                                         # The rollback's incident, for its reminders.
                                                         "incident_id": record.incident_id}))
        return writes

    # --- proposals and overrides --------------------------------------------------------------------

    def _propose(self, action: Action, params: Any, before: dict[str, Any], result: GateResult, incident_id: str,
                 service: str | None, signature: str, now: datetime, paused: Sequence[str] = (),
                 users_of: str = "", background: TargetBackground | None = None) -> ProposalRecord:
        """The proposal record an operator approves or rejects by its id. A redelivered alert finds
        the open proposal it made before, rather than making another. `paused`: whose pauses hold the
        write back (`held_by`); kept, so that the approve is held back by the same pauses."""
        key = claim_key(incident_id, params.target, action.name)
        proposal_id = proposal_id_for(key)
        existing = self.state.get_record(PROPOSALS, proposal_id)
        if existing:
            record = read_record(ProposalRecord, existing, PROPOSALS, proposal_id)
            if record.state != "open" or record.expires_at > now:
                return record
            proposal_id = proposal_id_for(f"{key}|{now.isoformat()}")  # the old one expired: a fresh one
        record = ProposalRecord(
            proposal_id=proposal_id, key=key, incident_id=incident_id, target=params.target,
            service=service or params.target, action=action.name, signature=signature,
            params=params.model_dump(mode="json"), before=before, proposed_change=result.after or {},
            reason=result.reason, proposed_at=now,
            on_behalf=[str(name) for name in paused if name not in (params.target, service or params.target)],
            maybe_behind=[str(name) for name in paused if isinstance(name, MaybeBehind)], users_of=users_of,
            target_background=background, evidence_read_at=self.evidence_read_at,
            expires_at=now + timedelta(seconds=self.config.guardrails.proposal_ttl_seconds))
        self.state.put_record(PROPOSALS, proposal_id, record.model_dump(mode="python"))
        return record

    def _proposed_beside(self, proposal: ProposalRecord, now: datetime) -> str:
        """Other incidents' open proposals of the same action on the same target, named on this one's answer: one
        failure fires several policies (the connector's CPU and the service's 5xx share), each its own incident, and
        each proposed the same scale; a person shown two proposals that name neither the other could approve both.
        One equality query on `target`, served by the single-field index Firestore keeps for every field ("Cloud
        Firestore automatically creates single-field indexes", cloud.google.com/firestore/docs/query-data/
        index-overview). Best effort: a read that fails, or a record this version cannot read, names nothing more. Two proposed
        within the same moment may each miss the other; the gate still holds a second write back (its cooldown and
        the approve's own check of the target)."""
        try:
            found = self.state.find_records(PROPOSALS, "target", proposal.target)
        except (TransientError, PermanentError):
            return ""
        others = sorted((other for other in (_proposal_of(data) for data in found) if other is not None
                         and other.proposal_id != proposal.proposal_id and other.incident_id != proposal.incident_id
                         and other.action == proposal.action and other.state == "open" and other.expires_at > now),
                        key=lambda other: other.proposed_at)
        if not others:
            return ""
        listed = "; ".join(f"{o.proposal_id} (incident {o.incident_id}, proposed at {o.proposed_at:%Y-%m-%d %H:%M:%S} "
                           "UTC)" for o in others)
        return (f"The same action, {proposal.action} on {proposal.target}, is already proposed under another "
                f"incident: {listed}. One failure fires several policies, each its own incident: approve one of these "
                "proposals and reject the others")

    def _override(self, target: str, now: datetime, dry_run: bool, held: _Held, manual: Manual,
                  result: GateResult) -> None:
        """Cooldown and budgets are not applied. The action still takes the target's cooldown when
        it is free, so that automation holds back after it like after its own."""
        skipped = []
        if self._cooldown(target, now, dry_run, held):
            skipped.append("cooldown")
        skipped.append("budgets")
        result.overrides = skipped
        result.notes = [*result.notes, f"override_limits by {manual.requested_by} (command {manual.command_id}): "
                        f"{' and '.join(skipped)} not applied"]
        if self.timeline is not None:
            self.timeline.step("override", result.notes[-1], severity="NOTICE", override=True,
                               command_id=manual.command_id, requested_by=manual.requested_by, skipped=skipped)

    def _held_for(self, target: str, key: str, hold: Refused, manual: Manual | None) -> str:
        """What a hold by the cooldown adds to its answer: for an operator's command, the write that took it and
        the override (`_cooled_by`); for an alert, the write that took it and that this alert is held for it
        (`_alert_cooled_by`). Nothing for another hold, or for the sweep's own undo (no alert, no command)."""
        if hold.held is not Held.COOLDOWN:
            return ""
        began = hold.limit.since if hold.limit is not None else None
        if manual is not None:
            return self._cooled_by(target, key, hold.holder, began)
        return self._alert_cooled_by(target, key, hold.holder, began) if self._alert is not None else ""

    def _alert_cooled_by(self, target: str, key: str, holder: str = "", began: datetime | None = None) -> str:
        """For an alert held back by the cooldown: the write that took it, named by its action and incident (one
        failure fires several policies, a 5xx share, a p99, an uptime check, a connector's CPU, each its own
        incident, "a record of when the condition of an alerting policy is met", cloud.google.com/monitoring/alerts/
        incidents-events; delivered at once to other instances, the first to reach the gate writes and the others
        meet its cooldown), and that this alert is held for that write. Before, the answer said only "acted on at ...;
        next action after ...", which read as a write still to come and named neither the write nor its
        incident. Found as `_holder_named` finds it; a read that fails, or finds no write, names nothing."""
        named = self._holder_named(target, key, holder, began)
        if not named:
            return ""
        return (f"{named}; this alert is held for that write (one failure fires several policies, each its own "
                "incident): nothing is written for it, the write's own answer says how it ended, and the sweep judges "
                "it on live data")

    def _holder_named(self, target: str, key: str, holder: str, began: datetime | None = None) -> str:
        """The write that holds `target` back, named: its plan while it may be under way (`_under_way`), else the
        newest write recorded on the target (`_last_recorded`), else the claim its attempt (`holder`, the lease's
        owner) took in the same commit as the lease (`_taken_with`): a write decided in the same instant as this
        one has stored neither its plan (stored beside that commit, it may land after this read) nor its record."""
        return (self._under_way(target, key, holder) or self._last_recorded(target, began)
                or self._taken_with(target, key, holder))

    def _taken_with(self, target: str, key: str, holder: str) -> str:
        """The write whose attempt (`holder`) holds `target`'s cooldown or write claim, read from the claim that
        attempt took on its incident with them (`_take_all` commits them together; the one-at-a-time path takes
        its claim first): one equality query of the claims by owner (a claim's `owner` is one attempt at one
        message, so a few at most; a single-field equality needs no composite index, FirestoreStateStore.
        find_records). Its other claims, of another target (an operator's pause of several), are not this write.
        "" when none is found or the read fails: the hold's own words still say until when."""
        if not holder or holder == self.owner:
            return ""
        try:
            found = self.state.find_records(CLAIMS, "owner", holder, _HOLDER_CLAIMS)
        except (TransientError, PermanentError):
            return ""
        named = [in_flight.claim_named(data) for data in found
                 if data.get("key") != key and bound_key(in_flight.claimed(data)[1]) == bound_key(target)]
        return f"; the write that holds it (its plan not stored yet): {'; '.join(sorted(named))}" if named else ""

    def _last_recorded(self, target: str, began: datetime | None = None) -> str:
        """The newest write recorded on `target` since its cooldown began (`in_flight.last_recorded`): since the
        lease's own claimed_at when the hold read it (`began`), else one cooldown back from now, either less the
        clocks' skew. From now alone, a write whose cooldown had lapsed before this one's was taken (11:31, under
        a cooldown taken at 12:02 for 30 minutes) was named as the write holding the target. "" when none is found
        or the read fails."""
        start = began or self.clock.now() - timedelta(seconds=self.config.guardrails.cooldown_seconds)
        since = start - CLOCK_SKEW_ALLOWANCE
        try:
            return in_flight.last_recorded(self.state.find_records(ACTIONS, "target", target), since)
        except (TransientError, PermanentError):
            return ""

    def _cooled_by(self, target: str, key: str, holder: str = "", began: datetime | None = None) -> str:
        """For an operator's command held back by the cooldown: the write that took it, if it may still be
        under way (`_under_way`), else the newest one recorded on the target since the cooldown began (a
        second operator minutes after the first reads what was done, by whom and its action id, not only
        "acted on at"); and that an operator may override it. A read that fails names nothing."""
        named = self._holder_named(target, key, holder, began)
        return (f"{named}; to write within the cooldown, an operator may send it again with override_limits: true "
                "(and a new command_id)")

    def _under_way(self, target: str, key: str, holder: str = "") -> str:
        """For an operator's command held back by the cooldown: the write that took it, if it may still be
        under way, named (the same command sent from two terminals within a second: the second's sender
        reads whose write it is, not only "acted on at"); only the plan of the attempt that holds the hold
        (`holder`, when the lease names it: `OpenPlans.of`). A read that fails names nothing."""
        since = in_flight.lease_start(self.clock.now(), self.config.guardrails.claim_ttl_seconds)
        try:
            listed = "; ".join(in_flight.others_on(self.state, target, since, key).of(holder).listed())
        except (TransientError, PermanentError):
            return ""
        return f"; under way now: {listed}" if listed else ""

    def _take_writing(self, target: str, held: _Held, manual: Manual | None) -> str:
        """The target's write claim (WRITING), taken right before the write where the one commit of the alert
        path did not take it (`_take_all`): "" once held. Another write to `target` holding it (not lapsed)
        is in flight: everything this attempt took is given back and nothing is sent. An operator's command
        is answered `skipped`, naming that write (its sender decides whether to send it again); an alert, or
        the sweep's undo, raises WriteInFlight, and its next delivery (or sweep) decides on the target as that
        write left it. override_limits sets aside the cooldown and the budgets, which space writes out in
        time, never a write still being sent: written over, the other's answer ("applied") would stand for a
        change no longer there. A claim left to lapse (its instance died mid-write) is taken over."""
        now = self.clock.now()
        # An exact-name write claim the gate's batched read answers is judged first, with no read: live, it holds
        # the write whatever the bound key holds, and a bound claim taken only to be given back cost two commits.
        answered = held.legacy is not None and held.legacy.answers(WRITING, target)
        legacy = self._legacy_held(WRITING, target, now, held.legacy) if answered else None
        taken = (ClaimResult(acquired=False, record=legacy) if legacy is not None else
                 self._claim(WRITING, bound_key(target), skew_safe_lease(self.config.guardrails.claim_ttl_seconds),
                             now))
        legacy = self._legacy_held(WRITING, target, now, held.legacy) if taken.acquired and not answered else None
        if legacy is not None:
            self.state.release(WRITING, bound_key(target), self.owner)
            taken = ClaimResult(acquired=False, record=legacy)
        if taken.acquired:
            held.writing, held.writing_until = target, taken.record.expires_at
            if taken.took_over:
                self._log("write_claim_taken_over", f"the write claim on {target} of {taken.record.owner} had "
                                                    "lapsed; taken over")
            return ""
        self._give_back(held)   # its plan voided with the rest: nothing is sent
        other, own = taken.record, held.claim[1] if held.claim else ""
        busy = (f"another write to {target} is in flight (its write claim held by {other.owner} since "
                f"{clock_on(other.claimed_at, other.expires_at)}Z, until "
                f"{clock_on(other.expires_at, other.claimed_at)}Z at the latest"
                f"{self._under_way(target, own, other.owner) or self._taken_with(target, own, other.owner)})")
        if manual is None:
            raise WriteInFlight(f"{busy}: not written beside it; delivered again once it has ended", busy, target=target,
                                holder=other.owner)
        return (f"{busy}; two writes to one target are never sent at once"
                + (" (override_limits sets aside the cooldown and the budgets, never a write in flight)"
                   if manual.override_limits else "")
                + ", so nothing was written: its answer says how it ended; send this again (a new command_id) "
                  "once it has, if it is still wanted")

    def _end_writing(self, held: _Held) -> None:
        """The target's write claim given back once the write has ended (best effort: one that cannot be
        released lapses with its lease). Not after an unknown outcome (`_unknown`): that write may still be
        landing, and its claim holds the target until its lease."""
        if not held.writing:
            return
        try:
            self.state.release(WRITING, bound_key(held.writing), self.owner)
            held.writing = None
        except RunwardenError as exc:
            # Said, with until when: every other write to the target (a command, an alert, the sweep's undo)
            # is held back meanwhile, and a person asking why reads it here and in `status`.
            until = f" until {held.writing_until:%H:%M:%S}Z at the latest" if held.writing_until else ""
            if self.timeline is not None:
                self.timeline.step("write_claim_kept", f"the write to {held.writing} has ended, but its write claim "
                                   f"could not be given back ({exc}): it holds {held.writing}{until} (its lease), "
                                   "and every other write to it is held back until then (an operator's command "
                                   "`skipped` naming it, an alert delivered again)", severity="WARNING")

    def _complete(self, kind: str, key: str, result: GateResult, retain: timedelta | None = None) -> None:
        retain = retain if retain is not None else timedelta(seconds=self.config.guardrails.claim_retention_seconds)
        self.state.complete(kind, key, self.owner, retain, self.clock.now(),
                            self._completion(result.status, result.after))

    def _complete_held(self, key: str, claim: ClaimRecord | None, target: str, action: str, incident_id: str,
                       result: dict[str, Any], retain: timedelta,
                       plan: tuple[IntentRecord, IntentState] | None = None) -> bool:
        """The claim `key` (CLAIMS, as taken: `claim`) completed as an answer that holds the incident's automatic
        write on `target` with no action record (a refusal kept for the cooldown, an escalation kept for its
        plan), and its SETTLED entry (`held`) merged in the same commit: a later notification then finds it in
        the one batched read the alert path makes before anything else (shared.pipeline `_AlertRun.prior`),
        where a claim on another target than the alert's own (a connector scaled for a service's alert) was
        found only at the gate, after all the evidence was read. One commit, as `complete`'s (the claim's
        update is guarded by its update time either way); a claim no longer as taken is left alone, as
        `complete` leaves one it does not own. A claim not known as taken is completed alone, as before.

        `plan`: the plan the claim is held for, and the state it must still be in. The commit is guarded on it
        (`plans.held_as`): a plan released meanwhile (`release` closed it `void` between this attempt's read of
        it and this commit) or judged since fails the commit, and the claim is not kept for a plan that holds
        nothing (no `release` could lift that hold: the plan is no longer escalated). False if not completed."""
        now = self.clock.now()
        if claim is None:
            self.state.complete(CLAIMS, key, self.owner, retain, now, result)
            return True
        completing = Completion(CLAIMS, key, claim, retain, now, result)
        done = completing.done()
        entry = SettledEntry(key=key, kind=CLAIMS, target=target, action=action, recorded=False, held=True,
                             claim=done.model_dump(mode="python"))
        guards = [held_as(*plan)] if plan is not None else []
        if not self.state.record_all([self._settled(incident_id, entry, done.expires_at), *guards], completing):
            self._log("not_completed", f"{key} is no longer the claim this attempt took"
                      + (f", or {plan[0].key} is no longer {plan[0].state.value if plan[0].state else 'open'}"
                         if plan is not None else "") + ": left as it is")
            return False
        return True

    def _claim(self, kind: str, key: str, ttl: timedelta, now: datetime) -> Any:
        """state.claim; if it fails transiently, the create may have landed with its answer lost
        (DEADLINE_EXCEEDED on a commit that took). Such a claim would be held by an attempt that
        is about to end, so it is released (if it is this attempt's) before the error goes on."""
        try:
            return self.state.claim(kind, key, self.owner, ttl, now)
        except TransientError:
            self._give_back_quietly(_Held(claim=(kind, key)))
            raise

    def _give_back_quietly(self, held: _Held) -> None:
        """_give_back, best effort: the state store may still be failing; what cannot be released
        expires with its TTL."""
        try:
            self._give_back(held)
        except RunwardenError as exc:
            self._log("give_back_failed", f"could not release what this attempt holds ({exc}); it expires "
                                          "with its TTL")

    def _unjudged_plan(self, key: str, intent: IntentRecord | None) -> IntentRecord | None:
        """Another message's plan for this very claim, still open: its attempt took the claim, may
        have written, and did not record it (its record failed, or it died), and the claim it held
        has lapsed since. Until the sweep (or that message's redelivery) judges it, the target may
        already carry that change, unrecorded: a new write on top would act twice on one incident.
        Or, with none open, one judged `escalated`: the target showed neither the state before nor
        the plan, or could not be read, and a person was told that the write may have been made.
        Nothing settles that but the person (who acts by command, on a claim of its own), so it holds
        this incident's automatic write on the target for as long as the plan is kept
        (records.INTENT_RETENTION), as an action record holds it for 30 days (`_held_for_escalated`).
        A plan closed `void` (nothing was written) or `recorded` (its action record answers) holds nothing.
        Read only when an expired claim is taken over, so the common path makes no extra call."""
        return unjudged(self.state, key, intent, self.clock.now())

    def _held_for_escalated(self, action: str, key: str, held: _Held, plan: IntentRecord) -> GateResult:
        """The claim just taken over, completed `escalated` as this answer and kept until the escalated
        plan expires (`hold_escalated`): the person was told of that plan once, and is told once more
        here why this notification does nothing; every later one of the incident is a duplicate of this
        answer, not another page. This attempt's own plan, if stored ahead, is voided (nothing written).

        A plan still open (not judged yet: its attempt may have written) holds it for a claim's lease, by
        when its judge (the sweep, past the lease plus a minute) has recorded or escalated it; a takeover
        after that reads it again. Given back instead, the claim was gone: the next notification claimed
        afresh, a fresh claim is no takeover and reads no plan, and with no cooldown in the way it wrote the
        same change a second time on one that may have landed."""
        escalated = plan.state is IntentState.ESCALATED
        reason = _escalated_reason(action, plan) if escalated else _unjudged_reason(action, plan)
        result = GateResult(OutcomeStatus.ESCALATED, reason, claim_key=key)
        hold = self._plan_hold(plan) if escalated else skew_safe_lease(self.config.guardrails.claim_ttl_seconds)
        try:
            # Its reason kept, so that this message's redelivery answers it again (`duplicate_result`).
            # Guarded on the plan as read: one released or judged meanwhile fails the commit, and the claim is
            # left claimed until its lease (never given back: a fresh claim reads no plan); the takeover past
            # it reads the plan again.
            self._complete_held(key, held.record, plan.target, plan.action, plan.incident_id,
                                {**self._completion(result.status, result.after), "reason": result.reason}, hold,
                                plan=(plan, plan.state or IntentState.OPEN))
        except TransientError:
            self._give_back_quietly(held)
            raise
        if held.intent is not None:
            self._void_intent(held.intent)
        self._log("held_by_escalated_plan", result.reason)
        return result

    def _plan_hold(self, plan: IntentRecord) -> timedelta:
        """How long a claim held for an escalated plan is kept: until the plan itself expires (as its answer
        says), and at least a claim's lease. Never the config's claim retention when that is longer (a day
        by default, up to 30): the hold then outlived the plan, `release` refused the expired plan as
        holding nothing (and found none once Firestore's TTL deleted it), and every notification was still
        a duplicate of the hold, which nothing but time could lift."""
        expires = plan.expires_at or plan.noted_at
        return max(skew_safe_lease(self.config.guardrails.claim_ttl_seconds), expires - self.clock.now())

    def hold_escalated(self, plan: IntentRecord, reason: str) -> bool:
        """After a judge escalated `plan` (an alert's, whose write may have been made; intents.answer):
        its claim, lapsed, taken over and completed `escalated`, kept until the plan expires. Later
        notifications of the incident are then `skipped` duplicates of that escalation, not a fresh
        decision that could write the same change a second time on top of one that may have landed,
        however long the incident stays open and whether or not Firestore's TTL has deleted the lapsed
        claim meanwhile (a fresh claim is no takeover, so `_unjudged_plan` would not be read). Best
        effort: a claim someone holds now is left alone (its holder, a re-notification taking it over,
        reads the plan, `_unjudged_plan`); a fault is logged, and the takeover's read still holds the
        write. True if held."""
        if plan.command_id:
            return False    # an operator's command: its resend is answered from its intent; a new one is a person's
        now, taken = self.clock.now(), None
        try:
            taken = self.state.claim(CLAIMS, plan.claim_key, self.owner,
                                     skew_safe_lease(self.config.guardrails.claim_ttl_seconds), now)
            if not taken.acquired:
                return False
            if not self._complete_held(plan.claim_key, taken.record, plan.target, plan.action, plan.incident_id,
                                       self._completion(OutcomeStatus.ESCALATED, None), self._plan_hold(plan),
                                       plan=(plan, IntentState.ESCALATED)):
                # Released (closed `void`) between its escalation and this hold: the claim is given back, as
                # the release gave it back; kept, it would hold for 7 days a plan no command can release.
                self._give_back_quietly(_Held(claim=(CLAIMS, plan.claim_key)))
                return False
        except RunwardenError as exc:
            self._log("escalated_unheld", f"could not hold {plan.claim_key} for its escalated plan ({exc}); a "
                                          "re-notification that takes the lapsed claim over still reads the plan")
            if taken is not None and taken.acquired:
                self._give_back_quietly(_Held(claim=(CLAIMS, plan.claim_key)))   # not left held unfinished
            return False
        return True

    def _give_back(self, held: _Held) -> None:
        """Everything `held` names released (each only while this attempt owns it), and its plan voided. In one
        commit (`release_all`, which the StateStore port declares and every store has: the one-at-a-time path
        gave back the claim, cooldown and a slot of each budget in a commit each, five where a write in flight
        held the target); a single record by `release`, in the same order."""
        taken = [*([held.claim] if held.claim else []),
                 *([(COOLDOWNS, bound_key(held.cooldown))] if held.cooldown else []),
                 *([(WRITING, bound_key(held.writing))] if held.writing else []),
                 *((BUDGETS, slot) for slot in held.slots)]
        if len(taken) > 1:
            self.state.release_all(taken, self.owner)
        else:
            for kind, key in taken:
                self.state.release(kind, key, self.owner)
        if held.intent is not None:
            self._void_intent(held.intent)

    def _void_intent(self, intent: IntentRecord) -> None:
        """Closes the plan of a write that was not made (everything given back), best effort: if it
        stays open, the sweep finds the claim gone and the target as it was, and closes it then. Only
        this attempt's own plan, still open: another attempt at the same message may have stored its
        own since."""
        try:
            self.state.update_record(INTENTS, intent.key, {"state": IntentState.VOID.value,
                                                           "closed_at": self.clock.now(), "closed_by": self.owner,
                                                           "note": "given back: nothing written"},
                                     expect=intent.unchanged())
        except RunwardenError as exc:
            self._log("intent_open", f"could not close the plan of {intent.claim_key} ({exc}); the sweep closes it")

    def _log(self, step: str, message: str, **details: Any) -> None:
        if self.timeline is not None:
            self.timeline.step(step, message, **details)

    # --- intents: what an attempt is about to write (shared/remediation/intents.py) ----------------

    def _intent(self, action: Action, params: Any, before: dict[str, Any], key: str, incident_id: str,
                service: str | None, signature: str, manual: Manual | None, now: datetime,
                background: TargetBackground | None = None) -> IntentRecord | None:
        """The plan to store before a write: an alert's (keyed by incident and message) or an
        operator's command's (keyed by its command_id: a resend reads it, shared/commands/
        recovery.py). None for a corrective action (an undo keeps no record to recover), or an
        alert's attempt with no message to be redelivered."""
        command_id = manual.command_id if manual is not None else ""
        if action.corrective or not (command_id or (manual is None and self.message_id)):
            return None
        return IntentRecord(incident_id=incident_id, message_id=self.message_id or "", owner=self.owner,
                            claim_key=key, action=action.name, target=params.target, service=service or params.target,
                            signature=signature, params=params.model_dump(mode="json"), before=before,
                            after=action.preview(params, before), noted_at=now, command_id=command_id,
                            requested_by=manual.requested_by if manual is not None else "",
                            command_digest=manual.digest if manual is not None else "",
                            proposal_id=manual.approved if manual is not None else "", state=IntentState.OPEN,
                            target_background=background)

    def _note_intent(self, intent: IntentRecord) -> None:
        """Stores the plan under its key, unless another attempt's plan there may still be live.
        Two attempts at one message share the key (records.intent_key), and Pub/Sub redelivers a push
        whose ack deadline passed while its first attempt still runs: the redelivery, which read the
        state before the first attempt's commit, stores its plan ahead of its own commit (which then
        fails on the claim). Replacing the first attempt's plan would leave its write with the
        redelivery's intent (closed as another attempt's, or left open for the sweep when the first
        attempt gives back and cannot void it). So an open plan of another attempt stored less than a
        claim's lease ago (`_may_be_live`) is kept, and this attempt raises AttemptInProgress, writing
        nothing; any other is replaced by an update guarded on it as read, so of two attempts replacing
        it at once exactly one does, the other raising likewise.

        The plan is first created only if there is none (`StateStore.create_record`: one commit,
        the precondition exists=false, no read before it), so the common case, no plan at the key, costs
        the write's path one round trip (on the all-at-once path it runs beside the commit,
        `_take_all_and_check`), and of two attempts that both find none exactly one stores its plan:
        the other finds it and goes on as above. The plan is read only when the create finds one."""
        data = intent.model_dump(mode="python")
        existing = self._create_intent(intent.key, data)
        if existing is None:
            return
        held = read_record(IntentRecord, existing, INTENTS, intent.key)
        if held.owner != intent.owner and self._may_be_live(held, intent.noted_at):
            raise AttemptInProgress(f"{intent.key}: the plan of {held.owner}, stored at "
                                    f"{clock_on(held.noted_at, intent.noted_at)}, "
                                    "is still open and its attempt may still run")
        if held.owner == intent.owner:
            self.state.put_record(INTENTS, intent.key, data)   # this attempt's own, stored again
        elif not self.state.update_record(INTENTS, intent.key, data,
                                          expect={"owner": held.owner, "state": existing.get("state")}):
            raise AttemptInProgress(f"{intent.key}: another attempt at this message stored its plan meanwhile")

    def _create_intent(self, key: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """Stores `data` at `key` if no plan is there (None), else answers the plan found there. A plan
        that is gone again between a refused create and its read (deleted meanwhile) is created again."""
        for _ in range(_INTENT_ATTEMPTS):
            if self.state.create_record(INTENTS, key, data):
                return None
            existing = self.state.get_record(INTENTS, key)
            if existing is not None:
                return existing
        raise TransientError(f"{key}: the plan stored there kept appearing and going under {_INTENT_ATTEMPTS} attempts")

    def _may_be_live(self, held: IntentRecord, now: datetime) -> bool:
        """An open plan whose attempt may still run (or be redelivered into a write): stored less than
        a claim's lease ago. Older, its claim has lapsed; it was judged, or the sweep judges it."""
        if held.state not in (IntentState.OPEN, None):
            return False
        return held.noted_at + skew_safe_lease(self.config.guardrails.claim_ttl_seconds) > now

    def _note_ahead(self, intent: IntentRecord | None) -> Future | None:
        if intent is None:
            return None
        return _GATE_INTENT.submit(self._note_intent, intent)

    def adopt_write(self, intent: IntentRecord, action: Action, after: dict[str, Any],
                    reason: str, report: dict[str, Any] | None = None, superseded: str = "") -> GateResult:
        """Records a write an earlier attempt made and could not record (its plan: `intent`; the
        target as read now: `after`), as `_write` would have: the claim (taken over if it lapsed)
        completed, the action record for the sweep and the pin. Nothing is written to the target.
        Escalated, with `reason`: a person should know an attempt failed around its write.

        Exactly one judge reports it: the action record is created only if there is none, and the
        intent closed only if still open and owned as read, both in one commit. An adopter that
        finds it recorded meanwhile (a redelivery and the sweep at once, or two sweeps), or escalated
        by a judge that read the target a moment apart and found neither, writes nothing, completes
        the claim it took, and answers a `skipped` duplicate: the other one's `escalated` is the answer.
        `report`: fields merged into the intent in the commit that closes it (the sweep's pending report).
        `superseded`: the target shows the write was made and changed again since (intents.Match.CHANGED):
        recorded all the same (Runwarden's write happened: the timeline, a later alert's duplicate check
        and the incident's history need it), but closed `escalated` with this note, never verified or
        undone by the sweep, and with no pin (the later change wins)."""
        now = self.clock.now()
        params = action.params_model.model_validate(intent.params)
        result = GateResult(OutcomeStatus.ESCALATED, reason, after=after, claim_key=intent.claim_key,
                            notes=[] if superseded else action.notes(params), written=True)
        ttl = skew_safe_lease(self.config.guardrails.claim_ttl_seconds)
        # The claim's other plans: one of the same change escalated already (a judge of a twin read the
        # target a moment apart and found neither) has told a person of this claim's write.
        near = siblings(self.state, intent)
        if near.reported is not None and near.recorded is None:
            return self._reported_with_twin(intent, near.reported, result)
        claim = self._claim(CLAIMS, intent.claim_key, ttl, now)
        # Completed (later deliveries are duplicates of it) with the records, in one commit; a claim
        # someone else holds is left alone, and the records are still written. Every other open plan of
        # the claim must still be open as read (`plans.guard`): one escalated meanwhile fails the commit.
        held = _Held(claim=(CLAIMS, intent.claim_key), record=claim.record if claim.acquired else None, intent=intent,
                     report=report, guards=[guard(plan) for plan in near.watched], background=intent.target_background)
        manual = Manual(intent.command_id, intent.requested_by, digest=intent.command_digest) if intent.command_id else None
        if not self._settle(action, params, intent.before, result, intent.incident_id, intent.service,
                            intent.signature, held, manual, adopted=True, superseded=superseded):
            return self._adopted_elsewhere(intent, claim, result)
        # `key`, `action`, `target`: the write this line records, for the incident timeline to show it as
        # Runwarden's write and tie the sweep's verdict to it (shared/timeline/classify.written_on);
        # `superseded`: recorded with no pin (shared/timeline/derive._pinned_revision).
        self._log("adopted", f"recorded {intent.claim_key}, written by {intent.owner}: {reason}",
                  key=intent.claim_key, action=intent.action, target=intent.target,
                  **({"superseded": True} if superseded else {}))
        if intent.proposal_id and not superseded:
            self._end_approved(intent)
        return result

    def _reported_with_twin(self, intent: IntentRecord, twin: IntentRecord, result: GateResult) -> GateResult:
        """`intent`'s claim was escalated with `twin`, a plan of the very same change: a person was told of
        its write once. Closed with it (guarded on being open as read), nothing recorded, a `skipped` duplicate."""
        try:
            self.state.update_record(INTENTS, intent.key, {
                "state": IntentState.ESCALATED.value, "closed_at": self.clock.now(), "closed_by": self.owner,
                "note": f"escalated with {twin.key}, the same plan ({twin.owner}), reported once"},
                expect=intent.unchanged())
        except RunwardenError as exc:
            self._log("intent_open", f"could not close {intent.key} with its twin ({exc}); the sweep closes it")
        reason = (f"duplicate: {intent.action} on {intent.target}, planned by {intent.owner} and not recorded, was "
                  f"escalated to a person with {twin.key}, a plan of the very same change (one claim, one possible "
                  "write), which reported it; nothing recorded or written")
        self._log("adopted_elsewhere", reason)
        return GateResult(OutcomeStatus.SKIPPED, reason, after=result.after, claim_key=intent.claim_key,
                          duplicate=True, held=Held.CLAIM_HELD)

    def _end_approved(self, intent: IntentRecord) -> None:
        """The proposal an adopted write applies (an approve's), ended `applied` as a completed
        approve ends it: only if still `approved` (or `in_doubt`) by that command. Best effort: the write
        is recorded either way, and a resend of the approve ends it too (shared/commands/recovery.py)."""
        try:
            end_approval_applied(self.state, intent.proposal_id, intent.command_id,
                                 f"applied by command {intent.command_id}, whose attempt could not record it; "
                                 "recorded since")
        except RunwardenError as exc:
            self._log("proposal_open", f"could not end proposal {intent.proposal_id} as applied ({exc})")

    def _adopted_elsewhere(self, intent: IntentRecord, claim: Any, result: GateResult) -> GateResult:
        """Another adopter recorded the write first: its `escalated` reports it. The claim this one
        took over is completed as that answer, so later deliveries are duplicates of it."""
        if claim.acquired:
            retain = timedelta(seconds=self.config.guardrails.claim_retention_seconds)
            self.state.complete(CLAIMS, intent.claim_key, self.owner, retain, self.clock.now(),
                                self._completion(OutcomeStatus.ESCALATED, result.after))
        reason = (f"duplicate: {intent.action} on {intent.target}, written by {intent.owner} and not recorded by it, "
                  "was recorded or escalated meanwhile by another delivery or the sweep, which reports it; "
                  "nothing written")
        self._log("adopted_elsewhere", reason)
        return GateResult(OutcomeStatus.SKIPPED, reason, after=result.after, claim_key=intent.claim_key,
                          duplicate=True, held=Held.CLAIM_HELD)


# Where an approve's proposal stands while its write is made or tried and not yet settled: `approved` (the
# write under way, or its attempt ended before answering), `in_doubt` (the gate escalated it after sending
# it: shared/commands/approval.py). Ended `applied` once the write is found recorded as the approve's.
PROPOSAL_IN_DOUBT = "in_doubt"
PROPOSAL_UNSETTLED = ("approved", PROPOSAL_IN_DOUBT)


def _still_refused(action: str, code: str, first: datetime) -> str:
    """How an answer refused again opens (Gate._refused): the same refusal as the incident's first `failed`."""
    return (f"{action} still refused [{code}], as when first refused at {first:%Y-%m-%d %H:%M:%S} UTC: tried again "
            "when the incident was notified again after that refusal's hold lapsed, and refused the same way (nothing "
            "was written either time; this is no new failure). ")


def _last_code(reason: str) -> str:
    """The last "[CODE]" a refusal's reason ends its API's words with ("... failed: ... [PERMISSION_DENIED]. Not
    tried again ..."), or ""."""
    found = re.findall(r"\[([A-Z_]+)\]", reason)
    return found[-1] if found else ""


def end_approval_applied(state: Any, proposal_id: str, command_id: str, note: str) -> bool:
    """The proposal ended `applied`, guarded on each state of PROPOSAL_UNSETTLED in turn and on the
    approving command (an update per state tried, on this rare path only)."""
    return any(state.update_record(PROPOSALS, proposal_id, {"state": "applied", "note": note},
                                   expect={"state": unsettled, "command_id": command_id})
               for unsettled in PROPOSAL_UNSETTLED)


def _unjudged_reason(action: str, plan: IntentRecord) -> str:
    return (f"{action} not written: an earlier attempt (message {plan.message_id}) planned {plan.action} on "
            f"{plan.target} at {plan.noted_at:%Y-%m-%d %H:%M:%S} UTC and its write was never recorded, so the "
            "target may already carry that change. Acting again would act twice on this incident; the "
            "verification sweep records or reports that plan (intent "
            f"{plan.key}); a person must check {plan.target}")


def _escalated_reason(action: str, plan: IntentRecord) -> str:
    return (f"{action} not written: an earlier attempt (message {plan.message_id}) planned {plan.action} on "
            f"{plan.target} at {plan.noted_at:%Y-%m-%d %H:%M:%S} UTC; its write was never recorded and it was "
            f"escalated to a person"
            + (f" at {plan.closed_at:%Y-%m-%d %H:%M:%S} UTC" if plan.closed_at else "")
            + f" (intent {plan.key}): the target may carry that change. Acting again could act twice on this "
            f"incident, so its automatic writes on {plan.target} are held until "
            f"{(plan.expires_at or plan.noted_at):%Y-%m-%d %H:%M:%S} UTC; later notifications of it are duplicates "
            "of this answer. A person must check the target and act by command if more is needed. "
            + release_hint(plan))


def settled_horizon(claim_retention_seconds: int) -> timedelta:
    """How far ahead every merge sets an incident's SETTLED record to expire: past the longest life any entry's
    claim can have from now. A completed claim is kept `claim_retention_seconds`; a claim held for an escalated
    plan until the plan expires, at most INTENT_RETENTION after it was noted (`Gate._plan_hold`), by an
    instance whose clock may run up to CLOCK_SKEW_ALLOWANCE ahead of this one's (shared/clock.py)."""
    return max(timedelta(seconds=claim_retention_seconds), INTENT_RETENTION) + CLOCK_SKEW_ALLOWANCE


def _legacy_live(found: Mapping[tuple[str, str], dict[str, Any] | None], kind: str, target: str, now: datetime) -> bool:
    """Whether the cooldown or write claim (`kind`) an earlier version stored under `target`'s exact name, as read
    in `found`, still holds (`bound_keys`). One lapsed is never taken over (the gate takes `bound_key`'s), so it
    does not send the write to the one-at-a-time path; one this version cannot read holds (fail closed)."""
    if bound_key(target) == target:
        return False
    data = found.get((kind, target))
    if data is None:
        return False
    try:
        return not ClaimRecord.model_validate(data).expired(now)
    except ValueError:
        return True


def _legacy_free(found: Mapping[tuple[str, str], dict[str, Any] | None], slot: str | None, now: datetime) -> bool:
    """Whether the slot a write took under the exact name (`legacy_slot`), as read in `found`, leaves its place
    free: there is none, or it has lapsed. One not read counts as free: it is read wherever one is taken."""
    data = found.get((BUDGETS, slot)) if slot else None
    return data is None or _slot_free(data, now)


def _slot_free(data: Mapping[str, Any], now: datetime) -> bool:
    """Whether a budget slot as read may be taken: lapsed. A slot this version cannot read is counted as
    spent (fail closed: it may hold a write of this hour), never taken over nor raised on: a budget's slots
    are shared by every target of its bucket, so one damaged slot must not stop the others' work; a person
    hears of it only if every slot is so, as a spent budget."""
    try:
        return ClaimRecord.model_validate(data).expired(now)
    except ValueError:
        return False


def _keeping_verdicts(records: list[RecordWrite]) -> tuple[list[RecordWrite], SettledVerdict | None]:
    """`records` with the action record marked as keeping its verdict in the incident's SETTLED record
    (`ActionRecord.verdict_kept`: every commit that judges it writes it there too, settled.write_verdict), and
    that verdict when the record is written judged already (a superseded write's, closed `escalated` at once)."""
    marked, verdict = [], None
    for write in records:
        if write.kind == ACTIONS:
            write = replace(write, data=write.data | {"verdict_kept": True})
            state = write.data.get("state")
            if state in JUDGED_STATES:
                verdict = SettledVerdict.of(write.data, ActionState(state), write.data["resolved_at"])
        marked.append(write)
    return marked, verdict


def _proposal_of(data: dict[str, Any]) -> ProposalRecord | None:
    """A proposal as stored, or None for one this version cannot read (named by nothing: a best-effort note)."""
    try:
        return read_record(ProposalRecord, data, PROPOSALS, str(data.get("proposal_id") or "?"))
    except DamagedRecord:
        return None
