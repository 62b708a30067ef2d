"""`runwarden pause [--target T] --reason ...`: stop writes, everywhere or to one target."""
from __future__ import annotations

import click

from cli._commands import send, send_options


@click.command("pause", epilog="\b\nExamples:\n  runwarden pause --reason \"deploy freeze\"\n"
                               "  runwarden pause --target projects/P/locations/L/services/S --reason \"migration\"")
@click.option("--target", metavar="RESOURCE", help="Only this service or connector; default: everything.")
@click.option("--reason", required=True, help="Why.")
@send_options
def command(target: str | None, reason: str, **options) -> None:
    """Engage the kill switch (no target) or pause one target: no write until `resume`."""
    send("pause", target=target, reason=reason, **options)
