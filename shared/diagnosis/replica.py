"""A read replica behind its primary, as the application's logs show it: PostgreSQL's hot standby
cancelling a read that holds back the replay of the primary's changes ("canceling statement due to
conflict with recovery", SQLSTATE 40001, past max_standby_streaming_delay; log_signals.REPLICA_CONFLICT).
Read by bad_revision (a revision before reads the same replica) and narrative (where to look next).
Pure, no I/O.

Not read: the replica's lag itself. Cloud SQL reports it as database/replication/replica_lag on the
replica's own cloudsql_database resource (Cloud Monitoring's list of Cloud SQL metrics); the replica is
not a Cloud SQL instance a revision names (it names the primary's connection name, or a private IP),
so which instance to ask is not in the evidence, and every Monitoring read of a diagnosis is already
spent on the service, its connector and its primary (docs/signatures.md, "The cost of one diagnosis").
A MySQL replica answers stale rows without an error: its lag shows in no log line Runwarden reads.
"""
from __future__ import annotations

import re

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import REPLICA_CONFLICT, LogSignal

_CONFLICT = re.compile(REPLICA_CONFLICT, re.IGNORECASE)

# What a person checks: the replica's lag and the two settings that trade it against cancelled reads
# (PostgreSQL docs, "Hot Standby": max_standby_streaming_delay, hot_standby_feedback), and what on the
# primary brought the conflicts (VACUUM removing rows a long read still needs, a bulk change).
REPLICA_ADVICE = ("the read replica the application reads from: its replication lag (Cloud SQL's "
                  "database/replication/replica_lag on the replica), max_standby_streaming_delay and "
                  "hot_standby_feedback, long reads on it and what the primary changed meanwhile (VACUUM, a bulk "
                  "update); every revision that reads the replica meets the same cancellations")


def replica_conflicts(facts: Facts, revision: str | None = None) -> list[LogRecord]:
    """The reads a read replica cancelled for conflicting with its recovery, logged while requests
    failed (Facts.database_lines), by `revision` when given."""
    return facts.database_lines_saying(LogSignal.DB_CANCELLED, _CONFLICT, revision)
