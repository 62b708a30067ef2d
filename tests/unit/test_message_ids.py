"""A Pub/Sub message's id as Runwarden writes it (shared/alerts/relayed.py `message_id_written`): Pub/Sub's own id as it
came; whatever else a forged push body or a relay's envelope put under `messageId` (a credential, a sentence, megabytes)
never on an outcome or a timeline line, written as a digest of itself that names the message on every delivery. The
in-process world (tests/property/fast.py) through the real entry points."""
from __future__ import annotations

import base64
import contextlib
import io
import json

import pytest

from shared.alerts.delivery import message_key
from shared.alerts.incidents import decode_message_published
from shared.alerts.relayed import MESSAGE_ID_MAX, message_id_written
from shared.commands import handle_command
from shared.pipeline import handle_alert, message_id_of
from shared.remediation.records import FLAGS, KILL_SWITCH
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

# What a forged body may carry as its messageId, none of it ever written.
FORGED = {
    "a GitHub token": "ghp_" + "Ab1" * 12,
    "an API key": "AIzaSyD-0123456789abcdefghijklmnopqrstu",
    "an access token": "ya29.a0AfB_byC3xq-9Zt0Lk",
    "a JWT": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2hlcmU",
    "a password field": "password=Hunter2xyz",
    "a sentence and a newline": "ignore the alert\nseverity: CRITICAL",
    "a megabyte": "m" * 1_000_000,
}
# Pub/Sub's ids, and the ids of a token's characters the stand-ins and relays write: kept as they came.
KEPT = ["2070443601311540", "17", "m-1", "relayed-1", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "a" * MESSAGE_ID_MAX]


def _event(message_id, data: bytes = b"not a notification") -> dict:
    return {"message": {"data": base64.b64encode(data).decode(), "messageId": message_id,
                        "publishTime": "2026-11-26T12:02:00Z"},
            "subscription": "projects/demo-project/subscriptions/alerts"}


@pytest.mark.parametrize("message_id", KEPT)
def test_pubsubs_own_id_is_written_as_it_came(message_id):
    assert message_id_written(message_id) == message_id == message_id_of(_event(message_id))
    assert decode_message_published(_event(message_id)).message_id == message_id


@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_forged_id_is_written_as_a_digest_the_same_on_every_delivery(forged):
    written = message_id_of(_event(forged))
    assert written is not None and written.startswith("unreadable-") and len(written) <= MESSAGE_ID_MAX
    assert written == message_id_of(_event(forged)) == decode_message_published(_event(forged)).message_id
    assert written != message_id_of(_event(forged + "x"))   # another message is another id


def _written(run) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run()
    return out.getvalue()


@pytest.mark.parametrize("topic", ["alerts", "commands"])
@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_forged_id_reaches_no_outcome_and_no_timeline_line(forged, topic):
    """A body Runwarden rejects, under a forged messageId: its outcome's `message_id` and every line is the digest.
    Before, the outcome's `message_id` and the timeline's held the id as it came, a credential or a megabyte."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    handle = handle_alert if topic == "alerts" else handle_command
    lines = _written(lambda: handle(_event(forged), world.config, world.adapters))
    outcomes = [data.decode() if isinstance(data, bytes) else str(data) for _, data, _ in world.publisher.messages]
    assert outcomes and all(json.loads(o)["message_id"] == message_id_of(_event(forged)) for o in outcomes)
    for text in [lines, *outcomes]:
        assert forged not in text and forged[:40] not in text.replace("\\n", "\n")


@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_the_message_key_holds_the_id_as_written(forged):
    """`message_key` names the held-message record and every outcome id derived from it: its id is the one written,
    the same on every delivery; a real id keys as it always did (redeliveries still found)."""
    key = message_key(_event(forged))
    assert forged[:40] not in key and key.startswith(message_id_of(_event(forged)) + ":")
    assert key == message_key(_event(forged)) != message_key(_event(forged + "x"))


@pytest.mark.parametrize("message_id", KEPT)
def test_a_real_ids_message_key_is_the_id_and_the_digest(message_id):
    assert message_key(_event(message_id)).split(":")[0] == message_id


def test_a_held_alert_under_a_forged_id_is_stored_under_its_digest():
    """An alert held by the kill switch under a forged messageId: the held-message record's id and `key` hold the
    digest, never the token."""
    forged = FORGED["a GitHub token"]
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    world.state.put_record(FLAGS, KILL_SWITCH, {"engaged": True, "by": "bob", "reason": "freeze"})
    notification = json.dumps(scenario_model("bad_revision").notification(ANCHOR)).encode()
    lines = _written(lambda: handle_alert(_event(forged, notification), world.config, world.adapters))
    assert world.published()[-1]["status"] == "skipped"
    assert forged not in lines and forged not in json.dumps(world.published())
    assert forged not in repr(world.state.__dict__)
