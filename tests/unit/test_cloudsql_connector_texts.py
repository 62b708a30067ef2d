"""What the Cloud SQL connector libraries write when a connection fails, and what it is.

- A dial to the instance's port 3307 that timed out in the kernel, through the Python connector
  (`TimeoutError: [Errno 110] Connection timed out` under its driver helper's frame: since v1.2.4 it
  dials with `socket.create_connection` and no timer of its own) or the Java connector (the JDK's
  `java.net.ConnectException: Connection timed out` under com.google.cloud.sql.core frames): a dial
  that timed out, which a saturated connector causes (and is judged under connector_saturation's
  usual bars).
- A connector's refresh that failed: its calls to the Cloud SQL Admin API (connectSettings,
  generateEphemeralCert), before any dial (the Java connector's "Failed to create ephemeral certificate
  for the Cloud SQL instance", the Go connector's and Auth Proxy v2's "Refresh error: ... (connection
  name = ...)", the Python connector's aiohttp "Cannot connect to host sqladmin.googleapis.com:443"): an
  IAM, Admin API or quota matter, or the way to the API, never the connector's capacity. It must never scale
  the connector, even when its cause is a timeout ("context deadline exceeded", "connect timed out").
- Go's bare `context deadline exceeded` (database/sql, GORM) names neither a dial nor a query: it is
  never counted as a failed dial.
"""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, classify, dial_timed_out, refresh_failed
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
REV = "backend-00001-abc"

PY_CONNECTOR = (
    'Traceback (most recent call last):\n'
    '  File "/usr/local/lib/python3.12/site-packages/google/cloud/sql/connector/connector.py", line 390, in '
    'connect_async\n    return await self._loop.run_in_executor(None, connect_partial)\n'
    '  File "/usr/local/lib/python3.12/concurrent/futures/thread.py", line 58, in run\n'
    '    result = self.fn(*self.args, **self.kwargs)\n'
    '  File "/usr/local/lib/python3.12/site-packages/google/cloud/sql/connector/pg8000.py", line 51, in connect\n'
    '    socket.create_connection((ip_address.rstrip("."), SERVER_PROXY_PORT)),\n'
    '  File "/usr/local/lib/python3.12/socket.py", line 852, in create_connection\n    raise exceptions[0]\n'
    '  File "/usr/local/lib/python3.12/socket.py", line 837, in create_connection\n    sock.connect(sa)\n'
    "TimeoutError: [Errno 110] Connection timed out")
PY_CONNECTOR_PYMYSQL = PY_CONNECTOR.replace("connector/pg8000.py", "connector/pymysql.py")
JAVA_CONNECTOR = (
    "java.net.ConnectException: Connection timed out (Connection timed out)\n"
    "\tat java.base/java.net.PlainSocketImpl.socketConnect(Native Method)\n"
    "\tat java.base/java.net.Socket.connect(Socket.java:609)\n"
    "\tat java.base/sun.security.ssl.SSLSocketImpl.connect(SSLSocketImpl.java:289)\n"
    "\tat com.google.cloud.sql.core.Connector.connect(Connector.java:112)\n"
    "\tat com.google.cloud.sql.core.CoreSocketFactory.connect(CoreSocketFactory.java:186)")
JAVA_EPHEMERAL = ("java.lang.RuntimeException: [shop-prod:us-central1:orders-db] Failed to create ephemeral certificate "
                  "for the Cloud SQL instance.\n\tat com.google.cloud.sql.core.CloudSqlInstance.addExceptionContext("
                  "CloudSqlInstance.java:598)\nCaused by: java.net.SocketTimeoutException: connect timed out")
JAVA_METADATA = ("java.lang.RuntimeException: [shop-prod:us-central1:orders-db] Failed to update metadata for Cloud SQL "
                 "instance.")
GO_METADATA = ('failed to connect to instance: failed to get instance: Refresh error: failed to get instance metadata '
               '(connection name = "shop-prod:us-central1:orders-db"): Get "https://sqladmin.googleapis.com/sql/'
               'v1beta4/projects/shop-prod/instances/orders-db/connectSettings": context deadline exceeded')
GO_CERT_DIAL = ('Refresh error: create ephemeral cert failed (connection name = "shop-prod:us-central1:orders-db"): '
                'Post "https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/instances/orders-db:'
                'generateEphemeralCert": dial tcp 199.36.153.8:443: i/o timeout')
GO_DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
           '"shop-prod:us-central1:orders-db"): dial tcp 10.20.0.5:3307: i/o timeout')
PGX = ("failed to connect to `host=/tmp user=app database=orders`: dial error (timeout: context deadline exceeded)")
BARE_DEADLINE = "list orders: context deadline exceeded"
# the Python connector's refresh: aiohttp could not reach the Admin API (its host, port 443), nothing dialled
PY_AIOHTTP_REFUSED = ("aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host sqladmin.googleapis.com:443 "
                      "ssl:default [Connect call failed ('199.36.153.8', 443)]")
PY_AIOHTTP_TIMED_OUT = ("aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host "
                        "sqladmin.googleapis.com:443 ssl:default [Connection timed out]")
# the Python connector's refresh whose Admin API call outlasted aiohttp's timeout: aiohttp raises asyncio's
# TimeoutError with no message (cloud-sql-python-connector issue #914, Python 3.11: TimeoutError alone)
_PY_API_FRAMES = (
    '  File "/usr/local/lib/python3.11/site-packages/google/cloud/sql/connector/instance.py", line 389, in '
    '_refresh_task\n    refresh_data = await refresh_task\n                   ^^^^^^^^^^^^^^^^^^\n'
    '  File "/usr/local/lib/python3.11/site-packages/google/cloud/sql/connector/instance.py", line 313, in '
    '_perform_refresh\n    metadata = await metadata_task\n'
    '  File "/usr/local/lib/python3.11/site-packages/google/cloud/sql/connector/refresh_utils.py", line 103, in '
    '_get_metadata\n    resp = await client_session.get(url, headers=headers, raise_for_status=True)\n')
_AIOHTTP_TIMER = ('  File "/usr/local/lib/python3.11/site-packages/aiohttp/client.py", line 467, in _request\n'
                  '    with timer:\n'
                  '  File "/usr/local/lib/python3.11/site-packages/aiohttp/helpers.py", line 721, in __exit__\n'
                  '    raise asyncio.TimeoutError from None\n')
PY_API_TIMED_OUT = "Traceback (most recent call last):\n" + _PY_API_FRAMES + _AIOHTTP_TIMER + "TimeoutError"
# the asyncio logger's "Task exception was never retrieved" of the background refresh, Python 3.10: asyncio's
# own frames between the connector's (python-docs-samples issue #13181), asyncio.exceptions.TimeoutError
PY_API_TIMED_OUT_310 = (
    "Task exception was never retrieved\nfuture: <Task finished name='Task-6523' coro=<Instance._schedule_refresh."
    "<locals>._refresh_task() done, defined at /usr/local/lib/python3.10/site-packages/google/cloud/sql/connector/"
    "instance.py:378> exception=TimeoutError()>\nTraceback (most recent call last):\n"
    + _PY_API_FRAMES.replace("python3.11", "python3.10").replace(
        "    metadata = await metadata_task\n",
        "    metadata = await metadata_task\n  File \"/usr/local/lib/python3.10/asyncio/futures.py\", line 285, in "
        "__await__\n    yield self  # This tells Task to wait for completion.\n")
    + _AIOHTTP_TIMER.replace("python3.11", "python3.10") + "asyncio.exceptions.TimeoutError")
# the connector 1.7+ (client.py's CloudSQLClient), its refresh awaited by the application's connect
PY_API_TIMED_OUT_CLIENT = (
    'Traceback (most recent call last):\n  File "/app/main.py", line 40, in get_product\n'
    '    with pool.connect() as conn:\n'
    '  File "/usr/local/lib/python3.12/site-packages/google/cloud/sql/connector/connector.py", line 353, in '
    'connect_async\n    conn_info = await cache.connect_info()\n'
    '  File "/usr/local/lib/python3.12/site-packages/google/cloud/sql/connector/client.py", line 126, in '
    '_get_metadata\n    resp = await self._client.get(url, headers=headers)\n'
    + _AIOHTTP_TIMER.replace("python3.11", "python3.12") + "TimeoutError")
# an application's own aiohttp call timing out: no connector frame above aiohttp's
APP_AIOHTTP_TIMED_OUT = ('Traceback (most recent call last):\n  File "/app/pricing.py", line 18, in quote\n'
                         '    async with session.get(PRICES_URL) as resp:\n' + _AIOHTTP_TIMER + "TimeoutError")
# the connector's frames end in another exception; the timeout is a later traceback's, an aiohttp call of the
# application's own made while handling it
PY_CONNECTOR_THEN_APP_TIMEOUT = (
    "Traceback (most recent call last):\n" + _PY_API_FRAMES
    + "aiohttp.client_exceptions.ClientResponseError: 500, message='Internal Server Error'\n\n"
    "During handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n"
    '  File "/app/alerts.py", line 9, in notify\n    await session.post(HOOK_URL, json=body)\n'
    + _AIOHTTP_TIMER + "TimeoutError")
# the Python connector before 1.2.4: one timer (connector.py's asyncio.wait_for) over the refresh's wait and the
# dial to 3307 (pull request #760 removed it): neither a refresh nor a dial, by its words
PY_CONNECTOR_OLD_TIMER = (
    'Traceback (most recent call last):\n  File "/usr/local/lib/python3.9/site-packages/google/cloud/sql/'
    'connector/connector.py", line 268, in connect_async\n'
    '    raise TimeoutError(f"Connection timed out after {timeout}s")\nTimeoutError: Connection timed out after 30s')
# the Node.js connector's refresh (cloud-sql-nodejs-connector src/sqladmin-fetcher.ts)
NODE_NO_METADATA = ("CloudSQLConnectorError: Failed to find metadata on project id: shop-prod and instance id: "
                    "orders-db. Ensure network connectivity and validate the provided `instanceConnectionName` "
                    "config value\n    at SQLAdminFetcher.getInstanceMetadata (/app/node_modules/@google-cloud/"
                    "cloud-sql-connector/dist/cjs/sqladmin-fetcher.js:120:19)")
NODE_NO_EPHEMERAL = "Error: Cannot connect to instance, failed to retrieve an ephemeral certificate"
NODE_NO_CA = "CloudSQLConnectorError: Cannot connect to instance, no valid CA certificate found"
NODE_NO_TOKEN = "CloudSQLConnectorError: Failed to get access token for automatic IAM authentication."
# node-fetch's error on the connector's Admin API call (gaxios before 7), the connect to port 443 timing out
NODE_FETCH_TIMED_OUT = ("FetchError: request to https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/"
                        "instances/orders-db/connectSettings failed, reason: connect ETIMEDOUT 199.36.153.8:443")
NODE_FETCH_CERT_REFUSED = ("GaxiosError: request to https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/"
                           "instances/orders-db:generateEphemeralCert failed, reason: connect ECONNREFUSED "
                           "199.36.153.8:443")
# the Python connector's Admin API call whose connect outlasted aiohttp's connect timeout: aiohttp 3.10+'s
# ConnectionTimeoutError, ServerTimeoutError before it, "Connection timeout to host URL" (aiohttp/client.py), URL
# the connector's own (google/cloud/sql/connector/client.py)
PY_AIOHTTP_CONNECT_TIMEOUT = ("aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host "
                              "https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/instances/orders-db/"
                              "connectSettings")
PY_AIOHTTP_SERVER_TIMEOUT_CERT = ("aiohttp.client_exceptions.ServerTimeoutError: Connection timeout to host "
                                  "https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/instances/orders-db:"
                                  "generateEphemeralCert")
# the same error on another API, or on another sqladmin path (an application's own Admin API call): an upstream
PY_AIOHTTP_OTHER_API = ("aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host "
                        "https://secretmanager.googleapis.com/v1/projects/shop-prod/secrets/db-pass/versions/latest:access")
PY_AIOHTTP_SQLADMIN_BACKUPS = ("aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host "
                               "https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/instances/orders-db/"
                               "backupRuns")
# the Node.js connector: no address of the type asked for (src/ip-addresses.ts), a region its answer does not
# hold (src/sqladmin-fetcher.ts), an ephemeral certificate it cannot read (src/crypto.ts)
NODE_NO_PRIVATE_IP = "CloudSQLConnectorError: Cannot connect to instance, private Ip address not found"
NODE_NO_PUBLIC_IP = "Error: Cannot connect to instance, public Ip address not found"
NODE_NO_PSC = "CloudSQLConnectorError: Cannot connect to instance, PSC address not found"
NODE_NO_IPS = "CloudSQLConnectorError: Cannot connect to instance, it has no supported IP addresses"
NODE_NO_REGION = "CloudSQLConnectorError: Cannot connect to instance, no valid region found"
NODE_BAD_REGION = "CloudSQLConnectorError: Provided region was mismatched. Got us-east1, want us-central1"
NODE_EPH_UNREAD = "CloudSQLConnectorError: Could not read ephemeral certificate."
NODE_EPH_PARSE = "CloudSQLConnectorError: Failed to parse as X.509 certificate."
NODE_EPH_PARSE_FRAMES = ("Error: Failed to parse as X.509 certificate.\n    at parseCert (/app/node_modules/"
                         "@google-cloud/cloud-sql-connector/dist/cjs/crypto.js:61:15)")
# ENOSQLADMINRESOLVE (src/sqladmin-fetcher.ts resolveConnectSettings, connector 1.11+): an instance named by a
# DNS name whose Admin API lookup failed (the call's own error in `errors`), or answered no connection name
NODE_NO_RESOLVE = ("CloudSQLConnectorError: Failed to resolve connect settings for DNS name: orders-db.shop.example."
                   "com. Ensure network connectivity and validate the provided DNS name.\n    at SQLAdminFetcher."
                   "resolveConnectSettings (/app/node_modules/@google-cloud/cloud-sql-connector/dist/cjs/sqladmin-"
                   "fetcher.js:233:19) {\n  code: 'ENOSQLADMINRESOLVE',\n  errors: [\n    GaxiosError: request to "
                   "https://sqladmin.googleapis.com/sql/v1beta4/locations/us-central1/dns/orders-db.shop.example.com."
                   ":resolveConnectSettings failed, reason: connect ETIMEDOUT 199.36.153.8:443")
NODE_NO_RESOLVED_NAME = ("CloudSQLConnectorError: Failed to resolve connect settings for DNS name: "
                         "orders-db.shop.example.com")
# gaxios 7 and 8 on Node still fetch with node-fetch v3 (gaxios src/gaxios.ts #getFetch), whose FetchError words
# (node-fetch 3.3.2 src/index.js) the GaxiosError carries: the connector's refresh as before
NODE_GAXIOS7_TIMED_OUT = ("GaxiosError: request to https://sqladmin.googleapis.com/sql/v1beta4/projects/shop-prod/"
                          "instances/orders-db/connectSettings failed, reason: connect ETIMEDOUT 199.36.153.8:443\n"
                          "    at Gaxios._request (/app/node_modules/gaxios/build/cjs/src/gaxios.js:156:23)")
# gaxios 7 appends "?" and the serialized params whenever params and a paramsSerializer are set (gaxios
# #prepareRequest), googleapis-common sets both ({} once the path's project and instance are taken out): the URL
# node-fetch names ends in an empty query (UNCONFIRMED as logged); a query with params is read alike
NODE_GAXIOS7_EMPTY_QUERY = NODE_GAXIOS7_TIMED_OUT.replace("/connectSettings failed", "/connectSettings? failed")
NODE_FETCH_CERT_QUERY = NODE_FETCH_CERT_REFUSED.replace(":generateEphemeralCert failed",
                                                        ":generateEphemeralCert?alt=json failed")
# the Python connector given a DNS name (google/cloud/sql/connector/resolver.py DnsResolver.query_dns, called by
# connector.py connect_async before any refresh or dial): the TXT lookup failed, or no record parsed
PY_DNS_UNRESOLVED = ("Traceback (most recent call last):\n  File \"/usr/local/lib/python3.12/site-packages/dns/"
                     "resolver.py\", line 1190, in _next_request\ndns.resolver.LifetimeTimeout: The resolution "
                     "lifetime expired after 5.405 seconds: Server Do53:169.254.169.254@53 answered The DNS "
                     "operation timed out.\n\nThe above exception was the direct cause of the following exception:"
                     "\n\nTraceback (most recent call last):\n  File \"/usr/local/lib/python3.12/site-packages/"
                     "google/cloud/sql/connector/resolver.py\", line 89, in query_dns\n    raise "
                     "DnsResolutionError(f\"Unable to resolve TXT record for `{dns}`\") from e\n"
                     "google.cloud.sql.connector.exceptions.DnsResolutionError: Unable to resolve TXT record for "
                     "`orders-db.shop.example.com`")
PY_DNS_UNPARSED = ("google.cloud.sql.connector.exceptions.DnsResolutionError: Unable to parse TXT record for "
                   "`orders-db.shop.example.com` -> `v=spf1 include:_spf.google.com ~all`")
# Node's own fetch (undici) failing: "fetch failed", its cause's words naming the host at most (undici
# lib/core/connect.js onConnectTimeout); never the connector's wording, and an application's own fetch fails so
APP_FETCH_FAILED = ("TypeError: fetch failed\n    at node:internal/deps/undici/undici:13510:13\n    at async "
                    "getRates (/app/src/rates.js:14:15) {\n  [cause]: ConnectTimeoutError: Connect Timeout Error "
                    "(attempted address: api.paygate.example:443, timeout: 10000ms)")
NODE_DIAL_3307 = "Error: connect ETIMEDOUT 10.20.0.5:3307\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)"

# text -> (an error of reaching the database, a dial that timed out, a connector's refresh that failed)
TEXTS = {
    PY_CONNECTOR: (True, True, False),
    PY_CONNECTOR_PYMYSQL: (True, True, False),
    JAVA_CONNECTOR: (True, True, False),
    JAVA_EPHEMERAL: (True, False, True),
    JAVA_METADATA: (True, False, True),
    GO_METADATA: (True, False, True),
    GO_CERT_DIAL: (True, False, True),
    GO_DIAL: (True, True, False),
    PY_AIOHTTP_REFUSED: (True, False, True),
    PY_AIOHTTP_TIMED_OUT: (True, False, True),
    PGX: (True, True, False),
    # the kernel's timeout under no connector frame names no database
    "TimeoutError: [Errno 110] Connection timed out": (False, False, False),
    # the JDK's words under another library's frames (an HTTP client's) are not the database's
    "java.net.ConnectException: Connection timed out\n\tat java.base/java.net.Socket.connect(Socket.java:609)\n"
    "\tat okhttp3.internal.connection.RealConnection.connectSocket(RealConnection.kt:295)": (False, False, False),
    # Go's bare deadline: a dial or a query, the words do not say
    BARE_DEADLINE: (False, False, False),
    "context deadline exceeded": (False, False, False),
    # another application's own "Refresh error" (a token refresh) names no connection name
    "Gateway: Refresh error: token expired": (False, False, False),
    # the Python connector's Admin API call that timed out in aiohttp: a refresh, never a dial
    PY_API_TIMED_OUT: (True, False, True),
    PY_API_TIMED_OUT_310: (True, False, True),
    PY_API_TIMED_OUT_CLIENT: (True, False, True),
    # asyncio's bare TimeoutError, or aiohttp's under no connector frame, names no database
    "TimeoutError": (False, False, False),
    "asyncio.exceptions.TimeoutError": (False, False, False),
    APP_AIOHTTP_TIMED_OUT: (False, False, False),
    PY_CONNECTOR_THEN_APP_TIMEOUT: (False, False, False),
    # one timer over the refresh and the dial (before 1.2.4): neither, by its words
    PY_CONNECTOR_OLD_TIMER: (False, False, False),
    # the Node.js connector's refresh
    NODE_NO_METADATA: (True, False, True),
    NODE_NO_EPHEMERAL: (True, False, True),
    NODE_NO_CA: (True, False, True),
    NODE_NO_TOKEN: (True, False, True),
    NODE_FETCH_TIMED_OUT: (True, False, True),
    NODE_FETCH_CERT_REFUSED: (True, False, True),
    # node-fetch on another Google API: not the connector's, and its 443 is no database's dial
    "FetchError: request to https://secretmanager.googleapis.com/v1/projects/p/secrets/db-pass/versions/latest:"
    "access failed, reason: connect ETIMEDOUT 142.250.1.95:443": (False, False, False),
    # a dial that names a web port is an HTTPS (or HTTP) call's, never a database's
    "Error: connect ETIMEDOUT 142.250.1.95:443": (False, False, False),
    "dial tcp 199.36.153.8:443: i/o timeout": (False, False, False),
    'Get "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token": dial tcp '
    "169.254.169.254:80: i/o timeout": (False, False, False),
    # aiohttp's connect timeout on the Python connector's Admin API calls: a refresh, never a dial
    PY_AIOHTTP_CONNECT_TIMEOUT: (True, False, True),
    PY_AIOHTTP_SERVER_TIMEOUT_CERT: (True, False, True),
    PY_AIOHTTP_CONNECT_TIMEOUT + "?alt=json": (False, False, False),
    PY_AIOHTTP_OTHER_API: (False, False, False),
    PY_AIOHTTP_SQLADMIN_BACKUPS: (False, False, False),
    # the Node.js connector's refusals before any dial: no IP of the type (a refusal, not a refresh) ...
    NODE_NO_PRIVATE_IP: (True, False, False),
    NODE_NO_PUBLIC_IP: (True, False, False),
    NODE_NO_PSC: (True, False, False),
    NODE_NO_IPS: (True, False, False),
    # ... its refresh's answer that names no region, or another, or a certificate it cannot read
    NODE_NO_REGION: (True, False, True),
    NODE_BAD_REGION: (True, False, True),
    NODE_EPH_UNREAD: (True, False, True),
    NODE_EPH_PARSE: (True, False, True),
    NODE_EPH_PARSE_FRAMES: (True, False, True),
    # ... or the Admin API lookup of the DNS name it was given
    NODE_NO_RESOLVE: (True, False, True),
    NODE_NO_RESOLVED_NAME: (True, False, True),
    NODE_GAXIOS7_TIMED_OUT: (True, False, True),
    # ... its URL with a query string, as gaxios 7 writes it
    NODE_GAXIOS7_EMPTY_QUERY: (True, False, True),
    NODE_FETCH_CERT_QUERY: (True, False, True),
    NODE_GAXIOS7_EMPTY_QUERY.replace("/connectSettings?", "/backupRuns?"): (False, False, False),
    # the Python connector's lookup of the DNS name it was given: before any refresh or dial
    PY_DNS_UNRESOLVED: (True, False, True),
    PY_DNS_UNPARSED: (True, False, True),
    # the same words in an application's own error name no connector
    "ValueError: Unable to resolve TXT record for _dmarc.shop.example.com": (False, False, False),
    # words of the application's own: not the connector's
    "Failed to resolve DNS name orders-db.shop.example.com: queryTxt ETIMEOUT": (False, False, False),
    "Failed to resolve connect settings for DNS name:": (False, False, False),
    # Node's fetch failing names no refresh, whatever host it tried
    APP_FETCH_FAILED: (False, False, False),
    APP_FETCH_FAILED.replace("api.paygate.example", "sqladmin.googleapis.com"): (False, False, False),
    # the X.509 words under no connector name or frame are any TLS code's
    "Error: Failed to parse as X.509 certificate.\n    at loadCa (/app/src/tls.js:12:9)": (False, False, False),
    # the words the Logging query asks for ("failed to get access token for") in other libraries' errors
    "google.auth.exceptions.RefreshError: Failed to get access token for service account "
    "orders@shop-prod.iam.gserviceaccount.com": (False, False, False),
    "failed to get access token for scope https://www.googleapis.com/auth/cloud-platform: context deadline "
    "exceeded": (False, False, False),
    "Failed to get access token for automatic IAM authentication of the reporting job (Firestore)": (
        False, False, False),
    # ... and a database's port, or a port of the application's own, or none named, is still a dial
    NODE_DIAL_3307: (True, True, False),
    "Error: connect ETIMEDOUT 10.20.0.3:5432": (True, True, False),
    "Error: connect ETIMEDOUT 10.20.0.3:6432": (False, True, False),
    "dial tcp 10.20.0.5:4433: i/o timeout": (False, True, False),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:70] for t in TEXTS])
def test_what_each_connector_text_is(text, expected):
    unreached, timed_out, refreshed = expected
    assert (LogSignal.DB_CONNECTION in classify(text)) is unreached
    assert dial_timed_out(text) is timed_out
    assert refresh_failed(text) is refreshed


def incident(*lines: str, code: str = "503", p99: float = 2.1, egress: str = "ALL_TRAFFIC", busy: bool = True,
             count: int = 20) -> Evidence:
    """REV, up for days, serves 40 requests a minute at 0.2 s; from -9m 15 a minute answer `code` at `p99` s
    and the application logs each of `lines` `count` times; the connector (e2-micro, 2-3 instances) goes to
    its 3 max instances at CPU 95 % from -9m when `busy`."""
    e = (Evidence().revision(REV, -4000, sql=(SQL,), egress=egress).traffic(**{REV: 100})
         .requests(REV, -90, 5, 40).latency(REV, -90, -9, 0.2).requests(REV, -9, 5, 15, code=code)
         .latency(REV, -9, 5, p99).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("bytes", -90, 5, 2e6))
    for line in lines:
        e = e.log(-8, line, REV, count=count)
    if busy:
        return (e.connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
                .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.95))
    return e.connector_metric("instances", -90, 5, 2).connector_metric("cpu", -90, 5, 0.2)


# situation -> the verdict and the action planned
CASES = {
    # refreshes that failed: never a scale-up, whatever the connector shows
    "Java connector: ephemeral certificates failed, 503s, connector at max and CPU 95 %: not scaled": (
        dict(lines=(JAVA_EPHEMERAL,)), None),
    "Java connector: metadata refresh failed, 503s, busy connector: not scaled": (
        dict(lines=(JAVA_METADATA,)), None),
    "Go connector: refresh timed out on the Admin API, 503s, busy connector: not scaled": (
        dict(lines=(GO_METADATA,)), None),
    "Go connector: the certificate call's dial to sqladmin timed out, 500s at 10 s: never a database dial": (
        dict(lines=(GO_CERT_DIAL,), code="500", p99=10.2), None),
    # the Java API client's connect timeout to sqladmin.googleapis.com (20 s by default: UNCONFIRMED)
    "Java connector: ephemeral certificates failed, 500s at 20 s: never a database dial": (
        dict(lines=(JAVA_EPHEMERAL,), code="500", p99=20.4), None),
    # dials that timed out through a connector library (the kernel's ETIMEDOUT: ~127 s on Linux's default
    # tcp_syn_retries; under Cloud Run's sandbox UNCONFIRMED), the requests hanging until then and answered
    # 500, judged under the usual bars
    "Python connector: kernel ETIMEDOUT to 3307, 500s at 128 s, ALL_TRAFFIC, busy connector: scaled": (
        dict(lines=(PY_CONNECTOR,), code="500", p99=128), "scale_connector"),
    "Java connector: ConnectException timed out, 500s at 128 s, ALL_TRAFFIC, busy connector: scaled": (
        dict(lines=(JAVA_CONNECTOR,), code="500", p99=128), "scale_connector"),
    "Java connector dials beside its refreshes that failed, busy connector: the dials scale it": (
        dict(lines=(JAVA_CONNECTOR, JAVA_EPHEMERAL), code="500", p99=128), "scale_connector"),
    "Java connector, the connector idle: never a scale-up": (
        dict(lines=(JAVA_CONNECTOR,), code="500", p99=128, busy=False), None),
    # the Python connector's refresh could not reach the Admin API: never a scale-up on it alone, whatever the
    # egress (under ALL_TRAFFIC its calls cross the connector, but a person checks the way to the API first)
    "Python connector: aiohttp cannot reach sqladmin, ALL_TRAFFIC, busy connector: not scaled": (
        dict(lines=(PY_AIOHTTP_REFUSED,)), None),
    "Python connector: aiohttp connect to sqladmin timed out, 500s at 30 s, busy connector: not scaled": (
        dict(lines=(PY_AIOHTTP_TIMED_OUT,), code="500", p99=30.2), None),
    "Python connector: aiohttp cannot reach sqladmin, PRIVATE_RANGES_ONLY, busy connector: not scaled": (
        dict(lines=(PY_AIOHTTP_REFUSED,), egress="PRIVATE_RANGES_ONLY"), None),
    "Python connector dials beside its refreshes that failed, ALL_TRAFFIC, busy connector: the dials scale it": (
        dict(lines=(PY_CONNECTOR, PY_AIOHTTP_TIMED_OUT), code="500", p99=128), "scale_connector"),
    # the Python connector's Admin API call timed out in aiohttp (its ClientSession's 30 s connect timeout):
    # a refresh, never a scale-up, whatever the connector shows
    "Python connector: aiohttp TimeoutError on the Admin API, 500s at 30 s, ALL_TRAFFIC, busy connector: not scaled": (
        dict(lines=(PY_API_TIMED_OUT,), code="500", p99=30.4), None),
    "Python connector: the background refresh's TimeoutError (Python 3.10), 503s, busy connector: not scaled": (
        dict(lines=(PY_API_TIMED_OUT_310,)), None),
    "Python connector dials to 3307 timing out beside its Admin API timeouts, busy connector: the dials scale it": (
        dict(lines=(PY_CONNECTOR, PY_API_TIMED_OUT_CLIENT), code="500", p99=128), "scale_connector"),
    # the Node.js connector's refresh
    "Node connector: its connectSettings call timed out on 443, 500s at 30 s, ALL_TRAFFIC, busy connector: not scaled": (
        dict(lines=(NODE_FETCH_TIMED_OUT,), code="500", p99=30.4), None),
    "Node connector: no metadata (ENOSQLADMIN), 503s, busy connector: not scaled": (
        dict(lines=(NODE_NO_METADATA,)), None),
    "Node connector: its dials to 3307 time out, 500s at 30 s, busy connector: scaled": (
        dict(lines=(NODE_DIAL_3307,), code="500", p99=30.4), "scale_connector"),
    "Node connector: dials to 3307 beside its refreshes timing out on 443, busy connector: the dials scale it": (
        dict(lines=(NODE_DIAL_3307, NODE_FETCH_TIMED_OUT), code="500", p99=30.4), "scale_connector"),
    # aiohttp's connect timeout on the Python connector's Admin API calls: a refresh, never a scale-up
    "Python connector: aiohttp ConnectionTimeoutError on connectSettings, 500s at 30 s, ALL_TRAFFIC, busy: not scaled": (
        dict(lines=(PY_AIOHTTP_CONNECT_TIMEOUT,), code="500", p99=30.4), None),
    "Python connector: aiohttp ServerTimeoutError on generateEphemeralCert, 503s, ALL_TRAFFIC, busy: not scaled": (
        dict(lines=(PY_AIOHTTP_SERVER_TIMEOUT_CERT,)), None),
    "Python connector dials to 3307 timing out beside aiohttp's connect timeouts on sqladmin, busy: the dials scale it": (
        dict(lines=(PY_CONNECTOR, PY_AIOHTTP_CONNECT_TIMEOUT), code="500", p99=128), "scale_connector"),
    # the Node.js connector's refusals and refreshes before any dial: never a scale-up
    "Node connector: private Ip address not found, 500s at 30 s, busy connector: not scaled": (
        dict(lines=(NODE_NO_PRIVATE_IP,), code="500", p99=30.4), None),
    "Node connector: region mismatched, 500s at 30 s, busy connector: not scaled": (
        dict(lines=(NODE_BAD_REGION,), code="500", p99=30.4), None),
    "Node connector: ephemeral certificate unreadable, 500s at 30 s, busy connector: not scaled": (
        dict(lines=(NODE_EPH_PARSE_FRAMES,), code="500", p99=30.4), None),
    # the Node.js connector's connectSettings URL as gaxios 7 writes it (an empty query): a refresh as before
    "Node connector: connectSettings? timed out on 443 (gaxios 7), 500s at 30 s, ALL_TRAFFIC, busy: not scaled": (
        dict(lines=(NODE_GAXIOS7_EMPTY_QUERY,), code="500", p99=30.4), None),
    # the Python connector's DNS name whose TXT record was not read: no dial, never a scale-up
    "Python connector: DnsResolutionError on the TXT record, 503s, ALL_TRAFFIC, busy connector: not scaled": (
        dict(lines=(PY_DNS_UNRESOLVED,)), None),
    "Python connector: dials to 3307 timing out beside its DNS name's failed lookups, busy: the dials scale it": (
        dict(lines=(PY_CONNECTOR, PY_DNS_UNRESOLVED), code="500", p99=128), "scale_connector"),
    # Go's bare deadline is never a dial
    "bare 'context deadline exceeded', 500s at 10 s, busy connector: not a dial, not scaled": (
        dict(lines=(BARE_DEADLINE,), code="500", p99=10.2), None),
}


@pytest.mark.parametrize("shape, action", CASES.values(), ids=CASES.keys())
def test_connector_texts_and_the_action(shape, action):
    shape = dict(shape)
    bundle = incident(*shape.pop("lines", ()), **shape).bundle()

    result = diagnose(bundle, S)

    assert plan(result, bundle, S).action == action, result.summary
    if action == "scale_connector":
        assert result.signature is Signature.CONNECTOR_SATURATION, result.summary


@pytest.mark.parametrize("line", (JAVA_EPHEMERAL, PY_AIOHTTP_REFUSED, PY_API_TIMED_OUT, NODE_FETCH_TIMED_OUT,
                                  NODE_NO_METADATA, PY_AIOHTTP_CONNECT_TIMEOUT, NODE_BAD_REGION, NODE_NO_RESOLVE,
                                  NODE_GAXIOS7_EMPTY_QUERY, PY_DNS_UNRESOLVED),
                         ids=("java", "python-aiohttp", "python-aiohttp-timeout", "node-fetch", "node-enosqladmin",
                              "python-aiohttp-connect-timeout", "node-ebadsqladminregion", "node-enosqladminresolve",
                              "node-fetch-empty-query", "python-dnsresolutionerror"))
def test_the_refresh_is_named_and_not_scaled(line):
    result = diagnose(incident(line).bundle(), S)

    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert "refresh" in result.summary and "Admin API" in result.summary, result.summary


@pytest.mark.parametrize("line, upstream", (
    (PY_AIOHTTP_CONNECT_TIMEOUT, False), (PY_AIOHTTP_SERVER_TIMEOUT_CERT, False),
    (PY_AIOHTTP_OTHER_API, True), (PY_AIOHTTP_SQLADMIN_BACKUPS, True),
), ids=("connect-settings", "ephemeral-cert", "secret-manager", "sqladmin-backups"))
def test_aiohttp_connect_timeout_on_the_connectors_calls_is_no_upstream(line, upstream):
    """The connector's own Admin API calls are its refresh; any other URL is the application's upstream."""
    assert (LogSignal.UPSTREAM_TIMEOUT in classify(line)) is upstream


@pytest.mark.parametrize("line", (NODE_NO_PRIVATE_IP, NODE_NO_PUBLIC_IP, NODE_NO_PSC, NODE_NO_IPS),
                         ids=("private", "public", "psc", "none"))
def test_the_node_connectors_missing_ip_is_the_no_ip_refusal(line):
    result = diagnose(incident(line, code="500", p99=30.4).bundle(), S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert "no IP address of the type" in result.summary, result.summary
