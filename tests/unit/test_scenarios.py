"""The scenario loader: validation, offsets, materialization and the notification it builds."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sandbox.scenarios import (Scenario, ScenarioError, bundled_scenario_path, list_bundled_scenarios,
                               load_scenario, resolve_scenario)

TWO_REVISIONS = str(Path(__file__).resolve().parents[1] / "fixtures" / "scenarios" / "two_revisions.yaml")

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
MINIMAL = """
name: tiny
project: p
region: us-central1
services:
  - name: api
    revisions:
      - {name: api-00001-aaa, created: -1h}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_bundled_scenarios_load_and_match_their_file_names():
    names = list_bundled_scenarios()
    assert {"bad_revision", "low_traffic", "previous_also_failing"} <= set(names)
    for name in names:
        scenario = load_scenario(bundled_scenario_path(name))
        assert scenario.name == name
        assert scenario.alert is not None and scenario.expect is not None


def test_bad_revision_expectation():
    scenario = resolve_scenario("bad_revision")
    assert (scenario.expect.signature, scenario.expect.action, scenario.expect.to_revision) == (
        "bad_revision", "rollback_traffic", "backend-00001-abc")


def test_unknown_bundled_name_lists_the_available_ones():
    with pytest.raises(FileNotFoundError, match="bad_revision"):
        bundled_scenario_path("nope")


def test_materialize_anchors_offsets_at_t0():
    world = resolve_scenario(TWO_REVISIONS).materialize(T0)
    [service] = world.services
    assert service.name == "projects/demo-project/locations/us-central1/services/backend"
    assert [(r.name, r.create_time) for r in service.revisions] == [
        ("backend-00001-abc", T0 - timedelta(hours=3)), ("backend-00002-xyz", T0 - timedelta(minutes=10))]
    assert [(t.revision, t.percent) for t in service.traffic] == [("backend-00002-xyz", 100)]


def test_generator_makes_one_point_per_step_covering_the_span():
    world = resolve_scenario(TWO_REVISIONS).materialize(T0)
    old = world.series[0]
    assert old.resource_labels == {"project_id": "demo-project", "location": "us-central1",
                                   "service_name": "backend", "revision_name": "backend-00001-abc"}
    assert len(old.points) == 170  # -3h .. -10m in 60s steps
    assert (old.points[0].start, old.points[0].end) == (T0 - timedelta(hours=3), T0 - timedelta(minutes=179))
    assert old.points[-1].end == T0 - timedelta(minutes=10)
    assert {p.value for p in old.points} == {40}


def test_single_point_and_gauge(tmp_path):
    scenario = load_scenario(write(tmp_path, MINIMAL + """
timeseries:
  - metric: custom.googleapis.com/x
    resource: {type: global}
    points: [{at: +2m, value: 5, every: 30s}]
  - metric: custom.googleapis.com/g
    kind: GAUGE
    resource: {type: global}
    points: [{at: -90s, value: 0.5}]
"""))
    delta, gauge = scenario.materialize(T0).series
    assert (delta.points[0].start, delta.points[0].end) == (T0 + timedelta(seconds=90), T0 + timedelta(minutes=2))
    assert delta.resource_labels == {"project_id": "p"}
    assert gauge.points[0].start is None and gauge.points[0].value == 0.5


def test_ready_shorthand_and_conditions(tmp_path):
    scenario = load_scenario(write(tmp_path, MINIMAL.replace("created: -1h}", "created: -1h, ready: false}") + """
      - name: api-00002-bbb
        created: -5m
        conditions:
          - {type: Ready, state: CONDITION_FAILED, reason: SECRETS_ACCESS_CHECK_FAILED, message: denied}
"""))
    first, second = scenario.materialize(T0).services[0].revisions
    assert first.conditions[0].state == "CONDITION_FAILED"
    assert second.conditions[0].reason == "SECRETS_ACCESS_CHECK_FAILED"


@pytest.mark.parametrize(("edit", "where", "what"), [
    (("created: -1h", "created: 1 hour"), "services.0.revisions.0.created", "offset"),
    (("created: -1h}", "created: -1h, colour: red}"), "services.0.revisions.0.colour", "Extra inputs"),
    (("name: api-00001-aaa", "name: web-00001-aaa"), "services.0", "must start with 'api-'"),
    (("region: us-central1\n", ""), "region", "Field required"),
    (("created: -1h}", "created: -1h, ready: true, conditions: [{type: Ready}]}"), "services.0.revisions.0",
     "not both"),
])
def test_invalid_fields_are_named(tmp_path, edit, where, what):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, MINIMAL.replace(*edit)))
    assert where in str(caught.value) and what in str(caught.value)


@pytest.mark.parametrize(("extra", "what"), [
    ("    traffic: [{revision: api-00001-aaa, percent: 90}]\n", "sum to 100"),
    ("    traffic: [{revision: api-00009-zzz, percent: 100}]\n", "not a revision of api"),
    ("    traffic: [{revision: api-00001-aaa, latest: true, percent: 100}]\n", "exactly one of"),
])
def test_invalid_traffic(tmp_path, extra, what):
    with pytest.raises(ScenarioError, match=what):
        load_scenario(write(tmp_path, MINIMAL + extra))


def test_a_deleted_revision_cannot_be_in_the_traffic_split(tmp_path):
    text = MINIMAL.replace("created: -1h}", "created: -1h, deleted: true}")
    with pytest.raises(ScenarioError, match="is deleted"):
        load_scenario(write(tmp_path, text + "    traffic: [{revision: api-00001-aaa, percent: 100}]\n"))


@pytest.mark.parametrize(("series", "where", "what"), [
    ("{metric: m, resource: {type: cloud_run_revision, labels: {service_name: api, revision_name: api-9}}, "
     "points: [{at: 0, value: 1}]}", "timeseries", "not a revision of service api"),
    ("{metric: m, resource: {type: global}, points: [{from: -1m, value: 1}]}", "timeseries.0.points.0", "`from`"),
    ("{metric: m, resource: {type: global}, points: [{at: -1m, every: 0s, value: 1}]}",
     "timeseries.0.points.0.every", "positive"),
    ("{metric: m, resource: {type: global}, points: [{at: -1m, value: 1}, {at: -30s, value: 1}]}",
     "timeseries.0", "overlap"),
    ("{metric: m, kind: CUMULATIVE, resource: {type: global}, points: [{at: 0, value: 1}]}",
     "timeseries.0.kind", "DELTA"),
])
def test_invalid_series(tmp_path, series, where, what):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, MINIMAL + f"timeseries:\n  - {series}\n"))
    assert where in str(caught.value) and what in str(caught.value)


def test_not_yaml_or_not_a_mapping(tmp_path):
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(write(tmp_path, "name: [unclosed"))
    with pytest.raises(ScenarioError, match="mapping"):
        load_scenario(write(tmp_path, "- a list"))


def test_naive_anchor_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        resolve_scenario(TWO_REVISIONS).materialize(datetime(2026, 11, 26, 12, 0))


def test_notification_has_the_schema_1_2_shape():
    body = resolve_scenario(TWO_REVISIONS).notification(T0, incident_id="0.abc")
    assert body["version"] == "1.2"
    incident = body["incident"]
    assert incident["incident_id"] == "0.abc"
    assert incident["state"] == "open"
    assert incident["started_at"] == int(T0.timestamp()) and incident["ended_at"] is None
    assert incident["scoping_project_id"] == "demo-project"
    assert incident["resource"] == {"type": "cloud_run_revision", "labels": {
        "project_id": "demo-project", "location": "us-central1", "service_name": "backend"}}
    assert incident["metric"]["type"] == "run.googleapis.com/request_count"
    assert incident["metric"]["displayName"] == "Request Count"
    assert incident["policy_name"] == "backend 5xx ratio"
    assert incident["condition_name"] == "5xx ratio above 5%"
    assert incident["condition"]["name"].startswith("projects/demo-project/alertPolicies/")
    assert incident["condition"]["conditionThreshold"]["thresholdValue"] == 0.05
    assert (incident["observed_value"], incident["threshold_value"]) == ("0.62", "0.05")
    assert incident["documentation"]["mime_type"] == "text/markdown"
    assert incident["metadata"] == {"system_labels": {}, "user_labels": {}}
    assert "0.abc" in incident["url"] and "project=demo-project" in incident["url"]
    json.dumps(body)  # plain JSON, ready to publish


def test_notification_ids_are_deterministic_and_closable():
    scenario = resolve_scenario("bad_revision")
    first, again = scenario.notification(T0), scenario.notification(T0)
    assert first["incident"]["incident_id"] == again["incident"]["incident_id"]
    assert first["incident"]["incident_id"].startswith("0.")
    assert scenario.notification(T0 + timedelta(hours=1))["incident"]["incident_id"] != first["incident"]["incident_id"]
    closed = scenario.notification(T0, state="closed", ended_at=T0 + timedelta(minutes=5))["incident"]
    assert closed["state"] == "closed" and closed["ended_at"] == int(T0.timestamp()) + 300


def test_notification_needs_an_alert(tmp_path):
    with pytest.raises(ValueError, match="no `alert`"):
        load_scenario(write(tmp_path, MINIMAL)).notification(T0)


def test_scenario_object_passes_through_resolve():
    scenario = resolve_scenario("low_traffic")
    assert resolve_scenario(scenario) is scenario
    assert isinstance(resolve_scenario(bundled_scenario_path("low_traffic")), Scenario)


# --- value types and distributions in `timeseries` -------------------------------------------------


def test_value_types_default_from_values_and_kind(tmp_path):
    scenario = load_scenario(write(tmp_path, MINIMAL + """
timeseries:
  - {metric: custom.googleapis.com/delta_int, resource: {type: global}, points: [{at: 0, value: 3}]}
  - {metric: custom.googleapis.com/delta_frac, resource: {type: global}, points: [{at: 0, value: 2.5}]}
  - {metric: custom.googleapis.com/gauge_num, kind: GAUGE, resource: {type: global}, points: [{at: 0, value: 3}]}
  - {metric: custom.googleapis.com/gauge_int, kind: GAUGE, value_type: INT64, resource: {type: global}, points: [{at: 0, value: 3}]}
  - {metric: custom.googleapis.com/state, kind: GAUGE, resource: {type: global}, points: [{at: 0, value: RUNNING}]}
  - {metric: custom.googleapis.com/ok, kind: GAUGE, resource: {type: global}, points: [{at: 0, value: true}]}
  - {metric: custom.googleapis.com/lat, resource: {type: global}, points: [{at: 0, value: {samples: [[30000, 40], [120, 5]]}}]}
"""))
    series = {s.metric_type: s for s in scenario.materialize(T0).series}
    assert {name: s.value_type for name, s in series.items()} == {
        "custom.googleapis.com/delta_int": "INT64", "custom.googleapis.com/delta_frac": "DOUBLE", "custom.googleapis.com/gauge_num": "DOUBLE", "custom.googleapis.com/gauge_int": "INT64",
        "custom.googleapis.com/state": "STRING", "custom.googleapis.com/ok": "BOOL", "custom.googleapis.com/lat": "DISTRIBUTION"}
    assert series["custom.googleapis.com/gauge_num"].points[0].value == 3.0 and isinstance(series["custom.googleapis.com/gauge_num"].points[0].value, float)
    assert series["custom.googleapis.com/gauge_int"].points[0].value == 3 and isinstance(series["custom.googleapis.com/gauge_int"].points[0].value, int)
    assert series["custom.googleapis.com/ok"].points[0].value is True


def test_samples_become_a_distribution_with_the_fixed_buckets(tmp_path):
    from sandbox.standins.monitoring import DEFAULT_BUCKET_OPTIONS, distribution_percentile

    scenario = load_scenario(write(tmp_path, MINIMAL + """
timeseries:
  - metric: run.googleapis.com/request_latencies
    resource: {type: cloud_run_revision, labels: {service_name: api, revision_name: api-00001-aaa}}
    points: [{from: -3m, to: 0, value: {samples: [[30000, 40], [120, 5]]}}]
"""))
    [series] = scenario.materialize(T0).series
    assert len(series.points) == 3
    dist = series.points[0].value
    assert dist.count == 45 and dist.mean == pytest.approx((30000 * 40 + 120 * 5) / 45)
    assert dist.bucket_options == DEFAULT_BUCKET_OPTIONS
    exp = DEFAULT_BUCKET_OPTIONS.exponential_buckets
    assert (exp.num_finite_buckets, exp.growth_factor, exp.scale) == (500, 1.05, 0.001)
    assert 30000 / 1.05 <= distribution_percentile(dist, 99) <= 30000 * 1.05


@pytest.mark.parametrize(("series", "where", "what"), [
    ("{metric: m, kind: GAUGE, value_type: INT64, resource: {type: global}, points: [{at: 0, value: 0.5}]}",
     "timeseries.0", "whole number"),
    ("{metric: m, kind: GAUGE, value_type: BOOL, resource: {type: global}, points: [{at: 0, value: 1}]}",
     "timeseries.0", "does not fit value_type BOOL"),
    ("{metric: m, resource: {type: global}, points: [{at: 0, value: RUNNING}]}", "timeseries.0", "must be kind GAUGE"),
    ("{metric: m, kind: GAUGE, resource: {type: global}, points: [{at: -1m, value: ok}, {at: 0, value: 1}]}",
     "timeseries.0", "mix value types"),
    ("{metric: m, resource: {type: global}, points: [{at: 0, value: {samples: [[1, 0]]}}]}",
     "timeseries.0.points.0.value", "positive"),
    ("{metric: m, resource: {type: global}, points: [{at: 0, value: {samples: []}}]}",
     "timeseries.0.points.0.value", "at least 1"),
    ("{metric: m, value_type: MONEY, resource: {type: global}, points: [{at: 0, value: 1}]}",
     "timeseries.0.value_type", "INT64"),
])
def test_invalid_values(tmp_path, series, where, what):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, MINIMAL + f"timeseries:\n  - {series}\n"))
    assert where in str(caught.value) and what in str(caught.value)


# --- revision limits and Cloud SQL ------------------------------------------------------------------


def test_revision_limits_and_cloudsql(tmp_path):
    scenario = load_scenario(write(tmp_path, MINIMAL.replace(
        "created: -1h}", 'created: -1h, cloudsql_instances: ["p:us-central1:db"], max_instances: 5, timeout: 300s, '
                         "concurrency: 80}")))
    [revision] = scenario.materialize(T0).services[0].revisions
    assert revision.cloudsql_instances == ("p:us-central1:db",)
    assert (revision.max_instances, revision.timeout, revision.concurrency) == (5, timedelta(seconds=300), 80)


@pytest.mark.parametrize(("extra", "what"), [
    ('cloudsql_instances: ["db"]', "project:region:instance"),
    ("max_instances: 0", "greater than or equal to 1"),
    ("timeout: 2h", "3600s"),
    ("timeout: 300", "offset"),
    ("concurrency: 1001", "less than or equal to 1000"),
])
def test_invalid_revision_limits(tmp_path, extra, what):
    with pytest.raises(ScenarioError, match=what):
        load_scenario(write(tmp_path, MINIMAL.replace("created: -1h}", f"created: -1h, {extra}}}")))


_CONNECTOR_BYTES = """
timeseries:
  - metric: vpcaccess.googleapis.com/connector/received_bytes_count
    resource: {type: vpc_access_connector, labels: {connector_name: conn}}
    points: [{from: -3m, to: 0m, every: 60s, value: 6000000}]
"""


def test_a_connector_byte_counter_left_out_is_served_as_the_other(tmp_path):
    """Cloud Monitoring writes both byte counters for a connector carrying traffic: a scenario that
    names one is served the same volume on the other (a proxy forwards what it takes in)."""
    series = load_scenario(write(tmp_path, MINIMAL + _CONNECTOR_BYTES)).materialize(T0).series

    by_metric = {s.metric_type.rsplit("/", 1)[-1]: s for s in series}
    assert set(by_metric) == {"received_bytes_count", "sent_bytes_count"}
    received, sent = by_metric["received_bytes_count"], by_metric["sent_bytes_count"]
    assert (sent.resource_labels, sent.points, sent.kind) == (received.resource_labels, received.points, received.kind)


def test_both_byte_counters_named_are_served_as_given(tmp_path):
    both = _CONNECTOR_BYTES + """  - metric: vpcaccess.googleapis.com/connector/sent_bytes_count
    resource: {type: vpc_access_connector, labels: {connector_name: conn}}
    points: [{from: -3m, to: 0m, every: 60s, value: 90000000}]
"""
    series = load_scenario(write(tmp_path, MINIMAL + both)).materialize(T0).series

    assert sorted((s.metric_type.rsplit("/", 1)[-1], s.points[0].value) for s in series) == [
        ("received_bytes_count", 6000000), ("sent_bytes_count", 90000000)]


# The condition's retest window, alignment period and trigger count as the scenario gives them (AlertPolicy.
# Condition.MetricThreshold `duration`, `trigger.count`; Aggregation `alignmentPeriod`: google/monitoring/v3/alert.proto,
# common.proto), and the defaults every bundled scenario was written with.
@pytest.mark.parametrize(("fields", "duration", "period", "count"), [
    ({}, "0s", "60s", 1),
    ({"duration": "300s", "alignment_period": "300s"}, "300s", "300s", 1),
    ({"duration": "600s", "trigger_count": 2}, "600s", "60s", 2),
])
def test_alert_condition_carries_its_duration_alignment_and_trigger(fields, duration, period, count):
    scenario = resolve_scenario(TWO_REVISIONS)
    alert = scenario.alert.model_copy(update=fields)
    threshold = scenario.model_copy(update={"alert": alert}).notification(T0)["incident"]["condition"]["conditionThreshold"]
    assert (threshold["duration"], threshold["aggregations"][0]["alignmentPeriod"], threshold["trigger"]) == (
        duration, period, {"count": count})


@pytest.mark.parametrize(("field", "value", "what"), [("duration", "5m", "pattern"), ("alignment_period", "300", "pattern"),
                                                      ("trigger_count", 0, "greater than or equal to 1")])
def test_alert_condition_timing_is_validated(tmp_path, field, value, what):
    text = Path(TWO_REVISIONS).read_text().replace("\nalert:\n", f"\nalert:\n  {field}: {value!r}\n", 1)
    with pytest.raises(ScenarioError, match=f"alert.{field}") as caught:
        load_scenario(write(tmp_path, text))
    assert what in str(caught.value)
