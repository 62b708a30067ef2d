"""The metric descriptors and monitored resource types the Monitoring stand-in knows built in.

Every metric Runwarden reads or alerts on, and the few more the tests ask for, with its kind,
value type, unit and labels, and the monitored resource types those metrics are written
against. Taken from Google's published lists (docs/scenarios.md, "The metric catalogue", names
the pages and marks what could not be confirmed there):
- metrics: "Google Cloud metrics", cloud.google.com/monitoring/api/metrics_gcp (sections run,
  vpcaccess, cloudsql); kinds, value types and units cross-checked against a published
  exporter's tables (dynatrace-oss/dynatrace-gcp-monitor src/config/cloud_run_revision.yml and
  vpc_access_connector.yml);
- resource types: "Monitored resource types", cloud.google.com/monitoring/api/resources.

A catalogued metric's series must match its descriptor; a query naming it with a resource type
it is not written against, or with an aligner its kind does not allow, is INVALID_ARGUMENT
even when nothing matches, as the real API answers (ListTimeSeries docstrings in
google-cloud-monitoring; prometheus-community/stackdriver_exporter #104).
User-defined metrics (custom.googleapis.com/..., workload.googleapis.com/...) are not
catalogued: their descriptor is taken from the first series written, as the real API creates
one on the first write.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

# The real API's text for a metric/resource pair that does not go together.
INVALID_COMBINATION = ("The supplied filter does not specify a valid combination of metric and monitored "
                       "resource descriptors. The query will not return any time series.")
USER_DEFINED_PREFIXES = ("custom.googleapis.com/", "external.googleapis.com/", "workload.googleapis.com/",
                         "logging.googleapis.com/user/", "prometheus.googleapis.com/")


@dataclass(frozen=True)
class ResourceType:
    type: str
    labels: frozenset[str]


@dataclass(frozen=True)
class MetricDescriptor:
    type: str
    kind: str                             # GAUGE | DELTA | CUMULATIVE
    value_type: str                       # BOOL | INT64 | DOUBLE | STRING | DISTRIBUTION
    unit: str
    labels: frozenset[str]                # metric labels
    resources: frozenset[str]             # monitored resource types it is written against
    required_labels: frozenset[str] = frozenset()   # every real series carries these
    unconfirmed: str = ""                 # what Google's page did not confirm ("" = all of it)


def _resource(type_: str, *labels: str) -> ResourceType:
    return ResourceType(type_, frozenset(labels))


RESOURCE_TYPES: dict[str, ResourceType] = {r.type: r for r in (
    _resource("cloud_run_revision", "project_id", "service_name", "revision_name", "location", "configuration_name"),
    _resource("vpc_access_connector", "project_id", "location", "connector_name"),
    _resource("cloudsql_database", "project_id", "database_id", "region"),
    _resource("global", "project_id"),
    # An uptime check on a URL ("Monitored resource types": uptime_url, labels project_id and host).
    _resource("uptime_url", "project_id", "host"),
    # For user-defined metrics (custom.googleapis.com/...).
    _resource("generic_node", "project_id", "location", "namespace", "node_id"),
    _resource("generic_task", "project_id", "location", "namespace", "job", "task_id"),
)}

_RUN = frozenset({"cloud_run_revision"})
_CONNECTOR = frozenset({"vpc_access_connector"})
_SQL = frozenset({"cloudsql_database"})
_REQUEST_LABELS = frozenset({"response_code", "response_code_class", "route"})


def _metric(type_: str, kind: str, value_type: str, unit: str, resources: frozenset[str], labels: tuple[str, ...] = (),
            *, required: tuple[str, ...] = (), unconfirmed: str = "") -> MetricDescriptor:
    return MetricDescriptor(type_, kind, value_type, unit, frozenset(labels), resources, frozenset(required),
                            unconfirmed)


METRICS: dict[str, MetricDescriptor] = {m.type: m for m in (
    # Cloud Run (metrics_gcp "run"): read by collection, alerted on by the policies in docs.
    _metric("run.googleapis.com/request_count", "DELTA", "INT64", "1", _RUN, tuple(_REQUEST_LABELS)),
    _metric("run.googleapis.com/request_latencies", "DELTA", "DISTRIBUTION", "ms", _RUN, tuple(_REQUEST_LABELS)),
    # "broken down by state" (active, idle): every series carries `state`.
    _metric("run.googleapis.com/container/instance_count", "GAUGE", "INT64", "1", _RUN, ("state",),
            required=("state",), unconfirmed="the state values active/idle are from third-party tables"),
    _metric("run.googleapis.com/container/startup_latencies", "DELTA", "DISTRIBUTION", "ms", _RUN),
    _metric("run.googleapis.com/container/cpu/utilizations", "DELTA", "DISTRIBUTION", "10^2.%", _RUN),
    _metric("run.googleapis.com/container/memory/utilizations", "DELTA", "DISTRIBUTION", "10^2.%", _RUN),
    _metric("run.googleapis.com/container/max_request_concurrencies", "DELTA", "DISTRIBUTION", "1", _RUN,
            ("state",)),
    # Serverless VPC Access (metrics_gcp "vpcaccess").
    _metric("vpcaccess.googleapis.com/connector/instances", "GAUGE", "INT64", "1", _CONNECTOR,
            unconfirmed="kind and value type: public alert policies (ALIGN_MAX on it), not Google's page"),
    _metric("vpcaccess.googleapis.com/connector/cpu/utilizations", "GAUGE", "DISTRIBUTION", "1", _CONNECTOR,
            unconfirmed="kind and unit: public alert policies (ALIGN_PERCENTILE_99 on it), not Google's page"),
    _metric("vpcaccess.googleapis.com/connector/received_bytes_count", "DELTA", "INT64", "By", _CONNECTOR),
    _metric("vpcaccess.googleapis.com/connector/sent_bytes_count", "DELTA", "INT64", "By", _CONNECTOR),
    _metric("vpcaccess.googleapis.com/connector/received_packets_count", "DELTA", "INT64", "{packet}", _CONNECTOR),
    _metric("vpcaccess.googleapis.com/connector/sent_packets_count", "DELTA", "INT64", "{packet}", _CONNECTOR),
    # Cloud SQL (metrics_gcp "cloudsql").
    _metric("cloudsql.googleapis.com/database/up", "GAUGE", "INT64", "1", _SQL),
    _metric("cloudsql.googleapis.com/database/state", "GAUGE", "STRING", "", _SQL),
    # The share of the instance's reserved CPU in use, a fraction (Cloud SQL's metrics reference,
    # cloud.google.com/sql/docs/postgres/admin-api/metrics: database/cpu/utilization).
    _metric("cloudsql.googleapis.com/database/cpu/utilization", "GAUGE", "DOUBLE", "10^2.%", _SQL,
            unconfirmed="kind, value type and unit: third-party tables (dynatrace-gcp-monitor cloudsql_database.yml)"),
    # "Number of connections to the Cloud SQL PostgreSQL instance", label database (Cloud SQL's metrics
    # reference, cloud.google.com/sql/docs/postgres/admin-api/metrics: database/postgresql/num_backends).
    _metric("cloudsql.googleapis.com/database/postgresql/num_backends", "GAUGE", "INT64", "1", _SQL, ("database",)),
    # "Number of connections to databases on the Cloud SQL instance. Only applicable to MySQL and SQL
    # Server." (the same reference: database/network/connections).
    _metric("cloudsql.googleapis.com/database/network/connections", "GAUGE", "INT64", "1", _SQL),
    # "Value of the MySQL max_connections configuration." (the same reference: database/mysql/max_connections).
    _metric("cloudsql.googleapis.com/database/mysql/max_connections", "GAUGE", "INT64", "1", _SQL),
    # "The fraction of the disk quota that is currently in use." (the same reference: database/disk/utilization).
    _metric("cloudsql.googleapis.com/database/disk/utilization", "GAUGE", "DOUBLE", "1", _SQL),
    # An uptime check's result, one point per checker location and period (metrics_gcp "monitoring":
    # uptime_check/check_passed, GAUGE, BOOL, labels check_id and checker_location). A check with no results
    # writes no point: its query answers no series.
    _metric("monitoring.googleapis.com/uptime_check/check_passed", "GAUGE", "BOOL", "1",
            frozenset({"uptime_url", "cloud_run_revision"}), ("check_id", "checker_location"),
            required=("check_id", "checker_location"),
            unconfirmed="written against cloud_run_revision for a check created on the service: no sample"),
)}


def is_user_defined(metric_type: str) -> bool:
    return metric_type.startswith(USER_DEFINED_PREFIXES)


def descriptor(metric_type: str) -> MetricDescriptor | None:
    return METRICS.get(metric_type)


def series_problems(metric_type: str, resource_type: str, kind: str, value_type: str | None,
                    metric_labels: Mapping[str, str], resource_labels: Mapping[str, str]) -> list[str]:
    """What is wrong with a series against the catalogue, each naming the field; [] when it fits.
    A metric that is neither catalogued nor user-defined is itself a problem: the stand-in does
    not invent descriptors for Google's own metrics."""
    found = METRICS.get(metric_type)
    if found is None:
        if is_user_defined(metric_type):
            return _resource_problems(resource_type, resource_labels)
        return [f"metric {metric_type!r} is not in the stand-in's catalogue of Google metrics "
                "(sandbox/standins/metric_catalogue.py); add its descriptor from Google's metric list"]
    problems = []
    if resource_type not in found.resources:
        problems.append(f"resource.type {resource_type!r} does not go with {metric_type} "
                        f"(written against {', '.join(sorted(found.resources))})")
    if kind != found.kind:
        problems.append(f"kind {kind} does not fit {metric_type}, which is {found.kind}")
    if value_type is not None and value_type != found.value_type:
        problems.append(f"value_type {value_type} does not fit {metric_type}, which is {found.value_type}")
    unknown = sorted(set(metric_labels) - found.labels)
    if unknown:
        problems.append(f"metric labels {unknown} are not labels of {metric_type} "
                        f"(it has {sorted(found.labels) or 'none'})")
    missing = sorted(found.required_labels - set(metric_labels))
    if missing:
        problems.append(f"metric labels {missing} are missing: every {metric_type} series carries them")
    return problems + _resource_problems(resource_type, resource_labels)


def _resource_problems(resource_type: str, resource_labels: Mapping[str, str]) -> list[str]:
    resource = RESOURCE_TYPES.get(resource_type)
    if resource is None:
        return [f"resource.type {resource_type!r} is not a monitored resource type the stand-in knows "
                f"({', '.join(sorted(RESOURCE_TYPES))})"]
    unknown = sorted(set(resource_labels) - resource.labels)
    if unknown:
        return [f"resource labels {unknown} are not labels of {resource_type} (it has {sorted(resource.labels)})"]
    return []
