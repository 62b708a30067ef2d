"""rollback_traffic and restore_traffic by an operator's command, through the gate.

rollback_traffic: 100% to a named revision, which must exist, be Ready and belong to the service;
without one, to the last known-good revision diagnosis finds. Tags are kept at 0%.
restore_traffic: the split recorded before a given action, or to_latest, which releases the pin.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.commands import connector_one_way
from shared.commands import held, restore_notes
from shared.commands.context import CommandRun, Refused, refused, rejected
from shared.commands.diagnose import read_diagnosis
from shared.commands.inventory import managed_service
from shared.diagnosis.evidence import Revision, Service, TrafficTarget, TrafficType, describe_command, split_text
from shared.echo import echoed, quoted
from shared.errors import AttemptInProgress, PermanentError, RunwardenError, TransientError
from shared.outcomes import ActionReport, Outcome, OutcomeStatus
from shared.remediation.actions import get_action
from shared.remediation.actions.restore_traffic import (RestoreTrafficParams, cannot_serve, servable_restore,
                                                        serving_shares)
from shared.remediation.actions.rollback_traffic import (RollbackTrafficParams, tags_to_keep, traffic_changes,
                                                         traffic_state)
from shared.remediation import history, in_flight, late_rollback, since_rollback
from shared.remediation.guardrails import WRITING, GateResult, bound_key, runs_dry
from shared.remediation.judging import desired_not_served, traffic_moved
from shared.remediation.pins import recorded_service
from shared.remediation.records import (ACTIONS, PINS, ActionRecord, ActionState, PinRecord, RestoreMark,
                                      why_unreadable)
from shared.remediation.refusals import dry_run_by
from shared.remediation.release_pipeline import release_pipeline, rollout_mover
from shared.remediation.settled import write_verdict
from shared.timeline.writer import Timeline


def rollback(run: CommandRun) -> Outcome:
    run.require_own_override()
    service_name = managed_service(run)
    service = run.adapters.run.get_service(service_name)
    revisions = run.adapters.run.list_revisions(service_name)
    to = _named_revision(run, service, revisions) if run.command.params.revision else _known_good(run, service_name)
    serving = _serving_most(service, besides=to.short_name)
    if _pinned_to(service, to.short_name):
        raise refused(f"{to.short_name} already serves 100% of {service.short_name}: nothing to do"
                      + _while_in_flight(run, service_name))
    from_revision = next((r for r in revisions if r.short_name == serving), to)
    keep_tags, tags_left_out = tags_to_keep(service, revisions)
    params = RollbackTrafficParams(target=service_name, to_revision=to.short_name, from_revision=from_revision.short_name,
                                   from_revision_created_at=from_revision.create_time, steps_back=0,
                                   expected_etag=service.etag, keep_tags=keep_tags, tags_left_out=tags_left_out,
                                   pipeline=release_pipeline(service.labels), manual=True,
                                   rollout=rollout_mover(service, from_revision, run.config.diagnosis.self_principals))
    return through_gate(run, "rollback_traffic", params, traffic_state(service), service_name)


def restore(run: CommandRun) -> Outcome:
    run.require_own_override()
    service_name = managed_service(run)
    service = run.adapters.run.get_service(service_name)
    p = run.command.params
    if p.to_latest:
        if all(t.type is TrafficType.LATEST for t in service.traffic if t.percent):
            raise refused(_nothing_pinned(run, service) + _while_in_flight(run, service_name))
        # The tags as read kept where their revision can serve (servable_restore), the others named.
        params = RestoreTrafficParams(target=service_name, to_latest=True, **servable_restore(
            (), service, run.adapters.run.list_revisions(service_name))._asdict())
    else:
        record = _recorded_action(run, p.action_id, service_name)
        traffic = record.traffic_before
        if not traffic:
            raise rejected("params.action_id", f"{p.action_id} recorded no traffic split to put back")
        revisions = _still_servable(run, p.action_id, service, traffic)
        if record.state is ActionState.UNDONE:
            _not_overtaken(record, service)     # and `_not_undone` below
        else:
            _not_changed_since(run, record, service)
        # Sent with the etag of the read just checked, as the sweep's undo is: a change landing between that
        # check and the write is refused by Cloud Run (shared/gcp/run.py), never written over.
        # Its 0% targets and the tags as read kept where their revision can serve (servable_restore).
        params = RestoreTrafficParams(target=service_name, undoes=record.key, expected_etag=service.etag,
                                      **servable_restore(traffic, service, revisions)._asdict())
        serving = serving_shares(service.traffic_statuses)
        if serving == serving_shares(params.desired()) == serving_shares(service.traffic):
            _not_undone_before(run, record, serving)
            # Put back already (the sweep's undo, an earlier restore, a person's gcloud): writing it again
            # would be a second write of the same undo, as to_latest with nothing pinned is refused above.
            # Read on what serves (traffic_statuses), as the restore verifies its write, and on what the
            # service asks for (traffic): a split only desired (still reconciling) does not serve yet, and a
            # split serving while another is asked for (a rollback whose UpdateService operation failed with
            # its split left desired: shared/gcp/run.py SplitLeftByFailedOperationError) serves only until the
            # service reconciles next. Either is written and verified, through the gate, once.
            raise refused(f"{service.short_name} already serves and asks for the split recorded before "
                          f"{p.action_id} ({', '.join(f'{k} {v}%' for k, v in sorted(serving.items()))}): "
                          "nothing to do, nothing written" + _while_in_flight(run, service_name))
        _not_undone(run, record, service)
    action = checked(run, "restore_traffic", params)     # bounds and override refused before any note
    before = traffic_state(service)
    result = _noted_and_gated(run, action, params, before, service_name)
    outcome = action_outcome(run, action, params, before, result, service_name)
    if outcome.status is OutcomeStatus.APPLIED:
        seen = _PinSeen()
        try:
            outcome.notes += _released(run, service_name, None if p.to_latest else p.action_id, seen)
        except _Unrecorded as exc:
            # The restore is written: raising now would lose its answer (a command dead-lettered is never
            # answered), and a resend would only find the gate's claim completed (a duplicate) and record
            # nothing more. So it is answered, saying what is not recorded (and what is) and what that leaves.
            run.timeline.step("unrecorded", f"after the restore, {exc}", severity="WARNING")
            outcome.notes.append(f"The restore is written, but {exc}; a person must check them")
        # Told whatever closing the rollbacks did: the pin is released by then, and the sweep reads only pins
        # still held, so a late verdict skipped here would never be said by anyone (it keeps its own faults).
        outcome.notes += _released_unjudged(run, service_name, outcome, seen)
    return outcome


class _Unrecorded(TransientError):
    """What `_released` could not record after the restore, worded by the step that failed (the pin's release, or
    the closing of the rollbacks the restore undid once the pin was released), with what that leaves."""



def _while_in_flight(run: CommandRun, target: str) -> str:
    """For a "nothing to do" read off the service as it is: another write to it in flight (its write claim
    held and not lapsed: Gate._take_writing), named with what it is where its plan says (in_flight.others_on),
    since what serves may change when it ends. Said, the operator told "no pin to release" does not go on
    while another's rollback pins the service a second later. "" when none, or when the read fails."""
    try:
        claim = run.adapters.state.get(WRITING, bound_key(target))
        if claim is None or claim.expired(run.now):
            return ""
        since = in_flight.lease_start(run.now, run.config.guardrails.claim_ttl_seconds)
        what = "; ".join(in_flight.others_on(run.adapters.state, target, since, "").listed())
    except (TransientError, PermanentError):
        return ""
    return (f"; but another write to {target} is in flight (its write claim held by {claim.owner} since "
            f"{claim.claimed_at:%H:%M:%S}Z, until {claim.expires_at:%H:%M:%S}Z at the latest"
            f"{f': {what}' if what else ''}): what it serves may change when that write ends; see it with "
            f"runwarden status --target {target}, and send this again with a new command_id once it has ended, "
            "if it is still wanted")


def _nothing_pinned(run: CommandRun, service: Service) -> str:
    """Why to_latest writes nothing when LATEST is already the desired split, and what the service shows.
    LATEST is "the Service's latest ready Revision" (TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST,
    google/cloud/run/v2/traffic_target.proto), `latest_ready_revision` "the latest revision that is
    serving traffic" and `latest_created_revision` "the last created revision" (google/cloud/run/v2/
    service.proto): when they differ, the newest revision's rollout failed or is still under way, and
    writing LATEST again serves it no sooner. Saying only "no pin to release" read as though the latest
    revision served."""
    pinned = [t for t in service.traffic_statuses if t.type is TrafficType.REVISION and t.percent]
    if pinned:
        # LATEST asked for (Service.traffic) while revisions named serve (traffic_statuses): a release whose
        # UpdateService operation failed with its split left desired, or one still reconciling. The same split
        # is not written twice; the pin holds until what serves says otherwise (pins.read_pin).
        return (f"{service.short_name} already asks for all traffic to LATEST, but still serves "
                f"{split_text(pinned)} (traffic_statuses): the release is asked for, not serving, and the pin "
                "holds; nothing written again. Whatever reconciles the service next may serve LATEST; see both "
                f"with: {describe_command(service.name)}")
    said = f"{service.short_name} already sends all traffic to LATEST: no pin to release, nothing written"
    created, ready = service.latest_created_revision, service.latest_ready_revision
    if not created or created == ready:
        return said
    revision = next((r for r in run.adapters.run.list_revisions(service.name) if r.short_name == created), None)
    serves = f"LATEST serves {ready} (latest_ready_revision)" if ready else "no revision is Ready to serve LATEST"
    return (f"{said}; but its newest revision {created} (latest_created_revision) {_not_ready(revision)}, and "
            f"{serves}: writing LATEST again would not serve {created}. Fix {created} and deploy again, or send "
            f"rollback_traffic with a Ready revision to pin one")


def _not_ready(revision: Revision | None) -> str:
    """The newest revision's Ready condition as the Revision shows it (google/cloud/run/v2/revision.proto,
    `conditions`): failed, or not Ready yet (its rollout under way)."""
    if revision is None:
        return "is not among its revisions any more"
    ready = revision.ready_condition
    if ready is None:
        return "shows no Ready condition yet"
    why = ": ".join(part for part in (ready.reason, ready.message[:300]) if part)
    if ready.state == "CONDITION_FAILED":
        return f"failed to become Ready ({why})" if why else "failed to become Ready"
    if ready.state == "CONDITION_SUCCEEDED":
        return "is Ready but does not serve yet (the service's rollout of it has not finished)"
    return f"is not Ready yet ({ready.state}{': ' + why if why else ''})"


def _noted_and_gated(run: CommandRun, action: Any, params: RestoreTrafficParams, before: dict[str, Any],
                     service: str) -> GateResult:
    """The gate's answer, the restore's note on the pin (`_mark_restoring`) kept only while its write
    may have taken: none for a dry run, and taken back after an answer that wrote nothing."""
    dry = runs_dry(run.config, action.name, run.manual())
    # The durable note first (restore_notes.py): stored before anything else, or the command is retried.
    generation = before.get("generation")     # as read before the note: a write since bumps it
    kept = None if dry or not run.command_id else restore_notes.store(run, service, params, generation)
    noted = None if dry else _mark_restoring(run, service, params)
    mark = noted.mark if noted else None
    try:
        result = gated(run, action, params, before, service)
    except AttemptInProgress:
        # An earlier attempt at this command holds the gate's claim: this one writes nothing. A note it
        # found there is that attempt's (whose write may have taken): kept. One it stored itself is taken
        # back, or, this command dead-lettered while the claim is held, it would stay for good and a
        # person's later change to exactly this split would be taken for a restore never written.
        if noted is not None and not noted.found:
            _unmark_restoring(run, service, mark)
        restore_notes.settle(run, kept, written=False, status="")
        raise
    except RunwardenError:
        _unmark_restoring(run, service, mark)   # the gate raises with nothing written (all given back)
        restore_notes.settle(run, kept, written=False, status="")
        raise
    if not result.written:
        _unmark_restoring(run, service, mark)   # skipped, failed, rejected, escalated unsent: nothing written
    restore_notes.settle(run, kept, written=result.written, status=result.status.value)
    return result


@dataclass(frozen=True)
class _Noted:
    """The note on the pin this attempt goes on with, and whether an earlier attempt at the same
    command stored it (`found`) rather than this one."""

    mark: RestoreMark
    found: bool


def _mark_restoring(run: CommandRun, service: str, params: RestoreTrafficParams) -> _Noted | None:
    """Noted on the service's pin before the write: the command and the split it writes. A restore
    keeps no intent (a corrective write), so if its write takes and its record then fails (answered
    `escalated`, the pin left `pinned`), this is what tells the sweep that the traffic it finds moved
    off the rollback is Runwarden's own restore, not someone else's change (verification.Sweep
    ._own_restore). Answers the note stored, or None: no pin, or one already released (nothing to
    note), or a note that could not be stored, which holds nothing up: the restore is written all the
    same, and only the rare restore whose record fails too is then escalated by the sweep as before.

    The note is the command's, not one attempt's: a note an earlier attempt at the same command left
    for the same split is gone on with as it is (`found`), never replaced by this attempt's own, so the
    attempt that holds the gate's claim can still take back the note it stored (its update is guarded on
    that very note) and a later attempt keeps a note whose write may have taken."""
    mark = RestoreMark(command_id=run.command_id or "", requested_by=run.command.requested_by,
                       traffic=[t.model_dump(mode="json") for t in params.desired()], at=run.now,
                       message_id=run.message_id or "")
    try:
        pin = run.adapters.state.get_record(PINS, service)
        if not pin or pin.get("pinned") is not True:
            return None
        held = pin.get("restoring")
        if held and _same_restore(held, mark):
            return _Noted(RestoreMark.model_validate(held), found=True)
        if run.adapters.state.update_record(PINS, service, {"restoring": mark.stored()},
                                            expect={"pinned": True, "restoring": held}):
            return _Noted(mark, found=False)
    except TransientError as exc:
        run.timeline.step("unrecorded", f"the restore's note on the pin of {service} could not be stored ({exc}); "
                          "restoring all the same", severity="WARNING")
    return None


def _same_restore(held: dict[str, Any], mark: RestoreMark) -> bool:
    """The note an earlier attempt at this command stored, for the split this attempt writes."""
    try:
        found = RestoreMark.model_validate(held)
    except ValueError:
        return False
    return found.command_id == mark.command_id and serving_shares(
        TrafficTarget.model_validate(t) for t in found.traffic) == serving_shares(
        TrafficTarget.model_validate(t) for t in mark.traffic)


def _unmark_restoring(run: CommandRun, service: str, mark: RestoreMark | None) -> None:
    """The note taken back when the gate wrote nothing (the kill switch, a pause, a duplicate, bounds,
    a write the API refused): a person who later sends the service the same split is not taken for
    this restore. Only this very note: guarded on the pin still holding it, so a note another restore
    stored since (which may be about to write) is left alone. Best effort: a note left behind only
    matters if a person writes exactly that split while the pin is held."""
    if mark is None:
        return
    try:
        run.adapters.state.update_record(PINS, service, {"restoring": None}, expect={"restoring": mark.stored()})
    except TransientError:
        pass


def _not_overtaken(record: ActionRecord, service: Service) -> None:
    """For a rollback already undone (one not undone: `_not_changed_since`, which also names later rollbacks
    and compares tags). Refused (`skipped`, nothing written) when the service no longer serves as the rollback
    left it and not as the recorded split either: someone changed its traffic since (a deploy of a fix, a person's
    gcloud, another rollback). Putting back the split from before the rollback would then not undo the
    rollback but overwrite that change, sending traffic back to the revision the rollback took it off.
    Read as the sweep's undo reads it (judging.traffic_moved): the spec (`traffic`) and what serves
    (`traffic_statuses`). A rollback whose split is desired and not served (its rollout failed, or is still
    reconciling) was moved by no one and may be restored; a spec already at the recorded split (an earlier
    attempt's write, still reconciling) is the split this restore writes."""
    moved = traffic_moved(record, service)
    to = str(record.params.get("to_revision") or "")
    if not moved or desired_not_served(to, service) or \
            serving_shares(service.traffic) == serving_shares(record.traffic_before):
        return
    raise refused(f"{moved}: putting back the split recorded before {record.key} "
                  f"({split_text(record.traffic_before)}) would overwrite that change, not undo the rollback; nothing "
                  f"written. See {service.short_name} as it is now: runwarden command diagnose --target "
                  f"{service.name}; "
                  "to move its traffic, send restore_traffic with to_latest: true, or rollback_traffic with a Ready "
                  "revision")


def _not_changed_since(run: CommandRun, record: ActionRecord, service: Service) -> None:
    """Refused (`skipped`, nothing written) unless the service's traffic is the split the rollback left, and
    no later rollback of it stands (since_rollback.changed_since): else the restore would undo that later
    change too. The later rollbacks are read from the records, as the rest of the restore reads them; a read
    that fails raises (transient: the command is delivered again), never read as "none"; a record that cannot
    be read (damaged, or written by a version this one cannot read) may be such a later rollback, so it refuses
    the restore too, named (fail closed: since_rollback.unread_records), never passed over."""
    later = history.later_rollbacks(run.adapters.state, record)
    unread = since_rollback.unread_records(record, later.unreadable)
    if unread:
        raise refused(f"{unread}; nothing written. To move its traffic now, send restore_traffic with to_latest: "
                      "true, or rollback_traffic with the Ready revision you want served")
    why = since_rollback.changed_since(record, service, later.standing)
    if why:
        raise refused(f"{why}; nothing written. See {service.short_name} as it is now: runwarden command diagnose "
                      f"--target {service.name}; to move its traffic, send restore_traffic with to_latest: true, or "
                      "rollback_traffic with the Ready revision you want served")


def _not_undone(run: CommandRun, record: ActionRecord, service: Service) -> None:
    """Refused (`skipped`, nothing written) when the rollback was undone already (by the sweep, or a person's
    restore) and its service serves as it left it all the same: a later change (another rollback to the same
    revision) pinned it again. Putting back the split recorded before this rollback would undo that later
    change, never named by the command, its record left `pending` for the sweep to judge a change someone had
    reversed; that change is undone by its own action_id. Checked last: an undone rollback whose split serves,
    or whose traffic moved since, is answered as before (`_not_overtaken`, and "already serves"); so is a resend
    of the very command that undid it (`ActionRecord.undone_by`, which `_released` keeps), which its gate claim
    answers."""
    if not _undone_by_another(run, record):
        return
    later = _later_rollbacks(run, record)
    raise refused(f"{record.key} was already undone{_undone_said(record)}: nothing left to undo, nothing written. "
                  f"{service.short_name} serves {split_text(service.traffic)} as a later change left it"
                  + (f" ({later}): to undo that, send restore_traffic with its action_id" if later else "")
                  + "; to move its traffic, send restore_traffic with to_latest: true, or rollback_traffic with a "
                    "Ready revision")


def _not_undone_before(run: CommandRun, record: ActionRecord, serving: dict[str, int]) -> None:
    """Refused (`skipped`, nothing written) for a rollback another restore (an operator's, or the sweep's undo)
    undid already, its split still serving: named, who undid it, when and by which command and Pub/Sub message,
    so that the second operator reads whose restore stands rather than a bare "nothing to do"."""
    if not _undone_by_another(run, record):
        return
    raise refused(f"{record.key} was already undone{_undone_said(record)}, and the service still serves the split "
                  f"recorded before it ({', '.join(f'{k} {v}%' for k, v in sorted(serving.items()))}): nothing left "
                  "to undo, nothing written" + _while_in_flight(run, record.service))


def _undone_by_another(run: CommandRun, record: ActionRecord) -> bool:
    """Whether the rollback was undone by something other than this very command (a resend of the command that
    undid it is answered by its gate claim, as before)."""
    return record.state is ActionState.UNDONE and not (run.command_id and record.undone_by == run.command_id)


def _undone_said(record: ActionRecord) -> str:
    """When and how a rollback was undone, as its record keeps it: the restore's note (whose, which command) and
    the Pub/Sub message that carried that command."""
    when = f" at {record.resolved_at:%Y-%m-%d %H:%M:%S} UTC" if record.resolved_at else ""
    said = [part for part in (record.note, f"Pub/Sub message {record.undone_by_message}"
                              if record.undone_by_message else "") if part]
    return when + (f" ({'; '.join(said)})" if said else "")


def _later_rollbacks(run: CommandRun, record: ActionRecord) -> str:
    """The service's rollbacks recorded after `record` and not undone, newest first: the change now serving
    (history.later_rollbacks, as `_not_changed_since` reads them). Words only: a read that fails names nothing."""
    try:
        later = history.later_rollbacks(run.adapters.state, record)
    except (TransientError, PermanentError):
        return ""
    return "; ".join(f"action {r.key} ({since_rollback.whose(r)}, applied {r.applied_at:%Y-%m-%d %H:%M:%S} UTC, "
                     f"{r.state.value})" for r in later.standing[:3])


def _still_servable(run: CommandRun, action_id: str, service: Service,
                    traffic: tuple[TrafficTarget, ...]) -> list[Revision]:
    """The service's revisions, once the recorded split's shares are all on revisions that still exist and
    are Ready (`restore_traffic.cannot_serve` says why Cloud Run would fail it after the write): else refused
    here, naming the revisions, and nothing is written."""
    revisions = run.adapters.run.list_revisions(service.name)
    why = cannot_serve(traffic, revisions)
    if why:
        raise rejected("params.action_id", f"the split recorded before {action_id} cannot be put back: {why} in "
                       f"{service.short_name}; nothing written. Send to_latest: true to release the pin, or "
                       "rollback_traffic with a Ready revision")
    return revisions


def through_gate(run: CommandRun, name: str, params: Any, before: dict[str, Any], service: str) -> Outcome:
    action = checked(run, name, params)
    result = gated(run, action, params, before, service)
    return action_outcome(run, action, params, before, result, service)


def checked(run: CommandRun, name: str, params: Any) -> Any:
    """The action, once the command's params are within its bounds and an override is an operator's:
    else `rejected`, before anything is written."""
    action = get_action(name)
    violations = action.bounds_violations(params, run.config, run.now)
    if violations:
        raise rejected("params", "outside bounds: " + "; ".join(violations))
    run.require_own_override()      # each handler checks it first; here too, for any write that comes through
    return action


def gated(run: CommandRun, action: Any, params: Any, before: dict[str, Any], service: str) -> GateResult:
    incident = run.own_incident()
    run.timeline.step("planned", f"{action.name} by {run.command.requested_by}: {run.command.reason}",
                      action=action.name, params=params.model_dump(mode="json"))
    return run.gate().execute(action, params, before, incident, run.adapters, service=service,
                              signature="manual", manual=run.manual())


def action_outcome(run: CommandRun, action: Any, params: Any, before: dict[str, Any], result: GateResult,
                   target: str) -> Outcome:
    """The outcome of a gated write: the change, what changed, overrides and the pin's release."""
    report = ActionReport(name=action.name, params=params.model_dump(mode="json"), reversible=action.reversible,
                          before=before, after=result.after, action_id=result.claim_key, overrides=result.overrides)
    notes, reason = list(result.notes), result.reason
    if result.status is OutcomeStatus.DRY_RUN:
        reason = held.dry_run_said(reason, result.dry_run_by, action=action.name, before=before, after=result.after,
                                   fallback=dry_run_by(asked=run.command.dry_run, config_dry_run=run.config.dry_run))
    elif result.status is OutcomeStatus.SKIPPED:
        # Any dry run (the command's own, the config's mode, the action's shadow mode) says what the write would
        # change, and never to resend it: sent again once released, it would only be a dry run again.
        dry = run.command.dry_run or run.config.action_dry_run(action.name)
        asked = (before, action.preview(params, before)) if dry else None
        reason = held.kill_switch_said(reason, result.held, run.command.command, run.command_id, asked,
                                       dry_run_by(asked=run.command.dry_run, config_dry_run=run.config.dry_run),
                                       action.name)
    if result.status is OutcomeStatus.APPLIED:
        notes = action.notes(params) + notes
        if "traffic" in before and result.after:
            notes += [f"Changed: {line}" for line in traffic_changes(before, result.after)]
    return run.outcome(result.status, reason, target=target, action=report, notes=notes, held=result.held)


def _named_revision(run: CommandRun, service: Service, revisions: list[Revision]) -> Revision:
    name = run.command.params.revision
    if name != name.lower():
        raise rejected("params.revision", in_capitals(name, service.short_name, [r.short_name for r in revisions]))
    found = next((r for r in revisions if r.short_name == name), None)
    if found is None:
        raise rejected("params.revision", f"{name} is not a revision of {service.short_name} "
                                          f"(it has {', '.join(r.short_name for r in revisions[-5:]) or 'none'})")
    if found.service != service.name:
        raise rejected("params.revision", f"{name} belongs to {found.service}, not {service.name}")
    if not found.ready:
        raise rejected("params.revision", f"{name} is not Ready: traffic can only go to a Ready revision")
    return found


def in_capitals(name: str, service: str, revisions: list[str]) -> str:
    """Why a revision typed with capitals is refused, naming the one revision of the service it spells when there is
    exactly one (compared case-insensitively): Cloud Run writes revision names in lowercase
    (shared/alerts/commands.py, REVISION_PATTERN; the parse takes either case, REVISION_TYPED_PATTERN, so that this
    answer can name the one meant), so the name as sent names none, and which was meant is the sender's to confirm.
    Never acted on, even when one matches: the command is sent again with that name, under a new command_id, since
    this refusal is recorded under the one sent (the command's claim is taken before the revisions are read)."""
    spelt = [revision for revision in revisions if revision.lower() == name.lower()]
    said = (f"{quoted(name)} is not a revision of {service}: Cloud Run names revisions in lowercase letters, digits and "
            "hyphens")
    if len(spelt) == 1:
        return (f"{said}; did you mean {quoted(spelt[0])}? send it again with that name, under a new command_id; "
                "nothing was written")
    return f"{said} (it has {', '.join(revisions[-5:]) or 'none'}); nothing was written; send it again under a new command_id"


def _known_good(run: CommandRun, service: str) -> Revision:
    bundle, diagnosis = read_diagnosis(run, service)
    name = diagnosis.known_good_revision
    found = next((r for r in bundle.revisions if r.short_name == name), None)
    if found is None or not found.ready:
        raise rejected("params.revision", f"not given, and diagnosis found no known-good revision "
                                          f"({diagnosis.signature.value}: {diagnosis.summary}); name one")
    run.notes.append(f"The last known-good revision, by diagnosis: {name} ({diagnosis.rule}).")
    return found


def _pinned_to(service: Service, revision: str) -> bool:
    """Whether the service is pinned to `revision` already, as served and as desired: it receives 100%
    (`traffic_statuses`) and the desired split sends it 100% by name (`traffic`; a tag kept at 0%, on
    LATEST or another revision, serves only its own URL). What serves alone is not enough: while
    `reconciling`, the statuses are transient, and after a failed reconcile they keep the revision that
    served before while the desired split stays as sent (the service.proto comments on `reconciling`,
    google/cloud/run/v2/service.proto). A person's
    `update-traffic` to another revision, still reconciling or failed, is then the split the service
    serves next or keeps asking for, and "nothing to do" would leave it so."""
    desired = sum(t.percent for t in service.traffic if t.type is TrafficType.REVISION and t.revision == revision)
    return service.serving_percent(revision) == 100 and desired == 100


def _serving_most(service: Service, besides: str) -> str | None:
    """The revision the rollback takes out of service (`from_revision`): the one serving most other than
    the revision traffic goes to. Read without that exclusion, a rollback to the majority of a canary split
    (OLD 60%, NEW 40%) recorded OLD as taken out: its outcome never said NEW no longer serves, and a later
    alert's 5xx of OLD, the revision now serving everything, were read as those of a revision that "serves
    nothing" since the rollback (shared/pipeline.py, a rollback's own failure still in the evidence)."""
    statuses = sorted((t for t in service.traffic_statuses if t.percent and t.revision != besides),
                      key=lambda t: t.percent, reverse=True)
    return statuses[0].revision if statuses else besides


def _rollbacks_of(run: CommandRun, service: str, shown: int = 3) -> str:
    """The service's recorded rollbacks, newest first, for an action_id that names none (a key copied
    short, or from another outcome): the ids that would do, so the operator need not dig for them."""
    records = sorted((r for r in (run.adapters.state.find_records(ACTIONS, "service", service) or [])
                      if r.get("action") == "rollback_traffic"), key=lambda r: str(r.get("applied_at") or ""),
                     reverse=True)
    if not records:
        return " (the service has no recorded rollback: to release a pin, send to_latest: true)"
    named = "; ".join(f"{r.get('key')} ({r.get('state')}, applied {r.get('applied_at')})" for r in records[:shown])
    return f" (the service's recorded rollbacks, newest first: {named})"


def _recorded_action(run: CommandRun, action_id: str, service: str) -> ActionRecord:
    data = run.adapters.state.get_record(ACTIONS, action_id)
    if not data:
        raise rejected("params.action_id", f"no recorded action {echoed(action_id)}{_rollbacks_of(run, service)}")
    try:
        record = ActionRecord.model_validate(data)
    except ValueError as exc:
        # Raised as it was, the command was delivered again and again, unanswered: a person must look at the
        # record (damaged, or written by a version this one cannot read), so the answer names it at once.
        raise Refused(OutcomeStatus.ESCALATED, f"action {action_id}'s record cannot be read ({why_unreadable(exc)}): "
                      "nothing written, as the split it recorded cannot be trusted. Look at it in the state store's "
                      f"{ACTIONS} collection; to move the traffic now, send restore_traffic with to_latest: true, or "
                      "rollback_traffic with the Ready revision you want served") from None
    if not record.reversible:
        # A connector's scale (its action is not reversible): said as having no way back, not as another service's.
        raise rejected("params.action_id", f"{action_id} is a {record.action} (recorded {record.state.value}): "
                                           + connector_one_way(record.target))
    if record.service != service or record.action != "rollback_traffic":
        raise rejected("params.action_id", f"{action_id} is a {record.action} on {record.target}, not a traffic "
                                           f"change of {service}")
    return record


@dataclass
class _PinSeen:
    """What the restore's release of the pin read of it (`_release_pin`), so that `_released_unjudged` need not
    read it again. `judged`: the release read the pin and decided whether a late verdict was still to come;
    `unjudged`: that pin (as read) when one was, released by the same update that noted it `released`."""

    judged: bool = False
    unjudged: PinRecord | None = None


def _released(run: CommandRun, service: str, action_id: str | None, seen: _PinSeen) -> list[str]:
    """The pin is gone and the sweep must not undo a rollback a person already reversed. Returns what this
    restore undid, one line per rollback it closed: whose, to which revision and when, so that an operator whose
    restore reverses another's rollback of a minute ago (two people on one incident) reads that it did. What the
    release read of the pin is left in `seen`."""
    try:
        _release_pin(run, service, seen)
    except TransientError as exc:
        raise _Unrecorded(f"the pin's release could not be recorded ({exc}): the sweep may still remind of the pin of "
                          f"{service}, and the rollback it undid is still open to the sweep's judgement") from None
    undid: list[str] = []
    try:
        _close_rollbacks(run, service, action_id, undid)
    except TransientError as exc:
        # The pin is released (said so: "could not be recorded" was false past RELEASE_PAGES pages); the rollbacks
        # not closed are the sweep's to judge, over this restore.
        closed = f" ({len(undid)} closed: {' '.join(undid)})" if undid else ""
        raise _Unrecorded(f"the pin of {service} is released and the pending rollbacks it undid could not all be "
                          f"closed ({exc}){closed}: one left open is still judged by the sweep as if this restore "
                          "had not closed it") from None
    return undid


def _release_pin(run: CommandRun, service: str, seen: _PinSeen) -> None:
    """The service's pin released, the pin read once. Most pins were never served late: one update guarded on
    that (no `served_late_at`) releases such a pin, and its read (the update's own, checking the guard) is the
    only one: no late verdict can be owed. Otherwise (a pin served late, or none) the pin is read, and one update
    guarded on what was read releases it, noting `late_verdict: released` when its late verdict was still to come
    and was not told (late_rollback.verdict_recorded): `seen` keeps that pin for `_released_unjudged` to say so.
    A pin that changed between the read and the update (a sweep's verdict, another restore), an unreadable one,
    or an action record that could not be read: released as before, and `_released_unjudged` reads it after."""
    state = run.adapters.state
    released = {"pinned": False, "released_at": run.now, "released_by": run.command.requested_by}
    if state.update_record(PINS, service, released, expect={"served_late_at": None}):
        seen.judged = True
        return
    data = state.get_record(PINS, service)
    if data is None:
        seen.judged = True     # no pin: nothing released, no late verdict owed
        return
    try:
        pin = PinRecord.model_validate(data)
        owed = (pin.served_late_at is not None and not pin.late_verdict
                and not late_rollback.verdict_recorded(state.get_record(ACTIONS, pin.action_id)))
    except (TransientError, ValueError):
        state.update_record(PINS, service, released)
        return
    guard = {"action_id": data.get("action_id"), "late_verdict": data.get("late_verdict")}
    if state.update_record(PINS, service, released | ({"late_verdict": "released"} if owed else {}), expect=guard):
        seen.judged, seen.unjudged = True, (pin if owed else None)
        return
    state.update_record(PINS, service, released)


def _released_unjudged(run: CommandRun, service: str, outcome: Outcome, seen: _PinSeen) -> list[str]:
    """A rollback served late whose late verdict was still to come (its pin's `served_late_at` set, no
    `late_verdict`) is released by this restore before it was judged: said once (the pin noted `released`, guarded
    on no verdict noted), in this answer and on the rollback's incident's timeline, with what serves now. Without
    it, the sweep reads released pins no more, and the verdict its `pin_serving` reminder promised never came.
    When the release judged the pin as it read it (`seen`), that reading decides: the pin is not read again."""
    if seen.judged:
        return [] if seen.unjudged is None else _say_unjudged(run, service, outcome, seen.unjudged)
    try:
        data = run.adapters.state.get_record(PINS, service)
        pin = PinRecord.model_validate(data) if data else None
        if pin is None or pin.served_late_at is None or pin.late_verdict:
            return []
        if late_rollback.verdict_recorded(run.adapters.state.get_record(ACTIONS, pin.action_id)):
            return []    # its verdict was told (the pin's note of it lost): nothing left unjudged
        if not run.adapters.state.update_record(PINS, service, {"late_verdict": "released"},
                                                expect={"action_id": pin.action_id, "late_verdict": ""}):
            return []    # said by another restore, or judged by a sweep, meanwhile
    except (TransientError, ValueError) as exc:
        return [f"Whether this restore released a rollback served late and not yet judged could not be read ({exc}): "
                "if the service's pin was one, it is not verified and no verdict follows"]
    return _say_unjudged(run, service, outcome, pin)


def _say_unjudged(run: CommandRun, service: str, outcome: Outcome, pin: PinRecord) -> list[str]:
    """The words of a late rollback released by this restore before its verdict (the pin noted `released`), in
    the answer and on its incident's timeline, with what serves now."""
    after = recorded_service(outcome.action.after if outcome.action else None)
    words = late_rollback.released_words(pin, f"by {run.command.requested_by or 'a person'}'s restore_traffic",
                                         after, run.now)
    Timeline(pin.incident_id or None, "command").step("released", words, severity="WARNING", service=service,
                                                      action_id=pin.action_id)
    return [words]


def _close_rollbacks(run: CommandRun, service: str, action_id: str | None, undid: list[str]) -> None:
    """The service's pending rollbacks (the one `action_id` names, if any) closed `undone` by this restore, each
    named in `undid` once closed, so that what a fault mid-way left is said."""
    state, now, by = run.adapters.state, run.now, run.command.requested_by
    for data in _pending_actions(state, service, now):
        if data.get("action") != "rollback_traffic" or (action_id and data.get("key") != action_id):
            continue
        # A verdict (undone): copied into the incident's SETTLED record in the same commit where the record keeps
        # it there (settled.write_verdict), so a later notification of the incident reads it with its entry.
        if data.get("state") == ActionState.PENDING.value and isinstance(data.get("key"), str) and write_verdict(
                state, data, {"state": ActionState.UNDONE.value, "resolved_at": now,
                              "note": f"traffic restored by {by} (command {run.command_id})",
                              "undone_by_command": run.command_id or "", "undone_by_message": run.message_id or ""},
                expect={"state": ActionState.PENDING.value}):
            undid.append(_undid(data))


# Pages of pending actions `_pending_actions` reads at most, of RELEASE_PAGE each: far past what a sweep leaves
# pending (each is judged within minutes of its deadline), yet bounded. Past it, the read raises, named.
RELEASE_PAGE, RELEASE_PAGES = 100, 50
# Later than any deadline a pending action can have: the query's upper bound (find_before needs one).
_NO_DEADLINE_AFTER = timedelta(days=3650)


def _pending_actions(state: Any, service: str, now: datetime) -> list[dict[str, Any]]:
    """Every pending action record of `service`, read page by page over ALL pending actions by deadline
    (`state == "pending" ORDER BY deadline_at`, the sweep's query, served by infra's `pending_actions` index):
    the service's records read at once (find_records' limit of 100) may leave out an older pending rollback on
    a busy service, which a to_latest restore then left open, to be judged and undone by the sweep over the
    restore. Pending ones alone are closed here, and they are few: the sweep ends each by its deadline. A read
    past RELEASE_PAGES pages raises (TransientError: the caller's answer names what is not recorded)."""
    found: dict[str, dict[str, Any]] = {}
    since: datetime | None = None
    for _ in range(RELEASE_PAGES):
        page = state.find_before(ACTIONS, "state", ActionState.PENDING.value, "deadline_at",
                                 now + _NO_DEADLINE_AFTER, RELEASE_PAGE, since=since)
        found.update((str(d.get("key")), d) for d in page if d.get("service") == service)
        if len(page) < RELEASE_PAGE:
            return list(found.values())
        last = page[-1]["deadline_at"]
        # As the sweep's walk (verification.Sweep._actions): the next page starts at the last deadline read
        # (read again, known by key); a page all of one instant moves a microsecond past it.
        since = last if since is None or last > since else since + timedelta(microseconds=1)
    raise TransientError(f"more than {RELEASE_PAGES * RELEASE_PAGE} pending actions: those of {service} past them "
                         "were not read, and may still be open")


def _undid(data: dict[str, Any]) -> str:
    """One line naming a rollback this restore closed, its author worded as everywhere a rollback is named
    (since_rollback.whose). Said after the write: a record this version cannot read otherwise is named by its
    key all the same, never raised on (the restore's answer would be lost)."""
    try:
        record = ActionRecord.model_validate(data)
    except ValueError:
        return (f"This restore undid rollback {data['key']} (its record cannot otherwise be read); the sweep no "
                "longer judges it")
    return (f"This restore undid rollback {record.key} (to {record.params.get('to_revision') or '?'}, "
            f"{since_rollback.whose(record)}, applied at {record.applied_at:%Y-%m-%d %H:%M:%S} UTC); the sweep no "
            "longer judges it")
