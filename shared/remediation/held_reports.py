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
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from pydantic import ValidationError

from shared.errors import PermanentError, TransientError
from shared.outcomes import ActionReport, Outcome
from shared.remediation import intents
from shared.remediation.records import REPORT_PENDING, IntentRecord
from shared.timeline.writer import Timeline


@dataclass(frozen=True)
class HeldReport:
    """The publish of a report kept in intent `key`, held by `by` (the delivery's owner)."""

    key: str
    by: str
    outcome_id: str


class Holder:
    """One delivery's hold on at most one report: `pending` to store it (intents.answer's `pending=`),
    `retake` to take over one left unsent, `publish` to publish the delivery's outcome and mark it."""

    def __init__(self, state: Any, by: str, now: datetime, lease: timedelta) -> None:
        self.state, self.by, self.now, self.lease = state, by, now, lease
        self.built: list[Outcome] = []
        self.held: HeldReport | None = None
        # The intent in which a write this delivery made may have left a report held by it (`give_back`).
        self.maybe: str | None = None

    def pending(self, intent: IntentRecord, build: Callable[[str, ActionReport, list[str]], Outcome]) -> intents.Pending:
        """`intents.Pending`: `build` makes the outcome the delivery will publish (given the answer's
        reason, action report and notes); it is kept in `built` and stored in the intent."""
        def fields(reason: str, report: ActionReport, notes: list[str]) -> dict[str, Any]:
            outcome = build(reason, report, notes)
            self.built.append(outcome)
            self.maybe = intent.key
            return intents.pending_report(outcome.to_json().decode(), self.by, self.now, self.lease)
        return fields

    def stored(self, intent: IntentRecord) -> Outcome:
        """The outcome stored by the answer that closed `intent` (call only when it answered `escalated`:
        its write succeeded), now held by this delivery."""
        outcome = self.built[-1]
        self.held = HeldReport(intent.key, self.by, outcome.outcome_id)
        return outcome

    def retake(self, data: Any, timeline: Timeline) -> Outcome | None:
        """The stored outcome of an intent closed with a report pending that no one holds (its
        delivery's publish failed and gave it back, or its holder's lease lapsed), taken by this
        delivery to publish; None otherwise (no report, sent, held, or taken first by another)."""
        if not data or data.get("report_state") != REPORT_PENDING:
            return None
        try:
            intent = IntentRecord.model_validate(data)
            # Read before it is taken: one this version cannot read is left to the sweep, which
            # replaces it with an escalation it can publish (kept_reports.KeptReports._unreadable_report).
            outcome = Outcome.model_validate_json(intent.report)
            self.maybe = intent.key
            if not intents.take_report(self.state, intent, self.by, self.now, self.lease):
                return None
        except ValidationError as exc:    # not a report this version reads: the sweep's pass says so too
            timeline.step("report_unreadable", f"{data.get('claim_key')}: a pending report cannot be read "
                          f"({exc.error_count()} invalid field(s)); answered as usual", severity="ERROR")
            return None
        self.held = HeldReport(intent.key, self.by, outcome.outcome_id)
        timeline.step("report_retried", f"{intent.claim_key}: the report {outcome.outcome_id} was not published "
                      f"by {intent.report_by or 'the delivery that made it'}; published now", key=intent.claim_key,
                      severity="WARNING")
        return outcome

    def publish(self, outcome: Outcome, publish: Callable[[Outcome], Outcome], timeline: Timeline) -> Outcome:
        """`publish(outcome)`, then the held report (if `outcome` is it) marked sent; a failed publish
        gives it back at once, and is raised (Pub/Sub delivers the message again)."""
        held = self.held if self.held is not None and self.held.outcome_id == outcome.outcome_id else None
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
        elif self.maybe is not None:
            self._mark(HeldReport(self.maybe, self.by, "kept in the intent"), timeline, sent=False)

    def _mark(self, held: HeldReport, timeline: Timeline, sent: bool) -> None:
        try:
            if sent:
                intents.report_sent(self.state, held.key, held.by, self.now)
            else:
                intents.report_unsent(self.state, held.key, held.by)
        except (TransientError, PermanentError) as exc:
            timeline.step("report_unmarked", f"{held.key}: the report {held.outcome_id} could not be marked "
                          f"{'sent' if sent else 'unsent'} ({exc}); " + (
                              "once this delivery's hold lapses it is published again, with the same outcome_id"
                              if sent else "it is published once this delivery's hold lapses"), severity="WARNING")
