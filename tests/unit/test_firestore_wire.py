"""The raw-protobuf Firestore requests (shared/gcp/firestore_wire.py) are byte for byte the ones
the client library builds for the same call, and its decoding is the library's. Pure: a client
pointed at an emulator address builds its channel lazily and nothing is sent."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.gcp.firestore_wire import Snapshot, Wire


@pytest.fixture(scope="module")
def client():
    import os

    from google.cloud import firestore

    before = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:9"   # never contacted: no call is made
    try:
        yield firestore.Client(project="wire-test")
    finally:
        if before is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = before


@pytest.fixture(scope="module")
def wire(client):
    from shared.gcp.firestore_wire import open_channel

    channel = open_channel(client)   # connects lazily, on a first call: none is made here
    yield Wire(client, channel)
    channel.close()


RECORD = {
    "key": "inc-1|svc|rollback_traffic", "owner": "m-1:abc", "status": "claimed", "count": 3, "ratio": 0.25,
    "flag": True, "none": None, "claimed_at": datetime(2026, 11, 26, 12, 0, 1, 123456, tzinfo=timezone.utc),
    "expires_at": datetime(2026, 11, 26, 13, 0, tzinfo=timezone(timedelta(hours=2))),
    "result": {"status": "applied", "after": {"traffic": [{"revision": "r-1", "percent": 100}]}, "empty": {}},
    "list": ["a", 1, None, {"x": [1.5]}], "raw": b"\x00\x01", "text": "é/.",
}


def _library_write(client, kind: str, name: str, data):
    from google.cloud.firestore_v1 import _helpers

    builder = _helpers.pbs_for_create if kind == "create" else _helpers.pbs_for_set_no_merge
    (write,) = builder(name, data)
    return write._pb


@pytest.mark.parametrize("kind", ["create", "set"])
def test_writes_match_the_librarys(client, wire, kind):
    name = wire.name("runwarden_claims", "inc-1%7Csvc")
    mine = wire.create_write(name, RECORD) if kind == "create" else wire.set_write(name, RECORD)
    library = _library_write(client, kind, name, RECORD)
    # Map fields are unordered in protobuf: compare as messages, and each map field's bytes.
    assert mine == library
    assert mine.update.name == f"projects/wire-test/databases/(default)/documents/runwarden_claims/inc-1%7Csvc"


def test_guarded_update_and_delete_match_the_librarys(client, wire):
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.field_path import FieldPath

    name = wire.name("runwarden_claims", "a")
    read_at = DatetimeWithNanoseconds(2026, 11, 26, 12, 0, 1, nanosecond=123456000, tzinfo=timezone.utc)
    option = client.write_option(last_update_time=read_at)
    fields = {"status": "completed", "result": {"status": "applied", "after": {"a": [1]}, "empty": {}},
              "expires_at": RECORD["expires_at"], "a.b": 1, "_write_id": "w"}
    # The library takes field paths: a top-level name is quoted when it needs to be.
    (library,) = _helpers.pbs_for_update(name, {FieldPath(k).to_api_repr(): v for k, v in fields.items()}, option)
    assert wire.update_write(name, fields, read_at) == library._pb
    # The update time is sent back exactly as read. (The library's LastUpdateOption goes through
    # proto-plus's datetime marshalling, which keeps microseconds: the same for what Firestore
    # answers, which stores timestamps to the microsecond.)
    exact = DatetimeWithNanoseconds(2026, 11, 26, 12, 0, 1, nanosecond=123456789, tzinfo=timezone.utc)
    assert wire.update_write(name, fields, exact).current_document.update_time.nanos == 123456789
    assert wire.delete_write(name, read_at) == _helpers.pb_for_delete(name, option)._pb


def test_a_merge_of_top_level_fields_matches_the_librarys_set_with_merge(client, wire):
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.field_path import FieldPath

    name = wire.name("runwarden_settled", "inc-1")
    fields = {"c_1": {"key": "inc-1|svc|rollback_traffic", "claim": {"status": "completed", "after": {"a": [1]}}},
              "expires_at": RECORD["expires_at"], "a.b": 1, "_write_id": "w"}
    # The library's set(data, merge=[field, ...]): only those fields, each replaced whole.
    (library,) = _helpers.pbs_for_set_with_merge(name, fields, merge=[FieldPath(k) for k in fields])
    mine = wire.merge_write(name, fields)
    assert mine == library._pb
    assert not mine.HasField("current_document")   # no precondition: created when missing


def test_commit_request_matches_a_write_batch(client, wire):
    ref = client.collection("runwarden_claims").document("a")
    batch = client.batch()
    batch.create(ref, RECORD)
    mine = wire.commit_request([wire.create_write(wire.name("runwarden_claims", "a"), RECORD)])
    assert mine.database == client._database_string
    assert list(mine.writes) == [w._pb for w in batch._write_pbs]


@pytest.mark.parametrize("value", ["inc-1", 7, None, float("nan"), True])
def test_query_matches_the_librarys(client, wire, value):
    from google.cloud.firestore import FieldFilter

    query = client.collection("runwarden_actions").where(filter=FieldFilter("incident_id", "==", value)).limit(100)
    library = query._to_protobuf()._pb
    mine = wire.query_request("runwarden_actions", "incident_id", value, 100)
    assert mine.structured_query == library
    assert mine.parent == f"{client._database_string}/documents"


def test_batch_get_request_names_the_documents(client, wire):
    names = [wire.name("runwarden_flags", "kill_switch"), wire.name("runwarden_incidents", "0.abc")]
    request = wire.batch_get_request(names)
    assert list(request.documents) == names and request.database == client._database_string


def test_decoding_is_the_librarys(client, wire):
    from google.cloud.firestore_v1 import _helpers

    name = wire.name("runwarden_claims", "a")
    document = wire.set_write(name, RECORD).update
    document.update_time.FromDatetime(datetime(2026, 11, 26, 12, 0, 1, tzinfo=timezone.utc))
    document.update_time.nanos += 789   # kept to the nanosecond: a precondition needs it exactly
    snapshot = Snapshot(name, document, client)
    assert snapshot.exists and snapshot.to_dict() == _helpers.decode_dict(document.fields, client)
    assert snapshot.to_dict()["claimed_at"] == RECORD["claimed_at"]
    assert snapshot.update_time.timestamp_pb() == document.update_time
    assert snapshot.get("owner") == "m-1:abc"
    with pytest.raises(KeyError):
        snapshot.get("absent")
    snapshot.to_dict()["owner"] = "changed"   # a fresh dict each time
    assert snapshot.get("owner") == "m-1:abc"
    missing = Snapshot(name, None, client)
    assert not missing.exists and missing.to_dict() is None and missing.update_time is None


def _same(mine, library) -> bool:
    """Equal, and of the same type all the way down."""
    if type(mine) is not type(library):
        return False
    if isinstance(mine, dict):
        return mine.keys() == library.keys() and all(_same(mine[k], library[k]) for k in mine)
    if isinstance(mine, list):
        return len(mine) == len(library) and all(_same(a, b) for a, b in zip(mine, library))
    return mine == library and (not isinstance(mine, float) or str(mine) == str(library))


@pytest.mark.parametrize("data", [
    RECORD,
    {"one": 1},                                             # a single-key document: the library's own path
    {"a": {"__type__": "__vector__", "value": [1.0, 2.0]}, "b": 1},    # a vector
    {"a": {"__int64__": 5}, "b": {"only": "key"}, "c": []},          # single-key maps (BSON wire maps)
    {"nested": {"deep": {"list": [{"t": datetime(2026, 1, 1, tzinfo=timezone.utc)}, b"\x01", -0.0, 2**62]}},
     "n": float("inf"), "e": "", "f": False},
])
def test_fast_decoding_is_the_librarys_value_for_value(client, wire, data):
    from google.cloud.firestore_v1 import _helpers

    from shared.gcp.firestore_wire import decode_fields

    fields = wire.set_write(wire.name("runwarden_claims", "a"), data).update.fields
    assert _same(decode_fields(fields, client), _helpers.decode_dict(fields, client))


def test_metadata_is_the_clients(client, wire):
    keys = [key for key, _ in wire._database_metadata]
    assert "x-goog-api-client" in keys and "x-goog-request-params" in keys
    assert set(client._rpc_metadata) <= set(wire._database_metadata)
    # The routing header each GAPIC method adds (firestore_v1/services/firestore/client.py).
    assert dict(wire._parent_metadata)["x-goog-request-params"] == \
        "parent=projects/wire-test/databases/%28default%29/documents"
    assert dict(wire._database_metadata)["x-goog-request-params"] == \
        "database=projects/wire-test/databases/%28default%29"


def _same_stamp(mine, library) -> bool:
    """The same DatetimeWithNanoseconds: type, every field, the nanoseconds and the RFC 3339 text."""
    return (type(mine) is type(library) and mine == library and mine.tzinfo is library.tzinfo
            and mine.nanosecond == library.nanosecond and mine.microsecond == library.microsecond
            and mine.rfc3339() == library.rfc3339() and repr(mine) == repr(library))


# Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z (google/protobuf/timestamp.proto).
_FIRST_SECOND, _LAST_SECOND = -62135596800, 253402300799


@settings(max_examples=400, deadline=None)
@given(seconds=st.one_of(st.integers(_FIRST_SECOND, _LAST_SECOND), st.sampled_from(
           [_FIRST_SECOND, _LAST_SECOND, -1, 0, 1, 1795694400, 2**53 // 10**6, 2**53 // 10**6 + 1])),
       nanos=st.one_of(st.integers(0, 999_999_999), st.sampled_from([0, 1, 999, 1000, 999_999_999])))
def test_timestamps_are_the_librarys(seconds, nanos):
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.protobuf.timestamp_pb2 import Timestamp

    from shared.gcp.firestore_wire import timestamp

    stamp = Timestamp(seconds=seconds, nanos=nanos)
    assert _same_stamp(timestamp(stamp), DatetimeWithNanoseconds.from_timestamp_pb(stamp))


def test_a_different_timestamp_is_told_apart():
    """The comparison above can fail: one nanosecond apart, or a plain datetime, is not the same."""
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.protobuf.timestamp_pb2 import Timestamp

    from shared.gcp.firestore_wire import timestamp

    library = DatetimeWithNanoseconds.from_timestamp_pb(Timestamp(seconds=1795694400, nanos=123456789))
    assert not _same_stamp(timestamp(Timestamp(seconds=1795694400, nanos=123456788)), library)
    assert not _same_stamp(datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=timezone.utc), library)


def test_update_time_is_read_when_asked(client, wire):
    """A snapshot's update time is built on first use, and is the document's to the nanosecond."""
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    document = wire.set_write(wire.name("runwarden_claims", "a"), RECORD).update
    document.update_time.FromDatetime(datetime(2026, 11, 26, 12, 0, 1, tzinfo=timezone.utc))
    document.update_time.nanos += 7
    snapshot = Snapshot(document.name, document, client)
    assert _same_stamp(snapshot.update_time, DatetimeWithNanoseconds.from_timestamp_pb(document.update_time))
    assert snapshot.update_time is snapshot.update_time
