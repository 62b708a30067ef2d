"""A rollback whose UpdateService operation failed with its split left desired (pinned `asked`, its action
record closed `escalated`), read by later sweeps: its revision served late (verified as any rollback, or
escalated with the evidence, once), or deleted (the pin released once, told), or unreadable (kept). The Run
stand-in (`reconcile`: the desired split served late, nobody's update; `delete_revision`) and the Firestore
emulator; no mocks."""
from __future__ import annotations

import json
from datetime import timedelta

import grpc

from sandbox.standins.run import TrafficSeed
from shared.errors import TransientError
from shared.gcp.firestore import document_id
from shared.remediation.records import ACTIONS, PINS
from tests.integration.test_failed_rollback_pin import operators
from tests.integration.test_remediation import counted, more_series, request_lines, timed
from tests.integration.test_rollback_failed_operation import failing_update, world  # noqa: F401 (the fixture)
from tests.integration.world import SERVICE, World

OLD, NEW, OLDER = "backend-00001-abc", "backend-00002-xyz", "backend-00000-old"


def sweep(world: World, message_id: str) -> list:
    return world.command({"command": "sweep"}, message_id=message_id)


def action(world: World) -> dict:
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    return record


def served_late(world: World) -> None:
    """The rollback's operation fails with OLD left desired (+2m); Cloud Run serves it at +5m; a sweep reads it
    serving at +6m."""
    failing_update(world, keeps=True)
    answered = world.handle(world.alert())
    assert answered.status.value == "escalated" and "verifies the rollback from then" in answered.reason, \
        answered.reason
    assert world.state.get_record(PINS, SERVICE)["state"] == "asked"
    world.at(5)
    world.standins.run.reconcile(SERVICE)
    assert world.serving() == {OLD: 100}
    world.at(6)
    [told] = [o for o in sweep(world, "s1") if o.status.value == "reminder"]
    assert "now serves" in told.reason and "verified from now" in told.reason, told.reason


def old_serves(world: World, errors: int, until: str = "+30m") -> None:
    """OLD's requests from +6m on: `errors` of 40 a minute answered 500."""
    request_lines(world, OLD, "+6m", until, 40 - errors)
    series = counted(OLD, 200, "+6m", until, 40 - errors) + timed(OLD, "2xx", "+6m", until, [[120, 40 - errors]])
    more_series(world, series + (counted(OLD, 500, "+6m", until, errors) if errors else ""))


def test_an_asked_rollback_served_late_and_healthy_is_verified_once(world):
    """Before, the rollback stayed closed `escalated` for good, never verified. Now, from the sweep that reads its
    revision serving, it is judged as any rollback: healthy after the settle time, `verified`, said served late;
    told once (a second sweep tells nothing)."""
    served_late(world)
    old_serves(world, errors=0)
    world.at(10)
    assert [o for o in sweep(world, "s2") if o.status.value in ("verified", "escalated")] == []   # settling
    world.at(17)

    verdicts = [o for o in sweep(world, "s3") if o.status.value in ("verified", "escalated")]

    [verified] = verdicts
    record = action(world)
    assert verified.status.value == "verified", verified.reason
    assert "served late" in verified.reason and verified.action.action_id == record["key"], verified.reason
    assert record["state"] == "verified" and record["applied_late_at"] is not None, record
    assert world.state.get_record(PINS, SERVICE)["late_verdict"] == "verified"
    assert [o for o in sweep(world, "s4") if o.status.value in ("verified", "escalated")] == []
    assert [o for o in sweep(world, "s4") if o.status.value in ("verified", "escalated")] == []   # redelivered
    assert world.standins.run.count("UpdateService") == 1


def test_an_asked_rollback_served_late_and_still_failing_is_escalated_with_its_evidence_not_undone(world):
    """Still failing by the deadline (15 min after it was read serving): `escalated` once, with the evidence
    (OLD's 5xx share), never undone (the split from before is not written back over a person)."""
    served_late(world)
    old_serves(world, errors=20)
    world.at(23)

    verdicts = [o for o in sweep(world, "s2") if o.status.value in ("verified", "escalated", "undone")]

    [escalated] = verdicts
    assert escalated.status.value == "escalated", escalated.reason
    assert "served late" in escalated.reason and "not verified" in escalated.reason, escalated.reason
    assert "not undone" in escalated.reason, escalated.reason
    record = action(world)
    assert record["state"] == "escalated" and record["applied_late_at"] is not None, record
    assert world.serving() == {OLD: 100} and world.standins.run.count("UpdateService") == 1
    assert [o for o in sweep(world, "s3") if o.status.value in ("verified", "escalated", "undone")] == []


def test_an_asked_revision_deleted_since_releases_its_pin_once_and_says_so(world):
    """The split asked for was replaced by a person's (NEW) and OLD deleted. Before, the pin was released silently
    ("observed"). Now it is released once with a reminder naming what was asked, that the revision is gone, and
    what serves now."""
    failing_update(world, keeps=True)
    world.handle(world.alert())
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])
    world.standins.run.delete_revision(SERVICE, OLD)
    world.at(30)

    told = [o for o in sweep(world, "s1") if o.status.value == "reminder"]

    [released] = told
    assert OLD in released.reason and "no longer exists" in released.reason, released.reason
    assert f"serves {NEW} 100%" in released.reason, released.reason
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is False and pin["released_by"] == "revision deleted", pin
    assert [o for o in sweep(world, "s2") if o.status.value == "reminder"] == []


def test_an_asked_pin_whose_revisions_cannot_be_listed_is_kept(world):
    """A transient fault listing the revisions is no evidence the revision is gone: the pin stays `asked`,
    nothing told; read again by the next sweep."""
    failing_update(world, keeps=True)
    world.handle(world.alert())
    world.at(30)
    world.standins.run.faults.fail_next(10_000, grpc.StatusCode.UNAVAILABLE, method="ListRevisions")

    told = [o for o in sweep(world, "s1") if o.status.value == "reminder"]

    world.standins.run.faults.clear()
    pin = world.state.get_record(PINS, SERVICE)
    assert told == [] and pin["pinned"] is True and pin["state"] == "asked", pin


def test_an_asked_rollback_served_late_whose_record_is_gone_is_said_unjudged_once(world, capsys):
    """The reminder that read its revision serving promised a verdict; the action record, no longer kept (its TTL
    passed), cannot give one. Before, the pin was noted silently. Now a WARNING step says it was not verified and
    a person must judge, once."""
    served_late(world)
    old_serves(world, errors=0)
    store = world.state
    gone = document_id(world.state.get_record(PINS, SERVICE)["action_id"])
    store._firestore().collection(store._collection_id(ACTIONS)).document(gone).delete()   # its TTL passed
    capsys.readouterr()
    world.at(17)
    sweep(world, "s2")
    entries = [json.loads(raw) for raw in capsys.readouterr().out.splitlines() if raw.startswith("{")]
    unjudged = [e for e in entries if e["runwarden"].get("step") == "late_unjudged"]
    assert len(unjudged) == 1 and "no longer kept" in unjudged[0]["message"], entries
    assert unjudged[0]["severity"] == "WARNING"
    assert world.state.get_record(PINS, SERVICE)["late_verdict"] == "gone"
    world.at(18)
    sweep(world, "s3")
    assert not [raw for raw in capsys.readouterr().out.splitlines() if "late_unjudged" in raw]


def steps(capsys, name: str) -> list[dict]:
    entries = [json.loads(raw) for raw in capsys.readouterr().out.splitlines() if raw.startswith("{")]
    return [e for e in entries if e["runwarden"].get("step") == name]


def test_a_rollback_served_late_released_by_hand_before_its_verdict_is_said_unjudged_once(world, capsys):
    """A person sends all traffic to NEW by hand while the rollback served late waits for its settle time. Before,
    the pin was released silently and the verdict its reminder promised never came. Now one `reminder` (and a
    WARNING `released` line) says it was released before it was judged, not verified, and what serves now."""
    served_late(world)
    world.at(8)
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])
    capsys.readouterr()
    world.at(9)

    told = [o for o in sweep(world, "s2") if o.status.value == "reminder"]

    [released] = told
    assert "released before Runwarden judged it" in released.reason and "not verified" in released.reason, \
        released.reason
    assert f"serves {NEW} 100%" in released.reason and action(world)["key"] in released.reason, released.reason
    [line] = steps(capsys, "released")
    assert line["severity"] == "WARNING" and "released before" in line["message"], line
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is False and pin["late_verdict"] == "released", pin
    assert action(world)["state"] == "escalated"
    world.at(17)
    assert [o for o in sweep(world, "s3") if o.status.value in ("reminder", "verified", "escalated")] == []


def test_a_late_verdict_told_whose_pin_note_was_lost_is_never_contradicted_by_its_release(world):
    """The late verdict was recorded and told (`verified`), and the pin's note of it lost (the sweep notes the pin
    second). Before, the pin still read as awaiting a verdict, and its release by hand was said "released before
    Runwarden judged it ... not verified", contradicting the verdict sent. Now the recorded verdict is noted, and
    the release is silent."""
    served_late(world)
    old_serves(world, errors=0)
    world.at(17)
    [verified] = [o for o in sweep(world, "s3") if o.status.value in ("verified", "escalated")]
    assert verified.status.value == "verified", verified.reason
    world.state.update_record(PINS, SERVICE, {"late_verdict": ""})       # the note lost
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])
    world.at(20)

    told = [o for o in sweep(world, "s4") if o.status.value in ("reminder", "verified", "escalated")]

    assert told == [], [o.reason for o in told]
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is False and pin["late_verdict"] == "verified", pin


def test_a_rollback_served_late_released_by_the_restore_command_before_its_verdict_says_so_once(world, capsys):
    """The release command (restore_traffic to_latest) before the late verdict. Before, its answer said the pin was
    released and nothing of the verdict its reminder promised: none came. Now the answer says the rollback was
    released before it was judged and what serves now, once; no sweep judges it after."""
    served_late(world)
    world.at(8)
    capsys.readouterr()

    [restored] = world.command(operators("restore_traffic", "cmd-l1", to_latest=True), message_id="l1")

    assert restored.status.value == "applied", restored.reason
    [said] = [n for n in restored.notes if "released before Runwarden judged it" in n]
    assert "not verified" in said and "serves" in said, said
    assert [line["severity"] for line in steps(capsys, "released")] == ["WARNING"]
    assert world.state.get_record(PINS, SERVICE)["late_verdict"] == "released"
    world.at(17)
    assert [o for o in sweep(world, "s2") if o.status.value in ("reminder", "verified", "escalated")] == []


def test_a_restore_whose_rollbacks_could_not_all_be_closed_still_says_the_late_verdict_will_not_come(
        world, capsys, monkeypatch):
    """The pin is released, then closing the rollbacks it undid fails (a Firestore fault): the answer says what is
    not recorded. Before, the words that the late rollback was released before its verdict were skipped with it,
    and no sweep reads a released pin: nobody was ever told. Now they are said whatever the closing did."""
    from shared.commands import traffic

    def unavailable(*args, **kwargs):
        raise TransientError("Commit: 503 UNAVAILABLE")
    served_late(world)
    world.at(8)
    monkeypatch.setattr(traffic, "_close_rollbacks", unavailable)
    capsys.readouterr()

    [restored] = world.command(operators("restore_traffic", "cmd-l2", to_latest=True), message_id="l2")

    assert restored.status.value == "applied", restored.reason
    assert any("could not all be closed" in n for n in restored.notes), restored.notes
    assert [n for n in restored.notes if "released before Runwarden judged it" in n], restored.notes
    assert world.state.get_record(PINS, SERVICE)["late_verdict"] == "released"


def test_a_rollback_served_late_whose_evidence_never_reads_is_said_unverified_once_past_its_bar(world, capsys):
    """Monitoring refuses every read after the rollback served late. Before, each sweep deferred it again
    (`reminder_deferred`) for as long as the reads failed, the promised verdict never coming. Now, past its deadline
    by one verification period (+31m: read serving at +6m, deadline 15 min, period 10 min), an `escalated` outcome
    and a WARNING `late_unverified` line say it serves but was not verified, naming the read that failed; once."""
    served_late(world)
    world.standins.monitoring.faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries")
    world.at(17)
    assert [o for o in sweep(world, "s2") if o.status.value in ("verified", "escalated")] == []   # deferred
    capsys.readouterr()
    world.at(32)

    verdicts = [o for o in sweep(world, "s3") if o.status.value in ("verified", "escalated")]

    world.standins.monitoring.faults.clear()
    [unverified] = verdicts
    assert unverified.status.value == "escalated", unverified.reason
    assert "not verified" in unverified.reason and "could not be read" in unverified.reason, unverified.reason
    assert "UNAVAILABLE" in unverified.reason or "unavailable" in unverified.reason.lower(), unverified.reason
    [line] = steps(capsys, "late_unverified")
    assert line["severity"] == "WARNING", line
    record = action(world)
    assert record["state"] == "escalated" and record["applied_late_at"] is not None, record
    assert world.state.get_record(PINS, SERVICE)["late_verdict"] == "unverified"
    world.at(33)
    assert [o for o in sweep(world, "s4") if o.status.value in ("verified", "escalated")] == []


def test_a_rollback_served_late_with_no_points_is_said_unverified_once_never_verified(world, capsys):
    """No request series at all after the rollback served late (no requests, or metrics that never came). Now a
    WARNING `late_unverified` line and one `escalated` outcome say it serves and was not verified, and why; never
    `verified`."""
    served_late(world)
    capsys.readouterr()
    outcomes = []
    for minute in (17, 25, 32, 40):
        world.at(minute)
        outcomes += [o for o in sweep(world, f"s{minute}") if o.status.value in ("verified", "escalated")]

    [unverified] = outcomes
    assert unverified.status.value == "escalated" and "not verified" in unverified.reason, unverified.reason
    assert [line["severity"] for line in steps(capsys, "late_unverified")] == ["WARNING"]
    assert world.state.get_record(PINS, SERVICE)["late_verdict"] == "unverified"



def test_the_next_rollback_after_an_asked_revision_was_deleted_says_so_and_is_still_held(world):
    """OLD, asked for by the failed rollback, is deleted by the revision limit while the split still names it; the
    sweep releases the pin. The next incident's rollback (to OLDER) is held for the split's share of OLD. Before,
    that hold read OLD as "a revision neither failing nor known good" and nothing more. Now it also names
    Runwarden's rollback and that OLD was deleted; still held, nothing written."""
    world.config = world.config.model_copy(update={"guardrails": world.config.guardrails.model_copy(
        update={"cooldown_seconds": 0})})
    world.standins.run.add_revision(SERVICE, OLDER, world.anchor - timedelta(hours=6))   # before OLD, Ready
    failing_update(world, keeps=True)
    world.handle(world.alert())
    # OLDER's clean minutes before NEW's deploy, seeded once the first rollback (to OLD, the newest clean revision)
    # is written, so that the next incident's known-good revision is OLDER: a rollback to another revision.
    more_series(world, counted(OLDER, 200, "-70m", "-10m", 60))
    world.standins.run.expire_revision(SERVICE, OLD)
    world.at(3)
    [released] = [o for o in sweep(world, "s1") if o.status.value == "reminder"]
    assert "still names" in released.reason, released.reason
    world.at(4)

    outcome = world.handle(world.alert(message_id="9", incident_id="0.later"))

    assert outcome.status.value == "escalated", outcome.reason
    assert "not recorded as Runwarden's" not in outcome.reason, outcome.reason
    [first] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert first["key"] in outcome.reason and f"{OLD} was deleted since" in outcome.reason, outcome.reason
    assert world.standins.run.count("UpdateService") == 1


def test_an_applied_restore_reads_the_services_pin_once_after_its_write(world, monkeypatch):
    """After its write the restore releases the pin and decides whether a late verdict was still owed. Before, it
    released the pin (an update, which reads the document to check its guard) and then read it again to decide:
    two reads of the one document. Now a pin never served late is released by one update guarded on that: one
    read. (The restore's note on the pin before the write, `_mark_restoring`, reads it as before.)"""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.gcp.run import CloudRunAdapter

    pin_doc = f"/runwarden_{PINS}/{document_id(SERVICE)}"
    read: list[str] = []
    batch_get, set_traffic = FirestoreStateStore._batch_get, CloudRunAdapter.set_traffic

    def counted_get(self, names):
        read.extend(n for n in names if n.endswith(pin_doc))
        return batch_get(self, names)

    def written(self, *args, **kwargs):
        answer = set_traffic(self, *args, **kwargs)
        read.clear()                # what the restore read of the pin before its write is not counted
        return answer
    answered = world.handle(world.alert())
    assert answered.status.value == "applied", answered.reason
    assert world.state.get_record(PINS, SERVICE)["pinned"] is True
    world.at(4)
    monkeypatch.setattr(FirestoreStateStore, "_batch_get", counted_get)
    monkeypatch.setattr(CloudRunAdapter, "set_traffic", written)

    [restored] = world.command(operators("restore_traffic", "cmd-r1", to_latest=True), message_id="r1")

    assert restored.status.value == "applied", restored.reason
    assert not [n for n in restored.notes if "released before Runwarden judged it" in n], restored.notes
    assert len(read) == 1, read
    assert world.state.get_record(PINS, SERVICE)["pinned"] is False


def test_a_late_verdict_noted_between_the_restores_read_of_the_pin_and_its_release_is_not_contradicted(
        world, monkeypatch):
    """The restore reads a pin served late awaiting its verdict, and a sweep notes the verdict (`verified`) before
    the restore's release lands. The release, guarded on the pin as read, does not note it `released` over the
    verdict: the pin is released as before and read again, and no "released before Runwarden judged it" is said."""
    from shared.gcp.firestore import FirestoreStateStore

    served_late(world)
    world.at(8)
    get_record, raced = FirestoreStateStore.get_record, []

    def verdict_meanwhile(self, kind, key):
        import sys

        data = get_record(self, kind, key)
        # The read the release is guarded on (not the note's read before the write, `_mark_restoring`).
        if kind == PINS and sys._getframe(1).f_code.co_name == "_release_pin" and not raced:
            raced.append(key)        # the sweep's verdict lands right after the restore's read
            world.state.update_record(PINS, SERVICE, {"late_verdict": "verified"})
        return data
    monkeypatch.setattr(FirestoreStateStore, "get_record", verdict_meanwhile)

    [restored] = world.command(operators("restore_traffic", "cmd-l3", to_latest=True), message_id="l3")

    assert restored.status.value == "applied", restored.reason
    assert raced, "the restore never read the pin served late"
    assert not [n for n in restored.notes if "released before Runwarden judged it" in n], restored.notes
    pin = world.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is False and pin["late_verdict"] == "verified", pin
