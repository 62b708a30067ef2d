"""The command-sending CLI without a network: input checks, params, help, check-config."""
from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from cli._commands import DONE, parse_params, render
from cli.main import runwarden
from shared.alerts.commands import CommandError, param_from_text

SERVICE = "projects/p/locations/us-central1/services/backend"


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(runwarden, list(args), env=env or {"RUNWARDEN_CONFIG": ""})


@pytest.mark.parametrize("name", ["command", "status", "approve", "pause", "resume", "check-config"])
def test_every_command_has_an_example_in_its_help(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0 and "Example" in result.output and "runwarden" in result.output


def test_params_are_typed_by_the_commands_own_params_model():
    assert parse_params(("max_instances=6", "machine_type=e2-micro"), "scale_connector") == \
        {"max_instances": 6, "machine_type": "e2-micro"}
    assert parse_params(("to_latest=true",), "restore_traffic") == {"to_latest": True}
    assert parse_params(("revision=backend-00001-abc",), "rollback_traffic") == {"revision": "backend-00001-abc"}


@pytest.mark.parametrize("name, pair, value", [
    # A string param stays a string whatever it spells: read as JSON, these became a number, a
    # boolean or nothing, and the command's schema refused them.
    ("restore_traffic", "action_id=1234567890", "1234567890"),
    ("restore_traffic", "action_id=true", "true"),
    ("restore_traffic", "action_id=null", "null"),
    ("restore_traffic", 'action_id="quoted"', '"quoted"'),
    ("rollback_traffic", "revision=12", "12"),
    ("approve", "proposal_id=null", "null"),
    # A key the command does not take stays text: the schema's check names the params it takes.
    ("status", "anything=3", "3"),
])
def test_a_string_param_stays_a_string(name, pair, value):
    assert parse_params((pair,), name) == {pair.partition("=")[0]: value}


def test_a_digits_only_action_id_passes_the_commands_schema():
    from cli._commands import build

    body = build("restore_traffic", target=SERVICE, params=parse_params(("action_id=1234567890",), "restore_traffic"),
                 reason="r", extra=None, requested_by="alice", dry_run=False, expires_in=None, command_id="rt-1")
    assert body["params"] == {"action_id": "1234567890"}


@pytest.mark.parametrize("name, pair, message", [
    ("scale_connector", "max_instances=six", "command.params.max_instances: 'six' is not a whole number"),
    ("scale_connector", "max_instances=6.5", "'6.5' is not a whole number"),
    ("restore_traffic", "to_latest=yes", "command.params.to_latest: 'yes' is not true or false"),
])
def test_a_param_that_cannot_be_its_declared_type_is_a_clear_error(name, pair, message):
    target = "projects/p/locations/l/connectors/c" if name == "scale_connector" else SERVICE
    result = invoke("command", name, "--target", target, "--param", pair, "--reason", "r", "--as", "alice",
                    "--topic", "projects/p/topics/c", "--no-wait")
    assert result.exit_code == 2 and message in result.output, result.output


def test_an_invalid_command_is_refused_before_anything_is_published():
    result = invoke("command", "rollback_traffic", "--target", SERVICE, "--as", "alice", "--topic",
                    "projects/p/topics/c", "--no-wait")
    assert result.exit_code == 2 and "command.reason" in result.output


@pytest.mark.parametrize("name, said", [
    ("rollbak", "'rollbak' is not a command (did you mean 'rollback_traffic'?)"),
    ("Pause", "'Pause' is not a command (did you mean 'pause'?)"),
    ("unpause", "'unpause' is not a command (to allow writes again, send 'resume')"),
    ("kill_switch", "the kill switch is engaged by 'pause' without a target and released by 'resume'"),
])
def test_a_commands_name_mistyped_is_answered_as_the_commands_topic_answers_it(name, said):
    """click's Choice said "'rollbak' is not one of …": the name it misspelt, or what to send for a reversal or
    the kill switch, went unsaid, where the same name in a message's body is answered with it."""
    result = invoke("command", name, "--reason", "r", "--as", "alice", "--topic", "projects/p/topics/c", "--no-wait")
    assert result.exit_code == 2 and said in result.output, result.output
    assert "one of diagnose, rollback_traffic" in result.output, result.output


def test_a_bad_param_is_refused():
    result = invoke("command", "scale_connector", "--target", "projects/p/locations/l/connectors/c",
                    "--param", "max_instances=42", "--reason", "r", "--as", "alice", "--topic", "projects/p/topics/c")
    assert result.exit_code == 2 and "params.max_instances" in result.output


def test_no_topic_is_a_clear_error():
    result = invoke("status", "--as", "alice")
    assert result.exit_code == 2 and "no commands topic" in result.output


def test_check_config(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("project: p\noutcomes_topic: projects/p/topics/outcomes\n")
    assert invoke("check-config", str(good)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: p\noutcomes_topic: x\nmode: sometimes\n")
    result = invoke("check-config", str(bad))
    assert result.exit_code == 2 and f"{bad}:2: outcomes_topic" in result.output and f"{bad}:3: mode" in result.output


def test_rendering_a_status_snapshot():
    text = render({"status": "reported", "reason": "kill switch off", "snapshot": {
        "kill_switch": "", "pinned": [{"service": SERVICE, "revision": "backend-00001-abc", "age_seconds": 7260}],
        "open_proposals": [{"proposal_id": "p-0123456789ab", "expires_at": "2026-11-30T12:00:00Z"}]}})
    assert "pinned: 1" in text and "backend-00001-abc, pinned 2 h 1 min" in text and "p-0123456789ab" in text
    assert "reported" in DONE and "rejected" not in DONE


def test_every_list_a_status_snapshot_holds_is_shown():
    """`runwarden status` prints each list the snapshot holds: one left out (approved proposals not yet
    settled) read as none, while the summary line counted them."""
    from shared.commands.status import Snapshot

    lists = [name for name, field in Snapshot.model_fields.items() if field.annotation == list[dict[str, Any]]]
    assert "approved_proposals" in lists and "more_than_shown" not in lists
    item = {"proposal_id": "p-0123456789ab", "target": SERVICE, "service": SERVICE, "action_id": "a-1",
            "scope": f"target|{SERVICE}", "revision": "backend-00001-abc", "age_seconds": 60}
    text = render({"status": "reported", "reason": "r", "snapshot": {name: [item] for name in lists}})
    for name in lists:
        assert f"  {name.replace('_', ' ')}: 1" in text, (name, text)


def test_a_status_shows_when_the_sweep_settles_an_approved_proposal_and_an_open_one_expired():
    text = render({"status": "reported", "reason": "r", "snapshot": {
        "approved_proposals": [{"proposal_id": "p-0123456789ab", "decided_by": "alice@example.com",
                                "settled_by_sweep_after": "2026-11-30T12:16:00Z"}],
        "open_proposals": [{"proposal_id": "p-ba9876543210", "expires_at": "2026-11-30T12:00:00Z", "expired": True}]}})
    assert "p-0123456789ab" in text and "2026-11-30T12:16:00Z" in text, text
    assert "p-ba9876543210" in text and "EXPIRED" in text, text


def test_a_status_list_cut_at_its_limit_says_so():
    text = render({"status": "reported", "reason": "r", "snapshot": {
        "pinned": [{"service": SERVICE, "revision": "backend-00001-abc", "age_seconds": 60}],
        "more_than_shown": ["pinned"]}})
    assert "  pinned: 1 (more exist: only these are listed)" in text, text


# --- inputs refused before anything is published ------------------------------------------------------

TOPICS = ("--topic", "projects/p/topics/commands", "--outcomes-topic", "projects/p/topics/outcomes")


@pytest.mark.parametrize("args, message", [
    # A topic typed as gcloud takes it (a short name): said as such, not a client's IndexError.
    (("status", "--as", "alice", "--topic", "runwarden-commands", "--outcomes-topic", "projects/p/topics/o"),
     "'runwarden-commands' is not a full topic name projects/PROJECT/topics/TOPIC"),
    (("status", "--as", "alice", "--topic", "projects/p/topics/commands", "--outcomes-topic", "runwarden-outcomes"),
     "'runwarden-outcomes' is not a full topic name"),
    # Waiting no time at all would publish, then report a timeout at once.
    (("status", "--as", "alice", "--wait", "0", *TOPICS), "--wait"),
    (("status", "--as", "alice", "--wait", "-5", *TOPICS), "--wait"),
    # Already expired, or kept longer than the command's record: the function would reject it.
    (("status", "--as", "alice", "--expires-in", "-5", *TOPICS), "--expires-in"),
    (("status", "--as", "alice", "--expires-in", str(31 * 86400), *TOPICS), "--expires-in"),
    # A key given twice: which value is meant is ambiguous (the message's own rule).
    (("command", "rollback_traffic", "--target", SERVICE, "--param", "revision=backend-00009-typ", "--param",
      "revision=backend-00001-abc", "--reason", "r", "--as", "alice", *TOPICS), "--param revision is given twice"),
    # A name Google never writes (pasted with a trailing space, capitalised): a brake on it holds nothing back.
    (("pause", "--target", "projects/p/locations/us-central1/connectors/Backend-Conn", "--reason", "r", "--as",
      "alice", *TOPICS), "command.target: holds capital letters"),
    (("command", "rollback_traffic", "--target", SERVICE + " ", "--reason", "r", "--as", "alice", *TOPICS),
     "command.target: holds a space"),
])
def test_inputs_the_cli_refuses_before_publishing(args, message):
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output, result.output


# --- exit codes -----------------------------------------------------------------------------------------

def duplicate_of(first: str, command_id: str = "rb-1") -> dict:
    from datetime import datetime

    from shared.alerts.commands import duplicate_reason

    return {"status": "skipped", "command_id": command_id,
            "reason": duplicate_reason(command_id, datetime(2026, 11, 30, 9, 1, 2), first, "why: with: colons")}


@pytest.mark.parametrize("outcome, asked_dry_run, code", [
    ({"status": "applied"}, False, 0),
    ({"status": "reported"}, False, 0),
    ({"status": "dry_run"}, True, 0),
    ({"status": "dry_run"}, False, 5),          # the config's dry-run mode held the write back
    ({"status": "rejected"}, False, 3),
    ({"status": "skipped"}, False, 5),          # kill switch, pause, cooldown, budget, the world changed
    ({"status": "escalated"}, False, 6),
    ({"status": "proposed"}, False, 6),
    ({"status": "failed"}, False, 7),
    ({"status": "something new"}, False, 6),    # a status this CLI does not know: a person looks
    (duplicate_of("applied"), False, 0),        # a resend of a command already applied: done
    (duplicate_of("skipped"), False, 5),
    (duplicate_of("rejected"), False, 3),
    (duplicate_of("applied", "rb-1") | {"command_id": "rb-2"}, False, 5),   # quoting another command: not ours
    ({"status": "skipped", "command_id": "rb-1", "reason": "duplicate: command rb-1 already made its change: x"},
     False, 0),
])
def test_the_exit_code_says_whether_the_thing_asked_happened(outcome, asked_dry_run, code):
    from cli._commands import exit_code

    assert exit_code(outcome, asked_dry_run) == code


TYPED = {"status": "skipped", "command_id": "rb-1"}


@pytest.mark.parametrize("outcome, code", [
    # The first answer's status as the outcome names it (Outcome.first_status), whatever the reason says.
    (TYPED | {"first_status": "applied", "reason": "a resend's answer in any words"}, 0),
    (TYPED | {"first_status": "reported", "reason": "…"}, 0),
    (TYPED | {"first_status": "rejected", "reason": "…"}, 3),
    (TYPED | {"first_status": "skipped", "reason": "…"}, 5),
    (duplicate_of("rejected") | {"first_status": "applied"}, 0),
    # Named as no resend's (None) by a version that names it: words quoting another answer are not read.
    (duplicate_of("applied") | {"first_status": None}, 5),
    (TYPED | {"reason": "duplicate: command rb-1 already made its change: x", "first_status": None}, 5),
    # A status this CLI does not know, named: a person looks.
    (TYPED | {"first_status": "something new", "reason": "…"}, 6),
])
def test_a_resends_exit_code_is_its_first_answers_status_as_the_outcome_names_it(outcome, code):
    from cli._commands import exit_code

    assert exit_code(outcome, asked_dry_run=False) == code


def test_a_refusal_names_the_permission_the_call_needs():
    from google.api_core.exceptions import PermissionDenied

    from cli._commands import Topics, _explain

    topics = Topics("projects/p/topics/commands", "projects/p/topics/outcomes")
    denied = PermissionDenied("User not authorized to perform this action.")
    assert "pubsub.topics.publish on the commands topic projects/p/topics/commands" in _explain("publish", denied,
                                                                                                 topics)
    said = _explain("create_subscription", denied, topics)
    assert "pubsub.subscriptions.create on project p" in said
    assert "pubsub.topics.attachSubscription on the outcomes topic projects/p/topics/outcomes" in said


def test_a_blank_reason_is_said_plainly():
    result = invoke("pause", "--reason", "   ", "--as", "alice", *TOPICS)
    assert result.exit_code == 2 and "command.reason: '   ' is blank" in result.output and "not not" not in result.output


def test_an_outcome_shown_in_a_terminal_sends_no_control_character():
    """An outcome's text comes from whoever published a command (a pause's reason and requester, shown
    by every later `runwarden status`) and from logs and alerts (a diagnosis, a policy's name). It was
    printed as it came: an ESC sequence in a pause's reason cleared another operator's screen, retitled
    the window or wrote their clipboard (OSC 52), and a bidi override reordered who paused what. Each
    control and bidi character is shown as its escape, as the timeline's text output does."""
    def shown(hostile: str) -> str:
        return render({"status": "applied", "reason": f"every target paused (by mallory: {hostile})",
                       "target": SERVICE, "notes": [hostile],
                       "diagnosis": {"signature": "bad_revision", "confidence": 0.9, "summary": hostile},
                       "snapshot": {"paused": [{"target": SERVICE, "reason": hostile}]}})

    text = shown("\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202eevil\rover")
    assert not any(c in text for c in "\x1b\x07\u202e\r"), text
    assert "\\x1b]52;c;" in text and "\\u202e" in text and "\\r" in text
    assert len(text.splitlines()) == len(shown("plain").splitlines())


# What only an operator may ask for, as an operator reads it in the help: each with the flag that sets
# requested_by. The one a person misses most: a manual scale_connector of a connector whose policy lacks
# allow_one_way (docs/commands.md, "Who may do what").
@pytest.mark.parametrize("args, said", [
    (("command", "--help"), ("scale_connector", "allow_one_way", "operators", "--as", "requested_by")),
    (("command", "--help"), ("approve", "reject", "release", "override_limits")),
    (("approve", "--help"), ("operators", "--as")),
])
def test_the_help_says_who_may_send_what_and_how_requested_by_is_set(args, said):
    text = " ".join(invoke(*args).output.split())
    assert [word for word in said if word not in text] == [], text
    assert "lacks allow_one_way" in text or args[0] != "command", text


def _read_by_json(fields: dict) -> bool:
    from shared.alerts.commands import CommandError, parse_command

    try:
        parse_command(json.dumps(fields))
    except CommandError:
        return False
    return True


def _read_by_cli(pair: str, name: str) -> bool:
    try:
        parse_params((pair,), name)
    except SystemExit:
        return False
    return True


APPROVE = {"command": "approve", "command_id": "a-1", "requested_by": "alice", "reason": "r"}
SCALE = {"command": "scale_connector", "command_id": "s-1", "requested_by": "alice", "reason": "r",
         "target": "projects/p/locations/us-central1/connectors/backend-conn"}


def _as_json(text: str) -> object:
    """`text` as the JSON value it is, or the string it is when it is no JSON value ("TRUE", "06")."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@pytest.mark.parametrize("text", ["true", "false", "TRUE", "True", "FALSE", " true", "true ", "yes", "1", "0", "on"])
def test_a_flag_given_to_the_cli_is_read_as_the_message_s_json_reads_it(text):
    """`--param to_latest=TRUE` was read as true while the same command's JSON, "to_latest": "TRUE" (or TRUE, no
    JSON at all), was refused: one command read two ways by how it was sent."""
    sent = {**APPROVE, "params": {"proposal_id": "p-0123456789ab", "accept_unread_peers": _as_json(text)}}
    assert _read_by_cli(f"accept_unread_peers={text}", "approve") == _read_by_json(sent), text


@pytest.mark.parametrize("text", ["6", "06", " 6", "6 ", "6.0", "+6", "6%", "0x6", "６"])
def test_a_whole_number_given_to_the_cli_is_read_as_the_message_s_json_reads_it(text):
    sent = {**SCALE, "params": {"max_instances": _as_json(text)}}
    assert _read_by_cli(f"max_instances={text}", "scale_connector") == _read_by_json(sent), text


@pytest.mark.parametrize("text, key, command", [("6\u00a0", "max_instances", "scale_connector"),
                                                ("\u30006", "max_instances", "scale_connector"),
                                                ("true\u00a0", "accept_unread_peers", "approve"),
                                                ("true\u3000", "accept_unread_peers", "approve")])
def test_only_the_whitespace_json_allows_around_a_value_is_passed_over(text, key, command):
    """RFC 8259 §2 allows space, tab, line feed and carriage return around a value; the message's JSON refuses a
    no-break or an ideographic space there, and the CLI read them as the value (str.strip() strips every Unicode
    space)."""
    with pytest.raises(CommandError):
        param_from_text(command, key, text)


@pytest.mark.parametrize("text, meant", [("TRUE", "true"), ("True", "true"), ("FALSE", "false"),
                                         ("yes", "true"), ("0", "false")])
def test_a_flag_in_another_spelling_is_refused_naming_the_flag_meant(text, meant, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_params((f"to_latest={text}",), "restore_traffic")
    said = capsys.readouterr().err
    assert exited.value.code == 2 and f"command.params.to_latest: {text!r} is not true or false" in said, said
    assert f"if {meant} is meant, write to_latest={meant}" in said and "nothing was sent" in said, said


@pytest.mark.parametrize("text", ["06", " 06", "6.0"])
def test_a_whole_number_as_json_never_writes_it_is_refused_naming_the_number(text, capsys):
    with pytest.raises(SystemExit):
        parse_params((f"max_instances={text}",), "scale_connector")
    assert "write max_instances=6; nothing was sent" in capsys.readouterr().err


def test_a_pull_whose_transient_retry_ran_out_within_its_slice_is_pulled_again_until_the_wait_ends():
    """Each pull's retry of UNAVAILABLE is bounded to its slice of the wait (at most 10 s, so an interrupt ends the
    CLI promptly): running out raises api_core's RetryError, which the wait outlasts as it outlasted the client's
    own 60 s before; a refusal ends it."""
    from google.api_core import exceptions as api

    from cli._commands import pulled_again

    unavailable = api.ServiceUnavailable("connection refused")
    assert pulled_again(api.RetryError("Timeout of 1.0s exceeded", unavailable))
    assert pulled_again(api.DeadlineExceeded("pull timed out"))
    assert not pulled_again(api.NotFound("Subscription does not exist"))
    assert not pulled_again(api.PermissionDenied("denied"))
    assert not pulled_again(None)
