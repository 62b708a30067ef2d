"""A command's answer, kept with its record until it is published.

A command's record is its claim on the command_id, completed with the first answer (status, reason,
outcome id, notes). Completing it decides the command: a resend is from then on a duplicate of that
answer. But the answer itself reaches a person only when its publish succeeds. Before, a publish that
failed made the handler raise, so that Pub/Sub delivered the command again, and that resend answered a
duplicate quoting the first answer; a command Pub/Sub never delivered again (dead-lettered: a
subscription with few `max_delivery_attempts`, or one whose attempts ran out) was never answered at
all, although it had decided something (an approve that refused its proposal, closing it for good; a
reject; a scale or a rollback that wrote).

So the answer is kept as an alert's report about an unrecorded write is kept
(shared/remediation/held_reports.py): a CommandAnswer record (`answers`, keyed by the command_id)
holds the outcome's JSON, `pending`, written by the very commit that completes the command's record
(`StateStore.record_all` with the claim's completion: one commit, so a command is never decided
without its answer kept), held by this delivery for the claim's lease. The decisions that only the
answer tells a person of (`CommandRun.decisions`: an approve's refusal of its proposal, or its end
once the gate answered; a reject) are writes of that same commit, so that none lands without its
answer kept. (A pause's flag is written before it, on purpose: docs/behaviour.md.) Then:
- the publish succeeds: the answer is marked `sent`, never published again;
- the publish fails, or the delivery raises after the commit: the answer is given back at once and the
  handler raises; the resend finds it pending and held by no one, takes it (an update guarded on the
  holder as read) and publishes it as it was, the same outcome_id, instead of a duplicate of it
  (`retake`);
- nothing is delivered again, or the delivery dies: the sweep's pass over kept reports
  (kept_reports.KEPT_IN) publishes it once no one holds it;
- the publish succeeds and marking it sent fails: it is published again once the hold lapses, with the
  same outcome_id (a reader drops the repeat; Pub/Sub's own delivery is at least once too).

Not kept: the answer of a read (`diagnose`, `status`), which decides nothing and is better asked again
than published late; an answer already kept in an intent (a resend's report about an earlier attempt's
unrecorded write: held_reports.py keeps it there); an answer given before the command's record is
taken (malformed, expired), which decides nothing either.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.alerts.commands import command_digest
from shared.commands.context import CommandRun
from shared.outcomes import Outcome
from shared.ports import Completion, RecordWrite
from shared.remediation import intents, switch_since
from shared.remediation.records import ANSWERS, COMMANDS, CommandAnswer

# Commands that only read: their answer is not kept (asked again, they answer afresh).
READS = frozenset({"diagnose", "status"})


def complete(run: CommandRun, outcome: Outcome, retain: timedelta) -> Outcome:
    """The command's record completed with `outcome` (its first answer), and `outcome` kept pending in
    its CommandAnswer by the same commit, held by this delivery (its publish marks it sent), with the
    decisions the answer stands on (`run.decisions`: an approve's or a reject's decision on its
    proposal). Returns the answer recorded: `outcome`, or, when a decision is no longer expected
    (another command decided the proposal meanwhile) and is left out, `run.undecided` if the handler
    gave one (a reject's "closed" would then be false), else `outcome` with its notes saying the
    decision is not recorded. Nothing is recorded if the record is no longer the claim this delivery
    took (it lapsed and another delivery took it over). A transient fault is raised; the commit may have
    landed with its answer lost, so the answer is held all the same: marked sent once published, or
    given back (guarded on this delivery as holder: nothing if it was not written)."""
    written = _commit(run, outcome, retain, run.decisions)
    if not written and run.decisions:
        # Either a decision's expectation no longer held, or the claim lapsed: said only if the record
        # is still this delivery's claim (the commit without the decisions lands).
        instead = _undecided(run, outcome)
        written = _commit(run, instead, retain, [])
        if written:
            outcome = instead
            if instead is run.undecided:
                run.stepped(instead)
    if not written:
        run.timeline.step("unrecorded", f"command {run.command.command_id}: its record is no longer the claim this "
                          "delivery took (it lapsed, and another delivery took it over); answered, not recorded",
                          severity="WARNING")
    return outcome


def result(run: CommandRun, outcome: Outcome) -> dict[str, Any]:
    """The command's record's result: its first answer, as a resend quotes it."""
    return {"status": outcome.status.value, "reason": outcome.reason, "outcome_id": outcome.outcome_id,
            "digest": command_digest(run.command), "notes": list(outcome.notes)}


def _undecided(run: CommandRun, outcome: Outcome) -> Outcome:
    """The answer when the decisions are left out: `run.undecided`, or `outcome` (a copy) whose notes say
    each decision is not recorded."""
    if run.undecided is not None:
        if run.meanwhile is not None:   # read now, once the decision that won has landed
            run.undecided = run.undecided.model_copy(update={"reason": run.undecided.reason + run.meanwhile()})
            run.meanwhile = None
        return run.undecided
    return outcome.model_copy(update={"notes": [
        *outcome.notes, *(f"{d.key} was decided by another command meanwhile: this command's decision "
                          f"({d.data.get('state')}) is not recorded" for d in run.decisions)]})


def _commit(run: CommandRun, outcome: Outcome, retain: timedelta, decisions: list[RecordWrite]) -> bool:
    holder = run.holder()
    keep = _keeps(run, outcome)
    writes = [RecordWrite(ANSWERS, run.command.command_id, _kept(run, outcome))] if keep else []
    completing = Completion(COMMANDS, run.command.command_id, run.claimed, retain, run.now, result(run, outcome))
    if keep:
        holder.may_hold(ANSWERS, run.command.command_id)
    try:
        written = run.adapters.state.record_all([*writes, *decisions], completing)
    except Exception:
        if keep:
            holder.hold(ANSWERS, run.command.command_id, outcome)
        raise
    if written and keep:
        holder.hold(ANSWERS, run.command.command_id, outcome)
    return written


def retake(run: CommandRun, data: dict[str, Any] | None = None, read: bool = False) -> Outcome | None:
    """The first answer of this command, kept and not yet published, and held by no one (its publish
    failed and gave it back, or its delivery's hold lapsed): taken by this resend to publish as it was.
    None otherwise (none kept: a read, or a record from before answers were kept; sent; held). `data`:
    the CommandAnswer as already `read` in a batch (recovery.earlier), else read here."""
    if run.command.command in READS:
        return None
    if not read:
        data = run.adapters.state.get_record(ANSWERS, run.command.command_id)
    outcome = run.holder().retake(data, run.timeline, ANSWERS)
    if outcome is not None and outcome.incident_id:
        run.use_incident(outcome.incident_id)
    if outcome is not None:
        # A pause's or a resume's answer published late: said if its flag was turned the other way since.
        outcome = switch_since.with_news(run.adapters.state, run.command.command, run.command.command_id or "", outcome)
    return outcome


def _keeps(run: CommandRun, outcome: Outcome) -> bool:
    """Whether `outcome` is kept in the command's answer: not a read's, nor one already kept in an intent."""
    return run.command.command not in READS and not (run.held is not None and run.held.holds(outcome))


def _kept(run: CommandRun, outcome: Outcome) -> dict[str, Any]:
    command = run.command
    record = CommandAnswer(command_id=command.command_id, command=command.command, requested_by=command.requested_by,
                           incident_id=outcome.incident_id, target=outcome.target, status=outcome.status.value,
                           answered_at=run.now)
    return record.model_dump(mode="python") | intents.pending_report(
        outcome.to_json().decode(), run.owner, run.now, run.holder().lease)
