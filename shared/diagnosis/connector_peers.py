"""Another managed service behind the same connector, serving cleanly while the one it is blamed for fails.

A Serverless VPC Access connector is one resource that several serverless services may use: "You can then
configure your serverless services to use the connector for outbound network traffic" (cloud.google.com/vpc/
docs/serverless-vpc-access, "How it works"), and its throughput is that of its instances, set by its machine
type and instance count ("Throughput and scaling", the same page; cloud.google.com/run/docs/configuring/
vpc-connectors), whoever sends through it. So a saturated connector (its CPU spent, its throughput reached)
delays or drops the packets of every service that crosses it alike, as connector_saturation's `_clean_peer`
reads it of two revisions of one service. A busy user served cleanly in the very minutes another failed is
evidence against the connector: the failures are likelier the failing service's own (its pool, its database
calls, its code). Not ruled out (a connector could favour some flows: UNCONFIRMED, nothing documented says
either way), so it competes and a person decides; a peer that is idle (too few requests to tell) or failing
too is no such evidence, and the connector is judged as before.

Read from the evidence each user's diagnosis already collected (its request_count and request_latencies, per
revision and per minute): no call is added. A user's traffic through the connector is that of its serving
revisions that name it plainly (connector_names.names_connector YES: one named by a project number that cannot be
told from its project is not known to cross it, and its alert is escalated for that already, scope.by_number_held);
which of its requests left
through the connector (egress PRIVATE_RANGES_ONLY sends only private ranges) the metrics do not say, so a
peer's clean requests hold a scale back, never make one.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.config import DiagnosisSettings
from shared.diagnosis.connector_names import Naming, names_connector
from shared.diagnosis.evidence import EvidenceBundle, EvidenceItem, short_name
from shared.diagnosis.facts import Facts, Window
from shared.diagnosis.latency_words import latency
from shared.diagnosis.rules.base import pct
from shared.diagnosis.rules.connector_signs import revision_p99
from shared.diagnosis.served_cleanly import served_cleanly


@dataclass(frozen=True)
class CleanPeer:
    """A user of the connector that served cleanly in the failing minutes of another."""

    service: str
    requests: float
    refused_ratio: float
    p99: float          # seconds, the largest of its minutes in the window


def clean_peer(connector: str, failing: EvidenceBundle, peers: list[tuple[str, EvidenceBundle]],
               settings: DiagnosisSettings) -> tuple[CleanPeer, Window] | None:
    """The first of `peers` (service, its evidence) that served cleanly through `connector` in `failing`'s
    failing minutes (Facts.failing_window), with those minutes; None when none did, or when the failing
    service's minutes are not known. Clean: at least min_requests requests on its serving revisions that
    route through the connector, a 5xx-and-429 share at most healthy_error_ratio, and its p99 read and under
    hang_latency_seconds in every minute (served_cleanly: the bars connector_saturation's `_clean_peer` holds a
    revision to)."""
    window = Facts(failing, settings).failing_window
    if window is None:
        return None
    for service, bundle in peers:
        found = _clean(service, connector, bundle, window, settings)
        if found is not None:
            return found, window
    return None


def _clean(service: str, connector: str, bundle: EvidenceBundle, window: Window,
           settings: DiagnosisSettings) -> CleanPeer | None:
    facts = Facts(bundle, settings)
    through = [r.short_name for r in facts.serving
               if names_connector(bundle.service, r.vpc_connector, connector) is Naming.YES]
    if not through:
        return None
    requests = {name: facts.requests(window, name) for name in through}
    total = sum(r.total for r in requests.values())
    refused = sum(r.refused for r in requests.values()) / total if total else 0.0
    p99 = _through_p99(facts, window, [name for name, r in requests.items() if r.total])
    if not served_cleanly(total, refused, p99, settings):
        return None     # idle (too few requests to tell), failing too, or its latency not read
    return CleanPeer(service, total, refused, p99)


def _through_p99(facts: Facts, window: Window, revisions: list[str]) -> float | None:
    """The largest p99 of a minute of `revisions` (those through the connector that served in the window), read per
    revision (request_latencies grouped by revision_name, as connector_saturation's `_clean_peer` reads it): a
    revision on no connector, or an old one no longer routed, says nothing of the connector's flows, slow or fast.
    None when one of them has no p99 read: its latency unknown, the peer is not shown clean."""
    per_revision = [revision_p99(facts, window, name) for name in revisions]
    if not per_revision or not all(per_revision):
        return None
    return max(max(p99s) for p99s in per_revision)


def peer_evidence(connector: str, failing: str, peer: CleanPeer, window: Window,
                  settings: DiagnosisSettings) -> EvidenceItem:
    """The clean peer as evidence against the connector's saturation, with the bars it was held to."""
    return EvidenceItem(
        source="metric", query=f"diagnosis of {peer.service}: run request_count and request_latencies in {window}",
        observed=f"{short_name(peer.service)} served {peer.requests:.0f} requests through {short_name(connector)}, "
                 f"{pct(peer.refused_ratio)} 5xx or 429, p99 max {latency(peer.p99)}, while "
                 f"{short_name(failing)} failed",
        threshold=f"every busy user of the connector failing (one with >= {settings.min_requests} requests at most "
                  f"{settings.healthy_error_ratio:.0%} 5xx or 429 and p99 under "
                  f"{settings.hang_latency_seconds:g} s rules it out)",
        passed=False, role="refutes", about="connector_saturation")


def peer_words(connector: str, failing: str, peer: CleanPeer) -> str:
    """Why the connector is not shown to be the cause, naming both services."""
    return (f"{short_name(peer.service)} served {peer.requests:.0f} requests through connector "
            f"{short_name(connector)} cleanly in the minutes {short_name(failing)} failed "
            f"({pct(peer.refused_ratio)} 5xx or 429, p99 max {latency(peer.p99)}): a saturated connector delays or "
            f"drops the packets of every service that crosses it alike, so the failures may be "
            f"{short_name(failing)}'s own")


PEER_CLEAN = ("compare what the failing service does that the clean one does not (its database calls, its pool and "
              "timeouts, its instances), and look at the connector's CPU and throughput; raise the connector's max "
              "instances only if the service that serves cleanly starts failing too")
