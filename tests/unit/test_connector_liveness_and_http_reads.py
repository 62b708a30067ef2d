"""A connector busy from another service's traffic while the service's requests fail for a reason it
cannot cause, on the Cloud Run side:

- Cloud Run shut instances down after their liveness probe failed (a blocked event loop, a deadlock):
  the probe is Cloud Run's own call into the container, and the requests in flight on the instance
  waited, then ended as Cloud Run's own 503. With dial timeouts beside them (a liveness route that
  checks the database through the connector), the connector's case stands;
- the application's HTTP calls to a named host timed out reading the answer on a connection that had
  been made (urllib3's and Spring's "Read timed out"), while no dial failed: the downstream answered
  late, and new connections crossed the path. Under egress ALL_TRAFFIC too, where every call crosses
  the connector. A connect timeout, or dial timeouts beside the reads, leave the connector's case as
  it was.

Each is escalated, never scaled for."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
SYSTEM = "run.googleapis.com/varlog/system"

# Cloud Run's system-log line when it shuts an instance down after its liveness probe failed, for each
# kind of probe and count (the HTTP form as public incident notes quote it; the others by the startup
# probe's forms, UNCONFIRMED).
LIVENESS = {
    "HTTP, 3 failures": 'LIVENESS HTTP probe failed 3 times consecutively for container "quotes-1" on port 8080 '
                        'path "/healthz". The instance has been shut down.',
    "HTTP, 5 failures, another container": 'LIVENESS HTTP probe failed 5 times consecutively for container '
                                           '"api" on port 8787 path "/api/health". The instance has been shut down.',
    "gRPC, 1 failure": 'LIVENESS GRPC probe failed 1 time consecutively for container "ledger-1" on port 8080. '
                       'The instance has been shut down.',
    "TCP, 2 failures": 'LIVENESS TCP probe failed 2 times consecutively for container "worker" on port 9000. '
                       'The instance has been shut down.',
}
# Another program's words about its own probe: not Cloud Run shutting an instance down.
OTHER_PROBE = "liveness http probe failed for 127.0.0.1:8080 path /healthz"

# The application's HTTP calls, timed out (LogSignal.UPSTREAM_TIMEOUT).
READS = {
    "urllib3, a run.app host": "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='inventory-7d2kq3xq4a-uc."
                               "a.run.app', port=443): Read timed out. (read timeout=15)",
    "urllib3, an internal load balancer by address": "urllib3.exceptions.ReadTimeoutError: HTTPConnectionPool("
                                                     "host='10.20.0.5', port=80): Read timed out. (read timeout=8)",
    "Spring RestTemplate": 'org.springframework.web.client.ResourceAccessException: I/O error on GET request for '
                           '"https://pricing.internal.example/v1/quote": Read timed out',
}
CONNECTS = {
    "urllib3 connect timeout": "requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='inventory-7d2kq3xq4a-"
                               "uc.a.run.app', port=443): Max retries exceeded with url: /v2/stock (Caused by "
                               "ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f1c2a9d3e10>, "
                               "'Connection to inventory-7d2kq3xq4a-uc.a.run.app timed out. (connect timeout=15)'))",
    "Spring connect timeout": 'org.springframework.web.client.ResourceAccessException: I/O error on GET request for '
                              '"https://pricing.internal.example/v1/quote": Connect timed out',
    # Go's client timeout spans the dial too: whether the connection was made is not said.
    "Go Client.Timeout": 'Get "https://inventory-7d2kq3xq4a-uc.a.run.app/v2/stock": context deadline exceeded '
                         '(Client.Timeout exceeded while awaiting headers)',
}


def busy_connector_and_failures(p99: float, *, code: str = "503", egress: str = "ALL_TRAFFIC",
                                errors: tuple[str, ...] = (), system: str = "") -> Evidence:
    """One revision for hours, clean before; from -8m a fifth of its requests fail with `code` at a p99
    of `p99` seconds; the shared connector newly at max with CPU at 90% from -9m; Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), egress=egress).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -8, 5, 50, code=code).latency(OLD, -90, -8, 0.09).latency(OLD, -8, 5, p99)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -9, 2)
         .connector_metric("instances", -9, 5, 3).connector_metric("cpu", -90, -9, 0.2)
         .connector_metric("cpu", -9, 5, 0.9).connector_metric("bytes", -90, -9, 4e6)
         .connector_metric("bytes", -9, 5, 5e6))
    for text in errors:
        e.log(-6, text, OLD, count=20)
    if system:
        for minute in (-7, -5, -3):
            e.log(minute, system, OLD, count=2, log_id=SYSTEM, severity="ERROR")
    return e


# situation -> the verdict, the action planned, and words the summary holds
CASES = {
    **{f"liveness shutdowns ({name}), 503s after a 25 s wait: not scaled": (
        dict(p99=25.0, system=text), Signature.INCONCLUSIVE, None, "liveness probe")
       for name, text in LIVENESS.items()},
    "liveness shutdowns, 503s in 2 s, private-ranges egress: not scaled": (
        dict(p99=2.0, egress="PRIVATE_RANGES_ONLY", system=LIVENESS["HTTP, 3 failures"]), Signature.INCONCLUSIVE,
        None, "liveness probe"),
    "liveness shutdowns beside dial timeouts to the database: the connector (unchanged)": (
        dict(p99=25.0, errors=(PSYCOPG,), system=LIVENESS["HTTP, 3 failures"]), Signature.CONNECTOR_SATURATION,
        "scale_connector", ""),
    "another program's probe words, 503s after a 25 s wait: the connector (unchanged)": (
        dict(p99=25.0, system=OTHER_PROBE), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    **{f"HTTP reads timed out ({name}), all-traffic egress, 503s at 15 s: not scaled": (
        dict(p99=15.2, errors=(text,)), Signature.INCONCLUSIVE, None, "reading the answer")
       for name, text in READS.items()},
    "HTTP reads timed out on a private address, private-ranges egress, 503s at 12 s: not scaled": (
        dict(p99=12.1, egress="PRIVATE_RANGES_ONLY", errors=(READS["urllib3, an internal load balancer "
                                                                              "by address"],)),
        Signature.INCONCLUSIVE, None, "reading the answer"),
    **{f"HTTP calls timed out dialling ({name}), all-traffic egress: the connector (unchanged)": (
        dict(p99=15.2, errors=(text,)), Signature.CONNECTOR_SATURATION, "scale_connector", "")
       for name, text in CONNECTS.items()},
    "HTTP reads timed out beside connect timeouts: the connector (unchanged)": (
        dict(p99=15.2, errors=(READS["urllib3, a run.app host"], CONNECTS["urllib3 connect timeout"])),
        Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "HTTP reads timed out beside dial timeouts to the database: the connector (unchanged)": (
        dict(p99=15.2, errors=(READS["urllib3, a run.app host"], PSYCOPG)), Signature.CONNECTOR_SATURATION,
        "scale_connector", ""),
}


@pytest.mark.parametrize("shape, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_busy_connector_is_not_scaled_for_what_happens_on_the_cloud_run_side(shape, signature, action, words):
    bundle = busy_connector_and_failures(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary
