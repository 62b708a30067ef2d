"""functions/push_body.with_empty_data: which push bodies get an empty `data` before functions-framework reads them."""
from __future__ import annotations

import json

import pytest

from functions.push_body import MOST_READ, with_empty_data

MESSAGE = {"attributes": {"router": "sre"}, "messageId": "41", "publishTime": "2026-12-07T01:00:00Z"}


def push(message: dict, **more) -> bytes:
    return json.dumps({"subscription": "projects/p/subscriptions/s", "message": message, **more}).encode()


def test_a_push_of_attributes_only_gets_empty_data_and_keeps_everything_else() -> None:
    completed = json.loads(with_empty_data(push(MESSAGE, deliveryAttempt=3)))
    assert completed == {"subscription": "projects/p/subscriptions/s", "deliveryAttempt": 3,
                         "message": {**MESSAGE, "data": ""}}


@pytest.mark.parametrize("body", [
    push({**MESSAGE, "data": ""}),                         # already readable (the emulator's form)
    push({**MESSAGE, "data": "e30="}),                     # a message with data
    push({"attributes": {"router": "sre"}}),               # no message id: not a push the framework converts
    json.dumps({"message": MESSAGE}).encode(),             # no subscription: not a push body
    json.dumps({"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished"}).encode(),
    b"[1, 2]", b"not json", b"\xff\xfe",
    push({**MESSAGE, "attributes": {"k": "v" * MOST_READ}}),   # larger than any attributes-only message
], ids=["empty data", "data", "no message id", "no subscription", "a CloudEvent", "a list", "not json", "not utf-8",
        "too large"])
def test_any_other_body_is_left_as_it_came(body: bytes) -> None:
    assert with_empty_data(body) is None
