"""What the Cloud SQL instances the service uses show while requests fail, as connector_saturation and
database_unreachable both judge it: whether one went down in the failing minutes, and what a person
checks when one is saturated. Neither rule imports the other."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from shared.diagnosis.evidence import LogRecord, at_micros
from shared.diagnosis.facts import FAILING_LEAD, SQL_GAP_SECONDS, SQL_INGEST_LAG, Facts, Window, hms
from shared.diagnosis.log_signals import LogSignal, closed_connection, lost_mid_query, per_text, read_timed_out
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.refusals import refusals

# What a person checks when the database's own CPU is saturated beside a busy connector.
SLOW_DATABASE = ("look at the Cloud SQL instance first: its CPU, its slow queries and lock waits (Query Insights, "
                 "pg_stat_activity or SHOW PROCESSLIST), and what began with them (a runaway query, a batch job, a "
                 "missing index); raise the connector's max instances only once the instance is no longer saturated "
                 "and requests still wait")

# What a person checks when reads on established connections timed out while new connections opened: a pool
# whose idle flows the path dropped, or a database slow to answer.
STALE_READS = ("look at how long the application's pool keeps a connection idle against the idle timeout of the path "
               "to the database (a NAT's, a firewall's, a connector's: a flow dropped without a reset hangs its next "
               "query until a timeout): validate connections before use (SQLAlchemy pool_pre_ping, HikariCP's "
               "keepaliveTime), retire idle ones sooner (pool_recycle, maxLifetime, idleTimeout, Go's "
               "SetConnMaxIdleTime), and turn TCP keepalives on (libpq's keepalives_idle, pgjdbc's tcpKeepAlive) so "
               "a dropped flow fails in seconds; if the reads time out on busy connections too, look at the "
               "database's slow queries; raise the connector's max instances only if new connections fail to cross it")


def sql_judged_window(facts: Facts) -> Window:
    """The minutes database/up is judged over: the failing ones (Facts.failing_window), or the incident
    window when none failed or they began with it (sql_down_while_failing)."""
    failing = facts.failing_window
    return facts.incident if failing is None or failing.start <= facts.incident.start else failing


def sql_unreported(facts: Facts) -> tuple[list[str], Window] | None:
    """The instances the service uses (by database_id) whose database/up holds no point in the window
    judged, with that window, when database/up was read; None when it was not read (a gap of its own)
    or every instance reported. What such an instance would say is unread: a stopped instance may
    report nothing (whether it reports 0 instead is UNCONFIRMED, Facts.sql_down), and a series of
    another project than the one read is not in the answer. A person looks at the instance."""
    if facts.b.sql_up is None:
        return None
    window = sql_judged_window(facts)
    unread = facts.sql_unread({db: vals for db, vals in facts.sql_up_values(window).items() if vals})
    return (unread, window) if unread else None


def sql_unreported_words(unreported: tuple[list[str], Window]) -> str:
    """What a summary says of `sql_unreported`: which instance, which metric, which window, what to do."""
    dbs, window = unreported
    return (f"Cloud SQL's state unknown: database/up had no point for {', '.join(dbs)} in {window} (a stopped "
            "instance may report nothing): look at the instance before the connector is scaled")


def sql_lagging(facts: Facts) -> str:
    """What database/up leaves unknown at the end of the window judged (Facts.sql_trailing's lagging
    instances: the newest point more than a sample before the window's end, within database/up's
    ingestion delay at the read), or "": the minutes after it are neither up nor down yet."""
    if facts.b.sql_up is None:
        return ""
    lagging = facts.sql_trailing(sql_judged_window(facts))[1]
    return "; ".join(f"Cloud SQL's state unknown since {hms(at)}: database/up's newest point for {db}, within its "
                     f"{SQL_INGEST_LAG.seconds} s ingestion delay (look at the instance before the connector is "
                     "scaled)" for db, at in lagging.items())


def sql_down_while_failing(facts: Facts, c: Citation) -> tuple[list[str], str] | None:
    """Facts.sql_down over the failing minutes (Facts.failing_window), or over the incident window when
    none failed (a database/up alert while requests are clean). A maintenance restart or a failover
    is a blip of a minute or so ("certain system updates require a brief service interruption", Cloud
    SQL docs, "About maintenance on Cloud SQL instances"): one that ended before the failures began
    explains none of them, and is cited as context, never as the cause."""
    failing = sql_judged_window(facts)
    if failing is facts.incident:
        return facts.sql_down(facts.incident)
    sql = facts.sql_down(failing)
    earlier = facts.sql_down(facts.incident)
    if sql is not None and earlier is not None and not sql[0] and earlier[0]:
        c.cite("metric", facts.b.sql_up.query, f"{', '.join(earlier[0])} down only before the failures began "
               f"({earlier[1]} over {facts.incident}); up throughout {failing}",
               "down while requests failed (from the first failing minute, less "
               f"{int(FAILING_LEAD.total_seconds() // 60)} min)", False, role="context")
    return sql


def reads_among(facts: Facts, lines: list[LogRecord], timed_out: Callable[[str], bool]) -> list[LogRecord]:
    """The `lines` whose text `timed_out` reads as a read on an established connection that timed out,
    when they are enough read over the window (Facts.logged_enough: they hold a finding back, so a page cut
    short is scaled) and the database refused nothing (a refusal is read first, as an answer); else []."""
    if not lines or refusals(facts):
        return []
    timed = per_text(timed_out, lines)
    reads = [e for e in lines if timed[e.text]]
    return reads if facts.logged_enough(reads) else []


def on_an_open_connection(text: str) -> bool:
    """Whether a database error's text is about a connection already made (found closed or reset, a read
    that timed out, a MySQL 2013 that names no reason): its TCP dial had been answered, so it is no failed dial.
    A MySQL connect lost before the server's greeting (log_signals.greeting_lost, any system error) is not one:
    behind a local proxy its accept is the proxy's, whose own dial may have failed, so it stands beside the
    others as a connect that may not have crossed the path (a doubt), never as proof that new connections open."""
    return closed_connection(text) or read_timed_out(text) or lost_mid_query(text)


class NoFailedDial(NamedTuple):
    """Errors of reaching the database on connections the path had carried (`found`), and what stands beside
    them: the other errors of reaching it that are not on an open connection (`others`: a failed dial) and,
    where the rule counts them, the waits for a pooled connection (`pooled`)."""
    found: list[LogRecord]
    others: int
    pooled: int
    alone: bool   # others and pooled together fewer than db_error_logs_min: new connections opened


def no_failed_dial(facts: Facts, matches: Callable[[str], bool], count_pool_waits: bool) -> NoFailedDial | None:
    """The errors of reaching the database (Facts.db_unreached_lines: refusals and failed name lookups, which
    dialled nothing, left out) whose text `matches` (`reads_among`), with what stands beside them; None when
    too few were logged or the database refused. Only the errors that are not on an open connection
    (`on_an_open_connection`) count beside them: a connection found closed, reset or lost mid-query beside
    reads that timed out had been opened too, as a stale pool's are (its flows forgotten by the path, some
    hanging, some answered by a late reset), and says nothing against new connections opening.

    `count_pool_waits`: whether the waits for a pooled connection stand beside them too. connector_saturation
    counts them: a path saturated enough to hang reads slows new dials, and the requests' waits for a pooled
    connection pile up there (its own sign of a wait on the path). database_unreachable does not: its finding
    is that the application cannot connect, which only a failed dial shows, and a pool whose connections all
    hang on reads makes its requests wait for one without any dial failing."""
    lines = facts.db_unreached_lines
    found = reads_among(facts, lines, matches)
    if not found:
        return None
    found_ids = {id(e) for e in found}
    opened = per_text(on_an_open_connection, lines)
    others = sum(1 for e in lines if id(e) not in found_ids and not opened[e.text])
    pooled = len(facts.database_lines(LogSignal.DB_POOL_WAIT)) if count_pool_waits else 0
    return NoFailedDial(found, others, pooled, others + pooled < facts.s.db_error_logs_min)


# A database/up series reads as up again only after this many points of 1 in a row, none skipped, up to the
# minutes' end: one point of 1 between two 0s is an instance still restarting (a flap), as _HEALTHY_MIN_MINUTES
# asks two clean minutes of the service's requests.
UP_AGAIN_MIN_POINTS = 2


class UpAgain(NamedTuple):
    """A Cloud SQL instance whose database/up went down in the minutes judged and reads 1 again up to their end."""
    down_at: datetime     # its first point below 1, or the last point before its first silence
    silent: bool          # whether it first went silent (no point) rather than reading 0
    up_since: datetime    # the first point of the unbroken run of 1s that reaches the minutes' end
    points: int           # that run's points
    newest: datetime      # its newest point
    downs: int            # how many times it went down (a 0 or a silence after a 1): more than one is a flap
    last_down: datetime   # when it last went down (as `down_at` reads the first time)


def up_again(ends: Sequence[int], values: Sequence[float], window: Window, before: int | None,
             gap_us: int) -> UpAgain | None:
    """Whether a database/up series (end times in microseconds, values, oldest first) that went down in `window`
    is up again: its points in `window` end with at least UP_AGAIN_MIN_POINTS of 1 in a row, no two of them more
    than `gap_us` apart, the newest no more than that before the window's end (a series that fell silent since
    is not shown up, Facts.sql_trailing). `before`: the end of its last point before the window (None: the
    window's start stands for it, as Facts.sql_gaps reads it). None when it never went down in the window or is
    not up again. Pure: the rule reads the series, this decides."""
    low, high = window.micros
    previous, up, run, since, downs = (low if before is None else before), True, 0, 0, 0
    down_at: tuple[int, bool] | None = None
    last = 0
    for at, value in zip(ends, values):
        if not low < at <= high:
            continue
        quiet = at - previous > gap_us
        if (quiet or value < 1) and up:
            downs, last = downs + 1, previous if quiet else at
        if (quiet or value < 1) and down_at is None:
            down_at = (previous, True) if quiet else (at, False)
        if value < 1:
            up, run = False, 0
        elif quiet or not up:
            up, run, since = True, 1, at
        else:
            run += 1
        previous = at
    if down_at is None or not up or run < UP_AGAIN_MIN_POINTS or high - previous > gap_us:
        return None
    return UpAgain(at_micros(down_at[0]), down_at[1], at_micros(since), run, at_micros(previous), downs,
                   at_micros(last))


def outage_inside_failures(failing_since: datetime, down_at: datetime, up_since: datetime,
                           errors: Sequence[datetime]) -> bool:
    """Whether a database outage that is over fell inside failures it did not start: the service failed from more
    than FAILING_LEAD before the database went down (`failing_since`, the first failing minute's start, against
    `down_at`), and every line of reaching the database or of its refusal (`errors`, their times) was logged within
    the outage, from FAILING_LEAD before it went down to FAILING_LEAD after it was up again (`up_since`): what failed
    before it and what still fails since are not the database's words. Then the outage is context (a restart, a
    failover in the same minutes), not the failures' cause. Pure: the rule reads the times, this decides."""
    if failing_since >= down_at - FAILING_LEAD:
        return False
    low, high = down_at - FAILING_LEAD, up_since + FAILING_LEAD
    return all(low <= at <= high for at in errors)


def _down_series(facts: Facts, down: Sequence[str]) -> Iterator[tuple[str, list[tuple[int, float]]]]:
    """Each series of an instance of `down` with its database/up points as (end, value) in time order."""
    for series in facts.points(facts.b.sql_up):
        db = series.label("resource.labels.database_id")
        if db not in down:
            continue
        pairs = list(zip(series.ends, map(float, series.values)))
        yield db, pairs if series.ordered else sorted(pairs)


def sql_up_again(facts: Facts, down: Sequence[str]) -> dict[str, UpAgain]:
    """The instances of `down` (Facts.sql_down over the minutes judged, sql_judged_window) whose database/up
    is up again by those minutes' end (`up_again`), by database_id."""
    window = sql_judged_window(facts)
    low = window.micros[0]
    found: dict[str, UpAgain] = {}
    for db, pairs in _down_series(facts, down):
        if db in found:
            continue
        earlier = [at for at, _ in pairs if at <= low]
        back = up_again([at for at, _ in pairs], [v for _, v in pairs], window, earlier[-1] if earlier else None,
                        SQL_GAP_SECONDS * 1_000_000)
        if back is not None:
            found[db] = back
    return found


class StillDown(NamedTuple):
    """When a Cloud SQL instance still down at the end of the minutes judged went down (`down_since`)."""
    since: datetime              # its first point below 1 after its last 1, or that 1 when silence came first
    silent: bool                 # whether it first went silent (no point) rather than reading 0
    newest: datetime             # its newest point below 1, or `since` when it has reported nothing since
    known: bool                  # whether a point of 1 came before it in the read (else down since before `since`)
    first: datetime | None       # when it first went down in the minutes judged, if before `since` (a flap)
    again: datetime | None       # a point of 1 after `newest`, too few to read as up again (UP_AGAIN_MIN_POINTS)


def down_since(ends: Sequence[int], values: Sequence[float], low: int, high: int, gap_us: int,
               stopped: bool) -> StillDown | None:
    """When a database/up series (end times in microseconds, values, oldest first) that is down at `high` (the
    end of the minutes judged, which begin at `low`) went down: back from its newest point (past fewer than
    UP_AGAIN_MIN_POINTS points of 1 at the end, which up_again does not read as up again) through every point
    below 1 (a silence among them is down too), to the last point of 1 before them. That 1 followed by more
    than `gap_us` of silence dates the outage from the 1 (the instance stopped reporting first); else the first
    point below 1 dates it. `stopped`: the series has reported nothing since its newest point (Facts.
    sql_trailing's stopped), a 1: silent since that point. With it, when it first went down in the minutes
    judged if that was earlier (a flap). None when the series is not down at its end by its points (down only
    by a gap between 1s): not dated as an outage going on. Pure."""
    points = [(at, value) for at, value in zip(ends, values) if at <= high]
    if not points:
        return None
    first = _first_down(points, low, gap_us)
    if points[-1][1] >= 1 and stopped:
        newest = at_micros(points[-1][0])
        return StillDown(newest, True, newest, True, _earlier(first, newest), None)
    end = len(points)
    while end > 0 and points[end - 1][1] >= 1:
        end -= 1
    if end == 0 or len(points) - end >= UP_AGAIN_MIN_POINTS:
        return None
    if end < len(points) and points[end][0] - points[end - 1][0] > gap_us:
        return None
    again = at_micros(points[end][0]) if end < len(points) else None
    newest_at = points[end - 1][0]
    i = end - 1
    while i > 0 and points[i - 1][1] < 1:
        i -= 1
    if i == 0:
        return StillDown(at_micros(points[0][0]), False, at_micros(newest_at), False, None, again)
    last_up = points[i - 1][0]
    since = last_up if points[i][0] - last_up > gap_us else points[i][0]
    return StillDown(at_micros(since), since == last_up, at_micros(newest_at), True,
                     _earlier(first, at_micros(since)), again)


def _first_down(points: Sequence[tuple[int, float]], low: int, gap_us: int) -> datetime | None:
    """When a series first went down in the minutes after `low`: its first point below 1 there, or the point
    before its first silence of more than `gap_us`; None when neither."""
    previous = None
    for at, value in points:
        if at <= low:
            previous = at
            continue
        if previous is not None and at - previous > gap_us:
            return at_micros(previous)
        if value < 1:
            return at_micros(at)
        previous = at
    return None


def _earlier(first: datetime | None, since: datetime) -> datetime | None:
    return first if first is not None and first < since else None


def sql_still_down(facts: Facts, down: Sequence[str]) -> dict[str, StillDown]:
    """The instances of `down` (Facts.sql_down over the minutes judged) still down at those minutes' end, each
    with when it went down (`down_since`), by database_id; an instance the series cannot date is left out."""
    window = sql_judged_window(facts)
    low, high = window.micros
    stopped = facts.sql_trailing(window)[0]
    found: dict[str, StillDown] = {}
    for db, pairs in _down_series(facts, down):
        if db in found:
            continue
        still = down_since([at for at, _ in pairs], [v for _, v in pairs], low, high, SQL_GAP_SECONDS * 1_000_000,
                           db in stopped)
        if still is not None:
            found[db] = still
    return found
