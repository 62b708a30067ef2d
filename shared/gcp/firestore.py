"""Guardrail state in Firestore: idempotency claims (`shared.ports.StateStore`).

Each record is one document `{prefix}_{kind}/{encoded key}`. Atomicity comes from
`DocumentReference.create()` (fails if the document exists) and from update-time
preconditions on every later write, never from transactions: those are slow and abort
under contention (8 racers on the emulator take ~2 s and sometimes all fail).

The client library is imported on first use, to keep cold starts short. It finds the
emulator through FIRESTORE_EMULATOR_HOST on its own.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import urllib.parse
from datetime import datetime, timedelta
from typing import Any, Callable, TypeVar

from shared.errors import TransientError, classify
from shared.ports import ClaimRecord, ClaimResult, ClaimStatus

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_ID_BYTES = 1500        # Firestore's limit for a document id
HASHED_ID_PREFIX = 1400    # room left for the hash marker and a sha256 hex digest
RACE_ATTEMPTS = 5          # re-reads after a lost precondition race before giving up
_KIND = re.compile(r"^[A-Za-z0-9_-]+$")
_RESERVED_ID = re.compile(r"^(\.|\.\.|__.*__)$")


def document_id(key: str) -> str:
    """A valid, readable and injective Firestore document id for `key`.

    Percent-encoding removes '/'; reserved ids ('.', '..', '__x__') get their first character
    escaped, which plain quoting never does; over-long ids keep a readable prefix and end in
    '%~' + sha256, a sequence quoting never produces.
    """
    encoded = urllib.parse.quote(key, safe="")
    if _RESERVED_ID.match(encoded):
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    if len(encoded) > MAX_ID_BYTES:
        encoded = f"{encoded[:HASHED_ID_PREFIX]}%~{hashlib.sha256(key.encode()).hexdigest()}"
    return encoded


class FirestoreStateStore:
    """`StateStore` on Firestore. Safe to share between threads; create one per instance."""

    def __init__(self, project: str, database: str = "(default)", collection_prefix: str = "runwarden",
                 *, timeout: float = 10.0) -> None:
        self.project = project
        self.database = database
        self.collection_prefix = collection_prefix
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ StateStore

    def claim(self, kind: str, key: str, owner: str, ttl: timedelta, now: datetime) -> ClaimResult:
        _require_aware(now)
        record = ClaimRecord(key=key, owner=owner, status=ClaimStatus.CLAIMED, claimed_at=now, expires_at=now + ttl)
        ref = self._ref(kind, key)
        for _ in range(RACE_ATTEMPTS):
            if self._create(ref, record):
                return ClaimResult(acquired=True, record=record)
            snapshot = self._snapshot(ref)
            if not snapshot.exists:
                continue  # released between our create and our read: try to create again
            current = _record(snapshot)
            if current == record:
                # Our own create, retried by the client after a lost response (Commit retries
                # UNAVAILABLE). Same owner and same timestamps: this very call, not a redelivery.
                return ClaimResult(acquired=True, record=record)
            if not current.expired(now):
                return ClaimResult(acquired=False, record=current)
            if self._update_if_unchanged(ref, snapshot, _fields(record)):
                return ClaimResult(acquired=True, record=record, took_over=True)
            # Another claimant took it over first; the next read returns its record.
        raise TransientError(f"claim {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def complete(self, kind: str, key: str, owner: str, retain: timedelta, now: datetime, result: dict) -> None:
        _require_aware(now)
        ref = self._ref(kind, key)
        for _ in range(RACE_ATTEMPTS):
            snapshot = self._snapshot(ref)
            if not self._owned_by(snapshot, owner, f"complete {kind}/{key}"):
                return
            fields = {"status": ClaimStatus.COMPLETED.value, "result": result, "expires_at": now + retain}
            if self._update_if_unchanged(ref, snapshot, fields):
                return
        raise TransientError(f"complete {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def release(self, kind: str, key: str, owner: str) -> None:
        ref = self._ref(kind, key)
        for _ in range(RACE_ATTEMPTS):
            snapshot = self._snapshot(ref)
            if not self._owned_by(snapshot, owner, f"release {kind}/{key}"):
                return
            if self._delete_if_unchanged(ref, snapshot):
                return
        raise TransientError(f"release {kind}/{key}: record kept changing under {RACE_ATTEMPTS} attempts")

    def get(self, kind: str, key: str) -> ClaimRecord | None:
        snapshot = self._snapshot(self._ref(kind, key))
        return _record(snapshot) if snapshot.exists else None

    # ------------------------------------------------------------------ Firestore calls

    def _create(self, ref: Any, record: ClaimRecord) -> bool:
        """True if created, False if the document already exists."""
        from google.api_core.exceptions import AlreadyExists

        try:
            _call(lambda: ref.create(_fields(record), **self._write_limits()),
                  reraise=(AlreadyExists,))
            return True
        except AlreadyExists:
            return False

    def _update_if_unchanged(self, ref: Any, snapshot: Any, fields: dict[str, Any]) -> bool:
        return self._if_unchanged(snapshot, lambda option: ref.update(fields, option=option, **self._write_limits()))

    def _delete_if_unchanged(self, ref: Any, snapshot: Any) -> bool:
        return self._if_unchanged(snapshot, lambda option: ref.delete(option=option, **self._write_limits()))

    def _if_unchanged(self, snapshot: Any, write: Callable[[Any], object]) -> bool:
        """Runs `write(option)` guarded by the snapshot's update time. False if someone else
        wrote (or deleted) the document since the snapshot was read."""
        from google.api_core.exceptions import FailedPrecondition, NotFound

        option = self._firestore().write_option(last_update_time=snapshot.update_time)
        try:
            _call(lambda: write(option), reraise=(FailedPrecondition, NotFound))
            return True
        except (FailedPrecondition, NotFound):
            return False

    def _write_limits(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "retry": self._write_retry()}

    def _write_retry(self) -> Any:
        """Commit's default retry (UNAVAILABLE, RESOURCE_EXHAUSTED) but bounded by our timeout,
        not 60 s. A write retried after a lost response is safe: a repeated create is recognised
        in claim(), a repeated guarded update or delete fails its precondition and is re-read."""
        from google.api_core import exceptions
        from google.api_core.retry import Retry, if_exception_type

        return Retry(predicate=if_exception_type(exceptions.ServiceUnavailable, exceptions.ResourceExhausted),
                     initial=0.1, maximum=1.0, multiplier=2.0, timeout=self.timeout)

    def _snapshot(self, ref: Any) -> Any:
        """A read: idempotent, so transient faults are retried briefly."""
        return _retry_transient(lambda: _call(lambda: ref.get(timeout=self.timeout, retry=None)))

    def _owned_by(self, snapshot: Any, owner: str, action: str) -> bool:
        if not snapshot.exists:
            log.warning("%s by %s: no record (expired and released, or never claimed)", action, owner)
            return False
        holder = snapshot.get("owner")
        if holder != owner:
            log.warning("%s by %s: the record is held by %s, left unchanged", action, owner, holder)
            return False
        return True

    def _ref(self, kind: str, key: str) -> Any:
        if not _KIND.match(kind):
            raise ValueError(f"kind must match {_KIND.pattern}: {kind!r}")
        collection = f"{self.collection_prefix}_{kind}"
        return self._firestore().collection(collection).document(document_id(key))

    def _firestore(self) -> Any:
        # Created once and reused: Cloud Functions keeps the instance warm between events.
        with self._lock:
            if self._client is None:
                self._client = _call(self._new_client)
            return self._client

    def _new_client(self) -> Any:
        from google.cloud import firestore

        return firestore.Client(project=self.project, database=self.database)


# ---------------------------------------------------------------------- records


def _fields(record: ClaimRecord) -> dict[str, Any]:
    # Datetimes are stored as Firestore timestamps (tz-aware UTC when read back).
    return record.model_dump(mode="python") | {"status": record.status.value}


def _record(snapshot: Any) -> ClaimRecord:
    return ClaimRecord.model_validate(snapshot.to_dict())


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware (UTC): Firestore stores instants")


# ---------------------------------------------------------------------- errors and retries


def _call(fn: Callable[[], T], reraise: tuple[type[BaseException], ...] = ()) -> T:
    """Runs a Firestore call; Google errors leave as TransientError / PermanentError."""
    from google.api_core.exceptions import GoogleAPIError, RetryError
    from google.auth.exceptions import GoogleAuthError

    try:
        return fn()
    except reraise:
        raise
    except RetryError as exc:
        # The retry deadline ran out: no status of its own, but its last cause has one.
        raise (classify(exc.cause) if exc.cause else TransientError(str(exc))) from exc
    except (GoogleAPIError, GoogleAuthError, OSError) as exc:
        raise classify(exc) from exc


def _retry_transient(fn: Callable[[], T]) -> T:
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    retrying = Retrying(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(3),
                        wait=wait_exponential(multiplier=0.2, max=1.0), reraise=True)
    return retrying(fn)
