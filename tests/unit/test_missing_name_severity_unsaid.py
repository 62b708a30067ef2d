"""PostgreSQL says 'database "x" does not exist' and 'role "x" does not exist' both as a FATAL refusing the
connection (postinit.c InitPostgres, 3D000; miscinit.c InitializeSessionUserId, 28000) and as a statement's
ERROR (dbcommands.c get_database_oid for DROP, ALTER or GRANT on a database, 3D000; variable.c check_role for
SET ROLE, 22023; acl.c get_role_oid for GRANT, 42704). lib/pq ("pq: " + the message, error.go), sqlx ("error
returned from database: " + the message, sqlx-core error.rs) and node-postgres (an Error named "error" whatever
the severity, pg-protocol) print neither severity nor SQLSTATE: the line cannot tell the two. Runwarden reads
such a line as the server's answer (the path carried it) whose severity is unsaid (Refusal.NAME_MISSING), acts
only where both readings agree (a deploy that changed the very name the line gives: the new revision connects
with it, or its own statement names it) and otherwise escalates, naming both readings."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import Refusal, refusal_of, stdout_needles
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_database_refusals import NEW, OLD, quiet, serving
from tests.unit.test_mysql_database_access import HOST, _env

S = DiagnosisSettings()
BOTH = {"bad_revision", "database_unreachable"}
SQLX_DB = 'error returned from database: database "{name}" does not exist'
SQLX_ROLE = 'error returned from database: role "{name}" does not exist'
LIBPQ_DB = 'pq: database "{name}" does not exist'
LIBPQ_ROLE = 'pq: role "{name}" does not exist'
NODE_DB = 'error: database "{name}" does not exist'


@pytest.mark.parametrize("text, kind", [
    (LIBPQ_DB.format(name="orders"), Refusal.NAME_MISSING),
    (LIBPQ_ROLE.format(name="reporting"), Refusal.NAME_MISSING),
    (SQLX_DB.format(name="orders"), Refusal.NAME_MISSING),
    (SQLX_ROLE.format(name="reporting"), Refusal.NAME_MISSING),
    (NODE_DB.format(name="orders"), Refusal.NAME_MISSING),
    # A statement's alone (CREATE DATABASE ... TEMPLATE): never read.
    ('error returned from database: template database "tpl" does not exist', ""),
    # Only a login refuses so (miscinit.c, FATAL): the server's refusal in any frame.
    ('error returned from database: role "app" is not permitted to log in', Refusal.SERVER_FATAL),
    # A frame that names the SQLSTATE or the class: the connection's refusal.
    ('asyncpg.exceptions.InvalidCatalogNameError: database "orders_v2" does not exist', Refusal.SERVER_FATAL),
], ids=["lib/pq database", "lib/pq role", "sqlx database", "sqlx role", "node-postgres database",
        "sqlx template database", "sqlx not permitted to log in", "asyncpg class"])
def test_a_missing_name_whose_severity_the_driver_leaves_unsaid(text, kind):
    assert refusal_of(text) == kind


SAME = (HOST, ("DB_NAME", "orders"), ("DB_USER", "app"))
NEW_NAME = (HOST, ("DB_NAME", "orders_v2"), ("DB_USER", "app"))
CASES = {
    # An image-only deploy: its own statement (a DROP or GRANT naming a database gone), or the database
    # dropped under every revision at connect. The readings disagree: escalated, nothing done (before: sqlx's
    # line was not read, and the new revision's errors were rolled back).
    "an image-only deploy, sqlx's database missing: escalated": dict(
        build=lambda e: quiet(_env(e, SAME, SAME)).log(-6, SQLX_DB.format(name="orders"), NEW, count=20),
        action=None, said="do not say whether"),
    "an image-only deploy, lib/pq's role missing (SET ROLE or the login): escalated": dict(
        build=lambda e: quiet(_env(e, SAME, SAME)).log(-6, LIBPQ_ROLE.format(name="reporting"), NEW, count=20),
        action=None, said="do not say whether"),
    "an image-only deploy, node-postgres' database missing: escalated": dict(
        build=lambda e: quiet(_env(e, SAME, SAME)).log(-6, NODE_DB.format(name="orders"), NEW, count=20),
        action=None, said="do not say whether"),
    # The deploy changed the name the line gives: under either reading the new revision's own.
    "a deploy changed DB_NAME, sqlx's new name missing: rolled back": dict(
        build=lambda e: quiet(_env(e, SAME, (HOST, ("DB_NAME", "orders_v2"), ("DB_USER", "app"))))
        .log(-6, SQLX_DB.format(name="orders_v2"), NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy changed DB_USER, lib/pq's new role missing: rolled back": dict(
        build=lambda e: quiet(_env(e, SAME, (HOST, ("DB_NAME", "orders"), ("DB_USER", "app_v2"))))
        .log(-6, LIBPQ_ROLE.format(name="app_v2"), NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # The deploy changed DB_NAME, and the line names another database or role than any it asks for: a
    # statement's (a migration's GRANT, a cross-database read), not tied to the deploy by the name it gives.
    # Escalated, deploy and database competing (before: rolled back on DB_NAME's change alone).
    "a deploy changed DB_NAME, lib/pq's other database missing: escalated": dict(
        build=lambda e: quiet(_env(e, SAME, NEW_NAME)).log(-6, LIBPQ_DB.format(name="analytics"), NEW, count=20),
        action=None, competing=BOTH),
    "a deploy changed DB_NAME, sqlx's other database missing: escalated": dict(
        build=lambda e: quiet(_env(e, SAME, NEW_NAME)).log(-6, SQLX_DB.format(name="analytics"), NEW, count=20),
        action=None, competing=BOTH),
    "a deploy changed DB_NAME, node-postgres' role missing in a GRANT: escalated": dict(
        build=lambda e: quiet(_env(e, SAME, NEW_NAME)).log(-6, 'error: role "readonly" does not exist', NEW, count=20),
        action=None, competing=BOTH),
    # No deploy: escalated with where to look under both readings.
    "no deploy, sqlx's database missing: escalated naming both readings": dict(
        build=lambda e: quiet(serving(e)).log(-5, SQLX_DB.format(name="orders"), OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, action=None, said="gcloud sql databases list"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_unsaid_severity_is_acted_on_only_where_both_readings_agree(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
    words = result.summary + " || " + result.recommendation

    assert chosen.action == case["action"], (chosen.reason, words)
    if "expect" in case:
        assert result.signature is case["expect"], words
    else:
        assert result.signature in (Signature.INCONCLUSIVE, Signature.DATABASE_UNREACHABLE), words
    if "said" in case:
        assert case["said"] in words, words
    if "competing" in case:
        assert set(result.competing) == case["competing"], words
    assert "ended the connection with an error of its own" not in words, words


@pytest.mark.parametrize("text, asked", [
    (SQLX_DB.format(name="orders_v2"), True),
    (SQLX_ROLE.format(name="reporting"), True),
    ('error returned from database: duplicate key value violates unique constraint "orders_pkey"', False),
    ('error returned from database: syntax error at or near "SELEC"', False),
], ids=["sqlx database missing", "sqlx role missing", "sqlx unique violation", "sqlx syntax error"])
def test_the_failure_read_asks_for_sqlxs_missing_names_never_its_frame_alone(text, asked):
    # Every server error sqlx prints carries its frame: a needle of the frame alone would fill the read's page
    # with statement errors no rule reads.
    assert any(needle in text.lower() for needle in stdout_needles()) is asked
