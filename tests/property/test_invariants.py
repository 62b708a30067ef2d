"""Property-based tests: Runwarden's guardrail invariants over random event programs, on real parts.

Each hypothesis example builds its own Runwarden (fresh stand-ins, an emptied Firestore emulator, a
Pub/Sub namespace of its own), drives it only through handle_alert / handle_command with a
generated program (programs.py: duplicates, reordering, concurrent deliveries, skewed and stepped
clocks, API faults, kill switch, pauses, operators' commands, sweeps, time passing) under a
generated config, then checks every invariant in invariants.py. The fast tier
(test_fast_tier.py, `make soak`) runs the same programs and checks on in-process parts.

1. no value above a ceiling (PatchConnector bodies), no traffic split but a whole one;
2. no two actions on one target within the cooldown (nor over the hourly budget);
3. no write for an incident once its CLOSED was handled;
4. no write in dry-run, in shadow mode, or with the kill switch on (config or command);
5. every action record and every applied outcome carries its before-state, and every write that
   took effect has an action record;
6. a one-way action (scale_connector) runs only where the policy allows it, else it is proposed;
7. no write to a target an operator paused; every delivery ends in exactly one outcome, and no
   incident gets two `applied` outcomes for one action;
plus: incident + target + action (or an operator's command id) acts at most once; every returned
outcome is published.

Examples per property: RUNWARDEN_PROPERTY_EXAMPLES (default below). With CI=true the search is
derandomized (a fixed seed per test), so CI runs the same examples every time; no example
database is written either way.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from tests.property.harness import CONNECTOR, Concurrent, Open, fresh_run
from tests.property.invariants import check_all, explain
from tests.property.programs import configs, programs

pytestmark = pytest.mark.emulator

CI = os.environ.get("CI", "").strip().lower() == "true"
EXAMPLES = int(os.environ.get("RUNWARDEN_PROPERTY_EXAMPLES", "40"))


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=CI, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _timeout(examples: int) -> pytest.MarkDecorator:
    # pytest-timeout (120 s by default) would cut a longer local run, or a shrink, short.
    return pytest.mark.timeout(max(120, examples * 8 + 300))


def run_and_check(firestore_emulator, pubsub_emulator, project_id, scenario, config, program) -> None:
    config = dict(config)
    mode, sustain = config.pop("mode"), config.pop("sustain", None)
    note(f"config: mode={mode} sustain={sustain} {config}")
    note("program: " + "; ".join(str(s) for s in program))
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, scenario, mode, sustain, **config) as run:
        run.execute(program)
        problems = check_all(run)
        note("trace:\n" + run.describe())
        label_coverage(run)
        assert not problems, explain(run, problems)


def label_coverage(run) -> None:
    """What the example exercised (shown by --hypothesis-show-statistics)."""
    writes = sum(o.run_writes + o.vpc_writes for o in run.trace)
    event(f"writes that took effect: {min(writes, 3)}{'+' if writes >= 3 else ''}")
    for status in sorted({o.status.value + (" (kill_switch)" if o.action and o.action.name in ("pause", "resume") else "")
                          for o in run.returned_outcomes()}):
        event(f"outcome {status}")
    if any(o.transient for o in run.trace):
        event("a delivery raised TransientError (redelivered)")
    if any(o.closed_before and o.incident in o.closed_before and "open" in str(o.step) for o in run.trace):
        event("an OPEN after its CLOSED")
    if any(o.kill_switch_on and o.incident for o in run.trace):
        event("a delivery with the kill switch flag on")


# --- the properties ------------------------------------------------------------------------------


@_timeout(EXAMPLES)
@_settings(EXAMPLES)
@given(config=configs("bad_revision"), program=programs("bad_revision"))
def test_rollback_keeps_every_invariant(firestore_emulator, pubsub_emulator, project_id, config, program):
    """bad_revision: rollback_traffic, its verification and undo, under any order of events."""
    run_and_check(firestore_emulator, pubsub_emulator, project_id, "bad_revision", config, program)


@_timeout(EXAMPLES)
@_settings(EXAMPLES)
@given(config=configs("connector_saturation"), program=programs("connector_saturation"))
def test_connector_scaling_keeps_every_invariant(firestore_emulator, pubsub_emulator, project_id, config, program):
    """connector_saturation: the one-way scale_connector, under any policy and order of events."""
    run_and_check(firestore_emulator, pubsub_emulator, project_id, "connector_saturation", config, program)


CONCURRENT_EXAMPLES = max(1, EXAMPLES // 2)


@_timeout(CONCURRENT_EXAMPLES)
@_settings(CONCURRENT_EXAMPLES)
@given(scenario=st.sampled_from(["bad_revision", "connector_saturation"]), data=st.data())
def test_duplicates_and_concurrent_deliveries_act_once(firestore_emulator, pubsub_emulator, project_id,
                                                       scenario, data):
    """Only deliveries of one open incident (redeliveries, new message ids, 2-4 threads at once),
    in enforce mode with a policy that allows the connector change: exactly one write lands."""
    config = {"mode": "enforce", "guardrails": {"cooldown_seconds": data.draw(st.sampled_from([0, 1800]))},
              "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}
    deliveries = st.one_of(st.builds(Open, st.just(0), st.integers(0, 2)),
                           st.builds(Concurrent, st.just(0), st.integers(0, 2), st.integers(2, 4), st.booleans()))
    program = data.draw(st.lists(deliveries, min_size=1, max_size=5))
    config_mode = dict(config)
    mode = config_mode.pop("mode")
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, scenario, mode, **config_mode) as run:
        run.execute(program)
        problems = check_all(run)
        writes = sum(o.run_writes + o.vpc_writes for o in run.trace)
        if writes != 1:
            problems.append(f"{writes} writes took effect for one open incident delivered "
                            f"{len(program)} way(s); exactly one expected")
        note("trace:\n" + run.describe())
        label_coverage(run)
        assert not problems, explain(run, problems)
