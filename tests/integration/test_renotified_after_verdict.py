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

from tests.integration.test_remediation import NEW, OLD, action_key, recovery, still_failing
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
