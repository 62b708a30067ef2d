"""What only a principal in the config's `operators` may ask for, in one place: the checks
(shared/commands: `CommandRun.require_operator`), their refusal and the CLI's help all read it from
here, so that no second list drifts from the rule (docs/commands.md, "Who may do what"). No imports:
the CLI reads it for its help without loading the function's code."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorOnly:
    """One thing only operators may do: `may` completes "only operators may …", `why` says why a person
    must decide, when that is not plain from `may`."""
    key: str
    may: str
    why: str = ""


APPROVE = OperatorOnly("approve", "approve a proposal")
REJECT = OperatorOnly("reject", "reject a proposal")
RELEASE = OperatorOnly("release", "release an escalated plan's hold")
OVERRIDE_LIMITS = OperatorOnly("override_limits", "set override_limits (skip cooldown and budgets)")
ONE_WAY_SCALE = OperatorOnly("scale_connector", "scale_connector a connector whose policy lacks allow_one_way",
                             "that one-way change is a person's decision, as an approve of its proposal is")

OPERATOR_ONLY = (APPROVE, REJECT, RELEASE, OVERRIDE_LIMITS, ONE_WAY_SCALE)

# requested_by is the sender's own statement (docs/commands.md): a sender told "not in operators" must
# know which field that is and how the CLI fills it (cli/_commands.py: --as, else the active gcloud account).
CLI_SENDER = "the runwarden CLI's --as PRINCIPAL; without it, the active gcloud account"
SENDER = f"requested_by ({CLI_SENDER})"


def not_an_operator(requested_by: str, rule: OperatorOnly, detail: str = "", member_of: str | None = None) -> str:
    """The refusal of `rule` asked by `requested_by`, with what to do: another sender, under a new id (the
    same id with another body is an id reused for another command, and rejected). `member_of`: the operator
    `requested_by` names in IAM's member form ("user:alice@example.com"), whose email alone operators lists:
    the sender is told to write that email, not to find another sender."""
    why = f": {rule.why}" if rule.why else ""
    if member_of:
        return (f"{requested_by!r} is not in operators: only operators may {rule.may}{detail}{why}; it is IAM's "
                f"member form of {member_of!r}, which is in operators: send it again with requested_by "
                f"{member_of!r}, the email alone as operators lists it ({CLI_SENDER}), under a new command_id")
    return (f"{requested_by!r} is not in operators: only operators may {rule.may}{detail}{why}; the sender is "
            f"{SENDER}: have a principal in operators send it, under a new command_id")


def lacks_one_way(connector: str) -> str:
    """The detail ONE_WAY_SCALE's refusal and advice add: which connector's policy lacks allow_one_way."""
    return f" (as {connector.rsplit('/', 1)[-1]}'s does)"


def sent_by_operator(rule: OperatorOnly, detail: str = "") -> str:
    """What advice to send a command `rule` leaves to operators adds after "… command": who must send it,
    in the field the refusal names, and why, in the words of the refusal itself."""
    why = f": {rule.why}" if rule.why else ""
    return f" sent by a principal in operators, as its {SENDER}: only operators may {rule.may}{detail}{why}"


def operator_only() -> str:
    """Everything only operators may do, as one phrase."""
    return "; ".join(rule.may for rule in OPERATOR_ONLY)


def operators_help() -> str:
    """The CLI's paragraph on who may send what."""
    return (f"Operators only: {SENDER}, the email alone as operators lists it (not IAM's member form, "
            f"user:EMAIL or serviceAccount:EMAIL), must be in the config's operators to {operator_only()}. "
            "Anyone else is rejected (exit 3), and nothing is written.")
