"""`runwarden replay ALERT.json --scenario S [--config FILE] [--json]`: one alert, end to end, locally.

Starts a fresh sandbox (Pub/Sub and Firestore emulators, Run and Monitoring stand-ins) seeded
from the scenario with T0 = the alert's started_at, runs the real pipeline in-process with the
clock pinned at T0 + 2 minutes (so a replay decides the same whatever today's date is), and
prints the outcome as read back from the outcomes topic: what was published, not what was meant.

Exit code 0 when the pipeline ran, whatever the outcome; 2 for bad input (alert, scenario or
config); 1 when the local environment failed (an emulator missing or not starting).
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import click

from cli._alerts import Alert, message_published
from cli._inputs import EXIT_ENVIRONMENT, environment, fail, load_alert, load_config, load_scenario
from cli._shown import markup, shown

if TYPE_CHECKING:
    from sandbox.render import LiveTraffic, Published
    from sandbox.scenarios import Scenario
    from sandbox.stack import Sandbox
    from shared.config import Config

OUTCOME_WAIT_S = 15.0
REPLAY_WATCH = "runwarden-replay-watch"  # pull subscription on a --config outcomes topic


@dataclass
class ReplayRun:
    config: Config
    timeline: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Published] = field(default_factory=list)
    live: Any = None                      # LiveTraffic, or LiveConnector for a connector action


@click.command("replay")
@click.argument("alert_file", metavar="ALERT.json")
@click.option("--scenario", "scenario_ref", required=True, metavar="NAME_OR_FILE",
              help="A bundled scenario's name (e.g. bad_revision) or a scenario YAML file.")
@click.option("--config", "config_file", metavar="FILE",
              help="Runwarden config to use as written, Runwarden's own account added to self_principals as the "
                   "deployed function adds it (default: the sandbox's, mode enforce).")
@click.option("--json", "as_json", is_flag=True, help="Print each published outcome as one JSON line, nothing else.")
def command(alert_file: str, scenario_ref: str, config_file: str | None, as_json: bool) -> None:
    """Run the pipeline once on an alert, in a local sandbox seeded from a scenario.

    ALERT.json holds a Monitoring notification, a Pub/Sub push body, MessagePublishedData or
    a CloudEvent. The scenario's T0 is the alert's started_at.
    """
    alert = load_alert(alert_file)
    scenario = load_scenario(scenario_ref)
    written = load_config(config_file) if config_file else None
    for note in _config_notes(written, config_file, scenario):
        click.echo(f"runwarden: note: {note}", err=True)
    try:
        run = replay(alert, scenario, written, echo_timeline=as_json)
    except _environment_errors() as e:
        fail(f"the local environment failed: {e}", EXIT_ENVIRONMENT)
    if not run.outcomes:
        fail(f"no outcome arrived on {run.config.outcomes_topic} within {OUTCOME_WAIT_S:.0f} s", EXIT_ENVIRONMENT)
    if as_json:
        for published in run.outcomes:
            click.echo(json.dumps(published.body, sort_keys=True))
    else:
        _show(run, alert, scenario, config_file)


# --- the replay itself ---------------------------------------------------------------------


def replay(alert: Alert, scenario: Scenario, written: Config | None = None, *,
           echo_timeline: bool = False) -> ReplayRun:
    """Runs handle_alert once on a fresh sandbox; `written` is a config to use as is.

    The pipeline's structured log lines are returned; `echo_timeline` also copies them to stderr.
    """
    from sandbox.render import LiveTraffic
    from sandbox.stack import Sandbox
    from shared.clock import FixedClock
    from shared.config import parse_config
    from shared.gcp.identity import as_deployed
    from shared.pipeline import google_adapters, handle_alert

    now = alert.started_at + scenario.delivered   # T0 + 2 min unless the scenario says
    mode = written.mode.value if written else "enforce"
    with Sandbox(scenario, anchor=alert.started_at, mode=mode) as sandbox:
        # As the sandbox's function runs it: its own principal, from the sandbox's metadata server, among
        # self_principals (shared/gcp/identity.as_deployed), so that its own changes are not a person's.
        config = as_deployed(written or parse_config(sandbox.config_data(), source="sandbox config"), sandbox.env())
        read_outcomes = _outcome_reader(sandbox, config.outcomes_topic)
        run = ReplayRun(config)
        with environment(sandbox.env()):
            adapters = google_adapters(config)
            adapters.clock = FixedClock(now)
            # Timeline writes to sys.stdout at call time: catch it, so --json prints outcomes only.
            captured = io.StringIO()
            try:
                with contextlib.redirect_stdout(captured):
                    handle_alert(message_published(alert.notification, now), config, adapters)
            except BaseException:
                _timeline_entries(captured.getvalue(), echo_all=True)  # what it did before failing
                raise
            run.timeline = _timeline_entries(captured.getvalue(), echo_all=echo_timeline)
            run.outcomes = read_outcomes()
        if run.outcomes and run.outcomes[0].body.get("target"):
            run.live = _live_traffic(sandbox, run.outcomes[0].body["target"], LiveTraffic)
    return run


def _outcome_reader(sandbox: Sandbox, topic: str) -> Callable[[], list[Published]]:
    """Reads one outcome from the sandbox's topic, or from the --config file's own topic."""
    from sandbox.render import Published
    from sandbox.emulators import ensure_pull_subscription

    if topic == sandbox.outcomes_topic:
        return lambda: [Published(o.body, o.attributes, o.ordering_key)
                        for o in sandbox.wait_outcomes(1, timeout=OUTCOME_WAIT_S)]
    project = topic.split("/")[1]
    # Created before the pipeline runs: Pub/Sub keeps only what is published after a subscription exists.
    subscription = ensure_pull_subscription(project, REPLAY_WATCH, topic, host=sandbox.pubsub.host)

    def read() -> list[Published]:
        messages = sandbox.pubsub.pull_messages(subscription, 1, timeout=OUTCOME_WAIT_S)
        return [Published(json.loads(m.data), dict(m.attributes), m.ordering_key) for m in messages]

    return read


def _live_traffic(sandbox: Sandbox, target: str, live_traffic: type[LiveTraffic]) -> Any:
    """The target as its API reports it after the run: a service's traffic, or a connector."""
    from sandbox.render import LiveConnector

    try:
        if "/connectors/" in target:
            return LiveConnector.of(sandbox.standins.vpcaccess.connector(target))
        return live_traffic.of(sandbox.standins.run.service(target))
    except Exception:  # a target the stand-in does not hold (a --config naming another service)
        return None




def _timeline_entries(text: str, echo_all: bool) -> list[dict[str, Any]]:
    """Timeline lines parsed; anything else the run printed goes to stderr, never to stdout."""
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if isinstance(entry, dict) and "runwarden" in entry:
            entries.append(entry)
            if not echo_all:
                continue
        print(line, file=sys.stderr)
    return entries


def _environment_errors() -> tuple[type[BaseException], ...]:
    from sandbox.emulators import EmulatorFailed, EmulatorMissing
    from shared.errors import TransientError

    return EmulatorMissing, EmulatorFailed, TransientError, OSError   # OSError: a port, a socket, a timeout


# --- input ---------------------------------------------------------------------------------


def _config_notes(written: Config | None, path: str | None, scenario: Scenario) -> list[str]:
    if written is None:
        return []
    notes = [f"{path} is used as written: mode {written.mode.value}, "
             f"{len(written.services)} managed service(s), outcomes on {written.outcomes_topic}"]
    scenario_services = {scenario.service_name(s.name) for s in scenario.services}
    unmanaged = sorted(scenario_services - {s.name for s in written.services})
    if unmanaged:
        notes.append(f"{path} does not manage {', '.join(unmanaged)} (from the scenario): "
                     "alerts about it are skipped")
    return notes




# --- output --------------------------------------------------------------------------------


def _show(run: ReplayRun, alert: Alert, scenario: Scenario, config_file: str | None) -> None:
    from sandbox.render import Narrator, Published, make_console, outcome_table

    console = make_console()
    incident = alert.incident
    console.print(f"[bold]Replay[/] of {markup(incident.incident_id)} ({markup(repr(incident.policy_name))}) "
                  f"on scenario [bold]{markup(scenario.name)}[/]")
    console.print(f"[dim]T0 {alert.started_at:%Y-%m-%d %H:%M:%S} UTC (the alert's started_at); clock pinned at "
                  f"T0+{scenario.delivered.seconds // 60}m; mode {run.config.mode.value}; "
                  f"config {markup(config_file or 'generated by the sandbox')}[/]")
    console.print()
    narrator = Narrator(console)
    first = run.outcomes[0]
    # The steps and the outcome quote the alert (its policy name, the log lines read): shown, never acted on.
    published = Published(shown(first.body), shown(first.attributes), shown(first.ordering_key))
    for entry in shown(run.timeline):
        narrator.step(entry, published, run.live)
    if not any(e["runwarden"].get("step") == "outcome_published" for e in run.timeline):
        console.print(outcome_table(published, narrator.plain))
