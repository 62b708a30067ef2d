"""A Pub/Sub message with attributes and no data, pushed to on_alert and on_command through the real
functions-framework, under both readings of its push body (Pub/Sub's docs do not say whether an empty `data`
is written as `""` or left out; the emulator writes `""`): answered `rejected`, published on the outcomes topic
(from which a person is told), and acknowledged (2xx), never a 400 delivered again until dead-lettered."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.emulators import pull_messages
from tests.integration.test_cold_start import cold_world  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", ["on_alert", "on_command"])
@pytest.mark.parametrize("data", [{"data": ""}, {}], ids=["empty data", "no data key"])
def test_a_push_of_attributes_only_is_answered_rejected_and_acknowledged(cold_world, monkeypatch, target,  # noqa: F811
                                                                        data):
    import functions_framework

    pubsub = cold_world.pubsub
    outcomes = pubsub.topic("outcomes")
    seen = pubsub.pull_subscription(outcomes, "seen")
    monkeypatch.setenv("FUNCTION_TARGET", target)   # create_app sets it too; this restores it after
    app = functions_framework.create_app(target=target, source=str(ROOT / "main.py"), signature_type="cloudevent")
    push = {"subscription": "projects/p/subscriptions/s",
            "message": {"attributes": {"router": "sre"}, "messageId": "41", "publishTime": "2026-12-07T01:00:00Z",
                        **data}}
    answer = app.test_client().post("/projects/p/topics/alerts", json=push)
    assert 200 <= answer.status_code < 300, answer.get_data(as_text=True)[:300]
    [message] = pull_messages(seen, 10, 30, host=pubsub.host)
    outcome = json.loads(message.data)
    assert outcome["status"] == "rejected" and "message.data: is required" in outcome["reason"], outcome
