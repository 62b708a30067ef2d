"""The sweep's verdict on a write is the verdict on the action record that write made, matched by its key:
a verification or an undo of another record of the incident says nothing of it, and every path that
writes (the alert path, an operator's command, an approved proposal) names the record on its `applied`
line, so an approved write is judged like an automatic one.

Every line is written by the product's own writers: the alert path's decision by `_AlertRun.stepped`, an
operator's command's by `CommandRun.stepped` (over a `CommandTimeline`), the sweep's verdicts by
`verification.step_on_record`, the rest by the step writer (`Timeline.step`) with the details the product
passes; each is lifted into an entry as Cloud Run's logging agent lifts it. The alert path and the commands
are separate functions (infra/locals.tf: `on_alert`, `on_command`; the sweep runs in `on_command`), so their
lines carry different writers. The builder reads them from an in-memory answer: no Logging call."""
from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest

from shared.alerts.commands import Approve, RollbackTraffic
from shared.commands.context import CommandRun, CommandTimeline
from shared.outcomes import ActionReport, Outcome, OutcomeStatus, Timestamps
from shared.pipeline import _AlertRun
from shared.remediation.guardrails import command_incident
from shared.remediation.records import ActionState, claim_key
from shared.remediation.verification import step_on_record
from shared.timeline.builder import build_timeline
from shared.timeline.entries import EntryPage, LoggedEntry
from shared.timeline.writer import Timeline

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
INCIDENT = "0.verdictkeys"
PROJECT = "demo-project"
SERVICE = f"projects/{PROJECT}/locations/us-central1/services/backend"
CONNECTOR = f"projects/{PROJECT}/locations/us-central1/connectors/run-conn"
RESOURCE = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
ROLLBACK = ("rollback_traffic", {"target": SERVICE, "to_revision": "backend-00001-abc"})
SCALE = ("scale_connector", {"target": CONNECTOR, "min_instances": 3, "max_instances": 6})
KEY_R, KEY_S = claim_key(INCIDENT, SERVICE, "rollback_traffic"), claim_key(INCIDENT, CONNECTOR, "scale_connector")
OPERATOR = "oncall@example.com"

Line = tuple[float, str, Callable[[], None]]    # (minute, the process that wrote it, the write)


def entries(spec: list[Line]) -> list[LoggedEntry]:
    out = []
    for n, (minute, process, write) in enumerate(spec):
        stream = io.StringIO()
        with contextlib.redirect_stdout(stream):
            write()
        for text in stream.getvalue().splitlines():
            line = json.loads(text)
            line["runwarden"]["writer"] = process
            at = T0 + timedelta(minutes=minute)
            out.append(LoggedEntry(insert_id=f"{n:04d}-{len(out)}", timestamp=at,
                                   receive_timestamp=at + timedelta(seconds=1), log_id="run.googleapis.com/stdout",
                                   severity=line["severity"], labels=line["logging.googleapis.com/labels"],
                                   json_payload={k: v for k, v in line.items() if k not in ("time", "severity")},
                                   text=line["message"]))
    return out


class Pages:
    def __init__(self, incident: str, steps: list[LoggedEntry]) -> None:
        self.incident, self.steps = incident, steps

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if f'runwarden_incident="{self.incident}"' in filter and "NOT" not in filter.split("runwarden_incident")[0][-5:]:
            ordered = sorted(self.steps, key=lambda e: e.timestamp)
            return EntryPage(entries=tuple(ordered if order_by.endswith("asc") else reversed(ordered)))
        return EntryPage()


def built(spec: list[Line], incident: str = INCIDENT):
    return build_timeline(incident, PROJECT, Pages(incident, entries(spec)), T0 + timedelta(hours=1))


def _outcome(status: OutcomeStatus, reason: str, plan: tuple, key: str | None, *, incident: str = INCIDENT,
             overrides: tuple[str, ...] = ()) -> Outcome:
    action, params = plan
    return Outcome(incident_id=incident, status=status, reason=reason, target=params["target"],
                   action=ActionReport(name=action, params=params, action_id=key, overrides=list(overrides),
                                       after={"done": True} if status is OutcomeStatus.APPLIED else None),
                   timestamps=Timestamps(received_at=T0))


def _alert_run() -> _AlertRun:
    return _AlertRun(incident=None, message_id="m-1", config=None, adapters=None,
                     timeline=Timeline(INCIDENT, "alert"), received_at=T0)


OPENED: list[Line] = [(0.2, "on_alert", lambda: Timeline(INCIDENT, "alert").step(
    "received", "alert 0.verdictkeys (open)", resource=RESOURCE, state="open", started_at=int(T0.timestamp())))]


def _attempt(minute: float, plan: tuple) -> list[Line]:
    """The alert path's lines before its decision (shared/pipeline.py `act`, the gate's `claimed`)."""
    action, params = plan
    timeline = Timeline(INCIDENT, "alert")
    return [(minute - 0.3, "on_alert", lambda: timeline.step("planned", f"{action} for the alert", action=action,
                                                             params=params)),
            (minute - 0.2, "on_alert", lambda: timeline.step("claimed", f"claimed {claim_key(INCIDENT, params['target'], action)}"))]


def alert_write(minute: float, plan: tuple) -> list[Line]:
    key = claim_key(INCIDENT, plan[1]["target"], plan[0])
    return _attempt(minute, plan) + [(minute, "on_alert", lambda: _alert_run().stepped(
        _outcome(OutcomeStatus.APPLIED, f"{plan[0]} applied", plan, key)))]


def alert_proposal(minute: float, plan: tuple) -> list[Line]:
    return _attempt(minute, plan) + [(minute, "on_alert", lambda: _alert_run().stepped(
        _outcome(OutcomeStatus.PROPOSED, f"{plan[0]} needs approval", plan, None)))]


def approve_write(minute: float, plan: tuple, *, keyed: bool = True, override: bool = False,
                  process: str = "on_command") -> list[Line]:
    """An operator's approve of the incident's proposal (shared/commands/approval.py): its `approved` line,
    then its decision. `keyed=False`: the decision as a version before the record's key was written on it
    (its outcome names no action id). `process`: the writer, when it is the one of earlier lines (a local
    run serving alerts and commands in one process)."""
    command = Approve(command="approve", command_id="appr-1", requested_by=OPERATOR, reason="go",
                      params={"proposal_id": "p-0123456789ab"}, override_limits=override)
    run = CommandRun(command=command, config=None, adapters=None, timeline=CommandTimeline(INCIDENT, "appr-1"),
                     received_at=T0)
    key = claim_key(INCIDENT, plan[1]["target"], plan[0]) if keyed else None
    return [(minute - 0.1, process, lambda: run.timeline.step(
                "approved", f"p-0123456789ab ({plan[0]} on {plan[1]['target']}) approved by {OPERATOR}: go",
                proposal_id="p-0123456789ab", **({"override": True} if override else {}))),
            (minute, process, lambda: run.stepped(_outcome(
                OutcomeStatus.APPLIED, f"{plan[0]} applied", plan, key,
                overrides=("cooldown",) if override else ())))]


def verdict(minute: float, status: str, key: str, action: str) -> Line:
    return (minute, "on_command", lambda: step_on_record(INCIDENT, status, f"{key}: {status}", action=action,
                                                         key=key, left=ActionState(status)))


def mitigated(timeline) -> float | None:
    m = timeline.milestones.mitigation
    return None if m is None else (m.at - T0).total_seconds() / 60


@pytest.mark.parametrize("name, spec, mitigated_at, said", [
    # The connector's scale-up verified after an approved rollback landed: the verification is the
    # scale-up's, not the rollback's, and the minutes it was judged on are both writes' doing.
    ("an earlier write verified after a later one landed",
     OPENED + alert_write(2, SCALE) + approve_write(4, ROLLBACK) + [verdict(10, "verified", KEY_S, "scale_connector")],
     None, ["12:04:00Z (rollback_traffic applied) has no verification",
            "12:02:00Z (scale_connector applied) was verified, but its write at 12:04:00Z"]),
    # The scale-up not healthy by its deadline (escalated); an operator's approve with override_limits rolled
    # back, verified: the rollback is the mitigation, not the escalated scale-up. (Each later write comes more
    # than the 5-minute clock-skew allowance after the verdict before it: one dated nearer cannot be ordered
    # with it, test_timeline_own_writes.)
    ("an escalated write, then an override approve verified",
     OPENED + alert_write(2, SCALE) + [verdict(12, "escalated", KEY_S, "scale_connector")]
     + approve_write(18, ROLLBACK, override=True) + [verdict(26, "verified", KEY_R, "rollback_traffic")],
     18, ["12:02:00Z (scale_connector applied) has no verification"]),
    # An approved rollback not healthy by its deadline, then the connector's scale-up, verified: the approved
    # write was judged (its record named on its line), so the scale-up is the mitigation.
    ("an approved write judged, then a later write verified",
     OPENED + alert_proposal(1, ROLLBACK) + approve_write(5, ROLLBACK)
     + [verdict(12, "escalated", KEY_R, "rollback_traffic")] + alert_write(18, SCALE)
     + [verdict(26, "verified", KEY_S, "scale_connector")],
     18, ["12:05:00Z (rollback_traffic applied) has no verification"]),
    # An approved write verified: judged like an automatic one.
    ("an approved write verified",
     OPENED + alert_proposal(1, ROLLBACK) + approve_write(5, ROLLBACK) + [verdict(12, "verified", KEY_R, "rollback_traffic")],
     5, []),
    # An approve's line of an earlier version names no record, and its writer wrote no `planned` line: the
    # `verified` after it cannot be tied to it, so it is not credited (said).
    ("an earlier version's approved write",
     OPENED + alert_proposal(1, ROLLBACK) + approve_write(5, ROLLBACK, keyed=False)
     + [verdict(12, "verified", KEY_R, "rollback_traffic")],
     None, ["12:05:00Z (rollback_traffic applied) names no action record"]),
    # ... and in the process that wrote the scale-up's lines: that write's `planned` line is not its plan.
    ("an earlier version's approve in the process of an earlier write",
     OPENED + alert_write(2, SCALE) + approve_write(4, ROLLBACK, keyed=False, process="on_alert")
     + [verdict(10, "verified", KEY_S, "scale_connector")],
     None, ["12:04:00Z (rollback_traffic applied) names no action record",
            "12:02:00Z (scale_connector applied) was verified, but its write at 12:04:00Z"]),
    # Controls: the alert path's write verified; its write undone (the undo is the sweep's verdict, no write
    # needing a record of its own).
    ("one write, verified", OPENED + alert_write(2, ROLLBACK) + [verdict(9, "verified", KEY_R, "rollback_traffic")],
     2, []),
    ("one write, undone", OPENED + alert_write(2, ROLLBACK) + [verdict(12, "undone", KEY_R, "rollback_traffic")],
     None, []),
])
def test_a_verdict_counts_only_for_the_write_whose_record_it_judged(name, spec, mitigated_at, said):
    timeline = built(spec)

    assert mitigated(timeline) == mitigated_at, (name, timeline.milestones.mitigation)
    writes = [n for n in timeline.notes if n.startswith("Runwarden's write at")]
    for words in said:
        assert any(words in n for n in writes), (name, words, writes)
    assert len(writes) == len(said), (name, writes)


def test_every_path_that_writes_names_the_record_on_its_applied_row():
    """The alert path's write, an approved proposal's (no `planned` line in its process), and an operator's
    command's own write (under its command's incident) each carry their record's key."""
    alert = built(OPENED + alert_write(2, SCALE))
    approved = built(OPENED + alert_proposal(1, ROLLBACK) + approve_write(5, ROLLBACK))
    command_id = "rb-7"
    incident = command_incident(command_id)
    command = RollbackTraffic(command="rollback_traffic", command_id=command_id, requested_by=OPERATOR,
                              reason="bad deploy", target=SERVICE)
    run = CommandRun(command=command, config=None, adapters=None, timeline=CommandTimeline(incident, command_id),
                     received_at=T0)
    manual_key = claim_key(incident, SERVICE, "rollback_traffic")
    manual = built([(2.7, "on_command", lambda: run.timeline.step(
                        "planned", f"rollback_traffic by {OPERATOR}: bad deploy", action="rollback_traffic",
                        params=ROLLBACK[1])),
                    (3, "on_command", lambda: run.stepped(_outcome(OutcomeStatus.APPLIED, "rolled back", ROLLBACK,
                                                                   manual_key, incident=incident)))],
                   incident=incident)

    def applied(timeline) -> list[str]:
        return [r.action_key for r in timeline.entries if r.kind == "applied"]

    assert applied(alert) == [KEY_S]
    assert applied(approved) == [KEY_R]
    assert applied(manual) == [manual_key]
