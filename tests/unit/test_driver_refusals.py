"""A database's refusal of a connection reads the same whatever driver writes it down.

The server says one thing (PostgreSQL: 28000 'role "x" does not exist' and 'role "x" is not permitted to log in',
miscinit.c InitializeSessionUserId; 3D000 'database "x" does not exist', postinit.c InitPostgres; MySQL: 1045, 1049),
and each driver frames it its own way: libpq 14+ after 'connection to server at ... failed: FATAL:  ', pgx with
'(SQLSTATE 28000)', pgjdbc after 'PSQLException: FATAL: ', asyncpg as an exception class named for the SQLSTATE with
no severity, pg8000 (the Cloud SQL Python connector's PostgreSQL driver) as a dict of the ErrorResponse's fields,
Npgsql as 'SQLSTATE: message', Postgrex with the condition's name, Prisma as P1003. Before, asyncpg's, pg8000's,
Npgsql's, Postgrex's and Prisma's frames of a missing role or database, and any frame but libpq's, pgx's and
pgjdbc's of a role not permitted to log in, were no refusal at all: a deploy that renamed the database was not
rolled back, and clean minutes after such a refusal could read `healthy`. And `_settings_named` did not read a role
not permitted to log in as naming the user, so a deploy that moved DB_USER to such a role was escalated.

Precision: a role's 'does not exist' is a statement's ERROR too (22023: SET ROLE, variable.c check_role; 42704:
GRANT), so it is read only in a frame that says the login (28000, the class, FATAL); Prisma's words name no engine, so only the engines' own ports
are read; a bare 'does not exist' with no frame (sqlx's) stays unread.
"""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import LogSignal, Refusal, classify, refusal_of
from shared.diagnosis.rules.database_unreachable import _settings_named
from shared.diagnosis.server_fatal import names_what_is_not_held
from shared.diagnosis.signatures import Signature

from tests.unit.test_connects_as_other import after, env
from tests.unit.test_database_own_failures import _check

BOTH = {"bad_revision", "database_unreachable"}

# Each driver's frame, the server's words inside it (the sources in shared/diagnosis/log_signals.py's rows).
ASYNCPG_NO_DATABASE = 'asyncpg.exceptions.InvalidCatalogNameError: database "orders_v2" does not exist'
ASYNCPG_NO_ROLE = 'asyncpg.exceptions.InvalidAuthorizationSpecificationError: role "orders_rw" does not exist'
ASYNCPG_NO_LOGIN = ('asyncpg.exceptions.InvalidAuthorizationSpecificationError: role "orders_rw" is not permitted to '
                    'log in')
PG8000_NO_DATABASE = ("pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'V': 'FATAL', 'C': '3D000', 'M': 'database "
                      "\"orders_v2\" does not exist', 'F': 'postinit.c', 'L': '885', 'R': 'InitPostgres'}")
PG8000_NO_LOGIN = ("pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'V': 'FATAL', 'C': '28000', 'M': 'role "
                   "\"orders_rw\" is not permitted to log in', 'F': 'miscinit.c', 'L': '733', 'R': "
                   "'InitializeSessionUserId'}")
SQLALCHEMY_PG8000_NO_ROLE = ("sqlalchemy.exc.ProgrammingError: (pg8000.dbapi.ProgrammingError) {'S': 'FATAL', 'V': "
                             "'FATAL', 'C': '28000', 'M': 'role \"orders_rw\" does not exist', 'F': 'miscinit.c'}")
NPGSQL_NO_DATABASE = 'Npgsql.PostgresException (0x80004005): 3D000: database "orders_v2" does not exist'
NPGSQL_NO_ROLE = 'Npgsql.PostgresException (0x80004005): 28000: role "orders_rw" does not exist'
POSTGREX_NO_DATABASE = ('Postgrex.Protocol (#PID<0.2317.0>) failed to connect: ** (Postgrex.Error) FATAL 3D000 '
                        '(invalid_catalog_name) database "orders_v2" does not exist')
POSTGREX_OLD_NO_ROLE = ('** (Postgrex.Error) FATAL (invalid_authorization_specification): role "orders_rw" does not '
                        'exist')
PGX_NO_LOGIN = ('failed to connect to `user=orders_rw database=orders`: 10.50.0.3:5432 (10.50.0.3): server error: '
                'FATAL: role "orders_rw" is not permitted to log in (SQLSTATE 28000)')
PSYCOPG3_NO_LOGIN = ('psycopg.OperationalError: connection failed: connection to server at "10.50.0.3", port 5432 '
                     'failed: FATAL:  role "orders_rw" is not permitted to log in')
NODE_PG_NO_LOGIN = 'error: role "orders_rw" is not permitted to log in'
SQLX_NO_LOGIN = 'error returned from database: role "orders_rw" is not permitted to log in'
LIBPQ_GO_NO_LOGIN = 'pq: role "orders_rw" is not permitted to log in'
PRISMA_PG_NO_DATABASE = ("PrismaClientInitializationError: Database `orders_v2` does not exist on the database server "
                         "at `127.0.0.1:5432`.")
PRISMA_MYSQL_NO_DATABASE = ("PrismaClientInitializationError: Database `orders_v2` does not exist on the database "
                            "server at `127.0.0.1:3306`.")
PGJDBC_NO_LOGIN = 'org.postgresql.util.PSQLException: FATAL: role "orders_rw" is not permitted to log in'
PGX_NO_CONNECT = ('failed to connect to `user=orders database=orders_v2`: 10.50.0.3:5432 (10.50.0.3): server error: '
                  'FATAL: permission denied for database "orders_v2" (SQLSTATE 42501)')
LIBPQ_NO_CONNECT = ('psycopg2.OperationalError: connection to server at "10.50.0.3", port 5432 failed: FATAL:  '
                    'permission denied for database "orders"\nDETAIL:  User does not have CONNECT privilege.')
PGX_NO_CONNECT_ORDERS = ('failed to connect to `user=orders_ro database=orders`: 10.50.0.3:5432 (10.50.0.3): server '
                         'error: FATAL: permission denied for database "orders" (SQLSTATE 42501)')
PSYCOPG_NOT_ACCEPTING = ('psycopg2.OperationalError: connection to server at "10.50.0.3", port 5432 failed: FATAL:  '
                         'database "orders_v2" is not currently accepting connections')

READ = {
    # The server's FATAL of a role or database, in every driver's frame: the same kind as libpq's.
    ASYNCPG_NO_DATABASE: Refusal.SERVER_FATAL,
    ASYNCPG_NO_ROLE: Refusal.SERVER_FATAL,
    ASYNCPG_NO_LOGIN: Refusal.SERVER_FATAL,
    PG8000_NO_DATABASE: Refusal.SERVER_FATAL,
    PG8000_NO_LOGIN: Refusal.SERVER_FATAL,
    SQLALCHEMY_PG8000_NO_ROLE: Refusal.SERVER_FATAL,
    NPGSQL_NO_DATABASE: Refusal.SERVER_FATAL,
    NPGSQL_NO_ROLE: Refusal.SERVER_FATAL,
    POSTGREX_NO_DATABASE: Refusal.SERVER_FATAL,
    POSTGREX_OLD_NO_ROLE: Refusal.SERVER_FATAL,
    PGX_NO_LOGIN: Refusal.SERVER_FATAL,
    PSYCOPG3_NO_LOGIN: Refusal.SERVER_FATAL,
    NODE_PG_NO_LOGIN: Refusal.SERVER_FATAL,
    SQLX_NO_LOGIN: Refusal.SERVER_FATAL,
    LIBPQ_GO_NO_LOGIN: Refusal.SERVER_FATAL,
    PRISMA_PG_NO_DATABASE: Refusal.SERVER_FATAL,
    PRISMA_MYSQL_NO_DATABASE: Refusal.UNKNOWN_DATABASE,
    # The drivers' frames of the refusals the table read already keep their kinds (the specific rows first).
    "asyncpg.exceptions.InvalidPasswordError: password authentication failed for user \"orders_rw\"":
        Refusal.CREDENTIALS,
    "pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'V': 'FATAL', 'C': '28P01', 'M': 'password authentication failed "
    "for user \"orders_rw\"', 'F': 'auth.c', 'L': '335', 'R': 'auth_failed'}": Refusal.CREDENTIALS,
    "pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'V': 'FATAL', 'C': '53300', 'M': 'sorry, too many clients "
    "already', 'F': 'proc.c', 'L': '359', 'R': 'InitProcess'}": Refusal.CONNECTION_LIMIT,
    "Npgsql.PostgresException (0x80004005): 57P03: the database system is starting up": Refusal.RESTARTING,
    "Npgsql.PostgresException (0x80004005): 28P01: password authentication failed for user \"orders_rw\"":
        Refusal.CREDENTIALS,
    # sqlx prints any server error alike: a FATAL at connect or a statement's ERROR (Refusal.NAME_MISSING,
    # tests/unit/test_missing_name_severity_unsaid.py).
    'error returned from database: database "orders_v2" does not exist': Refusal.NAME_MISSING,
    # Not a refusal of the connection: a statement's ERROR in the same words (42704, GRANT), Prisma at a port of no known engine or naming a schema, pg8000's
    # PgBouncer wait and the server's own session timeout (the application's).
    'asyncpg.exceptions.UndefinedObjectError: role "tenant_42" does not exist': "",
    ("PrismaClientInitializationError: Database `orders_v2` does not exist on the database server at "
     "`10.50.0.3:6543`."): "",
    ("PrismaClientInitializationError: Database `orders.public` does not exist on the database server at "
     "`127.0.0.1:5432`."): "",
    "pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'C': '08P01', 'M': 'query_wait_timeout'}": "",
    ("pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'V': 'FATAL', 'C': '25P03', 'M': 'terminating connection due "
     "to idle-in-transaction timeout'}"): "",
}


@pytest.mark.parametrize("text, kind", READ.items(), ids=[t[:70] for t in READ])
def test_a_drivers_frame_reads_as_the_servers_words(text, kind):
    assert refusal_of(text) == kind
    # A refusal is an error of reaching the database too, found by the same search (classify) as by refusal_of.
    assert (LogSignal.DB_REFUSED in classify(text)) == bool(kind)
    if kind:
        assert LogSignal.DB_CONNECTION in classify(text)


# (kind, the server's words) -> the connection setting the refusal names (`_settings_named`).
NAMED = {
    "role not permitted to log in (libpq)": (Refusal.SERVER_FATAL, PSYCOPG3_NO_LOGIN, ("user",)),
    "role not permitted to log in (pg8000)": (Refusal.SERVER_FATAL, PG8000_NO_LOGIN, ("user",)),
    "role missing (asyncpg)": (Refusal.SERVER_FATAL, ASYNCPG_NO_ROLE, ("user",)),
    "database missing (Npgsql)": (Refusal.SERVER_FATAL, NPGSQL_NO_DATABASE, ("database",)),
    "database missing (Prisma, PostgreSQL)": (Refusal.SERVER_FATAL, PRISMA_PG_NO_DATABASE, ("database",)),
    # The CONNECT privilege is a role's on a database: either setting moved brings its refusal.
    "no CONNECT on the database (pgx)": (Refusal.SERVER_FATAL, PGX_NO_CONNECT, ("user", "database")),
    "database taking no connection (libpq)": (Refusal.SERVER_FATAL, PSYCOPG_NOT_ACCEPTING, ("database",)),
    "the server out of memory: names neither": (
        Refusal.SERVER_FATAL, "server error: FATAL: out of memory (SQLSTATE 53200)", ()),
}


@pytest.mark.parametrize("kind, text, named", NAMED.values(), ids=NAMED.keys())
def test_the_setting_each_fatal_names(kind, text, named):
    assert _settings_named(kind, text) == named


@pytest.mark.parametrize("text, lasting", [
    (PSYCOPG3_NO_LOGIN, True), (ASYNCPG_NO_DATABASE, True), (PRISMA_PG_NO_DATABASE, True), (PGX_NO_CONNECT, True),
    (PSYCOPG_NOT_ACCEPTING, True),
    ("server error: FATAL: out of memory (SQLSTATE 53200)", False),
])
def test_which_fatals_last_until_a_person_acts(text, lasting):
    assert names_what_is_not_held(text) is lasting


INCIDENTS = {
    "DB_USER moved to a role not permitted to log in (pgx): rolled back": dict(
        build=after(env(), env(user="orders_rw"), PGX_NO_LOGIN),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_user"),
    "DB_USER moved to a role not permitted to log in (pg8000, the Python connector's driver): rolled back": dict(
        build=after(env(), env(user="orders_rw"), PG8000_NO_LOGIN),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_user"),
    "DB_NAME changed, asyncpg's InvalidCatalogNameError: rolled back": dict(
        build=after(env(), env(db="orders_v2"), ASYNCPG_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "DB_NAME changed, Npgsql's 3D000: rolled back": dict(
        build=after(env(), env(db="orders_v2"), NPGSQL_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "DB_NAME changed, Prisma's P1003: rolled back": dict(
        build=after(env(), env(db="orders_v2"), PRISMA_PG_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    # No CONNECT privilege (42501): the role's on the database, so moving either brings it. libpq's words name no
    # user or database of their own, so only the setting the refusal names ties it to the deploy.
    "DB_USER moved to a role without CONNECT (libpq): rolled back": dict(
        build=after(env(), env(user="orders_ro"), LIBPQ_NO_CONNECT),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_user"),
    "DB_NAME moved to a database the role may not connect to (libpq): rolled back": dict(
        build=after(env(), env(db="orders_v2"), LIBPQ_NO_CONNECT),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "DB_USER moved to a role without CONNECT (pgx, naming both): rolled back": dict(
        build=after(env(), env(user="orders_ro"), PGX_NO_CONNECT_ORDERS),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # Controls: the same settings on both (the role's LOGIN taken away on the server), or another setting changed.
    "the same settings, CONNECT revoked on the server (libpq): competes": dict(
        build=after(env(), env(), LIBPQ_NO_CONNECT), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only DB_HOST changed, no CONNECT (libpq): competes": dict(
        build=after(env(), env(host="10.50.0.9"), LIBPQ_NO_CONNECT), expect=Signature.INCONCLUSIVE,
        competing=BOTH),
    "the same settings, a role's LOGIN revoked on the server (pgx): competes": dict(
        build=after(env(), env(), PGX_NO_LOGIN), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only DB_NAME changed, the refusal a role's LOGIN (asyncpg): competes": dict(
        build=after(env(), env(db="orders_v2"), ASYNCPG_NO_LOGIN), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same settings, asyncpg's database dropped: competes": dict(
        build=after(env(), env(), ASYNCPG_NO_DATABASE), expect=Signature.INCONCLUSIVE, competing=BOTH),
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_a_deploy_that_asks_for_what_the_server_refuses(case):
    _check(case)
