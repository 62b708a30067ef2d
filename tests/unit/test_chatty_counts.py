"""A chatty service's database lines, counted over the window and not over the crowded page.

A service that logs its ordinary work to stderr (INFO, DEBUG) fills the service read's newest-first page of
max_log_entries within minutes; the lines of the incident's first minutes are off it. When that page came back
full before its window's start, collection reads the application's failure lines alone over the same window
(EvidenceBundle.failure_logs: its stderr and stdout at ERROR or worse or holding a needle, the system log,
Cloud Run's own request-log texts). Before, only the verification's and `healthy`'s failure-lines check read
it: the database's refusals, dial timeouts and pool waits of the first minutes were counted from the page
alone, and a busy connector was scaled while the database had refused the application all along. Now every
rule counts from both reads joined (Facts.logs, facts.union_of), each entry once; with that read failed, the
lines of the first minutes are not known, and a rule that would rule them out does not (Facts.page_cut,
rules/base.unread_rule_outs). Pure: evidence built in memory, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle, LogRecord, LogResult, StartupRead
from shared.diagnosis import facts as facts_module
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_database_refusals import DIAL, NEW, OLD, TOO_MANY, deployed, newly_saturated, quiet, serving

S = DiagnosisSettings()
NOISE = "INFO:orders:GET /api/orders 200 in 12 ms"
WORKER = "[2026-12-01 21:51:04 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:17)"
KEY_ERROR = "KeyError: 'tenant_id' in handler orders.create"
FAILURE_GAP = "logging: the application's failure lines: UNAVAILABLE: the service is unavailable"
# What the read of the failure lines alone takes, as the test writes it (log_signals.failure_lines_filter):
# ERROR or worse, or a text holding a needle (a worker timeout printed plain among them); the INFO noise is not.
NEEDLED = (TOO_MANY, DIAL, WORKER)


def _taken(e: LogRecord) -> bool:
    return e.severity in ("ERROR", "CRITICAL") or e.text in NEEDLED


def chatty(evidence: Evidence, page_from: float, *, failure: str = "whole") -> EvidenceBundle:
    """The bundle of `evidence` with 60 INFO lines a minute on stderr from -40: the service read's page full
    from `page_from` on, and the read of the failure lines alone `whole`, `cut` (its own page full from
    `page_from` on, as a needle's INFO lines fill it), `failed` (its gap said) or `none` (not made: as before
    that read)."""
    revision = evidence.revs[-1].name.rsplit("/", 1)[-1] if evidence.revs else OLD
    for minute in range(-40, int(evidence.now) + 1):
        evidence.log(minute, NOISE, revision, count=60, severity="INFO")
    b = evidence.bundle()
    page = tuple(e for e in b.logs.entries if e.timestamp >= at(page_from))
    bundle = b.model_copy(update={"logs": b.logs.model_copy(update={"entries": page, "truncated": True})})
    if failure == "failed":
        return bundle.model_copy(update={"gaps": bundle.gaps + (FAILURE_GAP,)})
    if failure == "none":
        return bundle
    read = b.logs.model_copy(update={"entries": tuple(filter(_taken, b.logs.entries)), "truncated": False})
    if failure == "cut":
        read = read.model_copy(update={"entries": tuple(e for e in read.entries if e.timestamp >= at(page_from)),
                                       "truncated": True})
    return bundle.model_copy(update={"failure_logs": read})


def refusals_early(e: Evidence) -> Evidence:
    """The database refused the application (too many clients) from -11 to -9, the dial timeouts since -3."""
    return e.log(-11, TOO_MANY, OLD, count=10).log(-10, TOO_MANY, OLD, count=10).log(-9, TOO_MANY, OLD, count=10) \
        .log(-3, DIAL, OLD, count=10).log(-2, DIAL, OLD, count=10).log(-1, DIAL, OLD, count=10)


def dials_only(e: Evidence) -> Evidence:
    return e.log(-11, DIAL, OLD, count=10).log(-6, DIAL, OLD, count=10).log(-2, DIAL, OLD, count=10)


def bad_deploy(e: Evidence) -> Evidence:
    """NEW took all traffic at -6 and fails 60 % with its own KeyError at ERROR; the path is quiet."""
    e = quiet(deployed(e))
    for minute in range(-5, 2):
        e.log(minute, KEY_ERROR, NEW, count=5)
    return e


def started(bundle: EvidenceBundle) -> EvidenceBundle:
    """With the rollback target's startups read apart (collection._target_startup, made on a full page): none
    failed."""
    read = StartupRead(revisions=(OLD,), result=LogResult(query="target startups"))
    return bundle.model_copy(update={"target_startup": read})


CASES = {
    "refusals off the chatty page, dial timeouts on it, a newly saturated connector: both causes, no scale": dict(
        build=lambda: chatty(refusals_early(newly_saturated(serving(Evidence(), code="503", latency=31))), -4),
        expect=Signature.INCONCLUSIVE, action=None, names="too many clients"),
    "refusals alone, off the chatty page: the database refuses, no scale": dict(
        build=lambda: chatty(newly_saturated(serving(Evidence(), code="503", latency=31)).log(-8, TOO_MANY, OLD, count=25),
                             -4),
        expect=Signature.DATABASE_UNREACHABLE, action=None, names="too many clients"),
    "control: dial timeouts alone, read over the window, a newly saturated connector: scaled": dict(
        build=lambda: chatty(dials_only(newly_saturated(serving(Evidence(), code="503", latency=31))), -4),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "the failure read failed: the refusals of the first minutes not known, so not ruled out: escalated": dict(
        build=lambda: chatty(dials_only(newly_saturated(serving(Evidence(), code="503", latency=31))), -4,
                             failure="failed"),
        expect=Signature.CONNECTOR_SATURATION, action=None, names="failure lines alone failed"),
    "worker timeouts printed plain, off the page, read over the window: no scale": dict(
        build=lambda: chatty(newly_saturated(serving(Evidence(), code="503", latency=31))
                             .log(-9, WORKER, OLD, count=5, severity="DEFAULT")
                             .log(-8, WORKER, OLD, count=5, severity="DEFAULT"), -4),
        expect=Signature.INCONCLUSIVE, action=None, names="worker"),
    "control: a chatty service's bad deploy is still rolled back": dict(
        build=lambda: started(chatty(bad_deploy(Evidence()), -1)),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "control: the same bad deploy with no chatter": dict(
        build=lambda: bad_deploy(Evidence()).bundle(),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_chatty_service_is_judged_on_its_lines_over_the_window(case):
    bundle = case["build"]()
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
    assert result.signature is case["expect"], result.summary
    assert chosen.action == case["action"], chosen.reason
    if "names" in case:
        assert case["names"] in (result.summary + " " + result.recommendation).lower(), result.summary


def _facts(bundle: EvidenceBundle) -> Facts:
    return Facts(bundle, S)


COUNTS = {
    # name, bundle, refusals named, refusal lines counted
    "refusals off the page, in the failure read: counted over the window": (
        lambda: chatty(newly_saturated(serving(Evidence(), code="503", latency=31)).log(-8, TOO_MANY, OLD, count=25),
                       -4), True, 25),
    "refusals on the page and in the failure read: each counted once": (
        lambda: chatty(newly_saturated(serving(Evidence(), code="503", latency=31)).log(-2, TOO_MANY, OLD, count=25),
                       -4), True, 25),
    "two refusals, the failure read whole: two over the window, not scaled up over the page's minutes": (
        lambda: chatty(newly_saturated(serving(Evidence(), code="503", latency=31)).log(1, TOO_MANY, OLD, count=2),
                       1), False, 2),
    "control: two refusals on a page cut short with no failure read: scaled over the page, as before": (
        lambda: chatty(newly_saturated(serving(Evidence(), code="503", latency=31)).log(1, TOO_MANY, OLD, count=2),
                       1, failure="none"), True, 2),
}


@pytest.mark.parametrize("build,named,counted", COUNTS.values(), ids=COUNTS.keys())
def test_the_database_lines_are_counted_from_both_reads(build, named, counted):
    facts = _facts(build())
    assert len(facts.database_lines(LogSignal.DB_REFUSED)) == counted
    assert bool(facts.db_refusals) is named


def test_the_union_keeps_each_entry_once_newest_first():
    """Two entries with the same timestamp and insert_id are one (LogEntry.insert_id, log_entry.proto)."""
    def line(minute: float, insert_id: str, text: str = TOO_MANY) -> LogRecord:
        return LogRecord(timestamp=at(minute), log_id="run.googleapis.com/stderr", severity="ERROR", text=text,
                         insert_id=insert_id)
    page = (line(2, "c", NOISE), line(1, "b"))
    failure = (line(1, "b"), line(-5, "a"))
    assert [e.insert_id for e in facts_module.union_of(page, failure)] == ["c", "b", "a"]


PAGE_CUT = {
    # name, failure read, words of Facts.page_cut ("" when the window's lines are known)
    "the failure read whole: known": ("whole", ""),
    "the failure read failed: its gap named": ("failed", "failure lines alone failed"),
    "control: the failure read itself full: counted over its span (logged_enough), as before": ("cut", ""),
}


@pytest.mark.parametrize("failure,words", PAGE_CUT.values(), ids=PAGE_CUT.keys())
def test_the_page_is_cut_unless_the_failure_read_holds_the_window(failure, words):
    cut = _facts(chatty(dials_only(newly_saturated(serving(Evidence(), code="503", latency=31))), -4,
                        failure=failure)).page_cut
    assert (words in cut) if words else cut == "", cut
