"""incident_timeline: an incident's timeline over HTTP (Cloud Functions gen2, IAM-protected: deploy
it without allUsers as invoker, so only callers granted run.invoker reach it).

    GET ?incident_id=0.nrwotmyokd9n&format=json|markdown|html

400 names the parameter at fault (an incident id in the path is refused, never ignored); 404 for an incident Runwarden has no log entry of; 504 when
Cloud Logging's search did not finish and found none (never a 404: that would be a guess); 503
when Cloud Logging is unavailable or its read quota is used up (try again, Retry-After); 502
when it refuses the read. User input never causes a 500.
"""
from __future__ import annotations

import json
from typing import Any

import functions_framework

from shared.echo import quoted

PARAMETERS = ("incident_id", "format")
# The function's root: "/" at its run.app URL; with its name when a gateway passes the path on
# (UNCONFIRMED whether the cloudfunctions.net URL of a gen2 function strips the name, so both).
ROOT_PATHS = ("", "incident_timeline")
CONTENT_TYPES = {"json": "application/json", "markdown": "text/markdown; charset=utf-8",
                 "html": "text/html; charset=utf-8"}
# Every answer names a person's incident data: never stored by a cache, never sniffed as another
# type, and, should a browser ever show the JSON or Markdown as a document, nothing in it runs or
# loads and no other site frames it (the page's own headers, html_headers, replace this policy).
COMMON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}


@functions_framework.http
def incident_timeline(request) -> tuple[str, int, dict[str, str]]:
    if request.method not in ("GET", "HEAD"):
        return _error(405, "method", f"{request.method} is not allowed; use GET", {"Allow": "GET, HEAD"})
    if request.path.strip("/") not in ROOT_PATHS:
        # An id in the path is not read: answering ?incident_id= while the path names another
        # incident would show one incident's timeline under another's address.
        return _error(400, "path", f"{quoted(request.path, 80)} is not read: give the incident as ?incident_id=ID "
                                   "at the function's own URL")
    unknown = sorted(set(request.args) - set(PARAMETERS))
    if unknown:
        return _error(400, unknown[0], f"unknown parameter; use {' and '.join(PARAMETERS)}")
    for name in PARAMETERS:
        if len(request.args.getlist(name)) > 1:
            return _error(400, name, "given more than once")
    fmt = request.args.get("format", "json")
    if fmt not in CONTENT_TYPES:
        return _error(400, "format", f"must be one of {', '.join(CONTENT_TYPES)}")
    return _answer(request.args.get("incident_id", ""), fmt)


def _answer(incident_id: str, fmt: str) -> tuple[str, int, dict[str, str]]:
    # Imported here: a cold start of the other entry points never pays for these.
    from shared.config import ConfigError, load_config
    from shared.errors import PermanentError, TransientError
    from shared.timeline.builder import UnknownIncident
    from shared.timeline.live import logging_failure, read_timeline
    from shared.timeline.queries import BadInput, check_incident_id
    from shared.timeline.render import render

    try:
        incident_id = check_incident_id(incident_id)
        config = load_config()
        timeline = read_timeline(incident_id, config.project, config)
    except BadInput as exc:
        return _error(400, exc.field, str(exc).split(": ", 1)[-1])
    except ConfigError as exc:     # the deployment's fault, not the caller's
        return _error(500, "config", f"Runwarden's config cannot be used: {exc}")
    except UnknownIncident as exc:
        return _error(404, "incident_id", str(exc))
    except (TransientError, PermanentError) as exc:
        failure = logging_failure(exc)
        wait = {"Retry-After": str(failure.retry_after)} if failure.retry_after else None
        return _error(failure.status, "cloud_logging", failure.message, wait)
    headers = {"Content-Type": CONTENT_TYPES[fmt], **COMMON_HEADERS}
    if fmt == "html":
        headers.update(html_headers())
    return render(timeline, fmt), 200, headers


def html_headers() -> dict[str, str]:
    """The page's own policy (no script, nothing loaded, only its hashed style) and, which a <meta>
    policy cannot say, that no other site may frame it (clickjacking): frame-ancestors for
    browsers that read CSP, X-Frame-Options (RFC 7034) for those that do not."""
    from shared.timeline.html import FRAME_POLICY, PAGE_POLICY

    return {"Content-Security-Policy": f"{PAGE_POLICY}; {FRAME_POLICY}", "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer"}


def _error(status: int, field: str, message: str, extra: dict[str, str] | None = None) -> tuple[str, int, dict[str, Any]]:
    body = json.dumps({"error": message, "field": field, "status": status})
    return body, status, {"Content-Type": "application/json", **COMMON_HEADERS, **(extra or {})}
