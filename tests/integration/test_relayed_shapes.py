"""Notifications in the shapes relays in the field may republish them (tests/unit/test_relayed_shapes.py: Eventarc's
CloudEvents republished whole, 1st and 2nd gen Cloud Functions forwarding their trigger, base64 or JSON strings encoded
again, and the relays' own formats: Alertmanager, PagerDuty and Opsgenie webhooks bridged to Pub/Sub), pushed end to
end through the alert pipeline on the stand-ins and the emulators, on a service whose new revision fails now
(`bad_revision`). UNCONFIRMED forms all: no relay is documented.

Each ends as an SRE expects: a notification read through its wrapping is acted on once, a second channel's copy of
the same incident not again; a relay's own format is rejected, kept whole on the outcome and told to a person, with
nothing written; none raises, so none is delivered again forever."""
from __future__ import annotations

import base64
import json

import pytest

from sandbox.scenarios import resolve_scenario
from shared.alerts.relayed import MAX_WRAPPINGS
from tests.integration.test_unseen_notifications import _world
from tests.integration.world import event
from tests.unit.test_relayed_shapes import READ, REFUSED, nested


def _notification(world) -> bytes:
    return json.dumps(resolve_scenario("bad_revision").notification(world.anchor)).encode()


@pytest.mark.parametrize("case", READ)
def test_a_relayed_shape_is_acted_on_once_and_shows_its_path(standin_env, firestore, pubsub, project_id, anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)
    wrap, path = READ[case]

    outcome = world.handle(event(wrap(_notification(world))))
    direct = world.handle(event(_notification(world), "2"))   # Monitoring's own channel, the same incident

    assert outcome.status.value == "applied", outcome.reason
    assert direct.status.value != "applied", direct.reason
    assert world.writes() == 1
    by_message = {published["message_id"]: published for published in world.published(2)}
    assert [wrapping["form"] for wrapping in by_message["1"]["relayed"]] == path, by_message["1"]["relayed"]


@pytest.mark.parametrize("case", REFUSED)
def test_a_relays_own_format_is_rejected_kept_and_told(standin_env, firestore, pubsub, project_id, anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)
    data = REFUSED[case](_notification(world))

    outcome = world.handle(event(data))

    assert outcome.status.value == "rejected", outcome.reason
    assert world.writes() == 0
    published = world.published()[0]
    assert json.loads(published["received"]["data"]) == json.loads(data)


def test_a_notification_wrapped_past_the_depth_read_is_rejected_saying_so(standin_env, firestore, pubsub,
                                                                          project_id, anchor):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = world.handle(event(nested(MAX_WRAPPINGS + 1, _notification(world))))

    assert outcome.status.value == "rejected" and f"wrapped more than {MAX_WRAPPINGS} times" in outcome.reason
    assert world.writes() == 0
    published = world.published()[0]
    assert [wrapping["form"] for wrapping in published["relayed"]] == ["message"] * MAX_WRAPPINGS
    assert published["received"]["data"]


def test_a_huge_relayed_body_is_rejected_in_bounded_words_and_kept(standin_env, firestore, pubsub, project_id,
                                                                   anchor):
    """A relay that copied megabytes of attributes into its wrapping: past the 4.6 MiB a relay's wrappings may take
    (relayed.MAX_WRAPPED_TEXT_BYTES), rejected naming its incident through the wrapping (read from the whole message,
    the outcome holding it cut), the outcome far under Pub/Sub's 10 MB and the cut said. (300 KB of attributes, as
    this drill sent before, is now read through: the notification inside is within its own 256 KiB.)"""
    world = _world(standin_env, pubsub, project_id, anchor)
    body = json.dumps({"message": {"data": base64.b64encode(_notification(world)).decode(),
                                   "attributes": {f"a{i}": "v" * 1_000 for i in range(5_000)}},
                       "subscription": "projects/relay/subscriptions/forward"}).encode()

    outcome = world.handle(event(body))

    assert outcome.status.value == "rejected" and outcome.incident_id, outcome.reason
    assert "over the 4853622-byte limit of a relay's wrappings" in outcome.reason, outcome.reason
    assert len(outcome.reason) < 1_000 and world.writes() == 0
    published = world.published()[0]
    assert body.decode().startswith(published["received"]["data"].split("... [cut: ")[0])
    assert published["received"]["data_cut_bytes"] > 4_000_000
    assert f"the last {published['received']['data_cut_bytes']} are cut" in outcome.reason
    # Past the bound, the message is searched for its incident, not parsed (shared/alerts/received.py `_scanned`): the
    # wrapping's path is not read; the message kept in `received` shows it.
    assert published["relayed"] == []
