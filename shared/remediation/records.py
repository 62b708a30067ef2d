"""What Runwarden remembers between invocations, besides claims: the actions it took (so a sweep
can verify, undo or escalate them) and the log-based incidents it must close itself."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Mapping, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from shared.diagnosis.evidence import AlertContext, TrafficTarget
from shared.diagnosis.signatures import TargetBackground
from shared.errors import DamagedRecord
from shared.remediation.pins import PinState
from shared.ports import found_key

ACTIONS = "actions"        # StateStore kind of ActionRecord, keyed by the claim key
INCIDENTS = "incidents"    # StateStore kind of IncidentRecord, keyed by the incident id
FLAGS = "flags"            # StateStore kind of operator flags (the kill switch)
KILL_SWITCH = "kill_switch"
PROPOSALS = "proposals"    # StateStore kind of ProposalRecord, keyed by the proposal id
PINS = "pins"              # StateStore kind of pinned-traffic records, keyed by the service
COMMANDS = "commands"      # StateStore claim kind: one claim per operator command_id
INTENTS = "intents"        # StateStore kind of IntentRecord, keyed by incident|message (intent_key)
SWEEP_MARKS = "sweep_marks"  # StateStore kind of the sweep's own bookmarks (verification.py), never expiring
ANSWERS = "answers"        # StateStore kind of CommandAnswer, keyed by the command_id: a command's answer until published
RESTORES = "restores"      # StateStore kind of RestoreNote, keyed by the restore's gate claim key
SETTLED = "settled"        # StateStore kind of what settled an incident's actions (SettledEntry fields), keyed
                           # by the incident id: shared/remediation/settled.py


def switch_time(flag: Mapping[str, Any]) -> str:
    """When a switch's flag (the kill switch, a pause) was turned, as every answer that names it says it:
    "2026-11-26 12:01:00 UTC", UTC stated plainly whatever zone the time was kept in; "" when the flag holds
    no time, or one whose zone is unknown (a naive time is not guessed at). Its `at` is the command's time
    (shared/commands/pause.py): a Firestore timestamp (a UTC datetime, google-cloud-firestore's
    DatetimeWithNanoseconds) or, written by another hand, an ISO time as text."""
    at = flag.get("at")
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return ""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        return ""
    return f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def stored_time(value: Any) -> datetime | None:
    """A time a record keeps: a datetime (as the stores give one back; a naive one read as UTC) or its ISO 8601
    text (a trailing "Z" included: datetime.fromisoformat reads it from Python 3.11); None when absent or
    unreadable, so that one damaged time never turns a hold or a verdict into an error redelivered each time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


# How long a record is kept after it was opened or applied: longer than any window that reads it
# (recurrence_window_seconds is at most 7 days). Firestore's TTL policy on `expires_at`
# (infra/firestore.tf) deletes it after that, so state does not pile up.
RECORD_RETENTION = timedelta(days=30)
# How long an operator command's record (its COMMANDS claim, completed with the first answer) is
# kept: as long as the action record the command may have made, and longer than Pub/Sub keeps the
# message that carried it for redelivery or a replay by seek (7 days less the clock allowance on
# the commands topic and its subscription, infra/pubsub.tf; Pub/Sub allows at most 31 days: "Cannot
# be more than 31 days", message_retention_duration of Topic and Subscription, Pub/Sub API
# reference, so keep them under 30 days). A resend of the same command_id within this is a duplicate quoting the first
# answer (shared/commands/__init__.py); a command whose `expires_at` lies further ahead than this is
# rejected, so a command that carries one can never outlive its record and run again.
COMMAND_RETENTION = RECORD_RETENTION


def claim_key(incident_id: str, target: str, action: str) -> str:
    """The key of an attempt's claim and of the action record it leaves (ActionRecord.key): the sweep's
    step lines on that record name it (`key`), and the incident timeline matches them to the write."""
    return f"{incident_id}|{target}|{action}"


class ActionState(str, Enum):
    PENDING = "pending"        # applied; waiting for the settle time, then for health
    UNDOING = "undoing"        # a sweep owns the undo (a crashed undo is retried after the claim TTL)
    VERIFIED = "verified"      # healthy on live data after the settle time
    UNDONE = "undone"          # not healthy by the deadline; the before-state was restored
    ESCALATED = "escalated"    # not healthy by the deadline, and not reversible (or the undo failed)


# The states a verdict leaves an action record in: the sweep judged it, and is done with it.
JUDGED_STATES = frozenset({ActionState.VERIFIED.value, ActionState.UNDONE.value, ActionState.ESCALATED.value})


class KeptReport(BaseModel):
    """An outcome the sweep made about a record, stored in that record by the very guarded write that
    made it true, and kept `pending` until its publish succeeds (kept_reports.KeptReports.publish): a failed
    publish, or a sweep that dies before publishing, is published by a later sweep, as the same outcome
    (the same outcome_id), by exactly one sweep (intents.take_report). `report_by` holds the publish, a
    lease until `report_until`, of `report` and of any `earlier_reports` before it. Kept in an intent
    (recorded or escalated), an action record (verified, undone, escalated), a pin (its reminder) and a
    log-based incident (resolved)."""

    model_config = ConfigDict(extra="ignore")

    report: str = ""                     # the Outcome's JSON, published as it is (the same outcome_id)
    report_state: str = ""               # REPORT_PENDING, then REPORT_SENT; "" when no report was made
    report_by: str = ""
    report_until: datetime | None = None
    reported_at: datetime | None = None
    # Reports kept in the record before `report` and not yet published, oldest first (JSON, as `report`):
    # a later judgement of the same record (an action's verdict after its escalation as unreadable, or
    # after its unfinished undo's) is kept behind them, never over them, and they are published first,
    # by the same holder (kept_reports.KeptReports.carried).
    earlier_reports: list[str] = []


# The note an operator's restore left on the rollback it undid, in the only wordings versions before
# `ActionRecord.undone_by_command` wrote: shared/commands/traffic.py `_close_rollbacks` ("traffic restored by alice@…
# (command rs-1)") and judging.restored_by_runwarden, the sweep's settling of such a restore whose record failed
# ("… (command rs-1), whose record had failed: …"). Read for those old records alone; a record written since
# carries the typed field, so a note reworded later changes nothing.
_LEGACY_UNDONE_NOTE = re.compile(r"traffic restored by .* \(command (?P<command>[^()]+)\)"
                                 r"(?:, whose record had failed: .*)?\Z", re.DOTALL)


def why_unreadable(exc: ValueError) -> str:
    """What made a stored record unreadable, in one short line for an answer: the first field pydantic names
    and its message (a ValidationError), else the error's first line."""
    errors = getattr(exc, "errors", None)
    first = errors()[0] if callable(errors) and errors() else None
    if first:
        where = ".".join(str(part) for part in first.get("loc", ())) or "record"
        return f"{where}: {first.get('msg', '')}"[:200]
    return (str(exc).splitlines() or [""])[0][:200]


_Model = TypeVar("_Model", bound=BaseModel)


def read_record(model: type[_Model], data: Mapping[str, Any], collection: str, key: str | None = None) -> _Model:
    """`data`, a record of `collection` as read, as `model`; one this version cannot read raises DamagedRecord
    naming it (`key`, else its own `key` field, else the key a finder found it under, ports.found_key, else
    "(no key)") and why (`why_unreadable`), so that the answer a person reads names the record to look at, not a
    stack trace."""
    try:
        return model.model_validate(data)
    except ValueError as exc:
        named = key or (data.get("key") if isinstance(data, Mapping) else None) or found_key(data)
        raise DamagedRecord(collection, repr(named) if isinstance(named, str) and named else "(no key)",
                            why_unreadable(exc)) from None


class ActionRecord(KeptReport):
    model_config = ConfigDict(extra="ignore")

    key: str                   # incident|target|action, the claim key
    incident_id: str
    target: str                # what was written to (a service or a connector)
    service: str               # the Cloud Run service whose health verifies it
    action: str
    signature: str
    params: dict[str, Any] = {}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    reversible: bool
    state: ActionState = ActionState.PENDING
    applied_at: datetime
    # When the diagnosis the write was decided on read its evidence (EvidenceBundle.collected_at, the writer's
    # clock), kept from the alert's diagnosis or from the proposal an approve wrote: the sweep reads others'
    # changes from then, not only since `applied_at` (judging.changed_by_others: one made during an approval
    # wait came before the write). None: an operator's own command (no diagnosis), or a record written before it
    # was kept; then judged from `applied_at`, as it was.
    evidence_read_at: datetime | None = None
    settle_at: datetime
    deadline_at: datetime
    resolved_at: datetime | None = None     # when it left PENDING
    incident_closed_at: datetime | None = None   # the CLOSED notification, if one came
    # What that CLOSED showed of the condition's recovery (Incident.recovery_shown: Monitoring's value on
    # the clear side of its bar), "" when it showed none (a snooze, data that stopped, a close by hand
    # close an incident too) or was recorded before this field: then the closing is cited, never proof.
    incident_recovery: str = ""
    # Another incident of the same alert policy on the action's target, opened while the action was
    # pending (history.note_refired): the policy's condition holds again (or still, on another series),
    # so its first incident's CLOSED no longer shows it cleared. When it was noted, and its id.
    refired_at: datetime | None = None
    refired_incident: str = ""
    # Of those incidents, the one that began latest: its own `started_at` (epoch seconds, as the notification
    # says it; None when none said a time an incident began, or the record is older) and its id. Whether
    # Monitoring found the condition met on minutes after the action settled (judging.refired_after_settle).
    refired_started_at: int | None = None
    refired_started_incident: str = ""
    # The revision each of those two incidents names (its resource.labels.revision_name on a
    # cloud_run_revision alert whose policy keeps the label; "" when it names none, or the record is older):
    # whether the condition held on the revision the rollback sent the traffic to, or on the one it took the
    # traffic from, still reached by a tag URL (judging.refire_about).
    refired_revision: str = ""
    refired_started_revision: str = ""
    # A connector change recorded before its update was seen over (its `after` not READY: the update
    # outlived the write's wait): when a sweep first read it READY with the change (verification
    # Sweep._note_took). Its minutes are judged from then (judging.judged_from), never from the settle time.
    took_at: datetime | None = None
    # A rollback whose UpdateService operation failed with its split left desired (closed `escalated`, pinned
    # ASKED) and whose revision a later sweep found serving: when that sweep found it (PinRecord.served_late_at),
    # set by the one update that records its late verdict (verification.Sweep._judge_late), so that verdict is
    # recorded and told once. None otherwise.
    applied_late_at: datetime | None = None
    # The alert that led to it (None: an operator's command, an approved proposal, a write the sweep
    # adopted from its intent, or a record from an earlier version): the sweep judges `healthy` at the
    # alert's own bar (shared/diagnosis/health_bar.py), as the alert's diagnosis did.
    alert: AlertContext | None = None
    # A rollback to a revision with a steady background of 5xx (shared/diagnosis/background.py): the bar it
    # was accepted at and the evidence, which the sweep judges the service at (judging.background_settings).
    # None for any other action, and on a record written before it was kept: judged at the alert's bar as then.
    target_background: TargetBackground | None = None
    note: str = ""
    command_id: str = ""       # the operator's command that made it ("" for automation)
    requested_by: str = ""
    command_digest: str = ""   # what that command asked (alerts.commands.command_digest): a reused id is told apart
    # The operator's command whose restore_traffic undid this rollback (shared/commands/traffic.py `_close_rollbacks`;
    # the sweep's settling of such a restore whose record failed: verification.Sweep._own_restore), "" when no
    # command's did. A resend of that very command is told by it (`undone_by`), never by the note's words.
    undone_by_command: str = ""
    # The Pub/Sub message that carried that command (PubsubMessage.message_id, google/pubsub/v1/pubsub.proto), ""
    # when none did or the record is older: a later restore of the same rollback names the one that undid it by it.
    undone_by_message: str = ""
    # The incident's start (Incident.started_at, epoch seconds) as the notification it was taken for said
    # it; None for an operator's command or a record from an earlier version. An OPEN of the same id that
    # says another start is escalated, not answered as a duplicate (guardrails.restarted).
    incident_started_at: int | None = None
    expires_at: datetime | None = None      # Firestore's TTL deletes the record after this
    # When the sweep escalated it, kept as it is: `pending`, because its evidence stayed unreadable past
    # the deadline and a verification period (verification.Sweep._unreadable), or `undoing`, because its
    # undo stayed unfinished for more than a verification period (Sweep._unfinished): escalated so once,
    # and a later judgement says it follows that escalation.
    unread_escalated_at: datetime | None = None
    # The first of the failed reads of its evidence in a row, while `pending` (verification.Sweep._not_yet_read):
    # cleared by a sweep that reads it again. Once the run has lasted half a verification period
    # (judging.unread_notice_due), a person is told, once (`unread_told_at`), and the sweep keeps reading.
    unread_since: datetime | None = None
    unread_told_at: datetime | None = None
    # When a sweep last began to try it once escalated so, or began to retry its unfinished undo
    # (verification.Sweep._tried): the stuck ones are tried in turn, the least recently tried first, and
    # a pause names an undo tried within a lease as possibly in flight (shared/commands/pause.py).
    tried_at: datetime | None = None
    # The holder of the target's write claim (guardrails.WRITING) this write left held: its outcome was
    # unknown, so the gate kept the claim until its lease, as the write might still be landing. The sweep's
    # verdict on it (verified, escalated, or the move to its undo) settles that outcome, and gives the claim
    # back then (verification.Sweep._move): the target's held writes proceed. "" when the write ended.
    write_claim: str = ""
    # The sweep that sent its undo to the gate, and when (verification.Sweep._undo, noted by an update guarded
    # on the note as read, before the gate is called; taken back when the gate gave its claim back with nothing
    # written): what a later sweep reads when that claim is gone (shared/remediation/undo_attempt.py).
    undo_sent_by: str = ""
    undo_sent_at: datetime | None = None
    # Its verdict (verified, undone, escalated) is kept in the incident's SETTLED record too (`SettledVerdict`,
    # `verdict_field`), written by the very commit that moves its state (settled.write_verdict): set by the gate
    # that wrote its SETTLED entry with it (`SettledEntry.verdicts`). False on a record from an earlier version.
    verdict_kept: bool = False
    # Its KeptReport: the verification sweep's outcome about it (verified, undone, escalated), stored
    # by the very update that moves its state (verification.Sweep._report).

    @property
    def undone_by(self) -> str:
        """The command whose restore undid it (`undone_by_command`); for a record undone before that field was
        kept, the command its note named in the one wording those versions wrote (`_LEGACY_UNDONE_NOTE`)."""
        if self.undone_by_command or self.state is not ActionState.UNDONE:
            return self.undone_by_command
        legacy = _LEGACY_UNDONE_NOTE.match(self.note)
        return legacy.group("command") if legacy else ""

    @model_validator(mode="after")
    def _expiry(self) -> "ActionRecord":
        if self.expires_at is None:
            self.expires_at = self.applied_at + RECORD_RETENTION
        return self

    @property
    def traffic_before(self) -> tuple[TrafficTarget, ...]:
        """The traffic split recorded before the action (`before["traffic"]`, as rollback_traffic
        .traffic_state keeps it): what an undo or a restore puts back. () when none was recorded (a
        connector's action)."""
        return tuple(TrafficTarget.model_validate(t) for t in self.before.get("traffic", []))


# As long as a message can still be redelivered or replayed: infra/pubsub.tf keeps every message 7 days
# less CLOCK_SKEW_ALLOWANCE (infra/locals.tf, message_retention), so that this record, dated by the
# handler's clock, outlives every delivery. Pub/Sub itself would keep one up to 31 days ("Cannot be more
# than 31 days or less than 10 minutes", Subscription and Topic message_retention_duration,
# google/pubsub/v1/pubsub.proto): a longer retention needs a longer INTENT_RETENTION
# (tests/infra/test_settings.py holds the two).
INTENT_RETENTION = timedelta(days=7)


class IntentState(str, Enum):
    """Where an intent stands. Open until its write is recorded (the gate closes it in the very
    commit that records the action), given back (nothing was written), or judged by a redelivery or
    the sweep (shared/remediation/intents.py). Only open intents are swept."""

    OPEN = "open"              # stored before the write; nothing has closed it yet
    RECORDED = "recorded"      # its claim key has an action record: the sweep verifies the change
    VOID = "void"              # nothing was written (given back, or the target shows the state before)
    ESCALATED = "escalated"    # a person was told that the target shows neither: never escalated again
    # An escalated plan whose hold a person lifted (`release`, shared/commands/hold.py): it holds nothing, as a
    # void one, but its write may have landed (nothing read says it did not), so it is never closed `void`
    # ("nothing was written"): the record keeps that write known, to the person's name and reason.
    RELEASED = "released"


REPORT_PENDING = "pending"   # KeptReport.report_state: stored, not yet known to be published
REPORT_SENT = "sent"         # published
REPORT_DROPPED = "dropped"   # no longer true when a sweep came to publish it (a reminder for a pin since released)


class IntentRecord(KeptReport):
    """What an alert's attempt (or an operator's command) was about to write, stored before the
    write (shared/remediation/intents.py): if the attempt dies or fails between its write and its
    record, the redelivery of the same message (the resend of the same command), or else the
    sweep, reads this, looks at the live target and records or reports the change."""

    model_config = ConfigDict(extra="ignore")

    incident_id: str
    message_id: str
    owner: str                 # the attempt ("MESSAGE_ID:ATTEMPT") that holds the claim
    claim_key: str             # incident|target|action: the key its claim and action record have
    action: str
    target: str
    service: str
    signature: str = ""
    params: dict[str, Any] = {}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}           # the action's preview: what the target looks like once written
    noted_at: datetime
    expires_at: datetime | None = None   # Firestore's TTL deletes the record after this
    command_id: str = ""                 # an operator's command: its id (keyed by command_intent_key)
    requested_by: str = ""
    command_digest: str = ""             # what that command asked (alerts.commands.command_digest)
    proposal_id: str = ""                # an approve's: the proposal its write applies (ended once recorded)
    # A rollback target's steady background of 5xx (ActionRecord.target_background), for the record an adopter
    # writes from this plan; None on a plan stored before it was kept.
    target_background: TargetBackground | None = None
    # None for an intent stored before intents had a state: the sweep's open query cannot find it (a
    # field missing from a document is missing from every index), so a walk through the intents by
    # `noted_at` gives it `open` (verification.Sweep._stateless_intents); a redelivery reads it as is.
    state: IntentState | None = None
    closed_at: datetime | None = None
    closed_by: str = ""                  # the attempt, redelivery or sweep that closed it
    note: str = ""
    # Its KeptReport: the sweep's (or a redelivery's) outcome about it, recorded or escalated, stored in
    # the very write that closes it.

    @model_validator(mode="after")
    def _expiry(self) -> "IntentRecord":
        if self.expires_at is None:
            self.expires_at = self.noted_at + INTENT_RETENTION
        return self

    @property
    def key(self) -> str:
        """Its key in INTENTS: an operator's command's, or an alert message's."""
        return command_intent_key(self.command_id) if self.command_id else intent_key(self.incident_id,
                                                                                      self.message_id)

    def unchanged(self) -> dict[str, Any]:
        """The fields that say it is still this very intent, as it was read, open: a guarded update's
        `expect`. The owner is unique per attempt, so another attempt's plan stored since under the same
        key (a redelivery planning afresh) never matches."""
        return {"owner": self.owner, "state": self.state.value if self.state is not None else None}


class CommandAnswer(KeptReport):
    """An operator command's first answer (its outcome, as built), kept until its publish succeeds
    (shared/commands/answers.py): stored by the very commit that completes the command's record with
    that answer, held by the delivery that made it for the claim's lease. A failed publish gives it
    back and the command is delivered again: the resend publishes it; if nothing is delivered again
    (dead-lettered), the sweep publishes it, once, as the same outcome (kept_reports.KeptReports)."""

    model_config = ConfigDict(extra="ignore")

    command_id: str
    command: str
    requested_by: str = ""
    incident_id: str | None = None
    target: str | None = None
    status: str                          # the answer's OutcomeStatus, as the command's record has it
    answered_at: datetime
    expires_at: datetime | None = None   # Firestore's TTL deletes it after this, with the command's record

    @property
    def key(self) -> str:
        return self.command_id

    @model_validator(mode="after")
    def _expiry(self) -> "CommandAnswer":
        if self.expires_at is None:
            self.expires_at = self.answered_at + COMMAND_RETENTION
        return self


def text_field(data: Mapping[str, Any], field: str) -> str | None:
    """A stored record's field as plain text, or None if it is missing, empty or not a string: how
    the fields of a record this version cannot read as a whole are read one by one."""
    value = data.get(field)
    return value if isinstance(value, str) and value else None


def stored_key(kind: str, data: Mapping[str, Any]) -> str | None:
    """The key of a record of `kind` as stored, from its own fields, even when the rest of it does not
    fit this version's model (None if those fields do not name one): an intent's is its command's or
    its alert message's, an action record's its `key`, an incident's its id, a pin's its service, a
    command's answer its command_id, a proposal its proposal_id (its `key` is the claim key its write takes).
    When those fields name none (damaged too), the key a finder found the record under (ports.found_key): the
    record is still named and addressed, not only logged."""
    return _own_key(kind, data) or found_key(data)


def _own_key(kind: str, data: Mapping[str, Any]) -> str | None:
    if kind == INTENTS:
        command, incident, message = (text_field(data, f) for f in ("command_id", "incident_id", "message_id"))
        if command:
            return command_intent_key(command)
        return intent_key(incident, message) if incident and message else None
    return text_field(data, {ACTIONS: "key", INCIDENTS: "incident_id", PINS: "service",
                             ANSWERS: "command_id", PROPOSALS: "proposal_id"}.get(kind, "key"))


def intent_key(incident_id: str, message_id: str) -> str:
    """The IntentRecord of one alert message's attempts at one incident."""
    return f"{incident_id}|{message_id}"


def command_intent_key(command_id: str) -> str:
    """The IntentRecord of an operator's command: every delivery of one command_id shares it (a
    resend may come in a new message), and it has no "|", so it never meets an alert's key."""
    return f"command:{command_id}"


class ProposalRecord(BaseModel):
    """A one-way action the policy leaves to a person: approved or rejected by its id, until it expires."""

    model_config = ConfigDict(extra="ignore")

    proposal_id: str
    key: str                   # the claim key the approved action will take
    incident_id: str
    target: str
    service: str
    action: str
    signature: str = ""
    params: dict[str, Any] = {}
    before: dict[str, Any] = {}
    proposed_change: dict[str, Any] = {}
    reason: str = ""
    proposed_at: datetime
    expires_at: datetime
    # The services the write is made for beyond `service` (Gate.execute's `on_behalf`: for a connector
    # alert, every managed service behind the connector, or that could not be read): an approve is held
    # back by a pause of any of them, as the alert's own write was. Empty in proposals made before it was kept.
    on_behalf: list[str] = []
    # Those of `on_behalf` only maybe behind the resource (guardrails.MaybeBehind: not readable during the
    # alert), so that an approve held back by one's pause says so as the alert's answer did. Empty before kept.
    maybe_behind: list[str] = []
    # The connector whose managed users the write was made for (a connector alert's proposal), "" for a
    # service's own alert: an approve re-reads who is behind it now and refuses if a managed service moved
    # onto it since, whose state the decision never weighed (shared/commands/approval.py). "" in proposals
    # made before it was kept (a non-empty `on_behalf` then marks a connector alert's).
    users_of: str = ""
    # A rollback target's steady background of 5xx (Plan.target_background): the approved write's action
    # record keeps it, and the sweep judges the rollback at it. None in proposals made before it was kept.
    target_background: TargetBackground | None = None
    # When the alert's diagnosis read the evidence it proposed on (EvidenceBundle.collected_at): the approved
    # write's action record keeps it (ActionRecord.evidence_read_at). None in proposals made before it was kept.
    evidence_read_at: datetime | None = None
    # open | approved | in_doubt | rejected | refused | superseded | applied | failed | expired; and, once the sweep
    # judged the write an approve made: verified | undone | escalated (verification.Sweep._end_proposal); or
    # abandoned: its approve's attempt ended without writing, closed by the sweep (shared/remediation/approvals.py)
    state: str = "open"
    decided_by: str = ""
    decided_at: datetime | None = None
    command_id: str = ""
    # What the deciding command asked (alerts.commands.command_digest): its record is told apart from another
    # command's under the same id (approvals.answers_approval). Proposals decided before it was kept: "".
    command_digest: str = ""
    note: str = ""


class RestoreMark(BaseModel):
    """An operator's restore_traffic, noted on the pin before its write (shared/commands/traffic.py):
    the command and the split it writes. If the write takes and its record fails, the sweep tells this
    split from someone else's change by it (verification.Sweep._own_restore)."""

    model_config = ConfigDict(extra="ignore")

    command_id: str
    requested_by: str
    traffic: list[dict[str, Any]]     # the split written (RestoreTrafficParams.desired), tags at 0% included
    # The Pub/Sub message that carried the command (PubsubMessage.message_id, google/pubsub/v1/pubsub.proto):
    # the sweep that settles this restore keeps it as the rollback's `undone_by_message`, as the recorded restore
    # would have. "" for a mark noted before it was kept, or a command that came in no message.
    message_id: str = ""
    # When it was noted: stored as a Firestore timestamp (`stored`). Notes stored before held the ISO
    # text instead (`model_dump(mode="json")`), which pydantic reads into the same instant.
    at: AwareDatetime

    def stored(self) -> dict[str, Any]:
        """The note as the pin holds it: `at` a timestamp, the split as plain values."""
        return self.model_dump(mode="python")


class RestoreNoteState(str, Enum):
    SENDING = "sending"   # noted before the gate: its write may be under way, or may have taken
    WRITTEN = "written"   # the gate answered that it wrote (its answer's status kept in `status`)
    VOID = "void"         # the gate wrote nothing (gave everything back, refused, a duplicate)


class RestoreNote(BaseModel):
    """An operator's restore_traffic, noted before its write (shared/commands/traffic.py), keyed by the
    restore's gate claim key (`command:<command_id>|<service>|restore_traffic`). A restore is a corrective
    action and stores no intent (Gate._intent); its gate claim and its command's record say whether an
    earlier attempt wrote, but both are claims, which Firestore's TTL deletes some time after their lease
    when the attempt never completed them. This note is kept as long as the command's own record would be
    (COMMAND_RETENTION, 30 days; the subscriptions keep an unacked message 7 days, infra/pubsub.tf
    `message_retention_duration`), so a send of the same command_id after both claims are gone still finds
    that an earlier attempt may have written (recovery.unfinished_write). A pause names one `sending` within
    a claim's lease as a write under way, pinned service or not (pause._restores)."""

    model_config = ConfigDict(extra="ignore")

    key: str
    command_id: str
    service: str
    owner: str                        # the attempt that stored it: only it settles or takes it back
    requested_by: str
    traffic: list[dict[str, Any]]     # the split written (RestoreTrafficParams.desired), tags at 0% included
    # The Pub/Sub message that carried the command (PubsubMessage.message_id, google/pubsub/v1/pubsub.proto):
    # the sweep that settles this restore keeps it as the rollback's `undone_by_message`, as the recorded restore
    # would have. "" for a mark noted before it was kept, or a command that came in no message.
    message_id: str = ""
    noted_at: AwareDatetime
    state: RestoreNoteState = RestoreNoteState.SENDING
    status: str = ""                  # the gate's answer, once `written`
    # The service's generation as the restore read it before noting itself (Service.generation: "A number
    # that monotonically increases every time the user modifies the desired state", google/cloud/run/v2/
    # service.proto). The same generation read later proves no write of the desired state landed since,
    # this restore's included (recovery._noted_write). None: a note from before it was kept.
    generation: int | None = None
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _expiry(self) -> "RestoreNote":
        if self.expires_at is None:
            self.expires_at = self.noted_at + COMMAND_RETENTION
        return self


class PinRecord(KeptReport):
    """A service whose traffic Runwarden pinned to one revision by a rollback, or asked to: a rollback whose
    UpdateService operation failed with its split left desired (`state` ASKED, shared/remediation/pins.py).
    Held (`pinned`) while the revision is asked for or serves; the sweep reads which (Sweep._remind). Its
    KeptReport: the latest reminder, stored by the update that moves `reminded_at` (verification.Sweep._remind)."""

    model_config = ConfigDict(extra="ignore")

    service: str
    revision: str
    action_id: str
    pinned_at: datetime
    # The incident of the rollback that pinned it (its ActionRecord.incident_id), which its reminders name;
    # "" on a pin written before the field was (its reminders name none, as they did).
    incident_id: str = ""
    pinned: bool = True
    # Serving, or asked for and not serving; a pin written before the field was is one that served.
    state: PinState = PinState.SERVING
    # A pin ASKED whose revision a sweep found serving since: when (an upper bound of when it began: the sweep
    # before saw it asked for, not serving), which its rollback is judged from; and the verdict of that late
    # verification once recorded ("verified" or "escalated"; "unreadable" for an action record this version
    # cannot read, "gone" for one no longer kept, "unverified" for evidence unread or unclear to its bar
    # (late_rollback.unread_bar), "released" for a pin released before the verdict, each said once; "" while it
    # waits for the settle time and its evidence). None and "" for a pin
    # that served from its write.
    served_late_at: datetime | None = None
    late_verdict: str = ""
    reminded_at: datetime | None = None
    released_at: datetime | None = None
    released_by: str = ""
    released_why: str = ""                 # why the sweep released it itself (its service deleted), else ""
    # The outcome_id of the reminder kept by the very update that released the pin (it tells of the release:
    # Sweep._tell_of_pin), else "": that one stays true and is published; any other kept reminder of a released
    # pin is dropped (kept_reports._released_since).
    release_report: str = ""
    restoring: RestoreMark | None = None   # the last operator's restore sent, written or not

    @property
    def key(self) -> str:
        return self.service

    @property
    def awaits_late_verdict(self) -> bool:
        """Its revision, asked for after a failed operation, serves since `served_late_at`, and the rollback's
        late verification has not been recorded yet."""
        return self.served_late_at is not None and not self.late_verdict and self.pinned


class IncidentRecord(KeptReport):
    """An incident Runwarden has seen open, or seen closed. Log-based alerts never send CLOSED, so the
    sweep closes them; its KeptReport is then the `resolved` outcome, stored by the update that closes it."""

    model_config = ConfigDict(extra="ignore")

    incident_id: str
    target: str | None = None
    log_based: bool = False
    opened_at: datetime
    # open (log-based: the sweep closes it) | seen (an OPEN reached Runwarden; Monitoring's CLOSED closes
    # it) | closed
    state: str = "open"
    closed_at: datetime | None = None
    closed_by: str = ""        # "notification", "cancelled", "verification" or "timeout"
    # What Monitoring's CLOSED showed of the condition's recovery (Incident.recovery_shown), "" for
    # nothing: a snooze, data that stopped, a close by hand; and Runwarden's own closings.
    recovery: str = ""
    # The alert policy whose CLOSED closed it (Incident.policy_resource), "" when unknown: another
    # policy's notification under the same id is not this incident's (guardrails.other_policy).
    policy: str = ""
    # The incident's own end as Monitoring's CLOSED gave it (`ended_at`, epoch seconds by Monitoring's
    # clock; None when it gave none, or the sweep closed it): an OPEN that started after it is no
    # earlier notification of this incident delivered late (shared/alerts/reasons.py `opened_after_close`).
    ended_at: int | None = None
    # Closed by a CLOSED that found no record of the incident's OPEN (`seen`) and no action of it: the OPEN
    # never reached Runwarden, or not yet (history.note_closed; reasons.never_opened).
    open_unseen: bool = False
    expires_at: datetime | None = None   # Firestore's TTL deletes the record after this

    @property
    def key(self) -> str:
        return self.incident_id

    @model_validator(mode="after")
    def _expiry(self) -> "IncidentRecord":
        if self.expires_at is None:
            self.expires_at = self.opened_at + RECORD_RETENTION
        return self


class SettledEntry(BaseModel):
    """What settled one action of an incident: written by the gate into the incident's SETTLED
    record (one field per claim key, `settled_field`) in the very commit that completes the claim
    and writes the action record, so that a duplicate delivery is answered from one batched read
    (shared/remediation/settled.py)."""

    model_config = ConfigDict(extra="ignore")

    key: str                   # the claim key, incident|target|action
    kind: str                  # the claim's kind (the gate's CLAIMS)
    target: str
    action: str
    recorded: bool             # the action record `key` was written in the same commit
    # The claim answers for the incident on `target` with no action record: a refusal kept for the cooldown
    # (Gate._refused) or an escalation kept for its plan (Gate._held_for_escalated, Gate.hold_escalated).
    # A later notification is answered from it in the read the alert path makes anyway (settled.py).
    held: bool = False
    claim: dict[str, Any] | None = None   # the claim exactly as that commit completed it; None if the
                                          # attempt no longer held it (it expired and was taken over)
    # The action record `key` keeps its verdict here (`ActionRecord.verdict_kept`): every commit that judges it
    # writes its `SettledVerdict` into this record too, so no verdict field means none yet. False on an entry
    # from an earlier version: whether the sweep has judged it is then asked of the action records (a query).
    verdicts: bool = False


class SettledVerdict(BaseModel):
    """An action record's verdict as its judging commit copies it into the incident's SETTLED record (one field
    per action, `verdict_field`): what a later notification of the incident is answered from
    (shared.pipeline `_AlertRun.after_verdict`, reasons.notified_after_verdict), read in the batched read the
    duplicate path makes anyway instead of a query of the incident's action records."""

    model_config = ConfigDict(extra="ignore")

    key: str
    action: str
    target: str
    state: ActionState         # verified, undone or escalated: a verdict never moves again
    applied_at: datetime
    resolved_at: datetime | None = None
    incident_started_at: int | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any], state: ActionState, resolved_at: datetime) -> "SettledVerdict":
        """The verdict `state` at `resolved_at` of the action record `data` (its stored fields, or a dump)."""
        return cls(key=data["key"], action=data["action"], target=data["target"], state=state,
                   applied_at=data["applied_at"], resolved_at=resolved_at,
                   incident_started_at=data.get("incident_started_at"))


SETTLED_FIELD_PREFIX = "c_"


def settled_field(key: str) -> str:
    """The SETTLED record's field for claim `key`: fixed-length and plain (a claim key holds '/',
    '.' and '|'), one per claim, so entries merged by different commits never overwrite each other."""
    return SETTLED_FIELD_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]


VERDICT_FIELD_PREFIX = "v_"


def verdict_field(key: str) -> str:
    """The SETTLED record's field for the verdict of action `key` (`SettledVerdict`): one per action, beside its
    entry's (`settled_field`), as a merge writes top-level fields only (RecordWrite)."""
    return VERDICT_FIELD_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]
