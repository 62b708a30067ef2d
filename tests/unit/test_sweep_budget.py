"""The sweep's time budget (shared/remediation/sweep_budget.py): it starts no step once less than the
longest single step is left before its function's timeout, a step in progress finishes, and the next
sweep starts with what was left. A pinned clock moved by the steps themselves: no timed assertions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.clock import FixedClock
from shared.config import parse_config
from shared.outcomes import Outcome, OutcomeStatus, Timestamps
from shared.remediation.records import ACTIONS, SWEEP_MARKS, ActionRecord
from shared.remediation.sweep_budget import (DEFAULT_FUNCTION_TIMEOUT_SECONDS, FUNCTION_TIMEOUT_ENV, SweepBudget,
                                             function_timeout, order_due)
from shared.remediation.verification import ACTIONS_LEFT, Sweep

from tests.unit.builders import SERVICE
from tests.unit.fakes import MemoryStateStore

START = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


# --- the budget alone ---------------------------------------------------------------------------------

@pytest.mark.parametrize("elapsed, timeout, step, allowed", [
    (0, 550, 450, True),
    (99.9, 550, 450, True),
    (100, 550, 450, False),      # exactly the longest step left: a step started now might be cut off
    (400, 550, 450, False),
    (0, 400, 450, False),        # a timeout shorter than one step: nothing may start
    (0, 550, 0, True),
    (549.9, 550, 0, True),
    (550, 550, 0, False),
], ids=["start", "just-in", "at-the-bar", "well-past", "no-room", "no-margin", "no-margin-late", "no-margin-end"])
def test_a_step_starts_only_while_the_longest_step_still_fits_before_the_timeout(elapsed, timeout, step, allowed):
    clock = FixedClock(START)
    budget = SweepBudget(clock, timeout, step)
    clock.advance(elapsed)
    assert budget.allows("action(s)") is allowed
    assert budget.left == ({} if allowed else {"action(s)": 1})


def test_once_spent_every_later_step_is_left_and_counted_by_kind_with_the_reason():
    clock = FixedClock(START)
    budget = SweepBudget(clock, 550, 450)
    assert budget.allows("action(s)") and budget.summary() == ""
    clock.advance(120)
    assert not budget.allows("action(s)")
    clock.set(START)         # a clock read again earlier (skew between reads) does not reopen it
    assert not budget.allows("action(s)") and not budget.allows("pin reminder(s)")
    assert budget.left == {"action(s)": 2, "pin reminder(s)": 1}
    summary = budget.summary()
    assert "2 action(s), 1 pin reminder(s)" in summary
    assert "no step after 100 s" in summary and "120 s in" in summary and "550 s" in summary and "450 s" in summary


@pytest.mark.parametrize("environ, expected", [
    ({}, DEFAULT_FUNCTION_TIMEOUT_SECONDS), ({FUNCTION_TIMEOUT_ENV: ""}, DEFAULT_FUNCTION_TIMEOUT_SECONDS),
    ({FUNCTION_TIMEOUT_ENV: "550"}, 550.0), ({FUNCTION_TIMEOUT_ENV: " 300 "}, 300.0)])
def test_the_function_timeout_is_read_from_the_environment(environ, expected):
    assert function_timeout(environ) == expected


@pytest.mark.parametrize("value", ["0", "-5", "abc", "nan", "9m"])
def test_a_function_timeout_that_is_not_a_positive_number_is_refused_by_name(value):
    with pytest.raises(ValueError, match=FUNCTION_TIMEOUT_ENV):
        function_timeout({FUNCTION_TIMEOUT_ENV: value})


@pytest.mark.parametrize("left_before, expected", [
    ([], ["a", "b", "c", "d"]),                      # oldest deadline first
    (["c", "d"], ["c", "d", "a", "b"]),              # what the last sweep left, first
    (["d", "gone"], ["d", "a", "b", "c"]),           # a key no longer due is ignored
])
def test_the_due_are_judged_left_first_then_oldest_deadline_first(left_before, expected):
    deadlines = {"b": 2, "a": 1, "d": 4, "c": 3}
    ordered = order_due(list(deadlines), lambda k: k, lambda k: START + timedelta(minutes=deadlines[k]), left_before)
    assert ordered == expected


# --- the sweep's loops under it -------------------------------------------------------------------------

class _Adapters:
    def __init__(self, state: Any, clock: FixedClock) -> None:
        self.state, self.clock = state, clock


class _SlowSweep(Sweep):
    """A sweep whose every judgement of an action takes `seconds` of the pinned clock (a slow undo's
    operation wait) and is recorded, so the test sees what was judged, in which order, and how often."""

    judged: list[str]

    def __init__(self, *args: Any, seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds = seconds
        self.judged = []

    def _judge(self, record: ActionRecord) -> Outcome | None:
        self.judged.append(record.key)
        self.adapters.clock.advance(self.seconds)
        self.state.update_record(ACTIONS, record.key, {"state": "verified"}, expect={"state": "pending"})
        return Outcome(trigger="command", status=OutcomeStatus.VERIFIED, reason=record.key,
                       timestamps=Timestamps(received_at=self.now, completed_at=self.now))


def _config() -> Any:
    return parse_config({"project": "demo", "outcomes_topic": "projects/demo/topics/outcomes",
                         "services": [{"name": SERVICE}]})


def _due_actions(state: MemoryStateStore, count: int) -> list[str]:
    keys = []
    for i in range(count):
        key = f"inc-{i}|{SERVICE}|rollback_traffic"
        record = ActionRecord(key=key, incident_id=f"inc-{i}", target=SERVICE, service=SERVICE,
                              action="rollback_traffic", signature="bad_revision", reversible=True,
                              applied_at=START - timedelta(minutes=20), settle_at=START - timedelta(minutes=15),
                              deadline_at=START - timedelta(minutes=5) + timedelta(seconds=i))
        state.put_record(ACTIONS, key, record.model_dump(mode="python"))
        keys.append(key)
    return keys


def _sweep(state: MemoryStateStore, clock: FixedClock, timeout: float, seconds: float) -> _SlowSweep:
    config = _config()
    return _SlowSweep(config, _Adapters(state, clock), SweepBudget(clock, timeout, 450), seconds=seconds)


def test_a_sweep_past_its_budget_leaves_the_rest_for_the_next_which_finishes_them_each_judged_once():
    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, 5)
    # 120 s a judgement, 550 - 450 = 100 s to start steps in: judged at 0 s only, the rest left.
    first = _sweep(state, clock, 550, 120)
    assert len(first._verifications()) == 1
    assert first.judged == keys[:1]
    assert first.budget.left == {"action(s)": 4}
    assert state.get_record(SWEEP_MARKS, ACTIONS_LEFT)["keys"] == keys[1:]
    clock.advance(300)      # the next scheduled sweep, with a longer budget: 0, 120, 240 s
    second = _sweep(state, clock, 800, 120)
    assert len(second._verifications()) == 3 and second.judged == keys[1:4]
    clock.advance(300)
    third = _sweep(state, clock, 800, 120)
    assert len(third._verifications()) == 1 and third.judged == keys[4:]
    assert state.get_record(SWEEP_MARKS, ACTIONS_LEFT)["keys"] == []       # nothing left: the mark cleared
    judged = first.judged + second.judged + third.judged
    assert sorted(judged) == sorted(keys) and len(set(judged)) == len(judged)     # each once


def test_the_records_a_sweep_left_go_first_even_before_an_older_one_that_takes_the_whole_budget():
    """A record whose judgement never moves it (its evidence reads keep timing out) has the oldest
    deadline; judged first every sweep, it would hold the others back for good."""
    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, 3)

    class Stuck(_SlowSweep):
        def _judge(self, record: ActionRecord) -> Outcome | None:
            self.judged.append(record.key)
            self.adapters.clock.advance(self.seconds)
            return None     # still pending: the next sweep judges it again

    config = _config()
    first = Stuck(config, _Adapters(state, clock), SweepBudget(clock, 550, 450), seconds=120)
    first._verifications()
    assert first.judged == keys[:1]
    second = Stuck(config, _Adapters(state, clock), SweepBudget(clock, 550, 450), seconds=120)
    second._verifications()
    assert second.judged == keys[1:2]       # resumed where the last one stopped, not the stuck one again


def test_a_step_in_progress_finishes_even_when_it_ends_past_the_budget():
    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, 2)
    sweep = _sweep(state, clock, 550, 500)     # one judgement runs far past the 100 s bar
    assert len(sweep._verifications()) == 1
    assert state.get_record(ACTIONS, keys[0])["state"] == "verified"
    assert state.get_record(ACTIONS, keys[1])["state"] == "pending"


def test_a_pin_reminder_past_the_budget_is_left_and_the_log_says_so(monkeypatch):
    from shared.remediation import verification
    from shared.remediation.records import PINS, PinRecord

    state, clock = MemoryStateStore(), FixedClock(START)
    pin = PinRecord(service=SERVICE, revision="r-1", action_id="a-1", pinned=True,
                    pinned_at=START - timedelta(days=3))
    state.put_record(PINS, SERVICE, pin.model_dump(mode="python"))
    config = _config()
    budget = SweepBudget(clock, 550, 450)
    clock.advance(100)     # spent before the pins' step
    sweep = Sweep(config, _Adapters(state, clock), budget)
    steps: list[tuple[str, str]] = []
    monkeypatch.setattr(verification.Timeline, "step", lambda self, name, message, **_: steps.append((name, message)))
    assert sweep.run() == []
    assert budget.left == {"pin reminder(s)": 1}
    [(_, said)] = [s for s in steps if s[0] == "sweep_cut"]
    assert "1 pin reminder(s)" in said


def test_the_cut_line_is_written_even_when_a_later_step_raises_a_permanent_fault(monkeypatch):
    """The time cut left a pin reminder, then a later step (the intents' query) met a permanent fault,
    which raises to reach a person: the line saying what the cut left must be written all the same."""
    from shared.errors import PermanentError
    from shared.remediation import verification
    from shared.remediation.records import PINS, PinRecord

    state, clock = MemoryStateStore(), FixedClock(START)
    pin = PinRecord(service=SERVICE, revision="r-1", action_id="a-1", pinned=True,
                    pinned_at=START - timedelta(days=3))
    state.put_record(PINS, SERVICE, pin.model_dump(mode="python"))
    budget = SweepBudget(clock, 550, 450)
    clock.advance(100)
    sweep = Sweep(_config(), _Adapters(state, clock), budget)

    def refused() -> list:
        raise PermanentError("the index is missing", code="FAILED_PRECONDITION")

    monkeypatch.setattr(sweep, "_unrecorded_intents", refused)
    steps: list[tuple[str, str]] = []
    monkeypatch.setattr(verification.Timeline, "step", lambda self, name, message, **_: steps.append((name, message)))
    with pytest.raises(PermanentError):
        sweep.run()
    [(_, said)] = [s for s in steps if s[0] == "sweep_cut"]
    assert "1 pin reminder(s)" in said
    assert sweep.left == {"pin reminder(s)": 1}


def test_with_more_pending_than_one_sweep_reads_the_earliest_deadlines_are_read_first():
    """The pending actions' query returned at most MAX_PER_SWEEP in document order: those stored first
    came back every sweep, and an action with an earlier deadline stored later could wait many sweeps."""
    from shared.remediation.verification import MAX_PER_SWEEP

    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, MAX_PER_SWEEP + 10)       # deadlines rise with the order they are stored in
    late = keys[:10]
    for key in late:                                      # the first stored: the latest deadlines
        state.update_record(ACTIONS, key, {"deadline_at": START + timedelta(hours=1)})
    due, _ = _sweep(state, clock, 550, 0)._due()
    assert len(due) == MAX_PER_SWEEP
    assert {r.key for r in due} == set(keys[10:]), "the earliest deadlines first"
    assert [r.deadline_at for r in due] == sorted(r.deadline_at for r in due)


def test_a_refused_ordered_query_still_reads_the_pending_in_document_order(monkeypatch):
    """The index missing or still building after a deploy (a permanent fault of the ordered query):
    the sweep says so and verifies from the unordered query rather than verify nothing."""
    from shared.errors import PermanentError

    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, 2)

    def refused(*_a: Any, **_k: Any) -> list:
        raise PermanentError("The query requires an index", code="FAILED_PRECONDITION")

    monkeypatch.setattr(state, "find_before", refused)
    due, _ = _sweep(state, clock, 550, 0)._due()
    assert [r.key for r in due] == keys


def test_with_more_undoing_than_one_sweep_reads_the_earliest_deadlines_are_read_first():
    """The unfinished undos' query returned at most MAX_PER_SWEEP in document order: those stored first
    came back every sweep, and an undo with an earlier deadline stored later could wait for good."""
    from shared.remediation.verification import MAX_PER_SWEEP

    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, MAX_PER_SWEEP + 10)
    for i, key in enumerate(keys):          # undos decided long ago; the first stored, the latest deadlines
        state.update_record(ACTIONS, key, {"state": "undoing", "resolved_at": START - timedelta(hours=1)} |
                            ({"deadline_at": START + timedelta(hours=1)} if i < 10 else {}))
    due, _ = _sweep(state, clock, 550, 0)._due()
    assert {r.key for r in due} == set(keys[10:]), "the earliest deadlines first"
    assert [r.deadline_at for r in due] == sorted(r.deadline_at for r in due)


def test_a_refused_ordered_query_still_reads_the_undoing_in_document_order(monkeypatch):
    from shared.errors import PermanentError
    from shared.remediation import verification

    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, 2)
    for key in keys:
        state.update_record(ACTIONS, key, {"state": "undoing", "resolved_at": START - timedelta(hours=1)})

    def refused(*_a: Any, **_k: Any) -> list:
        raise PermanentError("The query requires an index", code="FAILED_PRECONDITION")

    monkeypatch.setattr(state, "find_before", refused)
    steps: list[str] = []
    monkeypatch.setattr(verification.Timeline, "step", lambda self, name, message, **_: steps.append(name))
    due, _ = _sweep(state, clock, 550, 0)._due()
    assert [r.key for r in due] == keys
    assert steps.count("sweep_unordered") == 2      # pending and undoing: each said


def _escalated_as_unreadable(state: MemoryStateStore, keys: list[str]) -> None:
    for key in keys:
        state.update_record(ACTIONS, key, {"unread_escalated_at": START - timedelta(minutes=1)})


def test_stuck_actions_take_no_place_of_the_others_and_are_tried_in_turn_after_them():
    """Actions escalated as unreadable and kept `pending` have the oldest deadlines: they filled the
    first page of MAX_PER_SWEEP every sweep, and the others behind them were never judged."""
    from shared.remediation.verification import MAX_PER_SWEEP, MAX_STUCK_PER_SWEEP

    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, MAX_PER_SWEEP + 10)
    stuck, others = keys[:MAX_PER_SWEEP + 5], keys[MAX_PER_SWEEP + 5:]
    _escalated_as_unreadable(state, stuck)
    due, _ = _sweep(state, clock, 550, 0)._due()
    assert [r.key for r in due[:len(others)]] == others, "the others first, every one of them"
    assert [r.key for r in due[len(others):]] == stuck[:MAX_STUCK_PER_SWEEP], "then a few stuck ones"

    class Unreadable(_SlowSweep):       # every stuck one still cannot be judged
        def _judge(self, record: ActionRecord) -> Outcome | None:
            self.judged.append(record.key)
            return None

    tried: list[str] = []
    for _ in range(3):
        clock.advance(300)
        sweep = Unreadable(_config(), _Adapters(state, clock), SweepBudget(clock, 550, 450), seconds=0)
        sweep._verifications()
        tried += [k for k in sweep.judged if k in stuck]
        assert set(sweep.judged) >= set(others)
    assert tried == stuck[:3 * MAX_STUCK_PER_SWEEP], "each stuck one in turn, the least recently tried first"
    assert state.get_record(ACTIONS, stuck[0])["tried_at"] == START + timedelta(seconds=300)


def test_stuck_actions_past_the_pages_read_are_said_to_a_person(monkeypatch):
    from shared.remediation import verification
    from shared.remediation.verification import MAX_PAGES, MAX_PER_SWEEP

    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, MAX_PAGES * MAX_PER_SWEEP + 3)
    _escalated_as_unreadable(state, keys[:MAX_PAGES * MAX_PER_SWEEP])
    steps: list[tuple[str, str, str]] = []
    monkeypatch.setattr(verification.Timeline, "step",
                        lambda self, name, message, severity="INFO", **_: steps.append((name, message, severity)))
    _sweep(state, clock, 550, 0)._due()
    [(_, said, severity)] = [s for s in steps if s[0] == "sweep_crowded"]
    assert severity == "ERROR" and " pending action(s) kept as they are" in said and "wait for a later sweep" in said


def test_a_stuck_action_left_by_the_time_cut_does_not_go_first_next_time():
    state, clock = MemoryStateStore(), FixedClock(START)
    keys = _due_actions(state, 3)
    _escalated_as_unreadable(state, keys[:1])
    sweep = _sweep(state, clock, 550, 120)      # one judgement fits: the others', never the stuck one
    sweep._verifications()
    assert sweep.judged == keys[1:2]
    assert state.get_record(SWEEP_MARKS, ACTIONS_LEFT)["keys"] == keys[2:]


# --- a connector change's judgement, bounded in time ------------------------------------------------------

CONNECTOR = "projects/demo/locations/us-central1/connectors/shared"


def _connector_change(services: list[str]) -> tuple[Any, ActionRecord, FixedClock]:
    config = parse_config({"project": "demo", "outcomes_topic": "projects/demo/topics/outcomes",
                           "services": [{"name": s} for s in services]})
    record = ActionRecord(key=f"inc-1|{CONNECTOR}|scale_connector", incident_id="inc-1", target=CONNECTOR,
                          service=services[0], action="scale_connector", signature="connector_saturation",
                          reversible=False, applied_at=START - timedelta(minutes=20),
                          settle_at=START - timedelta(minutes=15), deadline_at=START - timedelta(minutes=5))
    return config, record, FixedClock(START)


def test_a_connector_changes_judgement_reads_no_service_past_one_steps_time(monkeypatch):
    """Every managed service behind the connector was read, one after the other, whatever their number:
    with each read at its longest (140 s), six services took 840 s, past the sweep's 450 s margin, and
    the platform cut the sweep off mid-step. Now a read that would end past the step's reads is not
    started; the services not read leave the change unclear, said by name, and escalated by the deadline."""
    from shared.diagnosis.collection import Users
    from shared.remediation import judging, verification

    services = [f"projects/demo/locations/us-central1/services/s{i}" for i in range(6)]
    config, record, clock = _connector_change(services)
    monkeypatch.setattr(verification, "users_of", lambda *_a, **_k: Users(tuple(services), tuple(services)))
    read: list[str] = []

    def health_of(self, record, service, *_a, **_k):
        read.append(service)
        clock.advance(160)       # each at its longest ((MAX_API_CALLS + SWEEP_READS) x CallPolicy.call_timeout)
        return judging.Health(judging.HealthKind.HEALTHY, "healthy")

    monkeypatch.setattr(verification.Sweep, "_health_of", health_of)
    steps: list[tuple[str, str]] = []
    monkeypatch.setattr(verification.Timeline, "step", lambda self, name, message, **_: steps.append((name, message)))

    class _Readers(_Adapters):
        def readers(self) -> Any:
            return None

    sweep = Sweep(config, _Readers(MemoryStateStore(), clock), SweepBudget(clock, 550, 450))
    health = sweep._health(record)
    assert clock.now() - START <= timedelta(seconds=450 - 30), "within the margin, less the publish after it"
    assert read == services[:2]
    assert health.kind is judging.HealthKind.UNCLEAR and "not read in this sweep's time" in health.why
    assert all(s.rsplit("/", 1)[1] in health.why for s in services[2:])
    [(_, said)] = [s for s in steps if s[0] == "verify_cut"]
    assert "4 service(s)" in said
    step = judging.next_step(record, health, START, config.verification)
    assert step.kind is judging.StepKind.ESCALATE and "could not be verified by the deadline" in step.why


def test_the_lookup_of_a_connectors_users_stops_when_told_and_names_those_not_read():
    from shared.diagnosis.collection import users_of
    from shared.errors import PermanentError

    asked: list[str] = []

    class _Run:
        def get_service(self, name: str) -> Any:
            asked.append(name)
            raise PermanentError("denied", code="PERMISSION_DENIED")

    class _Readers:
        run = _Run()

    managed = [(f"s{i}", ()) for i in range(5)]
    found = users_of(_Readers(), managed, connector=CONNECTOR, stop=lambda: len(asked) >= 2)
    assert asked == ["s0", "s1"] and found.looked_at == ("s0", "s1")
    assert found.cut == ("s2", "s3", "s4") and set(found.cut) <= set(found.maybe)
    assert users_of(_Readers(), managed, connector=CONNECTOR).cut == ()
