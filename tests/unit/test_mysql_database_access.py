"""MySQL's 1044 (ER_DBACCESS_DENIED_ERROR, SQLSTATE 42000, "Access denied for user '%s'@'%s' to database '%s'",
MySQL Server Error Message Reference) is a login the server accepted and a database the account holds no
privilege on: a grant, or the database the connection asks for. It is never 1045's bad credentials
(ER_ACCESS_DENIED_ERROR, 28000, "... (using password: %s)"): a deploy that changed only the password did not
bring it, and a deploy that changed the database asked for did. Its advice names the grants, never a secret's
rotation. The other MySQL refusals keep their own kinds; 1049 ("Unknown database") is tied to a deploy by the
name it gives, as 1044 is."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import Refusal, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_database_refusals import NEW, OLD, quiet, serving

S = DiagnosisSettings()
BOTH = {"bad_revision", "database_unreachable"}
PYMYSQL_1044 = "pymysql.err.OperationalError: (1044, \"Access denied for user 'orders'@'%' to database '{db}'\")"
GO_1044 = "Error 1044 (42000): Access denied for user 'orders'@'10.8.0.5' to database '{db}'"


@pytest.mark.parametrize("text, kind", [
    (PYMYSQL_1044.format(db="orders"), Refusal.DB_ACCESS),
    (GO_1044.format(db="orders"), Refusal.DB_ACCESS),
    ("PDOException: SQLSTATE[HY000] [1044] Access denied for user 'orders'@'%' to database 'orders'", Refusal.DB_ACCESS),
    ("Error 1045 (28000): Access denied for user 'orders'@'10.8.0.5' (using password: YES)", Refusal.CREDENTIALS),
    ("Error 1698 (28000): Access denied for user 'root'@'localhost'", Refusal.CREDENTIALS),
    ("Error 1049 (42000): Unknown database 'orders_v2'", Refusal.UNKNOWN_DATABASE),
    ("(1040, 'Too many connections')", Refusal.CONNECTION_LIMIT),
    ("Error 1226 (42000): User 'orders' has exceeded the 'max_user_connections' resource (current value: 10)",
     Refusal.USER_LIMIT),
    ("(1129, \"Host '10.8.0.2' is blocked because of many connection errors; unblock with 'mysqladmin flush-hosts'\")",
     Refusal.HOST_BLOCKED),
    ("(1130, \"Host '10.8.0.3' is not allowed to connect to this MySQL server\")", Refusal.SOURCE_NOT_ALLOWED),
    ("Error 1862 (HY000): Your password has expired. To log in you must change it using a client that supports "
     "expired passwords.", Refusal.PASSWORD_EXPIRED),
    ("(1820, 'You must reset your password using ALTER USER statement before executing this statement.')",
     Refusal.PASSWORD_EXPIRED),
], ids=["1044 pymysql", "1044 go", "1044 pdo", "1045", "1698", "1049", "1040", "1226", "1129", "1130", "1862",
        "1820"])
def test_each_mysql_refusal_reads_as_its_own_kind(text, kind):
    assert refusal_of(text) == kind


def _env(e: Evidence, old: tuple, new: tuple) -> Evidence:
    """NEW took all traffic 8 minutes ago with plain env `new`, OLD (`old`) served cleanly before it."""
    return (e.revision(OLD, -300, sql=(SQL,), plain_env=old).revision(NEW, -8, sql=(SQL,), plain_env=new)
            .traffic(**{NEW: 100}).requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2).requests(NEW, -8, 5, 14)
            .requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.5))


HOST = ("DB_HOST", "10.40.0.7")
CASES = {
    # The deploy asks for another database, which the account was never granted: the revision before asks for
    # the one it holds a grant on, in itself.
    "a deploy changed DB_NAME, 1044 for the new name: rolled back": dict(
        build=lambda e: quiet(_env(e, (HOST, ("DB_NAME", "orders")), (HOST, ("DB_NAME", "orders_v2"))))
        .log(-6, GO_1044.format(db="orders_v2"), NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # A statement's 1044 (a migration's USE or SHOW TABLES FROM another database): at connect 1044 can name only
    # the database asked for, so a line naming one neither revision asks for is not tied to the DB_NAME change.
    # Escalated, deploy and database competing (before: rolled back on DB_NAME's change alone).
    "a deploy changed DB_NAME, 1044 for another database: escalated, deploy and database competing": dict(
        build=lambda e: quiet(_env(e, (HOST, ("DB_NAME", "orders")), (HOST, ("DB_NAME", "orders_v2"))))
        .log(-6, GO_1044.format(db="analytics"), NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "a deploy changed DB_NAME, pymysql's 1044 for the old name: escalated, deploy and database competing": dict(
        build=lambda e: quiet(_env(e, (HOST, ("DB_NAME", "orders")), (HOST, ("DB_NAME", "orders_v2"))))
        .log(-6, PYMYSQL_1044.format(db="orders"), NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    # A rename in case only: the server compares the name as sent (lower_case_table_names=0, MySQL's default on
    # Linux, MySQL Reference Manual "Identifier Case Sensitivity"), and the line gives the name the deploy set.
    "a deploy changed DB_NAME's case, 1044 for the new name: rolled back": dict(
        build=lambda e: quiet(_env(e, (HOST, ("DB_NAME", "orders")), (HOST, ("DB_NAME", "Orders"))))
        .log(-6, GO_1044.format(db="Orders"), NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # The password was accepted: a deploy that changed only it did not bring a missing grant (before: read as the
    # password refused, and rolled back on the password's change).
    "a deploy changed only the password, 1044: escalated, deploy and database competing": dict(
        build=lambda e: quiet(_env(e, (HOST, ("DB_PASSWORD", "k7-a")), (HOST, ("DB_PASSWORD", "k7-b"))))
        .log(-6, GO_1044.format(db="orders"), NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH, not_said="secret version"),
    # No deploy: a grant revoked on the server. Escalated, the grants named, no secret rotation.
    "no deploy, a grant revoked: escalated naming the grants": dict(
        build=lambda e: quiet(serving(e)).log(-5, PYMYSQL_1044.format(db="orders"), OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="show grants", not_said="secret version"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_database_access_denied_is_a_grant_or_a_name_never_a_password(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
    words = result.summary + " || " + result.recommendation

    assert result.signature is case["expect"], words
    assert chosen.action == case.get("action"), chosen.reason
    if "competing" in case:
        assert set(result.competing) == case["competing"], words
    if "names" in case:
        assert case["names"] in words.lower(), words
    if "not_said" in case:
        assert case["not_said"] not in words, words
    assert "password authentication failed" not in words, words


# MySQL's 1049 (ER_BAD_DB_ERROR, "Unknown database '%s'") is tied to a deploy by the name it gives, as 1044 is:
# at connect it names the database asked for, at a statement (a migration's USE analytics) any other. A line
# naming a database the new revision asks for and the one before did not is the deploy's; one naming another
# database (or the old name) is escalated, deploy and database competing (before: rolled back on DB_NAME's change).
UNKNOWN_1049 = {
    "Go's 1049 for another database": "Error 1049 (42000): Unknown database 'analytics'",
    "pymysql's 1049 for another database": "pymysql.err.OperationalError: (1049, \"Unknown database 'analytics'\")",
    "PDO's 1049 for another database":
        "PDOException: SQLSTATE[42000]: Syntax error or access violation: 1049 Unknown database 'analytics'",
    "Go's 1049 for the old name": "Error 1049 (42000): Unknown database 'orders'",
    "Prisma's P1003 at MySQL's port for another database": "PrismaClientInitializationError: Database `analytics` "
                                                           "does not exist on the database server at `10.40.0.7:3306`.",
}


@pytest.mark.parametrize("line", UNKNOWN_1049.values(), ids=UNKNOWN_1049.keys())
def test_1049_for_a_database_the_deploy_did_not_set_is_not_rolled_back(line):
    bundle = quiet(_env(Evidence(), (HOST, ("DB_NAME", "orders")), (HOST, ("DB_NAME", "orders_v2")))) \
        .log(-6, line, NEW, count=20).bundle()
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)

    assert chosen.action != "rollback_traffic", chosen.reason
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == BOTH, result.summary


@pytest.mark.parametrize("line", [
    "Error 1049 (42000): Unknown database 'orders_v2'",
    "pymysql.err.OperationalError: (1049, \"Unknown database 'orders_v2'\")",
    "PDOException: SQLSTATE[HY000] [1049] Unknown database 'orders_v2'",
    "PrismaClientInitializationError: Database `orders_v2` does not exist on the database server at `10.40.0.7:3306`.",
])
def test_1049_for_the_database_the_deploy_set_is_rolled_back(line):
    bundle = quiet(_env(Evidence(), (HOST, ("DB_NAME", "orders")), (HOST, ("DB_NAME", "orders_v2")))) \
        .log(-6, line, NEW, count=20).bundle()
    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).action == "rollback_traffic"
