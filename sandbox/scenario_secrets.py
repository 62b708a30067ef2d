"""The `secret_versions:` section of a scenario: Secret Manager versions to seed, by state.

    secret_versions:
      - {secret: payments-key, version: 3, state: DISABLED}
      - {secret: projects/shared-sec/secrets/api-key, version: 2, state: DESTROYED}
      - {secret: api-key, version: 3, aliases: [current]}

`secret` is a secret id in the scenario's project, projects/P/secrets/S, or a regional secret's
projects/P/locations/L/secrets/S. Every version a scenario
revision pins by number (secret_env, secret_volumes' items) is seeded ENABLED unless listed here, so a
scenario that pins versions reads as it did before Secret Manager was read: as versions that exist. A
listed secret's listed versions are the only ones it holds (a version it pins but not listed answers
NOT_FOUND, as a version deleted with its secret does). A version's `aliases` point those version aliases
at it (Secret.version_aliases). A secret no revision pins by number and none lists, read at "latest" (or
unset) or by an alias, is seeded with one version, 1, ENABLED; an alias read of a secret not listed points
at its newest seeded version: a secret and an alias that exist, as every scenario's did before "latest" and
aliases were read. States are SecretVersion.State's
(google/cloud/secretmanager/v1/resources.proto). Wire it into `Scenario` as
`secret_versions: tuple[SecretVersionSpec, ...] = ()` and call `seed_secrets` from `seed`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sandbox.standins.secretmanager import SecretManagerStandIn

VersionState = Literal["ENABLED", "DISABLED", "DESTROYED"]


class SecretVersionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(pattern=r"^(projects/[^/]+/(locations/[^/]+/)?secrets/)?[A-Za-z0-9_-]{1,255}$")
    version: int = Field(ge=1)
    state: VersionState = "ENABLED"
    aliases: tuple[str, ...] = ()   # version aliases pointing at this version (Secret.version_aliases)


def full_name(project: str, secret: str) -> str:
    """projects/P/secrets/S for a secret id in `project`, or the name as given."""
    return secret if secret.startswith("projects/") else f"projects/{project}/secrets/{secret}"


def seed_secrets(standin: "SecretManagerStandIn", project: str, listed: Iterable[SecretVersionSpec],
                 pinned: Iterable[tuple[str, str]]) -> None:
    """Seeds `listed`, then every (secret, version) in `pinned` whose secret is not listed, ENABLED."""
    listed = tuple(listed)
    named = {full_name(project, v.secret) for v in listed}
    for v in listed:
        standin.add_version(full_name(project, v.secret), v.version, v.state)
        for alias in v.aliases:
            standin.add_alias(full_name(project, v.secret), alias, v.version)
    pinned = [(full_name(project, secret), version.strip()) for secret, version in pinned]
    for name, version in pinned:
        if name not in named and version.isdigit():
            standin.add_version(name, int(version), "ENABLED")
    newest: dict[str, int] = {}
    for name, version in pinned:
        if version.isdigit():
            newest[name] = max(newest.get(name, 0), int(version))
    for name, version in pinned:
        if name in named or version.isdigit():
            continue
        if name not in newest:   # read at "latest" or an alias only: one version that exists
            newest[name] = 1
            standin.add_version(name, 1, "ENABLED")
        if version.lower() not in ("", "latest"):
            standin.add_alias(name, version, newest[name])
