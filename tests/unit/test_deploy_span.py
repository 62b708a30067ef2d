"""Which change of the service Service.last_modifier and update_time show is a revision's own deploy, when no audit
entry read says (unaudited_change.deploys_own, unaudited_change): from OWN_DEPLOY before its create_time (update_time
stamped when the deploy is asked for) to SETTLES after its Ready condition's last transition (stamped when it
reconciled; Condition.last_transition_time, google/cloud/run/v2/condition.proto). A person's `update-traffic` after
their own deploy, once its revision was ready, is a change of its own and stands automation down; a slow start's
update, stamped minutes later when its revision became ready, is still the deploy's. A deploy begun after the
incident began is someone at work, never the incident's cause: it stands automation down, as its audit entry would.
Pure: no I/O."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Condition, LogRecord, LogResult
from shared.diagnosis.principals import PrincipalKind
from shared.diagnosis.unaudited_change import deploys_own, unaudited_change
from shared.remediation.planning import plan

from tests.unit.builders import SQL, at
from tests.unit.test_diagnosis import NEW
from tests.unit.test_rollout_step_audited import CI, PERSON, POOL, UPDATE, _canary

RUNWARDEN = "runwarden@demo.iam.gserviceaccount.com"
S = DiagnosisSettings(self_principals=(RUNWARDEN,))
FIX = "backend-00003-fix"
SECOND = 1 / 60


def _ready(after_minutes: float | None) -> tuple[Condition, ...]:
    """NEW's Ready condition (created at -10), its last transition `after_minutes` after its creation (None: not
    dated, as a revision read without it)."""
    dated = at(-10 + after_minutes) if after_minutes is not None else None
    return (Condition(type="Ready", state="CONDITION_SUCCEEDED", last_transition_time=dated),)


def _bundle(by: str, minute: float, ready_after: float | None = 0, fix_at: float | None = None):
    """The canary of test_rollout_step_audited (NEW at -10, 10 %, failing from -5), no audit read; NEW's Ready
    transition `ready_after` minutes after its creation; FIX deployed at `fix_at` with no traffic, if given; the
    service last changed by `by` at `minute`."""
    evidence = _canary()
    evidence.revs = [r.model_copy(update={"conditions": _ready(ready_after)}) if r.short_name == NEW else r
                     for r in evidence.revs]
    if fix_at is not None:
        evidence.revision(FIX, fix_at, sql=(SQL,))
    bundle = evidence.bundle()
    service = bundle.service.model_copy(update={"last_modifier": by, "update_time": at(minute)})
    return bundle.model_copy(update={"service": service, "audit": None})


# (case, NEW's Ready transition after its creation (minutes; None: not read), update_time (minutes), its own)
SPAN = [
    ("asked for 5 s before the revision was created", 0, -10 - 5 * SECOND, True),
    ("asked a minute before it", 0, -11, True),
    ("two minutes before it: not this deploy", 0, -12, False),
    ("stamped when it reconciled, 5 s after a revision ready at once", 0, -10 + 5 * SECOND, True),
    ("a person's update-traffic 40 s after a revision ready at once", 0, -10 + 40 * SECOND, False),
    ("... 20 s after it", 0, -10 + 20 * SECOND, False),
    ("a slow start: ready 3 min later, stamped when it reconciled", 3, -7 + 4 * SECOND, True),
    ("... a change 40 s after that revision was ready", 3, -7 + 40 * SECOND, False),
    ("... stamped when it was asked for", 3, -10 - 5 * SECOND, True),
    ("the Ready transition not read: only the asked-for reading", None, -10 + 40 * SECOND, False),
    ("... asked for 5 s before", None, -10 - 5 * SECOND, True),
]


@pytest.mark.parametrize("case,ready_after,minute,own", SPAN, ids=[c[0] for c in SPAN])
def test_a_deploys_own_update_ends_when_its_revision_is_ready(case, ready_after, minute, own):
    bundle = _bundle(PERSON, minute, ready_after)
    [new] = [r for r in bundle.revisions if r.short_name == NEW]

    assert deploys_own(at(minute), new) is own


# (case, last_modifier, update_time (minutes), NEW's Ready transition (minutes after -10), FIX deployed at, stands down)
DIAGNOSED = [
    ("a person's update-traffic 40 s after their own deploy", PERSON, -10 + 40 * SECOND, 0, None, True),
    ("a CI account's change 40 s after its deploy (anyone may act through it)", CI, -10 + 40 * SECOND, 0, None, True),
    ("the person's own deploy, asked for 5 s before its revision", PERSON, -10 - 5 * SECOND, 0, None, False),
    ("a slow deploy stamped when its revision was ready, 3 min later", PERSON, -7 + 4 * SECOND, 3, None, False),
    ("a person's fix deployed after the incident began, taking no traffic yet", PERSON, 1 - 5 * SECOND, 0, 1, True),
    ("... a pipeline's", CI, 1 - 5 * SECOND, 0, 1, True),
    ("... through a workload identity pool's principal", POOL, 1 - 5 * SECOND, 0, 1, True),
    ("a person's deploy of the canary, before the incident", PERSON, -10 - 5 * SECOND, 0, None, False),
]


@pytest.mark.parametrize("case,by,minute,ready_after,fix_at,stands_down", DIAGNOSED, ids=[c[0] for c in DIAGNOSED])
def test_a_change_no_entry_accounts_for_is_read_against_the_deploy(case, by, minute, ready_after, fix_at, stands_down):
    bundle = _bundle(by, minute, ready_after, fix_at)

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert result.suspect_revision == NEW, result.summary
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")


def test_a_deploy_after_the_incident_began_is_named_as_that_deploy_not_a_cause():
    result = diagnose(_bundle(PERSON, 1 - 5 * SECOND, 0, 1), S)

    assert f"a deploy of {FIX} by {PERSON} at {at(1 - 5 * SECOND):%H:%M:%S}, after the incident began" in \
        result.stand_down, result.stand_down
    assert "not the incident's cause" in result.stand_down, result.stand_down
    assert result.suspect_revision != FIX


def test_a_deploy_after_the_incident_began_is_dated_by_when_it_began():
    """update_time stamped when it reconciled (after the incident began) of a deploy whose revision was created
    before it: begun before the incident, a deploy, read by the rules, not a stand-down."""
    bundle = _bundle(PERSON, 0.5, ready_after=10.4)
    [new] = [r for r in bundle.revisions if r.short_name == NEW]
    since = at(-30)

    assert unaudited_change(bundle.service, bundle.revisions, (), since, started=at(0)) is None
    assert deploys_own(at(0.5), new)
    later = unaudited_change(bundle.service, [new.model_copy(update={"create_time": at(0.2)})], (), since,
                             started=at(0))
    assert later is not None and later.deploy == NEW and later.at == at(0.2) and later.kind is PrincipalKind.PERSON


def test_the_deploys_own_span_is_read_only_without_the_incidents_start_as_before():
    """Called with no incident start (every deploy before it): a deploy is never a change of its own."""
    bundle = _bundle(PERSON, 1 - 5 * SECOND, 0, 1)

    assert unaudited_change(bundle.service, bundle.revisions, (), at(-30)) is None
    assert unaudited_change(bundle.service, bundle.revisions, (), at(-30), started=at(0)) is not None


def test_the_slow_deploys_span_reaches_past_a_minute_only_by_its_ready_transition():
    bundle = _bundle(PERSON, -7, ready_after=3)
    [new] = [r for r in bundle.revisions if r.short_name == NEW]

    assert deploys_own(at(-7) + timedelta(seconds=10), new)
    assert not deploys_own(at(-7) + timedelta(seconds=11), new)


# The same person's deploy entry read, the later change's not (late): the deploy's entry accounts for an update only
# up to SETTLES after the later of its last entry and its revision's Ready transition.
# (case, update_time (minutes), NEW's Ready transition after its creation (minutes), the entry's last (minutes; None:
#  not read), stands down)
ENTRY_READ = [
    ("her update-traffic 40 s after her deploy, its entry read, the move's not", -10 + 40 * SECOND, 0, None, True),
    ("... the deploy's operation ended 15 s after it was asked", -10 + 40 * SECOND, 0, -10 + 14 * SECOND, True),
    ("the deploy's own update, stamped when it was asked", -10 - 1 * SECOND, 0, None, False),
    ("a slow start's update stamped at its Ready transition, the last entry not read", -7 + 4 * SECOND, 3, None, False),
    ("... its last entry read at the Ready transition", -7 + 4 * SECOND, 3, -7, False),
]


@pytest.mark.parametrize("case,minute,ready_after,ended,stands_down", ENTRY_READ, ids=[c[0] for c in ENTRY_READ])
def test_a_deploys_entry_accounts_for_its_own_update_not_the_next_change(case, minute, ready_after, ended,
                                                                        stands_down):
    assert_entry_read(_bundle(PERSON, minute, ready_after), ended, stands_down)


def assert_entry_read(bundle, ended: float | None, stands_down: bool) -> None:
    """`bundle` with the person's deploy entry read (1 s before NEW's creation; its operation's end at `ended`
    minutes, None: not read) stands down, or rolls the canary back."""
    deploy = LogRecord(timestamp=at(-10 - 1 * SECOND), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                       text=UPDATE, method_name=UPDATE, principal=PERSON,
                       operation_ended_at=at(ended) if ended is not None else None)
    bundle = bundle.model_copy(update={"audit": LogResult(query="audit", entries=(deploy,))})

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")
