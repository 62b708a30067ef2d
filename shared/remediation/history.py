"""Reading and writing what Runwarden remembers: incidents it saw open or closed, and the
actions it took. Pure bookkeeping on the state store; no Google Cloud writes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator, Mapping

from shared.alerts.incidents import Incident
from shared.ports import StateStore, found_key
from shared.remediation import since_rollback
from shared.remediation.records import (ACTIONS, INCIDENTS, ActionRecord, ActionState, IncidentRecord,
                                        read_record, why_unreadable)


_UNREAD: Any = object()


def incident_closed(state: StateStore, incident_id: str) -> IncidentRecord | None:
    return closed_incident(state.get_record(INCIDENTS, incident_id), incident_id)


def closed_incident(data: Mapping[str, Any] | None, incident_id: str | None = None) -> IncidentRecord | None:
    """The incident record `data` (as read), if it says the incident closed. One that cannot be read raises
    DamagedRecord naming it: whether the incident closed is not known, so nothing is done on it."""
    record = read_record(IncidentRecord, data, INCIDENTS, incident_id) if data else None
    return record if record and record.state == "closed" else None


def note_opened(state: StateStore, incident: Incident, service: str | None, now: datetime,
                existing: Mapping[str, Any] | None = _UNREAD) -> None:
    """Log-based alerts never send CLOSED: remember them, so a sweep can close them. `existing`
    is the incident's record if the caller has already read it (None: there is none)."""
    if not incident.is_log_match:
        return
    if existing is _UNREAD:
        existing = state.get_record(INCIDENTS, incident.incident_id)
    if existing:
        return
    record = IncidentRecord(incident_id=incident.incident_id, target=service, log_based=True, opened_at=now)
    state.put_record(INCIDENTS, incident.incident_id, record.model_dump(mode="python"))


def note_seen(state: StateStore, incident: Incident, target: str, now: datetime) -> None:
    """Remembers that an OPEN of an incident Monitoring closes itself (not log-based) reached Runwarden, so its
    CLOSED is not taken for one whose OPEN never came (`note_closed`, reasons.never_opened). A create (one
    commit) that leaves a record already there as it is: a CLOSED that came meanwhile stays closed."""
    if incident.is_log_match:
        return
    record = IncidentRecord(incident_id=incident.incident_id, target=target, opened_at=now, state="seen")
    state.create_record(INCIDENTS, incident.incident_id, record.model_dump(mode="python"))


def note_closed(state: StateStore, incident: Incident, now: datetime, by: str = "notification") -> IncidentRecord:
    """Closed wins over any later (reordered or redelivered) OPEN of the same incident. The incident's
    actions are marked with when it closed and what the CLOSED showed of recovery
    (`Incident.recovery_shown`, "" for none), which the sweep cites and never takes as recovery alone
    (shared/remediation/judging.py); a cancelled one (`Incident.is_cancelled`: the policy was edited
    or deleted) closes the incident and leaves its actions unmarked, as does one of another policy
    (`_same_policy`) or that says another start (`_same_start`). Returns the incident's record, whose
    `open_unseen` says that neither an OPEN of it (`note_opened`) nor an action of it was on record when
    its first CLOSED came."""
    cancelled = incident.is_cancelled
    existing = state.get_record(INCIDENTS, incident.incident_id)
    actions = None if existing and cancelled else state.find_records(ACTIONS, "incident_id", incident.incident_id)
    record = read_record(IncidentRecord, existing, INCIDENTS, incident.incident_id) if existing else IncidentRecord(
        incident_id=incident.incident_id, target=incident.cloud_run_service, log_based=incident.is_log_match,
        opened_at=now, open_unseen=not actions)
    if record.state != "closed":
        record = record.model_copy(update={"state": "closed", "closed_at": now,
                                           "closed_by": "cancelled" if cancelled else by,
                                           "recovery": incident.recovery_shown,
                                           "policy": incident.policy_resource,
                                           "ended_at": _measured_end(incident)})
        state.put_record(INCIDENTS, incident.incident_id, record.model_dump(mode="python"))
    if cancelled:
        return record
    for data in actions or ():
        if data.get("incident_closed_at") is None and _same_policy(data, incident) and _same_start(data, incident):
            state.update_record(ACTIONS, data["key"], {"incident_closed_at": now,
                                                       "incident_recovery": incident.recovery_shown})
    return record


def note_refired(state: StateStore, incident: Incident, now: datetime, field: str, value: str,
                 actions: list[dict[str, Any]] | None = None) -> None:
    """An OPEN of alert policy P on a target with a pending action taken for another incident of P: the
    policy fired again during the action's verification ("An incident is a record of when the condition of
    an alerting policy is met": Cloud Monitoring, "Incidents for metric-based alerting policies"; a new
    one, with its own id, when the condition is met again after the first closed, or on another time
    series of the policy while it is open; the second is UNCONFIRMED here). Noted on the action
    (`refired_at`, `refired_incident`, once; and the latest start of such an incident: `_refiring`): the
    sweep then takes no CLOSED of the first incident as the condition cleared (judging.refired), nor, after
    an alert whose condition the health check reads, clean requests as the action verified where the new
    incident began on minutes after the action settled (judging.refired_after_settle). The actions are
    those whose `field` ("service" for a service's alert, "target" for a connector's) is `value`: `actions`
    as read, or read here (None). An action of an unknown policy (an operator's command, an older record)
    or a notification without a condition name counts as the same policy, as for a CLOSED (`_same_policy`)."""
    if not incident.is_open or incident.is_test:
        return
    if actions is None:
        actions = state.find_records(ACTIONS, field, value)
    for data in actions:
        if (data.get("state") != ActionState.PENDING.value or data.get("incident_id") == incident.incident_id
                or not _same_policy(data, incident)):
            continue
        update = _refiring(data, incident, now)
        if update:
            state.update_record(ACTIONS, data["key"], update)


def _refiring(action: Mapping[str, Any], incident: Incident, now: datetime) -> dict[str, Any]:
    """What to note of a refiring on the action: the first one (`refired_at`, `refired_incident`), kept; and
    the one that began latest (`refired_started_at`, `refired_started_incident`), replaced by a later start:
    one that began before the action settled (a series of the policy already failing, a cold start's blip)
    must not hide one that began after it. An incident whose start is no time (Incident.start_unknown) is
    escalated on the alert path, and gives no start here."""
    update: dict[str, Any] = {}
    revision = refired_revision(incident)
    if action.get("refired_at") is None:
        update.update(refired_at=now, refired_incident=incident.incident_id, refired_revision=revision)
    latest = action.get("refired_started_at")
    if not incident.start_unknown and (latest is None or incident.started_at > latest):
        update.update(refired_started_at=incident.started_at, refired_started_incident=incident.incident_id,
                      refired_started_revision=revision)
    return update


def refired_revision(incident: Incident) -> str:
    """The revision a refired incident names, "" if none: the `revision_name` label of its monitored
    resource, on a cloud_run_revision alert ("cloud_run_revision {project_id, service_name, revision_name,
    location, configuration_name}", Cloud Monitoring's monitored resource list), as the alert path reads
    the revision an alert names (diagnosis/scope.py). A policy that reduces the label away names none."""
    if incident.resource_type != "cloud_run_revision":
        return ""
    return incident.resource_labels.get("revision_name", "")


def _measured_end(incident: Incident) -> int | None:
    """The CLOSED's `ended_at`, unless it is before the incident's start: no end Monitoring measured
    (`Incident.recovery_doubt`), and a late OPEN of the incident would read as started after it."""
    ended = incident.ended_at
    return ended if ended is not None and ended >= incident.started_at else None


def _same_policy(action: Mapping[str, Any], incident: Incident) -> bool:
    """Whether the action was taken for the policy whose CLOSED this is: another policy's notification
    under the same incident id (guardrails.other_policy) shows nothing of the action's own condition.
    Unknown (an action of an operator's command or of an older record, a notification without a
    condition name) counts as the same."""
    alert = action.get("alert") or {}
    first = alert.get("policy_resource") if isinstance(alert, Mapping) else None
    return not first or not incident.policy_resource or first == incident.policy_resource


def _same_start(action: Mapping[str, Any], incident: Incident) -> bool:
    """Whether the action was taken for the episode whose CLOSED this is: a CLOSED under the same id that
    says another start (guardrails.restarted: an id reused, an episode whose OPEN came and went unseen)
    shows nothing of the action's own condition, and its recovery, taken as the action's, could verify a
    fix that did not hold. That Monitoring's CLOSED repeats its OPEN's `started_at` is UNCONFIRMED (no
    sample pairs an incident's two notifications); read the other way, the action is merely judged on
    live data alone, never verified by the CLOSED. Unknown (an operator's command, an older record)
    counts as the same."""
    first = action.get("incident_started_at")
    return first is None or first == incident.started_at


def recent_verified_fix(state: StateStore, service: str, action: str, now: datetime,
                        window_seconds: int, records: list[dict[str, Any]] | None = None) -> ActionRecord | None:
    """A verified action of this kind on this service within the window: its signature came back.
    `records`: the service's action records if the caller has already read them."""
    return next(_resolved_within(state, service, action, ActionState.VERIFIED, now, window_seconds, records), None)


def recent_undone_action(state: StateStore, service: str, action: str, params: Mapping[str, Any], now: datetime,
                         window_seconds: int, records: list[dict[str, Any]] | None = None) -> ActionRecord | None:
    """An action of this kind on this service, undone within the window because the service still
    failed after it, that the planned one would repeat: for a rollback, one to the same revision
    (`to_revision`), which failed too when it last served. Repeating it would send traffic back to a
    revision that failed, and the sweep would undo it again: traffic flipping between two failing
    revisions. `records`: the service's action records if the caller has already read them."""
    return next((r for r in _resolved_within(state, service, action, ActionState.UNDONE, now, window_seconds, records)
                 if r.params.get("to_revision") == params.get("to_revision")), None)


# The states in which a record stops a plan before the gate: `recent_verified_fix`, `recent_undone_action`.
_STOPPING = frozenset({ActionState.VERIFIED.value, ActionState.UNDONE.value})


def may_stop_a_write(records: list[dict[str, Any]], now: datetime, window_seconds: int) -> bool:
    """Whether the service's action records, as read, may stop a plan before the gate: one that ended verified or
    undone within the window, of any action (the plan is not known yet), or with a resolve time not read as one.
    Asked of the records read ahead, before the gate's reads are sent behind them (shared/pipeline.py `_read_ahead`):
    such a record makes those reads likely to be read by nothing. Read from the raw fields, not validated: the
    checks themselves read every record whole later (a damaged one fails closed there, as before)."""
    since = now - timedelta(seconds=window_seconds)
    for data in records:
        resolved = data.get("resolved_at")
        if data.get("state") in _STOPPING and resolved is not None and (
                not isinstance(resolved, datetime) or resolved >= since):
            return True
    return False


def service_actions(state: StateStore, service: str) -> list[dict[str, Any]]:
    """The service's action records, read once for the checks above."""
    return state.find_records(ACTIONS, "service", service)


def _resolved_within(state: StateStore, service: str, action: str, ended: ActionState, now: datetime,
                     window_seconds: int, records: list[dict[str, Any]] | None) -> Iterator[ActionRecord]:
    """The service's `action` records that ended `ended` within the window, as read (`records`, else read).
    A record of the service that cannot be read raises DamagedRecord naming it (fail closed): it may be the
    very fix that came back, or the undone one the plan would repeat, so the service is not acted on."""
    since = now - timedelta(seconds=window_seconds)
    for data in service_actions(state, service) if records is None else records:
        record = read_record(ActionRecord, data, ACTIONS)
        if record.action == action and record.state is ended and record.resolved_at and record.resolved_at >= since:
            yield record


# At most this many action records of a service are read for its later rollbacks (StateStore.find_records'
# `limit`): a read that returns this many may have left some out, which `LaterRollbacks.unread` says.
SERVICE_ACTIONS_READ = 100


@dataclass(frozen=True)
class LaterRollbacks:
    """The service's rollbacks after a given one, as its action records say (`later_rollbacks`).

    `standing`: those applied after it and not undone, newest first (since_rollback.later_rollbacks).
    `unreadable`: each record of the service that may be a rollback and that this version cannot read (its
    key, or where it has none, its position in the read, and why), and a note when the read may have left
    records out (as many as `SERVICE_ACTIONS_READ` came back). Either may hide a later rollback still
    standing, so a write of the split recorded before the given one is refused on it (fail closed:
    since_rollback.unread_records), never made as if it were not there."""

    standing: list[ActionRecord]
    unreadable: list[str]


def later_rollbacks(state: StateStore, record: ActionRecord) -> LaterRollbacks:
    """The service's rollbacks after `record` (LaterRollbacks), read from its action records. A record that
    cannot be read is named, not left out: one saying another action (a connector's scale) is passed over, but
    one saying a rollback, or no action this version can read, may be a later rollback that still stands.
    A read that fails raises, never read as "none"."""
    others, unreadable = [], []
    found = state.find_records(ACTIONS, "service", record.service, limit=SERVICE_ACTIONS_READ)
    for n, data in enumerate(found, 1):
        action, key = data.get("action"), data.get("key")
        if key == record.key or (isinstance(action, str) and action != "rollback_traffic"):
            continue
        try:
            others.append(ActionRecord.model_validate(data))
        except ValueError as exc:
            key = key if isinstance(key, str) and key else found_key(data)   # else the key it is stored under
            named = repr(key) if key else f"#{n} of the read (it has no key)"
            unreadable.append(f"{named}: {why_unreadable(exc)}")
    if len(found) >= SERVICE_ACTIONS_READ:
        unreadable.append(f"more than the {SERVICE_ACTIONS_READ} action records of {record.service} read at once "
                          "may exist, and those not read were not looked at")
    return LaterRollbacks(since_rollback.later_rollbacks(record, others), unreadable)

