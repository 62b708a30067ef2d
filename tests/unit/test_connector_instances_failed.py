"""503s of instances Cloud Run ended over their memory limit are not shown to be a connector's,
whatever it shows: its system log's "Memory limit of N MiB exceeded" ("Configure memory limits": such
instances are terminated; their requests in flight end as Cloud Run's own 503, "The request failed
because either the HTTP response was malformed or connection to the instance had an error"). With no
hang, no error of reaching the database and no refusal, a connector saturated in the same minutes by
another service's job competes and is never scaled alone on them; with any of those, its case is as
before. Cloud Run's 503 text alone says nothing of the kind: its troubleshooting page names a
connector's bottleneck among its causes, so it leaves the connector's case as it was."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
CONNECTION_ERROR = ("The request failed because either the HTTP response was malformed or connection to the instance "
                    "had an error. Additional troubleshooting documentation can be found at: "
                    "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error")
MEMORY = ("Memory limit of 512 MiB exceeded with 537 MiB used. Consider increasing the memory limit, see "
          "https://cloud.google.com/run/docs/configuring/memory-limits")
# The same line in Cloud Run's older wording, its units written "M" (googleapis/repo-automation-bots issues
# #2418 and #3105).
MEMORY_M = ("Memory limit of 512M exceeded with 526M used. Consider increasing the memory limit, see "
            "https://cloud.google.com/run/docs/configuring/memory-limits")
MEMORY_953M = ("Memory limit of 953M exceeded with 967M used. Consider increasing the memory limit, see "
               "https://cloud.google.com/run/docs/configuring/memory-limits")
# An application's own words for its memory limit: not Cloud Run ending an instance.
APP_MEMORY = "job 42 failed: Memory limit of 512MB exceeded, input too large"
REQUESTS, SYSTEM = "run.googleapis.com/requests", "run.googleapis.com/varlog/system"


def busy_connector_and_503s(p99: float = 4.0, ended: int = 0, killed: int = 0, errors: str = "",
                            memory: str = MEMORY) -> Evidence:
    """One revision for hours; from -6m a fifth of its requests 503 with the service's p99 at `p99`
    seconds; another service's job takes the shared connector to its max with CPU 90% from -8m;
    Cloud SQL up; `ended` of Cloud Run's own 503 request-log entries, `killed` memory-limit lines
    (`memory`'s wording), and 20 lines of `errors`, from -5m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, p99)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
         .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
         .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6))
    if ended:
        e = e.log(-5, CONNECTION_ERROR, OLD, count=ended, log_id=REQUESTS, severity="ERROR", status=503)
    if killed:
        e = e.log(-5, memory, OLD, count=killed, log_id=SYSTEM, severity="ERROR")
    return e.log(-5, errors, OLD, count=20) if errors else e


# situation -> the verdict, and the action planned
CASES = {
    "instances ended over their memory limit: not scaled": (
        dict(killed=12), Signature.INCONCLUSIVE, None),
    # 503s in 4 s with no wait logged on any path and none of Cloud Run's own 503 lines are in doubt of their
    # own (test_connector_unlogged_503s.py): the rows "not the memory's" say the memory's doubt is not given.
    "Cloud Run's own 503 text alone (a connector bottleneck is among its causes): the connector (unchanged)": (
        dict(ended=30), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "both: not scaled": (dict(ended=30, killed=12), Signature.INCONCLUSIVE, None),
    "instances ended, the line in its older wording (512M): not scaled": (
        dict(killed=12, memory=MEMORY_M), Signature.INCONCLUSIVE, None),
    "both, the line in its older wording (953M): not scaled": (
        dict(ended=30, killed=5, memory=MEMORY_953M), Signature.INCONCLUSIVE, None),
    "the application's own memory-limit words, in the system log: the connector (unchanged)": (
        dict(ended=30, killed=12, memory=APP_MEMORY), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "two memory-limit lines only: not the memory's": (dict(killed=2), Signature.INCONCLUSIVE, None),
    "no such line: not the memory's": (dict(), Signature.INCONCLUSIVE, None),
    "instances ended and dial timeouts to the database: the connector (unchanged)": (
        dict(ended=30, killed=12, errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "instances ended and requests hanging at 31 s: the connector (unchanged)": (
        dict(ended=30, killed=12, p99=31.0), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_the_503s_of_instances_ended_over_their_memory_are_not_the_connectors(shape, signature, action, request):
    bundle = busy_connector_and_503s(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        memory = "ended instances over their memory limit" in result.summary
        assert memory is ("not the memory's" not in request.node.callspec.id), result.summary


# the memory-limit lines read (wordings, each with its count) -> what the summary must quote, and must not
WORDINGS = {
    "the current wording: MiB": ([(MEMORY, 12)], ['12x "Memory limit of N MiB exceeded"'], ["NM exceeded"]),
    "the older wording, 512M: its unit, M": ([(MEMORY_M, 12)], ['12x "Memory limit of NM exceeded"'], ["MiB"]),
    "the older wording, 953M, five lines": ([(MEMORY_953M, 5)], ['5x "Memory limit of NM exceeded"'], ["MiB"]),
    "both wordings: each quoted with its own count": (
        [(MEMORY, 4), (MEMORY_M, 7)], ['4x "Memory limit of N MiB exceeded"', '7x "Memory limit of NM exceeded"'],
        ["11x"]),
}


@pytest.mark.parametrize("lines, quoted, never", WORDINGS.values(), ids=WORDINGS.keys())
def test_the_summary_quotes_the_memory_limit_line_in_the_unit_the_log_used(lines, quoted, never):
    e = busy_connector_and_503s(ended=30)
    for text, count in lines:
        e = e.log(-5, text, OLD, count=count, log_id=SYSTEM, severity="ERROR")

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    for words in quoted:
        assert words in result.summary, (words, result.summary)
    for words in never:
        assert words not in result.summary, (words, result.summary)
