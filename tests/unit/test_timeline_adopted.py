"""A write adopted from its plan (`Gate.adopt_write`: an attempt wrote and died before recording it, and the
sweep or a redelivery found the target showing the planned change and recorded it) is Runwarden's write in
the timeline: one row, tied by its action record to the sweep's verdict on it, so a verified adoption is
the mitigation and its verification the recovery. When the writer's own `applied` line is read too (its
write outlived its claim and the sweep recorded it meanwhile), the write is shown once: the writer's line.

Every line is written by the product itself: the writer's attempt through the gate (which dies in the one
commit after its write, as `tests/unit/test_intents.py` makes it), the sweep's adoption (`Sweep.run` over
the in-memory store), the sweep's verdict (`verification.step_on_record`) and a writer's `applied` line
(`_AlertRun.stepped`); each is lifted into a log entry as Cloud Run's logging agent lifts it, and the
builder reads them from an in-memory answer: no Logging call."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock
from shared.outcomes import ActionReport, Outcome, OutcomeStatus, Timestamps
from shared.pipeline import _AlertRun
from shared.remediation.guardrails import Gate
from shared.remediation.records import ActionState
from shared.remediation.verification import Sweep, step_on_record
from shared.timeline.builder import build_timeline
from shared.timeline.classify import Step
from shared.timeline.derive import follow_ups
from shared.timeline.entries import AuditInfo, EntryPage, LoggedEntry
from shared.timeline.writer import Timeline

from tests.unit.builders import SERVICE
from tests.unit.fakes import FaultyStateStore, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import bad_revision_plan, config
from tests.unit.test_intent_sweep import LATER, _Adapters
from tests.unit.test_intents import KEY, MESSAGE, NOW, Crash, _execute
from tests.unit.test_timeline_verdict_keys import PROJECT, T0, Line, Pages, entries

INCIDENT = "inc-1"      # the incident of tests/unit/test_intents.py's plan (KEY)


class World:
    """The writer's attempt, its write made and never recorded; then whoever adopts it."""

    def __init__(self) -> None:
        self.state = FaultyStateStore(MemoryStateStore())
        self.run = RecordingRun(bad_revision_plan()[1].service)

    def write_and_die(self) -> None:
        gate = Gate(config(), self.state, FixedClock(NOW), owner=f"{MESSAGE}:a", message_id=MESSAGE,
                    timeline=Timeline(INCIDENT, "alert"))
        inner = self.state.record_all

        def die(*args: Any, **kwargs: Any) -> None:
            raise Crash()
        self.state.record_all = die
        with pytest.raises(Crash):
            _execute(gate, self.run)
        self.state.record_all = inner
        assert len(self.run.writes) == 1

    def sweep(self) -> None:
        [outcome] = Sweep(config(), _Adapters(self.state, self.run, LATER)).run()
        assert outcome.status is OutcomeStatus.ESCALATED and "Recorded now" in outcome.reason


def writers_applied() -> None:
    """The writer's own `applied` line for that write (naming its record, as every path that writes does)."""
    run = _AlertRun(incident=None, message_id=MESSAGE, config=None, adapters=None,
                    timeline=Timeline(INCIDENT, "alert"), received_at=T0)
    run.stepped(Outcome(incident_id=INCIDENT, status=OutcomeStatus.APPLIED, reason="rollback_traffic applied",
                        target=SERVICE, action=ActionReport(name="rollback_traffic", action_id=KEY,
                                                            params={"target": SERVICE}, after={"done": True}),
                        timestamps=Timestamps(received_at=T0)))


def verified() -> None:
    step_on_record(INCIDENT, "verified", f"{KEY}: healthy", action="rollback_traffic", key=KEY,
                   left=ActionState.VERIFIED)


def spec(*lines: tuple[float, str]) -> list[Line]:
    world = World()
    does = {"write_and_die": ("on_alert", world.write_and_die), "sweep": ("on_command", world.sweep),
            "applied": ("on_alert", writers_applied), "verified": ("on_command", verified)}
    return [(minute, *does[what]) for minute, what in lines]


@pytest.mark.parametrize("name, lines, write_at, write_kind", [
    # The writer died after its write; the sweep adopted it at 9; verified at 14.
    ("adopted by the sweep", [(2, "write_and_die"), (9, "sweep"), (14, "verified")], 9, "adopted"),
    # The writer's `applied` line is read too, before the adoption and after it: one write, the writer's line.
    ("the writer's line, then the adoption", [(2, "write_and_die"), (3, "applied"), (9, "sweep"), (14, "verified")],
     3, "applied"),
    ("the adoption, then the writer's late line",
     [(2, "write_and_die"), (9, "sweep"), (10, "applied"), (14, "verified")], 10, "applied"),
])
def test_an_adopted_write_is_shown_once_and_judged_by_its_record(name, lines, write_at, write_kind):
    timeline = build_timeline(INCIDENT, PROJECT, Pages(INCIDENT, entries(spec(*lines))), T0 + timedelta(hours=1))

    writes = [r for r in timeline.entries if r.action_key]
    assert [(r.kind, r.action_key) for r in writes] == [(write_kind, KEY)], (name, timeline.entries)
    assert [r.at for r in timeline.entries if r.marker == "action"] == [writes[0].at], name
    at = T0 + timedelta(minutes=write_at)
    assert timeline.milestones.mitigation is not None and timeline.milestones.mitigation.at == at, (
        name, timeline.milestones)
    recovery = timeline.milestones.recovery
    assert recovery is not None and (recovery.what, recovery.at) == (
        "Runwarden verified the fix", T0 + timedelta(minutes=14)), (name, timeline.milestones)
    assert not [n for n in timeline.notes if n.startswith("Runwarden's write at")], (name, timeline.notes)
    adopted = [r for r in timeline.entries if r.kind == "adopted"]
    assert len(adopted) == 1 and KEY in adopted[0].summary, name     # the adoption is shown, as one row


def test_an_adopted_write_not_verified_yet_is_named_and_not_the_mitigation():
    timeline = build_timeline(INCIDENT, PROJECT, Pages(INCIDENT, entries(spec((2, "write_and_die"), (9, "sweep")))),
                              T0 + timedelta(hours=1))

    assert timeline.milestones.mitigation is None
    [note] = [n for n in timeline.notes if n.startswith("Runwarden's write at")]
    assert "12:09:00Z" in note and "no verification" in note, note


def test_an_earlier_versions_adopted_line_names_its_record_in_its_words():
    """The gate's `adopted` line before it named `key` (as `Gate._log` wrote it then: the step and the words
    alone): the record is read from the words, "recorded KEY, written by OWNER: ..."."""
    timeline_of = Timeline(INCIDENT, "command")
    lines: list[Line] = [
        (9, "on_command", lambda: timeline_of.step("adopted", f"recorded {KEY}, written by {MESSAGE}:a: found")),
        (14, "on_command", verified)]
    timeline = build_timeline(INCIDENT, PROJECT, Pages(INCIDENT, entries(lines)), T0 + timedelta(hours=1))

    assert [(r.kind, r.action_key) for r in timeline.entries if r.action_key] == [("adopted", KEY)]
    assert timeline.milestones.mitigation is not None and timeline.milestones.mitigation.at == T0 + timedelta(minutes=9)


class WithAudit(Pages):
    """Runwarden's lines, and the Admin Activity audit log's one entry: the dead attempt's UpdateService."""

    def __init__(self, steps, audit) -> None:
        super().__init__(INCIDENT, steps)
        self.audit = audit

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if "cloudaudit.googleapis.com" in filter:
            return EntryPage(entries=(self.audit,))
        return super().read_page(project, filter, page_size=page_size, page_token=page_token, order_by=order_by)


def test_the_audit_entry_of_an_adopted_write_is_runwardens_own():
    """The dead attempt's write reached Cloud Run (its UpdateService, by Runwarden's service account, a few
    seconds after its claim); no `applied` line follows it. It is Runwarden's write, recorded by the sweep,
    not a person's change by Runwarden's account that "acted before Runwarden"."""
    opened: Line = (0.2, "on_alert", lambda: Timeline(INCIDENT, "alert").step(
        "received", f"alert {INCIDENT} (open)", resource={"project_id": "demo", "location": "us-central1",
                                                          "service_name": "backend"},
        state="open", started_at=int(T0.timestamp())))
    at = T0 + timedelta(minutes=2, seconds=3)
    audit = LoggedEntry(timestamp=at, log_id="cloudaudit.googleapis.com/activity", insert_id="audit-1",
                        audit=AuditInfo(method_name="google.cloud.run.v2.Services.UpdateService",
                                        resource_name=SERVICE, principal="runwarden@demo.iam.gserviceaccount.com",
                                        request={"service": {"traffic": [{"revision": "backend-00001-abc",
                                                                          "percent": 100}]},
                                                 "updateMask": "traffic"}))
    steps = entries([opened] + spec((2, "write_and_die"), (9, "sweep"), (14, "verified")))
    timeline = build_timeline(INCIDENT, PROJECT, WithAudit(steps, audit), T0 + timedelta(hours=1))

    [change] = [r for r in timeline.entries if r.source.value == "audit"]
    assert change.actor.kind.value == "runwarden" and change.marker == "", change
    assert timeline.people == [] and not timeline.people_acted_first


def _step(minute: float, step: str, **details: Any) -> Step:
    return Step(at=T0 + timedelta(minutes=minute), step=step, trigger="alert", message=step, severity="INFO",
                details=details, function="on_alert", insert_id=f"{step}-{minute}")


ROLLBACK_PLAN = _step(1, "planned", action="rollback_traffic",
                      params={"target": SERVICE, "to_revision": "backend-00001-abc"})


@pytest.mark.parametrize("name, steps, pinned", [
    # An adopted rollback wrote its pin (Gate.adopt_write, as the gate's own write does): traffic is pinned.
    ("an adopted rollback", [ROLLBACK_PLAN, _step(2, "claimed"), _step(9, "adopted", action="rollback_traffic",
                                                                        key=KEY)], True),
    # Adopted as superseded (the service was changed again after the write): no pin is written.
    ("an adopted rollback, superseded", [ROLLBACK_PLAN, _step(9, "adopted", action="rollback_traffic", key=KEY,
                                                               superseded=True)], False),
    # The adoption of another action (the connector's scale-up) pins nothing.
    ("an adopted scale-up", [ROLLBACK_PLAN, _step(3, "failed"), _step(9, "adopted", action="scale_connector",
                                                                      key="k")], False),
    # An adoption undone by the sweep since: the pin went with it.
    ("an adopted rollback, undone", [ROLLBACK_PLAN, _step(9, "adopted", action="rollback_traffic", key=KEY),
                                     _step(20, "undone", key=KEY)], False),
    # Controls: the writer's own write.
    ("a rollback applied", [ROLLBACK_PLAN, _step(2, "applied", status="applied")], True),
])
def test_an_adopted_rollbacks_pin_is_a_follow_up(name, steps, pinned):
    said = [f.text for f in follow_ups(steps, []) if "backend-00001-abc" in f.text]
    assert bool(said) is pinned, (name, said)


class OtherIncident(Pages):
    """This incident's lines; another incident's write lines, answered as Cloud Logging answers the read of
    other incidents' writes (only the steps its filter names); and the audit log's one entry."""

    def __init__(self, steps, others, audit) -> None:
        super().__init__(THIS, steps)
        self.others, self.audit = others, audit

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if "cloudaudit.googleapis.com" in filter:
            return EntryPage(entries=(self.audit,))
        if f'NOT labels.runwarden_incident="{THIS}"' in filter:
            return EntryPage(entries=tuple(e for e in self.others
                                           if f'labels.runwarden_step="{e.labels["runwarden_step"]}"' in filter))
        return super().read_page(project, filter, page_size=page_size, page_token=page_token, order_by=order_by)


THIS = "0.latency"


def test_an_adopted_write_under_another_incident_is_runwardens_own():
    """Two policies on one service are two incidents: the 5xx incident's rollback (inc-1) was written by an
    attempt that died, and adopted by the sweep. In the latency incident's timeline its audit entry is
    Runwarden's write under inc-1, not a person's change by Runwarden's account."""
    resource = {"project_id": "demo", "location": "us-central1", "service_name": "backend"}
    this = entries([(0.2, "on_alert", lambda: Timeline(THIS, "alert").step(
        "received", f"alert {THIS} (open)", resource=resource, state="open", started_at=int(T0.timestamp())))])
    others = entries(spec((2, "write_and_die"), (9, "sweep")))
    audit = LoggedEntry(timestamp=T0 + timedelta(minutes=2, seconds=3), log_id="cloudaudit.googleapis.com/activity",
                        insert_id="audit-1",
                        audit=AuditInfo(method_name="google.cloud.run.v2.Services.UpdateService",
                                        resource_name=SERVICE, principal="runwarden@demo.iam.gserviceaccount.com",
                                        request={"service": {"traffic": [{"revision": "backend-00001-abc",
                                                                          "percent": 100}]},
                                                 "updateMask": "traffic"}))
    timeline = build_timeline(THIS, PROJECT, OtherIncident(this, others, audit), T0 + timedelta(hours=1))

    [change] = [r for r in timeline.entries if r.source.value == "audit"]
    assert change.actor.kind.value == "runwarden" and "incident inc-1" in change.actor.name, change
    assert timeline.people == []
