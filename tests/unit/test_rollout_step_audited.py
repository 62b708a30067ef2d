"""A rollout tool's traffic step, read from its audit entry, is context, not a person at work
(diagnose._rollout_steps). A canary deployed at -10 with no traffic, then stepped 0 -> 10 % at -5 by a CI job's
service account acting as itself: the Admin Activity entry of that UpdateService (always written: Admin Activity
audit logs cannot be disabled, Cloud Audit Logs overview) names the account, and its request holds the split
(AuditLog.request, google/cloud/audit/audit_log.proto): the canary is rolled back and the tool named when the
account acted as itself, or a pipeline acted through it (another service account, a workload identity pool). With
no entry read, Service.last_modifier names the account alone, and the step is held as not known whose
(tests/unit/test_unaudited_change.py). A person's move (as themselves, or through the account), a delegate that does not say who it was, a step away from the failing revision (the share before read from the latest
earlier split, its own deploy entry's included), a step of a revision no bad_revision finding blames, a move of
another revision's share, a change that is not traffic, a split not read, or several accounts in the window stand
automation down."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
CI = "ci-deployer@demo.iam.gserviceaccount.com"
PERSON = "alice@example.com"
UPDATE = "google.cloud.run.v2.Services.UpdateService"
SET_IAM = "google.cloud.run.v2.Services.SetIamPolicy"
POOL = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github/subject/repo:acme/app"
WORKFORCE = "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice@acme.example"


def _canary(*writes: tuple[float, str, tuple[tuple[str, int], ...] | None, tuple[str, ...], str]) -> Evidence:
    """OLD served everything; NEW (deployed at -10 with no traffic) takes 10 % of 100 requests a minute from -5 and
    answers 60 % of them with 500. `writes`: audit entries (minute, principal, requested split, delegates, method)."""
    e = quiet_connector(
        Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,))
        .traffic(**{OLD: 90, NEW: 10})
        .requests(OLD, -90, -5, 100).requests(OLD, -5, 5, 90)
        .requests(NEW, -5, 5, 4).requests(NEW, -5, 5, 6, code="500")
        .latency(OLD, -90, 5, 0.2).latency(NEW, -5, 5, 0.2))
    for minute, principal, split, delegates, method in writes:
        e.audits.append(LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                                  text=method, method_name=method, principal=principal, delegates=delegates,
                                  traffic=split))
    return e


STEP = ((OLD, 90), (NEW, 10))
DEPLOYED = -10 - 1 / 60   # the deploy's entry, 1 s before NEW's create_time
# (case, the audit entries read, stands down)
CASES = [
    ("a CI job's account steps the canary 0 -> 10 %", [(-5, CI, STEP, (), UPDATE)], False),
    ("... by a LATEST target (the newest revision)", [(-5, CI, ((OLD, 90), ("", 10)), (), UPDATE)], False),
    ("... in two steps, 0 -> 5 -> 10 %", [(-7, CI, ((OLD, 95), (NEW, 5)), (), UPDATE), (-5, CI, STEP, (), UPDATE)],
     False),
    ("a person steps it", [(-5, PERSON, STEP, (), UPDATE)], True),
    ("a person acting through the CI account (delegation)", [(-5, CI, STEP, (PERSON,), UPDATE)], True),
    ("a workforce pool's person acting through the CI account", [(-5, CI, STEP, (WORKFORCE,), UPDATE)], True),
    ("a delegate kept only as a third party principal", [(-5, CI, STEP, ("a third party principal",), UPDATE)], True),
    ("a pipeline acting through the CI account (Cloud Build's account impersonating it)",
     [(-5, CI, STEP, ("123@cloudbuild.gserviceaccount.com",), UPDATE)], False),
    ("a pipeline acting through the CI account from a workload identity pool", [(-5, CI, STEP, (POOL,), UPDATE)],
     False),
    ("the tool steps it away, 50 -> 10 % (a rollback under way)",
     [(-7, CI, ((OLD, 50), (NEW, 50)), (), UPDATE), (-5, CI, STEP, (), UPDATE)], True),
    ("a move of another revision's share (NEW kept at 10 %)",
     [(-7, CI, STEP, (), UPDATE), (-5, CI, ((OLD, 80), (NEW, 10), ("backend-00000-old", 10)), (), UPDATE)], True),
    ("a change that is not traffic (an IAM policy)", [(-5, CI, None, (), SET_IAM)], True),
    ("a traffic write whose request holds no split", [(-5, CI, None, (), UPDATE)], True),
    ("the step by the CI account beside a person's change", [(-8, PERSON, None, (), SET_IAM), (-5, CI, STEP, (), UPDATE)],
     True),
    ("two accounts: a second service account's step beside the CI job's",
     [(-7, "other@demo.iam.gserviceaccount.com", ((OLD, 95), (NEW, 5)), (), UPDATE), (-5, CI, STEP, (), UPDATE)], True),
    # The canary's own deploy entry (1 s before its create_time) holds the split it was given: the share before.
    ("its deploy gave it everything (LATEST 100), then the tool steps it down to 10 % (a step away)",
     [(DEPLOYED, CI, (("", 100),), (), UPDATE), (-5, CI, STEP, (), UPDATE)], True),
    ("its deploy gave it everything by name, then the tool steps it down to 10 %",
     [(DEPLOYED, CI, ((NEW, 100),), (), UPDATE), (-5, CI, STEP, (), UPDATE)], True),
    ("its deploy gave it nothing (--no-traffic, OLD 100), then the tool steps it 0 -> 10 %",
     [(DEPLOYED, CI, ((OLD, 100),), (), UPDATE), (-5, CI, STEP, (), UPDATE)], False),
]


@pytest.mark.parametrize("case,writes,stands_down", CASES, ids=[c[0] for c in CASES])
def test_a_rollout_tools_step_is_context_and_everything_else_stands_down(case, writes, stands_down):
    bundle = _canary(*writes).bundle()

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert result.suspect_revision == NEW and result.known_good_revision == OLD, result.summary
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")
    said = [i.observed for i in result.evidence if i.about == "stand_down"]
    assert said and ("rollout tool" in said[-1]) is not stands_down, said   # the newest write decides


def test_the_step_is_named_with_its_account_its_shares_and_what_to_stop():
    result = diagnose(_canary((-5, CI, STEP, (), UPDATE)).bundle(), S)

    [step] = [i for i in result.evidence if i.about == "stand_down"]
    assert step.role == "context" and step.passed is False
    assert CI in step.observed and "from 0% to 10%" in step.observed and "300 s after" in step.observed
    assert "stop its rollout" in step.observed


def test_a_step_of_a_clean_canary_while_the_old_revision_fails_stands_down():
    """The step is context only when it steps the revision a bad_revision finding blames: here OLD fails (50 % 5xx)
    and NEW, the canary the CI account steps 0 -> 10 %, is clean; the pipeline may be rolling out the fix."""
    e = quiet_connector(
        Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,))
        .traffic(**{OLD: 90, NEW: 10})
        .requests(OLD, -90, -5, 100).requests(OLD, -5, 5, 45).requests(OLD, -5, 5, 45, code="500")
        .requests(NEW, -5, 5, 10)
        .latency(OLD, -90, 5, 0.2).latency(NEW, -5, 5, 0.2))
    e.audits.append(LogRecord(timestamp=at(-5), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                              text=UPDATE, method_name=UPDATE, principal=CI, traffic=STEP))
    bundle = e.bundle()

    result = diagnose(bundle, S)

    assert result.stand_down, result.summary
    said = [i.observed for i in result.evidence if i.about == "stand_down"]
    assert said and not any("rollout tool" in s for s in said), said
    assert plan(result, bundle, S).action is None


def _deployed_without_split(served_before_step: int) -> Evidence:
    """NEW deployed at -10 by the CI account, its deploy's entry holding no `traffic` (AuditLog.request without the
    split), serving `served_before_step` % of 100 requests a minute until the tool's step to 10 % at -5 (OLD 90,
    NEW 10), failing 60 % of what it serves."""
    before = served_before_step
    e = quiet_connector(
        Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,))
        .traffic(**{OLD: 90, NEW: 10})
        .requests(OLD, -90, -10, 100).requests(OLD, -10, -5, 100 - before).requests(OLD, -5, 5, 90)
        .requests(NEW, -5, 5, 4).requests(NEW, -5, 5, 6, code="500")
        .latency(OLD, -90, 5, 0.2).latency(NEW, -10, 5, 0.2))
    if before:
        e = e.requests(NEW, -10, -5, before * 4 // 10).requests(NEW, -10, -5, before * 6 // 10, code="500")
    for minute, split in ((DEPLOYED, None), (-5, STEP)):
        e.audits.append(LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                                  text=UPDATE, method_name=UPDATE, principal=CI, traffic=split))
    return e


# What Cloud Run did with the deploy's update without `traffic` (diagnose._rollout_steps): the share NEW served until
# the step says it. (case, NEW's share served between its deploy and the step, stands down)
NO_SPLIT_READINGS = [
    ("no traffic means 100% to the latest ready revision (service.proto): it served all, the step to 10 % is a step "
     "away", 100, True),
    ("the split in force was kept (a pin to OLD): it served nothing, the step to 10 % is a step up", 0, False),
]


@pytest.mark.parametrize("case,served,stands_down", NO_SPLIT_READINGS, ids=[c[0] for c in NO_SPLIT_READINGS])
def test_a_deploy_whose_entry_holds_no_split_is_read_by_what_its_revision_served(case, served, stands_down):
    bundle = _deployed_without_split(served).bundle()

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")
    if not stands_down:
        [step] = [i for i in result.evidence if "rollout tool" in i.observed]
        assert "from 0% to 10%" in step.observed, step.observed
