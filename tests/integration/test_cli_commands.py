"""`runwarden command` and its shortcuts as an operator meets them during an incident: the real CLI
(in-process through click, or as a process where a signal is sent), the Pub/Sub emulator, and the
real command handler (`handle_command` on the stand-ins and Firestore) standing in for on_command,
fed from a pull subscription on the commands topic: published, waited for, printed, exit code."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from typing import Iterator

import pytest
from click.testing import CliRunner

from cli._commands import (EXIT_DONE, EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_HELD_BACK, EXIT_REJECTED, EXIT_SIGINT,
                           EXIT_SIGTERM, EXIT_TIMEOUT)
from cli.main import runwarden
from shared.config import Mode
from sandbox.stack import REPO_ROOT
from tests.integration.world import SERVICE, World, event

OLD = "backend-00001-abc"
OPERATOR = "alice@example.com"
# In the inventory, absent from Cloud Run: the rollback's write fails (NOT_FOUND), it is not refused.
GONE = "projects/demo-project/locations/us-central1/services/gone"


class Function:
    """on_command, minus the push: each command on the commands topic goes to the real handler, with
    its Pub/Sub message id, one at a time, while `running` is set."""

    def __init__(self, world: World, pubsub, topic: str = "commands") -> None:
        self.world, self.pubsub = world, pubsub
        self.topic = pubsub.topic(topic)
        self.subscription = pubsub.pull_subscription(self.topic, f"on-{topic}")
        # What the function behind that topic does with a message: on_command's handler, or on_alert's.
        self.handle = world.command if topic == "commands" else \
            (lambda body, message_id: world.handle(event(json.dumps(body).encode(), message_id)))
        self.running = threading.Event()
        self.on_receipt = lambda body: None      # what else happens when a command arrives
        self.received: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if not self.running.wait(0.1):
                continue
            for message in self.pubsub.pull(self.subscription, 1, timeout=0.5):
                body = json.loads(message.data)
                self.received.append(body)
                self.on_receipt(body)
                self.handle(body, message_id=message.message_id)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, services=(SERVICE, GONE), operators=[OPERATOR])
    w.seed("bad_revision")
    return w


@pytest.fixture
def function(world, pubsub) -> Iterator[Function]:
    f = Function(world, pubsub)
    f.running.set()
    yield f
    f.stop()


def cli(function: Function, *args: str):
    topics = ["--topic", function.topic, "--outcomes-topic", function.world.outcomes_topic, "--as", OPERATOR]
    return CliRunner().invoke(runwarden, [*args, *topics], env={"RUNWARDEN_CONFIG": ""})


def cli_subscriptions(pubsub, topic: str) -> list[str]:
    from google.cloud import pubsub_v1

    names = pubsub_v1.PublisherClient().list_topic_subscriptions(request={"topic": topic})
    return [name for name in names if "runwarden-cli-" in name]


def rollback(*extra: str) -> tuple[str, ...]:
    return ("command", "rollback_traffic", "--target", SERVICE, "--param", f"revision={OLD}", "--reason",
            "INC-7: 5xx after deploy", *extra)


def test_each_kind_of_answer_has_its_own_exit_code(function, world):
    """A script tells done from rejected from held back from failed; 0 only when the write was made."""
    assert cli(function, "command", "rollback_traffic", "--target", SERVICE, "--param", f"revision={OLD}",
               "--reason", "r", "--dry-run").exit_code == EXIT_DONE      # asked for a dry run, and got it
    refused = cli(function, "approve", "p-000000000000", "--reason", "x", "--as", "mallory@example.com")
    assert refused.exit_code == EXIT_REJECTED and "REJECTED" in refused.stdout
    assert cli(function, "pause", "--reason", "INC-7 review").exit_code == EXIT_DONE
    held = cli(function, *rollback())
    assert held.exit_code == EXIT_HELD_BACK and "kill switch" in held.stdout, held.stdout
    assert cli(function, "resume", "--reason", "review done").exit_code == EXIT_DONE
    failed = cli(function, "command", "rollback_traffic", "--target", GONE, "--param", "revision=gone-00001-abc",
                 "--reason", "r")
    assert failed.exit_code in (EXIT_FAILED, EXIT_REJECTED) and failed.exit_code != EXIT_HELD_BACK, failed.stdout
    done = cli(function, *rollback())
    assert done.exit_code == EXIT_DONE and "APPLIED" in done.stdout and world.writes() == 1


def test_the_config_s_dry_run_mode_is_not_done(function, world):
    """A write the config's dry-run mode held back did not happen: not 0, though nobody refused it."""
    world.config = world.config.model_copy(update={"mode": Mode.DRY_RUN})
    result = cli(function, *rollback())
    assert "DRY_RUN" in result.stdout and result.exit_code == EXIT_HELD_BACK and world.writes() == 0


def test_a_timeout_says_the_command_was_published_and_how_to_hear_its_answer(world, pubsub):
    """on_command down: the CLI stops waiting, says the command WAS published and how to hear its
    answer; once on_command is back, the same command under the same id answers the first result
    and the rollback is made once."""
    function = Function(world, pubsub)     # not running
    try:
        timed_out_then_resent(function, world)
    finally:
        function.stop()


def timed_out_then_resent(function: Function, world: World) -> None:
    result = cli(function, *rollback("--wait", "1", "--json"))
    assert result.exit_code == EXIT_TIMEOUT
    said = json.loads(result.stdout)
    command_id = said["command_id"]
    assert said["published"] is True and said["outcome"] is None and said["message_id"]
    assert f"command {command_id} WAS published" in result.stderr and "do not send it again under a new id" \
        in result.stderr
    assert f"--command-id {command_id}" in result.stderr
    assert f'jsonPayload.runwarden.command_id="{command_id}"' in result.stderr
    assert f"runwarden timeline command:{command_id} --project" in result.stderr
    assert cli_subscriptions(function.pubsub, world.outcomes_topic) == []

    function.running.set()
    again = cli(function, *rollback("--command-id", command_id))
    assert again.exit_code == EXIT_DONE and "APPLIED" in again.stdout, again.stdout + again.stderr
    assert world.writes() == 1


def test_a_resend_of_an_answered_command_answers_at_once_by_its_first_result(function, world):
    """The same command again under its id (to hear a lost answer): its `duplicate` answer is for this
    very message, so the CLI takes it at once; the first answer was `applied`, so it exits 0."""
    first = cli(function, *rollback("--command-id", "inc7-rb"))
    assert first.exit_code == EXIT_DONE, first.stdout
    again = cli(function, *rollback("--command-id", "inc7-rb", "--wait", "600"))
    assert "duplicate: command inc7-rb was already handled" in again.stdout and "applied" in again.stdout
    assert again.exit_code == EXIT_DONE and world.writes() == 1


def test_a_pubsub_failure_while_waiting_says_the_command_was_published(function, world):
    """The CLI's subscription deleted under it (someone cleaning up): the pull fails after the
    publish, and the message says the command WAS published, with its id."""
    from google.cloud import pubsub_v1

    def delete_the_cli_subscription(body: dict) -> None:
        subscriber = pubsub_v1.SubscriberClient()
        for name in cli_subscriptions(function.pubsub, world.outcomes_topic):
            subscriber.delete_subscription(request={"subscription": name})
        subscriber.close()

    function.on_receipt = delete_the_cli_subscription
    result = cli(function, "status")
    assert result.exit_code == EXIT_ENVIRONMENT
    [body] = function.received
    assert f"command {body['command_id']} WAS published" in result.stderr and "pull" in result.stderr
    # Its delete then fails too: a warning, with the subscription's fate.
    assert "warning: delete_subscription" in result.stderr and "expires after a day unused" in result.stderr


@pytest.mark.parametrize("which", ["commands", "outcomes"])
def test_a_missing_topic_is_named_and_nothing_is_published(function, world, which):
    topics = {"commands": function.topic, "outcomes": world.outcomes_topic}
    topics[which] = topics[which] + "-typo"
    result = CliRunner().invoke(runwarden, [
        "status", "--as", OPERATOR, "--topic", topics["commands"], "--outcomes-topic", topics["outcomes"]],
        env={"RUNWARDEN_CONFIG": ""})
    assert result.exit_code == EXIT_ENVIRONMENT
    assert f"{topics[which]} does not exist" in result.stderr and "was NOT published" in result.stderr
    assert function.received == [] and cli_subscriptions(function.pubsub, world.outcomes_topic) == []


def _as_from_a_terminal() -> None:
    """In the CLI's process before it starts: SIGINT and SIGTERM at their defaults, as a terminal's Ctrl-C finds
    them. A test run launched as a background job (`make test &`, `nohup`) has SIGINT ignored, which every child
    inherits, and the CLI keeps a signal its parent ignored ignored (cli._commands._signals_interrupt): the
    interrupt never arrived, and the tests below waited out their timeouts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM)])
def test_an_interrupted_wait_deletes_its_subscription_and_says_the_command_was_published(world, pubsub, sig, code):
    """Ctrl-C (or a SIGTERM from `timeout` or a closed terminal) while waiting: the subscription is
    deleted, not left to pile up, and the person is told the command went out."""
    function = Function(world, pubsub)     # not running: nobody answers
    try:
        env = {**os.environ, "RUNWARDEN_CONFIG": ""}
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "status", "--as", OPERATOR, "--topic", function.topic, "--outcomes-topic",
             world.outcomes_topic, "--wait", "600"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, preexec_fn=_as_from_a_terminal)
        # Published (the command is on the topic) and waiting (its subscription exists).
        [message] = pubsub.pull(function.subscription, 1, timeout=60)
        command_id = json.loads(message.data)["command_id"]
        assert cli_subscriptions(pubsub, world.outcomes_topic)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
    finally:
        function.stop()
    assert process.returncode == code, stderr
    assert f"interrupted: command {command_id} WAS published" in stderr
    assert cli_subscriptions(pubsub, world.outcomes_topic) == []


def test_an_interrupt_while_pubsub_is_unreachable_ends_within_the_cleanup_s_bound(launch_emulator):
    """Pub/Sub gone when Ctrl-C comes (the network dropped; here the emulator stopped): the delete of the
    CLI's subscription answers UNAVAILABLE, which its client retries for 60 s by default. The interrupt
    still ends the CLI within its cleanup's few seconds, saying the command WAS published and that the
    subscription is left to expire."""
    from sandbox.emulators import start_pubsub

    emulator = launch_emulator(start_pubsub, "cli-interrupt")
    commands, outcomes = emulator.ensure_topic("cli-commands"), emulator.ensure_topic("cli-outcomes")
    on_command = emulator.ensure_pull_subscription("on-commands", "cli-commands")
    env = {**os.environ, "RUNWARDEN_CONFIG": "", **emulator.env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "status", "--as", OPERATOR, "--topic", commands, "--outcomes-topic", outcomes,
         "--wait", "600"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_from_a_terminal)
    try:
        [message] = emulator.pull_messages(on_command, 1, 60)    # published, and waiting
        emulator.stop()
        process.send_signal(signal.SIGINT)
        # Well past the CLI's cleanup bound (cli._commands.CLEANUP_SECONDS), well short of the 60 s retry.
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    command_id = json.loads(message.data)["command_id"]
    assert process.returncode == EXIT_SIGINT, stderr
    assert f"interrupted: command {command_id} WAS published" in stderr, stderr
    assert "warning: " in stderr and "expires after a day unused" in stderr, stderr


def test_two_operators_rolling_back_at_once_each_hear_their_own_answer_and_one_write_is_made(function, world):
    """Two on-call engineers run the same rollback at once, each under a fresh command_id: each CLI
    hears the answer to its own command (its filter is on its own id), one rollback is made, and the
    other is held back, saying why (here the revision already serves: on_command handles them in turn)."""
    env = {**os.environ, "RUNWARDEN_CONFIG": ""}
    args = [sys.executable, "-m", "cli", *rollback(), "--topic", function.topic, "--outcomes-topic",
            world.outcomes_topic, "--json"]
    processes = [subprocess.Popen([*args, "--as", who], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for who in (OPERATOR, "bob@example.com")]
    answers = [(p.communicate(timeout=120), p.returncode) for p in processes]
    outcomes = [json.loads(out) for (out, _), _ in answers]
    assert {o["requested_by"] for o in outcomes} == {OPERATOR, "bob@example.com"}
    assert sorted(code for _, code in answers) == [EXIT_DONE, EXIT_HELD_BACK], answers
    [held] = [o for o in outcomes if o["status"] != "applied"]
    assert held["status"] == "skipped" and f"{OLD} already serves 100%" in held["reason"], held
    assert world.writes() == 1


def test_a_sweep_verdict_on_the_same_command_is_not_taken_for_its_answer(function, world):
    """Several outcomes carry one command_id: a manual rollback's own answer, and later the sweep's
    verdict on it (`verified`, `undone`). A CLI that receives such a verdict before the answer
    (a resend of an old command, or outcomes out of order) prints the answer, not the verdict."""
    from datetime import datetime, timezone

    from shared.outcomes import Outcome, OutcomeStatus, Timestamps

    def the_sweep_speaks_first(body: dict) -> None:
        now = datetime.now(timezone.utc)
        verdict = Outcome(trigger="command", status=OutcomeStatus.UNDONE, target=SERVICE,
                          reason="not healthy by the deadline: restored", command_id=body["command_id"],
                          timestamps=Timestamps(received_at=now))
        world.adapters.publisher.publish(world.outcomes_topic, verdict.to_json(), verdict.attributes(), "")

    function.on_receipt = the_sweep_speaks_first
    result = cli(function, *rollback())
    assert "APPLIED" in result.stdout and "UNDONE" not in result.stdout and result.exit_code == EXIT_DONE


def test_a_command_sent_to_the_alerts_topic_is_answered_not_run_instead_of_timing_out(world, pubsub):
    """The commands topic mistaken for the alerts topic (`--topic`, or $RUNWARDEN_COMMANDS_TOPIC, set to
    it): on_alert rejects the message as no notification. The sender waiting on the command_id hears that
    rejection, exit 3, saying the command was not run; not a timeout saying "on_command runs it whether or
    not anyone waits", which would leave the person believing a rollback is on its way."""
    alerts = Function(world, pubsub, topic="alerts")
    alerts.running.set()
    try:
        result = cli(alerts, *rollback(), "--wait", "30")
    finally:
        alerts.stop()
    assert result.exit_code == EXIT_REJECTED, (result.exit_code, result.stdout, result.stderr)
    assert "it was not run: publish it to the commands topic" in result.stdout, result.stdout
    assert "WAS published" not in result.stderr and world.writes() == 0

