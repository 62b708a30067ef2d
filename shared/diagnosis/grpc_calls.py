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
  google/cloud/run_v2/types/k8s_min.py; h2c is end-to-end HTTP/2, what a gRPC server speaks). The request
  log's protocol and URL path (/package.Service/Method) would tell one too; Runwarden's log records keep
  neither (left);
- the service's own log lines in the minutes judged that name a gRPC status are counted, in the forms
  servers and clients write them: go-grpc-middleware's `grpc.code` ("grpc.code":"Unavailable",
  grpc.code=OK), a `grpc-status: 14` / `grpc_status=14` header or access-log field, grpc-go's status
  error "rpc error: code = Unavailable desc = ...", grpcio's "StatusCode.UNAVAILABLE";
- a failure is a code google/rpc/code.proto maps to a 5xx or a 429 ("HTTP Mapping": UNKNOWN, INTERNAL,
  DATA_LOSS 500, UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, RESOURCE_EXHAUSTED 429), counted
  as the 5xx and 429 are against the requests (a share over the bar's keeps `healthy` back, on any
  service); the codes mapped to a 4xx (NOT_FOUND, INVALID_ARGUMENT, CANCELLED...) are neither failures nor
  OK here;
- a gRPC service is `healthy` only when its lines show at least `min_requests` calls answered OK in the
  minutes judged (the service's own word that its calls succeed); otherwise inconclusive, named.
A service that logs its OK calls only at INFO on stdout is not read as OK (the application log read takes
stdout at WARNING and above, log_signals.app_log_filter): it is escalated, not called healthy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from shared.diagnosis.evidence import LogRecord, Revision
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
    raw = next(g for g in found.groups() if g)
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
    for entry in entries:
        # Every form above holds "rpc" or "StatusCode.": the regular expression runs on those lines alone.
        text = entry.text
        if ("rpc" in text or "StatusCode." in text) and window.holds(entry.timestamp):
            code = status_of(text)
            if code:
                counts[code] = counts.get(code, 0) + 1
    failed = sorted(((c, n) for c, n in counts.items() if c in FAILED_CODES), key=lambda cn: -cn[1])
    return Statuses(failed=sum(n for _, n in failed), ok=counts.get("OK", 0), by_code=tuple(failed))


def is_grpc(serving: Iterable[Revision]) -> bool:
    """Whether a serving revision takes end-to-end HTTP/2 (its port named h2c), as a gRPC server does."""
    return any(r.port_name == H2C for r in serving)


def grpc_failing(found: Statuses, requests: float, error_ratio: float) -> str:
    """Why the logged gRPC failures keep `healthy` back, counted against the requests as the 5xx and 429
    are ("" if their share is within the bar's)."""
    if not found.failed or found.failed / max(requests, found.failed + found.ok, 1.0) <= error_ratio:
        return ""
    codes = ", ".join(f"{n} {c}" for c, n in found.by_code)
    return (f"its logs name {found.failed} gRPC calls failing ({codes}) against {requests:.0f} requests counted, "
            f"over the {error_ratio:.1%} allowed: a gRPC status travels in trailers of an HTTP 200, which "
            "request_count's classes may not show (UNCONFIRMED)")


def grpc_unshown(found: Statuses, min_ok: int) -> str:
    """Why a gRPC service's clean classes do not show its calls succeed ("" if its logs show `min_ok` OK)."""
    if found.ok >= min_ok:
        return ""
    return (f"it is a gRPC service (its port is named {H2C}: end-to-end HTTP/2), whose calls carry their status in "
            "trailers of an HTTP 200: request_count's classes may count a failed call as 2xx (UNCONFIRMED), and its "
            f"logs in the minutes judged show {found.ok} calls answered OK (at least {min_ok} needed)")
