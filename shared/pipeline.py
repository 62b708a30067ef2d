"""One path for an alert: parse -> evidence -> diagnose -> plan -> gate -> outcome.

Every step is written to the incident timeline; every path ends in exactly one published
outcome. Malformed input is answered (rejected), never raised, so Pub/Sub does not redeliver
a poison message forever; transient faults are raised, so the platform retries.
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from shared.remediation.actions import get_action
from shared.remediation.actions.rollback_traffic import traffic_state
from shared.clock import Clock, SystemClock, skew_safe_lease
from shared.diagnosis.collection import Readers
from shared.diagnosis.scope import (ALERT_AGAIN, alert_context, by_number_held, cloudsql_users_healthy, combine,
                                    connector_alert_neighbours, connector_users_healthy, diagnose_service,
                                    diagnose_users, moved_off_users,
                                    saturated_connector, service_for_host, service_peers_held, TIME_CUT, time_cut_held,
                                    unanswered_held, unserved_host, users)
from shared.config import Config, DiagnosisSettings
from shared.alerts.delivery import DeliveryCounter, GuardedState, message_key
from shared.alerts.reasons import (OWN_CLOSINGS, closed_reason, never_opened, notified_after_own_close,
                                   not_managed, notified_after_verdict, opened_after_close, test_notification,
                                   own_function, own_function_closed, own_query_names, unknown_schema,
                                   unknown_start, unselected_unmanaged)
from shared.alerts.present_failure import alert_hold
from shared.alerts.load_balancer import services_behind
from shared.alerts.received import Named, cut_words, named, received
from shared.gcp.identifiers import services_in
from shared.errors import (AttemptInProgress, DamagedRecord, PermanentError, TransientError, WriteInFlight,
                           described)
from shared.remediation.guardrails import (CLAIMS, WRITING, Gate, GateReads, GateResult, InProgress, MaybeBehind,
                                          bound_key, duplicate_result, message_of, plan_refusal, restarted, runs_dry)
from shared.remediation import intents
from shared.remediation.held_messages import (dry_hold_note, held_again, held_key, held_note, held_record, keeps,
                                             kept_hold)
from shared.remediation.held_reports import Holder
from shared.remediation.intents import Verdict, look
from shared.remediation.history import (
    closed_incident,
    may_stop_a_write,
    note_closed,
    note_opened,
    note_refired,
    note_seen,
    recent_undone_action,
    recent_verified_fix,
    service_actions,
)
from shared.alerts.incidents import (AlertTarget, Incident, IncidentParseError, MisroutedCommand, TargetKind,
                                    check_not_ahead, parse_message_published, quoted, read_message_published)
from shared.alerts.query_names import QueryNames, query_names
from shared.alerts.relayed import Relayed, message_id_written
from shared.outcomes import (
    ActionReport,
    DiagnosisReport,
    Outcome,
    OutcomeStatus,
    Timestamps,
    applied_record,
    held_detail,
    message_outcome_id,
    notify,
    notify_severity,
)
from shared.remediation.planning import Plan, advised, plan, report_of
from shared.remediation.pins import asked_hold, asked_not_serving
from shared.remediation.refusals import Held
from shared.remediation.records import (ACTIONS, INCIDENTS, INTENTS, PINS, REPORT_PENDING, SETTLED, ActionRecord,
                                        ActionState, IncidentRecord, IntentRecord, PinRecord, SettledVerdict,
                                        intent_key, read_record)
from shared.remediation.sweep_budget import alert_peer_time
from shared.remediation.settled import EVERY_CLAIM, Settled, SettledIncidents, SettledState
from shared.diagnosis.evidence import EvidenceBundle, Service
from shared.diagnosis.facts import Facts
from shared.diagnosis.health_bar import health_bar
from shared.ports import (
    ClaimRecord,
    ClaimStatus,
    LoggingPort,
    MonitoringPort,
    PublisherPort,
    RunPort,
    SecretManagerPort,
    StateStore,
    VpcAccessPort,
    require_state_store,
)
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.timeline.writer import Timeline
from shared.workers import Workers


@dataclass
class Adapters:
    run: RunPort
    monitoring: MonitoringPort
    publisher: PublisherPort
    state: StateStore
    clock: Clock
    logging: LoggingPort | None = None
    vpcaccess: VpcAccessPort | None = None
    # A rollback target's secret versions (collection.target_secret_reads); its global endpoint's client
    # is built and connected by the instance warm-up with the others (functions/runtime.py), so an alert whose
    # rollback target pins a version does not build it before its first write.
    secretmanager: SecretManagerPort | None = None
    # Incidents whose action is done, remembered by this instance (see shared/remediation/settled.py).
    settled: SettledIncidents = field(default_factory=SettledIncidents)
    # This delivery is its message's last (delivery.max_attempts, set by `deliver_bounded`): an evidence read
    # that never answered is then a gap the diagnosis is escalated with (collection.unanswered), not a transient
    # fault given up on with a bare `failed`.
    last_delivery: bool = False

    def __post_init__(self) -> None:
        # Every method of the port, checked where the store is handed over, as the gate and the sweep check it: a
        # store that lacks one fails here, naming it, not at the first alert whose path reaches the call.
        self.state = require_state_store(self.state)

    def readers(self) -> Readers:
        return Readers(run=self.run, monitoring=self.monitoring, logging=self.logging, vpcaccess=self.vpcaccess,
                       secretmanager=self.secretmanager)


def google_adapters(config: Config) -> Adapters:
    """The real adapters. Each finds a local server through its *_EMULATOR_HOST variable."""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.pubsub import PubSubPublisher
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.secretmanager import SecretManagerAdapter
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
        secretmanager=SecretManagerAdapter(),
    )


def handle_alert(event_data: Any, config: Config, adapters: Adapters) -> Outcome:
    """Handle one messagePublished CloudEvent's data. Returns the outcome it published."""
    received_at = adapters.clock.now()
    try:
        message, incident, relayed = read_message_published(event_data)
        check_not_ahead(incident, message.publish_time, received_at)
    except IncidentParseError as exc:
        return _reject(exc, event_data, config, adapters, received_at)

    timeline = Timeline(incident.incident_id)
    # The path a relayed notification took (its relay's subscription, message id, attributes), said only when it
    # came relayed: Monitoring's own message has none.
    path = {"relayed": [wrapping.model_dump(mode="json") for wrapping in relayed]} if relayed else {}
    timeline.step("received", f"alert {incident.incident_id} ({incident.state.value}) from policy "
                  f"{incident.policy_name!r}", message_id=message.message_id, policy=incident.policy_name,
                  condition=incident.condition_name, resource=incident.resource_labels,
                  state=incident.state.value, started_at=incident.started_at, ended_at=incident.ended_at, **path)
    alert = _AlertRun(incident, message.message_id, config, adapters, timeline, received_at, event_data=event_data,
                      relayed=relayed)
    try:
        outcome = alert.decide()
    except DamagedRecord as exc:
        if alert.holds_report():
            alert.give_back()    # a report of a write is the redelivery's to publish, as for any raise
            raise
        outcome = alert.damaged(exc)
    except Exception:
        alert.give_back()    # a report it stored (or took) and cannot publish now: for the redelivery
        raise
    return alert.publish(outcome)


@dataclass(frozen=True)
class _Prior:
    """The incident's state, read before diagnosis (see `_AlertRun.prior`)."""

    # Its IncidentRecord, if any: a dict, or a record decoded as far as it is read (`_closed_record`).
    incident: Any
    targets: list[str]                                    # the alert's target, then its actions' targets
    found: Mapping[tuple[str, str], dict[str, Any] | None]   # every claim read, by (kind, key)
    recorded: frozenset[str] = frozenset()                # the keys of its action records
    # This message's IntentRecord, if any: a dict, or a record decoded as far as it is read (its
    # `get`; `_record_data` for the whole), see `_read_many`.
    intent: Any = None
    # Read in one batched read, the other targets' claims and the recorded keys taken from the
    # incident's SETTLED entries (shared/remediation/settled.py); `_AlertRun.full` reads the rest.
    partial: bool = False
    read: Mapping[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)   # as read
    actions: tuple[dict[str, Any], ...] = ()              # its action records, when the query was made (`full`)
    # The incident's claims held with no action record (a refusal or an escalation kept: SettledEntry.held),
    # from its SETTLED entries: the query finds no record of them, so `full` keeps them.
    held: SettledState = SettledState()
    # The incident's SETTLED record as the batched read found it: its entries and the verdicts its actions'
    # judging commits copied there, so that whether the sweep has judged them is read here (`judged_since`).
    settled: SettledState = SettledState()
    # This message's record of a write the kill switch or a pause held back (held_messages.py), if any.
    held_message: Any = None

    def unseen(self) -> bool:
        """Whether the batched read found nothing of the incident: no record of it, no SETTLED entry or verdict, no
        intent of this message, no claim on the target, no hold of this message. A first delivery; only the query of
        the incident's action records can still find it acted on (`_AlertRun.duplicate_beside`)."""
        return (self.partial and self.incident is None and not self.settled.entries and not self.settled.verdicts
                and self.intent is None and self.held_message is None and all(v is None for v in self.read.values()))


class _AlertRun:
    """The state of handling one parsed alert."""

    def __init__(self, incident: Incident, message_id: str | None, config: Config, adapters: Adapters,
                 timeline: Timeline, received_at: datetime, event_data: Any = None,
                 relayed: tuple[Relayed, ...] = ()) -> None:
        self.incident = incident
        self.relayed = relayed         # the wrappings a relay put around the notification, on every outcome
        self.event_data = event_data   # the delivery as it came: its message's key, for `publish_once`
        self.message_id = message_id
        self.config = config
        self.adapters = adapters
        self.timeline = timeline
        self.received_at = received_at
        self._holder: Holder | None = None   # the report this delivery holds the publish of, if any
        self._seen: Future | None = None     # the create recording its OPEN seen (note_seen), while under way
        self._per_incident = False           # its answer told once per incident, not per message (`page_key`)

    def decide(self) -> Outcome:
        incident = self.incident
        state, now = self.adapters.state, self.adapters.clock.now()
        target = incident.target
        if incident.is_test:
            # First, before anything is written: a test's CLOSED recorded closed a real incident of its id.
            return self.outcome(OutcomeStatus.SKIPPED, test_notification(incident))
        if not incident.is_open:
            record = note_closed(state, incident, now)
            self.adapters.settled.forget(incident.incident_id)
            about = incident.cloud_run_service or target.name or None
            handled = self.handled_target()
            if record.open_unseen and handled is not None:
                # Its OPEN never reached Runwarden (or not yet): nobody heard of this incident through it.
                return self.outcome(OutcomeStatus.ESCALATED, never_opened(incident, handled), target=about)
            own = self.own_service()
            if own is not None:
                # Told once per incident, worded from what was recorded: its OPEN seen and told (`own_function_open`),
                # or not yet (Pub/Sub does not order messages), which that OPEN, late, finds closed.
                self._per_incident = True
                return self.outcome(OutcomeStatus.ESCALATED, own_function_closed(incident, own, not record.open_unseen),
                                    target=own)
            return self.outcome(OutcomeStatus.RESOLVED, closed_reason(incident), step="resolved", target=about)
        if not incident.schema_known:
            # Read as 1.2 is, to show a person what it said; never acted on (incidents.SCHEMA_VERSION).
            return self.outcome(OutcomeStatus.ESCALATED, unknown_schema(incident),
                                target=incident.cloud_run_service or target.name or None)
        if target.kind is TargetKind.UNROUTABLE:
            # A policy that cannot name its resource is the policy's fault: say how to fix it.
            # Rejected, it also reaches a person (outcomes.notify): the policy keeps alerting while
            # Runwarden can do nothing with it. A resource Runwarden does not read is nobody's fault,
            # and is escalated: it too reaches a person, whom it may otherwise never reach.
            status = OutcomeStatus.REJECTED if target.fix_policy else OutcomeStatus.ESCALATED
            return self.outcome(status, target.reason + same_name_services(incident, self.config)
                                + query_named_services(incident, self.config) + services_behind(
                                    incident.resource_type, incident.resource_labels,
                                    [s.name for s in self.config.services]))
        if target.kind is TargetKind.UPTIME:
            service = service_for_host(target.name, self.config)
            if service is None:
                # Runwarden's own policies never alert on an uptime check (infra/alerts.tf): a person
                # pointed this one at its channel, perhaps alone, so it is escalated, as a resource
                # Runwarden does not read is: skipped, a failing check nobody else hears of was dropped.
                return self.outcome(OutcomeStatus.ESCALATED, (
                    f"not Runwarden's: uptime check host {target.name} is neither a managed service's run.app host "
                    "nor a custom domain listed in the config (services[].domains), so nothing was read or done; a "
                    f"person must look at it. Policy {incident.policy_name!r} sends it to Runwarden's notification "
                    "channel: if the host is a managed service's domain, list it under that service's domains; if "
                    "no person's channel is on the policy, add one"), target=target.name)
            return self.for_service(service)
        if target.kind is TargetKind.SERVICE:
            return self.for_service(target.name)
        return self.for_shared(target)

    def own_service(self) -> str | None:
        """The service the notification names by its resource when it is one of Runwarden's own functions, or None."""
        target = self.incident.target
        owned = self.incident.schema_known and target.kind is TargetKind.SERVICE and self.config.owns(target.name)
        return target.name if owned else None

    def own_function_open(self, service: str) -> Outcome:
        """An OPEN about one of Runwarden's own functions: never Runwarden's to act on (Config.own_services), nothing
        of it read live. Skipped as closed when its CLOSED came first (`closed`, as a managed service's OPEN is), else
        recorded seen (so its CLOSED says the OPEN was told) and told once per incident: a reminder
        (renotifyInterval) of it says nothing new, as nothing is read."""
        record = self.adapters.state.get_record(INCIDENTS, self.incident.incident_id)
        closed = self.closed(service, record)
        if closed is not None:
            return closed
        if record is None and not self.incident.is_log_match:
            self._write_seen(service, self.adapters.clock.now())
        self._per_incident = True
        return self.outcome(OutcomeStatus.ESCALATED, own_function(service, self.incident.policy_name), target=service)

    def handled_target(self) -> str | None:
        """The target whose OPEN of this incident `note_opened` would have recorded (a managed service, by
        its resource or its uptime host; a connector or Cloud SQL instance), or None: an OPEN Runwarden
        answers before that (another schema, an unroutable policy, a service it does not manage) leaves no
        record, so its CLOSED says nothing about whether the OPEN came."""
        target = self.incident.target
        if not self.incident.schema_known or target.kind is TargetKind.UNROUTABLE:
            return None
        if target.kind is TargetKind.UPTIME:
            service = service_for_host(target.name, self.config)
            return service if service is not None and self.config.manages(service) else None
        if target.kind is TargetKind.SERVICE:
            return target.name if self.config.manages(target.name) else None
        return target.name

    def for_service(self, service: str) -> Outcome:
        state, now = self.adapters.state, self.adapters.clock.now()
        if self.config.owns(service):
            return self.own_function_open(service)
        if not self.config.manages(service):
            managed = [s.name for s in self.config.services]
            told = unselected_unmanaged(self.incident, service, managed)
            if told:
                return self.outcome(OutcomeStatus.ESCALATED, told, target=service)
            return self.outcome(OutcomeStatus.SKIPPED, not_managed(service, managed, self.incident.policy_name),
                                target=service)
        gate = self.gate()
        remembered = self.remembered(gate)
        if remembered is not None:
            return remembered
        prior = self.prior(gate, service)
        earlier = self.earlier_attempt(gate, prior)
        if earlier is not None:
            return earlier
        closed = self.closed(service, prior.incident) or self.held_before(gate, service, prior)
        if closed is not None:
            return closed
        note_opened(state, self.incident, service, now, existing=prior.incident)
        self.note_seen(service, prior)
        try:
            return self.diagnose_and_act(gate, service, prior)
        finally:
            self.seen_written()   # also when the run raises (an attempt under way, a transient fault)

    def note_seen(self, target: str, prior: _Prior) -> None:
        """Records that this incident's OPEN reached Runwarden (history.note_seen), so that its CLOSED is not
        taken for one whose OPEN never came, unless state already holds a record of it or an action of it.
        One create, on a thread of its own while the evidence is read (`seen_written` waits for it before
        anything is decided), so a CLOSED handled from then on finds it, and the handler does not wait on it."""
        if prior.incident is not None or prior.recorded or self.incident.is_log_match:
            return
        self._seen = _SEEN.submit(self._write_seen, target, self.adapters.clock.now())

    def _write_seen(self, target: str, now: datetime) -> None:
        try:
            note_seen(self.adapters.state, self.incident, target, now)
        except (TransientError, PermanentError) as exc:
            # Costs the outcome nothing: its CLOSED may then say, wrongly, that no OPEN came, and the timeline
            # holds this one.
            self.timeline.step("seen_unrecorded", f"the OPEN was not recorded as seen ({exc}): its CLOSED may be "
                               "answered as one whose OPEN never reached Runwarden", severity="WARNING")

    def seen_written(self) -> None:
        """Waits for `note_seen`'s create, if one was started (a function's CPU may be throttled once it has
        answered, so nothing is left running behind the answer, nor behind a raise that ends the attempt)."""
        if self._seen is not None:
            _quietly(self._seen.result)
            self._seen = None

    def prior(self, gate: Gate, target: str, also: Sequence[str] = ()) -> _Prior:
        """What state says about this incident before anything is read live, in one batched read:
        its record, what settled its actions (SETTLED), this message's intent (shared/remediation/
        intents.py) and every claim an action on `target` would hold. The SETTLED entries stand for
        the query's action records and the claims on their other targets (settled.py), which is
        enough to answer a duplicate; whatever that cannot answer reads the rest (`full`). An
        intent whose claim no entry records is read in full at once: it may need the live target.
        `also`: other targets whose claims are read in the same batch (the connector the evidence names, which a
        concurrent delivery's scale claims before any action record names it)."""
        incident_id = self.incident.incident_id
        intent = [(INTENTS, intent_key(incident_id, self.message_id))] if self.message_id else []
        braked = [(CLAIMS, self.held_key())] if self.event_data is not None else []
        targets = list(dict.fromkeys((target, *also)))
        claims = [read for each in targets for read in gate.claim_reads(incident_id, each)]
        reads = [(INCIDENTS, incident_id), (SETTLED, incident_id), *intent, *dict.fromkeys(claims), *braked]
        deferred = [(INCIDENTS, incident_id), (SETTLED, incident_id), *intent]
        read = dict(zip(reads, _read_many(self.adapters.state, reads, deferred=deferred)))
        # An entry's copy of a claim read here too is not decoded: the claim as read stands for it.
        settled = SettledState.parse(read.pop((SETTLED, incident_id)), covered=read)
        # The intent apart: it is no claim, and it is read whole only when its claim is not recorded.
        found_intent = read.pop(intent[0]) if intent else None
        held_message = read.pop(braked[0]) if braked else None   # no claim of the incident's either
        prior = _Prior(incident=read[(INCIDENTS, incident_id)], targets=[*targets, *settled.targets()],
                       found=settled.claims() | read, recorded=settled.recorded,
                       intent=found_intent, partial=True, read=read, held=settled.held(), held_message=held_message,
                       settled=settled)
        if prior.intent is not None and str(prior.intent.get("claim_key")) not in prior.recorded:
            return self.full(gate, prior)
        return prior

    def full(self, gate: Gate, prior: _Prior) -> _Prior:
        """`prior` completed as the query finds it: the targets the incident's action records name
        and their keys, and the claims on those targets that the batched read did not cover (one
        more round trip, only when a record names another target). The claims held with no action
        record (`_Prior.held`) stay, as their entries' copies: no record names their targets."""
        incident_id, target = self.incident.incident_id, prior.targets[0]
        actions = self.adapters.state.find_records(ACTIONS, "incident_id", incident_id)
        targets = list(dict.fromkeys([target, *(str(r["target"]) for r in actions if r.get("target")),
                                      *prior.held.targets()]))
        found = prior.held.claims() | dict(prior.read)
        missing = [read for t in targets[1:] for read in gate.claim_reads(incident_id, t) if read not in found]
        if missing:
            found.update(zip(missing, self.adapters.state.get_many(missing)))
        return _Prior(incident=prior.incident, targets=targets, found=found,
                      recorded=frozenset(str(r.get("key")) for r in actions), intent=prior.intent, read=found,
                      actions=tuple(actions), held=prior.held, held_message=prior.held_message,
                      settled=prior.settled)

    def earlier_attempt(self, gate: Gate, prior: _Prior) -> Outcome | None:
        """An earlier attempt at this message that may have written and not recorded it (its intent
        has no action record): recorded and reported now, waited for, or escalated; None otherwise.
        Reads the intent's claim if `prior` did not, and the live target, only on this path."""
        if prior.intent is None:
            return None
        retaken = self.retaken(gate, prior)
        if retaken is not None:
            return retaken
        if str(prior.intent.get("claim_key")) in prior.recorded:
            # Recorded: its standing is RESOLVED and the verdict NONE (intents.standing, verdict)
            # whatever else it holds, so the rest of it is not decoded.
            return None
        intent = read_record(IntentRecord, _record_data(prior.intent), INTENTS)
        recorded = intent.claim_key in prior.recorded
        claim = None if recorded else self.intent_claim(intent, prior)   # a recorded one needs no read
        action, now = get_action(intent.action), self.adapters.clock.now()
        found = look(intent, recorded, claim, action, self.adapters, now)
        if found.verdict is Verdict.NONE:
            return None
        planned = f"{intent.action} on {intent.target} (planned by {intent.owner} at {intent.noted_at:%H:%M:%S})"
        if found.verdict is Verdict.WAIT:
            self.timeline.step("in_progress", f"{planned}: its claim is still held, so that attempt may still be "
                               "running; not acknowledged, so that Pub/Sub delivers it again")
            raise InProgress(f"{intent.claim_key}: an earlier attempt at this message is in progress")
        holder = self.holder(gate)
        answer = intents.answer(found, intent, action, gate, planned, "that earlier attempt at this message",
                                "could not record or report it", pending=holder.pending(intent, lambda reason, report,
                                notes: self.build(OutcomeStatus.ESCALATED, reason, target=intent.target, action=report,
                                                  notes=notes)))
        if answer.status is OutcomeStatus.ESCALATED and holder.built:
            # As stored in the intent, kept there until published (`publish`, held_reports.py).
            return self.stepped(holder.stored(intent))
        return self.outcome(answer.status, answer.reason, target=intent.target, action=answer.action,
                            notes=answer.notes, held=answer.held)

    def retaken(self, gate: Gate, prior: _Prior) -> Outcome | None:
        """The report a delivery of this message stored in the intent and could not publish (its
        publish failed, and it gave the report back), published now as it was stored: the same
        outcome_id, never a `skipped` duplicate instead (shared/remediation/held_reports.py)."""
        if prior.intent.get("report_state") != REPORT_PENDING:
            return None
        return self.holder(gate).retake(_record_data(prior.intent), self.timeline)

    def holder(self, gate: Gate) -> Holder:
        if self._holder is None:
            self._holder = Holder(self.adapters.state, gate.owner, self.adapters.clock.now(),
                                  skew_safe_lease(self.config.guardrails.claim_ttl_seconds))
        return self._holder

    def intent_claim(self, intent: IntentRecord, prior: _Prior) -> ClaimRecord | None:
        """The intent's claim, from `prior`'s batched read, or read now when that did not cover it
        (its target is no alert target and has no action record: a connector)."""
        read = (CLAIMS, intent.claim_key)
        if read not in prior.found:
            return self.adapters.state.get(*read)
        data = prior.found[read]
        return read_record(ClaimRecord, data, read[0], read[1]) if data is not None else None

    def closed(self, target: str, record: Any) -> Outcome | None:
        """The answer to an OPEN of an incident its record (`record`, as read) says closed, or None."""
        closed = _closed_record(record, self.incident.incident_id)
        if closed is None:
            return None
        if closed.closed_by in OWN_CLOSINGS:
            # Closed by Runwarden's own sweep, not by Monitoring: a log-based incident, which never sends
            # CLOSED (AlertPolicy.AlertStrategy.notification_prompts, google-cloud-monitoring-v3: "always
            # [OPENED]"). A new notification of it says Monitoring holds it open and its entries matched again
            # (after a verified fix, too): dropped as closed, nobody heard of it.
            return self.outcome(OutcomeStatus.ESCALATED, notified_after_own_close(self.incident, closed), target=target)
        policy = self.incident.policy_resource
        if policy and closed.policy and closed.policy != policy:
            # Another policy's CLOSED under this id (guardrails.other_policy): not this incident's closing.
            return self.outcome(OutcomeStatus.ESCALATED, (
                f"this incident id was closed at {closed.closed_at:%H:%M:%S} by a notification of alert policy "
                f"{closed.policy}, and this notification is from alert policy {policy}: two policies under one "
                "incident id are not one incident (a relay that reuses ids?); nothing was diagnosed or written for "
                "it: a person must look"), target=target)
        if closed.ended_at is not None and self.incident.started_at > closed.ended_at:
            # Started after the close ended it: no OPEN that the CLOSED overtook (reasons.opened_after_close).
            return self.outcome(OutcomeStatus.ESCALATED, opened_after_close(self.incident, closed, target),
                                target=target)
        # A CLOSED that overtook this OPEN: the incident is over.
        return self.outcome(OutcomeStatus.SKIPPED, f"incident already closed at {closed.closed_at:%H:%M:%S} "
                            f"({closed.closed_by}); no action on a closed incident", target=target)

    def held_key(self) -> str:
        return held_key(message_key(self.event_data))

    def held_before(self, gate: Gate, target: str, prior: _Prior) -> Outcome | None:
        """This very message delivered again after the kill switch, a pause, a cooldown or a budget held its
        write back: held again, nothing diagnosed or written, even once the hold has cleared (held_messages.py).
        Unless the incident has been acted on since (a later notification of it acted): then it is that action's
        duplicate, answered as one, naming it (`duplicate`), with the hold in a note. Checked first, the hold
        answered "held back ... may act" for an incident whose action was already done."""
        data = _record_data(prior.held_message) if prior.held_message else None
        if not data:
            return None
        # Read before anything else: one that cannot be read raises DamagedRecord (answered `escalated` naming
        # it, handle_alert): the write it held back is never made on a delivery of its message.
        held = read_record(ClaimRecord, data, CLAIMS, self.held_key())
        done = self.duplicate(gate, target, prior=prior)
        if done is not None:
            done.notes.append(f"{held_note(held, self.message_id)}; the incident has "
                              "been acted on since, so this delivery is answered as that action's duplicate")
            return done
        return self.outcome(OutcomeStatus.SKIPPED, held_again(held, self.message_id), target=target,
                            held=kept_hold(held))

    def note_held(self, result: GateResult, target: str, service: str, action: str) -> str:
        """Keeps, best effort, that a brake, a cooldown or a budget held this message's write back and the claim
        was given back (held_messages.py). A store that fails costs the answer nothing; the timeline says what a
        delivery once the hold has cleared may then do. A dry run's hold (the config's mode, the action's shadow
        mode) is said in the timeline and not kept: it held back a write that was never to be made, and kept, it
        would answer the message's delivery once writes are on as held, a hold that never happened for real
        (held_messages.py, "A dry run keeps nothing"). Returns the note the answer carries for such a dry run."""
        if self.event_data is None or result.status is not OutcomeStatus.SKIPPED or not keeps(result.held):
            return ""
        if runs_dry(self.config, action):
            said = dry_hold_note(self.config.dry_run, action)
            self.timeline.step("held_dry_run", f"held back in a dry run ({result.reason}): {said}")
            return said
        key, now = self.held_key(), self.adapters.clock.now()
        retain = timedelta(seconds=self.config.guardrails.claim_retention_seconds)
        try:
            self.adapters.state.put_record(CLAIMS, key, held_record(key, _attempt_owner(self.message_id), now, retain,
                                                                    result.reason, result.held, target, service))
        except (TransientError, PermanentError) as exc:
            self.timeline.step("held_unrecorded", f"held back, but not recorded as held ({exc}): a delivery of "
                               "this message again once the hold has cleared may act on it", severity="WARNING")
        return ""

    def gate(self) -> Gate:
        return Gate(self.config, self.adapters.state, self.adapters.clock, owner=_attempt_owner(self.message_id),
                    timeline=self.timeline, message_id=self.message_id,
                    alert=functools.partial(alert_context, self.incident),
                    policy=self.incident.policy_resource, started_at=self.incident.started_at)

    def diagnose_and_act(self, gate: Gate, service: str, prior: _Prior) -> Outcome:
        duplicate = self.duplicate_beside(gate, service, prior)
        if duplicate.found is not None:
            return duplicate.found
        if self.incident.start_unknown:
            return duplicate.answer() or self.outcome(OutcomeStatus.ESCALATED, unknown_start(self.incident, service),
                                                      target=service)
        now = self.adapters.clock.now()
        ahead = _ReadAhead(self.adapters.state, gate, service, now)   # state the write needs, read meanwhile
        readers = self.adapters.readers()
        try:
            result = diagnose_service(service, self.incident, self.config, readers, now,
                                      last_delivery=self.adapters.last_delivery)
        except PermanentError as exc:  # e.g. the service is gone, or Runwarden may not read it
            return duplicate.answer() or self.outcome(OutcomeStatus.FAILED, f"cannot read the evidence: {exc} "
                                                      f"[{exc.code}]", target=service)
        found = duplicate.answer()   # its query, sent beside the evidence, answered before anything is decided
        if found is not None:
            return found
        self.seen_written()   # recorded before anything is decided (long done: the evidence took longer)
        bundle, diagnosis = result.bundle, result.diagnosis
        gate.evidence_read_at = bundle.collected_at   # kept with the write: the sweep reads changes from it
        other = (unserved_host(self.incident.target.name, self.config, bundle.service)
                 if self.incident.target.kind is TargetKind.UPTIME else "")
        if other:
            # Another project's or region's service of that name: nothing is diagnosed or written on
            # this one. Unknown (no URL listed): a person looks. Either way a person looks: Runwarden's
            # own policies never alert on an uptime check, so a person pointed this one at its channel,
            # perhaps alone (as for a host no managed service serves, `decide`).
            return self.outcome(OutcomeStatus.ESCALATED, (
                f"not Runwarden's: {other}; nothing was diagnosed or written. Policy {self.incident.policy_name!r} "
                "sends it to Runwarden's notification channel: if no person's channel is on the policy, add one"),
                target=service)
        # Planned before Runwarden's own updates are looked for (planning reads no state: CPU it spends anyway
        # unless one is found), so that the connector's gate reads go out only for a plan that writes to it.
        proposal = plan(diagnosis, bundle, self.config.diagnosis, self.config.bounds)
        if proposal.action is not None and bundle.connector is not None and \
                proposal.targets == [bundle.connector.name] and saturated_connector(result):
            # A scale of a connector other managed services share: held back when one of them served cleanly
            # in the minutes this one failed, or could not be read (scope.service_peers_held). Read before the
            # connector's gate reads are sent, which a held scale would never use.
            # Bounded by the alert's time: no peer read is started that could end past the room the write,
            # its operation wait, the read-back and the publish need before the function's timeout.
            step = alert_peer_time(self.adapters.clock, self.received_at)
            # A peer's transient fault is raised for a redelivery (nothing written yet), named on the last one.
            diagnosis = service_peers_held(result, self.config, readers, now, again=ALERT_AGAIN, fits=step.fits,
                                           last_delivery=self.adapters.last_delivery)
            if diagnosis.signature is not result.diagnosis.signature:
                proposal = plan(diagnosis, bundle, self.config.diagnosis, self.config.bounds)
        report = self.diagnosed(diagnosis)
        note_refired(self.adapters.state, self.incident, now, "service", service, ahead.service_actions())
        if bundle.connector is not None and proposal.action is not None and \
                proposal.targets == [bundle.connector.name] and not self.stopped_first(proposal, bundle, now):
            # The connector it scales (planning: the one the diagnosis names, as read): its gate reads sent now,
            # beside the query of its action records just below, not after it (`_ReadAhead.connector`). Not for a
            # connector_saturation that plans nothing: nothing would read them (a batch and a query in count); nor
            # for a plan that a check needing no state stops before the gate reads anything (`stopped_first`).
            ahead.connector(bundle.connector.name, (service,))
        own = (own_connector_update(self.adapters.state, bundle, self.incident.incident_id)
               if diagnosis.signature in _CONNECTOR_SYMPTOMS else None)
        if own is None and diagnosis.signature is Signature.INCONCLUSIVE:
            own = own_rollback(ahead.service_actions(), self.adapters.state, bundle, self.config.diagnosis,
                               self.incident.incident_id)
        if own is not None:
            return self.outcome(OutcomeStatus.SKIPPED, own, target=service, diagnosis=report)
        report = advised(report, proposal)
        if proposal.action is None:
            # A concurrent delivery may have acted while this one read state; that is no escalation. Its write
            # may be on the connector (a scale, claimed on it), seen here as UPDATING or as its new size.
            return self.duplicate(gate, service, report, also=_connector_of(bundle)) or self.no_action(
                diagnosis, proposal, service, report, bundle.service)
        held = self.policy_held(gate, service, proposal, report)
        if held is not None:
            return held
        if self.config.guardrails.require_label and bundle.service.labels.get("runwarden") != "enabled":
            return self.outcome(OutcomeStatus.SKIPPED, f"{service} does not carry the label runwarden=enabled "
                                "(guardrails.require_label)", target=service, diagnosis=report)
        return self.act(gate, service, proposal, diagnosis, report, now, ahead)

    def for_shared(self, target: AlertTarget) -> Outcome:
        """A connector or Cloud SQL alert: diagnose every managed service that uses the resource,
        combine their verdicts, and act at most once, on the connector (never on Cloud SQL)."""
        gate = self.gate()
        remembered = self.remembered(gate)
        if remembered is not None:
            return remembered
        prior = self.prior(gate, target.name)
        earlier = self.earlier_attempt(gate, prior)
        if earlier is not None:
            return earlier
        closed = self.closed(target.name, prior.incident) or self.held_before(gate, target.name, prior)
        if closed is not None:
            return closed
        now = self.adapters.clock.now()
        note_opened(self.adapters.state, self.incident, target.name, now, existing=prior.incident)
        self.note_seen(target.name, prior)
        try:
            return self.shared_opened(gate, target, prior, now)
        finally:
            self.seen_written()

    def shared_opened(self, gate: Gate, target: AlertTarget, prior: _Prior, now: datetime) -> Outcome:
        """`for_shared` past what state says of the incident: its users diagnosed, and the connector acted on."""
        duplicate = self.duplicate_beside(gate, target.name, prior)
        if duplicate.found is not None:
            return duplicate.found
        if self.incident.start_unknown:
            return duplicate.answer() or self.outcome(OutcomeStatus.ESCALATED, unknown_start(
                self.incident, target.name), target=target.name)
        if target.kind is TargetKind.CONNECTOR:   # Runwarden writes to connectors, never to Cloud SQL
            note_refired(self.adapters.state, self.incident, now, "target", target.name)
        readers = self.adapters.readers()
        try:
            found = users(target, self.config, readers, last_delivery=self.adapters.last_delivery)
            # A service naming the connector by a project number that cannot be told from its project is
            # judged too (Users.by_number): never left out as "not behind it".
            # Each user's diagnosis starts from the read that found it behind the resource (Users.read): one read.
            # The users are diagnosed at once (scope.diagnose_users), each started only while its reads still end
            # in the alert's time (the one a service alert's peer reads have: alert_peer_time), taken in their order.
            step = alert_peer_time(self.adapters.clock, self.received_at)
            diagnosed = diagnose_users(found, self.incident, self.config, readers, now,
                                       last_delivery=self.adapters.last_delivery, fits=step.fits)
            results = list(diagnosed.results)
            # No user behind it: a managed service that moved off it within the deploy window is still its story.
            moved = (moved_off_users(target, found, self.incident, self.config, readers, now,
                                     last_delivery=self.adapters.last_delivery, fits=step.fits)
                     if not results and not diagnosed.cut and not found.maybe else None)
        except PermanentError as exc:
            return duplicate.answer() or self.outcome(OutcomeStatus.FAILED, f"cannot read the evidence: {exc} "
                                                      f"[{exc.code}]", target=target.name)
        acted = duplicate.answer()   # its query, sent beside the evidence, answered before anything is decided
        if acted is not None:
            return acted
        if not results and diagnosed.cut:
            # Users behind it, none diagnosed in the alert's time: found is not judged, nor "no user".
            return self.outcome(OutcomeStatus.ESCALATED, (
                f"{len(diagnosed.cut)} managed service(s) use {target.name} ({', '.join(diagnosed.cut)}), but none "
                f"was diagnosed ({TIME_CUT}), so nothing was done; a person must look at it"
                + (f"; {found.caveat}" if found.caveat else "")), target=target.name)
        if not results and found.maybe:
            # A managed service not read (refused, cut, past the fan-out) may be behind the resource: unread
            # is not "not behind" (the gate holds a write back for it the same way, MaybeBehind). Skipped, a
            # connector or database alert whose only user Runwarden could not read went unheard.
            return self.outcome(OutcomeStatus.ESCALATED, (
                f"no managed service read uses {target.name}, but {len(found.maybe)} managed service(s) could not "
                f"be read ({found.caveat or ', '.join(found.maybe)}): one of them may be behind it, so nothing was "
                "diagnosed or done; a person must look at it"), target=target.name)
        if moved is not None:
            # Skipped, it reached nobody: the move is named, with how each service that moved serves since.
            self.seen_written()
            return self.outcome(OutcomeStatus.ESCALATED, f"{moved.signature.value}: {moved.summary}; recommended: "
                                f"{moved.recommendation}", target=target.name, diagnosis=self.diagnosed(moved))
        if not results:
            caveat = f"; {found.caveat}" if found.caveat else ""
            return self.outcome(OutcomeStatus.SKIPPED, f"no managed service's serving revision uses {target.name} "
                                f"(looked at {len(found.looked_at)} managed service(s){caveat})", target=target.name)
        self.seen_written()
        diagnosis, primary = combine(target, results, found.api_calls, found.caveat, self.config.diagnosis)
        # A neighbour's deploy that lines up with the connector's rise is named beside its scale, never acted on.
        diagnosis = connector_alert_neighbours(target, diagnosis, results, self.config, readers, step.fits)
        if found.unanswered:
            # A user's read that never answered by the last delivery: escalated with what was read, never acted on
            # nor `healthy` (scope.unanswered_held); before it, the fault was raised and the alert delivered again.
            diagnosis, primary = unanswered_held(target, found, diagnosis), None
        if diagnosed.cut:
            # A user behind it not diagnosed for the alert's time: named, never judged healthy nor acted on without.
            diagnosis, primary = time_cut_held(target, diagnosed.cut, diagnosis), None
        report = self.diagnosed(diagnosis)
        if found.by_number:   # a concurrent delivery's action, if any, is told as no_action tells it
            return self.duplicate(gate, target.name, report) or self.outcome(
                OutcomeStatus.ESCALATED, by_number_held(target.name, found, diagnosis), target=target.name,
                diagnosis=report)
        if target.kind is TargetKind.CONNECTOR and diagnosis.signature is Signature.HEALTHY:
            # A connector's own alert reaches a person too when its users look fine: their requests do not
            # answer the connector's CPU or instance ceiling (scope.connector_users_healthy). Read after a
            # concurrent delivery's scale of it, they may: that delivery's duplicate (`held_unclaimed`).
            return self.held_unclaimed(gate, target.name, report, OutcomeStatus.ESCALATED, connector_users_healthy(
                target.name, results, diagnosis, self.incident))
        if target.kind is TargetKind.CLOUDSQL and diagnosis.signature is Signature.HEALTHY:
            # A database alert always reaches a person, even when its users look fine, with what was read of the
            # instance itself (scope.cloudsql_users_healthy): Runwarden never writes to it.
            return self.outcome(OutcomeStatus.ESCALATED, cloudsql_users_healthy(results, diagnosis, self.incident),
                                target=target.name, diagnosis=report)
        if target.kind is TargetKind.CLOUDSQL or primary is None:
            # A database alert always reaches a person, even when its users look fine: the instance
            # itself may be in trouble, and Runwarden never writes to it.
            status = (OutcomeStatus.SKIPPED if diagnosis.signature is Signature.HEALTHY
                      and target.kind is not TargetKind.CLOUDSQL else OutcomeStatus.ESCALATED)
            why = "Runwarden never writes to Cloud SQL; " if target.kind is TargetKind.CLOUDSQL else ""
            said = f"{why}{diagnosis.signature.value}: {diagnosis.summary}" + (
                f"; recommended: {diagnosis.recommendation}" if diagnosis.recommendation else "")
            if target.kind is TargetKind.CLOUDSQL:
                return self.outcome(status, said, target=target.name, diagnosis=report)
            # A connector's: a concurrent delivery of the incident may have scaled it since its users were read.
            return self.held_unclaimed(gate, target.name, report, status, said)
        proposal = plan(diagnosis, primary.bundle, self.config.diagnosis, self.config.bounds)
        report = advised(report, proposal)
        if proposal.action is None:
            return self.duplicate(gate, target.name, report) or self.no_action(diagnosis, proposal, target.name,
                                                                                report, primary.bundle.service)
        held = self.policy_held(gate, target.name, proposal, report)
        if held is not None:
            return held
        if self.config.guardrails.require_label and primary.bundle.service.labels.get("runwarden") != "enabled":
            return self.outcome(OutcomeStatus.SKIPPED, f"{primary.service} does not carry the label "
                                "runwarden=enabled (guardrails.require_label)", target=target.name, diagnosis=report)
        # The write is made on behalf of every service behind the resource: a pause of any of them holds it
        # back, and of any that could not be read (it may be behind it: unread is not "not behind").
        return self.act(gate, primary.service, proposal, diagnosis, report, now,
                        on_behalf=(*found.services, *map(MaybeBehind, found.maybe)),
                        users_of=target.name if target.kind is TargetKind.CONNECTOR else "")

    def stopped_first(self, proposal: Plan, bundle: EvidenceBundle, now: datetime) -> bool:
        """Whether a check that reads no state stops the plan before the gate's reads are used: the alert's own
        hold (`policy_held`), `guardrails.require_label`, or the gate's plan refusal (blast radius, bounds,
        approval: `plan_refusal`, which comes before any read). Asked only to decide whether to send the gate's
        reads for a connector ahead (`_ReadAhead.connector`): what is answered, and in which order, is decided
        below as before, so a check answered differently a moment later costs at most the gate's own read. Not
        asked here: Runwarden's own update of the connector (`own_connector_update`), a query whose answer the
        reads are sent beside so that a connector write waits for one round trip, not two."""
        if alert_hold(self.incident):
            return True
        if self.config.guardrails.require_label and bundle.service.labels.get("runwarden") != "enabled":
            return True
        action = get_action(proposal.action)
        return plan_refusal(self.config, action, proposal.params, proposal.before, proposal.targets, now) is not None

    def diagnosed(self, diagnosis: Diagnosis) -> DiagnosisReport:
        self.timeline.step("diagnosed", f"{diagnosis.signature.value} (confidence {diagnosis.confidence:.2f}): "
                           f"{diagnosis.summary}", signature=diagnosis.signature.value,
                           competing=list(diagnosis.competing), stand_down=diagnosis.stand_down,
                           api_calls=diagnosis.api_calls, evidence=[e.model_dump() for e in diagnosis.evidence])
        return report_of(diagnosis)

    def policy_held(self, gate: Gate, target: str, proposal: Plan, report: DiagnosisReport) -> Outcome | None:
        """The escalation when the alert's policy says, by its user label `runwarden`, that Runwarden is not to
        act on it (shared/alerts/policy_labels.py), or when its notification states no present failure (a
        forecast, a metric absence, no condition said: shared/alerts/present_failure.py), or None. Heard before
        the gate is asked: not a write to hold for an operator's `approve`, but a diagnosis and the change it
        would have made, for a person to decide on."""
        why = alert_hold(self.incident)
        if not why or proposal.action is None:
            return None
        action = get_action(proposal.action)
        shown = ActionReport(name=action.name, params=proposal.params.model_dump(mode="json"),
                             reversible=action.reversible, before=proposal.before)
        return self.duplicate(gate, target, report, also=proposal.targets) or self.outcome(
            OutcomeStatus.ESCALATED, f"{why}: {proposal.reason}", target=target, diagnosis=report, action=shown)

    def no_action(self, diagnosis: Diagnosis, proposal: Plan, target: str, report: DiagnosisReport,
                  service: Service | None = None) -> Outcome:
        status = OutcomeStatus.SKIPPED if diagnosis.signature is Signature.HEALTHY else OutcomeStatus.ESCALATED
        deleted = self.asked_deleted(service) if status is OutcomeStatus.ESCALATED and service is not None else ""
        return self.outcome(status, proposal.reason + deleted, target=target, diagnosis=report)

    def asked_deleted(self, service: Service) -> str:
        """What a split asking for a revision it does not serve (pins.asked_not_serving) is, when that revision is
        the one Runwarden's rollback asked for and the sweep found deleted since (its pin released so,
        `_deleted_at`): said beside a plan held for the split's share (planning `_split_kept_for_a_person` reads
        it as "neither failing nor known good"), so the person reads what happened; "" otherwise, or unread."""
        revision = asked_not_serving(traffic_state(service))
        if revision is None:
            return ""
        try:
            pin = self.adapters.state.get_record(PINS, service.name) or {}
        except TransientError:
            return ""
        deleted = _deleted_at(pin, revision)
        return "" if deleted is None else (
            f"; {revision}, which {service.short_name} asks for at 100% (Service.traffic), is the revision "
            f"Runwarden's rollback {pin.get('action_id')} asked for: its UpdateService operation failed with its split "
            f"left desired, and {revision} was deleted since (not among the service's revisions when the sweep read "
            f"them at {deleted:%Y-%m-%d %H:%M:%S} UTC, and the pin released), so Cloud Run cannot serve it: a person "
            f"must set a split of revisions that exist")

    def act(self, gate: Gate, service: str, proposal: Plan, diagnosis: Diagnosis, report: DiagnosisReport,
            now: datetime, ahead: "_ReadAhead | None" = None, on_behalf: Sequence[str] = (),
            users_of: str = "") -> Outcome:
        """The planned action, unless its signature came back after a verified fix; through the gate.
        `on_behalf`: the services it is made for, whose pauses hold it back (`service` when empty)."""
        action = get_action(proposal.action)
        # The service's action records, read once for both checks below (ahead of time, if it was).
        records = ahead.service_actions() if ahead else None
        records = records if records is not None else service_actions(self.adapters.state, service)
        returned = recent_verified_fix(self.adapters.state, service, action.name, now,
                                       self.config.verification.recurrence_window_seconds, records=records)
        if returned is not None:
            return self.held_unclaimed(gate, service, report, OutcomeStatus.ESCALATED,
                                       f"{diagnosis.signature.value} came back after {action.name} was verified at "
                                       f"{returned.resolved_at:%Y-%m-%d %H:%M:%S} ({returned.key}): not looping, a "
                                       "person must look", also=proposal.targets)
        # The same change undone lately (the service still failed after it): made again, it would flip
        # traffic back to a revision that failed, for the sweep to undo it again.
        undone = recent_undone_action(self.adapters.state, service, action.name,
                                      proposal.params.model_dump(mode="json"), now,
                                      self.config.verification.recurrence_window_seconds, records=records)
        if undone is not None:
            return self.held_unclaimed(gate, service, report, OutcomeStatus.ESCALATED,
                                       f"{diagnosis.signature.value}, but {action.name} {_undone_change(undone)} was "
                                       f"undone at {undone.resolved_at:%Y-%m-%d %H:%M:%S} ({undone.key}, incident "
                                       f"{undone.incident_id}): the service still failed after it; not repeating "
                                       "it, a person must look", also=proposal.targets)
        asked = self.asked_not_serving(service, action.name, proposal.before,
                                       str(getattr(proposal.params, "to_revision", "") or ""))
        if asked:
            return self.held_unclaimed(gate, service, report, OutcomeStatus.ESCALATED,
                                       f"{diagnosis.signature.value}, but {asked}", also=proposal.targets)
        self.timeline.step("planned", proposal.reason, action=action.name,
                           params=proposal.params.model_dump(mode="json"))
        result = gate.execute(action, proposal.params, proposal.before, self.incident.incident_id, self.adapters,
                              service=service, signature=diagnosis.signature.value, targets=proposal.targets,
                              reads=ahead.gate_reads(proposal.params.target) if ahead else None,
                              own_changes=proposal.own_changes,
                              on_behalf=(service, *on_behalf), users_of=users_of,
                              background=proposal.target_background)
        action_report = ActionReport(name=action.name, params=proposal.params.model_dump(mode="json"),
                                     reversible=action.reversible, before=proposal.before, after=result.after,
                                     action_id=result.claim_key,
                                     proposal_id=result.proposal.proposal_id if result.proposal else None,
                                     proposal_expires_at=result.proposal.expires_at if result.proposal else None)
        notes = action.notes(proposal.params) if result.status is OutcomeStatus.APPLIED else result.notes
        written = proposal.targets[0] if proposal.targets else service
        if _unclaimed_escalation(result):
            # Refused before the gate took the claim (the plan's bounds, Runwarden's own change unrecorded), on
            # reads a concurrent delivery's write may have overtaken: its duplicate, if one holds the claim.
            found = self.duplicate(gate, written, report)
            if found is not None:
                return found
        dry_hold = self.note_held(result, written, service, action.name)
        notes = [*notes, dry_hold] if dry_hold else notes
        return self.outcome(result.status, result.reason, target=written, diagnosis=report,
                            action=action_report, notes=notes, decided_at=now, held=result.held)

    def held_unclaimed(self, gate: Gate, target: str, report: DiagnosisReport, status: OutcomeStatus,
                       reason: str, also: Sequence[str] = ()) -> Outcome:
        """A hold found before this delivery takes the incident's claim, unless another delivery of the incident
        holds it: then the duplicate that claim answers (`duplicate`, read afresh). The hold was read off evidence
        and state read before any claim, and a concurrent delivery may have claimed and written since: its
        rollback accepted and not yet served reads as a split asked for by someone else (pins.asked_hold), its
        write as a change. Answered so, one incident got `applied` and `escalated` at once; Pub/Sub's redelivery
        of one incident is never a second, contradictory outcome."""
        found = self.duplicate(gate, target, report, also=also)
        if found is None:
            return self.outcome(status, reason, target=target, diagnosis=report)
        # The hold stays on the timeline: should the claim's holder die before it answers, its redelivery reads
        # the evidence again after the claim's lease, and a person reading the incident meanwhile sees what this
        # delivery found.
        self.timeline.step("held_beside_claim", f"found before taking a claim, while another delivery of this "
                           f"incident holds one (answered as its duplicate): {reason}", severity="WARNING")
        return found

    def asked_not_serving(self, service: str, action: str, before: Mapping[str, Any], planned: str = "") -> str:
        """Why a rollback (to `planned`) is not written while the service, as read for the decision, asks for a
        revision at 100% that does not serve (pins.asked_not_serving), or "": any rollback, to it or another. Read off the plan's `before`, no round trip;
        only then is the service's pin read, to name Runwarden's own failed rollback (a pin ASKED) when it is
        one: a later incident must not take the service as never rolled back and send the same split again."""
        revision = asked_not_serving(before) if action == "rollback_traffic" else None
        if revision is None:
            return ""
        try:
            pin = self.adapters.state.get_record(PINS, service) or {}
        except TransientError:
            pin = {}   # unread: said as not known to be Runwarden's, and held all the same
        ours = pin.get("pinned") is True and pin.get("revision") == revision
        # Its pin released by the sweep for the revision's deletion (Sweep._release_deleted): still Runwarden's
        # split, left naming a revision that no longer exists, said so; held as any other.
        deleted = _deleted_at(pin, revision)
        return asked_hold(service, revision, before, str(pin.get("action_id") or "") if ours or deleted else "",
                          planned, deleted_at=deleted)

    def duplicate_beside(self, gate: Gate, target: str, prior: _Prior) -> "_DuplicateCheck":
        """`duplicate(gate, target, prior=prior)`, for a delivery about to read its evidence. When the batched
        read found nothing of the incident (`_Prior.unseen`: a first delivery), nothing it read can answer a
        duplicate, and the query of the incident's action records (`full`) is sent now on a thread of its own, to
        run beside the evidence; the caller answers from it (`_DuplicateCheck.answer`) once the evidence is read
        and before anything is decided or written. Before, the handler waited for it ahead of the evidence: one
        round trip more on the way to every first write. Anything else found is answered at once, as before (the
        query first, no evidence read): such a delivery is most likely a duplicate."""
        if not prior.unseen():
            return _DuplicateCheck(found=self.duplicate(gate, target, prior=prior))
        return _DuplicateCheck(query=_INCIDENT_ACTIONS.submit(self.full, gate, prior),
                               answered=lambda whole: self.held_duplicate(gate, whole, None)
                               or self.acted_before(whole, None))

    def duplicate(self, gate: Gate, target: str, report: DiagnosisReport | None = None,
                  prior: _Prior | None = None, also: Sequence[str] = ()) -> Outcome | None:
        """A `skipped` outcome if this incident already has an action claimed or done: on the alert's
        own target, on `also` (a target a concurrent delivery may be writing: the connector the evidence
        names), or on any other target its action records name (a connector scaled for a
        service's alert is keyed on the connector, not on the service). `prior` is state as read
        at the start; without it (after diagnosis, when a concurrent delivery may have acted) it
        is read afresh. A partial `prior` that finds none is read in full, and looked at again."""
        prior = prior or self.prior(gate, target, also)
        found = self.held_duplicate(gate, prior, report)
        if found is None and prior.partial:
            prior = self.full(gate, prior)
            found = self.held_duplicate(gate, prior, report)
        return found or self.acted_before(prior, report)

    def acted_before(self, prior: _Prior, report: DiagnosisReport | None) -> Outcome | None:
        """A `skipped` duplicate if the incident has an action record whose claim no longer answers
        (its retention, `claim_retention_seconds`, lapsed while the incident stayed open and Monitoring
        re-notified it): one incident is acted on once, however long it stays open. The record is
        kept for 30 days (records.RECORD_RETENTION); the verification sweep has judged it, or will."""
        if not prior.actions:
            return None
        # Each read whole before the latest is taken: one that cannot be read may be the latest (fail closed).
        record = max((read_record(ActionRecord, r, ACTIONS) for r in prior.actions), key=lambda r: r.applied_at)
        first, now_start = record.incident_started_at, self.incident.started_at
        if record.state in _VERDICTS and (first is None or first == now_start):
            return self.after_verdict(record, report)
        if first is not None and first != now_start:
            # Acted on for a notification that said another start: perhaps a new episode (restarted).
            return self.outcome(OutcomeStatus.ESCALATED, restarted(
                f"{record.action} on {record.target} at {record.applied_at:%Y-%m-%d %H:%M:%S} UTC, action {record.key}, "
                f"now {record.state.value}", first, now_start), target=record.target, diagnosis=report,
                action=ActionReport(name=record.action, action_id=record.key, after=record.after or None))
        reason = (f"duplicate: {record.action} on {record.target} for this incident was applied at "
                  f"{record.applied_at:%Y-%m-%d %H:%M:%S} UTC (action {record.key}, now {record.state.value}); "
                  "its claim's retention has lapsed, but one incident is acted on once: nothing written. The "
                  "incident is still open: a person decides what comes next")
        # Named `claim_held` as the duplicate met within the claim's retention is (duplicate_result): the action
        # record is what is left of that claim, and a subscriber filtering on `held` must not tell one incident's
        # duplicates apart by how long ago its write was.
        return self.outcome(OutcomeStatus.SKIPPED, reason, target=record.target, diagnosis=report,
                            action=ActionReport(name=record.action, action_id=record.key, after=record.after or None),
                            held=Held.CLAIM_HELD)

    def held_duplicate(self, gate: Gate, prior: _Prior, report: DiagnosisReport | None) -> Outcome | None:
        for candidate in prior.targets:
            held = gate.held_claim(self.incident.incident_id, candidate, prior.found)
            if held is not None:
                name, kind, key, record = held
                settled = Settled(action=name, target=candidate, kind=kind, key=key, record=record,
                                  verdicts=prior.settled.keeps_verdicts())
                if (kind != CLAIMS or key in prior.recorded) and not _adopted(record):
                    # A real write's claim with no action record yet is not settled: the redelivery
                    # of the attempt that made it must still read its intent (earlier_attempt).
                    self.adapters.settled.remember(self.incident.incident_id, settled)
                plan = gate.held_plan(key, record, self.own_plan(prior)) if kind == CLAIMS else None
                return self.answer_duplicate(settled, report, prior.settled, plan)
        return None

    def own_plan(self, prior: _Prior) -> IntentRecord | None:
        """This message's plan as the batched read found it, decoded, when it may name what an unfinished claim holds
        (Gate.held_plan): its redelivery then needs no query of the claim's plans. None when there is none, or it
        cannot be read (the query reads the claim's plans then, and says what it cannot read)."""
        if prior.intent is None:
            return None
        try:
            return read_record(IntentRecord, _record_data(prior.intent), INTENTS)
        except DamagedRecord:
            return None

    def remembered(self, gate: Gate) -> Outcome | None:
        """A redelivery of an incident whose action this instance saw completed: answered from
        memory, with no Firestore read (see shared/remediation/settled.py for why that is safe)."""
        settled = self.adapters.settled.recall(self.incident.incident_id, self.adapters.clock.now())
        if settled is None or gate.claim_kind(settled.action) != settled.kind:
            return None
        return self.answer_duplicate(settled)

    def answer_duplicate(self, settled: Settled, report: DiagnosisReport | None = None,
                         known: SettledState | None = None, plan: IntentRecord | None = None) -> Outcome:
        """`known`: the incident's SETTLED record as read with the claim (None: answered from memory). `plan`: the
        write an unfinished claim holds (Gate.held_plan), named in the answer."""
        result = duplicate_result(settled.action, settled.target, settled.key, settled.record,
                                  self.incident.policy_resource, self.message_id, self.incident.started_at, plan=plan)
        judged = self.judged_since(settled, known) if result.status is OutcomeStatus.SKIPPED else None
        if judged is not None:
            return self.after_verdict(judged.verdict, report, judged.note)
        return self.outcome(result.status, result.reason, target=settled.target, diagnosis=report,
                            action=ActionReport(name=settled.action, after=result.after), held=result.held)

    def judged_since(self, settled: Settled, known: SettledState | None = None) -> _Judged | None:
        """The incident's action the sweep has judged since `settled`'s claim was taken (verified, undone,
        escalated), when this is another message than the one that took it: Monitoring notifying the incident
        again while it stays open (AlertPolicy.AlertStrategy.NotificationChannelStrategy.renotify_interval,
        "The frequency at which to send reminder notifications for open incidents",
        google/monitoring/v3/alert.proto), or publishing it twice. None for a redelivery of that very message, and before the claim's settle time
        (no sweep judges an action earlier: VerificationSettings.settle_seconds), so a storm of deliveries
        costs no read. Otherwise read where every judging commit copies its verdict (settled.write_verdict): the
        incident's SETTLED record, `known` as the batched read found it (no further read), or read alone on an
        instance that answered from memory (one BatchGetDocuments, not a query). Where that record cannot answer
        alone (an entry or an action record from an earlier version: `SettledState.keeps_verdicts`), one query of
        the incident's action records, as before. So does a record that keeps no verdict of the action yet, or one
        it cannot read (`SettledState.unreadable_verdicts`): a judge of the version before (the two functions
        deployed apart, or Runwarden rolled back) moves the action record alone, so "no verdict here" may mean
        either "not judged" or "judged by that version", and only the action records tell. That query is the
        second round trip at most (goal: 2), paid only between the settle time and the verdict, or in that mixed
        state; the outcome then says where its verdict was read (`_Judged.note`)."""
        claim = settled.record
        if message_of(claim.owner) == (self.message_id or "unknown"):
            return None
        now = self.adapters.clock.now()
        if now < claim.claimed_at + timedelta(seconds=self.config.verification.settle_seconds):
            return None
        if known is None and settled.verdicts:
            known = self.settled_record()
        if known is not None and known.keeps_verdicts():
            kept = known.judged(self.incident.started_at)
            if kept is not None:
                return _Judged(kept)
        found = self.judged_by_records()
        if found is None or known is None or not (known.keeps_verdicts() or known.unreadable_verdicts):
            return None if found is None else _Judged(found)   # state as the version before wrote it: as before
        why = (f"kept a verdict Runwarden cannot read ({', '.join(known.unreadable_verdicts)}: damaged, or written by "
               "a version this one cannot read; a person should repair or delete it)" if known.unreadable_verdicts
               else "kept no verdict of it (judged by a version of Runwarden that does not copy its verdicts there)")
        return _Judged(found, f"the incident's record of settled actions ({SETTLED}/{self.incident.incident_id}) "
                              f"{why}: the verdict was read from the action record {found.key}")

    def judged_by_records(self) -> ActionRecord | None:
        """The latest verdict among the incident's action records for its start (or none stated): one query."""
        found = [read_record(ActionRecord, r, ACTIONS) for r in self.adapters.state.find_records(
                 ACTIONS, "incident_id", self.incident.incident_id) if r.get("state") in _VERDICT_NAMES]
        same = [r for r in found if r.incident_started_at in (None, self.incident.started_at)]
        return max(same, key=lambda r: r.resolved_at or r.applied_at, default=None)

    def settled_record(self) -> SettledState:
        """The incident's SETTLED record, read alone; the claims' copies in it left undecoded (none is used)."""
        key = (SETTLED, self.incident.incident_id)
        [data] = _read_many(self.adapters.state, [key], deferred=[key])
        return SettledState.parse(data, covered=EVERY_CLAIM)

    def after_verdict(self, record: ActionRecord | SettledVerdict, report: DiagnosisReport | None,
                      note: str | None = None) -> Outcome:
        """The answer to a notification of an incident whose action the sweep has judged: never acted on again
        (one incident is acted on once; an undone change is never made again without a person), and pointing
        to that verdict. After `verified` it is escalated: Monitoring still holds open an incident whose fix the
        sweep called verified, so a person hears that the two disagree. After `undone` or `escalated`, whose
        outcome paged a person already, `skipped`. Told once per message (no action id: `publish_once`)."""
        status = OutcomeStatus.ESCALATED if record.state is ActionState.VERIFIED else OutcomeStatus.SKIPPED
        # A duplicate of the incident's acted-on claim, named `claim_held` as one answered within the claim is
        # (duplicate_result), whether its verdict came before or after this notification.
        return self.outcome(status, notified_after_verdict(self.incident, record), target=record.target,
                            diagnosis=report, action=ActionReport(name=record.action), notes=[note] if note else None,
                            held=Held.CLAIM_HELD)

    def outcome(self, status: OutcomeStatus, reason: str, *, step: str | None = None, target: str | None = None,
                diagnosis: DiagnosisReport | None = None, action: ActionReport | None = None,
                notes: list[str] | None = None, decided_at: datetime | None = None, held: Held | None = None
                ) -> Outcome:
        return self.stepped(self.build(status, reason, target=target, diagnosis=diagnosis, action=action, notes=notes,
                                       decided_at=decided_at, held=held), step)

    def stepped(self, outcome: Outcome, step: str | None = None) -> Outcome:
        """`outcome`, its decision written to the timeline."""
        status, action = outcome.status, outcome.action
        severity = {OutcomeStatus.FAILED: "ERROR", OutcomeStatus.ESCALATED: "WARNING", OutcomeStatus.UNDONE: "WARNING",
                    OutcomeStatus.PROPOSED: "NOTICE"}.get(status, "INFO")
        self.timeline.step(step or status.value, outcome.reason, severity=severity, status=status.value,
                           after=action.after if action else None, **applied_record(outcome),
                           **held_detail(outcome))
        return outcome

    def build(self, status: OutcomeStatus, reason: str, *, target: str | None = None,
              diagnosis: DiagnosisReport | None = None, action: ActionReport | None = None,
              notes: list[str] | None = None, decided_at: datetime | None = None, held: Held | None = None
              ) -> Outcome:
        """The outcome, with nothing written to the timeline yet. `held`: what held its write back (GateResult.held)."""
        # An id read lower-cased is said on every outcome of it (Incident.id_note): it may have merged two incidents.
        notes = [*(notes or []), *([self.incident.id_note] if self.incident.id_note else [])]
        return Outcome(incident_id=self.incident.incident_id, target=target, diagnosis=diagnosis, action=action,
                       status=status, reason=reason, notes=notes, message_id=self.message_id,
                       relayed=list(self.relayed), held=held, timestamps=Timestamps(received_at=self.received_at, decided_at=decided_at or self.adapters.clock.now(),
                                             completed_at=self.adapters.clock.now()))

    def holds_report(self) -> bool:
        """Whether this delivery holds a report of a write (an earlier attempt's, `holder`)."""
        return self._holder is not None

    def damaged(self, exc: DamagedRecord) -> Outcome:
        """A record this alert's handling must read cannot be read (errors.DamagedRecord): escalated, naming
        it. Raised, it was an unexpected exception: a `failed` outcome and redeliveries that read the same
        record, and every later alert of the target failing so, with no record named. Nothing is done on the
        target from that point (fail closed: its history cannot be read); what was done before (a record of
        the alert seen) is bookkeeping, never a write to Google Cloud, which goes through the gate after
        every read that raises this. Told once per message (`publish`, publish_once)."""
        about = self.incident.cloud_run_service or self.incident.target.name or None
        return self.outcome(OutcomeStatus.ESCALATED, (
            f"{exc}: Runwarden cannot tell what it did or holds for this alert's target, so it did nothing "
            "more for this alert (fail closed); every later alert that needs that record is answered so until it is "
            f"fixed. A person must look at the record in the state store's {exc.collection} collection (damaged, "
            "or written by a version this one cannot read): repair or delete it"), step="damaged_record",
            target=about)

    def give_back(self) -> None:
        """The delivery raises: a report about an unrecorded write it may hold is given back at once
        (Holder.give_back), so that Pub/Sub's redelivery publishes it rather than the sweep a lease later."""
        if self._holder is not None:
            self._holder.give_back(self.timeline)

    def publish(self, outcome: Outcome) -> Outcome:
        publish = lambda o: publish_outcome(o, self.config, self.adapters, self.timeline)  # noqa: E731
        if self._holder is None:
            # What it tells a person about the alert (rejected, escalated without a write, proposed),
            # told once per message; a report about a write keeps its own once-only records.
            tells = not _reports_a_write(outcome) or outcome.status is OutcomeStatus.PROPOSED
            if self.event_data is not None and tells and notify_severity(outcome) is not None:
                if self._per_incident:
                    return publish_once(outcome, incident_page_key(self.incident), self.config, self.adapters,
                                        self.timeline, again=_INCIDENT_AGAIN)
                return publish_once(outcome, message_key(self.event_data), self.config, self.adapters, self.timeline)
            return publish(outcome)
        return self._holder.publish(outcome, publish, self.timeline)   # a held report: marked once published


@dataclass(frozen=True)
class _Judged:
    """The verdict a later notification of the incident is answered from (`_AlertRun.judged_since`), and where it
    was read when not where this version keeps it (`note`, said in the outcome)."""

    verdict: ActionRecord | SettledVerdict
    note: str | None = None


# The sweep's verdicts on an action (records.ActionState): the action is over, judged on live data.
_VERDICTS = frozenset({ActionState.VERIFIED, ActionState.UNDONE, ActionState.ESCALATED})
_VERDICT_NAMES = frozenset(v.value for v in _VERDICTS)


def _reports_a_write(outcome: Outcome) -> bool:
    """Whether the outcome is about a change sent or recorded (its claim key, or the state after it),
    not only one planned and refused (a bound, a changed target: no claim, nothing after)."""
    return outcome.action is not None and bool(outcome.action.action_id or outcome.action.after)


def same_name_services(incident: Incident, config: Config) -> str:
    """For a Cloud Run alert summed over regions or projects (no `location` or no `project_id`
    label): the managed services of its service_name where the labels it has agree, named so the
    person fixing the policy knows which is meant ("" if the alert names no service). Still no
    guess: the same name may run in a region or project the config does not manage, and the sum
    cannot say which one failed (docs/behaviour.md, "A policy grouped by service_name alone")."""
    labels = incident.resource_labels
    name, project, location = labels.get("service_name"), labels.get("project_id"), labels.get("location")
    if incident.resource_type != "cloud_run_revision" or not name or (location and project):
        return ""
    found = services_in((s.name for s in config.services if s.name.rsplit("/", 1)[-1] == name), project or "",
                        location or "")
    if not found:
        return f"; no managed service is named {name!r}"
    named = (f"the managed service named {name!r} is {found[0]}" if len(found) == 1
             else f"the managed services named {name!r} are {', '.join(found)}")
    where = " or ".join(w for w, known in (("a region", location), ("a project", project)) if not known)
    return (f"; {named}, but the same name may also run in {where} the config does not manage, and the "
            "summed value cannot say which one failed, so nothing was diagnosed or written")


def publish_outcome(outcome: Outcome, config: Config, adapters: Adapters, timeline: Timeline) -> Outcome:
    message_id = adapters.publisher.publish(config.outcomes_topic, outcome.to_json(), outcome.attributes(),
                                            ordering_key=outcome.ordering_key)
    timeline.step("outcome_published", f"outcome {outcome.status.value} published to {config.outcomes_topic}",
                  outcome_id=outcome.outcome_id, pubsub_message_id=message_id, status=outcome.status.value)
    notify(outcome, Timeline(outcome.incident_id, timeline.trigger))
    return outcome


def _reject(error: IncidentParseError, event_data: Any, config: Config, adapters: Adapters,
            received_at: datetime) -> Outcome:
    """The rejection of a message that is no notification, published (the first, when there are several).
    An operator's command sent here (the topics swapped) is read as the commands path reads it, whatever
    kept it from being a notification (not UTF-8, a key given twice), and answered once under each id it
    gives (`SentIds.answerable`): its sender waits on that id, and hears that it was not run instead of
    timing out on an answer that never comes and being told the command is running. Each of several answers
    names the others (`_also_answered`): the caller is returned the first alone, and a reader of any one
    finds every other by its outcome_id."""
    from shared.alerts.commands import published_body, sent_command

    sent = sent_command(published_body(event_data))
    if sent is None:
        return _reject_once(error, None, "", event_data, config, adapters, received_at)
    misrouted, ids = MisroutedCommand(sent.name, sent.problem, sent.count, sent.names), sent.ids
    answered = ids.answerable or (None,)
    return [_reject_once(misrouted, command_id, ids.said(), event_data, config, adapters, received_at,
                         notes=_also_answered(event_data, command_id, answered))
            for command_id in answered][0]


def _rejection_id(event_data: Any, command_id: str | None) -> str:
    """A rejection's outcome_id: one on every delivery of the message, per id it is answered under."""
    return message_outcome_id(message_key(event_data), "alert-rejected", command_id)


def _also_answered(event_data: Any, command_id: str | None, answered: Sequence[str | None]) -> list[str]:
    return also_answered(command_id, answered, lambda other: _rejection_id(event_data, other))


def also_answered(command_id: str | None, answered: Sequence[str | None],
                  outcome_id: Callable[[str | None], str]) -> list[str]:
    """What an answer under `command_id` to a body giving several ids says of the message's other answers:
    each one's command_id and outcome_id (derived from the message, so known before it is published)."""
    return [f"also answered under command_id {other!r}: outcome {outcome_id(other)}"
            for other in answered if other != command_id]


def _reject_once(error: IncidentParseError, command_id: str | None, also: str, event_data: Any, config: Config,
                 adapters: Adapters, received_at: datetime, notes: Sequence[str] = ()) -> Outcome:
    message_id = message_id_of(event_data)
    # Acknowledged, so never delivered again: the message travels with its rejection, whole on the
    # outcome and as an excerpt in the `rejected` and `notify` lines (shared/alerts/received.py).
    content = received(event_data)
    # The page names the incident (docs/deploy.md, "Runwarden needs a person"): its id when the message
    # gives a readable one, else what else finds the message (its Pub/Sub id, publish time, policy).
    # A command on the wrong topic is named by its command_id (`also`), never by an incident.
    name = Named(None, "") if isinstance(error, MisroutedCommand) else named(content, error.field, event_data)
    timeline = Timeline(name.incident_id)
    timeline.step("rejected", f"malformed alert rejected: {error}{also}{name.words}", severity="ERROR",
                  field=error.field, message_id=message_id, received=content.excerpt(), command_id=command_id)
    outcome = Outcome(status=OutcomeStatus.REJECTED, reason=f"malformed alert: {error}{also}{name.words}",
                      incident_id=name.incident_id, message_id=message_id,
                      received=content, relayed=list(name.relayed), command_id=command_id, notes=list(notes),
                      # One id on every delivery of the message (message_outcome_id): a repeat is dropped.
                      outcome_id=_rejection_id(event_data, command_id),
                      timestamps=Timestamps(received_at=received_at, completed_at=adapters.clock.now()))
    # Told once per message, and per id when it gives several (each id's sender is told under its own).
    key = message_key(event_data) + (f"/{command_id}" if also and command_id else "")
    return publish_once(outcome, key, config, adapters, timeline)


# --- what a message tells a person, told once --------------------------------------------------------------------

# Pub/Sub may deliver a message again after it was answered 2xx: "Push and export subscriptions
# don't support exactly-once delivery" (Pub/Sub, "Exactly-once delivery"), and "with best-efforts
# subscriptions, the service may redeliver the message, even after a successful ack"
# (google-cloud-cpp pubsub, PullResponse). A message Runwarden cannot act on is answered the same
# way each time, and each answer wrote a `notify` line: one malformed alert paged twice. The page
# is claimed per message and status in the claims collection (its TTL field, `expires_at`, as every
# claim), the claim completed once the outcome is published.
_PAGES = "page"


def incident_page_key(incident: Incident) -> str:
    """The page key of an answer told once per incident rather than per message (`publish_once`): its id, start and
    state. Monitoring repeats an incident's id and start in each of its notifications, reminders at the policy's
    renotifyInterval among them ("The frequency at which to send reminder notifications for open incidents",
    AlertPolicy.AlertStrategy.NotificationChannelStrategy.renotify_interval, google/monitoring/v3/alert.proto), so a
    reminder finds the page its first notification claimed; its CLOSED is another state, told apart. Kept, as every
    page, for the claim's retention (`claim_retention_seconds`, 24 h by default): a reminder after that pages again."""
    return f"incident:{incident.incident_id}:{incident.started_at}:{incident.state.value}"


# What `publish_once` says came again for an answer told once per incident (`incident_page_key`).
_INCIDENT_AGAIN = ("incident {incident} notified again (a reminder at its policy's renotifyInterval, another "
                   "delivery of a notification of it)")


def publish_once(outcome: Outcome, key: str, config: Config, adapters: Adapters, timeline: Any,
                 again: str = "") -> Outcome:
    """Publishes `outcome`, unless it would tell a person (a `notify` line) what an earlier delivery
    of the same message (`key`: `message_key`) already told with the same status: then a `skipped`
    outcome naming that one is published instead. Never at the cost of the page: a state store that
    cannot say is passed by (the page is sent, saying a person may hear of it twice; its claim, which
    may have landed, handled as one taken), a publish that fails gives the claim back for the
    redelivery, and a completion that fails leaves the claim to lapse after its lease."""
    if notify_severity(outcome) is None:
        return publish_outcome(outcome, config, adapters, timeline)
    proposal = outcome.action.proposal_id if outcome.action is not None and outcome.action.proposal_id else ""
    claim_key = "/".join(part for part in (_PAGES, outcome.status.value, proposal, key) if part)
    owner, now = _attempt_owner(outcome.message_id), adapters.clock.now()
    try:
        taken = adapters.state.claim(CLAIMS, claim_key, owner,
                                     skew_safe_lease(config.guardrails.claim_ttl_seconds), now)
    except (TransientError, PermanentError) as exc:
        timeline.step("page_unchecked", f"could not check whether an earlier delivery of this message already sent "
                      f"this {outcome.status.value} outcome ({exc}); sent: a person may hear of this message twice",
                      severity="WARNING", message_id=outcome.message_id)
        # The claim's commit may have landed with its answer lost (DEADLINE_EXCEEDED "may be returned even if
        # the operation has completed successfully", google/rpc/code.proto; FirestoreStateStore._landed re-reads,
        # but a re-read that fails too, or a commit that lands late, still raises). Landed, the claim is this
        # attempt's (its owner is unique), so it is handled as an acquired one: given back if the publish fails
        # (else the redelivery finds it `sending` and answers `skipped` for a page never sent, and the page is
        # lost), completed if it succeeds. `release` and `complete` touch only a claim `owner` holds: one that
        # never landed is left alone.
        return _send_claimed(outcome, claim_key, owner, config, adapters, timeline)
    if not taken.acquired:
        _unless_sent(outcome, taken.record, claim_key, timeline)
        told = _told_before(outcome, taken.record, claim_key, again)
        timeline.step("skipped", told.reason, status=told.status.value, message_id=outcome.message_id)
        return publish_outcome(told, config, adapters, timeline)
    return _send_claimed(outcome, claim_key, owner, config, adapters, timeline)


class PageInProgress(AttemptInProgress):
    """Another delivery of the message holds its page claim, not completed: Pub/Sub delivers it again later.
    `claim_key` and `holder`: that claim and its holder, so that the message's next delivery here reads only
    that claim before any evidence (`_still_in_flight`), as for a write in flight."""

    def __init__(self, message: str, claim_key: str = "", holder: str = "") -> None:
        super().__init__(message)
        self.claim_key, self.holder = claim_key, holder


def _unless_sent(outcome: Outcome, record: ClaimRecord, claim_key: str, timeline: Any) -> None:
    """Raises PageInProgress unless the page claim `record` is completed (its outcome published). A claim
    only taken is no word that a person was told: its holder's publish may fail and its give-back fail too,
    or its instance die mid-publish. Answered `skipped` and acknowledged, this delivery would drop the page
    for good; raised, it is delivered again, and by then the claim is completed (`skipped`, naming the
    outcome), given back or lapsed after its lease (this delivery sends it). The lease bounds the wait."""
    if record.status is ClaimStatus.COMPLETED:
        return
    timeline.step("in_progress", f"another delivery of message {outcome.message_id or '(no id)'} is sending its "
                  f"{outcome.status.value} outcome since {record.claimed_at:%H:%M:%S}, not yet recorded as sent; "
                  "retry later", severity="NOTICE", message_id=outcome.message_id)
    raise PageInProgress(f"message {outcome.message_id or '(no id)'}: another delivery is sending its "
                         f"{outcome.status.value} outcome", claim_key, record.owner)


def _send_claimed(outcome: Outcome, claim_key: str, owner: str, config: Config, adapters: Adapters,
                  timeline: Any) -> Outcome:
    """Publishes `outcome` under the page claim `claim_key` taken for `owner` (or perhaps taken: its answer
    lost): given back if the publish fails, so the redelivery sends it; completed once it is sent."""
    try:
        published = publish_outcome(outcome, config, adapters, timeline)
    except BaseException:
        _quietly(lambda: adapters.state.release(CLAIMS, claim_key, owner))   # the redelivery sends it
        raise
    try:
        retain = timedelta(seconds=config.guardrails.claim_retention_seconds)
        adapters.state.complete(CLAIMS, claim_key, owner, retain, adapters.clock.now(),
                                {"outcome_id": outcome.outcome_id, "status": outcome.status.value})
    except (TransientError, PermanentError) as exc:
        timeline.step("page_unrecorded", f"{outcome.status.value} outcome sent, but not recorded as sent ({exc}): a "
                      "delivery of this message after the claim's lease may send it again", severity="WARNING",
                      message_id=outcome.message_id)
    return published


def _told_before(outcome: Outcome, record: ClaimRecord, page: str, again: str = "") -> Outcome:
    """The `skipped` answer of a delivery whose page an earlier delivery of the message sent (its claim
    completed: one still being sent is waited out, `_unless_sent`).
    It is one answer however often the message comes again ("this message's <status> was told to a
    person already"), so it has one outcome_id, derived from the `page` claimed (the message, the
    status and the proposal: message_outcome_id); a reader that drops repeats by outcome_id hears it
    once. Its text may differ between deliveries (the first answer's id once recorded, what this
    delivery found): the fact it states does not."""
    first = record.result.get("outcome_id") or "not recorded"
    earlier = "notification" if again else "delivery"
    told = (f"an earlier {earlier} answered it {outcome.status.value} at {record.claimed_at:%H:%M:%S} (outcome "
            f"{first}) and a person was told")
    came = (again.format(incident=outcome.incident_id) if again
            else f"message {outcome.message_id or '(no id)'} delivered again (Pub/Sub delivers at least once)")
    # What this delivery found is kept on the outcome (its reason and diagnosis), only not paged again:
    # a redelivery minutes later may see more than the first did.
    return Outcome(incident_id=outcome.incident_id, trigger=outcome.trigger, command_id=outcome.command_id,
                   target=outcome.target, status=OutcomeStatus.SKIPPED, message_id=outcome.message_id,
                   diagnosis=outcome.diagnosis, outcome_id=message_outcome_id(page, "told-before"),
                   reason=f"{came}: {told}; not sent to a person again. This delivery's answer: "
                          f"{outcome.status.value}: {outcome.reason}",
                   timestamps=outcome.timestamps)


# What Runwarden's own connector update explains while it settles: its users' saturation, hangs and
# connection errors. Another cause (a bad deploy, a startup failure) is handled as usual.
_CONNECTOR_SYMPTOMS = frozenset({Signature.CONNECTOR_SATURATION, Signature.INCONCLUSIVE,
                                 Signature.DATABASE_UNREACHABLE})


class _ReadAhead:
    """The state reads an action needs, made on a thread of their own while the evidence is read:
    the service's action records (has this signature come back after a verified fix?) and the
    gate's reads for the service (switches, cooldown, budget slots). Neither is trusted for the
    write: the switches are read again right before it, every claim is an atomic create, and a
    fix verified in the meantime was, a moment earlier, not yet verified either. A read that
    failed here is simply made again where it is needed."""

    def __init__(self, state: StateStore, gate: Gate, service: str, now: datetime) -> None:
        # Not when no action can write: a dry run or a kill switch in the config reads no budgets.
        self._writes = not (gate.config.dry_run or gate.config.guardrails.kill_switch)
        self._gate, self._now = gate, now
        # One task, so the two reads go one after the other on one thread, as they always have.
        self._reads: Future = _READ_AHEAD.submit(_read_ahead, state, gate, service, now, self._writes)
        self._connector: Future | None = None

    def connector(self, name: str, on_behalf: Sequence[str]) -> None:
        """The gate's reads for a write to connector `name` made for `on_behalf`, with its query of the engaged
        pauses beside them (GateReads.pauses), sent now on a thread of their own: the pipeline learns the
        connector from the evidence, after the service's reads ahead were sent, and without this the gate made
        them after the connector's action records had answered (`own_connector_update`): one round trip waited
        for, then another. Trusted no more than the service's (see above); one the write does not serve
        (another target, another hour) is read again by the gate."""
        if self._writes and not runs_dry(self._gate.config, "scale_connector"):   # a dry run reads no budgets
            gate, now, behalf = self._gate, self._now, tuple(on_behalf)
            # The pause query only completes switches that do not already brake (`Gate.kill_switch`): not sent
            # when the service's reads ahead, answered by now (never waited for here), showed the kill switch or
            # the service's pause engaged. The gate's batch for the connector, sent anyway, reads them again:
            # still engaged (almost always), the write is held with no query; released meanwhile, the gate makes
            # the query itself then (`Gate._pauses_answer`), a round trip only for a write braked a moment ago.
            query = not self._braked()
            self._connector = _READ_AHEAD.submit(
                _quietly, lambda: gate.read_ahead(name, now, behalf, pauses=query))

    def _braked(self) -> bool:
        """Whether the service's reads ahead have answered (not waited for) with a switch engaged that holds back
        a write made for the service (GateReads.braked)."""
        if not self._reads.done():
            return False
        reads = self._part(1)
        return reads is not None and reads.braked()

    def service_actions(self) -> list[dict[str, Any]] | None:
        return self._part(0)

    def gate_reads(self, target: str | None = None) -> GateReads | None:
        """The gate's reads made ahead for `target`: the connector's, when sent for it; else the service's."""
        if self._connector is not None:
            reads = self._connector.result()
            if reads is not None and reads.target == target:
                return reads
        return self._part(1)

    def _part(self, index: int) -> Any:
        return _quietly(lambda: self._reads.result()[index])


# The read-ahead's threads, kept for the instance's life (shared/workers.py); more than one so that
# concurrent deliveries in one process do not wait for each other's reads.
_READ_AHEAD = Workers("read-ahead", 4)
# The threads that record an OPEN seen while its evidence is read (`_AlertRun.note_seen`).
_SEEN = Workers("incident-seen", 4)
# The threads that query a first delivery's incident's action records while its evidence is read
# (`_AlertRun.duplicate_beside`).
_INCIDENT_ACTIONS = Workers("incident-actions", 4)


@dataclass(frozen=True)
class _DuplicateCheck:
    """`_AlertRun.duplicate_beside`'s answer: a duplicate `found` from the batched read (or None, nothing to
    ask), or the incident's action records still being read (`query`, `_AlertRun.full`), `answered` once they are."""

    found: Outcome | None = None
    query: Future | None = None
    answered: Callable[[_Prior], Outcome | None] | None = None

    def answer(self) -> Outcome | None:
        """The duplicate, if any: waits for the query (its fault raised here, as the query's own would be)."""
        if self.query is None or self.answered is None:
            return self.found
        return self.answered(self.query.result())


def _read_ahead(state: StateStore, gate: Gate, service: str, now: datetime,
                writes: bool) -> tuple[list[dict[str, Any]] | None, GateReads | None]:
    """The service's action records, then (when an action can write, and those records cannot stop the plan before
    the gate: `may_stop_a_write`) the gate's reads; a read that fails, or is not made, is None here (the gate
    then reads for itself, a round trip on the way to a write that such a record did not stop after all)."""
    records = _quietly(lambda: state.find_records(ACTIONS, "service", service))
    window = gate.config.verification.recurrence_window_seconds
    stops = records is not None and may_stop_a_write(records, now, window)
    return records, (_quietly(lambda: gate.read_ahead(service, now)) if writes and not stops else None)


def _read_many(state: StateStore, reads: list[tuple[str, str]], deferred: list[tuple[str, str]]) -> list[Any]:
    """`state.get_many(reads)`, with the documents in `deferred` decoded only as far as they are read
    (`get_many_deferred`, a method of the port: one call either way)."""
    return state.get_many_deferred(reads, deferred) if deferred else state.get_many(reads)


def _closed_record(record: Any, incident_id: str | None = None) -> IncidentRecord | None:
    """`closed_incident` of the incident's record as `prior` read it: decoded whole only when its
    `state` says closed. Any other record answers None there whatever else it holds (an open or seen
    incident's 20 fields and their validation were most of a duplicate's decoding)."""
    if record is None or record.get("state") != "closed":
        return None
    return closed_incident(_record_data(record), incident_id)


def _record_data(record: Any) -> Any:
    """A record as `get_many` returns it, from a `_read_many` answer: a deferred record read whole."""
    data = getattr(record, "data", None)
    return data() if callable(data) else record


def _quietly(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # noqa: BLE001 - the caller reads it again, and that read's fault is raised
        return None


def own_connector_update(state: StateStore, bundle: EvidenceBundle, incident_id: str) -> str | None:
    """Why to skip, if Runwarden itself is updating (or settling) the service's connector for
    another incident: this alert is most likely that connector's symptom, and the sweep verifies
    the update. None otherwise."""
    connector = bundle.connector
    if connector is None:
        return None
    now = bundle.collected_at
    for data in state.find_records(ACTIONS, "target", connector.name):
        record = read_record(ActionRecord, data, ACTIONS)   # maybe a scale in flight: never passed over
        if record.incident_id == incident_id or record.state is not ActionState.PENDING or now > record.deadline_at:
            continue
        return (f"Runwarden is updating connector {connector.short_name} itself ({record.action} for incident "
                f"{record.incident_id} at {record.applied_at:%H:%M:%S}, state {connector.state}); this alert is "
                f"its symptom: the sweep verifies the update by {record.deadline_at:%H:%M:%S}")
    return None


def own_rollback(records: list[dict[str, Any]] | None, state: StateStore, bundle: EvidenceBundle,
                 settings: DiagnosisSettings, incident_id: str) -> str | None:
    """Why to skip an inconclusive alert, if Runwarden rolled the service back itself for another
    incident, that rollback awaits verification, and this alert's evidence shows the failures of
    the revision it took traffic from (which no rule explains once that revision serves nothing: a
    second policy on the same failure, a latency policy beside a 5xx one). Only for an alert the
    health check can judge (health_bar.py): the sweep verifies the rollback with that check on live
    data by its deadline, and escalates it if the service is not healthy (undoing it if the service
    still fails: docs/behaviour.md, "Judging an action"), so a person hears of a failure that
    outlived it. `records`: the service's action records if already read (read here otherwise). None otherwise."""
    if not health_bar(bundle.alert, settings).judged:
        return None
    service, now = bundle.service.name, bundle.collected_at
    facts = Facts(bundle, settings)
    for data in records if records is not None else state.find_records(ACTIONS, "service", service):
        record = read_record(ActionRecord, data, ACTIONS)
        if (record.action != "rollback_traffic" or record.incident_id == incident_id
                or record.state is not ActionState.PENDING or now > record.deadline_at):
            continue
        source = str(record.params.get("from_revision", ""))
        failed = facts.requests(facts.incident, source).by_class.get("5xx", 0)
        if not failed:
            continue
        return (f"Runwarden rolled {service.rsplit('/', 1)[-1]} back itself ({source} to "
                f"{record.params.get('to_revision', '?')}, for incident {record.incident_id} at "
                f"{record.applied_at:%H:%M:%S}); this alert's evidence holds {failed:.0f} 5xx of {source} from before "
                "that rollback, which no rule explains once it serves nothing: most likely the same failure. The sweep "
                f"verifies the rollback on live data by {record.deadline_at:%H:%M:%S}, and escalates it if the service "
                "is not healthy by then, undoing it if the service still fails")
    return None


def _connector_of(bundle: EvidenceBundle) -> tuple[str, ...]:
    """The connector the evidence names, if any: the target a scale for the service's alert claims."""
    return (bundle.connector.name,) if bundle.connector is not None else ()


def _unclaimed_escalation(result: GateResult) -> bool:
    """Whether the gate escalated before it took the incident's claim (`Gate.execute`: the plan's refusal, an own
    change unrecorded), writing nothing: every answer after the claim carries its key."""
    return result.status is OutcomeStatus.ESCALATED and not result.claim_key and not result.written


def _adopted(claim: ClaimRecord) -> bool:
    """A claim completed `escalated`: as a redelivery or the sweep completes one when it records an
    earlier attempt's unrecorded write (Gate.adopt_write). Its report may be kept unpublished in that
    message's intent (shared/remediation/held_reports.py), which only that message's redelivery reads
    (`retaken`): an incident answered from memory would answer it a `skipped` duplicate instead, and
    leave the report to the next sweep. So such an incident is not remembered (it costs a read)."""
    return claim.result.get("status") == OutcomeStatus.ESCALATED.value


def _undone_change(record: ActionRecord) -> str:
    """What an undone action changed, in words: a rollback's revisions."""
    source, to = record.params.get("from_revision"), record.params.get("to_revision")
    return f"({source} to {to})" if source and to else f"on {record.target}"


def _attempt_owner(message_id: str | None) -> str:
    # Unique per attempt: a redelivery of the same message must not release another attempt's claim.
    # 48 random bits, as the first 12 hex digits of a uuid4 were (its version digit is the 13th),
    # without building the UUID around them.
    return f"{message_id or 'unknown'}:{os.urandom(6).hex()}"


def message_id_of(event_data: Any) -> str | None:
    """The Pub/Sub message id of a messagePublished event's data, when it carries one, as Runwarden writes it (bounded
    in length and characters, never a credential: shared/alerts/relayed.py `message_id_written`)."""
    message = event_data.get("message") if isinstance(event_data, dict) else None
    if isinstance(message, dict):
        return message_id_written(message.get("messageId") or message.get("message_id"))
    return None


# --- one delivery of a message: redelivery bounded, every give-up reaches a person ---------------------------------

DELIVERIES = DeliveryCounter()


def handle_delivery(event_data: Any, config: Config, adapters: Adapters, *, delivery_attempt: int | None = None,
                    counter: DeliveryCounter | None = None) -> Outcome:
    """`handle_alert` for one Pub/Sub delivery, with redelivery bounded.

    A transient fault (an API or the state store unavailable) or an unexpected error raises, so
    that Pub/Sub redelivers; each attempt writes one timeline step a person can read: `deferred`
    (WARNING, naming the fault, e.g. "state store unavailable: ...") or `error` (ERROR). No
    outcome is published for an attempt that will be retried: a redelivery storm must not
    publish an outcome per attempt. On the last attempt (`config.delivery.max_attempts`, counted
    by Pub/Sub's deliveryAttempt or per message in this instance) it stops asking for more and
    publishes one `failed` outcome that says it gave up and why; the function then answers 2xx.
    Except while an earlier attempt at the same message is in progress (`AttemptInProgress`): that
    is waited out, never given up on (`retry_or_give_up`); nor, before a write claim's lease, while another
    message's write holds the target (`_gives_up`).
    """
    counter = counter if counter is not None else DELIVERIES
    # Pub/Sub reports the count only under a dead-letter policy, which drops the message after the last.
    dead_letters = bool(delivery_attempt and delivery_attempt > 0)

    def failed(exc: Exception, message_id: str | None, attempt: int) -> Outcome:
        waits = False
        if isinstance(exc, PageInProgress):
            counter.wait_on_page(message_id, exc.claim_key, exc.holder)
        if isinstance(exc, WriteInFlight):
            now = adapters.clock.now()
            counter.hold_back(message_id, exc.target, exc.holder, now)
            waits = not _gives_up(config, attempt, dead_letters, counter.held_for(message_id, now))
        return _retry_or_give_up(exc, event_data, message_id, attempt, config, adapters, keeps_waiting=waits)

    return deliver_bounded(
        handle_alert, event_data, config, adapters, counter, delivery_attempt, failed,
        ahead=lambda message_id, attempt, guarded: _still_in_flight(counter, message_id, attempt, config, guarded,
                                                                    dead_letters))


def _gives_up(config: Config, attempt: int, dead_letters: bool, held_for: timedelta) -> bool:
    """Whether a delivery held back by another message's write in flight (WriteInFlight) is this message's
    last, answered `failed` naming that write. Only at `delivery.max_attempts`, and then: at once where
    Pub/Sub counts the deliveries (`dead_letters`: its dead-letter policy forwards the message after
    DeadLetterPolicy.max_delivery_attempts, google/pubsub/v1/pubsub.proto), which infra/ spaces out with
    the subscription's RetryPolicy (minimum_backoff 10 s, maximum_backoff 600 s: infra/locals.tf; "Retry
    delay will be exponential based on provided minimum and maximum backoffs", "implemented on a best
    effort basis", RetryPolicy in the same proto, as google-cloud-pubsub's types document it: the exact
    spacing is UNCONFIRMED); where nothing counts them but this instance (the local emulator, a
    subscription without the policy, whose default is immediate redelivery: Pub/Sub "Subscription retry
    policy"; ten deliveries can come within a second), once the message has been held back for a write
    claim's lease
    (the claim's TTL with the clock-skew allowance), by when any one write has ended or lapsed. So an alert
    held back by a write of a few seconds acts after it, with or without backoff, where it answered `failed`
    after ten quick deliveries; and one held back for a whole lease (a write kept after an unknown outcome
    and never judged, or one write after another) is still answered once, naming the write in flight."""
    if attempt < config.delivery.max_attempts:
        return False
    return dead_letters or held_for >= skew_safe_lease(config.guardrails.claim_ttl_seconds)


def _still_in_flight(counter: DeliveryCounter, message_id: str | None, attempt: int, config: Config,
                     adapters: Adapters, dead_letters: bool = False) -> None:
    """What held back the message's previous delivery here, read first (one read) before its evidence: its own
    page claim not yet completed (`page_still_held`), or another message's write (`_write_still_held`). Both are one
    check of one shape, a claim remembered with its holder and read alone (`_held_still`); each keeps its own
    exception, which says what is waited on, and the write's its own exit (a delivery that may give up is read in
    full)."""
    page_still_held(counter, message_id, adapters)
    _write_still_held(counter, message_id, attempt, config, adapters, dead_letters)


def _held_still(counter: DeliveryCounter, message_id: str | None, collection: str, key: str, holder: str,
                adapters: Adapters) -> ClaimRecord | None:
    """The claim `key` a message's previous delivery here waited on, when it is still `holder`'s: not completed,
    within its lease. Completed, given back (gone), taken by another or lapsed: None, and the message is let through
    (handled in full). One read. (A write claim is given back, never completed: read the same way.)"""
    claim = adapters.state.get(collection, key)
    if (claim is None or claim.owner != holder or claim.status is ClaimStatus.COMPLETED
            or claim.expired(adapters.clock.now())):
        counter.let_through(message_id)
        return None
    return claim


def page_still_held(counter: DeliveryCounter, message_id: str | None, adapters: Adapters) -> None:
    """A delivery whose previous one here waited on the message's page claim (PageInProgress: taken by another
    delivery, not completed) reads only that claim: still held by the same delivery, not completed and within its
    lease, it raises PageInProgress again before any evidence is read, so that waiting a claim out (up to its
    lease, 600 s and the clock-skew allowance) costs one read a delivery, not the alert's every read. Completed,
    given back (gone), taken by another or lapsed: handled in full, which then answers `skipped` naming the
    outcome sent, or sends the page itself. Never given up on (an attempt at the same message: `retry_or_give_up`).
    An alert's delivery (`handle_delivery`) and a command's (shared/commands `handle_command_delivery`: a
    notification on the commands topic, whose rejection pages) alike."""
    waited = counter.page_waited_on(message_id)
    if waited is None:
        return
    claim_key, holder = waited
    claim = _held_still(counter, message_id, CLAIMS, claim_key, holder, adapters)
    if claim is None:
        return
    raise PageInProgress(f"message {message_id}: another delivery is sending its outcome (its page claim held by "
                         f"{holder} since {claim.claimed_at:%H:%M:%S}Z, until {claim.expires_at:%H:%M:%S}Z at the "
                         "latest), as at this message's previous delivery: not handled again (no evidence read) "
                         "before it is sent, given back or lapsed", claim_key, holder)


def _write_still_held(counter: DeliveryCounter, message_id: str | None, attempt: int, config: Config,
                      adapters: Adapters, dead_letters: bool = False) -> None:
    """A delivery whose previous one here was held back by another write in flight (WriteInFlight) reads that
    write's claim first (one read): still held by the same write, it raises WriteInFlight again before any
    evidence is read, so that waiting out a write kept to its lease (12 min after an unknown outcome) costs
    one read a delivery, not the alert's every read. Given back, taken by another, or lapsed: handled in
    full. A delivery that may give up (`_gives_up`) is always handled in full, so that its answer rests on
    the evidence as it is then (healthy by then, escalated, or given up on naming the write still in flight)."""
    held = counter.held_back(message_id)
    if held is None or _gives_up(config, attempt, dead_letters, counter.held_for(message_id, adapters.clock.now())):
        return
    target, holder = held
    claim = _held_still(counter, message_id, WRITING, bound_key(target), holder, adapters)
    if claim is None:
        return
    busy = (f"another write to {target} is in flight (its write claim held by {holder} since "
            f"{claim.claimed_at:%H:%M:%S}Z, until {claim.expires_at:%H:%M:%S}Z at the latest)")
    raise WriteInFlight(f"{busy}, as at this message's previous delivery: not handled again (no evidence read) "
                        "before it has ended", busy, target=target, holder=holder)


def deliver_bounded(handle: Callable[[Any, Config, Adapters], Any], event_data: Any, config: Config,
                    adapters: Adapters, counter: DeliveryCounter, delivery_attempt: int | None,
                    failed: Callable[[Exception, str | None, int], Any],
                    ahead: Callable[[str | None, int, Adapters], None] | None = None) -> Any:
    """One delivery of a message to `handle` (on_alert's or on_command's), counted per message,
    with the state store's faults labelled (GuardedState). A failure goes to `failed` with the
    message id and this attempt's number (it raises again, or gives up: `retry_or_give_up`); an
    answer means Pub/Sub will not deliver the message again, so its count is forgotten. `ahead`, if
    given, runs first (it may raise: a failure like the handler's)."""
    message_id = message_id_of(event_data)
    attempt = counter.attempt(message_id, delivery_attempt)
    try:
        # Given up on after this one, as retry_or_give_up does (delivery.max_attempts): what never answered
        # on it is named with the evidence read, not raised (Adapters.last_delivery).
        guarded = replace(adapters, state=GuardedState(adapters.state),
                          last_delivery=attempt >= config.delivery.max_attempts)
        if ahead is not None:
            ahead(message_id, attempt, guarded)
        answer = handle(event_data, config, guarded)
    except Exception as exc:  # noqa: BLE001 - every failure is either retried or reported, never lost
        return failed(exc, message_id, attempt)
    counter.forget(message_id)
    return answer


def _retry_or_give_up(exc: Exception, event_data: Any, message_id: str | None, attempt: int, config: Config,
                      adapters: Adapters, keeps_waiting: bool = False) -> Outcome:
    incident_id = _incident_id(event_data)
    return retry_or_give_up(exc, message_id, attempt, config, adapters, Timeline(incident_id),
                            incident_id=incident_id, event_data=event_data, keeps_waiting=keeps_waiting)


def retry_or_give_up(exc: Exception, message_id: str | None, attempt: int, config: Config, adapters: Adapters,
                     timeline: Any, *, trigger: str = "alert", incident_id: str | None = None,
                     command_id: str | None = None, event_data: Any = None, keeps_waiting: bool = False) -> Outcome:
    """Raise `exc` again (so that Pub/Sub redelivers), with one timeline step saying why; or, on the
    last attempt, publish one `failed` outcome (about the incident, or the operator's command) that
    says it gave up and why.

    An earlier attempt at the same message still in progress (`AttemptInProgress`) is waited out,
    never given up on: a `failed` now would contradict the outcome that attempt may yet publish. Its
    lease bounds the wait (then a delivery takes it over); in production the dead-letter policy
    bounds it too. Not another message's write in flight on the target (`WriteInFlight`): that write
    answers for its own message, never for this one, so this one is given up on at the limit, its answer
    naming that write, before the dead-letter policy drops it unanswered (a write kept to its lease
    after an unknown outcome holds the target ~12 min; 5 deliveries at Pub/Sub's 10 s minimum backoff
    may span less: infra/locals.tf). `keeps_waiting`: such a write in flight, met past the limit where no
    dead-letter policy counts the deliveries and before a write claim's lease (shared.pipeline `_gives_up`),
    is waited for like the rest."""
    limit = config.delivery.max_attempts
    transient = isinstance(exc, TransientError)
    why = (str(exc) if transient else f"{exc} [{exc.code}]" if isinstance(exc, PermanentError)
           else f"unexpected error: {described(exc)}")
    waited_out = (isinstance(exc, AttemptInProgress) and not isinstance(exc, WriteInFlight)) or keeps_waiting
    if attempt < limit or waited_out:
        count = (f"delivery {attempt}, past delivery.max_attempts {limit} (counted here, with no backoff between "
                 "them): waiting for that write up to a write claim's lease" if keeps_waiting and attempt >= limit
                 else f"delivery {attempt} of at most {limit}")
        timeline.step("deferred" if transient else "error",
                      f"{why}; {count}: answered non-2xx so that Pub/Sub redelivers it",
                      severity="WARNING" if transient else "ERROR", message_id=message_id, attempt=attempt,
                      max_attempts=limit, transient=transient)
        raise exc
    if isinstance(exc, WriteInFlight):
        why = f"nothing was written: {exc.busy} at its last delivery"
    content = received(event_data) if event_data is not None else None
    # A message kept cut says so in the reason, as a rejection's does: nobody reads `received` as the whole.
    reason = (f"gave up after {attempt} deliveries of message {message_id or 'unknown'} "
              f"(delivery.max_attempts {limit}): {why}; the {trigger}'s handling did not finish, a person must look "
              "(a report an attempt kept in its intent, if any, is still published by the verification sweep)"
              + (cut_words(content) if content is not None else ""))
    now = adapters.clock.now()
    # Answered 2xx, the message may still come again past the limit, and give up again: one page, and one
    # outcome_id for the give-up on every delivery (message_outcome_id), so that a repeat is dropped.
    key = message_key(event_data) if event_data is not None else message_id
    # Answered 2xx now, so never delivered again: the message travels with the give-up, as with a rejection.
    outcome = Outcome(incident_id=incident_id, trigger=trigger, command_id=command_id, status=OutcomeStatus.FAILED,
                      reason=reason, message_id=message_id,
                      received=content, timestamps=Timestamps(received_at=now, decided_at=now, completed_at=now),
                      **({"outcome_id": message_outcome_id(key, "gave-up", trigger)} if key is not None else {}))
    timeline.step("gave_up", reason, severity="ERROR", message_id=message_id, attempt=attempt, max_attempts=limit,
                  transient=transient)
    if key is None:
        return publish_outcome(outcome, config, adapters, timeline)
    return publish_once(outcome, key, config, adapters, timeline)


def _incident_id(event_data: Any) -> str | None:
    """The incident a message is about, when it can be parsed; None otherwise."""
    try:
        return parse_message_published(event_data)[1].incident_id
    except Exception:  # noqa: BLE001 - only a label for the give-up outcome
        return None


def query_named_services(incident: Incident, config: Config) -> str:
    """For a query condition whose notification names no resource Runwarden reads (Incident.target's
    `_query_said`): the managed services its query selects by name, in the locations and projects it selects
    them in, if it says; "" when it selects none. Named so a person knows which service it may be about;
    never acted on (shared/alerts/query_names.py)."""
    names = query_names(incident.condition_filter) if incident.condition_kind == "other" else None
    if incident.target.kind is not TargetKind.UNROUTABLE:
        return ""
    if not names:
        # An application metric's service label (Incident.named_workloads), in any location or project.
        services = tuple(dict.fromkeys(value for _, value in incident.named_workloads))
        if not services:
            return ""
        names = QueryNames(services=services)
    found = _named_by(names, [s.name for s in config.services])
    # Runwarden's own functions (Config.own_services) are never managed: a query naming one is said to be about it.
    own = f"; {own_query_names(owned)}" if (owned := _named_by(names, config.own_services)) else ""
    if not found:
        return f"; no managed service is named {' or '.join(quoted(s, 60) for s in names.services)}{own}"
    return (f"; managed service{'s' if len(found) > 1 else ''} of that name: {', '.join(found)}; nothing was read or "
            f"done on any of them{own}")


def _named_by(names: QueryNames, services: Sequence[str]) -> list[str]:
    """The services (full names) whose id a query names, in a project and location it names, if it names any."""
    return [name for name in services if name.rsplit("/", 1)[-1] in names.services
            and (not names.projects or name.split("/")[1] in names.projects)
            and (not names.locations or name.split("/")[3] in names.locations)]


def _deleted_at(pin: Mapping[str, Any], revision: str) -> datetime | None:
    """When the sweep released the pin of Runwarden's rollback to `revision` for that revision's deletion
    (Sweep._release_deleted: `released_by` `revision deleted`), or None: another pin, one released otherwise, or
    one this version cannot read."""
    if pin.get("pinned") is not False or pin.get("revision") != revision \
            or pin.get("released_by") != "revision deleted":
        return None
    try:
        return PinRecord.model_validate(pin).released_at
    except ValueError:
        return None
