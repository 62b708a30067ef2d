"""The other plans stored for one claim (shared/remediation/intents.py): what a judge of one plan must
know of them before it reports, so that one claim (one possible write) is reported once.

Deliveries of one incident planned at once store plans of the very same change on the very same state
under one claim key: twins, of which at most one can have written. A judge that records one (the gate's
`adopt_write`) and a judge that escalates another (`intents.claim_escalation`) may read the target a
moment apart and disagree; each then guards its commit on the other plans it read still open, so that
whichever commits second fails and reads them again, and finds the claim reported: recorded under a
twin (its action record exists: nothing more to say), or escalated with a twin of the same change (a
person was told of it). One equality query on `claim_key` (a single-field index), made only on these
rare paths."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.ports import RecordWrite
from shared.remediation.records import INTENTS, IntentRecord, IntentState


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


def same_change(plan: IntentRecord, intent: IntentRecord) -> bool:
    return plan.action == intent.action and plan.params == intent.params and plan.before == intent.before


def siblings(state: Any, intent: IntentRecord, cutoff: datetime | None = None) -> Siblings:
    """`intent`'s sibling plans. `cutoff`: a twin's attempt has ended if it stored its plan before it
    (None: no plan is closed as a twin, every open one is watched)."""
    found = Siblings()
    for data in state.find_records(INTENTS, "claim_key", intent.claim_key):
        try:
            plan = IntentRecord.model_validate(data)
        except ValueError:
            continue    # a plan this version cannot read is the sweep's to escalate on its own
        if plan.key == intent.key:
            continue
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


def guard(plan: IntentRecord) -> RecordWrite:
    """A write that changes nothing of `plan` (its state written as it is) and lands only while it is still
    as read: in a commit, it fails the commit if the plan was judged since."""
    return RecordWrite(INTENTS, plan.key, {"state": IntentState.OPEN.value}, merge=True, expect=plan.unchanged())
