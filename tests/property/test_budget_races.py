"""Budgets under concurrency: racing gates never take N + 1 slots of a budget of N.

Each example races several attempts (each its own incident and owner, as separate instances
would be) through `Gate.execute` on one target, with the claim, the cooldown (off here, so that
the budgets are what limits) and a slot of each of the three budgets taken in one all-or-none
commit, some racers on a store whose `claim_all` finds something taken (taking them one at a time), over budgets
partly taken already, live or expired. Whatever the interleaving:
- no budget admits more actions than its free slots;
- every slot document is held by one owner, and a racer's slots are held only if it acted (what
  a refused racer took is given back);
- one write per applied action;
- never two writes to the target at once (its write claim, guardrails.WRITING: the cooldown is off,
  so nothing else keeps them apart); a racer that meets a write in flight raises WriteInFlight (its
  alert is delivered again) having taken nothing.

The fast tier runs on the in-memory store; the emulator tier on Firestore, with fewer examples.
"""
from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.clock import FixedClock
from shared.errors import WriteInFlight
from shared.gcp.firestore import FirestoreStateStore
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord
from shared.remediation.actions import get_action
from shared.remediation.guardrails import BUDGETS, WRITING, Gate, budget_buckets, slot_keys
from tests.unit.builders import SERVICE, T0
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import bad_revision_plan, config

CI = os.environ.get("CI", "").strip().lower() == "true"
NOW = T0 + timedelta(minutes=2)
ACTION = get_action("rollback_traffic")


class OneAtATime:
    """A store whose `claim_all` answers as if a record to take existed (a racer's, given back before the
    one-at-a-time claims: `claim_all`'s None): the gate takes one claim at a time."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def claim_all(self, claims: Any, owner: str, now: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@st.composite
def races(draw) -> dict[str, Any]:
    per_target_hour = draw(st.integers(1, 4))
    # A day's budget is at least an hour's (the config refuses less); the day's bucket still binds
    # when its own slots are taken.
    caps = {"max_actions_per_target_per_hour": per_target_hour,
            "max_actions_per_target_per_day": draw(st.integers(per_target_hour, 5)),
            "max_actions_per_hour": draw(st.integers(1, 4))}
    # Slots already taken in each bucket, in order: "live", "expired" (free to take over) or "free".
    taken = {name: draw(st.lists(st.sampled_from(["live", "expired", "free"]), max_size=cap))
             for name, cap in caps.items()}
    racers = draw(st.lists(st.booleans(), min_size=2, max_size=6))   # True: the store has claim_all
    return {"caps": caps, "taken": taken, "racers": racers}


def _config(caps: dict[str, int]):
    return config(guardrails__cooldown_seconds=0, **{f"guardrails__{k}": v for k, v in caps.items()})


def _prepare(store: Any, race: dict[str, Any]) -> dict[str, int]:
    """Takes the earlier slots; returns each bucket's free capacity (slots not live)."""
    cfg = _config(race["caps"])
    free = {}
    buckets = budget_buckets(cfg, SERVICE, NOW)
    for (scope, bucket, capacity), name in zip(buckets, ("max_actions_per_target_per_hour",
                                                         "max_actions_per_target_per_day", "max_actions_per_hour")):
        states = race["taken"][name]
        for key, state in zip(slot_keys(f"{scope}|{bucket}", capacity), states):
            if state == "live":
                store.claim(BUDGETS, key, "earlier", timedelta(days=2), NOW - timedelta(minutes=5))
            elif state == "expired":
                store.claim(BUDGETS, key, "long-ago", timedelta(seconds=1), NOW - timedelta(days=3))
        free[f"{scope}|{bucket}"] = capacity - states.count("live")
    return free


class OverlapRun(RecordingRun):
    """RecordingRun that counts the writes in flight at once; each write takes a moment, as Cloud Run's
    operation does, so that a second write let through while the first is sent is seen."""

    def __init__(self, service: Any) -> None:
        super().__init__(service)
        self._lock, self._now, self.most = threading.Lock(), 0, 0

    def set_traffic(self, service_name: str, traffic: Any, etag: str) -> Any:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        try:
            time.sleep(0.002)
            return super().set_traffic(service_name, traffic, etag)
        finally:
            with self._lock:
                self._now -= 1


def _race(stores: list[Any], race: dict[str, Any]) -> list[tuple[str, Any]]:
    cfg = _config(race["caps"])
    proposal, bundle = bad_revision_plan()
    run = OverlapRun(bundle.service)
    barrier = threading.Barrier(len(stores))
    results: list[tuple[str, Any] | None] = [None] * len(stores)

    def attempt(i: int) -> None:
        owner = f"racer-{i}"
        gate = Gate(cfg, stores[i], FixedClock(NOW), owner=owner)
        barrier.wait()
        try:
            results[i] = (owner, gate.execute(ACTION, proposal.params, proposal.before, f"0.race{i}", Adapters(run)))
        except WriteInFlight as exc:   # another racer's write in flight: delivered again, nothing taken
            results[i] = (owner, exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in results), "a racer raised"
    assert len(run.writes) == sum(1 for _, r in results if _applied(r))
    assert run.most <= 1, f"{run.most} writes to the target at once"
    return results


def _applied(result: Any) -> bool:
    return not isinstance(result, WriteInFlight) and result.status is OutcomeStatus.APPLIED


def _check(store: Any, race: dict[str, Any], free: dict[str, int], results: list[tuple[str, Any]]) -> None:
    cfg = _config(race["caps"])
    applied = {owner for owner, r in results if _applied(r)}
    refused = [r.reason for _, r in results if not _applied(r) and not isinstance(r, WriteInFlight)]
    assert all(reason.startswith("budget exhausted") for reason in refused), refused
    for scope, bucket, capacity in budget_buckets(cfg, SERVICE, NOW):
        name = f"{scope}|{bucket}"
        assert len(applied) <= free[name], (name, applied, free)
        keys = slot_keys(name, capacity)
        holders = [ClaimRecord.model_validate(d).owner for d in store.get_many([(BUDGETS, k) for k in keys]) if d]
        racers = [h for h in holders if h.startswith("racer-")]
        # A racer holds a slot of every budget if it acted, and none if it was refused.
        assert sorted(racers) == sorted(applied), (name, holders, applied)
        assert len(holders) <= capacity
    assert store.get(WRITING, SERVICE) is None   # every write ended: its write claim given back


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=CI, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_settings(int(os.environ.get("RUNWARDEN_BUDGET_RACES", "150")))
@given(race=races())
def test_racing_gates_never_overspend_a_budget_in_memory(race):
    store = MemoryStateStore()
    free = _prepare(store, race)
    stores = [store if fast else OneAtATime(store) for fast in race["racers"]]
    _check(store, race, free, _race(stores, race))


@pytest.mark.emulator
@pytest.mark.timeout(600)
@_settings(int(os.environ.get("RUNWARDEN_BUDGET_RACES_EMULATOR", "12")))
@given(race=races())
def test_racing_instances_never_overspend_a_budget_on_firestore(firestore, project_id, race):
    firestore.reset(project_id)
    store = FirestoreStateStore(project_id)
    free = _prepare(store, race)
    stores = []
    for fast in race["racers"]:
        own = FirestoreStateStore(project_id)   # its own client, as a separate instance
        stores.append(own if fast else OneAtATime(own))
    _check(store, race, free, _race(stores, race))
