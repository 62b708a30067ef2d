"""`healthy` for a gRPC service, whose calls carry their status in trailers of an HTTP 200 (grpc/grpc
doc/PROTOCOL-HTTP2.md): whether request_count's classes record it is UNCONFIRMED, so clean 2xx may be calls
failing fast. A gRPC service (its port named h2c) is `healthy` only with its OK calls logged; failures its
lines name (grpc.code, grpc-status, grpc-go's "code = X", grpcio's StatusCode.X) count as the 5xx do, on
any service; a plain HTTP service is judged as before (shared/diagnosis/grpc_calls.py).
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext, EvidenceBundle
from shared.diagnosis.facts import Window
from shared.diagnosis.grpc_calls import status_of, statuses
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


def _inventory(port: str, lines: tuple[tuple[str, int], ...] = (), minutes: range = range(1, 5)) -> EvidenceBundle:
    """inventory at 30 calls a minute for an hour, all counted 2xx; hanging from -12 (p99 7 s) until the
    incident, fast since; its revision's port named `port`; `lines` (text, per minute) logged in `minutes`."""
    e = Evidence(now=5)
    e.revision(REV, -1800).traffic(**{REV: 100}).instances(REV, -60, 5, 3).requests(REV, -60, 5, 30)
    e.latency(REV, -60, -12, 0.1).latency(REV, -12, 0, 7.0).latency(REV, 0, 5, 0.05)
    for minute in minutes:
        for text, count in lines:
            e.log(minute, text, count=count, severity="INFO")
    bundle = e.bundle().model_copy(update={"alert": LATENCY})
    revisions = tuple(r.model_copy(update={"port_name": port}) for r in bundle.revisions)
    return bundle.model_copy(update={"revisions": revisions})


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
