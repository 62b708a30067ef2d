"""What an Application Load Balancer's alert can and cannot say about the Cloud Run service behind it. Pure: no I/O.

An SRE whose service is reached through a load balancer often alerts at the load balancer: its 5xx or its latency
per backend. Such a series is the load balancer's monitored resource, never a Cloud Run revision:
- `https_lb_rule` (the global external Application Load Balancer) carries project_id, region, url_map_name,
  forwarding_rule_name, target_proxy_name, matched_url_path_rule, backend_target_name (its backend service),
  backend_target_type, backend_name, backend_type, backend_scope and backend_scope_type (Cloud Monitoring,
  "Monitored resource types", https_lb_rule; Cloud Load Balancing, "Global external Application Load Balancer logging
  and monitoring"). The regional ones are read alike: the internal (`internal_http_lb_rule`, metrics under
  loadbalancing.googleapis.com/https/internal/) and the external (`http_external_regional_lb_rule`, under
  https/external/regional/: Cloud Load Balancing, "Load balancing metrics", its table of metric path prefixes), and
  `l7_lb_rule`, which an older reading took for a regional one (UNCONFIRMED). Whether each carries every one of those
  labels is UNCONFIRMED, so a missing one is left out of the words, never guessed.
- A serverless NEG names the Cloud Run service it sends requests to in its own configuration (`cloudRun.service`,
  or a `urlMask` that reads the service from each request's URL: Compute Engine API, "REST Resource:
  regionNetworkEndpointGroups", NetworkEndpointGroup.cloudRun), never in the load balancer's series. The NEG's name
  is the operator's own (nothing ties it to the service's), and one NEG with a URL mask serves several services.
- A 5xx counted at the load balancer may be its own answer, not the service's (no backend reachable, a backend
  service's timeout): its series does not tell which.

So such an alert is never acted on: no target is certain. It is escalated, naming the backend it counted, what its
labels cannot say, and how to route it: `runwarden command diagnose --target SERVICE` reads a service's live evidence
now, and a condition on the service's own run.googleapis.com metrics lets Runwarden diagnose the next one itself.
The value `backend_type` carries for a serverless NEG is UNCONFIRMED (no sample is stored; an instance group's is
INSTANCE_GROUP in Elastic's metricbeat example of the series): a backend whose type names an instance group is no
Cloud Run service's; any other, or none, may be one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.echo import quoted

# The Application Load Balancer's monitored resources: global external, regional internal, regional external, and
# l7_lb_rule (UNCONFIRMED).
LOAD_BALANCER_TYPES = frozenset({"https_lb_rule", "internal_http_lb_rule", "http_external_regional_lb_rule",
                                 "l7_lb_rule"})
# backend_type values naming a backend no Cloud Run service sits behind (an instance group's VMs).
_NOT_SERVERLESS = ("INSTANCE_GROUP",)


def load_balancer_said(resource_type: str, labels: Mapping[str, str]) -> str:
    """The words for a load balancer's alert: what it counted and what it cannot say; "" for another resource."""
    if resource_type not in LOAD_BALANCER_TYPES:
        return ""
    backend = _backend(labels)
    if _instance_group(labels):
        return (f"it counts the load balancer's answers from {backend}, an instance group's VMs, not a Cloud Run "
                "service; ")
    return (f"it counts the load balancer's answers from {backend}: a load balancer's series names its rule, URL map, "
            "backend service and NEG, never the Cloud Run service a serverless NEG sends requests to (that is in "
            "the NEG's own configuration, cloudRun.service or a urlMask read from each request's URL), nor its "
            "revision, and its 5xx may be the load balancer's own answer (no backend reached, a backend service's "
            "timeout), so no service is certain and nothing was read or done; ")


def services_behind(resource_type: str, labels: Mapping[str, str], services: Sequence[str]) -> str:
    """The managed services (full names) in the project and region a load balancer's serverless backend is scoped to,
    said as candidates with how to route the alert; "" for another resource or an instance group's backend."""
    if resource_type not in LOAD_BALANCER_TYPES or _instance_group(labels):
        return ""
    project, scope = labels.get("project_id", ""), labels.get("backend_scope", "")
    found = [name for name in services
             if (not project or name.split("/")[1] == project) and (not scope or name.split("/")[3] == scope)]
    where = ", ".join(part for part in (f"project {project}" if project else "", f"region {scope}" if scope else "")
                      if part)
    said = (f"; the managed service{'s' if len(found) > 1 else ''}{f' in {where}' if where else ''} it may be about: "
            f"{', '.join(found)} (none is certain; `runwarden command diagnose --target SERVICE` reads one's live "
            "evidence now)" if found else f"; no managed service runs in {where}" if where else "")
    return (f"{said}; to have Runwarden diagnose this failure, alert on the service's own "
            "run.googleapis.com/request_count (resource cloud_run_revision, grouped by project_id, location and "
            "service_name) on its channel")


def _backend(labels: Mapping[str, str]) -> str:
    """The backend as its labels name it: NEG or group, its backend service, its scope, the path rule matched."""
    parts = [f"backend {quoted(labels['backend_name'], 80)}" if labels.get("backend_name") else "its backend"]
    if labels.get("backend_type"):
        parts.append(f"({labels['backend_type']})")
    if labels.get("backend_target_name"):
        parts.append(f"of backend service {quoted(labels['backend_target_name'], 80)}")
    if labels.get("backend_scope"):
        parts.append(f"in {quoted(labels['backend_scope'], 40)}")
    if labels.get("matched_url_path_rule"):
        parts.append(f"for path rule {quoted(labels['matched_url_path_rule'], 80)}")
    return " ".join(parts)


def _instance_group(labels: Mapping[str, str]) -> bool:
    return any(kind in labels.get("backend_type", "").upper() for kind in _NOT_SERVERLESS)
