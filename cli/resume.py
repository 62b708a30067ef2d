"""`runwarden resume [--target T] --reason ...`: allow writes again."""
from __future__ import annotations

import click

from cli._commands import send, send_options


@click.command("resume", epilog="\b\nExample:\n  runwarden resume --reason \"freeze over\"")
@click.option("--target", metavar="RESOURCE", help="Only this service or connector; default: everything.")
@click.option("--reason", required=True, help="Why writes may resume.")
@send_options
def command(target: str | None, reason: str, **options) -> None:
    """Release the kill switch (no target) or a target's pause."""
    send("resume", target=target, reason=reason, **options)
