"""The Monitoring adapter's pure parts: filter, validation and the evidence description (no I/O)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import PermanentError
from shared.diagnosis.evidence import MetricQuery
from shared.gcp.monitoring import build_filter, describe_query, validate_query

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def q(**change) -> MetricQuery:
    fields = dict(project="demo-project", metric_type="vpcaccess.googleapis.com/connector/instances",
                  resource_type="vpc_access_connector", start=T0 - timedelta(minutes=10), end=T0)
    return MetricQuery(**{**fields, **change})


def test_filter_quotes_values_and_keeps_label_order():
    query = q(labels={"resource.labels.connector_name": "backend-conn", "resource.labels.location": "us-central1"})
    assert build_filter(query) == (
        'metric.type = "vpcaccess.googleapis.com/connector/instances" AND resource.type = "vpc_access_connector" '
        'AND resource.labels.connector_name = "backend-conn" AND resource.labels.location = "us-central1"')


def test_description_names_interval_and_raw_points():
    text = describe_query(q(aligner="ALIGN_NONE"))
    assert text.startswith("ListTimeSeries projects/demo-project filter: metric.type = ")
    assert f"interval: ({(T0 - timedelta(minutes=10)).isoformat()}, {T0.isoformat()}]" in text
    assert text.endswith("aggregation: none (raw points)")


@pytest.mark.parametrize(("change", "message"), [
    ({"aligner": "ALIGN_PERCENTILE_98"}, "unknown aligner"),
    ({"reducer": "REDUCE_MEDIAN"}, "unknown reducer"),
    ({"aligner": "ALIGN_NONE", "reducer": "REDUCE_MAX"}, "per-series aligner"),
    ({"group_by": ("resource.labels.connector_name",)}, "cross-series reducer"),
    ({"reducer": "REDUCE_MAX", "group_by": ("connector_name",)}, "group_by field"),
    ({"labels": {"resource.label.connector_name": "x"}}, "label key"),
    ({"labels": {"resource.labels.connector_name": "a\\b"}}, "backslash"),
    ({"metric_type": 'x" OR "y'}, "quote"),
    ({"start": T0}, "empty window"),
    ({"end": datetime(2026, 11, 26, 12, 0)}, "timezone-aware"),
])
def test_invalid_queries_are_refused(change, message):
    with pytest.raises(PermanentError, match=message) as caught:
        validate_query(q(**change))
    assert caught.value.code == "INVALID_ARGUMENT"


def test_valid_queries_pass():
    validate_query(q(aligner="ALIGN_MAX", reducer="REDUCE_MAX", group_by=("resource.labels.connector_name",)))
    validate_query(q(aligner="ALIGN_NONE"))


def test_a_query_for_any_resource_type_names_none_and_an_empty_one_is_refused():
    """None reads the metric on every resource type it is written against (ListTimeSeriesRequest.filter needs only
    the metric type); "" is a query that forgot its resource type, refused as before."""
    assert build_filter(q(resource_type=None, labels={"metric.labels.check_id": "c1"})) == (
        'metric.type = "vpcaccess.googleapis.com/connector/instances" AND metric.labels.check_id = "c1"')
    with pytest.raises(PermanentError, match="resource_type"):
        validate_query(q(resource_type=""))
