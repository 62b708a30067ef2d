"""request_timeout: 504s at the service's request timeout, with no connector or database cause:
the application itself is slow.

504s are judged over their episode, from its onset to the end of the data, not diluted over the
quiet minutes of the lookback before it. The bar is the alert's own threshold when the alert's
condition is a ratio of requests (a denominatorFilter, or a recognised MQL or PromQL ratio; a
fractional threshold alone may be a rate) (a policy that pages at 2 % of 504s has said 2 % matters), capped at
`status_ratio`; a p99 pinned at the request timeout is timeout evidence in its own right.
"""
from __future__ import annotations

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.latency_words import latency
from shared.diagnosis.facts import PINNED_AT_TIMEOUT, Facts, Window, hms
from shared.diagnosis.health_bar import timeout_share_bar
from shared.diagnosis.log_signals import LogSignal, pattern_of
from shared.diagnosis.rules.base import Citation, pct
from shared.diagnosis.rules.deploy_changes import deploy_lowered_timeout
from shared.diagnosis.signatures import Finding, Signature
from shared.gcp.run_logs import REQUEST_LOG, SYSTEM_LOG


def evaluate(facts: Facts) -> Finding:
    c = Citation(Signature.REQUEST_TIMEOUT)
    bar, source = share_bar(facts)
    episode = facts.episode("504", bar)
    window = episode or facts.incident
    requests = facts.requests(window)
    share = requests.share(code="504")
    enough = requests.total >= facts.s.min_requests and share >= bar
    onset = f"from the onset {hms(episode.start)}" if episode else "no minute reached the bar"
    if not c.cite("metric", facts.requests_query,
                  f"{requests.by_code.get('504', 0):.0f} of {requests.total:.0f} requests 504 ({pct(share)}) "
                  f"{window}, {onset}", f">= {bar:.0%} 504 ({source})", enough):
        return c.no("too few 504s")
    revision = facts.followed   # whose timeout cut the incident's requests (Facts.request_timeout_seconds)
    timeout = facts.request_timeout_seconds
    p99, pinned = facts.p99_at_timeout(window)
    at_timeout = bool(pinned)
    texts = facts.log_matches(LogSignal.REQUEST_TIMEOUT)
    c.cite("metric", facts.latencies_query,
           f"p99 at the {timeout:.0f} s timeout in {len(pinned)} of {len(p99)} minutes (max {latency(max(p99))})"
           if p99 else "no latency data", f">= {PINNED_AT_TIMEOUT:.0%} of the {timeout:.0f} s request timeout", at_timeout,
           role="supports" if at_timeout else "context")   # one of two kinds of timeout evidence
    c.cite("log", f"{REQUEST_LOG}: {pattern_of(LogSignal.REQUEST_TIMEOUT)}", f"{len(texts)} entries",
           ">= 1 supports", bool(texts) or None, role="supports" if texts else "context")
    if not at_timeout and not texts:
        return c.no("504s, but latency does not reach the request timeout and Cloud Run logs no timeout")
    lowered = deploy_lowered_timeout(facts, c, timeout)
    if lowered:
        return c.no(lowered)
    confidence = 0.85 if at_timeout and texts else 0.8
    starts = _instance_starts(facts, window)
    if starts:
        c.cite("log", f"{SYSTEM_LOG}: {_INSTANCE_START!r}",
               f"{len(starts)} instances started in {window}, e.g. {excerpt(starts[0].text, limit=140)!r}", "context", None,
               role="context")
    return c.yes(confidence, f"requests run into the {timeout:.0f} s request timeout ({pct(share)} 504 since "
                             f"{hms(window.start)})", subject=revision.short_name if revision else None,
                 recommendation=_advice(timeout, len(starts)))


# Cloud Run's system log line when it starts an instance: "Starting new instance. Reason: AUTOSCALING -
# Instance started due to configured scaling factors (e.g. CPU utilization, request throughput, etc.)
# or no existing capacity for current traffic." (public logs, their repositories and paths UNCONFIRMED:
# a request that waited 28 s for a start of ~29 s). A request that arrives with no instance free waits
# for one to start, and the request timeout counts that wait.
_INSTANCE_START = "Starting new instance"


def _instance_starts(facts: Facts, window: Window) -> list:
    """Cloud Run's instance starts in `window` (its system log), newest first as read."""
    return [e for e in facts.logs.entries
            if e.log_id == SYSTEM_LOG and e.text.startswith(_INSTANCE_START) and window.holds(e.timestamp)]


def _advice(timeout: float, starts: int) -> str:
    """What a person does about 504s at the timeout: with instances starting in the same minutes, a
    start slower than the timeout is as likely as a slow handler (min instances 0, a scale from zero,
    a start that does heavy work before listening); which one the evidence does not tell."""
    slow = "profile the slow handler or its dependency; raising the timeout only hides it"
    if not starts:
        return "the application is slow: " + slow
    return (f"{starts} instances started in the same minutes: if the 504s are requests waiting for an instance "
            f"to start longer than the {timeout:.0f} s timeout, shorten the start (the work done before listening, "
            "the startup probe) or keep instances warm (min instances); otherwise the application is slow: " + slow)


def share_bar(facts: Facts) -> tuple[float, str]:
    """The share of 504s that matters, and where that bar comes from (health_bar.timeout_share_bar, which
    bad_revision reads too for 504s at a timeout a deploy lowered)."""
    return timeout_share_bar(facts.s, facts.b.alert)