"""The command-sending CLI without a network: input checks, params, help, check-config."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli._commands import DONE, parse_params, render
from cli.main import runwarden

SERVICE = "projects/p/locations/us-central1/services/backend"


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(runwarden, list(args), env=env or {"RUNWARDEN_CONFIG": ""})


@pytest.mark.parametrize("name", ["command", "status", "approve", "pause", "resume", "check-config"])
def test_every_command_has_an_example_in_its_help(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0 and "Example" in result.output and "runwarden" in result.output


def test_params_are_json_when_they_can_be():
    assert parse_params(("to_latest=true", "max_instances=6", "revision=backend-00001-abc")) == \
        {"to_latest": True, "max_instances": 6, "revision": "backend-00001-abc"}


def test_an_invalid_command_is_refused_before_anything_is_published():
    result = invoke("command", "rollback_traffic", "--target", SERVICE, "--as", "alice", "--topic",
                    "projects/p/topics/c", "--no-wait")
    assert result.exit_code == 2 and "command.reason" in result.output


def test_a_bad_param_is_refused():
    result = invoke("command", "scale_connector", "--target", "projects/p/locations/l/connectors/c",
                    "--param", "max_instances=42", "--reason", "r", "--as", "alice", "--topic", "projects/p/topics/c")
    assert result.exit_code == 2 and "params.max_instances" in result.output


def test_no_topic_is_a_clear_error():
    result = invoke("status", "--as", "alice")
    assert result.exit_code == 2 and "no commands topic" in result.output


def test_check_config(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("project: p\noutcomes_topic: projects/p/topics/outcomes\n")
    assert invoke("check-config", str(good)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: p\noutcomes_topic: x\nmode: sometimes\n")
    result = invoke("check-config", str(bad))
    assert result.exit_code == 2 and f"{bad}:2: outcomes_topic" in result.output and f"{bad}:3: mode" in result.output


def test_rendering_a_status_snapshot():
    text = render({"status": "reported", "reason": "kill switch off", "snapshot": {
        "kill_switch": "", "pinned": [{"service": SERVICE, "revision": "backend-00001-abc", "age_seconds": 7260}],
        "open_proposals": [{"proposal_id": "p-0123456789ab", "expires_at": "2026-11-30T12:00:00Z"}]}})
    assert "pinned: 1" in text and "backend-00001-abc, pinned 2 h 1 min" in text and "p-0123456789ab" in text
    assert "reported" in DONE and "rejected" not in DONE
