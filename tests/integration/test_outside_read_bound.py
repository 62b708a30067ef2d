"""The read of the services not in the config behind a connector (scope.outside_in_time) on the real Cloud Run
adapter and the Run stand-in: cut at its bound for real. Its RPC is sent with a deadline no later than the bound
(the stand-in records the deadline each call arrived with), so the read's one pool thread is free again when the
next delivery's read begins, and that read is answered. Before, the decision stopped waiting at the bound while the
call ran on with the policy's own deadline (10 s an attempt, 30 s with its retries), and the next delivery's read
queued behind it and was cut too, with nothing slow about its own Cloud Run."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.diagnosis import scope
from shared.gcp.endpoints import CallPolicy
from shared.gcp.run import CloudRunAdapter

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
BACKEND = "projects/demo-project/locations/us-central1/services/backend"
BOUND = 1.0      # the read's bound in this test (OUTSIDE_SECONDS, 8 s deployed)
HANG = 4.0       # ListServices answers this late: past the bound, within the policy's 10 s attempt


def _always(_seconds: float) -> bool:
    return True


@pytest.fixture
def run(standin_env):
    adapter = CloudRunAdapter(policy=CallPolicy())   # the product's own deadlines: 10 s an attempt, 30 s a call
    yield adapter
    adapter.close()


def test_a_list_cut_at_its_bound_leaves_nothing_running_for_the_next_delivery(run, standin_env, monkeypatch):
    monkeypatch.setattr(scope, "OUTSIDE_SECONDS", BOUND)
    standin_env.run.faults.add_latency(HANG, method="ListServices")

    first = scope.outside_in_time(SimpleNamespace(run=run), CONNECTOR, [BACKEND], [BACKEND], _always)

    assert "took longer than" in first.unlooked or "could not be listed" in first.unlooked, first
    deadlines = standin_env.run.deadlines("ListServices")
    assert deadlines and all(d is not None and d <= BOUND + 0.05 for d in deadlines), deadlines
    # The next delivery, Cloud Run answering at once again: its read is not queued behind the one cut.
    standin_env.run.faults.clear()
    second = scope.outside_in_time(SimpleNamespace(run=run), CONNECTOR, [BACKEND], [BACKEND], _always)
    assert second.unlooked == "" and second.api_calls >= 1, second
