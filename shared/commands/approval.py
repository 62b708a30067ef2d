"""approve and reject: an operator decides a `proposed` action by its id, before it expires.

Approve re-reads the live state and refuses (saying why) when the world changed since the
proposal: the incident closed, the target already changed, a newer revision now serves, a service a
scale was decided for moved onto or off its connector, or the live diagnosis no longer finds the
signature the proposal was made for. A dry run (the command's, the config's mode, the action's shadow
mode) decides nothing, whatever it finds. Then the
action goes through the gate like any other write: bounds, kill switch, the incident's claim (so
a redelivered alert stays a no-op), dry-run. Only principals in `operators` may decide.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from shared.alerts.commands import command_digest
from shared.alerts.operators import APPROVE, REJECT
from shared.commands.context import CommandRun, Refused, refused, rejected
from shared.commands.diagnose import read_diagnosis
from shared.commands.held import whose_dry_run
from shared.commands.traffic import action_outcome
from shared.diagnosis.evidence import short_name
from shared.diagnosis.collection import MAX_FAN_OUT_SERVICES, Users, users_of
from shared.diagnosis.scope import (COMMAND_AGAIN, PEERS, ServiceResult, held_for_clean_peer, saturated_connector,
                                    service_peers_held)
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.errors import PermanentError, TransientError
from shared.outcomes import Outcome, OutcomeStatus
from shared.ports import RecordWrite, found_key
from shared.remediation.actions import get_action
from shared.remediation.actions.scale_connector import manual_sender
from shared.remediation.approvals import ABANDONED
from shared.remediation.guardrails import PROPOSAL_IN_DOUBT, Manual, MaybeBehind, end_approval_applied
from shared.remediation.history import incident_closed
from shared.remediation import in_flight
from shared.remediation.records import ACTIONS, PROPOSALS, ProposalRecord, why_unreadable
from shared.remediation.refusals import dry_run_by
from shared.remediation.sweep_budget import LOOKUP_SECONDS, StepTime, alert_peer_time

# The gate's answers that held the write back and wrote nothing (the kill switch, a pause, the
# cooldown, a budget, the config's dry-run mode): the approval did not happen, so the proposal is
# opened again. (An `escalated` answer that wrote nothing closes it instead: `_superseded`.) Left
# `approved`, it could never be approved again once the brake is released (`_open_proposal`
# refuses a proposal that is not open).
_NOTHING_WRITTEN = frozenset({OutcomeStatus.SKIPPED, OutcomeStatus.DRY_RUN})
# The proposal of an approve whose write the gate escalated after sending it (its answer lost, or another
# change landed around it; recorded for the sweep, or not recorded: then a resend or the sweep records
# it): neither applied nor under way. The sweep's judgement of the write ends it (verified, undone,
# escalated), and a resend that records an unrecorded write ends it `applied`; nothing approves it again.
IN_DOUBT = PROPOSAL_IN_DOUBT


def approve(run: CommandRun) -> Outcome:
    run.require_operator(APPROVE)
    proposal = _open_proposal(run)
    dry_run = decides_nothing(run, proposal)
    behind = _behind_now(run, proposal)
    changed = _world_changed(run, proposal, behind)
    if changed:
        if dry_run:     # a dry run decides nothing: the real approve refuses and closes it
            raise refused(_world_changed_reason(proposal, changed) + _left_open(run, proposal))
        _decide_with_answer(run, proposal, "refused", note=changed)
        raise refused(_world_changed_reason(proposal, changed))
    action = get_action(proposal.action)
    params = action.params_model.model_validate(proposal.params)
    if not dry_run and not _decide(run, proposal, "approved"):
        raise refused(f"proposal {proposal.proposal_id} was decided by someone else meanwhile: this approve wrote "
                      f"nothing{decided_since(run, proposal.proposal_id)}")
    run.timeline.step("approved", f"{proposal.proposal_id} ({proposal.action} on {proposal.target}) approved by "
                      f"{run.command.requested_by}: {run.command.reason}", proposal_id=proposal.proposal_id,
                      **({"override": True} if run.command.override_limits else {}),
                      **({"unread_peers_accepted": run.unread_accepted} if run.unread_accepted else {}))
    # The command's digest is kept with its intent and action record, as any command's (CommandRun.manual):
    # without it, a command reusing this id once its record is lost would be taken for this approve.
    manual = Manual(command_id=run.command_id, requested_by=run.command.requested_by,
                    override_limits=run.command.override_limits, dry_run=run.command.dry_run,
                    approved=proposal.proposal_id,
                    digest=command_digest(run.command))
    try:
        # Held back by the pauses that held back the alert's write: the proposal's service and every
        # service it was made for (a connector alert's: each managed service behind the connector).
        gate = run.gate()
        gate.evidence_read_at = proposal.evidence_read_at   # the evidence proposed on: the wait's changes read
        result = gate.execute(action, params, proposal.before, proposal.incident_id, run.adapters,
                              service=proposal.service, signature=proposal.signature, manual=manual,
                              on_behalf=[proposal.service, *_made_for(proposal, behind, run.now),
                                         *_unread_now(proposal, behind, run.now)],
                              background=proposal.target_background)
    except TransientError:
        _reopen(run, proposal)
        raise
    reopened = not dry_run and result.status in _NOTHING_WRITTEN and _reopen(run, proposal)
    superseded = not dry_run and _superseded(result)
    if not dry_run and not reopened:
        _end_with_answer(run, proposal, _final_state(result), result.reason)
    outcome = action_outcome(run, action, params, proposal.before, result, proposal.target)
    outcome.action.proposal_id = proposal.proposal_id
    if reopened:
        outcome.notes.append(f"proposal {proposal.proposal_id} stays open until "
                             f"{proposal.expires_at:%Y-%m-%d %H:%M:%S} UTC: approve it again once this is cleared")
    if superseded:
        outcome.notes.append(_superseded_note(run, proposal))
    outcome.notes += _read_since(proposal, behind, run.now)
    if outcome.status is OutcomeStatus.DRY_RUN:
        outcome.reason += f"; proposal {proposal.proposal_id} stays open: nothing decided"
    return outcome


def decides_nothing(run: CommandRun, proposal: ProposalRecord) -> bool:
    """Whether this approve is a dry run, which decides nothing and leaves the proposal as it is (open, or
    past its expiry unmarked): the command's own `dry_run`, or the config's dry-run mode or the action's shadow
    mode (Config.action_dry_run). Under the config's, a real approve that moved the proposal (closed it
    `refused` when the world had changed, or took it `approved` and opened it again) destroyed the decision
    of a proposal the dry run was never going to act on: the person who approves once writes are on found it
    closed, or decided by someone whose approve wrote nothing."""
    return run.command.dry_run or run.config.action_dry_run(proposal.action)


def _left_open(run: CommandRun, proposal: ProposalRecord) -> str:
    """A dry run's refusal: which dry run (held.whose_dry_run), and that the proposal is left as it was."""
    if run.command.dry_run:
        return "; dry-run: the proposal is left open"
    whose = whose_dry_run(dry_run_by(asked=False, config_dry_run=run.config.dry_run), proposal.action)
    return (f"; dry-run ({whose}): nothing decided, the proposal is left open; an approve once writes are on "
            "re-reads the world and refuses it then, if it still changed")


def _world_changed_reason(proposal: ProposalRecord, changed: str) -> str:
    return (f"approval of {proposal.proposal_id} refused: the world changed since the proposal "
            f"({proposal.proposed_at:%H:%M:%S}): {changed}; nothing applied")


def _decided_by_this_command(run: CommandRun, proposal: ProposalRecord) -> Refused | None:
    """The answer again, with its reason, when an earlier attempt at this very command refused the
    approval (the world changed) or closed the proposal superseded (or the sweep closed it abandoned,
    the attempt having ended without writing), and raised before answering
    (the proposal's update landed, its answer was lost): otherwise the resend would answer only
    "already refused", and nobody would hear why nothing was applied, nor what to do."""
    if not _by_this_command(run, proposal):
        return None
    if proposal.state == "refused":
        return refused(_world_changed_reason(proposal, proposal.note))
    if proposal.state == "superseded":
        return Refused(OutcomeStatus.ESCALATED, f"{proposal.action} not written: {proposal.note}. "
                       + _superseded_note(run, proposal))
    if proposal.state == ABANDONED:
        # Closed by the sweep once this command's attempt had ended without writing (shared/remediation/
        # approvals.py), its record completed with that answer: a resend meets it only once that record is gone.
        return Refused(OutcomeStatus.ESCALATED, f"{proposal.action} not written: {proposal.note}. "
                       + _superseded_note(run, proposal).replace("superseded", ABANDONED))
    return None


def _superseded(result: Any) -> bool:
    """The gate refused the approved write for good and wrote nothing (`escalated`, not `written`):
    a bound the plan no longer meets, or a target that changed after the evidence the proposal
    rests on was read (StaleEvidenceError). The proposal's decision no longer holds: approved
    again, it would apply that old decision, so it is closed instead."""
    return result.status is OutcomeStatus.ESCALATED and not result.written


def _final_state(result: Any) -> str:
    """Where the gate's answer leaves the proposal this command holds `approved`: closed `superseded` (the
    gate refused the write for good and wrote nothing), `applied`, `failed`, or `in_doubt` (an `escalated`
    that wrote: sent with its answer lost, or another change around it; recorded for the sweep), rather
    than `approved` as if the write were still under way."""
    if _superseded(result):
        return "superseded"
    return {OutcomeStatus.APPLIED: "applied", OutcomeStatus.FAILED: "failed",
            OutcomeStatus.ESCALATED: IN_DOUBT}.get(result.status, "approved")


def _end_with_answer(run: CommandRun, proposal: ProposalRecord, state: str, reason: str) -> None:
    """The proposal's end after the gate answered, if this command still holds it `approved`: written by the
    commit that completes the command's record and keeps its answer (answers.complete), as a refusal is.
    Written on its own before that answer was kept, a `superseded` or a `failed` (each closing the proposal
    for good, told of by the answer alone) could land with its answer lost, and a command never delivered
    again left the proposal closed with no one told. The gate's own records are settled by then (given back
    and its intent voided, or the write recorded), so nothing here acts or holds anything back. A commit
    that fails outright leaves the proposal `approved` by this command: the sweep ends it once it judges a
    recorded write (verification._end_proposal); with nothing written, a resend of this command carries
    the approval on (_approved_by_this_command) and the gate decides afresh on the live target."""
    if state == "approved":
        return
    run.decisions.append(RecordWrite(PROPOSALS, proposal.proposal_id, {"state": state, "note": reason}, merge=True,
                                     expect={"state": "approved", "command_id": run.command_id}))


def _superseded_note(run: CommandRun, proposal: ProposalRecord) -> str:
    """What a person does next: look at the target as it is now, and decide afresh by a command of
    their own, which the gate checks against the live target (a re-notification of the incident
    finds this proposal closed and does not make another)."""
    service = proposal.service if "/services/" in proposal.service else proposal.target
    return (f"proposal {proposal.proposal_id} is closed as superseded: nothing was written, and the decision made "
            f"at {proposal.proposed_at:%H:%M:%S} no longer holds, so it cannot be approved again. See {service} as "
            f"it is now: runwarden command diagnose --target {service}; to make a change, send it as a command of "
            f"its own: runwarden command {proposal.action} --target {proposal.target} --param ... --reason '...'"
            + _who_sends(run, proposal))


def _who_sends(run: CommandRun, proposal: ProposalRecord) -> str:
    """Who must send the scale_connector command a note advises, where the connector's policy leaves the
    one-way change to a person (scale_connector.manual_sender); "" for any other action."""
    if proposal.action != "scale_connector":
        return ""
    return manual_sender(run.config.bounds.connector(proposal.target).allow_one_way, proposal.target)


def reject(run: CommandRun) -> Outcome:
    """The proposal closed `rejected`, by the commit that completes the command's record and keeps its
    answer (answers.complete): rejected and answered, or neither. Written on its own first, the rejection
    could land with its answer lost: the handler raised before the answer was kept, and a command never
    delivered again left the proposal closed with no one told. If another command decides the proposal
    between this read and that commit, its decision stands and the answer says this reject closed nothing."""
    run.require_operator(REJECT)
    proposal = _open_proposal(run)
    word = "would be closed (dry-run)" if run.command.dry_run else "closed"
    if not run.command.dry_run:
        run.decisions.append(_decision(run, proposal, "rejected", run.command.reason))
        run.undecided = run.build(OutcomeStatus.SKIPPED, _decided_meanwhile(proposal), target=proposal.target)
        run.meanwhile = lambda: decided_since(run, proposal.proposal_id)
    return run.outcome(OutcomeStatus.DRY_RUN if run.command.dry_run else OutcomeStatus.APPLIED,
                       f"proposal {proposal.proposal_id} ({proposal.action} on {proposal.target}) {word} by "
                       f"{run.command.requested_by} without applying it: {run.command.reason}",
                       target=proposal.target)


def _decided_meanwhile(proposal: ProposalRecord) -> str:
    return f"proposal {proposal.proposal_id} was decided by someone else meanwhile: this reject closed nothing"


# What a proposal's state, read after another command decided it, means for the operator whose decision
# lost: whether anything was or will be written, and what still holds it back.
_NOW_MEANS = {
    "approved": "its write may be under way; nothing can close it now, but a pause still holds it back before the "
                "write: runwarden pause --target {target} --reason '...'",
    "applied": "its change was written",
    "in_doubt": "its write is in doubt; the verification sweep ends it once it judges that write",
    "rejected": "closed without applying it; nothing was written",
    "refused": "refused: the world changed since the proposal; nothing was written",
    "superseded": "closed as superseded; nothing was written",
    "failed": "its write failed",
    "expired": "expired undecided; nothing was written",
    "open": "open again (the approve that took it wrote nothing: a brake held it back); decide it again with a new "
            "command_id",
}


def decided_since(run: CommandRun, proposal_id: str) -> str:
    """What another command decided, read now: "; it is now rejected by bob@… (command rj-b at 03:01:02 UTC):
    closed without applying it; nothing was written". "was decided by someone else meanwhile" alone left the
    operator whose approve or reject lost, at 3 a.m., not knowing whether the connector was being scaled."""
    try:
        data = run.adapters.state.get_record(PROPOSALS, proposal_id)
    except (TransientError, PermanentError):   # words only: the answer stands without them
        data = None
    if not data:
        return " (see its state: runwarden command status)"
    try:
        proposal = ProposalRecord.model_validate(data)
    except ValueError as exc:       # words only, said after the decision: never raised on
        return f" (its record cannot be read now: {why_unreadable(exc)})"
    who = f" by {proposal.decided_by}" if proposal.decided_by else ""
    how = f"command {proposal.command_id}" if proposal.command_id and proposal.state != "open" else ""
    when = f"at {proposal.decided_at:%Y-%m-%d %H:%M:%S} UTC" if proposal.decided_at and proposal.state != "open" else ""
    said = ", ".join(p for p in (how, when) if p)
    means = _NOW_MEANS.get(proposal.state, "see it: runwarden command status").replace("{target}", proposal.target)
    return f"; it is now {proposal.state}{who}{f' ({said})' if said else ''}: {means}"


def _open_proposal(run: CommandRun) -> ProposalRecord:
    proposal_id = run.command.params.proposal_id
    data = run.adapters.state.get_record(PROPOSALS, proposal_id)
    if not data:
        raise rejected("params.proposal_id", f"no proposal {proposal_id}{_open_ones(run)}")
    proposal = _readable(proposal_id, data)
    run.use_incident(proposal.incident_id)
    if run.command.target and run.command.target != proposal.target:
        raise rejected("target", f"{proposal_id} is about {proposal.target}, not {run.command.target}")
    answered = _decided_by_this_command(run, proposal)
    if answered is not None:
        raise answered
    if proposal.state == IN_DOUBT:
        raise rejected("params.proposal_id", f"{proposal_id} was approved by {proposal.decided_by or 'someone'} and its "
                                             f"write is in doubt ({proposal.note}); the verification sweep ends it once "
                                             "it judges that write; nothing written")
    if proposal.state != "open" and not _approved_by_this_command(run, proposal):
        raise rejected("params.proposal_id", f"{proposal_id} is already {proposal.state}"
                                             + (f" by {proposal.decided_by}" if proposal.decided_by else "")
                                             + _how_to_stop(run, proposal))
    if run.now >= proposal.expires_at:
        if not decides_nothing(run, proposal):     # a dry run writes no state (docs/commands.md, "Dry run")
            run.adapters.state.update_record(PROPOSALS, proposal_id, {"state": "expired"}, expect={"state": "open"})
        raise rejected("params.proposal_id", f"{proposal_id} expired at {proposal.expires_at:%Y-%m-%d %H:%M:%S} UTC; "
                                             "a new alert makes a new proposal")
    return proposal


# How many open proposals a "no proposal" answer names, and how far ahead their expiry is read (proposals live
# hours: guardrails.proposal_ttl_seconds; status._FAR reads the same range).
_NAMED_OPEN = 5
_FAR = timedelta(days=3650)


def _open_ones(run: CommandRun) -> str:
    """The open proposals a person can still decide (of the command's target, when it names one), for an id
    no proposal has: "no proposal p-…" alone left a person who mistyped one hex digit to run `status` and
    compare. Words only, read on this refusal alone (one query, as status reads them); a record this version
    cannot read is named by its key and not described."""
    found = run.adapters.state.find_between(PROPOSALS, "expires_at", run.now, run.now + _FAR, _NAMED_OPEN * 4)
    live = [d for d in found if d.get("state") == "open"
            and (not run.command.target or d.get("target") == run.command.target)]
    scope = f" for {run.command.target}" if run.command.target else ""
    if not live:
        return (f" (no proposal{scope} is open now: a `proposed` outcome gives the id to send; runwarden command "
                "status lists the open ones)")
    named = "; ".join(f"{d.get('proposal_id') or found_key(d)} ({d.get('action')} on {d.get('target')}, expires "
                      f"{_when(d.get('expires_at'))})" for d in live[:_NAMED_OPEN])
    more = f"; and {len(live) - _NAMED_OPEN} more (runwarden command status lists them)" \
        if len(live) > _NAMED_OPEN else ""
    return f"; open now{scope}: {named}{more}: send the id of the one meant"


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if isinstance(value, datetime) else str(value)


def _readable(proposal_id: str, data: dict[str, Any]) -> ProposalRecord:
    """The proposal as stored, or `escalated` naming what cannot be read in it (damaged, or written by a
    version this one cannot read), before anything is decided or written. Raised as it was, the command was
    delivered again and again with no answer, and the proposal could be neither approved nor rejected: a
    person must look at the record, so the answer says which and why, at once."""
    try:
        return ProposalRecord.model_validate(data)
    except ValueError as exc:
        raise Refused(OutcomeStatus.ESCALATED, f"proposal {proposal_id}'s record cannot be read "
                      f"({why_unreadable(exc)}): nothing decided, nothing written. Look at it in the state store's "
                      f"{PROPOSALS} collection; to make its change, send it as a command of its own "
                      "(runwarden command diagnose, then the write) once a person has judged it") from None


def _how_to_stop(run: CommandRun, proposal: ProposalRecord) -> str:
    """A reject that comes while another operator's approve of the proposal is under way cannot close
    it: said so, with the one thing that still holds the write back (the gate checks the switches right
    before it writes)."""
    if run.command.command != "reject" or proposal.state != "approved":
        return ""
    return (f": its write may be under way; nothing can close it now, but a pause still holds it back before "
            f"the write: runwarden pause --target {proposal.target} --reason '...'")


def _world_changed(run: CommandRun, proposal: ProposalRecord, behind: Users | None = None) -> str:
    """Why the proposal no longer fits the live state, or "". `behind`: the managed services behind the
    connector now, for a connector alert's proposal (`_behind_now`)."""
    closed = incident_closed(run.adapters.state, proposal.incident_id)
    if closed is not None:
        return f"incident {proposal.incident_id} closed at {closed.closed_at:%H:%M:%S} ({closed.closed_by})"
    scale, service = proposal.action == "scale_connector", "/services/" in proposal.service
    if scale:
        changed = _connector_changed(run, proposal.params)
        if changed:
            return changed + _written_since(run, proposal)
        changed = _moved_onto(proposal, behind, _who_sends(run, proposal))
        if changed:
            return changed
    newer = _newer_revision_serving(run, proposal.service, proposal.proposed_at) if service else ""
    if newer:
        return newer
    if scale:   # after the newer revision, which names the change itself where a deploy moved the service off
        moved = _moved_off(proposal, _behind_weighed(run, proposal, behind), run.now, _who_sends(run, proposal))
        if moved:
            return moved
    return _diagnosis_changed(run, proposal) if service else ""


def _users_of(proposal: ProposalRecord) -> str:
    """The connector whose managed users a proposal's write was made for (a connector alert's), or "". A
    proposal made before `users_of` was kept is a connector alert's when it names services beyond its own
    (only a connector alert's write is made on behalf of others)."""
    if proposal.action != "scale_connector":
        return ""
    return proposal.users_of or (proposal.target if proposal.on_behalf else "")


def _behind_now(run: CommandRun, proposal: ProposalRecord) -> Users | None:
    """Who is behind the connector at approval, read as the connector alert read it (collection.users_of: a
    managed service whose serving revision names the connector; one that cannot be read is only maybe behind
    it), for a connector alert's proposal; None for any other (a service's own alert writes for that service
    alone, whoever else uses its connector). Two Cloud Run reads per managed service, on the approve only, every
    service's at once (scope.PEERS), taken in the config's order."""
    connector = _users_of(proposal)
    if not connector:
        return None
    managed = [(m.name, m.cloudsql_instances) for m in run.config.services]
    return _answered(proposal, users_of(run.adapters.readers(), managed, connector=connector,
                                        retry=_reads_again(run), at_once=PEERS))


def _reads_again(run: CommandRun) -> Callable[[], bool]:
    """Whether a managed service's read that met a transient fault (UNAVAILABLE, DEADLINE_EXCEEDED past its
    call's retries) may be made again by this approve: while a lookup at its longest (LOOKUP_SECONDS) still
    ends within one step's reads from now (sweep_budget.StepTime), so the approve stays within its function's
    timeout however many services fault (collection.users_of makes each at most READS_AGAIN more times)."""
    step = StepTime(run.adapters.clock)
    return lambda: step.fits(LOOKUP_SECONDS)


def _answered(proposal: ProposalRecord, found: Users) -> Users:
    """`found`, when every managed service the approve read answered; else the approve is answered `escalated`,
    nothing decided nor written, the proposal left open, naming each service Cloud Run never answered for
    (Users.unanswered, its last fault) after the approve read it again: whether it is behind the connector is
    not known, and a write is never made on a part of its users (as the alert holds its own, scope.
    unanswered_held). Before, the transient fault was raised: the approve was answered by the fault alone."""
    if not found.unanswered:
        return found
    said = "; ".join(r for r in found.unreadable if any(r.startswith(f"{n}: ") for n in found.unanswered))
    raise Refused(OutcomeStatus.ESCALATED, (
        f"approval of {proposal.proposal_id} not decided: Cloud Run did not answer for {len(found.unanswered)} "
        f"managed service(s) ({said}), so whether {'it is' if len(found.unanswered) == 1 else 'they are'} behind "
        f"{proposal.target} is not known; nothing applied, the proposal stays open until "
        f"{proposal.expires_at:%Y-%m-%d %H:%M:%S} UTC: approve it again once Cloud Run answers"))


def _moved_onto(proposal: ProposalRecord, behind: Users | None, sender: str) -> str:
    """A managed service behind the connector now whose state the proposal was not decided on: it moved onto
    the connector since (a deploy), or could not be read when the alert came. The proposal's decision is the
    combined verdict of the services behind the connector then; scaling it now changes the path of a service
    never diagnosed for it, whose own failure (a bad revision, its database) the scale would not fix and might
    hide. So the approval is refused (closed `refused`) with the reason; a person decides afresh (an operator,
    where the connector's policy lacks `allow_one_way`: `sender`, _who_sends)."""
    if behind is None:
        return ""
    weighed = {proposal.service, *proposal.on_behalf} - set(proposal.maybe_behind)
    moved = [name for name in behind.services if name not in weighed]
    # One whose serving revision names the connector by a project number that cannot be told from its project
    # (Users.by_number) may be behind it: the alert would have escalated with it (scope.by_number_held), so an
    # approve made without its state is refused the same way.
    maybe = [name for name in behind.by_number if name not in weighed]
    if not moved and not maybe:
        return ""
    if not moved:
        return (f"{', '.join(maybe)} may now use {proposal.target}: a serving revision names it by a project number "
                f"that cannot be told from {proposal.target.split('/')[1]}'s (a revision may name its connector by "
                "project id or number), and its state was not part of the decision: the proposal was made for "
                f"{', '.join(sorted(weighed))} alone. See it first: runwarden command diagnose --target {maybe[0]}; "
                "to scale the connector all the same, send it as a command of its own: runwarden command "
                f"scale_connector --target {proposal.target} --param ... --reason '...'" + sender)
    named = ", ".join(moved)
    return (f"{named} now {'uses' if len(moved) == 1 else 'use'} {proposal.target} (a serving revision names it), "
            f"and {'its' if len(moved) == 1 else 'their'} state was not part of the decision: the proposal was "
            f"made for {', '.join(sorted(weighed))} alone. See it first: runwarden command diagnose --target "
            f"{moved[0]}; to scale the connector all the same, send it as a command of its own: runwarden command "
            f"scale_connector --target {proposal.target} --param ... --reason '...'"
            + sender)


def _weighed(proposal: ProposalRecord) -> list[str]:
    """The managed services a scale's proposal was decided on as behind its connector: its own service (a
    service's alert: the one whose serving revision named the connector; a connector alert's: the one standing
    for it) and, for a connector alert's, those it was made for, less those only maybe behind it (unread)."""
    named = [proposal.service, *(n for n in proposal.on_behalf if n not in proposal.maybe_behind)]
    return [name for name in dict.fromkeys(named) if "/services/" in name]


def _behind_weighed(run: CommandRun, proposal: ProposalRecord, behind: Users | None) -> Users:
    """Which of the services weighed (`_weighed`) are behind the connector now: the connector alert's read
    (`behind`) where there is one; else the approve's own, of those services alone (two Cloud Run reads each,
    on the approve only, at once), as collection.users_of reads a connector's users: a serving revision naming it."""
    if behind is not None:
        return behind
    weighed = _weighed(proposal)
    sql = {m.name: m.cloudsql_instances for m in run.config.services}
    return _answered(proposal, users_of(run.adapters.readers(), [(name, sql.get(name, ())) for name in weighed],
                                        connector=proposal.target, retry=_reads_again(run), at_once=PEERS))


def _moved_off(proposal: ProposalRecord, now_behind: Users, now: datetime, sender: str) -> str:
    """A service the decision weighed as behind the connector (`_weighed`) that the approve read and found
    behind it no more: no revision of it serving traffic names the connector now (a deploy without it, or its
    traffic moved to a revision without it), or Cloud Run answers NOT_FOUND for it (deleted). Its load through
    the connector, a part of the saturation the proposal would relieve, is gone: the decision rests on a premise
    that no longer holds, and scaling the connector now (one-way) would be for a load that may not be there.
    So the approval is refused (closed `refused`), naming it; a person decides afresh. A service the approve
    could not read (only maybe moved) refuses nothing: its pause still holds the write back (`_made_for`).
    A revision's connector is `vpc_access.connector` ("VPC Access connector name. Format: projects/{project}/
    locations/{location}/connectors/{connector}, where {project} can be project id or number": VpcAccess,
    google/cloud/run/v2/vendor_settings.proto), matched to the proposal's as collection.users_of matches it."""
    connector = proposal.target
    moved = [name for name in _weighed(proposal)
             if name in now_behind.looked_at and name not in now_behind.services and name not in now_behind.maybe]
    if not moved:
        return ""
    said = "; ".join(f"{name} (Cloud Run answers NOT_FOUND: it no longer exists)" if name in now_behind.gone else
                     f"{name} (no revision of it serving traffic names {connector})" for name in moved)
    return (f"{said} {'is' if len(moved) == 1 else 'are'} no longer behind {connector}, read by this approve at "
            f"{now:%Y-%m-%d %H:%M:%S} UTC, though the proposal was decided on {'its' if len(moved) == 1 else 'their'} "
            "state behind it: the load it would relieve may be gone. See the connector's users as they are now: "
            f"runwarden command diagnose --target {moved[0]}; to scale the connector all the same, send it as a "
            f"command of its own: runwarden command scale_connector --target {connector} --param ... --reason '...'"
            + sender)


def _made_for(proposal: ProposalRecord, behind: Users | None, now: datetime) -> list[str]:
    """The services the proposal's write was made for; those the alert could not read only maybe (MaybeBehind),
    the approve's own read named too when it failed again. One the approve read and found not behind the
    connector (its serving revisions name another, or none; or it is gone) is not among them: the write is
    made on the approve's own read, so its pause holds nothing back (`_read_since`)."""
    made = [_unread_at_alert(name, behind, now) if name in proposal.maybe_behind else name
            for name in proposal.on_behalf]
    return [name for name in made if name]


def _unread_at_alert(name: str, behind: Users | None, now: datetime) -> str:
    """`name`, which the alert could not read, as the approve's read leaves it: maybe behind (its read failed
    again, or there is no read: MaybeBehind), behind (plain: `_moved_onto` refuses the approval first), or
    "" (read and not behind)."""
    if behind is None:
        return MaybeBehind(name)
    if name in behind.maybe:
        return MaybeBehind(name, _approves_read(behind, name, now, alert_too=True))
    if name in behind.services:
        return name
    return "" if name in behind.looked_at else MaybeBehind(name)


def _read_since(proposal: ProposalRecord, behind: Users | None, now: datetime) -> list[str]:
    """What the approve's own read found of each service the alert could not read and that it found not
    behind the connector: said in the answer, since its pause, which held the alert's write back, holds
    nothing back now (a person who paused it must see why the write went ahead)."""
    if behind is None:
        return []
    connector, at = _users_of(proposal), f"{now:%Y-%m-%d %H:%M:%S} UTC"
    found = {name: (f"Cloud Run answers NOT_FOUND (it no longer exists), so it is not behind {connector}"
                    if name in behind.gone else
                    f"no revision of it serving traffic names {connector}, so it is not behind it")
             for name in proposal.maybe_behind
             if name in proposal.on_behalf and not _unread_at_alert(name, behind, now)}
    return [f"{name}, which could not be read during the alert, was read by this approve at {at}: {what} and its "
            "pause holds nothing back" for name, what in found.items()]


def _unread_now(proposal: ProposalRecord, behind: Users | None, now: datetime) -> list[str]:
    """The managed services that could not be read at approval and were not weighed as behind the connector:
    maybe behind it now, so their pauses hold the write back as the alert's own did (MaybeBehind), the read
    that failed named as the approve's own, at `now` (the alert read them)."""
    if behind is None:
        return []
    known = {proposal.service, *proposal.on_behalf}
    return [MaybeBehind(name, _approves_read(behind, name, now)) for name in behind.maybe if name not in known]


def _approves_read(behind: Users, name: str, now: datetime, alert_too: bool = False) -> str:
    """Which read left `name` unknown: the approve's own, when, and why (its refusal, as collection.users_of
    kept it; none kept: not read, past the fan-out)."""
    refusal = next((r.removeprefix(f"{name}: ").rstrip(".") for r in behind.unreadable if r.startswith(f"{name}: ")),
                   f"not read, beyond the {MAX_FAN_OUT_SERVICES} managed services a read covers")
    either = "; it could not be read during the alert either" if alert_too else ""
    return f"this approve (its own read of Cloud Run at {now:%Y-%m-%d %H:%M:%S} UTC: {refusal}{either})"


def _diagnosis_changed(run: CommandRun, proposal: ProposalRecord) -> str:
    """The plan re-checked: the live diagnosis must still find the signature it was made for."""
    if not proposal.signature or not run.config.manages(proposal.service):
        return ""
    bundle, diagnosis = read_diagnosis(run, proposal.service)
    diagnosis = _peers_judged(run, proposal, ServiceResult(proposal.service, bundle, diagnosis))
    run.timeline.step("diagnosed", f"re-checked before approval: {diagnosis.signature.value} "
                      f"(confidence {diagnosis.confidence:.2f}): {diagnosis.summary}",
                      signature=diagnosis.signature.value, api_calls=diagnosis.api_calls)
    if diagnosis.signature.value != proposal.signature:
        return (f"the live diagnosis is now {diagnosis.signature.value}, not {proposal.signature}: "
                f"{diagnosis.summary}")
    return ""


def _peers_judged(run: CommandRun, proposal: ProposalRecord, result: ServiceResult) -> Diagnosis:
    """The live diagnosis of a service alert's connector scale, judged with the connector's other managed users as
    the alert judged it (scope.service_peers_held): one busy and clean in the minutes the service fails now holds it
    (inconclusive), and the approve is refused naming it. The person approved on the evidence of
    the alert's minutes; the scale is one-way and made now, on a connector whose other users may have changed since
    (a peer busy and clean since, the failure then likelier the service's own), so it is re-read, as the service's
    own diagnosis is. A connector alert's proposal was made for the users read then, re-read by `_behind_now`.
    A transient fault past the reads' retries is raised before anything is decided, for the command's redelivery
    (the approve's `_world_changed` precedes its decision); on its last, or when a peer is refused or not read for
    the approve's time, the approve is answered `escalated` naming it, the proposal left open (`_held_unread`): only
    a clean peer, a change seen, refuses (closes) it."""
    if proposal.action != "scale_connector" or _users_of(proposal) or not saturated_connector(result):
        return result.diagnosis
    # Bounded as the alert's are (sweep_budget.alert_peer_time): from the command's receipt, no peer read is
    # started that could end where the gate, the write, its operation wait, the read-back and the publish need.
    step = alert_peer_time(run.adapters.clock, run.received_at)
    judged = service_peers_held(result, run.config, run.adapters.readers(), run.now, again=COMMAND_AGAIN,
                                fits=step.fits, last_delivery=run.adapters.last_delivery)
    if not _held_unread(judged):
        return judged
    if not run.command.params.accept_unread_peers:
        raise _peers_not_read(proposal, judged)
    # The person approves knowing the peers are unread: the scale is judged on the service's own evidence, as the
    # alert proposed it, and the answer and the timeline's `approved` step say what was not read.
    run.unread_accepted = judged.summary
    run.notes.append(f"approved with params.accept_unread_peers by {run.command.requested_by}, on "
                     f"{short_name(proposal.service)}'s evidence alone: {judged.summary}")
    return result.diagnosis


def _held_unread(judged: Diagnosis) -> bool:
    """Whether the peers held the scale back only because one was not read (its lookup or metrics refused, never
    answered by the last delivery, or not started for the approve's time): no clean peer was seen, so nothing is
    known to have changed since the alert. Which hold it is, scope tells (`held_for_clean_peer`): it wrote it."""
    return judged.signature is Signature.INCONCLUSIVE and not held_for_clean_peer(judged)


def _peers_not_read(proposal: ProposalRecord, judged: Diagnosis) -> Refused:
    """The approve answered `escalated`, nothing decided nor written, the proposal left open, as `_answered`
    answers a connector alert's users unread: a peer not read again is not a peer found changed, and refusing would
    close the proposal for good on no evidence. `judged.summary` names each peer not read and why."""
    return Refused(OutcomeStatus.ESCALATED, (
        f"approval of {proposal.proposal_id} not decided: {judged.summary}; nothing applied, the proposal stays "
        f"open until {proposal.expires_at:%Y-%m-%d %H:%M:%S} UTC: approve it again once they can be read (with the "
        "time to read them, Cloud Run and Monitoring answering, the permission each refusal names granted to "
        "Runwarden's service account on that service's project; approving again before reads the same), or, to "
        "scale knowing they are unread, approve it with params.accept_unread_peers: true under a new command_id"))


def _connector_changed(run: CommandRun, params: dict[str, Any]) -> str:
    connector = run.adapters.vpcaccess.get_connector(params["target"])
    then = (params["from_machine_type"], params["from_min_instances"], params["from_max_instances"])
    now = (connector.machine_type, connector.min_instances, connector.max_instances)
    if now != then:
        return (f"connector {connector.short_name} is now {now[0]} {now[1]}-{now[2]} instances, not the "
                f"{then[0]} {then[1]}-{then[2]} the proposal was made for")
    if connector.state != "READY":
        return f"connector {connector.short_name} is {connector.state}"
    return ""


def _written_since(run: CommandRun, proposal: ProposalRecord) -> str:
    """Runwarden's own write to the proposal's target since it was proposed, named, when the target changed: most
    often another incident's approved proposal of the same change (one policy opens an incident per resource or
    per policy, and each proposes the scale; approving the second reads the first's write). The newest recorded
    write (in_flight.last_recorded: what, by whom, its action, naming its incident), else a plan still under way
    (in_flight.others_on). "" when none is found or the read fails: the change is named all the same."""
    state = run.adapters.state
    try:
        named = in_flight.last_recorded(state.find_records(ACTIONS, "target", proposal.target), proposal.proposed_at)
        if named:
            return named
        under_way = in_flight.others_on(state, proposal.target, proposal.proposed_at, proposal.key).listed()
    except (TransientError, PermanentError):
        return ""
    return f"; under way now: {'; '.join(under_way)}" if under_way else ""


def _newer_revision_serving(run: CommandRun, service_name: str, since: datetime) -> str:
    service = run.adapters.run.get_service(service_name)
    serving = {t.revision for t in service.traffic_statuses if t.percent and t.revision}
    for revision in run.adapters.run.list_revisions(service_name):
        if revision.short_name in serving and revision.create_time > since:
            return (f"{revision.short_name}, created at {revision.create_time:%H:%M:%S} after the proposal, now "
                    f"serves {service.serving_percent(revision.short_name)}% of {service.short_name}")
    return ""


def _approved_by_this_command(run: CommandRun, proposal: ProposalRecord) -> bool:
    """An earlier attempt at this very command approved it and wrote nothing (it died before the
    write, or the write never took: shared/commands/recovery.py found the target as it was): this
    attempt carries the approval on, rather than rejecting its own command as "already approved"."""
    return proposal.state == "approved" and _by_this_command(run, proposal)


def _by_this_command(run: CommandRun, proposal: ProposalRecord) -> bool:
    """Whether this command decided the proposal: its command_id, and what it asked (`command_digest`, kept
    with the decision), so that another command sent under the same id (a reject under an approve's id, an
    approve of the same proposal by someone else) is neither answered with that decision nor carries it on.
    Decisions written before the digest was kept carry none: the command_id alone decides."""
    if not run.command_id or proposal.command_id != run.command_id:
        return False
    return not proposal.command_digest or proposal.command_digest == command_digest(run.command)


def _decision(run: CommandRun, proposal: ProposalRecord, state: str, note: str) -> RecordWrite:
    expect = ({"state": "approved", "command_id": run.command_id} if _approved_by_this_command(run, proposal)
              else {"state": "open"})
    return RecordWrite(PROPOSALS, proposal.proposal_id,
                       {"state": state, "decided_by": run.command.requested_by, "decided_at": run.now,
                        "command_id": run.command_id, "command_digest": command_digest(run.command), "note": note},
                       merge=True, expect=expect)


def _decide(run: CommandRun, proposal: ProposalRecord, state: str, note: str = "") -> bool:
    decision = _decision(run, proposal, state, note)
    return run.adapters.state.update_record(PROPOSALS, proposal.proposal_id, decision.data, expect=decision.expect)


def _decide_with_answer(run: CommandRun, proposal: ProposalRecord, state: str, note: str) -> None:
    """A decision that ends the proposal, and that only the answer tells a person of (`refused`):
    written by the commit that completes the command's record and keeps its answer (answers.complete).
    Written on its own before, it could land with its answer lost: the handler raised before the answer
    was kept, and a command never delivered again (dead-lettered) left the proposal closed unheard."""
    run.decisions.append(_decision(run, proposal, state, note))


def end_recovered(run: CommandRun, proposal_id: str, note: str) -> None:
    """The proposal of an approve whose write an earlier attempt made and did not record, recorded
    since (shared/commands/recovery.py): ended `applied`, as a completed approve ends it, if this
    command approved it (`approved`, or `in_doubt` once its gate answered) and nothing else decided it
    since."""
    end_approval_applied(run.adapters.state, proposal_id, run.command_id or "", note)


def _reopen(run: CommandRun, proposal: ProposalRecord) -> bool:
    """Back to `open`, if this command still holds it `approved`."""
    return run.adapters.state.update_record(PROPOSALS, proposal.proposal_id, {"state": "open", "decided_by": ""},
                                            expect={"state": "approved", "command_id": run.command_id})
