"""shared/diagnosis/split_lines.py: a stack trace logged one line an entry is read as one failure,
within one instance, in either read order; and the log index reads the joined text's cause words."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import LogIndex
from shared.diagnosis.log_signals import (LogSignal, Refusal, dial_timed_out, holds_a_needle, never_left, read_timed_out,
                                         refusal_of)
from shared.diagnosis import split_lines
from shared.diagnosis.split_lines import CONTINUATION_STARTS, JOIN_GAP, continues, has_continuation, joined

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
LINK = "### Error querying database.  Cause: com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"
PACKET = "The last packet successfully received from the server was 15,011 milliseconds ago."
NO_PACKETS = "The last packet sent successfully to the server was 0 milliseconds ago. The driver has not received any packets from the server."
READ = "Caused by: java.net.SocketTimeoutException: Read timed out"
CONNECT = "Caused by: java.net.SocketTimeoutException: Connect timed out"
PG_FAILED = "Caused by: org.postgresql.util.PSQLException: The connection attempt failed."
FILES = "Caused by: java.net.SocketException: Too many open files"
NPGSQL = "      Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.40.0.7:5432"
NPGSQL_TIMEOUT = "       ---> System.TimeoutException: Timeout during connection attempt"


def _at(ms: int, text: str, instance: str = "a", revision: str = "svc-00001-abc",
        log: str = "run.googleapis.com/stdout") -> LogRecord:
    return LogRecord(timestamp=T0 + timedelta(milliseconds=ms), log_id=log, text=text,
                     resource_labels={"revision_name": revision}, instance=instance)


def _texts(entries: list[LogRecord], newest_first: bool = True) -> list[str]:
    read = tuple(reversed(entries)) if newest_first else tuple(entries)
    return [e.text for e in joined(read)]


@pytest.mark.parametrize("text, expected", [
    (READ, True), ("\tat com.mysql.cj.NativeSession.execSQL(NativeSession.java:1)", True),
    ("\t... 112 common frames omitted", True), ("... 12 more", True), (NPGSQL_TIMEOUT, True), (PACKET, True),
    ("", False), ("   ", False), ('  File "/app/db.py", line 4, in connect', True),
    (LINK, False), ("Traceback (most recent call last):", False),
    ("psycopg2.OperationalError: connection to server failed", False), ("GET /api 200", False),
])
def test_continuation_shapes(text: str, expected: bool) -> None:
    assert continues(text) is expected
    assert has_continuation(["GET /api 200", text]) is expected


@pytest.mark.parametrize("newest_first", [True, False])
def test_a_read_timeout_split_from_its_link_failure_reads_as_a_read(newest_first: bool) -> None:
    [text] = _texts([_at(0, LINK), _at(2, PACKET), _at(4, READ)], newest_first)
    assert text == "\n".join([LINK, PACKET, READ])
    assert read_timed_out(text) and not dial_timed_out(text)


@pytest.mark.parametrize("newest_first", [True, False])
def test_a_connect_timeout_split_from_its_link_failure_reads_as_a_dial(newest_first: bool) -> None:
    [text] = _texts([_at(0, LINK), _at(2, NO_PACKETS), _at(4, CONNECT)], newest_first)
    assert dial_timed_out(text) and not read_timed_out(text)


def test_npgsql_split_connect_timeout_reads_as_a_dial() -> None:
    [text] = _texts([_at(0, NPGSQL), _at(1, NPGSQL_TIMEOUT)])
    assert dial_timed_out(text)


def test_pgjdbc_split_fd_exhaustion_reads_as_never_left() -> None:
    [text] = _texts([_at(0, PG_FAILED), _at(3, FILES)])
    assert never_left(text)


def test_interleaved_instances_are_not_joined_across() -> None:
    entries = [_at(0, LINK, "a"), _at(1, LINK, "b"), _at(2, PACKET, "a"), _at(3, NO_PACKETS, "b"),
               _at(4, READ, "a"), _at(5, CONNECT, "b")]
    texts = _texts(entries)
    assert sorted(texts) == sorted(["\n".join([LINK, PACKET, READ]), "\n".join([LINK, NO_PACKETS, CONNECT])])


@pytest.mark.parametrize("other", [
    _at(2, READ, revision="svc-00002-def"),           # another revision
    _at(2, READ, log="run.googleapis.com/stderr"),    # another log
    _at(int(JOIN_GAP.total_seconds() * 1000) + 1, READ),   # too long after
    _at(2, "    " + READ, log="run.googleapis.com/requests"),   # not a container's line
])
def test_not_joined_across_revisions_logs_or_a_gap(other: LogRecord) -> None:
    assert sorted(_texts([_at(0, LINK), other])) == sorted([LINK, other.text])


def test_python_traceback_ends_at_its_exception_line() -> None:
    entries = [_at(0, "Traceback (most recent call last):"), _at(1, '  File "/app/db.py", line 4, in connect'),
               _at(2, "psycopg2.OperationalError: connection to server at \"10.0.0.3\", port 5432 failed: timeout expired"),
               _at(3, "GET /api/orders 500")]
    texts = _texts(entries, newest_first=False)
    assert len(texts) == 2 and texts[0].endswith("timeout expired") and texts[1] == "GET /api/orders 500"


# has_continuation against its definition, the one regex over the texts each after a NUL (as it was
# asked before its bytes were searched first): the same answer for every start, an indent with nothing
# after it, letter case, a NUL inside a text, non-ASCII and lone surrogates around a start.
_REFERENCE = re.compile("\x00(?:[ \t]+\\S|" + "|".join(map(re.escape, CONTINUATION_STARTS)) + ")")


@pytest.mark.parametrize("texts", [
    *(["GET /api 200", start + "x"] for start in CONTINUATION_STARTS),
    *([start[:-1]] for start in CONTINUATION_STARTS),          # a start cut short is none
    *([start.lower() + "x"] for start in CONTINUATION_STARTS), # nor one in other letters
    *(["héllo", "\ud800" + start] for start in CONTINUATION_STARTS),
    *(["\ud800", start + "\u00e9"] for start in CONTINUATION_STARTS),
    [" x"], ["\tx"], [" \t \u00e9"], ["  "], [" \n x"], ["\t\u00a0x"], ["\u3000x"],
    ["a\x00Caused by: x"], ["a\x00 x"], ["a\x00"], ["\x00"], [""], [], ["", ""],
    ["Traceback (most recent call last):", "ValueError: x"], ["x\n  File \"a.py\""],
    ["Caused by:"], ["é" * 40 + "Caused by: x"],
])
def test_has_continuation_answers_as_its_regex(texts: list[str]) -> None:
    assert has_continuation(texts) is (_REFERENCE.search("\x00" + "\x00".join(texts)) is not None)


def test_a_read_without_continuation_bytes_runs_no_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regex (a step per character of every text) runs only where the bytes search found a NUL and
    a continuation's start: LARGE's texts cost 0.72 million instructions through it alone."""
    class Counting:
        calls = 0

        def search(self, text: str) -> object:
            Counting.calls += 1
            return _REFERENCE.search(text)

    monkeypatch.setattr(split_lines, "_AT_A_START", Counting())
    assert not has_continuation([LINK, "GET /api 200", "Traceback (most recent call last):", "x\n  File"])
    assert Counting.calls == 0
    assert has_continuation([LINK, READ]) and Counting.calls == 1


def test_a_read_without_continuations_is_returned_as_it_came() -> None:
    read = (_at(2, LINK), _at(0, "GET /api 200"))
    assert joined(read) is read


def test_the_index_classifies_the_joined_text_once_in_the_reads_order() -> None:
    read = tuple(reversed([_at(0, "GET /x 200"), _at(10, LINK), _at(12, PACKET), _at(14, READ)]))
    index = LogIndex(read)
    assert index.texts == ("\n".join([LINK, PACKET, READ]), "GET /x 200")
    [entry] = index.by_signal[LogSignal.DB_CONNECTION]
    assert read_timed_out(entry.text) and entry.timestamp == T0 + timedelta(milliseconds=10)


@pytest.mark.parametrize("line", [READ, CONNECT, FILES, PACKET, NO_PACKETS, NPGSQL_TIMEOUT])
def test_the_split_cause_lines_are_asked_of_logging(line: str) -> None:
    assert holds_a_needle(line)


def test_a_lone_cause_line_repeated_stays_one_failure_an_entry() -> None:
    # .NET's console logger, the head line never read: twenty failures in a second are twenty.
    line = "       ---> System.TimeoutException: Timeout during reading attempt"
    assert _texts([_at(i * 10, line) for i in range(20)]) == [line] * 20


# asyncpg's TLS verdict logged one line an entry, every line with one timestamp (the agent's reading time):
# the asyncpg frame must come before ssl's exception line for the verdict to be the database's
# (log_signals, "asyncpg (server certificate not trusted)").
ASYNCPG_TRACE = ["Traceback (most recent call last):",
                 '  File "/usr/local/lib/python3.12/site-packages/asyncpg/connect_utils.py", line 808, in '
                 "_create_ssl_connection",
                 "    new_tr = await loop.start_tls(",
                 "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                 "self-signed certificate in certificate chain (_ssl.c:1000)"]


def _tied(texts: list[str], ids: list[int], newest_first: bool) -> tuple[LogRecord, ...]:
    """`texts` written in that order at one timestamp, each with the insertId `ids` gives it, read in the order
    Logging answers ties (insertId order), the whole read newest first or oldest first."""
    entries = sorted((_at(0, text).model_copy(update={"insert_id": f"id{n:04d}"}) for text, n in zip(texts, ids)),
                     key=lambda e: e.insert_id)
    return tuple(reversed(entries)) if newest_first else tuple(entries)


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("ids", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]],
                         ids=["as written", "reversed", "shuffled", "shuffled again"])
def test_asyncpg_certificate_trace_in_one_timestamp_reads_as_the_databases(ids: list[int], newest_first: bool) -> None:
    [entry] = joined(_tied(ASYNCPG_TRACE, ids, newest_first))
    assert entry.text.splitlines()[0] == ASYNCPG_TRACE[0] and entry.text.splitlines()[-1] == ASYNCPG_TRACE[-1]
    assert refusal_of(entry.text) == Refusal.CERTIFICATE


def test_chained_tracebacks_in_one_timestamp_keep_the_insertid_order() -> None:
    chain = ["Traceback (most recent call last):", '  File "/app/db.py", line 4, in connect',
             "ConnectionRefusedError: [Errno 111] Connection refused",
             "During handling of the above exception, another exception occurred:",
             "Traceback (most recent call last):", '  File "/app/main.py", line 9, in handler',
             "RuntimeError: database unavailable"]
    # Two failures in one tie ("During handling" is not one failure raised from the other): each "Traceback" line
    # is joined to its exception line in insertId order, and the frames are read alone.
    texts = [e.text for e in joined(_tied(chain, list(range(len(chain))), newest_first=False))]
    assert texts == ["\n".join(chain[0:3:2]), chain[1], chain[3], "\n".join(chain[4:7:2]), chain[5]]
