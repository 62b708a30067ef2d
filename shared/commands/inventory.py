"""What an operator's command may name: the services and connectors in the config."""
from __future__ import annotations

from shared.commands.context import CommandRun, rejected


def managed_service(run: CommandRun) -> str:
    target = run.command.target
    if not target or not run.config.manages(target):
        raise rejected("target", f"{target} is not in the inventory: the config's services list does not name it")
    return target


def known_connector(run: CommandRun) -> str:
    target = run.command.target
    if not target or not any(c.name == target for c in run.config.bounds.connectors):
        raise rejected("target", f"{target} is not in the inventory: bounds.connectors has no policy for it")
    return target


def any_target(run: CommandRun) -> str | None:
    """None (everything), a managed service, or a connector with a policy."""
    target = run.command.target
    if target is None:
        return None
    if "/services/" in target:
        return managed_service(run)
    return known_connector(run)
