"""A split across three revisions where only the middle one fails: the oldest serving for hours, a release of the
deploy window failing at its share, a newer release serving cleanly beside both. The failing release is named,
with no rollback target (all traffic back to a revision before it would take the clean newer release's share too);
the recommendation moves its share alone. Never named when another revision fails as well, or when it was
deployed outside the window; the newest failing is judged as ever."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, SQL, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
OLDEST, MIDDLE, NEWEST = "backend-00001-aaa", "backend-00002-bbb", "backend-00003-ccc"


def _three(*, middle_created: float = -20, failing: tuple[str, ...] = (MIDDLE,)) -> Evidence:
    """OLDEST (hours old) at 50%, MIDDLE (deployed at `middle_created`) and NEWEST (at -5m) at 25% each, 20 requests
    a minute each of the two newer, 40 of the oldest; each revision in `failing` answers 60% of its requests 500."""
    e = (Evidence().revision(OLDEST, -300, sql=(SQL,)).revision(MIDDLE, middle_created, sql=(SQL,))
         .revision(NEWEST, -5, sql=(SQL,)).traffic(**{OLDEST: 50, MIDDLE: 25, NEWEST: 25}))
    for name, start, rate in ((OLDEST, -90, 40), (MIDDLE, middle_created, 20), (NEWEST, -5, 20)):
        bad = 0.6 * rate if name in failing else 0
        e = e.requests(name, start, 5, rate - bad).latency(name, start, 5, 0.2)
        if bad:
            e = e.requests(name, start if name != OLDEST else -10, 5, bad, code="500")
    return quiet_connector(e)


# (case, evidence, the suspect named or None)
CASES = [
    ("only the middle release fails: named, its share moved alone", _three(), MIDDLE),
    ("the newest fails too: not concentrated on the middle one", _three(failing=(MIDDLE, NEWEST)), NEWEST),
    ("the oldest fails too: not concentrated", _three(failing=(OLDEST, MIDDLE)), None),
    ("the middle release deployed 40 minutes before, outside the deploy window", _three(middle_created=-40), None),
]


@pytest.mark.parametrize("case,evidence,suspect", CASES, ids=[c[0] for c in CASES])
def test_a_failing_release_between_two_clean_ones_is_named_never_rolled_back_over_the_newer(case, evidence, suspect):
    bundle = evidence.bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)
    planned = plan(result, bundle, S)

    assert result.signature is not Signature.HEALTHY, result.summary
    if suspect == MIDDLE:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert result.suspect_revision == MIDDLE and result.known_good_revision is None
        assert f"{NEWEST}, deployed after it and serving 25% cleanly" in result.no_target_reason
        assert f"--to-revisions {OLDEST}=75,{NEWEST}=25" in result.recommendation
        assert planned.action is None
    else:
        assert result.suspect_revision != MIDDLE, result.summary
        if suspect is None:
            assert result.signature is not Signature.BAD_REVISION, result.summary
            assert planned.action is None


# A call another Cloud Run service answered 503 (requests' words; log_signals' passed-on lines).
PASSED_ON = ("requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
             "https://inventory-418273645012.us-central1.run.app/stock?sku=A-{}")


def _two() -> Evidence:
    """MIDDLE as the newest of two: OLDEST at 75 %, MIDDLE at 25 % failing as in `_three`."""
    e = (Evidence().revision(OLDEST, -300, sql=(SQL,)).revision(MIDDLE, -20, sql=(SQL,))
         .traffic(**{OLDEST: 75, MIDDLE: 25}).requests(OLDEST, -90, 5, 40).latency(OLDEST, -90, 5, 0.2)
         .requests(MIDDLE, -20, 5, 8).requests(MIDDLE, -20, 5, 12, code="500").latency(MIDDLE, -20, 5, 0.2))
    return quiet_connector(e)


@pytest.mark.parametrize("split", [_three, _two], ids=[
    "the middle of three (before: bad_revision 0.9, checked for 4 of the newest's doubts only)",
    "the newest of two, as ever"])
def test_failures_passed_on_from_another_service_are_not_named_the_release_s_own(split):
    # Three lines a minute on MIDDLE, each a call inventory answered 503: the newest's judge doubts them; a revision
    # named by the split's path is cleared of the same doubts (bad_revision._not_its_own).
    e = split()
    for i in range(75):
        e.log(-20 + i / 3, PASSED_ON.format(i), revision=MIDDLE)
    bundle = e.bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "another Cloud Run service" in result.summary and "inventory-" in result.summary, result.summary
    assert plan(result, bundle, S).action is None


BETWEEN = "backend-00002-xyz"


def _three_past_an_unshared_neighbour(*, oldest_share: int = 50) -> Evidence:
    """`_three`, with BETWEEN (created two hours ago, after OLDEST) serving until MIDDLE's deploy took its share:
    MIDDLE's earlier neighbour, the revision it replaced, holds none of the split now. With `oldest_share` 0, OLDEST
    is gone from the split too and a fourth clean revision, NEWER (at -10m), holds its share."""
    newer = "backend-00003-nnn"
    e = (Evidence().revision(OLDEST, -300, sql=(SQL,)).revision(BETWEEN, -120, sql=(SQL,))
         .revision(MIDDLE, -20, sql=(SQL,)))
    if oldest_share:
        e = (e.revision(NEWEST, -5, sql=(SQL,)).traffic(**{OLDEST: oldest_share, MIDDLE: 25, NEWEST: 25})
             .requests(OLDEST, -90, 5, 40).latency(OLDEST, -90, 5, 0.2))
    else:
        e = (e.revision(newer, -10, sql=(SQL,)).revision(NEWEST, -5, sql=(SQL,))
             .traffic(**{newer: 50, MIDDLE: 25, NEWEST: 25}).requests(newer, -10, 5, 40).latency(newer, -10, 5, 0.2))
    e = (e.requests(BETWEEN, -90, -20, 20).latency(BETWEEN, -90, -20, 0.2)
         .requests(MIDDLE, -20, 5, 8).requests(MIDDLE, -20, 5, 12, code="500").latency(MIDDLE, -20, 5, 0.2)
         .requests(NEWEST, -5, 5, 20).latency(NEWEST, -5, 5, 0.2))
    return quiet_connector(e)


# evidence -> the command's split: the failing share moved alone, to the revision that served cleanly
SHARE_MOVED = {
    "the neighbour it replaced holds no share: to the older clean one": (
        _three_past_an_unshared_neighbour, f"--to-revisions {OLDEST}=75,{NEWEST}=25"),
    "no revision before it holds a share: to the clean one holding most": (
        lambda: _three_past_an_unshared_neighbour(oldest_share=0),
        f"--to-revisions backend-00003-nnn=75,{NEWEST}=25"),
}


@pytest.mark.parametrize("evidence, split", SHARE_MOVED.values(), ids=SHARE_MOVED.keys())
def test_the_failing_share_is_moved_by_a_command_whatever_its_neighbour_holds(evidence, split):
    bundle = evidence().bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == MIDDLE, result.summary
    assert result.known_good_revision is None and plan(result, bundle, S).action is None
    assert "gcloud run services update-traffic backend " + split in result.recommendation, result.recommendation
    assert "by hand" not in result.recommendation, result.recommendation


def test_a_revision_holding_two_entries_keeps_both_shares_in_the_command():
    """NEWEST's 25% held as two entries of the split (15% untagged, 10% tagged `blue`): the line that moves MIDDLE's
    share keeps NEWEST's whole 25%, as planning._shares_beside sums a revision's entries (before, the second entry
    overwrote the first: `NEWEST=10`, a split of 85%)."""
    bundle = _three().bundle().model_copy(update={"alert": FIVE_XX_RATIO})
    statuses = []
    for t in bundle.service.traffic_statuses:
        if t.revision == NEWEST:
            statuses += [t.model_copy(update={"percent": 15}), t.model_copy(update={"percent": 10, "tag": "blue"})]
        else:
            statuses.append(t)
    bundle = bundle.model_copy(update={"service": bundle.service.model_copy(
        update={"traffic_statuses": tuple(statuses), "traffic": tuple(statuses)})})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == MIDDLE, result.summary
    assert f"--to-revisions {OLDEST}=75,{NEWEST}=25" in result.recommendation, result.recommendation


def _newest_through(tags: tuple[TrafficTarget, ...] = ()):
    """`_three`, NEWEST's 25% held through LATEST (`--to-revisions OLDEST=50,MIDDLE=25,LATEST=25`: the split follows
    each new release), its status naming NEWEST as the adapter resolves it; `tags` added to the split at 0%."""
    bundle = _three().bundle().model_copy(update={"alert": FIVE_XX_RATIO})
    latest = TrafficTarget(type=TrafficType.LATEST, revision=NEWEST, percent=25)
    statuses = tuple(latest if t.revision == NEWEST else t for t in bundle.service.traffic_statuses) + tags
    traffic = tuple(latest.model_copy(update={"revision": None}) if t.revision == NEWEST else t
                    for t in bundle.service.traffic) + tags
    service = bundle.service.model_copy(update={"traffic_statuses": statuses, "traffic": traffic,
                                                "latest_ready_revision": NEWEST})
    return bundle.model_copy(update={"service": service})


# The split's LATEST share, reaching the clean newest release, is kept as LATEST. Before: pinned by NEWEST's name,
# the split no longer following new releases, and no tag named.
LATEST_KEPT = {
    "LATEST's status naming the newest": (_newest_through, f"{OLDEST}=75,LATEST=25"),
    "a tag-only target on the oldest named to stay": (
        lambda: _newest_through((TrafficTarget(type=TrafficType.REVISION, revision=OLDEST, percent=0, tag="stable"),)),
        f"{OLDEST}=75,LATEST=25 --update-tags=stable={OLDEST}"),
}


@pytest.mark.parametrize("bundle, split", LATEST_KEPT.values(), ids=LATEST_KEPT.keys())
def test_a_latest_share_beside_the_failing_release_is_kept_as_latest(bundle, split):
    result = diagnose(bundle(), S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == MIDDLE, result.summary
    assert "gcloud run services update-traffic backend --to-revisions " + split + " --region" in result.recommendation, \
        result.recommendation
