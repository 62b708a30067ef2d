"""A notification whose write the gate held back and gave the claim back for (the kill switch or a pause; the
target's cooldown or a spent budget), kept by its Pub/Sub message, so that nothing that clears the hold (a
resume, the cooldown's end, a budget's slot coming free) releases that write on its own (docs/commands.md,
"The kill switch and writes in flight"; docs/behaviour.md, "A held message is held for good").

The gate gives back the incident's claim when a brake, a cooldown or a budget holds its write back: a new
notification of the incident (Monitoring re-notifying an open incident at its policy's renotify interval,
AlertPolicy.AlertStrategy.NotificationChannelStrategy.renotify_interval in google/monitoring/v3/alert.proto; or
another message) is free to act once the hold has cleared, as is a person's command. Pub/Sub delivering the very
message again is neither: a push subscription has no exactly-once delivery ("Push and export subscriptions
don't support exactly-once delivery", Pub/Sub docs, "Exactly-once delivery"), and without it "the service may
redeliver the message, even after a successful handler.ack()" (google-cloud-cpp's pubsub reference,
PullResponse; for a push, after the 2xx: UNCONFIRMED in those words); and a delivery whose answer's publish
failed is answered 5xx and delivered again. Without this record such a delivery, arriving after the hold
cleared, acted on a notification already answered `skipped`: a write nobody saw coming (for a brake, released
by no one; for a cooldown or a budget, made on evidence read again at whatever time Pub/Sub retried).

A delivery of a held message after a later notification of its incident acted is that action's duplicate
(the pipeline answers it so, `held_note` added): the hold is not what it is answered by.

A dry run keeps nothing: under the config's dry_run mode, or an action's shadow mode, the write a brake, a
cooldown or a budget holds back was never to be made, so no delivery of the message can make it unseen. Kept,
its record answered the message's delivery once writes were on as held back (`held_again`), a hold that never
happened for real, and the failure the message reported was left unacted on. Its hold is said in the timeline
(`held_dry_run`) and in the answer's note (`dry_hold_note`) instead.

Pure but for the record's shape: the pipeline reads the record in its batched read of the incident
(`_AlertRun.prior`) and writes it, best effort, when the gate answers a brake, a cooldown or a budget."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.refusals import Held, held_by_brake, held_by_limit, held_of_words

# In the claims collection (its TTL policy removes it), beside the pages' once-only records.
_PREFIX = "held/"


def held_key(message: str) -> str:
    """The record of a message held back: `message` is its key (shared.alerts.delivery `message_key`)."""
    return f"{_PREFIX}{message}"


def held_record(key: str, owner: str, now: datetime, retain: timedelta, refusal: str, held: Held, target: str,
                service: str) -> dict[str, Any]:
    """The record kept: a completed claim (the claims collection's shape), its result the gate's refusal and its
    hold (`held`, GateResult.held: what later answers are told by, never the words), the write's target and the
    service the alert was diagnosed for."""
    record = ClaimRecord(key=key, owner=owner, status=ClaimStatus.COMPLETED, claimed_at=now, expires_at=now + retain,
                         result={"refusal": refusal, "held": held.value, "target": target, "service": service})
    return record.model_dump()


def keeps(held: Held | None) -> bool:
    """Whether the gate's hold is one a message is kept held for: it gave the claim back for a brake, a
    cooldown or a budget (its other refusals keep the claim, or write nothing a redelivery could write)."""
    return held_by_brake(held) or held_by_limit(held)


def kept_hold(record: ClaimRecord) -> Held | None:
    """The hold a held message's record keeps: its `held`; for a record kept before the hold was kept beside the
    words (its `refusal` alone: such records stay in Firestore until their TTL), the hold those words name
    (refusals.held_of_words). A `held` this version does not know is told by the words too."""
    try:
        return Held(record.result.get("held"))
    except ValueError:
        return held_of_words(str(record.result.get("refusal") or ""))


def _cleared_by(held: Held | None) -> str:
    """What clears the hold `held` names, and so does not release the message's write."""
    if held is Held.COOLDOWN:
        return "the cooldown's end does not release it, whether or not it has ended now"
    if held is Held.BUDGET:
        return "a budget's slot coming free does not release it, whether or not one is free now"
    if held is Held.KILL_SWITCH:
        return ("setting guardrails.kill_switch false in the config does not release it, whether or not it is "
                "false now")
    return "a resume does not release it, whether or not writes are allowed now"


def held_again(record: ClaimRecord, message_id: str | None) -> str:
    """The answer to a delivery of a message held back before (`record`, its record, read by the pipeline through
    records.read_record: one that cannot be read is answered `escalated` naming it, never passed over, since the
    write it held back may not be made on a delivery): held again, whatever the switches, the cooldown and the
    budgets say now."""
    service = str(record.result.get("service") or record.result.get("target") or "its target")
    return (f"{held_note(record, message_id)}; {_cleared_by(kept_hold(record))}: nothing was diagnosed or written. A new "
            "notification of the incident (Monitoring re-notifies an open incident at its policy's renotify "
            "interval) is diagnosed afresh and may act, or a person acts by a command (runwarden command diagnose "
            f"--target {service}, then the change it names)")


def held_note(record: ClaimRecord, message_id: str | None) -> str:
    """That this message was delivered again, and when and why its write was held back."""
    refusal = str(record.result.get("refusal") or "the kill switch or a pause")
    target = str(record.result.get("target") or "its target")
    return (f"message {message_id or '(no id)'} delivered again (Pub/Sub delivers at least once): its write to "
            f"{target} was held back at {record.claimed_at:%Y-%m-%d %H:%M:%S} UTC ({refusal})")


def dry_hold_note(config_dry_run: bool, action: str) -> str:
    """The note on a dry run's answer that a hold held back: that nothing was to be written, and that the hold is
    not kept for the message (its delivery once writes are on is diagnosed afresh)."""
    whose = "the config's mode is dry_run" if config_dry_run else f"the config's actions.{action}.mode is dry_run"
    return (f"dry run ({whose}): nothing would have been written either way; this hold is not kept for the "
            "message, so its delivery once writes are on is diagnosed afresh and may act")
