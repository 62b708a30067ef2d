"""The event programs and configs both tiers draw: one generator, so the fast tier (in-process
parts, `make soak`) and the real-parts tier (emulators and stand-ins) test the same programs.

A program is a list of steps (tests/property/harness.py): deliveries (duplicates from a small
pool of message ids, OPENs after their CLOSED, 2-4 threads racing on one incident, an instance
whose clock is ±2 min off), time passing and the clock stepping back, faults at every API step
(UNAVAILABLE, DEADLINE_EXCEEDED, PERMISSION_DENIED), the state store failing (reads, the claim's
commit, later writes, a commit whose answer is lost) and the outcome publish failing, the scheduler's sweep, Google finishing
operations, and operators' commands (kill switch, pause/resume of one target, rollback_traffic,
scale_connector, approve). Strategies are built once per (scenario, incidents): hypothesis would
otherwise rebuild them for every example.
"""
from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from tests.property.harness import (CONNECTOR, OPERATOR, Advance, Approve, Close, Concurrent, Fault, Jump,
                                    KillSwitch, Open, OperatorRollback, OperatorScale, Pause, PublishFault, Settle,
                                    Skewed, StoreFault, Sweep)

SCENARIOS = ("bad_revision", "connector_saturation")
RUN_READS = [("run", "GetService"), ("run", "ListRevisions"), ("run", "GetOperation"),
             ("monitoring", "ListTimeSeries"), ("logging", "ListLogEntries")]
VPC_READS = [("vpcaccess", "GetConnector"), ("vpcaccess", "GetOperation")]
WRITES = {"bad_revision": [("run", "UpdateService")],
          "connector_saturation": [("vpcaccess", "PatchConnector")]}
FAULT_CODES = ("UNAVAILABLE", "UNAVAILABLE", "DEADLINE_EXCEEDED")


@lru_cache(maxsize=None)
def faults(scenario: str) -> st.SearchStrategy:
    reads = RUN_READS + (VPC_READS if scenario == "connector_saturation" else [])
    writes = WRITES[scenario]
    failing = st.builds(lambda sm, n, code: Fault(sm[0], sm[1], n, code=code), st.sampled_from(reads + writes),
                        st.integers(1, 4), st.sampled_from(FAULT_CODES))
    denied = st.builds(lambda sm: Fault(sm[0], sm[1], 0), st.sampled_from(writes))
    return st.one_of(failing, failing, denied, st.just(Fault("run", "", clear=True)))


# Runwarden's own dependencies failing: the state store (a read, the claim's commit, a later write;
# a commit may land and lose its answer) and the outcome publish.
STORE_FAULTS = st.one_of(
    st.builds(StoreFault, st.just("read"), st.integers(1, 3), st.sampled_from(FAULT_CODES)),
    st.builds(StoreFault, st.sampled_from(["claim", "write"]), st.integers(1, 3), st.sampled_from(FAULT_CODES),
              st.booleans()),
    # One method of the group: the claim's completion (a dry run's, a command's), the one commit after
    # a write (its claim completed with its records: record_all), or a put_record (the intent).
    st.builds(StoreFault, st.just("write"), st.integers(1, 2), st.sampled_from(FAULT_CODES), st.booleans(),
              st.sampled_from(["complete", "put_record", "record_all"])))
PUBLISH_FAULTS = st.builds(PublishFault, st.integers(1, 2))


@lru_cache(maxsize=None)
def steps(scenario: str, incidents: int) -> st.SearchStrategy:
    incident = st.integers(0, incidents - 1)
    message = st.integers(0, 2)  # a small pool: the same message id is a redelivery
    command = st.integers(0, 1)  # likewise for operators' command ids
    weighted = [
        (5, st.builds(Open, incident, message)),
        (2, st.builds(Concurrent, incident, message, st.integers(2, 4), st.booleans())),
        (1, st.builds(Close, incident, st.integers(0, 1))),
        (1, st.builds(Skewed, incident, message, st.sampled_from([-120, -60, 60, 120]))),
        (2, st.builds(Sweep, st.sampled_from([0, 4, 8, 16]))),
        (1, st.builds(KillSwitch, st.booleans())),
        (1, st.builds(Pause, st.sampled_from(["service", "connector"]), st.booleans())),
        (1, st.builds(OperatorRollback, command, st.booleans())),
        (1, st.builds(OperatorScale, command, st.sampled_from([4, 5, 8, 10]))),
        (1, st.builds(Approve, incident, command)),
        (2, faults(scenario)),
        (2, STORE_FAULTS),
        (1, PUBLISH_FAULTS),
        (2, st.builds(Advance, st.sampled_from([1, 2, 4, 6, 10, 30]))),
        (1, st.builds(Jump, st.sampled_from([1, 2, 3]))),
        (1, st.just(Settle())),
    ]
    return st.one_of([strategy for weight, strategy in weighted for _ in range(weight)])


@lru_cache(maxsize=None)
def _program_steps(scenario: str, incidents: int, max_steps: int) -> st.SearchStrategy:
    return st.lists(steps(scenario, incidents), min_size=1, max_size=max_steps)


_INCIDENT_COUNT = st.integers(1, 2)


@lru_cache(maxsize=None)
def _up_to(n: int) -> st.SearchStrategy:
    return st.integers(0, n)


@st.composite
def programs(draw, scenario: str, max_steps: int = 8) -> list:
    incidents = draw(_INCIDENT_COUNT)
    program = draw(_program_steps(scenario, incidents, max_steps))
    if not any(isinstance(step, (Open, Concurrent, Skewed)) for step in program):  # every program delivers an OPEN
        program.insert(draw(_up_to(len(program))), Open(draw(_up_to(incidents - 1)), 0))
    return program


# Every strategy a config draws from, built once: hypothesis validates a strategy the first time it
# is drawn from, and building them inside `configs` made that (and more) happen for every example.
_MODE = st.sampled_from(["enforce"] * 5 + ["dry_run"])
_KILL_SWITCH = st.sampled_from([False] * 6 + [True])
_COOLDOWN = st.sampled_from([0, 300, 1800])
_BUDGET = st.sampled_from([1, 2, 4])
_SUSTAIN = st.sampled_from([None, 90])
_ONE_IN_EIGHT, _FIVE_IN_SIX = st.integers(0, 7), st.integers(0, 5)
_SHADOWED = st.sampled_from(["rollback_traffic", "scale_connector"])
_ONE_WAY = st.sampled_from([True, True, True, False])
_CEILING = st.sampled_from([3, 4, 5, 6, 8, 10])
_STEP = st.sampled_from([1, 2, 3, 7])
_MACHINES = st.sampled_from([["e2-micro", "e2-standard-4"], ["e2-micro"]])


@st.composite
def configs(draw, scenario: str) -> dict:
    mode = draw(_MODE)
    guardrails = {"kill_switch": draw(_KILL_SWITCH),
                  "cooldown_seconds": draw(_COOLDOWN),
                  "max_actions_per_target_per_hour": draw(_BUDGET)}
    # The incident as bundled (its data ends at T0+5m, so late steps see stale data), or going on.
    config: dict = {"mode": mode, "guardrails": guardrails, "sustain": draw(_SUSTAIN),
                    "operators": [OPERATOR]}
    if draw(_ONE_IN_EIGHT) == 0:  # shadow mode for one action
        config["actions"] = {draw(_SHADOWED): {"mode": "dry_run"}}
    if scenario == "connector_saturation" and draw(_FIVE_IN_SIX) > 0:  # else: the default policy
        policy = {"name": CONNECTOR, "allow_one_way": draw(_ONE_WAY),
                  "max_instances_ceiling": draw(_CEILING),
                  "max_instances_step": draw(_STEP),
                  "allowed_machine_types": list(draw(_MACHINES))}
        config["bounds"] = {"connectors": [policy]}
    return config


_SCENARIO = st.sampled_from(SCENARIOS)


@st.composite
def scenario_programs(draw) -> tuple[str, dict, list]:
    """(scenario, config, program): the soak's one strategy over both scenarios."""
    scenario = draw(_SCENARIO)
    return scenario, draw(configs(scenario)), draw(programs(scenario))
