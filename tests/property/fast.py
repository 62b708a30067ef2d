"""The fast tier: the same `Run`, programs and invariants as the real-parts tier, on in-process parts.

A `FastWorld` is tests/integration/world.World with its parts swapped for in-process ones:
- state: MemoryStateStore (tests/unit/fakes.py), thread-safe, held to the same contract tests as
  FirestoreStateStore on the emulator (tests/unit/test_memory_state_store.py and
  tests/integration/test_firestore_state.py run one suite on both);
- Run, Monitoring, Logging, VPC Access: the product adapters with only their transport replaced by
  the stand-ins' own handlers (sandbox/inprocess.py); faults and call logs as on the gRPC servers;
- Pub/Sub: an in-process publisher that keeps every message.
docs/testing.md says why, and what only the real-parts tier covers.
"""
from __future__ import annotations

import enum
import json
import pickle
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sandbox.inprocess import (InProcessLogging, InProcessMonitoring, InProcessPublisher, InProcessRun,
                               InProcessVpcAccess, unstarted_standins)
from sandbox.scenarios import Scenario, resolve_scenario, seed
from sandbox.standins.faults import Faults
from sandbox.standins.server import StandIns
from shared.clock import FixedClock
from shared.config import Config, parse_config
from shared.gcp.identity import with_own_principal
from shared.pipeline import Adapters
from tests.integration.world import SERVICE, World, event
from tests.property.harness import ANCHOR, Run, sustained, with_port_faults
from tests.unit.fakes import MemoryStateStore

PROJECT = "runwarden-soak"
OUTCOMES_TOPIC = f"projects/{PROJECT}/topics/outcomes"


class FastWorld(World):
    """World's interface (alert, handle, command, seed, at, writes, serving) on in-process parts."""

    def __init__(self, standins, anchor, mode="enforce", services=(SERVICE,),
                 memo: dict | None = None, seeded_as: tuple | None = None, **config: Any) -> None:
        self.standins = standins
        # What the stand-ins were copied from (`seeded_copy`'s key), while Monitoring holds no series
        # beyond it: the Monitoring answers kept by request are shared by every world of that state.
        self.seeded_as = seeded_as
        # What Logging holds: the seeded state's entries, until a write is audited into it (`own_logging`).
        self.logging_as = seeded_as
        self.logging_owned = False
        self.anchor = anchor
        self.outcomes_topic = OUTCOMES_TOPIC
        # As World's: Runwarden's own account among self_principals, so that its own writes' audit entries (the Run
        # stand-in's `caller`) are not read as a person's.
        self.config = with_own_principal(_config(mode, tuple(services), config), standins.run.caller)
        self.state = MemoryStateStore()
        self.clock = FixedClock(anchor + timedelta(minutes=2))
        # The Run stand-in dates what it stamps (a service's update_time, a write's audit entries) by the world's
        # clock, and audits every write into this world's Logging, as World's `audit_into` does: Runwarden's own
        # rollback, a person's split move or deploy. On wall time, an answer naming when the service last changed
        # differed between two runs of one program a second apart; with no sink, a person's change was never in
        # the audit log the sweep and the alert path read.
        standins.run.audit_into(_OwnedOnWrite(self), clock=self.clock.now)
        self.publisher = InProcessPublisher()
        self.adapters = Adapters(run=InProcessRun(standins.run), monitoring=InProcessMonitoring(standins.monitoring, memo=memo),
                                 publisher=self.publisher, state=self.state, clock=self.clock,
                                 logging=InProcessLogging(standins.logging, memo=memo),
                                 vpcaccess=InProcessVpcAccess(standins.vpcaccess))
        with_port_faults(self)

    def add_series(self, series: Any) -> None:
        """A series more in this copy's Monitoring stand-in only: its series list, shared with the seeded
        template and every other copy (`seeded_copy`), is copied first, and the answers kept by request
        (the memo, shared by every copy of the template) are no longer used: they are no longer a
        function of the request alone."""
        self.own_monitoring()
        self.standins.monitoring.add_series(series)

    def own_monitoring(self) -> None:
        """This copy's Monitoring series made its own before anything is seeded into them directly (as
        tests/integration/test_remediation.py's `more_series` does): otherwise the series land in the
        template every later copy of the scenario shares. The memo is no longer used either."""
        monitoring = self.standins.monitoring
        with monitoring.lock:
            monitoring._series = list(monitoring._series)
        self.adapters.monitoring.forget_answers()
        self.seeded_as = None

    def own_logging(self) -> None:
        """This copy's Logging entries made its own before a write's audit entry lands in them (the template's are
        shared by every copy of the scenario), and the answers kept by request no longer shared: Logging's contents
        now depend on the writes this world made (an audit entry carries its operation's own id), so an answer is
        no longer a function of the seeded state and the request. Once per world: later entries land in its own."""
        if self.logging_owned:
            return
        logging = self.standins.logging
        with logging.lock:
            logging._entries = list(logging._entries)
            logging._keys = set(logging._keys)
            logging._matched = {}       # keyed by the store's generation: another copy's would answer for it
            logging._routed = {into: set(sources) for into, sources in logging._routed.items()}
        transport = getattr(self.adapters.logging, "_transport", None)   # none: a real client (no answers kept)
        if transport is not None:
            transport.forget_answers()
        self.logging_as = None
        self.logging_owned = True

    def add_series_group(self, key: Any, series: Any) -> None:
        """The series added (`World.add_series_group`), on a copy of the seeded state: what Monitoring
        then holds is a function of the seeded state and `key`, so it is stored once (validated by the
        stand-in's `add_series` the first time) and every later world given the same group takes that
        list, with the answers kept by request for that state (a rolled-back world's reads would
        otherwise all be answered afresh: a 10th of a program's CPU)."""
        if self.seeded_as is None:   # Monitoring's series already changed: no state to share answers with
            for one in series:
                self.add_series(one)
            return
        state = (*self.seeded_as, key)
        monitoring = self.standins.monitoring
        stored = _GROUPS.get(state)
        if stored is None:
            with monitoring.lock:
                monitoring._series = list(monitoring._series)
            for one in series:
                monitoring.add_series(one)
            with monitoring.lock:
                stored = _GROUPS[state] = tuple(monitoring._series)
        with monitoring.lock:
            monitoring._series = list(stored)
        self.seeded_as = state
        self.adapters.monitoring.use_answers(_MEMOS.setdefault(state, {}))

    def page_shape(self, standin: str, attribute: str, value: Any) -> None:
        """The Monitoring or Logging stand-in's paging set (`attribute` of this copy: never the template's), and
        the answers kept by request taken from a memo of that shape: an answer is then a function of the seeded
        state, the shape and the request, so every world of that state and shape shares them (answered afresh,
        a read of many pages cost a program about ten times its CPU). Without a seeded state, none is kept."""
        setattr(getattr(self.standins, standin), attribute, value)
        if standin == "monitoring":
            if self.seeded_as is None:
                self.adapters.monitoring.forget_answers()
                return
            self.seeded_as = (*self.seeded_as, (attribute, value))   # later groups of series keyed by it too
            self.adapters.monitoring.use_answers(_MEMOS.setdefault(self.seeded_as, {}))
            return
        transport = self.adapters.logging._transport
        if self.logging_as is None:
            transport.forget_answers()
            return
        self.logging_as = (*self.logging_as, (attribute, value))
        transport._memo = _MEMOS.setdefault(("logging", *self.logging_as), {})

    def published(self, count: int = 1) -> list[dict]:
        """Every outcome published so far (the in-process publisher loses nothing; `count` is ignored)."""
        return [json.loads(data) for _, data, _ in self.publisher.messages]

    def alert(self, name="bad_revision", message_id="1", **notification_args) -> dict:
        return event(_notification(name, self.anchor, tuple(sorted(notification_args.items()))), message_id)


class _OwnedOnWrite:
    """The audit sink the Run stand-in writes into (`audit_into`): the world's Logging stand-in, made the world's
    own (`FastWorld.own_logging`) before its first entry is added."""

    def __init__(self, world: FastWorld) -> None:
        self._world = world

    def add_entry(self, entry: Any) -> str:
        self._world.own_logging()
        return self._world.standins.logging.add_entry(entry)


_CONFIGS: dict[str, Config] = {}


def _config(mode: str, services: tuple[str, ...], config: dict[str, Any]) -> Config:
    """The world's parsed config, once per distinct config (a program's config is drawn from a few
    values; a Config is frozen, so every world with the same one may share it)."""
    data = {"project": PROJECT, "mode": mode, "outcomes_topic": OUTCOMES_TOPIC,
            "services": [{"name": s} for s in services], **config}
    key = json.dumps(data, sort_keys=True, default=repr)
    found = _CONFIGS.get(key)
    if found is None:
        if len(_CONFIGS) >= 4096:   # the tables give far fewer; a bound all the same
            _CONFIGS.clear()
        found = _CONFIGS[key] = parse_config(data)
    return found


_NOTIFICATIONS: dict[tuple, bytes] = {}


def _notification(name: str, anchor: Any, args: tuple) -> bytes:
    """The scenario's notification as JSON bytes, built once per (scenario, anchor, arguments)."""
    key = (name, anchor, args)
    if key not in _NOTIFICATIONS:
        _NOTIFICATIONS[key] = json.dumps(scenario_model(name).notification(anchor, **dict(args))).encode()
    return _NOTIFICATIONS[key]


@contextmanager
def fast_run(scenario: str, mode: str, sustain: int | None = None, **config: Any) -> Iterator[Run]:
    """`fresh_run` on in-process parts: nothing to start, nothing to stop, no environment. The
    stand-ins are a copy of ones seeded once per scenario (seeding validates every point, which
    would otherwise cost more than the program)."""
    world = FastWorld(seeded_copy(scenario, sustain), ANCHOR, mode=mode,
                      memo=_MEMOS.setdefault((scenario, sustain), {}), seeded_as=(scenario, sustain), **config)
    yield Run(world, scenario, {"mode": mode, "sustain": sustain, **config})



def run_sample(sample: tuple[str, dict, list], variant: str = "redelivered") -> tuple[Run, list[str]]:
    """One generated sample (scenario, config, program) on in-process parts, ended as `variant` says
    (tests/property/programs.py, VARIANTS): the run and the invariants it broke. The scenario,
    config, program and ending are noted for hypothesis's report."""
    from hypothesis import note

    from tests.property.invariants import check_all, every_write_known

    if variant not in ("redelivered", "dead_lettered"):
        raise ValueError(f"unknown ending {variant!r}")
    scenario, config, program = sample
    config = dict(config)
    mode, sustain = config.pop("mode"), config.pop("sustain", None)
    note(f"scenario {scenario}, config: mode={mode} sustain={sustain} {config}, ending: {variant}")
    note("program: " + "; ".join(str(step) for step in program))
    with fast_run(scenario, mode, sustain, **config) as run:
        if variant == "dead_lettered":
            run.settings["ending"] = variant
            for step in program:
                run.step(step)
            run.dead_letter()
            return run, check_all(run) + every_write_known(run)
        run.execute(program)
        return run, check_all(run)


_SCENARIOS: dict[str, Scenario] = {}
_SEEDED: dict[tuple[str, int | None], StandIns] = {}
_MEMOS: dict[tuple, dict] = {}   # Monitoring and Logging answers, per seeded state (and Monitoring's per group added)
# Monitoring's series once a group was added to a seeded state (FastWorld.add_series_group), by both.
_GROUPS: dict[tuple, tuple[Any, ...]] = {}


def scenario_model(name: str) -> Scenario:
    if name not in _SCENARIOS:
        _SCENARIOS[name] = resolve_scenario(name)
    return _SCENARIOS[name]


def seeded_copy(scenario: str, sustain: int | None) -> StandIns:
    """Fresh stand-ins holding what seeding `scenario` (going on until T0 + sustain minutes) gives."""
    key = (scenario, sustain)
    if key not in _SEEDED:
        template = unstarted_standins()
        seed(template, sustained(scenario, sustain) if sustain else scenario_model(scenario), ANCHOR)
        _SEEDED[key] = template
    template = _SEEDED[key]
    # Runwarden writes to Run and VPC Access only: their state is copied; Monitoring's and Logging's
    # is only read, so it is shared (each copy still has its own lock, call log and fault rules).
    return StandIns(run=_copy_standin(template.run), monitoring=_copy_standin(template.monitoring, deep=False),
                    vpcaccess=_copy_standin(template.vpcaccess), logging=_copy_standin(template.logging, deep=False))


def _copy_standin(template: Any, deep: bool = True) -> Any:
    """A stand-in of the same class with the template's state (a deep copy, or shared when `deep`
    is false), and its own lock, call log and fault rules. The deep copy is each attribute's pickle,
    taken once per template and loaded per copy: the same fresh objects as copy.deepcopy of each
    attribute gives (no sharing between attributes), at about a third of its cost."""
    clone = type(template).__new__(type(template))
    for name, value, make in _plan(template, deep):
        setattr(clone, name, value if make is None else make(value))
    return clone


_PLANS: dict[tuple[int, bool], tuple[Any, list[tuple[str, Any, Any]]]] = {}


def _plan(template: Any, deep: bool) -> list[tuple[str, Any, Any]]:
    """Per attribute of the template: its name, and the value a copy gets (`make(value)` when
    `make` is set): a new lock, new fault rules, an empty call log, the pickle loaded, or the
    template's own value. Worked out once per template (a template is never changed)."""
    found = _PLANS.get((id(template), deep))
    if found is None or found[0] is not template:
        blobs = _pickled(template) if deep else {}
        plan: list[tuple[str, Any, Any]] = []
        for name, value in vars(template).items():
            if isinstance(value, _LOCK):
                plan.append((name, None, lambda _: threading.Lock()))
            elif isinstance(value, _RLOCK):
                plan.append((name, None, lambda _: threading.RLock()))
            elif isinstance(value, threading.Condition):   # the calls in flight (StandIn.wait_until_answered)
                plan.append((name, None, lambda _: threading.Condition(threading.Lock())))
            elif isinstance(value, Faults):
                plan.append((name, type(value), lambda kind: kind()))
            elif name == "_calls":
                plan.append((name, None, lambda _: []))
            elif name in blobs:
                plan.append((name, blobs[name], pickle.loads))
            else:
                plan.append((name, value, None))
        found = _PLANS[(id(template), deep)] = (template, plan)
    return found[1]


_PICKLED: dict[int, tuple[Any, dict[str, bytes]]] = {}


def _pickled(template: Any) -> dict[str, bytes]:
    """The template's attributes that a copy must not share, pickled (a template is never changed:
    only its copies are used). Immutable leaves (None, numbers, strings, enum members) are shared."""
    found = _PICKLED.get(id(template))
    if found is None or found[0] is not template:
        blobs = {name: pickle.dumps(value, pickle.HIGHEST_PROTOCOL) for name, value in vars(template).items()
                 if not isinstance(value, (_LOCK, _RLOCK, threading.Condition, Faults, _IMMUTABLE))
                 and name != "_calls"}
        found = _PICKLED[id(template)] = (template, blobs)
    return found[1]


_IMMUTABLE = (type(None), bool, int, float, str, bytes, enum.Enum)
_LOCK, _RLOCK = type(threading.Lock()), type(threading.RLock())
