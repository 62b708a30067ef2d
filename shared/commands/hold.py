"""release: a person lifts the hold an escalated plan keeps on its incident's automatic writes.

A plan escalated as of unknown outcome (its write may have landed: the target showed neither the state
before nor the plan, or could not be read) holds that incident's automatic write of its action on its
target until the plan expires (7 days: Gate.hold_escalated, Gate._held_for_escalated), so that nothing is
written twice where the first write may have landed. No evidence Runwarden reads releases it on its own:
a person's later change of the target shows that someone took it over, not that the write never landed
(it may have landed and been changed over: docs/behaviour.md, "A write someone changed since"), and a
connector keeps no generation or etag to tell. Only a person who has checked the target can say so:
`release` closes the plan `released` with their name and reason and gives the held claim back, so that the
incident's next notification is diagnosed afresh and may act. Operators only; a state write, nothing
written to Google Cloud.

Closed `released`, never `void`: `void` says nothing was written, and the write may have landed whatever the
person found (they may release a patch they saw landed, to let the incident act again). So the plan keeps
that write known after the release, as the escalation did: the budget slots and cooldown its claim took in
one commit before the write (Gate._take_all) are left to lapse as they would (only the claim is given back), and a released plan is
counted as known where an escalated one is (tests/property/invariants.py, `every_write_known`).
"""
from __future__ import annotations

from datetime import datetime

from shared.alerts.operators import RELEASE
from shared.commands.context import CommandRun, rejected
from shared.echo import echoed
from shared.errors import DamagedRecord
from shared.outcomes import ActionReport, Outcome, OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus, RecordWrite
from shared.remediation import plans
from shared.remediation.guardrails import CLAIMS
from shared.remediation.records import ACTIONS, INTENTS, SETTLED, IntentRecord, IntentState, settled_field


def release(run: CommandRun) -> Outcome:
    run.require_operator(RELEASE)
    plan, twins, others = _held_plan(run)
    run.use_incident(plan.incident_id)
    report = ActionReport(name="release", params={"intent": plan.key, "claim": plan.claim_key})
    what = (f"the hold of escalated plan {plan.key} ({plan.action} on {plan.target}, planned at "
            f"{plan.noted_at:%Y-%m-%d %H:%M:%S} UTC) on incident {plan.incident_id}'s automatic writes")
    if run.command.dry_run:
        return run.outcome(OutcomeStatus.DRY_RUN, f"dry-run, nothing written: {what} would be released",
                           target=plan.target, action=report)
    state = run.adapters.state
    if others:
        return _released_alone(run, plan, twins, others, what, report)
    claim = state.get(CLAIMS, plan.claim_key)
    recorded = state.get_record(ACTIONS, plan.claim_key)
    if (claim is not None and claim.status is ClaimStatus.COMPLETED
            and claim.result.get("status") == OutcomeStatus.ESCALATED.value and recorded is None):
        # The claim held for the plan (completed `escalated`, no action record): given back first, so that a
        # decision landing without it never reads as released while the incident is still held.
        state.release(CLAIMS, plan.claim_key, claim.owner)
        claim = None
    stays = _still_answered(claim, recorded, run.now)
    # The plan closed `released` (it holds nothing: Gate._unjudged_plan), and the claim's SETTLED entry cleared
    # (its copy of the held claim would answer a notification as a duplicate): with the command's answer.
    # An entry of a claim that still answers (`stays`) is left: it answers as the claim does.
    _close(run, plan, twins)
    if not stays:
        run.decisions.append(RecordWrite(SETTLED, plan.incident_id, {settled_field(plan.claim_key): None}, merge=True))
    after = (f"The incident's notifications stay duplicates of {stays}: nothing more is written for it "
             "automatically" if stays else
             f"Its next notification is diagnosed afresh and may write to {plan.target} again")
    return run.outcome(OutcomeStatus.APPLIED, (
        f"released {what}{_with(twins)}, by {run.command.requested_by}: {run.command.reason}. {after}; nothing was "
        f"written now. {_KEPT}"), target=plan.target, action=report)


# Said by every applied release: what the released plan still records (docs/behaviour.md, "A plan escalated as
# of unknown outcome").
_KEPT = ("The plan is kept as released, not as unwritten: its write may have landed, and the budget slots and "
         "cooldown its claim took before the write are not given back")


def _still_answered(claim: ClaimRecord | None, recorded: dict | None, now: datetime) -> str:
    """What still answers the incident's notifications on the claim once the plan is released, or "": its
    action record (a write of the claim was recorded: one incident is acted on once, pipeline `acted_before`),
    or its claim completed as another answer (a write, a refusal kept for the cooldown) and not expired. Said
    instead of "diagnosed afresh and may write", which the release's answer said whatever held the claim."""
    if recorded is not None:
        return (f"action {recorded.get('key')} ({recorded.get('action')} on {recorded.get('target')}, recorded "
                f"{recorded.get('state')}): a write of this claim was recorded")
    if claim is not None and claim.status is ClaimStatus.COMPLETED and not claim.expired(now):
        return (f"its claim, completed {claim.result.get('status') or 'as another answer'} until "
                f"{claim.expires_at:%Y-%m-%d %H:%M:%S} UTC")
    return ""


def _close(run: CommandRun, plan: IntentRecord, twins: list[IntentRecord]) -> None:
    """The command's decision: `plan` and its twins closed `released` (`_released`), and the answer given if one of
    them changed meanwhile and the decision fails."""
    note = f"released by {run.command.requested_by} (command {run.command_id}): {run.command.reason}"
    run.decisions += _released(run, [plan, *twins], note)
    run.undecided = run.build(OutcomeStatus.SKIPPED, f"{plan.key} changed meanwhile (judged or released by "
                              "another command): this release closed nothing", target=plan.target)


def _released(run: CommandRun, closing: list[IntentRecord], note: str) -> list[RecordWrite]:
    """Each plan closed `released` with the person's name and note, guarded on being as read: one changed
    meanwhile (judged or released by another command) fails the whole decision. Never `void` (nothing was
    written): each was escalated as a write that may have landed."""
    return [RecordWrite(INTENTS, each.key, {"state": IntentState.RELEASED.value, "closed_at": run.now,
                                            "closed_by": run.command.requested_by,
                                            "note": note if each is closing[0] else f"{note} (with {closing[0].key}, "
                                                                                     "the same change)"},
                        merge=True, expect=each.unchanged()) for each in closing]


def _with(twins: list[IntentRecord]) -> str:
    return (f" and of {', '.join(t.key for t in twins)}, escalated with it as the same change (one claim: at most "
            "one of them wrote)") if twins else ""


def _released_alone(run: CommandRun, plan: IntentRecord, twins: list[IntentRecord], others: list[IntentRecord],
                    what: str, report: ActionReport) -> Outcome:
    """Another escalated plan of the claim, of another change, holds it too: the named plan (and its twins) is
    closed `released`, and the claim is kept for the others, each a person's to check and release in turn. Refused
    instead, as before, two such plans could never be released: each release named the other as holding."""
    _close(run, plan, twins)
    held_by = "; ".join(f"{o.key} ({o.action} on {o.target}, planned at {o.noted_at:%Y-%m-%d %H:%M:%S} UTC): "
                        f"before releasing it, {plans.what_to_check(o)}" for o in others)
    return run.outcome(OutcomeStatus.APPLIED, (
        f"released {what}{_with(twins)}, by {run.command.requested_by}: {run.command.reason}. The incident's "
        f"automatic writes stay held by {held_by}; escalated as another change that may have landed, "
        f"{'it is' if len(others) == 1 else 'each is'} released in turn; nothing was written now. {_KEPT}"),
        target=plan.target, action=report)


# What a key copied from an answer's text may carry around it: the word `intent` before it, the parenthesis
# or the punctuation that closed the sentence ("… (intent 0.abc|123)."), quotes, spaces. A plan's key has none
# of these at its ends (records.intent_key: an incident id stripped of its spaces, a Pub/Sub message id).
_AROUND = " \t\n\"'`()[]<>.,;:"


def _copied_key(key: str) -> str:
    """`key` without what a copy from an answer's text took with it (`_AROUND`, the word `intent` first)."""
    trimmed = key.strip(_AROUND)
    if trimmed[:7].lower() == "intent " or trimmed[:7].lower() == "intent:":
        trimmed = trimmed[7:]
    return trimmed.strip(_AROUND)


def _meant(run: CommandRun, key: str) -> str:
    """"; did you mean …" when the key, stripped of what a copy took with it, is a plan that exists: "no plan
    'intent 0.abc|123)'" left the person to find which characters were not the key. Only said, never acted on:
    the person sends it again with that key. "" otherwise (one read, only on this refusal)."""
    meant = _copied_key(key)
    if not meant or meant == key or run.adapters.state.get_record(INTENTS, meant) is None:
        return ""
    return f"; did you mean {meant!r}? a plan has that key: send the release again with params.intent {meant!r}"


def _held_plan(run: CommandRun) -> tuple[IntentRecord, list[IntentRecord], list[IntentRecord]]:
    """The escalated plan the command names, still holding, with the other escalated plans of its claim still
    holding it: those of the same change (its twins, released with it) and the others. Rejected, naming the
    field, otherwise."""
    key = run.command.params.intent
    data = run.adapters.state.get_record(INTENTS, key)
    if not data:
        raise rejected("params.intent", f"no plan {echoed(key)} (the key an `escalated` outcome names as `intent ...`)"
                                        + _meant(run, key))
    try:
        plan = IntentRecord.model_validate(data)
    except ValueError as exc:
        raise rejected("params.intent", f"{key} cannot be read by this version: {exc}") from None
    if plan.target != run.command.target:
        raise rejected("target", f"{key} is about {plan.target}, not {run.command.target}")
    if plan.command_id:
        raise rejected("params.intent", f"{key} is command {plan.command_id}'s plan: it holds no automatic write")
    if plan.state is not IntentState.ESCALATED:
        state = plan.state.value if plan.state is not None else "not yet judged"
        raise rejected("params.intent", f"{key} is {state}, not escalated: it holds nothing to release")
    if plans.over(plan, run.now):
        raise rejected("params.intent", f"{key} expired at {plan.expires_at:%Y-%m-%d %H:%M:%S} UTC: it holds nothing")
    # The claim's other plans, read once: an open one first (what plans.unjudged would name), then the escalated.
    try:
        claims_plans = plans.of_claim(run.adapters.state, plan.claim_key, but=plan.key)
    except DamagedRecord as exc:    # it may hold the write too: released, this one's hold would hide it
        raise rejected("params.intent", f"another plan of the same claim cannot be read: {exc}; it may hold the "
                                        "write too, so nothing is released until a person repairs or deletes it") from None
    other = next((p for p in claims_plans if p.state is IntentState.OPEN), None)
    if other is not None:
        # With its claim given back, the next notification claims afresh (no takeover, so the gate reads no
        # plan): another plan of the claim still open or escalated would no longer hold it.
        raise rejected("params.intent", f"{other.key}, another plan of the same claim ({other.action} on "
                                        f"{other.target}, planned at {other.noted_at:%Y-%m-%d %H:%M:%S} UTC), is "
                                        f"{other.state.value if other.state else 'open'} and holds it too: "
                                        "its sweep's judgement comes first")
    held = [p for p in claims_plans
            if p.state is IntentState.ESCALATED and not plans.over(p, run.now)]
    twins = [p for p in held if plans.same_change(p, plan)]
    return plan, twins, [p for p in held if not plans.same_change(p, plan)]
