"""`make demo` and `runwarden replay`, run the way a person runs them: as subprocesses that start
their own emulators, stand-ins and (for the demo) the function server.

The session emulator fixtures are used only to skip when the emulators are not installed (or
fail under CI=true), with the same message as every other emulator test.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sandbox.emulators import FirestoreEmulator, PubSubEmulator
from sandbox.scenarios import resolve_scenario

REPO = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
GOOD_REVISION = "backend-00001-abc"

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def emulators_installed(pubsub_emulator: PubSubEmulator, firestore_emulator: FirestoreEmulator) -> None:
    """Skips (or fails under CI=true) with the EmulatorMissing message when they are not."""


def run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


# --- make demo --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(emulators_installed: None) -> subprocess.CompletedProcess[str]:
    return run("-m", "sandbox.demo", "--plain")


def test_demo_exits_zero(demo: subprocess.CompletedProcess[str]):
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Demo passed" in demo.stdout


@pytest.mark.parametrize("step", ["received", "diagnosed", "claimed", "applied", "outcome published"])
def test_demo_shows_each_step(demo: subprocess.CompletedProcess[str], step: str):
    assert re.search(rf"^\s*\+\d+\.\d\d s {step}\b", demo.stdout, re.MULTILINE), demo.stdout


def test_demo_shows_the_evidence_and_where_traffic_went(demo: subprocess.CompletedProcess[str]):
    lines = demo.stdout.splitlines()
    assert any(re.search(r"\bsupports bad_revision\b.*\|.*5xx", line) for line in lines), demo.stdout   # an evidence row
    assert re.search(rf"^\s*after\s+{GOOD_REVISION} 100%", demo.stdout, re.MULTILINE), demo.stdout
    assert re.search(rf"^\s*now\s+{GOOD_REVISION} 100%", demo.stdout, re.MULTILINE), demo.stdout
    assert re.search(r"^\s*status\s+applied\b", demo.stdout, re.MULTILINE), demo.stdout
    assert "Traffic is pinned" in demo.stdout


def test_demo_leaves_no_emulator_or_function_running(demo: subprocess.CompletedProcess[str]):
    ports = _started_ports(demo.stdout)
    assert len(ports) == 3, demo.stdout   # Pub/Sub, Firestore, the function server
    deadline = time.monotonic() + 3       # stop() waits for each group; this only absorbs reaping
    while (left := _processes_on(ports)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], left


def _started_ports(output: str) -> set[int]:
    found = re.findall(r"^\s*(?:Pub/Sub emulator|Firestore emulator|function on_alert)\s+127\.0\.0\.1:(\d+)",
                       output, re.MULTILINE)
    return {int(port) for port in found}


def _processes_on(ports: set[int]) -> list[str]:
    """Processes whose command line names one of the ports (emulator wrappers, their JVMs, gunicorn)."""
    wanted = {f"--port={p}" for p in ports} | {f"--port {p}" for p in ports}
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(f"{flag} " in f"{command} " for flag in wanted):
            left.append(f"{pid}: {command[:160]}")
    return left


# --- runwarden replay --------------------------------------------------------------------------


def replay_json(tmp_path: Path, scenario: str, *extra: str) -> dict:
    alert = tmp_path / f"{scenario}.json"
    alert.write_text(json.dumps(resolve_scenario(scenario).notification(ANCHOR)))
    result = run("-m", "cli", "replay", str(alert), "--scenario", scenario, "--json", *extra)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout   # the outcome, and nothing else
    return json.loads(lines[0])


def test_replay_rolls_back_the_bad_revision(emulators_installed: None, tmp_path: Path):
    outcome = replay_json(tmp_path, "bad_revision")
    assert outcome["status"] == "applied"
    assert outcome["diagnosis"]["signature"] == "bad_revision"
    assert outcome["action"]["after"]["traffic"] == [
        {"percent": 100, "revision": GOOD_REVISION, "tag": "", "type": "REVISION"}]
    # The clock is pinned at T0 + 2 min, whatever today's date is.
    assert outcome["timestamps"]["decided_at"] == "2026-11-26T12:02:00Z"
    assert outcome["message_id"] == "replay-1"


def test_replay_escalates_too_little_traffic(emulators_installed: None, tmp_path: Path):
    outcome = replay_json(tmp_path, "low_traffic")
    assert outcome["status"] == "escalated"
    assert outcome["diagnosis"]["signature"] == "inconclusive"


def test_replay_uses_a_given_config_as_written(emulators_installed: None, tmp_path: Path):
    config = tmp_path / "runwarden.yaml"
    config.write_text("project: elsewhere\nmode: dry_run\noutcomes_topic: projects/elsewhere/topics/my-outcomes\n"
                      "services:\n  - name: projects/demo-project/locations/us-central1/services/backend\n")
    outcome = replay_json(tmp_path, "bad_revision", "--config", str(config))
    assert outcome["status"] == "dry_run"
    assert outcome["action"]["params"]["to_revision"] == GOOD_REVISION


def test_demo_ends_with_the_timeline_read_back_from_the_logs(demo: subprocess.CompletedProcess[str]):
    # The function's stdout reached the Logging stand-in as Cloud Run's agent would ship it, and the
    # timeline built from it shows the alert, the decision and the write. The demo ends seconds after
    # the write, before any sweep verified it: no mitigation is claimed yet, and a note says why.
    out = demo.stdout
    assert re.search(r"^TTD \d+ min \d\d s · TTM unknown · TTR ", out, re.MULTILINE), out
    assert re.search(r"has no verification in the entries read .*\n?.*not counted as the mitigation", out), out
    for kind in ("alert_opened", "diagnosed", "claimed", "applied", "errors_started"):
        assert re.search(rf"^\d\d:\d\d:\d\d.*\b{kind}\b", out, re.MULTILINE), kind
    page = re.search(r"^The timeline page:\s+(\S+\.html)$", out, re.MULTILINE)   # wrapped when the path is long
    assert page, out
    html = Path(page.group(1)).read_text()
    assert '<svg class="chart"' in html and 'data-kind="alert_open"' in html and 'data-kind="action"' in html


def test_demo_keeps_the_alert_it_published_for_the_first_commands(demo: subprocess.CompletedProcess[str]):
    # README's first steps run `runwarden parse`, `diagnose` and `replay` on an alert file: the demo
    # leaves the very notification it published, and each of those commands reads it.
    kept = re.search(r"the notification as published:\s+(\S+\.json)", demo.stdout)
    assert kept, demo.stdout
    alert = Path(kept.group(1))
    incident = json.loads(alert.read_text())["incident"]
    assert incident["incident_id"] in demo.stdout
    parsed = run("-m", "cli", "parse", str(alert))
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout)["incident_id"] == incident["incident_id"]
    diagnosed = run("-m", "cli", "diagnose", str(alert), "--scenario", "bad_revision", "--json")
    assert diagnosed.returncode == 0, diagnosed.stderr
    assert json.loads(diagnosed.stdout)["diagnosis"]["signature"] == "bad_revision"
