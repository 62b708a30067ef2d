"""Which of a PostgreSQL server's own FATAL refusals (log_signals.Refusal.SERVER_FATAL) name a setting of the
connection the server does not hold or admit: a role or a database that does not exist, a role not permitted to log
in, a database that takes no connection or none of this role's. Each stays until a person changes a grant, a name or
a setting, unlike a FATAL of a state that passes (out of memory, a limit of its own). Read by database_unreachable
(which setting a refusal names) and lasting_refusals (clean minutes after one are not the cause fixed). Pure, no I/O.

The server's words (postgres/postgres source): 'role "%s" does not exist' and 'role "%s" is not permitted to log in'
(src/backend/utils/init/miscinit.c, InitializeSessionUserId; SQLSTATE 28000, ERRCODE_INVALID_AUTHORIZATION_
SPECIFICATION, both at FATAL), 'database "%s" does not exist' (src/backend/utils/init/postinit.c, InitPostgres;
SQLSTATE 3D000, ERRCODE_UNDEFINED_DATABASE), 'database "%s" is not currently accepting connections' (postinit.c,
CheckMyDatabase: pg_database.datallowconn false; 55000) and 'permission denied for database "%s"' with DETAIL "User
does not have CONNECT privilege." (postinit.c, CheckMyDatabase; 42501). A driver quotes them after "FATAL:" (libpq)
or in its own frame (lib/pq's "pq: ", asyncpg's exception name, pg8000's field dict, Npgsql's SQLSTATE prefix);
Prisma's P1003 names the database between backquotes ("Database `%s` does not exist on the database server at
`%s`.", prisma/prisma-engines libs/user-facing-errors/src/common.rs, DatabaseDoesNotExist)."""
from __future__ import annotations

import re

# Not CREATE DATABASE ... TEMPLATE's 'template database "%s" does not exist' (dbcommands.c createdb): a statement's.
NO_DATABASE = re.compile(r'(?<!template )\bdatabase (?:"[^"]*"|`[^`]*`) does not exist', re.IGNORECASE)
NO_ROLE = re.compile(r'\brole "[^"]*" does not exist', re.IGNORECASE)
NO_LOGIN = re.compile(r'\brole "[^"]*" is not permitted to log in', re.IGNORECASE)
# A database the role may not connect to (CONNECT revoked), or one that takes no connection at all.
NO_CONNECT = re.compile(r'\bpermission denied for database "[^"]*"', re.IGNORECASE)
NOT_ACCEPTING = re.compile(r'\bdatabase "[^"]*" is not currently accepting connections', re.IGNORECASE)

# The FATALs that name the role the connection logs in as, and those that name the database it asks for. A missing
# CONNECT privilege (42501) is both: it is granted to a role on a database (GRANT CONNECT ON DATABASE d TO r;
# PostgreSQL docs, "Privileges"; postinit.c CheckMyDatabase checks pg_database_aclcheck of the database for the
# role that logs in), so moving to another role refuses it as moving to another database does.
NAMES_THE_USER = (NO_ROLE, NO_LOGIN, NO_CONNECT)
NAMES_THE_DATABASE = (NO_DATABASE, NO_CONNECT, NOT_ACCEPTING)


def names_the_user(text: str) -> bool:
    """Whether a server's FATAL refuses the role the connection logs in as (NAMES_THE_USER)."""
    return any(p.search(text) for p in NAMES_THE_USER)


def names_the_database(text: str) -> bool:
    """Whether a server's FATAL refuses the database the connection asks for (NAMES_THE_DATABASE)."""
    return any(p.search(text) for p in NAMES_THE_DATABASE)


def names_what_is_not_held(text: str) -> bool:
    """Whether a server's FATAL refuses a role or a database the server does not hold or admit (`names_the_user`,
    `names_the_database`): a refusal that lasts until a person acts (a grant, a name, ALTER ROLE ... LOGIN, ALTER
    DATABASE ... ALLOW_CONNECTIONS)."""
    return names_the_user(text) or names_the_database(text)
