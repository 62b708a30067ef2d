"""Guardrail state in Firestore (`shared.ports.StateStore`): idempotency claims and plain records.

Each claim or record is one document `{prefix}_{kind}/{encoded key}`. Atomicity comes from
creates (the precondition exists=false: fails if the document exists) and from update-time
preconditions on every later write, never from transactions: those are slow and abort
under contention (8 racers on the emulator take ~2 s and sometimes all fail).

The calls are made on raw protobuf messages, on a channel built as the client library builds its
own (shared/gcp/firestore_wire.py: the same requests, at a fraction of the CPU). The library is
imported on first use, to keep cold starts short; the emulator is found through
FIRESTORE_EMULATOR_HOST, as the library finds it.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
import urllib.parse
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Callable, Collection, Mapping, Sequence, TypeVar

from shared.errors import DamagedRecord, TransientError, classify
from shared.ports import ClaimRecord, ClaimResult, ClaimStatus, Completion, FoundRecord, RecordWrite

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_ID_BYTES = 1500        # Firestore's limit for a document id
# Firestore's limit for a field name, a map's keys included ("Maximum size of a field name: 1,500 bytes",
# Firestore "Quotas and limits", UNCONFIRMED in retrieved text; the emulator refuses a 1,600-byte map key:
# "Property ... contains an invalid nested entity").
MAX_FIELD_NAME_BYTES = 1500
HASHED_ID_PREFIX = 1400    # room left for the hash marker and a sha256 hex digest
RACE_ATTEMPTS = 5          # re-reads after a lost precondition race before giving up
READ_ATTEMPTS = 3          # tries of a read (idempotent) that meets transient faults
READ_FIRST_WAIT = 0.2      # seconds before its second try; doubling, at most READ_MAX_WAIT
READ_MAX_WAIT = 1.0
CREATED_REMEMBERED = 4096  # claims whose create's update time is kept for their completion (record_all)
# Hidden fields of plain records, stripped on read. The key is kept because a document id is an
# encoding of it (hashed when long); the write id tells our own update from someone else's.
KEY_FIELD = "_key"
WRITE_FIELD = "_write_id"
RESERVED_FIELDS = frozenset({KEY_FIELD, WRITE_FIELD})
_KIND = re.compile(r"^[A-Za-z0-9_-]+$")
# What one commit of `record_all` did (`_commit_checked`).
_WRITTEN, _CHANGED, _EXISTS = "written", "changed", "exists"
_UNMET = "unmet"   # a RecordWrite's `expect` no longer holds: nothing written
_RESERVED_ID = re.compile(r"^(\.|\.\.|__.*__)$")


# `urllib.parse.quote(key, safe="")` for an ASCII key: quote encodes the text as UTF-8 and replaces
# every byte but "Letters, digits, and the characters '_.-~'" with %XX in upper case hex
# (urllib.parse.quote, Python docs), one Python call per byte. An ASCII character is its own UTF-8
# byte, so each unsafe character of the key is replaced by its escape with one `str.replace`, "%"
# first: the escapes hold only "%" and hex digits, so no later replacement meets one. (A
# `str.translate` with a table of the escapes did the same one character at a time, about 12,000
# instructions for a claim's key: docs/performance.md.) Any other key is quoted by quote itself.
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_ESCAPES = {chr(code): f"%{code:02X}" for code in range(128) if chr(code) not in _SAFE}


def _quoted_ascii(key: str) -> str:
    unsafe = set(key).difference(_SAFE)
    if not unsafe:
        return key
    if "%" in unsafe:
        key = key.replace("%", "%25")
        unsafe.discard("%")
    for character in unsafe:
        key = key.replace(character, _ESCAPES[character])
    return key


@functools.lru_cache(maxsize=8192)
def document_id(key: str) -> str:
    """A valid, readable and injective Firestore document id for `key`.

    Percent-encoding removes '/'; reserved ids ('.', '..', '__x__') get their first character
    escaped, which plain quoting never does; over-long ids keep a readable prefix and end in
    '%~' + sha256, a sequence quoting never produces.
    """
    encoded = _quoted_ascii(key) if key.isascii() else urllib.parse.quote(key, safe="")
    if _RESERVED_ID.match(encoded):
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    if len(encoded) > MAX_ID_BYTES:
        encoded = f"{encoded[:HASHED_ID_PREFIX]}%~{hashlib.sha256(key.encode()).hexdigest()}"
    return encoded


class FirestoreStateStore:
    """`StateStore` on Firestore. Safe to share between threads; create one per instance."""

    # The IAM permission each method's calls need, from Firestore's "Security for server client
    # libraries", "Required permissions for API methods": batchGet = get; commit with exists=false =
    # create; with exists=true = update, and an update-time precondition (which requires the document
    # to exist) taken as the same: UNCONFIRMED, the table does not name it; with no precondition (a set,
    # a merge) = create and update; delete = delete; runQuery = get and list (an older copy of the page
    # named get alone; the current one names both, as for runAggregationQuery: without list the sweep's
    # queries are refused). beginTransaction needs datastore.databases.get: never called here.
    iam_permissions = {
        "claim": ("datastore.entities.get", "datastore.entities.create", "datastore.entities.update"),
        "claim_all": ("datastore.entities.get", "datastore.entities.create"),
        "complete": ("datastore.entities.get", "datastore.entities.update"),
        "release": ("datastore.entities.get", "datastore.entities.delete"),
        # the guarded deletes in one commit, and `release` of each should one have changed since.
        "release_all": ("datastore.entities.get", "datastore.entities.delete"),
        # get: the claim before its guarded update (unless this store created it) and after a lost
        # answer; create and update: sets and merges.
        "record_all": ("datastore.entities.get", "datastore.entities.create", "datastore.entities.update"),
        # get: re-reading a create whose answer was lost (its write id, `record_all`).
        "create_record": ("datastore.entities.get", "datastore.entities.create"),
        "get": ("datastore.entities.get",),
        # get: re-reading a record whose write's answer was lost (_landed).
        "put_record": ("datastore.entities.get", "datastore.entities.create", "datastore.entities.update"),
        "get_record": ("datastore.entities.get",),
        "get_many": ("datastore.entities.get",),
        "get_many_deferred": ("datastore.entities.get",),   # the same BatchGetDocuments
        "update_record": ("datastore.entities.get", "datastore.entities.update"),
        "find_records": ("datastore.entities.get", "datastore.entities.list"),
        "find_before": ("datastore.entities.get", "datastore.entities.list"),
        "find_between": ("datastore.entities.get", "datastore.entities.list"),
    }

    def __init__(self, project: str, database: str = "(default)", collection_prefix: str = "runwarden",
                 *, timeout: float = 10.0) -> None:
        self.project = project
        self.database = database
        self.collection_prefix = collection_prefix
        self.timeout = timeout
        self._client: Any = None
        self._wire: Any = None
        self._lock = threading.Lock()
        # Claims this store created, by document name: (the record, its update time as the commit
        # answered it). See `_created_at`.
        self._created: OrderedDict[str, tuple[ClaimRecord, Any]] = OrderedDict()
        self._collections: dict[str, str] = {}   # kind -> "{the database's documents}/{collection}/"

    # ------------------------------------------------------------------ StateStore

    def claim(self, kind: str, key: str, owner: str, ttl: timedelta, now: datetime) -> ClaimResult:
        _require_aware(now)
        record = ClaimRecord(key=key, owner=owner, status=ClaimStatus.CLAIMED, claimed_at=now, expires_at=now + ttl)
        name = self._name(kind, key)
        for _ in range(RACE_ATTEMPTS):
            if self._landed(lambda: self._create(name, record), lambda: self._all_ours([name], [record])):
                return ClaimResult(acquired=True, record=record)
            snapshot = self._snapshot(name)
            if not snapshot.exists:
                continue  # released between our create and our read: try to create again
            current = _record(snapshot)
            if current == record:
                # Our own create, retried by the client after a lost response (Commit retries
                # UNAVAILABLE). Same owner and same timestamps: this very call, not a redelivery.
                return ClaimResult(acquired=True, record=record)
            if not current.expired(now):
                return ClaimResult(acquired=False, record=current)
            if self._update_if_unchanged(name, snapshot, _fields(record)):
                return ClaimResult(acquired=True, record=record, took_over=True)
            # Another claimant took it over first; the next read returns its record.
        raise TransientError(f"claim {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def claim_all(self, claims: Sequence[tuple[str, str, timedelta]], owner: str,
                  now: datetime) -> list[ClaimRecord] | None:
        """One Commit of `create`s (each with the precondition exists=false). A commit is atomic:
        "Atomically commits all pending operations to the database and verifies all
        preconditions. Fails the entire write if any precondition is not met", and a create "will
        fail the batch if a document exists at its location" (WriteBatch reference, Cloud
        Firestore client libraries; google-cloud-firestore's `WriteBatch.create` docstring: "this
        batch will fail when commit-ed"). The emulator answers ALREADY_EXISTS and writes none."""
        from google.api_core.exceptions import AlreadyExists

        _require_aware(now)
        records = [ClaimRecord(key=key, owner=owner, status=ClaimStatus.CLAIMED, claimed_at=now, expires_at=now + ttl)
                   for _, key, ttl in claims]
        names = [self._name(kind, key) for kind, key, _ in claims]
        if len(set(names)) != len(names):
            raise ValueError(f"claim_all: the same record twice in {[(k, key) for k, key, _ in claims]}")
        if not names:
            return []
        wire = self._wired()
        writes = [wire.create_write(name, _fields(record)) for name, record in zip(names, records)]
        try:
            response = self._landed(lambda: _call(lambda: wire.commit(writes, self.timeout, self._write_retry()),
                                                  reraise=(AlreadyExists,)),
                                    lambda: self._all_ours(names, records))
            self._note_created(names, records, response)
            return records
        except AlreadyExists:
            # Either someone holds one of them, or this very commit landed, its response was lost
            # and the client's retry found its own documents (same owner, same timestamps).
            return records if self._all_ours(names, records) else None

    def _all_ours(self, names: Sequence[str], records: Sequence[ClaimRecord]) -> bool:
        """Every document is exactly the record this call wrote (one batched read)."""
        found = {snapshot.name: snapshot for snapshot in self._batch_get(names)}
        return all(name in found and found[name].exists and _record(found[name]) == record
                   for name, record in zip(names, records))

    def complete(self, kind: str, key: str, owner: str, retain: timedelta, now: datetime, result: dict) -> None:
        _require_aware(now)
        name = self._name(kind, key)
        for _ in range(RACE_ATTEMPTS):
            snapshot = self._snapshot(name)
            if not self._owned_by(snapshot, owner, f"complete {kind}/{key}"):
                return
            fields = {"status": ClaimStatus.COMPLETED.value, "result": result, "expires_at": now + retain}
            done = _record(snapshot).model_copy(update={"status": ClaimStatus.COMPLETED, "result": result,
                                                        "expires_at": now + retain})
            if self._landed(lambda: self._update_if_unchanged(name, snapshot, fields),
                            lambda: self._all_ours([name], [done])):
                return
        raise TransientError(f"complete {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def release(self, kind: str, key: str, owner: str) -> None:
        name = self._name(kind, key)
        created_at = self._created_for(name, owner)
        if created_at is not None:
            # Created by this store for `owner`: deleted with no read first, guarded by the update time its
            # create left (`_note_created`); changed since (taken over, completed), it is read as below.
            # A delete whose answer was lost has done what was asked if the record is gone.
            if self._landed(lambda: self._if_unchanged([self._wired().delete_write(name, created_at)]),
                            lambda: not self._snapshot(name).exists):
                return
        for _ in range(RACE_ATTEMPTS):
            snapshot = self._snapshot(name)
            if not self._owned_by(snapshot, owner, f"release {kind}/{key}"):
                return
            # A delete whose answer was lost has done what was asked if the record is gone.
            if self._landed(lambda: self._delete_if_unchanged(name, snapshot),
                            lambda: not self._snapshot(name).exists):
                return
        raise TransientError(f"release {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def release_all(self, items: Sequence[tuple[str, str]], owner: str) -> None:
        """`release` of every `(kind, key)`, with the records this store created for `owner` deleted in one
        Commit: each delete guarded by the update time its create answered with (no read first), all or none
        ("Fails the entire write if any precondition is not met", WriteBatch reference, Cloud Firestore client
        libraries; Precondition.update_time: "When set, the target document must exist and have been last
        updated at that time", google/firestore/v1/common.proto). One of them changed since (taken over once
        lapsed, completed) fails the commit and nothing is deleted by it: each is then released one at a time,
        read first, as `release` does one it did not create. A commit whose answer was lost has done what was
        asked if none of them is left. The others (not created here, or for another owner) go one at a time."""
        names = {item: self._name(*item) for item in dict.fromkeys(items)}
        guarded = {item: at for item, name in names.items() if (at := self._created_for(name, owner)) is not None}
        rest = [item for item in names if item not in guarded]
        if guarded:
            wire = self._wired()
            writes = [wire.delete_write(names[item], at) for item, at in guarded.items()]
            if not self._landed(lambda: self._if_unchanged(writes),
                                lambda: not any(s.exists for s in self._batch_get([names[i] for i in guarded]))):
                rest = [*guarded, *rest]   # their update times are forgotten: read, then deleted if still owned
        for kind, key in rest:
            self.release(kind, key, owner)

    def record_all(self, writes: Sequence[RecordWrite], completing: Completion | None = None) -> bool:
        """One Commit: the claim's completion (an update guarded by the claim's update time: the
        one its create answered with when this store made it, so no read comes first; otherwise
        read, as in `complete`), every set, merge and create. A commit "Atomically commits all pending
        operations to the database and verifies all preconditions. Fails the entire write if any
        precondition is not met" (WriteBatch reference, Cloud Firestore client libraries;
        google/firestore/v1/firestore.proto, CommitRequest: "The writes to apply. Always executed
        atomically and in order"), so a claim changed since it was read leaves every record
        unwritten too, and so does a create whose document exists (the precondition exists=false,
        answered ALREADY_EXISTS, as in `claim_all`). A lost answer is recognised by re-reading one
        document of the commit: the claim (exactly the completed record), or else the first record's
        write id; a create that finds its document is this very commit if the document carries
        this call's write id (the client retried a commit whose answer was lost).

        A write with `expect` is an update guarded by the update time its document has as read just
        before each try of the commit (`_guarded`): Precondition.update_time, "When set, the target
        document must exist and have been last updated at that time" (google/firestore/v1/common.proto),
        so a change landing between that read and the commit fails the whole commit, and the read
        and the check are made again."""
        if completing is not None:
            _require_aware(completing.now)
        wire = self._wired()
        write_id = uuid.uuid4().hex
        unguarded = [self._record_write(wire, write, write_id) for write in writes]
        created = [self._name(write.kind, write.key) for write in writes if write.create]

        def guarded() -> Any:
            """The records' writes, or _UNMET / _WRITTEN (an `expect` write's document as read)."""
            return self._guarded(wire, writes, unguarded, write_id)

        def answered(outcome: Any) -> Any:
            """A create's document found: this very commit's (written), or someone else's (nothing written)."""
            if outcome is not _EXISTS:
                return outcome
            return _WRITTEN if self._written_by(created[0], write_id) else _EXISTS

        if completing is None:
            if not unguarded:
                return True
            first = self._name(writes[0].kind, writes[0].key)
            for _ in range(RACE_ATTEMPTS):
                records = guarded()
                if records is _WRITTEN or records is _UNMET:
                    return records is _WRITTEN
                outcome = self._landed(lambda: self._commit_checked(records),
                                       lambda: self._written_by(first, write_id))
                outcome = answered(_WRITTEN if outcome is True else outcome)
                if outcome is not _CHANGED:   # _CHANGED: an `expect` write's document changed since read
                    return outcome is _WRITTEN
            raise TransientError(f"record_all {first}: a guarded record kept changing under {RACE_ATTEMPTS} attempts")
        name, done = self._name(completing.kind, completing.key), completing.done()
        fields = {"status": done.status.value, "result": done.result, "expires_at": done.expires_at}

        def commit(claim_updated_at: Any) -> Any:
            """The claim's completion, guarded by its update time, with every record: _WRITTEN, or
            _CHANGED if the claim (or an `expect` write's document) changed since, or _EXISTS if a
            create's document exists, or _UNMET if an `expect` no longer holds (nothing written in
            any of these cases)."""
            records = guarded()
            if records is _WRITTEN or records is _UNMET:
                return records
            claim = wire.update_write(name, fields, claim_updated_at)
            outcome = self._landed(lambda: self._commit_checked([claim, *records]),
                                   lambda: self._all_ours([name], [done]))
            return answered(_WRITTEN if outcome is True else outcome)

        created_at = self._created_at(name, completing.held)
        if created_at is not None:
            outcome = commit(created_at)
            if outcome is not _CHANGED:
                return outcome is _WRITTEN
        # Not created by this store, or changed since: read it.
        for _ in range(RACE_ATTEMPTS):
            snapshot = self._snapshot(name)
            if snapshot.exists and _record(snapshot) == done:
                # This very commit, retried by the client after a lost response (Commit retries
                # UNAVAILABLE): its retry failed the precondition its first try had met. Atomic,
                # so every record of it landed with the claim.
                return True
            if not snapshot.exists or _record(snapshot) != completing.held:
                log.warning("record_all: %s/%s is no longer the claim %s took; not completed",
                            completing.kind, completing.key, completing.held.owner)
                return False
            outcome = commit(snapshot.update_time)
            if outcome is not _CHANGED:
                return outcome is _WRITTEN
            # The claim (or a guarded record) changed between its read and the commit: nothing was
            # written; read again.
        raise TransientError(f"record_all {completing.kind}/{completing.key}: record kept changing under "
                             f"{RACE_ATTEMPTS} attempts")

    def _guarded(self, wire: Any, writes: Sequence[RecordWrite], unguarded: list[Any], write_id: str) -> Any:
        """`unguarded` (the wire writes of `writes`), each write with `expect` replaced by an update
        guarded by its document's update time as read now (one BatchGetDocuments for them all). _UNMET
        if such a document is missing or no longer holds what is expected; _WRITTEN if it carries
        this call's write id (this very commit landed, its answer lost and the retry refused)."""
        names = {index: self._name(write.kind, write.key) for index, write in enumerate(writes)
                 if write.expect is not None}
        if not names:
            return unguarded
        found = {snapshot.name: snapshot for snapshot in self._batch_get(list(dict.fromkeys(names.values())))}
        records = list(unguarded)
        for index, name in names.items():
            snapshot = found.get(name)
            if snapshot is None or not snapshot.exists:
                return _UNMET
            current = snapshot.to_dict()
            if current.get(WRITE_FIELD) == write_id:
                return _WRITTEN
            if not record_matches(current, plain_record(writes[index].expect or {})):
                return _UNMET
            records[index] = wire.update_write(name, _stored(writes[index], write_id), snapshot.update_time)
        return records

    def _record_write(self, wire: Any, write: RecordWrite, write_id: str) -> Any:
        fields = _stored(write, write_id)
        name = self._name(write.kind, write.key)
        if write.create:
            return wire.create_write(name, fields)
        return wire.merge_write(name, fields) if write.merge else wire.set_write(name, fields)

    def _commit_checked(self, writes: Sequence[Any]) -> Any:
        """Commits `writes` together: _WRITTEN; _CHANGED, none written, if an update-time
        precondition failed (FAILED_PRECONDITION, or NOT_FOUND for a deleted document); _EXISTS,
        none written, if a create's document exists (ALREADY_EXISTS).

        A create is a write with the precondition `exists: false` ("When set to false, the target
        document must not exist": Precondition, google/firestore/v1/common.proto). Its failure:
        "Raises: google.cloud.exceptions.Conflict: If the document already exists"
        (DocumentReference.create docstring, google-cloud-firestore 2.34.1). Conflict is HTTP 409,
        which ABORTED shares; that it is ALREADY_EXISTS (api_core's AlreadyExists) is what the
        emulator answers (tests/integration/test_firestore_state.py) and what google.rpc.Code
        defines it for ("The entity that a client attempted to create ... already exists"), not
        confirmed against production Firestore. An ABORTED would go on as a transient fault."""
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition, NotFound

        wire = self._wired()
        try:
            _call(lambda: wire.commit(writes, self.timeout, self._write_retry()),
                  reraise=(FailedPrecondition, NotFound, AlreadyExists))
            return _WRITTEN
        except AlreadyExists:
            return _EXISTS
        except (FailedPrecondition, NotFound):
            return _CHANGED

    def get(self, kind: str, key: str) -> ClaimRecord | None:
        snapshot = self._snapshot(self._name(kind, key))
        return _record(snapshot) if snapshot.exists else None

    # ------------------------------------------------------------------ StateStore: plain records

    def put_record(self, kind: str, key: str, data: Mapping[str, Any]) -> None:
        write_id = uuid.uuid4().hex
        fields = plain_record(data) | {KEY_FIELD: key, WRITE_FIELD: write_id}
        wire, name = self._wired(), self._name(kind, key)
        # A set replaces the whole document, so the client's retry after a lost response is harmless.
        write = wire.set_write(name, fields)
        self._landed(lambda: _call(lambda: wire.commit([write], self.timeout, self._write_retry())),
                     lambda: self._written_by(name, write_id))

    def create_record(self, kind: str, key: str, data: Mapping[str, Any]) -> bool:
        """One Commit whose write has the precondition exists=false (`record_all` with a `create`
        write: a lost answer recognised by the write id)."""
        return self.record_all([RecordWrite(kind, key, dict(data), create=True)])

    def get_record(self, kind: str, key: str) -> dict[str, Any] | None:
        snapshot = self._snapshot(self._name(kind, key))
        return _visible(snapshot.to_dict()) if snapshot.exists else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """Every `(kind, key)` document in one BatchGetDocuments call, in the order asked.

        The server may answer in any order and answers a repeated reference once ("Documents
        returned by this method are not guaranteed to be returned in the same order", "If
        multiple references refer to the same document, the server will only return one
        result": Client.get_all docstring, google-cloud-firestore), so answers are matched by
        document path. A missing document is None.
        """
        names = [self._name(kind, key) for kind, key in keys]
        if not names:
            return []
        found = {snapshot.name: snapshot for snapshot in self._batch_get(list(dict.fromkeys(names)))}
        answers = []
        for name in names:
            snapshot = found.get(name)
            # A repeated name is decoded again: every answer is a dict of its own, as before.
            answers.append(_visible_of(snapshot.decoded()) if snapshot is not None and snapshot.exists else None)
        return answers

    def get_many_deferred(self, keys: Sequence[tuple[str, str]],
                          deferred: Collection[tuple[str, str]]) -> list[Any]:
        """`get_many`, in the same one BatchGetDocuments call, except that each document whose
        `(kind, key)` is in `deferred` comes back as a `DeferredRecord`: decoded only as far as
        its reader asks (one field, or all of it). For a large record that is mostly not read: a
        redelivery reads its message's intent whole only when no SETTLED entry records its claim
        (shared/pipeline.py `_AlertRun.prior`). A method of the port (shared/ports.py StateStore): a store with
        nothing to defer answers `get_many`'s dicts, which answer `get` alike (shared.pipeline `_record_data`
        reads either whole)."""
        names = [self._name(kind, key) for kind, key in keys]
        if not names:
            return []
        found = {snapshot.name: snapshot for snapshot in self._batch_get(list(dict.fromkeys(names)))}
        answers: list[Any] = []
        for name, read in zip(names, keys):
            snapshot = found.get(name)
            if snapshot is None or not snapshot.exists:
                answers.append(None)
            elif read in deferred:
                answers.append(DeferredRecord(snapshot))
            else:
                answers.append(_visible_of(snapshot.decoded()))
        return answers

    def update_record(self, kind: str, key: str, changes: Mapping[str, Any],
                      expect: Mapping[str, Any] | None = None) -> bool:
        fields, wanted = plain_record(changes), plain_record(expect or {})
        write_id = uuid.uuid4().hex
        # Top-level fields: a name like "a.b" is one field, as in put_record, not a path (the
        # update's mask quotes it: firestore_wire.Wire.update_write).
        update = fields | {WRITE_FIELD: write_id}
        name = self._name(kind, key)
        for _ in range(RACE_ATTEMPTS):
            snapshot = self._snapshot(name)
            if not snapshot.exists:
                return False
            current = snapshot.to_dict()
            if current.get(WRITE_FIELD) == write_id:
                # Our write landed but its response was lost; the client's retry then failed the
                # precondition. It was this call that applied the changes.
                return True
            if not record_matches(current, wanted):
                return False
            if not fields:
                return True  # nothing to change: the check was the whole request
            if self._update_if_unchanged(name, snapshot, update):
                return True
            # Someone wrote in between: re-read, and re-check `expect` against their write.
        raise TransientError(f"update {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def find_records(self, kind: str, field: str, value: Any, limit: int = 100) -> list[FoundRecord]:
        wanted = plain_record({field: value})[field]
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        # A single-field equality needs no composite index. Documents without the field never match.
        wire, collection, path = self._wired(), self._collection_id(kind), _field_path(field)
        snapshots = _retry_transient(lambda: _call(lambda: wire.query(collection, path, wanted, limit, self.timeout)))
        # Snapshot.name: the document's full resource name, ".../documents/{collection}/{document id}".
        return [_found(snapshot.to_dict(), snapshot.name.rpartition("/")[2]) for snapshot in snapshots]

    def find_before(self, kind: str, field: str, value: Any, time_field: str, before: datetime,
                    limit: int = 100, since: datetime | None = None) -> list[FoundRecord]:
        """One RunQuery: `field == value AND time_field < before ORDER BY time_field LIMIT limit`
        (with `AND time_field >= since` when `since` is given: the next page of a walk by `time_field`;
        two range filters on the one field the order is on, so the same composite index serves it),
        through the client library's query (only the sweep makes it, a few times an hour, so the
        hot path's raw calls, firestore_wire.py, are not needed). An equality and a range filter on
        different fields need a composite index ("If you attempt a compound query with a range
        clause that doesn't map to an existing index, you receive an error", Firestore "Index types":
        composite indexes), which infra/firestore.tf defines for the intents; the emulator needs none.
        A record without `time_field` never matches: the order it needs excludes it ("orderBy is
        required to reference all fields used with an inequality filter", StructuredQuery, Firestore
        REST reference). Whether a value of another type than a timestamp can match a `<` on a
        timestamp is UNCONFIRMED here; the records swept (IntentRecord.noted_at) always hold one."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        _require_aware(before)
        if since is not None:
            _require_aware(since)
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        wanted, bound = plain_record({field: value, time_field: before}).values()
        collection = self._firestore().collection(self._collection_id(kind))
        equal, earlier = _field_path(field), _field_path(time_field)
        query = collection.where(filter=FieldFilter(equal, "==", wanted)).where(filter=FieldFilter(earlier, "<", bound))
        if since is not None:
            query = query.where(filter=FieldFilter(earlier, ">=", plain_record({"since": since})["since"]))
        query = query.order_by(earlier).limit(limit)
        snapshots = _retry_transient(lambda: _call(lambda: list(query.stream(timeout=self.timeout))))
        return [_found(snapshot.to_dict(), snapshot.id) for snapshot in snapshots]

    def find_between(self, kind: str, time_field: str, since: datetime, before: datetime,
                     limit: int = 100) -> list[FoundRecord]:
        """One RunQuery: `since <= time_field < before ORDER BY time_field LIMIT limit`. Two range
        filters on one field need no composite index: by default Firestore "automatically maintains
        single-field indexes for each field in a document" (Firestore "Standard edition index
        overview", automatic indexing), and
        `orderBy` on the field the range is on is what StructuredQuery requires ("orderBy is required
        to reference all fields used with an inequality filter", Firestore REST reference). Ties are
        ordered by document name (the same reference: "If an order on __name__ is not specified, it
        is appended by default"). A record without `time_field` never matches (see `find_before`)."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        _require_aware(since)
        _require_aware(before)
        if limit < 1:
            raise ValueError(f"limit must be at least 1: {limit}")
        low, high = plain_record({"since": since, "before": before}).values()
        path = _field_path(time_field)
        query = (self._firestore().collection(self._collection_id(kind))
                 .where(filter=FieldFilter(path, ">=", low)).where(filter=FieldFilter(path, "<", high))
                 .order_by(path).limit(limit))
        snapshots = _retry_transient(lambda: _call(lambda: list(query.stream(timeout=self.timeout))))
        return [_found(snapshot.to_dict(), snapshot.id) for snapshot in snapshots]

    # ------------------------------------------------------------------ Firestore calls

    def _create(self, name: str, record: ClaimRecord) -> bool:
        """True if created, False if the document already exists."""
        from google.api_core.exceptions import AlreadyExists

        wire = self._wired()
        write = wire.create_write(name, _fields(record))
        try:
            response = _call(lambda: wire.commit([write], self.timeout, self._write_retry()), reraise=(AlreadyExists,))
        except AlreadyExists:
            return False
        self._note_created([name], [record], response)
        return True

    def _note_created(self, names: Sequence[str], records: Sequence[ClaimRecord], response: Any) -> None:
        """Keeps each created claim's update time from the commit's answer (none after a lost
        answer). CommitResponse.write_results: "The result of applying the writes. This i-th write
        result corresponds to the i-th write in the request"; WriteResult.update_time: "The last
        update time of the document after applying the write" (google/firestore/v1/firestore.proto,
        write.proto)."""
        results = list(getattr(response, "write_results", ()))
        if len(results) != len(names):
            return
        with self._lock:
            for name, record, result in zip(names, records, results):
                if result.HasField("update_time"):
                    self._created[name] = (record, result.update_time)
                    self._created.move_to_end(name)
            while len(self._created) > CREATED_REMEMBERED:
                self._created.popitem(last=False)

    def _created_at(self, name: str, record: ClaimRecord) -> Any | None:
        """The update time `record`'s create left on `name`, if this store made it (and once only).
        A completion guarded by it needs no read first: if the document changed since (expired and
        taken over, released), the precondition fails the whole commit, and the claim is read."""
        with self._lock:
            created = self._created.pop(name, None)
        if created is None or created[0] != record:
            return None
        from shared.gcp.firestore_wire import timestamp

        return timestamp(created[1])

    def _created_for(self, name: str, owner: str) -> Any | None:
        """The update time the create of `name` by `owner` left, if this store made it (and once only:
        forgotten as it is used). One created for another owner is left remembered for it."""
        with self._lock:
            created = self._created.get(name)
            if created is None or created[0].owner != owner:
                return None
            del self._created[name]
        from shared.gcp.firestore_wire import timestamp

        return timestamp(created[1])

    def _landed(self, write: Callable[[], T], landed: Callable[[], bool]) -> T | bool:
        """`write()`; if it fails transiently, the commit may have been applied with its answer
        lost: DEADLINE_EXCEEDED "may be returned even if the operation has completed
        successfully" (google.rpc.Code, googleapis google/rpc/code.proto), and a connection lost
        after the commit is UNAVAILABLE once the client's retries are spent. `landed()` then
        re-reads: True means the documents are exactly what this call wrote (same owner,
        timestamps and result, or the same write id), so this call applied it. Otherwise the
        error goes on: it did not land, or has not yet (a late commit is handled as an attempt
        that died, docs/behaviour.md)."""
        try:
            return write()
        except TransientError:
            try:
                found = landed()
            except TransientError:
                found = False
            if found:
                log.warning("a Firestore commit was applied but its answer was lost; recognised by re-reading it")
                return True
            raise

    def _written_by(self, name: str, write_id: str) -> bool:
        snapshot = self._snapshot(name)
        return snapshot.exists and snapshot.to_dict().get(WRITE_FIELD) == write_id

    def _update_if_unchanged(self, name: str, snapshot: Any, fields: dict[str, Any]) -> bool:
        """Updates top-level `fields`, guarded by the snapshot's update time."""
        return self._if_unchanged([self._wired().update_write(name, fields, snapshot.update_time)])

    def _delete_if_unchanged(self, name: str, snapshot: Any) -> bool:
        return self._if_unchanged([self._wired().delete_write(name, snapshot.update_time)])

    def _if_unchanged(self, writes: Sequence[Any]) -> bool:
        """Commits `writes` together, one of them (or more) carrying a last-update-time
        precondition. False, and none written, if someone else wrote (or deleted) that document
        since the snapshot was read."""
        from google.api_core.exceptions import FailedPrecondition, NotFound

        wire = self._wired()
        try:
            _call(lambda: wire.commit(writes, self.timeout, self._write_retry()),
                  reraise=(FailedPrecondition, NotFound))
            return True
        except (FailedPrecondition, NotFound):
            return False

    def _write_retry(self) -> Any:
        """Commit's default retry (UNAVAILABLE, RESOURCE_EXHAUSTED) but bounded by our timeout,
        not 60 s. A write retried after a lost response is safe: a repeated create is recognised
        in claim(), a repeated guarded update or delete fails its precondition and is re-read."""
        from google.api_core import exceptions
        from google.api_core.retry import Retry, if_exception_type

        return Retry(predicate=if_exception_type(exceptions.ServiceUnavailable, exceptions.ResourceExhausted),
                     initial=0.1, maximum=1.0, multiplier=2.0, timeout=self.timeout)

    def _snapshot(self, name: str) -> Any:
        """One document (`firestore_wire.Snapshot`), by its full name."""
        snapshots = self._batch_get([name])
        if len(snapshots) != 1 or snapshots[0].name != name:
            raise TransientError(f"BatchGetDocuments for {name} answered {[s.name for s in snapshots]}")
        return snapshots[0]

    def _batch_get(self, names: Sequence[str]) -> list[Any]:
        """A read: idempotent, so transient faults are retried briefly."""
        wire = self._wired()
        return _retry_transient(lambda: _call(lambda: wire.batch_get(names, self.timeout)))

    def _owned_by(self, snapshot: Any, owner: str, action: str) -> bool:
        if not snapshot.exists:
            log.warning("%s by %s: no record (expired and released, or never claimed)", action, owner)
            return False
        holder = snapshot.get("owner")
        if holder != owner:
            log.warning("%s by %s: the record is held by %s, left unchanged", action, owner, holder)
            return False
        return True

    def _collection_id(self, kind: str) -> str:
        if not _KIND.match(kind):
            raise ValueError(f"kind must match {_KIND.pattern}: {kind!r}")
        return f"{self.collection_prefix}_{kind}"

    def _name(self, kind: str, key: str) -> str:
        """The full resource name of a document (what the wire calls take and answer with): its
        collection's name, made once per kind (`Wire.name`), then the document id."""
        collection = self._collections.get(kind)
        if collection is None:
            collection = self._collections[kind] = self._wired().name(self._collection_id(kind), "")
        return collection + document_id(key)

    def warm(self) -> None:
        """Builds the client and the channel every call goes on (shared/gcp/firestore_wire.py) and
        opens its connection now (no call is made); idempotent."""
        from shared.gcp.endpoints import connect_channel

        connect_channel(self._wired().channel)

    def _wired(self) -> Any:
        """The raw-protobuf calls on this client's channel (shared/gcp/firestore_wire.py)."""
        wire = self._wire
        if wire is None:
            client = self._firestore()
            with self._lock:
                if self._wire is None:
                    from shared.gcp.firestore_wire import Wire

                    self._wire = _call(lambda: Wire(client, self._new_channel(client)))
                wire = self._wire
        return wire

    def _firestore(self) -> Any:
        # Created once and reused: Cloud Functions keeps the instance warm between events.
        with self._lock:
            if self._client is None:
                self._client = _call(self._new_client)
            return self._client

    def _new_channel(self, client: Any) -> Any:
        from shared.gcp.firestore_wire import open_channel

        return open_channel(client)

    def _new_client(self) -> Any:
        from google.cloud import firestore

        return firestore.Client(project=self.project, database=self.database)


# ---------------------------------------------------------------------- records


def _fields(record: ClaimRecord) -> dict[str, Any]:
    # Datetimes are stored as Firestore timestamps (tz-aware UTC when read back).
    return record.model_dump(mode="python") | {"status": record.status.value}


def _record(snapshot: Any) -> ClaimRecord:
    """The claim as stored; one this version cannot read raises DamagedRecord naming its collection and key,
    which the alert path answers `escalated` (pipeline.handle_alert). Read from the snapshot's full name
    (`firestore_wire.Snapshot.name`, Document.name: "projects/{project_id}/databases/{database_id}/documents/
    {document_path}", google/firestore/v1/document.proto): its collection id, and the claim's own `key` field,
    else its document id percent-decoded (`document_id` encodes a key so). The wire's snapshot has no
    `reference`: read through it, a damaged claim raised AttributeError instead of naming itself."""
    fields = snapshot.to_dict()
    try:
        return ClaimRecord.model_validate(fields)
    except ValueError as exc:
        path, _, document = snapshot.name.rpartition("/")
        key = fields.get("key") if isinstance(fields, dict) else None
        named = key if isinstance(key, str) and key else urllib.parse.unquote(document)
        raise DamagedRecord(path.rpartition("/")[2], repr(named), _why(exc)) from None


def _why(exc: ValueError) -> str:
    """Its first error, short (records.why_unreadable's wording; shared/gcp does not import the records)."""
    errors = getattr(exc, "errors", None)
    first = errors()[0] if callable(errors) and errors() else None
    if first:
        return f"{'.'.join(str(p) for p in first.get('loc', ())) or 'record'}: {first.get('msg', '')}"[:200]
    return (str(exc).splitlines() or [""])[0][:200]


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware (UTC): Firestore stores instants")


def plain_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy of `data` as Firestore stores it, or ValueError / TypeError for what it
    would reject or silently change. Shared with the in-memory store, so both agree.

    Enums become their values, datetimes UTC (naive ones are refused: their instant is
    unknown), tuples lists. The hidden fields' names are refused at the top level.
    """
    plain = _plain_map(data)
    reserved = RESERVED_FIELDS.intersection(plain)
    if reserved:
        raise ValueError(f"reserved field names: {sorted(reserved)}")
    return plain


def record_matches(record: Mapping[str, Any], expect: Mapping[str, Any]) -> bool:
    """True if every `expect` field has that value in `record` (a missing field counts as None)."""
    return all(record.get(name) == value for name, value in expect.items())


def _plain_map(data: Mapping[str, Any]) -> dict[str, Any]:
    # A dict first: `isinstance(x, Mapping)` goes through ABCMeta.__instancecheck__ (a Python call).
    if type(data) is not dict and not isinstance(data, Mapping):
        raise TypeError(f"a record must be a mapping, not {type(data).__name__}")
    for name in data:
        if type(name) is not str or not name:
            if not isinstance(name, str) or not name:
                raise ValueError(f"field names must be non-empty strings: {name!r}")
        if name[:2] == "__" and name[-2:] == "__" and len(name) >= 4:
            # Firestore: field names must not match __.*__ (the emulator: "field name '__name__' is reserved.")
            raise ValueError(f"field name {name!r} is reserved (Firestore refuses names matching __.*__)")
        if len(name) > MAX_FIELD_NAME_BYTES // 4 and len(name.encode("utf-8", "surrogatepass")) > MAX_FIELD_NAME_BYTES:
            raise ValueError(f"field name {name[:40]!r}... is over Firestore's {MAX_FIELD_NAME_BYTES} bytes")
    return {name: _plain_value(value) for name, value in data.items()}


# Leaves stored as they are, by exact type: no Enum member has one of these as its type (a member's
# type is its enum class), so checking them first changes nothing, and most of a record's values are these.
_EXACT_LEAVES = frozenset({type(None), bool, int, float, str, bytes})


def _plain_value(value: Any, in_array: bool = False) -> Any:
    kind = type(value)
    if kind in _EXACT_LEAVES:
        return value
    if kind is dict:
        return _plain_map(value)
    if isinstance(value, Enum):  # before str/int: a str-Enum is a str, but stored as its value
        return _plain_value(value.value, in_array)
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: records store instants, give it a timezone")
        return value.astimezone(timezone.utc)
    if isinstance(value, Mapping):
        return _plain_map(value)
    if isinstance(value, (list, tuple)):
        if in_array:
            raise ValueError("Firestore cannot store an array directly inside an array")
        return [_plain_value(item, in_array=True) for item in value]
    raise TypeError(f"cannot store a {type(value).__name__} in a record: {value!r}")


def _found(fields: dict[str, Any], document_id: str) -> FoundRecord:
    """A document a query answered (`fields`, a dict no one else holds), as a FoundRecord: its visible fields
    and its key, the one the adapter stored beside them (KEY_FIELD), else, for a document written by another
    hand, its id percent-decoded (`document_id` percent-encodes a key; DocumentSnapshot.id, "The document
    identifier (within its collection)", google-cloud-firestore's docstring)."""
    key = fields.get(KEY_FIELD)
    return FoundRecord(_visible_of(fields), key if isinstance(key, str) and key else urllib.parse.unquote(document_id))


def _visible(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if name not in RESERVED_FIELDS}


def _stored(write: RecordWrite, write_id: str) -> dict[str, Any]:
    """A record write's fields as stored: its data, its key and the write id of its commit."""
    return plain_record(write.data) | {KEY_FIELD: write.key, WRITE_FIELD: write_id}


class DeferredRecord:
    """A plain record as read, decoded only as far as it is read (`get_many_deferred`): `get(name)`
    decodes one field, `data()` the whole record, exactly the dict `get_many` returns for it."""

    __slots__ = ("_snapshot",)

    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot

    def get(self, name: str, default: Any = None, leave: Collection[str] = ()) -> Any:
        """One field, as `data().get(name, default)`; a map field without its entries named in
        `leave` (not decoded: for a reader that needs them only sometimes, then reads it again)."""
        if name in RESERVED_FIELDS:
            return default
        value = self._snapshot.field(name, leave)
        return default if value is None and not self._has(name) else value

    def names(self) -> list[str]:
        """The record's field names, as `list(data())`."""
        return [name for name in self._snapshot.names() if name not in RESERVED_FIELDS]

    def _has(self, name: str) -> bool:
        fields = self._snapshot._fields
        return fields is not None and name in fields

    def data(self) -> dict[str, Any]:
        return _visible_of(self._snapshot.decoded())

    def __bool__(self) -> bool:
        """As `bool(data())`: a record with no field of its own is as empty as its dict (what
        history.note_opened asks of the incident's record), read without decoding a value."""
        return bool(self.names())


def _visible_of(fields: dict[str, Any]) -> dict[str, Any]:
    """`_visible` of a dict no one else holds, in place: the same dict, in the same order."""
    for name in RESERVED_FIELDS:
        fields.pop(name, None)
    return fields


def _field_path(name: str) -> str:
    from google.cloud.firestore_v1.field_path import FieldPath

    return FieldPath(name).to_api_repr()


# ---------------------------------------------------------------------- errors and retries


def _call(fn: Callable[[], T], reraise: tuple[type[BaseException], ...] = ()) -> T:
    """Runs a Firestore call; Google errors leave as TransientError / PermanentError."""
    try:
        return fn()
    except reraise:
        raise
    except Exception as exc:  # noqa: BLE001 - only the Google and OS errors below are classified
        # Imported here, on the error path, not before every call.
        from google.api_core.exceptions import GoogleAPIError, RetryError
        from google.auth.exceptions import GoogleAuthError

        if isinstance(exc, RetryError):
            # The retry deadline ran out: no status of its own, but its last cause has one.
            raise (classify(exc.cause) if exc.cause else TransientError(str(exc))) from exc
        if isinstance(exc, (GoogleAPIError, GoogleAuthError, OSError)):
            raise classify(exc) from exc
        raise


def _retry_transient(fn: Callable[[], T]) -> T:
    """`fn()`, tried again after a transient fault: at most READ_ATTEMPTS tries, waiting 0.2 s, then
    0.4 s (exponential from 0.2 s, at most 1 s), the last fault raised: what tenacity's
    `Retrying(stop_after_attempt(3), wait_exponential(multiplier=0.2, max=1.0), reraise=True)`
    did, as a plain loop. Building that Retrying for every read cost about as much CPU as
    decoding a small one, on every duplicate delivery."""
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return fn()
        except TransientError:
            if attempt == READ_ATTEMPTS:
                raise
            time.sleep(min(READ_FIRST_WAIT * 2 ** (attempt - 1), READ_MAX_WAIT))
    raise AssertionError("unreachable")   # the last attempt returned or raised
