"""A rejected alert past the pipeline's bound is named by a search of its text (shared/alerts/received.py `_scanned`):
a value holding an escaped quote, in the notification's JSON or inside a relay's JSON string, is read to its own closing
quote, never short of it. Pure: the reader on a message's bytes, no I/O."""
from __future__ import annotations

import base64
import json

import pytest

from shared.alerts.received import named, received
from shared.alerts.relayed import MAX_WRAPPED_TEXT_BYTES

FILL = "x" * 7_000_000


def _event(text: str) -> dict:
    data = text.encode()
    assert len(data) > MAX_WRAPPED_TEXT_BYTES
    return {"message": {"data": base64.b64encode(data).decode(), "messageId": "49"},
            "subscription": "projects/p/subscriptions/s"}


def _named(text: str):
    event_data = _event(text)
    return named(received(event_data), "incident", event_data)


def _plain(incident: dict) -> str:
    return json.dumps({"incident": {**incident, "summary": FILL}, "version": "1.2"})


def _in_a_string(incident: dict) -> str:
    """The notification as a relay forwards it inside a JSON string of its own (its quotes escaped)."""
    return json.dumps({"text": json.dumps({"incident": incident, "version": "1.2"}), "summary": FILL})


# An id whose text holds a quote is no id of an incident's shape: read whole, it names no incident. Before, the read
# stopped at the escaped quote and took what came before it ("0.ab") for the incident's id.
@pytest.mark.parametrize("form", [_plain, _in_a_string], ids=["in the notification", "inside a relay's string"])
@pytest.mark.parametrize("incident_id", ['0.ab"cd', '0.ab\\"cd', '0.ab\\'])
def test_an_id_holding_an_escaped_quote_is_read_whole_and_names_no_incident(form, incident_id):
    words = _named(form({"incident_id": incident_id, "policy_name": "backend 5xx"}))
    assert words.incident_id is None and "incident 0.ab" not in words.words, words


@pytest.mark.parametrize("form", [_plain, _in_a_string], ids=["in the notification", "inside a relay's string"])
def test_a_policy_name_holding_an_escaped_quote_is_shown_whole(form):
    words = _named(form({"incident_id": "0.Good", "policy_name": 'backend "5xx" errors'}))
    assert words.incident_id == "0.good" and "backend \"5xx\" errors" in words.words, words


@pytest.mark.parametrize("form", [_plain, _in_a_string], ids=["in the notification", "inside a relay's string"])
def test_an_id_with_no_escape_is_still_read(form):
    words = _named(form({"incident_id": "0.Good", "policy_name": "backend 5xx"}))
    assert words.incident_id == "0.good" and words.words.startswith("; incident 0.good, policy 'backend 5xx'"), words
