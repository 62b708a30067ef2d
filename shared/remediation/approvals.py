"""Proposals left `approved`: an approve whose attempt ended before it settled the proposal.

An approve moves its proposal `open -> approved`, sends the action through the gate, and then settles
the proposal: the commit that completes the command's record ends it (`applied`, `failed`, `superseded`,
`in_doubt`), or the approve moves it back to `open` (the gate held the write back). Its attempt can end
between the two: it dies (a crash, a timeout), a state-store fault makes it raise (the move to
`approved` landed with its answer lost; the move back to `open` failed too), or its final commit fails
outright. A resend of the same command carries the approval on (shared/commands/approval.py,
`_approved_by_this_command`), but a command that is never delivered again (dead-lettered) left the
proposal `approved` for good: nothing expires an approved proposal, and no outcome said that nothing
was applied.

So the verification sweep reads the proposals still `approved` (`Approvals.run`), and for each one
whose approving command has ended (its record neither completed nor held, and the approval a lease old:
`command_standing`) takes that command's record itself, so that no resend of the command runs meanwhile (it waits,
CommandInProgress), reads the command's intent (the gate stores it before any write) and the action
record at the proposal's claim key, and decides (`decide`, pure):

| the command's record     | its action record (the proposal's key) | its intent      | the sweep                      |
|--------------------------|----------------------------------------|-----------------|--------------------------------|
| held, unexpired; or the  | (not read)                             | (not read)      | nothing: it may still write, or|
|   approval within a lease|                                        |                 |   a redelivery carry it on     |
| completed (answered)     | as for a lapsed record below, but where that closes it `abandoned`, it ends as the      |
|                          | answer said, with no answer of its own: `failed` (a permanent error escaped the gate:   |
|                          | the handler answered `failed`), or else `abandoned`; nothing when the record is another |
|                          | command's under the same id (its digest is not the approval's)                          |
| lapsed or gone           | this command's, pending or undoing     | (any)           | `applied` (`in_doubt` with no  |
|                          |                                        |                 |   after-state), as the commit  |
|                          |                                        |                 |   would have; the sweep's      |
|                          |                                        |                 |   verdict ends it later        |
|                          | this command's, judged                 | (any)           | ended with the judgement       |
|                          | none                                   | open            | nothing: the intents backstop  |
|                          |                                        |                 |   judges the write first       |
|                          | none                                   | escalated, or   | `in_doubt`: the write may have |
|                          |                                        |   recorded      |   happened; a person was told  |
|                          | none                                   | void, or none   | closed `abandoned`, answered   |

A completed record with the proposal still `approved` by its command: the attempt answered without
settling the proposal, because an error the approve does not expect escaped the gate (a state-store
PermissionDenied or InvalidArgument: the handler answers `failed`, and that answer completes the record
and is published). Left so, the proposal stayed `approved`, listed by `status`, until the command's
record lapsed (30 days). The answer was given, so the sweep only moves the proposal to where the
records show it, as the commit that completes the record would have: its write's record decides, an
open intent is the backstop's first, and with nothing written it ends as the answer said.

The command's intent counts only if it was stored for this proposal (`proposal_id`): under a reused
command id it may be another approval's.

`abandoned` is the one end that acts: no write was planned (no intent), or the plan was given back
(void), so nothing was written. The proposal is closed, not opened again: the approval was made on the
world as it was then, and re-opened it could be approved into a write on a world that has moved on.
The closing, the command's record completed with an `escalated` answer that says so and how to go on,
and that answer kept pending (records.CommandAnswer) are one commit (`StateStore.record_all`), guarded
on the proposal still `approved` by that command and on the command's record as the sweep took it; the
answer is published like any kept report, once (kept_reports.KeptReports). A later resend of the
command is a duplicate of that answer, `escalated` again. Nothing here writes to Google Cloud, and a
proposal whose write may have happened is never closed as unwritten.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import ValidationError

from shared.config import Config
from shared.errors import DamagedRecord, PermanentError, TransientError
from shared.outcomes import ActionReport, Outcome, OutcomeStatus, Timestamps
from shared.ports import ClaimRecord, ClaimStatus, Completion, RecordWrite
from shared.remediation.intents import SWEEP_MARGIN
from shared.remediation.kept_reports import KeptReports, Tell
from shared.remediation.records import (ACTIONS, ANSWERS, COMMAND_RETENTION, COMMANDS, INTENTS, PROPOSALS,
                                        ActionRecord, ActionState, CommandAnswer, IntentRecord, IntentState,
                                        ProposalRecord, command_intent_key, read_record, stored_key)
from shared.timeline.writer import Timeline

APPROVED = "approved"
ABANDONED = "abandoned"
# Approved proposals read per sweep: as many approvals are rarely under way at once.
MAX_APPROVED_PER_SWEEP = 50


class Ending(str, Enum):
    """What the sweep does with a proposal left `approved` (the module's table)."""

    WAIT = "wait"              # the command's record is held: its attempt (or a resend) may still write
    ANSWERED = "answered"      # the command's record is completed and nothing was written: ended as its answer said
    APPLIED = "applied"        # its write is recorded and awaits the sweep's verdict
    IN_DOUBT = "in_doubt"      # its write may have happened, and nothing says it applied
    JUDGED = "judged"          # its write is recorded and judged: ended with that judgement
    INTENT = "intent"          # its intent is open: the intents backstop judges the write first
    ABANDONED = "abandoned"    # nothing was written: closed and answered


def command_standing(claim: ClaimRecord | None, approved_at: datetime | None, lease: timedelta,
                     now: datetime) -> Ending | None:
    """WAIT or ANSWERED; None when the sweep may take the command's record. It waits while the record is
    held unexpired, and until the approval (`approved_at`, written by the attempt that approved, and
    again by a resend carrying it on) is older than a lease: an attempt that raised gave its record back
    at once for the platform's redelivery, which should carry the approval on, not find it closed. Both
    are left a margin more (intents.SWEEP_MARGIN), as an intent is: by then the attempt has surely ended
    (a function runs at most its timeout, shorter than the lease)."""
    if claim is not None and claim.status is ClaimStatus.COMPLETED and not claim.expired(now):
        return Ending.ANSWERED
    if approved_at is not None and approved_at + lease + SWEEP_MARGIN > now:
        return Ending.WAIT
    if claim is None or claim.expires_at + SWEEP_MARGIN <= now:
        return None
    return Ending.WAIT


def settles_after(claim: ClaimRecord | None, approved_at: datetime | None, lease: timedelta) -> datetime | None:
    """From when `command_standing` lets the sweep settle the proposal (a command answered: at once, the
    next sweep)."""
    if claim is not None and claim.status is ClaimStatus.COMPLETED:
        return claim.claimed_at
    times = [t + SWEEP_MARGIN for t in (claim.expires_at if claim is not None else None,
                                        approved_at + lease if approved_at is not None else None) if t is not None]
    return max(times) if times else None


def ending(record: ActionRecord | None, intent: IntentRecord | None, command_id: str, proposal_id: str = "") -> Ending:
    """Once the command's record has lapsed: `record`, the action record at the proposal's claim key (it
    counts only if the command wrote it); `intent`, the command's (the gate stores it before any write; it
    counts only if stored for this proposal, `proposal_id`: under a reused command id it may be another's)."""
    if record is not None and record.command_id == command_id:
        if record.state in (ActionState.PENDING, ActionState.UNDOING):
            return Ending.APPLIED if record.after else Ending.IN_DOUBT
        return Ending.JUDGED
    if intent is not None and proposal_id and intent.proposal_id and intent.proposal_id != proposal_id:
        intent = None
    if intent is None or intent.state is IntentState.VOID:
        return Ending.ABANDONED
    if intent.state in (IntentState.OPEN, None):
        return Ending.INTENT
    # Escalated (the target showed neither the state before nor the plan), or recorded with no record of
    # it found: the write may have happened. Never closed as unwritten.
    return Ending.IN_DOUBT


def decide(claim: ClaimRecord | None, record: ActionRecord | None, intent: IntentRecord | None, command_id: str,
           approved_at: datetime | None, lease: timedelta, now: datetime, proposal_id: str = "") -> Ending:
    """The whole table, for a proposal `approved` by `command_id` at `approved_at` (whether a completed
    record is that approval's own is `answers_approval`'s, which reads the proposal's digest)."""
    standing = command_standing(claim, approved_at, lease, now)
    if standing is Ending.WAIT:
        return standing
    found = ending(record, intent, command_id, proposal_id)
    if standing is Ending.ANSWERED and found is Ending.ABANDONED:
        return Ending.ANSWERED   # nothing written, and the command answered: no second answer
    return found


def answers_approval(claim: ClaimRecord, proposal: ProposalRecord) -> bool:
    """Whether the command's completed record is the answer to the approve that approved `proposal`, not to
    another command sent under its id (`command_digest`, kept with both; either written before it was
    kept carries none: taken as the same)."""
    digest = claim.result.get("digest")
    return not digest or not proposal.command_digest or digest == proposal.command_digest


def answered_end(claim: ClaimRecord, command_id: str) -> tuple[str, str]:
    """The proposal's end, with nothing written, as its command's answer said: `failed` when it answered
    `failed` (a permanent error escaped the gate), else `abandoned`; the note quotes that answer."""
    status, reason = claim.result.get("status") or "", claim.result.get("reason") or ""
    state = "failed" if status == OutcomeStatus.FAILED.value else ABANDONED
    return state, (f"approved by command {command_id}, which was answered {status or 'without a status'} and wrote "
                   f"nothing, without ending this proposal; ended {state} by the verification sweep. That answer: "
                   f"{reason}")


class Approvals:
    """The sweep's step over proposals left `approved` (the module's table), at most
    MAX_APPROVED_PER_SWEEP; a proposal whose reads or writes meet a transient fault waits for the next
    sweep. Its `abandoned` answers are kept in the commands' answers and published by the sweep."""

    def __init__(self, config: Config, state: Any, now: datetime, owner: str, lease: timedelta,
                 kept: KeptReports, tell: Tell) -> None:
        """`owner`, `lease` and `kept`: the sweep's (verification.Sweep), which publishes what `kept` holds; `tell`:
        its escalation, once, of a record it cannot read (Sweep._damaged_action), given the proposal's record as
        stored, the DamagedRecord and what the sweep cannot do for it."""
        self.config, self.state, self.now, self.owner, self.lease, self.kept = config, state, now, owner, lease, kept
        self.tell = tell

    def run(self) -> list[Outcome]:
        outcomes = []
        for data in self.state.find_records(PROPOSALS, "state", APPROVED, MAX_APPROVED_PER_SWEEP):
            # An approved proposal, or its command's intent or action record, that this version cannot read
            # (records.read_record): escalated once, naming it, and marked on the proposal; never closed as
            # unwritten (its write may have happened), and settled as usual once a person repairs the record.
            # Before, it was said at ERROR in the log each sweep, and no outcome ever told a person.
            try:
                outcome = self._approved(read_record(ProposalRecord, data, PROPOSALS, stored_key(PROPOSALS, data)))
            except DamagedRecord as exc:
                outcome = self.tell(data, exc, PROPOSALS, "settle that approved proposal nor tell whether its write "
                                                          "was made (it is never closed as unwritten)")
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _approved(self, proposal: ProposalRecord) -> Outcome | None:
        if not proposal.command_id:
            return None    # approved by no command this version can name: nothing to look up
        try:
            return self._settle(proposal)
        except (TransientError, PermanentError, ValidationError) as exc:   # the next sweep looks again
            Timeline(proposal.incident_id, "command").step(
                "approval_deferred", f"{proposal.proposal_id} (approved by command {proposal.command_id}): {exc}",
                severity="WARNING" if isinstance(exc, TransientError) else "ERROR")
            return None

    def _settle(self, proposal: ProposalRecord) -> Outcome | None:
        command_id = proposal.command_id
        held = self.state.get(COMMANDS, command_id)
        standing = command_standing(held, proposal.decided_at, self.lease, self.now)
        if standing is Ending.ANSWERED:
            self._settle_answered(proposal, held)
            return None
        if standing is not None:
            return None
        taken = self.state.claim(COMMANDS, command_id, self.owner, self.lease, self.now)
        if not taken.acquired:
            return None     # a resend took it first: it carries the approval on, or answers
        try:
            intent, record = self._reads(proposal)
        except BaseException:
            self._give_back(command_id)
            raise
        found = ending(record, intent, command_id, proposal.proposal_id)
        if found is Ending.ABANDONED:
            return self._abandon(proposal, taken.record, intent)    # completes the record, or gives it back
        try:
            self._move(proposal, found, record, intent)
        finally:
            self._give_back(command_id)
        return None

    def _settle_answered(self, proposal: ProposalRecord, held: ClaimRecord) -> None:
        """The command answered and left its proposal `approved` (the module's table): moved to where its
        records show it, with no answer of its own (the command's was given). Its record is not taken: a
        resend meanwhile is answered from it as a duplicate, and every move here is guarded on the proposal
        still `approved` by the command."""
        if not answers_approval(held, proposal):
            Timeline(proposal.incident_id, "command").step(
                "approval_not_closed", f"{proposal.proposal_id}: approved by command {proposal.command_id}, whose "
                "record now holds another command's answer under that id: left approved until that record lapses",
                severity="WARNING", proposal_id=proposal.proposal_id, command_id=proposal.command_id)
            return
        intent, record = self._reads(proposal)
        found = ending(record, intent, proposal.command_id, proposal.proposal_id)
        if found is not Ending.ABANDONED:
            self._move(proposal, found, record, intent)
            return
        state, note = answered_end(held, proposal.command_id)
        self._end(proposal, state, note)

    def _reads(self, proposal: ProposalRecord) -> tuple[IntentRecord | None, ActionRecord | None]:
        intent_data, record_data = self.state.get_many([(INTENTS, command_intent_key(proposal.command_id)),
                                                        (ACTIONS, proposal.key)])
        return (read_record(IntentRecord, intent_data, INTENTS, command_intent_key(proposal.command_id))
                if intent_data else None,
                read_record(ActionRecord, record_data, ACTIONS, proposal.key) if record_data else None)

    def _give_back(self, command_id: str) -> None:
        """The command's record, taken only to read and decide, given back (as it was: lapsed, for the
        next resend or sweep to take); best effort: it lapses with its lease."""
        try:
            self.state.release(COMMANDS, command_id, self.owner)
        except (TransientError, PermanentError):
            pass

    def _move(self, proposal: ProposalRecord, found: Ending, record: ActionRecord | None,
              intent: IntentRecord | None) -> None:
        """APPLIED, IN_DOUBT, JUDGED: the proposal says where its write stands (no outcome: the write's own
        reports and the sweep's verdict on it say the rest). WAIT, ANSWERED, INTENT: nothing."""
        command = proposal.command_id
        if found is Ending.APPLIED and record is not None:
            state, note = "applied", (f"applied by command {command}: recorded as action {record.key}; its attempt "
                                      "ended before it could end this proposal")
        elif found is Ending.JUDGED and record is not None:
            state, note = record.state.value, (f"{record.state.value} by the verification sweep (action {record.key}, "
                                               f"written by command {command}); its approve's attempt ended before it "
                                               "could end this proposal")
        elif found is Ending.IN_DOUBT:
            state, note = "in_doubt", _in_doubt_note(command, record, intent)
        else:
            return
        self._end(proposal, state, note)

    def _end(self, proposal: ProposalRecord, state: str, note: str) -> None:
        """The proposal moved to `state`, only if still `approved` by its command."""
        command = proposal.command_id
        if self.state.update_record(PROPOSALS, proposal.proposal_id, {"state": state, "note": note[:1500]},
                                    expect={"state": APPROVED, "command_id": command}):
            Timeline(proposal.incident_id, "command").step(
                "approval_settled", f"{proposal.proposal_id}: {state}: {note}", proposal_id=proposal.proposal_id,
                command_id=command)

    def _abandon(self, proposal: ProposalRecord, taken: ClaimRecord, intent: IntentRecord | None) -> Outcome | None:
        """Closed `abandoned`, with the command's record completed by an `escalated` answer kept pending in
        the same commit, held by this sweep until published. None if the proposal is no longer `approved` by
        the command, or the command's record no longer the one taken (nothing written; given back)."""
        command = proposal.command_id
        outcome = _abandoned_outcome(proposal, self.now)
        kept = self.kept
        answer = CommandAnswer(command_id=command, command="approve", requested_by=proposal.decided_by,
                               incident_id=proposal.incident_id, target=proposal.target,
                               status=outcome.status.value, answered_at=self.now)
        writes = [RecordWrite(PROPOSALS, proposal.proposal_id, {"state": ABANDONED, "note": outcome.reason[:1500]},
                              merge=True, expect={"state": APPROVED, "command_id": command}),
                  RecordWrite(ANSWERS, command, answer.model_dump(mode="python") | kept.fields(outcome), create=True)]
        result = {"status": outcome.status.value, "reason": outcome.reason, "outcome_id": outcome.outcome_id,
                  "notes": list(outcome.notes)}
        if intent is not None and intent.command_digest:
            result["digest"] = intent.command_digest   # what the command asked: a reused id is told apart
        retain = max(timedelta(seconds=self.config.guardrails.claim_retention_seconds), COMMAND_RETENTION)
        try:
            written = self.state.record_all(writes, Completion(COMMANDS, command, taken, retain, self.now, result))
        except TransientError:
            # It may have landed with its answer lost: the answer this sweep may hold is given back for the
            # next sweep to publish, and the command's record is left as it is (completed, or lapsing).
            kept.give_back(command, ANSWERS)
            raise
        if not written:     # decided meanwhile, or an answer already kept under that id: left as it is
            self._give_back(command)
            Timeline(proposal.incident_id, "command").step(
                "approval_not_closed", f"{proposal.proposal_id}: not closed {ABANDONED}: it is no longer approved by "
                f"command {command} as read, or an answer to that command is already kept", severity="WARNING",
                proposal_id=proposal.proposal_id, command_id=command)
            return None
        kept.hold(outcome, ANSWERS, command)
        Timeline(proposal.incident_id, "command").step("abandoned", outcome.reason, severity="WARNING",
                                                       proposal_id=proposal.proposal_id, command_id=command)
        return outcome


def _in_doubt_note(command: str, record: ActionRecord | None, intent: IntentRecord | None) -> str:
    if record is not None:
        return (f"approved by command {command}, whose attempt ended before ending this proposal: its write was sent "
                f"and its completion not confirmed (action {record.key}, recorded for the verification sweep)")
    why = intent.note if intent is not None and intent.note else "see the command's intent"
    return (f"approved by command {command}, whose attempt ended without recording its write: the write may have "
            f"happened and nothing records it ({why}); a person must check the target")


def _abandoned_outcome(proposal: ProposalRecord, now: datetime) -> Outcome:
    """The `escalated` answer to the approve whose attempt ended without writing: what was approved, that
    nothing was written, why the proposal is closed rather than open, and how to make the change now."""
    decided = f" at {proposal.decided_at:%Y-%m-%d %H:%M:%S} UTC" if proposal.decided_at else ""
    service = proposal.service if "/services/" in proposal.service else proposal.target
    reason = (f"proposal {proposal.proposal_id} ({proposal.action} on {proposal.target}) was approved by "
              f"{proposal.decided_by or 'an operator'}{decided} (command {proposal.command_id}), but that command's "
              "attempt ended without writing (it stopped or failed between the approval and the gate's write, and the "
              "command was not delivered again) and no write was planned for it: nothing was applied. The proposal "
              f"is closed as {ABANDONED} by the verification sweep, not opened again: the approval was made on the "
              "world as it was then")
    note = (f"To make the change now, see {service} as it is: runwarden command diagnose --target {service}; then "
            f"send it as a command of its own, which the gate checks against the live target: runwarden command "
            f"{proposal.action} --target {proposal.target} --param ... --reason '...'")
    report = ActionReport(name=proposal.action, params=proposal.params, before=proposal.before or None,
                          proposed_change=proposal.proposed_change or None, proposal_id=proposal.proposal_id,
                          proposal_expires_at=proposal.expires_at)
    return Outcome(incident_id=proposal.incident_id, trigger="command", target=proposal.target, action=report,
                   status=OutcomeStatus.ESCALATED, reason=reason, notes=[note], command_id=proposal.command_id,
                   requested_by=proposal.decided_by or None,
                   timestamps=Timestamps(received_at=now, decided_at=now, completed_at=now))
