"""bad_revision in a traffic split (a gradual rollout): the known-good revision is one that carried
the service's load before the deploy, not a canary that carried a sliver of it. Sending 100% to a
revision that served 10% promotes an unproven rollout tenfold; a person decides."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.actions.rollback_traffic import MAX_AUTOMATIC_STEPS
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
CANARY, NEWEST = "backend-00002-can", "backend-00003-new"


def _two_rollouts(canary_share: float) -> Evidence:
    """OLD served everything until CANARY took `canary_share` of 100 requests a minute at -20;
    NEWEST took 10 more at -5 and answers 60% 500."""
    canary = round(100 * canary_share)
    return quiet_connector(
        Evidence().revision(OLD, -300, sql=(SQL,)).revision(CANARY, -20, sql=(SQL,)).revision(NEWEST, -5, sql=(SQL,))
        .traffic(**{OLD: 90 - canary, CANARY: canary, NEWEST: 10})
        .requests(OLD, -90, -20, 100).requests(OLD, -20, -5, 100 - canary).requests(OLD, -5, 5, 90 - canary)
        .requests(CANARY, -20, 5, canary)
        .requests(NEWEST, -5, 5, 4).requests(NEWEST, -5, 5, 6, code="500")
        .latency(OLD, -90, 5, 0.2).latency(CANARY, -20, 5, 0.2).latency(NEWEST, -5, 5, 0.2))


def test_a_canary_is_not_the_known_good_revision_to_send_everything_to():
    e = _two_rollouts(0.10)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.suspect_revision == NEWEST and result.known_good_revision is None
    assert CANARY in result.no_target_reason and "10%" in result.no_target_reason
    assert plan(result, e.bundle(), S).action is None
    cited = [i for i in result.evidence if i.about == "bad_revision" and "of the service's requests" in i.observed]
    assert cited and cited[-1].passed is False


def test_a_revision_that_carried_most_of_the_load_is_the_known_good_one():
    e = _two_rollouts(0.60)

    result = diagnose(e.bundle(), S)

    assert result.known_good_revision == CANARY and result.steps_back == 1, result.summary
    # OLD still serves 30% beside them: a rollback (CANARY at 100%) would take that share away too, and
    # finish the earlier rollout by nobody's decision. Planning leaves it to a person, naming the split
    # that moves only NEWEST's share (tests/unit/test_rollback_plan_guards.py).
    proposal = plan(result, e.bundle(), S)
    assert proposal.action is None and f"also gives {OLD} 30%" in proposal.reason, proposal.reason
    assert f"--to-revisions {CANARY}=70,{OLD}=30" in proposal.advice, proposal.advice


def test_a_revision_that_carried_most_of_the_load_is_rolled_back_to_when_nothing_else_serves():
    e = _two_rollouts(0.60)
    bundle = e.bundle()
    # OLD's share gone to CANARY since the diagnosis (CANARY 90%, NEWEST 10%): the rollback takes nothing else away.
    service = bundle.service.model_copy(update={"traffic": tuple(
        t.model_copy(update={"percent": 90 if t.revision == CANARY else 0 if t.revision == OLD else t.percent})
        for t in bundle.service.traffic)})
    service = service.model_copy(update={"traffic_statuses": service.traffic})

    proposal = plan(diagnose(bundle, S), bundle.model_copy(update={"service": service}), S)

    assert proposal.action == "rollback_traffic" and proposal.params.to_revision == CANARY, proposal.reason


def test_a_previous_revision_deployed_minutes_before_still_counts_when_it_took_all_traffic():
    # OLD replaced an older revision 20 minutes before NEW: most of the hour belongs to the older one,
    # but OLD carried everything just before NEW's deploy.
    e = quiet_connector(
        Evidence().revision("backend-00000-old", -300, sql=(SQL,)).revision(OLD, -30, sql=(SQL,))
        .revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
        .requests("backend-00000-old", -90, -30, 40).requests(OLD, -30, -10, 40)
        .requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
        .latency(OLD, -30, -10, 0.2).latency(NEW, -10, 5, 0.4))

    result = diagnose(e.bundle(), S)

    assert (result.known_good_revision, result.steps_back) == (OLD, 1), result.summary


def test_a_previous_revision_that_was_deleted_is_not_called_the_first():
    # OLD served before the deploy (Monitoring keeps its series) but is no longer listed: deleted
    # (by hand, or by the 1,000-revision limit). The suspect is not the service's first revision.
    e = quiet_connector(
        Evidence().revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
        .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
        .latency(NEW, -10, 5, 0.4))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION and result.known_good_revision is None, result.summary
    assert "first revision" not in result.no_target_reason
    assert OLD in result.no_target_reason and "no longer listed" in result.no_target_reason
    assert plan(result, e.bundle(), S).action is None


def test_a_no_traffic_deploy_in_between_is_not_a_step_back():
    # `gcloud run deploy --no-traffic` made PREVIEW between OLD and NEW; it never served. OLD served
    # everything until NEW's deploy: going back to it is one release back, not two.
    preview = "backend-00002-pre"
    e = quiet_connector(
        Evidence().revision(OLD, -300, sql=(SQL,)).revision(preview, -40, sql=(SQL,))
        .revision("backend-00003-new", -10, sql=(SQL,)).traffic(**{"backend-00003-new": 100})
        .requests(OLD, -90, -10, 40).requests("backend-00003-new", -10, 5, 18)
        .requests("backend-00003-new", -10, 5, 27, code="500").latency(OLD, -90, -10, 0.2)
        .latency("backend-00003-new", -10, 5, 0.4))

    result = diagnose(e.bundle(), S)

    assert (result.known_good_revision, result.steps_back) == (OLD, 1), result.summary


def test_one_side_of_a_standing_half_and_half_split_is_not_sent_everything():
    # An A/B split held for hours (A and B at 50% each); NEW is deployed at 10% of A's side and fails.
    # Sending 100% to B (the newest clean revision) would end the A/B split and double B's load.
    a, b = "backend-00000-aaa", "backend-00001-bbb"
    e = quiet_connector(
        Evidence().revision(a, -600, sql=(SQL,)).revision(b, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,))
        .traffic(**{a: 40, b: 50, NEW: 10})
        .requests(a, -90, -10, 50).requests(a, -10, 5, 40).requests(b, -90, 5, 50)
        .requests(NEW, -10, 5, 4).requests(NEW, -10, 5, 6, code="500")
        .latency(a, -90, 5, 0.2).latency(b, -90, 5, 0.2).latency(NEW, -10, 5, 0.2))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION and result.known_good_revision is None, result.summary
    assert "50%" in result.no_target_reason


def test_a_previous_revision_deployed_minutes_before_the_suspect_is_judged_on_its_own_minutes():
    # Two deploys in quick succession: OLD replaced the older revision at -14m and took everything;
    # NEW replaced it at -10m and fails. OLD's share counts from its own deploy, not over minutes
    # in which it did not exist yet.
    e = quiet_connector(
        Evidence().revision("backend-00000-old", -300, sql=(SQL,)).revision(OLD, -14, sql=(SQL,))
        .revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
        .requests("backend-00000-old", -90, -14, 40).requests(OLD, -14, -10, 40)
        .requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
        .latency(OLD, -14, -10, 0.2).latency(NEW, -10, 5, 0.4))

    result = diagnose(e.bundle(), S)

    assert (result.known_good_revision, result.steps_back) == (OLD, 1), result.summary


def test_a_failing_revision_reached_only_by_its_tag_is_named_and_not_rolled_back():
    # `--no-traffic --tag canary`: NEW has no share, testers reach it by its tagged URL, and it fails.
    # Moving the split changes nothing its tag serves; the finding names it for the person.
    e = quiet_connector(
        Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{OLD: 100})
        .tag(NEW, "canary").requests(OLD, -90, 5, 40).requests(NEW, -10, 5, 4).requests(NEW, -10, 5, 6, code="500")
        .latency(OLD, -90, 5, 0.2).latency(NEW, -10, 5, 0.2))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert NEW in result.summary and "canary" in result.summary and "tag" in result.summary
    assert plan(result, e.bundle(), S).action is None


# The previous revision's hour before the deploy is clean in sum, but its last minutes were not: a
# dependency getting worse, or a deploy made into a failure that had already begun. Sending traffic
# back brings that failure back; a person decides. Minutes are relative to the incident (NEW at -9).
JUST_BEFORE = {
    "failing 4% in the 6 minutes before the deploy (0.4% over the hour)": dict(
        failing_from=-15, per_minute=4, target=None),
    "failing 1 request a minute in its last 2 minutes (under 1% of those 10 minutes)": dict(
        failing_from=-11, per_minute=1, target=OLD),
    "clean to the deploy": dict(failing_from=None, per_minute=0, target=OLD),
}


@pytest.mark.parametrize("case", JUST_BEFORE.values(), ids=JUST_BEFORE.keys())
def test_a_previous_revision_failing_just_before_the_deploy_is_not_known_good(case):
    e = (Evidence().revision(OLD, -3000, sql=(SQL,)).revision(NEW, -9, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -120, -9, 100).requests(NEW, -9, 5, 75).requests(NEW, -9, 5, 25, code="500")
         .latency(OLD, -120, -9, 0.2).latency(NEW, -9, 5, 0.2))
    if case["failing_from"] is not None:
        e.requests(OLD, case["failing_from"], -9, case["per_minute"], code="500")
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == case["target"], result.summary
    if case["target"] is None:
        assert OLD in result.no_target_reason and "already failing" in result.no_target_reason
        assert plan(result, e.bundle(), S).action is None
    else:
        assert plan(result, e.bundle(), S).action == "rollback_traffic"


# A revision that Cloud Run refused callers for before the deploy (429 at its max instances: "The
# request was aborted because there was no available instance.") failed them as surely as one
# answering 500: sending traffic back brings those refusals back. An application's own 429s (an
# API's rate limiting, far under max instances) are answers, and do not count. Cloud Run's are told
# by the candidate at its max instances, or its refusal text in the logs. NEW is created at -9.
REFUSED_BEFORE = {
    "Cloud Run refusing 20% at its max instances over its last hour": dict(
        refused_from=-120, per_minute=25, at_max=True, text=False, target=None),
    "Cloud Run refusing 4% at its max instances in its last minutes only": dict(
        refused_from=-15, per_minute=4, at_max=True, text=False, target=None),
    "Cloud Run's refusal text, not at max instances by the metric": dict(
        refused_from=-120, per_minute=25, at_max=False, text=True, target=None),
    "the application's own 429s (rate limiting), 5%, far under max instances": dict(
        refused_from=-120, per_minute=5, at_max=False, text=False, target=OLD),
    "a 429 now and then (under 1%) at max instances": dict(
        refused_from=-120, per_minute=0.5, at_max=True, text=False, target=OLD),
    "no 429 at all": dict(refused_from=None, per_minute=0, at_max=False, text=False, target=OLD),
}


@pytest.mark.parametrize("case", REFUSED_BEFORE.values(), ids=REFUSED_BEFORE.keys())
def test_a_previous_revision_refused_by_cloud_run_is_not_known_good(case):
    e = (Evidence().revision(OLD, -3000, sql=(SQL,), max_instances=10).revision(NEW, -9, sql=(SQL,), max_instances=30)
         .traffic(**{NEW: 100})
         .requests(OLD, -120, -9, 100).requests(NEW, -9, 5, 60).requests(NEW, -9, 5, 60, code="500")
         .latency(OLD, -120, -9, 0.2).latency(NEW, -9, 5, 0.2)
         .instances(OLD, -120, -9, 10 if case["at_max"] else 4).instances(NEW, -9, 5, 12))
    if case["refused_from"] is not None:
        e.requests(OLD, case["refused_from"], -9, case["per_minute"], code="429")
    if case["text"]:
        e.log(-10, "The request was aborted because there was no available instance.", revision=OLD, count=5,
              log_id="run.googleapis.com/requests", severity="WARNING")
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == case["target"], result.summary
    if case["target"] is None:
        assert OLD in result.no_target_reason and "429" in result.no_target_reason, result.no_target_reason
        assert plan(result, e.bundle(), S).action is None
    else:
        assert plan(result, e.bundle(), S).action == "rollback_traffic"


# Two deploys in quick succession: MID replaced OLDEST at -16 and took everything; NEWEST replaced MID
# at -8 and fails 60%. What MID did decides: clean, it is one release back; failing too, the target is
# OLDEST, which carried the whole load until MID's deploy (not "a share of a rollout" because MID
# took most of the 10 minutes before NEWEST's), two releases back: past automation's bound, named.
OLDEST, MID = "backend-00001-abc", "backend-00002-mid"
SUCCESSION = {
    "the middle one clean": dict(mid_500=0, target=MID, steps=1, action="rollback_traffic"),
    "the middle one failing a third": dict(mid_500=14, target=OLDEST, steps=2, action="rollback_traffic"),
}


@pytest.mark.parametrize("case", SUCCESSION.values(), ids=SUCCESSION.keys())
def test_two_deploys_in_quick_succession_judge_each_revision_before_its_own_replacement(case):
    e = (Evidence().revision(OLDEST, -300, sql=(SQL,)).revision(MID, -16, sql=(SQL,))
         .revision("backend-00003-fix", -8, sql=(SQL,)).traffic(**{"backend-00003-fix": 100})
         .requests(OLDEST, -120, -16, 40).requests(MID, -16, -8, 42 - case["mid_500"])
         .requests("backend-00003-fix", -8, 5, 17).requests("backend-00003-fix", -8, 5, 26, code="500")
         .latency(OLDEST, -120, -16, 0.2).latency(MID, -16, -8, 0.2).latency("backend-00003-fix", -8, 5, 0.2))
    if case["mid_500"]:
        e.requests(MID, -16, -8, case["mid_500"], code="500")
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert (result.known_good_revision, result.steps_back) == (case["target"], case["steps"]), result.summary
    assert "share of a rollout" not in result.summary
    if case["steps"] > 1:
        assert MID in result.summary and "failing too" in result.summary, result.summary
    planned = plan(result, e.bundle(), S)
    assert planned.action == case["action"] and planned.params.steps_back == case["steps"]
    # Two releases back is past what automation may do alone: the gate refuses it, naming the steps.
    assert (planned.params.steps_back > MAX_AUTOMATIC_STEPS) == (case["steps"] > 1)


PREVIEW = "backend-00002-pre"

# (what served in the quiet hour before NEWEST's deploy at -12: OLD's and PREVIEW's requests a minute, and
# over which minutes PREVIEW's came; the rollback target expected). The last 10 minutes before the deploy
# hold fewer than min_requests requests: the share is judged over the hour before instead.
QUIET_ROWS = [
    # A `--no-traffic --tag preview` revision a tester opened: clean, 26 requests, 40% of the hour's.
    ("a tagged preview a tester opened", 1, (-46, -20), 1, None),
    # The same preview opened all hour long: still 39% of the requests, never the load.
    ("a preview opened all hour", 1, (-50, -12), 0.65, None),
    # A quiet night on a revision that carried all of it: the night's trickle is the whole load.
    ("a night's trickle on the revision that carried it", 1, None, 0, "old"),
]


@pytest.mark.parametrize("why,old_rate,preview_minutes,preview_rate,expected", QUIET_ROWS,
                         ids=[r[0] for r in QUIET_ROWS])
def test_a_quiet_hour_judges_the_share_over_the_hour_before_the_deploy(why, old_rate, preview_minutes,
                                                                      preview_rate, expected):
    e = Evidence().revision(OLD, -600, sql=(SQL,))
    if preview_minutes:
        e.revision(PREVIEW, -50, sql=(SQL,)).requests(PREVIEW, *preview_minutes, preview_rate).tag(PREVIEW, "preview")
    e = quiet_connector(
        e.revision(NEWEST, -12, sql=(SQL,)).traffic(**{NEWEST: 100})
        .requests(OLD, -90, -12, old_rate).requests(NEWEST, -12, 5, 14).requests(NEWEST, -12, 5, 15, code="500")
        .latency(OLD, -90, -12, 0.9).latency(NEWEST, -12, 5, 0.9))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == NEWEST, result.summary
    assert result.known_good_revision == (OLD if expected == "old" else None), result.summary
    if expected is None:
        assert PREVIEW in result.no_target_reason and "before" in result.no_target_reason
        assert plan(result, e.bundle(), S).action is None
