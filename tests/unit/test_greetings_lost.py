"""A MySQL connect lost before the server's greeting, whatever the socket said: libmysqlclient's 2013 at "reading
initial communication packet" (sql-common/client.c, CR_SERVER_LOST) with "system error: 0" (the peer closed), 104
(reset) or 110 (its timer). The accept the client saw may be a local proxy's (the Cloud SQL Auth Proxy, a connector
library's listener) whose own dial to the instance failed, which its clients read as "system error: 0" (google/
go-cloud issue #126, GoogleCloudPlatform/kubernetes-engine-samples issue #53): so it is not a connection found closed,
not a connection the path carried (it never vouches that new connections open), and not a dial that failed in words
of its own. Beside a busy connector it is a doubt that holds the scale back, never a scale on it alone.
Pure table: text -> (greeting_lost, closed_connection, on_an_open_connection, dial_timed_out); then verdicts."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import closed_connection, dial_timed_out, greeting_lost
from shared.diagnosis.rules.database_signs import on_an_open_connection
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_greeting_ping import connect_timeouts
from tests.unit.test_connector_lost_mid_query import MYSQL_DIAL
from tests.unit.test_connector_stale_reads import busy_connector

S = DiagnosisSettings()
CLOSED_0 = ("MySQLdb.OperationalError: (2013, \"Lost connection to MySQL server at 'reading initial communication "
            "packet', system error: 0\")")
CLOSED_0_CLI = ("ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', "
                "system error: 0")
PDO_0 = ("SQLSTATE[HY000] [2013] Lost connection to MySQL server at 'reading initial communication packet', system "
         "error: 0")
RESET_104 = ("Mysql2::Error::ConnectionError: Lost connection to MySQL server at 'handshake: reading initial "
             "communication packet', system error: 104")
TIMED_110 = ("MySQLdb.OperationalError: (2013, \"Lost connection to MySQL server at 'reading initial communication "
             "packet', system error: 110\")")
WAITING_110 = ("Warning: mysql_connect(): Lost connection to MySQL server at 'waiting for initial communication "
               "packet', system error: 110")

TEXTS = {
    CLOSED_0: (True, False, False, False), CLOSED_0_CLI: (True, False, False, False), PDO_0: (True, False, False, False),
    RESET_104: (True, False, False, False), TIMED_110: (True, False, False, False),
    WAITING_110: (True, False, False, False),
    # Controls: a connection lost under a statement, reset mid-query, is an open connection's.
    "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query ([Errno 104] Connection reset "
    "by peer)')": (False, True, True, False),
    "MySQLdb.OperationalError: (2013, 'Lost connection to MySQL server during query')": (False, True, True, False),
    # A dial that timed out in words of its own.
    MYSQL_DIAL: (False, False, False, True),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:80] for t in TEXTS])
def test_what_the_words_say(text, expected):
    assert (greeting_lost(text), closed_connection(text), on_an_open_connection(text), dial_timed_out(text)) == expected


# situation -> the verdict (None: anything but the connector), the action, words in the summary
CASES = {
    "connects closed before the greeting behind a proxy, busy shared connector, answered at once: not scaled": (
        connect_timeouts(CLOSED_0, wait=1.1), Signature.INCONCLUSIVE, None, "closed before the server's greeting"),
    "the same, the mysql client's words: not scaled": (
        connect_timeouts(CLOSED_0_CLI, wait=1.1), Signature.INCONCLUSIVE, None, "closed before the server's greeting"),
    "the same reset (104) beside requests hanging at 31 s: not scaled, not called a close of an open connection": (
        busy_connector(RESET_104), Signature.INCONCLUSIVE, None, "closed before the server's greeting"),
    "connects closed before the greeting and plain dials timing out beside them: the connector (control)": (
        connect_timeouts(CLOSED_0, dials=MYSQL_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
}


@pytest.mark.parametrize("evidence, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_connect_lost_before_the_greeting_is_a_doubt_never_a_scale_alone(evidence, signature, action, words):
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    if signature is not None:
        assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary
    assert "found closed" not in result.summary, result.summary
