"""What the read of the failure lines alone takes, told on the client (facts.failure_read_carries), agrees with
what Logging returns for its server-side filter (log_signals.failure_lines_filter), as the sandbox's Logging
stand-in evaluates that filter in the Logging query language, in-process.

Entries are generated over every log id a Cloud Run service writes (and one it does not) x every LogSeverity
x every text either side asks for (each needle of stdout_needles and failure_read_needles, each of Cloud Run's
request-log failure texts, as written and upper-cased) and a line that holds none. Each is a textPayload: a
line the filter takes by a JSON key alone is documented as not told on the client. The log ids are spelled
here, not imported: the test reads them as Logging stores them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sandbox.standins.logging import EntrySeed, _flatten, entry_from_seed, log_name_for, parse_filter
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import failure_read_carries
from shared.diagnosis.log_signals import (PLATFORM_REQUEST_TEXTS, app_log_filter, failure_lines_filter,
                                          failure_read_needles, stdout_needles)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
AT = NOW - timedelta(minutes=1)
LOG_IDS = ("run.googleapis.com/stderr", "run.googleapis.com/stdout", "run.googleapis.com/varlog/system",
           "run.googleapis.com/requests", "cloudaudit.googleapis.com/activity")
SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")


def _texts() -> tuple[str, ...]:
    asked = (*stdout_needles(), *failure_read_needles(), *PLATFORM_REQUEST_TEXTS)
    return ("GET /api/orders 200 in 12 ms", *(f"worker 3: {t} (pid 17)" for t in asked),
            *(f"worker 3: {t.upper()} (pid 17)" for t in asked))


TEXTS = _texts()


def _server_takes(query, log_id: str, severity: str, text: str) -> bool:
    entry = entry_from_seed(EntrySeed(
        log_name=log_name_for("p", log_id), timestamp=AT, resource_type="cloud_run_revision",
        resource_labels={"service_name": "orders", "location": "us-central1"}, severity=severity, text=text))
    return query.matches(_flatten(entry, "p"))


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("log_id", LOG_IDS)
def test_the_client_takes_what_the_filter_takes(log_id, severity):
    query = parse_filter(failure_lines_filter("p", "orders", "us-central1", NOW - timedelta(minutes=30), NOW))
    differ = [(text, server) for text in TEXTS
              if (server := _server_takes(query, log_id, severity, text))
              != failure_read_carries(LogRecord(timestamp=AT, log_id=log_id, severity=severity, text=text))]
    assert differ == [], f"{log_id} at {severity}: (text, filter takes it) where the client says otherwise: {differ[:5]}"


@pytest.mark.parametrize("log_id, severity, text, taken", [
    ("run.googleapis.com/stderr", "INFO", "GET /api/orders 200 in 12 ms", False),       # the noise
    ("run.googleapis.com/stderr", "ERROR", "GET /api/orders 200 in 12 ms", True),        # ERROR or worse
    ("run.googleapis.com/stdout", "INFO", "dial tcp 10.8.0.3:5432: i/o timeout", False),  # a needle at INFO: the page's
    ("run.googleapis.com/stdout", "DEFAULT", "dial tcp 10.8.0.3:5432: i/o timeout", True),  # a needle, no level
    ("run.googleapis.com/stdout", "WARNING", "dial tcp 10.8.0.3:5432: i/o timeout", True),  # a needle, WARNING
    ("run.googleapis.com/stderr", "DEFAULT", "[CRITICAL] WORKER TIMEOUT (pid:17)", True),  # no level, its needle
    ("run.googleapis.com/stderr", "INFO", "[CRITICAL] WORKER TIMEOUT (pid:17)", False),    # INFO: left to the page
    ("run.googleapis.com/stdout", "DEFAULT", "[CRITICAL] WORKER TIMEOUT (pid:17)", True),  # printed plain: as stderr
    ("run.googleapis.com/stdout", "INFO", "[CRITICAL] WORKER TIMEOUT (pid:17)", False),    # INFO: left to the page
    ("run.googleapis.com/stdout", "DEFAULT",
     "inventory call failed: 503 Server Error: Service Unavailable for url: https://inv-1.a.run.app/v1", True),
    ("run.googleapis.com/stdout", "DEFAULT",   # Spring WebClient's WebClientResponseException, printed plain
     "pricing call failed: 503 Service Unavailable from GET https://pricing-7a2b-uc.a.run.app/v1/price", True),
    ("run.googleapis.com/stdout", "DEFAULT",   # a chatty service's own successful call to another, printed plain
     "GET https://pricing-7a2b-uc.a.run.app/v1/price 200 OK in 35 ms", False),
    ("run.googleapis.com/stderr", "DEFAULT", "POST https://ledger-81234.us-central1.run.app/v1/entries -> 201", False),
    ("run.googleapis.com/stdout", "WARNING", "[CRITICAL] WORKER TIMEOUT (pid:17)", True),
    ("run.googleapis.com/stdout", "INFO", "max connections (10) exceeded, refusing new connection", True),  # the proxy
    ("run.googleapis.com/stdout", "DEBUG", "max connections (10) exceeded, refusing new connection", True),
    ("run.googleapis.com/varlog/system", "DEBUG", "Starting new instance. Reason: AUTOSCALING", True),  # whole
    ("run.googleapis.com/requests", "ERROR", "", False),                                  # a 5xx alone
    ("run.googleapis.com/requests", "WARNING",
     "The request was aborted because there was no available instance.", True),
    ("cloudaudit.googleapis.com/activity", "ERROR", "dial tcp 10.8.0.3:5432: i/o timeout", False),
])
def test_what_the_failure_read_takes(log_id, severity, text, taken):
    assert failure_read_carries(LogRecord(timestamp=AT, log_id=log_id, severity=severity, text=text)) is taken


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("log_id", ("run.googleapis.com/stderr", "run.googleapis.com/stdout"))
def test_the_service_read_takes_every_application_line_the_failure_read_takes(log_id, severity):
    """The failure read is made only when the service read's page came back full: a quiet service's lines are
    read by the service read alone, so a line the failure read would take (a downstream's 5xx printed plain on
    stdout) must be one the service read takes too, or it is read for a chatty service and never for a quiet one."""
    window = (NOW - timedelta(minutes=30), NOW)
    failure = parse_filter(failure_lines_filter("p", "orders", "us-central1", *window))
    service = parse_filter(app_log_filter("p", "orders", "us-central1", *window))
    missed = [text for text in TEXTS
              if _server_takes(failure, log_id, severity, text) and not _server_takes(service, log_id, severity, text)]
    assert missed == [], f"{log_id} at {severity}: the failure read takes, the service read does not: {missed[:5]}"


@pytest.mark.parametrize("log_id", ("run.googleapis.com/stderr", "run.googleapis.com/stdout"))
@pytest.mark.parametrize("text", ["GET https://pricing-7a2b-uc.a.run.app/v1/price 200 OK in 35 ms",
                                  "POST https://ledger-81234.us-central1.run.app/v1/entries -> 201 Created"])
def test_a_services_own_successful_calls_to_run_app_are_no_failure_line(log_id, text):
    """A service that calls other Cloud Run services and prints each call plain (no level: DEFAULT) writes a `.run.app`
    URL in every such line, hundreds a minute: were the host a needle, its successful calls would fill the failure
    read's page (and the service read's stdout clause) and push the refusals and failure lines off it. The needles of
    a downstream's 5xx are the clients' words for a failed answer, which a successful call never holds."""
    window = (NOW - timedelta(minutes=30), NOW)
    failure = parse_filter(failure_lines_filter("p", "orders", "us-central1", *window))
    service = parse_filter(app_log_filter("p", "orders", "us-central1", *window))
    assert not _server_takes(failure, log_id, "DEFAULT", text)
    assert log_id.endswith("stderr") or not _server_takes(service, log_id, "DEFAULT", text)
