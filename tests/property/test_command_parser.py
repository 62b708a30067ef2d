"""Fuzzing the command parser: any input gives a valid command or a CommandError naming a field,
never any other exception (a crash would answer Pub/Sub non-2xx and be redelivered forever)."""
from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.alerts.commands import COMMAND_NAMES, CommandError, parse_command, parse_command_published

FIELDS = ["schema", "command", "command_id", "target", "params", "reason", "requested_by", "dry_run", "expires_at",
          "override_limits", "extra"]
PARAMS = ["revision", "action_id", "to_latest", "max_instances", "machine_type", "proposal_id", "x"]
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                      st.sampled_from(list(COMMAND_NAMES) + ["projects/p/locations/l/services/s",
                                                             "projects/p/locations/l/connectors/c",
                                                             "2026-11-30T10:00:00Z", "p-0123456789ab", "e2-micro"]))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.sampled_from(PARAMS), inner, max_size=3), max_leaves=8)
command_like = st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=9)


def _parses_or_names_a_field(data: bytes) -> None:
    try:
        command = parse_command(data)
    except CommandError as exc:
        assert exc.field.startswith(("command", "message.data"))
        return
    assert command.command in COMMAND_NAMES


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes(data):
    _parses_or_names_a_field(data)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(command_like)
def test_command_shaped_objects(body):
    _parses_or_names_a_field(json.dumps(body).encode())


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_value, st.dictionaries(st.sampled_from(["message", "subscription"]),
                                             st.one_of(json_value, st.fixed_dictionaries(
                                                 {"data": st.one_of(json_value, st.binary(max_size=200).map(
                                                     lambda b: base64.b64encode(b).decode())),
                                                  "messageId": json_value})))))
def test_any_event_envelope(event):
    try:
        parse_command_published(event)
    except CommandError:
        pass
