"""Sending an operator command and waiting for its outcome (shared by `runwarden command` and
its shortcuts `status`, `approve`, `pause`, `resume`).

The command is checked against `runwarden.command/v1` before it is published. To wait, a
short-lived pull subscription to the outcomes topic is created first, filtered on
`attributes.command_id` (Pub/Sub subscription filters: "Filter messages" in the Pub/Sub docs;
the filter is fixed at creation), and deleted afterwards, also on Ctrl-C and SIGTERM.

Once the command is published, every way the CLI can end without its answer (timed out, a Pub/Sub
failure while waiting, interrupted) says so, with its command_id and how to find its answer: the
function runs it whether or not anyone waits, so sending it again under a new id would run it twice.

Exit codes (docs/commands.md, "Exit codes"): 0 done (the thing asked happened), 1 the environment,
2 bad input, 3 rejected, 4 timed out, 5 held back (nothing written: kill switch, pause, cooldown,
budget, the world changed, the config's dry-run mode), 6 escalated or proposed (a person must
decide), 7 failed, 130/143 interrupted by SIGINT/SIGTERM.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import click

from shared.alerts.operators import operator_only

EXIT_DONE, EXIT_ENVIRONMENT, EXIT_BAD_INPUT, EXIT_REJECTED, EXIT_TIMEOUT = 0, 1, 2, 3, 4
EXIT_HELD_BACK, EXIT_ESCALATED, EXIT_FAILED = 5, 6, 7
EXIT_SIGINT, EXIT_SIGTERM = 130, 143     # 128 + the signal's number, as shells report a killed process
# The exit code for each outcome status. `dry_run` is done only when the command asked for it
# (`exit_code`); a sweep's verdicts (`verified`, `undone`) reach a command's sender only when it
# waits on a manual action's command_id.
EXIT_BY_STATUS = {"applied": EXIT_DONE, "reported": EXIT_DONE, "verified": EXIT_DONE, "resolved": EXIT_DONE,
                  "reminder": EXIT_DONE, "dry_run": EXIT_DONE, "rejected": EXIT_REJECTED, "skipped": EXIT_HELD_BACK,
                  "escalated": EXIT_ESCALATED, "proposed": EXIT_ESCALATED, "failed": EXIT_FAILED,
                  "undone": EXIT_FAILED}
DONE = {status for status, code in EXIT_BY_STATUS.items() if code == EXIT_DONE}
# Statuses only the sweep publishes: never the answer to the command itself.
SWEEP_VERDICTS = {"verified", "undone", "reminder", "resolved"}
MANUAL_ACTIONS = {"rollback_traffic", "restore_traffic", "scale_connector"}
COMMANDS_TOPIC_ENV = "RUNWARDEN_COMMANDS_TOPIC"
OUTCOMES_TOPIC_ENV = "RUNWARDEN_OUTCOMES_TOPIC"
# "projects/PROJECT/topics/TOPIC"; a topic id starts with a letter and is 3-255 letters, digits and
# - _ . ~ + % (google.pubsub.v1.Topic.name, Pub/Sub API reference; Pub/Sub docs, "Resource names").
TOPIC_NAME = re.compile(r"^projects/(?P<project>[^/\s]+)/topics/[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$")
MAX_EXPIRES_IN = 30 * 24 * 3600.0   # a command's record is kept 30 days; expires_at may be no later
PUBLISH_TIMEOUT = 30.0
# An interrupt ends the CLI within seconds whatever Pub/Sub does. Each call runs on a thread the main thread
# waits on a slice at a time (POLL_SECONDS), so a signal is seen between slices, never raised inside a call
# (`_on_a_thread`). After a signal, a publish or a subscription's creation already under way may still
# confirm for GRACE_SECONDS (the person then hears WAS published, not MAY); the cleanup (the delete and the
# client's close) gets CLEANUP_SECONDS in all, retries included. Without that bound the delete took its client's
# defaults: a retry of UNAVAILABLE for 60 s (google/pubsub_v1/services/subscriber/transports/base.py,
# `delete_subscription`: Retry(deadline=60.0)), which a `timeout=` does not shorten (google/api_core/timeout.py,
# TimeToDeadlineTimeout: a remaining timeout under 1 s is reset to the whole timeout for the next attempt).
POLL_SECONDS, GRACE_SECONDS, CLEANUP_SECONDS, CREATE_SECONDS = 0.1, 2.0, 5.0, 10.0
# What each call needs (Pub/Sub docs, "Access control", required permissions; "Create pull
# subscriptions", required permissions), named when Pub/Sub refuses it. infra/locals.tf grants
# them to operators_group (tests/infra/test_iam.py derives that grant from these calls).
NEEDS = {"publish": "pubsub.topics.publish on the commands topic {commands} (roles/pubsub.publisher)",
         "create_subscription": "pubsub.subscriptions.create on project {project} and "
                                "pubsub.topics.attachSubscription on the outcomes topic {outcomes}",
         "pull": "pubsub.subscriptions.consume on project {project}",
         "delete_subscription": "pubsub.subscriptions.delete on project {project}"}


@dataclass
class Topics:
    commands: str
    outcomes: str


@dataclass
class Sent:
    """How far a send got, so that whatever ends it can say whether the command was published."""
    published: str = "no"            # "no", "maybe" (the publish did not confirm), "yes"
    message_id: str = ""
    subscription: str = ""
    warnings: list[str] = field(default_factory=list)


class SendFailed(Exception):
    """A Pub/Sub call failed; the message names the call, and the permission when it was refused."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM while sending: a BaseException, like KeyboardInterrupt, so cleanup runs."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Abandoned(Exception):
    """A call that did not end within the time it was given; it goes on, unwaited, on its daemon thread."""


@dataclass
class Signals:
    """The signal that asked the CLI to stop, if any: set by its handler (which raises nothing, so no call is
    cut short inside gRPC or a lock), read by the main thread between the slices of its waits."""
    signum: int | None = None

    @property
    def code(self) -> int:
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT

    def check(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.code)


def send_options(f: Callable) -> Callable:
    """The options every command-sending CLI command shares."""
    options = [
        click.option("--as", "requested_by", metavar="PRINCIPAL",
                     help="Who asks (requested_by); default: the active gcloud account. It must be in the config's "
                     f"operators to {operator_only()}."),
        click.option("--dry-run", is_flag=True, help="Everything but the write."),
        click.option("--wait", "wait_seconds", default=60.0, show_default=True, metavar="SECONDS",
                     type=click.FloatRange(min=0, min_open=True), help="How long to wait for the outcome."),
        click.option("--no-wait", is_flag=True, help="Publish and exit without waiting for the outcome."),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
        click.option("--expires-in", "expires_in", metavar="SECONDS",
                     type=click.FloatRange(min=0, min_open=True, max=MAX_EXPIRES_IN),
                     help="The command is rejected if it arrives later than this (at most 30 days)."),
        click.option("--command-id", metavar="ID", help="The idempotency key; default: a fresh one. Give the id of "
                     "a command already sent to hear its answer again: it never runs twice."),
        click.option("--topic", "commands_topic", metavar="projects/P/topics/T",
                     help=f"The commands topic; default: ${COMMANDS_TOPIC_ENV}, or commands_topic in the config."),
        click.option("--outcomes-topic", metavar="projects/P/topics/T",
                     help=f"The outcomes topic; default: ${OUTCOMES_TOPIC_ENV}, or outcomes_topic in the config."),
        click.option("--config", "config_file", metavar="FILE",
                     help="Runwarden's config, for the topics; default: $RUNWARDEN_CONFIG."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def send(name: str, *, target: str | None = None, params: dict[str, Any] | None = None, reason: str | None = None,
         extra: dict[str, Any] | None = None, requested_by: str | None, dry_run: bool, wait_seconds: float,
         no_wait: bool, as_json: bool, expires_in: float | None, command_id: str | None,
         commands_topic: str | None, outcomes_topic: str | None, config_file: str | None) -> None:
    """Builds, checks, publishes, waits and prints; exits with the code for the outcome."""
    body = build(name, target=target, params=params, reason=reason, extra=extra,
                 requested_by=requested_by or active_account(), dry_run=dry_run, expires_in=expires_in,
                 command_id=command_id)
    topics = resolve_topics(commands_topic, outcomes_topic, config_file, need_outcomes=not no_wait)
    sent = Sent()
    try:
        with _signals_interrupt() as signals:
            outcome = publish_and_wait(body, topics, None if no_wait else wait_seconds, sent, signals)
    except Interrupted as exc:
        _fail("interrupted: " + _unanswered(body, topics, sent), exc.code)
    except SendFailed as exc:
        _fail(f"{exc}; " + _unanswered(body, topics, sent), EXIT_ENVIRONMENT)
    finally:
        for warning in sent.warnings:
            click.echo(f"runwarden: warning: {warning}", err=True)
    if no_wait:
        click.echo(json.dumps({"command_id": body["command_id"], "published": True, "message_id": sent.message_id})
                   if as_json else f"published {name} {body['command_id']} (message {sent.message_id})")
        raise SystemExit(EXIT_DONE)
    if outcome is None:
        if as_json:
            click.echo(json.dumps({"command_id": body["command_id"], "published": True, "message_id": sent.message_id,
                                   "outcome": None, "timed_out_after_seconds": wait_seconds}))
        _fail(f"no outcome within {wait_seconds:g} s: " + _unanswered(body, topics, sent), EXIT_TIMEOUT)
    click.echo(json.dumps(outcome, sort_keys=True) if as_json else render(outcome))
    raise SystemExit(exit_code(outcome, asked_dry_run=dry_run))


def exit_code(outcome: dict[str, Any], asked_dry_run: bool) -> int:
    """0 only when the thing asked happened. A resend's `duplicate` answer exits by the first
    answer it quotes: a rollback already `applied` is done, one first `rejected` is still rejected."""
    from shared.alerts.commands import first_answer

    status = outcome.get("status")
    first = first_answer(outcome)
    if status == "skipped" and first:
        status = first
    if status == "dry_run" and not asked_dry_run:
        return EXIT_HELD_BACK     # the config's dry-run or shadow mode held the write back
    return EXIT_BY_STATUS.get(str(status), EXIT_ESCALATED)


def _unanswered(body: dict[str, Any], topics: Topics, sent: Sent) -> str:
    """What a person needs when the CLI ends without the command's answer."""
    command_id = body["command_id"]
    if sent.published == "no":
        return f"command {command_id} was NOT published: nothing was sent{_where()}"
    said = ("WAS published" + (f" (message {sent.message_id})" if sent.message_id else "")
            if sent.published == "yes" else "MAY have been published (Pub/Sub did not confirm it)")
    project = TOPIC_NAME.match(topics.commands)["project"]
    return (f"command {command_id} {said} to {topics.commands}{_where()}.\n"
            "  on_command runs it whether or not anyone waits: do not send it again under a new id.\n"
            f"  its answer: send the same command again with --command-id {command_id} (a resend never runs twice; "
            "it answers the first result)\n"
            f"  its steps:  gcloud logging read 'jsonPayload.runwarden.command_id=\"{command_id}\"' --project {project} "
            "--freshness=1d"
            # A manual action's steps carry the incident command:COMMAND_ID (docs/commands.md, "In the timeline").
            + (f"\n  its timeline: runwarden timeline command:{command_id} --project {project}"
               if body["command"] in MANUAL_ACTIONS else ""))


def _where() -> str:
    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    return f" (via the Pub/Sub emulator at {host}, as PUBSUB_EMULATOR_HOST says)" if host else ""


def build(name: str, *, target: str | None, params: dict[str, Any] | None, reason: str | None,
          extra: dict[str, Any] | None, requested_by: str, dry_run: bool, expires_in: float | None,
          command_id: str | None) -> dict[str, Any]:
    from shared.alerts.commands import CommandError, parse_command

    body: dict[str, Any] = {"schema": "runwarden.command/v1", "command": name,
                            "command_id": command_id or f"cli-{uuid.uuid4().hex[:16]}",
                            "requested_by": requested_by, **(extra or {})}
    if target:
        body["target"] = target
    if params:
        body["params"] = params
    if reason:
        body["reason"] = reason
    if dry_run:
        body["dry_run"] = True
    if expires_in is not None:
        body["expires_at"] = (datetime.now(timezone.utc) + timedelta(seconds=expires_in)).isoformat()
    try:
        parse_command(json.dumps(body))
    except CommandError as exc:
        _fail(f"not a valid command: {exc}", EXIT_BAD_INPUT)
    return body


def parse_params(pairs: tuple[str, ...], command: str) -> dict[str, Any]:
    """`k=v` pairs; each value typed as `command`'s params model declares it (a string param stays a
    string even when it is all digits or `true`; max_instances=6 is a number, to_latest=true a boolean)."""
    from shared.alerts.commands import CommandError, param_from_text

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"--param {pair!r}: expected KEY=VALUE", EXIT_BAD_INPUT)
        if key in params:
            # As in the message itself, a key given twice is ambiguous: neither value is used.
            _fail(f"--param {key} is given twice: which value is meant is ambiguous, give it once", EXIT_BAD_INPUT)
        try:
            params[key] = param_from_text(command, key, value)
        except CommandError as exc:
            _fail(f"not a valid command: {exc}", EXIT_BAD_INPUT)
    return params


def active_account() -> str:
    """The active gcloud account, as `gcloud config get-value account` prints it."""
    try:
        out = subprocess.run(["gcloud", "config", "get-value", "account"], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        out = None
    account = out.stdout.strip() if out and out.returncode == 0 else ""
    if not account or account == "(unset)":
        _fail("no active gcloud account to put in requested_by: pass --as PRINCIPAL", EXIT_BAD_INPUT)
    return account


def resolve_topics(commands: str | None, outcomes: str | None, config_file: str | None,
                   need_outcomes: bool) -> Topics:
    commands = commands or os.environ.get(COMMANDS_TOPIC_ENV)
    outcomes = outcomes or os.environ.get(OUTCOMES_TOPIC_ENV)
    path = config_file or os.environ.get("RUNWARDEN_CONFIG")
    if (not commands or (need_outcomes and not outcomes)) and path:
        from shared.config import ConfigError, load_config

        try:
            config = load_config(path)
        except ConfigError as exc:
            _fail(str(exc), EXIT_BAD_INPUT)
        commands, outcomes = commands or config.commands_topic, outcomes or config.outcomes_topic
    if not commands:
        _fail(f"no commands topic: pass --topic, set ${COMMANDS_TOPIC_ENV}, or --config with commands_topic",
              EXIT_BAD_INPUT)
    if need_outcomes and not outcomes:
        _fail(f"no outcomes topic to wait on: pass --outcomes-topic, set ${OUTCOMES_TOPIC_ENV}, or --no-wait",
              EXIT_BAD_INPUT)
    for what, name in (("commands topic", commands), ("outcomes topic", outcomes if need_outcomes else None)):
        if name is not None and not TOPIC_NAME.match(name):
            _fail(f"the {what} {name!r} is not a full topic name projects/PROJECT/topics/TOPIC", EXIT_BAD_INPUT)
    return Topics(commands, outcomes or "")


def publish_and_wait(body: dict[str, Any], topics: Topics, wait_seconds: float | None,
                     sent: Sent | None = None, signals: Signals | None = None) -> dict[str, Any] | None:
    """Publishes the command; with a wait, returns its outcome (None on timeout). `sent` says how
    far it got, whatever ends it. Raises SendFailed naming the call that failed, Interrupted once
    `signals` holds a signal.

    The filtered subscription exists before the command is published, so the outcome cannot be
    missed; it is deleted in every case, within CLEANUP_SECONDS. PUBSUB_EMULATOR_HOST points the
    clients at the emulator.
    """
    sent = sent if sent is not None else Sent()
    signals = signals if signals is not None else Signals()
    publisher = _call("publish", topics, lambda: _publisher())
    if wait_seconds is None:
        _publish(publisher, body, topics, sent, signals)
        return None
    subscriber = _call("create_subscription", topics, lambda: _subscriber())
    project = TOPIC_NAME.match(topics.outcomes)["project"]
    subscription = f"projects/{project}/subscriptions/runwarden-cli-{uuid.uuid4().hex[:12]}"
    try:
        # A creation under way when a signal comes is waited for, within its own bound, so that a
        # subscription it made is known, and deleted.
        _call("create_subscription", topics, lambda: _on_a_thread(lambda: subscriber.create_subscription(request={
            "name": subscription, "topic": topics.outcomes, "ack_deadline_seconds": 10,
            "filter": f'attributes.command_id = "{body["command_id"]}"',
            "message_retention_duration": {"seconds": 600},
            # Deleted by Pub/Sub itself after a day unused, should this process die before deleting
            # it: "The minimum allowed value for expiration_policy.ttl is 1 day" (google.pubsub.v1.
            # Subscription, Pub/Sub API reference).
            "expiration_policy": {"ttl": {"seconds": 86400}}},
            timeout=CREATE_SECONDS, retry=_retry("create_subscription", CREATE_SECONDS)),
            signals, grace=CREATE_SECONDS + GRACE_SECONDS))
        sent.subscription = subscription
        signals.check()
        _publish(publisher, body, topics, sent, signals)
        return _pull_one(subscriber, subscription, body["command_id"], sent.message_id, wait_seconds, topics,
                         signals)
    finally:
        cleanup_by = time.monotonic() + CLEANUP_SECONDS
        if sent.subscription:
            _delete(subscriber, subscription, topics, sent, cleanup_by)
        with contextlib.suppress(Exception):     # its channel's close, bounded too; nothing is lost if it lags
            _on_a_thread(subscriber.close, None, limit=max(0.0, cleanup_by - time.monotonic()))


def _publisher() -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient()


def _subscriber() -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.SubscriberClient()


def _publish(publisher: Any, body: dict[str, Any], topics: Topics, sent: Sent, signals: Signals) -> None:
    future = _call("publish", topics, lambda: publisher.publish(topics.commands, json.dumps(body).encode()))
    sent.published = "maybe"   # from here on, the command may be on the topic
    try:
        # The client's own thread sends it; the confirmation is waited for a slice at a time.
        sent.message_id = _call("publish", topics, lambda: _on_a_thread(
            lambda: future.result(timeout=PUBLISH_TIMEOUT), signals, grace=GRACE_SECONDS))
    except SendFailed as exc:
        if _refused(exc.__cause__):
            sent.published = "no"
        raise
    sent.published = "yes"
    signals.check()


def _on_a_thread(fn: Callable[[], Any], signals: Signals | None, *, grace: float = 0.0,
                 limit: float | None = None) -> Any:
    """fn() on a daemon thread, waited for by the main thread POLL_SECONDS at a time: its result, or its
    exception. Once `signals` holds a signal, fn gets `grace` seconds more to end, then Interrupted is raised;
    past `limit` seconds, Abandoned. Either way fn goes on unwaited, and ends with the process.

    Why not the call on the main thread, with a handler that raises: Python runs a handler only on the main
    thread, between bytecodes; raised inside a gRPC call (grpc checks for signals every 200 ms while it waits,
    grpc/_cython/_cygrpc/completion_queue.pyx.pxi, `_next`) it cuts the call short wherever it is, and raised
    inside the wait for a publish's confirmation it made an interrupt say MAY have been published when Pub/Sub
    confirmed it a moment later. Here the handler only records the signal, and the main thread decides."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:   # noqa: BLE001 - handed to the main thread, which raises it
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="runwarden-cli-call", daemon=True).start()
    started = time.monotonic()
    while not done.wait(POLL_SECONDS):
        if signals is not None and signals.signum is not None:
            if not done.wait(grace):
                raise Interrupted(signals.code)
            break
        if limit is not None and time.monotonic() - started >= limit:
            raise Abandoned(f"no answer within {limit:g} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def _retry(call: str, seconds: float) -> Any:
    """The client's own retry for `call` (the same errors, google/pubsub_v1/services/subscriber/transports/
    base.py), its whole time bounded to `seconds` in place of the default 60 s."""
    from google.api_core import exceptions as api
    from google.api_core import retry

    retried = {"create_subscription": (api.Aborted, api.ServiceUnavailable, api.Unknown),
               "delete_subscription": (api.ServiceUnavailable,),
               "acknowledge": (api.ServiceUnavailable,),
               "pull": (api.Aborted, api.InternalServerError, api.ServiceUnavailable, api.Unknown)}[call]
    return retry.Retry(predicate=retry.if_exception_type(*retried), initial=0.1, maximum=1.0, multiplier=1.3,
                       timeout=seconds)


def _refused(exc: BaseException | None) -> bool:
    """Pub/Sub answered no: the message was not stored. (A timeout or UNAVAILABLE may hide a publish
    that took.)"""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    return isinstance(exc, (api.PermissionDenied, api.NotFound, api.InvalidArgument, api.Unauthenticated,
                            auth.DefaultCredentialsError, auth.RefreshError))


def _call(call: str, topics: Topics, fn: Callable[[], Any]) -> Any:
    """fn(), with any failure said as one line that names the call, and what it needs if refused."""
    try:
        return fn()
    except (Interrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - any client failure is the environment's, said in one line
        raise SendFailed(_explain(call, exc, topics)) from exc


def _explain(call: str, exc: Exception, topics: Topics) -> str:
    from concurrent.futures import TimeoutError as FutureTimeout

    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    project = (TOPIC_NAME.match(topics.outcomes or topics.commands) or TOPIC_NAME.match(topics.commands))["project"]
    needs = NEEDS[call].format(commands=topics.commands, outcomes=topics.outcomes, project=project)
    if isinstance(exc, auth.DefaultCredentialsError):
        return ("no Application Default Credentials: run `gcloud auth application-default login` "
                "(or set PUBSUB_EMULATOR_HOST for the emulator)")
    if isinstance(exc, (auth.RefreshError, api.Unauthenticated)):
        return f"Pub/Sub refused the credentials on {call} (expired?): run `gcloud auth application-default login`: {exc}"
    if isinstance(exc, api.PermissionDenied):
        return f"Pub/Sub denied {call}: it needs {needs}: {exc.message}"
    if isinstance(exc, api.NotFound):
        what = {"publish": f"the commands topic {topics.commands}", "create_subscription":
                f"the outcomes topic {topics.outcomes}"}.get(call, "the CLI's own subscription (deleted meanwhile?)")
        return f"{call}: {what} does not exist: {exc.message}"
    if isinstance(exc, FutureTimeout):
        return f"Pub/Sub did not confirm the publish within {PUBLISH_TIMEOUT:g} s"
    if isinstance(exc, Abandoned):
        return f"Pub/Sub gave {call} {exc}"
    return f"Pub/Sub failed on {call}: {type(exc).__name__}: {exc}"


def _delete(subscriber: Any, subscription: str, topics: Topics, sent: Sent, by: float) -> None:
    """Deletes the CLI's subscription, by `by` (time.monotonic()) at the latest, retries included; a
    failure is a warning, never the loss of an outcome already read. A first signal does not cut it short:
    it is what the signal asked for (a second one does, through the handler)."""
    seconds = max(0.1, by - time.monotonic())
    try:
        _call("delete_subscription", topics, lambda: _on_a_thread(lambda: subscriber.delete_subscription(
            request={"subscription": subscription}, timeout=seconds, retry=_retry("delete_subscription", seconds)),
            None, limit=seconds))
    except SendFailed as exc:
        sent.warnings.append(f"{exc}; the subscription {subscription} expires after a day unused")


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[Signals]:
    """SIGINT and SIGTERM stop the sending, so the subscription is deleted and the person told whether
    the command was published (a SIGTERM would otherwise end the process at once). The first is recorded
    (`Signals`) and acted on between the slices of a wait; a second one raises Interrupted at once, the
    cleanup included: the person insists."""
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return
    def interrupt(signum: int, _frame: Any) -> None:
        if signals.signum is not None:
            raise Interrupted(signals.code)
        signals.signum = signum
    # A signal the parent set to be ignored (a background job's SIGINT) stays ignored.
    saved = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)
             if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield signals
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _pull_one(subscriber: Any, subscription: str, command_id: str, message_id: str, wait_seconds: float,
              topics: Topics, signals: Signals) -> dict[str, Any] | None:
    """The command's answer: the outcome that answers this very message (its message_id), or one
    that answers the command_id and is neither a resend's `duplicate` nor a later sweep's verdict
    (the first delivery's answer, when this is a resend of a command still being handled)."""
    from shared.alerts.commands import first_answer

    deadline = time.monotonic() + wait_seconds
    fallback = None  # another message's duplicate answer or a sweep's verdict: kept only if nothing better shows
    while time.monotonic() < deadline:
        seconds = max(1.0, min(10.0, deadline - time.monotonic()))
        try:
            response = _call("pull", topics, lambda: _on_a_thread(lambda: subscriber.pull(
                request={"subscription": subscription, "max_messages": 10}, timeout=seconds,
                retry=_retry("pull", seconds)), signals))
        except SendFailed as exc:
            if pulled_again(exc.__cause__):
                continue
            raise
        if response.received_messages:
            _call("pull", topics, lambda: _on_a_thread(lambda: subscriber.acknowledge(request={
                "subscription": subscription, "ack_ids": [m.ack_id for m in response.received_messages]},
                timeout=CREATE_SECONDS, retry=_retry("acknowledge", CREATE_SECONDS)), signals))
        for received in response.received_messages:
            outcome = _outcome(received.message.data)
            # The filter already selects the id; checked again, in case a filter is not supported.
            if outcome is None or outcome.get("command_id") != command_id:
                continue
            if message_id and outcome.get("message_id") == message_id:
                return outcome
            if first_answer(outcome) or outcome.get("status") in SWEEP_VERDICTS:
                fallback = fallback or outcome
                continue
            return outcome
        time.sleep(0.2)
        signals.check()
    return fallback


def pulled_again(exc: BaseException | None) -> bool:
    """Whether a pull that failed with `exc` is tried again until the wait's deadline: one that timed out is empty,
    not an error; one whose retry of a transient fault (`_retry`: UNAVAILABLE and the others the client itself
    retries) ran out within its slice of at most 10 s raises api_core's RetryError, and an outage longer than the
    slice is still an outage the wait outlasts (the client's own 60 s did, before the slices were bounded to keep an
    interrupt prompt). A refusal (PERMISSION_DENIED, NOT_FOUND: the subscription gone) ends the wait."""
    from google.api_core import exceptions as api

    return isinstance(exc, (api.DeadlineExceeded, api.RetryError))


def _outcome(data: bytes) -> dict[str, Any] | None:
    """An outcome message's JSON object; None for anything else on the topic (never a crash)."""
    try:
        outcome = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return outcome if isinstance(outcome, dict) else None


def render(outcome: dict[str, Any]) -> str:
    """The outcome for a person: status and reason first, then what to do next."""
    from shared.timeline.words import visible

    lines = [f"{outcome.get('status', '?').upper()}: {outcome.get('reason', '')}"]
    if outcome.get("target"):
        lines.append(f"  target: {outcome['target']}")
    action = outcome.get("action") or {}
    for key in ("action_id", "proposal_id", "proposal_expires_at"):
        if action.get(key):
            lines.append(f"  {key}: {action[key]}")
    if action.get("overrides"):
        lines.append(f"  overrides: {', '.join(action['overrides'])}")
    diagnosis = outcome.get("diagnosis")
    if diagnosis:
        lines.append(f"  diagnosis: {diagnosis['signature']} ({diagnosis['confidence']:.2f}): {diagnosis['summary']}")
    lines += [f"  - {note}" for note in outcome.get("notes", [])]
    if outcome.get("snapshot"):
        lines += render_snapshot(outcome["snapshot"])
    # Its text is input (a pause's reason and requester, from whoever published; a diagnosis from logs):
    # every control and bidi character shown as its escape, never sent to the terminal, which acts on
    # ESC sequences (clear the screen, retitle the window, OSC 52 writes the clipboard).
    return "\n".join(visible(line) for line in lines)


# Each list of a status snapshot (shared/commands/status.py Snapshot), in the order shown: the key that
# names an item and the detail shown beside it. tests/unit/test_cli_commands.py holds it to the model's lists.
SNAPSHOT_SECTIONS = (("paused", "target", "reason"), ("pending_verifications", "action_id", "deadline_at"),
                     ("open_proposals", "proposal_id", "expires_at"),
                     ("approved_proposals", "proposal_id", "settled_by_sweep_after"),
                     ("proposals_in_doubt", "proposal_id", "decided_by"), ("writes_in_flight", "target", "held_by"),
                     ("cooldowns", "target", "until"),
                     ("budgets", "scope", "used"), ("pinned", "service", "age_seconds"), ("unreadable", "record", "why"))


def render_snapshot(snap: dict[str, Any]) -> list[str]:
    lines = [f"  kill switch: {snap.get('kill_switch') or 'off'}"]
    for name, key, detail in SNAPSHOT_SECTIONS:
        items = snap.get(name) or []
        cut = " (more exist: only these are listed)" if name in (snap.get("more_than_shown") or []) else ""
        lines.append(f"  {name.replace('_', ' ')}: {len(items)}{cut}")
        for item in items:
            extra = item.get(detail)
            if name == "open_proposals" and item.get("expired"):
                extra = f"{extra}, EXPIRED: an approve is refused; a new alert makes a new proposal"
            elif name == "approved_proposals":
                extra = (f"settled by the sweep after {extra}" if extra else
                         f"settled by its approve, command {item.get('command_id')}") + \
                    f"; approved by {item.get('decided_by')}"
            elif name == "pinned":
                extra = (f"{item.get('revision')}, pinned {int(extra or 0) // 3600} h {int(extra or 0) % 3600 // 60} min"
                         + (f": {item.get('words')}" if item.get("state") == "asked" else ""))
            elif name == "writes_in_flight":
                extra = f"held by {extra} since {item.get('since')}, until {item.get('until')} at the latest"
            elif name == "budgets":
                extra = f"{extra}/{item.get('capacity')} in {item.get('bucket')}"
            lines.append(f"    {item.get(key)}  ({detail.replace('_', ' ')}: {extra})" if name not in
                         ("pinned", "budgets", "approved_proposals", "writes_in_flight") else f"    {item.get(key)}  ({extra})")
    return lines


def _fail(message: str, code: int) -> None:
    from shared.timeline.words import visible

    click.echo(f"runwarden: {visible(message)}", err=True)    # it may quote the input: shown, never acted on
    raise SystemExit(code)
