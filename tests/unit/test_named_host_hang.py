"""Requests that wait on an HTTP dependency the application names, beside a busy shared connector.
With egress PRIVATE_RANGES_ONLY only private ranges cross the connector ("Only private IP ranges
are routed through the VPC connector", Cloud Run Admin v2 VpcAccess.VpcEgress): calls that time
out on public addresses never crossed it (ruled out), and on a host name whose resolution is not
known here they may not have (it competes). A private address, egress ALL_TRAFFIC, or errors of
reaching the database keep the connector in the running as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_news import DIAL
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()


def _read_timeout(host: str) -> str:
    return (f"requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='{host}', port=443): Read timed out. "
            "(read timeout=30)")


def _connect_timeout(host: str) -> str:
    return (f"requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded "
            f"with url: /v2/charges (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at "
            f"0x7f3a9c2e1d50>, 'Connection to {host} timed out. (connect timeout=30)'))")


GO_TIMEOUT = ('Post "https://api.paygate.example/v2/charges": context deadline exceeded (Client.Timeout exceeded '
              "while awaiting headers)")


def _hang_beside_busy_connector(e: Evidence, egress: str, text: str, dials: int = 0) -> Evidence:
    """A long-running revision whose requests answer 502 after ~31 s since -12m, while another
    service's export takes the shared connector to its max instances and CPU p99 86%."""
    e = (e.revision(OLD, -300, sql=(SQL,), egress=egress).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, -12, 5, 30, code="502").latency(OLD, -90, -12, 0.4).latency(OLD, -12, 5, 31)
         .connector(max_instances=3).connector_metric("instances", -90, -12, 2)
         .connector_metric("instances", -12, 5, 3).connector_metric("cpu", -90, -12, 0.4)
         .connector_metric("cpu", -12, 5, 0.86).connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1)
         .log(-5, text, OLD, count=30))
    return e.log(-4, DIAL, OLD, count=dials) if dials else e


@pytest.mark.parametrize("case, egress, text, dials, expected", [
    ("a public host name (urllib3)", "PRIVATE_RANGES_ONLY", _read_timeout("api.paygate.example"), 0, "competes"),
    ("a public host name (Go net/http)", "PRIVATE_RANGES_ONLY", GO_TIMEOUT, 0, "competes"),
    ("a public address", "PRIVATE_RANGES_ONLY", _read_timeout("34.149.80.10"), 0, "ruled out"),
    ("the public addresses Node's fetch resolved", "PRIVATE_RANGES_ONLY",
     "TypeError: fetch failed [cause]: ConnectTimeoutError: Connect Timeout Error (attempted addresses: "
     "104.18.32.7:443, 172.64.155.9:443, timeout: 10000ms)", 0, "ruled out"),
    # aiohttp (3.10+ ConnectionTimeoutError, ServerTimeoutError before) names the request's whole URL.
    ("a public host name (aiohttp)", "PRIVATE_RANGES_ONLY",
     "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host "
     "https://api.paygate.example/v2/charges", 0, "competes"),
    ("a public address (aiohttp)", "PRIVATE_RANGES_ONLY",
     "aiohttp.client_exceptions.ServerTimeoutError: Connection timeout to host https://34.149.80.10/v2/charges",
     0, "ruled out"),
    ("a private address (aiohttp)", "PRIVATE_RANGES_ONLY",
     "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host http://10.30.0.9:8080/v1",
     0, "scaled"),
    ("a public and a private address", "PRIVATE_RANGES_ONLY",
     "TypeError: fetch failed [cause]: ConnectTimeoutError: Connect Timeout Error (attempted addresses: "
     "104.18.32.7:443, 10.30.0.9:443, timeout: 10000ms)", 0, "scaled"),
    # Dials that time out through the connector: its case stands. Reads alone that timed out on connections made,
    # with no dial failing beside them, are a late downstream's and compete whatever the host
    # (tests/unit/test_connector_liveness_and_http_reads.py).
    ("a private address: through the connector", "PRIVATE_RANGES_ONLY", _connect_timeout("10.30.0.9"), 0, "scaled"),
    # Go names an IPv6 literal in brackets, its port after them (RFC 3986 §3.2.2): the whole address is read.
    ("a public IPv6 address (Go net/http)", "PRIVATE_RANGES_ONLY",
     'Get "http://[2606:4700::6810:84e5]:8080/v1": context deadline exceeded (Client.Timeout exceeded while '
     "awaiting headers)", 0, "ruled out"),
    # Whether a connector carries IPv6 is not documented: a private IPv6 address competes, as a name does.
    ("a private IPv6 address (Go net/http)", "PRIVATE_RANGES_ONLY",
     'Get "http://[fd20:8b1e:b255:8154::5]:8080/v1": context deadline exceeded (Client.Timeout exceeded while '
     "awaiting headers)", 0, "competes"),
    ("a private address with its port (Go net/http)", "PRIVATE_RANGES_ONLY",
     'Get "http://10.30.0.9:8080/v1": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
     0, "scaled"),
    ("egress ALL_TRAFFIC: everything crosses it", "ALL_TRAFFIC", _connect_timeout("api.paygate.example"), 0,
     "scaled"),
    ("the database's dials time out too", "PRIVATE_RANGES_ONLY", _read_timeout("api.paygate.example"), 10,
     "scaled"),
])
def test_a_hang_on_a_named_http_dependency_is_not_put_on_the_connector(case, egress, text, dials, expected):
    bundle = _hang_beside_busy_connector(Evidence(), egress, text, dials).bundle()

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if expected == "scaled":
        assert result.signature is Signature.CONNECTOR_SATURATION, (case, result.summary)
        return
    assert result.signature is Signature.INCONCLUSIVE and action is None, (case, result.summary)
    assert "the requests wait on an HTTP dependency the application names" in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "upstream" not in i.query
             and "HTTP calls timed out" in i.observed]
    assert cited and cited[0].role == ("refutes" if expected == "ruled out" else "context"), cited


# Failed name lookups in the runtime's own words, whatever the name was for: a request that cannot
# resolve its host dials nothing, through the connector or elsewhere.
NODE_EAI_AGAIN = "Error: getaddrinfo EAI_AGAIN api.paygate.example"
PY_GAIERROR = ("urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPSConnection object>: Failed to "
               "resolve 'api.paygate.example' ([Errno -3] Temporary failure in name resolution)")
GO_LOOKUP = ('Post "https://api.paygate.example/v2/charges": dial tcp: lookup api.paygate.example on '
             "169.254.169.254:53: dial udp 169.254.169.254:53: i/o timeout")
JAVA_UNKNOWN = "java.net.UnknownHostException: api.paygate.example: Name or service not known"


@pytest.mark.parametrize("case, egress, text, dials, expected", [
    ("Node's getaddrinfo EAI_AGAIN", "PRIVATE_RANGES_ONLY", NODE_EAI_AGAIN, 0, "competes"),
    ("Python's gaierror -3", "PRIVATE_RANGES_ONLY", PY_GAIERROR, 0, "competes"),
    ("Go's lookup timing out on the metadata server", "PRIVATE_RANGES_ONLY", GO_LOOKUP, 0, "competes"),
    ("Java's UnknownHostException", "PRIVATE_RANGES_ONLY", JAVA_UNKNOWN, 0, "competes"),
    # Whether a lookup's packets cross the connector under ALL_TRAFFIC is not documented: it competes still.
    ("egress ALL_TRAFFIC", "ALL_TRAFFIC", NODE_EAI_AGAIN, 0, "competes"),
    ("the database's dials time out too", "PRIVATE_RANGES_ONLY", NODE_EAI_AGAIN, 10, "scaled"),
    # A driver's connection error caused by a failed lookup dialled nothing: not an error of the path.
    ("pgjdbc's connection attempt failed on an unknown host", "PRIVATE_RANGES_ONLY",
     "org.postgresql.util.PSQLException: The connection attempt failed.\n\tat org.postgresql.core.v3."
     "ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:354)\nCaused by: java.net."
     "UnknownHostException: orders-db.db.internal.example", 0, "competes"),
    ("libpq's lookup timed out", "ALL_TRAFFIC",
     'psycopg2.OperationalError: could not translate host name "orders-db.db.internal.example" to address: '
     "Temporary failure in name resolution", 0, "competes"),
])
def test_failed_name_lookups_beside_a_busy_connector_are_not_a_scale_up(case, egress, text, dials, expected):
    bundle = _hang_beside_busy_connector(Evidence(), egress, text, dials).bundle()

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if expected == "scaled":
        assert result.signature is Signature.CONNECTOR_SATURATION, (case, result.summary)
        return
    assert result.signature is Signature.INCONCLUSIVE and action is None, (case, result.summary)
    assert "the application's name lookups fail" in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "name lookups failed" in i.observed]
    assert cited and cited[0].role == "context", cited


def test_failed_name_lookups_alone_are_no_cause():
    """A long-running revision failing on name lookups with a quiet connector: nothing to act on."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), egress="PRIVATE_RANGES_ONLY").traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 60).requests(OLD, -12, 5, 30, code="500").latency(OLD, -90, 5, 0.3)
         .connector(max_instances=10).connector_metric("instances", -90, 5, 2).connector_metric("cpu", -90, 5, 0.2)
         .connector_metric("bytes", -90, 5, 2e5).sql_up(-90, 5, 1).log(-5, NODE_EAI_AGAIN, OLD, count=30))
    bundle = e.bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE and plan(result, bundle, S).action is None, result.summary


# Calls that waited on a downstream in their RPC or HTTP client's own words (log_signals.downstream_wait),
# most naming no host: where such a call went is as unknown as a host name's address.
GRPC_GO_DEADLINE = "reserve stock: rpc error: code = DeadlineExceeded desc = context deadline exceeded"
GRPCIO_DEADLINE = ('grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:\n\tstatus = '
                   'StatusCode.DEADLINE_EXCEEDED\n\tdetails = "Deadline Exceeded"\n\tdebug_error_string = '
                   '"UNKNOWN:Deadline Exceeded {grpc_status:4, created_time:\\"2026-12-03T06:00:01+00:00\\"}"\n>')


def _grpc_java(remote: str) -> str:
    return ("io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 4.999s. [closed=[], "
            f"open=[[remote_addr={remote}]]]")


@pytest.mark.parametrize("case, egress, text, dials, expected", [
    ("grpc-go's deadline, no host", "PRIVATE_RANGES_ONLY", GRPC_GO_DEADLINE, 0, "competes"),
    ("grpc-go's Unavailable, no host", "PRIVATE_RANGES_ONLY",
     'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: '
     'context deadline exceeded"', 0, "competes"),
    ("grpcio's deadline, no peer", "PRIVATE_RANGES_ONLY", GRPCIO_DEADLINE, 0, "competes"),
    ("grpc-java's deadline on a private address", "PRIVATE_RANGES_ONLY",
     _grpc_java("inventory.internal/10.9.0.7:8443"), 0, "scaled"),
    ("grpc-java's deadline on a public address", "PRIVATE_RANGES_ONLY", _grpc_java("/34.149.80.10:443"), 0,
     "ruled out"),
    # A sidecar beside the application (loopback): its upstream is unknown.
    ("grpc-java's deadline on a sidecar", "PRIVATE_RANGES_ONLY", _grpc_java("localhost/127.0.0.1:15001"), 0,
     "competes"),
    ("grpc-js's deadline on a public address", "PRIVATE_RANGES_ONLY",
     "Error: 4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s,LB pick: 0.000s,remote_addr=34.149.80.10:443",
     0, "ruled out"),
    ("Envoy's upstream timeout", "PRIVATE_RANGES_ONLY",
     "inventory answered 504: upstream request timeout", 0, "competes"),
    ("Envoy's upstream connect timeout", "PRIVATE_RANGES_ONLY",
     "rpc error: code = Unavailable desc = upstream connect error or disconnect/reset before headers. reset "
     "reason: connection timeout", 0, "competes"),
    ("undici's headers timeout", "PRIVATE_RANGES_ONLY",
     "TypeError: fetch failed [cause]: HeadersTimeoutError: Headers Timeout Error code: 'UND_ERR_HEADERS_TIMEOUT'",
     0, "competes"),
    ("the JDK HttpClient's request timeout", "PRIVATE_RANGES_ONLY",
     "java.net.http.HttpTimeoutException: request timed out", 0, "competes"),
    ("Go's HTTP/2 connection lost on a name", "PRIVATE_RANGES_ONLY",
     'Post "https://inventory.svc.shop.internal:8443/v1/reserve": http2: client connection lost', 0, "competes"),
    ("Go's response header timeout, no URL", "PRIVATE_RANGES_ONLY", "net/http: timeout awaiting response headers",
     0, "competes"),
    ("egress ALL_TRAFFIC: everything crosses it", "ALL_TRAFFIC", GRPC_GO_DEADLINE, 0, "scaled"),
    ("the database's dials time out too", "PRIVATE_RANGES_ONLY", GRPC_GO_DEADLINE, 10, "scaled"),
])
def test_a_wait_on_a_downstream_in_its_clients_words_is_not_put_on_the_connector(case, egress, text, dials,
                                                                                  expected):
    bundle = _hang_beside_busy_connector(Evidence(), egress, text, dials).bundle()

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if expected == "scaled":
        assert result.signature is Signature.CONNECTOR_SATURATION, (case, result.summary)
        return
    assert result.signature is Signature.INCONCLUSIVE and action is None, (case, result.summary)
    assert "the requests wait on " in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "calls timed out on" in i.observed]
    assert cited and cited[0].role == ("refutes" if expected == "ruled out" else "context"), cited


def test_a_google_client_librarys_deadline_is_read_as_a_google_api_wait_not_a_downstreams():
    """gax wraps gRPC's own DEADLINE_EXCEEDED: the line is the Google API's, with its own advice."""
    text = ("com.google.api.gax.rpc.DeadlineExceededException: io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: "
            "deadline exceeded after 9.96s. [closed=[], open=[[remote_addr=firestore.googleapis.com/"
            "142.250.1.95:443]]]")
    bundle = _hang_beside_busy_connector(Evidence(), "PRIVATE_RANGES_ONLY", text).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE and plan(result, bundle, S).action is None, result.summary
    assert "the requests wait on " not in result.summary, result.summary
