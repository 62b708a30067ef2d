"""database_signs.down_since, table-tested: since when a database/up series still down at the end of the minutes
judged is down (its first point below 1 after its last 1, or that 1 when silence came first), its newest point
below 1, whether a 1 came before it in the read, when it first went down in the minutes judged if earlier (a
flap), and a single 1 read again at the end (too few to be up again). Pure: no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.facts import SQL_GAP_SECONDS, Window
from shared.diagnosis.rules.database_signs import down_since

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
GAP = SQL_GAP_SECONDS * 1_000_000


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def us(minute: float) -> int:
    return int(at(minute).timestamp() * 1_000_000)


WINDOW = Window(at(-5), at(8))
UP = {m: 1.0 for m in range(-20, 9)}

# expect: (since, silent, newest, known, first, again) in minutes, or None
CASES = {
    "1 until -3, 0 from -2 to the end: down since -2": dict(
        points=UP | {m: 0.0 for m in range(-2, 9)}, expect=(-2, False, 8, True, None, None)),
    "0 since before the window: dated by the read, not the window": dict(
        points=UP | {m: 0.0 for m in range(-12, 9)}, expect=(-12, False, 8, True, None, None)),
    "0 at every point read: down since before the first": dict(
        points={m: 0.0 for m in range(-20, 9)}, expect=(-20, False, 8, False, None, None)),
    "silent from -3, then 0 from 1: down since its last 1 (-4), silent first": dict(
        points={m: v for m, v in (UP | {m: 0.0 for m in range(1, 9)}).items() if not -4 < m < 1},
        expect=(-4, True, 8, True, None, None)),
    "a 0 among 0s after a one-minute slip: still one stretch": dict(
        points={m: v for m, v in (UP | {m: 0.0 for m in range(-2, 9)}).items() if m != 3},
        expect=(-2, False, 8, True, None, None)),
    "stopped reporting after a 1 at 2: silent since 2": dict(
        points={m: 1.0 for m in range(-20, 3)}, stopped=True, expect=(2, True, 2, True, None, None)),
    "a flap: down at -3, 1 again, down from 5 to the end: since 5, first at -3": dict(
        points=UP | {-3: 0.0, -2: 0.0} | {m: 0.0 for m in range(5, 9)}, expect=(5, False, 8, True, -3, None)),
    "a single 1 after the 0s at the end: dated to its last 0, the 1 named": dict(
        points=UP | {m: 0.0 for m in range(0, 8)}, expect=(0, False, 7, True, None, 8)),
    "two 1s after the 0s: up again (up_again's), not still down": dict(
        points=UP | {m: 0.0 for m in range(0, 7)}, expect=None),
    "1 at the end, down only by a gap between 1s: not dated": dict(
        points={m: v for m, v in UP.items() if not -3 < m < 2}, expect=None),
    "1 at the end and not stopped: not down": dict(
        points=UP, expect=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_down_since(case):
    ordered = sorted(case["points"].items())
    low, high = WINDOW.micros
    found = down_since([us(m) for m, _ in ordered], [v for _, v in ordered], low, high, GAP,
                       case.get("stopped", False))

    if case["expect"] is None:
        assert found is None, found
        return
    since, silent, newest, known, first, again = case["expect"]
    assert (found.since, found.silent, found.newest, found.known, found.first, found.again) == (
        at(since), silent, at(newest), known, None if first is None else at(first),
        None if again is None else at(again))
