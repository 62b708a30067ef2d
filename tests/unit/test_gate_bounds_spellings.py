"""The gate's bounds of one connector reached under its two names ("{project} can be project id or number",
VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto): its cooldown, its budgets and its write claim are
one whichever spelling a write names (guardrails.bound_key), so an operator's scale_connector command (or an approve
of a proposal made under the number form, under the default policy) by one spelling inside the cooldown or past the
budget of a write by the other is held, as a second write by the same spelling is. Records written before under the
exact name (a cooldown, a write claim, budget slots) still hold. The gate on the in-memory store; the Firestore
emulator's run is tests/integration/test_gate_bounds_spellings.py."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock
from shared.diagnosis.evidence import Connector
from shared.outcomes import OutcomeStatus
from shared.remediation.actions import get_action
from shared.remediation.actions.scale_connector import ScaleConnectorParams, connector_state
from shared.remediation import guardrails
from shared.remediation.guardrails import BUDGETS, COOLDOWNS, WRITING, Gate, Manual, slot_keys
from tests.unit.builders import T0
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_connector_names import HOST, HOST_BY_NUMBER
from tests.unit.test_guardrails import config

ACTION = get_action("scale_connector")
NOW = T0 + timedelta(minutes=2)
OTHER_REGION = "projects/123456789/locations/europe-west1/connectors/shared-conn"


class OneConnector:
    """The VPC Access port for one connector answering to either name (as a Shared VPC host's connector may): a
    read shows it as last updated, an update changes it."""

    def __init__(self) -> None:
        self.max_instances = 3
        self.patches: list[str] = []

    def get_connector(self, name: str) -> Connector:
        return Connector(name=name, state="READY", min_instances=2, max_instances=self.max_instances)

    def update_connector(self, name: str, *, min_instances: int, max_instances: int,
                         machine_type: str | None = None) -> Connector:
        self.patches.append(name)
        self.max_instances = max_instances
        return self.get_connector(name)


class OneAtATime(MemoryStateStore):
    """A store whose `claim_all` answers as if a record to take existed (a racer's, given back before the
    one-at-a-time claims: `claim_all`'s None): the gate takes the claim, cooldown and slots one at a
    time."""

    def claim_all(self, claims: Any, owner: str, now: Any) -> None:
        return None


STORES = [MemoryStateStore, OneAtATime]


class Adapters:
    def __init__(self, vpcaccess: OneConnector) -> None:
        self.vpcaccess = vpcaccess


def _scale(gate: Gate, vpc: OneConnector, target: str, command: str, **manual: Any) -> Any:
    """An operator's scale_connector command on `target`, planned on the connector as read now: max + 1; by a
    gate of its own (its owner the command's), as another instance would be."""
    gate = Gate(gate.config, gate.state, gate.clock, owner=f"{command}:a")
    live = vpc.get_connector(target)
    params = ScaleConnectorParams(target=target, from_min_instances=2, from_max_instances=live.max_instances,
                                  from_machine_type="e2-micro", min_instances=2, max_instances=live.max_instances + 1,
                                  machine_type="e2-micro", reason="operator")
    return gate.execute(ACTION, params, connector_state(live), f"command:{command}", Adapters(vpc),
                        manual=Manual(command, "alice@example.com", **manual))


@pytest.mark.parametrize("first,second", [(HOST, HOST_BY_NUMBER), (HOST_BY_NUMBER, HOST)])
@pytest.mark.parametrize("store", STORES)
def test_a_write_by_the_other_spelling_inside_the_cooldown_is_held(first, second, store):
    state, vpc = store(), OneConnector()
    gate = Gate(config(), state, FixedClock(NOW), owner="attempt-1")
    assert _scale(gate, vpc, first, "c1").status is OutcomeStatus.APPLIED
    held = _scale(gate, vpc, second, "c2")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("cooldown"), held.reason
    assert vpc.patches == [first]


@pytest.mark.parametrize("first,second", [(HOST, HOST_BY_NUMBER), (HOST_BY_NUMBER, HOST)])
@pytest.mark.parametrize("store", STORES)
def test_a_write_by_the_other_spelling_past_the_targets_budget_is_held(first, second, store):
    state, vpc = store(), OneConnector()
    cfg = config(guardrails__cooldown_seconds=0, guardrails__max_actions_per_target_per_hour=1)
    gate = Gate(cfg, state, FixedClock(NOW), owner="attempt-1")
    assert _scale(gate, vpc, first, "c1").status is OutcomeStatus.APPLIED
    held = _scale(gate, vpc, second, "c2")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("budget"), held.reason
    assert vpc.patches == [first]


def test_an_approve_of_a_proposal_by_number_is_held_by_the_cooldown_of_a_write_by_id():
    """Without a policy for the connector (the default one: not allow_one_way) an alert on a revision naming it by
    number proposes; its approve is a write by number, the operator's earlier command one by id."""
    state, vpc = MemoryStateStore(), OneConnector()
    gate = Gate(config(), state, FixedClock(NOW), owner="attempt-1")
    live = vpc.get_connector(HOST_BY_NUMBER)
    params = ScaleConnectorParams(target=HOST_BY_NUMBER, from_min_instances=2, from_max_instances=3,
                                  from_machine_type="e2-micro", min_instances=2, max_instances=4,
                                  machine_type="e2-micro", reason="at max instances (3)")
    proposed = gate.execute(ACTION, params, connector_state(live), "inc-1", Adapters(vpc))
    assert proposed.status is OutcomeStatus.PROPOSED
    assert _scale(gate, vpc, HOST, "c1").status is OutcomeStatus.APPLIED
    params = params.model_copy(update={"from_max_instances": 4, "max_instances": 5})
    approved = gate.execute(ACTION, params, connector_state(vpc.get_connector(HOST_BY_NUMBER)), "inc-1",
                            Adapters(vpc), manual=Manual("c2", "bob@example.com",
                                                         approved=proposed.proposal.proposal_id))
    assert approved.status is OutcomeStatus.SKIPPED and approved.reason.startswith("cooldown"), approved.reason
    assert vpc.patches == [HOST]


def test_another_region_or_connector_keeps_bounds_of_its_own():
    state, vpc = MemoryStateStore(), OneConnector()
    gate = Gate(config(), state, FixedClock(NOW), owner="attempt-1")
    assert _scale(gate, vpc, HOST, "c1").status is OutcomeStatus.APPLIED
    assert _scale(gate, vpc, OTHER_REGION, "c2").status is OutcomeStatus.APPLIED


def _legacy(state: Any, kind: str, key: str, owner: str = "0.1-instance") -> None:
    """A claim stored before bounds were keyed by bound_key: under the connector's exact name."""
    assert state.claim(kind, key, owner, timedelta(hours=1), T0).acquired


@pytest.mark.parametrize("kind", [COOLDOWNS, WRITING])
@pytest.mark.parametrize("store", STORES)
def test_a_cooldown_or_write_claim_stored_under_the_exact_name_still_holds(kind, store):
    state, vpc = store(), OneConnector()
    _legacy(state, kind, HOST)
    gate = Gate(config(), state, FixedClock(NOW), owner="attempt-1")
    held = _scale(gate, vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and vpc.patches == [], held.reason


@pytest.mark.parametrize("store", STORES)
def test_budget_slots_stored_under_the_exact_name_still_count(store):
    state, vpc = store(), OneConnector()
    cfg = config(guardrails__cooldown_seconds=0, guardrails__max_actions_per_target_per_hour=2)
    for key in slot_keys(f"target|{HOST}|{NOW:%Y-%m-%dT%H}", 2):
        _legacy(state, BUDGETS, key)
    gate = Gate(cfg, state, FixedClock(NOW), owner="attempt-1")
    held = _scale(gate, vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("budget"), held.reason
    assert vpc.patches == []


@pytest.mark.parametrize("store", STORES)
def test_one_legacy_slot_leaves_one_of_two(store):
    """Slot i is taken when its exact-name twin is (guardrails.legacy_slot): one write before, one after."""
    state, vpc = store(), OneConnector()
    cfg = config(guardrails__cooldown_seconds=0, guardrails__max_actions_per_target_per_hour=2)
    _legacy(state, BUDGETS, slot_keys(f"target|{HOST}|{NOW:%Y-%m-%dT%H}", 2)[0])
    gate = Gate(cfg, state, FixedClock(NOW), owner="attempt-1")
    assert _scale(gate, vpc, HOST, "c1").status is OutcomeStatus.APPLIED
    held = _scale(gate, vpc, HOST, "c2")
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("budget"), held.reason
    assert vpc.patches == [HOST]


BOUND_KEYS = [
    # the target, its bound key
    (HOST, "locations/us-central1/connectors/shared-conn"),
    (HOST_BY_NUMBER, "locations/us-central1/connectors/shared-conn"),
    (OTHER_REGION, "locations/europe-west1/connectors/shared-conn"),
    ("projects/p/locations/us-central1/services/api", "projects/p/locations/us-central1/services/api"),
    ("not a name", "not a name"),
]


@pytest.mark.parametrize("target,key", BOUND_KEYS)
def test_the_bound_key_is_the_location_and_connector_id_both_spellings_share(target, key):
    assert guardrails.bound_key(target) == key


class Unchanging(OneConnector):
    """Reads as planned on whatever was written (so no racer is stale): every write is counted, none refused."""

    def update_connector(self, name: str, *, min_instances: int, max_instances: int,
                         machine_type: str | None = None) -> Connector:
        self.patches.append(name)
        return Connector(name=name, state="READY", min_instances=min_instances, max_instances=max_instances)


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("racers", [4, 8])
def test_racing_writes_by_both_spellings_never_pass_the_targets_budget(store, racers):
    """Gates racing on threads (as instances would), half naming the connector by id, half by number, cooldown
    off so that the budget (2 an hour for the target) is what limits: never a third write."""
    import threading

    state, vpc = store(), Unchanging()
    cfg = config(guardrails__cooldown_seconds=0, guardrails__max_actions_per_target_per_hour=2)
    results: list[Any] = []
    start = threading.Barrier(racers)

    def race(i: int) -> None:
        gate = Gate(cfg, state, FixedClock(NOW), owner=f"racer-{i}")
        start.wait()
        try:
            results.append(_scale(gate, vpc, (HOST, HOST_BY_NUMBER)[i % 2], f"c{i}"))
        except Exception as exc:   # noqa: BLE001 - a racer meeting a write in flight: nothing written
            results.append(exc)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    applied = [r for r in results if getattr(r, "status", None) is OutcomeStatus.APPLIED]
    assert len(vpc.patches) == len(applied) <= 2, (vpc.patches, [getattr(r, "reason", r) for r in results])


class Reads(MemoryStateStore):
    """The in-memory store (claim_all included: the gate reads its keys in one batch first), counting the single
    reads (`get`) the gate makes of each key: the one-at-a-time path after the batch must make none of a key the
    batch already read (guardrails.ExactNameLeases)."""

    def __init__(self) -> None:
        super().__init__()
        self.single: list[tuple[str, str]] = []

    def get(self, kind, key):
        self.single.append((kind, key))
        return super().get(kind, key)


def _lapsed(state: Any, kind: str, key: str) -> None:
    """A claim taken long enough ago to have lapsed by NOW (a minute's lease at T0 - 1h)."""
    assert state.claim(kind, key, "0.1-instance", timedelta(minutes=1), T0 - timedelta(hours=1)).acquired


@pytest.mark.parametrize("kind", [COOLDOWNS, WRITING])
def test_an_exact_name_lease_is_judged_from_the_gates_batched_read(kind):
    """A live exact-name cooldown (or write claim) sends the write to the one-at-a-time path, which held it back
    by a read of its own of the key the batch had just read (`_legacy_held`): one more round trip per key."""
    state, vpc = Reads(), OneConnector()
    _legacy(state, kind, HOST)
    held = _scale(Gate(config(), state, FixedClock(NOW), owner="attempt-1"), vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and vpc.patches == [], held.reason
    assert [read for read in state.single if read[1] == HOST] == [], state.single


def test_lapsed_exact_name_leases_hold_nothing_and_cost_no_read():
    """Lapsed exact-name leases, and a lapsed cooldown under the bound key (which sends the write one at a time):
    written, and judged lapsed from the batched read, with no read of the exact names."""
    state, vpc = Reads(), OneConnector()
    for kind in (COOLDOWNS, WRITING):
        _lapsed(state, kind, HOST)
    _lapsed(state, COOLDOWNS, guardrails.bound_key(HOST))
    written = _scale(Gate(config(), state, FixedClock(NOW), owner="attempt-1"), vpc, HOST, "c1")
    assert written.status is OutcomeStatus.APPLIED and vpc.patches == [HOST], written.reason
    assert [read for read in state.single if read[1] == HOST] == [], state.single


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("kind", [COOLDOWNS, WRITING])
def test_a_lapsed_exact_name_lease_beside_a_live_one_of_the_other_kind_still_holds(kind, store):
    """The meaning kept on both paths: one live exact-name lease holds, whatever the other one is."""
    state, vpc = store(), OneConnector()
    _legacy(state, kind, HOST)
    _lapsed(state, WRITING if kind == COOLDOWNS else COOLDOWNS, HOST)
    held = _scale(Gate(config(), state, FixedClock(NOW), owner="attempt-1"), vpc, HOST, "c1")
    assert held.status is OutcomeStatus.SKIPPED and vpc.patches == [], held.reason


def _lease(until: Any) -> dict[str, Any]:
    return {"key": HOST, "owner": "o", "status": "claimed", "claimed_at": T0, "expires_at": until}


EXACT_NAME_LEASES = [
    # what the batch read under the exact name, the kind asked, whether it holds at NOW
    ({COOLDOWNS: None}, COOLDOWNS, False),
    ({COOLDOWNS: _lease(NOW + timedelta(seconds=1))}, COOLDOWNS, True),
    ({COOLDOWNS: _lease(NOW)}, COOLDOWNS, False),                    # lapsed at its expiry (ClaimRecord.expired)
    ({WRITING: _lease(NOW + timedelta(hours=1)), COOLDOWNS: None}, WRITING, True),
]


@pytest.mark.parametrize("read,kind,holds", EXACT_NAME_LEASES)
def test_exact_name_leases_as_read(read, kind, holds):
    leases = guardrails.ExactNameLeases(HOST, read)
    assert leases.answers(kind, HOST) and not leases.answers(kind, HOST_BY_NUMBER)
    assert (leases.held(kind, NOW) is not None) is holds


def test_exact_name_leases_answer_only_what_the_batch_read():
    found = {(COOLDOWNS, HOST): None}
    leases = guardrails.ExactNameLeases.of(HOST, found)
    assert leases.answers(COOLDOWNS, HOST) and not leases.answers(WRITING, HOST)
    assert guardrails.ExactNameLeases.of(HOST, None) is None
    assert guardrails.ExactNameLeases.of("projects/p/locations/l/services/s", found) is None


def test_a_damaged_exact_name_lease_is_named_not_passed():
    from shared.errors import DamagedRecord

    with pytest.raises(DamagedRecord, match="shared-conn"):
        guardrails.ExactNameLeases(HOST, {COOLDOWNS: {"owner": 3}}).held(COOLDOWNS, NOW)
