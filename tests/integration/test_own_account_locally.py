"""What the CLI answers locally (`runwarden eval`, `diagnose` and `replay` on a scenario) is what the deployed function
answers, for a change made by Runwarden's own account: the deployed function adds the account the metadata server
names to diagnosis.self_principals (functions/runtime.py, shared/gcp/identity.py), so an audit entry of its own never
stands automation down, even when the config lists no self_principals. The CLI built its config without it, and
read Runwarden's own connector update as a person's change: a stand-down the deployed function never makes.

The scenario: connector_own_update_running_renotified, with its config's `self_principals` taken out (the account
that made the change is the one the sandbox's metadata server answers: sandbox/standins/run.py RUNWARDEN_CALLER)."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli.eval import evaluate
from cli.main import runwarden
from sandbox.scenarios import load_scenario, resolve_scenario
from sandbox.standins.run import RUNWARDEN_CALLER

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
NAME = "connector_own_update_running_renotified"


@pytest.fixture
def unlisted(tmp_path: Path) -> Path:
    """The scenario with no self_principals in its config: Runwarden's own account is known only as the deployed
    function knows it, from the metadata server."""
    data = yaml.safe_load((ROOT / "sandbox" / "scenarios" / f"{NAME}.yaml").read_text())
    assert data["config"]["diagnosis"]["self_principals"] == [RUNWARDEN_CALLER]   # the account of its own update
    del data["config"]["diagnosis"]
    path = tmp_path / "scenarios" / f"{NAME}.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _alert(tmp_path: Path) -> Path:
    path = tmp_path / f"{NAME}.json"
    path.write_text(json.dumps(resolve_scenario(NAME).notification(ANCHOR)))
    return path


def test_eval_does_not_stand_down_for_runwardens_own_change(unlisted: Path):
    row = evaluate(load_scenario(unlisted))
    listed = evaluate(resolve_scenario(NAME))
    assert row.stood_down == "" and not row.wrong_action and not row.missed_action, row
    assert (row.diagnosed, row.planned_action, row.planned_status, row.reason) == \
        (listed.diagnosed, listed.planned_action, listed.planned_status, listed.reason)


def test_diagnose_does_not_stand_down_for_runwardens_own_change(tmp_path: Path, unlisted: Path):
    result = CliRunner().invoke(runwarden, ["diagnose", str(_alert(tmp_path)), "--scenario", str(unlisted), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["diagnosis"]["signature"] == "connector_saturation" and report["diagnosis"]["stand_down"] == "", \
        report["diagnosis"]


@pytest.mark.emulator
@pytest.mark.timeout(300)   # two emulators and the stand-ins started by the replay's own process
def test_replay_does_not_stand_down_for_runwardens_own_change(pubsub_emulator, firestore_emulator, tmp_path: Path,
                                                              unlisted: Path):
    result = subprocess.run([sys.executable, "-m", "cli", "replay", str(_alert(tmp_path)), "--scenario",
                             str(unlisted), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    outcome = json.loads(line)
    assert outcome["diagnosis"]["stand_down"] == "" and "stands down" not in outcome["reason"], outcome["reason"]
    assert outcome["status"] == "escalated" and outcome["action"] is None, outcome
