"""What an Application Load Balancer's alert can and cannot say about the Cloud Run service behind it. Pure: no I/O.

An SRE whose service is reached through a load balancer often alerts at the load balancer: its 5xx or its latency
per backend. Such a series is the load balancer's monitored resource, never a Cloud Run revision:
- `https_lb_rule` (the global external Application Load Balancer) carries project_id, region, url_map_name,
  forwarding_rule_name, target_proxy_name, matched_url_path_rule, backend_target_name (its backend service),
  backend_target_type, backend_name, backend_type, backend_scope and backend_scope_type (Cloud Monitoring,
  "Monitored resource types", https_lb_rule; Cloud Load Balancing, "Global external Application Load Balancer logging
  and monitoring"). The regional ones are read alike: the internal (`internal_http_lb_rule`, metrics under
  loadbalancing.googleapis.com/https/internal/) and the external (`http_external_regional_lb_rule`, under
  https/external/regional/: Cloud Load Balancing, "Load balancing metrics", its table of metric path prefixes).
- A log-match policy on the global external load balancer's request log names that log's resource,
  `http_load_balancer` (labels project_id, forwarding_rule_name, url_map_name, backend_service_name, target_proxy_name,
  zone), and a log-based metric counted on those logs is written on `l7_lb_rule` (Cloud Load Balancing, "Logs and
  metrics for backend services", cloud.google.com/cdn/docs/cdn-logging-monitoring; public alert policies filter
  logging.googleapis.com/user/ metrics on resource.type="l7_lb_rule" alike). Whether each type carries every one of
  those labels is UNCONFIRMED, so a missing one is left out of the words, never guessed.
- A serverless NEG names the Cloud Run service it sends requests to in its own configuration (`cloudRun.service`,
  or a `urlMask` that reads the service from each request's URL: Compute Engine API, "REST Resource:
  regionNetworkEndpointGroups", NetworkEndpointGroup.cloudRun), never in the load balancer's series. The NEG's name
  is the operator's own (nothing ties it to the service's), and one NEG with a URL mask serves several services.
- A 5xx counted at the load balancer may be its own answer, not the service's. The same page's "Filtering
  dimensions" lists backend_type INSTANCE GROUP, NETWORK_ENDPOINT_GROUP, UNKNOWN, FRONTEND_5XX (an internal error
  before the GFE could select a backend), INVALID_BACKEND (no healthy backend found, so a 5xx was returned),
  NO_BACKEND_SELECTED and MULTIPLE_BACKENDS; backend_target_type BACKEND_SERVICE, BACKEND_BUCKET, UNKNOWN,
  NO_BACKEND_SELECTED; and NO_BACKEND_SELECTED in backend_name, backend_scope and backend_scope_type before a backend
  was chosen. Those three backend_type values say the 5xx was the load balancer's own: no service is a candidate,
  and a label holding NO_BACKEND_SELECTED or UNKNOWN is no name, project or region. Elastic's metricbeat example spells
  an instance group INSTANCE_GROUP, the page INSTANCE GROUP: both are read, as is a backend bucket, as no Cloud Run
  service's. Any other type (NETWORK_ENDPOINT_GROUP, MULTIPLE_BACKENDS, UNKNOWN, one the page does not list) or
  none may be one's: a value read otherwise than above still names candidates, never a certain target.
- With cross-project service referencing, a backend service may sit in another project than the load balancer's
  frontend, and which project the https_lb_rule series reports under is UNCONFIRMED: a project that runs no managed
  service says "none found", never that the service is not there.

So such an alert is never acted on: no target is certain. It is escalated, naming the backend it counted, what its
labels cannot say, and how to route it: `runwarden command diagnose --target SERVICE` reads a service's live evidence
now, and a condition on the service's own run.googleapis.com metrics lets Runwarden diagnose the next one itself.
Every label value is quoted and cut (`quoted`): a notification's labels are its sender's words, and a newline in one
would read as another line of the reason.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.echo import quoted
from shared.gcp.identifiers import services_in

# The Application Load Balancer's monitored resources (global external, regional internal, regional external, the
# log-based metrics' l7_lb_rule) and its request log's (a log-match policy's).
LOAD_BALANCER_TYPES = frozenset({"https_lb_rule", "internal_http_lb_rule", "http_external_regional_lb_rule",
                                 "l7_lb_rule", "http_load_balancer"})
# backend_type values saying the load balancer answered the 5xx itself, before or instead of a backend.
_OWN_ANSWER = frozenset({"FRONTEND_5XX", "INVALID_BACKEND", "NO_BACKEND_SELECTED"})
# Values standing for no backend chosen or none known: never a name, a project or a region.
_NO_NAME = frozenset({"NO_BACKEND_SELECTED", "UNKNOWN"})
# Candidates named at most; the rest are counted.
_MOST_NAMED = 5


def load_balancer_said(resource_type: str, labels: Mapping[str, str]) -> str:
    """The words for a load balancer's alert: what it counted and what it cannot say; "" for another resource."""
    if resource_type not in LOAD_BALANCER_TYPES:
        return ""
    if _own_answer(labels):
        return (f"it counts 5xx the load balancer answered itself (backend_type {quoted(labels['backend_type'], 40)}: "
                "an error before it could select a backend, or no healthy backend found), not a Cloud Run "
                "service's, so no service is a candidate and nothing was read or done; look at the load balancer's "
                "own configuration and its backends' health; ")
    not_run = _not_cloud_run(labels)
    if not_run:
        return f"it counts the load balancer's answers from {_backend(labels)}, {not_run}, not a Cloud Run service; "
    return (f"it counts the load balancer's answers from {_backend(labels)}: a load balancer's series names its rule, "
            "URL map, backend service and NEG, never the Cloud Run service a serverless NEG sends requests to (that "
            "is in the NEG's own configuration, cloudRun.service or a urlMask read from each request's URL), nor its "
            "revision, and its 5xx may be the load balancer's own answer (no backend reached, a backend service's "
            "timeout), so no service is certain and nothing was read or done; ")


def services_behind(resource_type: str, labels: Mapping[str, str], services: Sequence[str]) -> str:
    """The managed services (full names) in the project and region a load balancer's backend is scoped to, said as
    candidates with how to route the alert; "" for another resource, the load balancer's own 5xx or a backend that
    is no Cloud Run service."""
    if resource_type not in LOAD_BALANCER_TYPES or _own_answer(labels) or _not_cloud_run(labels):
        return ""
    project, scope = _named(labels, "project_id"), _named(labels, "backend_scope")
    found = services_in(services, project, scope)
    where = ", ".join(part for part in (f"project {quoted(project, 80)}" if project else "",
                                        f"region {quoted(scope, 80)}" if scope else "") if part)
    if found:
        said = (f"; the managed service{'s' if len(found) > 1 else ''}{f' in {where}' if where else ''} it may be "
                f"about: {_listed(found)} (none is certain; `runwarden command diagnose --target SERVICE` reads one's "
                "live evidence now)")
    elif where:
        # UNCONFIRMED which project the series reports under when the backend service is another project's.
        said = (f"; no managed service found in {where}; the service may be in the backend service's project "
                "(cross-project service referencing; which project the series reports under is UNCONFIRMED)")
    else:
        said = ""
    return (f"{said}; to have Runwarden diagnose this failure, alert on the service's own "
            "run.googleapis.com/request_count (resource cloud_run_revision, grouped by project_id, location and "
            "service_name) on its channel")


def _listed(found: Sequence[str]) -> str:
    """The first few candidates, and how many more: a config may manage hundreds in one region."""
    more = len(found) - _MOST_NAMED
    return ", ".join(found[:_MOST_NAMED]) + (f" and {more} more" if more > 0 else "")


def _backend(labels: Mapping[str, str]) -> str:
    """The backend as its labels name it: NEG or group, its backend service, its scope, the path rule matched."""
    name = _named(labels, "backend_name")
    parts = [f"backend {quoted(name, 80)}" if name else "its backend"]
    if labels.get("backend_type"):
        parts.append(f"({quoted(labels['backend_type'], 40)})")
    service = _named(labels, "backend_target_name") or _named(labels, "backend_service_name")
    if service:
        parts.append(f"of backend service {quoted(service, 80)}")
    if _named(labels, "backend_scope"):
        parts.append(f"in {quoted(labels['backend_scope'], 40)}")
    if labels.get("matched_url_path_rule"):
        parts.append(f"for path rule {quoted(labels['matched_url_path_rule'], 80)}")
    return " ".join(parts)


def _named(labels: Mapping[str, str], key: str) -> str:
    """A label's value when it names something; "" when absent or one of the values standing for none."""
    value = labels.get(key, "")
    return "" if value.strip().upper() in _NO_NAME else value


def _kind(labels: Mapping[str, str], key: str) -> str:
    """A type label folded to one spelling: upper case, a space read as '_' ("INSTANCE GROUP")."""
    return "_".join(labels.get(key, "").upper().split())


def _own_answer(labels: Mapping[str, str]) -> bool:
    return _kind(labels, "backend_type") in _OWN_ANSWER


def _not_cloud_run(labels: Mapping[str, str]) -> str:
    """What the backend is when its labels say it is no Cloud Run service's, else ""."""
    if _kind(labels, "backend_target_type") == "BACKEND_BUCKET":
        return "a backend bucket (Cloud Storage)"
    if _kind(labels, "backend_type") == "INSTANCE_GROUP":
        return "an instance group's VMs"
    return ""
