"""A pause names the rollbacks asked for and not serving among the pins held, however many were released.

A release sets a pin's `pinned` false and leaves its `state`, so released `asked` pins accumulate (pins keep no
TTL); reading them by `state` with a page of _LISTED + 1 let them push a live one off the page, and the pause said
nothing of it. Pure: the in-memory state store, no I/O.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.commands import pause
from shared.remediation.records import PINS
from tests.unit.fakes import MemoryStateStore

PROJECT = "projects/demo-project/locations/us-central1/services/"


def _pin(store: MemoryStateStore, name: str, *, pinned: bool, state: str) -> None:
    store.put_record(PINS, f"pin-{name}", {"service": PROJECT + name, "revision": f"{name}-00001-abc",
                                           "action_id": f"act-{name}", "pinned": pinned, "state": state})


def _run(store: MemoryStateStore) -> SimpleNamespace:
    return SimpleNamespace(adapters=SimpleNamespace(state=store))


@pytest.mark.parametrize("released", [0, pause._LISTED + 1, 3 * pause._LISTED])
@pytest.mark.parametrize("target", [None, PROJECT + "zeta"])
def test_a_live_asked_pin_is_named_however_many_released_ones_exist(released, target):
    store = MemoryStateStore()
    for n in range(released):
        _pin(store, f"old{n:03d}", pinned=False, state="asked")
    _pin(store, "zeta", pinned=True, state="asked")

    said = pause._asked_not_serving(_run(store), target)

    assert "zeta asks for zeta-00001-abc at 100%, not serving (rollback act-zeta)" in said, said


def test_a_pin_serving_or_out_of_scope_is_not_named():
    store = MemoryStateStore()
    _pin(store, "alpha", pinned=True, state="serving")
    _pin(store, "beta", pinned=True, state="asked")

    assert pause._asked_not_serving(_run(store), PROJECT + "alpha") == ""
    assert "beta asks for" in pause._asked_not_serving(_run(store), None)


def test_more_pins_held_than_read_is_said_not_taken_for_none():
    store = MemoryStateStore()
    for n in range(pause._LISTED + 1):
        _pin(store, f"held{n:03d}", pinned=True, state="serving")

    said = pause._asked_not_serving(_run(store), None)

    assert f"more than {pause._LISTED} pins are held" in said, said
