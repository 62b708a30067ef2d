"""Callers Cloud Run may have turned away that `request_count` may not count. Pure, no I/O.

Whether request_count counts the 429s (and 500s) Cloud Run answers itself when a revision is at its max
instances is UNCONFIRMED (docs/signatures.md, "Are Cloud Run's own 429s in `request_count`?": a copy of the
metric's description says it excludes requests "when maximum number of instances is reached"). If it
excludes them, a service that turns a third of its callers away reads as clean. The diagnosis's
`healthy` (diagnose._healthy) asks `refusals_uncounted` first, so that it is right under both readings,
from what the evidence reads anyway (no call more): the alert path's verdict, and the sweep's, which
judges an action on that same diagnosis (shared/remediation/judging.py).
"""
from __future__ import annotations

from shared.diagnosis.facts import Facts, Window
from shared.diagnosis.log_signals import LogSignal
from shared.diagnosis.rules.deploy_changes import DEFAULT_MAX_INSTANCES


def refusals_uncounted(facts: Facts, window: Window, error_ratio: float) -> str:
    """Why clean requests in `window` do not show the callers served, because Cloud Run may have turned
    some away for want of an instance ("" if nothing says so), at the share `error_ratio` called clean:
    - the request log's "no available instance" lines in the window (Cloud Run's own refusal, logged at
      WARNING for a 429, ERROR for a 500: docs.cloud.google.com/run/docs/troubleshooting; read with the
      evidence, log_signals.PLATFORM_REQUEST_TEXTS), counted as refusals the metric may not hold: over the
      share called clean of the requests and them together (if the metric does count them, the share read
      already held them, and this adds nothing);
    - a serving revision whose active instances (container/instance_count, the most in a minute)
      reached its max_instance_count (unset: Cloud Run's default of 100 a revision), or serving
      revisions together at the service-level max (Service.scaling.max_instance_count), in the window:
      at its limit, what it refuses need not show in the metric, and the request log may not show it
      either (an exclusion filter may drop the request log; a read holds the newest entries only).
      Under the reading where the metric counts them, a revision at its limit that refused nobody is
      not called healthy either: the cost of being right under both;
    - the instance count not read at all: nothing shows it below its limit."""
    lines = [e for e in facts.log_matches(LogSignal.NO_INSTANCE) if window.holds(e.timestamp)]
    total = facts.requests(window).total
    if lines and len(lines) / (total + len(lines)) > error_ratio:
        return (f"Cloud Run turned callers away for want of an instance: {len(lines)} \"no available instance\" "
                f"request-log lines in {window} against {total:.0f} requests counted "
                f"({len(lines) / (total + len(lines)):.1%}, over the {error_ratio:.1%} called clean); whether "
                "request_count counts those refusals is unconfirmed, so its clean share does not show the callers "
                "served")
    if facts.b.instances is None:
        return ("the instance count (container/instance_count) was not read: whether a serving revision ran at its "
                "max instances, where Cloud Run's own refusals may be missing from request_count (unconfirmed), is "
                "not known")
    for revision in facts.serving:
        limit = revision.max_instance_count or DEFAULT_MAX_INSTANCES
        seen = facts.max_instances_seen(window, revision.short_name)
        if seen is not None and seen >= limit:
            return (f"{revision.short_name} ran at its max instances in {window} ({seen:.0f} active of "
                    f"{limit}{'' if revision.max_instance_count else ', the default'}): Cloud Run refuses what it "
                    "cannot place there, and whether request_count counts those refusals is unconfirmed, so clean "
                    "requests do not show the callers served")
    limit = facts.b.service.max_instance_count
    if limit:
        seen = facts.max_total_instances_seen(window, (r.short_name for r in facts.serving))
        if seen is not None and seen >= limit:
            return (f"{facts.b.service.short_name}'s serving revisions ran at the service-level max instances in "
                    f"{window} ({seen:.0f} active of {limit}): Cloud Run refuses what it cannot place there, and "
                    "whether request_count counts those refusals is unconfirmed, so clean requests do not show the "
                    "callers served")
    return ""
