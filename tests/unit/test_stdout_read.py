"""What of a service's stdout reaches the diagnosis: a database line written as the common loggers
write it (a plain line with no severity, pino's and zap's and slog's `msg`, .NET's `Message`, an error
in its own key) is asked for server side and read with its text and level; a chatty INFO line is not.
Judged by the Logging stand-in's parser of the query language, on entries as Cloud Run stores them."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.standins.logging import EntrySeed, _flatten, entry_from_seed, log_name_for, parse_filter
from shared.diagnosis.log_signals import (DB_ERROR_TEXTS, MAX_FILTER_CHARS, POOL_WAIT_TEXTS, STDOUT_SIGNALS,
                                          LogSignal, app_log_filter, classify, needle_restriction, stdout_needles,
                                          stdout_text_filter)
from shared.gcp.logging import record_from_entry

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
PG_REFUSAL = "sorry, too many clients already"
PGX_DIAL = ("failed to connect to `user=app database=orders`: 10.40.0.3:5432 (10.40.0.3): dial error: timeout: "
            "context deadline exceeded")


def stored(log: str = "stdout", severity: str = "DEFAULT", text: str | None = None, payload: dict | None = None):
    return entry_from_seed(EntrySeed(
        log_name=log_name_for("p", f"run.googleapis.com/{log}"), timestamp=NOW - timedelta(minutes=1),
        resource_type="cloud_run_revision", resource_labels={"service_name": "orders", "location": "us-central1"},
        severity=severity, text=text, json=payload))


def read(entry) -> bool:
    query = parse_filter(app_log_filter("p", "orders", "us-central1", NOW - timedelta(minutes=30), NOW))
    return query.matches(_flatten(entry, "p"))


# How each logger writes one line to stdout, and so what Cloud Run stores (docs/signatures.md, "How a
# line reaches the diagnosis"): {name: (textPayload, jsonPayload)} for a line holding `text`.
def written(text: str) -> dict[str, tuple[str | None, dict | None]]:
    return {
        "plain line (ASP.NET Core console, Rails)": (f"      {text}", None),
        "pino (numeric level, msg)": (None, {"level": 50, "time": 1764662400000, "pid": 1, "hostname": "h",
                                             "msg": text}),
        "zap (level word, msg, error)": (None, {"level": "error", "ts": 1764662400.5, "caller": "db/pool.go:41",
                                                "msg": "connecting to the database", "error": text}),
        "slog (level, msg, err)": (None, {"time": "2026-12-02T07:59:00Z", "level": "ERROR", "msg": "db connect",
                                          "err": text}),
        ".NET JSON console (Message, LogLevel)": (None, {"EventId": 0, "LogLevel": "Error", "Category": "Orders",
                                                         "Message": text}),
        "Google style (severity, message) at INFO": (None, {"message": text}),
        # An application's own key, at info: pino's and zap's info level, a logging.info with an extra.
        "app's own key at info (Node: dbError)": (None, {"level": "info", "msg": "query failed", "route": "/cart",
                                                          "dbError": text}),
        "app's own key at info (Python: cause)": (None, {"levelname": "INFO", "message": "retrying the query",
                                                          "attempt": 2, "cause": text}),
    }


# Loggers that keep the error's words apart from a generic message, as their docs and source write them
# (evidence.py, the comment above TEXT_KEYS): the text is searched by no needle clause, the entry is
# asked for by its level or by the key that carries the error.
def written_apart(text: str) -> dict[str, dict]:
    stack = f"error: {text}\n    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:283:98)"
    java = f"org.postgresql.util.PSQLException: FATAL: {text}\n\tat org.postgresql.core.v3.ConnectionFactoryImpl"
    return {
        "pino err object": {"level": 50, "time": 1764662400000, "pid": 1, "hostname": "h", "msg": "request failed",
                            "err": {"type": "DatabaseError", "message": text, "stack": stack}},
        "bunyan err object": {"name": "orders", "hostname": "h", "pid": 1, "level": 50, "msg": "request failed",
                              "err": {"message": text, "name": "DatabaseError", "stack": stack}, "v": 0},
        "pino err object at info": {"level": 30, "msg": "retrying", "err": {"type": "Error", "message": text,
                                                                            "stack": stack}},
        "ECS error object": {"@timestamp": "2026-12-02T07:59:00Z", "log.level": "error", "message": "request failed",
                             "error": {"type": "DatabaseError", "message": text, "stack_trace": stack}},
        "Serilog CLEF @x": {"@t": "2026-12-02T07:59:00Z", "@mt": "Request {Path} failed", "@l": "Error",
                            "@x": f"Npgsql.PostgresException (0x80004005): 53300: {text}", "Path": "/cart"},
        "Serilog CLEF @m": {"@t": "2026-12-02T07:59:00Z", "@m": text, "@i": "a1b2c3d4", "@l": "Error"},
        "logstash-logback-encoder stack_trace": {"@timestamp": "2026-12-02T07:59:00Z", "message": "Request failed",
                                                 "logger_name": "o.a.c.c.C", "level": "ERROR", "level_value": 40000,
                                                 "stack_trace": java},
        ".NET JSON console Exception": {"EventId": 0, "LogLevel": "Error", "Category": "Orders",
                                        "Message": "Request failed", "Exception": java},
        "structlog exception": {"event": "request failed", "level": "error", "timestamp": "2026-12-02T07:59:00Z",
                                "exception": f"Traceback (most recent call last):\nasyncpg.exceptions."
                                             f"TooManyConnectionsError: {text}"},
        "structlog event": {"event": text, "level": "error", "timestamp": "2026-12-02T07:59:00Z"},
        "python-json-logger exc_info": {"asctime": "2026-12-02 07:59:00", "levelname": "ERROR",
                                        "message": "request failed", "exc_info": f"Traceback (most recent call "
                                        f"last):\npsycopg2.OperationalError: {text}"},
        "Winston stack": {"level": "error", "message": "request failed", "stack": stack},
        # ecs-logging-java's EcsJsonSerializer: the level and the exception as dotted top-level keys.
        "ECS flattened error (ecs-logging-java)": {"@timestamp": "2026-12-02T07:59:00Z", "log.level": "ERROR",
                                                   "message": "Request failed", "ecs.version": "1.2.0",
                                                   "error.type": "org.postgresql.util.PSQLException",
                                                   "error.message": f"FATAL: {text}", "error.stack_trace": java},
        "ECS flattened error at info": {"@timestamp": "2026-12-02T07:59:00Z", "log.level": "INFO",
                                        "message": "retrying", "error.message": text},
        "ECS flattened stack trace alone": {"@timestamp": "2026-12-02T07:59:00Z", "log.level": "DEBUG",
                                            "message": "retrying", "error.type": "java.sql.SQLException",
                                            "error.stack_trace": java},
    }


def test_the_needles_are_one_global_restriction_of_quoted_strings():
    """Asked once, for any field (a global restriction), not once per text field: the query holds
    each needle once, quoted, and no regular expression of them."""
    query = app_log_filter("p", "orders", "us-central1", NOW - timedelta(minutes=30), NOW)
    restriction = needle_restriction(stdout_needles())
    assert restriction in query and query.count(restriction) == 1
    assert stdout_text_filter().startswith(restriction)
    assert "=~" not in stdout_text_filter()
    for needle in stdout_needles():
        assert query.count(needle.replace("\\", "\\\\").replace('"', '\\"')) == 1, needle


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.mark.parametrize("row", DB_ERROR_TEXTS + POOL_WAIT_TEXTS, ids=lambda r: r.stack)
def test_a_needle_is_whole_words_of_the_line(row):
    """Logging matches a quoted global restriction as a substring (the has operator); the SEARCH
    function matches tokens. Were a global restriction ever matched by tokens, each row's line would
    still be found: some needle's words all stand as words in it (no needle ends in a word cut short)."""
    assert any(_words(needle) <= _words(row.example) for needle in stdout_needles()), row.example


@pytest.mark.parametrize("row", DB_ERROR_TEXTS + POOL_WAIT_TEXTS, ids=lambda r: r.stack)
def test_every_database_text_is_asked_for_on_stdout_at_any_severity(row):
    """The superset: each real message the client-side patterns match is returned by the filter, in
    every form a logger writes it, with no severity Logging knows of."""
    for form, (text, payload) in written(row.example).items():
        assert read(stored(text=text, payload=payload)), form


@pytest.mark.parametrize("row", DB_ERROR_TEXTS + POOL_WAIT_TEXTS, ids=lambda r: r.stack)
def test_every_database_text_a_logger_keeps_apart_is_read_and_classified(row):
    """An error object's members, an exception's own key, a message in another logger's key: the
    entry is asked for at DEFAULT severity (its level, or the key that carries the error), and its
    text, as the adapter reads it, is classified as the message alone is."""
    expected = classify(row.example)
    for form, payload in written_apart(row.example).items():
        entry = stored(payload=payload)
        assert read(entry), form
        assert classify(record_from_entry(entry).text) >= expected, form


# A failed name lookup as each runtime prints it (log_signals, DNS_FAILURE's sources), as an application
# may log it below WARNING: a retry loop's logging.info, a pino or zap info line.
DNS_TEXTS = [
    "socket.gaierror: [Errno -3] Temporary failure in name resolution",
    "socket.gaierror: [Errno -2] Name or service not known",
    "Error: getaddrinfo ENOTFOUND payments.internal.example",
    "Error: getaddrinfo EAI_AGAIN orders-db.internal.example",
    "dial tcp: lookup orders-db.internal.example on 169.254.169.254:53: no such host",
    "Get \"https://api.example.com/v1\": dial tcp: lookup api.example.com on 169.254.169.254:53: server misbehaving",
    "dial tcp: lookup api.example.com on 169.254.169.254:53: read udp 10.8.0.2:41234->169.254.169.254:53: i/o timeout",
    "java.net.UnknownHostException: orders-db.internal.example: Name or service not known",
    "DNS resolution failed for sqladmin.googleapis.com:443: C-ares status is not ARES_SUCCESS qtype=A "
    "name=sqladmin.googleapis.com is_balancer=0: Timeout while contacting DNS servers",
]


@pytest.mark.parametrize("text", DNS_TEXTS)
def test_a_failed_name_lookup_is_asked_for_on_stdout_at_any_severity(text):
    """A lookup's failure below WARNING, in every form a logger writes it, is returned by the filter
    and, read as the adapter reads it, is a failed lookup."""
    assert LogSignal.DNS_FAILURE in classify(text)
    for form, (plain, payload) in written(text).items():
        entry = stored(text=plain, payload=payload)
        assert read(entry), form


# A Google Cloud client library's call that ran out its deadline, as each library prints it
# (log_signals, GOOGLE_API_WAIT's sources), as an application may log it below WARNING: a retry loop's
# logging.info, a pino or zap info line, a plain line with no level.
GOOGLE_API_TEXTS = [
    "google.api_core.exceptions.DeadlineExceeded: 504 Deadline Exceeded",
    "google.api_core.exceptions.RetryError: Deadline of 60.0s exceeded while calling target function, last "
    "exception: 503 failed to connect to all addresses",
    "google.api_core.exceptions.RetryError: Timeout of 60.0s exceeded, last exception: 503 failed to connect to all "
    "addresses",
    "com.google.api.gax.rpc.DeadlineExceededException: io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline "
    "exceeded after 9.96s",
]


@pytest.mark.parametrize("text", GOOGLE_API_TEXTS)
def test_a_google_api_deadline_is_asked_for_on_stdout_at_any_severity(text):
    """A Google API call's deadline below WARNING, in every form a logger writes it, is returned by the
    filter and, read as the adapter reads it, is a wait on a Google API."""
    assert LogSignal.GOOGLE_API_WAIT in classify(text)
    assert any(_words(needle) <= _words(text) for needle in stdout_needles()), text
    for form, (plain, payload) in written(text).items():
        entry = stored(text=plain, payload=payload)
        assert read(entry), form
        assert LogSignal.GOOGLE_API_WAIT in classify(record_from_entry(entry).text), form


# Cloud Run's own request-log texts for requests it failed itself (log_signals.PLATFORM_REQUEST_TEXTS;
# Cloud Run's troubleshooting page, docs.cloud.google.com/run/docs/troubleshooting), as the request log stores
# them: a textPayload beside the request's httpRequest, at the status's severity.
PLATFORM_TEXTS = [
    ("The request failed because either the HTTP response was malformed or connection to the instance had an "
     "error.", "ERROR", None),
    ("The request has been terminated because it has reached the maximum request timeout.", "ERROR", None),
    ("The request was aborted because there was no available instance.", "WARNING", LogSignal.NO_INSTANCE),
    ("The request failed because the instance failed the readiness check.", "ERROR", LogSignal.STARTUP_FAILURE),
    ("The request failed because the instance could not start successfully.", "ERROR", LogSignal.STARTUP_FAILURE),
]


@pytest.mark.parametrize("text, severity, signal", PLATFORM_TEXTS)
def test_cloud_runs_own_request_texts_are_read(text, severity, signal):
    """Each of Cloud Run's own texts on a request it failed is read from the request log, and the
    startup ones are startup failures (bad_revision's evidence of a revision that cannot start)."""
    assert read(stored(log="requests", severity=severity, text=text)), text
    if signal is not None:
        assert signal in classify(text)


def test_a_plain_failed_request_is_not_read():
    """A 5xx the application answered itself has no text of Cloud Run's: request_count counts it."""
    assert not read(stored(log="requests", severity="ERROR", text=None))


@pytest.mark.parametrize("row", DB_ERROR_TEXTS + POOL_WAIT_TEXTS, ids=lambda r: r.stack)
def test_an_error_in_an_applications_own_key_is_read_and_classified(row):
    """An application's own key (`dbError`, `cause`) at info: asked for by the global restriction, and
    read into the entry's text by the adapter, classified as the message alone is."""
    expected = classify(row.example)
    for form, (text, payload) in written(row.example).items():
        if form.startswith("app's own key"):
            entry = stored(text=text, payload=payload)
            assert read(entry), form
            assert classify(record_from_entry(entry).text) >= expected, form


def test_the_filter_asks_for_every_pattern_of_the_signals_it_serves():
    """Each alternative of each pattern has its needle: a line the pattern matches holds it."""
    lowered = [n.lower() for n in stdout_needles()]
    from shared.diagnosis.log_signals import _PATTERNS, _anchors
    for signal in STDOUT_SIGNALS:
        for pattern in _PATTERNS[signal]:
            for anchor in _anchors(pattern):
                assert any(n in anchor for n in lowered), (signal, pattern)


@pytest.mark.parametrize("text, payload", [
    ("GET /cart 200 12ms", None),
    (None, {"level": 30, "msg": "request completed", "responseTime": 12}),
    (None, {"level": "info", "msg": "served", "path": "/cart"}),
    (None, {"LogLevel": "Information", "Message": "Request finished HTTP/1.1 GET /cart - 200"}),
    (None, {"@t": "2026-12-02T07:59:00Z", "@mt": "HTTP {Method} {Path} responded {Status}", "Status": 200}),
    (None, {"event": "request served", "level": "info", "path": "/cart"}),
    (None, {"levelname": "INFO", "message": "served /cart"}),
    # An error object's neighbours that are no error: a string `err` is searched by its needles alone.
    (None, {"level": 30, "msg": "cache miss", "err": "key not found"}),
    (None, {"@timestamp": "2026-12-02T07:59:00Z", "log.level": "INFO", "message": "GET /cart 200 12ms",
            "ecs.version": "1.2.0", "log.logger": "RequestLog"}),
    # Any key is searched now: an application's ordinary words in its own keys (a URL, a timeout setting,
    # a pool's state, a table name) are not the patterns' texts.
    (None, {"level": "info", "msg": "request completed", "url": "/v1/orders?timeout=30s&connect=1",
            "connectTimeoutMs": 5000, "pool": "connection pool ready", "db": "database orders"}),
    (None, {"levelname": "INFO", "message": "config loaded", "DB_HOST": "10.20.0.3", "DB_PORT": "5432",
            "statement_timeout": "30s", "lookup": "db.internal", "retry": "on connection refused or timeout"}),
    ("Connected to database orders at 10.20.0.3:5432 (pool size 10, connect timeout 5s)", None),
], ids=["plain", "pino info", "zap info", ".NET info", "CLEF information", "structlog info", "python-json-logger info",
        "string err at info", "ECS info", "own keys, generic words", "config at info", "plain connect line"])
def test_a_chatty_line_below_warning_is_not_read(text, payload):
    assert not read(stored(severity="DEFAULT", text=text, payload=payload))


def test_the_service_log_query_leaves_room_for_an_alerts_filter():
    """At its longest (a 30-character project, a 63-character service, a long region) the query
    leaves a quarter of Logging's limit to a log-match alert's own filter."""
    longest = app_log_filter("p" * 30, "s" * 63, "northamerica-northeast2", NOW, NOW)
    assert len(longest) <= MAX_FILTER_CHARS * 3 // 4, len(longest)
    parse_filter(longest)


# --- the entry's text and level, as the adapter reads them ------------------------------------------

@pytest.mark.parametrize("payload, text, severity", [
    ({"level": 50, "msg": PG_REFUSAL}, PG_REFUSAL, "ERROR"),
    ({"level": 40, "msg": "slow"}, "slow", "WARNING"),
    ({"level": "error", "msg": "connecting to the database", "error": PGX_DIAL},
     f"connecting to the database\n{PGX_DIAL}", "ERROR"),
    ({"level": "ERROR", "msg": "db connect", "err": PGX_DIAL}, f"db connect\n{PGX_DIAL}", "ERROR"),
    ({"LogLevel": "Critical", "Message": PG_REFUSAL}, PG_REFUSAL, "CRITICAL"),
    ({"level": "warning", "msg": PG_REFUSAL, "error": PG_REFUSAL}, PG_REFUSAL, "WARNING"),   # said once
    # Levels that do not say one thing leave the entry as Logging gave it.
    ({"level": "ERROR+2", "msg": "x"}, "x", "DEFAULT"),     # slog's level above ERROR
    ({"level": 35, "msg": "x"}, "x", "DEFAULT"),            # a custom pino level
    ({"level": 50, "message": "x"}, "x", "DEFAULT"),        # a number without pino's msg beside it
    ({"level": "notice", "msg": "x"}, "x", "DEFAULT"),
    ({"level": 50, "msg": "request failed", "err": {"type": "Error", "message": PG_REFUSAL,
                                                    "stack": f"error: {PG_REFUSAL}\n    at x"}},
     f"request failed\n{PG_REFUSAL}\nerror: {PG_REFUSAL}\n    at x", "ERROR"),
    ({"@mt": "Request {Path} failed", "@l": "Warning", "@x": "Npgsql.NpgsqlException: x"},
     "Request {Path} failed\nNpgsql.NpgsqlException: x", "WARNING"),
    ({"@m": "Request /cart failed", "@mt": "Request {Path} failed"}, "Request /cart failed", "DEFAULT"),
    ({"levelname": "CRITICAL", "message": "x", "exc_info": "Traceback"}, "x\nTraceback", "CRITICAL"),
    ({"@l": "Verbose", "@m": "x"}, "x", "DEBUG"),
    ({"level": "error", "msg": "x", "err": {"code": 3}}, "x", "ERROR"),   # no string member: nothing added
    ({"log.level": "ERROR", "message": "Request failed", "error.type": "java.sql.SQLException",
      "error.message": PG_REFUSAL, "error.stack_trace": f"java.sql.SQLException: {PG_REFUSAL}\n\tat x"},
     f"Request failed\n{PG_REFUSAL}\njava.sql.SQLException: {PG_REFUSAL}\n\tat x", "ERROR"),
    ({"log.level": "warn", "message": "x"}, "x", "WARNING"),
    # An application's own keys: read when they hold a text the service log query asks for, in key order.
    ({"level": "info", "msg": "query failed", "route": "/cart", "dbError": f"error: {PG_REFUSAL}"},
     f"query failed\nerror: {PG_REFUSAL}", "INFO"),
    ({"levelname": "INFO", "message": "retrying", "host": "10.40.0.3", "cause": PGX_DIAL, "attempt": 2},
     f"retrying\n{PGX_DIAL}", "INFO"),
    ({"level": "info", "msg": "served", "path": "/v1/connect", "dbState": "connection pool ready", "ms": 12},
     "served", "INFO"),
    # Letter case and non-ASCII text around the needle: the payload's bytes are searched without ASCII case.
    ({"level": "info", "msg": "requête échouée", "dbError": "FATAL: SORRY, TOO MANY CLIENTS ALREADY (réessai 2)"},
     "requête échouée\nFATAL: SORRY, TOO MANY CLIENTS ALREADY (réessai 2)", "INFO"),
], ids=["pino error", "pino warn", "zap error key", "slog err key", ".NET", "detail not repeated", "slog ERROR+2",
        "pino custom level", "number, no msg", "unknown word", "pino err object", "CLEF @x and @l", "CLEF @m first",
        "python-json-logger", "CLEF verbose", "object without text", "ECS flattened error", "ECS log.level",
        "own key dbError", "own key cause", "own keys without a signal's text", "own key, upper case, non-ASCII"])
def test_the_adapter_reads_the_loggers_own_text_and_level(payload, text, severity):
    record = record_from_entry(stored(payload=payload))
    assert (record.text, record.severity) == (text, severity)


def test_a_severity_logging_gave_wins_over_the_loggers_level():
    record = record_from_entry(stored(severity="WARNING", payload={"severity": "WARNING", "level": 50, "msg": "x"}))
    assert record.severity == "WARNING"


def test_a_pino_refusal_is_a_refusal_once_read():
    record = record_from_entry(stored(payload={"level": 50, "msg": f"error: {PG_REFUSAL}"}))
    assert classify(record.text) >= {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}


# The application's own HTTP client giving up on a named host, one line per _UPSTREAM_TIMEOUTS row (each
# row's source is cited there), aiohttp's with either scheme and an IPv6 literal.
UPSTREAM_TEXTS = [
    "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.paygate.example', port=443): Read timed out. "
    "(read timeout=30)",
    "HTTPConnectionPool(host='10.30.0.9', port=8080): Max retries exceeded with url: /v1 (Caused by "
    "ConnectTimeoutError(<urllib3.connection.HTTPConnection object>, 'Connection timed out'))",
    'Post "https://api.paygate.example/v2/charges": context deadline exceeded (Client.Timeout exceeded while '
    "awaiting headers)",
    "TypeError: fetch failed [cause]: ConnectTimeoutError: Connect Timeout Error (attempted address: "
    "api.paygate.example:443, timeout: 10000ms)",
    "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host https://api.paygate.example/v2",
    "aiohttp.client_exceptions.ServerTimeoutError: Connection timeout to host http://10.30.0.9:8080/v1",
    "ConnectionTimeoutError: Connection timeout to host https://[2606:4700::6810:84e5]:8443/v1",
    'org.springframework.web.client.ResourceAccessException: I/O error on GET request for '
    '"https://api.paygate.example/v2": Read timed out',
]


@pytest.mark.parametrize("text", UPSTREAM_TEXTS)
def test_an_upstream_timeout_is_asked_for_by_whole_words(text):
    """As test_a_needle_is_whole_words_of_the_line for the upstream rows: a needle ending in a word the
    line holds only cut short ("connection timeout to host http" in an https URL) would miss it under a
    token reading; the line is read and classified as an upstream's timeout."""
    assert LogSignal.UPSTREAM_TIMEOUT in classify(text)
    assert any(_words(needle) <= _words(text) for needle in stdout_needles()), text
    assert read(stored(text=text))


@pytest.mark.parametrize("text", [
    # aiohttp's words with no URL after them, or a longer word: the application's own words.
    "Connection timeout to host db-primary after 3 attempts",
    "Connection timeout to host httpbin.internal after 3 attempts",
    "Connection timeout to hosts https://api.paygate.example/v2",
    # the Cloud SQL Python connector's own call: its refresh (DB_ERROR_TEXTS), not an upstream.
    "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host https://sqladmin.googleapis.com"
    "/sql/v1beta4/projects/shop-prod/instances/orders-db/connectSettings",
])
def test_near_misses_of_aiohttps_connect_timeout_are_no_upstream(text):
    assert LogSignal.UPSTREAM_TIMEOUT not in classify(text)
