"""A command sent with `dry_run: true` that a brake holds is told what it asked for: that nothing was written, the
change the write would make, and the brake that would hold the write now. It was told "this rollback_traffic wrote
nothing: once resumed, send it again with a new command_id": sent again, it would only be a dry run again, and the
change it was sent to preview was never said. Pure: shared/commands/held.py."""
from __future__ import annotations

import pytest

from shared.commands.held import kill_switch_said
from shared.outcomes import OutcomeStatus
from shared.remediation.refusals import DryRunBy, Held

from tests.integration.world import SERVICE
from tests.unit.test_command_inputs import OLD, send, world

TRAFFIC = ({"traffic": [{"type": "REVISION", "revision": "backend-00002-xyz", "percent": 100}]},
           {"traffic": [{"type": "REVISION", "revision": "backend-00001-abc", "percent": 100}]})
CONNECTOR = ({"connector": {"machine_type": "e2-micro", "min_instances": 2, "max_instances": 3}},
             {"connector": {"machine_type": "e2-micro", "min_instances": 2, "max_instances": 5}})
PAUSED = "held by a pause: no writes (…/services/backend paused by alice@example.com at …: freeze)"
KILL = "kill switch engaged: no writes (set in config)"

# (the gate's words, its hold, the command's before and preview, the change said)
ROWS = {
    "a rollback under a pause": (PAUSED, Held.PAUSED, TRAFFIC, "backend-00001-abc: absent -> 100%"),
    "a rollback under the config's kill switch": (KILL, Held.KILL_SWITCH, TRAFFIC, "backend-00002-xyz: 100% -> absent"),
    "a scale under a pause": (PAUSED, Held.PAUSED, CONNECTOR, "max_instances: 3 -> 5"),
}


@pytest.mark.parametrize("words, hold, states, change", ROWS.values(), ids=ROWS.keys())
def test_a_dry_run_held_by_a_brake_says_the_change_and_the_brake(words, hold, states, change):
    said = kill_switch_said(words, hold, "rollback_traffic", "rb-1", states)
    assert said.startswith("dry-run (asked by this command's dry_run: true): nothing written"), said
    assert change in said and said.endswith(f"the write would be held back: {words}"), said
    assert "send it again" not in said, said


@pytest.mark.parametrize("hold", [Held.COOLDOWN, Held.BOUNDS, None])
def test_a_dry_run_held_by_anything_but_a_brake_keeps_the_gates_words(hold):
    assert kill_switch_said("cooldown: …", hold, "rollback_traffic", "rb-1", TRAFFIC) == "cooldown: …"


def test_a_write_held_by_a_brake_still_says_to_send_it_again_once_released():
    said = kill_switch_said(PAUSED, Held.PAUSED, "rollback_traffic", "rb-1")
    assert "send it again with a new command_id" in said and "dry-run" not in said, said


SHADOW = "shadow mode for rollback_traffic: the config's actions.rollback_traffic.mode is dry_run"

# (whose dry run, the brake's words and hold, words said after the change)
OTHER_DRY_RUNS = {
    "the config's mode under a pause": (DryRunBy.MODE, PAUSED, Held.PAUSED, "the config's mode is dry_run"),
    "the action's shadow mode under a pause": (DryRunBy.SHADOW, PAUSED, Held.PAUSED, SHADOW),
    "the config's mode under the config's kill switch": (DryRunBy.MODE, KILL, Held.KILL_SWITCH,
                                                         "the config's mode is dry_run"),
}


@pytest.mark.parametrize("by, words, hold, whose", OTHER_DRY_RUNS.values(), ids=OTHER_DRY_RUNS.keys())
def test_every_kind_of_dry_run_held_by_a_brake_says_the_change_and_never_to_resend(by, words, hold, whose):
    """The config's mode or the action's shadow makes the write a dry run whatever the command says: "once resumed,
    send it again" would only dry-run again, and the change was never said."""
    said = kill_switch_said(words, hold, "rollback_traffic", "rb-1", TRAFFIC, by, "rollback_traffic")
    assert said.startswith(f"dry-run ({whose}): nothing written"), said
    assert "backend-00001-abc: absent -> 100%" in said and words in said, said
    assert "send it again" not in said and "a dry run again" in said, said


# (the world's config, words said)
DRY_WORLDS = {
    "the config's mode": ({"mode": "dry_run"}, "the config's mode is dry_run"),
    "the action's shadow mode": ({"actions": {"rollback_traffic": {"mode": "dry_run"}}}, SHADOW),
    "the command's own dry_run": ({}, "asked by this command's dry_run: true"),
}


@pytest.mark.parametrize("settings, whose", DRY_WORLDS.values(), ids=DRY_WORLDS.keys())
def test_an_operators_rollback_dry_run_under_a_pause_says_what_it_would_change(settings, whose):
    w = world("bad_revision", **settings)
    assert send(w, "pause", "p-1", target=SERVICE).status is OutcomeStatus.APPLIED
    asked = {} if settings else {"dry_run": True}
    held = send(w, "rollback_traffic", "rb-1", target=SERVICE, params={"revision": OLD}, **asked)
    assert held.status is OutcomeStatus.SKIPPED, held.reason
    assert held.reason.startswith(f"dry-run ({whose}): nothing written; it would change: "), held.reason
    assert "send it again" not in held.reason, held.reason
