"""An operator's restore_traffic, noted before its write and kept as long as the command's record
(records.RestoreNote): what tells a later send of the same command_id that an earlier attempt may have
written once Firestore's TTL has deleted that attempt's gate claim and command record (recovery
.unfinished_write), and what a pause names as a restore under way, pinned service or not (pause._restores).

One note per restore (its key is the restore's gate claim key): `sending` before the gate, then
`written` (with the gate's status) or `void` once the gate has answered. Storing it is part of the
restore: a store that fails raises before anything is written, and the command is retried. Settling it
afterwards is best effort: a note left `sending` only makes a later send of the same command_id answer
`escalated` ("its write may have taken") rather than run, which is precision before recall, unless the
service is still at the generation the note kept (recovery._unwritten_since: no write landed since).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.commands.context import CommandRun, earlier_unreadable
from shared.errors import DamagedRecord, TransientError
from shared.remediation.actions.restore_traffic import RestoreTrafficParams
from shared.remediation.guardrails import claim_key, command_incident
from shared.remediation.records import RESTORES, RestoreNote, RestoreNoteState, read_record


def note_key(command_id: str, service: str) -> str:
    """The restore's gate claim key (shared/commands/traffic.gated: claimed under the command's own incident)."""
    return claim_key(command_incident(command_id), service, "restore_traffic")


@dataclass(frozen=True)
class Noted:
    """The note this attempt goes on with, and whether an earlier attempt at the same command stored it."""

    note: RestoreNote
    found: bool


def store(run: CommandRun, service: str, params: RestoreTrafficParams, generation: int | None = None) -> Noted:
    """The note stored `sending` before the gate, or the one an earlier attempt at this command left
    `sending` or `written` (`found`: its write may have taken, so it is never taken back here). A `void`
    one (that attempt wrote nothing) is replaced. Raises TransientError, nothing written, if it cannot
    be stored."""
    key = note_key(run.command_id or "", service)
    note = RestoreNote(key=key, command_id=run.command_id or "", service=service, owner=run.owner,
                       requested_by=run.command.requested_by, noted_at=run.now,
                       traffic=[t.model_dump(mode="json") for t in params.desired()], generation=generation)
    state = run.adapters.state
    try:
        created = state.create_record(RESTORES, key, note.model_dump(mode="python"))
    except TransientError:
        # The create may have landed with its answer lost: a note left `sending` would make the redelivery
        # answer "its write may have taken" for a restore that never went to the gate. Taken back (best
        # effort: only a note still `sending`), then raised: nothing was written, the command is retried.
        _void(state, key, run.owner)
        raise
    if created:
        return Noted(note, found=False)
    held = state.get_record(RESTORES, key)
    if held and held.get("state") != RestoreNoteState.VOID.value:
        try:
            return Noted(read_record(RestoreNote, held, RESTORES, key), found=True)
        except DamagedRecord as exc:   # it may stand for a write under way: never replaced, named
            raise earlier_unreadable(run, exc) from None
    # Void (or deleted since): replaced, guarded on what was read, so an attempt that noted meanwhile keeps its note.
    if held and state.update_record(RESTORES, key, note.model_dump(mode="python"),
                                    expect={"state": held.get("state"), "owner": held.get("owner")}):
        return Noted(note, found=False)
    if not held and state.create_record(RESTORES, key, note.model_dump(mode="python")):
        return Noted(note, found=False)
    raise TransientError(f"the restore's note {key} changed while it was stored; retry")


def settle(run: CommandRun, noted: Noted | None, written: bool, status: str) -> None:
    """The note settled once the gate has answered: `written` with its status, or `void` when nothing was
    written, only the note this attempt stored and only while it is still as stored. Best effort."""
    if noted is None or noted.found:
        return
    changes = ({"state": RestoreNoteState.WRITTEN.value, "status": status} if written
               else {"state": RestoreNoteState.VOID.value})
    try:
        run.adapters.state.update_record(RESTORES, noted.note.key, changes,
                                         expect={"state": RestoreNoteState.SENDING.value, "owner": noted.note.owner})
    except TransientError as exc:
        run.timeline.step("unrecorded", f"the restore's note {noted.note.key} could not be settled ({exc}): a later "
                          "send of this command_id is answered as one whose write may have taken", severity="WARNING")


def _void(state: Any, key: str, owner: str) -> None:
    """This attempt's note (by its owner), if it landed and is still `sending`, voided."""
    try:
        state.update_record(RESTORES, key, {"state": RestoreNoteState.VOID.value},
                            expect={"state": RestoreNoteState.SENDING.value, "owner": owner})
    except TransientError:
        pass
