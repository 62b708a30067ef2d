"""State records this version cannot read (damaged, or written by a version whose fields it does not know), met on
the alert path and by the sweep, written with the real client on the Firestore emulator: each is named in an
`escalated` answer, once, never raised as an unexpected exception (a `failed` outcome, redeliveries failing the
same way, and the sweep stopped for every service). A restore to_latest closes a pending rollback a read of the
service's first 100 records leaves out. No mocks: stand-ins and emulators."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.commands.restore_notes import note_key
from shared.remediation.guardrails import CLAIMS, command_incident
from shared.remediation.records import ACTIONS, INTENTS, PINS, RESTORES, command_intent_key
from tests.integration.test_remediation import (action_state, recovery, rolled_back,  # noqa: F401
                                                world)
from tests.integration.world import SERVICE, World


def _damaged_action(world: World, key: str, service: str = SERVICE, **fields) -> None:
    """An action record as a version with other fields might have left it: no `applied_at` nor `reversible`,
    which this one requires, and a `state` it does not know unless given."""
    world.state.put_record(ACTIONS, key, {"key": key, "incident_id": key.split("|")[0], "target": service,
                                          "service": service, "action": "rollback_traffic", "signature": "bad_deploy",
                                          "state": "reverted-by-hand",
                                          "deadline_at": world.anchor + timedelta(minutes=5), **fields})


def test_an_alert_on_a_service_whose_action_record_cannot_be_read_is_escalated_naming_it(world):
    """A record of the service the plan's checks read (a verified fix that came back, an undone one it would
    repeat) cannot be read. Before, the alert raised a ValidationError: a `failed` outcome, redelivered and
    failing again, the record unnamed. Now it is escalated naming the record, and nothing is written."""
    world.seed("bad_revision")
    _damaged_action(world, "old-incident|backend|rollback_traffic", state="verified",
                    resolved_at=world.anchor - timedelta(minutes=30))

    outcome = world.handle(world.alert())

    assert outcome.status.value == "escalated", outcome.reason
    assert "'old-incident|backend|rollback_traffic'" in outcome.reason and "cannot be read" in outcome.reason
    assert "Field required" in outcome.reason, outcome.reason
    assert world.writes() == 0


def test_a_damaged_action_record_of_another_service_does_not_block_the_alert(world):
    world.seed("bad_revision")
    _damaged_action(world, "other-incident|frontend|rollback_traffic", service="frontend", state="verified",
                    resolved_at=world.anchor - timedelta(minutes=30))

    assert world.handle(world.alert()).status.value == "applied"


def test_a_damaged_pending_action_is_escalated_once_and_the_sweep_judges_the_others(rolled_back):
    """Another service's pending action record cannot be read. Before, the sweep raised on it: no action of any
    service was judged again. Now it is escalated once, naming it, and the rollback is verified as usual."""
    _damaged_action(rolled_back, "other-incident|frontend|rollback_traffic", service="frontend", state="pending")
    recovery(rolled_back)
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    by_status = {o.status.value: o for o in outcomes}
    assert set(by_status) == {"verified", "escalated"}, [(o.status.value, o.reason) for o in outcomes]
    assert "'other-incident|frontend|rollback_traffic'" in by_status["escalated"].reason
    assert action_state(rolled_back) == "verified"
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []   # told once


@pytest.mark.parametrize("others", [120])
def test_a_restore_to_latest_closes_a_pending_rollback_past_the_first_hundred_records(rolled_back, others):
    """The service has more action records than one read returns (100), the pending rollback not among the first
    ones by document order. Before, the restore left it pending: the sweep would judge and undo it over the
    restore. Now every pending rollback of the service is closed."""
    for n in range(others):
        key = f"!older-{n:03d}|{SERVICE}|scale_connector"     # '!' sorts before any incident id
        rolled_back.state.put_record(ACTIONS, key, {"key": key, "service": SERVICE, "action": "scale_connector",
                                                    "state": "verified"})
    assert rolled_back.state.get_record(PINS, SERVICE)["pinned"] is True
    body = {"command": "restore_traffic", "command_id": "rs-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"to_latest": True}, "reason": "fixed"}

    [restored] = rolled_back.command(body, message_id="rs-1")

    assert restored.status.value == "applied", restored.reason
    assert rolled_back.state.get_record(ACTIONS, action_key_of(rolled_back))["state"] == "undone"


def action_key_of(world: World) -> str:
    [record] = [r for r in world.state.find_records(ACTIONS, "action", "rollback_traffic") if r["service"] == SERVICE]
    return record["key"]


def test_a_damaged_pin_of_another_service_is_escalated_once_and_the_sweep_goes_on(rolled_back):
    """A pin record that cannot be read (no revision, its pinned_at not a time). Before, the sweep's pin step raised
    on it, every sweep. Now it is escalated once, naming it, and the rest of the sweep runs."""
    other = SERVICE.replace("/backend", "/frontend")
    rolled_back.state.put_record(PINS, other, {"service": other, "pinned": True, "pinned_at": "yesterday"})
    recovery(rolled_back)
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    escalated = [o for o in outcomes if o.status.value == "escalated"]
    assert [o.status.value for o in outcomes if o not in escalated] == ["verified"], [o.reason for o in outcomes]
    [told] = escalated
    assert f"'{other}'" in told.reason and "Field required" in told.reason, told.reason
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []


def test_a_held_message_whose_record_cannot_be_read_is_escalated_naming_it_and_nothing_written(world):
    """A message the kill switch, a pause, a cooldown or a budget held back is delivered again, and its record of
    the hold (held_messages) cannot be read. Before, `held_again` raised a ValidationError: a `failed` outcome,
    every redelivery failing the same way, the record unnamed. Now it is escalated naming it (fail closed: the
    write it held back is not made on a delivery of its message), and nothing is written."""
    from shared.alerts.delivery import message_key
    from shared.remediation.guardrails import CLAIMS
    from shared.remediation.held_messages import held_key

    world.seed("bad_revision")
    alert = world.alert(message_id="held-1")
    key = held_key(message_key(alert))
    world.state.put_record(CLAIMS, key, {"key": key, "owner": "m:1", "status": "held-by-a-later-version",
                                         "claimed_at": world.anchor, "expires_at": world.anchor + timedelta(days=7),
                                         "result": {"refusal": "kill switch engaged"}})

    outcome = world.handle(alert)

    assert outcome.status.value == "escalated", outcome.reason
    assert f"the claims record '{key}' cannot be read" in outcome.reason, outcome.reason
    assert world.writes() == 0


def test_a_damaged_actions_escalation_whose_publish_failed_is_published_by_the_next_sweep_once(rolled_back):
    """A pending action record that cannot be read is escalated and marked `damaged_escalated_at`, and the
    publish of that escalation fails (Pub/Sub unavailable; the sweep raises, to be delivered again). Before,
    the mark stood and every later sweep passed over the record in silence: the escalation was lost. Now it is
    kept in the record, pending, by the very update that marks it, and the next sweep publishes that very
    outcome, once; the sweeps after publish nothing."""
    import json

    from tests.integration.test_remediation import _publish_fails_once

    key = "other-incident|frontend|rollback_traffic"
    _damaged_action(rolled_back, key, service="frontend", state="pending")
    rolled_back.at(3)    # the rollback not yet due: the damaged record's escalation is the sweep's one outcome

    _publish_fails_once(rolled_back, lambda: rolled_back.command({"command": "sweep"}))
    record = rolled_back.state.get_record(ACTIONS, key)
    assert record["damaged_escalated_at"] is not None and record["report_state"] == "pending", record

    rolled_back.at(4)
    [again] = rolled_back.command({"command": "sweep"}, message_id="c2")
    assert again.status.value == "escalated" and f"'{key}'" in again.reason, again.reason
    assert again.outcome_id == json.loads(record["report"])["outcome_id"]
    assert [o["outcome_id"] for o in rolled_back.published()] == [again.outcome_id]
    assert rolled_back.state.get_record(ACTIONS, key)["report_state"] == "sent"
    rolled_back.at(5)
    assert rolled_back.command({"command": "sweep"}, message_id="c3") == []


def test_a_damaged_actions_escalation_made_by_a_sweep_that_died_is_published_once_its_hold_lapses(rolled_back):
    """The sweep that marked a damaged record dies before publishing its escalation: a later sweep publishes it
    once that sweep's hold lapses (before, the mark stood and the escalation was never told)."""
    from shared.clock import skew_safe_lease
    from shared.remediation.verification import Sweep

    key = "other-incident|frontend|rollback_traffic"
    _damaged_action(rolled_back, key, service="frontend", state="pending")
    rolled_back.at(3)
    [made] = Sweep(rolled_back.config, rolled_back.adapters).run()     # the instance dies before publishing
    assert made.status.value == "escalated" and f"'{key}'" in made.reason, made.reason
    lease = skew_safe_lease(rolled_back.config.guardrails.claim_ttl_seconds)
    rolled_back.at(3 + lease / timedelta(minutes=1) + 1)
    outcomes = rolled_back.command({"command": "sweep"}, message_id="c2")
    assert made.outcome_id in [o.outcome_id for o in outcomes], [(o.status.value, o.reason) for o in outcomes]


def _damaged_plan(world: World, claim: str, message: str, **fields) -> str:
    """An open plan (intent) of the claim `claim` as a version with other fields might have left it: its `noted_at`
    not a time. Returns its key."""
    from shared.remediation.records import INTENTS, intent_key

    incident = claim.split("|")[0]
    key = intent_key(incident, message)
    world.state.put_record(INTENTS, key, {"incident_id": incident, "message_id": message, "owner": f"{message}:1",
                                          "claim_key": claim, "action": "rollback_traffic", "target": SERVICE,
                                          "service": SERVICE, "noted_at": "just now", "state": "open", **fields})
    return key


def test_a_lapsed_claim_whose_other_plan_cannot_be_read_is_not_taken_over_to_write(world):
    """The incident's claim lapsed (its attempt died), and another message's plan of that very claim, open, cannot
    be read: it may be the write that attempt sent. A new notification of the incident takes the claim over. Before,
    the plan was left out (plans.of_claim passed over it) and the rollback was written on top: an action led by a
    damaged record. Now the alert is escalated naming it, and nothing is written (fail closed)."""
    from shared.alerts.incidents import parse_message_published
    from shared.remediation.guardrails import CLAIMS, claim_key

    world.seed("bad_revision")
    alert = world.alert(message_id="m-2")
    incident = parse_message_published(alert)[1].incident_id
    claim = claim_key(incident, SERVICE, "rollback_traffic")
    world.state.claim(CLAIMS, claim, "m-died:1", timedelta(minutes=1), world.clock.now() - timedelta(minutes=30))
    plan = _damaged_plan(world, claim, "m-died")

    outcome = world.handle(alert)

    assert outcome.status.value == "escalated", outcome.reason
    assert f"the intents record '{plan}' cannot be read" in outcome.reason, outcome.reason
    assert world.writes() == 0


def test_a_release_whose_claim_has_another_plan_that_cannot_be_read_releases_nothing(world):
    """A person releases an escalated plan's hold (commands/hold.py) while another plan of the same claim cannot
    be read: it may hold the write too. Before, it was passed over and the hold released. Now the release is
    rejected naming it, and the escalated plan still holds."""
    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import INTENTS, intent_key

    world.seed("bad_revision")
    claim = claim_key("inc-held", SERVICE, "rollback_traffic")
    escalated = intent_key("inc-held", "m-1")
    world.state.put_record(INTENTS, escalated, {
        "incident_id": "inc-held", "message_id": "m-1", "owner": "m-1:1", "claim_key": claim,
        "action": "rollback_traffic", "target": SERVICE, "service": SERVICE, "noted_at": world.clock.now(),
        "expires_at": world.clock.now() + timedelta(days=7), "state": "escalated"})
    damaged = _damaged_plan(world, claim, "m-2", state="escalated")
    world.config = world.config.model_copy(update={"operators": ("alice@example.com",)})

    [answer] = world.command({"command": "release", "command_id": "rl-1", "requested_by": "alice@example.com",
                              "target": SERVICE, "params": {"intent": escalated}, "reason": "checked"},
                             message_id="rl-1")

    assert answer.status.value == "rejected", answer.reason
    assert f"'{damaged}' cannot be read" in answer.reason, answer.reason
    assert world.state.get_record(INTENTS, escalated)["state"] == "escalated"


def test_a_pause_names_a_write_under_way_whose_plan_or_undo_cannot_be_read(world):
    """An open plan noted seconds ago and an undo the sweep is making, both unreadable by this version, may each be
    a write the pause cannot stop. Before, the pause passed over both (in_flight.plans_since, pause._undos) and
    named no write under way; now it names each by its record."""
    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import INTENTS
    from tests.integration.test_commands import command

    claim = claim_key("0.inflight", SERVICE, "rollback_traffic")
    world.state.put_record(INTENTS, "0.inflight|17", {"incident_id": "0.inflight", "message_id": "17",
                                                      "claim_key": claim, "target": SERVICE, "state": "open",
                                                      "noted_at": world.clock.now() - timedelta(seconds=20)})
    _damaged_action(world, "0.undoing|backend|rollback_traffic", state="undoing")

    paused = command(world, "pause", target=SERVICE, reason="stop it")

    assert paused.status.value == "applied", paused.reason
    assert "2 write(s) may already be under way" in paused.reason, paused.reason
    assert "the intents record '0.inflight|17' cannot be read" in paused.reason, paused.reason
    assert "the actions record '0.undoing|backend|rollback_traffic' cannot be read" in paused.reason, paused.reason


def _approved(world: World, proposal_id: str, command_id: str, **fields) -> dict:
    """An approved proposal as its approve's attempt left it (the attempt ended before settling it), approved an
    hour ago: past every lease, so the sweep settles it."""
    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import PROPOSALS

    now = world.clock.now()
    data = {"proposal_id": proposal_id, "key": claim_key(f"inc-{proposal_id}", SERVICE, "rollback_traffic"),
            "incident_id": f"inc-{proposal_id}", "target": SERVICE, "service": SERVICE, "action": "rollback_traffic",
            "proposed_at": now - timedelta(hours=2), "expires_at": now + timedelta(days=1), "state": "approved",
            "command_id": command_id, "decided_at": now - timedelta(hours=1), **fields}
    world.state.put_record(PROPOSALS, proposal_id, data)
    return data


@pytest.mark.parametrize("damaged", ["proposal", "its intent"])
def test_an_approved_proposal_the_sweep_cannot_settle_for_a_damaged_record_is_escalated_once(world, damaged):
    """An approved proposal left `approved` by its approve's attempt, which the sweep settles: the proposal itself,
    or its command's intent, cannot be read. Before, the sweep said so at ERROR in its log every sweep, and no
    outcome told a person. Now it is escalated once, naming the record, the proposal left as it is (never closed
    as unwritten) and marked; later sweeps say nothing more."""
    from shared.remediation.records import INTENTS, PROPOSALS, command_intent_key

    if damaged == "proposal":
        _approved(world, "p-1", "ap-1", proposed_at="long ago")
        named = "the proposals record 'p-1' cannot be read"
    else:
        _approved(world, "p-1", "ap-1")
        world.state.put_record(INTENTS, command_intent_key("ap-1"), {"command_id": "ap-1", "state": "recorded",
                                                                    "proposal_id": "p-1"})
        named = f"the intents record '{command_intent_key('ap-1')}' cannot be read"

    [told] = world.command({"command": "sweep"})

    assert told.status.value == "escalated" and named in told.reason, told.reason
    assert "settle that approved proposal" in told.reason, told.reason
    record = world.state.get_record(PROPOSALS, "p-1")
    assert record["state"] == "approved" and record["damaged_escalated_at"] is not None
    world.at(world_minutes(world) + 2)
    assert world.command({"command": "sweep"}, message_id="c2") == []     # told once


def world_minutes(world: World) -> float:
    return (world.clock.now() - world.anchor) / timedelta(minutes=1)


def test_a_kept_report_whose_own_fields_cannot_be_read_is_escalated_once_in_its_place(rolled_back):
    """A verified action record keeps a pending report whose own fields (its hold's `report_until`) this version
    cannot read: no sweep can take, publish or mark it. Before, every sweep said so at ERROR in its log and no
    outcome ever told a person. Now it is escalated once, naming the record, the escalation kept in its place and
    published; later sweeps publish nothing."""
    from tests.integration.test_remediation import action_key

    key = action_key(rolled_back)
    rolled_back.state.update_record(ACTIONS, key, {"state": "verified", "report_state": "pending",
                                                   "report": '{"status": "verified"}', "report_until": "soon"})
    rolled_back.at(6)

    [told] = rolled_back.command({"command": "sweep"})

    assert told.status.value == "escalated", told.reason
    assert f"the actions record '{key}' cannot be read (report_until" in told.reason, told.reason
    assert "publish the report kept in it" in told.reason, told.reason
    assert [o["outcome_id"] for o in rolled_back.published()] == [told.outcome_id]
    record = rolled_back.state.get_record(ACTIONS, key)
    assert record["report_state"] == "sent" and record["damaged_escalated_at"] is not None
    rolled_back.at(8)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []


def test_a_restore_past_the_pending_actions_it_can_read_says_the_pin_is_released(rolled_back, monkeypatch):
    """A restore to_latest releases the pin, then closes the service's pending rollbacks, read over every pending
    action by deadline, at most RELEASE_PAGES pages. Past them the read raises. Before, the answer said "the pin's
    release could not be recorded" and that the sweep may still remind of the pin, while the pin was released.
    Now it says the pin is released and the rollbacks could not all be closed. (The bound shrunk to one page of
    two, so that three pending actions pass it, as 5,001 would.)"""
    from shared.commands import traffic

    monkeypatch.setattr(traffic, "RELEASE_PAGE", 2)
    monkeypatch.setattr(traffic, "RELEASE_PAGES", 1)
    for n in range(2):
        key = f"!other-{n}|frontend|scale_connector"
        rolled_back.state.put_record(ACTIONS, key, {"key": key, "service": "frontend", "state": "pending",
                                                    "action": "scale_connector",
                                                    "deadline_at": rolled_back.anchor - timedelta(minutes=n + 1)})
    body = {"command": "restore_traffic", "command_id": "rs-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"to_latest": True}, "reason": "fixed"}

    [restored] = rolled_back.command(body, message_id="rs-1")

    assert restored.status.value == "applied", restored.reason
    assert rolled_back.state.get_record(PINS, SERVICE)["pinned"] is False
    [note] = [n for n in restored.notes if n.startswith("The restore is written, but")]
    assert "could not be recorded" not in note and f"the pin of {SERVICE} is released" in note, note
    assert "more than 2 pending actions" in note, note


# A command resend's own reads (shared/commands/recovery.py, restore_notes.py): what an earlier attempt at the
# command left (its intent, the action record or gate claim at its key, a restore's note), damaged.
_RESENT = "rs-damaged"
_GATE_KEY = {"rollback_traffic": f"{command_incident(_RESENT)}|{SERVICE}|rollback_traffic",
             "restore_traffic": note_key(_RESENT, SERVICE)}
_BODIES = {"rollback_traffic": {"revision": "backend-00001-abc"}, "restore_traffic": {"to_latest": True}}


@pytest.fixture
def operator_world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])
    w.seed("bad_revision")
    return w


@pytest.mark.parametrize("command, collection", [
    ("rollback_traffic", INTENTS),     # the plan the gate stored before an earlier attempt's write
    ("rollback_traffic", ACTIONS),     # the action record at the key that follows from the command
    ("restore_traffic", CLAIMS),       # the restore's gate claim
    ("restore_traffic", RESTORES),     # the restore's note, its gate claim gone
])
def test_a_command_whose_earlier_attempts_record_cannot_be_read_is_escalated_naming_it(operator_world, command,
                                                                                        collection):
    """A record that says whether an earlier attempt at the command wrote cannot be read. Before, the command's
    read raised a ValidationError: a `failed` outcome after its retries, the record unnamed. Now it is escalated
    naming the record (collection, key, field) once, and nothing is written."""
    key = command_intent_key(_RESENT) if collection == INTENTS else _GATE_KEY[command]
    operator_world.state.put_record(collection, key, {"key": key, "state": "reverted-by-hand", "owner": 7})
    body = {"command": command, "command_id": _RESENT, "requested_by": "alice@example.com", "target": SERVICE,
            "params": _BODIES[command], "reason": "resent"}

    [outcome] = operator_world.command(body, message_id=_RESENT)

    assert outcome.status.value == "escalated", outcome.reason
    assert f"the {collection} record {key!r} cannot be read" in outcome.reason, outcome.reason
    assert outcome.reason.count(repr(key)) == 1, outcome.reason
    assert operator_world.writes() == 0


def test_a_restore_whose_note_turns_out_damaged_when_stored_is_escalated_naming_it(operator_world):
    """The restore's note is created by another attempt, damaged, between the resend's first read (none there) and
    its own create (restore_notes.store reads the one found). Before, that read raised; now it is escalated, named."""
    key = note_key(_RESENT, SERVICE)
    run_store = operator_world.state

    class Racing:   # the note lands just before this attempt's create: a real store, written in between
        def __getattr__(self, name):
            return getattr(run_store, name)

        def create_record(self, kind, record_key, data):
            if kind == RESTORES:
                run_store.put_record(RESTORES, record_key, {"key": record_key, "noted_at": "soon"})
            return run_store.create_record(kind, record_key, data)
    operator_world.adapters.state = Racing()
    body = {"command": "restore_traffic", "command_id": _RESENT, "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"to_latest": True}, "reason": "resent"}

    [outcome] = operator_world.command(body, message_id=_RESENT)

    assert outcome.status.value == "escalated", outcome.reason
    assert f"the restores record {key!r} cannot be read (command_id: Field required)" in outcome.reason, outcome.reason
    assert operator_world.writes() == 0


# Records whose own fields name no key (damaged there too): named and addressed by the key the sweep's query found
# them under (ports.FoundRecord.document_key), so that they are told once like any other damaged record.
def test_a_pending_action_whose_fields_name_no_key_is_escalated_once_naming_its_document(rolled_back):
    """A pending action record of another service holds no `key` field (nor the others this version needs). Before,
    the sweep could neither name nor mark it: passed over in silence, every sweep, never told. Now it is escalated
    once, named by the key it is stored under, and the rollback is verified as usual."""
    key = "lost-incident|frontend|rollback_traffic"
    rolled_back.state.put_record(ACTIONS, key, {"service": "frontend", "state": "pending",
                                                "deadline_at": rolled_back.anchor + timedelta(minutes=5)})
    recovery(rolled_back)
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    by_status = {o.status.value: o for o in outcomes}
    assert set(by_status) == {"verified", "escalated"}, [(o.status.value, o.reason) for o in outcomes]
    assert f"the actions record {key!r} cannot be read" in by_status["escalated"].reason, by_status["escalated"].reason
    assert rolled_back.state.get_record(ACTIONS, key)["damaged_escalated_at"] is not None
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []   # told once


def test_an_open_intent_whose_key_fields_cannot_be_read_is_escalated_once_naming_its_document(world):
    """An open intent past its claim's lease holds neither its incident nor its message id, so its own fields do not
    say its key. Before, the sweep said so at ERROR in its log every sweep, and no outcome told a person. Now it is
    escalated once, named by the key it is stored under, and closed `escalated`; later sweeps say nothing more."""
    key = "0.lost|m-lost"
    world.state.put_record(INTENTS, key, {"owner": "m-lost:1", "claim_key": f"0.lost|{SERVICE}|rollback_traffic",
                                          "action": "rollback_traffic", "target": SERVICE, "state": "open",
                                          "noted_at": world.clock.now() - timedelta(hours=1)})

    [told] = world.command({"command": "sweep"})

    assert told.status.value == "escalated" and f"the intent {key} " in told.reason, told.reason
    assert world.state.get_record(INTENTS, key)["state"] == "escalated"
    world.at(world_minutes(world) + 2)
    assert world.command({"command": "sweep"}, message_id="c2") == []


# The status command's claim reads (its writes in flight, cooldowns, budgets, an approved proposal's command record)
# and a command's own record (its COMMANDS claim): named, never raised.
def _status(world: World, command_id: str = "st-1"):
    [answer] = world.command({"command": "status", "command_id": command_id, "requested_by": "alice@example.com"},
                             message_id=command_id)
    return answer


def test_a_status_names_the_claims_it_cannot_read_and_reports_what_it_read(rolled_back):
    """A target's write claim, its cooldown and a budget slot cannot be read. Before, the status raised on the first
    (a ValidationError, or the store's DamagedRecord): `failed` after its retries, the record unnamed, and nothing of
    what it had read reported. Now each is named in the snapshot's `unreadable` and the answer, and the rest is
    reported: the pending verification and the pin."""
    from shared.remediation.guardrails import BUDGETS, COOLDOWNS, WRITING, slot_keys

    now = rolled_back.clock.now()
    slot = slot_keys(f"global|{now:%Y-%m-%dT%H}", rolled_back.config.guardrails.max_actions_per_hour)[0]
    for kind, key in ((WRITING, SERVICE), (COOLDOWNS, SERVICE), (BUDGETS, slot)):
        rolled_back.state.put_record(kind, key, {"owner": 7, "status": "held-by-hand"})

    answer = _status(rolled_back)

    assert answer.status.value == "reported", answer.reason
    named = {u["record"]: u["why"] for u in answer.snapshot["unreadable"]}
    assert set(named) == {f"{WRITING}/{SERVICE}", f"{COOLDOWNS}/{SERVICE}", f"{BUDGETS}/{slot}"}, named
    assert all("owner" in why or "status" in why or "Field required" in why for why in named.values()), named
    assert "3 record(s) could not be read" in answer.reason and f"{WRITING}/{SERVICE}" in answer.reason, answer.reason
    assert len(answer.snapshot["pending_verifications"]) == 1 and len(answer.snapshot["pinned"]) == 1


def test_a_status_names_an_approved_proposals_command_record_it_cannot_read(world):
    """An approved proposal's command record (its COMMANDS claim), read for when the sweep settles it, cannot be
    read. Before, the status raised the store's DamagedRecord and ended `failed`; now the proposal is listed with no
    settling time, and the record named."""
    from shared.remediation.records import COMMANDS

    _approved(world, "p-1", "ap-1")
    world.state.put_record(COMMANDS, "ap-1", {"owner": 7})

    answer = _status(world)

    assert answer.status.value == "reported", answer.reason
    [listed] = answer.snapshot["approved_proposals"]
    assert listed["proposal_id"] == "p-1" and listed["settled_by_sweep_after"] is None
    assert [u["record"] for u in answer.snapshot["unreadable"]] == [f"{COMMANDS}/ap-1"]


@pytest.mark.parametrize("command", ["rollback_traffic", "status"])
def test_a_command_whose_own_record_cannot_be_read_is_escalated_naming_it(operator_world, command):
    """The command's own record (its COMMANDS claim, which holds the first answer) cannot be read. Before, the claim
    raised the store's DamagedRecord: every retry failed the same way and the command ended `failed`, the record
    unnamed. Now it is escalated naming it, not run, nothing written."""
    from shared.remediation.records import COMMANDS

    operator_world.state.put_record(COMMANDS, _RESENT, {"owner": 7, "status": "held-by-hand"})
    body = {"command": command, "command_id": _RESENT, "requested_by": "alice@example.com", "target": SERVICE,
            "reason": "resent", **({"params": _BODIES[command]} if command in _BODIES else {})}

    [outcome] = operator_world.command(body, message_id=_RESENT)

    assert outcome.status.value == "escalated", outcome.reason
    assert f"the {COMMANDS} record {_RESENT!r} cannot be read (" in outcome.reason, outcome.reason
    assert operator_world.writes() == 0


def test_a_plan_closed_in_a_state_this_version_does_not_know_is_kept_and_holds_its_claim(world):
    """A plan closed by a later version in a state this one does not know (as 0.2.0's `released` is to the version
    before: docs/deploy.md, "Upgrading and removing"), met after a rollback of Runwarden itself. The sweep goes on
    and leaves it as stored (only open plans, and plans with no state, are swept); a notification that would take
    its lapsed claim over is escalated naming it, writing nothing (it may be a write that landed: fail closed). A
    plan is read only through its claim: a claim given back (as a release gives it) is taken afresh, reading none."""
    from shared.alerts.incidents import parse_message_published
    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import intent_key

    world.seed("bad_revision")
    alert = world.alert(message_id="m-2")
    incident = parse_message_published(alert)[1].incident_id
    claim = claim_key(incident, SERVICE, "rollback_traffic")
    key = intent_key(incident, "m-later")
    stored = {"incident_id": incident, "message_id": "m-later", "owner": "m-later:1", "claim_key": claim,
              "action": "rollback_traffic", "target": SERVICE, "service": SERVICE,
              "noted_at": world.clock.now() - timedelta(minutes=30),
              "expires_at": world.clock.now() + timedelta(days=6), "state": "superseded", "note": "by a later version"}
    world.state.put_record(INTENTS, key, stored)
    world.state.claim(CLAIMS, claim, "m-later:1", timedelta(minutes=1), world.clock.now() - timedelta(minutes=30))

    swept = world.command({"command": "sweep"}, message_id="c-sweep")
    assert all(o.status.value != "failed" for o in swept), [(o.status.value, o.reason) for o in swept]
    assert world.state.get_record(INTENTS, key) == stored

    outcome = world.handle(alert)
    assert outcome.status.value == "escalated", outcome.reason
    assert f"the intents record '{key}' cannot be read (state: " in outcome.reason, outcome.reason
    assert world.writes() == 0
    assert world.state.get_record(INTENTS, key) == stored


def _damage_verdict_copies(world: World, damage) -> int:
    """Each verdict copied into an incident's SETTLED record replaced by `damage(copy)`; how many were."""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.remediation.records import VERDICT_FIELD_PREFIX

    damaged = 0
    for document in FirestoreStateStore._firestore(world.state).collection("runwarden_settled").stream():
        for name, value in document.to_dict().items():
            if name.startswith(VERDICT_FIELD_PREFIX):
                document.reference.update({name: damage(value)})
                damaged += 1
    return damaged


VERDICT_DAMAGES = {
    "not a map": lambda copy: "verified",
    "a state no verdict": lambda copy: {**copy, "state": "pending"},
    "no applied_at": lambda copy: {k: v for k, v in copy.items() if k != "applied_at"},
    "another action's key": lambda copy: {**copy, "key": copy["key"] + "-other"},
}


@pytest.mark.parametrize("damage", VERDICT_DAMAGES.values(), ids=VERDICT_DAMAGES.keys())
def test_a_reminder_whose_kept_verdict_cannot_be_read_is_answered_from_the_action_records(rolled_back, damage):
    """The verdict copied into the incident's SETTLED record (settled.write_verdict), damaged by another hand: never
    read as a verdict, nor as "not judged" (a reminder after `verified` answered `skipped`), nor raised (a `failed`
    delivery): the action records answer, as for state the version before wrote, on a fresh instance and a
    remembering one alike."""
    from shared.remediation.settled import SettledIncidents

    recovery(rolled_back)
    rolled_back.at(12)
    [verified] = rolled_back.command({"command": "sweep"})
    assert verified.status.value == "verified", verified.reason
    rolled_back.at(3 * 60)
    assert _damage_verdict_copies(rolled_back, damage) == 1

    answers = []
    for message, settled in (("r-1", SettledIncidents()), ("r-2", None)):
        rolled_back.adapters.settled = settled or rolled_back.adapters.settled
        answers.append(rolled_back.handle(rolled_back.alert(message_id=message)))
    for answer in answers:
        assert answer.status.value == "escalated", answer.reason
        assert "was verified at 2026-11-26 12:12:00 UTC" in answer.reason, answer.reason
    assert rolled_back.standins.run.count("UpdateService") == 1
