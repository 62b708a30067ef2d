"""A p99 hang band (above hang_latency_seconds, below 0.9 x the request timeout) is news only when the p99 did not
hold there before the incident while the service served cleanly (Facts.usual_hangs). The band before the incident
is bounded by the timeout of the revisions that served then (Revision.timeout, google/cloud/run/v2/revision.proto,
each revision its own), as Facts._pinned_minutes holds each revision's p99 to its own timeout: a deploy that moved
the timeout moved the band. Facts built in memory: no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.facts import Facts

from tests.unit.builders import Evidence

S = DiagnosisSettings()
OLD, NEW = "ledger-00017-kiv", "ledger-00018-wod"


def _world(*, before_timeout: float, before_p99: float, timeout: float, now_p99: float,
           deployed: float | None = -15) -> Facts:
    """ledger, 200 requests a minute for 45 minutes, clean before the incident window (its last 20 minutes) and
    30 503s a minute in it. OLD (at `before_timeout`, p99 `before_p99`) served until `deployed`, NEW (at
    `timeout`, p99 `now_p99`) since; `deployed` None: NEW served all along, at `timeout`."""
    e = Evidence(now=5)
    if deployed is None:
        e.revision(NEW, -1440, timeout=timeout).traffic(ledger_00018_wod=100)
        e.requests(NEW, -45, -15, 200).latency(NEW, -45, -15, before_p99)
    else:
        e.revision(OLD, -1440, timeout=before_timeout).revision(NEW, deployed, timeout=timeout)
        e.traffic(ledger_00018_wod=100)
        e.requests(OLD, -45, deployed, 200).latency(OLD, -45, deployed, before_p99)
    return Facts(e.requests(NEW, -15, 5, 200).requests(NEW, -15, 5, 30, code="503")
                 .latency(NEW, -15, 5, now_p99).bundle(), S)


# name, world, whether the band before the incident is the service's usual, whether the incident's band is news
CASES = [
    ("the deploy cut the timeout from 300 s to 60 s: long requests at 90 s before were in the band of their time",
     dict(before_timeout=300, before_p99=90.0, timeout=60, now_p99=35.0), True, False),
    ("the deploy raised the timeout from 60 s to 300 s: a p99 at 56 s before sat at the timeout of its time, "
     "not in its band; a p99 at 90 s now is news",
     dict(before_timeout=60, before_p99=56.0, timeout=300, now_p99=90.0), False, True),
    ("the deploy raised the timeout from 30 s to 300 s: a p99 at 28.5 s before sat at the timeout of its time",
     dict(before_timeout=30, before_p99=28.5, timeout=300, now_p99=60.0), False, True),
    # Controls: the timeout unchanged, or changed with a p99 inside both bands or under both.
    ("no deploy, the timeout 300 s: long requests at 90 s all along are the usual band",
     dict(before_timeout=300, before_p99=90.0, timeout=300, now_p99=90.0, deployed=None), True, False),
    ("no deploy, the timeout 60 s: a p99 of 0.3 s before, 35 s now is news",
     dict(before_timeout=60, before_p99=0.3, timeout=60, now_p99=35.0, deployed=None), False, True),
    ("the deploy cut the timeout from 300 s to 60 s: a p99 at 35 s before was in both bands",
     dict(before_timeout=300, before_p99=35.0, timeout=60, now_p99=35.0), True, False),
    ("the deploy raised the timeout from 60 s to 300 s: a p99 of 0.3 s before, 90 s now is news",
     dict(before_timeout=60, before_p99=0.3, timeout=300, now_p99=90.0), False, True),
]


@pytest.mark.parametrize("name,world,usual,news", CASES, ids=[c[0] for c in CASES])
def test_the_band_before_the_incident_is_that_of_the_timeout_of_its_time(name, world, usual, news):
    facts = _world(**world)
    assert facts.served_cleanly_before is not None
    assert bool(facts.usual_hangs) is usual, facts.usual_hangs
    assert facts.hangs.news is news, facts.hangs


def test_a_split_before_the_incident_is_judged_revision_by_revision():
    """Before the incident OLD (300 s timeout, its long requests at 90 s) carried 80 % of the requests and a canary
    at 60 s (its p99 0.3 s) the rest; the newest, NEW, serves at 60 s now. Held to each one's own timeout, the
    revisions in the band carried most requests each minute: the band was the service's usual."""
    canary = "ledger-00016-can"
    e = Evidence(now=5)
    e.revision(canary, -2000, timeout=60).revision(OLD, -1440, timeout=300).revision(NEW, -15, timeout=60)
    e.traffic(ledger_00018_wod=100)
    e.requests(OLD, -45, -15, 160).latency(OLD, -45, -15, 90.0)
    e.requests(canary, -45, -15, 40).latency(canary, -45, -15, 0.3)
    facts = Facts(e.requests(NEW, -15, 5, 200).requests(NEW, -15, 5, 30, code="503")
                  .latency(NEW, -15, 5, 35.0).bundle(), S)
    assert facts.usual_hangs, facts.usual_hangs
    assert facts.hangs.news is False
