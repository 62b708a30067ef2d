"""The single gate every write to Google Cloud passes through.

In order:
  1. blast radius: a request touching more targets than allowed is refused;
  2. bounds: the action's own limits (ceilings, age, steps) -> escalated;
  3. approval: a one-way action the policy does not allow alone -> proposed, with the exact change
     and a proposal record (id, expiry) that an operator's `approve` or `reject` names;
  4. kill switch (config, the Firestore flag, or a pause of this target) -> skipped;
  5. idempotency claim on incident + target + action (atomic create) -> duplicate; an operator's
     command claims on its command_id instead of an incident;
  6. per-target cooldown, then budgets (per target per hour and day, global per hour) -> skipped,
     unless an operator's command carries override_limits (named in the result and the timeline);
  7. dry-run (global, shadow for this action, or the command's dry_run) -> everything but the write;
  8. right before the write: the kill switch again, and the incident must still be open;
  9. the write; on success the action is recorded for verification, on failure every claim,
     cooldown and budget slot it took is released so a retry can proceed.
Nothing else in Runwarden calls an action's `apply`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

from shared.remediation.actions import Action, all_actions
from shared.clock import Clock, skew_safe_lease
from shared.config import Config
from shared.errors import OutcomeUnknownError, PermanentError, TransientError
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus, StateStore
from shared.remediation.history import closed_incident
from shared.remediation.records import (ACTIONS, FLAGS, INCIDENTS, KILL_SWITCH, PINS, PROPOSALS, ActionRecord,
                                        ProposalRecord)
from shared.timeline.writer import Timeline

CLAIMS = "claims"
DRY_RUN_CLAIMS = "dry_run_claims"  # dry-run dedups too, without blocking a later real run
COOLDOWNS = "cooldowns"
BUDGETS = "budgets"


@dataclass
class GateResult:
    status: OutcomeStatus
    reason: str
    after: dict[str, Any] | None = None
    claim_key: str | None = None
    notes: list[str] = field(default_factory=list)
    proposal: ProposalRecord | None = None
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Manual:
    """An operator's command behind a write. The caller has already checked that override_limits
    comes from a principal in `operators`."""

    command_id: str
    requested_by: str
    override_limits: bool = False
    dry_run: bool = False
    approved: str = ""      # the proposal an operator approved: the approval step is satisfied


def pause_key(target: str) -> str:
    """The FLAGS record that pauses writes to one target."""
    return f"pause|{target}"


def command_incident(command_id: str) -> str:
    """The incident id a manual command's claim and records carry: its command_id."""
    return f"command:{command_id}"


def claim_key(incident_id: str, target: str, action: str) -> str:
    return f"{incident_id}|{target}|{action}"


def proposal_id_for(key: str) -> str:
    return "p-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def budget_buckets(config: Config, target: str, now: datetime) -> list[tuple[str, str, int]]:
    """(scope, bucket, capacity) of every budget an action on `target` at `now` takes a slot of."""
    g = config.guardrails
    return [(f"target|{target}", f"{now:%Y-%m-%dT%H}", g.max_actions_per_target_per_hour),
            (f"target|{target}", f"{now:%Y-%m-%d}", g.max_actions_per_target_per_day),
            ("global", f"{now:%Y-%m-%dT%H}", g.max_actions_per_hour)]


def slot_keys(bucket: str, capacity: int) -> list[str]:
    """The BUDGETS claim keys of a bucket's slots."""
    return [f"{bucket}#{i}" for i in range(capacity)]


def _switch_reads(target: str | None) -> list[tuple[str, str]]:
    return [(FLAGS, KILL_SWITCH), *([(FLAGS, pause_key(target))] if target else [])]


def _switch_reason(target: str | None, found: Mapping[tuple[str, str], dict[str, Any] | None]) -> str:
    flag = found.get((FLAGS, KILL_SWITCH))
    if flag and flag.get("engaged"):
        return f"set by {flag.get('by') or 'an operator'}: {flag.get('reason') or 'no reason given'}"
    paused = found.get((FLAGS, pause_key(target))) if target else None
    if paused and paused.get("engaged"):
        return (f"{target} paused by {paused.get('by') or 'an operator'}: "
                f"{paused.get('reason') or 'no reason given'}")
    return ""


def _duplicate(action: str, target: str, key: str, held: ClaimRecord) -> GateResult:
    # The first result's status is named: when the first attempt's own outcome could not be
    # published (it raised, and this is the redelivery), this outcome is the one that reports it.
    first = held.result.get("status")
    return GateResult(OutcomeStatus.SKIPPED,
                      f"duplicate: {action} on {target} for this incident is already {held.status.value}"
                      + (f" ({first})" if first else "") + f" (since {held.claimed_at.isoformat()})",
                      after=held.result.get("after"), claim_key=key)


class InProgress(TransientError):
    """An earlier attempt at this very message holds the claim and has not finished.

    Pub/Sub delivers a message again only when its push was not acknowledged: the first attempt
    crashed, timed out, or is still running past the ack deadline. Acknowledging this delivery
    as a duplicate would lose the incident if that attempt died; raising lets Pub/Sub deliver
    it again, by when the claim is completed (a duplicate) or has expired (taken over)."""


def _own_message_in_progress(held: ClaimRecord, owner: str, message_id: str | None) -> bool:
    """True if `held` is an unfinished claim of another attempt at message `message_id` (an
    alert attempt's owner is `{message_id}:{attempt}`, shared.pipeline)."""
    return (bool(message_id) and held.status is ClaimStatus.CLAIMED and held.owner != owner
            and held.owner.rpartition(":")[0] == message_id)


@dataclass
class _Held:
    """What one attempt took, so that a failure can give all of it back."""

    claim: tuple[str, str] | None = None
    cooldown: str | None = None
    slots: list[str] = field(default_factory=list)


class Gate:
    def __init__(self, config: Config, state: StateStore, clock: Clock, owner: str,
                 timeline: Timeline | None = None, message_id: str | None = None) -> None:
        self.config = config
        self.state = state
        self.clock = clock
        self.owner = owner  # who holds a claim: this attempt at handling a message
        self.timeline = timeline
        # The alert message this attempt handles: a claim held unfinished by another attempt at
        # the same message is not a duplicate but that message in progress (InProgress).
        self.message_id = message_id

    # --- the one way to write -------------------------------------------------------------------

    def execute(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any, *,
                service: str | None = None, signature: str = "", targets: list[str] | None = None,
                manual: Manual | None = None) -> GateResult:
        now = self.clock.now()
        targets = targets if targets is not None else [params.target]
        refusal = self._refusal(action, params, before, targets, now, manual)
        if refusal is not None:
            if refusal.status is OutcomeStatus.PROPOSED:
                refusal.proposal = self._propose(action, params, before, refusal, incident_id, service, signature, now)
                p = refusal.proposal
                if p.state != "open":
                    return GateResult(OutcomeStatus.SKIPPED, f"proposal {p.proposal_id} for this "
                                      f"incident is already {p.state}", proposal=p)
                refusal.notes = [*refusal.notes, f"Proposal {p.proposal_id}, open until "
                                 f"{p.expires_at:%Y-%m-%d %H:%M:%S} UTC. Apply it: runwarden approve "
                                 f"{p.proposal_id} --reason '...'; or close it: runwarden command reject "
                                 f"--param proposal_id={p.proposal_id} --reason '...'"]
            return refusal

        dry_run = self.config.action_dry_run(action.name) or bool(manual and manual.dry_run)
        key = claim_key(incident_id, params.target, action.name)
        kind = DRY_RUN_CLAIMS if dry_run else CLAIMS
        guard = self.config.guardrails
        # The TTL holds in real time for instances whose clocks disagree (shared/clock.py).
        claim = self.state.claim(kind, key, self.owner, skew_safe_lease(guard.claim_ttl_seconds), now)
        if not claim.acquired:
            self._raise_if_own_message_in_progress(key, claim.record)
            return _duplicate(action.name, params.target, key, claim.record)
        held = _Held(claim=(kind, key))
        self._log("claimed", f"claimed {key}" + (" (took over an expired claim)" if claim.took_over else ""))
        result = GateResult(OutcomeStatus.SKIPPED, "", claim_key=key)

        if not action.corrective:
            if manual and manual.override_limits:
                self._override(params.target, now, dry_run, held, manual, result)
            else:
                hold_back = (self._cooldown(params.target, now, dry_run, held)
                             or self._budgets(params.target, now, dry_run, held))
                if hold_back:
                    self._give_back(held)
                    result.reason = hold_back
                    return result

        if dry_run:
            result.status = OutcomeStatus.DRY_RUN
            result.reason = ("dry-run: everything but the write" if self.config.dry_run or (manual and manual.dry_run)
                             else f"shadow mode for {action.name}: everything but the write")
            result.after = action.preview(params, before)
            self._complete(kind, key, result)
            return result
        return self._write(action, params, before, incident_id, adapters, held, result, service, signature, manual)

    def _refusal(self, action: Action, params: Any, before: dict[str, Any], targets: list[str],
                 now: datetime, manual: Manual | None = None) -> GateResult | None:
        limit = self.config.bounds.max_targets_per_plan
        if len(targets) > limit:
            return GateResult(OutcomeStatus.ESCALATED,
                              f"blast radius: the plan touches {len(targets)} targets, more than {limit}")
        violations = action.bounds_violations(params, self.config, now)
        if violations:
            return GateResult(OutcomeStatus.ESCALATED, "outside bounds: " + "; ".join(violations))
        # An operator's command is itself the person's decision; an approval satisfies it too.
        approval = "" if manual else action.needs_approval(params, self.config)
        if approval:
            return GateResult(OutcomeStatus.PROPOSED, f"proposed, not applied: {approval}",
                              after=action.preview(params, before), notes=action.notes(params))
        switch = self.kill_switch(params.target)
        if switch:
            return GateResult(OutcomeStatus.SKIPPED, f"kill switch engaged: no writes ({switch})")
        return None

    def _write(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any,
               held: _Held, result: GateResult, service: str | None, signature: str,
               manual: Manual | None = None) -> GateResult:
        stop = self._stop_before_write(incident_id, params.target)
        if stop:
            self._give_back(held)
            result.reason = stop
            return result
        try:
            result.after = action.apply(params, adapters)
        except OutcomeUnknownError as exc:
            return self._unknown(action, params, before, incident_id, held, result, service, signature, exc)
        except TransientError:
            self._give_back(held)  # the retry must be free to act
            raise
        except PermanentError as exc:
            self._give_back(held)
            result.status = OutcomeStatus.FAILED
            result.reason = f"{action.name} failed: {exc}" + (f" [{exc.code}]" if exc.code else "")
            return result
        result.status = OutcomeStatus.APPLIED
        # "verified" is the sweep's word (the service healthy after the settle time); at write time the API
        # has only confirmed the change took.
        result.reason = f"{action.name} applied: the API confirmed the change; the sweep verifies its effect"
        self._complete(held.claim[0], held.claim[1], result)
        if not action.corrective:
            self._record(action, params, before, result, incident_id, service or params.target, signature, manual)
        return result

    def _unknown(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, held: _Held,
                 result: GateResult, service: str | None, signature: str, exc: Exception) -> GateResult:
        """The API may have applied the write. Acting again could act twice, so nothing is given
        back: the claim completes, the cooldown and budget stay taken, and the action is recorded
        so the sweep verifies it (or undoes or escalates it) like any other."""
        result.status = OutcomeStatus.ESCALATED
        result.reason = (f"{action.name} was sent but its completion could not be confirmed ({exc}); recorded "
                         "for the verification sweep, and a person should check the target")
        result.after = None
        self._complete(held.claim[0], held.claim[1], result)
        if not action.corrective:
            self._record(action, params, before, result, incident_id, service or params.target, signature)
        return result

    # --- checks ---------------------------------------------------------------------------------

    def kill_switch(self, target: str | None = None) -> str:
        """Why writes are off ("" when they are not): the config's switch, the operator's flag, or
        (given a target) a pause of that target. One batched read."""
        if self.config.guardrails.kill_switch:
            return "set in config"
        reads = _switch_reads(target)
        return _switch_reason(target, dict(zip(reads, self.state.get_many(reads))))

    def _stop_before_write(self, incident_id: str, target: str | None = None) -> str:
        """Checked immediately before the write: the kill switch, and whether the incident closed.
        Both in one batched read, so the check adds one round trip to the write, not three."""
        if self.config.guardrails.kill_switch:
            return "kill switch engaged: no writes (set in config)"
        reads = [*_switch_reads(target), (INCIDENTS, incident_id)]
        found = dict(zip(reads, self.state.get_many(reads)))
        switch = _switch_reason(target, found)
        if switch:
            return f"kill switch engaged: no writes ({switch})"
        closed = closed_incident(found[(INCIDENTS, incident_id)])
        if closed is not None:
            return f"incident {incident_id} closed ({closed.closed_by}) before the write"
        return ""

    def _cooldown(self, target: str, now: datetime, dry_run: bool, held: _Held) -> str:
        """A reason to hold off, or "" (and, for real runs, the target's cooldown is now taken)."""
        ttl = skew_safe_lease(self.config.guardrails.cooldown_seconds)   # zero: no cooldown
        if not ttl:
            return ""
        if dry_run:
            lease = self.state.get(COOLDOWNS, target)
            active = lease is not None and not lease.expired(now)
        else:
            taken = self.state.claim(COOLDOWNS, target, self.owner, ttl, now)
            active, lease = not taken.acquired, taken.record
            if taken.acquired:
                held.cooldown = target
        if active:
            return (f"cooldown: {target} was acted on at {lease.claimed_at.isoformat()}; "
                    f"next action after {lease.expires_at.isoformat()}")
        return ""

    def _budgets(self, target: str, now: datetime, dry_run: bool, held: _Held) -> str:
        """Takes one slot of each budget, or gives back what it took and says which ran out.

        Each budget is N slot records per bucket (UTC hour or day); taking one is an atomic create,
        so concurrent instances can never take N + 1. Every bucket's slots are read in one batched
        read, so the cost is one read and one create per budget however many slots are taken.
        """
        if dry_run:
            return ""
        buckets = [(f"{scope}|{bucket}", capacity) for scope, bucket, capacity in budget_buckets(self.config, target, now)]
        reads = [(BUDGETS, key) for bucket, capacity in buckets for key in slot_keys(bucket, capacity)]
        found = dict(zip(reads, self.state.get_many(reads)))
        for (scope, bucket, capacity), (name, _) in zip(budget_buckets(self.config, target, now), buckets):
            slot = self._take_slot(name, capacity, now, found)
            if slot is None:
                return f"budget exhausted: {capacity} actions for {scope} in {bucket}"
            held.slots.append(slot)
        return ""

    def _take_slot(self, bucket: str, capacity: int, now: datetime,
                   found: Mapping[tuple[str, str], dict[str, Any] | None] | None = None) -> str | None:
        """An atomic create of a slot the read (`found`, or one batched read here) saw free. A
        racer that creates the same slot first sends this claim on to the next free slot seen;
        if none is left, the budget is spent."""
        retain = timedelta(days=2)  # outlives any bucket it counts
        keys = slot_keys(bucket, capacity)
        if found is None:
            found = dict(zip([(BUDGETS, key) for key in keys], self.state.get_many([(BUDGETS, key) for key in keys])))
        for key in keys:
            data = found.get((BUDGETS, key))
            if data is not None and not ClaimRecord.model_validate(data).expired(now):
                continue
            if self.state.claim(BUDGETS, key, self.owner, retain, now).acquired:
                return key
        return None

    # --- bookkeeping ----------------------------------------------------------------------------

    def claim_reads(self, incident_id: str, target: str) -> list[tuple[str, str]]:
        """The (kind, key) of every claim an action on `target` for this incident would hold."""
        return [self._claim_read(incident_id, target, name) for name in sorted(all_actions())]

    def _claim_read(self, incident_id: str, target: str, name: str) -> tuple[str, str]:
        kind = DRY_RUN_CLAIMS if self.config.action_dry_run(name) else CLAIMS
        return kind, claim_key(incident_id, target, name)

    def already_handled(self, incident_id: str, target: str,
                        found: Mapping[tuple[str, str], dict[str, Any] | None] | None = None
                        ) -> tuple[str, GateResult] | None:
        """(action name, skipped result) if an action for this incident and target is claimed or done.

        Checked before diagnosing: once traffic has moved, live state no longer shows the
        signature, and a redelivered alert must be a no-op rather than a fresh escalation.
        `found` holds the claim documents already read (by `claim_reads`); without it they are
        read here, in one batched read.
        """
        if found is None:
            reads = self.claim_reads(incident_id, target)
            found = dict(zip(reads, self.state.get_many(reads)))
        now = self.clock.now()
        for name in sorted(all_actions()):
            kind, key = self._claim_read(incident_id, target, name)
            data = found.get((kind, key))
            record = ClaimRecord.model_validate(data) if data is not None else None
            if record is not None and not record.expired(now):
                self._raise_if_own_message_in_progress(key, record)
                return name, _duplicate(name, target, key, record)
        return None

    def _raise_if_own_message_in_progress(self, key: str, held: ClaimRecord) -> None:
        if _own_message_in_progress(held, self.owner, self.message_id):
            self._log("in_progress", f"{key} is held by an earlier attempt at this message ({held.owner}, since "
                      f"{held.claimed_at.isoformat()}); not acknowledged, so that Pub/Sub delivers it again")
            raise InProgress(f"{key}: an earlier attempt at this message is in progress since "
                             f"{held.claimed_at.isoformat()}")

    def _record(self, action: Action, params: Any, before: dict[str, Any], result: GateResult, incident_id: str,
                service: str, signature: str, manual: Manual | None = None) -> None:
        now = self.clock.now()
        v = self.config.verification
        record = ActionRecord(key=result.claim_key, incident_id=incident_id, target=params.target, service=service,
                              action=action.name, signature=signature, params=params.model_dump(mode="json"),
                              before=before, after=result.after or {}, reversible=action.reversible, applied_at=now,
                              settle_at=now + timedelta(seconds=v.settle_seconds),
                              deadline_at=now + timedelta(seconds=v.deadline_seconds),
                              command_id=manual.command_id if manual else "",
                              requested_by=manual.requested_by if manual else "")
        self.state.put_record(ACTIONS, record.key, record.model_dump(mode="python") | {"state": record.state.value})
        pinned_to = getattr(params, "to_revision", None)
        if action.name == "rollback_traffic" and pinned_to:
            # Traffic now names a revision: new deploys get none until someone releases the pin.
            self.state.put_record(PINS, record.service, {"service": record.service, "revision": pinned_to,
                                                         "action_id": record.key, "pinned_at": now,
                                                         "pinned": True, "reminded_at": None})

    # --- proposals and overrides --------------------------------------------------------------------

    def _propose(self, action: Action, params: Any, before: dict[str, Any], result: GateResult, incident_id: str,
                 service: str | None, signature: str, now: datetime) -> ProposalRecord:
        """The proposal record an operator approves or rejects by its id. A redelivered alert finds
        the open proposal it made before, rather than making another."""
        key = claim_key(incident_id, params.target, action.name)
        proposal_id = proposal_id_for(key)
        existing = self.state.get_record(PROPOSALS, proposal_id)
        if existing:
            record = ProposalRecord.model_validate(existing)
            if record.state != "open" or record.expires_at > now:
                return record
            proposal_id = proposal_id_for(f"{key}|{now.isoformat()}")  # the old one expired: a fresh one
        record = ProposalRecord(
            proposal_id=proposal_id, key=key, incident_id=incident_id, target=params.target,
            service=service or params.target, action=action.name, signature=signature,
            params=params.model_dump(mode="json"), before=before, proposed_change=result.after or {},
            reason=result.reason, proposed_at=now,
            expires_at=now + timedelta(seconds=self.config.guardrails.proposal_ttl_seconds))
        self.state.put_record(PROPOSALS, proposal_id, record.model_dump(mode="python"))
        return record

    def _override(self, target: str, now: datetime, dry_run: bool, held: _Held, manual: Manual,
                  result: GateResult) -> None:
        """Cooldown and budgets are not applied. The action still takes the target's cooldown when
        it is free, so that automation holds back after it like after its own."""
        skipped = []
        if self._cooldown(target, now, dry_run, held):
            skipped.append("cooldown")
        skipped.append("budgets")
        result.overrides = skipped
        result.notes = [*result.notes, f"override_limits by {manual.requested_by} (command {manual.command_id}): "
                        f"{' and '.join(skipped)} not applied"]
        if self.timeline is not None:
            self.timeline.step("override", result.notes[-1], severity="NOTICE", override=True,
                               command_id=manual.command_id, requested_by=manual.requested_by, skipped=skipped)

    def _complete(self, kind: str, key: str, result: GateResult) -> None:
        retain = timedelta(seconds=self.config.guardrails.claim_retention_seconds)
        self.state.complete(kind, key, self.owner, retain, self.clock.now(),
                            {"status": result.status.value, "after": result.after})

    def _give_back(self, held: _Held) -> None:
        if held.claim:
            self.state.release(*held.claim, self.owner)
        if held.cooldown:
            self.state.release(COOLDOWNS, held.cooldown, self.owner)
        for slot in held.slots:
            self.state.release(BUDGETS, slot, self.owner)

    def _log(self, step: str, message: str) -> None:
        if self.timeline is not None:
            self.timeline.step(step, message)
