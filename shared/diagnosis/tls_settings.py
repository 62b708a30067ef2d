"""A deploy's change to the client's TLS settings, read from the two revisions' plain env.

A driver takes its TLS settings from its connection string's parameters (libpq's `sslmode`, MySQL's
`ssl-mode`, Connector/J's `sslMode`, `useSSL` and `enabledTLSProtocols`, node-postgres's `ssl`) or from
variables of its own (libpq's PGSSLMODE); applications name theirs as they like (DB_SSL, DATABASE_TLS).
A plain value comes back exactly with the revision that holds it (Cloud Run keeps it in the revision,
Revision.containers[].env[].value), so a TLS refusal only from a revision whose deploy changed such a
setting is cured by sending traffic back. Told by name only: a variable named for SSL may hold a key or
a certificate, so no value is ever shown.
"""
from __future__ import annotations

import re

from shared.diagnosis.evidence import Revision
from shared.diagnosis.secret_refs import held_differently, secrets_that_may_name_hosts

# A variable whose name says SSL or TLS (PGSSLMODE, DB_SSL, MYSQL_SSL_MODE, DATABASE_TLS).
_TLS_NAME = re.compile(r"SSL|TLS", re.IGNORECASE)
# A connection string's TLS parameters, as a URL query or libpq's keyword form.
# libpq's `sslrootcert`, MySQL's `ssl-ca` and Connector/J's `verifyServerCertificate` say whether the server is
# verified (`verifies_server`).
_TLS_PARAM = re.compile(r"(?:^|[\s?&;])(sslmode|ssl-mode|ssl_mode|usessl|requiressl|ssl|tls|enabledtlsprotocols"
                        r"|sslrootcert|ssl-ca|ssl_ca|sslca|verifyservercertificate|ssl-verify-server-cert"
                        r"|ssl_verify_server_cert)=([^\s&;]*)", re.IGNORECASE)


def _settings(env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each TLS setting the plain env holds, by where it is held ("plain env PGSSLMODE", "sslmode in
    the plain env DATABASE_URL"), with its value."""
    held: dict[str, str] = {}
    for name, value in env:
        if _TLS_NAME.search(name):
            held[f"plain env {name}"] = value
        for key, setting in _TLS_PARAM.findall(value):
            held[f"{key} in the plain env {name}"] = setting.lower()
    return held


def tls_settings_changed(before: Revision, after: Revision) -> list[str]:
    """Where `after` holds a TLS setting differently from `before` (changed, added or removed), by name
    only; [] when none, or when either plain env was not read (() is none read: an unread env is no
    evidence of a change)."""
    if not before.plain_env or not after.plain_env:
        return []
    return held_differently(before, after, _settings)


# A mode that verifies the server's certificate: libpq's sslmode verify-ca and verify-full ("sslmode", libpq's
# "Connection Parameters"), MySQL's --ssl-mode VERIFY_CA and VERIFY_IDENTITY (MySQL Reference Manual, "Command
# Options for Encrypted Connections"), Connector/J's sslMode of the same names. Never node-postgres's `no-verify`.
_VERIFY_MODE = re.compile(r"^verify[-_](?:ca|full|identity)$", re.IGNORECASE)
# A mode that verifies nothing: libpq's disable, MySQL's and Connector/J's DISABLED, PREFERRED and REQUIRED (MySQL
# Reference Manual, "Command Options for Encrypted Connections", --ssl-mode: REQUIRED "does not verify"),
# node-postgres's no-verify (brianc/node-postgres packages/pg-connection-string README, "sslmode":
# rejectUnauthorized false).
_QUIET_MODE = re.compile(r"^(?:disable|no-verify|disabled|preferred|required)$", re.IGNORECASE)
# libpq's allow, prefer and require check no host name, but they verify the server's chain against a root CA file
# when one exists ("If a root CA file exists, the behavior of sslmode=require will be the same as that of
# verify-ca", libpq's "SSL Support"), and libpq looks for one at ~/.postgresql/root.crt when none is named (libpq's
# "Connection Parameters", sslrootcert; PGSSLROOTCERT): a file an image may ship in its home directory, which no
# env shows. pgx reads require the same way (jackc/pgx pgconn/config.go configTLS: require with a root CA found is
# verify-ca; UNCONFIRMED for each release), and asyncpg too (asyncpg connect_utils.py: check_hostname only at
# verify-full, CERT_REQUIRED at require when a root certificate is found). At allow and prefer pgx sets
# InsecureSkipVerify (configTLS) and asyncpg CERT_NONE, while whether libpq verifies there is UNCONFIRMED (its docs
# name require; fe-secure-openssl.c loads the file for any TLS connection): the driver is not told by the env, so
# all three say nothing of the chain. None of them checks a host name, nor does verify-ca (libpq's "SSL Support",
# Table "SSL Mode Descriptions": only verify-full "verifies that the server host name matches"; pgx and asyncpg
# alike): asked of the host name only, such a mode is False.
_CHAIN_UNKNOWN_MODE = re.compile(r"^(?:allow|prefer|require)$", re.IGNORECASE)
_NO_HOST_NAME_MODE = re.compile(r"^(?:allow|prefer|require|verify[-_]ca)$", re.IGNORECASE)
_HOST_NAME_MODE = re.compile(r"^verify[-_](?:full|identity)$", re.IGNORECASE)
# pgjdbc verifies nothing below verify-ca: its LibPQFactory wraps a NonValidatingTM unless the mode's
# verifyCertificate() holds, and reads root.crt only at verify-ca and verify-full (pgjdbc
# org/postgresql/ssl/LibPQFactory.java; docs, "Using SSL": require "verification is not performed"). So an
# sslmode of allow, prefer or require inside a jdbc:postgresql: URL verifies no chain and no host name.
_PGJDBC_URL = re.compile(r"^jdbc:postgresql:", re.IGNORECASE)
# That reading is LibPQFactory's: pgjdbc uses it only when `sslfactory` is unset or names it; any other class is
# instantiated in its place (pgjdbc org/postgresql/core/SocketFactoryFactory.java, getSslSocketFactory). The JDK's
# own (`org.postgresql.ssl.DefaultJavaSSLFactory`) checks the chain against the JVM's trust store whatever the mode,
# an application's factory as it likes; only `org.postgresql.ssl.NonValidatingFactory` trusts every certificate
# (pgjdbc docs, "Using SSL", "Custom SSLSocketFactory"). So with another factory the mode says nothing of the chain.
_PGJDBC_FACTORY = re.compile(r"[?&;]sslfactory=([^&;\s]*)", re.IGNORECASE)
_PGJDBC_LIBPQ_OR_NONE = frozenset({"", "org.postgresql.ssl.libpqfactory", "org.postgresql.ssl.jdbc4.libpqfactory",
                                   "org.postgresql.ssl.nonvalidatingfactory"})
# node-postgres reads `prefer`, `require` and `verify-ca` as verify-full ("SECURITY WARNING: The SSL modes 'prefer',
# 'require', and 'verify-ca' are treated as aliases for 'verify-full'", brianc/node-postgres
# packages/pg-connection-string index.js, until its v3; pg's PGSSLMODE alike, packages/pg/lib/connection-parameters.js
# useSsl): in a revision whose env names Node.js (NODE_ENV, NODE_OPTIONS, NODE_EXTRA_CA_CERTS: the runtime's
# variables, Node.js docs "Command-line API") those modes say nothing of verification. A Node.js service that sets
# none of them is read as libpq reads its mode (UNCONFIRMED which library such a revision runs).
# A host name refused in Node's own words (log_signals.node_host_name_words: ERR_TLS_CERT_ALTNAME_INVALID) says the
# client is Node.js whatever its env names (`verifies_server`'s `node`).
_NODE_VARIABLE = re.compile(r"^NODE_", re.IGNORECASE)
_NODE_VERIFIES = re.compile(r"^(?:prefer|require|verify[-_]ca)$", re.IGNORECASE)
# A setting named for verifying the server, whose truth decides it: MySQL's --ssl-verify-server-cert (MariaDB
# Connector/C, mysqlclient's `ssl_verify_cert`), Connector/J's verifyServerCertificate ("Connector/J
# Developer Guide", Security), an application's DB_SSL_VERIFY or DB_SSL_VERIFY_SERVER_CERT.
_VERIFY_NAME = re.compile(r"verify", re.IGNORECASE)
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})
# A root CA named: libpq verifies against it at sslmode=require ("If a root CA file exists, the behavior of
# sslmode=require will be the same as that of verify-ca", libpq's "SSL Support"). A MySQL client given a CA with no
# mode: PyMySQL verifies the chain whenever given one (PyMySQL pymysql/connections.py _create_ssl_ctx: CERT_REQUIRED
# unless no CA), and the MySQL client's --ssl-ca alone has meant VERIFY_CA since --ssl-mode replaced it (MySQL
# WL#8785, "Support multi-state SSL option": Verify CA "controlled by --ssl-ca/--ssl-capath"); whether every client
# version reads it so, and whether REQUIRED beside it verifies nothing, is UNCONFIRMED. Read as verifying: True and
# unknown alike leave a certificate refusal competing, so the answer holds under every reading.
_ROOT_CA = re.compile(r"ROOT_?CERT|(?:^|[_-])CA(?:$|[_-])|SSLCA", re.IGNORECASE)
# pgjdbc's ssl=true with no sslmode verifies the full chain and the host name ("ssl": "if set ... sslmode defaults
# to verify-full", pgjdbc docs, "Connecting to the Database"); libpq reads the same ssl=true as require ("For
# improved compatibility with JDBC connection URIs, instances of parameter ssl=true are translated into
# sslmode=require", libpq's "Connection URIs"), so only a jdbc:postgresql: URL is read so.
_PGJDBC_SSL_ONLY = re.compile(r"^jdbc:postgresql:(?!.*[?&;]sslmode=).*[?&;]ssl=true(?:$|[&;])", re.IGNORECASE)


def setting_name(where: str) -> str:
    """The name a setting is held by: the env var's ("plain env DB_SSL_CA"), or the parameter's ("sslrootcert in the
    plain env DATABASE_URL")."""
    return where.split(" in the plain env ")[0].removeprefix("plain env ")


def _verifying(where: str, value: str, host_name: bool) -> bool:
    """Whether one TLS setting, by where it is held and its value, asks the client to verify the server (with
    `host_name`, to check the host name: verify-full and VERIFY_IDENTITY, a verify flag on; a root CA alone is
    verify-ca)."""
    key, value = setting_name(where), value.strip()
    mode = _HOST_NAME_MODE if host_name else _VERIFY_MODE
    return (bool(mode.match(value)) or (bool(_VERIFY_NAME.search(key)) and value.lower() in _TRUE)
            or (not host_name and bool(_ROOT_CA.search(key)) and bool(value)))


def _quiet(where: str, value: str, env: dict[str, str], node: bool, host_name: bool) -> bool:
    """Whether one TLS setting says the client verifies nothing (a mode of `_QUIET_MODE`; pgjdbc's modes below
    verify-ca, `_PGJDBC_URL`; when only the host name is asked of, `_NO_HOST_NAME_MODE` too, unless Node.js may read
    it as verify-full; a verify flag off)."""
    key, value = setting_name(where), value.strip()
    pgjdbc = " in the plain env " in where and _pgjdbc_unverified(env.get(where.split(" in the plain env ")[1], ""))
    no_host_name = host_name and bool(_NO_HOST_NAME_MODE.match(value)) and not (node and _NODE_VERIFIES.match(value))
    return bool(_QUIET_MODE.match(value)) or no_host_name or (pgjdbc and bool(_CHAIN_UNKNOWN_MODE.match(value))) \
        or (bool(_VERIFY_NAME.search(key)) and value.lower() in _FALSE)


def _pgjdbc_unverified(url: str) -> bool:
    """`url` is pgjdbc's whose factory verifies nothing below verify-ca: LibPQFactory, named or by default, or
    NonValidatingFactory (`_PGJDBC_FACTORY`)."""
    factory = _PGJDBC_FACTORY.search(url)
    named = factory.group(1).strip().lower() if factory else ""
    return bool(_PGJDBC_URL.match(url)) and named in _PGJDBC_LIBPQ_OR_NONE


def verifies_server(revision: Revision, host_name: bool = False, node: bool = False) -> bool | None:
    """Whether `revision` asks its client to verify the server's certificate (with `host_name`, only whether it checks
    the name the certificate holds against the host dialled: verify-full's own check, by the mode's meaning), True for
    a verifying form (`_VERIFY_MODE`, or `_HOST_NAME_MODE` for the host name; a verify flag on; a root CA named, for
    the chain; pgjdbc's ssl=true alone), False only when its plain env says it verifies nothing (`_quiet`) and holds
    no verifying form; None (unknown) when its env was not read, when it reads a secret that may hold TLS settings (a
    DSN, a config file: secret_refs.secrets_that_may_name_hosts; its value is never read), or when no setting says
    either (a library's default, the code's own, libpq's require beside a root CA file the image may hold:
    `_CHAIN_UNKNOWN_MODE`). `node` says the client is node-postgres (the refusal's own words are Node's), which reads
    require, prefer and verify-ca as verify-full, as a NODE_* variable says it may be. A revision that verifies nothing
    is refused no certificate: a rotated server CA or a certificate naming another host leaves its connections as they
    were."""
    if not revision.plain_env or secrets_that_may_name_hosts(revision):
        return None
    held, env = _settings(revision.plain_env), dict(revision.plain_env)
    if any(_verifying(where, value, host_name) for where, value in held.items()) \
            or any(_PGJDBC_SSL_ONLY.search(value) for _, value in revision.plain_env):
        return True
    node = node or any(_NODE_VARIABLE.match(name) for name, _ in revision.plain_env)
    return False if any(_quiet(where, value, env, node, host_name) for where, value in held.items()) else None
