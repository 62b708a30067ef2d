"""What Runwarden looks for in logs: the queries it sends, and the strings that mean something.

Strings are the platform's and the client libraries' own (Cloud Run's troubleshooting page, the
Cloud SQL connectors and Auth Proxy, and the common drivers and pools: DB_ERROR_TEXTS names the
source of each), matched case-insensitively. Each signal names its kind, so evidence can say which string matched.
"""
from __future__ import annotations

import ipaddress
import operator
import re
import sys
from bisect import bisect_right
from collections import Counter
from datetime import datetime
from enum import Enum
from functools import lru_cache
from itertools import accumulate, compress, islice, repeat
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence, TypeVar

import ahocorasick_rs

from shared.diagnosis.evidence import LEVEL_KEYS, LEVEL_WORDS, OBJECT_KEYS, LogRecord
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.run_audit import SERVICE_WRITES, service_methods
from shared.gcp.run_logs import REQUEST_LOG, STDERR, STDOUT, SYSTEM_LOG, log_name
from shared.redaction import host_userinfo_pattern

_T = TypeVar("_T")


class LogSignal(str, Enum):
    DB_CONNECTION = "db_connection_error"     # the app cannot reach its database, or the database refuses it
    DB_REFUSED = "db_refused"                 # the database (or Cloud SQL's API) answered, and refused
    CONNECTOR_503 = "connection_error_503"    # Cloud Run's 503 text for a failed connection to the instance
    REQUEST_TIMEOUT = "request_timeout"       # Cloud Run's 504 text
    NO_INSTANCE = "no_available_instance"     # Cloud Run's 429/500 text at max instances
    STARTUP_FAILURE = "startup_failure"       # probes failing, container not listening
    SECRET_FAILURE = "secret_failure"         # a secret missing or not accessible
    DB_CANCELLED = "db_statement_cancelled"   # the database ran a statement and cancelled it (its or the client's timeout)
    DB_STATEMENT_FAILED = "db_statement_failed"  # the database ran a statement and ended it (a deadlock, a limit of its own)
    MEMORY_LIMIT = "memory_limit_exceeded"    # Cloud Run killed an instance for exceeding its memory limit
    LIVENESS_SHUTDOWN = "liveness_shutdown"   # Cloud Run shut an instance down after its liveness probe failed
    DOWNSTREAM_5XX = "downstream_run_5xx"     # another Cloud Run service answered the app's own call with a 5xx
    DB_POOL_WAIT = "db_pool_wait"             # the app gave up waiting for a connection from its OWN pool
    UPSTREAM_TIMEOUT = "upstream_http_timeout"  # the app's own HTTP call to a named host timed out
    DNS_FAILURE = "dns_failure"               # a name the application looked up did not resolve (no answer, or none such)
    GOOGLE_API_WAIT = "google_api_wait"       # the app's own Google Cloud client library call ran out its deadline
    WORKER_TIMEOUT = "app_worker_timeout"     # the app's own server ended a worker stuck past its timeout (or killed)
    APP_TIMEOUT_503 = "app_timeout_503"       # the app's own framework timed a request out and answers it 503


class DbErrorText(NamedTuple):
    """One way a client stack says it cannot reach its database: the pattern matched, a real
    message it matches (tests run each one), and where that message was seen.

    `refusal` names what the database (or Cloud SQL's Admin API) said when the message is its
    answer, a refusal (Refusal below); "" when nothing answered (a dial timeout, a reset, a pool
    wait), which a saturated path can cause. An answer proves the path to the database works."""

    stack: str
    pattern: str
    example: str
    source: str
    refusal: str = ""


class InstanceState(NamedTuple):
    """One state of a Cloud SQL instance in which the Admin API refuses the connectors' calls for it:
    the words a summary says, and what the state checks (_STATE_CHECKS) show for it."""

    meaning: str
    seen_as: str


# The instance's states the Admin API's answers to the connectors can show, one wording each. The state
# field reads SqlInstanceState: "RUNNABLE: The instance is running, or has been stopped by owner.",
# "SUSPENDED: The instance is not available, for example due to problems with billing.", "MAINTENANCE:
# The instance is down for maintenance.", "PENDING_CREATE: The instance is being created." (Cloud SQL
# Admin API v1, DatabaseInstance.SqlInstanceState; the google-cloud-sql client libraries' docstrings
# say the same); a stopped instance is RUNNABLE with settings.activationPolicy NEVER (Settings.
# SqlActivationPolicy), and a suspended one says why in suspensionReason (SqlSuspensionReason:
# BILLING_ISSUE, LEGAL_ISSUE, OPERATIONAL_ISSUE, KMS_KEY_ISSUE). An operation in progress (a restart,
# an update, a failover) shows in the instance's operations with status RUNNING (Operation.status).
INSTANCE_STATES: dict[str, InstanceState] = {
    "stopped": InstanceState("stopped by its owner (activation policy NEVER)",
                             "RUNNABLE with activation policy NEVER: stopped by its owner (start it with activation "
                             "policy ALWAYS if it should run)"),
    "suspended": InstanceState("suspended (billing, or a policy)",
                               "SUSPENDED: suspensionReason says why (BILLING_ISSUE: the project's billing account; "
                               "LEGAL_ISSUE, OPERATIONAL_ISSUE: a policy; KMS_KEY_ISSUE: its encryption key)"),
    "maintenance": InstanceState("down for maintenance",
                                 "MAINTENANCE: it ends by itself (the instance's maintenance window and its "
                                 "maintenance events)"),
    "operation": InstanceState("being changed by an operation in progress (a restart, an update, a failover)",
                               "an operation RUNNING: it ends by itself, then the pools reconnect"),
    "creating": InstanceState("still being created", "PENDING_CREATE: the instance is still being created"),
}
# How a person tells the states apart: the instance's own fields, and its operations.
_STATE_CHECKS = ("gcloud sql instances describe INSTANCE --format='value(state,settings.activationPolicy,"
                 "suspensionReason)' and gcloud sql operations list --instance INSTANCE --limit 10")


def _states(*names: str) -> str:
    """The named states' words, as one list ("a, b or c")."""
    said = [INSTANCE_STATES[name].meaning for name in names]
    return ", ".join(said[:-1]) + " or " + said[-1] if len(said) > 1 else said[0]


def _state_advice(*names: str) -> str:
    """What a person checks for the named states: the two checks, then what each state shows as."""
    return (f"the instance's state ({_STATE_CHECKS}): " + "; ".join(INSTANCE_STATES[name].seen_as for name in names)
            + "; and who changed it (its operations, the Admin Activity audit log)")


# The Admin API's 400 "Invalid request since instance is not running": gcloud and Terraform meet it on a
# stopped and on a suspended instance (terraform-google-modules/terraform-google-sql-db issues #286 and
# #333, hashicorp/terraform-provider-google #7810), and an instance being created (turbot/steampipe-
# plugin-gcp issue #243, at PENDING_CREATE). Its 409 invalidState "The instance or operation is not in an
# appropriate state to handle the request." answers a call the instance's state or an operation in
# progress forbids (GoogleCloudPlatform/cloud-sql-proxy issue #35: a failover asked again while the first
# ran; GoogleCloudPlatform/django-cloud-deploy issue #237); which states answer the connectors'
# connectSettings and generateEphemeralCert calls with which of the two is UNCONFIRMED (Cloud SQL's error
# pages list neither per state), so the 409 is said to be any of them, and the 400 only what it says.
_NOT_RUNNING = ("stopped", "suspended", "creating")
_NOT_SERVING = ("stopped", "suspended", "maintenance", "operation")


class Refusal:
    """What the database answered, in words a person acts on (DbErrorText.refusal)."""

    CONNECTION_LIMIT = "connection limit reached (too many clients)"
    ROLE_LIMIT = ("connection limit of the role or database reached (PostgreSQL's CONNECTION LIMIT of the role or "
                  "database the application connects as, below max_connections)")
    # MySQL's per-account limit (1203 ER_TOO_MANY_USER_CONNECTIONS: "User %s already has more than
    # 'max_user_connections' active connections"; 1226 ER_USER_LIMIT_REACHED: "User '%s' has exceeded the '%s'
    # resource (current value: %ld)"; MySQL Server Error Message Reference): the user's sessions, counted against
    # max_user_connections or the account's MAX_USER_CONNECTIONS, not the server's max_connections (1040). A larger
    # instance or connector raises neither; fewer connections as that user, or a higher limit for it, do.
    USER_LIMIT = ("connection limit of the database user reached (MySQL's max_user_connections, or the account's "
                  "MAX_USER_CONNECTIONS resource: a limit per user, below max_connections)")
    CREDENTIALS = "credentials refused (password authentication failed)"
    # MySQL's own answer to a login whose password expired (its lifetime, a policy, ALTER USER ... PASSWORD
    # EXPIRE): no secret or rotation on the client's side is wrong, and the password is changed on the server.
    PASSWORD_EXPIRED = ("the database user's password has expired (MySQL's password expiry: the server refuses the "
                        "user's logins until its password is changed)")
    # The server asked for a way of logging in the client cannot do: a password kept as SCRAM-SHA-256 (PostgreSQL
    # 14's default password_encryption) before a libpq older than 10, or a MySQL account on caching_sha2_password
    # before a client without that plugin. The password may be right; the user's stored form or the client changed.
    AUTH_METHOD = ("the client cannot answer the authentication method the server asks for the user (a password "
                   "stored as SCRAM-SHA-256 before a libpq older than 10 or a driver without SCRAM; a MySQL account "
                   "on caching_sha2_password before a client without that plugin)")
    IAM_USER = ("IAM database authentication refused (the service account is not a database user, lacks "
                "cloudsql.instances.login, or its access token expired)")
    NOT_AUTHORIZED = ("not authorized: the service account may not connect to the instance "
                      "(cloudsql.instances.connect, roles/cloudsql.client)")
    # A read replica, or an instance set read-only: the server refuses writes, whatever its disk holds.
    READ_ONLY = "writes refused: the database is read-only (a read replica, or an instance set read-only)"
    # The disk full: each engine says so in its own words (no space left on device, disk full, a short
    # write, a table full), and a person frees or adds storage, not a replica's host.
    STORAGE_FULL = "writes refused: the instance's storage is full (no space left for the database's files)"
    WRAPAROUND = ("writes refused: the database stopped assigning transaction IDs to avoid wraparound data loss "
                  "(PostgreSQL: VACUUM has not frozen its oldest rows)")
    NOT_ADMITTED = ("the database admits no connection of this kind (pg_hba.conf, or MySQL's require_secure_transport: "
                    "an unencrypted connection while the instance requires SSL/TLS, or the client's host or user not "
                    "admitted)")
    CERTIFICATE = ("the server's TLS certificate is not trusted (certificate verify failed: a rotated server CA, "
                   "or a CA file the client pins that no longer matches)")
    TLS_MISMATCH = ("the client and the server agree on no TLS (the client requires SSL/TLS the server, or a local "
                    "proxy, does not offer; or the two have no TLS version in common)")
    RESTARTING = "the database is restarting (maintenance, failover or a restart ended the connections)"
    SOURCE_NOT_ALLOWED = ("the database has no account for the user at the connections' source address (MySQL: the "
                          "host is not allowed to connect)")
    HBA_NO_ENTRY = ("the database's pg_hba.conf admits no connection from the connections' source address for this user "
                    "and database, though the connection was encrypted (PostgreSQL: no pg_hba.conf entry for host)")
    HOST_BLOCKED = ("the database blocks the connections' source address after too many interrupted connections "
                    "(MySQL max_connect_errors)")
    CRASHED = ("a database server process crashed and the database ended every session to recover (PostgreSQL's "
               "crash_shutdown; most often a process killed for memory)")
    NOT_RUNNING = f"the instance is not running: {_states(*_NOT_RUNNING)}"
    NOT_SERVING = ("the instance is not in a state to hand out certificates (the Admin API's 409 invalidState): "
                   f"{_states(*_NOT_SERVING)}")
    NO_SUCH_HOST = "the database's host name does not resolve (DNS answered: no such host)"
    NO_SUCH_INSTANCE = ("the Cloud SQL instance the connection name names does not exist (deleted, or renamed "
                        "under the clients)")
    ADMIN_API_QUOTA = ("the Cloud SQL Admin API refuses the connectors' calls at the project's quota (429 "
                       "rateLimitExceeded): no connection to the database is dialled")
    ADMIN_API_DISABLED = ("the Cloud SQL Admin API is disabled in the project (403 accessNotConfigured): the "
                          "connectors fetch no certificate, and no connection to the database is dialled")
    NO_IP_OF_TYPE = ("the instance has no IP address of the type the client asks for (its public or private IP was "
                     "turned off, or the client asks for the wrong type)")
    PROXY_LIMIT = ("the Cloud SQL Auth Proxy's own --max-connections reached (it closes each connection over it in "
                   "the instance, without dialing)")
    POOLER_LIMIT = ("the connection pooler's own client limit reached (PgBouncer's max_client_conn: new clients "
                    "refused by the pooler, whatever the database's max_connections)")
    # MySQL's answer to a login it accepted, for a database the account holds no privilege on (1044): the
    # password was right; a grant is missing, or the connection asks for another database than before.
    DB_ACCESS = ("the database accepted the user's login but refuses it the database it asks for (MySQL 1044 "
                 "access denied to database: no privilege of the user's on it; a grant revoked, or a database name "
                 "changed on the client)")
    # MySQL's answer to a connection that asks for a database the server does not hold (1049).
    UNKNOWN_DATABASE = ("the MySQL server holds no database of the name the connection asks for (1049 Unknown "
                        "database: a database name changed on the client, or the database dropped or renamed)")
    # PostgreSQL's 'database "x" does not exist' and 'role "x" does not exist' are a FATAL at connect and a
    # statement's ERROR alike (server_fatal's docstring); a driver that prints neither severity nor SQLSTATE
    # (lib/pq, node-postgres, sqlx) leaves the two readings open.
    NAME_MISSING = ("the PostgreSQL server says a database or role does not exist, in driver words that do not say "
                    "whether it refused the connection (a FATAL at connect) or a statement (an ERROR: DROP, ALTER or "
                    "GRANT on a database, SET ROLE)")
    SERVER_FATAL = ("the PostgreSQL server ended the connection with an error of its own (a FATAL it sent: a database "
                    "or role missing or not permitted to connect, the server short of memory, a limit of its own)")


# What a person checks for each refusal: the database's side of the runbook, never an action.
REFUSAL_ADVICE = {
    Refusal.CONNECTION_LIMIT: "the instance's max_connections "
                              "against every client's pool size x max instances "
                              "(a deploy that raised either, a job holding sessions)",
    # PostgreSQL counts a role's (or a database's) sessions against its own CONNECTION LIMIT
    # (pg_roles.rolconnlimit, pg_database.datconnlimit; CREATE ROLE / ALTER ROLE ... CONNECTION LIMIT,
    # PostgreSQL docs) and refuses past it while max_connections still has room (miscinit.c
    # InitializeSessionUserId: "too many connections for role"; postinit.c CheckMyDatabase: "... for database").
    Refusal.ROLE_LIMIT: "the role's and the database's own CONNECTION LIMIT (SELECT rolconnlimit FROM pg_roles, "
                        "datconnlimit FROM pg_database; ALTER ROLE ... CONNECTION LIMIT) and who changed it, against "
                        "the sessions the role holds (pg_stat_activity by usename) and every client's pool size x max "
                        "instances (a deploy that raised either, a job connecting as the same role)",
    # The limit is the user's own (Refusal.USER_LIMIT): max_user_connections is a server variable (a Cloud SQL
    # for MySQL database flag, "Configure database flags"), MAX_USER_CONNECTIONS an account's resource limit
    # (MySQL Reference Manual, "Setting Account Resource Limits"; mysql.user.max_user_connections, 0 for none).
    Refusal.USER_LIMIT: "the database user's own connection limit (SHOW VARIABLES LIKE 'max_user_connections', a "
                        "database flag; SELECT user, host, max_user_connections FROM mysql.user) and who changed it, "
                        "against the sessions the user holds (SELECT user, host, COUNT(*) FROM "
                        "information_schema.processlist GROUP BY user, host) and every client's pool size x max "
                        "instances connecting as that user (a deploy that raised either, a job connecting as the same "
                        "user): a larger instance or connector does not raise a limit per user",
    Refusal.CREDENTIALS: "the database user's password against the secret version the revision reads (a "
                         "rotation done on one side only)",
    # MySQL checks the account's privileges on the database the connection names (COM_INIT_DB or the handshake's
    # database) after the password, and answers 1044 when it holds none there (MySQL Server Error Message
    # Reference, ER_DBACCESS_DENIED_ERROR): the password is not in question, the grant and the name are.
    Refusal.DB_ACCESS: "the user's grants on the database the revision asks for (SHOW GRANTS FOR 'user'@'host'; a "
                       "REVOKE, a user dropped and created again without its grants) and who changed them, against "
                       "the database name the revision asks for (a DB_NAME-style setting, a URL's path): the "
                       "password was accepted, so no secret rotation explains it",
    # Cloud SQL for MySQL's password policy expires a user's password after its lifetime (Cloud SQL docs,
    # "Manage users with built-in authentication", password policy), as MySQL's default_password_lifetime and
    # ALTER USER ... PASSWORD EXPIRE do (MySQL Reference Manual, "Password Management"); the connections already
    # open keep working, so the refusals grow as a pool renews its connections.
    Refusal.PASSWORD_EXPIRED: "the database user's password expiry (Cloud SQL for MySQL's password policy, "
                              "default_password_lifetime, ALTER USER ... PASSWORD EXPIRE): set a new password on the "
                              "instance and in the secret the revision reads, or lift the expiry",
    # PostgreSQL keeps a password in the form password_encryption names when it is set ("password_encryption",
    # PostgreSQL docs: scram-sha-256 the default since 14), so setting it again (ALTER ROLE, or the Admin API's
    # users.update) turns an md5 password SCRAM; a MySQL account's plugin is set when it is created (CREATE USER
    # ... IDENTIFIED WITH, caching_sha2_password the default since 8.0; MySQL Reference Manual, "Caching SHA-2
    # Pluggable Authentication"). Which form Cloud SQL's users.update or users.insert stores is UNCONFIRMED: the
    # advice names both sides.
    Refusal.AUTH_METHOD: "the database user's stored authentication method against the client's (PostgreSQL: SELECT "
                         "rolname, left(rolpassword, 14) FROM pg_authid, password_encryption, and the libpq or driver "
                         "version in the image; MySQL: SELECT user, host, plugin FROM mysql.user, and the client's "
                         "plugins) and who set the user's password or recreated it (cloudsql.users.update or .insert "
                         "in the Admin Activity audit log), or the deploy that changed the image's client library",
    # "OAuth 2.0 access tokens are short lived and are only valid for one hour. Any new connections
    # or logins created after this time will fail." (Cloud SQL docs, "Log in using IAM database
    # authentication"); the server then says the same "IAM ... authentication failed"
    # (cloud-sql-jdbc-socket-factory issue #1174: "bad token, expired token").
    Refusal.IAM_USER: "that the revision's service account is an IAM database user of the instance, with "
                      "roles/cloudsql.instanceUser; and, if it logs in with an access token it fetched itself "
                      "(manual IAM login), that the token is fresh: it is valid for one hour, and a pool that "
                      "reconnects later with the same token is refused (automatic IAM login through a Cloud SQL "
                      "connector or the Auth Proxy refreshes it)",
    Refusal.NOT_AUTHORIZED: "the revision's service account's roles/cloudsql.client (cloudsql.instances.connect) "
                            "on the instance's project, and the connection name",
    # MySQL's read_only and super_read_only flags and PostgreSQL's default_transaction_read_only make a
    # primary refuse writes as a replica does (MySQL Reference Manual, "Server System Variables";
    # PostgreSQL docs, "Client Connection Defaults"). That Cloud SQL sets an instance read-only as its
    # storage runs out is UNCONFIRMED: the disk is named last.
    Refusal.READ_ONLY: "whether the application points at a read replica (its host or instance connection name "
                       "against the primary's), and the instance's read-only settings and who changed them "
                       "(MySQL's read_only and super_read_only flags, PostgreSQL's default_transaction_read_only); "
                       "then its disk utilization",
    # Cloud SQL's disk metrics (cloudsql.googleapis.com/database/disk/utilization and .../disk/quota,
    # Google Cloud metrics list) and its automatic storage increase setting (settings.storageAutoResize,
    # Cloud SQL Admin API v1 reference) say how full it is and whether it would have grown.
    Refusal.STORAGE_FULL: "the instance's storage (database/disk/utilization against database/disk/quota; automatic "
                          "storage increase off, or at its limit) and what filled it (an import, a sort's or a "
                          "temporary table's files, binary logs or WAL held back)",
    # Cloud SQL's "Overcome transaction ID (TXID) wraparound protection" page: find the oldest
    # transaction ID's database (age(datfrozenxid)), end what holds VACUUM back (long transactions,
    # old prepared transactions, stale replication slots), then VACUUM; cloudsql.enable_maintenance_mode
    # gives 500,000 transaction IDs to do it. Nothing a rollback or a connector changes.
    Refusal.WRAPAROUND: "the instance's transaction ID age (SELECT datname, age(datfrozenxid) FROM pg_database) and "
                        "what holds VACUUM back (long-running or old prepared transactions, stale replication slots); "
                        "Cloud SQL's \"Overcome transaction ID (TXID) wraparound protection\" page (VACUUM, "
                        "cloudsql.enable_maintenance_mode)",
    # instances.rotateServerCa "Rotates the server certificate to one signed by the Certificate
    # Authority (CA) version previously added with the addServerCA method" (Cloud SQL Admin API
    # reference): a client that verifies against the old CA (sslrootcert / ssl-ca, sslmode verify-ca
    # or verify-full) refuses the new certificate on every new connection, on every revision that
    # ships the same CA file. The Cloud SQL connectors and the Auth Proxy fetch the CA themselves.
    Refusal.CERTIFICATE: "the instance's server CA and certificate (gcloud sql ssl server-ca-certs list, its "
                         "operations: a rotateServerCa) and who rotated it, against the CA file the application "
                         "verifies with (sslrootcert, ssl-ca) and its sslmode; the Cloud SQL connectors and the Auth "
                         "Proxy fetch the CA themselves",
    # Cloud SQL's IpConfiguration.sslMode ENCRYPTED_ONLY "Only allow connections encrypted with SSL/TLS"
    # (Cloud SQL Admin API v1 reference); "A change to SSL mode configuration applies only to new
    # connections" (Cloud SQL docs, "Configure SSL/TLS certificates"), so pools fail as they reconnect.
    Refusal.NOT_ADMITTED: "the instance's SSL mode (gcloud sql instances describe: settings.ipConfiguration.sslMode "
                          "ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED, the legacy requireSsl; MySQL: also the "
                          "require_secure_transport flag) and who changed it, against the client's sslmode or TLS "
                          "setting (the Cloud SQL connectors and the Auth Proxy always "
                          "encrypt); and the address the connections come from",
    # The server answered (PostgreSQL's 'N' to the client's SSLRequest, a TLS alert, or a version the
    # client's TLS library will not speak): the path works. The Cloud SQL Auth Proxy and the connectors
    # take plain connections locally and encrypt themselves, so a client that requires SSL of them is
    # refused ("sslmode=disable" toward them: GoogleCloudPlatform/cloud-sql-go-connector issue #889;
    # that the Auth Proxy answers 'N' is UNCONFIRMED in its source); a client library upgraded to a TLS
    # floor the server does not reach, or one whose TLS versions were disabled (Connector/J against
    # older JDKs), has no version in common.
    Refusal.TLS_MISMATCH: "the client's TLS settings (sslmode, ssl, ssl-mode, enabledTLSProtocols) and its TLS "
                          "library's lowest version, against the instance's SSL mode (settings.ipConfiguration."
                          "sslMode) and the TLS versions it accepts, and who changed either; a client that dials the "
                          "Cloud SQL Auth Proxy or a connector locally must not ask it for SSL (sslmode=disable "
                          "toward it): they encrypt themselves",
    Refusal.RESTARTING: "the instance's operations and maintenance events (a failover or maintenance ends in "
                        "30-90 s; the pools must reconnect)",
    # The postmaster ends every session when one server process dies abnormally (an out-of-memory
    # kill, a crash) and recovers; the connections come back in seconds, and end again at the next
    # kill. Runwarden does not read the instance's memory (docs/signatures.md, "What is not read").
    Refusal.CRASHED: "the instance's memory (Cloud SQL database/memory/utilization and components) and its error log "
                     "(\"server process ... was terminated by signal 9: Killed\": out of memory), and what began to use "
                     "more memory (a new query, work_mem times connections, more connections); a tier with more "
                     "memory, or fewer connections and smaller work_mem",
    # MySQL counts connections from one host that break off before the handshake ends and, past
    # max_connect_errors, refuses every new one from it until the host cache is flushed. Through a
    # connector every instance of every revision connects from the connector's few addresses: one
    # block refuses them all, and sending traffic back changes nothing.
    Refusal.HOST_BLOCKED: "the instance's host cache: FLUSH HOSTS (or TRUNCATE performance_schema.host_cache) lifts "
                          "the block, and the max_connect_errors flag how soon it comes back; and what broke off the "
                          "connections first (a connect timeout shorter than the handshake, a burst of new instances, a "
                          "network change); through a connector every revision connects from the same addresses",
    # MySQL checks the connecting address against the accounts' host parts (mysql.user) before any
    # handshake, and answers 1130 in place of its greeting: the address is the connector's (an address
    # of its ipCidrRange), the Direct VPC egress subnet's, or cloudsqlproxy~IP through the Auth Proxy
    # and the Cloud SQL connectors. Which of the two changed is not in the evidence.
    Refusal.SOURCE_NOT_ALLOWED: "the database user's host part (gcloud sql users list: HOST; SELECT user, host FROM "
                                "mysql.user) and who changed it, against the address the connections come from: the "
                                "connector's range (ipCidrRange), the Direct VPC egress subnet's range, or "
                                "cloudsqlproxy~IP through the Auth Proxy and the Cloud SQL connectors; and whether the "
                                "revision's path to the VPC (vpc_access) changed",
    # PostgreSQL matches each connection's address, user, database and encryption against pg_hba.conf
    # and answers with the address it saw; an encrypted connection refused so was refused for who and
    # where it came from, not for want of SSL/TLS: the address is the connector's, the Direct VPC egress
    # subnet's, or the Auth Proxy's. Cloud SQL writes its own pg_hba.conf (not a file users edit); a
    # PostgreSQL of the project's own (a VM behind the connector) is where entries by range are written.
    Refusal.HBA_NO_ENTRY: "the address, user and database the refusal names against the server's pg_hba.conf "
                          "entries (a PostgreSQL of the project's own, as on a VM behind the connector: its host "
                          "lines' address ranges) and who changed them, against the address the connections come "
                          "from: the connector's range (ipCidrRange), the Direct VPC egress subnet's range; and "
                          "whether the revision's path to the VPC (vpc_access) changed",
    Refusal.NOT_RUNNING: _state_advice(*_NOT_RUNNING),
    Refusal.NOT_SERVING: _state_advice(*_NOT_SERVING),
    # The resolver's answer that the name does not exist (NXDOMAIN), given before any packet to the
    # database crosses the connector; every revision that reads the same host name gets it alike.
    Refusal.NO_SUCH_HOST: "the DNS record of the database's host name (a Cloud DNS private zone's record set, "
                          "and the networks the zone is visible to) and who changed it, and whether the "
                          "revision's database host setting changed",
    Refusal.NO_SUCH_INSTANCE: "the connection name every revision uses against the project's instances (gcloud sql "
                              "instances list) and who deleted or renamed the instance (its operations, the Admin "
                              "Activity audit log)",
    # The Auth Proxy and the Cloud SQL connectors call the Admin API (connectSettings and
    # generateEphemeralCert) when an instance first connects and again about once an hour
    # (cloud-sql-go-connector internal/cloudsql/refresh.go, performRefresh; its issue #413: at the
    # per-minute quota "no connection to cloudsql can be established"). "Quotas are applied
    # per-project" and "apply to API calls only" (Cloud SQL docs, "Quotas and limits"): a scale-out
    # of many instances at once spends the quota together, and every revision's calls share it.
    Refusal.ADMIN_API_QUOTA: "the Cloud SQL Admin API's quota (the Quotas page, service sqladmin.googleapis.com: its "
                             "per-minute limits) against the calls the Auth Proxy or Cloud SQL connector of every "
                             "instance makes when it first connects and about once an hour after (connectSettings, "
                             "generateEphemeralCert): how many instances started at once (a burst, min instances 0), "
                             "one connector per process rather than per request, and a quota increase; the calls go "
                             "to the Admin API, not to the database, so scaling the VPC connector changes none of them",
    # The Auth Proxy and the Cloud SQL connectors fetch the instance's connect settings and an ephemeral
    # certificate from the Admin API before any dial (cloud-sql-go-connector internal/cloudsql/refresh.go);
    # a project whose sqladmin.googleapis.com is disabled answers them 403 accessNotConfigured ("... has not
    # been used in project N before or it is disabled. Enable it by visiting ...", the Service Usage
    # API's words as googleapi prints them), on every instance of every revision alike. `gcloud services
    # enable SERVICE` enables it (gcloud reference, "gcloud services enable"); who disabled it is a
    # serviceusage DisableService entry of the Admin Activity audit log (Service Usage docs, "Audit logging").
    Refusal.ADMIN_API_DISABLED: "that the Cloud SQL Admin API is enabled in the instance's project (gcloud services "
                                "list --enabled; enable it with gcloud services enable sqladmin.googleapis.com) "
                                "and who disabled it (a DisableService entry of the Admin Activity audit log); the "
                                "calls go to the Admin API, not to the database, so scaling the VPC connector "
                                "changes none of them",
    # The connectors and the Auth Proxy v2 ask for the public IP unless told otherwise (the proxy's
    # --private-ip, the connectors' IP type option): a public IP turned off (ipv4Enabled false) fails
    # every new connection of a client that was never told, on every revision alike.
    # The proxy counts the connections open through it and closes the client's socket over the limit
    # before any dial (cloud-sql-proxy internal/proxy/proxy.go, Client.serveSocketMount): the limit
    # is per proxy, so per instance for a sidecar, and a pool that may open more connections per
    # instance than it allows is refused at every burst, whatever the connector and the database do.
    Refusal.PROXY_LIMIT: "the Auth Proxy's --max-connections against the connections one instance's pool may open (pool "
                         "size plus overflow, times the processes per instance); raise the limit or shrink the pool: "
                         "the connections it refuses never leave the instance, so scaling the connector changes "
                         "nothing",
    # PgBouncer counts its clients and closes a new one past max_client_conn before it takes a server
    # connection (src/client.c): every service and job that connects through it shares the limit, and
    # the database itself may have room. Every revision connects through the same pooler.
    Refusal.POOLER_LIMIT: "the pooler's max_client_conn (PgBouncer's SHOW CLIENTS and SHOW POOLS on its admin "
                          "console; its own max_db_client_connections and max_user_client_connections where set) "
                          "against every client's pool size x max instances, of every service and job that "
                          "connects through it (a deploy that raised either, another service grown), and who "
                          "changed its settings; Cloud SQL's max_connections is not what refused",
    # Both readings named: the names the revision connects with against the instance's, then the statements.
    Refusal.NAME_MISSING: "the database and role names the revision connects with (a DB_NAME or DB_USER-style "
                          "setting, a URL's path and user) against the instance's (gcloud sql databases list, gcloud "
                          "sql users list) and who dropped or renamed one; then the revision's own statements that "
                          "name a database or role (SET ROLE, GRANT, DROP or ALTER DATABASE): the driver's words do not "
                          "say whether the server refused the connection or a statement",
    Refusal.UNKNOWN_DATABASE: "the database name the client asks for (a DB_NAME-style setting, a URL's path) against "
                              "SHOW DATABASES on the instance, and who changed either (a deploy, a DROP or a rename)",
    # Any other FATAL the server sent: its words say what; its own log says since when and why.
    Refusal.SERVER_FATAL: "the server's own words quoted here, and the instance's PostgreSQL log for the same minutes "
                          "(Cloud Logging, cloudsql.googleapis.com/postgres.log): what it refuses and what changed (a "
                          "database or role dropped or renamed, a REVOKE of CONNECT or LOGIN, a flag, the instance "
                          "short of memory)",
    Refusal.NO_IP_OF_TYPE: "the instance's IP configuration (gcloud sql instances describe: ipAddresses, "
                           "settings.ipConfiguration.ipv4Enabled and privateNetwork) and who changed it (its "
                           "operations, the Admin Activity audit log), against the IP type the client asks for (the "
                           "Auth Proxy's --private-ip, the connector's IP type option)",
}


# The database ports a dial error must name to count: PostgreSQL, MySQL, SQL Server, and 3307, the
# Cloud SQL server-side proxy port the connectors and the Auth Proxy dial. A bare "i/o timeout" or
# "connection refused" from some other dependency says nothing about the database.
_DB_PORT = r"(?:5432|3306|3307|1433)"

# A bare reset (one that names no port) read only under the database driver's own frames, in the same
# entry: the stack lines right below it (Node's emit site after "Emitted 'error' event on ... instance
# at:" among them), never past another exception ("Caused by:", "[cause]:") or a line that is no frame.
# Node: a frame in node_modules/pg, pg-protocol or mysql2 (either path separator, as the mysql2 connect
# timeout's row writes it); Java: a frame of pgjdbc (org.postgresql), Connector/J (com.mysql.cj) or
# HikariCP (com.zaxxer.hikari). DB_ERROR_TEXTS cites the wordings.
_NODE_DRIVER_RESET = (r"\bread ECONNRESET\r?\n(?:[ \t]+at [^\n]*\n|Emitted 'error' event on \w+ instance at:\n)*?"
                      r"[ \t]+at [^\n]*?node_modules[/\\](?:pg|pg-protocol|mysql2)[/\\]")
_JAVA_DRIVER_RESET = (r"\bSocketException: Connection reset(?: by peer)?\n(?:[ \t]+at [^\n]*\n)*?"
                      r"[ \t]+at (?:org\.postgresql\.|com\.mysql\.cj\.|com\.zaxxer\.hikari\.)")
# node-postgres's pool (pg-pool) sets `err.client = client` on an idle client's error before it emits
# it on the pool (brianc/node-postgres packages/pg-pool/index.js, makeIdleListener); the application's
# 'error' handler logs it (the "pg.Pool" docs' `console.error('Unexpected error on idle client', err)`,
# in words of its own), and Node prints the error's own properties after its frames, the pool's
# `client: Client {` among them (a `<ref *1>` mark when the client refers back to itself). That mark
# names the database; the application's words do not. Only the error's own properties (indented two
# spaces), never those of an error nested under it ("[cause]:", indented deeper).
_NODE_POOL_IDLE_RESET = (r"\bread ECONNRESET\r?\n(?:[ \t]+at [^\n]*\n)*[ \t]+at [^\n]*\{\r?\n(?:  \w+: [^\n]*\n)*?"
                         r"  client: (?:<ref \*\d+> )?Client \{")
# HikariCP evicts a connection whose statement failed with a connection exception, SQLSTATE class 08
# (ProxyConnection.checkException: `sqlState.startsWith("08")`, then "{} - Connection {} marked as broken
# because of SQLSTATE({}), ErrorCode({})"; HikariCP 2's "Connection {} ({}) marked as broken ..."). Only
# the states of a connection that existed and broke: 08000 (connection exception), 08003 (connection
# does not exist), 08006 (connection failure), 08007 (failure during a transaction), 08S01 (MySQL's
# communication link failure). Its other eviction states (57P01 the server's shutdown, whose own words
# their row reads; 0A000; a timeout's null) are not read.
_HIKARI_BROKEN = (r"\bConnection \S+(?: \([^)\n]*\))? marked as broken because of "
                  r"SQLSTATE\(08(?:000|003|006|007|S01)\)")

# PostgreSQL ending a session at a limit of its own on how long the application may leave it idle:
# ProcessInterrupts' FATALs "terminating connection due to idle-in-transaction timeout" (25P03,
# idle_in_transaction_session_timeout), "... due to idle-session timeout" (57P05, idle_session_timeout,
# PostgreSQL 14+) and "... due to transaction timeout" (25P04, transaction_timeout, PostgreSQL 17+)
# (postgres/postgres src/backend/tcop/postgres.c; the codes in src/backend/utils/errcodes.txt). The
# server ran nothing too long and refused nothing: the application held a session (or a transaction)
# open and idle past the limit, its own behaviour (a transaction leak, a slow call made inside a
# transaction). Read as DB_STATEMENT_FAILED, never as a refusal or an error of reaching the database.
SESSION_TIMEOUT = r"terminating connection due to (?:idle-in-transaction|idle-session|transaction) timeout"

# The Cloud SQL Python connector's dial timed out (its DB_ERROR_TEXTS row): the connector's driver helper's
# `connect` frame, then only that traceback's frame lines, then the kernel's ETIMEDOUT as TimeoutError.
# libpq before PostgreSQL 14: a connect that outlasted connect_timeout says only "timeout expired", with no
# address (postgres/postgres src/interfaces/libpq/fe-misc.c, pqWaitTimed: libpq_gettext("timeout expired\n"));
# 14 and later put 'connection to server at "A", port P failed: ' before it. The words alone are any timer's,
# so only under the wrappers that quote libpq's connect: Ruby pg's PG::ConnectionBad, ActiveRecord's
# ConnectionNotEstablished (rails/rails activerecord/lib/active_record/connection_adapters/postgresql_adapter.rb,
# new_client re-raises the driver's message; Rails' request log prints it in brackets), PHP pdo_pgsql's
# "SQLSTATE[08006] [7]" (PDO's "SQLSTATE[%s] [%d] %s" with PGRES_FATAL_ERROR) and psycopg2's OperationalError,
# bare or in SQLAlchemy's brackets. Each its own alternative, so each asks Logging for its own needle.
_LIBPQ_BARE_TIMEOUT = (r"\bPG::ConnectionBad: timeout expired\b|SQLSTATE\[08006\] \[7\] timeout expired\b"
                      r"|\bActiveRecord::ConnectionNotEstablished \(timeout expired\b"
                      r"|\bActiveRecord::ConnectionNotEstablished: timeout expired\b"
                      r"|\bOperationalError: timeout expired\b|\bOperationalError\) timeout expired\b")
# MyXQL (Elixir's MySQL driver, under Ecto) names a connect that failed before the server's greeting
# "(HOST:PORT) REASON - :atom" (elixir-ecto/myxql lib/myxql/connection.ex, connect's conn_error/2: "(#{address})
# #{format_reason(reason)} - #{inspect(reason)}", format_reason(:timeout) "timeout"), which DBConnection logs as
# "failed to connect: ** (DBConnection.ConnectionError) ...". Its :timeout is gen_tcp.connect's at :connect_timeout
# OR :ssl.connect's, the TLS upgrade run at the same timeout (lib/myxql/client.ex, do_connect and
# maybe_upgrade_to_ssl): a start-up that timed out, its step unsaid (STARTUP_TIMED_OUT). Releases without the
# " - :timeout" tail are read too (which releases, UNCONFIRMED). Only the reason's last word on the line: a
# "(HOST:PORT) timeout" inside other words is not read.
_MYXQL_STARTUP_TIMED_OUT = r"\bDBConnection\.ConnectionError\) \([^()\s]+:\d+\) timeout(?: - :timeout\b|(?![^\n]))"
# Npgsql 6 and later: NpgsqlTimeout.Check throws NpgsqlException("The operation has timed out", new TimeoutException())
# (npgsql/npgsql src/Npgsql/Util/NpgsqlTimeout.cs, Check and CheckAndGetTimeLeft; ThrowHelper.
# ThrowNpgsqlExceptionWithInnerTimeoutException), its inner exception .NET's bare "The operation has timed out.".
# The timer is the connection string's Timeout over the whole open: it is asked before each endpoint's dial gets
# its share of the time left (src/Npgsql/Internal/NpgsqlConnector.cs, Connect and ConnectAsync), before the SSL
# negotiation and the startup message (NpgsqlConnector.Open's OpenCore, CheckAndApply), at each authentication
# message (NpgsqlConnector.Auth.cs, Authenticate), in the type loading of a first open (PostgresDatabaseInfo.cs)
# and a multi-host open's state query (QueryDatabaseState); the pool asks it once before it waits for an idle
# connector (PoolingDataSource.cs, RentAsync), whose own timeout says "The connection pool has been exhausted".
# So a start-up timed out at a step its words do not say, as libpq's "timeout expired". The socket connect's own
# timer says "Failed to connect to A:P" over "Timeout during connection attempt" (a dial row), and a command's
# timeout "Exception while reading from stream" over "Timeout during reading attempt" (READ_TIMEOUT_TEXTS).
# Whether another caller of NpgsqlTimeout outside the open throws it in some release: UNCONFIRMED. Only under
# NpgsqlException's own name: .NET's bare "The operation has timed out." is also WebException's, any HTTP call's.
_NPGSQL_OPEN_TIMED_OUT = r"\bNpgsqlException(?: \(0x[0-9A-Fa-f]+\))?: The operation has timed out\b"
# Postgrex (Elixir's PostgreSQL driver, under Ecto) names a socket's failure "tcp ACTION: REASON - :atom",
# its connect's action "connect (HOST:PORT)" or "connect (SOCKET PATH)" and :inet.format_error's word for the
# reason (elixir-ecto/postgrex lib/postgrex/protocol.ex, conn_error/3; older versions without the " - :atom"):
# a dial that got no answer within connect_timeout is "tcp connect (10.0.0.3:5432): timeout - :timeout",
# which DBConnection logs as "failed to connect: ** (DBConnection.ConnectionError) ..."; :etimedout (the
# kernel's own connect timeout) is :inet.format_error's "connection timed out" then " - :etimedout". No
# answer either way: a saturated path's sign. A name that did not resolve (" - :nxdomain") is not one.
_POSTGREX_DIAL_TIMED_OUT = r"\btcp connect \([^()\n]*\): (?:timeout\b|connection timed out - :etimedout\b)"
# Netty's connect timer (connectTimeoutMillis): "connection timed out after N ms: ADDRESS" (netty/netty
# transport/src/main/java/io/netty/channel/nio/AbstractNioChannel.java, connect; 4.1 releases before it said
# "connection timed out: ADDRESS", the version UNCONFIRMED), the address as Java prints an InetSocketAddress,
# "host/10.0.0.3:5432" or "/10.0.0.3:5432". Every reactive driver dials through it (r2dbc-postgresql,
# r2dbc-mysql, Vert.x's SQL clients), and so do Redis and HTTP clients: only a database's port is read.
_NETTY_DIAL_TIMED_OUT = rf"\bConnectTimeoutException: connection timed out(?: after \d+ ms)?: [\w.-]*/\S*?:{_DB_PORT}\b"
_PY_CONNECTOR_DIAL_TIMED_OUT = (r'google[/\\]cloud[/\\]sql[/\\]connector[/\\](?:pg8000|pymysql|pytds|asyncpg)\.py", '
                                r"line \d+, in connect(?:\n[ \t]+[^\n]*)*\n(?:builtins\.)?TimeoutError: "
                                r"\[Errno 110\] Connection timed out")
# The Cloud SQL Java connector's dial timed out (its DB_ERROR_TEXTS row): the JDK's ConnectException, then its
# stack's frames (no other exception between) down to one of the connector's (com.google.cloud.sql.core).
_JAVA_CONNECTOR_DIAL_TIMED_OUT = (r"ConnectException: Connection timed out[^\n]*\n(?:[ \t]+at [^\n]*\n)*?[ \t]+at "
                                  r"com\.google\.cloud\.sql\.core\.")

# The Cloud SQL Python connector's refresh whose call to the Cloud SQL Admin API timed out in aiohttp (its
# DB_ERROR_TEXTS row): one of the connector's frames, then only that traceback's frame lines (source lines and
# Python 3.11's caret lines are indented too) down to an aiohttp frame, then only frame lines to a bare
# TimeoutError (Python 3.11+, where asyncio.TimeoutError is the builtin) or asyncio.exceptions.TimeoutError
# (3.8-3.10), raised with no message. The connector's path is written with "/" alone: Cloud Run runs Linux
# containers, and the path is the pattern's anchor, the needle the Logging query asks for.
_PY_CONNECTOR_API_TIMED_OUT = (r'google/cloud/sql/connector/\w+\.py", line \d+, in [\w<>.]+(?:\n[ \t]+[^\n]*)*?'
                               r'\n[ \t]+File "[^"\n]*[/\\]aiohttp[/\\]\w+\.py", line \d+, in \w+(?:\n[ \t]+[^\n]*)*'
                               r"\n(?:asyncio\.(?:exceptions\.)?)?TimeoutError(?![^\n])")
# The Cloud SQL Node.js connector's refresh that failed (its DB_ERROR_TEXTS rows): its own
# CloudSQLConnectorError messages, each written out whole (one alternative a phrase, so that each anchor is
# the phrase), and node-fetch's FetchError on the connector's two Admin API calls (the paths of the Admin
# API's connect.get and connect.generateEphemeralCert, as the Go rows quote them).
_NODE_CONNECTOR_REFRESH = (r"Failed to find metadata on project id: \S+ and instance id: \S+ Ensure network connectivity"
                           r"|Cannot connect to instance, failed to retrieve an ephemeral certificate"
                           r"|Cannot connect to instance, no valid CA certificate found"
                           # ENOACCESSTOKEN, its full stop included: the Logging query asks for "failed to get
                           # access token for" (stdout_needles), generic words whose lines only this reads
                           r"|Failed to get access token for automatic IAM authentication\."
                           # The URL as the request was made, its query string and all: gaxios 7 appends "?" and
                           # the serialized params whenever params and a paramsSerializer are set, with no test
                           # that any param is left (`if (opts.params) if (opts.paramsSerializer)`, gaxios
                           # build/esm/src/gaxios.js #prepareRequest), and googleapis-common sets both (the
                           # params left once the path's project and instance are taken out, {} here, and a
                           # qs serializer: src/apirequest.ts createAPIRequestAsync): "...connectSettings?"
                           # ending in an empty query. gaxios 6 and before append only a non-empty query
                           # (`Object.keys(opts.params).length > 0`). Whether the googleapis-common the
                           # connector's @googleapis/sqladmin pins with gaxios 7 still sets the serializer is
                           # UNCONFIRMED; unread, the line's "connect ETIMEDOUT ...:443" was a dial's timeout.
                           r"|request to https://sqladmin\.googleapis\.com/sql/v1beta4/projects/[^/\s]+/instances/"
                           r"[^/\s:?]+(?:/connectSettings|:generateEphemeralCert)(?:\?[^\s#]*)? failed, reason: "
                           # ENOSQLADMINREGION, EBADSQLADMINREGION: connectSettings' answer names no region, or
                           # another than the instance connection name's (src/sqladmin-fetcher.ts)
                           r"|Cannot connect to instance, no valid region found"
                           r"|Provided region was mismatched\. Got \S+, want \S+"
                           # ENOSQLADMINRESOLVE (src/sqladmin-fetcher.ts resolveConnectSettings, connector
                           # 1.11+): an instance named by a DNS name whose Admin API lookup
                           # (.../locations/R/dns/NAME:resolveConnectSettings) failed (". Ensure network
                           # connectivity and validate the provided DNS name.", the call's own error kept in
                           # its `errors`) or answered no connection name (the words alone); before any dial
                           r"|Failed to resolve connect settings for DNS name: \S"
                           # EPARSESQLADMINEPH (src/crypto.ts parseCert): the ephemeral certificate the Admin API
                           # answered could not be read. "Failed to parse as X.509 certificate." is generic
                           # words: read only under the connector's error name (a lookbehind, so that the
                           # Logging query asks for the words once) or with a frame of its package below it
                           # in the same entry
                           r"|Could not read ephemeral certificate\."
                           r"|Failed to parse as X\.509 certificate\.(?:(?<=CloudSQLConnectorError: Failed to parse as "
                           r"X\.509 certificate\.)|[^\n]*\n(?:[ \t]+at [^\n]*\n)*?[ \t]+at [^\n]*"
                           r"@google-cloud/cloud-sql-connector/)")
# The Cloud SQL Python connector's Admin API call whose connect outlasted aiohttp's connect timeout (its
# DB_ERROR_TEXTS row): aiohttp 3.10+'s ConnectionTimeoutError, ServerTimeoutError before, "Connection timeout to
# host URL", URL the request's whole URL, on the connector's own two calls (google/cloud/sql/connector/client.py,
# CloudSQLClient._get_metadata: f"{self._sqladmin_api_endpoint}/sql/{API_VERSION}/projects/{project}/instances/
# {instance}/connectSettings", _get_ephemeral: ".../instances/{instance}:generateEphemeralCert", API_VERSION
# "v1beta4", the endpoint https://sqladmin.googleapis.com by default). The host and the path are the entry's
# own proof: another API's host, or another sqladmin path (an application's own Admin API call), is not read.
# aiohttp's words are a lookbehind: the Logging query asks for the URL's start, whole words (the
# upstream row's needle, "connection timeout to host", finds these lines too).
_PY_CONNECTOR_API_CONNECT_TIMED_OUT = (r"(?<=Connection timeout to host )https://sqladmin\.googleapis\.com/sql/v1beta4/"
                                       r"projects/[^/\s]+/instances/[^/\s:]+(?:/connectSettings|:generateEphemeralCert)"
                                       r"(?![^\s'\"),;])")

# The Cloud SQL Python connector's instance named by a DNS name whose TXT record could not be read or held no
# connection name (its DB_ERROR_TEXTS row): DnsResolutionError's two messages, each with its class's name, the
# backquote the connector opens the name with included (google/cloud/sql/connector/resolver.py,
# DnsResolver.query_dns: "Unable to resolve TXT record for `NAME`", "Unable to parse TXT record for `NAME` ->
# `RECORD`").
_PY_CONNECTOR_DNS_NAME = r"DnsResolutionError: Unable to (?:resolve|parse) TXT record for `"

# Whose TLS verdict a line holds, when the client that judged the certificate returns the runtime's words
# bare (go-sql-driver/mysql returns crypto/tls's error as is, node-postgres emits the TLSSocket's own error,
# neither with the address): the line's own words must say it was the database's dial, or the verdict is
# read as any HTTPS client's (a downstream API's certificate) and left out. Either a database's address,
# a host and one of the engines' ports (MySQL 3306, PostgreSQL 5432, SQL Server 1433) not inside a URL
# (`//` before the host: an HTTPS call to a service on such a port is no database's), or the words of a
# client that speaks only to databases:
# - Prisma's P1011, "Error opening a TLS connection: {message}" (prisma/prisma-engines
#   libs/user-facing-errors/src/common.rs, TlsConnectionError; as Prisma's error reference lists it);
# - Sequelize's ConnectionError, whose message is its cause's (sequelize/sequelize
#   src/errors/connection-error.js: super(parent ? parent.message : ''), name "SequelizeConnectionError");
# - gorm's Open, "failed to initialize database, got error %v" (go-gorm/gorm gorm.go, its logger's
#   Error; applications print the same words when Open returns the error).
_DATABASE_TLS_DIAL = (r"(?:(?<![\w./-])[\w.-]+:(?:3306|5432|1433)\b|\bP1011\b|Error opening a TLS connection:"
                      r"|SequelizeConnectionError:|failed to initialize database, got error)[^\n]*?")
# The verdicts read after it, each a row of its own (a pattern's anchor is its longest literal run, and
# each is a needle the read already sends, or one of few): Go's crypto/x509 (UnknownAuthorityError
# "x509: certificate signed by unknown authority", HostnameError "x509: certificate is valid for ...",
# CertificateInvalidError "x509: certificate has expired or is not yet valid"; crypto/x509/verify.go),
# OpenSSL's "certificate verify failed" (as CPython's ssl and libpq print it), and Node's own messages for
# OpenSSL's X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ("self-signed certificate in certificate chain", "self
# signed" before OpenSSL 3) and X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ("unable to verify the first
# certificate"), its codes SELF_SIGNED_CERT_IN_CHAIN and UNABLE_TO_VERIFY_LEAF_SIGNATURE (nodejs/node
# src/crypto/crypto_common.cc, X509ErrorCode; OpenSSL crypto/x509/x509_txt.c).
# A client's refusal of a server certificate that names another host than the one dialled, in each driver's words
# (`names_another_host`). Only verify-full checks a host name (libpq's "SSL Support", Table "SSL Mode Descriptions":
# verify-ca and require check none, whatever root CA file is found; pgjdbc docs, "Using SSL"; pgx's configTLS and
# asyncpg's check_hostname alike), so a revision at require or verify-ca is never refused so, unless its driver reads
# those modes as verify-full (node-postgres: tls_settings).
_NAMES_ANOTHER_HOST_TEXTS = (
    # libpq (fe-secure-common.c, pq_verify_peer_name_matches_certificate)
    r'server certificate for "[^"\n]*"(?: \(and \d+ other names?\))? does not match host name "',
    # pgjdbc (org/postgresql/ssl/MakeSSL.java, verifyPeerName)
    r"The hostname [^\s]+ could not be verified by hostnameverifier",
    # Go's crypto/x509 HostnameError.Error (crypto/x509/verify.go), as pgx and go-sql-driver return it
    r"x509: certificate is valid for [^\n]*?, not |x509: cannot validate certificate for [^\s]+ because it doesn't "
    r"contain any IP SANs|x509: certificate is not valid for any names, but wanted to match ",
    # Node's tls.checkServerIdentity (nodejs/node lib/tls.js: ERR_TLS_CERT_ALTNAME_INVALID)
    r"ERR_TLS_CERT_ALTNAME_INVALID|Hostname/IP does not match certificate's altnames",
    # OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH (crypto/x509/x509_txt.c), as CPython's
    # ssl prints them after "certificate verify failed: " (asyncpg, psycopg's Python-side errors)
    r"certificate verify failed: (?:IP address|Hostname) mismatch",
)
# libpq's and pgjdbc's are refusals of their own row; the others are read by the rows of their runtime's verdicts
# (_TLS_VERDICTS, pgx's, CPython's "certificate verify failed"), so the Logging query's needles stay as they were.
_NAMES_ANOTHER_HOST = "|".join(_NAMES_ANOTHER_HOST_TEXTS[:2])
# Node's own words among them: the client that printed them is Node.js (tls_settings.verifies_server's `node`).
_NODE_HOST_NAME = re.compile(_NAMES_ANOTHER_HOST_TEXTS[3])
_TLS_VERDICTS = (("Go's crypto/x509", r"x509: certificate (?:signed by unknown authority|is valid for|has expired)"),
                 ("OpenSSL's", r"certificate verify failed"),
                 ("Node's, self-signed in the chain", r"self[- ]signed certificate in certificate chain"),
                 ("Node's, the leaf unverified", r"unable to verify the first certificate"))

# The Cloud SQL Admin API's answer to the connectors' calls, as they pass it on: the Go connector's and the
# Auth Proxy v2's refresh error, printed bare (cloud-sql-go-connector errtype/errors.go RefreshError.Error,
# "Refresh error: MESSAGE (connection name = ...): CAUSE", as the 429 rows read it), for each of its two calls
# (internal/cloudsql/refresh.go: the metadata, then the ephemeral certificate), with googleapi's "Error STATUS:
# MESSAGE, REASON"; and the Python connector's aiohttp error, the API's message set as its reason, on the
# Admin API's URL (cloud-sql-python-connector google/cloud/sql/connector/client.py _get_metadata;
# aiohttp ClientResponseError.__str__). `words` is the message's pattern, split by \b so that each row's
# anchor is a needle the read already sends (the refresh's words, the Admin API's URL: stdout_needles).
_REFRESH_CALLS = (("metadata", "failed to get instance metadata", ""),
                  ("certificate", "create ephemeral cert failed", "fetch ephemeral cert failed: "))
_API_DISABLED = ("Cloud SQL Admin API has not been used in project 418207365093 before or it is disabled. Enable it by "
                 "visiting https://console.developers.google.com/apis/api/sqladmin.googleapis.com/overview?project="
                 "418207365093 then retry.")


def _admin_api_answers(kind: str, status: int, words: str, message: str, reason: str, said: str,
                       refusal: str) -> tuple[DbErrorText, ...]:
    """The rows of one answer of the Admin API (`status`, its `message` and `reason`, matched by `words`)."""
    go = tuple(DbErrorText(f"Cloud SQL Go connector / Auth Proxy v2 ({what}: {status}, {kind})",
                           rf'Refresh error: {call} \(connection name = "[^"]*"\): [^\n]*?googleapi: Error {status}\b: '
                           + words,
                           f"[p:r:i] failed to connect to instance: failed to get instance: Refresh error: {call} "
                           f'(connection name = "p:r:i"): {cause}googleapi: Error {status}: {message}, {reason}',
                           "GoogleCloudPlatform/cloud-sql-go-connector errtype/errors.go (RefreshError.Error) and "
                           f"internal/cloudsql/refresh.go; {said}", refusal)
               for what, call, cause in _REFRESH_CALLS)
    python = DbErrorText(f"Cloud SQL Python connector ({status}, {kind})",
                         rf"\b{status}, message=[\"']{words}[^\n]*?url=(?:URL\()?['\"]https://sqladmin\.googleapis\.com/",
                         f"aiohttp.client_exceptions.ClientResponseError: {status}, message='{message}', "
                         "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings'",
                         "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/client.py "
                         f"(_get_metadata: the Admin API's message as aiohttp's reason); {said}", refusal)
    return (*go, python)


DB_ERROR_TEXTS: tuple[DbErrorText, ...] = (
    DbErrorText("Cloud SQL Auth Proxy v2 / Go connector", r"failed to connect to instance: Dial error",
                'failed to connect to instance: Dial error: failed to dial (connection name = "p:r:i"): '
                "dial tcp 10.20.0.3:3307: i/o timeout",
                "GoogleCloudPlatform/cloud-sql-proxy issues #1840, #2436"),
    DbErrorText("Cloud SQL Go connector (cloudsqlconn)", r'failed to dial \(connection name = "[^"]+"\)',
                'dial error: failed to dial (connection name = "p:r:i"): dial tcp 10.20.0.3:3307: i/o timeout',
                "GoogleCloudPlatform/cloud-sql-proxy issue #2467 (lower-case form); "
                "GoogleCloudPlatform/cloud-sql-go-connector errtype/errors.go (`%v (connection name = %q)`)"),
    DbErrorText("Cloud SQL Go connector (cloudsqlconn)", r"Dial error: handshake failed \(connection name",
                'failed to connect to instance: Dial error: handshake failed (connection name = "p:r:i"): '
                "context deadline exceeded", "GoogleCloudPlatform/cloud-sql-proxy issue #2081"),
    DbErrorText("pgx via the Go connector", r"dial error: timeout: context deadline exceeded",
                "failed to connect to `user=app database=orders`: /tmp/.s.PGSQL.5432 (/tmp): dial error: "
                "timeout: context deadline exceeded", "googleapis/mcp-toolbox issue #926"),
    # pgx's ConnectError around a dial that failed, whatever port the dial names (a PgBouncer's 6432, a second
    # server's 5433): the wrapper says the dial was the database's, where a bare "dial tcp H:6432" could be any
    # dependency's. v5.5+: "failed to connect to `user=U database=D`: H:P (H): dial error: ..." (jackc/pgx
    # pgconn/errors.go, ConnectError and perDialConnectError); v4: "failed to connect to `host=H user=U
    # database=D`: dial error (dial tcp ...)" (jackc/pgconn errors.go, connectError; UNCONFIRMED word for word).
    DbErrorText("pgx: a failed dial (any port)", r"failed to connect to `(?:host=[^`\n]* )?user=[^`\n]*`:[^\n]*?dial error",
                "failed to connect to `host=10.10.0.3 user=app database=shop`: dial error (dial tcp 10.10.0.3:6432: "
                "connect: connection refused)", "jackc/pgx pgconn/errors.go; jackc/pgconn errors.go (v4)"),
    DbErrorText("Cloud SQL Auth Proxy v1", r'couldn.t connect to "[^"]+": dial tcp',
                'couldn\'t connect to "p:r:i": dial tcp 10.20.0.3:3307: connect: connection timed out',
                "GoogleCloudPlatform/cloud-sql-proxy issues #164, #271; terraform-google-sql-db issue #197"),
    DbErrorText("Go net (any driver)", rf"dial tcp [\d.]+:{_DB_PORT}: (?:i/o timeout|connect: connection refused"
                r"|connect: connection timed out|getsockopt: connection timed out)",
                "dial tcp 10.20.0.3:3307: i/o timeout", "nozomi-koborinai/terradart PR #232; "
                "GoogleCloudPlatform/cloud-sql-proxy issue #2436"),
    # Not when what failed it is PgBouncer's query_wait_timeout at login (a wait: POOL_WAIT_TEXTS).
    DbErrorText("libpq (psycopg2 / psycopg 3)", r'connection to server at ".*".*failed(?!: FATAL:\s+query_wait_timeout\b)',
                'connection to server at "127.0.0.1", port 5432 failed: Connection refused',
                "GoogleCloudPlatform/cloud-sql-proxy issue #2334; bengen343/superset-on-gcp-cloud-run issue #5"),
    DbErrorText("libpq over the Cloud SQL unix socket", r'connection to server on socket "[^"]*".*failed',
                'connection to server on socket "/cloudsql/p:r:i/.s.PGSQL.5432" failed: Connection refused',
                "libpq's message since PostgreSQL 14, for the /cloudsql socket a Cloud SQL volume mounts"),
    DbErrorText("libpq (older)", r"could not connect to server", "could not connect to server: Connection timed out",
                "libpq's message before PostgreSQL 14"),
    DbErrorText("libpq", r"Is the server running on that host and accepting TCP/IP connections",
                "Is the server running on that host and accepting TCP/IP connections?",
                "GoogleCloudPlatform/cloud-sql-proxy issue #2334"),
    DbErrorText("pg8000 (Python connector's PostgreSQL driver)", r"Can't create a connection to host .* and port",
                "Can't create a connection to host 10.20.0.3 and port 3307 (timeout is None and source_address "
                "is None).", "pg8000's InterfaceError text"),
    DbErrorText("asyncpg / asyncio (Python connector, async)", rf"Connect call failed \(.*, {_DB_PORT}\)",
                "ConnectionRefusedError: [Errno 111] Connect call failed ('10.20.0.3', 5432)",
                "asyncio's create_connection error text"),
    # asyncpg's connect timeout: a bare TimeoutError, its message empty, which names no database on
    # its own line. Read only from a traceback logged as one entry (a structured handler's
    # jsonPayload.message, Error Reporting's form) whose frames are asyncpg's connect and whose
    # exception line is TimeoutError; a traceback Cloud Run split into lines is not read (its last
    # line alone says nothing of what timed out). asyncpg >= 0.28 bounds connect with `async with
    # compat.timeout(timeout)` (asyncpg/connection.py, connect), asyncio.timeout on Python 3.11+,
    # whose __aexit__ raises `TimeoutError from exc_val`; older asyncpg awaited asyncio.wait_for in
    # connect_utils._connect_addr and raised `asyncio.TimeoutError` (asyncio.exceptions.TimeoutError
    # before Python 3.11). SQLAlchemy's asyncpg dialect passes it on unwrapped (not a DBAPI error; as public
    # tracebacks show it, UNCONFIRMED against SQLAlchemy's source).
    DbErrorText("asyncpg connect timeout (Python 3.11+, asyncpg >= 0.28)",
                r'asyncpg[/\\]connection\.py", line \d+, in connect\n[ \t]+async with compat\.timeout\(timeout\):'
                r"(?:\n[ \t]+[^\n]*)*\n(?:asyncio\.(?:exceptions\.)?)?TimeoutError\b",
                'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/site-packages/asyncpg/connection.py", '
                'line 2328, in connect\n    async with compat.timeout(timeout):\n  File "/usr/local/lib/python3.12/asyncio/'
                'timeouts.py", line 115, in __aexit__\n    raise TimeoutError from exc_val\nTimeoutError',
                "MagicStack/asyncpg asyncpg/connection.py connect (`async with compat.timeout(timeout)`); public "
                "tracebacks ending so (their repositories and paths UNCONFIRMED)"),
    DbErrorText("asyncpg connect timeout (asyncpg <= 0.27)",
                r'asyncpg[/\\]connect_utils\.py", line \d+, in _?_connect_addr(?:\n[ \t]+[^\n]*)*\n'
                r"(?:asyncio\.(?:exceptions\.)?)?TimeoutError\b",
                'Traceback (most recent call last):\n  File "/usr/local/lib/python3.10/site-packages/asyncpg/connect_utils.py", '
                'line 691, in _connect_addr\n    tr, pr = await asyncio.wait_for(\n  File "/usr/local/lib/python3.10/asyncio/'
                'tasks.py", line 458, in wait_for\n    raise exceptions.TimeoutError() from exc\n'
                "asyncio.exceptions.TimeoutError",
                "MagicStack/asyncpg asyncpg/connect_utils.py _connect_addr (`await asyncio.wait_for(connector, "
                "timeout=timeout)`, re-raised by _connect as last_error); UNCONFIRMED in a Cloud SQL thread"),
    # Node's MySQL drivers at their own connectTimeout (mysql2 default 10 s): `new Error('connect
    # ETIMEDOUT')` with no address (mysql2 lib/connection.js _handleTimeoutError; mysqljs/mysql
    # Connection._handleConnectTimeout), unlike Node's net error, which names HOST:PORT. Read only
    # with the driver's frame in the same entry (console.error of the Error prints its stack).
    DbErrorText("Node: mysql2 / mysql connect timeout",
                r"connect ETIMEDOUT\s+at [\w.]*_handle(?:TimeoutError|ConnectTimeout) \([^)\n]*node_modules[/\\]"
                r"mysql2?[/\\]lib[/\\]",
                "Error: connect ETIMEDOUT\n    at Connection._handleTimeoutError (/app/node_modules/mysql2/lib/"
                "connection.js:205:17)\n    at listOnTimeout (node:internal/timers:573:17)",
                "sidorares/node-mysql2 lib/connection.js _handleTimeoutError (`new Error('connect ETIMEDOUT')`, "
                "errorno, code ETIMEDOUT, syscall connect) and mysqljs/mysql lib/Connection.js _handleConnectTimeout; "
                "as sidorares/node-mysql2 issues #1039 and #1020 quote it (and soapgu/PlayPen issue #279, "
                "PoolConnection._handleTimeoutError in mysql2/lib/base/connection.js); UNCONFIRMED in a Cloud SQL "
                "thread"),
    # mysqljs/mysql's connect when the server sent no packet within its Handshake sequence's timeout: the
    # Protocol names the timed-out sequence, `new Error(sequence.constructor.name + ' inactivity timeout')`,
    # code PROTOCOL_SEQUENCE_TIMEOUT (lib/protocol/Protocol.js, _enqueue). Connection.connect enqueues the
    # Handshake as the socket's dial begins, _startSequence starts its timer at once (the first sequence)
    # and each packet from the server restarts it; a Pool passes `{timeout: acquireTimeout}` (lib/Pool.js,
    # 10 s by default, lib/PoolConfig.js), and the repository's test-acquire-timeout-new.js gets these words
    # from a server that accepts and sends nothing. So the connect itself got no answer in time: the TCP
    # dial, or the greeting after it, as libpq's connect_timeout "timeout expired" (a dial, _DIAL_TIMED_OUT).
    # sidorares/node-mysql2 has no such words (its connect timeout is "connect ETIMEDOUT", the row above).
    # UNCONFIRMED in a Cloud SQL thread.
    DbErrorText("Node: mysql connect (handshake timeout)", r"\bHandshake inactivity timeout\b",
                "Error: Handshake inactivity timeout\n    at Handshake.<anonymous> (/app/node_modules/mysql/lib/"
                "protocol/Protocol.js:160:17)",
                "mysqljs/mysql lib/protocol/Protocol.js (_enqueue, _startSequence; PROTOCOL_SEQUENCE_TIMEOUT), "
                "lib/Pool.js (acquireTimeout), test/unit/pool/test-acquire-timeout-new.js; UNCONFIRMED in a Cloud "
                "SQL thread"),
    DbErrorText("asyncpg", r"ConnectionDoesNotExistError", "asyncpg.exceptions.ConnectionDoesNotExistError: "
                "connection was closed in the middle of operation", "asyncpg's exception name"),
    DbErrorText("psycopg", r"OperationalError: the connection is closed",
                "psycopg.OperationalError: the connection is closed", "psycopg's message"),
    # psycopg 3 (and Django over it, which re-raises the driver's message as its own
    # OperationalError): a connect that outlasts connect_timeout with no answer from the server.
    # SQLAlchemy names the driver's error in brackets before its words, "(%s.%s) %s" with no colon
    # (sqlalchemy/sqlalchemy lib/sqlalchemy/exc.py, DBAPIError.__init__): "(psycopg.errors.
    # ConnectionTimeout) connection timeout expired" is the same connect, read the same.
    DbErrorText("psycopg 3 (connect timeout)", r"(?:ConnectionTimeout|OperationalError)[:)] connection timeout expired",
                "psycopg.errors.ConnectionTimeout: connection timeout expired",
                "psycopg/psycopg psycopg/psycopg/generators.py _connect: raise e.ConnectionTimeout(\"connection "
                "timeout expired\")"),
    # MyXQL's connect or TLS upgrade that outlasted :connect_timeout (_MYXQL_STARTUP_TIMED_OUT): nothing answered in
    # time, its step unsaid.
    DbErrorText("Elixir: MyXQL (connect timeout)", _MYXQL_STARTUP_TIMED_OUT,
                "[error] MyXQL.Connection (#PID<0.2410.0>) failed to connect: ** (DBConnection.ConnectionError) "
                "(10.60.0.7:3306) timeout - :timeout",
                "elixir-ecto/myxql lib/myxql/connection.ex (connect, conn_error/2, format_reason(:timeout)) and "
                "lib/myxql/client.ex (do_connect, maybe_upgrade_to_ssl); UNCONFIRMED in a Cloud SQL thread"),
    # Rails' PostgreSQL adapter replaces the driver's message with its own when the message names the
    # configured host (rails/rails activerecord/lib/active_record/connection_adapters/postgresql_adapter.rb,
    # new_client: `error.message.include?(conn_params[:host])` -> DatabaseConnectionError.hostname_error;
    # activerecord/lib/active_record/errors.rb, "There is an issue connecting with your hostname: #{hostname}.").
    # libpq 14 and later name the host in every connect failure ('connection to server at "H" (A), port P
    # failed: ...'), so Rails 7 over libpq 14+ says this for a dial that timed out, a refusal of the dial, a
    # TLS failure and a server's FATAL alike (the username_error and NoDatabaseError take those naming the user
    # or the database first): an error of reaching the database whose cause the words do not say. Never a
    # dial that timed out nor a refusal by itself; the driver's own line ("Caused by: PG::ConnectionBad: ...",
    # when the application logs the cause) is read by its own row.
    DbErrorText("Ruby: Rails 7 (libpq 14+) hostname error, cause unsaid", r"There is an issue connecting with your "
                r"hostname: ",
                "ActiveRecord::DatabaseConnectionError: There is an issue connecting with your hostname: 10.60.0.9.",
                "rails/rails activerecord/lib/active_record/errors.rb (DatabaseConnectionError.hostname_error) and "
                "connection_adapters/postgresql_adapter.rb (new_client); UNCONFIRMED in a Cloud SQL thread"),
    # NoDatabaseError's words are said for any driver message holding the database's name: a database that does
    # not exist (3D000), and as well a role whose name holds it ('role "orders_v2" does not exist' for a database
    # "orders"), pg_hba.conf's refusal (it names the database), a database's CONNECTION LIMIT, and any failure whose
    # message names a host or a Cloud SQL socket path ("/cloudsql/p:r:orders-pg/.s.PGSQL.5432") holding the name,
    # a dial that timed out among them. An error of reaching the database whose cause the words do not say, as the
    # hostname error above: never a refusal (an answer) nor a dial by itself.
    DbErrorText("Ruby: Rails (PostgreSQL) database error, cause unsaid", r"We could not find your database: ",
                "ActiveRecord::NoDatabaseError: We could not find your database: orders. Available database "
                "configurations can be found in config/database.yml.",
                "rails/rails activerecord/lib/active_record/errors.rb (NoDatabaseError.db_error) and "
                "connection_adapters/postgresql_adapter.rb (new_client); UNCONFIRMED in a Cloud SQL thread"),
    # libpq before 14 (_LIBPQ_BARE_TIMEOUT): the connect timed out, under the wrapper that quotes it.
    DbErrorText("libpq < 14 connect timeout (Ruby pg / Rails, PHP pdo_pgsql, psycopg2)", _LIBPQ_BARE_TIMEOUT,
                "PG::ConnectionBad: timeout expired",
                "postgres/postgres src/interfaces/libpq/fe-misc.c (pqWaitTimed); rails/rails activerecord "
                "postgresql_adapter.rb (new_client); UNCONFIRMED in a Cloud SQL thread"),
    # Postgrex's connect that got no answer (_POSTGREX_DIAL_TIMED_OUT).
    DbErrorText("Elixir: Postgrex connect timeout", _POSTGREX_DIAL_TIMED_OUT,
                "[error] Postgrex.Protocol (#PID<0.2931.0>) failed to connect: ** (DBConnection.ConnectionError) "
                "tcp connect (10.60.0.9:5432): timeout - :timeout",
                "elixir-ecto/postgrex lib/postgrex/protocol.ex (conn_error/3); UNCONFIRMED in a Cloud SQL thread"),
    # Netty's connect timer to a database's port (_NETTY_DIAL_TIMED_OUT): R2DBC's and Vert.x's drivers.
    DbErrorText("Java: Netty connect timeout (R2DBC, Vert.x SQL clients)", _NETTY_DIAL_TIMED_OUT,
                "Caused by: io.netty.channel.ConnectTimeoutException: connection timed out after 10000 ms: "
                "/10.60.0.9:5432",
                "netty/netty transport/src/main/java/io/netty/channel/nio/AbstractNioChannel.java (connect); "
                "UNCONFIRMED in a Cloud SQL thread"),
    # Go's database/sql: a driver's connection "in a bad state (such as the server having earlier
    # closed the connection)", after database/sql's own retries on new connections failed too.
    DbErrorText("Go database/sql (any driver)", r"\bdriver: bad connection\b",
                "query orders: driver: bad connection",
                "golang/go src/database/sql/driver/driver.go: ErrBadConn = errors.New(\"driver: bad connection\") "
                "and its doc comment"),
    # Prisma's query engine names its own errors (P1001, P1002) whatever the driver said beneath.
    # Newer engines put host and port in one pair of backticks ("at `host:5432`": papermark/papermark
    # issue #817, "Error: P1001: Can't reach database server at `ep-...neon.tech:5432`"), or name the
    # host alone (public logs; their repositories and paths UNCONFIRMED); both are P1001's words.
    DbErrorText("Prisma (P1001, database not reachable)", r"Can't reach database server at `[^`\n]*`(?::`\d+`)?",
                "PrismaClientInitializationError: Can't reach database server at `10.40.0.7`:`5432` Please make "
                "sure your database server is running at `10.40.0.7`:`5432`.",
                "prisma/prisma-engines libs/user-facing-errors/src/common.rs (DatabaseNotReachable, P1001); "
                "prisma/orm issue #1508 (Cloud Run to Cloud SQL)"),
    DbErrorText("Prisma (P1002, database timed out)", r"The database server at `[^`]*`:`\d+` was reached but timed out",
                "Error: P1002: The database server at `10.40.0.7`:`5432` was reached but timed out.",
                "prisma/prisma-engines libs/user-facing-errors/src/common.rs (DatabaseTimeout, P1002)"),
    DbErrorText("PyMySQL / mysqlclient", r"Can't connect to MySQL server on",
                "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.20.0.3' "
                "(timed out)\")", "MySQL client error 2003 (CR_CONN_HOST_ERROR)"),
    DbErrorText("PostgreSQL server (connection limit)", r"remaining connection slots are reserved"
                r"|sorry, too many clients already",
                "org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved for "
                "non-replication superuser connections", "the PostgreSQL server's own message at max_connections "
                "(before PostgreSQL 16)", Refusal.CONNECTION_LIMIT),
    # MySQL's 1040 (several clients print the server's words bare: Connector/J 8, mysql2, Ruby's
    # mysql2). Not redis-py's own pool at its max_connections, which raises the same words,
    # `MaxConnectionsError("Too many connections")` (a ConnectionError before redis-py 6; redis/
    # connection.py ConnectionPool.make_connection: "This indicates pool exhaustion rather than an
    # actual connection failure", redis/exceptions.py): a client limit of the application's own,
    # on its Redis, never the database's answer. Its traceback's exception line and its repr are
    # left out; the bare str() of either is the same text and is still read as MySQL's.
    DbErrorText("MySQL server (connection limit)",
                r"(?<!redis\.exceptions\.ConnectionError: )(?<!MaxConnectionsError: )(?<!Error\(['\"])"
                r"\bToo many connections\b(?! for (?:role|database) )",
                "(1040, 'Too many connections')", "MySQL server error 1040 (ER_CON_COUNT_ERROR)",
                Refusal.CONNECTION_LIMIT),
    # The per-account limits: max_user_connections, or the account's MAX_USER_CONNECTIONS resource.
    DbErrorText("MySQL server (per-user connection limit)",
                r"already has more than 'max_user_connections' active connections"
                r"|has exceeded the 'max_user_connections' resource",
                "(1203, \"User catalog already has more than 'max_user_connections' active connections\")",
                "MySQL server errors 1203 (ER_TOO_MANY_USER_CONNECTIONS) and 1226 (ER_USER_LIMIT_REACHED), "
                "as Connector/J's MysqlErrorNumbers lists them", Refusal.USER_LIMIT),
    DbErrorText("Cloud SQL Java connector (JDBC socket factory)",
                r"Failed to (?:update metadata for|create ephemeral certificate for the) Cloud SQL instance",
                "java.lang.RuntimeException: [p:r:i] Failed to update metadata for Cloud SQL instance.",
                "GoogleCloudPlatform/cloud-sql-jdbc-socket-factory: core CloudSqlInstance.java "
                "(addExceptionContext); its issues #547 and #664 on Cloud Run"),
    # The Go connector's (and the Auth Proxy v2's) refresh that failed, whatever its cause: its RefreshError
    # reads "Refresh error: MESSAGE (connection name = "p:r:i"): CAUSE" (cloud-sql-go-connector
    # errtype/errors.go, RefreshError.Error, as the 403, 404 and 429 rows quote it), MESSAGE "failed to get
    # instance metadata" (the connectSettings call) or "create ephemeral cert failed" (generateEphemeralCert)
    # (internal/cloudsql/refresh.go: errtype.NewRefreshError). Both are calls to the Cloud SQL Admin API, made
    # before any dial to the instance: no connection to the database was tried. An Admin API's answer inside
    # (403, 404, 429, 400) is also read by its own refusal row; a cause that names no answer (a context
    # deadline, a reset) is this row alone, an error of reaching the database that refresh_failed names.
    # One pattern each, so that each anchor is the connector's own phrase, the needles the 429 rows already
    # send (stdout_needles). UNCONFIRMED in a Cloud Run log.
    *(DbErrorText(f"Cloud SQL Go connector / Auth Proxy v2 (refresh failed: {what})",
                  rf'Refresh error: {message} \(connection name = "[^"\n]*"\)',
                  f'failed to connect to instance: failed to get instance: Refresh error: {message} (connection name '
                  f'= "p:r:i"): {cause}',
                  "GoogleCloudPlatform/cloud-sql-go-connector errtype/errors.go (RefreshError.Error) and "
                  "internal/cloudsql/refresh.go (NewRefreshError); UNCONFIRMED in a Cloud Run log")
      for what, message, cause in (
          ("metadata", "failed to get instance metadata", 'Get "https://sqladmin.googleapis.com/sql/v1beta4/projects/'
           'p/instances/i/connectSettings": context deadline exceeded'),
          ("certificate", "create ephemeral cert failed", 'Post "https://sqladmin.googleapis.com/sql/v1beta4/projects/'
           'p/instances/i:generateEphemeralCert": context deadline exceeded'))),
    DbErrorText("Java: pgjdbc", r"PSQLException: The connection attempt failed",
                "org.postgresql.util.PSQLException: The connection attempt failed.", "pgjdbc's message "
                "(CONNECTION_UNABLE_TO_CONNECT); UNCONFIRMED in a Cloud SQL thread"),
    # pgjdbc when the connect to the server's address is refused (nothing listens there: an instance
    # restarting, an HA failover moving the address to the standby): ConnectionFactoryImpl throws
    # PSQLException(GT.tr("Connection to {0} refused. Check that the hostname and port are correct and
    # that the postmaster is accepting TCP/IP connections.", hostSpec), CONNECTION_UNABLE_TO_CONNECT)
    # (pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java); drivers
    # before 9.4 said "Connection refused. Check that ..." without the address (as systers/automated-testing
    # issue #71 quotes it). Not the database's answer: a refused dial says
    # nothing answered on the port, and whether a connector under load could refuse one is not
    # documented (UNCONFIRMED), so it is read as the dial errors are, never as a refusal.
    DbErrorText("Java: pgjdbc (connection refused)",
                r"Connection (?:to \S+ )?refused\. Check that the hostname and port are correct and that the "
                r"postmaster is accepting TCP/IP connections",
                "org.postgresql.util.PSQLException: Connection to 10.40.0.7:5432 refused. Check that the hostname "
                "and port are correct and that the postmaster is accepting TCP/IP connections.",
                "pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java; UNCONFIRMED "
                "in a Cloud SQL thread"),
    # pgjdbc when the socket of an open connection fails under a statement (reset by a failover or a
    # restart, cut on the path, or its socketTimeout passed): QueryExecutorImpl wraps the IOException
    # as PSQLException(GT.tr("An I/O error occurred while sending to the backend."), CONNECTION_FAILURE)
    # (pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/QueryExecutorImpl.java; the socketTimeout
    # form, with java.net.SocketTimeoutException "Read timed out" as the cause, as alibaba/druid issue
    # #5098 quotes it, and SQL state 08006, as dbeaver/dbeaver issue #11391 does). Nothing answered: not a
    # refusal.
    DbErrorText("Java: pgjdbc (connection broken)", r"An I/O error occurred while sending to the backend",
                "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.",
                "pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/QueryExecutorImpl.java; UNCONFIRMED in "
                "a Cloud SQL thread"),
    # MySQL Connector/J's CommunicationsException when it can name no better reason (no packet from
    # the server, or the connection lost): ExceptionFactory.createLinkFailureMessageBasedOnHeuristics
    # falls back to Messages "CommunicationsException.20=Communications link failure"
    # (mysql/mysql-connector-j src/main/resources/com/mysql/cj/LocalizedErrorMessages.properties).
    # Nothing answered: a dial that timed out or was refused, or a connection cut (a failover).
    DbErrorText("Java: MySQL Connector/J", r"CommunicationsException: Communications link failure",
                "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure",
                "mysql/mysql-connector-j LocalizedErrorMessages.properties (CommunicationsException.20) and "
                "ExceptionFactory.createLinkFailureMessageBasedOnHeuristics; UNCONFIRMED in a Cloud SQL thread"),
    # PHP's PDO over mysqlnd: a connect that failed at the socket, CR_CONNECTION_ERROR (2002) with the
    # system's own words, in PDO's "SQLSTATE[%s] [%d] %s" (Laravel's QueryException keeps the text
    # and adds "(Connection: mysql, SQL: ...)"). Only a timeout or a refusal of the dial: "No such file
    # or directory" (a unix socket path) and getaddrinfo's words are another matter.
    DbErrorText("PHP: PDO MySQL (mysqlnd) / Laravel", r"SQLSTATE\[HY000\] \[2002\] Connection (?:timed out|refused)",
                "SQLSTATE[HY000] [2002] Connection timed out (Connection: mysql, SQL: select * from orders where "
                "id = 42 limit 1)",
                "PDO's \"SQLSTATE[%s] [%d] %s\" with mysqlnd's CR_CONNECTION_ERROR (2002); Laravel's "
                "DetectsLostConnections lists both texts (laravel/framework "
                "src/Illuminate/Database/DetectsLostConnections.php); UNCONFIRMED in a Cloud SQL thread"),
    # node-postgres: a NEW client whose connect outlasted connectionTimeoutMillis (pg-pool newClient
    # destroys its stream and raises this, brianc/node-postgres packages/pg-pool/index.js): the
    # dial or the startup got no answer in time. Not a wait for a pool slot ("timeout exceeded when
    # trying to connect", POOL_WAIT_TEXTS).
    DbErrorText("Node: node-postgres (connect timeout)", r"Connection terminated due to connection timeout",
                "Error: Connection terminated due to connection timeout",
                "brianc/node-postgres packages/pg-pool/index.js (Pool.newClient: new Error('Connection terminated due "
                "to connection timeout', { cause: err }) when connectionTimeoutMillis passed); UNCONFIRMED in a Cloud "
                "SQL thread"),
    # Sequelize's own class for a connect that got no answer in time: the PostgreSQL dialect rejects
    # with it when the client's connection ended before connect() answered (packages/postgres/src/
    # connection-manager.ts: new ConnectionTimedOutError(new Error('Connection timed out'))), the
    # Oracle dialect on its connect timeout; the name is set in packages/core/src/errors/connection/
    # connection-timed-out-error.ts.
    DbErrorText("Node: Sequelize (connect timeout)", r"\bSequelizeConnectionTimedOutError\b",
                "SequelizeConnectionTimedOutError: Connection timed out",
                "sequelize/sequelize packages/postgres/src/connection-manager.ts and packages/core/src/errors/"
                "connection/connection-timed-out-error.ts; UNCONFIRMED in a Cloud SQL thread"),
    # Npgsql (.NET): the socket connect to the last endpoint failed (a SocketException or "Timeout
    # during connection attempt" as its inner exception): NpgsqlConnector.Connect / ConnectAsync throw
    # `new NpgsqlException($"Failed to connect to {endpoint}", e)`. Only an endpoint on a database port.
    DbErrorText("Npgsql (.NET) connect failure", rf"NpgsqlException[^\n]*: Failed to connect to [\d.]+:{_DB_PORT}\b",
                "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432",
                "npgsql/npgsql src/Npgsql/Internal/NpgsqlConnector.cs (Connect, ConnectAsync); UNCONFIRMED in a Cloud "
                "SQL thread"),
    # SQL Server's client networking (SqlClient's SNI): the server was not found or not reached (a
    # TCP connect that failed or timed out, a name not resolved); no answer from SQL Server.
    # The .NET MySQL drivers' one text for a connection that could not be opened, whatever the socket
    # said (refused, timed out, a name not resolved): MySqlConnector's and Oracle's MySql.Data's
    # MySqlException "Unable to connect to any of the specified MySQL hosts." (MySqlConnector's, from
    # MySqlConnector.Core.ServerSession.ConnectAsync, as skoruba/IdentityServer4.Admin issue #1013 and
    # mysql-net/MySqlConnector issue #1507 quote it; MySql.Data's as AdKats/AdKats issue #145 does; its
    # NativeDriver.Open frame in a public stack, repository and path UNCONFIRMED). Nothing answered: a
    # refusal by the server is its own
    # MySqlException with the server's words (1040, 1045, 1130), read by their rows.
    DbErrorText(".NET: MySqlConnector / MySql.Data connect failure",
                r"Unable to connect to any of the specified MySQL hosts",
                "MySqlConnector.MySqlException (0x80004005): Unable to connect to any of the specified MySQL hosts.",
                "MySqlConnector and MySql.Data MySqlException (as skoruba/IdentityServer4.Admin issue #1013, "
                "mysql-net/MySqlConnector issue #1507 and AdKats/AdKats issue #145 quote it); UNCONFIRMED in a "
                "Cloud SQL thread"),
    # Npgsql before 6 wrapped a failed socket connect to the last endpoint (a timeout, a refusal) as
    # NpgsqlException("Exception while connecting", e) (npgsql/npgsql src/Npgsql/NpgsqlConnector.cs,
    # Connect, before 6); a server's refusal inside it is printed as the inner exception and read
    # by its own row.
    DbErrorText("Npgsql (.NET, before 6) connect failure", r"NpgsqlException[^\n]*: Exception while connecting\b",
                "Npgsql.NpgsqlException (0x80004005): Exception while connecting",
                "npgsql/npgsql src/Npgsql/NpgsqlConnector.cs before 6 (Connect: throw new NpgsqlException(\"Exception "
                "while connecting\", e)); UNCONFIRMED in a Cloud SQL thread"),
    # Npgsql 6 and later: the open's timer ran out at a step its words do not say (_NPGSQL_OPEN_TIMED_OUT).
    DbErrorText("Npgsql (.NET, 6+) open timeout", _NPGSQL_OPEN_TIMED_OUT,
                "Npgsql.NpgsqlException (0x80004005): The operation has timed out\n ---> System.TimeoutException: The "
                "operation has timed out.",
                "npgsql/npgsql src/Npgsql/Util/NpgsqlTimeout.cs (Check: ThrowNpgsqlExceptionWithInnerTimeoutException(\"The "
                "operation has timed out\")), src/Npgsql/Internal/NpgsqlConnector.cs (Open, Connect) and "
                "NpgsqlConnector.Auth.cs; UNCONFIRMED in a Cloud SQL thread"),
    # sqlx (Rust): an I/O error on the database's socket, sqlx::Error::Io, "error communicating with
    # database: {0}" (launchbadge/sqlx sqlx-core/src/error.rs), read only
    # with a network error's OS code after it (Rust's io::Error shows "(os error N)"): 111 refused,
    # 110 timed out, 104 reset, 113 no route, 32 broken pipe. Other libraries reuse the words for
    # other stores (a Redis client's "Error communicating with database: ..."): the OS code ties
    # them to a socket, and sqlx's own pool timeout is a pool wait (below).
    DbErrorText("Rust: sqlx I/O error", r"error communicating with database: [^\n]*\(os error (?:32|104|110|111|113)\)",
                "error communicating with database: Connection refused (os error 111)",
                "launchbadge/sqlx sqlx-core/src/error.rs (Error::Io, \"error communicating with database: {0}\") "
                "with Rust's io::Error Display; UNCONFIRMED in a Cloud SQL thread"),
    DbErrorText("SQL Server: Microsoft.Data.SqlClient / System.Data.SqlClient",
                r"A network-related or instance-specific error occurred while establishing a connection to SQL Server",
                "Microsoft.Data.SqlClient.SqlException (0x80131904): A network-related or instance-specific error "
                "occurred while establishing a connection to SQL Server. The server was not found or was not accessible. "
                "Verify that the instance name is correct and that SQL Server is configured to allow remote connections. "
                "(provider: TCP Provider, error: 40 - Could not open a connection to SQL Server)",
                "SqlClient's SNI connection error, as Microsoft's \"Troubleshoot connecting to the SQL Server Database "
                "Engine\" (learn.microsoft.com) quotes it; UNCONFIRMED in a Cloud SQL thread"),
    # One row a code: as alternatives of one pattern their common start would be its anchor, "connect
    # e", a word cut short (stdout_needles).
    DbErrorText("Node: net (the Node connector's TLS dial to 3307, pg, mysql2)",
                rf"connect ECONNREFUSED [\d.]+:{_DB_PORT}",
                "Error: connect ECONNREFUSED 127.0.0.1:5432", "GoogleCloudPlatform/nodejs-docs-samples issue #523; "
                "nodejs-getting-started issue #104"),
    DbErrorText("Node: net dial timeout (the Node connector, pg, mysql2)", rf"connect ETIMEDOUT [\d.]+:{_DB_PORT}",
                "Error: connect ETIMEDOUT 10.20.0.3:5432",
                "Node's net errors (nodejs/node lib/internal/errors.js exceptionWithHostPort: "
                "`${syscall} ${code} ${address}:${port}`); the same sources as the row above"),
    DbErrorText("Cloud Run's Cloud SQL connection (the /cloudsql volume)",
                r"connection to Cloud SQL instance at [\d.]+:3307 failed",
                "Cloud SQL connection failed. Please see https://cloud.google.com/sql/docs/mysql/connect-run for "
                "additional details: connection to Cloud SQL instance at 34.170.24.96:3307 failed: timed out after 10s",
                "public reproducer and incident notes quoting Cloud Run's message (their repositories and paths "
                "UNCONFIRMED); its \"dial error: failed to dial (connection name = ...)\" and \"Error 403\" "
                "forms match the rows of those texts"),
    # Failover and maintenance: the instance ends its connections (30-90 s), seen as resets.
    DbErrorText("MySQL client (failover)", r"Lost connection to MySQL server",
                "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query')",
                "GoogleCloudPlatform/cloud-sql-proxy issue #35 (what a client sees on a Cloud SQL failover)"),
    # Prisma's query engine, P1017: a connection it held was closed by the server (a failover, a
    # maintenance restart, a session ended); nothing says the path refused it.
    DbErrorText("Prisma (P1017, connection closed)", r"\bServer has closed the connection\b",
                "PrismaClientKnownRequestError: Invalid `prisma.order.findMany()` invocation: Server has closed the "
                "connection.",
                "prisma/prisma-engines libs/user-facing-errors/src/common.rs (ConnectionClosed, P1017: \"Server has "
                "closed the connection.\")"),
    # go-sql-driver/mysql: a read on a connection the server closed (failover, maintenance,
    # wait_timeout) logs the read error through the driver's own logger ("[mysql] " prefix, date and
    # time) and returns ErrInvalidConn ("invalid connection"). The bare "invalid connection" names no
    # database and is any library's words: only the driver's own log line is matched.
    DbErrorText("Go: go-sql-driver/mysql (connection closed)",
                r"\[mysql\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:\w+\.go:\d+: )?(?:unexpected EOF|read tcp [^\n]*"
                r"(?:connection reset by peer|i/o timeout))",
                "[mysql] 2026/12/01 21:40:12 packets.go:37: unexpected EOF",
                "go-sql-driver/mysql packets.go readPacket (mc.log(err), then return ErrInvalidConn) and errors.go "
                "(defaultLogger: log.New(os.Stderr, \"[mysql] \", log.Ldate|log.Ltime); older releases add the file "
                "and line)"),
    DbErrorText("MySQL client", r"MySQL server has gone away",
                "MySQLdb.OperationalError: (2006, 'MySQL server has gone away')",
                "MySQL client error 2006 (CR_SERVER_GONE_ERROR); UNCONFIRMED in a Cloud SQL thread"),
    # libpq over SSL when the socket ends or breaks under it (the server gone, a reset on the path):
    # pgtls_read/pgtls_write say "SSL SYSCALL error: EOF detected" for an EOF, or "SSL SYSCALL error:
    # %s" with the system's words (postgres src/interfaces/libpq/fe-secure-openssl.c). Nothing
    # answered: a connection broken, as "server closed the connection unexpectedly" is. Only the EOF
    # and the two socket errors: libpq's other SSL SYSCALL words are not read.
    DbErrorText("libpq over SSL (connection broken)",
                r"SSL SYSCALL error: (?:EOF detected|Connection reset by peer|Connection timed out)",
                "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) SSL SYSCALL error: EOF detected",
                "postgres src/interfaces/libpq/fe-secure-openssl.c (pgtls_read, pgtls_write); as dagster-io/dagster "
                "issue #7787 quotes it (and PDO pgsql's 'SQLSTATE[HY000]: General error: 7 SSL SYSCALL error: EOF "
                "detected', as nextcloud/server issue #32825 does); UNCONFIRMED in a Cloud SQL thread"),
    # libpq when the server ends its TLS session under a statement (a failover, a restart, a session it
    # ended): pgtls_read and pgtls_write on SSL_ERROR_ZERO_RETURN, "SSL connection has been closed
    # unexpectedly" (postgres src/interfaces/libpq/fe-secure-openssl.c, "only returned for a clean
    # connection closure"), as psycopg2 and psycopg 3 ("consuming input failed: ...") raise it. The close
    # is the TLS peer's; whether anything on the path but the server could end the session so is
    # UNCONFIRMED, so it is read as its siblings are: a connection broken, no answer. UNCONFIRMED in a
    # Cloud SQL thread.
    DbErrorText("libpq over SSL (session closed)",
                r"(?<!transaction timeout\s)(?<!idle-session timeout\s)SSL connection has been closed unexpectedly",
                "psycopg2.OperationalError: SSL connection has been closed unexpectedly",
                "postgres src/interfaces/libpq/fe-secure-openssl.c (pgtls_read, pgtls_write: SSL_ERROR_ZERO_RETURN); "
                "UNCONFIRMED in a Cloud SQL thread"),
    # Node's mysql2 and mysql when the socket closes under a connection the client did not end: "Connection
    # lost: The server closed the connection." (code PROTOCOL_CONNECTION_LOST; sidorares/node-mysql2
    # lib/connection.js, the stream's 'close' handler; mysqljs/mysql lib/protocol/Protocol.js, Protocol.end).
    # The words blame the server, but a socket closed by anything (a failover, wait_timeout, a reset on the
    # path) is said so: no answer. UNCONFIRMED in a Cloud SQL thread.
    DbErrorText("Node: mysql2 / mysql (connection lost)", r"\bConnection lost: The server closed the connection\b",
                "Error: Connection lost: The server closed the connection.",
                "sidorares/node-mysql2 lib/connection.js (the stream's close handler, PROTOCOL_CONNECTION_LOST); "
                "mysqljs/mysql lib/protocol/Protocol.js (Protocol.end); UNCONFIRMED in a Cloud SQL thread"),
    # libpq when a read on an open connection fails with the system's words (pqsecure_raw_read:
    # "could not receive data from server: %s", SOCK_STRERROR; postgres src/interfaces/libpq/fe-secure.c):
    # ETIMEDOUT ("Connection timed out", glibc's strerror) is the kernel giving up on data its peer never
    # acknowledged (TCP retransmissions, or keepalive probes, unanswered): a flow the path forgot. Only
    # the timeout: its reset is not read here. Nothing answered: not a refusal.
    DbErrorText("libpq (read on an open connection timed out)",
                r"could not receive data from server: Connection timed out",
                "psycopg2.OperationalError: could not receive data from server: Connection timed out",
                "postgres src/interfaces/libpq/fe-secure.c (pqsecure_raw_read); UNCONFIRMED in a Cloud SQL thread"),
    # Go's net package on a read of an open connection to the database's port: net.OpError.Error writes
    # Op, Net, Source "->" Addr, then the error (golang/go src/net/net.go), "read tcp 10.8.0.3:43210->
    # 10.20.0.5:5432: i/o timeout" at a deadline the driver set (os.ErrDeadlineExceeded's "i/o timeout",
    # golang/go src/internal/poll/fd.go), or "read: connection timed out" from the kernel (ETIMEDOUT).
    # pgx and database/sql pass it up inside their own words. Nothing answered: not a refusal.
    DbErrorText("Go net (read on an open connection timed out)",
                rf"\bread tcp [\w.:\[\]%-]+->[\w.\[\]%-]+:{_DB_PORT}: (?:i/o timeout|read: connection timed out)",
                "failed to load cart 81723: read tcp 10.8.0.3:43210->10.20.0.5:5432: i/o timeout",
                "golang/go src/net/net.go (OpError.Error) and src/internal/poll/fd.go (DeadlineExceededError); "
                "UNCONFIRMED in a Cloud SQL thread"),
    # The clients' own timers on a read of an open connection, past which they give up on the answer to a
    # statement they sent: the server may have run it slowly (a lock, a plan), or the path forgot the flow;
    # the words do not say which. Read as the reads above (READ_TIMEOUT_TEXTS), never as a dial or a
    # refusal. Npgsql (.NET) at the command's CommandTimeout (30 s by default): NpgsqlReadBuffer.Ensure
    # throws `new NpgsqlException("Exception while reading from stream", new TimeoutException("Timeout
    # during reading attempt"))` when the read outlasts it, and NpgsqlConnector.ReadMessageLong throws the
    # same when the server honoured the cancellation Npgsql sent at the timeout (57014 query_canceled)
    # (npgsql/npgsql src/Npgsql/Internal/NpgsqlReadBuffer.cs and NpgsqlConnector.cs); as npgsql/efcore.pg
    # issues #1977 and #3341 ("Failed executing DbCommand (30,115ms) ... CommandTimeout='30'" before it)
    # and npgsql/npgsql issue #5430 quote it. The inner exception's words, which .NET's console logger
    # writes on a line (an entry) of their own: the wrapper's are any failed read's (a reset, an end of
    # stream).
    DbErrorText("Npgsql (.NET) read on an open connection timed out",
                r"\bTimeoutException: Timeout during reading attempt\b",
                "Npgsql.NpgsqlException (0x80004005): Exception while reading from stream ---> "
                "System.TimeoutException: Timeout during reading attempt",
                "npgsql/npgsql src/Npgsql/Internal/NpgsqlReadBuffer.cs (Ensure) and NpgsqlConnector.cs "
                "(ReadMessageLong); npgsql/efcore.pg issues #1977, #3341; UNCONFIRMED in a Cloud SQL thread"),
    # MySqlConnector (.NET) at the command's CommandTimeout: "The Command Timeout expired before the
    # operation completed." (as mysql-net/MySqlConnector issues #1239, #882 and #1282 quote it, thrown from
    # its socket read, SocketByteHandler.DoReadBytesAsync; the source file of the words UNCONFIRMED). The
    # server's own answer when the query was killed, "Query execution was interrupted", is read by its
    # own pattern (DB_CANCELLED) when the same entry prints it. Not its connect timeout ("Connect Timeout
    # expired", its row above).
    DbErrorText(".NET: MySqlConnector (command timeout)",
                r"MySqlException(?: \(0x[0-9A-Fa-f]+\))?:? The Command Timeout expired before the operation completed",
                "MySqlConnector.MySqlException (0x80004005): The Command Timeout expired before the operation "
                "completed.", "mysql-net/MySqlConnector issues #1239, #882, #1282; UNCONFIRMED in a Cloud SQL thread"),
    # Microsoft.Data.SqlClient (and newer System.Data.SqlClient) at the command's CommandTimeout (30 s by
    # default): "Execution Timeout Expired.  The timeout period elapsed prior to completion of the
    # operation or the server is not responding." over Win32Exception 258 ("The wait operation timed
    # out"), as dotnet/SqlClient issues #647 and #2471 and sergiisyrovatchenko/SQLIndexManager issue #37
    # quote it (its resource name, and from which version, UNCONFIRMED). The connect's own timeout begins "Connection
    # Timeout Expired"; the older providers' bare "Timeout expired. ..." says either, and stays unread.
    DbErrorText("SQL Server: SqlClient (command timeout)",
                r"\bExecution Timeout Expired\.\s+The timeout period elapsed prior to completion of the operation",
                "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.  The timeout period "
                "elapsed prior to completion of the operation or the server is not responding.",
                "dotnet/SqlClient issues #647, #2471; UNCONFIRMED in a Cloud SQL thread"),
    # node-postgres at its query_timeout (the client's or the query's): Client.query starts a timer and,
    # when it fires first, calls back with `new Error('Query read timeout')` and drops the answer when it
    # comes (brianc/node-postgres packages/pg/lib/client.js; brianc/node-postgres PR #1760 added it,
    # PR #2655 quotes the message). The server is not asked to cancel the statement.
    DbErrorText("Node: node-postgres (query_timeout)", r"\bQuery read timeout\b",
                "Error: Query read timeout",
                "brianc/node-postgres packages/pg/lib/client.js (Client.query, readTimeout); UNCONFIRMED in a Cloud "
                "SQL thread"),
    # pgx (Go) when a statement's context runs out on an open connection: pgconn wraps a net timeout seen
    # with the context done as errTimeout, whose Error() is "timeout: " + ctx.Err() ("timeout: context
    # deadline exceeded"; jackc/pgx pgconn/errors.go, normalizeTimeoutError and errTimeout.Error), as
    # openfga/openfga issue #440 quotes it ("postgres error: timeout: context deadline exceeded"). The same
    # words close pgx's connect timeout inside its ConnectError, "failed to connect to `...`: ... dial error:
    # timeout: ..." (v5.5+) or "dial error (timeout: ...)" (before): `read_timed_out` leaves those to the
    # dial (_DIAL_TIMED_OUT). A wait for pgxpool's pool ends in a bare "context deadline exceeded" (no
    # "timeout:"), which names no database and stays unread (POOL_WAIT_TEXTS' comment). An application's own
    # error that writes "timeout: " before a context's error (a wrapper of an HTTP call) reads the same: how
    # often is UNCONFIRMED; read as a database's read, it holds a connector's scale-up back, never makes one.
    DbErrorText("Go: pgx (statement's context ran out)", r"\btimeout: context deadline exceeded\b",
                "list orders: timeout: context deadline exceeded",
                "jackc/pgx pgconn/errors.go (errTimeout.Error: \"timeout: %s\"; normalizeTimeoutError); "
                "openfga/openfga issue #440; UNCONFIRMED in a Cloud SQL thread"),
    # asyncpg at a statement's timeout (the connection's command_timeout, or fetch(timeout=)): the protocol's
    # _on_timeout asks the server to cancel and sets `asyncio.TimeoutError()` on the waiter
    # (MagicStack/asyncpg asyncpg/protocol/protocol.pyx, _on_timeout), so the traceback's last frame is the
    # protocol's method (bind_execute, execute, query, prepare, ...) and its exception line a bare
    # TimeoutError (asyncio.exceptions.TimeoutError before Python 3.11); SQLAlchemy's asyncpg dialect
    # re-raises it unwrapped (PrefectHQ/prefect issue #21225: "File \"asyncpg/protocol/protocol.pyx\",
    # line 205, in bind_execute"). Read only with that frame in the same entry: the bare exception line
    # alone names no database, and asyncpg's connect timeout has frames of its own (its rows above).
    DbErrorText("asyncpg (a statement's timeout)",
                r'asyncpg[/\\]protocol[/\\]protocol\.pyx", line \d+, in \w+(?:\n[ \t]+[^\n]*)*\n'
                r"(?:asyncio\.(?:exceptions\.)?)?TimeoutError\b",
                'Traceback (most recent call last):\n  File "/usr/local/lib/python3.11/site-packages/asyncpg/'
                'prepared_stmt.py", line 177, in fetch\n    data = await self.__bind_execute(args, 0, timeout)\n'
                '  File "asyncpg/protocol/protocol.pyx", line 205, in bind_execute\nTimeoutError',
                "MagicStack/asyncpg asyncpg/protocol/protocol.pyx (_on_timeout: `self.waiter.set_exception("
                "asyncio.TimeoutError())`); PrefectHQ/prefect issue #21225; UNCONFIRMED in a Cloud SQL thread"),
    # Prisma's query engine at its socket_timeout: quaint's SocketTimeout becomes P1008, "Operations timed
    # out after `{time}`. Context: Socket timeout (the database failed to respond to a query within the
    # configured timeout — see https://pris.ly/d/postgres-connector for more details.)." (prisma/prisma-engines
    # libs/user-facing-errors/src/quaint.rs, ErrorKind::SocketTimeout -> common::DatabaseOperationTimeout; as
    # prisma/orm issue #17939 quotes it). Its connect timeout is P1001's "Can't reach database server" (its
    # row above). Matched before the em dash, which newer clients print without the link.
    DbErrorText("Prisma (P1008, socket timeout)",
                r"\bSocket timeout \(the database failed to respond to a query within the configured timeout",
                "PrismaClientKnownRequestError: Operations timed out after `10s`. Context: Socket timeout (the database "
                "failed to respond to a query within the configured timeout)",
                "prisma/prisma-engines libs/user-facing-errors/src/quaint.rs (ErrorKind::SocketTimeout, P1008); "
                "prisma/orm issue #17939; UNCONFIRMED in a Cloud SQL thread"),
    # Ruby's mysql2 gem at its read_timeout (Rails' database.yml `read_timeout`): the client waits for the
    # socket to be readable after sending the query and raises Mysql2::Error::TimeoutError "Timeout waiting
    # for a response from the last query. (waited %d seconds)" (brianmario/mysql2 ext/mysql2/client.c,
    # wait_for_readable / do_query); Shopify/semian PR #171 quotes it under ActiveRecord::StatementInvalid.
    DbErrorText("Ruby: mysql2 gem (read_timeout)", r"\bTimeout waiting for a response from the last query\b",
                "ActiveRecord::StatementInvalid: Mysql2::Error::TimeoutError: Timeout waiting for a response from the "
                "last query. (waited 30 seconds)",
                "brianmario/mysql2 ext/mysql2/client.c (rb_raise(cMysql2TimeoutError, ...)); Shopify/semian PR #171; "
                "brianmario/mysql2 issue #609; UNCONFIRMED in a Cloud SQL thread"),
    # knex's own query timer (`.timeout(ms)`): the runner races the query against it and rethrows
    # KnexTimeoutError "Defined query timeout of ${timeout}ms exceeded when running query." (or, when
    # `cancel: true` could not cancel it, "After query timeout of ${timeout}ms exceeded, cancelling of query
    # failed.") (knex/knex lib/execution/runner.js, query; knex's own integration tests assert the words).
    # The query ran on a connection the pool had handed over: not its acquire timeout (POOL_WAIT_TEXTS).
    # Each alternative stops where its leading words stay its longest literal run: that run is the needle
    # the stdout read asks Logging for, and "ms exceeded ..." does not stand as words in "30000ms exceeded".
    DbErrorText("Node: knex (query timeout)",
                r"Defined query timeout of \d+ ?ms exceeded when running"
                r"|After query timeout of \d+ ?ms exceeded, cancel",
                "KnexTimeoutError: Defined query timeout of 30000ms exceeded when running query.",
                "knex/knex lib/execution/runner.js (query; the path UNCONFIRMED) and its integration tests; "
                "UNCONFIRMED in a Cloud SQL thread"),
    # Node's MySQL drivers at a query's own `timeout` option: mysqljs/mysql's Protocol names the timed-out
    # sequence, `new Error(sequence.constructor.name + ' inactivity timeout')`, code PROTOCOL_SEQUENCE_TIMEOUT
    # (mysqljs/mysql lib/protocol/Protocol.js; its issue #2079 quotes "Error: Query inactivity timeout"), and
    # sidorares/node-mysql2's Query command throws the same words (lib/commands/query.js, _handleTimeoutError,
    # syscall 'query'). Only the Query sequence's: "Handshake inactivity timeout" is a connect that got no
    # answer, a dial (its row above).
    # mysqljs/mysql's ping when the server answered no packet within its timeout: the Protocol names the
    # timed-out sequence (`sequence.constructor.name + ' inactivity timeout'`, PROTOCOL_SEQUENCE_TIMEOUT,
    # lib/protocol/Protocol.js _enqueue), here the Ping of Connection.ping(options) (lib/Connection.js).
    # A Pool pings each free connection it hands out ({timeout: acquireTimeout}, lib/Pool.js
    # acquireConnection; Readme "When a previous connection is retrieved from the pool, a ping packet is
    # sent") but swallows a failed ping: it purges the connection and queues the caller for a new one, so
    # these words in a log come from the application's own ping (a health check, a keepalive). Either way
    # the connection had been made: a read on an open connection that timed out (READ_TIMEOUT_TEXTS), as
    # the Query sequence's row below; never a dial. The ChangeUser, Statistics and Quit sequences' words
    # are left unread (UNCONFIRMED that any application logs them). UNCONFIRMED in a Cloud SQL thread.
    DbErrorText("Node: mysql (ping timeout)", r"\bPing inactivity timeout\b",
                "Error: Ping inactivity timeout\n    at Ping.<anonymous> (/app/node_modules/mysql/lib/protocol/"
                "Protocol.js:160:17)",
                "mysqljs/mysql lib/protocol/Protocol.js (_enqueue; PROTOCOL_SEQUENCE_TIMEOUT), lib/Connection.js "
                "(ping), lib/Pool.js (acquireConnection); UNCONFIRMED in a Cloud SQL thread"),
    DbErrorText("Node: mysql / mysql2 (query timeout)", r"\bQuery inactivity timeout\b",
                "Error: Query inactivity timeout\n    at Query._handleTimeoutError (/app/node_modules/mysql2/lib/"
                "commands/query.js:94:17)",
                "mysqljs/mysql lib/protocol/Protocol.js (PROTOCOL_SEQUENCE_TIMEOUT) and its issue #2079; "
                "sidorares/node-mysql2 lib/commands/query.js; UNCONFIRMED in a Cloud SQL thread"),
    # The same read (or a write) on an open connection to the database's port that the peer reset
    # (ECONNRESET, "connection reset by peer"; on a write to a socket already reset, EPIPE, "broken
    # pipe": glibc's strerror words, as Go's syscall.Errno prints them), in net.OpError's own form
    # (golang/go src/net/net.go): pgx ("failed to receive message: ..."), database/sql and
    # go-sql-driver/mysql (its "invalid connection" beside it) pass it up. The connection was open: a
    # broken connection, as libpq's "SSL connection has been closed unexpectedly" is, never a refusal.
    # Who reset it the words do not say: the server (a failover, a restart, a session it ended), the
    # Auth Proxy, or something on the path that forgot the flow (a connector's instance replaced;
    # UNCONFIRMED how a Serverless VPC Access connector ends flows). Only a database port: another
    # dependency's reset ("->34.117.59.81:443") is not the database's.
    DbErrorText("Go net (open connection reset)",
                rf"\bread tcp [\w.:\[\]%-]+->[\w.\[\]%-]+:{_DB_PORT}: read: connection reset by peer",
                "failed to receive message: read tcp 10.8.0.5:43210->10.20.0.3:5432: read: connection reset by peer",
                "golang/go src/net/net.go (OpError.Error); the system's ECONNRESET words; UNCONFIRMED in a Cloud "
                "SQL thread"),
    # Its write half, one row a verb (their common start would be a needle cut short, stdout_needles).
    DbErrorText("Go net (open connection broken, on a write)",
                rf"\bwrite tcp [\w.:\[\]%-]+->[\w.\[\]%-]+:{_DB_PORT}: write: (?:broken pipe|connection reset by peer)",
                "write tcp 10.8.0.5:43210->10.20.0.3:5432: write: broken pipe",
                "golang/go src/net/net.go (OpError.Error); the system's EPIPE and ECONNRESET words; UNCONFIRMED in a "
                "Cloud SQL thread"),
    # The same reset where the error names no port (Node's "Error: read ECONNRESET", its net error;
    # Java's "java.net.SocketException: Connection reset", the JDK's NioSocketImpl) is any socket's (an
    # HTTP call's as well): read only when the entry's own stack, below the reset and before any other
    # exception, passes through the database driver's frames. Node prints an unhandled 'error' event's
    # emit site so ("Emitted 'error' event on Client instance at:", then pg's frames through
    # Socket.reportStreamError in pg/lib/connection.js, as brianc/node-postgres issue #2162 quotes it;
    # brianc/node-postgres packages/pg/lib/connection.js, the stream's 'error' handler, passes the
    # socket's error on unchanged); mysql2 passes it on through lib/connection.js _handleNetworkError
    # and _handleFatalError (err.fatal = true; sidorares/node-mysql2 lib/connection.js). pg-protocol's
    # and mysql2's frame names in such a stack are UNCONFIRMED beyond those two sources.
    DbErrorText("Node: node-postgres / mysql2 (open connection reset)", _NODE_DRIVER_RESET,
                "Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)\n"
                "Emitted 'error' event on Client instance at:\n    at Socket.reportStreamError "
                "(/app/node_modules/pg/lib/connection.js:58:12)",
                "brianc/node-postgres issue #2162 and packages/pg/lib/connection.js (reportStreamError); "
                "sidorares/node-mysql2 lib/connection.js (_handleNetworkError, _handleFatalError); UNCONFIRMED "
                "in a Cloud SQL thread"),
    # Java: the reset under pgjdbc's reading frames (org.postgresql.core.VisibleBufferedInputStream
    # .readMore, PGStream), Connector/J's (com.mysql.cj.protocol.ReadAheadInputStream.fill, as
    # brettwooldridge/HikariCP issue #2117 quotes it), or HikariCP's proxies (com.zaxxer.hikari.pool).
    # pgjdbc's own wrapper, when logged, is read by its row above.
    DbErrorText("Java: pgjdbc / Connector/J / HikariCP (open connection reset)", _JAVA_DRIVER_RESET,
                "java.net.SocketException: Connection reset\n\tat java.base/sun.nio.ch.NioSocketImpl.implRead("
                "NioSocketImpl.java:318)\n\tat org.postgresql.core.VisibleBufferedInputStream.readMore("
                "VisibleBufferedInputStream.java:161)",
                "brettwooldridge/HikariCP issue #2117 (Connector/J's frames under the reset); pgjdbc/pgjdbc "
                "org/postgresql/core/VisibleBufferedInputStream.java (readMore; its path UNCONFIRMED against the "
                "source); UNCONFIRMED in a Cloud SQL thread"),
    # node-postgres: the client's stream ended without the client's own end() (pg lib/client.js, the
    # 'end' handler: `this._ending ? new Error('Connection terminated') : new Error('Connection
    # terminated unexpectedly')`), given to every queued query and to a connect in progress: the
    # server or the path closed the socket (a failover, a restart, a reset). Nothing answered.
    # The words after "terminated" are a lookahead so that Logging is asked for "connection
    # terminated" once, for this row and the connect timeout's (stdout_needles keeps the shorter).
    DbErrorText("Node: node-postgres (connection ended)", r"\bConnection terminated(?= unexpectedly\b)",
                "Error: Connection terminated unexpectedly",
                "brianc/node-postgres packages/pg/lib/client.js (the stream's 'end' handler); UNCONFIRMED in a "
                "Cloud SQL thread"),
    # Not after PgBouncer's query_wait_timeout: the pooler closes a client it kept waiting for a server
    # connection and libpq reports its FATAL and then the closed socket (psycopg2 strips the severity:
    # "query_wait_timeout\nserver closed the connection unexpectedly"): a wait, read in POOL_WAIT_TEXTS.
    # Nor after the server's own session timeouts (SESSION_TIMEOUT, below): libpq reports the server's
    # FATAL and then the closed socket, and the FATAL says why (the application left its session idle).
    DbErrorText("libpq (connection ended)",
                r"(?<!query_wait_timeout\s)(?<!transaction timeout\s)(?<!idle-session timeout\s)server closed the "
                r"connection unexpectedly",
                "psycopg2.OperationalError: server closed the connection unexpectedly",
                "GoogleCloudPlatform/cloud-sql-proxy issue #79"),
    # A pool that hands out a connection already broken (a failover, a restart or a reset ended it while
    # it sat idle, and the pool neither validated nor dropped it): the driver refuses to use it, in its own
    # words, before anything is sent. Nothing answered; the connection was found closed, as the rows above
    # say it. Each in its driver's frame only: "connection already closed" and "connection is closed" are
    # any library's words (a websocket's, a graph database's).
    DbErrorText("Java: pgjdbc (a closed connection used again)", r"PSQLException: This connection has been closed\.",
                "org.postgresql.util.PSQLException: This connection has been closed.",
                "pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgConnection.java (checkClosed, SQL state "
                "08003 connection_does_not_exist); its path UNCONFIRMED against the source; UNCONFIRMED in a Cloud "
                "SQL thread"),
    DbErrorText("psycopg2 (a closed connection used again)",
                r"\(psycopg2\.InterfaceError\) connection already closed"
                r"|(?:psycopg2|django\.db\.utils)\.InterfaceError: connection already closed",
                "sqlalchemy.exc.InterfaceError: (psycopg2.InterfaceError) connection already closed",
                "psycopg/psycopg2's InterfaceError \"connection already closed\" (its source path UNCONFIRMED), as "
                "SQLAlchemy wraps it, and as Django re-raises it under its own class with the driver's words "
                "(django/django django/db/utils.py, DatabaseErrorWrapper: dj_exc_type(*exc_value.args)); "
                "UNCONFIRMED in a Cloud SQL thread"),
    # node-postgres's pool: an idle client's reset, as the application's pool 'error' handler logs it
    # with the client pg-pool set on it (_NODE_POOL_IDLE_RESET). The socket under an idle connection
    # was reset (a failover, a restart, the path): a broken connection, as the Go reset's row reads it.
    DbErrorText("Node: node-postgres's pool (an idle client reset)", _NODE_POOL_IDLE_RESET,
                "Unexpected error on idle client Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/"
                "stream_base_commons:217:20) {\n  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read',\n  client: "
                "Client {\n",
                "brianc/node-postgres packages/pg-pool/index.js (makeIdleListener: err.client = client, then "
                "pool.emit('error', err, client)) and its \"pg.Pool\" docs (docs/pages/apis/pool.mdx: the idle "
                "clients emit their errors through the pool's 'error' event); Node's util.inspect prints an "
                "error's own properties after its stack; UNCONFIRMED in a Cloud SQL thread"),
    # HikariCP's eviction of a connection broken under a statement (_HIKARI_BROKEN): found broken, as
    # pgjdbc's and Connector/J's own words below it say, nothing answered.
    DbErrorText("Java: HikariCP (a connection marked as broken)", _HIKARI_BROKEN,
                "HikariPool-1 - Connection org.postgresql.jdbc.PgConnection@1a2b3c marked as broken because of "
                "SQLSTATE(08006), ErrorCode(0)",
                "brettwooldridge/HikariCP src/main/java/com/zaxxer/hikari/pool/ProxyConnection.java "
                "(checkException); UNCONFIRMED in a Cloud SQL thread"),
    DbErrorText("asyncpg (a closed connection used again)",
                r"asyncpg\.exceptions\._base\.InterfaceError'?>?: connection is closed",
                "asyncpg.exceptions._base.InterfaceError: connection is closed",
                "MagicStack/asyncpg asyncpg/connection.py (exceptions.InterfaceError('connection is closed') on a "
                "closed connection); UNCONFIRMED in a Cloud SQL thread"),
    DbErrorText("Node: mysql2 (a closed connection used again)",
                r"Can't add new command when connection is in closed state",
                "Error: Can't add new command when connection is in closed state",
                "sidorares/node-mysql2 lib/connection.js (_addCommandClosedState, err.fatal = true); UNCONFIRMED in a "
                "Cloud SQL thread"),
    DbErrorText("Cloud SQL Auth Proxy v2 (connection reset)", r"connection aborted - error reading from instance",
                "[p:r:i] connection aborted - error reading from instance: read tcp 169.254.8.1:60699->"
                "10.20.0.3:3307: read: connection reset by peer", "GoogleCloudPlatform/cloud-sql-proxy issue #2453"),
    # MySqlConnector at its Connect Timeout (default 15 s) while it opened a NEW connection: the TCP
    # connect or the handshake got no answer in time (ServerSession.ConnectAsync / MySqlConnection
    # .CreateSessionAsync: throw new MySqlException(MySqlErrorCode.UnableToConnectToHost, "Connect Timeout
    # expired.")). Not its pool's form, " All pooled connections are in use." added when the pool was
    # empty: a wait for the application's own pool (POOL_WAIT_TEXTS). Nothing answered. The words
    # after "Connect Timeout expired" are a lookahead, in both rows, so that Logging is asked for
    # "connect timeout expired" once, for both (stdout_needles keeps one of two equal needles); each
    # code in its own alternative, so that a needle is a whole word (stdout_needles).
    DbErrorText(".NET: MySqlConnector (connect timeout)",
                r"MySqlException(?: \(0x[0-9A-Fa-f]+\))?:? Connect Timeout expired(?=\.(?! All pooled connections are in use))",
                "MySqlConnector.MySqlException (0x80004005): Connect Timeout expired.",
                "mysql-net/MySqlConnector src/MySqlConnector/Core/ServerSession.cs (ConnectAsync) and "
                "src/MySqlConnector/MySqlConnection.cs (CreateSessionAsync, the pool's suffix); "
                "UNCONFIRMED in a Cloud SQL thread"),
    # The Cloud SQL Python connector reaches the Cloud SQL Admin API (sqladmin.googleapis.com, its
    # connectSettings and generateEphemeralCert calls) with aiohttp before any dial to the instance
    # (google/cloud/sql/connector/client.py, CloudSQLClient: sqladmin_api_endpoint defaults to
    # https://sqladmin.googleapis.com); when the call cannot be made, aiohttp's ClientConnectorError
    # ("Cannot connect to host %s:%d ssl:%s [%s]", aiohttp client_exceptions.py) reaches the application
    # (aiohttp 3.10's ConnectionTimeoutError, a connect that timed out, is worded otherwise: its own row
    # below). Nothing answered:
    # under egress ALL_TRAFFIC the call crosses the connector (and needs Cloud NAT or Private Google
    # Access past it), so the path may be at fault. It is the refresh failing (refresh_failed names it),
    # never a dial to the instance: alone it never scales the connector. A certificate the client does not trust
    # (ClientConnectorCertificateError, SSLCertVerificationError: a CA bundle of the image) is not read.
    DbErrorText("Cloud SQL Python connector (Admin API not reached)",
                r"Cannot connect to host sqladmin\.googleapis\.com:443 ssl:\S+ \[(?!SSLCertVerificationError)",
                "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host sqladmin.googleapis.com:443 "
                "ssl:default [Connect call failed ('199.36.153.8', 443)]",
                "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/client.py (aiohttp to "
                "sqladmin.googleapis.com); aio-libs/aiohttp aiohttp/client_exceptions.py (ClientConnectorError."
                "__str__); the certificate form in "
                "public notes (repository and path UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread"),
    # The Cloud SQL Python connector's refresh whose Admin API call timed out in aiohttp
    # (_PY_CONNECTOR_API_TIMED_OUT): aiohttp raises asyncio.TimeoutError, with no message, when a request
    # outlasts its ClientTimeout (its TimerContext.__exit__, "raise asyncio.TimeoutError from None", in
    # aiohttp/helpers.py, under ClientSession._request's `with timer:` in aiohttp/client.py), and the
    # connector's calls to the Admin API (connectSettings, generateEphemeralCert) are its only aiohttp requests
    # (google/cloud/sql/connector/client.py, CloudSQLClient._get_metadata / _get_ephemeral; refresh_utils.py
    # before 1.7), made before any dial to the instance. As GoogleCloudPlatform/cloud-sql-python-connector
    # issue #914 quotes it: instance.py _refresh_task, instance.py _perform_refresh, refresh_utils.py
    # _get_metadata, aiohttp/client.py _request, aiohttp/helpers.py __exit__, then "TimeoutError" alone
    # (Python 3.11); GoogleCloudPlatform/python-docs-samples issue #13181 the same frames under Python 3.10,
    # asyncio's own frames between them. The bare TimeoutError names nothing: read only under the connector's
    # and aiohttp's frames in the same entry (a traceback logged as one entry). Nothing answered (a refresh
    # that failed: refresh_failed names it). The connector's dial to 3307 never goes through aiohttp (its row
    # below); aiohttp 3.10's ConnectionTimeoutError, worded otherwise, is the next row. UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Python connector (Admin API call timed out)", _PY_CONNECTOR_API_TIMED_OUT,
                'Traceback (most recent call last):\n  File "/usr/local/lib/python3.11/site-packages/google/cloud/sql/'
                'connector/refresh_utils.py", line 103, in _get_metadata\n    resp = await client_session.get(url, '
                'headers=headers, raise_for_status=True)\n  File "/usr/local/lib/python3.11/site-packages/aiohttp/'
                'client.py", line 467, in _request\n    with timer:\n  File "/usr/local/lib/python3.11/site-packages/'
                'aiohttp/helpers.py", line 721, in __exit__\n    raise asyncio.TimeoutError from None\nTimeoutError',
                "GoogleCloudPlatform/cloud-sql-python-connector issue #914 (the traceback) and "
                "google/cloud/sql/connector/client.py (aiohttp to sqladmin.googleapis.com); "
                "GoogleCloudPlatform/python-docs-samples issue #13181; UNCONFIRMED in a Cloud Run log"),
    # The Cloud SQL Python connector's Admin API call whose connect timed out in aiohttp
    # (_PY_CONNECTOR_API_CONNECT_TIMED_OUT): aiohttp 3.10+ raises ConnectionTimeoutError (a ServerTimeoutError;
    # ServerTimeoutError itself before 3.10) "Connection timeout to host URL" at its connect timeout
    # (aio-libs/aiohttp aiohttp/client.py, ClientSession._request; aiohttp/client_exceptions.py), URL the
    # connector's connectSettings or generateEphemeralCert URL on sqladmin.googleapis.com. A refresh that failed
    # (refresh_failed), never a dial to the instance nor the application's own upstream: not an
    # UPSTREAM_TIMEOUT (its row there leaves these URLs out). Whether yarl prints the ":" of
    # ":generateEphemeralCert" as is is UNCONFIRMED (RFC 3986 allows it in a path segment); UNCONFIRMED in a
    # Cloud Run log.
    DbErrorText("Cloud SQL Python connector (Admin API connect timed out)", _PY_CONNECTOR_API_CONNECT_TIMED_OUT,
                "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host "
                "https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings",
                "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/client.py (the two URLs); "
                "aio-libs/aiohttp aiohttp/client.py and aiohttp/client_exceptions.py (ConnectionTimeoutError); "
                "UNCONFIRMED in a Cloud Run log"),
    # The Cloud SQL Python connector's instance named by a DNS name (_PY_CONNECTOR_DNS_NAME): Connector.connect_async
    # resolves the name it is given first, before any cache, refresh or dial (`conn_name = await
    # self._resolver.resolve(instance_connection_string)`, google/cloud/sql/connector/connector.py), and
    # DnsResolver.query_dns raises DnsResolutionError when the TXT lookup fails, whatever its cause ("Unable to
    # resolve TXT record for `NAME`", the resolver's own error as its __cause__) or when no record parses as a
    # connection name ("Unable to parse TXT record for `NAME` -> `RECORD`") (resolver.py). Nothing was dialled:
    # the connector's counterpart of the Node.js connector's ENOSQLADMINRESOLVE, read as a refresh that failed
    # (refresh_failed), never as the VPC connector's capacity. UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Python connector (DNS name not resolved)", _PY_CONNECTOR_DNS_NAME,
                "google.cloud.sql.connector.exceptions.DnsResolutionError: Unable to resolve TXT record for "
                "`orders-db.shop.example.com`",
                "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/resolver.py "
                "(DnsResolver.query_dns) and connector.py (connect_async); UNCONFIRMED in a Cloud Run log"),
    # The Cloud SQL Node.js connector's (@google-cloud/cloud-sql-connector) refresh that failed: its
    # CloudSQLConnectorError messages thrown while it fetches the instance's metadata and its ephemeral
    # certificate from the Admin API (GoogleCloudPlatform/cloud-sql-nodejs-connector src/sqladmin-fetcher.ts:
    # ENOSQLADMIN "Failed to find metadata on project id: P and instance id: I. Ensure network connectivity and
    # validate the provided `instanceConnectionName` config value", ENOSQLADMINEPH "Cannot connect to instance,
    # failed to retrieve an ephemeral certificate", ENOSQLADMINCERT "Cannot connect to instance, no valid CA
    # certificate found", ENOACCESSTOKEN "Failed to get access token for automatic IAM authentication."; the
    # class in src/errors.ts); and, when the call cannot be made, the request's own error, which the connector
    # passes on unwrapped (src/cloud-sql-instance.ts): node-fetch's FetchError "request to URL failed,
    # reason: MESSAGE" (node-fetch src/index.js, `request_.on('error')`, in 2.x and in 3.3.2 alike), MESSAGE
    # Node's net error ("connect ETIMEDOUT 199.36.153.8:443"), as a GaxiosError carrying the same message
    # (`new GaxiosError(e.message, opts, undefined, e)` in `_request`'s catch, googleapis/gaxios
    # src/gaxios.ts). gaxios 7 and 8 still call node-fetch (v3) on Node: `#getFetch` takes `window.fetch`
    # only where a global `window` exists, `import('node-fetch')` otherwise (gaxios src/gaxios.ts at
    # 7.1.2, and the published 7.3.1 and 8.3.3 build/cjs/src/gaxios.js; the connector 1.11.3 asks for
    # gaxios ^7.3.1, package.json), so undici's "fetch failed" is not the connector's wording on Cloud Run
    # and is not read: it names no URL, and an application's own fetch fails with the same words. Only the
    # connector's two calls' URLs are read (connectSettings, generateEphemeralCert). Whether the error's
    # name prints as CloudSQLConnectorError or Error is UNCONFIRMED. The
    # connector's other refusals before any dial: ENOSQLADMINREGION, EBADSQLADMINREGION (src/sqladmin-fetcher.ts)
    # and EPARSESQLADMINEPH (src/crypto.ts) are refreshes too (in _NODE_CONNECTOR_REFRESH); its ENO*IPADDRESS
    # errors are the "no IP of the type" refusal (their own row). No dial to the instance's 3307
    # was tried. UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Node.js connector (refresh failed)", _NODE_CONNECTOR_REFRESH,
                "CloudSQLConnectorError: Failed to find metadata on project id: p and instance id: i. Ensure network "
                "connectivity and validate the provided `instanceConnectionName` config value",
                "GoogleCloudPlatform/cloud-sql-nodejs-connector src/sqladmin-fetcher.ts (ENOSQLADMIN, ENOSQLADMINEPH, "
                "ENOSQLADMINCERT, ENOACCESSTOKEN) and src/errors.ts; node-fetch src/index.js (FetchError \"request to "
                "... failed, reason: ...\"); UNCONFIRMED in a Cloud Run log"),
    # The Cloud SQL Python connector's own dial to the instance's server proxy port timed out in the kernel
    # (_PY_CONNECTOR_DIAL_TIMED_OUT): since v1.2.4 the connector no longer wraps the connect in a timer of
    # its own (cloud-sql-python-connector pull request #760, "Allow database drivers to handle timeout
    # instead of Connector itself"), and its helpers for the sync drivers dial with
    # `socket.create_connection((ip_address, SERVER_PROXY_PORT))`, no timeout, SERVER_PROXY_PORT = 3307
    # (google/cloud/sql/connector/pg8000.py, pymysql.py, pytds.py), so a dial nothing answers ends at the
    # kernel's ETIMEDOUT, which Python raises as TimeoutError "[Errno 110] Connection timed out" (PEP 3151,
    # OSError subclasses by errno). Read only with the connector's helper frame above it in the same entry
    # (a traceback logged as one entry): the bare exception line names no database. The Admin API calls
    # before the dial go through aiohttp, which raises its own ClientConnectorError (its row above), never
    # this. UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Python connector (dial timed out)", _PY_CONNECTOR_DIAL_TIMED_OUT,
                'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/site-packages/google/cloud/sql/'
                'connector/pg8000.py", line 51, in connect\n    socket.create_connection((ip_address.rstrip("."), '
                'SERVER_PROXY_PORT)),\n  File "/usr/local/lib/python3.12/socket.py", line 852, in create_connection\n'
                '    raise exceptions[0]\nTimeoutError: [Errno 110] Connection timed out',
                "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/pg8000.py (connect: "
                "socket.create_connection to SERVER_PROXY_PORT 3307) and pull request #760 (the connector's own "
                "timer removed, v1.2.4); UNCONFIRMED in a Cloud Run log"),
    # The Cloud SQL Java connector's (cloud-sql-jdbc-socket-factory) dial to the instance's port 3307 timed
    # out in the kernel: the JDK's java.net.ConnectException "Connection timed out" (older JDKs repeat it in
    # parentheses) under the connector's frames (com.google.cloud.sql.core: CoreSocketFactory.connect, and
    # Connector.connect since 1.15), as GoogleCloudPlatform/cloud-sql-jdbc-socket-factory issue #375 quotes it
    # ("java.net.ConnectException: Connection timed out (Connection timed out)" then the JDK's socket frames,
    # then com.google.cloud.sql.core.CoreSocketFactory's). Read only with the connector's frame in the same
    # entry's stack, before any other exception: the JDK's words alone are any socket's.
    DbErrorText("Cloud SQL Java connector (dial timed out)", _JAVA_CONNECTOR_DIAL_TIMED_OUT,
                "java.net.ConnectException: Connection timed out (Connection timed out)\n\tat java.base/java.net."
                "PlainSocketImpl.socketConnect(Native Method)\n\tat java.base/java.net.Socket.connect(Socket.java:"
                "609)\n\tat java.base/sun.security.ssl.SSLSocketImpl.connect(SSLSocketImpl.java:289)\n\tat "
                "com.google.cloud.sql.core.CoreSocketFactory.connect(CoreSocketFactory.java:160)",
                "GoogleCloudPlatform/cloud-sql-jdbc-socket-factory issue #375 (the exception and the connector's "
                "frame under it); UNCONFIRMED in a Cloud Run log"),
    # The database answered, and refused: the path to it works (DbErrorText.refusal).
    # MySQL 1053 (ER_SERVER_SHUTDOWN), "Server shutdown in progress": the server is stopping (a restart,
    # maintenance, a failover) and says so to the sessions and connects it ends. The server answered.
    DbErrorText("MySQL server (shutting down)", r"\bServer shutdown(?= in progress\b)",
                "pymysql.err.OperationalError: (1053, 'Server shutdown in progress')",
                "MySQL server error 1053 (ER_SERVER_SHUTDOWN, SQLSTATE 08S01), as MySQL's error reference and "
                "Connector/J's MysqlErrorNumbers list it (mysql/mysql-connector-j src/main/core-api/java/com/mysql/"
                "cj/exceptions/MysqlErrorNumbers.java; a server shutting down answers it, as sysown/proxysql issue #476 "
                "logs it, \"error 1053 (Server shutdown in progress)\"); UNCONFIRMED in a Cloud SQL thread",
                Refusal.RESTARTING),
    DbErrorText("PostgreSQL server (restarting)", r"terminating connection due to administrator command",
                "sqlalchemy.exc.OperationalError: (psycopg2.errors.AdminShutdown) terminating connection due to "
                "administrator command", "timescale/timescaledb issue #3088 (the message); PostgreSQL's 57P01 "
                "admin_shutdown, sent to every session as an instance stops", Refusal.RESTARTING),
    # A server process died abnormally (most often killed for memory): the postmaster sends every other
    # session 57P02 crash_shutdown and resets (postgres.c quickdie: errmsg("terminating connection because
    # of crash of another server process")). An answer: the database ended the connections itself.
    DbErrorText("PostgreSQL server (another server process crashed)",
                r"terminating connection because of crash of another server process",
                "psycopg2.OperationalError: terminating connection because of crash of another server process",
                "PostgreSQL's quickdie (ERRCODE_CRASH_SHUTDOWN, 57P02), as server logs and clients quote it "
                "(their repositories and paths UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread",
                Refusal.CRASHED),
    DbErrorText("PostgreSQL server (starting or stopping)",
                r"the database system is (?:starting up|shutting down|in recovery mode)",
                "FATAL:  the database system is starting up", "PostgreSQL's 57P03 cannot_connect_now, answered "
                "while an instance starts or stops; UNCONFIRMED in a Cloud SQL thread", Refusal.RESTARTING),
    # PostgreSQL 14+ while recovery runs and has not reached a consistent state (crash recovery after
    # a failover or a crash restart, a replica starting): the same 57P03 in other words, "the database
    # system is not yet accepting connections" (DETAIL "Consistent recovery state has not been yet
    # reached.") or, with hot standby off, "... is not accepting connections" (DETAIL "Hot standby mode
    # is disabled."). The first and its DETAIL as cloudnative-pg/cloudnative-pg issues #3344 and #1566
    # quote a server's log (57P03) while it recovered; that it follows "redo starts" is UNCONFIRMED.
    # An answer: the server is there and refuses for now.
    DbErrorText("PostgreSQL server (recovering, 14+)", r"the database system is not (?:yet )?accepting connections",
                'psycopg2.OperationalError: connection to server at "10.40.0.7", port 5432 failed: FATAL:  the '
                "database system is not yet accepting connections",
                "PostgreSQL 14+ postmaster (CAC_NOTCONSISTENT, SQLSTATE 57P03 cannot_connect_now) as "
                "cloudnative-pg/cloudnative-pg issues #3344 and #1566 quote a server's log of it; UNCONFIRMED in a "
                "Cloud SQL thread",
                Refusal.RESTARTING),
    # A role's or a database's own CONNECTION LIMIT (postgres/postgres src/backend/utils/init/miscinit.c
    # InitializeSessionUserId: ereport(FATAL, ERRCODE_TOO_MANY_CONNECTIONS, 'too many connections for role
    # "%s"') when CountUserBackends exceeds rolconnlimit; src/backend/utils/init/postinit.c CheckMyDatabase:
    # 'too many connections for database "%s"' past datconnlimit), printed bare by lib/pq ("pq: ...") and
    # in libpq's, pgx's and pgjdbc's frames.
    DbErrorText("PostgreSQL server (role or database connection limit)",
                r'too many connections for (?:role|database) "',
                'psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: FATAL:  too many '
                'connections for role "app"',
                "PostgreSQL miscinit.c (InitializeSessionUserId: rolconnlimit) and postinit.c (CheckMyDatabase: "
                "datconnlimit), SQLSTATE 53300; UNCONFIRMED in a Cloud SQL thread", Refusal.ROLE_LIMIT),
    DbErrorText("PostgreSQL server (authentication)", r"password authentication failed for user",
                'psycopg2.OperationalError: connection to server on socket "/cloudsql/p:r:i/.s.PGSQL.5432" failed: '
                'FATAL:  password authentication failed for user "superset"',
                "bengen343/superset-on-gcp-cloud-run issue #4; GoogleCloudPlatform/cloud-sql-proxy issue #1991",
                Refusal.CREDENTIALS),
    # Rails' PostgreSQL adapter replaces libpq's message by its own (as its hostname error, the row "Ruby: Rails 7
    # (libpq 14+) hostname error"), checking, in this order (postgresql_adapter.rb, new_client): a driver
    # message that holds the configured database's name raises NoDatabaseError.db_error ("We could not find your
    # database: #{db_name}. ...", errors.rb), and one that holds the user's name DatabaseConnectionError.
    # username_error ("There is an issue connecting to your database with your username/password, username:
    # #{username}.", errors.rb). Both are substring tests of libpq's message, never of a SQLSTATE. The user's name
    # is in the server's refusals of that user: 'password authentication failed for user "U"' (auth.c; 28P01 in
    # current releases, UNCONFIRMED against the source read: an 8.x auth.c sends it with 28000), 'role "U" does not
    # exist' and 'role "U" is not permitted to log in' (28000, miscinit.c), 'too many connections for role "U"'
    # (53300, miscinit.c). But a message that names the host or a socket path holding the user's name as a part
    # of it (a user "orders" and a host "orders-db.internal", a socket "/cloudsql/p:r:orders-pg/.s.PGSQL.5432")
    # says so too whatever failed, a dial that timed out through a saturated connector among them: so, as the
    # hostname error and NoDatabaseError above, an error of reaching the database whose cause the words do not
    # say, never a refusal (an answer, which would rule the path out) nor a dial by itself. The rule that reads it
    # (database_unreachable) ties it to a deploy only where the deploy changed the user or its password.
    DbErrorText("Ruby: Rails 7 (PostgreSQL) username error, cause unsaid", r"There is an issue connecting to your database with "
                r"your username/password, username: ",
                "ActiveRecord::DatabaseConnectionError: There is an issue connecting to your database with your "
                "username/password, username: ledger_svc.",
                "rails/rails activerecord/lib/active_record/errors.rb (DatabaseConnectionError.username_error) and "
                "connection_adapters/postgresql_adapter.rb (new_client); UNCONFIRMED in a Cloud SQL thread"),
    # The client had no password to give when the server asked for one: said by the client before any
    # refusal of the server's (a password emptied or taken out of the DSN by a deploy).
    DbErrorText("PostgreSQL client (no password supplied)",
                r"fe_sendauth: no password supplied|The server requested (?:SCRAM|password)-based authentication, "
                r"but no password was provided"
                r"|SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a (?:non-empty )?string",
                'psycopg2.OperationalError: connection to server at "10.40.0.7", port 5432 failed: fe_sendauth: no '
                'password supplied',
                "postgres/postgres src/interfaces/libpq/libpq-fe.h (PQnoPasswordSupplied); pgjdbc/pgjdbc "
                "pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java (doAuthentication); "
                "brianc/node-postgres packages/pg/lib/crypto/sasl.js (continueSession: a password not a string, "
                "or empty, when the server asks for SCRAM-SHA-256); UNCONFIRMED in a Cloud SQL thread",
                Refusal.CREDENTIALS),
    # The server asked for an authentication method the client lacks. libpq older than 10 knows no SCRAM
    # (AUTH_REQ_SASL, 10): its maintained releases say so in words, an older one names the number; pgjdbc before
    # 42.2.0 names the number too; a MySQL client without the account's plugin says 2059 CR_AUTH_PLUGIN_CANNOT_LOAD
    # "Authentication plugin '%s' cannot be loaded: %s" (MySQL Client Error Message Reference), the server's 1251
    # ER_NOT_SUPPORTED_AUTH_MODE "Client does not support authentication protocol requested by server; consider
    # upgrading MySQL client" (MySQL Server Error Message Reference; node mysql's ER_NOT_SUPPORTED_AUTH_MODE), and
    # go-sql-driver/mysql's ErrUnknownPlugin "this authentication plugin is not supported" (errors.go) as Connect
    # returns it, wherever a program puts the returned error: bare (the Go tutorial "Accessing a relational
    # database": `if pingErr != nil { log.Fatal(pingErr) }` prints it after log's date), wrapped ("connect: ..."),
    # or before a retry loop's ", retrying in 2s"; the error's own words end there (an SMTP relay's "...not
    # supported by the relay" goes on). The words are the driver's own; a line that frames them by a mail
    # protocol's client (SMTP, IMAP, POP3, whose AUTH mechanisms RFC 4954 and RFC 5034 name; Go's net/smtp prefixes
    # its errors "smtp: ", smtp.go) is that client's, never the database's. The driver's logger line is no
    # refusal, told by its own words: connector.go (Connect) logs "could not use requested auth plugin
    # '"+plugin+"': " and err.Error() as two operands (Print joins them as they are, an adapter's Sprintln with a
    # space: "':  this ...") and then retries with defaultAuthPlugin (`plugin = defaultAuthPlugin; authResp, err =
    # mc.auth(authData, plugin)`), which may connect; only the error returned after that retry (ErrUnknownPlugin
    # again, from handleAuthResult's auth switch) is.
    DbErrorText("libpq (SCRAM before libpq 10)",
                r"SCRAM authentication requires libpq version 10 or above|authentication method 10 not supported",
                "psycopg2.OperationalError: SCRAM authentication requires libpq version 10 or above",
                "libpq's back branches (fe-auth.c, pg_fe_sendauth) as psycopg2, RPostgreSQL and PHP's pdo_pgsql print "
                "it in public reports (their repositories and paths UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread",
                Refusal.AUTH_METHOD),
    DbErrorText("pgjdbc (SCRAM before 42.2.0)", r"The authentication type 10 is not supported",
                "org.postgresql.util.PSQLException: The authentication type 10 is not supported. Check that you have "
                "configured the pg_hba.conf file to include the client's IP address or subnet, and that it is using "
                "an authentication scheme supported by the driver.",
                "pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java "
                "(doAuthentication, the default case); UNCONFIRMED in a Cloud SQL thread", Refusal.AUTH_METHOD),
    DbErrorText("MySQL client (authentication plugin missing)",
                r"Authentication plugin '[^'\n]+' cannot be loaded|Client does not support authentication protocol "
                r"requested by server|(?:^|(?<=\n))(?:(?!could not use requested auth plugin |\b(?:smtp|imap|pop3)\b)"
                r"[^\n])*this authentication plugin is not supported(?=[ \t]*(?:$|[\n\"'),;.\]}]))",
                "MySQLdb.OperationalError: (2059, \"Authentication plugin 'caching_sha2_password' cannot be loaded: "
                "/usr/lib/x86_64-linux-gnu/mariadb19/plugin/caching_sha2_password.so: cannot open shared object file: "
                "No such file or directory\")",
                "MySQL Client Error Message Reference (2059 CR_AUTH_PLUGIN_CANNOT_LOAD); PyMySQL/mysqlclient "
                "discussion #580 (the same 2059 from MySQLdb); MySQL Server Error Message Reference (1251 "
                "ER_NOT_SUPPORTED_AUTH_MODE); go-sql-driver/mysql errors.go (ErrUnknownPlugin) as connector.go's Connect "
                "returns it after its retry with the default plugin, logged as go.dev/doc/tutorial/database-access "
                "does (log.Fatal(pingErr)); golang/go src/net/smtp/smtp.go (its \"smtp: \" errors); UNCONFIRMED in "
                "a Cloud SQL thread",
                Refusal.AUTH_METHOD),
    DbErrorText("Cloud SQL IAM database authentication", r"Cloud SQL IAM (?:service account|user) authentication "
                r"failed for user", 'FATAL: Cloud SQL IAM service account authentication failed for user '
                '"470754621570-compute@developer"', "GoogleCloudPlatform/cloud-sql-jdbc-socket-factory issue #727",
                Refusal.IAM_USER),
    # Prisma's P1000, whatever the driver beneath said; newer engines leave the host out.
    DbErrorText("Prisma (P1000, authentication)", r"Authentication failed against database server(?: at `[^`]*`)?, "
                r"the provided database credentials for `[^`]*` are not valid",
                "PrismaClientInitializationError: Authentication failed against database server at `10.40.0.7`, the "
                "provided database credentials for `checkout` are not valid.",
                "prisma/prisma-engines libs/user-facing-errors/src/common.rs (IncorrectDatabaseCredentials, P1000)",
                Refusal.CREDENTIALS),
    DbErrorText("MySQL server (host blocked)", r"Host '[^']*' is blocked because of many connection errors",
                "pymysql.err.OperationalError: (1129, \"Host '10.8.0.2' is blocked because of many connection errors; "
                "unblock with 'mysqladmin flush-hosts'\")",
                "MySQL server error 1129 (ER_HOST_IS_BLOCKED) at max_connect_errors, as clients log it (their "
                "repositories and paths UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread", Refusal.HOST_BLOCKED),
    # MySQL server error 1130 (ER_HOST_NOT_PRIVILEGED): no account of the user matches the host the
    # connection comes from. The server sends it as an error packet in place of its greeting, before
    # authentication (a public packet dump; repository and path UNCONFIRMED), so the connection reached the server:
    # the path (and any connector on it) carried it. MariaDB names itself in the same words.
    DbErrorText("MySQL server (source host not allowed)",
                r"Host '[^'\n]*' is not allowed to connect to this (?:MySQL|MariaDB) server",
                "pymysql.err.OperationalError: (1130, \"Host '10.8.0.3' is not allowed to connect to this MySQL "
                "server\")",
                "MySQL server error 1130 (ER_HOST_NOT_PRIVILEGED), \"Host '%s' is not allowed to connect to this MySQL "
                "server\" (MySQL Server Error Message Reference), as clients print it (\"ERROR 1130 (HY000): Host "
                "'172.19.0.9' ...\" as overhangio/tutor issue #160 quotes the mysql client, mysql.connector's as "
                "LuciferJack/python-mysql-pool issue #9 does; PyMySQL's OperationalError UNCONFIRMED in a public "
                "log); UNCONFIRMED in a Cloud SQL thread", Refusal.SOURCE_NOT_ALLOWED),
    # MySQL server error 1044 (ER_DBACCESS_DENIED_ERROR, SQLSTATE 42000), "Access denied for user '%s'@'%s' to
    # database '%s'" (MySQL Server Error Message Reference): the login was accepted and the account holds no
    # privilege on the database asked for. Its words begin as 1045's (the next row), which reads no line that goes
    # on "to database '".
    DbErrorText("MySQL server (database access denied)", r"Access denied for user '[^'\n]*'@'[^'\n]*' to database '",
                "pymysql.err.OperationalError: (1044, \"Access denied for user 'orders'@'%' to database "
                "'orders_v2'\")",
                "MySQL Server Error Message Reference, error 1044 (ER_DBACCESS_DENIED_ERROR, SQLSTATE 42000); "
                "the drivers' frames as for 1045 (go-sql-driver/mysql errors.go, PyMySQL's (code, message)); "
                "UNCONFIRMED in a Cloud SQL thread", Refusal.DB_ACCESS),
    # MySQL server error 1045 (ER_ACCESS_DENIED_ERROR, SQLSTATE 28000), "Access denied for user '%s'@'%s' (using
    # password: %s)", and 1698 (ER_ACCESS_DENIED_NO_PASSWORD_ERROR, "Access denied for user '%s'@'%s'"): the
    # login itself refused (MySQL Server Error Message Reference).
    DbErrorText("MySQL server (authentication)", r"Access denied for user '[^']*'@(?!'[^'\n]*' to database ')",
                "Error 1045 (28000): Access denied for user 'tavern2'@'cloudsqlproxy~34.34.234.112' (using "
                "password: YES)", "spellshift/realm issue #800; forseti-security/forseti-security issue #2363",
                Refusal.CREDENTIALS),
    # MySQL's refusal of a user whose password expired: at the login, ER_MUST_CHANGE_PASSWORD_LOGIN (1862), "Your
    # password has expired. To log in you must change it using a client that supports expired passwords.", to a
    # client that does not say it can handle an expired password (CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS), as
    # Connector/J with its default disconnectOnExpiredPasswords=true, go-sql-driver/mysql, PyMySQL and
    # libmysqlclient; to one that does, each statement but ALTER USER, ER_MUST_CHANGE_PASSWORD (1820), "You must
    # reset your password using ALTER USER statement before executing this statement." Which one a client meets
    # also depends on the server's `disconnect_on_expired_password` (ON by default: the refusal at the login; OFF:
    # the sandbox mode, 1820, for a client that cannot handle it too), so either may come from any driver (MySQL
    # Server Error Message Reference, errors 1862 and 1820; MySQL Reference Manual, "Server Handling of Expired
    # Passwords").
    # The server's answer: the path carried the connection. PostgreSQL says "password authentication failed"
    # for a role past its VALID UNTIL (the row above). UNCONFIRMED in a Cloud SQL thread.
    # Two rows, not two alternatives of one: the `re` parser would take their common start, "You", out of
    # the alternation, and it would be the needle, a word cut short (stdout_needles).
    DbErrorText("MySQL server (password expired, at the login)",
                r"Your password has expired\. To log in you must change it",
                "charge inv_20931: Error 1862 (HY000): Your password has expired. To log in you must change it using a "
                "client that supports expired passwords.",
                "MySQL Server Error Message Reference, error 1862 (ER_MUST_CHANGE_PASSWORD_LOGIN); MySQL Reference "
                "Manual, \"Server Handling of Expired Passwords\"; UNCONFIRMED in a Cloud SQL thread",
                Refusal.PASSWORD_EXPIRED),
    DbErrorText("MySQL server (password expired, each statement)",
                r"You must reset your password using ALTER USER statement before executing this statement",
                "pymysql.err.OperationalError: (1820, 'You must reset your password using ALTER USER statement before "
                "executing this statement.')",
                "MySQL Server Error Message Reference, error 1820 (ER_MUST_CHANGE_PASSWORD); MySQL Reference Manual, "
                "\"Server Handling of Expired Passwords\" (sandbox mode); UNCONFIRMED in a Cloud SQL thread",
                Refusal.PASSWORD_EXPIRED),
    # SQL Server's error 18456: the server answered the login and refused it (a wrong password, a login
    # disabled or dropped). Its message never says which; the client gets the same words whatever the
    # reason, on purpose.
    DbErrorText("SQL Server (authentication)", r"Login failed for user '[^']*'",
                "Microsoft.Data.SqlClient.SqlException (0x80131904): Login failed for user 'sqlserver'.",
                "SQL Server error 18456, as clients quote it (their repositories and paths UNCONFIRMED); UNCONFIRMED "
                "in a Cloud SQL thread", Refusal.CREDENTIALS),
    DbErrorText("Cloud SQL Admin API via the Auth Proxy / Go connector (403)",
                r"Error 403: The client is not authorized to make this request",
                'failed to get instance: Refresh error: failed to get instance metadata (connection name = '
                '"p:r:i"): googleapi: Error 403: The client is not authorized to make this request., notAuthorized',
                "GoogleCloudPlatform/cloud-sql-proxy issues #1651 (v2), #37 and #115 (v1)", Refusal.NOT_AUTHORIZED),
    # The same refusal as the Admin API words it when the account lacks cloudsql.instances.get
    # (roles/cloudsql.client gone), in the Auth Proxy v2's refresh error.
    DbErrorText("Cloud SQL Admin API via the Auth Proxy v2 (403, permission missing)",
                r"boss::NOT_AUTHORIZED: (?:Not authorized to access resource|Possibly missing permission cloudsql\.)",
                '[p:r:i] failed to connect to instance: failed to get instance: Refresh error: failed to get instance '
                'metadata (connection name = "p:r:i"): googleapi: Error 403: boss::NOT_AUTHORIZED: Not authorized to '
                "access resource. Possibly missing permission cloudsql.instances.get on resource instances/i., "
                "forbidden", "a public Cloud SQL Auth Proxy v2 log (NK28116/web-PJ docs/deployErrorLog.md)",
                Refusal.NOT_AUTHORIZED),
    # The connection name names no instance (deleted, or renamed under the clients): the Admin API's
    # 404, in the Auth Proxy's and the Go connector's refresh error, or the proxy v1's config error.
    DbErrorText("Cloud SQL Admin API via the Auth Proxy / Go connector (404)",
                r"Error 404: The Cloud SQL instance does not exist\., instanceDoesNotExist",
                '[p:r:i] failed to connect to instance: failed to get instance: Refresh error: failed to get instance '
                'metadata (connection name = "p:r:i"): googleapi: Error 404: The Cloud SQL instance does not exist., '
                "instanceDoesNotExist", "the Admin API's 404 as GoogleCloudPlatform/cloud-sql-proxy issue #2244 "
                "quotes the Auth Proxy's config error (\"errors parsing config: googleapi: Error 404: The Cloud SQL "
                "instance does not exist., instanceDoesNotExist\"); the v2 refresh wording around it as NK28116/web-PJ "
                "docs/deployErrorLog.md (the 403 row) and GoogleCloudPlatform/cloud-sql-proxy issue #2281 show it, "
                "with a 404 inside UNCONFIRMED",
                Refusal.NO_SUCH_INSTANCE),
    # The Admin API's 429 at the project's quota, in the Auth Proxy v2's log line ("[p:r:i] failed to
    # connect to instance: ...", its Errorf on stderr) or pgx's frame around the Go connector's dial
    # ("failed to connect to `user=... database=...`: ..."): the refresh wraps it (cloud-sql-go-connector
    # internal/cloudsql/refresh.go: errtype.NewRefreshError("failed to get instance metadata", ...), then
    # "failed to get instance: %w"; "create ephemeral cert failed", then "fetch ephemeral cert failed:
    # %w"), and Go's googleapi prints "googleapi: Error 429: Quota exceeded for quota metric '...' and
    # limit '...' of service 'sqladmin.googleapis.com' for consumer 'project_number:N'.,
    # rateLimitExceeded" (cyrilgdn/terraform-provider-postgresql issue #163, the same API's 429 from Go;
    # cloud-sql-go-connector issue #413: the connector's calls "fail with a 429 error"). Read only after
    # "failed to connect to", which the proxy's and pgx's lines both start with: a googleapi 429 there is
    # the refresh's, and its longest literal run stays that prefix, whose needle the stdout read already
    # sends (stdout_needles; the query has no room for another: the \b after 429 keeps the API's words
    # the shorter run). A Go client that prints the connector's
    # error bare (database/sql with go-sql-driver/mysql) is not read; UNCONFIRMED in a Cloud Run thread.
    DbErrorText("Cloud SQL Admin API via the Auth Proxy v2 / Go connector (429, quota)",
                r"failed to connect to [^\n]*?\bgoogleapi: Error 429\b: [^\n]*?(?:Quota exceeded|rateLimitExceeded)",
                "[p:r:i] failed to connect to instance: failed to get instance: Refresh error: failed to get instance "
                "metadata (connection name = \"p:r:i\"): googleapi: Error 429: Quota exceeded for quota metric 'Connect "
                "Queries' and limit 'Connect Queries per minute per user' of service 'sqladmin.googleapis.com' for "
                "consumer 'project_number:418207365093'., rateLimitExceeded",
                "GoogleCloudPlatform/cloud-sql-go-connector internal/cloudsql/refresh.go (the refresh's wrapping) and "
                "issue #413 (the connector's Admin API calls refused with 429 at the per-minute quota); the googleapi "
                "429 text as cyrilgdn/terraform-provider-postgresql issue #163 quotes it; UNCONFIRMED in a Cloud Run "
                "thread", Refusal.ADMIN_API_QUOTA),
    # The Java connector's failed refresh ("Failed to update metadata for Cloud SQL instance", its own
    # row below, an error of reaching the database) when its cause, in the same entry (a stack trace
    # logged as one entry: "Caused by: ..."), is the Admin API's 429: the API client's
    # GoogleJsonResponseException "429 Too Many Requests" (cloud-sql-jdbc-socket-factory issue #979,
    # "POST https://sqladmin.googleapis.com/sql/v1beta4/projects/.../instances/...:generateEphemeralCert"
    # with reason rateLimitExceeded). Read only with the connector's own words before it, whose needle
    # the stdout read already sends ("cloud sql instance"); the exception's words are split by \w and
    # \b so that they are not the pattern's longest literal run (stdout_needles).
    DbErrorText("Cloud SQL Java connector (429, quota)",
                r"Failed to (?:update metadata for|create ephemeral certificate for the) Cloud SQL instance"
                r"(?s:.*?)Json\w*Exception: 429\b Too Many Requests",
                "java.lang.RuntimeException: [p:r:i] Failed to update metadata for Cloud SQL instance.\n"
                "Caused by: com.google.api.client.googleapis.json.GoogleJsonResponseException: 429 Too Many Requests\n"
                "GET https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings",
                "GoogleCloudPlatform/cloud-sql-jdbc-socket-factory issue #979 (the Admin API's 429 \"Too Many "
                "Requests\", rateLimitExceeded, to the connector's call) and core CloudSqlInstance.java "
                "(addExceptionContext); UNCONFIRMED in a Cloud Run thread", Refusal.ADMIN_API_QUOTA),
    # The same 429 from a Go client that prints the Go connector's error bare, without the Auth Proxy's
    # or pgx's "failed to connect to" before it (database/sql with go-sql-driver/mysql and the
    # connector's dialer): its RefreshError reads "Refresh error: MESSAGE (connection name = "p:r:i"):
    # CAUSE" (cloud-sql-go-connector errtype/errors.go, RefreshError.Error; as the 403 and 404 rows
    # quote it), MESSAGE "failed to get instance metadata" or "create ephemeral cert failed"
    # (internal/cloudsql/refresh.go), one pattern each so that each anchor is the connector's own phrase
    # (stdout_needles). UNCONFIRMED in a Cloud Run log.
    *(DbErrorText(f"Cloud SQL Go connector, error printed bare ({what}: 429, quota)",
                  rf'Refresh error: {message} \(connection name = "[^"]*"\): [^\n]*?googleapi: Error 429\b',
                  f'Refresh error: {message} (connection name = "p:r:i"): {cause}googleapi: Error 429: Quota exceeded '
                  "for quota metric 'Connect Queries' and limit 'Connect Queries per minute per user' of service "
                  "'sqladmin.googleapis.com' for consumer 'project_number:418207365093'., rateLimitExceeded",
                  "GoogleCloudPlatform/cloud-sql-go-connector errtype/errors.go (RefreshError.Error) and "
                  "internal/cloudsql/refresh.go; the Admin API's 429 as issue #413 and cyrilgdn/terraform-provider-"
                  "postgresql issue #163 quote it; UNCONFIRMED in a Cloud Run log", Refusal.ADMIN_API_QUOTA)
      for what, message, cause in _REFRESH_CALLS),
    # The connection name's region is not the instance's: the connectors ask the Admin API for the instance by
    # project and name alone (connectSettings), then compare the region it answers with the connection name's,
    # before any dial. The Go connector (and the Auth Proxy v2): a ConfigError, "provided region was mismatched -
    # got ASKED, want ANSWERED" with its connection name after it (cloud-sql-go-connector internal/cloudsql/
    # refresh.go, fetchMetadata; errtype/errors.go); the Python connector: ValueError("[P:R:I]: Provided region
    # was mismatched - got region ASKED, expected ANSWERED.") (cloud-sql-python-connector google/cloud/sql/
    # connector/client.py, _get_metadata). The connection name names no instance, as the Admin API's 404 says of
    # one that does not exist: read as that refusal, whose line names the instance asked for (instance_named).
    # The Node connector's "Provided region was mismatched. Got ANSWERED, want ASKED" (src/sqladmin-fetcher.ts)
    # names no instance and stays its refresh row's. UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Go connector / Auth Proxy v2 (region mismatched)",
                r"provided region was mismatched - got [\w-]+, want [\w-]+",
                'failed to connect to instance: config error: provided region was mismatched - got europe-west1, want '
                'us-central1 (connection name = "p:europe-west1:i")',
                "GoogleCloudPlatform/cloud-sql-go-connector internal/cloudsql/refresh.go (fetchMetadata) and "
                "errtype/errors.go (ConfigError); UNCONFIRMED in a Cloud Run log", Refusal.NO_SUCH_INSTANCE),
    DbErrorText("Cloud SQL Python connector (region mismatched)",
                r"Provided region was mismatched - got region [\w-]+, expected [\w-]+",
                "ValueError: [p:europe-west1:i]: Provided region was mismatched - got region europe-west1, expected "
                "us-central1.", "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/client.py "
                "(_get_metadata); UNCONFIRMED in a Cloud Run log", Refusal.NO_SUCH_INSTANCE),
    # The same 429 from the Cloud SQL Python connector: its Admin API calls raise aiohttp's
    # ClientResponseError (raise_for_status), whose str() is "429, message='REASON', url=URL('...')"
    # (aiohttp before 3.9 wraps the url in URL(...); as logged for other APIs, repositories and paths
    # UNCONFIRMED), the reason the Admin API's error.message where the connector sets it (GoogleCloudPlatform/
    # cloud-sql-python-connector google/cloud/sql/connector/client.py _get_metadata), else "Too Many
    # Requests". Read only for a
    # url on sqladmin.googleapis.com, the Admin API's host: aiohttp's 429 from any other API is no
    # Cloud SQL answer. The anchor the log query asks for is aiohttp's own "ClientResponseError: 429,
    # message=" (stdout_needles). UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Python connector (429, quota)",
                r"ClientResponseError: 429, message=[^\n]*?url=(?:URL\()?['\"]https://sqladmin\.googleapis\.com/",
                "aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', "
                "url=URL('https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings')",
                "aiohttp ClientResponseError.__str__ (as logged; repositories and paths UNCONFIRMED) with the "
                "Cloud SQL Python connector's Admin API calls (cloud-sql-python-connector "
                "google/cloud/sql/connector/client.py); the Admin API's "
                "429 as cloud-sql-go-connector issue #413 and cloud-sql-jdbc-socket-factory issue #979 describe it; "
                "UNCONFIRMED in a Cloud Run log", Refusal.ADMIN_API_QUOTA),
    # The same 404 as the Cloud SQL Python connector raises it: it sets the Admin API's error.message as
    # the aiohttp ClientResponseError's reason, then raise_for_status (cloud-sql-python-connector
    # google/cloud/sql/connector/client.py _get_metadata), whose str() is
    # "status, message='reason', url='…'" (aiohttp ClientResponseError.__str__: the reason's repr, so
    # its quote may be either). The message is the one googleapi quotes above; this form UNCONFIRMED
    # in a Cloud Run log. The anchor the log query asks for is "cloud sql instance", as other rows'.
    DbErrorText("Cloud SQL Python connector (404)", r"404, message=[\"'][^\"']*Cloud SQL instance does not exist\.",
                "aiohttp.client_exceptions.ClientResponseError: 404, message='The Cloud SQL instance does not exist.', "
                "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings'",
                "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/client.py _get_metadata "
                "with the Admin API's 404 message (as public notes quote it; repository and path UNCONFIRMED)",
                Refusal.NO_SUCH_INSTANCE),
    # The Admin API's own words for the same refusal, as any client passes them on: the Python
    # connector's aiohttp ClientResponseError ("403, message='boss::NOT_AUTHORIZED: ...', url=
    # 'https://sqladmin.googleapis.com/...'", a public runbook's log, repository and path UNCONFIRMED),
    # with no "Error 403:" before them (googleapi's Go form). "boss::NOT_AUTHORIZED" then the message or
    # its second sentence, whichever a client kept (public notes; repositories and paths UNCONFIRMED).
    DbErrorText("Cloud SQL Admin API, any client (403, permission missing)",
                r"boss::NOT_AUTHORIZED: (?:Not authorized to access resource|Possibly missing permission cloudsql\.)",
                "aiohttp.client_exceptions.ClientResponseError: 403, message='boss::NOT_AUTHORIZED: Not authorized to "
                "access resource. Possibly missing permission cloudsql.instances.get on resource instances/i.', "
                "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings'",
                "the Cloud SQL Python connector's 403 as a public runbook logs it; the short form in public notes "
                "(their repositories and paths UNCONFIRMED)", Refusal.NOT_AUTHORIZED),
    DbErrorText("Cloud SQL Python connector (403)",
                r"Authenticated IAM principal does not see+m authorized to make API request",
                "aiohttp.client_exceptions.ClientResponseError: 403, message=\"Forbidden: Authenticated IAM principal "
                "does not seeem authorized to make API request. Verify 'Cloud SQL Admin API' is enabled within your "
                "GCP project and 'Cloud SQL Client' role has been granted to IAM principal.\", url=URL('https://"
                "sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings')",
                "GoogleCloudPlatform/cloud-sql-python-connector issue #1070 (the typo \"seeem\" was fixed to \"seem\" "
                "in its pull request #1115: both match)", Refusal.NOT_AUTHORIZED),
    # The Cloud SQL Admin API disabled in the project (Refusal.ADMIN_API_DISABLED): the Java connector's own
    # words for the API's 403 with reason accessNotConfigured (GoogleCloudPlatform/cloud-sql-jdbc-socket-factory
    # core/src/main/java/com/google/cloud/sql/core/CloudSqlInstance.java addExceptionContext: "[%s] The Google
    # Cloud SQL Admin API is not enabled for the project \"%s\". Please use the Google Developers Console to
    # enable it: %s"; its tests expect the same); the API's own message as the Go connector and the Auth
    # Proxy v2 print it bare in their refresh error (the 429 rows' wrapping, errtype/errors.go RefreshError)
    # and as the Python connector sets it as aiohttp's reason (google/cloud/sql/connector/client.py
    # _get_metadata) on the Admin API's URL. The message, "SERVICE has not been used in project N before or
    # it is disabled", is the Service Usage API's for any disabled service (as googleapi quotes it for
    # others); the API's name read whole, so another API's is not this refusal. Each row's anchor is a
    # needle the read already sends (\b splits the API's words; stdout_needles). UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Java connector (Admin API not enabled)",
                r'The Google Cloud SQL Admin API is not enabled for the project "',
                'java.lang.RuntimeException: [p:r:i] The Google Cloud SQL Admin API is not enabled for the project '
                '"p". Please use the Google Developers Console to enable it: https://console.cloud.google.com/apis/'
                "api/sqladmin/overview?project=p",
                "GoogleCloudPlatform/cloud-sql-jdbc-socket-factory core/src/main/java/com/google/cloud/sql/core/"
                "CloudSqlInstance.java (addExceptionContext, reason accessNotConfigured) and its tests "
                "(create_adminApiNotEnabled); UNCONFIRMED in a Cloud Run log", Refusal.ADMIN_API_DISABLED),
    # The project as the message names it, a number or an id (a domain-scoped one holds "." and ":"), in a class
    # with no \S, so the row is matched as ASCII like the others (`_ascii_alike`).
    *_admin_api_answers("Admin API disabled", 403, r"Cloud SQL Admin API\b has not been used in project [\w.:-]+ before or "
                        r"it is disabled", _API_DISABLED, "accessNotConfigured", "the Service Usage API's 403 for a "
                        "disabled API as googleapi prints it (as the 429 rows cite googleapi's form)",
                        Refusal.ADMIN_API_DISABLED),
    DbErrorText("Cloud SQL Java connector (403)", r"The Google Cloud SQL Admin API failed for the project "
                r'"[^"]*"\. Reason: 403', "com.google.cloud.sql.core.TerminalException: [p:r:i] The Google Cloud SQL "
                'Admin API failed for the project "p". Reason: 403 Forbidden',
                "GoogleCloudPlatform/spring-cloud-gcp pull request #2923", Refusal.NOT_AUTHORIZED),
    # The Java connector (cloud-sql-jdbc-socket-factory) on the Admin API's 403 with reason
    # "notAuthorized": "This error occurs if the instance doesn't exist or the account isn't
    # authorized", so its words say both (GoogleCloudPlatform/cloud-sql-jdbc-socket-factory
    # core/src/main/java/com/google/cloud/sql/core/CloudSqlInstance.java, addExceptionContext; its tests
    # expect "[%s] The Cloud SQL Instance does not exist or your account is not authorized",
    # core/src/test/java/com/google/cloud/sql/core/InternalConnectorRegistryTest.java, create_notAuthorized).
    # Read as the refusal of who connects, as the Admin API's other 403s; the connection name it
    # brackets ties it to a deploy that retyped the name (database_unreachable). Its anchor starts at
    # "Cloud SQL Instance", a needle the log query already sends.
    DbErrorText("Cloud SQL Java connector (403, no such instance or not authorized)",
                r"Cloud SQL Instance does not exist or your account is not authorized to access it",
                "java.lang.RuntimeException: [p:r:i] The Cloud SQL Instance does not exist or your account is not "
                "authorized to access it. Please verify the instance connection name and check the IAM permissions "
                "for project \"p\" ", "cloud-sql-jdbc-socket-factory's message for the Admin API's notAuthorized "
                "(core/src/main/java/com/google/cloud/sql/core/CloudSqlInstance.java); UNCONFIRMED in a Cloud Run log",
                Refusal.NOT_AUTHORIZED),
    DbErrorText("PostgreSQL server (read-only)", r"cannot execute \w+ in a read-only transaction",
                "psycopg2.errors.ReadOnlySqlTransaction: cannot execute INSERT in a read-only transaction",
                "PostgreSQL's 25006 read_only_sql_transaction (a read-only instance or a replica); UNCONFIRMED in "
                "a Cloud SQL thread", Refusal.READ_ONLY),
    DbErrorText("MySQL server (read-only)", r"running with the --(?:super-)?read-only option",
                "ERROR 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute "
                "this statement", "MySQL server error 1290 (ER_OPTION_PREVENTS_STATEMENT); UNCONFIRMED in a Cloud "
                "SQL thread", Refusal.READ_ONLY),
    DbErrorText("MySQL server (super read-only)", r"running with the --(?:super-)?read-only option",
                "pymysql.err.OperationalError: (1290, 'The MySQL server is running with the --super-read-only option "
                "so it cannot execute this statement')", "MySQL server error 1290 with super_read_only set (a "
                "replica): the server's words as openark/orchestrator issue #1448 (\"Error 1290: The MySQL server is "
                "running with the --super-read-only option ...\") and Qihoo360/Atlas issue #215 quote them; PyMySQL's "
                "tuple form UNCONFIRMED in a public log; UNCONFIRMED in a Cloud SQL thread",
                Refusal.READ_ONLY),
    # The server refused an ENCRYPTED connection by its pg_hba.conf rules (PostgreSQL 12+ ends the message
    # with "SSL encryption" or "GSS encryption", older servers with "SSL on"; a server built without SSL
    # says nothing of it. The auth.c read, an 8.x one, shows the "SSL on" / "SSL off" form; the 12+ words are
    # UNCONFIRMED against the source, and both forms are read): no entry, or a reject entry, for the client's address, user and database. SSL
    # is not what it wants, so the address (the path) or the user is (HBA_NO_ENTRY, path-dependent as
    # MySQL's 1130 is). An unencrypted connection refused ("no encryption", "SSL off") is the next row's:
    # SSL enforced is the likelier reading, and it is the same on every path. Before that row: the first
    # kind that matches a line names it.
    DbErrorText("PostgreSQL server (pg_hba.conf, an encrypted connection)",
                r'no pg_hba\.conf entry for host "[^"\n]*", user "[^"\n]*", database "[^"\n]*"(?!, (?:no encryption|SSL off))'
                r'|pg_hba\.conf rejects connection for host "[^"\n]*", user "[^"\n]*", database "[^"\n]*"'
                r'(?!, (?:no encryption|SSL off))',
                'org.postgresql.util.PSQLException: FATAL: no pg_hba.conf entry for host "10.8.0.5", user "app", '
                'database "orders", SSL encryption',
                "PostgreSQL's auth.c ClientAuthentication (errmsg \"no pg_hba.conf entry for host \\\"%s\\\", user "
                "\\\"%s\\\", database \\\"%s\\\", %s\" with the encryption state: \"SSL encryption\", \"GSS "
                "encryption\", \"no encryption\" since PostgreSQL 12, \"SSL on\" / \"SSL off\" before; "
                "postgres/postgres src/backend/libpq/auth.c); UNCONFIRMED in a Cloud SQL thread", Refusal.HBA_NO_ENTRY),
    # The server refused the connection by its pg_hba.conf rules: no entry for the client's host, user,
    # database and encryption (an unencrypted connection to an instance that requires SSL/TLS).
    DbErrorText("PostgreSQL server (pg_hba.conf)", r"no pg_hba\.conf entry for host|pg_hba\.conf rejects connection",
                'psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: FATAL:  no pg_hba.conf '
                'entry for host "10.8.0.5", user "app", database "orders", no encryption',
                "PostgreSQL's auth.c ClientAuthentication (errmsg \"no pg_hba.conf entry for host \\\"%s\\\", user ..., %s\", "
                "SSL on / SSL off before PostgreSQL 12, \"no encryption\" since; postgres/postgres "
                "src/backend/libpq/auth.c); that Cloud SQL's SSL mode answers with it is UNCONFIRMED",
                Refusal.NOT_ADMITTED),
    # MySQL's counterpart: with require_secure_transport ON the server ends an unencrypted connection
    # after the handshake with ER_SECURE_TRANSPORT_REQUIRED (3159) (MySQL WL#7709: "non-SSL connection
    # attempts will be terminated by the server"; its words as clients print them, their repositories and
    # paths UNCONFIRMED). That Cloud SQL for MySQL enforces SSL mode ENCRYPTED_ONLY
    # this way is UNCONFIRMED; the flag set by hand gives the same answer. Either way the server answered.
    DbErrorText("MySQL server (secure transport required)",
                r"Connections using insecure transport are prohibited while --require_secure_transport=ON",
                "Error 3159 (HY000): Connections using insecure transport are prohibited while "
                "--require_secure_transport=ON.",
                "MySQL server error 3159 (ER_SECURE_TRANSPORT_REQUIRED), as clients print it (their repositories "
                "and paths UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread", Refusal.NOT_ADMITTED),
    # The server presented a certificate the client does not trust: the TLS handshake reached the
    # server, so the path to it works. Only the drivers' own words for a database connection: a bare
    # "certificate verify failed" is any HTTPS client's (Python's ssl, requests) and says nothing
    # about the database.
    DbErrorText("libpq (server certificate not trusted)",
                r"(?:failed|OperationalError\)?):\s+SSL error: certificate verify failed",
                'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "10.20.0.3", '
                "port 5432 failed: SSL error: certificate verify failed",
                "libpq's \"SSL error: %s\" with OpenSSL's reason (a public note quoting pg_basebackup: \"connection to "
                "server at ..., port 5432 failed: SSL error: certificate verify failed\", and psycopg2's form; their "
                "repositories and paths UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread",
                Refusal.CERTIFICATE),
    # pgx (Go): the server's certificate failed verification in the TLS handshake (sslmode verify-ca
    # or verify-full). v5's perDialConnectError "ADDR (HOST): tls error: ..." and v4's connectError
    # "... tls error (...)", with Go's x509 reason; crypto/tls wraps it since Go 1.20 ("tls: failed
    # to verify certificate: "). Only the x509 verdicts: a "tls error: EOF" or a reset is no answer.
    # libpq's verify-full check of the host name against the server certificate's names: the server
    # answered the handshake; its certificate names another host than the one dialled (a per-instance CA's server
    # certificate names the instance, project:instance, which GoogleCloudPlatform/cloud-sql-nodejs-connector
    # src/socket.ts validateCertificate checks in its Subject CN; a shared CA's a DNS name in its SAN; whether any
    # names the instance's IP address is UNCONFIRMED). pgjdbc's verifier says the same in its words.
    DbErrorText("libpq (server certificate names another host)",
                _NAMES_ANOTHER_HOST,
                'psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: server certificate '
                'for "shop-prod:orders-db" does not match host name "10.40.0.3"',
                "postgres/postgres src/interfaces/libpq/fe-secure-common.c (pq_verify_peer_name_matches_certificate); "
                "pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/ssl/MakeSSL.java (verifyPeerName); UNCONFIRMED in "
                "a Cloud SQL thread", Refusal.CERTIFICATE),
    DbErrorText("pgx (Go) server certificate not trusted",
                r"tls error[ :(]+(?:tls: failed to verify certificate: )?x509: (?:certificate signed by unknown "
                r"authority|certificate is valid for|certificate has expired)",
                "failed to connect to `user=ledger database=ledger`: 10.40.0.3:5432 (10.40.0.3): tls error: tls: "
                "failed to verify certificate: x509: certificate signed by unknown authority",
                "jackc/pgx pgconn/pgconn.go connectOne (newPerDialConnectError(\"tls error\", err)) and "
                "pgconn/errors.go (ConnectError \"failed to connect to `user=%s database=%s`:\", perDialConnectError "
                "\"%s (%s): %s\"; v4's connectError: jackc/pgconn errors.go); UNCONFIRMED in a Cloud SQL thread",
                Refusal.CERTIFICATE),
    DbErrorText("MySQL client (server certificate not trusted)",
                r"SSL connection error: [^\n]*certificate verify failed",
                "ERROR 2026 (HY000): SSL connection error: error:0A000086:SSL routines::certificate verify failed",
                "MySQL client error 2026 (CR_SSL_CONNECTION_ERROR) with OpenSSL's reason (as shogo82148/"
                "actions-setup-mysql issue #1180 quotes it, word for word; OpenSSL 1.1's \"error:1416F086:SSL "
                "routines:tls_process_server_certificate:certificate verify failed\" as sysown/proxysql issue #2622 "
                "does); UNCONFIRMED in a Cloud SQL thread", Refusal.CERTIFICATE),
    # The same verdict as other drivers word it: inside their own connect failure ("Can't connect", "link
    # failure", "Exception while ..."), which alone reads as a dial that failed. A certificate is judged only
    # once the server sent it in the TLS handshake, so the path to the server works, whatever words wrap
    # it. Each under the driver's own words: the runtime's verdict alone (the JDK's "PKIX path building
    # failed", .NET's "The remote certificate ...", Python's CERTIFICATE_VERIFY_FAILED) is any HTTPS
    # client's too.
    # PyMySQL raises any OSError of its connect, ssl's SSLCertVerificationError among them (the TLS
    # upgrade runs inside it, after the server's greeting), as 2003 with the error's text in brackets
    # (PyMySQL pymysql/connections.py Connection.connect: "Can't connect to MySQL server on %r (%s)").
    DbErrorText("PyMySQL (server certificate not trusted)",
                r"Can't connect to MySQL server on [^\n]*CERTIFICATE_VERIFY_FAILED",
                "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.40.0.3' ([SSL: "
                "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate "
                "(_ssl.c:1006))\")",
                "PyMySQL pymysql/connections.py (Connection.connect wraps an OSError of the connect and TLS upgrade "
                "in OperationalError 2003) with Python's ssl verdict (\"[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                "verify failed: ...\"); the combined text UNCONFIRMED in a public log and in a Cloud SQL thread",
                Refusal.CERTIFICATE),
    # pgjdbc: MakeSSL.convert wraps the handshake's failure as "SSL error: " and the JDK's message, as
    # JetBrains/Exposed issue #1032 quotes it ("PSQLException: SSL error: sun.security.validator.
    # ValidatorException: PKIX path building failed: ..."); "PKIX path validation failed" when a chain was
    # built but does not reach the pinned root (pgjdbc/pgjdbc issue #3349).
    DbErrorText("pgjdbc (server certificate not trusted)",
                r"PSQLException: SSL error: [^\n]*PKIX path (?:building|validation) failed",
                "org.postgresql.util.PSQLException: SSL error: sun.security.validator.ValidatorException: PKIX path "
                "building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
                "certification path to requested target",
                "JetBrains/Exposed issue #1032 (pgjdbc's MakeSSL.convert, \"SSL error: {0}\" with the JDK's "
                "message); pgjdbc/pgjdbc issues #3334 and #3349 (a root certificate file that does not match); "
                "UNCONFIRMED in a Cloud SQL thread", Refusal.CERTIFICATE),
    # Connector/J: the handshake's failure is the cause of its "Communications link failure", printed
    # below it in the same entry: the JDK's PKIX verdict (steve-community/steve issue #104, a
    # CJCommunicationsException from NativeProtocol.negotiateSSLConnection; debezium/debezium PR #3260),
    # or, with sslMode=VERIFY_CA and a trust store of its own, its trust manager's CertificateException
    # "... CertPathValidatorException: Path does not chain with any of the trust anchors"
    # (TechnicallyCoded/Inventory-Rollback-Plus issue #178; caozongpeng/SpringBootBlog issue #2). The
    # words between are lines of the same exception chain; the link failure's own row reads it as a dial.
    # Under the link failure row's own words, so that Logging is asked for no other needle.
    DbErrorText("Java: Connector/J (server certificate not trusted)",
                r"CommunicationsException: Communications link failure(?:\n[^\n]*)*?\n[^\n]*(?:PKIX path "
                r"(?:building|validation) failed"
                r"|CertPathValidatorException: Path does not chain with any of the trust anchors)",
                "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\tat com.mysql."
                "cj.protocol.a.NativeProtocol.negotiateSSLConnection(NativeProtocol.java:351)\nCaused by: javax.net."
                "ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath."
                "SunCertPathBuilderException: unable to find valid certification path to requested target",
                "steve-community/steve issue #104 and debezium/debezium PR #3260 (the JDK's PKIX verdict under "
                "Connector/J's TLS negotiation); TechnicallyCoded/Inventory-Rollback-Plus issue #178 (VERIFY_CA's "
                "\"Path does not chain with any of the trust anchors\"); UNCONFIRMED in a Cloud SQL thread",
                Refusal.CERTIFICATE),
    # Npgsql: the handshake's AuthenticationException is the inner exception of its NpgsqlException,
    # "Exception while performing SSL handshake" (npgsql/npgsql issue #3367, Npgsql 5, "The remote
    # certificate was rejected by the provided RemoteCertificateValidationCallback." under VerifyCA's
    # own validation) or, in releases that wrap the whole open, "Exception while connecting" (which
    # wraps the SSL handshake there is UNCONFIRMED); .NET's older "The remote certificate is invalid
    # according to the validation procedure." (npgsql/npgsql issue #3900).
    DbErrorText("Npgsql (server certificate not trusted)",
                r"NpgsqlException[^\n]*: Exception while (?:performing SSL handshake|connecting)[^\n]*\n[^\n]*"
                r"AuthenticationException: The remote certificate (?:was rejected|is invalid)",
                "Npgsql.NpgsqlException (0x80004005): Exception while performing SSL handshake\n ---> System."
                "Security.Authentication.AuthenticationException: The remote certificate was rejected by the "
                "provided RemoteCertificateValidationCallback.",
                "npgsql/npgsql issues #3367 and #3900 (.NET's AuthenticationException as the inner exception of "
                "Npgsql's); UNCONFIRMED in a Cloud SQL thread", Refusal.CERTIFICATE),
    # asyncpg upgrades to TLS itself (asyncpg/connect_utils.py _create_ssl_connection: loop.start_tls after
    # the SSLRequest; __connect_addr with direct_tls) and lets Python's ssl verdict go unwrapped, as
    # SQLAlchemy's asyncpg dialect does after it: the traceback logged as one entry holds asyncpg's frame
    # before ssl's SSLCertVerificationError (MagicStack/asyncpg asyncpg/connect_utils.py; CPython Lib/ssl.py).
    # The frame is the proof that the verdict was the database's; the exception alone is any HTTPS client's.
    # SSLCertVerificationError and its reason are cut by \W so that the verdict is the anchor, a needle
    # the read already sends (stdout_needles).
    DbErrorText("asyncpg (server certificate not trusted)",
                r'asyncpg[/\\]connect_utils\.py", line \d+, in \w+(?:\n[^\n]*)*?\n[^\n]*SSLCertVerificationError\W'
                r"[^\n]*certificate verify failed",
                'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/site-packages/asyncpg/'
                'connect_utils.py", line 808, in _create_ssl_connection\n    new_tr = await loop.start_tls(\n'
                "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                "self-signed certificate in certificate chain (_ssl.c:1000)",
                "MagicStack/asyncpg asyncpg/connect_utils.py (_create_ssl_connection, __connect_addr: the TLS "
                "upgrade's error raised unwrapped) with CPython's ssl.SSLCertVerificationError; the traceback "
                "UNCONFIRMED in a public log and in a Cloud SQL thread", Refusal.CERTIFICATE),
    # A TLS verdict on a line whose own words say it was the database's dial (_DATABASE_TLS_DIAL): a
    # database's address, Prisma's P1011, Sequelize's ConnectionError or gorm's Open, then the verdict.
    *(DbErrorText(f"A database's dial named, then {runtime} certificate verdict", _DATABASE_TLS_DIAL + verdict,
                  example, "the verdict's own words (_TLS_VERDICTS) after the database's address or a database "
                  "client's words (_DATABASE_TLS_DIAL: prisma/prisma-engines libs/user-facing-errors/src/common.rs "
                  "P1011; sequelize/sequelize src/errors/connection-error.js; go-gorm/gorm gorm.go Open); "
                  "UNCONFIRMED in a Cloud SQL thread", Refusal.CERTIFICATE)
      for (runtime, verdict), example in zip(_TLS_VERDICTS, (
          "[error] failed to initialize database, got error tls: failed to verify certificate: x509: certificate "
          "signed by unknown authority",
          "Error: P1011: Error opening a TLS connection: error:0A000086:SSL routines:tls_post_process_server_"
          "certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (self-signed certificate in "
          "certificate chain)",
          "PrismaClientInitializationError: Error opening a TLS connection: self-signed certificate in certificate "
          "chain",
          "database 10.40.0.3:5432 unreachable: Error: unable to verify the first certificate"))),
    # TLS the two ends do not agree on: the client requires SSL/TLS the server (or a local proxy) does not
    # offer, or their TLS versions meet nowhere (a client upgraded to a higher floor, a JDK that disabled
    # the versions the server speaks). The server answered (PostgreSQL's 'N' to the SSLRequest, MySQL's
    # greeting, a TLS alert), so the path to it works: configuration, never the connector's. Each in its
    # driver's own words only: a bare "unsupported protocol" or "No appropriate protocol" is any HTTPS
    # client's (Python's ssl, Node's EPROTO, OkHttp) and says nothing about the database.
    DbErrorText("PostgreSQL drivers (SSL required, the server offers none)",
                r"\bserver does not support SSL(?:, but (?:SSL|it) was required| connections\b|\.)",
                'psycopg2.OperationalError: connection to server at "127.0.0.1", port 5432 failed: server does not '
                "support SSL, but SSL was required",
                "postgres/postgres src/interfaces/libpq/fe-connect.c (\"server does not support SSL, but SSL was "
                "required\" when the server answers 'N' to the SSLRequest); brianc/node-postgres "
                "packages/pg/lib/connection.js (\"The server does not support SSL connections\"); pgjdbc's "
                "\"The server does not support SSL.\" (as xtdb/xtdb issue #4002 quotes it; its path in pgjdbc/pgjdbc "
                "UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread", Refusal.TLS_MISMATCH),
    # The same answer in other drivers' words, one row each (a pattern's alternatives that share a start
    # are read by the re parser as one, with no anchor of its own to ask Logging for).
    DbErrorText("pgx (SSL required, the server offers none)", r"\bserver refused TLS connection\b",
                "failed to connect to `user=orders database=orders`: 127.0.0.1:5432 (127.0.0.1): server refused TLS "
                "connection",
                "jackc/pgx pgconn/pgconn.go (ErrTLSRefused, \"server refused TLS connection\", when the answer to "
                "the SSLRequest is not 'S'); UNCONFIRMED in a Cloud SQL thread", Refusal.TLS_MISMATCH),
    DbErrorText("lib/pq (SSL required, the server offers none)", r"\bpq: SSL is not enabled on the server\b",
                "pq: SSL is not enabled on the server",
                "lib/pq's ErrSSLNotSupported as applications quote it (its path in lib/pq UNCONFIRMED against the "
                "source); UNCONFIRMED in a Cloud SQL thread", Refusal.TLS_MISMATCH),
    DbErrorText("asyncpg (SSL required, the server offers none)",
                r'PostgreSQL server at "[^"\n]*" rejected SSL upgrade\b',
                'ConnectionError: PostgreSQL server at "127.0.0.1:5432" rejected SSL upgrade',
                "asyncpg's ConnectionError as applications quote it (its path in MagicStack/asyncpg, "
                "asyncpg/connect_utils.py, UNCONFIRMED against the source); UNCONFIRMED in a Cloud SQL thread",
                Refusal.TLS_MISMATCH),
    DbErrorText("libpq / pgjdbc (no TLS version in common)",
                r"(?:failed|OperationalError\)?|PSQLException):\s+SSL error: (?:unsupported protocol|tlsv1 alert "
                r"protocol version|no protocols available|No appropriate protocol)",
                'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "10.20.0.3", '
                "port 5432 failed: SSL error: unsupported protocol",
                "libpq's \"SSL error: %s\" with OpenSSL's reason, as the certificate row reads it (postgres/postgres "
                "src/interfaces/libpq/fe-secure-openssl.c); pgjdbc's \"SSL error: {0}\" with the JDK's message "
                "(its path in pgjdbc/pgjdbc UNCONFIRMED); UNCONFIRMED in a Cloud SQL thread", Refusal.TLS_MISMATCH),
    DbErrorText("MySQL client (no TLS version in common)",
                r"SSL connection error: [^\n]*(?:unsupported protocol|tlsv1 alert protocol version|no protocols "
                r"available)",
                "ERROR 2026 (HY000): SSL connection error: error:0A000102:SSL routines::unsupported protocol",
                "MySQL client error 2026 (CR_SSL_CONNECTION_ERROR) with OpenSSL's reason, as the certificate row "
                "reads it; UNCONFIRMED in a Cloud SQL thread", Refusal.TLS_MISMATCH),
    # Connector/J: the JDK refuses to start a handshake with no TLS version both it and the connection
    # allow (HandshakeContext: "No appropriate protocol (protocol is disabled or cipher suites are
    # inappropriate)"), under Connector/J's TLS frames (com.mysql.cj.protocol.ExportControlled
    # .performTlsHandshake, after the server's greeting; as nextgenhealthcare/connect issue #6009 and
    # MyCollab/mycollab issue #60 quote it); its "Communications link failure" above it is no dial.
    DbErrorText("Java: Connector/J (no TLS version in common)",
                r"SSLHandshakeException: No appropriate protocol[^\n]*\n(?:[ \t]+at [^\n]*\n)*?[ \t]+at com\.mysql\.cj\.",
                "Caused by: javax.net.ssl.SSLHandshakeException: No appropriate protocol (protocol is disabled or "
                "cipher suites are inappropriate)\n\tat java.base/sun.security.ssl.HandshakeContext.<init>("
                "HandshakeContext.java:170)\n\tat com.mysql.cj.protocol.ExportControlled.performTlsHandshake("
                "ExportControlled.java:316)",
                "nextgenhealthcare/connect issue #6009 and MyCollab/mycollab issue #60 (the JDK's words under "
                "Connector/J's frames); UNCONFIRMED in a Cloud SQL thread", Refusal.TLS_MISMATCH),
    # A stopped instance (activation policy NEVER), a suspended one or one being created: Cloud SQL's Admin
    # API answers requests about it with 400 "Invalid request: Invalid request since instance is not running."
    # (_NOT_RUNNING above, with its sources). That
    # the connectors' connectSettings call gets the same answer, in the Go connector's "failed to get
    # instance metadata" wrapping (as its 403 above), is UNCONFIRMED.
    DbErrorText("Cloud SQL Admin API (instance not running)", r"Invalid request since instance is not running",
                'failed to get instance: Refresh error: failed to get instance metadata (connection name = '
                '"p:r:i"): googleapi: Error 400: Invalid request: Invalid request since instance is not running., '
                'invalid', "terraform-google-modules/terraform-google-sql-db issues #286 and #333 (the Admin API's "
                "400 for a stopped instance), turbot/steampipe-plugin-gcp issue #243 (for one being created); "
                "UNCONFIRMED from a connector", Refusal.NOT_RUNNING),
    # The same instance as the connectors meet it: the Admin API's 409 invalidState, "The instance or operation
    # is not in an appropriate state to handle the request." (GoogleCloudPlatform/cloud-sql-proxy issue #35 and
    # GoogleCloudPlatform/django-cloud-deploy issue #237 quote the API's error body), in the Go connector's and
    # the Auth Proxy v2's refresh error or the Python connector's aiohttp reason on the Admin API's URL (as the
    # 403 rows). It answers a stopped or suspended instance, one down for maintenance, or one an operation in
    # progress is changing (_NOT_SERVING above): the refusal says only that, and its advice tells the states
    # apart; whichever it is, the database takes no connection and no connector's capacity helps. The API's
    # words are split by \b so that each row's anchor is a needle the read already sends.
    *_admin_api_answers("instance not in a state to serve", 409,
                        r"The instance or operation\b is not in an appropriate state\b",
                        "The instance or operation is not in an appropriate state to handle the request.",
                        "invalidState", "the Admin API's 409 invalidState as GoogleCloudPlatform/cloud-sql-proxy "
                        "issue #35 quotes it; UNCONFIRMED from a connector",
                        Refusal.NOT_SERVING),
    # The database's host name does not exist: the resolver answered (NXDOMAIN), so nothing crossed
    # the connector and no saturation explains it. Only the drivers' own texts, which say the name is
    # the database's; a lookup that timed out ("i/o timeout", "Temporary failure in name resolution")
    # is not an answer and is not here.
    DbErrorText("pgx (Go) host name not found", r"hostname resolving error \(lookup [^)]*: no such host\)",
                "failed to connect to `host=orders-db.db.internal.example user=app database=orders`: hostname "
                "resolving error (lookup orders-db.db.internal.example on 169.254.169.254:53: no such host)",
                "pgx's connect error (jackc/pgconn pgconn.go connect and errors.go connectError; as public logs "
                "print it, repositories and paths UNCONFIRMED: \"failed to connect to `host=... "
                "user=... database=...`: hostname resolving error (lookup ...: no such host)\")",
                Refusal.NO_SUCH_HOST),
    DbErrorText("libpq host name not found",
                r'could not translate host name "[^"]*" to address: Name or service not known',
                'psycopg2.OperationalError: could not translate host name "orders-db.db.internal.example" to '
                "address: Name or service not known",
                "libpq's message for a name getaddrinfo does not know (as psycopg/psycopg2 issue #1416 and "
                "ThetaTau/CMT issue #557 quote it)",
                Refusal.NO_SUCH_HOST),
    DbErrorText("MySQL client host name not found", r"Unknown MySQL server host '[^']*'",
                "MySQLdb.OperationalError: (2005, \"Unknown MySQL server host 'orders-db.db.internal.example' "
                "(-2)\")", "MySQL client error 2005 (CR_UNKNOWN_HOST); UNCONFIRMED in a Cloud SQL thread",
                Refusal.NO_SUCH_HOST),
    # PyMySQL (and aiomysql, its asyncio port) raise 2003 around the OSError of the connect, the
    # resolver's gaierror included: "Can't connect to MySQL server on %r (%s)" % (self.host, e)
    # (PyMySQL/PyMySQL pymysql/connections.py Connection.connect), so
    # glibc's EAI_NONAME reads "([Errno -2] Name or service not known)" after the quoted host (the
    # errno part optional: older releases printed e.args[0] alone). Asked for by the 2003 row's anchor.
    DbErrorText("PyMySQL host name not found",
                r"Can't connect to MySQL server on '[^']*' \((?:\[Errno -2\] )?Name or service not known\)",
                "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on 'orders-db.db.internal.example' "
                "([Errno -2] Name or service not known)\")", "PyMySQL's 2003 around socket.gaierror; UNCONFIRMED in "
                "a Cloud SQL thread", Refusal.NO_SUCH_HOST),
    # The instance has no address of the type the client asks for: the connectors read the instance's
    # addresses from the Admin API (connectSettings) and refuse before any dial, with a config error
    # the same on every revision (a public IP turned off under clients that ask for it, the default).
    DbErrorText("Cloud SQL Go connector / Auth Proxy v2 (no IP of the type)",
                r'does not have IP of type "(?:PUBLIC|PRIVATE|PSC)"',
                'failed to connect to instance: Config error: instance does not have IP of type "PUBLIC" '
                '(connection name = "p:r:i")',
                "GoogleCloudPlatform/cloud-sql-proxy-operator issue #385 (the proxy's log line, and the client's "
                '"server closed the connection unexpectedly"); cloud-sql-go-connector\'s errtype.NewConfigError '
                '"instance does not have IP of type %q"', Refusal.NO_IP_OF_TYPE),
    DbErrorText("Cloud SQL Java / Python connectors (no IP of the type)",
                r"does not have any IP addresses matching preference",
                "java.lang.IllegalArgumentException: [p:r:i] Cloud SQL instance  does not have any IP addresses "
                "matching preferences (PUBLIC)",
                "cloud-sql-jdbc-socket-factory's CloudSqlInstance.getPreferredIp (core/src/main/java/com/google/cloud/"
                "sql/core/CloudSqlInstance.java); the Python connector's CloudSQLIPTypeError \"... matching "
                "preference: PRIMARY\" (public notes, repository and path UNCONFIRMED), UNCONFIRMED against its "
                "source", Refusal.NO_IP_OF_TYPE),
    # The Node.js connector's refusal before any dial: connectSettings answered, but with no address of the
    # type asked for (ENOPUBLICSQLADMINIPADDRESS "Cannot connect to instance, public Ip address not found",
    # ENOPRIVATESQLADMINIPADDRESS "... private Ip address not found", ENOPSCSQLADMINIPADDRESS "... PSC address
    # not found") or with none at all, or an ipType it does not know (ENOSQLADMINIPADDRESS "Cannot connect to
    # instance, it has no supported IP addresses"): GoogleCloudPlatform/cloud-sql-nodejs-connector
    # src/ip-addresses.ts (selectIpAddress, parseIpAddresses). The same config matter as the other connectors'.
    DbErrorText("Cloud SQL Node.js connector (no IP of the type)",
                r"Cannot connect to instance, (?:public Ip address|private Ip address|PSC address) not found"
                r"|Cannot connect to instance, it has no supported IP addresses",
                "CloudSQLConnectorError: Cannot connect to instance, private Ip address not found",
                "GoogleCloudPlatform/cloud-sql-nodejs-connector src/ip-addresses.ts (ENOPUBLICSQLADMINIPADDRESS, "
                "ENOPRIVATESQLADMINIPADDRESS, ENOPSCSQLADMINIPADDRESS, ENOSQLADMINIPADDRESS); UNCONFIRMED in a "
                "Cloud Run log", Refusal.NO_IP_OF_TYPE),
    # The Auth Proxy v2 at its own --max-connections: Client.serveSocketMount logs
    # c.logger.Infof("max connections (%v) exceeded, refusing new connection", c.conf.MaxConnections) and
    # closes the client's socket before dialing (cloud-sql-proxy internal/proxy/proxy.go). Infof goes to
    # stdout, plain ("2026/12/01 21:51:04 ..." from log.LstdFlags) or, with --structured-logs, zap's JSON at
    # severity INFO (internal/log/log.go): the log read asks for this text on stdout below WARNING
    # (stdout_text_filter). Not the database's answer: given inside the instance, before any packet
    # crosses the connector; the client sees its socket closed ("server closed the connection
    # unexpectedly", "Lost connection to MySQL server").
    DbErrorText("Cloud SQL Auth Proxy v2 (its own --max-connections)",
                r"max connections \(\d+\) exceeded, refusing new connection",
                "2026/12/01 21:51:04 max connections (10) exceeded, refusing new connection",
                "GoogleCloudPlatform/cloud-sql-proxy internal/proxy/proxy.go (Client.serveSocketMount) and "
                "internal/log/log.go (StdLogger, StructuredLogger: Infof to stdout)", Refusal.PROXY_LIMIT),
    # PgBouncer in front of the database at its own client limit: src/client.c closes a new client with
    # disconnect_client(client, true, "no more connections allowed (max_client_conn)") (pgbouncer/pgbouncer
    # src/client.c), an ErrorResponse with SQLSTATE 08P01 the client prints in its own frame (psycopg2's
    # "psycopg2.OperationalError: ERROR:  no more connections allowed (max_client_conn)", as
    # pgbouncer/pgbouncer issue #293 quotes it; tokio-postgres' SqlState(E08P01) UNCONFIRMED in a public log).
    # PgBouncer 1.24's per-database and per-user client limits say "client connections exceeded
    # (max_db_client_connections)" / "(max_user_client_connections)" (their words as a public list of
    # PgBouncer's errors quotes them, its repository and path UNCONFIRMED; UNCONFIRMED against its source). The
    # pooler answered: wherever it runs (a VM in the VPC, a sidecar), a busy connector did not refuse.
    DbErrorText("PgBouncer (its own client limit)",
                r"no more connections allowed \(max_client_conn\)"
                r"|client connections exceeded \(max_(?:db|user)_client_connections\)",
                "error: no more connections allowed (max_client_conn)",
                "pgbouncer/pgbouncer src/client.c (disconnect_client at max_client_conn); "
                "node-postgres prints the ErrorResponse's message after \"error: \"; UNCONFIRMED in a Cloud SQL "
                "thread", Refusal.POOLER_LIMIT),
    # PgBouncer while its own logins to the server fail: src/client.c closes the client with
    # disconnect_client(client, true, "server login has been failing, try again later (server_login_retry)")
    # when the pool holds no server and the last login failed (pgbouncer/pgbouncer src/client.c). The database
    # behind the pooler refuses or does not answer its logins (a password rotated under the pooler, the
    # instance restarting or failing over): no answer of the database's to read, so no refusal; every
    # revision connects through the same pooler. UNCONFIRMED in a Cloud SQL thread.
    DbErrorText("PgBouncer (its logins to the server failing)",
                r"server login has been failing, try again later \(server_login_retry\)",
                "psycopg2.OperationalError: server login has been failing, try again later (server_login_retry)",
                "pgbouncer/pgbouncer src/client.c (disconnect_client when the pool's server logins fail); "
                "UNCONFIRMED in a Cloud SQL thread"),
    # The Cloud SQL Python connector's background refresh whose result holds an expired certificate:
    # RefreshNotValidError (RefreshError before it) "['p:r:i']: Invalid refresh operation. Certficate appears
    # to be expired." (GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/instance.py,
    # _refresh_task, the word misspelt as it is; exceptions.py RefreshNotValidError). A refresh is the Admin
    # API's connectSettings and generateEphemeralCert, made before any dial: no connection to the database
    # was tried. UNCONFIRMED in a Cloud Run log.
    DbErrorText("Cloud SQL Python connector (refresh not valid)",
                r"\['[^'\n]*'\]: Invalid refresh operation\. Certficate appears to be expired",
                "google.cloud.sql.connector.exceptions.RefreshNotValidError: ['p:r:i']: Invalid refresh operation. "
                "Certficate appears to be expired.",
                "GoogleCloudPlatform/cloud-sql-python-connector google/cloud/sql/connector/instance.py "
                "(_refresh_task) and exceptions.py (RefreshNotValidError); UNCONFIRMED in a Cloud Run log"),
    # The disk full (automatic storage increase off): the server answers each write with its own error.
    DbErrorText("PostgreSQL server (disk full)", r"could not extend file .*No space left on device",
                'psycopg2.errors.DiskFull: could not extend file "base/16384/24591": No space left on device',
                "PostgreSQL's 53100 disk_full, raised when a relation's file cannot grow (md.c, with the hint "
                '"Check free disk space."); UNCONFIRMED in a Cloud SQL thread', Refusal.STORAGE_FULL),
    # The same relation's file extended by fewer bytes than asked, the last blocks of a full disk:
    # md.c mdextend's "could not extend file \"%s\": wrote only %d of %d bytes at block %u", also 53100
    # disk_full with the hint "Check free disk space." (PostgreSQL src/backend/storage/smgr/md.c).
    DbErrorText("PostgreSQL server (disk full: a short write)",
                r'could not extend file "[^"\n]{1,200}": wrote only \d+ of \d+ bytes at block \d+',
                'ERROR: could not extend file "base/16384/24591": wrote only 4096 of 8192 bytes at block 91827 '
                "(SQLSTATE 53100)", "PostgreSQL src/backend/storage/smgr/md.c (mdextend: errhint \"Check free disk "
                'space.\", 53100 disk_full); UNCONFIRMED in a Cloud SQL thread', Refusal.STORAGE_FULL),
    # MySQL's ER_DISK_FULL (1021): "Disk full (%s); waiting for someone to free some space... (errno: %d
    # - %s)" (mysql-server share/messages_to_clients.txt; mysql/mysql-connector-j MysqlErrorNumbers
    # ER_DISK_FULL; older servers end at "..."). The server waits for space, checking once a minute
    # (MySQL Reference Manual, "How MySQL Handles a Full Disk"), so statements hang before any error;
    # MariaDB 11 says "Disk got full writing '%s' (Errcode: %M)" when it does not wait (MariaDB/server
    # commit for MDEV-33813). Either is the instance's storage, whatever crossed the connector. Two rows,
    # as one pattern's alternatives would share "Disk " as their anchor.
    DbErrorText("MySQL server (disk full: 1021)",
                r"\bDisk full \([^)\n]{1,300}\); waiting for someone to free some space",
                'pymysql.err.OperationalError: (1021, "Disk full (/tmp/#sql_1f2c_0.MAI); waiting for someone to free '
                'some space... (errno: 28 - No space left on device)")',
                "mysql-server share/messages_to_clients.txt (ER_DISK_FULL, 1021); mysql/mysql-connector-j "
                "src/main/core-api/java/com/mysql/cj/exceptions/MysqlErrorNumbers.java (ER_DISK_FULL's message); MySQL "
                "Reference Manual \"How MySQL Handles a Full Disk\"; UNCONFIRMED in a Cloud SQL thread",
                Refusal.STORAGE_FULL),
    DbErrorText("MariaDB server (disk full, not waiting)", r"\bDisk got full writing \S",
                "(1021, 'Disk got full writing \\'orders.order_items\\' (Errcode: 28 \"No space left on device\")')",
                "MariaDB/server commit for MDEV-33813 (\"Disk got full writing\", ER_DISK_FULL's words when the server "
                "does not wait); UNCONFIRMED in a Cloud SQL thread", Refusal.STORAGE_FULL),
    DbErrorText("MySQL server (table full)", r"The table '[^']*' is full",
                "pymysql.err.OperationalError: (1114, \"The table 'orders' is full\")",
                "MySQL server error 1114 (ER_RECORD_FILE_FULL), also raised when the disk is full; UNCONFIRMED in "
                "a Cloud SQL thread", Refusal.STORAGE_FULL),
    # The same full disk, met by a write that is not a relation's: PostgreSQL's write of a WAL segment
    # (xlog.c XLogFileInit, "could not write to file \"%s\": %m" on pg_wal/xlogtemp.N, ERROR; a PANIC
    # when XLogWrite itself fails) or of a sort's or hash's temporary file under base/pgsql_tmp, each
    # with ENOSPC's strerror. The path is the server's data directory's own layout (pg_wal, pg_xlog
    # before 10, base, global, pg_tblspc), so an application's own file is not read as the database's.
    DbErrorText("PostgreSQL server (disk full: WAL or temporary file)",
                r'could not write to file "(?:pg_wal|pg_xlog|base|global|pg_tblspc)/[^"\n]{1,200}": '
                r"No space left on device",
                'psycopg2.errors.DiskFull: could not write to file "pg_wal/xlogtemp.4121": No space left on device',
                "PostgreSQL src/backend/access/transam/xlog.c (XLogFileInitInternal: errmsg(\"could not write to file "
                "\\\"%s\\\": %m\"), ENOSPC's 53100 disk_full) and storage/file/buffile.c (temporary files under "
                "base/pgsql_tmp); UNCONFIRMED in a Cloud SQL thread", Refusal.STORAGE_FULL),
    # MySQL's mysys error EE_WRITE (client error 3 as the server passes it on), "Error writing file '%s'
    # (Errcode: %d - %s)" up to 5.7 and "(OS errno %d - %s)" in 8.0 (mysql-server mysys/errors.c
    # globerrs), and the storage engine's ENOSPC passed on as 1030 ER_GET_ERRNO ("Got error %d - '%s'
    # from storage engine"; MariaDB's 'Got error 28 "No space left on device" from storage engine'):
    # errno 28 is ENOSPC. A temporary table or a sort file on a full disk.
    DbErrorText("MySQL server (disk full: errno 28)",
                r"\((?:Errcode: |OS errno )28 - No space left on device\)"
                r"|\bGot error 28 (?:- '|\")No space left on device['\"] from storage engine",
                "pymysql.err.OperationalError: (3, \"Error writing file '/tmp/MYfd=58' (OS errno 28 - No space left "
                "on device)\")", "mysql-server mysys/errors.c (globerrs: EE_WRITE) and share/messages_to_clients.txt "
                "(ER_GET_ERRNO 1030); UNCONFIRMED in a Cloud SQL thread", Refusal.STORAGE_FULL),
    # Transaction ID wraparound protection: PostgreSQL refuses every command that needs a new
    # transaction ID (or MultiXactId) once the oldest unfrozen one is within its stop limit: "database
    # is not accepting commands to avoid wraparound data loss in database \"%s\"" (varsup.c
    # GetNewTransactionId, SQLSTATE 54000 program_limit_exceeded; 16+ says "... commands that assign
    # new transaction IDs to avoid ..."; multixact.c "... commands that generate new MultiXactIds to
    # avoid ..."). Cloud SQL's page "Overcome transaction ID (TXID) wraparound protection"
    # (cloud.google.com/sql/docs/postgres/txid-wraparound) quotes it as the ERROR the clients see. The
    # database answers, and every revision's writes the same.
    DbErrorText("PostgreSQL server (transaction ID wraparound protection)",
                r"database is not accepting commands (?:that (?:assign new transaction IDs|generate new MultiXactIds) )?"
                r"to avoid wraparound data loss",
                'org.postgresql.util.PSQLException: ERROR: database is not accepting commands to avoid wraparound data '
                'loss in database "orders"',
                "PostgreSQL src/backend/access/transam/varsup.c (GetNewTransactionId) and multixact.c; Cloud SQL docs "
                "\"Overcome transaction ID (TXID) wraparound protection\"", Refusal.WRAPAROUND),
    # lib/pq (Go) prints the server's ErrorResponse as "pq: " + its message, with no severity or frame
    # (lib/pq error.go, Error.Error), whatever the severity: 'database "x" does not exist' is InitPostgres's FATAL
    # at connect (postinit.c, 3D000) and a statement's ERROR naming another database (DROP, ALTER or GRANT ... ON
    # DATABASE: dbcommands.c get_database_oid, 3D000); 'role "x" does not exist' is InitializeSessionUserId's FATAL
    # (miscinit.c, 28000) and SET ROLE's (variable.c check_role, 22023) or GRANT's (acl.c get_role_oid, 42704)
    # ERROR. The line cannot tell them: Refusal.NAME_MISSING, an answer of the server's under both readings (the
    # path carried it), tied to a deploy only where the deploy changed the name it gives (right under both: the
    # new revision connects with it, or its own statement names it), else escalated.
    DbErrorText("Go: lib/pq (database or role missing, severity unsaid)", r'\bpq: (?:database|role) "[^"]*" does not exist',
                'pq: database "orders" does not exist',
                "lib/pq error.go (Error.Error: 'pq: ' + Message); PostgreSQL postinit.c ('database \"%s\" does not "
                "exist', FATAL), dbcommands.c (get_database_oid, ERROR), miscinit.c ('role \"%s\" does not exist', "
                "FATAL), variable.c (check_role, ERROR); UNCONFIRMED in a Cloud SQL thread",
                Refusal.NAME_MISSING),
    # sqlx (Rust) prints any error the server sent as "error returned from database: " + the server's message
    # (launchbadge/sqlx sqlx-core/src/error.rs, Error::Database; PgDatabaseError's Display is the message
    # alone), ERROR and FATAL alike: the same two readings as lib/pq's. The frame stands in a lookbehind, so
    # that the pattern's anchor, the needle the Logging query asks for, is '" does not exist' (the other rows'
    # already), never the frame alone, which every server error sqlx prints carries (a unique violation, a
    # syntax error): those would fill the failure read's page (stdout_needles).
    DbErrorText("Rust: sqlx (database or role missing, severity unsaid)",
                r'(?<=\berror returned from database: )(?:database|role) "[^"\n]*" does not exist',
                'error returned from database: database "orders_v2" does not exist',
                "launchbadge/sqlx sqlx-core/src/error.rs (Error::Database, \"error returned from database: {0}\"); "
                "PostgreSQL postinit.c and miscinit.c (FATAL), dbcommands.c and variable.c (ERROR); UNCONFIRMED in a "
                "Cloud SQL thread", Refusal.NAME_MISSING),
    # node-postgres prints the server's ErrorResponse as an Error named "error" whatever its severity, the
    # severity kept in a field of its own (pg-protocol's DatabaseError, built by parseErrorMessage with name
    # "error" for every ErrorResponse; the "error: " prefix as Node prints it UNCONFIRMED word for word): a FATAL
    # at connect and a statement's ERROR read alike, the same two readings as lib/pq's (Refusal.NAME_MISSING).
    DbErrorText("Node: node-postgres (database or role missing, severity unsaid)",
                r'(?:^|[\s:])error: (?:database|role) "[^"\n]*" does not exist',
                'error: database "orders_v2" does not exist',
                "brianc/node-postgres packages/pg-protocol (DatabaseError, parseErrorMessage; the printed prefix "
                "UNCONFIRMED); PostgreSQL postinit.c ('database \"%s\" does not exist'), miscinit.c ('role \"%s\" "
                "does not exist')", Refusal.NAME_MISSING),
    # The same login refusals in the frames of drivers that print neither the severity nor "pq: " nor "error: ",
    # told by what the driver names the SQLSTATE: asyncpg raises a class per SQLSTATE whose traceback line is the
    # class and the server's message (MagicStack/asyncpg asyncpg/exceptions/__init__.py: InvalidCatalogNameError
    # sqlstate 3D000, InvalidAuthorizationSpecificationError 28000, InvalidPasswordError 28P01, the last read by
    # the authentication row above); Npgsql's PostgresException says "SQLSTATE: message" (its GetMessage:
    # sqlState + ": " + messageText, as a public copy of Npgsql's PostgresException.cs holds it; the repository
    # path UNCONFIRMED). Postgrex prints the server's severity first in every release ("#{severity} (#{code}):
    # #{message}", later "#{severity} #{pg_code} (#{code}) #{message}", elixir-ecto/postgrex lib/postgrex/error.ex),
    # so its refusals are the FATAL row's below and its ERROR 3D000 is a statement's: not read here.
    # The role's refusal needs 28000 or its class: 'role "x" does not exist' is also a statement's ERROR (22023
    # invalid_parameter_value for SET ROLE: variable.c check_role reports it through GUC_check_errmsg, which guc.c
    # sends with ERRCODE_INVALID_PARAMETER_VALUE unless the hook sets another code; 42704 undefined_object for
    # GRANT, acl.c get_role_oid), not a refusal of the connection. The database's 3D000 'database "x" does not
    # exist' is InitPostgres's FATAL at connect (postinit.c) and a statement's ERROR naming another database
    # (DROP, ALTER or GRANT ... ON DATABASE: dbcommands.c, get_database_oid); these two drivers print no severity,
    # so it is read as the connection's (UNCONFIRMED how often a request path runs such a statement): a statement's
    # read so competes with the database (database_unreachable acts on nothing), and the database's dropped read
    # as a statement's would roll back a deploy that did not cause it. CREATE DATABASE ... TEMPLATE's ERROR,
    # 'template database "x" does not exist' (dbcommands.c createdb, 3D000), is a statement's alone: never read.
    # 'role "x" is not permitted to log in' has no other source (miscinit.c InitializeSessionUserId, FATAL), so it
    # is read in any frame (sqlx's "error returned from database: ", lib/pq's, node-postgres'); a bare 'role "x"
    # does not exist' or 'database "x" does not exist' in a frame that names no severity (lib/pq's, sqlx's,
    # node-postgres') is Refusal.NAME_MISSING's (the rows above).
    DbErrorText("PostgreSQL server (login refused: role or database, by the driver's SQLSTATE or class)",
                r'\brole "[^"\n]*" is not permitted to log in'
                r'|InvalidAuthorizationSpecificationError\b[^\n]*?\brole "[^"\n]*" does not exist'
                r'|\b28000: [^\n]*?\brole "[^"\n]*" does not exist'
                r'|InvalidCatalogNameError\b[^\n]*?(?<!template )\bdatabase "[^"\n]*" does not exist'
                r'|\b3D000: [^\n]*?(?<!template )\bdatabase "[^"\n]*" does not exist',
                'asyncpg.exceptions.InvalidCatalogNameError: database "orders_v2" does not exist',
                "MagicStack/asyncpg asyncpg/exceptions/__init__.py (InvalidCatalogNameError 3D000, "
                "InvalidAuthorizationSpecificationError 28000); Npgsql PostgresException.GetMessage (\"SQLSTATE: "
                "message\"; repository path UNCONFIRMED); PostgreSQL postinit.c (InitPostgres: 'database \"%s\" does "
                "not exist', 3D000), dbcommands.c (createdb: 'template database \"%s\" does not exist', an ERROR) and "
                "miscinit.c (InitializeSessionUserId: 'role \"%s\" does not exist', 'role \"%s\" is not permitted to "
                "log in', 28000, FATAL); UNCONFIRMED in a Cloud SQL thread", Refusal.SERVER_FATAL),
    # Prisma's P1003, whatever the engine: "Database `NAME` does not exist on the database server at `HOST:PORT`."
    # (prisma/prisma-engines libs/user-facing-errors/src/common.rs, DatabaseDoesNotExist; prisma/prisma's CLI
    # tests quote it with `localhost:5432`). The words do not name the engine; the port does for the engines'
    # own ports, which a Cloud SQL Auth Proxy listens on too (5432 PostgreSQL's 3D000, 3306 MySQL's 1049); at
    # another port the refusal is not read (the engine unknown). A name with a dot is PostgreSQL's schema, not a
    # database (the older "Database `db.schema` does not exist" form), and is left out. Two rows, not two
    # alternatives of one: the `re` parser would take their common start out of the alternation.
    DbErrorText("Prisma (P1003, database missing, PostgreSQL's port)",
                r"\bDatabase `[^`.\n]*` does not exist on the database server at `[^`\n]*:5432`",
                "PrismaClientInitializationError: Database `orders_v2` does not exist on the database server at "
                "`127.0.0.1:5432`.",
                "prisma/prisma-engines libs/user-facing-errors/src/common.rs (DatabaseDoesNotExist, P1003); PostgreSQL "
                "postinit.c (3D000); the engine told by the port alone; UNCONFIRMED in a Cloud SQL thread",
                Refusal.SERVER_FATAL),
    DbErrorText("Prisma (P1003, database missing, MySQL's port)",
                r"\bDatabase `[^`.\n]*` does not exist on the database server at `[^`\n]*:3306`",
                "PrismaClientInitializationError: Database `shop2` does not exist on the database server at "
                "`127.0.0.1:3306`.",
                "prisma/prisma-engines libs/user-facing-errors/src/common.rs (DatabaseDoesNotExist, P1003); MySQL 1049 "
                "(ER_BAD_DB_ERROR); the engine told by the port alone; UNCONFIRMED in a Cloud SQL thread",
                Refusal.UNKNOWN_DATABASE),
    # MySQL's 1049 ER_BAD_DB_ERROR "Unknown database '%s'" (SQLSTATE 42000), sent at connect for the
    # database the handshake names: mysql2 (Node) prints its message bare ("Error: Unknown database
    # 'x'", code ER_BAD_DB_ERROR), PDO as "SQLSTATE[HY000] [1049] Unknown database 'x'", Go's MySQL
    # driver as "Error 1049 (42000): ...", PyMySQL as "(1049, \"Unknown database 'x'\")" (each driver's
    # frame UNCONFIRMED word for word; the server's text is MariaDB's and MySQL's error reference).
    DbErrorText("MySQL server (unknown database)", r"\bUnknown database '[^'\n]*'",
                "PDOException: SQLSTATE[HY000] [1049] Unknown database 'shop2'",
                "MariaDB error reference \"Error 1049: Unknown database\" (ER_BAD_DB_ERROR, SQLSTATE 42000; "
                "rusher/mariadb-docs server/reference/error-codes/mariadb-error-codes-1000-to-1099/"
                "error-1049-unknown-database.md); the drivers' frames UNCONFIRMED", Refusal.UNKNOWN_DATABASE),
    # Any other error the PostgreSQL server sent at FATAL severity (but a session it ended at its own idle or
    # transaction timeout, SESSION_TIMEOUT: the application's behaviour), in the drivers' own frames: libpq
    # (PostgreSQL 14+) puts the server's severity after 'connection to server at "H" (IP), port P
    # failed: ' (and before 14 'FATAL:  ...' bare, not read: an application's own logger may say
    # FATAL too); pgx v5's perDialConnectError wraps a PgError as "server error: FATAL: MSG (SQLSTATE
    # CODE)" (jackc/pgx pgconn/errors.go, PgError.Error: Severity + ": " + Message + " (SQLSTATE " + Code
    # + ")"); pgjdbc's ServerErrorMessage as "PSQLException: FATAL: MSG". The client writes FATAL only for
    # an ErrorResponse the server sent, never for its own dial or read errors: whatever it says, the
    # server answered, so the path to it works. Last in the table: a specific row above names the
    # same line first (refusal_of takes the first kind that matches). Each frame is the driver's own
    # (the port or socket libpq names, pgx's SQLSTATE, pgjdbc's class): matching is case-insensitive,
    # and another tool's "failed: fatal: ..." (git's) is not the database's.
    DbErrorText("PostgreSQL server (any other FATAL, libpq 14+ / pgx / pgjdbc)",
                rf"(?:port \d+|\.s\.PGSQL\.\d+\") failed: FATAL:\s(?!\s*(?:query_wait_timeout\b|{SESSION_TIMEOUT}))"
                rf"|\bserver error: FATAL: (?!query_wait_timeout\b|{SESSION_TIMEOUT})[^\n]*\(SQLSTATE [0-9A-Z]{{5}}\)"
                rf"|PSQLException: FATAL:\s(?!\s*(?:query_wait_timeout\b|{SESSION_TIMEOUT}))",
                'failed to connect to `user=orders database=orders`: 10.40.0.3:5432 (10.40.0.3): server error: FATAL: '
                'permission denied for database "orders" (SQLSTATE 42501)',
                "the drivers' frames around the server's ErrorResponse: libpq's \"connection to server at ... failed: \" "
                "(PostgreSQL 14+), jackc/pgx pgconn/errors.go (perDialConnectError \"server error\", PgError.Error), "
                "pgjdbc ServerErrorMessage; PostgreSQL's 42501 \"permission denied for database\" with DETAIL \"User "
                "does not have CONNECT privilege.\" (postinit.c CheckMyDatabase); UNCONFIRMED in a Cloud SQL thread",
                Refusal.SERVER_FATAL),
    # Any other FATAL in the frames of two more drivers that print the server's severity: pg8000 (the driver of
    # the Cloud SQL Python connector's PostgreSQL connections) raises DatabaseError with the ErrorResponse's fields
    # as a dict, "{'S': 'FATAL', 'V': 'FATAL', 'C': '3D000', 'M': 'database \"x\" does not exist', 'F':
    # 'postinit.c', 'L': '885', 'R': 'InitPostgres'}" as a public log quotes it ('V' only from PostgreSQL 9.6);
    # Postgrex's Postgrex.Error prints "FATAL 3D000 (invalid_catalog_name) MSG" (newer releases; UNCONFIRMED word
    # for word) or "FATAL (invalid_catalog_name): MSG" (elixir-ecto/postgrex lib/postgrex/error.ex, older), as
    # DBConnection logs it after "** (Postgrex.Error) ". As the row above, the client writes FATAL only for what
    # the server sent, and PgBouncer's query_wait_timeout and the server's session timeouts are left out.
    DbErrorText("PostgreSQL server (any other FATAL, pg8000 / Postgrex)",
                rf"'S': 'FATAL', (?:'V': 'FATAL', )?'C': '[0-9A-Z]{{5}}', 'M': '(?!query_wait_timeout\b|{SESSION_TIMEOUT})"
                rf"|\(Postgrex\.Error\) FATAL (?:[0-9A-Z]{{5}} )?\(\w+\):? (?!query_wait_timeout\b|{SESSION_TIMEOUT})",
                "pg8000.exceptions.DatabaseError: {'S': 'FATAL', 'V': 'FATAL', 'C': '28000', 'M': 'role \"orders_rw\" "
                "is not permitted to log in', 'F': 'miscinit.c', 'L': '733', 'R': 'InitializeSessionUserId'}",
                "tlocke/pg8000 (DatabaseError with the ErrorResponse's fields, as a public log quotes it; the "
                "repository's path UNCONFIRMED); elixir-ecto/postgrex lib/postgrex/error.ex (message: severity, "
                "condition, message); UNCONFIRMED in a Cloud SQL thread", Refusal.SERVER_FATAL),
)


# PgBouncer's query_wait_timeout, its ErrorResponse's one word (POOL_WAIT_TEXTS below): a wait inside a
# pooler shared by every revision and service that connects through it, which database_unreachable
# tells apart from the application's own pool.
POOLER_WAIT = r"(?<![\w.])query_wait_timeout\b(?!\s*[=:])"
_POOLER_WAIT_TEXT = re.compile(POOLER_WAIT, re.IGNORECASE)


def per_text(read: Callable[[str], _T], entries: Iterable[LogRecord]) -> dict[str, _T]:
    """`read` of each distinct text of `entries`, asked once: one failure repeats one text on every
    request, so a read of max_log_entries lines holds a few distinct texts, and a regex asked of every
    line costs a diagnosis hundreds of times what it needs (bench/diagnosis_speed.py, "scaled")."""
    return {text: read(text) for text in distinct_texts(entries)}


def distinct_texts(entries: Iterable[LogRecord]) -> list[str]:
    """Each distinct text of `entries` once, in the order first met (per_text's reason)."""
    return list(dict.fromkeys(e.text for e in entries))


def found_in(read: Callable[[str], Iterable[_T]], entries: Iterable[LogRecord]) -> set[_T]:
    """Everything `read` finds in `entries`' texts (hosts, names, versions), each distinct text read once
    (per_text's reason)."""
    return {found for text in distinct_texts(entries) for found in read(text)}


# MySQL Connector/J's link failure on a connection that had received packets from the server: it appends to
# "Communications link failure" (CommunicationsException.20) the time since the last packet received and sent,
# "The last packet successfully received from the server was N milliseconds ago. The last packet sent successfully
# to the server was M milliseconds ago." (CommunicationsException.ServerPacketTimingInfo, the numbers formatted in
# the JVM's locale: "1,349,854", "1.349.854"), and only when a packet was received; a connect that received none says
# "The driver has not received any packets from the server." (ServerPacketTimingInfoNoRecv) instead
# (mysql/mysql-connector-j src/main/core-api/java/com/mysql/cj/exceptions/ExceptionFactory.java,
# createLinkFailureMessageBasedOnHeuristics; src/main/resources/com/mysql/cj/LocalizedErrorMessages.properties). So
# the server had answered on this connection: its dial crossed the path, as pgjdbc's "An I/O error occurred while
# sending to the backend" says of its own. Its cause, printed below in the same entry, says how it ended (an
# EOFException "Can not read response from server ... connection was unexpectedly lost", MysqlIO.EOF; a reset),
# or that a read timed out ("Read timed out": a wait, read_timed_out, never this). A TLS handshake that failed after
# the server's greeting also received a packet, and is a connect, not an open connection: a text that names a
# handshake is not read so.
_CONNECTOR_J_AFTER_PACKETS = (r"\bCommunications link failure\s+The last packet successfully received from the server "
                              r"was [\d,.'\s\u00a0\u202f]+ milliseconds ago(?![\s\S]*handshake)")


# The DB_ERROR_TEXTS that say a connection already open was found closed or broken under a statement
# (its peer's FIN or RST), not that a connect or a read waited: each is its row's pattern, less any
# timeout alternative. Who closed it the words do not say: the server (MySQL's wait_timeout ends a
# session idle 8 hours by default, "Server System Variables"; a failover or a restart), or something on
# the path that forgot an idle flow (UNCONFIRMED for a Serverless VPC Access connector: its idle
# timeout for a TCP flow is not documented). Either way the peer answered at once: a saturated
# connector drops or delays packets (requests wait, "causing timeouts", Cloud Run's VPC connector
# page), so such errors answered at once are no sign of saturation (connector_saturation's
# `_answered_at_once`). Sources: the rows of DB_ERROR_TEXTS with the same words.
CLOSED_CONNECTION_TEXTS = (
    r"ConnectionDoesNotExistError",                          # asyncpg
    r"OperationalError: the connection is closed",           # psycopg
    r"\bdriver: bad connection\b",                           # Go database/sql (ErrBadConn)
    r"An I/O error occurred while sending to the backend",   # pgjdbc (less its socketTimeout form, below)
    r"Lost connection to MySQL server",   # MySQL client 2013 (CR_SERVER_LOST), less a greeting lost (below)
    r"\bServer has closed the connection\b",                 # Prisma P1017
    r"MySQL server has gone away",                           # MySQL client 2006 (CR_SERVER_GONE_ERROR)
    r"SSL SYSCALL error: (?:EOF detected|Connection reset by peer)",   # libpq over SSL
    # libpq over SSL (the server's TLS close), not after the server's own session timeout (SESSION_TIMEOUT)
    r"(?<!transaction timeout\s)(?<!idle-session timeout\s)SSL connection has been closed unexpectedly",
    r"\bConnection lost: The server closed the connection\b",   # Node's mysql2 and mysql
    r"\bConnection terminated unexpectedly\b",               # node-postgres
    r"(?<!query_wait_timeout\s)(?<!transaction timeout\s)(?<!idle-session timeout\s)"
    r"server closed the connection unexpectedly",   # libpq
    r"\[mysql\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:\w+\.go:\d+: )?(?:unexpected EOF|read tcp [^\n]*connection reset by peer)",
    rf"\bread tcp [\w.:\[\]%-]+->[\w.\[\]%-]+:{_DB_PORT}: read: connection reset by peer",   # Go net
    r"PSQLException: This connection has been closed\.",    # pgjdbc, a closed connection used again
    r"\(psycopg2\.InterfaceError\) connection already closed"   # psycopg2 (and under Django), the same
    r"|(?:psycopg2|django\.db\.utils)\.InterfaceError: connection already closed",
    r"asyncpg\.exceptions\._base\.InterfaceError'?>?: connection is closed",   # asyncpg, the same
    r"Can't add new command when connection is in closed state",   # Node's mysql2, the same
    rf"\bwrite tcp [\w.:\[\]%-]+->[\w.\[\]%-]+:{_DB_PORT}: write: (?:broken pipe|connection reset by peer)",
    _NODE_DRIVER_RESET,   # Node: a bare reset under node-postgres's or mysql2's frames
    _JAVA_DRIVER_RESET,   # Java: a bare reset under pgjdbc's, Connector/J's or HikariCP's frames
    _NODE_POOL_IDLE_RESET,   # Node: an idle client's reset, node-postgres's pool's client printed with it
    _HIKARI_BROKEN,   # Java: HikariCP's eviction of a connection broken (SQLSTATE class 08)
    _CONNECTOR_J_AFTER_PACKETS,   # Java: Connector/J's link failure on a connection the server had answered
)
_CLOSED_CONNECTION = re.compile("|".join(f"(?:{p})" for p in CLOSED_CONNECTION_TEXTS), re.IGNORECASE)
# A closed-connection text that also says something waited (pgjdbc's socketTimeout, "Read timed out";
# a connect timeout printed beside it) is a wait, not a connection found closed.
_WAITED = re.compile(r"\btimed out\b|\btimeout expired\b|\bi/o timeout\b|\bdeadline exceeded\b", re.IGNORECASE)


# A read on an established connection to the database that timed out: the driver's read timer or the
# kernel's retransmissions gave up on a connection that had answered before, where a new connection's
# dial is another text (DB_ERROR_TEXTS' dial rows, log_signals.dial_failure). A flow a NAT, a firewall
# or a connector's idle timeout dropped without a reset hangs its next query so; so does a path that
# drops everything, which fails new dials too (connector_saturation reads the two apart).
READ_TIMEOUT_TEXTS = (
    r"could not receive data from server: Connection timed out",      # libpq (fe-secure.c)
    r"SSL SYSCALL error: Connection timed out",                        # libpq over SSL (fe-secure-openssl.c)
    # PyMySQL's _read_bytes: f"Lost connection to MySQL server during query ({e})" on an OSError, the
    # socket's timeout "timed out" (PyMySQL pymysql/connections.py); aiomysql's the same. Or the kernel's
    # ETIMEDOUT on the read, "[Errno 110] Connection timed out" on Linux (TimeoutError under _read_bytes, as
    # petl-developers/petl issue #518 quotes it), "[Errno 60] Operation timed out" on macOS (as
    # tortoise/tortoise-orm issue #1685 quotes aiomysql's): data the peer never acknowledged, as libpq's
    # "could not receive data from server: Connection timed out" above. Errno 104 ("Connection reset by
    # peer", PyMySQL issue #269) is a reset, a connection found closed (CLOSED_CONNECTION_TEXTS), not this.
    r"Lost connection to MySQL server during query \((?:timed out|\[Errno (?:110|60)\] (?:Connection|Operation) "
    r"timed out)\)",
    # mysql-connector-python's pure-Python protocol: 2055 (CR_SERVER_LOST_EXTENDED, "Lost connection to MySQL
    # server at '%s', system error: %s", lib/mysql/connector/locales/eng/client_error.py) with the socket's
    # address ("host:port") and its OSError as _strioerror prints it: str(err) when it has no errno, so a
    # socket timeout is "timed out", else "{errno} {strerror}" ("110 Connection timed out"). It is raised only
    # by the send and recv of a socket whose connect had succeeded (network.py: NetworkBrokerPlain._send_pkt,
    # recv, NetworkBrokerCompressed.recv; the connect itself fails as 2003 "Can't connect to MySQL server on
    # ...", MySQLTCPSocket.open_connection, a dial row). connection_timeout bounded every socket read before
    # 8.0.21 and only the connect's handshake and authentication since (mysql/mysql-connector-python
    # BUG30996790, commit b6d5d57: `set_connection_timeout(None)` once connected); a read_timeout option in
    # newer releases is UNCONFIRMED. So the words say a read on a connection the server's host had answered
    # timed out, a statement or a handshake, not which: never a dial that got no answer. Its "104 Connection
    # reset by peer" is a reset (CLOSED_CONNECTION_TEXTS' 2013 row holds these words too). libmysqlclient's
    # own 2013 of the same form names a stage, not an address ("at 'reading initial communication packet',
    # system error: 110"): a connect whose greeting never came (greeting_timed_out), not read here.
    r"Lost connection to MySQL server at '[^'\n]*:\d+', system error: (?:timed out|(?:110|60) (?:Connection|Operation) "
    r"timed out)",
    rf"\bread tcp [\w.:\[\]%-]+->[\w.\[\]%-]+:{_DB_PORT}: (?:i/o timeout|read: connection timed out)",   # Go net
    # The clients' own read timers (their DB_ERROR_TEXTS rows): Npgsql's, MySqlConnector's and SqlClient's
    # CommandTimeout, node-postgres's query_timeout.
    r"\bTimeoutException: Timeout during reading attempt\b",                             # Npgsql
    r"MySqlException(?: \(0x[0-9A-Fa-f]+\))?:? The Command Timeout expired before the operation completed",   # MySqlConnector
    r"\bQuery read timeout\b",                                                           # node-postgres
    r"\bExecution Timeout Expired\.\s+The timeout period elapsed prior to completion of the operation",   # SqlClient
    # asyncpg's statement timeout (its protocol's frame, then the bare TimeoutError), Prisma's P1008, the
    # mysql2 gem's read_timeout, knex's .timeout(), Node's mysql/mysql2 query timeout: their rows above.
    r'asyncpg[/\\]protocol[/\\]protocol\.pyx", line \d+, in \w+(?:\n[ \t]+[^\n]*)*\n'
    r"(?:asyncio\.(?:exceptions\.)?)?TimeoutError\b",
    r"\bSocket timeout \(the database failed to respond to a query within the configured timeout",
    r"\bTimeout waiting for a response from the last query\b",
    r"Defined query timeout of \d+ ?ms exceeded when running"
    r"|After query timeout of \d+ ?ms exceeded, cancel",
    r"\bQuery inactivity timeout\b",
    r"\bPing inactivity timeout\b",   # mysqljs's ping on an open connection (its row above)
    # Prisma's P1002 (DatabaseTimeout): its words say the server "was reached"; the schema engine raises it
    # when a statement on the open connection outlasts its timer, the advisory lock Migrate takes first
    # ("Context: Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(72707369))",
    # prisma/prisma-engines sql-schema-connector, the Postgres flavour's acquire_lock and timeout_error; the
    # file paths UNCONFIRMED; prisma/orm issue #6768). Its DB_ERROR_TEXTS row above.
    r"The database server at `[^`]*`:`\d+` was reached but timed out",
)
_READ_TIMEOUT = re.compile("|".join(f"(?:{p})" for p in READ_TIMEOUT_TEXTS), re.IGNORECASE)
# pgjdbc's socketTimeout: the wrapper "An I/O error occurred while sending to the backend" and, as its
# cause in the same entry's stack trace, java.net.SocketTimeoutException's "Read timed out" (the JDK's
# NioSocketImpl.timedRead; pgjdbc/pgjdbc QueryExecutorImpl.java wraps it). MySQL Connector/J's the same:
# its "Communications link failure" on a connection that had received packets says when it last did,
# "The last packet successfully received from the server was N milliseconds ago." (mysql/mysql-connector-j
# LocalizedErrorMessages.properties, CommunicationsException.ServerPacketTimingInfo; a connect that never
# got an answer says "The driver has not received any packets from the server." instead, its key name
# UNCONFIRMED), with "Read timed out" as its cause at socketTimeout (as alibaba/druid issue #5146 and
# alibaba/druid issue #4351, a socketTimeout that cut slow queries, quote it).
_JDBC_ON_OPEN_CONNECTION = re.compile(r"An I/O error occurred while sending to the backend"
                            r"|The last packet successfully received from the server was", re.IGNORECASE)
_READ_TIMED_OUT = re.compile(r"SocketTimeoutException: Read timed out", re.IGNORECASE)


# pgx's statement timeout (its DB_ERROR_TEXTS row), a read unless the text is pgx's connect: its
# ConnectError says "failed to connect to" and its dial step "dial error" (jackc/pgx pgconn/errors.go).
_PGX_TIMEOUT = re.compile(r"\btimeout: context deadline exceeded\b", re.IGNORECASE)
_PGX_CONNECT = re.compile(r"\bfailed to connect to\b|\bdial error\b", re.IGNORECASE)


# A MySQL client's 2013 (CR_SERVER_LOST) that names no reason: libmysqlclient's bare "Lost connection to
# MySQL server during query" (mysqlclient/MySQLdb, mysql-connector-python's "2013 (HY000): ..."), or
# PyMySQL's on an EOF. The words say the connection ended under a statement, not who ended it nor
# whether a timer did: libmysqlclient says so when its own read timeout (MYSQL_OPT_READ_TIMEOUT) gives up
# on a statement (webyog/sqlyog-community issue #1130: set the read timeout to get "Lost connection"
# rather than an endless wait), and on a long query (hhyo/Archery issue #403, MySQLdb: "(2013, 'Lost
# connection to MySQL server during query')" on a long SELECT), as well as when the server or the path
# closed it (GoogleCloudPlatform/cloud-sql-proxy issue #35, a failover). Which of the two the driver's
# read timeout produced, for each driver and version: UNCONFIRMED. A reason in parentheses after it
# ("(timed out)", "([Errno 104] Connection reset by peer)") says which, and is read by its words.
_BARE_LOST = re.compile(r"Lost connection to MySQL server during query(?!\s*\()", re.IGNORECASE)


def names_another_host(text: str) -> bool:
    """Whether a certificate refusal is for a certificate naming another host (verify-full's own check), in any
    driver's words (_NAMES_ANOTHER_HOST_TEXTS), not one for a certificate the client does not trust."""
    return _NAMES_ANOTHER_HOST_RE.search(text) is not None


def node_host_name_words(text: str) -> bool:
    """Whether a host-name refusal is in Node's own words (ERR_TLS_CERT_ALTNAME_INVALID)."""
    return _NODE_HOST_NAME.search(text) is not None


_NAMES_ANOTHER_HOST_RE = re.compile("|".join(_NAMES_ANOTHER_HOST_TEXTS), re.IGNORECASE)


def lost_mid_query(text: str) -> bool:
    """Whether a database error's text is a MySQL 2013 that names no reason (_BARE_LOST): a connection
    ended under a statement by a closed flow or by the client's own read timeout, the words do not say
    which. No word of a wait, no failed dial in it (those are read as what they say)."""
    return (_BARE_LOST.search(text) is not None and _WAITED.search(text) is None
            and dial_failure(text) is None)


def read_timed_out(text: str) -> bool:
    """Whether a database error's text is a read on an established connection that timed out
    (READ_TIMEOUT_TEXTS; pgx's statement whose context ran out, not its connect; or pgjdbc's I/O error or
    Connector/J's link failure on an established connection caused by a read that timed out), not a dial."""
    if _READ_TIMEOUT.search(text) is not None:
        return True
    if _PGX_TIMEOUT.search(text) is not None and _PGX_CONNECT.search(text) is None:
        return True
    return _JDBC_ON_OPEN_CONNECTION.search(text) is not None and _READ_TIMED_OUT.search(text) is not None


# A new connection to the database whose dial (or the connect under it) got no answer before the
# driver's own connect timeout: nothing answered, so the packets went unanswered somewhere on the path
# (a saturated connector drops them, as a firewall or a stopped server does). The words, as each
# stack gives up (the same sources as their DB_ERROR_TEXTS rows):
# - Go net: "dial tcp A:P: i/o timeout" at the dialer's deadline (golang/go src/internal/poll/fd.go
#   ErrDeadlineExceeded's "i/o timeout"), "connect: connection timed out" from the kernel (ETIMEDOUT);
#   pgx through the Go connector: "dial error: timeout: context deadline exceeded" (v5.5+), and pgx v4 and
#   v5 before 5.5 "dial error (timeout: context deadline exceeded)" (ConnectError.Error's "%s (%s)" of its
#   step and cause, jackc/pgx pgconn/errors.go, the format UNCONFIRMED against a tagged version; a public
#   test file quotes "failed to connect to `host=172.24.0.3 user=user database=join_pg_pg`: dial error
#   (timeout: context deadline exceeded)", its repository UNCONFIRMED).
# - libpq (psycopg2, and SQLAlchemy quoting it): "... failed: timeout expired" at connect_timeout
#   (postgres/postgres src/interfaces/libpq/fe-connect.c, "timeout expired"); psycopg 3: "connection
#   timeout expired" (psycopg/psycopg psycopg/psycopg/generators.py).
# - node-postgres: "Connection terminated due to connection timeout" (brianc/node-postgres
#   packages/pg-pool/index.js newClient at connectionTimeoutMillis).
# - Java: "SocketTimeoutException: connect timed out" (the JDK's socket connect at its timeout; pgjdbc's
#   "The connection attempt failed." carries it as its cause).
# - Node net and mysql2: "connect ETIMEDOUT" (nodejs/node lib/internal/errors.js; sidorares/node-mysql2
#   lib/connection.js _handleTimeoutError).
# - PyMySQL (and SQLAlchemy quoting it): its connect wraps the socket's OSError as 2003, f"Can't connect
#   to MySQL server on {self.host!r} ({e})" (PyMySQL pymysql/connections.py, connect), the socket's
#   timeout printing "timed out" (as hcymysql/reverse_sql issue #9 and funilrys/PyFunceble issue #105
#   quote it) and the kernel's "[Errno 110] Connection timed out"; libmysqlclient (mysqlclient, Ruby's
#   mysql2) prints the errno after the host, "(110)" or '(110 "Connection timed out")' (MySQL client
#   error 2003 CR_CONN_HOST_ERROR, "Can't connect to MySQL server on '%-.100s:%u' (%d)"; UNCONFIRMED word
#   for word across versions).
# - libpq before PostgreSQL 14: "could not connect to server: Connection timed out" (fe-connect.c,
#   connectFailureMessage with ETIMEDOUT's strerror), as Ruby's PG::ConnectionBad and psycopg2 print it.
# - PHP's PDO over mysqlnd: "SQLSTATE[HY000] [2002] Connection timed out" (the DB_ERROR_TEXTS row).
# - Npgsql (.NET): "Failed to connect to A:P" over "System.TimeoutException: Timeout during connection
#   attempt" when the socket's connect outlasts the connection string's Timeout (npgsql/npgsql
#   src/Npgsql/Internal/NpgsqlConnector.cs, Connect: `throw new TimeoutException("Timeout during connection
#   attempt")`, wrapped as `new NpgsqlException($"Failed to connect to {endpoint}", e)`; as a public
#   EF Core log quotes the two together, its repository and path UNCONFIRMED). Read in the same entry
#   only: the timeout's line alone names no database.
# - libpq before 14 under Ruby, PHP and psycopg2 (_LIBPQ_BARE_TIMEOUT), Postgrex's "tcp connect (A:P): timeout"
#   (_POSTGREX_DIAL_TIMED_OUT) and Netty's connect timer to a database's port (_NETTY_DIAL_TIMED_OUT).
# - mysqljs/mysql: "Handshake inactivity timeout" when the server sent no packet within the connect's
#   Handshake timeout (its DB_ERROR_TEXTS row: the timer starts as the dial begins).
# A read on an established connection that timed out (READ_TIMEOUT_TEXTS) and a failed name lookup
# ("lookup H on R:53: i/o timeout") are not dials; a wait for a pooled connection names none of these.
# Where the words name the port dialled, a web port is no database's: Go's "dial tcp A:443: i/o timeout" and
# Node's "connect ETIMEDOUT A:443" are an HTTPS call's (a Google API's, the Cloud SQL Admin API's among them,
# on 443), and ":80" a plain HTTP one's (the metadata server's token, 169.254.169.254:80), never a dial to a
# database (3307 through a Cloud SQL connector or the Auth Proxy, 5432, 3306, 1433, or a port of the
# application's own choosing). Only those two ports are ruled out, each the address's last part: a database
# may listen on any other.
_WEB_PORT_ADDRESS = r"[\w.:\[\]%-]*:(?:443|80)"
_DIAL_TIMED_OUT = re.compile(
    rf"\bdial tcp (?!{_WEB_PORT_ADDRESS}: )[\w.:\[\]%-]+: (?:i/o timeout|connect: connection timed out)"
    r"|\bdial error(?:: | \()timeout: context deadline exceeded"
    r"|\bfailed: timeout expired\b|\bconnection timeout expired\b"
    r"|\bConnection terminated due to connection timeout\b"
    r"|\bSocketTimeoutException: connect timed out\b"
    rf"|\bconnect ETIMEDOUT\b(?! {_WEB_PORT_ADDRESS}(?![\w.:\]]))"
    r"|\bCan't connect to MySQL server on '[^'\n]*' \((?:timed out|\[Errno 110\]|110\b)"
    r"|\bcould not connect to server: Connection timed out\b"
    r"|\[2002\] Connection timed out\b"
    r"|\bTimeoutException: Timeout during connection attempt\b"
    r"|\bHandshake inactivity timeout\b"
    rf"|{_LIBPQ_BARE_TIMEOUT}|{_POSTGREX_DIAL_TIMED_OUT}|{_NETTY_DIAL_TIMED_OUT}|{_MYXQL_STARTUP_TIMED_OUT}"
    rf"|{_NPGSQL_OPEN_TIMED_OUT}",
    re.IGNORECASE)
# The Cloud SQL connector libraries' own dials that timed out in the kernel (their DB_ERROR_TEXTS rows), in
# the runtimes' own casing: asked only of a text holding the kernel's "Connection timed out" (a plain
# substring test), so that the scan of every other error of reaching the database costs nothing more.
_CONNECTOR_DIAL_TIMED_OUT = re.compile(f"{_PY_CONNECTOR_DIAL_TIMED_OUT}|{_JAVA_CONNECTOR_DIAL_TIMED_OUT}")
# The .NET drivers' connect failures say what the socket said only in the inner exception, printed on the next
# line (Exception.ToString's " ---> "): on Linux the kernel's ETIMEDOUT as .NET prints a SocketException,
# "System.Net.Sockets.SocketException (110): Connection timed out" (Win32Exception.ToString's "(NativeErrorCode)";
# the form as public .NET logs quote it, e.g. OctopusDeploy/Halibut's network-error list), is a TCP connect that
# timed out under SqlClient's "A network-related or instance-specific error occurred while establishing a
# connection to SQL Server. ... (provider: TCP Provider, error: N - ...)", Npgsql's "Failed to connect to A:P"
# and MySqlConnector's / MySql.Data's "Unable to connect to any of the specified MySQL hosts." (their
# DB_ERROR_TEXTS rows; each driver ending so on Linux UNCONFIRMED word for word: Npgsql's and MySqlConnector's own
# timers usually end the connect first, as "Timeout during connection attempt" and "Connect Timeout expired.").
# SqlClient says so in its provider's words too, "error: 0 - The wait operation timed out." (Win32's WAIT_TIMEOUT,
# 258: its own wait for the connect ran out of Connect Timeout; the words as robertpopa22/mRemoteNG issue #165
# quotes them). Only under those connect failures: the same SocketException under a read ("Unable to read data
# from the transport connection"), SqlClient's "Execution Timeout Expired" (258 again) and its post-login
# "Connection Timeout Expired" are not dials. Asked only of a text holding the kernel's words or SqlClient's
# (plain substring tests), so other errors cost nothing more.
_DOTNET_DIAL_TIMED_OUT = re.compile(
    r"(?:error occurred while establishing a connection to SQL Server\.|NpgsqlException[^\n]*: Failed to connect to "
    r"|MySqlException[^\n]*: Unable to connect to any of the specified MySQL hosts\.)[^\n]*"
    r"\n[ \t]*---> System\.Net\.Sockets\.SocketException \(110\): Connection timed out\b")
# Npgsql before 6 wraps only its socket connect's failure to the last endpoint as "Exception while connecting"
# (npgsql/npgsql src/Npgsql/NpgsqlConnector.cs, Connect and ConnectAsync, before 6: the endpoint loop's catch,
# `throw new NpgsqlException("Exception while connecting", e)`); its timer inside that loop throws
# TimeoutException("Timeout during connection attempt") or a bare TimeoutException(), .NET's "The operation has
# timed out." (the time left before an endpoint's turn spent). Either, printed as the inner exception, is the
# TCP dial that timed out; the TLS handshake and authentication run after Connect returns and are not wrapped
# so. Npgsql 6 and later throw NpgsqlException("The operation has timed out", TimeoutException) from
# NpgsqlTimeout.Check (src/Npgsql/Util/NpgsqlTimeout.cs), which the whole open (its TLS handshake too) calls:
# which step, its words do not say, so it is a start-up that timed out (_NPGSQL_OPEN_TIMED_OUT), not this.
_NPGSQL_DIAL_TIMED_OUT = re.compile(r"NpgsqlException[^\n]*: Exception while connecting[^\n]*\n[ \t]*---> "
                                    r"System\.TimeoutException: (?:The operation has timed out|Timeout during "
                                    r"connection attempt)\b")
_SQLCLIENT_WAIT_TIMED_OUT = re.compile(r"error occurred while establishing a connection to SQL Server\.[^\n]*?"
                                       r"\(provider: TCP Provider, error: 0 - The wait operation timed out\.\)")


def dial_timed_out(text: str) -> bool:
    """Whether a database error's text says a new connection's dial timed out (_DIAL_TIMED_OUT), not a
    read on an established one (`read_timed_out`), nor a Cloud SQL connector's refresh whose call to the Admin
    API timed out (`refresh_failed`: its "dial tcp ...:443: i/o timeout" or "connect timed out" is the API's)."""
    dialled = _DIAL_TIMED_OUT.search(text) is not None or (
        "Connection timed out" in text and (_CONNECTOR_DIAL_TIMED_OUT.search(text) is not None
                                            or _DOTNET_DIAL_TIMED_OUT.search(text) is not None)) or (
        "The wait operation timed out" in text and _SQLCLIENT_WAIT_TIMED_OUT.search(text) is not None) or (
        "Exception while connecting" in text and _NPGSQL_DIAL_TIMED_OUT.search(text) is not None)
    return dialled and not read_timed_out(text) and not refresh_failed(text)


# A connection's start-up that outlasted a timer covering every step of it, the words not saying which: the
# TCP dial, the TLS handshake, or the server's authentication and start-up answers. A saturated connector drops
# the dial's packets; a database short of CPU or connections answers the handshake and authentication late.
# Either makes these words, so they prove a dial through the connector only beside the connector's own signs,
# and never against a database shown saturated in the same minutes.
# - libpq: connect_timeout is the "Maximum time to wait while connecting" (PostgreSQL docs, libpq "Parameter
#   Key Words", connect_timeout), and connectDBComplete waits each PQconnectPoll step against it, the SSL
#   negotiation and authentication among them (postgres/postgres src/interfaces/libpq/fe-connect.c: "/*
#   connect_timeout elapsed */"), pqWaitTimed saying "timeout expired" at whichever step: bare before 14
#   (_LIBPQ_BARE_TIMEOUT), 'connection to server at "H" (A), port P failed: timeout expired' from 14 (the host
#   is named at the attempt's start, whatever step then times out).
# - psycopg 3: "connection timeout expired", its wait over the same libpq connect (psycopg/psycopg
#   psycopg/psycopg/generators.py _connect, over PQconnectPoll).
# - MyXQL: :timeout from the TCP connect or the TLS upgrade (_MYXQL_STARTUP_TIMED_OUT).
# - node-postgres: connectionTimeoutMillis runs until the server is ready for queries (brianc/node-postgres
#   packages/pg/lib/client.js, _connect's connectionTimeoutHandle, cleared on ReadyForQuery), the TLS
#   handshake and authentication inside it.
# - mysqljs/mysql: "Handshake inactivity timeout", the connect's timer running from the dial to the server's
#   handshake answered (its DB_ERROR_TEXTS row).
# - Npgsql 6+: "The operation has timed out", the open's Timeout asked at each of its steps (_NPGSQL_OPEN_TIMED_OUT).
# A TCP dial's own timer (Go's "dial tcp ... i/o timeout", Postgrex's "tcp connect", Netty's connect timer,
# the kernel's ETIMEDOUT, Npgsql's Connect) says the dial, and is not one of these.
_STARTUP_TIMED_OUT = re.compile(
    rf"{_LIBPQ_BARE_TIMEOUT}|\bfailed: timeout expired\b|\bconnection timeout expired\b|{_MYXQL_STARTUP_TIMED_OUT}"
    r"|\bConnection terminated due to connection timeout\b|\bHandshake inactivity timeout\b"
    rf"|{_NPGSQL_OPEN_TIMED_OUT}", re.IGNORECASE)


def startup_timed_out(text: str) -> bool:
    """Whether a database error's text says a new connection's start-up timed out at a step its words do
    not say (_STARTUP_TIMED_OUT): the dial, the TLS handshake or authentication. Each such text is a
    `dial_timed_out` too, read with the connector's signs; this tells it from a dial that said so."""
    return _STARTUP_TIMED_OUT.search(text) is not None and dial_timed_out(text)


# A Cloud SQL connector's refresh that failed: its calls to the Cloud SQL Admin API for the instance's
# connect settings and an ephemeral client certificate (connectSettings, generateEphemeralCert), made before
# any dial to the instance (and again about once an hour). The Java connector's "[p:r:i] Failed to update
# metadata for Cloud SQL instance." / "Failed to create ephemeral certificate for the Cloud SQL instance."
# (cloud-sql-jdbc-socket-factory core CloudSqlInstance.java, addExceptionContext) and the Go connector's and
# Auth Proxy v2's RefreshError "Refresh error: MESSAGE (connection name = ...)" (cloud-sql-go-connector
# errtype/errors.go). No connection to the database was dialled: the account's permissions (roles/
# cloudsql.client), the Admin API (enabled, its quota) or the way to sqladmin.googleapis.com failed, never
# the connector's capacity for the database's traffic. Not a dial that timed out, whatever the cause inside
# says ("context deadline exceeded" is the API call's). In the libraries' own casing: a text holding neither
# word (a plain substring test, in C) is ruled out before the regex scans it (every error of reaching the
# database is asked, and a case-blind scan of each costs a cold LARGE diagnosis millions of instructions).
# The Python connector's refresh reaches the Admin API with aiohttp (google/cloud/sql/connector/client.py,
# CloudSQLClient: sqladmin_api_endpoint defaults to https://sqladmin.googleapis.com), so aiohttp's
# ClientConnectorError "Cannot connect to host sqladmin.googleapis.com:443 ..." (its DB_ERROR_TEXTS row) is
# that refresh failing, never a dial to the instance (whose server proxy port is 3307, never 443); and
# asyncio's TimeoutError raised by aiohttp under the connector's frames is that call timing out
# (_PY_CONNECTOR_API_TIMED_OUT), as is aiohttp 3.10+'s ConnectionTimeoutError on the connector's own two Admin API
# URLs (_PY_CONNECTOR_API_CONNECT_TIMED_OUT). The Node.js connector's refresh says so in its own CloudSQLConnectorError
# messages, or in node-fetch's error on its Admin API URLs (_NODE_CONNECTOR_REFRESH). The Python connector's
# DnsResolutionError (_PY_CONNECTOR_DNS_NAME) is its lookup of an instance named by a DNS name, before any dial.
# The Python connector before 1.2.4 (connector.py's `asyncio.wait_for(get_connection(), timeout)`, "TimeoutError:
# Connection timed out after 30s", removed by pull request #760) timed the refresh's wait and the dial to 3307
# under one timer: its words cannot tell the two apart, so they are neither a refresh nor a dial, and not read.
_REFRESH_FAILED = re.compile(r"Failed to (?:update metadata for|create ephemeral certificate for the) Cloud SQL instance"
                             r'|\bRefresh error: [^\n]*?\(connection name = "'
                             r"|Cannot connect to host sqladmin\.googleapis\.com:443 "
                             f"|{_PY_CONNECTOR_API_CONNECT_TIMED_OUT}|{_PY_CONNECTOR_DNS_NAME}")
_PY_REFRESH_TIMED_OUT = re.compile(_PY_CONNECTOR_API_TIMED_OUT)
_NODE_REFRESH_FAILED = re.compile(_NODE_CONNECTOR_REFRESH)


def refresh_failed(text: str) -> bool:
    """Whether a database error's text is a Cloud SQL connector's refresh (its Admin API calls) that failed
    (_REFRESH_FAILED, _PY_REFRESH_TIMED_OUT, _NODE_REFRESH_FAILED): nothing was dialled, so no connector capacity
    explains it. Each pattern is asked only of a text holding the words every text it matches holds, in the
    libraries' own casing (plain substring tests, in C): most texts are ruled out before any regex scans them."""
    if (("Refresh error: " in text or " Cloud SQL instance" in text or "sqladmin.googleapis.com:443" in text
         or "host https://sqladmin.googleapis.com/" in text or "DnsResolutionError: " in text)
            and _REFRESH_FAILED.search(text) is not None):
        return True
    if ("TimeoutError" in text and "google/cloud/sql/connector/" in text and "aiohttp" in text
            and _PY_REFRESH_TIMED_OUT.search(text) is not None):
        return True
    return (("request to https://sqladmin" in text or "Failed to find metadata on project id: " in text
             or "Cannot connect to instance, " in text or "automatic IAM authentication" in text
             or "Provided region was mismatched" in text or " certificate." in text
             or "resolve connect settings for DNS name" in text)
            and _NODE_REFRESH_FAILED.search(text) is not None)


# A word every CLOSED_CONNECTION_TEXTS match holds, lower-cased: a text with none of them is ruled out
# by substring tests before any regex runs (most database errors are dial failures).
_CLOSED_WORDS = ("connectiondoesnotexisterror", "the connection is closed", "bad connection", "to the backend",
                 "lost connection to mysql", "closed the connection", "gone away", "ssl syscall error",
                 "connection terminated unexpectedly", "[mysql] ",
                 "ssl connection has been closed", "connection reset by peer", "broken pipe",
                 "this connection has been closed", "connection already closed", "connection is closed",
                 "connection is in closed state", "read econnreset", "socketexception: connection reset",
                 "marked as broken", "last packet successfully received")


# libmysqlclient's connect whose server greeting never came: mysql_real_connect reads the server's first
# packet once the socket's connect has succeeded, and when that read fails it says CR_SERVER_LOST (2013) in
# CR_SERVER_LOST_EXTENDED's words, "Lost connection to MySQL server at '%s', system error: %d", naming the
# stage and the socket's errno (mysql/mysql-server sql-common/client.c: `set_mysql_extended_error(mysql,
# CR_SERVER_LOST, unknown_sqlstate, ER(CR_SERVER_LOST_EXTENDED), "reading initial communication packet",
# socket_errno)`; "waiting for initial communication packet" when the poll for it times out, and MySQL 8.0's
# client says "handshake: reading initial communication packet", its file UNCONFIRMED). The connect timeout
# (MYSQL_OPT_CONNECT_TIMEOUT) bounds that read too, and errno 110 (ETIMEDOUT on Linux; 60 on macOS) is the
# timer giving up: the TCP connect was answered, the greeting was not in time. Who answered the connect the
# words do not say: the database's host (a Serverless VPC Access connector forwards packets and does not
# answer a connect itself: UNCONFIRMED, its page does not say), which then did not greet in time (a server
# short of threads or memory, a reverse lookup of the client's address), or a local proxy or tunnel that
# accepts at once and dials on (the Cloud SQL Auth Proxy: its own dial's failure is in its own log line).
# So it is neither a connection found closed (no close: a timer) nor a dial that got no answer: its own
# class, which connector_saturation never counts as a failed dial. Errno 0 or 104 (the peer closed or reset
# it during the handshake) is not read here.
_GREETING_TIMED_OUT = re.compile(r"Lost connection to MySQL server at '(?:handshake: )?(?:reading|waiting for) initial "
                                 r"communication packet', system error: (?:110|60)\b", re.IGNORECASE)


def greeting_timed_out(text: str) -> bool:
    """Whether a database error's text is libmysqlclient's connect whose server greeting never came within
    its connect timeout (_GREETING_TIMED_OUT): a TCP connect answered, then no greeting in time."""
    return "initial communication packet" in text.lower() and _GREETING_TIMED_OUT.search(text) is not None


# libmysqlclient's connect lost before the server's greeting, whatever the socket said: the 2013 above with any
# system error, or none. mysql_real_connect (sql-common/client.c) reads the greeting with cli_safe_read once the
# socket's connect succeeded, and a read that returns nothing (the peer closed: "system error: 0"; reset: 104;
# its timer: 110) is reported as CR_SERVER_LOST at "reading initial communication packet" (the set_mysql_extended_
# error call cited above; MySQL Reference Manual, "Lost connection to MySQL server", dev.mysql.com/doc/refman/
# 5.7/en/error-lost-connection.html, names the initial connection, the server's connect_timeout among its causes;
# its words UNCONFIRMED here). The socket's connect answered is no open connection the path had carried: behind a
# local proxy that accepts at once and dials on (the Cloud SQL Auth Proxy, a connector library's listener), the
# accept is the proxy's, and when it cannot reach the instance the client reads "system error: 0" (google/go-cloud
# issue #126 and GoogleCloudPlatform/kubernetes-engine-samples issue #53: clients of the Cloud SQL proxy at
# 127.0.0.1 quote "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet',
# system error: 0"; litstrong/Dragon issue #33, the same words from an address Cloud SQL did not authorize; which
# errno each proxy version leaves UNCONFIRMED). So the words cannot tell a server that closed (or did not greet) a
# connect from a dial that failed past a proxy: not a connection found closed (closed_connection), not a failed
# dial (never dial_failure's), and never evidence that new connections open (database_signs.on_an_open_connection).
_GREETING_LOST = re.compile(r"Lost connection to MySQL server at '(?:handshake: )?(?:reading|waiting for) initial "
                            r"communication packet'", re.IGNORECASE)


# Rails' username error (the row "Ruby: Rails 7 (PostgreSQL) username error, cause unsaid"): said for the server's
# refusals of the user and for any failure whose message names a host or socket path holding the user's name.
_RAILS_USERNAME_ERROR = re.compile(r"There is an issue connecting to your database with your username/password, "
                                   r"username: ")


def username_error(text: str) -> bool:
    """Whether a database error's text is Rails' username error: a refusal of the user's credentials, or any failure
    whose words hold the user's name (a dial that timed out to "orders-db" for a user "orders"); the words alone do
    not say which (activerecord postgresql_adapter.rb, new_client: a substring test)."""
    return _RAILS_USERNAME_ERROR.search(text) is not None


def greeting_lost(text: str) -> bool:
    """Whether a database error's text is libmysqlclient's connect lost before the server's greeting, whatever the
    socket said (_GREETING_LOST): the connect was accepted by the server or by a proxy in front, the words do not
    say which, then closed, reset or timed out before any greeting."""
    return "initial communication packet" in text.lower() and _GREETING_LOST.search(text) is not None


# A dial to the database's address that the far end refused at once (ECONNREFUSED, errno 111): the SYN
# crossed every hop and a reset came back, nothing listening on that port (the database restarting,
# failing over or stopped, a wrong port, a proxy or pooler in front of it down). An answer, not a wait:
# a saturated connector drops packets and the requests that cross it wait ("causing timeouts", Cloud
# Run's VPC connector page). Whether a connector's instances, or a VPC firewall rule that denies, ever
# answer a SYN with a reset is UNCONFIRMED (no page says either does), so connector_saturation reads
# refused dials as a doubt (it competes, never acted on alone), never as a rule-out. The drivers' words
# are those _NEVER_LEFT reads at loopback, at any other address (its comment cites each source): Go's
# net OpError, Node's exceptionWithHostPort, libpq 14+ and before, pgjdbc, asyncio's "[Errno 111]
# Connect call failed" (asyncpg), and the MySQL clients' 2003 with errno 111. A refusal at loopback
# never left the instance (never_left's), and a text that also says it waited (HikariCP's "request
# timed out after 30000ms" above a refused cause) is a wait, not this.
_REFUSED_DIAL = re.compile(
    r"\bdial tcp \S+:\d+: connect: connection refused"
    r"|\bconnect ECONNREFUSED \S+:\d+"
    r'|\bconnection to server at "[^"\n]+"[^\n]*?, port \d+ failed: Connection refused'
    r"|\bcould not connect to server: Connection refused\s+Is the server running on host"
    r"|\bConnection to \S+ refused\. "
    r"|\[Errno 111\] Connect call failed"
    r"|\bCan't connect to MySQL server on '[^'\n]+' \((?:111|\[Errno 111\] Connection refused)\)",
    re.IGNORECASE)


def refused_dial(text: str) -> bool:
    """Whether a database error's text says only that a dial to an address other than loopback was
    refused at once (_REFUSED_DIAL), with no word of a wait in it."""
    low = text.lower()
    return (("refused" in low or "errno 111" in low or "(111)" in low) and _REFUSED_DIAL.search(text) is not None
            and _WAITED.search(text) is None and not never_left(text))


def closed_connection(text: str) -> bool:
    """Whether a database error's text says only that an open connection was found closed or broken
    (CLOSED_CONNECTION_TEXTS), with no word of a wait and no failed dial in it."""
    low = text.lower()
    return (any(word in low for word in _CLOSED_WORDS) and _CLOSED_CONNECTION.search(text) is not None
            and _WAITED.search(text) is None and dial_failure(text) is None
            and ("initial communication packet" not in low or not greeting_lost(text)))


# MySQL Connector/J's link failure with nothing said of its cause. The driver builds its message in
# ExceptionFactory.createLinkFailureMessageBasedOnHeuristics: "Communications link failure"
# (LocalizedErrorMessages.properties, CommunicationsException.20) followed, when it knows them, by the
# packet timing ("The last packet sent successfully to the server was N milliseconds ago.",
# CommunicationsException.ServerPacketTimingInfo and its variants) and by the cause it wraps ("Caused by:
# java.net.SocketTimeoutException: connect timed out", "java.net.ConnectException: Connection refused")
# (mysql/mysql-connector-j src/main/core-impl/java/com/mysql/cj/exceptions/ExceptionFactory.java). Logged
# without any of those (a framework's one-line summary, a logger that drops the cause), the words are said
# for any end of a connection: a server restart or failover, its wait_timeout or a path's idle timeout
# closing a pooled connection, a refused or timed-out dial. Which of them the line was: not said.
_LINK_FAILURE = re.compile(r"\bCommunications link failure\b", re.IGNORECASE)
_LINK_FAILURE_CAUSE = re.compile(r"\blast packet\b|\bpackets? from the server\b|\brefused\b|\btimed out\b"
                                 r"|\btimeout\b|\bCaused by:", re.IGNORECASE)


def bare_link_failure(text: str) -> bool:
    """Whether a database error's text is Connector/J's "Communications link failure" with no cause said
    (_LINK_FAILURE_CAUSE: no packet timing, no wrapped exception, no refusal or timeout in its words): it
    says a connection ended, not that anything on the path waited."""
    # In any case, as every database needle here is matched (a lower-cased haystack, IGNORECASE confirmations): a
    # wrapper or a logger that upper- or lower-cases the driver's words leaves them the driver's, and its cause
    # (_LINK_FAILURE_CAUSE) is read without case too. A plain substring of the lower-cased text finds them first,
    # as cheaply as the other drivers' texts are passed over (most database errors are not Connector/J's).
    return ("communications link failure" in text.lower() and _LINK_FAILURE.search(text) is not None
            and _LINK_FAILURE_CAUSE.search(text) is None)


class NeverLeft:
    """Why a database error never left the service's own instance (`never_left`), in words a person acts
    on: the connection failed before any packet was sent toward the database, so neither the path to
    it (a connector, a firewall, a route) nor the database explains it, and a bigger connector changes
    nothing."""

    LOOPBACK = ("a connection to loopback refused: nothing listens on that port inside the instance (a Cloud SQL "
                "Auth Proxy or connector sidecar not running, crashed or not yet started, or listening on "
                "another port)")
    SOCKET = ("a Unix socket missing: no such file at that path inside the instance (the revision's Cloud SQL "
              "connection, which mounts /cloudsql/PROJECT:REGION:INSTANCE, not set, a socket path that names "
              "another instance or directory, or a proxy sidecar that never made it)")
    FILES = ("the process is out of file descriptors (too many open files, EMFILE): no socket could be made, "
             "a leak of files or connections in the application")


_LOOPBACK_HOST = r"(?:localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)"
# What each kind's words are, in the client stacks' own wording (the DB_ERROR_TEXTS rows cite the
# same formats for other addresses). Only a refusal is read at loopback: a proxy beside the application
# accepts the connection at once and dials the database itself, so a timeout, a reset or a closed
# connection there may have crossed the network behind it; a refusal says nothing listened. On a Unix
# socket only a missing file (ENOENT) is read: whether Cloud Run's own Cloud SQL connection refuses on
# its /cloudsql socket while the instance behind it is unreachable (stopped, failing over) is
# UNCONFIRMED (scenario cloudsql_alert_second_instance_other_project reads it so), so a refusal there
# may be the database's, and is read as before.
# - Go's net: OpError "dial tcp 127.0.0.1:5432: connect: connection refused", "dial unix
#   /cloudsql/p:r:i/.s.PGSQL.5432: connect: no such file or directory" (go/src/net/net.go,
#   OpError.Error; the syscall's strerror); a socket the process cannot make is "socket: too many open
#   files" (os.NewSyscallError("socket", ...), go/src/net/sock_posix.go).
# - Node's net: `${syscall} ${code} ${address}:${port}` for TCP and `${syscall} ${code} ${path}` for a
#   pipe, "connect ECONNREFUSED 127.0.0.1:5432", "connect ENOENT /cloudsql/p:r:i/.s.PGSQL.5432"
#   (nodejs/node lib/internal/errors.js, exceptionWithHostPort and uvException); libuv's EMFILE.
# - libpq 14+: 'connection to server at "127.0.0.1", port 5432 failed: Connection refused' and
#   'connection to server on socket "/cloudsql/p:r:i/.s.PGSQL.5432" failed: No such file or directory'
#   (postgres/postgres src/interfaces/libpq/fe-connect.c); before 14, "could not connect to server:
#   Connection refused" with "Is the server running on host "localhost" (127.0.0.1) ..." or "... on Unix
#   domain socket ..." after it; and "could not create socket: Too many open files" (the same file,
#   libpq_gettext("could not create socket: %s\n")).
# - pgjdbc: "Connection to localhost:5432 refused." (ConnectionFactoryImpl, as DB_ERROR_TEXTS cites it).
# - asyncio (asyncpg): "[Errno 111] Connect call failed ('127.0.0.1', 5432)" (asyncio selector_events).
# - MySQL clients: 2003 "Can't connect to MySQL server on '127.0.0.1' (111)" (PyMySQL: "([Errno 111]
#   Connection refused)"), 2002 "Can't connect to local MySQL server through socket '...' (2)" (errno 2,
#   ENOENT) and PDO's "SQLSTATE[HY000] [2002] No such file or directory" for the same socket; 2004
#   "Can't create TCP/IP socket (24)" (errno 24, EMFILE) (MySQL "Client Error Message Reference";
#   PyMySQL pymysql/connections.py; UNCONFIRMED word for word in a Cloud SQL thread).
# - The JDK's "java.net.SocketException: Too many open files", Python's "OSError: [Errno 24] Too many
#   open files", Rust's "Too many open files (os error 24)": EMFILE's strerror (POSIX).
# The database server's own words for its own file limit (PostgreSQL's "out of file descriptors: Too many
# open files; release and retry", src/backend/storage/file/fd.c; MySQL's "(errno: 24 - Too many open
# files)") are the server's answer, which crossed every hop: never read as this.
_NEVER_LEFT = (
    (NeverLeft.LOOPBACK, re.compile(
        rf"\bdial tcp {_LOOPBACK_HOST}:\d+: connect: connection refused"
        rf"|\bconnect ECONNREFUSED {_LOOPBACK_HOST}:\d+"
        rf'|\bconnection to server at "{_LOOPBACK_HOST}"[^\n]*?, port \d+ failed: Connection refused'
        rf'|\bcould not connect to server: Connection refused\s+Is the server running on host "{_LOOPBACK_HOST}"'
        rf"|\bConnection to {_LOOPBACK_HOST}:\d+ refused\b"
        rf"|\bConnect call failed \('{_LOOPBACK_HOST}', \d+"
        rf"|\bCan't connect to MySQL server on '{_LOOPBACK_HOST}(?::\d+)?' \((?:111|\[Errno 111\])",
        re.IGNORECASE)),
    (NeverLeft.SOCKET, re.compile(
        r'\bconnection to server on socket "[^"\n]+" failed: No such file or directory'
        r"|\bcould not connect to server: No such file or directory\s+Is the server running locally and accepting"
        r"\s+connections on Unix domain socket"
        r"|\bdial unix \S+: connect: no such file or directory"
        r"|\bconnect ENOENT /\S+"
        r"|\bCan't connect to local MySQL server through socket '[^'\n]+' \(2\)"
        r"|SQLSTATE\[HY000\] \[2002\] No such file or directory",
        re.IGNORECASE)),
    (NeverLeft.FILES, re.compile(r"\btoo many open files\b|\bEMFILE\b|\bCan't create TCP/IP socket \(24\)",
                                 re.IGNORECASE)),
)
_SERVER_FILE_LIMIT = re.compile(r"out of file descriptors|errno: 24\b", re.IGNORECASE)
# A word every _NEVER_LEFT match holds, lower-cased: a text with none is ruled out before any regex.
_NEVER_LEFT_WORDS = ("refused", "no such file", "too many open files", "emfile", "enoent", "through socket", "(24)")


def never_left(text: str) -> str:
    """Why a database error's text shows the connection failed inside the instance (a NeverLeft kind),
    or "" when it does not: a refused connection to loopback, a Unix socket missing, no file
    descriptor left for a socket (_NEVER_LEFT). Asked only of the texts of errors of reaching the
    database (per_text: each distinct text once)."""
    low = text.lower()
    if not any(word in low for word in _NEVER_LEFT_WORDS):
        return ""
    for kind, pattern in _NEVER_LEFT:
        if pattern.search(text) is not None and not (kind is NeverLeft.FILES and _SERVER_FILE_LIMIT.search(text)):
            return kind
    return ""


def is_pooler_wait(text: str) -> bool:
    """Whether a DB_POOL_WAIT text is PgBouncer's query_wait_timeout (the pooler's pool, shared by
    every revision), not the application's own pool."""
    return _POOLER_WAIT_TEXT.search(text) is not None

# The application gave up waiting for a connection from its OWN pool: every connection the pool may
# hold was checked out by its other requests (or, for some pools, still being opened) for as long as
# it waits. That happens when the database or the path to it is slow (connections held long, or slow
# to open) and equally when the pool is simply too small for the requests an instance runs at once
# (a deploy that lowered the pool size or raised concurrency). Nothing answered and nothing was
# refused: not DB_CONNECTION, so database_unreachable does not count it and it is never a refusal;
# it says requests wait on the database path, and the rules cite it as that (context). When a pool
# gives up because opening connections failed, the driver's own error is matched by its own row of
# DB_ERROR_TEXTS where it is logged (HikariCP attaches it as the cause: a stack trace in one entry).
# Deliberately not here: pgx's pool (pgxpool.Pool.Acquire returns puddle's error unwrapped, so a
# wait that runs out is a bare "context deadline exceeded", which says nothing about a pool), and
# node-postgres's "Connection terminated due to connection timeout" (a new client's own dial that
# timed out, pg-pool newClient, not a wait for a slot).
POOL_WAIT_TEXTS: tuple[DbErrorText, ...] = (
    # sqlalchemy/pool/impl.py, QueuePool._do_get: raised only when size + max_overflow connections are
    # all checked out and none came back within pool_timeout; a failed connect raises the driver's error.
    DbErrorText("SQLAlchemy QueuePool", r"QueuePool limit of size \d+ overflow \d+ reached",
                "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed "
                "out, timeout 30.00", "sqlalchemy/pool/impl.py QueuePool._do_get (TimeoutError, code 3o7r)"),
    # HikariPool.getConnection -> createTimeoutException: connectionBag.borrow timed out after
    # connectionTimeout; the last failure to open a connection, if any, is attached as its cause. The
    # words begin with the pool's name, `poolName + " - Connection is not available, request timed out
    # after " + elapsedMillis(startTime) + "ms"` (brettwooldridge/HikariCP
    # src/main/java/com/zaxxer/hikari/pool/HikariPool.java): "HikariPool-N" only by default, so any name
    # is read (a Spring Boot spring.datasource.hikari.pool-name, a framework's datasource name). Since
    # HikariCP 5.1 the counts follow, "ms (total=10, active=10, idle=0, waiting=42)" (the version
    # UNCONFIRMED against its changelog).
    DbErrorText("Java: HikariCP", r" - Connection is not available, request timed out after \d+ ?ms\b",
                "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request "
                "timed out after 30000ms.", "brettwooldridge/HikariCP HikariPool.createTimeoutException; its "
                "issues #1111, #1905"),
    # Hibernate's wrapper of whatever the DataSource's getConnection threw (most often the pool's
    # timeout above; a refused or failed dial is logged as its cause, matched by that cause's row).
    DbErrorText("Java: Hibernate / Spring", r"Unable to acquire JDBC Connection",
                "org.hibernate.exception.JDBCConnectionException: Unable to acquire JDBC Connection",
                "Hibernate's JDBCConnectionException message on a failed getConnection; "
                "GoogleCloudPlatform/cloud-sql-jdbc-socket-factory issue #964"),
    # knex client.acquireConnection: acquireConnectionTimeout spans the pool's whole acquire, a wait
    # for a slot or a new connection being opened.
    DbErrorText("Node: knex pool", r"Knex: Timeout acquiring a connection",
                "KnexTimeoutError: Knex: Timeout acquiring a connection. The pool is probably full.",
                "knex client.acquireConnection (KnexTimeoutError); UNCONFIRMED in a Cloud SQL thread"),
    # Prisma's query engine, P2024: no connection of its pool (connection_limit) came free within
    # pool_timeout; an engine that cannot reach the database says P1001 instead.
    DbErrorText("Node: Prisma (P2024)", r"Timed out fetching a new connection from the connection pool",
                "PrismaClientKnownRequestError: Timed out fetching a new connection from the connection pool. More "
                "info: http://pris.ly/d/connection-pool (Current connection pool timeout: 10, connection limit: 9)",
                "prisma/prisma-engines libs/user-facing-errors/src/query_engine/mod.rs (PoolTimeout, P2024)"),
    # ActiveRecord's ConnectionPool::Queue#wait_poll: every pooled connection was in use for the
    # whole checkout_timeout.
    DbErrorText("Ruby: Rails ActiveRecord", r"could not obtain a connection from the pool within [\d.]+ seconds",
                "ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the pool within 5.000 "
                "seconds (waited 5.001 seconds); all pooled connections were in use",
                "rails/rails activerecord/lib/active_record/connection_adapters/abstract/connection_pool/queue.rb "
                "(wait_poll, ConnectionTimeoutError)"),
    # psycopg_pool's WaitingClient.wait: no connection handed over within the getconn timeout (a slot,
    # or a connection the pool was still opening).
    DbErrorText("Python: psycopg_pool", r"couldn't get a connection after [\d.]+ sec",
                "psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec",
                "psycopg/psycopg psycopg_pool/psycopg_pool/pool.py WaitingClient.wait (PoolTimeout)"),
    # sqlx (Rust): Pool::acquire outlasted acquire_timeout, "due to connections not becoming available
    # or because another task encountered too many errors while trying to open a new connection"
    # (sqlx-core/src/error.rs, Error::PoolTimedOut): a slot, or connections being opened.
    DbErrorText("Rust: sqlx pool", r"pool timed out while waiting for an open connection",
                "error returned from database: pool timed out while waiting for an open connection",
                "launchbadge/sqlx sqlx-core/src/error.rs (Error::PoolTimedOut) and sqlx-core/src/pool/inner.rs "
                "(acquire)"),
    # Npgsql's pool: no connector came free within the connection string's Timeout (PoolingDataSource.Get).
    DbErrorText("Npgsql (.NET) pool", r"The connection pool has been exhausted, either raise 'Max Pool Size'",
                "Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise 'Max Pool "
                "Size' (currently 20) or 'Timeout' (currently 15 seconds) in your connection string.",
                "npgsql/npgsql src/Npgsql/PoolingDataSource.cs (Get: the pool's timeout)"),
    # SqlClient's pool: no pooled connection came free within the Connect Timeout (its resource
    # ADP_PooledOpenTimeout).
    DbErrorText("SQL Server: SqlClient pool",
                r"The timeout period elapsed prior to obtaining a connection from the pool",
                "System.InvalidOperationException: Timeout expired.  The timeout period elapsed prior to obtaining a "
                "connection from the pool.  This may have occurred because all pooled connections were in use and max "
                "pool size was reached.",
                "SqlClient's ADP_PooledOpenTimeout message; UNCONFIRMED in a Cloud SQL thread"),
    # Sequelize's pool (sequelize-pool): acquire outlasted pool.acquire, a slot or a connection being
    # opened (packages/core/src/sequelize-typescript.ts: timeoutErrorClass ConnectionAcquireTimeoutError).
    DbErrorText("Node: Sequelize pool", r"\bSequelizeConnectionAcquireTimeoutError\b",
                "SequelizeConnectionAcquireTimeoutError: Operation timeout",
                "sequelize/sequelize packages/core/src/sequelize-typescript.ts (the pool's timeoutErrorClass) and "
                "packages/core/src/errors/connection/connection-acquire-timeout-error.ts"),
    # PgBouncer's query_wait_timeout: a client waited longer than query_wait_timeout (default 120 s) for a
    # server connection of its pool, and PgBouncer closed it with that word as its error (src/janitor.c
    # pool_client_maint: disconnect_client(client, true, "query_wait_timeout"); src/objects.c: notify=true
    # "send the reason message as an error to the client"; PgBouncer's config docs: "Maximum time queries
    # are allowed to spend waiting for execution. If the query is not assigned to a server during that
    # time, the client is disconnected"). pgjdbc prints "FATAL: query_wait_timeout", psycopg2 the word
    # and then "server closed the connection unexpectedly", node-postgres "error: query_wait_timeout".
    # The wait is inside the pooler, for the pool's own server connections: every one busy (slow or
    # blocked queries, a default_pool_size too small for the clients) or slow to open. A sidecar
    # PgBouncer on Cloud Run opens them through the connector, so a saturated connector can cause it;
    # one on a VM in the VPC opens them past it, and the connector cannot. Where PgBouncer runs is not
    # in the evidence: it is read as a pool wait, never a refusal (the pooler answered, but only that it
    # could not get the database in time) nor an error of reaching the database that a connector scale-up
    # answers; a person weighs it. A config line naming the setting ("query_wait_timeout = 120") is not it.
    DbErrorText("PgBouncer (query_wait_timeout)", POOLER_WAIT,
                "org.postgresql.util.PSQLException: FATAL: query_wait_timeout",
                "pgbouncer/pgbouncer src/janitor.c (pool_client_maint) and src/objects.c (disconnect_client_sqlstate); "
                "PgBouncer's configuration docs (query_wait_timeout); public reports of it (\"ProtocolViolation: "
                "query_wait_timeout\" from asyncpg; repository and path UNCONFIRMED); UNCONFIRMED in a Cloud SQL "
                "thread"),
    # MySqlConnector's pool: no session came free within Connect Timeout and the pool was empty (every
    # session checked out): MySqlConnection.CreateSessionAsync adds " All pooled connections are in use."
    DbErrorText(".NET: MySqlConnector pool", r"Connect Timeout expired(?=\. All pooled connections are in use)",
                "MySqlConnector.MySqlException (0x80004005): Connect Timeout expired. All pooled connections are in "
                "use.", "mysql-net/MySqlConnector src/MySqlConnector/MySqlConnection.cs (CreateSessionAsync: "
                "messageSuffix when pool.IsEmpty)"),
    # Tomcat JDBC's ConnectionPool.borrowConnection: no connection came free (and none could be
    # opened, the pool at maxActive) within maxWait; "[thread] Timeout: Pool empty. Unable to fetch a
    # connection in N seconds, none available[size:..; busy:..; idle:..; lastwait:..]." (apache/tomcat
    # modules/jdbc-pool/src/main/java/org/apache/tomcat/jdbc/pool/ConnectionPool.java).
    DbErrorText("Java: Tomcat JDBC pool", r"Timeout: Pool empty\. Unable to fetch a connection in \d+ seconds",
                "org.apache.tomcat.jdbc.pool.PoolExhaustedException: [http-nio-8080-exec-5] Timeout: Pool empty. "
                "Unable to fetch a connection in 30 seconds, none available[size:100; busy:100; idle:0; "
                "lastwait:30000].", "apache/tomcat modules/jdbc-pool/src/main/java/org/apache/tomcat/jdbc/pool/"
                "ConnectionPool.java (borrowConnection: PoolExhaustedException at maxWait)"),
    # Apache DBCP (1 and 2): PoolingDataSource.getConnection wraps the object pool's NoSuchElementException,
    # "Cannot get a connection, pool error " + its message; commons-pool's borrowObject says "Timeout
    # waiting for idle object" when maxWait passed with every object borrowed (apache/commons-dbcp
    # src/main/java/org/apache/commons/dbcp2/PoolingDataSource.java; apache/commons-pool
    # GenericObjectPool.borrowObject, which newer versions follow with ", borrowMaxWaitDuration=..."). The
    # object pool's words alone are not read: Jedis borrows its Redis connections from it too.
    DbErrorText("Java: Apache DBCP pool", r"Cannot get a connection, pool error:? Timeout waiting for idle object",
                "java.sql.SQLException: Cannot get a connection, pool error Timeout waiting for idle object",
                "apache/commons-dbcp src/main/java/org/apache/commons/dbcp2/PoolingDataSource.java (getConnection) "
                "and apache/commons-pool GenericObjectPool.borrowObject"),
    # c3p0: a checkout outlasted checkoutTimeout, every pooled connection checked out (its resource
    # pool's TimeoutException, re-raised as this SQLException; vladmihalcea/flexy-pool
    # flexy-c3p0/.../C3P0PoolAdapter.java keeps the same words as its ACQUIRE_TIMEOUT_MESSAGE).
    DbErrorText("Java: c3p0 pool", r"An attempt by a client to checkout a Connection has timed out",
                "java.sql.SQLException: An attempt by a client to checkout a Connection has timed out.",
                "swaldman/c3p0 src/java/com/mchange/v2/c3p0/impl/C3P0PooledConnectionPool.java (the checkout's "
                "timeout; the method UNCONFIRMED); vladmihalcea/flexy-pool C3P0PoolAdapter.ACQUIRE_TIMEOUT_MESSAGE"),
    # Agroal (Quarkus, WildFly, Keycloak): ConnectionPool.handlerFromSharedCache waited acquisitionTimeout
    # for a connection of the pool, a free one or one being opened (agroal/agroal
    # agroal-pool/src/main/java/io/agroal/pool/ConnectionPool.java).
    DbErrorText("Java: Agroal pool", r"Acquisition timeout while waiting for new connection",
                "java.sql.SQLException: Acquisition timeout while waiting for new connection",
                "agroal/agroal agroal-pool/src/main/java/io/agroal/pool/ConnectionPool.java (handlerFromSharedCache)"),
    # Elixir's DBConnection (Ecto, Postgrex, MyXQL): the pool's queue dropped a checkout that waited past
    # queue_target/queue_interval, "This means requests are coming in and your connection pool cannot
    # serve them fast enough" (elixir-ecto/db_connection lib/db_connection/connection_pool.ex, drop/2).
    DbErrorText("Elixir: DBConnection pool", r"connection not available and request was dropped from queue after \d+ ?ms",
                "** (DBConnection.ConnectionError) connection not available and request was dropped from queue "
                "after 2000ms.", "elixir-ecto/db_connection lib/db_connection/connection_pool.ex (drop/2, "
                ":queue_timeout)"),
    # Its sibling: a checkout with `queue: false` that finds the pool :busy (no connection checked in)
    # is answered at once, "connection not available and queuing is disabled" (the same file,
    # handle_info({:db_connection, from, {:checkout, ...}}, {:busy, ...})): the same pool with no
    # connection to give, without the wait.
    DbErrorText("Elixir: DBConnection pool, queuing disabled", r"connection not available and queuing is disabled",
                "** (DBConnection.ConnectionError) connection not available and queuing is disabled",
                "elixir-ecto/db_connection lib/db_connection/connection_pool.ex (handle_info on a :busy pool, "
                "queue: false)"),
    # r2dbc-pool's acquire outlasted maxAcquireTime, a pooled connection or one being opened:
    # `String.format("Connection acquisition timed out after %dms", maxAcquireTime.toMillis())` raised as
    # R2dbcTimeoutException (r2dbc/r2dbc-pool src/main/java/io/r2dbc/pool/ConnectionPool.java). Its
    # "Validation timed out after %dms" is a check on a connection it holds, not a wait.
    DbErrorText("Java: r2dbc-pool", r"\bConnection acquisition timed out after \d+ ?ms\b",
                "io.r2dbc.spi.R2dbcTimeoutException: Connection acquisition timed out after 5000ms",
                "r2dbc/r2dbc-pool src/main/java/io/r2dbc/pool/ConnectionPool.java (the acquire's timeoutMessage)"),
    # Ruby's Sequel: no connection came free (or could be made, the pool at max_connections) within
    # pool_timeout, `raise ::Sequel::PoolTimeout, "timeout: #{@timeout}, elapsed: #{elapsed}..."`
    # (jeremyevans/sequel lib/sequel/connection_pool/threaded.rb and timed_queue.rb). Its words name no
    # pool; the class does.
    DbErrorText("Ruby: Sequel pool", r"\bSequel::PoolTimeout\b",
                "Sequel::PoolTimeout: timeout: 5.0, elapsed: 5.002",
                "jeremyevans/sequel lib/sequel/connection_pool/threaded.rb (raise_pool_timeout) and timed_queue.rb"),
    # pg-pool Pool.connect: set only on a request queued because the pool is full (or an idle client
    # is about to be handed out), when connectionTimeoutMillis passes before a client is released.
    DbErrorText("Node: node-postgres pool (pg-pool)", r"timeout exceeded when trying to connect",
                "Error: timeout exceeded when trying to connect", "brianc/node-postgres packages/pg-pool/index.js "
                "Pool.connect (the queued request's timeout)"),
)

# How many connections one pool may hold, read from its own words where its timeout says (what a
# person multiplies by the instances at the connection limit): each as (the words, how the size is
# read from the groups). Rails, pg-pool, knex and the others say no size, and Go's database/sql says
# nothing at all (a wait at SetMaxOpenConns ends as the caller's "context deadline exceeded").
_POOL_SIZES: tuple[tuple[re.Pattern[str], Callable[[tuple[str, ...]], int]], ...] = (
    # SQLAlchemy: "QueuePool limit of size %d overflow %d reached" (sqlalchemy/sqlalchemy
    # lib/sqlalchemy/pool/impl.py, QueuePool._do_get): pool_size + max_overflow checked out.
    (re.compile(r"QueuePool limit of size (\d+) overflow (\d+) reached"), lambda g: int(g[0]) + int(g[1])),
    # HikariCP 5.1+: "(total=N, active=N, idle=N, waiting=N)", the connections the pool held at the
    # timeout (brettwooldridge/HikariCP src/main/java/com/zaxxer/hikari/pool/HikariPool.java).
    (re.compile(r"Connection is not available, request timed out after \d+ ?ms \(total=(\d+),"),
     lambda g: int(g[0])),
    # Prisma's P2024: "(Current connection pool timeout: {timeout}, connection limit: {connection_limit})"
    # (prisma/prisma-engines libs/user-facing-errors/src/query_engine/mod.rs, PoolTimeout).
    (re.compile(r"Timed out fetching a new connection from the connection pool\b[^\n]*?connection limit: (\d+)"),
     lambda g: int(g[0])),
    # Tomcat JDBC: "none available[size:N; busy:N; ...]", the connections the pool held at the timeout,
    # every one busy (apache/tomcat modules/jdbc-pool/.../pool/ConnectionPool.java, borrowConnection).
    (re.compile(r"Unable to fetch a connection in \d+ seconds, none available\[size:(\d+);"), lambda g: int(g[0])),
    # Npgsql: "either raise 'Max Pool Size' (currently {max})" (npgsql/npgsql src/Npgsql/PoolingDataSource.cs).
    (re.compile(r"either raise 'Max Pool Size' \(currently (\d+)\)"), lambda g: int(g[0])),
)


def pool_size(text: str) -> tuple[int, str] | None:
    """(the connections one pool may hold, the words that say so) from a pool wait's own text
    (_POOL_SIZES), or None where the text names no size."""
    for words, size in _POOL_SIZES:
        found = words.search(text)
        if found:
            return size(found.groups()), found.group(0)
    return None


# The application's own HTTP client giving up on a named host, each pattern as (before the host, the
# host, after it): UPSTREAM_TIMEOUT matches them whole, UPSTREAM_HOST reads the host out of the same text.
_UPSTREAM_TIMEOUTS: tuple[tuple[str, str, str], ...] = (
    # urllib3 (and Python requests over it): HTTPConnectionPool._raise_timeout raises
    # ReadTimeoutError(self, url, f"Read timed out. (read timeout={timeout_value})"), shown as
    # "HTTPSConnectionPool(host='H', port=P): Read timed out. (read timeout=30)"; a connect that
    # times out ends in "Max retries exceeded with url: ... (Caused by ConnectTimeoutError(...))"
    # (urllib3/urllib3 src/urllib3/connectionpool.py). One row a class: as "HTTPS?ConnectionPool" the
    # row's anchor, and so its Logging needle, began inside a word ("connectionpool(host='", a word the
    # line holds only as part of "HTTPSConnectionPool"; stdout_needles).
    *((rf"{pool}\(host='", r"[^']+", r"', port=\d+\): (?:Read timed out|Max retries exceeded with url: "
                                     r"[^\n]*?\(Caused by (?:ConnectTimeoutError|ReadTimeoutError))")
      for pool in ("HTTPSConnectionPool", "HTTPConnectionPool")),
    # Go's net/http client at its Timeout: `Get "https://H/...": context deadline exceeded
    # (Client.Timeout exceeded while awaiting headers)` (as projectdiscovery/httpx issue #1814 and
    # gwen001/github-endpoints issue #2 quote it; its `net/http: request canceled` form UNCONFIRMED in a
    # public log); the unquoted URL of Go before 1.14 is not read. The host is the URL's authority, port and all.
    (r'"https?://', r'[^/"\s]+', r'[^"\s]*": (?:context deadline exceeded|net/http: request canceled)[^\n]*?'
                                 r"\(Client\.Timeout exceeded"),
    # Node's fetch (undici) at its connect timeout: onConnectTimeout builds "Connect Timeout Error
    # (attempted address: HOST:PORT, timeout: Nms)", or with autoSelectFamily "(attempted
    # addresses: IP:PORT, IP:PORT, timeout: Nms)" naming the addresses it resolved (nodejs/undici
    # lib/core/connect.js).
    (r"Connect Timeout Error \(attempted address(?:es)?: ", r"[^)]*?", r", timeout: \d+ms\)"),
    # aiohttp's ClientSession._request at its connect timeout (ClientTimeout.connect: the pool wait and
    # the dial): `raise ConnectionTimeoutError(f"Connection timeout to host {url}")`, the request's whole
    # URL (aio-libs/aiohttp aiohttp/client.py; ConnectionTimeoutError, a ServerTimeoutError, since 3.10,
    # ServerTimeoutError with the same words before: aiohttp/client_exceptions.py; as logged, repositories
    # and paths UNCONFIRMED). The host is the URL's authority, port and all; an IPv6 literal keeps
    # its brackets (yarl writes it so). aiohttp's read timeout ("Timeout on reading data from socket")
    # names no host and is not read.
    # The Cloud SQL Python connector's own calls to sqladmin.googleapis.com are its refresh, not the
    # application's upstream (DB_ERROR_TEXTS, _PY_CONNECTOR_API_CONNECT_TIMED_OUT): left out here.
    # The "\b" (always true before the scheme) ends the literal run the anchor is taken from before the
    # scheme: run on, the row's Logging needle ended in "http", a word an https URL holds only cut
    # short (stdout_needles); so does "(?:https|http)", which re's parser folds to "http" + "s?".
    (r"Connection timeout to host \bhttps?://(?!" + _PY_CONNECTOR_API_CONNECT_TIMED_OUT[len("(?<=Connection timeout to host )https://"):] + ")",
     r"""[^/\s?#'"),;]+""", r""),
    # Spring's RestTemplate on an I/O error: ResourceAccessException("I/O error on " + method + " request
    # for \"" + url + "\": " + the cause's message) (spring-framework RestTemplate.
    # createResourceAccessException), the cause a java.net.SocketTimeoutException at the read timeout
    # ("Read timed out") or the connect timeout ("Connect timed out"; "connect timed out" before JDK 13),
    # or the kernel's ETIMEDOUT ("Connection timed out"). As logged (repositories and paths UNCONFIRMED):
    # "I/O error on GET request for \"https://postman-echo.com/delay/1\": Read timed out", "...": Connect
    # timed out", "...": Connection timed out: connect"; UNCONFIRMED in a Cloud Run log. One pattern a
    # method: the method's word keeps the anchor a phrase of Spring's own ("I/O error on GET request for
    # \""), not a generic "request for" (stdout_needles). The host is the URL's authority, port and all.
    # No \s in them: a class without it is matched as ASCII (_ascii_alike).
    *((rf'I/O error on {method} request for "https?://', r'[^/" \t\n]+',
       r'[^" \t\n]*": (?:Read timed out|Connect timed out|Connection timed out)')
      for method in ("GET", "POST", "PUT", "PATCH", "DELETE")),
)
# Which of _UPSTREAM_TIMEOUTS name their host as urllib3's pools do (no port), and which lists addresses.
_POOL_HOSTS, _ATTEMPTED = (0, 1), 3

# The one DB_CANCELLED text a read replica gives (above): its advice is the replica's, not a slow query's.
REPLICA_CONFLICT = r"canceling statement due to conflict with recovery"

# Cloud Run's system-log line when a signal ended the container's process, which then wrote no exit code:
# "Container terminated on signal 6." (WARNING in run.googleapis.com/varlog/system: chainguard-dev/
# terraform-infra-common modules/alerting/main.tf alerts on textPayload=~"^Container terminated on signal
# [^01]+\.$" in that log at that severity; signal 6 in permitio/docs pull request #258; signals 7 and 9
# in chainguard-dev/terraform-infra-common pull request #526). Google's own pages quote the line nowhere
# found: UNCONFIRMED. The signals of a crash are read (SIGABRT 6: an abort(), as Node's after V8's
# "JavaScript heap out of memory", UNCONFIRMED in Node's source; SIGSEGV 11, SIGBUS 7, SIGILL 4, SIGFPE
# 8); SIGINT 2, SIGKILL 9 and SIGTERM 15 are not, as exit(130), exit(137) and exit(143) are not
# (STARTUP_FAILURE): they are how an instance is asked to stop, Cloud Run's SIGTERM at shutdown and its
# SIGKILL after the grace period ("If the container does not exit by then, a SIGKILL signal ... will be
# sent", Google Cloud blog "Graceful shutdowns on Cloud Run: Deep dive"). A SIGKILL is also the kernel's
# over a memory limit; Cloud Run's "Memory limit of N MiB exceeded" beside it is then read as that sign
# (MEMORY_LIMIT), and alone a 9 says neither.
CRASH_SIGNAL = r"Container terminated on signal (?!(?:2|9|15)\.)(?:[0-9]+)\."
# Cloud Run's system-log line when the container's process exits with a code of its own (LogSignal.STARTUP_FAILURE's
# comment cites it): not 0, 130, 137 nor 143, the codes of an instance asked to stop.
CRASH_EXIT = r"Container called exit\((?!(?:0|130|137|143)\))[0-9]+\)"


_PATTERNS: dict[LogSignal, tuple[str, ...]] = {
    LogSignal.DB_CONNECTION: tuple(dict.fromkeys(t.pattern for t in DB_ERROR_TEXTS)),
    LogSignal.DB_REFUSED: tuple(dict.fromkeys(t.pattern for t in DB_ERROR_TEXTS if t.refusal)),
    LogSignal.DB_POOL_WAIT: tuple(dict.fromkeys(t.pattern for t in POOL_WAIT_TEXTS)),
    LogSignal.CONNECTOR_503: (
        r"connection to the instance had an error",
    ),
    LogSignal.REQUEST_TIMEOUT: (
        r"reached the maximum request timeout",
    ),
    LogSignal.NO_INSTANCE: (
        r"there was no available instance",
    ),
    LogSignal.STARTUP_FAILURE: (
        r"STARTUP (TCP|HTTP|GRPC) probe failed",
        r"Container failed to start",
        r"failed to start and listen on the port",
        r"Failed to start and then listen on the port",
        r"instance failed the readiness check",
        r"could not start successfully",
        # Cloud Run's system log line when the container's process ends: "Container called exit(1)."
        # (logged at WARNING beside the app's own error, the startup probe's failure after it or not:
        # public incident notes, repositories and paths UNCONFIRMED; the exact
        # conditions under which the probe line follows are UNCONFIRMED). Not 0, 130, 137 nor 143: an
        # instance shut down at scale-in exits too, with 0, or 128+N when the signal that asked it to
        # stop ended it (SIGINT, SIGKILL, SIGTERM: the shells' convention), which says no start failed.
        CRASH_EXIT,
        # The same end when a crash's signal ended the process, which wrote no exit code (CRASH_SIGNAL).
        CRASH_SIGNAL,
    ),
    # Cloud Run's system log line when it ends an instance over its memory limit: "Memory limit of 512
    # MiB exceeded with 524 MiB used." (the requests in flight end as 503s; as dart-lang/pub-dev issue
    # #9554 quotes it, "Memory limit of 512 MiB exceeded with 516 MiB used.", and SkyTruth/cerulean-cloud
    # issue #90, "Memory limit of 5120 MiB exceeded with 5261 MiB used."). Its older wording writes the
    # units "M", no space: "Memory limit of 512M exceeded with 526M used. Consider increasing the memory
    # limit, see https://cloud.google.com/run/docs/configuring/memory-limits" (googleapis/repo-automation-bots
    # issue #2418, 2021) and "Memory limit of 953M exceeded with 967M used." (the same repository, issue
    # #3105, 2022). Both are read, exactly so: an application's own "512MB" or "512 MiB reached" is not
    # Cloud Run's line. A limit written in G or GiB is in no line found (a 5 GiB limit is "5120 MiB" above):
    # UNCONFIRMED, so not read.
    LogSignal.MEMORY_LIMIT: (
        r"Memory limit of \d+(?: MiB|M) exceeded",
    ),
    # Cloud Run's system-log line when it shuts an instance down after its liveness probe failed:
    # 'LIVENESS HTTP probe failed 3 times consecutively for container "agent" on port 8080 path "/livez".
    # The instance has been shut down.' (as public incident notes quote it, at ERROR in
    # run.googleapis.com/varlog/system; their repositories and paths UNCONFIRMED, and the line is not on
    # Google's pages). Liveness probes "determine whether to restart a container", "such as catching a
    # deadlock where a service is running, but is unable to make progress" (Cloud Run, "Configure
    # container health checks for services"): an instance that stopped answering its own probe. The
    # TCP and gRPC kinds are read by the startup probe's forms ("STARTUP TCP probe failed 1 time
    # consecutively ..."), UNCONFIRMED for liveness. The words up to "for container" are read, so another
    # program's own "liveness http probe failed for HOST" is not Cloud Run's line.
    LogSignal.LIVENESS_SHUTDOWN: (
        r"LIVENESS (?:TCP|HTTP|GRPC) probe failed \d+ times? consecutively for container",
    ),
    # The application's own server ended a worker: gunicorn's arbiter found one that had not notified
    # it within --timeout (murder_workers: self.log.critical("WORKER TIMEOUT (pid:%s)", pid), then
    # SIGABRT, then SIGKILL), or reaped one a SIGKILL ended (reap_workers: "Worker (pid:{}) was sent
    # {}!" and, for SIGKILL, " Perhaps out of memory?", logged as an error): benoitc/gunicorn
    # gunicorn/arbiter.py. Either says a worker was stuck (or out of memory), not on what; its
    # request ends without an answer. uvicorn and hypercorn have no per-request worker timeout to
    # log (UNCONFIRMED beyond their settings pages: uvicorn's --timeout-keep-alive and
    # --timeout-graceful-shutdown end idle or draining connections, not a stuck request).
    # The application's own framework timed a request out, and answers it 503 (not Cloud Run, not a
    # connector). Spring MVC's AsyncRequestTimeoutException: "By default the exception will be handled
    # as a 503 error" (getStatusCode() returns HttpStatus.SERVICE_UNAVAILABLE; spring-projects/spring-framework
    # spring-web/src/main/java/org/springframework/web/context/request/async/AsyncRequestTimeoutException.java),
    # logged by DefaultHandlerExceptionResolver as "Resolved [org.springframework...AsyncRequestTimeoutException]"
    # at WARN (its constructor sets its warn log category, spring-webmvc/src/main/java/org/springframework/
    # web/servlet/mvc/support/DefaultHandlerExceptionResolver.java; the words are buildLogMessage's, "Resolved
    # [" + LogFormatUtils.formatValue(ex, -1, true) + "]", spring-webmvc/src/main/java/org/springframework/
    # web/servlet/handler/AbstractHandlerExceptionResolver.java; Spring Boot logs WARN by default, its
    # "Logging" reference page). An application's own @ExceptionHandler for it logs what it chooses. Go's http.TimeoutHandler answers 503 Service Unavailable with its own body, and
    # the handler's later writes return ErrHandlerTimeout, errors.New("http: Handler timeout")
    # (golang/go src/net/http/server.go): in the logs only when the application logs that error.
    # ASP.NET Core's request timeouts middleware answers 504 by default and Envoy's (ESPv2's)
    # "upstream request timeout" is a 504 too (both UNCONFIRMED against their sources): 504s are
    # read as a hang already, so neither is listed here.
    LogSignal.APP_TIMEOUT_503: (
        r"\bAsyncRequestTimeoutException\b",
        r"\bhttp: Handler timeout\b",
    ),
    # Puma's cluster ends a worker that did not check in within worker_timeout (60 s by default): "! Terminating
    # timed out worker: PID" in older releases, "! Terminating timed out worker (worker failed to check in within N
    # seconds): PID" (or "(Worker N failed to check in ...)") in newer ones (puma/puma lib/puma/cluster.rb,
    # timeout_workers; its integration tests read the same words). "... failed to boot within ..." is a worker
    # that never started, not one stuck on a request: left out. Other servers checked and left out: uvicorn and
    # hypercorn time no request out (above); Node's http server answers a request it did not receive whole
    # within requestTimeout 408 through its clientError handler (nodejs/node lib/_http_server.js,
    # ERR_HTTP_REQUEST_TIMEOUT), no worker and no 503, and logs nothing itself; rack-timeout raises
    # Rack::Timeout::RequestTimeoutException inside the request ("Request ran for longer than Nms", as
    # zombocom/rack_timeout_demos README prints it), a framework's own timeout whose answer's code is
    # UNCONFIRMED: not read as a worker's.
    LogSignal.WORKER_TIMEOUT: (
        r"\bWORKER TIMEOUT \(pid:\d+\)",
        r"\bWorker \(pid:\d+\) was sent SIGKILL! Perhaps out of memory\?",
        r"! Terminating timed out worker(?: \((?:worker|Worker \d+) failed to check in within \d+ seconds\))?: \d+",
    ),
    # The application's HTTP client raising on a 5xx answer from a `run.app` URL, another Cloud Run
    # service's (the deterministic https://SERVICE-PROJECT_NUMBER.REGION.run.app or the legacy
    # https://SERVICE-HASH-REGION.a.run.app): Python requests' raise_for_status, "503 Server Error:
    # Service Unavailable for url: https://..." (requests/models.py, Response.raise_for_status), and
    # Spring WebClient's WebClientResponseException, "503 Service Unavailable from GET https://..."
    # (as logged in public code, repositories and paths UNCONFIRMED; the class's message
    # format is UNCONFIRMED against its source); httpx's HTTPStatusError, "Server error '503 Service
    # Unavailable' for url 'https://...'" (httpx/_models.py, Response.raise_for_status); aiohttp's
    # ClientResponseError, "503, message='Service Unavailable', url=URL('https://...')" (its str,
    # aiohttp/client_exceptions.py; newer releases print the URL as a plain quoted string: both read).
    # Each names the URL it called in the same words, so the host is read from the line (a DNS name's
    # letters, digits, dots and hyphens: matched alike as ASCII). Other clients
    # (axios, .NET's HttpClient, a Go program's own wording) quote no URL of their own, and are not read.
    LogSignal.DOWNSTREAM_5XX: (
        r"\b5\d\d Server Error: [^\n]*? for url: https?://[^/\s]+\.run\.app",
        # WebClient's words, one alternative a method: its anchor (the longest literal run, " from GET http") is
        # the needle asked of Logging, where "(?:GET|POST|...)" left the host's ".run.app" the longest: a
        # needle every successful call a chatty service prints to another Cloud Run service holds.
        *(rf"\b5\d\d [A-Za-z ]+ from {method} https?://[a-z0-9.-]+\.run\.app"
          for method in ("GET", "POST", "PUT", "PATCH", "DELETE")),
        r"\bServer error '5\d\d [^'\n]*' for url 'https?://[a-z0-9.-]+\.run\.app",
        r"\b5\d\d, message=['\"][^'\"\n]*['\"], url=(?:URL\()?['\"]https?://[a-z0-9.-]+\.run\.app",
    ),
    LogSignal.SECRET_FAILURE: (
        r"secret_key_ref.*was not found",
        r"Secret projects/.+ was not found",
        r"Permission denied on secret",
        r"secretmanager\.secretAccessor",
        # A secret version disabled or destroyed under a revision that reads it: its new instances abort
        # (encoredev/encore issue #2202; Secret Manager's "Secret Version [.../versions/4] is in DESTROYED
        # state." as google-github-actions/get-secretmanager-secrets issue #268 quotes it; the DISABLED form
        # in a public incident note, repository and path UNCONFIRMED).
        r"Could not fetch secret",
        r"Secret Version \[[^\]]*\] is in (?:DISABLED|DESTROYED) state",
        # The same refusal in the words of Cloud Run's check of a revision's secret_key_ref, as its "was
        # not found" reads ("...secret_key_ref.name: Secret projects/N/secrets/S/versions/latest was not
        # found", mindset-ai/memex-ai pull request #520); the DISABLED / DESTROYED form of it is
        # UNCONFIRMED (the form operators quote, no public log of it found).
        r"Secret projects/\S+ is in (?:DISABLED|DESTROYED) state",
        # The application reading a secret itself with the client library (not a revision secret, so
        # Cloud Run's own startup check never sees it): IAM's PERMISSION_DENIED on the access call,
        # "Permission 'secretmanager.versions.access' denied for resource 'projects/P/secrets/S/versions/V'
        # (or it may not exist)" (gcloud and the client libraries; as googleapis/python-secret-manager issue
        # #389 quotes it from an application on Cloud Run, "PermissionDenied: 403 Permission
        # 'secretmanager.versions.access' denied for resource '...' (or it may not exist).")).
        r"Permission 'secretmanager\.versions\.access' denied",
    ),
    # The application's own HTTP client gave up on a named host (UPSTREAM_HOST below reads the host):
    # the request it serves waited on that dependency, not on the database.
    LogSignal.UPSTREAM_TIMEOUT: tuple(before + host + after for before, host, after in _UPSTREAM_TIMEOUTS),
    # A name lookup failed, in the resolver's or the runtime's own words, whatever the name was for (a
    # driver's own DNS texts, which say the name is the database's, are DB_ERROR_TEXTS rows): the
    # resolver did not answer in time (EAI_AGAIN) or answered that the name does not exist (NXDOMAIN).
    # Nothing was dialled. They prove no cause on their own (which name, whose resolver), and hold a
    # connector move back (connector_saturation). Asked for on stdout at any severity (STDOUT_SIGNALS).
    LogSignal.DNS_FAILURE: (
        # glibc's gai_strerror for EAI_AGAIN and EAI_NONAME, as Python's socket.gaierror ("[Errno -3]
        # Temporary failure in name resolution", "[Errno -2] Name or service not known"), libpq, curl,
        # Java's UnknownHostException on Linux and aiohttp's "Cannot connect to host H:443 ssl:default
        # [Temporary failure in name resolution]" print them (glibc sysdeps/posix/gai_strerror-strs.h).
        r"Temporary failure in name resolution",
        r"Name or service not known",
        # Node's dns.lookup errors: "getaddrinfo EAI_AGAIN host", "getaddrinfo ENOTFOUND host" (Node's
        # dns module docs, "Error codes": dns.TIMEOUT/ENOTFOUND; lib/internal/errors.js dnsException).
        # One pattern a code, and one a Go ending below: as alternatives of one pattern their common
        # start would be its anchor ("getaddrinfo e", "lookup "), a word cut short or a generic word
        # to ask Logging for (stdout_needles).
        r"getaddrinfo EAI_AGAIN\b",
        r"getaddrinfo ENOTFOUND\b",
        r"getaddrinfo EAI_NONAME\b",
        # Go's net.DNSError.Error(): "lookup NAME on SERVER: no such host" / "server misbehaving" /
        # a timeout (the Go standard library, net/net.go DNSError.Error; errNoSuchHost, errServerMisbehaving).
        # A name with a dot, as a host's is: "lookup table: i/o timeout" is no lookup of a name.
        r"\blookup [\w-]+\.[\w.-]+(?: on [\w.:\[\]%-]+)?: no such host",
        r"\blookup [\w-]+\.[\w.-]+(?: on [\w.:\[\]%-]+)?: server misbehaving",
        r"\blookup [\w-]+\.[\w.-]+(?: on [\w.:\[\]%-]+)?: [^\n]*?i/o timeout",
        # Java's java.net.UnknownHostException (InetAddress.getAllByName: the host, then the resolver's
        # words where the platform gives them).
        r"java\.net\.UnknownHostException: [\w\[]",
        # gRPC's c-ares resolver (the Google client libraries' channels): "DNS resolution failed for
        # NAME: C-ares status is not ARES_SUCCESS ..." (grpc src/core/.../dns_resolver_ares.cc; UNCONFIRMED
        # in a Cloud Run report).
        r"DNS resolution failed for [\w\[]",
    ),
    # The application's own call to a Google Cloud API (Firestore, Pub/Sub, Storage, Spanner, Secret
    # Manager...) through Google's client libraries ran out its deadline: the API, or the way to it, did
    # not answer in time. Their words are the client libraries' own and name Google's APIs only. Under
    # PRIVATE_RANGES_ONLY egress such a call leaves by Cloud Run's own internet egress, unless the API's
    # names resolve to a private endpoint (connector_saturation, _waits_on_google_api). Asked for on
    # stdout at any severity (STDOUT_SIGNALS): a retry loop's INFO line or a logger with no level prints
    # them as much as a traceback on stderr does. Their needles are the exceptions' full class names
    # (google.api_core.exceptions.DeadlineExceeded, ...RetryError, com.google.api.gax.rpc.
    # DeadlineExceededException), which no ordinary line holds.
    LogSignal.GOOGLE_API_WAIT: (
        # Python google-api-core: DeadlineExceeded maps gRPC's DEADLINE_EXCEEDED (code 504,
        # GoogleAPICallError.__str__ "{code} {message}": "504 Deadline Exceeded"; googleapis/python-api-core
        # google/api_core/exceptions.py); as logged, repositories and paths UNCONFIRMED.
        r"google\.api_core\.exceptions\.DeadlineExceeded: 504\b",
        # Python google-api-core's retry wrapper at its overall deadline (retry_target: "Deadline of
        # {:.1f}s exceeded while calling target function, last exception: ..."; googleapis/python-api-core
        # google/api_core/retry.py); as logged, repositories and paths UNCONFIRMED.
        r"google\.api_core\.exceptions\.RetryError: Deadline of [\d.]+s exceeded while calling",
        # ... and since its retry module was split (googleapis/python-api-core
        # google/api_core/retry/retry_base.py, build_retry_error: RetryError(f"Timeout {timeout_val_str}exceeded")
        # with "of {timeout_val:0.1f}s " when a timeout was set; RetryError.__str__ "{message}, last exception:
        # {cause}"; google-api-core 2.44.0 as installed here): "RetryError: Timeout of 60.0s exceeded, last
        # exception: 503 ...". The needle Logging is asked for ("...exceptions.RetryError") holds both.
        r"google\.api_core\.exceptions\.RetryError: Timeout (?:of [\d.]+s )?exceeded, last exception",
        # Java gax: DeadlineExceededException wrapping gRPC's DEADLINE_EXCEEDED ("...: io.grpc.
        # StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 9.96s"); as logged,
        # repositories and paths UNCONFIRMED.
        r"com\.google\.api\.gax\.rpc\.DeadlineExceededException\b",
        # Node's google-gax (Pub/Sub, Firestore, Spanner, Datastore... clients) at a call's total timeout:
        # "Total timeout of API google.pubsub.v1.Publisher exceeded 60000 milliseconds before any response
        # was received." (with "retrying error ..." before the last words when it retried; google-gax
        # (googleapis/gax-nodejs src/normalCalls/retries.ts; as logged, repositories and paths UNCONFIRMED).
        # It names the API.
        r"Total timeout of API google\.[\w.]+ exceeded \d+ milliseconds",
    ),
    # The database received the statement, ran it, and cancelled it at a timeout of its own, or at the
    # client's cancel request while it still ran it: it is slow or blocked, and the statement crossed the
    # path to it (a saturated path shows as the
    # client's own dial or read errors). Not an error of reaching it: database_unreachable does not
    # count these, connector_saturation takes them as the database's answers.
    LogSignal.DB_CANCELLED: (
        # PostgreSQL at statement_timeout: 57014 query_canceled ("psycopg2.errors.QueryCanceled: canceling
        # statement due to statement timeout", as conbench/conbench issue #1009 quotes it); at lock_timeout:
        # 55P03 lock_not_available, not 57014 (ProcessInterrupts: errcode(ERRCODE_LOCK_NOT_AVAILABLE),
        # errmsg("canceling statement due to lock timeout"), postgres src/backend/tcop/postgres.c; PostgreSQL
        # docs, Appendix A "PostgreSQL Error Codes": 55P03 lock_not_available). psycopg2 names the latter
        # LockNotAvailable; the lock_timeout form seen in no public Cloud SQL log, UNCONFIRMED there.
        r"canceling statement due to (?:statement|lock) timeout",
        # MySQL 3024 ER_QUERY_TIMEOUT at max_execution_time ("(3024, 'Query execution was interrupted,
        # maximum statement execution time exceeded')", as hhyo/Archery issue #2986 quotes MySQLdb's OperationalError).
        r"maximum statement execution time exceeded",
        # MySQL 1205 ER_LOCK_WAIT_TIMEOUT at innodb_lock_wait_timeout ("Error 1205: Lock wait timeout
        # exceeded; try restarting transaction", as beego/beego issue #4238 quotes it).
        r"Lock wait timeout exceeded; try restarting transaction",
        # A statement the client's own timer cancelled while the database still ran it. PostgreSQL 57014 at
        # the protocol's CancelRequest (ProcessInterrupts: errmsg("canceling statement due to user request"),
        # postgres src/backend/tcop/postgres.c): pgjdbc's setQueryTimeout, lib/pq's context ("We need to let
        # PostgreSQL know the query is cancelled", lib/pq conn.go watchCancel; "pq: " + the message, error.go),
        # a person's pg_cancel_backend. The server still ran the statement when the cancel came, or it would
        # have answered it: the statement crossed the path, and the database was slow or blocked.
        r"canceling statement due to user request",
        # MySQL 1317 ER_QUERY_INTERRUPTED, "Query execution was interrupted" (mysql/mysql-connector-j
        # MysqlErrorNumbers.java: "[70100] Query execution was interrupted"), the server's answer to a KILL QUERY
        # (a client's timeout, pt-kill, a person). 3024's longer words begin the same.
        r"\bQuery execution was interrupted\b",
        # MySQL Connector/J at its query timeout (setQueryTimeout): CancelQueryTaskImpl opens a new session to
        # the server and sends "KILL QUERY <id>", then marks the statement CANCELED_BY_TIMEOUT, and the statement
        # throws CJTimeoutException, "Statement cancelled due to timeout or client request"
        # (mysql/mysql-connector-j src/main/core-impl/java/com/mysql/cj/CancelQueryTaskImpl.java,
        # AbstractQuery.checkCancelTimeout; LocalizedErrorMessages.properties MySQLTimeoutException.0). Only under
        # the non-default queryTimeoutKillsConnection=true is the server not asked (UNCONFIRMED how often it is
        # set); a cancelled statement only ever holds an action back (escalated), never brings one.
        r"Statement cancelled due to timeout or client request",
        # A PostgreSQL read replica (hot standby) cancels a query that holds back the replay of the
        # primary's changes past max_standby_streaming_delay (40001, "User query might have needed to see
        # row versions that must be removed"; as hiero-ledger/hiero-mirror-node issue #11928 and onaio/onadata
        # issue #906 quote it): the
        # replica answered, so the statement crossed the path. REPLICA_CONFLICT names it in the advice.
        REPLICA_CONFLICT,
    ),
    # The database received the statement, ran it, and ended it with an error of its own that is not
    # a timeout: a deadlock it broke, or a resource limit of its own the statement ran into. Like a
    # cancelled statement, it crossed the path both ways (the client's error carries the server's
    # SQLSTATE), so a saturated connector explains none of them; a bigger connector changes none, and a
    # rollback only helps where the deploy brought the statement (bad_revision judges that by onset).
    LogSignal.DB_STATEMENT_FAILED: (
        # PostgreSQL 40P01 deadlock_detected: src/backend/storage/lmgr/deadlock.c DeadLockReport,
        # ereport(ERROR, errcode(ERRCODE_T_R_DEADLOCK_DETECTED), errmsg("deadlock detected"), with the
        # DETAIL "Process %d waits for %s; blocked by process %d."), as the drivers raise it: psycopg2's
        # "psycopg2.errors.DeadlockDetected: deadlock detected", asyncpg's "DeadlockDetectedError:
        # deadlock detected", pgjdbc's "PSQLException: ERROR: deadlock detected", Npgsql's "40P01:
        # deadlock detected", pgx's "ERROR: deadlock detected (SQLSTATE 40P01)", node-postgres' error
        # printed with its stack ("error: deadlock detected\n    at Parser.parseErrorMessage", pg-protocol
        # dist/parser.js). SQLAlchemy wraps the driver's class in parentheses, "(psycopg2.errors.
        # DeadlockDetected) deadlock detected" (as logged; their repositories and paths UNCONFIRMED). The
        # bare words, or after a bare "error:", need one of those frames: other software says
        # "deadlock detected" of its own locks.
        r"(?:DeadlockDetected(?:Error)?[:)]|PSQLException: ERROR:|40P01:)\s+deadlock detected\b"
        r"|\bdeadlock detected(?: \(SQLSTATE 40P01\)|\s+at Parser\.parseErrorMessage\b)",
        # MySQL 1213 ER_LOCK_DEADLOCK, "Deadlock found when trying to get lock; try restarting
        # transaction" (MySQL Server Error Message Reference; the InnoDB victim's transaction is rolled back).
        r"Deadlock found when trying to get lock",
        # PostgreSQL 53400 configuration_limit_exceeded at temp_file_limit: src/backend/storage/file/fd.c
        # (FileWriteV), errmsg("temporary file size exceeds temp_file_limit (%dkB)"); PostgreSQL 17 quotes
        # the setting's name ("temporary file size exceeds \"temp_file_limit\" (%dkB)", postgres/postgres
        # src/backend/storage/file/fd.c of that release; as sqlx prints it, "error returned from database:
        # ...", launchbadge/sqlx sqlx-core/src/error.rs).
        r'temporary file size exceeds "?temp_file_limit"? \(',
        # PostgreSQL 53200 out_of_memory in the lock table: src/backend/storage/lmgr/lock.c
        # (LockAcquireExtended), errmsg("out of shared memory"), errhint("You might need to increase
        # max_locks_per_transaction."), as psycopg2 ("OutOfMemory: out of shared memory"), asyncpg
        # ("OutOfMemoryError: ..."), pgjdbc ("PSQLException: ERROR: ..."), Npgsql ("53200: ...") and pgx
        # ("... (SQLSTATE 53200)") raise it. The words alone, or after a bare "error:", are other
        # software's too (a GPU's shared memory): read only in those frames.
        r"(?:OutOfMemory(?:Error)?[:)]|PSQLException: ERROR:|53200:)\s+out of shared memory\b"
        r"|\bout of shared memory \(SQLSTATE 53200\)",
        # PostgreSQL's dynamic shared memory for a parallel query or a hash (src/backend/storage/ipc/
        # dsm_impl.c, dsm_impl_posix_resize: errmsg("could not resize shared memory segment \"%s\" to %zu
        # bytes: %m"), 53200 or, for ENOSPC, 53100 through errcode_for_file_access): the instance's
        # shared memory is full, not its disk (the storage's own texts are Refusal.STORAGE_FULL's).
        r'could not resize shared memory segment "[^"\n]{1,100}" to \d+ bytes',
        # The server ended a session the application left idle, in a transaction or at all, past its own
        # limit (SESSION_TIMEOUT): the statements crossed the path, and the cause is in the application
        # (a transaction leak, a slow call made inside a transaction), not in the database's refusal.
        SESSION_TIMEOUT,
    ),
}
# The hosts an UPSTREAM_TIMEOUT line names: the same patterns, each with its host captured.
UPSTREAM_HOST = re.compile("|".join(f"{before}({host}){after}" for before, host, after in _UPSTREAM_TIMEOUTS),
                           re.IGNORECASE)


def upstream_hosts(text: str) -> list[str]:
    """The hosts an UPSTREAM_TIMEOUT line names (without their ports), or []."""
    found = UPSTREAM_HOST.search(text)
    if found is None:
        return []
    which, host = next((i, group) for i, group in enumerate(found.groups()) if group is not None)
    if which == _ATTEMPTED:
        return [without_port(address) for address in host.split(", ") if address]
    return [host if which in _POOL_HOSTS else without_port(host)]


# An UPSTREAM_TIMEOUT line that says the call timed out reading the answer on a connection it had made:
# urllib3's "Read timed out. (read timeout=N)" (`HTTPConnectionPool._raise_timeout`, and its retries'
# "(Caused by ReadTimeoutError(...))", urllib3/urllib3 `src/urllib3/connectionpool.py`) and Spring's
# RestTemplate with a SocketTimeoutException's "Read timed out" (its sources in the UPSTREAM_TIMEOUT rows
# of docs/signatures.md). Not when the same line also says a dial timed out (urllib3's
# ConnectTimeoutError, Spring's "Connect timed out" or the kernel's "Connection timed out"), nor Go's
# "Client.Timeout exceeded while awaiting headers" (its timer spans the dial too), undici's connect
# timeout or aiohttp's "Connection timeout to host": each of those may have waited on the dial.
_UPSTREAM_READ = re.compile(r"Read timed out", re.IGNORECASE)
_UPSTREAM_DIAL = re.compile(r"ConnectTimeoutError|Connect timed out|Connection timed out|Connect Timeout Error"
                            r"|Connection timeout to host|Client\.Timeout exceeded", re.IGNORECASE)


def upstream_read_timed_out(text: str) -> bool:
    """Whether an UPSTREAM_TIMEOUT line's call timed out reading the answer on a connection it had made
    (`_UPSTREAM_READ`), with no word of a dial that timed out (`_UPSTREAM_DIAL`)."""
    return _UPSTREAM_READ.search(text) is not None and _UPSTREAM_DIAL.search(text) is None


# The host a DNS_FAILURE line names, where its words name one (each from the same source as its
# DNS_FAILURE pattern above; glibc's bare gai_strerror text names none): Node's "getaddrinfo
# ENOTFOUND H", Go's "lookup H on S: ...", Java's "UnknownHostException: H", gRPC's "DNS resolution
# failed for H", and the texts that carry a resolver's words after the host: libpq's "could not
# translate host name "H" to address", aiohttp's "Cannot connect to host H:443". The database
# drivers' own words for an unknown host (DB_ERROR_TEXTS, Refusal.NO_SUCH_HOST) name it too: pgx's
# "lookup H ...: no such host" is Go's text above; MySQL's client error 2005 CR_UNKNOWN_HOST is
# "Unknown MySQL server host '%-.100s' (%d)" (MySQL Error Message Reference, "Client Error Message
# Reference": Error number 2005; the number after the host is the resolver's own code); PyMySQL's
# 2003 "Can't connect to MySQL server on 'H' ([Errno -2] ...)" names it around the resolver's gaierror
# (the DB_ERROR_TEXTS row "PyMySQL host name not found").
_LOOKUP_HOST = re.compile(
    r"getaddrinfo (?:EAI_AGAIN|ENOTFOUND|EAI_NONAME) ([\w.-]+)"
    r"|\blookup ([\w-]+\.[\w.-]+)(?: on [\w.:\[\]%-]+)?: "
    r"|java\.net\.UnknownHostException: ([\w.-]+)"
    r"|DNS resolution failed for (?:dns:(?:///)?)?([\w.-]+)"
    r'|could not translate host name "([\w.-]+)" to address'
    r"|Cannot connect to host ([\w.-]+):\d+"
    r"|Unknown MySQL server host '([\w.-]+)'"
    r"|Can't connect to MySQL server on '([\w.-]+)' \((?:\[Errno -[23]\] )?"
    r"(?:Name or service not known|Temporary failure in name resolution)", re.IGNORECASE)


# A host name looked up that holds an "@" (as an application wrote it, or with what came before the "@"
# redacted: shared/redaction.py `host_userinfo`), in the same words `_LOOKUP_HOST` reads: no host name holds one
# (RFC 3986 section 3.2.2, reg-name), so it was cut from a connection URL whose password held an unescaped "@".
# Built from the one table redaction reads (shared/redaction.py LOOKUP_WORDS, `host_userinfo_pattern`): the host
# runs as redaction reads it (a quoted tail may hold a space or a quote), the redaction's own words read as a tail.
_USERINFO_IN_HOST = re.compile(host_userinfo_pattern(escaped_quote=False, redacted_tail=True))

# What a person checks for such a lookup, in place of REFUSAL_ADVICE's DNS record: a URL's password holding
# "@" must be percent-encoded ("%40"; RFC 3986 section 3.2.1; SQLAlchemy docs, "Engine Configuration",
# "Escaping Special Characters such as @ signs in Passwords").
USERINFO_IN_HOST_ADVICE = ("the connection URL the revision reads (a plain env value or the secret version it reads, "
                           "and when that version was added: a rotation): the host name looked up holds an \"@\", "
                           "which no host name has, so the URL's password holds an \"@\" not percent-encoded "
                           "(%40) and its tail was read as the host; the DNS record is not the cause")


def userinfo_in_host(text: str) -> bool:
    """Whether a failed lookup's line names a "host" holding an "@" (`_USERINFO_IN_HOST`): a password's tail
    cut from a connection URL, not a name DNS could hold."""
    return _USERINFO_IN_HOST.search(text) is not None


def lookup_host(text: str) -> str:
    """The host name a failed lookup's line names (lower case, without a trailing dot or a port), or
    "" when its words name none."""
    found = _LOOKUP_HOST.search(text)
    if found is None:
        return ""
    host = next(group for group in found.groups() if group is not None)
    return host.rstrip(".").lower()


# The resolver's answer that a name does not exist (NXDOMAIN), in the words that carry no host: glibc's
# gai_strerror for EAI_NONAME, "Name or service not known" (sysdeps/posix/gai_strerror-strs.h), as
# Python's socket.gaierror "[Errno -2]" prints it; Node's "getaddrinfo ENOTFOUND", the code Node gives
# EAI_NONAME and EAI_NODATA (lib/internal/errors.js dnsException), or EAI_NONAME itself. Not the
# resolver's trouble: EAI_AGAIN's "Temporary failure in name resolution" ("[Errno -3]"), Node's
# "getaddrinfo EAI_AGAIN", Go's "server misbehaving" or a timeout say the resolver did not answer,
# which a mistyped name does not cause and a rollback does not cure.
_NO_SUCH_NAME = re.compile(r"Name or service not known|getaddrinfo (?:ENOTFOUND|EAI_NONAME)\b", re.IGNORECASE)
_RESOLVER_TROUBLE = re.compile(r"Temporary failure in name resolution|EAI_AGAIN|server misbehaving|i/o timeout",
                               re.IGNORECASE)


def says_no_such_name(text: str) -> bool:
    """Whether a failed lookup's line says the name does not exist (NXDOMAIN) and not that the
    resolver failed to answer."""
    return bool(_NO_SUCH_NAME.search(text)) and not _RESOLVER_TROUBLE.search(text)


# A connection the application opened to a dependency other than its database (a cache such as
# Memorystore for Redis, an internal service behind an internal load balancer, a host over VPN or
# Interconnect) got no answer, was refused, or found no route: the dial failed before any request was
# sent. Read only where a rollback is about to be proposed (bad_revision), from the texts already
# fetched (stderr whole, stdout at WARNING or above): no signal of its own, so the log query is
# unchanged. The database's own ports are DB_ERROR_TEXTS rows (database_unreachable reads them), and
# loopback (a sidecar in the same instance) crosses no network.
# - Go's net package: OpError.Error() is op + " " + net + " " + addr + ": " + err, so "dial tcp
#   10.60.0.4:6379: i/o timeout", "...: connect: connection refused", "...: connect: connection timed
#   out", "...: connect: no route to host" (go/src/net/net.go, OpError.Error; the syscall's strerror).
# - Node's net: exceptionWithHostPort builds `${syscall} ${code} ${address}:${port}` ("connect
#   ETIMEDOUT 10.60.0.4:6379", ECONNREFUSED, EHOSTUNREACH, ENETUNREACH: lib/internal/errors.js, as the
#   DB_ERROR_TEXTS row for 5432 cites). ioredis' own connect timeout is a bare "connect ETIMEDOUT"
#   (ioredis lib/Redis.ts: new Error("connect ETIMEDOUT"); UNCONFIRMED against its source), read
#   without a host.
# - redis-py: AbstractConnection._error_message, "Error {errno} connecting to {host}:{port}.
#   {strerror}." (redis/connection.py), with errno 110 ETIMEDOUT, 111 ECONNREFUSED, 113 EHOSTUNREACH
#   (Linux errno numbers); a negative errno is the resolver's (gaierror: DNS_FAILURE, not a dial);
#   and its socket_connect_timeout, raised as TimeoutError("Timeout connecting to server"), naming no
#   host.
# - Netty (Lettuce, reactor-netty, gRPC Java): AbstractNioChannel's ConnectTimeoutException
#   "connection timed out: /10.60.0.4:6379" (newer: "connection timed out after 10000 ms: /..."), and
#   AnnotatedConnectException "Connection refused: /10.60.0.4:6379" (netty transport, UNCONFIRMED
#   word for word against each version).
# - urllib3 (Python requests): "HTTPConnectionPool(host='H', port=P): Max retries exceeded with url:
#   ... (Caused by ConnectTimeoutError(...))", or NewConnectionError "...: Failed to establish a new
#   connection: [Errno 110|111|113] ..." (urllib3 connectionpool.py, connection.py).
# - Java's socket connect at its timeout: java.net.SocketTimeoutException "connect timed out"
#   (JDK 13+: "Connect timed out"; java.net.Socket.connect), naming no host.
# - Lettuce: RedisConnectionException.create(SocketAddress, cause), String.format("Unable to connect
#   to %s", remoteAddress) (lettuce-core io/lettuce/core/RedisConnectionException.java;
#   AbstractRedisClient.getConnection formats ConnectionFuture.getRemoteAddress() the same way), the
#   address as java.net.InetSocketAddress.toString prints it: "host/10.60.0.4:6379", "/10.60.0.4:6379",
#   "host/<unresolved>:6379" (JDK 14+) or "host:6379" (older JDKs' unresolved). Lettuce raises it
#   also when the handshake after the dial fails (AUTH, TLS: UNCONFIRMED which of its versions), so
#   the host is one the application could not open a working connection to; only the host is read.
#   Its netty cause line ("Caused by: ...ConnectTimeoutException: connection timed out: H/A:P") is
#   read by the netty alternatives when the header is not in the same text.
# - Jedis 2.x-3.x: Connection.connect, new JedisConnectionException("Failed connecting to host " +
#   host + ":" + port, ex) (redis/clients/jedis/Connection.java); Jedis 3.6+ tries each address
#   the name resolves to and, all failing, raises "Failed to connect to any host resolved for DNS
#   name." (DefaultJedisSocketFactory.connectToFirstSuccessfulHost), naming no host: hostless. A
#   name that does not resolve fails before it (InetAddress.getAllByName's UnknownHostException).
# - OkHttp on the JVM: ConnectException("Failed to connect to ${route.socketAddress}")
#   (okhttp3/internal/connection/RealConnection.connectSocket; ConnectPlan in 5.x), the
#   InetSocketAddress as "host/10.9.0.7:443"; Android's libcore prints "failed to connect to
#   host/10.9.0.7 (port 443) from /10.0.2.16 (port 40000) after 10000ms" (libcore IoBridge.connect;
#   UNCONFIRMED word for word), read the same way.
# - gRPC Java: "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception" names neither a host nor a
#   dial (a connection reset or a TLS failure says the same) and is not read; its cause, netty's
#   AnnotatedConnectException "Connection refused: H/A:P", is.
_DIAL_NAMED = re.compile(
    rf"\bdial tcp ([\w.-]+):(?!{_DB_PORT}\b)(\d+): (?:i/o timeout|connect: (?:connection (?:refused|timed out)"
    r"|no route to host))"
    # Each error code its own alternative, and below each of "timed out" and "refused": each is then
    # found by its own words (`_worded`), not by "connect e" or "connection " alone.
    + "".join(rf"|\bconnect {code} ([\w.-]+):(?!{_DB_PORT}\b)(\d+)"
              for code in ("ETIMEDOUT", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH")) +
    rf"|\bError (?:110|111|113) connecting to ([\w.-]+):(?!{_DB_PORT}\b)(\d+)\."
    rf"|\bconnection timed out(?: after \d+ ms)?: [\w.-]*/([\d.]+):(?!{_DB_PORT}\b)(\d+)"
    rf"|\bconnection refused: [\w.-]*/([\d.]+):(?!{_DB_PORT}\b)(\d+)"
    rf"|\bUnable to connect to (?:([\w.-]+)(?:/(?:<unresolved>|[\d.]+))?|/([\d.]+)):(?!{_DB_PORT}\b)(\d+)"
    rf"|\bFailed connecting to host ([\w.-]+):(?!{_DB_PORT}\b)(\d+)"
    rf"|\bFailed to connect to (?:([\w.-]+)/|/)([\d.]+)(?::| \(port )(?!{_DB_PORT}\b)(\d+)"
    rf"|HTTPS?ConnectionPool\(host='([^']+)', port=(?!{_DB_PORT}\b)(\d+)\): Max retries exceeded with url: [^\n]*?"
    r"\(Caused by (?:ConnectTimeoutError|NewConnectionError\([^\n]*?\[Errno (?:110|111|113)\])",
    re.IGNORECASE)
_DIAL_HOSTLESS = re.compile(r"\bTimeout connecting to server\b|\bconnect ETIMEDOUT\b(?! ?[\w.-]+:\d)"
                            r"|java\.net\.SocketTimeoutException: connect timed out"
                            r"|\bFailed to connect to any host resolved for DNS name\b", re.IGNORECASE)
_LOOPBACK = frozenset({"localhost", "ip6-localhost"})


def dial_failure(text: str) -> str | None:
    """The host a failed dial to a dependency other than the database names (lower case, no port), ""
    when the line says a dial timed out but names no host, or None when the line is no such dial (or
    one to loopback, or to a database port)."""
    return _dial_of(leftmost(_DIAL_NAMED_WORDED, text), lambda: leftmost(_DIAL_HOSTLESS_WORDED, text))


def _dial_of(named: "re.Match[str] | None", hostless: Callable[[], object]) -> str | None:
    """dial_failure's answer from _DIAL_NAMED's leftmost match, and _DIAL_HOSTLESS's asked only without one."""
    if named is not None:
        return _dialled(next(group for group in named.groups() if group is not None))
    return "" if hostless() else None


@lru_cache(maxsize=256)
def _dialled(host: str) -> str | None:
    """The host as a dial names it, lower case and without a trailing dot, or None for loopback: asked
    once per host written alike (a read's failed dials name a few hosts many times, and an address's
    `is_loopback` is a Python-level network test each time)."""
    host = host.rstrip(".").lower()
    address = host_address(host)
    return None if host in _LOOPBACK or (address is not None and address.is_loopback) else host


# The database's own address as a failed dial to it names it: where database_unreachable reads whether
# the deploy changed what is dialled (an address only the new revision's env names). dial_failure
# leaves the database's ports to this, and every driver's words are read here, in one place:
# - Go's net ("dial tcp 10.30.0.9:5432: i/o timeout", OpError.Error as dial_failure cites; on a
#   connection it had opened, "read tcp LOCAL->10.30.0.9:5432: ...", the same OpError with its source
#   before "->") and Node's ("connect ETIMEDOUT 10.30.0.9:5432", exceptionWithHostPort), on a database
#   port (_DB_PORT);
# - pgjdbc: ConnectionFactoryImpl's ConnectException branch, GT.tr("Connection to {0} refused. Check
#   that the hostname and port are correct ...", hostSpec) (pgjdbc/pgjdbc
#   pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java), hostSpec printed as
#   "host:port" (HostSpec.toString; UNCONFIRMED word for word against pgjdbc/pgjdbc
#   pgjdbc/src/main/java/org/postgresql/util/HostSpec.java). The kernel's own connect timeout
#   (ETIMEDOUT) is a java.net.ConnectException too, so a dial nothing answered reads "refused" as well.
#   HikariCP passes the words on: its timeout carries pgjdbc's exception as its cause ("Caused by:" in
#   the same entry; brettwooldridge/HikariCP src/main/java/com/zaxxer/hikari/pool/HikariPool.java,
#   createTimeoutException), and its "Failed to initialize pool: " + the cause's message (the same
#   file, throwPoolInitializationException; UNCONFIRMED word for word). pgjdbc's IOException branch,
#   "The connection attempt failed." (a Connect timed out at its connectTimeout), names no address;
#   only a JDBC URL the same line quotes does then ("jdbc:postgresql://H:P/db", every host of a
#   multi-host URL).
# - libpq 14+: 'connection to server at "H" (A), port P failed: ...' (postgres/postgres
#   src/interfaces/libpq/fe-connect.c, as its DB_ERROR_TEXTS row cites), the host as configured.
# - libpq before 14: 'could not connect to server: ...\n\tIs the server running on host "H" (A) and
#   accepting\n\tTCP/IP connections on port P?' (fe-connect.c, connectFailureMessage), as Ruby's
#   PG::ConnectionBad prints it too.
# - PyMySQL, mysqlclient and Ruby's mysql2: MySQL client error 2003, "Can't connect to MySQL server on
#   'H' (...)" (PyMySQL pymysql/connections.py connect; libmysqlclient's '%-.100s:%u' form with the port).
# - Npgsql: `new NpgsqlException($"Failed to connect to {endpoint}", e)` (its DB_ERROR_TEXTS row), on a
#   database port.
# - Prisma: P1001 "Can't reach database server at `H`:`P`" (or "`H:P`") and P1002 "The database server
#   at `H`:`P` was reached but timed out" (prisma/prisma-engines libs/user-facing-errors/src/common.rs).
# - pg8000: "Can't create a connection to host H and port P" and asyncio's "Connect call failed ('A',
#   P)" under asyncpg (their DB_ERROR_TEXTS rows); Cloud Run's own "connection to Cloud SQL instance at
#   A:3307 failed" (its row).
# - pgx: its ConnectError, "failed to connect to `user=U database=D`: " and per dial "H:P (H): ..." (v5.5+:
#   ConnectError.Error and perDialConnectError.Error, "%s (%s): %s" of the address and the host as
#   configured; jackc/pgx pgconn/errors.go), and before it pgconn's connectError, "failed to connect to
#   `host=H user=U database=D`: " + its message, e.g. "server error (FATAL: ...)" (pgx v4's jackc/pgconn
#   errors.go; UNCONFIRMED word for word here): the server it connected to, whether the dial or the
#   server's answer failed.
# Loopback (a proxy beside the application) is no address a deploy moved across the network.
# Each wording as (a word every match of it holds, lower case; its pattern, the host captured): a text
# is searched only for the wordings whose word it holds (a plain substring test), as most database
# errors are long stack traces that hold none of them, and one alternation over all of them tries each
# at every character.
_DB_DIALLED_WORDINGS = (
    ("dial tcp ", rf"\bdial tcp ([\w.-]+):{_DB_PORT}\b"),
    ("tcp ", rf"\b(?:read|write) tcp [\w.:\[\]%-]+->([\w.-]+):{_DB_PORT}\b"),
    ("connect e", rf"\bconnect (?:ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH) ([\w.-]+):{_DB_PORT}\b"),
    (" refused", r"\bConnection to ([\w.-]+):\d+ refused\b"),
    ("connection to server at", r'\bconnection to server at "([^"\n]+)"'),
    ("jdbc:", r"\bjdbc:(?:postgresql|mysql|mariadb)://([\w.:,-]+)"),
    ("running on host", r'\bIs the server running on host "([^"\n]+)"'),
    ("mysql server on", r"\bCan't connect to MySQL server on '([\w.:-]+)'"),
    ("failed to connect to", rf"\bFailed to connect to ([\d.]+):{_DB_PORT}\b|\bfailed to connect to `host=([\w.-]+) "
                             r"|\bfailed to connect to `user=[^`\n]*`:\s+[\w.-]+:\d+ \(([\w.-]+)\)"),
    ("database server at", r"\bCan't reach database server at `([\w.-]+)(?::\d+)?`"
                           r"|\bThe database server at `([\w.-]+)`:`\d+` was reached but timed out"),
    ("connection to host", r"\bCan't create a connection to host ([\w.-]+) and port\b"),
    ("connect call failed", rf"\bConnect call failed \('([\d.]+)', {_DB_PORT}\)"),
    ("cloud sql instance at", r"\bconnection to Cloud SQL instance at ([\d.]+):3307\b"),
    # Postgrex's "tcp connect (H:P)" and Netty's connect timer's "host/A:P" to a database's port
    # (_POSTGREX_DIAL_TIMED_OUT, _NETTY_DIAL_TIMED_OUT).
    ("tcp connect (", r"\btcp connect \(([\w.-]+):\d+\)"),
    ("connecttimeoutexception", rf"\bConnectTimeoutException: connection timed out(?: after \d+ ms)?: [\w.-]*/"
                                rf"([\d.]+):{_DB_PORT}\b"),
)
_DB_DIALLED = tuple((word, re.compile(pattern, re.IGNORECASE)) for word, pattern in _DB_DIALLED_WORDINGS)
# The address libpq resolved a host name to, printed after it: 'connection to server at "H" (A), port P'
# (14+) and 'on host "H" (A)' (before 14), fe-connect.c as above.
_DB_RESOLVED = re.compile(r'\b(?:connection to server at|running on host) "[^"\n]+" \(([\d.]+)\)', re.IGNORECASE)
_DB_RESOLVED_WORDS = ("connection to server at", "running on host")


class DatabaseDial(NamedTuple):
    """Where a failed dial to the database went, as its words say: the IPv4 addresses it names (a host
    name's too, where libpq printed the address it resolved), and what it names that has no address
    (a host name, loopback: a proxy beside the application, whose own dial is not in the line)."""
    addresses: frozenset[str]
    unplaced: frozenset[str]


def _db_dialled(text: str, low: str) -> list[str]:
    """Every database host _DB_DIALLED's wordings name in the text (`low`: the text in lower case), in
    the text's order, lower case, no port, loopback kept."""
    matches = sorted((m for word, pattern in _DB_DIALLED if word in low for m in pattern.finditer(text)),
                     key=lambda m: m.start())
    found: list[str] = []
    for match in matches:
        named = next(group for group in match.groups() if group is not None)
        found.extend(without_port(host).rstrip(".").lower() for host in named.split(",") if host)
    return found


# The port a database line names as the one it connected to, any port (the reader above names the
# database's own only: a port alone is no database's): libpq's 'connection to server at "H" (A), port P
# failed' (14+) and '... TCP/IP connections on port P?' (before), pgjdbc's "Connection to H:P refused", a
# JDBC URL's, Go's and Node's dials, Npgsql's "Failed to connect to A:P", pgx v5.5+'s "H:P (H): ",
# Prisma's "`H`:`P`" and "`H:P`", asyncio's "Connect call failed ('A', P)", pg8000's "... and port P",
# MySQL client 2003's "on 'H:P'", Postgrex's "tcp connect (H:P)" (the sources as the wordings above cite them). Read only where a
# deploy changed a port setting (env_hosts.database_ports_brought), on lines already read as the
# database's.
_DB_PORT_NAMED = re.compile(
    r'\bconnection to server at "[^"\n]+"(?: \([^)\n]*\))?, port (\d+) failed|\bTCP/IP connections on port (\d+)\?'
    r"|\bConnection to [\w.-]+:(\d+) refused\b|\bjdbc:(?:postgresql|mysql|mariadb)://[\w.-]+:(\d+)"
    r"|\bdial tcp [\w.-]+:(\d+)\b|\bconnect (?:ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH) [\w.-]+:(\d+)\b"
    r"|\bFailed to connect to [\d.]+:(\d+)\b|\bfailed to connect to `user=[^`\n]*`:\s+[\w.-]+:(\d+) \("
    r"|\bdatabase server at `[\w.-]+`:`(\d+)`|\bdatabase server at `[\w.-]+:(\d+)`"
    r"|\bConnect call failed \('[\d.]+', (\d+)\)|\bconnection to host [\w.-]+ and port (\d+)\b"
    r"|\bMySQL server on '[\w.-]+:(\d+)'|\btcp connect \([\w.-]+:(\d+)\)", re.IGNORECASE)


def database_dial_ports(text: str) -> set[str]:
    """The ports a database line names as the one it connected to (_DB_PORT_NAMED), as written."""
    return {next(g for g in m.groups() if g is not None) for m in _DB_PORT_NAMED.finditer(text)}


# Which engine a database line's driver speaks to, by the driver's own words (the wordings above and their
# DB_ERROR_TEXTS rows): libpq's "connection to server at"/"on socket" and "TCP/IP connections on port", psycopg,
# pgjdbc (org.postgresql, PSQLException, a jdbc:postgresql URL), pgx's "failed to connect to `", Npgsql,
# asyncpg, pg8000 and PostgreSQL's "SQLSTATE" in pgx's form; MySQL client error 2003's "MySQL server on",
# Connector/J (com.mysql, a jdbc:mysql or jdbc:mariadb URL), PyMySQL, mysqlclient, mysql2. Words of both, or
# of neither (Go's bare "dial tcp", Node's "connect ECONNREFUSED", Prisma's): "".
_ENGINE_WORDS = (("postgres", re.compile(r"\bconnection to server (?:at|on socket)\b|\bTCP/IP connections on port\b"
                                         r"|\bpsycopg|\borg\.postgresql\b|\bPSQLException\b|\bjdbc:postgresql:"
                                         r"|\bfailed to connect to `|\bNpgsql|\basyncpg\b|\bpg8000\b", re.IGNORECASE)),
                 ("mysql", re.compile(r"\bMySQL server on\b|\bcom\.mysql\b|\bjdbc:(?:mysql|mariadb):|\bpymysql\b"
                                      r"|\bMySQLdb\b|\bmysql2\b", re.IGNORECASE)))


def database_engine(text: str) -> str:
    """The engine ("postgres", "mysql") a database line's words speak of (_ENGINE_WORDS), or ""."""
    found = [engine for engine, pattern in _ENGINE_WORDS if pattern.search(text)]
    return found[0] if len(found) == 1 else ""


def database_dial_hosts(text: str) -> set[str]:
    """The database hosts a failed dial's text names (lower case, no port, loopback left out):
    _DB_DIALLED's wordings, every match in the text (a wrapper and its cause name the same one)."""
    return {host for host in map(_dialled, _db_dialled(text, text.lower())) if host}


_NO_DIAL = DatabaseDial(frozenset(), frozenset())


def database_dial(text: str) -> DatabaseDial:
    """Where a failed dial to the database went (`DatabaseDial`), read from the same wordings as
    `database_dial_hosts`: the one reader of a database dial's destination."""
    low = text.lower()
    hosts = _db_dialled(text, low)
    if not hosts:
        return _NO_DIAL
    resolved = ({a for a in _DB_RESOLVED.findall(text) if _ipv4(a)}
                if any(word in low for word in _DB_RESOLVED_WORDS) else set())
    addresses, unplaced = set(resolved), set()
    for host in hosts:
        address = host_address(host)
        if address is not None and address.version == 4 and not address.is_loopback:
            addresses.add(str(address))
        elif (address is not None and address.is_loopback) or host in _LOOPBACK or not resolved:
            unplaced.add(host)
    return DatabaseDial(frozenset(addresses), frozenset(unplaced))


def _ipv4(text: str) -> bool:
    address = host_address(text)
    return address is not None and address.version == 4


# The application's HTTP client raising on an answer from a downstream: a 429 (the downstream's rate
# limit) or a 5xx (its own failure). An answer proves that the path to that downstream carried the
# request and the answer back, whatever the path is, so a connector on it explains none of them
# (connector_saturation). Read only from the texts already fetched (no signal: the log query is
# unchanged). Each client's words:
# - aiohttp: ClientResponseError.__str__ is "{status}, message={message!r}, url={request_info.real_url!r}",
#   "429, message='Too Many Requests', url=URL('https://...')" (aiohttp/client_exceptions.py), the class
#   name printed or not (a logger given str(exc) prints none);
# - Python requests: Response.raise_for_status, "503 Server Error: Service Unavailable for url: ..." and
#   "429 Client Error: Too Many Requests for url: ..." (requests/models.py);
# - httpx: Response.raise_for_status's HTTPStatusError, "Server error '503 Service Unavailable' for url
#   'https://...'" then "For more information check: https://developer.mozilla.org/..." on a line of its own,
#   "Client error '429 Too Many Requests' ..." for a 4xx (httpx/_models.py, Response.raise_for_status; as
#   public tracebacks quote it, "httpx/_models.py, line 829, in raise_for_status ... httpx.HTTPStatusError:
#   Client error '404 Not Found' for url '...'");
# - urllib3's Retry giving up on statuses it retried: ResponseError "too many {status_code} error
#   responses" (urllib3/util/retry.py, ResponseError.SPECIFIC_ERROR), inside requests' RetryError "Max
#   retries exceeded with url: ... (Caused by ResponseError('too many 503 error responses'))";
# - Node axios: settle() rejects with "Request failed with status code " + response.status (axios
#   lib/core/settle.js);
# - Retrofit (over OkHttp): HttpException's message "HTTP " + code + " " + message (retrofit2/HttpException.java);
# - Spring's RestTemplate: HttpServerErrorException / HttpClientErrorException and their per-status
#   subclasses ("HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable: ..."), and
#   WebClient's WebClientResponseException ("...$TooManyRequests: 429 Too Many Requests from GET ...");
# - .NET HttpClient: EnsureSuccessStatusCode's HttpRequestException "Response status code does not
#   indicate success: 503 (Service Unavailable)." (System.Net.Http SR.net_http_message_not_success_statuscode).
# - gRPC C-core clients (grpcio in Python, grpc C++, Ruby, PHP): the status a server (or a proxy on the
#   way) sent names its peer, "Error received from peer ipv4:10.9.0.7:443" in the error's description,
#   with the peer's code as grpc_status ("debug_error_string = \"UNKNOWN:Error received from peer
#   ipv4:10.9.0.7:443 {grpc_message:\"...\", grpc_status:8, ...}\"", or the older JSON form
#   '"description":"Error received from peer ipv4:...", ..., "grpc_status":14'; grpc src/core/lib/surface/
#   call.cc; as logged, repository and path UNCONFIRMED). INTERNAL (13) and UNAVAILABLE (14) are read only with
#   those words: the library raises each itself on a broken path, with no peer ("Some status codes are
#   generated by the gRPC library itself", grpc doc/statuscodes.md, "Status codes and their use in gRPC":
#   INTERNAL for a response it cannot parse or a flow-control violation, UNAVAILABLE when no connection
#   could be made or a keepalive times out; grpc-go's status and grpc-java's Status carry no such mark), so
#   grpc-go's "rpc error: code = Unavailable" and grpc-java's "UNAVAILABLE: ..." are waits (_DOWNSTREAM_WAIT),
#   not answers.
# - gRPC's codes no network failure is raised as (_GRPC_ANSWERED), peer named or not, in every client's
#   words: grpc-go's "rpc error: code = ResourceExhausted desc = ", grpcio's "status = StatusCode.NOT_FOUND",
#   grpc-java's "StatusRuntimeException: PERMISSION_DENIED", grpc-js's "8 RESOURCE_EXHAUSTED: " (their
#   formats as _DOWNSTREAM_WAIT's comment cites them). grpc/grpc doc/statuscodes.md:
#   "The following status codes are never generated by the library: INVALID_ARGUMENT, NOT_FOUND,
#   ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, DATA_LOSS": a server answered them. The
#   library's own RESOURCE_EXHAUSTED is a message "larger than configured limit" (it arrived) or
#   "flow-control resource limits reached", its UNAUTHENTICATED and PERMISSION_DENIED its credentials'
#   and authorization's, its UNIMPLEMENTED "method not found at server" (the server answered): none is a
#   path that failed, so whoever raised it, a connector explains none. ABORTED and DATA_LOSS are left out
#   (a database's conflict and corruption: not a downstream's answer to pass on); CANCELLED, UNKNOWN and
#   DEADLINE_EXCEEDED are the library's on a broken path too, and not read.
#   Google's client libraries wrap the same codes: Java gax's "ResourceExhaustedException: io.grpc.
#   StatusRuntimeException: RESOURCE_EXHAUSTED: ..." and Node google-gax's grpc-js error hold the words
#   above; Python google-api-core's GoogleAPICallError prints "{code} {message}" with its HTTP code,
#   "google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded ..." (google/api_core/exceptions.py:
#   each class's code and grpc_status_code; the HTTP transport's TooManyRequests, Forbidden, ... the same
#   answers by their HTTP names), answered as that HTTP code, as the HTTP clients' are.
# Answered as "gRPC" and the code's name, and google-api-core's as its HTTP code.
_STATUS = r"(429|5\d\d)"
# gRPC's codes by number (grpc doc/statuscodes.md) that no network failure is raised as (see above).
_GRPC_ANSWERED = {"3": "INVALID_ARGUMENT", "5": "NOT_FOUND", "6": "ALREADY_EXISTS", "7": "PERMISSION_DENIED",
                  "8": "RESOURCE_EXHAUSTED", "9": "FAILED_PRECONDITION", "11": "OUT_OF_RANGE", "12": "UNIMPLEMENTED",
                  "16": "UNAUTHENTICATED"}
_GRPC_CODES = {number: f"gRPC {name}"
               for number, name in {**_GRPC_ANSWERED, "13": "INTERNAL", "14": "UNAVAILABLE"}.items()}
# A code's name in any client's spelling (grpc-go's "ResourceExhausted", any case), to its canonical name.
_GRPC_NAMES = {name.replace("_", "").lower(): f"gRPC {name}" for name in _GRPC_ANSWERED.values()}
_GO_NAMES = "|".join(name.title().replace("_", "") for name in _GRPC_ANSWERED.values())
_UPPER_NAMES = "|".join(_GRPC_ANSWERED.values())
# google-api-core's exception classes for those codes, and their HTTP-named twins (google/api_core/exceptions.py).
_API_CORE = ("ResourceExhausted|TooManyRequests|PermissionDenied|Forbidden|Unauthenticated|Unauthorized|InvalidArgument"
             "|BadRequest|NotFound|MethodNotImplemented|FailedPrecondition|AlreadyExists|Conflict|OutOfRange")
_DOWNSTREAM_ANSWER = re.compile(
    rf"\b{_STATUS}, message=['\"][^'\"\n]*['\"], url="
    rf"|\b{_STATUS} Client Error: [^\n]*? for url: |\b{_STATUS} Server Error: [^\n]*? for url: "
    rf"|\b(?:Client|Server) error '{_STATUS} [^'\n]*' for url '"
    rf"|\bResponseError\(['\"]too many {_STATUS} error responses"
    rf"|\bRequest failed with status code {_STATUS}\b"
    rf"|\bretrofit2\.HttpException: HTTP {_STATUS}\b"
    rf"|\bHttpServerErrorException(?:\$\w+)?: {_STATUS}\b|\bHttpClientErrorException(?:\$\w+)?: {_STATUS}\b"
    rf"|\bWebClientResponseException(?:\$\w+)?: {_STATUS}\b"
    rf"|Response status code does not indicate success: {_STATUS}\b"
    rf"|\bError received from peer ipv[46]:[^\n]{{0,1000}}?\bgrpc_status\"?:\s?({'|'.join(_GRPC_CODES)})\b"
    # One alternative per client, its own words the anchor; grpc-js's each code with its number, whole.
    rf"|\brpc error: code = ({_GO_NAMES}) desc = "
    rf"|\bstatus = StatusCode\.({_UPPER_NAMES})\b"
    rf"|\bStatusRuntimeException: ({_UPPER_NAMES})\b"
    + "".join(rf"|\b{number} {name}: " for number, name in _GRPC_ANSWERED.items()) +
    rf"|\bgoogle\.api_core\.exceptions\.(?:{_API_CORE}): (4\d\d|501)\b",
    re.IGNORECASE)


def downstream_answer(text: str) -> str:
    """The HTTP status (429 or a 5xx) a downstream answered the application's own call with, as its
    HTTP client's exception quotes it, or the gRPC code a peer sent ("gRPC RESOURCE_EXHAUSTED"), or ""
    when the line quotes none."""
    return _answer_of(leftmost(_DOWNSTREAM_ANSWER_WORDED, text))


def _answer_of(found: "re.Match[str] | None") -> str:
    """downstream_answer's answer from _DOWNSTREAM_ANSWER's match: its status, a gRPC code by name
    (grpc-js's alternatives capture nothing: the code's name is the word after its number)."""
    if found is None:
        return ""
    status = next((group for group in found.groups() if group), None) or found.group(0).split()[1].rstrip(":")
    return _GRPC_CODES.get(status) or _GRPC_NAMES.get(status.replace("_", "").lower(), status)

# The application's own call to a downstream (another service, an internal API, a partner's) ran out its
# deadline, lost its connection, or was answered by a proxy on the way that the downstream did not answer,
# in the words of its RPC or HTTP client (or the proxy's) rather than a dial's: the request was sent, or
# sent for, and waited. Read, like the dials and answers above, only from the texts already fetched (no
# signal: the log query is unchanged). The Google client libraries' own wrappers of the same gRPC codes
# are GOOGLE_API_WAIT (connector_saturation reads those apart, with their own advice). Each client's words:
# - grpc-go: status.Error's Error(), "rpc error: code = %s desc = %s" with codes.Code's String()
#   ("DeadlineExceeded", "Unavailable"; grpc/grpc-go internal/status/status.go, Error.Error, and
#   codes/code_string.go), e.g. "rpc error: code = DeadlineExceeded
#   desc = context deadline exceeded". An Unavailable that failed to dial holds Go's "dial tcp H:P: ..."
#   in its desc (transport: Error while dialing), which dial_failure reads, host and all.
# - grpcio (Python): _InactiveRpcError / _MultiThreadedRendezvous print _NON_OK_RENDEZVOUS_REPR_FORMAT,
#   "<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.DEADLINE_EXCEEDED\n\tdetails =
#   ..." (grpc/grpc src/python/grpcio/grpc/_channel.py; as logged, repositories and paths UNCONFIRMED),
#   its debug_error_string naming the peer when the peer answered ("Error received from peer
#   ipv4:10.9.0.7:443", likewise as logged).
# - grpc-java: StatusRuntimeException's message, Status.formatThrowableMessage "CODE: description"
#   ("DEADLINE_EXCEEDED: deadline exceeded after 4.999s. [closed=[], open=[[remote_addr=inventory.internal/
#   10.9.0.7:8443]]]": ClientCallImpl's deadline text with its stream's insight, the remote_addr an
#   InetSocketAddress's "name/address:port" or "/address:port"; UNCONFIRMED word for word across versions).
# - @grpc/grpc-js: callErrorFromStatus, `${code} ${Status[code]}: ${details}` ("4 DEADLINE_EXCEEDED: Deadline
#   exceeded after 5.001s,LB pick: 0.000s,remote_addr=10.9.0.7:443"; src/call.ts, the details' remote_addr
#   from its load-balancing call; UNCONFIRMED word for word across versions).
# - Envoy (a Cloud Service Mesh sidecar, an API gateway in front of the downstream): its router's local
#   replies, "upstream request timeout" (504, response flag UT), "upstream connect error or
#   disconnect/reset before headers. reset reason: connection timeout" (503, UF), "no healthy upstream"
#   (503, UH) (envoyproxy/envoy source/common/router/router.cc; UNCONFIRMED word for word across versions).
#   The proxy answered, and where the proxy runs (beside the application or past the connector) the words do
#   not say: its upstream is unknown.
# - Go's net/http: "net/http: timeout awaiting response headers" (Transport.ResponseHeaderTimeout), a Client
#   timeout's "(Client.Timeout exceeded while awaiting headers)" without a quoted URL (Go before 1.14), and
#   golang.org/x/net/http2's errClientConnLost "http2: client connection lost" (transport.go), inside the
#   url.Error `Post "https://H/...": ...` that names the host when it is printed whole (a Client timeout
#   while reading the body too: "(Client.Timeout exceeded while reading body)").
# - Node's undici (fetch): HeadersTimeoutError "Headers Timeout Error" (UND_ERR_HEADERS_TIMEOUT),
#   BodyTimeoutError (UND_ERR_BODY_TIMEOUT), ConnectTimeoutError's code UND_ERR_CONNECT_TIMEOUT (lib/core/
#   errors.js; as logged under fetch's "TypeError: fetch failed", repositories and paths UNCONFIRMED).
# - The JDK's java.net.http.HttpClient: HttpTimeoutException "request timed out" at a request's timeout, and
#   HttpConnectTimeoutException at its connect timeout (java.net.http; as thrown in public logs, their
#   repositories and paths UNCONFIRMED; the JDK's own source UNCONFIRMED here).
# The codes of one client share an alternative, so its anchor is the client's own words before them
# ("rpc error: code = ", "und_err_"): fewer, longer anchors, and each one found is confirmed by a
# `match` of the whole alternation (downstream_waits).
_DOWNSTREAM_WAIT = re.compile(
    r"\brpc error: code = (?:DeadlineExceeded|Unavailable) desc = "
    r"|\bstatus = StatusCode\.(?:DEADLINE_EXCEEDED|UNAVAILABLE)\b"
    r"|\bStatusRuntimeException: (?:DEADLINE_EXCEEDED|UNAVAILABLE)\b"
    r"|\b4 DEADLINE_EXCEEDED: |\b14 UNAVAILABLE: "
    r"|\bupstream request timeout\b|\bupstream connect error or disconnect/reset\b|\bno healthy upstream\b"
    r"|\bnet/http: timeout awaiting response\b|\(Client\.Timeout exceeded|\bhttp2: client connection lost\b"
    r"|\bHeaders Timeout Error\b|\bUND_ERR_(?:HEADERS|BODY|CONNECT)_TIMEOUT\b"
    r"|\bjava\.net\.http\.Http(?:Connect)?TimeoutException\b",
    re.IGNORECASE)
# The address or host such a line names, where its words name one: grpc-java's and grpc-js's remote_addr
# (the address dialled, after grpc-java's "name/"), grpcio's peer, and Go's URL before http2's or
# net/http's words. Asked only of a line _DOWNSTREAM_WAIT matched.
_WAIT_HOST = re.compile(
    r"\bremote_addr=(?:[\w.-]*/)?(\[[0-9a-f:]+\]|[\w.-]+):\d+"
    r"|\bError received from peer ipv[46]:(\[[0-9a-f:]+\]|[\d.]+):\d+"
    r'|"https?://([^/"\s]+)[^"\s]*": (?:http2: client connection lost|net/http: timeout awaiting response)',
    re.IGNORECASE)


# Envoy's own local replies (envoyproxy/envoy source/common/router/router.cc, as _DOWNSTREAM_WAIT's
# comment cites; their meanings: Envoy's access-log response flags, "UF: Upstream connection failure
# in addition to 503 response code", "UH: No healthy upstream hosts in upstream cluster in addition to
# 503 response code", docs "Access logging", command operators %RESPONSE_FLAGS%): a proxy answered
# that it could not open a connection to its upstream, or had no healthy host to try (then it dialled
# nothing at all). Which proxy, the words do not say: a sidecar in the instance (its dial may cross the
# connector), or a downstream's front past it (a Cloud Service Mesh or an Envoy-based load balancer:
# its answer came back across the path, so the path to it works). Asked only of a line
# `downstream_wait` read as a wait.
_PROXY_REPLY = re.compile(r"\bupstream connect error or disconnect/reset before headers\b|\bno healthy upstream\b",
                          re.IGNORECASE)


def proxy_reply(text: str) -> bool:
    """Whether a downstream wait's line (`downstream_wait`) holds an Envoy's own reply that it reached
    no upstream (`_PROXY_REPLY`)."""
    return _PROXY_REPLY.search(text) is not None


def downstream_wait(text: str) -> str | None:
    """The host a call that waited on a downstream names (lower case, no port), "" when the line says so
    but names none (or names loopback: a proxy beside the application, whose upstream is unknown), or
    None when the line is no such wait."""
    return _wait_of(leftmost(_DOWNSTREAM_WAIT_WORDED, text), text)


def _wait_of(found: "re.Match[str] | None", text: str) -> str | None:
    if found is None:
        return None
    named = _WAIT_HOST.search(text)
    if named is None:
        return ""
    host = next(group for group in named.groups() if group is not None).rstrip(".").lower()
    host = host if named.group(3) is None else without_port(host)
    address = host_address(host)
    return "" if host in _LOOPBACK or (address is not None and address.is_loopback) else host



class _Worded(NamedTuple):
    """A pattern and, for each of its top-level alternatives, its anchor (its longest literal run that
    a match begins a bounded width before, lower case: `_bounded_run`) and that width, as the one-pass
    search reads `_PATTERNS` (`_anchor_of`, `_reach`); None when some alternative has no such run.
    `alone`: each alternative compiled by itself (`_alone`), for ASCII text only."""
    pattern: re.Pattern[str]
    anchors: tuple[tuple[str, int], ...] | None
    alone: tuple[re.Pattern[str], ...] = ()


def _worded(pattern: re.Pattern[str]) -> _Worded:
    anchors = []
    for alternative in _alternatives(pattern.pattern):
        bounded = _bounded_run(alternative)
        if bounded is None:
            return _Worded(pattern, None)
        anchors.append(bounded)
    return _Worded(pattern, tuple(anchors), _alone(pattern))


def _alone(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], ...]:
    """Each top-level alternative of `pattern` (case-insensitive) compiled by itself, as the `re` module's
    own compiler compiles the parsed pattern (`re._compiler.compile` takes a parsed `SubPattern`), with
    the whole pattern's groups: a match of one has the groups, span and text the whole pattern's match
    has when that alternative is the one that matched, the other alternatives' groups None. Applied to
    ASCII text only, so compiled with re.ASCII where that changes nothing there (`_ascii_alike`): a
    letter is case-folded by a table, not Unicode's. At a given start the whole pattern's match is its
    first alternative that matches there (nothing follows the alternation), which `_leftmost_alone`
    relies on."""
    from re import _compiler as sre_compile
    from re import _parser as sre_parse

    flags = re.IGNORECASE | (re.ASCII if _ascii_alike(pattern.pattern) else 0)
    whole = sre_parse.parse(pattern.pattern, flags)
    return tuple(sre_compile.compile(sre_parse.SubPattern(whole.state, alternative), flags)
                 for alternative in _alternatives_of(list(whole)))


def _bounded_run(alternative: list[tuple[object, object]]) -> tuple[str, int] | None:
    """The alternative's longest literal run (lower case, ASCII) that a match begins a bounded width
    before, and that width (the items before it, as the `re` module's parser measures them:
    `SubPattern.getwidth`); None when none has (no literal, or only after a `*` or a `+`)."""
    from re import _parser as sre_parse
    from re._constants import LITERAL, MAXREPEAT

    best: tuple[str, int] | None = None
    i = 0
    while i < len(alternative):
        if alternative[i][0] is not LITERAL:
            i += 1
            continue
        j = i
        while j < len(alternative) and alternative[j][0] is LITERAL:
            j += 1
        run = "".join(chr(code) for _, code in alternative[i:j]).lower()
        try:
            widest = sre_parse.SubPattern(sre_parse.State(), list(alternative[:i])).getwidth()[1]
        except Exception:   # a group reference's width is not known from the items before it alone
            widest = MAXREPEAT
        if widest >= MAXREPEAT:
            break           # every later run lies past the same unbounded part
        if run.isascii() and (best is None or len(run) > len(best[0])):
            best = (run, widest)
        i = j
    return best


def leftmost(worded: _Worded, text: str) -> "re.Match[str] | None":
    """`worded.pattern.search(text)`, tried only where a match may begin: from each hit of an
    alternative's anchor (in the lower-cased text) back as far as its reach, that alternative alone
    (`_leftmost_alone`): any match holds its alternative's anchor no further than its reach after it
    begins. An ASCII text only, where lower-casing is case-insensitive matching; otherwise, or when an
    anchor is unbounded, the search itself."""
    if worded.anchors is None or not text.isascii():
        return worded.pattern.search(text)
    lowered, hits = text.lower(), []
    for alternative, (anchor, reach) in enumerate(worded.anchors):
        at = lowered.find(anchor)
        while at >= 0:
            hits.append((at - reach, alternative, at))
            at = lowered.find(anchor, at + 1)
    return _leftmost_alone(worded, text, hits)


def _leftmost_alone(worded: _Worded, text: str, hits: list[tuple[int, int, int]]) -> "re.Match[str] | None":
    """The match `worded.pattern.search(text)` finds, from its hits: (where a match may begin at the
    earliest, the alternative whose anchor it is, where the anchor is), in any order. The whole
    pattern's leftmost match begins at the least start where some alternative matches, and is the
    first such alternative there (`_alone`), which holds its anchor within its reach: so the least
    (start, alternative) of a hit's that matches is it. Each hit tries its own alternative alone,
    from its earliest start to its anchor, the hits by earliest start, until none can come first (a
    match of the whole alternation at each start cost several times as much: every alternative tried)."""
    best, best_start, best_alternative = None, len(text) + 1, 0
    alone = worded.alone
    for earliest, alternative, at in sorted(hits):
        if earliest > best_start:
            break
        match = alone[alternative].match
        for start in range(earliest if earliest > 0 else 0, at + 1):
            if start > best_start or (start == best_start and alternative >= best_alternative):
                break
            found = match(text, start)
            if found is not None:
                best, best_start, best_alternative = found, start, alternative
                break
    return best


def _dfa(words: Iterable[str]) -> ahocorasick_rs.BytesAhoCorasick:
    """An automaton reporting every occurrence of every one of the ASCII `words`, one inside another
    included (MatchKind.Standard, asked for overlapping matches: see _built), as ahocorasick_rs's DFA over
    bytes, built once at import: a functools cache would be cleared with the per-text caches."""
    return ahocorasick_rs.BytesAhoCorasick([word.encode("ascii") for word in words],
                                           matchkind=ahocorasick_rs.MatchKind.Standard,
                                           implementation=ahocorasick_rs.Implementation.DFA)


def _line_hits(plain: list[str], automaton: ahocorasick_rs.BytesAhoCorasick) -> Iterator[tuple[int, int, int]]:
    """(line, offset in that line, word number) of every hit of `automaton` (`_dfa`) in the ASCII `plain`
    texts, joined and lower-cased once (`_haystack`) and searched as bytes (a byte's offset is its
    character's, and a str haystack has ahocorasick_rs map every byte to its character at each call),
    line by line (`_in_line_order`)."""
    key = tuple(plain)
    lowered, starts = _haystack(key)
    hits: _WordHits = ([], [], [])
    _file_hits(automaton.find_matches_as_indexes(lowered, overlapping=True), starts, hits)
    return _in_line_order(hits)


# Hits of words as three columns of ints (which the garbage collector does not track): each hit's line,
# its offset in that line, and the word's number.
_WordHits = tuple[list[int], list[int], list[int]]


def _file_hits(found: list[tuple[int, int, int]], starts: list[int], hits: _WordHits) -> None:
    """Each of the automaton's hits `found` (word number, start, end) filed by its line, found by
    stepping from the line of the hit before (they come by their ends: `_search`) or, for a hit
    before that line, by bisection."""
    lines, ats, words = hits
    line = 0
    for word, at, _ in found:
        if at < starts[line]:
            line = bisect_right(starts, at) - 1
        while at >= starts[line + 1]:
            line += 1
        lines.append(line)
        ats.append(at - starts[line])
        words.append(word)


def _in_line_order(hits: _WordHits) -> Iterator[tuple[int, int, int]]:
    """(line, offset, word) of each of `hits`, line by line: a reader answers each line when its last
    hit is read, holding one line's hits only. Hits that come by their ends come by line already (no
    word holds the separator); in any other order they are sorted by line, each line's in their order."""
    lines = hits[0]
    if any(map(operator.gt, lines, islice(lines, 1, None))):
        return iter(sorted(zip(*hits), key=operator.itemgetter(0)))
    return zip(*hits)


@lru_cache(maxsize=1)
def _haystack(plain: tuple[str, ...]) -> tuple[bytes, list[int]]:
    """The ASCII `plain` texts joined by `_SEPARATOR` and lower-cased, as bytes, and where each starts
    (and one past the last): the one search (`_search`), the dials' and answers' and the waits' ask it
    of the same distinct texts in one diagnosis, so the last one asked is kept (and cleared with the
    per-text caches). The starts are each line and its separator summed in C (operator's functions,
    not bound methods of an int such as `(1).__add__`, whose every call builds a tuple of its
    arguments)."""
    lowered = _SEPARATOR.join(plain).lower().encode("ascii")
    return lowered, list(accumulate(map(operator.add, map(len, plain), repeat(len(_SEPARATOR))), initial=0))


def dials_and_answers(distinct: Iterable[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    """`dial_failure` and `downstream_answer` of each of the `distinct` texts, each pattern tried only
    where one of its alternatives' anchors is (`_WORDS`, found in one search over the ASCII texts
    joined and lower-cased once, as `_search` finds anchors): None and "" for a text holding none. A
    non-ASCII text is read whole (lower-casing is not case-insensitive matching there, see _classified)."""
    distinct = list(distinct)
    if "".join(distinct).isascii():   # nearly every read: one test in C, not two passes over the texts
        plain, dials, answers = distinct, {}, {}
    else:
        plain = [text for text in distinct if text.isascii()]
        dials = {text: dial_failure(text) for text in distinct if not text.isascii()}
        answers = {text: downstream_answer(text) for text in dials}
    if plain:
        dials.update(dict.fromkeys(plain))
        answers.update(dict.fromkeys(plain, ""))
        # Each line answered as soon as its last hit is read (the hits come line by line): only one
        # line's hits are held, not every hit line's lists at once (objects the collector counts).
        current, kinds = -1, None
        for line, at, word in _dial_and_answer_hits(plain):
            if line != current:
                if kinds is not None:
                    _answer_line(plain[current], kinds, dials, answers)
                current, kinds = line, ([], [], [])
            kind, reach, alternative = _WORD_OWNERS[word]
            kinds[kind].append((at - reach, alternative, at))
        if kinds is not None:
            _answer_line(plain[current], kinds, dials, answers)
    return dials, answers


def _dial_and_answer_hits(plain: list[str]) -> Iterator[tuple[int, int, int]]:
    """(line, offset, word number in _WORDS) of each hit of a dial's or answer's word in the ASCII `plain`
    texts, line by line: those the one search (`_search`) filed as it walked the same texts (the log
    index's distinct texts, all new to it: a cold read), else from a search of their own."""
    kept = _WORD_HITS[0]   # read once: another thread may replace it meanwhile
    if kept is not None and kept[0] == tuple(plain):
        return _in_line_order(kept[1])
    return _line_hits(plain, _WORDS_AUTOMATON)


def _answer_line(text: str, kinds: tuple[list[tuple[int, int, int]], ...], dials: dict[str, str | None],
                 answers: dict[str, str]) -> None:
    """dials_and_answers' answers for one line, from its hits of each kind (named dials, hostless dials,
    answers)."""
    named, hostless, answered = kinds
    # A kind with no hit in the line has no match there: not asked (most lines hold one kind's words).
    dials[text] = _dial_of(_leftmost_alone(_DIAL_NAMED_WORDED, text, named) if named else None,
                           lambda: hostless and _leftmost_alone(_DIAL_HOSTLESS_WORDED, text, hostless))
    answers[text] = _answer_of(_leftmost_alone(_DOWNSTREAM_ANSWER_WORDED, text, answered) if answered else None)


def downstream_waits(distinct: Iterable[str]) -> dict[str, str | None]:
    """`downstream_wait` of each of the `distinct` texts, the pattern tried only where one of its
    alternatives' anchors is (`_WAIT_WORDS`, found in one search over the ASCII texts joined and
    lower-cased once, as dials_and_answers does): None for a text holding none. A search of its own,
    not a fourth kind of dials_and_answers': only connector_saturation's check of the waits asks it,
    after the checks before it found nothing, so a diagnosis that stops before it pays nothing for it."""
    distinct = list(distinct)
    plain = [text for text in distinct if text.isascii()]
    waits = {text: downstream_wait(text) for text in distinct if not text.isascii()}
    waits.update(dict.fromkeys(plain))
    if not plain:
        return waits
    hits: dict[int, list[tuple[int, int, int]]] = {}
    for line, at, word in _line_hits(plain, _WAIT_AUTOMATON):
        hits.setdefault(line, []).append((at - _WAIT_REACHES[word], word, at))   # its word is its alternative
    for line, waited in hits.items():
        text = plain[line]
        waits[text] = _wait_of(_leftmost_alone(_DOWNSTREAM_WAIT_WORDED, text, waited), text)
    return waits


# The Cloud SQL instance a connector's refusal names: the Auth Proxy's and the Go connector's
# 'connection name = "P:R:I"' (cloud-sql-go-connector errtype genericError.Error: "%v (connection
# name = %q)", GoogleCloudPlatform/cloud-sql-go-connector errtype/errors.go), the Auth Proxy v2's "[P:R:I]"
# before its words, and the Python connector's Admin API URL, ".../projects/P/instances/I/connectSettings"
# (cloud-sql-python-connector google/cloud/sql/connector/client.py _get_metadata), naming no region. A
# domain-scoped project keeps its
# "example.com:" part (UNCONFIRMED: no Google page found on domain-scoped connection names).
_CONNECTION_NAME = r"((?:[a-z0-9.-]+:)?[a-z][a-z0-9-]*):([a-z]+-[a-z]+\d+):([a-z0-9][a-z0-9-]*)"
_INSTANCE_NAMED = re.compile(rf'connection name = "{_CONNECTION_NAME}"|\[{_CONNECTION_NAME}\]'
                             r"|/projects/((?:[a-z0-9.-]+:)?[a-z][a-z0-9-]*)/instances/([a-z0-9][a-z0-9-]*)"
                             r"/connectSettings",
                             re.IGNORECASE)


def instance_named(text: str) -> tuple[str, str, str] | None:
    """(project, region, instance) a connector's line names, lower case; region "" where the line
    names none (the Python connector's URL); None when it names no instance."""
    found = _INSTANCE_NAMED.search(text)
    if found is None:
        return None
    g = [x.lower() if x else "" for x in found.groups()]
    if found.group(1):
        return g[0], g[1], g[2]
    if found.group(4):
        return g[3], g[4], g[5]
    return g[6], "", g[7]


def without_port(authority: str) -> str:
    """A URL authority's host: `h:443` -> `h`; an IPv6 literal keeps its brackets whole, `[2001:db8::1]:8080`
    -> `[2001:db8::1]` (RFC 3986 §3.2.2: "A host identified by an Internet Protocol literal address,
    version 6 ... is distinguished by enclosing the IP literal within square brackets"). Undici names
    an address as HOST:PORT with the port last, so an unbracketed IPv6 address loses only its port."""
    if authority.startswith("["):
        end = authority.find("]")
        return authority[:end + 1] if end > 0 else authority
    host, colon, port = authority.rpartition(":")
    return host if colon and port.isdigit() else authority


@lru_cache(maxsize=256)   # a host name is short, and a failure names a few hosts over and over
def host_address(host: str) -> "ipaddress.IPv4Address | ipaddress.IPv6Address | None":
    """The IP address a host names (an IPv6 literal with or without its brackets), or None for a name."""
    try:
        return ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
    except ValueError:
        return None


_COMPILED = {signal: re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
             for signal, patterns in _PATTERNS.items()}


# Each refusal's patterns, to name what a DB_REFUSED line said: asked only of the few distinct texts
# the one pass already marked DB_REFUSED, never of the whole read.
_REFUSALS = {refusal: re.compile("|".join(f"(?:{t.pattern})" for t in DB_ERROR_TEXTS if t.refusal == refusal),
                                 re.IGNORECASE)
             for refusal in dict.fromkeys(t.refusal for t in DB_ERROR_TEXTS if t.refusal)}


def refusal_of(text: str) -> str:
    """What the database answered in `text` (a Refusal), or "" when the text holds no refusal. Each
    kind's regex runs only on a text that holds one of its anchors (`_REFUSAL_ANCHORS`, the literal
    runs its matches must contain, as the one pass finds them): a read's refusals are many distinct
    lines (each with its own time and request id), asked once per diagnosis."""
    if not text.isascii():   # case-insensitive matching is not lower-casing here (see _classified)
        return next((refusal for refusal, pattern in _REFUSALS.items() if pattern.search(text)), "")
    lowered = text.lower()
    for refusal, anchors in _REFUSAL_ANCHORS:
        if any(anchor[0] in lowered for anchor in anchors) and _REFUSALS[refusal].search(text):
            return refusal
    return ""


def refusals_of(texts: Iterable[str]) -> dict[str, str]:
    """`refusal_of` of each distinct text. A text the one search classified (`classify_all`) and
    found refused is named by it already (`_NAMED`); the others are named as `_refusals_searched`
    names them: all at once, exactly as each alone."""
    distinct = list(dict.fromkeys(texts))
    # What is known now, read once: another thread may empty `_NAMED` meanwhile.
    named = dict(zip(distinct, map(_NAMED.get, distinct)))
    unnamed = [text for text, refusal in named.items() if refusal is None]
    if unnamed:
        named.update(_refusals_searched(unnamed))
    return named


def _refusals_searched(distinct: list[str]) -> dict[str, str]:
    """`refusal_of` of each of `distinct`, the ASCII ones in one search as `_search` does: the texts
    joined and lower-cased once, each kind's anchors found in the joined string, the kind's regex
    confirming only a line that holds one. The first kind (in `_REFUSALS`' order) that matches a
    line names it, as in `refusal_of`."""
    plain = [text for text in distinct if text.isascii()]
    named = {text: refusal_of(text) for text in distinct if not text.isascii()}
    if plain:
        lowered = _SEPARATOR.join(plain).lower()
        starts = list(accumulate(map(operator.add, map(len, plain), repeat(len(_SEPARATOR))), initial=0))
        kinds: list[str] = [""] * len(plain)
        for refusal, anchors in _REFUSAL_ANCHORS:
            # Each of the kind's patterns from its own anchor, as _search confirms it: a search
            # from where the anchor begins the pattern, none where the anchor is all of it.
            for anchor, whole, leads, pattern in anchors:
                at = lowered.find(anchor)
                while at >= 0:
                    line = bisect_right(starts, at) - 1
                    if not kinds[line] and (whole or pattern.search(plain[line], at - starts[line] if leads else 0)):
                        kinds[line] = refusal
                    at = lowered.find(anchor, starts[line + 1])
        # Kinds are searched in _REFUSALS' order and a named line is not named again: a line two
        # kinds match keeps the first, as in refusal_of.
        named.update(zip(plain, kinds))
    return {text: named[text] for text in distinct}


def refusal_quote(text: str, limit: int = 160) -> str:
    """The part of `text` that says the refusal (from a little before it), at most `limit`
    characters cut between words (excerpts.excerpt: a word cut in two reads as another word): a long driver
    line keeps the server's words past its first 120 characters. The
    match is the first kind's (in `_REFUSALS`' order) whose pattern matches, which is what
    `refusal_of` names: named by the one search when it classified the text (`refusals_of`), only
    that kind's pattern is searched, not each kind's before it."""
    kind = refusals_of((text,))[text]
    found = _REFUSALS[kind].search(text) if kind else None
    start = max(0, found.start() - 40) if found else 0
    return excerpt(text, start, limit, latest=found.start() if found else None)


def signals_in(entry: LogRecord) -> set[LogSignal]:
    return set(classify(entry.text))


def classify(text: str) -> frozenset[LogSignal]:
    """Every signal whose patterns match somewhere in `text`: exactly what `signals_by_pattern` says."""
    return classify_all((text,))[text]


def read_signals(text: str) -> tuple[frozenset[LogSignal], str]:
    """What the diagnosis reads in a text: its signals and the database's refusal (shared/redaction.py keeps a value
    after a secret's name whose redaction would change this: shared/gcp/logging.py)."""
    return classify(text), refusal_of(text)


def classify_all(texts: Iterable[str]) -> dict[str, frozenset[LogSignal]]:
    """Each distinct text of `texts` and its signals, exactly what `signals_by_pattern` says of it.

    A log read repeats the same lines many times over (Cloud Run's request-log texts verbatim):
    each distinct text is classified once, all of them in one search (`_search`). Logs also repeat
    from one read to the next (a sweep reads the incident's logs again): a text stays known while
    it is in `_KNOWN`. Given a dict (a Counter of the texts), its keys are the distinct texts, in
    its order: they are not copied again."""
    known = _KNOWN
    if len(known) > _KNOWN_LIMIT:
        _forget()
    distinct = texts if isinstance(texts, dict) else dict.fromkeys(texts)
    if known.keys().isdisjoint(distinct):   # a read never seen before: all of it at once
        found = _classified(list(distinct))
        known.update(found)
        return found
    # What is known now, read once: another thread may empty `_KNOWN` meanwhile.
    found = dict(zip(distinct, map(known.get, distinct)))
    new = [text for text, signals in found.items() if signals is None]
    if new:
        fresh = _classified(new)
        known.update(fresh)
        found.update(fresh)
    return found


def _classified(texts: list[str]) -> dict[str, frozenset[LogSignal]]:
    """Each of `texts` (distinct) and its signals, in their order."""
    if "".join(texts).isascii():
        return _search(texts)
    found = _search([text for text in texts if text.isascii()])
    # Case-insensitive matching lets a few non-ASCII letters match ASCII ones (the Kelvin sign a
    # "k", a long s an "s"), which lower-casing does not: such text takes the exact path.
    found.update((text, _shared(signals_by_pattern(text))) for text in texts if not text.isascii())
    return {text: found[text] for text in texts}


_KNOWN: dict[str, frozenset[LogSignal]] = {}   # texts already classified, and their signals
_KNOWN_LIMIT = 4096   # texts; past it the memory of texts starts again empty
# The refused texts the one search classified, and what each refused (`refusal_of` of it): the search
# confirms each refusal pattern it finds, so it knows the kind at no further cost (refusals_of).
_NAMED: dict[str, str] = {}


def _forget() -> None:
    """Every memory of texts starts again empty."""
    _KNOWN.clear()
    _NAMED.clear()
    _WORD_HITS[0] = None


classify_all.cache_clear = _forget   # type: ignore[attr-defined]  # as functools' caches have it

_NONE: frozenset[LogSignal] = frozenset()
_SIGNAL_SETS: dict[frozenset[LogSignal], frozenset[LogSignal]] = {}


def _shared(signals: frozenset[LogSignal]) -> frozenset[LogSignal]:
    """One shared frozenset per combination of signals (a handful), not one per line: hundreds of
    live containers per read would set off the garbage collector inside the diagnosis."""
    if not signals:
        return _NONE
    return _SIGNAL_SETS.setdefault(signals, signals)


def signals_by_pattern(text: str) -> frozenset[LogSignal]:
    """The reference: each signal's whole alternation searched on its own, case-insensitively."""
    return frozenset(signal for signal, pattern in _COMPILED.items() if pattern.search(text))


# --- the one search -----------------------------------------------------------------------------
#
# A regex search tries every alternative at every position of the line (Python's engine has no
# fast path for a case-insensitive alternation), about 40 alternatives x 100 characters per line.
# But every alternative holds a run of literal characters (its anchor) that any line it matches
# must contain, case aside. So the distinct texts are lower-cased and joined into one string, and
# every anchor is looked for in it at once, in one pass in compiled code: an Aho-Corasick automaton
# of all the anchors (ahocorasick_rs, the Rust aho-corasick crate's DFA), built once, reports each
# occurrence of each anchor, overlapping ones and one inside another included. One `str.find` scan
# per anchor (about 70 scans over all the text, and one more call per hit) cost about 0.5 ms more
# on a 1,000-entry read, pyahocorasick's automaton about 0.25 ms more (its walk follows a node's
# children and its fail links one by one for each character: some 115 instructions a character
# against 22 here, the text walked as bytes; docs/performance.md); one `re` alternation of the
# anchors, far more (Python's engine tries each position in turn). Each hit is mapped back to its
# line by the lines' start offsets (stepping on from the hit before: the hits come in order). The
# regex runs only to confirm a line whose anchor is there, and not at all for an alternative that
# is nothing but its anchor. Anchors are read from the patterns themselves, so a pattern added to
# _PATTERNS is covered without more work.
#
# Exactness: for ASCII text lower-casing is exactly what IGNORECASE compares (non-ASCII text takes
# `signals_by_pattern`), and lower-casing ASCII keeps every offset. No anchor holds the separator,
# so no hit spans two lines, whatever the lines themselves hold. A line that matches an
# alternative holds its anchor. Where the anchor begins the alternative, every match of it starts
# at an occurrence of the anchor, and every occurrence is a hit: the pattern is matched (`match`,
# anchored there) at each hit until one matches, instead of searched over the rest of the line
# (a match from an offset still sees the characters before it, for \b and look-behinds; a match of
# another alternative there is a match of the pattern too). Otherwise the pattern is searched
# from the line's start, once, at the anchor's first hit in the line.

_SEPARATOR = "\n"


class _Anchor(NamedTuple):
    text: str                  # lower-cased; "" when the alternative has no literal run
    bit: int                   # the bits (_BITS) of every signal its pattern belongs to, and of its
                               # refusal kind (_KIND_BITS) if it is a refusal's
    pattern: re.Pattern[str]   # the whole pattern the alternative belongs to, case-insensitive, and
                               # applied to ASCII text only: compiled with re.ASCII where that changes
                               # nothing there (`_ascii_alike`)
    whole: bool                # the alternative is its anchor and nothing else: a hit is a match
    leads: bool                # the alternative begins with its anchor
    reach: int | None = None   # how far before its anchor a match of the alternative may begin (the
                               # widest its part before the anchor matches); None: unbounded
    needs: frozenset[str] = frozenset()   # the alternative's other runs of literal characters, lower-cased
                               # (`_needs`): a line the alternative matches holds each of them too


def _alternatives(pattern: str) -> list[list[tuple[object, object]]]:
    """The top-level alternatives of `pattern`, as the `re` module's own parser reads them."""
    return _alternatives_of(_parsed(pattern))


def _parsed(pattern: str) -> list[tuple[object, object]]:
    from re import _parser as sre_parse   # the parser the re module itself compiles with

    return list(sre_parse.parse(pattern, re.IGNORECASE))


def _alternatives_of(items: list[tuple[object, object]]) -> list[list[tuple[object, object]]]:
    from re._constants import BRANCH

    return items[0][1][1] if len(items) == 1 and items[0][0] is BRANCH else [items]


def _ascii_alike(source: str) -> bool:
    """Whether the pattern `source` matches ASCII text alike with re.ASCII as without. On ASCII text
    the flag changes only what \\s and \\S hold (Unicode's whitespace holds \\x1c-\\x1f, ASCII's
    does not) and a non-ASCII character's case folding (the Kelvin sign folds to "k"); \\w, \\d and
    \\b hold the same ASCII characters either way (the `re` module's docs, "Regular Expression
    Syntax"). So a source written in ASCII with no \\s, \\S and no escape that names a character by
    its code (\\x, \\u, \\U, \\N, an octal or a group's number) is such: read from the source text,
    over-cautiously (an escaped backslash before an "s" counts as \\s)."""
    return source.isascii() and _CODED_OR_SPACE.search(source) is None


_CODED_OR_SPACE = re.compile(r"\\[sSxuUN0-9]")


def _literal_runs(alternative: list[tuple[object, object]]) -> tuple[str, str]:
    """(its leading run of literal characters, its longest run) as written."""
    from re._constants import LITERAL

    best = run = ""
    lead = None
    for op, value in alternative:
        if op is LITERAL:
            run += chr(value)
        else:
            lead = run if lead is None else lead
            run = ""
        best = max(best, run, key=len)
    return (run if lead is None else lead), best


def _needs(alternative: list[tuple[object, object]], anchor: str) -> frozenset[str]:
    """The runs of literal characters at the alternative's own level, lower-cased, that any line it
    matches holds besides its `anchor`: each is a LITERAL item of the alternative's sequence (as the
    `re` module's parser reads it: CPython Lib/re/_parser.py, whose SubPattern holds a group, a repeat,
    an alternation or a look-around as one item of its own), so every match of
    the alternative matches each of them, case aside. Runs shorter than _NEED_LEAST (nearly every line
    holds ": "), inside the anchor, or not ASCII (lower-casing is case-insensitive matching on ASCII
    only: see _classified) are left out: leaving a run out only lets more lines reach the regex."""
    from re._constants import LITERAL

    runs, run = [], ""
    for op, value in (*alternative, (None, None)):
        if op is LITERAL:
            run += chr(value)
            continue
        runs.append(run.lower())
        run = ""
    return frozenset(r for r in runs if len(r) >= _NEED_LEAST and r.isascii() and r not in anchor)


# Characters: a shorter run (": ", "at ", "://") is in nearly every line that holds the anchor, so
# looking for it costs a call and turns no line away.
_NEED_LEAST = 4


def _anchors(pattern: str) -> tuple[str, ...]:
    """For each top-level branch of `pattern`, its longest run of literal characters, lower-cased:
    a line the branch matches contains it. "" (no usable anchor) lets every line through."""
    return tuple(_anchor_of(a)[0] for a in _alternatives(pattern))


def _anchor_of(alternative: list[tuple[object, object]]) -> tuple[str, bool, bool]:
    """(anchor, whole, leads) of one alternative (see _Anchor)."""
    lead, best = _literal_runs(alternative)
    if not best.isascii():
        return "", False, False
    anchor = best.lower()
    return anchor, bool(anchor) and len(best) == len(alternative), bool(anchor) and lead == best


def _reach(alternative: list[tuple[object, object]], anchor: str) -> int | None:
    """How far before its `anchor` (its first longest literal run, `_literal_runs`) a match of the
    alternative may begin: the widest the items before that run match, as the `re` module's own
    parser measures it (`SubPattern.getwidth`); None when unbounded (a `*`, a `+`, a `{n,}`) or not
    measurable (a group reference)."""
    from re import _parser as sre_parse
    from re._constants import LITERAL, MAXREPEAT

    run = start = 0
    for i, (op, _) in enumerate(alternative):   # the first run as long as the anchor is the anchor
        run = run + 1 if op is LITERAL else 0
        if run == len(anchor):
            start = i + 1 - run
            break
    try:
        widest = sre_parse.SubPattern(sre_parse.State(), list(alternative[:start])).getwidth()[1]
    except Exception:   # a group reference's width is not known from the items before it alone
        return None
    return widest if widest < MAXREPEAT else None


def _anchored() -> tuple[_Anchor, ...]:
    """Each anchor of each pattern once, with the bits of every signal the pattern belongs to: a
    pattern in two signals (a database's refusal is DB_CONNECTION and DB_REFUSED) is scanned for and
    confirmed once, and a match sets both bits."""
    found: dict[tuple[str, str], _Anchor] = {}
    for signal, patterns in _PATTERNS.items():
        for source in patterns:
            # Applied only to ASCII text (non-ASCII text takes `signals_by_pattern` and `_REFUSALS`),
            # where re.ASCII changes nothing for such a pattern and makes matching cheaper: a letter
            # is case-folded by a table, not Unicode's (about a quarter of the confirming regexes'
            # instructions).
            items = _parsed(source)
            pattern = re.compile(source, re.IGNORECASE | (re.ASCII if _ascii_alike(source) else 0))
            for alternative in _alternatives_of(items):
                anchor, whole, leads = _anchor_of(alternative)
                reach = 0 if leads else _reach(alternative, anchor) if anchor else None
                if _SEPARATOR in anchor:
                    raise ValueError(f"{source!r}: an anchor may not hold the separator {_SEPARATOR!r}")
                key = (anchor, source)
                known = found.get(key)
                if known is not None and not known.bit & _BITS[signal]:   # the same pattern in another signal
                    found[key] = known._replace(bit=known.bit | _BITS[signal])
                    continue
                # The same anchor in two alternatives of one pattern: a hit is a match if either is
                # nothing but it, the search may start from it only if both begin with it, and from
                # as far before it as either may begin.
                # A line either matches holds only the runs both need.
                needs = _needs(alternative, anchor) if anchor else frozenset()
                if known is not None:
                    reach = None if reach is None or known.reach is None else max(reach, known.reach)
                    needs &= known.needs
                # The bits of the signals the anchor was already filed under are kept: a pattern in two signals
                # whose alternatives share an anchor was otherwise filed under the last signal alone.
                bits = _BITS[signal] | _KIND_BITS.get(source, 0) | (known.bit if known is not None else 0)
                found[key] = _Anchor(anchor, bits, pattern,
                                     whole or (known is not None and known.whole),
                                     leads and (known is None or known.leads), reach, needs)
    return tuple(found.values())


_BITS = {signal: 1 << i for i, signal in enumerate(LogSignal)}
_SIGNAL_BITS = (1 << len(_BITS)) - 1
# Above the signals' bits, one bit per refusal kind, in `_REFUSALS`' order; a refusal's pattern
# carries its kind's bit (a pattern two kinds share, both), so a line's kinds are known from the
# search: each kind's bit is set when one of its patterns is confirmed on the line, as DB_REFUSED's is.
_KINDS = tuple(_REFUSALS)
_KIND_BITS = {source: sum(1 << (len(_BITS) + k) for k, kind in enumerate(_KINDS)
                          if source in {t.pattern for t in DB_ERROR_TEXTS if t.refusal == kind})
              for source in {t.pattern for t in DB_ERROR_TEXTS if t.refusal}}
# Every combination of signals, by its bits: one shared frozenset each.
_BY_BITS = tuple(_shared(frozenset(signal for signal, bit in _BITS.items() if bits & bit))
                 for bits in range(1 << len(_BITS)))
SIGNAL_COMBINATIONS: tuple[frozenset[LogSignal], ...] = _BY_BITS   # every set of signals a text can carry
_ANCHORS = _anchored()
# The failed dials' and downstream answers' patterns with their alternatives' anchors (`leftmost`), and
# the anchors a line must hold to match any (`dials_and_answers`): the application's every line is
# asked, most of which are neither, and a regex of several alternatives costs 10-20 us a line where
# each anchor's hits cost about one.
_DIAL_NAMED_WORDED = _worded(_DIAL_NAMED)
_DIAL_HOSTLESS_WORDED = _worded(_DIAL_HOSTLESS)
_DOWNSTREAM_ANSWER_WORDED = _worded(_DOWNSTREAM_ANSWER)
_DOWNSTREAM_WAIT_WORDED = _worded(_DOWNSTREAM_WAIT)
# Every anchor of the three, and for each its pattern (0: _DIAL_NAMED, 1: _DIAL_HOSTLESS, 2:
# _DOWNSTREAM_ANSWER), its alternative's reach and number. Each pattern has an anchor per alternative (checked
# at import: dials_and_answers tries a pattern only where one is), and so has _DOWNSTREAM_WAIT's
# (downstream_waits, its own search: _WAIT_WORDS).
_WORDED = (_DIAL_NAMED_WORDED, _DIAL_HOSTLESS_WORDED, _DOWNSTREAM_ANSWER_WORDED)
assert all(w.anchors for w in (*_WORDED, _DOWNSTREAM_WAIT_WORDED)), \
    "an alternative of a dial, answer or wait pattern has no bounded anchor"
_WORDS = tuple(anchor for w in _WORDED for anchor, _ in w.anchors)
_WORD_OWNERS = tuple((kind, reach, alternative) for kind, w in enumerate(_WORDED)
                     for alternative, (_, reach) in enumerate(w.anchors))
_WORDS_AUTOMATON = _dfa(_WORDS)
_WAIT_WORDS = tuple(anchor for anchor, _ in _DOWNSTREAM_WAIT_WORDED.anchors)
_WAIT_REACHES = tuple(reach for _, reach in _DOWNSTREAM_WAIT_WORDED.anchors)
_WAIT_AUTOMATON = _dfa(_WAIT_WORDS)
_AUTOMATON: list = [None, None]   # [the anchors it was built of, _built(them)]
# The last search's texts (a tuple) and the hits of _WORDS it filed in them (`_search`, read by
# dials_and_answers): one slot, replaced whole.
_WORD_HITS: list = [None]


# Each refusal kind's anchors, as (text, whole, leads, its pattern) from _ANCHORS: a text none of
# them is in matches none of the kind's patterns (refusal_of, refusals_of).
_REFUSAL_ANCHORS = tuple(
    (refusal, tuple((a.text, a.whole, a.leads, a.pattern) for a in _ANCHORS
                    if a.bit & _BITS[LogSignal.DB_REFUSED]
                    and a.pattern.pattern in {t.pattern for t in DB_ERROR_TEXTS if t.refusal == refusal}))
    for refusal in _REFUSALS)


def _search(texts: list[str]) -> dict[str, frozenset[LogSignal]]:
    """Each of `texts` (distinct, ASCII) and its signals, in their order."""
    if not texts:
        return {}
    # The texts joined and lower-cased as bytes, and where each line starts in them (and one past the
    # end): kept for the dials' and answers' search of the same texts (`_haystack`).
    key = tuple(texts)
    lowered, starts = _haystack(key)
    # Each line's signals so far as bits (_BITS, and its refusal kinds above them): ints, which the
    # garbage collector does not track.
    found = [0] * len(texts)
    automaton, confirms, unanchored, worded = _automaton()
    # The hits of the dials' and answers' words (_WORDS), filed for dials_and_answers (`_WORD_HITS`).
    word_hits: _WordHits = ([], [], [])
    word_lines, word_ats, word_numbers = word_hits
    # For each anchor text, the line of its last hit: a regex searched from the line's first hit (less
    # its reach) sees every later hit in the line, so a later hit needs no second search.
    last = [-1] * len(confirms)
    # Searched as bytes: the text is ASCII, so a byte's offset is its character's (a str haystack
    # has ahocorasick_rs build a byte-to-character map of the whole text at every call).
    line = 0
    for number, at, _ in automaton.find_matches_as_indexes(lowered, overlapping=True):
        # The hit's line. An overlapping search's state "will advance through the haystack itself"
        # (the crate's docs, `automaton::OverlappingState`): a hit is reported when the walk reaches
        # its end, so its line is its predecessor's or a later one (that they come by their ends is
        # read from that, not stated: UNCONFIRMED), reached by stepping over the lines between (542
        # steps in all here, against a bisection of the line starts per hit). A hit before its
        # predecessor's line, in any other order, is bisected.
        if at < starts[line]:
            line = bisect_right(starts, at) - 1
        while at >= starts[line + 1]:
            line += 1
        first = last[number] != line
        last[number] = line
        for word in worded[number]:
            word_lines.append(line)
            word_ats.append(at - starts[line])
            word_numbers.append(word)
        for bit, confirm, leads, reach, needs in confirms[number]:
            signals = found[line]
            if signals & bit == bit or not (first or leads):
                continue
            # The alternative's other literal runs, each looked for in the line's lowered bytes (in
            # C): a line missing one cannot match it, and its regex is not run (`_Anchor.needs`).
            if needs and not _holds(lowered, needs, starts[line], starts[line + 1] - 1):
                continue
            # `confirm` is None where the alternative is its anchor alone (a hit is a match); where
            # the anchor begins the alternative (`reach` 0), the pattern's `match` at this hit
            # (every match of the alternative starts at one of its anchor's hits, and each is
            # tried); else its `search`, once, from `reach` characters before the line's first hit
            # (a match's anchor is at or after that hit, and the match begins at most `reach`
            # characters before its anchor), or from the line's start (`reach` unbounded).
            offset = at - starts[line] - reach
            if confirm is None or confirm(texts[line], offset if offset > 0 else 0):
                found[line] = signals | bit
    for bit, pattern in unanchored:   # an alternative with no literal run: every line is searched
        for line, text in enumerate(texts):
            if found[line] & bit != bit and pattern.search(text):
                found[line] |= bit
    # A refused line names the first of its kinds in _REFUSALS' order (its lowest kind bit), as
    # refusal_of does; the others say nothing here (DB_REFUSED is set only with a kind).
    for line in compress(range(len(texts)), map(operator.and_, found, repeat(_REFUSED_BIT))):
        kinds = found[line] >> len(_BITS)
        _NAMED[texts[line]] = _KINDS[(kinds & -kinds).bit_length() - 1]
    _WORD_HITS[0] = (key, word_hits)
    return dict(zip(texts, map(_BY_BITS.__getitem__, map(operator.and_, found, repeat(_SIGNAL_BITS)))))


# How a hit of one anchor is confirmed, for each pattern it is an anchor of: (bits, the pattern's
# `match` or `search` or None, whether the anchor leads its alternative, how far before the hit the
# regex starts: 0 where it leads, the line's start where its reach is unbounded, and the alternative's
# other literal runs the line must hold before the regex is asked, as bytes: `_Anchor.needs`).
_Confirms = tuple[tuple[tuple[int, Callable[[str, int], object] | None, bool, int, tuple[bytes, ...]], ...], ...]
_UNBOUNDED = sys.maxsize   # a reach that always starts the search at the line's start


def _automaton() -> tuple[ahocorasick_rs.BytesAhoCorasick, _Confirms, tuple[tuple[int, re.Pattern[str]], ...],
                          tuple[tuple[int, ...], ...]]:
    """The automaton of `_ANCHORS` and `_WORDS` (built at import, and again only if `_ANCHORS` is another
    tuple: tests replace it), each anchor text's confirmations by its number in the automaton, (bit,
    pattern) of each anchor with no text, which the automaton cannot report, and the numbers in
    `_WORDS` of each text by its number in the automaton (none for most)."""
    anchors, built = _AUTOMATON
    if anchors is not _ANCHORS:
        built = _built(_ANCHORS)
        _AUTOMATON[:] = [_ANCHORS, built]
    return built


def _built(anchors: tuple[_Anchor, ...]) -> tuple[ahocorasick_rs.BytesAhoCorasick, _Confirms,
                                                  tuple[tuple[int, re.Pattern[str]], ...], tuple[tuple[int, ...], ...]]:
    """Two patterns may share an anchor text: it is one pattern of the automaton, and one hit
    serves both. The automaton is ahocorasick_rs's DFA (the Rust aho-corasick crate's, built once
    here), asked for overlapping matches. The crate's docs (enum `MatchKind`): Standard "is the only
    one that supports overlapping matches", and "when searching for overlapping matches, then all
    possible matches are reported": every occurrence of every anchor, one inside another and
    overlapping ones included. ahocorasick_rs returns each as (pattern index, start, end); anchors
    are ASCII (`_anchor_of`), searched in ASCII text, so the bytes' offsets are the characters'. The
    dials' and answers' words (`_WORDS`) are texts of the same automaton, with no confirmation of
    their own where no anchor is the same text: one walk over the texts finds both (`_search`)."""
    by_text: dict[str, list[tuple[int, Callable[[str, int], object] | None, bool, int, tuple[bytes, ...]]]] = {}
    for a in anchors:
        confirm = None if a.whole else a.pattern.match if a.leads else a.pattern.search
        reach = 0 if a.leads else _UNBOUNDED if a.reach is None else a.reach
        needs = () if confirm is None else tuple(sorted(need.encode("ascii") for need in a.needs))
        by_text.setdefault(a.text, []).append((a.bit, confirm, a.leads and not a.whole, reach, needs))
    unanchored = tuple((a.bit, a.pattern) for a in anchors if not a.text)
    by_text.pop("", None)
    worded: dict[str, tuple[int, ...]] = dict.fromkeys(by_text, ())   # each text's numbers in _WORDS
    for number, word in enumerate(_WORDS):
        by_text.setdefault(word, [])
        worded[word] = (*worded.get(word, ()), number)
    automaton = _dfa(by_text)
    return automaton, tuple(map(tuple, by_text.values())), unanchored, tuple(worded[text] for text in by_text)


def _holds(lowered: bytes, needs: tuple[bytes, ...], start: int, end: int) -> bool:
    """Whether `lowered[start:end]` (one line, its separator left out) holds each of `needs`."""
    for need in needs:
        if lowered.find(need, start, end) < 0:
            return False
    return True


_REFUSED_BIT = _BITS[LogSignal.DB_REFUSED]
_automaton()   # at import (the DFA's build, about 1 ms): the first read pays nothing for it


# A number: a digit that does not follow a letter, digit or underscore (the \b\d of `\b\d[\d.:]*\b`,
# written digit first so that the search jumps from digit to digit), then digits, dots and colons.
NUMBERS = re.compile(r"\d(?<!\w\d)[\d.:]*\b")
# The same for ASCII text, where \d, \w and \b mean exactly their ASCII classes: the engine tests a
# character against a set of ASCII ranges instead of looking up its Unicode category (about 20 % faster).
_NUMBERS_ASCII = re.compile(r"[0-9](?<![0-9A-Za-z_][0-9])[0-9.:]*\b", re.ASCII)


@lru_cache(maxsize=4096)
def masked(text: str) -> str:
    """A log text with its numbers masked, so repeats of one message group together."""
    stripped = text.strip()
    return (_NUMBERS_ASCII if stripped.isascii() else NUMBERS).sub("N", stripped)[:_MASKED_LENGTH]


def top_grouped(texts: Iterable[str], limit: int) -> list[tuple[str, int]]:
    """The `limit` largest groups of the texts grouped by `masked`, each as its first text (as it
    was logged) and how many texts it holds, largest first, a tie to the group that came first.

    Counted by exact text first (in C); then only a text that may share its group with another is
    masked. Masking takes out numbers, each a run of digits, dots and colons, and puts an "N" in its
    place; so two texts with the same mask are still equal once every digit, dot, colon and "N" is
    deleted from both (their *form*, `_MASK_CHARS` deleted by a C-level translate), and so is the
    form's beginning: texts are compared by their form's first `_KEY_LENGTH` characters (its *key*).
    A text alone in its key is alone in its group, counted exactly, and is not masked: in a log read
    most lines carry an id or a time that makes them distinct. A key's groups count at most the
    key's texts: keys are masked from the most counted down, and no further once `limit` groups are
    known that each count more than the next key. A mask cut at 200 characters or of non-ASCII text
    is the text's own: its form is its mask's (`_forms_at_once` tells when a long text's key is
    known without masking it)."""
    return top_counted(Counter(texts), limit)


def top_counted(counts: Counter[str], limit: int) -> list[tuple[str, int]]:
    """`top_grouped` of the texts `counts` counts (in their first appearance's order)."""
    if not counts or limit <= 0:
        return []
    distinct, ns = list(counts), list(counts.values())
    at_once = _forms_at_once(distinct)
    forms, long = at_once or (_forms_one_by_one(distinct), frozenset())
    keys = list(map(operator.getitem, forms, repeat(slice(_KEY_LENGTH))))   # each form[:_KEY_LENGTH], in C
    shared = Counter(keys)
    sharing = list(map(operator.lt, repeat(1), map(shared.__getitem__, keys)))   # in a key with others
    members: dict[bytes, list[int]] = {}
    for i in compress(range(len(keys)), sharing):
        members.setdefault(keys[i], []).append(i)
    # The groups known exactly, as (count, first appearance): the largest texts alone in their keys
    # (sorted is stable: a tie keeps the first appearance first).
    alone = compress(range(len(keys)), map(operator.not_, sharing))
    known = [(ns[i], i) for i in sorted(alone, key=ns.__getitem__, reverse=True)[:limit]]
    for total, indices in sorted(((sum(map(ns.__getitem__, m)), m) for m in members.values()),
                                 key=operator.itemgetter(0), reverse=True):
        if len(known) >= limit and _ranked(known)[limit - 1][0] > total:
            break
        groups: dict[str, tuple[int, int]] = {}
        together = at_once is not None and long.isdisjoint(indices)
        for i, key in zip(indices, _masks([distinct[i] for i in indices], together=together)):
            n, first = groups.get(key, (0, i))
            groups[key] = (n + ns[i], first)
        known.extend(groups.values())
    return [(distinct[first], n) for n, first in _ranked(known)[:limit]]


def _masks(texts: list[str], together: bool) -> list[str]:
    """`masked` of each text. `together` (every text ASCII, at most 200 characters stripped, none
    holding "\0": texts `_forms_at_once` read, none of them long): one substitution over them all
    joined with "\0".
    That is each text masked alone: a number is digits, dots and colons, so none spans a "\0"; and
    "\0", not a word character, is to the look-behind and the \b what a text's start and end are.
    Otherwise only the texts that are not such (`_plain`) are masked alone: one long or non-ASCII
    text in a read does not send all the others text by text."""
    if not texts:
        return []
    if together:
        return _NUMBERS_ASCII.sub("N", "\0".join(map(str.strip, texts))).split("\0")
    # Some texts are not such: only they are masked alone, the others still in one substitution
    # (each text not such stands as "" in it, so the pieces still line up with the texts).
    stripped = list(map(str.strip, texts))
    plain = _plain(stripped)
    found = _NUMBERS_ASCII.sub("N", "\0".join(map(operator.mul, stripped, plain))).split("\0")
    for i in compress(range(len(texts)), map(operator.not_, plain)):
        found[i] = masked(texts[i])
    return found


def _plain(stripped: list[str]) -> list[bool]:
    """For each stripped text, whether `_masks` and `_forms_one_by_one` may join it with others:
    ASCII, at most 200 characters (so its mask is never cut) and free of the separator "\0"
    (tested in C, text by text)."""
    return list(map(operator.and_, map(operator.and_, map(str.isascii, stripped),
                                       map(operator.le, map(len, stripped), repeat(_MASKED_LENGTH))),
                    map(operator.not_, map(operator.contains, stripped, repeat("\0")))))


def _ranked(groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(count, first appearance) pairs, the largest count first, a tie to the one that came first."""
    return sorted(groups, key=lambda group: (-group[0], group[1]))


def _forms_at_once(distinct: list[str]) -> tuple[list[bytes], frozenset[int]] | None:
    """Each text's form, exact in its first `_KEY_LENGTH` characters (its key), made by one
    translate of all the texts joined, and the texts longer than 200 characters stripped; None
    unless every text is ASCII and free of the separator. A read's long texts (tracebacks, driver
    errors with their URLs) do not send every text to `_forms_one_by_one`.

    A long text's mask is cut at 200 characters, and its form is the cut mask's: a beginning of the
    whole text's form (masking only puts an "N" in place of digits, dots and colons, all of which
    the form deletes), as long as the characters of the cut mask the form keeps. The cut mask holds
    every such character of the text's first 200 (each at or before its place in the text): where
    they are `_KEY_LENGTH` or more, the whole text's form has the right key, and the text is not
    masked; else its mask is computed, as for any long text before."""
    stripped = list(map(str.strip, distinct))
    joined = "\0".join(stripped)
    if not joined.isascii():
        return None
    forms = joined.encode("ascii").translate(None, _MASK_CHARS).split(b"\0")
    # One more piece than texts for each separator a text holds (translate keeps them): then text by text.
    if len(forms) != len(stripped):
        return None
    long = frozenset(compress(range(len(stripped)),
                              map(operator.gt, map(len, stripped), repeat(_MASKED_LENGTH))))
    for i in long:
        head = stripped[i][:_MASKED_LENGTH].encode("ascii").translate(None, _MASK_CHARS)
        if len(head) < _KEY_LENGTH:   # an ASCII text's mask is ASCII: its form deleted as the others are
            forms[i] = masked(distinct[i]).encode("ascii").translate(None, _MASK_CHARS)
    return forms, long


def _forms_one_by_one(distinct: list[str]) -> list[bytes]:
    """Each text's form, for any texts: a text whose mask is computed (non-ASCII, or cut at 200
    characters) has its mask's form; the `_plain` ones are translated together."""
    if not distinct:
        return []
    stripped = list(map(str.strip, distinct))
    plain = _plain(stripped)
    # The `_plain` texts in one translate, as `_forms_at_once` does for all of them (each other text
    # stands as "" in it, so the pieces still line up with the texts); then the others one by one.
    forms = "\0".join(map(operator.mul, stripped, plain)).encode("ascii").translate(None, _MASK_CHARS).split(b"\0")
    for i in compress(range(len(distinct)), map(operator.not_, plain)):
        alone = stripped[i]
        if alone.isascii() and len(alone) <= _MASKED_LENGTH:   # one holding "\0"
            forms[i] = alone.encode("ascii").translate(None, _MASK_CHARS)
        else:
            forms[i] = masked(distinct[i]).translate(_DELETE_MASK_CHARS).encode("utf-8")
    return forms


_MASKED_LENGTH = 200
# How much of a form texts are compared by (top_counted): under the 200 characters a mask is cut at,
# so that a long text's key is known without masking it where its first 200 characters hold this
# many the form keeps (_forms_at_once); long enough that texts rarely share a key with no group.
_KEY_LENGTH = 120
_MASK_CHARS = b"0123456789.:N"
_DELETE_MASK_CHARS = str.maketrans("", "", "0123456789.:N")


def pattern_of(signal: LogSignal) -> str:
    """The alternatives a signal matches, for evidence a person can check."""
    return " | ".join(_PATTERNS[signal])


def words_of(signal: LogSignal, text: str) -> str:
    """The words of `text` a signal matched ("" when none): what a summary quotes of a long line whose
    prefix (timestamp, thread, logger) says nothing."""
    found = (re.search(pattern, text, re.IGNORECASE) for pattern in _PATTERNS[signal])
    return next((m.group(0) for m in found if m), "")


# Cloud Run's memory-limit line in either wording (LogSignal.MEMORY_LIMIT): its unit, " MiB" or "M".
_MEMORY_UNIT = re.compile(r"Memory limit of \d+( MiB|M) exceeded")


def memory_limit_wordings(texts: Iterable[str]) -> list[tuple[str, int]]:
    """(the line as a person finds it, with N for the numbers, and how many lines said it so) for each
    wording of Cloud Run's memory-limit line among `texts`, in the unit the log wrote: "Memory limit of N
    MiB exceeded" (its current wording) or "Memory limit of NM exceeded" (its older one), in order of
    first appearance; a text in neither wording is left out."""
    counts: Counter[str] = Counter()
    for text, lines in Counter(texts).items():   # each distinct text searched once (per_text's reason)
        if found := _MEMORY_UNIT.search(text):
            counts[f"Memory limit of N{found[1]} exceeded"] += lines
    return list(counts.items())


_CRASH_SIGNAL = re.compile(CRASH_SIGNAL.replace("(?:[0-9]+)", "([0-9]+)"), re.IGNORECASE)


_CRASH_EXIT = re.compile(CRASH_EXIT, re.IGNORECASE)


def crash_exit(text: str) -> bool:
    """Whether the text holds Cloud Run's "Container called exit(N)." with a crash's code (CRASH_EXIT)."""
    return _CRASH_EXIT.search(text) is not None


def crash_signal(text: str) -> int | None:
    """The signal number of Cloud Run's "Container terminated on signal N." when N is a crash's
    (CRASH_SIGNAL: not 2, 9 nor 15), else None."""
    found = _CRASH_SIGNAL.search(text)
    return int(found[1]) if found else None


# --- the queries ------------------------------------------------------------------------------


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# The service's stdout is read at WARNING and above, and, at any severity, the entries whose text
# holds one of these signals' texts: a plain line on stdout has no severity (DEFAULT: "Logs written
# directly to stdout or stderr ... do not have an associated log level", Cloud Run functions' "View
# and write logs" page), a JSON line whose logger names its level in a key of its own (pino's, zap's
# `level`) is DEFAULT too, and the Auth Proxy v2 writes its refusal at its own --max-connections at
# INFO. Reading every stdout line would let an application's INFO lines crowd the rest out of the
# newest-first page of max_log_entries; asking Logging for these texts server side grows the read
# only by the lines that matter to the database's rules and connector_saturation's check 5, and the
# failed name lookups that hold a connector move back (connector_saturation) or show what a deploy
# broke (bad_revision): a runtime's resolver words printed below WARNING (Python's gaierror in a
# logging.info, a retry loop's INFO line) are as much a failed lookup as at ERROR.
STDOUT_SIGNALS = (LogSignal.DB_CONNECTION, LogSignal.DB_POOL_WAIT, LogSignal.DB_CANCELLED,
                  LogSignal.DB_STATEMENT_FAILED, LogSignal.UPSTREAM_TIMEOUT, LogSignal.DNS_FAILURE,
                  LogSignal.GOOGLE_API_WAIT)
# How the needles are asked for: one global restriction, the needles quoted and ORed, instead of a
# regex clause per text field. The Logging query language page (cloud.google.com/logging/docs/view/
# logging-query-language) settles the three facts this rests on:
# - a bare quoted value is a global restriction, matched by substring in any field, without case:
#   "If the comparison consists of a single value, it is called a global restriction. Logging uses the
#   has (:) operator to determine if any field in a log entry, or if its payload, contains the global
#   restriction" ("Global restrictions"); "Don't use a global search. For one reason, they are all
#   substring searches", and `unicorn` "Finds log entries containing unicorn in any field, in any
#   letter case" ("Finding log entries quickly", "Searching examples");
# - the has operator is a substring test without case: "The substring operator (:) is applicable to
#   string and bytes, and is handled like equality except that the right-hand operand need only equal
#   some part of the left-hand field", and string comparisons ignore letter case (NFKC_CF normalised;
#   "Comparison operators");
# - `=~` takes one field: "Only fields of the string type can be matched with a regular expression"
#   ("Using regular expressions"); no form applies a regex to several fields or to the whole entry,
#   which is why the regex form cost a clause (some 2,200 characters) per key searched.
# Token matching is the SEARCH function's and the console search bar's ("SEARCH performs exact matches
# and not substring matches"), not a quoted global restriction's. Left open (UNCONFIRMED): how deep
# "any field ... or its payload" reaches into nested JSON objects and lists, and whether a number's
# digits are searched. Under any reading every string field of the entry itself (textPayload) and every
# top-level string of its jsonPayload is searched, the six keys the regex clauses searched among them,
# so no line they found is lost; a nested error object or an exception's key is still asked for by
# what it is (stdout_error_filter). As a hedge for a token reading all the same, the length limit never
# cuts a needle inside a word (_needle_of), patterns whose alternatives shared a start ending inside a
# word are written one alternative a pattern, and each table row's line holds some needle's words as
# words (tests/unit/test_stdout_read.py). Under the documented reading none of this matters.
# The needles are the patterns' own specific texts, never a generic word: in any field of an INFO line
# they are what an application prints when its database, its pool or an upstream failed, so an
# application's ordinary INFO lines (a URL, a `timeout` setting, a `connection` key) are not asked for.
# At least this many characters of each anchor (its whole when shorter), on to the end of the word the
# cut falls in: a needle's length is paid once, not once per text field as the regex clauses' was.
STDOUT_NEEDLE_MIN = 30
_WORD = re.compile(r"\w")


def _needle_of(anchor: str) -> str:
    """The start of `anchor`: STDOUT_NEEDLE_MIN characters, then on to the end of the word they cut."""
    text = anchor.strip()
    end = min(STDOUT_NEEDLE_MIN, len(text))
    while end < len(text) and _WORD.match(text[end - 1]) and _WORD.match(text[end]):
        end += 1
    return text[:end].strip()


# The cause lines of a database error that a plain console logger writes as entries of their own
# (shared/diagnosis/split_lines.py): alone they match no pattern, so no needle above asks for them,
# yet joined to the line they continue they are what tells a read on an open connection that timed out
# (the database slow) from a dial that did (the path). Each is a runtime's or a client's own words:
# the JDK's SocketTimeoutException at a read's and at a connect's timeout and SocketException at
# EMFILE (the rows of READ_TIMEOUT_TEXTS, _DIAL_TIMED_OUT and _NEVER_LEFT cite them), Connector/J's
# second paragraph of its link failure (LocalizedErrorMessages.properties, CommunicationsException.*;
# the "not received any packets" key name UNCONFIRMED), Npgsql's connect timeout (_DIAL_TIMED_OUT).
CONTINUATION_NEEDLES = ("SocketTimeoutException: Read timed out", "SocketTimeoutException: connect timed out",
                        "SocketException: Too many open files",
                        "The last packet successfully received from the server",
                        "The driver has not received any packets from the server",
                        "Timeout during connection attempt")


def stdout_needles() -> tuple[str, ...]:
    """For each alternative of each pattern of STDOUT_SIGNALS, the start of its literal anchor (a line
    the alternative matches contains its anchor, so it contains the start), lower-cased (_needles);
    and the cause lines a split stack trace logs alone (CONTINUATION_NEEDLES).
    A needle another needle holds is left out: the shorter finds every line the longer does. So every
    line a client-side pattern matches is one the server-side filter returns."""
    return _STDOUT_NEEDLES


def _needles(signals: Sequence[LogSignal], alone: Sequence[str] = (), known: Sequence[str] = ()) -> tuple[str, ...]:
    """The needles of `signals`' patterns (each alternative's anchor's start, _needle_of, lower-cased) and of
    the texts `alone`, sorted, leaving out any a shorter one holds, here or among the needles `known`."""
    pieces = {_needle_of(text).lower() for text in alone}
    for signal in signals:
        for pattern in _PATTERNS[signal]:
            for anchor in _anchors(pattern):
                piece = _needle_of(anchor).lower()
                if len(piece) < 7:
                    raise ValueError(f"{pattern!r}: no literal text of 7 characters to ask Logging for ({anchor!r})")
                pieces.add(piece)
    kept, new = list(known), []
    for piece in sorted(pieces, key=lambda p: (len(p), p)):
        if not any(shorter in piece for shorter in kept):
            kept.append(piece)
            new.append(piece)
    return tuple(sorted(new))


# The needles and their automata, built once at import, as _dfa's are: each needle list parses every
# alternative of its signals' patterns with the `re` module's parser (about 20 ms for stdout's), and a
# functools cache here would be cleared with the per-text caches, so that a diagnosis asking a line's
# needles (the failure read's count, Facts.logged_count) paid it again. The lower-cased needles in one
# automaton (ahocorasick_rs, as for the anchors below): one pass over a text whatever their number. A
# `re` alternation of them under IGNORECASE took up to 80 us a short string, on every string key of
# every JSON entry.
_STDOUT_NEEDLES = _needles(STDOUT_SIGNALS, alone=CONTINUATION_NEEDLES)
_NEEDLE_SEARCH = ahocorasick_rs.AhoCorasick(list(_STDOUT_NEEDLES), matchkind=ahocorasick_rs.MatchKind.Standard)
_NEEDLE_BYTES_SEARCH = ahocorasick_rs.BytesAhoCorasick([needle.encode("ascii") for needle in _STDOUT_NEEDLES],
                                                       matchkind=ahocorasick_rs.MatchKind.Standard)


def holds_a_needle(text: str) -> bool:
    """Whether `text` holds one of stdout_needles, letter case ignored: the test the service log
    query's global restriction makes of each field of an entry (a substring, without case)."""
    return bool(_NEEDLE_SEARCH.find_matches_as_indexes(text.lower()))


def bytes_hold_a_needle(data: bytes) -> bool:
    """Whether UTF-8 `data` (a whole payload as its bytes) holds one of stdout_needles, ASCII letter
    case ignored (the needles are ASCII): False proves that no string in it holds one, so a reader
    may skip its strings one by one."""
    return bool(_NEEDLE_BYTES_SEARCH.find_matches_as_indexes(data.lower()))


def needle_restriction(needles: Iterable[str]) -> str:
    """One global restriction finding any of `needles` in any field of an entry: each quoted (a quote
    or a backslash escaped), ORed, parenthesised ("Boolean expressions as global restrictions ...
    should be parenthesized", Logging query language page, "Troubleshooting")."""
    return "(" + " OR ".join(quote(needle) for needle in needles) + ")"


@lru_cache(maxsize=1)
def stdout_text_filter() -> str:
    """The stdout entries holding a needle in any field (one global restriction, needle_restriction);
    then the entries that carry an error in a nested object or an exception's key (stdout_error_filter).
    Built once: the patterns are fixed, and every diagnosis's query holds it."""
    return " OR ".join([_stdout_restriction(), stdout_error_filter()])


# The keys that hold an exception's text and nothing else (evidence.DETAIL_KEYS past `error` and
# `err`): a logger writes them only when it logs an exception. Asked for by presence, at any depth the
# global restriction reaches or not. ECS's flattened "error.message" and "error.stack_trace" are one key
# each, sent quoted (`jsonPayload."error.message"`, _json_field): whether Logging also resolves the
# unquoted path `jsonPayload.error.message` to such a key is not documented (UNCONFIRMED), so the nested
# object's clause and the quoted key's are both asked.
EXCEPTION_KEYS = ("@x", "stack_trace", "Exception", "exception", "exc_info", "stack", "error.message",
                  "error.stack_trace")


def _json_field(*keys: str) -> str:
    """`jsonPayload.KEY[.KEY]`, a key that is not a plain identifier (CLEF's `@x`) quoted: "Field names
    that contain special characters must be quoted" (Logging query language page, "Path
    identifiers": `jsonPayload."my.field"`-style paths)."""
    return ".".join(["jsonPayload", *(k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else quote(k) for k in keys)])


def stdout_error_filter() -> str:
    """The stdout entries that carry an error whose words no needle clause searches (about 840
    characters instead of a regex clause per key):
    - the logger's own level says warning or worse (evidence.LEVEL_KEYS, as payload_severity reads
      it): what `severity>=WARNING` asks of an entry whose level Logging knows. Words compared with
      `=`, which is case-insensitive for strings ("String comparisons aren't case sensitive", Logging
      query language page); pino's and bunyan's 40, 50 and 60 as JSON numbers (that `=` with an
      unquoted number matches a JSON number is UNCONFIRMED; if it does not, the error object's
      presence below still asks for their errors);
    - an exception's own key (EXCEPTION_KEYS) or an error object's `message` (pino's and bunyan's
      `err`, ECS's `error`) is present, at any level: `FIELD:*` is the query language's test that a
      field has a value (Logging query language page, the has operator `:` with `*`). A string
      `err` or `error` has no `message` member, and is searched by its needle clause instead."""
    words = [word for word, severity in LEVEL_WORDS.items() if severity in ("WARNING", "ERROR", "CRITICAL")]
    said = " OR ".join(quote(word) for word in words)
    clauses = [f"{_json_field(key)}=({said})" for key in LEVEL_KEYS]
    clauses.append(f"{_json_field('level')}=(40 OR 50 OR 60)")
    clauses += [f"{_json_field(key)}:*" for key in EXCEPTION_KEYS]
    clauses += [f"{_json_field(key, 'message')}:*" for key in OBJECT_KEYS]
    return " OR ".join(clauses)


# "Length of a Logging query language query: 20,000 characters" (Cloud Logging "Quotas and limits"; the
# Logging query language page: a query may be at most 20,000 characters); a longer one is refused whole.
MAX_FILTER_CHARS = 20_000

# Cloud Run's own words on requests it failed itself (request log textPayload, from Cloud Run's
# troubleshooting page, docs.cloud.google.com/run/docs/troubleshooting): a
# malformed answer or a broken connection (503), the request timeout (504), no instance to take it
# (429/500), and an instance that never became ready: "The request failed because the instance failed
# the readiness check" (503) and "... could not start successfully" (500), a revision's startup failing
# as seen on the requests it turned away (a public incident note's request log; their request-log
# wording is UNCONFIRMED against Google's page). The other startup texts (STARTUP probe failed,
# Container failed to start) are varlog/system's and the deploy's, read whole. Each is a specific
# phrase of Cloud Run's, never a word an application's request line holds.
PLATFORM_REQUEST_TEXTS = ("connection to the instance had an error", "maximum request timeout",
                          "no available instance", "instance failed the readiness check",
                          "could not start successfully")


def app_log_filter(project: str, service: str, location: str, start: datetime, end: datetime,
                   alert_filter: str = "") -> str:
    """The service's own voice and the platform's: stderr, warnings on stdout (and, at any severity,
    the stdout entries holding a database, pool-wait or upstream text: stdout_text_filter), the system log, and
    the request log entries that carry Cloud Run's own failure texts (not every 5xx: those are
    counted by request_count, and would crowd the rest out of the newest-first page).

    A log-match alert's own filter joins the alternatives, still bounded to the service and the
    window, so the entries that fired the alert are read as evidence.

    Parenthesised throughout: in the Logging query language OR binds tighter than AND. The alert's
    filter stands on lines of its own: a comment runs from `--` to the end of its line (Logging
    query language page, "Comments"), so a filter ending in one would otherwise take the closing
    parentheses with it and Logging would refuse the whole query.
    """
    stderr, stdout = log_name(project, STDERR), log_name(project, STDOUT)
    system, requests = log_name(project, SYSTEM_LOG), log_name(project, REQUEST_LOG)
    texts = " OR ".join(f"textPayload:{quote(t)}" for t in PLATFORM_REQUEST_TEXTS)
    info = stdout_text_filter()
    # A plain line printed on stdout (no level, DEFAULT) holding a needle of FAILURE_READ_SIGNALS (a client's
    # "503 Server Error: ... for url: https://....run.app", gunicorn's worker timeout): as the failure read
    # takes it (FAILURE_READ), so that a quiet service's page, which that read is not made for, holds it too.
    printed = f"(severity=DEFAULT AND {_failure_restriction()})"
    return (f'resource.type="cloud_run_revision" AND resource.labels.service_name={quote(service)} '
            f'AND resource.labels.location={quote(location)} '
            f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}" '
            f'AND (logName="{stderr}" OR (logName="{stdout}" AND (severity>=WARNING OR {info} OR {printed})) '
            f'OR logName="{system}" '
            f'OR (logName="{requests}" AND ({texts}))'
            + (f" OR (\n{alert_filter}\n)" if alert_filter.strip() else "") + ")")


# The signals of the application's own lines the rules read that no needle of STDOUT_SIGNALS finds, which its
# logger may mark below ERROR or not at all: gunicorn's "WORKER TIMEOUT" printed plain, Spring's async request
# timeout at WARN, a downstream's 5xx passed on at WARNING, a secret it could not read. The read of the failure
# lines alone asks for them by their own needles (failure_read_needles), where the service read takes them
# (stderr whole; stdout at WARNING or worse, or with no level holding one of these needles), so that every line a
# rule counts is read over the window.
FAILURE_READ_SIGNALS = (LogSignal.WORKER_TIMEOUT, LogSignal.APP_TIMEOUT_503, LogSignal.DOWNSTREAM_5XX,
                        LogSignal.SECRET_FAILURE)


def failure_read_needles() -> tuple[str, ...]:
    """For each alternative of each pattern of FAILURE_READ_SIGNALS, the start of its literal anchor,
    lower-cased, as stdout_needles makes them; those a needle of stdout_needles (or a shorter one here)
    already holds are left out."""
    return _FAILURE_NEEDLES


# Built once at import, as stdout's needles are (above).
_FAILURE_NEEDLES = _needles(FAILURE_READ_SIGNALS, known=_STDOUT_NEEDLES)
_FAILURE_NEEDLE_SEARCH = ahocorasick_rs.AhoCorasick(list(_FAILURE_NEEDLES), matchkind=ahocorasick_rs.MatchKind.Standard)


def holds_a_failure_needle(text: str) -> bool:
    """Whether `text` holds one of failure_read_needles, letter case ignored (as holds_a_needle)."""
    return bool(_FAILURE_NEEDLE_SEARCH.find_matches_as_indexes(text.lower()))


# --- the failure read's table ------------------------------------------------------------------
# What the read of the failure lines alone takes, written once: failure_lines_filter asks Logging for it, and
# failure_read_takes tells it of an entry already read (facts.failure_read_carries), so the two cannot drift.

# LogSeverity's names, least severe first (google/logging/type/log_severity.proto: DEFAULT 0, DEBUG 100 ...
# EMERGENCY 800); the query language compares severities in that order ("severity >= ERROR", Logging query
# language page, "Severity").
SEVERITY_NAMES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")


class Severities(NamedTuple):
    """A severity clause of the query language, and the LogSeverity names it takes."""

    clause: str
    names: frozenset[str]


def _at_least(name: str) -> frozenset[str]:
    return frozenset(SEVERITY_NAMES[SEVERITY_NAMES.index(name):])


AT_LEAST_ERROR = Severities("severity>=ERROR", _at_least("ERROR"))
AT_LEAST_WARNING = Severities("severity>=WARNING", _at_least("WARNING"))
# No level (a line written plain, DEFAULT: "The log entry has no assigned severity level") or WARNING or worse.
NO_LEVEL_OR_AT_LEAST_WARNING = Severities("(severity=DEFAULT OR severity>=WARNING)",
                                          _at_least("WARNING") | {"DEFAULT"})


class Needles(NamedTuple):
    """Texts asked for in any field of an entry (one global restriction, needle_restriction), and the
    client's test of an entry's text for the same texts."""

    restriction: Callable[[], str]
    held_by: Callable[[str], bool]


@lru_cache(maxsize=1)
def _stdout_restriction() -> str:
    return needle_restriction(stdout_needles())


@lru_cache(maxsize=1)
def _failure_restriction() -> str:
    return needle_restriction(failure_read_needles())


STDOUT_NEEDLES = Needles(_stdout_restriction, holds_a_needle)
FAILURE_NEEDLES = Needles(_failure_restriction, holds_a_failure_needle)

# The refusals whose writer states them at INFO, in words no ordinary line holds: the Cloud SQL Auth Proxy v2
# at its own --max-connections, "max connections (N) exceeded, refusing new connection", written with
# Infof to stdout (cloud-sql-proxy internal/proxy/proxy.go, Client.serveSocketMount; internal/log/log.go),
# plain or as zap's JSON at INFO. Each line is one connection refused inside the instance, a signal that holds
# a connector's scale back (Refusal.PROXY_LIMIT): read over the window at any severity, never left to a chatty
# page's last minutes. A needle of stdout_needles too, so the service read asks for it already.
INFO_REFUSAL_TEXTS = (") exceeded, refusing new connection",)


@lru_cache(maxsize=1)
def _info_refusal_restriction() -> str:
    return needle_restriction(INFO_REFUSAL_TEXTS)


def holds_an_info_refusal(text: str) -> bool:
    """Whether `text` holds one of INFO_REFUSAL_TEXTS, letter case ignored (as the has operator compares)."""
    lowered = text.lower()
    return any(t in lowered for t in INFO_REFUSAL_TEXTS)


INFO_REFUSALS = Needles(_info_refusal_restriction, holds_an_info_refusal)


class LogRead(NamedTuple):
    """One log a clause reads, at the severities it takes there (None: at any)."""

    log_id: str
    severities: Severities | None = None


class ReadClause(NamedTuple):
    """One alternative of the failure read: an entry of one of `logs` (at that log's severities) that passes
    the test: its level is one of `severities`, or it holds one of `needles`, or its textPayload holds one of
    `texts`, or it carries an error's own level word or key (`error_keys`: stdout_error_filter); the needles
    and error keys only at `needle_severities` when given (an INFO stream naming a needle would fill the
    read). No test at all: every entry of the logs. The client cannot tell `error_keys` from an entry's text
    (a LogRecord keeps no JSON keys): such an entry counts as not taken there, and is scaled over the page as
    before."""

    logs: tuple[LogRead, ...]
    severities: Severities | None = None
    needles: Needles | None = None
    error_keys: bool = False
    texts: tuple[str, ...] = ()
    needle_severities: Severities | None = None


# The failure read (failure_lines_filter's docstring says why each clause is there):
FAILURE_READ = (
    # the application's lines at ERROR or worse, or with no level or at WARNING or worse holding a needle or
    # an error's own level word or key;
    ReadClause(logs=(LogRead(STDERR), LogRead(STDOUT)), severities=AT_LEAST_ERROR, needles=STDOUT_NEEDLES,
               error_keys=True, needle_severities=NO_LEVEL_OR_AT_LEAST_WARNING),
    # its lines of FAILURE_READ_SIGNALS, by their needles, from either log with no level or at WARNING or worse;
    ReadClause(logs=(LogRead(STDERR), LogRead(STDOUT)), needles=FAILURE_NEEDLES,
               needle_severities=NO_LEVEL_OR_AT_LEAST_WARNING),
    # the refusals their writer states at INFO (the Auth Proxy's own limit), at any severity;
    ReadClause(logs=(LogRead(STDERR), LogRead(STDOUT)), needles=INFO_REFUSALS),
    # Cloud Run's system log whole;
    ReadClause(logs=(LogRead(SYSTEM_LOG),)),
    # the request log's lines holding Cloud Run's own failure texts.
    ReadClause(logs=(LogRead(REQUEST_LOG),), texts=PLATFORM_REQUEST_TEXTS),
)


def _or(terms: Sequence[str]) -> str:
    """The terms ORed, parenthesised when more than one (OR binds tighter than AND, but a clause that is
    one term reads plainer bare)."""
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _clause_text(project: str, clause: ReadClause) -> str:
    logs = _or([f'logName="{log_name(project, read.log_id)}"' if read.severities is None
                else f'(logName="{log_name(project, read.log_id)}" AND {read.severities.clause})'
                for read in clause.logs])
    held = ([clause.needles.restriction()] if clause.needles else []) \
        + ([stdout_error_filter()] if clause.error_keys else [])
    if held and clause.needle_severities is not None:
        held = [f"({clause.needle_severities.clause} AND {_or(held)})"]
    tests = ([clause.severities.clause] if clause.severities else []) + held \
        + ([_or([f"textPayload:{quote(t)}" for t in clause.texts])] if clause.texts else [])
    return f"({logs} AND {_or(tests)})" if tests else logs


@lru_cache(maxsize=8)
def failure_read_clauses(project: str) -> str:
    """FAILURE_READ as one parenthesised query-language expression over `project`'s logs (cached: a
    deployment reads one project, and the needles are fixed)."""
    return "(" + " OR ".join(_clause_text(project, clause) for clause in FAILURE_READ) + ")"


_Test = Callable[[str, str], bool]     # (severity, text) -> taken


def _test_of(clause: ReadClause) -> _Test:
    """The client's test of a clause, past its logs: any of its severities, needles or texts; no test at all,
    every entry (error_keys alone is not told on the client, so takes none)."""
    if clause.severities is None and clause.needles is None and not clause.texts:
        return lambda severity, text: not clause.error_keys
    names = clause.severities.names if clause.severities is not None else frozenset()
    held_by = clause.needles.held_by if clause.needles is not None else None
    held_at = clause.needle_severities.names if clause.needle_severities is not None else None
    texts = tuple(t.lower() for t in clause.texts)

    def test(severity: str, text: str) -> bool:
        return (severity in names
                or held_by is not None and (held_at is None or severity in held_at) and held_by(text)
                or bool(texts) and any(map(text.lower().__contains__, texts)))
    return test


def _by_log(clauses: Sequence[ReadClause]) -> dict[str, tuple[tuple[frozenset[str] | None, _Test], ...]]:
    """For each log id, the severities each clause takes it at (None: any) and the clause's test."""
    ways: dict[str, tuple[tuple[frozenset[str] | None, _Test], ...]] = {}
    for clause in clauses:
        test = _test_of(clause)
        for read in clause.logs:
            ways[read.log_id] = ways.get(read.log_id, ()) + ((read.severities.names if read.severities else None,
                                                               test),)
    return ways


_FAILURE_READ_BY_LOG = _by_log(FAILURE_READ)


@lru_cache(maxsize=4096)   # asked of every line a rule counts (Facts.logged_count): a failure repeats one text
def failure_read_takes(log_id: str, severity: str, text: str) -> bool:
    """Whether the failure read (FAILURE_READ) takes an entry of `log_id` at `severity` whose text is `text`,
    told on the client: the needles are looked for in the text alone, and a JSON key is not told. Asked once
    per distinct (log, severity, text), as per_text reads a text once."""
    for names, test in _FAILURE_READ_BY_LOG.get(log_id, ()):
        if (names is None or severity in names) and test(severity, text):
            return True
    return False


def failure_lines_filter(project: str, service: str, location: str, start: datetime, end: datetime) -> str:
    """The application's failure lines alone in [start, end] (failure_lines.py counts them), written from
    FAILURE_READ (the client's failure_read_takes reads the same table): its stderr and stdout entries at
    ERROR or worse, or with no level or at WARNING or worse holding a failure text or an error's own level
    or key (stdout_text_filter: the needles and stdout_error_filter). Made when the service read's newest-first page
    came back full before reaching `start` (collection._failure_lines): an application that logs its ordinary
    work (INFO, DEBUG) to stderr fills that page within minutes, and its failure lines of the first minutes
    are off it. Its page is max_log_entries too, and comes back full when more match: lines the service logs
    at ERROR, or with no level or at WARNING holding a needle, can still fill it (failure_lines.
    failure_read_failed and Facts.page_cut then treat it as a read cut short); a line its logger marked INFO or
    DEBUG holding a needle (`server error:` in a request's access line) does not (below).
    `severity>=ERROR` is the query language's severity comparison ("severity >= ERROR", Logging query
    language page, cloud.google.com/logging/docs/view/logging-query-language, "Severity"). A line written
    plain to stderr (an uncaught traceback, a driver's message printed without a structured logger) has
    no level: "Logs written directly to stdout or stderr ... do not have an associated log level" (Cloud Run
    functions' "View and write logs" page); whether Cloud Run's services store it DEFAULT or grade stderr
    text ERROR is UNCONFIRMED. Read either way: graded ERROR, `severity>=ERROR` takes it; left DEFAULT, the
    needles take every line a failure pattern of STDOUT_SIGNALS matches, as the service read's stdout
    clause does.
    Cloud Run's own lines the service read takes are asked for too, as that read asks for them: the system
    log whole (a startup or liveness probe failing, an instance ended over its memory limit, a secret not
    fetched at start) and the request log's lines holding PLATFORM_REQUEST_TEXTS (no available instance, the
    request timeout, a failed connection to the instance). The rules that hold an action back on them (a
    rollback on Cloud Run's refusals for want of an instance, a connector move on a liveness probe) then read
    them over the window too; none is the application's, and failure_lines.py counts the application's
    lines alone (LogIndex.app_failing). So are the application's lines of FAILURE_READ_SIGNALS, by their
    needles (failure_read_needles), from stderr and stdout with no level or at WARNING or worse (a client's
    "503 Server Error: ... for url: https://....run.app" printed plain on stdout is DEFAULT; the service read
    takes it too, app_log_filter). Not from either log at INFO or DEBUG, but for the refusals their writer
    states at INFO in words no ordinary line holds (INFO_REFUSAL_TEXTS: the Auth Proxy's own limit), taken at
    any severity: a needle such as `server error:` is in
    the ordinary INFO lines of a service that calls another (a retry it logs of a call that failed once), and
    those would fill this read's page as they fill the service read's; the host `.run.app` is no needle at
    all (a service's successful calls to another, printed plain with no level, hold it). The needles of STDOUT_SIGNALS and
    stdout_error_filter are taken by the same rule, from either log with no level or at WARNING or worse:
    an INFO stream naming them (a retry loop's "dial tcp ... i/o timeout" each second, a client's access
    line naming its pool) fills this read's page as the stderr INFO lines did. A line whose logger gave it a
    level has it from its JSON `severity` field ("Cloud Run: Logging and viewing logs", "Writing structured
    logs": the `severity` key of a JSON line becomes the entry's severity); a line with none is DEFAULT, as
    above. Read either way, a plain line holding a needle is taken: stored DEFAULT by the clause for no
    level, graded ERROR by `severity>=ERROR`; graded INFO (no page says so, UNCONFIRMED) it is left to the
    service read's page like a logger's INFO line, where the rules count it over the page's span
    (Facts.logged_count) and never conclude its absence over the window from that page. `severity=DEFAULT` takes a line with
    no level: DEFAULT is LogSeverity 0, "The log entry has no assigned severity level"
    (google/logging/type/log_severity.proto), and the query language compares severity by those names
    ("severity = DEFAULT", Logging query language page, "Severity"). A plain stderr line's level is UNCONFIRMED
    (above): stored DEFAULT, this clause takes it; graded ERROR, `severity>=ERROR` does. A logger that marks
    a downstream's 5xx or a worker timeout INFO is then read on the service read's page alone: such a line
    is left to that page, as the INFO noise is: the rules that weigh such lines against the failure lines
    count each over the read that carries it (Facts.half_or_more), and say when the page's span was."""
    return (f'resource.type="cloud_run_revision" AND resource.labels.service_name={quote(service)} '
            f'AND resource.labels.location={quote(location)} '
            f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}" '
            f'AND {failure_read_clauses(project)}')


# Cloud Run's own startup failure texts, as they are asked for in the rollback target's startup read
# (target_startup_filter): each a phrase of a STARTUP_FAILURE pattern written out (the probe's three
# kinds one by one), so that every line the pattern matches holds one, and no application's ordinary
# line does. "Default STARTUP TCP probe failed 1 time consecutively for container ...", "The
# user-provided container failed to start and listen on the port defined provided by the PORT=8080
# environment variable within the allocated timeout.": Cloud Run's troubleshooting page
# (docs.cloud.google.com/run/docs/troubleshooting); the request-log texts are PLATFORM_REQUEST_TEXTS'.
# "Container called exit(" and "Container terminated on signal" are the needles that are no failure by
# themselves: the patterns leave out the codes and signals of a shutdown at scale-in (exit 0, 130, 137, 143;
# signals 2, 9, 15), which no substring can, and such a line the read brings only
# takes room on its page (a page full of them leaves the target's starts not known: bad_revision escalates).
STARTUP_NEEDLES = ("STARTUP TCP probe failed", "STARTUP HTTP probe failed", "STARTUP GRPC probe failed",
                   "Container failed to start", "failed to start and listen on the port",
                   "Failed to start and then listen on the port", "instance failed the readiness check",
                   "could not start successfully", "Container called exit(", "Container terminated on signal")


def target_startup_filter(project: str, service: str, location: str, revisions: Sequence[str], start: datetime,
                          end: datetime) -> str:
    """The startup failures of `revisions` alone (a rollback's candidate targets) in [start, end]: the
    logs the service read takes them from (stderr, stdout at WARNING and above, the system log, the
    request log), only the entries holding one of STARTUP_NEEDLES (a global restriction: a substring
    in any field, without case; Logging query language page, "Global restrictions"). The service read's
    newest-first page may be filled by the failing revision's own lines; this read is not."""
    stderr, stdout = log_name(project, STDERR), log_name(project, STDOUT)
    system, requests = log_name(project, SYSTEM_LOG), log_name(project, REQUEST_LOG)
    which = " OR ".join(f"resource.labels.revision_name={quote(r)}" for r in revisions)
    return (f'resource.type="cloud_run_revision" AND resource.labels.service_name={quote(service)} '
            f'AND resource.labels.location={quote(location)} AND ({which}) '
            f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}" '
            f'AND (logName="{stderr}" OR (logName="{stdout}" AND severity>=WARNING) OR logName="{system}" '
            f'OR logName="{requests}") AND {needle_restriction(STARTUP_NEEDLES)}')


def request_log_filter(project: str, service: str, location: str, revisions: Sequence[str], start: datetime,
                       end: datetime) -> str:
    """Every line of the service's request log (run.googleapis.com/requests: one a request Cloud Run
    served) of `revisions` in [start, end], whoever sent it: the verification sweep tells its callers
    from Cloud Monitoring's uptime checks by httpRequest.userAgent (shared/remediation/callers.py). No
    agent in the filter: a line is read whatever its agent, so the lines of callers are counted, never
    inferred from the uptime checker's lines missing."""
    requests = log_name(project, REQUEST_LOG)
    which = " OR ".join(f"resource.labels.revision_name={quote(r)}" for r in revisions)
    return (f'logName="{requests}" AND resource.type="cloud_run_revision" '
            f'AND resource.labels.service_name={quote(service)} AND resource.labels.location={quote(location)} '
            + (f"AND ({which}) " if which else "")
            + f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}"')


# Every write that leaves a service serving a new spec, v1 (gcloud's historical path) and v2 method names alike
# (run_audit.SERVICE_WRITES: the Cloud Run audit logging page's method names).
AUDIT_METHODS = service_methods(SERVICE_WRITES)


# A database user's password set through the Cloud SQL Admin API (`gcloud sql users set-password`, the console):
# cloudsql.users.update is an ADMIN_WRITE method, logged in the Admin Activity audit log, and a long-running
# operation (two entries) (Cloud SQL docs, "Cloud SQL audit logging", methods by permission type; its
# protoPayload.serviceName "cloudsql.googleapis.com"). Its entries sit on the `cloudsql_database` monitored
# resource, labelled `database_id` PROJECT:INSTANCE (Cloud Monitoring's monitored resource list). Whether the
# entry's request names the user and its host, and in which field, is UNCONFIRMED: each field that may is read
# (LogRecord.sql_user, .sql_user_host: shared/gcp/logging.py), and an entry naming none is read as any user's
# (rules/refusals.user_changes). The query matches no user: it takes every change on the instances. A password changed in SQL
# (ALTER USER / ALTER ROLE) is not an Admin API call and logs nothing here.
# A database user deleted (`gcloud sql users delete`, the console) refuses every new login of that user as a password
# set elsewhere does: cloudsql.users.delete is the same kind of ADMIN_WRITE method, beside users.update in the same
# list (Cloud SQL docs, "Cloud SQL audit logging", methods by permission type), its request naming the user by the
# same `name` query parameter (Cloud SQL Admin API REST reference, users.delete: "Name of the user in the instance").
# MySQL's DROP USER "does not automatically close any open user sessions" (MySQL Reference Manual, "DROP USER
# Statement"): a revision's pooled sessions outlive it, its new connections are refused. Whether Cloud SQL's entry
# carries the method under exactly this name is UNCONFIRMED: an entry named otherwise is not matched, and the
# refusals are read as before (a deploy and the database compete). Each method with what it did to the user.
SQL_USER_WRITES: dict[str, str] = {"cloudsql.users.update": "changed", "cloudsql.users.delete": "deleted"}


def sql_user_changes_clause(project: str, sql_instances: Iterable[str]) -> str:
    """The Admin Activity entries that changed a database user of one of `sql_instances` (PROJECT:REGION:INSTANCE,
    as the revisions' Cloud SQL volumes name them), by its monitored resource's exact `database_id`; "" for none."""
    ids = sorted({f"{project}:{name.rsplit(':', 1)[-1]}" for name in sql_instances if name.startswith(project + ":")})
    if not ids:
        return ""
    methods = " OR ".join(f"protoPayload.methodName={quote(m)}" for m in SQL_USER_WRITES)
    which = " OR ".join(f"resource.labels.database_id={quote(i)}" for i in ids)
    return (f'protoPayload.serviceName="cloudsql.googleapis.com" AND ({methods}) '
            f'AND resource.type="cloudsql_database" AND ({which})')


def audit_filter(project: str, service: str, location: str, start: datetime, end: datetime,
                 connector: str | None = None, sql_instances: Iterable[str] = ()) -> str:
    """Admin Activity entries that changed exactly this service (deploys and traffic changes, v1
    and v2 paths, both entries of each long-running operation, merged after reading) and, given its
    connector, the connector's own changes; given the Cloud SQL instances its revisions name, a database
    user changed on one of them (`sql_user_changes_clause`: a password set under the service), in the same
    read: no call more.

    The service is matched on the entry's monitored resource (cloud_run_revision, labels
    service_name and location) with `=`, an exact match: `protoPayload.resourceName:` was a
    substring test that also caught `backend-api` beside `backend`, and a v1 resourceName
    (`namespaces/P/services/S`) names no region, so a same-named service elsewhere matched too.
    The connector is matched on the end of its resource name (`connectors/ID` anchored with `$`, so
    `conn` does not catch `conn-2`); vpcaccess.googleapis.com's methodName form is UNCONFIRMED, so
    any method naming a Connector is matched.
    """
    audit = log_name(project, "cloudaudit.googleapis.com/activity")
    run = (f'protoPayload.serviceName="run.googleapis.com" '
           f'AND protoPayload.methodName=~{quote(AUDIT_METHODS)} '
           f'AND resource.type="cloud_run_revision" AND resource.labels.service_name={quote(service)} '
           f'AND resource.labels.location={quote(location)}')
    which = run
    if connector:
        connector_id = connector.rsplit("/", 1)[-1]
        vpc = ('protoPayload.serviceName="vpcaccess.googleapis.com" AND protoPayload.methodName=~"Connector" '
               f'AND protoPayload.resourceName=~{quote("connectors/" + connector_id + "$")}')
        which = f"(({run}) OR ({vpc}))"
    users = sql_user_changes_clause(project, sql_instances)
    if users:
        which = f"({which} OR ({users}))" if connector else f"(({run}) OR ({users}))"
    return (f'logName="{audit}" AND {which} '
            f'AND timestamp>="{_rfc3339(start)}" AND timestamp<="{_rfc3339(end)}"')
