"""Pure pieces of operators' commands: the gate's manual path (override, pause, proposals, pins),
the notify line, proposed outcomes, traffic tags and release commands, config errors with lines."""
from __future__ import annotations

import io
import json
from datetime import timedelta

from shared.clock import FixedClock
from shared.config import config_errors
from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.outcomes import ActionReport, Outcome, OutcomeStatus, Timestamps, notify
from shared.remediation.actions import get_action
from shared.remediation.actions.rollback_traffic import release_commands, traffic_changes, with_tags
from shared.remediation.actions.scale_connector import ScaleConnectorParams
from shared.remediation.guardrails import Gate, Manual, pause_key
from shared.remediation.records import FLAGS, PINS, PROPOSALS
from shared.timeline.writer import Timeline
from tests.unit.builders import SERVICE, T0
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import bad_revision_plan, config, run_gate

NOW = T0 + timedelta(minutes=2)
CONNECTOR = "projects/demo/locations/us-central1/connectors/conn"


def test_an_override_skips_cooldown_and_budgets_and_says_so():
    state = MemoryStateStore()
    cfg = config(guardrails__max_actions_per_target_per_hour=1)
    run_gate(cfg, state=state, incident="inc-1")
    proposal, b = bad_revision_plan()
    gate = Gate(cfg, state, FixedClock(NOW), owner="attempt-2")
    held = gate.execute(get_action("rollback_traffic"), proposal.params, proposal.before, "command:c2",
                        Adapters(RecordingRun(b.service)), manual=Manual("c2", "alice"))
    assert held.status is OutcomeStatus.SKIPPED and "cooldown" in held.reason

    done = gate.execute(get_action("rollback_traffic"), proposal.params, proposal.before, "command:c3",
                        Adapters(RecordingRun(b.service)), manual=Manual("c3", "alice", override_limits=True))
    assert done.status is OutcomeStatus.APPLIED and done.overrides == ["cooldown", "budgets"]
    assert any("override_limits by alice (command c3)" in n for n in done.notes)


def test_a_paused_target_is_not_written_and_other_targets_are():
    state = MemoryStateStore()
    state.put_record(FLAGS, pause_key(SERVICE), {"engaged": True, "by": "bob", "reason": "freeze"})
    result, _, run = run_gate(config(), state=state)
    assert result.status is OutcomeStatus.SKIPPED and "paused by bob" in result.reason and run.writes == []
    state.put_record(FLAGS, pause_key("projects/demo/locations/us-central1/services/other"), {"engaged": True})
    state.put_record(FLAGS, pause_key(SERVICE), {"engaged": False})
    assert run_gate(config(), state=state)[0].status is OutcomeStatus.APPLIED


def test_a_rollback_records_the_pin():
    _, state, _ = run_gate(config())
    pin = state.get_record(PINS, SERVICE)
    assert pin["pinned"] and pin["revision"] == "backend-00001-abc"


def scale(before_max=3, machine="e2-standard-4"):
    return ScaleConnectorParams(target=CONNECTOR, from_min_instances=2, from_max_instances=before_max,
                                from_machine_type="e2-micro", min_instances=2, max_instances=before_max,
                                machine_type=machine, reason="CPU-bound e2-micro")


def test_a_proposal_gets_one_record_with_an_id_and_an_expiry():
    state = MemoryStateStore()
    gate = Gate(config(), state, FixedClock(NOW), owner="a")
    before = {"connector": {"name": CONNECTOR, "machine_type": "e2-micro"}}
    first = gate.execute(get_action("scale_connector"), scale(), before, "inc-9", Adapters(None))
    again = gate.execute(get_action("scale_connector"), scale(), before, "inc-9", Adapters(None))
    assert first.status is OutcomeStatus.PROPOSED and first.proposal.proposal_id == again.proposal.proposal_id
    record = state.get_record(PROPOSALS, first.proposal.proposal_id)
    assert record["state"] == "open" and record["expires_at"] == NOW + timedelta(hours=4)
    assert any(first.proposal.proposal_id in n and "runwarden approve" in n for n in first.notes)

    state.update_record(PROPOSALS, first.proposal.proposal_id, {"state": "rejected"})
    closed = gate.execute(get_action("scale_connector"), scale(), before, "inc-9", Adapters(None))
    assert closed.status is OutcomeStatus.SKIPPED and "already rejected" in closed.reason


def test_a_proposed_outcome_carries_the_change_as_proposed_change_not_after():
    outcome = Outcome(status=OutcomeStatus.PROPOSED, action=ActionReport(name="scale_connector", after={"x": 1}),
                      timestamps=Timestamps(received_at=NOW))
    assert outcome.action.after is None and outcome.action.proposed_change == {"x": 1}
    applied = Outcome(status=OutcomeStatus.APPLIED, action=ActionReport(name="scale_connector", after={"x": 1}),
                      timestamps=Timestamps(received_at=NOW))
    assert applied.action.after == {"x": 1} and applied.action.proposed_change is None


def notify_line(status: OutcomeStatus, incident: str | None = "inc-1", trigger: str = "alert") -> dict | None:
    stream = io.StringIO()
    outcome = Outcome(incident_id=incident, target=SERVICE, status=status, reason="why", trigger=trigger,
                      timestamps=Timestamps(received_at=NOW))
    written = notify(outcome, Timeline(incident, stream=stream))
    assert written == bool(stream.getvalue())
    return json.loads(stream.getvalue()) if written else None


def test_every_outcome_that_needs_a_person_is_a_notify_line():
    needs = {OutcomeStatus.ESCALATED: "WARNING", OutcomeStatus.PROPOSED: "WARNING", OutcomeStatus.REMINDER: "WARNING",
             OutcomeStatus.FAILED: "ERROR", OutcomeStatus.UNDONE: "ERROR"}
    for trigger in ("alert", "command"):
        severities = {s: (notify_line(s, trigger=trigger) or {}).get("severity") for s in OutcomeStatus}
        # A rejected alert (malformed, or a policy to fix) is heard; a rejected command's sender reads its answer.
        rejected = {OutcomeStatus.REJECTED: "WARNING"} if trigger == "alert" else {}
        assert severities == {**{s: None for s in OutcomeStatus}, **needs, **rejected}, trigger
    line = notify_line(OutcomeStatus.FAILED)
    assert line["logging.googleapis.com/labels"] == {"runwarden_step": "notify", "runwarden_status": "failed",
                                                      "runwarden_incident": "inc-1", "runwarden_trigger": "alert"}
    assert SERVICE in line["message"] and "failed" in line["message"] and "why" in line["message"]
    assert "runwarden_incident" not in notify_line(OutcomeStatus.REMINDER, None)["logging.googleapis.com/labels"]


def test_tags_are_kept_at_zero_and_changes_are_listed():
    canary = TrafficTarget(type=TrafficType.REVISION, revision="b-2", percent=0, tag="canary")
    stable = TrafficTarget(type=TrafficType.REVISION, revision="b-1", percent=0, tag="stable")
    new = with_tags([TrafficTarget(type=TrafficType.REVISION, revision="b-1", percent=100)], (canary, stable))
    assert {(t.revision, t.tag, t.percent) for t in new} == {("b-1", "stable", 100), ("b-2", "canary", 0)}
    before = {"traffic": [{"revision": "b-2", "percent": 100}, {"revision": "b-2", "tag": "canary", "percent": 0}]}
    after = {"traffic": [t.model_dump(mode="json") for t in new]}
    assert traffic_changes(before, after) == ["b-1 (tag stable): absent -> 100%", "b-2: 100% -> absent"]


def test_the_release_commands_name_region_and_project():
    gcloud, runwarden = release_commands("projects/p1/locations/europe-west1/services/api")
    assert gcloud == "gcloud run services update-traffic api --to-latest --region=europe-west1 --project=p1"
    assert runwarden.startswith("runwarden command restore_traffic --target projects/p1/locations/europe-west1/"
                                "services/api --param to_latest=true")


def test_check_config_reports_every_error_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("project: p\noutcomes_topic: nope\nguardrails:\n  cooldown_seconds: -1\n  colour: red\n"
                    "operators: alice\n")
    errors = config_errors(path)
    assert [e.split(": ")[0] for e in errors] == [f"{path}:2", f"{path}:4", f"{path}:5", f"{path}:6"]
    assert "guardrails.colour" in errors[2]
    path.write_text("project: p\noutcomes_topic: projects/p/topics/outcomes\n")
    assert config_errors(path) == []
    path.write_text("project: [unclosed\n")
    [error] = config_errors(path)
    assert "not valid YAML" in error


def test_a_commands_write_is_preceded_by_its_intent_and_a_claim_its_earlier_attempt_left_is_waited_out():
    """shared/commands/recovery.py: the gate stores an operator command's intent, keyed by its
    command_id, before the write. A later attempt at the same command that meets the gate claim an
    earlier attempt left held (its give-back failed) waits it out (InProgress), rather than answering
    a duplicate of a write that was never made; another command's claim is not waited for."""
    import pytest

    from shared.commands.context import command_attempts, command_owner
    from shared.remediation.guardrails import CLAIMS, InProgress, claim_key, command_incident
    from shared.remediation.records import INTENTS, IntentRecord, command_intent_key

    state, cfg = MemoryStateStore(), config()
    proposal, b = bad_revision_plan()
    action, incident = get_action("rollback_traffic"), command_incident("c9")

    def gate(message: str) -> Gate:
        return Gate(cfg, state, FixedClock(NOW), owner=command_owner("c9", message), message_id=command_attempts("c9"))

    first = gate("m1")
    state.claim(CLAIMS, claim_key(incident, SERVICE, action.name), first.owner, timedelta(minutes=10), NOW)
    with pytest.raises(InProgress):
        gate("m2").execute(action, proposal.params, proposal.before, incident, Adapters(RecordingRun(b.service)),
                           manual=Manual("c9", "alice"))
    intent = IntentRecord.model_validate(state.get_record(INTENTS, command_intent_key("c9")))
    assert (intent.command_id, intent.requested_by, intent.claim_key) == ("c9", "alice",
                                                                          claim_key(incident, SERVICE, action.name))

    other = Gate(cfg, state, FixedClock(NOW), owner=command_owner("c10", "m3"), message_id=command_attempts("c10"))
    duplicate = other.execute(action, proposal.params, proposal.before, incident, Adapters(RecordingRun(b.service)),
                              manual=Manual("c10", "alice"))
    assert duplicate.status is OutcomeStatus.SKIPPED and duplicate.reason.startswith("duplicate"), duplicate.reason
