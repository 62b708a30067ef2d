"""Decoding LogEntry messages (no I/O): `record_from_entry` reads each field once and builds the
record without validating it again (evidence.decoded). Every shape of entry must give exactly the
record a plain decoding gives: the protobuf library's own ToDatetime / ToTimedelta and a validated
LogRecord, field for field, type for type."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from google.cloud.audit import audit_log_pb2
from google.cloud.logging_v2.types import LogEntry
from google.logging.type import log_severity_pb2
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict

from shared.diagnosis.evidence import (READ_KEYS, LogRecord, MetricPoint, MetricSeries, decoded, payload_severity,
                                     payload_text)
from shared.diagnosis.log_signals import holds_a_needle
from shared.gcp import logging as adapter
from shared.gcp.logging import AUDIT_LOG_TYPE, log_id_of, record_from_entry
from shared.outcomes import redacted

RUN = {"service_name": "backend", "revision_name": "backend-00002-xyz", "location": "us-central1"}


def reference(raw) -> LogRecord:
    """The plain decoding: the library's conversions, every value validated."""
    payload = raw.WhichOneof("payload")
    audit = None
    if payload == "proto_payload" and raw.proto_payload.type_url == AUDIT_LOG_TYPE:
        audit = audit_log_pb2.AuditLog()
        raw.proto_payload.Unpack(audit)
    if payload == "text_payload":
        text = raw.text_payload
    elif payload == "json_payload":
        fields = MessageToDict(raw.json_payload)
        own = [v for k, v in sorted(fields.items())
               if k not in READ_KEYS and isinstance(v, str) and holds_a_needle(v)]
        text = payload_text(fields.get, own)
    else:
        text = audit.method_name if audit is not None else ""
    try:
        severity = log_severity_pb2.LogSeverity.Name(raw.severity)
    except ValueError:
        severity = str(raw.severity)
    if payload == "json_payload" and raw.severity == 0:
        severity = payload_severity(MessageToDict(raw.json_payload).get) or severity
    http = raw.http_request if raw.HasField("http_request") else None
    fields = dict(
        timestamp=raw.timestamp.ToDatetime(tzinfo=timezone.utc), log_id=log_id_of(raw.log_name), severity=severity,
        resource_type=raw.resource.type, resource_labels=dict(raw.resource.labels), text=redacted(text),
        http_status=(http.status or None) if http is not None else None,
        http_latency_seconds=http.latency.ToTimedelta().total_seconds() if http is not None and http.HasField(
            "latency") else None, insert_id=raw.insert_id,
        request_url=(http.request_url or None) if http is not None else None)
    if payload == "json_payload" and isinstance(MessageToDict(raw.json_payload).get("grpc.code"), str):
        fields.update(grpc_code=MessageToDict(raw.json_payload)["grpc.code"])
    if raw.HasField("operation"):
        fields.update(operation_id=raw.operation.id, operation_producer=raw.operation.producer,
                      operation_first=raw.operation.first, operation_last=raw.operation.last)
    if audit is not None:
        fields.update(method_name=audit.method_name or None, resource_name=audit.resource_name or None,
                      principal=audit.authentication_info.principal_email or None,
                      status_code=audit.status.code if audit.HasField("status") else None)
    return LogRecord(**fields)


def entry(**fields):
    raw = LogEntry.pb()()
    raw.log_name = fields.pop("log_name", "projects/p/logs/run.googleapis.com%2Fstderr")
    raw.resource.type = "cloud_run_revision"
    raw.resource.labels.update(fields.pop("labels", RUN))
    raw.timestamp.FromDatetime(datetime(2026, 11, 26, 11, 58, 3, tzinfo=timezone.utc))
    raw.timestamp.nanos = fields.pop("nanos", 0)
    raw.insert_id = fields.pop("insert_id", "abc")
    raw.severity = fields.pop("severity", log_severity_pb2.ERROR)
    for name, value in fields.items():
        if name == "latency":
            raw.http_request.latency.seconds, raw.http_request.latency.nanos = value
        elif name == "status":
            raw.http_request.status = value
        elif name in ("protocol", "request_url"):
            setattr(raw.http_request, name, value)
        elif name == "json":
            raw.json_payload.CopyFrom(value)
        elif name == "audit":
            raw.proto_payload.Pack(value)
        elif name == "operation":
            raw.operation.id, raw.operation.first, raw.operation.last, *producer = value
            raw.operation.producer = producer[0] if producer else ""
        else:
            setattr(raw, name, value)
    return raw


def _json(**values) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(values)
    return out


def _audit(**values) -> audit_log_pb2.AuditLog:
    audit = audit_log_pb2.AuditLog(method_name=values.get("method", ""), resource_name=values.get("resource", ""))
    if "who" in values:
        audit.authentication_info.principal_email = values["who"]
    if "code" in values:
        audit.status.code = values["code"]
    return audit


SHAPES = {
    "text": entry(text_payload="dial tcp 10.0.0.3:5432: i/o timeout"),
    "text, nanos": entry(text_payload="x", nanos=123_456_789),
    "request log 503": entry(log_name="projects/p/logs/run.googleapis.com%2Frequests", status=503, latency=(10, 200_000_000),
                             text_payload="The request failed because either the HTTP response was malformed or connection "
                                          "to the instance had an error.", severity=log_severity_pb2.ERROR),
    "request log, latency below a microsecond": entry(status=504, latency=(300, 999)),
    "request log, negative latency": entry(status=504, latency=(-1, -500_999)),
    "request log, status 0": entry(status=0, latency=(0, 5_000)),
    "request log, a gRPC call": entry(log_name="projects/p/logs/run.googleapis.com%2Frequests", status=200,
                                      latency=(0, 9_000_000), protocol="HTTP/2",
                                      request_url="https://inventory-abc-uc.a.run.app/inventory.v1.Inventory/GetItem",
                                      severity=log_severity_pb2.INFO),
    "zap through go-grpc-middleware: grpc.code": entry(severity=0, json=_json(
        level="warn", msg="finished unary call with code Unavailable", **{"grpc.code": "Unavailable",
                                                                          "grpc.method": "GetItem"})),
    "grpc.code not a string": entry(json=_json(msg="x", **{"grpc.code": 14})),
    "json message": entry(json=_json(message="Connect call failed ('10.0.0.3', 5432)", level="error")),
    "json without a message": entry(json=_json(msg="elsewhere")),
    "json, no text key": entry(json=_json(other="elsewhere")),
    "pino: level number, msg": entry(severity=0, json=_json(level=50, msg="sorry, too many clients already")),
    "zap: level word, msg, error": entry(severity=0, json=_json(level="error", msg="acquire", error="dial tcp")),
    "slog: ERROR+2 stays DEFAULT": entry(severity=0, json=_json(level="ERROR+2", msg="x", err="y")),
    "json, message not a string": entry(json=_json(message=3)),
    "no payload": entry(),
    "severity between names": entry(severity=450),
    "severity default": entry(severity=0),
    "audit, everything": entry(log_name="projects/p/logs/cloudaudit.googleapis.com%2Factivity",
                               audit=_audit(method="google.cloud.run.v2.Services.UpdateService",
                                            resource="projects/p/locations/l/services/backend", who="alice@example.com",
                                            code=0), operation=("op-1", True, False, "run.googleapis.com")),
    "audit, no status nor principal": entry(audit=_audit(method="m"), operation=("op-2", False, True)),
    "audit, empty strings": entry(audit=_audit()),
    "other labels": entry(labels={"project_id": "p"}, text_payload="y"),
    "no labels": entry(labels={}, text_payload="z"),
}


# An application's log line that names a credential: the diagnosis quotes such lines as evidence (cut to
# 160 characters, on the outcome and the timeline), so the record's text holds it redacted; the words,
# the host and the user the signatures read are kept.
CREDENTIAL_LINES = [
    ("libpq error after its DSN",
     entry(text_payload='connect postgresql://orders:s3cr3t-Pw@10.40.0.3:5432/orders: connection to server at '
                        '"10.40.0.3", port 5432 failed: FATAL:  sorry, too many clients already'),
     "s3cr3t-Pw", 'postgresql://orders:[redacted credential]@10.40.0.3:5432/orders: connection to server at'),
    ("stack trace, json message",
     entry(json=_json(message="Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n"
                              "    engine = create_engine(\"mysql+pymysql://app:hunter2hunter2@db.internal:3306/app\")\n"
                              "OperationalError: (2003, \"Can't connect to MySQL server on 'db.internal'\")")),
     "hunter2hunter2", "mysql+pymysql://app:[redacted credential]@db.internal:3306/app"),
    ("an upstream call's header, any case",
     entry(json=_json(msg="request failed", error="AUTHORIZATION: BASIC dXNlcjpwYXNzd29yZA== 401 from upstream")),
     "dXNlcjpwYXNzd29yZA", "AUTHORIZATION: BASIC [redacted credential] 401 from upstream"),
    ("an API key in a URL",
     entry(text_payload="GET https://maps.googleapis.com/maps/api/geocode/json?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"
                        " failed: dial tcp: i/o timeout"),
     "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "json?key=[redacted credential] failed: dial tcp: i/o timeout"),
    ("an access token", entry(text_payload="token ya29.a0AfH6SMBx-yz expired; Bearer abcdefgh12345678ijkl refused"),
     "ya29.a0AfH6SMBx", "token [redacted credential] expired; Bearer [redacted credential] refused"),
]


@pytest.mark.parametrize("case", CREDENTIAL_LINES, ids=[c[0] for c in CREDENTIAL_LINES])
def test_a_log_lines_credential_is_redacted_where_it_is_read(case):
    _, raw, secret, kept = case
    text = record_from_entry(raw).text
    assert secret not in text
    assert kept in text


def _hunted():
    from tests.unit.test_redaction import HUNTED

    return HUNTED


@pytest.mark.parametrize("name", list(_hunted()))
def test_a_hunted_credential_is_redacted_as_a_text_line_and_as_a_json_message(name):
    """Each credential shape tests/unit/test_redaction.py HUNTED holds, as the application's stderr line and as the
    `message` and `error` of a structured line: the record the diagnosis reads holds none, what names it is kept."""
    line, secret, kept = _hunted()[name]
    for raw in (entry(text_payload=line), entry(json=_json(message="request failed", error=line))):
        text = record_from_entry(raw).text
        assert secret not in text and kept in text, text


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_decodes_as_the_plain_decoding(shape):
    raw = SHAPES[shape]
    got, expected = record_from_entry(raw), reference(raw)
    assert got == expected
    assert got.model_dump() == expected.model_dump()
    assert [type(v) for v in got.model_dump().values()] == [type(v) for v in expected.model_dump().values()]
    assert list(got.__dict__) == list(expected.__dict__)           # field order, for dumps and repr
    assert record_from_entry(LogEntry.wrap(raw)) == expected        # from a proto-plus wrapper too


def test_records_are_frozen_copies_and_do_not_share_their_labels():
    adapter._LABELS.clear()
    first, second = record_from_entry(SHAPES["text"]), record_from_entry(SHAPES["text"])
    assert first.resource_labels == second.resource_labels and first.resource_labels is not second.resource_labels
    with pytest.raises(Exception):
        first.text = "changed"
    copy = first.model_copy(update={"principal": "bob@example.com"})
    assert copy.principal == "bob@example.com" and first.principal is None


def test_the_labels_read_once_per_resource_stay_bounded():
    adapter._LABELS.clear()
    for i in range(adapter._MAX_LABELS + 10):
        record = record_from_entry(entry(labels={"revision_name": f"r{i}"}))
        assert record.resource_labels == {"revision_name": f"r{i}"}
    assert len(adapter._LABELS) <= adapter._MAX_LABELS


def test_random_entries_decode_as_the_plain_decoding():
    rng = random.Random(7)
    for _ in range(300):
        fields = {"nanos": rng.choice((0, rng.randrange(1_000_000_000))), "severity": rng.choice((0, 100, 400, 500, 999)),
                  "labels": {k: str(rng.randrange(3)) for k in rng.sample(["a", "b", "revision_name"], rng.randrange(4))}}
        kind = rng.randrange(4)
        if kind == 0:
            fields["text_payload"] = "t" * rng.randrange(5)
        elif kind == 1:
            fields["json"] = _json(message="m" * rng.randrange(3))
        elif kind == 2:
            fields["audit"] = _audit(method="m", who="w" * rng.randrange(2))
        if rng.random() < 0.5:
            fields["status"] = rng.choice((0, 200, 503))
            fields["latency"] = (rng.randrange(400), rng.randrange(1_000_000_000))
        raw = entry(**fields)
        assert record_from_entry(raw) == reference(raw)


def test_decoded_refuses_a_model_missing_a_field():
    with pytest.raises(TypeError, match="every field"):
        decoded(MetricSeries, {"end_us": (), "values": ()}, set(MetricSeries.model_fields))


@pytest.mark.parametrize("model", [LogRecord, MetricSeries, MetricPoint])
def test_decoded_builds_what_model_construct_builds(model):
    """`decoded` does what pydantic's model_construct does for a model with no private attributes
    and no post-init hook: it must stay such a model."""
    assert not model.__private_attributes__ and not model.__pydantic_post_init__
    values = {"LogRecord": lambda: reference(SHAPES["audit, everything"]).model_dump(),
              "MetricSeries": lambda: {"metric_labels": {"a": "b"}, "resource_labels": {}, "end_us": (1,), "values": (2.0,)},
              "MetricPoint": lambda: {"end": datetime(2026, 1, 1, tzinfo=timezone.utc), "value": 3.0}}[model.__name__]()
    fast, constructed = decoded(model, dict(values), set(model.model_fields)), model.model_construct(**values)
    assert fast == constructed == model(**values)
    for slot in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
        assert getattr(fast, slot) == getattr(constructed, slot)


# --- an application's own keys: read when one holds a needle, not at all when every key is a known one ---

_NEEDLE = "dial tcp 10.8.0.3:5432: i/o timeout"
_KELVIN = "\u212a"   # KELVIN SIGN: str.lower() gives the ASCII "k"; the bytes' search sees no letter
OWN_KEYS = {
    "a needle only in a key payload_text reads (zap's error)": {"level": "error", "msg": "acquire", "error": _NEEDLE,
                                                                 "caller": "pool.go:88", "ts": 1.5},
    "one own key among many holds it": {"msg": "retrying", "attempt": 2, "dbError": _NEEDLE, "orderId": "7731",
                                        "path": "/api/orders", "host": "10.8.0.3"},
    "several own keys, written out of key order": {"zeta": "connect ECONNREFUSED 10.8.0.3:5432", "msg": "x",
                                                   "alpha": "too many connections", "mid": "fine"},
    "a needle in a known key and in an own key": {"msg": "failed", "error": _NEEDLE, "cause": "sorry, too many clients already"},
    "a needle in an own key's name only": {"msg": "x", "dial tcp": "fine", "other": "fine too"},
    "a needle in an own key's nested object": {"msg": "x", "detail": {"cause": _NEEDLE}, "other": "fine"},
    "a needle in an own key's list": {"msg": "x", "causes": [_NEEDLE], "other": "fine"},
    "a needle in an own key's number-like neighbour": {"msg": "x", "n": 5432.0, "cause": _NEEDLE},
    "an empty key holds it": {"": _NEEDLE, "msg": "x", "z": "fine"},
    # 0x78 ('x') is the length byte of a 120-byte string: the bytes' search finds "x509: certificate"
    # across it, and the string's own "certificate verify failed" is read from the string
    "a hit across a length byte": {
        "msg": "x", "tls": ("509: certificate verify failed: unable to get local issuer certificate" + " " * 120)[:120],
        "zz": "fine"},
    "long values (two- and three-byte lengths)": {"msg": "y" * 300, "big": "z" * 20_000 + _NEEDLE,
                                                  "after": "connect ETIMEDOUT 10.8.0.3:5432", "tail": "w" * 200},
    "every key a known one": {"msg": _NEEDLE, "level": "error", "error": "too many connections"},
    "no needle anywhere": {"msg": "served", "path": "/api", "status": 200},
    # non-ASCII: only the Unicode lowering finds the needle in `ownk`, once the bytes' search found one elsewhere
    "non-ASCII text, a needle only Unicode lowering finds": {"msg": _NEEDLE, "ownk": f"{_KELVIN}nex: timeout acquiring a "
                                                                                       "connection", "other": "é"},
}


@pytest.mark.parametrize("case", sorted(OWN_KEYS))
def test_own_keys_read_as_the_plain_decoding(case):
    raw = entry(severity=0, json=_json(**OWN_KEYS[case]))
    assert record_from_entry(raw) == reference(raw)


def test_random_payloads_read_their_own_keys_as_the_plain_decoding():
    rng = random.Random(11)
    values = [_NEEDLE, "fine", "connect ETIMEDOUT 10.8.0.3:5432", "Too Many Connections", "é " + _NEEDLE, "x" * 130,
              "q" * 17_000 + "sorry, too many clients already", 3.0, None, True, {"cause": _NEEDLE}, [_NEEDLE, "fine"]]
    keys = ["msg", "error", "err", "level", "a", "b", "dbError", "cause", "zz", "dial tcp", "", "k" * 140]
    for _ in range(400):
        payload = {key: rng.choice(values) for key in rng.sample(keys, rng.randrange(1, len(keys)))}
        raw = entry(severity=rng.choice((0, 500)), json=_json(**payload))
        assert record_from_entry(raw) == reference(raw), payload



def _users_update(request: dict | None, resource: str = "projects/p/instances/main-db",
                  method: str = "cloudsql.users.update"):
    audit = _audit(method=method, resource=resource, who="carol@example.com")
    if request is not None:
        audit.request.update(request)
    return entry(log_name="projects/p/logs/cloudaudit.googleapis.com%2Factivity", audit=audit)


# The request or resource a users.update entry may carry (which one it does is UNCONFIRMED: each is read) -> the user.
USERS_UPDATE = {
    "the query parameter `name`": (_users_update({"name": "app", "host": ""}), "app"),
    "the request body's User.name": (_users_update({"body": {"name": "app", "password": "[REDACTED]"}}), "app"),
    "a `user` object's name": (_users_update({"user": {"name": "app"}}), "app"),
    "a resourceName ending in /users/NAME": (_users_update(None, "projects/p/instances/main-db/users/app"), "app"),
    "no request, the instance's resourceName": (_users_update(None), None),
    "another method's name is not a user": (_users_update({"name": "app"}, method="cloudsql.instances.update"), None),
}


@pytest.mark.parametrize("name", USERS_UPDATE)
def test_the_user_a_cloud_sql_users_update_changed_is_read(name):
    raw, user = USERS_UPDATE[name]
    assert record_from_entry(raw).sql_user == user
