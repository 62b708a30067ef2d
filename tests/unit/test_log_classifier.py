"""The log classifier (one search over all the distinct texts, joined) against the reference: every
signal's whole alternation searched on its own (`signals_by_pattern`). Both run on every known text,
on near misses and on mixed lines, one at a time and all together, and each row also states the
answer it expects, so two implementations wrong the same way fail too."""
from __future__ import annotations

import heapq
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.diagnosis import log_signals
from shared.diagnosis.log_signals import (DB_ERROR_TEXTS, NUMBERS, POOL_WAIT_TEXTS, LogSignal, _anchors, _PATTERNS, classify,
                                          classify_all, masked, signals_by_pattern,
                                          top_grouped)

DB, C503, TIMEOUT, NO_INSTANCE, STARTUP, SECRET, REFUSED, POOL = (
    LogSignal.DB_CONNECTION, LogSignal.CONNECTOR_503, LogSignal.REQUEST_TIMEOUT, LogSignal.NO_INSTANCE,
    LogSignal.STARTUP_FAILURE, LogSignal.SECRET_FAILURE, LogSignal.DB_REFUSED, LogSignal.DB_POOL_WAIT)
DNS = LogSignal.DNS_FAILURE
FAILED = LogSignal.DB_STATEMENT_FAILED

# Cloud Run's own texts (troubleshooting page) and the startup and secret texts the platform logs.
PLATFORM = [
    ("The request failed because either the HTTP response was malformed or connection to the instance had an "
     "error.", {C503}),
    ("The request has been terminated because it has reached the maximum request timeout.", {TIMEOUT}),
    ("The request was aborted because there was no available instance.", {NO_INSTANCE}),
    ('Default STARTUP TCP probe failed 1 time consecutively for container "app" on port 8080.', {STARTUP}),
    ('STARTUP HTTP probe failed 3 times consecutively for container "app" on path "/healthz".', {STARTUP}),
    ("STARTUP GRPC probe failed", {STARTUP}),
    ("Container failed to start. Failed to start and then listen on the port defined by the PORT environment "
     "variable.", {STARTUP}),
    ("The user-provided container failed to start and listen on the port defined provided by the PORT=8080",
     {STARTUP}),
    ("Revision 'backend-00002-xyz' is not ready and cannot serve traffic. The user-provided container "
     "instance failed the readiness check.", {STARTUP}),
    ("Ready condition status changed to False for Revision backend-00002-xyz: could not start successfully",
     {STARTUP}),
    # The container's process ending with an error code; 0 and 128+N are a shutdown at scale-in.
    ("Container called exit(1).", {STARTUP}),
    ("Container called exit(255).", {STARTUP}),
    ("Container called exit(0).", set()),
    ("Container called exit(143).", set()),
    ("Container called exit(137).", set()),
    ("Container called exit(130).", set()),
    # A signal that ended the process (no exit code): a crash's counts, one asking it to stop does not.
    ("Container terminated on signal 6.", {STARTUP}),
    ("Container terminated on signal 11.", {STARTUP}),
    ("Container terminated on signal 91.", {STARTUP}),
    ("Container terminated on signal 9.", set()),
    ("Container terminated on signal 15.", set()),
    ("Container terminated on signal 2.", set()),
    ("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Secret "
     "projects/1/secrets/s/versions/latest was not found", {SECRET}),
    ("Secret projects/123/secrets/db-password/versions/7 was not found", {SECRET}),
    ("Permission denied on secret: projects/1/secrets/s/versions/latest for Revision service account sa",
     {SECRET}),
    ("grant roles/secretmanager.secretAccessor to the service account", {SECRET}),
    ("Memory limit of 512 MiB exceeded with 524 MiB used.", {LogSignal.MEMORY_LIMIT}),
    # The application's own framework answering its timeout 503 (log_signals.py, APP_TIMEOUT_503).
    ("2026-12-03T14:10:02.311Z  WARN 1 --- [nio-8080-exec-7] .w.s.m.s.DefaultHandlerExceptionResolver : Resolved "
     "[org.springframework.web.context.request.async.AsyncRequestTimeoutException]", {LogSignal.APP_TIMEOUT_503}),
    ("export handler: write response: http: Handler timeout", {LogSignal.APP_TIMEOUT_503}),
    ("request timed out after 30 s: AsyncRequestTimeoutExceptions counter reset", set()),
    # gunicorn's arbiter ending a worker (gunicorn/arbiter.py); its other reaps are not read.
    ("[2026-12-03 11:52:31 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:8)", {LogSignal.WORKER_TIMEOUT}),
    ("[2026-12-03 11:52:32 +0000] [1] [ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?",
     {LogSignal.WORKER_TIMEOUT}),
    # Puma's cluster ending a worker that did not check in (puma/puma lib/puma/cluster.rb), older and newer words;
    # one that never booted is not read.
    ("[4] ! Terminating timed out worker: 6", {LogSignal.WORKER_TIMEOUT}),
    ("[1] ! Terminating timed out worker (worker failed to check in within 60 seconds): 31",
     {LogSignal.WORKER_TIMEOUT}),
    ("[1] ! Terminating timed out worker (worker failed to boot within 60 seconds): 31", set()),
    ("[2026-12-03 11:52:32 +0000] [1] [WARNING] Worker (pid:8) was sent SIGTERM!", set()),
    ("[2026-12-03 11:52:32 +0000] [1] [ERROR] Worker (pid:8) exited with code 1.", set()),
    ("Memory limit of 5120 MiB exceeded with 5261 MiB used.", {LogSignal.MEMORY_LIMIT}),
    # Its older wording, the units written "M" (googleapis/repo-automation-bots issues #2418 and #3105).
    ("Memory limit of 512M exceeded with 526M used. Consider increasing the memory limit, see "
     "https://cloud.google.com/run/docs/configuring/memory-limits", {LogSignal.MEMORY_LIMIT}),
    ("Memory limit of 953M exceeded with 967M used. Consider increasing the memory limit, see "
     "https://cloud.google.com/run/docs/configuring/memory-limits", {LogSignal.MEMORY_LIMIT}),
    ("Memory limit of 128M exceeded with 131M used.", {LogSignal.MEMORY_LIMIT}),
    # Cloud Run shutting an instance down after its liveness probe failed (log_signals.py, LIVENESS_SHUTDOWN);
    # another program's words about its own probe are not read.
    ('LIVENESS HTTP probe failed 3 times consecutively for container "agent" on port 8080 path "/livez". The '
     "instance has been shut down.", {LogSignal.LIVENESS_SHUTDOWN}),
    ('LIVENESS TCP probe failed 1 time consecutively for container "worker" on port 9000. The instance has been '
     "shut down.", {LogSignal.LIVENESS_SHUTDOWN}),
    ("liveness http probe failed for 10.0.0.5:8080 path /healthz", set()),
    # An application's own words for a memory limit: not Cloud Run ending an instance.
    ("job 42 failed: Memory limit of 512MB exceeded, input too large", set()),
    ("Memory limit of the result cache exceeded: evicting 120 entries", set()),
    ("worker memory limit of 256 MiB reached, pausing intake", set()),
    ("PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)", set()),
    ("requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
     "https://inventory-418273645012.us-central1.run.app/v1/stock", {LogSignal.DOWNSTREAM_5XX}),
    ("WebClientResponseException$BadGateway: 502 Bad Gateway from POST https://pricing-3xk2vq7abc-ew.a.run.app/q",
     {LogSignal.DOWNSTREAM_5XX}),
    ("WebClientResponseException$ServiceUnavailable: 503 Service Unavailable from GET "
     "https://inventory-418273645012.us-central1.run.app/v1/stock", {LogSignal.DOWNSTREAM_5XX}),
    ("WebClientResponseException$InternalServerError: 500 Internal Server Error from PUT "
     "https://carts-418273645012.us-central1.run.app/v1/carts/9", {LogSignal.DOWNSTREAM_5XX}),
    ("WebClientResponseException$GatewayTimeout: 504 Gateway Timeout from PATCH "
     "https://orders-418273645012.us-central1.run.app/v1/orders/7", {LogSignal.DOWNSTREAM_5XX}),
    ("WebClientResponseException$BadGateway: 502 Bad Gateway from DELETE https://carts-3xk2vq7abc-ew.a.run.app/v1/9",
     {LogSignal.DOWNSTREAM_5XX}),
    # A 2xx or 4xx from a run.app URL, and a 5xx from a host that is no Cloud Run service, are no downstream's 5xx.
    ("WebClientResponseException$NotFound: 404 Not Found from GET https://inventory-418273645012.us-central1.run.app/x",
     set()),
    ("WebClientResponseException$ServiceUnavailable: 503 Service Unavailable from GET https://api.example.com/v1",
     set()),
    ("httpx.HTTPStatusError: Server error '502 Bad Gateway' for url 'https://pricing-3xk2vq7abc-ew.a.run.app/q'",
     {LogSignal.DOWNSTREAM_5XX}),
    ("aiohttp.client_exceptions.ClientResponseError: 503, message='Service Unavailable', "
     "url=URL('https://inventory-418273645012.us-central1.run.app/v1/stock')", {LogSignal.DOWNSTREAM_5XX}),
    # The same words for a partner's host, or a 4xx: no other Cloud Run service's 5xx.
    ("httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'https://api.partner.example/v2'", set()),
    ("httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://pricing-3xk2vq7abc-ew.a.run.app/q'",
     set()),
]

# One row per pattern alternative of every signal, from the examples the table carries.
# A database's own refusal (DbErrorText.refusal) is also DB_REFUSED: it answered, so the path works.
# A driver's own words for a name its resolver does not know are a failed lookup too.
_DRIVER_LOOKUPS = {"pgx (Go) host name not found", "libpq host name not found", "PyMySQL host name not found"}
DATABASE = [(t.example, ({DB, REFUSED} if t.refusal else {DB}) | ({DNS} if t.stack in _DRIVER_LOOKUPS else set()))
            for t in DB_ERROR_TEXTS] + [
    # A wait for the application's own pool is neither an error of reaching the database nor a refusal.
    *((t.example, {POOL}) for t in POOL_WAIT_TEXTS),
    # A pool's timeout logged with the driver's cause in one entry (HikariCP attaches it): both.
    ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after "
     "30000ms.\nCaused by: org.postgresql.util.PSQLException: The connection attempt failed.", {POOL, DB}),
    ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: Connection timed out', {DB}),
    ("dial tcp 10.20.0.3:5432: connect: connection refused", {DB}),
    ("dial tcp 10.20.0.3:3306: getsockopt: connection timed out", {DB}),
    ("Error: connect ETIMEDOUT 10.20.0.3:1433", {DB}),
    ("FATAL: sorry, too many clients already", {DB, REFUSED}),
    ("ERROR 1040 (HY000): Too many connections", {DB, REFUSED}),
    ("java.sql.SQLNonTransientConnectionException: Too many connections", {DB, REFUSED}),    # Connector/J 8
    ("Mysql2::Error::ConnectionError: Too many connections", {DB, REFUSED}),                  # Ruby's mysql2
    ('FATAL:  too many connections for role "app"', {DB, REFUSED}),                           # PostgreSQL 53300
    ('pq: too many connections for role "app"', {DB, REFUSED}),                               # lib/pq, bare
    ('FATAL:  too many connections for database "orders"', {DB, REFUSED}),                    # datconnlimit
    # lib/pq prints the server's FATAL bare ("pq: " + message): the database or role is missing.
    ('pq: database "orders" does not exist', {DB, REFUSED}),
    ('pq: role "orders" does not exist', {DB, REFUSED}),
    ('pq: password authentication failed for user "orders"', {DB, REFUSED}),
    ('relation "orders" does not exist', set()),                                            # a query's own error
    # Connections broken under a statement or a connect: node-postgres's stream ended, libpq's SSL
    # socket ended or reset. Nothing answered.
    ("Error: Connection terminated unexpectedly", {DB}),
    ("Error: Connection terminated unexpectedly\n    at Connection.<anonymous> (/app/node_modules/pg/lib/client.js:"
     "132:73)\n    at Object.onceWrapper (node:events:634:26)", {DB}),
    ("Error: Connection terminated", set()),                      # the client's own end(): not read
    # Go's net package: an open connection to a database port reset by its peer, or written into once
    # broken (golang/go src/net/net.go, OpError.Error); another port's reset, and a reset that names no
    # database (Node's bare ECONNRESET, Java's bare SocketException), are not read.
    ("read tcp 10.8.0.5:43210->10.20.0.3:5432: read: connection reset by peer", {DB}),
    ("Error 1105: read tcp 10.8.0.7:51544->10.40.0.9:3306: read: connection reset by peer", {DB}),
    ("write tcp 10.8.0.5:43210->10.20.0.3:3307: write: connection reset by peer", {DB}),
    ("write tcp 10.8.0.5:43210->10.20.0.3:5432: write: broken pipe", {DB}),
    ('Post "https://api.carrier.example/v2/rates": read tcp 10.8.0.5:43210->34.117.59.81:443: read: connection '
     "reset by peer", set()),
    ("write tcp 10.8.0.5:43210->10.20.0.9:6379: write: broken pipe", set()),
    ("Error: read ECONNRESET", set()),
    ("java.net.SocketException: Connection reset", set()),
    # A pool handing out a connection a failover broke: each driver's own words, and other libraries' not.
    ("org.postgresql.util.PSQLException: This connection has been closed.", {DB}),
    ("psycopg2.InterfaceError: connection already closed", {DB}),
    ("asyncpg.exceptions._base.InterfaceError: connection is closed", {DB}),
    ("Error: Can't add new command when connection is in closed state", {DB}),
    ("websockets.exceptions.ConnectionClosedError: connection already closed", set()),
    ("neo4j.exceptions.ServiceUnavailable: Connection is closed", set()),
    # node-postgres with no password to give when the server asks for SCRAM (brianc/node-postgres
    # packages/pg/lib/crypto/sasl.js): the credentials.
    ("Error: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string", {DB, REFUSED}),
    ("Error: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string", {DB, REFUSED}),
    ("Error: SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match", set()),
    ("psycopg2.OperationalError: SSL SYSCALL error: EOF detected", {DB}),
    ("SQLSTATE[HY000]: General error: 7 SSL SYSCALL error: EOF detected", {DB}),
    ("psycopg2.OperationalError: SSL SYSCALL error: Connection reset by peer", {DB}),
    ("could not receive data from server: SSL SYSCALL error: Connection timed out", {DB}),
    # libpq's SSL connection ended by the server with no message it could read (a failover, a restart):
    # no answer. node-mysql2's and mysqljs/mysql's socket closed under the connection. Nothing answered.
    ("psycopg2.OperationalError: SSL connection has been closed unexpectedly", {DB}),
    ("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) SSL connection has been closed unexpectedly\n\n"
     "[SQL: SELECT employees.id FROM employees]", {DB}),
    ("psycopg.OperationalError: consuming input failed: SSL connection has been closed unexpectedly", {DB}),
    ("Error: Connection lost: The server closed the connection.", {DB}),
    ("Error: Connection lost: The server closed the connection.\n    at Socket.<anonymous> "
     "(/app/node_modules/mysql2/lib/connection.js:117:31)", {DB}),
    # An application's own words for a closed TLS connection of its own name no database.
    ("tls: use of closed connection", set()),
    # Prisma's P1001 as newer engines write it: host and port in one pair of backticks, or the host alone.
    ("Error: P1001: Can't reach database server at `10.40.0.7:5432`", {DB}),
    ("PrismaClientInitializationError: Can't reach database server at `orders-db.internal`", {DB}),
    # redis-py's own pool at its max_connections: the application's limit on its Redis, not MySQL's 1040.
    ("redis.exceptions.MaxConnectionsError: Too many connections", set()),
    ("redis.exceptions.ConnectionError: Too many connections", set()),
    ("MaxConnectionsError('Too many connections')", set()),
    ("SQLSTATE[HY000] [2002] Connection refused", {DB}),
    # pgjdbc: a refused connect (with the address since 9.4, without it before) and a broken socket.
    ("org.postgresql.util.PSQLException: Connection to 10.40.0.7:5432 refused. Check that the hostname and port are "
     "correct and that the postmaster is accepting TCP/IP connections.", {DB}),
    ("Could not get JDBC Connection; nested exception is org.postgresql.util.PSQLException: Connection refused. Check "
     "that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.", {DB}),
    ("org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.", {DB}),
    ("SQLSTATE[HY000] [2002] No such file or directory", set()),       # a socket path, not read
    ("Error: Connection terminated due to connection timeout\n    at /app/node_modules/pg-pool/index.js:45:11", {DB}),
    ("FATAL:  the database system is starting up", {DB, REFUSED}),
    ("FATAL:  the database system is shutting down", {DB, REFUSED}),
    ("FATAL:  the database system is in recovery mode", {DB, REFUSED}),
    ("FATAL:  the database system is not yet accepting connections", {DB, REFUSED}),        # PostgreSQL 14+
    # Any other FATAL the server sent, in a driver's frame (libpq 14+, pgx, pgjdbc): an answer.
    ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  role "orders" is not '
     "permitted to log in", {DB, REFUSED}),
    ("failed to connect to `user=orders database=orders`: 10.40.0.3:5432 (10.40.0.3): server error: FATAL: database "
     '"orders" does not exist (SQLSTATE 3D000)', {DB, REFUSED}),
    ('org.postgresql.util.PSQLException: FATAL: permission denied for database "orders"', {DB, REFUSED}),
    ('connection to server on socket "/cloudsql/p:r:i/.s.PGSQL.5432" failed: FATAL:  role "orders" does not exist',
     {DB, REFUSED}),
    ("pymysql.err.OperationalError: (3159, 'Connections using insecure transport are prohibited while "
     "--require_secure_transport=ON.')", {DB, REFUSED}),
    ("FATAL:  the database system is not accepting connections", {DB, REFUSED}),            # hot standby off
    ('couldn\'t connect to "p:r:i": ensure that the account has access to "p:r:i" (and make sure there\'s no typo '
     "in that name). Error during createEphemeral for p:r:i: googleapi: Error 403: The client is not authorized "
     "to make this request., notAuthorized", {DB, REFUSED}),
    ("Could not fetch secret \"projects/1/secrets/s/versions/243\" for environment variable \"S\". Instance "
     "startup will now abort: Secret Version [s/versions/243] is in DESTROYED state.", {SECRET}),
    ("Secret Version [STRIPE_API_KEY/versions/1] is in DISABLED state. Instance startup will now abort", {SECRET}),
    # The same refusal in the words of Cloud Run's check of a revision's secret_key_ref.
    ("spec.template.spec.containers[0].env[1].value_from.secret_key_ref.name: Secret "
     "projects/123456789/secrets/DB_PASSWORD/versions/3 is in DISABLED state.", {SECRET}),
    ("Secret projects/123456789/secrets/DB_PASSWORD/versions/3 is in DESTROYED state.", {SECRET}),
    ("google.api_core.exceptions.PermissionDenied: 403 Permission 'secretmanager.versions.access' denied for "
     "resource 'projects/p/secrets/s/versions/latest' (or it may not exist).", {SECRET}),
    ('failed to connect to instance: Config error: instance does not have IP of type "PRIVATE" (connection name = '
     '"p:r:i")', {DB, REFUSED}),
    ("CloudSQLIPTypeError: Cloud SQL instance does not have any IP addresses matching preference: PRIMARY",
     {DB, REFUSED}),
    ("failed to connect to `host=db.internal user=app database=orders`: hostname resolving error (lookup "
     "db.internal on 169.254.169.254:53: no such host)", {DB, REFUSED, DNS}),
    ('psycopg2.OperationalError: could not translate host name "db.internal" to address: Name or service not known',
     {DB, REFUSED, DNS}),
    ("MySQLdb.OperationalError: (2005, \"Unknown MySQL server host 'db.internal' (-2)\")", {DB, REFUSED}),
    # The database ran the statement and cancelled it at its own timeout: not an error of reaching it.
    ("psycopg.errors.QueryCanceled: canceling statement due to statement timeout", {LogSignal.DB_CANCELLED}),
    ("ERROR:  canceling statement due to lock timeout", {LogSignal.DB_CANCELLED}),
    ("Mysql2::Error: Query execution was interrupted, maximum statement execution time exceeded",
     {LogSignal.DB_CANCELLED}),
    ("MySQLdb.OperationalError: (1205, 'Lock wait timeout exceeded; try restarting transaction')",
     {LogSignal.DB_CANCELLED}),
    # A statement the client's own timeout cancelled while the database still ran it: PostgreSQL's 57014
    # at the protocol's cancel request (pgjdbc's setQueryTimeout, lib/pq's context, a DBA's
    # pg_cancel_backend), MySQL's 1317 at KILL QUERY, and Connector/J's own words once its KILL QUERY was
    # sent on a new connection: the server answered, not an error of reaching it.
    ("org.postgresql.util.PSQLException: ERROR: canceling statement due to user request", {LogSignal.DB_CANCELLED}),
    ("pq: canceling statement due to user request", {LogSignal.DB_CANCELLED}),
    ("pq: canceling statement due to user request (57014)", {LogSignal.DB_CANCELLED}),
    ("ERROR: canceling statement due to user request (SQLSTATE 57014)", {LogSignal.DB_CANCELLED}),
    ("asyncpg.exceptions.QueryCanceledError: canceling statement due to user request", {LogSignal.DB_CANCELLED}),
    ("com.mysql.cj.jdbc.exceptions.MySQLTimeoutException: Statement cancelled due to timeout or client request",
     {LogSignal.DB_CANCELLED}),
    ("pymysql.err.OperationalError: (1317, 'Query execution was interrupted')", {LogSignal.DB_CANCELLED}),
    ("Error 1317 (70100): Query execution was interrupted", {LogSignal.DB_CANCELLED}),
    # An application's own words for its own timeout name no database answer.
    ("context canceled: request cancelled due to timeout", set()),
    ("job 42 was interrupted by the scheduler", set()),
    # A read replica cancelling a query that holds back the primary's changes: the replica answered.
    ("sqlalchemy.exc.OperationalError: (psycopg2.errors.SerializationFailure) canceling statement due to conflict "
     "with recovery", {LogSignal.DB_CANCELLED}),
    ("java.lang.RuntimeException: [p:r:i] Failed to create ephemeral certificate for the Cloud SQL instance.",
     {DB}),
    # The database ran the statement and ended it with an error of its own (a deadlock, a limit):
    # not an error of reaching it.
    ("psycopg2.errors.DeadlockDetected: deadlock detected\nDETAIL:  Process 4121 waits for ShareLock on transaction "
     "9183; blocked by process 4133.", {FAILED}),
    ("asyncpg.exceptions.DeadlockDetectedError: deadlock detected", {FAILED}),
    ("org.postgresql.util.PSQLException: ERROR: deadlock detected", {FAILED}),
    ("ERROR: deadlock detected (SQLSTATE 40P01)", {FAILED}),
    ("error: deadlock detected\n    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:287:98)",
     {FAILED}),
    ("ERROR: out of shared memory (SQLSTATE 53200)", {FAILED}),
    ("Npgsql.PostgresException (0x80004005): 40P01: deadlock detected", {FAILED}),
    ("pymysql.err.OperationalError: (1213, 'Deadlock found when trying to get lock; try restarting transaction')",
     {FAILED}),
    ("psycopg2.errors.ConfigurationLimitExceeded: temporary file size exceeds temp_file_limit (1048576kB)", {FAILED}),
    ('ERROR: temporary file size exceeds "temp_file_limit" (1048576kB) (SQLSTATE 53400)', {FAILED}),
    ("psycopg2.errors.OutOfMemory: out of shared memory\nHINT:  You might need to increase "
     "max_locks_per_transaction.", {FAILED}),
    ("asyncpg.exceptions.OutOfMemoryError: out of shared memory", {FAILED}),
    ('psycopg2.errors.DiskFull: could not resize shared memory segment "/PostgreSQL.1450751626" to 50438144 bytes: '
     "No space left on device", {FAILED}),
    # PostgreSQL ending a session the application left idle (postgres/postgres src/backend/tcop/postgres.c,
    # ProcessInterrupts): the application's behaviour, never a refusal nor a connection broken.
    ("org.postgresql.util.PSQLException: FATAL: terminating connection due to idle-in-transaction timeout", {FAILED}),
    ("psycopg2.OperationalError: terminating connection due to idle-in-transaction timeout\nserver closed the "
     "connection unexpectedly", {FAILED}),
    ("asyncpg.exceptions.IdleSessionTimeoutError: terminating connection due to idle-session timeout", {FAILED}),
    ("FATAL: terminating connection due to transaction timeout (SQLSTATE 25P04)", {FAILED}),
    # Other software's deadlocks and shared memory are not the database's answers.
    ("fatal error: all goroutines are asleep - deadlock!", set()),
    ("worker 3: deadlock detected in job queue, restarting", set()),
    ("CUDA error: out of shared memory", set()),
    ("lock manager error: deadlock detected", set()),
    # A lookup that timed out is no answer (and names no port): not the database's refusal, nor its error;
    # a failed name lookup, whatever the name was for.
    ("failed to connect to `host=db.internal user=app database=orders`: hostname resolving error (lookup "
     "db.internal on 169.254.169.254:53: read udp 10.0.0.2:53803->169.254.169.254:53: i/o timeout)", {DNS}),
    ('could not translate host name "db.internal" to address: Temporary failure in name resolution', {DNS}),
    ("socket.gaierror: [Errno -3] Temporary failure in name resolution", {DNS}),
    ("socket.gaierror: [Errno -2] Name or service not known", {DNS}),
    ("Error: getaddrinfo EAI_AGAIN api.paygate.example", {DNS}),
    ("Error: getaddrinfo ENOTFOUND api.paygate.example", {DNS}),
    # As other projects' fixtures write Node's EAI_NONAME form (their repositories and paths UNCONFIRMED).
    ("Error: getaddrinfo EAI_NONAME api.paygate.example", {DNS}),
    ('Post "https://api.paygate.example/v2": dial tcp: lookup api.paygate.example on 169.254.169.254:53: '
     "server misbehaving", {DNS}),
    ("dial tcp: lookup api.paygate.example: no such host", {DNS}),
    ("java.net.UnknownHostException: api.paygate.example: Temporary failure in name resolution", {DNS}),
    ("java.net.UnknownHostException: api.paygate.example", {DNS}),
    ("14 UNAVAILABLE: DNS resolution failed for firestore.googleapis.com:443: C-ares status is not ARES_SUCCESS "
     "qtype=A name=firestore.googleapis.com is_balancer=0: Timeout while contacting DNS servers", {DNS}),
    # The application's own Google Cloud API call ran out its client library's deadline.
    ("google.api_core.exceptions.DeadlineExceeded: 504 Deadline Exceeded", {LogSignal.GOOGLE_API_WAIT}),
    ("google.api_core.exceptions.RetryError: Deadline of 60.0s exceeded while calling target function, last "
     "exception: 503 Socket closed", {LogSignal.GOOGLE_API_WAIT}),
    ("google.api_core.exceptions.RetryError: Deadline of 300.0s exceeded while calling target function, last "
     "exception: 503 DNS resolution failed for firestore.googleapis.com: C-ares status is not ARES_SUCCESS",
     {LogSignal.GOOGLE_API_WAIT, DNS}),
    ("google.api_core.exceptions.RetryError: Timeout of 600.0s exceeded, last exception: 503 Connection reset by "
     "peer", {LogSignal.GOOGLE_API_WAIT}),
    ("Caused by: com.google.api.gax.rpc.DeadlineExceededException: io.grpc.StatusRuntimeException: "
     "DEADLINE_EXCEEDED: deadline exceeded after 59.998734120s.", {LogSignal.GOOGLE_API_WAIT}),
    ("Error: Total timeout of API google.pubsub.v1.Publisher exceeded 60000 milliseconds before any response was "
     "received.", {LogSignal.GOOGLE_API_WAIT}),
]

# Near misses: an anchor, or most of a pattern, without the rest of it.
NEGATIVE = [
    # Go's words for a word "lookup" that names no host: no name lookup.
    ("cache lookup table: i/o timeout", set()),
    ("lookup failed: no such host entry in table", set()),
    ("canceling statement due to user", set()),                   # the server's words cut short
    ("", set()),
    ("GET /healthz 200", set()),
    ("INFO: connected to database", set()),
    ("Listening on port 8080", set()),
    ("dial tcp 10.20.0.9:443: i/o timeout", set()),                 # an HTTPS dependency
    ("Error: connect ECONNREFUSED 10.20.0.7:6379", set()),          # Redis
    ("Connection refused. Check the service is running", set()),    # pgjdbc's words, not all of them
    ("the worker is not yet accepting connections", set()),         # not the database system's words
    ('level=FATAL msg="config file missing"', set()),                # an application's own FATAL
    ("FATAL: could not load settings: open /etc/app.yaml: no such file", set()),
    ("git fetch failed: fatal: could not read Username for 'https://github.com'", set()),   # git's own fatal
    ("upstream server error: FATAL: queue full", set()),             # no SQLSTATE: not pgx's frame
    ("dial tcp 10.20.0.3:54321: i/o timeout", set()),               # a port that only begins with 5432
    ("upstream request timeout", set()),
    # The application's own HTTP call timing out on a named host: not the database's.
    ("HTTPSConnectionPool(host='api.example.com', port=443): Read timed out.", {LogSignal.UPSTREAM_TIMEOUT}),
    ("requests.exceptions.ReadTimeout: HTTPConnectionPool(host='10.30.0.9', port=8080): Read timed out. (read "
     "timeout=30)", {LogSignal.UPSTREAM_TIMEOUT}),
    ("requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='203.0.113.7', port=443): Max retries exceeded "
     "with url: /v2/charges (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f3a>, "
     "'Connection to 203.0.113.7 timed out. (connect timeout=10)'))", {LogSignal.UPSTREAM_TIMEOUT}),
    ('Post "https://api.paygate.example/v2/charges": context deadline exceeded (Client.Timeout exceeded while '
     "awaiting headers)", {LogSignal.UPSTREAM_TIMEOUT}),
    ("TypeError: fetch failed [cause]: ConnectTimeoutError: Connect Timeout Error (attempted address: "
     "api.paygate.example:443, timeout: 10000ms)", {LogSignal.UPSTREAM_TIMEOUT}),
    ("aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host https://api.paygate.example/v2",
     {LogSignal.UPSTREAM_TIMEOUT}),
    # Spring's RestTemplate at a read or connect timeout on a named host.
    ('org.springframework.web.client.ResourceAccessException: I/O error on GET request for '
     '"https://postman-echo.com/delay/1": Read timed out', {LogSignal.UPSTREAM_TIMEOUT}),
    ('I/O error on POST request for "https://api.paygate.example:8443/v2/charges": Read timed out; nested exception '
     'is java.net.SocketTimeoutException: Read timed out', {LogSignal.UPSTREAM_TIMEOUT}),
    ('I/O error on GET request for "https://www.youtube.com/oembed": Connect timed out', {LogSignal.UPSTREAM_TIMEOUT}),
    ('I/O error on GET request for "https://api.openweathermap.org/data/2.5/weather": Connection timed out: connect',
     {LogSignal.UPSTREAM_TIMEOUT}),
    ('I/O error on PUT request for "https://api.paygate.example/v2/carts/7": Read timed out',
     {LogSignal.UPSTREAM_TIMEOUT}),
    ('I/O error on PATCH request for "https://api.paygate.example/v2/carts/7": Read timed out',
     {LogSignal.UPSTREAM_TIMEOUT}),
    ('I/O error on DELETE request for "https://api.paygate.example/v2/carts/7": Connect timed out',
     {LogSignal.UPSTREAM_TIMEOUT}),
    # RestTemplate's other I/O errors are no timeout (a certificate, a refused connection).
    ('I/O error on GET request for "https://swapi.dev/api/people/": PKIX path validation failed', set()),
    ('I/O error on GET request for "http://10.20.0.7:8080/v1": Connection refused', set()),
    # aiohttp's 429 from an API that is not Cloud SQL's Admin API: no Cloud SQL answer.
    ("aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', "
     "url=URL('https://rest.ensembl.org/xrefs/id/ENST00000301012')", set()),
    ("Get https://registry-1.docker.io/v2/: net/http: request canceled while waiting for connection", set()),
    ("HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: /v2 (Caused by "
     "NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))", set()),
    ('connection to server at "10.20.0.3", port 5432', set()),     # no "failed" after it
    ("Connect call failed ('10.0.0.5', 6379)", set()),               # not a database port
    ("QueuePool limit of size five overflow ten reached", set()),    # \d+ wants digits
    ("HikariPool-x - Connection is not available, request timed out", set()),
    ("tooManyConnections", set()),                                   # \b on both sides
    ("Access denied for user", set()),                               # MySQL's names the user and host
    ("cannot execute statements in a read-only mode", set()),         # not PostgreSQL's words
    ("Secret Version [s/versions/2] is in ENABLED state", set()),
    ("Secret projects/1/secrets/s/versions/2 is in ENABLED state", set()),
    ("the request timeout is 300 s", set()),
    ("STARTUP UDP probe failed", set()),
    ("secret_key_ref: value is fine", set()),
    ("no available instances were harmed", set()),
    ("Failed to update metadata for the instance", set()),
    ("couldn't connect to cache: dial udp", set()),
    # A gRPC deadline that names no Google API (any server, a private one across the connector too).
    ("rpc error: code = DeadlineExceeded desc = context deadline exceeded", set()),
    ("Error: 4 DEADLINE_EXCEEDED: Deadline exceeded", set()),
    ("google.api_core.exceptions.NotFound: 404 No document to update", set()),
]

# Lines that carry two signals, or a signal in another case or inside a longer line.
MIXED = [
    ("ERROR Container failed to start: Permission denied on secret projects/1/secrets/k", {STARTUP, SECRET}),
    ("THE REQUEST HAS BEEN TERMINATED BECAUSE IT HAS REACHED THE MAXIMUM REQUEST TIMEOUT.", {TIMEOUT}),
    ("upstream: connection to the instance had an error; then dial tcp 10.0.0.3:3307: i/o timeout",
     {C503, DB}),
    ("2026/11/26 11:58:41 [p:r:i] failed to connect to instance: Dial error: failed to dial (connection name = "
     '"p:r:i"): dial tcp 10.30.0.9:3307: connect: connection refused', {DB}),
    ("retry 3/5: knex: timeout acquiring a connection. the pool is probably full.", {POOL}),
    ("STARTUP tcp PROBE FAILED and there was no available instance", {STARTUP, NO_INSTANCE}),
]

# Non-ASCII text: case-insensitive matching lets the Kelvin sign match "k" and a long s match "s",
# which lower-casing does not; such lines must still classify as the reference does.
UNICODE = [
    ("\u212anex: Timeout acquiring a connection", {POOL}),            # KELVIN SIGN for the K of Knex
    ("Permi\u017f\u017fion denied on \u017fecret", {SECRET}),        # LATIN SMALL LETTER LONG S
    ("Ünïcödé: connection to the instance had an error — 503", {C503}),
    ("ошибка: Too many connections", {DB, REFUSED}),
    ("ошибка без сигнала", set()),
]

TABLE = PLATFORM + DATABASE + NEGATIVE + MIXED + UNICODE


def _id(row) -> str:
    return row[0][:50] or "(empty)"


def _fresh(texts) -> dict:
    """classify_all with nothing remembered from an earlier call: the search itself."""
    classify_all.cache_clear()
    return classify_all(texts)


@pytest.mark.parametrize("text, expected", TABLE, ids=[_id(r) for r in TABLE])
def test_one_pass_gives_exactly_the_per_pattern_classification(text, expected):
    reference = signals_by_pattern(text)
    assert reference == expected, "the table's expectation is wrong about the reference"
    assert _fresh([text, text]) == {text: reference}
    assert classify(text) == reference   # remembered now


def test_all_the_texts_in_one_search_are_each_classified_as_alone():
    """Joined into one string, no line's signals leak into the next (the table's texts, in two orders)."""
    texts = [text for text, _ in TABLE]
    for order in (texts, texts[::-1]):
        assert _fresh(order) == {text: signals_by_pattern(text) for text in order}


def test_every_pattern_alternative_is_exercised_by_a_positive_row():
    """Each alternative of each signal matches at least one text of the table: none goes untested."""
    texts = [text for text, expected in TABLE if expected]
    for signal, patterns in _PATTERNS.items():
        for pattern in patterns:
            assert any(re.search(pattern, t, re.IGNORECASE) for t in texts), f"{signal.value}: {pattern!r} untested"


@pytest.mark.parametrize("pattern", [p for ps in _PATTERNS.values() for p in ps])
def test_every_alternative_has_an_anchor_its_matches_contain(pattern):
    anchors = _anchors(pattern)
    assert all(len(a) >= 5 for a in anchors), f"{pattern!r}: anchors {anchors} too short to rule lines out"
    for text, _ in TABLE:
        found = re.search(pattern, text, re.IGNORECASE)
        if found and text.isascii():
            assert any(a in found.group(0).lower() for a in anchors)


# The search's own edges: an anchor at a line's start or end, beside the separator, a separator
# inside a line, another case, a line that matches several patterns, empty lines around.
EDGES = [
    ["dial tcp 10.20.0.3:5432: i/o timeout", "x"],                             # an anchor at the very start
    ["x", "Error: connect ECONNREFUSED 127.0.0.1:5432"],                       # an anchor at the very end
    ["could not connect to server", "could not connect to server"[::-1]],      # a whole-literal line, and reversed
    ["dial", "tcp 10.20.0.3:5432: i/o timeout"],                               # a pattern cut by the separator
    ["failed to dial (connection name = \"p:r:i\")", "dial tcp 10.0.0.1:443: i/o timeout"],
    ["upstream said:\ndial tcp 10.20.0.3:3307: i/o timeout"],                   # the separator inside a line
    ["secret projects/p\nwas not found"],                                      # `.+` does not cross a newline
    ["a\n", "\nSTARTUP TCP probe failed", ""],                                 # lines that begin or end with it
    ["DIAL TCP 10.20.0.3:3307: I/O TIMEOUT", "Dial Tcp 10.20.0.3:1433: Connect: Connection Refused"],
    ["Container failed to start: Permission denied on secret s; dial tcp 1.2.3.4:5432: i/o timeout; "
     "connection to the instance had an error; there was no available instance; reached the maximum "
     "request timeout"],                                                       # five signals in one line
    ["STARTUP tcp probe failed, STARTUP UDP probe failed", "STARTUP UDP probe failed, STARTUP tcp probe failed"],
    ["dial tcp 10.0.0.1:443: i/o timeout then dial tcp 10.0.0.1:5432: i/o timeout"],   # the second occurrence
    # A leading anchor's pattern is matched at each hit: the third one matches, the first two not.
    ["Error: connect ECONNREFUSED 10.0.0.1:6379; connect ETIMEDOUT 10.0.0.2:443; connect ETIMEDOUT 10.0.0.3:3306"],
    ["", "", "Too many connections"],
    # Anchors that overlap: " probe failed" and "failed to connect to instance: dial error" share
    # "failed"; " authentication failed for user" ends where "password authentication failed for
    # user" does. Every one is reported, not only the longest or the first.
    ["STARTUP TCP probe failed to connect to instance: Dial error: x"],
    ["FATAL: password authentication failed for user \"app\""],
    # Unicode's \s holds \x1c-\x1f, ASCII's does not: a pattern with \s is matched without re.ASCII.
    ["OperationalError:\x1cSSL error: certificate verify failed",
     "503 Server Error: Service Unavailable for url: https://api\x1c.run.app/x"],
    [],
]


@pytest.mark.parametrize("texts", EDGES, ids=[" | ".join(t)[:50] or "(none)" for t in EDGES])
def test_the_search_at_its_edges(texts):
    assert _fresh(texts) == {text: signals_by_pattern(text) for text in texts}


def test_edge_rows_state_what_they_find():
    assert signals_by_pattern("dial") == signals_by_pattern("tcp 10.20.0.3:5432: i/o timeout") == set()
    assert signals_by_pattern("upstream said:\ndial tcp 10.20.0.3:3307: i/o timeout") == {DB}
    assert signals_by_pattern(EDGES[9][0]) == {STARTUP, SECRET, DB, C503, NO_INSTANCE, TIMEOUT}
    assert signals_by_pattern(EDGES[11][0]) == {DB}
    assert signals_by_pattern(EDGES[12][0]) == {DB}
    assert signals_by_pattern(EDGES[14][0]) == {STARTUP, DB}


@pytest.mark.parametrize("source, alike", [
    (r"dial tcp [\d.]+:(?:5432|3306): i/o timeout", True),
    (r"\bToo many connections\b", True),
    (r"couldn.t connect to \"[^\"]+\": [^\n]*\w+", True),
    (r"failed:\s+SSL error", False),                 # \s: Unicode's holds \x1c-\x1f
    (r"[^/\S]+", False),
    (r"\x6b", False), (r"\u212a", False), (r"\N{KELVIN SIGN}", False), (r"\153", False), (r"(a)\1", False),
    ("\u212a", False),                                # the Kelvin sign itself folds to "k"
    (r"a\\s", False),                                 # an escaped backslash: over-cautious, never wrong
])
def test_a_pattern_matched_as_ascii_only_where_that_changes_nothing(source, alike):
    assert log_signals._ascii_alike(source) is alike


def test_most_patterns_are_matched_as_ascii():
    """Where the one search confirms a hit (ASCII text only), a pattern is compiled with re.ASCII unless
    that could change what it matches."""
    flags = {a.pattern.pattern: a.pattern.flags for a in log_signals._ANCHORS}
    assert all(f & re.IGNORECASE for f in flags.values())
    assert {p for p, f in flags.items() if not f & re.ASCII} == {p for p in flags if not log_signals._ascii_alike(p)}
    assert sum(1 for f in flags.values() if f & re.ASCII) >= 0.9 * len(flags)


def test_a_whitespace_class_matched_as_ascii_is_caught(monkeypatch):
    """The comparison can fail: compiled with re.ASCII, a \\s or [^\\s] pattern reads \\x1c otherwise."""
    texts = EDGES[-2]
    assert _fresh(texts) == {text: signals_by_pattern(text) for text in texts}
    monkeypatch.setattr(log_signals, "_ascii_alike", lambda source: True)
    monkeypatch.setattr(log_signals, "_ANCHORS", log_signals._anchored())
    found = _fresh(texts)
    assert [found[t] != signals_by_pattern(t) for t in texts] == [True, True]


def _anchors_with(change, monkeypatch) -> None:
    monkeypatch.setattr(log_signals, "_ANCHORS", tuple(change(a) for a in log_signals._ANCHORS))


def test_a_wrong_anchor_is_caught_by_the_comparison(monkeypatch):
    """The comparison can fail: with one anchor changed to a string its lines lack, the search
    misses the Go dial error the reference still finds."""
    _anchors_with(lambda a: a._replace(text=a.text + "x") if a.text == "dial tcp " else a, monkeypatch)
    text = "dial tcp 10.20.0.3:3307: i/o timeout"
    assert signals_by_pattern(text) == {DB}
    assert _fresh([text])[text] != signals_by_pattern(text)


def test_a_hit_taken_for_a_match_is_caught(monkeypatch):
    """Only an alternative that is nothing but its anchor skips the regex: marking "dial tcp " so
    would take an HTTPS dependency's timeout for a database error."""
    unescaped = {a: re.sub(r"\\(.)", r"\1", a.pattern.pattern).lower() for a in log_signals._ANCHORS
                 if "|" not in a.pattern.pattern}
    assert [a.text for a in unescaped if a.whole] == [a.text for a, plain in unescaped.items() if a.text == plain]
    assert sum(a.whole for a in unescaped) >= 15
    _anchors_with(lambda a: a._replace(whole=True) if a.text == "dial tcp " else a, monkeypatch)
    text = "dial tcp 10.20.0.9:443: i/o timeout"
    assert signals_by_pattern(text) == set()
    assert _fresh([text])[text] != signals_by_pattern(text)


def test_a_search_from_the_anchor_only_where_it_leads(monkeypatch):
    """The regex is searched from the anchor only where the alternative begins with it: from
    " probe failed" it would miss the "STARTUP TCP" before it."""
    _anchors_with(lambda a: a._replace(leads=True) if a.text == " probe failed" else a, monkeypatch)
    text = "Default STARTUP TCP probe failed 1 time consecutively"
    assert signals_by_pattern(text) == {STARTUP}
    assert _fresh([text])[text] != signals_by_pattern(text)


@pytest.mark.parametrize("pattern, reach", [
    (r"\bToo many connections\b", 0),                                  # \b matches no character
    (r"couldn.t connect to \"[^\"]+\": dial tcp", 7),                      # "couldn" and any one
    (r"HTTPS?ConnectionPool\(host='[^']+'", 5),                          # "HTTP" and an optional "S"
    (r"Failed to (?:update metadata for|create ephemeral certificate for the) Cloud SQL instance", 46),
    (r"STARTUP (TCP|HTTP|GRPC) probe failed", 12),
    (r"(?<=x)ab\d{2,3}[.:]?cdefghijk", 6),                               # a look-behind is no width
    (r"could not extend file .*No space left on device", None),          # unbounded
    (r"a(b)\1 and then a long literal run", None),                       # a group's reference: not measured
])
def test_how_far_before_its_anchor_a_match_may_begin(pattern, reach):
    [alternative] = log_signals._alternatives(pattern)
    anchor = log_signals._anchor_of(alternative)[0]
    assert log_signals._reach(alternative, anchor) == reach


def test_a_search_from_too_close_to_the_anchor_is_caught(monkeypatch):
    """Searched from less far before the hit than a match may begin, the regex misses the "Failed to"
    that the Cloud SQL connector's line begins with, a few words before its anchor."""
    text = "2026/11/26 11:52:35 Failed to create ephemeral certificate for the Cloud SQL instance p:r:i"
    assert signals_by_pattern(text) and _fresh([text])[text] == signals_by_pattern(text)
    _anchors_with(lambda a: a._replace(reach=a.reach - 1) if a.text == " cloud sql instance" else a, monkeypatch)
    assert _fresh([text])[text] != signals_by_pattern(text)
    monkeypatch.undo()
    # The search starts before the hit: from the hit itself, it would not see the match.
    at = text.lower().index(" cloud sql instance")
    pattern = next(a.pattern for a in log_signals._ANCHORS if a.text == " cloud sql instance")
    assert pattern.search(text, at) is None and pattern.search(text, at - 46)


def test_texts_are_remembered_and_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(log_signals, "_KNOWN_LIMIT", 3)
    _fresh(["a", "b", "c", "d"])
    assert set(log_signals._KNOWN) == {"a", "b", "c", "d"}
    calls = []
    monkeypatch.setattr(log_signals, "_search", lambda texts: calls.append(list(texts)) or
                        {t: signals_by_pattern(t) for t in texts})
    assert classify_all(["e", "e"]) == {"e": set()}      # past the limit: forgotten, then "e" alone
    assert calls == [["e"]] and set(log_signals._KNOWN) == {"e"}
    classify_all(["e"])
    assert calls == [["e"]]                              # remembered: not searched again
    assert classify_all(["f", "e", "ošibka", "g"]) == {"f": set(), "e": set(), "ošibka": set(), "g": set()}
    assert calls == [["e"], ["f", "g"]]                  # only the new ASCII texts; the others exactly


# Random lines stitched from the patterns' own pieces, in random case, with noise between them.
_PIECES = sorted({a for ps in _PATTERNS.values() for p in ps for a in _anchors(p)} | {
    "5432", "3307", "6379", ":", " ", '"p:r:i"', "10.20.0.3", "failed", "i/o timeout", "(", ")", "'", ", ",
    "connect: connection refused", "size 5 overflow 10 reached", "HikariPool-1", "\u212a", "\u017f", "é", "\t", "\n",
    "\x1f"})


@st.composite
def _lines(draw) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=8))
    flips = draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    return "".join(p.upper() if flip else p for p, flip in zip(parts, flips))


@settings(max_examples=200, deadline=None)
@given(_lines())
def test_one_pass_agrees_with_the_reference_on_random_lines(text):
    assert _fresh([text])[text] == signals_by_pattern(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(_lines(), max_size=12))
def test_the_search_agrees_with_the_reference_on_random_reads(texts):
    assert _fresh(texts) == {text: signals_by_pattern(text) for text in texts}


_STEPPED = ["nothing here", "dial tcp 10.0.0.1:5432: i/o timeout", "", "still nothing",
            "connect ECONNREFUSED 10.0.0.2:5432 and dial tcp 10.0.0.3:3306: i/o timeout",
            "The request failed because either the HTTP response was malformed or connection to the instance "
            "had an error.", "dial tcp 10.0.0.4:443: i/o timeout"]


def test_hits_find_their_lines_by_stepping_not_bisecting(monkeypatch):
    """The automaton reports hits as it reaches their ends: each hit's line is found by stepping on
    from its predecessor's, over lines with no hit too, without a bisection of the line starts per hit."""
    import bisect
    calls = []
    monkeypatch.setattr(log_signals, "bisect_right", lambda *a: calls.append(a) or bisect.bisect_right(*a))
    found = _fresh(_STEPPED)
    assert found == {text: signals_by_pattern(text) for text in _STEPPED}
    assert found[_STEPPED[4]] == {DB} and found[_STEPPED[5]] == {LogSignal.CONNECTOR_503}
    assert calls == []


class _LinesInReverse:
    """The automaton's hits line by line from the last line to the first, each line's own in order."""

    def __init__(self, automaton) -> None:
        self.automaton = automaton

    def find_matches_as_indexes(self, haystack, overlapping):
        hits = self.automaton.find_matches_as_indexes(haystack, overlapping=overlapping)
        return sorted(hits, key=lambda hit: -haystack.count(b"\n", 0, hit[1]))   # stable within a line


def test_hits_before_their_predecessors_line_are_bisected(monkeypatch):
    """A hit in an earlier line than the hit before it (an order the automaton does not report) is
    bisected to its line: stepping alone would leave it in the later line and lose its signals."""
    automaton, confirms, unanchored, worded = log_signals._automaton()
    monkeypatch.setattr(log_signals, "_AUTOMATON",
                        [log_signals._ANCHORS, (_LinesInReverse(automaton), confirms, unanchored, worded)])
    assert _fresh(_STEPPED) == {text: signals_by_pattern(text) for text in _STEPPED}


@settings(max_examples=100, deadline=None)
@given(st.lists(_lines(), max_size=12))
def test_a_count_of_the_texts_is_classified_as_the_texts(texts):
    """Given a Counter of the texts (the log index counts them once), its keys are the distinct texts,
    in its order: the same answer as the texts themselves give, in the same order."""
    counts = Counter(texts)
    classify_all.cache_clear()
    found = classify_all(counts)
    assert found == _fresh(texts) and list(found) == list(dict.fromkeys(texts))


# --- number masking (top error texts) ------------------------------------------------------------

_MASK_BEFORE = re.compile(r"\b\d[\d.:]*\b")   # the masking as first written


@pytest.mark.parametrize("text", [
    "", "no numbers here", "12", "a1 b2", "_1", "x 12:30:45.123 y", "10.20.0.3:5432: i/o timeout",
    "retry 3/5 after 250ms", "v1.2. end", "1.", ":1", "12:", "req=0x1f2e id-42", "٣ arabic-indic digit",
    "2026/11/26 11:58:41.123456 req=00ff12ab34cd", "port 5432, then 3307."])
def test_masking_is_the_same_as_the_first_written_pattern(text):
    assert NUMBERS.sub("N", text) == _MASK_BEFORE.sub("N", text)
    assert masked(text) == _MASK_BEFORE.sub("N", text.strip())[:200]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab_ .:-/=12\u0663\t")), max_size=30))
def test_masking_agrees_on_random_text(text):
    assert NUMBERS.sub("N", text) == _MASK_BEFORE.sub("N", text)


# --- grouping (top error texts) -------------------------------------------------------------------


def _grouped_plainly(texts: list[str]) -> list[tuple[str, int]]:
    """The grouping as first written: every text masked, counted by mask, each group's first text."""
    keys = [masked(t) for t in texts]
    first = dict(zip(reversed(keys), reversed(texts)))
    return [(first[key], n) for key, n in Counter(keys).items()]


@pytest.mark.parametrize("texts", [
    [],
    ["slow request 999 ms id=8", "pool exhausted", "slow request 12 ms id=9", "slow request 999 ms id=8"],
    ["req=ab12 failed", "req=ab13 failed", "req=ab12 failed"],          # digits after letters stay: distinct
    [" N x", " 5 x", "N x"],                                            # a literal N and a masked number
    ["a 1b", "a b1"],                                                   # the same once digits go, not the same masks
    ["v 1.2 x", "v 3 x", "v 3. x"],
    ["x" * 199 + " 1", "x" * 199 + " 2", "x" * 250 + " 3", "x" * 250 + " 4"],   # cut at 200 characters
    ["٣ done", "4 done", "done ٣"],                                     # a non-ASCII digit is masked too
    ["  padded 1  ", "padded 2", "\tpadded 3"],
    ["a\x001", "a\x002", "a 3"],                                        # the separator of the forms in a text
])
def test_grouping_is_the_same_as_masking_every_text(texts):
    """Asked for every group, the largest groups are the whole grouping, ordered by count."""
    assert top_grouped(texts, len(texts) + 1) == _top_plainly(texts, len(texts) + 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aN_ .:-12\u0663\t\x00")), max_size=12), max_size=12))
def test_grouping_agrees_on_random_texts(texts):
    assert top_grouped(texts, len(texts) + 1) == _top_plainly(texts, len(texts) + 1)


@pytest.mark.parametrize("kept, texts", [
    ("N", [" N x", " 5 x"]),             # a literal N and a masked number: one group
    (".", ["v 1.2 x", "v 3 x"]),         # a number with a dot and one without: one group
])
def test_a_wrong_deleted_form_is_caught_by_the_comparison(monkeypatch, kept, texts):
    """The comparison can fail: with a character the mask can replace left out of the deleted form,
    two texts of one group look alone in their forms and are kept apart."""
    monkeypatch.setattr(log_signals, "_MASK_CHARS", log_signals._MASK_CHARS.replace(kept.encode(), b""))
    assert top_grouped(texts, 2) != _top_plainly(texts, 2)


@pytest.mark.parametrize("pattern, text", [
    (r"dial error\d|dial error", "a dial error"),        # one alternative is its anchor alone: a hit is a match
    (r"\ddial error|dial error\d", "5dial error"),       # only one begins with it: searched from the line's start
    (r"\ddial error|dial error\d", "dial error 5"),      # neither matches
])
def test_one_anchor_in_two_alternatives(monkeypatch, pattern, text):
    monkeypatch.setattr(log_signals, "_PATTERNS", {DB: (pattern,)})
    monkeypatch.setattr(log_signals, "_COMPILED", {DB: re.compile(pattern, re.IGNORECASE)})
    monkeypatch.setattr(log_signals, "_ANCHORS", log_signals._anchored())
    assert len(log_signals._ANCHORS) == 1
    assert _fresh([text])[text] == signals_by_pattern(text)



def test_an_alternative_without_a_literal_run_searches_every_line(monkeypatch):
    """An alternative with no literal run has no anchor for the automaton to report: its pattern is
    searched on every line, so a line it alone matches still carries the signal."""
    pattern = r"[0-9]{3}|dial error"
    monkeypatch.setattr(log_signals, "_PATTERNS", {DB: (pattern,)})
    monkeypatch.setattr(log_signals, "_COMPILED", {DB: re.compile(pattern, re.IGNORECASE)})
    monkeypatch.setattr(log_signals, "_ANCHORS", log_signals._anchored())
    assert "" in {a.text for a in log_signals._ANCHORS}
    texts = ["got 503", "a dial error", "nothing here"]
    assert _fresh(texts) == {text: signals_by_pattern(text) for text in texts} == {
        "got 503": {DB}, "a dial error": {DB}, "nothing here": set()}

# --- the largest groups alone (top error texts) ---------------------------------------------------

def _top_plainly(texts: list[str], limit: int) -> list[tuple[str, int]]:
    return heapq.nlargest(limit, _grouped_plainly(texts), key=lambda group: group[1])


TOP_TABLE = [
    ([], 3),
    (["a"], 0),
    (["x 1", "x 2", "solo", "solo"], 1),                        # a tie at the bar: the group that came first
    (["solo", "solo", "x 1", "x 2"], 1),                        # ... and the other way round
    (["x 1", "y", "x 2", "y", "z", "z", "z", "w 1", "w 22"], 2),
    (["p 1", "p 2", "p 3", "q", "q", "r 1", "r 1", "s"], 3),     # a form's groups below the bar: never masked
    (["a 1b", "a b1", "a b1", "c"], 2),                         # one form, two groups
    (["٣ done", "4 done", "done ٣", "done"], 2),                # non-ASCII: masks computed
    (["x" * 250 + " 1", "x" * 250 + " 2", "y"], 1),             # cut at 200 characters
    (["e 1", "e 2", "f 1", "f 2", "g", "g"], 5),                # fewer groups than asked for
]


@pytest.mark.parametrize("texts, limit", TOP_TABLE)
def test_the_largest_groups_are_those_of_the_whole_grouping(texts, limit):
    assert top_grouped(texts, limit) == _top_plainly(texts, limit)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aN_ .:12\u0663")), max_size=6), max_size=16),
       st.integers(min_value=0, max_value=4))
def test_the_largest_groups_agree_on_random_texts(texts, limit):
    assert top_grouped(texts, limit) == _top_plainly(texts, limit)


def test_a_form_below_the_bar_is_not_masked(monkeypatch):
    """Only forms that can reach the largest groups are masked; stopping at a form that can only
    tie them would drop the tie the group that came first wins (the comparison fails)."""
    seen = []
    masks = log_signals._masks
    monkeypatch.setattr(log_signals, "_masks", lambda texts, together: seen.extend(texts) or masks(texts, together))
    texts = ["r 1", "r 2", "q", "q", "q", "s", "s", "s"]
    assert top_grouped(texts, 2) == _top_plainly(texts, 2) == [("q", 3), ("s", 3)]
    assert seen == []                        # the form "r " (2 texts) is below both groups (3)
    texts = ["x 1", "x 2", "solo", "solo"]
    assert top_grouped(texts, 1) == [("x 1", 2)]
    assert seen == ["x 1", "x 2"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aN_ .:-12x\t\n")), max_size=14), max_size=8))
def test_texts_masked_together_are_each_masked_alone(texts):
    """One substitution over the texts joined with "\\0" masks each text as `masked` does alone:
    numbers at a text's start or end, after "_" or a letter, runs of dots and colons, padding."""
    assert log_signals._masks(texts, together=True) == [masked(t) for t in texts]
    assert log_signals._masks(texts, together=False) == [masked(t) for t in texts]


def test_a_number_masked_across_the_separator_is_caught():
    """The comparison can fail: joined with a digit, a number would run from one text into the next."""
    texts = ["a 1", "2 b"]
    joined = log_signals._NUMBERS_ASCII.sub("N", "5".join(texts)).split("5")
    assert joined != [masked(t) for t in texts]


def test_a_memory_emptied_meanwhile_loses_nothing(monkeypatch):
    """Another thread may empty the memory of texts while a read is classified: its answer still
    holds every text (the known ones read once, before)."""
    classify_all.cache_clear()
    classify_all(["dial tcp 10.0.0.1:5432: i/o timeout"])
    search = log_signals._search

    def emptied_meanwhile(texts):
        log_signals._KNOWN.clear()
        return search(texts)

    monkeypatch.setattr(log_signals, "_search", emptied_meanwhile)
    assert classify_all(["dial tcp 10.0.0.1:5432: i/o timeout", "x"]) == {
        "dial tcp 10.0.0.1:5432: i/o timeout": {DB}, "x": set()}


def test_a_long_or_non_ascii_text_takes_the_text_by_text_path_alone(monkeypatch):
    """A text longer than 200 characters stripped, or not ASCII, is masked alone; the others are
    still masked in the one substitution (it used to send every text of the read text by text)."""
    alone = []
    mask = log_signals.masked
    monkeypatch.setattr(log_signals, "masked", lambda text: alone.append(text) or mask(text))
    long_texts = ["y" * 250 + " 1", "y" * 250 + " 2"]
    texts = ["x 1", "x 2", "x 3", *long_texts, "é 1", "é 2", "a\x001", "a\x002"]

    assert top_grouped(texts, 5) == _top_plainly(texts, 5)
    assert sorted(set(alone)) == sorted({*long_texts, "é 1", "é 2", "a\x001", "a\x002"})


def test_long_ascii_texts_keep_the_read_on_the_one_translate(monkeypatch):
    """Long ASCII texts (a traceback, a driver error with its URL) do not send the read's other texts
    to the text-by-text forms: each long one's key is its cut mask's, the others are translated together,
    and a group without a long text is masked in the one substitution."""
    monkeypatch.setattr(log_signals, "_forms_one_by_one", lambda texts: pytest.fail("text by text"))
    masks = log_signals._masks
    seen: list[bool] = []
    monkeypatch.setattr(log_signals, "_masks", lambda texts, together: seen.append(together) or
                        masks(texts, together))
    long_texts = ["y" * 250 + " 1", "y" * 250 + " 2", "y" * 198 + " 12345 " + "q" * 10]
    texts = ["x 1", "x 2", "x 3", "w 1", "w 2", *long_texts, "y" * 198 + " 9 " + "r" * 10]
    assert top_grouped(texts, 5) == _top_plainly(texts, 5) == [
        ("x 1", 3), ("w 1", 2), ("y" * 250 + " 1", 2), ("y" * 198 + " 12345 " + "q" * 10, 2)]
    assert True in seen and False in seen


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", " ", "z" * 199, "z" * 200, "z" * 201, "\u0663"]),
                          st.text(alphabet=st.sampled_from(list("aN_ .:12\x00")), max_size=6)),
                max_size=12),
       st.integers(min_value=0, max_value=5))
def test_the_largest_groups_agree_on_random_texts_long_and_short(pairs, limit):
    texts = [head + tail for head, tail in pairs]
    assert top_grouped(texts, limit) == _top_plainly(texts, limit)
    assert top_grouped(texts, len(texts) + 1) == _top_plainly(texts, len(texts) + 1)


def test_a_long_text_is_masked_only_when_its_first_200_characters_may_not_give_its_key(monkeypatch):
    """Texts are compared by their form's first 120 characters. A long text whose first 200
    characters hold that many characters the form keeps has the key of its whole text's form, and
    is not masked unless it shares that key; one whose first 200 hold fewer (numbers crowd them) is
    masked, its mask cut at 200 characters, and groups with the texts its cut mask is equal to."""
    alone = []
    mask = log_signals.masked
    monkeypatch.setattr(log_signals, "masked", lambda text: alone.append(text) or mask(text))
    spelled = " failed to get instance metadata (connection name = \"p:r:i\"): Refresh error" * 4
    crowded = ["1 " * 100 + "x" * 50, "1 " * 100 + "y" * 50]   # one cut mask: "N N ... N "
    texts = ["a" + spelled, "b" + spelled, *crowded, "x 1", "x 2"]

    assert top_grouped(texts, 6) == _top_plainly(texts, 6)
    assert ("1 " * 100 + "x" * 50, 2) in top_grouped(texts, 6)
    assert set(alone) == set(crowded)
    # The crowded texts' whole forms differ in their first 120 characters: only their masks group them.
    forms = [t.encode().translate(None, log_signals._MASK_CHARS)[:120] for t in crowded]
    assert forms[0] != forms[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "1 " * 100, "z" * 119 + "1" * 81, "z" * 120 + "1" * 80,
                                           "z" * 60 + "1." * 70, "z" * 130]),
                          st.text(alphabet=st.sampled_from(list("aN_ .:12")), max_size=8)),
                max_size=10),
       st.integers(min_value=0, max_value=5))
def test_the_largest_groups_agree_on_random_texts_about_the_key(pairs, limit):
    """Long texts on both sides of the 120 characters a key needs in a text's first 200."""
    texts = [head + tail for head, tail in pairs]
    assert top_grouped(texts, limit) == _top_plainly(texts, limit)
    assert top_grouped(texts, len(texts) + 1) == _top_plainly(texts, len(texts) + 1)


# --- naming a refusal: all the texts in one search, exactly what each alone says -----------------

from shared.diagnosis.excerpts import excerpt   # noqa: E402
from shared.diagnosis.log_signals import Refusal, refusal_of, refusal_quote, refusals_of   # noqa: E402

REFUSAL_ROWS = [(t.example, t.refusal) for t in DB_ERROR_TEXTS] + [
    ("FATAL:  the database system is shutting down", Refusal.RESTARTING),
    ("FATAL:  sorry, too many clients already; then FATAL:  password authentication failed for user \"a\"",
     Refusal.CONNECTION_LIMIT),                                         # two kinds: the first in order
    ("ошибка: Too many connections", Refusal.CONNECTION_LIMIT),         # non-ASCII: the text alone
    # The Admin API's 429 as the Python connector's aiohttp and a Go client printing the connector's
    # error bare pass it on (newer aiohttp: the url without URL(...); the Admin API's own message).
    ("aiohttp.client_exceptions.ClientResponseError: 429, message=\"Quota exceeded for quota metric 'Connect "
     "Queries' and limit 'Connect Queries per minute per user' of service 'sqladmin.googleapis.com'.\", "
     "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings'",
     Refusal.ADMIN_API_QUOTA),
    ("aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', "
     "url=URL('https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i:generateEphemeralCert')",
     Refusal.ADMIN_API_QUOTA),
    ('Refresh error: failed to get instance metadata (connection name = "shop:us-central1:orders"): googleapi: '
     "Error 429: Quota exceeded for quota metric 'Connect Queries', rateLimitExceeded", Refusal.ADMIN_API_QUOTA),
    ('mysql: Refresh error: create ephemeral cert failed (connection name = "p:r:i"): fetch ephemeral cert failed: '
     "googleapi: Error 429: Quota exceeded, rateLimitExceeded", Refusal.ADMIN_API_QUOTA),
    ("aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', "
     "url=URL('https://huggingface.co/api/datasets/x')", ""),
    ("\u212anex: Timeout acquiring a connection", ""),
    ("Access denied for user", ""),
    # MySQL's 1044: the login accepted, the database refused it; never 1045's bad credentials.
    ("mysql.connector.errors.ProgrammingError: 1044 (42000): Access denied for user 'orders'@'%' to database "
     "'orders_v2'", Refusal.DB_ACCESS),
    ("Error 1044 (42000): Access denied for user 'orders'@'10.8.0.5' to database 'orders'", Refusal.DB_ACCESS),
    ("Error 1698 (28000): Access denied for user 'root'@'localhost'", Refusal.CREDENTIALS),
    ("", ""),
]


def test_refusals_named_together_as_each_alone():
    texts = [text for text, _ in REFUSAL_ROWS]
    assert {text: refusal_of(text) for text in texts} == dict(REFUSAL_ROWS)
    for order in (texts, texts[::-1]):
        assert refusals_of(order) == {text: refusal_of(text) for text in order}


@pytest.mark.parametrize("text, refusal", [
    # A PostgreSQL role's or database's own CONNECTION LIMIT is not max_connections (nor MySQL's 1040,
    # whose words it holds): its own kind, with its own advice.
    ('pq: too many connections for role "app"', Refusal.ROLE_LIMIT),
    ('FATAL:  too many connections for database "orders"', Refusal.ROLE_LIMIT),
    ('connection to server at "10.0.0.3", port 5432 failed: FATAL:  too many connections for role "app"',
     Refusal.ROLE_LIMIT),
    ('ошибка: too many connections for role "app"', Refusal.ROLE_LIMIT),     # non-ASCII: the text alone
    ("ERROR 1040 (HY000): Too many connections", Refusal.CONNECTION_LIMIT),
    # MySQL's per-user limit (1203, 1226) is the user's own, not the server's max_connections (1040).
    ("pymysql.err.OperationalError: (1203, \"User catalog already has more than 'max_user_connections' active "
     "connections\")", Refusal.USER_LIMIT),
    ("Error 1226 (42000): User 'orders' has exceeded the 'max_user_connections' resource (current value: 10)",
     Refusal.USER_LIMIT),
    # lib/pq's bare "pq: " + the server's message: the database or role the connection names is missing.
    # lib/pq prints no severity: a FATAL at connect or a statement's ERROR (Refusal.NAME_MISSING).
    ('pq: database "orders" does not exist', Refusal.NAME_MISSING),
    ('pq: role "orders" does not exist', Refusal.NAME_MISSING),
    ('pq: password authentication failed for user "orders"', Refusal.CREDENTIALS),
    # The database's own resources exhausted: a full disk met by a WAL segment or a temporary file, MySQL's
    # ENOSPC (errno 28), transaction ID wraparound protection. The database answered each.
    ('PANIC:  could not write to file "pg_wal/xlogtemp.4121": No space left on device', Refusal.STORAGE_FULL),
    ('ERROR: could not write to file "base/pgsql_tmp/pgsql_tmp8121.0": No space left on device (SQLSTATE 53100)',
     Refusal.STORAGE_FULL),
    ("(3, \"Error writing file '/tmp/MYfd=58' (Errcode: 28 - No space left on device)\")", Refusal.STORAGE_FULL),
    ("(1030, \"Got error 28 - 'No space left on device' from storage engine\")", Refusal.STORAGE_FULL),
    ('pq: database is not accepting commands to avoid wraparound data loss in database "orders"',
     Refusal.WRAPAROUND),
    ('database is not accepting commands that generate new MultiXactIds to avoid wraparound data loss in database "a"',
     Refusal.WRAPAROUND),
    # The application's own disk (a file of its own, Python's OSError, another errno) is no answer.
    ('could not write to file "/tmp/upload-4121.bin": No space left on device', ""),
    ("OSError: [Errno 28] No space left on device: '/tmp/cache/orders.json'", ""),
    ("(3, \"Error writing file '/tmp/MYfd=58' (OS errno 5 - Input/output error)\")", ""),
    ("WARNING:  database \"orders\" must be vacuumed within 10985967 transactions", ""),
    # Broken connections are no answer.
    ("Error: Connection terminated unexpectedly", ""),
    ("psycopg2.OperationalError: SSL connection has been closed unexpectedly", ""),
    ("Error: Connection lost: The server closed the connection.", ""),
    ("psycopg2.OperationalError: SSL SYSCALL error: EOF detected", ""),
])
def test_the_kind_of_refusal_each_driver_text_names(text, refusal):
    assert refusal_of(text) == refusal
    assert refusals_of([text]) == {text: refusal}


def test_the_one_search_names_the_refusals_it_classified(monkeypatch):
    """A text the one search found refused is named by it: refusals_of searches it no more, and
    names it exactly as refusal_of does (a line two kinds match: the first in order)."""
    texts = [text for text, _ in REFUSAL_ROWS] + [t.example for t in DB_ERROR_TEXTS if not t.refusal]
    for order in (texts, texts[::-1]):
        _fresh(order)
        searched: list[list[str]] = []
        slow = log_signals._refusals_searched
        monkeypatch.setattr(log_signals, "_refusals_searched", lambda ts: searched.append(ts) or slow(ts))
        assert refusals_of(order) == {text: refusal_of(text) for text in order}
        # Only what the search did not find refused is named again: the non-ASCII text, the others.
        refused = {t for t in order if t.isascii() and LogSignal.DB_REFUSED in classify(t)}
        assert len(refused) == sum(1 for t in DB_ERROR_TEXTS if t.refusal) + 9   # the ASCII refusals added above
        assert searched and not refused & set(searched[0])
        monkeypatch.undo()


def test_a_forgotten_search_names_the_refusals_again():
    texts = [t.example for t in DB_ERROR_TEXTS if t.refusal]
    _fresh(texts)
    classify_all.cache_clear()
    assert not log_signals._NAMED
    assert refusals_of(texts) == {text: refusal_of(text) for text in texts}


def test_a_kind_bit_left_off_its_pattern_is_caught(monkeypatch):
    """Each refusal pattern carries its kind's bit into the search: without it, a line is named by
    another kind's pattern or not at all."""
    kind = log_signals._KINDS.index(Refusal.CREDENTIALS)
    wrong = tuple(a._replace(bit=a.bit & ~(1 << (len(log_signals._BITS) + kind))) for a in log_signals._ANCHORS)
    monkeypatch.setattr(log_signals, "_ANCHORS", wrong)
    texts = [t.example for t in DB_ERROR_TEXTS if t.refusal]
    _fresh(texts)
    assert refusals_of(texts) != {text: refusal_of(text) for text in texts}


@settings(max_examples=100, deadline=None)
@given(st.lists(_lines(), max_size=12))
def test_refusals_named_by_the_search_agree_on_random_reads(texts):
    _fresh(texts)
    assert refusals_of(texts) == {text: refusal_of(text) for text in dict.fromkeys(texts)}


def _quote_plainly(text: str, limit: int = 160) -> str:
    """refusal_quote as first written: each kind's pattern searched in order, the first match quoted."""
    found = next((m for m in (p.search(text) for p in log_signals._REFUSALS.values()) if m), None)
    start = max(0, found.start() - 40) if found else 0
    return excerpt(text, start, limit, latest=found.start() if found else None)


_LONG_PREFIX = "2026/11/26 11:52:35.629821 req=f85949e9cba4 handler=/checkout attempt=3 pool=primary " * 2


@pytest.mark.parametrize("classified", [True, False], ids=["classified", "not classified"])
def test_a_refusal_is_quoted_from_the_first_kind_that_matches(classified):
    """refusal_quote searches only the kind refusal_of names (the one search's, when it classified the
    text): the same match as trying each kind in turn, on every refusal, a line two kinds match, a
    refusal past the first 120 characters, non-ASCII text and texts with no refusal."""
    texts = [text for text, _ in REFUSAL_ROWS] + [_LONG_PREFIX + text for text, _ in REFUSAL_ROWS]
    classify_all.cache_clear()
    if classified:
        classify_all(texts)
    assert [refusal_quote(text) for text in texts] == [_quote_plainly(text) for text in texts]
    assert any(quote.startswith("...") for quote in map(refusal_quote, texts))


def test_a_refusal_quoted_by_the_wrong_kind_is_caught():
    """The quote relies on the kind being refusal_of's: a wrong name quotes from elsewhere or not at all."""
    text = _LONG_PREFIX + "FATAL:  sorry, too many clients already"
    _fresh([text])
    assert refusal_quote(text) == _quote_plainly(text)
    log_signals._NAMED[text] = next(k for k in log_signals._KINDS if k != refusal_of(text))
    assert refusal_quote(text) != _quote_plainly(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(_lines(), max_size=12))
def test_refusals_quoted_agree_on_random_reads(texts):
    _fresh(texts)
    assert [refusal_quote(text) for text in texts] == [_quote_plainly(text) for text in texts]


# --- an alternative's other literal runs, looked for before its regex (`_Anchor.needs`) ----------

@pytest.mark.parametrize("alternative, needs", [
    # The runs at the alternative's own level, lower-cased, besides its anchor: ": " is too short to tell.
    (r"failed to connect to [^\n]*?\bgoogleapi: Error 429\b: ", {"googleapi: error 429"}),
    (r"\blookup [\w-]+\.[\w.-]+: [^\n]*?i/o timeout", {"lookup "}),
    # Inside a group, a repeat, an alternation or a look-around a run is not in every match: not needed.
    (r"dial error (?:code 42)+ seen", {" seen"}),
    (r"dial error(?=, retrying)", set()),
    (r"dial error(?! after retries) at host", {" at host"}),
    (r"(retries ended) dial error", set()),
    (r"(?:retries ended|gave up) dial error", set()),
    (r"dial errorx? code", {" code"}),       # the optional "x" ends the run before it
    # A group of one alternative and no flags is read as its items (the parser inlines it): needed.
    (r"(?:the retries) ended: dial error", set()),   # one run, the anchor itself
    (r"(?:dial) error\b, code\b", {", code"}),
    # A run inside the anchor is found with it; a non-ASCII run is not lower-cased alike.
    (r"dial error\bial err", set()),
    ("dial error at caf\u00e9 bar", set()),
])
def test_an_alternatives_other_runs(alternative, needs):
    (items,) = log_signals._alternatives(alternative)
    assert log_signals._needs(items, log_signals._anchor_of(items)[0]) == needs


class _CountedPattern:
    """A compiled pattern whose every `match` and `search` is counted."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.compiled, self.pattern, self.flags, self.asked = pattern, pattern.pattern, pattern.flags, 0

    def match(self, text: str, pos: int = 0):
        self.asked += 1
        return self.compiled.match(text, pos)

    def search(self, text: str, pos: int = 0):
        self.asked += 1
        return self.compiled.search(text, pos)


@pytest.mark.parametrize("pattern, asked", [
    (r"dial error [^\n]*?\bcode 42\b", 2),           # the anchor leads: matched at the hit
    (r"\bcode 42\b[^\n]*?dial error at", 2),         # it does not: searched from the line's start
])
def test_a_line_without_an_alternatives_other_run_is_not_searched(monkeypatch, pattern, asked):
    """The regex runs only on the lines that hold its alternative's anchor and every other run it
    needs: the line with the anchor alone is answered without it (3 runs before), and exactly as the
    reference."""
    counted = _CountedPattern(re.compile(pattern, re.IGNORECASE | re.ASCII))
    monkeypatch.setattr(log_signals, "_PATTERNS", {DB: (pattern,)})
    monkeypatch.setattr(log_signals, "_COMPILED", {DB: re.compile(pattern, re.IGNORECASE)})
    monkeypatch.setattr(log_signals, "_ANCHORS", tuple(a._replace(pattern=counted) for a in log_signals._anchored()))
    texts = ["a DIAL ERROR at host db, retrying", "a dial error at host db: CODE 42", "code 42 then a dial error at db"]
    assert _fresh(texts) == {text: signals_by_pattern(text) for text in texts}
    assert counted.asked == asked


def _near_misses() -> list[str]:
    """Every table text that holds an anchor's other needed run, once for each such run, with that run
    cut out (its first letter dropped) while the anchor stays: the lines the runs' test turns away."""
    missing = []
    for text, _ in TABLE:
        lowered = text.lower()
        for anchor in log_signals._ANCHORS:
            if not anchor.text or anchor.text not in lowered:
                continue
            for need in getattr(anchor, "needs", ()):   # read at collection: main's anchors had none
                at = lowered.find(need)
                if at >= 0:
                    cut = text[:at] + text[at + 1:]
                    if anchor.text in cut.lower():
                        missing.append(cut)
    return sorted(set(missing))


NEAR_MISSES = _near_misses()


def test_near_misses_of_the_needed_runs_exist():
    assert len(NEAR_MISSES) > 50


@pytest.mark.parametrize("text", NEAR_MISSES, ids=[t[:50] for t in NEAR_MISSES])
def test_a_needed_run_cut_out_classifies_as_the_reference(text):
    assert _fresh([text]) == {text: signals_by_pattern(text)}


def test_every_needed_run_is_in_every_example_its_pattern_matches_alone():
    """The runs a line must hold are read from the patterns themselves: for every anchor's pattern,
    each table text that pattern matches, and only through this alternative's anchor (no other
    alternative of it holds there), holds each of its needed runs."""
    alternatives: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for anchor in log_signals._ANCHORS:
        alternatives.setdefault(anchor.pattern.pattern, []).append((anchor.text, anchor.needs))
    checked = 0
    for text, _ in TABLE:
        if not text.isascii():
            continue
        lowered = text.lower()
        for source, owned in alternatives.items():
            if not re.search(source, text, re.IGNORECASE):
                continue
            held = [needs for anchor, needs in owned if anchor and anchor in lowered]
            if len(held) == 1 and held[0]:
                assert all(need in lowered for need in held[0]), (source, text)
                checked += 1
    assert checked > 100
