"""What earlier attempts at the same operator command left behind: a change made and not recorded,
or a change recorded whose command's own record is gone.

A command's write goes through the gate, which stores the plan (an IntentRecord, keyed by the
command_id: `records.command_intent_key`) before the write, as it does for an alert. The attempt
can then write and fail to record the change (the state store fails completing the gate's claim or
writing the action record: its answer is `escalated`, "could not be recorded"), and then lose that
answer too (the publish fails, so the handler raises), or die outright. A resend of the command
must not be answered as a quiet `skipped` duplicate, nor re-run against a target that already
shows the change ("already serves 100%"): nothing would verify the change, and no person would
hear of it. Nor may a resend that finds the command's own record gone (its completion failed, or
it was deleted) run the command again when its write was recorded. So, before a command that can
write is dispatched, or answered as a duplicate, one batched read (`_read`) fetches the intent, the
action record at its claim key and the gate's claim there:

| what the state store holds for the command               | the live target   | answer                      |
|----------------------------------------------------------|-------------------|-----------------------------|
| no intent (its TTL deleted it), and this command's action | (not read)        | a duplicate of the record   |
|   record at the key that follows from the command         |                   |                             |
| no intent otherwise; or it is `void` (nothing written)    | (not read)        | as usual                    |
| an intent and this command's action record at its claim  | (not read)        | a duplicate: the first      |
|   key (another's there: as usual)                         |                   |   answer, or else the record|
| an intent, no action record, its gate claim held          | (not read)        | as usual (that attempt's    |
|   unexpired by someone else (an alert's attempt, for an   |                   |   own answer reports it)    |
|   approve, whose claim is its incident's)                 |                   |                             |
| an intent, no action record, the gate claim ours, lapsed, | the plan's after  | record it: `escalated`,     |
|   completed or gone (Firestore's TTL deletes a lapsed     |                   |   names the change, nothing |
|   claim some time after its lease)                        |                   |   written                   |
|                                                          | the plan's before | as usual (the write never   |
|                                                          |                   |   took)                     |
|                                                          | neither / unread  | `escalated` with the evidence|

A missing gate claim is not taken to mean "given back": the gate voids the intent when it gives
back, and a give-back whose void failed leaves the target as it was, which the live read finds. So
an unrecorded write is found however long after it a resend comes, as long as the intent is kept
(`records.INTENT_RETENTION`), exactly as the sweep's backstop judges it (intents.swept_standing).

No earlier attempt at the command can still be running here: this delivery holds the command's
claim (fresh, given back, or taken over once its lease lapsed), or the claim is completed with the
first answer. (A claim held unfinished is waited out: `CommandInProgress`.) So, unlike an alert's
redelivery (intents.py), nothing here waits. "Record it" is the gate's `adopt_write`: the action
record the earlier attempt could not write, so that the sweep verifies the change (or undoes or
escalates it), and later resends are duplicates of it; an approve's proposal is then ended
`applied`, as a completed approve ends it. A command that is never sent again is left to the
sweep's backstop, which judges the same intent once its claim's lease has lapsed
(shared/remediation/intents.py); whichever of the two comes first reports it, the other answers a
duplicate.

restore_traffic stores no intent (a corrective action): `unfinished_write` reads its gate claim and
its note (restore_notes.py) instead, and never lets a send of the same command_id write again after an
earlier attempt took that claim and did not give it back, nor once the claim is gone while the note
says an attempt went to the gate.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from shared.alerts.commands import command_digest, recorded_duplicate_reason
from shared.commands.approval import end_recovered
from shared.commands.context import CommandRun, command_attempts, earlier_unreadable
from shared.outcomes import ActionReport, Outcome, OutcomeStatus
from shared.errors import DamagedRecord, PermanentError
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.actions import get_action
from shared.remediation.guardrails import CLAIMS, claim_key, command_incident
from shared.remediation import intents
from shared.remediation.intents import Verdict, look_ended
from shared.remediation.records import (ACTIONS, ANSWERS, INTENTS, REPORT_PENDING, RESTORES, ActionRecord,
                                        ActionState, IntentRecord, IntentState, RestoreNote, RestoreNoteState,
                                        command_intent_key, read_record)

# The commands whose handler can write through the gate and store an intent first: only these can
# have left a change behind. (restore_traffic writes too, but as a corrective action it stores no
# intent: Gate._intent.)
WRITING = frozenset({"rollback_traffic", "scale_connector", "approve"})
# A writing command that stores no intent: what an earlier attempt at it left is read at its gate claim
# (`unfinished_write`).
CLAIM_ONLY = frozenset({"restore_traffic"})
# The commands whose gate claim key follows from the command alone (`claim_key(command_incident(id),
# target, command)`, shared/commands/traffic.through_gate), so that it is read with the intent. An
# approve's is its proposal's incident's, known only from the intent.
_OWN_KEY = frozenset({"rollback_traffic", "scale_connector"})
# The first answer a resend repeats when that answer is lost and the write it made is recorded (a gate claim
# completed, an action record, a restore note `written`): the change was made (Outcome.first_status).
MADE = OutcomeStatus.APPLIED


def first_of(resent: OutcomeStatus) -> OutcomeStatus:
    """The first answer's status for a resend answered from a record of its write: `escalated` when that write's
    result was never confirmed or a person had to act on it (the resend is escalated again), else `applied`, the
    write made (docs/messages.md, `first_status`)."""
    return OutcomeStatus.ESCALATED if resent is OutcomeStatus.ESCALATED else MADE


@dataclass(frozen=True)
class Earlier:
    """What earlier attempts at the command left: `answer`, a change they made and did not record,
    recorded or escalated now (the answer to this delivery); or `recorded`, the action record of the
    command's write (a resend is a duplicate of it); or neither: handle the command as usual."""

    answer: Outcome | None = None
    recorded: ActionRecord | None = None
    # The command's kept answer (shared/commands/answers.py), as read in the same batch when asked for
    # (`kept_read`): a resend publishes it if it was never published.
    kept: dict[str, Any] | None = None
    kept_read: bool = False


def earlier(run: CommandRun, with_answer: bool = False) -> Earlier:
    """See the module's table. One batched read (two for an approve), then the live target only
    for an intent its attempt left open with no action record. `with_answer`: the command's kept
    answer is read in the same batch (a resend's: answers.retake)."""
    if run.command.command not in WRITING or run.command.dry_run or not run.command_id:
        return Earlier()
    try:
        intent, record, claim, kept = _read(run, with_answer)
    except DamagedRecord as exc:
        return Earlier(answer=unreadable(run, exc))
    return replace(_earlier(run, intent, record, claim), kept=kept, kept_read=with_answer)


def _earlier(run: CommandRun, intent: IntentRecord | None, record: ActionRecord | None,
             claim: ClaimRecord | None) -> Earlier:
    # Another command under the id is told apart before anything the id's first command left is answered
    # or recorded as this one's: on the digest kept with its intent or action record, on every path (the
    # command's own record, kept, is compared first: shared/commands _claim; records written before it
    # carried a digest carry none).
    reused = _reused_id(run, intent, record)
    if reused is not None:
        return Earlier(answer=reused)
    if intent is None:
        # The intent is kept 7 days (records.INTENT_RETENTION), the action record 30: a resend whose
        # command's record and intent are both gone is still a duplicate of its recorded write, read
        # in the same batch at the key that follows from the command (rollback_traffic, scale_connector).
        own = record is not None and record.command_id == run.command_id
        return Earlier(recorded=record) if own else Earlier()
    if intent.state is IntentState.VOID:
        return Earlier()
    retaken = _retaken(run, intent, record)
    if retaken is not None:
        return Earlier(answer=retaken)
    if record is not None:
        # Another's record at the same claim key (an approve's claim is its incident's: the alert's
        # attempt wrote it, and this command's gate answered a duplicate) is not this command's write.
        return Earlier(recorded=record) if record.command_id == run.command_id else Earlier()
    if intent.state is IntentState.RECORDED or _held_by_another(claim, run):
        return Earlier()
    return Earlier(answer=_recover(run, intent))


def unfinished_write(run: CommandRun) -> Outcome | None:
    """For a writing command that stores no intent (`CLAIM_ONLY`: restore_traffic, a corrective action,
    Gate._intent), what an earlier attempt at the same command_id left at the gate's claim, read before
    the command runs (its own record is not completed: lost, or never written). Only the claim tells: the
    target as it is now cannot, since anyone (an alert's rollback, a person) may have changed it since,
    and a restore written again over that change is a second write under one command_id.

    - no claim (never taken, or given back: nothing written), or one held unexpired by another attempt
      (the gate waits it out, InProgress): None, the command runs as usual;
    - completed (the gate finished the earlier attempt's write, and the command's record was lost): a
      duplicate naming the gate's result, `escalated` if that was; nothing written;
    - held unfinished, its lease lapsed, by an earlier attempt at this command (it died, or the commit
      recording its write failed): its write may have taken, and nothing recorded it: `escalated`, naming
      the claim; nothing written, whatever the target shows now. (A give-back that failed, with nothing
      written, leaves the same claim: it cannot be told apart, so it is escalated too.)
    A claim Firestore's TTL has deleted since its lease lapsed (or a completed one past its retention)
    cannot be read: the restore's note (records.RestoreNote, kept 30 days, read in the same batch) answers
    then (`_noted_write`)."""
    command = run.command
    if command.command not in CLAIM_ONLY or command.dry_run or not run.command_id or not command.target:
        return None
    key = claim_key(command_incident(run.command_id), command.target, command.command)
    data, note = run.adapters.state.get_many([(CLAIMS, key), (RESTORES, key)])
    try:
        if not data:    # the note read only then: a damaged one beside a readable claim changes nothing
            return _noted_write(run, read_record(RestoreNote, note, RESTORES, key)) if note else None
        claim = read_record(ClaimRecord, data, CLAIMS, key)
    except DamagedRecord as exc:
        return unreadable(run, exc)
    ours = intents.message_of(claim.owner) == command_attempts(run.command_id)
    if claim.status is ClaimStatus.COMPLETED:
        return _completed_write(run, claim)
    if not ours or not claim.left_unfinished(run.owner, run.now):
        return None
    run.use_incident(command_incident(run.command_id))
    return _may_have_written(run, f"took the gate's claim {key} at {claim.claimed_at:%Y-%m-%d %H:%M:%S} and never "
                                  "finished it (its record of the write is missing: the commit after it failed, or "
                                  "the attempt died)")


def unreadable(run: CommandRun, exc: DamagedRecord) -> Outcome:
    """A record this module reads that cannot be read (records.read_record): `escalated`, named, nothing written
    (context.earlier_unreadable), never raised: every retry would read it again and end `failed`, unnamed."""
    refusal = earlier_unreadable(run, exc)
    return run.outcome(refusal.status, refusal.reason, target=run.command.target)


def _noted_write(run: CommandRun, note: RestoreNote) -> Outcome | None:
    """A resend whose gate claim is gone (never taken, given back, or deleted by Firestore's TTL some time
    after its lease) but whose restore note (records.RestoreNote, kept 30 days) says an earlier attempt at
    this command went to the gate: `written` is a duplicate of that answer; `sending` (the attempt died, or
    every record after its write failed) may have written, and is escalated; nothing is written again. A
    `void` note (nothing written) lets the command run."""
    command = run.command
    if note.state is RestoreNoteState.VOID:
        return None
    if note.state is RestoreNoteState.SENDING and _unwritten_since(run, note):
        return None     # the attempt died before its write landed: the command runs, its note replaced
    run.use_incident(command_incident(run.command_id or ""))
    if note.state is RestoreNoteState.WRITTEN:
        reason = recorded_duplicate_reason(
            run.command_id or "", f"{command.command} on {command.target}, {note.status or 'written'} at "
            f"{note.noted_at:%Y-%m-%d %H:%M:%S} (its note {note.key}); this command's record of its first answer "
            "and the gate's claim are gone; nothing written")
        status = OutcomeStatus.ESCALATED if note.status == OutcomeStatus.ESCALATED.value else OutcomeStatus.SKIPPED
        return run.outcome(status, reason, target=command.target, first_status=first_of(status))
    return _may_have_written(run, f"noted this restore at {note.noted_at:%Y-%m-%d %H:%M:%S} and went to the gate, "
                                  "and no record of its answer is left (the gate's claim and this command's record "
                                  "are gone: Firestore deletes a lapsed claim some time after its lease)")


def _unwritten_since(run: CommandRun, note: RestoreNote) -> bool:
    """Whether the restore an earlier attempt noted `sending` (and whose gate claim is gone) provably never
    landed: the service's generation is still the one that attempt read before its note. Cloud Run raises
    it with every change of the desired state (Service.generation, google/cloud/run/v2/service.proto), and
    the restore's write changes it (a split already desired is refused before the note as nothing to do;
    were one written, it would change nothing, and neither does writing it again). That attempt is over:
    this delivery holds the command's claim, taken over only after its lease, which outlives the function's
    timeout. Then its note is voided (guarded on it still being that attempt's, `sending`) and the command
    runs. A note from before the generation was kept, a generation moved since (by this restore or anyone),
    a service that cannot be read, or a note changed meanwhile: False, escalated as before."""
    if note.generation is None or not run.command.target:
        return False
    try:
        service = run.adapters.run.get_service(run.command.target)
    except PermanentError:
        return False
    if service.generation != note.generation:
        return False
    voided = run.adapters.state.update_record(RESTORES, note.key, {"state": RestoreNoteState.VOID.value},
                                              expect={"state": RestoreNoteState.SENDING.value, "owner": note.owner})
    if voided:
        run.timeline.step("recovered", f"an earlier attempt at command {run.command_id} noted this restore at "
                          f"{note.noted_at:%Y-%m-%d %H:%M:%S} and ended before its write: {service.short_name} is "
                          f"still at generation {note.generation}, as that attempt read it; running it now",
                          severity="NOTICE")
    return voided


def _may_have_written(run: CommandRun, earlier: str) -> Outcome:
    """`escalated`, nothing written: an earlier attempt at this command did `earlier` and left no record of
    whether its write took, so a person checks the target (`unfinished_write`, `_noted_write`)."""
    command = run.command
    reason = (f"{command.command} on {command.target} not run: an earlier attempt at command {run.command_id} "
              f"{earlier}, so its write may have taken; nothing written again, whatever the target shows now. "
              f"A person must check {command.target} and, to run the command again, send it with a new command_id")
    run.timeline.step("unrecorded", reason, severity="WARNING")
    return run.outcome(OutcomeStatus.ESCALATED, reason, target=command.target)


def _completed_write(run: CommandRun, claim: ClaimRecord) -> Outcome:
    """A resend whose gate claim the earlier attempt completed (its write done and answered) while the
    command's own record was lost: a duplicate of that result, never a second run."""
    command, result = run.command, claim.result
    first = str(result.get("status") or "completed")
    run.use_incident(command_incident(run.command_id or ""))
    reason = recorded_duplicate_reason(
        run.command_id or "", f"{command.command} on {command.target}, {first} at "
        f"{claim.claimed_at:%Y-%m-%d %H:%M:%S} (the gate's claim {claim.key}); this command's record of its "
        "first answer is gone; nothing written")
    status = OutcomeStatus.ESCALATED if first == OutcomeStatus.ESCALATED.value else OutcomeStatus.SKIPPED
    return run.outcome(status, reason, target=command.target, first_status=first_of(status))


def _reused_id(run: CommandRun, intent: IntentRecord | None, record: ActionRecord | None) -> Outcome | None:
    """`rejected` when the intent or action record this command_id left behind was written for a
    different command (other command, target, params, override or requester: `command_digest`), as a
    resend with a completed record of its own is answered (`_duplicate`): once that record is gone,
    a command reusing the id must neither run nor be answered as the first one's duplicate. Records
    written before the digest was kept carry none: read as this command's, unless an approve's intent
    names another proposal (an approve's intent and record carried no digest before this version)."""
    digest = command_digest(run.command)
    for earlier_write in (intent, record):
        if earlier_write is None or earlier_write.command_id != run.command_id:
            continue
        if not (earlier_write.command_digest != digest if earlier_write.command_digest
                else _another_proposal(run, earlier_write)):
            continue
        if isinstance(earlier_write, IntentRecord):
            when, what = earlier_write.noted_at, f"{earlier_write.action} on {earlier_write.target} (planned)"
        else:
            when, what = earlier_write.applied_at, f"{earlier_write.action} on {earlier_write.target} (applied)"
        run.reused_id = True
        return run.outcome(OutcomeStatus.REJECTED, f"command_id: {run.command_id} was already used at "
                           f"{when:%Y-%m-%d %H:%M:%S} for a different command, {what}; this {run.command.command} "
                           "was not run, nothing written: send it with a new command_id", target=run.command.target)
    return None


def _another_proposal(run: CommandRun, earlier_write: IntentRecord | ActionRecord) -> bool:
    """A plan stored with no digest that an approve of another proposal left (one naming no proposal is
    read as this command's, as any record without a digest)."""
    if run.command.command != "approve" or not isinstance(earlier_write, IntentRecord):
        return False
    return bool(earlier_write.proposal_id) and earlier_write.proposal_id != run.command.params.proposal_id


def recorded_duplicate(run: CommandRun, record: ActionRecord) -> Outcome:
    """The answer to a resend whose command's own record is gone (its completion failed, or it was
    deleted) while the action record of its write is kept: a duplicate, naming the change, never a
    second run. `escalated` again when the write's completion was never confirmed (recorded with no
    after-state: the gate's `_unknown`) or the sweep escalated it: a person had to act on that."""
    run.use_incident(record.incident_id)
    reason = recorded_duplicate_reason(
        run.command_id, f"{record.action} on {record.target}, applied at {record.applied_at:%Y-%m-%d %H:%M:%S} and "
        f"recorded as action {record.key} ({record.state.value}); this command's record of its first answer is gone; "
        "nothing written")
    status = (OutcomeStatus.ESCALATED if record.state is ActionState.ESCALATED or not record.after
              else OutcomeStatus.SKIPPED)
    report = ActionReport(name=record.action, params=record.params, reversible=record.reversible,
                          before=record.before, after=record.after or None, action_id=record.key)
    end_recorded_approval(run, record)
    return run.outcome(status, reason, target=record.target, action=report, first_status=first_of(status))


def end_recorded_approval(run: CommandRun, record: ActionRecord) -> None:
    """An approve whose write is recorded ends its proposal `applied` if it is still `approved` (or
    `in_doubt`) by this command (the adopter's own ending, Gate._end_approved, is best effort). Not a
    write recorded in doubt (no after-state: sent, its answer lost): nothing shows it applied, so its
    proposal stays `in_doubt` until the sweep judges it."""
    if run.command.command == "approve" and record.after:
        _end_approval(run, f"applied by command {run.command_id}: recorded as action {record.key}")


def _read(run: CommandRun, with_answer: bool) -> tuple[IntentRecord | None, ActionRecord | None, ClaimRecord | None,
                                                      dict[str, Any] | None]:
    """The intent, the action record at its claim key and the gate's claim there, and (`with_answer`)
    the command's kept answer: one get_many when the claim key follows from the command, else the
    intent (and the answer) and then the other two."""
    state, command = run.adapters.state, run.command
    at = (INTENTS, command_intent_key(run.command_id))
    answer = [(ANSWERS, run.command_id)] if with_answer else []
    guess = (claim_key(command_incident(run.command_id), command.target, command.command)
             if command.command in _OWN_KEY and command.target else None)
    if guess is None:
        data, *rest = state.get_many([at, *answer])
        found: list[Any] = []
    else:
        data, *found = state.get_many([at, (ACTIONS, guess), (CLAIMS, guess), *answer])
        found, rest = found[:2], found[2:]
    kept = rest[0] if rest else None
    if not data:
        record = found[0] if found else None
        return None, read_record(ActionRecord, record, ACTIONS, guess) if record else None, None, kept
    intent = read_record(IntentRecord, data, INTENTS, at[1])
    if intent.claim_key != guess:
        found = state.get_many([(ACTIONS, intent.claim_key), (CLAIMS, intent.claim_key)])
    record, claim = found
    return (intent, read_record(ActionRecord, record, ACTIONS, intent.claim_key) if record else None,
            read_record(ClaimRecord, claim, CLAIMS, intent.claim_key) if claim else None, kept)


def _held_by_another(claim: ClaimRecord | None, run: CommandRun) -> bool:
    """The gate's claim held, unfinished and unexpired, by an attempt at something else than this
    command: it may still write and record, and its own answer reports it."""
    return (claim is not None and claim.status is ClaimStatus.CLAIMED and not claim.expired(run.now)
            and intents.message_of(claim.owner) != command_attempts(run.command_id or ""))


def _recover(run: CommandRun, intent: IntentRecord) -> Outcome | None:
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
    holder = run.holder()
    answer = intents.answer(found, intent, action, run.gate(), planned, "an earlier attempt at this command",
                            "could not record it and whose answer was lost", pending=holder.pending(
                                intent, lambda reason, report, notes: run.build(
                                    OutcomeStatus.ESCALATED, reason, target=intent.target, action=report, notes=notes)))
    # The report this answer stored in the intent, held by this delivery from now on: taken before the
    # approve's reads below, so that if one of them fails (the delivery raises, Pub/Sub delivers it
    # again) the report is given back at once (handle_command) for that redelivery to publish, rather
    # than held unpublished for a lease while the redelivery answers a duplicate.
    stored = holder.stored(intent) if answer.status is OutcomeStatus.ESCALATED and holder.built else None
    if found.verdict is Verdict.RECORD and run.command.command == "approve" and _recorded_as_ours(run, intent):
        # Recorded now (here, or by whoever recorded it first): the write took, as for a completed approve.
        # Not when the change was escalated instead (another record or attempt owns it: owned_elsewhere,
        # or a judge escalated it first): nothing then shows that this approve applied it.
        _end_approval(run, f"applied by an earlier attempt at command {run.command_id}, recorded on its resend")
    if stored is not None:
        return run.stepped(stored)   # as stored in the intent, kept there until published
    return run.outcome(answer.status, answer.reason, target=intent.target, action=answer.action, notes=answer.notes,
                       held=answer.held)


def _recorded_as_ours(run: CommandRun, intent: IntentRecord) -> bool:
    """Whether the action record at the intent's claim key is this command's write (one read, only
    for an approve whose write was found in place)."""
    [data] = run.adapters.state.get_many([(ACTIONS, intent.claim_key)])
    return data is not None and data.get("command_id") == run.command_id


def _retaken(run: CommandRun, intent: IntentRecord, record: ActionRecord | None) -> Outcome | None:
    """The report a delivery of this command stored in the intent and could not publish (its publish
    failed and it gave the report back, or its hold lapsed), published now as stored: the same
    outcome_id, rather than a duplicate answer of its own (shared/remediation/held_reports.py)."""
    if intent.report_state != REPORT_PENDING:
        return None
    outcome = run.holder().retake(intent.model_dump(mode="python"), run.timeline)
    if outcome is None:
        return None
    run.use_incident(intent.incident_id)
    if record is not None and record.command_id == run.command_id:
        end_recorded_approval(run, record)
    return outcome


def _end_approval(run: CommandRun, note: str) -> None:
    end_recovered(run, run.command.params.proposal_id, note)
