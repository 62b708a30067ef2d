"""Which targets and tags a restore's split keeps (the sweep's undo, an operator's restore_traffic by
action_id or to_latest): only those whose revision can serve, the others named with why, as a rollback
leaves them out (rollback_traffic.tags_to_keep). Pure: restore_traffic.servable_restore, no I/O."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import Condition, Revision, Service, TrafficTarget, TrafficType
from shared.remediation.actions.restore_traffic import RestoreTraffic, RestoreTrafficParams, servable_restore

SERVICE = "projects/p/locations/us-central1/services/backend"
OLD, BAD, FIX = "backend-00001-abc", "backend-00002-xyz", "backend-00003-fix"
LATEST, REV = TrafficType.LATEST, TrafficType.REVISION
NEVER_READY = f"fix -> {FIX} (failed: CONDITION_FAILED, HEALTH_CHECK_CONTAINER_ERROR)"


def t(kind: TrafficType, percent: int, revision: str | None = None, tag: str = "") -> TrafficTarget:
    return TrafficTarget(type=kind, revision=revision, percent=percent, tag=tag)


def revision(name: str, state: str = "CONDITION_SUCCEEDED", reason: str = "") -> Revision:
    return Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE,
                    create_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
                    conditions=(Condition(type="Ready", state=state, reason=reason),))


READY = (revision(OLD), revision(BAD))
FAILED = revision(FIX, "CONDITION_FAILED", "HEALTH_CHECK_CONTAINER_ERROR")
PINNED = (t(REV, 100, OLD),)    # the split a rollback left

# (the recorded split, the split as read now, the revisions listed, the split written, the tags left out)
CASES = {
    "the recorded split's own tag on a revision that never became Ready": (
        (t(REV, 100, BAD), t(REV, 0, FIX, "fix")), PINNED, READY + (FAILED,),
        [t(REV, 100, BAD)], [NEVER_READY]),
    "the recorded split's own tag on a revision deleted since": (
        (t(REV, 100, BAD), t(REV, 0, FIX, "fix")), PINNED, READY,
        [t(REV, 100, BAD)], [f"fix -> {FIX} (deleted: no longer listed)"]),
    "the recorded split's own tag on a Ready revision stays in its place": (
        (t(REV, 100, BAD), t(REV, 0, OLD, "v1")), PINNED, READY,
        [t(REV, 100, BAD), t(REV, 0, OLD, "v1")], []),
    "a tagged share stays (the split is refused whole if it cannot serve: cannot_serve)": (
        (t(REV, 90, OLD), t(REV, 10, BAD, "canary")), PINNED, READY,
        [t(REV, 90, OLD), t(REV, 10, BAD, "canary")], []),
    "a tag a person put on a Ready revision since stays": (
        (t(REV, 100, BAD),), (t(REV, 100, OLD), t(REV, 0, OLD, "mine")), READY,
        [t(REV, 100, BAD), t(REV, 0, OLD, "mine")], []),
    "a tag a person put on a revision that never became Ready since is left out": (
        (t(REV, 100, BAD),), (t(REV, 100, OLD), t(REV, 0, FIX, "fix")), READY + (FAILED,),
        [t(REV, 100, BAD)], [NEVER_READY]),
    "a dead tag recorded and read both is named once": (
        (t(REV, 100, BAD), t(REV, 0, FIX, "fix")), (t(REV, 100, OLD), t(REV, 0, FIX, "fix")), READY + (FAILED,),
        [t(REV, 100, BAD)], [NEVER_READY]),
    "to_latest (no recorded split): the servable tags as read kept, the dead one left out": (
        (), (t(REV, 100, BAD), t(REV, 0, OLD, "v1"), t(REV, 0, FIX, "fix"), t(LATEST, 0, None, "next")),
        READY + (FAILED,), [t(LATEST, 100, None, "next"), t(REV, 0, OLD, "v1")], [NEVER_READY]),
}


@pytest.mark.parametrize("recorded, read, revisions, written, left_out", CASES.values(), ids=CASES.keys())
def test_a_restore_keeps_only_targets_and_tags_that_can_serve(recorded, read, revisions, written, left_out):
    chosen = servable_restore(recorded, Service(name=SERVICE, generation=3, traffic=read), revisions)
    params = RestoreTrafficParams(target=SERVICE, undoes="k" if recorded else "", to_latest=not recorded,
                                  **chosen._asdict())
    assert params.desired() == written
    assert [g.words() for g in params.tags_left_out] == left_out


def test_the_restore_names_what_it_left_out_and_how_to_tag_again():
    params = RestoreTrafficParams(target=SERVICE, traffic=(t(REV, 100, BAD),), undoes="k",
                                  tags_left_out=servable_restore((), Service(name=SERVICE, generation=3, traffic=(
                                      t(REV, 0, FIX, "fix"),)), READY + (FAILED,)).tags_left_out)
    [note] = [n for n in RestoreTraffic().notes(params) if "left out" in n]
    assert NEVER_READY in note
    assert ("gcloud run services update-traffic backend --update-tags fix=REVISION --region=us-central1 --project=p"
            in note)
