"""sweep: the scheduled verification sweep (verify, undo, escalate; pin reminders; log-based
incidents; writes no attempt recorded, from their intents). Cloud Scheduler publishes it; the sweep
itself is in shared/remediation/verification.py."""
from __future__ import annotations

from typing import Any, Callable

from shared.config import Config
from shared.outcomes import Outcome
from shared.remediation.verification import Sweep, sweep


def handle(config: Config, adapters: Any) -> list[Outcome]:
    return sweep(config, adapters)


def handle_and_publish(config: Config, adapters: Any, publish: Callable[[Outcome], Outcome],
                       done: Callable[[list[Outcome]], None] = lambda outcomes: None) -> list[Outcome]:
    """The sweep, then every outcome published (`Sweep.publish`: a report kept in its intent is marked
    sent only once its publish succeeded). `done` is told the outcomes before they are published."""
    run = Sweep(config, adapters)
    outcomes = run.run()
    done(outcomes)
    return run.publish(outcomes, publish)
