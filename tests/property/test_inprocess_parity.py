"""The fast tier's in-process adapters answer as the real client libraries do.

The same program runs twice on the same seeded scenario: once with the real adapters (real client
libraries over gRPC and HTTP to started stand-ins), once with sandbox/inprocess.py's adapters on
unstarted ones. State (MemoryStateStore) and publishing are in-process in both, so the only
difference is the transport under the adapters. Outcomes, the calls each stand-in received and
the writes that took effect must be the same, faults included.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sandbox.standins.server import start_standins
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from sandbox.scenarios import seed
from tests.integration.world import FAST
from tests.property.fast import FastWorld, fast_run, scenario_model
from tests.property.harness import ANCHOR, CONNECTOR, OPERATOR, Fault, Open, OperatorRollback, Run, Skewed

POLICY = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 4}, "operators": [OPERATOR],
          "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}
# Zero backoff for the real clients too: the two runs must retry the same number of times.
NO_WAIT = dict(poll_initial_delay=0.001, poll_max_delay=0.001)

PROGRAMS = {
    "bad_revision": [
        [Open(0, 0), Open(0, 0), Skewed(0, 1, 120)],
        [Fault("run", "GetService", 2), Open(0, 0)],                      # retried, then applied
        [Fault("run", "ListRevisions", 4), Open(0, 0)],                   # past the retries: redelivered
        [Fault("run", "UpdateService", 0), Open(0, 0)],                   # PERMISSION_DENIED: failed
        [Fault("run", "UpdateService", 2, code="DEADLINE_EXCEEDED"), Open(0, 0)],
        [Fault("run", "GetOperation", 10_000), Open(0, 0)],               # accepted, not followed
        # Reads of one API run concurrently and share a fault budget, so which read gets which
        # failure is up to the scheduler: budgets under the 3 attempts (every read succeeds), or
        # PERMISSION_DENIED for all, keep the outcome the same whoever gets them.
        [Fault("monitoring", "ListTimeSeries", 2), Open(0, 0)],
        [Fault("monitoring", "ListTimeSeries", 0), Open(0, 0)],
        [OperatorRollback(0, named=True), OperatorRollback(0, named=True)],
    ],
    "connector_saturation": [
        [Open(0, 0), Open(1, 0)],
        [Fault("vpcaccess", "PatchConnector", 2), Open(0, 0)],            # 503 before it was processed: re-sent
        [Fault("vpcaccess", "PatchConnector", 1, code="DEADLINE_EXCEEDED"), Open(0, 0)],
        [Fault("vpcaccess", "GetOperation", 3), Open(0, 0)],
        [Fault("logging", "ListLogEntries", 2), Open(0, 0)],
        [Fault("logging", "ListLogEntries", 0), Open(0, 0)],
    ],
}


def _observed(run: Run) -> dict[str, Any]:
    parts = run.standins
    return {
        "outcomes": [[(o.status.value, o.action.name if o.action else None) for o in obs.outcomes]
                     for obs in run.trace],
        "transient": [obs.transient for obs in run.trace],
        "errors": [obs.errors for obs in run.trace],
        "calls": {name: Counter(call.method for call in getattr(parts, name).calls)
                  for name in ("run", "monitoring", "logging", "vpcaccess")},
        "writes": [(obs.run_writes, obs.vpc_writes) for obs in run.trace],
        "serving": run.world.serving(),
        "connector": {k: v for k, v in parts.vpcaccess.connector(CONNECTOR).items() if k != "state"},
    }


def _on_real_clients(scenario: str, program: list, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    standins = start_standins()
    try:
        for key, value in standins.env().items():
            monkeypatch.setenv(key, value)
        world = FastWorld(standins, ANCHOR, mode="enforce", **POLICY)
        world.adapters.run = CloudRunAdapter(policy=FAST, **NO_WAIT)
        world.adapters.monitoring = CloudMonitoringAdapter(policy=FAST)
        world.adapters.logging = CloudLoggingAdapter(policy=FAST)
        world.adapters.vpcaccess = VpcAccessAdapter(policy=FAST, **NO_WAIT)
        seed(standins, scenario_model(scenario), ANCHOR)
        run = Run(world, scenario, {})
        run.execute(program)
        for adapter in (world.adapters.run, world.adapters.monitoring, world.adapters.logging,
                        world.adapters.vpcaccess):
            adapter.close()
        return _observed(run)
    finally:
        standins.stop()


def _in_process(scenario: str, program: list) -> dict[str, Any]:
    with fast_run(scenario, "enforce", **POLICY) as run:
        run.execute(program)
        return _observed(run)


@pytest.mark.parametrize("scenario, program", [(s, p) for s, programs in PROGRAMS.items() for p in programs],
                         ids=lambda value: value if isinstance(value, str) else "; ".join(map(str, value)))
def test_in_process_adapters_answer_as_the_real_clients(scenario: str, program: list,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = _on_real_clients(scenario, program, monkeypatch)
    fast = _in_process(scenario, program)

    if any(isinstance(step, Fault) and step.method == "GetOperation" and step.n >= 1000 for step in program):
        # Polling an operation that cannot be read ends on a time limit with the real client
        # (google-api-core's polling Retry) and on a count of polls in-process: how many polls
        # were made differs, not the outcome (OutcomeUnknownError, escalated and recorded).
        for observed in (real, fast):
            observed["calls"]["run"]["GetOperation"] = min(observed["calls"]["run"]["GetOperation"], 1)
    assert fast == real
