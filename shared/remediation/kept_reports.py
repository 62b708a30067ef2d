"""The sweep's outcomes, kept in their records until published.

Every outcome the verification sweep makes is stored in the record whose guarded write made it true
(records.KeptReport): an action record's verified, undone or escalated; a log-based incident's
resolved; a pin's reminder; an intent's recorded or escalated. It is kept `pending`, held by the
sweep that made it for its claim's lease, until its publish succeeds (`KeptReports.publish`). So a
failed publish, or a sweep that dies before publishing, is published by a later sweep, once (taken by
an update guarded on its holder, `intents.take_report`), as the same outcome (the same outcome_id).

A record judged again while its report is still unpublished (an action escalated as unreadable, or
its undo as unfinished, and then judged) keeps the new report behind the earlier one, never over it
(`carried`): the earlier one moves to `earlier_reports`, by the very update that stores the new one,
guarded on this sweep holding it. Both are then published in the order made, each marked once
published; a failed publish gives them all back, unpublished ones kept in order, for the next sweep. A
record whose unpublished report another sweep holds is not judged until it is published.

A kept report this version cannot read (stored by another version) is replaced by an `escalated`
naming its record, so it reaches a person once and never holds a place in the query's page; a kept
reminder whose pin was released since it was made is dropped, as no longer true (a reminder kept by the update
that released the pin tells of the release, is named on it, and is published: `_released_since`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from pydantic import ValidationError

from shared.errors import DamagedRecord, PermanentError, TransientError
from shared.outcomes import ActionReport, Outcome, OutcomeStatus, Timestamps
from shared.remediation import intents, switch_since
from shared.remediation.records import (ACTIONS, ANSWERS, INCIDENTS, INTENTS, PINS, REPORT_DROPPED, REPORT_PENDING,
                                        REPORT_SENT, ActionRecord, CommandAnswer, IncidentRecord, IntentRecord,
                                        KeptReport, PinRecord, read_record, stored_key, text_field)
from shared.timeline.writer import Timeline

# The records the sweep keeps its outcomes in, by collection; and an operator command's answer, which
# its delivery keeps (shared/commands/answers.py) and the sweep publishes if that delivery could not.
KEPT_IN: dict[str, type[KeptReport]] = {INTENTS: IntentRecord, ACTIONS: ActionRecord, INCIDENTS: IncidentRecord,
                                        PINS: PinRecord, ANSWERS: CommandAnswer}


# The sweep's telling, once, of a record it cannot read (verification.Sweep._damaged_action): the record as stored,
# why it cannot be read, the collection to mark it in, and what the sweep cannot do for it; the outcome it keeps in
# that record and publishes, or None once told (or if it cannot be marked now).
Tell = Callable[[dict[str, Any], DamagedRecord, str, str], "Outcome | None"]


@dataclass(frozen=True)
class Carried:
    """What a new report about a record keeps before it: the record's reports still unpublished (JSON,
    oldest first), and the guard that they are still this sweep's as read (nothing to guard when none)."""

    reports: list[str] = field(default_factory=list)
    expect: dict[str, Any] = field(default_factory=dict)


class KeptReports:
    """The reports one sweep (`owner`) holds: stored with the writes that make them true (`keep`,
    `hold`), taken again from earlier sweeps (`unsent`), and marked once published (`publish`)."""

    def __init__(self, state: Any, owner: str, now: datetime, lease: timedelta) -> None:
        self.state, self.owner, self.now, self.lease = state, owner, now, lease
        # The outcomes this sweep holds the publish of: by outcome_id, the collection and key of the
        # record keeping it.
        self.held: dict[str, tuple[str, str]] = {}
        # By record (collection, key): the outcomes it keeps for this sweep to publish, in the order
        # made (its earlier_reports, then its report), each by outcome_id with its JSON as stored.
        self.queues: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._stored: dict[str, str] = {}   # outcome_id -> the JSON `fields` stored it as

    # --- storing -------------------------------------------------------------------------------------

    def fields(self, outcome: Outcome, earlier: Carried | None = None) -> dict[str, Any]:
        """The fields that keep `outcome` pending in its record, held by this sweep, behind the reports
        `earlier` carries: written by the very guarded write that makes it true (so a report is never
        lost between the two)."""
        stored = self._stored.setdefault(outcome.outcome_id, outcome.to_json().decode())
        return intents.pending_report(stored, self.owner, self.now, self.lease) | {
            "earlier_reports": list(earlier.reports) if earlier is not None else []}

    def carried(self, record: KeptReport) -> Carried | None:
        """What a new report about `record` (as read) must keep before it: nothing if it keeps no
        unpublished report; its unpublished reports if this sweep holds them (it took them to publish,
        `unsent`), guarded on that; None if another sweep holds them, or none took them yet: the record
        is not judged now, so that its next report is never stored over one not yet published."""
        if record.report_state != REPORT_PENDING or not record.report:
            return Carried()
        if record.report_by != self.owner:
            return None
        return Carried([*record.earlier_reports, record.report],
                       {"report_state": REPORT_PENDING, "report_by": self.owner, "report": record.report})

    def carried_as_stored(self, data: dict[str, Any]) -> Carried | None:
        """`carried` for a record this version cannot read as a whole, from its own report fields (KeptReport),
        read whatever the rest holds (as `_unsent_report` reads them). When those fields cannot be read either,
        nothing is carried: no sweep can publish what they hold (`unsent` says so at ERROR each sweep), and the
        new report, stored over them, names the record as unreadable."""
        try:
            return self.carried(KeptReport.model_validate(data))
        except ValidationError:
            return Carried()

    def keep(self, outcome: Outcome, collection: str, key: str, write: Callable[[dict[str, Any]], bool],
             earlier: Carried | None = None) -> bool:
        """`write` (a guarded update of the record `key` in `collection`, given the fields to add) made
        with `outcome` kept pending in it, behind the reports `earlier` carries (the write guards on
        `earlier.expect`): True if it was written, and the outcome is then this sweep's to publish. A
        transient fault may have landed with its answer lost: the report this sweep may hold is given
        back before raising."""
        try:
            written = write(self.fields(outcome, earlier))
        except TransientError:
            self.give_back(key, collection)
            raise
        if written:
            self.hold(outcome, collection, key)
        return written

    def hold(self, outcome: Outcome, collection: str, key: str, stored: str | None = None) -> None:
        """`outcome`, stored pending in the record `key` (as `stored`, its JSON) by a write of this sweep,
        is its to publish, after any other report of that record it holds."""
        stored = stored or self._stored.get(outcome.outcome_id) or outcome.to_json().decode()
        self.held[outcome.outcome_id] = (collection, key)
        self.queues.setdefault((collection, key), []).append((outcome.outcome_id, stored))

    def give_back(self, key: str, collection: str = INTENTS) -> None:
        """A write that stores (or takes) a report raised: its commit may have landed and its answer been
        lost (DEADLINE_EXCEEDED after the write took), so this sweep may hold a report it does not know of.
        Given back, guarded on this sweep as holder (nothing if it holds none), so that the next sweep
        publishes it rather than one a whole hold later; if that fails too, the hold lapses as before."""
        try:
            intents.report_unsent(self.state, key, self.owner, collection=collection)
        except (TransientError, PermanentError):
            pass

    # --- publishing ----------------------------------------------------------------------------------

    def publish(self, outcomes: list[Outcome], publish: Callable[[Outcome], Outcome]) -> list[Outcome]:
        """Publishes every outcome (`publish`: the handler's publish_outcome), even after one failed, and
        then raises the first failure, so that Pub/Sub delivers the sweep again. A kept report is marked
        sent once its publish succeeded, or given back at once if it failed, for the retried (or next)
        sweep to publish; a report whose publish succeeded but could not be marked is published again
        once this sweep's hold lapses, with the same outcome_id. The reports of one record go in the order
        made: once one fails, its record's later ones are not published by this sweep (given back with it)."""
        published: list[Outcome] = []
        failure: BaseException | None = None
        given_back: set[tuple[str, str]] = set()
        for outcome in outcomes:
            kept = self.held.get(outcome.outcome_id)
            if kept in given_back:
                continue    # an earlier report of its record failed: kept behind it, in order, for the next sweep
            try:
                published.append(publish(outcome))
            except Exception as exc:   # Pub/Sub unavailable, or anything else: the rest are still published
                failure = failure or exc
                if kept is not None:
                    given_back.add(kept)
                    self._mark(outcome, kept, sent=False)
                continue
            if kept is not None:
                self._mark(outcome, kept, sent=True)
        if failure is not None:
            raise failure
        return published

    def _mark(self, outcome: Outcome, kept: tuple[str, str], sent: bool) -> None:
        collection, key = kept
        try:
            if sent:
                self._published(outcome, kept)
            else:
                intents.report_unsent(self.state, key, self.owner, collection=collection)
        except (TransientError, PermanentError) as exc:
            Timeline(outcome.incident_id, "command").step(
                "report_unmarked", f"{key}: the report {outcome.outcome_id} could not be marked "
                f"{'sent' if sent else 'unsent'} ({exc}); " + ("a later sweep publishes it again, with the same "
                "outcome_id" if sent else "a later sweep publishes it once this sweep's hold lapses"),
                severity="WARNING")

    def _published(self, outcome: Outcome, kept: tuple[str, str]) -> None:
        """`outcome` is published: taken off its record's reports, guarded on this sweep holding them and
        on the record's last report as this sweep knows it; marked sent once none is left."""
        collection, key = kept
        queue = self.queues.get(kept, [])
        at = next((i for i, (outcome_id, _) in enumerate(queue) if outcome_id == outcome.outcome_id), None)
        if at is None:      # not known as held (never so): nothing of the record's is marked
            return
        rest = queue[at + 1:]
        last = (rest or queue)[-1][1]
        self.queues[kept] = rest
        expect = {"report_state": REPORT_PENDING, "report_by": self.owner, "report": last}
        if rest:
            self.state.update_record(collection, key, {"earlier_reports": [stored for _, stored in rest[:-1]]},
                                     expect=expect)
        else:
            self.state.update_record(collection, key, {"report_state": REPORT_SENT, "reported_at": self.now,
                                                       "earlier_reports": []}, expect=expect)

    # --- earlier sweeps' reports ----------------------------------------------------------------------

    def unsent(self, collection: str, find: Callable[[], list[dict[str, Any]]], tell: Tell) -> list[Outcome]:
        """Every report `find` reads pending in `collection` (one of KEPT_IN, or proposals) that no sweep holds,
        taken and published again as stored. A record whose report fields themselves cannot be read (DamagedRecord:
        no sweep could take, publish or mark it) is told by `tell` (the sweep's Sweep._damaged_action), once, its
        escalation kept in their place; before, it was said at ERROR in the log every sweep, and never reached a
        person."""
        try:
            found = find()
        except (TransientError, PermanentError) as exc:
            Timeline(None, "command").step("reports_deferred", f"unsent reports in {collection} not read: {exc}",
                                           severity="WARNING")
            return []
        outcomes = []
        for data in found:
            # One report that cannot be taken or read (a fault, or stored by a version whose outcome
            # this one cannot read) never keeps the others in the page from being published.
            try:
                outcomes += self._unsent_report(collection, data)
            except (TransientError, PermanentError) as exc:
                Timeline(None, "command").step("report_deferred", f"an unsent report not published: {exc}",
                                               severity="WARNING")
            except DamagedRecord as exc:
                told = tell(data, exc, collection, "publish the report kept in it nor tell what it said (this "
                                                   "escalation is kept in its place)")
                outcomes += [told] if told is not None else []
        return outcomes

    def _unsent_report(self, collection: str, data: dict[str, Any]) -> list[Outcome]:
        """One record's pending reports (its earlier_reports, then its report), taken and published again
        as stored, in that order. Its own fields (KeptReport) and its record's key are read whatever the
        rest of the record holds: a report kept in a record this version cannot read (an intent escalated
        as unreadable, Sweep._unreadable_intent) is still published."""
        key = stored_key(collection, data)
        if key is None:
            raise PermanentError(f"a {collection} record with a pending report names no key ({sorted(data)})")
        kept = read_record(KeptReport, data, collection, key)
        try:
            taken = intents.take_report(self.state, kept, self.owner, self.now, self.lease, collection, key)
        except TransientError:
            self.give_back(key, collection)
            raise
        if not taken:
            return []   # another sweep holds it, or took it first
        try:   # a collection whose records are no KeptReport (a proposal's escalation, _damaged_action) reads as None
            record: KeptReport | None = KEPT_IN[collection].model_validate(data) if collection in KEPT_IN else None
        except ValidationError:
            record = None
        stored = [*kept.earlier_reports, kept.report]
        try:
            outcomes = [Outcome.model_validate_json(report) for report in stored]
        except ValidationError as exc:
            replaced = self._unreadable_report(collection, key, record, data, exc)
            return [replaced] if replaced is not None else []
        if isinstance(record, PinRecord) and _released_since(record, outcomes[-1]):
            return self._drop(collection, key, f"{record.service}: a reminder of its pin to {record.revision} was "
                              f"not published, and the pin was released since (by {record.released_by or 'a person'})"
                              "; dropped, as no longer true")
        if isinstance(record, CommandAnswer):
            # A pause's or a resume's answer published late: said if its flag was turned the other way since.
            outcomes = [switch_since.with_news(self.state, record.command, record.command_id, o) for o in outcomes]
        named = _named(record) if record is not None else key
        for outcome, report in zip(outcomes, stored):
            self.hold(outcome, collection, key, report)
            Timeline(outcome.incident_id, "command").step(
                "report_retried", f"{named}: the report {outcome.outcome_id} was not published "
                f"by {kept.report_by or 'the sweep that made it'}; published now", key=named)
        return outcomes

    def _drop(self, collection: str, key: str, why: str) -> list[Outcome]:
        """A kept report no longer true, taken by this sweep: never published (guarded on this sweep's hold)."""
        if self.state.update_record(collection, key, {"report_state": REPORT_DROPPED, "reported_at": self.now},
                                    expect={"report_state": REPORT_PENDING, "report_by": self.owner}):
            Timeline(None, "command").step("report_dropped", why, key=key)
        return []

    def _unreadable_report(self, collection: str, key: str, record: KeptReport | None, data: dict[str, Any],
                           exc: ValidationError) -> Outcome | None:
        """A pending report this version cannot read (stored by another version: its outcome does not fit
        this one's model), taken by this sweep: replaced in its record by an `escalated` this version can
        publish, naming the record (in place of every report the record kept, when one of them is unreadable), kept pending and held by this sweep as any report. Left as it was, it
        would be taken again every hold and never published, and a page of them would keep every later
        report from the query's page."""
        unreadable = f"was kept unpublished and this version cannot read it ({exc.error_count()} invalid field(s))"
        outcome = replacement(record, unreadable, self.now) if record is not None else escalation_from(
            data, self.now, f"a report kept in the {collection} record {key} {unreadable}, nor the record itself: "
                            "a person must check the record and its target")
        if not self.state.update_record(collection, key, self.fields(outcome),
                                        expect={"report_state": REPORT_PENDING, "report_by": self.owner}):
            return None     # no longer this sweep's to publish (its hold was taken over)
        self.hold(outcome, collection, key)
        Timeline(outcome.incident_id, "command").step("report_replaced", outcome.reason, key=key, severity="ERROR")
        return outcome


def escalated(record: IntentRecord | ActionRecord, reason: str, report: ActionReport, notes: list[str],
              now: datetime) -> Outcome:
    """The sweep's `escalated` about an intent or an action record."""
    return Outcome(incident_id=record.incident_id, trigger="command", target=record.target, action=report,
                   status=OutcomeStatus.ESCALATED, reason=reason, notes=notes,
                   command_id=record.command_id or None, requested_by=record.requested_by or None,
                   timestamps=Timestamps(received_at=now, decided_at=now, completed_at=now))


def replacement(record: KeptReport, unreadable: str, now: datetime) -> Outcome:
    """The `escalated` that stands for an unreadable kept report: what it was about, and where it is."""
    stamps = Timestamps(received_at=now, decided_at=now, completed_at=now)
    if isinstance(record, PinRecord):
        return Outcome(trigger="command", target=record.service, status=OutcomeStatus.ESCALATED, timestamps=stamps,
                       action=ActionReport(name="rollback_traffic", action_id=record.action_id),
                       reason=f"a reminder about the pin of {record.service} to {record.revision} (pins record "
                              f"{record.key}, by {record.action_id}) {unreadable}: a person must check the pin")
    if isinstance(record, IncidentRecord):
        return Outcome(incident_id=record.incident_id, trigger="command", target=record.target,
                       status=OutcomeStatus.ESCALATED, timestamps=stamps,
                       reason=f"a report about the log-based incident {record.incident_id} (incidents record, "
                              f"now {record.state}) {unreadable}: a person must check the incident")
    if isinstance(record, CommandAnswer):
        return Outcome(incident_id=record.incident_id, trigger="command", target=record.target,
                       status=OutcomeStatus.ESCALATED, timestamps=stamps, command_id=record.command_id,
                       requested_by=record.requested_by or None,
                       reason=f"the answer to command {record.command_id} ({record.command} by {record.requested_by}, "
                              f"answered {record.status} at {record.answered_at:%Y-%m-%d %H:%M:%S}; answers record "
                              f"{record.key}) {unreadable}: a person must check what the command did")
    assert isinstance(record, (IntentRecord, ActionRecord))
    if isinstance(record, IntentRecord):
        where = (f"intent {record.key}, planned by {record.owner} at {record.noted_at:%Y-%m-%d %H:%M:%S}; "
                 f"now {record.state.value if record.state else 'without a state'}")
    else:
        where = f"action record {record.key}, now {record.state.value}"
    return escalated(record, f"a report about {record.action} on {record.target} ({where}) {unreadable}: a person "
                             "must check the target and the record's note",
                     ActionReport(name=record.action, params=record.params, before=record.before,
                                  action_id=_named(record)), [], now)


def escalation_from(data: dict[str, Any], now: datetime, reason: str) -> Outcome:
    """An `escalated` about a record this version cannot read, from whichever of its plain fields it can."""
    def text(field: str) -> str | None:
        return text_field(data, field)

    return Outcome(incident_id=text("incident_id"), trigger="command", target=text("target") or text("service"),
                   status=OutcomeStatus.ESCALATED, reason=reason, command_id=text("command_id"),
                   requested_by=text("requested_by"),
                   action=ActionReport(name=text("action") or "unknown", action_id=text("claim_key") or text("key")),
                   timestamps=Timestamps(received_at=now, decided_at=now, completed_at=now))


def _named(record: KeptReport) -> str:
    """How timeline lines name the record a report is kept in: an intent by its claim key (the key its
    action record and claim have), any other by its own key."""
    return record.claim_key if isinstance(record, IntentRecord) else str(getattr(record, "key"))


def _released_since(pin: PinRecord, reminder: Outcome) -> bool:
    """Whether the pin was released since its kept reminder was made, so the reminder (the pin still held) is no
    longer true. A reminder kept by the very update that released the pin (it tells of the release: a revision
    deleted, a rollback released before its verdict) is named on the pin (`release_report`) and stays true: it is
    published, never dropped. Named by id, not dated: a sweep's reminder and a person's release may share a
    clock reading."""
    return not pin.pinned and pin.release_report != reminder.outcome_id
