"""A command's body that is JSON but no object, and a value outside a fixed list (a connector's machine type, the
schema): each answered in JSON's and the operator's words, with what was sent and what to send. Pure: the body
through `parse_command`, no I/O."""
from __future__ import annotations

import json
from typing import Any

import pytest

from shared.alerts.commands import CommandError, parse_command

CONNECTOR = "projects/my-project/locations/us-central1/connectors/backend-conn"
SENT = {"command_id": "c-1", "requested_by": "alice@example.com", "reason": "INC-7"}


def _refusal(body: str) -> str:
    with pytest.raises(CommandError) as refused:
        parse_command(body)
    return str(refused.value)


def _machine(value: Any) -> str:
    return json.dumps({**SENT, "command": "scale_connector", "target": CONNECTOR, "params": {"machine_type": value}})


# (the machine_type sent, what the answer must say, what it must not)
MACHINE_TYPES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "in capitals": ("E2-MICRO", ("got 'E2-MICRO'", "did you mean 'e2-micro'?"), ()),
    "with '_' for '-'": ("e2_micro", ("got 'e2_micro'", "did you mean 'e2-micro'?"), ()),
    "with spaces around it": (" e2-standard-4 ", ("did you mean 'e2-standard-4'?",), ()),
    "a letter's typo": ("e2-standad-4", ("got 'e2-standad-4'", "did you mean 'e2-standard-4'?"), ()),
    # Another size is never guessed at: e2-standard-8 is no typo of e2-standard-4.
    "another size of the same family": ("e2-standard-8", ("got 'e2-standard-8'", "one of these three"),
                                        ("did you mean",)),
    "a smaller size of the same family": ("e2-standard-2", ("got 'e2-standard-2'",), ("did you mean",)),
    "another family": ("n1-standard-4", ("got 'n1-standard-4'",), ("did you mean",)),
    "a Compute Engine type no connector runs on": ("e2-small", ("got 'e2-small'",), ("did you mean",)),
    "a number": (4, ("got 4, a JSON number",), ("did you mean",)),
}


@pytest.mark.parametrize("value, said, unsaid", MACHINE_TYPES.values(), ids=MACHINE_TYPES.keys())
def test_a_machine_type_outside_the_list_says_what_was_sent_and_names_only_the_one_it_spells(value, said, unsaid):
    reason = _refusal(_machine(value))
    assert reason.startswith("command.params.machine_type: Input should be 'f1-micro', 'e2-micro' or 'e2-standard-4'")
    assert [words for words in said if words not in reason] == [], reason
    assert [words for words in unsaid if words in reason] == [], reason


def test_a_schema_of_another_version_says_which_was_sent_and_which_is_read():
    reason = _refusal(json.dumps({**SENT, "command": "pause", "schema": "runwarden.command/v2"}))
    assert "got 'runwarden.command/v2'" in reason and "reads runwarden.command/v1 only" in reason, reason


# (the body, what the answer must say)
NOT_OBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "an array of commands": (json.dumps([{"command": "pause"}, {"command": "resume"}]),
                             ("got an array of 2 holding 2 command(s) ('pause', 'resume')", "one command per message")),
    "an empty array": ("[]", ("got an array of 0",)),
    "null": ("null", ("got null;",)),
    "a number": ("42", ("got a number, 42",)),
    "a boolean": ("true", ("got a boolean, true",)),
    "a command's bare name": ('"pause"', ("got a string", '{"command": "pause", "command_id": …')),
    "a string of prose": ('"hello"', ("got a string, \"hello\"",)),
}


@pytest.mark.parametrize("body, said", NOT_OBJECTS.values(), ids=NOT_OBJECTS.keys())
def test_a_body_that_is_no_object_is_named_in_jsons_words(body, said):
    reason = _refusal(body)
    assert reason.startswith("command: expected a JSON object"), reason
    assert [words for words in said if words not in reason] == [], reason
    # Python's names for JSON's types ("got list", "got NoneType") are not what the sender sent.
    assert not any(f"got {python}" in reason for python in ("list", "NoneType", "int", "str", "bool", "float")), reason


SERVICE = "projects/my-project/locations/us-central1/services/backend"

# (the body's command, target and params, and any field beside them; what the answer must say)
NUMBERS_AND_SHARES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "a share of traffic beside the revision": (
        {"command": "rollback_traffic", "target": SERVICE, "params": {"revision": "backend-00001-abc", "percent": 50}},
        ("'percent' is not a param of rollback_traffic", "no command sends part of a service's traffic",
         "sends 100% to one revision", "gcloud run services update-traffic")),
    "a share of traffic, camel case": (
        {"command": "rollback_traffic", "target": SERVICE, "params": {"trafficPercent": "50%"}},
        ("no command sends part of a service's traffic",)),
    "a split asked of a restore": (
        {"command": "restore_traffic", "target": SERVICE, "params": {"to_latest": True, "split": {"a": 50}}},
        ("'split' is not a param of restore_traffic", "no command sends part of a service's traffic")),
    "max_instances as a percent": (
        {"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": "50%"}},
        ("got the string '50%'", "a percent is taken nowhere", "3 to 10")),
    "max_instances as a change": (
        {"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": "+2"}},
        ("got the string '+2'", "a change to the value is taken nowhere", "send the new value itself")),
    "max_instances as a whole number's decimal text": (
        {"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": "6.0"}},
        ("got the string '6.0': send 6, without quotes",)),
    "a flag as 1": (
        {"command": "rollback_traffic", "target": SERVICE, "override_limits": 1},
        ("command.override_limits", "got 1, a JSON number: send true, a JSON boolean")),
    "a flag as 0": (
        {"command": "restore_traffic", "target": SERVICE, "params": {"to_latest": 0}},
        ("command.params.to_latest", "got 0, a JSON number: send false, a JSON boolean")),
}


@pytest.mark.parametrize("body, said", NUMBERS_AND_SHARES.values(), ids=NUMBERS_AND_SHARES.keys())
def test_a_share_a_percent_a_change_or_a_flag_as_a_number_says_what_to_send(body, said):
    reason = _refusal(json.dumps({**SENT, **body}))
    assert [words for words in said if words not in reason] == [], reason


def test_a_body_past_64_kib_says_how_long_it_was_and_how_long_a_command_is():
    reason = _refusal(json.dumps({**SENT, "command": "pause", "reason": "x" * 70_000}))
    assert reason.startswith("message.data: 70,"), reason
    assert "more than a command's 65,536 (64 KiB)" in reason and "nothing was run" in reason, reason


def _event(body: bytes, attributes: dict[str, str]) -> dict[str, Any]:
    import base64
    return {"message": {"data": base64.b64encode(body).decode(), "attributes": attributes, "messageId": "m-1"}}


# (the body, the attributes, the ids the refusal is answered under)
ANSWERED_UNDER: dict[str, tuple[bytes, dict[str, str], tuple[str, ...]]] = {
    "attributes alone": (b"", {"command": "pause", "command_id": "x-1"}, ("x-1",)),
    "a body without command_id": (b'{"command": "pause"}', {"command_id": "x-2"}, ("x-2",)),
    "a body of another id": (b'{"command": "pause", "command_id": "b-1"}', {"command_id": "x-3"}, ("b-1",)),
    "an attribute no command may carry": (b"", {"command_id": "two words"}, ()),
}


@pytest.mark.parametrize("body, attributes, answered", ANSWERED_UNDER.values(), ids=ANSWERED_UNDER.keys())
def test_a_refusal_is_answered_under_the_attributes_command_id_only_when_the_body_gives_none(body, attributes,
                                                                                            answered):
    from shared.alerts.commands import sent_ids, sent_or_attribute_ids

    ids = sent_or_attribute_ids(sent_ids(body), _event(body, attributes))
    assert ids.answerable == answered
    assert ("answered under it" in ids.said()) == (answered != () and answered[0].startswith("x-")), ids.said()


# (a body broken by hand or by the shell, what the answer must say)
BROKEN: dict[str, tuple[str, tuple[str, ...]]] = {
    "cut short after a comma": ('{"command": "pause",', ("the body ends at character 20 before its JSON does",
                                                         "1 '}' missing", "cut short")),
    "cut short before the closing brace": ('{"command": "pause"', ("the body ends at character 19", "cut short")),
    "cut short inside a string": ('{"command": "pause", "reason": "don', ("the string opened at character 31 never "
                                                                         "closes", "apostrophe")),
    "a key without quotes": ('{command: "pause"}', ("a key without quotes (command) at character 1",)),
    "every quote removed by the shell": ("{command:pause,command_id:p-1}",
                                         ("a key without quotes (command)", "the shell removed them",
                                          "--message '{\"command\": …}'")),
    "a value without quotes": ('{"command": pause}', ("a value without quotes (pause) at character 12",)),
    "a flag in capitals": ('{"command": "pause", "dry_run": True}', ("'True' at character 32 is no JSON value",
                                                                      "true and false")),
    "a flag cut short": ('{"command": "pause", "dry_run": tru}', ("'tru' at character 32 is no JSON value",)),
    "a comma missing": ('{"command": "pause" "reason": "x"}', ("a comma missing before character 20",)),
}


@pytest.mark.parametrize("body, said", BROKEN.values(), ids=BROKEN.keys())
def test_a_body_broken_by_hand_or_by_the_shell_says_what_and_where(body, said):
    reason = _refusal(body)
    assert reason.startswith("message.data: not JSON: "), reason
    assert [words for words in said if words not in reason] == [], reason
