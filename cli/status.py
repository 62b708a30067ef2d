"""`runwarden status`: what Runwarden holds now (a shortcut for `runwarden command status`)."""
from __future__ import annotations

import click

from cli._commands import send, send_options


@click.command("status", epilog="\b\nExample:\n  runwarden status --as alice@example.com")
@click.option("--target", metavar="RESOURCE", help="Only this service or connector.")
@send_options
def command(target: str | None, **options) -> None:
    """The kill switch and pauses, pending verifications, open proposals, cooldowns, budgets, pins."""
    send("status", target=target, **options)
