"""A switch's time, told one way: in the gate's refusal (who set the kill switch or a pause, and when) and in
the note a late pause's or resume's answer carries (who turned the flag the other way since, and when).
Pure: the flag records as the state store returns them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.remediation.guardrails import KILL_SWITCH, _switch_reason, pause_key
from shared.remediation.records import FLAGS, switch_time
from shared.remediation.switch_since import changed_since

IST = timezone(timedelta(hours=5, minutes=30))
# (the flag's `at` as stored or read back, the time said): Firestore answers a UTC datetime; a flag written
# by another hand may hold another zone or an ISO text; a time whose zone is unknown is not guessed.
ROWS = [
    (datetime(2026, 11, 26, 12, 1, tzinfo=timezone.utc), "2026-11-26 12:01:00 UTC"),
    (datetime(2026, 11, 26, 17, 31, 5, tzinfo=IST), "2026-11-26 12:01:05 UTC"),
    (datetime(2026, 11, 26, 4, 1, tzinfo=timezone(timedelta(hours=-8))), "2026-11-26 12:01:00 UTC"),
    ("2026-11-26T12:01:00Z", "2026-11-26 12:01:00 UTC"),
    ("2026-11-26T07:01:00-05:00", "2026-11-26 12:01:00 UTC"),
    (datetime(2026, 11, 26, 12, 1), ""),        # naive: its zone unknown
    ("2026-11-26T12:01:00", ""),                # the same, as text
    ("yesterday", ""),
    (None, ""),
]


@pytest.mark.parametrize("at, said", ROWS)
def test_a_switchs_time_is_said_in_utc_or_not_at_all(at, said):
    assert switch_time({"at": at}) == said


@pytest.mark.parametrize("at, said", ROWS)
def test_the_gates_refusal_and_a_late_answers_note_tell_the_same_time(at, said):
    flag = {"engaged": True, "by": "alice@example.com", "reason": "migration", "command_id": "p-alice", "at": at}
    refusal = _switch_reason(["svc"], {(FLAGS, KILL_SWITCH): flag})
    paused = _switch_reason(["svc"], {(FLAGS, pause_key("svc")): flag})
    note = changed_since(flag, False, "r-bob", "svc")   # bob's resume, answered late: alice paused it again since
    released = changed_since({**flag, "engaged": False}, True, "p-carol", None)
    if said:
        assert refusal == f"set by alice@example.com at {said}: migration"
        assert paused.startswith(f"svc paused by alice@example.com at {said}: migration"), paused
        assert f"(migration; command p-alice, at {said}): writes to it are held back again" in note, note
        assert f"(migration; command p-alice, at {said}): this pause no longer holds" in released, released
    else:
        assert refusal == "set by alice@example.com: migration"
        assert "(migration; command p-alice): writes to it are held back again" in note, note
        assert " at " not in released.split("(migration")[1], released
