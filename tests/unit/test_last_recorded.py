"""The newest write recorded on a target, named for a write the cooldown holds back (in_flight.last_recorded): read
from records as stored, some of them damaged."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.remediation.in_flight import last_recorded

SINCE = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _record(applied_at: object, key: str) -> dict:
    return {"applied_at": applied_at, "action": "rollback_traffic", "incident_id": "0.abc", "key": key,
            "state": "completed"}


def test_a_record_whose_time_does_not_parse_is_passed_over_not_raised() -> None:
    """An alert held by the cooldown reads the target's records to name the write; one damaged time made the hold
    an error, redelivered with the same record each time."""
    records = [_record("yesterday at noon", "bad"), _record("2026-03-01T12:02:00+00:00", "good")]
    named = last_recorded(records, SINCE)
    assert "action good" in named and "bad" not in named, named


def test_only_damaged_records_name_nothing() -> None:
    assert last_recorded([_record("not a time", "bad")], SINCE) == ""
