"""The database's own refusals in the service's logs, by what it said: read by database_unreachable
(which names them), connector_saturation (an answer proves the path through the connector works) and bad_revision
(the user a password set under the service must be, `names_said`)."""
from __future__ import annotations

import re

from collections.abc import Sequence
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
# "for user 'U'@", 1044's "to database 'D'" and 1049's "Unknown database 'D'" (MySQL server error reference), and
# Rails' username error,
# "... with your username/password, username: U." (activerecord errors.rb, DatabaseConnectionError.username_error).
_NAMES_SAID = (("user", re.compile(r'(?:`|\s)user=([^\s`]+)|\b(?:user|role) "([^"\n]+)"|\bfor user \'([^\'\n]+)\'@'
                                   r"|\busername/password, username: (\S+?)\.?(?:\s|$)")),
               ("database", re.compile(r'(?:`|\s)database=([^\s`]+)|\bdatabase "([^"\n]+)"'
                                       r"|\bUnknown database '([^'\n]+)'|\bto database '([^'\n]+)'")))


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


def user_changes(facts: Facts, entries: Sequence[LogRecord], users: list[str], first: datetime, *,
                 unread_users_match: bool = False) -> list[LogRecord]:
    """The Admin Activity entries of a database user changed or deleted (cloudsql.users.update or .delete,
    log_signals.SQL_USER_WRITES) at or before the first refusal (`first`), not failed, by anyone but Runwarden, of one of `users` (the users the
    revisions log in as, `users_logging_in`) or naming none (LogRecord.sql_user: which field carries it is
    UNCONFIRMED, so an entry naming no user may be any). With no user of the revisions read (`users` empty: DB_USER
    held in a secret, a refusal that names none, Prisma's P1000), an entry naming a user may be theirs: it counts
    when `unread_users_match`, the reading on the safe side for a caller that rules a rollback in when nothing
    changed (database_unreachable); a caller that rules the deploy out when something changed (bad_revision) keeps
    it out."""
    return [e for e in entries if e.method_name in SQL_USER_WRITES and e.status_code in (None, 0)
            and e.principal not in facts.s.self_principals and e.timestamp <= first
            and (e.sql_user is None or e.sql_user in users or (unread_users_match and not users))]
