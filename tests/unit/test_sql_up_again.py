"""database_signs.up_again, table-tested: whether a database/up series that went down in the minutes judged
reads 1 again up to their end (at least UP_AGAIN_MIN_POINTS points of 1 in a row, none skipped, none missing
at the end), when it went down, since when it is up, and how often it went down. Pure: no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.facts import SQL_GAP_SECONDS, Window
from shared.diagnosis.rules.database_signs import up_again

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
GAP = SQL_GAP_SECONDS * 1_000_000


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def us(minute: float) -> int:
    return int(at(minute).timestamp() * 1_000_000)


WINDOW = Window(at(-5), at(8))

CASES = {
    "0 for one minute, then 1 to the end": dict(
        points={m: 1.0 for m in range(-4, 9)} | {0: 0.0}, expect=(0, False, 1, 8, 1, 0)),
    "0 for two minutes, then 1 to the end": dict(
        points={m: 1.0 for m in range(-4, 9)} | {0: 0.0, 1: 0.0}, expect=(0, False, 2, 7, 1, 0)),
    "silent from -1 to 3, then 1 to the end: stopped reporting after -1": dict(
        points={m: 1.0 for m in [-4, -3, -2, -1, 3, 4, 5, 6, 7, 8]}, expect=(-1, True, 3, 6, 1, -1)),
    "silent from the window's start, no point before it: the start stands for the earlier": dict(
        points={m: 1.0 for m in range(-2, 9)}, expect=(-5, True, -2, 11, 1, -5)),
    "a flap: 0, 1, 0, then 1 to the end": dict(
        points={m: 1.0 for m in range(-4, 9)} | {0: 0.0, 2: 0.0}, expect=(0, False, 3, 6, 2, 2)),
    "never down: not up again, up": dict(
        points={m: 1.0 for m in range(-4, 9)}, expect=None),
    "still 0 at the end": dict(
        points={m: 1.0 for m in range(-4, 9)} | {7: 0.0, 8: 0.0}, expect=None),
    "one point of 1 at the end only": dict(
        points={m: 1.0 for m in range(-4, 9)} | {m: 0.0 for m in range(0, 8)}, expect=None),
    "1 again, then silent since 5 (stopped, or lagging): not shown up": dict(
        points={m: 1.0 for m in range(-4, 6)} | {0: 0.0}, expect=None),
    "a 0 before the window only: not down in it": dict(
        points={m: 1.0 for m in range(-8, 9)} | {-6: 0.0}, expect=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_up_again(case):
    ordered = sorted(case["points"].items())
    inside = [(m, v) for m, v in ordered if at(m) > WINDOW.start]
    before = [m for m, _ in ordered if at(m) <= WINDOW.start]
    found = up_again([us(m) for m, _ in inside], [v for _, v in inside], WINDOW,
                     us(before[-1]) if before else None, GAP)

    if case["expect"] is None:
        assert found is None, found
        return
    down_at, silent, since, points, downs, last = case["expect"]
    assert (found.down_at, found.silent, found.up_since, found.points, found.newest, found.downs, found.last_down) == (
        at(down_at), silent, at(since), points, at(8), downs, at(last))
