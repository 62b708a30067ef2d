"""Secret Manager v1 stand-in: GetSecretVersion only, metadata only.

It keeps each version's name and state, never a payload: the product reads a version's state
(shared/gcp/secretmanager.py), and AccessSecretVersion (the payload) is not served at all (UNIMPLEMENTED,
as a method the server does not have). What the real API answers, and where that is written:

  - the version: SecretVersion with `name` and `state` (ENABLED, DISABLED, DESTROYED: SecretVersion.State,
    google/cloud/secretmanager/v1/resources.proto);
  - `versions/latest`: "an alias to the most recently created SecretVersion" (GetSecretVersionRequest.name,
    google/cloud/secretmanager/v1/service.proto): the highest version number, whatever its state;
  - a version alias (Secret.version_aliases: "Mapping from version alias to version name ... Access by alias
    is only be supported on GetSecretVersion and AccessSecretVersion", resources.proto; Secret Manager docs,
    "Assign an alias to a secret version": "you can access the secret versions using their aliases in the same
    way that you can access secret versions by their version number"): the version it maps to, whatever its
    state; the answer's `name` carrying the number (as for `latest`) is UNCONFIRMED, and an alias the secret
    has not answers NOT_FOUND as a version that does not exist (UNCONFIRMED);
  - a version or a secret that does not exist: NOT_FOUND (AIP-131, "Standard methods: Get"); the message's
    wording here is UNCONFIRMED;
  - a name not of the form projects/*/secrets/*/versions/*: INVALID_ARGUMENT;
  - a caller without `secretmanager.versions.get` on the secret (granted per secret or per project: Secret
    Manager docs, "Access control with IAM"): PERMISSION_DENIED naming the permission, as IAM refuses
    (base.iam_denial), whether or not the secret exists ("(or it may not exist)").
"""
from __future__ import annotations

import re

from google.cloud.secretmanager_v1.types import GetSecretVersionRequest, SecretVersion

from sandbox.standins.base import Rpc, StandIn, denied, invalid, not_found

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
# projects/P/secrets/S/versions/V, or a regional secret's projects/P/locations/L/secrets/S/versions/V. The
# real API serves the regional form on its location's endpoint only (secretmanager.L.rep.googleapis.com:
# Secret Manager docs, "Secret Manager locations"); this one address stands for every endpoint
# (shared/gcp/endpoints.py, SECRET_MANAGER_EMULATOR_HOST), so it serves both.
_VERSION = re.compile(r"^(projects/[^/]+/(?:locations/[^/]+/)?secrets/[^/]+)/versions/([^/]+)$")


class SecretManagerStandIn(StandIn):
    """In-memory secret versions answering GetSecretVersion."""

    permissions = {"GetSecretVersion": "secretmanager.versions.get"}

    def __init__(self) -> None:
        super().__init__()
        self._versions: dict[str, dict[int, str]] = {}   # projects/P/secrets/S -> {number: state}
        self._denied: set[str] = set()                    # secrets the caller may not read
        self._aliases: dict[str, dict[str, int]] = {}     # projects/P/secrets/S -> {alias: number}

    def rpcs(self) -> list[Rpc]:
        return [Rpc(SERVICE, "GetSecretVersion", self._get_secret_version, GetSecretVersionRequest.deserialize,
                    SecretVersion.serialize)]

    # --- seeding ---

    def add_version(self, secret: str, number: int, state: str = "ENABLED") -> None:
        """Stores version `number` of `secret` (projects/P/secrets/S or projects/P/locations/L/secrets/S) in `state` (a SecretVersion.State name)."""
        SecretVersion.State[state]   # a KeyError for a state the API has not
        with self.lock:
            self._versions.setdefault(secret, {})[number] = state

    def add_alias(self, secret: str, alias: str, number: int) -> None:
        """Points `alias` of `secret` at version `number` (Secret.version_aliases: an alias "must start with a
        letter and cannot be the string 'latest' or 'NEW'"; a ValueError for one that breaks that)."""
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,62}", alias) or alias.lower() in ("latest", "new"):
            raise ValueError(f"not a version alias: {alias!r}")
        with self.lock:
            self._aliases.setdefault(secret, {})[alias] = number

    def deny(self, secret: str) -> None:
        """The caller lacks secretmanager.versions.get on `secret` (projects/P/secrets/S) from now on."""
        with self.lock:
            self._denied.add(secret)

    def clear(self) -> None:
        with self.lock:
            self._versions.clear()
            self._denied.clear()
            self._aliases.clear()

    # --- the RPC ---

    def _get_secret_version(self, request: GetSecretVersionRequest) -> SecretVersion:
        found = _VERSION.match(request.name)
        if not found:
            raise invalid(f"Invalid resource field value in the request: name {request.name!r}")
        secret, version = found.groups()
        if secret in self._denied:
            raise denied(self.permissions["GetSecretVersion"], request.name)
        versions = self._versions.get(secret)
        if not versions:
            raise not_found(f"Secret [{secret}] not found or has no versions.")
        number = (max(versions) if version == "latest" else int(version) if version.isdigit()
                  else self._aliases.get(secret, {}).get(version))
        if number is None or number not in versions:
            raise not_found(f"Secret Version [{request.name}] not found.")
        return SecretVersion(name=f"{secret}/versions/{number}", state=SecretVersion.State[versions[number]])
