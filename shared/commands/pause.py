"""pause and resume: the kill switch, for everything (no target) or for one target.

Both are flags in the state store that the gate reads before every write (and again right before
it). Resume needs a reason like every writing command; it is the one write the kill switch does
not hold back, or nothing could ever release it.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.commands.context import CommandRun, rejected
from shared.commands.inventory import any_target, has_policy
from shared.errors import PermanentError, TransientError
from shared.outcomes import ActionReport, Outcome, OutcomeStatus
from shared.remediation.guardrails import Gate, pause_key
from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.remediation.records import FLAGS, INTENTS, KILL_SWITCH, IntentRecord, IntentState


def pause(run: CommandRun) -> Outcome:
    return _switch(run, engaged=True)


def resume(run: CommandRun) -> Outcome:
    return _switch(run, engaged=False)


def _switch(run: CommandRun, engaged: bool) -> Outcome:
    target = any_target(run)
    if engaged and target and "/connectors/" in target and not has_policy(run.config, target):
        _connector_exists(run, target)
    key = pause_key(target) if target else KILL_SWITCH
    scope = target or ("every target" if engaged else "the kill switch")
    word = "paused: no writes until resumed" if engaged else ("resumed: writes allowed again" if target else
                                                             "released: writes allowed again")
    reason = f"{scope} {word} (by {run.command.requested_by}: {run.command.reason})"
    if engaged and target and "/services/" in target:
        # The gate holds back every write made for the paused service (guardrails.held_by): a scale of the
        # connector its alert, or an alert on that connector, asks for too. The connector itself is not
        # paused: another service's alert, or an operator's command, can still scale it.
        reason += ("; and every write made for its alerts, a scale of the connector it uses included (the "
                   "connector stays writable for other services: pause it by its own name to hold it)")
    report = ActionReport(name=run.command.command, params={"target": target, "engaged": engaged})
    if run.command.dry_run:
        return run.outcome(OutcomeStatus.DRY_RUN, f"dry-run, nothing written: {reason}", target=target,
                           action=report)
    previous = run.adapters.state.get_record(FLAGS, key) or {}
    run.adapters.state.put_record(FLAGS, key, {"kind": "pause" if target else "kill_switch", "target": target,
                                               "engaged": engaged, "by": run.command.requested_by,
                                               "reason": run.command.reason, "at": run.now,
                                               "command_id": run.command_id})
    if not engaged and target is not None and not previous:
        # Never paused: a misspelt target, most likely, while the one meant stays paused. Say so.
        held = _paused(run)
        reason += f" (no pause of it was ever held{f'; paused now: {held}' if held else ''})"
    elif previous.get("command_id") == run.command_id:
        # This very command's flag, written by an earlier attempt that raised before answering (the write
        # landed with its answer lost): not "already", which would read as someone else's.
        reason += " (written by an earlier attempt at this command, whose answer was lost)"
    elif bool(previous.get("engaged")) == engaged:
        reason += " (it already was)"
    if engaged:
        reason += _under_way(run, target)
    if not engaged and target is None:
        reason += _still_paused(run)
    if not engaged:
        reason += _still_off(run, target)
    run.timeline.step("kill_switch", reason, severity="WARNING" if engaged else "NOTICE", target=target,
                      engaged=engaged)
    return run.outcome(OutcomeStatus.APPLIED, reason, target=target or "runwarden/kill_switch", action=report)


def _connector_exists(run: CommandRun, target: str) -> None:
    """A pause of a connector the config names nowhere is taken on its word (the gate may act on any
    managed service's connector), but one VPC Access says does not exist is a misspelt name: paused,
    it would answer `applied` while the connector meant stays unpaused and automation may scale it.
    Rejected, naming it. Any other answer (denied, unavailable) leaves the brake applied: a pause is
    never refused for want of a read."""
    vpcaccess = run.adapters.vpcaccess
    if vpcaccess is None:
        return
    try:
        vpcaccess.get_connector(target)
    except PermanentError as exc:
        if exc.code == "NOT_FOUND":
            raise rejected("target", f"connector {target} does not exist (VPC Access: {exc}); nothing paused: check "
                           "its name (a connector is named projects/PROJECT/locations/REGION/connectors/NAME)") from None
    except TransientError:
        return


def _under_way(run: CommandRun, target: str | None) -> str:
    """The writes a pause cannot stop, said: one already past the gate's last check when the flag
    landed is sent all the same (a rollback waits on Cloud Run's operation, a connector's patch on VPC
    Access's), and "no writes until resumed" alone would tell the operator who paused to stop it that
    nothing more would change. Every write stores its plan (an open intent) before it is sent; those
    noted within a claim's lease (with the clock-skew allowance) may still be under way, for the pause's
    scope (every target, or the target and the writes made for it, as `guardrails.held_by` holds them).
    Each ends as it ends and is answered. A read that fails is said, never taken for none. A corrective
    restore (an operator's restore_traffic, the sweep's undo) stores no plan, so it is not named."""
    try:
        found = run.adapters.state.find_records(INTENTS, "state", IntentState.OPEN.value, _LISTED + 1)
    except TransientError as exc:
        return f"; whether a write was already under way could not be read ({exc}): one sent before it is not stopped"
    lease = timedelta(seconds=run.config.guardrails.claim_ttl_seconds) + CLOCK_SKEW_ALLOWANCE
    plans = []
    for data in found:
        try:
            plan = IntentRecord.model_validate(data)
        except ValueError:
            continue
        if plan.noted_at >= run.now - lease and target in (None, plan.target, plan.service):
            plans.append(plan)
    if not plans:
        return ""
    listed = "; ".join(f"{p.action} on {p.target} (incident {p.incident_id}"
                       + (f", command {p.command_id} by {p.requested_by}" if p.command_id else "")
                       + f", planned at {p.noted_at:%H:%M:%S}Z)" for p in sorted(plans, key=lambda p: p.noted_at))
    return (f"; {len(plans)} write(s) already under way when it landed are not stopped by it (sent, or past the "
            f"gate's last check): {listed}; each is answered as it ends")


def _still_off(run: CommandRun, target: str | None) -> str:
    """What still holds every write back after this resume, said: "writes allowed again" alone would
    be false while the kill switch stays engaged (a target's resume under it) or the config's own
    `guardrails.kill_switch` is set (which no command releases)."""
    if run.config.guardrails.kill_switch:
        return "; but writes are still off: the config sets guardrails.kill_switch: true (change the config to allow them)"
    if target is None:
        return ""
    held = Gate(run.config, run.adapters.state, run.adapters.clock, owner="resume").kill_switch()
    return (f"; but writes to it are still off: the kill switch is engaged ({held}); runwarden resume without a "
            "target releases it") if held else ""


def _still_paused(run: CommandRun) -> str:
    """A resume without a target releases the kill switch only: pauses of single targets stay, and
    an answer that said "writes allowed again" and no more would let the operator believe them gone."""
    held = _paused(run)
    return f"; still paused, each until resumed by its target: {held}" if held else ""


def _paused(run: CommandRun) -> str:
    """The targets paused one by one, listed (at most _LISTED), or ""."""
    held, more = engaged_pauses(run.adapters.state, _LISTED)
    return ", ".join(sorted(f.get("target") or "?" for f in held)) + (", …" if more else "")


def engaged_pauses(state: Any, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The pauses of single targets now engaged (at most `limit`), and whether there are more. Read by
    `engaged`, never by kind: a resume keeps its flag (`engaged: false`, who released it and why), so
    released pauses pile up over the months, and a page of every pause record could hold none of the
    engaged ones, which are the safety fact. The kill switch's flag is the one other engaged record
    (one key, KILL_SWITCH), so `limit` + 2 records tell whether any pause lies past the limit. A
    single-field equality: Firestore's automatic single-field index serves it, no composite index."""
    found = state.find_records(FLAGS, "engaged", True, limit + 2)
    pauses = [f for f in found if f.get("kind") == "pause"]
    return pauses[:limit], len(pauses) > limit


_LISTED = 20
