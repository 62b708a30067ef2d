"""A deploy's change to the client's TLS settings, read from the two revisions' plain env.

A driver takes its TLS settings from its connection string's parameters (libpq's `sslmode`, MySQL's
`ssl-mode`, Connector/J's `sslMode`, `useSSL` and `enabledTLSProtocols`, node-postgres's `ssl`) or from
variables of its own (libpq's PGSSLMODE); applications name theirs as they like (DB_SSL, DATABASE_TLS).
A plain value comes back exactly with the revision that holds it (Cloud Run keeps it in the revision,
Revision.containers[].env[].value), so a TLS refusal only from a revision whose deploy changed such a
setting is cured by sending traffic back. Told by name only: a variable named for SSL may hold a key or
a certificate, so no value is ever shown.
"""
from __future__ import annotations

import re

from shared.diagnosis.evidence import Revision

# A variable whose name says SSL or TLS (PGSSLMODE, DB_SSL, MYSQL_SSL_MODE, DATABASE_TLS).
_TLS_NAME = re.compile(r"SSL|TLS", re.IGNORECASE)
# A connection string's TLS parameters, as a URL query or libpq's keyword form.
_TLS_PARAM = re.compile(r"(?:^|[\s?&;])(sslmode|ssl-mode|ssl_mode|usessl|requiressl|ssl|tls|enabledtlsprotocols)"
                        r"=([^\s&;]*)", re.IGNORECASE)


def _settings(env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each TLS setting the plain env holds, by where it is held ("plain env PGSSLMODE", "sslmode in
    the plain env DATABASE_URL"), with its value."""
    held: dict[str, str] = {}
    for name, value in env:
        if _TLS_NAME.search(name):
            held[f"plain env {name}"] = value
        for key, setting in _TLS_PARAM.findall(value):
            held[f"{key} in the plain env {name}"] = setting.lower()
    return held


def tls_settings_changed(before: Revision, after: Revision) -> list[str]:
    """Where `after` holds a TLS setting differently from `before` (changed, added or removed), by name
    only; [] when none, or when either plain env was not read (() is none read: an unread env is no
    evidence of a change)."""
    if not before.plain_env or not after.plain_env:
        return []
    return held_differently(_settings(before.plain_env), _settings(after.plain_env))


def held_differently(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Where `new` holds a setting differently from `old` (changed, added or removed), by where it is held."""
    return [where + ("" if where in new else " (removed)") + ("" if where in old else " (added)")
            for where in sorted(old.keys() | new.keys()) if old.get(where) != new.get(where)]


# A value that asks the client to verify the server's certificate: libpq's sslmode verify-ca and verify-full
# ("sslmode", libpq's "Connection Parameters"), MySQL's --ssl-mode VERIFY_CA and VERIFY_IDENTITY (MySQL Reference
# Manual, "Command Options for Encrypted Connections"), Connector/J's sslMode of the same names.
_VERIFYING = re.compile(r"verify", re.IGNORECASE)


def verifies_server(revision: Revision) -> bool | None:
    """Whether `revision`'s plain env asks its client to verify the server's certificate (a TLS setting whose value
    names a verify mode); None when its env was not read. A revision that verifies nothing is refused no
    certificate: a rotated server CA or a certificate naming another host leaves its connections as they were."""
    if not revision.plain_env:
        return None
    return any(_VERIFYING.search(value) for value in _settings(revision.plain_env).values())
