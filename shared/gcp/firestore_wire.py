"""Firestore's hot calls (BatchGetDocuments, RunQuery, Commit) on plain protobuf messages, sent
over the client library's own gRPC channel.

Why: the library's document API builds every request and reads every answer through proto-plus
wrappers (google-cloud-firestore `_helpers.encode_value` builds a proto-plus `Value` per field,
`_parse_batch_get` reads each answer through `Message.__getattr__`), and its GAPIC layer wraps
each call in retry, timeout and error-mapping closures. On the alert path that was about half of
the handler's CPU. Here the same requests are built as the raw protobuf classes that proto-plus
wraps (`Message.pb()`, proto-plus docs, "Wrapping and unwrapping"), and sent on the channel the
library would build, with one option more (below).

What is kept from the library, so that the server sees the same call:
  - the metadata the client sends with every call: its resource prefix (and, on the emulator,
    "authorization: Bearer owner") from `BaseClient._rpc_metadata`, the `x-goog-api-client`
    header of its `ClientInfo`, and the routing header its GAPIC methods add
    (`gapic_v1.routing_header.to_grpc_metadata`, keyed `database` for BatchGetDocuments and
    Commit and `parent` for RunQuery, as in firestore_v1/services/firestore/client.py);
  - errors mapped as GAPIC maps them (`google.api_core.exceptions.from_grpc_error`, what
    `grpc_helpers._wrap_unary_errors` / `_wrap_stream_errors` raise);
  - values encoded as `_helpers.encode_value` encodes them (the plain types a record holds are
    built directly; anything else is handed to the library's encoder) and decoded by the
    library's own `_helpers.decode_dict`, which accepts a raw protobuf map;
  - a where `== None` or `== NaN` sent as the unary IS_NULL / IS_NAN filter, as
    `base_query.FieldFilter._to_pb` does.
tests/unit/test_firestore_wire.py checks each request against the one the library builds.

The channel (`open_channel`) is built as the library builds its own (BaseClient
`_firestore_api_helper`: on the emulator an insecure channel to FIRESTORE_EMULATOR_HOST, otherwise
`FirestoreGrpcTransport.create_channel` with the client's target and credentials, keepalive 30 s and
no message size limit), plus grpcio's `SingleThreadedUnaryStream` option ("Perform unary-stream
RPCs on a single thread", grpc.experimental.ChannelOptions). Without it grpcio starts a
channel-spin thread for every streaming call made while no other is in flight, and hands each
answer from that thread to the caller's (grpc/_channel.py `_channel_managed_call_management`,
`_run_channel_spin_thread`); with it the calling thread reads the answers itself
(`_SingleThreadedUnaryStreamMultiCallable`). BatchGetDocuments and RunQuery are server-streaming,
and a duplicate delivery makes nothing but two of them and a publish.
"""
from __future__ import annotations

import datetime
import math
from typing import Any, Collection, Iterable, Mapping, Sequence

from shared.gcp.wire import streamed, unary, within

BATCH_GET = "/google.firestore.v1.Firestore/BatchGetDocuments"
RUN_QUERY = "/google.firestore.v1.Firestore/RunQuery"
COMMIT = "/google.firestore.v1.Firestore/Commit"


class Snapshot:
    """One document as read: what the adapter uses of the library's DocumentSnapshot."""

    __slots__ = ("name", "exists", "_document", "_fields", "_client", "_decoded", "_update_time")

    def __init__(self, name: str, document: Any | None, client: Any) -> None:
        self.name = name
        self.exists = document is not None
        self._document = document
        self._fields = document.fields if document is not None else None
        self._client = client
        self._decoded: dict[str, Any] | None = None
        self._update_time: Any = None

    @property
    def update_time(self) -> Any:
        """The library's snapshot carries update_time as proto-plus marshals a Timestamp: a
        DatetimeWithNanoseconds (nanoseconds kept), which a last-update-time precondition needs.
        Built when first asked for: only a guarded write needs it, and a read mostly does not."""
        if self._update_time is None and self._document is not None:
            self._update_time = timestamp(self._document.update_time)
        return self._update_time

    def to_dict(self) -> dict[str, Any] | None:
        """A fresh dict of the fields (None for a missing document), as DocumentSnapshot.to_dict."""
        if not self.exists:
            return None
        if self._decoded is None:
            self._decoded = decode_fields(self._fields, self._client)
        return dict(self._decoded)

    def decoded(self) -> dict[str, Any] | None:
        """The fields decoded into a new dict that nothing keeps (None for a missing document):
        `to_dict` without keeping a copy, for a caller that reads each document once."""
        if not self.exists:
            return None
        if self._decoded is not None:
            return dict(self._decoded)
        return decode_fields(self._fields, self._client)

    def field(self, name: str, leave: Collection[str] = ()) -> Any:
        """One top-level field decoded alone, as `decoded()` would hold it (None when absent or the
        document is missing). A document the library may decode as a whole into something else
        than a dict (one field, or a `__type__` field: see `decode_fields`) is decoded whole.

        `leave`: when the field is a map that decodes to a dict, its entries named in `leave` are
        left out, not decoded (the dict is `decoded()`'s without them)."""
        fields = self._fields
        if fields is None:
            return None
        if len(fields) == 1 or "__type__" in fields:
            decoded = self.decoded()
            value = decoded.get(name) if isinstance(decoded, dict) else None
            return {k: v for k, v in value.items() if k not in leave} if leave and isinstance(value, dict) else value
        if name not in fields:
            return None
        value = fields[name]
        kind = value.WhichOneof("value_type")
        if leave and kind == "map_value":
            inner = value.map_value.fields
            if len(inner) != 1 and "__type__" not in inner:   # else it may decode to something else
                return {k: _decode(inner[k].WhichOneof("value_type"), inner[k], self._client)
                        for k in inner if k not in leave}
        decoded = _decode(kind, value, self._client)
        return {k: v for k, v in decoded.items() if k not in leave} if leave and isinstance(decoded, dict) else decoded

    def names(self) -> list[str]:
        """The top-level field names, in `decoded()`'s order (none for a missing document, or one
        the library decodes into something else than a dict)."""
        fields = self._fields
        if fields is None:
            return []
        if len(fields) == 1 or "__type__" in fields:
            decoded = self.decoded()
            return list(decoded) if isinstance(decoded, dict) else []
        return list(fields)

    def get(self, field: str) -> Any:
        """A top-level field; KeyError when it is absent, as DocumentSnapshot.get raises."""
        data = self.to_dict()
        if data is None or field not in data:
            raise KeyError(field)
        return data[field]


class Wire:
    """The three calls, on one client's channel. Safe to share between threads."""

    def __init__(self, client: Any, channel: Any) -> None:
        from google.api_core.gapic_v1 import routing_header
        from google.cloud.firestore_v1.types import document, firestore, query, write

        self._client = client
        self.channel = channel
        self.database = client._database_string
        self.documents = f"{self.database}/documents"
        self._pb = _Types(document, firestore, query, write)
        pb = self._pb
        self._batch_get = channel.unary_stream(BATCH_GET, request_serializer=pb.BatchGet.SerializeToString,
                                               response_deserializer=pb.BatchGetResponse.FromString)
        self._run_query = channel.unary_stream(RUN_QUERY, request_serializer=pb.RunQuery.SerializeToString,
                                               response_deserializer=pb.RunQueryResponse.FromString)
        self._commit = channel.unary_unary(COMMIT, request_serializer=pb.Commit.SerializeToString,
                                           response_deserializer=pb.CommitResponse.FromString)
        # x-goog-api-client first, then the client's own metadata, as GAPIC's _GapicCallable merges them.
        common = [client._client_info.to_grpc_metadata(), *client._rpc_metadata]
        self._database_metadata = tuple(common + [routing_header.to_grpc_metadata((("database", self.database),))])
        self._parent_metadata = tuple(common + [routing_header.to_grpc_metadata((("parent", self.documents),))])

    # --- requests (pure: tests compare them with the library's) -------------------------------------

    def name(self, collection: str, document_id: str) -> str:
        return f"{self.documents}/{collection}/{document_id}"

    def batch_get_request(self, names: Sequence[str]) -> Any:
        return self._pb.BatchGet(database=self.database, documents=list(names))

    def query_request(self, collection: str, field_path: str, value: Any, limit: int) -> Any:
        pb = self._pb
        structured = pb.StructuredQuery(limit=pb.Int32Value(value=limit))
        structured.from_.add(collection_id=collection)   # "from" in the proto; proto-plus names it from_
        field = pb.StructuredQuery.FieldReference(field_path=field_path)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            op = (pb.StructuredQuery.UnaryFilter.Operator.IS_NULL if value is None
                  else pb.StructuredQuery.UnaryFilter.Operator.IS_NAN)
            structured.where.unary_filter.CopyFrom(pb.StructuredQuery.UnaryFilter(field=field, op=op))
        else:
            structured.where.field_filter.CopyFrom(pb.StructuredQuery.FieldFilter(
                field=field, op=pb.StructuredQuery.FieldFilter.Operator.EQUAL, value=self.value(value)))
        return pb.RunQuery(parent=self.documents, structured_query=structured)

    def create_write(self, name: str, fields: Mapping[str, Any]) -> Any:
        """A create: the document with the precondition exists=false (`_helpers.pbs_for_create`)."""
        pb = self._pb
        return pb.Write(update=pb.Document(name=name, fields=self.fields(fields)),
                        current_document=pb.Precondition(exists=False))

    def set_write(self, name: str, fields: Mapping[str, Any]) -> Any:
        """A set that replaces the whole document (`_helpers.pbs_for_set_no_merge`)."""
        pb = self._pb
        return pb.Write(update=pb.Document(name=name, fields=self.fields(fields)))

    def update_write(self, name: str, fields: Mapping[str, Any], update_time: Any) -> Any:
        """An update of top-level fields, only if the document's update time is still
        `update_time` (`_helpers.pbs_for_update` with a `LastUpdateOption`): the mask names each
        field (quoted as a field path), so a map value replaces the whole map."""
        pb = self._pb
        return pb.Write(update=pb.Document(name=name, fields=self.fields(fields)), update_mask=self._mask(fields),
                        current_document=pb.Precondition(update_time=update_time.timestamp_pb()))

    def merge_write(self, name: str, fields: Mapping[str, Any]) -> Any:
        """A set of the top-level `fields` only, the document's other fields kept, created if
        missing (`_helpers.pbs_for_set_with_merge` with `merge=[those fields]`): an update with a
        mask and no precondition. Write.update_mask: "If the mask is set and the document on the
        server has fields not covered by the mask, they are left unchanged"; without
        `current_document` nothing is required of the document ("An optional precondition on the
        document. The write will fail if this is set and not met by the target document"), and
        an update "Creates the document if it does not already exist" (UpdateDocumentRequest;
        google/firestore/v1/write.proto and firestore.proto). A map value replaces the whole map."""
        pb = self._pb
        return pb.Write(update=pb.Document(name=name, fields=self.fields(fields)), update_mask=self._mask(fields))

    def _mask(self, fields: Mapping[str, Any]) -> Any:
        """The mask naming each top-level field, quoted as a field path (`FieldPath.to_api_repr`),
        as the library's `pbs_for_update` and `pbs_for_set_with_merge` build it."""
        from google.cloud.firestore_v1.field_path import FieldPath

        return self._pb.DocumentMask(field_paths=[FieldPath(n).to_api_repr() for n in sorted(fields)])

    def delete_write(self, name: str, update_time: Any) -> Any:
        """A delete, only if the document's update time is still `update_time` (`_helpers.pb_for_delete`)."""
        pb = self._pb
        return pb.Write(delete=name, current_document=pb.Precondition(update_time=update_time.timestamp_pb()))

    def commit_request(self, writes: Iterable[Any]) -> Any:
        return self._pb.Commit(database=self.database, writes=list(writes))

    def fields(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self.value(value) for name, value in data.items()}

    def value(self, value: Any) -> Any:
        """A raw `Value`, as `_helpers.encode_value` encodes it."""
        Value = self._pb.Value
        if value is None:
            return Value(null_value=0)
        kind = type(value)
        if kind is bool:
            return Value(boolean_value=value)
        if kind is int:
            return Value(integer_value=value)
        if kind is float:
            return Value(double_value=value)
        if kind is str:
            return Value(string_value=value)
        if kind is datetime.datetime:
            from google.cloud._helpers import _datetime_to_pb_timestamp

            return Value(timestamp_value=_datetime_to_pb_timestamp(value))
        if kind is dict:
            return Value(map_value=self._pb.MapValue(fields=self.fields(value)))
        if kind is list or kind is tuple:
            return Value(array_value=self._pb.ArrayValue(values=[self.value(item) for item in value]))
        # Subclasses and every other type (bytes, references, geo points, vectors...): the library's
        # own encoder, unwrapped.
        from google.cloud.firestore_v1._helpers import encode_value

        return encode_value(value)._pb

    # --- calls --------------------------------------------------------------------------------------

    def batch_get(self, names: Sequence[str], timeout: float) -> list[Snapshot]:
        """Every named document (found or missing), in the order the server answers."""
        responses = streamed(self._batch_get, self.batch_get_request(names), timeout, self._database_metadata)
        client = self._client
        snapshots = []
        for response in responses:
            which = response.WhichOneof("result")
            if which == "found":
                snapshots.append(Snapshot(response.found.name, response.found, client))
            elif which == "missing":
                snapshots.append(Snapshot(response.missing, None, client))
        return snapshots

    def query(self, collection: str, field_path: str, value: Any, limit: int, timeout: float) -> list[Snapshot]:
        """The documents of `collection` whose `field_path` equals `value`, at most `limit`."""
        request = self.query_request(collection, field_path, value, limit)
        responses = streamed(self._run_query, request, timeout, self._parent_metadata)
        client = self._client
        # A response without a document carries only progress (read_time, skipped_results).
        return [Snapshot(r.document.name, r.document, client) for r in responses if r.HasField("document")]

    def commit(self, writes: Sequence[Any], timeout: float, retry: Any) -> Any:
        """One Commit, retried by `retry` (a google.api_core Retry) within `timeout` overall, as a
        GAPIC call given both retries: each attempt's deadline is what is left of the timeout
        (`google.api_core.timeout.TimeToDeadlineTimeout`), and errors are mapped before the retry
        sees them."""
        request, metadata = self.commit_request(writes), self._database_metadata
        return within(lambda timeout=None: unary(self._commit, request, timeout, metadata), timeout, retry)


class _Types:
    """The raw protobuf classes behind the library's proto-plus types."""

    def __init__(self, document: Any, firestore: Any, query: Any, write: Any) -> None:
        from google.cloud.firestore_v1.types import common
        from google.protobuf import wrappers_pb2

        self.Value = document.Value.pb()
        self.MapValue = document.MapValue.pb()
        self.ArrayValue = document.ArrayValue.pb()
        self.Document = document.Document.pb()
        self.Write = write.Write.pb()
        self.Precondition = common.Precondition.pb()
        self.DocumentMask = common.DocumentMask.pb()
        self.StructuredQuery = query.StructuredQuery.pb()
        self.Int32Value = wrappers_pb2.Int32Value
        self.BatchGet = firestore.BatchGetDocumentsRequest.pb()
        self.BatchGetResponse = firestore.BatchGetDocumentsResponse.pb()
        self.RunQuery = firestore.RunQueryRequest.pb()
        self.RunQueryResponse = firestore.RunQueryResponse.pb()
        self.Commit = firestore.CommitRequest.pb()
        self.CommitResponse = firestore.CommitResponse.pb()


def open_channel(client: Any) -> Any:
    """A channel to the client's endpoint, built as the library builds its own, with grpcio's
    SingleThreadedUnaryStream option (see the module docstring)."""
    import grpc
    import grpc.experimental

    options = [("grpc.keepalive_time_ms", 30000), ("grpc.max_send_message_length", -1),
               ("grpc.max_receive_message_length", -1),
               (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)]
    if client._emulator_host is not None:
        return grpc.insecure_channel(client._emulator_host, options=options)
    from google.cloud.firestore_v1.services.firestore.transports.grpc import FirestoreGrpcTransport

    return FirestoreGrpcTransport.create_channel(client._target, credentials=client._credentials, options=options)


def decode_fields(fields: Any, client: Any) -> Any:
    """A raw protobuf map of `Value`s decoded exactly as the library's `_helpers.decode_dict`
    decodes it, with the plain types a record holds read directly (null, bool, int, double,
    string, timestamp, array, map): `decode_value` dispatches every value through `getattr` and a
    chain of comparisons, and was most of the CPU of reading a document. Every other value type
    (bytes, references, geo points) is handed to the library's `decode_value`, and so is every map
    the library may turn into something else than a dict: a vector (`"__type__": "__vector__"`)
    and the BSON wire maps, which are single-key maps (`BSONType._from_dict`).

    The map is walked by key (`fields[name]`): a protobuf map's `items()` is the Python mixin of
    `collections.abc`, one generator step and one lookup per entry; strings, most of a record,
    are read without a call of their own."""
    if len(fields) == 1 or "__type__" in fields:
        from google.cloud.firestore_v1._helpers import decode_dict

        return decode_dict(fields, client)
    decoded = {}
    for name in fields:
        value = fields[name]
        kind = value.WhichOneof("value_type")
        decoded[name] = value.string_value if kind == "string_value" else _decode(kind, value, client)
    return decoded


def _decode(kind: str | None, value: Any, client: Any) -> Any:
    """One `Value` whose oneof case is `kind`, as `_helpers.decode_value` decodes it."""
    if kind == "string_value":
        return value.string_value
    if kind == "map_value":
        return decode_fields(value.map_value.fields, client)
    if kind == "timestamp_value":
        return timestamp(value.timestamp_value)
    if kind == "null_value":
        return None
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [_decode(item.WhichOneof("value_type"), item, client) for item in value.array_value.values]
    from google.cloud.firestore_v1._helpers import decode_value

    return decode_value(value, client)


def timestamp(timestamp_pb: Any) -> Any:
    """A protobuf Timestamp as the library's snapshots carry it: a DatetimeWithNanoseconds
    (nanoseconds kept), exactly what `DatetimeWithNanoseconds.from_timestamp_pb`
    (google.api_core.datetime_helpers) returns, for about half its CPU: that builds a datetime
    from `int(seconds * 1e6)` microseconds after the epoch, keeps its whole seconds, and builds a
    second one from their fields with `nanosecond=nanos` (microsecond `nanos // 1000` when nanos
    is positive, the attribute `nanos or 0`). Here the same whole seconds, in integers, are added
    to the epoch as a DatetimeWithNanoseconds, whose addition builds the subclass through its
    constructor (`nanosecond` 0), and the attribute is then set as the constructor sets it.
    tests/unit/test_firestore_wire.py compares the two over the Timestamp's whole range."""
    micros = int(timestamp_pb.seconds * 1e6)   # the library's own arithmetic, float rounding included
    nanos = timestamp_pb.nanos
    whole = micros - micros % 1_000_000        # what `from_microseconds` leaves in the whole seconds
    stamp = (_EPOCH or _epoch()) + datetime.timedelta(microseconds=whole + (nanos // 1000 if nanos > 0 else 0))
    stamp._nanosecond = nanos or 0
    return stamp


_EPOCH: Any = None


def _epoch() -> Any:
    """The epoch as a DatetimeWithNanoseconds (google.api_core imported on first use)."""
    global _EPOCH
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    _EPOCH = DatetimeWithNanoseconds(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return _EPOCH
