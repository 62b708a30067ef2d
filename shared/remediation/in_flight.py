"""The writes that may be under way now: the plans (open intents, shared/remediation/intents.py) noted
within a claim's lease. Every write the gate makes stores its plan before it is sent and closes it once
recorded, so an open plan noted less than a lease ago (the claim's TTL with the clock-skew allowance,
shared/clock.py) is a write another attempt may be sending right now; one older is the sweep's to judge.

Read by a pause, to name the writes it cannot stop (shared/commands/pause.py), and by the gate, to name
the write that holds an operator's command back (guardrails.Gate._under_way). What keeps two writes to one
target apart is not this read (a plan stored beside its claim's commit may land after another attempt's
read of the plans) but the target's write claim (guardrails.WRITING), which every write holds while it is
sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.diagnosis.facts import clock_on, dated
from shared.errors import DamagedRecord, PermanentError
from shared.remediation.records import (INTENTS, IntentRecord, IntentState, read_record, stored_key, stored_time,
                                        text_field)
from shared.ports import StateStore

LISTED = 20
# The bound of the open plans' query by `noted_at`: the last second a timestamp holds
# (google/protobuf/timestamp.proto, as verification._NO_LATER).
_NO_LATER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def lease_start(now: datetime, claim_ttl_seconds: int) -> datetime:
    """The earliest `noted_at` of a plan whose write may still be under way at `now`."""
    return now - (timedelta(seconds=claim_ttl_seconds) + CLOCK_SKEW_ALLOWANCE)


def open_plans(state: StateStore, since: datetime, limit: int = LISTED) -> tuple[list[dict[str, Any]], bool]:
    """The open plans noted since `since`, oldest first, at most `limit` (and whether there are more):
    `state == open AND noted_at >= since` (FirestoreStateStore.find_before, served by the sweep's
    `open_intents` index, infra/firestore.tf), so plans left open long ago (the sweep's to judge) take
    no place. Where that query is refused (the index missing), one page of open plans in document
    order."""
    try:
        found = state.find_before(INTENTS, "state", IntentState.OPEN.value, "noted_at", _NO_LATER, limit + 1,
                                  since=since)
        return found[:limit], len(found) > limit
    except PermanentError:
        pass
    found = state.find_records(INTENTS, "state", IntentState.OPEN.value, limit + 1)
    return found[:limit], len(found) > limit


@dataclass(frozen=True)
class Unreadable:
    """A record that may stand for a write under way (an open plan; for a pause, an undo, a restore's note, a pin)
    which this version cannot read (records.read_record raised DamagedRecord): named by its record, with whichever
    of its target, service and claim key read as text."""

    named: str
    target: str | None = None
    service: str | None = None
    claim_key: str | None = None

    def about(self, target: str) -> bool:
        """Whether it may write `target` (or be made for it): its own target or service says so, or neither can
        be read (fail closed)."""
        names = [name for name in (self.target, self.service) if name]
        return not names or target in names


def unread(data: dict[str, Any], exc: DamagedRecord, what: str) -> Unreadable:
    """`what` (an open plan, an undo, a restore's note), a record that may stand for a write under way, which this
    version cannot read (`exc`): named, with whichever of its fields say where it writes."""
    return Unreadable(f"{what} this version cannot read ({exc}; it may be a write under way: a person must repair or "
                      "delete it)", text_field(data, "target"), text_field(data, "service"), text_field(data, "claim_key"))


@dataclass(frozen=True)
class OpenPlans:
    """The open plans read: those this version reads, whether more were open than read, and those it cannot read
    (named, never passed over: a pause or a held-back command that names no write under way while one may be
    tells its sender that nothing more will change)."""

    plans: list[IntentRecord]
    more: bool
    unreadable: list[Unreadable] = field(default_factory=list)

    def of(self, holder: str) -> OpenPlans:
        """Only the plans `holder` (the attempt that holds a target's cooldown or write claim) stored, and those
        this version cannot read (whose they are cannot be told): a plan is stored beside the commit that takes
        the claims, so an attempt that lost that commit has stored one too, until it is voided; named as the
        write under way, it named an incident that wrote nothing. All of them for no holder (a lease stored
        without its owner)."""
        if not holder:
            return self
        return OpenPlans([plan for plan in self.plans if plan.owner == holder], self.more, self.unreadable)

    def listed(self) -> list[str]:
        """Every plan read, as an answer names it: the readable ones by when they were planned, then the others."""
        return [named(plan) for plan in sorted(self.plans, key=lambda p: p.noted_at)] + [u.named for u in self.unreadable]


def plans_since(state: StateStore, since: datetime, limit: int = LISTED) -> OpenPlans:
    """The open plans noted since `since` as records, those this version cannot read named (`Unreadable`), and
    whether more were open than read."""
    found, more = open_plans(state, since, limit)
    plans, unreadable = [], []
    for data in found:
        try:
            plan = read_record(IntentRecord, data, INTENTS, stored_key(INTENTS, data))
        except DamagedRecord as exc:
            unreadable.append(unread(data, exc, "an open plan"))
            continue
        if plan.noted_at >= since:
            plans.append(plan)
    return OpenPlans(plans, more, unreadable)


def others_on(state: StateStore, target: str, since: datetime, own_key: str) -> OpenPlans:
    """The open plans noted since `since` that write `target` under another claim than `own_key` (an unreadable
    one whose target cannot be read among them), and whether more plans were open than read, so that one may have
    been missed."""
    found = plans_since(state, since)
    return OpenPlans([plan for plan in found.plans if plan.target == target and plan.claim_key != own_key], found.more,
                     [u for u in found.unreadable if u.about(target) and u.claim_key != own_key])


def named(plan: IntentRecord) -> str:
    """A plan as an answer names it: what, where, whose, and when it was planned, dated: an answer given after
    midnight named a plan of 23:58 by its time of day alone, a moment of the answer's day still to come."""
    return (f"{plan.action} on {plan.target} (incident {plan.incident_id}"
            + (f", command {plan.command_id} by {plan.requested_by}" if plan.command_id else "")
            + f", planned at {dated(plan.noted_at)}Z)")


def claimed(data: dict[str, Any]) -> tuple[str, str, str]:
    """A stored claim's incident, target and action, read from its key (records.claim_key: "{incident}|{target}|
    {action}"; an incident id may hold a "|", a target's resource name and an action's name never do); ("", "", "")
    for a key of another shape."""
    parts = str(data.get("key") or "").rsplit("|", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")


def claim_named(data: dict[str, Any]) -> str:
    """The write a stored claim stands for, as an answer names it: what, where, whose (an incident, or an
    operator's command: guardrails.command_incident), and when its attempt claimed it, dated."""
    incident, target, action = claimed(data)
    command = incident.removeprefix("command:")
    whose = f"command {command}" if command != incident else f"incident {incident}"
    when = stored_time(data.get("claimed_at"))
    return f"{action} on {target} ({whose}" + (f", claimed at {dated(when)}Z)" if when is not None else ")")


def last_recorded(records: list[dict[str, Any]], since: datetime) -> str:
    """The newest write recorded on a target (its action records, `records`) since the cooldown it took began
    (`since`), named for an operator's command that cooldown holds back: what, by whom, its action id (a
    restore_traffic's `action_id`) and where it stands. "" when none is found: the records are read unordered
    and at most a page of them (StateStore.find_records), so the one that took the cooldown may be past it;
    then nothing is named rather than an older write."""
    # A damaged record's time is no write to name: skipped (stored_time: None), as a record with none, so that it
    # never turns a hold (an alert's or a command's) into an error redelivered with the same record each time.
    def applied(record: dict[str, Any]) -> datetime | None:
        return stored_time(record.get("applied_at"))

    recent = [(when, r) for r in records if (when := applied(r)) is not None and when >= since]
    if not recent:
        return ""
    when, record = max(recent, key=lambda pair: pair[0])
    who = (f"by {record.get('requested_by') or '?'} (command {record.get('command_id')})" if record.get("command_id")
           else f"by Runwarden (incident {record.get('incident_id') or '?'})")
    return (f"; the last write recorded on it: {record.get('action')} {who}, applied at {clock_on(when, since)}Z, "
            f"action {record.get('key')} ({record.get('state')})")
