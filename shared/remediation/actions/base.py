"""What every action declares: typed parameters, bounds, reversibility and IAM permissions."""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.config import Config

P = TypeVar("P", bound=BaseModel)


class ActionParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str  # the full resource name the action writes to


class Action(ABC, Generic[P]):
    """One remediation. Subclasses are registered with `@register` and only ever run through
    the guardrail gate, which enforces bounds, the kill switch, dry-run and the claim."""

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    reversible: ClassVar[bool]
    iam_permissions: ClassVar[tuple[str, ...]]
    # True for an action that undoes Runwarden's own change: cooldown and budgets do not hold it.
    corrective: ClassVar[bool] = False

    @abstractmethod
    def bounds_violations(self, params: P, config: Config, now: datetime) -> list[str]:
        """Every configured bound this request would cross, in words; empty when inside them."""

    @abstractmethod
    def preview(self, params: P, before: dict[str, Any]) -> dict[str, Any]:
        """The state the write would produce: reported by dry-run instead of writing."""

    @abstractmethod
    def apply(self, params: P, adapters: Any) -> dict[str, Any]:
        """Perform the write, wait for it, check it took, and return the state after."""

    def can_claim(self, target: str) -> bool:
        """False when no claim of this action on `target` can exist: its bounds refuse that target
        by its name alone, whatever the config, and the gate takes a claim only after the bounds
        found nothing (`guardrails.plan_refusal`, for an operator's command too). The gate then
        does not read such a claim (`Gate.claim_reads`)."""
        return True

    def needs_approval(self, params: P, config: Config) -> str:
        """Why a person must approve this (the action is then proposed, not applied), or ""."""
        return ""

    def observe(self, params: P, adapters: Any) -> dict[str, Any] | None:
        """The target's live state, in the shape `apply` returns (None: this action cannot tell).
        Read when an earlier attempt may have written without recording it (intents.py)."""
        return None

    def shows(self, state: dict[str, Any], live: dict[str, Any]) -> bool:
        """True if `live` has what this action changes as in `state` (a before or an after)."""
        return False

    def changed_since_write(self, before: dict[str, Any], live: dict[str, Any]) -> bool:
        """True if `live`, showing neither `before` nor the planned change (or `before` again), proves by
        the target's own record that the plan's write landed and the target was changed again after it
        (intents.py, Match.CHANGED). False: the target keeps no such record (a connector), so it cannot tell (see
        may_have_landed)."""
        return False

    def may_have_landed(self, after: dict[str, Any], live: dict[str, Any]) -> bool:
        """For a target that keeps no record of its changes (changed_since_write is always False): True
        if `live`, showing neither the state before nor the planned change `after` (or the state before
        again), is still one the plan's write could have led to, with another change after it (intents.py,
        Match.UNCONFIRMED).
        Nothing proves the write landed; False rules it out."""
        return False

    def notes(self, params: P) -> list[str]:
        """What an operator must know once this has run (e.g. traffic is now pinned)."""
        return []
