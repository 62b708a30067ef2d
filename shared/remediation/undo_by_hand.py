"""What the sweep's escalation says when the kill switch or a pause held its undo back: that Runwarden will
not try the undo again, and the exact operator command that performs it by hand once writes are allowed
again. Pure: no I/O.

The sweep's undo of a rollback that did not help is a corrective write; held back by a brake it is escalated
with the refusal, and never retried (docs/behaviour.md, "Each sweep"): a resume releases the brake,
not the undo. Before, the escalation said only "the undo did not happen: kill switch engaged …", and the
person it paged was left to work out how to put the split back. The command is the one docs/commands.md
documents for it, `restore_traffic` by `action_id` (the action record's key), which puts back the split
recorded before the rollback, through the gate, and only while the service still serves as the rollback
left it (a change made since is not overwritten: docs/behaviour.md, "A restore by `action_id` undoes its
rollback only while the rollback's traffic stands")."""
from __future__ import annotations

import json
import shlex
from typing import Iterable

from shared.diagnosis.evidence import TrafficTarget, short_name, split_text

_HELD = "kill switch engaged"      # the gate's words for the kill switch and a pause (guardrails._stop_before_write)
_SET_IN_CONFIG = "(set in config)"


def held_by_brake(refusal: str) -> bool:
    """Whether the gate held the write back for the kill switch or a pause (and for nothing else)."""
    return refusal.startswith(_HELD)


def restore_commands(service: str, action_id: str, action: str, topic: str | None) -> tuple[str, str]:
    """(the Runwarden CLI line, the gcloud line publishing the same command) that undo `action_id` by hand,
    as docs/commands.md writes them. The CLI gives the command a fresh command_id itself; the message
    published with gcloud needs a new one of its own (a command_id used before only repeats its first
    answer: docs/behaviour.md, "How long a command is remembered")."""
    reason = f"undo the {action} the sweep could not undo: it did not help"
    cli = (f"runwarden command restore_traffic --target {shlex.quote(service)} "
           f"--param {shlex.quote('action_id=' + action_id)} --reason {shlex.quote(reason)}")
    body = json.dumps({"command": "restore_traffic", "command_id": "<a new id, e.g. undo-1>",
                       "requested_by": "<you>", "target": service, "params": {"action_id": action_id},
                       "reason": reason}, separators=(",", ":"))
    return cli, f"gcloud pubsub topics publish {topic or 'COMMANDS_TOPIC'} --message {shlex.quote(body)}"


def by_hand(refusal: str, *, service: str, action_id: str, action: str,
            traffic_before: Iterable[TrafficTarget]) -> str:
    """What follows an undo's refusal in its escalation: "" unless a brake held it back (any other refusal
    says its own way on); else that it is not retried, when writes are allowed again, the command that
    undoes it by hand, and the split that command puts back."""
    if not held_by_brake(refusal):
        return ""
    when = ("once guardrails.kill_switch is false in the config again" if refusal.endswith(_SET_IN_CONFIG)
            else "once a resume allows writes again")
    cli, _ = restore_commands(service, action_id, action, None)
    split = split_text(traffic_before) or "no split recorded"
    return (f". Runwarden will not retry this undo, not even once writes are allowed again: {when}, undo it "
            f"by hand with `{cli}` (the CLI gives it a fresh command_id; a message published otherwise needs a new "
            f"command_id of its own), which puts back the split recorded before {action}, {split}, if "
            f"{short_name(service)} still serves as {action} left it")
