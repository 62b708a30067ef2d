"""`runwarden parse FILE`: JSON out and exit 0, or one line on stderr and exit 2."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import runwarden

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
REPO = Path(__file__).resolve().parents[2]
PUBSUB_OPEN = SAMPLES / "monitoring_pubsub_threshold_open_gce__flanksource.json"
LOG_MATCH = SAMPLES / "monitoring_webhook_logmatch_open_k8s__hughbrien.json"

BAD_STARTED_AT = json.dumps({"incident": {"incident_id": "0.x", "state": "open", "started_at": "yesterday"}})


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(BAD_STARTED_AT)
    return path


@pytest.mark.parametrize("sample, incident_id, is_open, is_log_match", [
    (PUBSUB_OPEN, "0.nrwotmyokd9n", True, False),
    (SAMPLES / "monitoring_pubsub_threshold_closed_gce__flanksource.json", "0.nrwo9fe1a4wg", False, False),
    (LOG_MATCH, "0.mybdstmr76pg", True, True),
])
def test_parse_prints_the_incident_as_json(runner: CliRunner, sample: Path, incident_id: str,
                                           is_open: bool, is_log_match: bool) -> None:
    result = runner.invoke(runwarden, ["parse", str(sample)])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["incident_id"] == incident_id
    assert (out["is_open"], out["is_log_match"], out["is_test"]) == (is_open, is_log_match, False)
    assert out["cloud_run_service"] is None
    assert out["schema_known"] is True and out["recovery_shown"] == ""   # the closed one is cancelled
    assert result.stderr == ""


def test_parse_reads_a_push_body_from_stdin(runner: CliRunner) -> None:
    body = {"subscription": "projects/p/subscriptions/s",
            "message": {"data": base64.b64encode(PUBSUB_OPEN.read_bytes()).decode(), "messageId": "1"}}
    result = runner.invoke(runwarden, ["parse", "-"], input=json.dumps(body))
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["incident_id"], out["state"], out["ended_at"]) == ("0.nrwotmyokd9n", "open", None)


def test_parse_derives_the_cloud_run_service(runner: CliRunner) -> None:
    notification = json.loads(PUBSUB_OPEN.read_text())
    notification["incident"]["resource"] = {"type": "cloud_run_revision", "labels": {
        "project_id": "shop-prod", "location": "europe-west1", "service_name": "checkout"}}
    result = runner.invoke(runwarden, ["parse", "-"], input=json.dumps(notification))
    assert json.loads(result.stdout)["cloud_run_service"] == "projects/shop-prod/locations/europe-west1/services/checkout"


def test_unparsable_file_exits_2_naming_the_field(runner: CliRunner, bad_file: Path) -> None:
    result = runner.invoke(runwarden, ["parse", str(bad_file)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"runwarden: cannot parse {bad_file}: incident.started_at: expected epoch seconds")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("content, field", [
    (b"not json", "notification"),
    (b"\xff\xfe", "notification"),
    (b'{"message": {"data": "!!"}}', "message.data"),
    (b'{"incident": {"incident_id": "0.x", "state": "maybe", "started_at": 1}}', "incident.state"),
])
def test_each_bad_file_names_its_field(runner: CliRunner, tmp_path: Path, content: bytes, field: str) -> None:
    path = tmp_path / "alert.json"
    path.write_bytes(content)
    result = runner.invoke(runwarden, ["parse", str(path)])
    assert result.exit_code == 2
    assert f": {field}: " in result.stderr


@pytest.mark.parametrize("target", ["does-not-exist.json", "."])
def test_unreadable_file_exits_2(runner: CliRunner, tmp_path: Path, target: str) -> None:
    path = tmp_path / target
    result = runner.invoke(runwarden, ["parse", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"runwarden: cannot read {path}: ")
    assert result.stderr.count("\n") == 1


def test_help_lists_parse(runner: CliRunner) -> None:
    result = runner.invoke(runwarden, ["--help"])
    assert result.exit_code == 0
    assert "parse" in result.stdout


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)


def test_python_dash_m_cli_parses_a_sample() -> None:
    done = run_module("parse", str(LOG_MATCH))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["incident_id"], out["condition_kind"], out["is_log_match"]) == ("0.mybdstmr76pg", "log_match", True)


def test_python_dash_m_cli_exits_2_on_a_bad_file(bad_file: Path) -> None:
    done = run_module("parse", str(bad_file))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "incident.started_at" in done.stderr
    assert done.stderr.startswith("runwarden: cannot parse ")


def test_parse_shows_what_the_alert_is_about(runner: CliRunner, tmp_path) -> None:
    notification = {"version": "1.2", "incident": {
        "incident_id": "0.c", "state": "open", "started_at": 1764158400, "scoping_project_id": "p",
        "resource": {"type": "vpc_access_connector",
                     "labels": {"project_id": "p", "connector_name": "c", "location": "us-east1"}}}}
    path = tmp_path / "n.json"
    path.write_text(json.dumps(notification))
    result = runner.invoke(runwarden, ["parse", str(path)])
    target = json.loads(result.stdout)["target"]
    assert target["kind"] == "connector" and target["name"] == "projects/p/locations/us-east1/connectors/c"
