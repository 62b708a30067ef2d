"""Sending an operator command and waiting for its outcome (shared by `runwarden command` and
its shortcuts `status`, `approve`, `pause`, `resume`).

The command is checked against `runwarden.command/v1` before it is published. To wait, a
short-lived pull subscription to the outcomes topic is created first, filtered on
`attributes.command_id` (Pub/Sub subscription filters: "Filter messages" in the Pub/Sub docs;
the filter is fixed at creation), and deleted afterwards. Exit codes: 0 done, 3 refused or
rejected, 4 timed out, 2 bad input, 1 the environment (no topic, no credentials).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import click

EXIT_DONE, EXIT_ENVIRONMENT, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_TIMEOUT = 0, 1, 2, 3, 4
DONE = {"applied", "dry_run", "reported", "verified", "resolved", "proposed", "reminder", "undone"}
COMMANDS_TOPIC_ENV = "RUNWARDEN_COMMANDS_TOPIC"
OUTCOMES_TOPIC_ENV = "RUNWARDEN_OUTCOMES_TOPIC"


@dataclass
class Topics:
    commands: str
    outcomes: str


def send_options(f: Callable) -> Callable:
    """The options every command-sending CLI command shares."""
    options = [
        click.option("--as", "requested_by", metavar="PRINCIPAL",
                     help="Who asks (requested_by); default: the active gcloud account."),
        click.option("--dry-run", is_flag=True, help="Everything but the write."),
        click.option("--wait", "wait_seconds", default=60.0, show_default=True, metavar="SECONDS",
                     help="How long to wait for the outcome."),
        click.option("--no-wait", is_flag=True, help="Publish and exit without waiting for the outcome."),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
        click.option("--expires-in", "expires_in", type=float, metavar="SECONDS",
                     help="The command is rejected if it arrives later than this."),
        click.option("--command-id", metavar="ID", help="The idempotency key; default: a fresh one."),
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
    try:
        outcome = publish_and_wait(body, topics, None if no_wait else wait_seconds)
    except Exception as exc:  # noqa: BLE001 - any client failure is the environment's, said in one line
        _fail(f"cannot reach Pub/Sub: {exc}", EXIT_ENVIRONMENT)
    if no_wait:
        click.echo(json.dumps({"command_id": body["command_id"], "published": True}) if as_json
                   else f"published {name} {body['command_id']}")
        raise SystemExit(EXIT_DONE)
    if outcome is None:
        click.echo(f"no outcome for {body['command_id']} within {wait_seconds:g} s "
                   "(is on_command deployed and subscribed to the commands topic?)", err=True)
        raise SystemExit(EXIT_TIMEOUT)
    click.echo(json.dumps(outcome, sort_keys=True) if as_json else render(outcome))
    raise SystemExit(EXIT_DONE if outcome.get("status") in DONE else EXIT_REFUSED)


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


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`k=v` pairs; each value is read as JSON when it is JSON (true, 10), else as a string."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"--param {pair!r}: expected KEY=VALUE", EXIT_BAD_INPUT)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
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
    return Topics(commands, outcomes or "")


def publish_and_wait(body: dict[str, Any], topics: Topics, wait_seconds: float | None) -> dict[str, Any] | None:
    """Publishes the command; with a wait, returns its outcome (None on timeout).

    The filtered subscription exists before the command is published, so the outcome cannot be
    missed; it is deleted in every case. PUBSUB_EMULATOR_HOST points the clients at the emulator.
    """
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    if wait_seconds is None:
        publisher.publish(topics.commands, json.dumps(body).encode()).result(timeout=30)
        return None
    subscriber = pubsub_v1.SubscriberClient()
    project = topics.outcomes.split("/")[1]
    subscription = f"projects/{project}/subscriptions/runwarden-cli-{uuid.uuid4().hex[:12]}"
    subscriber.create_subscription(request={
        "name": subscription, "topic": topics.outcomes, "ack_deadline_seconds": 10,
        "filter": f'attributes.command_id = "{body["command_id"]}"',
        "message_retention_duration": {"seconds": 600},
        # Deleted by Pub/Sub itself after a day unused, should this process die before deleting it.
        "expiration_policy": {"ttl": {"seconds": 86400}}})
    try:
        publisher.publish(topics.commands, json.dumps(body).encode()).result(timeout=30)
        return _pull_one(subscriber, subscription, body["command_id"], wait_seconds)
    finally:
        subscriber.delete_subscription(request={"subscription": subscription})
        subscriber.close()


def _pull_one(subscriber: Any, subscription: str, command_id: str, wait_seconds: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + wait_seconds
    duplicate = None  # a redelivery's "already handled" answer: kept only if the first one never shows
    while time.monotonic() < deadline:
        try:
            response = subscriber.pull(request={"subscription": subscription, "max_messages": 10},
                                       timeout=max(1.0, min(10.0, deadline - time.monotonic())))
        except Exception as exc:  # noqa: BLE001 - a pull that times out is empty, not an error
            if "Deadline" in type(exc).__name__ or "DeadlineExceeded" in str(type(exc)):
                continue
            raise
        if response.received_messages:
            subscriber.acknowledge(request={"subscription": subscription,
                                            "ack_ids": [m.ack_id for m in response.received_messages]})
        for received in response.received_messages:
            outcome = json.loads(received.message.data)
            # The filter already selects the id; checked again, in case a filter is not supported.
            if outcome.get("command_id") != command_id:
                continue
            if str(outcome.get("reason", "")).startswith(f"duplicate: command {command_id} "):
                duplicate = outcome
                continue
            return outcome
        time.sleep(0.2)
    return duplicate


def render(outcome: dict[str, Any]) -> str:
    """The outcome for a person: status and reason first, then what to do next."""
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
    return "\n".join(lines)


def render_snapshot(snap: dict[str, Any]) -> list[str]:
    lines = [f"  kill switch: {snap.get('kill_switch') or 'off'}"]
    sections = (("paused", "target", "reason"), ("pending_verifications", "action_id", "deadline_at"),
                ("open_proposals", "proposal_id", "expires_at"), ("cooldowns", "target", "until"),
                ("budgets", "scope", "used"), ("pinned", "service", "age_seconds"))
    for name, key, detail in sections:
        items = snap.get(name) or []
        lines.append(f"  {name.replace('_', ' ')}: {len(items)}")
        for item in items:
            extra = item.get(detail)
            if name == "pinned":
                extra = f"{item.get('revision')}, pinned {int(extra or 0) // 3600} h {int(extra or 0) % 3600 // 60} min"
            elif name == "budgets":
                extra = f"{extra}/{item.get('capacity')} in {item.get('bucket')}"
            lines.append(f"    {item.get(key)}  ({detail.replace('_', ' ')}: {extra})" if name not in
                         ("pinned", "budgets") else f"    {item.get(key)}  ({extra})")
    return lines


def _fail(message: str, code: int) -> None:
    click.echo(f"runwarden: {message}", err=True)
    raise SystemExit(code)
