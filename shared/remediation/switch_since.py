"""What became of a pause or a resume since its answer was made, said when that answer reaches a person late.

A command's answer is kept until its publish succeeds (shared/commands/answers.py) and, if that publish
failed, published later as it was made: by the command's resend, or by the sweep (kept_reports.py). A
pause's answer says "paused: no writes until resumed"; published after another operator's resume released
that very flag, a person reading it would take the target for paused while writes run. Likewise a resume's
"writes allowed again", published after a pause engaged since. The flag is read when the answer is
published, and when another command has turned it the other way since, a note says so (who, why, which
command, when); the answer itself stays as it was made (the same outcome_id), since it was true then. A
resend of the command answered already (a duplicate quoting "paused") carries the same note.
"""
from __future__ import annotations

from typing import Any

from shared.outcomes import Outcome
from shared.remediation.guardrails import pause_key
from shared.remediation.records import FLAGS, KILL_SWITCH, switch_time

SWITCHES = frozenset({"pause", "resume"})
# The target a pause or resume without a target answers for (shared/commands/pause.py).
KILL_SWITCH_TARGET = "runwarden/kill_switch"


def with_news(state: Any, command: str, command_id: str, outcome: Outcome) -> Outcome:
    """`outcome` (a kept pause's or resume's answer published late) with a note when its flag has since
    been turned the other way by another command; `outcome` itself otherwise (and for any other command,
    any answer that wrote no flag, or a flag that cannot be read: the answer goes out as made)."""
    if outcome.action is None or outcome.status.value != "applied":
        return outcome
    target = outcome.target if outcome.target and outcome.target != KILL_SWITCH_TARGET else None
    note = news(state, command, command_id, target)
    if note is None:
        return outcome
    return outcome.model_copy(update={"notes": [*outcome.notes, note]})


def news(state: Any, command: str, command_id: str, target: str | None) -> str | None:
    """The note for a pause or a resume of `target` (None: the kill switch) whose flag another command has
    turned the other way since, or None (any other command; a flag that cannot be read: the answer goes
    out as it is)."""
    if command not in SWITCHES:
        return None
    try:
        flag = state.get_record(FLAGS, pause_key(target) if target else KILL_SWITCH) or {}
    except Exception:   # noqa: BLE001 - a late answer is never held back for want of this read
        return None
    return changed_since(flag, command == "pause", command_id, target)


def changed_since(flag: dict[str, Any], engaged: bool, command_id: str, target: str | None) -> str | None:
    """The note for a flag (as read now) that another command turned the other way since a switch to
    `engaged` by `command_id` was answered, or None."""
    if not flag or bool(flag.get("engaged")) == engaged or flag.get("command_id") == command_id:
        return None
    scope = target or "the kill switch"
    at = switch_time(flag)
    when = f", at {at}" if at else ""
    by, why = flag.get("by") or "someone", flag.get("reason") or "no reason"
    done = "resumed" if not flag.get("engaged") else "paused again"
    holds = ("this pause no longer holds: writes to it are allowed" if engaged
             else "writes to it are held back again")
    return (f"since this {'pause' if engaged else 'resume'} was answered, {scope} was {done} by {by} ({why}; "
            f"command {flag.get('command_id') or '?'}{when}): {holds}")
