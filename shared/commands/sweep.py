"""sweep: the scheduled verification sweep (verify, undo, escalate; pin reminders; log-based
incidents; writes no attempt recorded, from their intents). Cloud Scheduler publishes it; the sweep
itself is in shared/remediation/verification.py."""
from __future__ import annotations

from typing import Any

from shared.config import Config
from shared.outcomes import Outcome
from shared.remediation.verification import sweep


def handle(config: Config, adapters: Any) -> list[Outcome]:
    return sweep(config, adapters)
