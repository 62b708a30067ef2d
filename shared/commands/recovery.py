"""An operator's change that an earlier attempt at the same command made and did not record.

A command's write goes through the gate, which stores the plan (an IntentRecord, keyed by the
command_id: `records.command_intent_key`) before the write, as it does for an alert. The attempt
can then write and fail to record the change (the state store fails completing the gate's claim or
writing the action record: its answer is `escalated`, "could not be recorded"), and then lose that
answer too (the publish fails, so the handler raises), or die outright. A resend of the command
must not be answered as a quiet `skipped` duplicate, nor re-run against a target that already
shows the change ("already serves 100%"): nothing would verify the change, and no person would
hear of it. So, before a command that can write is dispatched, or answered as a duplicate:

| what the state store holds for the command           | the live target   | answer                        |
|------------------------------------------------------|-------------------|-------------------------------|
| no intent                                            | (not read)        | as usual                      |
| an intent, and an action record with its claim key   | (not read)        | as usual (the sweep has it)   |
| an intent, its gate claim given back or never taken  | (not read)        | as usual (the gate gives back |
|                                                      |                   |   only when nothing was written)|
| an intent, its gate claim held or completed, and no  | the plan's after  | record it: `escalated`, names |
|   action record                                      |                   |   the change, nothing written |
|                                                      | the plan's before | as usual (the write never took)|
|                                                      | neither / unread  | `escalated` with the evidence |

No earlier attempt at the command can still be running here: this delivery holds the command's
claim (fresh, given back, or taken over once its lease lapsed), or the claim is completed with the
first answer. (A claim held unfinished is waited out: `CommandInProgress`.) So, unlike an alert's
redelivery (intents.py), nothing here waits. "Record it" is the gate's `adopt_write`: the action
record the earlier attempt could not write, so that the sweep verifies the change (or undoes or
escalates it), and later resends are duplicates of it. A command that is never sent again is left
to the sweep's backstop, which judges the same intent once its claim's lease has lapsed
(shared/remediation/intents.py); whichever of the two comes first reports it, the other answers a
duplicate.
"""
from __future__ import annotations

from shared.commands.context import CommandRun
from shared.outcomes import Outcome
from shared.remediation.actions import get_action
from shared.remediation.guardrails import CLAIMS
from shared.remediation import intents
from shared.remediation.intents import Verdict, look_ended
from shared.remediation.records import ACTIONS, INTENTS, IntentRecord, command_intent_key

# The commands whose handler can write through the gate: only these can have left a change behind.
WRITING = frozenset({"rollback_traffic", "restore_traffic", "scale_connector", "approve"})


def earlier_change(run: CommandRun) -> Outcome | None:
    """The answer for a change an earlier attempt at this command made and did not record, or
    None: handle the command as usual. Reads the intent (one read), then, only if it has no action
    record, the gate's claim and the live target."""
    if run.command.command not in WRITING or run.command.dry_run or not run.command_id:
        return None
    state = run.adapters.state
    data = state.get_record(INTENTS, command_intent_key(run.command_id))
    if not data:
        return None
    intent = IntentRecord.model_validate(data)
    if state.get_record(ACTIONS, intent.claim_key) or state.get(CLAIMS, intent.claim_key) is None:
        return None
    action = get_action(intent.action)
    found = look_ended(intent, action, run.adapters)
    if found.verdict is Verdict.NONE:
        return None
    run.use_incident(intent.incident_id)
    planned = (f"{intent.action} on {intent.target} by command {run.command_id} ({intent.requested_by}, planned at "
               f"{intent.noted_at:%H:%M:%S})")
    if found.verdict is Verdict.RECORD:
        run.timeline.step("recovered", f"{planned}: written by an earlier attempt and not recorded; "
                          f"{intent.target} shows the planned change", severity="WARNING")
    answer = intents.answer(found, intent, action, run.gate(), planned, "an earlier attempt at this command",
                            "could not record it and whose answer was lost")
    return run.outcome(answer.status, answer.reason, target=intent.target, action=answer.action, notes=answer.notes)
