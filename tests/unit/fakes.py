"""In-memory stand-ins for Runwarden's own ports, for unit tests of pure logic only.

Integration and end-to-end tests use the Firestore emulator and the API stand-ins instead.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from shared.errors import PermanentError, TransientError
from shared.diagnosis.evidence import Service, TrafficTarget
from shared.gcp.firestore import plain_record, record_matches
from shared.ports import ClaimRecord, ClaimResult, ClaimStatus, Completion, FoundRecord, RecordWrite
from shared.remediation.guardrails import CLAIMS as GATE_CLAIMS
from shared.remediation.records import COMMANDS, PROPOSALS


class MemoryStateStore:
    """Claims, plus plain records with FirestoreStateStore's semantics (the same contract tests
    run on both: tests/unit/test_memory_state_store.py). Plain records are validated and
    normalised by the adapter's own `plain_record`, and copied in and out, so a caller can never
    mutate stored state."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ClaimRecord] = {}
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}   # plain records
        self._lock = threading.Lock()   # every check-and-write is atomic across threads

    def claim(self, kind, key, owner, ttl: timedelta, now: datetime) -> ClaimResult:
        _require_aware(now)
        with self._lock:   # check-and-create is atomic, as Firestore's create() is
            held = self.records.get((kind, key))
            if held and not held.expired(now):
                return ClaimResult(acquired=False, record=held)
            record = ClaimRecord(key=key, owner=owner, status=ClaimStatus.CLAIMED, claimed_at=now,
                                 expires_at=now + ttl)
            self.records[(kind, key)] = record
            return ClaimResult(acquired=True, record=record, took_over=held is not None)

    def claim_all(self, claims, owner, now: datetime) -> list[ClaimRecord] | None:
        if len({(kind, key) for kind, key, _ in claims}) != len(claims):
            raise ValueError(f"claim_all: the same record twice in {claims}")
        with self._lock:   # all or none, as one Firestore commit of creates
            records = [ClaimRecord(key=key, owner=owner, status=ClaimStatus.CLAIMED, claimed_at=now,
                                   expires_at=now + ttl) for _, key, ttl in claims]
            held = [self.records.get((kind, key)) for kind, key, _ in claims]
            if any(h is not None for h in held):
                # As the adapter: the very same call again (a retried commit) finds its own records.
                return records if held == records else None
            for (kind, key, _), record in zip(claims, records):
                self.records[(kind, key)] = record
            return records

    def complete(self, kind, key, owner, retain, now, result) -> None:
        _require_aware(now)
        stored = plain_record(result)   # as Firestore stores it
        with self._lock:
            held = self.records.get((kind, key))
            if held is None or held.owner != owner:   # as FirestoreStateStore: not ours, nothing to do
                return
            self.records[(kind, key)] = held.model_copy(update={"status": ClaimStatus.COMPLETED,
                                                                "expires_at": now + retain, "result": stored})

    def record_all(self, writes: list[RecordWrite], completing: Completion | None = None) -> bool:
        """All or none, as one Firestore commit (the claim's completion guarded as the adapter
        guards it: only while it is exactly the record taken)."""
        stored = [(write, plain_record(write.data)) for write in writes]   # refused before anything is written
        done = None
        if completing is not None:
            _require_aware(completing.now)
            done = completing.done().model_copy(update={"result": plain_record(completing.result)})
        with self._lock:
            if completing is not None and self.records.get((completing.kind, completing.key)) != completing.held:
                return False
            if any(write.create and (write.kind, write.key) in self.documents for write, _ in stored):
                return False   # as a Firestore create (exists=false) fails the whole commit
            if not all(self._holds(write) for write, _ in stored):
                return False   # as a Firestore update-time precondition fails the whole commit
            if completing is not None:
                self.records[(completing.kind, completing.key)] = done
            for write, data in stored:
                if write.merge and (write.kind, write.key) in self.documents:
                    self.documents[(write.kind, write.key)].update(data)
                else:
                    self.documents[(write.kind, write.key)] = data
            return True

    def _holds(self, write: RecordWrite) -> bool:
        """A write's `expect` still holds of its document (called under the lock): it exists and matches."""
        if write.expect is None:
            return True
        document = self.documents.get((write.kind, write.key))
        return document is not None and record_matches(document, plain_record(write.expect))

    def release(self, kind, key, owner) -> None:
        with self._lock:
            held = self.records.get((kind, key))
            if held and held.owner == owner:
                del self.records[(kind, key)]

    def release_all(self, items, owner) -> None:
        for kind, key in items:   # each owner-checked, as the adapter's (its one commit is an optimisation)
            self.release(kind, key, owner)

    def get(self, kind, key):
        with self._lock:
            return self.records.get((kind, key))

    # --- plain records

    def put_record(self, kind: str, key: str, data: Mapping[str, Any]) -> None:
        record = plain_record(data)   # already a fresh copy
        with self._lock:
            self.documents[(kind, key)] = record

    def create_record(self, kind: str, key: str, data: Mapping[str, Any]) -> bool:
        record = plain_record(data)
        with self._lock:
            if (kind, key) in self.documents:
                return False   # as a Firestore create (exists=false) writes nothing
            self.documents[(kind, key)] = record
            return True

    def get_record(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            return _copy_plain(self.documents.get((kind, key)))

    def get_many(self, keys) -> list[dict[str, Any] | None]:
        with self._lock:
            answers = []
            for kind, key in keys:
                claim = self.records.get((kind, key))
                answers.append(claim.model_dump(mode="python") | {"status": claim.status.value} if claim
                               else _copy_plain(self.documents.get((kind, key))))
            return answers

    def get_many_deferred(self, keys, deferred) -> list[dict[str, Any] | None]:
        return self.get_many(keys)   # nothing to defer in memory: a dict answers `get` as a deferred record does

    def update_record(self, kind: str, key: str, changes: Mapping[str, Any],
                      expect: Mapping[str, Any] | None = None) -> bool:
        fields, wanted = plain_record(changes), plain_record(expect or {})
        with self._lock:
            record = self.documents.get((kind, key))
            if record is None or not record_matches(record, wanted):
                return False
            record.update(fields)
            return True

    def find_records(self, kind: str, field: str, value: Any, limit: int = 100) -> list[FoundRecord]:
        wanted = plain_record({field: value})[field]
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        with self._lock:
            # As in a Firestore query, a record without the field never matches, not even None.
            found = [(key, record) for (k, key), record in self.documents.items()
                     if k == kind and field in record and record[field] == wanted]
            # A claim is a document of its kind's collection too, queried as any other (FirestoreStateStore).
            found += [(key, stored) for (k, key), claim in self.records.items()
                      if k == kind and field in (stored := plain_record(claim.model_dump(mode="python")
                                                                       | {"status": claim.status.value}))
                      and stored[field] == wanted]
            return _found(found[:limit])

    def find_before(self, kind: str, field: str, value: Any, time_field: str, before: datetime,
                    limit: int = 100, since: datetime | None = None) -> list[FoundRecord]:
        wanted, bound = plain_record({field: value, time_field: before}).values()
        low = plain_record({"since": since})["since"] if since is not None else None
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        with self._lock:
            # As the Firestore query: equality on `field`, `time_field` a timestamp before the bound (and
            # at or after `since`), ordered by it (a record whose `time_field` is missing or not a
            # timestamp never matches).
            found = [(key, record) for (k, key), record in self.documents.items()
                     if k == kind and field in record and record[field] == wanted
                     and isinstance(record.get(time_field), datetime) and record[time_field] < bound
                     and (low is None or record[time_field] >= low)]
            found.sort(key=lambda item: item[1][time_field])
            return _found(found[:limit])

    def find_between(self, kind: str, time_field: str, since: datetime, before: datetime,
                     limit: int = 100) -> list[FoundRecord]:
        low, high = plain_record({"since": since, "before": before}).values()
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        with self._lock:
            # As the Firestore query: a range on `time_field` only, ordered by it (then by key, as
            # Firestore orders ties by document name); a record without a timestamp there never matches.
            found = [(record[time_field], key, record) for (k, key), record in self.documents.items()
                     if k == kind and isinstance(record.get(time_field), datetime) and low <= record[time_field] < high]
            found.sort(key=lambda item: item[:2])
            return _found([(key, record) for _, key, record in found[:limit]])


def _found(found: list[tuple[str, dict[str, Any]]]) -> list[FoundRecord]:
    """Copies of the records a query found, each with the key it is stored under, as the adapter's finders."""
    return [FoundRecord(_copy_plain(record), key) for key, record in found]


def _copy_plain(value: Any) -> Any:
    """A copy of a stored plain record (or None): `plain_record` leaves only dicts and lists to copy;
    the leaves (None, bool, int, float, str, bytes, UTC datetimes) are immutable. Much cheaper
    than copy.deepcopy, which the fast tier's 10^5 programs would otherwise spend much time in."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:   # most values; checked by exact type, the cheapest test
        return value
    if kind is dict or isinstance(value, dict):
        return {name: _copy_plain(item) for name, item in value.items()}
    if kind is list or isinstance(value, list):
        return [_copy_plain(item) for item in value]
    return value


_PLAIN_LEAVES = frozenset({type(None), bool, int, float, str, bytes, datetime})


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware (UTC): Firestore stores instants")


class RecordingRun:
    """Counts writes and answers set_traffic as the API would, or fails as told."""

    def __init__(self, service: Service, fail_with: Exception | None = None) -> None:
        self.service = service
        self.fail_with = fail_with
        self.writes: list[list[TrafficTarget]] = []

    def set_traffic(self, service_name, traffic, etag):
        self.writes.append(list(traffic))
        if self.fail_with:
            raise self.fail_with
        self.service = self.service.model_copy(update={"traffic": tuple(traffic), "traffic_statuses": tuple(traffic),
                                                       "generation": self.service.generation + 1})
        return self.service

    def get_service(self, name):
        return self.service


class Adapters:
    def __init__(self, run) -> None:
        self.run = run


__all__ = ["MemoryStateStore", "RecordingRun", "Adapters", "FaultyStateStore", "FaultyPublisher", "PermanentError",
           "TransientError"]


# --- faults in Runwarden's own ports (the state store, the outcome publisher) ----------------------


STORE_READS = ("get", "get_record", "get_many", "get_many_deferred", "find_records", "find_before", "find_between")
STORE_CLAIMS = ("claim", "claim_all")
STORE_WRITES = ("complete", "release", "release_all", "put_record", "create_record", "update_record", "record_all")
STORE_GROUPS = {"read": STORE_READS, "claim": STORE_CLAIMS, "write": STORE_WRITES}


def transient_error(code: str, what: str) -> TransientError:
    """What FirestoreStateStore (or PubSubPublisher) raises when the service answers `code`
    (UNAVAILABLE, DEADLINE_EXCEEDED) after its own retries: google-api-core's exception for that
    status, through `classify`, as the adapters' error handling does (shared/gcp/firestore.py
    `_call`, shared/gcp/pubsub.py)."""
    import grpc
    from google.api_core.exceptions import from_grpc_status

    from shared.errors import classify

    error = classify(from_grpc_status(grpc.StatusCode[code], f"{what}: injected"))
    if not isinstance(error, TransientError):
        raise ValueError(f"{code} is not a transient status")
    return error


class FaultyStateStore:
    """A StateStore (any: MemoryStateStore, FirestoreStateStore) whose next calls fail as Firestore
    can fail, for fault drills and the property tests. Faults are queued per group of methods:
    - `read` (get, get_record, get_many, find_records, find_before, find_between): the call fails, nothing is read;
    - `claim` (claim, claim_all: the claim's commit) and `write` (complete, release, release_all, put_record,
      create_record, update_record, record_all): the call fails before anything is written, or, with `lost`, the commit
      lands and its answer is lost (DEADLINE_EXCEEDED after the write took, which the adapter's
      retry does not repeat), so the caller sees the error although the write took.
    A fault may name one `method` of its group (e.g. `complete`): the group's other calls pass it by.
    (`complete` names a command's completion too, which is a `record_all` keeping its answer.)
    Everything else passes through to the store it wraps."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._pending: dict[str, list[tuple[str, bool, str]]] = {group: [] for group in STORE_GROUPS}
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str, bool]] = []   # (method, code, lost) of every fault raised
        self._after_claim: list[Callable[[], None]] = []

    def fail_next(self, group: str, n: int = 1, code: str = "UNAVAILABLE", lost: bool = False,
                  method: str = "") -> None:
        if group not in STORE_GROUPS:
            raise ValueError(f"unknown group {group!r}: one of {sorted(STORE_GROUPS)}")
        if method and method not in STORE_GROUPS[group]:
            raise ValueError(f"{method!r} is not in group {group!r}: one of {STORE_GROUPS[group]}")
        if lost and group == "read":
            raise ValueError("a read has no answer to lose: only claim and write commits land")
        transient_error(code, group)   # refuses a status that is not transient
        with self._lock:
            self._pending[group] += [(code, lost, method)] * n

    def after_next_claim(self, callback: Callable[[], None]) -> None:
        """`callback` runs once, right after the gate's next claim commit lands (`claim_all`, or a
        `claim` in the gate's `claims`): after what an action was planned on was read, before the
        gate's check right before the write. How the property tests land a person's change there."""
        with self._lock:
            self._after_claim.append(callback)

    def _claimed(self) -> None:
        with self._lock:
            callbacks, self._after_claim = self._after_claim, []
        for callback in callbacks:
            callback()

    def clear(self) -> None:
        with self._lock:
            for queue in self._pending.values():
                queue.clear()

    def pending(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._pending.values())

    def _call(self, group: str, method: str, *args: Any, also: str = "", **kwargs: Any) -> Any:
        """`method` of the inner store, or the next fault queued for `group` that names no method, or
        `method`, or `also` (another name the call answers to)."""
        with self._lock:
            queue = self._pending[group]
            at = next((i for i, queued in enumerate(queue) if queued[2] in ("", method) or (also and queued[2] == also)),
                      None) if queue else None
            fault = queue.pop(at)[:2] if at is not None else None
            if fault is not None:
                self.injected.append((method, *fault))
        if fault is not None and not fault[1]:
            raise transient_error(fault[0], method)
        result = getattr(self.inner, method)(*args, **kwargs)
        if fault is not None:   # the commit landed; its answer is lost
            raise transient_error(fault[0], method)
        return result

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        result = self._call("claim", "claim", *args, **kwargs)
        if (args[0] if args else kwargs.get("kind")) == GATE_CLAIMS:
            self._claimed()
        return result

    def claim_all(self, *args: Any, **kwargs: Any) -> Any:
        result = self._call("claim", "claim_all", *args, **kwargs)
        self._claimed()
        return result

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("write", "complete", *args, **kwargs)

    def release(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("write", "release", *args, **kwargs)

    def release_all(self, items: Any, owner: str) -> None:
        # One `release` each, every one open to the `release` faults queued (the drills that fail a give-back
        # name `release`): the adapter's one commit of them is all or none, a fault on it a fault on the first.
        for kind, key in items:
            self._call("write", "release", kind, key, owner, also="release_all")

    def put_record(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("write", "put_record", *args, **kwargs)

    def create_record(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("write", "create_record", *args, **kwargs)

    def update_record(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("write", "update_record", *args, **kwargs)

    def record_all(self, *args: Any, **kwargs: Any) -> Any:
        # An operator command's record is completed by a record_all that keeps its answer in the same commit
        # (shared/commands/answers.py): a fault naming `complete` (a command's or a dry run's completion)
        # fails it too, as it failed that completion when it was a `complete` of its own.
        completing = args[1] if len(args) > 1 else kwargs.get("completing")
        also = "complete" if completing is not None and completing.kind == COMMANDS else ""
        return self._call("write", "record_all", *args, also=also, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("read", "get", *args, **kwargs)

    def get_record(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("read", "get_record", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("read", "get_many", *args, **kwargs)

    def get_many_deferred(self, *args: Any, **kwargs: Any) -> Any:
        # The same batched read as `get_many`: a fault named get_many fails it too, as it did when the pipeline
        # fell back to `get_many` on a store without this method.
        return self._call("read", "get_many_deferred", *args, also="get_many", **kwargs)

    def find_records(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("read", "find_records", *args, **kwargs)

    def find_before(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("read", "find_before", *args, **kwargs)

    def find_between(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("read", "find_between", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:   # anything else the store has (warm, ...), unchanged
        return getattr(self.inner, name)


class LosesProposalMove:
    """A state store (a FaultyStateStore, say) where the first write carrying a proposal's move to `state`
    lands and its answer is lost (DEADLINE_EXCEEDED after the commit took), whichever call makes it: an
    update of its own, or the commit that completes a command's record and keeps its answer."""

    def __init__(self, inner: Any, state: str) -> None:
        self.inner, self.state, self.fired = inner, state, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _carries(self, kind: str, data: dict[str, Any]) -> bool:
        return not self.fired and kind == PROPOSALS and data.get("state") == self.state

    def _lost(self) -> Any:
        self.fired = True
        raise transient_error("DEADLINE_EXCEEDED", f"the commit moving a proposal to {self.state}")

    def update_record(self, kind: str, key: str, data: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        carries = self._carries(kind, data)
        written = self.inner.update_record(kind, key, data, *args, **kwargs)
        return self._lost() if carries and written else written

    def record_all(self, writes: Any, completing: Any = None) -> bool:
        carries = any(self._carries(w.kind, w.data) for w in writes)
        written = self.inner.record_all(writes, completing)
        return self._lost() if carries and written else written


class FaultyPublisher:
    """A PublisherPort whose next `n` publishes fail as PubSubPublisher fails when Pub/Sub answers
    UNAVAILABLE: TransientError, and nothing is published. `lose_next_answer`: the next publishes land
    and their answer is lost (DEADLINE_EXCEEDED after Pub/Sub took the message): TransientError all
    the same, the message published."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._failures = 0
        self._lost_answers = 0
        self._lock = threading.Lock()
        self.injected = 0

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._failures += n

    def lose_next_answer(self, n: int = 1) -> None:
        with self._lock:
            self._lost_answers += n

    def clear(self) -> None:
        with self._lock:
            self._failures = 0
            self._lost_answers = 0

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        with self._lock:
            fail = self._failures > 0
            if fail:
                self._failures -= 1
                self.injected += 1
        if fail:
            raise transient_error("UNAVAILABLE", f"Publish to {topic}")
        message_id = self.inner.publish(topic, data, attributes, ordering_key=ordering_key)
        with self._lock:
            lose = self._lost_answers > 0
            if lose:
                self._lost_answers -= 1
                self.injected += 1
        if lose:
            raise transient_error("DEADLINE_EXCEEDED", f"Publish to {topic} (message {message_id} taken)")
        return message_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
