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

from datetime import datetime
from typing import Any, Mapping, Sequence

from shared.remediation.actions import register
from shared.remediation.actions.base import Action, ActionParams
from shared.config import Config
from shared.errors import LeftByFailedOperationError, OutcomeUnknownError
from shared.diagnosis.evidence import Revision, Service, TrafficTarget, TrafficType, update_traffic_command
from shared.remediation.release_pipeline import ReleasePipeline, pin_note

# Automation goes back one revision at most; anything further is a person's call.
MAX_AUTOMATIC_STEPS = 1


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
    tags_left_out: tuple[str, ...] = ()         # tagged targets on revisions that cannot serve, in words
    # The release pipeline the service's labels name (shared/remediation/release_pipeline.py): its next rollout
    # rewrites the pin, so the outcome names it and its own rollback. None: no pipeline labelled.
    pipeline: ReleasePipeline | None = None
    # An operator named the revision: automation's own limits (steps back, deploy age) do not apply;
    # the command checked that the revision exists, is Ready and belongs to the service.
    manual: bool = False


def tagged_targets(service: Service) -> tuple[TrafficTarget, ...]:
    """The tagged targets of a service's split, each at 0%: what a new split keeps reachable."""
    return tuple(t.model_copy(update={"percent": 0}) for t in service.traffic if t.tag)


def tags_to_keep(service: Service, revisions: Sequence[Revision]) -> tuple[tuple[TrafficTarget, ...], tuple[str, ...]]:
    """The tagged targets a new split keeps at 0% (`tagged_targets`), and the ones it leaves out, in words:
    a tag on a revision that is no longer listed or is not Ready. Such a tag's URL serves nothing, and whether
    Cloud Run routes a split that names such a revision at 0% is not documented (TrafficTarget.tag,
    google/cloud/run/v2/traffic_target.proto; UNCONFIRMED): Knative Serving, whose Service API Cloud Run's
    follows, fails the whole route for a missing or unready revision whatever its percent, and Cloud Run
    fails a split naming a revision that "does not exist or is deleted" after the write, leaving serving as it
    was (restore_traffic.cannot_serve). Carried along, it could fail the rollback itself; left out, the split
    is right under either reading, and the person who tagged it is told. A tag on LATEST always serves."""
    return servable_targets(tagged_targets(service), revisions)


def servable_targets(targets: Sequence[TrafficTarget], revisions: Sequence[Revision]
                     ) -> tuple[tuple[TrafficTarget, ...], tuple[str, ...]]:
    """`targets` split into those whose revision can serve (LATEST, or a listed Ready revision) and the others,
    in words ("TAG -> REVISION (why)"): the rule of `tags_to_keep`, which a restore applies to the 0% targets
    of the split it puts back as well (restore_traffic.servable_restore)."""
    listed = {r.short_name: r for r in revisions}
    kept: list[TrafficTarget] = []
    left_out: list[str] = []
    for target in targets:
        why = _cannot_carry(target, listed)
        if why:
            left_out.append(f"{target.tag or '(no tag)'} -> {target.revision} ({why})")
        else:
            kept.append(target)
    return tuple(kept), tuple(left_out)


def _cannot_carry(target: TrafficTarget, listed: Mapping[str, Revision]) -> str:
    """Why a tagged target's revision cannot serve, or "" (LATEST, or a Ready revision)."""
    if target.type is TrafficType.LATEST or not target.revision:
        return ""
    return cannot_serve_revision(target.revision, listed)


NO_LONGER_LISTED = "no longer listed"


def cannot_serve_revision(name: str, listed: Mapping[str, Revision]) -> str:
    """Why the revision `name` cannot serve, or "" when it can: NO_LONGER_LISTED (not among the `listed`
    revisions, by short name), or "not Ready" with its Ready condition's state and reason (Revision.ready).
    The one rule of a target that can serve, for a rollback's tags (`servable_targets`) and a restore's
    recorded shares (restore_traffic.cannot_serve) alike."""
    revision = listed.get(name)
    if revision is None:
        return NO_LONGER_LISTED
    if revision.ready:
        return ""
    ready = revision.ready_condition
    return f"not Ready: {ready.state}{', ' + ready.reason if ready.reason else ''}" if ready else "not Ready"


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
    the escalated action, so the record says what the service asks for now) and `note`, what a person can do."""
    try:
        return adapters.run.set_traffic(target, traffic, etag)
    except LeftByFailedOperationError as left:
        left.after, left.notes = traffic_state(left.read), (note,)
        raise


def traffic_state(service: Service) -> dict[str, Any]:
    """The part of a service this action changes, as recorded in outcomes."""
    return {
        "generation": service.generation,
        "traffic": [t.model_dump(mode="json") for t in service.traffic],
        "traffic_statuses": [t.model_dump(mode="json") for t in service.traffic_statuses],
    }


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
            notes.append("Traffic tags kept at 0%: " + ", ".join(
                f"{t.tag} -> {t.revision or 'LATEST'}" for t in params.keep_tags))
        notes.extend(left_out_note(params.target, params.tags_left_out))
        notes.extend(pin_note(params.pipeline, params.to_revision))
        return notes


def left_out_note(service: str, left_out: tuple[str, ...]) -> list[str]:
    """The note naming the tags a new split left out (`tags_to_keep`), and how to tag again once Ready."""
    if not left_out:
        return []
    gcloud = update_traffic_command(service, "--update-tags TAG=REVISION")
    return [f"Traffic tags left out, their revisions cannot serve: {'; '.join(left_out)}. A split naming such a "
            "revision may fail as a whole, and its tagged URL served nothing. Tag it again once it is Ready: "
            + gcloud]
