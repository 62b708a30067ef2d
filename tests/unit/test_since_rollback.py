"""A restore by action_id writes only over what its rollback left (shared/remediation/since_rollback.py):
the service's desired split against the rollback's `after`, tags included, and the service's later
rollbacks that still stand. Pure, from tables."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.remediation.since_rollback import changed_since, later_rollbacks
from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.remediation.records import ActionRecord, ActionState

SERVICE = "projects/p/locations/us-central1/services/backend"
OTHER = "projects/p/locations/us-central1/services/frontend"
OLD, NEW, FIX = "backend-00001-abc", "backend-00002-xyz", "backend-00003-fix"
T0 = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)


def t(revision: str | None, percent: int, tag: str = "") -> TrafficTarget:
    kind = TrafficType.LATEST if revision is None else TrafficType.REVISION
    return TrafficTarget(type=kind, revision=revision, percent=percent, tag=tag)


def dumped(*targets: TrafficTarget) -> list[dict]:
    return [x.model_dump(mode="json") for x in targets]


def rollback(key: str = "i|s|rollback_traffic", *, to: str = OLD, minutes: int = 0, service: str = SERVICE,
             state: ActionState = ActionState.PENDING, left: tuple[TrafficTarget, ...] | None = None,
             command_id: str = "", incident: str = "i") -> ActionRecord:
    after = {"traffic": dumped(*left)} if left is not None else {}
    return ActionRecord(key=key, incident_id=incident, target=service, service=service, action="rollback_traffic",
                        signature="bad_revision", reversible=True, state=state, command_id=command_id,
                        requested_by="bob@example.com" if command_id else "",
                        params={"to_revision": to, "from_revision": NEW, "keep_tags": dumped(t(NEW, 0, "canary"))},
                        before={"traffic": dumped(t(NEW, 100, "canary"))}, after=after,
                        applied_at=T0 + timedelta(minutes=minutes), settle_at=T0, deadline_at=T0)


A_LEFT = (t(OLD, 100), t(NEW, 0, "canary"))   # A: all traffic to OLD, the canary tag kept at 0%


def service(*traffic: TrafficTarget, serving: tuple[TrafficTarget, ...] | None = None) -> Service:
    return Service(name=SERVICE, generation=7, traffic=traffic,
                   traffic_statuses=serving if serving is not None else traffic)


B_SAME = rollback("command:cmd-9|s|rollback_traffic", minutes=20, command_id="cmd-9", left=A_LEFT)

ROWS = [  # (name, the service now, the service's other rollback records, refused?, words said)
    ("as A left it", service(*A_LEFT), [], False, ""),
    ("as A left it, desired and not served yet (reconciling)", service(*A_LEFT, serving=(t(NEW, 100),)), [], False,
     ""),
    ("at the split before A already (an earlier attempt's write)", service(t(NEW, 100, "canary")), [], False, ""),
    ("a fix deployed since, all traffic to it", service(t(FIX, 100), t(NEW, 0, "canary")), [], True,
     "someone else"),
    ("a canary of a fix beside A's revision", service(t(OLD, 90), t(FIX, 10), t(NEW, 0, "canary")), [], True,
     "someone else"),
    ("the pin released by gcloud --to-latest", service(t(None, 100), t(NEW, 0, "canary")), [], True, "someone else"),
    ("the canary tag removed since", service(t(OLD, 100)), [], True, f"{NEW} (tag canary): 0% -> absent"),
    ("the canary tag moved to another revision", service(t(OLD, 100), t(FIX, 0, "canary")), [], True,
     "someone else"),
    ("a later rollback pinned the same revision again", service(*A_LEFT), [B_SAME], True,
     f"restore {B_SAME.key} first"),
    ("a later rollback, by automation, to another revision", service(t(FIX, 100), t(NEW, 0, "canary")),
     [rollback("0.x|s|rollback_traffic", to=FIX, minutes=30, incident="0.x")], True,
     "automation, for incident 0.x"),
    ("a later rollback undone since, the service back as A left it", service(*A_LEFT),
     [B_SAME.model_copy(update={"state": ActionState.UNDONE})], False, ""),
    ("a later rollback verified, the service as it left it", service(*A_LEFT),
     [B_SAME.model_copy(update={"state": ActionState.VERIFIED})], True, "verified"),
    ("an earlier rollback, not undone", service(*A_LEFT), [rollback("old|s|rollback_traffic", minutes=-30)], False,
     ""),
    ("a later rollback of another service", service(*A_LEFT),
     [rollback("o|f|rollback_traffic", minutes=20, service=OTHER)], False, ""),
]


@pytest.mark.parametrize("name,now,others,refused,said", ROWS, ids=[r[0] for r in ROWS])
def test_a_restore_writes_only_over_what_the_rollback_left(name, now, others, refused, said):
    a = rollback(left=A_LEFT, minutes=0)
    why = changed_since(a, now, later_rollbacks(a, others))
    assert bool(why) is refused, why
    assert said in why, why


@pytest.mark.parametrize("now, refused", [(service(t(OLD, 100), t(NEW, 0, "canary")), False),
                                          (service(t(OLD, 100)), True)])
def test_a_record_that_kept_no_after_is_read_from_the_split_it_wrote(now, refused):
    a = rollback(left=None)    # an older record: its revision at 100%, the tags it kept at 0%
    assert bool(changed_since(a, now, [])) is refused


@pytest.mark.parametrize("name,now,others,refused,said", [r for r in ROWS if r[3]], ids=[r[0] for r in ROWS if r[3]])
def test_the_reason_leaves_nothing_written_to_its_caller(name, now, others, refused, said):
    """Each caller says "nothing written" once, in its own words: the sweep's escalated undo ("...: {reason};
    nothing written, a person must judge the service as it is now", verification.Sweep._undo) and the restore
    command's refusal (commands/traffic._not_changed_since). The reason said it too, so the sweep's escalation
    said it twice ("...not undo the rollback; nothing written; nothing written, a person must ...")."""
    a = rollback(left=A_LEFT, minutes=0)
    why = changed_since(a, now, later_rollbacks(a, others))
    assert "nothing written" not in why, why
