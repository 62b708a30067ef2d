"""How many connections a revision's database pool may hold, as its plain env says it: pure, no I/O.
A deploy that raised it makes each instance hold more connections, so refusals at the database's
connection limit that only the new revision meets are its own (database_unreachable,
`_pool_raised`). Only what the revision itself holds is read (Revision.plain_env, EnvVar.value in
Cloud Run's k8s_min.proto); a secret's value never is, and a size set nowhere (a library's default)
is never guessed.

Two forms are read:
- a variable named for a database pool's size: a word of the database in its name (DB, DATABASE,
  DATASOURCE, HIKARI, PG, SQL...), ending with the pool's size (POOL_SIZE, POOL_MAX, MAX_OVERFLOW,
  MAX_CONNECTIONS, CONNECTION_LIMIT, MAX_OPEN_CONNS, or POOL alone), e.g. DB_POOL_SIZE, or Spring
  Boot's relaxed binding of spring.datasource.hikari.maximum-pool-size,
  SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE (Spring Boot reference, "Binding From Environment
  Variables"); and RAILS_MAX_THREADS, which the database.yml Rails generates reads as the pool
  (rails/rails railties/lib/rails/generators/rails/app/templates/config/databases/postgresql.yml.tt,
  `pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>`, as generated apps' database.yml show it; the
  template's path and later versions' wording UNCONFIRMED). A
  thread pool's, an HTTP client's or a Redis pool's size names no database and is not read.
- a pool parameter inside a connection string (any variable): Prisma's `connection_limit`
  (prisma/prisma-engines, the P2024 text's "connection limit"), pgx's `pool_max_conns`
  (jackc/pgx pgxpool/pool.go ParseConfig), Rails' `pool` in DATABASE_URL (its query merged into the
  configuration; UNCONFIRMED against the source), `pool_size` and `max_overflow`, and the .NET
  keywords `Maximum Pool Size` / `Max Pool Size` (Npgsql's own exhaustion text names 'Max Pool Size':
  npgsql/npgsql src/Npgsql/PoolingDataSource.cs), one setting under either spelling.
"""
from __future__ import annotations

import re

from shared.diagnosis.evidence import Revision

_DATABASE_WORDS = frozenset({"DB", "DATABASE", "DATASOURCE", "HIKARI", "JDBC", "SQL", "SQLALCHEMY", "MYSQL", "PG",
                             "PGSQL", "POSTGRES", "POSTGRESQL", "PRISMA", "SEQUELIZE", "KNEX", "TYPEORM", "ECTO"})
# The name's words run together, so SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE and DB_POOL_SIZE end alike.
_SIZE_ENDINGS = ("POOLSIZE", "POOLMAX", "MAXOVERFLOW", "MAXCONNECTIONS", "CONNECTIONLIMIT", "MAXOPENCONNS",
                 "POOLMAXCONNS", "POOL")
_RAILS = "RAILS_MAX_THREADS"
_PARAMETER = re.compile(r"(?:^|[?&;])\s*(connection_limit|pool_max_conns|pool_size|max_overflow|pool|"
                        r"max(?:imum)?\s*pool\s*size)\s*=\s*(\d+)", re.IGNORECASE)


def _sized_name(name: str) -> bool:
    """Whether a variable's name says it holds a database pool's size."""
    words = [w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w]
    if name.upper() == _RAILS:
        return True
    return bool(_DATABASE_WORDS.intersection(words)) and "".join(words).endswith(_SIZE_ENDINGS)


def _parameter(key: str) -> str:
    """One name for a connection-string parameter, whatever its spelling ("Max Pool Size" is
    "Maximum Pool Size")."""
    key = re.sub(r"\s+", "", key.lower())
    return "maximumpoolsize" if key in ("maxpoolsize", "maximumpoolsize") else key


def pool_sizes(revision: Revision) -> dict[str, int]:
    """The pool sizes a revision sets in its plain env, keyed by where ("DB_POOL_SIZE",
    "DATABASE_URL connection_limit"), each a whole number as written."""
    sizes: dict[str, int] = {}
    for name, value in revision.plain_env:
        if _sized_name(name) and value.strip().isdigit():
            sizes[name] = int(value.strip())
        for found in _PARAMETER.finditer(value):
            sizes[f"{name} {_parameter(found.group(1))}"] = int(found.group(2))
    return sizes


def pool_size_changed(before: Revision, after: Revision) -> list[tuple[str, int, int]]:
    """(where, before, after) for each pool size both revisions set, by the same name, that differs."""
    old, new = pool_sizes(before), pool_sizes(after)
    return [(key, old[key], new[key]) for key in new if key in old and new[key] != old[key]]


def pool_size_raised(before: Revision, after: Revision) -> list[str]:
    """The pool sizes `after` raised over `before`, in words ("DB_POOL_SIZE from 10 to 40"), when it
    raised at least one and lowered none; [] otherwise."""
    changed = pool_size_changed(before, after)
    if any(new < old for _, old, new in changed):
        return []
    return [f"{key} from {old} to {new}" for key, old, new in changed]
