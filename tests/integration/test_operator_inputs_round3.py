"""Inputs an on-call engineer sends by hand, on the real path (Pub/Sub emulator, Firestore emulator, the stand-ins),
each answered as an SRE on Google Cloud would want: a dry run under a brake says what the write would change and what
would hold it; a misspelt field, a quoted number, a command in capitals or in the message's attributes, a sweep with
a scope, an approval replayed hours later or after the config narrowed its bounds, a rollback to a revision that is
not Ready, a status of a name nobody manages: each rejected or held with why, nothing written, nothing engaged."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sandbox.standins.run import ConditionSeed
from shared.commands import handle_command
from shared.remediation.guardrails import pause_key
from shared.remediation.records import FLAGS, KILL_SWITCH, PROPOSALS
from tests.integration.test_commands import proposed  # noqa: F401  (a fixture: alice@example.com an operator)
from tests.integration.test_operator_answers import CONNECTOR, OLD, command, missing, writes
from tests.integration.test_operator_answers import world  # noqa: F401  (a fixture: bad_revision, two operators)
from tests.integration.world import SERVICE, World, event


def raw(world: World, data: bytes, message_id: str, attributes: dict[str, str] | None = None,
        sent_before: timedelta = timedelta(0)):
    """A command delivered as Pub/Sub pushes it, its body `data` as sent, published `sent_before` ago."""
    pushed = event(data, message_id)
    pushed["message"]["publishTime"] = (world.clock.now() - sent_before).isoformat().replace("+00:00", "Z")
    if attributes:
        pushed["message"]["attributes"] = attributes
    [outcome] = handle_command(pushed, world.config, world.adapters)
    return outcome


def engaged(world: World, key: str) -> bool:
    return bool((world.state.get_record(FLAGS, key) or {}).get("engaged"))


# --- a dry run under a brake -----------------------------------------------------------------------------------


@pytest.mark.parametrize("brake", ["pause of the service", "kill switch"])
def test_a_dry_run_under_a_brake_says_what_it_would_change_and_what_would_hold_the_write(world, brake):
    """Answered "this rollback_traffic wrote nothing: once resumed, send it again with a new command_id": sent again,
    the dry run would only be a dry run again, and the change it was sent to preview was never said."""
    command(world, "pause", **({"target": SERVICE} if brake.startswith("pause") else {}), reason="freeze")

    dry = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="preview",
                  dry_run=True)

    assert dry.status.value == "skipped", dry.reason
    assert missing(dry.reason, "dry-run (asked by this command's dry_run: true): nothing written",
                   f"it would change: {OLD}: absent -> 100%", "but sent without dry_run now, the write would be held "
                   "back", "freeze") == [], dry.reason
    assert "send it again with a new command_id" not in dry.reason, dry.reason
    assert writes(world) == 0


# --- malformed by hand -----------------------------------------------------------------------------------------


def test_a_misspelt_target_field_is_rejected_naming_the_field_meant(world):
    body = {"command": "rollback_traffic", "command_id": "op-servce", "requested_by": "alice@example.com",
            "reason": "bad deploy", "servce": SERVICE, "params": {"revision": OLD}}
    outcome = raw(world, json.dumps(body).encode(), "m-servce")
    assert outcome.status.value == "rejected", outcome.reason
    assert missing(outcome.reason, "command.target: Field required", "given instead: 'servce'") == [], outcome.reason
    assert writes(world) == 0


def test_a_quoted_number_is_rejected_saying_what_to_send(proposed):  # noqa: F811
    world, _ = proposed
    outcome = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": "7"}, reason="r")
    assert outcome.status.value == "rejected" and "send 7, without quotes" in outcome.reason, outcome.reason
    assert writes(world) == 0


def test_a_command_in_capitals_is_rejected_naming_the_command_and_engages_nothing(world):
    body = {"command": "PAUSE", "command_id": "op-caps", "requested_by": "alice@example.com", "reason": "freeze",
            "target": SERVICE}
    outcome = raw(world, json.dumps(body).encode(), "m-caps")
    assert outcome.status.value == "rejected" and "did you mean 'pause'?" in outcome.reason, outcome.reason
    assert not engaged(world, pause_key(SERVICE))


def test_a_command_given_in_attributes_that_disagree_with_the_body_is_rejected(world):
    body = {"command": "resume", "command_id": "op-attr", "requested_by": "alice@example.com", "reason": "done"}
    command(world, "pause", reason="freeze")
    outcome = raw(world, json.dumps(body).encode(), "m-attr", attributes={"command": "pause"})
    assert outcome.status.value == "rejected" and "attributes are not read" in outcome.reason, outcome.reason
    assert engaged(world, KILL_SWITCH)


def test_a_sweep_with_a_scope_is_rejected_naming_what_it_takes(world):
    outcome = command(world, "sweep", params={"scope": "projects/demo-project/locations/us-central1/services/x"})
    assert outcome.status.value == "rejected" and "'scope' is not a param of sweep" in outcome.reason, outcome.reason
    assert writes(world) == 0


# --- late, or after the config changed -------------------------------------------------------------------------


def test_an_approve_replayed_hours_after_it_was_sent_is_rejected_and_the_proposal_stays_open(proposed):  # noqa: F811
    world, proposal_id = proposed
    body = {"command": "approve", "command_id": "op-late", "requested_by": "alice@example.com", "reason": "ok",
            "params": {"proposal_id": proposal_id}}
    outcome = raw(world, json.dumps(body).encode(), "m-late", sent_before=timedelta(hours=3))
    assert outcome.status.value == "rejected" and "publish_time: the command was sent at" in outcome.reason, \
        outcome.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open"
    assert writes(world) == 0


def test_an_approve_after_the_config_narrowed_the_bounds_is_refused_and_writes_nothing(proposed):  # noqa: F811
    world, proposal_id = proposed
    policy = world.config.bounds.connectors[0].model_copy(update={"allowed_machine_types": ("e2-micro",)})
    world.config = world.config.model_copy(update={"bounds": world.config.bounds.model_copy(
        update={"connectors": (policy,)})})
    outcome = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert outcome.status.value == "escalated", outcome.reason
    assert "outside bounds: machine type e2-standard-4 is not allowed" in outcome.reason, outcome.reason
    assert writes(world) == 0


# --- what the command names ------------------------------------------------------------------------------------


def test_a_rollback_to_a_revision_that_is_not_ready_is_rejected(world):
    world.standins.run.add_revision(SERVICE, "backend-00003-bad", world.anchor,
                                    conditions=(ConditionSeed("Ready", "CONDITION_FAILED"),))
    outcome = command(world, "rollback_traffic", target=SERVICE, params={"revision": "backend-00003-bad"},
                      reason="r")
    assert outcome.status.value == "rejected" and "is not Ready" in outcome.reason, outcome.reason
    assert writes(world) == 0


def test_a_status_of_a_name_nobody_manages_says_so_first(world):
    outcome = command(world, "status", target=SERVICE.replace("/backend", "/backnd"))
    assert outcome.status.value == "reported", outcome.reason
    assert "is not in the inventory" in outcome.reason, outcome.reason


def test_a_resume_when_nothing_is_engaged_says_it_already_was(world):
    outcome = command(world, "resume", reason="all clear")
    assert outcome.status.value == "applied" and "(it already was)" in outcome.reason, outcome.reason
