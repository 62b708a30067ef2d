"""What Runwarden looks for in logs: the queries it sends, and the strings that mean something.

Strings are the platform's and the client libraries' own (Cloud Run's troubleshooting page, psycopg/libpq, pg8000, asyncpg, SQLAlchemy and the Cloud SQL connectors), matched
case-insensitively. Each signal names its kind, so evidence can say which string matched.
"""
from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from urllib.parse import quote as _url_quote

from shared.diagnosis.evidence import LogRecord


class LogSignal(str, Enum):
    DB_CONNECTION = "db_connection_error"     # the app cannot reach its database
    CONNECTOR_503 = "connection_error_503"    # Cloud Run's 503 text for a failed connection to the instance
    REQUEST_TIMEOUT = "request_timeout"       # Cloud Run's 504 text
    NO_INSTANCE = "no_available_instance"     # Cloud Run's 429/500 text at max instances
    STARTUP_FAILURE = "startup_failure"       # probes failing, container not listening
    SECRET_FAILURE = "secret_failure"         # a secret missing or not accessible


_PATTERNS: dict[LogSignal, tuple[str, ...]] = {
    LogSignal.DB_CONNECTION: (
        r'connection to server at ".*".*failed',            # libpq (psycopg2 / psycopg 3)
        r"could not connect to server",                      # older libpq
        r"Is the server running on that host and accepting TCP/IP connections",
        r"Can't create a connection to host .* and port",    # pg8000
        r"Connect call failed \(.*, 5432\)",                 # asyncpg / asyncio
        r"ConnectionDoesNotExistError",                      # asyncpg: closed mid-operation
        r"OperationalError: the connection is closed",       # psycopg
        r"QueuePool limit of size \d+ overflow \d+ reached",  # SQLAlchemy pool exhausted
        r"dial tcp [\d.]+:3307: i/o timeout",                # Cloud SQL Auth Proxy / connectors
        r"failed to connect to instance: Dial error",
    ),
    LogSignal.CONNECTOR_503: (
        r"connection to the instance had an error",
    ),
    LogSignal.REQUEST_TIMEOUT: (
        r"reached the maximum request timeout",
    ),
    LogSignal.NO_INSTANCE: (
        r"there was no available instance",
    ),
    LogSignal.STARTUP_FAILURE: (
        r"STARTUP (TCP|HTTP|GRPC) probe failed",
        r"Container failed to start",
        r"failed to start and listen on the port",
        r"Failed to start and then listen on the port",
        r"instance failed the readiness check",
        r"could not start successfully",
    ),
    LogSignal.SECRET_FAILURE: (
        r"secret_key_ref.*was not found",
        r"Secret projects/.+ was not found",
        r"Permission denied on secret",
        r"secretmanager\.secretAccessor",
    ),
}
_COMPILED = {signal: re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
             for signal, patterns in _PATTERNS.items()}


def signals_in(entry: LogRecord) -> set[LogSignal]:
    return {signal for signal, pattern in _COMPILED.items() if pattern.search(entry.text)}


def pattern_of(signal: LogSignal) -> str:
    """The alternatives a signal matches, for evidence a person can check."""
    return " | ".join(_PATTERNS[signal])


# --- the queries ------------------------------------------------------------------------------


def log_name(project: str, log_id: str) -> str:
    return f"projects/{project}/logs/{_url_quote(log_id, safe='')}"


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# Cloud Run's own words on requests it failed itself (request log textPayload, from Cloud Run's troubleshooting page).
PLATFORM_REQUEST_TEXTS = ("connection to the instance had an error", "maximum request timeout",
                          "no available instance")


def app_log_filter(project: str, service: str, location: str, start: datetime, end: datetime,
                   alert_filter: str = "") -> str:
    """The service's own voice and the platform's: stderr, warnings on stdout, the system log, and
    the request log entries that carry Cloud Run's own failure texts (not every 5xx: those are
    counted by request_count, and would crowd the rest out of the newest-first page).

    A log-match alert's own filter joins the alternatives, still bounded to the service and the
    window, so the entries that fired the alert are read as evidence.

    Parenthesised throughout: in the Logging query language OR binds tighter than AND.
    """
    stderr = log_name(project, "run.googleapis.com/stderr")
    stdout = log_name(project, "run.googleapis.com/stdout")
    system = log_name(project, "run.googleapis.com/varlog/system")
    requests = log_name(project, "run.googleapis.com/requests")
    texts = " OR ".join(f"textPayload:{quote(t)}" for t in PLATFORM_REQUEST_TEXTS)
    return (f'resource.type="cloud_run_revision" AND resource.labels.service_name={quote(service)} '
            f'AND resource.labels.location={quote(location)} '
            f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}" '
            f'AND (logName="{stderr}" OR (logName="{stdout}" AND severity>=WARNING) OR logName="{system}" '
            f'OR (logName="{requests}" AND ({texts}))'
            + (f" OR ({alert_filter})" if alert_filter.strip() else "") + ")")


def audit_filter(project: str, service: str, location: str, start: datetime, end: datetime,
                 connector: str | None = None) -> str:
    """Admin Activity entries that changed the service (deploys and traffic changes, v1 and v2
    paths) and, given its connector, the connector's own changes (vpcaccess.googleapis.com: the
    methodName form is UNCONFIRMED, so any method naming a Connector is matched)."""
    audit = log_name(project, "cloudaudit.googleapis.com/activity")
    run = ('protoPayload.serviceName="run.googleapis.com" '
           'AND protoPayload.methodName=~"Services\\\\.(ReplaceService|UpdateService|CreateService)" '
           f'AND protoPayload.resourceName:{quote("services/" + service)}')
    which = f"({run})"
    if connector:
        vpc = ('protoPayload.serviceName="vpcaccess.googleapis.com" AND protoPayload.methodName=~"Connector" '
               f'AND protoPayload.resourceName:{quote("connectors/" + connector.rsplit("/", 1)[-1])}')
        which = f"(({run}) OR ({vpc}))"
    return (f'logName="{audit}" AND {which} '
            f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}"')
