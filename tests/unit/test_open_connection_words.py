"""Each Java and Python driver's words for a connection that had been open and then failed, read the same way by
every rule that decides on them (log_signals.closed_connection, through database_signs.on_an_open_connection, the
connector's `_answered_at_once`, database_unreachable's saturated-connector reading and `_pool_kept_dead`).

MySQL Connector/J says a connection had received packets when it fails: "Communications link failure\\n\\nThe last
packet successfully received from the server was N milliseconds ago. The last packet sent successfully to the server
was M milliseconds ago." (mysql/mysql-connector-j LocalizedErrorMessages.properties, CommunicationsException.20 and
CommunicationsException.ServerPacketTimingInfo; ExceptionFactory.createLinkFailureMessageBasedOnHeuristics appends
the timing after the link failure). Only `_pool_kept_dead` read those words before: beside a busy connector they
were counted as failed dials and the connector scaled, as pgjdbc's "An I/O error occurred while sending to the
backend" and mysql-connector-python's "Lost connection to MySQL server during query" never were. A connect that
received nothing ("The driver has not received any packets from the server"), a TLS handshake that failed after the
greeting, a read that timed out and HikariCP's wait for a pooled connection ("Connection is not available, request
timed out after", HikariPool.createTimeoutException: a wait, whatever its cause says) are not read so."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import closed_connection, read_timed_out
from shared.diagnosis.rules.database_signs import on_an_open_connection
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_stale_reads import busy_connector

S = DiagnosisSettings()
LINK = "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"
RECEIVED = ("\n\nThe last packet successfully received from the server was 1,349,854 milliseconds ago. The last "
            "packet sent successfully to the server was 1,349,855 milliseconds ago.")
CONNECTOR_J = LINK + RECEIVED
CONNECTOR_J_FRAMES = (CONNECTOR_J + "\n\tat com.mysql.cj.jdbc.exceptions.SQLError.createCommunicationsException("
                      "SQLError.java:174)\nCaused by: java.io.EOFException: Can not read response from server. Expected "
                      "to read 4 bytes, read 0 bytes before connection was unexpectedly lost.")
SPRING = ("org.springframework.dao.RecoverableDataAccessException: PreparedStatementCallback; SQL [select * from "
          "orders]; Communications link failure" + RECEIVED)
# another locale's grouping of the same numbers (MessageFormat formats the Long with the JVM's locale)
GERMAN = LINK + RECEIVED.replace("1,349,85", "1.349.85")
# a connect that never received a packet: no open connection
NO_RECEIVE = (LINK + "\n\nThe last packet sent successfully to the server was 0 milliseconds ago. The driver has not "
              "received any packets from the server.")
# the greeting received, then the TLS handshake failed: a connect, not an open connection
HANDSHAKE = (LINK + "\n\nThe last packet successfully received from the server was 12 milliseconds ago. The last "
             "packet sent successfully to the server was 11 milliseconds ago.\nCaused by: javax.net.ssl."
             "SSLHandshakeException: Remote host terminated the handshake")
READ_TIMEOUT = CONNECTOR_J + "\nCaused by: java.net.SocketTimeoutException: Read timed out"
HIKARI = ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
          "after 30000ms.")
HIKARI_CAUSE = HIKARI + "\nCaused by: " + CONNECTOR_J
PGJDBC = "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend."
MYSQL_CONNECTOR_PYTHON = ("mysql.connector.errors.OperationalError: 2013 (HY000): Lost connection to MySQL server "
                          "during query")

# text -> (found closed, on an open connection, a read that timed out)
TEXTS = {
    CONNECTOR_J: (True, True, False), CONNECTOR_J_FRAMES: (True, True, False), SPRING: (True, True, False),
    GERMAN: (True, True, False), CONNECTOR_J.lower(): (True, True, False),
    NO_RECEIVE: (False, False, False), HANDSHAKE: (False, False, False), READ_TIMEOUT: (False, True, True),
    HIKARI: (False, False, False), HIKARI_CAUSE: (False, False, False),
    PGJDBC: (True, True, False), MYSQL_CONNECTOR_PYTHON: (True, True, False),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:80] for t in TEXTS])
def test_which_words_say_an_open_connection_failed(text, expected):
    assert (closed_connection(text), on_an_open_connection(text), read_timed_out(text)) == expected


# situation beside hangs at a 30 s client timeout and a busy shared connector -> the verdict, the action, words
CASES = {
    "Connector/J's link failure after packets received: not scaled": (
        dict(reads=CONNECTOR_J), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "the same with its EOF cause and frames: not scaled": (
        dict(reads=CONNECTOR_J_FRAMES), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "pgjdbc's I/O error (control): not scaled": (
        dict(reads=PGJDBC), Signature.INCONCLUSIVE, None, "found closed or reset by their peer"),
    "mysql-connector-python's lost connection (control): not scaled": (
        dict(reads=MYSQL_CONNECTOR_PYTHON), Signature.INCONCLUSIVE, None, "lost mid-query"),
    "Connector/J's connects that received nothing: the connector (unchanged)": (
        dict(reads=NO_RECEIVE), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
}


@pytest.mark.parametrize("shape, signature, action, words", CASES.values(), ids=CASES.keys())
def test_an_open_connection_that_failed_is_no_basis_for_a_scale(shape, signature, action, words):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary
