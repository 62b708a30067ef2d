"""What an operator's write held back says, plainly: whose brake held it, that this command wrote nothing,
what it would have changed, and how to go on. Pure: no I/O.

The gate's own words ("dry-run: everything but the write", "kill switch engaged: no writes (…)") are
automation's too; an operator reading them was left to guess whether anything changed, whose dry run it
was (their command's `dry_run`, or the config's mode), and whether sending the same command again would
run it: a resend of its command_id only repeats its first answer (docs/commands.md)."""
from __future__ import annotations

from typing import Any

from shared.remediation.actions.rollback_traffic import traffic_changes
from shared.remediation.refusals import DryRunBy, Held, held_by_brake, lifted_when

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
                     dry_run: tuple[dict[str, Any], dict[str, Any]] | None = None, by: DryRunBy = DryRunBy.ASKED,
                     action: str = "") -> str:
    """A write the kill switch or a pause held back (`held`, the gate's result's GateResult.held, never its words):
    that this command wrote nothing, and how to send it once every brake that holds it is lifted (a new command_id:
    the same one only repeats this answer; `lifted_when` names each brake beside the config's kill switch). A write
    that would be a dry run even once released (`dry_run`: the state before and the write's preview; `by`: the
    command's own `dry_run: true`, the config's mode or `action`'s shadow mode) is told so, with the change the
    write would make and the brake that would hold it now: "send it again once resumed" would only repeat the dry
    run, and its answer never said what the write would change."""
    if not held_by_brake(held):
        return reason
    if dry_run is not None:
        return _dry_run_held(reason, dry_run, by, action or command)
    resend = f" (a resend under command_id {command_id} only repeats this answer)" if command_id else ""
    once = (lifted_when(reason, held) if held is not None else "") or "once resumed"
    return f"{reason}; this {command} wrote nothing: {once}, send it again with a new command_id{resend}"


def _dry_run_held(reason: str, dry_run: tuple[dict[str, Any], dict[str, Any]], by: DryRunBy, action: str) -> str:
    would = changes(*dry_run)
    said = (f"dry-run ({whose_dry_run(by, action)}): nothing written"
            + (f"; it would change: {'; '.join(would)}" if would else ""))
    if by is DryRunBy.ASKED:
        return said + f"; but sent without dry_run now, the write would be held back: {reason}"
    # The config makes it a dry run whatever the command says: sent again once released, it writes nothing either.
    return (said + f"; and the write would be held back now too: {reason}; sent again, it would be a dry run again "
            "for as long as the config says so")
