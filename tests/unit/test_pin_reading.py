"""A pin read off the service (shared/remediation/pins.py): asked for (Service.traffic) and serving
(Service.traffic_statuses) read apart, and released only when neither holds. Pure tables, no I/O."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.remediation.pins import PinReading, PinState, pin_words, read_pin
from tests.unit.builders import SERVICE

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"


def by_name(revision: str, percent: int, tag: str = "") -> TrafficTarget:
    return TrafficTarget(type=TrafficType.REVISION, revision=revision, percent=percent, tag=tag)


def latest(percent: int = 100, resolved: str | None = None) -> TrafficTarget:
    return TrafficTarget(type=TrafficType.LATEST, revision=resolved, percent=percent)


def service(asked: list[TrafficTarget], serving: list[TrafficTarget]) -> Service:
    return Service(name=SERVICE, generation=5, traffic=tuple(asked), traffic_statuses=tuple(serving))


READINGS = [   # (name, traffic asked for, traffic serving, reading, held)
    ("asked for and serving", [by_name(OLD, 100)], [by_name(OLD, 100)], PinReading.HOLDS, True),
    ("asked for and serving, a tag kept at 0%", [by_name(OLD, 100), by_name(NEW, 0, "canary")],
     [by_name(OLD, 100), by_name(NEW, 0, "canary")], PinReading.HOLDS, True),
    ("a failed rollback left desired: asked for, the failing revision serves",
     [by_name(OLD, 100)], [by_name(NEW, 100)], PinReading.ASKED, True),
    ("a rollback still reconciling: asked for, serving part", [by_name(OLD, 100)],
     [by_name(OLD, 50), by_name(NEW, 50)], PinReading.ASKED, True),
    ("a failed release to LATEST left desired: LATEST asked for, the pin serves",
     [latest()], [by_name(OLD, 100)], PinReading.RELEASE_ASKED, True),
    ("a person's failed split left desired, the pin serves", [by_name(OLD, 50), by_name(NEW, 50)],
     [by_name(OLD, 100)], PinReading.RELEASE_ASKED, True),
    ("released to LATEST and serving through it", [latest()], [latest(resolved=NEW)], PinReading.GONE, False),
    # LATEST resolves to the pinned revision itself (no newer one Ready): new deploys get traffic, no pin.
    ("released to LATEST, which resolves to the pinned revision", [latest()], [latest(resolved=OLD)],
     PinReading.GONE, False),
    ("released to LATEST, the status naming no revision", [latest()], [latest()], PinReading.GONE, False),
    ("moved by a person to another split", [by_name(OLD, 90), by_name(NEW, 10)],
     [by_name(OLD, 90), by_name(NEW, 10)], PinReading.GONE, False),
]


@pytest.mark.parametrize("name,asked,serving,reading,held", READINGS, ids=[r[0] for r in READINGS])
def test_a_pin_is_read_on_what_is_asked_for_and_what_serves_apart(name, asked, serving, reading, held):
    found = read_pin(service(asked, serving), OLD)
    assert found is reading, name
    assert found.held is held, name
    assert found.state is (PinState.ASKED if reading is PinReading.ASKED else PinState.SERVING), name


@pytest.mark.parametrize("name,asked,serving,reading,held", READINGS, ids=[r[0] for r in READINGS])
def test_a_pin_not_as_it_should_be_is_said_with_both_splits_and_the_gcloud_line(name, asked, serving, reading, held):
    words = pin_words(service(asked, serving), OLD, reading)
    if reading in (PinReading.HOLDS, PinReading.GONE):
        assert words == "", words
        return
    assert "asked for, not serving" in words and "traffic_statuses" in words, words
    assert "gcloud run services describe backend" in words, words


def recorded(asked: list[TrafficTarget], serving: list[TrafficTarget]) -> dict:
    return {"generation": 5, "traffic": [t.model_dump(mode="json") for t in asked],
            "traffic_statuses": [t.model_dump(mode="json") for t in serving]}


BEFORE = [   # (name, the plan's before: asked for, serving; the revision asked for and not serving, or None)
    ("a failed rollback left desired", [by_name(OLD, 100)], [by_name(NEW, 100)], OLD),
    ("the failing revision asked for and serving", [by_name(NEW, 100)], [by_name(NEW, 100)], None),
    ("LATEST asked for", [latest()], [latest(resolved=NEW)], None),
    ("a split asked for", [by_name(OLD, 50), by_name(NEW, 50)], [by_name(NEW, 100)], None),
    ("nothing recorded", [], [], None),
]


@pytest.mark.parametrize("name,asked,serving,revision", BEFORE, ids=[b[0] for b in BEFORE])
def test_a_rollback_is_held_while_the_service_asks_for_a_revision_it_does_not_serve(name, asked, serving, revision):
    from shared.remediation.pins import asked_hold, asked_not_serving, left_asked
    before = recorded(asked, serving)
    assert asked_not_serving(before) == revision, name
    assert left_asked(before, OLD) is (revision == OLD), name
    if revision:
        ours, other = asked_hold(SERVICE, revision, before, "K"), asked_hold(SERVICE, revision, before)
        assert "Runwarden's rollback K" in ours and "not writing it again" in ours, ours
        assert "not recorded as Runwarden's" in other and "not writing a rollback over it" in other, other
        assert all("gcloud run services describe" in w and "--to-latest" in w for w in (ours, other))
        # A rollback planned to another revision is held too, and told as that: not as a resend of the first.
        elsewhere = asked_hold(SERVICE, revision, before, "K", planned="backend-00099-zzz")
        assert "not writing a rollback to backend-00099-zzz over it" in elsewhere, elsewhere
        assert "not writing it again" not in elsewhere, elsewhere
        assert "not writing it again" in asked_hold(SERVICE, revision, before, "K", planned=revision)
