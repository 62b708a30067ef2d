"""A driver's message an application logs after its own `password: ` is the driver's, kept readable: the diagnosis
reads each log line redacted (shared/gcp/logging.py), so a refusal redacted as a password is a refusal lost, and an
incident the database explains is read as the deploy's (shared/redaction.py `_DRIVER_MESSAGE`, `_SENTENCE`)."""
from __future__ import annotations

import json
import re

import pytest

from shared.diagnosis.log_signals import DB_ERROR_TEXTS, classify, read_signals, refusal_of
from shared.redaction import REDACTED, redacted

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


# The diagnosis reads each line as shared/gcp/logging.py redacts it: keeping what its signals read.
def _read(text: str) -> str:
    return redacted(text, reads=read_signals)


def _bare_forms(example: str) -> set[str]:
    """A driver's example without its exception's class or prefix (each cut after ": ", ") " or "] "), as an
    application logs the message alone, and each so flattened onto one line and JSON-escaped (a line in a JSON
    string)."""
    cuts = {example} | {example[m.end():] for m in re.finditer(r":\s+|\)\s+|\]\s+", example)}
    return {form for cut in cuts if len(cut) >= 8
            for form in (cut, cut.replace("\n", " "), json.dumps(cut)[1:-1])}


BARE_FORMS = sorted({form for text in DB_ERROR_TEXTS for form in _bare_forms(text.example)
                     if classify(_read(form)) or refusal_of(_read(form))})


@pytest.mark.parametrize("prefix", ("password: ", "db connect with password: ", "DB_PASSWORD: "))
def test_every_bare_driver_message_classifies_the_same_after_password_words(prefix):
    lost = [prefix + form for form in BARE_FORMS
            if (classify(_read(prefix + form)), refusal_of(_read(prefix + form)))
            != (classify(_read(form)), refusal_of(_read(form)))]
    assert len(BARE_FORMS) > 500 and lost == [], lost[:5]


# Driver messages with no quote, digit, colon or state word at their end: each the diagnosis's signal.
BARE = [
    "Unable to connect to any of the specified MySQL hosts.",                  # MySqlConnector / MySql.Data
    "Server has closed the connection.",                                        # Prisma P1017
    "server refused TLS connection",                                            # pgx, SSL required
    "Cannot connect to instance, private Ip address not found",                # Cloud SQL Node.js connector
    "server closed the connection unexpectedly. This probably means the server terminated abnormally before or while "
    "processing the request.",                                                  # libpq, flattened onto one line
]


@pytest.mark.parametrize("prefix", ["password: ", "db connect with password: ", "DB_PASSWORD: "])
@pytest.mark.parametrize("message", BARE)
def test_a_bare_driver_message_after_password_words_is_kept(prefix, message):
    assert _read(prefix + message) == prefix + message
    assert (classify(_read(prefix + message)), refusal_of(_read(prefix + message))) == (classify(message),
                                                                                         refusal_of(message))


def test_a_password_before_a_signal_is_redacted_the_signal_kept():
    line = "password: hunter2 dial tcp 10.20.0.3:3307: connect: connection refused"
    assert _read(line) == "password: " + REDACTED + " dial tcp 10.20.0.3:3307: connect: connection refused"


def test_words_before_a_signal_the_diagnosis_does_not_read_are_redacted_as_a_passphrase_would_be():
    """Words the diagnosis does not read before a signal's own (`The MySQL server is` before `running with the
    --read-only option`) cannot be told from a passphrase of words (`password: correct horse battery Too many
    connections`): they are redacted with it, and the signal after them is kept and read the same."""
    message = "The MySQL server is running with the --read-only option so it cannot execute this statement"
    for prefix in ("password: ", "db connect with password: ", "DB_PASSWORD: "):
        out = _read(prefix + message)
        assert out == prefix + REDACTED + " running with the --read-only option so it cannot execute this statement"
        assert (classify(out), refusal_of(out)) == (classify(message), refusal_of(message))
        assert classify(message)   # the message is a signal: the row tests what it says
