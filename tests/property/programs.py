"""The event programs and configs both tiers draw: one generator, so the fast tier (in-process
parts, `make soak`) and the real-parts tier (emulators and stand-ins) test the same programs.

A program is a list of steps (tests/property/harness.py): deliveries (duplicates from a small
pool of message ids, OPENs after their CLOSED, 2-4 threads racing on one incident or on both at once
(two incidents writing one target), an instance
whose clock is ±2 min off), time passing and the clock stepping back, faults at every API step
(UNAVAILABLE, DEADLINE_EXCEEDED, PERMISSION_DENIED), the state store failing (reads, the claim's
commit, later writes, a commit whose answer is lost) and the outcome publish failing, the scheduler's sweep, Google finishing
operations, and operators' commands (kill switch, pause/resume of one target, rollback_traffic,
scale_connector, restore_traffic, approve, release), some sent in other shapes (a pause or resume of the
connector by its project's number, a target sent as null, a command_id sent as a number, two commands in one
JSON array), rate-quota refusals of the writes and reads, notifications giving a field twice, leases and budget
slots an earlier version left under the connector's exact name (its cooldown, its write claim, a slot of the
hour's or the day's budget), a person's deploy made after the incident began, and the evidence answered in many
slow pages (a read running out of the deadline its pages share). Strategies are built once per (scenario,
incidents): hypothesis would otherwise rebuild them for every example.
"""
from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from tests.property.harness import (CONNECTOR, OPERATOR, Advance, Approve, ApproveRace, Close, Concurrent, Crossing,
                                    ExactNameLease, Fault, Jump, KillSwitch, LateDeploy, LegacySlot, Open, OperatorRestore,
                                    OperatorRollback, OperatorScale, OtherShape, Pause, PersonConnector, PersonTraffic,
                                    PublishFault, QuotaFault, Reject, Release, Renotify, Respelled, Settle, Skewed,
                                    SlowPages, StoreFault, Sweep, Unreadable)

SCENARIOS = ("bad_revision", "connector_saturation")
RUN_READS = [("run", "GetService"), ("run", "ListRevisions"), ("run", "GetOperation"),
             ("monitoring", "ListTimeSeries"), ("logging", "ListLogEntries")]
VPC_READS = [("vpcaccess", "GetConnector"), ("vpcaccess", "GetOperation")]
WRITES = {"bad_revision": [("run", "UpdateService")],
          "connector_saturation": [("vpcaccess", "PatchConnector")]}
FAULT_CODES = ("UNAVAILABLE", "UNAVAILABLE", "DEADLINE_EXCEEDED")


# Each kind of step is drawn as one choice from the table of every step of that kind (hypothesis's
# `sampled_from`), not built from a draw per field: the same steps, each kind exactly as likely as
# before (the weights in `steps`) and the steps of a kind equally likely, in two draws per step
# instead of five to eight. Hypothesis still duplicates whole steps (its mutator copies spans of one
# label) and shrinks toward the first entry of each table, the simplest.


def _table(*items: list) -> st.SearchStrategy:
    """One draw from the concatenated items (a repeated entry weighs more). Kept short: hypothesis
    does not draw a long table evenly (it favours the first entries)."""
    return st.sampled_from([item for group in items for item in group])


@lru_cache(maxsize=None)
def faults(scenario: str) -> st.SearchStrategy:
    reads = RUN_READS + (VPC_READS if scenario == "connector_saturation" else [])
    writes = WRITES[scenario]
    failing = _table([Fault(standin, method, n, code=code) for standin, method in reads + writes
                      for n in range(1, 5) for code in FAULT_CODES])
    denied = _table([Fault(standin, method, 0) for standin, method in writes])
    return st.one_of(failing, failing, denied, st.just(Fault("run", "", clear=True)))


# Runwarden's own dependencies failing: the state store (a read, the claim's commit, a later write;
# a commit may land and lose its answer) and the outcome publish.
STORE_FAULTS = st.one_of(
    _table([StoreFault("read", n, code) for n in range(1, 4) for code in FAULT_CODES]),
    _table([StoreFault(group, n, code, lost) for group in ("claim", "write") for n in range(1, 4)
            for code in FAULT_CODES for lost in (False, True)]),
    # One method of the group: the claim's completion (a dry run's, a command's own), the one commit
    # after a write (its claim completed with its records: record_all), the create of an alert's or
    # a command's intent (create_record), or a put_record (a proposal, an incident's history).
    _table([StoreFault("write", n, code, lost, method) for n in (1, 2) for code in FAULT_CODES
            for lost in (False, True) for method in ("complete", "create_record", "put_record", "record_all")]))
PUBLISH_FAULTS = _table([PublishFault(n) for n in (1, 2)])


# Rate-quota refusals (QuotaFault): the write refused 1-3 times, with a RetryInfo short enough to wait out within
# the call (0.05 s: sent again once) or none (the limit's minute: left to the redelivery); a read refused 1-2 times.
QUOTA_READS = [("run", "GetService"), ("monitoring", "ListTimeSeries"), ("logging", "ListLogEntries")]


@lru_cache(maxsize=None)
def quota_faults(scenario: str) -> st.SearchStrategy:
    reads = QUOTA_READS + ([("vpcaccess", "GetConnector")] if scenario == "connector_saturation" else [])
    return st.one_of(
        _table([QuotaFault(standin, method, n, delay) for standin, method in WRITES[scenario] for n in (1, 2, 3)
                for delay in (0.05, None)]),
        _table([QuotaFault(standin, method, n, delay) for standin, method in reads for n in (1, 2)
                for delay in (0.05, None)]))


@lru_cache(maxsize=None)
def steps(scenario: str, incidents: int) -> st.SearchStrategy:
    incident = range(incidents)
    message = range(3)   # a small pool: the same message id is a redelivery
    command = range(2)   # likewise for operators' command ids
    weighted = [
        (5, _table([Open(i, m) for i in incident for m in message])),
        (2, _table([Concurrent(i, m, n, same) for i in incident for m in message for n in (2, 3, 4)
                    for same in (False, True)])),
        (1, _table([Close(i, m) for i in incident for m in (0, 1)])),
        (1, _table([Skewed(i, m, s) for i in incident for m in message for s in (-120, -60, 60, 120)])),
        # Sweeps: a quarter of them past a rollback's deadline (15 min), where the undo is decided.
        (2, _table([Sweep(m) for m in (0, 4, 8, 16, 16, 30)])),
        (1, _table([KillSwitch(on) for on in (False, True)])),
        (1, _table([Pause(target, on) for target in ("service", "connector") for on in (False, True)])),
        (1, _table([OperatorRollback(c, named) for c in command for named in (False, True)])),
        (1, _table([OperatorScale(c, n) for c in command for n in (4, 5, 8, 10)])),
        # An operator's restore_traffic: releasing a rollback's pin (to_latest), or putting back the split
        # recorded before an incident's rollback (rejected when none is recorded).
        (1, _table([OperatorRestore(c, True) for c in command],
                   [OperatorRestore(c, False, i) for c in command for i in incident])),
        # Approvals (below, where proposals are made); elsewhere an approval finds no proposal.
        (1, _table([Approve(i, c, dry) for i in incident for c in command for dry in (False, False, True)])),
        # Cloud Monitoring re-notifying an incident still open, from 20 minutes (past the shortest claim
        # retention, 600 s) to a day on (past the default's), while the sustained incident goes on or after.
        (1, _table([Renotify(i, m) for i in incident for m in (20, 45, 90, 1500)])),
        # An operator's release of the hold an escalated plan of the incident keeps (rejected where none is).
        (1, _table([Release(i, c) for i in incident for c in command])),
        # The sweep's evidence unreadable for half an hour to an hour and a half, sweeps going on.
        (1, _table([Unreadable(m) for m in (30, 60, 90)])),
        # The evidence answered in many slow pages (SlowPages, until the faults are cleared): at 1 s a page most
        # reads end within the 30 s their pages share, at 4 s the longer ones run out of it
        # (WaitDeadline.page_timeout), at 12 s every page is cut at its own 5 s deadline. Cloud Run's ListRevisions
        # a revision a page: at 4 s read whole over its pages, at 12 s its first page never comes (a transient fault
        # in every reader of revisions: the diagnosis, the rollback's target, an approve's check, the sweep).
        (1, _table([SlowPages(standin, seconds) for standin in ("monitoring", "logging") for seconds in (1, 4, 12)]
                   + [SlowPages("run", seconds) for seconds in (4, 12)])),
        (2, faults(scenario)),
        (1, quota_faults(scenario)),
        # An OPEN whose notification gives a field twice (RESPELLINGS): with different values, refused.
        (1, _table([Respelled(i, kind) for i in incident for kind in range(4)])),
        (2, STORE_FAULTS),
        (1, PUBLISH_FAULTS),
        (2, _table([Advance(m) for m in (1, 2, 4, 6, 10, 30)])),
        (1, _table([Jump(m) for m in (1, 2, 3)])),
        (1, st.just(Settle())),
        # Commands in other shapes (harness.SHAPES): the connector paused or resumed by its project's number,
        # which must hold every write to it by its id (the gate's pause query, Gate._pauses_ahead); and
        # `"target": null` or a numeric command_id, each answered `rejected` once, nothing done.
        (1, _table([OtherShape("number_name", command) for command in ("pause", "pause", "resume")])),
        (1, _table([OtherShape("null_target", command)
                    for command in ("resume", "pause", "approve", "reject", "status")],
                   [OtherShape("number_id", command, n)
                    for command in ("rollback_traffic", "scale_connector", "resume", "approve") for n in (0, 1)],
                   # Two commands sent as one JSON array (harness.ARRAY_IDS): refused once under each id, nothing run.
                   [OtherShape("array", command, n) for command in ("resume", "pause", "rollback_traffic",
                                                                    "scale_connector") for n in (0, 1)])),
    ]
    if incidents == 2:   # both incidents' alerts at once: two writes to one target, which must never overlap
        weighted.append((2, _table([Crossing(0, m, n, False) for m in message for n in (2, 3, 4)])))
    if scenario == "bad_revision":   # a person moving the service's traffic by hand, around a rollback
        weighted.append((2, _table([PersonTraffic(split, reads) for split in (0, 1) for reads in (0, 1, 2, 2, 3)])))
        # A person's deploy made after the incident began, serving all or part of the traffic: a stand-down.
        weighted.append((1, _table([LateDeploy(share) for share in (100, 50, 10)])))
    else:
        weighted += approvals(incidents)
        # A lease an earlier version (keyed by the exact name, before guardrails.bound_key) left on the connector,
        # judged from the gate's batched read (guardrails.ExactNameLeases): it lapses within the program or not.
        weighted.append((1, _table([ExactNameLease(kind, m) for kind in ("cooldowns", "writing")
                                    for m in (5, 20, 45)])))
        # A budget slot an earlier version took under the connector's exact name (guardrails.legacy_slot), this
        # hour's or today's, at a place of the budget or past it: counted with the writes, never N + 1.
        weighted.append((1, _table([LegacySlot(bucket, i) for bucket in ("hour", "day") for i in range(4)])))
    return st.one_of([strategy for weight, strategy in weighted for _ in range(weight)])


@lru_cache(maxsize=None)
def approvals(incidents: int) -> list[tuple[int, st.SearchStrategy]]:
    """Where a connector change is proposed: approvals, common and varied. Command ids from a pool of
    three (a repeated id is a duplicated command; a new one after a decision approves a proposal
    already decided or superseded), one in three a dry run; approvals sent just before or after the
    proposal's expiry; two or three approvals at once, under one command id or several, beside an
    alert of the same incident; a rejection; and a person changing the connector by hand, at once,
    just after the gate's next claim, as the next patch's operation ends (before its read-back: an
    outcome Runwarden cannot know, recorded and escalated), or within an approval: between its check
    and the gate's read right before the write (where `superseded` is drawn); and a person changing the service's
    traffic by hand, within an approval (at its gate claim) or on its own."""
    incident, command = range(incidents), range(3)
    return [
        (4, _table([Approve(i, c, dry) for i in incident for c in command for dry in (False, False, True)])),
        (2, _table([Approve(i, c, False, when) for i in incident for c in command
                    for when in ("before_expiry", "after_expiry")])),
        (2, _table([Approve(i, c, False, "", person) for i in incident for c in command for person in (0, 1)])),
        # A person's traffic change within an approval (at its gate claim), or on its own.
        (1, _table([Approve(i, c, False, "", person) for i in incident for c in command for person in (2, 3)])),
        (1, _table([PersonTraffic(split, 0) for split in (0, 1)])),
        (1, _table([ApproveRace(i, n, same, alert) for i in incident for n in (2, 3) for same in (False, True)
                    for alert in (True, False)])),
        (1, _table([Reject(i, c) for i in incident for c in (0, 1)])),
        (2, _table([PersonConnector(change, at_claim) for change in (0, 1) for at_claim in (True, True, False)])),
        # A person's change landing as Runwarden's next patch's operation ends, before its read-back.
        (1, _table([PersonConnector(change, False, after_patch=True) for change in (0, 1)])),
    ]


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
    cut = draw(_CUT_TAIL[scenario]) if draw(_CUT_LAST) else ()
    return program + list(draw(_TAIL)) + list(cut)


# Three in four programs whose connector policy makes proposals (one-way changes not allowed) begin
# with the alert, so that approvals, a person's changes and the races meet a proposal rather than none.
_ALERT_FIRST = _table([False, True, True, True])


# One program in four ends with the scheduler's sweeps catching up past an action's deadline (15 min)
# and a verification period beyond it: where a rollback is verified or undone, an unreadable action
# escalated, an approved write judged. Few generated steps reach that far on their own.
_TAIL = _table([()] * 3, [(Sweep(16), Sweep(30))])


# One program in six ends with its evidence read in slow pages (SlowPages at 4 s a page: the longer reads run out
# of the 30 s their pages share) and then what judges or acts on that evidence: the sweeps past an action's
# deadline (verify, undo), an approve (its re-check before the write; connector proposals), racing deliveries of
# a new message. Drawn among the steps alone, a slow read met a sweep with an action to judge, or an approve, too
# seldom: 1,500 programs judged no sweep and no approve with a read cut (docs/testing.md, "Cut reads where they
# are judged").
_CUT_BY = [SlowPages(standin, 4) for standin in ("monitoring", "logging")]
_CUT_SWEEPS = [(slow, Sweep(16), Sweep(30)) for slow in _CUT_BY]
_CUT_RACES = [(slow, Concurrent(0, 1, threads, same)) for slow in _CUT_BY for threads in (2, 3)
              for same in (True, False)]
_CUT_APPROVES = [(slow, Approve(0, command)) for slow in _CUT_BY for command in (0, 1)]
_CUT_LAST = _table([False] * 5 + [True])
_CUT_TAIL = {"bad_revision": _table(_CUT_SWEEPS * 2, _CUT_RACES),
             "connector_saturation": _table(_CUT_SWEEPS, _CUT_RACES, _CUT_APPROVES * 2)}


# What a config draws from, as small tables (see `_table`): each combination as likely as when
# every field was drawn on its own. Built once: hypothesis validates a strategy the first time it is
# drawn from, and building them inside `configs` made that (and more) happen for every example.
_MODE = _table(["enforce"] * 5 + ["dry_run"])
_KILL_SWITCH = _table([False] * 6 + [True])
_LIMITS = _table([(cooldown, budget, sustain) for cooldown in (0, 300, 1800) for budget in (1, 2, 4)
                  for sustain in (None, 90)])
# A day's budget at least an hour's (the config refuses less): equal, one more, or the default
# (4, or the hour's when that is more). The completed claim kept the least allowed (600 s, one config
# in two), the default day, or an hour, so re-notifications meet a lapsed claim.
_DAY_EXTRA = _table([0, 1, None])
_RETENTION = _table([600, None, 3600, 600])
# A proposal open for the least allowed (300 s, one config in two: a few steps pass it), 15 minutes,
# or the default 4 h.
_PROPOSAL_TTL = _table([300, None, 900, 300])
# Shadow mode for one action, one config in eight.
_SHADOWS = _table([None] * 14, ["rollback_traffic", "scale_connector"])
# A written connector policy five times in six (else the default policy).
_WRITTEN_POLICY = _table([False] + [True] * 5)
# One-way changes not allowed by two written policies in three (nor by the default): a proposal to approve.
_POLICY = _table([(one_way, ceiling, step, machines) for one_way in (False, False, True)
                  for ceiling in (3, 4, 5, 6, 8, 10) for step in (1, 2, 3, 7)
                  for machines in (("e2-micro", "e2-standard-4"), ("e2-micro",))])


@st.composite
def configs(draw, scenario: str) -> dict:
    mode, kill_switch, (cooldown, budget, sustain) = draw(_MODE), draw(_KILL_SWITCH), draw(_LIMITS)
    guardrails = {"kill_switch": kill_switch, "cooldown_seconds": cooldown, "max_actions_per_target_per_hour": budget,
                  "max_actions_per_target_per_day": _day_budget(budget, draw(_DAY_EXTRA))}
    retention = draw(_RETENTION)
    if retention is not None:
        guardrails["claim_retention_seconds"] = retention
    proposal_ttl = draw(_PROPOSAL_TTL)
    if proposal_ttl is not None:
        guardrails["proposal_ttl_seconds"] = proposal_ttl
    # The incident as bundled (its data ends at T0+5m, so late steps see stale data), or going on.
    config: dict = {"mode": mode, "guardrails": guardrails, "sustain": sustain, "operators": [OPERATOR]}
    shadowed = draw(_SHADOWS)
    if shadowed:
        config["actions"] = {shadowed: {"mode": "dry_run"}}
    if scenario == "connector_saturation" and draw(_WRITTEN_POLICY):
        one_way, ceiling, step, machines = draw(_POLICY)
        config["bounds"] = {"connectors": [{"name": CONNECTOR, "allow_one_way": one_way,
                                            "max_instances_ceiling": ceiling, "max_instances_step": step,
                                            "allowed_machine_types": list(machines)}]}
    return config


def _day_budget(hour: int, extra: int | None) -> int:
    return max(4, hour) if extra is None else hour + extra


_SCENARIO = st.sampled_from(SCENARIOS)


@lru_cache(maxsize=None)
def _scenario_strategies(scenario: str) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """`configs(scenario)` and `programs(scenario)`, built once: a composite's call is a new strategy,
    which hypothesis validates (and checks for emptiness, through every strategy under it) the first
    time it is drawn from, so building them in `scenario_programs` did that twice per program drawn."""
    return configs(scenario), programs(scenario)


@st.composite
def scenario_programs(draw) -> tuple[str, dict, list]:
    """(scenario, config, program): the soak's one strategy over both scenarios."""
    scenario = draw(_SCENARIO)
    config_of, program_of = _scenario_strategies(scenario)
    config, program = draw(config_of), draw(program_of)
    if scenario == "connector_saturation" and _proposes(config) and draw(_ALERT_FIRST):
        program = [Open(0, 0), *program]
    elif scenario == "connector_saturation" and not _proposes(config) and draw(_HELD_FIRST):
        program = [*HELD_PREFIX, *program]
    if scenario == "connector_saturation" and draw(_NUMBER_PAUSE_FIRST):
        program = [NUMBER_PAUSE, *program]
    if scenario == "connector_saturation":
        first = draw(_LEGACY_SLOT_FIRST)
        if first is not None:
            program = [first, *program]
    return scenario, config, program


# One connector program in six begins with the first slot of this hour's or today's budget taken under the
# connector's exact name by an earlier version (LegacySlot): the place the program's first write would take.
# Drawn among the steps alone it met a write in its bucket too seldom: with the gate's `legacy_slot` answering
# None (such slots not read), 4,000 programs found nothing (docs/testing.md).
_LEGACY_SLOT_FIRST = _table([None] * 10, [LegacySlot("hour", 0), LegacySlot("day", 0)])


# One in six programs whose connector policy acts on its own (one-way changes allowed) begin with a plan
# escalated as of unknown outcome: the patch was sent, the commit recording it failed, and the sweep past the
# claim's lease could not read the connector (VPC Access refusing GetConnector until cleared), so it escalated
# the plan and holds the incident's claim (Gate.hold_escalated). What follows meets that hold, and `Release`
# finds a plan to release: without it, every generated release found none (2,000 programs: 282 releases, none
# applied).
_HELD_FIRST = _table([False] * 5 + [True])
HELD_PREFIX = (StoreFault("write", 1, method="record_all"), Open(0, 0), Fault("vpcaccess", "GetConnector", 0),
               Sweep(25), Fault("vpcaccess", "", clear=True))


# One in eight connector programs begins with the connector paused by its project's number: every write to it by
# its id that follows (an alert's, an approval's, an operator's) must be held, until a resume by that name. Drawn
# among the steps alone, a pause by number was followed by a write too seldom: with the gate's query of the
# pauses taken out (guardrails.paused_otherwise answering ""), 1,500 programs found nothing (docs/testing.md).
_NUMBER_PAUSE_FIRST = _table([False] * 7 + [True])
NUMBER_PAUSE = OtherShape("number_name", "pause")


def _proposes(config: dict) -> bool:
    """Whether the config's connector policy makes the alert's change a proposal (the default does)."""
    policies = config.get("bounds", {}).get("connectors", [])
    return not (policies and policies[0]["allow_one_way"])


# How a program ends (tests/property/harness.py): `redelivered`, the platform redelivers once every
# delivery and command that raised (Run.finish; the invariants of check_all), or `dead_lettered`,
# nothing is delivered again and one sweep after every lease must leave no write unknown
# (Run.dead_letter; check_all and every_write_known). One program in ten is dead-lettered; hypothesis
# shrinks toward the first entry, the redelivered ending.
VARIANTS = ("redelivered", "dead_lettered")
_VARIANT = _table(["redelivered"] * 9, ["dead_lettered"])


def soak_samples() -> st.SearchStrategy:
    """(variant, (scenario, config, program)): `make soak`'s mix of endings over `scenario_programs`."""
    return st.tuples(_VARIANT, scenario_programs())
