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
# A code no network failure is ever raised as, with no peer named: the server answered it (a quota, a
# refusal) or the client raised it itself over a message it received (larger than its limit). Either way
# the call crossed the path.
GRPC_GO_QUOTA = "reserve stock: rpc error: code = ResourceExhausted desc = quota exceeded for reservations"
GRPC_GO_DENIED = ("reserve stock: rpc error: code = PermissionDenied desc = caller does not have permission "
                  "inventory.reserve")
GRPC_JAVA_TOO_BIG = ("io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: gRPC message exceeds maximum size 4194304: "
                     "5242880")
GRPC_JS_QUOTA = "Error: 8 RESOURCE_EXHAUSTED: quota exceeded for reservations\n    at callErrorFromStatus (/app/x.js:1:1)"
GRPC_JS_AUTH = "Error: 16 UNAUTHENTICATED: Request had invalid authentication credentials."
GRPCIO_NOT_FOUND = ('<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.NOT_FOUND\n\tdetails = '
                    '"no such sku"\n\tdebug_error_string = "UNKNOWN: {grpc_status:5}"\n>')
# Google's client libraries over the same codes: google-api-core's GoogleAPICallError ("{code} {message}"),
# Java gax wrapping grpc-java's exception.
API_CORE_QUOTA = ("google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded for quota metric 'Read requests' "
                  "and limit 'Read requests per minute' of service 'sheets.googleapis.com'")
API_CORE_DENIED = "google.api_core.exceptions.PermissionDenied: 403 Missing or insufficient permissions."
GAX_QUOTA = ("com.google.api.gax.rpc.ResourceExhaustedException: io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: "
             "Quota exceeded.")
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
    # A code no network failure raises, whoever raised it, no peer named.
    "grpc-go's ResourceExhausted, retried for 30 s": (30.0, ((GRPC_GO_QUOTA, 20),), ESCALATE),
    "grpc-go's PermissionDenied": (3.0, ((GRPC_GO_DENIED, 20),), ESCALATE),
    "grpc-java's RESOURCE_EXHAUSTED over its own size limit": (3.0, ((GRPC_JAVA_TOO_BIG, 20),), ESCALATE),
    "grpc-js's 8 RESOURCE_EXHAUSTED": (30.0, ((GRPC_JS_QUOTA, 20),), ESCALATE),
    "grpc-js's 16 UNAUTHENTICATED": (3.0, ((GRPC_JS_AUTH, 20),), ESCALATE),
    "grpcio's NOT_FOUND without its peer": (3.0, ((GRPCIO_NOT_FOUND, 20),), ESCALATE),
    "google-api-core's 429 Quota exceeded": (30.0, ((API_CORE_QUOTA, 20),), ESCALATE),
    "google-api-core's 403 PermissionDenied": (3.0, ((API_CORE_DENIED, 20),), ESCALATE),
    "gax's ResourceExhaustedException": (30.0, ((GAX_QUOTA, 20),), ESCALATE),
    # The connector stays in play when requests also fail to cross it.
    "grpc-go's ResourceExhausted beside dial timeouts to the database": (31.0, ((GRPC_GO_QUOTA, 20), (PSYCOPG, 20)),
                                                                          SCALE),
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
    "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'https://api.partner.example/x'": "503",
    "httpx.HTTPStatusError: Client error '429 Too Many Requests' for url 'https://api.partner.example/x'": "429",
    "httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://api.partner.example/x'": "",
    # Not a downstream's 429 or 5xx: another status, the application's own 503, a dial, nothing.
    "AxiosError: Request failed with status code 404": "", "retrofit2.HttpException: HTTP 401 Unauthorized": "",
    GRPC_QUOTA: "gRPC RESOURCE_EXHAUSTED", GRPC_INTERNAL: "gRPC INTERNAL", GRPC_SHEDDING: "gRPC UNAVAILABLE",
    GRPC_JSON: "gRPC UNAVAILABLE",
    # A code no network failure is raised as, peer named or not, in each client's words.
    GRPC_GO_QUOTA: "gRPC RESOURCE_EXHAUSTED", GRPC_GO_DENIED: "gRPC PERMISSION_DENIED",
    GRPC_JAVA_TOO_BIG: "gRPC RESOURCE_EXHAUSTED", GRPC_JS_QUOTA: "gRPC RESOURCE_EXHAUSTED",
    GRPC_JS_AUTH: "gRPC UNAUTHENTICATED", GRPCIO_NOT_FOUND: "gRPC NOT_FOUND",
    GRPC_PEER.format(name="NOT_FOUND", details="no such sku", code=5): "gRPC NOT_FOUND",
    "rpc error: code = InvalidArgument desc = sku must be set": "gRPC INVALID_ARGUMENT",
    "rpc error: code = Unimplemented desc = unknown method Reserve": "gRPC UNIMPLEMENTED",
    "rpc error: code = FailedPrecondition desc = x": "gRPC FAILED_PRECONDITION",
    "rpc error: code = AlreadyExists desc = x": "gRPC ALREADY_EXISTS",
    "rpc error: code = OutOfRange desc = x": "gRPC OUT_OF_RANGE",
    "io.grpc.StatusRuntimeException: PERMISSION_DENIED: caller lacks inventory.reserve": "gRPC PERMISSION_DENIED",
    "Error: 5 NOT_FOUND: no such sku": "gRPC NOT_FOUND", "Error: 12 UNIMPLEMENTED: x": "gRPC UNIMPLEMENTED",
    API_CORE_QUOTA: "429", API_CORE_DENIED: "403", GAX_QUOTA: "gRPC RESOURCE_EXHAUSTED",
    "google.api_core.exceptions.NotFound: 404 Document not found": "404",
    # A network failure's code, or one a library raises on a broken path, with no peer named: no answer (the
    # client may have raised it itself: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, CANCELLED, UNKNOWN).
    GRPC_LOCAL: "", "rpc error: code = Unavailable desc = connection closed before server preface received": "",
    "rpc error: code = DeadlineExceeded desc = context deadline exceeded": "",
    "rpc error: code = Internal desc = stream terminated by RST_STREAM with error code: PROTOCOL_ERROR": "",
    "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception": "", "14 UNAVAILABLE: No connection established": "",
    "4 DEADLINE_EXCEEDED: Deadline exceeded": "", "rpc error: code = Canceled desc = context canceled": "",
    "google.api_core.exceptions.DeadlineExceeded: 504 Deadline Exceeded": "",
    "google.api_core.exceptions.ServiceUnavailable: 503 failed to connect to all addresses": "",
    # A number that is not its code's, or words that are no client's.
    "Error: 14 RESOURCE_EXHAUSTED: x": "", "status = StatusCode.RESOURCE_EXHAUSTEDX": "",
    "the quota is RESOURCE_EXHAUSTED for now": "",
    "shedding load: 182 requests in flight, limit 160; answering 503 Service Unavailable": "",
    REDIS_DIAL: "", OWN: "",
}


@pytest.mark.parametrize("text, status", LINES.items())
def test_the_status_a_downstream_answered(text, status):
    assert downstream_answer(text) == status
