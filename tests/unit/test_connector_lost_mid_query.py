"""A MySQL client's 2013 (CR_SERVER_LOST) that names no reason, "Lost connection to MySQL server during
query" (mysqlclient/MySQLdb, mysql-connector-python's "2013 (HY000): ..."), is what libmysqlclient says when
its own read timeout ends a statement that waited on a lock or ran long, as well as when a path dropped the
flow. Beside requests hanging at a client timeout and a connector busy with another service's traffic, the
words alone are no basis for a scale: the connector competes and is escalated, unless new dials fail beside
them (the path's own sign), when its case is as before. PyMySQL's 2013 that names the kernel's ETIMEDOUT
("[Errno 110] Connection timed out", "[Errno 60] Operation timed out") is a read that timed out, as its
"(timed out)" is; its "[Errno 104] Connection reset by peer" stays a connection found closed."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import closed_connection, lost_mid_query, read_timed_out
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_stale_reads import PYMYSQL, busy_connector

S = DiagnosisSettings()
MYSQLCLIENT = "MySQLdb.OperationalError: (2013, 'Lost connection to MySQL server during query')"
SQLALCHEMY_MYSQLCLIENT = ("sqlalchemy.exc.OperationalError: (MySQLdb.OperationalError) (2013, 'Lost connection to MySQL "
                          "server during query')\n[SQL: SELECT products.id FROM products WHERE products.id = %s]")
CONNECTOR_PYTHON = ("mysql.connector.errors.OperationalError: 2013 (HY000): Lost connection to MySQL server during "
                    "query")
PYMYSQL_BARE = "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query')"
PYMYSQL_110 = ("pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query ([Errno 110] "
               "Connection timed out)')")
AIOMYSQL_60 = ("pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query ([Errno 60] "
               "Operation timed out)')")
PYMYSQL_104 = ("pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query ([Errno 104] "
               "Connection reset by peer)')")
MYSQL_DIAL = "MySQLdb.OperationalError: (2003, \"Can't connect to MySQL server on '10.20.0.5:3306' (110)\")"
NODE_LOST = "Error: Connection lost: The server closed the connection."

# text -> (a read that timed out, a connection found closed, a 2013 that names no reason)
TEXTS = {
    MYSQLCLIENT: (False, True, True), SQLALCHEMY_MYSQLCLIENT: (False, True, True),
    CONNECTOR_PYTHON: (False, True, True), PYMYSQL_BARE: (False, True, True),
    PYMYSQL: (True, False, False), PYMYSQL_110: (True, False, False), AIOMYSQL_60: (True, False, False),
    PYMYSQL_104: (False, True, False), MYSQL_DIAL: (False, False, False), NODE_LOST: (False, True, False),
    # a 2013 at the handshake is a connect, not a statement (libmysqlclient's CR_SERVER_LOST_EXTENDED), and not a
    # connection found closed either: the accept may be a proxy's whose own dial failed (log_signals.greeting_lost)
    "OperationalError: (2013, \"Lost connection to MySQL server at 'reading initial communication packet', system "
    "error: 104\")": (False, False, False),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:70] for t in TEXTS])
def test_which_mysql_lost_connections_say_what(text, expected):
    assert (read_timed_out(text), closed_connection(text), lost_mid_query(text)) == expected


# situation beside hangs at a 30 s client timeout and a busy shared connector -> the verdict, the action
CASES = {
    "mysqlclient's bare 2013 (its read_timeout or a dropped flow): not scaled": (
        dict(reads=MYSQLCLIENT), Signature.INCONCLUSIVE, None, "lost mid-query"),
    "the same under SQLAlchemy: not scaled": (
        dict(reads=SQLALCHEMY_MYSQLCLIENT), Signature.INCONCLUSIVE, None, "lost mid-query"),
    "mysql-connector-python's bare 2013: not scaled": (
        dict(reads=CONNECTOR_PYTHON), Signature.INCONCLUSIVE, None, "lost mid-query"),
    "PyMySQL's 2013 with the kernel's ETIMEDOUT: a read that timed out, not scaled": (
        dict(reads=PYMYSQL_110), Signature.INCONCLUSIVE, None, "reads on established connections"),
    "aiomysql's 2013 with macOS's ETIMEDOUT: the same": (
        dict(reads=AIOMYSQL_60), Signature.INCONCLUSIVE, None, "reads on established connections"),
    "bare 2013s and new dials timed out too: the connector": (
        dict(reads=MYSQLCLIENT, errors=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "three bare 2013s only: the connector (unchanged)": (
        dict(reads=MYSQLCLIENT, count=3), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
}


@pytest.mark.parametrize("shape, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_bare_2013_at_a_client_timeout_is_no_basis_for_a_scale(shape, signature, action, words):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary
