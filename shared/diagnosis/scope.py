"""From an alert to the managed services it concerns, and from their diagnoses to one verdict.

A Cloud Run alert names its service. An uptime check names a host: the service's run.app host or
a custom domain listed in the config. A connector or Cloud SQL alert names a shared resource:
every managed service whose serving revisions use it is diagnosed, and the verdicts are combined
into one, about the resource (a connector is acted on at most once, whatever the number of
services saturating it).
"""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import urlsplit

from shared.alerts.extracted_labels import carried, extracted_revision
from shared.alerts.incidents import AlertTarget, Incident, TargetKind
from shared.alerts.label_filters import selected_revision
from shared.alerts.reasons import not_managed, unselected_unmanaged
from shared.config import Config, DiagnosisSettings
from shared.diagnosis.check_results import UPTIME_URL
from shared.diagnosis.collection import (MAX_FAN_OUT_SERVICES, SEQUENTIAL_ROUNDS, Listing, Readers, Users, collect,
                                         epoch_to_datetime, list_pages, read_listed, users_of)
from shared.diagnosis.connector_names import MAX_LISTED, MAX_LOOKED_UP, list_refused, listed, parents
from shared.diagnosis.connector_peers import PEER_CLEAN, CleanPeer, clean_peer, peer_evidence, peer_words
from shared.diagnosis.diagnose import RULE_SET, diagnose
from shared.diagnosis.evidence import (CONDITION_UNSTATED, AlertContext, EvidenceBundle, EvidenceItem, MetricResult, Service,
                                      micros, short_name)
from shared.diagnosis.facts import Window, finite
from shared.diagnosis.neighbour_deploys import Neighbour, Outside, named_beside, rise_of
from shared.diagnosis.moved_off import moved_off, moved_off_held
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.errors import UNANSWERED, PermanentError, TransientError
from shared.gcp.endpoints import CallPolicy, bounded
from shared.workers import Workers

# Cloud Run's URLs (cloud.google.com/run/docs/triggering/https-request): the deterministic form
# https://SERVICE-PROJECT_NUMBER.REGION.run.app, and the older https://SERVICE-HASH-REGIONCODE.a.run.app.
# A revision tag's URL puts TAG--- before either host (https://canary---my-service-xxxxx-uc.a.run.app,
# gcloud's output in google-github-actions/deploy-cloudrun #589; on the deterministic form: UNCONFIRMED),
# and Cloud Run lists it as the tagged target's TrafficTargetStatus.uri.
_TAG = r"(?:(?P<tag>[a-z0-9][a-z0-9-]*?)---)?"
_RUN_APP = re.compile(rf"^{_TAG}(?P<service>[a-z][-a-z0-9]*)-(?P<number>\d+)\.(?P<region>[a-z0-9-]+)\.run\.app$")
_RUN_APP_LEGACY = re.compile(rf"^{_TAG}(?P<service>[a-z][-a-z0-9]*)-[a-z0-9]{{10}}-[a-z]{{2}}\.a\.run\.app$")


def alert_context(incident: Incident) -> AlertContext:
    doc = incident.documentation.content if incident.documentation else ""
    # Parts that may be different conditions' (Incident.condition_doubt): no bar, comparison or ratio of
    # it is lent to a rule (a lower bar of another condition's makes a rule act on less), and the
    # health check says why it does not judge.
    doubt = incident.condition_doubt
    return AlertContext(policy=incident.policy_name, policy_resource=incident.policy_resource,
                        metric_type=incident.metric_type,
                        resource_type=incident.resource_type, comparison="" if doubt else incident.comparison,
                        threshold=None if doubt else incident.threshold,
                        observed=None if doubt else incident.observed_number,
                        ratio=incident.is_ratio and not doubt, condition_doubt=doubt,
                        log_filter=incident.condition_filter if incident.is_log_match else "", documentation=doc,
                        metric_labels=incident.metric_labels, condition_filter=incident.condition_filter,
                        denominator_filter=incident.denominator_filter,
                        condition_kind=incident.condition_kind or CONDITION_UNSTATED, forecast=incident.forecast,
                        aligner=incident.aligner, reducer=incident.reducer, group_by=list(incident.group_by),
                        alignment_seconds=incident.alignment_seconds,
                        trigger=incident.trigger, evaluation_missing_data=incident.evaluation_missing_data,
                        denominator_aligner=incident.denominator_aligner,
                        denominator_reducer=incident.denominator_reducer,
                        denominator_group_by=list(incident.denominator_group_by),
                        denominator_aggregated=incident.denominator_aggregated,
                        **_named_revision(incident), **_uptime_url(incident))


def _named_revision(incident: Incident) -> dict[str, str]:
    """The revision a cloud_run_revision alert names: its resource's label, else its condition's filter's, else a log
    match's extracted label of the matched entry's own revision (`extracted_labels.extracted_revision`), and where that
    last one is said."""
    if incident.resource_type != "cloud_run_revision":
        return {}
    named = incident.resource_labels.get("revision_name", "") or selected_revision(incident.condition_filter)
    if named or incident.condition_kind != "log_match":
        return {"revision": named}
    key, extracted = extracted_revision(incident.label_extractors, carried(incident))
    where = f"its extracted label {key!r}, {incident.label_extractors[key]}" if extracted else ""
    return {"revision": extracted, "revision_where": where}


def _uptime_url(incident: Incident) -> dict[str, str]:
    """An uptime_url alert's host and project (its resource labels), where its check's results are read."""
    if incident.resource_type != UPTIME_URL:
        return {}
    labels = incident.resource_labels
    return {"uptime_host": labels.get("host", "").lower(), "uptime_project": labels.get("project_id", "")}


def service_for_host(host: str, config: Config) -> str | None:
    """The managed service an uptime check's host belongs to, or None.

    A custom domain listed in the config wins; otherwise the run.app host's service id (and, in
    the deterministic form, its region) must match exactly one managed service. A revision tag's
    host (TAG---…) is its service's: whether Cloud Run lists it is checked once the service is read
    (`unserved_host`), and the tagged revision is then the one the alert names (`tagged_revision`).
    """
    host = host.lower().rstrip(".")
    for managed in config.services:
        if host in (d.lower().rstrip(".") for d in managed.domains):
            return managed.name
    match = _RUN_APP.match(host) or _RUN_APP_LEGACY.match(host)
    if not match:
        return None
    region = match.groupdict().get("region")
    found = [m.name for m in config.services
             if m.name.rsplit("/", 1)[-1] == match["service"] and (region is None or m.name.split("/")[3] == region)]
    return found[0] if len(found) == 1 else None


def unserved_host(host: str, config: Config, service: Service) -> str:
    """Why an uptime check's host is not `service`'s, or "" when it is. A custom domain the config
    lists for the service is its word. A run.app host names the service id and region (or a region
    code), and the project only by its number or a hash, which the config (project ids) cannot
    match: the same id in another project, or in a region the config does not manage behind the
    older form's code, would be taken for the managed one. So the host must be one Cloud Run lists
    for the service as read (Service.uri, "The main URI in which this Service is serving traffic";
    Service.urls, "All URLs serving traffic for this Service"; a revision tag's, its traffic status's
    TrafficTargetStatus.uri)."""
    host = host.lower().rstrip(".")
    managed = config.service(service.name)
    if managed and host in (d.lower().rstrip(".") for d in managed.domains):
        return ""
    listed = (*service.urls, *(t.uri for t in service.traffic_statuses if t.uri))
    served = sorted({(urlsplit(u).hostname or "").lower() for u in listed} - {""})
    if host in served:
        return ""
    if not served:
        return f"Cloud Run lists no URL for {service.name}, so whether uptime check host {host} is its host is unknown"
    return (f"uptime check host {host} is not a URL of {service.name} (Cloud Run lists {', '.join(served)}): a "
            "service of the same name in another project or region")


def tagged_revision(host: str, service: Service) -> str:
    """The revision a revision tag's URL reaches, when `host` is one Cloud Run lists for a tagged
    traffic status of `service` (TrafficTargetStatus.uri); "" otherwise. An uptime check on that URL
    probes this revision alone, whatever its share of the split."""
    host = host.lower().rstrip(".")
    found = {t.revision for t in service.traffic_statuses
             if t.uri and t.revision and (urlsplit(t.uri).hostname or "").lower() == host}
    return found.pop() if len(found) == 1 else ""


def users(target: AlertTarget, config: Config, readers: Readers, last_delivery: bool = False) -> Users:
    """The managed services using the connector or the Cloud SQL instance the alert names. `last_delivery`: the
    alert's last (users_of's): a service whose read never answered is `Users.unanswered`, not raised. Each service
    is looked up at once with the others, on the peers' pool (PEERS): users_of takes the answers in the services'
    order, so what is found, and the fault raised for a redelivery (the first in that order), never depend on which
    answered first."""
    managed = [(m.name, m.cloudsql_instances) for m in config.services]
    if target.kind is TargetKind.CONNECTOR:
        return users_of(readers, managed, connector=target.name, last_delivery=last_delivery, at_once=PEERS)
    return users_of(readers, managed, sql_instance=target.name, last_delivery=last_delivery, at_once=PEERS)


def unanswered_held(target: AlertTarget, found: Users, diagnosis: Diagnosis) -> Diagnosis:
    """A shared resource's combined verdict (`combine`) when a managed service's read never answered by the alert's
    last delivery (Users.unanswered): that service may be behind the resource, failing or not, so the verdict of
    the others is neither acted on (a connector scaled for half its load, one-way) nor `healthy` (the one not read
    may be the one failing). The finding, with every evidence item read (the resource's own metrics among them),
    stays in the summary as `diagnose._held_for_incomplete` keeps a service's, and each service not read is named
    with what to do: read it by hand (GetService, `gcloud run services describe`), then judge the finding."""
    names = ", ".join(short_name(name) for name in found.unanswered)
    finding = "its users look healthy" if diagnosis.signature is Signature.HEALTHY else diagnosis.signature.value
    by_hand = "; ".join(f"{short_name(name)}: {_describe(name)}" for name in found.unanswered)
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET, competing=diagnosis.competing,
                     summary=f"{finding} on what was read ({diagnosis.summary.rstrip('.')}), but "
                             f"{len(found.unanswered)} managed service(s) could not be read, so whether they are "
                             f"behind {_what(target)} {short_name(target.name)} is not known ({names}: {UNANSWERED}, "
                             "each read's failure above). Nothing is done on a part of its users",
                     evidence=diagnosis.evidence, stand_down=diagnosis.stand_down, api_calls=diagnosis.api_calls,
                     recommendation=f"a person must read each service not read by hand ({by_hand}) and judge whether "
                                    f"it is behind {short_name(target.name)}"
                                    + (f"; if the finding holds, {diagnosis.recommendation}"
                                       if diagnosis.recommendation else ""))


def _describe(service: str) -> str:
    """gcloud's read of a managed service (projects/P/locations/L/services/S): its revisions' connector and
    traffic, as GetService answers them."""
    parts = service.split("/")
    return f"gcloud run services describe {parts[5]} --region {parts[3]} --project {parts[1]}" \
        if len(parts) == 6 else service


@dataclass(frozen=True)
class ServiceResult:
    service: str
    bundle: EvidenceBundle
    diagnosis: Diagnosis


def diagnose_service(service: str, incident: Incident, config: Config, readers: Readers,
                     now: datetime, last_delivery: bool = False, found: Users | None = None) -> ServiceResult:
    """`last_delivery`: the alert's last (collect's): a read that never answered is a gap that holds the verdict.
    `found`: the users of the shared resource the alert names, whose read of this service (Users.read) the
    diagnosis starts from instead of reading the service and its revisions again."""
    managed = config.service(service)
    bundle = collect(service, epoch_to_datetime(incident.started_at), readers, config.diagnosis, now,
                     sql_instances=managed.cloudsql_instances if managed else (), alert=alert_context(incident),
                     last_delivery=last_delivery, known=found.read.get(service) if found else None)
    if incident.target.kind is TargetKind.UPTIME and bundle.alert is not None:
        # An uptime check on a revision tag's URL is about that revision, as a revision_name alert is.
        revision = tagged_revision(incident.target.name, bundle.service)
        if revision:
            bundle = bundle.model_copy(update={"alert": bundle.alert.model_copy(update={"revision": revision})})
    return ServiceResult(service, bundle, diagnose(bundle, config.diagnosis))


@dataclass(frozen=True)
class UsersDiagnosed:
    """A shared resource's users diagnosed (`diagnose_users`): each one's result in the users' order, and the users
    whose diagnosis was not started because the alert's time left no room for it (`cut`, in the same order)."""

    results: tuple[ServiceResult, ...]
    cut: tuple[str, ...] = ()


def diagnose_users(found: Users, incident: Incident, config: Config, readers: Readers, now: datetime, *,
                   last_delivery: bool = False, fits: Callable[[float], bool] | None = None) -> UsersDiagnosed:
    """Every user `found` behind the connector or Cloud SQL instance an alert names (its services, then those naming
    the connector by a project number: Users.by_number), each collected and diagnosed as diagnose_service does, at
    once on the peers' pool (PEERS, at most PEERS_AT_ONCE at a time) instead of one after another: seven users cost
    about three waves of one user's reads, not seven. The answers are taken in the users' order whichever ended first,
    so the combined verdict, its evidence and its log lines never depend on timing. A user's fault is its own: a
    PermanentError or a TransientError raised by one user's collect (its service's reads; an optional read's fault is
    a gap) is raised once every user started has ended, the first in the users' order, which is the one the loop
    before raised (it stopped at the first); on the `last_delivery` collect makes it a gap, as before.

    `fits(seconds)`: whether a read that long still ends in the alert's time (the pipeline's StepTime, as
    service_peers_held's); None (the diagnose and eval commands, a person waiting) is no bound. A user whose
    collection at its longest (USER_DIAGNOSIS_SECONDS) would not fit is not started, nor is any not yet started (`cut`):
    the caller names it as not read (time_cut_held), never judges the resource healthy without it."""
    names = [*found.services, *found.by_number]
    stopped = threading.Event()

    def one(name: str) -> ServiceResult | None:
        if stopped.is_set() or (fits is not None and not fits(USER_DIAGNOSIS_SECONDS)):
            stopped.set()   # no user not yet started is started after it (each asks as it starts, in any order)
            return None
        return diagnose_service(name, incident, config, readers, now, last_delivery=last_delivery, found=found)

    answers = PEERS.map(one, names)
    return UsersDiagnosed(tuple(a for a in answers if a is not None),
                          tuple(name for name, a in zip(names, answers) if a is None))


def moved_off_users(target: AlertTarget, found: Users, incident: Incident, config: Config, readers: Readers,
                    now: datetime, *, last_delivery: bool = False,
                    fits: Callable[[float], bool] | None = None) -> Diagnosis | None:
    """A connector alert with no managed user behind it: None when no managed service moved off the connector
    within the deploy window before the incident (moved_off.moved_off; the alert is skipped), else the alert held
    for a person (moved_off_held), each service that moved diagnosed as a user is (diagnose_users, `fits` bounding
    it the same way): how it serves since its move is what the person needs."""
    if target.kind is not TargetKind.CONNECTOR:
        return None
    since = epoch_to_datetime(incident.started_at) - timedelta(seconds=config.diagnosis.deploy_window_seconds)
    moves = moved_off(target.name, found.read, since)
    if not moves:
        return None
    moved = replace(found, services=tuple(m.service for m in moves), by_number=())
    diagnosed = diagnose_users(moved, incident, config, readers, now, last_delivery=last_delivery, fits=fits)
    verdicts = {r.service: r.diagnosis for r in diagnosed.results}
    return moved_off_held(target.name, moves, verdicts, found.api_calls + _calls(list(diagnosed.results)))


def time_cut_held(target: AlertTarget, cut: tuple[str, ...], diagnosis: Diagnosis) -> Diagnosis:
    """A shared resource's combined verdict when users behind it were not diagnosed for the alert's time
    (UsersDiagnosed.cut): as for a user whose read never answered (unanswered_held), the verdict of the others is
    neither acted on nor `healthy` (the one not read may be the one failing); what was read stays in the summary, and
    each user not read is named, with how to read it by hand."""
    names = ", ".join(short_name(name) for name in cut)
    finding = "its users look healthy" if diagnosis.signature is Signature.HEALTHY else diagnosis.signature.value
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET, competing=diagnosis.competing,
                     summary=f"{finding} on what was read ({diagnosis.summary.rstrip('.')}), but {len(cut)} managed "
                             f"service(s) behind {_what(target)} {short_name(target.name)} were not diagnosed ({names}: "
                             f"{TIME_CUT}). Nothing is done on a part of its users",
                     evidence=diagnosis.evidence, stand_down=diagnosis.stand_down, api_calls=diagnosis.api_calls,
                     recommendation=f"a person must diagnose each service not read ({'; '.join(map(_describe, cut))})"
                                    + (f"; if the finding holds, {diagnosis.recommendation}"
                                       if diagnosis.recommendation else ""))


# A user's diagnosis not started for the alert's time, in words (time_cut_held, the pipeline's escalation).
TIME_CUT = "not read: the alert's time left no room for their evidence"


def by_number_held(connector: str, found: Users, diagnosis: Diagnosis) -> str:
    """Why a connector alert is escalated, whatever its users' combined verdict, when a managed service's serving
    revision names the connector by a project number that cannot be told from its project id (Users.by_number):
    a revision may name its connector by either ("where {project} can be project id or number", VpcAccess.
    connector, google/cloud/run/v2/vendor_settings.proto), and nothing Runwarden reads says which project a
    number is (it reads no Resource Manager API). Such a service may be behind the connector or not: a
    `healthy` without it may miss the one failing, and a scale judged without knowing who is behind it may
    be made for the wrong load, so neither is given; its verdict is in the diagnosis all the same."""
    named = ", ".join(short_name(s) for s in found.by_number)
    return (f"{named} name(s) {connector} by a project number that cannot be told from "
            f"{connector.split('/')[1]}'s (a revision may name its connector by project id or number; nothing read "
            "says which project the number is), so whether it is behind the connector is not known: nothing was "
            f"done; {diagnosis.signature.value}: {diagnosis.summary}"
            + (f"; recommended: {diagnosis.recommendation}" if diagnosis.recommendation else "")
            + "; name the connector by project id in the service's revisions (gcloud run services update "
              "--vpc-connector projects/PROJECT_ID/locations/REGION/connectors/NAME) for Runwarden to tell")


def connector_users_healthy(connector: str, results: list[ServiceResult], diagnosis: Diagnosis,
                            incident: Incident) -> str:
    """Why a connector's own alert whose every user is healthy still reaches a person, with the connector's own
    evidence. `healthy` judges the users' requests; the alert measured the connector (its CPU, its instances at a
    ceiling, its throughput: vpcaccess.googleapis.com/connector/*), which no request read bounds, as a service's
    own CPU or memory alert is never `healthy` on its clean requests (health_bar). A connector at its ceiling or
    CPU-bound has no headroom left for the next rise, and scaling it is one-way (its instance counts can only be
    raised: "≥ the currently set", gcloud compute networks vpc-access connectors update), so a person decides:
    answered `skipped`, which reaches nobody, the alert went unheard when no person's channel is on
    its policy."""
    shown = incident.metric_type or "its metric"
    return (f"{diagnosis.summary}; but the alert ({incident.policy_name!r}) measured the connector itself ({shown}"
            f"{_value_said(incident)}), which its users' clean requests do not answer: {_connector_said(connector, results)}"
            "; nothing was done (scaling a connector is one-way): a person must decide whether it needs more room")


def cloudsql_users_healthy(results: list[ServiceResult], diagnosis: Diagnosis, incident: Incident) -> str:
    """Why a Cloud SQL instance's own alert whose every user is healthy still reaches a person, with what Runwarden read
    of the instance itself, as `connector_users_healthy` names the connector's: the alert's metric and value, and the
    instance's database/up and CPU read with its users' evidence (collection: cloudsql database/up and
    database/cpu/utilization, per minute by database_id). Before, the reason named only the users' verdict:
    a person was told the users were fine, and nothing of the instance the alert measured."""
    shown = incident.metric_type or "its metric"
    database_id = incident.resource_labels.get("database_id", "")
    return (f"Runwarden never writes to Cloud SQL; {diagnosis.signature.value}: {diagnosis.summary}; but the alert "
            f"({incident.policy_name!r}) measured the instance itself ({shown}{_value_said(incident)}), which its "
            f"users' clean requests do not answer: {_instance_said(database_id, results)}; nothing was done: a person "
            "must look at the instance")


def _instance_said(database_id: str, results: list[ServiceResult]) -> str:
    """What the users' reads show of the instance `database_id` (PROJECT:INSTANCE, the cloudsql_database resource's
    label) since the incident's start: its database/up (the minutes read, and how many were under 1) and its highest
    CPU; "not read" when no user's read holds a point of it. Several users read the same series: each minute once."""
    up: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for r in results:
        since = micros(r.bundle.judged_since)
        for read, into in ((r.bundle.sql_up, up), (r.bundle.sql_cpu, cpu)):
            for s in (read.series if read else ()):
                if s.resource_labels.get("database_id") != database_id:
                    continue
                into.update((at, float(v)) for at, v in zip(s.end_us, s.values)
                            if at >= since and isinstance(v, (int, float)) and finite(v))
    name = f"instance {database_id or '(unnamed)'}"
    if not up and not cpu:
        return f"{name}: no point of its database/up or CPU was read since the incident began"
    said = []
    if up:
        down = sum(1 for v in up.values() if v < 1)
        newest = up[max(up)]
        said.append(f"database/up under 1 at {down} of {len(up)} minute(s) read since the incident began, the newest "
                    f"{newest:g}" if down else f"database/up 1 at each of {len(up)} minute(s) read since the incident "
                    "began")
    if cpu:
        said.append(f"CPU up to {min(max(cpu.values()), 1.0):.0%}")
    return f"{name}: " + ", ".join(said)


def _value_said(incident: Incident) -> str:
    value, bar = incident.observed_value, incident.threshold_value
    return f", {value} against a bar of {bar}" if value and bar else ""


def _connector_said(connector: str, results: list[ServiceResult]) -> str:
    """What the users' reads show of the connector: its state, machine type and instance bounds, and the most
    instances and the highest CPU p99 of a minute since the incident's start; "not read" when none shows it."""
    bundle = next((r.bundle for r in results if r.bundle.connector is not None
                   and short_name(r.bundle.connector.name) == short_name(connector)), None)
    if bundle is None or bundle.connector is None:
        return f"connector {short_name(connector)} was not read"
    c, since = bundle.connector, micros(bundle.judged_since)
    said = [f"connector {c.short_name} is {c.state}, {c.machine_type}, {c.min_instances} to {c.max_instances} instances"]
    instances = _peak(bundle.connector_instances, since)
    if instances is not None:
        said.append(f"up to {instances:g} instance(s) since the incident began (of {c.max_instances})")
    cpu = _peak(bundle.connector_cpu, since)
    if cpu is not None:
        said.append(f"CPU p99 up to {min(cpu, 1.0):.0%}")
    return ", ".join(said)


def _peak(result: MetricResult | None, since_us: int) -> float | None:
    values = [float(v) for s in (result.series if result else ()) for at, v in zip(s.end_us, s.values)
              if at >= since_us and isinstance(v, (int, float)) and not isinstance(v, bool) and finite(v)]
    return max(values, default=None)


# --- combining the verdicts of the services behind a shared resource -----------------------------


def combine(target: AlertTarget, results: list[ServiceResult], lookup_calls: int = 0, caveat: str = "",
            settings: DiagnosisSettings | None = None) -> tuple[Diagnosis, ServiceResult | None]:
    """One verdict about a connector or a Cloud SQL instance from its users' verdicts, and the
    service whose evidence (and whose health, for verification) stands for it. `settings`: the bars a
    connector's other users are held to when one is saturated (`_clean_peer_held`); without them none is."""
    if not results:
        raise ValueError("combine needs at least one service's result")
    per_service = tuple(_verdict_item(target, r) for r in results)
    telling = Signature.CONNECTOR_SATURATION if target.kind is TargetKind.CONNECTOR else Signature.DATABASE_UNREACHABLE
    hits = [r for r in results if r.diagnosis.signature is telling and _about(r.diagnosis, target)]
    names = ", ".join(short_name(r.service) for r in results)
    lead = f"{_what(target)} {short_name(target.name)} is used by {len(results)} managed service(s) ({names})"
    lead += f" [{caveat}]" if caveat else ""
    # A user on which the telling cause competes with another (a deploy, say) leaves the cause in doubt
    # for the shared resource too: a person chooses.
    torn = [r for r in results if telling.value in r.diagnosis.competing]
    if hits and target.kind is TargetKind.CONNECTOR:
        # Another user reaching the database through the same connector and finding it failing
        # (refusing, down, at its connection limit) says the path may not be the bottleneck: more
        # connector capacity would only bring the database more connections. A person chooses.
        failing = [r for r in results if r.diagnosis.signature is Signature.DATABASE_UNREACHABLE]
        torn += [r for r in (hits + failing if failing else []) if r not in torn]
    if torn:
        competing = tuple(dict.fromkeys(c for r in torn for c in (r.diagnosis.competing or (r.diagnosis.signature.value,))))
        return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET, competing=competing,
                         summary=f"{lead}; on {', '.join(short_name(r.service) for r in torn)} causes compete: "
                                 + " | ".join(r.diagnosis.summary for r in torn),
                         evidence=per_service + tuple(e for r in torn for e in r.diagnosis.evidence),
                         recommendation="a person must choose: " + " / ".join(r.diagnosis.recommendation for r in torn),
                         api_calls=lookup_calls + _calls(results)), None
    if hits:
        best = max(hits, key=lambda r: r.diagnosis.confidence)
        held = _clean_peer_held(target, best, [r for r in results if r not in hits], settings, lead,
                                per_service, lookup_calls + _calls(results))
        if held is not None:
            return held, None
        d = best.diagnosis
        others = [r for r in hits if r is not best]
        also = f"; also seen from {', '.join(short_name(r.service) for r in others)}" if others else ""
        stand_down = "; ".join(r.diagnosis.stand_down for r in hits if r.diagnosis.stand_down)
        return d.model_copy(update={
            "summary": f"{lead}: {d.summary} (seen from {short_name(best.service)}{also})",
            "evidence": per_service + d.evidence, "stand_down": stand_down,
            "api_calls": lookup_calls + _calls(results)}), best
    healthy = all(r.diagnosis.signature is Signature.HEALTHY for r in results)
    verdicts = "; ".join(f"{short_name(r.service)}: {r.diagnosis.signature.value} ({r.diagnosis.summary})"
                         for r in results)
    if healthy:
        return Diagnosis(signature=Signature.HEALTHY, confidence=min(r.diagnosis.confidence for r in results),
                         rule=f"{RULE_SET}: healthy", summary=f"{lead}: every one is healthy on live data",
                         evidence=per_service, api_calls=lookup_calls + _calls(results)), None
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                     summary=f"{lead}; none shows {telling.value} on it: {verdicts}",
                     evidence=per_service + tuple(e for r in results for e in r.diagnosis.evidence),
                     recommendation=f"look at {_what(target)} {short_name(target.name)} itself, and at each service's "
                                    "verdict above", api_calls=lookup_calls + _calls(results)), None


def _clean_peer_held(target: AlertTarget, best: ServiceResult, others: list[ServiceResult],
                     settings: DiagnosisSettings | None, lead: str, per_service: tuple[EvidenceItem, ...],
                     api_calls: int) -> Diagnosis | None:
    """The connector's saturation, seen from `best`, held back when another user behind it served cleanly in the
    minutes `best` failed (connector_peers.clean_peer: busy, few 5xx, no hang): escalated naming both, the
    connector competing (a person decides). None when no other user did (idle, failing too, or none read)."""
    if settings is None or target.kind is not TargetKind.CONNECTOR or best.bundle is None:
        return None
    peers = [(r.service, r.bundle) for r in others if r.bundle is not None]
    found = clean_peer(target.name, best.bundle, peers, settings)
    if found is None:
        return None
    return _held_for_peer(target.name, best, found, settings, lead, per_service, api_calls)


def _held_for_peer(connector: str, best: ServiceResult, found: tuple[CleanPeer, Window], settings: DiagnosisSettings,
                   lead: str, context: tuple[EvidenceItem, ...], api_calls: int) -> Diagnosis:
    """`best`'s connector saturation escalated (the connector competing) because the clean peer in `found` served
    through `connector` in the minutes `best` failed: both named, with the peer's figures and the bars it met."""
    peer, window = found
    d = best.diagnosis
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET, competing=(d.signature.value,),
                     summary=f"{lead}; {short_name(best.service)} shows {d.signature.value} ({d.summary}), but "
                             + peer_words(connector, best.service, peer),
                     evidence=context + (peer_evidence(connector, best.service, peer, window, settings),)
                     + d.evidence,
                     recommendation=f"{PEER_CLEAN}; if the connector is the cause: {d.recommendation}"
                     if d.recommendation else PEER_CLEAN, api_calls=api_calls)


def held_for_clean_peer(diagnosis: Diagnosis) -> bool:
    """Whether `diagnosis` is a connector saturation held back for a clean peer (`_held_for_peer`), not for a peer
    not read (`_peers_unread`): the one that leads its recommendation with connector_peers.PEER_CLEAN."""
    return diagnosis.signature is Signature.INCONCLUSIVE and diagnosis.recommendation.startswith(PEER_CLEAN)


# --- a service's own alert blaming the connector it shares ------------------------------------------


def saturated_connector(result: ServiceResult) -> str:
    """The connector a service alert's diagnosis blames, when it is the one the service's serving revisions route
    through as read (the one a scale would write to: planning scales `bundle.connector`); "" otherwise."""
    connector = result.bundle.connector
    d = result.diagnosis
    if d.signature is not Signature.CONNECTOR_SATURATION or connector is None or d.subject != connector.name:
        return ""
    return connector.name


def service_peers_held(result: ServiceResult, config: Config, readers: Readers, now: datetime, *, again: str,
                       fits: Callable[[float], bool] | None = None, last_delivery: bool = False) -> Diagnosis:
    """A service alert's connector saturation, held back as a connector alert's is (`_clean_peer_held`) when another
    managed user of the same connector served cleanly in the minutes this service failed; or when whether one did
    is not known because a peer's read never answered. Otherwise the diagnosis as it was (its calls counting the
    peers' reads): it blames no shared connector, no other managed service is behind it, or every one behind it is
    idle, failing too or hanging.

    One connector serves several services ("You can then configure your serverless services to use the connector for
    outbound network traffic", cloud.google.com/vpc/docs/serverless-vpc-access, "How it works"; a connector even lists
    the projects using it, Connector.connectedProjects, "List of projects using the connector", the vpcaccess v1 REST
    reference), and its throughput is its instances', whoever sends through it ("Throughput and scaling", the same
    page; that one connector's instances are shared by every service's flows, not split per service, is read from
    that page's per-connector figures: UNCONFIRMED in so many words). A saturated connector slows every user alike,
    so a busy user served cleanly in the same minutes says the slowness is likelier the failing service's own (its
    database, its pool, its own egress); were the connector to favour some flows, the scale is still only held back
    for a person to decide, never undone. Before, a service alert scaled the connector on its own service's evidence
    alone, however its neighbours fared.

    The read, made only for a diagnosis that blames the shared connector: users_of over the other managed services
    (GetService and ListRevisions each, the connector path's lookup), then, for each found behind the connector,
    its request metrics from the incident's start (collect with its service as read: no second GetService, no logs,
    no connector read). A lookup that met a transient fault is made again (users_of's `retry`, at most READS_AGAIN
    times, while the alert's time allows). A transient fault past that, or on a peer's metrics (UNAVAILABLE,
    DEADLINE_EXCEEDED past the call's own retries), is raised before anything is written, so that Pub/Sub delivers
    the alert again, as for the alerting service's own reads (collect); on the alert's `last_delivery` (delivery.
    max_attempts), with no redelivery to come, the peer is named as never answered and the scale held back: unread
    is not "idle". A permanent refusal (PERMISSION_DENIED) holds it back at once, named: a redelivery reads the same.

    `fits(seconds)`: whether a read that may take that long still ends within the alert's time (the pipeline's
    StepTime, ending where the write, its operation wait, the read-back and the outcome publish must begin);
    None (the diagnose and eval commands, a person waiting) is no bound. A lookup (PEER_LOOKUP_SECONDS) or a peer's
    metrics read (PEER_METRICS_SECONDS) that would not fit is not started: the peer is named as not read and the
    scale held back, as for one that never answered.

    The peers are read at once, on a pool of their own (PEERS_AT_ONCE threads): every lookup, then every metrics read,
    so that several peers cost about the round trips of one (GetService, ListRevisions, a round of metrics), not
    one peer's after another's. `fits` is asked as each read starts. `again`: what becomes of a read that never
    answered, in the caller's words (ALERT_AGAIN, COMMAND_AGAIN; "" for a command a person runs again), said in the
    fault raised for it."""
    connector = saturated_connector(result)
    others = [(m.name, m.cloudsql_instances) for m in config.services if m.name != result.service]
    fits = fits or (lambda _seconds: True)
    if not connector:
        return result.diagnosis
    if not others:    # no managed peer: a neighbour not in the config may still have deployed before the rise
        return neighbours_named(result.diagnosis, result, connector, [], config, readers, fits)
    found = users_of(readers, others, connector=connector, stop=lambda: not fits(PEER_LOOKUP_SECONDS),
                     retry=lambda: fits(PEER_LOOKUP_SECONDS), at_once=PEERS)
    if found.unanswered and not last_delivery:
        raise _not_answered(connector, found, again)
    peers, unread = _peer_bundles(found, result.bundle.incident_started_at, config, readers, now, fits, last_delivery)
    calls = result.diagnosis.api_calls + found.api_calls + sum(b.api_calls for _, b in peers)
    held = held_by_peers(result, connector, peers, unread, config.diagnosis, calls)
    # Not held: the diagnosis as it was, its calls counting the peers' reads (the budget counts every call made).
    judged = held or result.diagnosis.model_copy(update={"api_calls": calls})
    # Held or not, a neighbour's deploy that lines up with the connector's rise is named beside it, never acted on.
    return neighbours_named(judged, result, connector, peers, config, readers, fits)


def neighbours_named(diagnosis: Diagnosis, result: ServiceResult, connector: str,
                     peers: list[tuple[str, EvidenceBundle]], config: Config, readers: Readers,
                     fits: Callable[[float], bool]) -> Diagnosis:
    """`diagnosis` (a connector saturation seen from `result`, on a service's alert or the connector's own) with each
    neighbour's deploy that lines up with the connector's rise named beside it (neighbour_deploys.named_beside): the
    managed `peers` as read, and the services not in the config found behind it (`outside_in_time`), listed only
    when there is a rise to line them up with. Never acted on: only a person's words."""
    rise = rise_of(result.bundle, config.diagnosis)
    if rise is None:
        return diagnosis
    behind = list(dict.fromkeys([result.service, *(service for service, _ in peers)]))
    outside = outside_in_time(readers, connector, behind, [m.name for m in config.services], fits)
    return named_beside(diagnosis, result.bundle, connector, peers, config.diagnosis, outside, rise)


# The read of the services not in the config behind a connector, on an alert: only words come of it, so it holds the
# decision back by at most OUTSIDE_SECONDS, whatever Cloud Run does (a single call may run CallPolicy.longest_run,
# 30 s, with its retries). A healthy Cloud Run answers its calls in well under a second each: one ListServices page
# in each of at most OUTSIDE_PROJECTS projects, then at most MAX_LOOKED_UP services' GetService and ListRevisions,
# about a dozen calls, fit; a slow one is cut and said to be ("not looked: ..."), never waited for.
OUTSIDE_SECONDS = 8.0
OUTSIDE_PAGES = 1
OUTSIDE_PROJECTS = 2
# Its own pool, so that it never holds a thread the peers' reads (PEERS) wait for. Its one thread is free again by
# OUTSIDE_SECONDS: every call of the read, its RPCs' deadlines included, is bounded by it (endpoints.bounded), so
# nothing of one delivery's read is left running when the next delivery's begins.
OUTSIDE = Workers("outside-neighbours", 1)


def outside_in_time(readers: Readers, connector: str, behind: list[str], managed: list[str],
                    fits: Callable[[float], bool]) -> Outside:
    """`outside_neighbours`, waited for at most OUTSIDE_SECONDS: past it, nothing of it (every service not in the
    config said not looked at), and the decision goes ahead without it."""
    read = OUTSIDE.submit(_bounded_outside, readers, connector, behind, managed, fits)
    try:
        return read.result(timeout=OUTSIDE_SECONDS)
    except FutureTimeout:
        read.cancel()       # still queued behind a read left running: never started after the decision
        return Outside((), _took_longer(connector.split("/connectors/")[0]))


def _bounded_outside(readers: Readers, connector: str, behind: list[str], managed: list[str],
                     fits: Callable[[float], bool]) -> Outside:
    """`outside_neighbours` with every call it makes, and each RPC's own deadline, ended by OUTSIDE_SECONDS
    (endpoints.bounded): a call still running at the bound is cut there (a DEADLINE_EXCEEDED, said as not looked
    at), not left to run its policy's 30 s on the pool's one thread."""
    with bounded(OUTSIDE_SECONDS):
        return outside_neighbours(readers, connector, behind, managed, fits)


def _took_longer(what: str) -> str:
    return f"{what}: not looked: the list took longer than {OUTSIDE_SECONDS:.0f} s"


def outside_neighbours(readers: Readers, connector: str, behind: list[str], managed: list[str],
                       fits: Callable[[float], bool], clock: Callable[[], float] = time.monotonic) -> Outside:
    """The services not in the config that serve through `connector`, with their revisions: one ListServices page
    (OUTSIDE_PAGES of MAX_LISTED) in the connector's project and region and in each other project of the managed
    services `behind` it (connector_names.parents, at most OUTSIDE_PROJECTS: a Shared VPC host's connector serves
    its service projects' services), then for at most MAX_LOOKED_UP that may use it, the last changed first
    (connector_names.listed), GetService when the listed entry is not whole and ListRevisions
    (collection.read_listed), as the sweep reads its bystanders. ListServices needs run.services.list (Cloud Run
    IAM permissions reference; CloudRunReader.iam_permissions), granted to on_alert for this read. Each read is
    context for a person's words only: each call is started only within OUTSIDE_SECONDS of the first (`clock`,
    seconds) and while the alert's time allows (`fits`); a refusal, a fault or a cut never blocks nor changes the
    decision, and what was not looked at is said, the projects no list could show among it."""
    start = clock()

    def go() -> bool:
        return clock() - start < OUTSIDE_SECONDS and fits(PEER_LOOKUP_SECONDS)

    def cut(what: str) -> str:
        return _took_longer(what) if fits(PEER_LOOKUP_SECONDS) else f"{what}: the alert's time left no room"

    to_list, past = parents(connector, behind, OUTSIDE_PROJECTS)
    unread = [f"the services of {p}: at most {OUTSIDE_PROJECTS} projects are listed on an alert" for p in past]
    services: list[Service] = []
    calls = 0
    for parent in to_list:
        listing, said = _listed_in(readers, parent, go, cut)
        calls += listing.calls
        services += listing.services
        unread += said
    found = listed(services, managed, connector)
    unread += _past_the_read(found.not_read)
    neighbours: list[Neighbour] = []
    for i, entry in enumerate(found.to_read):
        if not go():
            unread.append(cut(_named(tuple(e.name for e in found.to_read[i:]))))
            break
        try:
            read = read_listed(readers.run, entry, connector)
        except (PermanentError, TransientError) as exc:
            calls += 1
            unread.append(f"{entry.name}: {exc}")
            continue
        calls += read.calls if read else 1
        if read is not None and read.using:
            neighbours.append(Neighbour(entry.name, read.service, read.revisions, managed=False))
    said = f"not read: {'; '.join(unread)}" if unread else ""
    return Outside(tuple(neighbours), said, calls)


def _past_the_read(names: tuple[str, ...]) -> list[str]:
    """The services that may use the connector past the MAX_LOOKED_UP read."""
    return [f"{_named(names)}: may use it, past the {MAX_LOOKED_UP} last changed read"] if names else []


def _named(names: tuple[str, ...], shown: int = 3) -> str:
    """A few services by their short names, the rest counted: words for a person, never hundreds of names."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(short_name(n) for n in names[:shown]) + more


def _listed_in(readers: Readers, parent: str, go: Callable[[], bool],
               cut: Callable[[str], str]) -> tuple[Listing, list[str]]:
    """One project's page of services (collection.list_pages), and what of it was not looked at."""
    try:
        listing = list_pages(readers.run, parent, OUTSIDE_PAGES, go)
    except TransientError as exc:
        return Listing(calls=1), [list_refused(parent, exc)]
    said = [cut(f"the services of {parent}")] if listing.cut else []
    said += [list_refused(parent, listing.refused)] if listing.refused is not None else []
    said += [f"the services of {parent} past the first {MAX_LISTED} listed"] if listing.more else []
    return listing, said


def connector_alert_neighbours(target: AlertTarget, diagnosis: Diagnosis, results: list[ServiceResult], config: Config,
                               readers: Readers, fits: Callable[[float], bool] | None = None) -> Diagnosis:
    """A connector alert's combined verdict (`combine`) with the neighbours' deploys that line up with the connector's
    rise named beside it, under the same bar and window as a service alert's (`neighbours_named`): when it scales
    the connector or holds the scale back for a clean peer, seen from the user it stands on (the saturated user of
    most confidence, as `combine` picks it), its neighbours being every user read (that one too: no alerting service
    owns the alert) and the services not in the config behind it. Never acted on: a neighbour is only named. Any
    other verdict: as it is."""
    if target.kind is not TargetKind.CONNECTOR or not (
            diagnosis.signature is Signature.CONNECTOR_SATURATION or held_for_clean_peer(diagnosis)):
        return diagnosis
    hits = [r for r in results if r.diagnosis.signature is Signature.CONNECTOR_SATURATION
            and _about(r.diagnosis, target)]
    if not hits:
        return diagnosis
    best = max(hits, key=lambda r: r.diagnosis.confidence)
    # Every user read is a neighbour here, the one whose evidence stands for the connector too: no alerting service
    # owns this alert, so that user's own deploy lining up with the rise is as likely the load's cause as another's.
    peers = [(r.service, r.bundle) for r in results if r.bundle is not None]
    return neighbours_named(diagnosis, best, target.name, peers, config, readers, fits or (lambda _seconds: True))


def held_by_peers(result: ServiceResult, connector: str, peers: list[tuple[str, EvidenceBundle]], unread: list[str],
                  settings: DiagnosisSettings, api_calls: int) -> Diagnosis | None:
    """`result`'s connector saturation judged with the other users behind `connector`: `peers` (service, its request
    metrics as read) and `unread` ("service: why", a user whose read never answered). Held (inconclusive, the
    connector competing) when a peer served cleanly in the minutes `result`'s service failed (connector_peers.
    clean_peer), else when one was not read; None when every one read is idle, failing too or hanging, or none is
    behind it: the connector judged as before."""
    named = [short_name(s) for s, _ in peers] + [short_name(why.split(": ", 1)[0]) for why in unread]
    if not named:
        return None
    lead = (f"connector {short_name(connector)} also serves {len(named)} other managed service(s) "
            f"({', '.join(named)})")
    clean = clean_peer(connector, result.bundle, peers, settings)
    if clean is not None:
        return _held_for_peer(connector, result, clean, settings, lead, (), api_calls)
    if unread:
        return _peers_unread(connector, result, unread, lead, api_calls)
    return None


# What becomes of a peer's read that never answered, in each caller's words (service_peers_held's `again`): an
# alert's and a command's Pub/Sub deliver them again; a command a person runs (diagnose, eval) says its own.
ALERT_AGAIN = "read again on the alert's next delivery"
COMMAND_AGAIN = "read again on the command's next delivery"


def _not_answered(connector: str, found: Users, again: str) -> TransientError:
    """The fault raised when a lookup of the connector's other users never answered, each named, with what becomes
    of it (`again`, the caller's words)."""
    said = [why for why in found.unreadable if why.split(": ", 1)[0] in found.unanswered]
    then = f", {again}" if again else ""
    return TransientError(f"connector {short_name(connector)}'s other managed users not all read{then}: "
                          f"{'; '.join(said)}")


def peers_not_read(found: Users) -> list[str]:
    """The managed services that may be behind the connector and were not told apart (Users.maybe), each named
    with why ("service: why"): its read never answered or was refused (PERMISSION_DENIED, ...: Users.unreadable,
    with the refusal), its serving revision names the connector by a project number that cannot be told from the
    connector's project (Users.by_number: a connector alert escalates on it, by_number_held), its lookup not
    started for the alert's time (Users.cut), or it is past MAX_FAN_OUT_SERVICES. Any of them may be the busy
    one that served cleanly: a scale is one-way, so each holds it back. A service gone (NOT_FOUND: Users.gone) is
    behind nothing and is not among them."""
    said = {why.split(": ", 1)[0]: why for why in found.unreadable}
    return [said.get(name) or f"{name}: {_why_maybe(found, name)}" for name in dict.fromkeys(found.maybe)]


def _why_maybe(found: Users, name: str) -> str:
    if name in found.by_number:
        return ("its serving revision names the connector by a project number that cannot be told from the "
                "connector's project (a revision may name its connector by project id or number)")
    if name in found.cut:
        return "not read: the alert's time left no room for its lookup (GetService, ListRevisions)"
    return f"not read: past the {MAX_FAN_OUT_SERVICES} managed services an alert looks up"


def _peer_bundles(found: Users, started_at: datetime, config: Config, readers: Readers, now: datetime,
                  fits: Callable[[float], bool], last_delivery: bool
                  ) -> tuple[list[tuple[str, EvidenceBundle]], list[str]]:
    """Each user in `found`, its request metrics read as its service was (Users.read), and what was not read: a
    service that may be behind the connector and was not told apart (peers_not_read), a user whose metrics read
    would not fit in the alert's time (`fits`), or whose request_count or request_latencies read was refused or
    answered in part (its bundle's gap), each named with why. A transient fault before the `last_delivery` is
    raised (collect's), for the alert to be delivered again; on it, a read that never answered is a gap, named."""
    unread = peers_not_read(found)
    metrics_only = Readers(run=readers.run, monitoring=readers.monitoring)

    def read(name: str) -> tuple[EvidenceBundle | None, str]:
        if not fits(PEER_METRICS_SECONDS):
            return None, f"{name}: its request metrics not read: the alert's time left no room for them"
        try:
            bundle = collect(name, started_at, metrics_only, config.diagnosis, now,
                             known=found.read[name], last_delivery=last_delivery)
        except PermanentError as exc:   # never expected (an optional read's refusal is a gap): named, never raised
            return None, f"{name}: its request metrics not read ({exc})"
        gaps = [gap for gap in bundle.gaps if gap.startswith(_PEER_READS)]
        return (None, f"{name}: {'; '.join(gaps)}") if gaps else (bundle, "")

    names = list(found.services)
    # Every peer's read ends before a transient fault is raised (Workers.map: the first in the peers' order).
    answers = PEERS.map(read, names)
    peers = []
    for name, (bundle, why) in zip(names, answers):
        if bundle is None:
            unread.append(why)
        else:
            peers.append((name, bundle))
    return peers, unread


# The connector's other users read at once (service_peers_held): their lookups, then their metrics reads, each on a
# thread of this pool; so are the lookups of every other caller of users_of (a connector or Cloud SQL alert's
# `users`, the sweep's Sweep._behind, an approve's _behind_now and _behind_weighed), and so is each user's diagnosis
# once a connector or Cloud SQL alert has found them (diagnose_users). However many services share one
# connector ("You can then configure your serverless services to use the connector", Serverless VPC Access, "How it
# works"), their reads then cost about one's round trips. Their own pool, not the evidence pool (collection._readers):
# a peer's metrics read is a collect() that waits on its reads in the evidence pool, and a waiting task there could
# hold the very threads its reads queue for. Nothing run on this pool asks it for more work (a lookup is two Cloud Run
# calls on its own thread; a metrics read's collect(), and a user's collect() and diagnose(), wait on the evidence pool
# alone), and no caller of users_of or diagnose_users
# runs on it: a task here that waited on this pool could hold the threads its own work queues for. Three at once: a
# peer's metrics round is at most five reads (request_count, request_latencies, instance_count, and a Cloud SQL
# instance's up and CPU), so three peers' rounds (15) fit the evidence pool
# (collection.MAX_CONCURRENT_READS) in one wave; a fourth peer waits for a thread, read as one of the first three
# ends, each read still started only while the alert's time allows (`fits`).
PEERS_AT_ONCE = 3
PEERS = Workers("connector-peers", PEERS_AT_ONCE)


# A user's diagnosis at its longest on the clock: collect()'s sequential rounds, each read at its longest run
# (CallPolicy.longest_run; tests/infra/test_settings.py collection_wall_seconds(alert=True) models the same
# figure). Its reads share the evidence pool (collection.MAX_CONCURRENT_READS) with at most PEERS_AT_ONCE - 1 other
# users' collections: with every read of all of them at its longest, a round may wait a wave more for a thread, so
# this is the bound of a user read alone, the one asked before each user starts (diagnose_users).
USER_DIAGNOSIS_SECONDS = SEQUENTIAL_ROUNDS * CallPolicy().longest_run
# A peer's lookup at its longest: GetService then ListRevisions, one after another, each one call with its retries
# (CallPolicy.longest_run; the sweep's sweep_budget.LOOKUP_SECONDS, tests/infra/test_settings.py holds them equal).
PEER_LOOKUP_SECONDS = 2 * CallPolicy().longest_run
# A peer's metrics at their longest: collect with its service known and Monitoring alone reads request_count,
# request_latencies and, for a revision mounting a Cloud SQL instance, sql_up and sql_cpu, all in one round at once
# (collection.MAX_CONCURRENT_READS holds them), and a promoted suspect's reads in a last round: two calls' runs.
PEER_METRICS_SECONDS = 2 * CallPolicy().longest_run

# The reads a peer is judged on (collection._run_metrics' names): without either, whether it served cleanly is unknown.
_PEER_READS = ("monitoring: run request_count", "monitoring: run request_latencies")


def _peers_unread(connector: str, result: ServiceResult, unread: list[str], lead: str, calls: int) -> Diagnosis:
    """The connector's saturation escalated because a user behind it could not be read: it may be the busy one that
    served cleanly, and a scale is one-way."""
    d = result.diagnosis
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET, competing=(d.signature.value,),
                     summary=f"{lead}; {short_name(result.service)} shows {d.signature.value} ({d.summary}), but "
                             f"{len(unread)} could not be read ({'; '.join(unread)}): whether one behind "
                             f"{short_name(connector)} served cleanly in the same minutes, the connector then not the "
                             "cause, is not known, so nothing is done on the connector",
                     evidence=d.evidence, api_calls=calls,
                     recommendation=f"read the other users of connector {short_name(connector)} by hand (their "
                                    "request_count and request_latencies over the failing minutes); if every busy one "
                                    f"fails too: {d.recommendation or 'the connector is the cause'}")


def _about(diagnosis: Diagnosis, target: AlertTarget) -> bool:
    if target.kind is TargetKind.CONNECTOR:
        return diagnosis.subject == target.name
    return True  # database_unreachable names the instance by database_id, or the service's database


def _verdict_item(target: AlertTarget, result: ServiceResult) -> EvidenceItem:
    d = result.diagnosis
    return EvidenceItem(source="api", query=f"diagnosis of {result.service}",
                        observed=f"{d.signature.value} (confidence {d.confidence:.2f}): {d.summary}",
                        threshold=f"a user of {short_name(target.name)}", role="context", about=_what(target))


def _what(target: AlertTarget) -> str:
    return "connector" if target.kind is TargetKind.CONNECTOR else "Cloud SQL instance"


def _calls(results: list[ServiceResult]) -> int:
    return sum(r.diagnosis.api_calls for r in results)


# --- the whole alert, read-only (the diagnose and eval commands) -----------------------------------


@dataclass(frozen=True)
class AlertVerdict:
    """What an alert leads to without acting: the diagnosis (None when none was made, with `skip`
    saying why) and the service whose bundle the plan is made from."""

    target: AlertTarget
    diagnosis: Diagnosis | None = None
    primary: ServiceResult | None = None
    results: tuple[ServiceResult, ...] = ()
    skip: str = ""

    @property
    def bundle(self) -> EvidenceBundle | None:
        return self.primary.bundle if self.primary else None


def diagnose_alert(incident: Incident, config: Config, readers: Readers, now: datetime) -> AlertVerdict:
    """The pipeline's routing and diagnosis, read-only: which services, what verdict."""
    target = incident.target
    if target.kind is TargetKind.UNROUTABLE:
        return AlertVerdict(target, skip=target.reason)
    if target.kind in (TargetKind.SERVICE, TargetKind.UPTIME):
        service = target.name if target.kind is TargetKind.SERVICE else service_for_host(target.name, config)
        if service is None or not config.manages(service):
            managed = [s.name for s in config.services]
            skip = ((unselected_unmanaged(incident, target.name, managed)
                     or not_managed(target.name, managed, incident.policy_name))
                    if target.kind is TargetKind.SERVICE else f"{target.name} is not a managed service (nor its host)")
            return AlertVerdict(target, skip=skip)
        result = diagnose_service(service, incident, config, readers, now)
        other = unserved_host(target.name, config, result.bundle.service) if target.kind is TargetKind.UPTIME else ""
        if other:
            return AlertVerdict(target, skip=other)
        # The pipeline reads the connector's other users for a plan that scales it; a diagnosis that blames
        # the shared connector is read the same way here (planning is the remediation's, not the diagnosis's).
        if saturated_connector(result):
            result = ServiceResult(result.service, result.bundle,
                                   service_peers_held(result, config, readers, now, again=""))
        return AlertVerdict(target, result.diagnosis, result, (result,))
    found = users(target, config, readers)
    results = list(diagnose_users(found, incident, config, readers, now).results)   # no bound: nothing is cut
    if not results and found.maybe:
        return AlertVerdict(target, skip=f"no managed service read uses {target.name}, but {len(found.maybe)} could "
                                         "not be read: one of them may be behind it (the pipeline escalates)")
    if not results:
        moved = moved_off_users(target, found, incident, config, readers, now)
        if moved is not None:
            return AlertVerdict(target, moved)
        return AlertVerdict(target, skip=f"no managed service's serving revision uses {target.name}")
    diagnosis, primary = combine(target, results, found.api_calls, found.caveat, config.diagnosis)
    diagnosis = connector_alert_neighbours(target, diagnosis, results, config, readers)
    if target.kind is TargetKind.CLOUDSQL or found.by_number:
        primary = None  # nothing is ever planned on Cloud SQL, nor with a user maybe behind (by_number_held)
    return AlertVerdict(target, diagnosis, primary, tuple(results))
