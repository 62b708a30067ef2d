"""A rollout tool's traffic step, read from its audit entry, is context, not a person at work
(diagnose._rollout_steps). A canary deployed at -10 with no traffic, then stepped 0 -> 10 % at -5 by a CI job's
service account acting as itself: the Admin Activity entry of that UpdateService (always written: Admin Activity
audit logs cannot be disabled, Cloud Audit Logs overview) names the account, and its request holds the split
(AuditLog.request, google/cloud/audit/audit_log.proto). Service.last_modifier reads the same step as a rollout
tool's when no entry is read (release_pipeline.rollout_mover): both readings roll the canary back and name the
tool when the account acted as itself. A person's move, a service account someone acted through (impersonation,
where the two readings still differ), a step away from the failing revision (the share before read from the latest
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
