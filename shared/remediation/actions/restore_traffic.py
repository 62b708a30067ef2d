"""restore_traffic: put a service's traffic split back as a recorded before-state had it, or
(to_latest) send all traffic to the latest Ready revision, which releases a pin.

Used by the verification sweep to undo a rollback that did not help, and by an operator's command.
It only ever writes a split Runwarden recorded before its own change, or LATEST, so it cannot
invent a new one. Traffic tags are kept at 0% (see rollback_traffic), those whose revision can serve only:
a tag, or a 0% target of the recorded split, on a revision deleted since or not Ready is left out and
named (`servable_restore`), as a rollback leaves it out (rollback_traffic.tags_to_keep).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple, Sequence

from pydantic import field_validator

from shared.remediation.actions import register
from shared.remediation.actions.base import Action, ActionParams
from shared.remediation.actions.rollback_traffic import (LeftOut, Unservable, left_out_note, release_commands,
                                                         servable_targets, tags_to_keep, traffic_state, typed_left_out,
                                                         unservable, with_tags, write_split)
from shared.config import Config
from shared.errors import OutcomeUnknownError
from shared.diagnosis.evidence import Revision, Service, TrafficTarget, TrafficType

LATEST = TrafficTarget(type=TrafficType.LATEST, percent=100)


class RestoreTrafficParams(ActionParams):
    traffic: tuple[TrafficTarget, ...] = ()  # the recorded before-state's `traffic`
    undoes: str = ""                         # the claim key of the action being undone
    to_latest: bool = False                  # instead: 100% to LATEST, releasing a pin
    keep_tags: tuple[TrafficTarget, ...] = ()   # tagged targets as read now, kept at 0%
    tags_left_out: tuple[LeftOut, ...] = ()     # tags (and 0% targets) on revisions that cannot serve, and why
    # The service's etag as the caller checked it (the sweep's undo, and an operator's restore by action_id:
    # as the rollback left it, read just before): the write lands only on that very service, so a change
    # made since is refused, never written over (shared/gcp/run.py). "" (an operator's to_latest): over
    # whatever is there.
    expected_etag: str = ""

    _typed_left_out = field_validator("tags_left_out", mode="before")(typed_left_out)

    @field_validator("traffic")
    @classmethod
    def _a_whole_split(cls, v: tuple[TrafficTarget, ...]) -> tuple[TrafficTarget, ...]:
        if v and sum(t.percent for t in v) != 100:
            raise ValueError("a recorded split must sum to 100")
        return v

    def desired(self) -> list[TrafficTarget]:
        if self.to_latest:
            return with_tags([LATEST], self.keep_tags)
        # A recorded split keeps its own tags; tags added since are kept at 0% too. An empty split is
        # the API's default, "100% traffic to the latest Ready Revision" (Service.traffic,
        # google/cloud/run/v2/service.proto): written out, so tags kept beside it do not make a
        # split of 0%.
        recorded = {t.tag for t in self.traffic if t.tag}
        return with_tags(list(self.traffic) or [LATEST], tuple(t for t in self.keep_tags if t.tag not in recorded))


class Servable(NamedTuple):
    """What a restore writes of a recorded split and of the tags as read (RestoreTrafficParams' fields)."""

    traffic: tuple[TrafficTarget, ...]
    keep_tags: tuple[TrafficTarget, ...]
    tags_left_out: tuple[LeftOut, ...]


def servable_restore(traffic: Sequence[TrafficTarget], service: Service, revisions: Sequence[Revision]) -> Servable:
    """The recorded split (`traffic`; empty for to_latest) and the service's tags as read now, each 0% target
    kept only where its revision can serve (LATEST, or a listed Ready revision), the rest left out and named
    once (rollback_traffic.servable_targets, the rollback's own rule, for the same reason: a split naming a
    revision that cannot serve may fail whole under one reading of Cloud Run's API, and writes a dead tag
    again under the other). The recorded shares stay as they are: a share on such a revision refuses the
    whole restore before any write (`cannot_serve`). A tag on a Ready revision stays whoever put it there,
    since the rollback too: the undo must not drop a person's tag (verification.Sweep._undo)."""
    zero, recorded_out = servable_targets([t for t in traffic if not t.percent], revisions)
    kept, read_out = tags_to_keep(service, revisions)
    return Servable(traffic=tuple(t for t in traffic if t.percent or t in zero), keep_tags=kept,
                    tags_left_out=tuple(dict.fromkeys(recorded_out + read_out)))


def cannot_serve(traffic: Sequence[TrafficTarget], revisions: Sequence[Revision]) -> str:
    """Why a recorded split cannot be put back as it is now, or "": it gives a share to a revision that no
    longer exists or is not Ready (a rollback's named revision must be Ready too). A 0% target on such a
    revision (a tag's own URL) is no reason: the restore leaves it out and names it (`servable_restore`).
    Such a split is not refused by UpdateService's call but by its long-running operation, after the
    write: the service's desired traffic is left at the split that failed (Cloud Run v2 Service.traffic
    and terminal_condition, google/cloud/run/v2/service.proto; the code and text users report are
    "Error code 13 ... Revision '...' does not exist or is deleted", on create:
    terraform-google-modules/terraform-docs-samples #269; the same on update is UNCONFIRMED). So it is
    checked before any write, by an operator's restore (shared/commands/traffic.py) and by the sweep's
    undo (shared/remediation/verification.py) alike."""
    listed = {r.short_name: r for r in revisions}
    said_of = {t.revision: unservable(t.revision, listed)
               for t in traffic if t.type is TrafficType.REVISION and t.revision and t.percent}
    gone = sorted(name for name, left in said_of.items() if left is not None and left.why is Unservable.DELETED)
    unready = sorted(name for name, left in said_of.items() if left is not None and left.why is not Unservable.DELETED)
    why = ([f"{', '.join(gone)} no longer exist{'s' if len(gone) == 1 else ''}"] if gone else []) + \
        ([f"{', '.join(unready)} {'is' if len(unready) == 1 else 'are'} not Ready"] if unready else [])
    return "; ".join(why)


def shares(targets: Iterable[TrafficTarget]) -> dict[str, int]:
    """Each pinned revision's share, and LATEST's, summed over its entries. One revision may have
    several entries (a percent, and a tag at 0% for its own URL; or a share through LATEST and a
    tag), so an entry alone is not what the revision serves. LATEST is compared as LATEST: its
    status names the revision it resolves to (or not, which is not documented; see
    shared/gcp/run.py `_resolved`), the recorded split does not. A revision named only by a tag at 0%
    maps to 0 (the sweep, comparing what serves, leaves those out: judging.restored_by_runwarden)."""
    out: dict[str, int] = {}
    for t in targets:
        key = "LATEST" if t.type is TrafficType.LATEST else (t.revision or "")
        out[key] = out.get(key, 0) + t.percent
    return out


def serving_shares(targets: Iterable[TrafficTarget]) -> dict[str, int]:
    """`shares`, the ones at 0% (a tag's own URL) left out: two splits with these alike send the traffic
    alike (an operator's restore of a split already serving: shared/commands/traffic.py)."""
    return {key: percent for key, percent in shares(targets).items() if percent}


@register
class RestoreTraffic(Action[RestoreTrafficParams]):
    name = "restore_traffic"
    params_model = RestoreTrafficParams
    reversible = True
    corrective = True  # undoes Runwarden's own change: not held back by cooldown or budgets
    # run.revisions.list: every caller checks which revisions of the split can serve before the write.
    iam_permissions = ("run.services.get", "run.services.update", "run.revisions.list", "run.operations.get",
                       "iam.serviceAccounts.actAs")

    def bounds_violations(self, params: RestoreTrafficParams, config: Config, now: datetime) -> list[str]:
        return [] if config.manages(params.target) else [f"{params.target} is not a managed service"]

    def preview(self, params: RestoreTrafficParams, before: dict[str, Any]) -> dict[str, Any]:
        return {"traffic": [t.model_dump(mode="json") for t in params.desired()]}

    def apply(self, params: RestoreTrafficParams, adapters: Any) -> dict[str, Any]:
        # An operator's to_latest sends no etag: it is meant to replace whatever serves now. The sweep's
        # undo and an operator's restore by action_id send the etag of the read they checked (expected_etag).
        after = write_split(adapters, params.target, params.desired(), params.expected_etag,
                            "What the service asks for may serve once it reconciles. Send all traffic to the latest "
                            f"Ready revision with: {release_commands(params.target)[0]}")
        if params.to_latest:
            latest = sum(t.percent for t in after.traffic if t.type is TrafficType.LATEST)
            if latest != 100:   # answered: desired now, whatever it shows (see rollback_traffic.apply)
                raise OutcomeUnknownError(f"restore finished but LATEST has {latest}%, not 100% [VERIFICATION_FAILED]")
            return traffic_state(after)
        wanted, got = shares(params.desired()), shares(after.traffic_statuses)
        for key in sorted(set(wanted) | set(got)):
            if wanted.get(key, 0) != got.get(key, 0):
                raise OutcomeUnknownError(f"restore finished but {key} serves {got.get(key, 0)}%, not "
                                          f"{wanted.get(key, 0)}% [VERIFICATION_FAILED]")
        return traffic_state(after)

    def notes(self, params: RestoreTrafficParams) -> list[str]:
        if params.to_latest:
            said = ["The pin is released: 100% of traffic follows the latest Ready revision, and new deploys "
                    "receive traffic again."]
        else:
            said = [f"Traffic is back to the split recorded before {params.undoes}."]
        return said + left_out_note(params.target, params.tags_left_out)
