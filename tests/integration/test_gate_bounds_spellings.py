"""The gate's bounds of one connector under its two names, on the Firestore emulator: a write by one spelling
inside the cooldown, or past the budget, of a write by the other is held (guardrails.bound_key: "{project} can be
project id or number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto), through the store's own
commit of creates (claim_all); and a cooldown stored under the exact name before still holds."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.emulators import FirestoreEmulator
from shared.clock import FixedClock
from shared.gcp.firestore import FirestoreStateStore
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import BUDGETS, CLAIMS, COOLDOWNS, WRITING, Gate, bound_key
from shared.remediation.records import claim_key
from tests.unit.test_connector_names import HOST, HOST_BY_NUMBER
from tests.unit.test_gate_bounds_spellings import NOW, OneConnector, _legacy, _scale
from tests.unit.test_guardrails import config


def _gate(cfg: Any, state: FirestoreStateStore, attempt: int) -> Gate:
    """A gate of its own per write, as two instances (or two messages) would be: the store recognises a create
    by the same owner at the same instant as its own retried commit, not as another's."""
    return Gate(cfg, state, FixedClock(NOW), owner=f"m-{attempt}:a")


@pytest.mark.emulator
@pytest.mark.parametrize("first,second", [(HOST, HOST_BY_NUMBER), (HOST_BY_NUMBER, HOST)])
def test_a_write_by_the_other_spelling_inside_the_cooldown_is_held(firestore: FirestoreEmulator, project_id: str,
                                                                    first: str, second: str) -> None:
    state, vpc = FirestoreStateStore(project_id), OneConnector()
    assert _scale(_gate(config(), state, 1), vpc, first, "c1").status is OutcomeStatus.APPLIED
    held = _scale(_gate(config(), state, 2), vpc, second, "c2")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("cooldown"), held.reason
    assert vpc.patches == [first]


@pytest.mark.emulator
def test_a_write_by_the_other_spelling_past_the_budget_is_held(firestore: FirestoreEmulator, project_id: str) -> None:
    state, vpc = FirestoreStateStore(project_id), OneConnector()
    cfg = config(guardrails__cooldown_seconds=0, guardrails__max_actions_per_target_per_hour=1)
    assert _scale(_gate(cfg, state, 1), vpc, HOST, "c1").status is OutcomeStatus.APPLIED
    held = _scale(_gate(cfg, state, 2), vpc, HOST_BY_NUMBER, "c2")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("budget"), held.reason
    assert vpc.patches == [HOST]


@pytest.mark.emulator
def test_a_cooldown_stored_under_the_exact_name_still_holds(firestore: FirestoreEmulator, project_id: str) -> None:
    state, vpc = FirestoreStateStore(project_id), OneConnector()
    _legacy(state, COOLDOWNS, HOST)
    held = _scale(_gate(config(), state, 1), vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("cooldown"), held.reason
    assert vpc.patches == []


@pytest.mark.emulator
@pytest.mark.parametrize("kind", [COOLDOWNS, WRITING])
def test_an_exact_name_lease_holds_the_write_with_no_read_of_its_own(firestore: FirestoreEmulator, project_id: str,
                                                                      kind: str) -> None:
    """The gate's one batched read before the claim reads the exact-name cooldown and write claim (`gate_reads`);
    the one-at-a-time path they send the write to judges them from it (guardrails.ExactNameLeases), where it
    read each again: one BatchGetDocuments more for the cooldown, two for a write claim (the cooldown's, then the
    write claim's after its bound key was taken, then given back)."""
    from sandbox.rpc_count import CountingStateStore, RpcCounter

    counter = RpcCounter()
    state, vpc = CountingStateStore(counter, project_id), OneConnector()
    _legacy(state, kind, HOST)
    counter.reset()
    held = _scale(_gate(config(), state, 1), vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and vpc.patches == [], held.reason
    # Counted on main before gatebatch: 3 and 5 (cooldown: {BatchGetDocuments 3, RunQuery 4, Commit 2}; write claim:
    # {BatchGetDocuments 5, RunQuery 3, Commit 12}); then one and two fewer. The write claim's 12 commits, before
    # the claim, the cooldown, a slot of each of the three budgets, the write claim's bound key taken and
    # given back (the exact-name lease judged only after it), then the claim, cooldown and slots given back one
    # commit each. Now 6: the exact-name lease judged from the batch before the bound key is taken (it holds the
    # write whatever that key holds: not taken), and the five given back in one commit (`release_all`). One
    # RunQuery more since: neither the holder's plan nor its record is found here (the lease stored alone), so the
    # answer names the holder from the claims its attempt took with the lease (Gate._taken_with, one equality query
    # of the claims by owner; only on a held write whose holder is found no other way).
    expected = {COOLDOWNS: {"BatchGetDocuments": 2, "RunQuery": 5, "Commit": 2},
                WRITING: {"BatchGetDocuments": 3, "RunQuery": 4, "Commit": 6}}[kind]
    assert counter.by_method() == expected, counter.by_method()
    assert [state.get(k, key) for k, key in ((CLAIMS, claim_key("command:c1", HOST, "scale_connector")),
                                              (COOLDOWNS, bound_key(HOST)), (WRITING, bound_key(HOST)))] == [None] * 3


@pytest.mark.emulator
def test_a_write_in_flight_holds_the_write_and_everything_taken_is_given_back_in_one_commit(
        firestore: FirestoreEmulator, project_id: str) -> None:
    """The target's write claim held by another write in flight (under its bound key): the gate's batch sees it,
    so the one-at-a-time path takes the claim, the cooldown and a slot of each budget, finds the write claim
    taken, and gives all five back. They went back in a commit each (11 commits in all: 5 of them the give-back);
    now in one (`Gate._give_back`, FirestoreStateStore.release_all): 7. Nothing of this attempt's is left."""
    from sandbox.rpc_count import CountingStateStore, RpcCounter

    counter = RpcCounter()
    state, vpc = CountingStateStore(counter, project_id), OneConnector()
    assert state.claim(WRITING, bound_key(HOST), "other-write", timedelta(minutes=5), NOW).acquired
    counter.reset()
    held = _scale(_gate(config(), state, 1), vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and "another write" in held.reason and vpc.patches == [], held.reason
    assert counter.by_method()["Commit"] == 7, counter.by_method()
    assert state.get(WRITING, bound_key(HOST)).owner == "other-write"
    assert state.get(CLAIMS, claim_key("command:c1", HOST, "scale_connector")) is None
    assert state.get(COOLDOWNS, bound_key(HOST)) is None
    slots = [k for _, k in Gate(config(), state, FixedClock(NOW), owner="x").gate_reads(HOST, NOW) if "#" in k]
    assert [s for s in slots if state.get(BUDGETS, s) is not None] == []
