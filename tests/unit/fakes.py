"""In-memory stand-ins for Runwarden's own ports, for unit tests of pure logic only.

Integration and end-to-end tests use the Firestore emulator and the API stand-ins instead.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Mapping

from shared.errors import PermanentError, TransientError
from shared.diagnosis.evidence import Service, TrafficTarget
from shared.gcp.firestore import plain_record, record_matches
from shared.ports import ClaimRecord, ClaimResult, ClaimStatus


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

    def release(self, kind, key, owner) -> None:
        with self._lock:
            held = self.records.get((kind, key))
            if held and held.owner == owner:
                del self.records[(kind, key)]

    def get(self, kind, key):
        with self._lock:
            return self.records.get((kind, key))

    # --- plain records

    def put_record(self, kind: str, key: str, data: Mapping[str, Any]) -> None:
        record = plain_record(data)   # already a fresh copy
        with self._lock:
            self.documents[(kind, key)] = record

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

    def update_record(self, kind: str, key: str, changes: Mapping[str, Any],
                      expect: Mapping[str, Any] | None = None) -> bool:
        fields, wanted = plain_record(changes), plain_record(expect or {})
        with self._lock:
            record = self.documents.get((kind, key))
            if record is None or not record_matches(record, wanted):
                return False
            record.update(fields)
            return True

    def find_records(self, kind: str, field: str, value: Any, limit: int = 100) -> list[dict[str, Any]]:
        wanted = plain_record({field: value})[field]
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        with self._lock:
            # As in a Firestore query, a record without the field never matches, not even None.
            found = [record for (k, _), record in self.documents.items()
                     if k == kind and field in record and record[field] == wanted]
            return _copy_plain(found[:limit])


def _copy_plain(value: Any) -> Any:
    """A copy of a stored plain record (or None): `plain_record` leaves only dicts and lists to copy;
    the leaves (None, bool, int, float, str, bytes, UTC datetimes) are immutable. Much cheaper
    than copy.deepcopy, which the fast tier's 10^5 programs would otherwise spend much time in."""
    if isinstance(value, dict):
        return {name: _copy_plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy_plain(item) for item in value]
    return value


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


class Adapters:
    def __init__(self, run) -> None:
        self.run = run


__all__ = ["MemoryStateStore", "RecordingRun", "Adapters", "PermanentError", "TransientError"]
