"""Whether a deploy's failures, begun after the new revision served cleanly, are Cloud Run's own answers on a
connection to the instance that broke, with nothing from the revision's container: the platform failing (a zonal
or regional incident) explains them as readily as the new image does.

Cloud Run answers a request 503 with "The request failed because either the HTTP response was malformed or
connection to the instance had an error." itself, in its request log (Cloud Run's troubleshooting page,
docs.cloud.google.com/run/docs/troubleshooting, "malformed-response-or-connection-error"; log_signals'
CONNECTOR_503). A new image brings it about in its own ways, and each leaves a sign this check reads as the
revision's: from the first minute it serves (an answer Cloud Run cannot parse, end-to-end HTTP/2 turned on for a
server that speaks HTTP/1.1: scenario http2_end_to_end_without_h2c_after_deploy), or with a line of its container's
own (a panic, a native crash, a memory limit, a liveness shutdown: the container's streams or the system log).
What no new image leaves is clean minutes at the load the revision before served, and then Cloud Run's own 503s
in 10-40 ms with the container silent: that is what a platform incident looks like to the one service read
(scenario regional_503s_two_minutes_after_deploy_unrelated_service_too, where a service with no deploy fails
alike in the same minute). Runwarden reads no other service to tell them apart, and a rollback onto the same
platform is a guess: the deploy stays a suspect, never the cause alone (precision over recall).

Unless the revision the deploy replaced (`Facts.replaced`) serves cleanly in the same minutes: a canary's old
revision runs on the same platform (the same service in the same region: "Cloud Run is a regional offering. Data
and traffic are automatically load balanced across zones within a region", Cloud Run's "Understand zonal
redundancy" page), so a regional or zonal incident that ends the new revision's connections ends its connections too; a new image's descriptor leak, its
dropped connections or a worker that dies without a word fail the new revision alone. Summed over the minutes the
suspect failed (`bad_error_ratio` or more of its requests), at least `min_requests` of its requests with 5xx at or
under `healthy_error_ratio`: the doubt goes, and the rollback onto it stands (scenario
canary_503s_connection_error_old_revision_clean_same_minutes). Fewer requests (all traffic on the new revision, as
in the regional scenario), or more 5xx, and the doubt stays. Whether a zonal incident could miss every instance
of a revision holding a small share is UNCONFIRMED (the page documents no placement of one revision's instances over zones): the
rollback then moves the traffic onto instances shown serving in those minutes, which is where a person would send it.

What "silent" means: no line of the revision's own container that reads as a failure (`Logs.app_failing`: at
ERROR or worse, or a failure text at no level) and no system-log line on it at WARNING or worse (a start, an
exit, a probe, a memory limit; Cloud Run's own lines), from the deploy on. A log read that failed says nothing
of silence, and the check stands down. Cloud Run's 503s must be most of the failing requests, compared like
with like (platform_share); fewer, the other failures are as many and may be the new code's.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.facts import ERROR_SEVERITIES, Facts
from shared.diagnosis.log_signals import LogSignal, pattern_of
from shared.diagnosis.rules.base import Citation, pct
from shared.diagnosis.rules.platform_share import platform_share
from shared.diagnosis.windows import Window, hms
from shared.gcp.run_logs import REQUEST_LOG, SYSTEM_LOG

# Cloud Run's own words for the 503 (the troubleshooting page, as above): what platform_share counts among the
# request log's failing lines.
_BROKEN = re.compile(r"connection to the instance had an error", re.IGNORECASE)

# The least clean minutes between the deploy and the first failing one: one whole minute at load shows the new
# image answering through Cloud Run; bad_revision's LATE_ONSET_MINUTES (5) already holds back a later onset.
CLEAN_MINUTES_MIN = 1

ADVICE = ("look at Google Cloud's status dashboard and at the region's other Cloud Run services in the same "
          "minutes; send traffic back by hand only if the revision before serves where the new one fails")


def platform_answers_after_clean_minutes(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why `suspect`'s failures are not shown to be its deploy's (module docstring), or ""."""
    s = facts.s
    name = suspect.short_name
    answers = facts.log_matches(LogSignal.CONNECTOR_503, name)
    if facts.b.logs is None or len(answers) < s.startup_failure_logs_min:
        return ""
    onset, minutes, served, errors = _onset(facts, suspect)
    if (onset is None or minutes < CLEAN_MINUTES_MIN or served < s.min_requests
            or errors > s.healthy_error_ratio * served):
        return ""
    said = _container_said(facts, name, suspect)
    if said:
        return ""
    failing = Window(onset - timedelta(minutes=1), facts.incident.end)
    share = platform_share(facts, answers, _BROKEN, failing)
    if share is None or not share.most or replaced_served_cleanly(facts, c, suspect, failing):
        return ""
    c.cite("log", f"{REQUEST_LOG}: {pattern_of(LogSignal.CONNECTOR_503)}; its container's streams and {SYSTEM_LOG}",
           f"{name} served {minutes} clean minutes after its deploy ({errors:.0f} of {served:.0f} requests 5xx), then "
           f"Cloud Run's own 503s from {hms(onset)}: {share.words}, e.g. {excerpt(answers[0].text, limit=100)!r}; "
           "no failure line from its container, none on the system log",
           "Cloud Run's own 503s after clean minutes, the container silent: a platform's failure as readily as "
           "the deploy's", True)
    return (f"{name} served cleanly for {minutes} minutes after its deploy, then its failures are Cloud Run's own "
            f"503s on a broken connection to the instance ({share.words}) with no line from its container (no "
            "error, crash, memory limit or probe): a platform incident fails a revision as readily as a new "
            "image, and whether the deploy caused them is not shown")


def _onset(facts: Facts, suspect: Revision) -> tuple[datetime | None, int, float, float]:
    """The suspect's first failing minute since its deploy, and the minutes with requests, the requests and the
    5xx before it."""
    s = facts.s
    minutes, served, errors = 0, 0.0, 0.0
    for at, total, failed in facts.revision_minutes(Window(suspect.create_time, facts.incident.end),
                                                    suspect.short_name):
        if total and failed / total >= s.bad_error_ratio:
            return at, minutes, served, errors
        if total:
            minutes, served, errors = minutes + 1, served + total, errors + failed
    return None, minutes, served, errors


def _container_said(facts: Facts, name: str, suspect: Revision) -> list[LogRecord]:
    """The suspect's own failure lines since its deploy: its container's (`Logs.app_failing`) and the system
    log's at WARNING or worse."""
    def its(e: LogRecord) -> bool:
        return e.resource_labels.get("revision_name") == name and e.timestamp >= suspect.create_time
    app = [e for e in facts.logs.app_failing if its(e)]
    system = [e for e in facts.logs.entries
              if e.log_id == SYSTEM_LOG and e.severity in ERROR_SEVERITIES and its(e)]
    return app + system


def replaced_served_cleanly(facts: Facts, c: Citation, suspect: Revision, failing: Window) -> bool:
    """Whether the revision `suspect`'s deploy replaced served cleanly in the minutes `suspect` failed (module
    docstring): at least min_requests of its requests in them, at most healthy_error_ratio of those 5xx. Only the
    minutes in which `suspect` failed count, so that traffic moved off the old revision before the failures began
    says nothing of them."""
    s = facts.s
    deploy = facts.replaced(suspect)
    if deploy is None:
        return False
    before = deploy[0].short_name
    bad = {at for at, total, failed in facts.revision_minutes(failing, suspect.short_name)
           if total and failed / total >= s.bad_error_ratio}
    minutes = [(total, failed) for at, total, failed in facts.revision_minutes(failing, before) if at in bad]
    served, errors = sum(m[0] for m in minutes), sum(m[1] for m in minutes)
    clean = served >= s.min_requests and errors <= s.healthy_error_ratio * served
    c.cite("metric", facts.requests_query,
           f"{before}, the revision {suspect.short_name} replaced, in the {len(bad)} minutes {suspect.short_name} "
           f"failed {failing}: {served:.0f} requests, {pct(errors / served) if served else 'none'} 5xx",
           f"under {s.min_requests} requests or over {pct(s.healthy_error_ratio)} 5xx: the revision before not shown "
           "serving cleanly on the same platform in those minutes", not clean)
    return clean
