"""Hand-typed values no JSON type fits: a field sent as null (a script's empty variable), a flag sent as text ("yes",
"1", "TRUE"), a command_id with a space or a byte order mark around it or copied from the timeline's label
(`command:ID`), several commands in one array, a target by its short name, a CLI param's "+5". Each is refused naming
the field, what was sent and what is taken, and answered under the id its sender waits on; none is read as a guess
that acts. Pure rows through `parse_command` and `sent_ids`; the rows that act through `handle_command` on in-process
parts (tests/property/fast.py), as tests/unit/test_command_mistakes.py does."""
from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest

from shared.alerts.commands import CommandError, param_from_text, parse_command, sent_ids

SERVICE = "projects/my-project/locations/us-central1/services/backend"
CONNECTOR = "projects/my-project/locations/us-central1/connectors/backend-conn"
SENT = {"command_id": "c-1", "requested_by": "alice@example.com", "reason": "INC-7"}
ROLLBACK = {"command": "rollback_traffic", "target": SERVICE}
RESTORE = {"command": "restore_traffic", "target": SERVICE}
SCALE = {"command": "scale_connector", "target": CONNECTOR}
APPROVE = {"command": "approve", "params": {"proposal_id": "p-0123456789ab"}}


def _refusal(body: dict[str, Any]) -> str:
    with pytest.raises(CommandError) as refused:
        parse_command(json.dumps({**SENT, **body}))
    return str(refused.value)


# (the body, the field named, what the answer must say). Null is what a script sends for an empty variable
# ("revision": $REV): read as left out, a rollback meant for one revision went to the one diagnosis chose, a scale
# meant to change the machine type changed max_instances alone, an expires_at meant as a deadline set none.
NULLS: dict[str, tuple[dict[str, Any], str, tuple[str, ...]]] = {
    "a rollback's revision": ({**ROLLBACK, "params": {"revision": None}}, "command.params.revision",
                              ("got null", "leave revision out", "send its short name")),
    "a restore's action_id beside to_latest": ({**RESTORE, "params": {"action_id": None, "to_latest": True}},
                                               "command.params.action_id", ("got null", "to_latest: true")),
    "a scale's machine_type beside max_instances": (
        {**SCALE, "params": {"max_instances": 5, "machine_type": None}}, "command.params.machine_type",
        ("got null", "leave machine_type out", "'f1-micro', 'e2-micro', 'e2-standard-4'")),
    "a scale's max_instances beside machine_type": (
        {**SCALE, "params": {"max_instances": None, "machine_type": "e2-standard-4"}}, "command.params.max_instances",
        ("got null", "leave max_instances out", "from 3 to 10")),
    "expires_at": ({"command": "pause", "expires_at": None}, "command.expires_at",
                   ("got null", "leave expires_at out", "RFC 3339")),
    "dry_run": ({**SCALE, "params": {"max_instances": 5}, "dry_run": None}, "command.dry_run",
                ("got null", "a JSON boolean", "leave dry_run out for false")),
    "override_limits": ({**ROLLBACK, "override_limits": None}, "command.override_limits",
                        ("got null", "leave override_limits out for false")),
    "accept_unread_peers": ({**APPROVE, "params": {**APPROVE["params"], "accept_unread_peers": None}},
                            "command.params.accept_unread_peers", ("got null", "leave accept_unread_peers out")),
}


@pytest.mark.parametrize("body, field, said", NULLS.values(), ids=NULLS.keys())
def test_a_field_sent_as_null_is_refused_saying_what_leaving_it_out_does(body, field, said):
    reason = _refusal(body)
    assert reason.startswith(f"{field}: "), reason
    assert [words for words in said if words not in reason] == [], reason
    assert "nothing was done" in reason, reason


# (the body's flag as sent, the JSON boolean it reads as, if any, and what it would widen). Never read as a flag:
# override_limits, to_latest and accept_unread_peers widen what a command does; dry_run only narrows, and is read as
# strictly, since a lenient reading would take "no" as false, which writes.
FLAG_TEXTS: dict[str, tuple[dict[str, Any], str, str | None, str]] = {
    "dry_run 'yes'": ({**SCALE, "params": {"max_instances": 5}, "dry_run": "yes"}, "command.dry_run", "true",
                      "'no' as false, which writes"),
    "dry_run '1'": ({**SCALE, "params": {"max_instances": 5}, "dry_run": "1"}, "command.dry_run", "true",
                    "read as strictly as every flag"),
    "dry_run 'no'": ({**SCALE, "params": {"max_instances": 5}, "dry_run": "no"}, "command.dry_run", "false",
                     "'no' as false, which writes"),
    "override_limits 'yes'": ({**ROLLBACK, "override_limits": "yes"}, "command.override_limits", "true",
                              "sets aside the cooldown and the budgets"),
    "override_limits 'TRUE'": ({**ROLLBACK, "override_limits": "TRUE"}, "command.override_limits", "true",
                               "sets aside the cooldown and the budgets"),
    "override_limits 'on'": ({**ROLLBACK, "override_limits": "on"}, "command.override_limits", "true",
                             "sets aside the cooldown and the budgets"),
    "to_latest 'yes'": ({**RESTORE, "params": {"to_latest": "yes"}}, "command.params.to_latest", "true",
                        "sends 100% of the service's traffic to LATEST"),
    "accept_unread_peers '1'": ({**APPROVE, "params": {**APPROVE["params"], "accept_unread_peers": "1"}},
                                "command.params.accept_unread_peers", "true", "without the peers read again"),
    "override_limits 'sure'": ({**ROLLBACK, "override_limits": "sure"}, "command.override_limits", None,
                               "sets aside the cooldown and the budgets"),
}


@pytest.mark.parametrize("body, field, meant, why", FLAG_TEXTS.values(), ids=FLAG_TEXTS.keys())
def test_a_flag_sent_as_text_is_never_read_and_the_answer_says_which_boolean_to_send(body, field, meant, why):
    reason = _refusal(body)
    assert reason.startswith(f"{field}: "), reason
    sent = next(v for v in (body.get("dry_run"), body.get("override_limits"),
                            *(body.get("params") or {}).values()) if isinstance(v, str) and not v.startswith("p-"))
    said = (f"got the string {sent!r}, not a JSON boolean", "no text is read as one", why,
            f"if {meant} is meant, send {meant}" if meant else "send true or false")
    assert [words for words in said if words not in reason] == [], reason


# (the command_id as sent, the id its refusal is answered under, what the answer must say)
IDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "a trailing space": ("rb-7 ", "rb-7", ("has spaces around it", "command_id 'rb-7'")),
    "a leading byte order mark": ("\ufeffrb-7", "rb-7", ("a byte order mark (U+FEFF) around it", "command_id 'rb-7'")),
    "a trailing line break": ("rb-7\n", "rb-7", ("around it", "command_id 'rb-7'")),
}


@pytest.mark.parametrize("sent, answered, said", IDS.values(), ids=IDS.keys())
def test_a_command_id_with_something_around_it_is_refused_and_answered_under_the_id_inside(sent, answered, said):
    body = json.dumps({**SENT, "command": "pause", "command_id": sent})
    with pytest.raises(CommandError) as refused:
        parse_command(body)
    reason = str(refused.value)
    assert reason.startswith("command.command_id: "), reason
    assert [words for words in said if words not in reason] == [], reason
    ids = sent_ids(body)
    assert ids.answerable == (answered,)
    assert f"answered under command_id '{answered}'" in ids.said(), ids.said()


def test_a_command_id_copied_from_the_timelines_label_is_refused_naming_the_id_it_labels():
    """`runwarden timeline command:rb-1` shows a manual action's writes under `command:rb-1`; a resend meant to hear
    rb-1's answer under that label was a new id, and ran the command a second time."""
    reason = _refusal({**ROLLBACK, "command_id": "command:rb-1"})
    assert reason.startswith("command.command_id: 'command:rb-1' is the label the timeline gives command 'rb-1'"), \
        reason
    assert "send it with command_id 'rb-1'" in reason and "nothing was run" in reason, reason


def test_the_timelines_label_retyped_with_a_capital_is_refused_too():
    reason = _refusal({**ROLLBACK, "command_id": "Command:rb-1"})
    assert "is the label the timeline gives command 'rb-1'" in reason, reason


@pytest.mark.parametrize("given, said", [
    ('"bad id!"', ""),                                               # no id a command may carry: answered under none
    ("42", 'command_id was sent as a JSON number (42): answered under its text as sent, "42"'),
])
def test_an_array_whose_ids_none_can_carry_never_says_it_was_answered_under_them(given, said):
    ids = sent_ids(f'[{{"command": "pause", "command_id": {given}}}]')
    assert "answered under each" not in ids.said() or ids.answerable, ids.said()
    assert said in ids.said(), ids.said()


def test_an_array_of_commands_is_answered_under_each_command_id_it_holds():
    body = json.dumps([{**SENT, "command": "pause", "command_id": "a-1"},
                       {**SENT, "command": "resume", "command_id": "a-2"}, {"command": "status"}])
    ids = sent_ids(body)
    assert ids.answerable == ("a-1", "a-2")
    assert "the array's commands give command_id 'a-1', 'a-2': answered under each" in ids.said(), ids.said()
    # Two different ids in one array are two senders, not one id given twice.
    assert "ambiguous" not in ids.said(), ids.said()


@pytest.mark.parametrize("text, said", [("+5", "a change to the value is taken nowhere"),
                                        ("50%", "a percent is taken nowhere")], ids=["a change", "a percent"])
def test_a_cli_param_written_as_a_change_or_a_percent_is_refused_not_read_as_the_value(text, said):
    """`--param max_instances=+5` was read as 5, a scale to five instances for "five more"."""
    with pytest.raises(CommandError) as refused:
        param_from_text("scale_connector", "max_instances", text)
    assert said in str(refused.value), refused.value


# --- through handle_command: nothing written, answered under the ids sent -----------------------------------------


def _handled(w: Any, body: Any) -> list[Any]:
    from shared.commands import handle_command
    from tests.integration.world import event

    data = event(json.dumps(body).encode(), f"m-{id(body)}")
    data["message"]["publishTime"] = w.clock.now().isoformat().replace("+00:00", "Z")
    with contextlib.redirect_stdout(io.StringIO()):
        return handle_command(data, w.config, w.adapters)


def _world(scenario: str) -> Any:
    from tests.property.fast import FastWorld, seeded_copy
    from tests.property.harness import ANCHOR

    return FastWorld(seeded_copy(scenario, None), ANCHOR, operators=["alice@example.com"])


def test_a_rollback_whose_revision_is_null_is_refused_not_sent_to_the_revision_diagnosis_finds():
    """The bad deploy's scenario: diagnosis finds backend-00001-abc known good, so a revision read as left out was
    rolled back to it, whatever the empty variable was meant to name."""
    from tests.integration.world import SERVICE as MANAGED

    w = _world("bad_revision")
    [outcome] = _handled(w, {**SENT, "command": "rollback_traffic", "target": MANAGED, "params": {"revision": None}})
    assert outcome.status.value == "rejected" and outcome.command_id == "c-1", outcome.reason
    assert "command.params.revision: got null" in outcome.reason, outcome.reason
    assert w.standins.run.count("UpdateService") == 0


def test_an_array_of_commands_is_refused_once_under_each_id_each_answer_naming_the_other():
    w = _world("bad_revision")
    outcomes = _handled(w, [{**SENT, "command": "pause", "command_id": "a-1"},
                            {**SENT, "command": "resume", "command_id": "a-2"}])
    assert [(o.status.value, o.command_id) for o in outcomes] == [("rejected", "a-1"), ("rejected", "a-2")]
    assert all("one command per message" in o.reason for o in outcomes), outcomes[0].reason
    assert any("a-2" in note for note in outcomes[0].notes), outcomes[0].notes
    from shared.remediation.records import FLAGS, KILL_SWITCH

    assert w.adapters.state.get_record(FLAGS, KILL_SWITCH) is None   # the pause in it was not run


def test_a_target_by_its_short_name_is_refused_naming_the_inventorys_full_name():
    from tests.integration.world import SERVICE as MANAGED

    w = _world("bad_revision")
    [outcome] = _handled(w, {**SENT, "command": "rollback_traffic", "target": "backend",
                             "params": {"revision": "backend-00001-abc"}})
    assert outcome.status.value == "rejected", outcome.reason
    assert f"the inventory has {MANAGED}: send it by its full name" in outcome.reason, outcome.reason
    assert w.standins.run.count("UpdateService") == 0
