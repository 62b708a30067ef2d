"""The floor of bench/alert_path.py: the round trips a warm first write must wait for one after
another (its docstring), and the emulators' JIT compiling told apart thread by thread."""
from __future__ import annotations

import pytest

from bench.alert_path import _floor
from bench.storm import CLOCK_TICKS, jit_spent

RT = {"BatchGetDocuments": 2.0, "RunQuery": 3.0, "Commit": 4.0}
HANDLER = {"BatchGetDocuments": 1, "Commit": 1}


@pytest.mark.parametrize("phase1, phase2, ahead, incident, expected", [
    (5.0, 6.0, {"RunQuery": 1, "BatchGetDocuments": 1}, {"RunQuery": 1}, 11.0),   # the two rounds are longer
    # The read-ahead starts with the first round: its 5.0 overlaps both rounds (4.0), not the second alone.
    (1.0, 3.0, {"RunQuery": 1, "BatchGetDocuments": 1}, {"RunQuery": 1}, 5.0),
    (1.0, 3.0, {}, {}, 4.0),
    # The incident's action records, queried beside the evidence (`_AlertRun.duplicate_beside`): a path of its own.
    (0.5, 0.5, {"BatchGetDocuments": 1}, {"RunQuery": 1}, 3.0),
], ids=["rounds", "read-ahead", "none ahead", "the incident's query"])
def test_the_evidence_path_is_the_longest_of_its_two_rounds_the_read_ahead_and_the_incidents_query(
        phase1, phase2, ahead, incident, expected):
    evidence, _ = _floor(phase1, phase2, RT, HANDLER, ahead, {}, {}, incident)
    assert evidence == expected


@pytest.mark.parametrize("check, intent, expected", [
    ({"BatchGetDocuments": 1}, {"Commit": 1}, 6.0),                      # both within the gate's commit
    ({"BatchGetDocuments": 1}, {"BatchGetDocuments": 1, "Commit": 1}, 8.0),   # an intent read first: +2
    ({"BatchGetDocuments": 3}, {"Commit": 1}, 8.0),                      # a longer check: what it takes beyond
    ({}, {}, 6.0),
], ids=["beside", "intent read first", "long check", "nothing beside"])
def test_the_state_path_counts_what_runs_beside_the_gates_commit_only_beyond_it(check, intent, expected):
    _, state = _floor(0.0, 0.0, RT, HANDLER, {}, check, intent, {})
    assert state == expected


def test_jit_compiling_counts_each_compiler_thread_that_grew_or_started():
    before = {101: 50, 102: 20, 103: 7}        # 103 ends before the second reading
    after = {101: 80, 102: 20, 104: 10}        # 104 started since
    assert jit_spent(before, after) * CLOCK_TICKS == pytest.approx(40)
