"""A downstream's answers, passed on, are never the connector's: when the application's HTTP client
raises on a 429 or a 5xx a downstream answered (aiohttp's bare "429, message=...", requests', urllib3's
retries, axios, Retrofit, Spring, .NET) and those are most of its failures, the path to that downstream
carried the request and its answer, and a bigger connector changes none of them, however busy the
connector is (another service's job on a shared one) and however long the client retried. The connector
is not ruled out: it competes, and is never scaled alone on them."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import downstream_answer
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
AIOHTTP_BARE = "429, message='Too Many Requests', url=URL('https://api.partner.example/v2/quotes')"
AIOHTTP = f"aiohttp.client_exceptions.ClientResponseError: {AIOHTTP_BARE}"
REQUESTS = "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api.partner.example/x"
RETRIES = ("requests.exceptions.RetryError: HTTPSConnectionPool(host='api.partner.example', port=443): Max retries "
           "exceeded with url: /v2/quotes (Caused by ResponseError('too many 429 error responses'))")
AXIOS = "AxiosError: Request failed with status code 503\n    at settle (/app/node_modules/axios/dist/node/axios.cjs:1966:12)"
RETROFIT = "retrofit2.HttpException: HTTP 429 Too Many Requests"
SPRING = "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable: [no body]"
WEBCLIENT = ("org.springframework.web.reactive.function.client.WebClientResponseException$TooManyRequests: 429 Too Many "
             "Requests from GET https://api.partner.example/v2/quotes")
DOTNET = "System.Net.Http.HttpRequestException: Response status code does not indicate success: 503 (Service Unavailable)."
# grpcio's error for a status a peer sent: its debug_error_string names the peer and the peer's code.
GRPC_PEER = ('reserve stock failed: <_InactiveRpcError of RPC that terminated with:\n\tstatus = '
             'StatusCode.{name}\n\tdetails = "{details}"\n\tdebug_error_string = "UNKNOWN:Error received from peer '
             'ipv4:10.9.0.7:443 {{grpc_message:"{details}", grpc_status:{code}, '
             'created_time:"2026-12-01T21:51:04.118Z"}}"\n>')
GRPC_QUOTA = GRPC_PEER.format(name="RESOURCE_EXHAUSTED", details="quota exceeded for reservations", code=8)
GRPC_INTERNAL = GRPC_PEER.format(name="INTERNAL", details="stock ledger inconsistent", code=13)
GRPC_SHEDDING = GRPC_PEER.format(name="UNAVAILABLE", details="inventory is shedding load", code=14)
GRPC_JSON = ('{"created":"@1764625864.118","description":"Error received from peer ipv6:[fd20::7]:443","file":'
             '"src/core/lib/surface/call.cc","file_line":1069,"grpc_message":"overloaded","grpc_status":14}')
# The same codes with no peer named: a client raises them itself too (a message over its limit, a dial).
GRPC_GO_QUOTA = "reserve stock: rpc error: code = ResourceExhausted desc = quota exceeded for reservations"
GRPC_LOCAL = ('<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.UNAVAILABLE\n\tdetails = '
              '"failed to connect to all addresses; last error: UNKNOWN: ipv4:10.9.0.7:443: Failed to connect to '
              'remote host: Connection timed out"\n\tdebug_error_string = "UNKNOWN:failed to connect to all '
              'addresses {grpc_status:14, created_time:\"2026-12-01T21:51:04.118Z\"}"\n>')
OWN = "TypeError: Cannot read properties of undefined (reading 'total')"
REDIS_DIAL = "redis.exceptions.ConnectionError: Error 110 connecting to 10.60.0.4:6379. Connection timed out."


def busy_connector(p99: float, lines: tuple[tuple[str, int], ...]) -> Evidence:
    """One revision for hours; from -8m a fifth of its requests 503 with p99 at `p99` seconds; the
    connector newly at max from -9m with CPU 90%; Cloud SQL up; `lines` on its stderr."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -8, 5, 50, code="503").latency(OLD, -90, -8, 0.09).latency(OLD, -8, 5, p99).sql_up(-90, 5, 1)
         .connector(max_instances=3).connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.9)
         .connector_metric("bytes", -90, -9, 4e6).connector_metric("bytes", -9, 5, 5e6))
    for text, count in lines:
        e = e.log(-6, text, OLD, count=count)
    return e


ESCALATE = (Signature.INCONCLUSIVE, None)
SCALE = (Signature.CONNECTOR_SATURATION, "scale_connector")
CASES = {
    "aiohttp's 429 without its class name, retried for 26 s": (26.0, ((AIOHTTP_BARE, 20),), ESCALATE),
    "aiohttp's 429 with its class name": (26.0, ((AIOHTTP, 20),), ESCALATE),
    "requests' 503 Server Error": (3.0, ((REQUESTS, 20),), ESCALATE),
    "urllib3's too many 429 error responses": (31.0, ((RETRIES, 20),), ESCALATE),
    "axios' status code 503": (3.0, ((AXIOS, 20),), ESCALATE),
    "Retrofit's HTTP 429": (3.0, ((RETROFIT, 20),), ESCALATE),
    "Spring RestTemplate's 503": (3.0, ((SPRING, 20),), ESCALATE),
    "Spring WebClient's 429": (3.0, ((WEBCLIENT, 20),), ESCALATE),
    ".NET's EnsureSuccessStatusCode 503": (3.0, ((DOTNET, 20),), ESCALATE),
    # A gRPC peer's own status, as grpcio names the peer that sent it: the path carried the call.
    "grpcio's RESOURCE_EXHAUSTED received from the peer, retried for 30 s": (30.0, ((GRPC_QUOTA, 20),), ESCALATE),
    "grpcio's INTERNAL received from the peer": (3.0, ((GRPC_INTERNAL, 20),), ESCALATE),
    "grpcio's UNAVAILABLE received from the peer (its load shedding)": (30.0, ((GRPC_SHEDDING, 20),), ESCALATE),
    # The connector stays in play when requests also fail to cross it, or the answers are a few.
    "answers beside dial timeouts to the database": (31.0, ((AXIOS, 20), (PSYCOPG, 20)), SCALE),
    "answers beside failed dials to Redis": (31.0, ((AXIOS, 20), (REDIS_DIAL, 20)), SCALE),
    "answers fewer than half of the failures": (31.0, ((AXIOS, 5), (OWN, 30)), SCALE),
    "no answer logged, hanging at 31 s": (31.0, (), SCALE),
}


@pytest.mark.parametrize("p99, lines, expected", CASES.values(), ids=CASES.keys())
def test_a_downstreams_answers_never_scale_the_connector(p99, lines, expected):
    bundle = busy_connector(p99, lines).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


LINES = {
    AIOHTTP_BARE: "429", AIOHTTP: "429", REQUESTS: "503", RETRIES: "429", AXIOS: "503", RETROFIT: "429",
    SPRING: "503", WEBCLIENT: "429", DOTNET: "503",
    "429 Client Error: Too Many Requests for url: https://api.partner.example/x": "429",
    # Not a downstream's 429 or 5xx: another status, the application's own 503, a dial, nothing.
    "AxiosError: Request failed with status code 404": "", "retrofit2.HttpException: HTTP 401 Unauthorized": "",
    GRPC_QUOTA: "gRPC RESOURCE_EXHAUSTED", GRPC_INTERNAL: "gRPC INTERNAL", GRPC_SHEDDING: "gRPC UNAVAILABLE",
    GRPC_JSON: "gRPC UNAVAILABLE",
    # A gRPC code with no peer named is no answer: the client may have raised it itself.
    GRPC_GO_QUOTA: "", GRPC_LOCAL: "",
    "io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: gRPC message exceeds maximum size 4194304: 5242880": "",
    GRPC_PEER.format(name="NOT_FOUND", details="no such sku", code=5): "",
    "shedding load: 182 requests in flight, limit 160; answering 503 Service Unavailable": "",
    REDIS_DIAL: "", OWN: "",
}


@pytest.mark.parametrize("text, status", LINES.items())
def test_the_status_a_downstream_answered(text, status):
    assert downstream_answer(text) == status
