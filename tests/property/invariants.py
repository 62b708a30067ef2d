"""The invariants every run must keep, whatever the order of events, the faults and the config.

Each check returns a list of violations in words (empty: the invariant held), so a failing example
reports every broken invariant at once, with the trace of the run.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from shared.clock import skew_safe_lease
from shared.remediation.actions import all_actions
from shared.remediation.records import INTENTS, PROPOSALS
from shared.config import Config
from tests.property.harness import (ARRAY_IDS, CONNECTOR, INCIDENTS, LATE_REVISION, LateDeploy, NUMBER_CONNECTOR, REFUSED_SHAPES,
                                    RESPELLINGS, SERVICE, ApprovalTry, Approve, ApproveRace, Close, Concurrent, KillSwitch,
                                    Observation, Open, OperatorRestore, OperatorRollback, OperatorScale, OtherShape,
                                    Pause, PersonTraffic, Reject, Release, Renotify, Respelled, Run, Skewed, Sweep,
                                    Unreadable,
                                    _oldest_revision, _Redeliver, _Resend, is_operator_scale, is_release, is_restore,
                                    minutes)

DELIVERIES = (Open, Concurrent, Close, Skewed, _Redeliver, Renotify, Respelled)
SWEEPS = (Sweep, Unreadable)
COMMANDS = (OperatorRollback, OperatorScale, OperatorRestore, Approve, Reject, Release, _Resend)

API_MAX_INSTANCES = 10


def check_all(run: Run) -> list[str]:
    published = run.published(len(run.returned_outcomes()))
    records = run.action_records()   # the run has ended: read once, for the two checks that need them
    problems: list[str] = []
    for check in (no_unexpected_errors, within_ceilings, cooldown_and_budgets, once_per_claim,
                  nothing_on_closed_incidents, no_writes_when_off, paused_targets_untouched,
                  one_way_needs_policy, outcomes_agree, one_write_per_incident, undo_keeps_person_change,
                  one_judgement_per_action, proposal_written_once, approvals_hold_their_world,
                  connector_written_on_its_world, every_command_answered, refusals_reported_once,
                  writes_never_overlap, held_alerts_answered, other_shapes_refused, commands_answered_once,
                  exact_name_leases_hold, cut_reads_answered_once, cut_reads_race_to_one_answer,
                  cut_reads_never_judged, cut_reads_never_approved, respelled_notifications_refused,
                  quota_refusals_sent_again_once, duplicates_name_one_hold, late_deploys_never_overwritten):
        problems += check(run)
    problems += splits_are_whole(run, records)
    problems += before_states_recorded(run, records)
    problems += every_outcome_published(run, published)
    problems += applied_outcomes_carry_before(published, "published")
    return problems


# The steps that deliver an alert (a Crossing is observed as one Concurrent step per incident).
_ALERT_STEPS = (Open, Close, Concurrent, Skewed, Renotify, Respelled, ApproveRace, _Redeliver)


def late_deploys_never_overwritten(run: Run) -> list[str]:
    """A person's deploy made after the incident began (LateDeploy) is a change made since: while its revision
    serves, no alert delivery sends the service's traffic back (rules/bad_revision.py stands down: "sending
    traffic back would write over it"). An operator's command may; once the late revision serves nothing again
    (a person's or an operator's change), the check no longer applies."""
    return [f"step #{obs.index} {obs.step}: {obs.update_calls} UpdateService call(s) while {LATE_REVISION}, "
            "deployed after the incident began, served" for obs in run.trace
            if obs.late_serving and isinstance(obs.step, _ALERT_STEPS) and obs.update_calls]


def writes_never_overlap(run: Run) -> list[str]:
    """Two of Runwarden's writes to one target are never in flight at once, whichever incidents, commands or
    sweeps make them, at any cooldown (the target's write claim, guardrails.WRITING)."""
    return list(run.overlaps)


def held_alerts_answered(run: Run) -> list[str]:
    """Every alert delivery held back by another write in flight (WriteInFlight) is answered in the end: where
    the platform delivers it again, its last delivery answers (acted, or whatever its evidence says then),
    never left raising; and an answer that gave up names the write that held the target. A program whose
    deliveries are dead-lettered leaves them to the sweep (Run.dead_letter)."""
    if run.dead_lettered:
        return []
    problems = []
    for index, message_id, holder in run.held_alerts:
        ends = run.delivery_ends.get(message_id, [])
        if not ends or not ends[-1][1]:
            problems.append(f"step #{index}: delivery {message_id}, held back by {holder}'s write in flight, "
                            "was never answered")
    for obs in run.trace:
        for o in obs.outcomes:
            if o.status.value == "failed" and "in flight" in o.reason and "held by" not in o.reason:
                problems.append(f"step #{obs.index}: a give-up for a write in flight names no holder: {o.reason}")
    return problems


def no_unexpected_errors(run: Run) -> list[str]:
    """A delivery answers (an outcome) or raises TransientError for a retry; nothing else."""
    return [f"step #{o.index} {o.step} raised: {e}" for o in run.trace for e in o.errors]


# 1. ceilings --------------------------------------------------------------------------------------


def within_ceilings(run: Run) -> list[str]:
    """Every PatchConnector the VPC stand-in received stays at or under the policy's ceiling and the
    API's 10, never lowers anything, and names only a machine type the policy allows."""
    config: Config = run.world.config
    policy = config.bounds.connector(CONNECTOR)
    problems = []
    for request in run.standins.vpcaccess.requests("PatchConnector"):
        body = request.body if isinstance(request.body, dict) else {}
        high, low = int(body.get("maxInstances", 0)), int(body.get("minInstances", 0))
        if high > policy.max_instances_ceiling or high > API_MAX_INSTANCES:
            problems.append(f"PatchConnector maxInstances {high} is above the ceiling "
                            f"{min(policy.max_instances_ceiling, API_MAX_INSTANCES)}: {body}")
        if high < 3 or low < 2:  # the seeded connector is 2-3: nothing may go down
            problems.append(f"PatchConnector lowers the connector (seeded 2-3): {body}")
        machine = body.get("machineType")
        if machine is not None and machine != "e2-micro" and machine not in policy.allowed_machine_types:
            problems.append(f"PatchConnector sets machine type {machine}, not allowed by the policy "
                            f"{policy.allowed_machine_types}")
    return problems


def splits_are_whole(run: Run, records: list[dict[str, Any]] | None = None) -> list[str]:
    """Every traffic split written names only existing revisions and sums to 100; and it is either a
    rollback (100% to a revision older than the one that served), a recorded before-state, an operator's
    restore to the latest revision (100% to LATEST), or what an operator's rollback command named (100% to that revision: a person's decision, even when the
    revision already serves, as through LATEST on a one-revision service after a person's split)."""
    service = _scenario_service(run)
    created = {r.name: r.created for r in service.revisions}
    # A person's deploy after T0 (LateDeploy) is an existing revision too, created `minutes` after T0 (the seeded
    # revisions' offsets are from T0 as well): the sweep's undo may restore a recorded split holding it.
    created.update({LATE_REVISION: timedelta(minutes=obs.step.minutes) for obs in run.trace
                    if isinstance(obs.step, LateDeploy)})
    seeded = {(t.revision if not t.latest else LATEST): t.percent for t in service.traffic}
    serving = [rev for rev, pct in seeded.items() if pct and rev != LATEST]
    recorded = [_split(r.get("before", {}).get("traffic", [])) for r in
                (run.action_records() if records is None else records)]
    named = {_oldest_revision(run.scenario) for obs in run.trace
             if isinstance(obs.step, OperatorRollback) and obs.step.named}
    # An operator's restore_traffic: to_latest asks for all of it on LATEST (tags kept at 0%), releasing a pin
    # (with an action_id, the recorded before-state). Requests are checked, refused ones too.
    to_latest = any(is_restore(obs.step) and obs.update_calls for obs in run.trace)
    problems = []
    for request in run.standins.run.requests("UpdateService"):
        split = {(t.revision or LATEST): t.percent for t in request.service.traffic}
        if sum(split.values()) != 100 or any(rev != LATEST and rev not in created for rev in split):
            problems.append(f"UpdateService wrote {split}: not a split of existing revisions summing to 100")
            continue
        [only] = split if len(split) == 1 else [None]
        rollback = only in created and serving and all(created[only] < created[s] for s in serving)
        latest = to_latest and {rev: pct for rev, pct in split.items() if pct} == {LATEST: 100}
        if not rollback and split not in recorded and not (only is not None and only in named) and not latest:
            problems.append(f"UpdateService wrote {split}: neither a rollback to an older revision nor a "
                            f"recorded before-state {recorded}")
    return problems


# 2. cooldown and budgets --------------------------------------------------------------------------


def cooldown_and_budgets(run: Run) -> list[str]:
    """Two actions (not undos) on one target are at least the cooldown apart on the pinned clock, and
    no target takes more than its hourly budget (by the clock of the instance that acted). An
    instance whose clock is off by s seconds sees a cooldown end s seconds early or late: two
    actions may then be the cooldown less the difference of their instances' offsets apart."""
    guard = run.world.config.guardrails
    cooldown = timedelta(seconds=guard.cooldown_seconds)
    problems = []
    for target, writes in _action_writes(run).items():
        writes.sort()
        for (a, skew_a), (b, skew_b) in pairwise(writes):
            if b - a < cooldown - timedelta(seconds=abs(skew_a - skew_b)):
                problems.append(f"two actions on {target.rsplit('/', 1)[-1]} at T0+{minutes(a):g}m and "
                                f"T0+{minutes(b):g}m, within the cooldown of {guard.cooldown_seconds} s")
        per_hour = Counter((t + timedelta(seconds=skew)).strftime("%Y-%m-%dT%H") for t, skew in writes)
        per_day = Counter((t + timedelta(seconds=skew)).strftime("%Y-%m-%d") for t, skew in writes)
        # The day's budget counts per calendar day (UTC, by the acting instance's clock), as the hour's per hour.
        for counted, budget, per in ((per_hour, guard.max_actions_per_target_per_hour, "in"),
                                     (per_day, guard.max_actions_per_target_per_day, "on")):
            taken = legacy_places(run, target, budget)
            for bucket in set(counted) | set(taken):
                n, old = counted[bucket], taken[bucket]
                if n + old > budget:
                    before = f" ({old} slot(s) an earlier version took under the exact name)" if old else ""
                    problems.append(f"{n} actions on {target} {per} {bucket}{before}, budget {budget}")
    return problems


def legacy_places(run: Run, target: str, capacity: int) -> Counter:
    """Per bucket (an hour or a day, as the slot keys name them), the places of a budget of `capacity` on
    `target` that budget slots an earlier version stored under the exact name took (LegacySlot: each stored
    where its place was free; one at or past the capacity is not one of the budget's places). The gate takes
    slot i only where both names' are free (guardrails.legacy_slot), so these and the writes may not pass it."""
    if target != CONNECTOR:
        return Counter()
    return Counter(bucket for bucket, index in {(b, i) for _, b, i in run.legacy_slots if i < capacity})


def refusals_reported_once(run: Run) -> list[str]:
    """A write the API refused for good (`ACTION failed: …`, PERMISSION_DENIED) is answered `failed` once
    per incident for the claim's hold (the target's cooldown, or the claim's lease when there is none):
    a later notification of the incident within it is a duplicate of that answer, not another try and
    another `failed` (Gate._refused). An instance whose clock is off sees the hold end early or late
    by the difference, as for the cooldown.
    The refused message itself, delivered again (a redelivery, or two deliveries of it at once), is
    answered `failed` again, as it was (guardrails.duplicate_result): its first answer's publish may
    have failed, and nothing tells the two apart; it is the same answer to the same message, not
    another try."""
    guard = run.world.config.guardrails
    hold = skew_safe_lease(guard.cooldown_seconds or guard.claim_ttl_seconds)
    last: dict[tuple[str, str], tuple[Any, float, str | None]] = {}
    problems = []
    for obs in run.trace:
        if not isinstance(obs.step, DELIVERIES):
            continue
        for outcome in obs.outcomes:
            action = outcome.action.name if outcome.action is not None else ""
            if outcome.status.value != "failed" or not action or not outcome.reason.startswith(f"{action} failed:"):
                continue
            key = (outcome.incident_id or "", action)
            if key in last:
                at, skew, message = last[key]
                if message is not None and outcome.message_id == message:
                    continue   # the refused message answered again, as it was
                if obs.at - at < hold - timedelta(seconds=abs(skew - obs.skew)):
                    problems.append(f"step #{obs.index}: {action} for incident {key[0]} refused and answered "
                                    f"`failed` again at T0+{minutes(obs.at):g}m, within the hold of the refusal "
                                    f"at T0+{minutes(at):g}m")
            last[key] = (obs.at, obs.skew, outcome.message_id)
    return problems


def _action_writes(run: Run) -> dict[str, list]:
    """Writes that took effect, by target: (the pinned time of the step, the acting instance's clock
    offset in seconds); undos (sweeps) left out."""
    writes: dict[str, list] = defaultdict(list)
    for obs in run.trace:
        if isinstance(obs.step, SWEEPS) or is_restore(obs.step):   # corrective: no cooldown, no budget slot
            continue
        writes[SERVICE] += [(obs.at, obs.skew)] * obs.run_writes
        writes[CONNECTOR] += [(obs.at, obs.skew)] * obs.vpc_writes
    return writes


def released_by(obs: Observation) -> set[str]:
    """The incidents whose escalated plan's hold an operator's `release` lifted at this step: a person checked
    the target, so the incident's next notification may write again (docs/behaviour.md, "A plan escalated as
    of unknown outcome"); the invariants that count an incident's writes count afresh from there."""
    if not is_release(obs.step):
        return set()
    return {o.incident_id for o in obs.outcomes if o.status.value == "applied" and o.incident_id}


def once_per_claim(run: Run) -> list[str]:
    """incident + target + action acts at most once, whatever the duplicates and retries; except that once an
    operator's `release` of an escalated plan's hold applied (a person checked the target: docs/behaviour.md,
    "A plan escalated as of unknown outcome"), the incident's writes are counted afresh."""
    per_key: Counter[str] = Counter()
    problems = []
    for obs in run.trace:
        if is_release(obs.step):
            if obs.run_writes or obs.vpc_writes:
                problems.append(f"step #{obs.index} {obs.step}: a release wrote to Google Cloud")
            released = released_by(obs)
            problems += [f"{key} acted {n} times" for key, n in per_key.items()
                         if n > 1 and key.split("|")[0] in released]
            for key in [k for k in per_key if k.split("|")[0] in released]:
                del per_key[key]
            continue
        if isinstance(obs.step, SWEEPS):
            if obs.vpc_writes:
                problems.append(f"step #{obs.index}: a sweep patched the connector")
            if obs.run_writes > len(obs.restored):
                problems.append(f"step #{obs.index}: {obs.run_writes} traffic writes by a sweep that undid "
                                f"{len(obs.restored)} action(s)")
            if len(obs.restored) == 1:
                per_key[f"{obs.restored[0]} (restore)"] += obs.run_writes
            continue
        if isinstance(obs.step, COMMANDS) and obs.claim_incident:   # an operator's: claimed on its command
            traffic = "restore_traffic" if is_restore(obs.step) else "rollback_traffic"
            per_key[f"{obs.claim_incident}|{SERVICE}|{traffic}"] += obs.run_writes
            per_key[f"{obs.claim_incident}|{CONNECTOR}|scale_connector"] += obs.vpc_writes
            continue
        if obs.incident is None:
            if obs.run_writes or obs.vpc_writes:
                problems.append(f"step #{obs.index} {obs.step}: a write took effect with no delivery")
            continue
        per_key[f"{obs.incident}|{SERVICE}|rollback_traffic"] += obs.run_writes
        per_key[f"{obs.incident}|{CONNECTOR}|scale_connector"] += obs.vpc_writes
    problems += [f"{key} acted {n} times" for key, n in per_key.items() if n > 1]
    return problems


# 3. closed incidents -----------------------------------------------------------------------------


def nothing_on_closed_incidents(run: Run) -> list[str]:
    """Once an incident's CLOSED was handled, no write call happens for it (nor by a CLOSED at all)."""
    problems = []
    for obs in run.trace:
        if not obs.write_calls:
            continue
        if "closed" in str(obs.step):
            problems.append(f"step #{obs.index} {obs.step}: a CLOSED notification caused {obs.write_calls} write(s)")
        if isinstance(obs.step, SWEEPS):
            incidents = {key.split("|", 1)[0] for key in obs.restored}
        elif isinstance(obs.step, Approve):
            incidents = {INCIDENTS[obs.step.incident]}
        else:
            incidents = {obs.incident} if obs.incident else set()
        for incident in incidents & obs.closed_before:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) for {incident}, "
                            f"whose CLOSED was handled earlier")
    return problems


# 4. dry-run and the kill switch ------------------------------------------------------------------


def no_writes_when_off(run: Run) -> list[str]:
    config: Config = run.world.config
    update, patch = run.standins.run.count("UpdateService"), run.standins.vpcaccess.count("PatchConnector")
    problems = []
    if config.dry_run and update + patch:
        problems.append(f"mode dry_run, yet {update} UpdateService and {patch} PatchConnector call(s)")
    if config.guardrails.kill_switch and update + patch:
        problems.append(f"kill switch in config, yet {update} UpdateService and {patch} PatchConnector call(s)")
    if config.action_dry_run("scale_connector") and patch:
        problems.append(f"scale_connector in shadow mode, yet {patch} PatchConnector call(s)")
    rollbacks = sum(o.update_calls for o in run.trace if not is_restore(o.step) and not isinstance(o.step, SWEEPS))
    if config.action_dry_run("rollback_traffic") and rollbacks:
        problems.append(f"rollback_traffic in shadow mode, yet {rollbacks} UpdateService call(s)")
    for obs in run.trace:
        if obs.kill_switch_on and obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) with the kill switch on")
    return problems


def paused_targets_untouched(run: Run) -> list[str]:
    """While an operator has paused a target, nothing writes to it: not an alert, not a sweep's undo,
    not another operator's command. And while the service is paused, nothing is written for it: its
    alerts' scale of the connector (or an approve of one) is held back too. Only an operator's own
    scale_connector command, made for no alert, may still write to the connector: sent after the
    pause, or resent by the platform after a transient fault (`is_operator_scale`)."""
    problems = []
    for obs in run.trace:
        # Paused by either name of it (NUMBER_CONNECTOR): one connector, so either pause holds it.
        connector_paused = CONNECTOR in obs.paused or NUMBER_CONNECTOR in obs.paused
        if SERVICE in obs.paused and obs.update_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.update_calls} UpdateService call(s) while the "
                            "service was paused")
        if connector_paused and obs.patch_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.patch_calls} PatchConnector call(s) while the "
                            "connector was paused")
        elif SERVICE in obs.paused and obs.patch_calls and not is_operator_scale(obs.step):
            problems.append(f"step #{obs.index} {obs.step}: {obs.patch_calls} PatchConnector call(s) for the "
                            "service's alerts while the service was paused")
    return problems


def exact_name_leases_hold(run: Run) -> list[str]:
    """A lease an earlier version left under the connector's exact name (ExactNameLease) holds every patch of the
    connector back until it lapses, as the keyed one does (guardrails.bound_keys, ExactNameLeases): its write
    claim always, its cooldown where the config has one (a zero cooldown holds nothing, Gate._cooldown). Judged
    at the step's end (a step that moves the clock, a sweep's, counts only if the lease outlived it) less the
    acting instance's skew, which sees a lease lapse that much early."""
    cooled = run.world.config.guardrails.cooldown_seconds > 0
    problems = []
    for obs in run.trace:
        if not obs.patch_calls or obs.ended is None:
            continue
        for index, kind, until in run.exact_name_leases:
            live = index < obs.index and obs.ended + timedelta(seconds=abs(obs.skew)) < until
            if live and (kind == "writing" or cooled):
                problems.append(f"step #{obs.index} {obs.step}: {obs.patch_calls} PatchConnector call(s) while the "
                                f"{kind} lease of step #{index} under the connector's exact name was live "
                                f"(until T0+{minutes(until):g}m)")
    return problems


# An alert delivered alone in its step: the step's outcomes, raises and write calls are that delivery's.
SINGLE_DELIVERIES = (Open, Close, Skewed, _Redeliver, Renotify, Respelled)
# What a delivery may answer once a read of it was cut: a read cut while paging is an incomplete read
# (shared.errors.IncompleteReadError, `PageCursor.cut_short`), a gap that holds any action and `healthy` back, so
# the diagnosis is escalated at once; a read cut before its first page is a transient fault, redelivered, and
# past delivery.max_attempts the delivery gives up, `failed` (shared/pipeline.py `_gives_up`). Never a write,
# nor `healthy`, nor a plan made on the rest of the evidence.
ANSWERS_AFTER_A_CUT = frozenset({"escalated", "failed", "standing_down"})


def cut_reads_answered_once(run: Run) -> list[str]:
    """A delivery one of whose paged reads ran out of the deadline its pages share (SlowPages: the in-process
    transport counts each page `WaitDeadline.page_timeout` refused, Observation.reads_cut) acts on none of it: the
    pages read so far are never handed on as the whole answer (the adapters raise IncompleteReadError, or
    DeadlineExceeded before a page came). So in its step: no write call, and it is answered exactly once: raised
    (and redelivered by Run.finish) or one outcome, `escalated` or `failed` (a message delivered again after an
    escalation is answered `skipped`, naming its own answer: that is judged, `_own_answer`; an alert that is the
    symptom of Runwarden's own write in flight stands down, `skipped`, judging nothing). Only deliveries alone in their step
    are judged (a racing thread's outcome is not told apart from its twins')."""
    problems = []
    for obs in run.trace:
        if not obs.reads_cut or not isinstance(obs.step, SINGLE_DELIVERIES):
            continue
        said = [_own_answer(o) for o in obs.outcomes]
        if obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) in a delivery whose "
                            f"paged read ran out of its deadline ({obs.reads_cut} page(s) refused)")
        if obs.transient + len(said) != 1:
            problems.append(f"step #{obs.index} {obs.step}: a delivery whose paged read ran out of its deadline "
                            f"answered {len(said)} time(s) and raised {obs.transient} time(s), not exactly once")
        elif said and said[0] not in ANSWERS_AFTER_A_CUT:
            problems.append(f"step #{obs.index} {obs.step}: a delivery whose paged read ran out of its deadline "
                            f"answered `{said[0]}`, as if its evidence were whole")
    return problems


def cut_reads_race_to_one_answer(run: Run) -> list[str]:
    """Racing deliveries of one incident (Concurrent: the same message on two to four threads, or messages of their
    own) in a step where a paged read ran out of its deadline come to one answer between them, and write nothing:
    the incident's claim lets one thread diagnose (the read cut is that thread's), the others wait (raised, for the
    platform to redeliver) or are told its answer (`skipped`, "This delivery's answer: …", `_own_answer`). So no
    write call in the step, and the answers said, as the delivery came to them, are at most one and among
    ANSWERS_AFTER_A_CUT; a `skipped` that names no answer of its own (a duplicate told apart from the diagnosis,
    a stand-down) is no verdict and not counted. One incident's part of a Crossing step is not judged: its cut
    may be the other incident's read."""
    problems = []
    for obs in run.trace:
        if not obs.reads_cut or not isinstance(obs.step, Concurrent) or obs.crossing:
            continue
        if obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) by racing deliveries "
                            f"one of whose paged reads ran out of its deadline ({obs.reads_cut} page(s) refused)")
        said = {_own_answer(o) for o in obs.outcomes} - {"skipped", "standing_down"}
        wrong = sorted(said - ANSWERS_AFTER_A_CUT)
        if wrong:
            problems.append(f"step #{obs.index} {obs.step}: racing deliveries whose paged read ran out of its "
                            f"deadline answered {', '.join(f'`{w}`' for w in wrong)}, as if its evidence were whole")
        elif len(said) > 1:
            problems.append(f"step #{obs.index} {obs.step}: racing deliveries of one incident, a paged read cut, "
                            f"came to {len(said)} answers: {', '.join(sorted(said))}")
    return problems


def cut_reads_never_judged(run: Run) -> list[str]:
    """A sweep one of whose paged reads ran out of its deadline verifies nothing and undoes nothing: the read is
    EvidenceUnread (shared/remediation/verification.py `read_whole`, or a transient fault before its first page),
    and the next sweep reads again; past the deadline it escalates (allowed). Judged where the sweep had one action
    record to judge (`pending_before`): with two, the cut may be the other's read, and that one may be judged on
    reads that all came back whole."""
    problems = []
    for obs in run.trace:
        if not obs.reads_cut or not isinstance(obs.step, Sweep) or obs.pending_before != 1:
            continue
        if obs.judged or obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: a sweep whose paged read ran out of its deadline "
                            f"({obs.reads_cut} page(s) refused) verified or undid {', '.join(obs.judged) or '-'}"
                            f" with {obs.write_calls} write call(s): judged on a read answered in part")
    return problems


def cut_reads_never_approved(run: Run) -> list[str]:
    """No approval writes an action planned on, or re-checked on, a read answered in part:
    - an approve step (Approve, its resend, ApproveRace) in which a paged read ran out of its deadline (the re-check
      before the write, `approval._diagnosis_changed`: a diagnosis beside an incomplete read is `inconclusive`,
      shared/diagnosis/diagnose.py `_held_for_incomplete`, not the proposal's signature) makes no write call;
    - a proposal made in a step whose paged read was cut (a delivery that should have escalated) is never applied
      by an approval. A Crossing's part is left out (its cut may be the other incident's)."""
    problems, made = [], _proposal_steps(run)
    cut_plans = {incident for incident, step in made.items()
                 if run.trace[step].reads_cut and not run.trace[step].crossing}
    for obs in run.trace:
        if not obs.approvals or isinstance(obs.step, Concurrent):
            continue
        if obs.reads_cut and obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) by an approval whose "
                            f"re-check read ran out of its deadline ({obs.reads_cut} page(s) refused)")
        for a in _writer(obs) if obs.write_calls else []:
            if a.incident in cut_plans and not a.dry_run:
                problems.append(f"step #{obs.index} {obs.step}: approve {a.command_id} wrote the plan of "
                                f"{a.incident}, made at step #{made[a.incident]} on a read that ran out of its "
                                "deadline")
    return problems


def _own_answer(outcome: Any) -> str:
    """The outcome's status, or for a message delivered again whose earlier answer a person was already told of
    (`skipped`, "This delivery's answer: escalated: …", shared/pipeline.py), the answer this delivery came to."""
    status = outcome.status.value
    if status == "skipped" and outcome.reason.startswith("Runwarden is updating"):
        return "standing_down"   # the alert is the symptom of Runwarden's own write in flight: no verdict on it
    own = re.search(r"This delivery's answer: (\w+)", outcome.reason) if status == "skipped" else None
    return own.group(1) if own else status


# 5. before-states ---------------------------------------------------------------------------------


def before_states_recorded(run: Run, records: list[dict[str, Any]] | None = None) -> list[str]:
    """Every action record has its before-state, and every action that took effect has a record."""
    records = run.action_records() if records is None else records
    problems = [f"action record {r['key']} has no before-state" for r in records if not r.get("before")]
    problems += _returned_applied_carry_before(run.returned_outcomes())
    actions = Counter(r["action"] for r in records)
    took_effect = {"rollback_traffic": sum(o.run_writes for o in run.trace
                                           if not isinstance(o.step, SWEEPS) and not is_restore(o.step)),
                   "scale_connector": sum(o.vpc_writes for o in run.trace)}
    unrecorded = Counter(o.action.name for obs in run.trace if obs.store_faults for o in obs.outcomes
                         if _unrecorded(o))
    # The same escalation quoted by a resend's `duplicate` answer, when the first answer was lost with
    # its publish (the write was applied, the record failed, the outcome's publish failed): the
    # person hears it from the resend, and a sweep past the lease records the write from its intent.
    for action in took_effect:
        quoted = {o.incident_id for o in run.returned_outcomes() if _quoted_unrecorded(o, action)}
        unrecorded[action] = max(unrecorded[action], len(quoted))
    for action, n in took_effect.items():
        if n > actions[action] + unrecorded[action]:
            problems.append(f"{n} {action} write(s) took effect but only {actions[action]} action record(s) exist: "
                            f"a change nobody will verify or undo")
    return problems


def _unrecorded(outcome: Any) -> bool:
    """The documented exception to "every write has a record" (docs/behaviour.md, Faults: "Firestore,
    after the write"): the state store failed right after a write took, so no record could be
    stored; the outcome is escalated at once, names the action and says it could not be recorded.
    Counted only in a step where a state-store fault was raised."""
    return (outcome.status.value == "escalated" and outcome.action is not None
            and "could not be recorded" in outcome.reason)


def _quoted_unrecorded(outcome: Any, action: str) -> bool:
    return (outcome.status.value == "escalated" and outcome.reason.startswith("duplicate:")
            and f"{action} on" in outcome.reason and "could not be recorded" in outcome.reason)


def _returned_applied_carry_before(outcomes: list[Any]) -> list[str]:
    """applied_outcomes_carry_before on the returned Outcome models themselves (their JSON form has
    the same fields, and `before` is a plain dict or None in both): no JSON dump of every outcome."""
    registered = set(all_actions())
    return [f"returned applied outcome of {o.action.name} ({o.incident_id}) has no action.before"
            for o in outcomes
            if o.status.value == "applied" and o.action and o.action.name in registered and not o.action.before]


def applied_outcomes_carry_before(outcomes: list[dict[str, Any]], where: str) -> list[str]:
    registered = set(all_actions())
    return [f"{where} applied outcome of {o['action']['name']} ({o.get('incident_id')}) has no action.before"
            for o in outcomes
            if o["status"] == "applied" and o.get("action") and o["action"]["name"] in registered
            and not o["action"].get("before")]


def every_outcome_published(run: Run, published: list[dict]) -> list[str]:
    returned = Counter((o.outcome_id, o.status.value) for o in run.returned_outcomes())
    got = Counter((o["outcome_id"], o["status"]) for o in published)
    if returned != got:
        return [f"returned outcomes {sorted(returned.elements())} differ from published {sorted(got.elements())}"]
    return []


def every_command_answered(run: Run) -> list[str]:
    """Every operator command whose record was completed with an answer (its claim on the command_id:
    the command was decided, and may have written) has that answer, or a resend's, published under its
    command_id, whether or not anything was delivered again: a command's answer is kept until it is
    published, and the sweep publishes it when no resend comes (shared/commands/answers.py). A command
    whose record was never completed (its completion failed, then its publish: two faults) is left to
    the other checks, as it is to the dead-letter backlog's alert in production."""
    from shared.ports import ClaimStatus
    from shared.remediation.records import COMMANDS as COMMAND_RECORDS

    # An answer: an outcome a command step returned under the id (its first answer, or a resend's), or the
    # first answer itself, published by a sweep. (A sweep's verdict about the command's action carries its
    # command_id too, but is no answer to it.)
    answered = {o.command_id for obs in run.trace if not isinstance(obs.step, SWEEPS) for o in obs.outcomes
                if o.command_id}
    published = {o.outcome_id for o in run.returned_outcomes()}
    problems = []
    for command_id in dict.fromkeys(run.sent_commands):
        if command_id in answered:
            continue
        record = run.world.state.get(COMMAND_RECORDS, command_id)
        if record is not None and record.status is ClaimStatus.COMPLETED \
                and record.result.get("outcome_id") not in published:
            first = record.result
            problems.append(f"command {command_id} was answered {first.get('status')} ({first.get('reason')}), but no "
                            "outcome carrying its command_id was published")
    return problems


# Every step that sends one operator command and waits for its answer (a race's threads and the sweep are not).
ONE_COMMAND = (Pause, KillSwitch, OperatorRollback, OperatorScale, OperatorRestore, Approve, Reject, Release,
               OtherShape, _Resend)


def commands_answered_once(run: Run) -> list[str]:
    """A command that did not raise is answered exactly once, under its command_id as sent (a number's text
    for one sent as a JSON number): its sender waits on that id, and a second answer, or one under another
    id, would read as another command's."""
    problems = []
    for obs in run.trace:
        if not isinstance(obs.step, ONE_COMMAND) or obs.transient or obs.errors:
            continue
        if _array(obs):
            continue   # answered under each of its ids: other_shapes_refused
        ids = [o.command_id for o in obs.outcomes]
        if ids != [obs.command_id]:
            problems.append(f"step #{obs.index} {obs.step}: command {obs.command_id} answered under {ids}")
    return problems


def _array(obs: Observation) -> list[str]:
    """The command ids of an array of commands a step sent (OtherShape "array", or the platform's resend of one),
    else []."""
    if isinstance(obs.step, OtherShape) and obs.step.shape == "array":
        return [f"array-{obs.step.id}-{one}" for one in ARRAY_IDS]
    if isinstance(obs.step, _Resend) and "_array" in obs.step.body:
        return [str(one.get("command_id")) for one in obs.step.body["_array"]]
    return []


def other_shapes_refused(run: Run) -> list[str]:
    """A command in a refused shape (OtherShape: `"target": null`, a command_id sent as a JSON number) is
    `rejected`, and does nothing: null is never read as "every target" (a resume's would release the kill
    switch), nor a numeric id run under no claim (CHANGELOG 0.2.0, operators' commands). No shape writes."""
    problems = []
    for obs in run.trace:
        expected = sorted(_array(obs))   # an array of commands, or its resend
        if not isinstance(obs.step, OtherShape) and not expected:
            continue
        if obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) from a pause, a resume "
                            "or a refused command")
        if expected and not obs.transient and not obs.errors:
            # Once under each id its objects give, each answer rejected: each sender hears it, nothing is run.
            ids = sorted(o.command_id or "" for o in obs.outcomes)
            if ids != expected or any(o.status.value != "rejected" for o in obs.outcomes):
                got = [(o.command_id, o.status.value) for o in obs.outcomes]
                problems.append(f"step #{obs.index} {obs.step}: answered {got}, not rejected once under each of {expected}")
        elif isinstance(obs.step, OtherShape) and obs.step.shape in REFUSED_SHAPES and not obs.transient \
                and not obs.errors:
            got = [o.status.value for o in obs.outcomes]
            if got != ["rejected"]:
                problems.append(f"step #{obs.index} {obs.step}: answered {got}, not rejected: "
                                + "; ".join(o.reason for o in obs.outcomes))
    return problems


# 6. one-way actions -------------------------------------------------------------------------------


def one_way_needs_policy(run: Run) -> list[str]:
    """A connector change runs only where its policy allows one-way changes; otherwise it is proposed,
    with the exact change and the gcloud command, and nothing is sent."""
    policy = run.world.config.bounds.connector(CONNECTOR)
    problems = []
    for o in run.returned_outcomes():
        if not o.action or o.action.name != "scale_connector" or o.trigger != "alert":
            continue
        if o.status.value in ("applied", "dry_run", "failed") and not policy.allow_one_way:
            problems.append(f"scale_connector {o.status.value} although the policy does not allow_one_way")
        if o.status.value == "proposed":
            if policy.allow_one_way:
                problems.append("scale_connector proposed although the policy allows one-way changes")
            if not o.action.proposed_change or not any("gcloud compute networks vpc-access connectors update" in n
                                             for n in o.notes):
                problems.append(f"a proposed scale_connector lacks the exact change or the gcloud command: {o.notes}")
    # An operator's scale_connector or approval is the person's decision; an alert's is not.
    patches = sum(o.patch_calls for o in run.trace if isinstance(o.step, DELIVERIES))
    if patches and not policy.allow_one_way:
        problems.append(f"{patches} PatchConnector call(s) by alerts although the policy does not allow_one_way")
    return problems


# 7. one answer per delivery ---------------------------------------------------------------------------


def outcomes_agree(run: Run) -> list[str]:
    """Every delivery that did not raise ends in exactly one outcome, for its own incident; no
    incident has two `applied` outcomes for one action (alerts and approvals together), and once
    one was applied, no later alert for that incident proposes, applies or dry-runs anything."""
    problems = []
    applied: Counter[tuple[str, str]] = Counter()
    done: set[str] = set()
    for obs in run.trace:
        for incident in released_by(obs):
            problems += [f"{i}: {n} applied outcomes for {action}" for (i, action), n in applied.items()
                         if n > 1 and i == incident]
            applied = Counter({k: n for k, n in applied.items() if k[0] != incident})
            done.discard(incident)
        if isinstance(obs.step, DELIVERIES):
            expected = (obs.step.threads if isinstance(obs.step, Concurrent) else 1) - obs.transient - len(obs.errors)
            if len(obs.outcomes) != expected:
                problems.append(f"step #{obs.index} {obs.step}: {len(obs.outcomes)} outcome(s) for {expected} "
                                "answered deliveries")
            for o in obs.outcomes:
                if o.incident_id != obs.incident and not _neither_id(run, obs, o):
                    problems.append(f"step #{obs.index} {obs.step}: an outcome for incident {o.incident_id}")
                if o.incident_id in done and o.status.value in ("applied", "proposed", "dry_run"):
                    problems.append(f"step #{obs.index} {obs.step}: {o.status.value} after {o.incident_id} was "
                                    f"already acted on: {o.reason}")
        if not isinstance(obs.step, DELIVERIES + (Approve, ApproveRace)):
            continue
        for o in obs.outcomes:
            if o.status.value == "applied" and o.action and o.incident_id:
                applied[(o.incident_id, o.action.name)] += 1
        done |= {o.incident_id for o in obs.outcomes if o.status.value == "applied" and o.incident_id}
    problems += [f"{incident}: {n} applied outcomes for {action}" for (incident, action), n in applied.items()
                 if n > 1]
    return problems


# 8. re-notifications, a person's traffic, unreadable evidence, approvals -------------------------------


def one_write_per_incident(run: Run) -> list[str]:
    """An incident's alerts (the first, duplicates, redeliveries, and Cloud Monitoring's
    re-notifications hours later, past the completed claim's retention) and its approvals together
    write at most once, whichever target; counted afresh once an operator's release applied (released_by)."""
    writes: Counter[str] = Counter()
    before: list[str] = []   # counts of incidents released since (released_by)
    for obs in run.trace:
        for released in released_by(obs):
            if writes.get(released, 0) > 1:
                before.append(f"incident {released}: {writes[released]} writes took effect across its notifications "
                              "and approvals")
            writes.pop(released, None)
        incident = obs.incident if isinstance(obs.step, DELIVERIES + (ApproveRace,)) else _approved_incident(obs)
        if incident is not None:
            writes[incident] += obs.run_writes + obs.vpc_writes
    return before + [f"incident {incident}: {n} writes took effect across its notifications and approvals"
                     for incident, n in writes.items() if n > 1]


def undo_keeps_person_change(run: Run) -> list[str]:
    """Once a person changed the service's traffic after a rollback took effect, no sweep writes
    over it (the undo sees the change, or its etag is refused), until Runwarden's next rollback.
    A change landing between the undo's read and its write counts: the generation the person's
    change left must be the one the step ends with."""
    problems, rolled_back, person_since = [], False, False
    for obs in run.trace:
        if isinstance(obs.step, SWEEPS):
            person_since = person_since or (rolled_back and obs.person_writes > 0)
            if person_since and obs.run_writes:
                problems.append(f"step #{obs.index} {obs.step}: the sweep wrote the service's traffic over a change "
                                "a person made after the rollback")
            continue
        if is_restore(obs.step):   # an operator's restore, through Runwarden: neither a rollback nor a hand change
            continue
        if obs.run_writes:
            rolled_back, person_since = True, False
        if rolled_back and obs.person_writes and obs.final_generation == obs.person_generation:
            person_since = True
    return problems


_UNREADABLE = "could not be judged: no sweep since its deadline"
_UNFINISHED = "is unfinished since"     # an undo decided and not finished (verification.Sweep._unfinished)
_NOT_YET_READ = "cannot be verified yet: every read of its evidence"   # the early notice (Sweep._not_yet_read)
_JUDGED = ("verified", "undone", "escalated")


def one_judgement_per_action(run: Run) -> list[str]:
    """Per action record, the sweeps' outcomes: at most one escalation for evidence unreadable past
    the deadline, at most one notice that it cannot be read yet, at most one for an undo left unfinished, at most one judgement (verified, undone, or
    escalated), and nothing undone after it was escalated as unreadable (kept as it is: judged later,
    never undone)."""
    unread: Counter[str] = Counter()
    unfinished: Counter[str] = Counter()
    told: Counter[str] = Counter()
    judged: dict[str, list[str]] = defaultdict(list)
    problems, seen = [], set()
    for obs in run.trace:
        if not isinstance(obs.step, SWEEPS):
            continue
        for o in obs.outcomes:
            if o.action is None or o.status.value not in _JUDGED or o.outcome_id in seen:
                continue   # (a kept report published again after a failed publish is the same outcome)
            seen.add(o.outcome_id)
            # A verdict names its incident and action, not the record's key: one action per incident
            # and action (an operator's command is an incident of its own, command:ID).
            key = f"{o.incident_id}|{o.action.name}"
            if o.status.value == "escalated" and _UNREADABLE in o.reason:
                unread[key] += 1
                continue
            if o.status.value == "escalated" and _UNFINISHED in o.reason and o.reason.startswith("the undo of"):
                unfinished[key] += 1
                continue
            if o.status.value == "escalated" and _NOT_YET_READ in o.reason:
                told[key] += 1
                continue
            if "ended without recording" in o.reason:   # the backstop's report of an intent, not a judgement
                continue
            if o.message_id is not None:
                # A report an alert's or a command's handling kept (its publish failed), published by the
                # sweep as it was: that handling's answer, not a verdict. A sweep's verdicts name no message.
                continue
            judged[key].append(o.status.value)
            if unread[key] and o.status.value == "undone":
                problems.append(f"step #{obs.index}: {key} undone after it was escalated as unreadable")
    problems += [f"{key}: escalated {n} times for unreadable evidence" for key, n in unread.items() if n > 1]
    problems += [f"{key}: escalated {n} times for an unfinished undo" for key, n in unfinished.items() if n > 1]
    problems += [f"{key}: told {n} times that its evidence cannot be read yet" for key, n in told.items() if n > 1]
    problems += [f"{key}: judged {len(v)} times by the sweep ({', '.join(v)})"
                 for key, v in judged.items() if len(v) > 1]
    return problems


def proposal_written_once(run: Run) -> list[str]:
    """A proposal is never approved into two writes (approves under new command ids, resends, dry
    runs between them); a dry-run approve writes nothing; a proposal closed `superseded` or `abandoned`
    had nothing written by any approve."""
    problems, written = [], Counter()
    for obs in run.trace:
        incident = INCIDENTS[obs.step.incident] if isinstance(obs.step, ApproveRace) else _approved_incident(obs)
        if incident is None:
            continue
        if obs.approvals and all(a.dry_run for a in obs.approvals) and obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: a dry-run approve made {obs.write_calls} write call(s)")
        written[incident] += obs.vpc_writes + obs.run_writes
    problems += [f"{incident}'s proposal: approved into {n} writes" for incident, n in written.items() if n > 1]
    for state in ("superseded", "abandoned"):
        for proposal in run.world.state.find_records(PROPOSALS, "state", state):
            if written.get(proposal.get("incident_id")):
                problems.append(f"proposal {proposal.get('proposal_id')} closed {state}, yet an approve of it wrote")
    return problems


def _approved_incident(obs: Observation) -> str | None:
    """The incident an approve step (an Approve, or the platform's resend of one) names, or None."""
    return obs.approvals[0].incident if obs.approvals and not isinstance(obs.step, ApproveRace) else None


def _proposal_steps(run: Run) -> dict[str, int]:
    """The step at which each incident's proposal was first made (its first `proposed` outcome)."""
    made: dict[str, int] = {}
    for obs in run.trace:
        for o in obs.outcomes:
            if o.status.value == "proposed" and o.incident_id and o.incident_id not in made:
                made[o.incident_id] = obs.index
    return made


def _changed_since(run: Run, since: int, obs: Observation) -> bool:
    """A person changed the connector after step `since` began and before `obs`'s write: in a step
    between, or in `obs` itself before any of Runwarden's patches was accepted in it."""
    return any(since <= step < obs.index or (step == obs.index and ops == obs.vpc_ops_before)
               for step, ops in run.person_connector_log)


# A resend's answer when an earlier attempt left an open intent and the target shows neither the
# state before nor the planned change (a person's change): in doubt, escalated with what it shows
# (shared/commands/recovery.py). Clear, and nothing written; the proposal is left `approved`.
_IN_DOUBT = "may have been written by an earlier attempt at this command"


def _writer(obs: Observation) -> list[ApprovalTry]:
    """The approvals of a step that wrote: the one whose answer names an action (applied, or
    escalated after the write), else every approval of the step."""
    named = [a for a in obs.approvals if any(o.action is not None and o.status.value in ("applied", "escalated")
                                             for o in a.outcomes)]
    return named or obs.approvals


def approvals_hold_their_world(run: Run) -> list[str]:
    """An approval applies exactly the approved action, only while the world it was approved for
    still holds, once:
    - every approve sent gets exactly one answer, unless it raised for the platform to send again;
    - a write by an approval never follows the proposal's expiry, nor a proposal already decided
      (superseded, refused, rejected, expired, applied), unless this very command approved it and
      wrote nothing yet; never with the kill switch on (no_writes_when_off);
    - an approval whose proposal's connector a person changed since the proposal sends no patch,
      and its answer says why: refused because the world changed (its check), escalated with the
      proposal closed superseded (the gate's read), or, for a resend after an attempt that left
      its intent open, escalated as in doubt with what the connector shows;
    - a proposal closed `superseded`, `refused`, `rejected`, `failed` or `abandoned` was answered so: a
      published outcome says it (the command's decision is written with its answer kept, or not at all;
      the sweep's `abandoned` with the answer it keeps);
    - after a dead-lettered run's sweep past every lease, no proposal is left `approved`: an approve whose
      attempt ended before settling it is settled by that sweep (shared/remediation/approvals.py)."""
    problems, made = [], _proposal_steps(run)
    resent = not run.dead_lettered
    answered: dict[str, int] = Counter()
    sent: set[str] = set()
    for obs in run.trace:
        for a in obs.approvals:
            sent.add(a.command_id)
            answered[a.command_id] += len(a.outcomes)
            if not a.raised and not obs.errors and len(a.outcomes) != 1:
                problems.append(f"step #{obs.index} {obs.step}: approve {a.command_id} got {len(a.outcomes)} answers")
            if a.proposal is None or a.dry_run:
                continue
            since = made.get(a.incident)
            if since is not None and _changed_since(run, since, obs) and a.proposal.get("state") == "open":
                for o in a.outcomes:
                    if o.status.value in ("applied", "failed"):
                        problems.append(f"step #{obs.index} {obs.step}: approve {a.command_id} {o.status.value} on a "
                                        f"connector a person changed since the proposal: {o.reason}")
                    elif o.status.value == "escalated" and o.action is not None and \
                            not any("closed as superseded" in n for n in o.notes) and _IN_DOUBT not in o.reason:
                        problems.append(f"step #{obs.index} {obs.step}: approve {a.command_id} escalated on a changed "
                                        f"connector without closing the proposal as superseded: {o.reason}")
                if obs.patch_calls and a in _writer(obs):
                    problems.append(f"step #{obs.index} {obs.step}: {obs.patch_calls} PatchConnector call(s) by an "
                                    "approval of a proposal whose connector a person changed since it was made")
        if not obs.vpc_writes or not obs.approvals:
            continue
        for a in _writer(obs):
            if a.proposal is None or a.dry_run:
                continue
            state, expires = a.proposal.get("state"), a.proposal.get("expires_at")
            if expires is not None and a.at >= expires:
                problems.append(f"step #{obs.index} {obs.step}: approve {a.command_id} wrote at "
                                f"T0+{minutes(a.at):g}m, after its proposal expired at T0+{minutes(expires):g}m")
            carried = state == "approved" and a.proposal.get("command_id") == a.command_id
            if state != "open" and not carried:
                problems.append(f"step #{obs.index} {obs.step}: approve {a.command_id} wrote for a proposal "
                                f"already {state}")
    if resent:
        problems += [f"approve {command_id} was never answered" for command_id in sorted(sent)
                     if not answered[command_id]]
    problems += _no_write_claimed(run)
    outcomes = run.returned_outcomes()
    proposals = (run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[0])
                 + run.world.state.find_records(PROPOSALS, "incident_id", INCIDENTS[1]))
    problems += _decisions_stand(run, proposals)
    for proposal in proposals:
        if proposal.get("state") in _ANSWERED_ENDS and not _end_said(proposal, outcomes):
            problems.append(f"proposal {proposal.get('proposal_id')} ended {proposal.get('state')}, but no answer "
                            "said so")
        if run.dead_lettered and proposal.get("state") == "approved":
            problems.append(f"proposal {proposal.get('proposal_id')} is still approved by command "
                            f"{proposal.get('command_id')} after a sweep past every lease: nothing settles it")
    return problems


# A proposal's ends that only the deciding command's answer tells a person of (the sweep's judgement of
# an applied write says the rest), each with the words that say it.
_ANSWERED_ENDS = {"superseded": "closed as superseded", "refused": "the world changed since the proposal",
                  "rejected": "without applying it", "failed": "failed", "abandoned": "nothing was applied"}


def _end_said(proposal: dict[str, Any], outcomes: list[Any]) -> bool:
    """A published answer says the proposal's end: its words, in an outcome about no action or about this
    proposal (`failed`: an outcome failed, of the command that decided it)."""
    state, pid = proposal.get("state"), proposal.get("proposal_id")
    if state == "failed":
        return any(o.status.value == "failed" and o.command_id == proposal.get("command_id") for o in outcomes)
    word = _ANSWERED_ENDS[state]
    return any(word in o.reason or any(word in n for n in o.notes) for o in outcomes
               if o.action is None or o.action.proposal_id in (None, pid))


def _no_write_claimed(run: Run) -> list[str]:
    """An approval's answer says an earlier attempt applied its change only if a patch of an
    approval of that incident was accepted: a person's change is never taken for Runwarden's."""
    patched: Counter[str] = Counter()
    for obs in run.trace:
        incident = INCIDENTS[obs.step.incident] if isinstance(obs.step, ApproveRace) else _approved_incident(obs)
        if incident is not None:
            patched[incident] += obs.vpc_writes
    return [f"step #{obs.index} {obs.step}: approve {a.command_id} answered that an earlier attempt applied it, "
            f"but no approval of {a.incident} had a patch accepted"
            for obs in run.trace for a in obs.approvals for o in a.outcomes
            if "applied by an earlier attempt" in o.reason and not patched[a.incident]]


_FINAL = frozenset({"superseded", "refused", "rejected", "expired", "abandoned"})


def _decisions_stand(run: Run, proposals: list[dict[str, Any]]) -> list[str]:
    """A proposal closed superseded, refused, rejected or expired stays so: a later approval (a new
    command id) is answered that it is already decided, never decided again. Its states as each
    approval found it, then at the end, in order."""
    seen: dict[str, list[str]] = defaultdict(list)
    for obs in run.trace:
        for a in obs.approvals:
            if a.proposal is not None:
                seen[a.proposal["proposal_id"]].append(a.proposal.get("state"))
    for proposal in proposals:
        seen[proposal["proposal_id"]].append(proposal.get("state"))
    return [f"proposal {pid} was {before}, then {after}: a decision made again"
            for pid, states in seen.items() for before, after in pairwise(states)
            if before in _FINAL and after != before]


def connector_written_on_its_world(run: Run) -> list[str]:
    """Every connector patch accepted (an approval's, an alert's, an operator's) found the connector
    as the write was planned on: the stored connector right before the patch (Run.patched_on) is
    the before-state the write's answer names (an approval's: its proposal's). The gate reads the
    connector right before the write, since the v1 Connector has no etag to send with the patch:
    a person's change landing before that read must stop the write."""
    problems = []
    for obs in run.trace:
        if not obs.vpc_writes or isinstance(obs.step, SWEEPS):
            continue
        planned = {_sizes(o.action.before.get("connector") or {}) for o in obs.outcomes
                   if o.action is not None and o.action.name == "scale_connector" and o.action.before}
        if not planned:
            continue   # no answer names the write (it raised): nothing to compare with
        for found in run.patched_on[obs.vpc_ops_before:obs.vpc_ops_before + obs.vpc_writes]:
            if found not in planned:
                problems.append(f"step #{obs.index} {obs.step}: the connector was patched as {found[0]} "
                                f"{found[1]}-{found[2]} instances, but the write was planned on "
                                + " or ".join(f"{p[0]} {p[1]}-{p[2]}" for p in sorted(planned)))
    return problems


def _sizes(connector: dict[str, Any]) -> tuple[str, int, int]:
    return (connector.get("machine_type") or connector.get("machineType") or "e2-micro",
            int(connector.get("min_instances", connector.get("minInstances", 0))),
            int(connector.get("max_instances", connector.get("maxInstances", 0))))


APPROVAL_KINDS = ("applied", "superseded", "refused: world changed", "expired", "already decided", "no proposal",
                  "command id reused", "held back", "dry run", "failed", "escalated", "raised", "other")


def approval_kind(a: ApprovalTry) -> str:
    """What one approve got, in words for the soak's mix (APPROVAL_KINDS)."""
    if a.raised and not a.outcomes:
        return "raised"
    if not a.outcomes:
        return "other"
    o = a.outcomes[0]
    status, text = o.status.value, o.reason + " ".join(o.notes)
    if status == "applied":
        return "applied"
    if "closed as superseded" in text:
        return "superseded"
    if "the world changed since the proposal" in text:
        return "refused: world changed"
    if "expired at" in text:
        return "expired"
    if "for a different command" in text:   # one command id from the pool for two incidents' proposals
        return "command id reused"
    if "no proposal" in text:
        return "no proposal"
    if "decided by someone else" in text or "is already" in text or "duplicate" in text:
        return "already decided"
    if status == "dry_run":
        return "dry run"
    if status == "skipped":
        return "held back"
    return status if status in APPROVAL_KINDS else "other"


def approval_mix(run: Run) -> Counter[str]:
    return Counter(approval_kind(a) for obs in run.trace for a in obs.approvals)


# 9. the sweep's backstop (a dead-lettered run: Run.dead_letter) --------------------------------------


def every_write_known(run: Run) -> list[str]:
    """After a run whose raised deliveries were dead-lettered, and one sweep past every lease: every
    write that took effect has an action record (the sweep verifies it) or an escalated intent (a
    person was told what the target shows), the sweep left no intent open, and it reported no
    unrecorded write twice. An escalated intent a person released since (`release`: closed `released`,
    with their name) still counts: they were told and took it over, and its record still says that its
    write may have landed. Closed `void` ("nothing was written") it counted as nothing, and a write that
    took effect was known to no record (batch seed 20261214, docs/testing.md)."""
    state = run.world.state
    problems = [f"intent {i['claim_key']} by {i['owner']} still open after the sweep"
                for i in state.find_records(INTENTS, "state", "open")]
    # (An operator's restore is corrective: its answer names it, and no record is kept for the sweep.)
    writes = sum(o.run_writes + o.vpc_writes for o in run.trace
                 if not isinstance(o.step, SWEEPS) and not is_restore(o.step))
    recorded = len(run.action_records())
    escalated = len(state.find_records(INTENTS, "state", "escalated"))
    released = [i for i in state.find_records(INTENTS, "state", "released") if i.get("closed_by")]
    if writes > recorded + escalated + len(released):
        problems.append(f"{writes} write(s) took effect, but only {recorded} action record(s), {escalated} "
                        f"escalated and {len(released)} released intent(s): a change nobody verifies and nobody "
                        "was told of")
    reports = [o for obs in run.trace if isinstance(obs.step, SWEEPS) for o in obs.outcomes
               if o.status.value == "escalated" and o.action is not None and "ended without recording" in o.reason]
    keys = [o.action.action_id for o in reports]
    problems += [f"the sweep reported {key} {keys.count(key)} times" for key in set(keys) if keys.count(key) > 1]
    return problems


# --- helpers --------------------------------------------------------------------------------------


LATEST = "LATEST"


def _scenario_service(run: Run) -> Any:
    [service] = _scenario(run.scenario).services
    return service


@lru_cache(maxsize=None)
def _scenario(name: str) -> Any:
    """The bundled scenario (parsed once: parsing costs more than a fast-tier program)."""
    from sandbox.scenarios import resolve_scenario

    return resolve_scenario(name)


def _split(traffic: list[dict]) -> dict[str, int]:
    return {(t.get("revision") if t.get("type") != "LATEST" else None) or LATEST:
            t.get("percent") for t in traffic}


def explain(run: Run, problems: list[str]) -> str:
    return ("invariants broken:\n  - " + "\n  - ".join(problems) + f"\nconfig: {run.settings}\ntrace:\n"
            + run.describe())


def undo_escalated_not_written_again(run: Run) -> list[str]:
    """The soak's program of an undo whose record failed (batch seed 677711083): across its sweeps the undo is
    written once, and the later sweep answers `escalated`, naming the unfinished claim, nothing written again."""
    sweeps = [obs for obs in run.trace if isinstance(obs.step, Sweep)]
    writes = sum(obs.run_writes for obs in sweeps)
    # The sweep right after the one that wrote the undo (the ending's own sweeps may follow it: `Run.finish`).
    undid = next((i for i, obs in enumerate(sweeps) if obs.run_writes), None)
    told = sweeps[undid + 1].outcomes if undid is not None and undid + 1 < len(sweeps) else []
    problems = [f"the undo written {writes} times"] if writes != 1 else []
    if [o.status.value for o in told] != ["escalated"]:
        problems.append(f"the later sweep answered {[o.status.value for o in told]}, not one `escalated`")
    elif "never finished" not in told[0].reason or "nothing written again" not in told[0].reason:
        problems.append(f"the escalation does not name the unfinished claim: {told[0].reason}")
    return problems


# 9. a field in two spellings, quota refusals, the hold a duplicate names ------------------------------------


def respelled_notifications_refused(run: Run) -> list[str]:
    """A notification giving a field twice with different values (Respelled: started_at and startedAt, incident_id
    and incidentId, a resource label service_name and serviceName) writes nothing and is answered `rejected`, once
    per delivery (or raised, for the redelivery: a redelivery of it is the same bytes, `Run.respellings`), whatever
    came before: neither value is used, so neither may key a claim, date a deploy or name a target. Its redelivery
    is judged alike. One whose spellings carry one value is read as before: never refused for it."""
    problems, told = [], set()
    for obs in run.trace:
        kind = _respelling(run, obs)
        if kind is None:
            continue
        differs = Respelled(0, kind).differs
        if differs and obs.write_calls:
            problems.append(f"step #{obs.index} {obs.step}: {obs.write_calls} write call(s) under a notification "
                            "giving a field twice with different values")
        got = [o.status.value for o in obs.outcomes]
        # The message's first answer is its refusal; a later delivery of the same message may say it was told
        # already (`skipped`: a rejection is told to a person once per message). Kept by message: another
        # incident's notification respelled alike is another message, and its first answer is its refusal too.
        message = obs.step.message_id
        allowed = ["rejected"] if message not in told else ["rejected", "skipped"]
        if differs and got and (len(got) != 1 or got[0] not in allowed):
            problems.append(f"step #{obs.index} {obs.step}: answered {got}, not rejected: "
                            + "; ".join(o.reason for o in obs.outcomes))
        if got:
            told.add(message)
        if differs and RESPELLINGS[kind][0] == "incident_id" and any(o.incident_id for o in obs.outcomes):
            problems.append(f"step #{obs.index} {obs.step}: answered under incident "
                            f"{[o.incident_id for o in obs.outcomes]}, one of two ids it was given")
        if not differs and any("given twice" in o.reason for o in obs.outcomes):
            problems.append(f"step #{obs.index} {obs.step}: refused for two spellings of one value: "
                            + "; ".join(o.reason for o in obs.outcomes))
    return problems


def _neither_id(run: Run, obs: Observation, outcome: Any) -> bool:
    """Whether `outcome` is the refusal of a notification giving its incident_id twice with different values (or a
    later delivery's word that it was refused): it names no incident, since neither value is used (respelled_notifications_refused checks that it names none)."""
    kind = _respelling(run, obs)
    return (kind is not None and RESPELLINGS[kind][0] == "incident_id" and Respelled(0, kind).differs
            and outcome.status.value in ("rejected", "skipped"))


def _respelling(run: Run, obs: Observation) -> int | None:
    """The RESPELLINGS index of the notification a step delivered alone (Respelled, or its redelivery), else None."""
    if isinstance(obs.step, Respelled):
        return obs.step.kind
    if isinstance(obs.step, _Redeliver):
        return run.respellings.get(obs.step.message_id)
    return None


def quota_refusals_sent_again_once(run: Run) -> list[str]:
    """A write refused RESOURCE_EXHAUSTED for a rate quota (QuotaFault) is sent again at most once within its call
    (shared/gcp/endpoints.py `quota_wait`: "sent again once, the same request"; a second refusal ends the call), and
    one write so refused takes effect at most once: the refusal wrote nothing, its retry is the write's own under
    the claim it holds (Run._quota_watched). Across deliveries, nothing acts twice (once_per_claim) holds it too."""
    return list(run.quota_problems)


def duplicates_name_one_hold(run: Run) -> list[str]:
    """Every duplicate of one incident's alert (`skipped`, "duplicate: ..." of an action its claim holds or
    completed) names the one hold that held it, `claim_held` (Outcome.held, refusals.Held), whether it met the
    claim inside the gate or was answered from the incident's settled record: a subscriber filtering on `held` must
    not see one incident's duplicates told apart by timing (CHANGELOG 0.2.0, "found reading the merged change")."""
    kinds: defaultdict[str, set[str]] = defaultdict(set)
    for obs in run.trace:
        if not isinstance(obs.step, DELIVERIES):
            continue
        for o in obs.outcomes:
            if o.incident_id and o.status.value == "skipped" and o.reason.startswith("duplicate"):
                kinds[o.incident_id].add(o.held.value if o.held is not None else "none")
    return [f"incident {incident}: its duplicates named {sorted(held)} as their hold, not only claim_held"
            for incident, held in kinds.items() if held != {"claim_held"}]
