"""A wait for the application's own connection pool (log_signals.POOL_WAIT_TEXTS) is neither an error
of reaching the database nor a refusal: alone it never makes database_unreachable match or compete.
It says requests wait on the database path, which the evidence and the advice name. Beside a real
error of reaching the database or a refusal, those decide as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import POOL_WAIT_TEXTS, is_pooler_wait
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, PSYCOPG, deployed, long_running, quiet_connector

S = DiagnosisSettings()
TOO_MANY = "psycopg2.OperationalError: FATAL: sorry, too many clients already"


def _on_clean_path(e, *texts, revision=OLD):
    e = quiet_connector(long_running(e).requests(OLD, -15, 5, 15, code="500").latency(OLD, -15, 5, 30.0))
    for text in texts:
        e = e.log(-3, text, revision, count=8)
    return e


# The application's own pools. PgBouncer's query_wait_timeout is a wait in a pooler every revision
# shares: database_unreachable names it as a cause not ruled out (below).
_OWN = [t for t in POOL_WAIT_TEXTS if not is_pooler_wait(t.example)]


@pytest.mark.parametrize("text", [t.example for t in _OWN], ids=[t.stack for t in _OWN])
def test_a_pool_wait_alone_is_not_the_database_unreachable(text):
    result = diagnose(_on_clean_path(Evidence(), text).bundle(), S)

    assert result.signature is not Signature.DATABASE_UNREACHABLE, result.summary
    assert "database_unreachable" not in result.competing, result.summary
    assert "waits for its own connection pool" in result.summary, result.summary
    assert "the application's connection pool" in result.recommendation, result.recommendation


@pytest.mark.parametrize("text", [
    "org.postgresql.util.PSQLException: FATAL: query_wait_timeout",
    "error: query_wait_timeout",
    "psycopg2.OperationalError: query_wait_timeout\nserver closed the connection unexpectedly",
])
def test_pgbouncers_wait_alone_names_the_pooler_and_acts_on_nothing(text):
    """PgBouncer's query_wait_timeout: no cause is shown (the pooler may be a sidecar dialing through
    the connector, or a VM past it), so nothing matches; the pooler is named as not ruled out, and
    the advice sends a person to it, not to the application's own pool."""
    result = diagnose(_on_clean_path(Evidence(), text).bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "query_wait_timeout" in result.summary, result.summary
    assert "show pools" in result.recommendation.lower(), result.recommendation
    assert "the application's connection pool" not in result.recommendation, result.recommendation


# (texts in the logs) -> database_unreachable matched?
ROWS = [
    ((POOL_WAIT_TEXTS[0].example,), False),
    ((POOL_WAIT_TEXTS[1].example, POOL_WAIT_TEXTS[4].example), False),
    ((POOL_WAIT_TEXTS[0].example, PSYCOPG), True),       # a real dial error beside the waits decides
    ((POOL_WAIT_TEXTS[1].example, TOO_MANY), True),      # so does the database's refusal
    ((PSYCOPG,), True),
]


@pytest.mark.parametrize("texts, unreachable", ROWS, ids=[" + ".join(t[:24] for t in r[0]) for r in ROWS])
def test_database_unreachable_counts_errors_of_reaching_it_not_pool_waits(texts, unreachable):
    result = diagnose(_on_clean_path(Evidence(), *texts).bundle(), S)

    assert (result.signature is Signature.DATABASE_UNREACHABLE) is unreachable, result.summary


def test_pool_waits_of_a_new_revision_do_not_compete_with_its_deploy():
    """A deploy whose revision runs dry of pool connections (a smaller pool, more concurrency): the
    revision's own failure, not the database's. Before, the waits made database_unreachable compete."""
    e = quiet_connector(deployed(Evidence()).log(-4, POOL_WAIT_TEXTS[0].example, NEW, count=20))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary


@pytest.mark.parametrize("texts, scaled", [((POOL_WAIT_TEXTS[0].example,), False), ((PSYCOPG,), True)],
                         ids=["pool waits", "dial errors"])
def test_pool_waits_do_not_show_503s_failing_to_cross_a_connector_at_its_count(texts, scaled):
    """A connector at its max instances with low CPU and throughput, and fast 503s: only errors of
    reaching the database show a request failing to cross it. Pool waits do not (the app's own
    pool), so the instance count alone stays a doubt, not a reason to scale."""
    e = (long_running(Evidence()).requests(OLD, -15, 5, 20, code="503").latency(OLD, -15, 5, 0.3)
         .connector(max_instances=3).connector_metric("instances", -20, 5, 3).connector_metric("cpu", -20, 5, 0.3)
         .connector_metric("bytes", -20, 5, 2e6).sql_up(-20, 5, 1))
    for text in texts:
        e = e.log(-3, text, OLD, count=8)

    result = diagnose(e.bundle(), S)

    assert (result.signature is Signature.CONNECTOR_SATURATION) is scaled, result.summary
