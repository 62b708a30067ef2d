"""`runwarden diagnose ALERT.json --scenario S [--config FILE] [--json]`: the diagnosis, without acting.

Starts the API stand-ins only (no emulators: nothing is claimed or published), seeds them from
the scenario with T0 = the alert's started_at, routes the alert as the pipeline does (a Cloud Run
service, an uptime host, or every managed service using a connector or Cloud SQL instance),
collects the evidence through the real adapters with the clock pinned at T0 + 2 minutes, and
prints the diagnosis, its evidence, the plan, and what the gate would decide with that config
(proposed, dry-run, kill switch, bounds; cooldowns and budgets live in Firestore and are named,
not checked). Exit 0 when the alert was routed; 2 for bad input; 1 for the environment.
"""
from __future__ import annotations

import json
from typing import Any

import click

from cli._inputs import (EXIT_ENVIRONMENT, as_deployed_on, environment, fail, load_alert, load_config, load_scenario,
                         not_answered)
from cli._shown import markup, shown
from shared.alerts.incidents import AlertTarget, TargetKind



@click.command("diagnose")
@click.argument("alert_file", metavar="ALERT.json")
@click.option("--scenario", "scenario_ref", metavar="NAME_OR_FILE",
              help="A bundled scenario's name (e.g. connector_saturation) or a scenario YAML file.")
@click.option("--config", "config_file", metavar="FILE", help="Runwarden config whose thresholds to use.")
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as one JSON object.")
@click.option("--live", is_flag=True, help="Read the real project (ADC), read-only; ALERT.json may also be an "
              "incident id or a service name projects/P/locations/L/services/S.")
def command(alert_file: str, scenario_ref: str | None, config_file: str | None, as_json: bool, live: bool) -> None:
    """Diagnose an alert on a scenario's evidence and say what Runwarden would do, without acting."""
    if live:
        if scenario_ref:
            fail("--live reads the real project; it takes no --scenario")
        from cli._live import run_live

        return run_live(alert_file, config_file, as_json)
    if not scenario_ref:
        fail("give --scenario NAME_OR_FILE (or --live to read the real project)")
    alert = load_alert(alert_file)
    scenario = load_scenario(scenario_ref)
    config = load_config(config_file) if config_file else None
    try:
        report = run_diagnosis(alert, scenario, config)
    except OSError as e:
        fail(f"the local environment failed: {e}", EXIT_ENVIRONMENT)
    if report["diagnosis"] is None:
        fail(f"{alert_file}: {report['skip']}")
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        _show(shown(report))


def run_diagnosis(alert, scenario, config=None) -> dict[str, Any]:
    """The routed diagnosis, the plan and the gate's preview, as one JSON-able report. Without a
    config, the scenario's own (its managed services, mode enforce) is used."""
    from sandbox.scenarios import start_seeded
    from shared.alerts.present_failure import alert_hold
    from shared.config import parse_config
    from shared.diagnosis.collection import Readers
    from shared.diagnosis.scope import diagnose_alert
    from shared.errors import PermanentError, TransientError
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.secretmanager import SecretManagerAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    from shared.remediation.planning import plan

    config = config or parse_config(scenario.config_data(f"projects/{scenario.project}/topics/runwarden-outcomes"),
                                    source=f"scenario {scenario.name}")
    now = alert.started_at + scenario.delivered   # T0 + 2 min unless the scenario says
    with start_seeded(scenario, anchor=alert.started_at) as standins, environment(standins.env()):
        config = as_deployed_on(config, standins.run.caller)   # Runwarden's own changes are not a person's
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(),
                          logging=CloudLoggingAdapter(), vpcaccess=VpcAccessAdapter(),
                          secretmanager=SecretManagerAdapter())
        try:
            verdict = diagnose_alert(alert.incident, config, readers, now)
        except PermanentError as e:
            fail(f"cannot read the evidence for {verdict_target(alert)}: {e}")
        except TransientError as e:     # a read, or a peer's (scope.service_peers_held), never answered
            not_answered(verdict_target(alert), e)
        finally:
            readers.close()   # every client, before the stand-in stops (else gRPC logs the server's GOAWAY)
    report: dict[str, Any] = {"incident_id": alert.incident.incident_id, "target": verdict.target.name,
                              "target_kind": verdict.target.kind.value, "diagnosed_at": now.isoformat(),
                              "skip": verdict.skip, "diagnosis": None, "would": None, "gate": None,
                              "service": verdict.primary.service if verdict.primary else None}
    if verdict.diagnosis is None:
        return report
    report["diagnosis"] = verdict.diagnosis.model_dump(mode="json")
    proposal = plan(verdict.diagnosis, verdict.bundle, config.diagnosis, config.bounds) if verdict.bundle else None
    if proposal is not None and proposal.advice:   # the policy's refusal in place of the step it refuses
        report["diagnosis"]["recommendation"] = proposal.advice
    report["would"] = {"action": proposal.action if proposal else None,
                       "reason": proposal.reason if proposal else _unplanned(verdict.target),
                       "params": proposal.params.model_dump(mode="json") if proposal and proposal.params else None,
                       "before": proposal.before if proposal and proposal.action else None}
    if proposal is not None and proposal.action:
        # The alert's own hold comes before the gate, as on the alert path (pipeline.policy_held): its policy's
        # `runwarden` label, or an alert that states no present failure (a forecast, a metric absence, ...).
        held = alert_hold(alert.incident)
        report["gate"] = {"decision": "escalated", "reason": held} if held else gate_preview(proposal, config, now)
    return report


def verdict_target(alert) -> str:
    return alert.incident.target.name or alert.incident.resource_type


def gate_preview(proposal, config, now) -> dict[str, Any]:
    """What the gate would decide for this plan with this config, as far as the config alone tells
    (shared/remediation/guardrails.py, steps 1-3, 4 from config, and 7); claims, cooldowns and
    budgets are state in Firestore, so they are named with their limits, not checked."""
    from shared.remediation.actions import get_action

    action = get_action(proposal.action)
    params, before = proposal.params, proposal.before
    g = config.guardrails
    unchecked = (f"not checked offline: the claim on incident+target+action, the {g.cooldown_seconds} s cooldown on "
                 f"{params.target}, and the budgets ({g.max_actions_per_target_per_hour}/hour and "
                 f"{g.max_actions_per_target_per_day}/day per target, {g.max_actions_per_hour}/hour in all)")
    limit = config.bounds.max_targets_per_plan
    if len(proposal.targets) > limit:
        return {"decision": "escalated", "reason": f"blast radius: {len(proposal.targets)} targets > {limit}"}
    violations = action.bounds_violations(params, config, now)
    if violations:
        return {"decision": "escalated", "reason": "outside bounds: " + "; ".join(violations)}
    approval = action.needs_approval(params, config)
    if approval:
        return {"decision": "proposed", "reason": f"proposed, not applied: {approval}",
                "proposed_change": action.preview(params, before), "notes": action.notes(params)}
    if g.kill_switch:
        return {"decision": "skipped", "reason": "kill switch engaged in config: no writes"}
    if config.action_dry_run(action.name):
        why = "dry-run mode" if config.dry_run else f"shadow mode for {action.name}"
        return {"decision": "dry_run", "reason": f"{why}: everything but the write",
                "after": action.preview(params, before), "unchecked": unchecked}
    return {"decision": "applied", "reason": "the write would go ahead, unless state says otherwise",
            "after": action.preview(params, before), "unchecked": unchecked}


def _show(report: dict[str, Any]) -> None:
    from sandbox.render import make_console, print_diagnosis_body

    console = make_console()
    d = report["diagnosis"]
    where = report["target"] + (f" (evidence from {report['service']})" if report.get("service")
                                and report["service"] != report["target"] else "")
    console.print(f"[bold]{markup(d['signature'])}[/] (confidence {d['confidence']:.2f}) for {markup(where)}")
    print_diagnosis_body(console, d)
    would = report["would"]
    console.print(f"[bold]Runwarden would[/] {'run ' + markup(would['action']) if would['action'] else 'not act'}: "
                  f"{markup(would['reason'])}")
    if would.get("before") and would.get("params"):
        for line in change_lines(would["before"], report["gate"] or {}):
            console.print(f"  {line}", markup=False)
    gate = report.get("gate")
    if gate:
        console.print(f"[bold]The gate would decide[/] {markup(gate['decision'])}: {markup(gate['reason'])}")
        if gate.get("unchecked"):
            console.print(f"  [dim]{markup(gate['unchecked'])}[/]")


def change_lines(before: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """Before and after of the change, in the terms of what it writes: a connector's machine type and
    instances, or a service's traffic."""
    after = gate.get("after") or gate.get("proposed_change") or {}
    word = "proposed" if "proposed_change" in gate else "after"
    if "connector" in before:
        def shape(c: dict[str, Any]) -> str:
            return f"{c.get('machine_type')}, {c.get('min_instances')}-{c.get('max_instances')} instances"
        lines = [f"connector before: {shape(before['connector'])}"]
        if after.get("connector"):
            lines.append(f"connector {word}: {shape(after['connector'])}")
        return lines
    def split(t: dict[str, Any]) -> str:
        return ", ".join(f"{x.get('revision') or 'LATEST'}={x.get('percent')}%" for x in t.get("traffic", [])) or "-"
    lines = [f"traffic before: {split(before)}"]
    if after:
        lines.append(f"traffic {word}: {split(after)}")
    return lines


def _unplanned(target: AlertTarget) -> str:
    """Why nothing is planned on a verdict with no service to plan from: a Cloud SQL alert (never written to), or a
    connector alert held for a person (a user maybe behind it, by_number_held; a user that moved off it, moved_off)."""
    if target.kind is TargetKind.CLOUDSQL:
        return "Runwarden never writes to Cloud SQL; escalated"
    return f"nothing is planned on {target.name} for this verdict; escalated"
