"""Which Cloud Run services a query condition's query (PromQL, MQL) selects by name. Pure.

Read only to tell a person which managed service an alert may be about when its notification names no
resource Runwarden reads (a `prometheus_target`, the monitored resource of Managed Service for Prometheus
data, or none): never to act. A query's selection says which series it reads, not which resource its
result is about, and the result may sum several services.

Sources:
- Cloud Monitoring, "Mapping Cloud Monitoring metrics to PromQL": replace the metric type's first `/` with
  `:` and every other special character with `_` (`run.googleapis.com/request_count` is
  `run_googleapis_com:request_count`); a metric's and its monitored resource's labels are PromQL labels
  (`service_name`, `location`, `project_id` of cloud_run_revision). The UTF-8 spelling
  `{"__name__"="run.googleapis.com/request_count"}` is UNCONFIRMED for Cloud Monitoring and read too, as in
  shared/alerts/ratio_query.py.
- Prometheus, "Querying basics": a selector `name{label="value", ...}`, matchers `=`, `!=`, `=~`, `!~`; a
  label name may be quoted in the UTF-8 form. Only `=` names one value: a pattern or a negation names none.
- Monitoring Query Language reference: `fetch cloud_run_revision`, and a resource label compared in a
  `filter` as `resource.service_name == 'backend'` (`==` only, for the same reason).
- An application's own metric names its service in a label its writer chose, never a Cloud Run resource
  label (`workload_names`): Managed Service for Prometheus's sidecar for Cloud Run writes to the
  `prometheus_target` resource with `cluster` "__run__" and `namespace` the Cloud Run service's name
  (GoogleCloudPlatform/run-gmp-sidecar `confgenerator/agentmetrics.go`, `AddMetricLabel("namespace",
  r.Service)` and `AddMetricLabel("cluster", "__run__")`, promoted to resource labels by `GroupByGMPAttrs`
  in `confgenerator/otel/processors.go`; that the application pipeline labels the same is UNCONFIRMED);
  an OpenTelemetry collector's Google Managed Prometheus exporter writes a resource's `service.name` as
  `job` (UNCONFIRMED here), and an application may label `service_name` or `service` itself. A `namespace`
  selected beside a `cluster` other than "__run__" is a GKE namespace, not a Cloud Run service.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# A selector's braces, with the metric name written before them, if any.
_SELECTOR = re.compile(r'([A-Za-z_:][\w:]*)?\s*\{([^{}]*)\}')
_MATCHER = re.compile(r'"?([A-Za-z_][\w.]*)"?\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"')
_RUN_METRIC = ("run_googleapis_com:", "run.googleapis.com/")
_NAMING = ("service_name", "location", "project_id")
_MQL_FETCH = re.compile(r"\bfetch\s+cloud_run_revision\b")
_MQL_LABEL = re.compile(r"\bresource\.(service_name|location|project_id)\s*==\s*(?:'([^']*)'|\"([^\"]*)\")")


@dataclass(frozen=True)
class QueryNames:
    """The Cloud Run services a query selects by name, and the locations and projects it selects them in
    (empty when it names none)."""

    services: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.services)


def _selectors(query: str) -> list[tuple[bool, list[tuple[str, str, str]]]]:
    """Each selector of `query`: whether it reads a Cloud Run metric (by the name before its braces or its
    `__name__` matcher), and its (label, operator, value) matchers."""
    read = []
    for name, body in _SELECTOR.findall(query):
        matchers = _MATCHER.findall(body)
        names = [name] + [value for label, op, value in matchers if label == "__name__" and op == "="]
        read.append((any(n.startswith(_RUN_METRIC) for n in names if n), matchers))
    return read


# The labels an application's own metric may name its Cloud Run service by (`workload_names`).
_WORKLOAD_LABELS = ("namespace", "job", "service_name", "service")
RUN_CLUSTER = "__run__"     # the `cluster` of a Cloud Run sidecar's prometheus_target (run-gmp-sidecar)


def workload_names(query: str, resource_labels: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The (label, value) pairs naming a service on an application's own metric: equality matchers on
    `_WORKLOAD_LABELS` in a selector that reads no Cloud Run metric (`query_names` reads those), and the
    notification's own prometheus_target `namespace` when its `cluster` is a Cloud Run sidecar's. Told to a
    person only: the writer of an application metric chose its labels."""
    found: list[tuple[str, str]] = []
    for run_metric, matchers in _selectors(query):
        if run_metric:
            continue
        clusters = {value for label, op, value in matchers if label == "cluster" and op == "="}
        for label, op, value in matchers:
            if op != "=" or label not in _WORKLOAD_LABELS or not value or (label, value) in found:
                continue
            if label == "namespace" and clusters - {RUN_CLUSTER}:
                continue    # a GKE cluster's namespace
            found.append((label, value))
    labels = resource_labels or {}
    namespace = labels.get("namespace", "")
    if labels.get("cluster") == RUN_CLUSTER and namespace and ("namespace", namespace) not in found:
        found.append(("namespace", namespace))
    return tuple(found)


def query_names(query: str) -> QueryNames:
    """The services, locations and projects `query` selects by equality on a Cloud Run metric."""
    found: dict[str, list[str]] = {label: [] for label in _NAMING}
    for run_metric, matchers in _selectors(query):
        if not run_metric:
            continue
        for label, op, value in matchers:
            if op == "=" and label in found and value and value not in found[label]:
                found[label].append(value)
    if _MQL_FETCH.search(query):
        for label, single, double in _MQL_LABEL.findall(query):
            value = single or double
            if value and value not in found[label]:
                found[label].append(value)
    return QueryNames(*(tuple(found[label]) for label in _NAMING))


def selects_alone(query: str, label: str, value: str) -> bool:
    """`query` reads a Cloud Run metric only where it selects `label` (service_name, location, project_id) equal to
    `value`: every PromQL selector of one has that equality matcher, or an MQL query over cloud_run_revision compares
    that label to that value alone. A pattern, a negation, or a second value selects more than one."""
    if _MQL_FETCH.search(query):
        return [v for found, *quoted in _MQL_LABEL.findall(query) if found == label for v in quoted if v] == [value]
    run = [matchers for run_metric, matchers in _selectors(query) if run_metric]
    return bool(run) and all((label, "=", value) in matchers and not any(
        name == label and (op, v) != ("=", value) for name, op, v in matchers) for matchers in run)
