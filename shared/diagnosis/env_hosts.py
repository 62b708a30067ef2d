"""Whether a revision's plain environment values name a host: pure, no I/O.

A revision's env values can hold secrets (a password in a DSN): they are compared here and never
quoted. What a caller may say is only the host it asked about, which the application's own log
lines already printed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# libpq's keyword/value connection string: "host=H port=5432 dbname=D" (PostgreSQL docs, "Connection
# Strings", 34.1.1.1 Keyword/Value Connection Strings); host may list several hosts, comma-separated.
_KEYWORD_HOST = re.compile(r"(?:^|[\s;])(?:host|server|data source|hostname)\s*=\s*'?([^\s;']+)", re.IGNORECASE)
# Go's MySQL driver DSN: "user:pass@tcp(H:3306)/db" (go-sql-driver/mysql README, "DSN").
_GO_MYSQL = re.compile(r"@tcp6?\(([^)]+)\)", re.IGNORECASE)


def _bare(host: str) -> str:
    """A host as a lookup names it: lower case, no port, no trailing dot."""
    host = host.strip()
    if host.startswith("["):          # an IPv6 literal names no looked-up host
        return ""
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        host = name
    return host.rstrip(".").lower()


def _url_hosts(value: str) -> list[str]:
    """The hosts of a URL's authority: `postgresql://u:p@h1:5432,h2/db` -> [h1, h2]; a JDBC URL's
    `jdbc:` prefix is dropped first (`jdbc:postgresql://h/db`)."""
    if "://" not in value:
        return []
    if value.lower().startswith("jdbc:"):
        value = value[5:]
    try:
        netloc = urlsplit(value.strip()).netloc
    except ValueError:
        return []
    return [_bare(h) for h in netloc.rpartition("@")[2].split(",") if h]


def value_hosts(value: str) -> set[str]:
    """The hosts one env value names: the whole value (a bare host, with or without its port), a
    URL's or DSN's host(s) (`scheme://…@host:port/…`, libpq's `host=H`, Go MySQL's `tcp(H:P)`)."""
    hosts = {_bare(value)} | set(_url_hosts(value))
    for found in (*_KEYWORD_HOST.finditer(value), *_GO_MYSQL.finditer(value)):
        hosts.update(_bare(h) for h in found.group(1).split(","))
    return hosts - {""}


def names_host(values: Iterable[str], host: str) -> bool:
    """Whether any of `values` names `host` (case-insensitive, a trailing dot ignored)."""
    wanted = _bare(host)
    return bool(wanted) and any(wanted in value_hosts(v) for v in values)


def deploy_brought(hosts: Iterable[str], new: tuple[str, ...], before: tuple[str, ...]) -> bool:
    """Whether the deploy brought every one of `hosts` (the names failed lookups named): each named
    by a plain env value of the new revision and by none of the revision it replaced, which has
    plain env values of its own. False when no host is given, or the revision before has no plain
    value read (env from secrets only, or not read): what it named is then unknown."""
    hosts = set(hosts)
    return (bool(hosts) and bool(before) and "" not in hosts
            and all(names_host(new, h) and not names_host(before, h) for h in hosts))
