"""`runwarden approve ID --reason ...`: apply a proposed action (operators only)."""
from __future__ import annotations

import click

from cli._commands import send, send_options


@click.command("approve", epilog="\b\nExample:\n  runwarden approve p-0123456789ab --reason \"saturated, agreed\"")
@click.argument("proposal_id")
@click.option("--reason", required=True, help="Why it should be applied.")
@click.option("--override-limits", is_flag=True, help="Skip cooldown and budgets.")
@send_options
def command(proposal_id: str, reason: str, override_limits: bool, **options) -> None:
    """Apply the proposal PROPOSAL_ID (shown by its `proposed` outcome) after re-checking live state."""
    send("approve", params={"proposal_id": proposal_id}, reason=reason,
         extra={"override_limits": True} if override_limits else None, **options)
