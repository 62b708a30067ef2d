"""shared/diagnosis/split_lines.py, the lines of one timestamp: each realistic shape of a trace logged one line an
entry, with its lines' insertIds in the written order, reversed and shuffled. In the written order (the order
Logging returns ties in, when the agent's insertIds follow its reading: UNCONFIRMED) the reading is the trace's;
reversed and in 40 seeded shuffles each, no refusal is read that the written order does not read, and none it reads
is lost. A shuffle that itself reads as a written order is taken as written: for SQLAlchemy's chain, 2 of 500
random orders pair each traceback's frames with the other's exception line and lose the certificate refusal (none
invents one)."""
from __future__ import annotations

import random

import pytest

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.log_signals import Refusal, database_dial_hosts, dial_timed_out, read_timed_out, refusal_of
from shared.diagnosis.split_lines import joined
from tests.unit.test_split_lines import ASYNCPG_TRACE, CONNECT, LINK, NO_PACKETS, PACKET, READ, _at

# logging.exception's message, gunicorn's and uvicorn's lines, written before the traceback they log.
MESSAGES = {"logging.exception": "ERROR:app.db:could not connect to the database",
            "gunicorn": "[2026-12-04 12:00:00 +0000] [1] [ERROR] Error handling request /api/orders",
            "uvicorn": "ERROR:    Exception in ASGI application"}
# SQLAlchemy wraps the DBAPI's error: "The above exception was the direct cause of the following exception:".
SQLALCHEMY = [*ASYNCPG_TRACE, "The above exception was the direct cause of the following exception:",
              "Traceback (most recent call last):",
              '  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py", line 145, in __init__',
              "    self._dbapi_connection = engine.raw_connection()",
              "sqlalchemy.exc.OperationalError: (asyncpg.exceptions.ConnectionDoesNotExistError) connection was closed "
              "in the middle of operation"]
GO_PANIC = ["panic: failed to connect to `host=10.10.0.3 user=app database=app`: dial error (dial tcp 10.10.0.3:5432: "
            "connect: connection timed out)", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:42 +0x1d4"]
LIBPQ = ["Traceback (most recent call last):", '  File "/app/db.py", line 4, in connect',
         "    conn = psycopg2.connect(dsn)",
         'psycopg2.OperationalError: connection to server at "10.10.0.3", port 5432 failed: Connection timed out',
         "\tIs the server running on that host and accepting TCP/IP connections?"]
JAVA_TWO = [LINK, PACKET, READ, LINK.replace("querying", "updating"), NO_PACKETS, CONNECT]


def one(texts: list[str], instance: str = "a") -> list[tuple[str, str]]:
    return [(text, instance) for text in texts]


def interleaved(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    lines = []
    for n in range(max(len(a), len(b))):
        lines += [(t, i) for t, i in ((a[n:n + 1], "a"), (b[n:n + 1], "b")) for t in t]
    return lines


# Each shape as written (text, instance), and what its written order reads: the refusals (sorted), how many
# texts read a timed-out read and a timed-out dial, and the database addresses their dials name.
SHAPES = {
    "asyncpg trace alone": (one(ASYNCPG_TRACE), ([Refusal.CERTIFICATE], 0, 0, [])),
    **{f"{name}'s line before it": (one([line, *ASYNCPG_TRACE]), ([Refusal.CERTIFICATE], 0, 0, []))
       for name, line in MESSAGES.items()},
    "SQLAlchemy chain": (one(SQLALCHEMY), ([Refusal.CERTIFICATE], 0, 0, [])),
    "two instances interleaved": (interleaved(ASYNCPG_TRACE, ASYNCPG_TRACE), ([Refusal.CERTIFICATE] * 2, 0, 0, [])),
    # Two heads in one tie: their causes are read alone (a lone "Read timed out" is no read timeout), so no order can
    # put one failure's cause under the other's head.
    "two Java traces in one instance": (one(JAVA_TWO), ([], 0, 1, [])),
    "Go panic": (one(GO_PANIC), ([], 0, 1, ["10.10.0.3"])),
    "libpq hint": (one(LIBPQ), ([], 0, 0, ["10.10.0.3"])),
}


def _read(lines: list[tuple[str, str]], ids: list[int], newest_first: bool) -> list[str]:
    """The texts `joined` reads of `lines`, written in that order at one timestamp, each line with the insertId `ids`
    gives it, the ties returned in insertId order, the whole read newest first or oldest first."""
    entries: list[LogRecord] = sorted(
        (_at(0, text, instance=instance).model_copy(update={"insert_id": f"id{n:04d}"})
         for (text, instance), n in zip(lines, ids)), key=lambda e: e.insert_id)
    return [e.text for e in joined(tuple(reversed(entries)) if newest_first else tuple(entries))]


def _refusals(texts: list[str]) -> list[str]:
    return sorted(r for r in map(refusal_of, texts) if r)


def _orders(n: int) -> dict[str, list[int]]:
    rng = random.Random(n)
    shuffles = {f"shuffled {k}": rng.sample(range(n), n) for k in range(40)}
    return {"reversed": list(range(n))[::-1], **shuffles}


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first", "oldest first"])
@pytest.mark.parametrize("lines, reading", SHAPES.values(), ids=SHAPES.keys())
def test_the_written_order_reads_the_trace(lines, reading, newest_first):
    texts = _read(lines, list(range(len(lines))), newest_first)
    hosts = sorted(host for text in texts for host in database_dial_hosts(text))

    assert (_refusals(texts), sum(map(read_timed_out, texts)), sum(map(dial_timed_out, texts)), hosts) == reading, texts


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first", "oldest first"])
@pytest.mark.parametrize("lines, reading", SHAPES.values(), ids=SHAPES.keys())
def test_no_order_of_the_insertids_invents_or_loses_a_refusal(lines, reading, newest_first):
    wrong = {name: texts for name, ids in _orders(len(lines)).items()
             if _refusals(texts := _read(lines, ids, newest_first)) != reading[0]}
    assert not wrong, wrong


@pytest.mark.parametrize("name, line", MESSAGES.items(), ids=MESSAGES.keys())
def test_a_message_line_written_before_a_traceback_does_not_end_it(name, line):
    texts = _read(one([line, *ASYNCPG_TRACE]), [0, 1, 2, 3, 4], newest_first=True)

    assert sorted(texts) == sorted([line, "\n".join(ASYNCPG_TRACE)]), texts


def test_two_java_traces_of_one_instance_keep_their_heads_and_read_their_causes_alone():
    texts = _read(one(JAVA_TWO), list(range(6)), newest_first=True)

    assert sorted(texts) == sorted(JAVA_TWO), texts


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first", "oldest first"])
@pytest.mark.parametrize("lines, reading", SHAPES.values(), ids=SHAPES.keys())
def test_no_order_of_the_insertids_reads_other_counts(lines, reading, newest_first):
    def counts(texts: list[str]) -> tuple[int, int, list[str]]:
        return (sum(map(read_timed_out, texts)), sum(map(dial_timed_out, texts)),
                sorted(host for text in texts for host in database_dial_hosts(text)))
    wrong = {name: texts for name, ids in _orders(len(lines)).items()
             if counts(texts := _read(lines, ids, newest_first)) != tuple(reading[1:])}
    assert not wrong, wrong


# A Connector/J link failure and an HTTPS client's PKIX failure of one instance at one timestamp, the PKIX cause's
# insertId right after the link failure: that order starts with a head, yet the cause is not the link failure's.
HTTPS_JAVA = ["javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath."
              "SunCertPathBuilderException: unable to find valid certification path to requested target",
              "\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:130)",
              "Caused by: sun.security.validator.ValidatorException: PKIX path building failed: unable to find valid "
              "certification path to requested target"]


def test_another_failures_cause_is_not_joined_under_a_link_failure():
    lines = one([LINK, PACKET, READ, *HTTPS_JAVA])
    assert all(not _refusals(_read(lines, ids, newest_first)) for ids in [[0, 3, 4, 2, 5, 1], *_orders(6).values()]
               for newest_first in (True, False))


# A handler's HTTPS call (urllib3) failing TLS verification and a database dial timing out in asyncpg's TLS upgrade:
# one insertId out of place (the dial's frame between the HTTPS frames and exception line) still reads as written.
HTTPS_PY = ["Traceback (most recent call last):",
            '  File "/usr/local/lib/python3.12/site-packages/urllib3/connectionpool.py", line 467, in _make_request',
            "    self._validate_conn(conn)",
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
            "local issuer certificate (_ssl.c:1000)"]
DIAL_PY = ["Traceback (most recent call last):",
           '  File "/usr/local/lib/python3.12/site-packages/asyncpg/connect_utils.py", line 808, in _create_ssl_connection',
           "    new_tr = await loop.start_tls(", "TimeoutError"]


def test_two_unrelated_tracebacks_never_read_the_databases_certificate_refusal():
    lines = one(HTTPS_PY + DIAL_PY)
    assert all(not _refusals(_read(lines, ids, newest_first))
               for ids in [[0, 1, 2, 4, 5, 3, 6, 7], *_orders(8).values()] for newest_first in (True, False))


# Two failures of one instance at one timestamp whose lines could pair an asyncpg frame with another failure's TLS
# verdict (an HTTPS call raised while handling the connect timeout): out of written order, nothing is joined that
# would read the database's certificate refusal.
HANDLING = ["Traceback (most recent call last):",
            '  File "/usr/local/lib/python3.12/site-packages/asyncpg/connect_utils.py", line 1018, in _connect_addr',
            "    tr, pr = await asyncio.wait_for(", "TimeoutError",
            "During handling of the above exception, another exception occurred:",
            "Traceback (most recent call last):", '  File "/app/alerts.py", line 12, in notify',
            "    httpx.post(HOOK, json=body)",
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
            "local issuer certificate (_ssl.c:1000)"]


# (A shuffle that itself reads as a written order, the two tracebacks' frames swapped, is taken as written: by shape
# alone it cannot be told from one.)
@pytest.mark.parametrize("ids", [list(range(9)), list(range(9))[::-1], [8, 1, 2, 3, 4, 5, 6, 7, 0],
                                 [0, 1, 2, 4, 3, 5, 6, 7, 8]],
                         ids=["as written", "reversed", "the exception lines swapped", "the chain's line before the exception line"])
def test_a_handlers_tls_failure_is_never_joined_to_the_connects_frame(ids):
    assert _refusals(_read(one(HANDLING), ids, newest_first=True)) == []


# Five identical asyncpg certificate failures (a pool dialing after a server CA rotation): each failure holds each
# text once, so in any insertId order each is read with its refusal.
POOL = one(ASYNCPG_TRACE * 5)


def test_a_pools_identical_certificate_failures_keep_each_its_refusal_in_any_order():
    wrong = {name: texts for name, ids in {"written": list(range(len(POOL))), **_orders(len(POOL))}.items()
             for newest_first in (True, False) if len(_refusals(texts := _read(POOL, ids, newest_first))) != 5}
    assert not wrong, wrong


def test_two_failures_alike_but_one_frame_keep_their_frames_alone():
    # The second traceback lacks the asyncpg frame: the texts are not k copies of one failure.
    lines = one(ASYNCPG_TRACE + [t for t in ASYNCPG_TRACE if "asyncpg" not in t])
    assert len(_refusals(_read(lines, list(range(len(lines)))[::-1], True))) <= 1
