"""A message Runwarden cannot run is answered once: its answer's outcome_id is derived from the message,
so a redelivery (a publish whose answer was lost, Pub/Sub's at-least-once delivery) publishes the very
same outcome_id and a reader drops the repeat. In-process parts (the memory store, the stand-ins' own
handlers: tests/property/fast.py) through the real entry points; the emulator's run is
tests/integration/test_commands.py."""
from __future__ import annotations

import json

import pytest

from shared.commands import handle_command
from shared.errors import TransientError
from shared.outcomes import message_outcome_id
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

OPERATOR = "alice@example.com"


@pytest.mark.parametrize("one, other, same", [
    (("m-1:abc", "command-rejected", "rb-1"), ("m-1:abc", "command-rejected", "rb-1"), True),   # redelivered
    (("m-1:abc", "command-rejected", "rb-1"), ("m-2:abc", "command-rejected", "rb-1"), False),  # another message
    (("m-1:abc", "command-rejected", "rb-1"), ("m-1:abc", "command-rejected", "rb-2"), False),  # another id in it
    (("m-1:abc", "command-rejected", None), ("m-1:abc", "command-rejected", ""), True),          # no id either way
    (("m-1:abc", "command-rejected", "x"), ("m-1:abc", "alert-rejected", "x"), False),          # another answer
    (("m-1:abc", "gave-up", "alert"), ("m-1:abd", "gave-up", "alert"), False),                  # other bytes
    # parts are kept apart: "a/b" + "c" is not "a" + "b/c"
    (("m-1", "x/y", "z"), ("m-1", "x", "y/z"), False),
])
def test_an_answers_id_is_the_messages_and_the_answers_own(one, other, same):
    first, second = message_outcome_id(*one), message_outcome_id(*other)
    assert (first == second) is same
    assert len(first) == 32 and int(first, 16) >= 0   # the shape of the uuid4 hex it stands in for


def _world() -> FastWorld:
    return FastWorld(seeded_copy("bad_revision", None), ANCHOR, operators=[OPERATOR])


# Bodies a person types by hand, each rejected before any command runs: the redelivery must repeat the
# answer, not add a second one a reader cannot tell from a new rejection.
BODIES = {
    "wrong type": (json.dumps({"command": "scale_connector", "command_id": "sc-1", "requested_by": OPERATOR,
                               "reason": "r", "target": "t", "params": {"max_instances": "6"}}).encode(), ["sc-1"]),
    "not JSON": (b"status, please", [None]),
    "no id": (json.dumps({"command": "pause", "requested_by": OPERATOR, "reason": "r"}).encode(), [None]),
    "two ids": (b'{"command":"pause","command_id":"p-a","requested_by":"a@b.c","reason":"r","command_id":"p-b"}',
                ["p-a", "p-b"]),
}


@pytest.mark.parametrize("topic", ["commands", "alerts"])
@pytest.mark.parametrize("body, ids", BODIES.values(), ids=BODIES.keys())
def test_a_rejection_whose_publish_lost_its_answer_is_published_again_under_the_same_outcome_id(body, ids, topic):
    """The first delivery's publish lands and its answer is lost (DEADLINE_EXCEEDED): it raises, so Pub/Sub
    delivers the message again, and that delivery answers it again. Each answer the message gets (one per id
    it gives) is published under the same outcome_id both times."""
    w = _world()
    handle = handle_command if topic == "commands" else handle_alert
    delivered = event(body, "m-lost")
    w.adapters.publisher.lose_next_answer(1)
    with pytest.raises(TransientError):
        handle(delivered, w.config, w.adapters)
    handle(delivered, w.config, w.adapters)
    handle(delivered, w.config, w.adapters)   # and once more after a 2xx: Pub/Sub delivers at least once

    rejected = [json.loads(data) for _, data, _ in w.publisher.messages]
    rejected = [o for o in rejected if o["status"] == "rejected"]
    by_id: dict[str | None, set[str]] = {}
    for outcome in rejected:
        by_id.setdefault(outcome["command_id"], set()).add(outcome["outcome_id"])
    assert sorted(by_id, key=str) == sorted(ids, key=str), rejected
    assert all(len(outcome_ids) == 1 for outcome_ids in by_id.values()), by_id
    assert len({next(iter(v)) for v in by_id.values()}) == len(ids)   # each id's answer is its own
    assert w.writes() == 0


def test_a_give_up_whose_publish_lost_its_answer_is_published_again_under_the_same_outcome_id():
    """The last delivery gives up (`failed`); its publish lands, its answer is lost, and the delivery after
    it gives up again: the same outcome_id."""
    from shared.alerts.delivery import DeliveryCounter
    from shared.commands import handle_command_delivery

    w = _world()
    body = json.dumps({"command": "status", "command_id": "st-9", "requested_by": OPERATOR}).encode()
    delivered, counter = event(body, "m-give-up"), DeliveryCounter()
    w.adapters.state.fail_next("claim", 100)
    w.adapters.publisher.lose_next_answer(1)
    for attempt in range(1, w.config.delivery.max_attempts + 2):
        try:
            handle_command_delivery(delivered, w.config, w.adapters, delivery_attempt=attempt, counter=counter)
        except TransientError:
            pass
    failed = [json.loads(data) for _, data, _ in w.publisher.messages]
    failed = [o for o in failed if o["status"] == "failed"]
    assert len(failed) == 2 and failed[0]["outcome_id"] == failed[1]["outcome_id"], failed


@pytest.mark.parametrize("topic", ["commands", "alerts"])
@pytest.mark.parametrize("body, ids", [
    (b'{"command":"pause","command_id":"p-a","requested_by":"a@b.c","reason":"r","command_id":"p-b"}', ["p-a", "p-b"]),
    (b'{"command_id":"rb-1","command":"rollback_traffic","command_id":"rb-2","command_id":"rb-3"}',
     ["rb-1", "rb-2", "rb-3"]),
    # an id no command may carry is answered under none: two answers, not three
    (b'{"command":"status","command_id":"st-a","command_id":"st b","command_id":"st-c"}', ["st-a", "st-c"]),
])
def test_an_answer_to_a_body_giving_several_ids_names_every_answer_it_published(body, ids, topic):
    """Either topic answers a command-shaped body once under each id it gives; on_alert returns one outcome:
    the first. The others were published and logged, but the caller saw only the first; now each answer
    names every other one published for the message (its command_id and outcome_id), so whichever is read
    (the CLI reads the one under its own id), none is missed."""
    w = _world()
    if topic == "alerts":
        returned = handle_alert(event(body, "m-ids"), w.config, w.adapters)
    else:
        returned = handle_command(event(body, "m-ids"), w.config, w.adapters)[0]
    published = [json.loads(data) for _, data, _ in w.publisher.messages]
    assert [o["command_id"] for o in published] == ids and returned.command_id == ids[0]
    assert returned.outcome_id == published[0]["outcome_id"]
    for outcome in published:
        others = [o for o in published if o is not outcome]
        for other in others:
            assert any(other["command_id"] in note and other["outcome_id"] in note for note in outcome["notes"]), \
                outcome["notes"]
    assert returned.notes == published[0]["notes"]
