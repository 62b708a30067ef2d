"""Secret Manager v1 adapter: implements shared.ports.SecretManagerPort.

One call, GetSecretVersion: a version's metadata, its `state` (SecretVersion.State,
google/cloud/secretmanager/v1/resources.proto), never its payload. The payload is AccessSecretVersion,
which needs `secretmanager.versions.access`; GetSecretVersion needs `secretmanager.versions.get`, which
"does not grant access to the payload" (Secret Manager docs, "Access control with IAM": the
Secret Manager Viewer role, roles/secretmanager.viewer, holds it and "Allows viewing metadata of all
Secret Manager resources"). So the deployed role lets Runwarden read whether a version is ENABLED and
never what it holds. Google libraries are imported on first use, to keep cold starts short.
"""
from __future__ import annotations

import threading
from typing import Any

from shared.diagnosis.evidence import SecretVersionState
from shared.gcp.endpoints import CallPolicy, call_with_retry, secret_manager_client

# A version's metadata, read beside the evidence on the alert path: shorter than the shared policy, so that the
# alert's time budget (infra/locals.tf, function_timeout_seconds; tests/infra/test_settings.py) counts its reads
# at 5 s each. A metadata GET normally answers well within it (UNCONFIRMED as a latency bound); a read that does
# not is a gap in the evidence, never an event retried (collection._target_secrets).
SECRET_READ_POLICY = CallPolicy(call_timeout=5.0, attempts=2, total_timeout=10.0)


class SecretManagerAdapter:
    """GetSecretVersion with the shared call policy (its client's own retries off: retry=None)."""

    # The permission each method's call needs: GetSecretVersion, "secretmanager.versions.get" (Secret Manager
    # docs, "Access control with IAM", permissions of roles/secretmanager.viewer; IAM permissions reference).
    iam_permissions = {
        "get_secret_version": ("secretmanager.versions.get",),
    }

    def __init__(self, *, policy: CallPolicy = SECRET_READ_POLICY) -> None:
        self._policy = policy
        self._client: Any = None
        self._lock = threading.Lock()   # evidence reads run on several threads

    def get_secret_version(self, name: str) -> SecretVersionState:
        """The version `name` (projects/P/secrets/S/versions/V) and its state, as its State enum names it."""
        version = call_with_retry(
            lambda timeout: self._secrets().get_secret_version(request={"name": name}, retry=None, timeout=timeout),
            what=f"GetSecretVersion {name}", policy=self._policy, needs=self.iam_permissions["get_secret_version"])
        return SecretVersionState(name=version.name or name, state=version.State(version.state).name)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.transport.close()
                self._client = None

    def _secrets(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = secret_manager_client()
            return self._client


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
