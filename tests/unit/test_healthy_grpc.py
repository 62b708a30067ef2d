"""`healthy` for a gRPC service, whose calls carry their status in trailers of an HTTP 200 (grpc/grpc
doc/PROTOCOL-HTTP2.md): whether request_count's classes record it is UNCONFIRMED, so clean 2xx may be calls
failing fast. A gRPC service (its port named h2c) is `healthy` only with its OK calls logged; failures its
lines name (grpc.code, grpc-status, grpc-go's "code = X", grpcio's StatusCode.X) count as the 5xx do, on
any service; a plain HTTP service is judged as before (shared/diagnosis/grpc_calls.py). A gRPC service is
also told by its request log: a 2xx to /package.Service/Method (gRPC, or gRPC-Web over any HTTP, grpc/grpc
doc/PROTOCOL-WEB.md), or to /Service/Method from a gRPC client's user-agent.
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext, EvidenceBundle, LogRecord
from shared.diagnosis.facts import Window
from shared.diagnosis.grpc_calls import grpc_call, status_of, statuses
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at

S = DiagnosisSettings()
REV = "inventory-00031-ket"
LATENCY = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                       comparison="COMPARISON_GT", threshold=2000, policy="inventory p99 latency")

STATUS_LINES = [
    ('{"grpc.code":"Unavailable","grpc.method":"GetItem","msg":"finished call"}', "UNAVAILABLE"),
    ("level=info msg=\"finished call\" grpc.code=OK grpc.method=GetItem", "OK"),
    ("grpc.code=DeadlineExceeded grpc.service=inventory.v1.Inventory", "DEADLINEEXCEEDED"),
    ("rpc error: code = Unavailable desc = connection refused", "UNAVAILABLE"),
    ("rpc error: code = NotFound desc = no such item", "NOTFOUND"),
    ("<_InactiveRpcError of RPC that terminated with: status = StatusCode.DEADLINE_EXCEEDED", "DEADLINEEXCEEDED"),
    ("served /inventory.v1.Inventory/GetItem grpc-status: 14", "UNAVAILABLE"),
    ("access grpc_status=0 path=/inventory.v1.Inventory/GetItem", "OK"),
    ("GET /items 200 12ms", ""),
    ("grpc.code=Bogus", ""),
]


@pytest.mark.parametrize("line,code", STATUS_LINES, ids=[c[0][:40] for c in STATUS_LINES])
def test_a_lines_grpc_status_is_read_in_each_form(line, code):
    assert status_of(line) == code


def test_only_codes_mapped_to_5xx_or_429_are_failures_and_only_in_the_window():
    e = Evidence(now=5).log(1, "grpc.code=Unavailable", count=3).log(1, "grpc.code=NotFound", count=2)
    e.log(2, "grpc.code=OK", count=4).log(-3, "grpc.code=Internal", count=5)
    found = statuses(e.bundle().logs.entries, Window(at(0), at(5)))
    assert (found.failed, found.ok, found.by_code) == (3, 4, (("UNAVAILABLE", 3),))


def _inventory(port: str, lines: tuple[tuple[str, int], ...] = (), minutes: range = range(1, 5),
               requested: tuple[str, str] | None = None, json_codes: tuple[tuple[str, int], ...] = ()) -> EvidenceBundle:
    """inventory at 30 calls a minute for an hour, all counted 2xx; hanging from -12 (p99 7 s) until the
    incident, fast since; its revision's port named `port`; `lines` (text, per minute) logged in `minutes`;
    `json_codes` (grpc.code, per minute): JSON lines of zap through go-grpc-middleware, their code read by the
    adapter into `grpc_code`; `requested` (URL, user-agent): its request log read, every line so."""
    e = Evidence(now=5)
    e.revision(REV, -1800).traffic(**{REV: 100}).instances(REV, -60, 5, 3).requests(REV, -60, 5, 30)
    e.latency(REV, -60, -12, 0.1).latency(REV, -12, 0, 7.0).latency(REV, 0, 5, 0.05)
    for minute in minutes:
        for text, count in lines:
            e.log(minute, text, count=count, severity="INFO")
        for code, count in json_codes:
            e.log(minute, f"finished unary call with code {code}", count=count,
                  severity="INFO" if code == "OK" else "WARNING")
            e.logs[-count:] = [r.model_copy(update={"grpc_code": code}) for r in e.logs[-count:]]
    update: dict = {"alert": LATENCY}
    if requested is not None:
        read = e.request_log(-5)
        url, agent = requested
        update.update(callers_asked=True, request_lines=read.model_copy(update={"entries": tuple(
            r.model_copy(update={"request_url": url, "user_agent": agent}) for r in read.entries)}))
    bundle = e.bundle().model_copy(update=update)
    revisions = tuple(r.model_copy(update={"port_name": port}) for r in bundle.revisions)
    return bundle.model_copy(update={"revisions": revisions})


# A gRPC call as Cloud Run's request log shows it: the method's path (grpc/grpc doc/PROTOCOL-HTTP2.md), a gRPC
# client's structured user-agent; a gRPC-Web call from a browser (PROTOCOL-WEB.md): the same path, over HTTP/1.1
# or HTTP/2, the browser's agent.
HOST = "https://inventory-abc-uc.a.run.app"
GRPC_CALL = (f"{HOST}/inventory.v1.Inventory/GetItem", "grpc-go/1.60.0")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
GRPC_WEB_CALL = (f"{HOST}/inventory.v1.Inventory/GetItem", BROWSER)

# go-grpc-middleware's logrus interceptor with logrus' text formatter, on stderr (a textPayload line).
FAILING = ('level=warning msg="finished unary call with code Unavailable" grpc.code=Unavailable '
           'grpc.method=GetItem grpc.service=inventory.v1.Inventory', 25)
OK = ('level=info msg="finished unary call with code OK" grpc.code=OK grpc.method=GetItem '
      'grpc.service=inventory.v1.Inventory', 30)
CASES = [
    # name, bundle, healthy, words in the summary
    ("gRPC service, calls failing fast as UNAVAILABLE in 200s, logged: not healthy",
     _inventory("h2c", (FAILING, (OK[0], 5))), False, "100 UNAVAILABLE"),
    ("gRPC service, nothing logged of its calls: not healthy (the classes cannot show them)",
     _inventory("h2c"), False, "it is a gRPC service"),
    ("gRPC service, its calls logged OK since: healthy",
     _inventory("h2c", (OK,)), True, ""),
    ("gRPC service, OK calls logged but too few: not healthy",
     _inventory("h2c", ((OK[0], 1),)), False, "4 calls answered OK"),
    ("HTTP service (http1), nothing logged: healthy as before",
     _inventory("http1"), True, ""),
    ("HTTP service (no port named), nothing logged: healthy as before",
     _inventory(""), True, ""),
    ("HTTP service whose own lines name gRPC failures of its calls, over the bar: not healthy",
     _inventory("", (("rpc error: code = Unavailable desc = connection refused", 20),)), False, "80 UNAVAILABLE"),
    ("HTTP service with one gRPC failure logged (1 in 150, under the bar's 1 %): healthy",
     _inventory("", (("rpc error: code = Unavailable desc = connection refused", 1),), range(1, 2)), True, ""),
    # Its port not named h2c (Cloud Run passes native gRPC over HTTP/2 whatever the port's name): the request
    # log's path tells its calls (HttpRequest.request_url), and its user-agent an unqualified path's.
    ("gRPC service on a port named http1, calls in its request log, nothing logged of them: not healthy",
     _inventory("http1", requested=GRPC_CALL), False, "its request log shows 300 gRPC or gRPC-Web calls"),
    ("gRPC service on an unnamed port, calls in its request log, failing fast logged: not healthy",
     _inventory("", (FAILING, (OK[0], 5)), requested=GRPC_CALL), False, "100 UNAVAILABLE"),
    ("gRPC service on an unnamed port, calls in its request log, OK logged: healthy",
     _inventory("", (OK,), requested=GRPC_CALL), True, ""),
    ("HTTP service over HTTP/2, REST paths in its request log: healthy as before",
     _inventory("", requested=(f"{HOST}/api/v1/items/42", BROWSER)), True, ""),
    # gRPC-Web (PROTOCOL-WEB.md): any HTTP/*, the status in a trailer frame of the body of an HTTP 200.
    ("gRPC-Web service (browsers, HTTP/1.1 or HTTP/2), calls in its request log, nothing logged: not healthy",
     _inventory("http1", requested=GRPC_WEB_CALL), False, "/inventory.v1.Inventory/GetItem"),
    ("gRPC-Web service, calls in its request log, OK logged: healthy",
     _inventory("", (OK,), requested=GRPC_WEB_CALL), True, ""),
    # A .proto without a package: /Service/Method, taken from a gRPC client's user-agent only.
    ("gRPC service without a package, grpc-go's calls in its request log, nothing logged: not healthy",
     _inventory("", requested=(f"{HOST}/Inventory/GetItem", "inventory-sync/2.1 grpc-go/1.60.0")), False,
     "/Inventory/GetItem"),
    ("Web service, /Controller/Action paths from browsers (ASP.NET MVC's /Home/Index): healthy as before",
     _inventory("", requested=(f"{HOST}/Home/Index", BROWSER)), True, ""),
    # A JSON line's grpc.code key (zap through go-grpc-middleware), outside the text.
    ("gRPC service whose JSON lines name its calls UNAVAILABLE: not healthy, the code counted",
     _inventory("h2c", json_codes=(("Unavailable", 25), ("OK", 5))), False, "100 UNAVAILABLE"),
    ("HTTP service whose JSON lines name its own gRPC client calls failing: not healthy",
     _inventory("", json_codes=(("DeadlineExceeded", 20),)), False, "80 DEADLINEEXCEEDED"),
    ("gRPC service whose JSON lines name its calls OK: healthy",
     _inventory("h2c", json_codes=(("OK", 30),)), True, ""),
]


@pytest.mark.parametrize("name,bundle,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_a_grpc_services_clean_classes_are_not_healthy_alone(name, bundle, healthy, words):
    for traffic_judged in (True, False):
        d = diagnose(bundle, S, traffic_judged=traffic_judged)
        assert (d.signature is Signature.HEALTHY) is healthy, d.summary
        if not healthy:
            assert d.signature is Signature.INCONCLUSIVE, d.summary
            assert plan(d, bundle, S).action is None
            assert words in d.summary, d.summary
            assert any(e.about == Signature.HEALTHY.value and e.passed is False and words in e.threshold
                       for e in d.evidence)


def _line(url: str | None, status: int | None = 200, agent: str | None = None) -> LogRecord:
    return LogRecord(timestamp=at(1), log_id="run.googleapis.com/requests", http_status=status,
                     request_url=url, user_agent=agent)


QUALIFIED = f"{HOST}/inventory.v1.Inventory/GetItem"
CALL_LINES = [
    # requestUrl, status, userAgent, a gRPC call served. A package-qualified method's path answered 2xx is one
    # whatever the agent (a browser's gRPC-Web call; the protocol, HTTP/1.1 or HTTP/2, is not asked).
    (QUALIFIED, 200, None, True),
    (QUALIFIED, 200, BROWSER, True),
    (f"{HOST}/grpc.health.v1.Health/Check", 200, "grpc-go/1.60.0", True),
    ("/inventory.v1.Inventory/GetItem", 200, None, True),
    (QUALIFIED, 404, "grpc-go/1.60.0", False),
    (QUALIFIED, None, None, False),
    (f"{QUALIFIED}?x=1", 200, None, False),
    (None, 200, "grpc-go/1.60.0", False),
    # No package: a gRPC client's structured agent ("grpc-" Language ?("-" Variant) "/" Version, PROTOCOL-HTTP2.md,
    # anywhere in the header; gRPC-Web's grpc-web-javascript, PROTOCOL-WEB.md) tells it from a REST path.
    (f"{HOST}/Inventory/GetItem", 200, "grpc-go/1.60.0", True),
    (f"{HOST}/Inventory/GetItem", 200, "inventory-sync/2.1 grpc-go/1.60.0", True),
    (f"{HOST}/Inventory/GetItem", 200, "grpc-python/1.62.1 grpc-c/39.0.0 (linux; chttp2)", True),
    (f"{HOST}/Inventory/GetItem", 200, "grpc-java-netty/1.62.2", True),
    (f"{HOST}/Greeter/SayHello", 200, "grpc-web-javascript/0.1", True),
    (f"{HOST}/Inventory/GetItem", 200, None, False),
    (f"{HOST}/Home/Index", 200, BROWSER, False),
    (f"{HOST}/Inventory/GetItem", 200, "Go-http-client/2.0", False),
    (f"{HOST}/Inventory/GetItem", 200, "mygrpc-go/1.0", False),
    (f"{HOST}/Account/Login", 404, "grpc-go/1.60.0", False),
    (f"{HOST}/api/v1/items", 200, "grpc-go/1.60.0", False),
    (f"{HOST}/items/42", 200, "grpc-go/1.60.0", False),
    (f"{HOST}/v2.0/items", 200, None, False),
    (f"{HOST}/static/app.js", 200, None, False),
]


@pytest.mark.parametrize("url,status,agent,call", CALL_LINES, ids=[f"{c[0]} {c[1]} {c[2]}" for c in CALL_LINES])
def test_a_request_log_line_is_a_grpc_call_by_its_path_status_and_agent(url, status, agent, call):
    assert grpc_call(_line(url, status, agent)) is call
