"""Verification settings under which no verdict can ever be reached are refused at load, naming the
fields, their values and the least value that works (docs/configuration.md, "verification")."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.config import (METRIC_VISIBLE_SECONDS, VERDICT_MINUTES, ConfigError, VerificationSettings,
                           least_deadline_seconds, parse_config)
from shared.diagnosis import facts
from shared.remediation import judging
from shared.remediation.records import ActionRecord


def _load(verification: dict) -> object:
    return parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes", "verification": verification})


# (settle_seconds, deadline_seconds, what the error must say)
REFUSED = [
    # a minute to settle, two to the deadline: the judged minutes start 5 min after the write (skew)
    (60, 120, ["deadline_seconds (120)", "settle_seconds (60)", "deadline_seconds: 600 or more"]),
    (60, 599, ["deadline_seconds (599)", "deadline_seconds: 600 or more"]),
    (300, 599, ["deadline_seconds (599)", "settle_seconds (300)", "deadline_seconds: 600 or more"]),
    (240, 480, ["deadline_seconds: 600 or more"]),
    # a long settle time: the deadline must cover it, and a shorter settle time is the other way out
    (900, 1000, ["deadline_seconds (1000)", "settle_seconds (900)", "deadline_seconds: 1200 or more",
                 "settle_seconds: 700 or less"]),
    (1800, 2000, ["deadline_seconds: 2100 or more", "settle_seconds: 1700 or less"]),
]


@pytest.mark.parametrize("settle, deadline, said", REFUSED, ids=[f"{s}-{d}" for s, d, _ in REFUSED])
def test_a_deadline_no_verdict_can_reach_is_refused_naming_the_least_that_works(settle, deadline, said) -> None:
    with pytest.raises(ConfigError) as err:
        _load({"settle_seconds": settle, "deadline_seconds": deadline})
    message = str(err.value)
    assert ": verification:" in message, message
    for words in said:
        assert words in message, message
    if settle <= 300:
        # a shorter settle time changes nothing below the clock-skew allowance: not offered
        assert "settle_seconds:" not in message.split("deadline_seconds: ")[-1], message


LOADED = [(300, 900), (300, 600), (60, 600), (60, 900), (900, 1200), (1800, 3600), (3600, 6 * 3600)]


@pytest.mark.parametrize("settle, deadline", LOADED, ids=[f"{s}-{d}" for s, d in LOADED])
def test_a_deadline_with_room_for_a_verdict_loads(settle, deadline) -> None:
    settings = _load({"settle_seconds": settle, "deadline_seconds": deadline}).verification
    assert (settings.settle_seconds, settings.deadline_seconds) == (settle, deadline)


def test_the_defaults_leave_room_for_a_verdict() -> None:
    defaults = VerificationSettings()
    assert defaults.deadline_seconds >= least_deadline_seconds(defaults.settle_seconds)


def test_the_configs_figures_are_the_judges() -> None:
    # The config keeps its own copies (the judge imports the config); these keep them from drifting.
    assert VERDICT_MINUTES == judging._MIN_MINUTES
    assert timedelta(seconds=METRIC_VISIBLE_SECONDS) == facts.INGEST_LAG


@pytest.mark.parametrize("settle", [60, 120, 300, 301, 900, 3600])
def test_the_least_deadline_is_where_the_judges_minutes_can_be_whole(settle) -> None:
    """At the least deadline, the judged minutes (from judging.after_write) hold VERDICT_MINUTES whole
    minutes visible by the deadline; a second less, they cannot."""
    applied = datetime(2026, 1, 1, tzinfo=timezone.utc)
    least = least_deadline_seconds(settle)
    record = ActionRecord.model_validate({
        "key": "k", "incident_id": "i", "action": "rollback_traffic", "target": "projects/p/locations/l/services/s",
        "service": "projects/p/locations/l/services/s", "signature": "bad_revision", "params": {},
        "reversible": True, "applied_at": applied, "settle_at": applied + timedelta(seconds=settle),
        "deadline_at": applied + timedelta(seconds=least)})
    needed = timedelta(minutes=judging._MIN_MINUTES) + facts.INGEST_LAG
    assert record.deadline_at - judging.after_write(record) == needed


@pytest.mark.parametrize("delay, refused", [(60, True), (180, True), (239, True), (240, False), (420, False)])
def test_a_data_delay_bar_below_the_metrics_own_delay_is_refused(delay, refused) -> None:
    """max_data_delay_seconds under the documented ingest delay plus a minute calls on-time data late."""
    data = {"project": "p", "outcomes_topic": "projects/p/topics/outcomes",
            "diagnosis": {"max_data_delay_seconds": delay}}
    if not refused:
        assert parse_config(data).diagnosis.max_data_delay_seconds == delay
        return
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    message = str(err.value)
    assert ": diagnosis.max_data_delay_seconds:" in message and f"{delay} s" in message, message
    assert "max_data_delay_seconds: 240 or more" in message, message
