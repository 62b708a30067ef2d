"""What the service's VPC connector shows while requests fail, and whether it is news: the saturation
signs (instances at max, CPU, throughput) left out when they held before the failures while the
service served cleanly, ended before the failures began, or are a high-water mark of load that has
gone (found once per diagnosis by Facts.connector_news, cited here); the hang band of the requests;
and whether the failed dials to the database crossed the connector at all. connector_saturation judges the connector as a cause with these, and
database_unreachable whether the path through it is healthy: neither rule imports the other."""
from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from operator import attrgetter
from typing import Iterable

from shared.diagnosis.citation import either
from shared.diagnosis.connector_minutes import sign_of
from shared.diagnosis.connector_news import at_max_threshold, clean_before, connector_sign_series, demote
from shared.diagnosis.evidence import EvidenceItem, Revision, short_name
from shared.diagnosis.facts import FAILING_LEAD, Facts, Window, egress_of
from shared.diagnosis.log_signals import LogSignal, database_dial
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.connector_dials import env_addresses

# Read from here by connector_saturation and the tests: the words its checks and others share.
__all__ = ["CANNOT_SCALE", "CHANGE_UNDER_WAY", "at_max_threshold", "clean_before", "dials_around_connector", "either",
           "failing_revision", "hang_minutes", "held_at_onset", "instances_peak", "max_not_reached",
           "max_not_reached_words", "new_stress", "revision_p99", "still_on_a_connector", "stress", "usual_hang"]


_TEXT = attrgetter("text")


def hang_minutes(facts: Facts) -> tuple[list[float], list[float], bool]:
    """(p99 per minute, those in the hang band, whether enough were and that is news): Facts.hangs, as
    lists the caller may keep (the band is read once per diagnosis, there)."""
    p99s, in_bands, news = facts.hangs
    return list(p99s), list(in_bands), news


def usual_hang(facts: Facts) -> str:
    """'n of m' when the p99 held in the hang band before the incident while the service served cleanly
    there, else "" (Facts.usual_hangs)."""
    return facts.usual_hangs


def stress(facts: Facts, c: Citation) -> list[str]:
    """The saturation signs the connector shows that are news (Facts.connector_news, found once per
    diagnosis), its checks cited into `c`: the supporting checks `c` already holds of a sign left out
    become context, as the checks that left it out made theirs."""
    news = facts.connector_news
    if news.demoted:
        c.items = demote(c.items, news.demoted)
    c.items.extend(news.items)
    return list(news.signs)


def dials_around_connector(facts: Facts) -> str:
    """What shows the application's failed connections to its database never crossed the connector,
    or "": every serving revision's egress is PRIVATE_RANGES_ONLY ("Only private IP ranges are routed
    through the VPC connector", Cloud Run Admin v2 VpcAccess.VpcEgress; "only for private IP space
    from RFC1918", Cloud Functions VpcConnectorEgressSettings), and at least db_error_logs_min
    errors of reaching the database each name an address in the driver's own words
    (log_signals.database_dial, the reader dial_path shares) and every address they name (the local
    link-local end left out) is public (a Cloud SQL public IP, which the Auth Proxy and the Go
    connector dial by default); or, when no error names where it dialled, every serving revision's
    database settings name only public addresses (`_settings_around_connector`). Such traffic leaves
    by Cloud Run's own internet egress. An error that names a host name or a sidecar on 127.0.0.1
    without an address leaves it unknown: then "". Whether privately used public ranges are sent
    through the connector under PRIVATE_RANGES_ONLY is UNCONFIRMED; a Cloud SQL public IP is Google's,
    never such a range."""
    serving = facts.serving
    if not serving or any(r.vpc_connector is None or egress_of(r) != "PRIVATE_RANGES_ONLY" for r in serving):
        return ""
    errors = facts.database_lines(LogSignal.DB_CONNECTION)
    if len(errors) < facts.s.db_error_logs_min:
        return ""
    public: set[str] = set()
    hostless = False
    for text in dict.fromkeys(map(_TEXT, errors)):   # one failure repeats one text: read once
        dial = database_dial(text)   # the driver's own words: another address on the line is not the database's
        named = [a for a in map(ipaddress.IPv4Address, dial.addresses) if not a.is_link_local]
        hostless = hostless or not (named or dial.unplaced)
        if dial.unplaced or not all(a.is_global for a in named) or (hostless and public):
            return ""
        public.update(str(a) for a in named)
        if hostless and public:
            return ""
    if hostless:   # no error names where it dialled
        return _settings_around_connector(serving, len(errors))
    return (f"all {len(errors)} errors of reaching the database dial a public address ({', '.join(sorted(public))}) "
            "and egress is PRIVATE_RANGES_ONLY: that traffic leaves by Cloud Run's internet egress, never "
            "through the connector")


def _settings_around_connector(serving: tuple[Revision, ...], errors: int) -> str:
    """dials_around_connector when no error names where it dialled: every serving revision's database
    settings name only public addresses (connector_dials.env_addresses: a database URL or DSN, a bare
    address, never a cache's or a service's beside them), else ""."""
    public: set[str] = set()
    for revision in serving:
        addresses = env_addresses(revision.env_values)
        if not addresses or not all(a.is_global for a in addresses):
            return ""
        public.update(str(a) for a in addresses)
    return (f"all {errors} errors of reaching the database name no address, and the database settings of every "
            f"serving revision name a public one ({', '.join(sorted(public))}) while egress is PRIVATE_RANGES_ONLY: "
            "that traffic leaves by Cloud Run's internet egress, never through the connector")


def new_stress(facts: Facts) -> list[str]:
    """The saturation signs the connector shows that are news (Facts.connector_news), without citing
    them: what another rule asks when it must know whether the connector explains a failure."""
    return list(facts.connector_news.signs)


def held_at_onset(facts: Facts, signs: list[str]) -> bool | None:
    """Whether one of `signs` held at the onset of the sustained failure (Facts.sustained_since, not a lone
    early minute that cleared again), in a minute from FAILING_LEAD before its first minute to 2 x
    FAILING_LEAD after it, or was near its bar there and crossed it later (`_near_and_rising`): load that
    was there before the failures, not only once they had gone on. None when no sign has a value there
    (unread, not yet ingested) or nothing failed: that cannot be told, and the caller does not hold on it.

    The window's width is two sampling periods either side (Cloud Monitoring's metric list gives "Sampled
    every 60 seconds" for Cloud Run's request_count; for vpcaccess.googleapis.com/connector/* the period and
    the "not visible for up to N seconds" delay are UNCONFIRMED, a third-party config giving ~240 s for
    the byte counts): a sign and the failures it caused can land a minute or two apart. If the connector's
    samples are coarser, a minute with no point in the window leaves it None (scaled as before, never
    held); if later ingest leaves the newest minutes empty, the onset's minutes are older than the delay."""
    since = facts.sustained_since
    if since is None:
        return None
    onset = Window(max(since - FAILING_LEAD, facts.incident.start), min(since + 2 * FAILING_LEAD, facts.incident.end))
    read = [(values, held) for _, _, values, held in connector_sign_series(facts, signs, onset) if values]
    if not read:
        return None
    before = Window(onset.start, min(since + timedelta(seconds=60), onset.end))
    return any(held(v) for values, held in read for v in values) or _near_and_rising(facts, signs, before, onset)


def _near_and_rising(facts: Facts, signs: list[str], before: Window, onset: Window) -> bool:
    """Whether a CPU or throughput sign was near its bar (connector_minutes.Bars.near, NEAR_BAR) in `before`, the
    connector's minutes up to and including the first failing minute, and at its bar, higher than there, after
    the onset window: load already high when the failures began and rising with them. Never read "near" in the
    minutes after the onset: a retry storm raises a connector from well below its bar, and its own climb a few
    minutes into the failures is not load that was there before them."""
    at_onset, after = facts.connector_minutes(before), facts.connector_minutes(Window(onset.end, facts.incident.end))
    for sign in {sign_of(words) for words in signs}:
        early, late = at_onset.values(sign).values(), after.values(sign).values()
        if not any(at_onset.bars.near(sign, v) for v in early):
            continue
        if any(after.bars.held(sign, v) and v > max(early) for v in late):
            return True
    return False


def still_on_a_connector(facts: Facts) -> str:
    """When the newest serving revision routes through no connector (Direct VPC egress, or no VPC
    access) while older serving revisions still do, those revisions with their share of the traffic
    and connector ("OLD (50% of traffic) still routes through connector C"); else "". Each serving
    revision takes its own path (Cloud Run v2 Revision.vpc_access), so their traffic still crosses
    that connector: neither "no connector to scale" nor a verdict on the newest path alone is true."""
    newest = facts.newest_serving
    if newest is None or newest.vpc_connector:
        return ""
    service = facts.b.service
    return "; ".join(f"{r.short_name} ({service.serving_percent(r.short_name):g}% of traffic) still routes through "
                     f"connector {short_name(r.vpc_connector)}" for r in facts.serving if r.vpc_connector)


_PEAK = re.compile(r"max (\d+) instances")


def instances_peak(evidence: Iterable[EvidenceItem], max_instances: int) -> int | None:
    """The most instances the connector ran in the incident window, as the instances check of `_signs`
    read it against `max_instances`; None when that check is not in `evidence` or read no point."""
    threshold = at_max_threshold(max_instances)
    for item in evidence:
        if item.source == "metric" and item.threshold == threshold:
            peak = _PEAK.fullmatch(item.observed)
            return int(peak.group(1)) if peak else None
    return None


def max_not_reached(evidence: Iterable[EvidenceItem], max_instances: int) -> int | None:
    """The instances' peak when the connector ran fewer than the max it has in the incident window
    (the instances check of `_signs`), else None (the max reached, or that check read no point). A
    higher max then changes nothing: planning plans no max raise for it, and the diagnosis's
    recommendation says so, both from this one test."""
    peak = instances_peak(evidence, max_instances)
    return peak if peak is not None and peak < max_instances else None


def max_not_reached_words(peak: int, max_instances: int) -> str:
    """Why a max that was never reached is not raised, in the words planning and the recommendation share."""
    return (f"its instances peaked at {peak} of its {max_instances} max instances in the incident window "
            "(connector/instances): the max is not what holds it back, so raising the max changes nothing")


# Connector states in which a change of the connector is under way and ends by itself (VPC Access v1
# Connector.State: UPDATING "The connector is being updated", CREATING "An Insert operation is in
# progress. Transient condition"): it is scaled once READY. In any other state but READY it is not scaled.
CHANGE_UNDER_WAY = ("UPDATING", "CREATING")
CANNOT_SCALE = "it cannot be scaled in that state; a person must look at it first"


def failing_revision(facts: Facts, c: Citation) -> tuple[Revision | None, str]:
    """The serving revision whose path is judged, and, when the traffic is split, the words that name
    it with its share: the one that carries the most failing requests in the failing minutes (5xx and
    429 answers, a p99 at hang_latency_seconds counting all its requests), else the newest serving one.
    Each revision takes its own path to its VPC (Cloud Run v2 Revision.vpc_access: connector, egress,
    network_interfaces, google/cloud/run/v2/revision.proto and vendor_settings.proto), and its share is
    Service.traffic_statuses' (google/cloud/run/v2/service.proto): in a split (a gradual rollout, a
    migration to Direct VPC egress) the newest revision's path says nothing of the failing one's.
    connector_saturation and database_unreachable both judge this revision's path."""
    s, window, newest = facts.s, facts.failing_window, facts.newest_serving
    if window is None or len(facts.serving) < 2:
        return newest, ""
    def failing(revision: Revision) -> float:
        counts = facts.requests(window, revision.short_name)
        hung = max(revision_p99(facts, window, revision.short_name), default=0.0) >= s.hang_latency_seconds
        return counts.total if hung else counts.refused
    failed = {r.short_name: failing(r) for r in facts.serving}
    judged = max(facts.serving, key=lambda r: (failed[r.short_name], r.create_time))
    total = sum(failed.values())
    if not total:
        return newest, ""
    share = facts.b.service.serving_percent(judged.short_name)
    words = (f"{judged.short_name} ({share:g}% of traffic, {failed[judged.short_name]:.0f} of the {total:.0f} "
             "failing requests)")
    c.cite("metric", f"run.services.get: traffic_statuses; {facts.requests_query}",
           f"{words} in {window}", "the path judged is the serving revision's that carries the most failing "
           "requests", None, role="context")
    return judged, words


def revision_p99(facts: Facts, window: Window, revision: str) -> list[float]:
    """One revision's p99 latency per minute of the window, in seconds (request_latencies grouped by
    revision, as the latency query reads it)."""
    return [v / 1000.0 for points in facts.points(facts.b.latencies)
            if points.label("resource.labels.revision_name") == revision for v in points.values_in(window)]
