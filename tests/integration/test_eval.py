"""`runwarden eval` on the bundled scenarios: the bar CI holds diagnosis to, and proof the bar can fail.

Each scenario is seeded into real stand-ins and diagnosed through the real adapters (no mocks)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from cli.eval import command, load_directory
from sandbox.scenarios import SCENARIO_DIR
from shared.diagnosis.signatures import Signature

BAR_SCENARIOS = 30


def _run(directory: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(command, [str(directory), "--json"])
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def test_the_bundled_scenarios_meet_the_bar():
    code, report = _run(SCENARIO_DIR)

    wrong = [r for r in report["rows"] if not r["correct"] or r["wrong_action"]]
    assert wrong == [], wrong
    assert report["accuracy"] == 1.0 and report["wrong_actions"] == 0
    assert report["scenarios"] >= BAR_SCENARIOS
    assert code == 0


def test_the_bundled_scenarios_cover_every_class():
    scenarios = load_directory(SCENARIO_DIR)
    expected = {s.expect.signature for s in scenarios}
    resources = {s.alert.resource.type for s in scenarios}

    assert {s.value for s in Signature} | {"none"} <= expected
    assert {"cloud_run_revision", "vpc_access_connector", "cloudsql_database", "uptime_url"} <= resources
    assert any(s.alert.log_match for s in scenarios)                       # log-match alerts
    assert any(s.alert.denominator_filter for s in scenarios)              # ratio policies
    assert any(s.alert.comparison == "below" for s in scenarios)           # "less than" conditions
    assert any(s.expect.status == "rejected" for s in scenarios)           # an aggregated policy
    assert any(s.expect.stand_down for s in scenarios)
    assert any(r.network_interfaces for s in scenarios for sv in s.services for r in sv.revisions)
    assert any(a.api != "run" for s in scenarios for a in s.audit_logs)
    assert any(c.state == "ERROR" for s in scenarios for c in s.connectors)


def test_a_wrong_expectation_and_a_wrong_action_miss_the_bar(tmp_path):
    # bad_revision plans a rollback: a scenario that expects no action makes it a wrong action, and
    # an expected signature it does not reach lowers accuracy.
    data = yaml.safe_load((SCENARIO_DIR / "bad_revision.yaml").read_text())
    data["expect"] = {"signature": "capacity", "status": "escalated", "action": None}
    (tmp_path / "mislabelled.yaml").write_text(yaml.safe_dump(data))

    code, report = _run(tmp_path)

    assert code == 3
    assert report["accuracy"] == 0.0 and report["wrong_actions"] == 1
    assert report["confusion"]["capacity"]["bad_revision"] == 1
