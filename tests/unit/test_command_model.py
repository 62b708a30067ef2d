"""runwarden.command/v1: the model, its checked-in JSON Schema, and the parser's field errors."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.alerts.commands import (CommandError, Pause, RollbackTraffic, Sweep, command_json_schema, parse_command,
                                    parse_command_published)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "runwarden.command.v1.json"
SERVICE = "projects/p/locations/us-central1/services/backend"


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_the_checked_in_schema_is_the_models_schema():
    # Regenerate with: python -c "from shared.alerts.commands import ..." (docs/commands.md says how)
    assert json.loads(SCHEMA_FILE.read_text()) == command_json_schema(), \
        "docs/schemas/runwarden.command.v1.json drifted from shared/alerts/commands.py: regenerate it"


def test_the_schema_names_every_command_and_requires_the_id_and_requester():
    schema = command_json_schema()
    names = {d["properties"]["command"]["const"] for d in schema["$defs"].values() if "command" in d.get("properties", {})}
    assert names == {"diagnose", "rollback_traffic", "restore_traffic", "scale_connector", "approve", "reject", "release",
                     "pause", "resume", "status", "sweep"}
    rollback = schema["$defs"]["RollbackTraffic"]
    assert {"command_id", "requested_by", "reason", "target", "command"} <= set(rollback["required"])
    assert rollback["additionalProperties"] is False


def test_a_full_rollback_command_parses():
    command = parse_command(body(command="rollback_traffic", command_id="c-1", target=SERVICE,
                                 params={"revision": "backend-00001-abc"}, reason="bad deploy",
                                 requested_by="alice@example.com", dry_run=True,
                                 expires_at="2026-11-30T10:00:00Z", override_limits=True))
    assert isinstance(command, RollbackTraffic)
    assert command.params.revision == "backend-00001-abc" and command.dry_run and command.override_limits
    assert command.expired(datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc))
    assert not command.expired(datetime(2026, 11, 30, 9, 59, tzinfo=timezone.utc))


def test_the_scheduler_sweep_needs_no_id():
    assert isinstance(parse_command(b'{"command": "sweep"}'), Sweep)


def test_pause_without_a_target_is_everything():
    command = parse_command(body(command="pause", command_id="x", requested_by="bob", reason="maintenance"))
    assert isinstance(command, Pause) and command.target is None


@pytest.mark.parametrize("fields, field", [
    ({"command": "reboot", "command_id": "x", "requested_by": "a"}, "command.command"),
    ({"command": "status", "command_id": "x", "requested_by": "a", "colour": "red"}, "command.colour"),
    ({"command": "status", "command_id": "x", "requested_by": 7}, "command.requested_by"),
    ({"command": "status", "command_id": "x"}, "command.requested_by"),
    ({"command": "status", "requested_by": "a"}, "command.command_id"),
    ({"command": "status", "command_id": "has space", "requested_by": "a"}, "command.command_id"),
    ({"command": "resume", "command_id": "x", "requested_by": "a"}, "command.reason"),
    ({"command": "resume", "command_id": "x", "requested_by": "a", "reason": "   "}, "command.reason"),
    ({"command": "rollback_traffic", "command_id": "x", "requested_by": "a", "reason": "r", "target": "backend"},
     "command.target"),
    ({"command": "rollback_traffic", "command_id": "x", "requested_by": "a", "reason": "r", "target": SERVICE,
      "params": {"revision": "Not_A_Revision"}}, "command.params.revision"),
    ({"command": "scale_connector", "command_id": "x", "requested_by": "a", "reason": "r",
      "target": "projects/p/locations/l/connectors/c", "params": {"max_instances": 11}}, "command.params.max_instances"),
    ({"command": "scale_connector", "command_id": "x", "requested_by": "a", "reason": "r",
      "target": "projects/p/locations/l/connectors/c", "params": {}}, "command.params"),
    ({"command": "restore_traffic", "command_id": "x", "requested_by": "a", "reason": "r", "target": SERVICE,
      "params": {"to_latest": "yes"}}, "command.params.to_latest"),
    ({"command": "approve", "command_id": "x", "requested_by": "a", "reason": "r", "params": {"proposal_id": "1"}},
     "command.params.proposal_id"),
    ({"command": "status", "command_id": "x", "requested_by": "a", "expires_at": "2026-11-30T10:00:00"},
     "command.expires_at"),
    ({"command": "diagnose", "command_id": "x", "requested_by": "a", "override_limits": True, "target": SERVICE},
     "command.override_limits"),
])
def test_bad_input_names_the_field(fields, field):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps(fields))
    assert caught.value.field == field


@pytest.mark.parametrize("data, field", [
    (b"", "message.data"), (b"not json", "message.data"), (b"[]", "command"), (b"[" * 50000, "message.data"),
    (b"x" * (64 * 1024 + 1), "message.data"),
])
def test_malformed_bodies_are_errors_not_crashes(data, field):
    event = {"message": {"data": base64.b64encode(data).decode(), "messageId": "1"}}
    with pytest.raises(CommandError) as caught:
        parse_command_published(event)
    assert caught.value.field == field


def test_the_commands_machine_types_are_the_configs():
    from typing import get_args

    from shared.alerts.commands import ScaleParams
    from shared.config import MACHINE_TYPES

    # The Literal itself (null is refused: a machine_type left out is None by default, never sent as null).
    assert set(get_args(ScaleParams.model_fields["machine_type"].annotation)) == set(MACHINE_TYPES)


@pytest.mark.parametrize("data, key", [
    (b'{"command":"pause","command_id":"x","requested_by":"a","reason":"r","command":"resume"}', "command"),
    (b'{"command":"rollback_traffic","command_id":"x","requested_by":"a","reason":"r","target":"' + SERVICE.encode()
     + b'","params":{"revision":"backend-00001-abc","revision":"backend-00002-xyz"}}', "revision"),
])
def test_a_key_given_twice_is_refused_not_resolved_by_order(data, key):
    with pytest.raises(CommandError) as caught:
        parse_command(data)
    assert caught.value.field == "message.data" and f"{key!r} appears twice" in caught.value.reason


@pytest.mark.parametrize("data, words", [
    # Valid JSON by its grammar that Python's json will not turn into a number (sys.int_info's
    # default_max_str_digits, 4300): it raised ValueError, an unexpected error redelivered until given up.
    (b'{"command":"status","command_id":"x","requested_by":"a","n":1' + b"0" * 5000 + b"}", "not JSON"),
    (b'[' * 30_000 + b']' * 30_000, "nested too deeply"),
])
def test_json_no_parser_can_hold_is_refused_naming_the_data(data, words):
    with pytest.raises(CommandError) as caught:
        parse_command(data)
    assert caught.value.field == "message.data" and words in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("fields, words", [
    ({"command": "rollback_traffic", "target": "backend"}, "'backend' is not a full service name, projects/"),
    ({"command": "rollback_traffic", "target": "https://backend-abc-uc.a.run.app"}, "(not a short name or a URL)"),
    ({"command": "scale_connector", "target": "backend-conn", "params": {"max_instances": 4}},
     "is not a full connector name"),
    ({"command": "pause", "target": "backend"}, "is not a full resource name"),
    ({"command": "approve", "params": {"proposal_id": "P-3F9C"}}, "'P-3F9C' is not a proposal id"),
    ({"command": "rollback_traffic", "target": SERVICE,
      "params": {"revision": f"{SERVICE}/revisions/backend-00001-abc"}},
     "is the revision's full name: write its short name, 'backend-00001-abc'"),
    ({"command": "rollback_traffic", "target": SERVICE, "params": {"revision": "backend_00001-abc"}},
     "is not a revision's short name"),
    ({"command": "rollback_traffic", "target": SERVICE, "params": {"revision": f"{SERVICE}/revisions/Backend-00001-abc"}},
     "is the revision's full name: write its short name, 'Backend-00001-abc'"),
    # The command that undoes a change, aimed at a connector: why it cannot be, not only the form expected.
    ({"command": "restore_traffic", "target": "projects/p/locations/r/connectors/c", "params": {"to_latest": True}},
     "'projects/p/locations/r/connectors/c' is a connector, not a service: a scale of projects/p/locations/r/"
     "connectors/c is one-way and cannot be undone"),
    ({"command": "rollback_traffic", "target": "projects/p/locations/r/connectors/c"},
     "'projects/p/locations/r/connectors/c' is a connector, not a service: rollback_traffic takes a service, "
     "projects/PROJECT/locations/REGION/services/SERVICE"),
    ({"command": "diagnose", "target": "projects/p/locations/r/connectors/c"},
     "is a connector, not a service: diagnose takes a service"),
    ({"command": "scale_connector", "target": "projects/p/locations/r/services/s", "params": {"max_instances": 4}},
     "'projects/p/locations/r/services/s' is a service, not a connector: scale_connector takes the connector"),
])
def test_a_value_of_the_wrong_form_is_answered_with_the_form_expected(fields, words):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", "reason": "r", **fields}))
    assert words in caught.value.reason and "^" not in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("expires_at", [1796000000000, "2026-11-30T10:00:00", "2026-11-30", "in 10 minutes"])
def test_an_expiry_not_in_rfc_3339_with_a_zone_says_what_to_send(expires_at):
    with pytest.raises(CommandError) as caught:
        parse_command(body(command="status", command_id="x", requested_by="a", expires_at=expires_at))
    assert caught.value.field == "command.expires_at"
    assert "send an RFC 3339 time with a zone, such as 2026-11-30T09:10:00Z" in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_writing_command_without_a_reason_is_told_why_one_is_needed(reason):
    fields = {"command": "resume", "command_id": "x", "requested_by": "a"}
    with pytest.raises(CommandError) as caught:
        parse_command(body(**fields, **({} if reason is None else {"reason": reason})))
    assert caught.value.field == "command.reason" and "a command that writes needs a reason" in caught.value.reason


@pytest.mark.parametrize("fields, field, words", [
    ({}, "command.command", "is required: one of diagnose, rollback_traffic,"),
    ({"Command": "pause"}, "command.command", "is required (given instead: 'Command'): one of diagnose,"),
    ({"commnd": "pause"}, "command.command", "is required (given instead: 'commnd'): one of diagnose,"),
    ({"command": "rollback"}, "command.command", "'rollback' is not a command (did you mean 'rollback_traffic'?)"),
    ({"command": "Status"}, "command.command", "'Status' is not a command (did you mean 'status'?)"),
    ({"command": "status", "trget": SERVICE}, "command.trget",
     "'trget' is not a field of status (did you mean 'target'?); it takes: schema, command_id,"),
    ({"command": "rollback_traffic", "target": SERVICE, "params": {"revison": "backend-00001-abc"}},
     "command.params.revison", "'revison' is not a param of rollback_traffic (did you mean 'revision'?); it takes: "
                               "revision"),
    # A likely meaning is never a name sent beside it: max_instances was given, so "did you mean
    # 'max_instances'?" read as though it were missing.
    ({"command": "scale_connector", "target": "projects/p/locations/l/connectors/c",
      "params": {"min_instances": 3, "max_instances": 6}}, "command.params.min_instances",
     "'min_instances' is not a param of scale_connector (min_instances is not settable by scale_connector"),
    ({"command": "scale_connector", "target": "projects/p/locations/l/connectors/c",
      "params": {"max_instance": 6}}, "command.params.max_instance",
     "'max_instance' is not a param of scale_connector (did you mean 'max_instances'?)"),
    # A word of age reverses only "latest": rollback_traffic's revision is the older one meant.
    ({"command": "rollback_traffic", "target": SERVICE, "params": {"old_revision": "backend-00001-abc"}},
     "command.params.old_revision", "'old_revision' is not a param of rollback_traffic (did you mean 'revision'?)"),
    ({"command": "status", "params": {"verbose": True}}, "command.params.verbose",
     "'verbose' is not a param of status; it takes: none"),
    ({"command": "approve", "params": {"proposal": "p-3f9c2a1b7d40"}}, "command.params.proposal_id",
     "Field required (given instead: 'proposal')"),
])
def test_a_name_the_schema_does_not_know_is_answered_with_the_one_meant(fields, field, words):
    """pydantic's own words ("Unable to extract tag using discriminator 'command'", "Extra inputs are
    not permitted") said neither what is known nor what was likely meant."""
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", "reason": "r", **fields}))
    assert caught.value.field == field and words in caught.value.reason, caught.value.reason



CONNECTOR_NAME = "projects/p/locations/l/connectors/c"


@pytest.mark.parametrize("fields, field, words", [
    # The nearest known name means the reverse: "did you mean 'max_instances'?" would have the sender
    # raise the ceiling when a floor was asked for.
    ({"command": "scale_connector", "target": CONNECTOR_NAME, "params": {"min_instances": 3}},
     "command.params.min_instances", ["min_instances is not settable by scale_connector",
                                      "only raises max_instances", "send max_instances above the current one"]),
    ({"command": "scale_connector", "target": CONNECTOR_NAME, "params": {"minInstances": 3}},
     "command.params.minInstances", ["minInstances is not settable by scale_connector"]),
    ({"command": "scale_connector", "target": CONNECTOR_NAME, "params": {"lower_max_instances": 3}},
     "command.params.lower_max_instances", ["lower_max_instances is not settable by scale_connector"]),
    ({"command": "unpause"}, "command.command", ["to allow writes again, send 'resume'"]),
    ({"command": "disapprove"}, "command.command", ["send 'reject'"]),
    ({"command": "scale_down_connector"}, "command.command", ["no command scales a connector down"]),
    ({"command": "rollforward_traffic"}, "command.command", ["send 'restore_traffic' with params"]),
    ({"command": "restore_traffic", "target": "projects/p/locations/l/services/s", "params": {"to_oldest": True}},
     "command.params.to_oldest", ["send 'rollback_traffic' with its 'revision'"]),
    ({"command": "status", "no_dry_run": True}, "command.no_dry_run", ["not 'dry_run', which means the opposite"]),
    # The reversing word written apart, or glued to the name's word: answered "did you mean 'pause'?" and
    # "did you mean 'scale_connector'?".
    ({"command": "un-pause"}, "command.command", ["to allow writes again, send 'resume'"]),
    ({"command": "Un_Approve"}, "command.command", ["send 'reject'"]),
    ({"command": "downscale_connector"}, "command.command", ["no command scales a connector down"]),
    ({"command": "connector_scaledown"}, "command.command", ["no command scales a connector down"]),
])
def test_a_name_meaning_the_opposite_of_a_known_one_is_never_suggested_as_it(fields, field, words):
    """A near-miss whose nearest known name reverses it (min/max, unpause/pause, a scale down) was
    answered "did you mean" that name: the sender would have done the opposite of what was asked."""
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", "reason": "r", **fields}))
    assert caught.value.field == field, caught.value.field
    assert "did you mean" not in caught.value.reason and all(w in caught.value.reason for w in words), \
        caught.value.reason


STATUS = {"command": "status", "command_id": "x", "requested_by": "a"}


@pytest.mark.parametrize("data, words", [
    # Latin-1 from a terminal: the byte is named, not a codec's internals.
    (json.dumps({**STATUS, "requested_by": "josé"}, ensure_ascii=False).encode("latin-1"),
     "not UTF-8 text (byte 61,"),
    # A file saved as UTF-16 (PowerShell's `>`): JSON between systems MUST be UTF-8 (RFC 8259 §8.1); read
    # as it came, Python's json guessed UTF-16 and ran it, or, cut short, said "'utf-16-le' codec can't decode".
    (json.dumps(STATUS).encode("utf-16"), "not UTF-8 text (byte 0,"),
    (b"\xff\xfe{", "not UTF-8 text (byte 0,"),
    (json.dumps(STATUS).encode("utf-32"), "not UTF-8 text"),
])
def test_data_that_is_not_utf8_is_refused_saying_so(data, words):
    with pytest.raises(CommandError) as caught:
        parse_command(data)
    assert caught.value.field == "message.data" and words in caught.value.reason, caught.value.reason
    assert "codec" not in caught.value.reason, caught.value.reason


def test_a_lone_surrogate_escape_is_refused_naming_its_field():
    """`\\ud83d` without its pair (an emoji cut in two on the way) is valid JSON and no Unicode text: it
    was refused as `command: Invalid JSON: unexpected end of hex escape`, naming no field of the sender's."""
    data = b'{"command":"pause","command_id":"x","requested_by":"a","reason":"cut \\ud83d here"}'
    with pytest.raises(CommandError) as caught:
        parse_command(data)
    assert caught.value.field == "command.reason" and "lone UTF-16 surrogate" in caught.value.reason, caught.value


def test_a_utf8_byte_order_mark_is_read_past():
    assert parse_command(b"\xef\xbb\xbf" + json.dumps(STATUS).encode()).command == "status"


@pytest.mark.parametrize("fields, field", [
    ({"command": "status", "command_id": "x", "requested_by": "alice@example.com\x1b[2J"}, "command.requested_by"),
    ({"command": "status", "command_id": "x", "requested_by": "\u202emoc.elpmaxe@ecila"}, "command.requested_by"),
    ({"command": "status", "command_id": "x", "requested_by": "alice\n@example.com"}, "command.requested_by"),
    ({"command": "pause", "command_id": "x", "requested_by": "a", "reason": "window\x1b]52;c;cm0=\x07"},
     "command.reason"),
    ({"command": "pause", "command_id": "x", "requested_by": "a", "reason": "INC-7\r\x1b[1A fixed"},
     "command.reason"),
])
def test_control_characters_in_who_and_why_are_refused_naming_the_field(fields, field):
    """`requested_by` and `reason` are recorded everywhere and shown to other operators (a pause's
    reason in every status). A control or bidi character there was taken: an ESC sequence rode into
    terminals and logs, a right-to-left override showed a requester's name reversed, a newline split a
    principal in two. Refused, naming the field and the character; a reason may still span lines."""
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps(fields))
    assert caught.value.field == field and "character" in caught.value.reason, caught.value.reason


def test_a_reason_may_span_lines():
    command = parse_command(json.dumps({"command": "pause", "command_id": "x", "requested_by": "a",
                                        "reason": "INC-7:\n\tmigration window"}))
    assert command.reason == "INC-7:\n\tmigration window"


# 'kill_switch' names the switch itself: answered with both commands that turn it, and no guess between them
# (tests/unit/test_command_red_team.py).
@pytest.mark.parametrize("name", ["freeze", "revert", "start", "halt", "deny", "rejection", "unfreeze", "traffic"])
def test_a_command_name_that_only_looks_like_a_known_one_is_answered_with_every_name_and_no_guess(name):
    """Nearest by letters alone (difflib, 0.6), 'freeze' was answered "did you mean 'release'?" (which lets
    writes happen again), 'revert' "'reject'?" and 'start' "'status'?": not misspellings, other words. When
    no name is a misspelling of it, or two are ('traffic'), the answer lists the names and guesses none."""
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command": name, "command_id": "x", "requested_by": "a", "reason": "r"}))
    assert caught.value.reason.startswith(f"{name!r} is not a command; one of diagnose, rollback_traffic"), \
        caught.value.reason


@pytest.mark.parametrize("name, meant", [
    ("puase", "pause"), ("stauts", "status"), ("aproove", "approve"), ("rejct", "reject"), ("relase", "release"),
    ("diagnosis", "diagnose"), ("roll_back", "rollback_traffic"), ("restore", "restore_traffic"),
    ("scaleconnector", "scale_connector"), ("Resume", "resume"), ("pause_writes", "pause"),
    ("resume_writes", "resume"), ("approve_proposal", "approve"), ("sweeep", "sweep"),
])
def test_a_misspelt_or_shortened_command_name_is_answered_with_the_one_meant(name, meant):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command": name, "command_id": "x", "requested_by": "a", "reason": "r"}))
    assert f"(did you mean {meant!r}?)" in caught.value.reason, caught.value.reason


_CONNECTOR = "projects/p/locations/l/connectors/c"


@pytest.mark.parametrize("fields, field, words", [
    # release's intent: its pattern was shown as a regular expression ("String should match pattern
    # '^[^|]+\|[^|]+$'"), and a key too short as "String should have at least 3 characters".
    ({"command": "release", "target": SERVICE, "params": {"intent": "0.nrwotmyokd9n"}}, "command.params.intent",
     "'0.nrwotmyokd9n' is not an escalated plan's key, INCIDENT|MESSAGE, as an `escalated` outcome names it"),
    ({"command": "release", "target": SERVICE, "params": {"intent": "ab"}}, "command.params.intent",
     "'ab' is not an escalated plan's key, INCIDENT|MESSAGE"),
    ({"command": "release", "target": SERVICE, "params": {"intent": "a|b|c"}}, "command.params.intent",
     "one '|' between them"),
    # A command's params left out where it needs them, or not an object: "Field required" and "Input should be
    # an object" named no param.
    ({"command": "approve"}, "command.params",
     'Field required: send params, {"proposal_id": "p-3f9c2a1b7d40"} (the id a `proposed` outcome shows)'),
    ({"command": "reject", "proposal_id": "p-3f9c2a1b7d40"}, "command.params",
     "Field required (given instead: 'proposal_id'): send params, {\"proposal_id\": "),
    ({"command": "approve", "params": "p-3f9c2a1b7d40"}, "command.params",
     'Input should be an object (got "p-3f9c2a1b7d40"): send params as an object, {"proposal_id": '),
    ({"command": "restore_traffic", "target": SERVICE}, "command.params",
     'send params, {"action_id": "..."} (the action_id an outcome shows) or {"to_latest": true}'),
    ({"command": "scale_connector", "target": _CONNECTOR, "params": None}, "command.params",
     'Input should be an object (got null): send params as an object, {"max_instances": 3..10} and/or'),
    ({"command": "release", "target": SERVICE}, "command.params", 'send params, {"intent": "INCIDENT|MESSAGE"}'),
    ({"command": "rollback_traffic", "target": SERVICE, "params": "backend-00001-abc"}, "command.params",
     '(got "backend-00001-abc"): send params as an object, {"revision": "backend-00041-kux"}, or leave params out'),
    ({"command": "status", "params": []}, "command.params",
     "Input should be an object (got []): status takes no params; leave params out, or send {}"),
    # max_instances beyond VPC Access's 3-10: what was read, and how to get more room.
    ({"command": "scale_connector", "target": _CONNECTOR, "params": {"max_instances": 20}},
     "command.params.max_instances", "(got 20): VPC Access allows at most 10 instances: send max_instances 10 at "
                                     "most, or, for more room past 10, a larger machine_type (e2-standard-4)"),
    ({"command": "scale_connector", "target": _CONNECTOR, "params": {"max_instances": 10 ** 30}},
     "command.params.max_instances", "(got 1000000000000000000000000000000): VPC Access allows at most 10"),
    ({"command": "scale_connector", "target": _CONNECTOR, "params": {"max_instances": -1}},
     "command.params.max_instances", "(got -1): VPC Access allows 3 to 10 instances, and scale_connector only "
                                     "raises the connector's max_instances"),
])
def test_a_param_refused_says_what_to_send_instead(fields, field, words):
    """Each refusal of a command's params names what was read and what to send, never a regular expression."""
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", "reason": "r", **fields}))
    assert caught.value.field == field and words in caught.value.reason, caught.value.reason
    assert "^" not in caught.value.reason and "String should" not in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("fields, field, words", [
    # pydantic's tag is the value as Python prints it: null and 5 were answered "'None' is not a command".
    ({"command": None}, "command.command", "null is not a command: the command is named by a JSON string, one of "
                                           "diagnose, rollback_traffic"),
    ({"command": 5}, "command.command", "5 is not a command: the command is named by a JSON string"),
    ({"command": True}, "command.command", "true is not a command: the command is named by a JSON string"),
    # "Input should be a valid string" said neither what was read nor what to send.
    ({"command": "status", "command_id": 42}, "command.command_id",
     'Input should be a valid string (got 42, a JSON number: send "42", in quotes)'),
    ({"command": "rollback_traffic", "target": SERVICE, "params": {"revision": 7}}, "command.params.revision",
     'Input should be a valid string (got 7, a JSON number: send "7", in quotes)'),
    ({"command": "status", "command_id": None}, "command.command_id", "Input should be a valid string (got null)"),
    # A pause's or a resume's target sent as null (a script's empty variable) is not read as left out: a resume
    # meant for one target released the kill switch itself.
    ({"command": "resume", "target": None}, "command.target",
     "Input should be a valid string (got null, as a script sends an empty variable: to resume every write, leave "
     "target out; to resume one target, name it, projects/PROJECT/locations/REGION/services/SERVICE or "
     ".../connectors/CONNECTOR); nothing was done"),
    ({"command": "pause", "target": None}, "command.target", "(got null, as a script sends an empty variable: to "
                                                             "pause every write, leave target out;"),
])
def test_a_value_of_another_json_type_where_a_string_is_taken_says_what_was_read(fields, field, words):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", "reason": "r", **fields}))
    assert caught.value.field == field and words in caught.value.reason, caught.value.reason
    assert "None" not in caught.value.reason, caught.value.reason


_PROPOSAL = "p-3f9c2a1b7d40"


@pytest.mark.parametrize("fields, field, words", [
    # One rule for every command whose target may be left out: null (a script's empty variable) is refused, never
    # read as left out. An approve's or a reject's target is a check that the proposal is that target's: read as
    # left out, the check asked for was skipped; a status's, so that a script's fix is the same for every command.
    ({"command": "approve", "target": None, "params": {"proposal_id": _PROPOSAL}}, "command.target",
     "(got null, as a script sends an empty variable: to approve the proposal whatever its target, leave target "
     "out; to check that it is one target's, name it, projects/PROJECT/locations/REGION/services/SERVICE"),
    ({"command": "reject", "target": None, "params": {"proposal_id": _PROPOSAL}}, "command.target",
     "(got null, as a script sends an empty variable: to reject the proposal whatever its target, leave target out;"),
    ({"command": "status", "target": None}, "command.target",
     "(got null, as a script sends an empty variable: to read every target, leave target out; to read one target, "
     "name it,"),
    # A list of targets: "Input should be a valid string (got [...])" did not say that a command takes one.
    ({"command": "pause", "target": [SERVICE, SERVICE.replace("backend", "frontend")]}, "command.target",
     "(got a list of 2): one target per command, a string, projects/PROJECT/locations/REGION/services/SERVICE or "
     ".../connectors/CONNECTOR; for several, send one command for each, each with its own command_id"),
    ({"command": "rollback_traffic", "target": [SERVICE]}, "command.target", "(got a list of 1): one target per "
                                                                             "command"),
    ({"command": "status", "target": []}, "command.target", "(got a list of 0): one target per command"),
    # A param sent at the top level, beside or instead of params: "Field required" or "not a field" did not say
    # to move it, nor the shape.
    ({"command": "reject", "proposal_id": _PROPOSAL}, "command.params",
     f'proposal_id is a param of reject, sent at the top level: put it inside params, "params": {{"proposal_id": '
     f'"{_PROPOSAL}"}}, beside "command": "reject"'),
    ({"command": "approve", "proposal_id": _PROPOSAL, "params": {}}, "command.params.proposal_id",
     f'put it inside params, "params": {{"proposal_id": "{_PROPOSAL}"}}, beside "command": "approve"'),
    ({"command": "rollback_traffic", "target": SERVICE, "revision": "backend-00041-kux"}, "command.revision",
     'revision is a param of rollback_traffic, sent at the top level: put it inside params, "params": '
     '{"revision": "backend-00041-kux"}'),
    ({"command": "scale_connector", "target": _CONNECTOR, "max_instances": 5, "params": {"machine_type": "e2-micro"}},
     "command.max_instances", 'put it inside params, "params": {"machine_type": "e2-micro", "max_instances": 5}'),
])
def test_a_target_or_a_param_sent_in_another_shape_says_the_shape_to_send(fields, field, words):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", "reason": "r", **fields}))
    assert caught.value.field == field and words in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("sent, answered, said", [
    # A command_id sent as a JSON number was answered under no id (`readable_command_id` takes strings only): a
    # sender waiting on "42" never heard it. Its text as sent, as parsed (json.loads parse_int/parse_float).
    (b'{"command": "status", "command_id": 42}', ("42",), 'answered under its text as sent, "42"'),
    (b'{"command": "status", "command_id": 1e3}', ("1e3",), 'answered under its text as sent, "1e3"'),
    (b'{"command": "status", "command_id": 4.20}', ("4.20",), '"4.20"'),
    (b"{'command': 'status', 'command_id': 42,}", ("42",), '"42"'),   # broken by hand, read as meant
    (b'{"command": "status", "command_id": 42, "command_id": "s-1"}', ("42", "s-1"), "answered under each id"),
    # Controls: no text a command may carry, answered under none, as before.
    (b'{"command": "status", "command_id": -5}', (), ""),
    (b'{"command": "status", "command_id": true}', (), ""),
    (b'{"command": "status", "command_id": "s-1"}', ("s-1",), ""),
])
def test_a_command_id_sent_as_a_number_is_answered_under_its_text_as_sent(sent, answered, said):
    from shared.alerts.commands import sent_ids

    ids = sent_ids(sent)
    assert ids.answerable == answered and said in ids.said(), (ids.answerable, ids.said())
    assert bool(ids.said()) == bool(said)


# A required field left out was answered with pydantic's bare "Field required": the field named, nothing of what
# it takes. Every field a command requires says now what to send there, in the words its wrong form is answered
# with (the form, an example, where to find the value).
@pytest.mark.parametrize("fields, field, words", [
    ({"command": "rollback_traffic", "reason": "r"}, "command.target",
     "Field required: send target, a full service name, projects/PROJECT/locations/REGION/services/SERVICE"),
    ({"command": "restore_traffic", "reason": "r", "params": {"to_latest": True}}, "command.target",
     "Field required: send target, a full service name"),
    ({"command": "diagnose"}, "command.target", "Field required: send target, a full service name"),
    ({"command": "scale_connector", "reason": "r", "params": {"max_instances": 5}}, "command.target",
     "Field required: send target, a full connector name, projects/PROJECT/locations/REGION/connectors/CONNECTOR"),
    ({"command": "release", "reason": "r", "params": {"intent": "inc-1|17"}}, "command.target",
     "Field required: send target, a full resource name, projects/PROJECT/locations/REGION/services/SERVICE or "
     ".../connectors/CONNECTOR"),
    ({"command": "approve", "reason": "r", "params": {}}, "command.params.proposal_id",
     "Field required: send proposal_id, a proposal id as a `proposed` outcome shows it, such as p-3f9c2a1b7d40"),
    ({"command": "reject", "reason": "r", "params": {}}, "command.params.proposal_id",
     "Field required: send proposal_id, a proposal id"),
    ({"command": "release", "reason": "r", "target": SERVICE, "params": {}}, "command.params.intent",
     "Field required: send intent, an escalated plan's key, INCIDENT|MESSAGE"),
    # The key given instead still named, after what the field takes.
    ({"command": "approve", "reason": "r", "params": {"proposal": "p-3f9c2a1b7d40"}}, "command.params.proposal_id",
     "Field required (given instead: 'proposal'): send proposal_id, a proposal id"),
])
def test_a_required_field_left_out_says_what_to_send_there(fields, field, words):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", **fields}))
    assert caught.value.field == field and words in caught.value.reason, caught.value.reason


def test_a_command_id_left_out_says_what_it_is():
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command": "status", "requested_by": "a"}))
    assert caught.value.field == "command.command_id", caught.value
    assert ("Field required: send command_id, 1-128 letters, digits or . _ : @ -, starting with a letter or a digit"
            in caught.value.reason), caught.value.reason


# A string past its limit named the limit only ("String should have at most 1000 characters"): a reason pasted
# from a log, a principal pasted twice, read as though its length were fine. The length sent is said.
@pytest.mark.parametrize("fields, field, words", [
    ({"command": "pause", "reason": "x" * 60_000}, "command.reason",
     "String should have at most 1000 characters (got 60000 characters, starting "),
    ({"command": "pause", "reason": "r", "requested_by": "a" * 300}, "command.requested_by",
     "at most 254 characters (got 300 characters, starting "),
    ({"command": "release", "reason": "r", "target": SERVICE, "params": {"intent": "a|" + "b" * 1600}},
     "command.params.intent", "at most 1500 characters (got 1602 characters, starting "),
])
def test_a_string_past_its_limit_says_how_long_it_was(fields, field, words):
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps({"command_id": "x", "requested_by": "a", **fields}))
    assert caught.value.field == field and words in caught.value.reason, caught.value.reason


# A JSON number longer than Python reads one (sys.int_info.default_max_str_digits, 4300 digits: Python docs,
# "Integer string conversion length limitation") was answered with Python's own advice ("use
# sys.set_int_max_str_digits() to increase the limit"), naming neither where it was nor what to do, and its
# command_id was lost (the lenient read failed on the same number), so its sender waited on it and timed out.
LONG = "1" * 5000
LONG_NUMBER = ('{"command":"scale_connector","command_id":"sc-9","requested_by":"a","reason":"r",'
               '"target":"projects/p/locations/r/connectors/c","params":{"max_instances":' + LONG + '}}')


def test_a_number_too_long_to_read_says_where_it_is_and_keeps_the_command_id():
    from shared.alerts.commands import sent_ids

    with pytest.raises(CommandError) as caught:
        parse_command(LONG_NUMBER.encode())
    reason = caught.value.reason
    assert caught.value.field == "message.data", caught.value
    assert f"a number 5000 digits long at character {LONG_NUMBER.index(LONG) + 1}" in reason, reason
    assert "4300 digits" in reason and "sys.set_int_max_str_digits" not in reason, reason
    assert sent_ids(LONG_NUMBER.encode()).answerable == ("sc-9",)
    assert sent_ids(('{"command":"status","command_id":-' + LONG + '}').encode()).answerable == ()
