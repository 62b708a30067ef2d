"""A password written before a signal's words, in one secret field's value (`password: hunter2 Too many connections`):
the password is redacted and the signal's words kept, so the diagnosis reads the same signal (shared/redaction.py
`_signal_kept`). A value that is a signal's words alone is kept whole, as before."""
import pytest

from shared.diagnosis.log_signals import read_signals
from shared.redaction import REDACTED, redacted

PASSWORD_BEFORE_A_SIGNAL = [
    "connect failed (user: app password: hunter2) Too many connections",
    "retry 3/5 password: hunter2 Lost connection to MySQL server at 'reading initial communication packet'",
    "password: hunter2 Too many connections",
    "password: hunter2 - Too many connections",
    "password: hunter2 | Too many connections",
    "password: hunter2 Sorry, too many clients already",
    "db_password: hunter2 remaining connection slots are reserved",
    "password: hunter2 SSL SYSCALL error: EOF detected",
    "password: hunter2 Lost connection to MySQL server during query",
    "password: hunter2 the database system is shutting down",
    "password: correct hunter2 battery Too many connections",
    "password: correct horse hunter2 Too many connections",
]


@pytest.mark.parametrize("line", PASSWORD_BEFORE_A_SIGNAL)
def test_a_password_before_a_signal_is_redacted(line):
    out = redacted(line, reads=read_signals)
    assert "hunter2" not in out, out
    assert REDACTED in out, out


@pytest.mark.parametrize("line", PASSWORD_BEFORE_A_SIGNAL)
def test_the_signal_after_it_is_still_read(line):
    assert read_signals(redacted(line, reads=read_signals)) == read_signals(line)
    assert read_signals(line), line   # each line holds a signal: the rows test what they say


@pytest.mark.parametrize("line", [
    "password: Unable to connect to any of the specified MySQL hosts.",
    "password: server refused TLS connection",
])
def test_a_value_that_is_a_signal_alone_is_kept_whole(line):
    assert redacted(line, reads=read_signals) == line
