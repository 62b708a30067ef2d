"""The built-in metric catalogue, and scenarios validated against it."""
from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.scenarios import ScenarioError, load_scenario
from sandbox.standins.metric_catalogue import METRICS, RESOURCE_TYPES, series_problems

RUN = {"project_id": "p", "service_name": "api", "revision_name": "api-00001-aaa", "location": "us-central1"}
MINIMAL = """
name: tiny
project: p
region: us-central1
services:
  - name: api
    revisions:
      - {name: api-00001-aaa, created: -1h}
timeseries:
  - """


def test_every_metric_runwarden_reads_is_catalogued_with_its_resource():
    for metric in ("run.googleapis.com/request_count", "run.googleapis.com/request_latencies",
                   "run.googleapis.com/container/instance_count", "vpcaccess.googleapis.com/connector/instances",
                   "vpcaccess.googleapis.com/connector/cpu/utilizations",
                   "vpcaccess.googleapis.com/connector/received_bytes_count", "cloudsql.googleapis.com/database/up"):
        assert metric in METRICS
        assert METRICS[metric].resources <= set(RESOURCE_TYPES)


SQL_DB = {"project_id": "p", "database_id": "p:orders-pg", "region": "us-central1"}


@pytest.mark.parametrize(("metric", "kind", "value_type", "labels"), [
    # Cloud SQL's metrics reference (docs.cloud.google.com/sql/docs/postgres/admin-api/metrics).
    ("cloudsql.googleapis.com/database/postgresql/num_backends", "GAUGE", "INT64", {"database": "orders"}),
    ("cloudsql.googleapis.com/database/network/connections", "GAUGE", "INT64", {}),
    ("cloudsql.googleapis.com/database/mysql/max_connections", "GAUGE", "INT64", {}),
    ("cloudsql.googleapis.com/database/disk/utilization", "GAUGE", "DOUBLE", {}),
])
def test_the_cloud_sql_load_series_are_catalogued_as_googles_reference_lists_them(metric, kind, value_type, labels):
    assert series_problems(metric, "cloudsql_database", kind, value_type, labels, SQL_DB) == []
    assert series_problems(metric, "cloudsql_database", "DELTA", value_type, labels, SQL_DB)


def test_a_series_that_fits_has_no_problems():
    assert series_problems("run.googleapis.com/container/instance_count", "cloud_run_revision", "GAUGE", "INT64",
                           {"state": "active"}, RUN) == []


@pytest.mark.parametrize(("args", "problem"), [
    (("run.googleapis.com/request_count", "cloud_run_revision", "GAUGE", "INT64", {}, RUN), "kind GAUGE"),
    (("run.googleapis.com/request_count", "cloud_run_revision", "DELTA", "DOUBLE", {}, RUN), "value_type DOUBLE"),
    (("run.googleapis.com/request_count", "cloud_run_revision", "DELTA", "INT64", {"status": "500"}, RUN),
     "metric labels ['status'] are not labels"),
    (("run.googleapis.com/container/instance_count", "cloud_run_revision", "GAUGE", "INT64", {}, RUN),
     "metric labels ['state'] are missing"),
    (("run.googleapis.com/request_count", "vpc_access_connector", "DELTA", "INT64", {}, {}), "does not go with"),
    (("run.googleapis.com/request_count", "cloud_run_revision", "DELTA", "INT64", {}, {**RUN, "zone": "a"}),
     "resource labels ['zone']"),
    (("compute.googleapis.com/instance/cpu/utilization", "gce_instance", "GAUGE", "DOUBLE", {}, {}),
     "not in the stand-in's catalogue"),
])
def test_what_does_not_fit_is_named(args, problem):
    assert any(problem in p for p in series_problems(*args)), series_problems(*args)


def test_user_defined_metrics_need_only_a_known_resource():
    assert series_problems("custom.googleapis.com/x", "global", "GAUGE", "BOOL", {"any": "label"},
                           {"project_id": "p"}) == []


@pytest.mark.parametrize(("series", "message"), [
    ("{metric: run.googleapis.com/request_count, kind: GAUGE, resource: {type: cloud_run_revision, labels: "
     "{service_name: api, revision_name: api-00001-aaa}}, points: [{at: -1m, value: 3}]}", "kind GAUGE does not fit"),
    ("{metric: run.googleapis.com/request_count, resource: {type: cloud_run_revision, labels: "
     "{service_name: api, revision_name: api-00001-aaa}}, labels: {code: '500'}, points: [{at: -1m, value: 3}]}",
     "metric labels ['code']"),
    ("{metric: run.googleapis.com/container/instance_count, kind: GAUGE, resource: {type: cloud_run_revision, "
     "labels: {service_name: api, revision_name: api-00001-aaa}}, points: [{at: -1m, value: 3}]}",
     "['state'] are missing"),
])
def test_scenarios_are_validated_against_the_catalogue(tmp_path: Path, series, message):
    path = tmp_path / "s.yaml"
    path.write_text(MINIMAL + series + "\n")
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(path)


def test_a_catalogued_gauge_without_value_type_takes_the_descriptors(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(MINIMAL + "{metric: run.googleapis.com/container/instance_count, kind: GAUGE, resource: "
                    "{type: cloud_run_revision, labels: {service_name: api, revision_name: api-00001-aaa}}, "
                    "labels: {state: active}, points: [{at: -1m, value: 3}]}\n")
    assert load_scenario(path).timeseries[0].resolved_value_type == "INT64"
