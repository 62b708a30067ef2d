"""Redelivery drills on the real parts: a message delivered again while (or after) its own first
attempt held the incident's claim.

Pub/Sub delivers a message again when its push was not acknowledged: the handler crashed, timed
out, raised, or ran past the ack deadline. Whether the first attempt is still running or died
after claiming, the redelivery must never act a second time; and it must not be acknowledged as
a mere duplicate while nothing has finished, or a crashed attempt's incident is lost.
"""
from __future__ import annotations

import socket

import pytest

from sandbox.scenarios import resolve_scenario, seed
from shared.clock import CLOCK_SKEW_ALLOWANCE, skew_safe_lease
from shared.errors import TransientError
from shared.gcp.pubsub import PubSubPublisher
from shared.remediation.guardrails import CLAIMS, claim_key
from tests.integration.world import SERVICE, World
from tests.property.harness import sustained

pytestmark = pytest.mark.emulator


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    # The shortest claim TTL the config allows (the function's timeout), with the incident going on
    # past its lease, so that the redelivery after it expires still finds live data.
    world = World(standin_env, pubsub, project_id, anchor, guardrails={"claim_ttl_seconds": 570})
    seed(world.standins, sustained("bad_revision", 30), world.anchor)
    return world


def _crashed_attempt(world: World, message_id: str) -> None:
    """What an attempt at `message_id` leaves when it dies after claiming and before finishing."""
    incident = resolve_scenario("bad_revision").notification(world.anchor)["incident"]["incident_id"]
    key = claim_key(incident, SERVICE, "rollback_traffic")
    ttl = skew_safe_lease(world.config.guardrails.claim_ttl_seconds)
    assert world.state.claim(CLAIMS, key, f"{message_id}:crashed00000", ttl, world.clock.now()).acquired


def test_the_redelivery_of_a_crashed_attempt_is_retried_not_dropped_as_a_duplicate(world):
    _crashed_attempt(world, "1")

    with pytest.raises(TransientError, match="in progress"):
        world.handle(world.alert(message_id="1"))   # Pub/Sub's redelivery of the crashed attempt's message

    assert world.writes() == 0
    assert world.pubsub.pull(world.subscription, 1, timeout=1) == []   # no outcome: it will come again
    # Once the dead attempt's claim has expired, the next redelivery takes it over and acts, once.
    world.at(2 + (world.config.guardrails.claim_ttl_seconds + CLOCK_SKEW_ALLOWANCE.total_seconds()) / 60)
    outcome = world.handle(world.alert(message_id="1"))
    assert outcome.status.value == "applied" and world.writes() == 1


def test_another_message_for_the_same_incident_is_a_duplicate_meanwhile(world):
    """A re-notification (another message) is answered `skipped`: the claim holder's own message
    is the one Pub/Sub keeps redelivering, so acknowledging this one loses nothing."""
    _crashed_attempt(world, "1")

    outcome = world.handle(world.alert(message_id="2"))

    assert outcome.status.value == "skipped" and outcome.reason.startswith("duplicate")
    assert world.writes() == 0


def test_an_applied_outcome_whose_publish_failed_is_reported_by_the_redelivery(world):
    """The write is done and the claim completed, then publishing the outcome fails (Pub/Sub is
    down): the handler raises and the message comes again. The redelivery does not write again;
    its outcome says that this incident's rollback was applied, and what it changed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    live = world.adapters.publisher
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUBSUB_EMULATOR_HOST", dead)
        world.adapters.publisher = PubSubPublisher(timeout=2.0)
        with pytest.raises(TransientError):
            world.handle(world.alert(message_id="1"))
    assert world.writes() == 1

    world.adapters.publisher = live
    again = world.handle(world.alert(message_id="1"))

    assert world.writes() == 1
    assert again.status.value == "skipped" and again.reason.startswith("duplicate")
    assert "applied" in again.reason, again.reason
    assert again.action.after["traffic"][0]["revision"] == "backend-00001-abc"
    [published] = world.published(1)
    assert published["status"] == "skipped" and published["action"]["name"] == "rollback_traffic"
