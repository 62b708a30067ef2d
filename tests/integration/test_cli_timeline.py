"""`runwarden timeline` against the Logging stand-in (real client), in-process through click."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Iterator

import grpc
import pytest
from click.testing import CliRunner

from cli.main import runwarden
from sandbox.standins.server import StandIns, start_standins
from tests.integration.timeline_world import INCIDENT, PROJECT, seed_incident


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    t0 = (datetime.now(timezone.utc) - timedelta(minutes=40)).replace(second=0, microsecond=0)
    with start_standins() as standins:
        seed_incident(standins.logging, t0)
        for key, value in standins.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("RUNWARDEN_CONFIG", raising=False)
        monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
        yield standins


def run(*args: str):
    return CliRunner().invoke(runwarden, ["timeline", *args], catch_exceptions=False)


def test_text(world):
    result = run(INCIDENT, "--project", PROJECT)

    assert result.exit_code == 0, result.output
    assert "TTD 3 min 00 s · TTM 4 min 30 s · TTR 6 min 00 s" in result.output
    assert "alice@example.com" in result.output and "people acted before Runwarden" in result.output


def test_json_to_a_file(world, tmp_path):
    out = tmp_path / "t.json"
    result = run(INCIDENT, "--project", PROJECT, "--format", "json", "--out", str(out))

    assert result.exit_code == 0 and f"wrote {out}" in result.output
    assert json.loads(out.read_text())["incident_id"] == INCIDENT


def test_the_project_from_the_environment(world, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    assert run(INCIDENT, "--format", "markdown").output.startswith("# Postmortem (draft)")


@pytest.mark.parametrize("padded", [f" {INCIDENT}", f"{INCIDENT}\n", f"\u00a0{INCIDENT}\t"])
def test_whitespace_around_the_id_reads_the_same_incident(world, padded):
    """Read as the alerts path reads a notification's id (shared/gcp/identifiers.stripped_incident_id)."""
    result = run(padded, "--project", PROJECT, "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["incident_id"] == INCIDENT


def test_whitespace_inside_the_id_is_refused_by_name(world):
    result = CliRunner().invoke(runwarden, ["timeline", "0.ab c", "--project", PROJECT])

    assert result.exit_code == 2 and "a space at character 4" in result.output, result.output


@pytest.mark.parametrize("args, message", [
    (['0.x" OR x', "--project", PROJECT], "incident_id"),
    ([INCIDENT], "no project"),
    ([INCIDENT, "--project", "Bad Project!"], "project"),
    (["0.unknown", "--project", PROJECT], "no Runwarden log entry"),
])
def test_bad_input_exits_2_with_a_message(world, args, message):
    result = CliRunner().invoke(runwarden, ["timeline", *args])

    assert result.exit_code == 2 and message in result.output


def test_a_search_that_did_not_finish_exits_1_never_unknown(world):
    from sandbox.standins.logging import EntrySeed, log_name_for

    old = datetime.now(timezone.utc) - timedelta(days=5)
    world.logging.add_entries([EntrySeed(log_name=log_name_for(PROJECT, "other"), timestamp=old - timedelta(seconds=i),
                                         resource_type="global", severity="INFO") for i in range(30_000)])
    world.logging.search_budget = 500

    result = CliRunner().invoke(runwarden, ["timeline", "0.unknown", "--project", PROJECT])

    assert result.exit_code == 1 and "did not finish searching" in result.output
    assert "no Runwarden log entry" not in result.output


@pytest.mark.parametrize("code, words", [
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "read quota (ListLogEntries per minute) is used up, try again in a minute"),
    (grpc.StatusCode.PERMISSION_DENIED, "Cloud Logging refused the read (PERMISSION_DENIED)"),
])
def test_cloud_logging_failures_exit_1_and_say_what_to_do(world, code, words):
    world.logging.faults.fail_next(5, code)

    result = CliRunner().invoke(runwarden, ["timeline", INCIDENT, "--project", PROJECT])

    assert result.exit_code == 1 and words in result.output


def test_a_manual_action_s_timeline_is_read_by_its_command_incident(world):
    """A manual rollback's step lines carry the incident `command:COMMAND_ID`: its timeline is read
    back by that id, as the CLI tells an operator whose wait ended without the answer."""
    from tests.integration.timeline_world import ON_COMMAND, SERVICE_NAME, step

    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    for i, (name, message) in enumerate([("planned", "rollback_traffic by alice@example.com: INC-42"),
                                         ("applied", "rollback_traffic applied")]):
        step(world.logging, at + timedelta(seconds=i), name, message, incident="command:rb-inc42", trigger="command",
             function=ON_COMMAND, command_id="rb-inc42", requested_by="alice@example.com", target=SERVICE_NAME)

    result = run("command:rb-inc42", "--project", PROJECT)

    assert result.exit_code == 0, result.output
    assert "Incident command:rb-inc42" in result.output and "rollback_traffic applied" in result.output


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_a_credential_in_a_line_read_back_is_never_printed(world, fmt):
    """A line of an earlier version (its reason's `password:` not yet read as a credential) and a quoted DSN, in
    Runwarden's lines read back from Logging: before, the timeline printed both, in every form."""
    from tests.integration.timeline_world import ON_COMMAND, SERVICE_NAME, step

    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    step(world.logging, at, "planned", "rollback_traffic by alice@example.com: INC-9 password: Tr0ub4dor&3",
         incident="command:rb-inc9", trigger="command", function=ON_COMMAND, command_id="rb-inc9",
         requested_by="alice@example.com", target=SERVICE_NAME)
    step(world.logging, at + timedelta(seconds=1), "failed",
         "rollback_traffic failed: connect('postgresql://app:s3cr3tPW99@10.0.0.5/db') refused",
         incident="command:rb-inc9", trigger="command", function=ON_COMMAND, command_id="rb-inc9")

    result = run("command:rb-inc9", "--project", PROJECT, "--format", fmt)

    assert result.exit_code == 0, result.output
    assert "Tr0ub4dor&3" not in result.output and "s3cr3tPW99" not in result.output, result.output
    assert "rollback" in result.output and "redacted credential" in result.output
