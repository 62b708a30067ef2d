"""Which tags a rollback's new split keeps at 0%, and which it leaves out because their revision cannot
serve: rollback_traffic.tags_to_keep, pure, no I/O."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import Condition, Revision, Service, TrafficTarget, TrafficType
from shared.remediation.actions.rollback_traffic import (RollbackTraffic, RollbackTrafficParams, left_out_note,
                                                         tags_to_keep)

SERVICE = "projects/p/locations/us-central1/services/backend"
OLD, BAD, FIX = "backend-00001-abc", "backend-00002-xyz", "backend-00003-fix"
LATEST, REV = TrafficType.LATEST, TrafficType.REVISION


def t(kind: TrafficType, percent: int, revision: str | None = None, tag: str = "") -> TrafficTarget:
    return TrafficTarget(type=kind, revision=revision, percent=percent, tag=tag)


def revision(name: str, state: str | None = "CONDITION_SUCCEEDED", reason: str = "") -> Revision:
    conditions = (Condition(type="Ready", state=state, reason=reason),) if state else ()
    return Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE,
                    create_time=datetime(2026, 1, 1, tzinfo=timezone.utc), conditions=conditions)


READY = (revision(OLD), revision(BAD))
FAILED = revision(FIX, "CONDITION_FAILED", "HEALTH_CHECK_CONTAINER_ERROR")

# (the split as read, the revisions listed, the tags kept (tag, revision), the tags left out)
CASES = {
    "a tag on the failing revision, Ready": (
        (t(REV, 100, BAD), t(REV, 0, BAD, "canary")), READY, [("canary", BAD)], []),
    "a tag on LATEST": (
        (t(REV, 100, BAD), t(LATEST, 0, None, "latest")), READY, [("latest", None)], []),
    "untagged targets are not tags": (
        (t(REV, 50, BAD), t(REV, 50, OLD)), READY, [], []),
    "a candidate behind a tag whose container never started": (
        (t(REV, 100, BAD), t(REV, 0, FIX, "fix")), READY + (FAILED,), [],
        [f"fix -> {FIX} (failed: CONDITION_FAILED, HEALTH_CHECK_CONTAINER_ERROR)"]),
    "a tag on a revision no longer listed": (
        (t(REV, 100, BAD), t(REV, 0, FIX, "fix")), READY, [], [f"fix -> {FIX} (deleted: no longer listed)"]),
    "a tag on a revision with no Ready condition yet": (
        (t(REV, 100, BAD), t(REV, 0, FIX, "fix")), READY + (revision(FIX, None),), [], [f"fix -> {FIX} (not Ready yet: no Ready condition yet)"]),
    "a Ready tag kept beside a dead one": (
        (t(LATEST, 100), t(REV, 0, BAD, "canary"), t(REV, 0, FIX, "fix")), READY + (FAILED,), [("canary", BAD)],
        [f"fix -> {FIX} (failed: CONDITION_FAILED, HEALTH_CHECK_CONTAINER_ERROR)"]),
}


@pytest.mark.parametrize("traffic, revisions, kept, left_out", CASES.values(), ids=CASES.keys())
def test_tags_kept_and_left_out(traffic, revisions, kept, left_out):
    keep, gone = tags_to_keep(Service(name=SERVICE, generation=2, traffic=traffic), revisions)
    assert [(k.tag, k.revision) for k in keep] == kept
    assert all(k.percent == 0 for k in keep)
    assert [g.words() for g in gone] == left_out


def test_the_rollback_names_what_it_left_out_and_how_to_tag_again():
    params = RollbackTrafficParams(target=SERVICE, to_revision=OLD, from_revision=BAD,
                                   from_revision_created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), steps_back=1,
                                   expected_etag="e", tags_left_out=tags_to_keep(
                                       Service(name=SERVICE, generation=2, traffic=(t(REV, 0, FIX, "fix"),)),
                                       READY + (revision(FIX, None),))[1])
    [note] = [n for n in RollbackTraffic().notes(params) if "left out" in n]
    assert f"fix -> {FIX} (not Ready yet: no Ready condition yet)" in note
    assert (f"gcloud run services update-traffic backend --update-tags fix={FIX} --region=us-central1 --project=p"
            in note)
    assert RollbackTraffic().desired_traffic(params) == [t(REV, 100, OLD)]
    assert left_out_note(SERVICE, ()) == []


@pytest.mark.parametrize("tags, said", [
    ((("stable", OLD),), "Traffic tags kept: stable -> " + OLD + " (at 100%, on the revision rolled back to)"),
    ((("stable", OLD), ("canary", BAD)),
     "Traffic tags kept: stable -> " + OLD + " (at 100%, on the revision rolled back to), canary -> " + BAD
     + " (at 0%)"),
    ((("canary", BAD),), "Traffic tags kept at 0%: canary -> " + BAD),
])
def test_a_tag_on_the_revision_rolled_back_to_is_said_to_ride_its_100_percent(tags, said):
    """A tag on the revision rolled back to is written on its 100% target: "kept at 0%" said it served nothing."""
    params = RollbackTrafficParams(target=SERVICE, to_revision=OLD, from_revision=BAD,
                                   from_revision_created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), steps_back=1,
                                   expected_etag="e", keep_tags=tuple(t(REV, 0, rev, tag) for tag, rev in tags))
    [note] = [n for n in RollbackTraffic().notes(params) if n.startswith("Traffic tags kept")]
    assert note == said
