"""The `runwarden` command group.

A subcommand is a module in this package that defines `command` (a click.Command); the
module's name is the command's name (`cli/parse.py` -> `runwarden parse`, underscores
become hyphens). Adding a command means adding a module: this file does not change.
Modules are imported only when their command runs (or for --help), so `runwarden parse`
does not pay for the sandbox imports that `demo` needs. Modules whose name starts with
`_` are helpers, not commands.
"""
from __future__ import annotations

import importlib
import pkgutil

import click

import cli
from shared import __version__

_NOT_COMMANDS = {"main"}


class _ModuleCommands(click.Group):
    """A group whose subcommands are the `command` objects of the package's modules."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = sorted(set(super().list_commands(ctx)) | {_command_name(m) for m in _command_modules()})
        return [n for n in names if self.get_command(ctx, n) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        module_name = cmd_name.replace("-", "_")
        if module_name not in _command_modules():
            return None
        command = getattr(importlib.import_module(f"cli.{module_name}"), "command", None)
        return command if isinstance(command, click.Command) else None


def _command_modules() -> set[str]:
    return {
        m.name
        for m in pkgutil.iter_modules(cli.__path__)
        if not m.name.startswith("_") and m.name not in _NOT_COMMANDS
    }


def _command_name(module_name: str) -> str:
    return module_name.replace("_", "-")


@click.group(name="runwarden", cls=_ModuleCommands)
@click.version_option(version=__version__, prog_name="runwarden", message="%(prog)s %(version)s")
def runwarden() -> None:
    """Runwarden: a watchdog for Cloud Run services (operator tools)."""


def main() -> None:
    runwarden(prog_name="runwarden")
