"""Cloud Run's logs, each named once, and how Cloud Logging spells a log's name.

Cloud Run sends three kinds of log to Cloud Logging ("Logging and viewing logs in Cloud Run",
docs.cloud.google.com/run/docs/logging): request logs (services only), container logs (what the
instances write to stdout and stderr, "Writing container logs") and system logs, "written to
varlog/system". The log ids below are the decoded tails of those logs' `logName`
(`projects/P/logs/run.googleapis.com%2Fstderr`): the page names the kinds and `varlog/system`; the
`run.googleapis.com/` spelling of each id is the one Logging shows and public filters use (`logName=
"projects/P/logs/run.googleapis.com%2Fvarlog%2Fsystem"`), UNCONFIRMED in the page's own text.

Imports nothing of the project: the diagnosis, the timeline, the Google adapters and the sandbox all
name the logs from here.
"""
from __future__ import annotations

from urllib.parse import quote as _url_quote
from urllib.parse import unquote

# Every request a service served, one line each, with its httpRequest (request logs).
REQUEST_LOG = "run.googleapis.com/requests"
# What the container writes to standard output and standard error (container logs).
STDOUT = "run.googleapis.com/stdout"
STDERR = "run.googleapis.com/stderr"
# Cloud Run's own lines on the instances: starts, probes, memory limits, exits (system logs).
SYSTEM_LOG = "run.googleapis.com/varlog/system"
# The application's own logs: the container's two streams.
APP_LOGS = frozenset({STDERR, STDOUT})


def log_name(project: str, log_id: str) -> str:
    """The logName of a log: the log id URL-encoded, "/" as %2F ("[LOG_ID] must be URL-encoded within
    log_name", LogEntry.log_name, google/logging/v2/log_entry.proto):
    `run.googleapis.com/requests` -> `projects/P/logs/run.googleapis.com%2Frequests`."""
    return f"projects/{project}/logs/{_url_quote(log_id, safe='')}"


def log_id_of(name: str) -> str:
    """The decoded log id of a logName (`.../logs/run.googleapis.com%2Frequests` -> `run.googleapis.com/requests`)."""
    _, sep, encoded = name.partition("/logs/")
    return unquote(encoded) if sep else name
