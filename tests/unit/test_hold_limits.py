"""A cooldown or a spent budget that holds a write back is kept in data beside the gate's words (refusals.Limit,
GateResult.limit): the cooldown lease's expires_at, the spent bucket and its capacity, set where the gate decides
(Gate._cooldown, Gate._budgets). The sweep's escalation of an undo so held back tells a person when it passes from
that data (undo_by_hand), never from the words, which may be reworded; a result with no such data (kept before the
gate kept it) is still told by the words. Pure: the gate on the in-memory state store, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.remediation import guardrails
from shared.remediation.guardrails import COOLDOWNS, bound_key
from shared.remediation.refusals import Held, Limit
from shared.remediation.undo_by_hand import by_hand
from tests.unit.builders import SERVICE, T0
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_guardrails import config, run_gate

NOW = T0 + timedelta(minutes=2)
KEY = f"cr:incident-1|{SERVICE}|rollback_traffic"
BEFORE = (TrafficTarget(type=TrafficType.REVISION, revision="backend-00002-xyz", percent=100),)
UNTIL = datetime(2026, 12, 3, 10, 7, tzinfo=timezone.utc)


def _said(refusal: str, held: Held, limit: Limit | None) -> str:
    return by_hand(refusal, held, service=SERVICE, action_id=KEY, action="rollback_traffic", traffic_before=BEFORE,
                   limit=limit)


def test_a_cooldown_hold_carries_its_leases_start_and_end():
    state = MemoryStateStore()
    assert run_gate(config(), state=state, incident="inc-1")[0].status.value == "applied"
    held, _, run = run_gate(config(), state=state, incident="inc-2", owner="attempt-2")
    lease = state.get(COOLDOWNS, bound_key(SERVICE))
    assert held.held is Held.COOLDOWN and run.writes == [], held.reason
    assert held.limit == Limit(until=lease.expires_at, since=lease.claimed_at) and held.limit.until > NOW, held.limit


def test_a_budget_hold_carries_its_bucket_and_capacity():
    state = MemoryStateStore()
    cfg = config(guardrails__cooldown_seconds=0, guardrails__max_actions_per_target_per_hour=1)
    assert run_gate(cfg, state=state, incident="inc-1")[0].status.value == "applied"
    held, _, run = run_gate(cfg, state=state, incident="inc-2", owner="attempt-2")
    assert held.held is Held.BUDGET and run.writes == [], held.reason
    assert held.limit == Limit(scope=f"target|{bound_key(SERVICE)}", bucket=f"{NOW:%Y-%m-%dT%H}", capacity=1), \
        held.limit


def test_the_gates_limit_holds_under_reworded_words(monkeypatch):
    monkeypatch.setattr(guardrails, "COOLDOWN", "cooling down,")
    state = MemoryStateStore()
    run_gate(config(), state=state, incident="inc-1")
    held, _, _ = run_gate(config(), state=state, incident="inc-2", owner="attempt-2")
    assert held.reason.startswith("cooling down,") and held.limit.until is not None, held
    said = _said(held.reason, held.held, held.limit)
    assert f"after {held.limit.until.isoformat()}" in said, said


# (refusal's words, its hold, the data kept, words the answer must hold, words it must not)
TOLD = {
    "a cooldown reworded: its end from the lease": (
        f"{SERVICE} is cooling down for a while", Held.COOLDOWN, Limit(until=UNTIL),
        ["the cooldown passes by itself: after 2026-12-03T10:07:00+00:00"], []),
    "a cooldown: the lease, not words that say another time": (
        f"cooldown: {SERVICE} was acted on at 2026-12-03T09:00:00+00:00; next action after 2026-12-03T09:05:00+00:00",
        Held.COOLDOWN, Limit(until=UNTIL), ["after 2026-12-03T10:07:00+00:00"], ["09:05"]),
    "a budget reworded: its bucket and capacity from the data": (
        "no budget left for this hour", Held.BUDGET,
        Limit(scope=f"target|{SERVICE}", bucket="2026-12-03T10", capacity=3),
        ["once its bucket 2026-12-03T10 (UTC), its 3 actions spent, is over"], []),
    "a budget: the data, not words naming another bucket": (
        "budget exhausted: 20 actions for global in 2026-12-02", Held.BUDGET,
        Limit(scope="global", bucket="2026-12-03", capacity=20), ["2026-12-03 (UTC), its 20 actions spent"],
        ["2026-12-02"]),
    # A result kept before the gate kept the data: the words, as the gate said them then.
    "a cooldown with words alone": (
        f"cooldown: {SERVICE} was acted on at 2026-12-03T10:02:00+00:00; next action after 2026-12-03T10:07:00+00:00",
        Held.COOLDOWN, None, ["the cooldown passes by itself: after 2026-12-03T10:07:00+00:00"], []),
    "a budget with words alone": (
        f"budget exhausted: 3 actions for target|{SERVICE} in 2026-12-03T10", Held.BUDGET, None,
        ["once its bucket 2026-12-03T10 (UTC), its 3 actions spent, is over"], []),
    "a cooldown with words alone, reworded: no time, the command still": (
        f"{SERVICE} is cooling down", Held.COOLDOWN, None, ["the cooldown passes by itself, undo it by hand"],
        [": after"]),
}


@pytest.mark.parametrize("refusal, held, limit, words, absent", TOLD.values(), ids=TOLD.keys())
def test_when_a_held_undo_can_be_done_by_hand_is_told_from_the_gates_data_else_its_words(refusal, held, limit, words,
                                                                                        absent):
    said = _said(refusal, held, limit)
    assert "Runwarden will not retry this undo" in said and "runwarden command restore_traffic" in said, said
    for word in words:
        assert word in said, (word, said)
    for word in absent:
        assert word not in said, (word, said)
