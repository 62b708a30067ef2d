"""Refusals that depend on which database or which user the connection asks for, after a deploy that
changed it.

A server answers a connection for a database it does not hold with PostgreSQL's 3D000 'database "x"
does not exist' (postinit.c), a user it does not know with 28000 'role "x" does not exist', and a
password it does not hold for that user with 28P01 'password authentication failed for user "x"'
(auth.c); MySQL with 1049 "Unknown database" and 1045 "Access denied for user 'x'@'h'". Those answers
are the server's for the settings the client sends: a deploy that changed DB_NAME, DB_USER, a
database URL's path or user brings them itself, and the revision before holds the settings that were
accepted (Revision.containers[].env[].value comes back with it), so sending traffic back restores
them (bad_revision). An unencrypted connection refused after a deploy that turned TLS off is the same.
A password rotated on the server side, the same settings on both, another setting changed (the host
alone), an env not read, or the revision before refused too, leave the database in the running beside
the deploy, as before.
"""
from __future__ import annotations

import pytest

from shared.diagnosis.env_hosts import connection_target_changed
from shared.diagnosis.log_signals import Refusal, refusal_of
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_database_own_failures import _check
from tests.unit.test_database_refusals import NEW, OLD, quiet
from tests.unit.test_read_only_moved import BOTH, moved

# pgx v5 (jackc/pgx pgconn/errors.go: connectError "failed to connect to `user=U database=D`: ADDR
# (IP): " + perDialConnectError "server error: " + PgError.Error "FATAL: MSG (SQLSTATE CODE)"); the
# server's messages from PostgreSQL src/backend/utils/init/postinit.c (3D000) and
# src/backend/libpq/auth.c (28P01), miscinit.c (28000 'role "%s" does not exist').
PGX_NO_DATABASE = ('failed to connect to `user=orders database=orders_v2`: 10.50.0.3:5432 (10.50.0.3): server error: '
                   'FATAL: database "orders_v2" does not exist (SQLSTATE 3D000)')
PGX_NO_ROLE = ('failed to connect to `user=orders_rw database=orders`: 10.50.0.3:5432 (10.50.0.3): server error: '
               'FATAL: role "orders_rw" does not exist (SQLSTATE 28000)')
# libpq 14+ through psycopg2 (libpq fe-connect.c: 'connection to server at "%s" (%s), port %s failed: ').
PSYCOPG_NO_DATABASE = ('psycopg2.OperationalError: connection to server at "10.50.0.3", port 5432 failed: FATAL:  '
                       'database "orders_v2" does not exist')
PSYCOPG_PASSWORD = ('psycopg2.OperationalError: connection to server at "10.50.0.3", port 5432 failed: FATAL:  '
                    'password authentication failed for user "orders_rw"')
# pgjdbc (org.postgresql.util.PSQLException with the ServerErrorMessage: "FATAL: MSG").
PGJDBC_NO_DATABASE = 'org.postgresql.util.PSQLException: FATAL: database "orders_v2" does not exist'
# mysql2 (Node) and PDO: the server's 1045 ER_ACCESS_DENIED_ERROR text.
MYSQL2_DENIED = "Error: Access denied for user 'orders_rw'@'10.8.0.5' (using password: YES)"
PDO_DENIED = "PDOException: SQLSTATE[HY000] [1045] Access denied for user 'orders_rw'@'10.8.0.5' (using password: YES)"
# node-postgres prints the server's message under the severity word (pg-protocol DatabaseError);
# MySQL's 1049 ER_BAD_DB_ERROR through mysql2 and PDO (MariaDB error reference "Error 1049").
NODE_PG_NO_DATABASE = 'error: database "orders_v2" does not exist'
MYSQL2_NO_DATABASE = "Error: Unknown database 'orders_v2'"
PDO_NO_DATABASE = "PDOException: SQLSTATE[HY000] [1049] Unknown database 'orders_v2'"
# An unencrypted connection refused: pg_hba.conf's "no encryption" (auth.c ClientAuthentication) via
# pgx, MySQL's 3159 ER_SECURE_TRANSPORT_REQUIRED via mysql2; an encrypted one not admitted (a host).
PGX_NO_ENCRYPTION = ('failed to connect to `user=orders database=orders`: 10.50.0.3:5432 (10.50.0.3): server error: '
                     'FATAL: pg_hba.conf rejects connection for host "10.8.0.5", user "orders", database "orders", '
                     'no encryption (SQLSTATE 28000)')
MYSQL2_INSECURE = "Error: Connections using insecure transport are prohibited while --require_secure_transport=ON."
# A server-side failure the settings do not decide: out of memory at connect.
PGX_OUT_OF_MEMORY = ('failed to connect to `user=orders database=orders`: 10.50.0.3:5432 (10.50.0.3): server error: '
                     'FATAL: out of memory (SQLSTATE 53200)')

HOST = "10.50.0.3"
URL = "postgresql://{user}:hunter2@{host}:5432/{db}"


def env(db: str = "orders", user: str = "orders", host: str = HOST) -> tuple[tuple[str, str], ...]:
    return (("DB_HOST", host), ("DB_NAME", db), ("DB_USER", user))


def url(db: str = "orders", user: str = "orders", host: str = HOST) -> tuple[tuple[str, str], ...]:
    return (("DATABASE_URL", URL.format(user=user, host=host, db=db)),)


def after(old, new, text, count=20, old_too=0):
    """NEW (plain env `new`, OLD had `old`) logs `text` `count` times; OLD `old_too` times before."""
    def build(e: Evidence) -> Evidence:
        built = quiet(moved(e, old, new))
        if old_too:
            built = built.log(-9, text, OLD, count=old_too)
        return built.log(-6, text, NEW, count=count)
    return build


INCIDENTS = {
    "DB_NAME changed, pgx's 3D000: rolled back, the variable named": dict(
        build=after(env(), env(db="orders_v2"), PGX_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "a DATABASE_URL's database changed, psycopg's 3D000: rolled back, the password never said": dict(
        build=after(url(), url(db="orders_v2"), PSYCOPG_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env database_url", not_said="hunter2"),
    "DB_NAME changed, pgjdbc's FATAL: rolled back": dict(
        build=after(env(), env(db="orders_v2"), PGJDBC_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "DB_USER changed, pgx's role does not exist: rolled back": dict(
        build=after(env(), env(user="orders_rw"), PGX_NO_ROLE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_user"),
    "DB_USER changed, psycopg's password failed for the new user: rolled back": dict(
        build=after(env(), env(user="orders_rw"), PSYCOPG_PASSWORD),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_user"),
    "a DATABASE_URL's user changed, mysql2's 1045: rolled back": dict(
        build=after(url(), url(user="orders_rw"), MYSQL2_DENIED),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env database_url", not_said="hunter2"),
    "DB_NAME changed, node-postgres's 3D000: rolled back": dict(
        build=after(env(), env(db="orders_v2"), NODE_PG_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "a DATABASE_URL's database changed, mysql2's 1049: rolled back": dict(
        build=after(url(), url(db="orders_v2"), MYSQL2_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env database_url", not_said="hunter2"),
    "DB_NAME changed, PDO's 1049: rolled back": dict(
        build=after(env(), env(db="orders_v2"), PDO_NO_DATABASE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_name"),
    "sslmode=disable in the URL, pg_hba.conf's no encryption: rolled back": dict(
        build=after((("DATABASE_URL", URL.format(user="orders", host=HOST, db="orders") + "?sslmode=require"),),
                    (("DATABASE_URL", URL.format(user="orders", host=HOST, db="orders") + "?sslmode=disable"),),
                    PGX_NO_ENCRYPTION),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="sslmode in the plain env database_url",
        not_said="hunter2"),
    "DB_SSL turned off, MySQL's 3159: rolled back": dict(
        build=after(env() + (("DB_SSL", "true"),), env() + (("DB_SSL", "false"),), MYSQL2_INSECURE),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="plain env db_ssl"),
    # Controls: nothing the refusal names changed, or the revision before was refused too.
    "the same settings, mysql2's 1049 (a database dropped on the server): competes": dict(
        build=after(env(), env(), MYSQL2_NO_DATABASE), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same settings, node-postgres's 3D000: competes": dict(
        build=after(env(), env(), NODE_PG_NO_DATABASE), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same TLS settings, pg_hba.conf's no encryption (the instance's SSL mode changed): competes": dict(
        build=after(env() + (("PGSSLMODE", "disable"),), env() + (("PGSSLMODE", "disable"),), PGX_NO_ENCRYPTION),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only DB_NAME changed, the refusal an unencrypted connection's: competes": dict(
        build=after(env(), env(db="orders_v2"), MYSQL2_INSECURE), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only DB_HOST moved, PDO's 1045 for the same user: competes (the refusal names the user, not the host)": dict(
        build=after(env(), env(host="10.50.0.9"), PDO_DENIED), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same settings on both (a password rotated on the server): competes, no rollback": dict(
        build=after(env(), env(), PSYCOPG_PASSWORD), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same settings, a database dropped: competes": dict(
        build=after(env(), env(), PGX_NO_DATABASE), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "DB_USER changed, but the revision before was refused too (rotated for both): competes": dict(
        build=after(env(), env(user="orders_rw"), MYSQL2_DENIED, old_too=5),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only DB_NAME changed, the refusal a password's: competes (not what the refusal names)": dict(
        build=after(env(), env(db="orders_v2"), PSYCOPG_PASSWORD), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "only DB_USER changed, the refusal a missing database: competes": dict(
        build=after(env(), env(user="orders_rw"), PGX_NO_DATABASE), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "DB_NAME changed, the server out of memory: competes (the server's own, whatever it is asked)": dict(
        build=after(env(), env(db="orders_v2"), PGX_OUT_OF_MEMORY), expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the revision before's env not read: competes": dict(
        build=after((), env(db="orders_v2"), PGX_NO_DATABASE), expect=Signature.INCONCLUSIVE, competing=BOTH),
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_refusals_of_what_the_deploy_asks_for(case):
    _check(case)


def test_the_texts_are_the_servers_answers():
    for text in (PGX_NO_DATABASE, PGX_NO_ROLE, PSYCOPG_NO_DATABASE, PGJDBC_NO_DATABASE, PGX_OUT_OF_MEMORY):
        assert refusal_of(text) == Refusal.SERVER_FATAL, text
    # node-postgres names every ErrorResponse "error": its severity unsaid (Refusal.NAME_MISSING).
    assert refusal_of(NODE_PG_NO_DATABASE) == Refusal.NAME_MISSING
    for text in (MYSQL2_NO_DATABASE, PDO_NO_DATABASE):
        assert refusal_of(text) == Refusal.UNKNOWN_DATABASE, text
    for text in (PGX_NO_ENCRYPTION, MYSQL2_INSECURE):
        assert refusal_of(text) == Refusal.NOT_ADMITTED, text
    for text in (PSYCOPG_PASSWORD, MYSQL2_DENIED, PDO_DENIED):
        assert refusal_of(text) == Refusal.CREDENTIALS, text


GO_DSN = "orders:hunter2@tcp(10.50.0.3:3306)/{db}?parseTime=true"
# (the revision before's plain env, the new one's, which setting) -> the variables changed, by name only
TARGETS = {
    "DB_NAME": (env(), env(db="orders_v2"), "database", ["plain env DB_NAME"]),
    "PGDATABASE": ((("PGDATABASE", "orders"),), (("PGDATABASE", "orders_v2"),), "database", ["plain env PGDATABASE"]),
    "POSTGRES_DB": ((("POSTGRES_DB", "orders"),), (("POSTGRES_DB", "orders_v2"),), "database",
                    ["plain env POSTGRES_DB"]),
    "a URL's path": (url(), url(db="orders_v2"), "database", ["plain env DATABASE_URL"]),
    "a URL's user": (url(), url(user="orders_rw"), "user", ["plain env DATABASE_URL"]),
    "a JDBC URL's path": ((("JDBC_URL", "jdbc:mysql://10.50.0.3:3306/shop?user=a"),),
                          (("JDBC_URL", "jdbc:mysql://10.50.0.3:3306/shop2?user=a"),), "database",
                          ["plain env JDBC_URL"]),
    "a JDBC URL's user parameter": ((("JDBC_URL", "jdbc:postgresql://h/shop?user=a&password=p"),),
                                    (("JDBC_URL", "jdbc:postgresql://h/shop?user=b&password=p"),), "user",
                                    ["plain env JDBC_URL"]),
    "Go MySQL's database": ((("DSN", GO_DSN.format(db="shop")),), (("DSN", GO_DSN.format(db="shop2")),), "database",
                            ["plain env DSN"]),
    "libpq's user=": ((("DSN", "host=h dbname=o user=a"),), (("DSN", "host=h dbname=o user=b"),), "user",
                      ["plain env DSN"]),
    "DB_USER": (env(), env(user="orders_rw"), "user", ["plain env DB_USER"]),
    "PGUSER": ((("PGUSER", "a"),), (("PGUSER", "b"),), "user", ["plain env PGUSER"]),
    # No change of the kind asked for.
    "DB_USER changed, the database asked for": (env(), env(user="orders_rw"), "database", []),
    "DB_NAME changed, the user asked for": (env(), env(db="orders_v2"), "user", []),
    "a URL's password only": (url(), (("DATABASE_URL", URL.format(user="orders", host=HOST, db="orders")
                                       .replace("hunter2", "hunter3")),), "user", []),
    "a URL's host only": (url(), url(host="10.50.0.9"), "database", []),
    "a schema, not a database": ((("DB_NAME", "o"), ("DB_SCHEMA", "a")), (("DB_NAME", "o"), ("DB_SCHEMA", "b")),
                                 "database", []),
    "the variable renamed, the same value": ((("DB_NAME", "o"),), (("DATABASE_NAME", "o"),), "database", []),
    "a database named where none was": ((("X", "1"),), env(), "database", []),
    "the new revision's env not read": (env(), (), "database", []),
    "the revision before's env not read": ((), env(db="orders_v2"), "database", []),
}


@pytest.mark.parametrize("before, after, what, changed", TARGETS.values(), ids=TARGETS.keys())
def test_which_database_or_user_a_deploy_asks_for(before, after, what, changed):
    said = connection_target_changed(before, after, what)
    assert said == changed
    assert "hunter" not in " ".join(said)
