"""The published outcome names what held its write back as a typed field (`Outcome.held`, refusals.Held), with a
Pub/Sub attribute `held` for subscription filters and `held` on its decision line in the timeline, so that a
subscriber tells a kill switch from a cooldown from a budget without reading `reason`. An outcome published before
the field was (no `held`) reads as before; a hold a later version adds reads as none. On in-process parts
(tests/property/fast.py)."""
from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timezone

import pytest

from shared.commands import handle_command
from shared.outcomes import Outcome, OutcomeStatus, Timestamps
from shared.remediation.refusals import Held
from shared.timeline.classify import row_of_step, step_of
from shared.timeline.entries import LoggedEntry
from shared.timeline.model import TimelineEntry
from tests.integration.test_remediation import OLD, still_failing
from tests.integration.world import SERVICE, event
from tests.unit.test_held_by_kind import _kill_switch, _pause, _reworded_brake, _reworded_limits, held_at_two_minutes
from tests.unit.test_held_redeliveries import _cooldown, _global_hour_spent, _target_hour_spent
from tests.unit.test_switch_in_flight import OPERATOR, _world

APPLIED, SKIPPED, ESCALATED = OutcomeStatus.APPLIED, OutcomeStatus.SKIPPED, OutcomeStatus.ESCALATED
T = datetime(2026, 12, 3, 10, 2, tzinfo=timezone.utc)


def _lines(run) -> tuple[object, list[dict]]:
    """What `run` answers, and the timeline lines it wrote."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        answer = run()
    return answer, [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def _told(outcome: Outcome, lines: list[dict], held: Held) -> None:
    """The hold on the outcome, its body, its attributes and its decision line."""
    assert outcome.held is held, (outcome.held, outcome.reason)
    assert json.loads(outcome.to_json())["held"] == held.value
    assert outcome.attributes()["held"] == held.value
    decided = [line for line in lines if line["runwarden"]["step"] == outcome.status.value]
    assert decided and all(line["runwarden"].get("held") == held.value for line in decided), decided
    rows = [_row(line) for line in decided]
    assert all(row.held is held for row in rows), rows


def _row(line: dict) -> TimelineEntry:
    """The incident timeline's row of a step line, lifted into an entry as Cloud Run's logging agent lifts it."""
    entry = LoggedEntry(insert_id="0001", timestamp=T, receive_timestamp=T, log_id="run.googleapis.com/stdout",
                        severity=line["severity"], labels=line["logging.googleapis.com/labels"],
                        json_payload={k: v for k, v in line.items() if k not in ("time", "severity")},
                        text=line["message"])
    step = step_of(entry, line["runwarden"]["incident_id"] or "")
    assert step is not None, line
    return row_of_step(step, "demo-project")


# (scenario, what holds the write back, the hold named) - the words reworded, so that only the kind can tell
HOLDS = {
    "a rollback held by a pause": ("bad_revision", _pause, _reworded_brake, Held.PAUSED),
    "a connector scale held by the kill switch": ("connector_saturation", _kill_switch, _reworded_brake, Held.PAUSED),
    "a rollback held by the target's cooldown": ("bad_revision", _cooldown, _reworded_limits, Held.COOLDOWN),
    "a rollback held by the target's hourly budget": ("bad_revision", _target_hour_spent, _reworded_limits,
                                                      Held.BUDGET),
    "a connector scale held by the global budget": ("connector_saturation", _global_hour_spent, _reworded_limits,
                                                    Held.BUDGET),
}


@pytest.mark.parametrize("scenario, hold, reworded, kind", HOLDS.values(), ids=HOLDS.keys())
def test_an_alerts_held_write_names_its_hold_and_so_does_its_delivery_again(monkeypatch, scenario, hold, reworded,
                                                                            kind):
    w, alert = held_at_two_minutes(monkeypatch, scenario, hold, reworded)
    held, lines = _lines(lambda: w.handle(alert))
    assert held.status is SKIPPED, held.reason
    _told(held, lines, kind)
    again, lines = _lines(lambda: w.handle(alert))   # kept held: named by the hold its record keeps
    assert again.status is SKIPPED and "nothing was diagnosed or written" in again.reason, again.reason
    _told(again, lines, kind)


def test_the_config_kill_switch_is_told_from_a_pause():
    w = _world("bad_revision")
    w.config = w.config.model_copy(update={"guardrails": w.config.guardrails.model_copy(update={"kill_switch": True})})
    held, lines = _lines(lambda: w.handle(w.alert()))
    assert held.status is SKIPPED, held.reason
    _told(held, lines, Held.KILL_SWITCH)


def test_an_operators_rollback_held_by_a_pause_names_its_hold():
    w = _world("bad_revision")
    _pause(w, SERVICE)
    body = {"command": "rollback_traffic", "command_id": "rb-1", "requested_by": OPERATOR, "reason": "INC-7",
            "target": SERVICE, "params": {"revision": OLD}}
    data = event(json.dumps(body).encode(), "m-rb-1")
    data["message"]["publishTime"] = w.clock.now().isoformat().replace("+00:00", "Z")
    [held], lines = _lines(lambda: handle_command(data, w.config, w.adapters))
    assert held.status is SKIPPED, held.reason
    _told(held, lines, Held.PAUSED)


def test_the_sweeps_undo_held_by_a_pause_names_its_hold():
    w = _world("bad_revision")
    applied, _ = _lines(lambda: w.handle(w.alert()))
    assert applied.status is APPLIED and applied.held is None and "held" not in applied.attributes()
    w.own_monitoring()
    still_failing(w)
    w.at(17)
    _pause(w, SERVICE)
    w.at(18)
    [held], lines = _lines(lambda: w.command({"command": "sweep"}))
    assert held.status is ESCALATED and "the undo did not happen" in held.reason, held.reason
    _told(held, lines, Held.PAUSED)


def test_a_duplicate_delivery_names_the_claim_that_held_it():
    """Another message of the incident after its write: a duplicate, held by the incident's claim. Before, it named
    no hold when answered from the incident's settled record (Pipeline.answer_duplicate), and `claim_held` only
    when the race was met inside the gate: what a subscriber filtering on `held` saw depended on timing."""
    w = _world("bad_revision")
    applied, _ = _lines(lambda: w.handle(w.alert(message_id="m-1")))
    assert applied.status is APPLIED, applied.reason
    again, lines = _lines(lambda: w.handle(w.alert(message_id="m-2")))
    assert again.status is SKIPPED and again.reason.startswith("duplicate"), again.reason
    assert again.held is Held.CLAIM_HELD and again.attributes()["held"] == Held.CLAIM_HELD.value


def test_a_write_sent_names_no_hold():
    w = _world("bad_revision")
    applied, lines = _lines(lambda: w.handle(w.alert()))
    assert applied.status is APPLIED and applied.held is None, applied.reason
    assert "held" not in json.loads(applied.to_json()) or json.loads(applied.to_json())["held"] is None
    assert "held" not in applied.attributes()
    assert not any("held" in line["runwarden"] for line in lines), lines
    assert all(_row(line).held is None for line in lines if line["runwarden"]["step"] == "applied")


def _body(**fields) -> bytes:
    outcome = Outcome(status=SKIPPED, reason="cooldown: ...", timestamps=Timestamps(received_at=T), **fields)
    body = json.loads(outcome.to_json())
    return body


@pytest.mark.parametrize("held, read", [(None, None), ("cooldown", Held.COOLDOWN), ("budget", Held.BUDGET),
                                        ("a_hold_added_later", None)],
                         ids=["published before the field", "a cooldown", "a budget", "a hold unknown here"])
def test_an_outcome_reads_with_or_without_its_hold(held, read):
    body = _body()
    body.pop("held", None)
    if held is not None:
        body["held"] = held
    outcome = Outcome.model_validate_json(json.dumps(body))
    assert outcome.held is read and outcome.reason == "cooldown: ..."
    assert ("held" in outcome.attributes()) is (read is not None)
