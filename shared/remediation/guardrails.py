"""The single gate every write to Google Cloud passes through.

In order:
  1. blast radius: a request touching more targets than allowed is refused;
  2. bounds: the action's own limits (ceilings, age, steps) -> escalated;
  3. approval: a one-way action the policy does not allow alone -> proposed, with the exact change;
  4. kill switch (config or the Firestore flag) -> skipped;
  5. idempotency claim on incident + target + action (atomic create) -> duplicate;
  6. per-target cooldown, then budgets (per target per hour and day, global per hour) -> skipped;
  7. dry-run (global, or shadow for this action) -> everything but the write;
  8. right before the write: the kill switch again, and the incident must still be open;
  9. the write; on success the action is recorded for verification, on failure every claim,
     cooldown and budget slot it took is released so a retry can proceed.
Nothing else in Runwarden calls an action's `apply`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.remediation.actions import Action, all_actions
from shared.clock import Clock
from shared.config import Config
from shared.errors import OutcomeUnknownError, PermanentError, TransientError
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, StateStore
from shared.remediation.history import incident_closed
from shared.remediation.records import ACTIONS, FLAGS, KILL_SWITCH, ActionRecord
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


def claim_key(incident_id: str, target: str, action: str) -> str:
    return f"{incident_id}|{target}|{action}"


def _duplicate(action: str, target: str, key: str, held: ClaimRecord) -> GateResult:
    return GateResult(OutcomeStatus.SKIPPED,
                      f"duplicate: {action} on {target} for this incident is already {held.status.value} "
                      f"(since {held.claimed_at.isoformat()})",
                      after=held.result.get("after"), claim_key=key)


@dataclass
class _Held:
    """What one attempt took, so that a failure can give all of it back."""

    claim: tuple[str, str] | None = None
    cooldown: str | None = None
    slots: list[str] = field(default_factory=list)


class Gate:
    def __init__(self, config: Config, state: StateStore, clock: Clock, owner: str,
                 timeline: Timeline | None = None) -> None:
        self.config = config
        self.state = state
        self.clock = clock
        self.owner = owner  # who holds a claim: this attempt at handling a message
        self.timeline = timeline

    # --- the one way to write -------------------------------------------------------------------

    def execute(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any, *,
                service: str | None = None, signature: str = "", targets: list[str] | None = None) -> GateResult:
        now = self.clock.now()
        targets = targets if targets is not None else [params.target]
        refusal = self._refusal(action, params, before, targets, now)
        if refusal is not None:
            return refusal

        dry_run = self.config.action_dry_run(action.name)
        key = claim_key(incident_id, params.target, action.name)
        kind = DRY_RUN_CLAIMS if dry_run else CLAIMS
        guard = self.config.guardrails
        claim = self.state.claim(kind, key, self.owner, timedelta(seconds=guard.claim_ttl_seconds), now)
        if not claim.acquired:
            return _duplicate(action.name, params.target, key, claim.record)
        held = _Held(claim=(kind, key))
        self._log("claimed", f"claimed {key}" + (" (took over an expired claim)" if claim.took_over else ""))
        result = GateResult(OutcomeStatus.SKIPPED, "", claim_key=key)

        if not action.corrective:
            hold_back = self._cooldown(params.target, now, dry_run, held) or self._budgets(params.target, now, dry_run, held)
            if hold_back:
                self._give_back(held)
                result.reason = hold_back
                return result

        if dry_run:
            result.status = OutcomeStatus.DRY_RUN
            result.reason = ("dry-run: everything but the write" if self.config.dry_run
                             else f"shadow mode for {action.name}: everything but the write")
            result.after = action.preview(params, before)
            self._complete(kind, key, result)
            return result
        return self._write(action, params, before, incident_id, adapters, held, result, service, signature)

    def _refusal(self, action: Action, params: Any, before: dict[str, Any], targets: list[str],
                 now: datetime) -> GateResult | None:
        limit = self.config.bounds.max_targets_per_plan
        if len(targets) > limit:
            return GateResult(OutcomeStatus.ESCALATED,
                              f"blast radius: the plan touches {len(targets)} targets, more than {limit}")
        violations = action.bounds_violations(params, self.config, now)
        if violations:
            return GateResult(OutcomeStatus.ESCALATED, "outside bounds: " + "; ".join(violations))
        approval = action.needs_approval(params, self.config)
        if approval:
            return GateResult(OutcomeStatus.PROPOSED, f"proposed, not applied: {approval}",
                              after=action.preview(params, before), notes=action.notes(params))
        switch = self.kill_switch()
        if switch:
            return GateResult(OutcomeStatus.SKIPPED, f"kill switch engaged: no writes ({switch})")
        return None

    def _write(self, action: Action, params: Any, before: dict[str, Any], incident_id: str, adapters: Any,
               held: _Held, result: GateResult, service: str | None, signature: str) -> GateResult:
        stop = self._stop_before_write(incident_id)
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
            self._record(action, params, before, result, incident_id, service or params.target, signature)
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

    def kill_switch(self) -> str:
        """Why writes are off ("" when they are not): the config's switch or the operator's flag."""
        if self.config.guardrails.kill_switch:
            return "set in config"
        flag = self.state.get_record(FLAGS, KILL_SWITCH)
        if flag and flag.get("engaged"):
            return f"set by {flag.get('by') or 'an operator'}: {flag.get('reason') or 'no reason given'}"
        return ""

    def _stop_before_write(self, incident_id: str) -> str:
        """Checked immediately before the write: the kill switch, and whether the incident closed."""
        switch = self.kill_switch()
        if switch:
            return f"kill switch engaged: no writes ({switch})"
        closed = incident_closed(self.state, incident_id)
        if closed is not None:
            return f"incident {incident_id} closed ({closed.closed_by}) before the write"
        return ""

    def _cooldown(self, target: str, now: datetime, dry_run: bool, held: _Held) -> str:
        """A reason to hold off, or "" (and, for real runs, the target's cooldown is now taken)."""
        ttl = timedelta(seconds=self.config.guardrails.cooldown_seconds)
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
        so concurrent instances can never take N + 1.
        """
        if dry_run:
            return ""
        g = self.config.guardrails
        for scope, bucket, capacity in ((f"target|{target}", f"{now:%Y-%m-%dT%H}", g.max_actions_per_target_per_hour),
                                        (f"target|{target}", f"{now:%Y-%m-%d}", g.max_actions_per_target_per_day),
                                        ("global", f"{now:%Y-%m-%dT%H}", g.max_actions_per_hour)):
            slot = self._take_slot(f"{scope}|{bucket}", capacity, now)
            if slot is None:
                return f"budget exhausted: {capacity} actions for {scope} in {bucket}"
            held.slots.append(slot)
        return ""

    def _take_slot(self, bucket: str, capacity: int, now: datetime) -> str | None:
        retain = timedelta(days=2)  # outlives any bucket it counts
        for i in range(capacity):
            key = f"{bucket}#{i}"
            if self.state.claim(BUDGETS, key, self.owner, retain, now).acquired:
                return key
        return None

    # --- bookkeeping ----------------------------------------------------------------------------

    def already_handled(self, incident_id: str, target: str) -> tuple[str, GateResult] | None:
        """(action name, skipped result) if an action for this incident and target is claimed or done.

        Checked before diagnosing: once traffic has moved, live state no longer shows the
        signature, and a redelivered alert must be a no-op rather than a fresh escalation.
        """
        now = self.clock.now()
        for name in sorted(all_actions()):
            kind = DRY_RUN_CLAIMS if self.config.action_dry_run(name) else CLAIMS
            key = claim_key(incident_id, target, name)
            record = self.state.get(kind, key)
            if record is not None and not record.expired(now):
                return name, _duplicate(name, target, key, record)
        return None

    def _record(self, action: Action, params: Any, before: dict[str, Any], result: GateResult, incident_id: str,
                service: str, signature: str) -> None:
        now = self.clock.now()
        v = self.config.verification
        record = ActionRecord(key=result.claim_key, incident_id=incident_id, target=params.target, service=service,
                              action=action.name, signature=signature, params=params.model_dump(mode="json"),
                              before=before, after=result.after or {}, reversible=action.reversible, applied_at=now,
                              settle_at=now + timedelta(seconds=v.settle_seconds),
                              deadline_at=now + timedelta(seconds=v.deadline_seconds))
        self.state.put_record(ACTIONS, record.key, record.model_dump(mode="python") | {"state": record.state.value})

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
