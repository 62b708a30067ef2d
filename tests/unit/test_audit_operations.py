"""Both audit entries of one long-running operation make one change (merge_operation_entries)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.diagnosis.evidence import LogRecord, LogResult
from shared.gcp.logging import merge_operation_entries

T = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
METHOD = "google.cloud.run.v2.Services.UpdateService"


def entry(at: int, op: str = "", *, first: bool = False, last: bool = False, who: str | None = None,
          status: int | None = None) -> LogRecord:
    return LogRecord(timestamp=T + timedelta(seconds=at), log_id="cloudaudit.googleapis.com/activity",
                     method_name=METHOD, principal=who, operation_id=op, operation_first=first,
                     operation_last=last, status_code=status)


def merged(*entries: LogRecord) -> tuple[LogRecord, ...]:
    newest_first = tuple(sorted(entries, key=lambda e: e.timestamp, reverse=True))
    return merge_operation_entries(LogResult(query="q", entries=newest_first)).entries


def test_start_and_end_become_one_change_with_the_starters_principal_and_the_end_status():
    [change] = merged(entry(0, "op1", first=True, who="runwarden@p.iam.gserviceaccount.com"),
                      entry(15, "op1", last=True, status=0))
    assert change.timestamp == T and change.principal == "runwarden@p.iam.gserviceaccount.com"
    assert change.operation_first and change.operation_last and change.status_code == 0


def test_a_principal_only_on_the_end_entry_is_kept():
    [change] = merged(entry(0, "op1", first=True), entry(15, "op1", last=True, who="alice@example.com", status=9))
    assert change.principal == "alice@example.com" and change.status_code == 9


def test_entries_without_an_operation_and_lone_halves_stay_as_they_are():
    out = merged(entry(0, who="bob@example.com"), entry(30, "op2", last=True, status=0),
                 entry(60, "op3", first=True, who="carol@example.com"))
    assert [(e.operation_id, e.principal) for e in out] == [("op3", "carol@example.com"), ("op2", None),
                                                           ("", "bob@example.com")]


def test_two_operations_stay_two_changes_newest_first():
    out = merged(entry(0, "a", first=True, who="x@example.com"), entry(10, "a", last=True),
                 entry(100, "b", first=True, who="y@example.com"), entry(110, "b", last=True))
    assert [e.principal for e in out] == ["y@example.com", "x@example.com"]
