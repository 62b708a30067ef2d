"""A log-match filter below WARNING is held as the service's ordinary work only when it positively selects entries
that are not failures (code_filters.quiet_only): its severity selection excludes DEFAULT and every level from WARNING
up, and every other comparison reads as not about a failure. Each filter here selects failures in a form no fixed list
of words names (a payload level above WARNING, plain stdout/stderr lines, a driver's own message, a crash, a status in
another form, a latency): held before as ordinary work, so the rollback the live evidence supports (bad_revision:
backend-00002-xyz failing 60 % since its deploy) was not made. Now each takes the usual path.

Sources: Cloud Run, "Logging and viewing logs" ("Logs written directly to stdout or stderr do not have an associated
log level": such a line's severity is DEFAULT); LogSeverity (google/logging/type/log_severity.proto: DEFAULT 0 ...
WARNING 400, ERROR 500); "Logging query language" (comparisons, `=~` regular expressions, NOT and `-`); pino's
numeric levels (50 error, 60 fatal); gRPC status codes (13 INTERNAL, 14 UNAVAILABLE)."""
from __future__ import annotations

import copy
import json

import pytest

from shared.alerts.code_filters import quiet_only
from shared.alerts.present_failure import alert_hold
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR
from tests.unit.test_audit_log_match import RUN, _log_match

FAILURES = [
    # levels above WARNING written in the payload (a logger's own level key; Cloud Run maps only `severity`)
    ("a payload level critical", 'severity=DEFAULT AND jsonPayload.level="critical"'),
    ("a payload levelname CRITICAL", 'severity=DEFAULT AND jsonPayload.levelname="CRITICAL"'),
    ("a payload level emerg", 'severity=DEFAULT AND jsonPayload.level="emerg"'),
    ("pino's numeric level", "severity=DEFAULT AND jsonPayload.level>=50"),
    # plain stderr: DEFAULT, unstructured, where tracebacks land
    ("plain stderr", 'severity=DEFAULT AND logName:"run.googleapis.com%2Fstderr"'),
    # a database driver's own words
    ("could not connect", 'severity=DEFAULT AND textPayload:"could not connect to server"'),
    ("a deadlock", 'severity=INFO AND textPayload:"deadlock detected"'),
    ("too many clients", 'severity=INFO AND textPayload:"too many clients already"'),
    ("MySQL connection lost", 'severity=INFO AND textPayload:"Lost connection to MySQL server"'),
    ("server closed the connection", 'severity=INFO AND textPayload:"server closed the connection unexpectedly"'),
    # crashes
    ("SIGKILL", 'severity=DEFAULT AND textPayload:"SIGKILL"'),
    ("a segmentation fault", 'severity=DEFAULT AND textPayload:"Segmentation fault"'),
    # statuses in other forms
    ("a regular expression over 5xx", 'severity=INFO AND textPayload=~"HTTP/1.1\\" 5[0-9]{2}"'),
    ("a payload status from 499", "severity=INFO AND jsonPayload.httpStatus>=499"),
    ("gRPC INTERNAL", 'severity=INFO AND jsonPayload.grpc_code="INTERNAL"'),
    ("gRPC 14", "severity=INFO AND jsonPayload.grpc_code=14"),
    ("an audit status not OK", "severity=INFO AND protoPayload.status.code!=0"),
    # slow requests: Cloud Run's request log writes a slow 2xx at INFO
    ("a status, even 200 (held as no 5xx selected instead)", "severity=INFO AND httpRequest.status=200"),
    ("a latency from 10 s", 'severity=INFO AND httpRequest.latency>="10s"'),
    # read as not about a failure only where positively so
    ("a negated event", 'severity=INFO AND NOT jsonPayload.event="cache_warmed"'),
    ("an event other than", 'severity=INFO AND jsonPayload.event!="cache_warmed"'),
    ("a function not read", 'severity=INFO AND sample(insertId, 0.5)'),
    ("up to NOTICE, DEFAULT with it", 'severity<=NOTICE AND jsonPayload.event="cache_warmed"'),
]


@pytest.mark.parametrize("name, log_filter", FAILURES, ids=[c[0] for c in FAILURES])
def test_a_filter_not_read_as_ordinary_work_takes_the_usual_path(name, log_filter):
    assert quiet_only(f"{RUN} AND {log_filter}") == ()
    why = alert_hold(_log_match(f"{RUN} AND {log_filter}"))
    assert "below WARNING" not in why, why


@pytest.mark.parametrize("log_filter", ['severity=DEFAULT AND jsonPayload.level="error"',
                                        "severity=INFO AND jsonPayload.httpStatus>=500",
                                        'severity=INFO AND jsonPayload.grpc_code="UNAVAILABLE"'])
def test_the_same_forms_in_familiar_words_take_the_usual_path_too(log_filter):
    assert alert_hold(_log_match(f"{RUN} AND {log_filter}")) == ""


@pytest.mark.parametrize("log_filter, levels", [
    ('severity=INFO AND jsonPayload.level="info" AND jsonPayload.event="cache_warmed"', "INFO"),
    ('severity>=DEBUG AND severity<=NOTICE AND textPayload:"cache warmed"', "DEBUG, INFO, NOTICE"),
    ('severity=INFO AND logName:"run.googleapis.com%2Fstdout" AND jsonPayload.job="nightly"', "INFO"),
])
def test_a_filter_positively_selecting_ordinary_work_is_still_held(log_filter, levels):
    why = alert_hold(_log_match(f"{RUN} AND {log_filter}"))
    assert f"matched log entries below WARNING (its log-match condition's filter lets through only {levels} " in why


@pytest.mark.parametrize("log_filter, said", [
    ('-severity>=WARNING AND severity>=DEBUG AND jsonPayload.event="started"', "'-severity>=WARNING'"),
    ('NOT severity>=WARNING AND severity!=DEFAULT AND jsonPayload.event="started"', "'NOT severity>=WARNING'"),
])
def test_a_negated_severity_is_said_with_its_negation(log_filter, said):
    why = alert_hold(_log_match(f"{RUN} AND {log_filter}"))
    assert f"entries, by {said}" in why, why


QUIET = "bad_revision_logmatch_info_cache_warmed_alert"


def test_a_deadlock_printed_to_stderr_rolls_the_failing_deploy_back():
    """The scenario's failing deploy (60 % 5xx since backend-00002-xyz), alerted by a log match counting the
    deadlocks the application prints to stderr as plain text (DEFAULT): rolled back as a failure's log match is."""
    world = FastWorld(seeded_copy(QUIET, None), ANCHOR)
    document = copy.deepcopy(scenario_model(QUIET).notification(ANCHOR))
    matched = document["incident"]["condition"]["conditionMatchedLog"]
    matched["filter"] = ('resource.type="cloud_run_revision" AND resource.labels.service_name="backend" '
                         'AND severity=DEFAULT AND textPayload:"deadlock detected"')
    outcome = world.handle(event(json.dumps(document).encode(), "1"))
    assert "below WARNING" not in outcome.reason, outcome.reason
    assert world.writes() == 1, (outcome.status, outcome.reason[:300])
