"""Whether clean requests are enough to tell a service recovered from one still failing. Pure, no I/O.

Requests fail one by one: were the service still failing at a share p, n requests with at most k
failures would be seen with the binomial chance P(X <= k | n, p) (each request failing on its own, an
assumption: failures that come in runs make a clean stretch likelier still, so the bar is a floor,
UNCONFIRMED). Over STILL_FAILING_CHANCE the clean requests do not rule the failure out: a service failing
10 % of 4 requests a minute answers 20 requests with no failure 12 % of the time (0.9 ** 20).

Read by both verdicts that call requests clean: the alert path's `healthy` (diagnose._healthy) and the
verification sweep's (shared/remediation/judging.too_few_to_tell).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# The chance, at most, that requests called clean would have been that clean had the service still
# failed at the share measured before them.
STILL_FAILING_CHANCE = 0.05


@dataclass(frozen=True)
class TooFew:
    """Clean requests too few to tell from a failure at `share`: seen with `chance`; `needed` requests
    with none failing would rule it out."""

    chance: float
    needed: int

    def says(self, failed: int, total: int, window: object, had: str) -> str:
        """The figures in words: `had` is what the service would have had to go on doing ("the service
        still failed at 10.0% ...")."""
        return (f"{failed} of {total} requests 5xx or 429 in {window} would be seen {self.chance:.0%} of the time "
                f"had {had}; at least {self.needed} requests with none failing are needed to rule that out (a chance "
                f"of {STILL_FAILING_CHANCE:.0%} at most)")


def too_few(failed: int, total: int, share: float) -> TooFew | None:
    """TooFew when `failed` of `total` requests would be seen more often than STILL_FAILING_CHANCE had
    the service still failed at `share`; None when they rule that failure out (or `share` is no failure)."""
    if share <= 0.0:
        return None
    chance = at_most(failed, total, share)
    if chance <= STILL_FAILING_CHANCE:
        return None
    return TooFew(chance, requests_needed(share))


def requests_needed(share: float) -> int:
    """How many requests, none failing, a failure at `share` would show clean at most
    STILL_FAILING_CHANCE of the time."""
    if share >= 1.0:
        return 1
    return math.ceil(math.log(STILL_FAILING_CHANCE) / math.log1p(-share))


def at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X binomial (n, p): the chance of at most k failures in n requests each failing with
    chance p. Summed term by term in logs, so that n in the tens of thousands neither overflows nor
    underflows to a wrong 0."""
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                                 + i * log_p + (n - i) * log_q) for i in range(k + 1)))
