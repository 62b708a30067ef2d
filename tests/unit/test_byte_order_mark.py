"""A notification whose text begins with a UTF-8 byte order mark (U+FEFF, bytes EF BB BF), as some relays
and .NET or PowerShell writers prepend, is read as the same notification. RFC 8259, section 8.1: "Implementations
MUST NOT add a byte order mark (U+FEFF) to the beginning of a networked-transmitted JSON text. In the interests
of interoperability, implementations that parse JSON texts MAY ignore the presence of a byte order mark rather
than treating it as an error." Python's json.loads refuses a str that begins with one ("Unexpected UTF-8 BOM"),
so before, such a message was rejected and never acted on. Pure: no I/O."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from shared.alerts.incidents import IncidentParseError, parse_notification, read_message_published

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SAMPLE = (SAMPLES / "monitoring_pubsub_threshold_open_gce__flanksource.json").read_bytes()
BOM = "\ufeff".encode("utf-8")


def _published(data: bytes) -> dict:
    return {"message": {"data": base64.b64encode(data).decode("ascii"), "messageId": "1",
                        "publishTime": "2026-12-06T06:00:00Z", "attributes": {}},
            "subscription": "projects/p/subscriptions/alerts"}


@pytest.mark.parametrize("payload", [BOM + SAMPLE, (BOM + SAMPLE).decode("utf-8")], ids=["bytes", "text"])
def test_a_notification_after_a_byte_order_mark_is_the_same_notification(payload):
    assert parse_notification(payload) == parse_notification(SAMPLE)


def test_a_published_message_whose_data_begins_with_a_byte_order_mark_is_read():
    assert read_message_published(_published(BOM + SAMPLE)).incident == parse_notification(SAMPLE)


def test_a_relays_wrapping_after_a_byte_order_mark_is_read_through():
    wrapped = BOM + json.dumps({"message": {"data": base64.b64encode(BOM + SAMPLE).decode("ascii")}}).encode()
    assert read_message_published(_published(wrapped)).incident == parse_notification(SAMPLE)


@pytest.mark.parametrize("payload", [b"\xef\xbb" + SAMPLE, SAMPLE + BOM, BOM + BOM + SAMPLE],
                         ids=["half a mark", "a mark at the end", "two marks"])
def test_only_one_whole_mark_at_the_start_is_ignored(payload):
    with pytest.raises(IncidentParseError):
        parse_notification(payload)
