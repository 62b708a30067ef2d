"""Every path of bad_revision that names a revision the cause and ends in a rollback or in a share a person is told
to move asks whether its failures are dials waiting on a full connector: the middle release of a three-way split,
a tag-only revision reached through its tag URL, a deploy superseded by a change since the incident began. With
the connector already full before the deploy, each is held, said held by the full connector; with the connector
idle until the deploy on the same load (the deploy's own connections), each is named as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, SQL, Evidence

S = DiagnosisSettings()
OLD, MIDDLE, NEW, LATER = "backend-00001-aaa", "backend-00002-bbb", "backend-00003-ccc", "backend-00004-ddd"
DIAL = "dial tcp 10.20.0.3:5432: i/o timeout"


def _connector(e: Evidence, suspect: str, created: int, already: bool) -> Evidence:
    """The connector at 2 of its 3 instances and CPU p99 30 %, at its max and 95 % from 3 minutes before `created`
    (`already`) or from the minute after it; `suspect` logs 5 dials a minute that timed out from 2 minutes after."""
    full_from = created - 3 if already else created + 1
    e = (e.connector(max_instances=3).connector_metric("instances", -90, full_from, 2)
         .connector_metric("instances", full_from, 5, 3).connector_metric("cpu", -90, full_from, 0.3)
         .connector_metric("cpu", full_from, 5, 0.95).connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))
    for m in range(created + 2, 1):
        e = e.log(m, DIAL, suspect, count=5)
    return e


def middle_of_three(already: bool) -> Evidence:
    """OLD (hours old) at 50 %, MIDDLE (-20m) and NEW (-5m) at 25 % each, 80 requests a minute in all (OLD's, before
    the deploys); MIDDLE answers 60 % of its requests 500."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(MIDDLE, -20, sql=(SQL,)).revision(NEW, -5, sql=(SQL,))
         .traffic(**{OLD: 50, MIDDLE: 25, NEW: 25})
         .requests(OLD, -90, -20, 80).requests(OLD, -20, -5, 60).requests(OLD, -5, 5, 40).latency(OLD, -90, 5, 0.2)
         .requests(NEW, -5, 5, 20).latency(NEW, -5, 5, 0.2).requests(MIDDLE, -20, 5, 8).requests(MIDDLE, -20, 5, 12, code="500").latency(MIDDLE, -20, 5, 0.2))
    return _connector(e, MIDDLE, -20, already)


def tag_only(already: bool) -> Evidence:
    """OLD, hours old, holds 100 %; NEW, deployed at -10m with `--no-traffic --tag canary`, answers 6 of its 10
    requests a minute 500 through its tagged URL."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{OLD: 100})
         .tag(NEW, "canary").requests(OLD, -90, 5, 40).latency(OLD, -90, 5, 0.2)
         .requests(NEW, -10, 5, 4).requests(NEW, -10, 5, 6, code="500").latency(NEW, -10, 5, 0.2))
    return _connector(e, NEW, -10, already)


def superseded(already: bool) -> Evidence:
    """OLD (hours old) at 90 %, NEW (-13m) at 5 % answering 60 % of its requests 500, LATER created at -2m (since
    the incident began) at 5 % serving cleanly."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -13, sql=(SQL,)).revision(LATER, -2, sql=(SQL,))
         .traffic(**{OLD: 90, NEW: 5, LATER: 5})
         .requests(OLD, -90, 5, 400).latency(OLD, -90, 5, 0.2).requests(LATER, -2, 5, 20).latency(LATER, -2, 5, 0.2)
         .requests(NEW, -13, 5, 8).requests(NEW, -13, 5, 12, code="500").latency(NEW, -13, 5, 0.2))
    return _connector(e, NEW, -13, already)


PATHS = {"the middle release of three": (middle_of_three, MIDDLE), "a tag-only revision": (tag_only, NEW),
         "a deploy superseded since the incident began": (superseded, NEW)}


def run(e: Evidence):
    bundle = e.bundle().model_copy(update={"alert": FIVE_XX_RATIO})
    result = diagnose(bundle, S)
    return result, plan(result, bundle, S)


@pytest.mark.parametrize("path", PATHS)
def test_a_connector_full_before_the_deploy_holds_every_path(path):
    build, suspect = PATHS[path]
    result, chosen = run(build(already=True))
    assert chosen.action is None, result.summary
    assert result.signature is not Signature.BAD_REVISION, result.summary
    assert "held by the full connector backend-conn" in result.summary and suspect in result.summary, result.summary
    assert "already near full before" in result.summary, result.summary


@pytest.mark.parametrize("path", PATHS)
def test_a_connector_filled_after_the_deploy_holds_every_path_too(path):
    # Idle before the deploy, full after: the deploy's load or a neighbour's on the shared connector; held, said so.
    build, suspect = PATHS[path]
    result, chosen = run(build(already=False))
    assert chosen.action is None, result.summary
    assert "held by the full connector backend-conn" in result.summary and suspect in result.summary, result.summary
    assert "not near full in the 15 minutes before" in result.summary, result.summary
