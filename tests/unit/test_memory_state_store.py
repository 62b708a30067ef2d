"""The plain-records contract of `StateStore`, run here on MemoryStateStore (no I/O).

tests/integration/test_firestore_state.py runs the same cases on FirestoreStateStore against the
emulator, so the fake that unit tests rely on cannot drift from the real adapter.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.records import ACTIONS, ActionState
from tests.unit.fakes import MemoryStateStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
CET = timezone(timedelta(hours=1))
KEY = "incident/0.abc|projects/p/locations/europe-west1/services/api|rollback"


def action(**changes: Any) -> dict[str, Any]:
    """Shaped like ActionRecord.model_dump(), without depending on that model's exact fields."""
    return {"key": KEY, "incident_id": "0.abc", "action": "rollback", "reversible": True,
            "params": {"to": "api-7", "weights": [90, 10]},
            "before": {"traffic": [{"revision": "api-8", "percent": 100}]}, "after": {},
            "state": ActionState.PENDING, "applied_at": T0, "deadline_at": T0 + timedelta(minutes=15),
            "resolved_at": None} | changes


class RecordStoreContract:
    """Subclasses provide `store` and `racer` (a fresh handle on the same state, one per thread)."""

    # ------------------------------------------------------------------ put / get

    def test_put_get_round_trip(self, store: Any) -> None:
        data = action(note="ünïcode", ratio=0.25, raw=b"\x00\xff", nested={"a": {"b": [1, "two", None, {"c": True}]}})

        store.put_record(ACTIONS, KEY, data)

        got = store.get_record(ACTIONS, KEY)
        assert got == data | {"state": "pending"}   # the str-Enum is stored as its value
        assert type(got["state"]) is str

    def test_datetimes_come_back_aware_in_utc(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, {"at": T0.astimezone(CET), "deep": {"list": [T0]}})

        got = store.get_record(ACTIONS, KEY)

        assert got["at"] == T0 and got["at"].utcoffset() == timedelta(0)
        assert got["deep"]["list"][0] == T0 and got["deep"]["list"][0].tzinfo is not None

    def test_missing_record_is_none(self, store: Any) -> None:
        assert store.get_record(ACTIONS, "never-put") is None

    def test_put_replaces_the_whole_record(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, {"a": 1, "b": 2})
        store.put_record(ACTIONS, KEY, {"b": 3})

        assert store.get_record(ACTIONS, KEY) == {"b": 3}

    def test_callers_cannot_mutate_stored_state(self, store: Any) -> None:
        data = {"params": {"list": [1]}}
        store.put_record(ACTIONS, KEY, data)
        data["params"]["list"].append(2)
        store.get_record(ACTIONS, KEY)["params"]["list"].append(3)
        store.find_records(ACTIONS, "params", {"list": [1]})[0]["params"]["list"].append(4)

        assert store.get_record(ACTIONS, KEY) == {"params": {"list": [1]}}

    @pytest.mark.parametrize("key", ["a/b/c", "a|b|c", "/x|y/", "a%2Fb", ".", "__reserved__", "k" * 3000])
    def test_keys_with_slashes_and_pipes(self, store: Any, key: str) -> None:
        store.put_record(ACTIONS, key, {"key": key, "tag": "this"})
        store.put_record(ACTIONS, key + "/other", {"key": "other", "tag": "other"})

        assert store.get_record(ACTIONS, key) == {"key": key, "tag": "this"}
        assert store.update_record(ACTIONS, key, {"seen": True}, expect={"key": key})
        # Queried by a short field: Firestore cannot query values over 1500 bytes.
        assert store.find_records(ACTIONS, "tag", "this") == [{"key": key, "tag": "this", "seen": True}]

    def test_dotted_field_names_are_top_level_fields(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, {"a.b": 1, "a": {"b": 5}})

        assert store.update_record(ACTIONS, KEY, {"a.b": 2}, expect={"a.b": 1})

        assert store.get_record(ACTIONS, KEY) == {"a.b": 2, "a": {"b": 5}}
        assert store.find_records(ACTIONS, "a.b", 2) == [{"a.b": 2, "a": {"b": 5}}]

    @pytest.mark.parametrize("data, error", [
        ({"at": datetime(2026, 1, 1)}, ValueError),            # naive: which instant?
        ({"_key": "x"}, ValueError),                            # reserved
        ({"matrix": [[1, 2]]}, ValueError),                     # Firestore has no arrays in arrays
        ({"": 1}, ValueError),
        ({"when": T0.date()}, TypeError),
        ({"tags": {"a", "b"}}, TypeError),
    ])
    def test_unstorable_data_is_refused(self, store: Any, data: dict, error: type[Exception]) -> None:
        with pytest.raises(error):
            store.put_record(ACTIONS, KEY, data)
        with pytest.raises(error):
            store.update_record(ACTIONS, KEY, data)
        assert store.get_record(ACTIONS, KEY) is None

    # ------------------------------------------------------------------ update_record

    def test_update_applies_when_expect_matches(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, action())

        applied = store.update_record(ACTIONS, KEY, {"state": ActionState.VERIFIED, "resolved_at": T0,
                                                     "after": {"new": 1}},
                                      expect={"state": ActionState.PENDING, "resolved_at": None})

        assert applied
        got = store.get_record(ACTIONS, KEY)
        assert (got["state"], got["resolved_at"], got["after"]) == ("verified", T0, {"new": 1})
        assert got["params"] == action()["params"]   # untouched fields stay

    def test_update_without_expect_applies(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, {"state": "pending"})

        assert store.update_record(ACTIONS, KEY, {"note": "x"})

        assert store.get_record(ACTIONS, KEY) == {"state": "pending", "note": "x"}

    def test_update_refuses_when_expect_differs(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, {"state": "verified", "n": 1})

        assert not store.update_record(ACTIONS, KEY, {"state": "undone"}, expect={"state": "pending"})
        assert not store.update_record(ACTIONS, KEY, {"state": "undone"}, expect={"state": "verified", "n": 2})
        assert not store.update_record(ACTIONS, KEY, {"state": "undone"}, expect={"absent": "x"})

        assert store.get_record(ACTIONS, KEY) == {"state": "verified", "n": 1}

    def test_update_refuses_a_missing_record_and_does_not_create_it(self, store: Any) -> None:
        assert not store.update_record(ACTIONS, KEY, {"state": "verified"})
        assert not store.update_record(ACTIONS, KEY, {"state": "verified"}, expect={"state": None})

        assert store.get_record(ACTIONS, KEY) is None

    def test_update_with_no_changes_is_a_check(self, store: Any) -> None:
        store.put_record(ACTIONS, KEY, {"state": "pending"})

        assert store.update_record(ACTIONS, KEY, {}, expect={"state": "pending"})
        assert not store.update_record(ACTIONS, KEY, {}, expect={"state": "verified"})

    def test_racing_updates_apply_exactly_once(self, store: Any, racer: Callable[[], Any]) -> None:
        store.put_record(ACTIONS, KEY, {"state": "pending"})
        results: dict[int, bool] = {}
        start = threading.Barrier(8)

        def update(i: int) -> None:
            mine = racer()
            start.wait()
            results[i] = mine.update_record(ACTIONS, KEY, {"state": "verified", "by": i}, expect={"state": "pending"})

        threads = [threading.Thread(target=update, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        winners = [i for i, applied in results.items() if applied]
        assert len(results) == 8 and len(winners) == 1
        assert store.get_record(ACTIONS, KEY) == {"state": "verified", "by": winners[0]}

    # ------------------------------------------------------------------ find_records

    def test_find_returns_only_matching_records(self, store: Any) -> None:
        for i, state in enumerate(["pending", "verified", "pending", "undone"]):
            store.put_record(ACTIONS, f"k/{i}", {"i": i, "state": state})
        store.put_record("incidents", "k/9", {"i": 9, "state": "pending"})   # another kind

        found = store.find_records(ACTIONS, "state", ActionState.PENDING)

        assert sorted(record["i"] for record in found) == [0, 2]
        assert store.find_records(ACTIONS, "state", "escalated") == []
        assert store.find_records(ACTIONS, "no_such_field", "pending") == []
        assert store.find_records("flags", "state", "pending") == []

    def test_find_respects_the_limit(self, store: Any) -> None:
        for i in range(5):
            store.put_record(ACTIONS, f"k|{i}", {"i": i, "state": "pending"})

        assert len(store.find_records(ACTIONS, "state", "pending", limit=3)) == 3
        assert len(store.find_records(ACTIONS, "state", "pending", limit=1)) == 1
        assert len(store.find_records(ACTIONS, "state", "pending")) == 5
        with pytest.raises(ValueError):
            store.find_records(ACTIONS, "state", "pending", limit=0)

    def test_find_by_datetime_and_bool(self, store: Any) -> None:
        store.put_record(ACTIONS, "a", {"at": T0, "flag": True})
        store.put_record(ACTIONS, "b", {"at": T0 + timedelta(seconds=1), "flag": False})

        assert store.find_records(ACTIONS, "at", T0.astimezone(CET)) == [{"at": T0, "flag": True}]
        assert [r["at"] for r in store.find_records(ACTIONS, "flag", False)] == [T0 + timedelta(seconds=1)]


    # ------------------------------------------------------------------ get_many

    def test_get_many_answers_in_the_order_asked(self, store: Any) -> None:
        store.put_record(ACTIONS, "a", action(key="a"))
        store.put_record(ACTIONS, "c/with/slashes", action(key="c"))
        store.put_record("incidents", "a", {"incident_id": "a"})

        found = store.get_many([(ACTIONS, "c/with/slashes"), ("incidents", "a"), (ACTIONS, "missing"),
                                (ACTIONS, "a"), (ACTIONS, "c/with/slashes")])

        assert [f and (f.get("key") or f.get("incident_id")) for f in found] == ["c", "a", None, "a", "c"]
        assert store.get_many([]) == []

    def test_get_many_reads_claims_as_claim_records(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", timedelta(minutes=5), T0)

        [data, missing] = store.get_many([("claims", KEY), ("claims", KEY + "-other")])

        assert missing is None
        record = ClaimRecord.model_validate(data)
        assert (record.key, record.owner, record.status, record.expires_at) == (
            KEY, "run-1", ClaimStatus.CLAIMED, T0 + timedelta(minutes=5))

    def test_get_many_copies_out(self, store: Any) -> None:
        store.put_record(ACTIONS, "a", action(key="a"))
        [first] = store.get_many([(ACTIONS, "a")])
        first["params"]["to"] = "changed"
        assert store.get_many([(ACTIONS, "a")])[0]["params"]["to"] == "api-7"

    # ------------------------------------------------------------------ claims under concurrency

    def test_racing_claims_acquire_exactly_once(self, store: Any, racer: Callable[[], Any]) -> None:
        outcomes: list[bool] = []
        lock = threading.Lock()

        def claim(i: int) -> None:
            got = racer().claim("claims", KEY, f"run-{i}", timedelta(minutes=5), T0).acquired
            with lock:
                outcomes.append(got)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == [False] * 7 + [True]


    # ------------------------------------------------------------------ claim_all: all or none

    def test_claim_all_creates_every_record_in_one_go(self, store: Any) -> None:
        claims = [("claims", KEY, timedelta(minutes=5)), ("cooldowns", "svc", timedelta(minutes=30)),
                  ("budgets", "global|2026-11-26T12#0", timedelta(days=2))]

        records = store.claim_all(claims, "run-1", T0)

        assert [(r.key, r.owner, r.status, r.expires_at) for r in records] == [
            (key, "run-1", ClaimStatus.CLAIMED, T0 + ttl) for _, key, ttl in claims]
        found = store.get_many([(kind, key) for kind, key, _ in claims])
        assert [ClaimRecord.model_validate(f) for f in found] == records
        assert store.claim_all([], "run-1", T0) == []

    @pytest.mark.parametrize("expired", [False, True])
    def test_claim_all_writes_nothing_if_one_record_exists(self, store: Any, expired: bool) -> None:
        ttl = timedelta(seconds=1) if expired else timedelta(minutes=5)
        store.claim("cooldowns", "svc", "someone", ttl, T0 - timedelta(minutes=1))

        got = store.claim_all([("claims", KEY, timedelta(minutes=5)), ("cooldowns", "svc", timedelta(minutes=5)),
                               ("budgets", "b#0", timedelta(days=2))], "run-1", T0)

        assert got is None   # an expired record too: taking it over is claim()'s job
        assert store.get_many([("claims", KEY), ("budgets", "b#0")]) == [None, None]
        assert store.get("cooldowns", "svc").owner == "someone"

    def test_claim_all_repeated_by_the_same_call_finds_its_own_records(self, store: Any) -> None:
        claims = [("claims", KEY, timedelta(minutes=5)), ("budgets", "b#0", timedelta(days=2))]
        first = store.claim_all(claims, "run-1", T0)
        # A commit retried after its response was lost: same owner, same instant.
        assert store.claim_all(claims, "run-1", T0) == first
        assert store.claim_all(claims, "run-2", T0) is None
        assert store.claim_all(claims, "run-1", T0 + timedelta(seconds=1)) is None

    def test_claim_all_refuses_the_same_record_twice(self, store: Any) -> None:
        with pytest.raises(ValueError, match="twice"):
            store.claim_all([("claims", KEY, timedelta(minutes=5))] * 2, "run-1", T0)

    def test_racing_claim_alls_sharing_a_record_leave_exactly_one_winner(self, store: Any,
                                                                         racer: Callable[[], Any]) -> None:
        outcomes: dict[int, Any] = {}
        barrier = threading.Barrier(6)

        def take(i: int) -> None:
            handle = racer()
            barrier.wait()
            # Each wants the shared record and one of its own.
            outcomes[i] = handle.claim_all([("budgets", "shared#0", timedelta(days=2)),
                                            ("budgets", f"own#{i}", timedelta(days=2))], f"run-{i}", T0)

        threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [i for i, got in outcomes.items() if got is not None]
        assert len(winners) == 1, outcomes
        own = store.get_many([("budgets", f"own#{i}") for i in range(6)])
        assert [i for i, data in enumerate(own) if data is not None] == winners   # losers wrote nothing
        assert ClaimRecord.model_validate(store.get_many([("budgets", "shared#0")])[0]).owner == f"run-{winners[0]}"


class TestMemoryStateStoreRecords(RecordStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStateStore:
        return MemoryStateStore()

    @pytest.fixture
    def racer(self, store: MemoryStateStore) -> Callable[[], MemoryStateStore]:
        return lambda: store   # threads of one process share one store
