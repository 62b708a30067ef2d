"""Whether a gRPC service's calls are shown to succeed, beyond request_count's classes. Pure, no I/O.

gRPC carries a call's status in the trailers of an HTTP 200 response (grpc-status; grpc/grpc
doc/PROTOCOL-HTTP2.md, "Responses": Trailers -> Status). Whether Cloud Run's request_count
(response_code, response_code_class) and its request log's httpRequest.status record that status or the
HTTP 200 is not stated in any Google text found: UNCONFIRMED (envoyproxy/envoy issue #16667 shows a proxy
logging failed gRPC calls as 200). So for a gRPC service clean 2xx may be calls failing fast (UNAVAILABLE,
DEADLINE_EXCEEDED in the trailers): a latency alert whose calls now fail at once reads as `healthy`. Under
both readings `healthy` then needs more than the classes:
- a gRPC service is told by its serving revisions' ingress port named "h2c" (ContainerPort.name: "If
  specified, used to specify which protocol to use. Allowed values are "http1" and "h2c"",
  google/cloud/run_v2/types/k8s_min.py; h2c is end-to-end HTTP/2, what a gRPC server speaks), or, its port
  not so named, by its request log: Cloud Run "downgrades those requests from HTTP/2 to HTTP/1 with the
  exception of native gRPC traffic" (docs.cloud.google.com/run/docs/configuring/http2), so a gRPC server
  serves on a port named http1 or not named at all ("Although some simple gRPC features work without using
  HTTP/2, many gRPC features, such as streaming and metadata, require HTTP/2": Cloud Run, "Using gRPC",
  cloud.google.com/run/docs/triggering/grpc); and a gRPC-Web server (grpc/grpc doc/PROTOCOL-WEB.md:
  "support any HTTP/*, with no dependency on HTTP/2 specific framing"; the status "encoded as part of the
  response body", a trailer frame after the messages, so a failed call too is an HTTP 200) on any port. A
  request log line (LogRecord.request_url, user_agent: HttpRequest.request_url, .user_agent,
  google/logging/type/http_request.proto) whose path is a gRPC method's, "/" Service-Name "/" method,
  Service-Name being ?({proto package name} ".") {service name} (grpc/grpc doc/PROTOCOL-HTTP2.md,
  "Requests": Path; gRPC-Web keeps it, PROTOCOL-WEB.md listing no change to it), answered 2xx, is a gRPC
  call served (`grpc_call`) when the path is package-qualified, "/package.Service/Method", over whatever
  protocol: the line's httpRequest.protocol is not asked, gRPC-Web being HTTP/1.1 as often as HTTP/2. An
  unqualified "/Service/Method" (a .proto without a package) is as much a REST path ("/Account/Login",
  ASP.NET MVC's /Controller/Action): it is taken only from a gRPC client, one whose User-Agent is the
  structured one PROTOCOL-HTTP2.md ("User Agents") recommends, "grpc-" Language ?("-" Variant) "/" Version
  (grpc-go/1.60.0, grpc-java-netty/1.2.3, grpc-python/... grpc-c/..., an application's own name before it),
  or gRPC-Web's "grpc-web-javascript" (PROTOCOL-WEB.md, "User Agent"). A gRPC-Web call a browser sends to
  an unqualified path is not told (its line shows the browser's agent; HttpRequest has no content-type):
  such a service is taken for an HTTP one unless its port or its other calls say. A 2xx is asked for
  because a server that does not speak gRPC does not answer the call 2xx (a REST route's 404 or 405; an
  HTTP/1 server sent HTTP/2 fails): a stray gRPC probe of a REST service does not make it one. The request
  log is read on the alert path when `healthy` is judged on a share (collection.callers_may_decide: a
  latency alert's too) and by the sweep;
- the service's own log lines in the minutes judged that name a gRPC status are counted, in the forms
  servers and clients write them: go-grpc-middleware's `grpc.code` (a JSON line's key, read by the Logging
  adapter into LogRecord.grpc_code: evidence.GRPC_CODE_KEY; or grpc.code=OK in a text line), a
  `grpc-status: 14` / `grpc_status=14` header or access-log field, grpc-go's status error "rpc error: code =
  Unavailable desc = ...", grpcio's "StatusCode.UNAVAILABLE";
- a failure is a code google/rpc/code.proto maps to a 5xx or a 429 ("HTTP Mapping": UNKNOWN, INTERNAL,
  DATA_LOSS 500, UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, RESOURCE_EXHAUSTED 429), counted
  as the 5xx and 429 are against the requests (a share over the bar's keeps `healthy` back, on any
  service); the codes mapped to a 4xx (NOT_FOUND, INVALID_ARGUMENT, CANCELLED...) are neither failures nor
  OK here;
- a gRPC service is `healthy` only when its lines show at least `min_requests` calls answered OK in the
  minutes judged (the service's own word that its calls succeed); otherwise inconclusive, named.
A service that logs its OK calls only at INFO on stdout is not read as OK (the application log read takes
stdout at WARNING and above, log_signals.app_log_filter): it is escalated, not called healthy. The filter is
not widened for them: one OK line a call would crowd the newest-first page of that read (and cost each its
decoding) for every gRPC service, to turn an escalation into `healthy`; and the request log's own lines
cannot stand in for them: a call's line says HTTP 200 and INFO whatever its grpc-status (the status is in
the trailers; whether Cloud Run's line records it is UNCONFIRMED, above).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from shared.diagnosis.evidence import LogRecord, LogResult, Revision
from shared.diagnosis.facts import Window

# ContainerPort.name for end-to-end HTTP/2 (k8s_min.py, above).
H2C = "h2c"

# google/rpc/code.proto's codes by number, and those whose "HTTP Mapping" is a 5xx or 429.
_BY_NUMBER = {"0": "OK", "1": "CANCELLED", "2": "UNKNOWN", "3": "INVALIDARGUMENT", "4": "DEADLINEEXCEEDED",
              "5": "NOTFOUND", "6": "ALREADYEXISTS", "7": "PERMISSIONDENIED", "8": "RESOURCEEXHAUSTED",
              "9": "FAILEDPRECONDITION", "10": "ABORTED", "11": "OUTOFRANGE", "12": "UNIMPLEMENTED",
              "13": "INTERNAL", "14": "UNAVAILABLE", "15": "DATALOSS", "16": "UNAUTHENTICATED"}
_KNOWN = frozenset(_BY_NUMBER.values())
FAILED_CODES = frozenset({"UNKNOWN", "INTERNAL", "DATALOSS", "UNIMPLEMENTED", "UNAVAILABLE", "DEADLINEEXCEEDED",
                          "RESOURCEEXHAUSTED"})

# A gRPC status as logged: `grpc.code` (go-grpc-middleware), grpc-status / grpc_status (the trailer, an
# access log's field), grpc-go's "code = X" in "rpc error: code = X desc = ...", grpcio's StatusCode.X.
_STATUS = re.compile(r"""grpc[._-](?:code|status)["']?\s*[:=]\s*["']?([A-Za-z_]+|\d+)"""
                     r"""|rpc error: code = ([A-Za-z]+)|\bStatusCode\.([A-Z_]+)\b""")


def status_of(text: str) -> str:
    """The gRPC status a log line names, as google/rpc/code.proto's name without underscores ("UNAVAILABLE",
    "DEADLINEEXCEEDED", "OK"), or "" for none (a name no code has is none)."""
    found = _STATUS.search(text)
    if found is None:
        return ""
    return _code(next(g for g in found.groups() if g))


def _code(raw: str) -> str:
    """code.proto's name without underscores of a code as logged (a number, "Unavailable", "DEADLINE_EXCEEDED"),
    "" for none."""
    code = _BY_NUMBER.get(raw) or raw.replace("_", "").upper()
    return code if code in _KNOWN else ""


@dataclass(frozen=True)
class Statuses:
    """The gRPC statuses the lines in a window name: failures (codes mapped to a 5xx or 429), OKs, and the
    failures by code for the summary."""

    failed: int
    ok: int
    by_code: tuple[tuple[str, int], ...]


def statuses(entries: Iterable[LogRecord], window: Window) -> Statuses:
    counts: dict[str, int] = {}
    said: dict[str, str] = {}   # each distinct text read once (log_signals.per_text's reason)
    for entry in entries:
        # Every form above holds "rpc" or "StatusCode.": the regular expression runs on those lines alone. A JSON
        # line's grpc.code key is its own field (the adapter read it).
        text = entry.text
        if entry.grpc_code and window.holds(entry.timestamp):
            code = _code(entry.grpc_code)
        elif ("rpc" in text or "StatusCode." in text) and window.holds(entry.timestamp):
            if text not in said:
                said[text] = status_of(text)
            code = said[text]
        else:
            continue
        if code:
            counts[code] = counts.get(code, 0) + 1
    failed = sorted(((c, n) for c, n in counts.items() if c in FAILED_CODES), key=lambda cn: -cn[1])
    return Statuses(failed=sum(n for _, n in failed), ok=counts.get("OK", 0), by_code=tuple(failed))


def is_grpc(serving: Iterable[Revision]) -> bool:
    """Whether a serving revision takes end-to-end HTTP/2 (its port named h2c), as a gRPC server does."""
    return any(r.port_name == H2C for r in serving)


# A requestUrl (scheme and host, as Cloud Run writes it, or a bare path) whose path is a gRPC method's,
# /package.Service/Method or /Service/Method (PROTOCOL-HTTP2.md, above; group 2: the package, "" for none), with
# no query (a gRPC call sends none).
_CALL_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?(/((?:[A-Za-z_][A-Za-z0-9_]*\.)*)[A-Za-z_][A-Za-z0-9_]*"
                       r"/[A-Za-z_][A-Za-z0-9_]*)")
# A gRPC client's structured User-Agent, anywhere in the header ("grpc-" Language ?("-" Variant) "/" Version,
# PROTOCOL-HTTP2.md; an application may put its own name first, as grpc-go's WithUserAgent does), or gRPC-Web's
# "grpc-web-javascript" (PROTOCOL-WEB.md), as httpRequest.userAgent keeps the header. UNCONFIRMED: that Cloud
# Run's request log keeps a gRPC call's user-agent as it does an HTTP request's.
_GRPC_AGENT = re.compile(r"(?:^|[\s(])grpc-[a-z]+(?:-[a-z0-9]+)*(?:/|\s|$)")


def grpc_call(line: LogRecord) -> bool:
    """Whether a request log line is a gRPC (or gRPC-Web) call a gRPC server answered: a 2xx to a gRPC method's
    path, package-qualified, or unqualified from a gRPC client's user-agent (module docstring)."""
    status, url = line.http_status, line.request_url
    if status is None or not 200 <= status < 300 or url is None:
        return False
    path = _CALL_URL.fullmatch(url)
    return path is not None and (bool(path.group(2)) or _GRPC_AGENT.search(line.user_agent or "") is not None)


def grpc_kind(serving: Iterable[Revision], request_lines: LogResult | None) -> str:
    """Why the service is a gRPC one (its port named h2c, or gRPC calls served in its request log), "" if it is
    not shown to be. The request log's lines (up to collection.REQUEST_LINES) are matched only when the port does
    not say."""
    if is_grpc(serving):
        return f"its port is named {H2C}: end-to-end HTTP/2"
    lines = request_lines.entries if request_lines is not None else ()
    calls = [line for line in lines if grpc_call(line)]
    if not calls:
        return ""
    first = _CALL_URL.fullmatch(calls[0].request_url or "")
    method = first.group(1) if first is not None else ""
    return (f"its request log shows {len(calls)} gRPC or gRPC-Web calls answered 2xx (such as {method}), though "
            "its port is not named h2c")


def grpc_failing(found: Statuses, requests: float, error_ratio: float) -> str:
    """Why the logged gRPC failures keep `healthy` back, counted against the requests as the 5xx and 429
    are ("" if their share is within the bar's)."""
    if not found.failed or found.failed / max(requests, found.failed + found.ok, 1.0) <= error_ratio:
        return ""
    codes = ", ".join(f"{n} {c}" for c, n in found.by_code)
    return (f"its logs name {found.failed} gRPC calls failing ({codes}) against {requests:.0f} requests counted, "
            f"over the {error_ratio:.1%} allowed: a gRPC status travels in trailers of an HTTP 200, which "
            "request_count's classes may not show (UNCONFIRMED)")


def grpc_unshown(found: Statuses, min_ok: int, kind: str = f"its port is named {H2C}: end-to-end HTTP/2") -> str:
    """Why a gRPC service's clean classes do not show its calls succeed ("" if its logs show `min_ok` OK);
    `kind`: why it is a gRPC service (grpc_kind)."""
    if found.ok >= min_ok:
        return ""
    return (f"it is a gRPC service ({kind}), whose calls carry their status in "
            "trailers of an HTTP 200: request_count's classes may count a failed call as 2xx (UNCONFIRMED), and its "
            f"logs in the minutes judged show {found.ok} calls answered OK (at least {min_ok} needed)")
