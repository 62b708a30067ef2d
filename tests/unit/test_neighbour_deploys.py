"""A service alert's connector saturation on a shared connector, with another service behind it that began serving a
new revision shortly before the connector's load rose: the neighbour's deploy is named beside the scale (service,
revision, when it began serving, who deployed it, how long before the rise), never acted on. A deploy after the rise,
long before it, on another connector, or not serving is not named; several that line up are each named. The decision
(scaled or held) never changes: only the words after "Also found:"."""
from __future__ import annotations

import pytest

from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.connector_names import NOT_MANAGED
from shared.diagnosis.neighbour_deploys import Neighbour, Outside, connector_rise, named_beside
from shared.diagnosis.notable import rule_words
from shared.diagnosis.scope import ServiceResult, held_by_peers
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, Evidence
from tests.unit.test_connector_peer_users import BACKEND, OTHER, REPORTS, saturated
from tests.unit.test_service_alert_connector_peers import S

NEW = "reports-00042-new"
OLDER = "reports-00041-old"


def deployed(minutes: float, *, connector: str = CONNECTOR, serving: bool = True, ready: bool = True) -> Evidence:
    """reports, idle behind `connector` (a request a minute: no evidence for or against it), its revision NEW created
    and ready at `minutes` (relative to now), by deploy@example.com, serving all its traffic (or none)."""
    split = {NEW: 100} if serving else {OLDER: 100}
    return (Evidence().revision(OLDER, -300, connector=connector)
            .revision(NEW, minutes, ready, connector=connector, creator="deploy@example.com")
            .traffic(**split).requests(NEW if serving else OLDER, -90, 5, 1))


def failing() -> ServiceResult:
    bundle = saturated().bundle()
    return ServiceResult(BACKEND, bundle, diagnose(bundle, S))


# the neighbours' revisions (the connector's load rises at -8m, the minute ending -7m) -> the revisions named
CASES = {
    "ready 4 min before the rise: named": ([deployed(-11)], [NEW]),
    "ready a minute before the rise: named": ([deployed(-8.5)], [NEW]),
    "ready after the rise: not named": ([deployed(-5)], []),
    "ready long before the rise (40 min): not named": ([deployed(-47)], []),
    "ready just past the 15-minute bound: not named": ([deployed(-23)], []),
    "on another connector: not named": ([deployed(-11, connector=OTHER)], []),
    "created but serving no traffic: not named": ([deployed(-11, serving=False)], []),
    "failed to become ready: not named": ([deployed(-11, ready=False)], []),
    "no neighbour: nothing named": ([], []),
}


@pytest.mark.parametrize("peers, named", CASES.values(), ids=CASES.keys())
def test_a_neighbours_deploy_is_named_only_when_it_lines_up_with_the_rise(peers, named):
    result = failing()
    bundles = [(REPORTS, p.bundle()) for p in peers]
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, bundles, S)

    for name in named:
        assert name in judged.summary
    assert ("deployed" in judged.summary) is bool(named), judged.summary
    # Only words: the decision and what planning reads are unchanged.
    assert (judged.signature, judged.confidence, judged.recommendation) == (
        result.diagnosis.signature, result.diagnosis.confidence, result.diagnosis.recommendation)
    assert rule_words(judged.summary).rstrip(".") == rule_words(result.diagnosis.summary).rstrip(".")
    assert plan(judged, result.bundle, S).action == plan(result.diagnosis, result.bundle, S).action


def test_the_deploy_is_named_with_who_when_and_how_long_before_the_rise():
    result = failing()
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, [(REPORTS, deployed(-11).bundle())], S)
    assert "reports deployed reports-00042-new by deploy@example.com" in judged.summary
    assert "load rose 4 min after reports-00042-new began serving" in judged.summary
    assert "does not roll back another service" in judged.summary
    assert judged.evidence[-1].role == "context" and "15 min" in judged.evidence[-1].threshold


def test_several_neighbours_that_line_up_are_each_named():
    result = failing()
    second = "jobs"
    bundles = [(REPORTS, deployed(-11).bundle()), (second, deployed(-10).bundle())]
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, bundles, S)
    assert "several neighbours deployed" in judged.summary
    assert judged.summary.count(NEW) >= 2


def test_a_connector_saturated_from_the_first_minute_read_has_no_rise_and_names_nobody():
    always = (Evidence().revision("backend-00001-abc", -300).traffic(**{"backend-00001-abc": 100})
              .requests("backend-00001-abc", -90, 5, 200).requests("backend-00001-abc", -6, 5, 50, code="503")
              .latency("backend-00001-abc", -90, -6, 0.09).latency("backend-00001-abc", -6, 5, 31.0)
              .connector(max_instances=3).connector_metric("instances", -90, 5, 3)
              .connector_metric("cpu", -90, 5, 0.9).connector_metric("bytes", -90, 5, 4e6)).bundle()
    assert connector_rise(Facts(always, S)) is None
    result = ServiceResult(BACKEND, always, diagnose(always, S))
    judged = named_beside(result.diagnosis, always, CONNECTOR, [(REPORTS, deployed(-11).bundle())], S)
    assert judged == result.diagnosis


def test_a_scale_held_back_for_a_clean_peer_still_names_the_deploy():
    result = failing()
    busy = (Evidence().revision(NEW, -11, creator="deploy@example.com").traffic(**{NEW: 100})
            .requests(NEW, -90, 5, 120).latency(NEW, -90, 5, 0.08))
    held = held_by_peers(result, CONNECTOR, [(REPORTS, busy.bundle())], [], S, 7)
    judged = named_beside(held, result.bundle, CONNECTOR, [(REPORTS, busy.bundle())], S)
    assert judged.signature is held.signature and NEW in judged.summary


def outside(ev: Evidence, name: str = "exports") -> Neighbour:
    """A neighbour not in the config as its listing and ListRevisions read it."""
    bundle = ev.bundle()
    return Neighbour(name, bundle.service, tuple(bundle.revisions), managed=False)


# what was read of the services not in the config (connector's rise at -8m) -> named, and the words that must be there
OUTSIDE_CASES = {
    "not in the config, ready 4 min before the rise: named, as read only": (
        Outside((outside(deployed(-11)),)), [NEW, f"exports ({NOT_MANAGED}) deployed"]),
    "not in the config, ready after the rise: not named": (Outside((outside(deployed(-5)),)), []),
    "not in the config, on another connector: not named": (Outside((outside(deployed(-11, connector=OTHER)),)), []),
    "not in the config, not serving: not named": (Outside((outside(deployed(-11, serving=False)),)), []),
    "the list refused: said, nothing named": (
        Outside(unlooked="the services of projects/p/locations/r could not be listed (PERMISSION_DENIED)"),
        ["is not known", "PERMISSION_DENIED"]),
    "every service looked at, none behind it: nothing said": (Outside(), []),
}


@pytest.mark.parametrize("read, words", OUTSIDE_CASES.values(), ids=OUTSIDE_CASES.keys())
def test_a_neighbour_not_in_the_config_is_held_to_the_same_bar_and_a_refused_list_is_only_said(read, words):
    result = failing()
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, [], S, read)

    for said in words:
        assert said in judged.summary, judged.summary
    assert (NEW in judged.summary) is any(w == NEW for w in words), judged.summary
    if not words:
        assert judged.summary == result.diagnosis.summary
    # Only words: the decision and what planning reads are unchanged, whatever was or was not read.
    assert (judged.signature, judged.confidence, judged.recommendation) == (
        result.diagnosis.signature, result.diagnosis.confidence, result.diagnosis.recommendation)
    assert rule_words(judged.summary).rstrip(".") == rule_words(result.diagnosis.summary).rstrip(".")
    assert plan(judged, result.bundle, S).action == plan(result.diagnosis, result.bundle, S).action
