"""Two MySQL drivers' words the connector rule misread. libmysqlclient's "Lost connection to MySQL server at
'reading initial communication packet', system error: 110" is a connect whose TCP dial was answered and whose
server greeting never came within the connect timeout (sql-common/client.c, CR_SERVER_LOST_EXTENDED): not a
connection found closed, not a dial that got no answer. Beside a busy shared connector with no failed dial
it is no basis for a scale (a server slow to greet says it on a quiet path); with plain dials timing out
beside it the connector's case is as before, and the database's own signs are read first. mysqljs's "Ping
inactivity timeout" (Connection.ping's sequence timer, lib/protocol/Protocol.js) is a read on an open
connection that timed out, unread before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import (closed_connection, dial_timed_out, greeting_timed_out, lost_mid_query,
                                          read_timed_out)
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_lost_mid_query import MYSQL_DIAL
from tests.unit.test_connector_stale_reads import busy_connector
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
MYSQLCLIENT_GREETING = ("MySQLdb.OperationalError: (2013, \"Lost connection to MySQL server at 'reading initial "
                        "communication packet', system error: 110\")")
SQLALCHEMY_GREETING = ("sqlalchemy.exc.OperationalError: (MySQLdb.OperationalError) (2013, \"Lost connection to MySQL "
                       "server at 'reading initial communication packet', system error: 110\")\n(Background on this "
                       "error at: https://sqlalche.me/e/20/e3q8)")
CEXT_HANDSHAKE = ("mysql.connector.errors.OperationalError: 2013 (HY000): Lost connection to MySQL server at "
                  "'handshake: reading initial communication packet', system error: 110")
WAITING = ("Mysql2::Error::ConnectionError: Lost connection to MySQL server at 'waiting for initial communication "
           "packet', system error: 110")
# errno 0: the connect closed before any greeting, by the server or by a proxy in front whose own dial failed:
# no connection found closed (log_signals.greeting_lost; tests/unit/test_greetings_lost.py)
GREETING_CLOSED = ("MySQLdb.OperationalError: (2013, \"Lost connection to MySQL server at 'reading initial "
                   "communication packet', system error: 0\")")
PING = ("Error: Ping inactivity timeout\n    at Ping.<anonymous> (/app/node_modules/mysql/lib/protocol/Protocol.js:"
        "160:17)\n    at Ping.emit (node:events:519:28)")

# text -> (a greeting that never came, a read that timed out, a connection found closed, a bare 2013, a dial)
TEXTS = {
    MYSQLCLIENT_GREETING: (True, False, False, False, False), SQLALCHEMY_GREETING: (True, False, False, False, False),
    CEXT_HANDSHAKE: (True, False, False, False, False), WAITING: (True, False, False, False, False),
    GREETING_CLOSED: (False, False, False, False, False), PING: (False, True, False, False, False),
    "Error: Ping inactivity timeout": (False, True, False, False, False),
    "Error: Handshake inactivity timeout": (False, False, False, False, True),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:70] for t in TEXTS])
def test_what_the_words_say(text, expected):
    assert (greeting_timed_out(text), read_timed_out(text), closed_connection(text), lost_mid_query(text),
            dial_timed_out(text)) == expected


def connect_timeouts(errors: str = "", dials: str = "", wait: float = 10.2, sql_cpu: float = 0.3) -> Evidence:
    """One revision for hours; from -6m a fifth of its requests 503 after `wait` s (the driver's connect
    timeout); another service's job takes the shared connector to its max with CPU 90% from -8m; Cloud SQL
    up at `sql_cpu`; 20 lines of `errors` from -5m and 20 of `dials` from -4m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, wait)
         .sql_up(-90, 5, 1).sql_cpu(-90, 5, sql_cpu).connector(max_instances=3)
         .connector_metric("instances", -90, -8, 2).connector_metric("instances", -8, 5, 3)
         .connector_metric("cpu", -90, -8, 0.2).connector_metric("cpu", -8, 5, 0.9)
         .connector_metric("bytes", -90, 5, 4e6))
    if errors:
        e = e.log(-5, errors, OLD, count=20)
    return e.log(-4, dials, OLD, count=20) if dials else e


# situation -> the verdict, the action, words in the summary
CASES = {
    "mysqlclient's greeting timeouts at 10 s, busy shared connector, no failed dial: not scaled": (
        connect_timeouts(MYSQLCLIENT_GREETING), Signature.INCONCLUSIVE, None, "no server greeting"),
    "the same under SQLAlchemy: not scaled": (
        connect_timeouts(SQLALCHEMY_GREETING), Signature.INCONCLUSIVE, None, "no server greeting"),
    "mysql-connector-python's C extension, MySQL 8's stage: not scaled": (
        connect_timeouts(CEXT_HANDSHAKE), Signature.INCONCLUSIVE, None, "no server greeting"),
    "the same beside requests hanging at 31 s: not scaled, not called a close": (
        connect_timeouts(MYSQLCLIENT_GREETING, wait=31.0), Signature.INCONCLUSIVE, None, "no server greeting"),
    "greeting timeouts and plain dials timing out beside them: the connector": (
        connect_timeouts(MYSQLCLIENT_GREETING, dials=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "greeting timeouts with the database's CPU saturated: never a scale": (
        connect_timeouts(MYSQLCLIENT_GREETING, sql_cpu=0.97), None, None, ""),
    "plain dials alone (control): the connector": (
        connect_timeouts(dials=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
}


@pytest.mark.parametrize("bundle, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_greeting_that_never_came_is_no_basis_for_a_scale(bundle, signature, action, words):
    bundle = bundle.bundle()

    result = diagnose(bundle, S)

    if signature is not None:
        assert result.signature is signature, result.summary
    else:
        assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary


PING_CASES = {
    "mysqljs's ping timeouts beside hangs, busy shared connector: a read, not scaled": (
        dict(reads=PING), Signature.INCONCLUSIVE, None, "reads on established connections"),
    "ping timeouts and plain dials timing out beside them: the connector": (
        dict(reads=PING, errors=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
}


@pytest.mark.parametrize("shape, signature, action, words", PING_CASES.values(), ids=PING_CASES.keys())
def test_a_ping_that_timed_out_is_a_read(shape, signature, action, words):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary
