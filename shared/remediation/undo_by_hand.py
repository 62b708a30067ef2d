"""What the sweep's escalation says when the gate held its undo back: that Runwarden will not try the undo
again, and, per refusal, what a person needs. Held back by the kill switch or a pause: the exact operator
command that performs it by hand once writes are allowed again. By a cooldown or a budget: when that passes
by itself, and the same command. By an approval required: the same command, which is that approval. By a
change to the service since the check: that a restore would write over that change, and no command.
Pure: no I/O.

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
import re
import shlex
from typing import Iterable

from shared.diagnosis.evidence import TrafficTarget, short_name, split_text
from shared.remediation.refusals import Held, Limit, held_by_brake, lifted_when

# Which refusal gives the command is told by its hold (GateResult.held, set where the gate decides), never by its
# words. When a cooldown or a budget passes is read from what the gate kept of it in data (GateResult.limit: the
# cooldown lease's expires_at, the budget's bucket, a UTC hour or day, and its capacity: refusals.Limit). The words
# are read for it only when no such data came with the refusal (a result kept before the gate kept it): Gate._cooldown's
# "...; next action after B" and Gate._budgets' "N actions for SCOPE in BUCKET"; words that say it otherwise leave
# the answer without the time, never without the command. The undo (restore_traffic) is corrective, which
# Gate._claimed holds back by no cooldown nor budget today; they are told all the same, so that a gate that one day
# does is not left saying nothing.
_COOLDOWN_END = re.compile(r"; next action after (?P<after>\S+)$")
_BUDGET_BUCKET = re.compile(r"(?:(?P<capacity>\d+) actions for \S+)? in (?P<bucket>\S+)$")
_GIVES_COMMAND = frozenset({Held.KILL_SWITCH, Held.PAUSED, Held.COOLDOWN, Held.BUDGET, Held.APPROVAL})


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


def gives_command(held: Held | None) -> bool:
    """Whether the escalation of an undo so held back gives the command that performs it by hand."""
    return held in _GIVES_COMMAND


def _when(refusal: str, held: Held | None, limit: Limit | None) -> str:
    """When the undo can be done by hand, for a hold that gives the command ("" for any other)."""
    if held_by_brake(held):
        return lifted_when(refusal, held) or "once a resume allows writes again"
    if held is Held.COOLDOWN:
        until = _cooldown_end(refusal, limit)
        return "the cooldown passes by itself" + (f": after {until}" if until else "")
    if held is Held.BUDGET:
        bucket, capacity = _budget_bucket(refusal, limit)
        spent = f", its {capacity} actions spent," if capacity else ""
        return "the budget passes by itself: once its bucket " + (f"{bucket} (UTC){spent} " if bucket else "") \
            + "is over"
    if held is Held.APPROVAL:
        return "it waits for a person's approval: if you approve it, your command is that approval"
    return ""


def _cooldown_end(refusal: str, limit: Limit | None) -> str:
    """The cooldown's end, as ISO 8601: the lease's expires_at the gate kept (`limit`), else the refusal's words
    ("" when neither says it)."""
    if limit is not None and limit.until is not None:
        return limit.until.isoformat()
    found = _COOLDOWN_END.search(refusal) if limit is None else None
    return found["after"] if found else ""


def _budget_bucket(refusal: str, limit: Limit | None) -> tuple[str, int]:
    """(the spent bucket, its capacity) the gate kept (`limit`), else the refusal's words (("", 0) when neither
    says it)."""
    if limit is not None:
        return limit.bucket, limit.capacity
    found = _BUDGET_BUCKET.search(refusal)
    return (found["bucket"], int(found["capacity"] or 0)) if found else ("", 0)


def by_hand(refusal: str, held: Held | None, *, service: str, action_id: str, action: str,
            traffic_before: Iterable[TrafficTarget], limit: Limit | None = None) -> str:
    """What follows an undo's refusal in its escalation, by its hold (`held`, GateResult.held) and, for a cooldown or
    a budget, what the gate kept of it in data (`limit`, GateResult.limit; None: read from the words): that it is not
    retried and, where a command can do it (gives_command), when, the command that undoes it by hand, and the split
    that command puts back; for a change since the check, that a restore would write over it, and no command; ""
    for any other refusal (blast radius, bounds, a failed write: each says its own way on)."""
    if held is Held.CHANGED:
        return (f". Runwarden will not retry this undo: {short_name(service)} no longer serves as {action} left it, "
                f"so restoring the split recorded before {action} now would write over that change; no command is "
                "given: a person must judge the service as it is now")
    when = _when(refusal, held, limit)
    if not when:
        return ""
    cli, _ = restore_commands(service, action_id, action, None)
    split = split_text(traffic_before) or "no split recorded"
    return (f". Runwarden will not retry this undo, not even once it could be written: {when}, undo it "
            f"by hand with `{cli}` (the CLI gives it a fresh command_id; a message published otherwise needs a new "
            f"command_id of its own), which puts back the split recorded before {action}, {split}, if "
            f"{short_name(service)} still serves as {action} left it")
