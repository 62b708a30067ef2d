"""The MySQL drivers' words for a connection lost, read by what raised them. mysql-connector-python's 2055
("Lost connection to MySQL server at 'H:P', system error: timed out") comes only from the send or recv of a
socket whose connect had succeeded (its connect fails as 2003): a read that timed out on a connection the
server's host had answered, a statement or a handshake, never a dial that got no answer. Node's "Connection
lost: The server closed the connection." (mysqljs and mysql2, PROTOCOL_CONNECTION_LOST) and PyMySQL's 2013
naming errno 104 say the peer closed or reset an open connection: the server's kill, wait_timeout, a
failover or a proxy's restart say the same. Beside requests hanging at a client timeout and a connector busy
with another service's traffic, none of them is a basis for a scale: the connector competes and is
escalated, unless new dials fail beside them (the path's own sign), when its case is as before. mysqljs's
"Handshake inactivity timeout" is a connect the server sent no packet to in time: a dial."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import closed_connection, dial_timed_out, lost_mid_query, read_timed_out
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_lost_mid_query import MYSQL_DIAL, NODE_LOST, PYMYSQL_104
from tests.unit.test_connector_stale_reads import busy_connector

S = DiagnosisSettings()
CONNECTOR_2055 = ("mysql.connector.errors.OperationalError: 2055: Lost connection to MySQL server at '10.20.0.5:3306', "
                  "system error: timed out")
SQLALCHEMY_2055 = ("sqlalchemy.exc.OperationalError: (mysql.connector.errors.OperationalError) 2055: Lost connection to "
                   "MySQL server at '10.20.0.5:3306', system error: timed out\n[SQL: SELECT orders.id FROM orders]")
CONNECTOR_2055_110 = ("mysql.connector.errors.OperationalError: 2055: Lost connection to MySQL server at "
                      "'orders-db.internal:3306', system error: 110 Connection timed out")
CONNECTOR_2055_104 = ("mysql.connector.errors.OperationalError: 2055: Lost connection to MySQL server at "
                      "'10.20.0.5:3306', system error: 104 Connection reset by peer")
CONNECTOR_DIAL = ("mysql.connector.errors.InterfaceError: 2003: Can't connect to MySQL server on '10.20.0.5:3306' "
                  "(timed out)")
MYSQL2_LOST = ("Error: Connection lost: The server closed the connection.\n    at Socket.<anonymous> "
               "(/app/node_modules/mysql2/lib/base/connection.js:123:31)")
MYSQLJS_LOST = ("Error: Connection lost: The server closed the connection.\n    at Protocol.end "
                "(/app/node_modules/mysql/lib/protocol/Protocol.js:112:13)")
# mysqljs's connect that got no packet from the server within its Handshake timeout: a dial
HANDSHAKE = ("Error: Handshake inactivity timeout\n    at Handshake.<anonymous> (/app/node_modules/mysql/lib/protocol/"
             "Protocol.js:160:17)\n    at Handshake.emit (node:events:519:28)")
# libmysqlclient's 2013 of the same form names a stage, not an address: a connect whose greeting never came,
# neither a close nor a dial (log_signals.greeting_timed_out; tests/unit/test_connector_greeting_ping.py)
LIBMYSQL_HANDSHAKE = ("OperationalError: (2013, \"Lost connection to MySQL server at 'reading initial communication "
                      "packet', system error: 110\")")

# text -> (a read that timed out, a connection found closed, a 2013 that names no reason, a dial that timed out)
TEXTS = {
    CONNECTOR_2055: (True, False, False, False), SQLALCHEMY_2055: (True, False, False, False),
    CONNECTOR_2055_110: (True, False, False, False), CONNECTOR_2055_104: (False, True, False, False),
    CONNECTOR_DIAL: (False, False, False, True), MYSQL2_LOST: (False, True, False, False),
    MYSQLJS_LOST: (False, True, False, False), NODE_LOST: (False, True, False, False),
    PYMYSQL_104: (False, True, False, False), LIBMYSQL_HANDSHAKE: (False, False, False, False),
    HANDSHAKE: (False, False, False, True), "Error: Handshake inactivity timeout": (False, False, False, True),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:70] for t in TEXTS])
def test_which_lost_connections_say_what(text, expected):
    assert (read_timed_out(text), closed_connection(text), lost_mid_query(text), dial_timed_out(text)) == expected


# situation beside hangs at a 30 s client timeout and a busy shared connector -> the verdict, the action, words
CASES = {
    "mysql-connector-python's 2055 socket timeout: a read, not scaled": (
        dict(reads=CONNECTOR_2055), Signature.INCONCLUSIVE, None, "reads on established connections"),
    "the same under SQLAlchemy: not scaled": (
        dict(reads=SQLALCHEMY_2055), Signature.INCONCLUSIVE, None, "reads on established connections"),
    "its 2055 with the kernel's ETIMEDOUT: not scaled": (
        dict(reads=CONNECTOR_2055_110), Signature.INCONCLUSIVE, None, "reads on established connections"),
    "bare 2013s beside 2055 timeouts: neither a failed dial, not scaled": (
        dict(reads="MySQLdb.OperationalError: (2013, 'Lost connection to MySQL server during query')", count=20,
             errors=CONNECTOR_2055), Signature.INCONCLUSIVE, None, "established connections"),
    "its 2055 reset: not scaled": (
        dict(reads=CONNECTOR_2055_104), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "Node's Connection lost (mysql2): not scaled": (
        dict(reads=MYSQL2_LOST), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "Node's Connection lost (mysqljs): not scaled": (
        dict(reads=MYSQLJS_LOST), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "PyMySQL's errno-104 reset: not scaled": (
        dict(reads=PYMYSQL_104), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "2055 timeouts and new dials timed out too: the connector": (
        dict(reads=CONNECTOR_2055, errors=CONNECTOR_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "Node's Connection lost and new dials timed out too: the connector": (
        dict(reads=NODE_LOST, errors=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "PyMySQL's resets and new dials timed out too: the connector": (
        dict(reads=PYMYSQL_104, errors=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "2055 timeouts and mysqljs's handshake timeouts beside them: the connector": (
        dict(reads=CONNECTOR_2055, errors=HANDSHAKE), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "three resets only: the connector (unchanged)": (
        dict(reads=PYMYSQL_104, count=3), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
}


@pytest.mark.parametrize("shape, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_lost_connection_beside_hangs_is_no_basis_for_a_scale(shape, signature, action, words):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary
