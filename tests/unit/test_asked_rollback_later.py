"""A rollback asked for and not serving, read again later, from tables (pure, no I/O): how its late service is
judged and worded (shared/remediation/late_rollback.py), when its revision counts as gone, and what the
incident's timeline shows of it (shared/timeline/derive.py `follow_ups` over the gate's `asked` line and the
sweep's `pin_serving` and `released` lines)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import VerificationSettings
from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.outcomes import OutcomeStatus
from shared.remediation.judging import Step as JudgedStep, StepKind
from shared.remediation.late_rollback import (gone_words, judged_as, released_words, revision_gone, unread_bar,
                                             unverified, verdict)
from shared.remediation.pins import asked_hold
from shared.remediation.records import ActionRecord, ActionState, PinRecord
from shared.timeline.classify import Step
from shared.timeline.derive import follow_ups
from tests.unit.builders import SERVICE, at

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
TIMES = VerificationSettings()
KEY = "i|s|rollback_traffic"


def escalated_rollback() -> ActionRecord:
    """Written at -20, its operation failed with OLD left desired: closed `escalated` at once."""
    return ActionRecord(key=KEY, incident_id="i", target=SERVICE, service=SERVICE, action="rollback_traffic",
                        signature="bad_revision", reversible=True, params={"to_revision": OLD, "from_revision": NEW},
                        applied_at=at(-20), settle_at=at(-15), deadline_at=at(-5), state=ActionState.ESCALATED,
                        resolved_at=at(-20), note="outcome unknown")


def test_a_late_rollback_is_judged_from_when_it_was_read_serving_pending_with_any_rollbacks_times():
    judged = judged_as(escalated_rollback(), at(0), TIMES)
    assert judged.applied_at == at(0) and judged.state is ActionState.PENDING and judged.resolved_at is None
    assert judged.settle_at == at(0) + timedelta(seconds=TIMES.settle_seconds)
    assert judged.deadline_at == at(0) + timedelta(seconds=TIMES.deadline_seconds)
    assert judged.key == KEY and judged.params["to_revision"] == OLD


@pytest.mark.parametrize("kind, status, state, says", [
    (StepKind.VERIFY, OutcomeStatus.VERIFIED, ActionState.VERIFIED, "verified: healthy since"),
    (StepKind.ESCALATE, OutcomeStatus.ESCALATED, ActionState.ESCALATED, "not verified: healthy since"),
    (StepKind.UNDO, OutcomeStatus.ESCALATED, ActionState.ESCALATED, "not undone"),
])
def test_a_late_rollbacks_verdict_names_its_late_service_and_the_evidence(kind, status, state, says):
    found = verdict(escalated_rollback(), at(0), JudgedStep(kind, "healthy since the settle time"))
    assert found is not None and found.status is status and found.state is state
    assert "served late" in found.reason and OLD in found.reason and says in found.reason, found.reason
    assert "failed at" in found.reason and "answered `escalated`" in found.reason, found.reason


def test_a_late_rollback_that_waits_has_no_verdict():
    assert verdict(escalated_rollback(), at(0), JudgedStep(StepKind.WAIT, "settling")) is None


def service(traffic: list[tuple[str | None, int]], serving: list[tuple[str | None, int]]) -> Service:
    def split(pairs: list[tuple[str | None, int]]) -> tuple[TrafficTarget, ...]:
        return tuple(TrafficTarget(type=TrafficType.LATEST if r is None else TrafficType.REVISION, revision=r,
                                   percent=p) for r, p in pairs)
    return Service(name=SERVICE, generation=2, traffic=split(traffic), traffic_statuses=split(serving))


@pytest.mark.parametrize("listed, gone", [
    ([NEW], True),                                              # deleted
    ([OLD, NEW], False),                                        # still there
    ([f"{SERVICE}/revisions/{OLD}", NEW], False),               # listed by full name
    ([], True),                                                 # none left
])
def test_an_asked_revision_is_gone_only_when_the_whole_listing_lacks_it(listed, gone):
    assert revision_gone(service([(NEW, 100)], [(NEW, 100)]), OLD, listed) is gone


@pytest.mark.parametrize("asked, still", [([(NEW, 100)], False), ([(OLD, 100)], True)])
def test_a_gone_revisions_release_says_what_was_asked_and_what_serves(asked, still):
    words = gone_words(service(asked, [(NEW, 100)]), OLD, KEY)
    assert f"asked for {OLD} at 100%" in words and "no longer exists" in words and KEY in words, words
    assert f"serves {NEW} 100%" in words and "the pin is released" in words, words
    assert ("still names" in words) is still, words


def line(minute: int, step: str, **details) -> Step:
    return Step(at=at(minute), step=step, trigger="alert", message=step, severity="INFO", details=details,
                function="runwarden", insert_id=f"{minute}-{step}")


PLANNED = line(0, "planned", action="rollback_traffic", params={"target": SERVICE, "to_revision": OLD})
ASKED = line(1, "asked", service=SERVICE, revision=OLD, action_id=KEY)


def pin_follow_up(steps: list[Step]) -> str:
    found = [f.text for f in follow_ups(steps, []) if OLD in f.text]
    return found[0] if found else ""


@pytest.mark.parametrize("steps, says", [
    ([PLANNED, line(1, "escalated"), ASKED], "asked for and not serving"),
    ([PLANNED, ASKED, line(30, "pin_serving", service=SERVICE, revision=OLD)], "Traffic is pinned to"),
    ([PLANNED, ASKED, line(30, "released", service=SERVICE, action_id=KEY)], ""),
    ([PLANNED, ASKED, line(30, "pin_serving"), line(60, "released")], ""),
])
def test_the_timeline_shows_a_rollback_asked_for_then_serving_or_released(steps, says):
    text = pin_follow_up(steps)
    assert (says in text) if says else text == "", text
    if says == "asked for and not serving":
        assert "gcloud run services describe" in text and "failed at" in text, text


def test_a_late_rollbacks_unread_evidence_waits_until_its_deadline_past_by_one_period():
    judged = judged_as(escalated_rollback(), at(0), TIMES)
    period = timedelta(seconds=TIMES.deadline_seconds - TIMES.settle_seconds)
    assert unread_bar(judged) == at(0) + timedelta(seconds=TIMES.deadline_seconds) + period


def test_a_late_rollback_whose_evidence_never_read_is_escalated_unverified_naming_what_was_missing():
    found = unverified(escalated_rollback(), at(0), at(25), "backend: monitoring: request_count: UNAVAILABLE")
    assert found.status is OutcomeStatus.ESCALATED and found.state is ActionState.ESCALATED
    assert "served late" in found.reason and "not verified" in found.reason, found.reason
    assert "request_count: UNAVAILABLE" in found.reason and "not undone" in found.reason, found.reason


@pytest.mark.parametrize("split, says", [
    (service([(NEW, 100)], [(NEW, 100)]), f"serves {NEW} 100% (traffic_statuses) and asks for {NEW} 100%"),
    (service([(None, 100)], [(NEW, 100)]), f"serves {NEW} 100% (traffic_statuses) and asks for LATEST 100%"),
    (None, "was not read: see it with gcloud run services describe"),
])
def test_a_late_rollback_released_before_its_verdict_says_so_and_what_serves_now(split, says):
    pin = PinRecord(service=SERVICE, revision=OLD, action_id=KEY, pinned_at=at(-20), served_late_at=at(0))
    words = released_words(pin, "by alice's restore_traffic", split, at(5))
    assert "released before Runwarden judged it (by alice's restore_traffic)" in words, words
    assert "not verified" in words and KEY in words and OLD in words and says in words, words


def test_the_next_rollback_held_over_a_deleted_asked_revision_says_it_was_deleted_and_stays_held():
    before = {"generation": 3, "traffic": [{"type": "REVISION", "revision": OLD,
                                            "percent": 100}],
              "traffic_statuses": [{"type": "REVISION", "revision": NEW,
                                    "percent": 100}]}
    held = asked_hold(SERVICE, OLD, before, KEY, deleted_at=at(0))
    assert f"{OLD} was deleted since" in held and f"Runwarden's rollback {KEY}" in held, held
    assert "not writing a rollback over it" in held and "not recorded as Runwarden's" not in held, held
    assert "a person must look" in held, held
