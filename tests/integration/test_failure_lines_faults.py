"""The read of the application's failure lines alone (collection._failure_lines, log_signals.failure_lines_filter)
failing, through the real client libraries against the stand-ins (Logging's fault injection, `fail_next`).

A service that logs its ordinary work to stderr fills the service read's newest-first page within minutes; its
failure lines of the first minutes judged are then off that page, and only the read of the failure lines alone
shows them. That read is planned in the collection's last round and is a gap when it fails, never the event read
again (`_Read.never_raised`). A gap is not "no failure lines": nothing is called `healthy` nor `verified` on the
cut page alone, and the read is named."""
from __future__ import annotations

import grpc
import pytest

from sandbox.scenario_logs import LogSpec, seed_logs
from shared.diagnosis.facts import FAILURE_READ_GAP
from tests.integration.test_chatty_verification import _chatty
from tests.integration.test_remediation import (OLD, _logged_failures, action_state, recovery,  # noqa: F401
                                                rolled_back, world)
from tests.integration.world import FAST, World

pytestmark = pytest.mark.emulator

FAILURE_FILTER = "(severity>=ERROR OR "   # how log_signals.failure_lines_filter's query ends its clauses


def _fail_next_search(world: World, searches_before: int) -> None:
    """Each attempt of the next Logging search after `searches_before` more refused UNAVAILABLE: its retries spent."""
    world.standins.logging.faults.fail_next(FAST.attempts, grpc.StatusCode.UNAVAILABLE, method="ListLogEntries",
                                            after=searches_before)


def _failure_reads(world: World) -> list[str]:
    return [r.filter for r in world.standins.logging.requests("ListLogEntries") if FAILURE_FILTER in r.filter]


def _logs(world: World, *lines: dict) -> None:
    seed_logs(world.standins.logging, "demo-project", "us-central1", [LogSpec.model_validate(x) for x in lines], [],
              world.anchor)


def _info(count: int) -> dict:
    return {"at": {"from": "-20m", "to": "+8m", "every": "1m"}, "log": "stderr", "service": "backend",
            "revision": "backend-00001-abc", "count": count, "severity": "INFO", "text": "GET /api/orders 200 in 12 ms"}


FALLBACK = {"at": {"from": "+0m", "to": "+3m", "every": "1m"}, "log": "stderr", "service": "backend",
            "revision": "backend-00001-abc", "count": 20, "severity": "ERROR",
            "text": "GET /api/orders failed: upstream inventory returned UNAVAILABLE; served cached fallback"}


@pytest.mark.parametrize("failing", [False, True], ids=["INFO lines alone", "failures answered as 200s behind them"])
def test_an_alert_whose_failure_lines_read_failed_is_not_called_healthy(world, failing):
    """`healthy` (a burst of 500s that stopped): every request a 200 at 120 ms since, and the service logs 120 INFO
    lines a minute on stderr, so the service read's page of 300 ends minutes after its window began. The read of the
    failure lines alone never answers (UNAVAILABLE on each attempt). Whether the application logged failures in the
    minutes judged, answered as 200s, is not known: escalated naming the read, not skipped as healthy. Before, it
    was skipped on the cut page alone, with the service still failing behind its INFO lines too (`failing`)."""
    world.seed("healthy")
    _logs(world, _info(120), *([FALLBACK] if failing else []))
    # The service read and the audit read answer (an alert on a rate of 5xx reads no request log:
    # collection.callers_may_decide); the failure lines' read is the third search, each of its attempts refused.
    _fail_next_search(world, 2)

    outcome = world.handle(world.alert("healthy"))

    assert len(_failure_reads(world)) == FAST.attempts
    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.action is None and world.writes() == 0
    report = outcome.diagnosis
    assert report is not None and report.signature == "inconclusive", report
    assert f"{FAILURE_READ_GAP}: " in report.summary and "UNAVAILABLE" in report.summary, report.summary


def test_the_same_alert_whose_failure_lines_read_answered_clean_is_healthy(world):
    """The guard: the same INFO noise, the failure lines' read answered with none: skipped as healthy."""
    world.seed("healthy")
    _logs(world, _info(120))

    outcome = world.handle(world.alert("healthy"))

    assert len(_failure_reads(world)) == 1
    assert outcome.status.value == "skipped" and "healthy" in outcome.reason, outcome.reason


def test_a_sweep_whose_failure_lines_read_failed_does_not_verify_the_rollback(rolled_back):
    """A rollback's service recovered cleanly behind its INFO noise (test_chatty_verification: `verified`), but the
    read of its failure lines alone never answers at the sweep: `unclear`, not verified, and the read is named when
    the deadline escalates it. The next sweep, with the read answering, verifies it."""
    recovery(rolled_back, until="+18m")
    _chatty(rolled_back)
    rolled_back.at(12)
    # The sweep's collection: the service read and the audit read answer; the failure lines' read is the third.
    _fail_next_search(rolled_back, 2)

    assert rolled_back.command({"command": "sweep"}) == []              # not verified: waits
    assert action_state(rolled_back) == "pending" and len(_failure_reads(rolled_back)) == FAST.attempts

    rolled_back.at(13)
    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "verified", outcome.reason
