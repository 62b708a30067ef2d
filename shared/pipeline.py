"""One path for an alert: parse -> evidence -> diagnose -> plan -> gate -> outcome.

Every step is written to the incident timeline; every path ends in exactly one published
outcome. Malformed input is answered (rejected), never raised, so Pub/Sub does not redeliver
a poison message forever; transient faults are raised, so the platform retries.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.remediation.actions import get_action
from shared.clock import Clock, SystemClock
from shared.diagnosis.collection import Readers, collect, epoch_to_datetime
from shared.config import Config
from shared.diagnosis.diagnose import diagnose
from shared.errors import PermanentError
from shared.remediation.guardrails import Gate
from shared.remediation.history import (
    incident_closed,
    note_closed,
    note_opened,
    recent_verified_fix,
)
from shared.alerts.incidents import Incident, IncidentParseError, parse_message_published
from shared.outcomes import (
    ActionReport,
    DiagnosisReport,
    Outcome,
    OutcomeStatus,
    Timestamps,
    notify,
)
from shared.remediation.planning import Plan, plan
from shared.ports import (
    LoggingPort,
    MonitoringPort,
    PublisherPort,
    RunPort,
    StateStore,
    VpcAccessPort,
)
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.timeline.writer import Timeline


@dataclass
class Adapters:
    run: RunPort
    monitoring: MonitoringPort
    publisher: PublisherPort
    state: StateStore
    clock: Clock
    logging: LoggingPort | None = None
    vpcaccess: VpcAccessPort | None = None

    def readers(self) -> Readers:
        return Readers(run=self.run, monitoring=self.monitoring, logging=self.logging, vpcaccess=self.vpcaccess)


def google_adapters(config: Config) -> Adapters:
    """The real adapters. Each finds a local server through its *_EMULATOR_HOST variable."""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.pubsub import PubSubPublisher
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    return Adapters(
        run=CloudRunAdapter(),
        monitoring=CloudMonitoringAdapter(),
        publisher=PubSubPublisher(),
        state=FirestoreStateStore(config.project, database=config.state.database,
                                  collection_prefix=config.state.collection_prefix),
        clock=SystemClock(),
        logging=CloudLoggingAdapter(),
        vpcaccess=VpcAccessAdapter(),
    )


def handle_alert(event_data: Any, config: Config, adapters: Adapters) -> Outcome:
    """Handle one messagePublished CloudEvent's data. Returns the outcome it published."""
    received_at = adapters.clock.now()
    try:
        message, incident = parse_message_published(event_data)
    except IncidentParseError as exc:
        return _reject(exc, event_data, config, adapters, received_at)

    timeline = Timeline(incident.incident_id)
    timeline.step("received", f"alert {incident.incident_id} ({incident.state.value}) from policy "
                  f"{incident.policy_name!r}", message_id=message.message_id, policy=incident.policy_name,
                  condition=incident.condition_name, resource=incident.resource_labels,
                  state=incident.state.value, started_at=incident.started_at, ended_at=incident.ended_at)
    alert = _AlertRun(incident, message.message_id, config, adapters, timeline, received_at)
    return alert.publish(alert.decide())


class _AlertRun:
    """The state of handling one parsed alert."""

    def __init__(self, incident: Incident, message_id: str | None, config: Config, adapters: Adapters,
                 timeline: Timeline, received_at: datetime) -> None:
        self.incident = incident
        self.message_id = message_id
        self.config = config
        self.adapters = adapters
        self.timeline = timeline
        self.received_at = received_at

    def decide(self) -> Outcome:
        incident = self.incident
        state, now = self.adapters.state, self.adapters.clock.now()
        if not incident.is_open:
            note_closed(state, incident, now)
            return self.outcome(OutcomeStatus.RESOLVED, "incident closed; recorded, no action taken",
                                step="resolved", target=incident.cloud_run_service)
        if incident.is_test:
            return self.outcome(OutcomeStatus.SKIPPED, "test notification; nothing to diagnose")
        service = incident.cloud_run_service
        if service is None:
            return self.outcome(OutcomeStatus.SKIPPED,
                                f"resource type {incident.resource_type!r} is not a Cloud Run revision")
        if not self.config.manages(service):
            return self.outcome(OutcomeStatus.SKIPPED, f"{service} is not a managed service", target=service)
        closed = incident_closed(state, incident.incident_id)
        if closed is not None:  # a CLOSED that overtook this OPEN: the incident is over
            return self.outcome(OutcomeStatus.SKIPPED, f"incident already closed at {closed.closed_at:%H:%M:%S} "
                                f"({closed.closed_by}); no action on a closed incident", target=service)
        note_opened(state, incident, service, now)
        return self.diagnose_and_act(service)

    def diagnose_and_act(self, service: str) -> Outcome:
        gate = Gate(self.config, self.adapters.state, self.adapters.clock, owner=_attempt_owner(self.message_id),
                    timeline=self.timeline)
        duplicate = self.duplicate(gate, service)
        if duplicate is not None:
            return duplicate
        now = self.adapters.clock.now()
        managed = self.config.service(service)
        try:
            bundle = collect(service, epoch_to_datetime(self.incident.started_at), self.adapters.readers(),
                             self.config.diagnosis, now, sql_instances=managed.cloudsql_instances if managed else ())
        except PermanentError as exc:  # e.g. the service is gone, or Runwarden may not read it
            return self.outcome(OutcomeStatus.FAILED, f"cannot read the evidence: {exc} [{exc.code}]", target=service)
        diagnosis = diagnose(bundle, self.config.diagnosis)
        report = _report(diagnosis)
        self.timeline.step("diagnosed", f"{diagnosis.signature.value} (confidence {diagnosis.confidence:.2f}): "
                           f"{diagnosis.summary}", signature=diagnosis.signature.value,
                           competing=list(diagnosis.competing), stand_down=diagnosis.stand_down,
                           api_calls=diagnosis.api_calls, evidence=[e.model_dump() for e in diagnosis.evidence])
        proposal = plan(diagnosis, bundle, self.config.diagnosis, self.config.bounds)
        if proposal.action is None:
            # A concurrent delivery may have acted while this one read state; that is no escalation.
            status = OutcomeStatus.SKIPPED if diagnosis.signature is Signature.HEALTHY else OutcomeStatus.ESCALATED
            return self.duplicate(gate, service, report) or self.outcome(
                status, proposal.reason, target=service, diagnosis=report)

        if self.config.guardrails.require_label and bundle.service.labels.get("runwarden") != "enabled":
            return self.outcome(OutcomeStatus.SKIPPED, f"{service} does not carry the label runwarden=enabled "
                                "(guardrails.require_label)", target=service, diagnosis=report)
        return self.act(gate, service, proposal, diagnosis, report, now)

    def act(self, gate: Gate, service: str, proposal: Plan, diagnosis: Diagnosis, report: DiagnosisReport,
            now: datetime) -> Outcome:
        """The planned action, unless its signature came back after a verified fix; through the gate."""
        action = get_action(proposal.action)
        returned = recent_verified_fix(self.adapters.state, service, action.name, now,
                                       self.config.verification.recurrence_window_seconds)
        if returned is not None:
            return self.outcome(OutcomeStatus.ESCALATED,
                                f"{diagnosis.signature.value} came back after {action.name} was verified at "
                                f"{returned.resolved_at:%Y-%m-%d %H:%M:%S} ({returned.key}): not looping, a person "
                                "must look", target=service, diagnosis=report)
        self.timeline.step("planned", proposal.reason, action=action.name,
                           params=proposal.params.model_dump(mode="json"))
        result = gate.execute(action, proposal.params, proposal.before, self.incident.incident_id, self.adapters,
                              service=service, signature=diagnosis.signature.value, targets=proposal.targets)
        action_report = ActionReport(name=action.name, params=proposal.params.model_dump(mode="json"),
                                     reversible=action.reversible, before=proposal.before, after=result.after,
                                     action_id=result.claim_key,
                                     proposal_id=result.proposal.proposal_id if result.proposal else None,
                                     proposal_expires_at=result.proposal.expires_at if result.proposal else None)
        notes = action.notes(proposal.params) if result.status is OutcomeStatus.APPLIED else result.notes
        return self.outcome(result.status, result.reason, target=service, diagnosis=report,
                            action=action_report, notes=notes, decided_at=now)

    def duplicate(self, gate: Gate, service: str, report: DiagnosisReport | None = None) -> Outcome | None:
        """A `skipped` outcome if this incident's action on the service is already claimed or done."""
        handled = gate.already_handled(self.incident.incident_id, service)
        if handled is None:
            return None
        name, result = handled
        return self.outcome(result.status, result.reason, target=service, diagnosis=report,
                            action=ActionReport(name=name, after=result.after))

    def outcome(self, status: OutcomeStatus, reason: str, *, step: str | None = None, target: str | None = None,
                diagnosis: DiagnosisReport | None = None, action: ActionReport | None = None,
                notes: list[str] | None = None, decided_at: datetime | None = None) -> Outcome:
        severity = {OutcomeStatus.FAILED: "ERROR", OutcomeStatus.ESCALATED: "WARNING", OutcomeStatus.UNDONE: "WARNING",
                    OutcomeStatus.PROPOSED: "NOTICE"}.get(status, "INFO")
        self.timeline.step(step or status.value, reason, severity=severity, status=status.value,
                           after=action.after if action else None)
        return Outcome(incident_id=self.incident.incident_id, target=target, diagnosis=diagnosis, action=action,
                       status=status, reason=reason, notes=notes or [], message_id=self.message_id,
                       timestamps=Timestamps(received_at=self.received_at, decided_at=decided_at or self.adapters.clock.now(),
                                             completed_at=self.adapters.clock.now()))

    def publish(self, outcome: Outcome) -> Outcome:
        return publish_outcome(outcome, self.config, self.adapters, self.timeline)


def publish_outcome(outcome: Outcome, config: Config, adapters: Adapters, timeline: Timeline) -> Outcome:
    message_id = adapters.publisher.publish(config.outcomes_topic, outcome.to_json(), outcome.attributes(),
                                            ordering_key=outcome.ordering_key)
    timeline.step("outcome_published", f"outcome {outcome.status.value} published to {config.outcomes_topic}",
                  outcome_id=outcome.outcome_id, pubsub_message_id=message_id, status=outcome.status.value)
    notify(outcome, Timeline(outcome.incident_id, timeline.trigger))
    return outcome


def _reject(error: IncidentParseError, event_data: Any, config: Config, adapters: Adapters,
            received_at: datetime) -> Outcome:
    message_id = _message_id(event_data)
    timeline = Timeline(None)
    timeline.step("rejected", f"malformed alert rejected: {error}", severity="ERROR",
                  field=error.field, message_id=message_id)
    outcome = Outcome(status=OutcomeStatus.REJECTED, reason=f"malformed alert: {error}", message_id=message_id,
                      timestamps=Timestamps(received_at=received_at, completed_at=adapters.clock.now()))
    return publish_outcome(outcome, config, adapters, timeline)


def _attempt_owner(message_id: str | None) -> str:
    # Unique per attempt: a redelivery of the same message must not release another attempt's claim.
    return f"{message_id or 'unknown'}:{uuid.uuid4().hex[:12]}"


def _message_id(event_data: Any) -> str | None:
    message = event_data.get("message") if isinstance(event_data, dict) else None
    if isinstance(message, dict):
        value = message.get("messageId") or message.get("message_id")
        return str(value) if value is not None else None
    return None


def _report(diagnosis: Diagnosis) -> DiagnosisReport:
    return DiagnosisReport(signature=diagnosis.signature.value, confidence=diagnosis.confidence,
                           rule=diagnosis.rule, summary=diagnosis.summary, evidence=list(diagnosis.evidence),
                           competing=list(diagnosis.competing), stand_down=diagnosis.stand_down,
                           recommendation=diagnosis.recommendation, api_calls=diagnosis.api_calls)
