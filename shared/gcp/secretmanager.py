"""Secret Manager v1 adapter: implements shared.ports.SecretManagerPort.

One call, GetSecretVersion: a version's metadata, its `state` (SecretVersion.State,
google/cloud/secretmanager/v1/resources.proto), never its payload. The payload is AccessSecretVersion,
which needs `secretmanager.versions.access`; GetSecretVersion needs `secretmanager.versions.get`, which
"does not grant access to the payload" (Secret Manager docs, "Access control with IAM": the
Secret Manager Viewer role, roles/secretmanager.viewer, holds it and "Allows viewing metadata of all
Secret Manager resources"). So the deployed role lets Runwarden read whether a version is ENABLED and
never what it holds. Google libraries are imported on first use, to keep cold starts short.

Regional secrets (projects/P/locations/L/secrets/S) are served by their location's regional endpoint,
secretmanager.L.rep.googleapis.com (Secret Manager docs, "Secret Manager locations", "Regional endpoints
for Secret Manager": "Regional endpoints are request endpoints that only allow requests to proceed if the
affected resource exists in the location specified by the endpoint"; the regional samples, e.g.
"Get regional secret", build their client with Endpoint = "secretmanager.{locationId}.rep.googleapis.com").
So a regional version is read there, never on the global endpoint, whose answer for a regional name
(NOT_FOUND or another refusal: UNCONFIRMED) would say nothing of the version: read as "gone", it would
hold back a rollback onto a revision that can start.
"""
from __future__ import annotations

import re
import threading
from typing import Any

from shared.diagnosis.evidence import SecretVersionState
from shared.gcp.endpoints import CallPolicy, call_with_retry, connect, secret_manager_client

# A version's metadata, read beside the evidence's second round on the alert path: shorter than the shared
# policy, so that a read with its retry (longest_run, 10 s) never outlasts that round's own 10 s call, and the
# alert's time budget (infra/locals.tf, function_timeout_seconds; tests/infra/test_settings.py) counts no time
# for it. A metadata GET normally answers well within it (UNCONFIRMED as a latency bound); a read that does
# not is a gap in the evidence, never an event retried (collection._target_secrets).
SECRET_READ_POLICY = CallPolicy(call_timeout=5.0, attempts=2, total_timeout=10.0)

# projects/P/locations/L/secrets/S[/versions/V]: a regional secret's name (Secret Manager docs, "Create a
# regional secret"; the samples' SecretName.FromProjectLocationSecret).
_REGIONAL = re.compile(r"^projects/[^/]+/locations/([^/]+)/secrets/")
GLOBAL = ""   # the global endpoint's key among the adapter's clients


def location_of(name: str) -> str:
    """The location whose regional endpoint serves `name` (a secret's or a version's), or GLOBAL."""
    found = _REGIONAL.match(name)
    return found.group(1) if found else GLOBAL


class SecretManagerAdapter:
    """GetSecretVersion with the shared call policy (its client's own retries off: retry=None)."""

    # The permission each method's call needs: GetSecretVersion, "secretmanager.versions.get" (Secret Manager
    # docs, "Access control with IAM", permissions of roles/secretmanager.viewer; IAM permissions reference).
    iam_permissions = {
        "get_secret_version": ("secretmanager.versions.get",),
    }

    def __init__(self, *, policy: CallPolicy = SECRET_READ_POLICY) -> None:
        self._policy = policy
        self._clients: dict[str, Any] = {}   # by location_of(): GLOBAL, or a regional endpoint's location
        self._lock = threading.Lock()   # evidence reads run on several threads

    def get_secret_version(self, name: str) -> SecretVersionState:
        """The version `name` (projects/P/secrets/S/versions/V) and its state, as its State enum names it."""
        client = self._secrets(location_of(name))   # a regional version on its location's endpoint
        version = call_with_retry(
            lambda timeout: client.get_secret_version(request={"name": name}, retry=None, timeout=timeout),
            what=f"GetSecretVersion {name}", policy=self._policy, needs=self.iam_permissions["get_secret_version"])
        return SecretVersionState(name=version.name or name, state=version.State(version.state).name)

    def warm(self) -> None:
        """Builds the global endpoint's client and opens its connection now (no call is made), as the
        other adapters' warm() do (functions/runtime.py); idempotent and thread-safe. A regional
        endpoint's client is built on its first read: which locations a revision names is not known ahead."""
        connect(self._secrets(GLOBAL).transport)

    def close(self) -> None:
        """Closes every client's channel (before a local server stops, else gRPC logs its GOAWAY)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.transport.close()

    def _secrets(self, location: str) -> Any:
        with self._lock:
            client = self._clients.get(location)
            if client is None:
                client = self._clients[location] = secret_manager_client(location)
            return client


def version_name(project: str, secret: str, version: str) -> str:
    """The resource name GetSecretVersion takes for a secret a revision names (SecretKeySelector.secret: "The
    name of the secret in Cloud Secret Manager. Format: {secret_name} if the secret is in the same project.
    projects/{project}/secrets/{secret_name} if the secret is in another project", google/cloud/run/v2/
    k8s_min.proto) at `version`: projects/P/secrets/S/versions/V, P the service's own project for a bare id."""
    secret = secret.strip().rstrip("/")
    if "/versions/" in secret:     # a full version name, seen in the wild (run_references._secret_id)
        secret = secret.split("/versions/")[0]
    if not secret.startswith("projects/"):
        secret = f"projects/{project}/secrets/{secret}"
    return f"{secret}/versions/{version.strip()}"
