"""The database's refusals at a server only the new revision dials: a deploy that pointed DB_HOST at
another instance (a staging manifest deployed to production, a new instance not yet given the user)
meets a password refused, a database that does not exist, no pg_hba.conf entry, from a server the
revision before never dialled. libpq names the server that answered ('connection to server at "H",
port P failed: FATAL: ...'; PostgreSQL's src/interfaces/libpq/fe-connect.c, emitHostIdentityInfo), so
when every such address is one only the new revision's plain env names, the deploy changed where the
application connects and sending traffic back restores the server that answered as it should. An
address both revisions name, lines that name no server, an env not read, or refusals from another
revision keep the database competing with the deploy: a person decides."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_database_refusals import NEW, OLD, quiet

S = DiagnosisSettings()
HOME, STAGING = "10.40.0.7", "10.40.0.8"
STAGING_SQL = "demo-staging:us-central1:orders-db"


def at(host: str, fatal: str) -> str:
    """libpq's words for a refusal by the server at `host` (PostgreSQL 14+, fe-connect.c)."""
    return f'psycopg2.OperationalError: connection to server at "{host}", port 5432 failed: FATAL:  {fatal}'


PASSWORD = 'password authentication failed for user "orders"'
NO_DATABASE = 'database "orders" does not exist'
NO_HBA = 'no pg_hba.conf entry for host "10.8.0.4", user "orders", database "orders", SSL encryption'
# The same refusal in words that name no server: lib/pq's (Go), and pgjdbc's.
PQ_PASSWORD = 'pq: password authentication failed for user "orders"'
PGJDBC_PASSWORD = 'org.postgresql.util.PSQLException: FATAL: password authentication failed for user "orders"'


def socket(instance: str, fatal: str) -> str:
    """libpq's words for a refusal over the Cloud SQL volume's unix socket (/cloudsql/INSTANCE_CONNECTION_NAME)."""
    return (f'psycopg2.OperationalError: connection to server on socket "/cloudsql/{instance}/.s.PGSQL.5432" failed: '
            f"FATAL:  {fatal}")


def deployed(old_env=(HOME,), new_env=(STAGING,), lines=((at(STAGING, PASSWORD), 20),), split=None,
             new_sql=SQL) -> Evidence:
    """NEW replaced OLD 8 minutes ago on the same connector (and, unless `new_sql`, the same Cloud SQL
    volume); it fails 60 % with `lines` on its stderr; the connector is quiet, Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), env=old_env).revision(NEW, -8, sql=(new_sql,), env=new_env)
         .traffic(**(split or {NEW: 100})).requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2)
         .requests(NEW, -8, 5, 14).requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.5))
    if split:
        e = e.requests(OLD, -8, 5, 40).latency(OLD, -8, 5, 0.2)
    for text, count in lines:
        e = e.log(-6, text, NEW, count=count)
    return quiet(e)


ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
COMPETE = (Signature.INCONCLUSIVE, None)
MIGRATED = (Signature.BAD_REVISION, None)
CASES = {
    # The deploy moved the address, and the refusals name the new one.
    "a password refused by the server only the new env names": ({}, ROLLBACK),
    "a database that does not exist on the server only the new env names": (
        {"lines": ((at(STAGING, NO_DATABASE), 20),)}, ROLLBACK),
    "no pg_hba.conf entry on the server only the new env names, the path unchanged": (
        {"lines": ((at(STAGING, NO_HBA), 20),)}, ROLLBACK),
    "the address in a URL the new env holds": (
        {"old_env": (f"postgresql://orders@{HOME}:5432/orders",),
         "new_env": (f"postgresql://orders@{STAGING}:5432/orders",)}, ROLLBACK),
    "a canary refused at the new server while the revision before serves beside it cleanly": (
        {"split": {NEW: 20, OLD: 80}}, ROLLBACK),
    "most lines name the new server, a few name none": (
        {"lines": ((at(STAGING, PASSWORD), 15), (PGJDBC_PASSWORD, 5))}, ROLLBACK),
    # The refusals are the deploy's own, but a deploy that moved the Cloud SQL volume to another instance
    # may be a migration: bad_revision holds the rollback (target_deps.database_moved) and names it.
    "a password refused on the socket of an instance only the new Cloud SQL volume names": (
        {"new_env": (HOME,), "new_sql": STAGING_SQL, "lines": ((socket(STAGING_SQL, PASSWORD), 20),)}, MIGRATED),
    # Not shown to be the deploy's: the database competes as before.
    "a password refused on the socket of the instance both revisions mount": (
        {"new_env": (HOME,), "lines": ((socket(SQL, PASSWORD), 20),)}, COMPETE),
    "the server both revisions name refuses the password (rotated, or a role changed)": (
        {"new_env": (HOME,), "lines": ((at(HOME, PASSWORD), 20),)}, COMPETE),
    "the deploy moved the address, but the refusals name no server (lib/pq)": (
        {"lines": ((PQ_PASSWORD, 20),)}, COMPETE),
    "the deploy moved the address, but most refusals name no server (pgjdbc)": (
        {"lines": ((at(STAGING, PASSWORD), 5), (PGJDBC_PASSWORD, 20))}, COMPETE),
    "the revision before's env from secrets only (not read)": ({"old_env": ()}, COMPETE),
    "the refusals name an address neither env holds": (
        {"lines": ((at("10.40.0.99", PASSWORD), 20),)}, COMPETE),
}


@pytest.mark.parametrize("kwargs, expected", CASES.values(), ids=CASES.keys())
def test_refusals_at_a_server_only_the_deploy_names_roll_back(kwargs, expected):
    bundle = deployed(**kwargs).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_rollback_goes_one_release_back_with_the_database_stepped_aside():
    result = diagnose(deployed().bundle(), S)
    assert (result.known_good_revision, result.steps_back, tuple(result.competing)) == (OLD, 1, ()), result.summary


def test_refusals_from_the_revision_before_too_keep_the_database_competing():
    bundle = deployed(split={NEW: 50, OLD: 50}).log(-6, at(STAGING, PASSWORD), OLD, count=10).bundle()
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action is None, result.summary
