"""The single gate every write to Google Cloud passes through.

In order: bounds, kill switch, idempotency claim (incident + target + action), per-target
cooldown, dry-run, kill switch again right before the write, then the write itself. Nothing
else in Runwarden calls an action's `apply`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.actions import Action, all_actions
from shared.clock import Clock
from shared.config import Config
from shared.errors import PermanentError, TransientError
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, StateStore
from shared.timeline import Timeline

CLAIMS = "claims"
DRY_RUN_CLAIMS = "dry_run_claims"  # dry-run dedups too, without blocking a later real run
COOLDOWNS = "cooldowns"


@dataclass
class GateResult:
    status: OutcomeStatus
    reason: str
    after: dict[str, Any] | None = None
    claim_key: str | None = None


def _duplicate(action: str, target: str, key: str, held: ClaimRecord) -> GateResult:
    return GateResult(OutcomeStatus.SKIPPED,
                      f"duplicate: {action} on {target} for this incident is already {held.status.value} "
                      f"(since {held.claimed_at.isoformat()})",
                      after=held.result.get("after"), claim_key=key)


def claim_key(incident_id: str, target: str, action: str) -> str:
    return f"{incident_id}|{target}|{action}"


class Gate:
    def __init__(self, config: Config, state: StateStore, clock: Clock, owner: str,
                 timeline: Timeline | None = None) -> None:
        self.config = config
        self.state = state
        self.clock = clock
        self.owner = owner  # who holds a claim: this attempt at handling a message
        self.timeline = timeline

    def execute(self, action: Action, params: Any, before: dict[str, Any], incident_id: str,
                adapters: Any) -> GateResult:
        now = self.clock.now()
        violations = action.bounds_violations(params, self.config, now)
        if violations:
            return GateResult(OutcomeStatus.ESCALATED, "outside bounds: " + "; ".join(violations))
        if self._kill_switch_engaged():
            return GateResult(OutcomeStatus.SKIPPED, "kill switch engaged: no writes")

        dry_run = self.config.dry_run
        key = claim_key(incident_id, params.target, action.name)
        kind = DRY_RUN_CLAIMS if dry_run else CLAIMS
        guard = self.config.guardrails
        claim = self.state.claim(kind, key, self.owner, timedelta(seconds=guard.claim_ttl_seconds), now)
        if not claim.acquired:
            return _duplicate(action.name, params.target, key, claim.record)
        self._log("claimed", f"claimed {key}" + (" (took over an expired claim)" if claim.took_over else ""))
        result = GateResult(OutcomeStatus.SKIPPED, "", claim_key=key)

        cooldown = self._cooldown(params.target, now, dry_run)
        if cooldown:
            self.state.release(kind, key, self.owner)
            result.reason = cooldown
            return result

        if dry_run:
            result.status = OutcomeStatus.DRY_RUN
            result.reason = "dry-run: everything but the write"
            result.after = action.preview(params, before)
            self._complete(kind, key, result)
            return result

        return self._write(action, params, kind, key, adapters, result)

    def already_handled(self, incident_id: str, target: str) -> tuple[str, GateResult] | None:
        """(action name, skipped result) if an action for this incident and target is claimed or done.

        Checked before diagnosing: once traffic has moved, live state no longer shows the
        signature, and a redelivered alert must be a no-op rather than a fresh escalation.
        """
        kind = DRY_RUN_CLAIMS if self.config.dry_run else CLAIMS
        now = self.clock.now()
        for name in sorted(all_actions()):
            key = claim_key(incident_id, target, name)
            record = self.state.get(kind, key)
            if record is not None and not record.expired(now):
                return name, _duplicate(name, target, key, record)
        return None

    def _write(self, action: Action, params: Any, kind: str, key: str, adapters: Any,
               result: GateResult) -> GateResult:
        if self._kill_switch_engaged():  # checked again immediately before the write
            self._release(kind, key, params.target)
            result.reason = "kill switch engaged: no writes"
            return result
        try:
            result.after = action.apply(params, adapters)
        except TransientError:
            self._release(kind, key, params.target)  # the retry must be free to act
            raise
        except PermanentError as exc:
            self._release(kind, key, params.target)
            result.status = OutcomeStatus.FAILED
            result.reason = f"{action.name} failed: {exc}" + (f" [{exc.code}]" if exc.code else "")
            return result
        result.status = OutcomeStatus.APPLIED
        result.reason = f"{action.name} applied and verified"
        self._complete(kind, key, result)
        return result

    def _cooldown(self, target: str, now, dry_run: bool) -> str:
        """A reason to hold off, or "" (and, for real runs, the target's cooldown is now taken)."""
        ttl = timedelta(seconds=self.config.guardrails.cooldown_seconds)
        if not ttl:
            return ""
        if dry_run:
            lease = self.state.get(COOLDOWNS, target)
            active = lease is not None and not lease.expired(now)
        else:
            lease_claim = self.state.claim(COOLDOWNS, target, self.owner, ttl, now)
            active, lease = not lease_claim.acquired, lease_claim.record
        if active:
            return f"cooldown: {target} was acted on at {lease.claimed_at.isoformat()}; next action after {lease.expires_at.isoformat()}"
        return ""

    def _complete(self, kind: str, key: str, result: GateResult) -> None:
        retain = timedelta(seconds=self.config.guardrails.claim_retention_seconds)
        self.state.complete(kind, key, self.owner, retain, self.clock.now(),
                            {"status": result.status.value, "after": result.after})

    def _release(self, kind: str, key: str, target: str) -> None:
        self.state.release(kind, key, self.owner)
        self.state.release(COOLDOWNS, target, self.owner)

    def _log(self, step: str, message: str) -> None:
        if self.timeline is not None:
            self.timeline.step(step, message)

    def _kill_switch_engaged(self) -> bool:
        return self.config.guardrails.kill_switch
