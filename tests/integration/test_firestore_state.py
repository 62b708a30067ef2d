"""FirestoreStateStore against the real Firestore emulator."""
from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest

from sandbox.emulators import FirestoreEmulator
from shared.errors import TransientError
from shared.gcp.firestore import MAX_ID_BYTES, FirestoreStateStore, document_id
from shared.ports import ClaimStatus
from shared.remediation.records import ACTIONS
from tests.unit.test_memory_state_store import RecordStoreContract

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
TTL = timedelta(minutes=5)
KIND = "claims"
KEY = "incident/0.abc123/projects/p/locations/europe-west1/services/api/rollback"


@pytest.fixture
def store(firestore: FirestoreEmulator, project_id: str) -> FirestoreStateStore:
    return FirestoreStateStore(project_id)


# --------------------------------------------------------------------------- claim


@pytest.mark.emulator
def test_first_claim_is_acquired_and_stored(store: FirestoreStateStore) -> None:
    result = store.claim(KIND, KEY, "run-1", TTL, NOW)

    assert result.acquired and not result.took_over
    stored = store.get(KIND, KEY)
    assert stored is not None
    assert (stored.key, stored.owner, stored.status) == (KEY, "run-1", ClaimStatus.CLAIMED)
    assert (stored.claimed_at, stored.expires_at) == (NOW, NOW + TTL)
    assert stored.expires_at.tzinfo is not None


@pytest.mark.emulator
def test_second_claim_is_not_acquired_and_returns_the_holder(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "run-1", TTL, NOW)

    second = store.claim(KIND, KEY, "run-2", TTL, NOW + timedelta(seconds=30))

    assert not second.acquired
    assert second.record.owner == "run-1"
    assert second.record.expires_at == NOW + TTL
    assert store.get(KIND, KEY).owner == "run-1"


@pytest.mark.emulator
def test_redelivery_with_the_same_owner_is_not_acquired(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "event-42", TTL, NOW)

    again = store.claim(KIND, KEY, "event-42", TTL, NOW + timedelta(seconds=1))

    assert not again.acquired


@pytest.mark.emulator
def test_expired_claim_is_taken_over(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "crashed-run", TTL, NOW)
    later = NOW + TTL  # expires_at <= now counts as expired

    result = store.claim(KIND, KEY, "run-2", TTL, later)

    assert result.acquired and result.took_over
    assert result.record.owner == "run-2"
    stored = store.get(KIND, KEY)
    assert (stored.owner, stored.claimed_at, stored.expires_at) == ("run-2", later, later + TTL)


@pytest.mark.emulator
def test_racing_claims_on_one_key_acquire_exactly_once(firestore: FirestoreEmulator, project_id: str) -> None:
    owners = [f"instance-{i}" for i in range(8)]
    results: dict[str, bool] = {}
    start = threading.Barrier(len(owners))

    def claim(owner: str) -> None:
        store = FirestoreStateStore(project_id)  # one client per racer, like separate instances
        store.get(KIND, "warm-up")
        start.wait()
        results[owner] = store.claim(KIND, KEY, owner, TTL, NOW).acquired

    threads = [threading.Thread(target=claim, args=(owner,)) for owner in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [owner for owner, acquired in results.items() if acquired]
    assert len(results) == len(owners)
    assert len(winners) == 1
    assert FirestoreStateStore(project_id).get(KIND, KEY).owner == winners[0]


@pytest.mark.emulator
def test_racing_takeovers_of_an_expired_claim_acquire_exactly_once(store: FirestoreStateStore,
                                                                   project_id: str) -> None:
    store.claim(KIND, KEY, "crashed-run", TTL, NOW)
    later = NOW + 2 * TTL
    results: dict[str, bool] = {}
    start = threading.Barrier(8)

    def claim(owner: str) -> None:
        racer = FirestoreStateStore(project_id)
        racer.get(KIND, "warm-up")
        start.wait()
        results[owner] = racer.claim(KIND, KEY, owner, TTL, later).acquired

    threads = [threading.Thread(target=claim, args=(f"instance-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [owner for owner, acquired in results.items() if acquired]
    assert len(results) == 8 and len(winners) == 1
    assert store.get(KIND, KEY).owner == winners[0]


# --------------------------------------------------------------------------- complete / release


@pytest.mark.emulator
def test_completed_claim_blocks_new_claims_until_retention_ends(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "run-1", TTL, NOW)
    done_at = NOW + timedelta(minutes=1)
    store.complete(KIND, KEY, "run-1", timedelta(hours=24), done_at, {"action": "rollback", "revision": "api-7"})

    stored = store.get(KIND, KEY)
    assert stored.status == ClaimStatus.COMPLETED
    assert stored.result == {"action": "rollback", "revision": "api-7"}
    assert stored.expires_at == done_at + timedelta(hours=24)

    # Past the claim TTL, still within retention: a redelivery stays a no-op.
    again = store.claim(KIND, KEY, "run-2", TTL, NOW + 2 * TTL)
    assert not again.acquired
    assert again.record.status == ClaimStatus.COMPLETED

    after_retention = store.claim(KIND, KEY, "run-3", TTL, done_at + timedelta(hours=24))
    assert after_retention.acquired and after_retention.took_over
    assert store.get(KIND, KEY).result == {}


@pytest.mark.emulator
def test_complete_by_a_non_owner_changes_nothing(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "run-1", TTL, NOW)

    store.complete(KIND, KEY, "intruder", timedelta(hours=1), NOW, {"x": 1})

    stored = store.get(KIND, KEY)
    assert (stored.owner, stored.status, stored.result) == ("run-1", ClaimStatus.CLAIMED, {})


@pytest.mark.emulator
def test_release_lets_a_new_claim_succeed(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "run-1", TTL, NOW)

    store.release(KIND, KEY, "run-1")

    assert store.get(KIND, KEY) is None
    retry = store.claim(KIND, KEY, "run-2", TTL, NOW + timedelta(seconds=5))
    assert retry.acquired and not retry.took_over


@pytest.mark.emulator
def test_release_by_a_non_owner_does_nothing(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "run-1", TTL, NOW)

    store.release(KIND, KEY, "run-2")
    store.release(KIND, "never-claimed", "run-2")

    assert store.get(KIND, KEY).owner == "run-1"
    assert not store.claim(KIND, KEY, "run-2", TTL, NOW).acquired


# --------------------------------------------------------------------------- keys


@pytest.mark.emulator
@pytest.mark.parametrize("key", [
    "a/b/c",
    "/leading/and/trailing/",
    ".",
    "..",
    "__reserved__",
    "spaces and % and ~tilde and ünïcode",
    "x" * 3000,
])
def test_keys_round_trip(store: FirestoreStateStore, key: str) -> None:
    assert store.claim(KIND, key, "run-1", TTL, NOW).acquired

    stored = store.get(KIND, key)

    assert stored is not None and stored.key == key
    assert not store.claim(KIND, key, "run-2", TTL, NOW).acquired


def test_document_ids_are_valid_readable_and_distinct() -> None:
    keys = ["a/b", "a%2Fb", "a~b", ".", "%2E", "..", "__x__", "x" * 3000, "x" * 3000 + "y", "y" * 1500]
    ids = [document_id(key) for key in keys]

    assert len(set(ids)) == len(keys)
    assert all("/" not in i and len(i.encode()) <= MAX_ID_BYTES for i in ids)
    assert all(i not in (".", "..") and not (i.startswith("__") and i.endswith("__")) for i in ids)
    assert document_id("services/api") == "services%2Fapi"


@pytest.mark.emulator
def test_kinds_are_separate_collections(store: FirestoreStateStore) -> None:
    store.claim("claims", KEY, "run-1", TTL, NOW)

    assert store.claim("cooldowns", KEY, "run-2", TTL, NOW).acquired
    assert store.get("claims", KEY).owner == "run-1"


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        FirestoreStateStore("p").claim(KIND, KEY, "run-1", TTL, datetime(2026, 1, 1))


def test_module_import_does_not_load_the_client_library() -> None:
    code = "import sys, shared.gcp.firestore; sys.exit('google.cloud.firestore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_unreachable_firestore_is_transient(monkeypatch: pytest.MonkeyPatch, project_id: str) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{port}")

    with pytest.raises(TransientError):
        FirestoreStateStore(project_id, timeout=1).get(KIND, KEY)


# --------------------------------------------------------------------------- plain records


class TestFirestoreRecords(RecordStoreContract):
    """The contract MemoryStateStore also passes (tests/unit/test_memory_state_store.py)."""

    pytestmark = pytest.mark.emulator

    @pytest.fixture
    def store(self, firestore: FirestoreEmulator, project_id: str) -> FirestoreStateStore:
        return FirestoreStateStore(project_id)

    @pytest.fixture
    def racer(self, store: FirestoreStateStore, project_id: str) -> Callable[[], FirestoreStateStore]:
        def new_instance() -> FirestoreStateStore:
            racer = FirestoreStateStore(project_id)   # its own client, like a separate instance
            racer.get_record(ACTIONS, "warm-up")
            return racer

        return new_instance


@pytest.mark.emulator
def test_update_after_a_lost_response_reports_its_own_write(store: FirestoreStateStore,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The write commits, the response is lost, the client's retry fails the precondition: the
    re-read sees a record that no longer matches `expect`, but the change was ours."""
    store.put_record(ACTIONS, KEY, {"state": "pending"})
    write = store._update_if_unchanged

    def committed_but_reported_lost(ref, snapshot, fields):
        write(ref, snapshot, fields)
        return False

    monkeypatch.setattr(store, "_update_if_unchanged", committed_but_reported_lost)

    assert store.update_record(ACTIONS, KEY, {"state": "verified"}, expect={"state": "pending"})
    assert not store.update_record(ACTIONS, KEY, {"state": "undone"}, expect={"state": "pending"})
    assert store.get_record(ACTIONS, KEY) == {"state": "verified"}


@pytest.mark.emulator
def test_update_that_keeps_losing_races_is_transient(store: FirestoreStateStore,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_record(ACTIONS, KEY, {"state": "pending"})
    monkeypatch.setattr(store, "_update_if_unchanged", lambda ref, snapshot, fields: False)

    with pytest.raises(TransientError):
        store.update_record(ACTIONS, KEY, {"state": "verified"}, expect={"state": "pending"})


@pytest.mark.emulator
def test_records_keep_their_key_but_do_not_show_it(store: FirestoreStateStore, firestore: FirestoreEmulator,
                                                   project_id: str) -> None:
    from google.cloud import firestore as gcf

    long_key = "k/" * 1000   # hashed document id: only the stored field remembers the key
    store.put_record(ACTIONS, long_key, {"state": "pending"})

    raw = gcf.Client(project=project_id).collection(f"runwarden_{ACTIONS}").document(document_id(long_key)).get()
    assert raw.get("_key") == long_key
    assert store.get_record(ACTIONS, long_key) == {"state": "pending"}


@pytest.mark.emulator
def test_records_and_claims_of_different_kinds_do_not_collide(store: FirestoreStateStore) -> None:
    store.claim(KIND, KEY, "run-1", TTL, NOW)
    store.put_record(ACTIONS, KEY, {"state": "pending"})

    assert store.get(KIND, KEY).owner == "run-1"
    assert store.get_record(ACTIONS, KEY) == {"state": "pending"}
