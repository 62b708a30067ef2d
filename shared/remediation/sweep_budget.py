"""How long a sweep may go on starting work: its function's timeout, less the longest single step.

The sweep runs in on_command, which the platform cuts off at the function's timeout (570 s,
infra/locals.tf `function_timeout_seconds`; Cloud Run functions "Configure function timeout"). A cut
mid-sweep loses what it did after the last record's guarded move (its outcomes unpublished until their
hold lapses) and gets the message redelivered with the same slow work first in line. So the sweep
starts no new step (a record's judgement, a pin reminder, an intent's judgement) once less than the
longest single step is left before the timeout: a step in progress always finishes, the cut is only
between steps, and what is left waits for the next sweep, which starts with it (`order_due`).

Pure: the clock is the only input that moves (shared/clock.py), so tests pin it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Callable, Sequence, TypeVar

from shared.clock import Clock
from shared.diagnosis.collection import MAX_API_CALLS, SWEEP_READS
from shared.gcp.endpoints import CallPolicy

# Set by infra/functions.tf from the same local as the function's `timeout_seconds`, so the code
# knows the deployed timeout; tests/infra/test_settings.py checks both.
FUNCTION_TIMEOUT_ENV = "RUNWARDEN_FUNCTION_TIMEOUT_SECONDS"
# Where the variable is not set (the sandbox, a local run): the deployed default.
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 570.0
# One read or write with its retries, at its longest (CallPolicy.longest_run: every sleep and attempt deadline
# is cut to what is left of total_timeout, 30 s): derived from the policy, so a change to it moves every
# figure below. Before, the budgets counted 40 s by hand (total_timeout + call_timeout), while the loop could
# start a last attempt after a sleep ending past total_timeout (up to 30 + 2 + 10 = 42 s).
ONE_CALL_SECONDS = CallPolicy().longest_run
# Cloud Run's operation wait (CloudRunAdapter.operation_timeout, its polls included: each is given only what
# is left of it, endpoints.WaitDeadline) and one outcome publish (PubSubPublisher.timeout); named here, not
# imported, to keep this module free of the adapters: tests/infra/test_settings.py holds both to the code.
RUN_OPERATION_WAIT_SECONDS = 120.0
PUBLISH_SECONDS = 30.0
# The connector's operation wait (VpcAccessAdapter.operation_timeout), held to the code the same way.
CONNECTOR_OPERATION_WAIT_SECONDS = 300.0
# The gate's Firestore calls: the 20 s infra/locals.tf leaves them between the alert's budget (550 s) and the
# function's timeout (570 s).
GATE_SECONDS = 20.0
# What an alert that scales its service's connector does after reading the connector's other users
# (scope.service_peers_held): the gate, the write (one call with its retries), the connector's operation wait,
# the read-back and the outcome publish: 20 + 30 + 300 + 30 + 30 = 410 s. The peers' reads end this long before
# the function's timeout (`alert_peer_time`): 160 s after the alert was received, where the budget's diagnosis
# reads end, so they share the diagnosis's time and add none to the 550 s (tests/infra/test_settings.py).
ALERT_AFTER_PEERS_SECONDS = (GATE_SECONDS + ONE_CALL_SECONDS + CONNECTOR_OPERATION_WAIT_SECONDS + ONE_CALL_SECONDS
                             + PUBLISH_SECONDS)
# One service's evidence at every call's timeout (diagnosis.collection.collect and the sweep's request-log
# read: (MAX_API_CALLS + SWEEP_READS) x CallPolicy.call_timeout), and one service looked up to find whether it
# uses the connector (collection.users_of: GetService and ListRevisions, each one call with its retries).
# Each read counted at call_timeout (10 s), not its longest run (30 s, retries and a paged read's pages
# included: endpoints.PageCursor), one after another: safe because collect() runs its reads concurrently in
# three rounds (the second in at most two waves of its pool), at most 120 s on the clock, 150 s with the
# request-log read after it, under the 160 s counted; tests/infra/test_settings.py
# (`collection_wall_seconds`) holds it, so a change to the rounds, the pool or the policy that made it untrue fails.
COLLECT_SECONDS = (MAX_API_CALLS + SWEEP_READS) * CallPolicy().call_timeout
LOOKUP_SECONDS = 2 * ONE_CALL_SECONDS
# The longest one step of the sweep may take once started, at every call's timeout (read from the code,
# not measured; tests/infra/test_settings.py recomputes it): a rollback's judgement reads its evidence
# and its request log (COLLECT_SECONDS, 160 s), then its undo reads the service and its revisions, writes,
# waits on Cloud Run's operation (120 s) and may read the service back (one call each, 30 s):
# 160 + 60 + 30 + 120 + 30 = 400 s; plus one outcome publish (30 s) after the last step: 430 s.
LONGEST_STEP_SECONDS = (COLLECT_SECONDS + 2 * ONE_CALL_SECONDS + ONE_CALL_SECONDS + RUN_OPERATION_WAIT_SECONDS
                        + ONE_CALL_SECONDS + PUBLISH_SECONDS)
# What one step may spend on reads: the longest step less the outcome publish after it. A connector
# change's judgement, which has no undo, reads the evidence of every managed service behind the connector;
# it starts no read that could end past this (`StepTime`), so however many services there are, the step
# stays within LONGEST_STEP_SECONDS.
STEP_READS_SECONDS = LONGEST_STEP_SECONDS - PUBLISH_SECONDS

T = TypeVar("T")


def function_timeout(environ: Mapping[str, str] | None = None) -> float:
    """The deployed function timeout in seconds, from FUNCTION_TIMEOUT_ENV, or the default if unset.
    A value that is not a positive number is a deployment mistake, said by name (ValueError)."""
    environ = os.environ if environ is None else environ
    text = environ.get(FUNCTION_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_FUNCTION_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"{FUNCTION_TIMEOUT_ENV}={text!r}: the function timeout must be a positive number of "
                         "seconds (infra/functions.tf sets it from function_timeout_seconds)")
    return seconds


class SweepBudget:
    """The time a sweep may start steps in: from its start until the timeout less `step_seconds`.
    Each loop asks `allows(kind)` before a step; once refused (time only moves on), every later step
    is refused too and counted in `left`, by kind, for the log line that says what was left and why."""

    def __init__(self, clock: Clock, timeout_seconds: float = DEFAULT_FUNCTION_TIMEOUT_SECONDS,
                 step_seconds: float = LONGEST_STEP_SECONDS) -> None:
        self.clock = clock
        self.started_at: datetime = clock.now()
        self.timeout_seconds = timeout_seconds
        self.step_seconds = step_seconds
        self.until: datetime = self.started_at + timedelta(seconds=max(0.0, timeout_seconds - step_seconds))
        self.left: dict[str, int] = {}
        self.spent_at: datetime | None = None

    def allows(self, kind: str) -> bool:
        """Whether a step of `kind` may start now; if not, counted as left for the next sweep."""
        if self.spent_at is None:
            now = self.clock.now()
            if now < self.until:
                return True
            self.spent_at = now
        self.left[kind] = self.left.get(kind, 0) + 1
        return False

    def left_said(self) -> str:
        """The due items a time-cut sweep left for the next one, by kind ("4 action(s), 1 pin
        reminder(s)"), for the heartbeat and a manual sweep's answer; "" if it left none."""
        if not self.left or self.spent_at is None:
            return ""
        return ", ".join(f"{n} {kind}" for kind, n in self.left.items())

    def summary(self) -> str:
        """What was left and why, for the log; "" if nothing was."""
        counts = self.left_said()
        if not counts:
            return ""
        return (f"left for the next sweep: {counts}. The sweep starts no step after "
                f"{(self.until - self.started_at).total_seconds():.0f} s (at {self.spent_at:%H:%M:%S}, "
                f"{(self.spent_at - self.started_at).total_seconds():.0f} s in): its function is cut off at "
                f"{self.timeout_seconds:.0f} s and one step may take {self.step_seconds:.0f} s")


class StepTime:
    """The time one step may spend on reads, from its start: a read whose longest run (`fits(seconds)`)
    would end past it is not started. Cut between reads only, as the sweep's budget cuts between steps."""

    def __init__(self, clock: Clock, seconds: float = STEP_READS_SECONDS) -> None:
        self.clock = clock
        self.seconds = seconds
        self.until: datetime = clock.now() + timedelta(seconds=seconds)

    def fits(self, seconds: float) -> bool:
        return self.clock.now() + timedelta(seconds=seconds) <= self.until


def alert_peer_time(clock: Clock, received_at: datetime) -> StepTime:
    """The time an alert's reads of its connector's other users may take (a service alert's peers; a connector or
    Cloud SQL alert's users, each user's diagnosis: scope.diagnose_users): from now until ALERT_AFTER_PEERS_SECONDS
    before the function's timeout, counted from when the alert was received (none left: no read fits)."""
    end = received_at + timedelta(seconds=function_timeout() - ALERT_AFTER_PEERS_SECONDS)
    return StepTime(clock, max(0.0, (end - clock.now()).total_seconds()))


def order_due(due: Sequence[T], key: Callable[[T], str], deadline: Callable[[T], datetime],
              left_before: Sequence[str]) -> list[T]:
    """The due records in the order a sweep judges them: those the previous sweep left when its budget
    ran out first (resuming where it stopped, so a record that takes a whole budget each time, say one
    whose evidence reads keep timing out, never holds the others back for good), then the rest; each
    part oldest deadline first."""
    left = set(left_before)
    return sorted(due, key=lambda r: (key(r) not in left, deadline(r), key(r)))
