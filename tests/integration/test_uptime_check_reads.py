"""An uptime check's own results (uptime_check/check_passed) read as collection asks for them, through
CloudMonitoringAdapter and the real google-cloud-monitoring client, from the Monitoring stand-in: raw BOOL points,
one series per checker location, by the check's id or its host, and no series for a check with no results."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.standins.monitoring import PointSeed, SeriesSeed
from shared.diagnosis.check_results import CHECK_PASSED, check_results
from shared.diagnosis.collection import check_passed_query
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.windows import Window
from shared.gcp.endpoints import CallPolicy
from shared.gcp.monitoring import CloudMonitoringAdapter, build_filter as query_filter

QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
HOST = "docs-418273645012.us-central1.run.app"
FILTER = ('metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url" '
          'AND metric.label.check_id="{}"')


@pytest.fixture
def adapter(standin_env):
    monitoring = CloudMonitoringAdapter(policy=QUICK)
    yield monitoring
    monitoring.close()


@pytest.fixture
def world(seed_scenario):
    return seed_scenario("uptime_three_of_six_regions_failing_probes_not_logged")


def read(adapter, anchor, alert: AlertContext):
    query = check_passed_query(alert, "example-web", anchor - timedelta(minutes=20), anchor + timedelta(minutes=8))
    return adapter.query(query)


def uptime_alert(**fields) -> AlertContext:
    return AlertContext(resource_type="uptime_url", metric_type="monitoring.googleapis.com/uptime_check/check_passed",
                        **fields)


def test_the_alerts_check_is_read_raw_one_series_per_location(adapter, world, anchor):
    result = read(adapter, anchor, uptime_alert(condition_filter=FILTER.format("docs-uptime-7d1c")))
    assert sorted(s.metric_labels["checker_location"] for s in result.series) == [
        "apac-singapore", "eur-belgium", "sa-brazil-sao_paulo", "usa-iowa", "usa-oregon", "usa-virginia"]
    assert {s.resource_labels["host"] for s in result.series} == {HOST}
    assert all(isinstance(v, bool) for s in result.series for v in s.values)
    assert "ALIGN" not in result.query.split("aggregation:")[1] and "raw points" in result.query
    seen = check_results(result, Window(anchor, anchor + timedelta(minutes=5)))
    assert seen.failing == ("apac-singapore (docs-uptime-7d1c)", "eur-belgium (docs-uptime-7d1c)",
                            "sa-brazil-sao_paulo (docs-uptime-7d1c)")
    assert len(seen.passing) == 3 and not seen.recovered


def test_a_check_with_no_results_answers_no_series(adapter, world, anchor):
    result = read(adapter, anchor, uptime_alert(condition_filter=FILTER.format("docs-uptime-deleted")))
    assert result.series == ()
    assert not check_results(result, Window(anchor, anchor + timedelta(minutes=5))).reported


def test_a_notification_naming_no_check_is_read_by_its_host(adapter, world, anchor):
    result = read(adapter, anchor, uptime_alert(uptime_host=HOST, uptime_project="example-web"))
    assert len(result.series) == 6
    assert 'resource.labels.host = "docs-418273645012.us-central1.run.app"' in result.query


def test_a_notification_naming_neither_is_a_gap_not_a_call(anchor):
    said = check_passed_query(uptime_alert(), "example-web", anchor - timedelta(minutes=20), anchor)
    assert isinstance(said, str) and "names no check id" in said


# --- a check on a Cloud Run service, alerted on cloud_run_revision ---------------------------------------------
# Which resource Monitoring writes such a check's results against is UNCONFIRMED (check_results.py): uptime_url, or
# the check's own monitored resource, cloud_run_revision (labels project_id, location, service_name). Read by its id
# on the alert's resource type alone, results on the other were never read: a passing check never read as passing.
RUN_CHECK = "backend-uptime-k2m9"
RUN_RESOURCES = {"uptime_url": {"project_id": "demo-project", "host": "backend-418273645012.us-central1.run.app"},
                 "cloud_run_revision": {"project_id": "demo-project", "location": "us-central1",
                                        "service_name": "backend", "revision_name": "", "configuration_name": ""}}
LOCATIONS = ("eur-belgium", "usa-iowa", "usa-oregon")


def _seed_results(standins, anchor, resource: str, value: bool) -> None:
    for location in LOCATIONS:
        standins.monitoring.add_series(SeriesSeed(
            CHECK_PASSED, resource, RUN_RESOURCES[resource], {"check_id": RUN_CHECK, "checker_location": location},
            kind="GAUGE", points=tuple(PointSeed(anchor + timedelta(minutes=m), value) for m in range(-10, 4))))


def _run_alert() -> AlertContext:
    return AlertContext(resource_type="cloud_run_revision", metric_type=CHECK_PASSED,
                        metric_labels={"check_id": RUN_CHECK, "checker_location": "usa-iowa"},
                        condition_filter=f'metric.type="{CHECK_PASSED}" AND resource.type="cloud_run_revision" AND '
                                         f'metric.label."check_id"="{RUN_CHECK}"')


@pytest.mark.parametrize("written_on", sorted(RUN_RESOURCES))
def test_a_run_service_checks_passing_results_read_as_passing_on_either_resource(adapter, standins, anchor,
                                                                              written_on):
    _seed_results(standins, anchor, written_on, True)
    query = check_passed_query(_run_alert(), "demo-project", anchor - timedelta(minutes=20), anchor + timedelta(minutes=8))
    seen = check_results(adapter.query(query), Window(anchor, anchor + timedelta(minutes=5)))
    assert seen.passing == tuple(f"{location} ({RUN_CHECK})" for location in LOCATIONS) and seen.recovered
    assert "resource.type" not in query_filter(query)


def test_a_run_service_checks_results_on_both_resources_are_one_location_each(adapter, standins, anchor):
    _seed_results(standins, anchor, "uptime_url", True)
    _seed_results(standins, anchor, "cloud_run_revision", False)
    query = check_passed_query(_run_alert(), "demo-project", anchor - timedelta(minutes=20), anchor + timedelta(minutes=8))
    result = adapter.query(query)
    seen = check_results(result, Window(anchor, anchor + timedelta(minutes=5)))
    assert len(result.series) == 6
    assert seen.failing == tuple(f"{location} ({RUN_CHECK})" for location in LOCATIONS) and not seen.passing
    assert not seen.recovered


def test_a_run_service_check_with_no_results_never_reads_as_passing(adapter, standins, anchor):
    _seed_results(standins, anchor, "uptime_url", True)   # another check's, on the same URL
    alert = _run_alert().model_copy(update={"metric_labels": {"check_id": "backend-uptime-gone"}})
    query = check_passed_query(alert, "demo-project", anchor - timedelta(minutes=20), anchor + timedelta(minutes=8))
    seen = check_results(adapter.query(query), Window(anchor, anchor + timedelta(minutes=5)))
    assert not seen.reported and not seen.recovered
