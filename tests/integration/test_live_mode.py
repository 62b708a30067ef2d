"""`runwarden diagnose --live`: the read-only path, run here against the stand-ins with only the
endpoints changed (the *_EMULATOR_HOST variables), exactly as it runs against Google."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import runwarden
from sandbox.scenarios import resolve_scenario, seed
from sandbox.standins.logging import EntrySeed, log_name_for
from shared.live.pipeline import read_only_pipeline

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
# Every method through which an adapter, the gate or the state store changes anything.
WRITE_METHODS = frozenset({"set_traffic", "update_connector", "publish", "claim", "complete", "record_all", "release",
                           "release_all",
                           "put_record", "update_record", "execute", "apply", "undo"})
WRITE_CALLS = ("UpdateService", "PatchConnector", "WriteLogEntries")


@pytest.fixture
def live_now() -> datetime:
    # The live path reads the system clock: the scenario happens "now".
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)


def _live(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(runwarden, ["diagnose", "--live", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _no_writes(standins) -> None:
    for standin in (standins.run, standins.vpcaccess, standins.logging):
        assert not [c for c in standin.calls if c.method in WRITE_CALLS], standin.calls


@pytest.mark.parametrize("name", ["bad_revision", "connector_saturation"])
def test_an_alert_file_is_diagnosed_and_nothing_is_written(standin_env, tmp_path: Path, live_now, name):
    scenario = resolve_scenario(name)
    seed(standin_env, scenario, live_now)
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(scenario.notification(live_now)))

    report = _live(str(alert))

    assert report["diagnosis"]["signature"] == scenario.expect.signature, report["diagnosis"]["summary"]
    assert report["would"]["action"] == scenario.expect.action and report["would"]["action"]
    assert report["source"] == "alert file" and report["wrote"] == "nothing"
    _no_writes(standin_env)


def test_a_service_name_is_diagnosed(standin_env, live_now):
    seed(standin_env, resolve_scenario("bad_revision"), live_now)
    report = _live(SERVICE)
    assert report["service"] == SERVICE and report["source"] == "service" and report["notes"]
    assert report["diagnosis"]["api_calls"] >= 2
    _no_writes(standin_env)


def test_an_incident_id_is_found_in_runwardens_timeline(standin_env, live_now):
    scenario = resolve_scenario("bad_revision")
    seed(standin_env, scenario, live_now)
    incident = scenario.notification(live_now)["incident"]
    # The `received` line the deployed function wrote (shared/timeline/writer.py's shape).
    standin_env.logging.add_entry(EntrySeed(
        log_name=log_name_for("demo-project", "run.googleapis.com/stdout"), timestamp=live_now + timedelta(seconds=20),
        resource_type="cloud_run_revision", resource_labels={"service_name": "runwarden-on-alert"},
        labels={"runwarden_incident": incident["incident_id"], "runwarden_step": "received"},
        json={"message": "alert received", "runwarden": {"step": "received", "incident_id": incident["incident_id"],
                                                         "resource": incident["resource"]["labels"]}}))

    report = _live(incident["incident_id"], env={"GOOGLE_CLOUD_PROJECT": "demo-project"})

    assert report["service"] == SERVICE and report["incident_id"] == incident["incident_id"]
    assert report["diagnosis"]["signature"] == scenario.expect.signature
    _no_writes(standin_env)


def test_an_unknown_incident_is_a_clear_error(standin_env):
    result = CliRunner().invoke(runwarden, ["diagnose", "--live", "0.nosuchincident"],
                                env={"GOOGLE_CLOUD_PROJECT": "demo-project"})
    assert result.exit_code == 2 and "not in Runwarden's timeline" in result.output


@pytest.mark.parametrize("where, code, words", [
    ("us-central1", 1, "run.services.get"),   # refused credentials: the environment's, not the input's
    ("europe-west1", 2, "NOT_FOUND"),         # the wrong region: no such service, the input's
])
def test_a_refused_read_is_the_environment_and_a_missing_service_the_input(standin_env, live_now, where, code, words):
    seed(standin_env, resolve_scenario("bad_revision"), live_now)
    if where == "us-central1":
        standin_env.run.faults.deny()
    result = CliRunner().invoke(runwarden, ["diagnose", "--live", SERVICE.replace("us-central1", where)])
    assert result.exit_code == code and words in result.output, result.output
    _no_writes(standin_env)


def test_no_credentials_is_the_environment_and_said_so(monkeypatch, tmp_path):
    """No emulator and no Application Default Credentials (a key file that is not there): exit 1,
    naming the fix; not 2, as if the service named were wrong."""
    for name in ("RUN_EMULATOR_HOST", "MONITORING_EMULATOR_HOST", "LOGGING_EMULATOR_HOST", "VPCACCESS_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    result = CliRunner().invoke(runwarden, ["diagnose", "--live", SERVICE])
    assert result.exit_code == 1 and "gcloud auth application-default login" in result.output, result.output


def test_live_takes_no_scenario_and_diagnose_needs_one_otherwise(tmp_path):
    runner = CliRunner()
    assert "takes no --scenario" in runner.invoke(runwarden, ["diagnose", "--live", SERVICE, "--scenario",
                                                              "bad_revision"]).output
    assert "give --scenario" in runner.invoke(runwarden, ["diagnose", SERVICE]).output


def reachable_writers(root: Any) -> tuple[list[str], int]:
    """Walks every object of Runwarden's own that `root` holds (attributes, dataclass fields,
    dicts, lists): which have a method that writes, and how many objects were visited."""
    seen: set[int] = set()
    found: list[str] = []

    def walk(obj: Any, path: str, depth: int = 0) -> None:
        if id(obj) in seen or depth > 6 or isinstance(obj, (str, bytes, int, float, bool, type(None), datetime)):
            return
        if isinstance(obj, dict):
            for key, value in obj.items():
                walk(value, f"{path}[{key!r}]", depth + 1)
            return
        if isinstance(obj, (list, tuple)):
            for i, value in enumerate(obj):
                walk(value, f"{path}[{i}]", depth + 1)
            return
        seen.add(id(obj))
        if not type(obj).__module__.startswith(("shared.", "cli.")):
            return   # Google client objects: the identity's read-only roles guard them (docs/api-contracts.md)
        writes = sorted(WRITE_METHODS & set(dir(obj)))
        if writes:
            found.append(f"{path}: {type(obj).__name__}.{writes}")
        children = vars(obj) if hasattr(obj, "__dict__") else {
            name: getattr(obj, name) for name in getattr(obj, "__dataclass_fields__", {})}
        for name, child in children.items():
            walk(child, f"{path}.{name}", depth + 1)

    walk(root, "pipeline")
    return found, len(seen)


def test_no_write_method_is_reachable_from_the_live_pipeline():
    """Nothing the live pipeline holds has a method that writes; the VPC transport sends GET only."""
    pipeline = read_only_pipeline()
    found, visited = reachable_writers(pipeline)
    assert visited >= 6            # the pipeline, its clock, readers, and each of the four readers
    assert found == []
    assert pipeline.readers.vpcaccess._VERBS == frozenset({"GET"})


def test_the_walk_finds_a_writer_when_there_is_one():
    """The test above must be able to fail: the alert pipeline's adapters are found."""
    from dataclasses import replace

    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    pipeline = read_only_pipeline()
    writing = replace(pipeline, readers=replace(pipeline.readers, run=CloudRunAdapter(), vpcaccess=VpcAccessAdapter()))
    found, _ = reachable_writers(writing)
    assert len(found) == 2 and "set_traffic" in found[0] + found[1] and "update_connector" in found[0] + found[1]
