"""Why a tag a rollback or a restore leaves out cannot serve, told by a typed reason (deleted, failed, not Ready
yet), and what its note tells the person to do for each: a deleted revision is never Ready again, a failed one is
not documented to recover, one still starting may be. Pure: rollback_traffic.tags_to_keep, the actions' notes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import Condition, Revision, Service, TrafficTarget, TrafficType
from shared.remediation.actions.restore_traffic import RestoreTraffic, RestoreTrafficParams
from shared.remediation.actions.rollback_traffic import RollbackTraffic, RollbackTrafficParams, tags_to_keep

SERVICE = "projects/p/locations/us-central1/services/backend"
OLD, BAD, FIX = "backend-00001-abc", "backend-00002-xyz", "backend-00003-fix"
REV = TrafficType.REVISION
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def revision(name: str, state: str | None = "CONDITION_SUCCEEDED", reason: str = "") -> Revision:
    conditions = (Condition(type="Ready", state=state, reason=reason),) if state else ()
    return Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE, create_time=WHEN, conditions=conditions)


READY = (revision(OLD), revision(BAD))
SPLIT = (TrafficTarget(type=REV, revision=BAD, percent=100), TrafficTarget(type=REV, revision=FIX, percent=0, tag="fix"))

# (the tagged revision as listed, or None: deleted; the reason's value; words the note must hold; words it must not)
CASES = {
    "deleted: never Ready again, so never 'once it is Ready'": (
        None, "deleted", ["fix -> backend-00003-fix (deleted", "cannot be brought back",
                          "--update-tags fix=REVISION"], ["once it is Ready"]),
    "failed: its container never started": (
        revision(FIX, "CONDITION_FAILED", "HEALTH_CHECK_CONTAINER_ERROR"), "failed",
        ["(failed: CONDITION_FAILED, HEALTH_CHECK_CONTAINER_ERROR)", "a revision that serves",
         "--update-tags fix=REVISION"], ["Tag it again once it is Ready"]),
    "not Ready yet: still reconciling": (
        revision(FIX, "CONDITION_RECONCILING"), "not_ready_yet",
        ["(not Ready yet: CONDITION_RECONCILING)", "once it is Ready", "--update-tags fix=backend-00003-fix"], []),
    "not Ready yet: no Ready condition shown yet": (
        revision(FIX, None), "not_ready_yet",
        ["(not Ready yet: no Ready condition yet)", "once it is Ready", "--update-tags fix=backend-00003-fix"], []),
}


def _rollback_notes(left_out) -> str:
    params = RollbackTrafficParams(target=SERVICE, to_revision=OLD, from_revision=BAD, from_revision_created_at=WHEN,
                                   steps_back=1, expected_etag="e", tags_left_out=left_out)
    return " ".join(n for n in RollbackTraffic().notes(params) if "left out" in n)


def _restore_notes(left_out) -> str:
    params = RestoreTrafficParams(target=SERVICE, traffic=(SPLIT[0],), undoes="k", tags_left_out=left_out)
    return " ".join(n for n in RestoreTraffic().notes(params) if "left out" in n)


@pytest.mark.parametrize("listed, why, holds, lacks", CASES.values(), ids=CASES.keys())
def test_each_left_out_tag_is_worded_by_its_typed_reason(listed, why, holds, lacks):
    kept, left_out = tags_to_keep(Service(name=SERVICE, generation=2, traffic=SPLIT),
                                  READY + ((listed,) if listed else ()))
    assert kept == ()
    [gone] = left_out
    assert (gone.tag, gone.revision, gone.why.value) == ("fix", FIX, why)
    for said in (_rollback_notes(left_out), _restore_notes(left_out)):
        for words in holds:
            assert words in said
        for words in lacks:
            assert words not in said


def test_a_record_written_before_the_reasons_were_typed_still_reads():
    """Params kept in state (a plan, a proposal) with the reasons in words are read, each typed from its words."""
    params = RollbackTrafficParams.model_validate({
        "target": SERVICE, "to_revision": OLD, "from_revision": BAD, "from_revision_created_at": WHEN.isoformat(),
        "steps_back": 1, "expected_etag": "e",
        "tags_left_out": [f"fix -> {FIX} (no longer listed)", f"old -> {OLD} (not Ready: CONDITION_FAILED, X)",
                          f"new -> {BAD} (not Ready)"]})
    assert [(g.tag, g.revision, g.why.value) for g in params.tags_left_out] == [
        ("fix", FIX, "deleted"), ("old", OLD, "failed"), ("new", BAD, "not_ready_yet")]


def test_a_left_out_target_without_a_tag_is_named_but_given_no_tag_line():
    """A restore's recorded split may hold a 0% target with no tag (servable_restore): it has no tagged URL to
    give back, so the note names it and gives no `--update-tags =REVISION` line; a tagged one beside it keeps its
    own. A record that kept the reasons in words wrote such a target "(no tag)": read back as no tag."""
    params = RestoreTrafficParams.model_validate({
        "target": SERVICE, "to_latest": True,
        "tags_left_out": [f"(no tag) -> {BAD} (not Ready: CONDITION_FAILED, X)", f"fix -> {FIX} (no longer listed)"]})
    assert [(g.tag, g.revision) for g in params.tags_left_out] == [("", BAD), ("fix", FIX)]
    said = _restore_notes(params.tags_left_out)
    assert f"(no tag) -> {BAD} (failed" in said
    assert "--update-tags fix=REVISION" in said
    assert "--update-tags =" not in said and "(no tag)=" not in said
