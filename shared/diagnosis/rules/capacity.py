"""capacity: 429 (or 500) "no available instance" because the service is at its max instances."""
from __future__ import annotations

from shared.diagnosis.facts import Facts, query_of
from shared.diagnosis.log_signals import LogSignal, pattern_of
from shared.diagnosis.rules.base import Citation, pct
from shared.diagnosis.signatures import Finding, Signature


def evaluate(facts: Facts) -> Finding:
    s = facts.s
    c = Citation(Signature.CAPACITY)
    requests = facts.requests(facts.incident)
    share = requests.share(code="429")
    texts = facts.log_matches(LogSignal.NO_INSTANCE)
    query = facts.requests_query
    refused = requests.total >= s.min_requests and share >= s.status_ratio
    c.cite("metric", query, f"{requests.by_code.get('429', 0):.0f} of {requests.total:.0f} requests 429 "
           f"({pct(share)})", f">= {s.status_ratio:.0%} 429", refused)
    if texts:
        c.cite("log", f"run.googleapis.com logs: {pattern_of(LogSignal.NO_INSTANCE)}", f"{len(texts)} entries",
               "context", None)
    if not refused and not texts:
        return c.no("no 429s or 'no available instance' refusals")
    revision = facts.newest_serving
    limit = revision.max_instance_count if revision else None
    seen = facts.max_instances_seen(facts.incident, revision.short_name) if revision else None
    at_max = limit is not None and seen is not None and seen >= limit
    c.cite("metric", query_of(facts.b.instances, "container/instance_count"),
           f"max {seen:.0f} instances" if seen is not None else "no data",
           f">= max_instance_count {limit}" if limit else "max_instance_count unset", at_max)
    if not at_max:
        return c.no("refusals, but the revision is not shown at its max instances")
    return c.yes(0.85 if refused else 0.7, f"{revision.short_name} is at its {limit} max instances and refuses "
                                           f"requests ({pct(share)} 429)", subject=revision.short_name,
                 recommendation=f"raise max instances above {limit} or lower per-request cost; check concurrency")
