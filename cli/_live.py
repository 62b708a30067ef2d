"""`runwarden diagnose --live TARGET`: diagnose a real project, read-only, and say what Runwarden
would do. TARGET is an alert file (a Monitoring notification, Pub/Sub push body or CloudEvent),
an incident id Runwarden has seen (found in its timeline in Cloud Logging; the project comes from
--config or GOOGLE_CLOUD_PROJECT), or a service name projects/P/locations/L/services/S.

It uses Application Default Credentials, or the local servers named by *_EMULATOR_HOST, through
shared.live.pipeline: readers only, so it writes nothing. Exit 0 when a diagnosis was made; 2 for
bad input (a target that does not exist); 1 when the APIs could not be read or refused the credentials.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli._inputs import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, fail, load_alert, load_config
from cli._shown import markup, shown

if TYPE_CHECKING:
    from shared.config import Config
    from shared.live.pipeline import LiveTarget, ReadOnlyPipeline


def run_live(target: str, config_file: str | None, as_json: bool) -> None:
    from shared.live.pipeline import read_only_pipeline

    config = load_config(config_file) if config_file else None
    pipeline = read_only_pipeline(
        settings=config.diagnosis if config else None, bounds=config.bounds if config else None,
        sql_instances={s.name: s.cloudsql_instances for s in config.services} if config else None)
    try:
        report = _report(pipeline, target, config)
    finally:
        readers = getattr(pipeline, "readers", None)
        if readers is not None:
            readers.close()   # every client's channel, as cli eval and diagnose close theirs
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        _show(shown(report))


def _report(pipeline: "ReadOnlyPipeline", target: str, config: "Config | None") -> dict:
    """The pipeline's report on `target`; a failure to read it ends the command with its exit code."""
    from shared.errors import PermanentError, TransientError

    try:
        return pipeline.run(_target(target, pipeline, config)).to_dict()
    except TransientError as e:
        fail(f"could not read the project: {e}", EXIT_ENVIRONMENT)
    except PermanentError as e:
        # Refused credentials are the environment's, like an outage: the same target may be read once
        # the identity holds the read roles (docs/api-contracts.md, "Live mode"). Anything else
        # permanent (a service that does not exist there) is the input's.
        if _no_credentials(e):
            fail(f"cannot diagnose {target}: no usable Application Default Credentials (run `gcloud auth "
                 f"application-default login`): {e}", EXIT_ENVIRONMENT)
        code = EXIT_ENVIRONMENT if e.code in ("PERMISSION_DENIED", "UNAUTHENTICATED") else EXIT_BAD_INPUT
        fail(f"cannot diagnose {target}: {e} [{e.code}]", code)


def _no_credentials(error: BaseException) -> bool:
    """google.auth found no credentials, or could not refresh them, somewhere under this error."""
    from google.auth.exceptions import GoogleAuthError

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, GoogleAuthError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _target(target: str, pipeline: ReadOnlyPipeline, config: Config | None) -> LiveTarget:
    from shared.live.pipeline import SERVICE_NAME, LiveTarget, service_target

    if Path(target).is_file():
        alert = load_alert(target)
        service = alert.incident.cloud_run_service
        if service is None:
            fail(f"{target}: resource type {alert.incident.resource_type!r} is not a Cloud Run revision")
        return LiveTarget(service, alert.started_at, alert.incident.incident_id, "alert file")
    if SERVICE_NAME.match(target):
        return service_target(target, pipeline.clock.now())
    if "/" in target or target.endswith(".json"):
        fail(f"{target!r} is neither a readable alert file, nor a service name projects/P/locations/L/services/S")
    project = (config.project if config else None) or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        fail(f"to find incident {target!r} give --config (its project holds Runwarden's timeline) "
             "or set GOOGLE_CLOUD_PROJECT; a service is named in full, projects/P/locations/L/services/S")
    return pipeline.find_incident(project, target)


def _show(report: dict[str, Any]) -> None:
    from sandbox.render import make_console, print_diagnosis_body

    console = make_console()
    d = report["diagnosis"]
    console.print(f"[bold]live, read-only[/]: {markup(report['service'])} ({markup(report['source'])}"
                  f"{', incident ' + markup(report['incident_id']) if report['incident_id'] else ''})")
    for note in report["notes"]:
        console.print(f"  note: {note}", markup=False)
    console.print(f"[bold]{markup(d['signature'])}[/] (confidence {d['confidence']:.2f})")
    print_diagnosis_body(console, d)
    would = report["would"]
    console.print(f"[bold]Runwarden would[/] {'run ' + markup(would['action']) if would['action'] else 'not act'}: "
                  f"{markup(would['reason'])}")
    console.print("Nothing was written: live mode has no write side.")
