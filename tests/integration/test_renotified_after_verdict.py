"""An incident Monitoring keeps open after Runwarden acted and the sweep judged the action, notified
again (AlertPolicy.AlertStrategy.NotificationChannelStrategy.renotify_interval: a reminder, a new Pub/Sub
message with the incident's id and start). Before, the reminder was answered "duplicate: restore_traffic
... already completed (applied)" after an undone rollback (the sweep's restore, not the verdict), and
"duplicate: rollback_traffic ... already completed (applied)" after a verified one: nobody heard that
Monitoring still held open an incident whose fix Runwarden called verified. Now the answer names the
verdict, and after `verified` it is escalated, told once per message. Nothing is written again either way.
Stand-ins and emulators, no mocks."""
from __future__ import annotations

import pytest

from tests.integration.test_remediation import NEW, OLD, action_key, judged, recovery, still_failing
from tests.integration.world import World


@pytest.fixture(params=[86400, 600], ids=["claim kept", "claim lapsed"])
def rolled_back(request, standin_env, firestore, pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor,
                  guardrails={"claim_retention_seconds": request.param})
    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    world.published()
    return world


def test_a_reminder_after_a_verified_rollback_is_escalated_naming_the_verdict_once(rolled_back):
    recovery(rolled_back)
    rolled_back.at(12)
    [verified] = rolled_back.command({"command": "sweep"})
    assert verified.status.value == "verified", verified.reason
    rolled_back.published()
    rolled_back.at(3 * 60 + 2)

    reminder = rolled_back.handle(rolled_back.alert(message_id="reminder-1"))
    again = rolled_back.handle(rolled_back.alert(message_id="reminder-1"))   # that message redelivered

    assert reminder.status.value == "escalated", reminder.reason
    assert f"after rollback_traffic on " in reminder.reason and f"(action {action_key(rolled_back)}" in reminder.reason
    assert "was verified at 2026-11-26 12:12:00 UTC" in reminder.reason, reminder.reason
    assert again.status.value == "skipped", again.reason      # one page per message
    assert rolled_back.standins.run.count("UpdateService") == 1
    assert rolled_back.serving() == {OLD: 100}


def test_a_reminder_after_an_undone_rollback_names_the_undo_and_writes_nothing(rolled_back):
    still_failing(rolled_back)
    rolled_back.at(18)
    [undone] = rolled_back.command({"command": "sweep"})
    assert undone.status.value == "undone", undone.reason
    rolled_back.at(2 * 60)

    reminder = rolled_back.handle(rolled_back.alert(message_id="reminder-2"))

    assert reminder.status.value == "skipped", reminder.reason
    assert "was undone at 2026-11-26 12:18:00 UTC" in reminder.reason, reminder.reason
    assert "an undone change is never made again without a person" in reminder.reason
    assert rolled_back.standins.run.count("UpdateService") == 2    # the rollback and the sweep's restore
    assert rolled_back.serving() == {NEW: 100}


def test_a_reminder_before_any_verdict_is_the_duplicate_it_was(rolled_back):
    rolled_back.at(4)    # before the settle time: no sweep has judged it, nothing more is read
    reminder = rolled_back.handle(rolled_back.alert(message_id="reminder-3"))
    assert reminder.status.value == "skipped" and reminder.reason.startswith("duplicate: rollback_traffic"), \
        reminder.reason
    assert rolled_back.standins.run.count("UpdateService") == 1


def as_written_before(world) -> None:
    """State as the version before verdicts were kept in SETTLED left it: each entry without its `verdicts` mark,
    no verdict field beside it, each action record without `verdict_kept`."""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.remediation.records import SETTLED_FIELD_PREFIX, VERDICT_FIELD_PREFIX

    client = FirestoreStateStore._firestore(world.state)
    for document in client.collection("runwarden_settled").stream():
        data = {name: ({**value, "verdicts": False} if name.startswith(SETTLED_FIELD_PREFIX) else value)
                for name, value in document.to_dict().items() if not name.startswith(VERDICT_FIELD_PREFIX)}
        document.reference.set(data)
    for document in client.collection("runwarden_actions").stream():
        document.reference.set({k: v for k, v in document.to_dict().items() if k != "verdict_kept"})


def forget_settled(world) -> None:
    """State as a version before the SETTLED entries left it: every incident's record of them deleted."""
    from shared.gcp.firestore import FirestoreStateStore

    for document in FirestoreStateStore._firestore(world.state).collection("runwarden_settled").stream():
        document.reference.delete()


def _answer(outcome) -> tuple:
    return (outcome.status.value, outcome.reason, outcome.target, outcome.action.model_dump() if outcome.action else None)


@pytest.mark.parametrize("verdict", ["pending", "verified", "undone"])
def test_a_reminder_is_answered_alike_from_the_kept_verdict_and_from_the_action_records(rolled_back, verdict):
    """The verdict read with the incident's SETTLED entry (settled.write_verdict, shared.pipeline
    `judged_since`) answers a reminder exactly as the query of the action records did, on a fresh instance and
    a remembering one, and as state the version before left does (entries without the mark; no SETTLED record
    at all), whether the sweep judged the action or not yet."""
    from shared.remediation.settled import SettledIncidents

    judged(rolled_back, verdict, then=3 * 60)
    answers = {}
    for case, message in (("fresh", "r-1"), ("remembered", "r-2")):
        rolled_back.adapters.settled = SettledIncidents() if case == "fresh" else rolled_back.adapters.settled
        answers[case] = _answer(rolled_back.handle(rolled_back.alert(message_id=message)))
    as_written_before(rolled_back)
    for case, message in (("entries before", "r-3"), ("entries before, remembered", "r-4")):
        rolled_back.adapters.settled = SettledIncidents() if case == "entries before" else rolled_back.adapters.settled
        answers[case] = _answer(rolled_back.handle(rolled_back.alert(message_id=message)))
    forget_settled(rolled_back)
    rolled_back.adapters.settled = SettledIncidents()
    answers["no SETTLED record"] = _answer(rolled_back.handle(rolled_back.alert(message_id="r-5")))

    expected = {"pending": "skipped", "verified": "escalated", "undone": "skipped"}[verdict]
    assert answers["fresh"][0] == expected, answers["fresh"]
    assert all(answer == answers["fresh"] for answer in answers.values()), answers


def judged_by_the_version_before(world) -> None:
    """A verdict as a judge of the version before makes it on state this version wrote (the alert function deployed
    ahead of the command function, or Runwarden rolled back): the action record moved alone, its entry still marked,
    no verdict copied beside it."""
    from shared.gcp.firestore import FirestoreStateStore
    from shared.remediation.records import VERDICT_FIELD_PREFIX

    for document in FirestoreStateStore._firestore(world.state).collection("runwarden_settled").stream():
        document.reference.set({name: value for name, value in document.to_dict().items()
                                if not name.startswith(VERDICT_FIELD_PREFIX)})


@pytest.mark.parametrize("verdict,status", [("verified", "escalated"), ("undone", "skipped")])
def test_a_reminder_after_a_verdict_of_the_version_before_is_answered_from_the_action_records(rolled_back, verdict,
                                                                                              status, request):
    """Entries this version marked, judged by the version before (no verdict copied): the SETTLED record's silence
    is not read as "not judged" (a reminder after `verified` answered `skipped`): the action records answer, on a
    fresh instance and a remembering one, and the outcome says where its verdict was read. With the claim lapsed
    the action records are read first anyway (`_AlertRun.acted_before`): the same answer, nothing to say."""
    kept = "claim kept" in request.node.callspec.id
    from shared.remediation.settled import SettledIncidents

    judged(rolled_back, verdict, then=3 * 60)
    judged_by_the_version_before(rolled_back)
    for message, settled in (("r-1", SettledIncidents()), ("r-2", None)):
        rolled_back.adapters.settled = settled or rolled_back.adapters.settled
        reminder = rolled_back.handle(rolled_back.alert(message_id=message))
        assert reminder.status.value == status, reminder.reason
        assert f"was {verdict} at" in reminder.reason, reminder.reason
        assert any("kept no verdict of it" in note and action_key(rolled_back) in note for note in reminder.notes) \
            is kept, reminder.notes
    assert rolled_back.standins.run.count("UpdateService") == 1 + (verdict == "undone")
