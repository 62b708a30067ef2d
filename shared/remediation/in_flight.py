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

from datetime import datetime, timedelta, timezone
from typing import Any

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.errors import PermanentError
from shared.remediation.records import INTENTS, IntentRecord, IntentState

LISTED = 20
# The bound of the open plans' query by `noted_at`: the last second a timestamp holds
# (google/protobuf/timestamp.proto, as verification._NO_LATER).
_NO_LATER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def lease_start(now: datetime, claim_ttl_seconds: int) -> datetime:
    """The earliest `noted_at` of a plan whose write may still be under way at `now`."""
    return now - (timedelta(seconds=claim_ttl_seconds) + CLOCK_SKEW_ALLOWANCE)


def open_plans(state: Any, since: datetime, limit: int = LISTED) -> tuple[list[dict[str, Any]], bool]:
    """The open plans noted since `since`, oldest first, at most `limit` (and whether there are more):
    `state == open AND noted_at >= since` (FirestoreStateStore.find_before, served by the sweep's
    `open_intents` index, infra/firestore.tf), so plans left open long ago (the sweep's to judge) take
    no place. Where that query is refused (the index missing), one page of open plans in document
    order."""
    find = getattr(state, "find_before", None)
    if callable(find):
        try:
            found = find(INTENTS, "state", IntentState.OPEN.value, "noted_at", _NO_LATER, limit + 1, since=since)
            return found[:limit], len(found) > limit
        except PermanentError:
            pass
    found = state.find_records(INTENTS, "state", IntentState.OPEN.value, limit + 1)
    return found[:limit], len(found) > limit


def plans_since(state: Any, since: datetime, limit: int = LISTED) -> tuple[list[IntentRecord], bool]:
    """The open plans noted since `since` as records (one that does not read as a plan is passed over),
    and whether more were open than read."""
    found, more = open_plans(state, since, limit)
    plans = []
    for data in found:
        try:
            plan = IntentRecord.model_validate(data)
        except ValueError:
            continue
        if plan.noted_at >= since:
            plans.append(plan)
    return plans, more


def others_on(state: Any, target: str, since: datetime, own_key: str) -> tuple[list[IntentRecord], bool]:
    """The open plans noted since `since` that write `target` under another claim than `own_key` (and
    whether more plans were open than read, so that one may have been missed)."""
    plans, more = plans_since(state, since)
    return [plan for plan in plans if plan.target == target and plan.claim_key != own_key], more


def named(plan: IntentRecord) -> str:
    """A plan as an answer names it: what, where, whose, and when it was planned."""
    return (f"{plan.action} on {plan.target} (incident {plan.incident_id}"
            + (f", command {plan.command_id} by {plan.requested_by}" if plan.command_id else "")
            + f", planned at {plan.noted_at:%H:%M:%S}Z)")


def last_recorded(records: list[dict[str, Any]], since: datetime) -> str:
    """The newest write recorded on a target (its action records, `records`) since the cooldown it took began
    (`since`), named for an operator's command that cooldown holds back: what, by whom, its action id (a
    restore_traffic's `action_id`) and where it stands. "" when none is found: the records are read unordered
    and at most a page of them (StateStore.find_records), so the one that took the cooldown may be past it;
    then nothing is named rather than an older write."""
    def applied(record: dict[str, Any]) -> datetime | None:
        value = record.get("applied_at")
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    recent = [(when, r) for r in records if (when := applied(r)) is not None and when >= since]
    if not recent:
        return ""
    when, record = max(recent, key=lambda pair: pair[0])
    who = (f"by {record.get('requested_by') or '?'} (command {record.get('command_id')})" if record.get("command_id")
           else f"by Runwarden (incident {record.get('incident_id') or '?'})")
    return (f"; the last write recorded on it: {record.get('action')} {who}, applied at {when:%H:%M:%S}Z, "
            f"action {record.get('key')} ({record.get('state')})")
