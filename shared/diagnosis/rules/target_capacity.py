"""Whether a rollback target can carry the load a rollback gives it: 100% of the service's requests now.

bad_revision's known-good revision served cleanly before the deploy, and carried most of the load then
(bad_revision._load_share). Today's load may be larger (a launch, the month's end: the deploy may even have
been made for it, raising the limits the revision before lacks), and a revision's scaling settings are its
own (Revision.scaling, RevisionScaling.max_instance_count: "Maximum number of serving instances that this
resource should have. When unspecified, the field is set to the server default value of 100";
Revision.max_instance_request_concurrency; google/cloud/run/v2/revision.proto, vendor_settings.proto): a
rollback brings them back with it. At its max instances Cloud Run refuses what it cannot place ("The request
was aborted because there was no available instance", a 429: Cloud Run's troubleshooting page,
docs.cloud.google.com/run/docs/troubleshooting), so a target that cannot carry today's load turns a partial
failure into refusals for everyone, a wrong action. Whether Cloud Run holds a revision strictly at its max
or lets it exceed it for a while under a surge is not settled by the docs read (UNCONFIRMED), nor how full it
packs each instance at the max (its autoscaler's targets are not in the API): the check below holds the
rollback whenever the numbers do not show the target carrying the load at the instances it may have, which is
right under every reading.

The limit a target has after the rollback (`instance_limit`): under the service's MANUAL scaling mode ("Scale
to exactly min instances and ignore max instances", ServiceScaling.ScalingMode), the service's
manual_instance_count ("total instance count for the service in manual scaling mode ... divided among all
revisions with specified traffic based on the percent of traffic they are receiving": all of it at 100%);
otherwise the target's own max (unset: the server default of 100), and the service-level max if lower
(ServiceScaling.max_instance_count, "total max instances for the service ... divided among all revisions with
specified traffic", google-cloud-run's docstring: the whole of it at 100%). Whether a revision left unset
inherits a service-level max above 100 is not documented (UNCONFIRMED): the lower is taken.

Unset and the server's answer: Google's server fills an unset revision max ("When unspecified, the field is
set to the server default value of 100", RevisionScaling.max_instance_count; Terraform's provider reads
template.scaling.maxInstanceCount as default_from_api for that reason, GoogleCloudPlatform/magic-modules#18394),
so a revision's 100 may be one nobody set, and a lower service-level max still binds it: the lower of the two
is taken whichever way the revision's is read (100 as read, or 0/absent read as Cloud Run's 100: never "0
instances"). That the filled value may follow the region's quota rather than 100 (the provider's docs) is
UNCONFIRMED for a revision; where it is filled it is read as it is.

Not compared, and why (Cloud Run docs, "About instance autoscaling", cloud.google.com/run/docs/about-instance-
autoscaling): the autoscaler sets each revision's instances from the requests, CPU (a 60% target) and
concurrency it sees over a minute, "between the maximum and minimum" it is given; a revision without traffic
scales to zero unless min instances keep some idle ("warm"). A rollback target's min_instance_count
(RevisionScaling; the service's ServiceScaling.min_instance_count, "divided among all revisions with specified
traffic") therefore sets how many instances are warm when the traffic lands, not how many it may have: a
target at min 0 starts its instances cold, which costs the first requests their startup (startup_cpu_boost,
"Determines whether CPU should be boosted on startup of a new container instance", shortens it) but no
ceiling the docs name. cpu_idle ("Determines whether CPU is only allocated during requests", ResourceRequirements,
k8s_min.proto) changes how an instance is billed and works between requests, not how many requests it is given.
None of them says the target cannot carry the load at the instances it may have, so none holds the rollback;
how long Cloud Run keeps a request waiting for an instance that is starting is not documented (UNCONFIRMED).
bad_revision reads them where a deploy's refusals are judged (deploy_changes.scaling_tightened).

Today's load (`_todays_load`) is the service's busiest minute since the deploy, every revision's requests as
request_count counts them. It counts the clients' retries of the failing revision's errors too, so it may be
more than the callers' own load: read as it is, that only errs toward holding (a larger load needs more
instances). The other way, Cloud Run's own refusals may be missing from request_count (docs/signatures.md, "Are
Cloud Run's own 429s in request_count?", UNCONFIRMED): the most "no available instance" lines of one minute
are added to it, an upper bound (the two maxima need not be the same minute), never less than what was
turned away. The target's own minutes before the deploy (what it carried, per instance) are a clean
revision's (at most healthy_error_ratio failed), whose retries are few.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from shared.diagnosis.evidence import Revision, Service, TrafficType, at_micros, update_traffic_command
from shared.diagnosis.facts import DEFAULT_REQUEST_TIMEOUT_SECONDS, TARGET_LOAD_MINUTES, Facts, Window, query_of
from shared.diagnosis.log_signals import LogSignal
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.deploy_changes import DEFAULT_MAX_INSTANCES, requests_per_instance

# The fewest minutes, with the target's requests and its active instances both read, over which the
# requests an instance carried are judged: one minute is a gauge's sample, not a rate.
PER_INSTANCE_MINUTES_MIN = 3


class Shortfall(NamedTuple):
    """Why a rollback target is not shown to carry today's load, and the `gcloud run services update-traffic`
    line that moves only the share it is shown to carry ("" when there is none to give)."""
    reason: str
    command: str


def just_before(replaced: Revision, candidate: Revision) -> Window:
    """The minutes just before the deploy of `replaced`, the revision that replaced the candidate
    (TARGET_LOAD_MINUTES), from the candidate's own deploy if that is later (two deploys in quick
    succession)."""
    return Window(max(replaced.create_time - TARGET_LOAD_MINUTES, candidate.create_time), replaced.create_time)


def before_the_deploy(facts: Facts, replaced: Revision, candidate: Revision) -> Window:
    """The baseline before the deploy of `replaced` (`baseline_seconds`), from the candidate's own
    deploy if that is later."""
    start = max(replaced.create_time - timedelta(seconds=facts.s.baseline_seconds), candidate.create_time)
    return Window(start, replaced.create_time)


def cannot_carry(facts: Facts, c: Citation, suspect: Revision, candidate: Revision, before: Window,
                 just_before: Window, planned: str = "The rollback planned") -> Shortfall | None:
    """Why the candidate is not shown to carry today's load at 100%, or None. Asked only when today's load
    (the service's busiest minute since the suspect's deploy, every revision's requests) is above the most
    the candidate carried in a minute before the deploy that replaced it (`before`): at or under that, it
    carried the load already, at its own settings. Above it, first a bound that reads nothing of how it
    served (`_room_for_the_longest`): its limit times its requests per instance hold today's load even if every
    request took its whole timeout, and it carries it. Past that bound:
    - with the requests each of its active instances carried just before that deploy read (`just_before`,
      container/instance_count, at least PER_INSTANCE_MINUTES_MIN minutes), the instances today's load needs
      at that rate against its limit (`instance_limit`): within it, it carries the load; beyond it, it cannot
      be shown to;
    - without that rate, a sign that its limit binds holds the rollback (`_binding`): the failing revision
      runs more active instances now than the candidate may have, the deploy raised the limits the candidate
      lacks (more max instances, more requests per instance), or its limit is not known (MANUAL with no count).
      Under MANUAL the rate is never used (the fleet does not follow the load): the deploy raising what each
      instance takes (requests, CPU, memory) is the sign.
      With none, nothing shows a ceiling and the rollback is as before (precision where the numbers speak,
      the rule as it was where they are silent).
    `planned` names the move in the reason: bad_revision's rollback, or capacity's advice to send traffic back."""
    today = facts.since_deploy(suspect)
    load, uncounted = _todays_load(facts, today)
    carried = carried_before(facts, before, candidate)
    if load <= carried or not carried:
        return None
    limit, where = instance_limit(facts.b.service, candidate)
    # Under MANUAL the fleet does not follow the load: the requests an instance carried then are the load
    # over the count, never what one can take, and the failing revision runs the same count now.
    manual = facts.b.service.scaling_mode == "MANUAL"
    query = f"{facts.requests_query}; {query_of(facts.b.instances, 'container/instance_count')}"
    said = (f"the service's busiest minute since {suspect.short_name}'s deploy {today}: {load:.0f} requests{uncounted}; "
            f"{candidate.short_name}'s before {before}: {carried:.0f}")
    shown = carried   # the most of today's load it is shown to carry, for the share a person may move
    room = _room_for_the_longest(load, limit, candidate)
    if room:
        c.cite("metric", query, f"{said}; {room}", "the rollback target's limit holds today's load even if every "
               "request took its whole timeout", True)
        return None
    rate = None if manual else _per_instance(facts, candidate, just_before)
    if rate is not None and limit is not None:
        per_instance, minutes = rate
        needed = math.ceil(load / per_instance)
        fits = needed <= limit
        c.cite("metric", query, f"{said}; {per_instance:.1f} requests a minute per active instance of "
               f"{candidate.short_name} over {minutes} minutes {just_before}: about {needed} instances for today's "
               f"load, against {where}", "the rollback target's limit holds the instances today's load needs", fits)
        if fits:
            return None
        detail = (f"at the {per_instance:.1f} requests a minute each of its instances carried {just_before}, "
                  f"today's {load:.0f} a minute need about {needed} instances, and it may have {where}")
        shown = max(carried, per_instance * limit)
    else:
        binding = _binding(facts, suspect, candidate, limit, today)
        unread = "not used: the service scales by hand" if manual else "not read"
        c.cite("metric", query, f"{said}; requests per instance of {candidate.short_name} {unread}; "
               f"{binding or 'no sign that its limit binds'}; {where}",
               "no sign that the rollback target's limit binds today's load", not binding)
        if not binding:
            return None
        detail = f"{binding}; it may have {where}"
    reason = (f"{candidate.short_name} is not shown to carry today's load: the service's busiest minute since "
              f"{suspect.short_name}'s deploy held {load:.0f} requests{uncounted}, more than the {carried:.0f} "
              f"{candidate.short_name} carried at most in a minute before it, and {detail}. {planned} (100% of "
              f"traffic to {candidate.short_name}) could have Cloud Run refuse what it cannot place ('no available instance') "
              f"where the failing revision now serves part of it; deploy {candidate.short_name}'s image with the "
              f"limits today's load needs, or fix forward")
    share = math.floor(100 * shown / load)
    command = split_command(facts.b.service, suspect.short_name, candidate.short_name, share)
    if 1 <= share <= 99:
        reason += (f"; or move only the {share}% it is shown to carry ({shown:.0f} of today's {load:.0f} a "
                   f"minute), the rest left where it fails" + (f": {command}" if command else
                                                               ", by hand, naming every serving revision's share"))
    return Shortfall(reason, command)


def carried_before(facts: Facts, before: Window, candidate: Revision) -> float:
    """The most requests the candidate carried in one minute of `before` (0 for none)."""
    return max((total for _, total, _ in facts.revision_minutes(before, candidate.short_name)), default=0.0)


def _todays_load(facts: Facts, today: Window) -> tuple[float, str]:
    """Today's load a minute (the module's docstring: the busiest minute, and the most "no available instance"
    lines of one minute, which request_count may not count), with the lines added in words ("" for none)."""
    per_minute: dict[datetime, int] = {}
    for entry in facts.log_matches(LogSignal.NO_INSTANCE):
        if today.holds(entry.timestamp):
            minute = entry.timestamp.replace(second=0, microsecond=0)
            per_minute[minute] = per_minute.get(minute, 0) + 1
    refused = max(per_minute.values(), default=0)
    load = facts.busiest_minute(today) + refused
    return load, (f" (with up to {refused} 'no available instance' request-log lines a minute, which request_count "
                  "may not count)" if refused else "")


def split_command(service: Service, suspect: str, candidate: str, share: int) -> str:
    """The `gcloud run services update-traffic --to-revisions CANDIDATE=SHARE,SUSPECT=REST` line that moves
    `share` percent to the candidate (the form Cloud Run's "Rollbacks, gradual rollouts, and traffic
    migration" page gives; docs/api-contracts.md), or "" when there is no share to move (under 1%) or the
    split serves another revision as well (its share would have to be named too: said in words instead), or
    the service's name is not projects/P/locations/L/services/S."""
    parts = service.name.split("/")
    serving = {t.revision for t in service.traffic_statuses if t.percent}
    named = {t.revision for t in service.traffic if t.percent and t.type is TrafficType.REVISION}
    if not 1 <= share <= 99 or len(parts) != 6 or not (serving | named) <= {suspect, candidate}:
        return ""
    return update_traffic_command(service.name, f"--to-revisions {candidate}={share},{suspect}={100 - share}")


def _room_for_the_longest(load: float, limit: int | None, candidate: Revision) -> str:
    """The candidate's room in words when its limit holds today's load however long each request takes, else
    "": at most `load` requests a minute, each held at most its request timeout (Revision.timeout, "Max allowed
    time for an instance to respond to a request", revision.proto; unset: Cloud Run's 300 s), are in flight at
    once (Little's law), and it may hold `limit` times its requests per instance (max_instance_request_
    concurrency, "Sets the maximum number of requests that each serving instance can receive", unset: Cloud
    Run's 80). A bound that needs no reading of how it served: a service far under its limit (the default 100
    instances at 80 each) is never held for a load that merely rose."""
    if limit is None:
        return ""
    timeout = candidate.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS
    slots = limit * requests_per_instance(candidate)
    in_flight = load / 60 * timeout
    if in_flight > slots:
        return ""
    return (f"at most {in_flight:.0f} requests in flight at its {timeout:g} s timeout, against {slots} it may hold "
            f"({limit} instances at {requests_per_instance(candidate)} each)")


def instance_limit(service: Service, revision: Revision) -> tuple[int | None, str]:
    """The most instances `revision` may have with 100% of the service's traffic, and where that limit
    comes from, in words (the module's docstring); None under MANUAL with no count read."""
    if service.scaling_mode == "MANUAL":
        count = service.manual_instance_count
        if count is None:
            return None, "a number of instances not known (the service scales by hand, no manual_instance_count read)"
        return count, f"{count} instances (the service scales by hand: manual_instance_count, MANUAL)"
    own = revision.max_instance_count or DEFAULT_MAX_INSTANCES
    said = (f"its max_instance_count of {own}" if revision.max_instance_count
            else f"Cloud Run's default of {own} (max_instance_count unset)")
    shared = service.max_instance_count
    if shared and shared < own:
        return shared, f"{shared} instances (the service-level max_instance_count, below {said})"
    return own, f"{own} instances ({said})"


def _binding(facts: Facts, suspect: Revision, candidate: Revision, limit: int | None, today: Window) -> str:
    """A sign, in words, that the candidate's limit binds today's load when the requests its instances
    carried are not read; "" for none."""
    if limit is None:
        return "its number of instances under manual scaling is not read"
    manual = facts.b.service.scaling_mode == "MANUAL"
    if not manual:
        running = facts.max_instances_seen(today, suspect.short_name)
        if running is not None and running > limit:
            return f"{suspect.short_name} runs up to {running:.0f} active instances since its deploy"
    raised = [f"{what} from {old:g}{unit} to {new:g}{unit}"
              for what, old, new, unit in _limits(candidate, suspect, manual)
              if old is not None and new is not None and new > old]
    if raised:
        return f"{suspect.short_name}'s deploy raised {' and '.join(raised)} against {candidate.short_name}"
    return ""


def _limits(candidate: Revision, suspect: Revision, manual: bool) -> list[tuple[str, float | None, float | None, str]]:
    """(what, the candidate's, the suspect's, unit) for each limit on the load a revision carries. Automatic:
    its max instances and requests per instance (unset: Cloud Run's 100 and 80). MANUAL: the fleet is the
    service's, so what each instance takes: its requests, CPU and memory (Container.resources.limits, k8s_min.
    proto; unread: not compared), all of which a fixed fleet spreads more load over."""
    concurrency = ("requests per instance", requests_per_instance(candidate),
                   requests_per_instance(suspect), "")
    if manual:
        return [concurrency, ("CPU", candidate.cpu_limit, suspect.cpu_limit, ""),
                ("memory", candidate.memory_mib, suspect.memory_mib, " MiB")]
    return [("max instances", candidate.max_instance_count or DEFAULT_MAX_INSTANCES,
             suspect.max_instance_count or DEFAULT_MAX_INSTANCES, ""), concurrency]


def _per_instance(facts: Facts, candidate: Revision, window: Window) -> tuple[float, int] | None:
    """(the candidate's requests a minute per active instance, the minutes it is over) in the window: its
    requests over its instance-minutes, the minutes with both read; None with fewer than
    PER_INSTANCE_MINUTES_MIN such minutes or fewer than min_requests requests."""
    name = candidate.short_name
    instances: dict[datetime, float] = {}
    for series in facts.points(facts.b.instances):
        if series.label("resource.labels.revision_name") == name:
            for at, value in zip(*series.columns_in(window)):
                instances[at_micros(at)] = instances.get(at_micros(at), 0.0) + value
    paired = [(total, instances[at]) for at, total, _ in facts.revision_minutes(window, name)
              if instances.get(at, 0) > 0]
    requests = sum(total for total, _ in paired)
    if len(paired) < PER_INSTANCE_MINUTES_MIN or requests < facts.s.min_requests:
        return None
    return requests / sum(count for _, count in paired), len(paired)
