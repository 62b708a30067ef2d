"""A read that follows next_page_token ends within its call's deadline, its pages included: the real
adapters over the stand-ins, each page slowed by the stand-in (`faults.add_latency`), each page's deadline
as the stand-in received it (`StandIn.deadlines`).

Every paged read the adapters make (ListLogEntries for the evidence and for live mode's incident search,
ListTimeSeries, ListRevisions for the evidence and for the timeline) is one `call_with_retry` attempt per
try, counted by the budgets at `CallPolicy.longest_run` (shared/remediation/sweep_budget.py,
tests/infra/test_settings.py). The GAPIC pagers give every page the whole timeout (pagers.py, `self._timeout`
on each page's call), and the adapters did the same, so a read of N slow pages ran up to N deadlines. Now the
pages share the attempt's deadline (`WaitDeadline.page_timeout`), and a read the deadline cuts short is a
transient fault (retried within the total, then the alert redelivered), never a partial answer read as whole.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from sandbox.standins.logging import EntrySeed, log_name_for
from sandbox.standins.monitoring import PointSeed, SeriesSeed
from sandbox.standins.server import StandIns
from shared.diagnosis.evidence import MetricQuery
from shared.errors import TransientError
from shared.gcp.endpoints import CallPolicy
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.run_references import CloudRunReferences

PROJECT = "demo-project"
SERVICE = "projects/demo-project/locations/us-central1/services/backend"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
STDOUT = log_name_for(PROJECT, "run.googleapis.com/stdout")
TIMELINE = log_name_for(PROJECT, "runwarden")
REVISION = {"project_id": PROJECT, "service_name": "backend", "revision_name": "backend-00001-abc",
            "location": "us-central1", "configuration_name": "backend"}
QUEUE = "custom.googleapis.com/queue_depth"
CONNECTORS = "projects/demo-project/locations/us-central1/connectors"
# One attempt of 1 s, within 1.5 s in all: a retry after a cut attempt would start with less than a whole
# attempt (`useful_attempt`, 1 s) left, so the read is one attempt, and its longest run is 1.5 s.
PAGED = CallPolicy(call_timeout=1.0, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=1.5)
PAGES = 8
SLACK = 0.3     # thread start-up and gRPC's timer grain, well under a page's latency


@dataclass(frozen=True)
class Read:
    """One paged read: its stand-in and RPC, how to seed `pages` pages of it, and the read itself."""

    name: str
    method: str
    standin: Callable[[StandIns], Any]
    seed: Callable[[StandIns, int], None]
    read: Callable[[], Any]
    whole: Callable[[Any, int], bool]     # the answer holds all that was seeded


def _log_lines(standins: StandIns, pages: int) -> None:
    # One stored entry examined per call (search_budget): each page holds one line, with a token to go on,
    # as Logging answers a search it has not finished.
    standins.logging.search_budget = 1
    standins.logging.add_entries([EntrySeed(STDOUT, T0 - timedelta(seconds=i), "cloud_run_revision", REVISION,
                                            "INFO", text=f"GET /orders {i}") for i in range(pages)])


def _incident_line(standins: StandIns, pages: int) -> None:
    # The `received` line live mode looks for, under newer lines the search examines first, one per page.
    standins.logging.search_budget = 1
    now = datetime.now(timezone.utc).replace(microsecond=0)
    standins.logging.add_entry(EntrySeed(TIMELINE, now - timedelta(hours=1), "cloud_run_revision", REVISION, "INFO",
                                         json={"runwarden": {"step": "received"}},
                                         labels={"runwarden_incident": "0.abc", "runwarden_step": "received"}))
    standins.logging.add_entries([EntrySeed(STDOUT, now - timedelta(seconds=i), "cloud_run_revision", REVISION,
                                            "INFO", text=f"GET /orders {i}") for i in range(pages - 1)])


def _points(standins: StandIns, pages: int) -> None:
    standins.monitoring.max_page_size = 1       # one point a page
    standins.monitoring.add_series(SeriesSeed(QUEUE, "global", {"project_id": PROJECT}, {"queue": "a"}, kind="GAUGE",
                                              points=tuple(PointSeed(T0 - timedelta(minutes=i), i)
                                                           for i in range(pages))))


def _revisions(standins: StandIns, pages: int) -> None:
    standins.run.revisions_page_size = 1        # one revision a page
    standins.run.add_service(SERVICE)
    for i in range(pages):
        standins.run.add_revision(SERVICE, f"backend-{i + 1:05d}-abc", T0 - timedelta(hours=pages - i),
                                  vpc_connector=f"{CONNECTORS}/conn-{i}")


def _log_read() -> Any:
    adapter = CloudLoggingAdapter(policy=PAGED)
    try:
        return adapter.list_entries(PROJECT, f'logName="{STDOUT}"', 1000)
    finally:
        adapter.close()


def _incident_search() -> Any:
    adapter = CloudLoggingAdapter(policy=PAGED)
    since = (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return adapter.list_payloads(PROJECT, 'labels.runwarden_incident="0.abc" AND labels.runwarden_step="received" '
                                              f'AND timestamp>="{since}"', 1)
    finally:
        adapter.close()


def _metric_read() -> Any:
    adapter = CloudMonitoringAdapter(policy=PAGED)
    try:
        return adapter.query(MetricQuery(project=PROJECT, metric_type=QUEUE, resource_type="global",
                                         start=T0 - timedelta(hours=1), end=T0, aligner="ALIGN_NONE",
                                         reducer="REDUCE_NONE"))
    finally:
        adapter.close()


def _revisions_read() -> Any:
    adapter = CloudRunAdapter(policy=PAGED)
    try:
        return adapter.list_revisions(SERVICE)
    finally:
        adapter.close()


def _references_read() -> Any:
    adapter = CloudRunReferences(policy=PAGED)
    try:
        return adapter.references(SERVICE)
    finally:
        adapter.close()


READS = [
    Read("evidence log read", "ListLogEntries", lambda s: s.logging, _log_lines, _log_read,
         lambda answer, pages: len(answer.entries) == pages and not answer.truncated),
    Read("live mode's incident search", "ListLogEntries", lambda s: s.logging, _incident_line, _incident_search,
         lambda answer, pages: [p for _, p in answer] == [{"runwarden": {"step": "received"}}]),
    Read("metric read", "ListTimeSeries", lambda s: s.monitoring, _points, _metric_read,
         lambda answer, pages: sum(len(s.end_us) for s in answer.series) == pages),
    Read("revisions read", "ListRevisions", lambda s: s.run, _revisions, _revisions_read,
         lambda answer, pages: len(answer) == pages),
    Read("the timeline's references read", "ListRevisions", lambda s: s.run, _revisions, _references_read,
         lambda answer, pages: len(answer.connectors) == pages),     # each revision names its own
]


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_a_read_of_slow_pages_ends_within_its_calls_longest_run_and_is_not_used_in_part(standin_env, read):
    """Eight pages at 0.3 s each (2.4 s) under a call of 1 s an attempt, 1.5 s in all: the read is cut where
    its deadline runs out and fails as a transient fault (the alert redelivered), having asked fewer pages
    than there are. Before, each page was given the whole 1 s and the read ran its 2.4 s to the end."""
    hang = 0.3
    read.seed(standin_env, PAGES)
    standin = read.standin(standin_env)
    standin.faults.add_latency(hang, method=read.method)
    started = time.monotonic()
    with pytest.raises(TransientError, match=read.method):
        read.read()
    took = time.monotonic() - started
    assert took <= PAGED.longest_run + SLACK, f"{read.name} ran {took:.2f}s, past its {PAGED.longest_run}s"
    deadlines = standin.deadlines(read.method)
    assert len(deadlines) < PAGES, deadlines        # cut short: not every page was asked
    _shared(deadlines, hang)


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_a_read_of_pages_within_its_deadline_is_read_whole_each_page_given_what_is_left(standin_env, read):
    """Three pages at 0.1 s each fit the 1 s attempt: read whole, in one attempt, each page's deadline what was
    left of the first's. Before, every page arrived with the whole 1 s."""
    hang, pages = 0.1, 3
    read.seed(standin_env, pages)
    standin = read.standin(standin_env)
    standin.faults.add_latency(hang, method=read.method)
    answer = read.read()
    assert read.whole(answer, pages), answer
    deadlines = standin.deadlines(read.method)
    assert len(deadlines) >= pages, deadlines
    _shared(deadlines, hang)


def _shared(deadlines: list[float | None], hang: float) -> None:
    """One attempt's pages: the first given the attempt's deadline, each later one what was left of it (at
    least `hang` less per page before it)."""
    assert all(d is not None for d in deadlines), deadlines
    assert deadlines[0] <= PAGED.call_timeout + 0.05, deadlines     # gRPC rounds a deadline up
    for i, d in enumerate(deadlines):
        assert d <= deadlines[0] - i * hang + 0.05, deadlines
