"""What every command handler shares: the parsed command, the adapters, the timeline (each of
whose steps carries the command_id), and one way to build the command's outcome."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from shared.alerts.commands import AnyCommand, command_digest
from shared.alerts.operators import OVERRIDE_LIMITS, OperatorOnly, not_an_operator
from shared.clock import skew_safe_lease
from shared.config import Config
from shared.errors import DamagedRecord
from shared.outcomes import (ActionReport, DiagnosisReport, Outcome, OutcomeStatus, Timestamps, applied_record,
                             held_detail)
from shared.ports import ClaimRecord, RecordWrite
from shared.remediation.guardrails import Gate, Manual, command_incident
from shared.remediation.held_reports import Holder
from shared.remediation.refusals import Held
from shared.timeline.writer import Timeline


class CommandTimeline(Timeline):
    """A timeline whose every step names the command it belongs to."""

    def __init__(self, incident_id: str | None, command_id: str | None) -> None:
        super().__init__(incident_id, "command")
        self.command_id = command_id

    def step(self, step: str, message: str, severity: str = "INFO", extra_labels: dict[str, str] | None = None,
             **details: Any) -> None:
        details.setdefault("command_id", self.command_id)
        super().step(step, message, severity, extra_labels, **details)


def command_owner(command_id: str, message_id: str | None) -> str:
    """Who holds a command's claims: this attempt, as "command:COMMAND_ID:ATTEMPT" (the form of an
    alert attempt's "MESSAGE_ID:ATTEMPT", shared.pipeline), so that the gate tells a claim left by
    an earlier attempt at the same command from a duplicate (CommandRun.gate)."""
    attempt = f"{message_id or 'm'}.{uuid.uuid4().hex[:12]}".replace(":", "_")
    return f"{command_attempts(command_id)}:{attempt}"


def command_attempts(command_id: str) -> str:
    return f"command:{command_id}"


class Refused(Exception):
    """A handler's early answer: the command is `rejected` (bad input, naming the field) or
    `skipped` (sound, but refused: the world changed, nothing to do)."""

    def __init__(self, status: OutcomeStatus, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = f"{field}: {reason}" if field else reason
        self.field = field


def rejected(field: str, reason: str) -> Refused:
    return Refused(OutcomeStatus.REJECTED, reason, field)


def refused(reason: str) -> Refused:
    return Refused(OutcomeStatus.SKIPPED, reason)


def earlier_unreadable(run: "CommandRun", exc: DamagedRecord) -> Refused:
    """`escalated`, nothing written: a record that says whether an earlier attempt at this command wrote (its
    intent, the action record or gate claim at its key, a restore's note: recovery.py, restore_notes.py; the
    command's own record, its COMMANDS claim holding the first answer: commands/__init__.py `_run`) cannot
    be read, named once by `exc` (collection, key, field). Whether that attempt's write took is then not known,
    so the command is not run; a retry would read the same record, so it is answered, not raised."""
    command = run.command
    run.use_incident(command_incident(run.command_id or ""))
    return Refused(OutcomeStatus.ESCALATED, f"{command.command} on {command.target or 'its target'} not run: {exc}, "
                   f"and it says whether an earlier attempt at command {run.command_id} wrote, so that write may "
                   "have taken; nothing written. A person must repair or delete that record and check the target; "
                   "to run the command again, send it with a new command_id")


@dataclass
class CommandRun:
    command: AnyCommand
    config: Config
    adapters: Any
    timeline: CommandTimeline
    received_at: datetime
    message_id: str | None = None
    owner: str = ""
    # When Pub/Sub took the message (PubsubMessage.publish_time, "The time at which the message was
    # published, populated by the server when it receives the Publish call", google/pubsub/v1/pubsub.proto):
    # the same on every redelivery of it, so it orders commands as their senders sent them, not as they
    # arrived. None when the push carried none.
    published_at: datetime | None = None
    incident_id: str | None = None   # the incident the command's outcome belongs to, once known
    notes: list[str] = field(default_factory=list)
    # An approve's acceptance of its connector's peers unread (params.accept_unread_peers): what was not read, for
    # its timeline step. "" when none was accepted.
    unread_accepted: str = ""
    held: Holder | None = None   # `holder`
    claimed: ClaimRecord | None = None   # the command's record (its claim on the command_id) as this delivery took it
    reused_id: bool = False      # the id's earlier write was another command's (recovery._reused_id): no record kept
    # Writes the answer stands on (an approve's or a reject's decision on its proposal), made by the very
    # commit that completes the command's record and keeps its answer (answers.complete), never one
    # without the other.
    decisions: list[RecordWrite] = field(default_factory=list)
    # The answer instead, if a decision's expectation no longer holds at that commit (another command
    # decided the proposal meanwhile) and the answer as made would then be false (a reject's "closed").
    # None: the answer stands, its notes saying the decision is not recorded (an approve's refusal).
    undecided: Outcome | None = None
    # What the decision that won says, read when `undecided` is answered (appended to its reason): who decided
    # the proposal meanwhile, how, and what that means. None: `undecided` as built.
    meanwhile: Callable[[], str] | None = None

    @property
    def command_id(self) -> str | None:
        return self.command.command_id

    @property
    def now(self) -> datetime:
        return self.adapters.clock.now()

    def manual(self) -> Manual:
        c = self.command
        return Manual(command_id=c.command_id or "", requested_by=c.requested_by,
                      override_limits=bool(getattr(c, "override_limits", False)), dry_run=bool(c.dry_run),
                      digest=command_digest(c))

    def gate(self) -> Gate:
        # A gate claim left unfinished by an earlier attempt at this command (its give-back failed)
        # is then waited out (InProgress) rather than answered as a duplicate of a write never made.
        return Gate(self.config, self.adapters.state, self.adapters.clock, owner=self.owner, timeline=self.timeline,
                    message_id=command_attempts(self.command_id or ""))

    def own_incident(self) -> str:
        """A manual action's claim and records carry its command_id as their incident."""
        self.use_incident(command_incident(self.command_id or ""))
        return self.incident_id or ""

    def use_incident(self, incident_id: str) -> None:
        self.incident_id = incident_id
        self.timeline.incident_id = incident_id

    def require_operator(self, rule: OperatorOnly, detail: str = "") -> None:
        """Refuses a sender not in operators what `rule` leaves to them (shared/alerts/operators.py, the one list the
        CLI's help reads too)."""
        if not self.config.is_operator(self.command.requested_by):
            raise rejected("requested_by", not_an_operator(self.command.requested_by, rule, detail,
                                                           self.config.operator_in_member_form(
                                                               self.command.requested_by)))

    def require_own_override(self) -> None:
        """Refuses an `override_limits` a sender not in operators set. Checked first by every write that takes it,
        before any "nothing to do": a `skipped` would hide from the sender that the override was not theirs."""
        if getattr(self.command, "override_limits", False):
            self.require_operator(OVERRIDE_LIMITS)

    def outcome(self, status: OutcomeStatus, reason: str, *, target: str | None = None,
                action: ActionReport | None = None, diagnosis: DiagnosisReport | None = None,
                notes: list[str] | None = None, snapshot: dict[str, Any] | None = None,
                first_status: OutcomeStatus | None = None, held: Held | None = None) -> Outcome:
        return self.stepped(self.build(status, reason, target=target, action=action, diagnosis=diagnosis, notes=notes,
                                       snapshot=snapshot, first_status=first_status, held=held))

    def stepped(self, outcome: Outcome) -> Outcome:
        """`outcome`, its decision written to the timeline."""
        status, action = outcome.status, outcome.action
        severity = {OutcomeStatus.FAILED: "ERROR", OutcomeStatus.REJECTED: "ERROR",
                    OutcomeStatus.ESCALATED: "WARNING"}.get(status, "INFO")
        override = bool(action and action.overrides)
        self.timeline.step(status.value, outcome.reason, severity=severity, status=status.value,
                           command=self.command.command, requested_by=self.command.requested_by,
                           target=outcome.target, **applied_record(outcome), **held_detail(outcome),
                           **({"override": True} if override else {}))
        return outcome

    def holder(self) -> Holder:
        """The report about an unrecorded write this delivery stores and holds the publish of
        (shared/remediation/held_reports.py), made on first use."""
        if self.held is None:
            self.held = Holder(self.adapters.state, self.owner, self.now,
                               skew_safe_lease(self.config.guardrails.claim_ttl_seconds))
        return self.held

    def build(self, status: OutcomeStatus, reason: str, *, target: str | None = None,
              action: ActionReport | None = None, diagnosis: DiagnosisReport | None = None,
              notes: list[str] | None = None, snapshot: dict[str, Any] | None = None,
              first_status: OutcomeStatus | None = None, held: Held | None = None) -> Outcome:
        """The outcome, with nothing written to the timeline yet. `held`: what held its write back (GateResult.held)."""
        now = self.now
        return Outcome(incident_id=self.incident_id, trigger="command", target=target, status=status, reason=reason,
                       action=action, diagnosis=diagnosis, notes=[*self.notes, *(notes or [])],
                       message_id=self.message_id, command_id=self.command_id,
                       requested_by=self.command.requested_by, snapshot=snapshot, first_status=first_status,
                       held=held, timestamps=Timestamps(received_at=self.received_at, decided_at=now, completed_at=now))
