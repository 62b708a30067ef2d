"""Incidents at the runbook's last step, watching health after a fix: the sweep's judgement of a rollback or a
connector scale on the minutes since (shared/remediation/judging.py `judge`, `next_step`), from tables. Pure, no
I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10. Unless a row
says otherwise, the deploy at -20 (`backend-00002-xyz`) answered 55.6 % 500s; `backend-00001-abc` served before
it. Each row is the outcome an SRE wants: a failure that follows the traffic for a cause both revisions share is
no reason to send the traffic back to the deploy (no undo: a flap), and a rollback whose revision answers in
seconds where it answered in milliseconds before the deploy is half a fix, not `verified`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.log_signals import Refusal
from shared.remediation import shared_cause
from shared.remediation.judging import HealthKind, StepKind, judge, next_step
from tests.unit.builders import CONNECTOR, PROJECT, SQL, Evidence, at
from tests.unit.test_verification_judging import NEW, OLD, rollback, scale_up, served, sweep_at, swept
from tests.unit.test_verification_worlds import RATIO_5XX

SETTINGS = DiagnosisSettings()
TIMES = VerificationSettings()
H, F, U, C = HealthKind.HEALTHY, HealthKind.FAILING, HealthKind.UNCLEAR, HealthKind.CHANGED
V, W, X, E = StepKind.VERIFY, StepKind.WAIT, StepKind.UNDO, StepKind.ESCALATE

LATENCY_10S = AlertContext(policy="p99", metric_type="run.googleapis.com/request_latencies",
                           resource_type="cloud_run_revision", comparison="COMPARISON_GT", threshold=10000,
                           condition_kind="threshold", aligner="ALIGN_PERCENTILE_99")
# The incident opened at -15 (its notification's start): the sweep reads back to a lookback before it.
ROLLBACK = rollback().model_copy(update={"alert": RATIO_5XX, "incident_started_at": at(-15).timestamp()})
SCALE = scale_up().model_copy(update={"incident_started_at": at(-15).timestamp()})
REFUSED = 'psycopg.OperationalError: connection to server at "10.40.0.3", port 5432 failed: Connection refused'


def database_down(now: float, *, since: float) -> Evidence:
    """A KeyError deploy at -20, rolled back at -5; main-db (both revisions' instance) down from `since` to now:
    the revision rolled back to fails a half of its 40 requests a minute from then, Connection refused."""
    e = Evidence(now=now).revision(OLD, -180, sql=(SQL,)).revision(NEW, -20, sql=(SQL,))
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, 40).latency(OLD, -60, -20, 0.15)
    e.requests(NEW, -20, -5, 20).requests(NEW, -20, -5, 25, "500").latency(NEW, -20, -5, 0.12)
    e.log(-10, "KeyError: 'currency'", NEW, count=5)
    e.sql_up(-200, since, 1).sql_up(since, now, 0)
    e.requests(OLD, -5, now, 20).requests(OLD, -5, since, 20).requests(OLD, since, now, 20, "500")
    e.latency(OLD, -5, now, 0.2)
    for minute in range(int(since) + 1, int(now)):
        e.log(minute, REFUSED, OLD, count=3)
    return e


def database_silent(now: float) -> Evidence:
    """The revision rolled back to failing half its requests since, no database words; main-db's database/up
    read 1 until -6 and no point since (a series that stopped: unknown, not down)."""
    e = Evidence(now=now).revision(OLD, -180, sql=(SQL,)).revision(NEW, -20, sql=(SQL,))
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, now, 20).requests(OLD, -5, now, 20, "500").latency(OLD, -5, now, 0.12)
    return e.sql_up(-200, -6, 1)


def half_fixed(now: float, p99: float) -> Evidence:
    """The deploy at -20 hung at the client's 30 s and failed half its requests with 503; backend-00001-abc
    answered in 150 ms before it. Since the rollback, every request is clean, at `p99`."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, 40).latency(OLD, -60, -20, 0.15)
    e.requests(NEW, -20, -5, 20).requests(NEW, -20, -5, 20, "503").latency(NEW, -20, -5, 30.0)
    e.requests(OLD, -5, now, 40).latency(OLD, -5, now, p99)
    return e


def at_night(now: float, per_minute: float) -> Evidence:
    """A service called `per_minute` times a minute at night, before the incident and since the rollback."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, per_minute).latency(OLD, -60, -20, 0.15)
    e.requests(NEW, -20, -5, per_minute / 2).requests(NEW, -20, -5, per_minute / 2, "500").latency(NEW, -20, -5, 0.1)
    e.requests(OLD, -5, now, per_minute).latency(OLD, -5, now, 0.1)
    return e


def redeployed_hours_later() -> Evidence:
    """The sweep three hours late: backend-00001-abc deleted since, a person's backend-00003-new serving."""
    e = Evidence(now=190).revision(NEW, -20).revision("backend-00003-new", 100)
    e.traffic(backend_00003_new=100)
    return e.requests("backend-00003-new", 100, 190, 40).latency("backend-00003-new", 100, 190, 0.1)


REPLICA = f"{PROJECT}:us-central1:reports-replica"
NEWDB = f"{PROJECT}:us-central1:main-db-v2"
OTHER_CONNECTOR = f"projects/{PROJECT}/locations/us-central1/connectors/conn-v2"
OWN = "TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'"
PASSWORD = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  password '
            'authentication failed for user "app"')
TOO_MANY = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  sorry, too '
            'many clients already')
DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
        '"demo:us-central1:main-db"): dial tcp 10.40.0.3:3307: i/o timeout')


def own_failure(now: float, *, old_sql: tuple[str, ...] = (SQL,), new_sql: tuple[str, ...] = (SQL,),
                text: str = OWN) -> Evidence:
    """The KeyError deploy rolled back at -5; the revision rolled back to fails half its requests since, every
    minute, saying `text` (its own TypeError unless a row says otherwise); no database/up read unless a row adds."""
    e = Evidence(now=now).revision(OLD, -180, sql=old_sql).revision(NEW, -20, sql=new_sql)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, 40).latency(OLD, -60, -20, 0.15)
    e.requests(NEW, -20, -5, 20).requests(NEW, -20, -5, 25, "500").latency(NEW, -20, -5, 0.12)
    e.log(-10, "KeyError: 'currency'", NEW, count=5)
    e.requests(OLD, -5, now, 20).requests(OLD, -5, now, 20, "500").latency(OLD, -5, now, 0.2)
    for minute in range(-4, int(now)):
        e.log(minute, text, OLD, count=3)
    return e


def own_minutes(e: Evidence, text: str, revision: str, count: int = 1) -> Evidence:
    """`e` with `count` lines of `text` logged by `revision` in every minute from the rollback on."""
    for minute in range(-4, 11):
        e.log(minute, text, revision, count=count)
    return e


HIKARI_WAIT = "HikariPool-1 - Connection is not available, request timed out after 30000ms."
PSYCOPG_POOL = "psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec"
DJANGO_500 = "Internal Server Error: /api/orders"


def pool_plus(consequence: str, per_minute: int = 3) -> Evidence:
    """The revision rolled back to refused its password: its pool logs the refusal once a minute (its reconnect),
    and each request the pool fails logs `consequence` (`per_minute` a minute): one failure, two kinds of line."""
    e = own_failure(11, text=PASSWORD).sql_up(-200, 11, 1)
    e.logs = [line for line in e.logs if line.text != PASSWORD]
    own_minutes(e, PASSWORD, OLD)
    return own_minutes(e, consequence, OLD, count=per_minute)


def connector_full(now: float, *, before: bool, connector: str = CONNECTOR) -> Evidence:
    """The rollback moved 100 % onto backend-00001-abc; its connector at max instances and 95 % CPU since, 503s and
    dial timeouts; `before`: so through the deploy's minutes too, else 2 instances at 40 % CPU there."""
    e = (Evidence(now=now).revision(OLD, -180, sql=(SQL,)).revision(NEW, -20, sql=(SQL,), connector=connector))
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, 40).latency(OLD, -60, -20, 0.3)
    e.requests(NEW, -20, -5, 20).requests(NEW, -20, -5, 25, "500").latency(NEW, -20, -5, 0.12)
    e.log(-10, "KeyError: 'currency'", NEW, count=5)
    e.requests(OLD, -5, now, 20).requests(OLD, -5, now, 20, "503").latency(OLD, -5, now, 0.3)
    e.connector(max_instances=3).connector_metric("bytes", -90, now, 2e6).sql_up(-200, now, 1)
    e.connector_metric("instances", -90, -5, 3 if before else 2).connector_metric("instances", -5, now, 3)
    e.connector_metric("cpu", -90, -5, 0.95 if before else 0.4).connector_metric("cpu", -5, now, 0.95)
    for minute in range(-4, int(now)):
        e.log(minute, DIAL, OLD, count=3)
    return e


def stale_password(now: float) -> Evidence:
    """The deploy rotated the database password; the revision rolled back to carries the old one, now revoked:
    every dial refused, main-db up throughout."""
    return own_failure(now, text=PASSWORD).sql_up(-200, now, 1)


def ten_percent_before(now: float, p99_since: float, *, served_alone_at: float | None = None) -> Evidence:
    """backend-00001-abc kept 10 % beside a deploy (4 requests a minute at 100 ms); the deploy's 90 % answered at
    1.5 s p99, clean until -15, then half 500s. Since the rollback backend-00001-abc carries all 40 a minute,
    every one clean, at `p99_since`. `served_alone_at`: the deploy came at -20, and before it backend-00001-abc
    carried all 40 a minute at that p99 (else the deploy served from -60, before the first minute read)."""
    deploy = -90 if served_alone_at is None else -20
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, deploy)
    e.traffic(**{OLD.replace("-", "_"): 100})
    if served_alone_at is not None:
        e.requests(OLD, -60, deploy, 40).latency(OLD, -60, deploy, served_alone_at)
    shared_from = max(deploy, -60)
    e.requests(OLD, shared_from, -5, 4).latency(OLD, shared_from, -5, 0.1)
    e.requests(NEW, shared_from, -5, 36).latency(NEW, shared_from, -5, 1.5).requests(NEW, -15, -5, 36, "500")
    return e.requests(OLD, -5, now, 40).latency(OLD, -5, now, p99_since)


def degrading_deploy(now: float, p99_since: float, *, degraded: bool = True) -> Evidence:
    """As `ten_percent_before`, but the deploy's 90 % degraded from -25 (`degraded`): 20 s p99 (under the 25 s hang
    bar), no 5xx, for ten minutes before its half 500s."""
    e = ten_percent_before(now, p99_since)
    return e.latency(NEW, -25, -5, 20.0) if degraded else e


def outage(now: float, down: list[tuple[float, float]], new_sql: tuple[str, ...] = (SQL,)) -> Evidence:
    """The KeyError deploy rolled back at -5; main-db (both templates, unless `new_sql` says) up except in `down`:
    the revision rolled back to fails every one of its 40 requests a minute with Connection refused in exactly the
    down minutes, clean in the others."""
    e = Evidence(now=now).revision(OLD, -180, sql=(SQL,)).revision(NEW, -20, sql=new_sql)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, 40).latency(OLD, -60, -20, 0.15)
    e.requests(NEW, -20, -5, 20).requests(NEW, -20, -5, 25, "500").latency(NEW, -20, -5, 0.12)
    e.log(-10, "KeyError: 'currency'", NEW, count=5)
    e.sql_up(-200, now, 1).latency(OLD, -5, now, 0.2)
    down_minutes = {m for a, b in down for m in range(int(a) + 1, int(b) + 1)}
    for m in range(-4, int(now) + 1):
        if m in down_minutes:
            e.sql_up(m - 1, m, 0).requests(OLD, m - 1, m, 40, "500").log(m - 1, REFUSED, OLD, count=3)
        else:
            e.requests(OLD, m - 1, m, 40)
    return e


def unread_up(e: Evidence, *minutes: int) -> Evidence:
    """`e` with main-db's database/up points of `minutes` not read (not visible yet after the newest point read, a
    gap before it)."""
    for m in minutes:
        del e.sql[SQL][m]
    return e


# main-db flapping, down -3, -1, ..., +11, and in spells of one and two minutes with the newest up (down in 3 of the 5
# minutes judged, the newest up: no majority reading, and no two clean minutes in a row to have recovered first).
FLAP = [(m, m + 1) for m in range(-4, 11, 2)]
SPELLS = [(-5, -3), (-2, 0), (1, 3), (4, 5), (6, 8), (9, 10)]


def blipped(db: str) -> Evidence:
    """Both templates name main-db and a reporting replica, "too many clients" every minute since the rollback; `db`
    restarted for one minute (+8), the other up throughout."""
    e = own_failure(11, old_sql=(SQL, REPLICA), new_sql=(SQL, REPLICA), text=TOO_MANY)
    other = REPLICA if db == SQL else SQL
    return e.sql_up(-200, 11, 1, db=other).sql_up(-200, 7, 1, db=db).sql_up(7, 8, 0, db=db).sql_up(8, 11, 1, db=db)


def too_many_while_waiting(logged_s: float, *, blip: bool = True, wait_s: float = 20.0) -> Evidence:
    """A batch job takes main-db's connections every other minute since -4: those minutes' requests each wait
    `wait_s` (a pool's connect retried) and fail "too many clients", the line logged `logged_s` from the start of the
    minute request_count counts the request in (past 60: after it, counted where it began; below 0: at its start,
    counted where it ended); the reporting replica both name restarts for the minute to +9 (`blip`)."""
    e = Evidence(now=11).revision(OLD, -180, sql=(SQL, REPLICA)).revision(NEW, -20, sql=(SQL, REPLICA))
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -20, 40).latency(OLD, -60, -20, 0.15)
    e.requests(NEW, -20, -5, 20).requests(NEW, -20, -5, 25, "500").latency(NEW, -20, -5, 0.12)
    e.log(-10, "KeyError: 'currency'", NEW, count=5)
    for m in range(-4, 12):
        if m % 2:
            e.requests(OLD, m - 1, m, 40, "500").latency(OLD, m - 1, m, wait_s)
            e.log(m - 1 + logged_s / 60, TOO_MANY, OLD, count=3)
        else:
            e.requests(OLD, m - 1, m, 40).latency(OLD, m - 1, m, 0.2)
    e.sql_up(-200, 11, 1)
    if blip:
        return e.sql_up(-200, 8, 1, db=REPLICA).sql_up(8, 9, 0, db=REPLICA).sql_up(9, 11, 1, db=REPLICA)
    return e.sql_up(-200, 11, 1, db=REPLICA)


def unread_connector(now: float) -> Evidence:
    """The connector full only since the rollback, its metrics read only from -5 on."""
    e = connector_full(now, before=False)
    for series in e.conn_series.values():
        for m in [m for m in series if m <= -5]:
            del series[m]
    return e


WORLDS = [
    # name, record, evidence, health, step, words in the step's reason
    ("cold start of a min-0 revision: 503s to +2, clean since, read at +6: not yet", ROLLBACK,
     served(6, ok=40).requests(OLD, -5, 2, 30, "503"), U, W, ""),
    ("the same cold start read at +11: the newest minutes clean, verified", ROLLBACK,
     served(11, ok=40).requests(OLD, -5, 2, 30, "503"), H, V, "healthy"),
    ("3 requests a minute at night: too few, waits past the deadline", ROLLBACK, at_night(11, 3), U, W,
     "waiting past the deadline"),
    ("5 requests a minute at night, all clean: 25 against a 50 % failure, verified", ROLLBACK, at_night(11, 5), H, V,
     ""),
    ("database failover a minute before the rollback: both revisions fail, no undo back to the KeyError deploy",
     ROLLBACK, database_down(11, since=-6), U, E, "a cause both revisions share"),
    ("database down a minute after the rollback, no clean minute: no undo", ROLLBACK, database_down(11, since=-4), U, E,
     "not undone"),
    ("database down after two clean minutes: recovered first, kept", ROLLBACK, database_down(11, since=-2), U, E,
     "recovered after the action first"),
    ("the database still down at +6: waits, nothing written", ROLLBACK, database_down(6, since=-6), U, W, ""),
    ("database/up silent since -6, no database words: failing, undone as before", ROLLBACK, database_silent(11), F,
     X, "still failing"),
    ("database/up silent since -6, Connection refused since: the database named on that silence, undone as before",
     ROLLBACK, own_failure(11, text=REFUSED).sql_up(-200, -6, 1), F, X, "stopped reporting database/up"),
    ("main-db down one minute of five, the revision's own TypeError in every one: undone as before", ROLLBACK,
     own_failure(11).sql_up(-200, 7, 1).sql_up(7, 8, 0).sql_up(8, 11, 1), F, X, "not the outage alone"),
    ("a replica the service names restarted for one minute, main-db up: undone as before", ROLLBACK,
     own_failure(11, old_sql=(SQL, REPLICA), new_sql=(SQL, REPLICA)).sql_up(-200, 11, 1)
     .sql_up(-200, 8, 1, db=REPLICA).sql_up(8, 9, 0, db=REPLICA).sql_up(9, 11, 1, db=REPLICA), F, X, "still failing"),
    ("main-db down from +7, four of five minutes, the newest among them: a cause both share, kept", ROLLBACK,
     own_failure(11, text=REFUSED).sql_up(-200, 7, 1).sql_up(7, 11, 0), U, E, "under 1 in 4 of 5 minutes"),
    ("main-db retired, the deploy moved to main-db-v2 and failed on its own KeyError: both broken, no flap, kept",
     ROLLBACK, own_failure(11, new_sql=(NEWDB,), text=REFUSED).sql_up(-200, -6, 1).sql_up(-6, 11, 0)
     .sql_up(-200, 11, 1, db=NEWDB), U, E, f"both revisions fail on their own: {OLD}"),
    ("the same named: main-db, which the deploy no longer names, and main-db-v2 instead", ROLLBACK,
     own_failure(11, new_sql=(NEWDB,), text=REFUSED).sql_up(-200, -6, 1).sql_up(-6, 11, 0)
     .sql_up(-200, 11, 1, db=NEWDB), U, E, f"which {OLD} names and {NEW} no longer does ({PROJECT}:main-db-v2 instead)"),
    ("the rolled-back-to revision's revoked password, the deploy's own KeyError: both broken, no flap, kept",
     ROLLBACK, stale_password(11), U, E, "credentials refused (password authentication failed)"),
    ("the same: the deploy named as a cause too, never 'the deploy was not the cause'", ROLLBACK, stale_password(11),
     U, E, f"and {NEW} on its own before the rollback (diagnosed bad_revision"),
    ("the same rolled back by an operator (no diagnosis of the deploy): undone as before", ROLLBACK.model_copy(
        update={"signature": "manual"}), stale_password(11), F, X, "password authentication failed"),
    ("a revoked password in only 2 of the 5 failing minutes: not shown to explain them, undone as before", ROLLBACK,
     own_failure(11, text=OWN).sql_up(-200, 11, 1).log(9, PASSWORD, OLD, count=3).log(10, PASSWORD, OLD, count=3), F,
     X, "still failing"),
    ("one revoked-password line a minute beside three of its own TypeError: held, both named, never undone on a "
     "share of lines", ROLLBACK, own_minutes(own_failure(11, text=OWN).sql_up(-200, 11, 1), PASSWORD, OLD), U, E,
     "both revisions fail on their own"),
    ("the same: the TypeError named beside the refusal, counted, one line", ROLLBACK,
     own_minutes(own_failure(11, text=OWN).sql_up(-200, 11, 1), PASSWORD, OLD), U, E,
     f"and 45 other failure line(s) it logged, e.g. '{OWN}'"),
    ("one password line a minute, three HikariPool waits per minute (the same failure): both broken, kept", ROLLBACK,
     pool_plus(HIKARI_WAIT), U, E, "both revisions fail on their own"),
    ("the same with psycopg_pool.PoolTimeout: kept", ROLLBACK, pool_plus(PSYCOPG_POOL), U, E,
     "both revisions fail on their own"),
    ("the same with Django's 'Internal Server Error': kept, the 500 line named", ROLLBACK, pool_plus(DJANGO_500), U,
     E, "e.g. 'Internal Server Error: /api/orders'"),
    ("the password lines logged by the deploy's revision, not the one rolled back to: undone as before", ROLLBACK,
     own_minutes(own_failure(11, text=OWN).sql_up(-200, 11, 1), PASSWORD, NEW, count=3), F, X, "still failing"),
    ("too many clients on main-db, up throughout: the database both share, kept", ROLLBACK,
     own_failure(11, text=TOO_MANY).sql_up(-200, 11, 1), U, E, "a cause both revisions share: the database"),
    ("the connector both use full before the rollback too: a cause both share, kept", ROLLBACK,
     connector_full(11, before=True), U, E, "a cause both revisions share: the connector"),
    ("the connector full only since the rollback moved the traffic onto it: kept, named", ROLLBACK,
     connector_full(11, before=False), U, E, "full since the rollback moved the traffic onto it"),
    ("the same, the deploy on another connector: kept, named", ROLLBACK,
     connector_full(11, before=False, connector=OTHER_CONNECTOR), U, E, "routes through another"),
    ("half a fix: 503s gone, p99 22 s where the revision answered in 150 ms", ROLLBACK, half_fixed(11, 22.0), U, E,
     "answers much slower than it served before the action"),
    ("half a fix at 12 s", ROLLBACK, half_fixed(11, 12.0), U, E, "much slower than it served"),
    ("half a fix read at +6: waits", ROLLBACK, half_fixed(6, 22.0), U, W, ""),
    ("the control: 300 ms since, 150 ms before the deploy", ROLLBACK, half_fixed(11, 0.3), H, V, ""),
    ("a revision kept at 10 % (100 ms) carrying all the load since at the 1.5 s it served alone before the deploy: "
     "verified", ROLLBACK, ten_percent_before(11, 1.5, served_alone_at=1.5), H, V, "healthy"),
    ("the same at 12 s: half a fix", ROLLBACK, ten_percent_before(11, 12.0, served_alone_at=1.5), U, E,
     "much slower"),
    ("a revision kept at 10 % (100 ms) at 1.5 s since, no minute read without the deploy: no bar, not verified",
     ROLLBACK, ten_percent_before(11, 1.5), U, E, "cannot be told, not verified on latency"),
    ("the same at 12 s", ROLLBACK, ten_percent_before(11, 12.0), U, E, "much slower"),
    ("20 s every minute since, the deploy degraded to 20 s p99 with no 5xx before it failed: not verified",
     ROLLBACK, degrading_deploy(11, 20.0), U, E, "no clean minute of the service without backend-00002-xyz"),
    ("the same at 12 s without the deploy's degraded minutes: not verified", ROLLBACK,
     degrading_deploy(11, 12.0, degraded=False), U, E, "much slower"),
    ("main-db (both templates) down -4 to +9, up at +10 and +11; every 500 in a down minute, read at +9: held",
     ROLLBACK, outage(9, [(-4, 9)]), U, E, "a cause both revisions share"),
    ("the same read at +11, past the deadline: the outage explains every failing minute, kept", ROLLBACK,
     outage(11, [(-4, 9)]), U, E, "under 1 in each of the 3 minutes that failed"),
    ("main-db flapping, down every other minute, the 500s in exactly those: kept", ROLLBACK,
     outage(11, FLAP), U, E, "not undone"),
    ("the same, database/up's newest minute (+11, down) not yet read: kept, the minute said unread", ROLLBACK,
     unread_up(outage(11, FLAP), 11), U, E, "no point read yet for the minute(s) to 12:11:00"),
    ("main-db down in spells of one and two minutes, up at +9 and +11, the 500s in exactly the down minutes: kept "
     "on every failing minute down alone", ROLLBACK, outage(11, SPELLS), U, E,
     "under 1 in each of the 3 minutes that failed"),
    ("the same, +10 (down) missing, +11 read: kept, the minute said a gap", ROLLBACK,
     unread_up(outage(11, SPELLS), 10), U, E, "under 1 in each of the 2 of 3 minutes that failed with a point read; "
     "no point read for the minute(s) to 12:10:00, though a later point was"),
    ("an outage that ended at +9, its last minute not yet read: kept, said up at the newest point", ROLLBACK,
     unread_up(outage(11, [(-4, 9)]), 9), U, E, "the newest 1 at 12:11:00: up at the newest point read"),
    ("main-db down at +9 and +11 only, the 500s in exactly those: kept", ROLLBACK,
     outage(11, [(8, 9), (10, 11)]), U, E, "not undone"),
    ("main-db down since -6, only the revision rolled back to names it: said so, not 'which both use'", ROLLBACK,
     outage(11, [(-6, 11)], new_sql=()), U, E, f"named by {OLD}; {NEW} names none"),
    ("too many clients on main-db, the replica both name restarted for a minute: the database both share, kept",
     ROLLBACK, blipped(REPLICA), U, E, "a cause both revisions share: the database"),
    ("too many clients on main-db, main-db itself restarted for a minute: kept", ROLLBACK, blipped(SQL), U, E,
     "a cause both revisions share"),
    ("too many clients on main-db in every other minute, each logged in its minute, the replica restarted: kept",
     ROLLBACK, too_many_while_waiting(30), U, E, "a cause both revisions share: the database"),
    ("the same, each logged 15 s after its minute (counted where its 20 s wait began): kept, undone on main",
     ROLLBACK, too_many_while_waiting(75), U, E, "a cause both revisions share: the database"),
    ("the same, each logged 15 s before its minute (counted where its 20 s wait ended): kept, undone on main",
     ROLLBACK, too_many_while_waiting(-15), U, E, "a cause both revisions share: the database"),
    ("the same, each 15 s after its minute, requests answered at once: the refusals explain no minute, undone",
     ROLLBACK, too_many_while_waiting(75, wait_s=0.2), F, X, "what still fails is not the outage alone"),
    ("the connector full since the rollback, its load not read before it: unknown whether it was full then",
     ROLLBACK, unread_connector(11), U, E, "whether it was full before it is unknown"),
    ("after a 10 s latency alert, p99 4 s: the alert's own bar decides", ROLLBACK.model_copy(
        update={"alert": LATENCY_10S}), half_fixed(11, 4.0), H, V, ""),
    ("request_count refused (PERMISSION_DENIED) at the deadline: escalated, kept", ROLLBACK,
     served(11).missing("requests"), U, E, "kept in place, not undone"),
    ("request_latencies refused after a latency alert: never verified", ROLLBACK.model_copy(
        update={"alert": LATENCY_10S}), served(11).missing("latencies"), U, E, "could not be verified"),
    ("a connector scale whose new instances carried traffic at +3: 503s to +3, read at +6", SCALE,
     served(6, ok=40).requests(OLD, -5, 3, 20, "503").connector("e2-standard-4", 2, 4), U, W, ""),
    ("the same read at +11: verified", SCALE,
     served(11, ok=40).requests(OLD, -5, 3, 20, "503").connector("e2-standard-4", 2, 4), H, V, ""),
    ("a scale still failing at +6, better than before: waits, never scaled again", SCALE,
     served(6, ok=25, errors=15, code="503").connector("e2-standard-4", 2, 4), U, W, "better than just before"),
    ("the sweep hours later, the revision rolled back to deleted and a person's deploy serving", ROLLBACK,
     redeployed_hours_later(), C, E, "a change made since by someone else"),
]


@pytest.mark.parametrize("name,record,evidence,health,step,words", WORLDS, ids=[w[0] for w in WORLDS])
def test_the_sweep_after_a_fix(name, record, evidence, health, step, words):
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(record, judged, sweep_at(evidence), TIMES)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert words in then.why, then.why


def test_a_shared_cause_names_the_database_and_the_deploy_it_would_send_back_to():
    record, evidence = ROLLBACK, database_down(11, since=-6)
    judged = judge(record, swept(evidence).model_copy(update={"incident_started_at": record.settle_at}), SETTINGS)
    assert "database" in judged.why and NEW in judged.why and "failed on its own before" in judged.why, judged.why


def test_a_held_undo_names_the_minutes_and_what_the_revision_said():
    record, evidence = ROLLBACK, own_failure(11, text=REFUSED).sql_up(-200, 7, 1).sql_up(7, 11, 0)
    judged = judge(record, swept(evidence).model_copy(update={"incident_started_at": record.settle_at}), SETTINGS)
    then = next_step(record, judged, sweep_at(evidence), TIMES)
    assert "database_unreachable" in then.why and "the newest 0" in then.why, then.why
    assert "the deploy was not the cause" in then.why and "needs evidence that it failed" not in then.why, then.why


# The shared-cause rules on their own, from minutes. The failing minutes end 12:01, 12:02, 12:03 (40 requests each, all
# 5xx); database/up and refusal lines as each row says.
FAILING = [datetime(2026, 1, 1, 12, m, tzinfo=timezone.utc) for m in (1, 2, 3)]


def _failing(up: dict[int, float] | None = None, said: list[tuple[int, int]] = (),
             kind: Refusal = Refusal.CONNECTION_LIMIT, p99: float | None = None,
             timeout: float | None = None) -> SimpleNamespace:
    """Facts of the failing minutes: database/up by minute (12:MM -> value), refusal lines at (minute, second), the
    p99 latency of each failing minute in seconds (None: not read), the revisions' request timeout (None: unset)."""
    noon = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    lines = [SimpleNamespace(timestamp=noon + timedelta(minutes=m, seconds=sec)) for m, sec in said]
    values = {datetime(2026, 1, 1, 12, m, tzinfo=timezone.utc): v for m, v in (up or {}).items()}
    p99s = () if p99 is None else tuple((end, p99) for end in FAILING)
    return SimpleNamespace(s=DiagnosisSettings(), p99_by_minute=lambda w: p99s,
                           per_minute_where=lambda w, f: [(end, 40, 40) for end in FAILING],
                           sql_up_minutes=lambda w: {SQL: values} if values else {}, db_refusals={kind: lines},
                           b=SimpleNamespace(revisions=[SimpleNamespace(timeout_seconds=timeout)]))


# name, database/up by minute, held, words in how it was down. A minute with no point is unknown, not up; at least
# half the failing minutes must be read (`_READ_SHARE`).
DOWN = [
    ("down in each failing minute, up since", {1: 0, 2: 0, 3: 0, 4: 1}, True,
     "under 1 in each of the 3 minutes that failed"),
    # A failing minute with no point before a later point read is a gap (an instance restarting), not ingestion lag:
    # said "not read yet ... come up to 210 s late" on main.
    ("a failing minute with no point, read up after it: a gap", {0: 1, 1: 0, 2: 0, 4: 1}, True,
     "no point read for the minute(s) to 12:03:00, though a later point was (a gap in the series"),
    ("the newest failing minute not yet read, down at the newest point read", {0: 1, 1: 0, 2: 0}, True,
     "down in the minutes to 12:01:00, 12:02:00; the newest 0 at 12:02:00: still down"),
    ("ended, said up now", {1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 1}, True, "the newest 1 at 12:06:00: up at the newest"),
    ("one of three failing minutes read", {0: 1, 1: 0, 4: 1, 5: 1}, False, ""),
    ("a failing minute read up", {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}, False, ""),
    ("no failing minute read", {4: 1, 5: 1}, False, ""),
]


@pytest.mark.parametrize("name,up,held,words", DOWN, ids=[d[0] for d in DOWN])
def test_an_outage_holds_an_undo_on_the_failing_minutes_read(name, up, held, words):
    facts = _failing(up)
    down = shared_cause._down_through(facts, None, shared_cause.failing_minutes(facts, None))
    assert (SQL in down) is held, down
    assert words in down.get(SQL, ""), down


# name, the failing minutes with a point read, the newest point read, the words: a failing minute with no point
# after the newest point read may not be visible yet (lag), one before it is a gap.
UNREAD = [
    ("after the newest point: lag", (1, 2), 2, "no point read yet for the minute(s) to 12:03:00, after the newest "
     "point read (Cloud SQL says its metrics are not visible for up to 165 s after sampling; 210 s allowed here"),
    ("before a later point: a gap", (1, 2), 4, "no point read for the minute(s) to 12:03:00, though a later point "
     "was (a gap in the series: unknown, not up)"),
    ("between two points: a gap", (1, 3), 3, "no point read for the minute(s) to 12:02:00, though a later point was"),
]


@pytest.mark.parametrize("name,read,newest,words", UNREAD, ids=[u[0] for u in UNREAD])
def test_a_failing_minute_not_read_is_said_lagging_or_a_gap(name, read, newest, words):
    said = shared_cause._each_failing_minute(FAILING, [FAILING[m - 1] for m in read], FAILING[0].replace(minute=newest))
    assert words in said, said
    assert ("read yet" in said) is ("lag" in name), said


# name, refusal lines at (minute, second), the failing minutes' p99 (s), the request timeout (s), held: a refusal
# logged within each failing minute (to 12:01 is 12:00-12:01), or as far either side of it as its requests waited (their
# p99, never past the timeout; the timeout where no p99 was read), and 5 s for the log's clock (`_ALIGNMENT`).
REFUSALS = [
    ("a refusal in each failing minute", [(0, 30), (1, 30), (2, 30)], 0.2, None, True),
    ("each a few seconds before its minute", [(-1, 57), (0, 57), (1, 58)], 0.2, None, True),
    ("one burst in the second minute, quick requests", [(1, 50)] * 5, 0.2, None, False),
    ("each late in its minute", [(0, 59), (1, 59), (2, 59)], 0.2, None, True),
    ("the first minute's only line 10 s before it, quick requests", [(-1, 50), (1, 30), (2, 30)], 0.2, None, False),
    ("the last minute's line after it, quick requests", [(0, 30), (1, 30), (3, 10)], 0.2, None, False),
    # A request that waited: counted in the minute it began, refused 20 s after it ended (a connect retried for 30 s);
    # counted in the minute it ended, refused at its start 30 s before that minute. Both undone on main.
    ("each 20 s after its minute, requests waiting 30 s", [(1, 20), (2, 20), (3, 20)], 30.0, None, True),
    ("each 30 s before its minute, requests waiting 30 s", [(-1, 30), (0, 30), (1, 30)], 30.0, None, True),
    ("each 20 s after its minute, hung requests", [(1, 20), (2, 20), (3, 20)], 40.0, None, True),
    ("each 20 s after its minute, p99 unread: the timeout", [(1, 20), (2, 20), (3, 20)], None, None, True),
    # One burst reaches the minutes its requests' latency reaches, not three minutes.
    ("one burst at 12:01:50, requests waiting 30 s", [(1, 50)] * 5, 30.0, None, False),
    ("each 20 s after its minute, waits cut at a 10 s timeout", [(1, 20), (2, 20), (3, 20)], 60.0, 10.0, False),
    ("each 12 s after its minute, waits cut at a 10 s timeout", [(1, 12), (2, 12), (3, 12)], 60.0, 10.0, True),
]


@pytest.mark.parametrize("name,said,p99,timeout,held", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_shared_refusal_holds_an_undo_only_logged_in_each_failing_minute(name, said, p99, timeout, held):
    facts = _failing(said=said, p99=p99, timeout=timeout)
    assert shared_cause._refused_through(facts, None, shared_cause.failing_minutes(facts, None)) is held


def test_a_refusal_of_the_revisions_own_holds_no_undo():
    facts = _failing(said=[(0, 30), (1, 30), (2, 30)], kind=Refusal.CREDENTIALS, p99=0.2)
    assert not shared_cause._refused_through(facts, None, shared_cause.failing_minutes(facts, None))


def test_both_broken_never_says_the_deploy_was_not_the_cause():
    record, evidence = ROLLBACK, stale_password(11)
    judged = judge(record, swept(evidence).model_copy(update={"incident_started_at": record.settle_at}), SETTINGS)
    then = next_step(record, judged, sweep_at(evidence), TIMES)
    assert "both revisions fail on their own" in then.why and "the deploy was not the cause" not in then.why, then.why


KEPT_FOR = [
    # name, evidence, the reason an undo is not the answer, said after "not undone"
    ("recovered first: the database down after two clean minutes", database_down(11, since=-2),
     "kept in place, not undone: it worked first, and what fails began after it"),
    ("another revision's requests: the deploy's 504s ending since, the revision rolled back to clean",
     served(11, ok=40).requests(NEW, -5, 11, 30, "504"),
     "kept in place, not undone: what fails is not the revision it sent the traffic to"),
]


@pytest.mark.parametrize("name,evidence,words", KEPT_FOR, ids=[k[0] for k in KEPT_FOR])
def test_a_rollback_kept_says_what_it_saw_not_that_an_undo_needs_evidence(name, evidence, words):
    judged = judge(ROLLBACK, swept(evidence).model_copy(update={"incident_started_at": ROLLBACK.settle_at}),
                   SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(ROLLBACK, judged, sweep_at(evidence), TIMES)
    assert then.kind is E and words in then.why, then.why
    assert "needs evidence that it failed" not in then.why, then.why
