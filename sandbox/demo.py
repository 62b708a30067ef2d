"""`make demo`: a bad deploy caught and rolled back, on this machine, in a few seconds.

Starts the Pub/Sub and Firestore emulators, the Cloud Run and Monitoring stand-ins and the real
function (functions-framework serving main.py), publishes the scenario's alert, then tells what
Runwarden did from the function's own structured log lines, checks the traffic the Cloud Run
stand-in now reports, and stops everything again (Ctrl-C too).

    python -m sandbox.demo [--scenario NAME_OR_PATH] [--mode enforce|dry_run] [--plain]

Exit code 0 when Runwarden did what the mode promises (enforce: outcome `applied` and 100% of
traffic on the known-good revision; dry_run: outcome `dry_run` and traffic untouched); 1 when
it did not, or the environment failed; 2 for a bad option; 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from sandbox.render import DECISION_STEPS, LiveTraffic, Narrator, Published, make_console, traffic_split
from sandbox.emulators import EmulatorFailed, EmulatorMissing
from sandbox.scenarios import Scenario, ScenarioError, list_bundled_scenarios, resolve_scenario
from sandbox.stack import ALERTS_PUSH, ALERTS_TOPIC, OUTCOMES_TOPIC, FunctionServer, Sandbox

INCIDENT_AGE = timedelta(minutes=2)     # the alert started this long ago, as a real one would have
OUTCOME_TIMEOUT_S = 30.0
TIMELINE_GRACE_S = 3.0                  # after the outcome arrives, for the last log line to follow
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
TIMELINE_DIR = Path(__file__).resolve().parent.parent / "build" / "demo"   # gitignored
# The notification the demo publishes, kept so that a person's first `runwarden parse`, `diagnose`
# and `replay` (README, "Two commands") have a real alert file to read.
ALERT_FILE = TIMELINE_DIR / "alert.json"


class DemoFailed(Exception):
    """Runwarden did not do what the demo promises; the message says what happened instead."""


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    console = make_console(options.plain)
    started = time.monotonic()
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C does
    try:
        scenario = _scenario(options.scenario)
        if scenario is None:
            console.print(Text(f"demo: unknown scenario {options.scenario!r}; bundled: "
                               f"{', '.join(list_bundled_scenarios())}"))
            return EXIT_USAGE
        if scenario.alert is None:
            console.print(Text(f"demo: scenario {scenario.name} has no `alert` section to publish"))
            return EXIT_USAGE
        code = _run(console, scenario, options.mode)
    except KeyboardInterrupt:
        console.print("\nInterrupted: everything the demo started has been stopped.")
        code = EXIT_INTERRUPTED
    except ScenarioError as e:
        console.print(Text(f"demo: {e}"))
        code = EXIT_USAGE
    except (EmulatorMissing, EmulatorFailed) as e:
        console.print(Text(f"demo: {e}"))
        code = EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
    console.print(f"Total {time.monotonic() - started:.1f} s")
    return code


def _run(console: Console, scenario: Scenario, mode: str) -> int:
    anchor = (datetime.now(timezone.utc) - INCIDENT_AGE).replace(microsecond=0)
    _title(console, scenario, mode)
    console.print("Starting the emulators, the API stand-ins and the function ...")
    started = time.monotonic()
    previous_sigint = signal.getsignal(signal.SIGINT)
    try:
        with Sandbox(scenario, anchor=anchor, mode=mode) as sandbox:
            try:
                function = sandbox.start_function()
                _show_world(console, sandbox, function, time.monotonic() - started)
                passed, why = _play(console, sandbox, function, anchor, mode)
                if passed:
                    passed, why = _show_timeline(console, sandbox, why)
            finally:
                # A second Ctrl-C must not cut the clean-up short and leave a JVM behind.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                console.print("\nStopping the function, the stand-ins and the emulators ...")
                stopping = time.monotonic()
        console.print(f"  stopped in {time.monotonic() - stopping:.1f} s")
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
    return _verdict(console, passed, why)


def _play(console: Console, sandbox: Sandbox, function: FunctionServer, anchor: datetime,
          mode: str) -> tuple[bool, str]:
    """Alert in, timeline out; returns (passed, why)."""
    notification = sandbox.scenario.notification(anchor)
    # As the scenario's relay republished it, if it has one (`alert.relayed_as`): the outcome names the path.
    data = sandbox.scenario.message_data(anchor)
    message_id = sandbox.publish_alert(data)
    relayed_as = sandbox.scenario.alert.relayed_as if sandbox.scenario.alert else None
    _show_alert(console, notification["incident"], message_id, relayed_as)
    _keep_alert(console, notification, data if relayed_as else None)
    console.print("\n[bold]What Runwarden did[/] (from the function's structured log)")
    try:
        published, live = _narrate(console, sandbox, function)
    except DemoFailed as e:
        return False, str(e)
    return _judge(mode, sandbox.scenario, published, live)


# --- the story, as the function logs it ------------------------------------------------------


def _narrate(console: Console, sandbox: Sandbox, function: FunctionServer) -> tuple[Published, LiveTraffic | None]:
    """Prints each timeline step as it arrives. A decision waits for the outcome, so that its
    before/after can be shown with the traffic Cloud Run reports once it is published."""
    narrator = Narrator(console)
    pending: deque[dict[str, Any]] = deque()
    other_lines: deque[str] = deque(maxlen=15)
    published: Published | None = None
    live: LiveTraffic | None = None
    deadline = time.monotonic() + OUTCOME_TIMEOUT_S
    while time.monotonic() < deadline:
        pending.extend(_drain(function, other_lines))
        if published is None:
            published = _next_outcome(sandbox)
            if published is not None:
                live = _live_traffic(sandbox, published)
                deadline = min(deadline, time.monotonic() + TIMELINE_GRACE_S)
        while pending and (published is not None or _step(pending[0]) not in DECISION_STEPS):
            entry = pending.popleft()
            narrator.step(entry, published, live)
            if _step(entry) == "outcome_published":
                return published, live
        if function.process.poll() is not None:
            raise DemoFailed(f"the function server exited (code {function.process.returncode}):\n"
                             + "\n".join(other_lines))
    if published is None:
        raise DemoFailed(f"no outcome on {OUTCOMES_TOPIC} within {OUTCOME_TIMEOUT_S:.0f} s; the function's "
                         "last lines:\n" + ("\n".join(other_lines) or "(none)"))
    return published, live  # the outcome arrived; its log line did not (it is shown in the verdict)


def _drain(function: FunctionServer, other_lines: deque[str]) -> Iterator[dict[str, Any]]:
    """The function's new structured lines; anything else (gunicorn, tracebacks) is kept for errors."""
    while True:
        try:
            line = function.lines.get_nowait()
        except queue.Empty:
            return
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if isinstance(entry, dict) and "runwarden" in entry:
            yield entry
        else:
            other_lines.append(line)


def _next_outcome(sandbox: Sandbox) -> Published | None:
    received = sandbox.wait_outcomes(1, timeout=0.2)
    return Published(received[0].body, received[0].attributes, received[0].ordering_key) if received else None


def _live_traffic(sandbox: Sandbox, published: Published) -> LiveTraffic | None:
    target = published.body.get("target")
    return LiveTraffic.of(sandbox.standins.run.service(target)) if target else None


def _step(entry: dict[str, Any]) -> str:
    return str(entry.get("runwarden", {}).get("step", ""))


# --- the timeline, read back from Cloud Logging -------------------------------------------------


def _show_timeline(console: Console, sandbox: Sandbox, why: str) -> tuple[bool, str]:
    """The incident's timeline, built the way `runwarden timeline` builds it: from the Logging
    stand-in, which received the function's stdout as Cloud Run's logging agent would send it."""
    from shared.errors import RunwardenError
    from shared.timeline.builder import UnknownIncident
    from shared.timeline.render import render

    incident_id = sandbox.scenario.notification(sandbox.anchor)["incident"]["incident_id"]
    console.print(Text(f"\nThe incident's timeline (read back from the Logging stand-in: "
                       f"runwarden timeline {incident_id} --project {sandbox.project})", style="bold"))
    try:
        timeline = _build_timeline(sandbox, incident_id)
    except (RunwardenError, UnknownIncident) as e:
        return False, f"the timeline could not be built from the logs: {e}"
    console.print(Text(render(timeline, "text")), soft_wrap=True)
    TIMELINE_DIR.mkdir(parents=True, exist_ok=True)
    page = TIMELINE_DIR / f"timeline-{incident_id}.html"
    page.write_text(render(timeline, "html"), encoding="utf-8")
    console.print(Text(f"The timeline page: {page}", style="bold"))
    return True, why


def _build_timeline(sandbox: Sandbox, incident_id: str) -> Any:
    import os

    from shared.config import load_config
    from shared.timeline import live

    saved = {k: os.environ.get(k) for k in sandbox.standins.env()}
    os.environ.update(sandbox.standins.env())
    try:
        return live.read_timeline(incident_id, sandbox.project, load_config(str(sandbox.config_path)))
    finally:
        live.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- did it work? ----------------------------------------------------------------------------


def _judge(mode: str, scenario: Scenario, published: Published, live: LiveTraffic | None) -> tuple[bool, str]:
    """(passed, why): enforce must roll back to the known-good revision, dry_run must not write."""
    body = published.body
    status, action = body.get("status"), body.get("action") or {}
    expected = "applied" if mode == "enforce" else "dry_run"
    if status != expected:
        return False, f"the outcome is {status!r}, not {expected!r}: {body.get('reason', '')}"
    if live is None:
        return False, "the outcome names no service whose traffic could be checked"
    now = traffic_split({"traffic_statuses": live.statuses})
    if mode == "dry_run":
        before = traffic_split(action.get("before") or {})
        if now != before:
            return False, f"a dry run changed traffic: {before} -> {now}"
        return True, f"outcome dry_run, and Cloud Run still serves {now}"
    known_good = (scenario.expect.to_revision if scenario.expect else None) or action.get("params", {}).get(
        "to_revision")
    if not known_good or live.percent(known_good) != 100:
        return False, f"Cloud Run serves {now}, not 100% on the known-good revision {known_good}"
    return True, f"outcome applied, and Cloud Run serves 100% on {known_good}, the known-good revision"


def _verdict(console: Console, passed: bool, why: str) -> int:
    if passed:
        console.print(Text("Demo passed: ", style="bold green") + Text(why))
        return 0
    console.print(Text("Demo FAILED: ", style="bold red") + Text(why))
    return EXIT_FAILED


# --- what is where ---------------------------------------------------------------------------


def _title(console: Console, scenario: Scenario, mode: str) -> None:
    console.print(Text(f"Runwarden demo: scenario {scenario.name}, mode {mode}", style="bold"))
    if scenario.description:
        console.print(Text(scenario.description.strip(), style="dim"))
    console.print()


def _show_world(console: Console, sandbox: Sandbox, function: FunctionServer, seconds: float) -> None:
    scenario = sandbox.scenario
    serving = "; ".join(f"{s.name}: {traffic_split(_statuses(sandbox, scenario.service_name(s.name)))}"
                        for s in scenario.services)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(style="dim")
    grid.add_row("Pub/Sub emulator", sandbox.pubsub.host, f"{ALERTS_TOPIC}, {OUTCOMES_TOPIC}")
    grid.add_row("Firestore emulator", sandbox.firestore.host, "claims and cooldowns")
    grid.add_row("Cloud Run stand-in", sandbox.standins.run.address, Text(serving or "no services"))
    grid.add_row("Monitoring stand-in", sandbox.standins.monitoring.address,
                 f"{len(sandbox.standins.monitoring.series)} time series")
    grid.add_row("function on_alert", f"127.0.0.1:{function.port}", "functions-framework serving main.py")
    console.print(Padding(grid, (0, 0, 0, 2), expand=False))
    console.print(f"  all up in {seconds:.1f} s (project {sandbox.project})")


def _statuses(sandbox: Sandbox, service: str) -> dict[str, Any]:
    return {"traffic_statuses": LiveTraffic.of(sandbox.standins.run.service(service)).statuses}


def _show_alert(console: Console, incident: dict[str, Any], message_id: str, relayed_as: str | None) -> None:
    service = incident["resource"]["labels"].get("service_name", "?")
    relayed = f", as a relay republished it ({relayed_as})" if relayed_as else ""
    console.print(Text(f"\nAlert published to {ALERTS_TOPIC} (message {message_id}{relayed}); {ALERTS_PUSH} pushes it "
                       "to the function", style="bold"))
    console.print(Text(f"  {incident['policy_name']!r} on {service}: {incident['observed_value']} > "
                       f"{incident['threshold_value']}, incident {incident['incident_id']}, "
                       f"started {INCIDENT_AGE.seconds // 60} min ago"))


def _keep_alert(console: Console, notification: dict[str, Any], relayed: bytes | None) -> None:
    """The message as published: a relay's wrapping kept as it is (the commands read through it, as the pipeline
    does), Monitoring's own notification laid out to be read."""
    TIMELINE_DIR.mkdir(parents=True, exist_ok=True)
    if relayed is not None:
        ALERT_FILE.write_bytes(relayed)
    else:
        ALERT_FILE.write_text(json.dumps(notification, indent=2) + "\n", encoding="utf-8")
    console.print(Text(f"  the notification as published: {ALERT_FILE} (runwarden parse, diagnose and replay read it)"))


# --- options and signals ---------------------------------------------------------------------


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="bad_revision",
                        help="a bundled scenario's name or a scenario YAML file (default: bad_revision)")
    parser.add_argument("--mode", choices=("enforce", "dry_run"), default="enforce")
    parser.add_argument("--plain", action="store_true", help="no colours or symbols (logs, CI)")
    return parser.parse_args(argv)


def _scenario(ref: str) -> Scenario | None:
    try:
        return resolve_scenario(ref)
    except FileNotFoundError:
        return None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
