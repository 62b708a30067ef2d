"""In-memory stand-ins for Runwarden's own ports, for unit tests of pure logic only.

Integration and end-to-end tests use the Firestore emulator and the API stand-ins instead.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.errors import PermanentError, TransientError
from shared.evidence import Service, TrafficTarget
from shared.ports import ClaimRecord, ClaimResult, ClaimStatus


class MemoryStateStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ClaimRecord] = {}

    def claim(self, kind, key, owner, ttl: timedelta, now: datetime) -> ClaimResult:
        held = self.records.get((kind, key))
        if held and not held.expired(now):
            return ClaimResult(acquired=False, record=held)
        record = ClaimRecord(key=key, owner=owner, status=ClaimStatus.CLAIMED, claimed_at=now, expires_at=now + ttl)
        self.records[(kind, key)] = record
        return ClaimResult(acquired=True, record=record, took_over=held is not None)

    def complete(self, kind, key, owner, retain, now, result) -> None:
        held = self.records[(kind, key)]
        assert held.owner == owner
        self.records[(kind, key)] = held.model_copy(update={"status": ClaimStatus.COMPLETED,
                                                            "expires_at": now + retain, "result": result})

    def release(self, kind, key, owner) -> None:
        held = self.records.get((kind, key))
        if held and held.owner == owner:
            del self.records[(kind, key)]

    def get(self, kind, key):
        return self.records.get((kind, key))


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
