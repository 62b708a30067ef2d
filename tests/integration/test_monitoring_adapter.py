"""CloudMonitoringAdapter against the Monitoring stand-in: real client, real gRPC."""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from shared.errors import PermanentError, TransientError
from shared.gcp.endpoints import CallPolicy
from shared.gcp.monitoring import CloudMonitoringAdapter

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
EXPECTED_FILTER = ('metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" '
                   'AND resource.labels.service_name = "backend" AND resource.labels.location = "us-central1"')


@pytest.fixture
def adapter(standin_env):
    monitoring = CloudMonitoringAdapter(policy=QUICK)
    yield monitoring
    monitoring.close()


def test_bad_revision_counts_per_revision_and_class(adapter, standins, seed_scenario, anchor):
    seed_scenario("bad_revision")
    window = adapter.request_counts(SERVICE, anchor - timedelta(minutes=30), anchor)

    assert [r.revision for r in window.revisions] == [OLD, NEW]
    assert window.for_revision(OLD).by_class == {"2xx": 800}
    new = window.for_revision(NEW)
    assert new.by_class == {"2xx": 180, "5xx": 270}
    assert new.error_ratio == pytest.approx(0.6)
    assert standins.monitoring.count("ListTimeSeries") == 1


def test_request_and_query_string_match(adapter, standins, seed_scenario, anchor):
    seed_scenario("bad_revision")
    window = adapter.request_counts(SERVICE, anchor - timedelta(minutes=10), anchor)
    [request] = standins.monitoring.requests("ListTimeSeries")

    assert request.name == "projects/demo-project"
    assert request.filter == EXPECTED_FILTER
    assert request.aggregation.alignment_period == timedelta(minutes=10)
    assert request.aggregation.per_series_aligner.name == "ALIGN_DELTA"
    assert request.aggregation.cross_series_reducer.name == "REDUCE_SUM"
    assert list(request.aggregation.group_by_fields) == ["resource.labels.revision_name",
                                                         "metric.labels.response_code_class"]
    assert EXPECTED_FILTER in window.query
    assert "alignment_period=600s" in window.query and "REDUCE_SUM" in window.query
    assert window.for_revision(OLD) is None  # no requests in the last 10 minutes
    assert window.for_revision(NEW).total == 450


@pytest.mark.parametrize(("window", "period"), [
    (timedelta(seconds=299.5), timedelta(seconds=300)),   # rounded up to whole seconds
    (timedelta(seconds=30), timedelta(seconds=60)),       # at least 60s
])
def test_alignment_period_is_the_window(adapter, standins, anchor, window, period):
    adapter.request_counts(SERVICE, anchor - window, anchor)
    assert standins.monitoring.requests("ListTimeSeries")[0].aggregation.alignment_period == period


def test_low_traffic_counts(adapter, seed_scenario, anchor):
    seed_scenario("low_traffic")
    window = adapter.request_counts(SERVICE, anchor - timedelta(minutes=10), anchor)
    new = window.for_revision(NEW)
    assert (new.total, new.errors_5xx) == (3, 2)


def test_previous_also_failing_counts(adapter, seed_scenario, anchor):
    seed_scenario("previous_also_failing")
    before = adapter.request_counts(SERVICE, anchor - timedelta(hours=1), anchor - timedelta(minutes=10))
    assert before.for_revision(OLD).error_ratio == pytest.approx(0.6)


def test_no_data_gives_an_empty_window(adapter, anchor):
    window = adapter.request_counts(SERVICE, anchor - timedelta(minutes=5), anchor)
    assert window.revisions == ()


def test_unavailable_then_success_is_retried(adapter, standins, seed_scenario, anchor):
    seed_scenario("bad_revision")
    standins.monitoring.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE)
    window = adapter.request_counts(SERVICE, anchor - timedelta(minutes=10), anchor)
    assert window.for_revision(NEW).errors_5xx == 270
    assert standins.monitoring.count("ListTimeSeries") == 2


def test_persistent_unavailable_is_transient(adapter, standins, anchor):
    standins.monitoring.faults.fail_next(10, grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(TransientError, match="ListTimeSeries"):
        adapter.request_counts(SERVICE, anchor - timedelta(minutes=10), anchor)
    assert standins.monitoring.count("ListTimeSeries") == QUICK.attempts


def test_permission_denied_is_permanent(adapter, standins, anchor):
    standins.monitoring.faults.deny()
    with pytest.raises(PermanentError) as caught:
        adapter.request_counts(SERVICE, anchor - timedelta(minutes=10), anchor)
    assert caught.value.code == "PERMISSION_DENIED"
    assert standins.monitoring.count("ListTimeSeries") == 1


@pytest.mark.parametrize("name", ["backend", "projects/p/services/backend"])
def test_bad_service_name_is_refused_without_a_call(adapter, standins, anchor, name):
    with pytest.raises(PermanentError) as caught:
        adapter.request_counts(name, anchor - timedelta(minutes=10), anchor)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert standins.monitoring.count("ListTimeSeries") == 0


def test_empty_window_is_refused(adapter, anchor):
    with pytest.raises(PermanentError, match="empty window"):
        adapter.request_counts(SERVICE, anchor, anchor)
