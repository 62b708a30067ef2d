"""A promoted suspect's rollback candidates read as a fresh deploy's are, through the real client libraries against
the stand-ins (collection.promoted_suspect, _TargetReads). A blue/green release deploys a revision with
`--no-traffic` hours before and promotes it in the deploy window: by its create_time there is no deploy, so its
candidates' secret versions, connector, startups and the database's connections were not read, and a rollback
went to a target whose pinned version had been disabled since it served. Dated from the request counts of the
second round, as diagnosis dates it (Facts.promotion), its candidates are read in the last round, beside the
candidates' startups: the same reads, the same number of calls, as the same release deployed fresh."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.secretmanager import SecretManagerAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.remediation.planning import plan

from sandbox.standins.run import TrafficSeed
from tests.integration.test_secretmanager_adapter import FIVE_XX
from tests.integration.test_secretmanager_adapter import _collected as collected

S = DiagnosisSettings()
ORDERS = "projects/ord-prod/locations/us-east1/services/orders"
BACKEND = "projects/demo-project/locations/us-central1/services/backend"
COUNT = FIVE_XX.model_copy(update={"ratio": False, "threshold": 50.0})


def _collected(service, anchor, settings=S, alert=FIVE_XX):
    return collected(anchor, service, settings, alert)


def _secrets(bundle):
    return [(r.revision, r.where, r.version, r.state) for r in bundle.target_secrets]


def test_a_promoted_suspects_target_pinning_a_disabled_version_is_read_and_held(standin_env, seed_scenario, anchor):
    seed_scenario("blue_green_promotion_target_secret_disabled")

    bundle = _collected(ORDERS, anchor)

    assert _secrets(bundle) == [("orders-00211-jel", "env DB_PASSWORD", "6", "DISABLED"),
                                ("orders-00211-jel", "env STRIPE_KEY", "2", "ENABLED")]
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "promoted at" in result.summary, result.summary
    assert "orders-db-password version 6, which is DISABLED" in result.no_target_reason, result.no_target_reason


@pytest.mark.parametrize("scenario", ["rollback_target_secret_version_disabled",
                                      "blue_green_promotion_target_secret_disabled"])
def test_a_promotion_reads_what_the_same_release_deployed_fresh_reads(standin_env, seed_scenario, anchor, scenario):
    # The same release, deployed at -7m or deployed at -5h with `--no-traffic` and promoted at -9m.
    seed_scenario(scenario)

    bundle = _collected(ORDERS, anchor)

    assert (_secrets(bundle), bundle.api_calls, bundle.gaps) == (
        [("orders-00211-jel", "env DB_PASSWORD", "6", "DISABLED"), ("orders-00211-jel", "env STRIPE_KEY", "2", "ENABLED")],
        15, ())


def test_a_promoted_suspects_database_connections_are_read(standin_env, seed_scenario, anchor):
    # An alert on a count of 5xx reads no request log (collection.callers_may_decide): the budget has room.
    seed_scenario("blue_green_promotion_fails")

    bundle = _collected(BACKEND, anchor, alert=COUNT)

    assert bundle.sql_connections is not None
    result = diagnose(bundle, S)
    assert result.known_good_revision == "backend-00001-blu", result.summary


def test_a_promoted_suspects_candidates_startups_are_read_when_the_page_is_full(standin_env, seed_scenario,
                                                                                  anchor):
    seed_scenario("blue_green_promotion_target_secret_disabled")

    bundle = _collected(ORDERS, anchor, S.model_copy(update={"max_log_entries": 10}))

    assert bundle.logs.truncated
    assert bundle.target_startup is not None and bundle.target_startup.revisions == ("orders-00211-jel",)
    assert bundle.target_startup.result is not None


def test_a_service_serving_an_old_revision_it_did_not_promote_reads_no_candidate(standin_env, seed_scenario,
                                                                                   anchor):
    # backend-00001-blu's requests go on as they were: no deploy, no promotion, nothing a rollback would read.
    seed_scenario("blue_green_promotion_fails")
    standin_env.run.set_traffic(BACKEND, [TrafficSeed(percent=100, revision="backend-00001-blu")])

    bundle = _collected(BACKEND, anchor)

    assert bundle.sql_connections is None and bundle.target_startup is None and bundle.target_secrets == ()


# A deploy window of an hour, as the scenarios of a promotion 40 minutes before set it.
HOUR = S.model_copy(update={"deploy_window_seconds": 3600, "manual_change_window_seconds": 3600})


def test_a_promotion_40_minutes_before_is_read_back_to_the_minutes_before_it(standin_env, seed_scenario, anchor):
    # The request counts and the active instances from the deploy window's start less ten minutes (-70m): the
    # promotion at -40m is dated from its own first requests, and the rollback target's load and instances just
    # before it (rules/target_capacity.py) are read in the same calls.
    seed_scenario("blue_green_promotion_40_minutes_before")

    bundle = _collected(BACKEND, anchor, HOUR)

    reach = (anchor - timedelta(minutes=70)).strftime("%Y-%m-%dT%H:%M:%S")
    assert reach in bundle.requests.query and reach in bundle.instances.query, (bundle.requests.query,
                                                                                bundle.instances.query)
    result = diagnose(bundle, HOUR)
    assert result.known_good_revision == "backend-00001-blu", result.summary
    assert plan(result, bundle, HOUR).action == "rollback_traffic"
    release = [e.observed for e in result.evidence if e.about == "stand_down"]
    assert len(release) == 1 and "promoting backend-00002-grn" in release[0], release


@pytest.mark.parametrize("scenario", ["blue_green_promotion_40_minutes_before_by_a_person",
                                      "blue_green_promotion_40_minutes_before_two_writes"])
def test_a_promotion_40_minutes_before_by_a_person_or_beside_another_write_stands_down(standin_env, seed_scenario,
                                                                                         anchor, scenario):
    seed_scenario(scenario)

    bundle = _collected(BACKEND, anchor, HOUR)

    result = diagnose(bundle, HOUR)
    assert result.known_good_revision == "backend-00001-blu", result.summary
    assert result.stand_down and plan(result, bundle, HOUR).action is None, result.summary


def test_a_re_notified_incident_reads_no_further_back_for_a_promotion(standin_env, seed_scenario, anchor):
    # Open for two hours: the reads keep to the incident's own lookbacks from its last minutes.
    seed_scenario("blue_green_promotion_40_minutes_before")

    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessAdapter(), secretmanager=SecretManagerAdapter())
    try:
        bundle = collect(BACKEND, anchor - timedelta(hours=2), readers, HOUR, anchor + timedelta(minutes=2),
                         alert=FIVE_XX)
    finally:
        readers.close()

    # Judged from its last 30 minutes (max_incident_window_seconds): read from two lookbacks before them.
    assert "(" + (anchor - timedelta(minutes=58)).strftime("%Y-%m-%dT%H:%M:%S") in bundle.requests.query, \
        bundle.requests.query
