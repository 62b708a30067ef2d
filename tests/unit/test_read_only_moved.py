"""Writes refused as read-only after a deploy that changed where the application connects.

A read replica refuses writes (PostgreSQL's 25006 "cannot execute UPDATE in a read-only transaction",
MySQL's 1290 "--super-read-only"); the primary does not. A deploy that points DB_HOST, a
DATABASE_URL's host or an instance connection name at another server brings those answers itself,
and the revision before holds the address it wrote to: sending traffic back restores it
(bad_revision). The same address on both revisions (a switchover or a promotion in the same
minutes), another host setting changed (a cache's), or an env not read, leaves the database in the
running beside the deploy, as before. Scenario: sandbox/scenarios/deploy_points_writes_at_read_replica_pgx.yaml
and its guard read_only_after_image_only_deploy_same_host_pgx.yaml.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.env_hosts import database_address_changed
from shared.diagnosis.log_signals import Refusal, refusal_of
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_database_own_failures import _check
from tests.unit.test_database_refusals import NEW, OLD, SQL, quiet

BOTH = {"bad_revision", "database_unreachable"}

PGX_READ_ONLY = "ERROR: cannot execute UPDATE in a read-only transaction (SQLSTATE 25006)"
PSYCOPG_READ_ONLY = "psycopg2.errors.ReadOnlySqlTransaction: cannot execute INSERT in a read-only transaction"
PYMYSQL_READ_ONLY = ("pymysql.err.OperationalError: (1290, 'The MySQL server is running with the --super-read-only "
                     "option so it cannot execute this statement')")
# A full disk: the instance's storage, never where the application connects.
PG_DISK_FULL = ('psycopg2.errors.DiskFull: could not extend file "base/16384/24576": No space left on device\n'
                "HINT:  Check free disk space.")

PRIMARY, REPLICA = "10.50.0.3", "10.50.0.7"
DSN = "mysql://orders:{password}@{host}:3306/orders"


def moved(e: Evidence, old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...], at: float = -8,
          old_sql: tuple[str, ...] = (SQL,), new_sql: tuple[str, ...] = (SQL,)) -> Evidence:
    """NEW took all traffic at `at` with plain env `new` (OLD had `old`) and fails 60 %; OLD served cleanly."""
    return (e.revision(OLD, -300, sql=old_sql, plain_env=old).revision(NEW, at, sql=new_sql, plain_env=new)
            .traffic(**{NEW: 100}).requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code="500").latency(NEW, at, 5, 0.5))


def host(value: str) -> tuple[tuple[str, str], ...]:
    return (("DB_HOST", value), ("DB_NAME", "accounts"))


INCIDENTS = {
    "a deploy moved DB_HOST to the replica, pgx's 25006: rolled back, the variable named": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY), host(REPLICA))).log(-6, PGX_READ_ONLY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_host"),
    "a deploy moved a DATABASE_URL's host, MySQL's 1290: rolled back, the password never said": dict(
        build=lambda e: quiet(moved(e, (("DATABASE_URL", DSN.format(password="hunter2", host=PRIMARY)),),
                                    (("DATABASE_URL", DSN.format(password="hunter2", host=REPLICA)),)))
        .log(-6, PYMYSQL_READ_ONLY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env database_url",
        not_said="hunter2"),
    "a deploy swapped the primary's and the replica's hosts between DB_HOST and REPORTS_DB_HOST: rolled back": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY) + (("REPORTS_DB_HOST", REPLICA),),
                                    host(REPLICA) + (("REPORTS_DB_HOST", PRIMARY),)))
        .log(-6, PYMYSQL_READ_ONLY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_host"),
    # Guards: the deploy did not change where it connects, or the answers are not read-only ones.
    "both hosts named on both revisions under the same variables: competes": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY) + (("REPORTS_DB_HOST", REPLICA),),
                                    host(PRIMARY) + (("REPORTS_DB_HOST", REPLICA),)))
        .log(-6, PYMYSQL_READ_ONLY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same DB_HOST on both (an image-only deploy beside a switchover): competes, no rollback": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY), host(PRIMARY))).log(-6, PGX_READ_ONLY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only a cache's host changed: competes": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY) + (("REDIS_HOST", "10.60.0.3"),),
                                    host(PRIMARY) + (("REDIS_HOST", "10.60.0.4"),)))
        .log(-6, PSYCOPG_READ_ONLY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only the DSN's password changed: competes (not where it connects)": dict(
        build=lambda e: quiet(moved(e, (("DATABASE_URL", DSN.format(password="hunter2", host=PRIMARY)),),
                                    (("DATABASE_URL", DSN.format(password="hunter3", host=PRIMARY)),)))
        .log(-6, PYMYSQL_READ_ONLY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the revision before's env not read: competes": dict(
        build=lambda e: quiet(moved(e, (), host(REPLICA))).log(-6, PGX_READ_ONLY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the host moved, but the revision before was refused as read-only too: competes": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY), host(REPLICA))).log(-9, PGX_READ_ONLY, OLD, count=5)
        .log(-6, PGX_READ_ONLY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the host moved beside a full disk's refusals: the storage, not the move (competes)": dict(
        build=lambda e: quiet(moved(e, host(PRIMARY), host(REPLICA))).log(-6, PG_DISK_FULL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_read_only_refusals_after_a_deploy(case):
    _check(case)


def test_the_texts_are_read_only_refusals():
    # The rows above rest on these being read as the database's read-only answer.
    for text in (PGX_READ_ONLY, PSYCOPG_READ_ONLY, PYMYSQL_READ_ONLY):
        assert refusal_of(text) == Refusal.READ_ONLY, text
    assert refusal_of(PG_DISK_FULL) == Refusal.STORAGE_FULL


NAME = "shop-prod:us-central1:orders-db"
# (the revision before's plain env, the new one's, their Cloud SQL volumes) -> where it moved, by name only
CHANGES = {
    "DB_HOST moved": (host(PRIMARY), host(REPLICA), (), (), ["plain env DB_HOST"]),
    "PGHOST moved": ((("PGHOST", PRIMARY),), (("PGHOST", REPLICA),), (), (), ["plain env PGHOST"]),
    "a DSN's host moved": ((("DATABASE_URL", f"postgresql://a:b@{PRIMARY}:5432/o"),),
                           (("DATABASE_URL", f"postgresql://a:b@{REPLICA}:5432/o"),), (), (),
                           ["plain env DATABASE_URL"]),
    "libpq's keyword form": ((("DSN", f"host={PRIMARY} dbname=o"),), (("DSN", f"host={REPLICA} dbname=o"),), (), (),
                             ["plain env DSN"]),
    "an instance connection name moved": ((("INSTANCE_CONNECTION_NAME", NAME),),
                                          (("INSTANCE_CONNECTION_NAME", NAME + "-replica"),), (), (),
                                          ["plain env INSTANCE_CONNECTION_NAME"]),
    "the Cloud SQL volume moved": ((("X", "1"),), (("X", "1"),), (NAME,), (NAME + "-replica",),
                                   ["its Cloud SQL volume"]),
    "the same host": (host(PRIMARY), host(PRIMARY), (), (), []),
    "the host's letter case and port only": ((("DB_HOST", "DB.internal.example:5432"),),
                                             (("DB_HOST", "db.internal.example"),), (), (), []),
    "a DSN's password only": ((("DATABASE_URL", DSN.format(password="a", host=PRIMARY)),),
                              (("DATABASE_URL", DSN.format(password="b", host=PRIMARY)),), (), (), []),
    "a cache's host only": (host(PRIMARY) + (("REDIS_HOST", "10.60.0.3"),),
                            host(PRIMARY) + (("CACHE_HOST", "10.60.0.4"),), (), (), []),
    "the variable renamed, the same host": ((("DB_HOST", PRIMARY),), (("DATABASE_HOST", PRIMARY),), (), (), []),
    "the primary's and the replica's hosts swapped between two variables both hold": (
        (("DB_HOST", PRIMARY), ("REPORTS_DB_HOST", REPLICA)), (("DB_HOST", REPLICA), ("REPORTS_DB_HOST", PRIMARY)),
        (), (), ["plain env DB_HOST", "plain env REPORTS_DB_HOST"]),
    "two variables renamed into each other's places, the same hosts under the same names": (
        (("DB_HOST", PRIMARY), ("REPORTS_DB_HOST", REPLICA)), (("REPORTS_DB_HOST", REPLICA), ("DB_HOST", PRIMARY)),
        (), (), []),
    "a database address added where none was named": ((("X", "1"),), host(REPLICA), (), (), []),
    "the new revision's env not read": (host(PRIMARY), (), (), (), []),
    "the revision before's env not read": ((), host(REPLICA), (), (), []),
}


@pytest.mark.parametrize("before, after, old_sql, new_sql, changed", CHANGES.values(), ids=CHANGES.keys())
def test_where_a_deploy_moved_the_database(before, after, old_sql, new_sql, changed):
    said = database_address_changed(before, after, old_sql, new_sql)
    assert said == changed
    assert not any(value in " ".join(said) for _, value in after + before if len(value) > 2)
