"""An alert's redelivery or a command's resend that records (or escalates) an earlier attempt's
unrecorded write keeps its `escalated` report in the intent until the publish succeeds
(shared/remediation/held_reports.py): a failed publish is published by the next delivery, or, if the
message is never delivered again, by the sweep; exactly once, with the same outcome_id. In-process
parts (tests/property/fast.py); tests/integration/test_intent_sweep.py repeats one on Firestore."""
from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from shared.clock import skew_safe_lease
from shared.errors import TransientError
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import CLAIMS, claim_key, command_incident
from shared.remediation.records import INTENTS, command_intent_key
from sandbox.standins.run import TrafficSeed
from tests.integration.world import SERVICE
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
OPERATOR = "alice@example.com"
SHORT = {"guardrails": {"claim_retention_seconds": 600, "cooldown_seconds": 0}}
_messages = itertools.count(1)


def world() -> FastWorld:
    return FastWorld(seeded_copy("bad_revision", None), ANCHOR, operators=[OPERATOR], **SHORT)


def lapsed(w: FastWorld) -> float:
    """Minutes after T0 by which every claim of the first attempt (at T0 + 2) has lapsed."""
    return 2 + skew_safe_lease(w.config.guardrails.claim_ttl_seconds) / timedelta(minutes=1) + 1


def rollback(w: FastWorld, command_id: str, message_id: str | None = None):
    body = {"command": "rollback_traffic", "command_id": command_id, "requested_by": OPERATOR, "reason": "r",
            "target": SERVICE, "params": {"revision": OLD}}
    [outcome] = w.command(body, message_id=message_id or f"m-{next(_messages)}")
    return outcome


def reports(w: FastWorld, outcome_id: str) -> int:
    return sum(1 for o in w.published() if o["outcome_id"] == outcome_id)


def escalations(w: FastWorld) -> list[dict[str, Any]]:
    return [o for o in w.published() if o["status"] == "escalated"]


def unrecorded_rollback(w: FastWorld, command_id: str) -> None:
    """The command's first attempt wrote and could not record it (its gate claim then deleted by TTL)."""
    w.adapters.state.fail_next("write", 1, method="record_all")
    first = rollback(w, command_id)
    assert first.status is OutcomeStatus.ESCALATED and "could not be recorded" in first.reason, first.reason
    w.state.records.pop((CLAIMS, claim_key(command_incident(command_id), SERVICE, "rollback_traffic")))
    w.at(lapsed(w))


def failed_resend(w: FastWorld, command_id: str) -> dict[str, Any]:
    """A resend records the write and its `escalated` publish fails: the report is kept, given back."""
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        rollback(w, command_id, message_id=f"{command_id}-resend")
    intent = w.state.get_record(INTENTS, command_intent_key(command_id))
    assert intent["state"] == "recorded" and intent["report_state"] == "pending", intent
    assert intent["report_by"] == "" and "applied by an earlier attempt" in json.loads(intent["report"])["reason"]
    return intent


def test_a_resends_report_whose_publish_failed_is_published_by_its_redelivery_once():
    w = world()
    unrecorded_rollback(w, "held-1")
    stored = json.loads(failed_resend(w, "held-1")["report"])

    again = rollback(w, "held-1", message_id="held-1-resend")       # Pub/Sub delivers the resend again
    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == stored["outcome_id"], again.reason
    assert w.state.get_record(INTENTS, command_intent_key("held-1"))["report_state"] == "sent"
    assert w.standins.run.count("UpdateService") == 1                 # nothing written again

    w.at(lapsed(w) + 30)
    w.command({"command": "sweep"}, message_id="sweep-1")
    later = rollback(w, "held-1")                                      # a later resend: the usual duplicate
    assert later.outcome_id != stored["outcome_id"] and later.reason.startswith("duplicate"), later.reason
    assert reports(w, stored["outcome_id"]) == 1


def test_a_resends_report_never_delivered_again_is_published_by_the_sweep_once():
    w = world()
    unrecorded_rollback(w, "held-2")
    stored = json.loads(failed_resend(w, "held-2")["report"])        # then dead-lettered: no redelivery

    w.at(lapsed(w) + 1)
    swept = w.command({"command": "sweep"}, message_id="sweep-1")
    assert [o.outcome_id for o in swept if o.command_id == "held-2"] == [stored["outcome_id"]], swept
    w.at(lapsed(w) + 30)
    w.command({"command": "sweep"}, message_id="sweep-2")
    assert reports(w, stored["outcome_id"]) == 1
    assert w.state.get_record(INTENTS, command_intent_key("held-2"))["report_state"] == "sent"


def test_a_resend_while_the_report_is_held_answers_as_usual_and_the_holder_publishes_it():
    """The report's holder may still be publishing it (its hold unexpired): a resend meanwhile never
    takes it, so the person hears it once, from the holder (or, if it died, the sweep after the hold)."""
    w = world()
    unrecorded_rollback(w, "held-3")
    w.adapters.state.fail_next("write", 1, method="update_record")   # the give-back fails: still held
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        rollback(w, "held-3")
    intent = w.state.get_record(INTENTS, command_intent_key("held-3"))
    assert intent["report_state"] == "pending" and intent["report_by"], intent
    meanwhile = rollback(w, "held-3")
    assert meanwhile.outcome_id != json.loads(intent["report"])["outcome_id"]
    assert reports(w, json.loads(intent["report"])["outcome_id"]) == 0

    w.at(lapsed(w) + 20)                                               # the hold has lapsed
    swept = w.command({"command": "sweep"}, message_id="sweep-1")
    assert [o.outcome_id for o in swept if o.command_id == "held-3"] == [json.loads(intent["report"])["outcome_id"]]


def test_a_resends_escalation_of_an_overtaken_change_is_kept_until_published():
    """The SUPERSEDED verdict (the rollback took, and someone changed the traffic again since: the service
    two generations past the plan, showing neither the state before nor the plan): the write is recorded
    closed `escalated`, and that report is stored in the intent by the same commit; its failed publish is
    published by the next resend, the same outcome_id, and then never again."""
    w = world()
    unrecorded_rollback(w, "overtaken-1")
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        rollback(w, "overtaken-1")
    intent = w.state.get_record(INTENTS, command_intent_key("overtaken-1"))
    assert intent["state"] == "recorded" and intent["report_state"] == "pending" and intent["report_by"] == ""
    stored = json.loads(intent["report"])
    assert "taken the target over" in stored["reason"], stored["reason"]

    again = rollback(w, "overtaken-1")
    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == stored["outcome_id"], again.reason
    w.at(lapsed(w) + 30)
    w.command({"command": "sweep"}, message_id="sweep-1")
    # The first attempt's own "could not be recorded", then this report once.
    assert reports(w, stored["outcome_id"]) == 1 and len(escalations(w)) == 2
    assert w.standins.run.count("UpdateService") == 1


# --- an alert's redelivery --------------------------------------------------------------------------------

def unrecorded_alert(w: FastWorld, message_id: str) -> dict[str, Any]:
    """The alert's first attempt wrote, could not record it, and could not publish its escalation."""
    data = w.alert("bad_revision", message_id=message_id)
    w.adapters.state.fail_next("write", 1, method="record_all")
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        w.handle(data)
    w.at(lapsed(w))
    return data


def failed_redelivery(w: FastWorld, data: dict[str, Any], key: str) -> dict[str, Any]:
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        w.handle(data)
    intent = w.state.get_record(INTENTS, key)
    assert intent["state"] == "recorded" and intent["report_state"] == "pending" and intent["report_by"] == "", intent
    return json.loads(intent["report"])


@pytest.mark.parametrize("ending", ["redelivered", "dead_lettered"])
def test_a_redeliverys_report_whose_publish_failed_reaches_a_person_once(ending):
    w = world()
    data = unrecorded_alert(w, "a-1")
    assert w.published() == []                          # the attempt's own escalation was lost
    [key] = [k for (kind, k), r in w.state.documents.items() if kind == INTENTS and r["message_id"] == "a-1"]
    stored = failed_redelivery(w, data, key)
    assert "Recorded now" in stored["reason"] and w.standins.run.count("UpdateService") == 1

    if ending == "redelivered":
        again = w.handle(data)
        assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == stored["outcome_id"], again.reason
        w.at(lapsed(w) + 1)
        w.command({"command": "sweep"}, message_id="sweep-1")
        after = w.handle(data)                                            # delivered once more: a duplicate
        assert after.status is not OutcomeStatus.ESCALATED and after.outcome_id != stored["outcome_id"]
    else:
        w.at(lapsed(w) + 1)
        swept = w.command({"command": "sweep"}, message_id="sweep-1")
        assert stored["outcome_id"] in [o.outcome_id for o in swept]
    w.at(lapsed(w) + 30)
    w.command({"command": "sweep"}, message_id="sweep-2")
    assert w.state.get_record(INTENTS, key)["report_state"] == "sent"
    # One report of the write; the verification sweep's own judgement of the recorded rollback (past
    # its deadline, with no data since it settled: escalated, kept) is another matter.
    assert reports(w, stored["outcome_id"]) == 1
    assert len([o for o in escalations(w) if "could not be verified" not in o["reason"]]) == 1


# --- a delivery that fails after storing its report, before publishing it ------------------------------------

def test_an_approves_resend_that_fails_after_storing_its_report_gives_it_back_for_its_redelivery():
    """An approve's resend records the earlier attempt's write (its report stored in the intent, held by
    this delivery) and then fails ending the proposal (a transient fault): it raises, so Pub/Sub delivers
    it again. The report is given back at once, as for a failed publish, so that the redelivery publishes
    it (the same outcome_id) and ends the proposal, rather than answering a duplicate while the report
    waits a lease for the sweep."""
    from tests.unit.test_command_resends import proposed, send, unrecorded_approve
    from shared.remediation.records import ACTIONS, PROPOSALS

    w, proposal_id = proposed()
    unrecorded_approve(w, proposal_id, "appr-h1")
    # The gate's own ending of the proposal (best effort, Gate._end_approved), then the resend's.
    w.adapters.state.fail_next("write", 2, method="update_record")
    with pytest.raises(TransientError):
        send(w, "approve", "appr-h1", params={"proposal_id": proposal_id})
    intent = w.state.get_record(INTENTS, command_intent_key("appr-h1"))
    assert intent["state"] == "recorded" and intent["report_state"] == "pending", intent
    assert intent["report_by"] == "", intent["report_by"]               # given back, not held for a lease
    stored = json.loads(intent["report"])

    again = send(w, "approve", "appr-h1", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == stored["outcome_id"], again.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    assert w.state.get_record(INTENTS, command_intent_key("appr-h1"))["report_state"] == "sent"
    assert reports(w, stored["outcome_id"]) == 1 and w.standins.vpcaccess.count("PatchConnector") == 1


def test_a_redelivery_after_another_message_of_its_incident_still_publishes_its_report():
    """Another notification of the same incident, answered meanwhile as a duplicate of the write the
    redelivery recorded, must not make this instance answer the next redelivery from memory (a `skipped`
    duplicate, shared/remediation/settled.py): that redelivery reads its intent and publishes the report."""
    w = world()
    data = unrecorded_alert(w, "a-2")
    [key] = [k for (kind, k), r in w.state.documents.items() if kind == INTENTS and r["message_id"] == "a-2"]
    stored = failed_redelivery(w, data, key)
    other = w.handle(w.alert("bad_revision", message_id="b-2"))
    assert other.status is OutcomeStatus.SKIPPED and other.reason.startswith("duplicate"), other.reason

    again = w.handle(data)
    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == stored["outcome_id"], again.reason
    assert w.state.get_record(INTENTS, key)["report_state"] == "sent"
    assert reports(w, stored["outcome_id"]) == 1


# --- the stored report is what is published -----------------------------------------------------------------

def published_as(w: FastWorld, outcome_id: str) -> list[bytes]:
    return [data for _, data, _ in w.publisher.messages if json.loads(data)["outcome_id"] == outcome_id]


@pytest.mark.parametrize("kind", ["command", "alert", "sweep"])
def test_a_kept_report_is_published_byte_for_byte_as_it_was_stored(kind):
    """Outcome.model_validate_json of the stored JSON, published again, is the very message first built:
    the same outcome_id and every other field (its action's before and after, its timestamps), whichever
    kind of delivery stored it."""
    w = world()
    if kind == "command":
        unrecorded_rollback(w, "rt-1")
        key, stored = command_intent_key("rt-1"), failed_resend(w, "rt-1")["report"]
        rollback(w, "rt-1")
    elif kind == "alert":
        data = unrecorded_alert(w, "rt-a")
        [key] = [k for (kind_, k), r in w.state.documents.items() if kind_ == INTENTS and r["message_id"] == "rt-a"]
        failed_redelivery(w, data, key)
        stored = w.state.get_record(INTENTS, key)["report"]
        w.handle(data)
    else:
        unrecorded_rollback(w, "rt-2")
        w.at(lapsed(w) + 5)                       # due: the sweep judges it, and its publish fails
        w.adapters.publisher.fail_next(1)
        with pytest.raises(TransientError):
            w.command({"command": "sweep"}, message_id="sweep-1")
        key = command_intent_key("rt-2")
        stored = w.state.get_record(INTENTS, key)["report"]
        w.command({"command": "sweep"}, message_id="sweep-2")
    assert stored and published_as(w, json.loads(stored)["outcome_id"]) == [stored.encode()]
    assert w.state.get_record(INTENTS, key)["report_state"] == "sent"


@pytest.mark.parametrize("kind", ["alert", "command"])
def test_a_report_whose_storing_commit_lost_its_answer_is_given_back_for_the_redelivery(kind):
    """The one commit that records the earlier attempt's write and stores the report lands, and its
    answer is lost (DEADLINE_EXCEEDED after the write took): the delivery raises without knowing that it
    holds the report. It gives it back all the same (an update guarded on itself as holder: nothing if the
    commit never landed), so the redelivery publishes it, rather than a `skipped` duplicate while the
    report waits a lease for the sweep."""
    w = world()
    if kind == "alert":
        data = unrecorded_alert(w, "lost-a")
        [key] = [k for (kind_, k), r in w.state.documents.items() if kind_ == INTENTS and r["message_id"] == "lost-a"]
        deliver = lambda: w.handle(data)  # noqa: E731
    else:
        unrecorded_rollback(w, "lost-c")
        key = command_intent_key("lost-c")
        deliver = lambda: rollback(w, "lost-c")  # noqa: E731
    w.adapters.state.fail_next("write", 1, method="record_all", lost=True)
    with pytest.raises(TransientError):
        deliver()
    intent = w.state.get_record(INTENTS, key)
    assert intent["state"] == "recorded" and intent["report_state"] == "pending", intent
    assert intent["report_by"] == "", intent["report_by"]
    stored = json.loads(intent["report"])

    again = deliver()
    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == stored["outcome_id"], again.reason
    assert w.state.get_record(INTENTS, key)["report_state"] == "sent"
    assert reports(w, stored["outcome_id"]) == 1 and w.standins.run.count("UpdateService") == 1


def test_a_sweep_report_whose_storing_commit_lost_its_answer_is_published_by_the_next_sweep():
    """The sweep's adoption lands and its answer is lost: that sweep defers the intent (a transient
    fault) without knowing it holds the report, and gives it back all the same, so the next scheduled
    sweep publishes it rather than one a whole hold later."""
    w = world()
    unrecorded_rollback(w, "lost-s")
    w.at(lapsed(w) + 5)
    w.adapters.state.fail_next("write", 1, method="record_all", lost=True)
    first = w.command({"command": "sweep"}, message_id="sweep-1")
    assert not [o for o in first if o.command_id == "lost-s"], first
    intent = w.state.get_record(INTENTS, command_intent_key("lost-s"))
    assert intent["state"] == "recorded" and intent["report_state"] == "pending" and intent["report_by"] == "", intent

    w.at(lapsed(w) + 10)                          # the next sweep, well within the first one's hold
    second = w.command({"command": "sweep"}, message_id="sweep-2")
    assert [o.outcome_id for o in second if o.command_id == "lost-s"] == [json.loads(intent["report"])["outcome_id"]]


def test_a_retaken_report_of_an_approve_whose_change_another_owns_leaves_its_proposal_in_doubt():
    """`_retaken` comes before the action record is looked at: the retaken escalation of an approve whose
    change another record owns (intents.owned_elsewhere) ends nothing; its proposal stays `in_doubt` (its
    first attempt's write could not be recorded)."""
    from tests.unit.test_command_resends import another_record_of, proposed, send, unrecorded_approve
    from shared.remediation.records import ACTIONS, PROPOSALS

    w, proposal_id = proposed()
    unrecorded_approve(w, proposal_id, "appr-h2")
    intent = another_record_of(w, command_intent_key("appr-h2"))
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        send(w, "approve", "appr-h2", params={"proposal_id": proposal_id})
    stored = json.loads(w.state.get_record(INTENTS, command_intent_key("appr-h2"))["report"])
    assert "not known to be this plan's write" in stored["reason"], stored["reason"]

    again = send(w, "approve", "appr-h2", params={"proposal_id": proposal_id})
    assert again.outcome_id == stored["outcome_id"], again.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "in_doubt"
    assert w.state.get_record(ACTIONS, intent["claim_key"]) is None and reports(w, stored["outcome_id"]) == 1


def test_a_report_whose_publish_fails_on_the_last_delivery_is_published_by_the_sweep():
    """On the last delivery (delivery.max_attempts) the report's publish fails: the report is given back
    before the handler gives up (one `failed` outcome, shared/pipeline.retry_or_give_up), so it is not
    lost with the message: the next sweep publishes it, once."""
    from shared.alerts.delivery import DeliveryCounter
    from shared.pipeline import handle_delivery

    w = world()
    data = unrecorded_alert(w, "last-a")
    [key] = [k for (kind_, k), r in w.state.documents.items() if kind_ == INTENTS and r["message_id"] == "last-a"]
    config = w.config.model_copy(update={"delivery": w.config.delivery.model_copy(update={"max_attempts": 5})})
    w.adapters.publisher.fail_next(1)                  # the report's publish; the give-up's goes through
    gave_up = handle_delivery(data, config, w.adapters, delivery_attempt=5, counter=DeliveryCounter())
    assert gave_up.status is OutcomeStatus.FAILED and "gave up after 5" in gave_up.reason, gave_up.reason
    intent = w.state.get_record(INTENTS, key)
    assert intent["report_state"] == "pending" and intent["report_by"] == "", intent

    w.at(lapsed(w) + 1)
    swept = w.command({"command": "sweep"}, message_id="sweep-1")
    assert json.loads(intent["report"])["outcome_id"] in [o.outcome_id for o in swept]
    assert reports(w, json.loads(intent["report"])["outcome_id"]) == 1
