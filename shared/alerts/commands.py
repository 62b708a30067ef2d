"""Commands on the commands topic: the scheduled verification sweep, and operators' commands.

A command is a JSON object in the Pub/Sub message's data, with a `command` field that names it.
Bad input gets an error naming the field, like a malformed alert.
"""
from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Mapping, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.alerts.incidents import IncidentParseError, PubSubMessage, decode_message_published

MAX_COMMAND_BYTES = 64 * 1024


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sweep(_Command):
    """Verify pending actions, undo or escalate those that did not help, close log-based incidents.
    Cloud Scheduler publishes it every few minutes."""

    command: Literal["sweep"]


class KillSwitch(_Command):
    """Stop (engaged: true) or allow again (false) every write, at once, for every instance."""

    command: Literal["kill_switch"]
    engaged: bool
    by: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=1000)


Command = Annotated[Union[Sweep, KillSwitch], Field(discriminator="command")]
_COMMAND = TypeAdapter(Command)


class CommandError(IncidentParseError):
    """A command that cannot be understood. The field is named; a retry will not fix it."""


def parse_command_published(data: Mapping[str, Any]) -> tuple[PubSubMessage, Sweep | KillSwitch]:
    try:
        message = decode_message_published(data)
    except IncidentParseError as exc:
        raise CommandError(exc.field, exc.reason) from None
    if not message.data:
        raise CommandError("message.data", "is required: a JSON command")
    if len(message.data) > MAX_COMMAND_BYTES:
        raise CommandError("message.data", f"{len(message.data)} bytes, more than {MAX_COMMAND_BYTES}")
    try:
        body = json.loads(message.data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError("message.data", f"not JSON: {exc}") from None
    try:
        return message, _COMMAND.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"] if p not in ("sweep", "kill_switch"))
        raise CommandError(f"command.{path}" if path else "command", first["msg"]) from None
