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
from shared.diagnosis.rules.base import Citation
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
    if share is None or not share.most:
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
