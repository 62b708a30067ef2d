"""Operators' commands and the scheduled sweep (`runwarden.command/v1` on the commands topic).

One path for every command: parse -> claim on command_id -> a change an earlier attempt at the
command made and could not record is recorded and reported, not made again (recovery.py) -> else a
repeat publishes the first answer if it was never published (answers.py), or is `skipped`, carrying
the first result (`escalated` again if that was), and a new command is refused if it arrived after its
`expires_at`, or else goes to its handler ->
one published outcome (the sweep publishes one per verdict). The first answer completes the command's
record and is kept with it until its publish succeeds; if the command is never delivered again, the
sweep publishes it (answers.py). Each
handler is a small module in this package; every write a handler makes goes through the gate
(shared/remediation/guardrails.py), like automation's.

A command's record (its claim, completed with the first answer) is kept `records.COMMAND_RETENTION`
(30 days), far beyond the gate's claims (`claim_retention_seconds`), so that a resend of the same
command_id is a duplicate however late it comes within that. A resend that finds the record gone
(its completion failed, or it was deleted) but the command's write recorded is a duplicate of that
action record (recovery.py), never a second run. A command whose `expires_at` is further ahead than
the record is kept is rejected, and so is any command that arrives longer after its Pub/Sub publish_time
than the record is kept (a seek replaying a month-old pause); one without `expires_at`, sent again by a
person after its record and intent are gone, is handled as a new command (docs/behaviour.md, "Each command").

Malformed or out-of-bounds input is answered `rejected` naming the field, never raised, so that
Pub/Sub does not redeliver it; transient faults are raised (after the command's claim is given
back), so the platform redelivers.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from shared.alerts.commands import (AnyCommand, CommandError, MisroutedAlert, SentIds, Sweep, command_digest,
                                    duplicate_reason, parse_command_published, published_body, sent_ids,
                                    sent_or_attribute_ids, sent_target)
from shared.commands import answers, approval, connector, diagnose, hold, pause, recovery, status, sweep, traffic
from shared.commands.context import CommandRun, CommandTimeline, Refused, command_owner
from shared.commands.inventory import full_names_meant, missing_target
from shared.clock import CLOCK_SKEW_ALLOWANCE, ahead_of_server, skew_safe_lease
from shared.config import Config
from shared.errors import AttemptInProgress, DamagedRecord, PermanentError, TransientError
from shared.outcomes import Outcome, OutcomeStatus, Timestamps, message_outcome_id
from shared.alerts.delivery import DeliveryCounter, message_key
from shared.alerts.received import cut_words, received
from shared.pipeline import (Adapters, PageInProgress, also_answered, deliver_bounded, message_id_of,
                             page_still_held, publish_once, publish_outcome, retry_or_give_up)
from shared.ports import ClaimRecord
from shared.remediation import switch_since
from shared.remediation.records import COMMAND_RETENTION, COMMANDS

Handler = Callable[[CommandRun], Outcome]
HANDLERS: dict[str, Handler] = {
    "diagnose": diagnose.handle,
    "rollback_traffic": traffic.rollback,
    "restore_traffic": traffic.restore,
    "scale_connector": connector.handle,
    "approve": approval.approve,
    "reject": approval.reject,
    "release": hold.release,
    "pause": pause.pause,
    "resume": pause.resume,
    "status": status.handle,
}


DELIVERIES = DeliveryCounter()


def handle_command_delivery(event_data: Any, config: Config, adapters: Adapters, *,
                            delivery_attempt: int | None = None,
                            counter: DeliveryCounter | None = None) -> list[Outcome]:
    """`handle_command` for one Pub/Sub delivery, with redelivery bounded as for alerts
    (shared.pipeline.handle_delivery): each retried attempt writes one `deferred` or `error` step;
    the last (`delivery.max_attempts`) publishes one `failed` outcome carrying the command_id, so
    the operator waiting on it hears why. A command still being handled by an earlier delivery is
    waited out (`CommandInProgress`), never given up on. So is a page claim another delivery of the message holds
    (PageInProgress: a notification sent to the commands topic, whose rejection pages), as an alert's is: the
    message's next delivery here reads that claim alone (one read, shared.pipeline `page_still_held`) before it
    parses or logs anything again, for as long as the claim is held."""
    counter = counter if counter is not None else DELIVERIES

    def failed(exc: Exception, message_id: str | None, attempt: int) -> list[Outcome]:
        if isinstance(exc, PageInProgress):
            counter.wait_on_page(message_id, exc.claim_key, exc.holder)
        command_id = _command_id_of(event_data)
        return [retry_or_give_up(exc, message_id, attempt, config, adapters, CommandTimeline(None, command_id),
                                 trigger="command", command_id=command_id, event_data=event_data)]

    return deliver_bounded(handle_command, event_data, config, adapters, counter, delivery_attempt, failed,
                           ahead=lambda message_id, _attempt, guarded: page_still_held(counter, message_id, guarded))


def handle_command(event_data: Any, config: Config, adapters: Adapters) -> list[Outcome]:
    """Handle one command message; returns the outcomes it published."""
    received_at = adapters.clock.now()
    try:
        message, command = parse_command_published(event_data)
    except CommandError as exc:
        return _reject_malformed(exc, event_data, config, adapters, received_at)
    timeline = CommandTimeline(None, command.command_id)
    timeline.step("received", f"command {command.command} from {command.requested_by}", message_id=message.message_id,
                  command=command.command, requested_by=command.requested_by, target=command.target,
                  dry_run=command.dry_run)
    if isinstance(command, Sweep) and not command.expired(received_at):
        outcomes, left = sweep.handle_and_publish(
            config, adapters, lambda o: publish_outcome(o, config, adapters, CommandTimeline(o.incident_id,
                                                                                             command.command_id)),
            lambda outcomes, left: timeline.step("swept", f"sweep done: {len(outcomes)} outcome(s)"
                                                 f"{sweep.left_said(left)}",
                                                 statuses=[o.status.value for o in outcomes], left=left),
            clock_ahead=ahead_of_server(received_at, _aware(message.publish_time)))
        if command.command_id is None:   # Cloud Scheduler's: the `swept` step is its heartbeat
            return outcomes
        return [*outcomes, _sweep_answer(command, outcomes, left, message.message_id, received_at, config,
                                         adapters, timeline)]
    run = CommandRun(command, config, adapters, timeline, received_at, message.message_id,
                     owner=command_owner(command.command_id, message.message_id),
                     published_at=_aware(message.publish_time))
    try:
        outcome = _run(run)
    except Exception:
        if run.held is not None:
            # A report this delivery stored and holds, never published: given back at once, as a failed
            # publish gives it back, so that the redelivery (or the next sweep) publishes it.
            run.held.give_back(run.timeline)
        raise
    publish = lambda o: publish_outcome(o, config, adapters, run.timeline)  # noqa: E731
    if run.held is None:
        return [publish(outcome)]
    # A report about an unrecorded write, kept in its intent: marked sent once published, or given back.
    return [run.held.publish(outcome, publish, run.timeline)]


def _run(run: CommandRun) -> Outcome:
    command = run.command
    if command.command_id is None and command.expired(run.received_at):
        return _expired(run)     # a scheduler's sweep: no id, so no earlier answer to find
    too_late = _beyond_record(run)
    if too_late is not None:
        return too_late
    try:
        duplicate = _claim(run)
    except DamagedRecord as exc:
        # The command's own record (its COMMANDS claim, holding the first answer) cannot be read: whether an
        # earlier delivery ran it, and what it answered, is not known. Answered naming it, nothing run; raised,
        # every retry read it again and the command ended `failed` after them, the record unnamed.
        return recovery.unreadable(run, DamagedRecord(COMMANDS, repr(run.command.command_id), exc.why))
    if duplicate is not None:
        return duplicate
    try:
        outcome = _first(run)
    except TransientError:
        run.adapters.state.release(COMMANDS, command.command_id, run.owner)  # the redelivery must be free to run
        raise
    if run.reused_id:
        # Answered for this message only: recording it would stand for the id's own command, whose
        # resend must still find its earlier write (recovery.earlier), not this rejection.
        run.adapters.state.release(COMMANDS, command.command_id, run.owner)
        return outcome
    retain = max(timedelta(seconds=run.config.guardrails.claim_retention_seconds), COMMAND_RETENTION)
    try:
        # The first answer completes the command's record and is kept with it until published (answers.py).
        outcome = answers.complete(run, outcome, retain)
    except TransientError as exc:
        if run.undecided is not None:
            # An answer that is true only with its decision (a reject's "closed"), whose commit may not
            # have landed: raised, not published. The redelivery publishes the answer kept, if the commit
            # landed, or else decides again once this claim lapses (answers.py).
            run.timeline.step("unrecorded", f"command {command.command_id}: its decision and answer could not be "
                              f"recorded ({exc}); not answered, so that it is sent again", severity="WARNING")
            raise
        # The command is done (it may have written): raising now would lose its answer, and a
        # redelivery would only wait on this claim, still held, until it expires. So the answer is
        # published, saying its record is missing; the claim still holds resends off until then.
        run.timeline.step("unrecorded", f"command {command.command_id} answered, but its record could not be "
                          f"completed: {exc}", severity="WARNING")
        outcome.notes = [*outcome.notes, f"this command's record could not be completed ({exc}): a resend of "
                         f"command {command.command_id} is answered only once its claim expires",
                         *(f"{d.key} may still be as it was: this command's decision on it ({d.data.get('state')}) "
                           "is written with that record, or not at all" for d in run.decisions)]
    return outcome


def _first(run: CommandRun) -> Outcome:
    """The answer of the delivery that holds the command's claim: a change an earlier attempt made
    and could not record is recorded and reported, not made again; a write an earlier attempt
    recorded (the command's own record lost) is a duplicate of it; a restore an earlier attempt may
    have written (its gate claim left unfinished or completed) is never written again; else the
    handler runs."""
    found = recovery.earlier(run)
    if found.answer is not None:
        return found.answer
    if found.recorded is not None:
        return recovery.recorded_duplicate(run, found.recorded)
    # A restore keeps no intent: its gate claim alone says whether an earlier attempt wrote (or may have).
    unfinished = recovery.unfinished_write(run)
    if unfinished is not None:
        return unfinished
    if run.command.expired(run.received_at):
        # Checked only now, with the command's claim held and no earlier attempt's write found:
        # expires_at holds back a command that arrives late, never the answer to one that ran. A
        # resend or a redelivery after the expiry of a command already handled is its duplicate
        # (or, its answer lost, that answer itself), not "expired ... nothing done" beside its write.
        return _expired(run)
    too_old = _too_old(run)
    if too_old is not None:
        return too_old
    return _dispatch(run)


def _aware(when: datetime | None) -> datetime | None:
    """A publish time without a zone read as UTC, as Pub/Sub's RFC 3339 times are (shared.alerts.incidents
    check_not_ahead reads them so): compared with a zoned time, a naive one would raise."""
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


def _expired(run: CommandRun) -> Outcome:
    command = run.command
    # Told in UTC beside the arrival (UTC too): a local time as sent ("12:10+01:00") read beside "12:02+00:00"
    # looks unexpired. The time as sent follows, so that the sender finds what they wrote.
    expired = command.expires_at.astimezone(timezone.utc)
    sent = "" if command.expires_at.utcoffset() == timedelta(0) else f" ({command.expires_at.isoformat()} as sent)"
    return run.outcome(OutcomeStatus.REJECTED, f"expires_at: the command expired at "
                       f"{expired.isoformat()}{sent} and arrived at "
                       f"{run.received_at.astimezone(timezone.utc).isoformat()}; nothing done", target=command.target)


# The commands that write to Google Cloud, or let writes happen again: run late, each acts on a world its
# sender no longer sees. A pause and a reject only hold back, and are taken however late they come.
_AGE_BOUND = frozenset({"rollback_traffic", "restore_traffic", "scale_connector", "approve", "release", "resume"})


def _too_old(run: CommandRun) -> Outcome | None:
    """`rejected` for a command of _AGE_BOUND without an expires_at that arrives longer than
    `guardrails.command_max_age_seconds` after it was sent: by its Pub/Sub publish_time ("The time at which
    the message was published, populated by the server when it receives the Publish call", PubsubMessage,
    google/pubsub/v1/pubsub.proto), which every redelivery keeps. Such a command comes from a backlog (an
    endpoint failing for hours, a subscription replayed by seek past unacknowledged messages): a rollback
    sent during the morning's incident would pin the service over the fix deployed since. Checked, like
    expires_at, only for a command not handled before: a late resend of one that ran is its duplicate.

    The age is this instance's clock less Pub/Sub's, two clocks: an instance whose clock runs ahead (by up
    to CLOCK_SKEW_ALLOWANCE, the skew every lease already allows for, shared/clock.py) would read a
    command sent a moment ago as that much older, and with a short bound (300 s at least) reject every
    write sent to it, each resend too, in the middle of an incident. So a command is rejected only when
    it is older than the bound by any clock within that allowance: its age as read here is past the bound
    by more than the allowance. A command is never rejected while it is within the bound; one accepted
    is at most the bound and twice the allowance old, and is still judged on live state by the gate
    like any other (the bound holds back a backlog of hours, not a minute's doubt)."""
    command = run.command
    beyond = _beyond_its_record(run)
    if beyond is not None:
        return beyond
    if command.command not in _AGE_BOUND or command.expires_at is not None or run.published_at is None:
        return None
    bound = timedelta(seconds=run.config.guardrails.command_max_age_seconds)
    age = run.received_at - run.published_at
    if age <= bound + CLOCK_SKEW_ALLOWANCE:
        return None
    return run.outcome(OutcomeStatus.REJECTED, (
        f"publish_time: the command was sent at {run.published_at.isoformat()} and arrived at "
        f"{run.received_at.isoformat()}, {_span(age)} later: a {command.command} that arrives more than "
        f"{_span(bound)} after it was sent (guardrails.command_max_age_seconds; {_span(CLOCK_SKEW_ALLOWANCE)} more "
        "allowed for clock skew) is not run, since the world it was "
        "sent for may have changed; nothing done. Send it again if it is still wanted (a new command_id), or "
        "give it an expires_at of its own"), target=command.target)


def _beyond_its_record(run: CommandRun) -> Outcome | None:
    """`rejected` for any command that arrives longer after it was sent than its record is kept
    (COMMAND_RETENTION, 30 days, less the clock-skew allowance): its first delivery's record may have
    lapsed, so whether it already ran cannot be told, and taken as new (as an expired idempotency record
    is) it would act twice. A subscription keeps an unacked message, and a seek replays one, for up to
    31 days ("Cannot be more than 31 days", Subscription.message_retention_duration and
    Topic.message_retention_duration, google/pubsub/v1/pubsub.proto), longer than the record: a pause
    replayed so engaged the kill switch again a month on, long after its resume, stopping every write.
    Checked only once no earlier answer or recorded write of it was found (a late resend of one that
    ran is its duplicate); the age bound above covers writes within the month."""
    if run.published_at is None:
        return None
    age = run.received_at - run.published_at
    kept = max(timedelta(seconds=run.config.guardrails.claim_retention_seconds), COMMAND_RETENTION)
    if age <= kept - CLOCK_SKEW_ALLOWANCE:
        return None
    return run.outcome(OutcomeStatus.REJECTED, (
        f"publish_time: the command was sent at {run.published_at.isoformat()} and arrived at "
        f"{run.received_at.isoformat()}, {age.days} days later: longer than a command's record is kept "
        f"({kept.days} days), so whether it already ran cannot be told; it was not run, nothing done (a "
        "subscription replayed by seek, or a backlog kept past that). Send it again with a new command_id if "
        "it is still wanted"), target=run.command.target)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds // 60} min"


def _beyond_record(run: CommandRun) -> Outcome | None:
    """`rejected` for a command whose expires_at lies further ahead than its record is kept: a
    resend after the record is gone would otherwise be a new command, still unexpired."""
    command = run.command
    horizon = run.received_at + COMMAND_RETENTION
    if command.expires_at is None or command.expires_at <= horizon:
        return None
    return run.outcome(OutcomeStatus.REJECTED, f"expires_at: {command.expires_at.isoformat()} is more than "
                       f"{COMMAND_RETENTION.days} days after the command arrived ({run.received_at.isoformat()}); a "
                       "command's record is kept that long, so it may not stay valid longer; nothing done",
                       target=command.target)


def _dispatch(run: CommandRun) -> Outcome:
    try:
        return HANDLERS[run.command.command](run)
    except Refused as exc:
        return run.outcome(exc.status, exc.reason, target=run.command.target)
    except PermanentError as exc:  # e.g. the target does not exist, or Runwarden may not read it
        missing = missing_target(run, exc)
        if missing is not None:
            return run.outcome(missing.status, missing.reason, target=run.command.target)
        return run.outcome(OutcomeStatus.FAILED, f"{run.command.command} failed: {exc}"
                           + (f" [{exc.code}]" if exc.code else ""), target=run.command.target)


def _claim(run: CommandRun) -> Outcome | None:
    """None when this delivery owns the command; otherwise the `skipped` duplicate answer."""
    command: AnyCommand = run.command
    ttl = skew_safe_lease(run.config.guardrails.claim_ttl_seconds)   # holds across skewed clocks (shared/clock.py)
    claim = run.adapters.state.claim(COMMANDS, command.command_id, run.owner, ttl, run.now)
    if claim.acquired:
        run.claimed = claim.record
        return None
    first = claim.record.result
    if not first:
        # Another delivery is still at work on it (Pub/Sub redelivers a push not acked within the
        # ack deadline). Answering now would publish a second, uninformative outcome; raising makes
        # Pub/Sub redeliver, and by then the first result is known (or its claim has expired and
        # this delivery takes over).
        run.timeline.step("in_progress", f"command {command.command_id} is being handled by another delivery "
                          f"since {claim.record.claimed_at:%H:%M:%S}; retry later", severity="NOTICE")
        raise CommandInProgress(f"command {command.command_id} is being handled by another delivery")
    if not _same_command(run, first):
        # Another command under the id: told so before anything the first one's attempts left is read. Its
        # open intent, its action record and its kept answer are the first command's, to be reported to its
        # own resend or by the sweep, never answered (or recorded) as this one's (_duplicate says why).
        return _duplicate(run, claim.record)
    found = recovery.earlier(run, with_answer=True)
    if found.answer is not None:
        return found.answer
    if found.recorded is not None:
        recovery.end_recorded_approval(run, found.recorded)
    # The first answer, kept and never published (its publish failed): published now as it was, rather
    # than a duplicate quoting it, so that one answer reaches a person, once (answers.py).
    kept = answers.retake(run, found.kept, found.kept_read)
    if kept is not None:
        return run.stepped(kept)
    return _duplicate(run, claim.record)


def _same_command(run: CommandRun, first: dict[str, Any]) -> bool:
    """Whether this delivery is the command that gave `first` (the same digest), not another command
    sent under its id. Records written before the digest was kept carry none: taken as the same."""
    return first.get("digest") in (None, command_digest(run.command))


def _duplicate(run: CommandRun, claim: ClaimRecord) -> Outcome:
    """The answer to a resend of a command already answered: `skipped`, quoting the first answer;
    but `escalated` again when the first answer was (a person had to act on it, and the resend may
    come because that answer never arrived: a lost escalation must not turn into a quiet skip)."""
    command, first = run.command, claim.result
    reason = duplicate_reason(command.command_id, claim.claimed_at, first.get("status"), first.get("reason"))
    # The first answer's notes (what to do next: a superseded proposal's way on, a proposal's approve
    # command), which a person who never got that answer needs as much as its reason. Records
    # written before they were kept carry none.
    notes = [note for note in first.get("notes") or [] if isinstance(note, str)]
    status = OutcomeStatus.ESCALATED if first.get("status") == OutcomeStatus.ESCALATED.value else OutcomeStatus.SKIPPED
    if first.get("status") in (OutcomeStatus.SKIPPED.value, OutcomeStatus.REJECTED.value):
        # Held back or refused the first time (the kill switch since released, a typo fixed): the
        # same id only ever repeats that answer, so say how to run it now.
        reason += "; nothing done now: to run it again, send it with a new command_id"
    if not _same_command(run, first):
        # The id reused for another command (other params, target, command or requester): quoting the first
        # answer alone ("applied") would read as this command's. (Records written before the digest
        # was kept carry none: answered as a resend.)
        reason = (f"command_id: {command.command_id} was already used at {claim.claimed_at:%Y-%m-%d %H:%M:%S} for a "
                  f"different command; this {command.command} was not run, nothing written: send it with a new "
                  f"command_id (the first was answered {first.get('status')}: {first.get('reason')})")
        status = OutcomeStatus.ESCALATED if status is OutcomeStatus.ESCALATED else OutcomeStatus.REJECTED
        notes = []   # the first command's, not this one's
    if first.get("status") == OutcomeStatus.APPLIED.value and _same_command(run, first):
        # A resend of a pause or a resume quotes "paused"/"writes allowed again": said if another command
        # has turned its flag the other way since (switch_since.py).
        since = switch_since.news(run.adapters.state, command.command, command.command_id, command.target)
        notes = [*notes, since] if since else notes
    return run.outcome(status, reason, target=command.target,
                       notes=[*notes, f"first outcome: {first.get('outcome_id')}"],
                       first_status=_status_of(first) if _same_command(run, first) else None)


def _status_of(first: dict[str, Any]) -> OutcomeStatus | None:
    """The first answer's status as its record keeps it, or None when it is none this version knows."""
    try:
        return OutcomeStatus(first.get("status"))
    except ValueError:
        return None


def _sweep_answer(command: Sweep, outcomes: list[Outcome], left: dict[str, int], message_id: str | None,
                  received_at: Any, config: Config, adapters: Adapters, timeline: CommandTimeline) -> Outcome:
    """A sweep a person sent, with a command_id to wait on, is answered: its verdicts are outcomes of
    their own (carrying no command_id), and with nothing to verify it publishes none, so the sender
    would otherwise wait and time out."""
    statuses = ", ".join(f"{o.status.value} {o.target or ''}".strip() for o in outcomes) or \
        ("none" if left else "nothing to verify")
    outcome = Outcome(trigger="command", status=OutcomeStatus.REPORTED,
                      reason=f"sweep done: {len(outcomes)} outcome(s) published: {statuses}{sweep.left_said(left)}",
                      message_id=message_id, command_id=command.command_id, requested_by=command.requested_by,
                      timestamps=Timestamps(received_at=received_at, completed_at=adapters.clock.now()))
    return publish_outcome(outcome, config, adapters, timeline)


class CommandInProgress(AttemptInProgress):
    """A redelivery of a command another delivery is handling: Pub/Sub retries it later."""


def _reject_malformed(error: CommandError, event_data: Any, config: Config, adapters: Adapters,
                      received_at: Any) -> list[Outcome]:
    # The sender may not be waiting (gcloud, a script) or may not be named (no readable command_id):
    # the message travels with its rejection, as a rejected alert's does (shared/alerts/received.py).
    content = received(event_data)
    if isinstance(error, MisroutedAlert):
        return [_reject_misrouted(error, event_data, config, adapters, received_at, content)]
    ids = sent_or_attribute_ids(_sent_ids(event_data), event_data)
    meant = _target_meant(error, event_data, config)
    # Answered once under each id it gives (a body giving two different ids: its sender may wait on either),
    # or under none when it gives none a command may carry; each answer names the others (also_answered).
    answered = ids.answerable or (None,)
    return [_reject_as(command_id, f"{error}{meant}{ids.said()}", error.field, event_data, config, adapters,
                       received_at, content, also_answered(command_id, answered,
                                                           lambda other: _rejection_id(event_data, other)))
            for command_id in answered]


def _rejection_id(event_data: Any, command_id: str | None) -> str:
    """A malformed command's rejection's outcome_id: the message alone decides the answer, so each delivery of
    it publishes the answer under one id (message_outcome_id), per id it is answered under."""
    return message_outcome_id(message_key(event_data), "command-rejected", command_id)


def _reject_as(command_id: str | None, problem: str, field: str, event_data: Any, config: Config, adapters: Adapters,
               received_at: Any, content: Any, notes: list[str]) -> Outcome:
    # Labelled with the command_id when it can be read, as the outcome is: the CLI tells a sender with no
    # answer to read the command's steps by `jsonPayload.runwarden.command_id`, which found none.
    timeline = CommandTimeline(None, command_id)
    timeline.step("rejected", f"malformed command rejected: {problem}", severity="ERROR", field=field,
                  message_id=content.message_id, received=content.excerpt())
    # A message kept cut says so in the reason, as a rejected alert's does: nobody reads `received` as the whole.
    outcome = Outcome(trigger="command", status=OutcomeStatus.REJECTED,
                      reason=f"malformed command: {problem}{cut_words(content)}",
                      outcome_id=_rejection_id(event_data, command_id), notes=notes,
                      message_id=message_id_of(event_data), command_id=command_id, received=content,
                      timestamps=Timestamps(received_at=received_at, completed_at=adapters.clock.now()))
    return publish_outcome(outcome, config, adapters, timeline)


def _reject_misrouted(error: MisroutedAlert, event_data: Any, config: Config, adapters: Adapters, received_at: Any,
                      content: Any) -> Outcome:
    """An alert on the commands topic: rejected as an alert is (its trigger `alert`, its incident named),
    so its `notify` line pages; a rejected command's would not, and the alert would be lost unheard."""
    from shared.timeline.writer import Timeline

    timeline = Timeline(error.incident_id)
    timeline.step("rejected", f"misrouted alert rejected: {error}", severity="ERROR", field=error.field,
                  message_id=content.message_id, received=content.excerpt())
    outcome = Outcome(trigger="alert", status=OutcomeStatus.REJECTED, incident_id=error.incident_id,
                      outcome_id=message_outcome_id(message_key(event_data), "misrouted-alert"),
                      reason=f"misrouted alert: {error.reason}{cut_words(content)}",
                      message_id=message_id_of(event_data),
                      received=content,
                      timestamps=Timestamps(received_at=received_at, completed_at=adapters.clock.now()))
    return publish_once(outcome, message_key(event_data), config, adapters, timeline)   # it pages: once a message


def _target_meant(error: CommandError, event_data: Any, config: Config) -> str:
    """For a target refused as no full resource name ('backend'), the inventory's full names it may mean
    (`inventory.full_names_meant`): the parser alone cannot name them, having no config. "" otherwise."""
    body = published_body(event_data) if error.field == "command.target" else None
    return full_names_meant(config, sent_target(body)) if body is not None else ""


def _sent_ids(event_data: Any) -> SentIds:
    """The command_ids a command that failed validation gives, so that a sender waiting on its id hears
    the rejection."""
    body = published_body(event_data)
    return sent_ids(body) if body is not None else SentIds()


def _command_id_of(event_data: Any) -> str | None:
    """The one command_id a command gives that a command may carry; None when it gives none, or several."""
    answerable = _sent_ids(event_data).answerable
    return answerable[0] if len(answerable) == 1 else None


__all__ = ["handle_command", "HANDLERS"]
