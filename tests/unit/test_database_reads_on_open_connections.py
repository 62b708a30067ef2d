"""Reads on established connections that timed out, on a quiet path: not "cannot connect".

A read that times out (node-postgres's query_timeout, libpq's "could not receive data from server:
Connection timed out", Go's "read tcp A->B:5432: i/o timeout") waited on a connection the database had
accepted. While new connections open without a failed dial, the path carries them: such reads are a
pool whose idle flows were dropped (CPU only during requests, a NAT's or a firewall's idle timeout) or a
server slow to answer (a lock, a long query), not a database the application cannot reach, and not a
firewall rule that drops the connector's range. database_unreachable keeps them as a cause not ruled out
(a server that stops answering mid-statement reads the same), so the diagnosis is inconclusive and
escalated, never "cannot connect ... a firewall rule". Dial timeouts beside them still name the path."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_database_path_wording import OLD, PGX as PGX_DIAL, failing

S = DiagnosisSettings()
NODE_PG_READ = "Error: Query read timeout"
LIBPQ_READ = "psycopg2.OperationalError: could not receive data from server: Connection timed out"
PGX_READ = "read tcp 10.8.0.2:41822->10.40.0.5:5432: i/o timeout"
HIKARI_WAIT = ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed "
               "out after 30000ms.")


READS = {
    "node-postgres's query_timeout through an idle connector": dict(
        build=lambda e: failing(e).log(-6, NODE_PG_READ, OLD, count=30)),
    "libpq's read that the kernel timed out, through an idle connector": dict(
        build=lambda e: failing(e).log(-6, LIBPQ_READ, OLD, count=30)),
    "Go's read on an open connection, through an idle connector": dict(
        build=lambda e: failing(e).log(-6, PGX_READ, OLD, count=30)),
    "node-postgres's query_timeout with no VPC access on the path": dict(
        build=lambda e: failing(e, connector=False).log(-6, NODE_PG_READ, OLD, count=30)),
    "reads beside fewer failed dials than it takes to name the path": dict(
        build=lambda e: failing(e).log(-6, NODE_PG_READ, OLD, count=30).log(-5, PGX_DIAL, OLD, count=2)),
    # The same stale pool also finds some of its connections closed (the path's reset came at last, the server
    # ended an idle one) or lost mid-query: each was an open connection too, no failed dial (counted as
    # connector_saturation counts them, database_signs.no_failed_dial; before, they made "cannot connect").
    "node-postgres's read timeouts beside connections terminated unexpectedly": dict(
        build=lambda e: failing(e).log(-6, NODE_PG_READ, OLD, count=30)
        .log(-5, "Error: Connection terminated unexpectedly", OLD, count=10)),
    "libpq's read timeouts beside servers that closed the connection unexpectedly": dict(
        build=lambda e: failing(e).log(-6, LIBPQ_READ, OLD, count=30)
        .log(-5, "psycopg2.OperationalError: server closed the connection unexpectedly", OLD, count=10)),
    "Go's read timeouts beside reads reset by their peer": dict(
        build=lambda e: failing(e).log(-6, PGX_READ, OLD, count=30)
        .log(-5, "read tcp 10.8.0.2:41830->10.40.0.5:5432: read: connection reset by peer", OLD, count=10)),
    "PyMySQL's read timeouts beside connections lost mid-query": dict(
        build=lambda e: failing(e).log(-6, "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL "
                                            "server during query (timed out)')", OLD, count=30)
        .log(-5, "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query')", OLD,
             count=10)),
    # Waits for a pooled connection are no failed dial here (connector_saturation counts them as a wait on its
    # path): a pool whose connections all hang on reads makes requests wait for one.
    "libpq's read timeouts beside HikariCP's waits for a pooled connection": dict(
        build=lambda e: failing(e).log(-6, LIBPQ_READ, OLD, count=30).log(-5, HIKARI_WAIT, OLD, count=10)),
}


def diagnosed_without_action(case: dict, signature: Signature):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action is None
    return result


@pytest.mark.parametrize("case", READS.values(), ids=READS.keys())
def test_reads_that_timed_out_are_not_a_database_it_cannot_connect_to(case):
    result = diagnosed_without_action(case, Signature.INCONCLUSIVE)
    assert "cannot connect to its database" not in result.summary, result.summary
    assert "firewall rule" not in result.summary + " " + result.recommendation
    assert "established connections" in result.summary, result.summary


DIALS = {
    "failed dials beside the reads: the path past the connector is named": dict(
        build=lambda e: failing(e).log(-6, NODE_PG_READ, OLD, count=30).log(-5, PGX_DIAL, OLD, count=10)),
    "failed dials alone: the path past the connector is named": dict(
        build=lambda e: failing(e).log(-6, PGX_DIAL, OLD, count=30)),
    "failed dials beside reads and closed connections: the path past the connector is named": dict(
        build=lambda e: failing(e).log(-6, NODE_PG_READ, OLD, count=30)
        .log(-5, "Error: Connection terminated unexpectedly", OLD, count=10).log(-5, PGX_DIAL, OLD, count=10)),
}


@pytest.mark.parametrize("case", DIALS.values(), ids=DIALS.keys())
def test_failed_dials_still_name_the_path(case):
    result = diagnosed_without_action(case, Signature.DATABASE_UNREACHABLE)
    assert "between the connector and the database" in result.summary, result.summary
