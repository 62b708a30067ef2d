"""`runwarden diagnose`: the diagnosis on a scenario's evidence, through the real adapters and the
API stand-ins (no emulators: nothing is claimed or published), and its refusals of bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli._inputs import EXIT_ENVIRONMENT
from cli.main import runwarden
from sandbox.scenarios import list_bundled_scenarios, resolve_scenario
from shared.diagnosis.collection import ALERT_READS, MAX_API_CALLS, TARGET_CONNECTOR_READS, TARGET_SECRET_READS

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SCENARIOS = [n for n in list_bundled_scenarios() if resolve_scenario(n).expect is not None]


def alert_file(tmp_path: Path, scenario: str) -> Path:
    path = tmp_path / f"{scenario}.json"
    path.write_text(json.dumps(resolve_scenario(scenario).notification(ANCHOR)))
    return path


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_is_diagnosed_as_it_expects(tmp_path, name):
    result = CliRunner().invoke(runwarden, ["diagnose", str(alert_file(tmp_path, name)), "--scenario", name,
                                            "--json"])

    scenario = resolve_scenario(name)
    expect = scenario.expect
    if expect.signature == "none":    # routed nowhere: refused in one line, nothing diagnosed
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
        return
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["diagnosis"]["signature"] == expect.signature, report["diagnosis"]["summary"]
    assert set(report["diagnosis"]["competing"]) == set(expect.competing)
    assert bool(report["diagnosis"]["stand_down"]) == expect.stand_down
    assert report["would"]["action"] == expect.action
    # At most MAX_API_CALLS per service and its request log, and 2 to find a shared resource's users (as
    # test_pipeline).
    services = max(1, len([s for s in scenario.services if s.managed]))
    assert report["diagnosis"]["api_calls"] <= (MAX_API_CALLS + ALERT_READS + TARGET_SECRET_READS + TARGET_CONNECTOR_READS + 2) * services


RELAYED = [n for n in SCENARIOS if resolve_scenario(n).alert and resolve_scenario(n).alert.relayed_as]


@pytest.mark.parametrize("name", RELAYED)
def test_a_relayed_alert_as_published_is_diagnosed_as_its_scenario_expects(tmp_path, name):
    """The message as the alerts topic got it from the relay (what a dead-letter subscription shows), pasted as it
    is: read through its wrapping, as the pipeline reads it."""
    path = tmp_path / f"{name}.json"
    path.write_bytes(resolve_scenario(name).message_data(ANCHOR))

    result = CliRunner().invoke(runwarden, ["diagnose", str(path), "--scenario", name, "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["diagnosis"]["signature"] == resolve_scenario(name).expect.signature, report["diagnosis"]["summary"]
    assert report["would"]["action"] == resolve_scenario(name).expect.action


def test_human_output_shows_the_evidence(tmp_path):
    command = [sys.executable, "-m", "cli", "diagnose", str(alert_file(tmp_path, "connector_saturation")),
               "--scenario", "connector_saturation"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "connector_saturation" in done.stdout
    assert "e2-standard-4" in done.stdout             # the recommendation
    assert "Runwarden would run scale_connector" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["nope.json", "--scenario", "bad_revision"], "cannot read nope.json"),
    (["{alert}", "--scenario", "no_such_scenario"], "unknown scenario 'no_such_scenario'"),
])
def test_bad_input_is_refused_in_one_line(tmp_path, args, message):
    args = [a.replace("{alert}", str(alert_file(tmp_path, "bad_revision"))) for a in args]
    result = CliRunner().invoke(runwarden, ["diagnose", *args])

    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_non_cloud_run_alert_is_refused(tmp_path):
    sample = ROOT / "tests" / "fixtures" / "samples" / "monitoring_pubsub_threshold_open_gce__flanksource.json"
    result = CliRunner().invoke(runwarden, ["diagnose", str(sample), "--scenario", "bad_revision"])
    assert result.exit_code == 2 and "'gce_instance' is not one Runwarden diagnoses" in result.stderr


def _config(tmp_path: Path, **extra) -> Path:
    import yaml

    data = resolve_scenario("connector_saturation").config_data("projects/demo-project/topics/outcomes")
    path = tmp_path / "runwarden.yaml"
    path.write_text(yaml.safe_dump({**data, **extra}))
    return path


def test_the_gate_preview_shows_a_proposed_connector_change_before_and_after(tmp_path):
    command = [sys.executable, "-m", "cli", "diagnose", str(alert_file(tmp_path, "connector_saturation")),
               "--scenario", "connector_saturation", "--config", str(_config(tmp_path))]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "The gate would decide proposed" in done.stdout
    assert "connector before: e2-micro, 2-3 instances" in done.stdout
    assert "connector proposed: e2-standard-4, 2-3 instances" in done.stdout
    assert "traffic" not in done.stdout.split("Runwarden would")[1]   # a connector action shows the connector


def test_the_gate_preview_says_dry_run_in_dry_run_mode(tmp_path):
    connector = "projects/demo-project/locations/us-central1/connectors/backend-conn"
    config = _config(tmp_path, mode="dry_run", bounds={"connectors": [{"name": connector, "allow_one_way": True}]})
    result = CliRunner().invoke(runwarden, ["diagnose", str(alert_file(tmp_path, "connector_saturation")),
                                            "--scenario", "connector_saturation", "--config", str(config), "--json"])

    assert result.exit_code == 0, result.output
    gate = json.loads(result.stdout)["gate"]
    assert gate["decision"] == "dry_run" and "cooldown" in gate["unchecked"]
    assert gate["after"]["connector"]["machine_type"] == "e2-standard-4"



def test_the_gate_preview_of_a_forecast_says_escalated_as_the_alert_path_does(tmp_path):
    """A forecast condition (forecastOptions) states no present failure: the alert path escalates it with the
    change it would make (shared/alerts/present_failure.py); the preview said the rollback "would go ahead"."""
    notification = resolve_scenario("bad_revision").notification(ANCHOR)
    notification["incident"]["condition"]["conditionThreshold"]["forecastOptions"] = {"forecastHorizon": "3600s"}
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps(notification))
    result = CliRunner().invoke(runwarden, ["diagnose", str(path), "--scenario", "bad_revision", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["would"]["action"] == "rollback_traffic"
    assert report["gate"]["decision"] == "escalated" and "fired on a forecast" in report["gate"]["reason"], report["gate"]


PEERS = "service_alert_saturation_idle_peer_shared_connector"


def _peer_never_answers(monkeypatch):
    """A peer's lookup that never answered past its retries (users_of's `unanswered`), as scope.service_peers_held
    finds it when no delivery is the last (the diagnose and eval commands read once, a person waiting): the fault it
    raises is scope's own, worded for the command."""
    from shared.diagnosis import scope
    from shared.diagnosis.collection import Users

    statements = "projects/fin-prod/locations/us-east1/services/statements"
    fault = f"{statements}: not answered after 3 read(s) of Cloud Run (UNAVAILABLE)"
    monkeypatch.setattr(scope, "users_of", lambda *_args, **_kwargs: Users(
        (), (statements,), (fault,), api_calls=6, maybe=(statements,), unanswered=(statements,)))


@pytest.mark.parametrize("command", ["diagnose", "eval"])
def test_a_peer_that_never_answers_is_said_in_one_line_not_a_traceback(tmp_path, monkeypatch, command):
    """Before, the TransientError of a peer's read left the command as a traceback (only a permanent refusal was
    answered); now it is said in one line, naming the peer and its fault, with the environment's exit code, as
    `diagnose --live` answers a transient read fault."""
    _peer_never_answers(monkeypatch)
    if command == "diagnose":
        args = ["diagnose", str(alert_file(tmp_path, PEERS)), "--scenario", PEERS]
    else:
        (tmp_path / f"{PEERS}.yaml").write_text((ROOT / "sandbox" / "scenarios" / f"{PEERS}.yaml").read_text())
        args = ["eval", str(tmp_path)]

    result = CliRunner().invoke(runwarden, args)

    assert isinstance(result.exception, SystemExit) and result.exit_code == EXIT_ENVIRONMENT, result.exception
    said = result.stderr.strip().splitlines()
    assert len(said) == 1 and "could not read the evidence" in said[0], said
    assert "statements: not answered after 3 read(s) of Cloud Run (UNAVAILABLE)" in said[0], said
    # Worded for a command a person runs again, not for an alert's delivery that does not come.
    assert "run the command again" in said[0] and "delivery" not in said[0], said
