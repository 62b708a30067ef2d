"""Commands as an SRE types them by hand into `gcloud pubsub topics publish --message '…'`: the shell's and
the editor's mistakes, and values of the wrong type. Each is refused naming the mistake, under the
command_id its sender waits on whenever the body gives one, and nothing runs: a body repaired to read its
id is never run. Through the real entry point (`handle_command` on a Pub/Sub push's data), on in-process
parts (tests/property/fast.py)."""
from __future__ import annotations

import itertools
import json

import pytest

from shared.alerts.commands import CommandError, parse_command
from shared.commands import handle_command
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import SERVICE, event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

OPERATOR = "alice@example.com"
_messages = itertools.count(1)

GOOD = '{"command":"pause","command_id":"pz-7","requested_by":"alice@example.com","reason":"INC-7 migration"}'

# (the body as sent, the command_id it gives, what the answer must name)
NOT_JSON = {
    "trailing comma": (GOOD[:-1] + ",}", "pz-7", "a comma before '}' at character"),
    "trailing comma in params": (
        '{"command":"scale_connector","command_id":"sc-2","requested_by":"a@b.c","reason":"r",'
        '"params":{"max_instances":6,},"target":"' + CONNECTOR + '"}', "sc-2", "a comma before '}' at character"),
    "trailing comma, CRLF": ('{\r\n "command": "status",\r\n "command_id": "st-4",\r\n "requested_by": "a@b.c",\r\n}\r\n',
                             "st-4", "a comma before '}' at character"),
    "single quotes": (GOOD.replace('"', "'"), "pz-7", "a single quote (') at character 1"),
    "single quotes, one value": (GOOD.replace('"INC-7 migration"', "'INC-7 migration'"), "pz-7",
                                 "a single quote (') at character"),
    "wrapped in the shell's quotes": ("'" + GOOD + "'", "pz-7", "the whole body is wrapped in quotes (')"),
    "wrapped in double quotes": ('"' + GOOD.replace('"', '\\"') + '"', "pz-7",
                                 "the whole body is wrapped in quotes (\")"),
    "typographic quotes": (GOOD.replace('"', "\u201c", 1).replace('"', "\u201d", 1), "pz-7",
                           "a typographic quote ('\u201c') at character 1"),
    "a line break in a string": (GOOD.replace("INC-7 migration", "INC-7\nmigration"), "pz-7",
                                 "a line break inside a string at character"),
    "a second object": (GOOD + '\n{"command":"status"}', "pz-7", "after the command's closing '}'"),
}


def _world() -> FastWorld:
    return FastWorld(seeded_copy("connector_saturation", None), ANCHOR, operators=[OPERATOR],
                     bounds={"connectors": [{"name": CONNECTOR}]})


def _deliver(w: FastWorld, body: bytes, attributes: dict[str, str] | None = None):
    data = event(body, f"m-{next(_messages)}")
    if attributes:
        data["message"]["attributes"] = attributes
    return handle_command(data, w.config, w.adapters)


@pytest.mark.parametrize("body, command_id, said", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_body_the_shell_or_an_editor_broke_is_refused_naming_the_mistake_under_its_id(body, command_id, said):
    w = _world()
    [outcome] = _deliver(w, body.encode())
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert outcome.reason.startswith("malformed command: message.data: "), outcome.reason
    assert said in outcome.reason, outcome.reason
    assert outcome.command_id == command_id, outcome.reason   # its sender waits on it (the CLI filters on it)
    assert outcome.received is not None and outcome.received.data == body   # kept as it came, never repaired
    assert w.state.get_record("runwarden_flags", "kill_switch") is None and w.writes() == 0


@pytest.mark.parametrize("body, command_id, said", [NOT_JSON["trailing comma"], NOT_JSON["single quotes"]],
                         ids=["trailing comma", "single quotes"])
def test_a_broken_command_on_the_alerts_topic_is_answered_under_its_id_too(body, command_id, said):
    """The topics swapped as well: on_alert reads the body as on_command does, so its sender hears."""
    w = _world()
    outcome = handle_alert(event(body.encode(), "m-a"), w.config, w.adapters)
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == command_id, outcome.reason
    assert said in outcome.reason and "publish it to the commands topic" in outcome.reason, outcome.reason


def test_a_broken_body_is_never_run_even_when_it_could_be_repaired():
    """Precision: the repair only reads the id; the command itself is refused and the pause is not taken."""
    with pytest.raises(CommandError) as refused:
        parse_command(NOT_JSON["trailing comma"][0])
    assert refused.value.field == "message.data"


@pytest.mark.parametrize("params, said", [
    ({"max_instances": "10"}, "got the string '10': send 10, without quotes"),
    ({"max_instances": "six"}, "got the string 'six'"),
    ({"max_instances": 6.0}, "got 6.0: send a whole number, 6"),
    # A number out of range is never named as the one to send: the next attempt would be refused for its range.
    ({"max_instances": 1e9}, "got 1000000000.0, and the whole number 1000000000 is refused too: VPC Access allows at "
                             "most 10 instances"),
    ({"max_instances": "50"}, "got the string '50', and 50 without quotes is refused too: VPC Access allows at most "
                              "10 instances"),
    ({"max_instances": 6.5}, "got 6.5"),
    ({"max_instances": True}, "got true"),
])
def test_a_param_of_the_wrong_type_says_what_was_sent_and_what_to_send(params, said):
    w = _world()
    body = {"command": "scale_connector", "command_id": "sc-9", "requested_by": OPERATOR, "reason": "r",
            "target": CONNECTOR, "params": params}
    [outcome] = _deliver(w, json.dumps(body).encode())
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "sc-9", outcome.reason
    assert outcome.reason.startswith("malformed command: command.params.max_instances: "), outcome.reason
    assert said in outcome.reason, outcome.reason
    assert w.writes() == 0


@pytest.mark.parametrize("field, value, said", [
    ("dry_run", "true", "got the string 'true': send true, without quotes"),
    ("override_limits", "false", "got the string 'false': send false, without quotes"),
    ("dry_run", 1, "got 1"),
])
def test_a_flag_of_the_wrong_type_says_what_was_sent_and_what_to_send(field, value, said):
    w = _world()
    body = {"command": "rollback_traffic", "command_id": "rb-9", "requested_by": OPERATOR, "reason": "r",
            "target": SERVICE, field: value}
    [outcome] = _deliver(w, json.dumps(body).encode())
    assert outcome.status is OutcomeStatus.REJECTED and said in outcome.reason, outcome.reason
    assert w.writes() == 0


def test_a_byte_order_mark_and_crlf_line_ends_are_read_past():
    """What Notepad saves and `gcloud … --message "$(cat cmd.json)"` sends: still the command."""
    w = _world()
    body = b"\xef\xbb\xbf" + GOOD.replace(",", ",\r\n").encode() + b"\r\n"
    [outcome] = _deliver(w, body)
    assert outcome.status is OutcomeStatus.APPLIED and outcome.command_id == "pz-7", outcome.reason


@pytest.mark.parametrize("revision, said", [
    (SERVICE + "/revisions/backend-00001-abc", "is the revision's full name: write its short name, 'backend-00001-abc'"),
    ("projects/demo-project/locations/us-central1/revisions/backend-00001-abc",
     "is the revision's full name: write its short name, 'backend-00001-abc'"),
    ("backend-00001-abc ", "has spaces around it: write 'backend-00001-abc'"),
])
def test_a_revision_copied_with_its_full_name_or_spaces_says_what_to_write(revision, said):
    """The console and `gcloud run revisions describe` show a revision's full name; the command takes its
    short name (`Revision.name`'s last segment, google/cloud/run/v2/revision.proto)."""
    w = _world()
    body = {"command": "rollback_traffic", "command_id": "rb-5", "requested_by": OPERATOR, "reason": "r",
            "target": SERVICE, "params": {"revision": revision}}
    [outcome] = _deliver(w, json.dumps(body).encode())
    assert outcome.status is OutcomeStatus.REJECTED and said in outcome.reason, outcome.reason
    assert w.writes() == 0


@pytest.mark.parametrize("expires_at, utc", [
    ("2026-11-26T12:10:00+01:00", "2026-11-26T11:10:00+00:00"),   # a local time: 12:10 read beside 12:02 UTC
    ("2026-11-26T06:30:00-05:00", "2026-11-26T11:30:00+00:00"),
])
def test_an_expiry_sent_in_local_time_is_told_in_utc_beside_the_arrival(expires_at, utc):
    w = _world()
    body = {"command": "pause", "command_id": "pz-9", "requested_by": OPERATOR, "reason": "r", "expires_at": expires_at}
    [outcome] = _deliver(w, json.dumps(body).encode())
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert f"expired at {utc} ({expires_at} as sent)" in outcome.reason, outcome.reason
    assert "arrived at 2026-11-26T12:02:00+00:00" in outcome.reason, outcome.reason


@pytest.mark.parametrize("broken", ["trailing comma", "single quotes", "wrapped in the shell's quotes"])
def test_the_body_corrected_under_the_same_id_runs_once(broken):
    """A refused body decided nothing and recorded nothing: its sender fixes the typo and sends it again
    under the same id, and it runs, once; a resend of the corrected one is its duplicate."""
    w = _world()
    [refused] = _deliver(w, NOT_JSON[broken][0].encode())
    assert refused.status is OutcomeStatus.REJECTED and refused.command_id == "pz-7"
    [fixed] = _deliver(w, GOOD.encode())
    assert fixed.status is OutcomeStatus.APPLIED, fixed.reason
    [again] = _deliver(w, GOOD.encode())
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate"), again.reason


# Only a lower-case id matches PROPOSAL_ID_PATTERN, so only such an id can name a proposal: the same id
# typed in capitals names that one and no other, and the answer can say which (never acting on it).
# Anything that is not such an id once lower-cased is not offered as one.
@pytest.mark.parametrize("command, proposal_id, meant", [
    ("approve", "P-3F9C2A1B7D40", "p-3f9c2a1b7d40"),
    ("reject", "P-3F9C2A1B7D40", "p-3f9c2a1b7d40"),
    ("approve", "p-3F9C2A1B7D40", "p-3f9c2a1b7d40"),
    ("approve", "P-0a1b2c3d4e5f", "p-0a1b2c3d4e5f"),
    ("reject", "p-00000000ABCD", "p-00000000abcd"),
    ("approve", " P-3F9C2A1B7D40 ", "p-3f9c2a1b7d40"),
    ("approve", " p-3f9c2a1b7d40", "p-3f9c2a1b7d40"),
    ("approve", "P-3F9C2A1B7D4", None),       # a digit short: no id it could be
    ("approve", "P-3G9C2A1B7D40", None),      # G is no hex digit
    ("approve", "Q-3F9C2A1B7D40", None),
])
def test_a_proposal_id_in_capitals_is_answered_with_the_id_it_names_and_nothing_runs(command, proposal_id, meant):
    w = _world()
    body = {"command": command, "command_id": "ap-3", "requested_by": OPERATOR, "reason": "r",
            "params": {"proposal_id": proposal_id}}
    [outcome] = _deliver(w, json.dumps(body).encode())
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "ap-3", outcome.reason
    assert "such as p-3f9c2a1b7d40" in outcome.reason, outcome.reason
    if meant:
        assert f"did you mean {meant!r}? send it again with that id" in outcome.reason, outcome.reason
    else:
        assert "did you mean" not in outcome.reason, outcome.reason
    assert w.writes() == 0
