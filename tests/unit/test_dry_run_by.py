"""A command's dry run is told by the brake the gate's result names (GateResult.dry_run_by), never by its reason's
words, and is said as before: whose brake, nothing written, the change it would make. Pure: from tables."""
from __future__ import annotations

import pytest

from shared.commands.held import dry_run_said
from shared.remediation.refusals import DryRunBy, dry_run_by

BEFORE = {"traffic": [{"type": "REVISION", "revision": "b-2", "percent": 100, "tag": ""}]}
AFTER = {"traffic": [{"type": "REVISION", "revision": "b-1", "percent": 100, "tag": ""}]}
WOULD = "; it would change: b-1: absent -> 100%; b-2: 100% -> absent"
CHECKED = "nothing written; everything but the write was checked"

BRAKES = [
    # (asked, config dry run, the brake)
    (True, False, DryRunBy.ASKED),
    (True, True, DryRunBy.ASKED),
    (False, True, DryRunBy.MODE),
    (False, False, DryRunBy.SHADOW),
]


@pytest.mark.parametrize("asked, config_dry_run, brake", BRAKES)
def test_the_commands_own_dry_run_comes_first_then_the_configs_mode_then_shadow_mode(asked, config_dry_run, brake):
    assert dry_run_by(asked=asked, config_dry_run=config_dry_run) is brake


SAID = [
    # (the gate's reason, the brake its result names, what the operator reads)
    ("dry-run: everything but the write", DryRunBy.ASKED,
     f"dry-run (asked by this command's dry_run: true): {CHECKED}{WOULD}"),
    ("dry-run: everything but the write", DryRunBy.MODE, f"dry-run (the config's mode is dry_run): {CHECKED}{WOULD}"),
    ("shadow mode for rollback_traffic: everything but the write", DryRunBy.SHADOW,
     f"dry-run (shadow mode for rollback_traffic: the config's actions.rollback_traffic.mode is dry_run): "
     f"{CHECKED}{WOULD}"),
    # Words the result does not name as a dry run's own: kept, read by the command's settings (the fallback).
    ("dry-run: everything but the write", None,
     f"dry-run (the config's mode is dry_run): {CHECKED}{WOULD} (dry-run: everything but the write)"),
    # A reason worded otherwise, of a result that names its brake: the brake is told, the words not repeated.
    ("held back for the plan's own dry run", DryRunBy.MODE,
     f"dry-run (the config's mode is dry_run): {CHECKED}{WOULD}"),
]


@pytest.mark.parametrize("reason, brake, said", SAID)
def test_a_dry_runs_answer_is_told_by_the_brake_the_gate_names(reason, brake, said):
    assert dry_run_said(reason, brake, action="rollback_traffic", before=BEFORE, after=AFTER,
                        fallback=DryRunBy.MODE) == said
