"""The words of the answers to a notification that is recorded or escalated without a diagnosis: a
CLOSED (and whether it showed recovery), another schema version, a start it does not give, a
log-based incident notified again after Runwarden closed it. Beside the notification's own model
(incidents.py), whose properties they quote. Pure: no I/O.
"""
from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Sequence
from typing import Any

from shared.alerts.incidents import SCHEMA_VERSION, Incident, quoted


def closed_reason(incident: Incident) -> str:
    """The `resolved` outcome's reason for a CLOSED: recorded, and whether it showed recovery."""
    if incident.is_cancelled:
        return ("incident cancelled (its policy's condition was deleted or modified while it was open); recorded, no "
                "action taken; not taken as recovery: an action of it is still verified on live data")
    shown = incident.recovery_shown
    if shown:
        return f"incident closed; recorded, no action taken ({shown})"
    value = f"observed_value {quoted(incident.observed_value, 60)}" if incident.observed_value else "no observed_value"
    if incident.condition_doubt:
        return (f"incident closed; recorded, no action taken; not taken as recovery: {incident.condition_doubt}, so "
                f"its {value} is measured against no known bar; an action of it is still verified on live data")
    unread = incident.recovery_unread or incident.recovery_doubt
    if unread:
        shows = f"so its {value} shows nothing" if incident.observed_value else "and it carries no observed_value"
        return (f"incident closed; recorded, no action taken; not taken as recovery: {unread}, {shows}; an action of "
                "it is still verified on live data")
    if incident.observed_unread:
        # "0.5 s", "83.5%", "0,835": a unit or a form float() does not read. Which unit, and so which side of
        # the bar the value is on, is not guessed (the bar is in the metric's own unit, which the notification
        # does not state); it was called "not on the clear side of the bar", which it may well be.
        return (f"incident closed; recorded, no action taken; not taken as recovery: its {value} is no plain number "
                "(a unit, a decimal comma, prose: no unit is guessed), so it shows nothing; an action of it is "
                "still verified on live data")
    return ("incident closed; recorded, no action taken; not taken as recovery: it carries " + value + " and no "
            "value on the clear side of the condition's bar (a snooze on the policy, data that stopped arriving or a "
            "close by hand close an incident too), so an action of it is still verified on live data")


def never_opened(incident: Incident, about: str) -> str:
    """Why a CLOSED whose incident Runwarden holds no OPEN of (no record of one, no action of it) is escalated.
    The OPEN was lost to Runwarden (dropped, dead-lettered after its delivery attempts, sent before
    Runwarden was deployed, or only to another channel), or is still on its way: Pub/Sub does not order
    messages without an ordering key, and Monitoring's notifications carry none (UNCONFIRMED: no attribute
    is seen in any sample). Either way the incident opened and closed with nothing diagnosed, which only
    this answer tells a person; it is recorded closed, so the OPEN, if it comes, is not acted on."""
    ended = f"ended at {_utc(incident.ended_at)}" if incident.ended_at is not None else "no end given"
    summary = f"; its summary: {quoted(incident.summary, 240)}" if incident.summary.strip() else ""
    return (f"incident {incident.incident_id} closed, but no OPEN of incident {incident.incident_id} is on record at "
            f"Runwarden (no record that one was handled, nor any action of it): it started at "
            f"{_utc(incident.started_at)}, {ended}, on {about}, policy {incident.policy_name!r}; nothing was "
            "diagnosed or done for it. It is recorded closed, so its OPEN, if it still arrives or is being handled "
            "now, is not acted on. The OPEN may have been dropped or dead-lettered, sent before Runwarden was "
            "deployed, or sent only to another channel: a person must look at what happened then (`runwarden "
            f"timeline {incident.incident_id}`, the policy's incident in the console){summary}")


def test_notification(incident: Incident) -> str:
    """The answer to the console's test notification ("Send test notification" on a notification channel):
    `"version": "test"`, `"state": "OPEN"`, `started_at` and `ended_at` 0, incident "12345" on an
    `example_resource` in the only copy of its payload found (cloudforet-io/tsc#8, a webhook channel's;
    that a Pub/Sub channel's test carries the same payload is UNCONFIRMED, as is whether a test ever says
    CLOSED or names a real resource or incident id). No part of it is an incident: it says that
    Monitoring reaches Runwarden over this channel, so that is what the answer says, whatever state,
    incident id or resource it carries. Nothing is read or written: a test that said CLOSED under an
    open incident's id was recorded as that incident's closing, and its later notifications dropped."""
    about = incident.resource_type or "no resource"
    return (f"test notification (version {quoted(incident.version, 20)}, as the console's \"Send test "
            f"notification\" sends): it reached Runwarden over this notification channel; it is no incident "
            f"(id {quoted(incident.incident_id, 40)}, state {incident.state.value}, {about}, policy "
            f"{quoted(incident.policy_name, 80)}), so nothing was read, diagnosed or recorded")


def unknown_schema(incident: Incident) -> str:
    """Why a notification of another schema version than 1.2 is escalated, with what it said."""
    version = f"version {quoted(incident.version, 60)}" if incident.version else "no version"
    about = incident.cloud_run_service or incident.target.name or incident.resource_type or "no named resource"
    summary = f"; its summary: {quoted(incident.summary, 240)}" if incident.summary.strip() else ""
    return (f"notification schema {version}, not {SCHEMA_VERSION}, the only one Runwarden reads: its fields may mean "
            f"something else, so nothing was read or done; a person must look at it. Policy "
            f"{incident.policy_name!r}, about {about} (resource type {incident.resource_type or 'none'!r}){summary}")


# IncidentRecord.closed_by of a log-based incident the sweep closed (shared/remediation/verification.py
# `_close_log_incident`): Runwarden's inference, where "notification" is Monitoring's own CLOSED.
OWN_CLOSINGS = ("verification", "timeout")


def notified_after_own_close(incident: Incident, closed: Any) -> str:
    """Why an OPEN of a log-based incident Runwarden closed itself is escalated. Log-based policies
    notify only on opening (AlertStrategy, "For log-based alert policies, the notification prompts is
    always [OPENED]"), at most once per `notification_rate_limit` period (alert.proto), and the incident
    stays open in Monitoring until its autoClose: that a later matching entry notifies the same
    incident_id is UNCONFIRMED (no sample), and a new message of it can mean nothing else than that
    Monitoring holds it open. It is not acted on again (the earlier diagnosis and action stand for it);
    a person hears that the entries are back."""
    why = "its action was verified" if closed.closed_by == "verification" else "its timeout passed"
    return (f"log-based incident {incident.incident_id} was notified again after Runwarden closed it at "
            f"{closed.closed_at:%Y-%m-%d %H:%M:%S} ({why}; log-based policies never send CLOSED): Monitoring holds it "
            f"open, and entries matching policy {incident.policy_name!r} may be back; nothing was diagnosed or done "
            "again; a person must look at it")


def notified_after_verdict(incident: Incident, record: Any) -> str:
    """Why a later notification of an incident whose action the sweep has judged is not acted on, naming the
    verdict. Monitoring notifies an open incident again at the policy's renotify_interval ("The frequency at
    which to send reminder notifications for open incidents", AlertPolicy.AlertStrategy.
    NotificationChannelStrategy, google/monitoring/v3/alert.proto), with its id and start: so a reminder
    hours after the verdict says the incident is still open in Monitoring. Whether a reminder differs from
    the first notification in any field is UNCONFIRMED (no sample of one); it is told apart by its message
    only. Before, it was answered "duplicate: ... already completed (applied)", or named the sweep's
    restore, never the verdict; after `verified`, a person never heard that Monitoring still held open an
    incident whose fix Runwarden called verified."""
    action = (f"{record.action} on {record.target} (action {record.key}, applied at "
              f"{record.applied_at:%Y-%m-%d %H:%M:%S} UTC)")
    when = f"{record.resolved_at:%Y-%m-%d %H:%M:%S} UTC" if record.resolved_at else "an unrecorded time"
    again = (f"incident {incident.incident_id} was notified again, still open in Monitoring (a reminder at its "
             f"policy's renotifyInterval, or another notification of it; policy {incident.policy_name!r})")
    if record.state.value == "verified":
        return (f"{again}, after {action} was verified at {when}: Monitoring's condition may still hold where the "
                "sweep judged the fix to work (or its window still holds the minutes before the fix); nothing was "
                "diagnosed or written again (one incident is acted on once); a person must look")
    verdict = ("undone" if record.state.value == "undone" else "escalated by the sweep")
    why = ("the service still failed after it, so the split before it was restored; an undone change is never "
           "made again without a person" if record.state.value == "undone" else
           "its effect could not be verified")
    return (f"duplicate: {again}, after {action} was {verdict} at {when} ({why}; that outcome reached a person "
            "then); nothing was diagnosed or written again (one incident is acted on once); a person decides what "
            "comes next")


def opened_after_close(incident: Incident, closed: Any, about: str) -> str:
    """Why an OPEN that started after its incident's CLOSED ended is escalated undiagnosed. Every
    notification of one incident carries its one start (`started_at`: Cloud Monitoring's schema 1.2 example,
    every sample), and an incident ends after it starts: an OPEN delivered after the CLOSED that overtook it
    (Pub/Sub does not order them) starts before that end, and is rightly dropped as closed. One that starts
    after the end is no such OPEN: an incident opened again under the same id. Monitoring gives each incident
    its own id (a condition met again opens a new incident: tests/integration/test_alert_orderings.py);
    whether it ever reopens one under its id is UNCONFIRMED (no sample, no page found), and a relay or a
    hand-written payload may reuse ids. Dropped as closed, a failure that came back after the close reached
    nobody through Runwarden; acted on, it would be acted on under the closed incident's claims and actions.
    So nothing is diagnosed or done, and a person hears of it."""
    ended = closed.ended_at
    summary = f"; its summary: {quoted(incident.summary, 240)}" if incident.summary.strip() else ""
    return (f"incident {incident.incident_id} was closed at {closed.closed_at:%Y-%m-%d %H:%M:%S} (Monitoring's CLOSED "
            f"ended it at {_utc(ended)}), and this OPEN says it started at {_utc(incident.started_at)}, after that "
            "end: not an earlier notification of it delivered late, but an incident opened again under the same id; "
            "nothing was diagnosed or done under the closed incident's id; a person must look at it "
            f"(`runwarden command diagnose --target {about}` reads the live evidence now). Policy "
            f"{incident.policy_name!r}{summary}")


def _utc(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


def unknown_start(incident: Incident, about: str) -> str:
    """Why an open incident whose `started_at` is 0 (or before 2015: Incident.start_unknown) is escalated undiagnosed. Monitoring sends the
    incident's start in epoch seconds (Cloud Monitoring's schema 1.2 example; every real sample), and 0 only
    in the console's test notification (`version: "test"`, cloudforet-io/tsc#8), where it is a placeholder;
    in a 1.2 notification it is no time (a relay or a serializer that wrote an unset field as 0:
    ProtoJSON omits a zero int64 rather than writing it). Taken as a time, the incident was "open
    since 00:00:00" on 1970-01-01: every revision of the service was "deployed before the incident",
    and the evidence window silently became the last `max_incident_window_seconds`. Nor is the
    notification's arrival its start: an incident is notified again while open (renotifyInterval)
    and Pub/Sub redelivers for a day. The deploy that preceded it, and so a rollback, cannot be told
    without it, so nothing is read or done."""
    summary = f"; its summary: {quoted(incident.summary, 240)}" if incident.summary.strip() else ""
    given = ("started_at is 0, which Monitoring sends only in a test notification" if not incident.started_at else
             f"started_at {incident.started_at} is {datetime.fromtimestamp(incident.started_at, timezone.utc):%Y-%m-%d}, "
             "before any incident of this schema")
    return (f"the notification gives no start for incident {incident.incident_id} ({given}): when it began, and so which deploy or change preceded it, is "
            "unknown, and no time was guessed for it; nothing was diagnosed or done; a person must look at it "
            f"(`runwarden command diagnose --target {about}` reads the live evidence now). Policy "
            f"{incident.policy_name!r}{summary}")


def unselected_unmanaged(incident: Incident, service: str, managed: Sequence[str]) -> str:
    """The `escalated` outcome's reason for an alert whose resource names a service the config does not manage while
    its own condition rules that resource out (Incident.resource_unselected), or its PromQL condition's `labels` may
    have written that name (Incident.labels_overwritten), or "" when neither: which service it
    is about is unknown (the managed one its condition selects, under a label rewritten on the way), so it is told, not
    `skipped` as another team's alert (`not_managed`), which nobody heard of. The managed services the condition
    selects by name are named; nothing is read or done on any. A condition that names services, none of them
    managed (`service_name="payments"` on checkout), is another team's either way: "", skipped as before."""
    unselected, overwritten = incident.resource_unselected, incident.labels_overwritten
    if not unselected and not overwritten:
        return ""
    selected = incident.selected_names
    names = selected.get("service_name", ())
    found = [name for name in managed if name.rsplit("/", 1)[-1] in names
             and name.split("/")[1] in selected.get("project_id", (name.split("/")[1],))
             and name.split("/")[3] in selected.get("location", (name.split("/")[3],))]
    if names and not found:
        return ""   # every service its condition names is unmanaged too: no reading points to a managed one
    said = (f"; its condition selects the managed service{'s' if len(found) > 1 else ''} {', '.join(found)}"
            if found else "")
    why = (f"the notification contradicts itself: {unselected}, so Monitoring did not measure that resource's series "
           "under it: its labels were written on the way (a PromQL condition's `labels` overwrite its query's result "
           "labels; a relay or template), or it carries another condition of its policy" if unselected else
           f"the notification may not name the resource that alerted: {overwritten}")
    return (f"{service} is not a managed service, but {why}. Which resource it is about is unknown, so nothing was "
            f"read or done; a person must look at it{said}. Policy {quoted(incident.policy_name)}")


def own_function(service: str, policy: str) -> str:
    """The `escalated` outcome's reason for an alert about one of Runwarden's own functions (Config.owns: the same
    project, region and name). Never acted on, whatever the config says: a watchdog that rolls itself back or scales
    itself may take down what would tell a person it failed. Told, not `skipped` as another team's service is: a
    person whose watchdog fails hears of it from no one else through Runwarden."""
    name = service.rsplit("/", 1)[-1]
    return (f"an alert about Runwarden's own function {name} ({service}): not acted on, Runwarden never rolls back "
            f"or scales its own service; nothing was read or done. A person must check {_own_checks(service)}. "
            f"Policy {quoted(policy)}")


def own_function_closed(incident: Incident, service: str, open_seen: bool) -> str:
    """The `escalated` outcome's reason for a CLOSED of an incident about one of Runwarden's own functions, worded from
    what was recorded (`open_seen`: its OPEN's record, history.note_seen). Seen, its OPEN was told to a person
    (`own_function`), who hears it closed; not seen, no OPEN of it has reached Runwarden (dropped, dead-lettered, sent
    to another channel, or still on its way: Pub/Sub does not order messages), as `never_opened` says of a managed
    service's, and that OPEN, late, is skipped as closed. `resolved` alone writes no notify line. A closing is no
    proof the function works again (a snooze, data that stopped, a close by hand close an incident too:
    `closed_reason`)."""
    name = service.rsplit("/", 1)[-1]
    ended = f" at {_utc(incident.ended_at)}" if incident.ended_at is not None else ""
    told = ("its OPEN was told to a person, so is its closing" if open_seen else
            "no OPEN of it has reached Runwarden (dropped, dead-lettered, sent only to another channel, or still on "
            f"its way: it started at {_utc(incident.started_at)}), so no person heard of it through Runwarden; it is "
            "recorded closed, so that OPEN, if it comes, is not told again")
    return (f"incident {incident.incident_id} about Runwarden's own function {name} ({service}) closed{ended}, policy "
            f"{quoted(incident.policy_name)}: {told}; nothing was read or done on it, and a closing alone is no proof "
            f"it works again ({closed_reason(incident)}). To see it: {_own_checks(service)}")


def own_query_names(services: Sequence[str]) -> str:
    """What a query condition naming Runwarden's own functions by name (`services`, full names) says of them: never
    acted on, whichever resource the query's result names."""
    names = ", ".join(f"{s.rsplit('/', 1)[-1]} ({s})" for s in services)
    return (f"Runwarden's own function{'s' if len(services) > 1 else ''} of that name: {names}, never acted on by "
            f"Runwarden; a person must check {_own_checks(services[0])}")


def _own_checks(service: str) -> str:
    """Where a person checks one of Runwarden's own functions: its revisions and its logs."""
    name, parts = service.rsplit("/", 1)[-1], service.split("/")
    return (f"its logs and revisions (gcloud run services describe {name} --project {parts[1]} --region {parts[3]}; "
            f"its logs: resource.labels.service_name = \"{name}\")")


def not_managed(service: str, managed: Sequence[str], policy: str) -> str:
    """The `skipped` outcome's reason for an alert on a Cloud Run service the config does not manage
    (`projects/P/locations/L/services/S`): nothing read or done. When a managed service has the same service id in
    another project or region, it is named, and the alert is said not to be about it: a service id is unique only
    within its project and region (Cloud Run's resource name, `projects/{project}/locations/{location}/services/
    {service_id}`, google/cloud/run/v2/service.proto), and "backend is not a managed service" read as the managed
    backend's all-clear. The people's channels hear of the alert only if its policy names them (the policies infra/
    makes do)."""
    parts = service.split("/")
    same = [name for name in managed if name.rsplit("/", 1)[-1] == parts[-1] and name != service]
    if len(parts) != 6 or not same:
        return f"{service} is not a managed service: nothing was read or done"
    differ = sorted({words for name in same for words, i in (("project", 1), ("region", 3))
                     if name.split("/")[i] != parts[i]})
    named = ", ".join(same[:4]) + (f" and {len(same) - 4} more" if len(same) > 4 else "")
    return (f"{service} is not a managed service: Runwarden manages a service of the same name in another "
            f"{' and '.join(differ)} ({named}), which this alert is not about, so nothing was read or done on either; "
            f"policy {quoted(policy)} alerts on the one in project {parts[1]}, region {parts[3]}: if it must reach a "
            "person, put a person's channel on it")
