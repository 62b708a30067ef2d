"""An operator's command acts on a fresh read of the premise it rests on, and on its own records read
whole (docs/commands.md): in-process parts (tests/property/fast.py), through the real entry point.

1. an approve of a scale proposed for services behind a connector, one of which has since moved off it (its
   serving revision no longer names the connector, or it is gone), is refused and closes the proposal
   `refused`, naming it: before, the connector was scaled for a load that had left it;
2. an approve while the config's mode (or the action's shadow mode) is dry_run decides nothing, whatever it
   finds: the proposal is left exactly as it was, and the answer says what the approve would do and why
   not. Before, a changed world closed the proposal `refused` under a config that writes nothing, and an
   unchanged one took it `approved` and opened it again, keeping the dry run's command as its decider;
3. a resend of the restore that undid a rollback is told by a typed field on the rollback's record, never by
   the words of its note: before, a note naming "(command X)" anywhere (a `requested_by` that says it) let a
   restore under id X write the rollback's split again over a later rollback;
4. a later rollback record that cannot be read makes a restore by action_id refuse, naming the record (fail
   closed): before, it was passed over, and a later rollback to the same revision was silently undone;
5. a rollback's author is worded one way (since_rollback.whose) wherever a restore names it."""
from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import grpc
import pytest

from sandbox.standins.run import TrafficSeed
from shared.config import Mode
from shared.outcomes import OutcomeStatus
from shared.remediation.records import ACTIONS, PROPOSALS
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR
from tests.integration.world import SERVICE
from tests.unit.test_connector_alert_pauses import ORDERS, PAYMENTS, SCENARIO, SHARED, world as connector_world

OPERATOR = "alice@example.com"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
_messages = itertools.count(1)


def send(w: FastWorld, name: str, command_id: str, requested_by: str = OPERATOR, **fields: Any):
    body = {"command": name, "command_id": command_id, "requested_by": requested_by, "reason": "r", **fields}
    [outcome] = w.command(body, message_id=f"m-{next(_messages)}")
    return outcome


def patches(w: FastWorld) -> int:
    return w.standins.vpcaccess.count("PatchConnector")


def updates(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService")


def _proposed(w: FastWorld, scenario: str) -> dict[str, Any]:
    proposed = w.handle(w.alert(scenario))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    return w.state.get_record(PROPOSALS, proposed.action.proposal_id)


def _serve_without_connector(w: FastWorld, service: str, revision: str, minutes: int) -> None:
    """`service` moves off the connector: a revision with no VPC access takes all its traffic. Created
    `minutes` after the anchor: before the proposal (a revision kept from before, traffic moved back to it)
    or after it (a deploy)."""
    w.standins.run.add_revision(service, revision, ANCHOR + timedelta(minutes=minutes), vpc_connector=None)
    w.standins.run.set_traffic(service, [TrafficSeed(100, revision)])


# 1. A connector alert's proposal, made for orders and payments, both behind shared-conn. One of them moves
# off the connector before the approve. Before, the approve re-read only who had moved ONTO the connector,
# and the proposal's own service's revisions: payments leaving it went unseen, and the connector was scaled
# (one-way) for a load no longer there.
@pytest.mark.parametrize("how", ["deployed without the connector", "traffic moved to an older revision",
                                 "deleted"])
def test_an_approve_is_refused_when_a_service_it_was_decided_for_moved_off_the_connector(how) -> None:
    w = connector_world()
    proposal = _proposed(w, SCENARIO)
    assert PAYMENTS in proposal["on_behalf"] and proposal["service"] == ORDERS, proposal
    if how == "deleted":
        w.standins.run.delete_service(PAYMENTS)
    else:
        _serve_without_connector(w, PAYMENTS, "payments-00018-new", 1 if how.startswith("deployed") else -600)

    outcome = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})

    assert outcome.status is OutcomeStatus.SKIPPED, outcome.reason
    assert patches(w) == 0, outcome.reason
    why = ("Cloud Run answers NOT_FOUND: it no longer exists" if how == "deleted" else
           f"no revision of it serving traffic names {SHARED}")
    assert f"{PAYMENTS} ({why}) is no longer behind {SHARED}" in outcome.reason, outcome.reason
    assert "the world changed since the proposal" in outcome.reason, outcome.reason
    assert w.state.get_record(PROPOSALS, proposal["proposal_id"])["state"] == "refused"


def test_an_approve_of_a_services_own_scale_is_refused_once_the_service_left_the_connector() -> None:
    """A service's own alert proposed scaling the connector its serving revision named; its traffic has since
    gone back to a revision without VPC access. The approve reads the service itself, not only whether a
    newer revision serves or how the diagnosis reads now."""
    w = FastWorld(seeded_copy("connector_saturation", None), ANCHOR, operators=[OPERATOR],
                  bounds={"connectors": [{"name": "projects/demo-project/locations/us-central1/connectors/"
                                                  "backend-conn", "allow_one_way": False}]})
    proposal = _proposed(w, "connector_saturation")
    assert proposal["service"] == SERVICE and not proposal["users_of"], proposal
    _serve_without_connector(w, SERVICE, "backend-00000-old", -600)

    outcome = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})

    assert outcome.status is OutcomeStatus.SKIPPED and patches(w) == 0, outcome.reason
    assert f"{SERVICE} (no revision of it serving traffic names {proposal['target']}) is no longer behind" \
        in outcome.reason, outcome.reason
    assert w.state.get_record(PROPOSALS, proposal["proposal_id"])["state"] == "refused"


def test_an_approve_whose_read_of_a_service_fails_is_not_refused_as_moved() -> None:
    """A service the approve cannot read has not been seen to move: the approve is not refused for it (its
    pause still holds the write back, as the alert's did)."""
    w = connector_world()
    proposal = _proposed(w, SCENARIO)
    w.standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService")
    outcome = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})
    assert "is no longer behind" not in outcome.reason, outcome.reason


# 2. The config writes nothing (its mode, or the action's shadow mode): an approve answers what it would do,
# and leaves the proposal as it was, decided by no one, for the approve once writes are on.
def _dry(w: FastWorld, how: str) -> None:
    if how == "mode":
        w.config = w.config.model_copy(update={"mode": Mode.DRY_RUN})
    else:
        from shared.config import ActionMode

        w.config = w.config.model_copy(update={"actions": {**w.config.actions,
                                                           "scale_connector": ActionMode(mode=Mode.DRY_RUN)}})
    assert w.config.action_dry_run("scale_connector")


@pytest.mark.parametrize("how", ["mode", "shadow"])
@pytest.mark.parametrize("world_now", ["changed", "as proposed", "expired"])
def test_an_approve_under_the_configs_dry_run_leaves_the_proposal_as_it_was(how, world_now) -> None:
    w = connector_world()
    proposal = _proposed(w, SCENARIO)
    if world_now == "changed":
        _serve_without_connector(w, PAYMENTS, "payments-00018-new", 1)
    elif world_now == "expired":
        w.clock.set(proposal["expires_at"] + timedelta(seconds=1))
    _dry(w, how)

    outcome = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})

    assert patches(w) == 0, outcome.reason
    assert w.state.get_record(PROPOSALS, proposal["proposal_id"]) == proposal     # not a field moved
    whose = ("the config's mode is dry_run" if how == "mode" else
             "shadow mode for scale_connector: the config's actions.scale_connector.mode is dry_run")
    if world_now == "changed":
        assert outcome.status is OutcomeStatus.SKIPPED, outcome.reason
        assert (f"is no longer behind {SHARED}" in outcome.reason and f"dry-run ({whose}): nothing decided, the "
                "proposal is left open" in outcome.reason), outcome.reason
    elif world_now == "expired":
        assert outcome.status is OutcomeStatus.REJECTED and "expired" in outcome.reason, outcome.reason
    else:
        assert outcome.status is OutcomeStatus.DRY_RUN, outcome.reason
        assert whose in outcome.reason and "stays open: nothing decided" in outcome.reason, outcome.reason

    # Writes on again: the approve decides afresh on the world as it is then.
    w.config = connector_world().config
    if world_now != "expired":
        real = send(w, "approve", "a-2", params={"proposal_id": proposal["proposal_id"]})
        assert real.status is (OutcomeStatus.SKIPPED if world_now == "changed" else OutcomeStatus.APPLIED), \
            real.reason
        assert w.state.get_record(PROPOSALS, proposal["proposal_id"])["state"] == \
            ("refused" if world_now == "changed" else "applied")


# 3-5. Restores by action_id and the rollback records they read.
def _rollbacks(w: FastWorld):
    """Rollback A, an operator's, to OLD."""
    a = send(w, "rollback_traffic", "rb-a", target=SERVICE, params={"revision": OLD})
    assert a.status is OutcomeStatus.APPLIED, a.reason
    return a


def _world() -> FastWorld:
    return FastWorld(seeded_copy("bad_revision", None), ANCHOR, operators=[OPERATOR],
                     guardrails={"cooldown_seconds": 0})


def test_a_resend_of_the_restore_that_undid_a_rollback_is_told_by_its_record_not_its_note() -> None:
    """The rollback's note reworded (or written by another version) does not turn the resend of the very
    restore that undid it into "already undone": the record's `undone_by_command` says which command did."""
    w = _world()
    a = _rollbacks(w)
    first = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"action_id": a.action.action_id})
    assert first.status is OutcomeStatus.APPLIED, first.reason
    record = w.state.get_record(ACTIONS, a.action.action_id)
    assert record["state"] == "undone" and record["undone_by_command"] == "rs-1", record
    w.state.update_record(ACTIONS, a.action.action_id, {"note": "restored by an operator"})    # reworded

    again = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"action_id": a.action.action_id})

    assert again.reason.startswith("duplicate"), again.reason
    assert "already undone" not in again.reason and updates(w) == 2, again.reason


def test_a_note_naming_another_command_does_not_let_that_command_restore_an_undone_rollback_again() -> None:
    """`requested_by` is a statement: "bob (command rs-2)" put "(command rs-2)" in the note of the rollback bob's
    restore rs-1 undid. A restore rs-2 of that rollback, after a later rollback pinned the same revision again,
    was taken for a resend of the restore that undid it and wrote the split from before the first rollback,
    silently undoing the later one."""
    w = _world()
    a = _rollbacks(w)
    bob = "bob (command rs-2)"
    assert send(w, "restore_traffic", "rs-1", requested_by=bob, target=SERVICE,
                params={"action_id": a.action.action_id}).status is OutcomeStatus.APPLIED
    b = send(w, "rollback_traffic", "rb-b", target=SERVICE, params={"revision": OLD})
    assert b.status is OutcomeStatus.APPLIED, b.reason
    done = updates(w)

    again = send(w, "restore_traffic", "rs-2", target=SERVICE, params={"action_id": a.action.action_id})

    assert again.status is OutcomeStatus.SKIPPED and "was already undone" in again.reason, again.reason
    assert updates(w) == done and w.state.get_record(ACTIONS, b.action.action_id)["state"] == "pending"


@pytest.mark.parametrize("note, resend", [
    ("traffic restored by alice@example.com (command rs-1)", True),
    ("traffic restored by alice@example.com (command rs-1), whose record had failed: backend serves its split "
     "(…), found by the sweep from the restore's mark on the pin", True),
    ("traffic restored by bob (command rs-1) (command rs-9)", False),
    ("traffic restored by alice@example.com (command rs-1) and then some", False),
    ("did not help by the deadline (command rs-1)", False),
])
def test_a_record_undone_before_the_field_was_kept_is_read_by_its_notes_one_wording(note, resend) -> None:
    """Records undone by earlier versions carry no `undone_by_command`: the command is read from the note in
    exactly the wordings those versions wrote (records._LEGACY_UNDONE_NOTE), and from nothing else."""
    from shared.remediation.records import ActionRecord

    w = _world()
    a = _rollbacks(w)
    data = {**w.state.get_record(ACTIONS, a.action.action_id), "state": "undone", "note": note}
    data.pop("undone_by_command", None)
    assert (ActionRecord.model_validate(data).undone_by == "rs-1") is resend


_DAMAGE = {
    "a state this version does not know": {"state": "reverted-by-hand"},
    "a time that is not one": {"applied_at": "yesterday"},
    "its action unreadable": {"action": None},
}


@pytest.mark.parametrize("damage", _DAMAGE)
def test_a_restore_refuses_when_a_later_rollback_record_cannot_be_read(damage) -> None:
    """Rollback A, then rollback B pinning the same revision again (both pending): the service serves as A left
    it, and only B's record says B stands. With B's record unreadable, the restore of A was written: it undid
    B, which no one named. Now the restore refuses, naming B's record (fail closed)."""
    w = _world()
    a = _rollbacks(w)
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])     # a person's gcloud, then B pins OLD again
    w.clock.set(w.clock.now() + timedelta(minutes=1))
    b = send(w, "rollback_traffic", "rb-b", target=SERVICE, params={"revision": OLD})
    assert b.status is OutcomeStatus.APPLIED, b.reason
    done = updates(w)
    w.state.update_record(ACTIONS, b.action.action_id, _DAMAGE[damage])

    restored = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"action_id": a.action.action_id})

    assert restored.status is OutcomeStatus.SKIPPED, restored.reason
    assert f"'{b.action.action_id}'" in restored.reason and "could not all be read" in restored.reason, \
        restored.reason
    assert "nothing written" in restored.reason and updates(w) == done, restored.reason


def test_a_restore_names_each_rollback_it_undid_as_every_answer_names_a_rollbacks_author() -> None:
    """`_undid` said "by alice@example.com's command rb-a", the refusals "command rb-a by alice@example.com"
    (since_rollback.whose): one wording now. A pending rollback record this version cannot read otherwise is
    named by its key after the restore's write, never raised on (its answer would be lost)."""
    from shared.remediation.since_rollback import whose
    from shared.remediation.records import ActionRecord

    w = _world()
    a = _rollbacks(w)
    auto = {**w.state.get_record(ACTIONS, a.action.action_id), "key": "inc-9|svc|rollback_traffic",
            "command_id": "", "requested_by": "", "incident_id": "inc-9", "applied_at": "yesterday"}
    w.state.put_record(ACTIONS, auto["key"], auto)
    record = ActionRecord.model_validate(w.state.get_record(ACTIONS, a.action.action_id))

    restored = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"to_latest": True})

    assert restored.status is OutcomeStatus.APPLIED, restored.reason
    assert whose(record) == f"command rb-a by {OPERATOR}"
    assert (f"This restore undid rollback {a.action.action_id} (to {OLD}, {whose(record)}, applied at "
            f"{record.applied_at:%Y-%m-%d %H:%M:%S} UTC); the sweep no longer judges it") in restored.notes, \
        restored.notes
    assert (f"This restore undid rollback {auto['key']} (its record cannot otherwise be read); the sweep no "
            "longer judges it") in restored.notes, restored.notes


# 6. A record a command names, or a status lists, that this version cannot read (damaged, or written by a later
# version) is answered at once, naming it. Before, its ValidationError escaped the handler: the command was
# delivered again and again with no answer, and one such record made every `status` fail.
def test_a_restore_of_a_rollback_whose_record_cannot_be_read_is_escalated_naming_it() -> None:
    w = _world()
    a = _rollbacks(w)
    w.state.update_record(ACTIONS, a.action.action_id, {"applied_at": "yesterday"})
    done = updates(w)
    outcome = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"action_id": a.action.action_id})
    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert outcome.reason.startswith(f"action {a.action.action_id}'s record cannot be read (applied_at: "), \
        outcome.reason
    assert "nothing written" in outcome.reason and updates(w) == done


@pytest.mark.parametrize("name", ["approve", "reject"])
def test_a_decision_on_a_proposal_whose_record_cannot_be_read_is_escalated_naming_it(name) -> None:
    w = connector_world()
    proposal = _proposed(w, SCENARIO)
    w.state.update_record(PROPOSALS, proposal["proposal_id"], {"expires_at": "soon"})
    outcome = send(w, name, "d-1", params={"proposal_id": proposal["proposal_id"]})
    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert outcome.reason.startswith(f"proposal {proposal['proposal_id']}'s record cannot be read (expires_at: "), \
        outcome.reason
    assert "nothing decided, nothing written" in outcome.reason and patches(w) == 0
    assert w.state.get_record(PROPOSALS, proposal["proposal_id"])["state"] == "open"


def test_a_status_names_each_record_it_cannot_read_and_lists_the_rest() -> None:
    w = connector_world()
    proposal = _proposed(w, SCENARIO)
    w.state.put_record(PROPOSALS, "p-0123456789ab", {"proposal_id": "p-0123456789ab", "state": "open",
                                                     "expires_at": proposal["expires_at"]})
    outcome = send(w, "status", "s-1")
    assert outcome.status is OutcomeStatus.REPORTED, outcome.reason
    assert [p["proposal_id"] for p in outcome.snapshot["open_proposals"]] == [proposal["proposal_id"]]
    [unread] = outcome.snapshot["unreadable"]
    assert unread["record"] == "proposals/p-0123456789ab" and unread["why"].startswith("key: "), unread
    assert "1 record(s) could not be read" in outcome.reason and "proposals/p-0123456789ab (key: " in outcome.reason, \
        outcome.reason
