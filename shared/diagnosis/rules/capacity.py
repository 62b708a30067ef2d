"""capacity: 429 (or 500) "no available instance" because the service is at its max instances."""
from __future__ import annotations

from shared.diagnosis.evidence import Revision
from shared.diagnosis.facts import Facts, query_of
from shared.diagnosis.log_signals import LogSignal, pattern_of
from shared.diagnosis.rules.base import Citation, duration, pct
from shared.diagnosis.rules.deploy_changes import DEFAULT_MAX_INSTANCES, requests_per_instance
from shared.diagnosis.rules.target_capacity import before_the_deploy, cannot_carry, just_before
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
    # The revision the incident followed, not a fix made since it began (Facts.followed): the fix's limits are
    # not the ones the refusals met.
    revision = facts.followed
    # Unset, with no service-level max either, is Cloud Run's default of 100 a revision ("Configure
    # maximum instances"), as uncounted.py and deploy_changes read it: a revision at 100 with none
    # set is at its limit. A service-level max set instead is judged as a total below.
    default = None if facts.b.service.max_instance_count else DEFAULT_MAX_INSTANCES
    limit = (revision.max_instance_count or default) if revision else None
    unset = "" if revision is None or revision.max_instance_count else " (unset: Cloud Run's default)"
    seen = facts.max_instances_seen(facts.incident, revision.short_name) if revision else None
    at_max = limit is not None and seen is not None and seen >= limit
    c.cite("metric", query_of(facts.b.instances, "container/instance_count"),
           f"max {seen:.0f} instances" if seen is not None else "no data",
           f">= max_instance_count {limit}{unset}" if limit else "max_instance_count unset", at_max)
    how = _refusals(share, texts)
    if not at_max and revision is not None:
        at_service_max = _at_service_max(facts, c)
        if at_service_max:
            return c.yes(0.85 if refused else 0.7, f"the service is at its service-level max of {at_service_max} "
                                                  f"instances and refuses requests ({how})",
                         subject=revision.short_name,
                         recommendation=f"raise the service-level max instances above {at_service_max} (it applies "
                                        "at once, with no new revision) or lower per-request cost; check concurrency")
    if not at_max:
        return c.no("refusals, but the revision is not shown at its max instances")
    lowered, previous = _deploy_lowered(facts, c, revision)
    summary = f"{revision.short_name} is at its {limit} max instances{unset} and refuses requests ({how})"
    if lowered and previous is not None:
        return c.yes(0.85 if refused else 0.7, f"{summary}; {lowered}", subject=revision.short_name,
                     recommendation=_after_the_change_since(facts, _send_back(facts, c, revision, previous)))
    return c.yes(0.85 if refused else 0.7, summary, subject=revision.short_name,
                 recommendation=f"raise max instances above {limit} or lower per-request cost; check concurrency")


def _refusals(share: float, texts: list) -> str:
    """How the refusals show, in words: the 429 share of request_count, or, with none there, Cloud
    Run's "no available instance" lines in the request log (a 500 when it cannot place a request, or
    429s request_count may not count: docs/signatures.md, "Are Cloud Run's own 429s in
    `request_count`?"), never a bare "0.0% 429" beside refusals the logs show."""
    if share > 0 or not texts:
        return f"{pct(share)} 429"
    return f"{len(texts)} 'no available instance' lines in the request log, no 429 counted"


def _at_service_max(facts: Facts, c: Citation) -> int | None:
    """The service-level max instances when the revisions with traffic together reached it in the
    incident window, else None. The service-level limit is the total for the revisions in the
    traffic split ("divided among all revisions with specified traffic", ServiceScaling), applied
    at once with no new revision; how it is divided (rounding) is not documented, so only the total
    is compared."""
    limit = facts.b.service.max_instance_count
    if not limit:
        return None
    serving = [r.short_name for r in facts.serving]
    seen = facts.max_total_instances_seen(facts.incident, serving)
    reached = seen is not None and seen >= limit
    c.cite("metric", query_of(facts.b.instances, "container/instance_count"),
           f"max {seen:.0f} instances together on {', '.join(serving)}" if seen is not None else "no data",
           f">= the service-level max_instance_count {limit} (Service.scaling)", reached)
    return limit if reached else None


def _after_the_change_since(facts: Facts, advice: str) -> str:
    """The advice, put after the change made since the incident began when there is one (Facts.changed_since: a
    fix at a share, a revert): sending traffic back would write over it, so a person first sees whether it holds."""
    later = facts.changed_since
    if later is None:
        return advice
    return (f"see whether {later.short_name}'s change, made since the incident began, holds (its own refusals); "
            f"if it does not, {advice}")


def _send_back(facts: Facts, c: Citation, revision: Revision, previous: Revision) -> str:
    """The advice where the deploy lowered the limits: send traffic back to the revision before (its
    settings come back with it) when it is shown to carry today's load at the instances it may have, judged
    as bad_revision judges a rollback target (target_capacity.cannot_carry: today's load, refusals the logs
    show included, against the most it carried and its limit); else, not that: limits above its own, and
    the share it is shown to carry."""
    short = cannot_carry(facts, c, revision, previous, before_the_deploy(facts, revision, previous),
                         just_before(revision, previous), planned="Sending traffic back")
    if short is None:
        return (f"send traffic back to {previous.short_name} (its settings come back with it), or deploy again with "
                f"the limits {previous.short_name} had")
    return (f"deploy again with limits above {revision.short_name}'s and {previous.short_name}'s (raise max "
            f"instances or requests per instance), or lower per-request cost; {short.reason}")


def _deploy_lowered(facts: Facts, c: Citation, revision: Revision) -> tuple[str, Revision | None]:
    """What the revision's deploy, within deploy_window_seconds of the incident, lowered against the
    Ready revision before it (max instances, requests per instance), in words, and that revision;
    ("", None) when it lowered neither. Revision-level limits come with the revision, so sending
    traffic back restores them; a service-level max instances (which applies at once, with no new
    revision) is not read here."""
    deploy = facts.replaced(revision)
    if deploy is None:
        return "", None
    previous, lead = deploy
    pairs = (("max instances", previous.max_instance_count or DEFAULT_MAX_INSTANCES,
              revision.max_instance_count or DEFAULT_MAX_INSTANCES),
             ("requests per instance", requests_per_instance(previous),
              requests_per_instance(revision)))
    lowered = [f"{what} from {before} to {after}" for what, before, after in pairs if after < before]
    if not lowered:
        return "", None
    said = (f"its deploy {duration(lead)} before the incident lowered {' and '.join(lowered)} "
            f"(against {previous.short_name})")
    c.cite("api", "run.revisions.list: scaling.max_instance_count, max_instance_request_concurrency", said,
           "context", None, role="context")
    return said, previous
