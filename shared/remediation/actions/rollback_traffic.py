"""rollback_traffic: send 100% of a service's traffic back to its last known-good revision (or, by an
operator's command, to a named Ready revision of the service).

Traffic tags are kept: every tagged target of the split as read stays in the new split at 0%, so a
tagged URL such as `canary` stays reachable. A TrafficTarget with percent 0 and a tag is how
Cloud Run keeps a revision addressable without traffic (Cloud Run docs, "Add a tag to a newly
deployed revision" sample: a `traffic` block with `percent = 0` and `tag`). A tag on a revision that
cannot serve (no longer listed, or not Ready: a candidate deployed with `--no-traffic --tag` whose
container never started) is left out and named (`tags_to_keep`).
"""
from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, field_validator

from shared.remediation.actions import register
from shared.remediation.actions.base import Action, ActionParams
from shared.config import Config
from shared.errors import (LeftByFailedOperationError, LimitReachedError, OutcomeUnknownError, PermanentError,
                           QuotaRefusedError)
from shared.diagnosis.evidence import (Revision, Service, TrafficTarget, TrafficType, describe_command, short_name,
                                      update_traffic_command)
from shared.remediation.release_pipeline import ReleasePipeline, RolloutMover, pin_note

# Automation goes back one revision at most; anything further is a person's call.
MAX_AUTOMATIC_STEPS = 1


class Unservable(str, Enum):
    """Why a tagged target's revision cannot serve, which tells what a person can do with its tag."""

    # Not listed by ListRevisions, read whole (shared/gcp/run.py): deleted. The Revisions service has
    # GetRevision, ListRevisions and DeleteRevision and no way back (google/cloud/run/v2/revision.proto):
    # a deleted revision is never Ready again, its tag must go on another.
    DELETED = "deleted"
    # Its Ready condition CONDITION_FAILED (Condition.State, google/cloud/run/v2/condition.proto): a container
    # that never started, an image or secret it could not read. Whether Cloud Run ever retries a failed revision
    # is not documented (UNCONFIRMED): the note holds under both readings (tag it again if it comes Ready, or put
    # the tag on a revision that serves).
    FAILED = "failed"
    # Pending or reconciling, or no Ready condition shown yet (a revision just created): it may come Ready.
    NOT_READY_YET = "not_ready_yet"


class LeftOut(BaseModel):
    """A tagged target a new split leaves out (`servable_targets`): its tag, its revision and why."""

    model_config = ConfigDict(frozen=True)

    tag: str
    revision: str
    why: Unservable
    condition: str = ""     # the Ready condition as read ("STATE, REASON"), "" when none or deleted

    def words(self) -> str:
        """"TAG -> REVISION (why)", as the outcome's note names it."""
        said = {Unservable.DELETED: "deleted: no longer listed",
                Unservable.FAILED: f"failed: {self.condition or 'CONDITION_FAILED'}",
                Unservable.NOT_READY_YET: f"not Ready yet: {self.condition or 'no Ready condition yet'}"}[self.why]
        return f"{self.tag or _NO_TAG} -> {self.revision} ({said})"

    @classmethod
    def from_words(cls, text: str) -> "LeftOut":
        """A reason kept in words by params recorded before the reasons were typed ("TAG -> REVISION (why)":
        "no longer listed", "not Ready: STATE, REASON", "not Ready"), typed so that a kept plan or proposal is
        still read. Only for such records: nothing new is told by its words."""
        found = _OLD_WORDS.match(text)
        tag, revision, why = (found["tag"], found["revision"], found["why"]) if found else ("", text, "")
        tag = "" if tag == _NO_TAG else tag
        if why == "no longer listed":
            return cls(tag=tag, revision=revision, why=Unservable.DELETED)
        condition = why.removeprefix("not Ready").lstrip(": ")
        failed = condition.startswith("CONDITION_FAILED")
        return cls(tag=tag, revision=revision, why=Unservable.FAILED if failed else Unservable.NOT_READY_YET,
                   condition=condition)


_NO_TAG = "(no tag)"   # how `words` names a 0% target without a tag
_OLD_WORDS = re.compile(r"^(?P<tag>.*?) -> (?P<revision>\S+) \((?P<why>.*)\)$")


def typed_left_out(value: Any) -> Any:
    """A params' `tags_left_out` as validated: each reason kept in words typed (`LeftOut.from_words`)."""
    if isinstance(value, (list, tuple)):
        return tuple(LeftOut.from_words(v) if isinstance(v, str) else v for v in value)
    return value


class RollbackTrafficParams(ActionParams):
    to_revision: str                  # the last known-good revision (short name)
    from_revision: str                # the revision being taken out of service
    from_revision_created_at: datetime
    # When traffic reached a revision created long before it (bad_revision dates a promotion by its first
    # request, Facts.promotion): the change rolled back, which the deploy's age bound is measured from.
    from_revision_promoted_at: datetime | None = None
    steps_back: int                   # Ready revisions that served before the deploy, back to to_revision
    expected_etag: str                # the service as read before planning; a concurrent change aborts
    keep_tags: tuple[TrafficTarget, ...] = ()   # tagged targets as read, kept at 0%
    tags_left_out: tuple[LeftOut, ...] = ()     # tagged targets on revisions that cannot serve, and why
    # The release pipeline the service's labels name (shared/remediation/release_pipeline.py): its next rollout
    # rewrites the pin, so the outcome names it and its own rollback. None: no pipeline labelled.
    pipeline: ReleasePipeline | None = None
    # A tool that moved the split after the deploy, the failing revision short of all traffic
    # (release_pipeline.rollout_mover): named, so that a person stops it. None: none seen.
    rollout: RolloutMover | None = None
    # An operator named the revision: automation's own limits (steps back, deploy age) do not apply;
    # the command checked that the revision exists, is Ready and belongs to the service.
    manual: bool = False

    _typed_left_out = field_validator("tags_left_out", mode="before")(typed_left_out)


def tagged_targets(service: Service) -> tuple[TrafficTarget, ...]:
    """The tagged targets of a service's split, each at 0%: what a new split keeps reachable."""
    return tuple(t.model_copy(update={"percent": 0}) for t in service.traffic if t.tag)


def tags_to_keep(service: Service, revisions: Sequence[Revision]
                 ) -> tuple[tuple[TrafficTarget, ...], tuple[LeftOut, ...]]:
    """The tagged targets a new split keeps at 0% (`tagged_targets`), and the ones it leaves out, each with why
    (`LeftOut`): a tag on a revision that is no longer listed (deleted), failed, or not Ready yet. Such a tag's URL serves nothing, and whether
    Cloud Run routes a split that names such a revision at 0% is not documented (TrafficTarget.tag,
    google/cloud/run/v2/traffic_target.proto; UNCONFIRMED): Knative Serving, whose Service API Cloud Run's
    follows, fails the whole route for a missing or unready revision whatever its percent, and Cloud Run
    fails a split naming a revision that "does not exist or is deleted" after the write, leaving serving as it
    was (restore_traffic.cannot_serve). Carried along, it could fail the rollback itself; left out, the split
    is right under either reading, and the person who tagged it is told. A tag on LATEST always serves."""
    return servable_targets(tagged_targets(service), revisions)


def servable_targets(targets: Sequence[TrafficTarget], revisions: Sequence[Revision]
                     ) -> tuple[tuple[TrafficTarget, ...], tuple[LeftOut, ...]]:
    """`targets` split into those whose revision can serve (LATEST, or a listed Ready revision) and the others,
    each with why (`LeftOut`): the rule of `tags_to_keep`, which a restore applies to the 0% targets
    of the split it puts back as well (restore_traffic.servable_restore)."""
    listed = {r.short_name: r for r in revisions}
    kept: list[TrafficTarget] = []
    left_out: list[LeftOut] = []
    for target in targets:
        gone = _cannot_carry(target, listed)
        if gone is not None:
            left_out.append(gone)
        else:
            kept.append(target)
    return tuple(kept), tuple(left_out)


def _cannot_carry(target: TrafficTarget, listed: Mapping[str, Revision]) -> LeftOut | None:
    """Why a tagged target's revision cannot serve, or None (LATEST, or a Ready revision)."""
    if target.type is TrafficType.LATEST or not target.revision:
        return None
    return unservable(target.revision, listed, tag=target.tag)


def unservable(name: str, listed: Mapping[str, Revision], tag: str = "") -> LeftOut | None:
    """Why the revision `name` cannot serve (`LeftOut`: not among the `listed` revisions, by short name, so
    deleted; its Ready condition failed; not Ready yet), or None when it can (Revision.ready). The one rule of
    a target that can serve, for a rollback's tags (`servable_targets`) and a restore's recorded shares
    (restore_traffic.cannot_serve) alike."""
    revision = listed.get(name)
    if revision is None:
        return LeftOut(tag=tag, revision=name, why=Unservable.DELETED)
    if revision.ready:
        return None
    ready = revision.ready_condition
    condition = f"{ready.state}{', ' + ready.reason if ready.reason else ''}" if ready else ""
    failed = ready is not None and ready.state == "CONDITION_FAILED"
    return LeftOut(tag=tag, revision=name, condition=condition,
                   why=Unservable.FAILED if failed else Unservable.NOT_READY_YET)


def with_tags(traffic: list[TrafficTarget], tags: tuple[TrafficTarget, ...]) -> list[TrafficTarget]:
    """`traffic` plus every kept tag. A tag on a revision (or LATEST) that already has a target in
    `traffic` moves onto that target, so no revision is listed twice."""
    out = [t.model_copy() for t in traffic]
    for tag in tags:
        same = next((t for t in out if t.type == tag.type and t.revision == tag.revision and not t.tag), None)
        if same is not None:
            out[out.index(same)] = same.model_copy(update={"tag": tag.tag})
        else:
            out.append(tag.model_copy(update={"percent": 0}))
    return out


def traffic_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two recorded splits, one line per target, for the outcome's notes."""
    def split(state: dict[str, Any]) -> dict[tuple[str, str], int]:
        return {(t.get("revision") or "LATEST", t.get("tag") or ""): t.get("percent", 0)
                for t in state.get("traffic", [])}
    old, new = split(before), split(after)
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            name = key[0] + (f" (tag {key[1]})" if key[1] else "")
            lines.append(f"{name}: {old.get(key, 'absent')}{'%' if key in old else ''} -> "
                         f"{new.get(key, 'absent')}{'%' if key in new else ''}")
    return lines


def release_commands(service: str) -> tuple[str, str]:
    """(the gcloud line, the Runwarden command) that release a pin: all traffic to the latest Ready revision."""
    gcloud = update_traffic_command(service, "--to-latest")
    runwarden = (f"runwarden command restore_traffic --target {service} --param to_latest=true "
                 "--reason 'release the pin'")
    return gcloud, runwarden


def write_split(adapters: Any, target: str, traffic: list[TrafficTarget], etag: str, note: str) -> Service:
    """`adapters.run.set_traffic`; a write whose operation failed while the service asks for another split than
    before (LeftByFailedOperationError) is raised with that state as what the write left (`after`, recorded on
    the escalated action, so the record says what the service asks for now) and `note`, what a person can do.
    A write refused RESOURCE_EXHAUSTED (nothing applied, shared/gcp/run.py `_refusal_of`): a fixed limit is
    `failed` at once, and a rate quota is redelivered (transient: the gate gives everything back) until the
    message's last delivery, then `failed`; either names what to check (`out_of_quota`), as the connector's
    scale refused for want of room does (scale_connector.out_of_room)."""
    try:
        return adapters.run.set_traffic(target, traffic, etag)
    except LeftByFailedOperationError as left:
        left.after, left.notes = traffic_state(left.read), (note,)
        raise
    except QuotaRefusedError as refused:
        if not getattr(adapters, "last_delivery", False):
            raise   # transient: all given back, and the redelivery writes it again after Pub/Sub's backoff
        raise out_of_quota(target, traffic, refused, rate=True) from refused
    except LimitReachedError as refused:
        raise out_of_quota(target, traffic, refused) from refused


def split_flags(traffic: Sequence[TrafficTarget]) -> str:
    """The `gcloud run services update-traffic` flags that ask for `traffic`'s shares: --to-latest for all on LATEST,
    else --to-revisions R=P,... (LATEST named as gcloud takes it); tags at 0% are left as they are."""
    shared = [t for t in traffic if t.percent]
    if len(shared) == 1 and shared[0].type is TrafficType.LATEST:
        return "--to-latest"
    return "--to-revisions=" + ",".join(
        f"{'LATEST' if t.type is TrafficType.LATEST else t.revision}={t.percent}" for t in shared)


def out_of_quota(target: str, traffic: Sequence[TrafficTarget], refusal: Exception, *, rate: bool = False
                 ) -> PermanentError:
    """A traffic update Cloud Run refused RESOURCE_EXHAUSTED, nothing applied: reported once (`failed`: the gate gives
    back the cooldown, budget and plan and keeps the incident's claim, so its later notifications are duplicates of
    this answer), with what to check and the line to run by hand once the quota allows. Cloud Run's quotas page
    (cloud.google.com/run/quotas) lists "API rate limits, which affect the rate at which you can call the Cloud Run
    Admin API" and per project and region limits (services, revisions serving traffic, revision tags); which of them
    a refused traffic-only update names is not documented (UNCONFIRMED), so the service and the project's quotas are
    both named. `rate`: a rate quota still refusing at the message's last delivery."""
    parts = target.split("/")
    project = parts[1] if len(parts) == 6 else "PROJECT"
    what = ("a rate quota on Cloud Run Admin API requests, still refusing at this alert's last delivery: another "
            "caller in the project and region (a deploy pipeline, Terraform, a script) may be using up its writes "
            "per minute" if rate else
            "a limit of the project or region reached, which no wait clears (Cloud Run's per project and region "
            "limits, such as revisions serving traffic or revision tags)")
    return PermanentError(
        f"{str(refusal).rstrip('.')}. Cloud Run refused the traffic update of {short_name(target)} "
        f"(RESOURCE_EXHAUSTED: {what}); nothing was changed. Check the service's traffic and tags: "
        f"{describe_command(target)}; and the project's Cloud Run quotas: "
        f"https://console.cloud.google.com/iam-admin/quotas?project={project}&service=run.googleapis.com (the limits: "
        f"https://cloud.google.com/run/quotas). Once the quota allows, by hand: "
        f"{update_traffic_command(target, split_flags(traffic))}", code="RESOURCE_EXHAUSTED")


def traffic_state(service: Service) -> dict[str, Any]:
    """The part of a service this action changes, as recorded in outcomes; and, where read, what the sweep
    needs to tell a later generation's cause (judging.unexplained_generations): the service-level settings
    (Service.settings, a few hundred bytes at most), the revision template's fields as digests
    (Service.template_settings) and the newest revision (`latest_created_revision`, "Name of the last created
    revision", google/cloud/run/v2/service.proto), past which a revision is a deploy since; and the service's
    `update_time` ("The last-modified time", output only, service.proto; Google's clock, unlike the instance's
    read time), which a plan's before-state keeps so that the sweep knows a change dated at or before it was
    already seen by the evidence's read (judging.server_time_read)."""
    state: dict[str, Any] = {
        "generation": service.generation,
        "traffic": [t.model_dump(mode="json") for t in service.traffic],
        "traffic_statuses": [t.model_dump(mode="json") for t in service.traffic_statuses],
    }
    if service.update_time is not None:
        state["update_time"] = service.update_time.isoformat()
    if service.settings is not None:
        state["settings"] = service.settings
        state["latest_created_revision"] = service.latest_created_revision or ""
    if service.template_settings is not None:
        state["template"] = service.template_settings    # a digest per field, a few dozen at most
    return state


@register
class RollbackTraffic(Action[RollbackTrafficParams]):
    name = "rollback_traffic"
    params_model = RollbackTrafficParams
    reversible = True  # the before-state's traffic split can be restored as it was
    iam_permissions = (
        "run.services.get",
        "run.services.update",
        "run.revisions.list",
        "run.operations.get",
        "iam.serviceAccounts.actAs",  # whether a traffic-only update checks it is unconfirmed; grant it
    )

    def bounds_violations(self, params: RollbackTrafficParams, config: Config, now: datetime) -> list[str]:
        violations = []
        if not config.manages(params.target):
            violations.append(f"{params.target} is not a managed service")
        if params.to_revision == params.from_revision and not params.manual:
            violations.append("the known-good revision is the failing one")
        if params.manual:
            return violations
        if params.steps_back > MAX_AUTOMATIC_STEPS:
            violations.append(
                f"{params.to_revision} is {params.steps_back} revisions back; "
                f"automation goes back at most {MAX_AUTOMATIC_STEPS}")
        changed = params.from_revision_promoted_at or params.from_revision_created_at
        age = (now - changed).total_seconds()
        limit = config.bounds.rollback.max_revision_age_seconds
        if age > limit:
            how = "promoted" if params.from_revision_promoted_at else "created"
            violations.append(
                f"{params.from_revision} was {how} {int(age)} s ago; rollback only acts within {limit} s of a deploy")
        return violations

    def desired_traffic(self, params: RollbackTrafficParams) -> list[TrafficTarget]:
        return with_tags([TrafficTarget(type=TrafficType.REVISION, revision=params.to_revision, percent=100)],
                         params.keep_tags)

    def preview(self, params: RollbackTrafficParams, before: dict[str, Any]) -> dict[str, Any]:
        traffic = [t.model_dump(mode="json") for t in self.desired_traffic(params)]
        return {"traffic": traffic, "traffic_statuses": traffic}

    def apply(self, params: RollbackTrafficParams, adapters: Any) -> dict[str, Any]:
        gcloud, runwarden = release_commands(params.target)
        after = write_split(adapters, params.target, self.desired_traffic(params), params.expected_etag,
                            f"If the service asks for {params.to_revision} at 100%, it is pinned there once it "
                            f"reconciles, and new deploys receive no traffic. Put it back with: {gcloud} ; or: "
                            f"{runwarden}")
        if after.serving_percent(params.to_revision) != 100:
            # The update was answered: its split is desired now, whatever serves. An unknown outcome, so the
            # gate records it, never a failure that gives the claim back with the split left on no record.
            raise OutcomeUnknownError(
                f"update finished but {params.to_revision} serves {after.serving_percent(params.to_revision)}%, "
                "not 100% [VERIFICATION_FAILED]")
        return traffic_state(after)

    def observe(self, params: RollbackTrafficParams, adapters: Any) -> dict[str, Any] | None:
        return traffic_state(adapters.run.get_service(params.target))

    def shows(self, state: dict[str, Any], live: dict[str, Any]) -> bool:
        # The split the action sets (`traffic`); the generation moves with any update.
        return "traffic" in state and not traffic_changes(state, live)

    def changed_since_write(self, before: dict[str, Any], live: dict[str, Any]) -> bool:
        """The Service's `generation` "monotonically increases every time the user modifies the desired
        state" (Service docstring, google-cloud-run's run_v2.types.Service). The rollback is sent with the
        etag read with `before` (generation G), so, the etag checked (AIP-154), it can only land on G and
        make G+1. A service at G+2 or more that shows neither the split before nor the rollback's was
        changed at least twice since the plan: the rollback first, then someone else's change over it
        (a person, a deploy). At G+1, only one change was made, and it is not the rollback: nothing of
        Runwarden's landed. UNCONFIRMED that the server checks the etag (docs/behaviour.md, "A target that
        changed under the decision"): under the other reading the rollback may also have landed later,
        over a change and under another, which this reads the same way; two changes by others with no
        rollback at all (the attempt died between its plan and its write) would read so too."""
        then, now = before.get("generation"), live.get("generation")
        return isinstance(then, int) and isinstance(now, int) and now >= then + 2

    def notes(self, params: RollbackTrafficParams) -> list[str]:
        gcloud, runwarden = release_commands(params.target)
        notes = [f"Traffic is pinned to {params.to_revision}: new deploys receive no traffic until the pin is "
                 f"released. Release it with: {gcloud} ; or: {runwarden}"]
        if params.from_revision != params.to_revision:
            notes.append(f"Traffic moved: {params.from_revision} no longer serves; {params.to_revision} serves 100%.")
        if params.keep_tags:
            notes.append(_tags_kept_note(params))
        notes.extend(left_out_note(params.target, params.tags_left_out))
        notes.extend(pin_note(params.pipeline, params.to_revision))
        if params.rollout is not None:
            notes.append(params.rollout.words())
        return notes


def _tags_kept_note(params: RollbackTrafficParams) -> str:
    """The tags the rollback keeps, each with the share it now rides: a tag on the revision rolled back to is written
    on its 100% target (`with_tags`: one target per revision), so "kept at 0%" said of it told an operator that
    tagged URL served no traffic, when it serves the whole service."""
    riding = [t for t in params.keep_tags if t.revision == params.to_revision]
    if not riding:
        return "Traffic tags kept at 0%: " + ", ".join(f"{t.tag} -> {t.revision or 'LATEST'}" for t in params.keep_tags)
    return "Traffic tags kept: " + ", ".join(
        f"{t.tag} -> {t.revision or 'LATEST'} (" + ("at 100%, on the revision rolled back to" if t in riding
                                                     else "at 0%") + ")" for t in params.keep_tags)


# What a person can do with a tag left out, by why, and whether the tag can go back on its own revision.
_WHAT_TO_DO = {
    Unservable.NOT_READY_YET: ("Tag it again once it is Ready", True),
    Unservable.FAILED: ("A failed revision is not documented to recover: put the tag on a revision that serves "
                        "(or deploy a fixed one with --tag)", False),
    Unservable.DELETED: ("A deleted revision cannot be brought back: put the tag on a revision that serves "
                         "(or deploy a new one with --tag)", False),
}


def left_out_note(service: str, left_out: Sequence[LeftOut]) -> list[str]:
    """The note naming the tags a new split left out (`tags_to_keep`), each with why, and what to do with each
    tag by why: one on a revision not Ready yet can go back on it once it is; one on a revision deleted or failed
    goes on a revision that serves (a deleted revision never comes back; a failed one is not documented to)."""
    if not left_out:
        return []
    said = [f"Traffic tags left out, their revisions cannot serve: {'; '.join(g.words() for g in left_out)}. "
            "A split naming such a revision may fail as a whole, and its tagged URL served nothing."]
    for why, (advice, onto) in _WHAT_TO_DO.items():
        # A 0% target a restore's recorded split held with no tag has no tagged URL to give back: named above only.
        tags = [g for g in left_out if g.why is why and g.tag]
        if tags:
            said.append(advice + ": " + update_traffic_command(
                service, "--update-tags " + ",".join(f"{g.tag}={g.revision if onto else 'REVISION'}" for g in tags)))
    return [" ".join(said)]
