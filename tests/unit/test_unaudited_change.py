"""A person's change of the service with no audit entry read for it (unaudited_change.py): the same canary as
tests/unit/test_rollout_step_audited.py, its split moved at -5 by someone whose Admin Activity entry is not read
(the audit read failed: `audit` None, or it holds no entry for the change). Service.last_modifier and update_time
(google/cloud/run/v2/service.proto) still say who changed the service and when: a person then stands automation
down with their name and the time, as their audited move does; a service account's step (a rollout tool's:
release_pipeline.rollout_mover) whose entry is not read stands down too, as UNKNOWN (a person may have acted
through the account); Runwarden's own write, a workload identity pool's, the canary's own deploy, a change before
the window the audit log is read over, or one an audit entry accounts for (from its operation's first entry to its
last) do not."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.remediation.planning import plan

from tests.unit.builders import at
from tests.unit.test_rollout_step_audited import CI, DEPLOYED, PERSON, POOL, STEP, UPDATE, WORKFORCE, _canary

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
    # Anyone may act through an account (`--impersonate-service-account`): only the entry's delegation says who.
    ("a CI account's change, the audit read failed (a person may have acted through it)", CI, -5, [], NO_READ, True),
    ("... the audit read, no entry for it (late)", CI, -5, [], NO_ENTRY, True),
    ("... its deploy's entry read, not the step's", CI, -5, [(DEPLOYED, CI, None, (), UPDATE)], NO_ENTRY, True),
    ("... the step read from its entry (the account acting as itself)", CI, -5, [(-5, CI, STEP, (), UPDATE)],
     NO_ENTRY, False),
    ("... a pipeline acting through it (Cloud Build's account), read from its entry", CI, -5,
     [(-5, CI, STEP, ("123@cloudbuild.gserviceaccount.com",), UPDATE)], NO_ENTRY, False),
    ("... a person acting through it, read from its entry", CI, -5, [(-5, CI, STEP, (PERSON,), UPDATE)], NO_ENTRY,
     True),
    ("the CI account's own deploy of the canary, no entry read", CI, -10 - 5 / 60, [], NO_READ, False),
    # Workload identity federation with direct access: the pool's principal, a pipeline's own identity.
    ("a workload identity pool's principal (a pipeline)", POOL, -5, [], NO_READ, False),
    ("a workforce pool's principal (a person)", WORKFORCE, -5, [], NO_READ, True),
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


def test_an_accounts_change_with_no_entry_says_who_acted_through_it_is_not_known():
    result = diagnose(_bundle(CI, -5, [], NO_ENTRY), S)

    assert f"through the service account {CI} at {at(-5):%H:%M:%S}" in result.stand_down, result.stand_down
    assert "no audit entry read says who acted through it" in result.stand_down, result.stand_down


# A deploy that takes minutes to be ready: NEW created at -10, its entry asked at -10 (first) and, as a merged
# operation, ended when it served (LogRecord.operation_ended_at); update_time 2.5 min after create_time. Whether
# update_time is stamped when the update is asked or when it reconciles is UNCONFIRMED: either is its own.
# (case, last_modifier, update_time, its entry: (principalEmail, principalSubject), ended (minutes), stands down)
SLOW = [
    ("a person's deploy, ready 2.5 min later, update_time at its end", PERSON, -7.5, (PERSON, None), -7.5, False),
    ("... update_time when it was asked", PERSON, -10 - 5 / 60, (PERSON, None), -7.5, False),
    ("... its last entry not read (update_time 2.5 min after its first)", PERSON, -7.5, (PERSON, None), None, True),
    ("... a later change of the same person, after the deploy ended", PERSON, -4, (PERSON, None), -7.5, True),
    ("a workforce person's deploy (principalSubject, no email)", WORKFORCE, -7.5, (None, WORKFORCE), -7.5, False),
    ("... another principal's deploy", PERSON, -7.5, (None, WORKFORCE), -7.5, True),
]


@pytest.mark.parametrize("case,by,minute,entry,ended,stands_down", SLOW, ids=[c[0] for c in SLOW])
def test_a_deploys_update_anywhere_in_its_operation_is_its_own(case, by, minute, entry, ended, stands_down):
    bundle = _bundle(by, minute, [(DEPLOYED, PERSON, STEP, (), UPDATE)], NO_ENTRY)
    principal, subject = entry
    [deploy] = bundle.audit.entries
    deploy = deploy.model_copy(update={"principal": principal, "principal_subject": subject,
                                       "operation_ended_at": at(ended) if ended is not None else None})
    bundle = bundle.model_copy(update={"audit": bundle.audit.model_copy(update={"entries": (deploy,)})})

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")
