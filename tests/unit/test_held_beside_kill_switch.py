"""A write held back by the kill switch and by pauses beside it names every brake, each with how it is lifted. The
kill switch was named alone: the operator released it, sent the write again, and was held by a pause no answer had
named (a resume without a target lifts no pause: docs/commands.md)."""
from __future__ import annotations

import pytest

from shared.clock import FixedClock
from shared.remediation.guardrails import HOLDS_NAMED, Gate
from shared.remediation.refusals import BRAKE, Held, braked, held_of_words

from tests.unit.builders import CONNECTOR, PROJECT, SERVICE, T0
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_brake_named import KILL, engage
from tests.unit.test_guardrails import config

BY_NUMBER = CONNECTOR.replace(f"projects/{PROJECT}/", "projects/123456789012/")
OTHERS = [SERVICE.replace("/backend", f"/svc-{n}") for n in range(HOLDS_NAMED + 1)]

# (pauses engaged beside the kill switch, the write's target, made for, the pauses named with their resume)
ROWS = {
    "the service's own pause": ([SERVICE], SERVICE, [SERVICE], [SERVICE]),
    "the connector's own pause": ([CONNECTOR], CONNECTOR, [], [CONNECTOR]),
    "the pause of the service a scale is made for": ([SERVICE], CONNECTOR, [SERVICE], [SERVICE]),
    "the connector paused by its project's number": ([BY_NUMBER], CONNECTOR, [], [BY_NUMBER]),
    "the connector and the service": ([CONNECTOR, SERVICE], CONNECTOR, [SERVICE], [CONNECTOR, SERVICE]),
    "more pauses than are named": (OTHERS, CONNECTOR, OTHERS, OTHERS[:HOLDS_NAMED]),
}


def _refusal(engaged: list[str], target: str, made_for: list[str]):
    state = MemoryStateStore()
    for name in [KILL, *engaged]:
        engage(state, name)
    switch = Gate(config(), state, FixedClock(T0), owner="attempt-1").kill_switch(target, on_behalf=made_for)
    return switch, braked(switch, Held.PAUSED)


@pytest.mark.parametrize("engaged, target, made_for, named", ROWS.values(), ids=ROWS.keys())
def test_every_pause_beside_the_kill_switch_is_named_with_its_resume(engaged, target, made_for, named):
    switch, refusal = _refusal(engaged, target, made_for)

    assert refusal.startswith(f"{BRAKE}: no writes (set by alice@example.com at "), refusal
    assert "releasing the kill switch alone leaves it held" in refusal, refusal
    assert [name for name in named if f"runwarden resume --target {name} --reason" not in refusal] == [], refusal
    assert "the kill switch is not engaged" not in refusal, refusal
    assert switch.paused == "" and set(named) <= set(switch.pauses)
    assert held_of_words(refusal) is Held.PAUSED


def test_past_the_pauses_named_their_count_is_said():
    _, refusal = _refusal(OTHERS, CONNECTOR, OTHERS)
    assert f"{len(OTHERS)} pauses hold this write too" in refusal and "and 1 more (runwarden status lists them)" in \
        refusal, refusal


def test_the_kill_switch_alone_names_no_pause():
    switch, refusal = _refusal([], SERVICE, [SERVICE])
    assert "pause" not in refusal and switch.pauses == (), refusal


def test_a_pause_of_a_service_the_write_is_not_made_for_is_not_named():
    other = SERVICE.replace("/backend", "/billing")
    _, refusal = _refusal([other], SERVICE, [SERVICE])
    assert other not in refusal, refusal


@pytest.mark.parametrize("engaged, target, made_for, named", ROWS.values(), ids=ROWS.keys())
def test_every_pause_beside_the_configs_kill_switch_is_named_with_its_resume(engaged, target, made_for, named):
    """The config's guardrails.kill_switch: named alone, the config was changed and the write stayed held."""
    state = MemoryStateStore()
    for name in engaged:
        engage(state, name)
    gate = Gate(config(guardrails__kill_switch=True), state, FixedClock(T0), owner="attempt-1")
    refusal = braked(gate.kill_switch(target, on_behalf=made_for), Held.KILL_SWITCH)

    assert refusal.startswith(f"{BRAKE}: no writes (set in config; and beside the kill switch, "), refusal
    assert [name for name in named if f"runwarden resume --target {name} --reason" not in refusal] == [], refusal
    assert held_of_words(refusal) is Held.KILL_SWITCH


def test_the_kill_switch_by_command_beside_the_configs_is_named_with_its_resume():
    state = MemoryStateStore()
    engage(state, KILL)
    gate = Gate(config(guardrails__kill_switch=True), state, FixedClock(T0), owner="attempt-1")
    refusal = braked(gate.kill_switch(SERVICE, on_behalf=[SERVICE]), Held.KILL_SWITCH)
    assert "the kill switch engaged by command too (set by alice@example.com at " in refusal, refusal
    assert "runwarden resume without a target releases it" in refusal, refusal


def test_the_configs_kill_switch_alone_keeps_its_words():
    gate = Gate(config(guardrails__kill_switch=True), MemoryStateStore(), FixedClock(T0), owner="attempt-1")
    assert braked(gate.kill_switch(SERVICE, on_behalf=[SERVICE]), Held.KILL_SWITCH) == \
        f"{BRAKE}: no writes (set in config)"
