"""status: a snapshot of what Runwarden holds, published as the outcome's `snapshot`:
the kill switch and per-target pauses, pending verifications, open proposals with their expiry,
proposals approved and not yet settled (the write under way, or its approve's attempt ended: the
sweep settles them once that command's record lapses), proposals approved whose write is in doubt
(until the sweep judges it), writes in flight (the gate's write claims held), cooldowns and budgets in use, and pinned services with the age of each
pin. Reads state only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

from shared.commands.context import CommandRun
from shared.clock import skew_safe_lease
from shared.commands.inventory import in_inventory
from shared.commands.pause import engaged_pauses
from shared.echo import echoed
from shared.errors import DamagedRecord
from shared.outcomes import Outcome, OutcomeStatus
from shared.ports import ClaimRecord, found_key
from shared.remediation.approvals import settles_after
from shared.remediation.guardrails import BUDGETS, COOLDOWNS, WRITING, Gate, bound_key, slot_keys
from shared.remediation.pins import state_words
from shared.remediation.records import (ACTIONS, COMMANDS, PINS, PROPOSALS, ActionRecord, ActionState, PinRecord,
                                        ProposalRecord, why_unreadable)

LIMIT = 100


class Snapshot(BaseModel):
    at: datetime
    kill_switch: str = ""                        # why every write is off, or ""
    paused: list[dict[str, Any]] = []
    pending_verifications: list[dict[str, Any]] = []
    open_proposals: list[dict[str, Any]] = []
    # Approved and not yet settled: the approve's write under way, or its attempt ended before settling it
    # (shared/remediation/approvals.py: the sweep settles or closes it once the command's record lapses, or
    # is completed with an answer that left it approved).
    approved_proposals: list[dict[str, Any]] = []
    # Approved, and the write in doubt (shared/commands/approval.py): until the sweep judges that write.
    proposals_in_doubt: list[dict[str, Any]] = []
    # The targets' write claims held (guardrails.WRITING): a write being sent now, or one whose outcome was
    # unknown, kept until its lease. With a cooldown of 0 nothing else shows it; while it is held every other
    # write to the target is held back (a command `skipped`, an alert delivered again).
    writes_in_flight: list[dict[str, Any]] = []
    cooldowns: list[dict[str, Any]] = []
    budgets: list[dict[str, Any]] = []
    pinned: list[dict[str, Any]] = []
    # The lists read up to LIMIT records and holding more: shown cut, so that "100 pending" is never
    # taken for all of them.
    more_than_shown: list[str] = []
    # Records read for the lists above that this version cannot read (damaged, or written by a later
    # version): each named ({"record": "actions/<key>", "why": ...}), never left out in silence nor raised on.
    # Raised, one such record made every status fail, delivered again and again with no answer.
    unreadable: list[dict[str, Any]] = []


def handle(run: CommandRun) -> Outcome:
    snap = snapshot(run)
    if run.command.target:
        snap = _only(snap, run.command.target)
    summary = _unmanaged(run) + (f"kill switch {'ENGAGED (' + snap.kill_switch + ')' if snap.kill_switch else 'off'}; "
               f"{len(snap.paused)} paused, {len(snap.pending_verifications)} pending verification(s), "
               f"{len(snap.open_proposals)} open proposal(s), "
               + (f"{len(snap.approved_proposals)} approved and not yet applied, " if snap.approved_proposals else "")
               + (f"{len(snap.proposals_in_doubt)} approved with the write in doubt, " if snap.proposals_in_doubt else "")
               + (f"{len(snap.writes_in_flight)} write(s) in flight, " if snap.writes_in_flight else "")
               + f"{len(snap.cooldowns)} cooldown(s), "
               f"{len(snap.pinned)} pinned service(s)")
    if snap.more_than_shown:
        summary += (f"; more than {LIMIT} records each in {', '.join(snap.more_than_shown)}: only the first {LIMIT} "
                    "are listed and counted")
    if snap.unreadable:
        summary += (f"; {len(snap.unreadable)} record(s) could not be read, so they are in no list above and a person "
                    "must look at them: " + "; ".join(f"{u['record']} ({u['why']})" for u in snap.unreadable[:5]))
    return run.outcome(OutcomeStatus.REPORTED, summary, target=run.command.target,
                       snapshot=snap.model_dump(mode="json"))


def _unmanaged(run: CommandRun) -> str:
    """Said first when the status names a target the config manages neither as a service nor as a
    connector with a policy: its snapshot is then (nearly always) empty, and an empty answer must not
    read as "nothing is wrong with it". Still reported, not rejected: records about a target since
    dropped from the config (a pending verification, a pin) are what a person may be asking after."""
    target = run.command.target
    if not target or in_inventory(run.config, target):
        return ""
    return (f"{echoed(target)} is not in the inventory (neither the config's services nor bounds.connectors name it), "
            "so Runwarden watches and holds nothing for it beyond what is listed here; ")


def snapshot(run: CommandRun) -> Snapshot:
    state, now, config = run.adapters.state, run.now, run.config
    lease = skew_safe_lease(config.guardrails.claim_ttl_seconds)
    gate = Gate(config, state, run.adapters.clock, owner="status")
    more: list[str] = []
    unreadable: list[dict[str, Any]] = []
    readable = _Readable(unreadable)

    def found(name: str, kind: str, field: str, value: Any) -> list[dict[str, Any]]:
        # One more than shown is read, so that a list cut at LIMIT says so.
        records = state.find_records(kind, field, value, LIMIT + 1)
        if len(records) > LIMIT:
            more.append(name)
        return records[:LIMIT]

    engaged, more_paused = engaged_pauses(state, LIMIT)
    if more_paused:
        more.append("paused")
    paused = [{"target": f.get("target"), "by": f.get("by"), "reason": f.get("reason"), "at": f.get("at")}
              for f in engaged]
    pending = readable(ActionRecord, ACTIONS, found("pending_verifications", ACTIONS, "state", ActionState.PENDING.value))
    proposals = _open_proposals(state, now, more, readable)
    approved = readable(ProposalRecord, PROPOSALS, found("approved_proposals", PROPOSALS, "state", "approved"))
    in_doubt = readable(ProposalRecord, PROPOSALS, found("proposals_in_doubt", PROPOSALS, "state", "in_doubt"))
    pins = readable(PinRecord, PINS, found("pinned", PINS, "pinned", True))
    targets = sorted({s.name for s in config.services} | {c.name for c in config.bounds.connectors}
                     | {r.target for r in pending})
    return Snapshot(
        at=now, kill_switch=gate.kill_switch(), paused=paused,
        pending_verifications=[{"action_id": r.key, "action": r.action, "target": r.target, "service": r.service,
                                "applied_at": r.applied_at, "settle_at": r.settle_at, "deadline_at": r.deadline_at,
                                "requested_by": r.requested_by or "automation"} for r in pending],
        open_proposals=[{"proposal_id": p.proposal_id, "action": p.action, "target": p.target,
                         "proposed_at": p.proposed_at, "expires_at": p.expires_at,
                         "expired": now >= p.expires_at, "reason": p.reason} for p in proposals],
        approved_proposals=[{"proposal_id": p.proposal_id, "action": p.action, "target": p.target,
                             "decided_by": p.decided_by, "decided_at": p.decided_at, "command_id": p.command_id,
                             "settled_by_sweep_after": _settled_after(state, p, lease, unreadable)} for p in approved],
        proposals_in_doubt=[{"proposal_id": p.proposal_id, "action": p.action, "target": p.target,
                             "decided_by": p.decided_by, "decided_at": p.decided_at, "command_id": p.command_id,
                             "note": p.note} for p in in_doubt],
        writes_in_flight=_writes_in_flight(state, targets, now, unreadable),
        cooldowns=_cooldowns(state, targets, now, unreadable),
        budgets=_budgets(state, config, targets, now, unreadable),
        pinned=[{"service": p.service, "revision": p.revision, "pinned_at": p.pinned_at,
                 "age_seconds": int((now - p.pinned_at).total_seconds()), "action_id": p.action_id,
                 "state": p.state.value, "words": state_words(p.state, p.revision)} for p in pins],
        more_than_shown=more,
        unreadable=unreadable,
    )


class _Readable:
    """Each record read as its model, those that cannot be read kept aside, named (Snapshot.unreadable)."""

    def __init__(self, unreadable: list[dict[str, Any]]) -> None:
        self.unreadable = unreadable

    def __call__(self, model: Any, kind: str, records: list[dict[str, Any]]) -> list[Any]:
        out = []
        for data in records:
            try:
                out.append(model.model_validate(data))
            except ValueError as exc:
                named = next((data[k] for k in ("key", "proposal_id", "service") if isinstance(data.get(k), str)),
                             found_key(data) or "?")   # else the key it is stored under (ports.FoundRecord)
                record = f"{kind}/{named}"
                if all(u["record"] != record for u in self.unreadable):    # an open proposal is read twice
                    self.unreadable.append({"record": record, "why": why_unreadable(exc)})
        return out


def _open_proposals(state: Any, now: datetime, more: list[str], readable: _Readable) -> list[ProposalRecord]:
    """Every open proposal a person can still decide, then those past their expiry. An open
    proposal nobody decided stays `open` after it expires (only an approve or a reject of it marks
    it `expired`), so over the months they pile up, and a page of every `open` record, in the
    order of their ids, could hold none of the live ones. Those not yet expired are read apart,
    by `expires_at` (a range on one field: no composite index), and listed first; a page of the
    `open` ones adds those past their expiry (flagged `expired`)."""
    unexpired = state.find_between(PROPOSALS, "expires_at", now, now + _FAR, LIMIT + 1)
    live = readable(ProposalRecord, PROPOSALS, [d for d in unexpired if d.get("state") == "open"])
    if len(unexpired) > LIMIT:
        more.append("open_proposals")
    ids = {p.proposal_id for p in live}
    opened = state.find_records(PROPOSALS, "state", "open", LIMIT + 1)
    stale = [p for p in readable(ProposalRecord, PROPOSALS, opened) if p.proposal_id not in ids and now >= p.expires_at]
    if len(opened) > LIMIT:
        more.append("open_proposals past their expiry")
    return (live + stale)[:LIMIT]


# Later than any proposal's expiry (guardrails.proposal_ttl_seconds is hours): the read's upper bound.
_FAR = timedelta(days=3650)


def _settled_after(state: Any, proposal: ProposalRecord, lease: timedelta,
                   unreadable: list[dict[str, Any]]) -> datetime | None:
    """From when the sweep settles an approved proposal (shared/remediation/approvals.py): a lease past
    the approval and past its command's record, and a margin; at the next sweep if that command is
    answered (its record completed: a permanent error escaped the gate). None, the record named, when that
    command's record cannot be read: from when is not known."""
    if not proposal.command_id:
        return settles_after(None, proposal.decided_at, lease)
    claim = _claim(state, COMMANDS, proposal.command_id, unreadable)
    return settles_after(claim, proposal.decided_at, lease) if claim is not _UNREAD else None


# A claim this version cannot read (`_claim`, `_claims`): named in Snapshot.unreadable, in no list.
_UNREAD = ClaimRecord(key="", owner="", status="claimed", claimed_at=datetime.min.replace(tzinfo=timezone.utc),
                      expires_at=datetime.min.replace(tzinfo=timezone.utc))


def _claim(state: Any, kind: str, key: str, unreadable: list[dict[str, Any]]) -> ClaimRecord | None:
    """The claim `kind/key` (None: there is none), or _UNREAD, named in `unreadable` with why, for one this
    version cannot read: the store raises DamagedRecord (FirestoreStateStore.get reads it as a ClaimRecord).
    Raised, one such record made every status `failed` after its retries, the record unnamed."""
    try:
        return state.get(kind, key)
    except DamagedRecord as exc:
        return _unread(unreadable, kind, key, exc.why)


def _claims(state: Any, keys: list[tuple[str, str]], unreadable: list[dict[str, Any]]) -> list[ClaimRecord | None]:
    """The claims at `keys`, in one read (get_many), as `_claim` answers each."""
    out: list[ClaimRecord | None] = []
    for (kind, key), data in zip(keys, state.get_many(keys) if keys else []):
        try:
            out.append(ClaimRecord.model_validate(data) if data is not None else None)
        except ValueError as exc:
            out.append(_unread(unreadable, kind, key, why_unreadable(exc)))
    return out


def _unread(unreadable: list[dict[str, Any]], kind: str, key: str, why: str) -> ClaimRecord:
    record = f"{kind}/{key}"
    if all(u["record"] != record for u in unreadable):
        unreadable.append({"record": record, "why": why})
    return _UNREAD


def _cooldowns(state: Any, targets: list[str], now: datetime, unreadable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for target in targets:
        lease = _claim(state, COOLDOWNS, bound_key(target), unreadable)   # where the gate keeps it
        if lease is not None and lease is not _UNREAD and not lease.expired(now):
            out.append({"target": target, "since": lease.claimed_at, "until": lease.expires_at})
    return out


def _writes_in_flight(state: Any, targets: list[str], now: datetime,
                      unreadable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The targets' write claims held, in one read: whose write (its attempt, `message_id:random`), since when,
    and until when at the latest (its lease: it is given back as soon as the write ends). One that cannot be
    read is named in `unreadable` (a write may be under way there: a person must look)."""
    found = _claims(state, [(WRITING, bound_key(target)) for target in targets], unreadable)
    out = []
    for target, claim in zip(targets, found):
        if claim is not None and claim is not _UNREAD and not claim.expired(now):
            out.append({"target": target, "held_by": claim.owner, "since": claim.claimed_at,
                        "until": claim.expires_at})
    return out


def _budgets(state: Any, config: Any, targets: list[str], now: datetime,
             unreadable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slots taken in the current buckets (the gate's budget records, each bucket in one read). A slot that cannot
    be read is named in `unreadable`, counted in no bucket."""
    g = config.guardrails
    # Said by the target's name, read where the gate keeps its slots (guardrails.bound_key: a connector's under
    # the key both its names share).
    scopes = [(f"target|{t}", f"target|{bound_key(t)}", f"{now:%Y-%m-%dT%H}", g.max_actions_per_target_per_hour)
              for t in targets]
    scopes += [(f"target|{t}", f"target|{bound_key(t)}", f"{now:%Y-%m-%d}", g.max_actions_per_target_per_day)
               for t in targets]
    scopes.append(("global", "global", f"{now:%Y-%m-%dT%H}", g.max_actions_per_hour))
    out = []
    for scope, kept, bucket, capacity in scopes:
        found = _claims(state, [(BUDGETS, key) for key in slot_keys(f"{kept}|{bucket}", capacity)], unreadable)
        used = sum(1 for slot in found if slot is not None and slot is not _UNREAD and not slot.expired(now))
        if used:
            out.append({"scope": scope, "bucket": bucket, "used": used, "capacity": capacity})
    return out


def _only(snap: Snapshot, target: str) -> Snapshot:
    """The snapshot of one service or connector."""
    def mine(item: dict[str, Any]) -> bool:
        return target in (item.get("target"), item.get("service"), item.get("scope", "").partition("|")[2])

    return snap.model_copy(update={name: [i for i in getattr(snap, name) if mine(i)] for name in
                                   ("paused", "pending_verifications", "open_proposals", "approved_proposals",
                                    "proposals_in_doubt", "writes_in_flight",
                                    "cooldowns", "budgets", "pinned")})
