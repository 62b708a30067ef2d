"""Whether requests clean of 5xx and 429 turned into refusals of another class. Pure, no I/O.

`healthy` reads the share of 5xx and 429 and the p99 (shared/diagnosis/health_bar.py). A failure can leave
both clean while it goes on: a request that used to hang on a partner now gives up at once and answers a
4xx (a session store that hangs, its lookup failing closed with 401 at its own short timeout; a token
verifier that cannot reach its keys, 403), so a latency alert's p99 falls under its bar and no 5xx appears,
while most callers are refused (sandbox/scenarios/latency_cleared_fast_401s_session_store.yaml). The same
holds on any bar. The verification sweep asks the diagnosis without this check (`traffic_judged` False) and
measures the 4xx against the minutes before its own action instead (judging.client_errors_rose: a rollback
after which the 5xx became 404s), as it measures its traffic.
A client that gives up before the answer may be recorded as a 499 (nginx's "client closed request",
which servers adopt for it: sigstore/rekor PR #2864) or as a status 0 (what caddy logged before its PR #7827).
How Cloud Run's request_count labels a request whose client disconnected is UNCONFIRMED (not in the Google
text searched): a 499 in the 4xx class is counted here, and so is a class none of 1xx to 5xx (a "0xx"),
as a request answered with no status is no request served.

So a share of 4xx (429 apart: it is counted as a refusal already) that rose well above the service's own
share before the incident keeps `healthy` back. The service's own share is its usual background (bad
input, expired sessions, scanners' 404s), which a steady 10 % of 404s keeps and a fresh failure does not:
- the share before is the 4xx of Facts.before (one lookback before the incident window, how things stood
  before the failures began, as callers_left reads the demand), taken as (4xx + 1) / (requests + 2) so that
  a service with no 4xx before is not held to a share of 0 (one 404 in 20 requests is then no rise);
- the rise counts when the share since exceeds the share before by RISE at least, and the 4xx seen would
  come by chance at most RISE_CHANCE of the time were the share still the one before (the binomial tail of
  still_failing.at_most, each request on its own: an assumption, UNCONFIRMED, as there);
- with fewer than `min_requests` requests before (a quiet service: an internal tool a few staff use, a
  night's trickle; or one begun within the lookback), its own share is too few requests to be told from
  chance, and taking none as a share of 0 or one 404 in two as 50 % would say a rise where there is none,
  or none where most callers are refused. So the few requests read are weighed with a conservative
  background (`PRIOR_SHARE`, 20 %) counted as `min_requests` requests more (the mean of a beta prior on
  the share, updated by the requests read: with none read, 20 %; 0 of 15, 11 %; 8 of 10, 40 %), and the
  same rise and chance are asked of it. A background that high lets no usual share of 404s or expired
  sessions pass for a failure by itself, while the refusals this check is for (most callers refused: 2 in
  3 in the session-store scenario) are far above it, and at 20 requests 9 of them refused is already
  beyond chance (the binomial tail). Before, nothing was said with so few requests before, and a latency
  alert on a quiet service whose requests now fail fast as 403 read `healthy`
  (sandbox/scenarios/latency_cleared_quiet_service_fast_403s.yaml).

The count is one for both paths (`client_errors`, `client_share`): the verification sweep reads it too
(judging.client_errors_rose), against its own bar of a rise, and so counts a no-status class as the alert
path does (a rollback whose 500s became answers with no status was verified: a request answered with no
status is no more served after an action than before one).
"""
from __future__ import annotations

from shared.diagnosis.facts import Facts, Requests, Window
from shared.diagnosis.still_failing import at_most

# How much the 4xx share must rise over the share before to be a failure and not the background moving:
# 5 points (a service at 3 % of expired sessions that turns 8 % away).
RISE = 0.05
# The chance, at most, that the 4xx since would come with the share before unchanged.
RISE_CHANCE = 0.01
# With fewer than `min_requests` requests before the incident: the share a service is taken to have at most
# as its usual background of 4xx (a choice, not a measured fact: a steady fifth of refused requests is not
# called a rise), weighed as `min_requests` requests beside the few read (`usual_share`).
PRIOR_SHARE = 0.2


# The classes of an HTTP status. A series with neither a class nor a code label is "unknown"
# (facts.code_class; one with a code but no class takes its code's class): counted here as not served, since
# nothing says it was, and uncounted it was in neither the 5xx path nor this one, only in the total that
# dilutes both (a third of requests with no label beside clean 200s read `healthy`).
_STATUS_CLASSES = frozenset({"1xx", "2xx", "3xx", "4xx", "5xx"})


def client_errors(requests: Requests) -> float:
    """The 4xx the requests hold, 429 apart (`Requests.refused` counts it with the 5xx), and those of a class
    no HTTP status has (a client gone before its answer, if recorded so: UNCONFIRMED, above) or of no class
    nor code at all ("unknown": `_STATUS_CLASSES`)."""
    other = sum(count for code_class, count in requests.by_class.items() if code_class not in _STATUS_CLASSES)
    return max(0.0, requests.by_class.get("4xx", 0.0) - requests.by_code.get("429", 0.0)) + other


def client_share(requests: Requests) -> float:
    """The share of the requests `client_errors` counts (0 with none): the alert path's and the sweep's."""
    return client_errors(requests) / requests.total if requests.total else 0.0


def usual_share(failed: float, total: float, min_requests: int) -> float:
    """The 4xx share taken as a service's usual from `failed` of `total` requests before the incident: with
    `min_requests` or more, its own, as (failed + 1) / (total + 2) (one 404 after none is no rise); with
    fewer, weighed with `PRIOR_SHARE` counted as `min_requests` requests (module docstring)."""
    if total >= min_requests:
        return (failed + 1) / (total + 2)
    return (failed + PRIOR_SHARE * min_requests) / (total + min_requests)


def _counted(code: str) -> bool:
    """A response code `client_errors` counts, for the summary's list (a status 0: no answer)."""
    return (code.startswith("4") and code != "429") or code == "0"


def client_errors_risen(facts: Facts, window: Window) -> str:
    """Why the requests in `window`, clean of 5xx and 429, do not show the service serving its callers,
    because its 4xx rose well over its share before the incident, or over a conservative background with
    too few requests before to measure it (`usual_share`; "" if they did not)."""
    before = facts.requests(facts.before)
    now = facts.requests(window)
    if not now.total:
        return ""
    failed, failed_before = client_errors(now), client_errors(before)
    usual = usual_share(failed_before, before.total, facts.s.min_requests)
    share = failed / now.total
    if share < usual + RISE or _chance_at_least(round(failed), round(now.total), usual) > RISE_CHANCE:
        return ""
    codes = ", ".join(f"{count:.0f} {code}" for code, count in sorted(now.by_code.items(), key=lambda c: -c[1])
                      if _counted(code) and count)
    return (f"its 4xx rose to {share:.0%} of its requests in {window} ({failed:.0f} of {now.total:.0f}: {codes}), "
            f"from {_before_words(failed_before, before.total, facts.s.min_requests, facts.before)}: the requests "
            "may be failing fast as client errors, which the share of 5xx and 429 and the p99 do not show")


def _before_words(failed: float, total: float, min_requests: int, before: Window) -> str:
    """The share before, as the summary says it: measured, or weighed with PRIOR_SHARE from too few."""
    if total >= min_requests:
        return f"{failed / total:.1%} before the incident ({failed:.0f} of {total:.0f} in {before})"
    return (f"{failed:.0f} of {total:.0f} requests in {before} before the incident, fewer than {min_requests} and so "
            f"weighed with a usual background of {PRIOR_SHARE:.0%} as {usual_share(failed, total, min_requests):.1%}")


def _chance_at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X binomial (n, p)."""
    return 1.0 if k <= 0 else 1.0 - at_most(k - 1, n, p)
