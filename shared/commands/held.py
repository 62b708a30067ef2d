"""What an operator's write held back says, plainly: whose brake held it, that this command wrote nothing,
what it would have changed, and how to go on. Pure: no I/O.

The gate's own words ("dry-run: everything but the write", "kill switch engaged: no writes (…)") are
automation's too; an operator reading them was left to guess whether anything changed, whose dry run it
was (their command's `dry_run`, or the config's mode), and whether sending the same command again would
run it: a resend of its command_id only repeats its first answer (docs/commands.md)."""
from __future__ import annotations

from typing import Any

from shared.remediation.actions.rollback_traffic import traffic_changes
from shared.remediation.refusals import DryRunBy, Held, held_by_brake

_CONNECTOR_FIELDS = ("machine_type", "min_instances", "max_instances")


def dry_run_said(reason: str, by: DryRunBy | None, *, action: str, before: dict[str, Any],
                 after: dict[str, Any] | None, fallback: DryRunBy) -> str:
    """A dry run's answer: which brake made it one, that nothing was written, and the change it would make. `by`:
    the brake the gate's result names (GateResult.dry_run_by), whose reason is its own dry-run words, said here
    instead; None (a result that names none), `fallback`, the brake the command's and the config's settings make,
    with the gate's reason kept."""
    whose = whose_dry_run(by or fallback, action)
    would = changes(before, after or {})
    return (f"dry-run ({whose}): nothing written; everything but the write was checked"
            + (f"; it would change: {'; '.join(would)}" if would else "")
            + (f" ({reason})" if by is None and reason else ""))


def whose_dry_run(by: DryRunBy, action: str) -> str:
    """Which brake makes a command a dry run: its own `dry_run`, the config's mode, or the action's shadow mode."""
    return {DryRunBy.ASKED: "asked by this command's dry_run: true",
            DryRunBy.MODE: "the config's mode is dry_run",
            DryRunBy.SHADOW: f"shadow mode for {action}: the config's actions.{action}.mode is dry_run"}[by]


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a write changes, one line per field or traffic target: a split's shares, a connector's size."""
    if "traffic" in before or "traffic" in after:
        return traffic_changes(before, after)
    old, new = before.get("connector") or {}, after.get("connector") or {}
    return [f"{field}: {old.get(field)} -> {new.get(field)}" for field in _CONNECTOR_FIELDS
            if field in new and old.get(field) != new.get(field)]


def kill_switch_said(reason: str, held: Held | None, command: str, command_id: str | None,
                     dry_run: tuple[dict[str, Any], dict[str, Any]] | None = None) -> str:
    """A write the kill switch or a pause held back (`held`, the gate's result's GateResult.held, never its words):
    that this command wrote nothing, and how to send it once released (a new command_id: the same one only
    repeats this answer). A command sent with `dry_run: true` (`dry_run`: the state before and the write's preview)
    is told what it asked for, the change the write would make, and that the write would be held now: "send it
    again once resumed" would only repeat the dry run, and its answer never said what the write would change."""
    if not held_by_brake(held):
        return reason
    if dry_run is not None:
        would = changes(*dry_run)
        return (f"dry-run (asked by this command's dry_run: true): nothing written"
                + (f"; it would change: {'; '.join(would)}" if would else "")
                + f"; but sent without dry_run now, the write would be held back: {reason}")
    resend = f" (a resend under command_id {command_id} only repeats this answer)" if command_id else ""
    once = "once guardrails.kill_switch is false in the config again" if held is Held.KILL_SWITCH else "once resumed"
    return (f"{reason}; this {command} wrote nothing: {once}, send it again with a new command_id{resend}")
