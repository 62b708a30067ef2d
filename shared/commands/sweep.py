"""sweep: the scheduled verification sweep (verify, undo, escalate; pin reminders; log-based
incidents; writes no attempt recorded, from their intents). Cloud Scheduler publishes it; the sweep
itself is in shared/remediation/verification.py."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from shared.config import Config
from shared.outcomes import Outcome
from shared.remediation.verification import Sweep, sweep


def handle(config: Config, adapters: Any) -> list[Outcome]:
    return sweep(config, adapters)


def handle_and_publish(config: Config, adapters: Any, publish: Callable[[Outcome], Outcome],
                       done: Callable[[list[Outcome], dict[str, int]], None] = lambda outcomes, left: None,
                       clock_ahead: timedelta = timedelta(0)) -> tuple[list[Outcome], dict[str, int]]:
    """The sweep, then every outcome published (`Sweep.publish`: a report kept in its intent is marked
    sent only once its publish succeeded). `done` is told the outcomes before they are published, and
    what a time cut left for the next sweep (`Sweep.left`: by kind; empty if nothing), which is returned
    with the published outcomes. `clock_ahead`: how far this instance's clock may be ahead of real time,
    as the sweep's message showed it (clock.ahead_of_server)."""
    run = Sweep(config, adapters, clock_ahead=clock_ahead)
    outcomes = run.run()
    done(outcomes, run.left)
    return run.publish(outcomes, publish), run.left


def left_said(left: dict[str, int]) -> str:
    """What a time cut left, for the heartbeat and a manual sweep's answer; "" if nothing."""
    if not left:
        return ""
    counts = ", ".join(f"{n} {kind}" for kind, n in left.items())
    return f"; left for the next sweep (its time ran out): {counts}"
