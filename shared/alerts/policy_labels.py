"""Whether an alert policy's own user labels let Runwarden act on its alerts. Pure: no I/O.

A notification carries its policy's user labels as `policy_user_labels` (Cloud Monitoring's schema 1.2
example, tests/fixtures/samples/monitoring_docs_example_closed_gce__via_goalert.json; absent from the
real Pub/Sub sample, so absent means unlabelled). AlertPolicy.user_labels is "User-supplied key/value
data to be used for organizing and identifying the `AlertPolicy` objects ... Labels and values can
contain only lowercase letters, numerals, underscores, and dashes" (google/monitoring/v3/alert.proto);
the documented example's values carry spaces ("important label"), so what a notification carries is read
as any text, its case and surrounding spaces aside.

The label `runwarden` is the policy owner's word on Runwarden's actions, as the same label on a Cloud Run
service is (guardrails.require_label): absent, or `enabled`, Runwarden acts as it would; any other value
(`off`, `disabled`, `false`, `observe`, empty) holds every write back, and the diagnosis and the change it
would have made reach a person instead. A value Runwarden does not know is no consent: it may be a word
for "off" in another team's habit. Only this label is read here (a label naming a service or connector is
compared with the resource's own in shared/alerts/named_elsewhere.py). The policy's `severity` (and a `severity`
user label) is a paging level for people, not evidence of a cause nor consent: it changes nothing here.
"""
from __future__ import annotations

from typing import Mapping

from shared.alerts.incidents import quoted

POLICY_LABEL = "runwarden"
ENABLED = "enabled"


def _runwarden_values(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every (key, value) whose key reads as `runwarden` (a relay may change a key's case or pad it)."""
    return [(key, value) for key, value in labels.items() if key.strip().lower() == POLICY_LABEL]


def policy_hold(labels: Mapping[str, str], policy: str) -> str:
    """Why the policy's user labels hold Runwarden's write back, or "" when they let it act (no `runwarden`
    label, or `runwarden: enabled`). Two spellings of the key that disagree hold it back too."""
    found = _runwarden_values(labels)
    if all(value.strip().lower() == ENABLED for _, value in found):
        return ""
    said = ", ".join(f"{quoted(key, 40)}: {quoted(value, 40)}" for key, value in found)
    return (f"alert policy {quoted(policy)} carries the user label {said} (policy_user_labels): only no "
            f"{POLICY_LABEL!r} label or {POLICY_LABEL}: {ENABLED!r} lets Runwarden act on its alerts, so nothing was "
            "written; a person must decide on the change below")
