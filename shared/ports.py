"""One small interface per external system. Adapters in shared/gcp implement them.

Every method either returns typed data or raises `shared.errors.TransientError` /
`PermanentError`: no Google exception type crosses a port.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Collection, Mapping, Protocol, Sequence

from pydantic import BaseModel, ConfigDict

from shared.diagnosis.evidence import (Connector, HistogramResult, LogResult, MetricQuery, MetricResult, Revision,
                             SecretVersionState, Service, TrafficTarget)
from shared.timeline.entries import EntryPage


class RunPort(Protocol):
    """Cloud Run Admin API v2."""

    def get_service(self, name: str) -> Service: ...

    def list_revisions(self, service_name: str) -> list[Revision]:
        """All revisions of the service, oldest first (sorted by create_time, not API order)."""
        ...

    def list_services(self, parent: str, page_size: int, page_token: str = "") -> tuple[list[Service], str]:
        """One page of the services in `parent` (projects/P/locations/L), from `page_token` ("" for the
        first), and the next page's token ("" when none follows)."""
        ...

    def set_traffic(self, service_name: str, traffic: Sequence[TrafficTarget], etag: str) -> Service:
        """UpdateService with only `traffic` changed; waits on the long-running operation.

        `etag` is the one read before planning: a concurrent change aborts the write.
        """
        ...


class MonitoringPort(Protocol):
    """Cloud Monitoring v3."""

    def query(self, query: MetricQuery) -> MetricResult:
        """One ListTimeSeries call, aligned and reduced as the query says, every page read."""
        ...

    def histograms(self, query: MetricQuery) -> HistogramResult:
        """One ListTimeSeries call whose points are distributions kept as they are (ALIGN_DELTA or
        ALIGN_SUM, REDUCE_NONE or REDUCE_SUM): each point's bucket bounds and counts, every page read."""
        ...


class LoggingPort(Protocol):
    """Cloud Logging v2."""

    def list_entries(self, project: str, filter: str, max_entries: int) -> LogResult:
        """Entries matching `filter` (which carries its own timestamp bounds), newest first,
        at most `max_entries` (fewer pages than that, never an unbounded read)."""
        ...


class LogPagesPort(Protocol):
    """Cloud Logging v2, one ListLogEntries page at a time (the incident timeline's reads).

    The caller pages on with `next_page_token` and decides when to stop, so no read is ever
    unbounded and memory holds one page at a time.
    """

    def read_page(self, project: str, filter: str, *, page_size: int, page_token: str = "",
                  order_by: str = "timestamp asc") -> EntryPage:
        """One page of the entries matching `filter` (which carries its own timestamp bounds)."""
        ...


class VpcAccessPort(Protocol):
    """Serverless VPC Access v1 (REST: the connector patch has no gRPC method)."""

    def get_connector(self, name: str) -> Connector: ...

    def update_connector(self, name: str, *, min_instances: int, max_instances: int,
                         machine_type: str | None = None) -> Connector:
        """PATCH with updateMask minInstances,maxInstances[,machineType]; waits on the operation."""
        ...


class SecretManagerPort(Protocol):
    """Secret Manager v1: a secret version's metadata only (GetSecretVersion), never its payload."""

    def get_secret_version(self, name: str) -> SecretVersionState:
        """The version `name` (projects/P/secrets/S/versions/V): its state. NOT_FOUND and PERMISSION_DENIED
        leave as PermanentError with that code."""
        ...


class PublisherPort(Protocol):
    """Pub/Sub publishing."""

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        """Publishes and waits for the server's ack; returns the message id."""
        ...


class ClaimStatus(str, Enum):
    CLAIMED = "claimed"       # in progress; expires after the claim TTL so a crash does not block forever
    COMPLETED = "completed"   # done; kept for the retention period so redeliveries stay no-ops


class ClaimRecord(BaseModel):
    """An idempotency record: claimed -> completed, or expired."""

    model_config = ConfigDict(extra="ignore")

    key: str
    owner: str
    status: ClaimStatus
    claimed_at: datetime
    expires_at: datetime
    result: dict = {}

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def left_unfinished(self, owner: str, now: datetime) -> bool:
        """Whether an earlier attempt (an owner other than `owner`, the one asking) took this claim and never
        finished it: not completed, its lease lapsed at `now`. That attempt died, or the commit after its write
        failed: the write may have taken with nothing recording it, and the gate would take the claim over and
        write again. A give-back that failed with nothing written leaves the same claim and cannot be told
        apart. Read before a retried write that stores no intent goes to the gate (an operator's restore,
        commands/recovery.unfinished_write; the sweep's undo, remediation/undo_attempt.undo_call), which is
        escalated instead."""
        return self.status is not ClaimStatus.COMPLETED and self.expired(now) and self.owner != owner


class ClaimResult(BaseModel):
    acquired: bool
    record: ClaimRecord
    took_over: bool = False   # acquired by replacing an expired record


def completed(held: ClaimRecord, retain: timedelta, now: datetime, result: dict[str, Any]) -> ClaimRecord:
    """`held` as `complete` leaves it: completed with `result`, to expire after `retain`. Both
    stores and the gate build it here, so a copy written beside it is the same record."""
    return held.model_copy(update={"status": ClaimStatus.COMPLETED, "result": result, "expires_at": now + retain})


@dataclass(frozen=True)
class RecordWrite:
    """One plain record written by `StateStore.record_all`: `put_record`'s whole-document replace,
    or (`merge`) only the top-level fields of `data`, the document's other fields kept, and the
    document created if there is none, or (`create`) the document only if there is none yet: if
    there is, the whole commit writes nothing and `record_all` answers False (so that of two
    attempts recording the same thing, exactly one does). `expect` (a merge only): written only if
    the document exists and every field in `expect` still has that value (a missing field counts
    as None), checked in the same atomic commit as every other write; if not, the whole commit
    writes nothing and `record_all` answers False (so that an adopter closing an intent another
    judge escalated meanwhile records nothing)."""

    kind: str
    key: str
    data: dict[str, Any]
    merge: bool = False
    create: bool = False
    expect: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.merge and self.create:
            raise ValueError(f"{self.kind}/{self.key}: a write is a merge or a create, not both")
        if self.expect is not None and not self.merge:
            raise ValueError(f"{self.kind}/{self.key}: only a merge can expect fields of the document it changes")


@dataclass(frozen=True)
class Completion:
    """The claim `kind/key` as the caller took it (`held`), to complete with `result` (see `complete`)."""

    kind: str
    key: str
    held: ClaimRecord
    retain: timedelta
    now: datetime
    result: dict[str, Any] = field(default_factory=dict)

    def done(self) -> ClaimRecord:
        return completed(self.held, self.retain, self.now, self.result)


class FoundRecord(dict):   # dict[str, Any]; a plain dict subclass, so every reader of a found record reads it as one
    """A plain record a finder returned (`StateStore.find_records`, `find_before`, `find_between`): its fields, as
    `get_record` returns them, and the key it is stored under (`document_key`). A query answers documents, and a
    record's own fields may not name its key: damaged, written by a version with other fields, or by another hand.
    The document key names it then, so that a reader that cannot read it says which record to look at and can
    address it (mark it told once), instead of only logging it (`found_key`; records.stored_key and read_record
    fall back to it). Equal to the dict of its fields; a copy of it (`dict(found)`) is a plain dict."""

    __slots__ = ("document_key",)

    def __init__(self, fields: Mapping[str, Any], document_key: str) -> None:
        super().__init__(fields)
        self.document_key = document_key


def found_key(data: Any) -> str | None:
    """The key a found record is stored under (`FoundRecord.document_key`); None for any other dict (a record read
    by its key, whose caller knows it) or an empty key."""
    key = getattr(data, "document_key", None)
    return key if isinstance(key, str) and key else None


class StateStore(Protocol):
    """Guardrail state (Firestore). Keys may contain '/', the adapter encodes them."""

    def claim(self, kind: str, key: str, owner: str, ttl: timedelta, now: datetime) -> ClaimResult:
        """Atomically create the record `kind/key`. If it exists and has expired, take it over
        (optimistically, guarded by its update time); otherwise return it, not acquired."""
        ...

    def claim_all(self, claims: Sequence[tuple[str, str, timedelta]], owner: str,
                  now: datetime) -> list[ClaimRecord] | None:
        """Atomically create every record `(kind, key, ttl)`, all or none, in one round trip.
        None, and nothing written, if any of them exists (expired or not): the caller falls back
        to `claim`, one record at a time, which also takes over expired records. The keys must be
        distinct. Required (`require_state_store`): the gate takes a write's claims with it."""
        ...

    def complete(self, kind: str, key: str, owner: str, retain: timedelta, now: datetime, result: dict) -> None:
        """Mark an owned claim completed, to expire after `retain`."""
        ...

    def release(self, kind: str, key: str, owner: str) -> None:
        """Delete the record if `owner` still holds it (so a failed attempt can be retried)."""
        ...

    def release_all(self, items: Sequence[tuple[str, str]], owner: str) -> None:
        """`release` of every `(kind, key)`: each deleted if `owner` still holds it, the others left as they
        are, in one round trip where the store can (those it created for `owner`, unchanged since: all or
        none, one at a time otherwise). Required: the gate gives back what a held-back write took through it
        (`Gate._give_back`), with no fallback to `release`."""
        ...

    def record_all(self, writes: Sequence[RecordWrite], completing: Completion | None = None) -> bool:
        """Every write, and the completion of the claim `completing` names, in one atomic commit:
        all or none. With `completing`, only while that claim is still exactly the record taken
        (`held`): otherwise nothing is written and the answer is False (the caller decides what to
        write without it). Likewise False, nothing written, if a `create` write's document exists
        (and not by this very call: a retried commit finds its own), or an `expect` write's document
        is missing or no longer holds what it expects (and not because this very call wrote it).
        True when written. A lost answer is recognised as `complete` and `put_record` recognise
        theirs. Required (`require_state_store`): nothing writes these records one call at a time, which
        could record an action without completing its claim, or the other way."""
        ...

    def get(self, kind: str, key: str) -> ClaimRecord | None: ...

    # --- plain records (action and incident records, flags) -----------------------------------
    # JSON-like dicts; datetimes are stored as timestamps and come back tz-aware.

    def put_record(self, kind: str, key: str, data: dict[str, Any]) -> None:
        """Create or replace the record `kind/key`."""
        ...

    def create_record(self, kind: str, key: str, data: dict[str, Any]) -> bool:
        """Create the record `kind/key` only if there is none, atomically, in one round trip: True
        if created (a retried commit that finds its own counts as created), False, nothing written,
        if the record exists."""
        ...

    def get_record(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """The documents at each `(kind, key)`, claims and plain records alike, in one round trip
        and in the order asked; None where there is none. A claim's fields validate as a
        `ClaimRecord`."""
        ...

    def get_many_deferred(self, keys: Sequence[tuple[str, str]], deferred: Collection[tuple[str, str]]) -> list[Any]:
        """`get_many`, in the same one round trip, except that each document whose `(kind, key)` is in `deferred`
        may come back decoded only as far as its reader asks: it answers `get(field)` as the dict would, and a
        `data()` that reads it whole where it is no dict (the Firestore store's `DeferredRecord`). A store with
        nothing to defer answers `get_many`'s dicts. Required (`require_state_store`): the state read before
        every alert's diagnosis is made with it (shared/pipeline.py `_read_many`), never a quieter other path."""
        ...

    def update_record(self, kind: str, key: str, changes: dict[str, Any],
                      expect: dict[str, Any] | None = None) -> bool:
        """Apply `changes` only if every field in `expect` still has that value (checked and
        written atomically, guarded by the record's update time). False if it did not match or
        the record does not exist; a lost race re-reads and re-checks."""
        ...

    def find_records(self, kind: str, field: str, value: Any, limit: int = 100) -> list[FoundRecord]:
        """Records whose top-level `field` equals `value` (an equality query), at most `limit`. Each carries the
        key it is stored under (`FoundRecord.document_key`), as every finder's records do."""
        ...

    def find_before(self, kind: str, field: str, value: Any, time_field: str, before: datetime,
                    limit: int = 100, since: datetime | None = None) -> list[FoundRecord]:
        """Records whose top-level `field` equals `value` and whose `time_field` (a timestamp) is
        earlier than `before` (and at or after `since`, if given: the next page of a walk), oldest
        first, at most `limit`: a page of what is overdue. A record without either field never
        matches. Required (`require_state_store`): the sweeps and the list of writes in flight page with it."""
        ...

    def find_between(self, kind: str, time_field: str, since: datetime, before: datetime,
                     limit: int = 100) -> list[FoundRecord]:
        """Records whose top-level `time_field` (a timestamp) is at or after `since` and earlier than
        `before`, oldest first, at most `limit`, whatever their other fields hold or lack: a page of a
        walk through a collection. A record without `time_field` never matches. Required
        (`require_state_store`): the sweep finds intents stored without a state with it
        (shared/remediation/verification.py)."""
        ...


# Every method of the StateStore port, read from the Protocol itself so that a method added to it is required too.
STATE_STORE_METHODS: tuple[str, ...] = tuple(
    name for name, member in vars(StateStore).items() if callable(member) and not name.startswith("_"))


def require_state_store(store: Any) -> StateStore:
    """`store`, once it is known to have every method of the StateStore port (STATE_STORE_METHODS); TypeError
    naming those it lacks otherwise. Nothing takes another path on a store without one (once: claims one at a
    time, records written one call at a time, intents not swept or walked): such a store fails where it is
    handed over (the gate, when built), not by quietly doing something else. A check of presence, as
    `typing.runtime_checkable` would make, without its cost on every delivery (a few attribute reads)."""
    missing = [name for name in STATE_STORE_METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise TypeError(f"{type(store).__name__} is no StateStore (shared/ports.py): it lacks {', '.join(missing)}")
    return store
