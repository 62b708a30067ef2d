"""A rollback target with a steady background of 5xx: the bar it is judged at (shared/diagnosis/background.py)."""

import pytest

from shared.diagnosis.background import target_bar

CLEAN, CEILING = 0.01, 0.03

# (case, alert_bar, hour, just_before, new_share, known good)
ROWS = [
    ("steady 2 % under a 5 % alert, new revision at 40 %", 0.05, 0.02, 0.019, 0.40, True),
    # Too quiet just before the deploy and over the latter half of the baseline (the rule's wider reading):
    # a share rising into the deploy is not ruled out, and a background must be shown steady.
    ("steady 2 %, the minutes before the deploy too quiet to tell", 0.05, 0.02, None, 0.40, False),
    ("clean as ever", None, 0.005, 0.004, 0.40, True),
    ("no alert share bar read", None, 0.02, 0.02, 0.40, False),
    ("background at the alert's bar", 0.02, 0.02, 0.02, 0.40, False),
    ("background over the alert's bar", 0.015, 0.02, 0.02, 0.40, False),
    ("background over the ceiling", 0.10, 0.05, 0.05, 0.80, False),
    ("background rising before the deploy", 0.05, 0.02, 0.045, 0.40, False),
    ("new revision not ten times the background", 0.05, 0.02, 0.02, 0.15, False),
]


@pytest.mark.parametrize(("alert_bar", "hour", "just_before", "new_share", "good"),
                         [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_background_counts_only_steady_under_both_bars(alert_bar, hour, just_before, new_share, good):
    bar, why_not = target_bar(CLEAN, CEILING, alert_bar, hour, just_before, new_share)
    assert bar.holds(hour) is good
    assert (why_not == "") is good
    if just_before is not None and good:
        assert bar.holds(just_before)


@pytest.mark.parametrize("share", [0.02, 0.029, 0.03])
def test_the_target_is_held_to_its_bar_after_the_deploy_too(share):
    bar, _ = target_bar(CLEAN, CEILING, 0.05, 0.02, 0.02, 0.40)
    assert bar.holds(share)
    assert not bar.holds(0.031)
    assert "2.0% before the deploy, under the alert's 5.0% bar" in bar.why


# --- The rule, end to end: a deploy failing 40 % beside a revision before with a background of 5xx. ---

from shared.config import DiagnosisSettings  # noqa: E402
from shared.diagnosis.diagnose import diagnose  # noqa: E402
from shared.diagnosis.signatures import Signature  # noqa: E402
from shared.remediation.planning import plan  # noqa: E402

from tests.unit.builders import FIVE_XX_RATIO, SQL, Evidence  # noqa: E402
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector  # noqa: E402

S = DiagnosisSettings()


def _deployed(background: list[tuple[float, float, float]], new_failed: float = 40) -> Evidence:
    """OLD served 100 requests a minute until NEW took the traffic at -10 (`new_failed` of 100 a minute 500);
    `background` is OLD's 500s a minute before the deploy, (start, end, per minute), in place of as many 200s."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 100).requests(NEW, -10, 5, 100 - new_failed)
         .requests(NEW, -10, 5, new_failed, code="500").latency(OLD, -90, -10, 0.2).latency(NEW, -10, 5, 0.4))
    for start, end, per_minute in background:
        e.requests(OLD, start, end, -per_minute).requests(OLD, start, end, per_minute, code="500")
    return quiet_connector(e)


STEADY = [(-90, -10, 2)]
# (case, OLD's 500s a minute, the alert, the target expected)
RULE_ROWS = [
    ("a steady 2 % under the alert's 5 %", STEADY, FIVE_XX_RATIO, OLD),
    ("a steady 2.9 % under the alert's 5 %", [(-90, -10, 2.9)], FIVE_XX_RATIO, OLD),
    ("no alert read: the clean share stands", STEADY, None, None),
    ("over the alert's own 1.5 %", STEADY, FIVE_XX_RATIO.model_copy(update={"threshold": 0.015}), None),
    ("over the 3 % ceiling", [(-90, -10, 4)], FIVE_XX_RATIO, None),
    ("rising before the deploy: 1 % to 5 %", [(-90, -20, 1), (-20, -10, 5)], FIVE_XX_RATIO, None),
]
# (case, OLD's 500s a minute, OLD's minutes at a trickle before the deploy (start, end, requests a minute),
# the target expected)
QUIET_ROWS = [
    ("its last 10 minutes at a trickle, its last half hour steady", [(-90, -20, 2)], (-20, -10, 1), OLD),
    ("its last half hour at a trickle: not shown steady", [(-90, -40, 2)], (-40, -10, 0.5), None),
]


@pytest.mark.parametrize(("background", "alert", "expected"), [r[1:] for r in RULE_ROWS], ids=[r[0] for r in RULE_ROWS])
def test_a_steady_background_keeps_the_revision_before_a_rollback_target(background, alert, expected):
    bundle = _deployed(background).bundle().model_copy(update={"alert": alert})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == NEW, result.summary
    assert result.known_good_revision == expected, result.summary
    assert plan(result, bundle, S).action == ("rollback_traffic" if expected else None)


@pytest.mark.parametrize(("background", "quiet", "expected"), [r[1:] for r in QUIET_ROWS],
                         ids=[r[0] for r in QUIET_ROWS])
def test_a_background_too_quiet_to_show_steady_before_the_deploy_is_refused(background, quiet, expected):
    start, end, per_minute = quiet
    evidence = _deployed(background)
    evidence.requests(OLD, start, end, per_minute - 100)
    bundle = evidence.bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION and result.known_good_revision == expected, result.summary
    if expected is None:
        assert "too few requests to show its 2.0% 5xx steady" in result.no_target_reason, result.no_target_reason


def test_the_citation_says_the_background_and_the_alerts_bar():
    bundle = _deployed(STEADY).bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)

    said = " ".join(f"{e.observed} {e.threshold}" for e in result.evidence)
    assert f"{OLD}'s 2.0% failed before the deploy as a steady background" in said, said
    assert "under the alert's 5.0% bar" in said, said



def test_the_diagnosis_hands_the_background_to_the_plan():
    bundle = _deployed(STEADY).bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)
    kept = plan(result, bundle, S).target_background

    assert result.target_background == kept and kept is not None and kept.revision == OLD, result.summary
    assert kept.share == pytest.approx(0.02) and kept.ratio == pytest.approx(0.03) and kept.alert_bar == 0.05


def test_a_clean_target_hands_no_background():
    bundle = _deployed([]).bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    assert plan(diagnose(bundle, S), bundle, S).target_background is None


# --- A canary beside the revision with the background: its steady share since the deploy is its usual. ---

def _canary(since_deploy: float, before: float = 2, canary_failed: float = 4) -> Evidence:
    """NEW took 10 % at -10 (`canary_failed` of its 10 requests a minute 500); OLD keeps 90 a minute, `before` of
    100 a minute 500 before the deploy and `since_deploy` of 90 since."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{OLD: 90, NEW: 10})
         .requests(OLD, -90, -10, 100 - before).requests(OLD, -90, -10, before, code="500")
         .requests(OLD, -10, 5, 90 - since_deploy).requests(OLD, -10, 5, since_deploy, code="500")
         .requests(NEW, -10, 5, 10 - canary_failed).requests(NEW, -10, 5, canary_failed, code="500")
         .latency(OLD, -90, 5, 0.2).latency(NEW, -10, 5, 0.4))
    return quiet_connector(e)


# (case, OLD's 500s a minute since the deploy (of 90), before it (of 100), the alert, the target expected)
CANARY_ROWS = [
    ("its steady 2 % on, the canary at 40 %", 1.8, 2, FIVE_XX_RATIO, OLD),
    ("clean beside the canary, as ever", 0, 0, FIVE_XX_RATIO, OLD),
    ("risen to 4 % since the deploy: held", 3.6, 2, FIVE_XX_RATIO, None),
    ("2 % since, clean before: held", 1.8, 0, FIVE_XX_RATIO, None),
    ("no alert share bar read: held", 1.8, 2, None, None),
]


@pytest.mark.parametrize(("since", "before", "alert", "expected"), [r[1:] for r in CANARY_ROWS],
                         ids=[r[0] for r in CANARY_ROWS])
def test_a_canary_beside_a_steady_background_is_rolled_back(since, before, alert, expected):
    bundle = _canary(since, before).bundle().model_copy(update={"alert": alert})

    result = diagnose(bundle, S)

    assert (result.signature, result.known_good_revision) == (
        (Signature.BAD_REVISION, OLD) if expected else (result.signature, None)), result.summary
    if expected is None:
        assert not plan(result, bundle, S).action, result.summary
