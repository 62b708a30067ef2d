"""The contract of `StateStore` (claims and plain records), run here on MemoryStateStore (no I/O).

tests/integration/test_firestore_state.py runs the same cases on FirestoreStateStore against the
emulator, so the in-memory store that unit tests and the fast property tier rely on cannot drift
from the real adapter. Every method of the port has a case (COVERAGE).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from shared.ports import ClaimRecord, ClaimStatus, Completion, RecordWrite, found_key
from shared.remediation.records import ACTIONS, ActionState
from shared.errors import TransientError
from tests.unit.fakes import STORE_GROUPS, FaultyPublisher, FaultyStateStore, MemoryStateStore

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



def race(n: int, racer: Callable[[], Any], act: Callable[[int, Any], Any]) -> dict[int, Any]:
    """`act(i, handle)` on n threads released together, each with a handle of its own from
    `racer`; what each returned, by i (a thread that raised has no entry)."""
    results: dict[int, Any] = {}
    start = threading.Barrier(n)

    def run(i: int) -> None:
        mine = racer()
        start.wait()
        results[i] = act(i, mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


class RecordStoreContract:
    """Subclasses provide `store` and `racer` (a fresh handle on the same state, one per thread)."""

    # ------------------------------------------------------------------ put / get

    def test_put_get_round_trip(self, store: Any) -> None:
        data = action(note="ünïcode", ratio=0.25, raw=b"\x00\xff", nested={"a": {"b": [1, "two", None, {"c": True}]}})

        store.put_record(ACTIONS, KEY, data)

        got = store.get_record(ACTIONS, KEY)
        assert got == data | {"state": "pending"}   # the str-Enum is stored as its value
        assert type(got["state"]) is str

    def test_create_record_writes_only_where_there_is_none(self, store: Any) -> None:
        first, second = action(note="first"), action(note="second")

        assert store.create_record(ACTIONS, KEY, first) is True
        assert store.create_record(ACTIONS, KEY, second) is False

        assert store.get_record(ACTIONS, KEY) == first | {"state": "pending"}

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
        ({7: "x"}, ValueError),                                 # field names are strings
        ({"inner": {"": 1}}, ValueError),                       # in a map too
        ({"inner": {"at": datetime(2026, 1, 1)}}, ValueError),
        ({"rows": [{"at": datetime(2026, 1, 1)}]}, ValueError),
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
        results = race(8, racer, lambda i, mine: mine.update_record(ACTIONS, KEY, {"state": "verified", "by": i},
                                                                   expect={"state": "pending"}))

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

    def test_every_finder_names_the_key_each_record_is_stored_under(self, store: Any) -> None:
        """A record whose own fields name no key (damaged, or written by another version or hand) is still named
        by the key it is stored under (FoundRecord.document_key, ports.found_key), from each of the three finders,
        so that a reader can say which record to look at and address it. Keys with '/' and '|', and one past
        Firestore's id length (hashed there), come back as they were put."""
        long_key = "incident/" + "x" * 1600 + "|m"
        keys = ["0.abc|17", "incident/0.def|projects/p/locations/l/services/api|rollback_traffic", long_key]
        for n, key in enumerate(keys):
            store.put_record("intents", key, {"state": "open", "noted_at": T0 - timedelta(minutes=n + 1)})
        store.put_record("intents", "other", {"state": "closed", "noted_at": T0})

        by_field = store.find_records("intents", "state", "open")
        overdue = store.find_before("intents", "state", "open", "noted_at", T0)
        walked = store.find_between("intents", "noted_at", T0 - timedelta(hours=1), T0)

        assert sorted(found_key(r) for r in by_field) == sorted(keys)
        assert [found_key(r) for r in overdue] == keys[::-1] == [found_key(r) for r in walked]
        assert all("_key" not in r and set(r) == {"state", "noted_at"} for r in by_field + overdue + walked)
        assert by_field[0] == dict(by_field[0]) and found_key(dict(by_field[0])) is None   # a copy is a plain dict
        assert found_key(store.get_record("intents", keys[0])) is None    # read by its key: the caller knows it

    # ------------------------------------------------------------------ find_before

    def test_find_before_returns_overdue_matches_oldest_first(self, store: Any) -> None:
        ages = {"a": 50, "b": 10, "c": 30, "d": 70}   # minutes before T0
        for name, minutes in ages.items():
            store.put_record("intents", f"inc|{name}", {"n": name, "state": "open", "noted_at": T0 - timedelta(minutes=minutes)})
        store.put_record("intents", "inc|closed", {"n": "closed", "state": "void", "noted_at": T0 - timedelta(hours=2)})
        store.put_record("intents", "inc|no-time", {"n": "no-time", "state": "open"})
        store.put_record("actions", "other-kind", {"n": "x", "state": "open", "noted_at": T0 - timedelta(hours=3)})

        cutoff = (T0 - timedelta(minutes=20)).astimezone(CET)   # any timezone: an instant
        found = store.find_before("intents", "state", "open", "noted_at", cutoff)

        assert [r["n"] for r in found] == ["d", "a", "c"]   # b is not overdue; the rest do not match
        assert found[0]["noted_at"] == T0 - timedelta(minutes=70)
        assert [r["n"] for r in store.find_before("intents", "state", "open", "noted_at", cutoff, limit=2)] == ["d", "a"]
        assert store.find_before("intents", "state", "open", "noted_at", T0 - timedelta(hours=5)) == []
        with pytest.raises(ValueError):
            store.find_before("intents", "state", "open", "noted_at", cutoff, limit=0)
        with pytest.raises(ValueError):
            store.find_before("intents", "state", "open", "noted_at", datetime(2026, 1, 1))   # naive

    def test_find_before_since_pages_on_from_a_time_inclusive(self, store: Any) -> None:
        """The next page of a walk by `time_field`: `since` is in the range (the last record read comes
        back, known by key), the equality still holds, and a naive `since` is refused."""
        ages = {"a": 50, "b": 10, "c": 30, "d": 70}   # minutes before T0
        for name, minutes in ages.items():
            store.put_record("actions", f"inc|{name}", {"n": name, "state": "pending", "deadline_at": T0 - timedelta(minutes=minutes)})
        store.put_record("actions", "inc|done", {"n": "done", "state": "verified", "deadline_at": T0 - timedelta(minutes=40)})
        since = (T0 - timedelta(minutes=50)).astimezone(CET)
        found = store.find_before("actions", "state", "pending", "deadline_at", T0, since=since)
        assert [r["n"] for r in found] == ["a", "c", "b"]
        assert [r["n"] for r in store.find_before("actions", "state", "pending", "deadline_at", T0, 1, since=since)] == ["a"]
        with pytest.raises(ValueError):
            store.find_before("actions", "state", "pending", "deadline_at", T0, since=datetime(2026, 1, 1))   # naive

    # ------------------------------------------------------------------ find_between

    def test_find_between_pages_every_record_with_the_time_field_oldest_first(self, store: Any) -> None:
        """A range on one field, whatever the record's other fields hold (or lack): the page a cursor
        walks through a collection (the sweep's pass over intents stored without a state)."""
        ages = {"a": 50, "b": 10, "c": 30, "d": 70, "e": 20}   # minutes before T0
        for name, minutes in ages.items():
            data = {"n": name, "noted_at": T0 - timedelta(minutes=minutes)}
            store.put_record("intents", f"inc|{name}", data | ({"state": "void"} if name == "c" else {}))
        store.put_record("intents", "inc|no-time", {"n": "no-time"})
        store.put_record("intents", "inc|not-a-time", {"n": "not-a-time", "noted_at": "yesterday"})
        store.put_record("actions", "other-kind", {"n": "x", "noted_at": T0 - timedelta(minutes=40)})

        since, before = (T0 - timedelta(minutes=50)).astimezone(CET), T0 - timedelta(minutes=15)
        found = store.find_between("intents", "noted_at", since, before)

        assert [r["n"] for r in found] == ["a", "c", "e"]   # since is in the range, before is not
        assert found[0]["noted_at"] == T0 - timedelta(minutes=50)
        assert [r["n"] for r in store.find_between("intents", "noted_at", since, before, limit=2)] == ["a", "c"]
        assert store.find_between("intents", "noted_at", before, since) == []
        with pytest.raises(ValueError):
            store.find_between("intents", "noted_at", since, before, limit=0)
        with pytest.raises(ValueError):
            store.find_between("intents", "noted_at", datetime(2026, 1, 1), before)   # naive

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

    def test_get_many_deferred_answers_as_get_many_and_each_deferred_record_field_by_field(self, store: Any) -> None:
        """`get_many_deferred`: the same documents as `get_many`, in one read; each in `deferred` answers `get(field)`
        as the dict would, and is read whole by `data()` where it has one (a dict is whole already)."""
        store.put_record(ACTIONS, "a", action(key="a"))
        store.put_record("incidents", "b", {"incident_id": "b", "state": "open"})
        reads = [(ACTIONS, "a"), ("incidents", "b"), (ACTIONS, "missing")]

        found = store.get_many_deferred(reads, [("incidents", "b"), (ACTIONS, "missing")])

        assert found[0] == store.get_many(reads)[0] and found[2] is None
        assert (found[1].get("state"), found[1].get("absent")) == ("open", None)
        whole = found[1].data() if callable(getattr(found[1], "data", None)) else found[1]
        assert whole == store.get_many(reads)[1]
        assert store.get_many_deferred([], []) == []

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
        # Each wants the shared record and one of its own.
        outcomes = race(6, racer, lambda i, mine: mine.claim_all([("budgets", "shared#0", timedelta(days=2)),
                                                                  ("budgets", f"own#{i}", timedelta(days=2))],
                                                                 f"run-{i}", T0))
        winners = [i for i, got in outcomes.items() if got is not None]
        assert len(winners) == 1, outcomes
        own = store.get_many([("budgets", f"own#{i}") for i in range(6)])
        assert [i for i, data in enumerate(own) if data is not None] == winners   # losers wrote nothing
        assert ClaimRecord.model_validate(store.get_many([("budgets", "shared#0")])[0]).owner == f"run-{winners[0]}"


    # ------------------------------------------------------------------ record_all: all or none

    def test_record_all_completes_the_claim_and_writes_every_record_in_one_go(self, store: Any) -> None:
        taken = store.claim("claims", KEY, "run-1", TTL, T0).record
        store.put_record("settled", "0.abc", {"other": 1})
        result = {"status": "applied", "after": {"traffic": [{"revision": "api-7", "percent": 100}]}}
        completing = Completion("claims", KEY, taken, timedelta(days=1), T0 + timedelta(minutes=1), result)
        done = completing.done()

        assert store.record_all([RecordWrite(ACTIONS, KEY, action()),
                                 RecordWrite("pins", "svc", {"service": "svc", "pinned": True}),
                                 RecordWrite("settled", "0.abc", {"c": done.model_dump(mode="python")}, merge=True)],
                                completing)

        assert store.get("claims", KEY) == done
        assert done.status is ClaimStatus.COMPLETED and done.expires_at == T0 + timedelta(minutes=1, days=1)
        assert store.get_record(ACTIONS, KEY) == action() | {"state": "pending"}
        assert store.get_record("pins", "svc") == {"service": "svc", "pinned": True}
        merged = store.get_record("settled", "0.abc")
        assert merged["other"] == 1 and ClaimRecord.model_validate(merged["c"]) == done   # the rest kept

    @pytest.mark.parametrize("since", ["completed", "taken_over", "released"])
    def test_record_all_writes_nothing_unless_the_claim_is_still_the_one_taken(self, store: Any, since: str) -> None:
        taken = store.claim("claims", KEY, "run-1", TTL, T0).record
        if since == "completed":
            store.complete("claims", KEY, "run-1", TTL, T0, {"status": "failed"})
        elif since == "taken_over":
            assert store.claim("claims", KEY, "run-2", TTL, T0 + 2 * TTL).took_over
        else:
            store.release("claims", KEY, "run-1")
        before = store.get("claims", KEY)

        assert not store.record_all([RecordWrite(ACTIONS, KEY, action()), RecordWrite("settled", "0.abc", {"c": 1},
                                                                                      merge=True)],
                                    Completion("claims", KEY, taken, TTL, T0, {"status": "applied"}))

        assert store.get("claims", KEY) == before
        assert store.get_many([(ACTIONS, KEY), ("settled", "0.abc")]) == [None, None]

    def test_record_all_without_a_claim_writes_the_records_and_merges(self, store: Any) -> None:
        store.put_record("settled", "0.abc", {"a": 1, "b": {"x": 1, "y": 2}})

        assert store.record_all([RecordWrite("settled", "0.abc", {"b": {"x": 3}, "c": None}, merge=True),
                                 RecordWrite("settled", "new", {"a": T0}, merge=True),
                                 RecordWrite(ACTIONS, KEY, {"only": "this"})])

        assert store.get_record("settled", "0.abc") == {"a": 1, "b": {"x": 3}, "c": None}   # a map replaced whole
        assert store.get_record("settled", "new") == {"a": T0}   # created
        assert store.get_record(ACTIONS, KEY) == {"only": "this"}
        assert store.record_all([])

    def test_record_all_refuses_unstorable_data_and_writes_nothing(self, store: Any) -> None:
        taken = store.claim("claims", KEY, "run-1", TTL, T0).record

        with pytest.raises(ValueError):
            store.record_all([RecordWrite(ACTIONS, KEY, {"ok": 1}), RecordWrite("pins", "svc", {"at": datetime(2026, 1, 1)})],
                             Completion("claims", KEY, taken, TTL, T0, {}))

        assert store.get("claims", KEY) == taken and store.get_record(ACTIONS, KEY) is None

    @pytest.mark.parametrize("with_claim", [False, True])
    def test_record_all_with_a_create_writes_nothing_if_its_document_exists(self, store: Any, with_claim: bool) -> None:
        taken = store.claim("claims", KEY, "run-1", TTL, T0).record
        completing = Completion("claims", KEY, taken, TTL, T0, {"status": "escalated"}) if with_claim else None
        store.put_record(ACTIONS, KEY, {"by": "first"})

        assert not store.record_all([RecordWrite("intents", "i", {"state": "recorded"}, merge=True),
                                     RecordWrite(ACTIONS, KEY, {"by": "second"}, create=True)], completing)

        assert store.get_record(ACTIONS, KEY) == {"by": "first"}
        assert store.get_record("intents", "i") is None and store.get("claims", KEY) == taken
        # With no document there, the create is written like a set, with the rest.
        assert store.record_all([RecordWrite(ACTIONS, "fresh", {"by": "second"}, create=True),
                                 RecordWrite("intents", "i", {"state": "recorded"}, merge=True)], completing)
        assert store.get_record(ACTIONS, "fresh") == {"by": "second"}
        assert store.get_record("intents", "i") == {"state": "recorded"}
        assert (store.get("claims", KEY).status is ClaimStatus.COMPLETED) is with_claim

    @pytest.mark.parametrize("with_claim", [False, True])
    def test_record_all_with_an_expect_writes_nothing_unless_its_document_still_holds_it(
            self, store: Any, with_claim: bool) -> None:
        taken = store.claim("claims", KEY, "run-1", TTL, T0).record
        completing = Completion("claims", KEY, taken, TTL, T0, {"status": "escalated"}) if with_claim else None
        store.put_record("intents", "i", {"state": "escalated", "owner": "a", "plan": 1})
        closing = RecordWrite("intents", "i", {"state": "recorded"}, merge=True, expect={"state": "open", "owner": "a"})
        missing = RecordWrite("intents", "gone", {"state": "recorded"}, merge=True, expect={"state": None})

        assert not store.record_all([RecordWrite(ACTIONS, KEY, {"by": "me"}, create=True), closing], completing)
        assert not store.record_all([RecordWrite(ACTIONS, KEY, {"by": "me"}), missing], completing)

        assert store.get_record(ACTIONS, KEY) is None and store.get_record("intents", "gone") is None
        assert store.get_record("intents", "i") == {"state": "escalated", "owner": "a", "plan": 1}
        assert store.get("claims", KEY) == taken
        # Still as expected (a field missing counts as None): written, a merge, with the rest.
        store.put_record("intents", "i", {"state": "open", "owner": "a", "plan": 1})
        assert store.record_all([RecordWrite(ACTIONS, KEY, {"by": "me"}, create=True),
                                 replace(closing, expect={"state": "open", "owner": "a", "closed_by": None})],
                                completing)
        assert store.get_record("intents", "i") == {"state": "recorded", "owner": "a", "plan": 1}
        assert store.get_record(ACTIONS, KEY) == {"by": "me"}
        assert (store.get("claims", KEY).status is ClaimStatus.COMPLETED) is with_claim

    def test_only_a_merge_expects_fields(self) -> None:
        with pytest.raises(ValueError):
            RecordWrite(ACTIONS, KEY, {}, expect={"state": "open"})
        with pytest.raises(ValueError):
            RecordWrite(ACTIONS, KEY, {}, create=True, expect={"state": "open"})

    def test_a_guarded_record_and_a_guarded_update_of_one_document_race_to_exactly_one(
            self, store: Any, racer: Callable[[], Any]) -> None:
        """An adopter closing an intent (record_all, `expect`) against judges escalating it
        (update_record, `expect`): whichever order they land in, exactly one changes it."""
        store.put_record("intents", "i", {"state": "open", "owner": "a"})
        expect = {"state": "open", "owner": "a"}

        def act(i: int, mine: Any) -> bool:
            if i % 2:
                return mine.update_record("intents", "i", {"state": "escalated", "by": i}, expect=expect)
            return mine.record_all([RecordWrite(ACTIONS, f"{KEY}#{i}", {"by": i}, create=True),
                                    RecordWrite("intents", "i", {"state": "recorded", "by": i}, merge=True,
                                                expect=expect)])

        outcomes = race(6, racer, act)
        winners = [i for i, won in outcomes.items() if won]
        assert len(outcomes) == 6 and len(winners) == 1, outcomes
        assert store.get_record("intents", "i")["by"] == winners[0]
        assert [i for i in range(0, 6, 2) if store.get_record(ACTIONS, f"{KEY}#{i}")] == [i for i in winners if i % 2 == 0]

    def test_a_write_is_a_merge_or_a_create_not_both(self) -> None:
        with pytest.raises(ValueError):
            RecordWrite(ACTIONS, KEY, {}, merge=True, create=True)

    def test_racing_creates_of_one_record_write_exactly_once(self, store: Any, racer: Callable[[], Any]) -> None:
        outcomes = race(6, racer, lambda i, mine: mine.record_all(
            [RecordWrite(ACTIONS, KEY, {"by": i}, create=True), RecordWrite("intents", f"i{i}", {"by": i})]))
        winners = [i for i, won in outcomes.items() if won]
        assert len(outcomes) == 6 and len(winners) == 1, outcomes
        assert store.get_record(ACTIONS, KEY) == {"by": winners[0]}
        assert [i for i in range(6) if store.get_record("intents", f"i{i}")] == winners   # all or none

    def test_racing_completions_of_one_claim_write_exactly_once(self, store: Any, racer: Callable[[], Any]) -> None:
        taken = store.claim("claims", KEY, "run-1", TTL, T0).record
        # The same attempt's completion cannot race itself; two different results can.
        outcomes = race(6, racer, lambda i, mine: mine.record_all(
            [RecordWrite(ACTIONS, f"{KEY}#{i}", {"i": i})],
            Completion("claims", KEY, taken, TTL, T0 + timedelta(seconds=i), {"i": i})))
        winners = [i for i, won in outcomes.items() if won]
        assert len(outcomes) == 6 and len(winners) == 1, outcomes
        assert store.get("claims", KEY).result == {"i": winners[0]}
        assert [i for i in range(6) if store.get_record(ACTIONS, f"{KEY}#{i}")] == winners


TTL = timedelta(minutes=5)


class ClaimStoreContract:
    """Claims (idempotency, cooldowns, budget slots): what the gate relies on. Subclasses provide
    `store` and `racer` as for RecordStoreContract."""

    def test_first_claim_is_acquired_and_stored(self, store: Any) -> None:
        result = store.claim("claims", KEY, "run-1", TTL, T0)

        assert result.acquired and not result.took_over
        stored = store.get("claims", KEY)
        assert (stored.key, stored.owner, stored.status) == (KEY, "run-1", ClaimStatus.CLAIMED)
        assert (stored.claimed_at, stored.expires_at) == (T0, T0 + TTL)
        assert stored.expires_at.tzinfo is not None and stored.result == {}

    def test_second_claim_is_not_acquired_and_returns_the_holder(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)

        second = store.claim("claims", KEY, "run-2", TTL, T0 + timedelta(seconds=30))

        assert not second.acquired
        assert (second.record.owner, second.record.expires_at) == ("run-1", T0 + TTL)
        assert store.get("claims", KEY).owner == "run-1"

    def test_redelivery_with_the_same_owner_is_not_acquired(self, store: Any) -> None:
        store.claim("claims", KEY, "event-42", TTL, T0)

        assert not store.claim("claims", KEY, "event-42", TTL, T0 + timedelta(seconds=1)).acquired

    def test_expired_claim_is_taken_over(self, store: Any) -> None:
        store.claim("claims", KEY, "crashed-run", TTL, T0)
        later = T0 + TTL   # expires_at <= now counts as expired

        result = store.claim("claims", KEY, "run-2", TTL, later)

        assert result.acquired and result.took_over and result.record.owner == "run-2"
        stored = store.get("claims", KEY)
        assert (stored.owner, stored.claimed_at, stored.expires_at) == ("run-2", later, later + TTL)

    def test_get_returns_an_expired_claim_as_it_is(self, store: Any) -> None:
        """The gate's dry-run cooldown check reads the lease and judges its expiry itself."""
        store.claim("cooldowns", "svc", "run-1", TTL, T0)

        lease = store.get("cooldowns", "svc")

        assert lease is not None and lease.expired(T0 + TTL) and not lease.expired(T0)
        assert store.get("cooldowns", "other") is None

    def test_completed_claim_blocks_new_claims_until_retention_ends(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)
        done_at = T0 + timedelta(minutes=1)
        store.complete("claims", KEY, "run-1", timedelta(hours=24), done_at, {"status": "applied", "after": {"n": 1}})

        stored = store.get("claims", KEY)
        assert (stored.status, stored.result, stored.expires_at) == (
            ClaimStatus.COMPLETED, {"status": "applied", "after": {"n": 1}}, done_at + timedelta(hours=24))
        again = store.claim("claims", KEY, "run-2", TTL, T0 + 2 * TTL)   # past the TTL, within retention
        assert not again.acquired and again.record.status == ClaimStatus.COMPLETED

        after_retention = store.claim("claims", KEY, "run-3", TTL, done_at + timedelta(hours=24))
        assert after_retention.acquired and after_retention.took_over
        assert store.get("claims", KEY).result == {}

    def test_complete_by_a_non_owner_or_of_nothing_changes_nothing(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)

        store.complete("claims", KEY, "intruder", timedelta(hours=1), T0, {"x": 1})
        store.complete("claims", "never-claimed", "run-1", timedelta(hours=1), T0, {"x": 1})

        stored = store.get("claims", KEY)
        assert (stored.owner, stored.status, stored.result) == ("run-1", ClaimStatus.CLAIMED, {})
        assert store.get("claims", "never-claimed") is None

    def test_release_lets_a_new_claim_succeed(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)

        store.release("claims", KEY, "run-1")

        assert store.get("claims", KEY) is None
        retry = store.claim("claims", KEY, "run-2", TTL, T0 + timedelta(seconds=5))
        assert retry.acquired and not retry.took_over

    def test_release_all_releases_what_the_owner_holds_and_leaves_the_rest(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)
        store.claim("cooldowns", KEY, "run-1", TTL, T0)
        store.claim("budgets", "b#0", "run-2", TTL, T0)   # another's: left as it is

        store.release_all([("claims", KEY), ("cooldowns", KEY), ("budgets", "b#0"), ("budgets", "b#1")], "run-1")

        assert (store.get("claims", KEY), store.get("cooldowns", KEY)) == (None, None)
        assert store.get("budgets", "b#0").owner == "run-2"
        assert store.claim("claims", KEY, "run-3", TTL, T0 + timedelta(seconds=5)).acquired

    def test_release_all_leaves_a_record_taken_over_since_and_releases_the_others(self, store: Any) -> None:
        """One of them lapsed and taken over by another before the give-back: that one is the other's now
        (left), the rest are still this owner's (released). On Firestore the one commit of guarded deletes
        fails on the changed one; the others are then released one at a time."""
        store.claim("claims", KEY, "run-1", TTL, T0)
        store.claim("cooldowns", KEY, "run-1", TTL, T0)
        assert store.claim("claims", KEY, "run-2", TTL, T0 + TTL + timedelta(seconds=1)).took_over

        store.release_all([("claims", KEY), ("cooldowns", KEY)], "run-1")

        assert store.get("claims", KEY).owner == "run-2" and store.get("cooldowns", KEY) is None

    def test_release_by_a_non_owner_does_nothing(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)

        store.release("claims", KEY, "run-2")
        store.release("claims", "never-claimed", "run-2")

        assert store.get("claims", KEY).owner == "run-1"
        assert not store.claim("claims", KEY, "run-2", TTL, T0).acquired

    def test_kinds_are_separate(self, store: Any) -> None:
        store.claim("claims", KEY, "run-1", TTL, T0)
        store.put_record(ACTIONS, KEY, {"state": "pending"})

        assert store.claim("cooldowns", KEY, "run-2", TTL, T0).acquired
        assert store.get("claims", KEY).owner == "run-1"
        assert store.get_record(ACTIONS, KEY) == {"state": "pending"}

    @pytest.mark.parametrize("key", ["a/b/c", "/leading/and/trailing/", ".", "..", "__reserved__",
                                     "spaces and % and ~tilde and ünïcode", "x" * 3000])
    def test_claim_keys_round_trip(self, store: Any, key: str) -> None:
        assert store.claim("claims", key, "run-1", TTL, T0).acquired

        assert store.get("claims", key).key == key
        assert not store.claim("claims", key, "run-2", TTL, T0).acquired

    def test_naive_datetimes_are_refused(self, store: Any) -> None:
        with pytest.raises(ValueError):
            store.claim("claims", KEY, "run-1", TTL, datetime(2026, 1, 1))
        store.claim("claims", KEY, "run-1", TTL, T0)
        with pytest.raises(ValueError):
            store.complete("claims", KEY, "run-1", TTL, datetime(2026, 1, 1), {})

    def test_budget_slots_taken_by_racers_never_exceed_the_capacity(self, store: Any,
                                                                    racer: Callable[[], Any]) -> None:
        """The gate's budget: N slot claims per bucket, read in one get_many, each taken by an
        atomic create. 8 racers, 3 slots: exactly 3 are taken, whatever the interleaving."""
        slots = [("budgets", f"target|svc|2026-11-26T12#{i}") for i in range(3)]
        def take(i: int, mine: Any) -> str | None:
            free = [key for (kind, key), data in zip(slots, mine.get_many(slots)) if data is None]
            for key in free:
                if mine.claim("budgets", key, f"run-{i}", timedelta(days=2), T0).acquired:
                    return key
            return None

        taken = [key for key in race(8, racer, take).values() if key is not None]
        assert sorted(taken) == sorted(key for _, key in slots)
        assert all(ClaimRecord.model_validate(data).status == ClaimStatus.CLAIMED for data in store.get_many(slots))

    def test_racing_takeovers_of_an_expired_claim_acquire_exactly_once(self, store: Any,
                                                                       racer: Callable[[], Any]) -> None:
        store.claim("claims", KEY, "crashed-run", TTL, T0)
        results = race(8, racer, lambda i, mine: mine.claim("claims", KEY, f"instance-{i}", TTL, T0 + 2 * TTL).acquired)

        winners = [i for i, acquired in results.items() if acquired]
        assert len(results) == 8 and len(winners) == 1
        assert store.get("claims", KEY).owner == f"instance-{winners[0]}"


class StateStoreContract(ClaimStoreContract, RecordStoreContract):
    """Every StateStore method, as the gate, the claims, cooldowns, budgets and records use it."""


# Which contract tests cover each StateStore method: a method added to the port fails
# test_the_contract_covers_every_state_store_method until the contract tests it on both stores.
COVERAGE = {
    "claim": "test_first_claim_is_acquired_and_stored",
    "complete": "test_completed_claim_blocks_new_claims_until_retention_ends",
    "release": "test_release_lets_a_new_claim_succeed",
    "release_all": "test_release_all_releases_what_the_owner_holds_and_leaves_the_rest",
    "get": "test_get_returns_an_expired_claim_as_it_is",
    "put_record": "test_put_get_round_trip",
    "create_record": "test_create_record_writes_only_where_there_is_none",
    "get_record": "test_missing_record_is_none",
    "get_many": "test_get_many_answers_in_the_order_asked",
    "get_many_deferred": "test_get_many_deferred_answers_as_get_many_and_each_deferred_record_field_by_field",
    "update_record": "test_update_applies_when_expect_matches",
    "find_records": "test_find_returns_only_matching_records",
    "claim_all": "test_claim_all_creates_every_record_in_one_go",   # once the port has it
    "record_all": "test_record_all_completes_the_claim_and_writes_every_record_in_one_go",
    "find_before": "test_find_before_returns_overdue_matches_oldest_first",
    "find_between": "test_find_between_pages_every_record_with_the_time_field_oldest_first",
}


def test_the_contract_covers_every_state_store_method() -> None:
    from shared.ports import StateStore

    methods = {name for name, value in vars(StateStore).items() if callable(value) and not name.startswith("_")}
    assert methods <= set(COVERAGE), f"StateStore methods without a contract test: {methods - set(COVERAGE)}"
    missing = [COVERAGE[method] for method in methods if not hasattr(StateStoreContract, COVERAGE[method])]
    assert not missing, f"contract tests named in COVERAGE that do not exist: {missing}"
    # Every store the gate runs on has every method, `release_all` among them: the gate calls them with no
    # fallback (Gate._give_back). FaultyStateStore wraps MemoryStateStore for the drills.
    from shared.gcp.firestore import FirestoreStateStore

    for store in (MemoryStateStore, FaultyStateStore, FirestoreStateStore):
        assert all(callable(getattr(store, method, None)) for method in methods), store


def test_every_state_store_has_the_whole_port_and_the_gate_refuses_one_that_lacks_a_method() -> None:
    """The gate once fell back quietly for a store without `claim_all` (one claim at a time), `record_all` (one
    call at a time, not atomic) or `find_before` (no sweep of intents): a store missing one took a slower,
    different path unnoticed. Now every store the product, the sandbox, the soak and the drills run on has the
    whole port (`require_state_store`), and one that lacks a method fails where the gate is built."""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.ports import STATE_STORE_METHODS, require_state_store
    from shared.remediation.guardrails import Gate
    from sandbox.lost_answers import LosingStateStore
    from sandbox.rpc_count import CountingStateStore
    from tests.unit.test_guardrails import config

    assert {"claim_all", "record_all", "find_before", "release_all", "get_many_deferred"} <= set(STATE_STORE_METHODS)
    for store in (MemoryStateStore(), FaultyStateStore(MemoryStateStore())):
        assert require_state_store(store) is store
    for kind in (FirestoreStateStore, CountingStateStore, LosingStateStore):   # built on the emulator only
        assert all(callable(getattr(kind, name, None)) for name in STATE_STORE_METHODS), kind

    for name in ("claim_all", "record_all", "find_before", "get_many_deferred"):
        lacking = type("Lacking", (MemoryStateStore,), {name: None})()
        with pytest.raises(TypeError, match=f"lacks {name}"):
            Gate(config(), lacking, None, owner="attempt-1")


@pytest.mark.parametrize("name", ["claim_all", "get_many_deferred", "find_between"])
def test_the_adapters_refuse_a_store_that_lacks_a_method_where_they_are_built(name: str) -> None:
    """`Adapters` is where a deployment's store is handed over (google_adapters, the sandbox, the CLI): one that lacks
    a method of the port fails there, naming it, as the gate and the sweep do (`require_state_store`), not at the
    first alert that reaches the call (the duplicate path read the state with `get_many_deferred` only if the store
    had it, and fell back quietly otherwise)."""
    from shared.pipeline import Adapters

    lacking = type("Lacking", (MemoryStateStore,), {name: None})()
    with pytest.raises(TypeError, match=f"lacks {name}"):
        Adapters(run=None, monitoring=None, publisher=None, state=lacking, clock=None)
    store = MemoryStateStore()
    assert Adapters(run=None, monitoring=None, publisher=None, state=store, clock=None).state is store


class TestMemoryStateStore(StateStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStateStore:
        return MemoryStateStore()

    @pytest.fixture
    def racer(self, store: MemoryStateStore) -> Callable[[], MemoryStateStore]:
        return lambda: store   # threads of one process share one store


# --- FaultyStateStore: the fault drills' and property tests' state store --------------------------


class TestFaultyStateStoreWithoutFaults(StateStoreContract):
    """With no fault queued, the wrapper is the store it wraps: the whole contract holds through it."""

    @pytest.fixture
    def store(self) -> FaultyStateStore:
        return FaultyStateStore(MemoryStateStore())

    @pytest.fixture
    def racer(self, store: FaultyStateStore) -> Callable[[], FaultyStateStore]:
        return lambda: store


def test_every_state_store_method_belongs_to_one_fault_group() -> None:
    from shared.ports import StateStore

    methods = {name for name, value in vars(StateStore).items() if callable(value) and not name.startswith("_")}
    grouped = [method for methods_ in STORE_GROUPS.values() for method in methods_]
    assert methods <= set(grouped) and len(grouped) == len(set(grouped)), (methods, grouped)
    assert all(method in vars(FaultyStateStore) for method in grouped)   # none passes through unfaulted


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_a_read_fault_raises_what_the_adapter_raises_and_reads_nothing() -> None:
    store = FaultyStateStore(MemoryStateStore())
    store.put_record(ACTIONS, "a", action())
    store.fail_next("read", 2, "DEADLINE_EXCEEDED")
    for _ in range(2):
        with pytest.raises(TransientError, match="DeadlineExceeded"):
            store.get_record(ACTIONS, "a")
    assert store.get_record(ACTIONS, "a") is not None and store.injected == [
        ("get_record", "DEADLINE_EXCEEDED", False)] * 2


def test_a_claim_fault_writes_nothing_and_a_lost_answer_leaves_the_claim_taken() -> None:
    inner = MemoryStateStore()
    store = FaultyStateStore(inner)
    store.fail_next("claim")
    with pytest.raises(TransientError, match="ServiceUnavailable"):
        store.claim("claims", "k", "me", timedelta(minutes=5), NOW)
    assert inner.get("claims", "k") is None
    store.fail_next("claim", lost=True, code="DEADLINE_EXCEEDED")
    with pytest.raises(TransientError):
        store.claim("claims", "k", "me", timedelta(minutes=5), NOW)
    assert inner.get("claims", "k").owner == "me"   # it landed; only its answer was lost


def test_only_transient_faults_and_only_commits_lose_answers() -> None:
    store = FaultyStateStore(MemoryStateStore())
    with pytest.raises(ValueError):
        store.fail_next("read", lost=True)
    with pytest.raises(ValueError):
        store.fail_next("write", code="PERMISSION_DENIED")
    with pytest.raises(ValueError):
        store.fail_next("reads")
    store.fail_next("write", 3)
    store.clear()
    store.put_record(ACTIONS, "a", action())
    assert store.pending() == 0


def test_a_publish_fault_publishes_nothing() -> None:
    class Kept:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        def publish(self, topic: str, data: bytes, attributes: dict, ordering_key: str = "") -> str:
            self.messages.append(data)
            return str(len(self.messages))

    inner = Kept()
    publisher = FaultyPublisher(inner)
    publisher.fail_next(1)
    with pytest.raises(TransientError, match="ServiceUnavailable"):
        publisher.publish("projects/p/topics/t", b"1", {})
    assert publisher.publish("projects/p/topics/t", b"2", {}) == "1" and inner.messages == [b"2"]
