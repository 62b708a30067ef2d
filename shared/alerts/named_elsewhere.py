"""Whether a notification's labels name another service (or connector) than the one its series is of. Pure: no I/O.

A notification carries three kinds of label, from three places (Cloud Monitoring, "Manage incidents with labels"
and "Notification content", the schema 1.2 example; google/monitoring/v3/alert.proto):
- `resource.labels`: the monitored resource of the time series that violated the condition ("the labels on a time
  series might identify a virtual machine (VM), a zone, a Google Cloud project"), written by whatever wrote the
  series. For cloud_run_revision they are Cloud Run's own: the series Monitoring measured and compared.
- `policy_user_labels`: AlertPolicy.user_labels, "User-supplied key/value data to be used for organizing and
  identifying the `AlertPolicy` objects" (alert.proto), static text a person typed on the policy ("record
  information specific to your needs").
- `metadata.user_labels` / `metadata.system_labels`: the monitored resource's metadata (MonitoredResourceMetadata,
  google/api/monitored_resource.proto); empty in every real sample, placeholders in the documented example, and
  which Cloud Run labels appear there is UNCONFIRMED.

So the resource labels say which series crossed, and they decide what is read (Incident.target). A policy or
resource label that names a *different* service says the policy's owner meant another one: a policy copied from
checkout's and re-pointed at payments with its label left, or a filter edited onto the wrong service. Neither
source is authoritative for what the owner meant, so nothing of the condition is lent to the resource (no write,
no `healthy`, no recovery: Incident.condition_doubt) and a person is told both names. Only keys that plainly name
a service or a connector are read (`_KEYS`); `team`, `app`, `component` and the like are an owner's grouping, not
a resource's name. A value equal to the resource's own name (case and surrounding spaces aside, since the
documented example's values carry spaces and a relay may change case) agrees.
"""
from __future__ import annotations

from typing import Mapping

# The label keys read as naming a resource, per monitored-resource type, and the resource label they are compared
# with. Keys are compared lower-cased, with '-' read as '_' (a relay or another team's habit).
_KEYS = {
    "cloud_run_revision": ("service_name", frozenset({
        "service", "service_name", "servicename", "cloud_run_service", "cloudrun_service", "run_service"})),
    "vpc_access_connector": ("connector_name", frozenset({
        "connector", "connector_name", "vpc_connector", "vpc_access_connector", "vpcaccess_connector"})),
}


def _key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _said(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _naming(labels: Mapping[str, str], keys: frozenset[str], where: str) -> list[tuple[str, str]]:
    """Every (where the label is, its value) among `labels` whose key names a resource of the kind `keys` reads."""
    return [(f"{where} {_said(key)}", value.strip()) for key, value in labels.items()
            if _key(key) in keys and value.strip()]


def named_elsewhere(resource_type: str, resource_labels: Mapping[str, str], policy_user_labels: Mapping[str, str],
                    metadata_labels: Mapping[str, str], policy: str) -> str:
    """Why the notification's policy or resource-metadata labels name another service (or connector) than its
    resource's, or "" when none names one, or every one names the resource's own. `metadata_labels` are keyed
    `system_labels.<key>` / `user_labels.<key>` (Incident.metadata_labels)."""
    if resource_type not in _KEYS:
        return ""
    field, keys = _KEYS[resource_type]
    own = resource_labels.get(field, "").strip()
    if not own:
        return ""   # no resource named: alert_target rejects it, asking for the grouping
    metadata = {kind: {k.split(".", 1)[1]: v for k, v in metadata_labels.items() if k.startswith(f"{kind}.")}
                for kind in ("user_labels", "system_labels")}
    found = (_naming(policy_user_labels, keys, "policy_user_labels")
             + _naming(metadata["user_labels"], keys, "metadata.user_labels")
             + _naming(metadata["system_labels"], keys, "metadata.system_labels"))
    others = [(where, value) for where, value in found if value.lower() != own.lower()]
    if not others:
        return ""
    said = ", ".join(f"{where}: {_said(value)}" for where, value in others)
    what = "service" if field == "service_name" else "connector"
    return (f"policy {_said(policy)} names {what} {_said(others[0][1])} in its labels ({said}), but the series that "
            f"crossed its condition is {what} {_said(own)}'s (resource.labels.{field}): the policy's labels are its "
            f"owner's words on what it watches, the resource labels the series Monitoring measured, and which "
            f"{what} the owner meant is unknown; label the policy with {_said(own)}, or point its condition at the "
            f"{what} its labels name")
