"""What the Cloud SQL instances the service uses show while requests fail, as connector_saturation and
database_unreachable both judge it: whether one went down in the failing minutes, and what a person
checks when one is saturated. Neither rule imports the other."""
from __future__ import annotations

from shared.diagnosis.facts import FAILING_LEAD, SQL_INGEST_LAG, Facts, Window, hms
from shared.diagnosis.rules.base import Citation

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
