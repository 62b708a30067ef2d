"""A rollback whose UpdateService operation failed with its split left desired (pinned `asked`, its action
record closed `escalated`), read by later sweeps: its revision served late (verified as any rollback, or
escalated with the evidence, once), or deleted (the pin released once, told), or unreadable (kept). The Run
stand-in (`reconcile`: the desired split served late, nobody's update; `delete_revision`) and the Firestore
emulator; no mocks."""
from __future__ import annotations

import json

import grpc

from sandbox.standins.run import TrafficSeed
from shared.gcp.firestore import document_id
from shared.remediation.records import ACTIONS, PINS
from tests.integration.test_remediation import counted, more_series, request_lines, timed
from tests.integration.test_rollback_failed_operation import failing_update, world  # noqa: F401 (the fixture)
from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"


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
