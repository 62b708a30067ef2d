"""A driver's message an application logs after its own `password: ` is the driver's, kept readable: the diagnosis
reads each log line redacted (shared/gcp/logging.py), so a refusal redacted as a password is a refusal lost, and an
incident the database explains is read as the deploy's (shared/redaction.py `_DRIVER_MESSAGE`, `_SENTENCE`)."""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import DB_ERROR_TEXTS, classify, refusal_of
from shared.redaction import redacted

# The words an application writes before its driver's error, as handlers log a failed connection, a Go error chain's
# operations included (`fmt.Errorf("connect: %w", err)`).
PREFIXES = ("password: ", "verify password: ", "with password: ", "db connect with password: ", "password: connect: ",
            "db: password: dial: ")

# Each driver's refusal of a login, after such words: asyncpg's exception class, go-sql-driver/mysql's number and
# SQLSTATE, a JDBC driver's class, lib/pq's "pq: ", PHP PDO's SQLSTATE, Oracle's ORA- code, libpq's FATAL.
REFUSALS = [
    'db connect with password: asyncpg.exceptions.InvalidPasswordError: password authentication failed for user "app"',
    "verify password: Error 1045 (28000): Access denied for user 'app'@'10.8.0.3' (using password: YES)",
    "Cannot connect with password: com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'app'.",
    'password: pq: password authentication failed for user "app"',
    "password: SQLSTATE[HY000] [1045] Access denied for user 'app'@'10.8.0.3' (using password: YES)",
    'with password: FATAL:  password authentication failed for user "app"',
    "password: java.sql.SQLException: Access denied for user 'app'@'10.8.0.3' (using password: YES)",
]


@pytest.mark.parametrize("line", REFUSALS)
def test_a_refusal_after_password_words_stays_a_refusal(line):
    assert redacted(line) == line
    assert refusal_of(redacted(line)).startswith("credentials refused"), redacted(line)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("text", DB_ERROR_TEXTS, ids=lambda t: t.stack)
def test_every_driver_text_classifies_the_same_after_password_words(text, prefix):
    alone, after = redacted(text.example), redacted(prefix + text.example)
    assert (classify(after), refusal_of(after)) == (classify(alone), refusal_of(alone)), after


@pytest.mark.parametrize("line, secret", [
    ("password: hunter2 Error 1045 (28000): Access denied for user 'app'@'10.8.0.3'", "hunter2"),
    ("password: correct horse dial tcp 10.20.0.3:3307: i/o timeout", "horse"),
    ("password: Zq8s3cretW asyncpg.exceptions.InvalidPasswordError: password authentication failed", "Zq8s3cretW"),
])
def test_a_password_before_a_drivers_message_is_redacted_the_message_kept(line, secret):
    out = redacted(line)
    assert secret not in out and out.endswith(line[line.index(secret) + len(secret) + 1:]), out
