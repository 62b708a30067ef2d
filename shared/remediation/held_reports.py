"""A delivery's own report about an unrecorded write, kept in the intent until its publish succeeds.

An alert's redelivery (shared/pipeline.py) or an operator's resend (shared/commands/recovery.py)
that records or escalates an earlier attempt's unrecorded write answers `escalated` (intents.answer).
That answer is stored in the intent (`intents.pending_report`) by the very guarded write that closes
it, held by the delivery for a lease, exactly as the sweep stores its own. Then:

- the publish succeeds: the report is marked `sent` (`intents.report_sent`), never published again;
- the publish fails: the report is given back at once (`intents.report_unsent`) and the handler
  raises, so Pub/Sub delivers the message again. That later delivery finds the intent closed with a
  report no one holds, takes it (`intents.take_report`, a guarded update) and publishes the stored
  outcome itself, the same outcome_id, rather than answering a `skipped` duplicate (`retake`);
- the delivery fails after storing it and before publishing (an approve's resend that cannot end
  its proposal, or the storing commit landed and its answer was lost: a transient fault, raised): the
  report is given back at once all the same (`give_back`);
- the message is never delivered again (dead-lettered), or the delivery dies before publishing: the
  sweep's pending pass (verification.Sweep._unsent_reports) takes it once no one holds it;
- the publish succeeds and marking it sent fails: once the hold lapses, one sweep (or a later
  delivery) publishes it again, with the same outcome_id, so a reader can drop the repeat.

Of a later delivery and a sweep reading it at once, exactly one takes it (the update is guarded on
the holder as read), so exactly one report reaches a person.

An operator command's own answer is kept and held the same way, in its CommandAnswer record (the
`answers` collection) instead of an intent (shared/commands/answers.py): `hold` and `retake` name
the collection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from pydantic import ValidationError

from shared.errors import PermanentError, TransientError
from shared.outcomes import ActionReport, Outcome
from shared.remediation import intents
from shared.remediation.records import ANSWERS, INTENTS, REPORT_PENDING, CommandAnswer, IntentRecord, KeptReport
from shared.timeline.writer import Timeline


# The records a delivery keeps its report in, by collection: an intent (a report about an earlier
# attempt's unrecorded write), or a command's answer.
_KEPT_IN: dict[str, type[KeptReport]] = {INTENTS: IntentRecord, ANSWERS: CommandAnswer}


@dataclass(frozen=True)
class HeldReport:
    """The publish of a report kept in the record `key` of `collection` (an intent, or a command's
    answer), held by `by` (the delivery's owner)."""

    key: str
    by: str
    outcome_id: str
    collection: str = INTENTS


class Holder:
    """One delivery's hold on at most one report: `pending` to store it (intents.answer's `pending=`),
    `retake` to take over one left unsent, `publish` to publish the delivery's outcome and mark it."""

    def __init__(self, state: Any, by: str, now: datetime, lease: timedelta) -> None:
        self.state, self.by, self.now, self.lease = state, by, now, lease
        self.built: list[Outcome] = []
        self.held: HeldReport | None = None
        # The records (collection, key) in which a write this delivery made may have left a report held
        # by it (`give_back`).
        self.maybe: list[tuple[str, str]] = []

    def pending(self, intent: IntentRecord, build: Callable[[str, ActionReport, list[str]], Outcome]) -> intents.Pending:
        """`intents.Pending`: `build` makes the outcome the delivery will publish (given the answer's
        reason, action report and notes); it is kept in `built` and stored in the intent."""
        def fields(reason: str, report: ActionReport, notes: list[str]) -> dict[str, Any]:
            outcome = build(reason, report, notes)
            self.built.append(outcome)
            self.may_hold(INTENTS, intent.key)
            return intents.pending_report(outcome.to_json().decode(), self.by, self.now, self.lease)
        return fields

    def stored(self, intent: IntentRecord) -> Outcome:
        """The outcome stored by the answer that closed `intent` (call only when it answered `escalated`:
        its write succeeded), now held by this delivery."""
        outcome = self.built[-1]
        self.held = HeldReport(intent.key, self.by, outcome.outcome_id)
        return outcome

    def may_hold(self, collection: str, key: str) -> None:
        """A write this delivery is about to make may leave it holding a report kept in `key`."""
        if (collection, key) not in self.maybe:
            self.maybe.append((collection, key))

    def hold(self, collection: str, key: str, outcome: Outcome) -> None:
        """`outcome`, kept pending in the record `key` of `collection` by a write of this delivery, is its
        to publish (`publish` marks it sent, or gives it back)."""
        self.held = HeldReport(key, self.by, outcome.outcome_id, collection)

    def holds(self, outcome: Outcome) -> bool:
        """Whether `outcome` is the report this delivery holds, already kept in a record."""
        return self.held is not None and self.held.outcome_id == outcome.outcome_id

    def retake(self, data: Any, timeline: Timeline, collection: str = INTENTS) -> Outcome | None:
        """The stored outcome of a record (an intent closed with a report, or a command's answer) whose
        report is pending and held by no one (its delivery's publish failed and gave it back, or its
        holder's lease lapsed), taken by this delivery to publish; None otherwise (no report, sent, held,
        or taken first by another)."""
        if not data or data.get("report_state") != REPORT_PENDING:
            return None
        named = data.get("claim_key") or data.get("command_id")
        try:
            record = _KEPT_IN[collection].model_validate(data)
            # Read before it is taken: one this version cannot read is left to the sweep, which
            # replaces it with an escalation it can publish (kept_reports.KeptReports._unreadable_report).
            outcome = Outcome.model_validate_json(record.report)
            key = getattr(record, "key")
            self.may_hold(collection, key)
            if not intents.take_report(self.state, record, self.by, self.now, self.lease, collection):
                return None
        except ValidationError as exc:    # not a report this version reads: the sweep's pass says so too
            timeline.step("report_unreadable", f"{named}: a pending report cannot be read "
                          f"({exc.error_count()} invalid field(s)); answered as usual", severity="ERROR")
            return None
        self.hold(collection, key, outcome)
        timeline.step("report_retried", f"{named}: the report {outcome.outcome_id} was not published "
                      f"by {record.report_by or 'the delivery that made it'}; published now", key=named,
                      severity="WARNING")
        return outcome

    def publish(self, outcome: Outcome, publish: Callable[[Outcome], Outcome], timeline: Timeline) -> Outcome:
        """`publish(outcome)`, then the held report (if `outcome` is it) marked sent; a failed publish
        gives it back at once, and is raised (Pub/Sub delivers the message again)."""
        held = self.held if self.holds(outcome) else None
        try:
            published = publish(outcome)
        except Exception:
            if held is not None:
                self._mark(held, timeline, sent=False)
            raise
        if held is not None:
            self._mark(held, timeline, sent=True)
        return published

    def give_back(self, timeline: Timeline) -> None:
        """The report this delivery holds, given back unpublished: the delivery failed before its
        publish (it raises, so Pub/Sub delivers it again), and the report must not wait out its hold
        meanwhile. Also when the write that stores (or takes) it raised: a commit can land and its
        answer be lost (DEADLINE_EXCEEDED after the write took), so this delivery may hold a report it
        does not know of. The give-back is guarded on this delivery as holder: nothing if it holds none."""
        if self.held is not None:
            self._mark(self.held, timeline, sent=False)
        for collection, key in self.maybe:
            if self.held is None or (self.held.collection, self.held.key) != (collection, key):
                self._mark(HeldReport(key, self.by, f"kept in {collection}", collection), timeline, sent=False)

    def _mark(self, held: HeldReport, timeline: Timeline, sent: bool) -> None:
        try:
            if sent:
                intents.report_sent(self.state, held.key, held.by, self.now, held.collection)
            else:
                intents.report_unsent(self.state, held.key, held.by, held.collection)
        except (TransientError, PermanentError) as exc:
            timeline.step("report_unmarked", f"{held.key}: the report {held.outcome_id} could not be marked "
                          f"{'sent' if sent else 'unsent'} ({exc}); " + (
                              "once this delivery's hold lapses it is published again, with the same outcome_id"
                              if sent else "it is published once this delivery's hold lapses"), severity="WARNING")
