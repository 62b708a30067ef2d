"""Clock-skew drills: two Runwarden instances whose clocks disagree by up to ±2 minutes share one
Firestore, the stand-ins and Pub/Sub. Claims, cooldowns and budgets must hold in real time.

Each instance is in-process with its own `Clock` (the product's only time seam): a `SkewedClock`
reads a shared "real" timeline that the test moves, plus the instance's offset. The Firestore
emulator and the stand-ins are shared, as in production.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from shared.clock import CLOCK_SKEW_ALLOWANCE, FixedClock
from shared.config import parse_config
from shared.pipeline import handle_alert
from shared.remediation.guardrails import BUDGETS, Gate, _Held, budget_buckets, slot_keys
from shared.remediation.refusals import Held
from tests.integration.world import SERVICE, World

pytestmark = pytest.mark.emulator
SKEW = timedelta(minutes=2)


class SkewedClock:
    """An instance's clock: the shared real time plus a fixed offset."""

    def __init__(self, real: FixedClock, offset: timedelta) -> None:
        self.real = real
        self.offset = offset

    def now(self) -> datetime:
        return self.real.now() + self.offset


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    # A 5-minute cooldown (within the config's bounds) so that the claim, not the cooldown,
    # is what stands between a second delivery and a second write.
    return World(standin_env, pubsub, project_id, anchor, guardrails={"cooldown_seconds": 300})


def instance(world: World, real: FixedClock, offset: timedelta):
    """A second instance's handler: the same parts, its own clock."""
    adapters = replace(world.adapters, clock=SkewedClock(real, offset))
    return lambda message_id: handle_alert(world.alert(message_id=message_id), world.config, adapters)


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("first,second", [(-SKEW, +SKEW), (+SKEW, -SKEW)], ids=["slow-then-fast", "fast-then-slow"])
def test_a_live_claim_is_never_taken_over_by_an_instance_with_another_clock(world, first, second):
    """A holds the incident's claim and is still writing (a slow operation: 6.5 minutes of real
    time pass). B handles a re-notification of the same incident. Whatever the two clocks say,
    the claim is live in real time (TTL 10 minutes), so B is a duplicate: one write."""
    world.seed("bad_revision")
    real = FixedClock(world.anchor + timedelta(minutes=4))
    world.standins.run.faults.add_latency(1.5, method="UpdateService")   # A is inside its write
    handle_a, handle_b = instance(world, real, first), instance(world, real, second)
    outcome_a: list = []
    a = threading.Thread(target=lambda: outcome_a.append(handle_a("m-a")))
    a.start()
    wait_for(lambda: world.standins.run.count("UpdateService") == 1)
    real.advance(6.5 * 60)

    outcome_b = handle_b("m-b")
    a.join(timeout=30)

    assert outcome_a[0].status.value == "applied"
    assert outcome_b.status.value == "skipped" and outcome_b.reason.startswith("duplicate"), outcome_b.reason
    assert world.standins.run.count("UpdateService") == 1


def _gate(world: World, clock, owner: str) -> Gate:
    return Gate(world.config, world.state, clock, owner=owner)


@pytest.mark.parametrize("first,second", [(-SKEW, +SKEW), (+SKEW, -SKEW)], ids=["slow-then-fast", "fast-then-slow"])
def test_a_cooldown_holds_in_real_time_both_ways(world, first, second):
    """A takes the target's 5-minute cooldown; B, whose clock differs by 4 minutes, may act again
    only once 5 real minutes have passed, never earlier."""
    real = FixedClock(world.anchor)
    a, b = _gate(world, SkewedClock(real, first), "a"), _gate(world, SkewedClock(real, second), "b")
    assert a._cooldown(SERVICE, a.clock.now(), False, _Held()) is None

    for minutes in (1, 4, 4.9):
        real.set(world.anchor + timedelta(minutes=minutes))
        refused = b._cooldown(SERVICE, b.clock.now(), False, _Held())
        assert refused is not None and refused.held is Held.COOLDOWN and refused.startswith("cooldown"), minutes
    # Liveness: free again once the cooldown, both skews and the allowance have passed.
    real.set(world.anchor + timedelta(minutes=5) + 2 * SKEW + CLOCK_SKEW_ALLOWANCE)
    assert b._cooldown(SERVICE, b.clock.now(), False, _Held()) is None


def test_racing_instances_with_skewed_clocks_never_exceed_a_budget(world):
    """Eight instances, clocks from -2 to +2 minutes, mid-hour, race for a 3-slot hourly budget."""
    config = parse_config({**world.config.model_dump(mode="json"),
                           "guardrails": {"max_actions_per_target_per_hour": 3, "cooldown_seconds": 0}})
    real = FixedClock(world.anchor + timedelta(minutes=30))
    offsets = [timedelta(seconds=s) for s in (-120, -90, -45, -10, 10, 45, 90, 120)]
    gates = [Gate(config, world.state, SkewedClock(real, o), owner=f"i{n}") for n, o in enumerate(offsets)]
    barrier = threading.Barrier(len(gates))
    taken: list[str] = []

    def race(gate: Gate) -> None:
        held = _Held()
        barrier.wait()
        if gate._budgets(SERVICE, gate.clock.now(), False, held) is None:
            taken.extend(held.slots)

    threads = [threading.Thread(target=race, args=(g,)) for g in gates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    scope, bucket, capacity = budget_buckets(config, SERVICE, real.now())[0]
    hourly = [s for s in taken if s.startswith(f"{scope}|{bucket}")]
    assert len(hourly) == capacity == 3
    stored = world.state.get_many([(BUDGETS, k) for k in slot_keys(f"{scope}|{bucket}", capacity + 1)])
    assert sum(d is not None for d in stored) == 3
