"""A rollback target with a steady background of 5xx: the bar it is judged at (shared/diagnosis/background.py)."""

import pytest

from shared.diagnosis.background import target_bar

CLEAN, CEILING = 0.01, 0.03

# (case, alert_bar, hour, just_before, new_share, known good)
ROWS = [
    ("steady 2 % under a 5 % alert, new revision at 40 %", 0.05, 0.02, 0.019, 0.40, True),
    ("steady 2 %, the last minutes too quiet to tell", 0.05, 0.02, None, 0.40, True),
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


@pytest.mark.parametrize(("background", "alert", "expected"), [r[1:] for r in RULE_ROWS], ids=[r[0] for r in RULE_ROWS])
def test_a_steady_background_keeps_the_revision_before_a_rollback_target(background, alert, expected):
    bundle = _deployed(background).bundle().model_copy(update={"alert": alert})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == NEW, result.summary
    assert result.known_good_revision == expected, result.summary
    assert plan(result, bundle, S).action == ("rollback_traffic" if expected else None)


def test_the_citation_says_the_background_and_the_alerts_bar():
    bundle = _deployed(STEADY).bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)

    said = " ".join(f"{e.observed} {e.threshold}" for e in result.evidence)
    assert f"{OLD}'s 2.0% failed before the deploy as a steady background" in said, said
    assert "under the alert's 5.0% bar" in said, said
