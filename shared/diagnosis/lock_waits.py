"""Lock waits, as the application's logs show them: statements the database cancelled because they
waited on a lock another session held (PostgreSQL's lock_timeout, MySQL's innodb_lock_wait_timeout),
read by bad_revision (the session holding the lock, a migration run beside the deploy, a batch,
another service, is not shown to be the new revision's, and the revision before writes the same
rows), and with the deadlocks the database broke, by narrative (where to find the holder). Pure, no
I/O.

Only lines one search has already matched are read (LogSignal.DB_CANCELLED, DB_STATEMENT_FAILED),
each distinct text once (Facts.database_lines_saying): no regex is asked of every line.
"""
from __future__ import annotations

import re

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, words_of

# The words that say a lock was waited on, inside lines their signal's own patterns matched (the
# frames that make "deadlock detected" the database's are checked there). PostgreSQL 55P03
# lock_not_available at lock_timeout, "canceling statement due to lock timeout" (src/backend/tcop/
# postgres.c, ProcessInterrupts; psycopg2 raises it as errors.LockNotAvailable); MySQL 1205
# ER_LOCK_WAIT_TIMEOUT, "Lock wait timeout exceeded; try restarting transaction" (MySQL Server Error
# Message Reference): a statement waited past a timeout on a lock another session held.
LOCK_TIMEOUT = r"lock timeout|Lock wait timeout exceeded"
_LOCK_TIMEOUT = re.compile(LOCK_TIMEOUT, re.IGNORECASE)
# PostgreSQL 40P01 "deadlock detected" (src/backend/storage/lmgr/deadlock.c) and MySQL 1213 "Deadlock
# found when trying to get lock": a cycle the database broke, which may be the new revision's own lock
# order (bad_revision rolls those back, tests/unit/test_connector_closed_failed_crashed.py): read for
# the advice only.
_DEADLOCK = re.compile(r"deadlock detected|Deadlock found when trying to get lock", re.IGNORECASE)

# What a person checks: who holds the lock (PostgreSQL's pg_locks joined to pg_stat_activity; MySQL's
# performance_schema.data_lock_waits), and what began when the waits did (a migration such as a CREATE
# INDEX without CONCURRENTLY or an ALTER TABLE, a batch, a long transaction).
LOCK_ADVICE = ("find the session holding the lock (PostgreSQL: pg_locks with pg_blocking_pids() and "
               "pg_stat_activity; MySQL: performance_schema.data_lock_waits): a migration (CREATE INDEX without "
               "CONCURRENTLY, ALTER TABLE), a batch, a long transaction; every revision that writes those rows "
               "waits on it")


def lock_timeouts(facts: Facts, revision: str | None = None) -> list[LogRecord]:
    """The statements the database cancelled at a lock timeout, logged while requests failed
    (Facts.database_lines), by `revision` when given."""
    return facts.database_lines_saying(LogSignal.DB_CANCELLED, _LOCK_TIMEOUT, revision)


def lock_waits(facts: Facts) -> list[LogRecord]:
    """The statements the database cancelled at a lock timeout or ended in a deadlock, logged while
    requests failed: where the advice sends a person to find the lock's holder."""
    return lock_timeouts(facts) + facts.database_lines_saying(LogSignal.DB_STATEMENT_FAILED, _DEADLOCK)


def lock_words(text: str) -> str:
    """The database's words in a lock wait's line (a traceback's first lines say nothing), for a summary."""
    return words_of(LogSignal.DB_CANCELLED, text) or excerpt(text, limit=120)
