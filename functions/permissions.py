"""The IAM permissions each function needs, derived from what its code declares.

Every adapter in shared/gcp declares `iam_permissions` per method, and every registered action
declares the permissions of the write it makes. A function needs:
  - the read methods of the diagnosis readers (Run, with ListServices for the services not in the config
    behind a connector, Monitoring, Logging, VPC Access, Secret Manager's GetSecretVersion: metadata,
    never a payload): READ_METHODS, the same for on_alert and on_command,
  - all of the state store (the gate and the records) and the outcome publisher,
  - the permissions of every action it may apply through the gate,
or, for the timeline, Logging's ListLogEntries, Monitoring's ListTimeSeries and Cloud Run's
ListRevisions (reads only).

The deployment (infra/) grants exactly this, split by where each permission applies:
  - on the outcomes topic only: `pubsub.topics.publish`;
  - on the managed services' runtime service accounts only: `iam.serviceAccounts.actAs`;
  - on Runwarden's own Firestore database only (a role binding in its project, conditioned on the
    database's name): Firestore (`datastore.*`, `state_role`);
  - only in the projects that hold a service the config manages: the Cloud Run writes no read makes
    (`service_writes`: UpdateService and the wait on its operation);
  - in its own project and in every watched project: the rest.
tests/infra/test_iam.py holds Terraform's custom roles to these sets, in both directions.
Never imported by the deployed entry points.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.remediation.actions import all_actions

# Granted on one resource, never on a project.
ON_OUTCOMES_TOPIC = frozenset({"pubsub.topics.publish"})
ON_RUNTIME_SERVICE_ACCOUNTS = frozenset({"iam.serviceAccounts.actAs"})
# Runwarden's own state: one Firestore database in its own project. Granted on that database only
# (infra/iam.tf, `state`: a project binding with an IAM condition on the database's resource name);
# watched projects never need these.
STATE_DATABASE_PREFIXES = ("datastore.",)

# The port methods the diagnosis readers and the sweep's health checks call (shared.diagnosis.collection), and
# Cloud Run's ListServices, which finds the services not in the config behind a connector: the verification sweep's
# bystanders (shared/remediation/bystanders.py) and an alert's or a command's scale of a shared connector, whose
# neighbours' deploys are named beside it (scope.outside_neighbours).
READ_METHODS = {
    "run": ("get_service", "list_revisions", "list_services"),
    "monitoring": ("query", "histograms"),
    "logging": ("list_entries",),
    "vpcaccess": ("get_connector",),
    "secretmanager": ("get_secret_version",),
}


@dataclass(frozen=True)
class FunctionNeeds:
    """What one deployed function calls: adapter methods and registered actions."""

    name: str
    methods: tuple[tuple[type, str], ...]   # (adapter class, method name)
    actions: tuple[str, ...]                # registered action names it may apply through the gate
    watches_other_projects: bool            # reads and writes services outside Runwarden's project


def _adapter_classes() -> dict[str, type]:
    from shared.gcp.firestore import FirestoreStateStore
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.pubsub import PubSubPublisher
    from shared.gcp.logging import CloudLogPagesAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.run_references import CloudRunReferences
    from shared.gcp.secretmanager import SecretManagerAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    return {"run": CloudRunAdapter, "monitoring": CloudMonitoringAdapter, "logging": CloudLoggingAdapter,
            "vpcaccess": VpcAccessAdapter, "state": FirestoreStateStore, "publisher": PubSubPublisher,
            "log_pages": CloudLogPagesAdapter, "run_references": CloudRunReferences,
            "secretmanager": SecretManagerAdapter}


def function_needs() -> dict[str, FunctionNeeds]:
    adapters = _adapter_classes()
    reads = tuple((adapters[port], m) for port, methods in READ_METHODS.items() for m in methods)
    state = tuple((adapters["state"], m) for m in adapters["state"].iam_permissions)
    publish = ((adapters["publisher"], "publish"),)
    return {
        # The gate may apply any registered action the planner picks.
        "on_alert": FunctionNeeds("on_alert", reads + state + publish, tuple(sorted(all_actions())), True),
        # The sweep verifies with the readers and undoes with restore_traffic (verification.py);
        # operators' commands may apply any registered action through the same gate (shared/commands/).
        "on_command": FunctionNeeds("on_command", reads + state + publish, tuple(sorted(all_actions())), True),
        # Reads Cloud Logging page by page (Runwarden's step lines, audit entries, request logs),
        # request_count when the request log has none, and the revisions' references
        # (shared/timeline/live.py). The service's audit entries, request log, request_count and
        # revisions live in the service's own project, which may be a watched one
        # (shared/timeline/builder.py reads them there).
        "incident_timeline": FunctionNeeds(
            "incident_timeline", ((adapters["log_pages"], "read_page"), (adapters["monitoring"], "query"),
                                  (adapters["run_references"], "references")), (), True),
    }


def service_writes() -> frozenset[str]:
    """The permissions of the Cloud Run adapter's writes that none of its reads needs: granted only in
    the projects holding a service the config manages (infra/iam.tf, `service_writes`). Every action
    on a service refuses one the config does not manage (rollback_traffic's and restore_traffic's
    bounds: `Config.manages`), so nowhere else could such a write be made; a watched project that
    holds only a connector or a Cloud SQL instance, or Runwarden's own project watching others (its
    own functions are Cloud Run services there), needs none of them."""
    run = _adapter_classes()["run"]
    read_methods = READ_METHODS["run"]
    reads = {p for method in read_methods for p in run.iam_permissions[method]}
    writes = {p for method, permissions in run.iam_permissions.items() if method not in read_methods
              for p in permissions}
    return frozenset(writes - reads)


def required_permissions(needs: FunctionNeeds) -> frozenset[str]:
    """Every permission the function's code declares, wherever it is granted."""
    found: set[str] = set()
    for cls, method in needs.methods:
        found.update(cls.iam_permissions[method])
    actions = all_actions()
    for name in needs.actions:
        found.update(actions[name].iam_permissions)
    return frozenset(found)


def state_role(needs: FunctionNeeds) -> frozenset[str]:
    """The custom role granted on Runwarden's Firestore database only: every Firestore permission."""
    return frozenset(p for p in required_permissions(needs) if p.startswith(STATE_DATABASE_PREFIXES))


def project_role(needs: FunctionNeeds) -> frozenset[str]:
    """The custom role in Runwarden's own project, unconditioned: everything not granted on a single
    resource (a topic, the runtime accounts, the state database), nor only where a managed service lives."""
    return (required_permissions(needs) - ON_OUTCOMES_TOPIC - ON_RUNTIME_SERVICE_ACCOUNTS - service_writes()
            - state_role(needs))


def service_project_role(needs: FunctionNeeds) -> frozenset[str]:
    """The custom role in each project that holds a managed service (Runwarden's own or a watched one)."""
    return required_permissions(needs) & service_writes()


def watched_project_role(needs: FunctionNeeds) -> frozenset[str]:
    """The custom role in each watched project: the project role (which holds no Firestore permission)."""
    if not needs.watches_other_projects:
        return frozenset()
    return project_role(needs)


def resource_grants(needs: FunctionNeeds) -> dict[str, frozenset[str]]:
    """Permissions granted on one kind of resource: {"outcomes_topic": ..., "runtime_service_accounts": ...}."""
    required = required_permissions(needs)
    grants = {"outcomes_topic": required & ON_OUTCOMES_TOPIC,
              "runtime_service_accounts": required & ON_RUNTIME_SERVICE_ACCOUNTS}
    return {k: v for k, v in grants.items() if v}
