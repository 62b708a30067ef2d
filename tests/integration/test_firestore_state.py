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
from shared.remediation.records import ACTIONS
from tests.unit.test_memory_state_store import StateStoreContract

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
TTL = timedelta(minutes=5)
KIND = "claims"
KEY = "incident/0.abc123/projects/p/locations/europe-west1/services/api/rollback"


@pytest.fixture
def store(firestore: FirestoreEmulator, project_id: str) -> FirestoreStateStore:
    return FirestoreStateStore(project_id)


# --------------------------------------------------------------------------- claim
# The claim cases both stores must pass are in StateStoreContract (TestFirestoreStateStore below).


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
def test_a_release_by_the_store_that_created_the_claim_deletes_it_in_one_commit_and_no_read(
        firestore: FirestoreEmulator, project_id: str) -> None:
    """The write claim is given back after every write (Gate._end_writing): the store that created it
    deletes it guarded by the update time its create answered with, one Commit and no read first."""
    from sandbox.rpc_count import CountingStateStore, RpcCounter

    counter = RpcCounter()
    store = CountingStateStore(counter, project_id)
    assert store.claim_all([("writing", "svc", TTL)], "run-1", NOW) is not None
    counter.reset()
    store.release("writing", "svc", "run-1")
    assert counter.by_method() == {"Commit": 1}
    assert store.get("writing", "svc") is None


@pytest.mark.emulator
def test_a_release_of_a_claim_taken_over_since_leaves_the_new_holders(firestore: FirestoreEmulator,
                                                                     project_id: str) -> None:
    """The claim this store created lapsed and another instance took it over: the delete guarded by the
    create's update time fails, the claim is read, and, no longer this owner's, it is left as it is."""
    store, other = FirestoreStateStore(project_id), FirestoreStateStore(project_id)
    assert store.claim_all([("writing", "svc", TTL)], "run-1", NOW) is not None
    assert other.claim("writing", "svc", "run-2", TTL, NOW + TTL + timedelta(seconds=1)).took_over
    store.release("writing", "svc", "run-1")
    assert store.get("writing", "svc").owner == "run-2"


# --------------------------------------------------------------------------- keys


def test_document_ids_are_valid_readable_and_distinct() -> None:
    keys = ["a/b", "a%2Fb", "a~b", ".", "%2E", "..", "__x__", "x" * 3000, "x" * 3000 + "y", "y" * 1500]
    ids = [document_id(key) for key in keys]

    assert len(set(ids)) == len(keys)
    assert all("/" not in i and len(i.encode()) <= MAX_ID_BYTES for i in ids)
    assert all(i not in (".", "..") and not (i.startswith("__") and i.endswith("__")) for i in ids)
    assert document_id("services/api") == "services%2Fapi"


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


class TestFirestoreStateStore(StateStoreContract):
    """The contract MemoryStateStore also passes (tests/unit/test_memory_state_store.py): claims,
    cooldowns, budget slots, records, get_many."""

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
def test_a_claim_this_version_cannot_read_raises_damaged_record_naming_it(store: FirestoreStateStore) -> None:
    """A claim read (get, claim) whose document does not fit ClaimRecord raises DamagedRecord naming its collection
    and key, which the readers answer `escalated`. Before, naming it read the library snapshot's `reference`, which
    the wire's snapshot lacks: an AttributeError, answered `failed` after every retry, the record unnamed."""
    from shared.errors import DamagedRecord

    store.put_record(KIND, KEY, {"owner": 7})

    for read in (lambda: store.get(KIND, KEY), lambda: store.claim(KIND, KEY, "m-1:1", TTL, NOW)):
        with pytest.raises(DamagedRecord) as raised:
            read()
        assert raised.value.collection == f"runwarden_{KIND}" and raised.value.key == repr(KEY), raised.value
        assert "owner" in raised.value.why or "Field required" in raised.value.why, raised.value


@pytest.mark.emulator
@pytest.mark.parametrize("with_claim", [False, True])
def test_a_create_whose_commit_landed_with_its_answer_lost_is_recognised(store: FirestoreStateStore,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         with_claim: bool) -> None:
    """The commit lands, its answer is lost and the client's retry meets ALREADY_EXISTS: the document
    carries this call's write id, so the commit was this call's. Someone else's is not."""
    from shared.ports import Completion, RecordWrite

    completing = None
    if with_claim:
        taken = store.claim(KIND, KEY, "run-1", TTL, NOW).record
        completing = Completion(KIND, KEY, taken, TTL, NOW, {"status": "escalated"})
    commit = store._commit_checked

    def landed_then_retried(writes):
        commit(writes)
        return "exists"

    monkeypatch.setattr(store, "_commit_checked", landed_then_retried)
    assert store.record_all([RecordWrite(ACTIONS, "adopted", {"by": "me"}, create=True)], completing)
    monkeypatch.undo()
    assert store.get_record(ACTIONS, "adopted") == {"by": "me"}
    assert not store.record_all([RecordWrite(ACTIONS, "adopted", {"by": "other"}, create=True)])
    assert store.get_record(ACTIONS, "adopted") == {"by": "me"}


@pytest.mark.emulator
@pytest.mark.parametrize("with_claim", [False, True])
def test_a_guarded_commit_that_landed_with_its_answer_lost_is_recognised(store: FirestoreStateStore,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         with_claim: bool) -> None:
    """The commit with an `expect` write lands, its answer is lost and the client's retry fails the
    update-time precondition: re-read, the document no longer holds what was expected, but it
    carries this call's write id, so the commit was this call's (True, not a lost race)."""
    from shared.ports import Completion, RecordWrite

    completing = None
    if with_claim:
        taken = store.claim(KIND, KEY, "run-1", TTL, NOW).record
        completing = Completion(KIND, KEY, taken, TTL, NOW, {"status": "escalated"})
    store.put_record("intents", "i", {"state": "open", "owner": "a"})
    commit = store._commit_checked

    def landed_then_retried(writes):
        commit(writes)
        return "changed"

    monkeypatch.setattr(store, "_commit_checked", landed_then_retried)
    assert store.record_all([RecordWrite(ACTIONS, "adopted", {"by": "me"}, create=True),
                             RecordWrite("intents", "i", {"state": "recorded"}, merge=True,
                                         expect={"state": "open", "owner": "a"})], completing)
    monkeypatch.undo()
    assert store.get_record("intents", "i") == {"state": "recorded", "owner": "a"}
    assert store.get_record(ACTIONS, "adopted") == {"by": "me"}


@pytest.mark.emulator
def test_the_sweep_reads_past_stuck_actions_on_firestore(store: FirestoreStateStore) -> None:
    """The sweep's pages of actions by deadline (Sweep._actions, `find_before(..., since=...)`) on the
    emulator: 55 actions escalated as unreadable and kept `pending` have the oldest deadlines and fill
    the first page of 50; the 5 others behind them are read all the same, and judged before a few of
    the stuck ones."""
    from shared.clock import FixedClock
    from shared.config import parse_config
    from shared.remediation.records import ActionRecord
    from shared.remediation.verification import Sweep

    service = "projects/demo/locations/us-central1/services/backend"
    keys = []
    for i in range(60):
        record = ActionRecord(key=f"inc-{i}|{service}|rollback_traffic", incident_id=f"inc-{i}", target=service,
                              service=service, action="rollback_traffic", signature="bad_revision", reversible=True,
                              applied_at=NOW - timedelta(hours=2), settle_at=NOW - timedelta(hours=2),
                              deadline_at=NOW - timedelta(hours=1) + timedelta(seconds=i),
                              unread_escalated_at=NOW - timedelta(minutes=5) if i < 55 else None)
        store.put_record(ACTIONS, record.key, record.model_dump(mode="python"))
        keys.append(record.key)

    class Adapters:
        state, clock = store, FixedClock(NOW)

    config = parse_config({"project": "demo", "outcomes_topic": "projects/demo/topics/outcomes",
                           "services": [{"name": service}]})
    due, _ = Sweep(config, Adapters())._due()
    assert [r.key for r in due][:5] == keys[55:], "the others first, every one of them"
    from shared.remediation.verification import MAX_STUCK_PER_SWEEP
    assert [r.key for r in due][5:] == keys[:MAX_STUCK_PER_SWEEP], "then a few stuck ones, oldest first"
