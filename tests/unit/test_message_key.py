"""`message_key` is the same text it always was: held records, outcome ids and "told once" records
written by one version are found by the next (shared/alerts/delivery.py, `_carried_json`)."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.alerts.delivery import message_key


def reference_key(event_data: Any) -> str:
    """The key as it was computed before the base64 fast path (the one encoder for everything)."""
    message = event_data.get("message") if isinstance(event_data, dict) else None
    if isinstance(message, dict):
        ident = message.get("messageId", message.get("message_id"))
        carried = {k: message.get(k) for k in ("data", "attributes", "orderingKey", "ordering_key")}
    else:
        ident, carried = None, {"event": event_data}
    digest = hashlib.sha256(json.dumps(carried, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"{ident}:{digest}" if isinstance(ident, (str, int)) and str(ident) else digest


NOTIFICATION = base64.b64encode(json.dumps({"incident": {"incident_id": "0.abc", "state": "open"},
                                            "version": "1.2"}).encode()).decode()

# Each `data` the fast path must refuse (something in it is escaped, or it is no text), and each it takes.
DATA = [
    NOTIFICATION, NOTIFICATION.rstrip("="), "", "=", "QUJD", "a" * 5000,
    'QU"JD', "QU\\JD", "QU\nJD", "QU\x00JD", "QU\x1fJD", "QU\x7fJD", "QUé", "QU\u2028", "QU😀",
    "QU-_JD",              # base64url's alphabet: not base64's, so the encoder writes it
    "QU JD", "QU/JD+==",
    None, 12, 1.5, True, b"QUJD", ["QUJD"], {"x": "QUJD"},
]
OTHERS = [None, {}, {"a": "b", "B": "c"}, {"k": datetime(2026, 1, 2, tzinfo=timezone.utc)}, "", "key", 3,
          {"z": {"y": [1, None, "é"]}, "a": '"'}]


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("attributes", OTHERS)
def test_the_key_is_the_reference_key_for_every_data_and_attributes(data, attributes):
    for event in ({"message": {"data": data, "attributes": attributes, "messageId": "7"}},
                  {"message": {"data": data, "orderingKey": attributes, "message_id": 8}},
                  {"message": {"data": data, "ordering_key": attributes}},
                  {"message": {"data": data, "attributes": attributes, "orderingKey": "k", "ordering_key": "k2"}}):
        assert message_key(event) == reference_key(event), event


def test_a_message_without_data_or_without_a_message_is_keyed_as_before():
    for event in ({"message": {"messageId": "1"}}, {"message": {}}, {"subscription": "s"}, {"message": "x"}, "x", None,
                  {"message": {"data": NOTIFICATION, "messageId": ""}}):
        assert message_key(event) == reference_key(event), event


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(st.text(max_size=60), st.text(alphabet="ABCXYZabz019+/=\"\\\n\x7f-_ é", max_size=60),
                      st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())),
       attributes=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=3)),
       key=st.one_of(st.none(), st.text(max_size=8)))
def test_any_text_keys_as_the_reference(data, attributes, key):
    event = {"message": {"data": data, "attributes": attributes, "orderingKey": key, "messageId": "m"}}
    assert message_key(event) == reference_key(event)
