"""Requests Cloud Run failed because no instance could start, while its system log says it could not fetch the
revision's secret, are not a connector's, whatever it shows: Cloud Run reads a revision's secret environment
variables before the container runs ("Could not fetch secret ... Instance startup will now abort", encoredev/encore
issue #2202; the DENIED row's runtime wording is UNCONFIRMED), so nothing crossed the connector.
With no hang, no wait logged on any path and no refusal, a connector saturated in the same minutes by another
service's job is ruled out (startup_config_failure stands alone); with any of those, its case is as before. The
application's own read of a secret (the client library's PERMISSION_DENIED on stderr) may cross the connector
(ALL_TRAFFIC egress), so it leaves the connector's case as it was."""
from __future__ import annotations

import re

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogResult
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
REQUESTS, SYSTEM = "run.googleapis.com/requests", "run.googleapis.com/varlog/system"
NOT_STARTED = "The request failed because the instance could not start successfully."
READINESS = "The request failed because the instance failed the readiness check."
# Cloud Run's system-log line for a pinned version since destroyed (Secret Manager's "is in DESTROYED state.",
# google-github-actions/get-secretmanager-secrets issue #268), and for a binding removed.
DESTROYED = ('Could not fetch secret "projects/401234567890/secrets/db-password/versions/7" for environment variable '
             '"DB_PASSWORD". Instance startup will now abort: Secret Version [db-password/versions/7] is in DESTROYED '
             'state.')
DENIED = ("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Permission denied on secret: "
          "projects/401234567890/secrets/db-password/versions/latest for Revision service account "
          "backend@demo-project.iam.gserviceaccount.com. The service account used must be granted the 'Secret Manager "
          "Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.")
# The application reading the secret itself with the client library: its own stderr line.
APP_DENIED = ("Error: 7 PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied for resource "
              "'projects/demo-project/secrets/db-password/versions/latest' (or it may not exist).")


def busy_connector_and_503s(p99: float = 9.8, turned_away: int = 0, over: int = 11, refused_text: str = NOT_STARTED,
                            secret: str = "", secret_log: str = SYSTEM, errors: str = "",
                            secret_each_minute: bool = False) -> Evidence:
    """One revision for hours; from -6m 50 of its 250 requests a minute 503 with the service's p99 at `p99`
    seconds; another service's job takes the shared connector to its max with CPU 90% from -8m; Cloud SQL up;
    `turned_away` request-log lines of `refused_text` a minute in the `over` minutes from -5m (50: every 503 is
    Cloud Run's own answer, one line a request as it logs them), 8 lines of `secret` in `secret_log` (or 2 a minute
    over the `over` minutes: `secret_each_minute`, as instances keep failing to start), and 20 lines of `errors`,
    from -5m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, p99)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
         .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
         .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6))
    for minute in range(-5, -5 + over) if turned_away else ():
        e = e.log(minute - 0.9, refused_text, OLD, count=turned_away, log_id=REQUESTS, severity="ERROR", status=503)
    for minute in range(-5, -5 + over) if secret and secret_each_minute else [-5] if secret else ():
        e = e.log(minute - 0.5, secret, OLD, count=2 if secret_each_minute else 8, log_id=secret_log, severity="ERROR")
    return e.log(-5, errors, OLD, count=20) if errors else e


# situation -> the verdict, and the action planned
CASES = {
    "a destroyed version not fetched, instances not started: the secret's alone": (
        dict(turned_away=50, secret=DESTROYED), Signature.STARTUP_CONFIG_FAILURE, None),
    "the secret's binding removed, instances not started: the secret's alone": (
        dict(turned_away=50, secret=DENIED), Signature.STARTUP_CONFIG_FAILURE, None),
    "the readiness check's words: the secret's alone": (
        dict(turned_away=50, refused_text=READINESS, secret=DESTROYED), Signature.STARTUP_CONFIG_FAILURE, None),
    "and dial timeouts to the database: the connector stays in the running": (
        dict(turned_away=50, secret=DESTROYED, errors=PSYCOPG), Signature.INCONCLUSIVE, None),
    "and requests hanging at 31 s: the connector stays in the running": (
        dict(turned_away=50, secret=DESTROYED, p99=31.0), Signature.INCONCLUSIVE, None),
    "the application's own read denied, on stderr: the connector stays in the running": (
        dict(turned_away=50, secret=APP_DENIED, secret_log="run.googleapis.com/stderr"), Signature.INCONCLUSIVE, None),
    "no request turned away by Cloud Run: the connector stays in the running": (
        dict(secret=DESTROYED), Signature.INCONCLUSIVE, None),
    "two of Cloud Run's lines only: the connector stays in the running": (
        dict(turned_away=2, over=1, secret=DESTROYED), Signature.INCONCLUSIVE, None),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_requests_of_instances_whose_secret_cloud_run_could_not_fetch_are_not_the_connectors(shape, signature, action):
    bundle = busy_connector_and_503s(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "connector_saturation" in result.competing, result.summary


def test_the_connectors_ruling_out_names_what_cloud_run_could_not_fetch():
    found = connector_saturation.evaluate(Facts(busy_connector_and_503s(turned_away=50, secret=DESTROYED).bundle(), S))

    assert not found.matched and not found.not_ruled_out, found.summary
    assert "Cloud Run's own answers for instances that could not start (550x" in found.summary
    assert "secret Cloud Run could not fetch (8x in its system log)" in found.summary


def with_reads(e: Evidence, answered: int = 0, request_page: int = 0, kept: float = 1.0, page_cut: int = 0):
    """The bundle of `e`, with the request log read whole on the alert path (`request_page` > 0: its newest
    `request_page` lines, a line per request counted, `answered` of each minute's 503s Cloud Run's own answer for
    an instance that could not start, the rest the application's own; `kept`: the share of lines an exclusion
    filter's sample() leaves), and the service read's page cut short (`page_cut`: its newest-first page full at
    its newest `page_cut` entries, every line newer than its oldest among them)."""
    bundle = e.bundle()
    update = {}
    if request_page:
        lines, seen = [], {}
        for line in reversed(e.request_log(-6, callers_kept=kept, page=100_000).entries):
            if line.http_status == 503:
                minute = line.timestamp.replace(second=0, microsecond=0)
                seen[minute] = seen.get(minute, 0) + 1
                if seen[minute] <= answered:
                    line = line.model_copy(update={"text": NOT_STARTED})
            lines.append(line)
        lines.reverse()
        update["request_lines"] = LogResult(query="request log", entries=tuple(lines[:request_page]),
                                            truncated=len(lines) > request_page)
    if page_cut:
        update["logs"] = LogResult(query=bundle.logs.query, entries=tuple(bundle.logs.entries[:page_cut]), truncated=True)
    return bundle.model_copy(update=update)


# situation (the evidence, the reads) -> the verdict: Cloud Run's own answers must be most of the failing requests,
# counted like with like (lines with lines, whole counts with whole counts), or the connector stays in the running.
SHARES = {
    "5 of Cloud Run's answers beside 545 other 503s, the reads whole: the connector stays in the running": (
        dict(turned_away=5, over=1), {}, Signature.INCONCLUSIVE),
    "10 of each minute's 50 503s Cloud Run's answers: the connector stays in the running": (
        dict(turned_away=10), {}, Signature.INCONCLUSIVE),
    "30 of each minute's 50 503s Cloud Run's answers: most, the secret's alone": (
        dict(turned_away=30), {}, Signature.STARTUP_CONFIG_FAILURE),
    "the request log read whole, 10 of each minute's 50 5xx lines answers: the connector stays in the running": (
        dict(turned_away=10), dict(answered=10, request_page=100_000), Signature.INCONCLUSIVE),
    "the request log read whole, every 5xx line an answer: the secret's alone": (
        dict(turned_away=50), dict(answered=50, request_page=100_000), Signature.STARTUP_CONFIG_FAILURE),
    "the request log cut at its newest 600 lines, 10 of each minute's 50 5xx answers: the connector stays": (
        dict(turned_away=10), dict(answered=10, request_page=600), Signature.INCONCLUSIVE),
    "the request log cut at its newest 600 lines, every 5xx an answer: the secret's alone": (
        dict(turned_away=50), dict(answered=50, request_page=600), Signature.STARTUP_CONFIG_FAILURE),
    "the request log sampled to a tenth, every 5xx line read an answer: lines with lines, the secret's alone": (
        dict(turned_away=5), dict(answered=5, request_page=100_000, kept=0.1), Signature.STARTUP_CONFIG_FAILURE),
    "the service read's page cut short to its last 100 s, after the metrics' newest minute, no request log read: "
    "how many not known, the connector stays": (
        dict(turned_away=50, secret_each_minute=True), dict(page_cut=90), Signature.INCONCLUSIVE),
    "the page cut short, holding 4 whole minutes of the failing window, every 5xx there an answer: counted there, "
    "the secret's alone": (
        dict(turned_away=50, secret_each_minute=True), dict(page_cut=400), Signature.STARTUP_CONFIG_FAILURE),
    "the page cut short, holding 4 whole minutes, 10 of each minute's 50 5xx answers: the connector stays": (
        dict(turned_away=10, secret_each_minute=True), dict(page_cut=90), Signature.INCONCLUSIVE),
    "the page cut short, holding 2 whole minutes, every 5xx there an answer: the secret's alone": (
        dict(turned_away=50, secret_each_minute=True), dict(page_cut=290), Signature.STARTUP_CONFIG_FAILURE),
    "the page cut short, holding 1 whole minute: too short to measure, the connector stays": (
        dict(turned_away=50, secret_each_minute=True), dict(page_cut=240), Signature.INCONCLUSIVE),
}


@pytest.mark.parametrize("shape, reads, signature", SHARES.values(), ids=SHARES.keys())
def test_cloud_runs_answers_rule_the_connector_out_only_when_they_are_most_of_the_failures(shape, reads, signature):
    bundle = with_reads(busy_connector_and_503s(secret=DESTROYED, **shape), **reads)

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action is None, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "connector_saturation" in result.competing, result.summary
        assert "startup_config_failure" in result.competing, result.summary


def test_the_connectors_ruling_out_says_what_share_of_the_failures_it_counted():
    e = busy_connector_and_503s(turned_away=50, secret=DESTROYED)
    whole = connector_saturation.evaluate(Facts(e.bundle(), S))
    lines = connector_saturation.evaluate(Facts(with_reads(e, answered=50, request_page=100_000), S))

    # as many of Cloud Run's lines as 5xx counted, in the same failing window, by either measure
    assert re.search(r"\b(\d+) of request_count's \1 5xx in \(", whole.summary), whole.summary
    assert re.search(r"\b(\d+) of the \1 request-log lines with a 5xx status read in \(", lines.summary), lines.summary
