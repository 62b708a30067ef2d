"""How far an instance's clock may be ahead of real time, as a Pub/Sub message's publish time shows it
(shared/clock.py `ahead_of_server`): pure, a table."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.clock import CLOCK_SKEW_ALLOWANCE, ahead_of_server

T = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

ROWS = [
    # name, received at (local clock), published at (Pub/Sub's), ahead
    ("no publish time: nothing known", T, None, timedelta(0)),
    ("received as published: not ahead", T, T, timedelta(0)),
    ("a clock 2 minutes fast", T + timedelta(minutes=2), T, timedelta(minutes=2)),
    ("a clock behind the server: not ahead", T - timedelta(minutes=2), T, timedelta(0)),
    ("a delivery 40 s late reads as 40 s ahead: the cut errs early", T + timedelta(seconds=40), T,
     timedelta(seconds=40)),
    ("an hour late: a late delivery, at most the skew allowance", T + timedelta(hours=1), T, CLOCK_SKEW_ALLOWANCE),
]


@pytest.mark.parametrize("name,received,published,ahead", ROWS, ids=[r[0] for r in ROWS])
def test_how_far_a_clock_may_be_ahead(name, received, published, ahead):
    assert ahead_of_server(received, published) == ahead
