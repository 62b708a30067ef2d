"""The Firestore store's read side (shared/gcp/firestore.py), pure: nothing is sent.

A read meets a transient fault: tried again, at most three times, 0.2 s then 0.4 s apart, the last
fault raised; a permanent fault is raised at once (`_retry_transient`, what tenacity's Retrying did
before). Document ids of ASCII keys are quote's. A deferred record reads as the record does."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import PermanentError, TransientError
from shared.gcp import firestore
from tests.unit.test_firestore_wire import _same


@pytest.fixture
def waits(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(firestore.time, "sleep", slept.append)
    return slept


def _failing(*faults: Exception, answer: str = "read"):
    calls = []

    def read() -> str:
        calls.append(len(calls))
        if len(calls) <= len(faults):
            raise faults[len(calls) - 1]
        return answer

    return read, calls


def test_an_answer_at_once_waits_for_nothing(waits):
    read, calls = _failing()
    assert firestore._retry_transient(read) == "read" and calls == [0] and waits == []


def test_transient_faults_are_tried_again_with_a_growing_wait(waits):
    read, calls = _failing(TransientError("unavailable"), TransientError("unavailable"))
    assert firestore._retry_transient(read) == "read" and len(calls) == 3 and waits == [0.2, 0.4]


def test_the_third_transient_fault_is_raised(waits):
    last = TransientError("third")
    read, calls = _failing(TransientError("first"), TransientError("second"), last)
    with pytest.raises(TransientError) as raised:
        firestore._retry_transient(read)
    assert raised.value is last and len(calls) == 3 and waits == [0.2, 0.4]


def test_a_permanent_fault_is_not_tried_again(waits):
    read, calls = _failing(PermanentError("denied", code="PERMISSION_DENIED"))
    with pytest.raises(PermanentError):
        firestore._retry_transient(read)
    assert calls == [0] and waits == []


def test_the_wait_is_capped(monkeypatch, waits):
    monkeypatch.setattr(firestore, "READ_ATTEMPTS", 6)
    read, _ = _failing(*[TransientError("unavailable")] * 5)
    assert firestore._retry_transient(read) == "read" and waits == [0.2, 0.4, 0.8, 1.0, 1.0]


# --- document ids: the ASCII keys' quoting is urllib.parse.quote's ---------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _quoted(key: str) -> str:
    """What `document_id` made before it translated ASCII keys: quote, then the same escapes."""
    import hashlib
    import urllib.parse

    encoded = urllib.parse.quote(key, safe="")
    if firestore._RESERVED_ID.match(encoded):
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    if len(encoded) > firestore.MAX_ID_BYTES:
        encoded = f"{encoded[:firestore.HASHED_ID_PREFIX]}%~{hashlib.sha256(key.encode()).hexdigest()}"
    return encoded


@settings(max_examples=500, deadline=None)
@given(key=st.one_of(st.text(alphabet=st.characters(max_codepoint=127), max_size=80),
                     st.text(max_size=40),
                     st.sampled_from([".", "..", "__x__", "a" * 1600, "é" * 600,
                                      "0.abc|projects/p/locations/l/services/s|rollback_traffic"])))
def test_document_ids_are_quote_s(key):
    firestore.document_id.cache_clear()
    assert firestore.document_id(key) == _quoted(key)


def test_every_ascii_character_is_quoted_as_quote_quotes_it():
    import urllib.parse

    firestore.document_id.cache_clear()
    for code in range(128):
        key = f"a{chr(code)}b"
        assert firestore.document_id(key) == urllib.parse.quote(key, safe="")


# --- deferred records: each field, and the whole, as get_many decodes the document ----------------

@pytest.fixture(scope="module")
def wire():
    import os

    from google.cloud import firestore as gcf

    from shared.gcp.firestore_wire import Wire, open_channel

    before = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:9"   # never contacted: no call is made
    try:
        client = gcf.Client(project="reads-test")
        channel = open_channel(client)
        yield Wire(client, channel)
        channel.close()
    finally:
        if before is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = before



INTENT = {"claim_key": "0.abc|projects/p/locations/l/services/s|rollback_traffic", "action": "rollback_traffic",
          "params": {"to_revision": "s-00001", "keep_tags": [], "steps_back": 1, "manual": False},
          "before": {"traffic": [{"revision": "s-00002", "percent": 100, "tag": ""}], "generation": 2},
          "noted_at": datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc),
          "requested_by": "", "nothing": None, firestore.KEY_FIELD: "0.abc|m-1", firestore.WRITE_FIELD: "w-1"}


@pytest.mark.parametrize("data", [
    INTENT,
    {"claim_key": "only"},                                             # one field: decoded whole
    {"__type__": "other", "claim_key": "k", "n": 1},                   # a `__type__` field: decoded whole
    {"claim_key": {"__type__": "__vector__", "value": [1.0, 2.0]}, "b": 1},   # a vector field
    {firestore.KEY_FIELD: "k", firestore.WRITE_FIELD: "w"},            # no field of its own: empty
])
def test_a_deferred_record_reads_as_the_record(wire, data):
    from shared.gcp.firestore_wire import Snapshot

    document = wire.set_write(wire.name("runwarden_intents", "a"), data).update
    whole = firestore._visible(Snapshot(document.name, document, None).to_dict())
    deferred = firestore.DeferredRecord(Snapshot(document.name, document, None))
    for name in [*data, "absent"]:
        assert _same(deferred.get(name), whole.get(name)), name
        assert _same(deferred.get(name, "default"), whole.get(name, "default")), name
    assert _same(deferred.data(), whole)
    assert deferred.data() is not deferred.data()   # a dict of its own each time
    assert bool(deferred) is bool(whole)            # empty as its dict is (history.note_opened asks)


def test_a_deferred_record_can_be_told_apart(wire):
    """The comparison above fails for a record whose field differs."""
    from shared.gcp.firestore_wire import Snapshot

    document = wire.set_write(wire.name("runwarden_intents", "a"), INTENT | {"claim_key": "other"}).update
    deferred = firestore.DeferredRecord(Snapshot(document.name, document, None))
    assert not _same(deferred.get("claim_key"), INTENT["claim_key"])
    assert not _same(deferred.data(), firestore._visible(INTENT))


@pytest.mark.parametrize("data", [
    INTENT,
    {"claim_key": "only"},
    {"__type__": "other", "claim_key": {"a": 1, "b": 2}, "n": 1},
    {"m": {"a": 1, "claim": {"x": [1]}, "b": "s"}, "one": {"claim": 1}, "vec": {"__type__": "__vector__",
                                                                               "value": [1.0]}, "n": None},
])
def test_a_deferred_record_names_its_fields_and_leaves_out_what_it_is_told(wire, data):
    from shared.gcp.firestore_wire import Snapshot

    document = wire.set_write(wire.name("runwarden_settled", "a"), data).update
    whole = firestore._visible(Snapshot(document.name, document, None).to_dict())
    deferred = firestore.DeferredRecord(Snapshot(document.name, document, None))
    assert deferred.names() == list(whole)
    for name in [*data, "absent"]:
        left = deferred.get(name, leave=("claim", "a"))
        value = whole.get(name)
        # A vector stays the library's Vector; a map of one entry is decoded whole, then left out of.
        expected = {k: v for k, v in value.items() if k not in ("claim", "a")} if isinstance(value, dict) else value
        assert _same(left, expected), name


def _settled_record(*entries):
    from shared.remediation.records import SettledEntry, settled_field

    data = {"incident_id": "0.abc", "expires_at": datetime(2026, 11, 27, 12, 2, tzinfo=timezone.utc)}
    for entry in entries:
        data[settled_field(entry["key"])] = SettledEntry.model_validate(entry).model_dump(mode="python")
    return data


CLAIM = {"key": "0.abc|svc|rollback_traffic", "owner": "m-1:a", "status": "completed",
         "claimed_at": datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc),
         "expires_at": datetime(2026, 11, 27, 12, 2, tzinfo=timezone.utc),
         "result": {"status": "applied", "after": {"traffic": [{"revision": "s-1", "percent": 100}]}}}
ON_SERVICE = {"key": "0.abc|svc|rollback_traffic", "kind": "claims", "target": "svc", "action": "rollback_traffic",
              "recorded": True, "claim": CLAIM}
ON_CONNECTOR = {"key": "0.abc|conn|scale_connector", "kind": "claims", "target": "conn",
                "action": "scale_connector", "recorded": False, "claim": CLAIM | {"key": "0.abc|conn|scale_connector"}}


@pytest.mark.parametrize("covered", [
    {("claims", "0.abc|svc|rollback_traffic"): CLAIM},                 # the service's claim, read beside it
    {("claims", "0.abc|svc|rollback_traffic"): None},                  # read, and gone since
    {("dry_run_claims", "0.abc|svc|rollback_traffic"): None},          # another kind: not covered
    {},
])
def test_settled_entries_from_a_deferred_record_answer_as_from_the_dict(wire, covered):
    """What `_AlertRun.prior` makes of them: the same recorded keys and targets, and the same claims
    once the claims read beside them are laid over (`claims() | read`); the copy of a claim read
    beside them is not decoded."""
    from shared.gcp.firestore_wire import Snapshot
    from shared.remediation.settled import SettledState

    data = _settled_record(ON_SERVICE, ON_CONNECTOR)
    document = wire.set_write(wire.name("runwarden_settled", "0.abc"), data).update
    whole = SettledState.parse(Snapshot(document.name, document, None).to_dict())
    deferred = SettledState.parse(firestore.DeferredRecord(Snapshot(document.name, document, None)), covered)
    assert deferred.recorded == whole.recorded and deferred.targets() == whole.targets()
    merged, expected = deferred.claims() | covered, whole.claims() | covered
    assert merged.keys() == expected.keys() and all(_same(merged[k], expected[k]) for k in merged)
    undecoded = {(e.kind, e.key) for e in deferred.entries if e.claim is None}
    assert undecoded == set(covered) & {("claims", "0.abc|svc|rollback_traffic")}
    assert [e.model_dump(exclude={"claim"}) for e in deferred.entries] == [
        e.model_dump(exclude={"claim"}) for e in whole.entries]


# --- _call: Google and OS errors classified, anything else left as it is ----------------------------

def _raises(error):
    def fn():
        raise error
    return fn


def test_a_google_error_leaves_classified():
    from google.api_core import exceptions

    with pytest.raises(TransientError) as raised:
        firestore._call(_raises(exceptions.ServiceUnavailable("down")))
    assert isinstance(raised.value.__cause__, exceptions.ServiceUnavailable)
    with pytest.raises(PermanentError) as raised:
        firestore._call(_raises(exceptions.PermissionDenied("no")))
    assert raised.value.code == "PERMISSION_DENIED"


def test_a_retry_that_ran_out_leaves_as_its_last_cause():
    from google.api_core import exceptions

    cause = exceptions.ServiceUnavailable("down")
    with pytest.raises(TransientError) as raised:
        firestore._call(_raises(exceptions.RetryError("Timeout of 30.0s exceeded", cause)))
    assert "down" in str(raised.value)


def test_an_error_to_reraise_or_of_another_kind_leaves_as_it_is():
    from google.api_core import exceptions

    conflict = exceptions.Conflict("exists")
    with pytest.raises(exceptions.Conflict) as raised:
        firestore._call(_raises(conflict), reraise=(exceptions.Conflict,))
    assert raised.value is conflict
    bug = KeyError("a bug")
    with pytest.raises(KeyError) as raised:
        firestore._call(_raises(bug))
    assert raised.value is bug and raised.value.__cause__ is None


# --- what a state store going away and coming back raises: each a transient fault -----------------
# google-api-core's exceptions reference (google.api_core.exceptions): ServiceUnavailable is gRPC
# UNAVAILABLE / HTTP 503, DeadlineExceeded DEADLINE_EXCEEDED / 504, InternalServerError INTERNAL / 500,
# Unknown UNKNOWN, Aborted ABORTED / 409; RetryError, "Raised when a function has exhausted all of its
# available retries", carries the last error as `cause`; `from_grpc_error` maps a grpc.RpcError onto one
# of them by its status code. Each is the store unreachable or cut off for now (shared.errors
# TRANSIENT_CODES): the delivery is answered non-2xx and delivered again, never given a `failed` outcome
# before delivery.max_attempts (shared.pipeline `retry_or_give_up`).

def _restart_faults():
    import grpc
    from google.api_core import exceptions

    from tests.unit.grpc_calls import failed_call

    refused = "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:8080: Connection refused"
    return {
        "refused": exceptions.ServiceUnavailable(refused),
        "a deadline that ran out": exceptions.DeadlineExceeded("Deadline Exceeded"),
        "a retry that ran out": exceptions.RetryError("Timeout of 10.0s exceeded",
                                                      exceptions.ServiceUnavailable(refused)),
        "a retry that ran out with no cause": exceptions.RetryError("Timeout of 10.0s exceeded", None),
        "an aborted commit": exceptions.Aborted("Transaction lock timeout"),
        "an internal error while starting": exceptions.InternalServerError("Internal error"),
        "a stream removed": exceptions.Unknown("Stream removed"),
        "raw gRPC, unavailable": failed_call(grpc.StatusCode.UNAVAILABLE, "Socket closed"),
        "raw gRPC, stream reset": failed_call(grpc.StatusCode.UNKNOWN, "Stream removed"),
        "raw gRPC, deadline": failed_call(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
        "a connection reset": ConnectionResetError(104, "Connection reset by peer"),
        "a connection refused": ConnectionRefusedError(111, "Connection refused"),
        "a socket timeout": TimeoutError("timed out"),
    }


@pytest.mark.parametrize("name", list(_restart_faults()))
def test_each_fault_of_a_store_restart_leaves_transient_from_a_read(name):
    """A read (BatchGetDocuments, a server-streaming call) through the wire's error mapping
    (shared/gcp/wire.py `streamed`, as GAPIC's `_wrap_stream_errors` maps them), its answers cut
    off before or after the first: classified transient by `_call`."""
    from shared.gcp.wire import streamed

    fault = _restart_faults()[name]

    def cut_off(request, timeout=None, metadata=None):
        yield "first answer"
        raise fault

    for stub in (_raises_called(fault), cut_off):
        with pytest.raises(TransientError):
            firestore._call(lambda: streamed(stub, "request", 1.0, ()))


def _raises_called(error):
    def stub(request, timeout=None, metadata=None):
        raise error
    return stub


@pytest.mark.parametrize("name", list(_restart_faults()))
def test_each_fault_of_a_store_restart_is_labelled_unavailable_and_redelivered(name):
    """Through the delivery's guard (shared/alerts/delivery.py GuardedState), the fault is the state
    store unavailable, and before the delivery limit the pipeline raises it again (redelivery) with a
    `deferred` step naming it, never an `unexpected error`."""
    from types import SimpleNamespace

    from shared.alerts.delivery import GuardedState
    from shared.config import Config
    from shared.gcp.wire import streamed
    from shared.pipeline import retry_or_give_up

    fault = _restart_faults()[name]

    class Store:
        def get_many(self, keys):
            return firestore._call(lambda: streamed(_raises_called(fault), "request", 1.0, ()))

    with pytest.raises(TransientError) as raised:
        GuardedState(Store()).get_many([("claims", "k")])
    assert str(raised.value).startswith("state store unavailable")
    steps = []
    timeline = SimpleNamespace(step=lambda step, detail, **fields: steps.append((step, detail)))
    config = Config(project="p", outcomes_topic="projects/p/topics/outcomes")
    with pytest.raises(TransientError):
        retry_or_give_up(raised.value, "17", config.delivery.max_attempts - 1, config, None, timeline)
    assert [step for step, _ in steps] == ["deferred"] and "unexpected" not in steps[0][1]
