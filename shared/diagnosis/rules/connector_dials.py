"""Where the database dials that timed out were going, and whether that path crosses the connector:
pure, no I/O. connector_saturation reads it when requests fail as 5xx at the driver's own connect
timeout (no 503, no hang): such failures are the connector's only when the dials cross it."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple

from shared.diagnosis.env_hosts import value_hosts

_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


class DialPath(NamedTuple):
    """The addresses the timed-out dials went to, where they were read ("the lines", "the revision's
    env", or "" when nothing names one), and whether that path crosses the connector: True, False (a
    public address under PRIVATE_RANGES_ONLY: never through it), None (unknown)."""

    addresses: tuple[str, ...]
    read_from: str
    crosses: bool | None


def ipv4_literals(text: str) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a text writes out, in order (four dotted numbers, each at most 255)."""
    return [ipaddress.IPv4Address(a) for a in _IPV4.findall(text) if all(int(part) <= 255 for part in a.split("."))]


def _addresses(texts: Iterable[str]) -> list[ipaddress.IPv4Address]:
    # The local end a line may print (link-local, loopback) is not where it dialled.
    found = [a for text in texts for a in ipv4_literals(text)
             if not (a.is_link_local or a.is_loopback or a.is_unspecified)]
    return list(dict.fromkeys(found))


def _env_addresses(env_values: Iterable[str]) -> list[ipaddress.IPv4Address]:
    """The IPv4 literals the revision's plain env values name as hosts (a DSN's, a URL's, a bare one)."""
    return _addresses(h for value in env_values for h in value_hosts(value))


def dial_path(texts: Iterable[str], env_values: Iterable[str], egress: str) -> DialPath:
    """Under ALL_TRAFFIC every dial crosses the connector ("All outbound traffic is routed through the
    VPC connector", Cloud Run Admin API v2 VpcAccess.VpcEgress, google/cloud/run/v2/vendor_settings.proto);
    under PRIVATE_RANGES_ONLY only private ranges do ("Only private IP ranges are routed through the VPC
    connector", the same enum): the addresses the lines name, else the ones the revision's env names,
    all private cross it, any public one does not, none named leaves it unknown."""
    named = _addresses(texts)
    read_from = "the lines" if named else ""
    if not named:
        named = _env_addresses(env_values)
        read_from = "the revision's env" if named else ""
    shown = tuple(str(a) for a in named)
    if egress == "ALL_TRAFFIC":
        return DialPath(shown, read_from, True)
    if not named:
        return DialPath(shown, read_from, None)
    if all(a.is_private for a in named):
        return DialPath(shown, read_from, True)
    return DialPath(shown, read_from, False if all(a.is_global for a in named) else None)
