"""`runwarden parse FILE`: show the Incident Runwarden would act on, as JSON.

FILE may hold a Monitoring notification, a Pub/Sub push body, MessagePublishedData or a
structured CloudEvent; `-` reads stdin. Exit code 0 on success, 2 if it cannot be parsed.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from cli._shown import json_text
from shared.alerts.incidents import Incident, IncidentParseError, load_any

EXIT_UNPARSABLE = 2


@click.command("parse")
@click.argument("file", metavar="FILE")
def command(file: str) -> None:
    """Print the incident in an alert FILE as normalised JSON.

    FILE holds a Monitoring notification, a Pub/Sub push body, MessagePublishedData or a
    CloudEvent; - reads stdin.
    """
    try:
        raw = _read(file)
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror or e}")
    try:
        incident = load_any(raw)
    except IncidentParseError as e:
        _fail(f"cannot parse {file}: {e}")
    click.echo(json_text(incident_json(incident), indent=2, ensure_ascii=False))


def incident_json(incident: Incident) -> dict[str, Any]:
    """The incident's fields plus the derived facts the pipeline decides on."""
    return {
        **incident.model_dump(mode="json"),
        "is_open": incident.is_open,
        "is_test": incident.is_test,
        "schema_known": incident.schema_known,        # false: escalated, never acted on (version not 1.2)
        "recovery_shown": incident.recovery_shown,    # a CLOSED's value on the clear side of its bar, or ""
        "is_log_match": incident.is_log_match,
        "cloud_run_service": incident.cloud_run_service,
        "target": incident.target.model_dump(mode="json"),   # what the alert is about, or why nothing
    }


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    return Path(file).read_bytes()


def _fail(message: str) -> NoReturn:
    # One line, so it reads well in a terminal and greps well in CI logs; what it quotes of the input (a
    # file's name, a field's value) with every control and bidi character as its escape.
    from shared.timeline.words import one_line

    click.echo(f"runwarden: {one_line(message)}", err=True)
    sys.exit(EXIT_UNPARSABLE)
