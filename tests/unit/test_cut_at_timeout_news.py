"""A p99 at the request timeout is news of a hang cut short only when it was not there before: a service
whose requests always run to the timeout (a long poll held just inside it, server-sent events, a stream)
keeps its p99 there every minute, failures or not (Facts.usual_timeouts). The timeout it is judged
against before the incident is that of the revisions that served then (Facts.before_timeout_seconds): a
deploy may have moved it. connector_saturation's `_cut_at_timeout`, read on Facts built in memory: no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence

S = DiagnosisSettings()
OLD, NEW = "inbox-00043-vop", "inbox-00044-paz"


def _world(*, before_p99: float, before_timeout: float, timeout: float, deployed: float | None,
           before_5xx: float = 0, now_p99: float = 30.0, connector_cpu: float | None = None) -> Evidence:
    """inbox, 250 requests a minute answered and 45 cut as 504s a minute over the incident window (from one
    lookback, 15 minutes, before the incident's start at minute 0), its p99 at `now_p99` there; in the lookback
    before it, `before_p99` and `before_5xx` 500s a minute. `deployed`: the minute NEW (at `timeout`) replaced
    OLD (at `before_timeout`), None when NEW served all along at `timeout`. `connector_cpu`: its connector at its 3
    max instances over the incident window with that CPU p99 (None: no connector read)."""
    e = Evidence(now=5)
    if connector_cpu is not None:
        e.connector(max_instances=3).connector_metric("instances", -45, 5, 3).connector_metric(
            "cpu", -45, 5, connector_cpu)
    if deployed is None:
        e.revision(NEW, -1440, timeout=timeout).traffic(inbox_00044_paz=100)
        e.requests(NEW, -45, -15, 250).latency(NEW, -45, -15, before_p99)
        if before_5xx:
            e.requests(NEW, -45, -15, before_5xx, code="500")
    else:
        e.revision(OLD, -1440, timeout=before_timeout).revision(NEW, deployed, timeout=timeout)
        e.traffic(inbox_00044_paz=100)
        e.requests(OLD, -45, deployed, 250).latency(OLD, -45, deployed, before_p99)
        e.requests(NEW, deployed, -15, 250).latency(NEW, deployed, -15, 0.98 * timeout)
    return e.requests(NEW, -15, 5, 250).requests(NEW, -15, 5, 45, code="504").latency(NEW, -15, 5, now_p99)


# name, world, whether the 504s at the timeout read as a hang cut short
CASES = [
    ("long polls held to 29 s inside the 30 s timeout all along: not news",
     dict(before_p99=29.0, before_timeout=30, timeout=30, deployed=None), False),
    ("a p99 of 1 s before, at the 30 s timeout now: news",
     dict(before_p99=1.0, before_timeout=30, timeout=30, deployed=None), True),
    ("a p99 at 22 s before (under 0.9 of the timeout), at 30 s now: news",
     dict(before_p99=22.0, before_timeout=30, timeout=30, deployed=None), True),
    ("at the timeout before, but failing then (5xx 10 %): not a clean baseline, news as before",
     dict(before_p99=29.0, before_timeout=30, timeout=30, deployed=None, before_5xx=28), True),
    ("a deploy raised the timeout from 25 s to 30 s; polls held to 24 s before it: not news",
     dict(before_p99=24.0, before_timeout=25, timeout=30, deployed=-20), False),
    ("a deploy raised the timeout from 10 s to 30 s; a p99 of 2 s before it: news",
     dict(before_p99=2.0, before_timeout=10, timeout=30, deployed=-20), True),
    ("a 10 s timeout cuts the 30-35 s hang at 10 s, the connector at its max with CPU p99 96 %: news",
     dict(before_p99=0.2, before_timeout=10, timeout=10, deployed=None, now_p99=10.0, connector_cpu=0.96), True),
    ("a 20 s timeout, the hang cut at 20 s, the connector at its ceiling; a p99 of 0.5 s before: news",
     dict(before_p99=0.5, before_timeout=20, timeout=20, deployed=None, now_p99=20.0, connector_cpu=0.96), True),
    ("a 10 s timeout, the connector at its max with CPU p99 30 % (a high-water mark): no hang cut short",
     dict(before_p99=0.2, before_timeout=10, timeout=10, deployed=None, now_p99=10.0, connector_cpu=0.3), False),
    ("a 5 s timeout, the connector at its max with CPU p99 35 %: a slow handler's, no hang cut short",
     dict(before_p99=0.2, before_timeout=5, timeout=5, deployed=None, now_p99=5.0, connector_cpu=0.35), False),
    ("a 10 s timeout, no connector read: nothing shows the connector's hang",
     dict(before_p99=0.2, before_timeout=10, timeout=10, deployed=None, now_p99=10.0), False),
    ("a 30 s timeout, the connector at its max with CPU p99 30 %: judged on the 504s as before",
     dict(before_p99=1.0, before_timeout=30, timeout=30, deployed=None, connector_cpu=0.3), True),
    ("a 10 s timeout, requests held to 9.5 s all along (long polls): not news",
     dict(before_p99=9.5, before_timeout=10, timeout=10, deployed=None, now_p99=10.0), False),
    ("a 60 s timeout, over hang_ceiling_seconds: the 30-35 s hang ends before it, in the band",
     dict(before_p99=0.2, before_timeout=60, timeout=60, deployed=None, now_p99=60.0), False),
]


@pytest.mark.parametrize("name,world,cut", CASES, ids=[c[0] for c in CASES])
def test_a_p99_at_the_timeout_is_a_hang_cut_short_only_when_it_is_news(name, world, cut):
    c = Citation(Signature.CONNECTOR_SATURATION)
    assert connector_saturation._cut_at_timeout(Facts(_world(**world).bundle(), S), c) is cut, \
        [(i.observed, i.threshold) for i in c.items]


def test_a_small_revision_at_its_own_short_timeout_says_nothing_of_anothers_hang():
    """Two revisions served before the incident: a small one whose requests sat at its own 5 s timeout, and the
    main one at 0.2 s under a 30 s timeout. Each revision's p99 is held against its own timeout: the small one's
    5 s is no sign that the main one's requests ran to 30 s, so its 504s at 30 s now are news."""
    small = "inbox-00042-sml"
    e = Evidence(now=5)
    e.revision(small, -2000, timeout=5).revision(NEW, -1440, timeout=30).traffic(inbox_00044_paz=95, inbox_00042_sml=5)
    e.requests(small, -45, 5, 12).latency(small, -45, 5, 4.8)
    e.requests(NEW, -45, -15, 250).latency(NEW, -45, -15, 0.2)
    e.requests(NEW, -15, 5, 250).requests(NEW, -15, 5, 45, code="504").latency(NEW, -15, 5, 30.0)
    facts = Facts(e.bundle(), S)
    c = Citation(Signature.CONNECTOR_SATURATION)
    assert facts.usual_timeouts == ""
    assert connector_saturation._cut_at_timeout(facts, c) is True, [(i.observed, i.threshold) for i in c.items]
