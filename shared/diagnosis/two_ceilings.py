"""Two ceilings at once: the service's VPC connector at its ceiling and Cloud Run at its max instances, told
apart by which came first, minute by minute, and by what the requests did; never by one snapshot. Pure, no I/O.

Cloud Run scales a revision to the instances its requests in flight need, up to its max instances, and then
refuses what it cannot place with 429 "The request was aborted because there was no available instance"
(cloud.google.com/run/docs/about-instance-autoscaling; /configuring/max-instances; /troubleshooting). Each
instance takes up to its requests per instance (/about-concurrency), so at the same load a request that hangs
longer holds its slot longer: in flight = rate x latency (Little's law), and a slower path alone takes a revision
to its max. A connector at its ceiling (its max instances under load: CPU, or its throughput, about 100 Mbps an
e2-micro instance, cloud.google.com/vpc/docs/serverless-vpc-access, "Throughput" and machine types) makes the
dials through it wait to the driver's connect timeout. Its instance count alone is no ceiling: "Connectors don't
scale in" (same page, Scaling), so an idle connector stays at its max long after the load that took it there
(saturated_stretch.ceiling_minutes reads a minute at the ceiling so). Hence:

- the connector at its ceiling LEAD or more before the revision reached its max, with the requests hung on its
  path (at least db_error_logs_min dials to the database timed out): the max instances are the connector's
  consequence, and the connector is the cause. A p99 in the hang band alone is not that: a query that reaches
  the database and returns slowly holds its instance as long (a slow query, a lock), and its time includes the
  path and the database alike;
- the revision at its max LEAD or more before the connector's ceiling, or the connector never at its ceiling,
  with the requests answered fast (no minute's p99 in the hang band, fewer than db_error_logs_min errors of
  reaching the database): Cloud Run's max is the cause, and the connector is not shown to be one;
- anything else (both within LEAD of each other, or the order and the requests disagree): no order, both named.

LEAD is two minutes: each series is sampled every 60 s and aligned on its own, so one minute apart is within a
sample of either and says nothing of which came first (a choice, not a documented figure).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from shared.diagnosis.evidence import EvidenceItem, at_micros
from shared.diagnosis.facts import Facts, hms, query_of
from shared.diagnosis.log_signals import LogSignal, dial_timed_out, per_text
from shared.diagnosis.rules.deploy_changes import DEFAULT_MAX_INSTANCES
from shared.diagnosis.saturated_stretch import ceiling_minutes
from shared.diagnosis.signatures import Finding, Signature

LEAD = timedelta(minutes=2)


class Lead(Enum):
    CONNECTOR = "connector"
    SERVICE = "service"


@dataclass(frozen=True)
class Order:
    """Which ceiling led (None: no order the evidence can tell), in words, with the evidence item that says so."""
    lead: Lead | None
    words: str
    item: EvidenceItem


def ceilings_order(facts: Facts) -> Order | None:
    """The order of the two ceilings and what the requests did (the module's docstring); None when the newest
    serving revision never reached its max instances in the incident window (or none were read)."""
    at_max = _first_at_max(facts)
    if at_max is None:
        return None
    service_at, limit = at_max
    minutes = ceiling_minutes(facts, facts.incident)
    connector_at = at_micros(minutes[0]) if minutes else None
    hung, fast, did = _what_requests_did(facts)
    connector = facts.b.connector
    name = connector.short_name if connector else "-"
    ceiling = (f"connector {name} at its ceiling (its {connector.max_instances} max instances under load) from "
               f"the minute to {hms(connector_at)}" if connector_at else f"connector {name} never at its ceiling (its max instances "
               "under load)")
    observed = f"{ceiling}; the revision at its {limit} from the minute to {hms(service_at)}; {did}"
    if connector_at is not None and connector_at <= service_at - LEAD and hung:
        lead, words = Lead.CONNECTOR, (f"the connector reached its ceiling at {hms(connector_at)}, "
                                       f"{_minutes(service_at - connector_at)} before the revision reached its {limit} "
                                       f"at {hms(service_at)}, while {did}: the max instances are its consequence")
    elif (connector_at is None or service_at <= connector_at - LEAD) and fast:
        lead, words = Lead.SERVICE, (f"the revision reached its {limit} at {hms(service_at)}"
                                     + (f", {_minutes(connector_at - service_at)} before the connector's ceiling"
                                        if connector_at else ", and the connector never reached its ceiling")
                                     + f", while {did}: the connector is not shown to hold the requests")
    else:
        lead, words = None, f"{observed}: no order the evidence can tell, so both are named"
    item = EvidenceItem(source="metric", query=f"{query_of(facts.b.connector_instances, 'connector/instances')}; "
                        f"connector/cpu/utilizations; connector bytes; {query_of(facts.b.instances, 'container/instance_count')}; "
                        f"{facts.b.latencies.query if facts.b.latencies else 'request_latencies'}",
                        observed=observed,
                        threshold=(f"the connector's ceiling >= {_minutes(LEAD)} before the revision's max with requests "
                                   f"hung on its path (>= {facts.s.db_error_logs_min} dials timed out): the connector; "
                                   "the revision's max "
                                   f">= {_minutes(LEAD)} first, or no connector ceiling, with requests fast (every minute's p99 under "
                                   f"{facts.s.hang_latency_seconds:g} s, < {facts.s.db_error_logs_min} errors of reaching the "
                                   "database): capacity; "
                                   "else both"),
                        passed=lead is not None, role="supports" if lead else "context",
                        about={Lead.CONNECTOR: Signature.CONNECTOR_SATURATION.value,
                               Lead.SERVICE: Signature.CAPACITY.value}.get(lead, ""))
    return Order(lead, words, item)


def resolve(facts: Facts, matched: list[Finding], doubted: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """`matched` and `doubted` with capacity and connector_saturation told apart by `ceilings_order` when capacity
    matched and the connector's finding matched or was not ruled out: the one that led stays, with the order in
    its summary and evidence, and the other leaves; with no order both stay, the order cited beside capacity.
    The connector leads only from its own match: a connector held back for another reason still competes."""
    capacity = next((f for f in matched if f.signature is Signature.CAPACITY), None)
    connector = next((f for f in matched + doubted if f.signature is Signature.CONNECTOR_SATURATION), None)
    if capacity is None or connector is None:
        return matched, doubted
    order = ceilings_order(facts)
    if order is None:
        return matched, doubted
    if order.lead is Lead.CONNECTOR and connector.matched:
        kept = _told(connector, order)
        return [kept if f is connector else f for f in matched if f is not capacity], doubted
    if order.lead is Lead.SERVICE:
        kept = _told(capacity, order)
        return ([kept if f is capacity else f for f in matched if f is not connector],
                [f for f in doubted if f is not connector])
    return [f.model_copy(update={"evidence": f.evidence + (order.item,)}) if f is capacity else f
            for f in matched], doubted


def _told(finding: Finding, order: Order) -> Finding:
    """The finding that led, with the order in its summary, and in its evidence once (the connector's rule may
    have cited it already)."""
    cited = () if order.item in finding.evidence else (order.item,)
    return finding.model_copy(update={"summary": f"{finding.summary}; {order.words}",
                                      "evidence": finding.evidence + cited})


def _first_at_max(facts: Facts) -> tuple[datetime, str] | None:
    """(the end of the first minute the newest serving revision was at its max instances, that max in words): its
    own max_instance_count (unset: Cloud Run's default of 100), or the service-level one reached by the serving
    revisions together (Service.scaling, as capacity reads them); None when neither was reached."""
    revision = facts.newest_serving
    if revision is None:
        return None
    own = revision.max_instance_count or DEFAULT_MAX_INSTANCES
    reached: list[tuple[int, str]] = []
    per_revision: dict[str, dict[int, float]] = {}
    for series in facts.points(facts.b.instances):
        counts = per_revision.setdefault(series.label("resource.labels.revision_name"), {})
        for at, value in zip(*series.columns_in(facts.incident)):
            counts[at] = counts.get(at, 0.0) + value
    mine = per_revision.get(revision.short_name, {})
    reached += [(at, f"max {own} instances") for at in sorted(mine) if mine[at] >= own][:1]
    shared = facts.b.service.max_instance_count
    if shared:
        totals: dict[int, float] = {}
        for name in (r.short_name for r in facts.serving):
            for at, value in per_revision.get(name, {}).items():
                totals[at] = totals.get(at, 0.0) + value
        reached += [(at, f"service-level max {shared} instances") for at in sorted(totals) if totals[at] >= shared][:1]
    if not reached:
        return None
    at, words = min(reached)
    return at_micros(at), words


def _what_requests_did(facts: Facts) -> tuple[bool, bool, str]:
    """(hung, fast, in words) over the failing minutes: hung on the connector's path when at least db_error_logs_min
    dials to the database timed out (log_signals.dial_timed_out); fast when no minute's p99 reached
    hang_latency_seconds and fewer than db_error_logs_min errors of reaching the database were logged."""
    s = facts.s
    window = facts.failing_window or facts.incident
    p99 = max((value for _, value in facts.p99_by_minute(window)), default=0.0)
    errors = facts.database_lines(LogSignal.DB_CONNECTION)
    timed_out = per_text(dial_timed_out, errors)   # each distinct text read once, never each line
    dials = sum(1 for e in errors if timed_out[e.text])
    hung = dials >= s.db_error_logs_min
    fast = p99 < s.hang_latency_seconds and len(errors) < s.db_error_logs_min
    words = (f"requests' p99 up to {p99:.1f} s (hang band from {s.hang_latency_seconds:g} s), {dials} dials to the "
             f"database timed out and {len(errors)} errors of reaching it logged (at {s.db_error_logs_min} they count)")
    return hung, fast, words


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"
