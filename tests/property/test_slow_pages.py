"""Two of the soak's steps and what judges them (tests/property/programs.py): `SlowPages`, the evidence answered in
many pages each taking simulated network time, so that a read runs out of the deadline its pages share
(`endpoints.WaitDeadline.page_timeout`, never taken in process before: no network time passes there), and
`LegacySlot`, a budget slot an earlier version took under the connector's exact name (`guardrails.legacy_slot`).
Each invariant table-tested on observations alone (it must be able to fail), the in-process transport's deadline
checked on its own, then the shortest directed program of each kind on the fast tier (docs/testing.md, "Slow pages
and exact-name budget slots": the mutations and what caught them).
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest

from sandbox.inprocess import InProcessMonitoring
from shared.errors import IncompleteReadError
from tests.property.fast import fast_run, seeded_copy
from tests.property.harness import (ANCHOR, CONNECTOR, INCIDENTS, OPERATOR, SERVICE, ApprovalTry, Approve, Close,
                                    Concurrent, LegacySlot, Observation, Open, SlowPages, Sweep, _Redeliver)
from tests.property.invariants import (check_all, cooldown_and_budgets, cut_reads_answered_once,
                                       cut_reads_never_approved, cut_reads_never_judged, cut_reads_race_to_one_answer,
                                       explain, legacy_places)

ONE_WAY = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 10,
                                      "max_instances_step": 1}]}}
PROPOSES = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": False, "max_instances_ceiling": 10,
                                       "max_instances_step": 1}]}}
AT = ANCHOR + timedelta(minutes=2)
HOUR, DAY = f"{AT:%Y-%m-%dT%H}", f"{AT:%Y-%m-%d}"


def _obs(index: int, step: object, **fields: object) -> Observation:
    return Observation(index, step, AT, None, **fields)


def _said(*statuses: str, reason: str = "") -> list[SimpleNamespace]:
    return [SimpleNamespace(status=SimpleNamespace(value=status), reason=reason) for status in statuses]


# --- the invariants alone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "fields", "problems"), [
    (Open(0, 0), {"reads_cut": 2, "transient": 1}, 0),                        # raised: redelivered
    (_Redeliver(0, "m", False), {"reads_cut": 1, "outcomes": _said("failed")}, 0),   # given up at the limit
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("escalated")}, 0),       # an incomplete read: escalated
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("proposed")}, 1),        # a plan on the rest of it
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("applied"), "update_calls": 1}, 2),   # acted on part of it
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("skipped")}, 1),          # `healthy`-like on part of it
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("skipped", reason="message m delivered again (…): an earlier "
                  "delivery answered it escalated … This delivery's answer: escalated: inconclusive")}, 0),
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("skipped", reason="… This delivery's answer: proposed: x")}, 1),
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("skipped", reason="Runwarden is updating connector c itself (…); "
                  "this alert is its symptom")}, 0),
    (Open(0, 0), {"reads_cut": 1, "outcomes": _said("failed"), "transient": 1}, 1),   # answered and raised
    (Open(0, 0), {"reads_cut": 1}, 1),                                        # never answered
    (Close(0, 0), {"reads_cut": 1, "outcomes": _said("failed", "failed")}, 1),
    (Open(0, 0), {"reads_cut": 0, "outcomes": _said("applied"), "update_calls": 1}, 0),   # nothing cut
    (Concurrent(0, 0, 2, False), {"reads_cut": 1, "outcomes": _said("applied")}, 0),   # racing threads: not judged
    (Sweep(0), {"reads_cut": 1, "outcomes": _said("verified")}, 0),           # not a delivery
], ids=["raised", "gave-up", "escalated", "proposed", "acted", "healthy", "again-escalated", "again-proposed", "own-write", "both",
        "never", "twice", "not-cut", "racing", "sweep"])
def test_a_delivery_whose_read_ran_out_is_answered_once_and_acts_on_nothing(step: object, fields: dict,
                                                                           problems: int) -> None:
    assert len(cut_reads_answered_once(SimpleNamespace(trace=[_obs(0, step, **fields)]))) == problems


AGAIN = ("message m delivered again (…): an earlier delivery answered it escalated … "
         "This delivery's answer: escalated: x")
RACE = Concurrent(0, 1, 3, True)


@pytest.mark.parametrize(("fields", "problems"), [
    ({"reads_cut": 4, "outcomes": _said("escalated", "skipped", reason=AGAIN), "transient": 1}, 0),   # one answer
    ({"reads_cut": 4, "outcomes": _said("escalated", "escalated", "escalated")}, 0),   # messages of their own: one
    ({"reads_cut": 4, "outcomes": _said("escalated", "skipped")}, 0),       # a duplicate naming no answer
    ({"reads_cut": 4, "transient": 3}, 0),                                   # every thread raised: redelivered
    ({"reads_cut": 4, "outcomes": _said("escalated", "proposed")}, 1),       # a twin planned on part of it
    ({"reads_cut": 4, "outcomes": _said("escalated", "failed")}, 1),         # two answers between the twins
    ({"reads_cut": 4, "outcomes": _said("applied", "skipped"), "update_calls": 1}, 2),   # acted on part of it
    ({"reads_cut": 4, "outcomes": _said("skipped", reason="… This delivery's answer: proposed: x")}, 1),
    ({"reads_cut": 0, "outcomes": _said("applied", "skipped"), "update_calls": 1}, 0),   # nothing cut
    ({"reads_cut": 4, "outcomes": _said("applied"), "update_calls": 1, "crossing": True}, 0),   # the other's cut?
], ids=["one-answer", "own-messages", "duplicate", "all-raised", "twin-planned", "two-answers", "acted",
        "again-proposed", "not-cut", "crossing"])
def test_racing_deliveries_with_a_read_cut_come_to_one_answer_and_write_nothing(fields: dict, problems: int) -> None:
    assert len(cut_reads_race_to_one_answer(SimpleNamespace(trace=[_obs(0, RACE, **fields)]))) == problems


KEY = f"{INCIDENTS[0]}|{SERVICE}|rollback_traffic"


@pytest.mark.parametrize(("fields", "problems"), [
    ({"reads_cut": 3, "pending_before": 1}, 0),                                      # read again later
    ({"reads_cut": 3, "pending_before": 1, "judged": [KEY]}, 1),                     # verified or undone on part
    ({"reads_cut": 3, "pending_before": 1, "judged": [KEY], "update_calls": 1}, 1),  # undone, written
    ({"reads_cut": 3, "pending_before": 1, "update_calls": 1}, 1),                   # a write all the same
    ({"reads_cut": 3, "pending_before": 2, "judged": [KEY]}, 0),                     # the cut may be the other's
    ({"reads_cut": 0, "pending_before": 1, "judged": [KEY], "update_calls": 1}, 0),  # nothing cut
], ids=["unjudged", "judged", "undone", "written", "two-pending", "not-cut"])
def test_a_sweep_with_a_read_cut_verifies_and_undoes_nothing(fields: dict, problems: int) -> None:
    assert len(cut_reads_never_judged(SimpleNamespace(trace=[_obs(0, Sweep(16), **fields)]))) == problems


def _approve(made_cut: int, **fields: object) -> SimpleNamespace:
    """A proposal made at step 0 (its read cut `made_cut` times), then an approve of it at step 1."""
    proposed = _said("proposed")[0]
    proposed.incident_id = INCIDENTS[0]
    applied = _said("applied")[0]
    applied.action = SimpleNamespace(name="scale_connector")
    attempt = ApprovalTry("c0", INCIDENTS[0], False, AT, {"state": "open"}, outcomes=[applied])
    return SimpleNamespace(trace=[_obs(0, Open(0, 0), reads_cut=made_cut, outcomes=[proposed]),
                                  _obs(1, Approve(0, 0), approvals=[attempt], **fields)])


@pytest.mark.parametrize(("run", "problems"), [
    (_approve(0, reads_cut=2), 0),                                    # re-check cut: refused, nothing written
    (_approve(0, reads_cut=2, patch_calls=1, vpc_writes=1), 1),       # written on a re-check read in part
    (_approve(2, patch_calls=1, vpc_writes=1), 1),                    # the plan made on a read in part
    (_approve(0, patch_calls=1, vpc_writes=1), 0),                    # nothing cut
], ids=["refused", "re-check-cut", "plan-cut", "not-cut"])
def test_no_approval_writes_on_a_read_answered_in_part(run: SimpleNamespace, problems: int) -> None:
    assert len(cut_reads_never_approved(run)) == problems


def _budget_run(hour: int, day: int, writes: int, slots: list[tuple[int, str, int]]) -> SimpleNamespace:
    guardrails = SimpleNamespace(cooldown_seconds=0, max_actions_per_target_per_hour=hour,
                                 max_actions_per_target_per_day=day)
    trace = [_obs(i + 1, Open(0, i), vpc_writes=1) for i in range(writes)]
    return SimpleNamespace(world=SimpleNamespace(config=SimpleNamespace(guardrails=guardrails)), trace=trace,
                           legacy_slots=slots)


@pytest.mark.parametrize(("run", "problems"), [
    (_budget_run(2, 4, 2, []), 0),
    (_budget_run(2, 4, 2, [(0, HOUR, 0)]), 1),                 # N + 1 places of the hour's budget
    (_budget_run(2, 4, 1, [(0, HOUR, 0)]), 0),
    (_budget_run(2, 4, 1, [(0, HOUR, 0), (0, HOUR, 1)]), 1),
    (_budget_run(2, 4, 1, [(0, HOUR, 0), (0, HOUR, 0)]), 0),   # one place, stored twice
    (_budget_run(2, 4, 2, [(0, HOUR, 2)]), 0),                 # past the capacity: no place of the budget
    (_budget_run(2, 2, 1, [(0, DAY, 0), (0, DAY, 1)]), 1),     # the day's budget
    (_budget_run(2, 4, 2, [(0, "2026-11-26T13", 0)]), 0),      # another hour
], ids=["writes-only", "n-plus-one", "fits", "two-slots", "one-place", "past-capacity", "day", "other-hour"])
def test_exact_name_slots_count_with_the_writes(run: SimpleNamespace, problems: int) -> None:
    assert len(cooldown_and_budgets(run)) == problems


def test_exact_name_slots_are_the_connectors_only() -> None:
    run = SimpleNamespace(legacy_slots=[(0, HOUR, 0)])
    assert legacy_places(run, SERVICE, 2) == Counter()
    assert legacy_places(run, CONNECTOR, 2) == Counter({HOUR: 1})


# --- the in-process transport's deadline ---------------------------------------------------------------------------


def _monitoring(seconds: float | None) -> InProcessMonitoring:
    standins = seeded_copy("bad_revision", 90)
    standins.monitoring.max_page_size = 4
    if seconds:
        standins.monitoring.faults.slow_pages(seconds, "ListTimeSeries")
    return InProcessMonitoring(standins.monitoring)


def _request_count() -> object:
    from shared.diagnosis.evidence import MetricQuery

    return MetricQuery(project="demo-project", metric_type="run.googleapis.com/request_count",
                       resource_type="cloud_run_revision", labels={"resource.labels.service_name": "backend"},
                       start=ANCHOR - timedelta(minutes=70), end=AT, aligner="ALIGN_DELTA", reducer="REDUCE_SUM",
                       group_by=("resource.labels.revision_name",))


def test_a_slow_read_within_its_deadline_is_the_whole_answer() -> None:
    """1 s a page: the pages fit in the 30 s they share; the answer is the one read without delay."""
    slow, plain = _monitoring(1), _monitoring(None)
    assert slow.query(_request_count()) == plain.query(_request_count())
    assert slow._transport.deadline_spent == 0


def test_a_read_that_outlasts_its_deadline_raises_and_never_answers_in_part() -> None:
    """4 s a page, many pages: the shared 30 s runs out (WaitDeadline.page_timeout refuses the next page, and every
    retry's first): an incomplete read (IncompleteReadError, as the adapter's `_series` says it), never the pages
    read so far as the answer."""
    slow = _monitoring(4)
    with pytest.raises(IncompleteReadError):
        slow.query(_request_count())
    assert slow._transport.deadline_spent >= 1


# --- directed programs on the fast tier ---------------------------------------------------------------------------


def _checked(run) -> None:
    problems = check_all(run)
    assert not problems, explain(run, problems)


@pytest.mark.parametrize(("scenario", "standin"), [("bad_revision", "monitoring"),
                                                   ("connector_saturation", "monitoring"),
                                                   ("connector_saturation", "logging")])
def test_an_alert_whose_evidence_runs_out_of_its_deadline_is_escalated_and_writes_nothing(scenario: str,
                                                                                         standin: str) -> None:
    """The read cut while paging is an incomplete read: the alert is escalated at once, nothing written."""
    with fast_run(scenario, "enforce", 90, operators=[OPERATOR], **ONE_WAY) as run:
        run.execute([SlowPages(standin, 4), Open(0, 0)])
        _checked(run)
        delivered = run.trace[1]
        assert delivered.reads_cut >= 1 and delivered.write_calls == 0
        assert [o.status.value for o in delivered.outcomes] == ["escalated"], delivered.describe()
        assert sum(o.write_calls for o in run.trace) == 0


@pytest.mark.parametrize(("hour", "bucket", "patches"), [(1, "hour", 0), (2, "hour", 1), (1, "day", 0)])
def test_a_budget_slot_taken_under_the_exact_name_counts(hour: int, bucket: str, patches: int) -> None:
    """Fails if the gate does not read the slot an earlier version took under the exact name (`legacy_slot`): the
    connector is patched past its budget."""
    guardrails = {"cooldown_seconds": 0, "max_actions_per_target_per_hour": hour,
                  "max_actions_per_target_per_day": 1 if bucket == "day" else 4}
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], guardrails=guardrails,
                  **ONE_WAY) as run:
        run.execute([LegacySlot(bucket, 0), Open(0, 0)])
        _checked(run)
        assert run.legacy_slots and sum(o.vpc_writes for o in run.trace) == patches


def test_a_sweep_whose_evidence_runs_out_of_its_deadline_judges_nothing() -> None:
    """The rollback applied, then the sweep's Monitoring reads cut while paging: nothing verified or undone (the
    sweep reads again; past the deadline it escalates, unjudged). Fails if `verification.read_whole` hands on a
    bundle read in part (the rollback undone on it: a bug found in review)."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), SlowPages("monitoring", 4), Sweep(16), Sweep(30)])
        _checked(run)
        swept = [o for o in run.trace if isinstance(o.step, Sweep) and o.reads_cut]
        assert swept and all(o.pending_before == 1 and not o.judged and not o.write_calls for o in swept)


@pytest.mark.parametrize("standin", ["monitoring", "logging"])
def test_an_approve_whose_recheck_runs_out_of_its_deadline_writes_nothing(standin: str) -> None:
    """The approve's re-check reads the evidence again (`approval._diagnosis_changed`): cut while paging, it is
    `inconclusive`, not the proposal's signature, so the approval is refused, nothing patched."""
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **PROPOSES) as run:
        run.execute([Open(0, 0), SlowPages(standin, 4), Approve(0, 0)])
        _checked(run)
        approved = run.trace[2]
        assert approved.reads_cut >= 1 and approved.write_calls == 0
        assert "the world changed" in approved.approvals[0].outcomes[0].reason


@pytest.mark.parametrize("same", [True, False])
def test_racing_deliveries_whose_evidence_runs_out_come_to_one_answer(same: bool) -> None:
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **ONE_WAY) as run:
        run.execute([SlowPages("logging", 4), Concurrent(0, 0, 3, same)])
        _checked(run)
        raced = run.trace[1]
        assert raced.reads_cut >= 1 and raced.write_calls == 0


@pytest.mark.parametrize(("seconds", "first"), [(4, "applied"), (12, None)])
def test_revisions_read_in_slow_pages(seconds: int, first: str | None) -> None:
    """ListRevisions a revision a page (InProcessRun.list_revisions pages as the wire adapter does, the pages
    sharing the call's total): at 4 s a page read whole, the rollback made; at 12 s every first page is cut at its
    own 5 s deadline, a transient fault: raised, redelivered once the fault clears, then made."""
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([SlowPages("run", seconds), Open(0, 0)])
        _checked(run)
        pages = [c for c in run.standins.run.calls if c.method == "ListRevisions"]
        delivered = run.trace[1]
        assert [o.status.value for o in delivered.outcomes] == ([first] if first else [])
        assert delivered.transient == (0 if first else 1)
        assert [o.status.value for o in run.trace[1 if first else -1].outcomes] == ["applied"]
        assert any(c.request.page_token for c in pages)   # paged: a later page asked by its token
