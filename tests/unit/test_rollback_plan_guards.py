"""Two splits a traffic rollback must not be written over (planning._rollback). Pure: planning on built
evidence.

A rollback writes the known-good revision at 100% and keeps only tags at 0%
(rollback_traffic.desired_traffic): it replaces the whole split. Before, a split that also gave a share
to a third revision (an operator's standing split kept on purpose, a rollout's older step) had that
share taken away by the rollback, a change nobody decided to a share the diagnosis never blamed. Now
planning leaves such a split to a person, saying the shares it keeps and the command that moves only
the failing share. A split of the failing and the known-good revision alone, or a third revision
reached only by its tag (0%), is rolled back as before.

A deploy under way (a revision newer than the failing one whose Ready condition has not settled): the
rollback's pin would take the traffic it is deploying for. Before, it was rolled back under it."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Condition, TrafficTarget, TrafficType
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan
from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, deployed, quiet_connector

S = DiagnosisSettings()
THIRD = "backend-00000-kep"   # an older revision an operator keeps a share on


def _rev(name: str, percent: int, tag: str = "") -> TrafficTarget:
    return TrafficTarget(type=TrafficType.REVISION, revision=name, percent=percent, tag=tag)


def _latest(percent: int, serves: str | None = None) -> TrafficTarget:
    return TrafficTarget(type=TrafficType.LATEST, revision=serves, percent=percent)


# (desired traffic, traffic statuses) as the service is read at the decision.
SPLITS_BESIDE = {
    "an older revision pinned beside LATEST": (
        (_rev(THIRD, 20), _latest(80)), (_rev(THIRD, 20), _latest(80, NEW))),
    "an older revision pinned beside the new one by name": (
        (_rev(THIRD, 30), _rev(NEW, 70)), (_rev(THIRD, 30), _rev(NEW, 70))),
    "a share desired by name, not yet served": (
        (_rev(THIRD, 10), _rev(NEW, 90)), (_rev(NEW, 100),)),
}

SPLITS_ROLLED_BACK = {
    "all to the new one": ((_rev(NEW, 100),), (_rev(NEW, 100),)),
    "LATEST, serving the new one": ((_latest(100),), (_latest(100, NEW),)),
    "a canary beside the known-good one": ((_rev(OLD, 90), _rev(NEW, 10)), (_rev(OLD, 90), _rev(NEW, 10))),
    "a third revision reached only by its tag": (
        (_rev(NEW, 100), _rev(THIRD, 0, "preview")), (_rev(NEW, 100), _rev(THIRD, 0, "preview"))),
}


def _planned(traffic, statuses, latest_ready: str | None = None):
    bundle = quiet_connector(deployed(Evidence())).bundle()
    diagnosis = diagnose(bundle, S)
    assert diagnosis.signature is Signature.BAD_REVISION and diagnosis.known_good_revision == OLD, diagnosis.summary
    service = bundle.service.model_copy(update={"traffic": traffic, "traffic_statuses": statuses,
                                                "latest_ready_revision": latest_ready})
    return plan(diagnosis, bundle.model_copy(update={"service": service}), S)


@pytest.mark.parametrize("traffic, statuses", SPLITS_BESIDE.values(), ids=SPLITS_BESIDE.keys())
def test_a_rollback_that_would_take_a_third_revisions_share_away_is_left_to_a_person(traffic, statuses):
    proposal = _planned(traffic, statuses)
    assert proposal.action is None, proposal.reason
    assert f"bad_revision {NEW} has a rollback target, {OLD}, but the split also gives" in proposal.reason
    assert "a person must decide" in proposal.reason
    assert proposal.advice.startswith(f"move {NEW}'s share to {OLD} by hand, keeping "), proposal.advice


def test_the_advice_names_the_split_that_keeps_the_other_share():
    proposal = _planned(*SPLITS_BESIDE["an older revision pinned beside LATEST"])
    assert f"also gives {THIRD} 20% to a revision" in proposal.reason, proposal.reason
    assert (f"gcloud run services update-traffic backend --to-revisions {OLD}=80,{THIRD}=20 "
            "--region=us-central1 --project=demo") in proposal.advice, proposal.advice


LATER = "backend-00003-lat"   # a revision newer than the failing one, the latest ready: LATEST serves it
SPLIT = "gcloud run services update-traffic backend --to-revisions "
WHERE = " --region=us-central1 --project=demo"

# A split where LATEST holds a share (TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST: the latest ready revision), beside two
# named ones: (desired traffic, traffic statuses, Service.latest_ready_revision, the flags the advice gives).
# Before, a LATEST status naming no revision was read as a share "neither failing nor known good", and the advice
# was in words only ("by hand", no command), even where the latest ready revision was read and is the failing one;
# a LATEST share reaching a third revision was pinned by that revision's name; a tag-only target was not named.
LATEST_SPLITS = {
    "LATEST serves the failing revision, its status naming none": (
        (_rev(THIRD, 20), _rev(OLD, 30), _latest(50)), (_rev(THIRD, 20), _rev(OLD, 30), _latest(50)), NEW,
        f"{OLD}=80,{THIRD}=20"),
    "LATEST serves the failing revision, its status naming it": (
        (_rev(THIRD, 20), _rev(OLD, 30), _latest(50)), (_rev(THIRD, 20), _rev(OLD, 30), _latest(50, NEW)), NEW,
        f"{OLD}=80,{THIRD}=20"),
    "LATEST serves a third revision: kept as LATEST, still following the latest ready one": (
        (_rev(NEW, 30), _rev(OLD, 20), _latest(50)), (_rev(NEW, 30), _rev(OLD, 20), _latest(50, LATER)), LATER,
        f"{OLD}=50,LATEST=50"),
    "LATEST serves a third revision, its status naming none": (
        (_rev(NEW, 30), _rev(OLD, 20), _latest(50)), (_rev(NEW, 30), _rev(OLD, 20), _latest(50)), LATER,
        f"{OLD}=50,LATEST=50"),
    "a tag-only target on the known-good revision, and one on the failing one, are named to be kept": (
        (_rev(THIRD, 20), _rev(OLD, 30), _latest(50), _rev(OLD, 0, "stable"), _rev(NEW, 0, "canary")),
        (_rev(THIRD, 20), _rev(OLD, 30), _latest(50, NEW), _rev(OLD, 0, "stable"), _rev(NEW, 0, "canary")), NEW,
        f"{OLD}=80,{THIRD}=20 --update-tags=stable={OLD},canary={NEW}"),
}


@pytest.mark.parametrize("traffic, statuses, latest, flags", LATEST_SPLITS.values(), ids=LATEST_SPLITS.keys())
def test_a_split_with_a_latest_share_gets_the_command_that_moves_the_failing_share_alone(traffic, statuses, latest,
                                                                                           flags):
    proposal = _planned(traffic, statuses, latest)
    assert proposal.action is None, proposal.reason
    assert SPLIT + flags + WHERE in proposal.advice, proposal.advice
    assert proposal.advice.startswith(f"move {NEW}'s share to {OLD} by hand, keeping "), proposal.advice
    if latest == NEW:   # LATEST's share is the failing one: never said to be a share neither failing nor known good
        assert "LATEST" not in proposal.reason, proposal.reason


def test_a_latest_share_on_the_failing_revision_beside_it_alone_is_rolled_back():
    """NEW at 75% by name and 25% through LATEST, which serves NEW (the latest ready revision): all of the split is
    the failing revision's. Before, the LATEST status naming no revision was taken for a third revision's share."""
    proposal = _planned((_rev(NEW, 75), _latest(25)), (_rev(NEW, 75), _latest(25)), NEW)
    assert proposal.action == "rollback_traffic", proposal.reason
    assert proposal.params.to_revision == OLD


def test_a_latest_share_whose_revision_was_not_read_is_left_in_words_naming_why():
    """No name in LATEST's status and no latest ready revision read: it may be the failing share or another, so no
    command is made up; the reason says so, and the advice how to see which revision LATEST serves."""
    proposal = _planned((_rev(NEW, 75), _latest(25)), (_rev(NEW, 75), _latest(25)))
    assert proposal.action is None, proposal.reason
    assert "LATEST 25% whose revision was not read" in proposal.reason, proposal.reason
    assert "neither failing nor known good" not in proposal.reason, proposal.reason
    assert "gcloud run services describe backend" in proposal.advice and "update-traffic" not in proposal.advice


@pytest.mark.parametrize("traffic, statuses", SPLITS_ROLLED_BACK.values(), ids=SPLITS_ROLLED_BACK.keys())
def test_a_split_of_the_failing_and_known_good_revisions_alone_is_rolled_back(traffic, statuses):
    proposal = _planned(traffic, statuses)
    assert proposal.action == "rollback_traffic", proposal.reason
    assert proposal.params.to_revision == OLD


# A deploy under way: a revision newer than the failing one, its Ready condition not settled. Before, the
# rollback pinned traffic under it (the audit entry that stands automation down for a deploy after the
# incident began had not been read, or lagged): the deploy, likely the fix, landed on a pin.
FIX = "backend-00003-fix"
IN_FLIGHT = {
    "Ready reconciling": (Condition(type="Ready", state="CONDITION_RECONCILING"),),
    "Ready pending": (Condition(type="Ready", state="CONDITION_PENDING"),),
    "no Ready condition yet": (),
}
SETTLED = {
    "Ready succeeded (a --no-traffic deploy)": (Condition(type="Ready", state="CONDITION_SUCCEEDED"),),
    "Ready failed (a deploy that failed)": (Condition(type="Ready", state="CONDITION_FAILED",
                                                      reason="HEALTH_CHECK_CONTAINER_ERROR"),),
}


def _with_newer(conditions, created: float = -1):
    evidence = quiet_connector(deployed(Evidence()))
    diagnosis = diagnose(evidence.bundle(), S)
    assert diagnosis.signature is Signature.BAD_REVISION and diagnosis.known_good_revision == OLD, diagnosis.summary
    return plan(diagnosis, evidence.revision(FIX, created, conditions=conditions).bundle(), S)


@pytest.mark.parametrize("conditions", IN_FLIGHT.values(), ids=IN_FLIGHT.keys())
def test_no_rollback_is_pinned_under_a_deploy_in_flight(conditions):
    proposal = _with_newer(conditions)
    assert proposal.action is None, proposal.reason
    assert f"but a deploy is under way: {FIX}, created" in proposal.reason, proposal.reason
    assert f"after {NEW}, is not Ready yet" in proposal.reason and "a person must decide" in proposal.reason
    assert proposal.advice.startswith("let the deploy finish and judge it"), proposal.advice


@pytest.mark.parametrize("conditions", SETTLED.values(), ids=SETTLED.keys())
def test_a_newer_revision_whose_deploy_settled_does_not_hold_the_rollback(conditions):
    proposal = _with_newer(conditions)
    assert proposal.action == "rollback_traffic", proposal.reason


def test_a_deploy_begun_before_midnight_is_named_with_its_date(monkeypatch):
    """The newer revision created at 23:59:30, the plan read 00:00:30 the next day: its time of day alone named a
    moment of the plan's day still to come; dated, as facts.clock_on cites a time of another day."""
    from datetime import datetime, timezone

    from tests.unit import builders
    monkeypatch.setattr(builders, "T0", datetime(2026, 11, 27, 0, 0, 30, tzinfo=timezone.utc))
    proposal = _with_newer(IN_FLIGHT["Ready reconciling"])
    assert f"{FIX}, created 2026-11-26 23:59:30 after {NEW}" in proposal.reason, proposal.reason
