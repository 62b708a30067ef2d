"""A rollback to a revision with a steady background of 5xx, verified at that background: the bar the sweep
judges it at (shared/diagnosis/background.verified_bar) and the verdict (shared/remediation/judging.judge).
Pure, no I/O."""

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.background import verified_bar
from shared.diagnosis.signatures import TargetBackground
from shared.remediation.judging import HealthKind, StepKind, background_settings, judge, next_step
from shared.remediation.records import ActionRecord
from tests.unit.builders import FIVE_XX_RATIO
from tests.unit.test_verification_judging import OLD, TIMES, rollback, served, sweep_at, swept

S = DiagnosisSettings()
CLEAN = S.healthy_error_ratio

STEADY_2 = TargetBackground(revision=OLD, share=0.02, ratio=0.03, alert_bar=0.05,
                            why="2.0% before the deploy, under the alert's 5.0% bar and the 3.0% ceiling, the new "
                                "revision at 40.0%")

# (case, background kept, the ceiling as set now, the bar judged at)
BAR_ROWS = [
    ("2 % measured, accepted at 3 %: 3 %", STEADY_2, 0.03, 0.03),
    ("1.2 % measured: twice it, 2.4 %", STEADY_2.model_copy(update={"share": 0.012}), 0.03, 0.024),
    ("the alert's own bar lower than the accepted one", STEADY_2.model_copy(update={"alert_bar": 0.025}), 0.03, 0.025),
    ("the ceiling lowered since: 2.5 %", STEADY_2, 0.025, 0.025),
    ("the ceiling lowered under the clean share: clean", STEADY_2, 0.005, CLEAN),
]


@pytest.mark.parametrize(("background", "ceiling", "expected"), [r[1:] for r in BAR_ROWS], ids=[r[0] for r in BAR_ROWS])
def test_the_verification_bar_is_never_over_the_accepted_bar_the_alerts_nor_the_ceiling(background, ceiling, expected):
    assert verified_bar(background, CLEAN, ceiling) == pytest.approx(expected)


def _rolled_back_to(background: TargetBackground | None, **changes) -> ActionRecord:
    alert = FIVE_XX_RATIO.model_copy(update={"revision": ""})
    return rollback().model_copy(update={"target_background": background, "alert": alert, **changes})


def _judged(record: ActionRecord, failed: float):
    evidence = served(6, ok=100 - failed, errors=failed)
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, S)
    return health, next_step(record, health, sweep_at(evidence), TIMES)


OLD_RECORD = rollback().model_dump(mode="python")   # as stored by the version before: no target_background
# (case, record, 500s of 100 a minute on the target since, health, step)
JUDGE_ROWS = [
    ("back at its steady 2 %: verified", _rolled_back_to(STEADY_2), 2, HealthKind.HEALTHY, StepKind.VERIFY),
    ("at 2.9 %, under the 3 % bar: verified", _rolled_back_to(STEADY_2), 2.9, HealthKind.HEALTHY, StepKind.VERIFY),
    ("at 4 %, above its background: not verified", _rolled_back_to(STEADY_2), 4, HealthKind.UNCLEAR, StepKind.WAIT),
    ("1.2 % measured, at 2.9 %: not verified", _rolled_back_to(STEADY_2.model_copy(update={"share": 0.012})), 2.9,
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("no background kept: the clean share", _rolled_back_to(None), 2, HealthKind.UNCLEAR, StepKind.WAIT),
    ("a record of the version before: the clean share", ActionRecord.model_validate(OLD_RECORD), 2,
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("a background of another revision: the clean share",
     _rolled_back_to(STEADY_2.model_copy(update={"revision": "backend-00000-old"})), 2, HealthKind.UNCLEAR,
     StepKind.WAIT),
    ("not a rollback: the clean share", _rolled_back_to(STEADY_2, action="restore_traffic"), 2, HealthKind.UNCLEAR,
     StepKind.WAIT),
]


@pytest.mark.parametrize(("record", "failed", "kind", "step"), [r[1:] for r in JUDGE_ROWS], ids=[r[0] for r in JUDGE_ROWS])
def test_a_rollback_is_judged_at_its_targets_background_only_when_its_record_keeps_it(record, failed, kind, step):
    health, then = _judged(record, failed)

    assert health.kind is kind, health.why
    assert then.kind is step, then.why


def test_the_verdict_names_the_bar_and_the_evidence_it_came_from():
    health, _ = _judged(_rolled_back_to(STEADY_2), 2)

    assert "judged at 3.0% 5xx or 429, the steady background backend-00001-abc was accepted with" in health.why
    assert STEADY_2.why in health.why and "in place of the clean share of 1.0%" in health.why, health.why


def test_the_settings_are_untouched_without_a_background():
    assert background_settings(_rolled_back_to(None), S) == (S, "")


