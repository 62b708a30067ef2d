"""A person's change of the service with no audit entry read for it (unaudited_change.py): the same canary as
tests/unit/test_rollout_step_audited.py, its split moved at -5 by someone whose Admin Activity entry is not read
(the audit read failed: `audit` None, or it holds no entry for the change). Service.last_modifier and update_time
(google/cloud/run/v2/service.proto) still say who changed the service and when: a person then stands automation
down with their name and the time, as their audited move does; a service account's step (a rollout tool's:
release_pipeline.rollout_mover), Runwarden's own write, the canary's own deploy, a change before the window the
audit log is read over, or one an audit entry accounts for do not."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.remediation.planning import plan

from tests.unit.builders import at
from tests.unit.test_rollout_step_audited import CI, PERSON, STEP, UPDATE, _canary

RUNWARDEN = "runwarden@demo.iam.gserviceaccount.com"
S = DiagnosisSettings(self_principals=(RUNWARDEN,))
NO_ENTRY, NO_READ = "audit read, no entry for it", "audit not read"
# (case, last_modifier, update_time (minutes), the audit entries read, how the audit was read, stands down)
CASES = [
    ("a person moved the split, its entry not read", PERSON, -5, [], NO_ENTRY, True),
    ("... the audit read failed", PERSON, -5, [], NO_READ, True),
    ("... the same move read from its entry", PERSON, -5, [(-5, PERSON, STEP, (), UPDATE)], NO_ENTRY, True),
    ("a person changed it after the incident began", PERSON, 2, [], NO_READ, True),
    ("a person acting through an email of no known form", "alice", -5, [], NO_READ, True),
    ("a CI job's account stepped it (a rollout tool)", CI, -5, [], NO_READ, False),
    ("... the step read from its entry", CI, -5, [(-5, CI, STEP, (), UPDATE)], NO_ENTRY, False),
    ("Runwarden's own write", RUNWARDEN, -5, [], NO_READ, False),
    ("the person's change is the canary's own deploy (5 s before it)", PERSON, -10 - 5 / 60, [], NO_READ, False),
    ("the person's change is before the window the audit log is read over", PERSON, -31, [], NO_READ, False),
    ("not read at all (no last_modifier)", "", -5, [], NO_READ, False),
]


def _bundle(by: str, minute: float, writes: list, reading: str):
    bundle = _canary(*writes).bundle()
    service = bundle.service.model_copy(update={"last_modifier": by, "update_time": at(minute)})
    return bundle.model_copy(update={"service": service, "audit": None if reading == NO_READ else bundle.audit})


@pytest.mark.parametrize("case,by,minute,writes,reading,stands_down", CASES, ids=[c[0] for c in CASES])
def test_a_persons_change_with_no_entry_read_stands_down_as_its_entry_would(case, by, minute, writes, reading,
                                                                             stands_down):
    bundle = _bundle(by, minute, writes, reading)

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert result.suspect_revision == "backend-00002-xyz", result.summary
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")


def test_the_hold_names_the_person_and_the_time_and_says_what_is_not_known():
    result = diagnose(_bundle(PERSON, -5, [], NO_READ), S)

    assert result.stand_down.startswith("recent human change: "), result.stand_down
    assert f"by {PERSON} at {at(-5):%H:%M:%S}" in result.stand_down, result.stand_down
    assert "no audit entry read says what it changed" in result.stand_down, result.stand_down
    [item] = [i for i in result.evidence if i.about == "stand_down"]
    assert item.role == "supports" and item.source == "api" and "last_modifier" in item.query


def test_a_persons_audited_move_is_said_once_not_twice():
    result = diagnose(_bundle(PERSON, -5 + 15 / 3600, [(-5, PERSON, STEP, (), UPDATE)], NO_ENTRY), S)

    assert result.stand_down.count(PERSON) == 1, result.stand_down
    assert "last_modifier" not in result.stand_down, result.stand_down


def test_the_window_is_the_audit_reads_own():
    settings = DiagnosisSettings(self_principals=(RUNWARDEN,), manual_change_window_seconds=3600)

    result = diagnose(_bundle(PERSON, -31, [], NO_READ), settings)

    assert result.stand_down and timedelta(seconds=settings.manual_change_window_seconds) > timedelta(minutes=31)
