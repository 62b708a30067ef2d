"""`runwarden eval` on the bundled scenarios: the bar CI holds diagnosis to, and proof the bar can fail.

Each scenario is seeded into real stand-ins and diagnosed through the real adapters (no mocks)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli.eval import command, load_directory
from sandbox.scenarios import SCENARIO_DIR
from shared.diagnosis.signatures import Signature

BAR_SCENARIOS = 30


def _run(directory: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(command, [str(directory), "--json"])
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


# Every bundled scenario (279) is seeded into the stand-ins and diagnosed through the real adapters:
# about 40 s of CPU, which a shared, loaded machine stretched past the suite's 120 s hang guard
# (pyproject.toml). The guard is for hangs, not speed: this test gets a longer one.
@pytest.mark.timeout(600)
def test_the_bundled_scenarios_meet_the_bar():
    code, report = _run(SCENARIO_DIR)

    wrong = [r for r in report["rows"] if not r["correct"] or r["wrong_action"] or r["missed_action"]
             or bool(r["stood_down"]) != r["expected_stand_down"]]
    assert wrong == [], wrong
    assert report["accuracy"] == 1.0 and report["wrong_actions"] == 0 and report["missed_actions"] == 0
    assert report["stand_downs_unlike"] == 0
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


def test_an_expected_fix_not_made_is_a_missed_action_and_misses_the_bar(tmp_path):
    # previous_also_failing diagnoses bad_revision with no revision to roll back to: a scenario
    # expecting the rollback is missed, not wrong. connector_saturation's scale-up is proposed (no
    # allow_one_way policy): a scenario expecting it applied is missed too, one short of the fix.
    data = yaml.safe_load((SCENARIO_DIR / "previous_also_failing.yaml").read_text())
    data["expect"] = {"signature": "bad_revision", "status": "applied", "action": "rollback_traffic",
                      "to_revision": "backend-00001-abc"}
    (tmp_path / "no_rollback.yaml").write_text(yaml.safe_dump(data))
    data = yaml.safe_load((SCENARIO_DIR / "connector_saturation.yaml").read_text())
    data["expect"] = {"signature": "connector_saturation", "status": "applied", "action": "scale_connector"}
    (tmp_path / "only_proposed.yaml").write_text(yaml.safe_dump(data))

    code, report = _run(tmp_path)

    assert code == 3
    assert report["accuracy"] == 1.0 and report["wrong_actions"] == 0 and report["missed_actions"] == 2
    rows = {r["scenario"]: r for r in report["rows"]}
    assert rows["previous_also_failing"]["planned_action"] is None
    assert rows["connector_saturation"]["planned_status"] == "proposed"


def test_a_stand_down_unlike_its_expectation_misses_the_bar(tmp_path):
    # A person's deploy after the incident began stands automation down: a scenario expecting none
    # misses the bar, though its signature and its (absent) action are as expected.
    data = yaml.safe_load((SCENARIO_DIR / "fix_deployed_by_person_after_alert_new_revision_serving.yaml").read_text())
    data["expect"]["stand_down"] = False
    (tmp_path / "no_stand_down.yaml").write_text(yaml.safe_dump(data))

    code, report = _run(tmp_path)

    assert code == 3
    assert report["accuracy"] == 1.0 and report["wrong_actions"] == 0 and report["missed_actions"] == 0
    assert report["stand_downs_unlike"] == 1
    assert report["rows"][0]["stood_down"].startswith("recent human change: deploy of backend-00003")


def test_a_missed_action_is_listed_expected_against_got(tmp_path):
    data = yaml.safe_load((SCENARIO_DIR / "connector_saturation.yaml").read_text())
    data["expect"] = {"signature": "connector_saturation", "status": "applied", "action": "scale_connector"}
    (tmp_path / "only_proposed.yaml").write_text(yaml.safe_dump(data))

    result = CliRunner().invoke(command, [str(tmp_path)])

    assert result.exit_code == 3
    assert "wrong actions 0; missed actions 1" in result.output
    assert "connector_saturation: missed action: expected scale_connector applied, got scale_connector " \
           "proposed" in result.output
