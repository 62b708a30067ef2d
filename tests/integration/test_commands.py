"""Operators' commands on real parts (stand-ins, emulators, the real adapters): every command, the
gate for manual writes, proposals, pins, overrides, and no write for a refused command."""
from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest

from sandbox.standins.run import ConditionSeed, TrafficSeed
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import pause_key
from shared.remediation.records import ACTIONS, FLAGS, PINS, PROPOSALS
from tests.integration.test_remediation import recovery
from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
_ids = itertools.count(1)


def command(world: World, name: str, requested_by: str = "alice@example.com", **fields):
    body = {"command": name, "command_id": fields.pop("command_id", f"cmd-{next(_ids)}"),
            "requested_by": requested_by, **fields}
    [outcome] = world.command(body, message_id=body["command_id"])
    return outcome


def writes(world: World) -> int:
    return world.standins.run.count("UpdateService") + world.standins.vpcaccess.count("PatchConnector")


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])
    w.seed("bad_revision")
    return w


def test_a_rollback_to_a_named_revision_keeps_tags_and_says_how_to_release_the_pin(world):
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW), TrafficSeed(0, NEW, tag="canary")])

    outcome = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")

    assert outcome.status.value == "applied", outcome.reason
    assert outcome.command_id and outcome.requested_by == "alice@example.com"
    traffic = {(t.revision, t.tag): t.percent for t in world.standins.run.service(SERVICE).traffic}
    assert traffic == {(OLD, ""): 100, (NEW, "canary"): 0}
    notes = " ".join(outcome.notes)
    assert ("gcloud run services update-traffic backend --to-latest --region=us-central1 --project=demo-project"
            in notes)
    assert f"runwarden command restore_traffic --target {SERVICE} --param to_latest=true" in notes
    assert "canary" in notes and f"Changed: {NEW}: 100% -> absent" in notes
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] and pin["revision"] == OLD
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["command_id"] == outcome.command_id and record["state"] == "pending"


@pytest.mark.parametrize("revision, why", [
    ("backend-00009-nope", "is not a revision of backend"),
    ("backend-00003-bad", "is not Ready"),
])
def test_a_rollback_to_a_missing_or_unready_revision_is_rejected(world, revision, why):
    world.standins.run.add_revision(SERVICE, "backend-00003-bad", world.anchor,
                                    conditions=[ConditionSeed("Ready", "CONDITION_FAILED", "HEALTH_CHECK_CONTAINER_ERROR")])
    outcome = command(world, "rollback_traffic", target=SERVICE, params={"revision": revision}, reason="r")
    assert outcome.status.value == "rejected" and "params.revision" in outcome.reason and why in outcome.reason
    assert writes(world) == 0


def test_a_rollback_to_the_revision_already_pinned_beside_a_tag_on_latest_writes_nothing(world):
    # Pinned to OLD, with a tag that follows LATEST (`current`, 0%): all the traffic is OLD's already.
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD), TrafficSeed(0, None, tag="current")])

    outcome = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")

    assert outcome.status.value == "skipped" and "already serves 100%" in outcome.reason, outcome.reason
    assert writes(world) == 0


def test_a_rollback_of_a_service_not_in_the_inventory_is_rejected(world):
    other = SERVICE.replace("backend", "frontend")
    outcome = command(world, "rollback_traffic", target=other, params={"revision": OLD}, reason="r")
    assert outcome.status.value == "rejected" and outcome.reason.startswith("target:")
    assert writes(world) == 0


def test_a_rollback_without_a_revision_goes_to_the_known_good_one(world):
    outcome = command(world, "rollback_traffic", target=SERVICE, reason="5xx after the deploy")
    assert outcome.status.value == "applied", outcome.reason
    assert world.serving() == {OLD: 100}


def test_restore_to_latest_after_a_rollback_releases_the_pin(world):
    rolled = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")
    assert rolled.status.value == "applied"

    restored = command(world, "restore_traffic", target=SERVICE, params={"to_latest": True}, reason="fixed")

    assert restored.status.value == "applied", restored.reason
    [latest] = world.standins.run.service(SERVICE).traffic
    assert latest.type_.name.endswith("LATEST") and latest.percent == 100
    assert world.state.get_record(PINS, SERVICE)["pinned"] is False
    [record] = world.state.find_records(ACTIONS, "action", "rollback_traffic")
    assert record["state"] == "undone"  # the sweep will not undo what a person already reversed
    # Its verdict kept with its SETTLED entry by the same commit (settled.write_verdict): a later notification of
    # the incident reads it there.
    from shared.remediation.records import SETTLED
    from shared.remediation.settled import SettledState

    kept = SettledState.parse(world.state.get_record(SETTLED, record["incident_id"]))
    assert kept.keeps_verdicts() and [(v.state.value, v.resolved_at) for v in kept.verdicts] == [
        ("undone", record["resolved_at"])]
    again = command(world, "restore_traffic", target=SERVICE, params={"to_latest": True}, reason="again")
    assert again.status.value == "skipped" and "no pin" in again.reason


def test_a_restore_cloud_run_refused_takes_its_note_on_the_pin_back(world):
    """The restore notes itself on the pin before its write (RestoreMark), for the sweep to tell its
    write from a person's if its record fails. Cloud Run refused the write (`failed`): nothing was
    written, so the note is taken back; left, a person's later change to exactly that split would be
    taken by the sweep for this restore (the rollback settled `undone` in the sender's name, the pin
    released by them)."""
    import grpc

    assert command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r").status.value == \
        "applied"
    world.standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="UpdateService")

    refused = command(world, "restore_traffic", target=SERVICE, params={"to_latest": True}, reason="fixed")

    assert refused.status.value == "failed", refused.reason
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is True and pin.get("restoring") is None, pin


def test_a_restore_notes_itself_on_the_pin_with_a_timestamp_and_takes_back_only_its_own_note(world, monkeypatch):
    """The note's time is a Firestore timestamp, not text. A restore that wrote nothing takes back
    its own note only: another restore that noted itself in between (and may be writing now) keeps
    its note, or its write, if its record then failed, would be escalated as a person's change."""
    import grpc
    from datetime import datetime

    from shared.remediation.records import RestoreMark

    assert command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r").status.value == \
        "applied"
    other = RestoreMark(command_id="rest-other", requested_by="bob@example.com",
                        traffic=[{"type": "LATEST", "revision": None, "percent": 100, "tag": ""}], at=world.clock.now())
    store, update = world.state, world.state.update_record

    def then_another_restore_notes_itself(kind, key, changes, expect=None):
        done = update(kind, key, changes, expect)
        if kind == PINS and (changes.get("restoring") or {}).get("command_id") == "rest-mine":
            mine = store.get_record(PINS, SERVICE)["restoring"]
            assert isinstance(mine["at"], datetime), mine     # a timestamp, not ISO text
            update(PINS, SERVICE, {"restoring": other.stored()}, expect={"pinned": True})
        return done

    monkeypatch.setattr(store, "update_record", then_another_restore_notes_itself)
    world.standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="UpdateService")

    mine = command(world, "restore_traffic", command_id="rest-mine", target=SERVICE, params={"to_latest": True},
                   reason="fixed")

    assert mine.status.value == "failed", mine.reason
    kept = store.get_record(PINS, SERVICE)["restoring"]
    assert RestoreMark.model_validate(kept) == other, kept


def test_a_restore_whose_gate_met_an_earlier_attempts_claim_takes_back_only_the_note_it_stored(world):
    """An earlier attempt at the same restore left the gate's claim held (its give-back failed): the
    next attempt's gate raises AttemptInProgress and writes nothing. Its own note on the pin is taken
    back (dead-lettered, it stayed for good, and a person's later change to that split read as this
    restore); an earlier attempt's note for the same split is kept, never replaced."""
    from shared.commands.context import command_owner
    from shared.errors import TransientError
    from shared.remediation.guardrails import CLAIMS, claim_key, command_incident
    from shared.remediation.records import RestoreMark

    assert command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r").status.value == \
        "applied"
    key = claim_key(command_incident("rest-held"), SERVICE, "restore_traffic")
    world.state.claim(CLAIMS, key, command_owner("rest-held", "m-earlier"), timedelta(minutes=10), world.clock.now())
    body = {"command": "restore_traffic", "command_id": "rest-held", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"to_latest": True}, "reason": "fixed"}
    with pytest.raises(TransientError):
        world.command(body, message_id="m-later")
    assert world.state.get_record(PINS, SERVICE).get("restoring") is None

    earlier = RestoreMark(command_id="rest-held", requested_by="alice@example.com", at=world.clock.now(),
                          traffic=[{"type": "LATEST", "revision": None, "percent": 100, "tag": ""}])
    assert world.state.update_record(PINS, SERVICE, {"restoring": earlier.stored()}, expect={"pinned": True})
    with pytest.raises(TransientError):
        world.command(body, message_id="m-later-2")
    assert RestoreMark.model_validate(world.state.get_record(PINS, SERVICE)["restoring"]) == earlier
    assert writes(world) == 1


def test_a_pause_names_a_write_already_under_way_that_it_cannot_stop(world):
    """A write past the gate's last check (its plan stored, open) is sent whatever the pause says:
    the answer names it, read from Firestore's open intents, rather than "no writes until resumed"."""
    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import INTENTS, IntentRecord, IntentState

    plan = IntentRecord(incident_id="0.inflight", message_id="17", owner="17:a", action="rollback_traffic",
                        claim_key=claim_key("0.inflight", SERVICE, "rollback_traffic"), target=SERVICE,
                        service=SERVICE, noted_at=world.clock.now() - timedelta(seconds=20), state=IntentState.OPEN)
    world.state.put_record(INTENTS, plan.key, plan.model_dump(mode="python"))

    paused = command(world, "pause", target=SERVICE, reason="stop it")

    assert paused.status.value == "applied", paused.reason
    assert "1 write(s) may already be under way" in paused.reason and "incident 0.inflight" in paused.reason, paused.reason


def test_restore_by_action_id_puts_back_the_recorded_split(world):
    rolled = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")
    restored = command(world, "restore_traffic", target=SERVICE, params={"action_id": rolled.action.action_id},
                       reason="it was not the deploy")
    assert restored.status.value == "applied", restored.reason
    assert world.serving() == {NEW: 100}


THIRD = "backend-00003-def"


def _pinned_again(world: World) -> None:
    """A person sends traffic back to the deploy by hand (no record), and a second rollback pins OLD again."""
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])


def _to_a_third_revision(world: World) -> None:
    world.standins.run.add_revision(SERVICE, THIRD, world.anchor - timedelta(days=3))


@pytest.mark.parametrize("between, to", [(_pinned_again, OLD), (_to_a_third_revision, THIRD)],
                         ids=["pinned-again-to-the-same-revision", "rolled-back-to-another-revision"])
def test_a_restore_after_a_later_rollback_writes_nothing_and_names_it(world, between, to):
    """Rollback A is still pending when a later rollback B (another operator, or automation for a new incident)
    changes or pins the service's traffic again. A restore of A wrote A's "before" split over B: B undone by no one
    who named it, its record left pending for the sweep to judge a change that no longer stood; or, B on another
    revision, it was refused as "someone else's" change, never naming B. A restore writes only over what A left."""
    a = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")
    assert a.status.value == "applied", a.reason
    between(world)
    b = command(world, "rollback_traffic", target=SERVICE, params={"revision": to}, reason="new incident",
                requested_by="alice@example.com", override_limits=True)
    assert b.status.value == "applied" and world.serving() == {to: 100}, b.reason
    done = writes(world)

    restored = command(world, "restore_traffic", target=SERVICE, params={"action_id": a.action.action_id},
                       reason="it was not the deploy")

    assert restored.status.value == "skipped", restored.reason
    said = ("nothing written", b.action.action_id, f"command {b.command_id}", f"restore {b.action.action_id} first",
            "rollback_traffic with the Ready revision")
    assert [words for words in said if words not in restored.reason] == [], restored.reason
    assert writes(world) == done and world.serving() == {to: 100}
    assert world.state.get_record(ACTIONS, b.action.action_id)["state"] == "pending"
    assert world.state.get_record(ACTIONS, a.action.action_id)["state"] == "pending"


def test_a_restore_of_a_rollback_already_undone_writes_nothing_and_names_the_later_change(world):
    """Rollback A is restored (undone); a second rollback B pins the same revision again. A restore of A sent
    again (a second operator, or the first one's terminal history) found the service serving as A left it and
    wrote A's split back: it undid B, which no one named, leaving B's record pending for the sweep to judge a
    change someone else had reversed. An action already undone has nothing left to undo."""
    a = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")
    undo_a = command(world, "restore_traffic", target=SERVICE, params={"action_id": a.action.action_id}, reason="r")
    assert undo_a.status.value == "applied" and world.serving() == {NEW: 100}, undo_a.reason
    b = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy after all",
                override_limits=True)
    assert b.status.value == "applied" and world.serving() == {OLD: 100}, b.reason
    done = writes(world)

    again = command(world, "restore_traffic", target=SERVICE, params={"action_id": a.action.action_id}, reason="r")

    assert again.status.value == "skipped", again.reason
    said = (f"{a.action.action_id} was already undone", f"command {undo_a.command_id}", "nothing written",
            b.action.action_id)
    assert [words for words in said if words not in again.reason] == [], again.reason
    assert writes(world) == done and world.serving() == {OLD: 100}
    assert world.state.get_record(ACTIONS, b.action.action_id)["state"] == "pending"


def test_a_restore_refuses_when_a_later_rollback_record_cannot_be_read(world):
    """Rollback A pending; B pins the same revision again, and its record is damaged (a state this version does not
    know). The service serves as A left it, so only B's record says B stands: before, it was passed over as
    unreadable and A's split was written over B. Now the restore refuses, naming B's record (fail closed)."""
    a = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")
    _pinned_again(world)
    b = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="new incident",
                override_limits=True)
    assert a.status.value == b.status.value == "applied", (a.reason, b.reason)
    world.state.update_record(ACTIONS, b.action.action_id, {"state": "reverted-by-hand"})
    done = writes(world)

    restored = command(world, "restore_traffic", target=SERVICE, params={"action_id": a.action.action_id}, reason="r")

    assert restored.status.value == "skipped", restored.reason
    assert f"'{b.action.action_id}'" in restored.reason and "could not all be read" in restored.reason, \
        restored.reason
    assert writes(world) == done and world.serving() == {OLD: 100}


def test_the_same_command_id_twice_is_a_duplicate_carrying_the_first_result(world):
    first = command(world, "rollback_traffic", command_id="same", target=SERVICE, params={"revision": OLD},
                    reason="r")
    second = command(world, "rollback_traffic", command_id="same", target=SERVICE, params={"revision": OLD},
                     reason="r")
    assert first.status.value == "applied"
    assert second.status.value == "skipped" and "duplicate" in second.reason and "applied" in second.reason
    assert world.standins.run.count("UpdateService") == 1


def test_a_resend_names_its_first_answers_status_in_a_typed_field_the_reused_id_none(world):
    """What the CLI exits by (cli/_commands.exit_code): `first_status`, never the reason's words."""
    first = command(world, "rollback_traffic", command_id="typed", target=SERVICE, params={"revision": OLD},
                    reason="r")
    refused = command(world, "rollback_traffic", command_id="typed-no", target=SERVICE,
                      params={"revision": "backend-09999-nope"}, reason="r")
    again = command(world, "rollback_traffic", command_id="typed", target=SERVICE, params={"revision": OLD},
                    reason="r")
    refused_again = command(world, "rollback_traffic", command_id="typed-no", target=SERVICE,
                            params={"revision": "backend-09999-nope"}, reason="r")
    reused = command(world, "rollback_traffic", command_id="typed", target=SERVICE, params={"revision": NEW},
                     reason="r")

    assert (first.status.value, refused.status.value) == ("applied", "rejected"), (first.reason, refused.reason)
    assert (first.first_status, refused.first_status) == (None, None)
    assert again.first_status is OutcomeStatus.APPLIED and again.status.value == "skipped", again.reason
    assert refused_again.first_status is OutcomeStatus.REJECTED, refused_again.reason
    assert reused.first_status is None and reused.status.value == "rejected", reused.reason
    assert json.loads(again.to_json())["first_status"] == "applied"


@pytest.mark.parametrize("extra", [{"dry_run": True}, {"expires_at": "2020-01-01T00:00:00Z"}])
def test_no_write_for_a_dry_run_or_expired_command(world, extra):
    outcome = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r", **extra)
    assert outcome.status.value == ("dry_run" if "dry_run" in extra else "rejected"), outcome.reason
    assert writes(world) == 0
    if "expires_at" in extra:
        assert outcome.reason.startswith("expires_at:")


def test_a_manual_rollback_takes_the_cooldown_and_only_an_operator_may_override_it(world):
    assert command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r").status.value \
        == "applied"
    held = command(world, "rollback_traffic", target=SERVICE, params={"revision": NEW}, reason="r")
    assert held.status.value == "skipped" and "cooldown" in held.reason

    by_someone = command(world, "rollback_traffic", requested_by="mallory@example.com", target=SERVICE,
                         params={"revision": NEW}, reason="r", override_limits=True)
    assert by_someone.status.value == "rejected" and "requested_by" in by_someone.reason
    assert world.standins.run.count("UpdateService") == 1

    by_operator = command(world, "rollback_traffic", target=SERVICE, params={"revision": NEW}, reason="r",
                          override_limits=True)
    assert by_operator.status.value == "applied", by_operator.reason
    assert by_operator.action.overrides == ["cooldown", "budgets"]
    assert any("override_limits by alice@example.com" in n for n in by_operator.notes)
    assert world.serving() == {NEW: 100}


def test_a_resume_delivered_after_a_pause_sent_later_leaves_that_pause_engaged_in_firestore(world):
    """Pub/Sub's publish_time orders a pause and a resume as they were sent: a resume sent before a pause
    and delivered after it (its first delivery failed) is `skipped`, naming the pause, and the pause's
    flag in Firestore stays engaged; a resume sent after the pause releases it."""
    from shared.commands import handle_command
    from tests.integration.world import event

    def sent(name: str, command_id: str, published: str):
        body = {"command": name, "command_id": command_id, "requested_by": "alice@example.com",
                "reason": "freeze", "target": SERVICE}
        data = event(json.dumps(body).encode(), command_id)
        data["message"]["publishTime"] = published
        [outcome] = handle_command(data, world.config, world.adapters)
        return outcome

    assert sent("pause", "p-bob", "2026-11-26T12:02:00.250Z").status.value == "applied"
    late = sent("resume", "r-alice", "2026-11-26T12:02:00.100Z")
    assert late.status.value == "skipped" and "p-bob" in late.reason, late.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE))["engaged"] is True
    assert sent("resume", "r-after", "2026-11-26T12:02:01Z").status.value == "applied"
    assert world.state.get_record(FLAGS, pause_key(SERVICE))["engaged"] is False


def test_a_pause_replayed_after_its_record_lapsed_in_firestore_is_rejected_not_engaged_again(world):
    """A subscription keeps and a seek replays a message for up to 31 days; a command's record is kept 30.
    The record lapsed (past its expires_at; Firestore's TTL deletes it some time after, and the claim
    takes over a lapsed record either way), the replayed pause ran as new and engaged again a month after
    its resume. It is `rejected` by its publish_time now, the flag left released."""
    from shared.commands import handle_command
    from tests.integration.world import event

    def sent(name: str, command_id: str, published: str):
        body = {"command": name, "command_id": command_id, "requested_by": "alice@example.com",
                "reason": "freeze", "target": SERVICE}
        data = event(json.dumps(body).encode(), f"{command_id}-{next(_ids)}")
        data["message"]["publishTime"] = published
        [outcome] = handle_command(data, world.config, world.adapters)
        return outcome

    assert sent("pause", "p-old", "2026-11-26T12:01:00Z").status.value == "applied"
    assert sent("resume", "r-old", "2026-11-26T12:01:30Z").status.value == "applied"
    world.clock.set(world.clock.now() + timedelta(days=31))

    replayed = sent("pause", "p-old", "2026-11-26T12:01:00Z")

    assert replayed.status.value == "rejected", replayed.reason
    assert "longer than a command's record is kept (30 days)" in replayed.reason, replayed.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE))["engaged"] is False


def test_pause_one_target_stops_automation_there_until_resumed(world):
    paused = command(world, "pause", target=SERVICE, reason="deploy freeze")
    assert paused.status.value == "applied"
    stopped = world.handle(world.alert())
    assert stopped.status.value == "skipped" and "paused by alice@example.com" in stopped.reason
    manual = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    assert manual.status.value == "skipped" and "paused" in manual.reason
    assert writes(world) == 0

    assert command(world, "resume", target=SERVICE, reason="freeze over").status.value == "applied"
    assert world.handle(world.alert(message_id="2")).status.value == "applied"


def test_status_shows_what_runwarden_holds(world):
    command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    command(world, "pause", target=SERVICE, reason="freeze")
    world.at(30)

    status = command(world, "status")

    assert status.status.value == "reported"
    snap = status.snapshot
    assert snap["kill_switch"] == "" and [p["target"] for p in snap["paused"]] == [SERVICE]
    assert [p["action"] for p in snap["pending_verifications"]] == ["rollback_traffic"]
    assert [c["target"] for c in snap["cooldowns"]] == [SERVICE]
    assert {"scope": f"target|{SERVICE}", "used": 1} .items() <= snap["budgets"][0].items()
    [pin] = snap["pinned"]
    assert pin["revision"] == OLD and pin["age_seconds"] == 28 * 60
    assert writes(world) == 1
    other = command(world, "status", target="projects/demo-project/locations/us-central1/connectors/none")
    assert other.snapshot["pinned"] == [] and other.snapshot["cooldowns"] == []
    # An empty snapshot of a target Runwarden does not manage says so, rather than reading as "all clear".
    assert other.status.value == "reported" and other.reason.startswith(
        "projects/demo-project/locations/us-central1/connectors/none is not in the inventory"), other.reason
    mine = command(world, "status", target=SERVICE)
    assert "not in the inventory" not in mine.reason and mine.snapshot["pinned"]


def test_diagnose_reports_and_never_writes(world):
    outcome = command(world, "diagnose", target=SERVICE)
    assert outcome.status.value == "reported" and outcome.diagnosis.signature == "bad_revision"
    assert outcome.action.name == "rollback_traffic" and outcome.action.proposed_change
    assert writes(world) == 0


def _labels_of(capsys, step: str) -> list[dict[str, str]]:
    """The Cloud Logging labels of each `step` line written since the last read of `capsys`."""
    entries = [json.loads(raw) for raw in capsys.readouterr().out.splitlines() if raw.startswith("{")]
    return [e["logging.googleapis.com/labels"] for e in entries if e["runwarden"]["step"] == step]


def test_the_sweep_reminds_of_a_pin_held_too_long_while_a_newer_revision_is_ready(world, capsys):
    command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    recovery(world)
    world.at(12)
    [verified] = world.command({"command": "sweep"})
    assert verified.status.value == "verified" and verified.incident_id
    world.at(60 * 23)
    assert world.command({"command": "sweep"}) == []  # pinned for less than a day
    world.at(60 * 25)
    capsys.readouterr()
    reminders = [o for o in world.command({"command": "sweep"}) if o.status.value == "reminder"]
    assert len(reminders) == 1 and NEW in reminders[0].reason and OLD in reminders[0].reason
    # It names the rollback's incident, as the verdict on that rollback did: its notify line carries the
    # incident's label, which the page names (infra/watchdog.tf, policy `notify`; docs/deploy.md), and so
    # does its own `reminder` step, which `runwarden timeline INCIDENT` then shows.
    assert reminders[0].incident_id == verified.incident_id
    [step] = _labels_of(capsys, "reminder")
    assert step.get("runwarden_incident") == verified.incident_id, step
    assert any("--region=us-central1 --project=demo-project" in n for n in reminders[0].notes)
    assert [o for o in world.command({"command": "sweep"}) if o.status.value == "reminder"] == []  # once a day


def test_a_pin_written_before_it_named_its_incident_is_still_reminded_of(world, capsys):
    """A pin stored before pins kept their rollback's incident (no `incident_id`): its reminder comes as
    before, naming no incident, rather than the pin being unreadable."""
    command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    recovery(world)
    world.at(12)
    assert [o.status.value for o in world.command({"command": "sweep"})] == ["verified"]
    world.state.update_record(PINS, SERVICE, {"incident_id": ""})
    world.at(60 * 25)
    capsys.readouterr()
    [reminder] = [o for o in world.command({"command": "sweep"}) if o.status.value == "reminder"]
    assert reminder.incident_id is None and OLD in reminder.reason
    [step] = _labels_of(capsys, "reminder")
    assert "runwarden_incident" not in step, step


def _pinned_a_day(world: World) -> None:
    command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    recovery(world)
    world.at(12)
    assert [o.status.value for o in world.command({"command": "sweep"})] == ["verified"]
    world.at(60 * 25)


def test_a_reminder_whose_publish_failed_is_published_by_the_next_sweep_once(world):
    """The reminder's publish fails: it is kept in the pin, stored by the update that moved
    `reminded_at`, and the retried sweep publishes that very reminder, not one a day later."""
    from tests.integration.test_remediation import _publish_fails_once

    _pinned_a_day(world)
    _publish_fails_once(world, lambda: world.command({"command": "sweep"}))
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["report_state"] == "pending" and pin["report_by"] == ""
    [again] = world.command({"command": "sweep"}, message_id="c2")
    assert again.status.value == "reminder" and again.outcome_id == json.loads(pin["report"])["outcome_id"]
    # Published: the rollback's `applied`, the sweep's `verified`, and the reminder once.
    assert [o["outcome_id"] for o in world.published(3) if o["status"] == "reminder"] == [again.outcome_id]
    assert world.state.get_record(PINS, SERVICE)["report_state"] == "sent"
    assert world.command({"command": "sweep"}, message_id="c3") == []


def test_a_reminder_not_yet_published_when_its_pin_is_released_is_dropped(world):
    """Between the failed publish and the next sweep a person releases the pin: the kept reminder is no
    longer true, so it is dropped, never published."""
    from tests.integration.test_remediation import _publish_fails_once

    _pinned_a_day(world)
    _publish_fails_once(world, lambda: world.command({"command": "sweep"}))
    released = command(world, "restore_traffic", target=SERVICE, params={"to_latest": True}, reason="fixed")
    assert released.status.value == "applied", released.reason
    assert [o.status.value for o in world.command({"command": "sweep"}, message_id="c2")] == []
    assert world.state.get_record(PINS, SERVICE)["report_state"] == "dropped"


# --- proposals ---------------------------------------------------------------------------------------


@pytest.fixture
def proposed(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
              bounds={"connectors": [{"name": CONNECTOR}]})
    w.seed("connector_saturation")
    outcome = w.handle(w.alert("connector_saturation"))
    assert outcome.status.value == "proposed" and outcome.action.proposal_id
    return w, outcome.action.proposal_id


def test_approve_applies_a_proposal_once(proposed):
    world, proposal_id = proposed
    approved = command(world, "approve", params={"proposal_id": proposal_id}, reason="looks right")
    assert approved.status.value == "applied", approved.reason
    assert world.standins.vpcaccess.connector(CONNECTOR)["machineType"] == "e2-standard-4"
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    again = command(world, "approve", params={"proposal_id": proposal_id}, reason="again")
    assert again.status.value == "rejected" and "already applied" in again.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def test_an_approved_write_names_the_action_record_it_made_on_its_applied_line(proposed, capsys):
    """An approve writes no `planned` line (the proposal's is the alert path's, another function's): its
    `applied` line names the record (`key`) the sweep's verdict will name, or the incident timeline could
    never tie a verdict to the approved write."""
    world, proposal_id = proposed
    capsys.readouterr()
    approved = command(world, "approve", params={"proposal_id": proposal_id}, reason="looks right")
    assert approved.status.value == "applied", approved.reason
    lines = [json.loads(raw)["runwarden"] for raw in capsys.readouterr().out.splitlines() if raw.startswith("{")]
    assert "planned" not in [line.get("step") for line in lines]
    [applied] = [line for line in lines if line.get("step") == "applied"]
    assert applied["key"] == approved.action.action_id and applied["action"] == "scale_connector", applied
    record = world.state.get_record(ACTIONS, applied["key"])
    assert record is not None and record["incident_id"] == applied["incident_id"], record


def test_an_approve_whose_write_is_in_doubt_ends_its_proposal_with_the_sweeps_judgement(proposed):
    """The approved patch lands and its answer is lost: the approve is escalated and its write recorded
    for the sweep. Before, the proposal stayed `approved` for good, whatever the sweep found. Now the
    sweep's judgement of that write ends it, naming the outcome; no approve, resent or new, writes again."""
    import grpc

    world, proposal_id = proposed
    world.standins.vpcaccess.faults.lose_response(1, grpc.StatusCode.DEADLINE_EXCEEDED, method="PatchConnector")
    first = command(world, "approve", command_id="appr-1", params={"proposal_id": proposal_id}, reason="ok")
    assert first.status.value == "escalated" and "could not be confirmed" in first.reason, first.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "in_doubt"

    world.at(18)        # past the deadline: no fresh evidence of its services, so not verifiable
    [judged] = [o for o in world.command({"command": "sweep"}, message_id="s1") if o.status.value != "reminder"]

    assert judged.status.value == "escalated", judged.reason
    proposal = world.state.get_record(PROPOSALS, proposal_id)
    assert proposal["state"] == "escalated" and "by the verification sweep" in proposal["note"], proposal
    again = command(world, "approve", params={"proposal_id": proposal_id}, reason="again")
    assert again.status.value == "rejected" and "already escalated" in again.reason, again.reason
    resent = command(world, "approve", command_id="appr-1", params={"proposal_id": proposal_id}, reason="ok")
    assert resent.status.value in ("escalated", "skipped", "rejected"), resent.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "escalated"


def test_approve_after_the_world_changed_refuses_and_says_why(proposed):
    world, proposal_id = proposed
    world.adapters.vpcaccess.update_connector(CONNECTOR, min_instances=2, max_instances=6)  # someone ran gcloud
    refused = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert refused.status.value == "skipped" and "world changed" in refused.reason and "2-6" in refused.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1  # only the out-of-band one


def test_approve_by_someone_not_in_operators_is_rejected(proposed):
    world, proposal_id = proposed
    outcome = command(world, "approve", requested_by="mallory@example.com", params={"proposal_id": proposal_id},
                      reason="ok")
    assert outcome.status.value == "rejected" and outcome.reason.startswith("requested_by:")
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_an_expired_proposal_cannot_be_approved(proposed):
    world, proposal_id = proposed
    world.at(2 + 4 * 60 + 1)
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert outcome.status.value == "rejected" and "expired" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


@pytest.mark.parametrize("name", ["approve", "reject"])
def test_a_dry_run_decision_on_an_expired_proposal_writes_nothing(proposed, name):
    """A command's own dry run writes no state: answered as the real one would be (`rejected`:
    expired), the proposal left as it was. Before, it was marked `expired` by the dry run."""
    world, proposal_id = proposed
    world.at(2 + 4 * 60 + 1)
    outcome = command(world, name, params={"proposal_id": proposal_id}, reason="ok", dry_run=True)
    assert outcome.status.value == "rejected" and "expired" in outcome.reason, outcome.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open"


def test_a_dry_run_approve_after_the_world_changed_says_so_and_decides_nothing(proposed):
    """The real approve would close the proposal `refused`; its dry run answers the same refusal
    and leaves the proposal open, for the real approve to find and refuse (and close) itself."""
    world, proposal_id = proposed
    world.adapters.vpcaccess.update_connector(CONNECTOR, min_instances=2, max_instances=6)  # someone ran gcloud
    dry = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok", dry_run=True)
    assert dry.status.value == "skipped" and "world changed" in dry.reason and "dry-run" in dry.reason, dry.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open"
    real = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert real.status.value == "skipped" and "world changed" in real.reason, real.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "refused"


@pytest.mark.parametrize("changed", [True, False])
def test_an_approve_under_the_configs_dry_run_leaves_the_proposal_as_it_was(proposed, changed):
    """The config's mode is dry_run: the approve answers what it would do (or why it would not), and leaves the
    proposal exactly as it was. Before, a changed world closed it `refused`, and an unchanged one left it reopened
    with this approve's command and time on it."""
    from shared.config import Mode

    world, proposal_id = proposed
    before = world.state.get_record(PROPOSALS, proposal_id)
    if changed:
        world.adapters.vpcaccess.update_connector(CONNECTOR, min_instances=2, max_instances=6)
    patched = world.standins.vpcaccess.count("PatchConnector")
    live = world.config
    world.config = live.model_copy(update={"mode": Mode.DRY_RUN})
    dry = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    world.config = live
    assert dry.status.value == ("skipped" if changed else "dry_run"), dry.reason
    assert "the config's mode is dry_run" in dry.reason, dry.reason
    assert world.state.get_record(PROPOSALS, proposal_id) == before
    assert world.standins.vpcaccess.count("PatchConnector") == patched


def test_an_approve_is_refused_once_the_service_left_the_connector(proposed):
    """The proposal was made for backend behind its connector; its traffic has since gone to a revision with no
    VPC access. The approve reads that premise afresh and refuses, closing the proposal `refused`."""
    world, proposal_id = proposed
    world.standins.run.add_revision(SERVICE, "backend-00000-old", world.anchor - timedelta(days=3),
                                    vpc_connector=None)
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, "backend-00000-old")])
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert outcome.status.value == "skipped" and f"is no longer behind {CONNECTOR}" in outcome.reason, outcome.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "refused"
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_reject_closes_a_proposal(proposed):
    world, proposal_id = proposed
    assert command(world, "reject", params={"proposal_id": proposal_id}, reason="not now").status.value == "applied"
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="changed my mind")
    assert outcome.status.value == "rejected" and "already rejected" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_a_decision_on_a_mistyped_proposal_id_names_the_open_one_read_from_firestore(proposed):
    """Answered "no proposal p-…" alone, the person had to run status and compare ids. Now the open proposals
    are read (Firestore's range on expires_at, as status reads them) and named; nothing is decided."""
    world, proposal_id = proposed
    typo = proposal_id[:-1] + ("0" if proposal_id[-1] != "0" else "1")
    outcome = command(world, "approve", params={"proposal_id": typo}, reason="looks right")
    assert outcome.status.value == "rejected", outcome.reason
    assert f"no proposal {typo}; open now: {proposal_id} (scale_connector on {CONNECTOR}, expires " in outcome.reason, \
        outcome.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open"
    assert writes(world) == 0


def test_a_release_of_an_intent_copied_with_its_parenthesis_names_the_plan_in_firestore(world):
    """"(intent inc-held|m-1)" copied whole from an escalated answer: the plan that exists under the key trimmed
    is named, and nothing is released until the person sends it again."""
    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import INTENTS, intent_key

    key = intent_key("inc-held", "m-1")
    world.state.put_record(INTENTS, key, {
        "incident_id": "inc-held", "message_id": "m-1", "owner": "m-1:1",
        "claim_key": claim_key("inc-held", SERVICE, "rollback_traffic"), "action": "rollback_traffic",
        "target": SERVICE, "service": SERVICE, "noted_at": world.clock.now(),
        "expires_at": world.clock.now() + timedelta(days=7), "state": "escalated"})
    outcome = command(world, "release", target=SERVICE, params={"intent": f"(intent {key})"}, reason="checked")
    assert outcome.status.value == "rejected", outcome.reason
    assert f"did you mean {key!r}? a plan has that key" in outcome.reason, outcome.reason
    assert world.state.get_record(INTENTS, key)["state"] == "escalated"


def test_a_manual_scale_within_the_policy_ceiling(proposed):
    world, _ = proposed
    over = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 10}, reason="r")
    assert over.status.value == "applied", over.reason
    assert world.standins.vpcaccess.connector(CONNECTOR)["maxInstances"] == 10
    down = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 5}, reason="r")
    assert down.status.value == "rejected" and "would go down" in down.reason


# A connector scale has no way back (VPC Access only raises a connector's instances), so a restore of one, by its
# action id with the service or the connector as target, or to_latest on the connector, says so and writes
# nothing. Before, each was refused as something else: "not a traffic change of backend", or the connector
# "not in the inventory: the config's services list does not name it" (it is, under bounds.connectors).
@pytest.mark.parametrize("target, params", [
    (SERVICE, "action"), (CONNECTOR, "action"), (CONNECTOR, {"to_latest": True}),
])
def test_a_restore_of_a_connector_scale_says_it_is_one_way_and_writes_nothing(proposed, target, params):
    world, _ = proposed
    scaled = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 10}, reason="r")
    assert scaled.status.value == "applied" and scaled.action.action_id, scaled.reason
    params = {"action_id": scaled.action.action_id} if params == "action" else params
    outcome = command(world, "restore_traffic", target=target, params=params, reason="undo the scale")
    said = ("one-way", "cannot be undone", "only raises", "nothing written", "recreating the connector")
    assert outcome.status.value == "rejected", outcome.reason
    assert [words for words in said if words not in outcome.reason] == [], outcome.reason
    assert "not in the inventory" not in outcome.reason, outcome.reason
    assert writes(world) == 1
    assert world.standins.vpcaccess.connector(CONNECTOR)["maxInstances"] == 10


def test_a_manual_scale_above_the_ceiling_is_rejected(standin_env, firestore, pubsub, project_id, anchor):
    # An operator's: without allow_one_way, a manual scale is an operator's decision (shared/commands/connector.py).
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
                  bounds={"connectors": [{"name": CONNECTOR, "max_instances_ceiling": 6}]})
    world.seed("connector_saturation")
    outcome = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 8}, reason="r")
    assert outcome.status.value == "rejected" and "ceiling of 6" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_approve_after_the_incident_closed_refuses(proposed):
    world, proposal_id = proposed
    world.at(10)
    assert world.handle(world.alert("connector_saturation", message_id="closed", state="closed",
                                    ended_at=world.anchor + timedelta(minutes=9))).status.value == "resolved"
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert outcome.status.value == "skipped" and "closed" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_approve_after_a_newer_revision_took_the_traffic_refuses(proposed):
    world, proposal_id = proposed
    world.at(5)
    world.standins.run.add_revision(SERVICE, "backend-00009-new", world.anchor + timedelta(minutes=4))
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, "backend-00009-new")])
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert outcome.status.value == "skipped" and "backend-00009-new" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_approve_when_the_diagnosis_no_longer_holds_refuses(proposed):
    world, proposal_id = proposed
    world.at(120)  # two hours on: the saturation's minutes are out of the window, the data too old to judge
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert outcome.status.value == "skipped" and "live diagnosis is now" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def _tighten(world: World, **policy) -> None:
    """The connector's policy as a person edits it after the proposal was made."""
    from shared.config import ConnectorPolicy

    bounds = world.config.bounds.model_copy(update={"connectors": (ConnectorPolicy(name=CONNECTOR, **policy),)})
    world.config = world.config.model_copy(update={"bounds": bounds})


def test_an_approve_the_gate_escalates_without_writing_closes_the_proposal_and_says_what_to_do(proposed):
    """The gate refused the approved write for good (here the policy no longer allows the machine
    type; a target that changed under the decision, StaleEvidenceError, ends the same): nothing was
    written, and the proposal's decision no longer holds. It is closed `superseded`, never left
    `approved` for good, and the outcome says how to go on."""
    world, proposal_id = proposed
    _tighten(world, allowed_machine_types=("e2-micro",))

    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="looks right")

    assert outcome.status.value == "escalated" and "outside bounds" in outcome.reason, outcome.reason
    record = world.state.get_record(PROPOSALS, proposal_id)
    assert record["state"] == "superseded" and "outside bounds" in record["note"]
    notes = " ".join(outcome.notes)
    assert f"proposal {proposal_id} is closed as superseded" in notes
    assert f"runwarden command diagnose --target {SERVICE}" in notes
    assert f"runwarden command scale_connector --target {CONNECTOR}" in notes
    again = command(world, "approve", params={"proposal_id": proposal_id}, reason="again")
    assert again.status.value == "rejected" and "already superseded" in again.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_an_approve_whose_connector_changes_after_its_check_is_superseded_and_writes_nothing(proposed):
    """A person's `gcloud ... connectors update` lands after the approval's check read the connector
    as proposed, before the gate's write. Before, the gate patched the connector with the
    proposal's values over that change (applied on a connector nobody approved a change of, or
    refused by the API as a lowering and answered `failed`). The connector has no etag: the action
    reads it right before the patch, and the proposal is closed superseded."""
    world, proposal_id = proposed
    read = world.adapters.vpcaccess.get_connector
    reads = []

    def person_after_the_check(name):
        connector = read(name)
        reads.append(name)
        if len(reads) == 1:   # the approval's check: the person's change lands right after it
            world.standins.vpcaccess.set_connector(CONNECTOR, maxInstances=4)
        return connector

    world.adapters.vpcaccess.get_connector = person_after_the_check
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="looks right")

    assert outcome.status.value == "escalated" and "TARGET_CHANGED" in outcome.reason, outcome.reason
    assert "is now e2-micro 2-4 instances, not the e2-micro 2-3" in outcome.reason, outcome.reason
    assert f"proposal {proposal_id} is closed as superseded" in " ".join(outcome.notes)
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "superseded"
    assert world.standins.vpcaccess.count("PatchConnector") == 0
    assert world.standins.vpcaccess.connector(CONNECTOR)["maxInstances"] == 4


@pytest.mark.parametrize("state, said", [("refused", "the world changed since the proposal"),
                                         ("superseded", "is closed as superseded")])
def test_a_resent_approve_whose_first_attempt_decided_the_proposal_answers_why(proposed, state, said):
    """An approve refused the proposal (or closed it superseded), the proposal's update landed and
    its answer was lost, so the attempt raised (its command record released) and the platform
    resent it. Before, the resend answered only "already refused": nobody heard why nothing was
    applied, nor what to do. Now the decision this very command made is answered again."""
    world, proposal_id = proposed
    note = "connector backend-conn is now e2-micro 2-4 instances, not the e2-micro 2-3 it was planned on"
    assert world.state.update_record(PROPOSALS, proposal_id, {"state": state, "command_id": "appr-7", "note": note,
                                                              "decided_by": "alice@example.com"})
    resent = command(world, "approve", command_id="appr-7", params={"proposal_id": proposal_id}, reason="ok")
    assert said in resent.reason + " ".join(resent.notes) and note in resent.reason, resent
    assert resent.status.value == ("skipped" if state == "refused" else "escalated"), resent.reason
    other = command(world, "approve", command_id="appr-8", params={"proposal_id": proposal_id}, reason="ok")
    assert other.status.value == "rejected" and f"already {state}" in other.reason, other.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


@pytest.mark.parametrize("how", ["command", "mode"])
def test_a_dry_run_approve_answers_what_would_be_done_each_time_and_never_holds_back_the_real_one(proposed, how):
    """Each dry-run approve (a new command_id each) answers what would be done, never a duplicate of
    the one before: nothing was written. No claim a dry run takes stands in the way of the real approve."""
    from shared.config import Mode

    world, proposal_id = proposed
    live = world.config
    extra = {"dry_run": True} if how == "command" else {}
    if how == "mode":
        world.config = live.model_copy(update={"mode": Mode.DRY_RUN})

    runs = [command(world, "approve", params={"proposal_id": proposal_id}, reason=f"try {n}", **extra)
            for n in (1, 2)]

    for run in runs:
        assert run.status.value == "dry_run", run.reason
        assert run.action.after["connector"]["machine_type"] == "e2-standard-4"
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open"
    world.config = live
    real = command(world, "approve", params={"proposal_id": proposal_id}, reason="go")
    assert real.status.value == "applied", real.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def _unrecorded_rollback(world: World, command_id: str):
    """A rollback command whose write takes while completing the gate's claim fails (Firestore
    through FaultyStateStore, tests/unit/fakes.py): answered escalated, "could not be recorded"."""
    import dataclasses

    from tests.unit.fakes import FaultyStateStore

    faulty = FaultyStateStore(world.state)
    world.adapters = dataclasses.replace(world.adapters, state=faulty)
    faulty.fail_next("write", 1, method="record_all")   # the gate's one commit after the write
    return command(world, "rollback_traffic", command_id=command_id, target=SERVICE, params={"revision": OLD},
                   reason="bad deploy")


def test_a_resend_of_a_command_whose_change_was_not_recorded_records_it_and_escalates_again(world):
    """shared/commands/recovery.py: the resend finds the command's intent with no action record and
    the planned change in place: it records it for the sweep and answers escalated, writing nothing.
    A later resend, the change now recorded, repeats the escalation rather than a quiet skip."""
    first = _unrecorded_rollback(world, "unrecorded-1")
    assert first.status.value == "escalated" and "could not be recorded" in first.reason, first.reason
    assert world.state.find_records(ACTIONS, "service", SERVICE) == []

    second = command(world, "rollback_traffic", command_id="unrecorded-1", target=SERVICE, params={"revision": OLD},
                     reason="bad deploy")
    assert second.status.value == "escalated" and "applied by an earlier attempt" in second.reason, second.reason
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "pending" and record["command_id"] == "unrecorded-1"
    assert second.action.action_id == record["key"] and second.action.before == record["before"]

    third = command(world, "rollback_traffic", command_id="unrecorded-1", target=SERVICE, params={"revision": OLD},
                    reason="bad deploy")
    assert third.status.value == "escalated" and third.reason.startswith("duplicate"), third.reason
    assert "could not be recorded" in third.reason
    assert world.standins.run.count("UpdateService") == 1
    assert len(world.state.find_records(ACTIONS, "service", SERVICE)) == 1


def test_a_resend_finding_an_unrecorded_change_overtaken_records_it_closed_and_escalates(world):
    """The target shows neither the state before nor the plan: someone changed it after the rollback
    (the service two generations past the plan). Not acted on; the rollback, which did happen, is
    recorded closed `escalated` (never verified or undone: the later change wins), and the answer
    says a person has taken the target over."""
    _unrecorded_rollback(world, "unrecorded-2")
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])

    again = command(world, "rollback_traffic", command_id="unrecorded-2", target=SERVICE, params={"revision": OLD},
                    reason="bad deploy")
    assert again.status.value == "escalated" and "taken the target over" in again.reason, again.reason
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "escalated" and record["command_id"] == "unrecorded-2", record
    assert world.standins.run.count("UpdateService") == 1


# --- resends long after the answer, or after part of the command's records was lost ------------------
# (tests/unit/test_command_resends.py has these on the memory store; here Firestore keeps the records)

SHORT = {"guardrails": {"claim_retention_seconds": 600, "cooldown_seconds": 0}}


@pytest.fixture
def short(standin_env, firestore, pubsub, project_id, anchor):
    """The gate's claims lapse 10 minutes after the answer and no cooldown holds a write back: only
    the command's own record can stop a resend from acting again."""
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"], **SHORT)
    w.seed("bad_revision")
    return w


def _deploy_newer(world: World) -> None:
    world.standins.run.add_revision(SERVICE, "backend-00003-new", world.anchor + timedelta(minutes=10))
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, "backend-00003-new")])


def _gate_key(command_id: str) -> str:
    from shared.remediation.guardrails import claim_key, command_incident

    return claim_key(command_incident(command_id), SERVICE, "rollback_traffic")


def test_a_resend_after_the_gate_claims_lapsed_is_a_duplicate_not_a_second_write(short):
    from shared.remediation.guardrails import CLAIMS
    from shared.remediation.records import COMMANDS

    first = command(short, "rollback_traffic", command_id="late-1", target=SERVICE, params={"revision": OLD},
                    reason="r")
    assert first.status.value == "applied", first.reason
    _deploy_newer(short)
    short.at(2 + 60)
    assert short.state.get(CLAIMS, _gate_key("late-1")).expired(short.clock.now())

    again = command(short, "rollback_traffic", command_id="late-1", target=SERVICE, params={"revision": OLD},
                    reason="r")
    assert again.status.value == "skipped" and again.reason.startswith("duplicate: command late-1"), again.reason
    assert short.standins.run.count("UpdateService") == 1
    assert short.state.get(COMMANDS, "late-1").expires_at >= short.anchor + timedelta(days=30)


def test_a_resend_whose_command_record_was_lost_is_a_duplicate_of_the_recorded_action(short):
    import dataclasses

    from tests.unit.fakes import FaultyStateStore

    faulty = FaultyStateStore(short.state)
    short.adapters = dataclasses.replace(short.adapters, state=faulty)
    faulty.fail_next("write", 1, method="complete")   # the command's completion, after the gate's commit
    first = command(short, "rollback_traffic", command_id="lost-1", target=SERVICE, params={"revision": OLD},
                    reason="r")
    assert first.status.value == "applied" and "could not be completed" in " ".join(first.notes)
    _deploy_newer(short)
    short.at(2 + 20)

    again = command(short, "rollback_traffic", command_id="lost-1", target=SERVICE, params={"revision": OLD},
                    reason="r")
    assert again.status.value == "skipped" and "already made its change" in again.reason, again.reason
    assert again.first_status is OutcomeStatus.APPLIED     # the write it made: what the CLI exits 0 by
    assert again.action.action_id == _gate_key("lost-1")
    assert short.standins.run.count("UpdateService") == 1


def test_an_unrecorded_write_is_recorded_by_a_resend_after_its_gate_claim_was_deleted(world):
    """The claim Firestore's TTL deleted is not taken for a give-back: the target shows the plan."""
    from shared.remediation.guardrails import CLAIMS

    first = _unrecorded_rollback(world, "gone-1")
    assert first.status.value == "escalated" and "could not be recorded" in first.reason, first.reason
    claim = world.state.get(CLAIMS, _gate_key("gone-1"))
    world.state.release(CLAIMS, _gate_key("gone-1"), claim.owner)   # as the TTL policy deletes it
    world.at(2 + 20)

    again = command(world, "rollback_traffic", command_id="gone-1", target=SERVICE, params={"revision": OLD},
                    reason="bad deploy")
    assert again.status.value == "escalated" and "applied by an earlier attempt" in again.reason, again.reason
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["command_id"] == "gone-1" and world.standins.run.count("UpdateService") == 1


def test_an_approve_recovered_on_its_resend_ends_its_proposal_applied(proposed):
    import dataclasses

    from tests.unit.fakes import FaultyStateStore

    world, proposal_id = proposed
    faulty = FaultyStateStore(world.state)
    world.adapters = dataclasses.replace(world.adapters, state=faulty)
    faulty.fail_next("write", 1, method="record_all")   # the gate's one commit after the write
    first = command(world, "approve", command_id="appr-1", params={"proposal_id": proposal_id}, reason="ok")
    assert first.status.value == "escalated" and "could not be recorded" in first.reason, first.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "in_doubt"

    again = command(world, "approve", command_id="appr-1", params={"proposal_id": proposal_id}, reason="ok")
    assert again.status.value == "escalated" and "applied by an earlier attempt" in again.reason, again.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "applied"
    assert world.standins.vpcaccess.count("PatchConnector") == 1



LONG_ID = "x" * 1500          # the most the schema allows for an action_id
LONG_SERVICE = SERVICE.rsplit("/", 1)[0] + "/" + "s" * 1500
LONG_CONNECTOR = CONNECTOR.rsplit("/", 1)[0] + "/" + "c" * 1500


@pytest.mark.parametrize("name, fields, field", [
    ("restore_traffic", {"target": SERVICE, "params": {"action_id": LONG_ID}, "reason": "r"}, "params.action_id"),
    ("restore_traffic", {"target": SERVICE, "params": {"action_id": "é" * 1500}, "reason": "r"}, "params.action_id"),
    ("rollback_traffic", {"target": LONG_SERVICE, "params": {"revision": OLD}, "reason": "r"}, "target"),
    ("pause", {"target": LONG_CONNECTOR, "reason": "r"}, "target"),
    ("scale_connector", {"target": LONG_CONNECTOR, "params": {"max_instances": 5}, "reason": "r"}, "target"),
])
def test_an_id_longer_than_firestore_keys_or_query_values_take_is_rejected_naming_it(world, name, fields, field):
    """Firestore refuses a document id or an indexed query value over 1,500 bytes (the emulator: "value
    for ... is too large to be used in a query"). An action_id (up to 1,500 characters, 3,000 bytes in
    UTF-8) is read by document id, which the store hashes past that size (firestore.document_id), and a
    long target is refused by its length (longer than any full name, commands.NAME_MAX) before any query
    names it: `rejected` naming the field, never `failed` on Firestore."""
    outcome = command(world, name, **fields)
    assert outcome.status.value == "rejected", outcome.reason
    assert outcome.reason.startswith((field, f"malformed command: command.{field}:")), outcome.reason
    assert writes(world) == 0


def test_an_engaged_pause_past_a_hundred_released_ones_is_in_the_status_and_in_the_resumes_answer(world):
    """A resume keeps its flag (`engaged: false`), so released pauses pile up. Read by kind, a page of
    them held none of the engaged one that sorts after them: status said "0 paused" (the list merely
    flagged `more_than_shown`), and a resume of the kill switch said nothing was still paused. An
    engaged pause is a safety fact: it is read by `engaged`, so every one is found."""
    from shared.remediation.guardrails import pause_key
    from shared.remediation.records import FLAGS

    def flag(target, engaged):
        world.state.put_record(FLAGS, pause_key(target), {"kind": "pause", "target": target, "engaged": engaged,
                                                          "by": "alice@example.com", "reason": "window",
                                                          "at": world.clock.now(), "command_id": f"p-{target[-3:]}"})

    for i in range(120):
        flag(f"projects/a-project/locations/us-central1/services/s{i:03}", False)
    late = "projects/z-project/locations/us-central1/services/zzz"
    flag(late, True)

    answer = command(world, "status")
    assert [p["target"] for p in answer.snapshot["paused"]] == [late], answer.snapshot["paused"]
    assert answer.snapshot["more_than_shown"] == [] and "1 paused" in answer.reason, answer.reason
    resumed = command(world, "resume", reason="review done")
    assert resumed.status.value == "applied" and f"still paused, each until resumed by its target: {late}" in \
        resumed.reason, resumed.reason


def test_a_live_proposal_past_a_hundred_expired_open_ones_is_in_the_status(world):
    """A proposal nobody decided stays `open` after its expiry, so they pile up. Read as a page of
    `open` records in id order, the live one whose id sorts after a hundred expired ones was left
    out (flagged only as `more_than_shown`): the one proposal a person could still approve. Live
    ones are read by their expiry, so every one is listed, first."""
    from shared.remediation.records import ProposalRecord

    now = world.clock.now()

    def proposal(proposal_id, expires_in):
        world.state.put_record(PROPOSALS, proposal_id, ProposalRecord(
            proposal_id=proposal_id, key=f"0.i|{CONNECTOR}|scale_connector", incident_id="0.i", target=CONNECTOR,
            service=SERVICE, action="scale_connector", proposed_at=now - timedelta(hours=4),
            expires_at=now + expires_in).model_dump(mode="python"))

    for i in range(105):
        proposal(f"p-{i:012x}", -timedelta(days=1 + i))
    proposal("p-ffffffffffff", timedelta(hours=1))

    answer = command(world, "status")

    listed = answer.snapshot["open_proposals"]
    assert listed[0]["proposal_id"] == "p-ffffffffffff" and listed[0]["expired"] is False, listed[:2]
    assert "open_proposals" not in answer.snapshot["more_than_shown"], answer.snapshot["more_than_shown"]


def test_an_approve_of_a_connector_alerts_proposal_is_refused_when_a_service_moved_onto_the_connector(
        standin_env, firestore, pubsub, project_id, anchor):
    """The approve checked only the services kept with the proposal: a managed service deployed onto the
    connector after it was neither diagnosed nor held back by its pause, and the connector was scaled. Now
    the approve re-reads who is behind the connector (the real Run adapter on the stand-in) and refuses."""
    from datetime import timedelta

    from sandbox.scenarios import resolve_scenario, seed
    from shared.config import parse_config

    scenario = resolve_scenario("connector_alert_shared")
    prefix = "projects/shop-prod/locations/europe-west1"
    shared, ledger = f"{prefix}/connectors/shared-conn", f"{prefix}/services/ledger"
    data = scenario.config_data("projects/x/topics/x", "enforce")
    w = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    w.config = parse_config({**data, "outcomes_topic": w.outcomes_topic, "operators": ["alice@example.com"],
                             "services": [*data["services"], {"name": ledger}],
                             "bounds": {"connectors": [{"name": shared, "allow_one_way": False}]}})
    seed(standin_env, scenario, anchor)
    standin_env.run.add_service(ledger)
    standin_env.run.add_revision(ledger, "ledger-00001-aaa", anchor - timedelta(hours=1))   # no connector
    proposed = w.handle(w.alert("connector_alert_shared"))
    assert proposed.status.value == "proposed", proposed.reason
    standin_env.run.add_revision(ledger, "ledger-00002-bbb", anchor + timedelta(minutes=1), vpc_connector=shared)

    refused = command(w, "approve", params={"proposal_id": proposed.action.proposal_id}, reason="scale it")

    assert refused.status.value == "skipped" and f"{ledger} now uses {shared}" in refused.reason, refused.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 0
    assert w.state.get_record(PROPOSALS, proposed.action.proposal_id)["state"] == "refused"


def test_an_approve_that_reads_a_paused_service_the_alert_could_not_read_acts_on_its_own_read(
        standin_env, firestore, pubsub, project_id, anchor):
    """`ledger` is paused and could not be read when the connector alert came (Cloud Run refused the read:
    PERMISSION_DENIED), so it was kept with the proposal as maybe behind the connector. The approve reads it and
    finds it on no connector: its pause holds nothing back, and the answer says what the approve read. Before,
    the alert's failed read still held the approve back by ledger's pause, "could not be read during the alert"."""
    import grpc

    from sandbox.scenarios import resolve_scenario, seed
    from shared.config import parse_config

    scenario = resolve_scenario("connector_alert_shared")
    prefix = "projects/shop-prod/locations/europe-west1"
    shared, ledger = f"{prefix}/connectors/shared-conn", f"{prefix}/services/ledger"
    data = scenario.config_data("projects/x/topics/x", "enforce")
    w = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    w.config = parse_config({**data, "outcomes_topic": w.outcomes_topic, "operators": ["alice@example.com"],
                             "services": [{"name": ledger}, *data["services"]],
                             "bounds": {"connectors": [{"name": shared, "allow_one_way": False}]}})
    seed(standin_env, scenario, anchor)
    standin_env.run.add_service(ledger)
    standin_env.run.add_revision(ledger, "ledger-00001-aaa", anchor - timedelta(hours=1))   # no connector
    assert command(w, "pause", target=ledger, reason="migration").status.value == "applied"
    # ledger's read refused, aimed at it by name: the alert looks up its managed services at once, in no fixed order.
    standin_env.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService", about=ledger)
    proposed = w.handle(w.alert("connector_alert_shared"))
    assert proposed.status.value == "proposed", proposed.reason
    assert ledger in w.state.get_record(PROPOSALS, proposed.action.proposal_id)["maybe_behind"]

    applied = command(w, "approve", params={"proposal_id": proposed.action.proposal_id}, reason="scale it")

    assert applied.status.value == "applied", applied.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 1
    assert any(note.startswith(f"{ledger}, which could not be read during the alert, was read by this approve at "
                               f"{w.clock.now():%Y-%m-%d %H:%M:%S} UTC: no revision of it serving traffic names "
                               f"{shared}, so it is not behind it and its pause holds nothing back")
               for note in applied.notes), applied.notes


def test_a_restore_resent_after_the_ttl_deleted_its_claims_writes_nothing_again(world):
    """On Firestore: the restore wrote, the gate's commit and the command's own record failed, and both claims
    were deleted as the TTL policy deletes them. The restore's note (records.RestoreNote), read with the gate's
    claim in one BatchGetDocuments, holds the resend back over the rollback made since: nothing written again."""
    import dataclasses

    from shared.remediation.guardrails import CLAIMS, claim_key, command_incident
    from shared.remediation.records import COMMANDS, RESTORES
    from tests.unit.fakes import FaultyStateStore

    assert command(world, "rollback_traffic", command_id="pin-1", target=SERVICE, params={"revision": OLD},
                   reason="bad deploy").status.value == "applied"
    faulty = FaultyStateStore(world.state)
    world.adapters = dataclasses.replace(world.adapters, state=faulty)
    faulty.fail_next("write", 1, method="record_all")   # the gate's one commit after the write
    faulty.fail_next("write", 1, method="complete")     # the command's own record
    first = command(world, "restore_traffic", command_id="rest-1", target=SERVICE, params={"to_latest": True},
                    reason="release the pin")
    assert first.status.value == "escalated" and "could not be recorded" in first.reason, first.reason
    key = claim_key(command_incident("rest-1"), SERVICE, "restore_traffic")
    for kind, name in ((CLAIMS, key), (COMMANDS, "rest-1")):
        world.state.release(kind, name, world.state.get(kind, name).owner)   # as the TTL policy deletes them
    world.at(2 + 60 * 24)
    assert command(world, "rollback_traffic", command_id="pin-2", target=SERVICE, params={"revision": OLD},
                   reason="bad deploy again").status.value == "applied"
    writes = world.standins.run.count("UpdateService")

    again = command(world, "restore_traffic", command_id="rest-1", target=SERVICE, params={"to_latest": True},
                    reason="release the pin")
    assert again.status.value == "escalated" and "nothing written" in again.reason, again.reason
    assert world.standins.run.count("UpdateService") == writes
    assert world.state.get_record(RESTORES, key)["state"] == "written"


class _Killed(BaseException):
    """The instance stopped mid-attempt (not an Exception: no handler of Runwarden's runs)."""


def test_a_restore_that_died_before_the_gate_runs_on_its_resend_its_note_in_firestore_proving_nothing_written(
        world, monkeypatch):
    """The restore's note, stored in Firestore `sending` with the service's generation, and its attempt killed
    before the gate's claim: the resend reads the generation back unchanged, voids the note by its guarded
    update and writes the restore once."""
    from shared.remediation import guardrails
    from shared.remediation.guardrails import claim_key, command_incident
    from shared.remediation.records import RESTORES

    assert command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r").status.value \
        == "applied"
    real = guardrails.Gate.execute

    def killed(*args, **kwargs):
        raise _Killed()

    monkeypatch.setattr(guardrails.Gate, "execute", killed)
    with pytest.raises(_Killed):
        command(world, "restore_traffic", command_id="rest-k", target=SERVICE, params={"to_latest": True}, reason="r")
    monkeypatch.setattr(guardrails.Gate, "execute", real)
    key = claim_key(command_incident("rest-k"), SERVICE, "restore_traffic")
    note = world.state.get_record(RESTORES, key)
    assert note["state"] == "sending" and note["generation"] == world.standins.run.service(SERVICE).generation
    before = writes(world)
    world.at(30)

    again = command(world, "restore_traffic", command_id="rest-k", target=SERVICE, params={"to_latest": True},
                    reason="r")
    assert again.status.value == "applied", again.reason
    assert writes(world) == before + 1 and world.state.get_record(RESTORES, key)["state"] == "written"


def test_an_override_sent_while_another_rollback_is_in_flight_writes_nothing_and_names_it(world):
    """On Firestore: a rollback with override_limits from a second terminal (rb-bob) lands while the first
    (rb-alice) is being sent. It was sent too, and Cloud Run refused the first (its etag had changed), which
    was escalated to a person for the second's change. Now the second is `skipped`, naming the first's write
    (read from the open plans by `noted_at`, the query the emulator serves as Firestore does), and the first
    is applied, once."""
    real, box = world.adapters.run.set_traffic, []

    def bob_meanwhile(*args, **kwargs):
        if not box:
            box.append(None)    # bob's own write passes here too
            box[0] = command(world, "rollback_traffic", requested_by="alice@example.com", command_id="rb-bob",
                             target=SERVICE, params={"revision": OLD}, reason="INC-9", override_limits=True)
        return real(*args, **kwargs)

    world.adapters.run.set_traffic = bob_meanwhile
    first = command(world, "rollback_traffic", command_id="rb-alice", target=SERVICE, params={"revision": OLD},
                    reason="INC-9", override_limits=True)
    assert first.status.value == "applied", first.reason
    [held] = box
    assert held.status.value == "skipped" and "under way" in held.reason and "command rb-alice" in held.reason, \
        held.reason
    assert world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("senders", [
    (("approve", "ap-a"), ("reject", "rj-b")),
    (("approve", "ap-a"), ("approve", "ap-b")),
    (("approve", "ap-a"), ("approve", "ap-b"), ("reject", "rj-c")),
])
def test_operators_deciding_one_proposal_at_once_decide_it_once_and_each_hears_what_happened(proposed, senders):
    """Two on-call engineers, two terminals, one proposal, at the same instant on the Firestore emulator:
    exactly one decision takes (the move from `open` is a guarded update), the connector is patched at most
    once, and every sender is answered under its own command_id, the losers told that it was decided and
    how, never `applied` for a decision that did not take."""
    import threading

    world, proposal_id = proposed
    start = threading.Barrier(len(senders))
    answers: dict[str, object] = {}

    def send(name: str, command_id: str) -> None:
        start.wait()
        answers[command_id] = command(world, name, command_id=command_id, params={"proposal_id": proposal_id},
                                      reason=f"{name} at 3 a.m.")

    threads = [threading.Thread(target=send, args=sender) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == len(senders), answers

    state = world.state.get_record(PROPOSALS, proposal_id)["state"]
    won = [i for i, o in answers.items() if o.status.value == "applied"]
    assert len(won) == 1, {i: (o.status.value, o.reason) for i, o in answers.items()}
    winner = next(name for name, i in senders if i == won[0])
    assert state == ("applied" if winner == "approve" else "rejected"), state
    assert world.standins.vpcaccess.count("PatchConnector") == (1 if winner == "approve" else 0)
    # "was decided by someone else meanwhile" alone did not say whether the connector was being scaled. A
    # loser reads the proposal when it loses: an approve that won may still hold it `approved`, its write
    # under way. One that read it decided before its own move is `rejected` as "already ...".
    told = {"applied": "its change was written", "approved": "its write may be under way",
            "rejected": "closed without applying it; nothing was written"}
    seen = ("applied", "approved") if state == "applied" else (state,)
    for command_id, outcome in answers.items():
        assert outcome.command_id == command_id
        if command_id == won[0]:
            continue
        if outcome.status.value == "rejected":
            assert any(f"is already {s} by alice@example.com" in outcome.reason for s in seen), outcome.reason
            continue
        assert outcome.status.value == "skipped", outcome.reason
        assert any(f"it is now {s} by alice@example.com (command {won[0]}" in outcome.reason and told[s] in
                   outcome.reason for s in seen), outcome.reason


@pytest.mark.parametrize("topic", ["commands", "alerts"])
def test_a_body_giving_two_ids_is_answered_on_pubsub_once_under_each(world, topic):
    """A hand-edited body giving two different command_ids, one of its bytes not UTF-8 (a Latin-1 "é"), on
    either topic: each id's sender (the CLI filters the outcomes topic on the `command_id` attribute) gets
    one rejection under its own id, saying it was not run; nothing is written, no pause taken."""
    from shared.commands import handle_command
    from shared.pipeline import handle_alert
    from tests.integration.world import event

    data = ('{"command":"pause","command_id":"p-alice","requested_by":"jos\u00e9@example.com","reason":"r",'
            '"command_id":"p-bob"}').encode("latin-1")
    handle = handle_command if topic == "commands" else handle_alert
    handle(event(data, "m-two-ids"), world.config, world.adapters)

    pulled = world.pubsub.pull(world.subscription, 10, timeout=10)
    assert sorted(m.attributes.get("command_id") for m in pulled) == ["p-alice", "p-bob"]
    for message in pulled:
        reason = json.loads(message.data)["reason"]
        assert "'p-alice', 'p-bob'" in reason and "nothing was run" in reason, reason
        assert message.attributes["status"] == "rejected"
    assert world.state.get_record(FLAGS, "kill_switch") is None and writes(world) == 0


@pytest.mark.parametrize("topic", ["commands", "alerts"])
def test_a_command_id_sent_as_a_number_is_answered_under_its_text_as_sent(world, topic):
    """`"command_id": 42` (a script's `$ID` unquoted) is not a command's id, a string: rejected, nothing run,
    and answered under "42", its text as sent, saying so, on either topic: answered under no id, its sender,
    waiting on "42" (the CLI filters the outcomes topic on the `command_id` attribute), timed out."""
    from shared.commands import handle_command
    from shared.pipeline import handle_alert
    from tests.integration.world import event

    data = b'{"command":"pause","command_id":42,"requested_by":"alice@example.com","reason":"r"}'
    handle = handle_command if topic == "commands" else handle_alert
    handle(event(data, f"m-number-id-{topic}"), world.config, world.adapters)

    pulled = world.pubsub.pull(world.subscription, 10, timeout=10)
    assert [m.attributes.get("command_id") for m in pulled] == ["42"]
    answer = json.loads(pulled[0].data)
    assert answer["command_id"] == "42" and pulled[0].attributes["status"] == "rejected"
    assert 'answered under its text as sent, "42"' in answer["reason"] and "nothing was run" in answer["reason"]
    assert world.state.get_record(FLAGS, "kill_switch") is None and writes(world) == 0


@pytest.mark.parametrize("topic", ["commands", "alerts"])
@pytest.mark.parametrize("body, answered", [
    (b'{"command":"scale_connector","command_id":"sc-7","requested_by":"alice@example.com","reason":"r",'
     b'"params":{"max_instances":"10"}}', ["sc-7"]),
    (b'{"command":"pause","command_id":"p-a","requested_by":"a@b.c","reason":"r","command_id":"p-b"}',
     ["p-a", "p-b"]),
], ids=["a number sent as a string", "two ids"])
def test_a_rejection_whose_publish_lost_its_answer_reaches_pubsub_under_one_outcome_id(world, topic, body, answered):
    """The rejection's publish is taken by the Pub/Sub emulator and its answer lost (DEADLINE_EXCEEDED): the
    delivery raises, Pub/Sub delivers the message again, and it is answered again. Every answer under one id
    carries one outcome_id, so a reader (the CLI, a subscriber) drops the repeat instead of reading a second
    rejection."""
    import dataclasses

    from shared.commands import handle_command
    from shared.errors import TransientError
    from shared.pipeline import handle_alert
    from tests.integration.world import event
    from tests.unit.fakes import FaultyPublisher

    handle = handle_command if topic == "commands" else handle_alert
    publisher = FaultyPublisher(world.adapters.publisher)
    adapters = dataclasses.replace(world.adapters, publisher=publisher)
    delivered = event(body, f"m-lost-{topic}")
    publisher.lose_next_answer(1)
    with pytest.raises(TransientError):
        handle(delivered, world.config, adapters)
    handle(delivered, world.config, adapters)

    pulled = [json.loads(m.data) for m in world.pubsub.pull(world.subscription, 10, timeout=10)]
    rejected = [o for o in pulled if o["status"] == "rejected"]
    assert sorted({o["command_id"] for o in rejected}) == answered, pulled
    assert len(rejected) == len(answered) + 1, pulled      # the first answered twice: the lost answer's, and again
    for command_id in answered:
        assert len({o["outcome_id"] for o in rejected if o["command_id"] == command_id}) == 1, rejected
    assert writes(world) == 0


def test_a_pin_on_a_service_deleted_since_is_released_once_saying_so(world):
    """A person deletes the pinned service. The reminder's read of it answers NOT_FOUND, read again by name:
    the pin is released, with the refusal as its reason, once; no reminder, and no failed read every sweep
    after (before, each sweep's reminder failed on the missing service and the pin stayed)."""
    _pinned_a_day(world)
    world.standins.run.delete_service(SERVICE)

    assert world.command({"command": "sweep"}) == []

    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is False and pin["released_by"] == "service deleted", pin
    assert "NOT_FOUND" in pin["released_why"] and "no longer exists" in pin["released_why"], pin
    gets = world.standins.run.count("GetService")
    world.at(60 * 50)
    assert world.command({"command": "sweep"}, message_id="c2") == []
    assert world.standins.run.count("GetService") == gets     # never read again for the pin


def test_a_damaged_proposal_of_the_same_key_does_not_keep_the_sweep_from_ending_the_approved_one(proposed):
    """Another proposal record under the approved write's claim key cannot be read (its proposed_at not a time),
    and is found first. Before, it stopped the sweep from ending the approved proposal (one WARNING line): that
    stayed `in_doubt` for good. Now the approved one is ended with the judgement; the damaged one is escalated
    once, named, and left as it is."""
    import grpc

    world, proposal_id = proposed
    key = world.state.get_record(PROPOSALS, proposal_id)["key"]
    world.state.put_record(PROPOSALS, "!damaged", {"proposal_id": "!damaged", "key": key, "state": "open",
                                                   "proposed_at": "long ago"})
    world.standins.vpcaccess.faults.lose_response(1, grpc.StatusCode.DEADLINE_EXCEEDED, method="PatchConnector")
    first = command(world, "approve", command_id="appr-1", params={"proposal_id": proposal_id}, reason="ok")
    assert first.status.value == "escalated", first.reason

    world.at(18)
    swept = world.command({"command": "sweep"}, message_id="s1")

    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "escalated"
    told = [o for o in swept if "the proposals record '!damaged' cannot be read" in o.reason]
    assert [o.status.value for o in told] == ["escalated"], [(o.status.value, o.reason) for o in swept]
    assert world.state.get_record(PROPOSALS, "!damaged")["proposed_at"] == "long ago"
    world.at(20)
    assert not [o for o in world.command({"command": "sweep"}, message_id="s2") if "!damaged" in o.reason]
    assert world.standins.vpcaccess.count("PatchConnector") == 1


@pytest.mark.parametrize("data, said", [
    (b'{"command":"scale_connector","command_id":"sc-long","requested_by":"alice@example.com","reason":"r",'
     b'"target":"' + CONNECTOR.encode() + b'","params":{"max_instances":' + b"1" * 5000 + b'}}',
     "message.data: not JSON: a number 5000 digits long at character"),
    (b'{"command":"rollback_traffic","command_id":"rb-no-target","requested_by":"alice@example.com","reason":"r"}',
     "command.target: Field required: send target, a full service name, projects/PROJECT/locations/REGION/"
     "services/SERVICE"),
    (b'{"command":"approve","command_id":"ap-no-id","requested_by":"alice@example.com","reason":"r","params":{}}',
     "command.params.proposal_id: Field required: send proposal_id, a proposal id as a `proposed` outcome shows"),
], ids=["a number too long to read", "a target left out", "a proposal id left out"])
def test_a_command_missing_a_field_or_holding_a_number_too_long_is_answered_under_its_id_saying_what_to_send(
        world, data, said):
    """Each read back from the Pub/Sub emulator under the command_id the body gives, as the CLI waits on it: a
    number too long to read was answered under no id (its sender timed out) with Python's own advice; a field
    left out said "Field required" and nothing of what to send. Nothing is run or written."""
    from shared.commands import handle_command
    from tests.integration.world import event

    command_id = json.loads(data.replace(b"1" * 5000, b"1"))["command_id"]
    handle_command(event(data, f"m-{command_id}"), world.config, world.adapters)

    pulled = world.pubsub.pull(world.subscription, 10, timeout=10)
    assert [m.attributes.get("command_id") for m in pulled] == [command_id]
    answer = json.loads(pulled[0].data)
    assert answer["status"] == "rejected" and said in answer["reason"], answer["reason"]
    assert "sys.set_int_max_str_digits" not in answer["reason"]
    assert world.state.get_record(FLAGS, "kill_switch") is None and writes(world) == 0
