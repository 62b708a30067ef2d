"""A read that follows next_page_token ends within its call's deadline, its pages and retries included, and a
retry resumes at the page a fault cut: the real adapters over the stand-ins, each page slowed by the stand-in
(`faults.add_latency`) or failed (`faults.fail_next(..., after=k)`), each page's deadline and token as the
stand-in received them (`StandIn.deadlines`, `StandIn.requests`).

Every paged read the adapters make (ListLogEntries for the evidence and for live mode's incident search,
ListTimeSeries, ListRevisions for the evidence and for the timeline) is one `call_with_retry`, counted by the
budgets at `CallPolicy.longest_run` (shared/remediation/sweep_budget.py, tests/infra/test_settings.py). The
GAPIC pagers give every page the whole timeout (pagers.py, `self._timeout` on each page's call), so a read of N
slow pages ran up to N deadlines; then (waitpages) the pages shared one attempt's deadline and a retry began at
page one, so a read that needed more than one attempt's call_timeout failed every attempt alike, the alert
redelivered to its dead-letter. Now each page is given at most call_timeout, cut to what is left of the call's
total (`endpoints.PageCursor`), a retry asks the page that failed again with its token, and a read the total
cuts short is never a partial answer read as whole: an evidence read says it is incomplete (IncompleteReadError),
live mode's incident search says so too, the others are a transient fault.
"""
from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from sandbox.standins.logging import EntrySeed, log_name_for
from sandbox.standins.monitoring import PointSeed, SeriesSeed
from sandbox.standins.server import StandIns
from shared.diagnosis.evidence import MetricQuery
from shared.errors import IncompleteReadError, TransientError
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
# Pages of 1 s at most, within 1.5 s in all: a retry after a cut page would start with less than a whole
# attempt (`useful_attempt`, 1 s) left, so the read is one attempt, and its longest run is 1.5 s.
PAGED = CallPolicy(call_timeout=1.0, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=1.5)
PAGES = 8
SLACK = 0.3     # thread start-up and gRPC's timer grain, well under a page's latency
# Pages of 1 s at most within 4 s in all: a read of six 0.3 s pages (1.8 s) needs more than one page's deadline.
LONG = CallPolicy(call_timeout=1.0, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=4.0)


@dataclass(frozen=True)
class Read:
    """One paged read: its stand-in and RPC, how to seed `pages` pages of it, and the read itself."""

    name: str
    method: str
    standin: Callable[[StandIns], Any]
    seed: Callable[[StandIns, int], None]
    read: Callable[..., Any]
    whole: Callable[[Any, int], bool]     # the answer holds all that was seeded
    token: Callable[[Any], str]           # a request's page_token
    # What a read still paging when its total runs out raises: an evidence read (Logging's, Monitoring's) says it
    # is incomplete, a gap the diagnosis escalates on (IncompleteReadError, INCOMPLETE_ANSWER), and so does live
    # mode's incident search (a person told how far it got, not "could not read"); the others are transient faults.
    cut: type = TransientError


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


def _reading(adapter: Callable[..., Any], policy: CallPolicy, read: Callable[[Any], Any]) -> Any:
    """`read` with an adapter of the kind `adapter` built under `policy`, closed after, whatever the read raised."""
    with closing(adapter(policy=policy)) as built:
        return read(built)


def _log_read(policy: CallPolicy = PAGED) -> Any:
    return _reading(CloudLoggingAdapter, policy, lambda a: a.list_entries(PROJECT, f'logName="{STDOUT}"', 1000))


def _incident_search(policy: CallPolicy = PAGED) -> Any:
    since = (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wanted = f'labels.runwarden_incident="0.abc" AND labels.runwarden_step="received" AND timestamp>="{since}"'
    return _reading(CloudLoggingAdapter, policy, lambda a: a.list_payloads(PROJECT, wanted, 1))


def _metric_read(policy: CallPolicy = PAGED) -> Any:
    query = MetricQuery(project=PROJECT, metric_type=QUEUE, resource_type="global", start=T0 - timedelta(hours=1),
                        end=T0, aligner="ALIGN_NONE", reducer="REDUCE_NONE")
    return _reading(CloudMonitoringAdapter, policy, lambda a: a.query(query))


def _revisions_read(policy: CallPolicy = PAGED) -> Any:
    return _reading(CloudRunAdapter, policy, lambda a: a.list_revisions(SERVICE))


def _references_read(policy: CallPolicy = PAGED) -> Any:
    return _reading(CloudRunReferences, policy, lambda a: a.references(SERVICE))


def _token(request: Any) -> str:
    return request.page_token


READS = [
    Read("evidence log read", "ListLogEntries", lambda s: s.logging, _log_lines, _log_read,
         lambda answer, pages: len(answer.entries) == pages and not answer.truncated, _token, IncompleteReadError),
    # Live mode's incident search cut short is incomplete too (before, a transient fault: retried from
    # its first page with the same 30 s, it ran out again, and live mode said it could not read the project).
    Read("live mode's incident search", "ListLogEntries", lambda s: s.logging, _incident_line, _incident_search,
         lambda answer, pages: [p for _, p in answer] == [{"runwarden": {"step": "received"}}], _token,
         IncompleteReadError),
    Read("metric read", "ListTimeSeries", lambda s: s.monitoring, _points, _metric_read,
         lambda answer, pages: sum(len(s.end_us) for s in answer.series) == pages, _token, IncompleteReadError),
    Read("revisions read", "ListRevisions", lambda s: s.run, _revisions, _revisions_read,
         lambda answer, pages: len(answer) == pages, _token),
    Read("the timeline's references read", "ListRevisions", lambda s: s.run, _revisions, _references_read,
         lambda answer, pages: len(answer.connectors) == pages, _token),     # each revision names its own
]


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_a_read_of_slow_pages_ends_within_its_calls_longest_run_and_is_not_used_in_part(standin_env, read):
    """Eight pages at 0.3 s each (2.4 s) under pages of 1 s at most, 1.5 s in all: the read is cut where the
    call's total runs out and fails, having asked fewer pages than there are: an evidence read as incomplete
    (a gap, named with its pages: pagepartial; before, a transient fault, the alert redelivered), the others as
    a transient fault. Before waitpages, each page was given the whole 1 s and the read ran its 2.4 s to the end."""
    hang = 0.3
    read.seed(standin_env, PAGES)
    standin = read.standin(standin_env)
    standin.faults.add_latency(hang, method=read.method)
    started = time.monotonic()
    with pytest.raises(read.cut, match=read.method) as raised:
        read.read()
    if read.cut is IncompleteReadError:
        assert raised.value.code == "INCOMPLETE_ANSWER" and "page(s) read" in str(raised.value), raised.value
    took = time.monotonic() - started
    assert took <= PAGED.longest_run + SLACK, f"{read.name} ran {took:.2f}s, past its {PAGED.longest_run}s"
    deadlines = standin.deadlines(read.method)
    assert len(deadlines) < PAGES, deadlines        # cut short: not every page was asked
    _once_each(standin, read)                       # a page cut by the total is not asked again
    _within_total(deadlines, hang, PAGED)


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_a_read_of_pages_within_its_deadline_is_read_whole_each_page_within_the_calls_total(standin_env, read):
    """Three pages at 0.1 s each fit the 1 s attempt: read whole, in one pass, no page asked twice, each page
    given at most call_timeout and never more than is left of the call's total."""
    hang, pages = 0.1, 3
    read.seed(standin_env, pages)
    standin = read.standin(standin_env)
    standin.faults.add_latency(hang, method=read.method)
    answer = read.read()
    assert read.whole(answer, pages), answer
    _once_each(standin, read)
    _within_total(standin.deadlines(read.method), hang, PAGED)


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_a_read_longer_than_one_pages_deadline_is_read_whole_within_the_calls_total(standin_env, read):
    """Six pages at 0.3 s each (1.8 s) under pages of 1 s and a total of 4 s: read whole, each page asked once.
    Before, the pages shared one attempt's 1 s: every attempt was cut after three pages and began again at
    page one, and the read failed (the alert redelivered until its dead-letter policy, as a real Logging
    search slower than one call_timeout across its pages did)."""
    hang, pages = 0.3, 6
    read.seed(standin_env, pages)
    standin = read.standin(standin_env)
    standin.faults.add_latency(hang, method=read.method)
    started = time.monotonic()
    answer = read.read(LONG)
    assert time.monotonic() - started <= LONG.longest_run + SLACK
    assert read.whole(answer, pages), answer
    _once_each(standin, read)
    _within_total(standin.deadlines(read.method), hang, LONG)


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_a_retry_resumes_at_the_page_that_failed_with_its_token(standin_env, read):
    """Page three of five fails UNAVAILABLE once: the retry asks page three again, with the token page two
    gave, and the answer is whole, pages one and two asked once. Before, the retry began again at page one."""
    pages = 5
    read.seed(standin_env, pages)
    standin = read.standin(standin_env)
    standin.faults.fail_next(1, method=read.method, after=2)
    answer = read.read(LONG)
    assert read.whole(answer, pages), answer
    tokens = [read.token(r) for r in standin.requests(read.method)]
    assert tokens[0] == "" and "" not in tokens[1:], tokens            # page one asked once
    assert tokens[2] == tokens[3] != "", tokens                         # page three asked again, same token
    assert len(set(tokens)) == len(tokens) - 1, tokens                  # no other page asked twice


def _once_each(standin: Any, read: Read) -> None:
    """No page was asked twice: every request's page_token differs (page one's is empty)."""
    tokens = [read.token(r) for r in standin.requests(read.method)]
    assert len(set(tokens)) == len(tokens), tokens


def _within_total(deadlines: list[float | None], hang: float, policy: CallPolicy) -> None:
    """Each page given at most call_timeout, and at most what was left of the call's total (at least `hang`
    less per page before it)."""
    assert all(d is not None for d in deadlines), deadlines
    for i, d in enumerate(deadlines):
        assert d <= policy.call_timeout + 0.05, deadlines               # gRPC rounds a deadline up
        assert d <= policy.total_timeout - i * hang + 0.05, deadlines


def test_live_modes_incident_search_cut_short_says_how_far_it_got_and_what_needs_no_search(standin_env):
    """Live mode (`runwarden diagnose --incident`) looking for an incident's `received` line under pages Logging
    answers slowly: the search is cut short with its 1.5 s spent. Before, a transient fault: the CLI
    said it "could not read the project", as if Logging were down, and trying again searched from page one with
    the same budget. Now the person is told the search did not finish, how far it got, and what needs none."""
    from shared.diagnosis.collection import Readers
    from shared.live.pipeline import ReadOnlyPipeline, TargetError

    _incident_line(standin_env, PAGES)
    standin_env.logging.faults.add_latency(0.3, method="ListLogEntries")
    with closing(CloudLoggingAdapter(policy=PAGED)) as logging:
        pipeline = ReadOnlyPipeline(Readers(run=None, monitoring=None, logging=logging))  # type: ignore[arg-type]
        with pytest.raises(TargetError) as raised:
            pipeline.find_incident(PROJECT, "0.abc")
    said = str(raised.value)
    assert "did not finish" in said and "page(s) read" in said and "give the alert JSON or the service name" in said, \
        said
