"""Which of Runwarden's lines are one row: each line is an event (two deliveries escalated with the same
reason, two commands in the same words are two rows), a line read twice is one (the same entry on two
pages, or under two ids: LogEntry.insert_id, and the writer's own time), and a storm of redeliveries of one
message is one counted row. Lines written by the product's own step writer (test_timeline_own_writes.lines)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timeline.builder import build_timeline
from tests.unit.test_timeline_own_writes import INCIDENT, OPENED, PROJECT, T0, Pages, escalated_alert, lines


def approve(minute: float, command_id: str) -> tuple:
    """An operator's approve of the incident's proposal, as the commands function writes its receipt."""
    return (minute, "command", "received", "command approve from alice@example.com",
            {"message_id": f"m-{command_id}", "command_id": command_id, "requested_by": "alice@example.com",
             "command": "approve", "by": "alice@example.com"})


def deferred(minute: float, attempt: int) -> tuple:
    """A delivery of one message answered non-2xx (shared/pipeline.py `_failed_delivery`)."""
    return (minute, "alert", "deferred", f"Firestore unavailable; delivery {attempt} of at most 5: answered non-2xx "
            "so that Pub/Sub redelivers it", {"severity": "WARNING", "message_id": "m-1", "attempt": attempt,
                                               "max_attempts": 5, "transient": True})


def rows(timeline, kind: str) -> list:
    return [e for e in timeline.entries if e.kind == kind]


@pytest.mark.parametrize("name, spec, kind, expected", [
    # Monitoring notified the open incident again 30 minutes later, and each notification was escalated with
    # the same reason: two deliveries, two escalations a person was told of.
    ("two deliveries escalated alike", OPENED + [escalated_alert(1), escalated_alert(31)], "escalated", [1]),
    # alice approved twice (two commands, the second after the first's answer): same words, two commands (their
    # receipts carry their messages' ids, which kept them apart before too).
    ("two commands in the same words", OPENED + [approve(3, "ap-1"), approve(9, "ap-2")], "command", [1]),
    # Control: a storm of redeliveries of one message is one row, counted.
    ("one message delivered five times", OPENED + [deferred(1 + n, n + 1) for n in range(5)], "deferred", [5]),
])
def test_distinct_lines_are_distinct_rows(name, spec, kind, expected):
    timeline = build_timeline(INCIDENT, PROJECT, Pages(lines(spec)), T0 + timedelta(hours=1))

    found = rows(timeline, kind)
    assert [r.count for r in found] == expected * (1 if expected == [5] else 2), [(r.at, r.count) for r in found]


@pytest.mark.parametrize("how", ["the same entry twice", "one line under two insertIds"])
def test_a_line_read_twice_is_one_row(how):
    """The same entry returned on two pages (its insertId and timestamp: Logging's duplicate), or one line of
    one writer stored twice under two ids (its writer, time, step and words): one row, not two."""
    entries = lines(OPENED + [escalated_alert(1), approve(3, "ap-1")])
    again = [e if how == "the same entry twice" else e.model_copy(update={"insert_id": e.insert_id + "-again"})
             for e in entries[1:]]
    timeline = build_timeline(INCIDENT, PROJECT, Pages(entries + again), T0 + timedelta(hours=1))

    assert [r.count for r in rows(timeline, "escalated")] == [1]
    assert [r.count for r in rows(timeline, "command")] == [1]


def _deploy(at, insert_id: str, image: str, by: str):
    """A person's deploy of the service, as Cloud Run's Admin Activity audit log records it."""
    from shared.timeline.entries import AuditInfo, LoggedEntry

    return LoggedEntry(insert_id=insert_id, timestamp=at, log_id="cloudaudit.googleapis.com/activity",
                       audit=AuditInfo(service_name="run.googleapis.com",
                                       method_name="google.cloud.run.v2.Services.UpdateService",
                                       resource_name=f"projects/{PROJECT}/locations/us-central1/services/backend",
                                       principal=by, request={"service": {"template": {"containers": [
                                           {"image": image}]}}}))


@pytest.mark.parametrize("how, expected", [
    # An insertId is unique only with its timestamp ("Logging considers other log entries in the same project,
    # with the same timestamp, and with the same insert_id to be duplicates", LogEntry.insert_id,
    # google/logging/v2/log_entry.proto): two changes minutes apart under one id are two changes. Keyed by the
    # id alone, bob's later deploy was read as the end of alice's and not shown, nor bob among those who acted.
    ("one id, two times", [("alice@example.com", "v2"), ("bob@example.com", "v3")]),
    # Control: the same entry read twice (on two pages, or by two reads that meet) is one change.
    ("the same entry twice", [("alice@example.com", "v2")]),
])
def test_an_audit_entry_is_one_change_by_its_id_and_time(how, expected):
    from shared.timeline.entries import EntryPage

    first = _deploy(T0 + timedelta(minutes=5), "audit-1", "gcr.io/p/backend:v2", "alice@example.com")
    second = (_deploy(T0 + timedelta(minutes=20), "audit-1", "gcr.io/p/backend:v3", "bob@example.com")
              if how == "one id, two times" else first)

    class WithAudit(Pages):
        def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
            if "cloudaudit" in filter:
                return EntryPage(entries=(first, second))
            return super().read_page(project, filter, page_size=page_size, order_by=order_by)

    timeline = build_timeline(INCIDENT, PROJECT, WithAudit(lines(OPENED)), T0 + timedelta(hours=1))

    changes = [(e.actor.name, e.summary) for e in timeline.entries if e.kind == "deploy"]
    assert len(changes) == len(expected), changes
    assert all(by == want and f"deploy of gcr.io/p/backend:{image} " in summary
               for (by, summary), (want, image) in zip(changes, expected)), changes
    assert timeline.people == [by for by, _ in expected]
