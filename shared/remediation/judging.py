"""How the verification sweep judges one applied action: pure, no I/O, no clock.

Two questions, in order:
1. What does the live evidence say about the action (`judge`)?
   - `changed`: the target no longer shows what the action wrote (a person, Terraform or a deploy
     moved the traffic or the connector since, or the connector's update failed): the service's
     health is no longer the action's doing, so it is neither verified nor undone;
   - `healthy`: the diagnosis says healthy on live data since the action settled, with at least half
     of the service's own request rate before the action kept, or `verification.min_traffic_ratio` if
     higher (`traffic_lost`, `verified_kept`; clean requests after most, or half, of the traffic vanished
     are `unclear`), for a connector
     change at a load above what the saturated connector answered while it failed (`load_not_carried`) and
     with the connector as scaled not at its limit over the minutes judged (`headroom.at_limit`),
     with no rise of
     client errors in the mix of answers (`client_errors_rose`), not much slower than before the action
     where the alert set no latency bar (`slower_than_before`), once a request begun after the action
     could have reached its timeout (`requests_unfinished`), with no sign of callers Cloud Run turned
     away for want of an instance, which request_count may not count (the diagnosis's own `healthy`
     asks it: shared/diagnosis/uncounted.py), with the application's own ERROR-or-worse lines since not
     risen over the bar's share and its share before the failures (the diagnosis's own `healthy` asks it:
     shared/diagnosis/failure_lines.py; a fallback answered as a 200 and logged is no recovery) and read
     whole over the minutes judged (`lines_unread`: a log read refused or cut short is no `verified`), with no
     one else's change since the action that the recovery may owe to (a deploy serving, the service's
     generation, a person's audit entry on the service or its connector: `changed_by_others`), with
     the serving revisions' own requests clean, not only the service's with a tag URL's in it
     (`served_elsewhere`), after a rollback no tag URL still reaching the revision it took the traffic
     from and failing there (`tag_still_failing`), no new incident of the alert's own policy on the
     target begun on minutes after the settle time (`refired_after_settle`), on a
     service that still reaches the connector a connector change scaled (`off_the_connector`), with its
     callers shown kept and served by the request log's lines other than Cloud Monitoring's uptime
     checks' (`_callers`, shared/remediation/callers.py: request_count does not say who sent a request),
     on minutes since the change took (`judged_from`: a connector update that outlived the write's wait
     is judged from the first sweep that read it READY with the change), and,
     after an alert whose condition the check does not read, its incident CLOSED since the action
     showing the condition's value on the clear side of its bar (`unread_condition`, `recovery`);
   - `failing`: enough fresh requests since the action settled, and they fail as a failing
     revision does (5xx or 429 share at or above `bad_error_ratio`, or p99 at the hang bar in most
     minutes), on the rollback's own revision too, on at least `min_requests` of its own requests
     (`others_failing`: another revision's requests ending since are not the rollback failing), with
     no recovery after the action before them
     (`recovered_first`: a failure that
     began after the action worked is `unclear`) and not clearly fewer than just before it, in 5xx or in
     minutes hanging (`helped_partly`: better but not clean is `unclear`), on a service nobody changed since the
     rollback (`changed_since`: its generation), which kept its traffic (`traffic_lost`: the few
     requests left after the callers went elsewhere do not show the action failed): the action did
     not help;
   - `unclear`: anything else. No data, data from before the action settled, a newest point too
     old (Cloud Run writes no request_count point for a minute with no requests, so traffic that
     stopped and metrics that are late look the same), too few requests, a connector update still
     running, a service better than it was but not clean, a connector scale failing since under a deploy
     that landed after it (`deployed_since`), or clean only in its newest minutes (`settling`: it waits a period
     past the deadline). A closed incident is not enough on its
     own: Monitoring also closes an incident when its data stops ("If an alert policy that was
     active has no data for this long, any open incidents will close", AlertPolicy.AlertStrategy
     auto_close, google/monitoring/v3/alert.proto; a condition with EVALUATION_MISSING_DATA_INACTIVE
     is "evaluate[d] ... as false" with no data, AlertPolicy.Condition.EvaluationMissingData), and a
     person may close it by hand (Cloud Monitoring, "Incidents for metric-based alerting policies"),
     and a snooze on its policy closes it too (Cloud Monitoring, "Snoozes"). After an alert whose
     condition the health check does not read, a CLOSED counts only with what it showed of the
     condition's recovery (`recovery`: Monitoring's value on the clear side of its bar,
     Incident.recovery_shown), never for its closing alone.
A service idle between requests before its failure began (a cron's bursts: the newest minutes hold
one burst at most) is judged, when unclear for want of requests, on every whole minute since the settle
time (`_between_bursts`, bursts.py), its minutes told idle (readable, no point) or late.
Both are read on whole minutes only (`settled`): each series of the request metrics arrives on its
own, up to ~180 s after its minute, so newer minutes are left for a later sweep; as read, they can
unmake a `healthy` or a `failing`, never make one (`newest_minutes_disagree`; a `healthy` on the requests
of the revision the alert names too, as the whole minutes are read).
2. What to do with that (`next_step`): verify a healthy one; escalate a changed one at once; before
   the deadline wait, and past it too while an `unclear` wants only requests a service idle between
   them, or as busy as before, may yet send (`more_requests_likely`), up to the bar below; at the deadline undo only a reversible action whose service is `failing`, and
   only in a sweep on time (no later than one verification period after the deadline: a later
   sweep reads the service as it is now, not as the action left it); escalate everything else,
   nothing written. An undo is a write: it needs evidence that the action failed, never an absence
   of evidence that it worked.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import Enum

from shared.diagnosis.latency_words import latency
from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.background import verified_bar
from shared.diagnosis.client_errors import client_share
from shared.diagnosis.collection import MAX_AUDIT_ENTRIES
from shared.diagnosis.evidence import (AlertContext, Connector, Entries, EvidenceBundle, LogRecord, LogResult,
                                       MetricResult, Revision, Service, TrafficTarget, at_micros, micros, short_name,
                                       split_text)
from shared.diagnosis.failure_lines import lines_unread
from shared.diagnosis.facts import (DEFAULT_REQUEST_TIMEOUT_SECONDS, INGEST_LAG, Facts, Window, clock_on, hms,
                                    refused_series, whole_until)
from shared.diagnosis.health_bar import REQUEST_LATENCIES, HealthBar, health_bar
from shared.diagnosis.diagnose import count_cleared, diagnose
from shared.diagnosis.log_signals import LogSignal
from shared.diagnosis.check_results import check_unread
from shared.diagnosis.request_callers import uptime_still_failing
from shared.diagnosis.signatures import Signature
from shared.diagnosis.still_failing import too_few
from shared.diagnosis.windows import told_on
from shared.remediation.actions.restore_traffic import serving_shares
from shared.diagnosis.evidence import describe_command
from shared.remediation.bursts import (IdleBefore, idle_before, minutes_held, minutes_read, pre_onset, readable_until,
                                      widened)
from shared.remediation.callers import callers_not_shown
from shared.remediation.generations import deploys_accounted, generation_moved, unexplained_generations
from shared.remediation.headroom import at_limit
from shared.diagnosis.connector_names import Naming, names_connector
from shared.remediation.records import ActionRecord, ActionState, PinRecord, RestoreMark, stored_time
from shared.remediation.shared_cause import BOTH_BROKEN, failing_minutes, shared_cause

# Minutes of requests since the action settled that `failing` needs at least (as `healthy` does).
_MIN_MINUTES = 2
# A share of 5xx and 429 since the action at or under this part of the share just before it is better
# than before (`helped_partly`): an undo would bring back a worse failure.
_HELPED = 0.75
# A connector alert's monitored resource type (shared/alerts/incidents.py reads it from the notification).
_CONNECTOR_RESOURCE = "vpc_access_connector"
# A share of 4xx since the action that rose by more than half the share before it (and by more than the
# share of failures called clean) is a changed mix of answers (`client_errors_rose`).
_CLIENT_RISE = 0.5
# A p99 since the action over this many times the highest per-minute p99 before it (`read_before`), and
# over _SLOW_FLOOR_SECONDS, in most minutes, is slower than before (`slower_than_before`). A cold start of
# the revision traffic went back to lasts a minute or two, before the window judged (it starts at settle).
_SLOWER = 3.0
_SLOW_FLOOR_SECONDS = 1.0
# A service serving at least this share of its rate before the action since it (per minute of the window
# judged) is as busy as it was, quiet rather than left by its callers: an `unclear` for want of its
# requests waits for more past the deadline (`more_requests_likely`).
_AS_BUSY = 0.5
# A way of failing (429, 504, another 5xx) at or above this share of the failures just before a rollback
# was seen before it (`failure_moved`): failing since in ways not seen is the failure moved.
_SEEN_KIND = 0.1


class HealthKind(str, Enum):
    HEALTHY = "healthy"
    FAILING = "failing"
    UNCLEAR = "unclear"
    CHANGED = "changed"


@dataclass(frozen=True)
class Health:
    kind: HealthKind
    why: str
    # For an `unclear` for want of requests only (none since the action settled, or too few to judge or
    # to tell from the failure before) on a service whose traffic before the action makes more likely
    # (`waits_for`): why; "" otherwise. Such a verdict waits past the deadline, within the bar of an
    # undo on time (`next_step`).
    waits_for: str = ""
    # For a rollback `failing` on the revision it went back to: what that shows of the failure's cause
    # (`deploy_not_the_cause`), told with its undo; "" otherwise.
    shows: str = ""
    # The action's service confirmed deleted (`service_gone`): nothing of it is left, its pin included.
    gone: bool = False
    # For a rollback still failing whose undo is held (shared_cause: a cause it cannot end): kept, not for want
    # of evidence that it failed (`next_step`).
    held: bool = False
    # For an action still failing whose undo is not the answer for a reason of the evidence's (it worked first,
    # better than before, the failure moved, another revision's requests): that reason, said with "not undone";
    # "" where an undo lacks only the evidence that the action failed (`next_step`).
    kept: str = ""
    # For a connector scale neither healthy nor failing whose newest minutes are clean, every failing minute
    # before them (`settling`): why it may have taken late. It waits past the deadline as `waits_for` does.
    settling: str = ""


class StepKind(str, Enum):
    VERIFY = "verify"
    WAIT = "wait"
    UNDO = "undo"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Step:
    kind: StepKind
    why: str = ""
    # An undo's: what the failing rollback shows of the cause (Health.shows), said in its outcome.
    shows: str = ""


def alert_bar(alert: AlertContext | None, settings: DiagnosisSettings) -> AlertContext | None:
    """The alert whose bar `healthy` is judged at after the action: the action's alert when the health
    check judges its condition (health_bar.py: a 5xx or 429 share or count, a p99 above a threshold),
    so a fix is not called healthy at a looser bar than the alert that paged (0.5 % 5xx, 2 s p99).
    Otherwise (no alert, or one the check cannot judge: memory, a log match, a query, an uptime check)
    None: the settings' defaults, as for a diagnosis with no alert; clean requests at those alone then
    verify only an action with no alert, or after an uptime check (`unread_condition`)."""
    if alert is None:
        return None
    bar = health_bar(alert, settings)
    return alert if bar.judged and not bar.saw_failure_needed else None


def unread_condition(alert: AlertContext | None, settings: DiagnosisSettings) -> str:
    """Why clean requests alone do not show the alert's own condition cleared ("" if they can): the alert
    that led to the action measures what the health check does not read (health_bar.py: memory or CPU, a
    log match, a query, an SLO's burn, 4xx, a volume, a mean latency, a metric's absence, a forecast).
    Judged at the settings' defaults, a rollback after a mean-latency alert at 1 s was verified at a p99
    of 12 s, and one after a 4xx alert with 40 % of its requests still 404. So such an action is verified
    only once the incident's CLOSED notification came since it (Monitoring's own evaluation of its
    condition, at its own aggregation and threshold) while the requests are clean and kept: a closing for
    want of data is ruled out by the requests still coming, and one by hand is a person's judgement. An
    uptime check is judged on the requests as before (alert_bar): its failure led to an action only
    through the service's own failures. An alert on a connector (resource vpc_access_connector: its CPU,
    its instances, its throughput) measures the connector itself, which health_bar judges on its users'
    requests for the alert's diagnosis (a busy connector whose services serve cleanly needs no action);
    after a scale-up, though, it is the change's own purpose: a connector still at 97 % CPU against its
    policy's 70 % serves cleanly until the next burst, and was verified. So its CLOSED is needed too,
    showing the connector's value under its bar (a snooze's closing shows nothing)."""
    if alert is None:
        return ""
    if alert.resource_type == _CONNECTOR_RESOURCE:
        return (f"the alert is on the connector itself ({alert.metric_type or 'a condition with no metric type'}, "
                f"policy {alert.policy!r}): its services' clean requests do not show that condition cleared (a "
                "connector still over its policy's bar serves cleanly until the next burst)")
    bar = health_bar(alert, settings)
    return "" if bar.judged else bar.why_not


def judge(record: ActionRecord, bundle: EvidenceBundle, settings: DiagnosisSettings,
          closed_at: datetime | None = None, min_traffic_ratio: float = 0.0, recovery: str = "",
          others: Sequence[ActionRecord] = ()) -> Health:
    """The action's standing on one evidence bundle collected since it settled (with no alert: the
    action's own is put in here, `alert_bar`), diagnosed here. `closed_at`: when the incident's CLOSED
    notification came, if one did (cited, never enough alone); `recovery`: what that CLOSED showed of
    the condition's recovery ("" for nothing: a snooze, data that stopped or a close by hand may have
    closed it). `min_traffic_ratio`: a healthy service that kept less than this share of its traffic
    is unclear, not healthy (`traffic_lost`). `others`: Runwarden's action records applied since this
    one (any target; `later_own_writes` keeps those on this service's path). Its windows are printed as its
    times are cited, against the action's day (windows.told_on, clock_on)."""
    judged_at, bar = background_settings(record, settings)
    with told_on(record.applied_at):
        health = _judged(record, bundle, judged_at, closed_at, min_traffic_ratio, recovery, others)
    if not bar or health.kind is HealthKind.CHANGED:
        return health
    return replace(health, why=f"{health.why}; {bar}")


def background_settings(record: ActionRecord, settings: DiagnosisSettings) -> tuple[DiagnosisSettings, str]:
    """The settings a rollback to a revision with a steady background of 5xx is judged at, and the bar in words
    ("" when it is judged as any other action). The diagnosis accepted the target at its background
    (shared/diagnosis/background.py), which its action record keeps (`target_background`): judged at the clean
    share, the service back at its usual 2 % was never `healthy`, and every such rollback was escalated at its
    deadline. Its share of 5xx and 429 counts as clean at `background.verified_bar` (never over the bar it was
    accepted at, the alert's own, nor `background_error_ratio` as set now), in every check of this module and of
    the diagnosis it runs; `failing` keeps `bad_error_ratio`. A record without it (another action, a command's
    rollback, or one written before it was kept) is judged as before."""
    background = record.target_background
    clean = settings.healthy_error_ratio
    if (background is None or record.action != "rollback_traffic"
            or record.params.get("to_revision") != background.revision):
        return settings, ""
    bar = verified_bar(background, clean, settings.background_error_ratio)
    if bar <= clean:
        return settings, ""
    return settings.model_copy(update={"healthy_error_ratio": bar}), (
        f"judged at {bar:.1%} 5xx or 429, the steady background {background.revision} was accepted with as the "
        f"rollback target ({background.why}), in place of the clean share of {clean:.1%}")


def _judged(record: ActionRecord, bundle: EvidenceBundle, settings: DiagnosisSettings, closed_at: datetime | None,
            min_traffic_ratio: float, recovery: str, others: Sequence[ActionRecord]) -> Health:
    later = later_own_writes(record, bundle, others)
    changed = target_changed(record, bundle)
    if changed is not None:
        return changed if not later or changed.kind is not HealthKind.CHANGED else Health(
            changed.kind, f"{changed.why} ({later})")
    whole = settled(bundle)
    health = _standing(record, whole, settings, closed_at, min_traffic_ratio, recovery)
    if health.kind is HealthKind.UNCLEAR and health.waits_for:
        health = _between_bursts(record, bundle, whole, settings, closed_at, min_traffic_ratio, recovery, health)
    newest = newest_minutes_disagree(health, record, bundle, settings, alert_bar(record.alert, settings))
    if newest:
        return Health(HealthKind.UNCLEAR, f"{health.why}; but {newest}")
    if later and health.kind in (HealthKind.HEALTHY, HealthKind.FAILING):
        return Health(HealthKind.UNCLEAR, f"{health.why}; but {later}: the minutes since are both changes' doing, "
                                          "so they neither verify this action nor show it failing")
    return health


def _between_bursts(record: ActionRecord, read: EvidenceBundle, whole: EvidenceBundle, settings: DiagnosisSettings,
                    closed_at: datetime | None, min_traffic_ratio: float, recovery: str, health: Health) -> Health:
    """`health` (unclear for want of requests) judged again on every readable minute since the action
    settled, for a service idle between requests before its failure began (bursts.py: the newest
    `recent_seconds` hold one burst at most, and a burst's point is readable for about 4 minutes of each 5).
    `healthy` there is the verdict, with every check of `healthy` on that window, the binomial of
    `too_few_to_tell` included; a failure seen there is no undo (a wider window than `failing` reads, and
    an undo is a write): unclear, not waited for, escalated at the deadline; anything else stays unclear,
    waiting as `health` did, and says what it read. Unchanged for any other service."""
    facts = Facts(whole, settings)
    idle = idle_between(facts, record)
    if idle is None:
        return health
    start, end = whole.incident_started_at, readable_until(Facts(read, settings))
    if end - start < timedelta(seconds=60 * _MIN_MINUTES):
        return health
    wide = _standing(record, cut_at(whole, end), widened(settings, start, end, whole.collected_at), closed_at,
                     min_traffic_ratio, recovery, idle)
    seen = f"{minutes_read(facts, Window(start, end))}, newer ones not yet readable"
    if wide.kind is HealthKind.HEALTHY:
        return Health(HealthKind.HEALTHY, f"{wide.why} (every whole minute since the action settled judged: {seen}; "
                                          f"{idle.says()})")
    if wide.kind is HealthKind.FAILING:
        return Health(HealthKind.UNCLEAR, f"{health.why}; and on every whole minute since the action settled ({seen}) "
                                          f"it still fails: {wide.why}")
    return Health(HealthKind.UNCLEAR, f"on every whole minute since the action settled ({seen}): {wide.why}",
                  waits_for=wide.waits_for or health.waits_for)


# The words an escalation for a later own write begins its cause with (the timeline and tests read them).
LATER_OWN_WRITES = "Runwarden's own later action(s) wrote on the same path"


def later_own_writes(record: ActionRecord, bundle: EvidenceBundle, others: Sequence[ActionRecord]) -> str:
    """Which of Runwarden's own actions wrote on the judged service's path after this one, or may have
    ("" if none): to the same target, to the service, or to a connector its serving revisions use (or the
    one read).

    The gate keeps two writes to one target a cooldown apart, but a cooldown shorter than the
    verification deadline lets a second action on the target while the first is pending, and a
    rollback of the service and a scale-up of its connector are two targets, each with its own cooldown.
    The minutes after the later write are both changes' doing: judged as this action's, a rollback
    was `verified` on the recovery its connector's scale-up made (and the service left pinned), or
    undone, a write judged on minutes the later change shaped, under the later action still being
    verified. Nor is a later write someone else's change (`changed_by_others` leaves Runwarden's own
    principals out, rightly: its own writes are not a person's). A later action also means the alert path
    found a failure to fix after this one, so a recovery is not this action's to claim, whenever the
    later write landed. So `healthy` and `failing` become `unclear`: the sweep waits, and by the deadline
    escalates, kept, never undone; the later action is judged on its own minutes, which begin after this
    one (its own `before` holds this change).

    Which write came first is told by `applied_at`, each the clock of the instance that wrote it, and two
    instances' clocks may differ by up to CLOCK_SKEW_ALLOWANCE: a later write made on an instance whose
    clock ran behind carries an `applied_at` before this one's. So a write on the path dated within the
    allowance of this one's, before or after it, may be the later one (`_order_unknown`); only one dated
    more than the allowance before is surely earlier, its change already in this action's `before`. Of a
    close pair each is then unclear for the other, and both are escalated at their deadlines: which change
    the minutes since answer to cannot be told, so neither is verified nor undone on them."""
    path = _own_write_path(record, bundle)
    earliest = record.applied_at - CLOCK_SKEW_ALLOWANCE
    later = sorted((o for o in others if o.key != record.key and o.applied_at >= earliest
                    and _on_path(o.target, path, bundle.service)), key=lambda o: o.applied_at)
    if not later:
        return ""
    shown = "; ".join(f"{o.action} on {short_name(o.target)} at {clock_on(o.applied_at, record.applied_at)} "
                      f"(incident {o.incident_id}, "
                      f"{o.state.value}{_order_unknown(record, o)})" for o in later[:3])
    more = f"; {len(later) - 3} more" if len(later) > 3 else ""
    return (f"{LATER_OWN_WRITES} after it, or may have: {shown}{more}"
            if any(_order_unknown(record, o) for o in later[:3]) else f"{LATER_OWN_WRITES} after it: {shown}{more}")


def _own_write_path(record: ActionRecord, bundle: EvidenceBundle) -> set[str]:
    """The targets a write of Runwarden's changes the judged service through: this action's own, the
    service, and the connectors its serving revisions use (or the one read)."""
    serving = {r.vpc_connector for r in bundle.revisions
               if r.vpc_connector and bundle.service.serving_percent(r.short_name) > 0}
    return {record.target, bundle.service.name} | serving | ({bundle.connector.name} if bundle.connector else set())


def _on_path(target: str, path: set[str], service: Service) -> bool:
    """Whether a write on `target` may have changed the judged service's path (`_own_write_path`): one of its
    names, or a connector one of them may be by another form of its project (names_connector MAYBE: a
    revision may name its connector by project id or number, google/cloud/run/v2/vendor_settings.proto).
    A maybe counts: a later write perhaps on the path leaves the minutes since perhaps its doing."""
    return target in path or any(names_connector(service, named, target) is Naming.MAYBE
                                 for named in path if "/connectors/" in named)


def _order_unknown(record: ActionRecord, other: ActionRecord) -> str:
    """", its order with this one's ... unknown" when the two writes' `applied_at` lie within the clock-skew
    allowance of each other (each is its writing instance's own clock: which came first cannot be told), or
    "" when `other` is dated more than the allowance after this one (surely later)."""
    if abs(other.applied_at - record.applied_at) > CLOCK_SKEW_ALLOWANCE:
        return ""
    return (f"; within the {CLOCK_SKEW_ALLOWANCE.total_seconds() / 60:.0f}-minute clock-skew allowance of this "
            f"{record.action} on {short_name(record.target)} at {hms(record.applied_at)}: each time is its own "
            "instance's clock, so the clocks cannot tell which write came first")


def newest_minutes_disagree(health: Health, record: ActionRecord, bundle: EvidenceBundle,
                            settings: DiagnosisSettings, alert: AlertContext | None) -> str:
    """Why a verdict on the whole minutes (`settled`) does not stand, because the newer minutes, as read,
    say otherwise ("" if they do not, or hold no request). They are not whole, so they never make a
    verdict, but they can unmake one: a visible 5xx point is a failure, whatever may still be missing
    beside it, and a clean newest minute may be a recovery the whole minutes do not show yet. So
    `healthy` needs them no worse than the bar (5xx and 429 share, p99), on the service and on the revision
    the alert names (`_named_failing_newest`), and `failing`, which leads to
    an undo (a write), needs them failing too: a rollback failing 40 % until three minutes ago and
    serving cleanly since was undone on the whole minutes alone, while the service had recovered. For a
    rollback, `failing` is read on the requests of the revision it sent the traffic to, where it has
    any (`others_failing`: the leftovers of the revision rolled back from are not the rollback failing)."""
    if health.kind not in (HealthKind.HEALTHY, HealthKind.FAILING) or bundle.requests is None:
        return ""
    facts = Facts(bundle, settings)
    start = whole_until(bundle)
    if facts.data_until is None or facts.data_until <= start:
        return ""
    window = Window(start, facts.data_until)
    s = facts.s
    to = str(record.params.get("to_revision") or "") if record.action == "rollback_traffic" else ""
    if health.kind is HealthKind.FAILING and to and facts.requests(window, to).total:
        newest, p99 = facts.requests(window, to), _own_p99(facts, window, to)
    else:
        newest = facts.requests(window)
        p99 = facts.p99_seconds(window)
    if not newest.total:
        return ""
    seen = (f"{newest.total:.0f} requests in {window}, {newest.refused_ratio:.1%} 5xx or 429"
            + (f", p99 max {latency(max(p99))}" if p99 else ""))
    if health.kind is HealthKind.HEALTHY:
        bar = health_bar(alert, s)
        # A count bar (a count of 5xx, or none left after a latency alert on 5xx alone: health_bar.py) is
        # unmade by the newest minutes' own 5xx and 429 over it (each minute's, for a bar on each minute:
        # diagnose.count_cleared): they come on top of the whole minutes'.
        over_count = not count_cleared(facts, bar, window)
        if newest.refused_ratio > bar.error_ratio or over_count or (p99 and max(p99) >= bar.p99_seconds):
            return (f"the newest minutes, not yet whole (a point is visible up to {INGEST_LAG.total_seconds():.0f} s "
                    f"after its minute), show failures already: {seen}")
        return _named_failing_newest(facts, window, alert, bar)
    hung = sum(v >= s.hang_latency_seconds for v in p99)
    if newest.refused_ratio >= s.bad_error_ratio or (p99 and hung / len(p99) >= s.hang_minutes_ratio):
        return ""
    return (f"the newest minutes, not yet whole (a point is visible up to {INGEST_LAG.total_seconds():.0f} s after "
            f"its minute), do not show it failing: {seen}; an undo needs the service failing now")


def _named_failing_newest(facts: Facts, window: Window, alert: AlertContext | None, bar: HealthBar) -> str:
    """Why the newest minutes unmake `healthy` on the revision the alert names ("" if they do not): a condition
    on each revision's own series (grouped by revision_name, any one series: health_bar._any_series) is that
    revision's share, which `healthy` reads on the whole minutes (diagnose._named_revision_failing) and the
    service's share does not bound: a canary at 5 % of the split failing 9 % is 0.5 % of the service."""
    revision = alert.revision if alert is not None else ""
    own = facts.requests(window, revision) if revision else None
    if own is None or not own.total:
        return ""
    if own.refused_ratio <= bar.error_ratio and count_cleared(facts, bar, window, revision):
        return ""
    return (f"the newest minutes, not yet whole (a point is visible up to {INGEST_LAG.total_seconds():.0f} s after "
            f"its minute), show failures already on {revision}, the revision the alert names: {own.refused:.0f} of "
            f"{own.total:.0f} requests 5xx or 429 ({own.refused_ratio:.1%}) in {window}, over the bar "
            f"({bar.error_ratio:.1%}), while the service's share is clean")


def _standing(record: ActionRecord, bundle: EvidenceBundle, settings: DiagnosisSettings,
              closed_at: datetime | None, min_traffic_ratio: float, recovery: str,
              idle: IdleBefore | None = None) -> Health:
    """`judge` on the whole minutes of the request metrics (`settled`). `idle`: judged on every minute since
    the action, for a service idle between requests before its failure began (`_between_bursts`)."""
    alert = alert_bar(record.alert, settings)
    if alert is not None:
        bundle = bundle.model_copy(update={"alert": alert})
    # Whether the service kept its traffic is this module's to judge (`traffic_lost`, against its demand before
    # the action), not the diagnosis's against the minutes before the settle time.
    diagnosis = diagnose(bundle, settings, traffic_judged=False)
    closed = (f"; the incident closed at {clock_on(closed_at, record.applied_at)}, which alone does not show "
              f"recovery (an incident also "
              "closes when its data stops, or by hand)") if closed_at else ""
    if diagnosis.signature is Signature.HEALTHY:
        cited = "; ".join(f"{e.observed} ({e.threshold})" for e in diagnosis.evidence
                          if e.about == Signature.HEALTHY.value and e.passed)
        facts = Facts(bundle, settings)
        doubt = (traffic_lost(facts, record, min_traffic_ratio, idle=idle) or client_errors_rose(facts, record, alert)
                 or slower_than_before(facts, record) or slower_than_it_served(facts, record)
                 or requests_unfinished(facts, record)
                 or changed_by_others(facts, record) or served_elsewhere(facts, alert)
                 or tag_still_failing(facts, record, alert)
                 or _callers(facts, record, min_traffic_ratio, health_bar(alert, settings).error_ratio, idle=idle,
                             kept=verified_kept(min_traffic_ratio))
                 or load_not_carried(facts, record, health_bar(alert, settings).error_ratio, idle)
                 or at_limit(facts, record.action, facts.recent_since_incident)
                 or lines_unread(facts, facts.recent_since_incident) or probes_failing(facts, record, settings))
        if doubt:   # a scale taken late may owe the doubt to its failing minutes still in the window (`settling`),
            # judged with the minute before it: the callers' log lines reach a minute earlier (`_callers`)
            judged = facts.recent_since_incident
            since = Window(max(record.applied_at, judged.start - timedelta(seconds=60)), judged.end)
            return Health(HealthKind.UNCLEAR, f"clean since the action settled ({cited}), but {doubt}" + closed,
                          settling=settling(facts, record, since))
        few = too_few_to_tell(facts, record, health_bar(alert, settings).error_ratio)
        if few:     # its traffic kept (`traffic_lost` above): more of it may settle it
            return Health(HealthKind.UNCLEAR, f"clean since the action settled ({cited}), but {few}" + closed,
                          waits_for=more_requests_likely(facts, record, min_traffic_ratio))
        # Kept over `min_traffic_ratio` (above), but under the share a `verified` needs (`verified_kept`):
        # asked last, so the checks above name a more particular cause first.
        down = traffic_lost(facts, record, min_traffic_ratio, idle=idle, verify=True)
        if down:
            return Health(HealthKind.UNCLEAR, f"clean since the action settled ({cited}), but {down}" + closed)
        unread = unread_condition(record.alert, settings)
        shown = recovery if closed_at is not None else ""
        again = refired(record) if unread else ""
        held = "" if unread else refired_after_settle(record)
        if held:
            return Health(HealthKind.UNCLEAR, f"clean since the action settled ({cited}), but {held}" + closed)
        if unread and again:
            return Health(HealthKind.UNCLEAR, f"clean since the action settled ({cited}), but {unread}; and {again}"
                          + closed)
        if unread and not shown:
            why = ("no CLOSED notification of its incident came since the action" if closed_at is None else
                   f"its incident closed at {clock_on(closed_at, record.applied_at)} with no value on the clear "
                   f"side of the condition's bar "
                   "(a snooze on the policy, data that stopped arriving, or a close by hand closes an incident "
                   "too), which is no recovery")
            return Health(HealthKind.UNCLEAR, f"clean since the action settled ({cited}), but {unread}; and {why}: "
                                              "whether the alert's own condition still holds is not known")
        return Health(HealthKind.HEALTHY, f"healthy on live data since the action settled: {cited}"
                      + (f"; the incident closed at {clock_on(closed_at, record.applied_at)}" if closed_at else "")
                      + (f" (the alert's own condition is not read here: {shown}, with the requests still "
                         "coming)" if unread else ""))
    facts = Facts(bundle, settings)
    stale = _unclear_data(facts, record)
    if stale:
        return Health(HealthKind.UNCLEAR, stale + closed, waits_for=more_requests_likely(facts, record,
                                                                                          min_traffic_ratio, silent=True))
    window = facts.recent_since_incident
    recent = facts.requests(window)
    minutes = facts.minutes_with_requests(window)
    if recent.total < settings.min_requests or minutes < _MIN_MINUTES:
        # Points present at 0 are minutes Monitoring holds in which nobody was answered: no requests, not
        # late metrics (which show as no point at all: `_unclear_data`).
        zeros = (f"; request_count has a point for each of those minutes, every one 0: no requests, not late "
                 "metrics, and no evidence of health" if minutes and not recent.total else "")
        return Health(HealthKind.UNCLEAR, f"too little traffic since the action settled to judge it: "
                                          f"{recent.total:.0f} requests over {minutes} minute(s) in {window} "
                                          f"(at least {settings.min_requests} over {_MIN_MINUTES} minutes needed)"
                      + zeros + closed, waits_for=more_requests_likely(facts, record, min_traffic_ratio))
    p99 = facts.p99_seconds(window)
    hung = sum(1 for v in p99 if v >= settings.hang_latency_seconds)
    measured = (f"{recent.total:.0f} requests over {minutes} minutes in {window}, {recent.refused_ratio:.1%} 5xx or "
                f"429" + (f", p99 at or above {settings.hang_latency_seconds:g} s in {hung} of {len(p99)} minutes"
                          if p99 else ""))
    if recent.refused_ratio >= settings.bad_error_ratio or (p99 and hung / len(p99) >= settings.hang_minutes_ratio):
        late = settling(facts, record, window)
        if late:    # asked first: the failing minutes before its newest clean ones would answer every rule below
            return Health(HealthKind.UNCLEAR, f"failing in {window} ({measured}), but not in its newest minutes; "
                                              f"{minutes_since(record, bundle, settings)}"
                          + closed, settling=late)
        recovered, kept = _not_its_failing(facts, record, window, (
            (deployed_since, ""),     # a scale's alone, which no undo follows
            (others_failing, "what fails is not the revision it sent the traffic to, and an undo would send the "
                             "traffic back to what fails"),
            (recovered_first, "it worked first, and what fails began after it"),
            (helped_partly, "the service is better than before it, and an undo would bring back the worse failure"),
            (failure_moved, "the failure moved, and an undo would bring back the one it had")))
        held = "" if recovered else shared_cause(facts, record, window, diagnosis)
        if held:    # still failing, as the reason says: what it shows is told with it (`next_step`)
            shows = "" if BOTH_BROKEN in held else deploy_not_the_cause(facts, record, window)
            return Health(HealthKind.UNCLEAR, f"still failing since the action settled ({measured}), but {held}"
                          + closed, shows=shows, held=True)
        if not recovered:
            recovered, kept = _not_its_failing(facts, record, window, (
                (lambda f, r, w: changed_since(r, bundle.service), "the service was changed since, and an undo "
                                                                    "would write over that change"),
                (lambda f, r, w: nothing_to_undo_against(f, r), "nothing read before it shows it failed worse"),
                (lambda f, r, w: traffic_lost(f, r, min_traffic_ratio, unknown_is_lost=False), ""),
                (lambda f, r, w: _callers(f, r, min_traffic_ratio, 1.0, unknown_is_lost=False), "")))
        if recovered:
            # What the minutes since were diagnosed as is kept with the reason: a database down behind a scaled
            # connector, a deploy that landed since, is the evidence a person needs first.
            return Health(HealthKind.UNCLEAR, f"still failing since the action settled ({measured}), but {recovered}; "
                                              f"{minutes_since(record, bundle, settings)}"
                          + closed, kept=kept)
        return Health(HealthKind.FAILING, f"still failing since the action settled: {measured} (a failing revision: "
                                          f">= {settings.bad_error_ratio:.0%} 5xx or 429, or p99 >= "
                                          f"{settings.hang_latency_seconds:g} s in >= "
                                          f"{settings.hang_minutes_ratio:.0%} of minutes); "
                                          f"{diagnosis.signature.value}: {diagnosis.summary}" + closed,
                      shows=deploy_not_the_cause(facts, record, window))
    # Why the diagnosis did not call the clean requests healthy (diagnose._healthy: callers turned away at
    # max instances, a revision the alert names still failing), said first: the summary may not say it.
    unjudged = next((e.threshold for e in diagnosis.evidence
                     if e.about == Signature.HEALTHY.value and e.passed is False and e.threshold not in diagnosis.summary),
                    "")
    return Health(HealthKind.UNCLEAR, f"not healthy, but not failing as before either: {measured}; "
                                      + (f"{unjudged}; " if unjudged else "")
                                      + f"{diagnosis.signature.value}: {diagnosis.summary}" + closed,
                  settling=settling(facts, record, window))


def minutes_since(record: ActionRecord, bundle: EvidenceBundle, settings: DiagnosisSettings) -> str:
    """The diagnosis of the minutes since the action alone, said with its window. `diagnose` reads a lookback
    (`lookback_seconds`, 15 min) before the incident's start: the sweep's incident starts at the settle time, so
    its diagnosis held the minutes before the action, and named the saturation a scale ended ("CPU p99 95%" of
    the machine type it replaced) as the minutes since, on a connector idle since. Here its window begins at the
    settle time (`after_write`): judged from a minute after it, less the shortest lookback
    (`DiagnosisSettings.lookback_seconds` >= 60)."""
    shortest = settings.model_copy(update={"lookback_seconds": 60})
    start = after_write(record)
    since = bundle.model_copy(update={"judged_from": start + timedelta(seconds=60),
                                      "logs": _lines_after(bundle.logs, start),
                                      "failure_logs": _lines_after(bundle.failure_logs, start)})
    diagnosis = diagnose(since, shortest, traffic_judged=False)
    window = Facts(since, shortest).incident
    return f"the minutes since {window}: {diagnosis.signature.value}: {diagnosis.summary}"


def _lines_after(read: LogResult | None, start: datetime) -> LogResult | None:
    """`read` without its lines logged by `start` (the dial timeouts of the saturation a scale ended are no error
    of the minutes since). A page cut short (`truncated`) is kept whole: its oldest line tells how far it reached
    (LogResult.page_ended_after), and the lines it lacks are the oldest anyway."""
    if read is None or read.truncated:
        return read
    return read.model_copy(update={"entries": Entries(e for e in read.entries if e.timestamp > start)})


def settling(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Why a connector scale not yet healthy in `window` may only have taken late ("" if not, or for another
    action): its newest `_MIN_MINUTES` minutes or more with requests clean, and every failing minute of the
    window (`shared_cause.failing_minutes`) before them. A connector's instances are an autoscaling group
    ("Maximum value of instances in autoscaling group underlying the connector", Connector.maxInstances,
    Serverless VPC Access v1 REST reference): how soon after the update's operation ends its new instances carry
    traffic is not documented (UNCONFIRMED), and a window judged at the deadline may still hold the minutes before
    they did. Before, such a scale was escalated "could not be verified" at the deadline while it recovered;
    now it waits one verification period past it (`next_step`), the failing minutes aging out of the window,
    and the sweep then judges it as any other: verified on clean minutes, escalated on failures back."""
    if record.action != "scale_connector":
        return ""
    failing = failing_minutes(facts, window)
    clean = [at for at, total, _ in facts.per_minute_where(window, refused_series) if total and failing
             and at > failing[-1]]
    if not failing or len(clean) < _MIN_MINUTES:
        return ""
    return (f"its newest {len(clean)} minutes with requests are clean, every failing minute of {window} before them "
            f"(the last to {clock_on(failing[-1], record.applied_at)}): the connector's new instances may have "
            "carried traffic only minutes after its update ended")


def _not_its_failing(facts: Facts, record: ActionRecord, window: Window,
                     reasons: Sequence[tuple[Callable[[Facts, ActionRecord, Window], str], str]]) -> tuple[str, str]:
    """The first reason why failures in `window` do not show the action failed, and why an undo is not the answer
    to it (`Health.kept`; "" where an undo merely lacks the evidence that the action failed): ("", "") if none."""
    for reason, kept in reasons:
        said = reason(facts, record, window)
        if said:
            return said, kept
    return "", ""


def deployed_since(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Why failures since a connector scale do not show the scale failed, because a revision deployed after it
    serves now (Revision.create_time after the action; after a rollback, traffic on it is `changed` already:
    `traffic_moved`): what fails may be that deploy's. Before, a failing deploy landing two minutes after a scale
    read as "it recovered after the action first ... whose failure it is the evidence does not say"."""
    deployed = [r for r in facts.serving if r.create_time > record.applied_at]
    if record.action != "scale_connector" or not deployed:
        return ""
    named = ", ".join(f"{r.short_name} (created {clock_on(r.create_time, record.applied_at)})" for r in deployed)
    return (f"a revision deployed after the action serves now: {named}; what fails since may be that deploy's, not "
            f"the connector's")


def probes_failing(facts: Facts, record: ActionRecord, settings: DiagnosisSettings) -> str:
    """After an uptime check's alert (judged at the settings' defaults: `alert_bar`), why its checker's probes
    since do not show the check passing ("" if they do, or for another alert): answered 5xx or 429, or too
    slow for a check's timeout, over the bar's share, or the request log not read (request_callers.
    uptime_still_failing, which the alert's own `healthy` asks too), or the check's own results since
    (uptime_check/check_passed, read beside the request log: verification.py) false from any location, or
    neither a result nor a probe's line read. Before, a rollback after an uptime alert whose probes still timed
    out was verified on the service's clean share and fast p99, and one whose request log held no probe's line
    (health checks excluded from it) on the service's clean requests alone."""
    if record.alert is None:
        return ""
    bar = health_bar(record.alert, settings)
    if bar.probe_seconds is None:
        return ""
    unread = next((gap for gap in facts.b.gaps if gap.startswith("logging: request log")), "")
    return uptime_still_failing(facts.b.request_lines, facts.recent_since_incident, bar.error_ratio,
                                bar.probe_seconds, unread, facts.b.check_passed, check_unread(facts.b.gaps),
                                facts.check_window)


def deploy_not_the_cause(facts: Facts, record: ActionRecord, window: Window) -> str:
    """What a rollback failing on its own revision shows ("" for any other action): the revision it sent
    the traffic to, the one serving before the deploy, fails too (`others_failing` found it failing on its
    own requests in `window`), so the deploy was not the failure's cause, and undoing the rollback only
    puts the traffic back where it was. Said with both revisions' shares of 5xx and 429: the one rolled
    back from just before the rollback (`just_before`, on its own requests where it has any there, else
    the service's), the one rolled back to since. A person must look at the causes the evidence holds
    beside the deploy (the database, the connector: docs/signatures.md). Judged before the undo is tried,
    so worded true whether it is done or escalated (a person's change since, a revision that can no longer
    serve, the gate refusing it): the sweep says it with either (verification.py `_undo`)."""
    to = str(record.params.get("to_revision") or "") if record.action == "rollback_traffic" else ""
    if not to:
        return ""
    s = facts.s
    frm = str(record.params.get("from_revision") or "") or "the revision rolled back from"
    own = facts.requests(window, to)
    hung = sum(v >= s.hang_latency_seconds for v in _own_p99(facts, window, to))
    since = (f"{own.refused:.0f} of {own.total:.0f} requests 5xx or 429 ({own.refused_ratio:.1%}) in {window}"
             + (f", p99 at or above {s.hang_latency_seconds:g} s in {hung} minute(s)" if hung else ""))
    before_window = just_before(facts, record)
    before = facts.requests(before_window, frm) if before_window is not None else None
    whose = ""
    if before_window is not None and before is not None and not before.total:
        before, whose = facts.requests(before_window), f"the service's: no request of {frm}'s own read there; "
    was = (f"{whose}{before.refused:.0f} of {before.total:.0f} requests 5xx or 429 ({before.refused_ratio:.1%}) in "
           f"{before_window} before the rollback" if before_window is not None and before is not None and before.total
           else "its share before the rollback not read")
    return (f"the deploy was not the cause: {to}, the revision serving before it, fails too since the rollback "
            f"({since}), as did {frm}, the revision rolled back from ({was}); undoing the rollback can only put the "
            f"traffic back on {frm}, and a person must look elsewhere: the causes the evidence holds beside the "
            "deploy (the database, the connector)")


def too_few_to_tell(facts: Facts, record: ActionRecord, bar_ratio: float) -> str:
    """Why requests clean at the bar since the action do not show the failure gone, because they are too
    few to tell it from the failure just before the action ("" if they are enough, or there is nothing to
    tell apart). The failing share before is the service's 5xx and 429 over the lookback before
    `applied_at` (the minutes the alert fired on, with any clean ones before them: a lower share, so more
    requests are asked for), or, with fewer than `min_requests` there, over all the minutes the sweep read
    before the action (`read_before`); at or under the bar there is no failure to tell the clean requests from.
    The binomial check (shared/diagnosis/still_failing.py, shared with the alert path's `healthy`): over
    STILL_FAILING_CHANCE the clean requests do not rule the failure out: a service
    failing 10 % of 4 requests a minute answers the 20 requests of 5 minutes since the action with no
    failure 12 % of the time (0.9 ** 20), and its rollback to a revision with the same fault was verified.
    Judged on the whole minutes (`settled`) since the action settled, or since its connector change
    took. A quiet
    service waits for more requests (past the deadline, within the undo's bar: `next_step`); then it is
    escalated, kept in place, never undone."""
    # Fewer than min_requests in the lookback before the action (its callers stopped while it failed, a
    # retry left): the failure as the sweep read it further back (`read_before`), not 2 clean requests'
    # share of none to tell the clean requests from.
    before = read_before(facts, record)
    if before is None:
        return ""
    then = facts.requests(before)
    if not then.total or then.refused_ratio <= bar_ratio:
        return ""
    # Every whole minute since the action settled (or its change took), not only the recent ones `healthy`
    # read at the bar: the failure before is ruled out on all the requests since, failures and all.
    window = Window(facts.b.incident_started_at, facts.data_until or facts.b.collected_at)
    now = facts.requests(window)
    n, k, p = round(now.total), round(now.refused), then.refused_ratio
    few = too_few(k, n, p)
    if few is None:
        return ""
    return ("too few requests to tell it from the failure before the action: "
            + few.says(k, n, window,
                       f"it still failed at the {p:.1%} it failed in {before} ({then.total:.0f} requests)"))


def refired(record: ActionRecord) -> str:
    """Why a CLOSED of the action's incident does not show the alert's condition cleared, because its
    policy fired again on the action's target while the action was pending ("" if it did not): another
    incident of the same policy opened (history.note_refired). Monitoring opens one when the condition is
    met again after the first incident closed ("An incident is a record of when the condition of an
    alerting policy is met": Cloud Monitoring, "Incidents for metric-based alerting policies"), or, it is
    read here (UNCONFIRMED), on another of the policy's time series while it is open: either way the condition
    held after the action, whatever the first incident's CLOSED showed of its own series. A connector
    whose CPU fell under its policy's 70 % for a minute (the CLOSED "returned to normal") and rose over it
    again (a new incident) was verified on the first closing and its services' clean requests. Read only
    where the CLOSED is the evidence (`unread_condition`): elsewhere the live requests are judged at the
    alert's own bar."""
    if record.refired_at is None:
        return ""
    return (f"its alert policy fired again while it was verified: incident {record.refired_incident or '?'} opened "
            f"(noted at "
            f"{clock_on(record.refired_at, record.applied_at)}){refire_about(record, record.refired_revision)}, so "
            f"the condition "
            "held again after the action, and no CLOSED of the first incident shows it cleared")


def refire_about(record: ActionRecord, revision: str) -> str:
    """Which revision a refired incident of the alert's policy names, in words ("" when it names none: its
    policy reduces revision_name away, or the record is older): after a rollback, the revision it sent the
    traffic to (the condition held on the revision now serving the callers), the one it took the traffic
    from (still reached by a tag URL, or a split not in effect: the condition held on requests the callers
    of the service's URL no longer send; `tag_still_failing` reads that revision's requests too), or
    another. Either way the policy that paged is not shown cleared: the words say where a person looks."""
    if not revision:
        return ""
    to = str(record.params.get("to_revision") or "") if record.action == "rollback_traffic" else ""
    frm = str(record.params.get("from_revision") or "") if record.action == "rollback_traffic" else ""
    if revision == to:
        return f", on {revision}, the revision the rollback sent the traffic to"
    if revision == frm:
        return (f", on {revision}, the revision the rollback took the traffic from (still reached by a tag URL, or "
                "by a split not in effect): the condition held on its requests, not on those of the revision the "
                "callers are sent to")
    return f", on {revision}"


def refired_after_settle(record: ActionRecord) -> str:
    """Why requests clean at the alert's bar since the action do not verify it, because its alert policy
    fired again on the action's target on minutes after the action settled ("" if it did not, or only on
    earlier ones). Read where the health check judges the alert's own condition (where it does not, any
    refiring counts: `refired`). A new incident is Monitoring's own evaluation of the condition ("An incident
    is a record of when the condition of an alerting policy is met": Cloud Monitoring, "Incidents for
    metric-based alerting policies"), at the policy's own alignment period, series and trigger, which the
    sweep's share over every minute since the settle time does not repeat: one minute at 12 % 503 among
    clean ones is 1.5 % over eight, clean at a 5 % bar, while a condition aligned per minute is met; a
    policy grouped by revision_name fires on the revision traffic went back to alone. Before, the requests
    decided, and a rollback was `verified` while the policy that paged had opened a new incident on its
    service after it, which the alert path had skipped as the rollback's to verify (pipeline.own_rollback).
    Counted only when the new incident's condition was met on minutes after the action settled: its
    `started_at` less one alignment period (the span its newest point aggregates, Aggregation.alignment_period,
    google/monitoring/v3/common.proto; 60 s, the least, where the record does not say) at or after
    `judged_from`. That `started_at` is when the condition was met, not the start of its `duration`, is
    UNCONFIRMED; read the other way, the span begins later still, so the test holds under both. An incident
    that began earlier (another series already failing when the action was taken, a cold start's blip
    while the action settled) is about minutes the sweep does not judge either: the requests decide, as
    before."""
    judged = judged_from(record)
    if record.refired_started_at is None or judged is None:
        return ""
    began = datetime.fromtimestamp(record.refired_started_at, tz=timezone.utc)
    alert = record.alert
    period = timedelta(seconds=alert.alignment_seconds if alert is not None and alert.alignment_seconds else 60)
    if began - period < judged:
        return ""
    return (f"its alert policy fired again on minutes after the action settled: incident "
            f"{record.refired_started_incident or '?'}{refire_about(record, record.refired_started_revision)} began "
            f"at {clock_on(began, record.applied_at)}, its condition met over the "
            f"{period.total_seconds():.0f} s before it (from {clock_on(began - period, record.applied_at)}, after "
            f"the settle time "
            f"{clock_on(judged, record.applied_at)}). Monitoring's own evaluation at the policy's alignment, series "
            f"and trigger found the "
            "condition held after the action, where the requests read here look clean at its bar; the policy that "
            "paged is not shown cleared")


def settled(bundle: EvidenceBundle) -> EvidenceBundle:
    """The bundle with Cloud Run's request metrics (request_count, request_latencies' p99 and p50) cut at the points
    that are surely whole: those ending at least INGEST_LAG before the read. Each series is ingested on
    its own, up to ~180 s after its minute (facts.INGEST_LAG), so a newer minute may hold its 200s and
    not yet its 500s (read as clean: a wrong `verified`), or its 500s and not yet its 200s (read as
    failing: a wrong undo), or no point at all of a failure that began in it. Which, the answer does
    not say. The sweep has the time to wait for them: its verdict is due at the deadline, ten minutes
    after the settle time with the defaults, so its judgement reads only minutes old enough to be
    whole, and `healthy` or `failing` comes a sweep later at most. The cut is by real time
    (facts.whole_until): a sweeper whose clock is ahead cuts that much earlier. (The alert path's `healthy`
    reads whole minutes too, Facts.complete_until, never past Facts.whole_line; its rules read up to the
    newest point of a series still arriving, Facts.read_until.)"""
    return cut_at(bundle, whole_until(bundle))


def cut_at(bundle: EvidenceBundle, at: datetime) -> EvidenceBundle:
    """The bundle with the request metrics' points ending after `at` left out (`settled`)."""
    until = micros(at)

    def cut(result: MetricResult | None) -> MetricResult | None:
        if result is None:
            return None
        return result.model_copy(update={"series": tuple(
            series.model_validate({"metric_labels": series.metric_labels, "resource_labels": series.resource_labels,
                                   "end_us": tuple(end for end in series.end_us if end <= until),
                                   "values": tuple(v for end, v in zip(series.end_us, series.values)
                                                   if end <= until)})
            for series in result.series)})

    return bundle.model_copy(update={"requests": cut(bundle.requests), "latencies": cut(bundle.latencies),
                                     "latencies_p50": cut(bundle.latencies_p50)})


def others_failing(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Why the service failing in `window` does not show that a rollback failed, because the revision it
    sent the traffic to does not fail there ("" if it does, or for any other action): its own requests
    (request_count and request_latencies by revision_name, as the evidence reads them) at least
    `min_requests`, with a share of 5xx and 429 at `bad_error_ratio` or more, or its own p99 at the hang
    bar in `hang_minutes_ratio` of its minutes or more. With fewer requests of its own than
    `min_requests`, nothing shows it failing either: a quiet service's leftovers (the revision rolled
    back from ending what it took before the traffic moved) can outnumber its own few requests, and
    its failing share is theirs; the undo would send the traffic back to the revision that fails.
    Else, on at least `min_requests` of its own that do not fail, what fails is another revision's: requests
    the revision rolled back from took before the traffic moved and that end since (Cloud Run lets
    in-flight requests complete after a traffic change: Cloud Run, "Rollbacks, gradual rollouts, and
    traffic migration", cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration; a request counted once
    it ends, under a request timeout of 15 minutes, keeps adding that revision's 504s for 15 minutes after
    the rollback), or a tagged URL's. An undo then sends the traffic back to the revision that fails."""
    if record.action != "rollback_traffic":
        return ""
    to = str(record.params.get("to_revision") or "")
    if not to:
        return ""
    s = facts.s
    own = facts.requests(window, to)
    p99 = _own_p99(facts, window, to)
    hung = sum(v >= s.hang_latency_seconds for v in p99)
    if own.total < s.min_requests:
        return (f"{to}, the revision the rollback sent the traffic to, has too few requests of its own to show it "
                f"failing: {own.total:.0f} in {window} (at least {s.min_requests} needed); what fails is the service's "
                "other requests (another revision's, ending since: the one rolled back from, or a tagged URL's), and "
                "an undo would send the traffic back to it")
    if own.refused_ratio >= s.bad_error_ratio or (p99 and hung / len(p99) >= s.hang_minutes_ratio):
        return ""
    return (f"{to}, the revision the rollback sent the traffic to, does not fail as a failing revision does: "
            f"{own.total:.0f} requests of its own in {window}, {own.refused_ratio:.1%} 5xx or 429"
            + (f", p99 at or above {s.hang_latency_seconds:g} s in {hung} of {len(p99)} minutes" if p99 else "")
            + "; what fails is another revision's (requests begun before the traffic moved and ending since, "
              "or a tagged URL's), and an undo would send the traffic back to it")


def _own_p99(facts: Facts, window: Window, revision: str) -> list[float]:
    """The revision's own p99 per minute of the window, in seconds (request_latencies by revision_name)."""
    return [v / 1000.0 for points in facts.points(facts.b.latencies)
            if points.label("resource.labels.revision_name") == revision for v in points.values_in(window)]


def _under_bar(p99: dict[datetime, float], at: datetime, s: DiagnosisSettings) -> bool | None:
    """Whether the p99 of the minute ending `at` is under the hang bar; None when the minute holds no p99 (none
    sent, or a NaN left out by `facts.Points`): unknown, neither under nor over it. A check that looks for clean
    minutes counts it as none (`recovered_first`'s run, `_burst_load`'s load carried cleanly); one that looks for
    failing minutes reads it by its 5xx and 429 alone (`recovered_first`'s failing minute) or not as hung
    (`load_not_carried`): a minute not read shows neither."""
    seconds = p99.get(at)
    return None if seconds is None else seconds < s.hang_latency_seconds


def recovered_first(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Why failures in `window` do not show that the action failed, because the service recovered after
    it and only then failed again ("" if it did not): at least _MIN_MINUTES minutes in a row after the
    action was applied (each with requests, at least `min_requests` together, none above
    `healthy_error_ratio` 5xx or 429, p99 under the hang bar), before the first failing minute of
    `window`. The action then did what it was for, and what fails now began after it: another deploy,
    a person's change, a dependency, a load the fixed revision cannot carry. Undoing a rollback then
    sends the traffic back to the revision that failed first, into a failure that is not the one it
    fixed; the evidence does not say whose failure it is, so a person judges it. Minutes are read as
    Cloud Run's points show them: one per minute with requests, each ending on a minute boundary and
    counting the minute before it, so the minute holding `applied_at` (partly before the action) is
    left out, and an action applied mid-minute is judged from the first whole minute after it."""
    s = facts.s
    since_action = Window(record.applied_at + timedelta(seconds=60), window.end)
    p99 = dict(facts.p99_by_minute(since_action))
    minutes = facts.per_minute_where(since_action, refused_series)
    failing_at = next((at for at, total, refused in minutes if at > window.start and total
                       and (refused / total >= s.bad_error_ratio or _under_bar(p99, at, s) is False)), None)
    if failing_at is None:
        return ""
    run: list[tuple[datetime, float]] = []
    for at, total, refused in minutes:
        if at >= failing_at:
            break
        clean = total and refused / total <= s.healthy_error_ratio and _under_bar(p99, at, s) is True
        if not clean or (run and at - run[-1][0] != timedelta(seconds=60)):
            run = []
        if clean:
            run.append((at, total))
            if len(run) >= _MIN_MINUTES and sum(n for _, n in run) >= s.min_requests:
                start = run[0][0] - timedelta(seconds=60)
                return (f"it recovered after the action first: clean in {Window(start, run[-1][0])} "
                        f"({sum(n for _, n in run):.0f} requests, none of the minutes above "
                        f"{s.healthy_error_ratio:.0%} 5xx or 429, p99 under {s.hang_latency_seconds:g} s), then "
                        f"failing from the minute to {clock_on(failing_at, record.applied_at)}: a failure that "
                        f"began after the action worked is not the action's failing"
                        + (", and undoing it would send the traffic back to what failed first"
                           if record.action == "rollback_traffic" else "")
                        + "; whose failure it is (another deploy, a person's change, a dependency) is for a person "
                          "to judge on the minutes since")
    return ""


def helped_partly(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Why failures in `window` do not show that the action did not help, because they are clearly fewer
    than just before it ("" if not), on either of the two ways the service failed, with the other no
    worse, measured against the `recent_seconds` before `applied_at` (the minutes the alert fired on and
    the diagnosis read, at least `min_requests` requests):
    - a share of 5xx and 429 at or under _HELPED of the share then, with no more minutes hanging than
      then, or hangs that were there then already (hanging in `hang_minutes_ratio` of its minutes or
      more: they remain, they are not the action's);
    - hanging then (in `hang_minutes_ratio` of its minutes or more) and in at most _HELPED of that share
      of minutes since, with a share of 5xx and 429 no higher than then: a rollback that ended the hangs
      while the 5xx stayed at 25 % still failed `bad_error_ratio`, and was undone into the hangs.
    An undo puts back the split from before the action, and with it the worse failure: a rollback that
    cut 55 % 5xx to 25 % was undone, and the service went back to 55 %. Better but not clean is for a
    person to judge, as below `bad_error_ratio` already was. Fewer 5xx but hanging where it did not hang
    before is a trade, not shown better: undone, as before. With too few requests in those minutes (every
    caller stopped while it failed), "before" is what `read_before` reads (`just_before`)."""
    s = facts.s
    before = just_before(facts, record)
    if before is None:
        return ""
    then, now = facts.requests(before), facts.requests(window)
    if then.total < s.min_requests:
        return ""
    hung_before, hung_now = _hung_share(facts, before), _hung_share(facts, window)
    hanging_then = hung_before is not None and hung_before >= s.hang_minutes_ratio
    if now.refused_ratio <= _HELPED * then.refused_ratio and (
            hung_now is None or hung_now <= (hung_before or 0.0) or hanging_then):
        return (f"it is better than just before the action: {now.refused_ratio:.1%} 5xx or 429 since, against "
                f"{then.refused_ratio:.1%} of {then.total:.0f} requests in {before}{_earlier(facts, record, before)} "
                f"(at or under {_HELPED:.0%} of it): " + _undo_brings_back(record, "the worse failure")
                + "what still fails is for a person to judge")
    if hanging_then and hung_now is not None and hung_now <= _HELPED * hung_before \
            and now.refused_ratio <= then.refused_ratio:
        return (f"it is better than just before the action: p99 at or above {s.hang_latency_seconds:g} s in "
                f"{hung_now:.0%} of the minutes since, against {hung_before:.0%} in {before}"
                f"{_earlier(facts, record, before)} (at or under "
                f"{_HELPED:.0%} of it), with {now.refused_ratio:.1%} 5xx or 429 since against {then.refused_ratio:.1%}: "
                + _undo_brings_back(record, "the hangs") + "what still fails is for a person to judge")
    return ""


def _undo_brings_back(record: ActionRecord, what: str) -> str:
    """What an undo of a rollback would bring back; nothing for a change no undo exists for (a connector scale)."""
    return f"an undo would bring back {what}; " if record.action == "rollback_traffic" else ""


def failure_moved(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Why a rollback's service failing in `window` does not show that the rollback did not help, because
    it fails there only in a way it did not fail just before it ("" if not, for another action, or with
    fewer than `min_requests` requests in the `recent_seconds` before `applied_at` to compare with): the
    failure moved. Cloud Run's own answers tell the ways apart (the request log's texts,
    docs.cloud.google.com/run/docs/troubleshooting): 429 "no available instance" at max instances (About
    maximum instances), 504 at the request timeout ("If a response isn't returned within the time
    specified, the request ends and an error 504 is returned": Set request timeout for services), any other
    5xx, and hanging (p99 at the hang bar). A rollback whose 500s stopped while its revision, scaled to a
    lower max instances, turns a third of its callers away with 429 (or times them out with 504), or hangs
    where the revision rolled back from answered fast 500s, still failed `bad_error_ratio` and was undone: the
    traffic went back to the 500s. The rollback changed the failure, and which is worse the evidence does not
    rank; an undo brings back the known one, so a person judges it. The service failing as before too (its
    failures of a kind seen before at `bad_error_ratio` or more, or hanging then and now) is not moved:
    undone. With too few requests in the `recent_seconds` before the action (every caller stopped while it
    failed), "before" is what `read_before` reads (`just_before`)."""
    if record.action != "rollback_traffic":
        return ""
    s = facts.s
    before = just_before(facts, record)
    if before is None:
        return ""
    # Since: the revision the rollback sent the traffic to, on its own requests where it has any (the
    # leftovers of the revision rolled back from, ending since, fail as before: `others_failing`).
    to = str(record.params.get("to_revision") or "")
    own = facts.requests(window, to) if to else None
    then, now = facts.requests(before), own if own is not None and own.total else facts.requests(window)
    if then.total < s.min_requests or not now.total:
        return ""
    kinds_then = _failure_kinds(then, _no_instance_500s(facts, before, None))
    kinds_now = _failure_kinds(now, _no_instance_500s(facts, window, to if own is not None and own.total else None))
    seen = {k for k, n in kinds_then.items() if then.refused and n / then.refused >= _SEEN_KIND}
    p99_now = _own_p99(facts, window, to) if own is not None and own.total else facts.p99_seconds(window)
    hung_before = _hung_share(facts, before)
    hung_now = sum(v >= s.hang_latency_seconds for v in p99_now) / len(p99_now) if p99_now else None
    hanging_then = hung_before is not None and hung_before >= s.hang_minutes_ratio
    hanging_now = hung_now is not None and hung_now >= s.hang_minutes_ratio
    as_before = sum(n for k, n in kinds_now.items() if k in seen) / now.total
    if as_before >= s.bad_error_ratio or (hanging_now and hanging_then):
        return ""
    then_text = ", ".join(f"{k} {n / then.total:.1%}" for k, n in kinds_then.items() if n) or "no 5xx or 429"
    now_text = ", ".join(f"{k} {n / now.total:.1%}" for k, n in kinds_now.items() if n) or "no 5xx or 429"
    return (f"the failure moved: since, {now_text}" + (f", p99 at or above {s.hang_latency_seconds:g} s in "
                                                        f"{hung_now:.0%} of minutes" if hanging_now else "")
            + f"; just before the action, in {before}{_earlier(facts, record, before)}, {then_text} of "
              f"{then.total:.0f} requests"
            + (f", p99 at or above {s.hang_latency_seconds:g} s in {hung_before:.0%} of minutes" if hanging_then else "")
            + ": it fails in another way than before (429 or 500 no available instance: Cloud Run's own capacity, "
              "turned away at max instances or while it scales; 504: the request timeout; hanging), not as it did, and an undo would bring back the failure it had; which is worse "
              "is for a person to judge")


def nothing_to_undo_against(facts: Facts, record: ActionRecord) -> str:
    """Why a rollback's service failing since does not show the rollback made it no better, because there is
    no "before" to compare with (`read_before` is None: no request, or fewer than `min_requests`, in all the
    minutes read before it; "" otherwise, and for any other action). `helped_partly` and `failure_moved` then
    compare with nothing: 5 500s before are no failure rate, and the failure before may have been worse (all
    of it, or hangs) or of another kind. An undo is a write that needs evidence the rollback failed, and
    failing since is not that where "before" is unknown: escalated, the evidence named, a person judges.
    Before, such a rollback was undone on its failure since alone, into a failure nobody measured."""
    if record.action != "rollback_traffic":
        return ""
    unknown = before_unknown(facts, record)
    if not unknown:
        return ""
    return (f"{unknown}: whether it fails worse than before the rollback, or in another way, cannot be told, and an "
            "undo would be a write on that doubt")


def _failure_kinds(requests, no_instance_500s: int = 0) -> dict[str, float]:
    """The failures among `requests` by the way Cloud Run's answer tells (`failure_moved`): Cloud Run's
    own capacity refusals (429 at max instances, and its 500 "no available instance" when it cannot
    scale fast enough: Cloud Run's troubleshooting page, docs.cloud.google.com/run/docs/troubleshooting),
    504, and any other 5xx. request_count's 500s do not say whose they are: the request log's "no available
    instance" lines at 500 (`no_instance_500s`, at most the 500s counted) are Cloud Run's, the rest
    the application's. A rollback to a revision idle for hours scales from zero, and
    Cloud Run's 500s while it does were read as the application's 500s seen before it: `failing as
    before`, undone back into the bad revision."""
    timeouts, refused = requests.by_code.get("504", 0), requests.by_code.get("429", 0)
    platform = min(no_instance_500s, requests.by_code.get("500", 0))
    return {"429 or 500 no available instance": refused + platform, "504": timeouts,
            "other 5xx": requests.by_class.get("5xx", 0) - timeouts - platform}


def _no_instance_500s(facts: Facts, window: Window, revision: str | None) -> int:
    """Cloud Run's 500 "no available instance" request-log lines whose requests the points of `window`
    count (a point counts the minute before its end), of `revision` (None: any)."""
    span = Window(window.start - timedelta(seconds=60), window.end)
    return sum(1 for e in facts.log_matches(LogSignal.NO_INSTANCE, revision)
               if e.http_status == 500 and span.holds(e.timestamp))


def _hung_share(facts: Facts, window: Window) -> float | None:
    """The share of the window's minutes with a p99 at the hang bar, None with no latency read."""
    p99 = facts.p99_seconds(window)
    if not p99:
        return None
    return sum(v >= facts.s.hang_latency_seconds for v in p99) / len(p99)


def changed_since(record: ActionRecord, service: Service) -> str:
    """Why a rollback's service failing now does not show the rollback failed, because its desired state
    was changed since ("" if not, or not known): its `generation` past the one the rollback left
    (`ActionRecord.after`, read from the write's answer). The Service's generation "monotonically
    increases every time the user modifies the desired state" (run_v2.types.Service), so a higher one is
    a change by someone since: a deploy (pinned, its revision gets no traffic, but a person or a pipeline
    is at work), a service-level setting (max instances, ingress, the invoker) that applies to every
    revision at once. Whose failure it is the evidence does not say, and an undo would write over a
    service someone is changing: as the diagnosis stands down for a person's recent change, so does the
    undo. A traffic change since is `changed` already (`traffic_moved`)."""
    moved = generation_moved(record, service)
    return (f"{moved}, so whose failure this is cannot be told, and an undo would write over their change"
            if moved else "")


def served_elsewhere(facts: Facts, alert: AlertContext | None) -> str:
    """Why clean requests since the action settled do not show the service's callers served, because the
    requests its serving revisions answered (those with a share of the split: what the service's URL
    reaches) are too few or fail at the bar, and the service's share is clean only with requests of
    revisions outside the split ("" if not, or if every request was a serving revision's). A tag at 0%
    has its own URL (TrafficTarget.tag, google/cloud/run/v2/traffic_target.proto), and its requests are
    counted under its own revision_name: a load test or a probe on a tag URL at 4,000 clean requests a
    minute made a rollback whose revision failed half of its 40 a minute read 0.5 % 5xx, `healthy`.
    Requests the revision rolled back from took before the traffic moved, ending since, are outside the
    split too; clean, they change nothing here."""
    window = facts.recent_since_incident
    serving = [r.short_name for r in facts.serving]
    if not serving:
        return ""
    everything = facts.requests(window)
    own = [facts.requests(window, r) for r in serving]
    total, refused = sum(r.total for r in own), sum(r.refused for r in own)
    elsewhere = everything.total - total
    if elsewhere <= 0:
        return ""
    s, bar = facts.s, health_bar(alert, facts.s)
    names = ", ".join(serving)
    if total < s.min_requests:
        return (f"its serving revisions ({names}) answered {total:.0f} requests in {window}, under the "
                f"{s.min_requests} needed, and the other {elsewhere:.0f} were answered by revisions outside the "
                "split (a tag's URL, requests begun before the traffic moved): the service's own callers are not "
                "shown served")
    p99 = [v for r in serving for v in _own_p99(facts, window, r)]
    if refused / total > bar.error_ratio or (p99 and max(p99) >= bar.p99_seconds):
        return (f"its serving revisions ({names}) fail on their own requests in {window}: {refused:.0f} of "
                f"{total:.0f} 5xx or 429 ({refused / total:.1%})" + (f", p99 max {latency(max(p99))}" if p99 else "")
                + f", over the bar ({bar.error_ratio:.1%}, p99 under {bar.p99_seconds:g} s); the service's share is "
                f"clean only with {elsewhere:.0f} requests of revisions outside the split (a tag's URL)")
    return ""


def tag_still_failing(facts: Facts, record: ActionRecord, alert: AlertContext | None) -> str:
    """Why clean requests since a rollback do not show its callers served, because a traffic tag still
    reaches the revision it took the traffic from, and that revision fails on its own requests there (""
    if not, or for any other action). Every traffic change keeps the service's tags at 0% (planning:
    `keep_tags`, docs/actions.md), and a tagged target has its own URL that reaches its revision whatever
    the split (TrafficTarget.tag: "Indicates a string to be part of the URI to exclusively reference this
    target", google/cloud/run/v2/traffic_target.proto); a tag on LATEST follows the newest Ready revision
    (the bad deploy, under a rollback's pin: the traffic status resolves it, Service.traffic_statuses). The
    tag is removed with `gcloud run services update-traffic SERVICE --remove-tags TAG` (its gcloud
    reference). A deploy with `--tag`, and
    callers or a client channel pointed at that URL, keep failing on the revision rolled back from while the
    service's URL serves cleanly: a share of 5xx diluted under the bar by the service's own callers was
    `verified` (`served_elsewhere` reads only the other way: the serving revisions failing, the tag clean).
    Read on that revision's requests ending after any it took before the traffic moved could have (its
    request timeout and a minute after `applied_at`: Cloud Run lets in-flight requests complete, Cloud Run,
    "Rollbacks, gradual rollouts, and traffic migration"), so only requests sent through the tag since count:
    failing over the bar (5xx and 429, or p99 at its bar), their callers are not served."""
    frm = str(record.params.get("from_revision") or "") if record.action == "rollback_traffic" else ""
    if not frm or facts.b.service.serving_percent(frm) > 0:    # serving: its requests are the split's own
        return ""
    service = facts.b.service
    tags = sorted({t.tag for t in (service.traffic_statuses or service.traffic) if t.tag and t.revision == frm})
    if not tags:
        return ""
    window = facts.recent_since_incident
    timeout = next((r.timeout_seconds for r in facts.b.revisions if r.short_name == frm and r.timeout_seconds),
                   DEFAULT_REQUEST_TIMEOUT_SECONDS)
    since = Window(max(window.start, record.applied_at + timedelta(seconds=timeout + 60)), window.end)
    if since.end <= since.start:
        return ""
    own = facts.requests(since, frm)
    if not own.total:
        return ""
    bar = health_bar(alert, facts.s)
    p99 = _own_p99(facts, since, frm)
    slow = bool(p99) and max(p99) >= bar.p99_seconds
    if own.refused_ratio <= bar.error_ratio and not slow:
        return ""
    named = ", ".join(tags)
    return (f"the revision rolled back from, {frm}, still answers its tag URL ({named}) and fails there: "
            f"{own.refused:.0f} of {own.total:.0f} of its requests 5xx or 429 ({own.refused_ratio:.1%}) in {since}"
            + (f", p99 max {latency(max(p99))}" if p99 else "")
            + f", against the bar ({bar.error_ratio:.1%}, p99 under {bar.p99_seconds:g} s), all begun after the "
            f"rollback (ended more than its {timeout:.0f} s request timeout and a minute after it): the callers of "
            f"that URL are not served. Remove the tag (gcloud run services update-traffic SERVICE --remove-tags "
            f"{named.replace(', ', ',')}) or point it at a working revision")


def changed_by_others(facts: Facts, record: ActionRecord) -> str:
    """Why clean requests since the action settled do not show the action's effect, because someone else
    changed what serves, or the service, or the connector, since the action ("" if nothing shows it): the
    recovery may be that change's doing. A person's deploy during the verification (a fix of the code,
    fewer requests per instance, a larger pool) that serves cleanly was credited to a connector scale-up;
    a service-level setting raised after a rollback (max instances, the invoker) to the rollback. Read
    from what the judgement reads anyway:
    - a serving revision created after the action (Revision.create_time): a deploy since that takes
      traffic (after a rollback, any split off its revision is `changed` already, `traffic_moved`);
    - after a rollback, the service's generation past the one the rollback left (it "monotonically increases
      every time the user modifies the desired state", run_v2.types.Service), unless every step is a deploy
      that takes no traffic, with the split and the service-level settings as the rollback left them
      (generations.unexplained_generations: a pipeline's `--no-traffic` deploy under the pin changes nothing
      that serves; before, it was read as a person's change and the rollback escalated);
    - an Admin Activity audit entry on the service, or on the connector its serving revision uses, since
      the evidence the action was decided on was read (`changes_read_from`: one made during an approval wait
      came before the write; before, only entries after `applied_at` were read), by a principal that is not
      one of Runwarden's own (`self_principals`), whose status is not an error (a refused change changed nothing; AuditLog.status, google.rpc.Code 0 is OK). An
      operation's two entries are one, at its first (collection.merge_operation_entries), so the action's
      own operation, begun before `applied_at`, is never read as a change since it.
    `unclear`, never `failing`: whose recovery it is the evidence does not say, and a person judges it."""
    after = record.applied_at
    deployed = [r for r in facts.serving if r.create_time > after]
    if deployed:
        named = ", ".join(f"{r.short_name} (created {clock_on(r.create_time, after)})" for r in deployed)
        return (f"a revision deployed after the action serves now: {named}, after the action at {hms(after)}; the "
                "recovery may be that deploy's doing, not the action's")
    moved = unexplained_generations(record, facts.b.service, facts.b.revisions)
    if moved:
        return f"{moved}, so whose recovery this is cannot be told"
    return _others_in_audit(facts, record, deploys_accounted(record, facts.b.service, facts.b.revisions))


def changes_read_from(record: ActionRecord) -> datetime:
    """From when others' changes count against the action (`changed_by_others`): the time the evidence it was
    decided on was read (ActionRecord.evidence_read_at), or `applied_at` when that is not kept (an operator's
    command, an older record) or not earlier. A person's fix made while the write waited (an approval, the
    gate's reads) came before the write, and the write did not clear what it had cleared already."""
    read = record.evidence_read_at
    return min(read, record.applied_at) if read is not None else record.applied_at


def _others_in_audit(facts: Facts, record: ActionRecord, deploys: Sequence[Revision] = ()) -> str:
    """The audit part of `changed_by_others`: a person's entries since the evidence's read (`changes_read_from`),
    each said before or after the action, and whose change came first. `deploys`: the revisions created since a
    rollback that `unexplained_generations` accounted for as deploys taking no traffic (a pipeline's under the
    pin); each one's own Admin Activity entry is passed over (`deploy_entries`), since every real deploy writes
    one (ReplaceService or UpdateService by the pipeline's account, "Cloud Run audit logging"). Before, that
    entry was named as someone else's change, and a rollback under which a pipeline deployed never verified.
    The read time is the instance's clock, an entry's `timestamp` Google's (LogEntry.timestamp, "The time the
    event described by the log entry occurred", google/logging/v2/log_entry.proto), and the two may differ by
    up to CLOCK_SKEW_ALLOWANCE either way: an instance 2 minutes fast dates its read 2 minutes late, and a
    person's change a minute after the read in real time was dated before it and left out. So entries from
    the allowance before the read count too (`changes_counted`), said as possibly after it, unless dated at or
    before a server time the evidence already held (`server_time_read`): those came before the read whatever
    the clocks."""
    after, since = record.applied_at, changes_read_from(record)
    audits = [e for read in (facts.b.audit, facts.b.connector_audit) if read is not None for e in read.entries]
    own = {p.strip().lower() for p in facts.s.self_principals}
    others = sorted((e for e in changes_counted(audits, since, server_time_read(record, facts.b.revisions))
                     if (e.principal or "").lower() not in own and not e.status_code), key=lambda e: e.timestamp)
    accounted = deploy_entries(others, deploys, facts.b.service.short_name)
    others = [e for e in others if not any(e is a for a in accounted)]
    cut = audit_cut(facts, since - CLOCK_SKEW_ALLOWANCE)
    if not others:
        return cut
    shown = "; ".join(f"{e.method_name or e.text or 'a change'} on {short_name(e.resource_name or '') or 'the service'} "
                      f"by {e.principal or 'an unnamed principal'} at {clock_on(e.timestamp, after)}"
                      + _when_said(e.timestamp, since, after) for e in others[:3])
    more = (f"; {len(others) - 3} more" if len(others) > 3 else "") + (f"; and {cut}" if cut else "")
    if others[0].timestamp > after:
        return (f"someone else changed it after the action at {hms(after)} (Admin Activity audit log: {shown}{more}): "
                "the recovery may be that change's doing, not the action's")
    read = (f"after the evidence it was decided on was read at {clock_on(since, after)}" if others[0].timestamp > since
            else f"after, or up to the clock-skew allowance ({_minutes(CLOCK_SKEW_ALLOWANCE)}) before, "
                 + (f"the time the evidence it was decided on was read at, {clock_on(since, after)}" if since < after
                    else f"the action's time, {hms(after)}")
                 + " (this instance's clock, not Google's: the change may have come after it)")
    return (f"someone else changed it before the action, {read} (Admin Activity audit log: {shown}{more}): their "
            f"change came first and the action was written after it, at {hms(after)}, so the recovery may be that "
            "change's doing, not the action's")


def audit_cut(facts: Facts, read_from: datetime) -> str:
    """Why the audit read does not show that nobody else changed the service or its connector since `read_from`,
    because it was cut at its bound (collection.MAX_AUDIT_ENTRIES, newest first: LogResult.truncated) before it
    reached back to then ("" when it was read whole, or reached back past `read_from`). The entries left out are the
    oldest, the very ones from the evidence's read on. A read that failed is a gap, judged as such elsewhere."""
    reads = [r for r in (facts.b.audit, facts.b.connector_audit) if r is not None]
    if not any(r.truncated for r in reads):
        return ""
    oldest = min((e.timestamp for r in reads for e in r.entries), default=None)
    if oldest is not None and oldest <= read_from:
        return ""
    back_to = f"back to {clock_on(oldest, read_from)} only" if oldest is not None else "with no entry kept"
    return (f"the Admin Activity audit read of the service and its connector came back cut at its bound "
            f"({MAX_AUDIT_ENTRIES:,} entries, newest first), {back_to}: the changes from {clock_on(read_from, read_from)} "
            "(the evidence's read, less the clock-skew allowance) to then are not read, so whether someone else "
            "changed it since cannot be told")


# The methodName of a deploy's Admin Activity entry: google.cloud.run.v1.Services.ReplaceService (gcloud's v1 path)
# or google.cloud.run.v2.Services.UpdateService ("Cloud Run audit logging"; the AuditLog.method_name field,
# google/cloud/audit/audit_log.proto). The audit read's filter asks for these (collection.audit_filter).
_DEPLOY_METHODS = ("Services.ReplaceService", "Services.UpdateService")


def deploy_entries(entries: Sequence[LogRecord], deploys: Sequence[Revision], service: str) -> list[LogRecord]:
    """The entries that are the deploys' own: for each revision in `deploys`, oldest first, the latest entry
    not taken yet that is a Run deploy on `service` (its methodName, and its resource the service, not its
    connector) dated at or before the revision's `create_time`: a deploy's request comes before the revision it
    makes. At most one per revision, so a person's update besides the deploys (a second entry) is still named.
    Whether Cloud Run dates the entry at or before the revision it creates is not documented (UNCONFIRMED: it is
    the operation's first entry, "Cloud Run audit logging"); read the other way, the deploy's own entry is not
    taken (an earlier update of the service may be taken in its place, one at most per revision), so one entry is
    still named as someone else's: `unclear`, never a wrong `verified`."""
    candidates = [e for e in entries if (e.method_name or "").endswith(_DEPLOY_METHODS)
                  and "/connectors/" not in (e.resource_name or "")
                  and short_name(e.resource_name or "") == service]
    taken: list[LogRecord] = []
    for revision in sorted(deploys, key=lambda r: r.create_time):
        free = [e for e in candidates if e.timestamp <= revision.create_time and not any(e is t for t in taken)]
        if free:
            taken.append(max(free, key=lambda e: e.timestamp))
    return taken


def changes_counted(entries: Sequence[LogRecord], since: datetime, read_after: datetime | None) -> list[LogRecord]:
    """The audit entries that may be changes after the evidence's read: dated after `since` (the read's time on
    the instance's clock), or within CLOCK_SKEW_ALLOWANCE before it (the clocks cannot tell which came first),
    but never at or before `read_after` (a server time the evidence held: those came before the read)."""
    return [e for e in entries if e.timestamp > since - CLOCK_SKEW_ALLOWANCE
            and (read_after is None or e.timestamp > read_after)]


def server_time_read(record: ActionRecord, revisions: Sequence[Revision]) -> datetime | None:
    """A time on Google's clock known to come before the evidence's read, the latest of:
    - the `create_time` ("The creation time", google/cloud/run/v2/revision.proto, set by the server) of the
      revisions the record names, which existed when the evidence was read (the rollback's two, the newest
      revision its plan read). Whether a deploy's audit entry is dated at or before the revision it creates is
      not documented (UNCONFIRMED: the entry is the operation's start, "Cloud Run audit logging"); if it is dated
      after, that deploy is named as possibly first, never left out;
    - the service's `update_time` as the plan read it ("The last-modified time", output only,
      google/cloud/run/v2/service.proto; the record's `before`, rollback_traffic.traffic_state): every change
      dated at or before it, a pipeline's traffic step that made the service fail minutes before the read among
      them, was made before the read. Before, such a step within the clock-skew allowance of the read was named
      as possibly after it, and a rollback that worked was `unclear`. A record stored before it was kept reads
      the revisions alone.
    None when the record holds none of them, as a `scale_connector` record always: VPC Access v1's Connector has no
    update time (google/cloud/vpcaccess/v1/vpc_access.proto), and its operation's metadata times (createTime,
    endTime) come after the read, so no Google time is known to precede it (docs/behaviour.md)."""
    named = {str(record.params.get(key) or "") for key in ("from_revision", "to_revision")}
    named.add(str(record.before.get("latest_created_revision") or ""))
    times = [r.create_time for r in revisions if r.short_name in named - {""}]
    updated = stored_time(record.before.get("update_time"))
    return max([*times, *([updated] if updated is not None else [])], default=None)


def _when_said(at: datetime, since: datetime, after: datetime) -> str:
    """An entry's place against the evidence's read and the action, as far as the clocks tell."""
    if at <= since:
        return " (dated before the time read from, within the clock-skew allowance of it)"
    return " (before the action)" if at <= after and since < after else ""


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g} min"


def verified_kept(ratio: float) -> float:
    """The share of its demand before the action a clean service must serve since it for a `verified`
    (`traffic_lost` with `verify`): `min_traffic_ratio` or _AS_BUSY, whichever is higher; 0 (the check off)
    when `min_traffic_ratio` is 0. Why half: the demand it is measured against is the service's own rate in
    the minutes before the action, or before its failures began (`demand_before`), so the two sides lie
    within the lookback and the verification period of each other (about half an hour with the defaults),
    over which the hour's own rise and fall moves a service's rate far less than half; a service serving
    under half of it within those minutes lost callers to something else (clients that gave up, a load
    balancer that failed over to another region or a fallback), and its clean requests are then the rest's:
    they neither show the callers that failed served again, nor, for a failure that grew with the load,
    that the action rather than the lighter load ended it. The same share is the one the sweep already calls
    "as busy as it was" (`more_requests_likely`). Before, `verified` needed only `min_traffic_ratio` (10 %):
    a service that kept 15 % of its traffic after a rollback was verified."""
    return 0.0 if ratio <= 0 else max(ratio, _AS_BUSY)


def traffic_lost(facts: Facts, record: ActionRecord, ratio: float, unknown_is_lost: bool = True,
                 idle: IdleBefore | None = None, verify: bool = False) -> str:
    """Why clean requests since the action settled do not show recovery, because most of the service's
    traffic is gone ("" if it kept at least `ratio` of it). Measured against the service's own demand
    before the action (`demand_before`: its rate in the lookback before the action, its incident's minutes
    included, since request_count counts every answered request, 5xx and 429 too, so failing minutes
    still show the callers' demand; or, where higher, its rate before the failures began).
    The rate since is per minute of the window judged, with or without requests (`_minutes_spanned`): that
    window ends at the newest point and lies inside the query, and Cloud Run writes no request_count point
    for a minute without requests (UNCONFIRMED), so a minute there without a point is a minute nobody was
    answered (cloud-run-release-manager PR #64, GoogleCloudPlatform: no request in an interval, no
    data). Per minute with requests, 25 requests in each of 2 of 5 minutes read as 25 a minute when
    the service answered 10: callers that gave up and retry now and then looked like a service that
    kept its traffic. With fewer than `min_requests`, or no, request before the action in all the evidence
    read (`before_unknown`; an operator's command on
    a service with no request in the lookback before it), there is nothing to compare with: not shown, so
    unclear, and said so with the minutes read.
    25 clean requests a minute after 1,000 a minute before is not a recovery shown: the callers may have
    stopped, backed off or gone elsewhere (another region, a fallback), and the few left may not be the
    ones that failed. The rate since is of the serving revisions' own requests where they are known: a
    load test on a tag URL at 4,000 requests a minute is not the callers coming back. Nor are a few
    failing requests left a failure shown; but there, with
    `unknown_is_lost` False, only a rate shown to have fallen counts: no request before the action in
    the evidence read is nothing to compare with, not traffic lost.
    `idle`: a service idle between requests before its failure began (bursts.py), judged on every minute
    since the action: its rate before is per minute of the minutes before the onset, idle ones too, or of
    the lookback before the action if higher (like with like: a cron's 30 requests every 10 minutes is 3
    a minute on either side, not 30 before against 3 since).
    `verify`: read for a `verified` (a clean service): the share it must keep is `verified_kept`'s (half, by
    default), not `ratio` alone; a share between the two is said as traffic down, not gone."""
    bar = verified_kept(ratio) if verify else ratio
    if bar <= 0:
        return ""
    window = facts.recent_since_incident
    minutes_after = facts.minutes_with_requests(window)
    if not minutes_after:
        return ""
    demand = demand_before(facts, record, idle)
    if demand is None:
        if not unknown_is_lost:
            return ""
        return (f"{before_unknown(facts, record)}, so there is no demand to compare the requests since with, and "
                "whether they are the callers that failed cannot be told")
    # Judged on every minute since the action (`idle`), the minutes after the newest point up to the whole
    # line are idle ones, read (bursts.readable_until): callers that stopped after two bursts count so.
    spanned = max(minutes_after, _minutes_spanned(Window(window.start, max(window.end, readable_until(facts)))
                                                  if idle else window))
    # The serving revisions' own requests (those with a share of the split, what the service's URL
    # reaches), where they are known: a tag URL's load is not the callers staying (`served_elsewhere`).
    serving = [r.short_name for r in facts.serving]
    after = (sum(facts.requests(window, r).total for r in serving) if serving else facts.requests(window).total)
    rate_after = after / spanned
    if verify and idle is None:
        demand = _per_every_minute(facts, demand)
    if rate_after >= bar * demand.per_minute:
        return ""
    idle_minutes = (f" ({spanned - minutes_after} of its {spanned} minutes without a request)"
                    if spanned > minutes_after else "")
    if rate_after >= ratio * demand.per_minute:
        return (f"its traffic is down to {rate_after / demand.per_minute:.0%} of its demand before: "
                f"{rate_after:.0f} requests a minute in {window}{idle_minutes}, against {demand.per_minute:.0f} a "
                f"minute in {demand.window} {demand.when}, under the {bar:.0%} a verified needs: callers left (gave "
                "up, or a load balancer sent them elsewhere), and the clean requests of the rest show neither the "
                "callers that failed served again nor that the action, not the lighter load, ended the failure")
    return (f"its traffic is mostly gone: {rate_after:.0f} requests a minute in {window}{idle_minutes}, against "
            f"{demand.per_minute:.0f} a minute in {demand.window} {demand.when} (under {ratio:.0%} of it kept): "
            "whether the action helped or the callers went away cannot be told")


def _per_every_minute(facts: Facts, demand: Demand) -> Demand:
    """`demand` per minute of its window, idle ones too, for a service that went without a request in some of
    its minutes between ones with requests (`_idle_between_requests`: a batch job's bursts), as the rate
    since is counted (`traffic_lost`: per minute of the window judged). Like with like: 40 a minute in a
    2-minute burst of the lookback is 5.3 a minute over its 15, and one such burst since in 5 minutes is 16
    a minute, not 40% of 40. `demand` as it is for a service busy in every minute up to its last request
    (callers that stopped leave idle minutes only after it)."""
    if not _idle_between_requests(facts, demand.window):
        return demand
    total = facts.requests(demand.window).total
    return Demand(total / _minutes_spanned(demand.window), demand.window, demand.when)


@dataclass(frozen=True)
class Demand:
    """The service's requests a minute before the action, over which minutes, and what those were, in words."""

    per_minute: float
    window: Window
    when: str


def demand_before(facts: Facts, record: ActionRecord, idle: IdleBefore | None = None) -> Demand | None:
    """The service's demand before the action, as `traffic_lost` and `_callers` compare the requests since
    with; None where the evidence read holds no request before the action at all.
    - The lookback before the action, per minute with requests (the sweep's query may start inside it, so a
      minute without a point there may be one not read, and an idle minute lowers nothing); `idle`: per
      minute of every minute (a service idle between requests: like with like).
    - The minutes before the failure began (`_before_onset`; `idle`'s own), where higher: callers that gave
      up while it failed lowered the rate just before the action.
    - With fewer than `min_requests` requests in the lookback before the action (none, or a retry now and
      then: every caller stopped while it failed, a client's circuit breaker open; a webhook called less
      often than a lookback; an approval or an alert's duration that put the action long after the
      incident's start), the service's minutes the sweep read further back, where they hold that many (none
      where they do not: `read_before`, `before_unknown`), from where it reads request_count (`reach_back`:
      a lookback before the incident's start): its failing minutes are its callers' demand too. Per minute
      with requests, or, for a service idle between
      requests, per minute of every minute. Before, such a sweep said only that whether the service kept
      its traffic "cannot be told", for a service whose callers came back in full as for one they left."""
    before = read_before(facts, record)
    if before is None:
        return None     # no request before the action read: none before the onset either
    lookback = before == lookback_before(facts, record)
    minutes = facts.minutes_with_requests(before)
    spanned = _minutes_spanned(before) if idle else minutes
    rate = facts.requests(before).total / spanned if lookback else 0.0
    onset = (idle.per_minute, idle.window) if idle else _before_onset(facts, record)
    if onset is not None and onset[0] > rate:
        return Demand(onset[0], onset[1], "before the failures began"
                      + ("" if lookback else f" ({_lookback_held(facts, record)})"))
    return Demand(rate if lookback else facts.requests(before).total / spanned, before,
                  _read_before_words(facts, record, before))


def lookback_before(facts: Facts, record: ActionRecord) -> Window:
    """The lookback before the action: the minutes the alert fired on, with any clean ones before them."""
    return Window(record.applied_at - timedelta(seconds=facts.s.lookback_seconds), record.applied_at)


def read_before(facts: Facts, record: ActionRecord) -> Window | None:
    """The minutes before the action that the checks comparing with "before" read (`demand_before`,
    `too_few_to_tell`, `client_errors_rose`, `slower_than_before`): the lookback before it where it holds
    `min_requests` requests; with fewer (none: every caller stopped while the service failed, a webhook called
    less often than a lookback, an action long after the incident's start; or a few: a caller's retry now and
    then, a probe), every minute the sweep read before it (`onset_search`, read from `reach_back`), the
    incident's failing minutes included (request_count counts 5xx too, request_latencies their latency),
    where those hold `min_requests`; else None: no "before" to judge against (`before_unknown` says why: no
    request read before the action, or too few). The reason names the minutes read and why
    (`_read_before_words`). Before, any request in the lookback kept it: the checks that need `min_requests`
    (`helped_partly`, `failure_moved`) said nothing, and the others read 3 clean requests as the demand, 3
    404s as the share of 4xx before, or a few clean minutes as no failure before. And where every minute
    read before the action held fewer than `min_requests` (a retry or a probe after callers that stopped
    longer ago than the sweep reads), those few stood as the "before": a probe's 3 404s were the share of
    4xx a rollback answering 40 % 404 was measured against, 2 slow requests the latency bar, 4 requests the
    demand, and such rollbacks were verified, or undone against 5 500s.
    `load_not_carried` looks for its failing minutes here too, and `helped_partly` and `failure_moved` read
    it where the minutes just before the action hold too few requests (`just_before`)."""
    lookback = lookback_before(facts, record)
    if facts.requests(lookback).total >= facts.s.min_requests:
        return lookback
    earlier = onset_search(facts, record)
    return earlier if facts.requests(earlier).total >= facts.s.min_requests else None


def before_unknown(facts: Facts, record: ActionRecord) -> str:
    """Why there is no "before" to judge the action against (`read_before` is None), in words: no request
    read before the action, or fewer than `min_requests` in all the minutes read before it; "" if there is."""
    if read_before(facts, record) is not None:
        return ""
    window = onset_search(facts, record)
    held = facts.requests(window).total
    where = (f"{window}: the lookback before it, and back to a lookback before the incident's start where one is "
             "recorded")
    if not held:
        return f"no request read before the action, none in all the minutes read before it ({where})"
    return (f"only {held:.0f} request{'' if held == 1 else 's'} read before the action, in all the minutes read "
            f"before it ({where}), under {facts.s.min_requests} (min_requests): too few to stand for what it "
            "served before")


def _read_before_words(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Which minutes `read_before` read, and why, in words."""
    return ("before the action" if window == lookback_before(facts, record) else
            f"earlier in the incident ({_lookback_held(facts, record)})")


def _lookback_held(facts: Facts, record: ActionRecord) -> str:
    """Why `read_before` read before the lookback before the action: what the lookback held, in words."""
    held = facts.requests(lookback_before(facts, record)).total
    if not held:
        return "none in the lookback before the action"
    return (f"only {held:.0f} request{'' if held == 1 else 's'} in the lookback before the action, under "
            f"{facts.s.min_requests} (min_requests)")


def just_before(facts: Facts, record: ActionRecord) -> Window | None:
    """The minutes `helped_partly` and `failure_moved` compare the failure since with: the `recent_seconds`
    before the action (the minutes the alert fired on and the diagnosis read) where they hold `min_requests`
    requests; with fewer (every caller stopped while the service failed), what `read_before` reads, from the
    failure's first minute where the minutes before it were read (`pre_onset`): the failure is what is
    compared with, and clean minutes before it would lower its share, so a rollback that cut it was undone
    as no better. Before, with no request in the recent minutes, neither check had anything to compare with,
    and a rollback that cut the failures, or changed their kind, was undone into the failure it ended."""
    recent = _recent_before(facts, record)
    if facts.requests(recent).total >= facts.s.min_requests:
        return recent
    before = read_before(facts, record)
    clean = pre_onset(facts, before) if before is not None else None
    return Window(clean.end, before.end) if before is not None and clean is not None else before


def _recent_before(facts: Facts, record: ActionRecord) -> Window:
    """The `recent_seconds` before the action: the minutes the alert fired on and the diagnosis read."""
    return Window(record.applied_at - timedelta(seconds=facts.s.recent_seconds), record.applied_at)


def _earlier(facts: Facts, record: ActionRecord, window: Window) -> str:
    """Said of a "before" (`just_before`) that begins before the lookback before the action."""
    if window == _recent_before(facts, record) or window.start >= lookback_before(facts, record).start:
        return ""
    return " " + _read_before_words(facts, record, window)


def _before_onset(facts: Facts, record: ActionRecord) -> tuple[float, Window] | None:
    """(requests a minute, over which minutes) in the lookback before the service's first failing minute
    before the action, in the evidence read; None where no minute failed before the action, or none with
    requests came before the first that did (the onset before the sweep's query: not known).
    Callers that give up while a service fails (a user closing the page, a client's circuit breaker) lower
    the rate just before the action; the minutes before the onset show the demand the recovery must carry.

    The onset is looked for from `onset_search_from` (the incident's start as its notification said it,
    less a lookback), not only in the sweep's own incident window (a lookback before the settle time: 10
    minutes before the write with the defaults): a failure that began longer before the write (an alert's
    duration, a late approval) had its onset unseen, and the rate just before the action, callers already
    gone, stood for the demand. The sweep reads request_count back that far (`reach_back`)."""
    window = pre_onset(facts, onset_search(facts, record))
    if window is None:
        return None
    minutes = facts.minutes_with_requests(window)
    if not minutes:
        return None
    return facts.requests(window).total / minutes, window


def onset_search(facts: Facts, record: ActionRecord) -> Window:
    """Where the failure's onset before the action is looked for (`onset_search_from`, and the sweep's
    own incident window), up to the action."""
    return Window(min(facts.incident.start, onset_search_from(record, facts.s)), record.applied_at)


def idle_between(facts: Facts, record: ActionRecord) -> IdleBefore | None:
    """The service's minutes before its failure began, where some had no request (bursts.idle_before)."""
    return idle_before(facts, onset_search(facts, record))


def onset_search_from(record: ActionRecord, settings: DiagnosisSettings) -> datetime:
    """Where the failure's onset before the action is looked for: a lookback before the incident's start as
    its notification said it (`ActionRecord.incident_started_at`; Monitoring opens an incident once its
    condition has held for its duration, so the failing minutes begin before it), but no further back than
    `max_incident_window_seconds` and a lookback before the write (an incident open for hours: the demand of
    hours ago is another time of day's, as `collection.judged_since` bounds the alert path's). With no start
    recorded (an operator's command, an approved proposal's adopted write), a lookback before the write."""
    lookback = timedelta(seconds=settings.lookback_seconds)
    floor = record.applied_at - timedelta(seconds=settings.max_incident_window_seconds) - lookback
    if record.incident_started_at is None:
        return record.applied_at - lookback
    started = datetime.fromtimestamp(record.incident_started_at, tz=timezone.utc)
    return max(floor, min(started, record.applied_at) - lookback)


def reach_back(record: ActionRecord, settings: DiagnosisSettings) -> datetime:
    """How far back the sweep reads the request metrics: from `onset_search_from`, so an onset there, and the
    clean minutes before it, are read (the same calls, more points)."""
    return onset_search_from(record, settings)


def load_not_carried(facts: Facts, record: ActionRecord, error_ratio: float, idle: IdleBefore | None = None) -> str:
    """Why clean requests since a connector change do not show that it gave the connector the room it
    lacked, because the load since is one the old connector is not shown to fail at ("" if it is, for
    another action, or with no failing minute before the action in the evidence read). Two ways a minute
    before the action failed show the old connector's limit:
    - its share of 5xx and 429 over `error_ratio` (the alert's bar): a saturated connector answers what it
      can and fails the rest, so the requests it answered without a 5xx or 429 are a load it carried; the
      most of them in such a minute is the most it is shown to carry, and only more than that shows the
      change (`refused`);
    - no such share, but its p99 at the hang bar: it failed at that minute's whole load, so at least the
      least load it hung at shows the change (`hung`).
    A service whose demand fell since under both (the night, a client stopped or gone elsewhere, a batch
    ended) is served cleanly by the old connector as well, so the clean minutes say nothing of the change:
    a scale-up after 450 requests a minute failing 250 of them was `verified` on 50 a minute, 11 % of the
    load, over `min_traffic_ratio`'s 10 %. The connector's load is its users' demand, which request_count
    counts whatever was answered (5xx and 429 too, as `traffic_lost` reads it). The rate since is the
    serving revisions' own requests per minute of the window judged, as `traffic_lost` counts it. A
    rollback is not judged so: a failing revision fails at any load. Per service: a connector's other
    users, which did not fail, have no failing minute here.
    `idle`: a service idle between requests before its failure began (bursts.py), judged on every minute
    since the action. Its load comes in bursts, so a rate averaged over its idle minutes is no load the
    connector ever carried at once (30 requests every 5 minutes is 6 a minute, under the 15 the saturated
    connector answered of a burst of 30): a scale-up whose every burst since was clean was escalated, never
    verified. Its load is then read minute by minute as the limit is (`_burst_load`: the busiest minute
    since that is clean on its own).
    Its failing minutes are looked for where `read_before` reads "before": the lookback before the action,
    or, with fewer than `min_requests` requests there (every caller stopped while it failed, a few retries
    left), every minute the sweep read before it. Before, with none in the lookback, no failing minute was
    seen, and a scale-up whose load since was one the old connector had answered was verified."""
    if record.action != "scale_connector":
        return ""
    s = facts.s
    before = read_before(facts, record)
    if before is None:
        return ""
    p99 = dict(facts.p99_by_minute(before))
    minutes_before = [(at, total, refused) for at, total, refused in facts.per_minute_where(before, refused_series)
                      if total]
    refused = [(at, total - n) for at, total, n in minutes_before if n / total > error_ratio]
    hung = [(at, total) for at, total, n in minutes_before
            if n / total <= error_ratio and _under_bar(p99, at, s) is False]
    window = facts.recent_since_incident
    minutes = facts.minutes_with_requests(window)
    if not (refused or hung) or not minutes:
        return ""
    serving = [r.short_name for r in facts.serving]
    if idle:
        rate = _burst_load(facts, window, serving, error_ratio)
        load = f"{rate:.0f} requests in its busiest minute clean on its own in {window} (a service called in bursts)"
    else:
        since = (sum(facts.requests(window, r).total for r in serving) if serving else facts.requests(window).total)
        rate = since / max(minutes, _minutes_spanned(window))
        load = f"{rate:.0f} requests a minute in {window}"
    carried = max(refused, key=lambda m: m[1]) if refused else None
    hung_at = min(hung, key=lambda m: m[1]) if hung else None
    if (carried is not None and rate > carried[1]) or (hung_at is not None and rate >= hung_at[1]):
        return ""
    shown = "; ".join(
        ([f"{carried[1]:.0f} answered without a 5xx or 429 in the minute to "
          f"{clock_on(carried[0], record.applied_at)} while the rest "
          "failed (more is needed)"] if carried else [])
        + ([f"{hung_at[1]:.0f} hanging in the minute to {clock_on(hung_at[0], record.applied_at)} (as many is "
            f"needed)"] if hung_at else []))
    return (f"its load fell to what the connector carried before the change: {load}, against {shown} "
            f"({len(refused) + len(hung)} failing minute(s) in {before}{_earlier(facts, record, before)}); the "
            "connector before the change is not "
            "shown to fail at this load, so clean minutes at it do not show the change helped (the demand fell: the "
            "night, a client stopped or went elsewhere); verified only once the load exceeds it")


def _burst_load(facts: Facts, window: Window, serving: list[str], error_ratio: float) -> float:
    """The most requests of the serving revisions (all revisions', none known) in one minute of `window`
    that is clean on its own: its share of 5xx and 429 at or under `error_ratio`, its p99 read and under the
    hang bar (a minute with no p99 is no clean minute: `_under_bar`). A minute is the unit the old connector's limit is read in (`load_not_carried`); the
    window's share being clean does not make each of its minutes clean, so each is asked."""
    p99 = dict(facts.p99_by_minute(window))
    own: dict[datetime, float] = {}
    for name in serving:
        for at, total, _ in facts.revision_minutes(window, name):
            own[at] = own.get(at, 0.0) + total
    clean = [(own.get(at, 0.0) if serving else total) for at, total, refused in
             facts.per_minute_where(window, refused_series)
             if total and refused / total <= error_ratio and _under_bar(p99, at, facts.s) is True]
    return max(clean, default=0.0)


def _callers(facts: Facts, record: ActionRecord, ratio: float, error_ratio: float,
             unknown_is_lost: bool = True, idle: IdleBefore | None = None, kept: float = 0.0) -> str:
    """`callers.callers_not_shown` on the window judged, against the service's demand before the action as
    `traffic_lost` measures it (`demand_before`; uptime checks before it included: a higher bar, never a lower
    one); "" where it is not known (`traffic_lost` says so, or, for a failing service, it says nothing)."""
    demand = demand_before(facts, record, idle)
    if demand is None:
        return ""
    return callers_not_shown(facts, facts.recent_since_incident, demand.per_minute, ratio, error_ratio,
                             unknown_is_lost, kept)


def client_errors_rose(facts: Facts, record: ActionRecord, alert: AlertContext | None) -> str:
    """Why clean requests since the action settled do not show recovery, because the share of client
    errors (4xx, 429 left out: it is counted with the 5xx as a refusal; and answers of a class no HTTP status
    has, a client gone before its answer if recorded so) rose by more than the share of failures the check
    calls clean ("" if not). They are counted as the alert path counts them (client_errors.client_share,
    one count): before, the sweep left the no-status class out, and a rollback whose 500s became a third of
    answers with no status was `verified` where the diagnosis would not call the same requests healthy.
    Only the bar of a rise differs, and why: the sweep measures against its own action's minutes before
    (below), the alert path against the lookback before the incident, binomially (client_errors_risen).
    Cloud Run's request_count carries every answered request with its `response_code` and
    `response_code_class` ("2xx", "4xx", "5xx": the metric's labels, Cloud Monitoring's list of Google
    Cloud metrics, run.googleapis.com/request_count), so the mix of answers is read, not only the 5xx in it. A rollback to a revision that lacks a route the
    clients call since the deploy turns that route's 5xx into 404s: the 5xx share is clean, the callers
    still fail. Measured against the service's own share before the action (`read_before`: the lookback
    before it, the incident's minutes included, when those calls were answered 5xx; with fewer than
    `min_requests` there, every minute the sweep read before it: 3 404s of a probe are no share). A rise
    above both the bar's share of 5xx and half the share before (`_CLIENT_RISE`: a share of 10 % moving to 12 % is the usual spread of a few
    hundred requests, not a new failure) is not recovery shown: `unclear`, never `failing` (4xx are
    the callers' answers as much as the service's: an undo on them would be a write on doubt). With no
    request read before the action at all (or too few: `before_unknown`), a share since above the bar has
    nothing to be told from (no share since under the bar can have risen past it): unknown, so `unclear`,
    said so."""
    now = facts.requests(facts.recent_since_incident)
    if not now.total:
        return ""
    share_now = client_share(now)
    bar = health_bar(alert, facts.s).error_ratio
    before = read_before(facts, record)
    if before is None:
        if share_now <= bar:
            return ""
        return (f"{share_now:.1%} of its requests are 4xx since (429 left out, no-status answers in), above "
                f"{bar:.1%}, the share of failures called clean, with no share before to tell it from "
                f"({before_unknown(facts, record)}): whether "
                "failures turned into client errors cannot be told")
    then = facts.requests(before)
    share_then = client_share(then)
    if share_now - share_then <= max(bar, _CLIENT_RISE * share_then):
        return ""
    return (f"the mix of answers changed: {share_now:.1%} of its requests are 4xx since (429 left out, no-status "
            f"answers in), against {share_then:.1%} of {then.total:.0f} in {before} "
            f"{_read_before_words(facts, record, before)} (a rise "
            f"above {bar:.1%}, the share of failures called clean, and above half the share before): failures that "
            "turned into client errors (a route the revision served to lacks, say) are not a recovery; request_count "
            "by response_code_class shows them")


def slower_than_before(facts: Facts, record: ActionRecord) -> str:
    """Why clean requests since the action settled do not show recovery, because they are much slower
    than the service was before the action ("" if not, or if the alert that led to the action is on
    latency: its own bar decides, read here at its threshold, or by Monitoring's CLOSED where its
    aggregation is not read, `unread_condition`). After an alert on 5xx (or none) the p99 bar is the
    hang bar (`hang_latency_seconds`, 25 s by default): a fix that turned fast 503s into 20 s waits was
    `healthy`. So, where no latency alert sets the bar, the
    p99 since the action must not exceed `_SLOWER` times the highest per-minute p99 before the action
    (`read_before`: the lookback before it, the incident's minutes included: the slowest the service was,
    failures and all; with fewer than `min_requests` there, every minute the sweep read before it), and
    `_SLOW_FLOOR_SECONDS`, in `hang_minutes_ratio` of the minutes judged or more. With no latency read
    before the action at all (or fewer than `min_requests` requests: `before_unknown`), a p99 since over the
    floor in that many minutes has no bar to be judged at
    (one under the floor is never slower): unknown, so `unclear`, said so. Before, no request in the
    lookback (callers stopped while it failed, a late sweep) left no bar, and a rollback answering at 8 s
    after 0.2 s 500s was verified."""
    s = facts.s
    if record.alert is not None and record.alert.metric_type == REQUEST_LATENCIES:
        return ""      # the alert's own latency condition is the bar
    now = facts.p99_seconds(facts.recent_since_incident)
    if not now:
        return ""
    before = read_before(facts, record)
    then = facts.p99_seconds(before) if before is not None else []
    bar = max(_SLOWER * max(then, default=0.0), _SLOW_FLOOR_SECONDS)
    slow = [v for v in now if v > bar]
    if len(slow) / len(now) < s.hang_minutes_ratio:
        return ""
    if before is None or not then:
        unread = before_unknown(facts, record) or f"no latency read in {before}"
        return (f"its p99 is over {latency(bar)} in {len(slow)} of {len(now)} minutes since (max {latency(max(now))}), and "
                f"no latency before the action gives a bar to judge it at ({unread}): whether fast failures turned "
                "into slow answers cannot be told")
    return (f"it is much slower than before the action: p99 over {latency(bar)} in {len(slow)} of {len(now)} minutes "
            f"since (max {latency(max(now))}), against at most {latency(max(then))} in {before} "
            f"{_read_before_words(facts, record, before)} ({_SLOWER:g} times that, and at least "
            f"{_SLOW_FLOOR_SECONDS:g} s): under the hang bar of {s.hang_latency_seconds:g} s, but fast failures "
            "turned into slow answers are not a recovery")


def slower_than_it_served(facts: Facts, record: ActionRecord) -> str:
    """Why clean requests since a rollback do not show recovery, because the revision it went back to answers
    much slower than it served on its own requests before the action ("" if not, for any other action, or if the
    alert that led to it is on latency: its own bar decides). `slower_than_before` compares with the service's
    slowest minute before the action, the failure's included: a deploy that hung at the client's 30 s set that
    bar at 90 s, and a rollback whose revision, 150 ms before the deploy, answers in 22 s since (a pool waiting on
    what the deploy left behind, half the failure kept) was `verified`, under the 25 s hang bar. So its own p99
    before (request_latencies by revision_name, every minute read before the action: `onset_search`, its clean
    minutes before the deploy among them), in `_MIN_MINUTES` minutes or more with `min_requests` requests of its
    own, is the bar, at `_SLOWER` times its slowest minute and at least `_SLOW_FLOOR_SECONDS`, in
    `hang_minutes_ratio` of the minutes judged. Its own only where it carried most of the service's requests
    there: a revision kept at 10 % beside a deploy answered a light load, and since the rollback it carries all of
    it; then the bar is what the service answered in its clean minutes before the action without the deploy
    (`_served_clean`): a deploy that degraded to 20 s p99 with no 5xx before it failed set a 60 s bar, and a
    rollback answering 20 s every minute since was `verified`. The bar is at `_SLOWER` times the median of those
    minutes (`usual_p99`), not their slowest: a few slow minutes among them (a ramp, a cold start) are not the
    service's usual speed. With no such minute read, a revision slower than
    its own light-load bar is not verified on latency: whether it answers as the service did is unknown."""
    s = facts.s
    if record.alert is not None and record.alert.metric_type == REQUEST_LATENCIES:
        return ""
    if record.action == "scale_connector":
        return _scale_slower_than_served(facts, record)
    to = str(record.params.get("to_revision") or "") if record.action == "rollback_traffic" else ""
    if not to:
        return ""
    before = Window(onset_search(facts, record).start, record.applied_at)
    own = facts.requests(before, to).total
    if len(_own_p99(facts, before, to)) < _MIN_MINUTES or own < s.min_requests:
        return ""
    frm = str(record.params.get("from_revision") or "")
    light = 2 * own < facts.requests(before).total
    back = frm or "the revision rolled back from"
    then, whose = ((_served_clean(facts, before, frm), f"the service's, in its clean minutes without {back}, under "
                    "the load it carries now") if light else (_own_p99(facts, before, to), "on its own requests"))
    window = facts.recent_since_incident
    now = _own_p99(facts, window, to)
    if not now or not (then or light):
        return ""
    bar, slow = _over_bar(facts, now, usual_p99(then or _own_p99(facts, before, to)))
    if not slow:
        return ""
    if not then:
        return (f"{to}, the revision the rollback went back to, answers much slower than it served on its own light "
                f"load before the action: its own p99 over {latency(bar)} in {len(slow)} of {len(now)} minutes since "
                f"(max {latency(max(now))}), and no clean minute of the service without {back} is read in {before} "
                "to give a bar at the load it carries "
                "now: whether it answers as the service did before the deploy cannot be told, not verified on "
                "latency")
    return (f"{to}, the revision the rollback went back to, answers much slower than it served before the action: "
            f"its own p99 over {latency(bar)} in {len(slow)} of {len(now)} minutes since (max {latency(max(now))}), "
            f"against a median of {latency(usual_p99(then))} {whose} in {before} ({_SLOWER:g} times that, and at "
            f"least {_SLOW_FLOOR_SECONDS:g} s): under the hang bar of {s.hang_latency_seconds:g} s, but a failure "
            "only half ended, not a recovery")


def _scale_slower_than_served(facts: Facts, record: ActionRecord) -> str:
    """`slower_than_it_served` after a connector scale: the service's p99 since, against its clean minutes before
    the failure's onset (`_usual_before`: the saturation's 503s and hangs, and every minute after its onset, left
    out), at `_SLOWER` times their median (`usual_p99`) and at least `_SLOW_FLOOR_SECONDS`, in `hang_minutes_ratio`
    of the minutes judged. Before, the bar was three times the slowest clean minute anywhere before the action:
    the slow minutes while the connector filled (20 s p99, no 5xx yet), or one 9 s cold start, set it, and a
    scale answering 20 s every minute since was `verified`. `slower_than_before` holds a
    scale to the slowest minute before it, the saturation's own 31 s hangs included (a 93 s bar): a service that
    answered in 150 ms, clean at 20 s since the scale (requests still queued behind a connector that is still too
    small, or a database the scale now lets them reach), was `verified`. With fewer than `_MIN_MINUTES` clean
    minutes read before the action (a failure older than the sweep's reach: `onset_search`), the bar is the floor
    alone, and a service over it is not verified on latency: whether it answers as it did before cannot be told,
    as a rollback's light-load revision with no clean minute read is not (`slower_than_it_served`); the reason says
    its normal latency was not read and that the floor is the figure used (the record keeps no p99 of the service
    from before its incident to stand for it)."""
    s = facts.s
    then, before = _usual_before(facts, record)
    now = facts.p99_seconds(facts.recent_since_incident)
    if not now:
        return ""
    known = len(then) >= _MIN_MINUTES
    bar, slow = _over_bar(facts, now, usual_p99(then) if known else 0.0)
    if not slow:
        return ""
    if not known:
        return (f"the service's p99 is over {latency(bar)} in {len(slow)} of {len(now)} minutes since the scale (max "
                f"{latency(max(now))}), and no clean minute before the action is read in {before} to give a bar "
                f"(every minute read there failed or hung): its normal latency was not read, and the figure used is "
                f"the floor of {_SLOW_FLOOR_SECONDS:g} s; whether the scale ended the saturation or only shortened "
                "its waits cannot be told, not verified on latency")
    return (f"the service answers much slower than it served before the incident: p99 over {latency(bar)} in "
            f"{len(slow)} of {len(now)} minutes since the scale (max {latency(max(now))}), against a median of "
            f"{latency(usual_p99(then))} in its {len(then)} clean minutes in {before} ({_SLOWER:g} times that, and "
            f"at least {_SLOW_FLOOR_SECONDS:g} s): under the hang bar of {s.hang_latency_seconds:g} s, but a saturation only "
            "half ended (requests still waiting on the connector or on what it reaches), not a recovery")


def _usual_before(facts: Facts, record: ActionRecord) -> tuple[list[float], Window]:
    """The service's p99 in its clean minutes (`_served_clean`) before its failure's onset before the action
    (bursts.pre_onset: the minutes before the first failing one, at most a lookback of them), and that window;
    where no onset is read (no minute failed, or the failure was under way when the read began), every minute read
    before the action (`onset_search`). The minutes after the onset, clean or not, are the failure's."""
    search = Window(onset_search(facts, record).start, record.applied_at)
    window = pre_onset(facts, search) or search
    return _served_clean(facts, window, ""), window


def usual_p99(minutes: Sequence[float]) -> float:
    """The service's usual p99 among `minutes`: their median (the lower middle of an even count). The slowest is
    no usual speed: the minutes while a connector fills or a pool drains answer slow before anything fails, and
    a cold start's minute is slow once; under half of the minutes read so, the median is a fast one."""
    ordered = sorted(minutes)
    return ordered[(len(ordered) - 1) // 2] if ordered else 0.0


def _over_bar(facts: Facts, now: list[float], usual: float) -> tuple[float, list[float]]:
    """The bar `_SLOWER` times `usual` (at least `_SLOW_FLOOR_SECONDS`), and the minutes of `now` over it when
    they are `hang_minutes_ratio` of them or more (else none)."""
    bar = max(_SLOWER * usual, _SLOW_FLOOR_SECONDS)
    slow = [v for v in now if v > bar]
    return bar, slow if len(slow) / len(now) >= facts.s.hang_minutes_ratio else []


def _served_clean(facts: Facts, window: Window, deploy: str) -> list[float]:
    """The service's p99 (every revision's) in the minutes of `window` it answered clean: at most
    `healthy_error_ratio` 5xx or 429, under the hang bar, and with no request of `deploy`, the revision rolled back
    from; the failing minutes say nothing of its usual speed, and the deploy's slow ones before it failed are the
    failure's own."""
    s = facts.s
    deployed = {at for at, total, _ in facts.revision_minutes(window, deploy) if total} if deploy else set()
    clean = {at for at, total, bad in facts.per_minute_where(window, refused_series)
             if total and bad / total <= s.healthy_error_ratio and at not in deployed}
    return [v for at, v in facts.p99_by_minute(window) if at in clean and v < s.hang_latency_seconds]


def requests_unfinished(facts: Facts, record: ActionRecord) -> str:
    """Why clean requests since the action settled do not show that nothing hangs, because a request
    begun after the action may not have ended yet ("" if every one could have). A request's latency is
    known only once it ends, and whether Cloud Run counts a request in request_count and
    request_latencies when it ends or when it arrives is UNCONFIRMED on Google's own page (a public
    dashboard's copy of request_count's description ends "Captured at the end of the request
    lifecycle": the first reading). Under either reading, a request
    that began after the action and hangs until the serving revision's request timeout (Revision.timeout,
    300 s by default; up to 60 minutes) is in no point read before the action plus that timeout, and
    with a timeout past about 5 minutes, the whole verification can pass before the first hang ends.
    So `healthy` needs the newest point to end at least the longest timeout of the serving revisions
    plus one minute (a point's length: one minute of requests begun after the action could have ended
    by then) after `applied_at`; before that, `unclear` (the sweep waits, and at the deadline escalates,
    the action kept)."""
    until = facts.complete_until    # the window judged ends there (Facts.recent)
    if until is None:
        return ""
    serving = facts.serving or facts.b.revisions
    timeout = max((r.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS for r in serving),
                  default=DEFAULT_REQUEST_TIMEOUT_SECONDS)
    needed = record.applied_at + timedelta(seconds=timeout + 60)
    if until >= needed:
        return ""
    return (f"a request begun after the action may still be running: the serving revision's request timeout is "
            f"{timeout:.0f} s, and the newest point read ends at {clock_on(until, record.applied_at)}, before "
            f"{clock_on(needed, record.applied_at)} (the action "
            f"at {hms(record.applied_at)} plus that timeout and a minute); a request that hangs is counted only once "
            "it ends, so clean requests so far do not show that none hangs")


def off_the_connector(record: ActionRecord, bundle: EvidenceBundle) -> str:
    """Why the service's health does not show the connector change's effect, because none of its serving
    revisions reaches the VPC through the connector the action scaled ("" if one does, or the revisions
    serving cannot be told). Each revision names its own connector (Revision.vpc_access.connector,
    google/cloud/run/v2/vendor_settings.proto): a deploy since (pinned or not), or a split to a revision
    on another connector or on Direct VPC egress, takes the service off the connector, and its clean
    requests are then the other path's doing. A person must judge whether the change helped."""
    serving = [r for r in bundle.revisions if bundle.service.serving_percent(r.short_name) > 0]
    named = [names_connector(bundle.service, r.vpc_connector, record.target) for r in serving]
    if not serving or Naming.YES in named:
        return ""
    if Naming.MAYBE in named:
        maybe = ", ".join(f"{r.short_name}: {r.vpc_connector}" for r, n in zip(serving, named) if n is Naming.MAYBE)
        return (f"whether {bundle.service.short_name} reaches its VPC through {record.target}, the connector the "
                f"action scaled, cannot be told: its serving revisions name it by a project number ({maybe}), which "
                f"may or may not be {record.target.split('/')[1]}'s (a revision may name its connector by project id "
                "or number; nothing read here says which project the number is)")
    paths = ", ".join(f"{r.short_name}: {short_name(r.vpc_connector) if r.vpc_connector else 'no connector'}"
                      for r in serving)
    return (f"{bundle.service.short_name} no longer reaches its VPC through {short_name(record.target)}, the "
            f"connector the action scaled (serving now: {paths}): its requests since say nothing of the change")


def _minutes_spanned(window: Window) -> int:
    """The per-minute points `window` can hold: request_count is read aligned to 60 s (collection.py),
    so its points end a whole minute apart, and the window ends at one of them (Facts.recent: the
    newest point)."""
    seconds = (window.end - window.start).total_seconds()
    return max(1, math.ceil(seconds / 60))


def more_requests_likely(facts: Facts, record: ActionRecord, ratio: float, silent: bool = False) -> str:
    """Why waiting past the deadline for more requests may settle an `unclear` for want of them ("" if it
    is not likely to): the service went without a request in some minutes before the action between ones
    with requests (Cloud Run writes no request_count point for a minute without requests, UNCONFIRMED: see
    traffic_lost, so a minute with no point in the evidence read is an idle one): a batch job or a cron
    calling every 15 minutes shows no request between its bursts, and that is no sign its callers went; or
    it kept its own traffic since the action settled (at least _AS_BUSY of its demand before, or `ratio`
    if higher, counted as `traffic_lost` counts it, against `demand_before`: it is quiet, not left).
    Minutes without a request after the last one before the action are not a service idle between
    requests: a service busy every minute whose callers all stopped during the lookback (a client's
    circuit breaker open while it failed) shows them too, and read so it waited at 4 requests a minute
    since as at 150. A service busy every minute before the action and silent since, or serving far less
    than its demand, is not waited for: its callers may have gone, or its metrics stopped. `silent`: no
    request since its newest point, long ago (`_unclear_data`): only the idle minutes before the action
    tell it from a service left."""
    before = Window(max(record.applied_at - timedelta(seconds=facts.s.lookback_seconds), facts.incident.start),
                    record.applied_at)
    between = _idle_between_requests(facts, before)
    if between:
        return f"{between}: it goes idle between requests, so its next ones may settle it"
    # Bursts further apart than that lookback (a cron every 10 or 15 minutes) leave it without a minute idle
    # or none with a request: the minutes before the failure began tell (bursts.idle_before).
    idle = idle_between(facts, record)
    if idle is not None:
        return f"{idle.says()}, so its next ones may settle it"
    window = facts.recent_since_incident
    since = facts.minutes_with_requests(window)
    demand = demand_before(facts, record)
    if silent or demand is None or not since:
        return ""
    rate_since = facts.requests(window).total / max(since, _minutes_spanned(window))
    if rate_since < max(ratio, _AS_BUSY) * demand.per_minute:
        return ""
    return (f"it serves {rate_since:.0f} requests a minute since the action, as it served {demand.per_minute:.0f} a "
            f"minute in {demand.window} {demand.when}: a quiet service, whose next requests may settle it")


def _idle_between_requests(facts: Facts, window: Window) -> str:
    """The minutes of `window` up to its last one with requests, where some had none, in words ("" where
    every one had requests, or none did). Idle minutes after the last request are left out: callers that
    stopped leave those as well as a service idle between requests."""
    ends = sorted({end for series in facts.points(facts.b.requests) for end in series.ends_in(window)})
    if not ends:
        return ""
    upto = Window(window.start, at_micros(ends[-1]))
    held = minutes_held(facts, upto)    # its ends on a point and between two: the minutes it holds
    if len(ends) >= held:
        return ""
    return (f"it served requests in {len(ends)} of the {held} minutes in {upto} before the action, up to its last "
            "request then")


def _unclear_data(facts: Facts, record: ActionRecord) -> str:
    """Why the request data cannot show how the service fares since the action settled ("" if it can),
    with what Cloud Run's instance count says of the silence where it tells it (`_silence`)."""
    if facts.data_until is None:
        return "no request_count data" + _silence(facts, record, (
            "metrics may be late (Cloud Run's are visible up to ~3 minutes after sampling), or the service had no "
            "requests (Cloud Run writes no point for a minute without any)"))
    if facts.data_until <= after_write(record):
        newest, settled_at = clock_on(facts.data_until, record.applied_at), clock_on(after_write(record),
                                                                                      record.applied_at)
        return (f"the newest request_count point ({newest}) is from before the action settled ({settled_at})"
                + _silence(facts, record, "metrics are late, or the service has had no requests since"))
    delay = facts.data_delay.total_seconds() if facts.data_delay else 0.0
    if delay > facts.s.max_data_delay_seconds:
        return (f"the newest request_count point is {delay:.0f} s old (more than {facts.s.max_data_delay_seconds} s)"
                + _silence(facts, record, "metrics are late, or the service has had no requests since"))
    return ""


def _silence(facts: Facts, record: ActionRecord, unknown: str) -> str:
    """What a silence in request_count since the write is, where Cloud Run's instance count tells it (read
    for the serving revisions, `active` ones only: collection._run_metrics), as a clause; `unknown` where it
    does not. Cloud Run writes no request_count point for a minute without requests, so traffic that stopped
    (callers gave up, the revision scaled to zero) and points not yet visible look alike there (Monitoring's
    ingestion delay: Cloud Monitoring's metrics list, run, gives each metric a sampling period and a delay
    before its data is visible; ~180 s for Cloud Run's, with the sources in facts.INGEST_LAG; the list's exact
    words for request_count are UNCONFIRMED here). container/instance_count ("Number of container instances
    that exist, broken down by state", as third-party metric tables mirror the metrics list; its `state`
    label: dynatrace-oss/dynatrace-gcp-monitor src/config/cloud_run_revision.yml; both UNCONFIRMED against
    Google's page) tells them apart: every point since the write at 0 active instances is a revision
    that served no request (scaled to zero, or idle: whether Cloud Run writes a 0 point rather than none for a
    revision with no instance is UNCONFIRMED, so only points present count); an active instance since is a
    revision at work, whose requests' points are late (that `active` counts only instances serving requests,
    not a CPU-always-allocated instance's background work, is UNCONFIRMED). Either way no request is a
    failure's absence, never a recovery shown: it stays `unclear`."""
    serving = {r.short_name for r in facts.serving}
    since = Window(after_write(record), facts.b.collected_at)
    counts = [v for s in facts.points(facts.b.instances) if s.label("resource.labels.revision_name") in serving
              for v in s.values_in(since)]
    if not counts:
        return f": {unknown}; Cloud Run's instance count since the write cannot tell which (no point read)"
    names = ", ".join(sorted(serving))
    if max(counts) == 0:
        return (f": no requests, not late metrics: the serving revision(s) ({names}) scaled to zero, with 0 active "
                f"instances in every one of {len(counts)} container/instance_count point(s) since {since}; a service "
                "nobody calls shows no failure, which is no evidence of health")
    return (f": its serving revision(s) ({names}) had up to {max(counts):g} active instance(s) since {since}, so they "
            "were at work, and their request_count points are late (Monitoring's ingestion delay), not absent for "
            "want of requests; judged once they are visible")


def target_changed(record: ActionRecord, bundle: EvidenceBundle) -> Health | None:
    """`changed` when the live target no longer shows the action's change; `unclear` while the
    change is still being made (a connector UPDATING), or when the service judged no longer reaches
    the connector the action scaled (`off_the_connector`); None when it shows it, or cannot be checked."""
    if record.action == "rollback_traffic":
        moved = traffic_moved(record, bundle.service)
        if moved:
            return Health(HealthKind.CHANGED, f"{moved}; its health is no longer the rollback's doing")
    if record.action == "scale_connector":
        off = off_the_connector(record, bundle)
        if off:
            return Health(HealthKind.UNCLEAR, off)
        connector = bundle.connector
        if connector is None and judged_from(record) is None:
            # Not read (a permanent refusal, a gap the diagnosis names) while when the update took is not
            # known: the minutes since the settle time may be the old instances' alone (judged_from).
            return Health(HealthKind.UNCLEAR, f"{short_name(record.target)} was not read, and its update outlived "
                                              "the write's wait (it was recorded before it ended), so whether and "
                                              "when the change took is not known: its minutes are not judged")
        if connector is None or connector.name != record.target:
            return None     # not read (a gap the diagnosis names), or the service moved: nothing to compare
        if connector.state == "UPDATING":
            return Health(HealthKind.UNCLEAR, f"{connector.short_name} is still being updated (state UPDATING): "
                                              "the change has not finished")
        differ = _differ(record, connector)
        if connector.state != "READY" or differ:
            return Health(HealthKind.CHANGED, f"{connector.short_name} no longer shows the action's change: state "
                                              f"{connector.state}" + (", " + ", ".join(differ) if differ else "")
                          + "; changed since (a person, Terraform) or its update failed, so the services' health is "
                            "no longer the action's doing")
        if judged_from(record) is None:
            return Health(HealthKind.UNCLEAR, f"{connector.short_name} is READY with the change now, but its update "
                                              "outlived the write's wait (it was recorded before it ended), so when "
                                              "it took is not known: its minutes are judged from now on, by a later "
                                              "sweep")
    return None


def service_gone(record: ActionRecord, refusal: str) -> Health:
    """`changed` for a rollback whose service the API no longer holds (its GET answered NOT_FOUND: "Some
    requested entity (e.g., file or directory) was not found", google.rpc.Code): deleted since, by a person
    or a pipeline, with every revision of it ("Deletes a Service. This will cause the Service to stop
    serving traffic and will delete all revisions": Cloud Run Admin API v2, projects.locations.services
    .delete). Nothing of the rollback is left to verify or undo, and the minutes Monitoring still shows are
    not its doing. A permanent fault: escalated at once, never read again sweep after sweep. Before, each
    sweep read "cannot read the evidence" and waited, and only the deadline escalated it. A connector
    change made for the service is escalated so too: it can no longer be judged on the service it was made
    for, and its scale stays (the connector is not the service's: other services may use it)."""
    if record.action == "scale_connector":
        return Health(HealthKind.CHANGED, f"{short_name(record.service)} no longer exists (its read answered "
                                          f"NOT_FOUND: {refusal}): deleted since the connector change, with its "
                                          "revisions, by a person or a pipeline, so the change cannot be judged on "
                                          f"the service it was made for; the connector's scale stays as it is "
                                          f"({short_name(record.target)} is not the service's: other services may "
                                          "use it)", gone=True)
    return Health(HealthKind.CHANGED, f"{short_name(record.service)} no longer exists (its read answered NOT_FOUND: "
                                      f"{refusal}): deleted since the {record.action}, with its revisions, by a person "
                                      "or a pipeline; not undone, there is nothing left to write back to", gone=True)


def connector_gone(record: ActionRecord, refusal: str) -> Health:
    """`changed` for a connector change whose connector the API no longer holds (its GET answered
    NOT_FOUND: "Some requested entity (e.g., file or directory) was not found", google.rpc.Code): deleted
    since (a person, Terraform replacing it), so nothing of the change is left to judge, and its services'
    requests, clean or not, are no longer its doing. Read only when the evidence did not read the
    connector: a permanent refusal is otherwise a gap, and a gap must not let a change that no longer
    exists be verified on its services' clean requests."""
    return Health(HealthKind.CHANGED, f"{short_name(record.target)} no longer exists (its read answered "
                                      f"NOT_FOUND: {refusal}): deleted since the change, by a person or "
                                      "Terraform, so the services' health is no longer the action's doing")


def _differ(record: ActionRecord, connector: Connector) -> list[str]:
    """The settings the connector change wrote that the connector does not show, in words."""
    wanted = {"min_instances": record.params.get("min_instances"), "max_instances": record.params.get("max_instances"),
              "machine_type": record.params.get("machine_type")}
    shown = {"min_instances": connector.min_instances, "max_instances": connector.max_instances,
             "machine_type": connector.machine_type}
    return [f"{k} {shown[k]} (the action set {v})" for k, v in wanted.items() if v is not None and shown[k] != v]


def judged_from(record: ActionRecord) -> datetime | None:
    """Where the minutes that judge the action start: its settle time, or, for a connector change, when
    the change took, if known (None: not yet). A connector serves with its new instances only once its
    update is over: Connector.state UPDATING is "The connector is being updated", READY "Connector is
    deployed and ready to receive traffic" (Serverless VPC Access v1 REST reference, Connector.State). An
    update that outlived the write's wait (300 s: vpcaccess.VpcAccessAdapter.operation_timeout) was
    recorded with the connector still UPDATING, and its clean minutes while the old instances alone carried
    the traffic verified the change. So such a change is judged from the first sweep that read it READY
    with the change (`took_at`, at or after the true end, which no read gives: the operation's end time is
    not kept); one whose write read it back READY, from its settle time. Never before `after_write`."""
    start = after_write(record)
    if record.action != "scale_connector":
        return start
    if record.took_at is not None:
        return max(start, record.took_at)
    state = ((record.after or {}).get("connector") or {}).get("state")
    return start if state == "READY" else None


def after_write(record: ActionRecord) -> datetime:
    """The settle time, but never before the write in real time. `applied_at` and `settle_at` are the
    writing instance's clock, which may be behind real time by up to CLOCK_SKEW_ALLOWANCE: with
    `settle_seconds` at its floor (60) and that clock 2 minutes slow, the window began a minute before the
    write, and minutes of the failure before the action could read as after it (a wrong `verified`, or a
    wrong undo). So the start is at least applied_at + CLOCK_SKEW_ALLOWANCE, which is the write or later
    in real time for any skew within the allowance. A point of Cloud Run's request metrics, as read at a
    60 s alignment (collection `_Scope` asks alignment_seconds=60; "The value must be at least 60 seconds",
    Aggregation.alignment_period, google/monitoring/v3/common.proto), stands for the minute ending at its
    end time, and the window holds every point ending after its start (Facts.ends_in): so its first point
    began after the write for a writer up to CLOCK_SKEW_ALLOWANCE less that minute (4 min) slow, twice the
    ±2 min the drills run (docs/behaviour.md, clock skew). The default settle time (300 s) is the floor
    already, so defaults judge as before. The write's server-side time (Service.update_time in
    google/cloud/run/v2/service.proto; a v1 Connector has no such field, and its operation's
    OperationMetadata.end_time in google/cloud/vpcaccess/v1/vpc_access.proto is not kept) would need no
    allowance, but the record does not keep it: the Run adapter drops OUTPUT_ONLY fields (shared/gcp/run.py)."""
    return max(record.settle_at, record.applied_at + CLOCK_SKEW_ALLOWANCE)


def took_now(record: ActionRecord, bundle: EvidenceBundle) -> bool:
    """The connector change's `took_at` is to be noted now: not known yet, and the connector read READY
    with the change (target_changed's test) in this evidence."""
    connector = bundle.connector
    return (record.action == "scale_connector" and judged_from(record) is None and connector is not None
            and connector.name == record.target and connector.state == "READY" and not _differ(record, connector))


def traffic_moved(record: ActionRecord, service: Service) -> str:
    """Why the service no longer serves as the rollback left it (all traffic to its revision), or "".
    Read as the pin's reminder reads it (verification._remind): LATEST in the spec, another revision
    given traffic in the spec (a change still reconciling shows there first), or the status."""
    to = str(record.params.get("to_revision") or "")
    moved = (any(t.revision is None and t.percent for t in service.traffic)
             or any(t.percent and t.revision != to for t in service.traffic)
             or (any(t.revision and t.percent for t in service.traffic_statuses)
                 and service.serving_percent(to) != 100))
    if not to or not moved:
        return ""
    if desired_not_served(to, service):
        return (f"{service.short_name} does not serve the rollback's split ({to} 100%): it is desired (the "
                f"service's traffic is {split_text(service.traffic)}) but not served (its traffic_statuses show "
                f"{split_text(service.traffic_statuses)}); the split written is not in effect, which no one changed "
                "since: Cloud Run did not route it (still reconciling, or its rollout failed)")
    return (f"{service.short_name} no longer serves as the rollback left it ({to} 100%): its traffic is "
            f"{split_text(service.traffic)} now, a change made since by someone else")


def desired_not_served(to: str, service: Service) -> bool:
    """The service desires the rollback's split (its `traffic`, the spec: all to `to`) while its status
    (`traffic_statuses`, what serves) does not serve it: the write took as the desired state and Cloud
    Run has not, or could not, put it into effect. google/cloud/run/v2/service.proto: `traffic` is the
    desired split, `traffic_statuses` the status of each target; after a failed reconcile the statuses
    keep the last serving revision (the service.proto comments on `reconciling`).
    Not a change by someone else: the spec is the one the rollback wrote."""
    return (serving_shares(service.traffic) == {to: 100}
            and any(t.revision and t.percent for t in service.traffic_statuses)
            and service.serving_percent(to) != 100)


def undo_overtaken(record: ActionRecord, service: Service, retry: bool) -> str:
    """Why writing the undo now would overwrite someone else's change, or "". Traffic as the rollback
    left it: the undo has not landed. As the recorded split before it: on a retry of an undo left
    unfinished (`retry`, the record read `undoing`), its earlier write may have landed, and finishing
    it through the gate writes the same split again at most once; on a first attempt no undo was
    ever sent, so it is a person's change back to that split, and it stands (a person's change wins,
    even one that looks like the undo's). Anything else: a person moved it since."""
    moved = traffic_moved(record, service)
    if not moved:
        return ""
    if desired_not_served(str(record.params.get("to_revision") or ""), service):
        return moved    # the rollback's split still desired, not served: no one else's change, said so
    before = sorted((t.revision or "LATEST", t.percent) for t in record.traffic_before if t.percent)
    now = sorted((t.revision or "LATEST", t.percent) for t in service.traffic if t.percent)
    if now == before:
        return "" if retry else (f"{moved}; it serves as the split recorded before the rollback already, and "
                                 "no undo was sent: a person put it back")
    return (f"{service.short_name} serves neither as the rollback left it nor as the undo would restore it "
            f"({', '.join(f'{r} {p}%' for r, p in before)}): its traffic is {split_text(service.traffic)} now, a change "
            "made since by someone else")


def restored_by_runwarden(record: ActionRecord, pin: PinRecord, service: Service) -> str:
    """Why the rollback's traffic moved by Runwarden's own restore, or "" (someone else's change, as
    `traffic_moved` says). An operator's restore_traffic notes itself on the pin before its write
    (RestoreMark: the command and the split it writes); if its write took and its record failed, the
    rollback is still `pending` and the pin `pinned`. The service serving exactly that split (shares
    alike, tags at 0% aside), with the mark made since this rollback on its own pin still held, is that
    restore's doing. A person's change after it serves another split and stays theirs. Asked for
    (`traffic`) and serving (`traffic_statuses`) both: a restore whose operation failed with its split left
    desired while the rollback's revision serves (shared/gcp/run.py, SplitLeftByFailedOperationError) restored
    nothing yet, and was answered `escalated` to its operator."""
    marked = restore_marked(record, pin)
    if marked is None or serving_shares(service.traffic) != marked or serving_shares(service.traffic_statuses) != marked:
        return ""
    mark = pin.restoring
    assert mark is not None     # restore_marked read it
    return (f"traffic restored by {mark.requested_by} (command {mark.command_id}), whose record had failed: "
            f"{service.short_name} serves its split ({split_text(service.traffic)}), found by the sweep from the "
            "restore's mark on the pin")


def restore_marked(record: ActionRecord, pin: PinRecord) -> dict[str, int] | None:
    """The shares of the split an operator's restore of this rollback sent (its RestoreMark on the rollback's own
    pin, still held, made since the rollback), or None when the pin notes no such restore."""
    mark = pin.restoring
    if mark is None or not pin.pinned or pin.action_id != record.key or mark.at < record.applied_at:
        return None
    return serving_shares(TrafficTarget.model_validate(t) for t in mark.traffic)


def restore_left_desired(record: ActionRecord, pin: PinRecord, service: Service) -> str:
    """Why the rollback's traffic moved in what the service asks for alone, by Runwarden's own restore whose
    UpdateService operation failed (google.longrunning.Operation `error`), or "". The restore's mark on this
    rollback's pin (RestoreMark, as `restored_by_runwarden` reads it) names the split it sent; the service asking
    for exactly that split (Service.traffic, google/cloud/run/v2/service.proto) while it serves another
    (Service.traffic_statuses; Cloud Run keeps serving what it served when a reconciliation fails, its
    terminal_condition saying why) is that restore's split left desired (shared/gcp/run.py
    SplitLeftByFailedOperationError). Not someone else's change: the words name the restore, its failed operation,
    the split asked for against the one serving, and what a person checks. Whatever reconciles the service next
    (a restart, a deploy) may start serving it, so the rollback is neither verified nor undone."""
    marked = restore_marked(record, pin)
    if marked is None or serving_shares(service.traffic) != marked or serving_shares(service.traffic_statuses) == marked:
        return ""
    mark = pin.restoring
    assert mark is not None     # restore_marked read it
    return (f"the restore of this rollback by {mark.requested_by} (command {mark.command_id}) was sent and its "
            f"UpdateService operation failed with its split left desired: {service.short_name} asks for "
            f"{split_text(service.traffic)} (its traffic) but serves {split_text(service.traffic_statuses)} (its "
            "traffic_statuses), the rollback's split still serving; whatever reconciles the service next (a restart, "
            "a deploy) may start serving the restore's split. Check its Ready condition and the failure with: "
            f"{describe_command(service.name)} ; then send the restore again once its cause is fixed, or "
            "rollback_traffic to the revision you want served")


def restore_in_flight(mark: RestoreMark, service: Service) -> str:
    """Why a sweep that finds the service asking for an operator's restore's split but serving the rollback's
    waits (`restore_left_desired`'s reading, while the restore's lease runs): its UpdateService may still be
    reconciling. A later sweep tells a failed operation from one that took."""
    return (f"the restore of this rollback by {mark.requested_by} (command {mark.command_id}, noted at "
            f"{mark.at:%H:%M:%S}) is asked for but not serving yet: {service.short_name} asks for "
            f"{split_text(service.traffic)} (its traffic) and serves {split_text(service.traffic_statuses)} (its "
            "traffic_statuses); its write may still be under way, judged again by the next sweep")


def asked_not_serving(after: object, service: str) -> str:
    """What a write whose UpdateService operation failed left, from its recorded state (`after`: the gate's
    completed claim, rollback_traffic.traffic_state of the service read right after): the split the service asks
    for (Service.traffic) against the one it serves (Service.traffic_statuses; google/cloud/run/v2/service.proto),
    or "" when they are alike or not recorded (a write whose answer was only lost keeps no `after`); with the gcloud
    line that shows `service`'s both splits and its Ready condition."""
    if not isinstance(after, dict) or not after.get("traffic") or not after.get("traffic_statuses"):
        return ""
    asked = [TrafficTarget.model_validate(t) for t in after["traffic"]]
    serving = [TrafficTarget.model_validate(t) for t in after["traffic_statuses"]]
    if serving_shares(asked) == serving_shares(serving):
        return ""
    return (f"; its operation failed with its split left desired: the service asks for {split_text(asked)} (its "
            f"traffic) but serves {split_text(serving)} (its traffic_statuses), and whatever reconciles it next (a "
            f"restart, a deploy) may start serving the split asked for; its Ready condition says why: "
            f"{describe_command(service)}")


def combine(judged: list[tuple[str, Health]], caveat: str = "") -> Health:
    """One standing from every service a connector change serves (the recorded service first): the
    change is verified only when all of them are healthy, as the connector's alert closes only when
    all of its users recover; changed (the connector itself) or failing on any one of them says so;
    anything else is unclear. One service alone is its own standing. `caveat`: managed services not
    looked at (past the fan-out limit), named in a verdict. A service confirmed deleted since
    (`service_gone`) is no standing of the change: the services still behind the connector judge it
    (`without_the_gone`)."""
    gone = [(s, h) for s, h in judged if h.gone]
    if gone:
        return without_the_gone(gone[0][1], [(s, h) for s, h in judged if not h.gone], caveat)
    if len(judged) == 1 and not caveat:
        return judged[0][1]
    for kind in (HealthKind.CHANGED, HealthKind.FAILING, HealthKind.UNCLEAR):
        hit = [(s, h) for s, h in judged if h.kind is kind]
        if hit:
            others = [f"{short_name(s)}: {h.kind.value}" for s, h in judged if h.kind is not kind]
            why = "; ".join(f"{short_name(s)}: {h.why}" for s, h in hit)
            # Waited for only if every unclear one waits for requests: any other doubt is not settled so.
            waits = ("; ".join(f"{short_name(s)}: {h.waits_for}" for s, h in hit)
                     if all(h.waits_for for _, h in hit) else "")
            return Health(kind, why + (f" (also {', '.join(others)})" if others else "")
                          + (f" [{caveat}]" if caveat else ""), waits_for=waits)
    return Health(HealthKind.HEALTHY, "every service behind the connector is healthy on live data since the action "
                                      "settled: " + "; ".join(f"{short_name(s)}: {h.why}" for s, h in judged)
                  + (f" [{caveat}]" if caveat else ""))


def without_the_gone(gone: Health, rest: list[tuple[str, Health]], caveat: str = "") -> Health:
    """A connector change whose own service was deleted since (`gone`, from `service_gone`), judged on the
    other managed services behind the connector (`rest`: those whose serving revision uses it now, and
    those not read; `combine`). The deletion alone said "the scale stays" at once, ahead of what the
    change did to the services still using the connector: a person learnt the service was gone, not
    whether the scale helped or hurt the rest. Now:
    - none left behind it: `changed` at once, saying so (nothing left to judge the change by);
    - their standing `unclear` (too few minutes, no requests, not read): `unclear`, waited for as any
      change is, and escalated at the deadline naming what was read; never `healthy` on no evidence;
    - `failing`: `failing` with their evidence, waited for until the deadline as any change is; a
      connector change is never undone (it is one-way, and they may depend on it now): escalated then;
    - `healthy`, or the connector `changed` since: `changed` at once, with what they show. Healthy
      services behind it show the change did not hurt them, not that it did what it was made for: the
      failure it was made for ended with its service, so a person decides whether the scale is still
      needed (a larger connector costs more)."""
    if not rest:
        return Health(HealthKind.CHANGED, f"{gone.why}; no other managed service uses the connector now, so "
                                          "nothing is left to judge the change by"
                      + (f" [{caveat}]" if caveat else ""), gone=True)
    others = combine(rest, caveat)
    # One service alone is its own standing (`combine`): named here, as several are named there.
    said = others.why if len(rest) > 1 or caveat else f"{short_name(rest[0][0])}: {others.why}"
    read = f"{gone.why}; the change is judged on the other managed services behind the connector: {said}"
    if others.kind is HealthKind.HEALTHY:
        return Health(HealthKind.CHANGED, f"{read}; so the change did not hurt them, but what it was made for "
                                          "ended with the deleted service: not verified, a person decides whether "
                                          "the scale is still needed", gone=True)
    if others.kind is HealthKind.CHANGED:
        return Health(HealthKind.CHANGED, read, gone=True)
    return Health(others.kind, read, waits_for=others.waits_for, gone=True)


def next_step(record: ActionRecord, health: Health, now: datetime, settings: VerificationSettings) -> Step:
    if health.kind is HealthKind.HEALTHY:
        return Step(StepKind.VERIFY, health.why)
    if health.kind is HealthKind.CHANGED:
        return Step(StepKind.ESCALATE, f"{record.action} is neither verified nor undone: {health.why}; nothing "
                                       "written, a person must judge the service as it is now")
    if now < record.deadline_at:
        return Step(StepKind.WAIT, health.why)
    period = record.deadline_at - record.settle_at
    late = now - record.deadline_at > period
    if health.kind is HealthKind.UNCLEAR and health.waits_for and not late:
        # Unclear for want of requests only, on a service that goes idle between them or kept its traffic:
        # waiting costs nothing (the change stays as it is), and a sweep on time can still undo it.
        return Step(StepKind.WAIT, f"{health.why}; waiting past the deadline, until "
                                   f"{clock_on(record.deadline_at + period, record.applied_at)} (the last sweep "
                                   f"that may undo it), for "
                                   f"more requests: {health.waits_for}")
    if health.kind is HealthKind.UNCLEAR and health.settling and not late:
        return Step(StepKind.WAIT, f"{health.why}; waiting past the deadline, until "
                                   f"{clock_on(record.deadline_at + period, record.applied_at)} (one verification "
                                   f"period), for its failing minutes to leave the window judged: {health.settling}")
    if health.kind is HealthKind.FAILING and record.reversible and record.action == "rollback_traffic" and not late:
        return Step(StepKind.UNDO, health.why, shows=health.shows)
    if health.kind is HealthKind.FAILING:
        kept = ("it cannot be undone" if not record.reversible else
                f"not undone: this sweep came {_minutes(now - record.deadline_at)} after the deadline, and judges "
                "the service as it is now" if late else "not undone")
        return Step(StepKind.ESCALATE, f"{record.action} did not make the service healthy by the deadline "
                                       f"({health.why}); {kept}: a person must look")
    kept = ("it cannot be undone" if not record.reversible else
            "kept in place, not undone: an undo cannot end what fails since"
            + (f"; {health.shows}" if health.shows else "") if health.held else
            f"kept in place, not undone: {health.kept}" if health.kept else
            "kept in place, not undone: an undo needs evidence that it failed")
    waited = (f"; it waited a verification period past the deadline for more requests ({health.waits_for}), and "
              "they did not settle it" if health.waits_for else "")
    return Step(StepKind.ESCALATE, f"{record.action} could not be verified by the deadline ({health.why}){waited}; "
                                   f"{kept}; a person must look")


# A run of failed reads of a pending action's evidence lasting this share of its verification period
# (deadline - settle) is told to a person (`unread_notice_due`): half, 5 min with the defaults, so a
# Monitoring outage is heard well before the deadline, and a single failed read (a blip the next sweep
# reads past) never is, since the run starts at its first failure and only a later sweep can end it.
UNREAD_NOTICE_SHARE = 0.5


def unread_notice_due(record: ActionRecord, now: datetime) -> bool:
    """Whether a person is to be told now that a pending action's evidence cannot be read: its reads
    have failed in a row since `unread_since` for UNREAD_NOTICE_SHARE of its verification period, and
    nobody was told so yet, early (`unread_told_at`) or past the deadline (`unread_escalated_at`). Not
    within that same share of the escalation past the deadline (deadline + a period, verification
    Sweep._unreadable), which says it anyway: two words of one outage minutes apart are one too many.
    So a run that began by the deadline is told half a period after its first failure, and one that
    began later by that escalation, at most a period after it began."""
    if record.state is not ActionState.PENDING or record.unread_since is None:
        return False
    if record.unread_told_at is not None or record.unread_escalated_at is not None:
        return False
    share = (record.deadline_at - record.settle_at) * UNREAD_NOTICE_SHARE
    return now - record.unread_since >= share and now <= record.deadline_at + share


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"
