"""Both audit entries of one long-running operation make one change (merge_operation_entries)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.diagnosis.evidence import LogRecord, LogResult
from shared.gcp.logging import merge_operation_entries

T = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
METHOD = "google.cloud.run.v2.Services.UpdateService"


RUN, VPC = "run.googleapis.com", "vpcaccess.googleapis.com"


def entry(at: int, op: str = "", *, first: bool = False, last: bool = False, who: str | None = None,
          status: int | None = None, producer: str = RUN, method: str = METHOD) -> LogRecord:
    return LogRecord(timestamp=T + timedelta(seconds=at), log_id="cloudaudit.googleapis.com/activity",
                     method_name=method, principal=who, operation_id=op, operation_producer=producer if op else "",
                     operation_first=first, operation_last=last, status_code=status)


def merged(*entries: LogRecord) -> tuple[LogRecord, ...]:
    newest_first = tuple(sorted(entries, key=lambda e: e.timestamp, reverse=True))
    return merge_operation_entries(LogResult(query="q", entries=newest_first)).entries


def test_start_and_end_become_one_change_with_the_starters_principal_and_the_end_status():
    [change] = merged(entry(0, "op1", first=True, who="runwarden@p.iam.gserviceaccount.com"),
                      entry(15, "op1", last=True, status=0))
    assert change.timestamp == T and change.principal == "runwarden@p.iam.gserviceaccount.com"
    assert change.operation_first and change.operation_last and change.status_code == 0


def test_the_end_entrys_time_is_kept_beside_the_starts():
    """A deploy's operation ends when its revision is ready, minutes after it was asked: both times are read
    (unaudited_change.py matches an update anywhere between them)."""
    [change] = merged(entry(0, "op1", first=True, who="alice@example.com"), entry(150, "op1", last=True, status=0))
    [lone] = merged(entry(0, "op2", first=True, who="alice@example.com"))
    assert change.timestamp == T and change.operation_ended_at == T + timedelta(seconds=150)
    assert lone.operation_ended_at is None


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


def test_two_producers_operations_under_one_id_stay_two_changes():
    """The audit read holds Cloud Run's and Serverless VPC Access's operations; an operation id is unique only
    with its producer ("The combination of id and producer must be globally unique", LogEntryOperation.producer,
    google/logging/v2/log_entry.proto). Keyed by the id alone, carol's connector update was merged into bob's
    deploy: one change, carol's start and principal lost, her failed status read as the deploy's end."""
    connector = "google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector"
    out = merged(entry(0, "op-1", first=True, who="bob@example.com"),
                 entry(5, "op-1", first=True, who="carol@example.com", producer=VPC, method=connector),
                 entry(20, "op-1", last=True, status=0),
                 entry(40, "op-1", last=True, status=9, producer=VPC, method=connector))
    assert [(e.operation_producer, e.principal, e.method_name, e.timestamp, e.status_code) for e in out] == [
        (VPC, "carol@example.com", connector, T + timedelta(seconds=5), 9),
        (RUN, "bob@example.com", METHOD, T, 0)]


def test_one_producers_operation_is_still_one_change():
    [change] = merged(entry(0, "op-1", first=True, who="bob@example.com", producer=VPC),
                      entry(20, "op-1", last=True, status=0, producer=VPC))
    assert change.operation_key == (VPC, "op-1") and change.status_code == 0
