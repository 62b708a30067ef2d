"""Failed dials to a dependency other than the database right after a deploy (Memorystore, an
internal load balancer, a host over VPN, a GKE internal service): a rollback only when the deploy
changed what is dialled (an address only the new revision's env names), the path to the VPC, or
another revision served beside it cleanly in the same minutes. A dependency down, a firewall rule or
a connector at its limit fails the revision before on the same path too: the deploy competes, and a
person decides (as the same dials to the database make database_unreachable compete)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import dial_failure
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
REDIS, MOVED = "10.60.0.4", "10.60.0.9"
REDIS_PY = f"redis.exceptions.ConnectionError: Error 111 connecting to {REDIS}:6379. Connection refused."
REDIS_MOVED = f"redis.exceptions.ConnectionError: Error 110 connecting to {MOVED}:6379. Connection timed out."
REDIS_TIMEOUT = "redis.exceptions.TimeoutError: Timeout connecting to server"
GO_ILB = 'Post "https://10.128.0.20/v1/quote": dial tcp 10.128.0.20:443: i/o timeout'
NODE_VPN = "Error: connect ETIMEDOUT 192.168.10.5:8443\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"
NETTY_GKE = ("io.netty.channel.ConnectTimeoutException: connection timed out after 10000 ms: "
             "inventory.internal.example/10.20.4.7:8080")
URLLIB3 = ("requests.exceptions.ConnectionError: HTTPConnectionPool(host='10.30.0.8', port=8080): Max retries exceeded "
           "with url: /v1/rules (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at "
           "0x7f3a2c1e5d90>: Failed to establish a new connection: [Errno 113] No route to host'))")
LETTUCE = f"io.lettuce.core.RedisConnectionException: Unable to connect to redis.internal/{REDIS}:6379"
JEDIS_ALL = ("redis.clients.jedis.exceptions.JedisConnectionException: Failed to connect to any host resolved "
             "for DNS name.")
SIDECAR = "Error: connect ECONNREFUSED 127.0.0.1:4317"
OWN = "TypeError: Cannot read properties of undefined (reading 'total')"
NEW_CONNECTOR = "projects/demo-project/locations/us-central1/connectors/other-conn"


def deployed(old_env=(REDIS,), new_env=(REDIS,), lines=((REDIS_PY, 20),), *, split=None, connector=None) -> Evidence:
    """NEW replaced OLD 6 minutes ago (on the same connector and egress unless `connector`); a third
    of its requests fail with `lines` on its stderr; the connector is quiet, Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), env=old_env)
         .revision(NEW, -6, sql=(SQL,), env=new_env, **({"connector": connector} if connector else {}))
         .traffic(**(split or {NEW: 100})).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
         .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
         .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.2)
         .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1))
    if split:
        e = e.requests(OLD, -6, 5, 40).latency(OLD, -6, 5, 0.2)
    for text, count in lines:
        e = e.log(-5, text, NEW, count=count)
    return e


ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
CASES = {
    "Memorystore refuses, the deploy changed no address": ({}, ESCALATE),
    "an internal load balancer times out (Go)": ({"lines": ((GO_ILB, 20),)}, ESCALATE),
    "an on-prem host over VPN times out (Node)": ({"lines": ((NODE_VPN, 20),)}, ESCALATE),
    "Memorystore refuses a Java service (Lettuce), the deploy changed no address": (
        {"lines": ((LETTUCE, 20),)}, ESCALATE),
    "Jedis dials every address of the name and fails (no host named)": ({"lines": ((JEDIS_ALL, 20),)}, ESCALATE),
    "a GKE internal service times out (netty)": ({"lines": ((NETTY_GKE, 20),)}, ESCALATE),
    "no route to an internal host (urllib3)": ({"lines": ((URLLIB3, 20),)}, ESCALATE),
    "redis-py's connect timeout names no host": ({"lines": ((REDIS_TIMEOUT, 20),)}, ESCALATE),
    "the host in neither revision's env (a secret, the image)": ({"old_env": ("x",), "new_env": ("y",)}, ESCALATE),
    "the revision before's env from secrets only": ({"old_env": (), "new_env": (MOVED,),
                                                     "lines": ((REDIS_MOVED, 20),)}, ESCALATE),
    # The deploy changed what is dialled, or the path, or the revision before answered beside it.
    "REDIS_HOST changed by the deploy, the dials name the new one": ({"new_env": (MOVED,),
                                                                     "lines": ((REDIS_MOVED, 20),)}, ROLLBACK),
    "REDIS_HOST changed, but the dials name no host": ({"new_env": (MOVED,),
                                                       "lines": ((REDIS_TIMEOUT, 20),)}, ESCALATE),
    "the deploy moved to another connector": ({"connector": NEW_CONNECTOR}, ROLLBACK),
    "the revision before serves beside it cleanly, no failed dials": ({"split": {NEW: 50, OLD: 50}}, ROLLBACK),
    # Not a dependency across the network, or not most of the failures.
    "a sidecar on loopback refuses (no network crossed)": ({"lines": ((SIDECAR, 20), (OWN, 20))}, ROLLBACK),
    "the revision's own errors outnumber its failed dials": ({"lines": ((REDIS_PY, 5), (OWN, 30))}, ROLLBACK),
}


@pytest.mark.parametrize("kwargs, expected", CASES.values(), ids=CASES.keys())
def test_failed_dials_roll_back_only_when_the_deploy_changed_them(kwargs, expected):
    bundle = deployed(**kwargs).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_minute_the_traffic_moved_is_not_dialled_beside_the_failures():
    """OLD still served, cleanly, in the minute the traffic moved (-6 to -5), and the dials to Redis began failing
    two minutes later: that minute shows nothing of Redis in theirs, so the rollback stays held (before, OLD's
    clean minute counted as the dependency answering it, and the deploy was rolled back)."""
    e = deployed(lines=()).requests(OLD, -6, -5, 40).latency(OLD, -6, -5, 0.2).log(-3, REDIS_PY, NEW, count=20)
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == ESCALATE, result.summary


def test_the_escalation_names_the_dials_and_the_shared_path():
    result = diagnose(deployed().bundle(), S)
    said = result.model_dump_json()
    assert "cannot open connections to a dependency" in said and REDIS in said and OLD in said


LINES = {
    REDIS_PY: REDIS, REDIS_MOVED: MOVED, REDIS_TIMEOUT: "", GO_ILB: "10.128.0.20", NODE_VPN: "192.168.10.5",
    NETTY_GKE: "10.20.4.7", URLLIB3: "10.30.0.8",
    "dial tcp 10.8.1.3:9092: connect: connection refused": "10.8.1.3",
    "[ioredis] Unhandled error event: Error: connect ETIMEDOUT": "",
    "java.net.SocketTimeoutException: connect timed out": "",
    "requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='api.partner.example', port=443): Max retries "
    "exceeded with url: /v1 (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f>, "
    "'Connection to api.partner.example timed out. (connect timeout=5)'))": "api.partner.example",
    # Java clients: Lettuce's header (the InetSocketAddress as printed, resolved or not), Jedis's,
    # OkHttp's on the JVM and Android's libcore; Jedis's every-address failure names no host.
    "io.lettuce.core.RedisConnectionException: Unable to connect to cache.internal/10.60.0.4:6379":
        "cache.internal",
    "io.lettuce.core.RedisConnectionException: Unable to connect to 10.60.0.4:6379": "10.60.0.4",
    "io.lettuce.core.RedisConnectionException: Unable to connect to /10.60.0.4:6379": "10.60.0.4",
    "io.lettuce.core.RedisConnectionException: Unable to connect to cache.internal/<unresolved>:6379":
        "cache.internal",
    "redis.clients.jedis.exceptions.JedisConnectionException: Failed connecting to host 10.60.0.4:6379":
        "10.60.0.4",
    "redis.clients.jedis.exceptions.JedisConnectionException: Failed to connect to any host resolved for DNS "
    "name.": "",
    "java.net.ConnectException: Failed to connect to api.partner.example/34.117.59.81:443": "api.partner.example",
    "java.net.SocketTimeoutException: failed to connect to inventory.internal/10.9.0.7 (port 8443) from "
    "/10.0.2.16 (port 40122) after 10000ms": "inventory.internal",
    "Caused by: io.grpc.netty.shaded.io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection "
    "refused: inventory.internal/10.9.0.7:8443": "10.9.0.7",
    # Not a failed dial to a dependency across the network: loopback, the database's ports (its own
    # rules read them), a lookup (DNS_FAILURE), an answer.
    SIDECAR: None, "dial tcp [::1]:4317: connect: connection refused": None,
    "dial tcp 10.20.0.3:5432: i/o timeout": None, "Error: connect ETIMEDOUT 10.20.0.3:3307": None,
    "io.lettuce.core.RedisConnectionException: Unable to connect to localhost/<unresolved>:6379": None,
    "Unable to connect to 10.20.0.3:5432": None, "Failed connecting to host 10.20.0.3:3306": None,
    "java.net.ConnectException: Failed to connect to /127.0.0.1:8080": None,
    "java.net.ConnectException: Failed to connect to sql.internal/10.20.0.3:1433": None,
    # gRPC Java's status names no dial (a reset or a TLS failure says the same); its cause line does.
    "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception": None,
    "redis.exceptions.ConnectionError: Error -2 connecting to cache.internal:6379. Name or service not known.": None,
    'Get "http://10.30.0.8/x": dial tcp: lookup rules.internal on 169.254.169.254:53: no such host': None,
    "aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', url=URL('https://x.example')":
        None,
    OWN: None,
}


@pytest.mark.parametrize("text, host", LINES.items())
def test_the_host_a_failed_dial_names(text, host):
    assert dial_failure(text) == host
