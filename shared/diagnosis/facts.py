"""Facts: plain numbers and lists derived from an evidence bundle. Pure, no I/O.

Every signature rule reads these instead of raw metric series, so the arithmetic (windows,
ratios, percent of minutes) is written once and tested once. The readings several rules share (the
connector's saturation signs that are news, with the checks that found them; the database's refusals
and the errors of reaching it) are Facts' own too, each found on first use: the rules only read them.
The connector's news is computed in connector_news.py, below this module (it reads the Facts it is given);
the windows Facts cuts (`Window`, `hms`, `dated`, `FAILING_LEAD`) live in windows.py and `query_of` in
citation.py, below both, and are imported here for the modules that read them from facts.
"""
from __future__ import annotations

import math
import operator
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import chain, compress
from typing import Callable, Generic, Iterable, Iterator, NamedTuple, Sequence, TypeVar, overload

from shared.config import DiagnosisSettings
from shared.diagnosis.check_results import judged_window
from shared.diagnosis.citation import query_of
from shared.diagnosis.connector_minutes import Bars, ConnectorMinutes, read_minutes
from shared.diagnosis.connector_news import ConnectorNews, news_of
from shared.diagnosis.database_errors import (bare_link_lines, closed_count, lines_but, never_left_by_kind,
                                             refusals_by_kind, refused_dial_count)
from shared.diagnosis.evidence import (Connector, Entries, EvidenceBundle, Floats, LogRecord, MetricResult, Revision,
                                       all_logged_by, ascending, at_micros, logged_by, micros)
from shared.diagnosis.log_signals import (AT_LEAST_ERROR, AT_LEAST_WARNING, SIGNAL_COMBINATIONS, LogSignal,
                                         classify_all, crash_exit, crash_signal, dials_and_answers, downstream_waits, failure_read_takes,
                                         holds_a_needle, per_text, top_counted)
from shared.diagnosis.split_lines import has_continuation, joined
from shared.diagnosis.windows import FAILING_LEAD, Window, clock_on, dated, hms
from shared.gcp.identifiers import database_ids
from shared.gcp.run_logs import APP_LOGS


# Cloud Run's request timeout when a revision does not say (the API's default).
DEFAULT_REQUEST_TIMEOUT_SECONDS = 300.0
# At or above this share of the request timeout, a p99 sits at it: percentiles are interpolated in exponential
# buckets, so a p99 of requests cut at exactly the timeout reads a little either side. The one bar of
# request_timeout, connector_saturation's cut at the timeout and `usual_timeouts`.
PINNED_AT_TIMEOUT = 0.9

# Connector throughput per instance, in Mbps (docs table: f1-micro 100-500, e2-micro 200-1000,
# e2-standard-4 3200-16000 across 2..10 instances). UNCONFIRMED against the current page.
CONNECTOR_MBPS_PER_INSTANCE = {"f1-micro": 50, "e2-micro": 100, "e2-standard-4": 1600}


def finite(value: float | str | bool) -> bool:
    """Whether a point is a reading: a percentile of an empty distribution has no value, and whether Monitoring
    leaves such a minute out or sends it as NaN is UNCONFIRMED (projects.timeSeries.list documents
    TypedValue.doubleValue only as "A 64-bit double-precision floating-point number", which JSON may carry as
    "NaN" or "Infinity"). Under either reading the minute holds no reading: a NaN or infinite point is a minute
    not read, never a clean minute (max(0.0, nan) is 0.0), a peak, a count nor "CPU p99 nan%". Every series is
    read through it once (`Points`): the service's requests, latencies and instances as the connector's points,
    the database's up and CPU, for diagnosis and verification alike."""
    number = _number(value)
    return number is not None and math.isfinite(number)


def _number(value: float | str | bool) -> float | None:
    """A point's value as a number (Monitoring's int64 values come as strings); None when it is no number at all."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _readings(values: Sequence[float | str | bool]) -> list[int] | None:
    """The indexes of a series' points that are readings (`finite`), or None when all are. The sum of finite
    numbers is finite unless it overflows, so a series of readings alone is let through by one pass in C."""
    try:
        if math.isfinite(sum(values)):
            return None
    except TypeError:            # Monitoring's int64 values as strings: read point by point
        pass
    # A value that is no number at all is kept: it fails where a window holds it, as a malformed point always has.
    kept = [i for i, v in enumerate(values) if (number := _number(v)) is None or math.isfinite(number)]
    return None if len(kept) == len(values) else kept


def ceiling_mbps(connector: Connector | None) -> float | None:
    """A connector's throughput at its max instances (CONNECTOR_MBPS_PER_INSTANCE); None for a machine type not known."""
    per_instance = CONNECTOR_MBPS_PER_INSTANCE.get(connector.machine_type) if connector else None
    return per_instance * connector.max_instances if per_instance else None


# Cloud Run's request metrics are sampled every 60 s and become visible up to ~180 s later (UNCONFIRMED:
# a third-party config, dynatrace-gcp-monitor src/config/cloud_run_revision.yml, "Ingest delay ~180 s"; Cloud
# Monitoring, "Retention and latency of metric data": "Sampled every 60 seconds. After sampling, data is not
# visible for up to 240 seconds", the figure varying by metric). A point ending within this long before the
# read may not be visible yet (Facts.complete_until).
INGEST_LAG = timedelta(seconds=180)
# The most minutes that did not fail inside one run of failing minutes (Facts.sustained_since): a
# service failing in earnest can have a minute or two under the bar (few requests, retries that got
# through), as the timeline's onset allows (derive.ONSET_GAP_MINUTES); a longer clean stretch parts
# an early blip from the failures that go on.
SUSTAINED_GAP = timedelta(minutes=2)
# The most failing minutes an early run may have and still be passed over as a blip when it cleared for longer
# than SUSTAINED_GAP before the failures went on (Facts.sustained_since): one slow request, a cold start's few
# 503s fill a minute or two. A longer run is the service failing, and where the failures began: a clean spell
# after it (retries that got through, traffic that left and came back) does not move the onset later.
EARLY_BLIP_MINUTES = 2
# The minutes just before a deploy in which the revision it replaced is judged as a rollback target: its
# share of the load (bad_revision.LOAD_SHARE_MINUTES) and the requests each of its instances carried
# (rules/target_capacity.py; collection reads container/instance_count from there).
TARGET_LOAD_MINUTES = timedelta(minutes=10)
# The fewest minutes read before a revision's first request, with the service serving and the revision not,
# that date its promotion (Facts.promotion): fewer, and whether it served before is not read.
PROMOTION_QUIET_MINUTES = TARGET_LOAD_MINUTES


def promotion_reach(started_at: datetime, settings: DiagnosisSettings) -> datetime:
    """How far back a promotion is read: the deploy window's start (a promotion before it is no suspect, as a
    deploy before it is not: Facts.promotion) less PROMOTION_QUIET_MINUTES, the quiet minutes that date one at
    the window's start and the TARGET_LOAD_MINUTES that show what its rollback's target carried just before it
    (its requests, rules/bad_revision.py; its active instances, rules/target_capacity.py). Collection reads the
    request counts and instance counts from here when the newest serving revision is older than the window
    (collection._Scope), so that a promotion at any point of the window, not only in the last twenty minutes
    the incident's own lookbacks reach, is dated from the revision's own requests."""
    return started_at - timedelta(seconds=settings.deploy_window_seconds) - PROMOTION_QUIET_MINUTES


class Promotion(NamedTuple):
    """When traffic reached a revision created long before it (`gcloud run deploy --no-traffic`, then
    `update-traffic`; or an older revision sent the traffic back by hand): the revision as it was deployed
    for the rules that date a deploy (its create_time moved to the promotion), and the minutes that date it."""
    revision: Revision    # the revision, its create_time the start of the first minute it served
    created: datetime     # its own create_time (Revision.create_time)
    quiet: Window         # the minutes read before it, the service serving and the revision not
    served: float         # the service's requests in `quiet`


# How the gap of the instance's connections' read begins (collection._TargetReads.plan's read, EvidenceBundle.
# sql_connections).
CONNECTIONS_READ = "monitoring: cloudsql database/postgresql/num_backends"


def whole_until(bundle: EvidenceBundle) -> datetime:
    """The end of the minutes surely whole in `bundle`, by real time: INGEST_LAG before the read, and
    before that by how far the reading clock may be ahead (EvidenceBundle.clock_ahead). A sweeper whose
    clock is 2 minutes fast, cutting at its own time less INGEST_LAG, read minutes ending a minute ago
    as whole: one whose 500s were not yet visible read as clean."""
    return bundle.collected_at - INGEST_LAG - bundle.clock_ahead


# database/up is "Sampled every 60 seconds. After sampling, data is not visible for up to 165 seconds"
# (Cloud SQL metrics reference, docs.cloud.google.com/sql/docs/postgres/admin-api/metrics, database/up); a
# third-party config says up to 210 s (dynatrace-gcp-monitor src/config/cloudsql_database.yml, "Ingest delay
# ~210 s"). The larger is kept: a point that may still be arriving is never read as a stop. A series whose
# newest point, plus a sample that slipped (SQL_GAP_SECONDS), is older than this at the read (less the
# reading clock's lead) has stopped reporting; a newer one may merely lag, and the minutes after it are
# unknown, neither up nor down (Facts.sql_trailing).
SQL_INGEST_LAG = timedelta(seconds=210)
# ... and the window ends at the newest request_count point, which lags too: a series with no point in
# the window's last 5 minutes has stopped reporting, whatever the read's time.
SQL_SILENT_SECONDS = 300
# ... and one whose points inside the window are more than this far apart skipped at least two whole
# minutes: an instance restarting (maintenance, an out-of-memory restart, a stop and start) may leave
# no point rather than a 0 (UNCONFIRMED which: Cloud SQL's metrics reference,
# cloud.google.com/sql/docs/postgres/admin-api/metrics, samples its cloudsql_database gauges every 60
# seconds and says nothing of a restart). One minute without a point is a sample that slipped into the
# next minute, not a gap.
SQL_GAP_SECONDS = 120


# A Cloud SQL instance whose CPU is at or above this share of its reserved CPU in a minute
# (cloudsql.googleapis.com/database/cpu/utilization) is saturated: its statements queue for CPU.
SQL_CPU_SATURATION = 0.9
# ... and one saturated in at least this share of the minutes before the incident window always runs
# that hot: busy, not news.
SQL_CHRONIC_SHARE = 0.9
# A PostgreSQL instance's connections (cloudsql.googleapis.com/database/postgresql/num_backends, summed over
# its databases) that rose with the failures to at least SQL_CONNECTIONS_RISE times their largest in the
# SQL_CONNECTIONS_BEFORE before the failing window, and by at least SQL_CONNECTIONS_RISE_MIN, were taken
# when the failures began. Its ceiling, max_connections, is a database flag no Cloud SQL metric reports for
# PostgreSQL (UNCONFIRMED: the metrics reference lists database/mysql/max_connections for MySQL only), so a
# rise, not a level, is what is read.
SQL_CONNECTIONS_RISE = 1.5
SQL_CONNECTIONS_RISE_MIN = 20
SQL_CONNECTIONS_BEFORE = timedelta(minutes=10)


@dataclass(frozen=True)
class Requests:
    """Requests in one window: by class ("5xx") and by code ("503")."""

    by_class: dict[str, float]
    by_code: dict[str, float]

    @cached_property
    def total(self) -> float:
        # Read by every share and by most citations: added once (the dicts are never changed).
        return sum(self.by_class.values())

    def share(self, *, code: str | None = None, code_class: str | None = None) -> float:
        if not self.total:
            return 0.0
        count = self.by_code.get(code, 0) if code else self.by_class.get(code_class, 0)
        return count / self.total

    @property
    def error_ratio(self) -> float:
        return self.share(code_class="5xx")

    @property
    def refused(self) -> float:
        """How many answers were 5xx or 429 (`refused_ratio`'s count)."""
        return self.by_class.get("5xx", 0) + self.by_code.get("429", 0)

    @property
    def refused_ratio(self) -> float:
        """5xx and 429: every answer that is the service failing its caller."""
        return self.error_ratio + self.share(code="429")


class Crashes(NamedTuple):
    """Cloud Run's system-log lines of the instances' crashes while the requests failed (Facts.crashes): the
    container's process exited with a crash's code ("Container called exit(N).", N not 0, 130, 137 nor 143:
    log_signals.CRASH_EXIT), or a crash's signal ended it ("Container terminated on signal N.", N not 2, 9
    nor 15: log_signals.crash_signal), each with its signal. A process a signal ended wrote no exit code."""

    lines: tuple[LogRecord, ...]                      # every crash's line, in the read's order
    exited: tuple[LogRecord, ...]
    signalled: tuple[tuple[LogRecord, int], ...]


class HangBand(NamedTuple):
    """The incident window's p99 hang band (Facts.hangs)."""

    p99: tuple[float, ...]       # the service's p99 per minute, in seconds
    in_band: tuple[float, ...]   # those in the band
    news: bool                   # enough of them, and not how the service always runs (Facts.usual_hangs)


class Points:
    """One series' points, as its two columns (end times in microseconds, values), so that a window
    is cut by bisection rather than by testing every point: a day of per-minute points is 1,440 of
    them, and the rules ask for dozens of windows. Points come oldest first (the Monitoring adapter
    sorts them by end time); should they not, each window is filtered point by point, in their
    order. Values are converted only where a window holds them, as a scan would. Whether they are in
    order is known without looking when the column says so (`OldestFirst`: the Monitoring adapter's
    and a validated series'), and checked here otherwise. Values a column says are exact floats
    (`Floats`) are taken as they are; others are converted with `float` point by point."""

    __slots__ = ("series", "ends", "values", "ordered", "floats", "_labels")

    def __init__(self, series: MetricSeries) -> None:
        self.series = series
        self.ordered = ascending(series.end_us)
        # Bisected as a plain tuple: a tuple subclass (OldestFirst) has no C-level item access,
        # so each probe of a bisection became a Python-level __getitem__ call (about 1.6 against
        # 0.3 us a bisection here). `[:]` of a subclass is a plain tuple, copied in C (about 3 us
        # for a day of minutes); of a plain tuple, the tuple itself.
        self.ends = series.end_us[:]
        self.values = series.values
        kept = _readings(self.values)
        if kept is not None:     # a NaN or infinite point is a minute not read (`finite`), left out once here
            self.ends = tuple(self.ends[i] for i in kept)
            values = tuple(self.values[i] for i in kept)
            self.values = Floats(values) if type(self.values) is Floats else values   # a plain column stays plain
        self.floats = type(self.values) is Floats
        self._labels: dict[str, str] = {}

    def label(self, key: str) -> str:
        """The series' label (MetricSeries.label), read once: the rules ask the same few of every series."""
        found = self._labels.get(key)
        if found is None:
            found = self._labels[key] = self.series.label(key)
        return found

    def total_in(self, window: "Window") -> float:
        """The sum of the values the window holds, added oldest first (as sum(values_in) adds them)."""
        if self.ordered:
            values = self.values[self._span(window)]
            # The same float objects added in the same order either way (float(v) is v for an exact float).
            return sum(values if self.floats else map(float, values))
        return sum(self.values_in(window))

    @property
    def latest(self) -> datetime | None:
        if not self.ends:
            return None
        return at_micros(self.ends[-1] if self.ordered else max(self.ends))

    def values_in(self, window: "Window") -> list[float]:
        """The values of the points the window holds, oldest first."""
        if self.ordered:
            values = self.values[self._span(window)]
            return list(values if self.floats else map(float, values))
        low, high = window.micros
        return [float(v) for at, v in zip(self.ends, self.values) if low < at <= high]

    def columns_in(self, window: "Window") -> tuple[list[int], list[float]]:
        """(ends_in, values_in) of the window, cut once."""
        if self.ordered:
            span = self._span(window)
            values = self.values[span]
            return list(self.ends[span]), list(values if self.floats else map(float, values))
        return self.ends_in(window), self.values_in(window)

    def ends_in(self, window: "Window") -> list[int]:
        """The end times (microseconds) of the points the window holds, oldest first."""
        if self.ordered:
            return list(self.ends[self._span(window)])
        low, high = window.micros
        return [at for at in self.ends if low < at <= high]

    def any_in(self, window: "Window") -> bool:
        if self.ordered:
            span = self._span(window)
            return span.start < span.stop
        low, high = window.micros
        return any(low < at <= high for at in self.ends)

    def _span(self, window: "Window") -> slice:
        # Window.holds is start < end <= stop: past every point at or before start, up to the last at or before stop.
        low, high = window.micros
        return slice(bisect_right(self.ends, low), bisect_right(self.ends, high))


_T = TypeVar("_T")


class _kept(Generic[_T]):
    """A reading of Facts found on first read and kept in the instance's __dict__ under its own name. A
    descriptor without __set__ is looked up after the instance's __dict__ (Python reference, Data model,
    "Invoking descriptors": "non-data descriptors can be overridden by instances"), so every read after the
    first is a plain attribute's, with no Python call; a property called its getter on every read (the
    shared readings are read some thirty times a diagnosis, the rules' wrappers reading one another).
    functools.cached_property does the same, but up to Python 3.11 its first read takes a lock that is the
    property's, not the instance's ("Changed in version 3.12: Prior to Python 3.12, cached_property included
    an undocumented lock ... the lock was per-property, not per-instance, which could result in unacceptably
    high lock contention", Python docs, functools.cached_property): diagnoses in threads of one process would
    queue on it. Not locked: two threads reading one Facts at once may each compute it, as a property did."""

    def __init__(self, compute: Callable[[Facts], _T]) -> None:
        self.compute = compute
        self.__doc__ = compute.__doc__
        self.name = compute.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, facts: None, owner: type | None = None) -> _kept[_T]: ...

    @overload
    def __get__(self, facts: Facts, owner: type | None = None) -> _T: ...

    def __get__(self, facts: Facts | None, owner: type | None = None) -> _T | _kept[_T]:
        if facts is None:
            return self
        found = facts.__dict__[self.name] = self.compute(facts)
        return found


class Facts:
    def __init__(self, bundle: EvidenceBundle, settings: DiagnosisSettings) -> None:
        self.b = bundle
        self.s = settings
        self._indexed: dict[int, tuple[MetricResult, tuple[Points, ...]]] = {}
        self._requests: dict[tuple[Window, str | None], Requests] = {}
        self._minutes: dict[Window, tuple[list[int], Counter[int], list[tuple[Points, list[int], list[float]]]]] = {}
        # Per-minute answers several rules and the narrative ask for on the same window (the incident
        # window's p99 four times, the database's state on two windows twice each): computed once.
        self._p99s: dict[Window, tuple[tuple[datetime, float], ...]] = {}
        self._sql_down: dict[Window, tuple[list[str], str] | None] = {}
        self._sql_cpu: dict[Window, dict[str, list[float]]] = {}
        self._replaced: dict[tuple[str, datetime], tuple[Revision, float] | None] = {}
        self._promotions: dict[str, Promotion | None] = {}
        self._database_lines: dict[LogSignal, tuple[tuple[LogRecord, ...], tuple[LogRecord, ...]]] = {}
        self._above: dict[Callable[[Facts], object], object] = {}

    def once(self, compute: Callable[[Facts], _T]) -> _T:
        """`compute(self)`, found on first use and kept for the diagnosis: a reading of a module above Facts
        (which Facts cannot import without a circle) that a rule and the verdict both read, such as
        two_ceilings.ceilings_order."""
        if compute not in self._above:
            self._above[compute] = compute(self)
        return self._above[compute]  # type: ignore[return-value]   # kept under its own function: its _T

    def points(self, result: MetricResult | None) -> tuple[Points, ...]:
        """The source's series, each indexed once per evidence (in the source's order)."""
        if result is None:
            return ()
        known = self._indexed.get(id(result))
        if known is None:
            known = self._indexed[id(result)] = (result, tuple(Points(s) for s in result.series))
        return known[1]

    @property
    def requests_query(self) -> str:
        return query_of(self.b.requests, "request_count")

    @property
    def latencies_query(self) -> str:
        return query_of(self.b.latencies, "request_latencies")

    # --- time -------------------------------------------------------------------------------

    @cached_property
    def data_until(self) -> datetime | None:
        """The newest request_count point: Monitoring's lag shows here."""
        return max((p.latest for p in self.points(self.b.requests) if p.ends), default=None)

    @property
    def data_delay(self) -> timedelta | None:
        return self.b.collected_at - self.data_until if self.data_until else None

    @cached_property
    def complete_until(self) -> datetime | None:
        """The end of the newest minute the request data can be read as whole up to: `data_until`, or
        earlier where a series may still be arriving. Each series (request_count by revision, class
        and code; request_latencies by revision) is ingested on its own, so the newest minutes can
        hold the 200s of a minute whose 500s, or whose p99, are not visible yet (INGEST_LAG): read
        as they stand, such a minute is clean. A series whose newest point is before `data_until`
        stopped there, or is late: it stopped for sure only if the point after it (ending a minute
        later) would be visible by now (no later than `collected_at` - INGEST_LAG). Otherwise the
        minutes after its newest point are not known to be whole, and the data is read up to that
        point only: a 5xx series that did stop there costs a minute or two of waiting, one that is
        late is never read as zero errors. And never past `whole_line` (INGEST_LAG before the read, by
        real time): a series whose newest point is older than the lag, or a series not in the answer at
        all, says nothing of the minutes after it. (A point of one series whose value is still partial, its
        underlying series reduced in part, cannot be told from the answer; with request_count grouped
        by revision, class and code each group is one series of Cloud Run's.)"""
        if self.data_until is None:
            return None
        settled = self.b.collected_at - INGEST_LAG - timedelta(seconds=60)
        late = [points.latest for points in self.points(self.b.requests) + self.points(self.b.latencies)
                if points.ends and settled < points.latest < self.data_until]
        return min(late + [self.whole_line, self.data_until])

    @cached_property
    def whole_line(self) -> datetime:
        """No minute ending after this is read as whole (whole_until: INGEST_LAG before the read, by real
        time), whatever the answer holds. A 5xx series ends where failures stopped, or where its newest
        points are not ingested yet, and a series with no point yet is not in the answer at all: each
        series is ingested on its own, up to INGEST_LAG after its minute, so a newer minute may hold
        its 200s and not yet its 500s (read as clean). Whether Cloud Monitoring writes a point of 0 for
        a minute with no 5xx is UNCONFIRMED (delta metrics' zero-count points are likely omitted, in
        which case a missing 5xx point in a minute is never proof): read either way, a minute newer
        than this line may still be missing failures, and `healthy` (Facts.recent) does not read it.
        On the points' own minutes: the end of the newest request point at or before the line, so that
        the windows cut there hold whole minutes and name a point's time."""
        line = micros(whole_until(self.b))
        newest = 0
        for points in self.points(self.b.requests):
            if points.ordered:
                at = bisect_right(points.ends, line)
                newest = max(newest, points.ends[at - 1] if at else 0)
            else:
                newest = max(newest, max((e for e in points.ends if e <= line), default=0))
        return at_micros(newest) if newest else whole_until(self.b)

    def series_ends(self, limit: int = 8) -> str:
        """Where each request series' newest point is, in words (the evidence of minutes not yet
        whole): request_count by revision and code, request_latencies by revision; the oldest first,
        as the one ending earliest is the one that may still be arriving."""
        ends = [(p.latest, f"request_count {code} of {revision}") for p, revision, _, code in self._request_series
                if p.ends]
        ends += [(p.latest, f"request_latencies of {p.label('resource.labels.revision_name')}")
                 for p in self.points(self.b.latencies) if p.ends]
        ends.sort(key=lambda e: e[0])
        said = [f"{what} to {hms(at)}" for at, what in ends[:limit]]
        more = f" and {len(ends) - limit} more series" if len(ends) > limit else ""
        return "; ".join(said) + more

    @cached_property
    def incident(self) -> Window:
        """From the start, or, for an incident open long (a re-notification), from its last minutes, to
        `read_until`: every rule's share, rate and peak is read over this window or one cut from it
        (since_deploy, failing_window, episode)."""
        return Window(self.b.judged_since - timedelta(seconds=self.s.lookback_seconds),
                      self.read_until or self.b.collected_at)

    @cached_property
    def read_until(self) -> datetime | None:
        """The end of the minutes the rules read: `data_until`, or the newest point of a series that ends
        before it but at or after `whole_line` (request_count by revision, class and code; request_latencies
        by revision). Each series is ingested on its own, up to INGEST_LAG after its minute, so such a series
        may have stopped there or still be arriving, and which cannot be told: the minutes after its newest
        point hold the other series' side without its own. A canary's 500s of the newest minutes in and its
        200s not read its 5xx share at 21 % where it was 15 %, and its traffic was rolled back; a service's
        503s in and its 200s not were a connector saturated, and it was scaled. A series ending before the
        whole line stopped: the point after it would be visible by now (`complete_until` reads it so).
        Whether Cloud Monitoring writes a point of 0 for a minute with no 5xx is UNCONFIRMED; read either
        way, a series ending inside the lag is cut at the same point. Where every series ends at `data_until`,
        the data is read as it stands, as before: nothing in the answer says one of its minutes is partial
        (a series not in the answer yet, or a point still partial, cannot be told from none; `healthy`
        alone reads only minutes before the whole line, Facts.recent)."""
        newest = self.data_until
        if newest is None:
            return None
        line = self.whole_line
        return min([p.latest for p in self.points(self.b.requests) + self.points(self.b.latencies)
                    if p.ends and line <= p.latest < newest] + [newest])

    @cached_property
    def before(self) -> Window:
        """One lookback before the incident window: how things stood before the failures began."""
        start = self.incident.start
        return Window(start - timedelta(seconds=self.s.lookback_seconds), start)

    @cached_property
    def recent(self) -> Window:
        """The newest `recent_seconds` of whole data (`complete_until`): what `healthy` is judged on."""
        end = self.complete_until or self.b.collected_at
        return Window(end - timedelta(seconds=self.s.recent_seconds), end)

    @cached_property
    def recent_since_incident(self) -> Window:
        """The recent window, cut at the incident's start: what `healthy` may be judged on."""
        recent = self.recent
        return Window(max(recent.start, self.b.incident_started_at), recent.end)

    @cached_property
    def check_window(self) -> Window:
        """Where an uptime check's own results are judged: the recent window since the incident, or one of the
        check's periods back from its end for a check run every 10 or 15 minutes (check_results.judged_window)."""
        return judged_window(self.b.check_passed, self.recent_since_incident, self.b.incident_started_at)

    def minutes_with_requests(self, window: Window) -> int:
        return len({end for s in self.points(self.b.requests) for end in s.ends_in(window)})

    # --- Cloud Run --------------------------------------------------------------------------

    @cached_property
    def serving(self) -> tuple[Revision, ...]:
        return tuple(r for r in self.b.revisions if self.b.service.serving_percent(r.short_name) > 0)

    @cached_property
    def newest_serving(self) -> Revision | None:
        return max(self.serving, key=lambda r: r.create_time, default=None)

    @cached_property
    def changed_since(self) -> Revision | None:
        """The newest serving revision when it was created after the incident started (a person's fix at a share,
        a revert, a canary, a `--no-traffic` tag given a share): a change made since, which cannot have caused
        the failures before it. None when the newest serving revision predates the incident (or none serves)."""
        newest = self.newest_serving
        return newest if newest is not None and newest.create_time > self.b.incident_started_at else None

    @cached_property
    def deploy_before_change(self) -> Revision | None:
        """With a change made since (`changed_since`), the revision deployed 0 to deploy_window_seconds before the
        incident started that served in its minutes: the deploy that change followed. None otherwise. Served
        means a share now (Service `traffic_statuses`) or min_requests of its own since the incident began
        (`served_the_incident`): request_count is labelled by `resource.labels.revision_name` (Cloud Run's
        metrics list, run.googleapis.com/request_count; "Monitored resource types", cloud_run_revision), so a
        revision's requests are its own whichever share sent them. Deployed means created in the window, or
        created long before and promoted in it (`promotion`: `--no-traffic`, then `update-traffic`; an older
        revision sent the traffic back), then superseded by the change since: two releases minutes apart, the
        incident following the first, judged on the first's requests, dated from its promotion."""
        later = self.changed_since
        if later is None:
            return None
        started, window = self.b.incident_started_at, self.s.deploy_window_seconds
        return self.served_the_incident([r for r in self.b.revisions if r.name != later.name
                                         and (0 <= (started - r.create_time).total_seconds() <= window
                                              or self.promotion(r) is not None)])

    @cached_property
    def followed(self) -> Revision | None:
        """The revision the incident followed, whose settings (request timeout, max instances, concurrency, the
        VPC path, the account) every rule judges: the newest serving revision, unless it is a change made since
        the incident began (`changed_since`); then the deploy that change followed (`deploy_before_change`), or,
        with none in the deploy window, the revision created before the incident that served it
        (`served_the_incident`); with none that did, the change since itself, as before (the incident's minutes
        are then its own; it is never a deploy `recent_deploy` dates, created after the incident started). None
        only when nothing serves. A fix's settings are not the incident's: judged in place of the deploy, a fix
        restoring a 300 s timeout or 20 instances hid the deploy that lowered them."""
        later = self.changed_since
        if later is None:
            return self.newest_serving
        earlier = [r for r in self.b.revisions if r.name != later.name and r.create_time <= self.b.incident_started_at]
        return self.deploy_before_change or self.served_the_incident(earlier) or later

    def served_the_incident(self, revisions: Iterable[Revision]) -> Revision | None:
        """Of `revisions`, the one that served the incident's traffic: the newest holding a share now; else, none
        holding one (the change since took it all), the one with the most requests of its own since the incident
        began, at least min_requests. Not simply the newest that had requests: a `--no-traffic` preview reached
        through its tag URL has requests of its own and no share, and judged in place of the deploy that took the
        traffic, it hid that deploy behind "not failing enough". The newest by when it took its traffic
        (`deployed`: a promotion by its promotion, as deploy_before_change lets one in): a revision created
        hours before and promoted minutes before the incident to most of the split followed a canary created
        before that promotion, and is the one that served it."""
        revisions = list(revisions)
        sharing = [r for r in revisions if self.b.service.serving_percent(r.short_name) > 0]
        if len(sharing) == 1:
            return sharing[0]   # no order to read: no promotion is dated (its reads are skipped)
        if sharing:
            return max(sharing, key=lambda r: self.deployed(r).create_time)
        since = self.since_incident_began
        served = [(self.requests(since, r.short_name).total, r.create_time, r) for r in revisions]
        busiest = max(served, key=lambda t: (t[0], t[1]), default=None)
        return busiest[2] if busiest is not None and busiest[0] >= self.s.min_requests else None

    @cached_property
    def since_incident_began(self) -> Window:
        """The incident window from the incident's start on: where a revision's own requests show it served it."""
        return Window(max(self.b.incident_started_at, self.incident.start), self.incident.end)

    def replaced(self, revision: Revision) -> tuple[Revision, float] | None:
        """(the Ready revision `revision` replaced, the seconds between its creation and the
        incident's start) when it was created within deploy_window_seconds before the incident;
        else None. The revision replaced is the newest older Ready one that served requests in the
        baseline before the deploy: a `--no-traffic` preview in between never ran the load, and its
        settings, account or connector are not what the deploy changed (bad_revision's steps back
        pass over it the same way). With none that served, the newest older Ready one.
        Asked by several rules of the same revision; it depends on the revision only through its
        creation time (moved, for a promotion: `deployed`), so it is kept by its name and that."""
        key = (revision.name, revision.create_time)
        if key not in self._replaced:
            self._replaced[key] = self._replacing(revision)
        return self._replaced[key]

    def _replacing(self, revision: Revision) -> tuple[Revision, float] | None:
        lead = (self.b.incident_started_at - revision.create_time).total_seconds()
        if not 0 <= lead <= self.s.deploy_window_seconds:
            return None
        older = sorted((r for r in self.b.revisions if r.create_time < revision.create_time and r.ready
                        and r.name != revision.name), key=lambda r: r.create_time, reverse=True)
        if not older:
            return None
        served = set(self.revision_names_with_requests(self.baseline(revision)))
        return next((r for r in older if r.short_name in served), older[0]), lead

    def recent_deploy(self) -> tuple[Revision, Revision, float] | None:
        """(the revision the incident followed (`followed`: the newest serving one, unless that is a change made
        since the incident began), the revision it replaced, the seconds between its creation and the incident's
        start) when it was deployed within deploy_window_seconds (`replaced`)."""
        suspect = self.deployed(self.followed) if self.followed is not None else None
        deploy = self.replaced(suspect) if suspect is not None else None
        return (suspect, *deploy) if deploy is not None else None

    def deployed(self, revision: Revision) -> Revision:
        """The revision as deployed: itself, or, promoted (`promotion`), with its create_time moved to
        the minute traffic reached it, so that every window cut from a deploy (since_deploy, baseline,
        the minutes just before it) is cut from the promotion."""
        promoted = self.promotion(revision)
        return promoted.revision if promoted is not None else revision

    def promotion(self, revision: Revision) -> Promotion | None:
        """When traffic reached `revision`, created more than deploy_window_seconds before the incident,
        within deploy_window_seconds before it; None when it was not promoted or that is not dated.

        What dates it is the revision's own request_count series (run.googleapis.com/request_count,
        labelled by resource.labels.revision_name: a revision's requests are its own, whichever URL or
        share sent them): its first minute with a request, after at least PROMOTION_QUIET_MINUTES read in
        which the service served at least min_requests and the revision none. Its create_time ("The
        creation time", Revision.create_time, google/cloud/run_v2/types/revision.py) dates the revision,
        not its traffic: `gcloud run deploy --no-traffic` creates it with no share, and `gcloud run
        services update-traffic` gives it one later, which changes the Service's `traffic` and, once
        served, `traffic_statuses` ("Detailed status information for corresponding traffic targets",
        google/cloud/run_v2/types/service.py), neither of which carries a time. Service.update_time ("The
        last-modified time") moves with any change to the service, a label as much as the split, so it
        is not read as the promotion's (UNCONFIRMED which changes move it; not needed here). With the
        minutes before its first request not read, or a request of its own in them, nothing is dated."""
        if revision.name not in self._promotions:
            self._promotions[revision.name] = self._promoted(revision)
        return self._promotions[revision.name]

    def _promoted(self, revision: Revision) -> Promotion | None:
        window = self.s.deploy_window_seconds
        started = self.b.incident_started_at
        if (started - revision.create_time).total_seconds() <= window:
            return None
        read = Window(self.promotion_read_from, self.incident.end)
        served = [(end, total) for end, total, _ in self.revision_minutes(read, revision.short_name) if total > 0]
        if not served or not self._carried(served[:2]):
            return None
        at = served[0][0] - timedelta(seconds=60)
        if not 0 <= (started - at).total_seconds() <= window:
            return None
        quiet = self._quiet_before(revision, at)
        if quiet is None:
            return None
        return Promotion(revision.model_copy(update={"create_time": at}), revision.create_time, *quiet)

    @cached_property
    def promotion_read_from(self) -> datetime:
        """Where the minutes that date a promotion begin: one lookback before the incident window, or earlier,
        back to `promotion_reach`, in a first notice's evidence (collection reads that far back for it; a
        re-notified incident's reads begin at its own lookbacks, and a promotion before them is not dated)."""
        if self.b.judged_from is not None and self.b.judged_from != self.b.incident_started_at:
            return self.before.start
        return min(self.before.start, promotion_reach(self.b.incident_started_at, self.s))

    def _carried(self, first: list[tuple[datetime, float]]) -> bool:
        """Whether the revision carried most of the service's requests (more than half) in one of its first
        two minutes with requests (a switch inside a minute splits that minute): its traffic began then, not
        a tester's trickle through a tagged URL nor a canary's share."""
        _, total, _ = self._by_minute(Window(first[0][0] - timedelta(seconds=60), first[-1][0]))
        return any(2 * mine > total[micros(end)] for end, mine in first)

    def _quiet_before(self, revision: Revision, at: datetime) -> tuple[Window, float] | None:
        """(the minutes read before `at`, the service's requests in them) when at least
        PROMOTION_QUIET_MINUTES of them were read with the service serving, holding at least
        min_requests, and none of `revision`'s; None otherwise."""
        before = Window(self.promotion_read_from, at)
        minutes, total, _ = self._by_minute(before)
        if self.requests(before, revision.short_name).total > 0 or not minutes:
            return None
        quiet = Window(at_micros(minutes[0]) - timedelta(seconds=60), at)
        served = sum(total.values())
        enough = len(minutes) >= PROMOTION_QUIET_MINUTES // timedelta(minutes=1) and served >= self.s.min_requests
        return (quiet, served) if enough else None

    def deploy_changed_account(self, entries: Iterable[LogRecord]) -> tuple[Revision, Revision] | None:
        """(the new revision, the one before it) when every entry came from a revision deployed
        within deploy_window_seconds (`recent_deploy`) that runs as another service account than the
        Ready revision before it: a refusal of who calls is then the deploy's own, and sending
        traffic back undoes it. None otherwise (the same account on both: whatever refuses it would
        refuse the older revision too)."""
        deploy = self.recent_deploy()
        if deploy is None:
            return None
        suspect, previous, _ = deploy
        if not suspect.service_account or not previous.service_account:
            return None
        if previous.service_account == suspect.service_account:
            return None
        if not all_logged_by(entries, suspect.short_name):
            return None
        return suspect, previous

    def deploy_changed_path(self, entries: Iterable[LogRecord]) -> tuple[Revision, Revision, str] | None:
        """(the new revision, the one before it, what changed in words) when every entry came from a
        revision deployed within deploy_window_seconds (`recent_deploy`) that reaches its VPC another
        way than the Ready revision before it: another connector, another egress setting, Direct VPC
        egress instead of a connector (or the reverse). The path is the revision's own (Revision
        `vpc_access`: connector, egress, network_interfaces; google/cloud/run/v2/vendor_settings.proto),
        so sending traffic back restores the path that served before the deploy. None otherwise."""
        deploy = self.recent_deploy()
        if deploy is None:
            return None
        suspect, previous, _ = deploy
        changed = path_changed(previous, suspect)
        if not changed or not all_logged_by(entries, suspect.short_name):
            return None
        return suspect, previous, changed

    @property
    def request_timeout_seconds(self) -> float:
        """The request timeout of the revision the incident followed (`followed`): where its 504s were cut off, not
        the timeout of a fix made since."""
        revision = self.followed
        return revision.timeout_seconds if revision and revision.timeout_seconds else DEFAULT_REQUEST_TIMEOUT_SECONDS

    def since_deploy(self, revision: Revision) -> Window:
        return Window(max(revision.create_time, self.incident.start), self.incident.end)

    def since_first_of(self, revision: Revision, lines: Sequence[LogRecord]) -> Window:
        """since_deploy from the minute of the first of `lines` on (the revision's answers or failed dials):
        the minutes another revision must have served beside it to show the dependency answered it. A revision
        that served only before them (the minute the traffic moved, a dependency that failed minutes after the
        deploy) shows nothing of the minutes they came in. The window's start is exclusive and a series' point
        is selected by its end (windows.Window): the read starts a minute before the end of the point that holds
        the first line (a line at 11:54:30 or at 11:55:00 is in the point ending at 11:55)."""
        window = self.since_deploy(revision)
        if not lines:
            return window
        first = min(e.timestamp for e in lines)
        floor = first.replace(second=0, microsecond=0)
        end_of_its_point = floor if floor == first else floor + timedelta(minutes=1)
        return Window(max(window.start, end_of_its_point - timedelta(minutes=1)), window.end)

    def whole_part(self, window: Window) -> Window | None:
        """`window` cut at `whole_line`, where it reads past it into minutes not yet whole; None where it
        does not (nothing to cut) or holds no whole minute. A hold-back that reads another revision's 5xx
        share reads it here too: in the minutes after the line its 200s may be in and its 5xx not (each
        series ingested on its own, up to INGEST_LAG after its minute), and request_count may write no point
        at all for a code with no request in a minute (UNCONFIRMED: Monitoring's delta points for a zero
        count), so a 5xx series ending before the line, or absent, says nothing of those minutes: read as
        clean, their 200s dilute its share below the bar and drop the hold-back."""
        line = self.whole_line
        return Window(window.start, line) if window.start < line < window.end else None

    def baseline(self, revision: Revision) -> Window:
        return Window(revision.create_time - timedelta(seconds=self.s.baseline_seconds), revision.create_time)

    @cached_property
    def served_cleanly_before(self) -> Requests | None:
        """The requests of the window before the incident (`before`) when the service served cleanly then:
        at least min_requests, and 5xx and 429 no more than healthy_error_ratio of them; else None."""
        before = self.requests(self.before)
        if before.total < self.s.min_requests or before.refused_ratio > self.s.healthy_error_ratio:
            return None
        return before

    def requests(self, window: Window, revision: str | None = None) -> Requests:
        """Requests in the window (of one revision, or all), by class and by code. Computed once per
        window and revision; the answer is shared, so it is read, never changed."""
        known = self._requests.get((window, revision))
        if known is not None:
            return known
        by_class: dict[str, float] = {}
        by_code: dict[str, float] = {}
        # Added in the series' order, from 0, as a Counter adds: the same sums to the last bit.
        for points, name, code_class, code in self._request_series:
            if revision is not None and name != revision:
                continue
            count = points.total_in(window)
            by_class[code_class] = by_class.get(code_class, 0) + count
            by_code[code] = by_code.get(code, 0) + count
        found = self._requests[(window, revision)] = Requests(by_class, by_code)
        return found

    @cached_property
    def _request_series(self) -> tuple[tuple[Points, str, str, str], ...]:
        """Each request_count series with the three labels every count reads (revision, class, code)."""
        return tuple((points, points.label("resource.labels.revision_name"), code_class(points),
                      points.label("metric.labels.response_code") or "unknown")
                     for points in self.points(self.b.requests))

    def per_minute(self, window: Window, code: str) -> list[tuple[datetime, float, float]]:
        """(minute end, all requests, requests answered `code`) per minute of the window, oldest first."""
        return self.per_minute_where(window, lambda s: s.label("metric.labels.response_code") == code)

    @cached_property
    def failing_window(self) -> Window | None:
        """From shortly before the first failing minute (FAILING_LEAD) to the incident window's end:
        the minutes a cause must hold in to explain the failures (a connector's saturation sign, a
        database down). None when no minute failed. Read by more than one rule: computed once."""
        since = self.failing_since
        if since is None:
            return None
        return Window(max(since - FAILING_LEAD, self.incident.start), self.incident.end)

    @cached_property
    def failing_since(self) -> datetime | None:
        """The start of the first minute the service failed in: a 5xx + 429 share at status_ratio, or a
        p99 at hang_latency_seconds or more. None when no minute did."""
        ends = self._failing_minute_ends
        return ends[0] - timedelta(seconds=60) if ends else None

    @cached_property
    def _failing_minute_ends(self) -> list[datetime]:
        """The end of each minute of the incident window the service failed in (`failing_since`), oldest first."""
        s = self.s
        refused = {at for at, total, bad in self.refused_minutes if total and bad / total >= s.status_ratio}
        hung = {at for at, p99 in self.p99_by_minute(self.incident) if p99 >= s.hang_latency_seconds}
        return sorted(refused | hung)

    @cached_property
    def sustained_since(self) -> datetime | None:
        """The start of the sustained failure: the first minute of the run of failing minutes (as
        `failing_since` counts one) that goes on to the newest failing minute, a run kept whole across
        at most SUSTAINED_GAP minutes that did not fail. An early run of at most EARLY_BLIP_MINUTES failing
        minutes that cleared for longer (one slow request, a cold start's few 503s) is not where the failures
        began; a longer early run is: the onset is the start of the oldest run longer than that, else of the
        newest run. None when no minute failed."""
        runs = _runs(self._failing_minute_ends, SUSTAINED_GAP + timedelta(seconds=60))
        if not runs:
            return None
        first = next((run[0] for run in runs[:-1] if len(run) > EARLY_BLIP_MINUTES), runs[-1][0])
        return first - timedelta(seconds=60)

    @cached_property
    def refused_minutes(self) -> list[tuple[datetime, float, float]]:
        """(minute end, all requests, refused: 5xx and 429) per minute of the incident window, oldest
        first: where the failures began (`failing_window`, the narrative's onset). Read, never changed."""
        return self.per_minute_where(self.incident, refused_series)

    def busiest_minute(self, window: Window) -> float:
        """The most requests the service took in one minute of the window, every revision's (0 for none)."""
        return max(self._by_minute(window)[1].values(), default=0.0)

    def per_minute_where(self, window: Window, counted: Callable[[Points], bool]
                         ) -> list[tuple[datetime, float, float]]:
        """(minute end, all requests, requests in the series `counted` picks) per minute, oldest first.
        `counted` is asked of each series' Points (its `label`, as MetricSeries.label reads)."""
        minutes, total, columns = self._by_minute(window)
        picked: Counter[int] = Counter()
        for points, ends, values in columns:
            if counted(points):
                for at, value in zip(ends, values):
                    picked[at] += value
        return [(at_micros(at), total[at], picked[at]) for at in minutes]

    def _by_minute(self, window: Window) -> tuple[list[int], Counter[int], list[tuple[Points, list[int], list[float]]]]:
        """The window's minutes (oldest first), all requests per minute, and each request series'
        points in the window: the same for every per-minute question on one window."""
        known = self._minutes.get(window)
        if known is None:
            total: Counter[int] = Counter()
            columns = []
            for points in self.points(self.b.requests):
                ends, values = points.columns_in(window)
                columns.append((points, ends, values))
                for at, value in zip(ends, values):
                    total[at] += value
            known = self._minutes[window] = (sorted(total), total, columns)
        return known

    def revision_minutes(self, window: Window, revision: str) -> list[tuple[datetime, float, float]]:
        """(minute end, the revision's requests, its 5xx) per minute of the window with any, oldest
        first: one revision's series only, without indexing every series' minutes."""
        total: Counter[int] = Counter()
        failed: Counter[int] = Counter()
        for points, name, code_class, _ in self._request_series:
            if name != revision:
                continue
            ends, values = points.columns_in(window)
            for at, value in zip(ends, values):
                total[at] += value
                if code_class == "5xx":
                    failed[at] += value
        return [(at_micros(at), total[at], failed[at]) for at in sorted(total)]

    def episode(self, code: str, ratio: float) -> Window | None:
        """From the first minute whose share of `code` reaches `ratio` to the end of the data: the
        episode a symptom is judged over, so minutes before it began do not dilute it."""
        for at, total, coded in self.per_minute(self.incident, code):
            if total and coded / total >= ratio:
                return Window(at - timedelta(seconds=60), self.incident.end)
        return None

    def revision_names_with_requests(self, window: Window) -> list[str]:
        names = {s.label("resource.labels.revision_name") for s in self.points(self.b.requests)
                 if s.any_in(window)}
        return sorted(n for n in names if n)

    # --- latency ----------------------------------------------------------------------------

    def p99_seconds(self, window: Window) -> list[float]:
        """The service's p99 latency per minute in the window (max over revisions), in seconds."""
        return [value for _, value in self.p99_by_minute(window)]

    def p99_at_timeout(self, window: Window) -> tuple[list[float], list[float]]:
        """(the service's p99 per minute in the window, those at the newest serving revision's request timeout:
        `PINNED_AT_TIMEOUT` of it or more): request_timeout and connector_saturation's hang cut short both ask."""
        p99 = self.p99_seconds(window)
        bar = PINNED_AT_TIMEOUT * self.request_timeout_seconds
        return p99, [v for v in p99 if v >= bar]

    def p99_by_minute(self, window: Window) -> tuple[tuple[datetime, float], ...]:
        """(minute end, the service's p99 latency in seconds, max over revisions), oldest first.
        Computed once per window: the health check, the failing minutes and the hang checks all ask."""
        known = self._p99s.get(window)
        if known is None:
            per_minute: dict[int, float] = {}
            for points in self.points(self.b.latencies):
                for at, value in zip(*points.columns_in(window)):
                    per_minute[at] = max(per_minute.get(at, 0.0), value / 1000.0)
            known = self._p99s[window] = tuple((at_micros(k), per_minute[k]) for k in sorted(per_minute))
        return known

    def revision_p99_by_minute(self, window: Window, revision: str) -> dict[datetime, float]:
        """One revision's own p99 latency by minute end in the window, in seconds, oldest first (its
        request_latencies series; several series of one revision, the largest each minute): keyed by minute, so
        two revisions are compared only in the minutes both served."""
        per_minute: dict[int, float] = {}
        for points in self.points(self.b.latencies):
            if points.label("resource.labels.revision_name") != revision:
                continue
            for at, value in zip(*points.columns_in(window)):
                per_minute[at] = max(per_minute.get(at, 0.0), value / 1000.0)
        return {at_micros(k): per_minute[k] for k in sorted(per_minute)}

    # The p99 hang band and the band before it, read once per diagnosis: seven checks in connector_saturation
    # ask for them (connector_signs.hang_minutes, usual_hang), each over the per-minute p99 against the timeout.

    @cached_property
    def hangs(self) -> HangBand:
        """The incident window's p99 hang band: above hang_latency_seconds and below 0.9 x the request
        timeout, held in hang_minutes_ratio of its minutes or more and news. A band the p99 held just as
        much before the incident window, while the service served cleanly, is how the service always runs
        (`usual_hangs`), not a hang that began with the failures."""
        p99, in_band, held = self._hang_band(self.incident)
        return HangBand(tuple(p99), tuple(in_band), held and not self.usual_hangs)

    @cached_property
    def usual_hangs(self) -> str:
        """'n of m' when the p99 held in the hang band in enough minutes of the window before the
        incident, while the service served cleanly there (`served_cleanly_before`); else "". Long requests
        that are the service's own (WebSockets, server-sent events, long polling: "WebSockets requests are
        treated as long-running HTTP requests in Cloud Run", subject to the request timeout of up to 60
        minutes; Cloud Run docs, "Using WebSockets") keep the p99 there every minute, failures or not."""
        if self.served_cleanly_before is None:
            return ""
        # Each revision's p99 held to the band of its own timeout (`_minutes_within`): a deploy that moved the
        # timeout moved the band, and the newest revision's says nothing of the minutes the one before served.
        low = self.s.hang_latency_seconds
        p99 = self.p99_seconds(self.before)
        in_band = self._minutes_within(self.before, lambda timeout: (low, PINNED_AT_TIMEOUT * timeout))
        held = bool(p99) and len(in_band) / len(p99) >= self.s.hang_minutes_ratio
        return f"{len(in_band)} of {len(p99)}" if held else ""

    @cached_property
    def usual_timeouts(self) -> str:
        """'n of m' when the p99 sat at the request timeout of its time (`PINNED_AT_TIMEOUT` of it or more) in
        hang_minutes_ratio of the minutes of the window before the incident, while the service served cleanly
        there (`served_cleanly_before`); else "". Requests that always run to the timeout (a long poll held
        just inside it, server-sent events, a stream) keep the p99 there every minute: a p99 at the timeout
        in the incident window is then no news of a hang cut short. Each revision's p99 is held against its
        own timeout (`_pinned_minutes`): a deploy may have changed it since, and a small revision whose short
        timeout its requests sat at says nothing of another's requests at a longer one."""
        if self.served_cleanly_before is None:
            return ""
        p99 = self.p99_seconds(self.before)
        pinned = self._pinned_minutes(self.before)
        held = bool(p99) and len(pinned) / len(p99) >= self.s.hang_minutes_ratio
        return f"{len(pinned)} of {len(p99)}" if held else ""

    def _pinned_minutes(self, window: Window) -> set[int]:
        """The minutes of `window` in which the revisions whose p99 sat at their own request timeout
        (`PINNED_AT_TIMEOUT` of it or more) carried half the minute's requests or more (`_minutes_within`): a
        small revision at its own short timeout says nothing of the requests of another at a longer one."""
        return self._minutes_within(window, lambda timeout: (PINNED_AT_TIMEOUT * timeout, math.inf))

    def _minutes_within(self, window: Window, bounds: Callable[[float], tuple[float, float]]) -> set[int]:
        """The minutes of `window` in which the revisions whose p99 lay within the `bounds` (low <= p99 < high,
        in seconds) of their own request timeout (Revision.timeout, google/cloud/run/v2/revision.proto, each
        revision its own; one not listed held against the newest serving revision's, `request_timeout_seconds`)
        carried half the minute's requests or more."""
        timeouts = {r.short_name: r.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS for r in self.b.revisions}
        within: dict[int, set[str]] = {}
        for points in self.points(self.b.latencies):
            name = points.label("resource.labels.revision_name")
            low, high = bounds(timeouts.get(name, self.request_timeout_seconds))
            low, high = low * 1000.0, high * 1000.0   # the series is in milliseconds
            for at, value in zip(*points.columns_in(window)):
                if low <= value < high:
                    within.setdefault(at, set()).add(name)
        carried: dict[int, float] = {}
        total: dict[int, float] = {}
        for points in self.points(self.b.requests):
            name = points.label("resource.labels.revision_name")
            for at, value in zip(*points.columns_in(window)):
                total[at] = total.get(at, 0.0) + value
                if name in within.get(at, ()):
                    carried[at] = carried.get(at, 0.0) + value
        return {at for at, names in within.items() if 2 * carried.get(at, 0.0) >= total.get(at, 0.0)}

    @cached_property
    def before_timeout_seconds(self) -> float:
        """The request timeout the window before the incident is told against in words: the most of those of the
        revisions that served requests there, else the newest serving revision's (`request_timeout_seconds`).
        What was pinned is judged revision by revision (`_pinned_minutes`)."""
        served = set(self.revision_names_with_requests(self.before))
        timeouts = [r.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS for r in self.b.revisions
                    if r.short_name in served]
        return max(timeouts, default=self.request_timeout_seconds)

    def _hang_band(self, window: Window) -> tuple[list[float], list[float], bool]:
        """(p99 per minute, those in the hang band, whether they are hang_minutes_ratio of the minutes or more),
        the band that of the newest serving revision's timeout: the incident window's (`usual_hangs` holds the
        window before it to the timeouts of the revisions that served then)."""
        s = self.s
        p99 = self.p99_seconds(window)
        # The band's bounds read once, not per minute (the timeout is a property of the newest serving revision).
        low, high = s.hang_latency_seconds, 0.9 * self.request_timeout_seconds
        in_band = [v for v in p99 if low <= v < high]
        return p99, in_band, bool(p99) and len(in_band) / len(p99) >= s.hang_minutes_ratio

    def p50_by_minute(self, window: Window) -> tuple[tuple[datetime, float], ...]:
        """(minute end, the service's median latency in seconds, max over revisions), oldest first: each
        revision's p50 is that of all its requests (request_latencies' buckets added: percentiles.py),
        from the same read as the p99. Empty when it was not read."""
        per_minute: dict[int, float] = {}
        for points in self.points(self.b.latencies_p50):
            for at, value in zip(*points.columns_in(window)):
                per_minute[at] = max(per_minute.get(at, 0.0), value / 1000.0)
        return tuple((at_micros(k), per_minute[k]) for k in sorted(per_minute))

    # --- instances --------------------------------------------------------------------------

    def max_instances_seen(self, window: Window, revision: str) -> float | None:
        values = [v for s in self.points(self.b.instances) if s.label("resource.labels.revision_name") == revision
                  for v in s.values_in(window)]
        return max(values, default=None)

    def max_total_instances_seen(self, window: Window, revisions: Iterable[str]) -> float | None:
        """The most active instances the revisions had together in one minute of the window."""
        names = set(revisions)
        per_minute: Counter[int] = Counter()
        for series in self.points(self.b.instances):
            if series.label("resource.labels.revision_name") in names:
                for at, value in zip(*series.columns_in(window)):
                    per_minute[at] += value
        return max(per_minute.values(), default=None)

    # --- VPC connector ----------------------------------------------------------------------

    def connector_values(self, result: MetricResult | None, window: Window) -> list[float]:
        """The connector series' points in `window` (the readings only: `finite`, through `Points`)."""
        return [v for s in self.points(result) for v in s.values_in(window)]

    def connector_cpu(self, window: Window) -> list[float]:
        """Connector CPU utilisation p99 per minute, as a fraction. A percentile interpolated inside
        the bucket that holds 1.0 can land above it; utilisation cannot, so it is capped at 1."""
        return [min(max(v, 0.0), 1.0) for v in self.connector_values(self.b.connector_cpu, window)]

    def connector_bytes(self, window: Window) -> list[float]:
        """Bytes/s per minute through the connector, oldest first: per minute, the larger of
        received_bytes_count and sent_bytes_count (each summed over its series). Which direction each
        counter counts is UNCONFIRMED (cloud.google.com/monitoring/api/metrics_gcp, vpcaccess, names
        them only): a connector whose load is answers coming back from the database is busy on one of
        them, its requests on the other, so the larger is the busy direction under either reading. A
        minute only one of them shows counts that one; neither read: []."""
        per_minute = self.connector_bytes_by_minute(window)
        return [per_minute[end] for end in sorted(per_minute)]

    def busiest_by_minute(self, result: MetricResult | None, window: Window) -> dict[int, float]:
        """Per minute end (microseconds) in `window`: the largest of the result's series (the connector's
        instances, its CPU p99: never more than the busiest series showed), for readers that line the minutes of
        two series up (saturated_stretch, remediation.headroom)."""
        out: dict[int, float] = {}
        for series in self.points(result):
            for at, value in zip(*series.columns_in(window)):
                out[at] = max(out.get(at, value), value)
        return out

    def connector_bytes_by_minute(self, window: Window) -> dict[int, float]:
        """`connector_bytes` keyed by each minute's end (microseconds), for a reader that lines the minutes up
        with another series' (saturated_stretch)."""
        return self.bytes_by_minute((self.b.connector_bytes, self.b.connector_sent_bytes), window)

    def bytes_by_minute(self, results: Sequence[MetricResult | None], window: Window) -> dict[int, float]:
        """Per minute end (microseconds) in `window`: the larger of the byte counters' `results`, each summed over
        its series (any connector's: the path's, a rollback target's). A point that is no number (`finite`, dropped
        once by `Points`: a rate of a counter with no value in its minute, sent as NaN or left out, UNCONFIRMED which)
        is a minute that series did not show: a NaN summed in made the minute NaN, and the larger of NaN and the other
        counter's rate was NaN or not by the order they were read, a minute read under every bar either way."""
        per_minute: dict[int, float] = {}
        for result in results:
            summed: dict[int, float] = {}
            for series in self.points(result):
                ends, values = series.columns_in(window)
                for end, value in zip(ends, values):
                    summed[end] = summed.get(end, 0.0) + value
            for end, value in summed.items():
                per_minute[end] = max(per_minute.get(end, value), value)
        return per_minute

    def connector_bytes_source(self, window: Window) -> tuple[MetricResult | None, str]:
        """The byte counter that carried the most in `window` (received on a tie), with its name: the
        one a citation of `connector_bytes` names. The other is named when only it was read."""
        received = max(self.connector_values(self.b.connector_bytes, window), default=None)
        sent = max(self.connector_values(self.b.connector_sent_bytes, window), default=None)
        if sent is not None and (received is None or sent > received):
            return self.b.connector_sent_bytes, "sent"
        if received is None and self.b.connector_bytes is None and self.b.connector_sent_bytes is not None:
            return self.b.connector_sent_bytes, "sent"
        return self.b.connector_bytes, "received"

    def connector_ceiling_mbps(self) -> float | None:
        return ceiling_mbps(self.b.connector)

    def connector_minutes(self, window: Window) -> ConnectorMinutes:
        """The path's connector's saturation signs minute by minute in `window`, each against its bar
        (connector_minutes.py): the one reading its news, its ceiling minutes and its rise share."""
        connector = self.b.connector
        return self.minutes_of(connector.max_instances if connector else 0, self.b.connector_instances,
                               self.b.connector_cpu, self.connector_bytes_by_minute(window),
                               self.connector_ceiling_mbps(), window)

    def minutes_of(self, max_instances: int, instances: MetricResult | None, cpu: MetricResult | None,
                   rates: dict[int, float], ceiling: float | None, window: Window) -> ConnectorMinutes:
        """`connector_minutes` of any connector (the path's, a rollback target's read apart), from its max instances,
        its connector/instances and connector/cpu/utilizations reads, its bytes per second by minute and its machine
        type's ceiling in Mbps (None: not known)."""
        return read_minutes(Bars.of(self.s, max_instances, ceiling), instances=self.busiest_by_minute(instances, window),
                            cpu=self.busiest_by_minute(cpu, window), rates=rates)

    # --- Cloud SQL --------------------------------------------------------------------------

    @cached_property
    def sql_named(self) -> frozenset[str]:
        """The database_id (PROJECT:INSTANCE) of every Cloud SQL instance the service uses (its
        revisions' volumes, the config's): the instances database/up is judged on. Several are read
        with one query in the first one's project, which answers for every instance of that project
        and none of another's (collection._sql_up_query)."""
        return database_ids(self.b.sql_instances)

    def sql_up_values(self, window: Window) -> dict[str, list[float]]:
        """database/up per minute, per database_id of an instance the service uses (any instance
        when none is named); empty when unknown."""
        return self._per_sql_instance(self.b.sql_up, window)

    def sql_up_minutes(self, window: Window) -> dict[str, dict[datetime, float]]:
        """database/up per minute end, per database_id of an instance the service uses (as `sql_up_values`):
        which minutes an instance was down in, to lay beside the minutes the requests failed in."""
        minutes: dict[str, dict[datetime, float]] = {}
        for s in self._sql_series(self.b.sql_up):
            minutes.setdefault(s.label("resource.labels.database_id"), {}).update(
                (at_micros(at), value) for at, value in zip(*s.columns_in(window)))
        return minutes

    def sql_cpu(self, window: Window) -> dict[str, list[float]]:
        """database/cpu/utilization per minute (the largest in each), per database_id of an instance
        the service uses (any instance when none is named); empty when unknown. Computed once per
        window: connector_saturation cites it and then asks `sql_saturation_news`, which reads it too."""
        if window not in self._sql_cpu:
            self._sql_cpu[window] = {db: vals for db, vals in self._per_sql_instance(self.b.sql_cpu, window).items()
                                     if vals}
        return self._sql_cpu[window]

    def _per_sql_instance(self, read: MetricResult | None, window: Window) -> dict[str, list[float]]:
        """A Cloud SQL metric's values in `window`, per database_id of an instance the service uses
        (any instance when none is named); an instance whose series holds no point there maps to []."""
        values: dict[str, list[float]] = {}
        for s in self._sql_series(read):
            values.setdefault(s.label("resource.labels.database_id"), []).extend(s.values_in(window))
        return values

    def _sql_series(self, read: MetricResult | None) -> list[Points]:
        """A Cloud SQL metric's series of the instances the service uses (any instance when none is named)."""
        named = self.sql_named
        # another instance of the project the query read is not the service's
        return [s for s in self.points(read) if not named or s.label("resource.labels.database_id") in named]

    def sql_connections_risen(self) -> dict[str, tuple[float, float]]:
        """The instances the service uses whose connections rose with the failures: (their largest in the
        SQL_CONNECTIONS_BEFORE before the failing window, their largest in it), when the second is at
        least SQL_CONNECTIONS_RISE times the first and SQL_CONNECTIONS_RISE_MIN more. Empty when no
        minute failed, the series was not read (collection._sql_connections_wanted) or holds no point
        before (a MySQL instance has none): nothing is claimed on what was not seen."""
        failing = self.failing_window
        if failing is None or self.b.sql_connections is None:
            return {}
        before = self._per_sql_instance(self.b.sql_connections, Window(failing.start - SQL_CONNECTIONS_BEFORE,
                                                                        failing.start))
        during = self._per_sql_instance(self.b.sql_connections, failing)
        risen = {}
        for db, values in during.items():
            usual = max(before.get(db) or [0.0])
            if values and before.get(db) and max(values) >= max(SQL_CONNECTIONS_RISE * usual,
                                                                usual + SQL_CONNECTIONS_RISE_MIN):
                risen[db] = (usual, max(values))
        return risen

    def sql_saturated(self, window: Window) -> dict[str, float]:
        """The instances whose CPU reached SQL_CPU_SATURATION in a minute of `window`, with their
        largest value; empty when none did or nothing was read."""
        return {db: max(vals) for db, vals in self.sql_cpu(window).items() if max(vals) >= SQL_CPU_SATURATION}

    def sql_saturation_news(self, window: Window) -> dict[str, float]:
        """`sql_saturated(window)` without the instances already saturated in SQL_CHRONIC_SHARE of the
        minutes of the window before the incident (`before`): a database that always runs that hot
        does not explain failures that began later."""
        before = self.sql_cpu(self.before)

        def chronic(db: str) -> bool:
            values = before.get(db, [])
            return bool(values) and sum(v >= SQL_CPU_SATURATION for v in values) >= SQL_CHRONIC_SHARE * len(values)
        return {db: value for db, value in self.sql_saturated(window).items() if not chronic(db)}

    def sql_unread(self, values: dict[str, list[float]]) -> list[str]:
        """The instances the service uses with no database/up point in `values` (an instance in
        another project than the one read, or a series Monitoring did not return): unknown, never up."""
        return sorted(db for db in self.sql_named if not values.get(db))

    def sql_down(self, window: Window) -> tuple[list[str], str] | None:
        """(instances whose database/up dropped below 1 or went silent, what was seen), or None
        when unknown. A series that reported in the window and then stopped, more than
        SQL_SILENT_SECONDS before the window's end, is not shown up: what it would say now is
        unread (a stopped instance may report nothing; whether it reports 0 is unconfirmed), and
        its last 1 is from before the failures may have begun. Computed once per window (two rules
        ask, each of the failing minutes and of the incident window)."""
        if window not in self._sql_down:
            self._sql_down[window] = self._sql_down_in(window)
        return self._sql_down[window]

    def _sql_down_in(self, window: Window) -> tuple[list[str], str] | None:
        values = {db: vals for db, vals in self.sql_up_values(window).items() if vals}
        stopped, lagging = self.sql_trailing(window)
        if not values and not stopped:
            return None
        gaps = self.sql_gaps(window)
        down = sorted({db for db, vals in values.items() if min(vals) < 1 or db in gaps} | stopped.keys())
        unread = [db for db in self.sql_unread(values) if db not in stopped]
        if (unread or lagging) and not down:
            return None   # the others up says nothing of an instance whose series was not read (or not yet)
        return down, "; ".join([f"{db}: min {min(vals):.0f}"
                                + (f", no point from {hms(gaps[db][0])} to {hms(gaps[db][1])}" if db in gaps else "")
                                + (f", no point since {hms(stopped[db])}" if db in stopped else "")
                                + (f", no point since {hms(lagging[db])} (within database/up's "
                                   f"{SQL_INGEST_LAG.seconds} s ingestion delay: unknown)" if db in lagging else "")
                                for db, vals in values.items()]
                               + [f"{db}: no point since {hms(at)} (stopped)" for db, at in stopped.items()
                                  if db not in values]
                               + [f"{db}: no point (unread)" for db in unread])

    def sql_gaps(self, window: Window) -> dict[str, tuple[datetime, datetime]]:
        """The instances the service uses whose database/up has two points more than SQL_GAP_SECONDS
        apart with minutes of `window` between them (the earlier may be the last before it, the later
        the first after it), with the first such pair: minutes the instance did not report are not
        minutes it was up. With no point before the window (the read starts with the incident
        window), its start stands for the earlier: a first point more than SQL_GAP_SECONDS into the
        window leaves its first minutes unreported (an instance restarting, or stopped, since before
        it). Silence up to the window's end with no point after it is `sql_trailing`'s."""
        limit, (low, high) = SQL_GAP_SECONDS * 1_000_000, window.micros
        named, gaps = self.sql_named, {}
        for series in self.points(self.b.sql_up):
            db = series.label("resource.labels.database_id")
            if (named and db not in named) or db in gaps:
                continue
            ends = series.ends if series.ordered else tuple(sorted(series.ends))
            first, last = bisect_right(ends, low), bisect_right(ends, high)
            if first == 0 and last > 0 and ends[0] - low > limit:
                gaps[db] = (window.start, at_micros(ends[0]))
                continue
            start, stop = max(first - 1, 0), last + 1
            gap = next(((a, b) for a, b in zip(ends[start:stop], ends[start + 1:stop]) if b - a > limit and a < high),
                       None)
            if gap:
                gaps[db] = (at_micros(gap[0]), at_micros(gap[1]))
        return gaps

    def sql_trailing(self, window: Window) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """(stopped, lagging): the instances whose database/up has no point after its newest one in or
        before `window`, that newest point more than SQL_GAP_SECONDS before the window's end, each
        with that point's time. Stopped: the points after it would be visible by now (SQL_INGEST_LAG),
        or it is more than SQL_SILENT_SECONDS before the window's end; the minutes after it are not
        up. Lagging: they may still be arriving; the minutes after it are unknown, neither up nor
        down. An instance with no point at all up to the window's end is `sql_unread`'s."""
        limit, high = SQL_GAP_SECONDS * 1_000_000, window.micros[1]
        settled = micros(self.b.collected_at - self.b.clock_ahead - SQL_INGEST_LAG)
        silent = high - SQL_SILENT_SECONDS * 1_000_000
        named, stopped, lagging = self.sql_named, {}, {}
        for series in self.points(self.b.sql_up):
            db = series.label("resource.labels.database_id")
            if named and db not in named:
                continue
            ends = series.ends if series.ordered else tuple(sorted(series.ends))
            last = bisect_right(ends, high)
            if last == 0 or last < len(ends) or high - ends[last - 1] <= limit:
                continue   # no point yet, a point after the window (a gap is sql_gaps'), or a sample behind
            newest = ends[last - 1]
            (stopped if newest + limit <= settled or newest < silent else lagging)[db] = at_micros(newest)
        return stopped, lagging

    # --- logs -------------------------------------------------------------------------------

    @cached_property
    def logs(self) -> "LogIndex":
        """The service's log lines every rule counts from: the service read's page, and, when that page came
        back full before its window's start, the read of the application's failure lines alone
        (EvidenceBundle.failure_logs) joined to it (`union_of`). A service that logs its ordinary work to
        stderr fills the page within minutes, and the database's refusals, dial timeouts, pool waits and
        failed lookups of the incident's first minutes are off it; the failure read holds them (its stderr
        and stdout at ERROR or worse, or holding a needle), so they count over the window, not over the
        page's last minutes. That read failed, they are known over the page alone (`page_cut`)."""
        page = self.b.logs.entries if self.b.logs else ()
        failure = self.b.failure_logs
        return LogIndex(union_of(page, failure.entries) if failure is not None and failure.entries else page)

    @cached_property
    def failure_read(self) -> "LogIndex | None":
        """The read of the application's failure lines alone (EvidenceBundle.failure_logs), classified; None
        when it was not made (the service read's page held its whole window) or failed."""
        return LogIndex(self.b.failure_logs.entries) if self.b.failure_logs is not None else None

    @cached_property
    def logs_unread(self) -> str:
        """Why the service's log read holds nothing, or "" when it was read: a permanent fault
        (PERMISSION_DENIED, RESOURCE_EXHAUSTED) or UNAVAILABLE after the retries becomes a gap in the
        bundle and leaves `logs` None (collection.py). Then no line seen is no line known: every
        check that reads the logs to hold a finding back (a refusal, a failed lookup, another
        service's 5xx) could not run, and a finding that acts must not rest on it."""
        if self.b.logs is not None:
            return ""
        # The last attempt's gap: without the alert's filter when Logging refused that first.
        gap = ([g for g in self.b.gaps if g.startswith("logging: application and system log")] or [""])[-1]
        # The status text only, not its details (an ErrorInfo printed after it, " [reason: ...").
        gap = re.split(r"\s\[|\n", gap)[0].strip()[:200]
        return f"the service's log read failed ({gap})" if gap else "the service's logs were not read"

    @property
    def failure_read_gap(self) -> str:
        """The gap the read of the failure lines alone left (refused, or a transient fault once its retries
        were spent: collection._failure_lines never raises), or "" when it left none (made, or not needed)."""
        return next((g for g in self.b.gaps if g.startswith(FAILURE_READ_GAP)), "")

    @cached_property
    def page_cut(self) -> str:
        """Why the service's lines of the incident window's first minutes are not known, or "" when they are:
        the service read's newest-first page full (LogResult.truncated) and ending after the window began, so
        it holds the window's last minutes alone, and the read of the failure lines alone, made then
        (collection._failure_lines) to read every line a rule counts over the window, failed (its gap). A
        line's absence from the page's last minutes then rules nothing out (rules/base.unread_rule_outs).
        That read made, the rules count from both (`logs`); not made because the page held the application's
        failure lines alone (a flood of them), or itself full, a count over its span is scaled
        (`logged_enough`), as before: unlike `healthy`, which concludes from no line at all
        (failure_lines.failure_read_failed), a rule's count is scaled over the span read. Since that read takes
        no INFO or DEBUG line for its stderr needles (log_signals.failure_lines_filter), what fills it is the
        application's failures and its unlevelled or WARNING lines holding a needle, whose span is a sample
        of the window's."""
        logs = self.b.logs
        ended = logs.page_ended_after(self.incident.start) if logs is not None else None
        if ended is None or self.b.failure_logs is not None:
            return ""
        gap = self.failure_read_gap
        if not gap:
            return ""
        return (f"the service's log read came back full ({len(logs.entries)} entries, max_log_entries), its "
                f"newest-first page ending at {hms(ended)}, after the incident window began at "
                f"{hms(self.incident.start)}, and the read of its failure lines alone failed ({gap[:200]})")

    def logged_enough(self, entries: Sequence[LogRecord], needed: int | None = None) -> bool:
        """Whether the entries of a signal read in the logs say it was logged at least db_error_logs_min times
        over the incident window. Each entry is counted over the read that carries it: the read of the failure
        lines alone when it was made and takes that entry (`failure_read_carries`), else the service read's
        page. A read that came back whole holds the window's every such line: its entries count once each,
        never scaled. A page cut short (LogResult.truncated, the newest max_log_entries entries) covers only
        the window's last stretch, crowded by whatever else was logged (INFO chatter, a traceback written one
        entry per line), so its entries are scaled by the share of the window it spans: one entry in a page
        spanning the last 20 s of a 17-minute window stands for about 50. Only for signals that hold an
        action back (a refusal proves the path works, a timeout on a public host never crossed the
        connector): a count that supports an action is never scaled up. Before, a bare count was scaled over
        the page whatever read carried its lines, so lines the failure read held whole were taken for a
        sample of a crowded page. `needed`: the bar, db_error_logs_min unless given."""
        needed = self.s.db_error_logs_min if needed is None else needed
        return len(entries) >= needed or (bool(entries) and self.logged_count(entries) >= needed)

    def logged_count(self, entries: Sequence[LogRecord]) -> float:
        """How many lines of the incident window `entries` stand for, each counted over the read that carries
        it (`logged_enough`): once in a read that came back whole, scaled over the span of a page cut short."""
        failure = self.b.failure_logs
        carried = sum(1 for e in entries if failure_read_carries(e)) if failure is not None else 0
        return carried * self._scale(failure) + (len(entries) - carried) * self._scale(self.b.logs)

    def half_or_more(self, lines: Sequence[LogRecord], failures: Sequence[LogRecord]) -> bool:
        """Whether `lines` are at least half of `failures` (the failure lines they are compared with), both
        counted over the reads that carry them (`logged_count`). A logger that writes a signal's lines at INFO
        or DEBUG (a downstream's 5xx passed on, a database's answer in a retry loop's line) leaves them to the
        service read's page, which a chatty service fills within minutes, while its ERROR lines are read over
        the whole window by the read of the failure lines alone: counted as read, the page's last minutes
        were weighed against the whole window, and the signal read as a minority it was not. With no failure
        read made, every line comes from the same page and is compared as read."""
        if self.b.failure_logs is None:
            return 2 * len(lines) >= len(failures)
        return 2 * self.logged_count(lines) >= self.logged_count(failures)

    def counted_over_the_page(self, entries: Sequence[LogRecord]) -> str:
        """Words naming the service read's page cut short when some of `entries` are counted over its span
        alone (the read of the failure lines alone made, and those lines not among what it takes), else ""."""
        logs = self.b.logs
        ended = logs.page_ended_after(self.incident.start) if logs is not None else None
        if self.b.failure_logs is None or ended is None or self._scale(logs) == 1.0:
            return ""
        alone = sum(1 for e in entries if not failure_read_carries(e))
        if not alone:
            return ""
        return (f"; {alone} of them on the service read's page alone (logged below WARNING, which the read of the "
                f"failure lines alone leaves out), its newest-first page full and ending at {hms(ended)}: "
                f"counted over its span")

    def _scale(self, read: LogResult | None) -> float:
        """How many entries of the incident window one entry of `read` stands for: 1 for a read that came back
        whole; for a newest-first page cut short (LogResult.truncated), the window over the stretch the page
        spans (the log read's window runs from the incident window's start to the collection: the metrics end
        minutes earlier, Monitoring's ingestion lag; the logs run to the read). A page spanning no time, or
        the whole window, is counted as read (1): nothing to scale by."""
        start = self.incident.start
        ended = read.page_ended_after(start) if read is not None else None
        if ended is None:
            return 1.0
        end = max(self.b.collected_at, self.incident.end)
        spanned = (end - ended).total_seconds()
        whole = (end - start).total_seconds()
        return whole / spanned if 0 < spanned < whole else 1.0

    def log_matches(self, signal: LogSignal, revision: str | None = None) -> list[LogRecord]:
        found = self.logs.by_signal.get(signal, ())
        if revision is None:
            return list(found)
        return logged_by(found, revision)

    @cached_property
    def crashes(self) -> Crashes:
        """The instances' crashes in Cloud Run's system log while the requests failed (`Crashes`), read once for
        every rule and the narrative that names them (connector_saturation's crashed instances, the look-next's
        crash exits)."""
        lines = self.matches_while_failing(LogSignal.STARTUP_FAILURE)
        exited = per_text(crash_exit, lines)
        signal = per_text(crash_signal, lines)
        return Crashes(lines=tuple(e for e in lines if exited[e.text] or signal[e.text] is not None),
                       exited=tuple(e for e in lines if exited[e.text]),
                       signalled=tuple((e, signal[e.text]) for e in lines if signal[e.text] is not None))

    def matches_while_failing(self, signal: LogSignal) -> list[LogRecord]:
        """The entries of a signal logged from the failing window's start (shortly before the first failing
        minute) on, or every one when no minute failed: what was logged while the requests failed."""
        failing = self.failing_window
        return [e for e in self.log_matches(signal) if failing is None or e.timestamp >= failing.start]

    def database_lines(self, signal: LogSignal) -> list[LogRecord]:
        """The entries of a database signal (errors of reaching it, its refusals) logged while requests
        failed: from the failing window's start (shortly before the first failing minute) on, or every
        one when no minute failed or the failures began with the window. As for database/up's blip
        (rules/database_signs.py), errors that stopped before the failures began explain none of them:
        a maintenance restart or failover ends every pooled connection of every instance at once, each
        logged (57P01 "terminating connection due to administrator command", resets), and those lines
        stay in the incident window for minutes after the database came back."""
        return list(self._database_split(signal)[0])

    def database_lines_saying(self, signal: LogSignal, words: re.Pattern[str],
                              revision: str | None = None) -> list[LogRecord]:
        """The signal's `database_lines` (of `revision` when given) whose text holds `words`: each distinct
        text searched once (log_signals.per_text), never a regex asked of every line. The words a rule
        needs inside lines the one-pass search already matched (a replica's conflicts, a lock timeout)."""
        lines = [e for e in self.database_lines(signal)
                 if revision is None or e.resource_labels.get("revision_name") == revision]
        held = per_text(lambda text: words.search(text) is not None, lines)
        return [e for e in lines if held[e.text]]

    def database_lines_before(self, signal: LogSignal) -> list[LogRecord]:
        """The entries of a database signal logged only before the failing window (`database_lines`
        leaves them out): context, never a cause."""
        return list(self._database_split(signal)[1])

    def _database_split(self, signal: LogSignal) -> tuple[tuple[LogRecord, ...], tuple[LogRecord, ...]]:
        """(`database_lines`, `database_lines_before`) of the signal, split in one pass and kept: four
        checks in three rules ask for the connection errors' lines, and each comparison of two
        datetimes whose tzinfo objects differ asks both for their UTC offset (CPython
        Modules/_datetimemodule.c, datetime_richcompare). Callers get copies."""
        known = self._database_lines.get(signal)
        if known is None:
            found = self.logs.by_signal.get(signal, ())
            failing = self.failing_window
            if failing is None or failing.start <= self.incident.start:
                known = (tuple(found), ())
            else:
                # Each line's timestamp compared once, in C (`start <= e.timestamp` is `e.timestamp >= start`,
                # the same datetime comparison), and each side taken by that column, in the read's order.
                after = list(map(failing.start.__le__, map(_TIMESTAMP, found)))
                known = (tuple(compress(found, after)), tuple(compress(found, map(operator.not_, after))))
            self._database_lines[signal] = known
        return known

    # --- readings the rules share -------------------------------------------------------------
    # Each found once per diagnosis, on first use, by whichever rule asks first, and kept (`_kept`): the rules
    # only read them, each read after the first a plain attribute's.

    @_kept
    def connector_news(self) -> ConnectorNews:
        """The VPC connector's saturation signs that are news, with the checks that found them
        (connector_news.news_of): connector_saturation cites them (connector_signs.stress), database_unreachable
        asks whether there are any (connector_signs.new_stress)."""
        return news_of(self)

    @_kept
    def db_refusals(self) -> dict[str, list[LogRecord]]:
        """The database's refusals in the logs, by what it said (Refusal), most said first, when there
        are at least db_error_logs_min of them logged while requests failed (`database_lines`: a refusal
        that stopped before the failures began explains none of them; `logged_enough`: in a log page cut
        short, fewer stand for more; a refusal holds a connector move back, so a crowded page must not
        hide it); else empty (database_errors.refusals_by_kind). Read by database_unreachable (which
        names them) and connector_saturation (an answer proves the path through the connector works)."""
        entries = self.database_lines(LogSignal.DB_REFUSED)
        return refusals_by_kind(entries, self.logged_enough(entries))

    @_kept
    def db_never_left(self) -> dict[str, list[LogRecord]]:
        """The errors of reaching the database (`database_lines` of DB_CONNECTION, less the database's own
        refusals) whose text shows the connection failed inside the instance, by NeverLeft kind, when
        they are the story (database_errors.never_left_by_kind: the other errors of reaching it and the
        waits for a pooled connection count against them); else empty. Read by connector_saturation
        (nothing of theirs crossed the connector) and database_unreachable (rules/never_left.py)."""
        return never_left_by_kind(
            self.database_lines(LogSignal.DB_REFUSED), self.database_lines(LogSignal.DB_CONNECTION),
            len(self.database_lines(LogSignal.DB_POOL_WAIT)), self.s.db_error_logs_min, self.logged_enough)

    @_kept
    def db_unreached_lines(self) -> list[LogRecord]:
        """The errors of reaching the database in the logs (a dial timeout, a reset, a pool wait) that
        failed to reach it: every refusal (`db_refusals`) is also a connection error (its pattern is in
        both signals), and one whose text is a failed name lookup (DNS_FAILURE: pgjdbc's "Caused by:
        java.net.UnknownHostException", a driver's "Temporary failure in name resolution") dialled
        nothing; both are left out. Errors that never left the instance are counted. Six checks of
        connector_saturation ask, each over every connection error."""
        left_out = chain(chain.from_iterable(self.db_refusals.values()), self.log_matches(LogSignal.DNS_FAILURE))
        return lines_but(self.database_lines(LogSignal.DB_CONNECTION), left_out)

    @_kept
    def db_unreached(self) -> int:
        """How many `db_unreached_lines` there are."""
        return len(self.db_unreached_lines)

    @_kept
    def db_closed(self) -> int:
        """How many of `db_unreached_lines` say only that an open connection was found closed or broken
        (log_signals.closed_connection): no wait, no failed dial. Only asked past cheaper checks."""
        return closed_count(self.db_unreached_lines)

    @_kept
    def db_refused_dials(self) -> int:
        """How many of `db_unreached_lines` say only that a dial to an address other than loopback was
        refused at once (log_signals.refused_dial): an answer, no wait. Only asked past cheaper checks."""
        return refused_dial_count(self.db_unreached_lines)

    @_kept
    def db_bare_link_failures(self) -> list[LogRecord]:
        """The `db_unreached_lines` that are Connector/J's "Communications link failure" with no cause said
        (log_signals.bare_link_failure): a connection ended, no wait shown. Only asked past cheaper checks."""
        return bare_link_lines(self.db_unreached_lines)


def egress_of(revision: Revision) -> str:
    """The revision's VPC egress, "" with no VPC access. Left unset it is PRIVATE_RANGES_ONLY: "Traffic
    VPC egress settings. If not provided, it defaults to PRIVATE_RANGES_ONLY." (Cloud Run Admin API v2
    discovery document, GoogleCloudRunV2VpcAccess.egress; googleapis/google-api-python-client
    googleapiclient/discovery_cache/documents/run.v2.json),
    as gcloud run deploy's --vpc-egress names private-ranges-only its default."""
    vpc = revision.vpc_connector or revision.vpc_network_interfaces
    return (revision.vpc_egress or "PRIVATE_RANGES_ONLY") if vpc else ""


def _path(revision: Revision) -> tuple[str, str, tuple[str, ...]]:
    """How a revision reaches its VPC: its connector, its egress (egress_of), its Direct VPC egress
    interfaces. With no VPC access the egress setting means nothing."""
    return revision.vpc_connector or "", egress_of(revision), tuple(revision.vpc_network_interfaces)


def path_changed(before: Revision, after: Revision) -> str:
    """What `after` changed in how it reaches its VPC against `before`, in words; "" when nothing."""
    (c0, e0, n0), (c1, e1, n1) = _path(before), _path(after)
    def way(connector: str, interfaces: tuple[str, ...]) -> str:
        return (f"connector {connector.rsplit('/', 1)[-1]}" if connector else
                f"Direct VPC egress ({', '.join(interfaces)})" if interfaces else "no VPC access")
    changed = []
    if (c0, n0) != (c1, n1):
        changed.append(f"from {way(c0, n0)} to {way(c1, n1)}")
    if e0 and e1 and e0 != e1:
        changed.append(f"egress from {e0} to {e1}")
    return ", ".join(changed)


def refused_series(series) -> bool:
    """A request_count series of failures: its class 5xx (a 503, a 504 cut at the timeout) or 429."""
    return code_class(series) == "5xx" or series.label("metric.labels.response_code") == "429"


def code_class(series) -> str:
    """A request_count series' response class: its `response_code_class` label, or, where the series has none,
    the class its `response_code` makes ("503": "5xx"; "0": "0xx", a class no path reads as served), or
    "unknown" with neither. request_count carries both labels (Cloud Monitoring's list of Google Cloud
    metrics, cloud.google.com/monitoring/api/metrics_gcp, run: response_code, response_code_class, route;
    read in a third-party copy, dynatrace-gcp-monitor cloud_run_revision.yml); a point written without its
    class is UNCONFIRMED, and Runwarden's own read groups by both (collection._run_metrics), so a series
    without one is a label Cloud Run left empty, not an alert's grouping. Read as "unknown" alone, a 503 with
    no class was counted by neither the 5xx path nor the 4xx path, and diluted the share of both
    (client_errors counts "unknown" as not served)."""
    named = series.label("metric.labels.response_code_class")
    if named:
        return named
    code = series.label("metric.labels.response_code")
    return f"{code[0]}xx" if code[:1].isdigit() else "unknown"


# Severities at which a log line is an error text a person should see.
ERROR_SEVERITIES = AT_LEAST_WARNING.names
# The severities at which a line of the application's own logs (run_logs.APP_LOGS) says something failed.
FAILED_SEVERITIES = AT_LEAST_ERROR.names
_LOG_ID = operator.attrgetter("log_id")
_TIMESTAMP = operator.attrgetter("timestamp")
# How the gap of the read of the failure lines alone begins (collection._failure_lines, Facts.failure_read_gap);
# what that read takes is log_signals.FAILURE_READ, its table.
FAILURE_READ_GAP = "logging: the application's failure lines"


def failure_read_carries(entry: LogRecord) -> bool:
    """Whether the read of the failure lines alone takes `entry`, told on the client from the table that
    server-side filter is written from (log_signals.FAILURE_READ: failure_lines_filter asks Logging for it):
    the application's own line (stderr, stdout) at ERROR or worse; with no level (DEFAULT) or at WARNING or
    worse, one holding a needle of STDOUT_SIGNALS or of FAILURE_READ_SIGNALS; at any level, one holding a
    refusal logged at INFO (log_signals.INFO_REFUSALS: the Auth Proxy's "max connections exceeded"); a
    system log line; a request log line holding one of Cloud Run's own failure texts. Any other line at
    INFO, DEBUG or NOTICE is the page's alone. A line that filter takes by a JSON key alone (a logger's
    level word, an exception's key) is not told here, and counts as left: it is then counted over the page,
    as before the failure read."""
    return failure_read_takes(entry.log_id, entry.severity, entry.text)


def union_of(page: Sequence[LogRecord], failure: Sequence[LogRecord]) -> Entries:
    """The service read's `page` and the failure read's entries as one read, newest first, each entry once:
    two entries with the same timestamp and insert_id are one ("Logging considers other log entries in the
    same project, with the same timestamp, and with the same insert_id to be duplicates which are removed in
    a single query result", LogEntry.insert_id, google/logging/v2/log_entry.proto). An entry with no
    insert_id (a record built by hand) is told by its timestamp, log and text. On a tie in time the page's
    entry comes first (a stable sort)."""
    def key(e: LogRecord) -> tuple:
        return (e.timestamp, e.insert_id) if e.insert_id else (e.timestamp, e.log_id, e.severity, e.text)
    seen = set(map(key, page))
    extra = [e for e in failure if key(e) not in seen]
    if not extra:
        return page if type(page) is Entries else Entries(page)
    return Entries(sorted(chain(page, extra), key=_TIMESTAMP, reverse=True))


class LogIndex:
    """The service's log read, classified in one pass that every rule shares: the entries each
    signal matched, in the read's order, each distinct text classified once. The commonest
    warning-or-worse texts, grouped with their numbers masked, are counted when first asked for
    (only a diagnosis that names no single cause says them)."""

    def __init__(self, entries: tuple[LogRecord, ...]) -> None:
        # Each entry's text and severity, in order: read when the read was built (Entries, where the
        # records were still in the CPU's caches); a plain tuple (a read built by `model_construct`
        # or a `model_copy` update) gets them here, the same way.
        entries = entries if type(entries) is Entries else Entries(entries)
        counts = Counter(entries.texts)
        # A stack trace logged one line an entry is read as the one failure it is (split_lines): its
        # cause line joined to the line it explains. Asked of the distinct texts only; a read with no
        # continuation line (nearly all) goes on as it came.
        if has_continuation(counts):
            entries = Entries(joined(entries))
            counts = Counter(entries.texts)
        self.entries = entries
        self.texts: tuple[str, ...] = entries.texts
        self.severities: tuple[str, ...] = entries.severities
        # Each distinct text and how many entries say it, in first appearance order (in C): the
        # distinct texts the classification needs, and the counts the top error texts start from.
        self._counts = counts
        signals = classify_all(self._counts)
        found = list(map(signals.__getitem__, self.texts))
        matched: tuple[list[LogRecord], ...] = tuple([] for _ in _SIGNALS)
        # Only the entries that carry a signal are visited: compress, in C, skips the empty sets. Each
        # set of signals is looked up by the set (its hash is kept), never by a signal: an Enum's
        # hash is a Python call.
        for entry, carried in compress(zip(entries, found), found):
            for i in _POSITIONS[carried]:
                matched[i].append(entry)
        self.by_signal = {signal: tuple(m) for signal, m in zip(_SIGNALS, matched) if m}
        self._top: dict[int, list[tuple[str, int]]] = {}

    @cached_property
    def _dials_and_answers(self) -> tuple[dict[str, str | None], dict[str, str]]:
        return dials_and_answers(self._counts)

    @property
    def dials(self) -> dict[str, str | None]:
        """`log_signals.dial_failure` of each distinct text, each asked once."""
        return self._dials_and_answers[0]

    @property
    def answers(self) -> dict[str, str]:
        """`log_signals.downstream_answer` of each distinct text, each asked once."""
        return self._dials_and_answers[1]

    @cached_property
    def app(self) -> tuple[LogRecord, ...]:
        """The entries of the application's own logs (APP_LOGS), in the read's order: taken once, for
        the rules' several passes over the application's lines (its failed dials, its downstreams'
        answers and waits, its failure lines), each of which read every entry's log id before."""
        return tuple(compress(self.entries, map(APP_LOGS.__contains__, map(_LOG_ID, self.entries))))

    @cached_property
    def app_failed(self) -> tuple[LogRecord, ...]:
        """The application's lines (`app`) logged at ERROR or worse (FAILED_SEVERITIES), in order."""
        return tuple(e for e in self.app if e.severity in FAILED_SEVERITIES)

    @cached_property
    def app_failing(self) -> tuple[LogRecord, ...]:
        """The application's failure lines, in order: those at ERROR or worse (`app_failed`), and those with no
        level at all (DEFAULT) that hold a failure text (log_signals.holds_a_needle: a database, pool-wait or
        upstream failure, a failed lookup). A line printed plain on stderr (a traceback's last line, a driver's
        message) has no level ("Logs written directly to stdout or stderr ... do not have an associated log
        level", Cloud Run functions' "View and write logs" page); whether Cloud Run's services grade such stderr
        text ERROR instead is UNCONFIRMED, so it counts either way. A line its logger marked INFO or WARNING
        said it was no failure, and does not. Each distinct text is searched once."""
        said: dict[str, bool] = {}

        def failing(e: LogRecord) -> bool:
            if e.severity in FAILED_SEVERITIES:
                return True
            if e.severity != "DEFAULT" or not e.text:
                return False
            known = said.get(e.text)
            if known is None:
                known = said[e.text] = holds_a_needle(e.text)
            return known
        return tuple(filter(failing, self.app))

    @cached_property
    def waits(self) -> dict[str, str | None]:
        """`log_signals.downstream_wait` of each distinct text, each asked once, when first asked for."""
        return downstream_waits(self._counts)

    def error_texts(self) -> Iterator[str]:
        """The warning-or-worse texts, in the read's order (empty texts left out)."""
        return filter(None, compress(self.texts, map(ERROR_SEVERITIES.__contains__, self.severities)))

    def top_error_texts(self, limit: int) -> list[tuple[str, int]]:
        """The commonest groups, most first; a tie goes to the group that came first. Counted once
        per limit, masking only the texts whose group could be among them (`top_grouped`)."""
        known = self._top.get(limit)
        if known is None:
            known = self._top[limit] = top_counted(self._error_counts(), limit)
        return known

    def _error_counts(self) -> Counter[str]:
        """Each warning-or-worse text and how many entries say it, in the read's order (empty texts
        left out): `Counter(self.error_texts())`. A service's log read is mostly warnings and worse
        (its stderr, the request log's failures), so when every entry is one the texts are counted
        as they are, without picking them first."""
        if ERROR_SEVERITIES.issuperset(self.severities):
            if "" not in self._counts:
                return self._counts   # read, never changed (top_counted only reads it)
            counts = self._counts.copy()
            del counts[""]
            return counts
        return Counter(self.error_texts())


_SIGNALS = tuple(LogSignal)
# Each set of signals a text can carry, and the positions of its signals in _SIGNALS.
_POSITIONS = {combination: tuple(i for i, signal in enumerate(_SIGNALS) if signal in combination)
              for combination in SIGNAL_COMBINATIONS}


def _runs(ends: list[datetime], apart: timedelta) -> list[list[datetime]]:
    """`ends` (minute ends, oldest first) split into runs: a new run where two ends are more than `apart` apart."""
    runs: list[list[datetime]] = []
    for at in ends:
        if runs and at - runs[-1][-1] <= apart:
            runs[-1].append(at)
        else:
            runs.append([at])
    return runs
