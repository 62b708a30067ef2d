"""What changed a service's traffic since a rollback, read before an operator's restore of it
(shared/commands/traffic.py) and before the sweep's undo of it (verification.py `_undo`): pure, from the
rollback's record, the service as read and the service's later rollback records (history.later_rollbacks).

A restore by action_id writes the split recorded before the rollback. That undoes the rollback only while
the service still serves what the rollback left; after a later change (another rollback, by Runwarden or an
operator, or a change by someone else) it would undo that change too, silently, and leave a later
rollback's record `pending` as if it still stood. The sweep's undo of a failed rollback writes the same
split, with the same effect. So either writes only over what the rollback left, and otherwise says what
changed and how to go on.
"""
from __future__ import annotations

from typing import Sequence

from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType, split_text
from shared.remediation.actions.restore_traffic import serving_shares
from shared.remediation.actions.rollback_traffic import traffic_changes, with_tags
from shared.remediation.records import ActionRecord, ActionState


def left_split(record: ActionRecord) -> tuple[TrafficTarget, ...]:
    """The split the rollback left: its record's `after` (the service as the write's answer showed it:
    RollbackTraffic.apply), else, for a record that kept none, the split it wrote (its revision at 100%,
    the tags it kept at 0%)."""
    after = record.after.get("traffic")
    if after:
        return tuple(TrafficTarget.model_validate(t) for t in after)
    to = str(record.params.get("to_revision") or "")
    tags = tuple(TrafficTarget.model_validate(t) for t in record.params.get("keep_tags") or ())
    return tuple(with_tags([TrafficTarget(type=TrafficType.REVISION, revision=to, percent=100)], tags))


def split_changed(left: Sequence[TrafficTarget], now: Sequence[TrafficTarget]) -> list[str]:
    """Each target whose share differs between two splits, tags included (a tag moved, added or removed is
    a change: putting back an older split would undo it), one line each; [] when they are alike."""
    def state(targets: Sequence[TrafficTarget]) -> dict[str, list[dict[str, object]]]:
        return {"traffic": [t.model_dump(mode="json") for t in targets]}
    return traffic_changes(state(left), state(now))


def later_rollbacks(record: ActionRecord, others: Sequence[ActionRecord]) -> list[ActionRecord]:
    """The service's rollbacks applied after `record` and not undone, newest first: each changed or pinned
    its traffic again since, and still stands (its record pending, verified, undoing or escalated)."""
    later = (r for r in others if r.action == "rollback_traffic" and r.key != record.key
             and r.service == record.service and r.applied_at >= record.applied_at
             and r.state is not ActionState.UNDONE)
    return sorted(later, key=lambda r: r.applied_at, reverse=True)


def whose(record: ActionRecord) -> str:
    """Who made a rollback, as an operator finds it again: the command and its sender, or the incident."""
    if record.command_id:
        return f"command {record.command_id} by {record.requested_by or 'an operator'}"
    return f"automation, for incident {record.incident_id}"


def unread_records(record: ActionRecord, unreadable: Sequence[str]) -> str:
    """Why the split recorded before `record` must not be written, or "": records of its service that may be a
    later rollback still standing could not be read (history.LaterRollbacks.unreadable). Such a rollback, had it
    pinned the same split again, reads like `record`'s own split, and writing the split before `record` would
    silently undo it; so none is taken for absent (fail closed), and each is named for a person to look at.
    Without "nothing written": each caller says what it did."""
    if not unreadable:
        return ""
    return (f"the action records of {record.service} could not all be read, and one not read may be a rollback "
            f"after {record.key} that still stands ({'; '.join(unreadable[:5])}"
            f"{f'; and {len(unreadable) - 5} more' if len(unreadable) > 5 else ''}): putting back the split recorded "
            f"before {record.key} could silently undo it. Look at each record named in the state store's actions "
            "collection (fix or delete one that is damaged)")


def changed_since(record: ActionRecord, service: Service, later: Sequence[ActionRecord]) -> str:
    """Why a restore of `record` (a rollback not undone) must write nothing, or "" when the service's
    traffic (`traffic`, the desired split) is the split the rollback left. Read on the spec, not on what
    serves: a split the rollback wrote that Cloud Run has not put into effect (still reconciling, or a
    failed rollout: judging.desired_not_served) was changed by no one. A spec already at the split recorded
    before the rollback is the split the restore writes (an earlier attempt's write, still reconciling):
    the caller answers it. `later`: the service's later rollbacks not undone (`later_rollbacks`); one that
    pinned the same split again is a change all the same, though the split reads alike. The reason says what
    changed and how to go on, never what the caller does about it: each caller says "nothing written" once,
    in its own words (the restore command's refusal, the sweep's escalation of its undo); said here too, the
    sweep's escalation said it twice."""
    before = record.traffic_before
    if later:
        return _overtaken_by(record, service, later)
    if before and serving_shares(service.traffic) == serving_shares(before):
        return ""
    changes = split_changed(left_split(record), service.traffic)
    if not changes:
        return ""
    return (f"{service.short_name} no longer serves as the rollback left it ({split_text(left_split(record))}): its "
            f"traffic is {split_text(service.traffic)} now ({'; '.join(changes)}), and no later action of "
            "Runwarden's on it is recorded, so it is a change made since by someone else (a deploy, a person's "
            f"gcloud or console): putting back the split recorded before {record.key} ({split_text(before)}) "
            "would overwrite that change, not undo the rollback")


def _overtaken_by(record: ActionRecord, service: Service, later: Sequence[ActionRecord]) -> str:
    newest = later[0]
    named = "; ".join(f"action {r.key} (rollback to {r.params.get('to_revision') or '?'}, {whose(r)}, applied "
                      f"{r.applied_at:%Y-%m-%d %H:%M:%S} UTC, {r.state.value})" for r in later[:3])
    return (f"{service.short_name}'s traffic was rolled back again after {record.key} (applied "
            f"{record.applied_at:%Y-%m-%d %H:%M:%S} UTC): {named}; it serves {split_text(service.traffic)} now. "
            f"Putting back the split recorded before {record.key} ({split_text(record.traffic_before)}) would "
            "silently undo that later rollback too and leave its record standing. To go back one "
            f"step at a time, restore {newest.key} first (restore_traffic with action_id {newest.key}), then "
            f"{record.key} (restore_traffic with action_id {record.key}) if it is still wanted: it writes only over "
            f"what {record.key} left")
