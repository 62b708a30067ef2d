"""A deploy's own update of the service is stamped at one of two moments, when it is asked for (at its revision's
creation) or when it reconciles (at its revision's Ready transition), never in the minutes between
(unaudited_change.deploys_own, `_entry_spans`). A change made while a slow revision becomes ready, by another
person, by a pipeline's account, or by the deployer themselves, is a change of its own: it stands automation down,
not rolled back over. Condition.last_transition_time is the LAST transition (google/cloud/run/v2/condition.proto),
so a revision's later Ready flip dates no deploy (`deploy_ready_at`, LONGEST_DEPLOY). A deploy whose revision was
of a revision not blamed, created after the blamed revision's failures were already seen (the end of its first
failing minute), though before the alert opened the incident, cannot be their cause: it stands automation down,
named, whether its audit entry is read or not; the blamed revision's own deploy stays evidence of a cause.
Pure: no I/O."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Condition, LogRecord, LogResult
from shared.diagnosis.unaudited_change import LONGEST_DEPLOY, deploy_ready_at, deploys_own, unaudited_change
from shared.remediation.planning import plan

from tests.unit.builders import at
from tests.unit.test_deploy_span import FIX, NEW, S, SECOND, _bundle, assert_entry_read
from tests.unit.test_rollout_step_audited import CI, OLD, PERSON, UPDATE

BOB = "bob@example.com"


def _revised(bundle, name, conditions):
    """`bundle` with revision `name`'s conditions replaced."""
    revisions = tuple(r.model_copy(update={"conditions": conditions}) if r.short_name == name else r
                      for r in bundle.revisions)
    return bundle.model_copy(update={"revisions": revisions})


def _held(bundle):
    result = diagnose(bundle, S)
    assert result.stand_down, result.summary
    assert plan(result, bundle, S).action is None


# NEW created at -10, Ready only at -7 (a slow start). (case, last_modifier, update_time (minutes))
DURING_SLOW_START = [
    ("another person moves traffic by hand 90 s into a pipeline's slow deploy", BOB, -10 + 90 * SECOND),
    ("another person's change 2 min into it", BOB, -8),
    ("the deployer's own change 2 min into their slow deploy (an --async deploy, then a traffic move)", PERSON, -8),
    ("a pipeline account's change 2 min into it", CI, -8),
    ("a change 20 s after the revision's creation", PERSON, -10 + 20 * SECOND),
]


@pytest.mark.parametrize("case,by,minute", DURING_SLOW_START, ids=[c[0] for c in DURING_SLOW_START])
def test_a_change_while_a_slow_revision_becomes_ready_is_not_the_deploys(case, by, minute):
    bundle = _bundle(by, minute, ready_after=3)
    [new] = [r for r in bundle.revisions if r.short_name == NEW]

    assert not deploys_own(at(minute), new)
    _held(bundle)


def _flipped(minute: float, state: str = "CONDITION_SUCCEEDED") -> tuple[Condition, ...]:
    return (Condition(type="Ready", state=state, last_transition_time=at(minute)),)


# (case, revision whose Ready condition last transitioned late, its state, that transition (minutes), the person's
#  change (minutes))
FLIPPED = [
    ("the canary ready at once, its Ready re-marked at -1; a person moved traffic at -3", NEW, "CONDITION_SUCCEEDED",
     -1, -3),
    ("the canary's Ready flipped to failed at -0.5; a person moved traffic at -4", NEW, "CONDITION_FAILED", -0.5, -4),
    ("the stable revision (created at -300) re-marked Ready at -1; a person moved traffic at -3", OLD,
     "CONDITION_SUCCEEDED", -1, -3),
    ("... a person moved traffic at -20", OLD, "CONDITION_SUCCEEDED", -1, -20),
    ("... a person moved traffic 5 s after the stable revision's flip", OLD, "CONDITION_SUCCEEDED", -1,
     -1 + 5 * SECOND),
]


@pytest.mark.parametrize("case,name,state,flip,minute", FLIPPED, ids=[c[0] for c in FLIPPED])
def test_a_late_ready_transition_does_not_cover_a_persons_change(case, name, state, flip, minute):
    _held(_revised(_bundle(PERSON, minute, ready_after=0), name, _flipped(flip, state)))


def test_a_ready_transition_past_the_longest_deploy_dates_no_deploy():
    new = next(r for r in _bundle(PERSON, -10).revisions if r.short_name == NEW)
    late = -10 + LONGEST_DEPLOY / timedelta(minutes=1)
    slow = new.model_copy(update={"conditions": _flipped(late)})
    flipped = new.model_copy(update={"conditions": _flipped(late + SECOND)})

    assert deploy_ready_at(slow) == at(late) and deploys_own(at(late) + timedelta(seconds=5), slow)
    assert deploy_ready_at(flipped) is None and not deploys_own(at(late + 6 * SECOND), flipped)


# The deploy's entry read (by the same person, 1 s before NEW's creation), the later change's not: a slow start
# (Ready at -7). (case, update_time (minutes), the entry's operation end (minutes; None: not read), stands down)
ENTRY_READ = [
    ("her traffic move 2 min into her slow deploy", -8, None, True),
    ("... its operation's end read at the Ready transition", -8, -7, True),
    ("the deploy's own update stamped when it reconciled", -7 + 4 * SECOND, None, False),
    ("... stamped when it was asked for", -10 - 1 * SECOND, -7, False),
]


@pytest.mark.parametrize("case,minute,ended,stands_down", ENTRY_READ, ids=[c[0] for c in ENTRY_READ])
def test_a_deploys_entry_does_not_cover_a_change_while_its_revision_starts(case, minute, ended, stands_down):
    assert_entry_read(_bundle(PERSON, minute, ready_after=3), ended, stands_down)


# NEW fails from -5 (its first failing minute ends at -4); a person deploys FIX (no traffic yet) after that, before the
# alert opened the incident at 0. (case, FIX's creation (minutes))
FIX_BEFORE_THE_ALERT = [("a fix at -2", -2), ("a fix at -4, as the first failing minute ended", -4),
                        ("a fix 30 s before the alert", -0.5)]


@pytest.mark.parametrize("case,fix_at", FIX_BEFORE_THE_ALERT, ids=[c[0] for c in FIX_BEFORE_THE_ALERT])
def test_a_fix_deployed_after_the_failures_began_stands_down_named(case, fix_at):
    bundle = _bundle(PERSON, fix_at - 5 * SECOND, ready_after=0, fix_at=fix_at)

    result = diagnose(bundle, S)

    assert f"a deploy of {FIX} by {PERSON}" in result.stand_down, (result.stand_down, result.summary)
    assert "after the failures began" in result.stand_down, result.stand_down
    assert plan(result, bundle, S).action is None


@pytest.mark.parametrize("case,fix_at", FIX_BEFORE_THE_ALERT, ids=[c[0] for c in FIX_BEFORE_THE_ALERT])
def test_a_fix_deployed_after_the_failures_began_its_entry_read_stands_down_named(case, fix_at):
    bundle = _bundle(PERSON, fix_at - 5 * SECOND, ready_after=0, fix_at=fix_at)
    deploy = LogRecord(timestamp=at(fix_at - 5 * SECOND), log_id="cloudaudit.googleapis.com/activity",
                       severity="NOTICE", text=UPDATE, method_name=UPDATE, principal=PERSON)
    bundle = bundle.model_copy(update={"audit": LogResult(query="audit", entries=(deploy,))})

    result = diagnose(bundle, S)

    assert f"deploy of {FIX}, its revision created after the first failing minute ended" in result.stand_down, \
        (result.stand_down, result.summary)
    assert plan(result, bundle, S).action is None


def test_a_deploy_made_within_the_first_failing_minute_is_still_read_by_the_rules():
    """A revision created before the first failing minute ended may have served its failures: not stood down for it."""
    bundle = _bundle(PERSON, -4.5 - 5 * SECOND, ready_after=0, fix_at=-4.5)

    assert "after the failures began" not in diagnose(bundle, S).stand_down


def test_the_blamed_revisions_own_deploy_after_the_failures_began_stays_evidence_of_a_cause():
    """A deploy after other failures began (a partner's 503s, a busy connector) may be the cause of what followed:
    when the rules blame its revision, its deploy is theirs to judge, not someone at work."""
    bundle = _bundle(PERSON, -2 - 5 * SECOND, ready_after=0, fix_at=-2)
    args = (bundle.service, bundle.revisions, (), at(-30))

    assert unaudited_change(*args, started=at(0), failing=at(-4), suspects=(FIX,)) is None
    named = unaudited_change(*args, started=at(0), failing=at(-4), suspects=(NEW,))
    assert named is not None and named.deploy == FIX and named.before_incident
    assert unaudited_change(*args, started=at(0), failing=at(-1), suspects=(NEW,)) is None
