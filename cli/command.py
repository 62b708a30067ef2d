"""`runwarden command COMMAND ...`: publish an operator command and print its outcome."""
from __future__ import annotations

import click

from cli._commands import parse_params, send, send_options
from shared.alerts.commands import COMMAND_NAMES, not_a_command
from shared.alerts.operators import operators_help

EXAMPLE = """
\b
Examples:
  runwarden command rollback_traffic \\
      --target projects/P/locations/us-central1/services/backend \\
      --param revision=backend-00001-abc --reason "bad deploy"
  runwarden command restore_traffic --target projects/P/locations/us-central1/services/backend \\
      --param to_latest=true --reason "fixed in backend-00003"
  runwarden command scale_connector --target projects/P/locations/us-central1/connectors/conn \\
      --param max_instances=6 --reason "saturated" --dry-run
  runwarden command reject --param proposal_id=p-0123456789ab --reason "not now"

The kill switch is no command of its own: `runwarden pause` (no --target) engages it and
`runwarden resume --reason ...` releases it. A write already past the gate's last check when it
engages is not stopped (its answer says so); a notification it held back is not acted on by the
resume: only a new notification of the incident or a person's command acts.

{operators}

Exit codes: 0 done, 3 rejected, 4 timed out (the command WAS published), 5 held back\n(nothing written), 6 escalated or proposed, 7 failed; 2 bad input, 1 environment,\n130/143 interrupted.
""".format(operators=operators_help())


def _known(_ctx: click.Context, _param: click.Parameter, name: str) -> str:
    """COMMAND checked by the words a message's body is answered with (`not_a_command`): click's Choice said
    "'rollbak' is not one of …", naming no command it misspelt, nor what 'unpause' or 'kill_switch' is sent as."""
    if name not in COMMAND_NAMES:
        raise click.BadParameter(not_a_command(name))
    return name


@click.command("command", epilog=EXAMPLE)
@click.argument("name", metavar="COMMAND", callback=_known)
@click.option("--target", metavar="RESOURCE", help="Full resource name of the service or connector.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter (repeatable), typed by the command's params: max_instances=6 is the new value itself "
                   "(digits alone: no '+' or '%'), to_latest=true a flag (true or false, lowercase, as in JSON).")
@click.option("--reason", help="Why; required for every command that writes.")
@click.option("--override-limits", is_flag=True, help="Skip cooldown and budgets (operators only).")
@send_options
def command(name: str, target: str | None, params: tuple[str, ...], reason: str | None, override_limits: bool,
            **options) -> None:
    """Publish an operator command on the commands topic, wait for its outcome and print it."""
    send(name, target=target, params=parse_params(params, name), reason=reason,
         extra={"override_limits": True} if override_limits else None, **options)
