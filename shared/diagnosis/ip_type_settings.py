"""A deploy's change to which of a Cloud SQL instance's IP addresses its connector asks for, read from the two
revisions' plain env.

The Cloud SQL connectors and the Auth Proxy dial the instance's public IP unless told otherwise: the Auth Proxy
v2's `--private-ip` and `--psc` flags ("Cloud SQL Auth Proxy", Cloud SQL docs: "--private-ip ... Connect to the
private ip address for all instances"), the Go connector's `cloudsqlconn.WithPrivateIP()` and the Python
connector's `ip_type=IPTypes.PRIVATE` (their READMEs, "Specifying IP Address Type"), the Java connector's
`ipTypes` property ("PUBLIC,PRIVATE"). Applications pass the choice through a variable of their own naming
(PRIVATE_IP, DB_IP_TYPE, as Google's samples do: GoogleCloudPlatform/python-docs-samples
cloud-sql/postgres/sqlalchemy/connect_connector.py reads PRIVATE_IP). A plain value comes back exactly with the
revision that holds it (Revision.containers[].env[].value, Cloud Run Admin API v2), so a refusal for an IP type
the instance lacks, only from a revision whose deploy changed that choice, is cured by sending traffic back. Told
by name only, as tls_settings tells its own.
"""
from __future__ import annotations

import re

from shared.diagnosis.evidence import Revision
from shared.diagnosis.tls_settings import held_differently

# A variable whose name says which IP the connector dials, in words of its own between underscores: PRIVATE_IP,
# DB_IP_TYPE, CLOUD_SQL_IPTYPES, USE_PSC (never ZIP_TYPE nor SKIP_TYPES).
_IP_NAME = re.compile(r"(?:^|_)(?:IP_?TYPES?|PRIVATE_?IP|PUBLIC_?IP|PSC)(?:_|$)", re.IGNORECASE)
# The same choice inside a value: the Auth Proxy's flags in a command line kept in the env, a connection string's
# `ipTypes=` (the Java connector's property) or `ip_type=`.
_IP_PARAM = re.compile(r"(--private-ip|--psc|--auto-ip)\b|(?:^|[\s?&;])(iptypes|ip_type|ip_types)=([^\s&;]*)",
                       re.IGNORECASE)


def _settings(env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each IP-type choice the plain env holds, by where it is held, with its value."""
    held: dict[str, str] = {}
    for name, value in env:
        if _IP_NAME.search(name):
            held[f"plain env {name}"] = value.strip().lower()
        for flag, key, setting in _IP_PARAM.findall(value):
            if flag:
                held[f"{flag.lower()} in the plain env {name}"] = "set"
            else:
                held[f"{key.lower()} in the plain env {name}"] = setting.lower()
    return held


def ip_type_changed(before: Revision, after: Revision) -> list[str]:
    """Where `after` holds the IP type its connector asks for differently from `before` (changed, added or removed),
    by name only; [] when none, or when either plain env was not read."""
    if not before.plain_env or not after.plain_env:
        return []
    return held_differently(_settings(before.plain_env), _settings(after.plain_env))
