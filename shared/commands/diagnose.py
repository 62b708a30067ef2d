"""diagnose: read-only, on demand. Publishes the diagnosis of a managed service and what Runwarden
would do about it. Never writes: it neither claims nor calls the gate."""
from __future__ import annotations

from datetime import timedelta

from shared.commands.context import CommandRun
from shared.commands.inventory import managed_service
from shared.diagnosis.collection import collect
from shared.diagnosis.diagnose import diagnose
from shared.outcomes import ActionReport, Outcome, OutcomeStatus
from shared.remediation.actions import get_action
from shared.remediation.planning import advised, plan, report_of
from shared.remediation.refusals import brake_named


def read_diagnosis(run: CommandRun, service: str):
    """(bundle, diagnosis) for a managed service, as of now.

    An on-demand diagnosis has no incident, so it judges the last `recent_seconds` as one: the
    window starts there. Starting it at `now` would leave no data after the start (Monitoring lags
    by minutes), and diagnosis rightly calls data from before an incident's start stale."""
    managed = run.config.service(service)
    now = run.now
    since = now - timedelta(seconds=run.config.diagnosis.recent_seconds)
    bundle = collect(service, since, run.adapters.readers(), run.config.diagnosis, now,
                     sql_instances=managed.cloudsql_instances if managed else ())
    return bundle, diagnose(bundle, run.config.diagnosis)


def handle(run: CommandRun) -> Outcome:
    service = managed_service(run)
    bundle, diagnosis = read_diagnosis(run, service)
    run.timeline.step("diagnosed", f"{diagnosis.signature.value} (confidence {diagnosis.confidence:.2f}): "
                      f"{diagnosis.summary}", signature=diagnosis.signature.value, api_calls=diagnosis.api_calls)
    proposal = plan(diagnosis, bundle, run.config.diagnosis, run.config.bounds)
    if proposal.action is None:
        return run.outcome(OutcomeStatus.REPORTED, f"diagnosis only, nothing written: no action ({proposal.reason})",
                           target=service, diagnosis=advised(report_of(diagnosis), proposal))
    action = get_action(proposal.action)
    would = ActionReport(name=action.name, params=proposal.params.model_dump(mode="json"),
                         reversible=action.reversible, before=proposal.before,
                         proposed_change=action.preview(proposal.params, proposal.before))
    return run.outcome(OutcomeStatus.REPORTED, f"diagnosis only, nothing written: Runwarden would "
                       f"{proposal.reason}{_held_back(run, action.name, proposal.params.target, service)}",
                       target=service,
                       diagnosis=advised(report_of(diagnosis), proposal), action=would)


def _held_back(run: CommandRun, action: str, target: str, service: str) -> str:
    """What would hold that write back now, said beside "Runwarden would …": the kill switch, a pause of
    the target or of the service it is made for, the config's dry-run or shadow mode (one batched read
    of the switches; cooldown and budgets are the gate's to judge at the time)."""
    from shared.remediation.guardrails import Gate

    gate = Gate(run.config, run.adapters.state, run.adapters.clock, owner="diagnose")
    switch = gate.kill_switch(target, on_behalf=[service])
    if switch:
        return f"; but it would not write now: {brake_named(switch)} ({switch})"
    if run.config.action_dry_run(action):
        return f"; but it would not write: {action} runs as a dry run (the config's mode)"
    return ""
