"""request_timeout: 504s at the service's request timeout, with no connector or database cause:
the application itself is slow."""
from __future__ import annotations

from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, pattern_of
from shared.diagnosis.rules.base import Citation, pct
from shared.diagnosis.signatures import Finding, Signature


def evaluate(facts: Facts) -> Finding:
    s = facts.s
    c = Citation(Signature.REQUEST_TIMEOUT)
    requests = facts.requests(facts.incident)
    share = requests.share(code="504")
    query = facts.requests_query
    if not c.cite("metric", query, f"{requests.by_code.get('504', 0):.0f} of {requests.total:.0f} requests 504 "
                  f"({pct(share)})", f">= {s.status_ratio:.0%} 504",
                  requests.total >= s.min_requests and share >= s.status_ratio):
        return c.no("too few 504s")
    revision = facts.newest_serving
    timeout = facts.request_timeout_seconds
    p99 = facts.p99_seconds(facts.incident)
    at_timeout = bool(p99) and max(p99) >= 0.9 * timeout
    texts = facts.log_matches(LogSignal.REQUEST_TIMEOUT)
    c.cite("metric", facts.latencies_query,
           f"p99 max {max(p99):.1f} s" if p99 else "no latency data", f">= 90% of the {timeout:.0f} s timeout",
           at_timeout)
    c.cite("log", f"run.googleapis.com/requests: {pattern_of(LogSignal.REQUEST_TIMEOUT)}", f"{len(texts)} entries",
           "context", None)
    if not at_timeout:
        return c.no("504s, but latency does not reach the request timeout")
    return c.yes(0.8, f"requests run into the {timeout:.0f} s request timeout ({pct(share)} 504)",
                 subject=revision.short_name if revision else None,
                 recommendation="the application is slow: profile the slow handler or its dependency; "
                                "raising the timeout only hides it")
