"""`runwarden timeline INCIDENT_ID [--project P] [--format text|json|markdown|html] [--out FILE]`.

Reads the incident's timeline from Cloud Logging with Application Default Credentials (or from the
local stand-ins when LOGGING_EMULATOR_HOST is set, as in the sandbox). The project is --project,
else GOOGLE_CLOUD_PROJECT, else the project of the config RUNWARDEN_CONFIG names. Exit 0 with the
timeline; 2 for bad input or an unknown incident; 1 when Cloud Logging fails.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from cli._inputs import EXIT_ENVIRONMENT, fail

FORMATS = ("text", "json", "markdown", "html")


@click.command("timeline")
@click.argument("incident_id")
@click.option("--project", help="The Google Cloud project (default: GOOGLE_CLOUD_PROJECT, then the config's).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--out", "out", metavar="FILE", help="Write to FILE instead of standard output.")
def command(incident_id: str, project: str | None, fmt: str, out: str | None) -> None:
    """An incident's timeline: what happened, who acted, TTD/TTM/TTR; a postmortem draft in markdown."""
    from shared.errors import PermanentError, TransientError
    from shared.timeline.builder import UnknownIncident
    from shared.timeline.live import close, logging_failure, read_timeline
    from shared.timeline.queries import BadInput, check_incident_id, check_project
    from shared.timeline.render import render

    config = _config()
    try:
        incident_id = check_incident_id(incident_id)
        project = check_project(project or os.environ.get("GOOGLE_CLOUD_PROJECT") or (config.project if config else ""))
        timeline = read_timeline(incident_id, project, config)
    except BadInput as e:
        if e.field == "project" and not project:
            fail("no project: give --project, or set GOOGLE_CLOUD_PROJECT or RUNWARDEN_CONFIG")
        fail(str(e))
    except UnknownIncident as e:
        fail(str(e))
    except (TransientError, PermanentError) as e:
        fail(logging_failure(e).message, EXIT_ENVIRONMENT)
    finally:
        close()
    text = render(timeline, fmt)
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as e:
            fail(f"cannot write {out}: {e.strerror or e}", EXIT_ENVIRONMENT)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


def _config():
    if not os.environ.get("RUNWARDEN_CONFIG"):
        return None
    from cli._inputs import load_config

    return load_config(os.environ["RUNWARDEN_CONFIG"])
