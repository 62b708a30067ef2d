"""`runwarden check-config FILE`: every config error at once, each with the file and line."""
from __future__ import annotations

import click


@click.command("check-config", epilog="\b\nExample:\n  runwarden check-config runwarden.yaml")
@click.argument("path", metavar="FILE")
def command(path: str) -> None:
    """Validate a Runwarden config; print every problem as FILE:LINE: field: message. Exit 2 if any."""
    from shared.config import config_errors

    errors = config_errors(path)
    for error in errors:
        click.echo(error, err=True)
    if errors:
        click.echo(f"{len(errors)} problem(s) in {path}", err=True)
        raise SystemExit(2)
    click.echo(f"{path}: OK")
