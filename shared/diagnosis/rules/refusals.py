"""The database's own refusals in the service's logs, by what it said: read by database_unreachable
(which names them), connector_saturation (an answer proves the path through the connector works) and bad_revision
(the user a password set under the service must be, `names_said`)."""
from __future__ import annotations

import re

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts


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
# "for user 'U'@" and 1049's "Unknown database 'D'" (MySQL server error reference), and Rails' username error,
# "... with your username/password, username: U." (activerecord errors.rb, DatabaseConnectionError.username_error).
_NAMES_SAID = (("user", re.compile(r'(?:`|\s)user=([^\s`]+)|\b(?:user|role) "([^"\n]+)"|\bfor user \'([^\'\n]+)\'@'
                                   r"|\busername/password, username: (\S+?)\.?(?:\s|$)")),
               ("database", re.compile(r'(?:`|\s)database=([^\s`]+)|\bdatabase "([^"\n]+)"'
                                       r"|\bUnknown database '([^'\n]+)'")))


def names_said(text: str) -> set[tuple[str, str]]:
    """The (setting, name) pairs one refusal gives ("user", "app"), wherever its driver or server says them."""
    return {(what, next(g for g in m.groups() if g is not None))
            for what, pattern in _NAMES_SAID for m in pattern.finditer(text)}
