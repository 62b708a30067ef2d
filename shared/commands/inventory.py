"""What an operator's command may name: the services and connectors in the config."""
from __future__ import annotations

import difflib
from typing import Any

from shared.commands.context import CommandRun, Refused, rejected
from shared.echo import echoed
from shared.errors import PermanentError, TransientError


def managed_service(run: CommandRun) -> str:
    target = run.command.target
    if not target or not run.config.manages(target):
        raise rejected("target", f"{echoed(target)} is not in the inventory: the config's services list does not name it"
                       + _nearest(target, [s.name for s in run.config.services]))
    return target


def known_connector(run: CommandRun) -> str:
    target = run.command.target
    if not target or not has_policy(run.config, target):
        raise rejected("target", f"{echoed(target)} is not in the inventory: bounds.connectors has no policy for it"
                       + _nearest(target, [c.name for c in run.config.bounds.connectors]))
    return target


def missing_target(run: CommandRun, exc: PermanentError) -> Refused | None:
    """The `rejected` answer when a read refused NOT_FOUND (`exc`) because the command's target, which the
    config names, does not exist: deleted, renamed, or named in the config under another project or region.
    Nothing can be written to it, so it is the command's answer, naming the target and the config, not a
    `failed` write (the CLI's exit 7, "the API refused the write"). Which resource the NOT_FOUND was about is
    not read from its words: the target is read again, and only a NOT_FOUND of that read says so (a missing
    revision or record leaves the command's own answer). None otherwise."""
    target = run.command.target
    if exc.code != "NOT_FOUND" or not target or not in_inventory(run.config, target):
        return None
    service = run.config.manages(target)
    adapter = run.adapters.run if service else run.adapters.vpcaccess
    if adapter is None:
        return None
    try:
        adapter.get_service(target) if service else adapter.get_connector(target)
    except PermanentError as again:
        if again.code == "NOT_FOUND":
            api, listed = ("Cloud Run", "services list") if service else ("VPC Access", "bounds.connectors")
            return rejected("target", f"{target} does not exist ({api} answers NOT_FOUND: {again}); nothing written. "
                            f"The config's {listed} names it: it may have been deleted or renamed, or its "
                            "project or region is wrong; correct the config, then send the command again with a new "
                            "command_id")
    except TransientError:
        pass
    return None


def _nearest(target: str | None, names: list[str]) -> str:
    """What the operator likely meant: the inventory's names of the same resource id (in another
    project or region), else the closest spelling (a typo). Only named, never taken in its place."""
    if not target or not names:
        return ""
    same_id = [n for n in names if n.rsplit("/", 1)[-1] == target.rsplit("/", 1)[-1]]
    found = same_id or difflib.get_close_matches(target, names, n=3, cutoff=0.8)
    return f" (the inventory has {', '.join(found)})" if found else ""


def full_names_meant(config: Any, sent: str | None) -> str:
    """What a command's target that is no full resource name may mean, from the inventory: the managed services and
    the connectors with a policy whose id is the last word of what was sent (a short name, `services/backend`, a
    console URL's path), named with what to send. Only said, never taken in its place: a short name may be a service
    of another project or region than the one meant, and two of the inventory's may share it. "" when none is."""
    if not sent:
        return ""
    last = sent.strip().rstrip("/").rsplit("/", 1)[-1].strip().lower()
    names = [s.name for s in config.services] + [c.name for c in config.bounds.connectors]
    # A full name with something around it (a space, a byte order mark) is answered "write …" by the parser already.
    found = [n for n in names if n.rsplit("/", 1)[-1] == last and n not in sent]
    if not found:
        return ""
    which = "it" if len(found) == 1 else "the one meant"
    return (f"; the inventory has {', '.join(found[:4])}: send {which} by its full name (nothing is taken in its "
            "place)")


def has_policy(config: Any, connector: str) -> bool:
    """Whether `bounds.connectors` names the connector (a policy of its own)."""
    return any(c.name == connector for c in config.bounds.connectors)


def in_inventory(config: Any, target: str) -> bool:
    """A service the config manages, or a connector with a policy of its own."""
    return config.manages(target) or has_policy(config, target)


def any_connector(run: CommandRun) -> str:
    """Any connector, policy or not: the gate acts on a connector nobody wrote a policy for under
    the default one (`Bounds.connector`: proposals, which an approval applies), so a brake on it
    must not be refused. Only the name's form is checked."""
    from shared.gcp.identifiers import LocationalName

    target = run.command.target or ""
    try:
        kind = LocationalName.parse(target).kind
    except ValueError as exc:
        raise rejected("target", str(exc)) from None
    if kind != "connectors":
        raise rejected("target", f"{target} is neither a service nor a connector")
    return target


def any_target(run: CommandRun) -> str | None:
    """None (everything), a managed service, or any connector (pause and resume: a brake is
    never refused for a target Runwarden could write to)."""
    target = run.command.target
    if target is None:
        return None
    if "/services/" in target:
        return managed_service(run)
    return any_connector(run)
