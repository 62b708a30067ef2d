"""Diagnosis is a pure function: a table of situations and what each must conclude."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis import diagnose
from shared.signatures import Signature

from tests.unit.builders import bundle, revision, window

S = DiagnosisSettings()  # min_requests 20, bad >= 20%, healthy <= 1%, deploy window 30 min
OLD, NEW = revision("backend-00001-abc", -180), revision("backend-00002-xyz", -10)
CLEAN_BASELINE = window({"backend-00001-abc": (2000, 0)}, -70, -10)

CASES = {
    "bad new revision, previous clean": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (200, 300)}), baseline=CLEAN_BASELINE,
        expect=Signature.BAD_REVISION, good="backend-00001-abc"),
    "too little traffic to judge": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (1, 2)}), baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="too little traffic"),
    "no data yet (monitoring lag)": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=window({}), baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="no request_count data"),
    "incident window not collected": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=None, baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="no request_count data"),
    "error ratio below the bad threshold": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (900, 100)}), baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="not failing enough"),
    "deploy long before the incident": dict(
        revs=[OLD, revision("backend-00002-xyz", -120)], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (200, 300)}), baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="not deployed shortly before"),
    "deploy after the incident began": dict(
        revs=[OLD, revision("backend-00002-xyz", +3)], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (200, 300)}), baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="not deployed shortly before"),
    "previous revision also failed before the deploy": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (200, 300)}),
        baseline=window({"backend-00001-abc": (1500, 500)}, -70, -10),
        expect=Signature.INCONCLUSIVE, why="no earlier revision is known"),
    "previous revision had too little baseline traffic": dict(
        revs=[OLD, NEW], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (200, 300)}),
        baseline=window({"backend-00001-abc": (5, 0)}, -70, -10),
        expect=Signature.INCONCLUSIVE, why="no earlier revision is known"),
    "only one revision exists": dict(
        revs=[NEW], split={"backend-00002-xyz": 100},
        incident=window({"backend-00002-xyz": (200, 300)}), baseline=window({}, -70, -10),
        expect=Signature.INCONCLUSIVE, why="no earlier revision is known"),
    "errors on both revisions of a split (shared cause)": dict(
        revs=[OLD, NEW], split={"backend-00001-abc": 50, "backend-00002-xyz": 50},
        incident=window({"backend-00002-xyz": (200, 300), "backend-00001-abc": (250, 250)}),
        baseline=CLEAN_BASELINE,
        expect=Signature.INCONCLUSIVE, why="not concentrated"),
    "split, errors only on the new revision": dict(
        revs=[OLD, NEW], split={"backend-00001-abc": 50, "backend-00002-xyz": 50},
        incident=window({"backend-00002-xyz": (200, 300), "backend-00001-abc": (500, 0)}),
        baseline=CLEAN_BASELINE,
        expect=Signature.BAD_REVISION, good="backend-00001-abc"),
    "failed revision in between is skipped, previous ready one is known-good": dict(
        revs=[OLD, revision("backend-00002-bad", -60, ready=False), revision("backend-00003-new", -10)],
        split={"backend-00003-new": 100},
        incident=window({"backend-00003-new": (200, 300)}), baseline=CLEAN_BASELINE,
        expect=Signature.BAD_REVISION, good="backend-00001-abc"),
    "no revision receives traffic": dict(
        revs=[OLD, NEW], split={},
        incident=window({}), baseline=None,
        expect=Signature.INCONCLUSIVE, why="no revision of the service is receiving traffic"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_diagnosis_table(case):
    result = diagnose(bundle(case["revs"], case["split"], case["incident"], case["baseline"]), S)

    assert result.signature is case["expect"], result.summary
    if case["expect"] is Signature.BAD_REVISION:
        assert result.known_good_revision == case["good"]
        assert result.confidence >= 0.75
        assert all(item.passed is not False for item in result.evidence)
    else:
        assert case["why"] in result.summary
        assert result.confidence == 0.0
        assert result.known_good_revision is None


def test_every_evidence_item_names_its_source_query_and_threshold():
    case = CASES["bad new revision, previous clean"]
    result = diagnose(bundle(case["revs"], case["split"], case["incident"], case["baseline"]), S)

    sources = {item.source for item in result.evidence}
    assert sources == {"api", "metric"}
    for item in result.evidence:
        assert item.query and item.observed and item.threshold
    assert any("300 of 500 requests 5xx (60.0%)" in item.observed for item in result.evidence)


def test_steps_back_counts_ready_revisions_only():
    revs = [revision("r1", -300), OLD, revision("r3-failed", -30, ready=False), NEW]
    baseline = window({"r1": (1000, 0), "backend-00001-abc": (10, 90)}, -70, -10)
    result = diagnose(bundle(revs, {"backend-00002-xyz": 100},
                             window({"backend-00002-xyz": (100, 400)}), baseline), S)

    assert result.signature is Signature.BAD_REVISION
    assert result.known_good_revision == "r1"
    assert result.steps_back == 2  # the planner's bound, not diagnosis, refuses this


def test_thresholds_come_from_settings():
    case = CASES["error ratio below the bad threshold"]  # 10% 5xx
    lenient = DiagnosisSettings(bad_error_ratio=0.05)
    result = diagnose(bundle(case["revs"], case["split"], case["incident"], case["baseline"]), lenient)
    assert result.signature is Signature.BAD_REVISION
