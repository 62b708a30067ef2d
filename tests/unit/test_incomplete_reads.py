"""A read answered in part is never used as the whole: the diagnosis beside it is escalated.

A log search still paging when its read's 30 s ran out (ListLogEntries hands back pages, even empty ones,
with a next_page_token while "it did not have time to search all the possible log entries":
ListLogEntriesResponse.next_page_token, google/logging/v2/logging.proto), or a ListTimeSeries answer with
execution errors, is a gap (shared.errors.IncompleteReadError) listed in EvidenceBundle.incomplete_reads.
Whatever the rest of the evidence shows, nothing is rolled back or scaled and the service is not called
healthy; the finding, the evidence read and the incomplete read are all in the escalation.
"""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import CallBudget
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle
from shared.diagnosis.signatures import Signature
from shared.errors import IncompleteReadError, PermanentError, TransientError
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_health_bar import _serving
from tests.unit.test_unread_logs_rule_outs import _deploy_failing, _saturated

S = DiagnosisSettings()
LOGS = ("logging: application and system log: ListLogEntries projects/demo: the search had not finished when the "
        "read's 30 s ran out: 7 page(s) read, 0 entries taken (newest first, none found yet), and Logging still "
        "gave a next_page_token [...]; the answer is incomplete and not used as evidence")
AUDIT = ("logging: audit log: ListLogEntries projects/demo: the search had not finished when the read's 30 s ran "
         "out: 3 page(s) read, 12 entries taken (newest first, back to 2026-11-26T11:40:00Z), and Logging still "
         "gave a next_page_token [...]; the answer is incomplete and not used as evidence")
SQL_CPU = ("monitoring: cloudsql database/cpu/utilization: ListTimeSeries cloudsql.googleapis.com/database/cpu/"
           "utilization: the answer may be incomplete (1 execution error(s): code 4: deadline); the answer is not "
           "used as evidence")


def _read_in_part(bundle: EvidenceBundle, *reads: str) -> EvidenceBundle:
    """`bundle` as collection leaves it when `reads` came back in part: each a gap, its source not read
    (the service's logs read in part: `logs` None, as the adapter hands nothing on)."""
    update: dict = {"gaps": bundle.gaps + reads, "incomplete_reads": reads}
    if LOGS in reads:
        update["logs"] = None
    return bundle.model_copy(update=update)


def _healthy() -> EvidenceBundle:
    return _serving(Evidence()).bundle()


# (the incident, the reads answered in part) -> signature, action
CASES = {
    "clean requests, every read whole: healthy": dict(
        build=_healthy, reads=(), signature=Signature.HEALTHY, action=None),
    "clean requests, the log search cut short while the pages read were clean: not healthy": dict(
        build=_healthy, reads=(LOGS,), signature=Signature.INCONCLUSIVE, action=None),
    "clean requests, a Monitoring answer with execution errors: not healthy": dict(
        build=_healthy, reads=(SQL_CPU,), signature=Signature.INCONCLUSIVE, action=None),
    "a deploy failing, every read whole: rolled back": dict(
        build=lambda: _deploy_failing().bundle(), reads=(), signature=Signature.BAD_REVISION,
        action="rollback_traffic"),
    "a deploy failing, the audit search cut short (a person's change may be unread): not rolled back": dict(
        build=lambda: _deploy_failing().bundle(), reads=(AUDIT,), signature=Signature.INCONCLUSIVE, action=None),
    "a connector saturated, every read whole: scaled": dict(
        build=lambda: _saturated().bundle(), reads=(), signature=Signature.CONNECTOR_SATURATION,
        action="scale_connector"),
    "a connector saturated, the audit search cut short: not scaled": dict(
        build=lambda: _saturated().bundle(), reads=(AUDIT,), signature=Signature.INCONCLUSIVE, action=None),
    "a connector saturated, the log search and a Monitoring answer in part: not scaled": dict(
        build=lambda: _saturated().bundle(), reads=(LOGS, SQL_CPU), signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_read_answered_in_part_holds_every_action_and_healthy_back(case):
    bundle = _read_in_part(case["build"](), *case["reads"])
    d = diagnose(bundle, S)
    assert d.signature is case["signature"], d.summary
    assert plan(d, bundle, S).action == case["action"]
    for read in case["reads"]:
        assert read in d.summary, d.summary
        [cited] = [e for e in d.evidence if e.observed == read]
        assert cited.passed is False and cited.role == "context"
    if case["reads"]:
        assert "not called healthy on a partial answer" in d.summary


def test_the_finding_and_its_evidence_stay_in_the_escalation():
    """What was read is escalated with the finding it showed: the person sees the rollback that would have been
    made, and why it was not."""
    whole = diagnose(_deploy_failing().bundle(), S)
    held = diagnose(_read_in_part(_deploy_failing().bundle(), AUDIT), S)
    assert held.summary.startswith("bad_revision on what was read (")
    assert whole.summary.rstrip(".") in held.summary
    # All but the first item, which counts the calls and names the gaps (one more here).
    assert set(whole.evidence[1:]) <= set(held.evidence) and "not read: " + AUDIT in held.evidence[0].observed
    assert whole.recommendation in held.recommendation


def test_an_escalation_already_names_the_read_in_part_too():
    """Too little traffic to judge is escalated anyway: the read in part is named beside it, unchanged otherwise."""
    quiet = _serving(Evidence(), error_per_minute=0).bundle()
    quiet = quiet.model_copy(update={"requests": None})
    d = diagnose(_read_in_part(quiet, SQL_CPU), S)
    assert d.signature is Signature.INCONCLUSIVE and SQL_CPU in d.summary
    assert d.summary.startswith(diagnose(quiet, S).summary.rstrip())


def test_the_sweep_never_judges_an_action_on_a_read_in_part():
    """The verification sweep's evidence with a read in part is evidence not read yet (EvidenceUnread: the next
    sweep reads again), never judged around: judged so, a p99 read in part showed no minute clean, and a
    rollback that had worked before a later failure was undone (tests/integration/test_remediation.py,
    test_a_read_answered_in_part_neither_undoes_nor_verifies_a_rollback)."""
    from shared.remediation.verification import EvidenceUnread, read_whole

    whole = _deploy_failing().bundle()
    assert read_whole(whole, whole.service.name) is whole
    with pytest.raises(EvidenceUnread, match=r"2 read\(s\) answered in part, not judged on") as raised:
        read_whole(_read_in_part(whole, AUDIT, SQL_CPU), whole.service.name)
    assert AUDIT in str(raised.value) and SQL_CPU in str(raised.value)


# (the alert's last delivery?, an optional read's failure) -> a gap read in part?, raised as it is?
SETTLED = {
    "a first page past its deadline, an earlier delivery: raised, delivered again": (
        False, TransientError("ListLogEntries projects/demo: DeadlineExceeded"), False),
    "a first page past its deadline, the last delivery: a gap beside the evidence": (
        True, TransientError("ListLogEntries projects/demo: DeadlineExceeded"), True),
    "refused for good, the last delivery: a gap as ever, not one read in part": (
        True, PermanentError("ListLogEntries projects/demo: denied", code="PERMISSION_DENIED"), False),
    "read in part, an earlier delivery: a gap read in part as ever": (
        False, IncompleteReadError("ListLogEntries projects/demo: the search had not finished"), True),
}


@pytest.mark.parametrize("case", SETTLED.values(), ids=SETTLED.keys())
def test_a_read_that_never_answered_is_a_gap_only_on_the_last_delivery(case):
    """collection.CallBudget.settled: on the alert's last delivery (delivery.max_attempts) an optional read's
    transient failure is a read that never answered (collection.unanswered), counted with the reads in part so
    that the diagnosis beside it is escalated with what was read; before it, raised for a redelivery."""
    last, error, in_part = case
    budget = CallBudget(last_delivery=last)
    taken = budget.settled(error)
    assert isinstance(taken, IncompleteReadError) is in_part
    assert (taken is error) is not (last and isinstance(error, TransientError))
    if in_part:
        budget.gap(f"logging: audit log: {taken}", taken)
        assert budget.incomplete == budget.gaps and str(error) in budget.incomplete[0]
    assert budget.settled(None) is None
