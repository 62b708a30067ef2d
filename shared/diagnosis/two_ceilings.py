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
(saturated_stretch.ceiling_states reads each minute at the ceiling or under it so). Hence:

- the connector at its ceiling LEAD or more before the revision reached its max, with the requests hung on its
  path (at least db_error_logs_min dials to the database timed out): the max instances are the connector's
  consequence, and the connector is the cause. A p99 in the hang band alone is not that: a query that reaches
  the database and returns slowly holds its instance as long (a slow query, a lock), and its time includes the
  path and the database alike;
- the revision at its max LEAD or more before the connector's ceiling, or the connector never at its ceiling,
  with the requests answered fast (no minute's p99 in the hang band, fewer than db_error_logs_min errors of
  reaching the database): Cloud Run's max is the cause, and the connector is not shown to be one;
- anything else (both within LEAD of each other, or the order and the requests disagree): no order, both named.

Each ceiling is dated by the stretch at it that runs into the incident, never by its first minute at it: a
minute at the ceiling that went back under (a burst, an earlier load that ended) is not the ceiling the failures
met. A stretch is the minutes at the ceiling with none read under between them; a minute Monitoring left out is
neither (not read as under, nor as at it). The revision's stretch is its newest at its max; the connector's is its
first not read to have ended before the revision's began. Gaps make a start uncertain, and the order is told only
when it holds however they are read:

- `begun`, the latest a stretch can have begun: its oldest minute at the ceiling from which it never fell under
  `hang_minutes_ratio` of the minutes at it (a minute left out counts as not at it), so a lone minute before a
  long gap is no start (the share of minutes that makes a hang the window's, reused rather than a new figure);
- `since`, the earliest: the minute after the last one read under it (None: at it from the first minute read).

The one that leads must have begun (`begun`) LEAD or more before the other could have (`since`).

LEAD is two minutes: a choice, not a documented figure. Each series is sampled every 60 s and aligned on its
own, so one minute apart is within a sample of either and says nothing of which came first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from shared.diagnosis.evidence import EvidenceItem, at_micros
from shared.diagnosis.facts import Facts, hms, query_of
from shared.diagnosis.log_signals import LogSignal, dial_timed_out, per_text
from shared.diagnosis.rules.deploy_changes import DEFAULT_MAX_INSTANCES
from shared.diagnosis.saturated_stretch import ceiling_states
from shared.diagnosis.signatures import Finding, Signature

# A choice, not a documented figure (the module's docstring): one minute apart is within a sample of either.
LEAD = timedelta(minutes=2)
_MINUTE_US = 60_000_000
_LEAD_US = int(LEAD.total_seconds()) * 1_000_000


class Lead(Enum):
    CONNECTOR = "connector"
    SERVICE = "service"


@dataclass(frozen=True)
class Order:
    """Which ceiling led (None: no order the evidence can tell), in words, with the evidence item that says so."""
    lead: Lead | None
    words: str
    item: EvidenceItem


@dataclass(frozen=True)
class Stretch:
    """Minutes at a ceiling with none read under between them (microsecond minute ends): `begun`, the latest it
    can have begun; `since`, the earliest (None: at it from the first minute read); `first`, its oldest minute
    read at it; `until`, the first minute read under after it (None: still at it when last read). The module's
    docstring."""
    since: int | None
    begun: int
    first: int
    until: int | None


def stretches(states: dict[int, bool], ratio: float) -> list[Stretch]:
    """The stretches at a ceiling in per-minute `states` (True at it, False read under it, a minute left out
    absent), oldest first; `ratio` (hang_minutes_ratio) dates each one's `begun`."""
    found: list[Stretch] = []
    run: list[int] = []
    under: int | None = None
    for at in sorted(states):
        if states[at]:
            run.append(at)
            continue
        if run:
            found.append(Stretch(_after(under), _begun(run, ratio), run[0], at))
            run = []
        under = at
    if run:
        found.append(Stretch(_after(under), _begun(run, ratio), run[0], None))
    return found


def _after(under: int | None) -> int | None:
    return None if under is None else under + _MINUTE_US


def _begun(run: list[int], ratio: float) -> int:
    """The oldest minute of `run` from which every later minute at the ceiling was reached with at least `ratio`
    of the minutes between at it (a minute left out is not at it): a lone minute before a long gap is no start."""
    begun = run[-1]
    for i in range(len(run) - 2, -1, -1):
        if all((j - i + 1) * _MINUTE_US >= ratio * (run[j] - run[i] + _MINUTE_US) for j in range(i + 1, len(run))):
            begun = run[i]
    return begun


def ceilings_order(facts: Facts) -> Order | None:
    """The order of the two ceilings, found once per diagnosis (the connector's rule and `resolve` both read it)."""
    return facts.once(_ceilings_order)


def _ceilings_order(facts: Facts) -> Order | None:
    """The order of the two ceilings and what the requests did (the module's docstring); None when the newest
    serving revision was never at its max instances in the incident window (or none were read)."""
    at_max = _max_stretch(facts)
    if at_max is None:
        return None
    service, limit, earlier = at_max
    runs = stretches(ceiling_states(facts, facts.incident), facts.s.hang_minutes_ratio)
    connector_run = next((r for r in runs if r.until is None or service.since is None or r.until > service.since),
                         None)
    hung, fast, did = _what_requests_did(facts)
    connector = facts.b.connector
    name = connector.short_name if connector else "-"
    service_at = at_micros(service.begun)
    connector_at = at_micros(connector_run.begun) if connector_run else None
    if connector and connector_run:
        ceiling = (f"connector {name} at its ceiling (its {connector.max_instances} max instances under load) from "
                   f"the minute to {hms(connector_at)}{_unsure(connector_run)}")
    elif runs:
        ceiling = (f"connector {name} at its ceiling (its max instances under load) only in a stretch that ended "
                   f"before the revision reached its max (read under it at {hms(at_micros(runs[-1].until or 0))})")
    else:
        ceiling = f"connector {name} never at its ceiling (its max instances under load)"
    observed = f"{ceiling}; the revision at its {limit} from the minute to {hms(service_at)}{_unsure(service)}; {did}"
    if connector_run and _first(connector_run, service) and hung:
        lead, words = Lead.CONNECTOR, (f"the connector reached its ceiling at {hms(connector_at)}, "
                                       f"{_minutes(service_at - connector_at)} before the revision reached its {limit} "
                                       f"at {hms(service_at)}, while {did}: the max instances are its consequence")
    elif (connector_run is None or _first(service, connector_run)) and fast:
        lead, words = Lead.SERVICE, (f"the revision reached its {limit} at {hms(service_at)}"
                                     + (f", {_minutes(connector_at - service_at)} before the connector's ceiling"
                                        if connector_at else ", and the connector was not at its ceiling while it "
                                                             "was there" if runs else
                                        ", and the connector never reached its ceiling")
                                     + f", while {did}: the connector is not shown to hold the requests")
    else:
        lead, words = None, f"{observed}: no order the evidence can tell, so both are named"
    item = EvidenceItem(source="metric", query=f"{query_of(facts.b.connector_instances, 'connector/instances')}; "
                        f"connector/cpu/utilizations; connector bytes; {query_of(facts.b.instances, 'container/instance_count')}; "
                        f"{facts.b.latencies.query if facts.b.latencies else 'request_latencies'}",
                        observed=observed,
                        threshold=(_stretch_rule(facts, runs, service, connector_run, earlier) +
                                   f"the connector's ceiling >= {_minutes(LEAD)} before the revision's max with requests "
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


def _first(leader: Stretch, other: Stretch) -> bool:
    """Whether `leader` began LEAD or more before `other` could have, however the minutes left out are read."""
    return other.since is not None and leader.begun <= other.since - _LEAD_US


def _stretch_rule(facts: Facts, runs: list[Stretch], service: Stretch, connector: Stretch | None,
                  earlier: bool) -> str:
    """The rule that dated the ceilings, said only where it set a minute at a ceiling aside or left a start open
    (else "": each ceiling's first minute began its stretch, as a first minute reads)."""
    if (not earlier and len(runs) < 2 and not _unsure(service) and (connector is None or not _unsure(connector))
            and (not runs or connector is runs[0])):
        return ""
    return (f"each ceiling dated by its stretch that runs into the incident, from its oldest minute at it with >= "
            f"{facts.s.hang_minutes_ratio:.0%} (hang_minutes_ratio) of the minutes on to each later one at it, a minute "
            f"left out read as neither under nor at it, and a lead told only when it holds however they are read; ")


def _unsure(run: Stretch) -> str:
    """The stretch's start in words when minutes left out leave it open (else ""): it may have begun as early as
    `since` (or its first minute read at it, with nothing read under before)."""
    earliest = run.first if run.since is None else run.since
    if earliest >= run.begun:
        return ""
    return f" (or from as early as the minute to {hms(at_micros(earliest))}: minutes left out between)"


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


def _max_stretch(facts: Facts) -> tuple[Stretch, str, bool] | None:
    """(the newest stretch the revision the incident followed (Facts.followed) was at its max instances, that
    max in words, whether an earlier stretch at it was set aside): its own
    max_instance_count (unset: Cloud Run's default of 100), or the service-level one reached by the serving
    revisions together (Service.scaling, as capacity reads them), whichever stretch began first; None when
    neither was reached. A minute whose count was left out (for the service-level max: of any serving revision
    read in the window) is not read as under."""
    revision = facts.followed   # the incident's limits, not those of a fix made since it began
    if revision is None:
        return None
    own = revision.max_instance_count or DEFAULT_MAX_INSTANCES
    per_revision: dict[str, dict[int, float]] = {}
    for series in facts.points(facts.b.instances):
        counts = per_revision.setdefault(series.label("resource.labels.revision_name"), {})
        for at, value in zip(*series.columns_in(facts.incident)):
            counts[at] = counts.get(at, 0.0) + value
    ratio = facts.s.hang_minutes_ratio
    mine = per_revision.get(revision.short_name, {})
    runs = stretches({at: v >= own for at, v in mine.items()}, ratio)
    found = [(run, f"max {own} instances", len(runs) > 1) for run in runs[-1:]]
    shared = facts.b.service.max_instance_count
    if shared:
        read = [per_revision[r.short_name] for r in facts.serving if per_revision.get(r.short_name)]
        totals = {at: sum(counts.get(at, 0.0) for counts in read) for at in set().union(*read)}
        states = {at: total >= shared for at, total in totals.items()
                  if total >= shared or all(at in counts for counts in read)}
        runs = stretches(states, ratio)
        found += [(run, f"service-level max {shared} instances", len(runs) > 1) for run in runs[-1:]]
    return min(found, key=lambda f: f[0].begun, default=None)


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
