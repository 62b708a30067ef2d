"""An alert's write that an attempt made but did not record: found and recorded by the redelivery.

Before the gate writes for an alert, it stores what it is about to write (an IntentRecord, keyed by
incident and message: `records.intent_key`), at the same time as its claim commit, so that the write
waits for no extra round trip: the intent is created only if there is none at its key, one commit beside
the claim's, and read only when there is one (`Gate._note_intent`). After the write it completes the
claim and writes the action record.
An attempt can write and then die (a crash, a timeout), or fail to record (the state store fails)
and then fail to publish the escalation that says so: Pub/Sub redelivers the message, since it was
not acknowledged. The redelivery reads the intent with the incident's other state (the same batched
read) and, unless the action record exists, decides here what the earlier attempt left behind:

| the claim                                        | the live target  | verdict                        |
|--------------------------------------------------|------------------|--------------------------------|
| recorded (an action record has its key)          | (not read)       | none: handled as usual          |
| held, unexpired, by another message's attempt    | (not read)       | none: handled as usual          |
| held, unexpired, by an earlier attempt at this   | (not read)       | wait: InProgress, redelivered   |
|   message (it may still be running)              |                  |                                 |
| absent, expired, or completed with no record     | the plan's after | record: the write took          |
|   (the attempt ended)                            | the plan's before| none: act as usual (no write)   |
|                                                  | changed again    | record it closed (escalated):   |
|                                                  |   after the write|   superseded, a person took over|
|                                                  | may have had it, | record it closed (escalated):   |
|                                                  |   changed since  |   the outcome unknown           |
|                                                  | neither / unread | escalate with the evidence      |

"The plan's before" is the state before with nothing to say it was written and put back: a service at the
plan's generation or one past it, a connector whose planned sizes were above its sizes before. A target
showing the state before again that the write could have led to (a service two generations or more past
the plan's read; a connector patch that only changed the machine type) is read as "changed again after
the write" or "may have had it": a person may have put it back, and acting as usual would write again.

"record" writes the action record the earlier attempt could not (so the sweep verifies it, and a
later delivery is a duplicate of it) and answers `escalated`, naming the change: nothing is written
to the target again. "Changed again after the write" is a target whose own record proves the write
landed and someone changed it since (Action.changed_since_write: a Cloud Run service two generations
or more past the plan's read, showing neither the split before nor the rollback's): Runwarden's write
happened, so it is recorded all the same (the timeline, a later alert's duplicate check, the incident's
history), but closed `escalated` at once, with no pin: the sweep never verifies or undoes it, since
the later change wins, and the answer says a person has taken the target over. A target that keeps
no such record (a connector) showing neither is judged by what the write could have led to
(Action.may_have_landed: a connector's instance counts only go up, so at the planned counts or more
it may have had the write, then another change): recorded closed `escalated` the same way, the answer
saying the outcome is unknown (Match.UNCONFIRMED); fewer than planned, nothing of Runwarden's landed,
and it is escalated with the evidence. Nothing proves the write either way.

Why a claim still held by this message's earlier attempt always waits, even when the planned change
is already in place: that attempt may still be running. A target shows the change before the write
has returned (Cloud Run's UpdateService changes the Service's spec at once and answers with a
long-running operation the attempt then polls), and Pub/Sub redelivers a push whose ack deadline
passed while its first attempt still runs. Recording it here would give the incident two answers,
`applied` from that attempt and `escalated` from this one. Once the claim's lease has lapsed the
attempt has certainly ended, and the redelivery then (Pub/Sub keeps redelivering, see
shared/errors.AttemptInProgress) records and reports the change. The cost: a change whose
recording and report were both lost is reported up to a lease later. The live read is the action's own (`Action.observe`), made only on these
paths, never for a message whose action was recorded.

The backstop: the sweep (shared/remediation/verification.py) pages through intents still open
(`IntentState`: the gate closes an intent in the very commit that records its action, and when it
gives everything back) once they are older than the claim's lease plus a margin, so that no attempt
at them can still run, and judges each as a redelivery would, whether or not Pub/Sub still delivers
the message (it may have been dead-lettered while the claim was held):

| the claim (`swept_standing`)                      | the live target  | the sweep                        |
|---------------------------------------------------|------------------|----------------------------------|
| recorded (an action record has its key)           | (not read)       | closes it: `recorded`            |
| held, unexpired, by anyone (it may write, record) | (not read)       | leaves it for the next sweep     |
| absent, expired, or completed with no record      | the plan's after | records it (adopt_write) and     |
|                                                   |                  |   reports `escalated`, once      |
|                                                   | changed again    | records it closed `escalated`    |
|                                                   |   after the write|   (superseded) and reports it    |
|                                                   | may have had it  | likewise, the outcome unknown    |
|                                                   | the plan's before| closes it: `void`, nothing written|
|                                                   | neither / unread | reports `escalated` once, marks  |
|                                                   |                  |   it `escalated`                 |

Before recording, `owned_elsewhere` looks for another owner of the change the target shows (another
attempt's cooldown, another action record of the same change): an attempt killed after storing its
intent and before writing must not have another incident's identical change recorded as its write.
Found, the intent is escalated with that evidence instead. The sweep keeps its report in the intent,
stored by the write that closes it, until its publish succeeds (`pending_report`, `take_report`,
`report_sent`): a failed publish is retried by the next sweep, by exactly one sweep.

Exactly one of a redelivery and the sweep (or two sweeps) reports the same intent: recording
creates the action record only if there is none and closes the intent only if still open and owned
as read, in one commit (`Gate.adopt_write`, `RecordWrite.expect`), and an escalation first moves the
intent from open to `escalated` by a guarded update (`claim_escalation`). So even two judges that read
the target a moment apart and disagree (one records, the other escalates) report it once: the one
that loses answers a `skipped` duplicate, or, in the sweep, nothing. Twin plans (the same incident's
plans of the very same change on the very same state, from other messages: deliveries planned at
once, whose losers' voids did not land) are one claim, so at most one write: the escalation closes
them with it, in one guarded commit (`plans.siblings`), and they are reported once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Callable

from shared.clock import skew_safe_lease
from shared.diagnosis.facts import clock_on
from shared.errors import PermanentError, TransientError
from shared.outcomes import ActionReport, OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus, RecordWrite, StateStore
from shared.remediation import plans
from shared.remediation.actions.base import Action
from shared.remediation.guardrails import COOLDOWNS, bound_keys
from shared.remediation.refusals import Held
from shared.remediation.records import (ACTIONS, INTENTS, REPORT_PENDING, REPORT_SENT, ActionRecord, IntentRecord,
                                        IntentState, KeptReport, read_record)


# How much longer than its claim's lease an intent is left to its attempt and its redeliveries
# before the sweep judges it.
SWEEP_MARGIN = timedelta(minutes=1)
# Tries at escalating a plan with its twins (`claim_escalation`) while another of them keeps changing.
_ESCALATION_ATTEMPTS = 5
# The target's action records read to find another record of the same change (`owned_elsewhere`): more
# than the default budgets allow in the records' retention (4 a day for 30 days). A full page cannot
# rule one out, and says so.
OTHER_RECORDS_READ = 200


class Standing(str, Enum):
    """Where the earlier attempt's claim stands, before anything live is read."""

    RESOLVED = "resolved"   # recorded, or another message's attempt holds the claim: nothing to recover
    HELD = "held"           # an earlier attempt at this message holds it, unfinished: it may still run
    LAPSED = "lapsed"       # the attempt ended without recording: absent, expired, or completed unrecorded


class Match(str, Enum):
    """What the live target shows, against the intent's plan."""

    AFTER = "after"         # the planned change is in place
    BEFORE = "before"       # as it was when planned: the write did not take
    CHANGED = "changed"     # the write took, and the target was changed again since (Action.changed_since_write)
    UNCONFIRMED = "unconfirmed"   # it may have taken and been changed since: the target cannot tell (a connector,
                                  # Action.may_have_landed)
    NEITHER = "neither"     # something else changed it
    UNKNOWN = "unknown"     # the action cannot observe its target, or the read was refused


class Verdict(str, Enum):
    NONE = "none"           # handle the delivery as usual
    WAIT = "wait"           # raise InProgress: Pub/Sub delivers again, by when the attempt ended
    RECORD = "record"       # the earlier attempt's write took: record it, report it, write nothing
    SUPERSEDED = "superseded"   # it took (or may have) and was changed since: record it closed (escalated), report it
    ESCALATE = "escalate"   # a person must check the target


def message_of(owner: str) -> str:
    """The message part of an attempt's owner ("MESSAGE_ID:ATTEMPT", shared.pipeline)."""
    return owner.rpartition(":")[0]


def standing(recorded: bool, claim: ClaimRecord | None, message_id: str, now: datetime) -> Standing:
    """`recorded`: an action record has the intent's claim key. `claim`: that claim, if any."""
    if recorded:
        return Standing.RESOLVED
    if claim is None or claim.expired(now):
        return Standing.LAPSED
    if claim.status is ClaimStatus.COMPLETED:
        return Standing.LAPSED      # completed, but the action record that follows it never came
    if message_of(claim.owner) != message_id:
        return Standing.RESOLVED    # another message holds it: a duplicate, as usual
    return Standing.HELD


def match(shows_after: bool | None, shows_before: bool | None, changed_since: bool = False,
          may_have_landed: bool = False) -> Match:
    """None for either: the live state could not be read or compared. `changed_since`: the target's own
    record proves the write landed and was changed again after it (Action.changed_since_write).
    `may_have_landed`: a target with no such record shows a state the write could have led to, with
    another change after it (Action.may_have_landed). Either also holds for a target showing the state
    before again: a person's change back after the write (a rollback's service two generations past the
    plan's read; a connector patch that changed only the machine type, put back by hand or by
    Terraform) is not "the write never took", and acting as usual would write a second time over it."""
    if shows_after is None or shows_before is None:
        return Match.UNKNOWN
    if shows_before and shows_after:
        return Match.BEFORE         # a plan that changes nothing shows both: nothing to record
    if shows_after:
        return Match.AFTER
    # The state before, shown again, proves nothing by itself: a person may have put the target back
    # after the write (`gcloud run services update-traffic`, Terraform applying a connector's machine
    # type). The same proof or possibility as for a target showing neither decides it.
    if changed_since:
        return Match.CHANGED
    if may_have_landed:
        return Match.UNCONFIRMED
    return Match.BEFORE if shows_before else Match.NEITHER


def verdict(where: Standing, live: Match | None) -> Verdict:
    """`live` is None when it was not read (RESOLVED needs no read)."""
    if where is Standing.RESOLVED:
        return Verdict.NONE
    if where is Standing.HELD:
        return Verdict.WAIT         # the attempt may still run, even with its change in place
    if live is Match.AFTER:
        return Verdict.RECORD
    if live in (Match.CHANGED, Match.UNCONFIRMED):
        return Verdict.SUPERSEDED
    if live is Match.BEFORE:
        return Verdict.NONE
    return Verdict.ESCALATE


def swept_standing(recorded: bool, claim: ClaimRecord | None, now: datetime) -> Standing:
    """`standing` for the sweep, which handles no message: a claim held unexpired by anyone is
    HELD (its holder may still write or record: an attempt at this message, a later message that
    took it over, or a redelivery adopting it now), never RESOLVED until an action record exists."""
    if recorded:
        return Standing.RESOLVED
    if claim is None or claim.expired(now) or claim.status is ClaimStatus.COMPLETED:
        return Standing.LAPSED
    return Standing.HELD


def cutoff(now: datetime, lease: timedelta) -> datetime:
    """The sweep judges the open intents stored before this: older than their claim's `lease` (the
    TTL with the skew allowance) plus SWEEP_MARGIN, so that the attempt that stored one has ended (a
    function runs at most its timeout, shorter than the lease) and its claim lapsed, unless taken
    over since (then `swept_standing` waits for it)."""
    return now - lease - SWEEP_MARGIN


def due(intent: IntentRecord, now: datetime, lease: timedelta) -> bool:
    """Whether the sweep may judge an open intent (as its query selects them: `cutoff`)."""
    return intent.noted_at < cutoff(now, lease)


def needs_look(where: Standing) -> bool:
    """Whether the live target must be read to decide (only once the attempt has ended)."""
    return where is Standing.LAPSED


@dataclass(frozen=True)
class Found:
    """What the redelivery found: the verdict and what it rests on, for the outcome and timeline."""

    verdict: Verdict
    standing: Standing
    match: Match | None
    live: dict[str, Any] | None = None
    error: str = ""


def look(intent: IntentRecord, recorded: bool, claim: ClaimRecord | None, action: Action, adapters: Any,
         now: datetime) -> Found:
    """The verdict on an intent no action record answers, reading the live target only if that
    decides it. A transient fault of the read is raised (Pub/Sub redelivers); a refused read
    (PermanentError) leaves the match unknown, which escalates once the attempt has ended."""
    where = standing(recorded, claim, intent.message_id, now)
    if not needs_look(where):
        return Found(verdict(where, None), where, None)
    return _looked(intent, where, action, adapters)


def look_swept(intent: IntentRecord, recorded: bool, claim: ClaimRecord | None, action: Action, adapters: Any,
               now: datetime) -> Found:
    """`look` for the sweep (`swept_standing`): RESOLVED (recorded: close it) and HELD (leave it)
    read nothing live."""
    where = swept_standing(recorded, claim, now)
    if not needs_look(where):
        return Found(verdict(where, None), where, None)
    return _looked(intent, where, action, adapters)


def look_ended(intent: IntentRecord, action: Action, adapters: Any) -> Found:
    """`look` for an attempt known to have ended without recording: an operator's command, whose
    own claim this delivery now holds (taken over, or given back) or whose answer is stored, so no
    earlier attempt at it can still be running (shared/commands/recovery.py)."""
    return _looked(intent, Standing.LAPSED, action, adapters)


def _looked(intent: IntentRecord, where: Standing, action: Action, adapters: Any) -> Found:
    if intent.state is IntentState.VOID:
        # Given back by its own attempt, which wrote nothing (a refusal, a target changed under it, a
        # fault before the write), or closed so by the sweep: nothing to recover, whatever the target
        # shows now. Judged by the target, a connector showing the state before again after a plan of
        # a machine type read as "may have been written" (Match.UNCONFIRMED), and a write the API had
        # refused was recorded and reported as one of unknown outcome.
        return Found(Verdict.NONE, where, None, None, "given back: nothing written")
    if intent.state is IntentState.RELEASED:
        # Escalated, and a person who checked the target lifted its hold (`release`, shared/commands/hold.py):
        # the incident is theirs to act on afresh, as the release said, so nothing is recovered here, as for a
        # void plan; but the record keeps that its write may have landed (never read as "nothing written").
        return Found(Verdict.NONE, where, None, None, "released by a person: theirs to judge")
    if intent.state is IntentState.ESCALATED:
        # A person was told already (by the sweep, or another delivery): whatever the target shows
        # now, it is theirs to judge. ESCALATE, unread, answers a duplicate (`claim_escalation`
        # finds it closed), never a second report, an adoption or a fresh write.
        return Found(Verdict.ESCALATE, where, None, None, "already escalated")
    params = action.params_model.model_validate(intent.params)
    try:
        live = action.observe(params, adapters)
    except PermanentError as exc:
        return Found(verdict(where, Match.UNKNOWN), where, Match.UNKNOWN, None, f"{exc} [{exc.code}]")
    if live is None:
        return Found(verdict(where, Match.UNKNOWN), where, Match.UNKNOWN)
    seen = match(action.shows(intent.after, live), action.shows(intent.before, live),
                 action.changed_since_write(intent.before, live), action.may_have_landed(intent.after, live))
    return Found(verdict(where, seen), where, seen, live)


@dataclass(frozen=True)
class Answer:
    """What a delivery answers for an earlier attempt's unrecorded write (RECORD or ESCALATE)."""

    status: OutcomeStatus
    reason: str
    action: ActionReport
    notes: list[str]
    # What held this delivery's write back (refusals.Held): `claim_held` for the duplicate of a plan another judge
    # escalated or closed, as every other duplicate of the incident names it (guardrails.duplicate_result).
    held: Held | None = None


# Given the reason, the action's report and its notes of an answer about to be stored, the fields that
# keep its outcome pending in the intent (`pending_report`), written in the same guarded write.
Pending = Callable[[str, ActionReport, list[str]], dict[str, Any]]


def answer(found: Found, intent: IntentRecord, action: Action, gate: Any, planned: str, earlier: str,
           failed: str, pending: Pending | None = None) -> Answer:
    """The answer for a RECORD or ESCALATE verdict, the same for an alert's redelivery
    (shared/pipeline.py) and an operator's resend (shared/commands/recovery.py). RECORD records the
    write through `gate.adopt_write`, writing nothing to the target; ESCALATE acts on nothing.
    `planned` says what was planned and by whom; `earlier` names the earlier attempt ("that earlier
    attempt at this message"); `failed` says what it could not do. `pending` (the sweep): the answer's
    outcome is stored in the intent by the very write that closes it, so that its publish can be retried."""
    report = ActionReport(name=action.name, params=intent.params, reversible=action.reversible,
                          before=intent.before, after=found.live, action_id=intent.claim_key)
    owner = owned_elsewhere(gate.state, intent, action, gate.config.guardrails.claim_ttl_seconds) \
        if found.verdict in (Verdict.RECORD, Verdict.SUPERSEDED) else ""
    if owner:
        return _escalated(gate, intent, planned, report, (
            f"{planned}: {intent.target} shows the planned change, but it is not known to be this plan's write: "
            f"{owner}. Not recorded as this plan's write (its attempt may have ended before writing, and the change "
            "be another's); a person should check the target"), pending)
    if found.verdict is Verdict.RECORD:
        reason = (f"{planned} was applied by {earlier}, which {failed}: {intent.target} now shows the planned change. "
                  "Recorded now for the verification sweep, not written again; a person should check the target")
        notes = action.notes(action.params_model.model_validate(intent.params))
        result = gate.adopt_write(intent, action, found.live or {}, reason,
                                  report=pending(reason, report, notes) if pending is not None else None)
        return Answer(result.status, result.reason, report, result.notes, result.held)
    if found.verdict is Verdict.SUPERSEDED:
        return _superseded(found, intent, action, gate, planned, earlier, failed, report, pending)
    seen = f"now {found.live}" if found.live is not None else f"its state could not be read ({found.error or 'no read'})"
    reason = (f"{planned} may have been written by {earlier}, which ended without recording it: {intent.target} shows "
              f"neither the state before ({intent.before}) nor the planned change ({intent.after}): {seen}. "
              "Not acting; a person must check the target")
    return _escalated(gate, intent, planned, report, reason, pending)


def _superseded(found: Found, intent: IntentRecord, action: Action, gate: Any, planned: str, earlier: str, failed: str,
                report: ActionReport, pending: Pending | None) -> Answer:
    """SUPERSEDED: the earlier attempt's write took, and someone changed the target again since. Runwarden's
    write happened, so it is recorded (the timeline, a later alert's duplicate check and the incident's
    history need it), closed `escalated` at once: the sweep never verifies or undoes it, since the later
    change (a person's, a deploy's) wins; and a person is told that the target was taken over."""
    if found.match is Match.UNCONFIRMED:
        return _unconfirmed(found, intent, action, gate, planned, earlier, failed, report, pending)
    before, live = intent.before.get("generation"), (found.live or {}).get("generation")
    reason = (f"{planned} was applied by {earlier}, which {failed}, and {intent.target} was changed again since "
              f"by someone else (a person, a deploy): generation {before} when planned, {live} now (the write, sent on "
              f"generation {before}, can only have been the first of those changes); it {_shown(found, intent, action)}: "
              f"now {found.live}. Recorded as this "
              "incident's action and closed as escalated: the verification sweep will not verify or undo it (the "
              "later change wins), and nothing is written. A person has taken the target over and must check it")
    note = (f"superseded: {intent.target} was changed again after this write (generation {before} when planned, "
            f"{live} when found); never verified or undone")
    result = gate.adopt_write(intent, action, intent.after, reason,
                              report=pending(reason, report, []) if pending is not None else None, superseded=note)
    return Answer(result.status, result.reason, report, result.notes, result.held)


def _unconfirmed(found: Found, intent: IntentRecord, action: Action, gate: Any, planned: str, earlier: str,
                 failed: str, report: ActionReport, pending: Pending | None) -> Answer:
    """UNCONFIRMED: the target (a connector) shows neither the state before nor the plan, but a state the
    write could have led to, with another change after it (or the state before again, when the write
    changed only what a person can set back, the machine type); it keeps no record to tell that from another
    hand's change alone. Recorded as SUPERSEDED is, closed `escalated` at once: Runwarden's write may
    have happened, so a later alert of the incident must find it acted on (a duplicate), not act again
    on top of the person's change; and the person is told the outcome is unknown. The same decision as
    the gate's when the read-back after an error-free operation does not show its write
    (shared/errors.NotShownAfterWriteError)."""
    reason = (f"{planned} may have been written by {earlier}, which {failed}: {intent.target} "
              f"{_shown(found, intent, action, 'but a state that write could have led to, changed again since')} "
              f"(a person, Terraform): now {found.live}. The connector keeps no record "
              "that tells whether the write took before that change. Recorded as this incident's action and closed as "
              "escalated: the verification sweep will not verify it, and nothing is written. A person must check the "
              "target: what it shows now may be a person's change")
    back = found.live is not None and action.shows(intent.before, found.live)
    note = (f"outcome unknown: {intent.target} showed {'the state before again' if back else 'neither the state before nor the plan'} "
            f"when found ({found.live}); never verified or undone")
    # No `after`: what the write left is not known (as the gate records a write whose completion is unknown).
    result = gate.adopt_write(intent, action, {}, reason,
                              report=pending(reason, report, []) if pending is not None else None, superseded=note)
    return Answer(result.status, result.reason, report, result.notes, result.held)


def _shown(found: Found, intent: IntentRecord, action: Action, otherwise: str = "") -> str:
    """What the target shows against the plan, for a write recorded as changed since (SUPERSEDED)."""
    if found.live is not None and action.shows(intent.before, found.live):
        return (f"shows the state before again ({intent.before}), not the planned change ({intent.after}): "
                "put back since")
    return (f"shows neither the state before ({intent.before}) nor the planned change ({intent.after})"
            + (f", {otherwise}" if otherwise else ""))


def _escalated(gate: Any, intent: IntentRecord, planned: str, report: ActionReport, reason: str,
               pending: Pending | None = None) -> Answer:
    """ESCALATED for the one judge that moves the intent to `escalated`; a `skipped` duplicate for the rest.
    An alert's plan escalated holds its incident's automatic writes until it expires (Gate.hold_escalated):
    the answer says until when, and the command that releases it (`plans.release_hint`)."""
    if not intent.command_id:
        reason = f"{reason}. {plans.release_hint(intent)}"
    extra = pending(reason, report, []) if pending is not None else None
    if not claim_escalation(gate.state, intent, gate.owner, gate.clock.now(), reason, extra,
                            lease=skew_safe_lease(gate.config.guardrails.claim_ttl_seconds)):
        return Answer(OutcomeStatus.SKIPPED, (
            f"duplicate: {planned}, which its attempt ended without recording, was already escalated or closed "
            "(by another delivery or the sweep); not acting"), report, [], Held.CLAIM_HELD)
    # The write may have been made: no later notification of the incident writes on top of it
    # (Gate.hold_escalated; the gate's takeover reads the plan too, Gate._unjudged_plan).
    hold = getattr(gate, "hold_escalated", None)
    if callable(hold):
        hold(intent, reason)
    return Answer(OutcomeStatus.ESCALATED, reason, report, [])


def owned_elsewhere(state: StateStore, intent: IntentRecord, action: Action, claim_ttl_seconds: int) -> str:
    """Evidence that the planned change the target shows is another's, not this plan's write ("" if none
    is found). An attempt killed after storing its intent and before writing leaves an intent open
    that nothing voids; if another incident's attempt (or a person's command) then makes the very same
    change, the target shows the plan, and adopting it would record a write that never was: a second
    action record of one change, a pin taken from its owner, a report blaming the wrong attempt.
    Read only when about to record (rare), from Runwarden's own state:
    - the target's cooldown (one read): every non-corrective write takes it first, in the commit that
      takes its claim (or right after it), owned by the attempt (`Gate._take_all`, `_cooldown`), and
      holds it for longer than any attempt or sweep waits (its lease, 35 minutes by default). Taken by
      another owner since a lease before this plan (the other may have taken it while this attempt
      was still diagnosing), this plan's attempt never held it, so never wrote (an operator's
      override may write without it: then a person is asked, which precision prefers);
    - the target's action records (one query, `target ==`, a single-field index): another record of
      the same action with the same change (its `after` shows the plan's, or, with no `after`, the
      same parameters), applied since a lease before this plan (its write may have landed while this
      attempt was still diagnosing), owns the change and is verified under its own key.
    No upper bound on "since", on purpose: both findings only escalate (the safe side), and a later
    owner of the same change is itself evidence that this plan never wrote (Runwarden plans a change
    only while the target does not show it); docs/behaviour.md, "A change another record owns".
    A judgement of Runwarden's records, not of the target: no Google API is read. Cloud Run's Service
    has `update_time` and `last_modifier` (google-cloud-run `run_v2.types.Service` docstring: "The last-modified
    time", "Email address of the last authenticated modifier"), but both instances of Runwarden write
    as the same principal, and a VPC Access connector has no update time at all (shared/remediation/
    own_changes.py), so neither could tell two of Runwarden's attempts apart."""
    found = []
    recent = intent.noted_at - skew_safe_lease(claim_ttl_seconds)
    # The cooldown as the gate keeps it (guardrails.bound_keys: a connector's under the key both its names share,
    # and one stored under its exact name before), in one read; the newest taken.
    reads = [(COOLDOWNS, name) for name in bound_keys(intent.target)]
    held = [read_record(ClaimRecord, data, *read) for read, data in zip(reads, state.get_many(reads))
            if data is not None]
    cooldown = max(held, key=lambda c: c.claimed_at, default=None)
    # An earlier attempt at the same message or command (it took the cooldown and died before writing;
    # this plan's attempt, an operator's override, wrote without it) is not another owner: the change
    # is that message's or command's either way.
    if cooldown is not None and not _same_sender(cooldown.owner, intent.owner) and cooldown.claimed_at >= recent:
        found.append(f"the target's cooldown was taken by {cooldown.owner} at "
                     f"{clock_on(cooldown.claimed_at, intent.noted_at)} (this "
                     f"plan was stored at {intent.noted_at:%H:%M:%S}), not by the attempt that planned it")
    records = state.find_records(ACTIONS, "target", intent.target, OTHER_RECORDS_READ)
    for record in (read_record(ActionRecord, r, ACTIONS) for r in records):   # a damaged one may be the same change
        if record.key != intent.claim_key and _same_change(record, intent, action) and record.applied_at >= recent:
            found.append(f"action record {record.key} (incident {record.incident_id}, applied "
                         f"{clock_on(record.applied_at, intent.noted_at)}, {record.state.value}) made the same change")
    if len(records) >= OTHER_RECORDS_READ:
        found.append(f"the target has more action records than the {OTHER_RECORDS_READ} read, so another record of "
                     "the same change cannot be ruled out")
    return "; ".join(found)


def _same_sender(owner: str, other: str) -> bool:
    """The same attempt, or two attempts at the same message or command ("MESSAGE_ID:ATTEMPT")."""
    return owner == other or bool(message_of(owner)) and message_of(owner) == message_of(other)


def _same_change(record: ActionRecord, intent: IntentRecord, action: Action) -> bool:
    if record.action != intent.action:
        return False
    if record.after:
        return action.shows(intent.after, record.after)
    # Its completion was unknown: no `after` to compare; its params read as this version reads them.
    return plans.same_params(record.action, record.params, intent.params)


def claim_escalation(state: StateStore, intent: IntentRecord, by: str, now: datetime, reason: str,
                     extra: dict[str, Any] | None = None, lease: timedelta | None = None) -> bool:
    """Moves the intent, still open as read, to `escalated` (a guarded update): True for the one
    caller that may report it, False if another already did (or closed it, or a later attempt at
    the same message stored a plan of its own). The caller has just read it: it outlives any
    redelivery (records.INTENT_RETENTION). `extra`: more fields in the same update (a pending report).

    With `lease` (the claim's), its twins (`plans.siblings`: the same incident's other plans of the very same
    change on the very same state, from other messages, whose attempts have ended) are closed
    `escalated` in the same commit, each guarded on being open as read: one claim, so at most one of
    them can have written, and any judge of a twin reads the same target and decides the same. Each
    one left open (a lost race whose void did not land) was otherwise escalated on its own: one
    possible write, a report per plan. A twin closed or judged between the read and the commit fails
    the commit, and the plans are read again."""
    if intent.state not in (IntentState.OPEN, None):
        return False
    for _ in range(_ESCALATION_ATTEMPTS):
        near = plans.siblings(state, intent, cutoff(now, lease)) if lease is not None else plans.Siblings()
        if near.settled_by is not None:
            # The claim is reported already: recorded under another plan (its action record exists), or
            # escalated with a twin of the same change. Closed with it, reported once.
            _close_with(state, intent, near, by, now)
            return False
        if not near.twins and not near.watched:
            return close(state, intent, IntentState.ESCALATED, by, now, reason, extra)
        note = f"escalated with {intent.key}, the same plan ({intent.owner}), reported once: {reason}"
        writes = [RecordWrite(INTENTS, intent.key, closing(IntentState.ESCALATED, by, now, reason) | (extra or {}),
                              merge=True, expect=intent.unchanged())]
        writes += [RecordWrite(INTENTS, twin.key, closing(IntentState.ESCALATED, by, now, note), merge=True,
                               expect=twin.unchanged()) for twin in near.twins]
        # Every other open plan of the claim, left open, must still be open as read: one recorded meanwhile
        # (an adopter reading the target a moment apart) fails this commit, and the plans are read again.
        writes += [plans.guard(plan) for plan in near.watched]
        if state.record_all(writes):
            return True
        now_stored = state.get_record(INTENTS, intent.key)
        if now_stored is None or {k: now_stored.get(k) for k in intent.unchanged()} != intent.unchanged():
            return False    # this very plan was judged or closed meanwhile
    raise TransientError(f"{intent.key}: the plans of {intent.claim_key} kept changing under "
                         f"{_ESCALATION_ATTEMPTS} attempts at escalating them")


def _close_with(state: StateStore, intent: IntentRecord, near: plans.Siblings, by: str, now: datetime) -> None:
    """`intent` closed with the plan that reported its claim (`near.settled_by`), saying nothing more:
    `recorded` under another plan's record, or `escalated` with a twin (guarded: a plan judged
    meanwhile is left as it is)."""
    if near.recorded is not None:
        close(state, intent, IntentState.RECORDED, by, now,
              f"its claim's write is recorded under {near.recorded.key} ({near.recorded.owner})")
    else:
        close(state, intent, IntentState.ESCALATED, by, now,
              f"escalated with {near.reported.key}, the same plan ({near.reported.owner}), reported once")


def close(state: StateStore, intent: IntentRecord, to: IntentState, by: str, now: datetime, note: str = "",
          extra: dict[str, Any] | None = None) -> bool:
    """The intent, still open as read (`IntentRecord.unchanged`), moved to `to`: False if it was not
    (read closed already, or changed since). One stored before intents had a state counts as open."""
    if intent.state not in (IntentState.OPEN, None):
        return False
    return state.update_record(INTENTS, intent.key, closing(to, by, now, note) | (extra or {}),
                               expect=intent.unchanged())


def closing(to: IntentState, by: str, now: datetime, note: str = "") -> dict[str, Any]:
    """The fields that close an intent: its new state, when and by whom, and a note (bounded: a
    Firestore index entry holds at most 1,500 bytes of a string)."""
    return {"state": to.value, "closed_at": now, "closed_by": by, "note": note[:1500]}


# --- the sweep's reports: kept in the intent until published ---------------------------------------------

def pending_report(outcome_json: str, by: str, now: datetime, lease: timedelta) -> dict[str, Any]:
    """The fields that keep a report in its intent until its publish succeeds: stored by the write that
    closes the intent (so a report is never lost between the two), held by `by` (the sweep that
    made it, about to publish it) for `lease`, past which another sweep may publish it."""
    return {"report": outcome_json, "report_state": REPORT_PENDING, "report_by": by, "report_until": now + lease,
            "reported_at": None}


def take_report(state: StateStore, intent: KeptReport, by: str, now: datetime, lease: timedelta,
                collection: str = INTENTS, key: str | None = None) -> bool:
    """The publish of a pending report no sweep holds (its holder's lease lapsed, or it gave it back),
    taken by `by`: an update guarded on the holder as read, so of two sweeps exactly one takes it. In
    an intent, or in any other record the sweep keeps its outcomes in (`collection`: kept_reports.KEPT_IN).
    `key`: the record's, when `intent` is only its report's fields (the rest of it unreadable)."""
    if intent.report_state != REPORT_PENDING or not intent.report:
        return False
    if intent.report_by and intent.report_until is not None and intent.report_until > now:
        return False
    return state.update_record(collection, key or getattr(intent, "key"), {"report_by": by, "report_until": now + lease},
                               expect={"report_state": REPORT_PENDING, "report_by": intent.report_by})


def report_sent(state: StateStore, key: str, by: str, now: datetime, collection: str = INTENTS) -> bool:
    """The report `by` holds is published: never published again."""
    return state.update_record(collection, key, {"report_state": REPORT_SENT, "reported_at": now},
                               expect={"report_state": REPORT_PENDING, "report_by": by})


def report_unsent(state: StateStore, key: str, by: str, collection: str = INTENTS) -> bool:
    """The publish failed: given back at once, so that the next sweep (or the retried one) publishes it."""
    return state.update_record(collection, key, {"report_by": "", "report_until": None},
                               expect={"report_state": REPORT_PENDING, "report_by": by})
