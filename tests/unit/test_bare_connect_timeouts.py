"""Drivers whose connect timeout names no address: asyncpg's bare TimeoutError (its message empty)
and Node's mysql2 / mysql "connect ETIMEDOUT" (Node's own net error names HOST:PORT). On its own line
such a text names nothing; each is read only with the driver's frames in the same entry.

asyncpg's: Read from a traceback logged as one entry, whose frames are asyncpg's connect and whose
exception line is TimeoutError (asyncpg >= 0.28: `async with compat.timeout(timeout)` in
connection.connect, asyncio.timeout's `raise TimeoutError from exc_val`; older: asyncio.wait_for in
connect_utils._connect_addr). After a deploy, such timeouts on the new revision keep the database
path in the running (the revision before dials the same address): no rollback alone."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, classify
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, deployed, quiet_connector

S = DiagnosisSettings()
SITE = "/usr/local/lib/python3.12/site-packages"
CONNECT = (f'  File "{SITE}/asyncpg/connection.py", line 2328, in connect\n'
           "    async with compat.timeout(timeout):\n")
AEXIT = ('  File "/usr/local/lib/python3.12/asyncio/timeouts.py", line 115, in __aexit__\n'
         "    raise TimeoutError from exc_val\n")
ASGI = ("Exception in ASGI application\nTraceback (most recent call last):\n"
        f'  File "{SITE}/sqlalchemy/dialects/postgresql/asyncpg.py", line 1112, in connect\n'
        "    await_only(creator_fn(*arg, **kw)),\n")
WAIT_FOR = (f'  File "/usr/local/lib/python3.10/site-packages/asyncpg/connect_utils.py", line 691, in _connect_addr\n'
            "    tr, pr = await asyncio.wait_for(\n"
            '  File "/usr/local/lib/python3.10/asyncio/tasks.py", line 458, in wait_for\n'
            "    raise exceptions.TimeoutError() from exc\n")
REACH = {LogSignal.DB_CONNECTION}

# (the entry's text, the signals it carries)
TEXTS = {
    "asyncpg >= 0.28, Python 3.12, under SQLAlchemy and uvicorn": (ASGI + CONNECT + AEXIT + "TimeoutError", REACH),
    "asyncpg <= 0.27, Python 3.10": ("Traceback (most recent call last):\n" + WAIT_FOR
                                     + "asyncio.exceptions.TimeoutError", REACH),
    "asyncpg <= 0.27, Python 3.11, chained after the CancelledError": (
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/asyncio/tasks.py", line 500, in wait_for\n    return fut.result()\n'
        "           ^^^^^^^^^^^^\nasyncio.exceptions.CancelledError\n\nThe above exception was the direct cause of the "
        "following exception:\n\nTraceback (most recent call last):\n"
        + WAIT_FOR.replace("python3.10", "python3.11") + "TimeoutError", REACH),
    # Not read: the last line of a traceback split into entries says nothing of what timed out.
    "TimeoutError alone": ("TimeoutError", set()),
    "asyncio.exceptions.TimeoutError alone": ("asyncio.exceptions.TimeoutError", set()),
    # asyncpg's connect frame, but the connect was answered: its own error, not this row's.
    "asyncpg's connect refused by the password": (
        "Traceback (most recent call last):\n" + CONNECT
        + f'  File "{SITE}/asyncpg/connect_utils.py", line 1049, in _connect\n    raise last_error\n'
        "asyncpg.exceptions.InvalidPasswordError: password authentication failed for user \"ledger\"", None),
    # An HTTP client's timeout, with no asyncpg frame.
    "an httpx timeout": ("Traceback (most recent call last):\n"
                         f'  File "{SITE}/httpx/_client.py", line 1617, in send\n    response = await self._send()\n'
                         + AEXIT + "TimeoutError", set()),
    # Node's MySQL drivers at their own connectTimeout: `new Error('connect ETIMEDOUT')`, no address.
    "mysql2, console.error of the Error": (
        "Error: connect ETIMEDOUT\n    at Connection._handleTimeoutError (/app/node_modules/mysql2/lib/connection.js:"
        "205:17)\n    at listOnTimeout (node:internal/timers:573:17)\n    at process.processTimers (node:internal/"
        "timers:514:7) {\n  errorno: 'ETIMEDOUT',\n  code: 'ETIMEDOUT',\n  syscall: 'connect',\n  fatal: true\n}", REACH),
    "mysql2 3.x, a pool's connection": (
        "Error: connect ETIMEDOUT\n    at PoolConnection._handleTimeoutError (/srv/node_modules/mysql2/lib/base/"
        "connection.js:221:17)", REACH),
    "mysqljs/mysql": ("Error: connect ETIMEDOUT\n    at Connection._handleConnectTimeout (/app/node_modules/mysql/lib/"
                      "Connection.js:409:13)", REACH),
    "connect ETIMEDOUT alone": ("Error: connect ETIMEDOUT", set()),
    # Node's net error names its address: a database port is read by its own row, any other is not.
    "Node net, an HTTPS dependency": ("Error: connect ETIMEDOUT 34.120.4.7:443\n    at TCPConnectWrap.afterConnect "
                                      "[as oncomplete] (node:net:1555:16)", set()),
    # SQLAlchemy's own pool wait is its own signal, not this one.
    "SQLAlchemy QueuePool": ("sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection "
                             "timed out, timeout 30.00", {LogSignal.DB_POOL_WAIT}),
}


@pytest.mark.parametrize("text, signals", TEXTS.values(), ids=TEXTS.keys())
def test_a_bare_connect_timeout_is_read_only_with_the_drivers_frames(text, signals):
    if signals is None:   # a refusal the row for its own text reads; this row adds nothing of its own
        assert LogSignal.DB_REFUSED in classify(text)
        return
    assert classify(text) == signals


@pytest.mark.parametrize("text", [t for t, signals in TEXTS.values() if signals == REACH],
                         ids=[k for k, (t, signals) in TEXTS.items() if signals == REACH])
def test_after_a_deploy_bare_connect_timeouts_keep_the_database_in_the_running(text):
    """The deploy at -10m, then 20 connect timeouts on the new revision from -9m: database_unreachable
    competes with the deploy, so nothing is rolled back."""
    bundle = quiet_connector(deployed(Evidence()).log(-9, text, NEW, count=20)).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None
