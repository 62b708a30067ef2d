"""Where the database dials that timed out were going, and whether that path crosses the connector:
pure, no I/O. connector_saturation reads it when requests fail as 5xx at the driver's own connect
timeout (no 503, no hang): such failures are the connector's only when the dials cross it."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import NamedTuple

from shared.diagnosis.env_hosts import database_hosts
from shared.diagnosis.log_signals import database_dial


class DialPath(NamedTuple):
    """The addresses the timed-out dials went to, where they were read ("the lines", "the revision's
    env", or "" when nothing names one), and whether that path crosses the connector: True, False (a
    public address under PRIVATE_RANGES_ONLY: never through it), None (unknown)."""

    addresses: tuple[str, ...]
    read_from: str
    crosses: bool | None


def _placed(addresses: Iterable[str]) -> list[ipaddress.IPv4Address]:
    # A link-local or unspecified address is no destination across the network. In address order: the
    # addresses come from sets (env_hosts.database_hosts, log_signals.DatabaseDial), whose order follows
    # PYTHONHASHSEED, and the words and evidence must be one from run to run.
    found = sorted({ipaddress.IPv4Address(a) for a in addresses})
    return [a for a in found if not (a.is_link_local or a.is_unspecified)]


def env_addresses(env_values: Iterable[str]) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses the revision's database settings name (env_hosts.database_hosts), or None when
    they do not place the database (a host name, a Cloud SQL connection name, loopback: a proxy beside
    the application, whose own dial they do not give)."""
    hosts = database_hosts(env_values)
    if hosts is None:
        return None
    addresses = [ipaddress.ip_address(h) for h in hosts]
    if any(a.version != 4 or a.is_loopback for a in addresses):
        return None
    return _placed(str(a) for a in addresses)


def dial_path(texts: Iterable[str], env_values: Iterable[str], egress: str) -> DialPath:
    """Under ALL_TRAFFIC every dial crosses the connector ("All outbound traffic is routed through the
    VPC connector", Cloud Run Admin API v2 VpcAccess.VpcEgress, google/cloud/run/v2/vendor_settings.proto);
    under PRIVATE_RANGES_ONLY only private ranges do ("Only private IP ranges are routed through the VPC
    connector", the same enum). Where the dials went is read from the driver's own words only
    (log_signals.database_dial, the reader database_unreachable's deploy check shares): another address
    a line prints (a client's, a request's, a cache's) is not the database's. A line that names a host
    name or loopback without an address leaves the path unknown; lines that name nothing go where the
    others name, else where the revision's database settings name (`env_addresses`), else unknown.
    All private cross it, all public do not, anything else is unknown."""
    named: list[ipaddress.IPv4Address] = []
    unplaced: set[str] = set()
    for text in dict.fromkeys(texts):
        dial = database_dial(text)
        named.extend(_placed(dial.addresses))
        unplaced |= dial.unplaced
    named = sorted(set(named))
    read_from = "the lines" if named or unplaced else ""
    if not named and not unplaced:
        named = env_addresses(env_values) or []
        read_from = "the revision's env" if named else ""
    shown = tuple(str(a) for a in named) + tuple(sorted(h for h in unplaced if h not in _LOOPBACK_NAMES
                                                         and not _loopback(h)))
    if egress == "ALL_TRAFFIC":
        return DialPath(shown, read_from, True)
    if not named or unplaced:
        return DialPath(shown, read_from, None)
    if all(a.is_private for a in named):
        return DialPath(shown, read_from, True)
    return DialPath(shown, read_from, False if all(a.is_global for a in named) else None)


_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
