"""A message answered 2xx may be delivered again: a push subscription has no exactly-once delivery
(Pub/Sub "Exactly-once delivery": "Push and export subscriptions don't support exactly-once
delivery"), and "with best-efforts subscriptions, the service may redeliver the message, even after
a successful ack" (google-cloud-cpp pubsub, PullResponse). What a delivery tells a person (a
`notify` line: rejected, escalated, proposed, failed) is told once per message and status; the
redelivery answers `skipped`, naming the first outcome. In-process parts (tests/property/fast.py)
through the real delivery entry points."""
from __future__ import annotations

import base64
import contextlib
import io
import json
from typing import Any, Callable

import pytest

from shared.alerts.delivery import DeliveryCounter
from shared.commands import handle_command_delivery
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_delivery
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR


def world(scenario: str = "bad_revision") -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR)


def notification(scenario: str = "bad_revision", **incident: Any) -> bytes:
    n = scenario_model(scenario).notification(ANCHOR)
    n["incident"].update(incident)
    return json.dumps(n).encode()


def _versioned(version: str) -> bytes:
    n = scenario_model("bad_revision").notification(ANCHOR)
    return json.dumps({**n, "version": version}).encode()


def deliver(w: FastWorld, data: dict, topic: str = "alerts", attempt: int | None = None) -> tuple[Any, list[dict]]:
    """One delivery through the function's own entry (bounded redelivery, guarded state)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if topic == "alerts":
            answer = handle_delivery(data, w.config, w.adapters, delivery_attempt=attempt, counter=DeliveryCounter())
        else:
            [answer] = handle_command_delivery(data, w.config, w.adapters, delivery_attempt=attempt,
                                               counter=DeliveryCounter())
    return answer, [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def notified(logged: list[dict]) -> list[dict]:
    return [line for line in logged if line["runwarden"]["step"] == "notify"]


# (scenario seeded, the message, the topic, the status a person hears of)
CASES: dict[str, tuple[str, Callable[[], dict], str, OutcomeStatus]] = {
    "not JSON": ("bad_revision", lambda: event(b"{this is not json", "r-1"), "alerts", OutcomeStatus.REJECTED),
    "not UTF-8": ("bad_revision", lambda: event(b"\xff\xfe{}", "r-2"), "alerts", OutcomeStatus.REJECTED),
    "not base64": ("bad_revision", lambda: {"message": {"data": "%%%", "messageId": "r-3"}}, "alerts",
                   OutcomeStatus.REJECTED),
    "no message id, not JSON": ("bad_revision", lambda: {"message": {"data": base64.b64encode(b"[").decode()}},
                                "alerts", OutcomeStatus.REJECTED),
    "no monitored resource": ("bad_revision", lambda: event(notification(resource={"type": "", "labels": {}}), "r-4"),
                              "alerts", OutcomeStatus.REJECTED),
    "escalated (too little traffic)": ("low_traffic", lambda: event(notification("low_traffic"), "r-5"), "alerts",
                                       OutcomeStatus.ESCALATED),
    "escalated (another schema version)": ("bad_revision", lambda: event(_versioned("2.0"), "r-14"), "alerts",
                                           OutcomeStatus.ESCALATED),
    "an alert on the commands topic": ("bad_revision", lambda: event(notification(), "r-6"), "commands",
                                       OutcomeStatus.REJECTED),
    # A rollback planned and refused by its bounds (two revisions back): an action report, no write.
    "escalated (a rollback outside its bounds)": (
        "quick_succession_middle_failing", lambda: event(notification("quick_succession_middle_failing"), "r-12"),
        "alerts", OutcomeStatus.ESCALATED),
    "proposed (a connector to scale)": (
        "connector_saturation", lambda: event(notification("connector_saturation"), "r-13"), "alerts",
        OutcomeStatus.PROPOSED),
}


@pytest.mark.parametrize("scenario, message, topic, status", CASES.values(), ids=CASES.keys())
def test_a_message_delivered_again_after_its_answer_pages_once(scenario, message, topic, status):
    w = world(scenario)
    first, logged_first = deliver(w, message(), topic)
    again, logged_again = deliver(w, message(), topic)

    assert first.status is status and len(notified(logged_first)) == 1
    assert again.status is OutcomeStatus.SKIPPED and notified(logged_again) == [], again.reason
    assert "delivered again" in again.reason and first.outcome_id in again.reason, again.reason
    # What the redelivery found is kept, only not paged: its own answer, and its diagnosis.
    assert f"This delivery's answer: {status.value}: " in again.reason
    assert again.diagnosis == first.diagnosis
    assert [o["status"] for o in w.published()] == [status.value, "skipped"]
    assert w.writes() == 0


def test_another_message_with_the_same_content_is_heard_again():
    """Monitoring's re-notification (renotifyInterval) is a new message: it pages as its policy asks."""
    w = world()
    deliver(w, event(b"{this is not json", "r-7"))
    again, logged = deliver(w, event(b"{this is not json", "r-8"))
    assert again.status is OutcomeStatus.REJECTED and len(notified(logged)) == 1


def test_a_page_whose_publish_failed_is_sent_by_the_redelivery():
    """The publish fails after the page was claimed: the claim is given back, the delivery raises,
    and the redelivery sends the page: nothing a person must hear is lost to the once-only check."""
    w = world()
    w.adapters.publisher.fail_next(1)
    with pytest.raises(Exception):
        deliver(w, event(b"{this is not json", "r-9"))
    again, logged = deliver(w, event(b"{this is not json", "r-9"))
    assert again.status is OutcomeStatus.REJECTED and len(notified(logged)) == 1


@pytest.mark.parametrize("code, lost", [("UNAVAILABLE", False), ("DEADLINE_EXCEEDED", False),
                                        ("DEADLINE_EXCEEDED", True)])
def test_a_state_store_that_cannot_say_whether_it_paged_still_pages(code, lost):
    """Paging twice is the lesser fault: with the state store down the page is sent, saying so."""
    w = world()
    w.adapters.state.fail_next("claim", 3, code=code, lost=lost)
    outcome, logged = deliver(w, event(b"{this is not json", "r-10"))
    assert outcome.status is OutcomeStatus.REJECTED and len(notified(logged)) == 1
    [unchecked] = [line for line in logged if line["runwarden"]["step"] == "page_unchecked"]
    assert "a person may hear of this message twice" in unchecked["message"]


def test_a_give_up_answered_2xx_and_delivered_again_pages_once():
    """The last delivery's `failed` is answered 2xx; a redelivery past the limit fails the same way
    and gives up again: one page, not one per redelivery."""
    w = world()
    data = w.alert(message_id="r-11")
    limit = w.config.delivery.max_attempts
    outcomes, pages = [], 0
    for attempt in (limit, limit + 1):
        w.adapters.state.fail_next("read", 50)
        outcome, logged = deliver(w, data, attempt=attempt)
        outcomes.append(outcome.status)
        pages += len(notified(logged))
    assert outcomes == [OutcomeStatus.FAILED, OutcomeStatus.SKIPPED] and pages == 1


@pytest.mark.parametrize("scenario, message, topic, status", CASES.values(), ids=CASES.keys())
def test_every_delivery_told_it_was_answered_before_gets_one_outcome_id(scenario, message, topic, status):
    """The `skipped` "told before" answer is one answer however often the message comes again: the same
    outcome_id on each (derived from the message, its status and its proposal), so a reader that drops
    repeats by outcome_id hears it once, and never under the first answer's id."""
    w = world(scenario)
    first, _ = deliver(w, message(), topic)
    again = [deliver(w, message(), topic)[0] for _ in range(3)]
    assert [o.status for o in again] == [OutcomeStatus.SKIPPED] * 3
    assert len({o.outcome_id for o in again}) == 1 and again[0].outcome_id != first.outcome_id
    assert [o["outcome_id"] for o in w.published()[1:]] == [again[0].outcome_id] * 3


def test_the_told_before_answers_of_two_messages_with_the_same_content_differ():
    """Monitoring's re-notification is a message of its own: its repeats are not taken for another's."""
    w = world()
    ids = []
    for message_id in ("r-15", "r-16"):
        for _ in range(2):
            answer, _ = deliver(w, event(b"{this is not json", message_id))
        ids.append(answer.outcome_id)
    assert ids[0] != ids[1]
