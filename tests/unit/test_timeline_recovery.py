"""The recovery milestone: "Runwarden verified the fix" only for the sweep's verification of the write that
counts as the incident's mitigation (matched by its action record: `verdict_on` = that write's `action_key`),
made at or after the alert's last opening. A verification of any other write (one verified on minutes
another write of Runwarden's shaped, one of another target, a write of an earlier opening of a re-opened
incident) says the service was healthy when the sweep judged that write, not that this incident recovered
through its fix: the recovery then comes from errors at zero or the alert's close. Pure: rows in, milestones out.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.timeline import derive
from shared.timeline.model import Actor, ActorKind, ErrorMinute, Source, TimelineEntry

T = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SERVICE = "projects/p/locations/us-central1/services/backend"
CONNECTOR = "projects/p/locations/us-central1/connectors/run-conn"
KEYS = {"R": f"0.x|{SERVICE}|rollback_traffic", "S": f"0.x|{CONNECTOR}|scale_connector",
        "Q": f"0.x|{SERVICE}|restore_traffic"}


def rows(*spec: tuple[float, str]) -> list[TimelineEntry]:
    """(minute, what): `alert_opened`, `alert_closed`; `applied:K` a write of Runwarden's making record K;
    `verified:K` (`undone:K`, `escalated:K`) the sweep's verdict on record K; `person:KIND` a person's change."""
    out = []
    for minute, what in spec:
        at = T + timedelta(minutes=minute)
        kind, _, key = what.partition(":")
        if kind.startswith("alert_"):
            out.append(TimelineEntry(at=at, source=Source.ALERT, kind=kind, summary=kind,
                                     actor=Actor(kind=ActorKind.MONITORING, name="Cloud Monitoring")))
        elif kind == "person":
            out.append(TimelineEntry(at=at, source=Source.AUDIT, kind=key, summary=key,
                                     actor=Actor(kind=ActorKind.PERSON, name="dana@example.com")))
        else:
            out.append(TimelineEntry(at=at, source=Source.RUNWARDEN, kind=kind, summary=what,
                                     actor=Actor(kind=ActorKind.RUNWARDEN, name="Runwarden (on_alert)"),
                                     action_key=KEYS[key] if kind == "applied" else "",
                                     verdict_on=KEYS[key] if kind != "applied" else ""))
    return out


def minutes(*counts: int) -> list[ErrorMinute]:
    return [ErrorMinute(minute=T + timedelta(minutes=i), errors=c) for i, c in enumerate(counts)]


NO_SERIES: list[int] = []
# Errors until minute 7, then clean; built 2 minutes after that: the clean minutes have not settled, so
# errors at zero cannot be read yet and only a line (a verification, the close) can be the recovery.
RECENT = [9] * 8 + [0, 0]


@pytest.mark.parametrize("name, counts, built_after, spec, recovered_at, what", [
    # A write verified on minutes a later write of Runwarden's shaped (made before that verdict): neither
    # is the mitigation, so the verification is not the fix's.
    ("verified on minutes another write shaped", NO_SERIES, 60,
     [(0.5, "alert_opened"), (2, "applied:R"), (4, "applied:S"), (9, "verified:R"), (20, "alert_closed")],
     20, "the alert closed"),
    # A write made while an earlier one was still unjudged, verified: both writes' doing.
    ("verified while an earlier write was unjudged", NO_SERIES, 60,
     [(0.5, "alert_opened"), (2, "applied:R"), (4, "applied:S"), (11, "verified:S"), (25, "alert_closed")],
     25, "the alert closed"),
    # The sweep's verification names another target's record (an approved proposal's write of the connector,
    # whose `applied` line this incident's read does not hold): nothing here was verified.
    ("a verification of another target's write", NO_SERIES, 60,
     [(0.5, "alert_opened"), (2, "applied:R"), (8, "verified:S"), (18, "alert_closed")],
     18, "the alert closed"),
    # ... the same, with no write of this incident at all.
    ("a verification and no write", NO_SERIES, 60,
     [(0.5, "alert_opened"), (8, "verified:S"), (16, "alert_closed")], 16, "the alert closed"),
    # A re-opened incident: the rollback of its first opening was verified after the alert opened again;
    # that verification speaks of the first opening, not of this one's recovery.
    ("a re-opened incident's earlier write", NO_SERIES, 60,
     [(0.5, "alert_opened"), (1, "applied:R"), (3, "alert_closed"), (6, "alert_opened"), (8, "verified:R"),
      (30, "alert_closed")], 30, "the alert closed"),
    # Controls: the mitigation's own verification is the recovery, by record, with the errors not settled.
    ("the mitigation verified", RECENT, 10,
     [(0.5, "alert_opened"), (7, "applied:R"), (9, "verified:R"), (9.5, "alert_closed")],
     9, "Runwarden verified the fix"),
    # The later write dated more than the clock-skew allowance (5 min) after the earlier one's verdict.
    ("the later write verified, the earlier one judged first", NO_SERIES, 60,
     [(0.5, "alert_opened"), (2, "applied:R"), (8, "undone:R"), (14, "applied:S"), (19, "verified:S"),
      (22, "alert_closed")], 19, "Runwarden verified the fix"),
    # Within the allowance of that verdict, the two writes' order cannot be told (the instances' clocks):
    # neither is the mitigation, so the recovery is the alert's close.
    ("the later write dated within the allowance of the earlier one's verdict", NO_SERIES, 60,
     [(0.5, "alert_opened"), (2, "applied:R"), (8, "undone:R"), (10, "applied:S"), (15, "verified:S"),
      (22, "alert_closed")], 22, "the alert closed"),
    # An incident re-opened, then mitigated in its last opening: that write's verification counts.
    ("a re-opened incident's last write", NO_SERIES, 60,
     [(0.5, "alert_opened"), (3, "alert_closed"), (6, "alert_opened"), (7, "applied:S"), (12, "verified:S"),
      (30, "alert_closed")], 12, "Runwarden verified the fix"),
])
def test_only_the_mitigations_own_verification_is_the_recovery(name, counts, built_after, spec, recovered_at, what):
    m = derive.milestones(rows(*spec), [], minutes(*counts), T + timedelta(minutes=built_after))
    assert m.recovery is not None, name
    assert (m.recovery.at, m.recovery.what) == (T + timedelta(minutes=recovered_at), what), (name, m)
