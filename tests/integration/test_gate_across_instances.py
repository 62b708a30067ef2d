"""The gate read by another instance: Cloud Run runs Runwarden on as many instances as the deliveries need, each
with its own memory, and a notification or a command may reach an instance started after another one has acted.
Everything the gate decides on (the kill switch, a pause, the cooldown, the budgets, the claims) is read from
Firestore at the time of the write, never kept in an instance's memory: shown here with the second instance a
process of its own (tests/integration/another_instance.py), on the same stand-ins and emulators."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.outcomes import Outcome
from tests.integration.test_commands import NEW, OLD, command
from tests.integration.test_several_policies import FIVE_XX, LATENCY, LATENCY_ALERT, message
from tests.integration.world import SERVICE, World, event

pytestmark = pytest.mark.emulator

OPERATOR = "alice@example.com"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor) -> World:
    w = World(standin_env, pubsub, project_id, anchor, operators=[OPERATOR])
    w.seed("bad_revision")
    return w


def in_another_instance(world: World, *messages: tuple[str, dict[str, Any]]) -> list[Outcome]:
    """`messages` (each its kind, "alert" or "command", and its push data) handled in turn by a new instance in a
    process of its own, at the world's time: their answers."""
    config = {"project": world.config.project, "mode": "enforce", "outcomes_topic": world.outcomes_topic,
              "services": [{"name": SERVICE}], "operators": [OPERATOR]}
    asked = {"config": config, "now": world.clock.now().isoformat(),
             "messages": [{"kind": kind, "data": data} for kind, data in messages]}
    done = subprocess.run([sys.executable, "-m", "tests.integration.another_instance"], input=json.dumps(asked),
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return [Outcome.model_validate_json(line.removeprefix("ANSWER "))
            for line in done.stdout.splitlines() if line.startswith("ANSWER ")]


def operators_rollback(command_id: str, revision: str, **fields: Any) -> dict[str, Any]:
    body = {"command": "rollback_traffic", "command_id": command_id, "requested_by": OPERATOR, "target": SERVICE,
            "params": {"revision": revision}, "reason": "INC-7", **fields}
    return event(json.dumps(body).encode(), command_id)


# A process of Runwarden's own, started and importing its client libraries, per instance (the default 120 s is for
# one process's test).
@pytest.mark.timeout(300)
def test_an_instance_started_after_a_rollback_reads_it_and_names_the_write(world):
    world.at(2)
    first = world.handle(message(world, "bad_revision", "m-5xx", FIVE_XX))
    assert first.status.value == "applied", first.reason

    world.at(3)
    # A notification of another policy, then an operator's rollback back to the new revision.
    latency = message(world, "bad_revision", "m-p99", LATENCY, LATENCY_ALERT)
    held, by_hand = in_another_instance(world, ("alert", latency), ("command", operators_rollback("rb-0", NEW)))

    # Read from Firestore by the new instance: the rollback's record (its incident, its target) and its cooldown.
    assert held.status.value == "skipped", held.reason
    assert "rolled backend back itself" in held.reason and FIVE_XX in held.reason, held.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    # The cooldown the first instance took holds the operator's rollback, naming the write that took it.
    assert by_hand.status.value == "skipped" and "cooldown" in by_hand.reason, by_hand.reason
    assert "rollback_traffic" in by_hand.reason and FIVE_XX in by_hand.reason, by_hand.reason
    assert world.standins.run.count("UpdateService") == 1


@pytest.mark.timeout(300)
def test_an_instance_started_after_a_pause_reads_it_and_one_started_after_the_resume_reads_that(world):
    paused = command(world, "pause", command_id="pz-1", reason="stop it")
    assert paused.status.value == "applied", paused.reason

    alert, by_hand = in_another_instance(world, ("alert", message(world, "bad_revision", "m-5xx", FIVE_XX)),
                                         ("command", operators_rollback("rb-1", OLD, override_limits=True)))

    for held in (alert, by_hand):
        assert held.status.value == "skipped" and "kill switch engaged" in held.reason, held.reason
    assert world.writes() == 0

    resumed = command(world, "resume", command_id="rs-1", reason="go on")
    assert resumed.status.value == "applied", resumed.reason
    [acted] = in_another_instance(world, ("alert", message(world, "bad_revision", "m-5xx-2", "0.fivexxpolicy2")))
    assert acted.status.value == "applied", acted.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
