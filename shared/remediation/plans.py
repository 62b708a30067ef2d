"""The other plans stored for one claim (shared/remediation/intents.py): what a judge of one plan must
know of them before it reports, so that one claim (one possible write) is reported once.

Deliveries of one incident planned at once store plans of the very same change on the very same state
under one claim key: twins, of which at most one can have written. A judge that records one (the gate's
`adopt_write`) and a judge that escalates another (`intents.claim_escalation`) may read the target a
moment apart and disagree; each then guards its commit on the other plans it read still open, so that
whichever commits second fails and reads them again, and finds the claim reported: recorded under a
twin (its action record exists: nothing more to say), or escalated with a twin of the same change (a
person was told of it). One equality query on `claim_key` (a single-field index), made only on these
rare paths.

The gate reads the same plans when it takes over a lapsed claim (`unjudged`): another message's plan of the
claim still open, or escalated and not expired, holds this incident's automatic write. Both read them through
`of_claim`, the one reader of a claim's plans."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from shared.ports import RecordWrite
from shared.remediation.actions import get_action
from shared.remediation.actions.rollback_traffic import traffic_changes
from shared.remediation.records import INTENTS, IntentRecord, IntentState, read_record, stored_key


@dataclass(frozen=True)
class Siblings:
    """The other plans of one claim, as read."""

    twins: list[IntentRecord] = field(default_factory=list)     # open, the same change, their attempts ended
    watched: list[IntentRecord] = field(default_factory=list)   # every other open plan: guarded, left open
    recorded: IntentRecord | None = None   # a plan of the claim recorded: the claim's write is on record
    reported: IntentRecord | None = None   # a plan of the same change escalated: a person was told of it

    @property
    def settled_by(self) -> IntentRecord | None:
        return self.recorded or self.reported


# What a before-state keeps of when it was read, not of what it was: a plan read a moment later (a status-only touch
# moves Service.update_time with the generation kept), or stored by a version that kept no such field, is the same
# change (rollback_traffic.traffic_state).
_READ_TIME_KEYS = frozenset({"update_time"})


def same_change(plan: IntentRecord, intent: IntentRecord) -> bool:
    return (plan.action == intent.action and _state(plan.before) == _state(intent.before)
            and same_params(plan.action, plan.params, intent.params))


def _state(before: Any) -> Any:
    if not isinstance(before, dict) or not _READ_TIME_KEYS & before.keys():
        return before
    return {key: value for key, value in before.items() if key not in _READ_TIME_KEYS}


def same_params(action: str, stored: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two plans' params of `action` say the same, each read as this version reads it: a plan stored by an
    earlier version lacks the fields added since (rollback_traffic's `rollout`) and keeps some in an older form
    (`tags_left_out` in words), which read as their defaults and their typed form (the params model's own
    validators), what that version's write and notes were. Params this version cannot read (an unknown action, a
    field it does not know or cannot parse) match only their exact equal: never a plan that may differ."""
    if stored == other:
        return True
    read = _as_written(action, stored)
    return read is not None and read == _as_written(action, other)


def _as_written(action: str, params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return get_action(action).params_model.model_validate(params).model_dump(mode="json")
    except (KeyError, ValidationError):
        return None


def of_claim(state: Any, claim_key: str, but: str | None = None) -> list[IntentRecord]:
    """Every plan stored for the claim `claim_key` that this version can read, in the store's order, but the
    one keyed `but` (the reader's own). One equality query on `claim_key`. A plan this version cannot read raises
    DamagedRecord naming it (records.read_record; fail closed): it may be the open plan of a write that landed, or
    the escalation that told a person of it, so no reader may go on as if it were not there. Left out, it let the
    gate take a lapsed claim over and write on top of it. The alert path answers it `escalated`
    (pipeline.handle_alert), the sweep escalates the plan it was judging (Sweep._judge_stored), a release
    refuses (commands/hold.py)."""
    found = []
    for data in state.find_records(INTENTS, "claim_key", claim_key):
        plan = read_record(IntentRecord, data, INTENTS, stored_key(INTENTS, data))
        if plan.key != but:
            found.append(plan)
    return found


def siblings(state: Any, intent: IntentRecord, cutoff: datetime | None = None) -> Siblings:
    """`intent`'s sibling plans. `cutoff`: a twin's attempt has ended if it stored its plan before it
    (None: no plan is closed as a twin, every open one is watched)."""
    found = Siblings()
    for plan in of_claim(state, intent.claim_key, but=intent.key):
        if plan.state is IntentState.RECORDED:
            found = Siblings(found.twins, found.watched, found.recorded or plan, found.reported)
        elif plan.state is IntentState.ESCALATED and same_change(plan, intent):
            found = Siblings(found.twins, found.watched, found.recorded, found.reported or plan)
        elif plan.state is IntentState.OPEN:
            if cutoff is not None and same_change(plan, intent) and plan.noted_at < cutoff:
                found.twins.append(plan)
            else:
                found.watched.append(plan)
        elif plan.state is None:
            # Stored before intents had a state: the sweep's walk gives it one; a twin as an open one is.
            if cutoff is not None and same_change(plan, intent) and plan.noted_at < cutoff:
                found.twins.append(plan)
    return found


def unjudged(state: Any, claim_key: str, own: IntentRecord | None, now: datetime) -> IntentRecord | None:
    """Another plan of the claim that holds its automatic write (Gate._unjudged_plan): the first still open,
    of any change (its attempt may have written and not recorded it); else the first escalated of any change
    and not past its retention (a person was told that its write may have been made). Plans closed `void`,
    `recorded` or `released` (a person lifted its hold: shared/commands/hold.py), and plans stored before intents had a state, hold nothing here. `own`: the taker's own plan,
    if it stored one, left out; it may have none (an attempt with no message)."""
    escalated = None
    for plan in of_claim(state, claim_key, but=own.key if own is not None else None):
        if plan.state is IntentState.OPEN:
            return plan
        if plan.state is IntentState.ESCALATED and escalated is None and not over(plan, now):
            escalated = plan
    return escalated


def held_for(plans: list[IntentRecord]) -> IntentRecord | None:
    """The plan an unfinished claim holds a write for: the earliest of the claim's plans still open (or stored before
    plans had a state), whose attempt may have written it and not recorded it. None when none is open: the claim
    holds no write that is not on record (a hold, a refusal or an escalation being completed)."""
    open_ = [plan for plan in plans if plan.state in (IntentState.OPEN, None)]
    return min(open_, key=lambda plan: plan.noted_at, default=None)


def held_write_said(holder: str, claimed_at: datetime, expires_at: datetime, plan: IntentRecord) -> str:
    """What a duplicate of an unfinished claim adds when the claim holds `plan`'s write (Gate.held_plan): which write
    (what, on which target, planned when and by whom), that it may have been made and is not recorded yet, and who
    holds the claim and until when, so that the person reading the duplicate hears of the write now rather than
    from the sweep past the claim's lease. A write made and not recorded is held so by the attempt that made it (its
    record failed: Gate._unrecorded) or by a sweep or a delivery that took the lapsed claim over to record it (its
    own record may fail too: the sweep defers it, `intent_deferred`); whoever holds it, the first sweep past the
    claim's lease records and reports it once (shared/remediation/intents.py)."""
    planned = plan.noted_at.astimezone(timezone.utc)
    what = (f"{plan.action} on {plan.target}{_change_words(plan)}, planned by {plan.owner} at "
            f"{planned:%Y-%m-%d %H:%M:%S} UTC")
    lapses = f"{expires_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
    if holder == plan.owner:
        who = (f"the attempt that planned it holds the claim: its write is under way, or was made and not recorded "
               f"(its own answer says which); if it is not recorded by then, the first verification sweep after "
               f"{lapses}, when the claim lapses, records it and reports it once")
    else:
        taken = f"{claimed_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
        who = (f"{holder} took the claim over at {taken} to record that write; if its record fails, the first "
               f"verification sweep after {lapses}, when the claim lapses, records it and reports it once")
    return (f"; the claim holds a write that may have been made and is not recorded yet: {what}. Nothing is written "
            f"again for this incident meanwhile; {who}. A person can check it now: {what_to_check(plan)}")


def release_hint(plan: IntentRecord) -> str:
    """What a person is told of an escalated alert plan's hold: until when it holds the incident's automatic
    writes, and the one command that releases it (shared/commands/hold.py). Nothing Runwarden reads releases
    it on its own: a person's later change shows that someone took the target over, not that the write never
    landed."""
    until = plan.expires_at or plan.noted_at
    return (f"Until {until:%Y-%m-%d %H:%M:%S} UTC this incident's automatic writes of {plan.action} on {plan.target} "
            "are held (the write may have landed; a later change of the target does not show that it did not). "
            f"Before releasing, {what_to_check(plan)}. Then release the hold: runwarden command release --target "
            f"{plan.target} --param 'intent={plan.key}' --reason '...'")


def what_to_check(plan: IntentRecord) -> str:
    """What a person checks before releasing `plan`'s hold: which write (the change the plan recorded, before
    -> after), on which resource, and where to look: the target's current settings, and the project's Admin
    Activity audit log (`projects/P/logs/cloudaudit.googleapis.com%2Factivity`, Cloud Audit Logs overview) for a
    change of it since the plan was stored. `resourceName:"services/S"` (the `:` has-operator of the Logging query
    language) matches Cloud Run's v2 name and its v1 `namespaces/P/services/S` alike (own_changes.py). Cloud Run
    writes these entries for UpdateService and ReplaceService (Cloud Run audit logging page); that VPC Access writes
    one for a connector patch is UNCONFIRMED (docs/api-contracts.md), so for a connector no entry proves nothing."""
    project, region, kind, name = _parts(plan.target)
    describe = (f"gcloud compute networks vpc-access connectors describe {name} --region={region} --project={project}"
                if kind == "connectors" else f"gcloud run services describe {name} --region={region} --project={project}")
    audit = (f"gcloud logging read 'logName=\"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity\" AND "
             f"protoPayload.resourceName:\"{kind}/{name}\" AND timestamp>=\"{plan.noted_at:%Y-%m-%dT%H:%M:%SZ}\"' "
             f"--project={project}")
    unproven = ("; VPC Access is not known to log every patch there, so no entry there does not show that it did "
                "not land" if kind == "connectors" else "")
    return (f"check whether this write landed: {plan.action} on {name}{_change_words(plan)}. Compare the "
            f"{'connector' if kind == 'connectors' else 'service'}'s current settings ({describe}) with it, and look for "
            f"a change of {name} since {plan.noted_at:%Y-%m-%d %H:%M:%S} UTC in the project's Admin Activity audit log "
            f"({audit}){unproven}")


def _parts(target: str) -> tuple[str, str, str, str]:
    """(project, region, `connectors` or `services`, name) of a full resource name
    `projects/P/locations/R/KIND/NAME`; placeholders for a name of another shape."""
    parts = target.split("/")
    if len(parts) == 6 and parts[0] == "projects" and parts[2] == "locations":
        return parts[1], parts[3], parts[4], parts[5]
    return "PROJECT", "REGION", "connectors" if "connectors/" in target else "services", target.rsplit("/", 1)[-1]


def _change_words(plan: IntentRecord) -> str:
    """": " and the change the plan recorded (a connector's size, a service's traffic split), before -> after."""
    if "connector" in plan.after:
        was, will = plan.before.get("connector") or {}, plan.after["connector"]
        return (f": machine type {was.get('machine_type', '?')} -> {will.get('machine_type')}, instances "
                f"{was.get('min_instances', '?')}-{was.get('max_instances', '?')} -> "
                f"{will.get('min_instances')}-{will.get('max_instances')}")
    if "traffic" in plan.after:
        return ": traffic " + "; ".join(traffic_changes(plan.before, plan.after))
    return " (the change it planned was not recorded with it)"


def over(plan: IntentRecord, now: datetime) -> bool:
    """A plan past its retention: Firestore's TTL deletes it within a day or so after, and it holds
    nothing meanwhile."""
    return plan.expires_at is not None and plan.expires_at <= now


def held_as(plan: IntentRecord, state: IntentState) -> RecordWrite:
    """A write that changes nothing of `plan` and lands only while it is still `state` (and the very plan, by
    its owner): in the commit that completes a claim held for it (Gate._complete_held), it fails the commit if
    the plan was released (closed `void`, shared/commands/hold.py) or judged since it was read, so that no
    claim is kept for a plan that no longer holds anything: nothing could release it then."""
    return RecordWrite(INTENTS, plan.key, {"state": state.value}, merge=True,
                       expect={"owner": plan.owner, "state": state.value})


def guard(plan: IntentRecord) -> RecordWrite:
    """A write that changes nothing of `plan` (its state written as it is) and lands only while it is still
    as read: in a commit, it fails the commit if the plan was judged since."""
    return RecordWrite(INTENTS, plan.key, {"state": IntentState.OPEN.value}, merge=True, expect=plan.unchanged())
