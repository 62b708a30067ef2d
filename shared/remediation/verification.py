"""The verification sweep: a function must not sit and wait, so actions are judged later.

For each pending action, once its settle time has passed, judged on live evidence read since then
(shared/remediation/judging.py, pure):
- the target no longer shows the action's change -> escalated, nothing written;
- healthy on live data, at the bar of the alert that led to it -> verified (a CLOSED notification
  alone is not enough; after an alert whose condition the health check does not read, it is needed
  too);
- failing by the deadline, with no recovery since the action before it, no clearly smaller share than
  just before the action, and no change of the service since the rollback (anything else is not
  verifiable) -> a traffic rollback is undone through the gate (restore_traffic puts
  back the recorded split, written on the read the undo checked: its etag sent) and escalated, by a
  sweep on time; anything else is escalated;
- not verifiable by the deadline -> escalated, nothing undone;
- its evidence unreadable (transient faults) past the deadline by more than a verification period ->
  escalated once, kept pending as it is, and judged by a later sweep that can read it; such stuck
  actions (and undos escalated as unfinished) are read past and tried after the others, a few a sweep
  in turn (`Sweep._actions`, MAX_STUCK_PER_SWEEP), so they never crowd the others out;
- an undo left unfinished (its sweep died, or a transient fault stopped it) -> retried once the lease
  of the sweep that began it lapsed; unfinished for more than a verification period, escalated once,
  kept `undoing` and still retried; one whose gate claim an earlier sweep took and never finished (the
  commit after its write failed, or it died), or whose record names an attempt sent to the gate a lease
  ago whose claim is gone (Firestore's TTL deletes a lapsed claim at no set time) -> escalated, nothing
  written again; one whose claim another sweep holds now, or that another sweep noted it sends within a
  lease -> left to that sweep, nothing written, no outcome (`_undo_call`, undo_attempt.py);
- otherwise it waits for the next sweep.
Each transition is a guarded update of the action record, so two sweeps never both act on one. An
approved proposal whose write is judged ends with that judgement (`_end_proposal`); one left `approved`
by an approve whose attempt ended (its command's record lapsed) is settled or closed `abandoned`, and
answered, by shared/remediation/approvals.py.
Log-based incidents (which never send CLOSED) are closed here, after verification or a timeout.
A service pinned by a rollback for longer than pin_reminder_seconds while a newer Ready revision
exists gets a `reminder` outcome (again every pin_reminder_seconds until the pin is released).
An intent still open once its claim's lease has surely lapsed (a write whose attempt ended without
recording it, and whose message may never come again: dead-lettered) is judged here as its
redelivery would judge it: recorded and reported, closed, or escalated, once
(shared/remediation/intents.py); intents an earlier version stored without a state are found by a
walk by `noted_at` and opened first.
Every outcome the sweep makes is kept in the record whose guarded write made it true until its
publish succeeds (shared/remediation/kept_reports.py), so a failed publish, or a sweep that dies
before publishing, is published by a later sweep, once, as the same outcome; a later judgement of
the same record is kept behind it, never over it (`KeptReports.carried`).
The sweep's time is bounded (shared/remediation/sweep_budget.py): it starts no record's judgement,
log-based incident's closing, pin reminder or intent's judgement once less than the longest single step
is left before its function's timeout. A step in progress finishes; what is left waits for the next
sweep, which judges the actions left first (ACTIONS_LEFT), and the log says how many were left and why.
A connector change's judgement, which reads every managed service behind the connector, starts no read
that could end past one step's time (sweep_budget.StepTime): the services not read leave it unclear.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from pydantic import ValidationError

from shared.remediation.actions import get_action
from shared.remediation.actions.restore_traffic import RestoreTrafficParams, cannot_serve, servable_restore
from shared.diagnosis.collection import collect, list_pages, read_listed, request_lines, users_of
from shared.diagnosis.connector_names import list_refused
from shared.clock import CLOCK_SKEW_ALLOWANCE, skew_safe_lease
from shared.config import Config
from shared.errors import DamagedRecord, IncompleteReadError, PermanentError, RunwardenError, TransientError
from shared.diagnosis.evidence import (EvidenceBundle, Revision, Service, TrafficTarget, describe_command, short_name,
                                      split_text)
from shared.diagnosis.facts import clock_on
from shared.diagnosis.scope import PEERS
from shared.diagnosis.windows import told_on
from shared.ports import ClaimRecord, ClaimStatus, require_state_store
from shared.remediation import bystanders, history, intents, judging, late_rollback, since_rollback, undo_by_hand
from shared.remediation.approvals import Approvals
from shared.remediation.guardrails import CLAIMS, SWEEP_OWNER, WRITING, Gate, bound_key
from shared.remediation.intents import Standing, Verdict
from shared.outcomes import ActionReport, Outcome, OutcomeStatus, Timestamps
from shared.remediation.actions.rollback_traffic import release_commands
from shared.remediation.undo_attempt import Attempt, UndoCall, UndoVerdict, undo_call
from shared.remediation.refusals import Held
from shared.remediation.sweep_budget import (COLLECT_SECONDS, LOOKUP_SECONDS, StepTime, SweepBudget, function_timeout,
                                             order_due)
from shared.remediation.kept_reports import KEPT_IN, Carried, KeptReports, escalated, escalation_from
from shared.remediation.settled import VERDICT_OF, write_verdict
from shared.remediation.pins import PinReading, PinState, pin_words, read_pin
from shared.remediation.records import (ACTIONS, INCIDENTS, INTENTS, JUDGED_STATES, PINS, PROPOSALS, REPORT_PENDING,
                                        SWEEP_MARKS, ActionRecord, ActionState, IncidentRecord, IntentRecord, claim_key,
                                        IntentState, PinRecord, ProposalRecord, read_record, stored_key, text_field)
from shared.timeline.writer import Timeline

RecordT = TypeVar("RecordT", IncidentRecord, PinRecord)
MAX_PER_SWEEP = 50
# Pages of MAX_PER_SWEEP actions (of one state) read per sweep past the stuck ones (`_stuck`), and the stuck
# ones tried per sweep, the least recently tried first: a few that cannot be judged neither take the
# others' places nor their time, and each is still tried every few sweeps.
MAX_PAGES = 4
MAX_STUCK_PER_SWEEP = 5
# Open intents judged per sweep, oldest first: each may cost a live read of its target. The rest wait
# for the next sweep.
MAX_INTENTS_PER_SWEEP = 20
# Intents read per sweep by the walk that gives a state to those stored without one (an earlier
# version's): one query of at most this many, whatever their state; the rest wait for the next sweep.
MAX_STATELESS_PER_SWEEP = 100
STATELESS_CURSOR = "stateless_intents"   # the SWEEP_MARKS record of how far that walk has gone
ACTIONS_LEFT = "actions_left"   # the SWEEP_MARKS record of the due actions the last cut sweep left (judged first)
_WALK_START = datetime(2000, 1, 1, tzinfo=timezone.utc)   # before any intent: the first walk reads them all
# The bound of the pending actions' query by deadline: the last second a timestamp holds ("Range is from
# 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z", google/protobuf/timestamp.proto, the type a
# Firestore timestampValue is), so no deadline is cut.
_NO_LATER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
# Why a service behind a connector change was not read (Sweep._health): its reads would not fit in one step.
_NOT_IN_TIME = "not read in this sweep's time for one judgement"
# What the sweep cannot do for a proposal record it cannot read under a judged write's claim key (`_end_proposal`).
_CANNOT_END = "end that proposal with its judgement of the write it may have applied"


@dataclass(frozen=True)
class _Listing:
    """A project's ListServices pages (Sweep._list): the services listed, and whether the API said more
    follow the last page read."""
    services: tuple[Service, ...] = ()
    more: bool = False


def step_on_record(incident_id: str, step: str, reason: str, *, action: str, key: str, left: ActionState,
                   severity: str = "INFO", held: Held | None = None) -> None:
    """The sweep's step line on an action record: `record_state` is the state the record is left in. A
    verdict leaves it verified, undone or escalated (JUDGED_STATES); an escalation that keeps it as it is
    (its evidence unreadable past the deadline, an undo unfinished: `_escalate_as_it_is`) leaves it pending
    or undoing, and the sweep still judges it later. The incident timeline tells the two apart by it: only
    a verdict ends the span in which that write is unjudged (shared/timeline/derive.py). `held`: what held the
    undo back, as the outcome names it."""
    Timeline(incident_id, "command").step(step, reason, severity=severity, action=action, key=key,
                                          record_state=left.value, **({"held": held.value} if held else {}))


class EvidenceUnread(TransientError):
    """A pending action's evidence could not be read (a transient fault of one of its reads, named in
    the message): the next sweep tries again, and past a bound it is escalated (`Sweep._unreadable`)."""


def read_whole(bundle: EvidenceBundle, service: str) -> EvidenceBundle:
    """`bundle`, when every read of it came back whole; else EvidenceUnread naming the reads answered in part
    (EvidenceBundle.incomplete_reads: a search still paging at its 30 s, a Monitoring answer with execution
    errors; shared.errors.IncompleteReadError). The sweep never judges an action on such a read: a gap there
    was judged around, and what was not read could be what holds a verdict back (a p99 read in part shows no
    minute clean, so `judging.recovered_first` could not see the recovery, and the rollback was undone into the
    revision that failed first; a bystander's request_count read in part showed it "not failing worse").
    Before (pagepartial), such a read was a transient DEADLINE_EXCEEDED here, and this restores what followed:
    the next sweep reads again, a person is told once the reads have failed for half a verification period,
    and past the deadline by one it is escalated, kept as it is (`Sweep._unread`). The alert's own diagnosis
    escalates at once instead (diagnose._held_for_incomplete): a redelivery has no later, whole read to wait for."""
    if not bundle.incomplete_reads:
        return bundle
    raise EvidenceUnread(f"{short_name(service)}: {len(bundle.incomplete_reads)} read(s) answered in part, not "
                         f"judged on: {'; '.join(bundle.incomplete_reads)}")


class UndoUnfinished(TransientError):
    """An unfinished undo (the record `undoing`) retried, and not finished by this attempt either (a
    transient fault, named in the message: its service unreadable, the write or the state store
    unavailable): the next sweep tries again, and past a bound it is escalated (`Sweep._unfinished`)."""


class Sweep:
    def __init__(self, config: Config, adapters: Any, budget: SweepBudget | None = None,
                 clock_ahead: timedelta = timedelta(0)) -> None:
        self.config = config
        self._damaged: list[Outcome] = []   # action records `_readable` passed over, told once (`_damaged_action`)
        self.adapters = adapters
        self.state = require_state_store(adapters.state)   # finders without fallbacks: every method of the port
        self.now = adapters.clock.now()
        # How far this instance's clock may be ahead of real time (clock.ahead_of_server, from the sweep's
        # message): its evidence's whole minutes end that much earlier (facts.whole_until).
        self.clock_ahead = clock_ahead
        # When to stop starting steps: the deployed function timeout less the longest step.
        self.budget = budget if budget is not None else SweepBudget(adapters.clock, function_timeout())
        self.owner = f"{SWEEP_OWNER}{uuid.uuid4().hex[:12]}"
        self.lease = skew_safe_lease(config.guardrails.claim_ttl_seconds)
        # The outcomes it makes, kept in their records until published (shared/remediation/kept_reports.py).
        self.kept = KeptReports(self.state, self.owner, self.now, self.lease)

    def run(self) -> list[Outcome]:
        try:
            outcomes: list[Outcome] = self._unsent_outcomes()
            outcomes += self._step("actions", self._verifications)
            outcomes += self._step("log-based incidents", self._close_log_incidents)
            outcomes += self._step("pins", self._pin_reminders)
            outcomes += self._unrecorded_intents()
            # After the intents: an approve's write its attempt left unrecorded is judged first, so that its
            # proposal is ended as that judgement says (applied, in doubt), never closed as unwritten.
            approvals = Approvals(self.config, self.state, self.now, self.owner, self.lease, self.kept,
                                  self._damaged_action)
            outcomes += self._step("approved proposals", approvals.run)
        finally:
            # Also when a later step raised a permanent fault: what the time cut left is said either way.
            if self.budget.summary():
                Timeline(None, "command").step("sweep_cut", self.budget.summary(), severity="WARNING",
                                               left=dict(self.budget.left))
        return outcomes

    @property
    def left(self) -> dict[str, int]:
        """The due items, by kind, this sweep's time cut left for the next one (empty if none)."""
        return dict(self.budget.left) if self.budget.left_said() else {}

    def _step(self, what: str, step: Callable[[], list[Outcome]]) -> list[Outcome]:
        """One step of the sweep whose query met a transient fault waits for the next scheduled sweep:
        raising would leave the outcomes of the steps before it held, unpublished, until their hold
        lapses. A permanent fault (access denied, an index missing) still raises, to reach a person."""
        try:
            return step()
        except TransientError as exc:
            Timeline(None, "command").step("sweep_deferred", f"{what} not read: {exc}", severity="WARNING")
            return []

    def publish(self, outcomes: list[Outcome], publish: Callable[[Outcome], Outcome]) -> list[Outcome]:
        """Publishes every outcome `run` made, each kept report marked once published (KeptReports.publish)."""
        return self.kept.publish(outcomes, publish)

    def _verifications(self) -> list[Outcome]:
        self._damaged = []
        due, left_before = self._due()
        outcomes = self._damaged     # the damaged records `_actions` passed over, each told once
        left: list[str] = []
        for record in due:
            if not self.budget.allows("action(s)"):
                if not _stuck(record):     # the stuck ones are tried in turn, never ahead of the others
                    left.append(record.key)
                continue
            try:
                record = self._tried(record)
                outcome = self._judge(record)
            except TransientError as exc:  # the next scheduled sweep tries again
                Timeline(record.incident_id, "command").step("verify_deferred", f"{record.key}: {exc}",
                                                             severity="WARNING")
                outcome = (self._unread(record, exc) if isinstance(exc, EvidenceUnread) else
                           self._unfinished(record, exc) if isinstance(exc, UndoUnfinished) else None)
            except DamagedRecord as exc:   # another record its judgement reads: this one alone waits
                outcome = self._needs_damaged(record, exc)
            if outcome is not None:
                outcomes.append(outcome)
        if left or left_before:
            self._mark_left(left)
        return outcomes

    def _tried(self, record: ActionRecord) -> ActionRecord:
        """The try recorded (`tried_at`) before a stuck action is tried again or an unfinished undo is
        retried: the stuck ones are then tried in turn (`_least_tried`), and a pause names the undo as
        possibly in flight. Guarded on the state and the escalation as read, which it leaves as they are;
        best effort (the order and the pause's naming depend on it, not the judgement): a try not
        recorded still goes on."""
        if not _stuck(record) and record.state is not ActionState.UNDOING:
            return record
        try:
            self.state.update_record(ACTIONS, record.key, {"tried_at": self.now}, expect={
                "state": record.state.value, "unread_escalated_at": record.unread_escalated_at})
        except TransientError as exc:
            Timeline(record.incident_id, "command").step("try_unrecorded", f"{record.key}: the try not recorded: "
                                                         f"{exc}", severity="WARNING")
            return record
        return record.model_copy(update={"tried_at": self.now})

    def _left_before(self) -> list[str]:
        """The keys of the due actions the last sweep cut by its budget left unjudged; [] if none or if
        the mark cannot be read now (only the order depends on it)."""
        try:
            keys = (self.state.get_record(SWEEP_MARKS, ACTIONS_LEFT) or {}).get("keys")
        except TransientError:
            return []
        return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []

    def _mark_left(self, keys: list[str]) -> None:
        """The actions this sweep left (none: the mark cleared), for the next sweep to judge first. Best
        effort: without it the next sweep still judges them, oldest deadline first."""
        try:
            self.state.put_record(SWEEP_MARKS, ACTIONS_LEFT, {"keys": keys, "by": self.owner, "at": self.now})
        except TransientError as exc:
            Timeline(None, "command").step("sweep_mark_deferred", f"the actions left not marked: {exc}",
                                           severity="WARNING")

    # --- actions ---------------------------------------------------------------------------------

    def _unread(self, record: ActionRecord, exc: TransientError) -> Outcome | None:
        """A pending action whose evidence this sweep could not read: escalated past its deadline
        (`_unreadable`), else a person told early, once, when the reads have failed in a row for long
        enough (`_not_yet_read`)."""
        return self._unreadable(record, exc) or self._not_yet_read(record, exc)

    def _not_yet_read(self, record: ActionRecord, exc: TransientError) -> Outcome | None:
        """A Monitoring outage (ListTimeSeries UNAVAILABLE or DEADLINE_EXCEEDED sweep after sweep) kept the
        action unjudged, and before, nobody heard of it until a verification period past its deadline (25
        min after the write with the defaults). The first failed read of a run is noted (`unread_since`,
        cleared by a sweep that reads it again: `_reads_again`); once the run has lasted half a
        verification period (judging.unread_notice_due), a person is told once (`unread_told_at`, guarded
        on no such notice before), the action kept `pending` as it is, nothing written: the sweep keeps
        reading, and judges it as usual once it can. Past the deadline by a verification period the
        escalation of `_unreadable` still comes; a verdict says it follows the notice (`_report`)."""
        if record.state is not ActionState.PENDING or record.unread_escalated_at is not None \
                or record.unread_told_at is not None:
            return None
        if record.unread_since is None:
            self._note_unread(record, {"unread_since": self.now}, {"unread_since": None}, "unread_since_unnoted")
            return None
        if not judging.unread_notice_due(record, self.now):
            return None
        reason = (f"{record.action} on {record.target} cannot be verified yet: every read of its evidence since "
                  f"{clock_on(record.unread_since, self.now)} failed ({_minutes(self.now - record.unread_since)}, "
                  f"half its "
                  f"verification period or more); the last one: {exc}. Nothing is written or undone meanwhile and it "
                  f"is kept as it is: the sweep keeps reading, judges it as usual once it can (its deadline is "
                  f"{clock_on(record.deadline_at, self.now)}), and says so; if it still cannot by then, it says "
                  f"that once more. "
                  f"A person may look at {record.service} and at why the read fails")
        return self._escalate_as_it_is(record, reason, "its evidence not read yet", mark="unread_told_at")

    def _reads_again(self, record: ActionRecord) -> None:
        """The run of failed reads ended (this sweep read the evidence): a later outage starts its own.
        Best effort: left, a later run is told up to half a period early."""
        self._note_unread(record, {"unread_since": None}, {"unread_since": record.unread_since}, "unread_since_kept")

    def _note_unread(self, record: ActionRecord, changes: dict[str, Any], expect: dict[str, Any], step: str) -> None:
        try:
            self.state.update_record(ACTIONS, record.key, changes, expect={"state": ActionState.PENDING.value, **expect})
        except TransientError as exc:
            Timeline(record.incident_id, "command").step(step, f"{record.key}: {exc}", severity="WARNING")

    def _unreadable(self, record: ActionRecord, exc: TransientError) -> Outcome | None:
        """A pending action whose evidence could not be read (a transient fault: `exc`, the last one) once
        its deadline has passed by more than a verification period (deadline_at - settle_at), the bar past
        which a sweep no longer undoes it (judging.next_step). Every sweep since its deadline failed to read
        it: one that read it would have judged it, since nothing waits past the deadline. Escalated once,
        kept `pending` as it is (nothing undone, nothing verified), by an update guarded on its state and on
        no such escalation before, with the report kept in it as any other; a later sweep that can read
        the evidence still judges it, and its outcome says it follows this one (`_report`). None before
        that bar, once escalated so, or if the escalation cannot be stored now (the next sweep tries)."""
        if record.state is not ActionState.PENDING or record.unread_escalated_at is not None:
            return None
        period = record.deadline_at - record.settle_at
        if self.now - record.deadline_at <= period:
            return None
        reason = (f"{record.action} on {record.target} could not be judged: no sweep since its deadline "
                  f"({clock_on(record.deadline_at, self.now)}) could read its evidence, now "
                  f"{_minutes(self.now - record.deadline_at)} "
                  f"past it (more than the verification period of {_minutes(period)}). The last read failed: "
                  f"{exc}. It is kept as it is, neither verified nor undone; the sweep keeps reading, and says so "
                  f"if it can judge it later. A person must look at {record.service} and at why the read fails")
        return self._escalate_as_it_is(record, reason, "unreadable past its deadline")

    def _unfinished(self, record: ActionRecord, exc: TransientError) -> Outcome | None:
        """An undo decided (the record `undoing` since `resolved_at`) that no sweep could finish since:
        its retry (after the lease of the sweep that began it) met a transient fault (`exc`, the last
        one: its service unreadable, the write or the state store unavailable). Once unfinished for more
        than a verification period (deadline_at - settle_at, the bar `_unreadable` uses), escalated
        once with what is unfinished, since when and the failure, by an update guarded on its state and
        on no such escalation before; it stays `undoing`, so every later sweep still retries it through
        the gate (its claim: never written twice) and its outcome then says it follows this one
        (`_report`). None before that bar, once escalated so, or if the escalation cannot be stored now."""
        if record.state is not ActionState.UNDOING or record.unread_escalated_at is not None \
                or record.resolved_at is None:
            return None
        period = record.deadline_at - record.settle_at
        if self.now - record.resolved_at <= period:
            return None
        before = split_text(record.traffic_before) or "the recorded split"
        reason = (f"the undo of {record.action} on {record.target} (putting back {before}) is unfinished since "
                  f"{clock_on(record.resolved_at, self.now)}, {_minutes(self.now - record.resolved_at)} ago (more "
                  f"than the "
                  f"verification period of {_minutes(period)}): no sweep since could finish it. The last attempt "
                  f"failed: {exc}. It is kept as it is, the undo still owed: the sweep keeps retrying it through the "
                  f"gate, writes it once at most, and says so when it is done. A person must look at "
                  f"{record.service}, which may still serve as the rollback left it, and at why the attempt fails")
        return self._escalate_as_it_is(record, reason, "its undo unfinished")

    def _escalate_as_it_is(self, record: ActionRecord, reason: str, why: str,
                           mark: str = "unread_escalated_at") -> Outcome | None:
        """`record` escalated once (`mark`: `unread_escalated_at`, or `unread_told_at` for the early notice
        of `_not_yet_read`, which leaves its note alone), its state kept: the update is guarded on the state
        as read and on no such escalation before, with the report kept in it as any other."""
        outcome = self._outcome(record, OutcomeStatus.ESCALATED, reason)
        earlier = self.kept.carried(record)
        if earlier is None:
            return None     # a report of it not yet published is another sweep's: it goes first
        changes = {mark: self.now} | ({"note": reason} if mark == "unread_escalated_at" else {})
        try:
            if not self.kept.keep(outcome, ACTIONS, record.key, lambda kept: self.state.update_record(
                    ACTIONS, record.key, changes | kept,
                    expect={"state": record.state.value, "unread_escalated_at": None, mark: None} | earlier.expect),
                    earlier):
                return None     # judged, or escalated so, by another sweep meanwhile
        except TransientError as stored:
            Timeline(record.incident_id, "command").step(
                "escalation_deferred", f"{record.key}: {why}, and the escalation could "
                f"not be stored ({stored}); the next sweep tries again", severity="WARNING")
            return None
        step_on_record(record.incident_id, "escalated", reason, action=record.action, key=record.key,
                       left=record.state, severity="WARNING")
        return outcome

    def _due(self) -> tuple[list[ActionRecord], list[str]]:
        """The actions to judge, in the order to judge them: those the last cut sweep left first, then
        oldest deadline first (`order_due`), then at most MAX_STUCK_PER_SWEEP of the stuck ones (`_stuck`),
        the least recently tried first; and the keys that sweep left."""
        pending, stuck_pending = self._actions(ActionState.PENDING)
        undoing, stuck_undoing = self._actions(ActionState.UNDOING)
        # Another sweep's undo is judged stale by this instance's clock: the lease allows for skew.
        stale = skew_safe_lease(self.config.guardrails.claim_ttl_seconds)
        due = [r for r in pending if self.now >= r.settle_at] + [r for r in undoing if self._undo_stale(r, stale)]
        stuck = [r for r in stuck_pending if self.now >= r.settle_at] + \
                [r for r in stuck_undoing if self._undo_stale(r, stale)]
        left_before = self._left_before()
        return order_due(due, lambda r: r.key, lambda r: r.deadline_at, left_before) + _least_tried(stuck), left_before

    def _readable(self, page: list[dict[str, Any]]) -> list[ActionRecord]:
        """The page's action records this version can read. One that it cannot (damaged, or written by a
        version whose fields it does not know) is passed over, never raised on: raised, one such record of
        any service failed every sweep, and no other action was judged again (`_damaged_action`)."""
        readable = []
        for data in page:
            try:
                readable.append(read_record(ActionRecord, data, ACTIONS))
            except DamagedRecord as exc:
                told = self._damaged_action(data, exc)
                if told is not None:
                    self._damaged.append(told)
        return readable

    def _read_or_tell(self, model: type[RecordT], data: dict[str, Any], collection: str, cannot: str,
                      outcomes: list[Outcome]) -> RecordT | None:
        """A record of a sweep step read, or None once a record that cannot be read has been told
        (`_damaged_action`, added to `outcomes`): one such record stopped that step of every sweep before."""
        try:
            return read_record(model, data, collection, stored_key(collection, data))
        except DamagedRecord as exc:
            told = self._damaged_action(data, exc, collection, cannot)
            outcomes += [told] if told is not None else []
            return None

    def _damaged_action(self, data: dict[str, Any], exc: DamagedRecord, collection: str = ACTIONS,
                        cannot: str = "judge nor undo that action (what it changed and what to put back are not "
                                      "known)") -> Outcome | None:
        """A pending or undoing action record (or an open incident, a pin, an approved proposal: `collection`,
        whose kept reports `_unsent_outcomes` publishes) that cannot be read, or whose judgement needs a record
        that cannot be read (`exc` names that one: an approved proposal's intent or action record), escalated
        once, naming it: the sweep cannot judge it, nor undo it (its split is unknown),
        and it may stand for a write Runwarden made. Marked (`damaged_escalated_at`, by an update guarded on no
        such mark before: two sweeps tell it once) with the escalation kept in it as a report, behind any it
        keeps unpublished (`KeptReports.carried_as_stored`), by that very update: a publish that fails, or a
        sweep that dies before publishing, leaves it pending for a later sweep's pass (`_unsent_outcomes`), so
        the mark never stands for a telling that was lost. Kept as it is otherwise; every later sweep passes over
        it in silence until a person repairs or deletes it. None if told before, if another sweep holds a report
        of it (told once that is published), or if the mark cannot be stored now (the next sweep tries again)."""
        key = stored_key(collection, data)   # the record's own key field: its id, even when the rest is damaged
        if data.get("damaged_escalated_at") is not None or not key:
            return None
        earlier = self.kept.carried_as_stored(data)
        if earlier is None:
            return None
        outcome = self._damaged_outcome(data, exc, collection, cannot)
        try:
            if not self.kept.keep(outcome, collection, key, lambda kept: self.state.update_record(
                    collection, key, {"damaged_escalated_at": self.now} | kept,
                    expect={"damaged_escalated_at": None} | earlier.expect), earlier):
                return None
        except TransientError as stored:
            Timeline(None, "command").step("escalation_deferred", f"{exc}, and the escalation could not be stored "
                                           f"({stored}); the next sweep tries again", severity="WARNING")
            return None
        Timeline(None, "command").step("escalated", outcome.reason, key=key, severity="WARNING")
        return outcome

    def _damaged_outcome(self, data: dict[str, Any], exc: DamagedRecord, collection: str, cannot: str) -> Outcome:
        """The `escalated` naming a record the sweep cannot read (`_damaged_action`)."""
        service = text_field(data, "service")
        reason = (f"{exc}: the sweep can neither {cannot}, and passes over it from now on; the others are "
                  f"handled as usual. It may stand for a write Runwarden made{f' to {short_name(service)}' if service else ''}"
                  f": a person must look at the service and at the record in the state store's {exc.collection} collection "
                  "(damaged, or written by a version this one cannot read), and repair or delete it")
        return Outcome(incident_id=text_field(data, "incident_id"), trigger="command",
                       target=service, status=OutcomeStatus.ESCALATED, reason=reason,
                       timestamps=Timestamps(received_at=self.now, decided_at=self.now, completed_at=self.now))

    def _needs_damaged(self, record: ActionRecord, exc: DamagedRecord) -> Outcome | None:
        """`record`'s judgement needs another record that cannot be read (`exc`): escalated once (as an
        unreadable one is, `_escalate_as_it_is`) and kept as it is; every later sweep tries it in turn and judges
        it once the record is repaired. Never raised: one damaged record stopped every sweep before."""
        reason = (f"{record.action} on {record.target} could not be judged: {exc}. It is kept as it is, neither "
                  "verified nor undone; the sweep tries again and says so once it can judge it. A person must look "
                  f"at that record in the state store's {exc.collection} collection (damaged, or written by a "
                  "version this one cannot read), and repair or delete it")
        return self._escalate_as_it_is(record, reason, "a record it needs cannot be read")

    def _undo_stale(self, record: ActionRecord, stale: timedelta) -> bool:
        """An undo whose sweep (the one that decided it) has surely ended: decided more than a lease ago.
        A later sweep's retry may still run when the next one retries it too: the gate's claim on the undo
        lets only one write it."""
        return record.resolved_at is not None and self.now - record.resolved_at >= stale

    def _actions(self, state: ActionState) -> tuple[list[ActionRecord], list[ActionRecord]]:
        """The actions in `state`, earliest deadline first, as (the others, the stuck ones): at most
        MAX_PER_SWEEP others, read page by page past the stuck ones (escalated as unreadable or
        unfinished and kept as they are, `_stuck`), which have the oldest deadlines and so fill the first
        pages. At most MAX_PAGES pages: past that, the others left unread are said at ERROR
        (`sweep_crowded`), so a person hears that stuck actions crowd the sweep. Where the ordered query is
        refused (its index missing), one page in document order (`_page`)."""
        others: list[ActionRecord] = []
        stuck: list[ActionRecord] = []
        seen: set[str] = set()
        since: datetime | None = None
        for _ in range(MAX_PAGES):
            page, ordered = self._page(state, since)
            fresh = self._readable([d for d in page if d.get("key") not in seen])
            seen.update(str(d.get("key")) for d in page)
            others += [r for r in fresh if not _stuck(r)]
            stuck += [r for r in fresh if _stuck(r)]
            if not ordered or len(page) < MAX_PER_SWEEP or len(others) >= MAX_PER_SWEEP:
                return others[:MAX_PER_SWEEP], stuck
            last = page[-1]["deadline_at"]
            # The next page starts at the last deadline read (read again, known by key); a page all of one
            # instant would never move, so it moves a microsecond past it.
            since = last if since is None or last > since else since + timedelta(microseconds=1)
        Timeline(None, "command").step(
            "sweep_crowded", f"{len(stuck)} {state.value} action(s) kept as they are after an escalation (their "
            f"evidence unreadable or their undo unfinished) fill the first {MAX_PAGES} pages of {MAX_PER_SWEEP} by "
            f"deadline; {len(others)} other(s) read, those with a deadline after {since:%Y-%m-%d %H:%M:%S}Z wait "
            "for a later sweep: a person must look at why the stuck ones cannot be judged", severity="ERROR",
            stuck=len(stuck))
        return others, stuck

    def _page(self, state: ActionState, since: datetime | None) -> tuple[list[dict[str, Any]], bool]:
        """One page of at most MAX_PER_SWEEP actions in `state`, earliest deadline first (from `since`):
        `state == S ORDER BY deadline_at` (FirestoreStateStore.find_before, with the composite index
        infra/firestore.tf declares, `pending_actions`, which serves every state). An equality query alone
        returns them in document order, so with more than MAX_PER_SWEEP the same ones came back each sweep
        and the rest could wait many sweeps. Every action has a deadline, so the bound (the last time
        Firestore holds) cuts none. Where the ordered query is refused (its index missing or still building
        after a deploy: a permanent fault) the sweep says so and reads one page in document order, rather
        than verify none; the second value says whether the page is ordered."""
        try:
            return self.state.find_before(ACTIONS, "state", state.value, "deadline_at", _NO_LATER, MAX_PER_SWEEP,
                                          since=since), True
        except PermanentError as exc:
            Timeline(None, "command").step("sweep_unordered", f"{state.value} actions not read by deadline "
                                           f"({exc}): read in document order, at most {MAX_PER_SWEEP}; check the "
                                           "pending_actions index (infra/firestore.tf)", severity="ERROR")
        return self.state.find_records(ACTIONS, "state", state.value, MAX_PER_SWEEP), False

    def _judge(self, record: ActionRecord) -> Outcome | None:
        """One action, judged on live evidence (judging.judge) and moved as judging.next_step says. Not
        while another sweep holds a report of it not yet published (`KeptReports.carried`): its next
        report is kept behind that one, never over it, so it waits until that one is published."""
        if self.kept.carried(record) is None:
            Timeline(record.incident_id, "command").step(
                "verify_waits", f"{record.key}: an earlier report of it is not published yet ("
                + (f"held by {record.report_by} until {clock_on(record.report_until, self.now)}" if record.report_by and
                   record.report_until else "not taken by this sweep") + "); judged once it is", key=record.key)
            return None
        if record.state is ActionState.UNDOING:
            try:
                return self._undo(record, "a previous undo did not finish")
            except TransientError as exc:
                raise UndoUnfinished(str(exc)) from exc
        try:
            with told_on(record.applied_at):    # its times are cited against the action's day (clock_on)
                health = self._health(record)
        except TransientError as exc:
            raise EvidenceUnread(str(exc)) from exc
        if health.kind is judging.HealthKind.CHANGED and record.action == "rollback_traffic":
            try:
                restored = self._own_restore(record, health)
            except TransientError as exc:
                raise EvidenceUnread(str(exc)) from exc
            if restored is None:
                return None     # the restore's own answer reached a person; the rollback is settled
            health = restored
        step = judging.next_step(record, health, self.now, self.config.verification)
        if step.kind is judging.StepKind.VERIFY:
            return self._report(record, ActionState.PENDING, ActionState.VERIFIED, OutcomeStatus.VERIFIED,
                                f"{record.action} verified: {step.why}")
        if step.kind is judging.StepKind.WAIT:
            if record.unread_since is not None and record.unread_told_at is None:
                self._reads_again(record)
            if self.now >= record.deadline_at:     # past it, for more requests only (judging.next_step)
                Timeline(record.incident_id, "command").step("verify_waits_for_requests", f"{record.key}: {step.why}",
                                                             key=record.key)
            return None  # not yet: the next sweep looks again
        if step.kind is judging.StepKind.UNDO and record.unread_escalated_at is None:
            # (An action escalated as unreadable is past the undo's bar already: said kept as it is, it stays so.)
            if not self._move(record, ActionState.PENDING, ActionState.UNDOING):
                return None
            return self._undo(record, step.why, step.shows)
        outcome = self._report(record, ActionState.PENDING, ActionState.ESCALATED, OutcomeStatus.ESCALATED, step.why,
                               note=step.why)
        self._unpin_gone(record, health)
        return outcome

    def _health(self, record: ActionRecord) -> judging.Health:
        """The action's standing on evidence collected since it settled: of its service, and for a
        connector change of every managed service whose serving revision uses the connector now
        (judging.combine). A closed incident is cited, never taken as recovery alone
        (shared/remediation/judging.py says why).

        A connector change's reads are bounded in time (sweep_budget.StepTime): a service is looked up, or
        its evidence read, only while that read at its longest still ends within the step's reads, so many
        services never carry the step past the sweep's margin. One not read so is unclear ("not read in
        this sweep's time"): before the deadline the change waits for a later sweep (which reads again,
        the services in the same order), and by it, it is escalated as not verifiable, naming them."""
        closed = record.incident_closed_at if record.incident_closed_at and \
            record.incident_closed_at >= record.applied_at else None
        step = StepTime(self.adapters.clock)
        try:
            readers = self.adapters.readers()
            # An operator's connector change names the connector as its `service` (a command names no
            # service): not a Cloud Run service to read, only the services behind the connector judge it.
            services = [record.service] if "/services/" in record.service else []
            unread: list[tuple[str, judging.Health]] = []
            caveat = ""
            if record.action == "scale_connector":
                more, unread, caveat = self._behind(record, readers, step)
                services += more
        except PermanentError as exc:
            return judging.Health(judging.HealthKind.UNCLEAR, f"cannot read the evidence: {exc}")
        recovery = record.incident_recovery if closed else ""
        others = self._applied_since(record)
        judged = []
        for service in services:
            if record.action == "scale_connector" and not step.fits(COLLECT_SECONDS):
                judged.append((service, judging.Health(judging.HealthKind.UNCLEAR, _NOT_IN_TIME)))
                continue
            judged.append((service, self._health_of(record, service, readers, closed, recovery, others)))
        if not judged and not unread:   # never "every service is healthy" of no service at all
            return judging.Health(judging.HealthKind.UNCLEAR, f"no managed service uses {record.target} now: "
                                  "nothing to judge the change by" + (f" [{caveat}]" if caveat else ""))
        # The services outside the config only ever hold a `verified` back: read only when every managed
        # one is healthy (any other standing is the verdict already), so they cost nothing otherwise.
        if record.action == "scale_connector" and not unread and all(
                h.kind is judging.HealthKind.HEALTHY for _, h in judged):
            seen, said = self._bystanders(record, [s for s, _ in judged], readers, step)
            judged += seen
            caveat = "; ".join(c for c in (caveat, said) if c)
        cut = [short_name(s) for s, h in judged + unread if h.why.startswith(_NOT_IN_TIME)]
        if cut:
            Timeline(record.incident_id, "command").step(
                "verify_cut", f"{record.key}: {len(cut)} service(s) behind {record.target} not read ({', '.join(cut)}): "
                f"one judgement reads for at most {step.seconds:.0f} s; unclear until a sweep reads them all",
                severity="WARNING", key=record.key)
        return judging.combine(judged + unread, caveat)

    def _bystanders(self, record: ActionRecord, behind: list[str], readers: Any,
                    step: StepTime) -> tuple[list[tuple[str, judging.Health]], str]:
        """The services not in the config that serve through the connector a change scaled, each judged on
        its requests since the write against those before it (bystanders.standing: never acted on), and what
        the verdict says of them: which were read, which could not be, and which projects were not listed.
        ListServices in the connector's project and region, and in each other project of the managed
        services `behind` it (bystanders.parents; at most bystanders.MAX_PAGES pages each), then for at most
        bystanders.MAX_LOOKED_UP that may use it a ListRevisions call, and for those that do, their request
        metrics (a collection without logs or the connector). A service that may use it and was not read
        (past that bound or the step's time, or its read refused), or a list refused, cut at its last page
        read or not made, is `unclear`: whether it fails worse is not known, so the change is not verified on
        it. A transient fault raises: the next sweep judges."""
        to_list, past = bystanders.parents(record.target, behind)
        judged: list[tuple[str, judging.Health]] = [(f"{parent}/services/-", judging.Health(
            judging.HealthKind.UNCLEAR, f"the services of {parent} not listed: at most {bystanders.MAX_PROJECTS} "
            f"projects are listed in one judgement, so whether one using {short_name(record.target)} fails worse "
            "is not known")) for parent in past]
        services, listed = [], []
        for parent in to_list:
            listing, health = self._list(record, parent, readers, step)
            if health is not None:
                judged.append((f"{parent}/services/-", health))
                continue
            services += listing.services
            listed.append(parent)
            if listing.more:
                judged.append((f"{parent}/services/-", judging.Health(judging.HealthKind.UNCLEAR, (
                    f"more than {bystanders.MAX_LISTED * bystanders.MAX_PAGES} services in {parent}: those past "
                    f"{bystanders.MAX_PAGES} pages are not listed, so whether one using "
                    f"{short_name(record.target)} fails worse is not known"))))
        found = bystanders.listed(services, [m.name for m in self.config.services], record.target)
        judged += [(name, judging.Health(judging.HealthKind.UNCLEAR, (
            f"may use {short_name(record.target)} ({bystanders.NOT_MANAGED}), not read: at most "
            f"{bystanders.MAX_LOOKED_UP} such services are read in one judgement"))) for name in found.not_read]
        using = []
        for service in found.to_read:
            health = self._bystander(record, service, readers, step)
            if health is not None:
                judged.append((service.name, health))
                using.append(service.short_name)
        where = " and ".join(listed)
        said = (f"services not in the config read on {short_name(record.target)}: "
                + (", ".join(using) if using else f"none of the {found.listed} listed in {where} uses it"
                   if found.listed else f"none: {where} holds no service outside the config" if listed
                   else "none, no project could be listed"))
        return judged, f"{said}; {bystanders.unseen(to_list)}"

    def _list(self, record: ActionRecord, parent: str, readers: Any,
              step: StepTime) -> tuple[_Listing, judging.Health | None]:
        """The services of `parent`, at most bystanders.MAX_PAGES ListServices pages (collection.list_pages, the
        alert's read of its neighbours shares it), or why they were not all listed (`unclear`): not in the step's
        time, or refused (connector_names.list_refused: the permission named on PERMISSION_DENIED only).
        Whatever a later page's refusal or cut leaves unlisted is not known either."""
        listing = list_pages(readers.run, parent, bystanders.MAX_PAGES, lambda: step.fits(LOOKUP_SECONDS))
        if listing.cut:
            return _Listing(), judging.Health(judging.HealthKind.UNCLEAR, (
                f"{_NOT_IN_TIME}: the services of {parent} outside the config not listed, so whether one "
                f"using {short_name(record.target)} fails worse is not known"))
        if listing.refused is not None:
            return _Listing(), judging.Health(judging.HealthKind.UNCLEAR, (
                f"{list_refused(parent, listing.refused)}: whether one not in the config using "
                f"{short_name(record.target)} fails worse since the change is not known"))
        return _Listing(listing.services, more=listing.more), None

    def _bystander(self, record: ActionRecord, listed: Service, readers: Any,
                   step: StepTime) -> judging.Health | None:
        """One service not in the config that may use the connector, as ListServices listed it: None if its
        serving revisions do not, else its standing (bystanders.standing), or `unclear` when it cannot be
        read in time or at all. The listed Service is used as it is when it is whole (bystanders.whole),
        else read with GetService first; its revisions are read once, and both are handed to the collection,
        which reads neither again."""
        if not step.fits(LOOKUP_SECONDS + COLLECT_SECONDS):
            return judging.Health(judging.HealthKind.UNCLEAR, _NOT_IN_TIME + ", so whether it uses the connector "
                                                                            "and fails worse is not known")
        name = listed.name
        try:
            read = read_listed(readers.run, listed, record.target)
            if read is None or not read.using:
                return None     # deleted since the list, or serving no revision that names the connector
            service, revisions = read.service, list(read.revisions)
            bundle = collect(name, judging.after_write(record), replace(readers, logging=None, vpcaccess=None),
                             self.config.diagnosis, self.now, reach_back=record.applied_at - timedelta(
                                 seconds=self.config.diagnosis.lookback_seconds), known=(service, revisions))
        except PermanentError as exc:
            if exc.code == "NOT_FOUND":
                return None     # deleted since the list: it serves nothing through the connector
            return judging.Health(judging.HealthKind.UNCLEAR, f"cannot be read ({exc}), so whether it uses the "
                                                              "connector and fails worse is not known")
        bundle = read_whole(bundle, name)      # a bystander's read in part is no "not failing worse" either
        health = bystanders.standing(record, bundle, self.config.diagnosis, self.config.verification.min_traffic_ratio)
        doubt = bystanders.by_number(service, revisions, record.target)
        return replace(health, why=f"{health.why} ({doubt})") if doubt else health

    def _behind(self, record: ActionRecord, readers: Any,
                step: StepTime) -> tuple[list[str], list[tuple[str, judging.Health]], str]:
        """The managed services behind a connector change's connector now, besides its own service: those
        whose serving revision uses it, those whether it does is not known (unclear, each with why), and
        the verdict's caveat (managed services not looked at, or no longer existing)."""
        # A read that met a transient fault is made again while the step's time allows (users_of's `retry`); one
        # that never answered is unclear below, named with its fault, never raised: raised, the judgement was
        # deferred sweep after sweep without a word, past its deadline too (only unread evidence is told).
        # The services are looked up at once, on the peers' pool (scope.PEERS), as an alert looks up its connector's
        # users: the answers are taken in the config's order, so the verdict never depends on which came first.
        found = users_of(readers, [(m.name, m.cloudsql_instances) for m in self.config.services],
                         connector=record.target, stop=lambda: not step.fits(LOOKUP_SECONDS),
                         retry=lambda: step.fits(LOOKUP_SECONDS), at_once=PEERS)
        # `unreadable` holds "name: refusal". The change's own service is judged on its own read below
        # (a deletion since is told there, `_service_gone`), never a second time as a user not read.
        # A managed service whose read answered NOT_FOUND does not exist (deleted, the config not yet
        # updated): it serves nothing through the connector, so it holds no verdict back (before, it
        # kept every change on the connector unclear until the deadline); the verdict names it.
        unread = [(name, judging.Health(judging.HealthKind.UNCLEAR, "cannot be read, so whether it uses the "
                                        "connector is not known")) for name in found.unreadable
                  if not any(name.startswith(f"{s}: ") for s in (record.service, *found.gone, *found.unanswered))]
        # One Cloud Run never answered for, after the reads again (users_of's `retry`): named with its reads and fault.
        unread += [(name, judging.Health(judging.HealthKind.UNCLEAR, f"{why.removeprefix(f'{name}: ')}, so whether "
                                         "it uses the connector is not known"))
                   for name in found.unanswered if name != record.service
                   for why in found.unreadable if why.startswith(f"{name}: ")]
        missing = [short_name(s) for s in found.gone if s != record.service]
        unread += [(name, judging.Health(judging.HealthKind.UNCLEAR, _NOT_IN_TIME + ", so whether it uses the "
                                         "connector is not known")) for name in found.cut if name != record.service]
        caveat = "; ".join(c for c in (
            f"{found.not_looked_at} managed service(s) not looked at" if found.not_looked_at else "",
            *(f"managed service {m} no longer exists (its read answered NOT_FOUND): it uses no connector"
              for m in missing)) if c)
        # One naming the connector by a project number that cannot be told from its project (Users.by_number)
        # is judged as a user: never left out as not behind it (judging.off_the_connector says why it is unclear).
        return [s for s in (*found.services, *found.by_number) if s != record.service], unread, caveat

    def _applied_since(self, record: ActionRecord) -> list[ActionRecord]:
        """Runwarden's action records applied since this one, or dated so near it that they may have been
        (one range query on `applied_at`, at most MAX_PER_SWEEP), for judging.later_own_writes: a later
        write on the same service's path makes the minutes since both changes' doing. Each `applied_at` is
        its writer's clock, so the read begins the clock-skew allowance before this record's (a later write
        made on an instance whose clock ran behind is dated before it) and ends at the sweep's clock plus
        the allowance (a writer's clock may run ahead of this one's). A transient fault raises: the next
        sweep judges."""
        found = self.state.find_between(ACTIONS, "applied_at", record.applied_at - CLOCK_SKEW_ALLOWANCE,
                                        self.now + CLOCK_SKEW_ALLOWANCE, MAX_PER_SWEEP)
        others = []
        for data in found:
            try:
                if data.get("key") != record.key:
                    others.append(ActionRecord.model_validate(data))
            except ValidationError:   # not a record this version reads: no write of its to compare
                continue
        return others

    def _health_of(self, record: ActionRecord, service: str, readers: Any, closed: datetime | None,
                   recovery: str = "", others: list[ActionRecord] | None = None) -> judging.Health:
        try:
            # From when the change took (judging.judged_from), or, not known yet, the settle time.
            since = judging.judged_from(record) or judging.after_write(record)
            # Request metrics from where the failure's onset before the action may lie (judging.reach_back).
            # After an uptime check's alert, its check's own results too (judging.probes_failing). The audit
            # log from the allowance before the evidence's read: its time is this instance's clock
            # (judging.changes_counted).
            bundle = collect(service, since, readers, self.config.diagnosis, self.now,
                             reach_back=judging.reach_back(record, self.config.diagnosis), check_of=record.alert,
                             changes_from=judging.changes_read_from(record) - CLOCK_SKEW_ALLOWANCE)
        except PermanentError as exc:
            return self._service_gone(record, service, exc, readers) or judging.Health(
                judging.HealthKind.UNCLEAR, f"cannot read the evidence: {exc}")
        bundle = read_whole(bundle, service)
        if self.clock_ahead:
            bundle = bundle.model_copy(update={"clock_ahead": self.clock_ahead})
        gone = self._connector_gone(record, bundle, readers)
        if gone is not None:
            return gone
        if judging.took_now(record, bundle):
            self._note_took(record)
        if readers.logging is not None:
            # Who sent the requests judged: request_count does not say (shared/remediation/callers.py).
            try:
                lines, gap = request_lines(readers.logging, bundle, judging.after_write(record), self.config.diagnosis)
            except IncompleteReadError as exc:      # read in part: read again later, as the evidence (`read_whole`)
                raise EvidenceUnread(f"{short_name(service)}: logging: request log: {exc}") from exc
            bundle = bundle.model_copy(update={"request_lines": lines, "gaps": bundle.gaps + ((gap,) if gap else ()),
                                               "api_calls": bundle.api_calls + 1})
        return judging.judge(record, bundle, self.config.diagnosis, closed, self.config.verification.min_traffic_ratio,
                             recovery, others or ())

    @staticmethod
    def _service_gone(record: ActionRecord, service: str, refusal: PermanentError,
                      readers: Any) -> judging.Health | None:
        """A rollback or connector change whose evidence read of its own service (the one it was made for) was
        refused NOT_FOUND reads that service once more, by name, to tell a service deleted since (NOT_FOUND
        again: judging.service_gone) from another resource not found (a log bucket, a project's metrics:
        judged as before, the refusal named). None otherwise, and for a connector change's other services
        (unclear, as before); a transient fault raises (the next sweep reads again)."""
        if (refusal.code != "NOT_FOUND" or record.action not in ("rollback_traffic", "scale_connector")
                or service != record.service):
            return None
        try:
            readers.run.get_service(service)
        except PermanentError as exc:
            return judging.service_gone(record, str(exc)) if exc.code == "NOT_FOUND" else None
        return None

    @staticmethod
    def _connector_gone(record: ActionRecord, bundle: Any, readers: Any) -> judging.Health | None:
        """A connector change whose evidence holds no connector (its read refused for good: a gap) is read
        once more, by name, to tell a connector deleted since (NOT_FOUND: judging.connector_gone) from one
        not readable (any other refusal: judged as before, the gap named). None if it was read, exists, or
        for another action; a transient fault raises (the evidence unread: the next sweep reads again)."""
        if record.action != "scale_connector" or bundle.connector is not None or readers.vpcaccess is None:
            return None
        try:
            readers.vpcaccess.get_connector(record.target)
        except PermanentError as exc:
            return judging.connector_gone(record, str(exc)) if exc.code == "NOT_FOUND" else None
        return None

    def _note_took(self, record: ActionRecord) -> None:
        """Notes on a connector change recorded before its update ended when a sweep first read the
        connector READY with the change (`took_at`): later sweeps judge its minutes from then
        (judging.judged_from). Guarded on its state and on no such note before, so of two sweeps the first
        stands; best effort: one not stored is noted by a later sweep, later still (never earlier)."""
        try:
            if self.state.update_record(ACTIONS, record.key, {"took_at": self.now},
                                        expect={"state": ActionState.PENDING.value, "took_at": None}):
                Timeline(record.incident_id, "command").step(
                    "change_took", f"{record.key}: {short_name(record.target)} read READY with the change at "
                    f"{self.now:%H:%M:%S}; its update outlived the write's wait, so its minutes are judged from then",
                    key=record.key)
        except TransientError as exc:
            Timeline(record.incident_id, "command").step("took_unnoted", f"{record.key}: when the change took not "
                                                         f"noted: {exc}", severity="WARNING", key=record.key)

    def _own_restore(self, record: ActionRecord, health: judging.Health) -> judging.Health | None:
        """The rollback's traffic moved since (`health`, changed), by Runwarden's own restore: an operator's
        restore_traffic whose write took and whose record failed (answered `escalated`, the pin left `pinned`).
        Its mark on the pin (RestoreMark, noted before the write) names the command and the split it wrote; the
        service serving exactly that split is that restore's doing, and the rollback is settled as the
        recorded restore would have settled it (shared/commands/traffic.py `_released`): the record
        `undone`, the pin released by the restore's sender (None). The service asking for that split while the
        rollback's still serves is that restore's operation failed with its split left desired: `health` worded
        so (judging.restore_left_desired), never as someone else's change. Any other split is someone else's
        change, `health` as it was."""
        data = self.state.get_record(PINS, record.service)
        pin = PinRecord.model_validate(data) if data else None
        if pin is None or pin.restoring is None:
            return health
        service = self.adapters.run.get_service(record.service)
        note = judging.restored_by_runwarden(record, pin, service)
        if not note:
            left = judging.restore_left_desired(record, pin, service)
            if left and self.now - pin.restoring.at < self.lease:
                # Cloud Run asks for a split as soon as UpdateService is called and serves it only once it has
                # reconciled (Service.traffic vs traffic_statuses, google/cloud/run/v2/service.proto): within the
                # restore's lease its write may still be under way, not failed. Judged again by a later sweep.
                return judging.Health(judging.HealthKind.UNCLEAR, judging.restore_in_flight(pin.restoring, service))
            return judging.Health(judging.HealthKind.CHANGED, left) if left else health
        mark = pin.restoring
        if not self._move(record, ActionState.PENDING, ActionState.UNDONE, note,
                          report={"undone_by_command": mark.command_id, "undone_by_message": mark.message_id}):
            return None     # another sweep moved it first, and said so
        self.state.update_record(PINS, record.service, {"pinned": False, "released_at": self.now,
                                                        "released_by": mark.requested_by},
                                 expect={"action_id": record.key, "pinned": True})
        Timeline(record.incident_id, "command").step("released", f"{record.key}: {note}", action=record.action,
                                                     key=record.key)
        return None

    def _undo(self, record: ActionRecord, why: str, shows: str = "") -> Outcome | None:
        """The rollback undone (the record `undoing`): the service read and checked (`judging.undo_overtaken`:
        it serves as the rollback left it, or, on a retry only, as the undo restores it), then the recorded split written on
        that very read, its etag sent (RestoreTrafficParams.expected_etag): a person's change landing
        between the check and the write is refused by Cloud Run, or, where the etag is not enforced, shows
        in the generation (ChangedAroundWriteError). Either way the outcome is `escalated` and nothing is
        claimed as undone (`_undo_not_done`). `shows`: what the failing rollback shows of the cause
        (judging.deploy_not_the_cause: the revision before the deploy fails too), said in the outcome,
        the undo done or escalated (`_shown`): the evidence shows it either way, and a person paged for an
        undo not done must look elsewhere too; a retry of an unfinished undo has only its record, which
        does not keep it."""
        # A record read `undoing` is a retry: an earlier attempt may have sent the undo, or another sweep may be
        # sending it now.
        retry = record.state is ActionState.UNDOING
        verdict = self._undo_call(record) if retry else UndoVerdict(UndoCall.SEND)
        if verdict.call is UndoCall.LEAVE:
            return self._left_to_another(record, verdict.why)
        if verdict.call is UndoCall.ESCALATE:
            reason = _shown(f"{record.action} did not help ({why}), and its undo may have been written already: "
                            f"{verdict.why}; nothing written again: a person must check {short_name(record.service)} "
                            f"as it is now (the undo puts back {split_text(record.traffic_before)})", shows)
            return self._report(record, ActionState.UNDOING, ActionState.ESCALATED, OutcomeStatus.ESCALATED,
                                reason, note=reason)
        try:
            service = self.adapters.run.get_service(record.service)
        except PermanentError:
            service = None      # not readable: the gate's own write meets the same refusal and reports it
        overtaken = (judging.undo_overtaken(record, service, retry) or self._changed_since(record, service)
                     if service is not None else "")
        if overtaken:   # traffic moved, or rolled back again, since the rollback or the unfinished undo: that stands
            reason = _shown(f"{record.action} did not help ({why}), and it is not undone: {overtaken}; nothing "
                            "written, a person must judge the service as it is now", shows)
            return self._report(record, ActionState.UNDOING, ActionState.ESCALATED, OutcomeStatus.ESCALATED,
                                reason, note=reason)
        traffic = record.traffic_before
        unservable, revisions = self._unservable(record, traffic) if service is not None else ("", [])
        if unservable:  # Cloud Run would fail the write's operation and leave the failed split desired
            reason = _shown(f"{record.action} did not help ({why}), and it is not undone: {unservable}; nothing "
                            f"written. A person can send restore_traffic with to_latest: true to release the pin of "
                            f"{record.service}, or rollback_traffic to a Ready revision", shows)
            return self._report(record, ActionState.UNDOING, ActionState.ESCALATED, OutcomeStatus.ESCALATED,
                                reason, note=reason)
        action = get_action("restore_traffic")
        # The tags as read now kept at 0% beside the recorded split, as an operator's restore keeps them
        # (commands/traffic.restore, RestoreTrafficParams.desired: a tag the split recorded keeps its own
        # place). Checked above: as the rollback left them (since_rollback.changed_since), or, on a retry
        # whose earlier write landed, whatever tags a person put on since, which the undo must not drop.
        # Only those whose revision can serve, the recorded split's own 0% targets too (servable_restore): a
        # dead one is left out and named, or the whole undo could fail on it.
        chosen = servable_restore(traffic, service, revisions) if service is not None else None
        params = RestoreTrafficParams(target=record.target, undoes=record.key,
                                      expected_etag=service.etag if service is not None else "",
                                      **(chosen._asdict() if chosen is not None else {"traffic": traffic}))
        gate = Gate(self.config, self.state, self.adapters.clock, self.owner,
                    Timeline(record.incident_id, "command"))
        if not self._note_attempt(record):
            return self._left_to_another(record, "another sweep moved its record, or sent its undo, meanwhile")
        try:
            result = gate.execute(action, params, record.after, record.incident_id, self.adapters)
        except RunwardenError:
            self._take_back_attempt(record)
            raise
        duplicate = result.duplicate
        first = self._undo_claim_result(record) if duplicate else None
        if duplicate and first is None:
            # The gate's claim was taken between this sweep's read of it and its own claim: that sweep writes it.
            return self._left_to_another(record, "another sweep took the gate's claim on its undo meanwhile")
        if first is not None and first.get("status") != OutcomeStatus.APPLIED.value:
            # An earlier attempt's end, not an undo done: escalated or failed, perhaps written and unconfirmed (its
            # operation failed with the split left desired while the rollback's revision serves).
            return self._undo_ended_before(record, why, first, shows)
        if result.status is OutcomeStatus.APPLIED or duplicate:
            outcome = self._report(record, ActionState.UNDOING, ActionState.UNDONE, OutcomeStatus.UNDONE,
                                   f"{record.action} did not help by the deadline ({why}); the recorded split is "
                                   "restored and the incident escalated to a person" + (f": {shows}" if shows else ""),
                                   note=why, after=result.after, notes=action.notes(params))
            self.state.update_record(PINS, record.service, {"pinned": False, "released_at": self.now,
                                                            "released_by": "undo"}, expect={"action_id": record.key})
            return outcome
        return self._undo_not_done(record, why, result, shows)

    def _undo_call(self, record: ActionRecord) -> UndoVerdict:
        """What this sweep does with an unfinished undo (undo_attempt.undo_call), read before the retry goes to
        the gate: the gate's claim on the undo (restore_traffic, keyed on the rollback's incident and target, the
        same for every sweep) and the attempt the record names. The gate would take a lapsed claim over, or a
        claim Firestore's TTL deleted would read as none, and write again; a claim another sweep holds now would
        be answered as a duplicate, which is no undo done. A claim that cannot be read: named, escalated."""
        key = _undo_claim_key(record)
        try:
            claim = self._undo_claim(record)
        except DamagedRecord as exc:
            return UndoVerdict(UndoCall.ESCALATE, f"the gate's claim on it ({key}) cannot be read ({exc}), so whether "
                               "an earlier sweep wrote it is unknown")
        return undo_call(claim, Attempt(record.undo_sent_by, record.undo_sent_at), self.owner, self.now, self.lease,
                         key)

    def _left_to_another(self, record: ActionRecord, why: str) -> None:
        """Another sweep is undoing it now: this one writes nothing and says nothing to a person; the record is
        settled by that sweep, or, if it dies, by a later one once its claim's lease lapses (`_undo_call`)."""
        Timeline(record.incident_id, "command").step("undo_left", f"{record.key}: {why}; this sweep leaves it to "
                                                     "that one, nothing written", key=record.key)
        return None

    def _note_attempt(self, record: ActionRecord) -> bool:
        """This sweep's attempt noted on the record before its undo goes to the gate (undo_attempt.py), by an
        update guarded on the state and on the note as read: False if another sweep moved the record or noted
        its own attempt meanwhile. A transient fault raises: nothing sent, the undo left for a retry."""
        return self.state.update_record(ACTIONS, record.key, {"undo_sent_by": self.owner, "undo_sent_at": self.now},
                                         expect={"state": ActionState.UNDOING.value,
                                                 "undo_sent_at": record.undo_sent_at})

    def _take_back_attempt(self, record: ActionRecord) -> None:
        """The attempt's note taken back when the gate raised and left no claim on the undo: it gave it back,
        nothing written, and a later sweep retries as if none had been sent. A claim left (the commit after the
        write failed, or the give-back did) keeps the note. Best effort: a note kept has the undo escalated by a
        later sweep, once the claim is gone, instead of retried (never written twice)."""
        try:
            if self.state.get_many([(CLAIMS, _undo_claim_key(record))])[0]:
                return
            self.state.update_record(ACTIONS, record.key, {"undo_sent_by": "", "undo_sent_at": None},
                                     expect={"undo_sent_by": self.owner, "undo_sent_at": self.now})
        except (TransientError, PermanentError) as exc:
            Timeline(record.incident_id, "command").step(
                "undo_attempt_kept", f"{record.key}: the note of this sweep's undo could not be taken back ({exc}): a "
                "later sweep escalates the undo once a lease has passed, rather than sends it", severity="WARNING",
                key=record.key)

    def _undo_claim_result(self, record: ActionRecord) -> dict[str, Any] | None:
        """The gate answered a duplicate: the result its completed claim on the undo keeps (the gate's
        `_completion`: the first attempt's status and what it said), or None when the claim is not completed
        (held by another sweep still in its write). Only a result `applied` is an undo done."""
        claim = self._undo_claim(record)
        return dict(claim.result) if claim is not None and claim.status is ClaimStatus.COMPLETED else None

    def _undo_claim(self, record: ActionRecord) -> ClaimRecord | None:
        """The gate's claim on the undo as it stands now (None: no such document); DamagedRecord if unreadable."""
        key = _undo_claim_key(record)
        data = self.state.get_many([(CLAIMS, key)])[0]
        return read_record(ClaimRecord, data, CLAIMS, key) if data else None

    def _undo_ended_before(self, record: ActionRecord, why: str, first: dict[str, Any], shows: str) -> Outcome | None:
        """An earlier attempt at the undo completed the gate's claim without applying it (its operation failed,
        its answer was lost, it was refused) and its verdict on the record was lost: the gate's duplicate is no
        undo done. Escalated, the pin kept, nothing written again (the gate holds the claim)."""
        ended = first.get("status") or "with no status recorded"
        said = f": {first['reason']}" if first.get("reason") else ""
        said += judging.asked_not_serving(first.get("after"), record.service)    # what its failed operation left
        reason = (f"{record.action} did not help ({why}); an earlier attempt at its undo ended {ended}{said}; not "
                  f"claimed as undone: a person must check {record.service} as it is now")
        return self._report(record, ActionState.UNDOING, ActionState.ESCALATED, OutcomeStatus.ESCALATED,
                            _shown(reason, shows), note=f"{why}; undo ended {ended}")

    def _changed_since(self, record: ActionRecord, service: Service) -> str:
        """Why the undo would reverse a change made since the rollback, as an operator's restore of it is
        refused (since_rollback.changed_since), or "". A later rollback of the service still standing (by
        Runwarden for another incident, or an operator's), even one that pinned the same revision again so
        that the split reads as this rollback left it: writing this rollback's "before" would undo it
        silently and leave its record `pending`. Also a split changed target by target, tags included,
        which `judging.undo_overtaken` (shares only) does not see. Its records are read here, on the undo's
        own read of the service, not at the judgement: a rollback landing between the two, or while an
        undo was unfinished, is seen. A failed read raises (transient: the undo is left unfinished and
        retried), never read as "none"; a record that cannot be read may be such a rollback, so it holds the undo
        back too, named (fail closed: since_rollback.unread_records), as it refuses an operator's restore."""
        if record.action != "rollback_traffic":
            return ""
        later = history.later_rollbacks(self.state, record)
        return (since_rollback.unread_records(record, later.unreadable)
                or since_rollback.changed_since(record, service, later.standing))

    def _unservable(self, record: ActionRecord, traffic: tuple[TrafficTarget, ...]) -> tuple[str, list[Revision]]:
        """Why the recorded split cannot be put back now (restore_traffic.cannot_serve: a revision with a
        share deleted since, or not Ready), or "", with the revisions read (the undo keeps only the tags they
        can serve). Revisions that cannot be read are a reason too: an undo is a write, and is not sent
        unchecked. A transient fault is raised (the undo is left unfinished and retried)."""
        try:
            revisions = self.adapters.run.list_revisions(record.service)
        except PermanentError as exc:
            return f"the revisions of the split recorded before it cannot be checked ({exc})", []
        why = cannot_serve(traffic, revisions)
        return (f"the split recorded before it cannot be put back: {why} in {short_name(record.service)}" if why
                else ""), revisions

    def _undo_not_done(self, record: ActionRecord, why: str, result: Any, shows: str = "") -> Outcome | None:
        """An undo the gate did not report applied: escalated, and never called undone. Either nothing was
        written (the kill switch, a refusal, a service changed since the check: StaleEvidenceError), or the
        write was sent and its effect is in doubt (its answer lost, or another change landed around it:
        ChangedAroundWriteError; the gate completed its claim, so nothing writes it again). Held back by the
        gate, it is never retried (the record leaves `undoing`): the person it pages is told, per refusal,
        what they need (undo_by_hand): by the kill switch, a pause, a cooldown, a budget or an approval
        required, when it can be done and the command that performs it; by a change since the check, that a
        restore would write over that change, and no command. `shows` as `_undo`'s, said last."""
        notes = None
        if result.written:
            reason = (f"{record.action} did not help ({why}); its undo was sent but is not confirmed as done: "
                      f"{result.reason}; not claimed as undone: a person must check {record.service} as it is now")
        else:
            reason = (f"{record.action} did not help ({why}) and the undo did not happen: {result.reason}"
                      + undo_by_hand.by_hand(result.reason, result.held, service=record.service,
                                             action_id=record.key, action=record.action,
                                             traffic_before=record.traffic_before, limit=result.limit))
            if undo_by_hand.gives_command(result.held):
                notes = list(undo_by_hand.restore_commands(record.service, record.key, record.action,
                                                           self.config.commands_topic))
        return self._report(record, ActionState.UNDOING, ActionState.ESCALATED, OutcomeStatus.ESCALATED,
                            _shown(reason, shows), note=f"{why}; undo: {result.reason}", notes=notes,
                            held=None if result.written else result.held)

    def _move(self, record: ActionRecord, expected: ActionState, to: ActionState, note: str = "",
              report: dict[str, Any] | None = None, guard: dict[str, Any] | None = None) -> bool:
        """Guarded on its state and its escalation as read (an escalation as unreadable keeps the state and
        adds a report, which a move read before it must not overwrite), and on `guard`."""
        changes: dict[str, Any] = {"state": to.value, "resolved_at": self.now, **(report or {})}
        if note:
            changes["note"] = note
        expect = {"state": expected.value, "unread_escalated_at": record.unread_escalated_at,
                  "unread_told_at": record.unread_told_at, **(guard or {})}
        if to.value in JUDGED_STATES:
            # A verdict: copied into the incident's SETTLED record in the same commit, where the record keeps it.
            moved = write_verdict(self.state, record.model_dump(include=VERDICT_OF), changes, expect)
        else:
            moved = self.state.update_record(ACTIONS, record.key, changes, expect=expect)
        if moved and expected is ActionState.PENDING:
            self._give_back_write_claim(record)
        return moved

    def _give_back_write_claim(self, record: ActionRecord) -> None:
        """The target's write claim that a write of unknown outcome left held (`ActionRecord.write_claim`),
        given back once the sweep has judged that write (verified, escalated, or moved to its undo, whose own
        write takes the claim next): the verdict, made no sooner than the settle time after the write, on the
        target as read then, settles the outcome the claim was kept for, and the writes held back by it (an
        alert delivered again, a command, this very undo) proceed instead of waiting for the lease (12 min by
        default). Only by the move that left `pending` (guarded, so one sweep), and only if the write's own
        attempt still holds it: the release is owner-checked and its delete guarded by the claim's update
        time as read (StateStore.release), so a claim lapsed and taken by another write is left alone. Best
        effort: one not given back lapses with its lease, as before."""
        if not record.write_claim:
            return
        try:
            # Where the gate keeps it (guardrails.bound_key); one kept under the exact name before lapses with its lease.
            self.state.release(WRITING, bound_key(record.target), record.write_claim)
        except (TransientError, PermanentError) as exc:
            Timeline(record.incident_id, "command").step(
                "write_claim_kept", f"{record.key}: judged, but the write claim on {short_name(record.target)} it "
                f"left held could not be given back ({exc}): it lapses with its lease", severity="WARNING",
                key=record.key)
            return
        Timeline(record.incident_id, "command").step(
            "write_claim_given_back", f"{record.key}: judged, so the write claim on {short_name(record.target)} "
            "its unknown outcome kept is given back: other writes to it may proceed", key=record.key)

    def _report(self, record: ActionRecord, expected: ActionState, to: ActionState, status: OutcomeStatus,
                reason: str, note: str = "", after: dict[str, Any] | None = None,
                notes: list[str] | None = None, changes: dict[str, Any] | None = None,
                guard: dict[str, Any] | None = None, held: Held | None = None) -> Outcome | None:
        """The record moved from `expected` to `to` with its outcome stored in that very update, kept
        pending (held by this sweep) until its publish succeeds, as an intent keeps the sweep's report:
        a failed publish, or a sweep that dies before publishing, is published by a later sweep as the
        same outcome (`_unsent_outcomes`). None if another sweep moved it first (and reports it). `changes`:
        more fields of that update; `guard`: more fields it is guarded on; `held`: what held its write (an undo) back,
        as the gate said it (GateResult.held), on the outcome and its line."""
        if record.unread_escalated_at is not None and expected is ActionState.UNDOING:
            reason += (f" (this follows the escalation at {clock_on(record.unread_escalated_at, self.now)} that its "
                       f"undo "
                       "could not be finished: the attempt went through now)")
        elif record.unread_escalated_at is not None:
            reason += (f" (this follows the escalation at {clock_on(record.unread_escalated_at, self.now)} that its "
                       f"evidence "
                       "could not be read: it is readable now, and nothing was written since)")
        elif record.unread_told_at is not None:
            reason += (f" (this follows the notice at {clock_on(record.unread_told_at, self.now)} that its evidence "
                       f"could not be "
                       "read yet: it is readable now)")
        outcome = self._outcome(record, status, reason, after, notes, held)
        # Behind any report of it this sweep took unpublished (`_judge` judges none another sweep holds).
        earlier = self.kept.carried(record) or Carried()
        if not self.kept.keep(outcome, ACTIONS, record.key,
                              lambda kept: self._move(record, expected, to, note, report=kept | (changes or {}),
                                                      guard=earlier.expect | (guard or {})),
                              earlier):
            return None
        step_on_record(record.incident_id, status.value, reason, action=record.action, key=record.key, left=to,
                       held=outcome.held)
        if record.command_id:
            self._end_proposal(record, to, reason)
        return outcome

    def _end_proposal(self, record: ActionRecord, to: ActionState, reason: str) -> None:
        """The proposal an approve applied (its `key` is the action record's claim key, and the approving
        command is the record's), ended with the sweep's judgement of the write: `verified`, `undone` or
        `escalated`. An approve whose write is in doubt (sent, its answer lost) leaves it `in_doubt`, and a
        resend that finds the write recorded, `applied`: neither says what became of the change, and
        nothing else moves it. Guarded on its state as read and on the approving command, so a proposal
        decided otherwise is left alone; a proposal that is not open cannot be approved again either way
        (shared/commands/approval.py). Best effort: the outcome is stored and published whatever happens here."""
        try:
            # Each read alone: one that cannot be read is told once (`_read_or_tell`), never a reason to leave
            # the approved one among them unended (it stayed `in_doubt` for good, said at WARNING only).
            found = [self._read_or_tell(ProposalRecord, d, PROPOSALS, _CANNOT_END, self._damaged)
                     for d in self.state.find_records(PROPOSALS, "key", record.key)]
            for proposal in found:
                if proposal is None or proposal.state not in ("approved", "in_doubt", "applied") or proposal.command_id != record.command_id:
                    continue
                self.state.update_record(
                    PROPOSALS, proposal.proposal_id,
                    {"state": to.value, "note": f"{to.value} by the verification sweep at {self.now:%H:%M:%S} (action "
                                                f"{record.key}, written by command {record.command_id}): {reason}"[:1500]},
                    expect={"state": proposal.state, "command_id": record.command_id})
        except (TransientError, PermanentError) as exc:
            Timeline(record.incident_id, "command").step(
                "proposal_not_ended", f"{record.key}: the proposal it applies could not be ended {to.value} ({exc}); "
                "its outcome is published all the same", severity="WARNING")

    def _outcome(self, record: ActionRecord, status: OutcomeStatus, reason: str,
                 after: dict[str, Any] | None = None, notes: list[str] | None = None, held: Held | None = None
                 ) -> Outcome:
        # `action_id`: the action record the verdict is about, so that a person can find it (and name
        # it to restore_traffic).
        report = ActionReport(name=record.action, params=record.params, reversible=record.reversible,
                              before=record.before, after=after if after is not None else record.after,
                              action_id=record.key)
        return Outcome(incident_id=record.incident_id, trigger="command", target=record.service, action=report,
                       status=status, reason=reason, notes=notes or [], held=held,
                       timestamps=Timestamps(received_at=self.now, decided_at=self.now, completed_at=self.now))

    def _unsent_outcomes(self) -> list[Outcome]:
        """The outcomes an earlier sweep kept in action records, log-based incidents, pins, commands' answers and
        proposals (an escalation of one it cannot read, `_damaged_action`) and did not publish (its publish
        failed, or it died): published again as `_unsent_reports` publishes an intent's. One equality query on
        `report_state` per collection, at most MAX_PER_SWEEP each."""
        outcomes: list[Outcome] = []
        for collection in (*(c for c in KEPT_IN if c != INTENTS), PROPOSALS):
            outcomes += self.kept.unsent(collection, lambda c=collection: self.state.find_records(
                c, "report_state", REPORT_PENDING, MAX_PER_SWEEP), self._damaged_action)
        return outcomes

    # --- log-based incidents -----------------------------------------------------------------------

    def _close_log_incidents(self) -> list[Outcome]:
        outcomes = []
        for data in self.state.find_records(INCIDENTS, "state", "open", MAX_PER_SWEEP):
            incident = self._read_or_tell(IncidentRecord, data, INCIDENTS,
                                          "close that incident nor judge whether it is log-based", outcomes)
            if incident is None:
                continue
            if not incident.log_based:
                continue
            if not self.budget.allows("log-based incident(s)"):
                continue
            try:
                outcome = self._close_log_incident(incident)
            except TransientError as exc:   # the next sweep looks again; the outcomes before it are kept
                Timeline(incident.incident_id, "command").step("close_deferred", f"{incident.incident_id}: {exc}",
                                                               severity="WARNING")
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _close_log_incident(self, incident: IncidentRecord) -> Outcome | None:
        """Closed, with its `resolved` outcome kept in it until published, once its action is verified or
        its timeout passed; None if neither yet, or if another sweep (or its CLOSED) closed it first.

        The timeout waits while an action taken for the incident is still pending (or its undo unfinished):
        its verdict is what a person needs first, and a `resolved` before it reads as the incident over while
        the fix is unjudged. A timeout shorter than the verification deadline, or an action written late in
        the incident (a proposal approved near the timeout), closed it before its action's verdict."""
        timeout = timedelta(seconds=self.config.verification.log_incident_timeout_seconds)
        states = self._action_states(incident.incident_id)
        unjudged = [key for key, state in states if state in (ActionState.PENDING.value, ActionState.UNDOING.value)]
        by = "verification" if any(state == ActionState.VERIFIED.value for _, state in states) else (
            "timeout" if self.now >= incident.opened_at + timeout and not unjudged else "")
        if not by:
            return None
        judged = [state for _, state in states if state != ActionState.VERIFIED.value]
        # The verdict came first (the timeout waits for it): said, so a `resolved` is not read as the fix working.
        waited = (f", and after the verdict on its action ({', '.join(sorted(set(judged)))})"
                  if by == "timeout" and judged else "")
        reason = (f"log-based incident closed by Runwarden after {by}{waited}: log-based alert policies never send "
                  "a CLOSED notification")
        outcome = Outcome(incident_id=incident.incident_id, trigger="command", target=incident.target,
                          status=OutcomeStatus.RESOLVED, reason=reason,
                          timestamps=Timestamps(received_at=self.now, completed_at=self.now))
        closed = {"state": "closed", "closed_at": self.now, "closed_by": by}
        if not self.kept.keep(outcome, INCIDENTS, incident.incident_id, lambda kept: self.state.update_record(
                INCIDENTS, incident.incident_id, closed | kept, expect={"state": "open"})):
            return None
        Timeline(incident.incident_id, "command").step("resolved", reason)
        return outcome

    def _action_states(self, incident_id: str) -> list[tuple[str, str]]:
        """(key, state) of every action record taken for the incident."""
        return [(str(d.get("key", "")), str(d.get("state", "")))
                for d in self.state.find_records(ACTIONS, "incident_id", incident_id)]


    # --- pinned traffic -------------------------------------------------------------------------------

    def _pin_reminders(self) -> list[Outcome]:
        every = timedelta(seconds=self.config.verification.pin_reminder_seconds)
        outcomes = []
        for data in self.state.find_records(PINS, "pinned", True, MAX_PER_SWEEP):
            pin = self._read_or_tell(PinRecord, data, PINS, "remind of that pin nor tell which revision it holds",
                                     outcomes)
            if pin is None:
                continue
            last = pin.reminded_at or pin.pinned_at
            due = self.now - pin.pinned_at >= every and self.now - last >= every
            # A pin asked for and not serving is read every sweep: once what it asks for serves, or is asked for
            # no more, it is known at once (a reminder of it still waits for its period); so is one whose
            # revision served late, until its rollback's late verdict is recorded.
            if not due and pin.state is not PinState.ASKED and not pin.awaits_late_verdict:
                continue
            if not self.budget.allows("pin reminder(s)"):
                continue
            try:
                outcome = self._remind(pin, due, data.get("state"))
            except (TransientError, PermanentError) as exc:  # the next sweep looks again
                Timeline(pin.incident_id or None, "command").step("reminder_deferred", f"{pin.service}: {exc}",
                                                                  severity="WARNING")
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _remind(self, pin: PinRecord, due: bool = True, stored_state: Any = None) -> Outcome | None:
        """The pin read off its service (pins.read_pin: asked for in Service.traffic, serving in
        traffic_statuses, apart): released only when neither holds; its state moved, and said once, when
        what serves changed it; reminded of when `due`. `stored_state`: the state field as stored (None on a
        pin written before it was), which the update moving the state is guarded on."""
        try:
            service = self.adapters.run.get_service(pin.service)
        except PermanentError as exc:
            if exc.code != "NOT_FOUND":
                raise
            self._release_gone(pin, exc)
            return None
        reading = read_pin(service, pin.revision)
        if pin.state is PinState.ASKED and reading in (PinReading.ASKED, PinReading.GONE):
            # Asked for and never served: a revision deleted since will never serve (late_rollback.revision_gone).
            listed = [r.name for r in self.adapters.run.list_revisions(pin.service)]
            if late_rollback.revision_gone(service, pin.revision, listed):
                return self._release_deleted(pin, service)
        if not reading.held and pin.awaits_late_verdict:
            told = late_rollback.verdict_recorded(self.state.get_record(ACTIONS, pin.action_id))
            if not told:
                return self._released_unjudged(pin, service)
            self._note_late(pin, told)    # its verdict was told; only the pin's note was lost: released below
        if not reading.held:
            # Neither asked for nor serving by name: released or moved by other means, nothing to remind of.
            released = self.state.update_record(PINS, pin.service, {"pinned": False, "released_at": self.now,
                                                                    "released_by": "observed"},
                                                expect={"action_id": pin.action_id})
            if released and pin.pinned and pin.state is PinState.ASKED:
                # Its incident's timeline showed it asked for (the gate's `asked` line): it shows it released.
                Timeline(pin.incident_id or None, "command").step(
                    "released", f"{service.short_name} neither asks for nor serves {pin.revision} (asked for by "
                    f"{pin.action_id}) any more: the pin is released", service=pin.service, action_id=pin.action_id)
            return None
        if reading.state is not pin.state:
            return self._restate(pin, service, reading, stored_state)
        late = self._judge_late(pin) if pin.awaits_late_verdict and reading is PinReading.HOLDS else None
        if late is not None or not due:
            return late
        said = pin_words(service, pin.revision, reading)
        newer = service.latest_ready_revision
        if not said and (not newer or newer == pin.revision):
            return None  # nothing newer to release to: the pin costs nothing yet
        age = self.now - pin.pinned_at
        reason = said or (f"{service.short_name} has been pinned to {pin.revision} for {_hours(age)} while a newer "
                          f"Ready revision {newer} gets no traffic; release the pin when {newer} is fit to serve")
        return self._tell_of_pin(pin, reason, {"reminded_at": self.now}, {"pinned": True}, "reminder")

    def _restate(self, pin: PinRecord, service: Service, reading: PinReading, stored_state: Any) -> Outcome | None:
        """The pin's state moved to what the service shows (`reading.state`), once: guarded on the state as
        stored. A pin asked for whose revision now serves holds as any other, and a person is told so once
        (the rollback's own outcome said it failed); a pin that served and is now only asked for is reminded of
        at its period."""
        moved: dict[str, Any] = {"state": reading.state.value}
        if pin.state is not PinState.ASKED:
            self.state.update_record(PINS, pin.service, moved,
                                     expect={"action_id": pin.action_id, "pinned": True, "state": stored_state})
            return None
        # From now the rollback is judged as any other (`_judge_late`), its verdict told once.
        moved |= {"served_late_at": self.now, "late_verdict": ""}
        settle = timedelta(seconds=self.config.verification.settle_seconds)
        reason = (f"{service.short_name} now serves {pin.revision} at 100%, asked for by {pin.action_id}, whose "
                  "UpdateService operation had failed with its split left desired: traffic is pinned to "
                  f"{pin.revision}, and new deploys receive no traffic until the pin is released. The rollback is "
                  f"verified from now as any other: its verdict follows, no sooner than "
                  f"{clock_on(self.now + settle, self.now)}")
        return self._tell_of_pin(pin, reason, moved | {"reminded_at": self.now}, {"pinned": True, "state": stored_state},
                                 "pin_serving")

    def _judge_late(self, pin: PinRecord) -> Outcome | None:
        """The rollback of a pin asked for whose revision serves since `served_late_at`, judged as the
        verification judges any rollback (`_health`, judging.next_step) from then (late_rollback.judged_as), and
        its verdict recorded and told once: the action record moved from `escalated` to `verified` (or kept
        `escalated` with the evidence) by one update guarded on `applied_late_at` unset, its outcome kept in it
        until published; then the pin notes the verdict. None while it waits, and once recorded (a sweep again,
        a redelivery, or a pin whose note was lost after the record's update: noted now, nothing told)."""
        served = pin.served_late_at
        data = self.state.get_record(ACTIONS, pin.action_id)
        try:
            record = read_record(ActionRecord, data, ACTIONS, pin.action_id) if data else None
        except DamagedRecord as exc:   # said once, never judged on a record this version cannot read
            return self._late_unjudged(pin, f"cannot be read ({exc})", "unreadable")
        if record is None and served is not None:   # its record gone (expired): said once, as the promised verdict
            return self._late_unjudged(pin, "is no longer kept", "gone")
        if record is None or served is None or record.applied_late_at is not None \
                or record.state is not ActionState.ESCALATED:
            self._note_late(pin, record.state.value if record is not None else "escalated")
            return None
        judged = late_rollback.judged_as(record, served, self.config.verification)
        if self.now < judged.settle_at or self.kept.carried(record) is None:   # (another sweep's report first)
            return None
        try:
            with told_on(judged.applied_at):
                health = self._health(judged)
        except TransientError as exc:   # deferred (`reminder_deferred`) until its bar, then said unverified, once
            bar = late_rollback.unread_bar(judged)
            if self.now < bar:
                raise
            return self._late_verdict(pin, record, late_rollback.unverified(record, served, bar, str(exc)), True)
        found = late_rollback.verdict(record, served, judging.next_step(judged, health, self.now,
                                                                        self.config.verification))
        if found is None:
            return None
        return self._late_verdict(pin, record, found, health.kind is judging.HealthKind.UNCLEAR)

    def _late_verdict(self, pin: PinRecord, record: ActionRecord, found: late_rollback.LateVerdict,
                      unverified: bool) -> Outcome | None:
        """`found` recorded on the action record and told once, then noted on the pin. One `unverified` (its
        evidence unread or unclear to the end) also gets a WARNING `late_unverified` line: the rollback serves,
        and nobody has checked that it helped."""
        outcome = self._report(record, ActionState.ESCALATED, found.state, found.status, found.reason,
                               note=found.reason, changes={"applied_late_at": pin.served_late_at},
                               guard={"applied_late_at": None})
        if outcome is not None and unverified and found.status is not OutcomeStatus.VERIFIED:
            Timeline(pin.incident_id or None, "command").step("late_unverified", found.reason, severity="WARNING",
                                                              action_id=pin.action_id)
        self._note_late(pin, found.state.value if outcome is None or not unverified else "unverified")
        return outcome

    def _late_unjudged(self, pin: PinRecord, record_is: str, noted: str) -> None:
        """A late rollback whose action record gives no verdict (`record_is`: why), said once as a WARNING line in
        place of the verdict its reminder promised; the pin notes `noted` and is judged no more."""
        Timeline(pin.incident_id or None, "command").step(
            "late_unjudged", f"{pin.action_id}: its revision serves since it was asked for, but its action record "
            f"{record_is}: not verified; a person must judge {short_name(pin.service)}",
            severity="WARNING", action_id=pin.action_id)
        self._note_late(pin, noted)

    def _released_unjudged(self, pin: PinRecord, service: Service) -> Outcome | None:
        """A rollback served late whose pin was released by hand (neither asked for nor served any more) before
        its late verdict: said once, in place of the verdict its `pin_serving` reminder promised (a `released`
        line, so the timeline shows no pin), with what the service serves and asks for now; the pin released and
        noted `released`, by one update guarded on it still awaiting that verdict."""
        why = late_rollback.released_words(pin, "neither asked for nor served any more: released by hand or by "
                                                "another change", service, self.now)
        released = {"pinned": False, "released_at": self.now, "released_by": "observed", "late_verdict": "released"}
        return self._tell_of_pin(pin, why, released, {"pinned": True, "late_verdict": ""}, "released",
                                 notes=[f"See what the service asks for and serves with: "
                                        f"{describe_command(pin.service)}"])

    def _note_late(self, pin: PinRecord, state: str) -> None:
        """The pin notes its rollback's late verdict: it is judged no more."""
        self.state.update_record(PINS, pin.service, {"late_verdict": state},
                                 expect={"action_id": pin.action_id, "late_verdict": ""})

    def _release_deleted(self, pin: PinRecord, service: Service) -> Outcome | None:
        """A pin asked for whose revision no longer exists: released once, told to a person (a `reminder`
        of the pin: what was asked, that the revision is gone, what serves now), never silently; guarded on
        the pin as read, so a second sweep tells nothing."""
        why = late_rollback.gone_words(service, pin.revision, pin.action_id)
        released = {"pinned": False, "released_at": self.now, "released_by": "revision deleted", "released_why": why}
        return self._tell_of_pin(pin, why, released, {"pinned": True, "state": PinState.ASKED.value}, "released",
                                 notes=[f"See what the service asks for and serves with: "
                                        f"{describe_command(pin.service)}"])

    def _tell_of_pin(self, pin: PinRecord, reason: str, changes: dict[str, Any], expect: dict[str, Any],
                     step: str, notes: list[str] | None = None) -> Outcome | None:
        """A `reminder` outcome about the pin, kept on it by the one update that makes `changes` (guarded on
        `expect` and the pin's rollback), and the rollback's incident's timeline step; None when another sweep
        made that update first."""
        gcloud, runwarden = release_commands(pin.service)
        # The rollback's incident, as its verified or undone outcome names it (record.incident_id): the notify
        # line then carries its label, so the page names the incident (infra/watchdog.tf, policy `notify`).
        outcome = Outcome(incident_id=pin.incident_id or None, trigger="command", target=pin.service,
                          status=OutcomeStatus.REMINDER, reason=reason,
                          action=ActionReport(name="rollback_traffic", action_id=pin.action_id),
                          notes=notes if notes is not None else [f"Release it with: {gcloud}", f"Or: {runwarden}"],
                          timestamps=Timestamps(received_at=self.now, completed_at=self.now))
        # The reminder replaces any earlier one still unpublished: it says the same, a period later. One kept by
        # the update that releases the pin is named on it, so that a failed publish is retried, not dropped.
        told = {"release_report": outcome.outcome_id} if changes.get("pinned") is False else {}
        if not self.kept.keep(outcome, PINS, pin.service, lambda kept: self.state.update_record(
                PINS, pin.service, changes | told | kept, expect={"action_id": pin.action_id} | expect)):
            return None
        # Its own line is the incident's too (labelled as the notify line is): `runwarden timeline INCIDENT`
        # shows the reminder. A pin stored before 0.2.0 names no incident, and its line none.
        Timeline(pin.incident_id or None, "command").step(step, reason, severity="WARNING", service=pin.service,
                                                          revision=pin.revision, action_id=pin.action_id)
        return outcome

    def _release_gone(self, pin: PinRecord, refusal: PermanentError) -> None:
        """The pinned service's own read, by name, answered NOT_FOUND: deleted since, with its revisions
        ("Deletes a Service. This will cause the Service to stop serving traffic and will delete all
        revisions": Cloud Run Admin API v2, projects.locations.services.delete). Nothing is pinned any more,
        and a reminder to release it would ask for a write to a service that does not exist: the pin is
        released, the refusal its reason, once (never read again, never a failed reminder every sweep).
        Not told as an outcome: whoever deleted the service ended its pin, and a rollback pending on it was
        escalated by its own sweep, which released the pin then (`_unpin_gone`)."""
        why = (f"{short_name(pin.service)} no longer exists (its read answered NOT_FOUND: {refusal}): deleted "
               f"since it was pinned to {pin.revision}, with its revisions; the pin is released")
        data = self.state.get_record(ACTIONS, pin.action_id) or {}
        self._unpin(pin.service, pin.action_id, why, data.get("incident_id"))

    def _unpin_gone(self, record: ActionRecord, health: judging.Health) -> None:
        """A rollback escalated because its service was deleted (judging.service_gone) leaves no traffic
        pinned: its pin is released with that reason at once, so neither the reminder nor the incident's
        timeline asks a person to release a pin of a service that does not exist."""
        if health.gone and record.action == "rollback_traffic":
            self._unpin(record.service, record.key, f"{health.why}; the pin is released", record.incident_id)

    def _unpin(self, service: str, action_id: str, why: str, incident_id: str | None) -> None:
        """The pin of `service` taken by `action_id` released for its service's deletion, said on the
        rollback's incident's timeline (`released`: shared/timeline/derive.py then shows no pin)."""
        if self.state.update_record(PINS, service, {"pinned": False, "released_at": self.now,
                                                    "released_by": "service deleted", "released_why": why},
                                    expect={"action_id": action_id, "pinned": True}):
            Timeline(incident_id, "command").step("released", why, service=service, action_id=action_id)

    # --- intents no attempt recorded (shared/remediation/intents.py) -----------------------------------

    def _unrecorded_intents(self) -> list[Outcome]:
        """Open intents older than their claim's lease plus the margin (`intents.due`), oldest
        first, at most MAX_INTENTS_PER_SWEEP; one that cannot be judged now (a transient fault)
        stays open for the next sweep."""
        cutoff = intents.cutoff(self.now, skew_safe_lease(self.config.guardrails.claim_ttl_seconds))
        outcomes = self._unsent_reports()
        self._stateless_intents(cutoff)
        try:
            page = self.state.find_before(INTENTS, "state", IntentState.OPEN.value, "noted_at", cutoff,
                                          MAX_INTENTS_PER_SWEEP)
        except (TransientError, PermanentError) as exc:
            # The sweep's last step: raising would lose the outcomes of the steps before it, whose
            # guarded moves never happen again. A permanent fault (the composite index missing or
            # still building, access denied) is reported; a transient one waits for the next sweep.
            return outcomes + self._intents_unread(exc)
        for data in page:
            if not self.budget.allows("intent(s)"):
                continue
            try:
                outcome = self._judge_stored(data)
            except (TransientError, PermanentError) as exc:   # the next sweep looks again, as for pins
                Timeline(data.get("incident_id"), "command").step(
                    "intent_deferred", f"{data.get('claim_key')}: {exc}",
                    severity="WARNING" if isinstance(exc, TransientError) else "ERROR")
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _unsent_reports(self) -> list[Outcome]:
        """The reports an earlier sweep kept in their intents and did not publish (its publish failed,
        or it died), once no sweep holds them: taken by a guarded update (`intents.take_report`), so
        that of two sweeps exactly one publishes each, and published again as they were (the same
        outcome_id). One equality query on `report_state` (a single-field index), at most
        MAX_INTENTS_PER_SWEEP; a fault waits for the next sweep."""
        return self.kept.unsent(INTENTS, lambda: self.state.find_records(INTENTS, "report_state", REPORT_PENDING,
                                                                   MAX_INTENTS_PER_SWEEP), self._damaged_action)

    def _pending(self, intent: IntentRecord, built: list[Outcome]) -> intents.Pending:
        """`intents.Pending` for one intent: builds the `escalated` the sweep will publish (kept in `built`)
        and the fields that keep it in the intent until it is published."""
        def pending(reason: str, report: ActionReport, notes: list[str]) -> dict[str, Any]:
            built.append(escalated(intent, reason, report, notes, self.now))
            return self.kept.fields(built[-1])
        return pending

    def _stateless_intents(self, cutoff: datetime) -> None:
        """Gives `open` to the intents an earlier version stored without a state, so that the open query
        (next) finds and judges them. No query can ask for a missing field: "If the index definition
        refers to a field for which the document has no value set, that document won't appear in the
        index. In this case, the document will never be returned as a result for any query based on
        the index" (Firestore "Standard edition index overview"). So the sweep walks the intents by
        `noted_at` alone (a single-field range: no composite index), at most MAX_STATELESS_PER_SWEEP a
        sweep, from where the last walk stopped (STATELESS_CURSOR) up to the cutoff, and moves each one
        without a state to `open` by an update guarded on its owner and its missing state (a missing
        field counts as None), so a redelivery judging it meanwhile, or another sweep, is never
        overtaken. It keeps walking after the upgrade: an instance of the earlier version still running,
        or a rollback to it, may store more. Once caught up, a sweep reads its bookmark and the intents
        stored since (usually none): a get and a query, and a put only when the page was not empty. A
        fault leaves the bookmark where it was, for the next sweep."""
        try:
            mark = self.state.get_record(SWEEP_MARKS, STATELESS_CURSOR) or {}
            since = mark.get("cursor") if isinstance(mark.get("cursor"), datetime) else _WALK_START
            if since >= cutoff:
                return
            page = self.state.find_between(INTENTS, "noted_at", since, cutoff, MAX_STATELESS_PER_SWEEP)
            for data in page:
                if data.get("state") is None:
                    self._give_state(data)
            if page:    # an empty page leaves nothing to skip next time: no write
                self.state.put_record(SWEEP_MARKS, STATELESS_CURSOR, {"cursor": _walked_to(page, since, cutoff),
                                                                      "by": self.owner, "at": self.now})
        except (TransientError, PermanentError) as exc:
            Timeline(None, "command").step("intents_deferred", f"intents without a state not walked: {exc}",
                                           severity="WARNING" if isinstance(exc, TransientError) else "ERROR")

    def _give_state(self, data: dict[str, Any]) -> None:
        try:
            intent = IntentRecord.model_validate(data)
        except ValidationError as exc:   # not an intent this version can read: the open query would not either
            named = stored_key(INTENTS, data)
            Timeline(None, "command").step("intent_unreadable", f"an intent without a state cannot be read"
                                           f"{f' ({named!r})' if named else ''}: {exc.error_count()} invalid "
                                           f"field(s) in {sorted(data)}", severity="ERROR")
            return
        if self.state.update_record(INTENTS, intent.key, {"state": IntentState.OPEN.value},
                                    expect={"owner": intent.owner, "state": None}):
            Timeline(intent.incident_id, "command").step(
                "intent_opened", f"{intent.claim_key}: stored by an earlier version without a state; open now, "
                "so that the sweep judges it", key=intent.claim_key)

    def _judge_stored(self, data: dict[str, Any]) -> Outcome | None:
        """One open intent as stored. One this version cannot read, or whose claim (read beside it) or another
        plan of whose claim it cannot read, is escalated once, so it leaves the page: raising would lose the
        outcomes before it, and stop this step of every sweep."""
        try:
            intent = IntentRecord.model_validate(data)
        except ValidationError as exc:
            return self._unreadable_intent(data, exc)
        try:
            return self._judge_intent(intent)
        except ValidationError as exc:
            return self._unreadable_intent(data, exc)
        except DamagedRecord as exc:   # another plan of its claim (plans.of_claim): it may be the one that wrote
            return self._unjudged(intent, _other_plan(exc))

    def _unreadable_intent(self, data: dict[str, Any], exc: ValidationError) -> Outcome | None:
        """An open intent past its lease that this version cannot read (or whose claim it cannot read,
        stored by another version): escalated once, naming it, by an update guarded on its owner and its
        state as read, with its report kept in it as any other (published again from its own fields,
        `_unsent_report`). Whether its write happened is not known, so nothing is written: a person
        judges it. Left open, it would be said at ERROR every sweep, and 20 of them would hold the open
        query's page for good. Its key's fields unreadable too, it is addressed by the key the query found it
        under (records.stored_key, ports.FoundRecord): before, it was said at ERROR every sweep, never told. With
        no owner it can be guarded on, it is still said at ERROR each sweep."""
        key, owner = stored_key(INTENTS, data), data.get("owner")
        named = text_field(data, "claim_key") or key
        if key is None or not isinstance(owner, str):
            Timeline(None, "command").step(
                "intent_unreadable", f"{named}: an open intent cannot be read by this version, nor addressed: "
                f"{exc.error_count()} invalid field(s); a person must check it", severity="ERROR")
            return None
        outcome = escalation_from(data, self.now, (
            f"the intent {key} ({data.get('action')} on {data.get('target') or 'a target it does not name'}, planned "
            f"by {owner}) is still open past "
            f"its claim's lease, and this version cannot read it or its claim ({exc.error_count()} invalid "
            "field(s)): whether its write happened is not known; nothing is written, a person must check the target"))
        closed = intents.closing(IntentState.ESCALATED, self.owner, self.now, outcome.reason)
        if not self.kept.keep(outcome, INTENTS, key, lambda kept: self.state.update_record(
                INTENTS, key, closed | kept, expect={"owner": owner, "state": IntentState.OPEN.value})):
            return None     # judged or closed meanwhile, by a redelivery or another sweep
        Timeline(outcome.incident_id, "command").step("escalated", outcome.reason, severity="ERROR", key=named)
        return outcome

    def _intents_unread(self, exc: Exception) -> list[Outcome]:
        if isinstance(exc, TransientError):
            Timeline(None, "command").step("intents_deferred", f"open intents not read: {exc}", severity="WARNING")
            return []
        reason = (f"the sweep cannot read the open intents ({exc}): a write whose attempt ended without recording "
                  "it is neither recorded nor reported until it can; a person must fix the cause")
        Timeline(None, "command").step("failed", reason, severity="ERROR")
        return [Outcome(trigger="command", status=OutcomeStatus.FAILED, reason=reason,
                        timestamps=Timestamps(received_at=self.now, completed_at=self.now))]

    def _judge_intent(self, intent: IntentRecord) -> Outcome | None:
        """One open intent: its action record and claim in one batched read, then, only if the
        attempt has ended without a record, the live target (intents.look_swept)."""
        try:
            action = get_action(intent.action)
        except KeyError as exc:    # an action this version no longer has: only a person can judge it
            return self._unjudged(intent, str(exc))
        record, claim = self.state.get_many([(ACTIONS, intent.claim_key), (CLAIMS, intent.claim_key)])
        held = ClaimRecord.model_validate(claim) if claim is not None else None
        try:
            found = intents.look_swept(intent, record is not None, held, action, self.adapters, self.now)
        except ValidationError as exc:   # its plan no longer fits the action (changed across a deploy)
            return self._unjudged(intent, f"its plan does not fit {intent.action} as this version has it: "
                                          f"{exc.error_count()} invalid field(s) in {sorted(intent.params)}")
        timeline = Timeline(intent.incident_id, "command")
        planned = (f"{intent.action} on {intent.target} (planned by {intent.owner} at "
                   f"{clock_on(intent.noted_at, self.now)})")
        if found.verdict is Verdict.WAIT:
            return None    # its claim is held: the holder records it, or the next sweep looks again
        if found.verdict is Verdict.NONE:
            recorded = found.standing is Standing.RESOLVED
            note = ("its action is recorded" if recorded else
                    f"{intent.target} shows the state before the plan: nothing was written")
            if intents.close(self.state, intent, IntentState.RECORDED if recorded else IntentState.VOID, self.owner,
                             self.now, note):
                timeline.step("intent_closed", f"{planned}: {note}", key=intent.claim_key)
            return None
        gate = Gate(self.config, self.state, self.adapters.clock, self.owner, timeline)
        built: list[Outcome] = []
        try:
            answer = intents.answer(found, intent, action, gate, planned, "the attempt that planned it",
                                    "ended without recording it (found by the sweep once its claim lapsed; its "
                                    "message may never be delivered again)", pending=self._pending(intent, built))
        except TransientError:
            if built:       # the write that stores the report was made: it may have landed
                self.kept.give_back(intent.key)
            raise
        except DamagedRecord as exc:   # another plan of its claim (plans.of_claim), read once the target was
            return self._unjudged(intent, _other_plan(exc), found)
        if answer.status is not OutcomeStatus.ESCALATED:
            return None    # another delivery or sweep recorded or escalated it first, and reports it
        timeline.step(answer.status.value, answer.reason, severity="WARNING", action=intent.action,
                      key=intent.claim_key)
        outcome = built[-1]     # as stored in the intent, kept there until published (`publish`)
        self.kept.hold(outcome, INTENTS, intent.key)
        return outcome


    def _unjudged(self, intent: IntentRecord, why: str, found: intents.Found | None = None) -> Outcome | None:
        """`intent` closed `escalated`, told once (its report kept in it, published by `_unsent_reports` if this
        publish fails), nothing written. `found`: what the target showed, when it was read before the judgement
        stopped (another plan of the claim unreadable): said, with what follows from the write having been made
        or maybe made, that no action record is kept, so nothing verifies it, undoes it or reminds of its pin."""
        reason = (f"{intent.action} on {intent.target}, planned by {intent.owner} at "
                  f"{clock_on(intent.noted_at, self.now)}, was "
                  f"never recorded, and this version cannot judge it ({why}){_seen(intent, found)}: a person must "
                  "check the target")
        built: list[Outcome] = []
        live = found.live if found is not None else None
        report = self._pending(intent, built)(reason, ActionReport(name=intent.action, params=intent.params,
                                                                   before=intent.before, after=live,
                                                                   action_id=intent.claim_key), [])
        try:
            closed = intents.close(self.state, intent, IntentState.ESCALATED, self.owner, self.now, reason, report)
        except TransientError:
            self.kept.give_back(intent.key)     # it may have landed, its answer lost
            raise
        if not closed:
            return None
        Timeline(intent.incident_id, "command").step("escalated", reason, severity="WARNING", key=intent.claim_key)
        self.kept.hold(built[-1], INTENTS, intent.key)
        return built[-1]


def _other_plan(exc: DamagedRecord) -> str:
    """Why an intent is not judged when another plan of its claim cannot be read (plans.of_claim)."""
    return f"{exc}; it may be another plan of the same claim, one that wrote or told of it, and must be repaired or deleted"


def _seen(intent: IntentRecord, found: "intents.Found | None") -> str:
    """What the sweep saw of the target before it stopped judging `intent` (`Sweep._unjudged`), and what follows:
    "" when it read nothing. A write made or maybe made is recorded nowhere the sweep reads (no action record, no
    pin), so it is never verified, undone or reminded of: said, so that it is not taken for one that will be."""
    if found is None or found.verdict not in (Verdict.RECORD, Verdict.SUPERSEDED, Verdict.ESCALATE):
        return ""
    if found.verdict is Verdict.RECORD:
        shown = f". {intent.target} shows the planned change: its write took"
    elif found.live is not None:
        shown = f". {intent.target} now shows {found.live}: its write may have been made"
    else:
        shown = f". {intent.target} could not be read ({found.error or 'no read'}): its write may have been made"
    pin = ", nor remind of the revision it pinned" if intent.action == "rollback_traffic" else ""
    return (f"{shown}. It is not recorded as an action: the verification sweep will not verify it or undo it{pin}; "
            "a person must judge the target's health, and undo it by hand if needed")


def _walked_to(page: list[dict[str, Any]], since: datetime, cutoff: datetime) -> datetime:
    """Where the next walk starts: the cutoff once a page came back short (everything before it was
    read), else the last `noted_at` read (read again next time, with any others stored at that very
    instant). A full page of one instant would never move: it moves a microsecond past it."""
    if len(page) < MAX_STATELESS_PER_SWEEP:
        return cutoff
    last = page[-1]["noted_at"]
    return last if last > since else since + timedelta(microseconds=1)


def _undo_claim_key(record: ActionRecord) -> str:
    """The gate's claim on a rollback's undo: restore_traffic, keyed on the rollback's incident and target."""
    return claim_key(record.incident_id, record.target, "restore_traffic")


def _stuck(record: ActionRecord) -> bool:
    """Escalated and kept as it is (`Sweep._unreadable`, `Sweep._unfinished`): a person was told, and
    every sweep since has failed to judge it or to finish its undo."""
    return record.unread_escalated_at is not None


def _least_tried(stuck: list[ActionRecord]) -> list[ActionRecord]:
    """At most MAX_STUCK_PER_SWEEP stuck actions, the least recently tried first (`tried_at`, recorded
    before each try; before any, the escalation's time), so that every one is tried in turn."""
    def last(r: ActionRecord) -> tuple[datetime, datetime, str]:
        return (r.tried_at or r.unread_escalated_at or r.deadline_at, r.deadline_at, r.key)
    return sorted(stuck, key=last)[:MAX_STUCK_PER_SWEEP]


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def sweep(config: Config, adapters: Any) -> list[Outcome]:
    return Sweep(config, adapters).run()




def _shown(reason: str, shows: str) -> str:
    """An escalated undo's reason with what the failing rollback shows of the cause said last
    (judging.deploy_not_the_cause), or the reason alone when it shows nothing."""
    return f"{reason.rstrip('. ')}; {shows}" if shows else reason
