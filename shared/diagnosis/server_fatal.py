"""Which of a PostgreSQL server's own FATAL refusals (log_signals.Refusal.SERVER_FATAL) name a setting of the
connection the server does not hold or admit: a role or a database that does not exist, a role not permitted to log
in. Each stays until a person changes a grant, a name or a setting, unlike a FATAL of a state that passes (out of
memory, a limit of its own). Read by database_unreachable (which setting a refusal names) and lasting_refusals
(clean minutes after one are not the cause fixed). Pure, no I/O.

The server's words (PostgreSQL source): 'role "%s" does not exist' and 'role "%s" is not permitted to log in'
(src/backend/utils/init/miscinit.c, InitializeSessionUserId; SQLSTATE 28000), 'database "%s" does not exist'
(src/backend/utils/init/postinit.c, InitPostgres; SQLSTATE 3D000). A driver quotes them after "FATAL:" (libpq) or
with its own prefix (lib/pq's "pq: ", asyncpg's exception name)."""
from __future__ import annotations

import re

NO_DATABASE = re.compile(r'\bdatabase "[^"]*" does not exist', re.IGNORECASE)
NO_ROLE = re.compile(r'\brole "[^"]*" does not exist', re.IGNORECASE)
NO_LOGIN = re.compile(r'\brole "[^"]*" is not permitted to log in', re.IGNORECASE)


def names_what_is_not_held(text: str) -> bool:
    """Whether a server's FATAL refuses a role or a database the server does not hold, or a role it does not let
    log in (NO_ROLE, NO_DATABASE, NO_LOGIN): a refusal that lasts until a person acts."""
    return any(p.search(text) for p in (NO_ROLE, NO_DATABASE, NO_LOGIN))
