"""The log strings Runwarden recognises, each taken from the platform or a client library."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.collection import BudgetExceeded, CallBudget
from shared.errors import PermanentError
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.log_signals import LogSignal, app_log_filter, audit_filter, signals_in

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

LINES = {
    'psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: Connection timed out':
        LogSignal.DB_CONNECTION,
    "InterfaceError: Can't create a connection to host 10.0.0.5 and port 5432 (timeout is None and "
    "source_address is None).": LogSignal.DB_CONNECTION,
    "ConnectionRefusedError: [Errno 111] Connect call failed ('10.0.0.5', 5432)": LogSignal.DB_CONNECTION,
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, "
    "timeout 30.00": LogSignal.DB_POOL_WAIT,
    "Error: timeout exceeded when trying to connect": LogSignal.DB_POOL_WAIT,
    'failed to connect to instance: Dial error: failed to dial (connection name = "p:r:i"): dial tcp '
    "10.1.2.3:3307: i/o timeout": LogSignal.DB_CONNECTION,
    "The request failed because either the HTTP response was malformed or connection to the instance had an "
    "error.": LogSignal.CONNECTOR_503,
    "The request has been terminated because it has reached the maximum request timeout.":
        LogSignal.REQUEST_TIMEOUT,
    "The request was aborted because there was no available instance.": LogSignal.NO_INSTANCE,
    'Default STARTUP TCP probe failed 1 time consecutively for container "app" on port 8080. The instance was '
    "not started.": LogSignal.STARTUP_FAILURE,
    "Container failed to start. Failed to start and then listen on the port defined by the PORT environment "
    "variable.": LogSignal.STARTUP_FAILURE,
    "spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Secret "
    "projects/1/secrets/s/versions/latest was not found": LogSignal.SECRET_FAILURE,
    "Permission denied on secret: projects/1/secrets/s/versions/latest for Revision service account sa":
        LogSignal.SECRET_FAILURE,
    # The application's own read with the Secret Manager client library, refused by IAM.
    "Error: 7 PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied for resource "
    "'projects/p/secrets/db-password/versions/latest' (or it may not exist).": LogSignal.SECRET_FAILURE,
    "Memory limit of 512 MiB exceeded with 524 MiB used.": LogSignal.MEMORY_LIMIT,
    "Memory limit of 256 MiB exceeded with 263 MiB used. Consider increasing the memory limit, see "
    "https://cloud.google.com/run/docs/configuring/memory-limits": LogSignal.MEMORY_LIMIT,
    'LIVENESS HTTP probe failed 3 times consecutively for container "agent" on port 8080 path "/livez". The '
    "instance has been shut down.": LogSignal.LIVENESS_SHUTDOWN,
    'LIVENESS GRPC probe failed 1 time consecutively for container "ledger-1" on port 8080. The instance has been '
    "shut down.": LogSignal.LIVENESS_SHUTDOWN,
    # The application's own call to another Cloud Run service answered with a 5xx.
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
    "https://inventory-418273645012.us-central1.run.app/v1/stock?sku=A-17": LogSignal.DOWNSTREAM_5XX,
    "org.springframework.web.reactive.function.client.WebClientResponseException$BadGateway: 502 Bad Gateway "
    "from GET https://pricing-3xk2vq7abc-ew.a.run.app/prices/42": LogSignal.DOWNSTREAM_5XX,
    "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url "
    "'https://inventory-418273645012.us-central1.run.app/v1/stock'": LogSignal.DOWNSTREAM_5XX,
    "aiohttp.client_exceptions.ClientResponseError: 500, message='Internal Server Error', "
    "url=URL('https://pricing-3xk2vq7abc-ew.a.run.app/prices/42')": LogSignal.DOWNSTREAM_5XX,
}


@pytest.mark.parametrize("text, signal", LINES.items(), ids=[s.value for s in LINES.values()])
def test_each_known_string_gives_its_signal(text, signal):
    assert signals_in(LogRecord(timestamp=NOW, log_id="x", text=text)) == {signal}


@pytest.mark.parametrize("text", [
    "GET /healthz 200", "INFO: connected to database", "Listening on port 8080",
    # Another program's words about its own probe, not Cloud Run shutting an instance down.
    "liveness http probe failed for 127.0.0.1:8080 path /healthz",
    # A client error from another service, and a server error from a host that is not Cloud Run's.
    "requests.exceptions.HTTPError: 404 Client Error: Not Found for url: https://inventory-4182.us-central1.run.app/x",
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api.partner.example/v2",
])
def test_ordinary_lines_give_none(text):
    assert signals_in(LogRecord(timestamp=NOW, log_id="x", text=text)) == set()


DB, REFUSED, POOL = LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED, LogSignal.DB_POOL_WAIT


@pytest.mark.parametrize("text, signals", [
    # pgx v5 (perDialConnectError) and v4 (connectError) when the server's certificate fails
    # verification: the server answered the handshake, a refusal.
    ("failed to connect to `user=ledger database=ledger`: 10.40.0.3:5432 (10.40.0.3): tls error: tls: failed to "
     "verify certificate: x509: certificate signed by unknown authority", {DB, REFUSED}),
    ("failed to connect to `host=10.40.0.3 user=ledger database=ledger`: tls error (x509: certificate signed by "
     "unknown authority)", {DB, REFUSED}),
    ("failed to connect to `user=ledger database=ledger`: orders-db.internal:5432 (10.40.0.3): tls error: tls: "
     "failed to verify certificate: x509: certificate is valid for 10.40.0.9, not orders-db.internal", {DB, REFUSED}),
    # ... but a handshake cut short is no answer, and names nothing this table knows.
    ("failed to connect to `user=ledger database=ledger`: 10.40.0.3:5432 (10.40.0.3): tls error: EOF", set()),
    # Prisma P1017, and go-sql-driver/mysql's own log line for a connection the server closed.
    ("PrismaClientKnownRequestError: Invalid `prisma.order.findMany()` invocation: Server has closed the "
     "connection.", {DB}),
    ("[mysql] 2026/12/01 21:40:12 packets.go:37: unexpected EOF", {DB}),
    # node-postgres's stream ended under its queries; libpq's SSL socket ended; asyncpg's connection
    # closed mid-statement: connections broken, nothing answered.
    ("Error: Connection terminated unexpectedly", {DB}),
    ("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) SSL SYSCALL error: EOF detected\n[SQL: SELECT "
     "orders.id FROM orders]", {DB}),
    ("asyncpg.exceptions.ConnectionDoesNotExistError: connection was closed in the middle of operation", {DB}),
    # lib/pq's bare server answers, and a role's own CONNECTION LIMIT: refusals.
    ('pq: database "orders" does not exist', {DB, REFUSED}),
    ('pq: too many connections for role "orders"', {DB, REFUSED}),
    # Prisma P1001 in newer engines' words.
    ("Error: P1001: Can't reach database server at `10.40.0.7:5432`", {DB}),
    ("[mysql] 2026/12/01 21:40:12 read tcp 10.8.0.4:51234->10.60.0.3:3306: read: connection reset by peer", {DB}),
    # PgBouncer's query_wait_timeout in pgjdbc's, psycopg2's, libpq's (at login) and node-postgres's words:
    # a wait for a server connection inside the pooler, the same in every form; never the server's FATAL
    # nor a broken connection. A configuration line naming the setting is none of it.
    ("org.postgresql.util.PSQLException: FATAL: query_wait_timeout", {POOL}),
    ("psycopg2.OperationalError: query_wait_timeout\nserver closed the connection unexpectedly\n\tThis probably "
     "means the server terminated abnormally", {POOL}),
    ('psycopg2.OperationalError: connection to server at "10.40.0.9", port 6432 failed: FATAL:  query_wait_timeout',
     {POOL}),
    ("error: query_wait_timeout", {POOL}),
    ("pgbouncer: query_wait_timeout = 120", set()),
    # pg_hba.conf refusing an encrypted connection, and an unencrypted one: refusals both.
    ('FATAL:  no pg_hba.conf entry for host "10.8.0.5", user "app", database "orders", SSL encryption', {DB, REFUSED}),
    # MySQL 1053, a server shutting down: its answer. MySqlConnector's connect timeout, and its pool's.
    ("Error 1053 (08S01): Server shutdown in progress", {DB, REFUSED}),
    ("MySqlConnector.MySqlException (0x80004005): Connect Timeout expired.", {DB}),
    ("MySqlConnector.MySqlException (0x80004005): Connect Timeout expired. All pooled connections are in use.", {POOL}),
    # The Cloud SQL Python connector's Admin API call not made; a CA bundle that fails it is not the path.
    ("aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host sqladmin.googleapis.com:443 ssl:default "
     "[Connect call failed ('199.36.153.8', 443)]", {DB}),
    ("aiohttp.client_exceptions.ClientConnectorCertificateError: Cannot connect to host sqladmin.googleapis.com:443 "
     "ssl:True [SSLCertVerificationError: (1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')]", set()),
    # The bare error it returns names no database (any library's words), and an HTTPS client's own
    # certificate failure says nothing about the database.
    ("get order 42: invalid connection", set()),
    # PgBouncer's answer while its own logins to the database fail (a password rotated under it, the
    # server restarting): the pooler answered, the database behind it did not take the login.
    ("psycopg2.OperationalError: server login has been failing, try again later (server_login_retry)", {DB}),
    ("error: server login has been failing, try again later (server_login_retry)\n    at Parser.parseErrorMessage "
     "(/app/node_modules/pg-protocol/dist/parser.js:287:98)", {DB}),
    ("org.postgresql.util.PSQLException: ERROR: server login has been failing, try again later "
     "(server_login_retry)", {DB}),
    # The Cloud SQL Python connector's refresh whose certificate came back expired: no connection dialled.
    ("google.cloud.sql.connector.exceptions.RefreshNotValidError: ['shop-prod:us-central1:orders-db']: Invalid "
     "refresh operation. Certficate appears to be expired.", {DB}),
    ("google.cloud.sql.connector.exceptions.RefreshError: ['shop-prod:us-central1:orders-db']: Invalid refresh "
     "operation. Certficate appears to be expired.", {DB}),
    # ... but an application's own words about a login to itself, or a certificate of its own, are not.
    ("auth: login has been failing for user 42, try again later", set()),
    ("Invalid refresh operation: the OAuth token appears to be expired", set()),
    ("requests.exceptions.SSLError: HTTPSConnectionPool(host='api.partner.example', port=443): Max retries exceeded "
     "with url: /v2 (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
     "verify failed: unable to get local issuer certificate (_ssl.c:1006)')))", set()),
])
def test_more_client_stacks_closed_and_refused_connections(text, signals):
    assert signals_in(LogRecord(timestamp=NOW, log_id="x", text=text)) == signals


def test_filters_are_bounded_in_time_and_parenthesised():
    app = app_log_filter("p", "backend", "us-central1", NOW, NOW)
    audit = audit_filter("p", "backend", "us-central1", NOW, NOW)
    for text in (app, audit):
        assert 'timestamp>="2026-11-26T12:00:00Z"' in text and 'timestamp<="2026-11-26T12:00:00Z"' in text
    # OR binds tighter than AND in the Logging query language: the OR group is in parentheses.
    assert "AND (logName=" in app and app.endswith('textPayload:"could not start successfully")))')
    assert 'logName="projects/p/logs/run.googleapis.com%2Frequests" AND (textPayload:' in app
    assert 'logName="projects/p/logs/cloudaudit.googleapis.com%2Factivity"' in audit


@pytest.mark.parametrize("alert_filter", [
    'textPayload:"failed to connect" -- the Auth Proxy\'s dial errors',
    '-- the Auth Proxy\'s dial errors\nlog_id("run.googleapis.com/stdout") textPayload:"failed to connect"',
    'severity>=ERROR\n-- trailing note, no newline after it',
])
def test_an_alert_filter_ending_in_a_comment_keeps_the_query_whole(alert_filter):
    """A comment runs to the end of its line in the Logging query language: the alert's filter is
    embedded on lines of its own, so it cannot comment out Runwarden's closing parentheses. Parsed by
    the Logging stand-in's parser, which refuses a query missing one."""
    from sandbox.standins.logging import parse_filter

    app = app_log_filter("p", "backend", "us-central1", NOW, NOW, alert_filter)
    parse_filter(app)   # raises INVALID_ARGUMENT on a missing ')'
    assert app.endswith("\n))")


def test_the_call_budget_refuses_a_sixteenth_call():
    # 14 in two rounds, and one third-round read (the rollback target's startup read after a full log
    # page, or the log read again without a log-match alert's filter).
    budget = CallBudget()
    for i in range(15):
        budget.call(f"call {i}", lambda: None)
    with pytest.raises(BudgetExceeded):
        budget.call("one more", lambda: None)


def test_an_optional_source_that_fails_permanently_becomes_a_gap():
    budget = CallBudget()

    def denied():
        raise PermanentError("denied", code="PERMISSION_DENIED")

    assert budget.optional("logging: audit log", denied) is None
    assert budget.gaps == ["logging: audit log: denied"]


# --- the table of real database error texts (docs/signatures.md) ---------------------------------

from pathlib import Path as _Path

from shared.diagnosis.log_signals import _PATTERNS, DB_ERROR_TEXTS, POOL_WAIT_TEXTS

_DOCS = _Path(__file__).resolve().parents[2] / "docs" / "signatures.md"


_DRIVER_LOOKUPS = {"pgx (Go) host name not found", "libpq host name not found", "PyMySQL host name not found"}


@pytest.mark.parametrize("text", DB_ERROR_TEXTS, ids=lambda t: f"{t.stack}: {t.example[:40]}")
def test_each_real_database_error_text_is_recognised(text):
    refused = {LogSignal.DB_REFUSED} if text.refusal else set()
    # A driver's own words for a name its resolver does not know hold the resolver's (a failed lookup too).
    dns = {LogSignal.DNS_FAILURE} if text.stack in _DRIVER_LOOKUPS else set()
    assert signals_in(_record(text.example)) == {LogSignal.DB_CONNECTION} | refused | dns
    assert text.source  # every message says where it was seen


@pytest.mark.parametrize("text", POOL_WAIT_TEXTS, ids=lambda t: t.stack)
def test_each_pool_wait_text_is_a_pool_wait_alone(text):
    """A wait for the application's own pool: neither an error of reaching the database nor a refusal."""
    assert signals_in(_record(text.example)) == {LogSignal.DB_POOL_WAIT}
    assert text.source and not text.refusal


@pytest.mark.parametrize("text", DB_ERROR_TEXTS + POOL_WAIT_TEXTS, ids=lambda t: t.stack)
def test_each_database_error_text_is_in_the_documented_table(text):
    assert text.example.replace("|", "\\|") in _DOCS.read_text(), f"docs/signatures.md lacks {text.example!r}"


@pytest.mark.parametrize("text", [
    "dial tcp 10.20.0.9:443: i/o timeout",                      # an HTTPS dependency, not the database
    "Error: connect ECONNREFUSED 10.20.0.7:6379",               # Redis
    # redis-py's own pool at its max_connections (MaxConnectionsError, a ConnectionError before
    # redis-py 6): the application's client limit on its Redis, in MySQL 1040's words.
    "redis.exceptions.MaxConnectionsError: Too many connections",
    "redis.exceptions.ConnectionError: Too many connections",
    "raise MaxConnectionsError('Too many connections')",
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.7:6379",   # Npgsql's words, Redis's port
    "upstream request timeout",
    "HTTPSConnectionPool(host='api.example.com', port=443): Read timed out.",
    # Any HTTPS client's certificate failure (Python's ssl via requests) is not the database's.
    "requests.exceptions.SSLError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with "
    "url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
    "failed: unable to get local issuer certificate (_ssl.c:1006)')))",
    # The JDK's and .NET's own trust verdicts, an HTTPS client's (OkHttp, HttpClient): no database driver's words.
    "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath."
    "SunCertPathBuilderException: unable to find valid certification path to requested target\n\tat "
    "okhttp3.internal.connection.RealConnection.connectTls(RealConnection.kt:379)",
    "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.\n ---> "
    "System.Security.Authentication.AuthenticationException: The remote certificate is invalid because of errors in "
    "the certificate chain: UntrustedRoot",
])
def test_timeouts_and_refusals_on_other_ports_are_not_database_errors(text):
    assert LogSignal.DB_CONNECTION not in signals_in(_record(text))


def _record(text: str) -> LogRecord:
    return LogRecord(timestamp=NOW, log_id="run.googleapis.com/stderr", text=text)


_OTHER = [(signal, pattern) for signal, patterns in _PATTERNS.items()
          if signal not in {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED, LogSignal.DB_POOL_WAIT}
          for pattern in patterns]


@pytest.mark.parametrize("signal, pattern", _OTHER, ids=[f"{s.value}: {p[:30]}" for s, p in _OTHER])
def test_each_other_signal_pattern_is_in_the_documented_table(signal, pattern):
    row = f"| `{signal.value}` | `{pattern.replace('|', chr(92) + '|')}` |"
    assert row in _DOCS.read_text(), f"docs/signatures.md lacks the row {row!r}"


from shared.diagnosis.log_signals import upstream_hosts


@pytest.mark.parametrize("text, hosts", [
    ("requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.paygate.example', port=443): Read timed "
     "out. (read timeout=30)", ["api.paygate.example"]),
    ("HTTPConnectionPool(host='10.30.0.9', port=8080): Max retries exceeded with url: /v1 (Caused by "
     "ConnectTimeoutError(<urllib3.connection.HTTPConnection object>, 'Connection timed out'))", ["10.30.0.9"]),
    ('Post "https://api.paygate.example/v2/charges": context deadline exceeded (Client.Timeout exceeded while '
     "awaiting headers)", ["api.paygate.example"]),
    ('Get "http://10.30.0.9:8080/v1": net/http: request canceled (Client.Timeout exceeded while awaiting '
     "headers)", ["10.30.0.9"]),
    ("Connect Timeout Error (attempted address: api.paygate.example:443, timeout: 10000ms)", ["api.paygate.example"]),
    ("Connect Timeout Error (attempted addresses: 104.18.32.7:443, 172.64.155.9:443, timeout: 10000ms)",
     ["104.18.32.7", "172.64.155.9"]),
    # A pool that failed otherwise, then a timeout on another host: the host that timed out.
    ("HTTPSConnectionPool(host='first.example', port=443): Max retries exceeded with url: / (Caused by "
     "NewConnectionError('Failed to establish a new connection')); retrying HTTPSConnectionPool("
     "host='second.example', port=443): Read timed out.", ["second.example"]),
    ("GET https://api.paygate.example/v2 took 31 s", []),
    # An IPv6 literal in Go's URL keeps its brackets whole (RFC 3986 §3.2.2), port or none.
    ('Get "http://[2001:db8::1]:8080/x": context deadline exceeded (Client.Timeout exceeded while awaiting '
     "headers)", ["[2001:db8::1]"]),
    ('Get "https://[2606:4700::6810:84e5]/v1": context deadline exceeded (Client.Timeout exceeded while '
     "awaiting headers)", ["[2606:4700::6810:84e5]"]),
    ("Connect Timeout Error (attempted addresses: 2606:4700::6810:84e5:443, 104.18.32.7:443, timeout: 10000ms)",
     ["2606:4700::6810:84e5", "104.18.32.7"]),
    # aiohttp's ClientSession._request at its connect timeout: "Connection timeout to host {url}", the
    # request's whole URL (ConnectionTimeoutError from 3.10, ServerTimeoutError before).
    ("aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host "
     "https://api.paygate.example/v2/charges?idempotency=1", ["api.paygate.example"]),
    ("aiohttp.client_exceptions.ServerTimeoutError: Connection timeout to host http://10.30.0.9:8080/v1",
     ["10.30.0.9"]),
    ("ConnectionTimeoutError: Connection timeout to host https://[2606:4700::6810:84e5]:8443/v1",
     ["[2606:4700::6810:84e5]"]),
    ("aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host https://api.paygate.example",
     ["api.paygate.example"]),
    # Words of its own, no URL: not aiohttp's line, nothing read.
    ("Connection timeout to host db-primary after 3 attempts", []),
])
def test_the_hosts_an_upstream_timeout_names(text, hosts):
    """upstream_hosts reads the host out of the very pattern UPSTREAM_TIMEOUT matches."""
    signals = signals_in(LogRecord(timestamp=NOW, log_id="x", text=text))
    assert (LogSignal.UPSTREAM_TIMEOUT in signals) == bool(hosts), (text, signals)
    assert upstream_hosts(text) == hosts


@pytest.mark.parametrize("host, address", [
    ("[2001:db8::1]", "2001:db8::1"), ("2001:db8::1", "2001:db8::1"), ("10.30.0.9", "10.30.0.9"),
    ("api.paygate.example", None), ("[2001", None), ("[not-an-address]", None),
])
def test_the_address_a_host_names(host, address):
    from shared.diagnosis.log_signals import host_address
    assert (str(host_address(host)) if host_address(host) else None) == address


def test_per_text_asks_each_distinct_text_once_in_the_order_first_seen():
    """One failure repeats one text on every request: a rule reads each distinct text once, however
    many lines repeat it (the cost a read at its ceiling would otherwise multiply)."""
    from shared.diagnosis.log_signals import per_text

    asked: list[str] = []

    def read(text: str) -> int:
        asked.append(text)
        return len(text)

    lines = [_record(t) for t in ("b-text", "a", "b-text", "a", "b-text", "c")]
    assert per_text(read, lines) == {"b-text": 6, "a": 1, "c": 1}
    assert asked == ["b-text", "a", "c"]
    assert per_text(read, []) == {}


# Failed dials and downstream answers as the readers see them, and lines holding two (the leftmost
# names it), in other cases and beside non-ASCII words.
_DIALS_AND_ANSWERS = [
    "dial tcp 10.60.0.4:6379: i/o timeout",
    "dial tcp 10.20.0.3:5432: i/o timeout",
    'Get "https://api.partner.example/v1": dial tcp 34.117.59.81:443: connect: connection refused',
    "Error: connect ETIMEDOUT 10.8.0.12:8080",
    "Error: CONNECT ECONNREFUSED 127.0.0.1:9000",
    "redis.exceptions.ConnectionError: Error 111 connecting to 10.60.0.4:6379. Connection refused.",
    "io.netty.channel.ConnectTimeoutException: connection timed out after 3000 ms: inventory/10.9.0.7:8443",
    "HTTPSConnectionPool(host='api.partner.example', port=443): Max retries exceeded with url: /v1 (Caused by "
    "ConnectTimeoutError(<urllib3.connection.HTTPSConnection object>, 'Connection to api.partner.example timed out.'))",
    "Timeout connecting to server",
    "java.net.SocketTimeoutException: connect timed out",
    "io.lettuce.core.RedisConnectionException: Unable to connect to cache.internal/<unresolved>:6379",
    "redis.clients.jedis.exceptions.JedisConnectionException: Failed connecting to host 10.60.0.4:6379",
    "redis.clients.jedis.exceptions.JedisConnectionException: Failed to connect to any host resolved for DNS name.",
    "java.net.ConnectException: Failed to connect to api.partner.example/34.117.59.81:443",
    "failed to connect to /10.9.0.7 (port 8443) from /10.0.2.16 (port 40122) after 10000ms",
    "aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', url='https://api.example/x'",
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api.example/x",
    "AxiosError: Request failed with status code 502",
    "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable",
    "Response status code does not indicate success: 503 (Service Unavailable).",
    "dial tcp 10.1.1.1:8080: i/o timeout; then dial tcp 10.2.2.2:9090: i/o timeout",
    "503, message='Service Unavailable', url='https://a.example' and 429, message='x', url='https://b.example'",
    "Zeitüberschreitung: dial tcp 10.5.5.5:8080: i/o timeout",
    "Fehler: Request failed with status code 503 (Dienst nicht verfügbar)",
    "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
    "io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 4.999s. [closed=[], "
    "open=[[remote_addr=inventory.internal/10.9.0.7:8443]]]",
    "Fehler: upstream request timeout (Zeitüberschreitung)",
    'status = StatusCode.RESOURCE_EXHAUSTED\n\tdebug_error_string = "UNKNOWN:Error received from peer ipv4:10.9.0.7:443 '
    '{grpc_message:\"quota\", grpc_status:8}"',
    '"description":"Error received from peer ipv4:10.9.0.7:443","grpc_message":"x","grpc_status":13',
    "Fehler: Error received from peer ipv4:10.9.0.7:443 {grpc_status:14} (Dienst überlastet)",
    # gRPC codes no network failure is raised as, in each client's words, and Google's libraries over them.
    "reserve: rpc error: code = ResourceExhausted desc = quota; then rpc error: code = NotFound desc = x",
    "Fehler: rpc error: code = PermissionDenied desc = verweigert (Zugriff)",
    "io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: gRPC message exceeds maximum size 4194304: 5242880",
    "Error: 8 RESOURCE_EXHAUSTED: quota\nError: 16 UNAUTHENTICATED: bad token",
    "<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.OUT_OF_RANGE\n\tdetails = \"x\"\n>",
    "google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded for quota metric 'Read requests'",
    "com.google.api.gax.rpc.NotFoundException: io.grpc.StatusRuntimeException: NOT_FOUND: no such topic",
    "Error: 14 RESOURCE_EXHAUSTED: a number that is not its code's",
    "GET /healthz 200",
    "",
]


@pytest.mark.parametrize("text", _DIALS_AND_ANSWERS)
def test_the_anchored_readers_answer_as_their_whole_patterns_would(text):
    """`leftmost` tries a pattern only where an alternative's anchor lets a match begin: the same match
    as the pattern's own search, the leftmost of two included, in any case and beside non-ASCII words."""
    from shared.diagnosis import log_signals as ls

    for worded in (*ls._WORDED, ls._DOWNSTREAM_WAIT_WORDED):
        searched, found = worded.pattern.search(text), ls.leftmost(worded, text)
        assert (found and (found.span(), found.groups())) == (searched and (searched.span(), searched.groups()))


def test_dials_and_answers_read_at_once_are_each_texts_own():
    """The one search over every distinct text answers each as `dial_failure` and `downstream_answer` do
    alone, and downstream_waits' as `downstream_wait` does; a text holding no anchor is none of them."""
    from shared.diagnosis.log_signals import (dial_failure, dials_and_answers, downstream_answer, downstream_wait,
                                              downstream_waits)

    dials, answers = dials_and_answers(_DIALS_AND_ANSWERS)
    waits = downstream_waits(_DIALS_AND_ANSWERS)
    assert dials == {text: dial_failure(text) for text in _DIALS_AND_ANSWERS}
    assert answers == {text: downstream_answer(text) for text in _DIALS_AND_ANSWERS}
    assert waits == {text: downstream_wait(text) for text in _DIALS_AND_ANSWERS}
    assert waits["rpc error: code = DeadlineExceeded desc = context deadline exceeded"] == ""
    assert waits["Fehler: upstream request timeout (Zeitüberschreitung)"] == ""
    assert waits["GET /healthz 200"] is None
    assert dials["dial tcp 10.1.1.1:8080: i/o timeout; then dial tcp 10.2.2.2:9090: i/o timeout"] == "10.1.1.1"
    assert dials["Timeout connecting to server"] == ""
    assert dials["io.lettuce.core.RedisConnectionException: Unable to connect to cache.internal/<unresolved>:6379"] \
        == "cache.internal"
    assert dials["redis.clients.jedis.exceptions.JedisConnectionException: Failed to connect to any host resolved "
                 "for DNS name."] == ""
    assert dials["failed to connect to /10.9.0.7 (port 8443) from /10.0.2.16 (port 40122) after 10000ms"] \
        == "10.9.0.7"
    assert dials["dial tcp 10.20.0.3:5432: i/o timeout"] is None   # the database's own port
    assert dials["Error: CONNECT ECONNREFUSED 127.0.0.1:9000"] is None   # loopback
    assert answers["503, message='Service Unavailable', url='https://a.example' and 429, message='x', "
                   "url='https://b.example'"] == "503"
    assert answers["Fehler: Request failed with status code 503 (Dienst nicht verfügbar)"] == "503"
    assert (dials["GET /healthz 200"], answers["GET /healthz 200"]) == (None, "")


class _NoSecondSearch:
    """The dials' and answers' own automaton, where it must not be asked."""

    def find_matches_as_indexes(self, haystack, overlapping):
        raise AssertionError("the same texts searched a second time")


class _Shuffled:
    """An automaton's hits in an order by neither their ends nor their lines (one it does not report): a
    line's hits come apart, among other lines'."""

    def __init__(self, automaton) -> None:
        self.automaton = automaton

    def find_matches_as_indexes(self, haystack, overlapping):
        return sorted(self.automaton.find_matches_as_indexes(haystack, overlapping=overlapping),
                      key=lambda hit: hit[1] % 7)


@pytest.mark.parametrize("read", ["cold", "hits shuffled", "another read"])
def test_dials_and_answers_read_the_one_searchs_hits(monkeypatch, read):
    """After the one search classified the same texts (a cold read), their dials and answers come from the
    hits of the dials' and answers' words it filed, with no search of their own, each text's own answer,
    in any order of hits; after a search of other texts, from a search of their own."""
    from shared.diagnosis import log_signals as ls

    ls.classify_all.cache_clear()
    if read == "hits shuffled":
        automaton, *rest = ls._automaton()
        monkeypatch.setattr(ls, "_AUTOMATON", [ls._ANCHORS, (_Shuffled(automaton), *rest)])
    ls.classify_all(_DIALS_AND_ANSWERS[::2] if read == "another read" else _DIALS_AND_ANSWERS)
    if read != "another read":
        monkeypatch.setattr(ls, "_WORDS_AUTOMATON", _NoSecondSearch())
    dials, answers = ls.dials_and_answers(_DIALS_AND_ANSWERS)
    assert dials == {text: ls.dial_failure(text) for text in _DIALS_AND_ANSWERS}
    assert answers == {text: ls.downstream_answer(text) for text in _DIALS_AND_ANSWERS}
    ls.classify_all.cache_clear()


def test_the_leftmost_match_is_found_from_a_later_anchor_that_may_begin_earlier():
    """Hits are tried by where a match may begin, not where the anchor is: a later anchor with a
    longer reach can begin a match before an earlier one's."""
    import re

    from shared.diagnosis.log_signals import _leftmost_alone, _worded

    worded = _worded(re.compile(r"zz|yy|a.{0,8}bbbb", re.IGNORECASE))
    text = "azzyybbbb"   # "zz" at 1 and "yy" at 3 (reach 0), "bbbb" at 5 (reach 9): the match at 0 comes first
    hits = [(1, 0, 1), (3, 1, 3), (5 - 9, 2, 5)]
    assert _leftmost_alone(worded, text, hits).span() == worded.pattern.search(text).span() == (0, 9)


def test_two_alternatives_matching_at_one_start_answer_as_the_whole_pattern_does():
    """Each alternative is tried alone: where two match at the same start, the first alternative's match
    is the whole pattern's, its groups numbered as the whole pattern's, even when the later
    alternative's hit is tried first (its anchor's reach is longer, so it may begin earlier)."""
    import re

    from shared.diagnosis.log_signals import _leftmost_alone, _worded

    worded = _worded(re.compile(r"(x)\d{0,3}abc|(\w)\w{0,8}xyz|x(\d+)", re.IGNORECASE))
    assert worded.anchors == (("abc", 4), ("xyz", 9), ("x", 0))
    for text, expected in (("x12abcxyz", ((0, 6), ("x", None, None))),    # the first and the second at 0
                           ("q12abcxyz", ((0, 9), (None, "q", None))),    # only the second at 0
                           ("y x77", ((2, 5), (None, None, "77")))):
        hits = [(at - reach, alternative, at) for alternative, (anchor, reach) in enumerate(worded.anchors)
                for at in range(len(text)) if text.lower().startswith(anchor, at)]
        searched = worded.pattern.search(text)
        for ordered in (hits, hits[::-1]):
            found = _leftmost_alone(worded, text, ordered)
            assert (found.span(), found.groups()) == (searched.span(), searched.groups()) == expected


@pytest.mark.parametrize("text, host", [
    # grpc-go (status.Error): no host; an Unavailable that failed to dial is dial_failure's (its dial names it).
    ("rpc error: code = DeadlineExceeded desc = context deadline exceeded", ""),
    ('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp '
     '10.9.0.7:8443: i/o timeout"', ""),
    # grpcio: the peer when it answered, none when the deadline was the client's own.
    ('<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.DEADLINE_EXCEEDED\n\tdetails = '
     '"Deadline Exceeded"\n\tdebug_error_string = "UNKNOWN:Deadline Exceeded {grpc_status:4}"\n>', ""),
    ('<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.UNAVAILABLE\n\tdetails = "x"\n\t'
     'debug_error_string = "UNKNOWN:Error received from peer ipv4:10.9.0.7:443 {grpc_status:14}"\n>', "10.9.0.7"),
    # grpc-java: the address dialled, after the name and the slash, or alone.
    ("io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 4.999s. [closed=[], "
     "open=[[remote_addr=inventory.internal/10.9.0.7:8443]]]", "10.9.0.7"),
    ("io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 4.999s. [remote_addr=/34.149.80.10:443]",
     "34.149.80.10"),
    ("io.grpc.StatusRuntimeException: UNAVAILABLE: io exception", ""),
    ("io.grpc.StatusRuntimeException: UNAVAILABLE", ""),
    # grpc-js: remote_addr in the details; loopback is a proxy beside the application: no host.
    ("Error: 4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s,LB pick: 0.000s,remote_addr=10.9.0.7:443", "10.9.0.7"),
    ("Error: 14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:15001", ""),
    ("Error: 4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s,remote_addr=127.0.0.1:15001", ""),
    # Envoy's local replies.
    ("upstream request timeout", ""),
    ("upstream connect error or disconnect/reset before headers. reset reason: connection timeout", ""),
    ("no healthy upstream", ""),
    # Go, undici, the JDK.
    ('Post "https://inventory.svc.shop.internal:8443/v1/reserve": http2: client connection lost',
     "inventory.svc.shop.internal"),
    ("http2: client connection lost", ""),
    ('Get "http://10.9.0.7:8080/v1": net/http: timeout awaiting response headers', "10.9.0.7"),
    ("net/http: request canceled (Client.Timeout exceeded while awaiting headers)", ""),
    ("TypeError: fetch failed [cause]: HeadersTimeoutError: Headers Timeout Error", ""),
    ("code: 'UND_ERR_BODY_TIMEOUT'", ""),
    ("java.net.http.HttpTimeoutException: request timed out", ""),
    ("java.net.http.HttpConnectTimeoutException: HTTP connect timed out", ""),
    # Not waits: another gRPC code (an answer), words of its own, a request log line.
    ("rpc error: code = NotFound desc = sku 42 not found", None),
    ("rpc error: code = ResourceExhausted desc = quota exceeded for reservations", None),
    ("Error: 8 RESOURCE_EXHAUSTED: quota exceeded", None),
    ("status = StatusCode.UNAUTHENTICATED", None),
    ("io.grpc.StatusRuntimeException: PERMISSION_DENIED: caller lacks inventory.reserve", None),
    ("Error: 14 UNAVAILABLE_SOON is not a code", None),
    ("request timed out after 30 s", None),
    ("GET /healthz 200", None),
])
def test_a_wait_on_a_downstream_and_the_host_it_names(text, host):
    """downstream_wait: the host a call that waited on a downstream names, "" for none (or loopback),
    None for a line that is no such wait."""
    from shared.diagnosis.log_signals import downstream_wait

    assert downstream_wait(text) == host
