"""`runwarden diagnose ALERT.json --scenario S [--config FILE] [--json]`: the diagnosis, without acting.

Starts the API stand-ins only (no emulators: nothing is claimed or published), seeds them from
the scenario with T0 = the alert's started_at, collects the evidence through the real adapters
with the clock pinned at T0 + 2 minutes, and prints the diagnosis, its evidence and what
Runwarden would do. Exit 0 when a diagnosis was made; 2 for bad input; 1 for the environment.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click

from cli._inputs import EXIT_ENVIRONMENT, environment, fail, load_alert, load_config, load_scenario

DIAGNOSIS_DELAY = timedelta(minutes=2)  # "now" is T0 + this, as in replay


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
    service = alert.incident.cloud_run_service
    if service is None:
        fail(f"{alert_file}: resource type {alert.incident.resource_type!r} is not a Cloud Run revision")
    scenario = load_scenario(scenario_ref)
    config = load_config(config_file) if config_file else None
    try:
        report = run_diagnosis(alert, scenario, service, config)
    except OSError as e:
        fail(f"the local environment failed: {e}", EXIT_ENVIRONMENT)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        _show(report)


def run_diagnosis(alert, scenario, service: str, config) -> dict[str, Any]:
    from sandbox.scenarios import start_seeded
    from shared.diagnosis.collection import Readers, collect
    from shared.config import DiagnosisSettings
    from shared.diagnosis.diagnose import diagnose
    from shared.errors import PermanentError
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    from shared.remediation.planning import plan

    settings = config.diagnosis if config else DiagnosisSettings()
    managed = config.service(service) if config else None
    now = alert.started_at + DIAGNOSIS_DELAY
    with start_seeded(scenario, anchor=alert.started_at) as standins, environment(standins.env()):
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(),
                          logging=CloudLoggingAdapter(), vpcaccess=VpcAccessAdapter())
        try:
            bundle = collect(service, alert.started_at, readers, settings, now,
                             sql_instances=managed.cloudsql_instances if managed else ())
        except PermanentError as e:
            fail(f"cannot read the evidence for {service}: {e}")
    diagnosis = diagnose(bundle, settings)
    proposal = plan(diagnosis, bundle, settings, config.bounds if config else None)
    return {
        "incident_id": alert.incident.incident_id,
        "service": service,
        "diagnosed_at": now.isoformat(),
        "diagnosis": diagnosis.model_dump(mode="json"),
        "would": {"action": proposal.action, "reason": proposal.reason,
                  "params": proposal.params.model_dump(mode="json") if proposal.params else None},
    }


def _show(report: dict[str, Any]) -> None:
    from sandbox.render import evidence_table, make_console

    console = make_console()
    d = report["diagnosis"]
    console.print(f"[bold]{d['signature']}[/] (confidence {d['confidence']:.2f}) for {report['service']}")
    console.print(f"  {d['summary']}")
    if d["competing"]:
        console.print(f"  competing: {', '.join(d['competing'])}")
    if d["stand_down"]:
        console.print(f"  stand down: {d['stand_down']}")
    if d["recommendation"]:
        console.print(f"  recommended: {d['recommendation']}")
    console.print(f"  evidence from {d['api_calls']} API calls:")
    console.print(evidence_table(d["evidence"]))
    would = report["would"]
    console.print(f"[bold]Runwarden would[/] {'run ' + would['action'] if would['action'] else 'not act'}: "
                  f"{would['reason']}")
