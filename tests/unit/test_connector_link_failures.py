"""MySQL Connector/J's "Communications link failure" with no cause said (no "connect timed out", no "Connection
refused", no "The last packet sent successfully ... milliseconds ago", no "Caused by:") is said for any end of a
connection: a server restart or failover, wait_timeout or an idle timeout closing a pooled connection, a refused
dial. Alone beside a busy connector it was taken for the connector's waits and the connector scaled; now it is not
enough (connector_saturation._link_failures_alone): the connector competes, a person decides. A hang (p99 at the
hang bar) or dial timeouts beside it say the path is slow, and the connector is scaled as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import bare_link_failure
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD = "backend-00001-abc"
BARE = "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"
FRAMES = (BARE + "\n\tat com.mysql.cj.jdbc.exceptions.SQLError.createCommunicationsException(SQLError.java:174)\n"
          "\tat com.mysql.cj.jdbc.ConnectionImpl.createNewIO(ConnectionImpl.java:828)")
HIBERNATE = ("org.hibernate.exception.JDBCConnectionException: could not prepare statement; nested exception: "
             "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure")
SPRING = ("org.springframework.dao.DataAccessResourceFailureException: Failed to obtain JDBC Connection; nested "
          "exception is java.sql.SQLNonTransientConnectionException: Communications link failure")
CONNECT_TIMEOUT = (BARE + "\n\nThe last packet sent successfully to the server was 0 milliseconds ago. The driver has "
                   "not received any packets from the server.\nCaused by: java.net.SocketTimeoutException: connect "
                   "timed out")
LAST_PACKET = BARE + "\n\nThe last packet sent successfully to the server was 10,005 milliseconds ago."
GO_DIAL = "failed to connect to `host=10.20.0.5 user=app database=shop`: dial tcp 10.20.0.5:5432: i/o timeout"


def busy_connector(p99: float, link: str, links: int = 20, dials: int = 0) -> Evidence:
    """One revision for hours; from -6m a fifth of its requests 503 with the p99 at `p99` s; the shared connector
    at its max with CPU 90% from -8m; Cloud SQL up; `links` lines of `link` and `dials` dial timeouts from -5m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, p99)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
         .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
         .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6).log(-5, link, OLD, count=links))
    return e.log(-4, GO_DIAL, OLD, count=dials) if dials else e


# situation -> whether the connector is scaled
CASES = {
    "bare link failures, 503s at p99 0.3 s: not scaled": (dict(p99=0.3, link=BARE), False),
    "bare link failures, p99 10 s: not scaled": (dict(p99=10.0, link=BARE), False),
    "bare, its frames only: not scaled": (dict(p99=2.0, link=FRAMES), False),
    "Hibernate's wrapper over a bare one: not scaled": (dict(p99=2.0, link=HIBERNATE), False),
    "bare, with three dial timeouts (fewer than the bar): not scaled": (dict(p99=2.0, link=BARE, dials=3), False),
    "bare, with the requests hanging at 31 s: scaled": (dict(p99=31.0, link=BARE), True),
    "bare, with twenty dial timeouts: scaled": (dict(p99=2.0, link=BARE, dials=20), True),
    "a connect that timed out: scaled (unchanged)": (dict(p99=2.0, link=CONNECT_TIMEOUT), True),
    "the last packet's timing said: scaled (unchanged)": (dict(p99=2.0, link=LAST_PACKET), True),
    # A wrapper or a logger that changes the driver's case leaves its words the driver's (as every database
    # needle is read, without case): counted as other unreached errors, a lower-cased bare one scaled.
    "a bare one a logger lower-cased: not scaled": (dict(p99=0.3, link=BARE.lower()), False),
    "a bare one a wrapper upper-cased: not scaled": (dict(p99=2.0, link=BARE.upper()), False),
    "Hibernate's wrapper, upper-cased: not scaled": (dict(p99=2.0, link=HIBERNATE.upper()), False),
    "an upper-cased connect that timed out: scaled": (dict(p99=2.0, link=CONNECT_TIMEOUT.upper()), True),
}


@pytest.mark.parametrize("shape, scaled", CASES.values(), ids=CASES.keys())
def test_a_link_failure_that_names_no_cause_is_not_enough_to_scale_the_connector(shape, scaled):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    action = plan(result, bundle, S).action
    if scaled:
        assert result.signature is Signature.CONNECTOR_SATURATION and action == "scale_connector", result.summary
        return
    assert result.signature is not Signature.CONNECTOR_SATURATION and action is None, result.summary
    assert "'Communications link failure' with no cause said" in result.summary, result.summary


# text -> whether it is Connector/J's link failure with no cause said
TEXTS = {BARE: True, FRAMES: True, HIBERNATE: True, SPRING: True, CONNECT_TIMEOUT: False, LAST_PACKET: False,
         BARE + "\nCaused by: java.net.ConnectException: Connection refused": False,
         BARE + "\n\nThe last packet successfully received from the server was 1,349,854 milliseconds ago.": False,
         GO_DIAL: False, "psycopg2.OperationalError: server closed the connection unexpectedly": False,
         # the driver's words and their causes, in another case: read alike
         BARE.lower(): True, BARE.upper(): True, SPRING.upper(): True, HIBERNATE.lower(): True,
         CONNECT_TIMEOUT.upper(): False, LAST_PACKET.lower(): False,
         (BARE + "\nCaused by: java.net.ConnectException: Connection refused").upper(): False}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:70] for t in TEXTS])
def test_which_texts_are_link_failures_with_no_cause(text, expected):
    assert bare_link_failure(text) is expected
