"""A transient fault on one read of the collection's last round, through the real client libraries against the
stand-ins (collection.collect's `last` round: the failure lines alone, the candidates' startups, and a promoted
suspect's reads, `_TargetReads`, planned there because only the second round's request counts date the promotion).

The round's reads run at once and are each a gap when they fail (`_Read.never_raised`): the whole event again would
read every source again and spend Logging's entries.list quota on the startups' and failure lines' reads a second
time. A promoted suspect's reads are the round's reads like the others: a fault on one of them is its gap, named,
beside what the others answered, never the collection raised after the others spent their calls."""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from sandbox.scenario_logs import LogSpec, seed_logs
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.secretmanager import SecretManagerAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.remediation.planning import plan
from tests.integration.test_promoted_suspect_collection import BACKEND, COUNT
from tests.integration.world import FAST

pytestmark = pytest.mark.emulator

CONNECTIONS = "monitoring: cloudsql database/postgresql/num_backends"
# The service read's page full (a promotion's failures fill it): the candidates' startups are read in the last round.
FULL_PAGE = DiagnosisSettings(max_log_entries=10)


def _promoted_failing_loudly(standins, seed_scenario, anchor) -> None:
    """blue_green_promotion_fails, the promoted revision logging its work and its failures on stderr from its
    promotion on: the service read's page of FULL_PAGE is full before its window began, so the last round reads the
    failure lines alone and the candidates' startups beside the promoted suspect's database connections."""
    seed_scenario("blue_green_promotion_fails")
    lines = [{"at": {"from": "-9m", "to": "+2m", "every": "1m"}, "log": "stderr", "service": "backend",
              "revision": "backend-00002-grn", "count": 3, "severity": severity, "text": text}
             for severity, text in (("INFO", "GET /api/orders"), ("ERROR", "upstream answered 500"))]
    seed_logs(standins.logging, "demo-project", "us-central1", [LogSpec.model_validate(x) for x in lines], [], anchor)


def _collected(anchor, settings, last_delivery=False):
    readers = Readers(run=CloudRunAdapter(policy=FAST), monitoring=CloudMonitoringAdapter(policy=FAST),
                      logging=CloudLoggingAdapter(policy=FAST), vpcaccess=VpcAccessAdapter(policy=FAST),
                      secretmanager=SecretManagerAdapter())
    try:
        return collect(BACKEND, anchor, readers, settings, anchor + timedelta(minutes=2), alert=COUNT,
                       last_delivery=last_delivery)
    finally:
        readers.close()


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_promoted_suspects_read_that_never_answers_is_its_gap_beside_the_rounds_other_reads(
        standin_env, seed_scenario, anchor, code):
    """blue_green_promotion_fails: backend-00002 promoted, its failures filling the service read's page, so the last
    round reads the candidates' startups beside the database's connections (the promoted suspect's). The connections'
    read never answers (each of its attempts refused): before, the collection raised after the startups' read had
    answered, and the event's redelivery read every source again. Now it is a gap, the startups' read stands, and
    nothing is rolled back on a read missing."""
    _promoted_failing_loudly(standin_env, seed_scenario, anchor)
    whole = _collected(anchor, FULL_PAGE)
    assert whole.sql_connections is not None and whole.target_startup is not None      # the round as planned
    assert whole.failure_logs is not None and whole.gaps == ()
    series_reads = standin_env.monitoring.count("ListTimeSeries")
    logging_reads = standin_env.logging.count("ListLogEntries")
    standin_env.monitoring.faults.fail_next(FAST.attempts, code, method="ListTimeSeries", after=series_reads - 1)

    bundle = _collected(anchor, FULL_PAGE)

    assert bundle.sql_connections is None
    [gap] = [g for g in bundle.gaps if g.startswith(CONNECTIONS)]
    assert code.name in gap, gap
    assert bundle.target_startup is not None and bundle.target_startup.result is not None   # answered, kept
    assert bundle.failure_logs == whole.failure_logs
    assert bundle.api_calls == whole.api_calls
    # One read of each search, as in the whole collection: none made again.
    assert standin_env.logging.count("ListLogEntries") == 2 * logging_reads
    assert diagnose(bundle, FULL_PAGE).signature is not None


def test_at_the_last_delivery_the_promoted_suspects_unanswered_read_holds_the_diagnosis(
        standin_env, seed_scenario, anchor):
    """On the alert's last delivery the same fault is a read that never answered (collection.unanswered), counted
    with the reads that did not finish: the diagnosis is escalated with what was read, nothing rolled back."""
    _promoted_failing_loudly(standin_env, seed_scenario, anchor)
    _collected(anchor, FULL_PAGE)
    series_reads = standin_env.monitoring.count("ListTimeSeries")
    standin_env.monitoring.faults.fail_next(FAST.attempts, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries",
                                            after=series_reads - 1)

    bundle = _collected(anchor, FULL_PAGE, last_delivery=True)

    [gap] = [g for g in bundle.gaps if g.startswith(CONNECTIONS)]
    assert gap in bundle.incomplete_reads, bundle.gaps
    result = diagnose(bundle, FULL_PAGE)
    assert plan(result, bundle, FULL_PAGE).action is None, result.summary
    assert CONNECTIONS in result.summary, result.summary
