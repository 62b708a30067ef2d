"""The database's own refusals in the service's logs, by what it said: read by database_unreachable
(which names them), connector_saturation (an answer proves the path through the connector works) and bad_revision
(the user a password set under the service must be, `names_said`)."""
from __future__ import annotations

import re

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.diagnosis.env_hosts import asked_for
from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import SQL_USER_WRITES


def refusals(facts: Facts) -> dict[str, list[LogRecord]]:
    """The database's refusals in the logs, by what it said, most said first, when enough were logged
    while requests failed; else empty: Facts.db_refusals, found once per diagnosis (two rules ask)."""
    return facts.db_refusals


def refused_observed(facts: Facts) -> str:
    """The refusals as evidence: how many lines said each, the most said first."""
    return "; ".join(f"{len(entries)}x {kind}" for kind, entries in refusals(facts).items())


# The names a refusal gives: pgx's ConnectError header, "failed to connect to `user=U database=D`" (v5.5+)
# or "`host=H user=U database=D`" (v4; jackc/pgx pgconn/errors.go), and the server's own words, 'user "U"',
# 'role "U"', 'database "D"' (PostgreSQL's auth.c, hba.c, postinit.c, miscinit.c messages), a MySQL 1045's
# "for user 'U'@", 1044's "to database 'D'" and 1049's "Unknown database 'D'" (MySQL server error reference),
# Prisma's P1003, "Database `D` does not exist on the database server" (prisma/prisma-engines
# libs/user-facing-errors/src/common.rs, DatabaseDoesNotExist; a dotted name is a schema, log_signals), and
# Rails' username error,
# "... with your username/password, username: U." (activerecord errors.rb, DatabaseConnectionError.username_error),
# and MySQL's per-user limit, 1203's "User U already has more than 'max_user_connections'" (the name unquoted) and
# 1226's "User 'U' has exceeded the 'max_user_connections' resource" (MySQL Server Error Message Reference).
_NAMES_SAID = (("user", re.compile(r'(?:`|\s)user=([^\s`]+)|\b(?:user|role) "([^"\n]+)"|\bfor user \'([^\'\n]+)\'@'
                                   r"|\busername/password, username: (\S+?)\.?(?:\s|$)"
                                   r"|\bUser (?:'([^'\n]+)'|(\S+)) (?:already has more than|has exceeded the) "
                                   r"'max_user_connections'")),
               ("database", re.compile(r'(?:`|\s)database=([^\s`]+)|\bdatabase "([^"\n]+)"'
                                       r"|\bUnknown database '([^'\n]+)'|\bto database '([^'\n]+)'"
                                       r"|\bDatabase `([^`.\n]+)` does not exist on the database server\b")))


def names_said(text: str) -> set[tuple[str, str]]:
    """The (setting, name) pairs one refusal gives ("user", "app"), wherever its driver or server says them."""
    return {(what, next(g for g in m.groups() if g is not None))
            for what, pattern in _NAMES_SAID for m in pattern.finditer(text)}


def users_logging_in(refused: dict[str, list[LogRecord]], previous: Revision, suspect: Revision) -> list[str]:
    """The database users the revisions are shown to log in as: each a refusal names (`names_said`: 'for
    user "U"', pgx's `user=U`, MySQL's 'U'@), and each either revision's plain env asks for (env_hosts.asks_for's
    reading of DB_USER, a connection URL's user: `asked_for`). A users.update entry naming another user (a rotation of
    `reports` while the service logs in as `invoices`) changed no password the service presents: it is not the
    refusals' cause (Cloud SQL Admin API REST reference, users.update: "Name of the user in the instance")."""
    texts = {e.text for entries in refused.values() for e in entries}    # each text searched once, not each line
    said = {name for text in texts for what, name in names_said(text) if what == "user"}
    return sorted(said | asked_for(previous.plain_env, "user") | asked_for(suspect.plain_env, "user"))


# The account a MySQL 1045 names, 'U'@'H': H is the client host the server saw ("Access denied for user
# 'U'@'H'", MySQL server error reference, ER_ACCESS_DENIED_ERROR), which an account's host must match.
_ACCOUNT_REFUSED = re.compile(r"\bfor user '([^'\n]+)'@'([^'\n]+)'")
# A MySQL account host that names addresses only (literal or with the wildcards % and _, "Specifying Account
# Names", MySQL Reference Manual) or the local socket ('localhost'): whether it matches a client host is read
# here. Any other host (a DNS name, a netmask) may resolve to the client: it is not read, so it may match.
_ADDRESS_HOST = re.compile(r"localhost|[0-9.%_]+|[0-9a-f%_]*:[0-9a-f:%_]*", re.IGNORECASE)    # IPv6: a colon


def refused_hosts(refused: dict[str, list[LogRecord]]) -> dict[str, set[str]]:
    """The client hosts the refusals name for each user ('invoices'@'10.8.0.5': {"invoices": {"10.8.0.5"}})."""
    texts = {e.text for entries in refused.values() for e in entries}
    hosts: dict[str, set[str]] = {}
    for text in texts:
        for user, host in _ACCOUNT_REFUSED.findall(text):
            hosts.setdefault(user, set()).add(host)
    return hosts


def host_may_match(account_host: str, client: str) -> bool:
    """Whether a MySQL account's host may admit a client host: its pattern matches (% any run, _ one character,
    case-insensitively), or it is a name or netmask whose match is not read (on the safe side: it may)."""
    if not _ADDRESS_HOST.fullmatch(account_host):
        return True
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in account_host)
    return re.fullmatch(pattern, client, re.IGNORECASE) is not None


def same_account(entry: LogRecord, hosts: Mapping[str, set[str]]) -> bool:
    """Whether a change of `entry.sql_user` may be of the account the refusals name: its host unread (None, a
    PostgreSQL role), no refusal naming that user's host, or its host may admit one of the refused clients."""
    clients = hosts.get(entry.sql_user or "")
    return (entry.sql_user_host is None or not clients
            or any(host_may_match(entry.sql_user_host, client) for client in clients))


def user_changes(facts: Facts, entries: Sequence[LogRecord], users: list[str], first: datetime, *,
                 unread_users_match: bool = False, hosts: Mapping[str, set[str]] | None = None) -> list[LogRecord]:
    """The Admin Activity entries of a database user changed or deleted (cloudsql.users.update or .delete,
    log_signals.SQL_USER_WRITES) at or before the first refusal (`first`), not failed, by anyone but Runwarden, of one of `users` (the users the
    revisions log in as, `users_logging_in`) or naming none (LogRecord.sql_user: which field carries it is
    UNCONFIRMED, so an entry naming no user may be any). With no user of the revisions read (`users` empty: DB_USER
    held in a secret, a refusal that names none, Prisma's P1000), an entry naming a user may be theirs: it counts
    when `unread_users_match`, the reading on the safe side for a caller that rules a rollback in when nothing
    changed (database_unreachable); a caller that rules the deploy out when something changed (bad_revision) keeps
    it out. A MySQL account is its user and host (Cloud SQL Admin API REST reference, users.delete: "host", "Host of
    the user in the instance"): a change whose host cannot admit the client the refusals name for that user
    (`hosts`, `refused_hosts`: 'invoices'@'localhost' deleted, 'invoices'@'10.8.0.5' refused) is another user's."""
    return [e for e in entries if e.method_name in SQL_USER_WRITES and e.status_code in (None, 0)
            and e.principal not in facts.s.self_principals and e.timestamp <= first
            and (e.sql_user is None or (e.sql_user in users and same_account(e, hosts or {}))
                 or (unread_users_match and not users))]
