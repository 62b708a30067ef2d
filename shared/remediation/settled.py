"""What one instance remembers of incidents whose action is done: a redelivered alert is answered
without reading Firestore.

Safe because a completed claim never changes. The gate writes a claim once (claimed), completes
it once (completed, to expire after the retention period), and gives it back only while it still
holds it, before completing; no command and no sweep touches a claim. So until its `expires_at`,
a completed claim read once is what every later read would return. An entry is used only while
the claim has not expired by this instance's clock (the same test the read makes), only for the
kind of claim the config would read now (a dry-run claim does not answer once the action is
real), and a miss falls back to the read: the memory can only answer "duplicate" for an incident
that truly has a completed action, never turn a first delivery into a skip.

One difference from a read: if the incident has closed since, the read would answer "already
closed"; the memory answers "duplicate". Both are a skipped outcome with no action, and the CLOSED
itself was answered by the instance that handled it. Bounded (least recently used first out) and
per instance: it is lost on restart and not shared, which costs only a read.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from shared.ports import ClaimRecord, ClaimStatus


@dataclass(frozen=True)
class Settled:
    """An incident's completed claim: which action, on which target, under which key."""

    action: str
    target: str
    kind: str
    key: str
    record: ClaimRecord


class SettledIncidents:
    """A bounded, thread-safe map incident id -> its completed claim (the gunicorn worker serves
    several requests at once)."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1: {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[str, Settled] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, incident_id: str, settled: Settled) -> None:
        """Only a completed claim is remembered: one still in progress may yet be given back."""
        if settled.record.status is not ClaimStatus.COMPLETED:
            return
        with self._lock:
            self._entries[incident_id] = settled
            self._entries.move_to_end(incident_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def recall(self, incident_id: str, now: datetime) -> Settled | None:
        with self._lock:
            settled = self._entries.get(incident_id)
            if settled is None:
                return None
            if settled.record.expired(now):
                del self._entries[incident_id]
                return None
            self._entries.move_to_end(incident_id)
            return settled

    def forget(self, incident_id: str) -> None:
        with self._lock:
            self._entries.pop(incident_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
