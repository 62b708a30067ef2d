"""`runwarden replay`: bad input is refused in one line with exit 2, before anything starts.

The replay itself needs the emulators (tests/integration/test_demo.py); here `replay()` is
replaced, so these tests also pin what the command prints for a given run.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import replay as replay_module
from cli._alerts import message_published, read_alert
from sandbox.render import Published
from cli.main import runwarden
from sandbox.emulators import EmulatorMissing
from sandbox.scenarios import resolve_scenario
from shared.config import parse_config

ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad input must be refused before a sandbox (and its emulators) starts."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sandbox was started")

    monkeypatch.setattr("sandbox.stack.Sandbox.start", refuse)


@pytest.fixture
def notification() -> dict:
    return resolve_scenario("bad_revision").notification(ANCHOR)


@pytest.fixture
def alert_file(tmp_path: Path, notification: dict) -> Path:
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(notification))
    return path


def replay(runner: CliRunner, *args: str):
    return runner.invoke(runwarden, ["replay", *map(str, args)])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runwarden: "), result.stderr
    assert result.stdout == ""
    return lines[0]


# --- bad input ---------------------------------------------------------------------------------


def test_a_missing_alert_file_is_named(runner: CliRunner, tmp_path: Path):
    error = one_line_error(replay(runner, tmp_path / "nope.json", "--scenario", "bad_revision"))
    assert "nope.json" in error and "No such file" in error


def test_an_alert_file_that_is_not_json_says_so(runner: CliRunner, tmp_path: Path):
    path = tmp_path / "alert.json"
    path.write_text("not json at all")
    error = one_line_error(replay(runner, path, "--scenario", "bad_revision"))
    assert "not valid JSON" in error


def test_a_bad_notification_field_is_named(runner: CliRunner, tmp_path: Path, notification: dict):
    notification["incident"]["started_at"] = "yesterday"
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(notification))
    error = one_line_error(replay(runner, path, "--scenario", "bad_revision"))
    assert "incident.started_at" in error and "'yesterday'" in error


def test_a_bad_field_inside_a_push_body_is_named(runner: CliRunner, tmp_path: Path, notification: dict):
    del notification["incident"]["state"]
    body = message_published(json.dumps(notification).encode(), ANCHOR)
    path = tmp_path / "push.json"
    path.write_text(json.dumps(body))
    error = one_line_error(replay(runner, path, "--scenario", "bad_revision"))
    assert "incident.state" in error and "is required" in error


def test_an_unknown_scenario_lists_the_bundled_ones(runner: CliRunner, alert_file: Path):
    error = one_line_error(replay(runner, alert_file, "--scenario", "no_such_scenario"))
    assert "no_such_scenario" in error
    for name in ("bad_revision", "low_traffic", "previous_also_failing"):
        assert name in error


def test_an_invalid_scenario_file_names_the_field(runner: CliRunner, alert_file: Path, tmp_path: Path):
    path = tmp_path / "scenario.yaml"
    path.write_text("name: broken\nproject: p\n")
    error = one_line_error(replay(runner, alert_file, "--scenario", path))
    assert "region" in error


def test_an_invalid_config_names_the_field(runner: CliRunner, alert_file: Path, tmp_path: Path):
    path = tmp_path / "runwarden.yaml"
    path.write_text("project: p\noutcomes_topic: not-a-topic\n")
    error = one_line_error(replay(runner, alert_file, "--scenario", "bad_revision", "--config", path))
    assert "outcomes_topic" in error


def test_the_scenario_is_required(runner: CliRunner, alert_file: Path):
    result = replay(runner, alert_file)
    assert result.exit_code == 2 and "--scenario" in result.stderr


# --- what reaches the pipeline ---------------------------------------------------------------


@pytest.mark.parametrize("shape", ["notification", "push body", "cloudevent"])
def test_every_alert_shape_unwraps_to_the_same_notification(tmp_path: Path, notification: dict, shape: str):
    raw = json.dumps(notification).encode()
    body = message_published(raw, ANCHOR, message_id="7")
    document = {"notification": notification, "push body": body,
                "cloudevent": {"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
                               "source": "//pubsub.googleapis.com/projects/p/topics/t", "id": "7", "data": body}}
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(document[shape]))
    alert = read_alert(path)
    assert json.loads(alert.notification) == notification
    assert alert.started_at == ANCHOR


def test_the_pipeline_gets_message_published_data_at_t0_plus_two_minutes():
    data = message_published(b'{"incident": {}}', datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc))
    assert data == {"message": {"data": base64.b64encode(b'{"incident": {}}').decode(), "messageId": "replay-1",
                                "publishTime": "2026-11-26T12:02:00Z"}}


# --- output, and environment failures ----------------------------------------------------------


@pytest.fixture
def fake_replay(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """replay() answered without a sandbox; records what it was asked."""
    calls: list[dict] = []
    body = {"status": "escalated", "reason": "too little traffic", "target": None, "notes": []}

    def fake(alert, scenario, written=None, *, echo_timeline=False):
        calls.append({"alert": alert, "scenario": scenario, "written": written, "echo": echo_timeline})
        config = parse_config({"project": "p", "mode": "enforce", "outcomes_topic": "projects/p/topics/outcomes"})
        entry = {"severity": "WARNING", "message": "too little traffic", "time": "2026-11-26T12:02:00+00:00",
                 "runwarden": {"step": "escalated", "status": "escalated"}}
        return replay_module.ReplayRun(config, [entry], [Published(body, {"status": "escalated"}, "0.x")])

    monkeypatch.setattr(replay_module, "replay", fake)
    return calls


def test_json_prints_exactly_the_published_body(runner: CliRunner, alert_file: Path, fake_replay: list[dict]):
    result = replay(runner, alert_file, "--scenario", "bad_revision", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"status": "escalated", "reason": "too little traffic", "target": None, "notes": []}]
    assert fake_replay[0]["scenario"].name == "bad_revision" and fake_replay[0]["echo"] is True
    assert fake_replay[0]["alert"].started_at == ANCHOR


def test_without_json_the_steps_and_status_are_shown(runner: CliRunner, alert_file: Path, fake_replay: list[dict]):
    result = replay(runner, alert_file, "--scenario", "bad_revision")
    assert result.exit_code == 0, result.output
    assert "escalated" in result.stdout and "too little traffic" in result.stdout
    assert "T0 2026-11-26 12:00:00 UTC" in result.stdout


def test_a_missing_emulator_is_an_environment_failure(runner: CliRunner, alert_file: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    def missing(*args: object, **kwargs: object) -> None:
        raise EmulatorMissing("The pubsub emulator is not installed (looked for /x).")

    monkeypatch.setattr(replay_module, "replay", missing)
    result = replay(runner, alert_file, "--scenario", "bad_revision", "--json")
    assert result.exit_code == 1
    assert "The pubsub emulator is not installed" in result.stderr and result.stdout == ""


def test_a_connector_action_shows_the_connector_before_and_after_not_traffic(runner: CliRunner, alert_file: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    from sandbox.render import LiveConnector

    connector = "projects/demo-project/locations/us-central1/connectors/backend-conn"
    before = {"connector": {"name": connector, "state": "READY", "machine_type": "e2-micro",
                            "min_instances": 2, "max_instances": 3}}
    after = {"connector": {**before["connector"], "machine_type": "e2-standard-4"}}
    body = {"status": "applied", "reason": "scale_connector applied", "target": connector, "notes": [],
            "action": {"name": "scale_connector", "before": before, "after": after}}
    entry = {"time": "2026-11-26T12:02:00+00:00", "severity": "INFO", "message": "scale_connector applied",
             "runwarden": {"step": "applied", "status": "applied"}}

    def fake(alert, scenario, written=None, *, echo_timeline=False):
        config = parse_config({"project": "demo-project", "outcomes_topic": "projects/demo-project/topics/outcomes"})
        live = LiveConnector(connector, "READY", "e2-standard-4", 2, 3)
        return replay_module.ReplayRun(config, [entry], [Published(body)], live)

    monkeypatch.setattr(replay_module, "replay", fake)
    result = replay(runner, alert_file, "--scenario", "connector_saturation")

    assert result.exit_code == 0, result.output
    assert "e2-micro, 2-3 instances" in result.stdout and "e2-standard-4, 2-3 instances" in result.stdout
    assert "read back from VPC Access: matches the outcome" in result.stdout
    assert "no traffic" not in result.stdout
