"""What settled an incident's actions: in state, so that a duplicate delivery is answered from one
batched read; and in one instance's memory, so that later ones are answered with no read at all.

**In state** (`SETTLED`, one record per incident, a `SettledEntry` per claim: records.py). The gate
writes an action's entry in the very commit that completes its claim and writes its action record
(`Gate._settle`, `StateStore.record_all`: one atomic commit), with a copy of the claim exactly as
that commit leaves it and whether the action record was written with it. The duplicate path reads
the incident's SETTLED record in the batched read it makes anyway (the incident's record, this
message's intent, the claims on the alert's own target: `shared.pipeline._AlertRun.prior`), so a
duplicate no longer needs the query for the targets the incident's actions wrote to:

- the claims on the alert's own target are read themselves, as before;
- an entry stands for a claim on another target (a connector scaled for a service's alert):
  its copy is that claim as long as it is live, because a completed claim never changes (below);
- an entry's `recorded` is what the query's action records said: the record was written in the
  same commit (this message's intent is resolved by it, as by the record).

- an entry `held` stands for a claim that answers with no action record on another target: a refusal
  kept for the cooldown (`Gate._refused`) or an escalation kept until its plan expires
  (`Gate._held_for_escalated`, `Gate.hold_escalated`), written by the commit that completes that claim.
  Without it, such a claim on a connector scaled for a service's alert was found only at the gate, and
  every later notification of the incident read all the evidence (about 14 calls) before answering the
  same `skipped` duplicate.

- the verdicts: every commit that judges one of the incident's action records (the sweep's
  `_move`, a restore command closing a rollback it undid, the gate's record of a write taken over,
  closed `escalated` at once) writes that verdict here too (`SettledVerdict`, `write_verdict`),
  so another message of the incident after the settle time learns whether the sweep has judged its
  action (`_AlertRun.judged_since`) from this record instead of a query of the action records. In the
  same commit as the action record's own move (record_all: all or none), so the two never disagree,
  whatever fails or crashes between: "no verdict here" means the action record is not judged
  either, for an entry the gate marked `verdicts` (its action record then has `verdict_kept`,
  which tells the judge to write the copy). An entry without the mark (written by the version
  before), or no entry of an action record, leaves the question to the query, as before. A judge
  of the version before (a deploy of the alert and command functions apart, or a rollback of
  Runwarden itself) moves the action record alone: an entry marked by this version then keeps no
  verdict after such a verdict, so a record that keeps none past the settle time, or one it cannot
  read (`unreadable_verdicts`), leaves the question to the query too, and the outcome says where
  its verdict was read (`_AlertRun.judged_since`; UNCONFIRMED how long the two functions of one
  `terraform apply` run apart: correct either way, nothing is written either way).

Whenever that one read cannot answer (no entry, an entry whose claim has expired, an intent whose
claim has no recorded entry, or simply no duplicate: every first delivery), the query and the rest
of the reads are made as before, so state written before the entries existed is handled as
before. One difference, on another target than the alert's own only: the query path reads every
action's claim on that target, and would wait (InProgress) if an unfinished claim of an earlier
attempt at this very message sorted before the completed one; the entry answers "duplicate". That
needs two different actions of one incident on one non-alert target (an alert's attempt claims
rollback_traffic on services and scale_connector on connectors; restore_traffic is the sweep's),
and even then the incident has a completed action and nothing is acted on: a redelivery's
duplicate is no second action and no contradictory outcome.

**In memory** (`SettledIncidents`): a redelivered alert is answered without reading Firestore.

Safe because a completed claim never changes. The gate writes a claim once (claimed), completes
it once (completed, to expire after the retention period), and gives it back only while it still
holds it, before completing; no command and no sweep touches a claim. So until its `expires_at`,
a completed claim read once is what every later read would return. An entry is used only while
the claim has not expired by this instance's clock (the same test the read makes), only for the
kind of claim the config would read now (a dry-run claim does not answer once the action is
real), an incident whose completed claim is `escalated` is never remembered (an adoption's: its
message's redelivery must read its intent for a report kept there, shared/pipeline.py `_adopted`),
and a miss falls back to the read: the memory can only answer "duplicate" for an incident
that truly has a completed action, never turn a first delivery into a skip.

One difference from a read: if the incident has closed since, the read would answer "already
closed"; the memory answers "duplicate". Both are a skipped outcome with no action, and the CLOSED
itself was answered by the instance that handled it. Bounded (least recently used first out) and
per instance: it is lost on restart and not shared, which costs only a read.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping   # not typing's: its isinstance runs in Python
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.ports import ClaimRecord, ClaimStatus, RecordWrite
from shared.remediation.records import (ACTIONS, JUDGED_STATES, SETTLED, SETTLED_FIELD_PREFIX, VERDICT_FIELD_PREFIX,
                                        ActionState, SettledEntry, SettledVerdict, verdict_field)


@dataclass(frozen=True)
class Settled:
    """An incident's completed claim: which action, on which target, under which key."""

    action: str
    target: str
    kind: str
    key: str
    record: ClaimRecord
    verdicts: bool = False   # the incident's SETTLED record keeps its actions' verdicts (SettledState.keeps_verdicts)


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


_CLAIM = ("claim",)   # the SettledEntry field a reader may leave undecoded (`SettledState.parse`)


def _covered(entry: Mapping[str, Any], covered: Collection[tuple[str, str]]) -> bool:
    kind, key = entry.get("kind"), entry.get("key")
    return isinstance(kind, str) and isinstance(key, str) and (kind, key) in covered


@dataclass(frozen=True)
class SettledState:
    """An incident's SETTLED record as read (`parse`): its entries, one per completed claim."""

    entries: tuple[SettledEntry, ...] = ()
    verdicts: tuple[SettledVerdict, ...] = ()   # the verdicts its actions' judging commits copied here
    unreadable_verdicts: tuple[str, ...] = ()   # the verdict fields that cannot be read as one (`_read_verdict`)

    @classmethod
    def parse(cls, data: Any, covered: Collection[tuple[str, str]] = ()) -> "SettledState":
        """`data`: the record as read, a dict, or a record decoded as far as it is read (a
        `DeferredRecord` of the Firestore store: its `names()` and `get(name, leave=...)`).

        `covered`: the claims read themselves, by (kind, key), beside this record. From a deferred
        record, the copy of such a claim in its entry is not decoded (`claim` None): the claim as
        read stands for it wherever the two meet (`claims() | read`, shared.pipeline `_AlertRun.
        prior`). Every other field is decoded and validated as from a dict. One difference, for
        state Runwarden never writes: such a copy that would not validate no longer fails the read."""
        if not data:
            return cls()
        if isinstance(data, Mapping):
            return cls(tuple(SettledEntry.model_validate(value) for name, value in sorted(data.items())
                             if name.startswith(SETTLED_FIELD_PREFIX) and isinstance(value, Mapping)),
                       *_verdicts(data.items()))
        entries, verdicts = [], []
        for name in sorted(data.names()):
            if name.startswith(VERDICT_FIELD_PREFIX):
                verdicts.append((name, data.get(name)))
                continue
            if not name.startswith(SETTLED_FIELD_PREFIX):
                continue
            value = data.get(name, leave=_CLAIM)
            if isinstance(value, Mapping) and not _covered(value, covered):
                value = data.get(name)   # its copy of the claim is needed: decoded after all
            if isinstance(value, Mapping):
                entries.append(SettledEntry.model_validate(value))
        return cls(tuple(entries), *_verdicts(verdicts))

    def keeps_verdicts(self) -> bool:
        """Whether this record answers, alone, whether the sweep has judged the incident's actions: it has an
        entry of an action record, and every action record an entry names keeps its verdict here
        (SettledEntry.verdicts). An entry of an earlier version (no such mark), or no entry of an action record
        (none written with it: a record from before SETTLED existed, or none read), leaves it to the query of
        the incident's action records. An incident is acted on once (shared.pipeline `_AlertRun.acted_before`),
        so its action record is written with its entry, or before entries existed. A verdict copy that cannot be
        read (`unreadable_verdicts`) leaves it to the query too: it may stand for a verdict, so neither it nor its
        absence is an answer."""
        recorded = [entry for entry in self.entries if entry.recorded]
        return bool(recorded) and all(entry.verdicts for entry in recorded) and not self.unreadable_verdicts

    def judged(self, started_at: int | None) -> SettledVerdict | None:
        """The latest verdict on an action taken for the incident's start `started_at` (or for no stated
        start), as `_AlertRun.judged_since` picks it from the action records; None if none is judged yet.
        Meaningful only where `keeps_verdicts`."""
        same = [v for v in self.verdicts if v.incident_started_at in (None, started_at)]
        return max(same, key=lambda v: v.resolved_at or v.applied_at, default=None)

    @property
    def recorded(self) -> frozenset[str]:
        """The claim keys whose action record was written with their completion."""
        return frozenset(entry.key for entry in self.entries if entry.recorded)

    def targets(self) -> list[str]:
        """The targets recorded actions wrote to, as the query for the incident's action records finds them,
        and those a claim holds with no action record (`held`: a refusal or an escalation kept)."""
        return list(dict.fromkeys(entry.target for entry in self.entries if entry.recorded or entry.held))

    def held(self) -> "SettledState":
        """Only the entries of claims held with no action record, which the query for the incident's action
        records never finds: the path that reads in full keeps them (shared.pipeline `_AlertRun.full`)."""
        return SettledState(tuple(entry for entry in self.entries if entry.held))

    def claims(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Each entry's claim, as its completion left it, by (kind, key), as a batched read returns it."""
        return {(entry.kind, entry.key): dict(entry.claim) for entry in self.entries if entry.claim is not None}


def _verdicts(fields: Any) -> tuple[tuple[SettledVerdict, ...], tuple[str, ...]]:
    """The `SettledVerdict` fields among a SETTLED record's (name, value) pairs, in name order; and the names of
    those that cannot be read as one (`_read_verdict`)."""
    verdicts, unreadable = [], []
    for name, value in sorted(fields, key=lambda f: f[0]):
        if name.startswith(VERDICT_FIELD_PREFIX):
            verdict = _read_verdict(name, value)
            verdicts.append(verdict) if verdict is not None else unreadable.append(name)
    return tuple(verdicts), tuple(unreadable)


def _read_verdict(name: str, value: Any) -> SettledVerdict | None:
    """The verdict copy stored under `name`, checked field by field as the judging commit writes it
    (`verdict_write`); None where it is not that: not a map, a field missing or not its type (Firestore returns a
    timestamp as a datetime, an integer as an int: google.cloud.firestore_v1 `_helpers.decode_value`), a state
    that is no verdict, or a key whose field is not `name`. Such a copy is damaged by another hand or written by
    a version this one cannot read: it is never read as a verdict, nor as "not judged" (`keeps_verdicts`)."""
    if not isinstance(value, Mapping) or value.get("state") not in JUDGED_STATES:
        return None
    if not all(isinstance(value.get(field), str) for field in ("key", "action", "target")):
        return None
    if verdict_field(value["key"]) != name or not isinstance(value.get("applied_at"), datetime):
        return None
    if not isinstance(value.get("resolved_at"), (datetime, type(None))):
        return None
    started = value.get("incident_started_at")
    if started is not None and (not isinstance(started, int) or isinstance(started, bool)):
        return None
    try:
        return SettledVerdict.model_validate(value)
    except ValueError:   # pydantic's ValidationError is a ValueError
        return None



class _Everything:
    """Every claim counted as read beside the record (`SettledState.parse`'s `covered`): the copies are not decoded."""

    def __contains__(self, item: object) -> bool:
        return True


EVERY_CLAIM: Collection[tuple[str, str]] = _Everything()   # type: ignore[assignment]


def verdict_write(incident_id: str, verdict: SettledVerdict) -> RecordWrite:
    """The verdict merged into the incident's SETTLED record, only while that record exists (`expect` its
    `incident_id`, which every merge of it writes: guardrails.Gate._settled): never a record created with no
    `expires_at`, which Firestore's TTL would never delete."""
    return RecordWrite(SETTLED, incident_id, {verdict_field(verdict.key): verdict.model_dump(mode="python")},
                       merge=True, expect={"incident_id": incident_id})


# The action record's fields `write_verdict` reads (`ActionRecord.model_dump(include=VERDICT_OF)`).
VERDICT_OF = frozenset({"key", "incident_id", "action", "target", "applied_at", "incident_started_at", "verdict_kept"})


def write_verdict(state: Any, data: Mapping[str, Any], changes: dict[str, Any], expect: dict[str, Any]) -> bool:
    """The action record `data` moved by `changes` (its verdict: a `state` in JUDGED_STATES and `resolved_at`)
    only if it still holds `expect`, as `StateStore.update_record` moves it; when the record keeps its verdict in
    the incident's SETTLED record (`verdict_kept`), that verdict is written there in the same commit
    (`StateStore.record_all`: all or none), so the two never disagree, whatever fails or crashes between them:
    a later notification reads "not judged yet" there only while the action record is not judged either.
    Where that commit writes nothing (the record moved by another hand, so `expect` no longer holds; or the
    SETTLED record gone, its TTL passed), the update is made alone, as before:
    its answer is the answer. A SETTLED record gone needs no verdict: a duplicate that finds no entry asks the
    action records (`SettledState.keeps_verdicts`)."""
    key, to = str(data["key"]), changes.get("state")
    if to not in JUDGED_STATES:
        raise ValueError(f"{key}: {to!r} is no verdict")
    verdict = _verdict(data, ActionState(to), changes["resolved_at"]) if data.get("verdict_kept") is True else None
    if verdict is not None:
        if state.record_all([RecordWrite(ACTIONS, key, changes, merge=True, expect=expect),
                       verdict_write(str(data["incident_id"]), verdict)]):
            return True
    return bool(state.update_record(ACTIONS, key, changes, expect=expect))


def _verdict(data: Mapping[str, Any], state: ActionState, resolved_at: Any) -> SettledVerdict | None:
    """The verdict to copy; None for a record damaged by another hand (a field the gate writes missing or not
    its type): its update is made alone, as before, and a later notification may read no verdict beside the
    entry (the query would have read the damaged record, and escalated naming it)."""
    try:
        return SettledVerdict.of(data, state, resolved_at)
    except (KeyError, ValueError):   # pydantic's ValidationError is a ValueError
        return None
