"""What the timeline reads back of steps the product writes since its newest verdicts and answers: an
action left unjudged because a later action of Runwarden's own shaped its minutes
(`judging.later_own_writes`), a log-based incident resolved after its action's verdict, a command rejected
before it took an incident (a malformed target, a replay after its record lapsed). The lines are written by the product's own step
writer (shared/timeline/writer.Timeline) and lifted into entries as Cloud Run's agent does
(`time`, `logging.googleapis.com/labels`, the rest as `jsonPayload`); the builder reads them from an
in-memory answer, no Logging call."""
from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from shared.remediation.judging import LATER_OWN_WRITES
from shared.remediation.records import ActionState, claim_key
from shared.remediation.verification import step_on_record
from shared.timeline.builder import build_timeline
from shared.timeline.entries import EntryPage, LoggedEntry
from shared.timeline.writer import Timeline

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
INCIDENT = "0.ownwrites"
PROJECT = "demo-project"
SERVICE = f"projects/{PROJECT}/locations/us-central1/services/backend"
CONNECTOR = f"projects/{PROJECT}/locations/us-central1/connectors/run-conn"
RESOURCE = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
ROLLBACK = {"action": "rollback_traffic", "params": {"target": SERVICE, "to_revision": "backend-00001-abc"}}
SCALE = {"action": "scale_connector", "params": {"target": CONNECTOR, "min_instances": 3, "max_instances": 6}}
KEY_A, KEY_B = claim_key(INCIDENT, SERVICE, "rollback_traffic"), claim_key(INCIDENT, CONNECTOR, "scale_connector")
LATER = (f"{KEY_A}: healthy: 5xx share 0.00% under 2.00% since the action settled; but {LATER_OWN_WRITES} after it: "
         "scale_connector on run-conn at 12:04:00 (incident 0.ownwrites, verified): the minutes since are both "
         "changes' doing, so they neither verify this action nor show it failing")


def lines(spec: list[tuple[float, str, str, str, dict]]) -> list[LoggedEntry]:
    """(minute, trigger, step, message, details) written by the product's step writer, each line lifted
    into an entry as the logging agent lifts it, at the scenario's minute. Trigger `sweep`: the sweep's
    own line on an action record (verification.step_on_record, details `action`, `key`, `left`)."""
    out = []
    for n, (minute, trigger, step, message, details) in enumerate(spec):
        stream = io.StringIO()
        if trigger == "sweep":
            with contextlib.redirect_stdout(stream):
                step_on_record(INCIDENT, step, message, **details)
        else:
            Timeline(INCIDENT, trigger, stream=stream).step(step, message, **details)
        line = json.loads(stream.getvalue())
        at = T0 + timedelta(minutes=minute)
        out.append(LoggedEntry(insert_id=f"{n:04d}", timestamp=at, receive_timestamp=at + timedelta(seconds=1),
                               log_id="run.googleapis.com/stdout", severity=line["severity"],
                               labels=line["logging.googleapis.com/labels"],
                               json_payload={k: v for k, v in line.items() if k not in ("time", "severity")},
                               text=line["message"]))
    return out


class Pages:
    def __init__(self, steps: list[LoggedEntry]) -> None:
        self.steps = steps

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if f'runwarden_incident="{INCIDENT}"' in filter and "NOT" not in filter.split("runwarden_incident")[0][-5:]:
            ordered = sorted(self.steps, key=lambda e: e.timestamp)
            return EntryPage(entries=tuple(ordered if order_by.endswith("asc") else reversed(ordered)))
        return EntryPage()


OPENED = [(0.2, "alert", "received", "alert 0.ownwrites (open)", {"resource": RESOURCE, "state": "open",
                                                                   "started_at": int(T0.timestamp())})]


def write(minute: float, plan: dict) -> list[tuple[float, str, str, str, dict]]:
    """One decision of the alert path, in the words the pipeline writes for each action."""
    name = plan["params"]["target"].rsplit("/", 1)[-1]
    said = {"rollback_traffic": ("bad_revision (confidence 0.90): errors began with backend-00002-xyz",
                                 "traffic of backend moved to backend-00001-abc (100%)"),
            "scale_connector": (f"connector_saturation (confidence 0.85): {name} at its max instances",
                                f"connector {name} scaled to min 3, max 6 instances")}[plan["action"]]
    return [(minute - 0.4, "alert", "diagnosed", said[0], {}),
            (minute - 0.3, "alert", "planned", f"{plan['action']} {plan['params']['target']}", plan),
            (minute - 0.2, "alert", "claimed", f"claimed {plan['action']} on {plan['params']['target']}", {}),
            (minute, "alert", "applied", said[1], {"status": "applied"})]


def verdict(minute: float, status: str, key: str, action: str, reason: str = "") -> tuple:
    """The sweep's verdict on an action record: it leaves the record `status` (verified, undone, escalated)."""
    return (minute, "sweep", status, reason or f"{key}: {status}", {"action": action, "key": key,
                                                                     "left": ActionState(status)})


def unreadable(minute: float, key: str, action: str) -> tuple:
    """The sweep's escalation of a pending action whose evidence no sweep could read past its deadline
    (verification.Sweep._unreadable): the record is kept pending, and judged by a later sweep."""
    reason = (f"{action} on {SERVICE} could not be judged: no sweep since its deadline (12:12:00) could read its "
              "evidence, now 11 min past it (more than the verification period of 10 min). The last read failed: "
              "Monitoring unavailable. It is kept as it is, neither verified nor undone; the sweep keeps reading, "
              "and says so if it can judge it later. A person must look at backend and at why the read fails")
    return (minute, "sweep", "escalated", reason, {"action": action, "key": key, "left": ActionState.PENDING})


def escalated_alert(minute: float) -> tuple:
    """A later notification of the incident escalated by the alert path for a reason of its own, as the
    pipeline writes its decision (`_AlertRun.stepped`): no action record judged."""
    return (minute, "alert", "escalated", "no managed service read uses projects/demo-project/locations/us-central1/"
            "connectors/run-conn, but 1 managed service(s) could not be read (worker: PERMISSION_DENIED): one of them "
            "may be behind it, so nothing was diagnosed or done; a person must look at it",
            {"severity": "WARNING", "status": "escalated", "after": None})


@pytest.mark.parametrize("name, spec, mitigated_at", [
    # The rollback at +2, the connector's scale-up at +4 while it was pending; the scale-up verified at +10 on
    # minutes the rollback shaped as much, the rollback escalated at its deadline naming the scale-up.
    ("two overlapping writes, both verdicts in", OPENED + write(2, ROLLBACK) + write(4, SCALE) + [
        verdict(10, "verified", KEY_B, "scale_connector"),
        verdict(17, "escalated", KEY_A, "rollback_traffic", LATER)], None),
    # The timeline built before the rollback's deadline: the scale-up's `verified` alone is no more its fix.
    ("the later write verified, the earlier not judged yet", OPENED + write(2, ROLLBACK) + write(4, SCALE) + [
        verdict(10, "verified", KEY_B, "scale_connector")], None),
    # The rollback's escalation names a later write under another incident (an operator's command): no
    # write of this incident is the mitigation, as before.
    ("the later write under another incident", OPENED + write(2, ROLLBACK) + [
        verdict(17, "escalated", KEY_A, "rollback_traffic", LATER)], None),
    # An escalation that is no verdict on the rollback does not end its unjudged span: the alert path escalating
    # another notification of the incident for a reason of its own, between the two writes ...
    ("an alert escalated between the writes", OPENED + write(2, ROLLBACK) + [escalated_alert(3)] + write(4, SCALE) + [
        verdict(10, "verified", KEY_B, "scale_connector")], None),
    # ... the sweep telling that the rollback's evidence could not be read past its deadline (kept pending) ...
    ("the rollback's reads failed, it is kept pending", OPENED + write(2, ROLLBACK) + [
        unreadable(23, KEY_A, "rollback_traffic")] + write(25, SCALE) + [
        verdict(33, "verified", KEY_B, "scale_connector"),
        verdict(36, "escalated", KEY_A, "rollback_traffic", LATER)], None),
    # ... or a verdict on another action of the incident (a scale-up judged before the rollback).
    ("a verdict on another write", OPENED + write(1, SCALE) + write(2, ROLLBACK) + [
        verdict(8, "escalated", KEY_B, "scale_connector", f"{KEY_B}: not healthy by its deadline")]
        + write(9, dict(SCALE, params=dict(SCALE["params"], target=CONNECTOR + "-b")))
        + [verdict(15, "verified", claim_key(INCIDENT, CONNECTOR + "-b", "scale_connector"), "scale_connector")],
     None),
    # Each row's time is the clock of the instance that wrote it, and two instances' clocks may differ by up to
    # the clock-skew allowance (5 min, shared/clock.py): a verdict and a write dated within it of each other
    # cannot be ordered, so the write may have been made while the earlier one was still unjudged. The
    # rollback verified at +12 by a sweeper, the scale-up at +13 by an alert path whose clock runs 3 minutes
    # ahead (made at +10, while the rollback was pending): neither is the mitigation ...
    ("the earlier write verified a minute before the later one, by other clocks", OPENED + write(2, ROLLBACK) + [
        verdict(12, "verified", KEY_A, "rollback_traffic")] + write(13, SCALE) + [
        verdict(21, "verified", KEY_B, "scale_connector")], None),
    ("the earlier write escalated 4 minutes before the later one, by other clocks", OPENED + write(2, ROLLBACK) + [
        verdict(12, "escalated", KEY_A, "rollback_traffic", f"{KEY_A}: not healthy by its deadline")]
        + write(16, SCALE) + [verdict(24, "verified", KEY_B, "scale_connector")], None),
    ("the earlier write undone 5 minutes before the later one, by other clocks", OPENED + write(2, ROLLBACK) + [
        verdict(12, "undone", KEY_A, "rollback_traffic", f"{KEY_A}: still failing at its deadline")]
        + write(17, SCALE) + [verdict(25, "verified", KEY_B, "scale_connector")], None),
    # ... nor is a write whose later neighbour is dated less than the allowance after its verdict.
    ("a verified write, the next write 3 minutes after its verdict", OPENED + write(2, ROLLBACK) + [
        verdict(9, "verified", KEY_A, "rollback_traffic")] + write(12, SCALE), None),
    # Controls: one write, verified; two writes, the second after the first's verdict by more than the allowance.
    ("one write, verified", OPENED + write(2, ROLLBACK) + [verdict(9, "verified", KEY_A, "rollback_traffic")], 2),
    ("a second write after the first was judged", OPENED + write(2, ROLLBACK) + [
        verdict(12, "escalated", KEY_A, "rollback_traffic", f"{KEY_A}: not healthy by its deadline")]
        + write(18, SCALE) + [verdict(26, "verified", KEY_B, "scale_connector")], 18),
    ("a verified write, the next write 6 minutes after its verdict", OPENED + write(2, ROLLBACK) + [
        verdict(9, "verified", KEY_A, "rollback_traffic")] + write(15, SCALE), 2),
])
def test_a_write_made_while_another_of_runwardens_was_unjudged_is_not_the_mitigation(name, spec, mitigated_at):
    timeline = build_timeline(INCIDENT, PROJECT, Pages(lines(spec)), T0 + timedelta(hours=1))

    m = timeline.milestones.mitigation
    assert (m.at if m else None) == (T0 + timedelta(minutes=mitigated_at) if mitigated_at is not None else None), m
    applied = [T0 + timedelta(minutes=s[0]) for s in spec if s[2] == "applied"]
    if mitigated_at is None and len(applied) == 2:
        assert any("both" in n and f"{applied[1]:%H:%M:%S}Z" in n and "not counted as the mitigation" in n
                   for n in timeline.notes), timeline.notes
    escalation = [e for e in timeline.entries if e.kind == "escalated"]
    assert all(e.source.value == "runwarden" for e in escalation)


def test_a_log_based_incident_resolved_after_its_actions_verdict_is_no_recovery():
    """The sweep closes a log-based incident after its timeout and after its rollback's verdict
    (escalated): the `resolved` that follows is shown in order after the verdict, and neither is a
    recovery nor a mitigation (a log match's fix is never verified on clean requests alone)."""
    spec = OPENED + write(2, ROLLBACK) + [
        verdict(18, "escalated", KEY_A, "rollback_traffic", f"{KEY_A}: a log match's fix is not verified"),
        (18.1, "command", "resolved", "log-based incident closed by Runwarden after timeout, and after the verdict "
                                      "on its action (escalated): log-based alert policies never send a CLOSED "
                                      "notification", {})]
    timeline = build_timeline(INCIDENT, PROJECT, Pages(lines(spec)), T0 + timedelta(hours=1))

    kinds = [e.kind for e in timeline.entries if e.source.value == "runwarden"]
    assert kinds.index("escalated") < kinds.index("resolved"), kinds
    assert timeline.milestones.mitigation is None and timeline.milestones.recovery is None, timeline.milestones


def _malformed_target_rejection() -> str:
    """The words the commands function writes for a pause whose target Google never writes (a trailing
    space pasted with it): the product's own parser's error, in `_reject_malformed`'s form."""
    import base64

    from shared.alerts.commands import CommandError, parse_command_published

    body = {"command": "pause", "command_id": "pz-7", "requested_by": "alice@example.com", "reason": "db maintenance",
            "target": "projects/demo-project/locations/us-central1/connectors/run-conn "}
    event = {"message": {"data": base64.b64encode(json.dumps(body).encode()).decode(), "messageId": "m-7",
                         "publishTime": "2026-11-26T12:00:00Z"}, "subscription": "projects/p/subscriptions/s"}
    with pytest.raises(CommandError) as raised:
        parse_command_published(event)
    return f"malformed command rejected: {raised.value}"


LAPSED = ("publish_time: the command was sent at 2026-10-20T09:00:00+00:00 and arrived at 2026-11-26T12:00:00+00:00, "
          "37 days later: longer than a command's record is kept (30 days), so whether it already ran cannot be told; "
          "it was not run, nothing done (a subscription replayed by seek, or a backlog kept past that). Send it again "
          "with a new command_id if it is still wanted")


@pytest.mark.parametrize("command_id, spec, said", [
    # A pause whose target carries a trailing space: rejected before it is read, no `received` step.
    ("pz-7", lambda: [(0, "rejected", _malformed_target_rejection(), {"field": "target", "message_id": "m-7"})],
     "rejected: malformed command rejected: command.target: holds a space"),
    # A pause replayed by a seek 37 days after it was sent: received, then rejected, nothing done.
    ("pz-8", lambda: [(0, "received", "command pause from alice@example.com", {"command": "pause"}),
                      (0.1, "rejected", LAPSED, {"status": "rejected"})],
     "rejected: publish_time: the command was sent at 2026-10-20"),
])
def test_a_rejected_commands_timeline_answer_says_it_was_rejected_and_why(command_id, spec, said):
    """`runwarden timeline command:ID` for a command rejected before it took an incident: its steps carry
    the command id and no incident, so the answer is "not found" with where its steps are; it now also
    quotes the command's outcome, which the sender waiting on that id was told nothing else of."""
    from shared.commands.context import CommandTimeline
    from shared.timeline.builder import UnknownIncident

    entries = []
    for n, (minute, step, message, details) in enumerate(spec()):
        stream = io.StringIO()
        timeline = CommandTimeline(None, command_id)
        timeline._stream = stream
        timeline.step(step, message, severity="ERROR" if step == "rejected" else "INFO", **details)
        line = json.loads(stream.getvalue())
        at = T0 + timedelta(minutes=minute)
        entries.append(LoggedEntry(insert_id=f"c{n}", timestamp=at, log_id="run.googleapis.com/stdout",
                                   severity=line["severity"], labels=line["logging.googleapis.com/labels"],
                                   json_payload={k: v for k, v in line.items() if k not in ("time", "severity")},
                                   text=line["message"]))

    class CommandPages:
        def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
            found = "jsonPayload.runwarden.command_id" in filter
            return EntryPage(entries=tuple(entries) if found else ())

    with pytest.raises(UnknownIncident) as raised:
        build_timeline(f"command:{command_id}", PROJECT, CommandPages(), T0 + timedelta(hours=1))
    message = str(raised.value)
    assert f"command {command_id}" in message and "has steps, under no incident" in message, message
    assert f"its last outcome, {said}" in message, message
