"""The rollback target's own startup failures, read apart when the service log read's page was full.

The service read is one newest-first page over every revision: a failing revision that writes many
lines pushes the previous revision's older startup failures off it, and bad_revision would send all
the traffic to a revision whose new instances cannot start. When that page was full and a deploy is
the suspect, a second, narrow read asks for the candidate targets' startup texts alone
(collection.startup_candidates, log_signals.target_startup_filter). A page that was not full held
every line: none seen there is none logged, and no second read is made. The second read failed, not
made, or itself full with too few lines on the target: not known, escalated, never rolled back blind.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import STARTUP_CANDIDATES, startup_candidates
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord, LogResult, StartupRead
from shared.diagnosis.log_signals import (_PATTERNS, STARTUP_NEEDLES, LogSignal, MAX_FILTER_CHARS, classify,
                                          target_startup_filter)
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_bad_revision_startup import DEFAULT_PROBE
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
SYSTEM = "run.googleapis.com/varlog/system"
FLOOD = "ERROR handling GET /api/items: KeyError: 'price'"


def _line(minute: float, text: str, revision: str, log_id: str = SYSTEM) -> LogRecord:
    return LogRecord(timestamp=at(minute), severity="ERROR", log_id=log_id, resource_type="cloud_run_revision",
                     resource_labels={"service_name": "backend", "revision_name": revision}, text=text)


def _deploy(target_failed_at: float | None) -> Evidence:
    """NEW deployed 8 minutes ago and failing (503s, its stderr flooded), OLD clean before it; OLD's
    own startup probe failing 6 times at `target_failed_at` (None: never)."""
    e = (Evidence().revision(OLD, -180).revision(NEW, -8).traffic(**{NEW: 100})
         .requests(OLD, -90, -8, 40).latency(OLD, -20, -8, 0.2)
         .requests(NEW, -8, 5, 20).requests(NEW, -8, 5, 20, code="503").latency(NEW, -8, 5, 0.4)
         .log(-5, DEFAULT_PROBE, NEW, count=6, log_id=SYSTEM))
    if target_failed_at is not None:
        e.log(target_failed_at, DEFAULT_PROBE, OLD, count=6, log_id=SYSTEM)
    return e


def _full_page(e: Evidence) -> Evidence:
    """The service read as Logging returns it when NEW's lines fill the page: the newest
    max_log_entries, NEW's flood only (OLD's older lines fell off), cut short."""
    e.logs[:] = [_line(-1 + i / 1000, FLOOD, NEW, "run.googleapis.com/stderr") for i in range(S.max_log_entries)]
    return e


def _read(*lines: LogRecord, truncated: bool = False, revisions: tuple[str, ...] = (OLD,)) -> StartupRead:
    return StartupRead(revisions=revisions, result=LogResult(query="q", entries=tuple(reversed(lines)),
                                                             truncated=truncated))


PROBES = tuple(_line(-12 + i / 10, DEFAULT_PROBE, OLD) for i in range(6))
FAILED = StartupRead(revisions=(OLD,), failure="RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Read "
                                               "requests' and limit 'Read requests per minute'")

# (OLD's probe failures logged at, the service read's page full, the startup read) -> target, action
CASES = {
    "page not full, nothing on the target: none logged, rolled back": dict(
        failed_at=None, full=False, read=None, target=OLD, action="rollback_traffic"),
    "page not full, the target's probe failures on it: no target": dict(
        failed_at=-12, full=False, read=None, target=None, action=None),
    "page full, the startup read shows the target clean: rolled back": dict(
        failed_at=None, full=True, read=_read(), target=OLD, action="rollback_traffic"),
    "page full, the startup read finds the target's probe failures: no target": dict(
        failed_at=-12, full=True, read=_read(*PROBES), target=None, action=None),
    "page full, the startup read failed (quota): not known, escalated": dict(
        failed_at=None, full=True, read=FAILED, target=None, action=None),
    "page full, no startup read made: not known, escalated": dict(
        failed_at=None, full=True, read=None, target=None, action=None),
    "page full, the startup read asked for other revisions only: not known, escalated": dict(
        failed_at=None, full=True, read=_read(revisions=("backend-00000-old",)), target=None, action=None),
    "page full, the startup read full of the other candidates' lines: not known, escalated": dict(
        failed_at=None, full=True, target=None, action=None,
        read=_read(*(_line(-30 + i / 10, DEFAULT_PROBE, "backend-00000-old") for i in range(50)), truncated=True,
                   revisions=(OLD, "backend-00000-old"))),
    "page full, one flap on the target in the startup read: under the bar, rolled back": dict(
        failed_at=None, full=True, read=_read(PROBES[0]), target=OLD, action="rollback_traffic"),
}


DENIED = ("logging: application and system log: PermissionDenied: 403 Permission 'logging.logEntries.list' "
          "denied on resource 'projects/demo-project' (or it may not exist).")
EXHAUSTED = ("logging: application and system log: ResourceExhausted: 429 Quota exceeded for quota metric "
             "'Read requests' and limit 'Read requests per minute'")

# (the service log read's gap, the target's state) -> target, action. The service read failed: no
# line was read, no startup read is made (collection.startup_candidates); the target's clean requests
# and its Ready condition do not show its new instances start.
FAILED_READ = {
    "service read denied, the target clean and Ready: not known, escalated": dict(
        gap=DENIED, ready=True, target=None, action=None),
    "service read out of quota, the target clean and Ready: not known, escalated": dict(
        gap=EXHAUSTED, ready=True, target=None, action=None),
}


@pytest.mark.parametrize("case", FAILED_READ.values(), ids=FAILED_READ.keys())
def test_a_failed_service_log_read_leaves_the_targets_startups_unknown(case):
    bundle = quiet_connector(_deploy(None)).bundle()
    bundle = bundle.model_copy(update={"logs": None, "target_startup": None, "gaps": (*bundle.gaps, case["gap"])})
    assert next(r for r in bundle.revisions if r.short_name == OLD).ready is case["ready"]

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == case["target"], result.summary
    assert plan(result, bundle, S).action == case["action"]
    assert f"whether {OLD}'s own instances start is not known" in result.summary, result.summary
    assert "log read failed" in result.summary and case["gap"][:60] in result.summary, result.summary


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_targets_startups_read_apart_decide_when_the_page_was_full(case):
    e = _deploy(case["failed_at"])
    if case["full"]:
        _full_page(e)
    bundle = quiet_connector(e).bundle()
    bundle = bundle.model_copy(update={
        "logs": bundle.logs.model_copy(update={"truncated": case["full"]}), "target_startup": case["read"]})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == case["target"], result.summary
    assert plan(result, bundle, S).action == case["action"]
    if case["target"] is None and case["failed_at"] is None:
        assert f"whether {OLD}'s own instances start is not known" in result.summary, result.summary
        assert "page was full" in result.summary, result.summary


def _revisions(*names_ready_minutes: tuple[str, bool, float]) -> Evidence:
    e = Evidence()
    for name, ready, minute in names_ready_minutes:
        e.revision(name, minute, ready=ready)
    return e


FULL = LogResult(query="q", entries=(), truncated=True)
# (revisions (name, Ready, created at minute), serving, the service read) -> candidates read apart
CANDIDATES = {
    "a deploy 8 minutes before the incident, page full: the previous Ready revisions, newest first": dict(
        revisions=[("r1", True, -900), ("r2", False, -600), ("r3", True, -300), ("r4", True, -8)], serving="r4",
        logs=FULL, expected=("r3", "r1")),
    "page not full: no read": dict(
        revisions=[("r3", True, -300), ("r4", True, -8)], serving="r4",
        logs=LogResult(query="q", truncated=False), expected=()),
    "the service read failed: no read (its gap stands)": dict(
        revisions=[("r3", True, -300), ("r4", True, -8)], serving="r4", logs=None, expected=()),
    "the newest serving revision deployed long before the incident: no rollback, no read": dict(
        revisions=[("r3", True, -3000), ("r4", True, -300)], serving="r4", logs=FULL, expected=()),
    "the first revision: nothing to roll back to, no read": dict(
        revisions=[("r4", True, -8)], serving="r4", logs=FULL, expected=()),
    "many older revisions: the newest few only": dict(
        revisions=[(f"r{i}", True, -1000 + i) for i in range(8)] + [("r9", True, -8)], serving="r9", logs=FULL,
        expected=tuple(f"r{i}" for i in range(7, 7 - STARTUP_CANDIDATES, -1))),
}


@pytest.mark.parametrize("case", CANDIDATES.values(), ids=CANDIDATES.keys())
def test_the_startup_read_is_made_only_when_it_can_matter(case):
    e = _revisions(*case["revisions"]).traffic(**{case["serving"]: 100})
    bundle = e.bundle()

    found = startup_candidates(bundle.service, bundle.revisions, case["logs"], bundle.incident_started_at, S)

    assert found == case["expected"]


# The request counts read: the Ready revisions older than the deploy that served a request in them
# (the known-good search passes over the others without counting), the newest few of those.
PREVIEWS = [("r1", True, -3000), ("r2", True, -900), ("p1", True, -60), ("p2", True, -50), ("p3", True, -40),
            ("r3", True, -8)]
SERVED = {
    "three --no-traffic previews after the one that served: it is read, the previews are not": dict(
        served=("r1", "r2", "r3"), expected=("r2", "r1")),
    "a preview that served through its tag is read beside the one before": dict(
        served=("r2", "p2", "r3"), expected=("p2", "r2")),
    "no older revision served: no read": dict(served=("r3",), expected=()),
}


@pytest.mark.parametrize("case", SERVED.values(), ids=SERVED.keys())
def test_the_startup_read_asks_for_the_revisions_that_served(case):
    e = _revisions(*PREVIEWS).traffic(r3=100)
    for name in case["served"]:
        e.requests(name, -10, -1, 5)
    bundle = e.bundle()

    found = startup_candidates(bundle.service, bundle.revisions, FULL, bundle.incident_started_at, S,
                               bundle.requests)

    assert found == case["expected"]


def test_a_revision_whose_counts_are_the_string_zero_served_nothing():
    """A replayed bundle's int64 points are strings, as Monitoring's JSON sends them: "0" is no request."""
    e = _revisions(*PREVIEWS).traffic(r3=100)
    for name in ("r1", "r2", "r3"):
        e.requests(name, -10, -1, 5)
    bundle = e.bundle()
    series = tuple(s.model_copy(update={"values": tuple("0" if s.resource_labels.get("revision_name") == "r2"
                                                        else str(int(v)) for v in s.values)})
                   for s in bundle.requests.series)
    requests = bundle.requests.model_copy(update={"series": series})

    found = startup_candidates(bundle.service, bundle.revisions, FULL, bundle.incident_started_at, S, requests)

    assert found == ("r1",)


def test_the_startup_read_asks_for_the_targets_and_cloud_runs_startup_texts_only():
    start = at(-30)
    query = target_startup_filter("demo-project", "backend", "us-central1", ("backend-00002-b", "backend-00001-a"),
                                  start, start + timedelta(minutes=35))

    assert 'resource.labels.service_name="backend"' in query
    assert '(resource.labels.revision_name="backend-00002-b" OR resource.labels.revision_name="backend-00001-a")' \
        in query
    assert '"STARTUP TCP probe failed" OR' in query
    assert len(query) < MAX_FILTER_CHARS


def test_every_startup_failure_pattern_is_asked_for_by_a_needle():
    """A line the classifier reads as a startup failure holds one of the needles the read asks for,
    and every needle is itself such a line: the read finds what the rule counts, and no more; but for
    Cloud Run's "Container called exit(" and "Container terminated on signal", whose codes and signals
    the patterns tell apart (a shutdown's 0 or 143, its SIGTERM 15, is no failure) and a substring cannot."""
    ended = {"Container called exit(": ("1).", "0)."), "Container terminated on signal": (" 6.", " 15.")}
    for needle in STARTUP_NEEDLES:
        failed, _ = ended.get(needle, ("", ""))
        assert LogSignal.STARTUP_FAILURE in classify(needle + failed), needle
    for needle, (_, stopped) in ended.items():
        assert LogSignal.STARTUP_FAILURE not in classify(needle + stopped), needle
    for pattern in _PATTERNS[LogSignal.STARTUP_FAILURE]:
        assert any(re.fullmatch(pattern, n + tail, re.IGNORECASE)
                   for n in STARTUP_NEEDLES for tail in ("", "1)", " 6.")), pattern
    for kind in ("TCP", "HTTP", "GRPC"):   # the one pattern with alternatives, each written out
        assert any(f"STARTUP {kind} probe failed".lower() in n.lower() for n in STARTUP_NEEDLES)
