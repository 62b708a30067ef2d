"""Planning: a pure function from a diagnosis to the one action it calls for, or to none."""
from __future__ import annotations

import re

from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict

from shared.remediation.actions.rollback_traffic import (RollbackTraffic, RollbackTrafficParams, tags_to_keep,
                                                         traffic_state)
from shared.remediation.actions.scale_connector import (MAX_INSTANCES, ScaleConnector, ScaleConnectorParams,
                                                         connector_state, manual_sender, not_ready_answer,
                                                         policy_in_doubt)
from shared.alerts.label_filters import selected_revision
from shared.config import Bounds, ConnectorPolicy, DiagnosisSettings
from shared.diagnosis.connector_names import doubtful_policies
from shared.diagnosis.evidence import (AlertContext, Connector, EvidenceBundle, Revision, Service, TrafficType,
                                      describe_command, update_tags_flag, update_traffic_command)
from shared.diagnosis.facts import clock_on
from shared.diagnosis.notable import rule_words
from shared.diagnosis.rules.connector_saturation import BEYOND_THE_CEILING
from shared.diagnosis.rules.connector_signs import max_not_reached, max_not_reached_words
from shared.diagnosis.signatures import Diagnosis, Signature, TargetBackground
from shared.outcomes import DiagnosisReport
from shared.remediation.own_changes import OwnChange, own_changes
from shared.remediation.release_pipeline import canary_in_progress, release_pipeline, rollout_mover


class Plan(BaseModel):
    """Either an action with its parameters and the state it will change, or why there is none."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    action: str | None = None
    params: Any = None          # the action's typed params model
    before: dict[str, Any] = {}
    reason: str = ""            # why this action, or why no action
    # Runwarden's own changes of the target in the audit log read with the evidence, newest first:
    # the gate holds back if its state has no record of them (shared/remediation/own_changes.py).
    own_changes: tuple[OwnChange, ...] = ()
    # What a person should do, said on the outcome in place of the diagnosis's recommendation, where
    # planning turned a READY connector on the service's path down: the diagnosis does not read the
    # policy (its ceiling, its machine types), so its step may be one the policy refuses. Empty: the
    # diagnosis's recommendation stands.
    advice: str = ""
    # A rollback to a revision with a steady background of 5xx (Diagnosis.target_background): the gate keeps it
    # in the plan's intent and action record, and the sweep judges the rollback at it.
    target_background: TargetBackground | None = None

    @property
    def targets(self) -> list[str]:
        """Every resource the plan writes to: what the gate's blast-radius check counts."""
        return [self.params.target] if self.params is not None else []


def plan(diagnosis: Diagnosis, bundle: EvidenceBundle, settings: DiagnosisSettings,
         bounds: Bounds | None = None) -> Plan:
    """`bounds` supplies the connector policies; without it every connector gets the defaults."""
    chosen = _plan(diagnosis, bundle, settings, bounds)
    if chosen.action != ScaleConnector.name or bundle.connector_audit is None:
        # A rollback needs no such guard, and could not have it: the live traffic is its record
        # (the bad revision no longer serves, so nothing is planned again), and an operator's
        # restore_traffic, run under Runwarden's own identity, changes the service without
        # taking a cooldown, so an own change with no cooldown is no sign of lost state there.
        # Every change Runwarden makes to a connector takes the connector's cooldown.
        return chosen
    found = own_changes(bundle.connector_audit.entries, chosen.params.target, settings.self_principals)
    return chosen.model_copy(update={"own_changes": found}) if found else chosen


def report_of(diagnosis: Diagnosis) -> DiagnosisReport:
    """The diagnosis as an outcome carries it (before planning's advice: `advised`)."""
    return DiagnosisReport(signature=diagnosis.signature.value, confidence=diagnosis.confidence,
                           rule=diagnosis.rule, summary=diagnosis.summary, evidence=list(diagnosis.evidence),
                           competing=list(diagnosis.competing), stand_down=diagnosis.stand_down,
                           recommendation=diagnosis.recommendation, api_calls=diagnosis.api_calls)


def advised(report: DiagnosisReport, proposal: Plan) -> DiagnosisReport:
    """The diagnosis as an outcome carries it: planning's advice, where it has one, as its recommendation."""
    return report.model_copy(update={"recommendation": proposal.advice}) if proposal.advice else report


def _plan(diagnosis: Diagnosis, bundle: EvidenceBundle, settings: DiagnosisSettings, bounds: Bounds | None) -> Plan:
    refusal = _why_not(diagnosis, settings) or _named_revision_elsewhere(diagnosis, bundle)
    if refusal:
        return Plan(reason=refusal)
    if diagnosis.signature is Signature.BAD_REVISION:
        return _rollback(diagnosis, bundle, settings.self_principals)
    if diagnosis.signature is Signature.CONNECTOR_SATURATION:
        return _scale_connector(diagnosis, bundle, bounds or Bounds())
    return Plan(reason=f"no automatic action for {diagnosis.signature.value}: {diagnosis.summary}; "
                       f"recommended: {diagnosis.recommendation}")


def _why_not(diagnosis: Diagnosis, settings: DiagnosisSettings) -> str:
    if diagnosis.signature is Signature.HEALTHY:
        return f"healthy: {diagnosis.summary}"
    if diagnosis.competing:
        return f"causes compete ({', '.join(diagnosis.competing)}): a person must choose"
    if diagnosis.signature is Signature.INCONCLUSIVE:
        # What was seen is in the summary; where a person should look next is the recommendation.
        return f"inconclusive: {diagnosis.summary}" + (f" Next: {diagnosis.recommendation}."
                                                       if diagnosis.recommendation else "")
    if diagnosis.stand_down:
        return f"automation stands down: {diagnosis.stand_down}"
    if diagnosis.confidence < settings.act_min_confidence:
        return (f"{diagnosis.signature.value} at confidence {diagnosis.confidence:.2f}, below "
                f"act_min_confidence {settings.act_min_confidence:.2f}: {diagnosis.summary}")
    return ""


def _named_revision_elsewhere(diagnosis: Diagnosis, bundle: EvidenceBundle) -> str:
    """Why the alert's own revision rules the planned action out, or "". A `cloud_run_revision` notification
    that keeps `revision_name` (a policy grouped by it, as Runwarden's own are: infra/alerts.tf) says its
    condition held on that revision's own series (Cloud Monitoring's monitored resource list:
    cloud_run_revision's labels; Aggregation.group_by_fields, "Fields not specified in groupByFields are
    aggregated away", google/monitoring/v3/common.proto). A rollback is about the revision it takes traffic
    from: planned for another one (the alert's revision clean in the evidence, or no longer serving), it
    sent all traffic to the revision the alert named as failing, or acted under an incident whose condition
    it cannot clear. A connector scale is judged on the requests that serve now: the alert's revision must be
    among them. Either way the alert's bar is not the evidence's, so a person decides."""
    named = bundle.alert.revision if bundle.alert is not None else ""
    if not named or diagnosis.signature not in (Signature.BAD_REVISION, Signature.CONNECTOR_SATURATION):
        return ""
    serving = bundle.service.serving_percent(named)
    where = f"serving {serving}% now" if serving else "which no longer serves (0% in the traffic statuses)"
    alert = f"the alert names revision {named} ({_named_where(bundle.alert)}), {where}: {_named_says(bundle.alert)}"
    if diagnosis.signature is Signature.BAD_REVISION:
        if named == diagnosis.suspect_revision:
            return ""
        if named == diagnosis.known_good_revision:
            return (f"bad_revision blames {diagnosis.suspect_revision}, but {alert}, and the rollback would send all "
                    f"traffic to {named}; not rolling back toward the revision the alert names: a person must look")
        return (f"bad_revision blames {diagnosis.suspect_revision}, but {alert}, not on "
                f"{diagnosis.suspect_revision}'s: a rollback would not be about the alert's failure, nor judged at its "
                "bar; a person must look")
    if serving:
        return ""
    return (f"connector_saturation on {diagnosis.subject or 'the connector'}, but {alert}: scaling the connector "
            "would be judged on the requests that serve now, not the alert's; a person must look")


def _named_where(alert: AlertContext) -> str:
    """Where the alert names its revision: its resource's label, or else its condition's filter (a condition on one
    revision, `resource.labels.revision_name = "..."`, whose notification, grouped by service, keeps no such label;
    before, such an alert on the rollback target was rolled back to)."""
    if alert.revision_where:
        return alert.revision_where
    if alert.revision == selected_revision(alert.condition_filter):
        return f"its condition's filter, resource.labels.revision_name = {alert.revision!r}"
    return "resource.labels.revision_name"


def _named_says(alert: AlertContext) -> str:
    """What naming a revision says of it. A threshold's series kept per revision held on that revision's requests. A
    log match has no series: its notification's resource is the matched log entry's own (the stored log-match sample,
    ../shared/reference/samples/monitoring_webhook_logmatch_open_k8s__hughbrien.json, names one pod's labels), so
    it says an entry that revision wrote matched the condition, nothing of a share of its requests. Before, a log
    match was said to have held on that revision's own requests."""
    if alert.condition_kind == "log_match":
        return ("a log entry of that revision matched its condition (a log match has no series per revision: the "
                "revision is the matched entry's own label)")
    return "its condition held on that revision's own requests"


def _rollback(diagnosis: Diagnosis, bundle: EvidenceBundle, ours: Sequence[str] = ()) -> Plan:
    if diagnosis.known_good_revision is None:
        return Plan(reason=f"bad_revision {diagnosis.suspect_revision} has no rollback target: "
                           f"{diagnosis.no_target_reason or 'no earlier revision served cleanly'}; recommended: "
                           f"{diagnosis.recommendation}")
    suspect = next(r for r in bundle.revisions if r.short_name == diagnosis.suspect_revision)
    in_flight = _deploy_in_flight(bundle, suspect)
    if in_flight:
        return Plan(reason=f"bad_revision {suspect.short_name} has a rollback target, {diagnosis.known_good_revision}, "
                           f"but {in_flight}; a person must decide",
                    advice=f"let the deploy finish and judge it, or send traffic back to "
                           f"{diagnosis.known_good_revision} by hand once it has")
    pipeline = release_pipeline(bundle.service.labels)
    share = bundle.service.serving_percent(suspect.short_name)
    if pipeline is not None and canary_in_progress(pipeline, share):
        return Plan(reason=f"bad_revision {suspect.short_name} has a rollback target, {diagnosis.known_good_revision}, "
                           f"but {suspect.short_name} serves {share}% of a service {pipeline.words()} releases: a "
                           "canary under way, whose next phase would rewrite a rollback's pin, or be fought by it; "
                           "a person must decide through the pipeline",
                    advice=f"roll the release back through the pipeline, which also stops its rollout: "
                           f"{pipeline.rollback_command()}")
    beside, unresolved = _shares_beside(bundle.service, suspect.short_name, diagnosis.known_good_revision)
    if beside or unresolved:
        return _split_kept_for_a_person(bundle, suspect.short_name, diagnosis.known_good_revision, beside, unresolved)
    # A tagged URL (e.g. canary) stays reachable at 0%; a tag on a revision that cannot serve is left out, named.
    keep_tags, tags_left_out = tags_to_keep(bundle.service, bundle.revisions)
    params = RollbackTrafficParams(
        target=bundle.service.name,
        to_revision=diagnosis.known_good_revision,
        from_revision=suspect.short_name,
        from_revision_created_at=suspect.create_time,
        from_revision_promoted_at=diagnosis.suspect_promoted_at,
        steps_back=diagnosis.steps_back,
        expected_etag=bundle.service.etag,
        keep_tags=keep_tags,
        tags_left_out=tags_left_out,
        pipeline=pipeline,
        rollout=rollout_mover(bundle.service, suspect, ours),
    )
    return Plan(
        action=RollbackTraffic.name,
        params=params,
        before=traffic_state(bundle.service),
        reason=f"send 100% of traffic from {suspect.short_name} back to {diagnosis.known_good_revision}",
        target_background=_background_of(diagnosis),
    )


def _background_of(diagnosis: Diagnosis) -> TargetBackground | None:
    """The target's steady background, when it is the rollback target's (Diagnosis.target_background)."""
    background = diagnosis.target_background
    return background if background is not None and background.revision == diagnosis.known_good_revision else None


# A revision's Ready condition in one of these states is settled: "Terminal state: Reconciliation completed
# successfully" / "did not succeed" (Condition.State, google/cloud/run/v2/condition.proto, google-cloud-run
# 0.16.2's docstrings). CONDITION_PENDING ("Transient state: Reconciliation has not started yet") and
# CONDITION_RECONCILING ("Transient state: reconciliation is still in progress"), or no Ready condition
# yet, are a revision still being brought up.
_SETTLED = ("CONDITION_SUCCEEDED", "CONDITION_FAILED")


def _deploy_in_flight(bundle: EvidenceBundle, suspect: Revision) -> str:
    """Why a deploy is under way, in words, or "": a revision newer than the failing one whose Ready condition
    has not settled (Revision.conditions, "containing its readiness status", google/cloud/run/v2/revision.proto;
    `_SETTLED`). Someone is deploying now, likely the fix: the rollback pins traffic to the
    known-good revision (`traffic` by name), and a new revision gets no traffic while a split is pinned
    ("all subsequent deployments use that traffic split pattern", Cloud Run docs, rollouts-rollbacks-traffic-
    migration): the deploy would land on a pin nobody in it asked for. The audit log tells the same deploy
    (diagnose._human_changes stands down for a deploy after the incident began), but only once its entry is
    read: it may lag the revision, or not have been read at all. The revisions list is read with the
    evidence, so this needs no other read."""
    newer = [r for r in bundle.revisions if r.create_time > suspect.create_time]
    for revision in sorted(newer, key=lambda r: r.create_time, reverse=True):
        ready = revision.ready_condition
        if ready is None or ready.state not in _SETTLED:
            state = f"Ready={ready.state}" if ready is not None else "no Ready condition yet"
            return (f"a deploy is under way: {revision.short_name}, created {clock_on(revision.create_time, bundle.collected_at)} after "
                    f"{suspect.short_name}, is not Ready yet ({state}); a rollback now would pin traffic under it, "
                    "and a new revision gets no traffic while a split is pinned")
    return ""


# The key a LATEST share is kept under in a proposed split: gcloud takes the string "LATEST" in --to-revisions for
# "the current or future LATEST revision" (gcloud reference, https://cloud.google.com/sdk/gcloud/reference/run/
# services/update-traffic: "You can also refer to the current or future LATEST revision in --to-revisions by the
# string \"LATEST\"").
LATEST_KEY = "LATEST"


def _shares_beside(service: Service, suspect: str, good: str) -> tuple[dict[str, int], int]:
    """(the shares of the split held by revisions other than the failing one and the known-good one, a LATEST
    share whose revision was not read). What serves (traffic_statuses) counts by the revision it reaches: a LATEST
    status by the revision it names, else the latest ready revision (Service.reaches). A LATEST share reaching the
    failing revision is the failing share (moved with it; Cloud Run sends LATEST's share to the latest ready
    revision, failing or not); one reaching the known-good revision is its share; one reaching another is kept as LATEST
    (`LATEST_KEY`), so the split still follows the latest ready revision. What is desired by name (`traffic`,
    a REVISION target: a share set and not yet served) counts too. A rollback writes one target at 100% and
    keeps only tags at 0% (rollback_traffic.desired_traffic): each of these would lose its share."""
    found: dict[str, int] = {}
    unresolved = 0
    for t in service.traffic_statuses:
        if not t.percent:
            continue
        reaches = service.reaches(t)
        if reaches is None:
            unresolved += t.percent
        elif reaches not in (suspect, good):
            key = LATEST_KEY if t.type is TrafficType.LATEST else reaches
            found[key] = found.get(key, 0) + t.percent
    for t in service.traffic:
        if t.percent and t.type is TrafficType.REVISION and t.revision and t.revision not in (suspect, good, *found):
            found[t.revision] = t.percent
    return found, unresolved


def _split_kept_for_a_person(bundle: EvidenceBundle, suspect: str, good: str, beside: dict[str, int],
                             unresolved: int) -> Plan:
    """No rollback: the split gives shares to revisions that are neither failing nor the known-good one
    (an operator's standing split, kept on purpose, or a rollout's older step). The rollback's write
    replaces the whole split (Service.traffic, google/cloud/run/v2/service.proto: "how to distribute
    traffic over a collection of Revisions"; the update sends the service's `traffic` field as a whole)
    with the known-good revision at 100%: their shares would go to it too, a change nobody decided, to
    shares the diagnosis never blamed. A person moves the failing share by hand, keeping the others: the
    command is said (`gcloud run services update-traffic --to-revisions REVISION=PERCENT,...`, the form
    docs/api-contracts.md cites from Cloud Run's rollouts page), a LATEST share kept as `LATEST=PERCENT` and every
    tag the rollback would keep named (evidence.update_tags_flag). Only a LATEST share whose revision was not read (no name in
    its status, no latest ready revision) leaves the split in words: it may be the failing share."""
    service = bundle.service
    shares = ", ".join(f"{name} {percent}%" + (f" (now {service.latest_ready_revision})" if name == LATEST_KEY else "")
                       for name, percent in beside.items())
    if unresolved:
        return Plan(reason=(f"bad_revision {suspect} has a rollback target, {good}, but the split gives LATEST "
                            f"{unresolved}% whose revision was not read (its traffic status names none, and no latest "
                            "ready revision was read): it may be the failing share or another; a rollback writes "
                            f"{good} at 100% (tags kept at 0%); a person must decide"),
                    advice=(f"see which revision LATEST serves ({describe_command(service.name)}), then move "
                            f"{suspect}'s share to {good} by hand, keeping every other share"))
    kept = {good: max(0, 100 - sum(beside.values())), **beside}
    split = ",".join(f"{name}={percent}" for name, percent in kept.items())
    keep_tags, _ = tags_to_keep(service, bundle.revisions)
    gcloud = update_traffic_command(service.name, f"--to-revisions {split}{update_tags_flag(keep_tags)}")
    reason = (f"bad_revision {suspect} has a rollback target, {good}, but the split also gives {shares} to "
              f"{'a revision' if len(beside) == 1 else 'revisions'} neither failing nor known good: a rollback "
              f"writes {good} at 100% (tags kept at 0%) and would take {'that share' if len(beside) == 1 else 'those shares'} "
              "away; a person must decide")
    advice = f"move {suspect}'s share to {good} by hand, keeping {shares}: {gcloud}"
    return Plan(reason=reason, advice=advice)


# Shared-core machine types, whose CPU a high packet rate exhausts before their bandwidth (Cloud Run's VPC connector documentation).
_SHARED_CORE = ("e2-micro", "f1-micro")
_BIG_MACHINE = "e2-standard-4"


def _scale_connector(diagnosis: Diagnosis, bundle: EvidenceBundle, bounds: Bounds) -> Plan:
    """The smallest scale-up that addresses the stress the diagnosis found, in this order:

    1. CPU-bound on a shared-core machine (e2-micro, f1-micro) and the policy allows e2-standard-4:
       move to e2-standard-4, min and max unchanged. More shared-core instances would each run
       out of CPU credits the same way; a bigger machine removes the cause.
    2. Otherwise, if its instances peaked below the max it has in the incident window
       (connector/instances, as connector_saturation cites it): no action (`_max_not_reached`);
       a higher max changes nothing when the one it has was never reached.
       Otherwise, below the policy's ceiling: raise max_instances by the policy's step, capped at
       the ceiling; min unchanged (the API wants both, so both are sent).
    3. Otherwise, at the ceiling with throughput near its limit on a shared-core machine and the
       policy allows e2-standard-4: move to it. More instances are not to be had, and each
       e2-standard-4 instance carries 16 times an e2-micro's bandwidth (the docs' throughput table:
       e2-micro 200-1000 Mbps, e2-standard-4 3200-16000 Mbps over 2-10 instances).
    4. Otherwise (at the ceiling, no machine-type move possible): no action. What is left (a
       bigger machine the policy does not allow, splitting traffic across connectors) is a
       person's decision.

    The connector is the one the diagnosis names, as read with the evidence; planning never
    acts on a connector it has not read.
    """
    connector = bundle.connector
    name = diagnosis.subject
    if not name:
        return Plan(reason="connector_saturation names no connector: nothing to scale")
    if connector is None or connector.name != name:
        read = connector.name if connector else "none"
        return Plan(reason=f"connector {name} was not read with the evidence (read: {read}): not scaling it blind")
    path = _egress_path(bundle)
    if path != name and not _still_routed(bundle, name):
        # Direct VPC egress (network interfaces) or another connector on every serving revision:
        # scaling this one changes nothing. A split whose older revision still routes through it (the
        # one connector_saturation judged for carrying the failing traffic) keeps it on the path.
        return Plan(reason=f"the service's serving revision does not route through {connector.short_name} "
                           f"({path}): no connector action")
    doubt = doubtful_policies(name, (c.name for c in bounds.connectors))
    if doubt:
        return _refused(policy_in_doubt(name, doubt))
    policy = bounds.connector(name)
    if connector.state != "READY":
        # A later notification of the incident is diagnosed afresh (this answer wrote nothing and holds no
        # claim): once READY it plans again. Cloud Monitoring sends one only at the policy's renotifyInterval
        # (AlertPolicy.AlertStrategy.NotificationChannelStrategy, Cloud Monitoring v3 reference), which
        # infra/ leaves unset, and whether it applies to a Pub/Sub channel is UNCONFIRMED: so the answer
        # says both ways, and never that one will come.
        return Plan(reason=not_ready_answer(connector.short_name, connector.state, name, "no scale planned", (
            "if it is still saturated then, a notification of this incident that arrives once it is READY "
            "plans the scale again (Cloud Monitoring repeats one only at its policy's renotifyInterval, if "
            "set); without one, scale it with a scale_connector command"
            + manual_sender(policy.allow_one_way, name))))
    cpu_bound = _cpu_bound(diagnosis)
    if cpu_bound and connector.machine_type in _SHARED_CORE and _BIG_MACHINE in policy.allowed_machine_types:
        return _scale_plan(connector, f"CPU-bound {connector.machine_type}", machine_type=_BIG_MACHINE,
                           how=f"move from {connector.machine_type} to {_BIG_MACHINE}, "
                               f"keeping {connector.min_instances}-{connector.max_instances} instances")
    peak = max_not_reached(diagnosis.evidence, connector.max_instances)
    if peak is not None:
        return _max_not_reached(connector, policy, peak, cpu_bound)
    if connector.max_instances < policy.max_instances_ceiling:
        new_max = min(connector.max_instances + policy.max_instances_step, policy.max_instances_ceiling)
        raised = _scale_plan(connector, _stress_reason(diagnosis, connector, cpu_bound), max_instances=new_max,
                             how=f"raise max instances from {connector.max_instances} to {new_max} "
                                 f"(policy step {policy.max_instances_step}, ceiling {policy.max_instances_ceiling})")
        # The diagnosis recommends the move for a CPU-bound shared-core machine (connector_saturation
        # `_next_step`), without reading the policy: the step taken is another one.
        moved_instead = cpu_bound and connector.machine_type in _SHARED_CORE
        return _instead(raised, f"not moved to {_BIG_MACHINE} (the remedy for a CPU-bound "
                                f"shared-core machine): {_machine_refusal(policy)}" if moved_instead else "")
    if (_throughput_bound(diagnosis) and connector.machine_type in _SHARED_CORE
            and _BIG_MACHINE in policy.allowed_machine_types and connector.max_instances >= policy.max_instances_ceiling):
        moved = _scale_plan(connector, f"throughput-bound {connector.machine_type} at its max instances",
                            machine_type=_BIG_MACHINE,
                            how=f"move from {connector.machine_type} to {_BIG_MACHINE} (no more instances within the "
                                f"policy's ceiling of {policy.max_instances_ceiling}), keeping "
                                f"{connector.min_instances}-{connector.max_instances} instances")
        # Below the API's 10 instances the diagnosis recommends a higher max (`_next_step`): the policy's
        # ceiling rules it out.
        return _instead(moved, f"max instances not raised above {connector.max_instances}: "
                               f"{_ceiling_refusal(connector, policy)}"
                        if connector.max_instances < MAX_INSTANCES[1] else "")
    # A ceiling below what the connector already has (set by hand, or a config written for a
    # smaller connector) is said as it is, never as "at the ceiling": the policy itself is wrong.
    where = (f"at the policy's ceiling of {policy.max_instances_ceiling} max instances"
             if connector.max_instances <= policy.max_instances_ceiling else
             f"at {connector.max_instances} max instances, above its policy's ceiling of "
             f"{policy.max_instances_ceiling} (bounds.connectors max_instances_ceiling: raise it to at least "
             f"{connector.max_instances} for automation to scale it)")
    return _refused(f"connector {connector.short_name} ({connector.machine_type}) is saturated {where}"
                    f"{_no_machine_move(connector, policy, cpu_bound)}: a person must decide: "
                    f"{_what_a_person_can_do(connector, policy)}")


def _max_not_reached(connector: Connector, policy: ConnectorPolicy, peak: int, cpu_bound: bool) -> Plan:
    """No plan: the connector ran at most `peak` instances in the incident window, below the max it
    already has (connector/instances, the check connector_saturation cites), so the max is not what
    held it back and a higher one changes nothing: the stress is on the instances it runs (a hot CPU on
    an e2-standard-4, or on a shared-core machine the policy keeps). Why its autoscaling added no
    instance (it scales "as traffic increases", cloud.google.com/vpc/docs/serverless-vpc-access,
    Scaling; what else it reads is UNCONFIRMED) is a person's question."""
    options = ([f"move it to {_BIG_MACHINE}"] if connector.machine_type in _SHARED_CORE else []) + [BEYOND_THE_CEILING]
    return _refused(f"connector {connector.short_name} ({connector.machine_type}) is saturated, but "
                    f"{max_not_reached_words(peak, connector.max_instances)}"
                    f"{_no_machine_move(connector, policy, cpu_bound)}: a person must decide: " + "; or ".join(options))


def _instead(chosen: Plan, why_not: str) -> Plan:
    """`chosen`, a step other than the one the diagnosis recommends where `why_not` says why that one was not
    taken (the policy rules it out): both are the outcome's recommendation (`Plan.advice`), never the step
    refused beside the action taken. `why_not` empty: the diagnosis's recommendation is the step taken."""
    return chosen.model_copy(update={"advice": f"{chosen.reason}; {why_not}"}) if why_not else chosen


def _machine_refusal(policy: ConnectorPolicy) -> str:
    """Why the policy rules out the move to the big machine type, in the words every answer uses."""
    return (f"its policy does not allow {_BIG_MACHINE}: it allows only "
            f"{', '.join(policy.allowed_machine_types)} (bounds.connectors allowed_machine_types)")


def _ceiling_refusal(connector: Connector, policy: ConnectorPolicy) -> str:
    """Why the policy rules out a higher max: its ceiling reached, or below the max set by hand."""
    where = "at" if connector.max_instances == policy.max_instances_ceiling else "above"
    return (f"{connector.short_name} is {where} the policy's ceiling of {policy.max_instances_ceiling} "
            "(bounds.connectors max_instances_ceiling)")


def _refused(reason: str) -> Plan:
    """No scale of a READY connector on the service's path, for the policy or the instances' peak: the
    refusal is also what the outcome recommends. The diagnosis's own step, read without the policy, may
    be one the policy refuses ("raise max instances above 6 (ceiling 10)" under a ceiling of 6, a move to
    e2-standard-4 the policy does not allow): a person would read a step and its refusal side by side."""
    return Plan(reason=reason, advice=reason)


def _still_routed(bundle: EvidenceBundle, connector: str) -> bool:
    """Whether a serving revision (a share in traffic_statuses) routes through `connector`."""
    return any(r.vpc_connector == connector for r in bundle.revisions
               if bundle.service.serving_percent(r.short_name) > 0)


def _egress_path(bundle: EvidenceBundle) -> str:
    """The newest serving revision's way into the VPC: its connector's name, or a description."""
    serving = [r for r in bundle.revisions if bundle.service.serving_percent(r.short_name) > 0]
    newest = max(serving, key=lambda r: r.create_time, default=None)
    if newest is None:
        return "no serving revision"
    if newest.vpc_connector:
        return newest.vpc_connector
    if newest.vpc_network_interfaces:
        return f"Direct VPC egress through {', '.join(newest.vpc_network_interfaces)}"
    return "no VPC access"


def _scale_plan(connector: Connector, stress: str, *, how: str, machine_type: str | None = None,
                max_instances: int | None = None) -> Plan:
    params = ScaleConnectorParams(
        target=connector.name,
        from_min_instances=connector.min_instances, from_max_instances=connector.max_instances,
        from_machine_type=connector.machine_type,
        min_instances=connector.min_instances,
        max_instances=max_instances if max_instances is not None else connector.max_instances,
        machine_type=machine_type or connector.machine_type,
        reason=stress,
    )
    return Plan(action=ScaleConnector.name, params=params, before=connector_state(connector),
                reason=f"connector {connector.short_name} is saturated ({stress}): {how}")


# The stress signs as connector_saturation writes them in its summary (rules/connector_signs.py `_signs`):
# "at max instances (N)", "CPU p99 N%", "throughput N of M Mbps". Read by their whole shape, never by a
# word: the summary also names the connector and the services, and a connector or service name may hold
# "throughput" (names are lowercase letters, digits and hyphens, so none holds a sign's spaces and digits):
# a connector named "throughput-conn" at its ceiling was moved to another machine type for a sign it
# never showed.
_AT_MAX_SIGN = re.compile(r"\bat max instances \(\d+\)")
_CPU_SIGN = re.compile(r"\bCPU p99 \d+%")
_THROUGHPUT_SIGN = re.compile(r"\bthroughput \d+ of \d+ Mbps")


def _cpu_bound(diagnosis: Diagnosis) -> bool:
    """CPU is among the stress signs: in the summary the rule wrote, or a CPU check that passed and
    supports the finding (a CPU that was as hot before the failures, while requests were clean, is
    cited as context by connector_saturation, and is not the stress the plan answers)."""
    return bool(_CPU_SIGN.search(rule_words(diagnosis.summary))) or any(
        item.passed and item.role == "supports" and "CPU" in item.observed for item in diagnosis.evidence)


def _throughput_bound(diagnosis: Diagnosis) -> bool:
    """Throughput near the ceiling is among the stress signs the rule wrote in its summary."""
    return bool(_THROUGHPUT_SIGN.search(rule_words(diagnosis.summary)))


def _stress_reason(diagnosis: Diagnosis, connector: Connector, cpu_bound: bool) -> str:
    if _AT_MAX_SIGN.search(rule_words(diagnosis.summary)):
        return f"at max instances ({connector.max_instances})"
    if cpu_bound:
        return f"CPU-bound {connector.machine_type}"
    if _throughput_bound(diagnosis):
        return "near its throughput ceiling"
    return "saturated"


def _what_a_person_can_do(connector: Connector, policy: ConnectorPolicy) -> str:
    """Options that agree with the connector's current state: no move to the machine it already is."""
    options = []
    if connector.machine_type in _SHARED_CORE:
        options.append(f"move it to {_BIG_MACHINE}")
    if policy.max_instances_ceiling < 10:
        options.append("raise the policy's ceiling (the API allows up to 10 instances)")
    options.append(BEYOND_THE_CEILING)
    return "; or ".join(options)


def _no_machine_move(connector: Connector, policy: ConnectorPolicy, cpu_bound: bool) -> str:
    """Why the machine-type remedy was not taken, for the no-action reason."""
    if connector.machine_type not in _SHARED_CORE:
        return f", already {connector.machine_type}"
    if _BIG_MACHINE not in policy.allowed_machine_types:
        return f", and {_machine_refusal(policy)}"
    if not cpu_bound:
        return ", and neither CPU nor throughput is the bottleneck"
    return ""
