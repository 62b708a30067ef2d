"""The label keys a notification's `resource.labels` and `metric.labels` are read by, and a key sent in another
spelling of one of them (`revisionName`, `Response-Code-Class`): a relay that rewrote the keys of label maps as
it rewrote the schema's own fields.

Monitoring sends a monitored resource's labels under the names its type defines, all snake_case (Cloud
Monitoring's monitored resource list, https://cloud.google.com/monitoring/api/resources: cloud_run_revision
{project_id, service_name, revision_name, location, configuration_name}, vpc_access_connector {project_id, location,
connector_name}, cloudsql_database {project_id, database_id, region}; uptime_url {project_id, host}; Managed Service
for Prometheus's prometheus_target {project_id, location, cluster, namespace, job, instance}), and a metric's labels
under the names its descriptor defines (run.googleapis.com/request_count: response_code, response_code_class, route;
monitoring.googleapis.com/uptime_check/check_passed: check_id, checker_location). Every sample
(tests/fixtures/samples) keeps them so. A key that is another spelling of one of those names was written by
something else: read as missing, it was silently ignored (a `revisionName` naming the revision the condition held
on: the rollback went toward it; a `responseCodeClass` naming 4xx: a 4xx alert judged on 5xx and called
`healthy`).

The rule covers every label the product reads off a notification, not a list kept by hand beside the reads: the
whole documented set of the resource's type (`RESOURCE_LABELS`, whether read today or not), the metric labels any
decision reads (`METRIC_LABELS_READ`, checked against the code's own reads by tests/unit/test_label_keys.py), and
every label the condition itself names (its filters, its groupByFields, its query's matchers: `named_by`), whose
spelling there is the one the metric's writer used, whatever the metric.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

# The labels each monitored-resource type Runwarden reads is documented with (see above).
RESOURCE_LABELS: dict[str, tuple[str, ...]] = {
    "cloud_run_revision": ("project_id", "service_name", "revision_name", "location", "configuration_name"),
    "vpc_access_connector": ("project_id", "location", "connector_name"),
    "cloudsql_database": ("project_id", "database_id", "region"),
    "uptime_url": ("project_id", "host"),
    "prometheus_target": ("project_id", "location", "cluster", "namespace", "job", "instance"),
}

# The metric labels a decision reads off a notification's `metric.labels`, by the metric types that define them:
# shared/diagnosis/health_bar.py reads the response class or code a condition counts (request_count and
# request_latencies carry response_code, response_code_class and route: Cloud Monitoring's Google Cloud
# metrics list, as dynatrace-oss/dynatrace-gcp-monitor src/config/cloud_run_revision.yml copies it), and
# shared/diagnosis/check_results.py the uptime check's id and its checker location (check_passed's labels:
# Cloud Monitoring's metrics list, UNCONFIRMED beyond check_id, which every uptime sample carries), and
# shared/alerts/present_failure.py the level Cloud Logging's counts of the entries written carry (`log_entry_count`,
# `byte_count`: `severity`, the metrics list's logging section, UNCONFIRMED as present_failure says). A user metric's
# labels are its writer's (a user log-based metric's among them, `logging.googleapis.com/user/...`): only those its
# condition names are known to be spelled as sent (`named_by`).
METRIC_LABELS_READ: dict[str, tuple[str, ...]] = {
    "run.googleapis.com/": ("response_code_class", "response_code", "route"),
    "monitoring.googleapis.com/uptime_check/": ("check_id", "checker_location"),
    "logging.googleapis.com/log_entry_count": ("severity",),
    "logging.googleapis.com/byte_count": ("severity",),
}


def metric_labels_read(metric_type: str) -> tuple[str, ...]:
    """The metric labels `METRIC_LABELS_READ` holds for `metric_type`."""
    return tuple(label for prefix, labels in METRIC_LABELS_READ.items() if metric_type.startswith(prefix)
                 for label in labels)


# A label as a condition names it: `metric.label.response_code_class`, `metric.labels."route"`,
# `resource.labels.revision_name` (a filter, a groupByFields entry), `resource.revision_name` (MQL).
_NAMED = re.compile(r'\b(metric|resource)\.(?:labels?\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?')
# A PromQL matcher's label (`{response_code_class="5xx"}`, `, route!~"..."`).
_MATCHER = re.compile(r'[{,]\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|!=|=~|!~)\s*"')
# What `resource.X` and `metric.X` name that is no label (MQL and filters write them beside labels).
_NOT_LABELS = frozenset({"type", "labels", "label", "display_name", "displayName"})


# What a label key's spellings put between its words.
_SEPARATORS = re.compile(r"[_\-\s.]")


@functools.lru_cache(maxsize=512)
def spelling(key: str) -> str:
    """A label key as its spellings share it: `revisionName`, `RevisionName`, `revision-name` and `REVISION_NAME`
    are all `revisionname`. Kept for the keys seen last: every notification's labels are spelt out a dozen times
    (`respelled`), most of them the same few keys, and a duplicate delivery reads them as the first did."""
    return _SEPARATORS.sub("", key).lower()


def named_by(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """The resource labels and the metric labels `texts` (a condition's filters, groupByFields, query) name, as
    they spell them; a PromQL matcher's labels are counted with both (a query's result keeps either)."""
    resource: set[str] = set()
    metric: set[str] = set()
    for text in texts:
        for where, label in _NAMED.findall(text):
            if label not in _NOT_LABELS:
                (resource if where == "resource" else metric).add(label)
        for label in _MATCHER.findall(text):
            resource.add(label)
            metric.add(label)
    return resource, metric


def respelled(labels: Mapping[str, str], read: Iterable[str]) -> dict[str, str]:
    """Each key of `labels` that is another spelling of a label in `read`, with the label it spells. A key beside
    that label under its own name with the same value names nothing else (a copy): not counted."""
    known = {spelling(label): label for label in read}
    found = {}
    for sent, value in labels.items():
        label = known.get(spelling(sent))
        if label is not None and sent != label and labels.get(label) != value:
            found[sent] = label
    return found
