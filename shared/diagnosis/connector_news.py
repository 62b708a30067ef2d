"""The VPC connector's saturation signs that are news, with the checks that found them: computed once per
diagnosis by Facts (Facts.connector_news calls `news_of` on first use), cited by connector_saturation
(connector_signs.stress) and asked by database_unreachable (connector_signs.new_stress). Pure, no I/O: it
reads the facts it is given. It lives below facts.py, which calls it, and imports nothing from it: what it
reads of Facts is named by a Protocol (`ConnectorFacts`), as an import of Facts, even for types only,
would close an import circle (tests/unit/test_architecture.py reads every import)."""
from __future__ import annotations

from functools import partial
from typing import Callable, Iterator, NamedTuple, Protocol

from shared.config import DiagnosisSettings
from shared.diagnosis.citation import Citation, either, pct, query_of
from shared.diagnosis.connector_minutes import ConnectorMinutes, Sign, sign_of
from shared.diagnosis.evidence import EvidenceBundle, EvidenceItem, MetricResult
from shared.diagnosis.signatures import Signature
from shared.diagnosis.windows import FAILING_LEAD, Window


class _Hangs(Protocol):
    @property
    def news(self) -> bool: ...


class _Served(Protocol):
    @property
    def total(self) -> float: ...

    @property
    def refused_ratio(self) -> float: ...


class ConnectorFacts(Protocol):
    """What the connector's news reads of Facts (facts.Facts, which passes itself to `news_of`): its
    evidence and settings, its windows, the hang band (facts.HangBand), the requests before the incident
    when clean (facts.Requests), and the connector's series per window."""

    b: EvidenceBundle
    s: DiagnosisSettings

    @property
    def incident(self) -> Window: ...

    @property
    def before(self) -> Window: ...

    @property
    def failing_window(self) -> Window | None: ...

    @property
    def hangs(self) -> _Hangs: ...

    @property
    def served_cleanly_before(self) -> _Served | None: ...

    def connector_values(self, result: MetricResult | None, window: Window) -> list[float]: ...

    def connector_cpu(self, window: Window) -> list[float]: ...

    def connector_bytes(self, window: Window) -> list[float]: ...

    def connector_bytes_source(self, window: Window) -> tuple[MetricResult | None, str]: ...

    def connector_ceiling_mbps(self) -> float | None: ...

    def connector_minutes(self, window: Window) -> ConnectorMinutes: ...


class ConnectorNews(NamedTuple):
    """The connector's saturation signs that are news (Facts.connector_news), with the checks that found
    them, cited as connector_saturation cites them (connector_signs.stress adds them to its citation)."""

    signs: tuple[str, ...]
    items: tuple[EvidenceItem, ...]    # the checks, in the order they were made
    demoted: frozenset[str]            # queries whose supporting checks became context (a sign left out)


# A sign that held in at least this share of the minutes before the incident window (and in at least
# this many of them), while the service served cleanly, was already there before the failures: not news.
_CHRONIC_SHARE = 0.9
_CHRONIC_MIN_MINUTES = 5
# At most this share of the load the connector carried before the incident window: the load that
# scaled it out has gone.
_STALE_SHARE = 0.5


def news_of(facts: ConnectorFacts) -> ConnectorNews:
    """Which of the three saturation signs the connector shows, leaving out one that held in no minute
    while requests failed (`_held_while_failing`), an instance count at max alone whose load has gone
    (`_stale_max_left_out`), and one that already held before the failures began while the service
    served cleanly (`_chronic`): a connector at its max instances every evening is busy, and busy alone
    does not explain a new failure. Cited into a Citation of its own; a sign left out turns the
    supporting checks of its query into context, which connector_signs.stress repeats on the items its
    rule cited before (`demoted`)."""
    c = Citation(Signature.CONNECTOR_SATURATION)
    demoted: set[str] = set()
    signs = _held_while_failing(facts, c, demoted, _stale_max_left_out(facts, c, demoted, _signs(facts, c)))
    clean = clean_before(facts)
    if clean is not None:
        kept: list[str] = []
        for sign, query, before, held in connector_sign_series(facts, signs, facts.before):
            chronic = _chronic(facts, before, held)
            if chronic is None:
                kept.append(sign)
                continue
            # The sign's own check held, but it supports nothing now: context, as planning reads it.
            _demote(c, demoted, query)
            c.cite("metric", query, f"{sign} already in {chronic} of the minutes of {facts.before}, "
                   f"while requests were clean ({clean})", f"new: held in < {_CHRONIC_SHARE:.0%} of the minutes "
                   "before the incident window while the service served cleanly", False, role="context")
        signs = kept
    return ConnectorNews(tuple(signs), tuple(c.items), frozenset(demoted))


def demote(items: list[EvidenceItem], queries: frozenset[str] | set[str]) -> list[EvidenceItem]:
    """`items` with each supporting check of one of `queries` turned into context."""
    return [i.model_copy(update={"role": "context"}) if i.query in queries and i.role == "supports" else i
            for i in items]


def _demote(c: Citation, demoted: set[str], query: str) -> None:
    demoted.add(query)
    c.items = demote(c.items, {query})


def _held_while_failing(facts: ConnectorFacts, c: Citation, demoted: set[str], signs: list[str]) -> list[str]:
    """`signs` without one that held in no minute from shortly before the failures began
    (`Facts.failing_window`) to the end: a CPU spike or a burst that ended minutes
    before the requests began to fail (another service's job on a shared connector, a backup)
    explains none of them. The incident window reaches lookback_seconds before the incident's
    start, so without this a two-minute spike ten minutes before the failures counted as
    saturation. A sign with no value in those minutes (unread) is kept: that cannot be told."""
    failing = facts.failing_window
    if failing is None or not signs:
        return signs
    kept: list[str] = []
    for sign, query, values, held in connector_sign_series(facts, signs, failing):
        if not values or any(held(v) for v in values):
            kept.append(sign)
            continue
        _demote(c, demoted, query)
        c.cite("metric", query, f"{sign} only before the failures began: in none of the {len(values)} minutes of "
               f"{failing}", "held while requests failed (from the first failing minute, less "
               f"{int(FAILING_LEAD.total_seconds() // 60)} min)", False, role="context")
    return kept


def _stale_max_left_out(facts: ConnectorFacts, c: Citation, demoted: set[str], signs: list[str]) -> list[str]:
    """`signs` without "at max instances" when it is the only sign and the load that scaled the
    connector out has gone: "Connectors don't scale in" (cloud.google.com/vpc/docs/serverless-vpc-access,
    Scaling), so the instance count is a high-water mark of past load, not a measure of the present
    one. Stale when, in the incident window, CPU p99 and throughput (Facts.connector_bytes) both stayed
    at or below `_STALE_SHARE` of their maxima in the before window. Either series unread: kept (cannot tell).
    Requests hanging at a client timeout keep it too: that is the connector's own symptom, and a
    shared-core connector that spent its CPU credits in the burst also shows less CPU and traffic
    ("High packet rates can exhaust shared CPU credits ... causing timeouts", Cloud Run's VPC
    connector page)."""
    if len(signs) != 1 or not signs[0].startswith("at max") or facts.hangs.news:
        return signs
    b = facts.b
    now_cpu, then_cpu = facts.connector_cpu(facts.incident), facts.connector_cpu(facts.before)
    now_bytes = facts.connector_bytes(facts.incident)
    then_bytes = facts.connector_bytes(facts.before)
    if not (now_cpu and then_cpu and now_bytes and then_bytes):
        return signs
    fell = (max(now_cpu) <= _STALE_SHARE * max(then_cpu) and max(now_bytes) <= _STALE_SHARE * max(then_bytes))
    if not fell:
        return signs
    query = query_of(b.connector_instances, "connector/instances")
    _demote(c, demoted, query)
    c.cite("metric", query, f"{signs[0]} since load that has gone (connectors don't scale in): CPU p99 max "
           f"{max(now_cpu):.0%} and {max(now_bytes) * 8 / 1e6:.0f} Mbps in {facts.incident}, against "
           f"{max(then_cpu):.0%} and {max(then_bytes) * 8 / 1e6:.0f} Mbps in {facts.before}",
           f"at max counts while the load stays above {_STALE_SHARE:.0%} of the load before", False, role="context")
    return []


def connector_sign_series(facts: ConnectorFacts, signs: list[str], window: Window
                          ) -> Iterator[tuple[str, str, list[float], Callable[[float], bool]]]:
    """Each sign found, with the query its citation names, its values per minute in `window` (oldest first), and
    the test a minute's value passes when the sign holds: its bar as the connector's minutes read it
    (Facts.connector_minutes, connector_minutes.Bars), the one bar every reader of the connector shares."""
    b = facts.b
    minutes = facts.connector_minutes(window)
    for words in signs:
        sign = sign_of(words)
        read = (b.connector_instances if sign is Sign.AT_MAX else b.connector_cpu if sign is Sign.CPU
                else facts.connector_bytes_source(facts.incident)[0])
        values = minutes.values(sign)
        yield words, query_of(read, words), [values[at] for at in sorted(values)], partial(minutes.bars.held, sign)


def clean_before(facts: ConnectorFacts) -> str | None:
    """What the requests were before the incident window, if the service served cleanly then
    (Facts.served_cleanly_before)."""
    before = facts.served_cleanly_before
    if before is None:
        return None
    return f"{before.total:.0f} requests, {pct(before.refused_ratio)} 5xx or 429"


def _chronic(facts: ConnectorFacts, values: list[float], held: Callable[[float], bool]) -> str | None:
    """'n of m' when the sign held in enough of `values`, the minutes before the incident window, else None."""
    hits = sum(1 for v in values if held(v))
    minutes = facts.s.lookback_seconds // 60
    if hits >= _CHRONIC_MIN_MINUTES and hits >= _CHRONIC_SHARE * minutes:
        return f"{hits} of {minutes}"
    return None


def _signs(facts: ConnectorFacts, c: Citation) -> list[str]:
    """Which of the three saturation signs the connector shows in the incident window: each at its bar
    (Facts.connector_minutes) in a minute of it; the words name the peaks."""
    s, connector, window = facts.s, facts.b.connector, facts.incident
    minutes = facts.connector_minutes(window)

    def held(sign: Sign) -> bool:
        return any(m.held(sign) for m in minutes.minutes)

    signs = []
    instances = facts.connector_values(facts.b.connector_instances, window)
    at_max = held(Sign.AT_MAX)
    c.cite("metric", query_of(facts.b.connector_instances, "connector/instances"),
           _peak_observed(max(instances)) if instances else "no data",
           at_max_threshold(connector.max_instances), at_max, role=either(at_max))
    if at_max:
        signs.append(f"at max instances ({connector.max_instances})")
    cpu = facts.connector_cpu(window)
    hot = held(Sign.CPU)
    c.cite("metric", query_of(facts.b.connector_cpu, "connector/cpu/utilizations"),
           f"CPU p99 max {max(cpu):.0%}" if cpu else "no data", f">= {s.connector_cpu_saturation:.0%}", hot,
           role=either(hot))
    if hot:
        signs.append(f"CPU p99 {max(cpu):.0%}")
    ceiling = facts.connector_ceiling_mbps()
    rates = facts.connector_bytes(window)
    mbps = max(rates) * 8 / 1e6 if rates else None
    near = held(Sign.THROUGHPUT)
    source, direction = facts.connector_bytes_source(window)
    c.cite("metric", query_of(source, f"connector/{direction}_bytes_count"),
           f"{mbps:.0f} Mbps on {direction}_bytes_count, the larger of received and sent" if mbps is not None
           else "no data",
           f">= {s.connector_throughput_ratio:.0%} of {ceiling:.0f} Mbps" if ceiling else "ceiling unknown", near,
           role=either(near))
    if near:
        signs.append(f"throughput {mbps:.0f} of {ceiling:.0f} Mbps")
    if connector.state != "READY":
        c.cite("api", f"vpcaccess.connectors.get {connector.name}: state", connector.state, "READY", False)
    return signs


def at_max_threshold(max_instances: int) -> str:
    """The threshold of the instances check `_signs` cites: planning finds that check by it
    (connector_signs.instances_peak)."""
    return f">= max_instances {max_instances}"


def _peak_observed(peak: float) -> str:
    """The instances check's observed words; connector_signs._PEAK reads the peak back from them."""
    return f"max {peak:.0f} instances"

