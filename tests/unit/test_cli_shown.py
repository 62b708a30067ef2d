"""Every CLI output that prints outside-controlled text (log lines, alert and policy names, reasons)
shows control and bidi characters as escapes and never reads the text as rich markup."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import runwarden

SERVICE = "projects/p/locations/us-central1/services/backend"
# A log line's OSC title sequence, a screen clear, a bidi override, and a closing tag rich would act on.
HOSTILE = "upstream \x1b]0;owned\x07 reset \x1b[2J \u202edesrever [/x] [bold]loud"


def report() -> dict:
    evidence = [{"role": "supports", "about": "x", "source": "logging", "query": f"logName {HOSTILE}",
                 "observed": f"1 line: {HOSTILE}", "threshold": "at least 1", "passed": True}]
    diagnosis = {"signature": "app_regression", "confidence": 0.9, "summary": f"5xx after deploy: {HOSTILE}",
                 "competing": [HOSTILE], "stand_down": HOSTILE, "recommendation": HOSTILE, "api_calls": 3,
                 "evidence": evidence}
    return {"target": SERVICE, "service": SERVICE, "source": "service name", "incident_id": HOSTILE,
            "notes": [HOSTILE], "diagnosis": diagnosis,
            "would": {"action": None, "reason": f"escalate: {HOSTILE}"}, "gate": None}


def assert_shown(output: str) -> None:
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in output, output
    assert "\\x1b]0;owned\\x07" in output and "\\u202e" in output, output
    assert "[/x]" in output and "[bold]loud" in output, output


class _Run:
    def __init__(self, report: dict) -> None:
        self.report = report

    def to_dict(self) -> dict:
        return self.report


class _Pipeline:
    """shared.live.pipeline's ReadOnlyPipeline as far as the CLI uses it: what it read, as a report."""

    class clock:
        @staticmethod
        def now():
            from datetime import datetime, timezone
            return datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)

    def run(self, _target) -> _Run:
        return _Run(report())


def test_diagnose_live_shows_log_text_as_escapes(monkeypatch):
    import shared.live.pipeline as live

    monkeypatch.setattr(live, "read_only_pipeline", lambda **_: _Pipeline())
    result = CliRunner().invoke(runwarden, ["diagnose", "--live", SERVICE], env={"RUNWARDEN_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert_shown(result.output)


def test_diagnose_on_a_scenario_shows_log_text_as_escapes(monkeypatch, tmp_path: Path):
    import cli.diagnose as diagnose
    from datetime import datetime, timezone

    from sandbox.scenarios import resolve_scenario

    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(resolve_scenario("connector_saturation").notification(
        datetime(2026, 11, 26, 12, tzinfo=timezone.utc))))
    monkeypatch.setattr(diagnose, "run_diagnosis", lambda *_a, **_k: report())
    result = CliRunner().invoke(runwarden, ["diagnose", str(alert), "--scenario", "connector_saturation"],
                                env={"RUNWARDEN_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert_shown(result.output)


def test_parse_prints_an_alerts_text_as_json_escapes(tmp_path: Path):
    from datetime import datetime, timezone

    from sandbox.scenarios import resolve_scenario

    notification = resolve_scenario("connector_saturation").notification(datetime(2026, 11, 26, 12, tzinfo=timezone.utc))
    notification["incident"]["policy_name"] = "p \x9b2J \u202eeman"
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(notification))
    result = CliRunner().invoke(runwarden, ["parse", str(alert)])
    assert result.exit_code == 0, result.output
    assert "\x9b" not in result.output and "\u202e" not in result.output, result.output
    assert json.loads(result.output)["policy_name"] == "p \x9b2J \u202eeman"


@pytest.mark.parametrize("value", [HOSTILE, {"a": [HOSTILE, (HOSTILE,)]}, 3, None])
def test_shown_leaves_nothing_a_terminal_acts_on(value):
    from cli._shown import shown

    text = json.dumps(shown(value), ensure_ascii=False)
    assert "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize("args", [
    ("parse", "alert-\x1b]0;owned\x07.json"),
    ("diagnose", "alert-\x1b]0;owned\x07.json", "--scenario", "connector_saturation"),
    ("command", "rollback_traffic", "--target", SERVICE, "--param", "revision=\x1b[2J", "--reason", "r",
     "--as", "alice", "--topic", "projects/p/topics/commands", "--no-wait"),
], ids=["parse", "diagnose", "command"])
def test_an_error_that_quotes_the_input_shows_its_control_characters_as_escapes(args):
    result = CliRunner().invoke(runwarden, list(args), env={"RUNWARDEN_CONFIG": ""})
    assert result.exit_code != 0 and "runwarden:" in result.output, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output, result.output
    assert "\\x1b" in result.output, result.output
