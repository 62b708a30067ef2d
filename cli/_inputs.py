"""What the operator commands read (an alert, a scenario, a config) and how they fail on it.

Every failure is one line on stderr and an exit code: 2 for bad input, 1 for the environment.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NoReturn

import click

from cli._alerts import Alert, read_alert
from shared.alerts.incidents import IncidentParseError

if TYPE_CHECKING:
    from sandbox.scenarios import Scenario
    from shared.config import Config

EXIT_ENVIRONMENT = 1
EXIT_BAD_INPUT = 2


def load_alert(path: str) -> Alert:
    try:
        return read_alert(path)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror or e}")
    except IncidentParseError as e:
        fail(f"cannot parse {path}: {e}")


def load_scenario(ref: str) -> Scenario:
    from sandbox.scenarios import ScenarioError, list_bundled_scenarios, resolve_scenario

    bundled = list_bundled_scenarios()
    if ref not in bundled and not Path(ref).is_file():
        fail(f"unknown scenario {ref!r}: not a file, nor a bundled scenario ({', '.join(bundled)})")
    try:
        return resolve_scenario(ref)
    except ScenarioError as e:
        fail(f"cannot use scenario {e}")
    except OSError as e:
        fail(f"cannot read scenario {ref}: {e.strerror or e}")


def load_config(path: str) -> Config:
    from shared.config import ConfigError, load_config as load

    try:
        return load(path)
    except ConfigError as e:
        fail(f"cannot use config {e}")


def as_deployed_on(config: Config, caller: str) -> Config:
    """`config` as the deployed function runs it on stand-ins whose writes are recorded as `caller`'s
    (RunStandIn.caller): its own principal read from a metadata server answering `caller`, as the sandbox's
    function reads it (sandbox/stack.py, sandbox/standins/metadata.py; shared/gcp/identity.as_deployed). Only
    GCE_METADATA_HOST is read, never the operator's own credentials file, which names the operator's account
    and not the function's."""
    from sandbox.standins.metadata import MetadataStandIn
    from shared.gcp.identity import as_deployed

    metadata = MetadataStandIn(caller)
    metadata.start()
    try:
        return as_deployed(config, metadata.env())
    finally:
        metadata.stop()


def not_answered(what: str, error: BaseException) -> NoReturn:
    """A read that met a transient fault past its retries (UNAVAILABLE, DEADLINE_EXCEEDED: shared.errors.
    TransientError), said in one line with the environment's exit code, as `diagnose --live` says it: the same
    command may read it once the service answers; nothing is wrong with the input."""
    fail(f"could not read the evidence for {what} (a transient fault; run the command again): {error}",
         EXIT_ENVIRONMENT)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    # One line, so it reads well in a terminal and greps well in CI logs; what it quotes of the input (a
    # file's name, a field's value) with every control and bidi character as its escape.
    from shared.timeline.words import one_line

    click.echo(f"runwarden: {one_line(message)}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Local servers' variables for in-process adapters, restored afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
