"""Commands typed by hand, on the Pub/Sub and Firestore emulators and the Cloud Run stand-in: what a character
a person is not shown does to the answer published, and that nothing is recorded for a command refused, so the
corrected command may be sent again under the same id."""
from __future__ import annotations

import pytest

from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import pause_key
from shared.remediation.records import FLAGS
from tests.integration.world import SERVICE, World


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])
    w.seed("bad_revision")
    return w


def _sent(world: World, body: dict):
    [outcome] = world.command(body, message_id=body["command_id"])
    [published] = world.published(1)
    assert published["outcome_id"] == outcome.outcome_id and published["reason"] == outcome.reason, published
    return outcome


@pytest.mark.parametrize("field, value, said", [
    ("requested_by", "\ufeffalice@example.com", "U+FEFF (ZERO WIDTH NO-BREAK SPACE, a byte order mark) at "
                                               "character 1"),
    ("requested_by", "alice\u200b@example.com", "U+200B (ZERO WIDTH SPACE) at character 6"),
    ("reason", "deploy \u2067window\u2069", "U+2067 (RIGHT-TO-LEFT ISOLATE) at character 8"),
    ("requested_by", "\u0430lice@example.com", "U+0430 (CYRILLIC SMALL LETTER A, 'а') at character 1"),
])
def test_a_pause_whose_who_or_why_reads_as_other_text_is_refused_and_can_be_sent_again(world, field, value,
                                                                                             said):
    """Before, the pause was applied and recorded under a requester that reads as alice@example.com and is not."""
    body = {"command": "pause", "command_id": "p-unseen", "requested_by": "alice@example.com", "target": SERVICE,
            "reason": "deploy window", field: value}
    refused = _sent(world, body)
    assert refused.status is OutcomeStatus.REJECTED, refused.reason
    assert refused.reason.startswith(f"malformed command: command.{field}: holds "), refused.reason
    assert said in refused.reason and refused.command_id == "p-unseen", refused.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE)) is None
    # Nothing was recorded under the id: the corrected command runs under it.
    fixed = _sent(world, {**body, field: value.replace("\ufeff", "").replace("\u200b", "").replace("\u2067", "")
                          .replace("\u2069", "").replace("\u0430", "a")})
    assert fixed.status is OutcomeStatus.APPLIED, fixed.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE)) is not None


@pytest.fixture
def function(world, pubsub):
    from tests.integration.test_cli_commands import Function

    f = Function(world, pubsub)
    f.running.set()
    yield f
    f.stop()


@pytest.mark.parametrize("args, said", [
    (("command", "restore_traffic", "--target", SERVICE, "--param", "to_latest=TRUE", "--reason", "fixed"),
     "command.params.to_latest: 'TRUE' is not true or false"),
    (("command", "restore_traffic", "--target", SERVICE, "--param", "to_latest=True", "--reason", "fixed"),
     "if true is meant, write to_latest=true"),
    (("pause", "--reason", "INC-7", "--as", "\ufeffalice@example.com"), "U+FEFF"),
])
def test_the_cli_publishes_nothing_for_a_command_the_message_s_json_would_refuse(function, world, args, said):
    """`--param to_latest=TRUE` was read as true and published: the pin released, where the same command's JSON
    ("to_latest": "TRUE") is refused. Now the CLI exits 2 naming the flag meant, and nothing reaches the topic."""
    from click.testing import CliRunner

    from cli._commands import EXIT_BAD_INPUT
    from cli.main import runwarden

    topics = ["--topic", function.topic, "--outcomes-topic", world.outcomes_topic, "--wait", "5"]
    as_ = [] if "--as" in args else ["--as", "alice@example.com"]
    result = CliRunner().invoke(runwarden, [*args, *as_, *topics], env={"RUNWARDEN_CONFIG": ""})
    assert result.exit_code == EXIT_BAD_INPUT and said in result.output, result.output
    assert function.received == [] and world.writes() == 0
